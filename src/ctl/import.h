/*
 * ctl/import.h: what the import's two files share.  import.c reads the
 * file, finds and parses its records, and writes them in batches
 * (svc_user_import); import_bulk.c is the way into a store without users:
 * records parsed and prepared on threads, gathered, and written in one
 * sorted transaction (bulk.h).
 */
#ifndef MK_CTL_IMPORT_H
#define MK_CTL_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "jx.h"
#include "svc.h"
#include "ctl/ctl.h"

struct bulk;
struct pipe;

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

/* import.c: the batches. */
/* Report record no (at line) as failed: FILE:LINE: record N: msg. */
void import_say(struct import_ctx *ic, size_t line, size_t no, const char *msg);
/* The progress line on a terminal (done: the last one). */
void import_progress(struct import_ctx *ic, int done);
/* Queue parsed record o (taken) for the next batch; bytes: its text. */
void import_queue(struct import_ctx *ic, struct json_object *o, size_t no, size_t line,
    size_t bytes);
/* A record that could not be read (msg), in its place among the batches. */
void import_unread(struct import_ctx *ic, size_t no, size_t line, const char *msg);

/* import_bulk.c: into a store without users. */
/* Write what was gathered, then the deferred records in batches. */
void import_bulk_end(struct import_ctx *ic);
/* Prepare parsed record o (taken) here, without threads, and gather it. */
void import_gather(struct import_ctx *ic, struct json_object *o, size_t no, size_t line,
    size_t bytes);
/* Start the threads: 0 when they run, -1 (nothing started) if not. */
int import_pipe_start(struct import_ctx *ic, int depth, size_t limit);
/* Record no of the file to the threads. */
void import_pipe_add(struct import_ctx *ic, const struct jx_split_rec *rec, size_t no);
/* Take every chunk back, stop the threads and free them. */
void import_pipe_end(struct import_ctx *ic);

#endif
