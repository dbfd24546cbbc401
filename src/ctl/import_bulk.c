/*
 * import_bulk: metakeepctl import into a store without users (see
 * ctl/import.h).  Records are gathered for bulk.h's one sorted write;
 * those that cannot be (a duplicate id or email) are deferred to the
 * batches, in file order, after it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bulk.h"
#include "err.h"
#include "jx.h"
#include "util.h"
#include "ctl/ctl.h"
#include "ctl/import.h"

/* An import into a store without users gathers up to this much record
 * text for its one sorted write (bulk.h); the rest goes in batches. */
#define IMPORT_BULK_BYTES ((size_t)1 << 30)

/*
 * Write what bulk gathered in its one transaction, then the records it
 * deferred, in batches; from then on the import goes batch by batch.
 */
void
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
void
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
void
import_pipe_add(struct import_ctx *ic, const struct jx_split_rec *rec, size_t no)
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
int
import_pipe_start(struct import_ctx *ic, int depth, size_t limit)
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
void
import_pipe_end(struct import_ctx *ic)
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
