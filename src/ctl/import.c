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
#include "ctl/import.h"

#define IMPORT_BATCH 1000
#define IMPORT_BATCH_MAX 100000
#define IMPORT_BATCH_BYTES ((size_t)32 << 20)  /* of record text, per batch */

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


void
import_say(struct import_ctx *ic, size_t line, size_t no, const char *msg)
{
	/* A progress line is on the terminal: start a fresh one. */
	if (ic->tty)
		fputc('\n', stderr);
	fprintf(stderr, PROG ": %s:%zu: record %zu: %s\n", ic->name, line, no, msg);
}

void
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
void
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

/* A record that could not be read (msg), in its place among the batches. */
void
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
			import_pipe_add(ic, rec, ic->records);
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
		/* Without threads the same happens in this one (MK_IMPORT_NOTHREADS:
		 * metakeepctl(1), ENVIRONMENT). */
		if (ic.gathering && getenv("MK_IMPORT_NOTHREADS") == NULL)
			(void)import_pipe_start(&ic, ic.depth, limit);
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
	import_pipe_end(&ic);
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
	import_pipe_end(&ic);
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
