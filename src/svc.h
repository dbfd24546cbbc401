/*
 * svc: the write operations of the service, one function per verb, each one
 * store_write transaction: read the stored record, apply the model's rules
 * (merge, validate), check uniqueness, write the record and its indexes.
 * Handlers never hold a write transaction; everything a change needs is
 * passed in as a value, so a change is atomic whatever the workers do.
 *
 * Reads are not here: the api layer reads records straight from a store read
 * transaction, since the stored bytes are the response.
 */
#ifndef MK_SVC_H
#define MK_SVC_H

#include <json-c/json.h>

#include "buf.h"
#include "err.h"
#include "store.h"

/*
 * The limits every write is checked against.  api_conf and the daemon's
 * mk_conf embed one; metakeepctl uses the daemon's.
 */
struct svc_limits {
	size_t max_user_bytes;           /* serialized record; default 1 MiB; 0: none */
	int max_depth;                   /* metadata nesting; default META_DEFAULT_MAX_DEPTH */
	const char *const *connections;  /* NULL-terminated, borrowed; NULL = default only */
};

/* Fill l with the defaults. */
void svc_limits_defaults(struct svc_limits *l);

/*
 * The version of a stored record (spec 7): the first 32 hex digits of the
 * SHA-256 of its bytes, a strong validator of them; for a record with a
 * client_secret, of its bytes without that member, so the version says
 * nothing about the secret (issue 12, finding 3; updated_at still moves it
 * when only the secret changes).  Any shape of the record (fields=,
 * client_secret hidden) has the version of the stored record it came from;
 * api sends it quoted as the ETag.  out holds SVC_VERSION_SIZE bytes,
 * NUL-terminated ("000..." when the record cannot be read).
 */
#define SVC_VERSION_LEN 32
#define SVC_VERSION_SIZE (SVC_VERSION_LEN + 1)
void svc_version(const void *rec, size_t n, char out[SVC_VERSION_SIZE]);

/*
 * A precondition on the version of the record a PATCH or DELETE acts on
 * (api parses If-Match into it; svc only compares).  It holds when any is
 * set and the record exists, or when one of versions[0..n-1] equals the
 * record's version byte for byte.  n may be 0: it never holds then.
 * versions is borrowed for the call.
 */
struct svc_precond {
	int any;
	const struct mk_slice *versions;
	size_t n;
};

struct gc;

/*
 * The log event of this process's next write: a template of logev_template
 * (tmpl, n bytes; borrowed until that write returns), or NULL for none.
 * The next verb takes it (and clears it): its event is completed and
 * written inside the write's own transaction (logev.h), so it commits and
 * rolls back with the write; a verb that fails writes none.  Metakeepctl
 * and tests that set none write none.
 */
void svc_log_next(const char *tmpl, size_t n);

/*
 * Write through the group commit region g (gc.h) from now on, in this
 * process: attaches to a slot, and applies other workers' writes with the
 * limits l (borrowed for the life of the process; every worker has the
 * same).  g NULL: write alone (the default).  The verbs' results and errors
 * are the same either way.  Errors: gc_attach's (MK_ERR_FULL: no free
 * slot; this process then writes alone).
 */
enum mk_code svc_group_commit(struct gc *g, struct store *s, const struct svc_limits *l);

/*
 * Create a user from a parsed POST body (borrowed; svc removes "password"
 * from it after hashing it).  On success out holds the stored JSON text.
 * Errors: MK_ERR_INVALID, MK_ERR_EXISTS ("The user already exists."),
 * MK_ERR_FULL, MK_ERR_INTERNAL, MK_ERR_NOMEM.
 */
enum mk_code svc_user_create(struct store *s, const struct svc_limits *l,
    struct json_object *body, struct mk_buf *out, struct mk_err *err);

/* The same for clients. */
enum mk_code svc_client_create(struct store *s, const struct svc_limits *l,
    struct json_object *body, struct mk_buf *out, struct mk_err *err);

/*
 * PATCH a user or client (body borrowed; "password" taken out of a user's as
 * in svc_user_create) and DELETE one.  Errors as the create verbs, plus
 * MK_ERR_NOTFOUND ("The user does not exist." / "The client does not
 * exist."); DELETE of a record already gone is MK_OK (Auth0 answers 204).
 * Deleting a client deletes its client grants (grant.h) in the same
 * transaction.
 *
 * pre is the request's precondition (borrowed), or NULL for none.  It is
 * checked against the stored record's version inside the write
 * transaction, so the check and the write are one atomic step.
 * Errors: as the verbs above, plus MK_ERR_PRECOND ("The resource has been
 * modified.") when it does not hold; nothing is written then.  PATCH of an
 * absent record stays MK_ERR_NOTFOUND; DELETE of an absent record with a
 * precondition is MK_ERR_PRECOND (without one, MK_OK as above).
 * The PATCH verbs take 7 parameters: the store, the limits, the target and
 * its precondition, the change, and the two outputs, each of a different
 * owner; a struct would only move them into the caller's locals.
 */
enum mk_code svc_user_patch(struct store *s, const struct svc_limits *l, const char *id,
    const struct svc_precond *pre, struct json_object *body, struct mk_buf *out,
    struct mk_err *err);
enum mk_code svc_user_delete(struct store *s, const char *id, const struct svc_precond *pre,
    struct mk_err *err);
enum mk_code svc_client_patch(struct store *s, const struct svc_limits *l, const char *id,
    const struct svc_precond *pre, struct json_object *body, struct mk_buf *out,
    struct mk_err *err);
enum mk_code svc_client_delete(struct store *s, const char *id,
    const struct svc_precond *pre, struct mk_err *err);

/*
 * Bulk import (additive, for metakeepctl import).  One record of a batch:
 * rec is the parsed record (borrowed); the rest is written by
 * svc_user_import.
 */
enum svc_import_action {
	SVC_IMPORT_CREATED,
	SVC_IMPORT_UPDATED,
	SVC_IMPORT_UNCHANGED,
};

struct svc_import_rec {
	struct json_object *rec;       /* in */
	enum mk_code code;             /* out: MK_OK, or why the record was skipped */
	enum svc_import_action action; /* out, when code is MK_OK */
	struct mk_err err;             /* out: the reason, when code is not MK_OK */
};

/*
 * Import recs[0..n-1] in one store_write, in order (a record sees the ones
 * before it).  Each record is built by model_user_import (connection: see
 * there; NULL for the record's own) and checked like a create: size limit,
 * unique user_id, unique email in its connection.  A record that breaks a
 * rule is skipped and changes nothing (recs[i].code MK_ERR_INVALID or
 * MK_ERR_EXISTS, with the reason in recs[i].err); the others are written.
 * An existing user (same user_id; for a record without user_id, same email
 * in the same connection) is "The user already exists." unless upsert:
 * then the record replaces it, keeping the stored created_at (and
 * updated_at when nothing changed) unless the record gives them, so running
 * the same file again changes nothing (SVC_IMPORT_UNCHANGED).  A password
 * hash in the record is stored as the user's (kept apart, never returned).
 * Returns MK_OK when the batch committed; otherwise nothing of the batch is
 * written and the code says why (MK_ERR_FULL, MK_ERR_INTERNAL,
 * MK_ERR_NOMEM; err->msg set), and recs[].code mean nothing.
 * Seven parameters: the store and limits of every verb, the options of the
 * whole import (connection, upsert), the batch as the array it is (recs,
 * n), and err.  (An import into a store without users goes through
 * bulk.h instead: the connection at bulk_begin, no upsert in an empty store.)
 */
enum mk_code svc_user_import(struct store *s, const struct svc_limits *l,
    const char *connection, int upsert, struct svc_import_rec *recs, size_t n,
    struct mk_err *err);

/*
 * Index repair (for metakeepctl check --repair).  Rebuild the order indexes
 * (users_email, users_created, users_updated, clients_created) from the
 * records in one store_write: every entry is dropped, then each user and
 * client whose record parses and names the id it is stored under is
 * indexed again.  A record that does not is left out and counted in
 * skipped (metakeepctl check reports it).  The user numbers are repaired
 * first (store_user_nums_repair: the order indexes name users by number);
 * if any changed, the search index is marked incomplete (searches scan)
 * until sindex_rebuild rebuilds it.  On success *out holds the counts
 * (caller's storage).  Errors: those of store_write (MK_ERR_FULL,
 * MK_ERR_INTERNAL, MK_ERR_NOMEM; err->msg set); nothing is changed then.
 */
struct svc_reindex_counts {
	size_t users, clients;    /* records indexed */
	size_t skipped;           /* records left out */
};
enum mk_code svc_reindex(struct store *s, struct svc_reindex_counts *out,
    struct mk_err *err);

/*
 * A user PATCH parses only the stored members it reads or changes
 * (model_user_patch_text) and copies the other members' bytes; the record,
 * answer, index entries and event are the same as the whole way's (parse
 * the whole record, model_user_patch, serialize the whole new one).  Set
 * to 1, every user PATCH of this process goes the whole way: for tests
 * that compare the two.  0 by default.
 */
extern int svc_patch_whole;
/* User creates a leader applied from its own op, not the wire (tests). */
extern unsigned long svc_own_applied;

#endif
