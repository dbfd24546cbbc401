/*
 * import: metakeepctl import [--upsert] [--connection NAME] [--batch N]
 * FILE|-: users from an Auth0 bulk import file (a JSON array) or an export
 * (ndjson).  jx_split finds the records, jx_parse reads each one, and
 * svc_user_import writes them in batches of one write transaction each, so
 * a bad record is reported (FILE:LINE: record N: reason) and skipped while
 * the others are imported.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bulk.h"
#include "err.h"
#include "jx.h"
#include "model.h"
#include "svc.h"
#include "util.h"
#include "ctl/ctl.h"

#define IMPORT_BATCH 1000
#define IMPORT_BATCH_MAX 100000
#define IMPORT_BATCH_BYTES ((size_t)32 << 20)  /* of record text, per batch */
/* An import into a store without users gathers up to this much record
 * text for its one sorted write (bulk.h); the rest goes in batches. */
#define IMPORT_BULK_BYTES ((size_t)1 << 30)

/* import's options, set by the parser (opt.c). */
struct import_opts {
	int upsert;
	const char *connection;     /* or NULL: each record's own */
	size_t batch;               /* records per write transaction */
	int no_compact;
	int batch_given;            /* --batch: batches even into an empty store */
};
static struct import_opts io = { 0, NULL, IMPORT_BATCH, 0, 0 };

static int import_connection(const struct ctl_cmd *, const char *, void *);
static int import_batch(const struct ctl_cmd *, const char *, void *);

static const struct ctl_opt import_opts[] = {
	{ 'u', "upsert", NULL, &io.upsert, NULL, CTL_NONE,
	    "replace users that exist already (same user_id,\n"
	    "or same email in the connection when the record\n"
	    "has no user_id); a rerun then changes nothing" },
	{ 'C', "connection", "NAME", &io.connection, import_connection, CTL_NONE,
	    "put every user in connection NAME (default: the\n"
	    "record's connection or identities, else the\n"
	    "default connection)" },
	{ 'b', "batch", "N", &io.batch, import_batch, CTL_NONE,
	    "records per write transaction (default: into a\n"
	    "store without users, every record in one sorted\n"
	    "write, up to 1 GiB of records; else 1000)" },
	{ 'K', "no-compact", NULL, &io.no_compact, NULL, CTL_NONE,
	    "leave data.mdb as the import left it (by default\n"
	    "it is rewritten compact when no other process\n"
	    "has the database open)" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

const struct ctl_spec import_spec = {
	import_opts, 1, "exactly one FILE (or - for standard input) is needed", NULL,
	"Errors are reported per record as FILE:LINE: record N: reason; the\n"
	"other records are imported.  Exit status 1 when any record failed.\n",
	NULL,
};

/* One record read from the file, waiting for its batch to be written. */
struct pending {
	size_t no;          /* 1-based position in the file */
	size_t line;        /* line where it starts */
	size_t slot;        /* index into recs, when msg is NULL */
	size_t bytes;       /* of its text in the file */
	char *msg;          /* owned: why it could not be read, or NULL */
};

struct import_ctx {
	struct ctl *ctl;
	const char *name;           /* the file, for messages */
	const char *connection;
	int upsert;
	size_t batch_max;
	struct svc_import_rec *recs;/* batch_max slots */
	struct pending *pend;       /* batch_max slots */
	size_t nrecs, npend, bytes;
	size_t records, created, updated, unchanged, failed;
	size_t batched;             /* users created or updated by batches */
	int fatal;
	int tty;
	int depth;
	int64_t t0;
	struct jx_split split;      /* finds the records in the file */
	struct bulk *bulk;          /* for one sorted write, or NULL */
	int gathering;              /* records go to bulk (until it is written) */
	struct pipe *pipe;          /* threads that parse and prepare, or NULL */
	struct pending *dpend;      /* records bulk_add deferred, in file order */
	struct json_object **drec;  /* and their parsed records */
	size_t ndef, defcap;
};

static int
import_connection(const struct ctl_cmd *self, const char *arg, void *dst)
{
	if (arg[0] == '\0')
		return usage_error(self, "--connection: a name is needed");
	*(const char **)dst = arg;
	return -1;
}

static int
import_batch(const struct ctl_cmd *self, const char *arg, void *dst)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (!isdigit((unsigned char)arg[0]) || *end != '\0' || errno != 0 ||
	    v < 1 || v > IMPORT_BATCH_MAX)
		return usage_error(self, "--batch: a number from 1 to %d", IMPORT_BATCH_MAX);
	*(size_t *)dst = v;
	io.batch_given = 1;
	return -1;
}


static void
import_say(struct import_ctx *ic, size_t line, size_t no, const char *msg)
{
	/* A progress line is on the terminal: start a fresh one. */
	if (ic->tty)
		fputc('\n', stderr);
	fprintf(stderr, PROG ": %s:%zu: record %zu: %s\n", ic->name, line, no, msg);
}

static void
import_progress(struct import_ctx *ic, int done)
{
	double s;

	if (!ic->tty)
		return;
	s = (double)(mk_now_ms() - ic->t0) / 1000.0;
	fprintf(stderr, "\r" PROG ": import: %zu records, %.0f/s%s", ic->records,
	    s > 0 ? (double)ic->records / s : 0.0, done ? "\n" : "");
}

/* Write the pending batch, report its records in file order, and empty it. */
static void
import_flush(struct import_ctx *ic)
{
	struct svc_import_rec *r;
	struct pending *p;
	struct mk_err err;
	enum mk_code mrc = MK_OK;
	size_t i;

	if (ic->npend == 0)
		return;
	memset(&err, 0, sizeof(err));
	if (!ic->fatal)
		mrc = svc_user_import(ic->ctl->store, &ic->ctl->conf.limits, ic->connection,
		    ic->upsert, ic->recs, ic->nrecs, &err);
	if (ic->fatal) {
		/* Already stopped: nothing more is written. */
	} else if (mrc != MK_OK) {
		if (ic->tty)
			fputc('\n', stderr);
		ctl_errx("import: %s: records %zu to %zu were not written: %s", ic->name,
		    ic->pend[0].no, ic->pend[ic->npend - 1].no,
		    err.msg[0] != '\0' ? err.msg : mk_code_name(mrc));
		ic->fatal = 1;
	} else {
		for (i = 0; i < ic->npend; i++) {
			p = &ic->pend[i];
			if (p->msg != NULL) {
				import_say(ic, p->line, p->no, p->msg);
				ic->failed++;
				continue;
			}
			r = &ic->recs[p->slot];
			if (r->code == MK_ERR_EXISTS && !ic->upsert) {
				import_say(ic, p->line, p->no, "The user already "
				    "exists (--upsert updates existing users).");
				ic->failed++;
			} else if (r->code != MK_OK) {
				import_say(ic, p->line, p->no, r->err.msg[0] != '\0' ?
				    r->err.msg : mk_code_name(r->code));
				ic->failed++;
			} else if (r->action == SVC_IMPORT_CREATED) {
				ic->created++;
				ic->batched++;
			} else if (r->action == SVC_IMPORT_UPDATED) {
				ic->updated++;
				ic->batched++;
			}
			else
				ic->unchanged++;
		}
	}
	for (i = 0; i < ic->nrecs; i++) {
		json_object_put(ic->recs[i].rec);
		ic->recs[i].rec = NULL;
	}
	for (i = 0; i < ic->npend; i++) {
		free(ic->pend[i].msg);
		ic->pend[i].msg = NULL;
	}
	ic->nrecs = ic->npend = ic->bytes = 0;
	import_progress(ic, 0);
}

/* Queue parsed record o (taken) for the next batch, as record no at line. */
static void
import_queue(struct import_ctx *ic, struct json_object *o, size_t no, size_t line,
    size_t bytes)
{
	struct pending *p = &ic->pend[ic->npend++];

	p->no = no;
	p->line = line;
	p->msg = NULL;
	p->slot = ic->nrecs;
	ic->recs[ic->nrecs++].rec = o;
	ic->bytes += bytes;
	if (ic->npend == ic->batch_max || ic->bytes >= IMPORT_BATCH_BYTES)
		import_flush(ic);
}

/*
 * Write what bulk gathered in its one transaction, then the records it
 * deferred, in batches; from then on the import goes batch by batch.
 */
static void
import_bulk_end(struct import_ctx *ic)
{
	struct mk_err err;
	enum mk_code mrc;
	int64_t t1;
	size_t i, n;

	if (!ic->gathering)
		return;
	ic->gathering = 0;
	n = bulk_count(ic->bulk);
	if (!ic->fatal && n > 0) {
		if (ic->tty)
			fprintf(stderr, "\r" PROG ": import: %zu records read; writing %zu "
			    "users in one transaction\n", ic->records, n);
		memset(&err, 0, sizeof(err));
		t1 = mk_now_ms();
		mrc = bulk_commit(ic->bulk, &err);
		if (mrc == MK_OK) {
			ic->created += n;
			fprintf(stderr, PROG ": import: %zu users written in one transaction "
			    "(read and checked in %.1f s, written in %.1f s)\n", n,
			    (double)(t1 - ic->t0) / 1000.0,
			    (double)(mk_now_ms() - t1) / 1000.0);
		} else {
			if (ic->tty)
				fputc('\n', stderr);
			ctl_errx("import: %s: the %zu users gathered were not written: %s",
			    ic->name, n, err.msg[0] != '\0' ? err.msg : mk_code_name(mrc));
			ic->fatal = 1;
		}
	}
	for (i = 0; i < ic->ndef; i++) {
		if (ic->fatal) {
			json_object_put(ic->drec[i]);
			continue;
		}
		import_queue(ic, ic->drec[i], ic->dpend[i].no, ic->dpend[i].line,
		    ic->dpend[i].bytes);
	}
	ic->ndef = 0;
}

/*
 * One record of an import into an empty store, read and prepared: by a
 * worker of the pipeline (below), or by import_gather without threads.
 */
struct pitem {
	size_t off, n;              /* the record's text in the chunk's buf */
	size_t no, line;
	int over, nomem;            /* jx_split's flags */
	int parsed;                 /* o is set */
	struct json_object *o;
	enum mk_code rc;            /* bulk_prepare's, when parsed */
	struct bulk_rec r;
	struct mk_err err;          /* why not parsed or not prepared */
};

/*
 * Record it of an import into an empty store, prepared: it->rc is
 * bulk_prepare's, with it->r (the caller frees it) or it->err.  o is the
 * parsed record (taken), or NULL: then raw[0..it->n - 1] is parsed again
 * if the record must wait for the batches (deferred).
 */
static void
import_gathered(struct import_ctx *ic, struct json_object *o, const char *raw,
    struct pitem *it)
{
	enum mk_code mrc = it->rc;
	size_t no = it->no, line = it->line, bytes = it->n;
	struct mk_err perr;
	int deferred = 0;

	if (mrc == MK_ERR_INVALID) {
		import_say(ic, line, no, it->err.msg);
		ic->failed++;
		json_object_put(o);
		return;
	}
	if (mrc == MK_OK)
		mrc = bulk_add(ic->bulk, &it->r, &deferred);
	if (mrc != MK_OK) {
		ctl_errx("import: %s:%zu: record %zu: %s", ic->name, line, no,
		    it->err.msg[0] != '\0' ? it->err.msg : mk_code_name(mrc));
		ic->fatal = 1;
		json_object_put(o);
		return;
	}
	if (!deferred) {
		json_object_put(o);
		if (bulk_bytes(ic->bulk) >= IMPORT_BULK_BYTES)
			import_bulk_end(ic);
		return;
	}
	memset(&perr, 0, sizeof(perr));
	if (o == NULL && jx_parse(raw, bytes, ic->depth, &o, &perr) != MK_OK) {
		ctl_errx("import: %s:%zu: record %zu: %s", ic->name, line, no, perr.msg);
		ic->fatal = 1;
		return;
	}
	if (ic->ndef == ic->defcap) {
		size_t c = ic->defcap ? ic->defcap * 2 : 256;
		struct pending *np = realloc(ic->dpend, c * sizeof(*np));
		struct json_object **nr;

		if (np != NULL)
			ic->dpend = np;
		nr = np != NULL ? realloc(ic->drec, c * sizeof(*nr)) : NULL;
		if (nr == NULL) {
			ctl_errx("import: out of memory");
			ic->fatal = 1;
			json_object_put(o);
			return;
		}
		ic->drec = nr;
		ic->defcap = c;
	}
	ic->dpend[ic->ndef].no = no;
	ic->dpend[ic->ndef].line = line;
	ic->dpend[ic->ndef].msg = NULL;
	ic->dpend[ic->ndef].bytes = bytes;
	ic->drec[ic->ndef++] = o;
}

/* The same, prepared here (no threads). */
static void
import_gather(struct import_ctx *ic, struct json_object *o, size_t no, size_t line,
    size_t bytes)
{
	struct pitem it;

	memset(&it, 0, sizeof(it));
	it.no = no;
	it.line = line;
	it.n = bytes;
	it.rc = bulk_prepare(ic->bulk, o, &it.r, &it.err);
	import_gathered(ic, o, NULL, &it);
	bulk_rec_free(&it.r);
}

/* A record that could not be read (msg), in its place among the batches. */
static void
import_unread(struct import_ctx *ic, size_t no, size_t line, const char *msg)
{
	struct pending *p;

	if (ic->gathering) {
		import_say(ic, line, no, msg);
		ic->failed++;
		return;
	}
	p = &ic->pend[ic->npend];
	p->no = no;
	p->line = line;
	p->bytes = 0;
	if ((p->msg = strdup(msg)) == NULL) {
		ctl_errx("import: out of memory");
		ic->fatal = 1;
		return;
	}
	ic->npend++;
	if (ic->npend == ic->batch_max)
		import_flush(ic);
}

/*
 * ---- The pipeline of an import into an empty store ----
 *
 * The main thread splits the file into records and copies them into chunks
 * (PIPE_CHUNK records); worker threads, one per CPU, parse and prepare
 * (bulk_prepare) the records of a chunk; the main thread takes the chunks
 * back in file order and gathers their records (bulk_add), so numbering,
 * deferral and messages are those of one thread.  At most nslots chunks
 * are out at once.
 */
#define PIPE_CHUNK 256
#define PIPE_CHUNK_BYTES ((size_t)1 << 20)
#define PIPE_WORKERS_MAX 8

enum { CH_FREE, CH_FILLED, CH_CLAIMED, CH_DONE };

struct pchunk {
	char *buf;
	size_t len, cap, n;
	int state;
	struct pitem it[PIPE_CHUNK];
	struct bulk_rec old[PIPE_CHUNK]; /* the last chunk's, to free */
	size_t nold;
};

struct pipe {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct pchunk *ch;
	size_t nslots;
	size_t fill, take, consume; /* counters; the slot is the count % nslots */
	int stop;
	pthread_t th[PIPE_WORKERS_MAX];
	int nth;
	int depth;
	size_t limit;
	const struct bulk *bulk;
};

/* What the main thread left of the slot's last chunk. */
static void
pipe_clear(struct pchunk *c)
{
	size_t i;

	for (i = 0; i < c->nold; i++)
		bulk_rec_free(&c->old[i]);
	c->nold = 0;
}

static void
pipe_prepare(struct pipe *p, struct pchunk *c)
{
	struct pitem *it;
	size_t i;

	pipe_clear(c);
	for (i = 0; i < c->n; i++) {
		it = &c->it[i];
		memset(&it->err, 0, sizeof(it->err));
		it->parsed = 0;
		it->o = NULL;
		memset(&it->r, 0, sizeof(it->r));
		if (it->over)
			mk_fail(&it->err, MK_ERR_INVALID, "the record is larger than %zu "
			    "bytes", p->limit);
		else if (it->nomem)
			mk_fail(&it->err, MK_ERR_NOMEM, "out of memory");
		else if (jx_parse(c->buf + it->off, it->n, p->depth, &it->o,
		    &it->err) == MK_OK) {
			it->parsed = 1;
			memset(&it->err, 0, sizeof(it->err));
			it->rc = bulk_prepare(p->bulk, it->o, &it->r, &it->err);
			/* Freed in this thread (its malloc arena); the main thread
			 * parses the text again in the rare case it needs it. */
			json_object_put(it->o);
			it->o = NULL;
		}
	}
}

static void *
pipe_worker(void *arg)
{
	struct pipe *p = arg;
	struct pchunk *c;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->take == p->fill)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->take == p->fill)
			break;
		c = &p->ch[p->take % p->nslots];
		p->take++;
		c->state = CH_CLAIMED;
		pthread_mutex_unlock(&p->mu);
		pipe_prepare(p, c);
		pthread_mutex_lock(&p->mu);
		c->state = CH_DONE;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	jx_release();
	return NULL;
}

/* Take the oldest chunk back (waiting for it) and gather its records. */
static void
pipe_consume(struct import_ctx *ic)
{
	struct pipe *p = ic->pipe;
	struct pchunk *c = &p->ch[p->consume % p->nslots];
	struct pitem *it;
	size_t i;

	pthread_mutex_lock(&p->mu);
	while (c->state != CH_DONE)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < c->n; i++) {
		it = &c->it[i];
		if (ic->fatal)
			continue;
		if (!it->parsed)
			import_unread(ic, it->no, it->line, it->err.msg);
		else if (ic->gathering)
			import_gathered(ic, NULL, c->buf + it->off, it);
		else {
			/* Past the bulk write: batches, which check it again. */
			struct json_object *o = NULL;
			struct mk_err perr;

			memset(&perr, 0, sizeof(perr));
			if (jx_parse(c->buf + it->off, it->n, ic->depth, &o, &perr) != MK_OK)
				import_unread(ic, it->no, it->line, perr.msg);
			else
				import_queue(ic, o, it->no, it->line, it->n);
		}
	}
	/* The prepared records are freed by the worker that takes the slot
	 * next (their memory is the workers'). */
	for (i = 0; i < c->n; i++)
		c->old[i] = c->it[i].r;
	c->nold = c->n;
	c->n = c->len = 0;
	c->state = CH_FREE;
	p->consume++;
	import_progress(ic, 0);
}

/* Hand the chunk being filled to the workers. */
static void
pipe_submit(struct import_ctx *ic)
{
	struct pipe *p = ic->pipe;
	struct pchunk *c = &p->ch[p->fill % p->nslots];

	if (c->n == 0)
		return;
	pthread_mutex_lock(&p->mu);
	c->state = CH_FILLED;
	p->fill++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	/* The slot to fill next must be free. */
	if (p->fill - p->consume == p->nslots)
		pipe_consume(ic);
}

/* A record of the file into the chunk being filled. */
static void
pipe_add(struct import_ctx *ic, const struct jx_split_rec *rec, size_t no)
{
	struct pipe *p = ic->pipe;
	struct pchunk *c = &p->ch[p->fill % p->nslots];
	struct pitem *it = &c->it[c->n];
	size_t need = rec->over || rec->nomem ? 0 : rec->n;
	char *nb;

	memset(it, 0, sizeof(*it));
	it->no = no;
	it->line = rec->line;
	it->over = rec->over;
	it->nomem = rec->nomem;
	if (c->cap - c->len < need) {
		size_t cap = c->cap ? c->cap : 65536;

		while (cap - c->len < need)
			cap *= 2;
		if ((nb = realloc(c->buf, cap)) == NULL)
			it->nomem = 1;
		else {
			c->buf = nb;
			c->cap = cap;
		}
	}
	if (!it->nomem && !it->over) {
		memcpy(c->buf + c->len, rec->p, rec->n);
		it->off = c->len;
		it->n = rec->n;
		c->len += rec->n;
	}
	c->n++;
	if (c->n == PIPE_CHUNK || c->len >= PIPE_CHUNK_BYTES)
		pipe_submit(ic);
}

/* Start the workers; 0 when the pipeline runs, -1 (nothing started) if not. */
static int
pipe_start(struct import_ctx *ic, int depth, size_t limit)
{
	struct pipe *p;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->nth = ncpu < 1 ? 1 : ncpu > PIPE_WORKERS_MAX ? PIPE_WORKERS_MAX : (int)ncpu;
	p->nslots = (size_t)p->nth * 4;
	p->depth = depth;
	p->limit = limit;
	p->bulk = ic->bulk;
	if ((p->ch = calloc(p->nslots, sizeof(*p->ch))) == NULL) {
		free(p);
		return -1;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	for (i = 0; i < p->nth; i++)
		if (pthread_create(&p->th[i], NULL, pipe_worker, p) != 0)
			break;
	if (i == 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->work);
		pthread_cond_destroy(&p->done);
		free(p->ch);
		free(p);
		return -1;
	}
	p->nth = i;
	ic->pipe = p;
	return 0;
}

/* Take every chunk back, stop the workers and free the pipeline. */
static void
pipe_end(struct import_ctx *ic)
{
	struct pipe *p = ic->pipe;
	size_t i;
	int t;

	if (p == NULL)
		return;
	pipe_submit(ic);
	while (p->consume < p->fill)
		pipe_consume(ic);
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (t = 0; t < p->nth; t++)
		pthread_join(p->th[t], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	for (i = 0; i < p->nslots; i++) {
		pipe_clear(&p->ch[i]);
		free(p->ch[i].buf);
	}
	free(p->ch);
	free(p);
	ic->pipe = NULL;
}

/* A complete record of the file (jx_split_fn): parse it and queue it. */
static void
import_element(void *arg, const struct jx_split_rec *rec)
{
	struct import_ctx *ic = arg;
	struct json_object *o = NULL;
	struct pending *p;
	struct mk_err err;
	char msg[MK_ERR_MSG + 64];

	ic->records++;
	if (ic->pipe != NULL) {
		if (!ic->fatal)
			pipe_add(ic, rec, ic->records);
		return;
	}
	p = &ic->pend[ic->npend++];
	p->no = ic->records;
	p->line = rec->line;
	p->msg = NULL;
	memset(&err, 0, sizeof(err));
	if (rec->over)
		snprintf(msg, sizeof(msg), "the record is larger than %zu bytes", ic->split.limit);
	else if (rec->nomem)
		snprintf(msg, sizeof(msg), "out of memory");
	else if (jx_parse(rec->p, rec->n, ic->depth, &o, &err) != MK_OK)
		snprintf(msg, sizeof(msg), "%s", err.msg);
	else if (ic->gathering) {
		ic->npend--;
		import_gather(ic, o, p->no, p->line, rec->n);
		return;
	} else {
		p->slot = ic->nrecs;
		ic->recs[ic->nrecs++].rec = o;
		ic->bytes += rec->n;
		goto queued;
	}
	if ((p->msg = strdup(msg)) == NULL) {
		ctl_errx("import: out of memory");
		ic->npend--;
		ic->fatal = 1;
	}
queued:
	if (ic->npend == ic->batch_max || ic->bytes >= IMPORT_BATCH_BYTES)
		import_flush(ic);
}

static int
connection_configured(const struct ctl *ctl, const char *name)
{
	const char *const *c = ctl->conf.limits.connections;

	if (c == NULL)
		return strcmp(name, MODEL_DEFAULT_CONNECTION) == 0;
	for (; *c != NULL; c++)
		if (strcmp(*c, name) == 0)
			return 1;
	return 0;
}

/*
 * After writing: a bulk import leaves half-full pages and the free pages
 * of its transactions; rewrite the file compact when nothing else has the
 * database open (store_compact).  Never fails the import: says what it did.
 */
static void
import_compact(struct ctl *ctl)
{
	struct mk_err err;
	size_t before = 0, after = 0;
	enum mk_code mrc;

	store_close(ctl->store);
	ctl->store = NULL;
	memset(&err, 0, sizeof(err));
	mrc = store_compact(ctl->conf.store.dir, &before, &after, &err);
	if (mrc == MK_OK)
		fprintf(stderr, PROG ": import: data.mdb compacted from %zu to %zu bytes\n",
		    before, after);
	else
		fprintf(stderr, PROG ": import: data.mdb left as it is: %s\n", err.msg);
}

int
cmd_import(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	static char ibuf[1 << 16];
	struct import_ctx ic;
	FILE *f = NULL;
	const char *path = operands[0];
	struct mk_err err;
	enum mk_code mrc;
	size_t n, i, limit;
	int rc = CTL_FAIL, stop = 0;

	(void)self;
	memset(&ic, 0, sizeof(ic));
	ic.batch_max = io.batch;
	ic.upsert = io.upsert;
	ic.connection = io.connection;
	if (ic.connection != NULL && !connection_configured(ctl, ic.connection)) {
		ctl_errx("import: connection '%s' is not configured (see 'connections' "
		    "in the configuration file)", ic.connection);
		return CTL_FAIL;
	}
	if (strcmp(path, "-") == 0) {
		f = stdin;
		ic.name = "(stdin)";
	} else if ((f = fopen(path, "r")) == NULL) {
		ctl_errx("import: %s: %s", path, strerror(errno));
		return CTL_FAIL;
	} else
		ic.name = path;

	ic.ctl = ctl;
	ic.tty = isatty(STDERR_FILENO);
	ic.depth = model_body_depth(ctl->conf.limits.max_depth);
	/* Room for a pretty-printed record at the size limit. */
	limit = ctl->conf.limits.max_user_bytes * 4;
	if (limit < ((size_t)4 << 20))
		limit = (size_t)4 << 20;
	jx_split_init(&ic.split, limit, import_element, &ic);
	ic.t0 = mk_now_ms();
	/* Into a store without users: one sorted write (bulk.h). */
	if (!io.batch_given) {
		memset(&err, 0, sizeof(err));
		mrc = bulk_begin(ctl->store, &ctl->conf.limits, ic.connection, &ic.bulk, &err);
		if (mrc != MK_OK && mrc != MK_ERR_EXISTS) {
			ctl_errx("import: %s", err.msg[0] != '\0' ? err.msg : mk_code_name(mrc));
			goto out;
		}
		ic.gathering = mrc == MK_OK;
		/* Without threads the same happens in this one. */
		if (ic.gathering && getenv("MK_IMPORT_NOTHREADS") == NULL)
			(void)pipe_start(&ic, ic.depth, limit);
	}
	ic.recs = calloc(ic.batch_max, sizeof(*ic.recs));
	ic.pend = calloc(ic.batch_max, sizeof(*ic.pend));
	if (ic.recs == NULL || ic.pend == NULL) {
		ctl_errx("import: out of memory");
		goto out;
	}

	memset(&err, 0, sizeof(err));
	while (!stop && !ic.fatal && (n = fread(ibuf, 1, sizeof(ibuf), f)) > 0) {
		if (jx_split_feed(&ic.split, ibuf, n, &err) != MK_OK) {
			if (ic.tty)
				fputc('\n', stderr);
			ctl_errx("import: %s:%zu: %s", ic.name, ic.split.err_line, err.msg);
			stop = 1;
		}
	}
	if (!stop && ferror(f)) {
		ctl_errx("import: %s: %s", ic.name, strerror(errno));
		stop = 1;
	}
	if (!stop && !ic.fatal &&
	    jx_split_end(&ic.split, &err) != MK_OK) {
		ctl_errx("import: %s:%zu: %s", ic.name, ic.split.err_line, err.msg);
		stop = 1;
	}
	/* What was read before a structural error is still written. */
	pipe_end(&ic);
	import_bulk_end(&ic);
	import_flush(&ic);
	import_progress(&ic, 1);
	fprintf(stderr, PROG ": import: %zu record%s: %zu created, %zu updated, "
	    "%zu unchanged, %zu failed%s\n", ic.records, ic.records == 1 ? "" : "s",
	    ic.created, ic.updated, ic.unchanged, ic.failed,
	    stop || ic.fatal ? "; stopped early" : "");
	if (!stop && !ic.fatal && ic.failed == 0)
		rc = CTL_OK;
	/* One sorted write leaves full pages and no free ones: nothing to
	 * compact (it would copy the whole file for a few pages). */
	if (!io.no_compact && ic.batched == 0 && ic.created > 0)
		fprintf(stderr, PROG ": import: data.mdb written in key order, compact: "
		    "not rewritten\n");
	else if (!io.no_compact && ic.created + ic.updated > 0)
		import_compact(ctl);
out:
	if (f != NULL && f != stdin)
		fclose(f);
	if (ic.recs != NULL)
		for (i = 0; i < ic.nrecs; i++)
			json_object_put(ic.recs[i].rec);
	if (ic.pend != NULL)
		for (i = 0; i < ic.npend; i++)
			free(ic.pend[i].msg);
	pipe_end(&ic);
	for (i = 0; i < ic.ndef; i++)
		json_object_put(ic.drec[i]);
	free(ic.dpend);
	free(ic.drec);
	bulk_free(ic.bulk);
	free(ic.recs);
	free(ic.pend);
	jx_split_free(&ic.split);
	return rc;
}
