/*
 * logev: Auth0's log events of Management API calls (docs/api.md section
 * 9), kept in the store's event log (store.h, "Event log").
 *
 * An event is built in two steps.  The api layer knows the call (who, from
 * where, what it sent) and makes a template of it (logev_template): JSON
 * text that travels with the write, also through group commit.  The write
 * itself, inside its own (nested) transaction, completes it with what only
 * it knows (the number, the date, the user, the change as a JSON Patch)
 * and writes it there (logev_put_success): the event commits or rolls back
 * with its write.  A failed call changes nothing, so its event is queued in
 * the process (logev_fail) and written in batches (logev_tick, logev_flush):
 * at most LOGEV_FAIL_BATCH of them, or those of the last second, are in
 * memory, and lost if the process is killed.
 */
#ifndef MK_LOGEV_H
#define MK_LOGEV_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "err.h"
#include "store.h"

#define LOGEV_FAIL_BATCH 64          /* failed calls queued before a write */
#define LOGEV_BODY_MAX 16384         /* request bodies kept in an event, bytes */
#define LOGEV_ID_LEN 23              /* "900" and 20 digits */

struct logev_conf {
	int on;                     /* 0: no events at all */
	unsigned retention_days;    /* events older are dropped; default 30 */
	size_t max_events;          /* the most kept; default 100000 */
};

/* Fill c with the defaults (on, 30 days, 100000 events). */
void logev_conf_defaults(struct logev_conf *c);

/* What the api knows of one call; every pointer borrowed, any may be NULL. */
struct logev_call {
	const char *method;
	const char *path;            /* without the query */
	const char *query;
	const char *client_id;       /* the caller (a token's id) */
	const char *client_name;
	const char *ip;
	const char *user_agent;
	const char *scopes;          /* space-separated */
	struct json_object *body;    /* the parsed request body */
	const char *description;     /* Auth0's wording, "Update a User" */
};

/*
 * The template of call's event as JSON text into out (reset first): every
 * field the call gives, the body with "password" and "client_secret"
 * replaced by "[redacted]" (a body over LOGEV_BODY_MAX is replaced by a
 * note of its size).  Errors: MK_ERR_NOMEM.
 */
enum mk_code logev_template(const struct logev_call *call, struct mk_buf *out);

/*
 * One event's own values, with which a call's template is completed: every
 * pointer borrowed.
 */
struct logev_event {
	struct mk_slice tmpl;        /* the call's template (logev_template's text) */
	int64_t now_ms;              /* its date */
	const char *user_id;         /* the user the call was about, or NULL: none */
	int status;                  /* the HTTP status answered */
};

/*
 * Inside a write transaction: the sapi event ev of a write that succeeded,
 * its change the JSON Patch (RFC 6902) of the metadata roots between old
 * and new (either NULL: created, deleted).  Errors: MK_ERR_NOMEM,
 * MK_ERR_INTERNAL (a template that does not parse), and the store's
 * (MK_ERR_FULL): the write must fail with it.
 */
enum mk_code logev_put_success(struct store_txn *t, const struct logev_event *ev,
    struct json_object *old, struct json_object *new);

/*
 * A failed call: an fapi event ev, its description the error's message,
 * with the error body resp (resp.p may be NULL: none), queued in this
 * process.  When the queue is full it is written at once (store_write with
 * s).  Never fails: an event that cannot be queued or written is logged
 * and dropped.
 */
void logev_fail(struct store *s, const struct logev_event *ev, struct mk_slice resp);

/* Write the queued events of this process now (one transaction).  Errors: store_write's. */
enum mk_code logev_flush(struct store *s);

/*
 * After each request: write the queue when its oldest event is a second
 * old, and every LOGEV_PRUNE_EVERY calls (or second) drop the events past
 * c's retention, at most LOGEV_PRUNE_MAX in one short transaction.
 */
#define LOGEV_PRUNE_EVERY 32
#define LOGEV_PRUNE_MAX 256
void logev_tick(struct store *s, const struct logev_conf *c, int64_t now_ms);

/*
 * What an event adds to its template: log_id id, date, type and user_id
 * (when not NULL) to the event, details.response (statusCode status, body
 * resp_body when not NULL) and details.change (when not NULL) to its
 * details.  Every pointer borrowed: resp_body and change stay the caller's.
 */
struct logev_fields {
	const char *id;
	const char *date;            /* ISO 8601 */
	const char *type;            /* "sapi", "fapi" */
	const char *user_id;
	int status;
	struct json_object *resp_body;
	struct json_object *change;
};

/*
 * The text of an event (reset into out): template tmpl (n bytes) completed
 * with f.  parse 0: spliced into the template's text (the write path: no
 * parsing under the writer lock), falling back to parse 1: parsed,
 * completed and serialized by json-c; both give the same bytes for a
 * template json-c wrote, as every template is (test_logs compares them).
 * parse 2 (for tests): spliced or MK_ERR_INTERNAL.  Errors:
 * MK_ERR_INTERNAL (a template that is not a JSON object with "details"),
 * MK_ERR_NOMEM.
 */
enum mk_code logev_event_text(const char *tmpl, size_t n, const struct logev_fields *f,
    int parse, struct mk_buf *out);

/* The log_id of seq into out (LOGEV_ID_LEN + 1 bytes). */
void logev_id(uint64_t seq, char out[LOGEV_ID_LEN + 1]);
/* The number of a log_id; -1 when it is not one. */
int logev_id_parse(const char *id, uint64_t *seq);

/*
 * The JSON Patch from old to new over their metadata roots (user_metadata,
 * app_metadata, client_metadata): add/replace/remove of each root key, or of
 * a whole root that appears or goes.  Returns a new array (owned), NULL
 * on no memory.
 */
struct json_object *logev_diff(struct json_object *old, struct json_object *new);

#endif
