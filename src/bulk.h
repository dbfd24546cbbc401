/*
 * bulk: an import into a store that has no users yet, written as one
 * transaction in key order (issue 13).
 *
 * metakeepctl import of a whole user base into a fresh store is the common
 * migration; written a batch at a time, each batch's users land in random
 * places of every table (ids, emails and unique search terms are not in
 * file order), so every commit rewrites thousands of pages and the file
 * needs compacting after.  Here each record is prepared apart (built,
 * validated, serialised, its search keys made: bulk_prepare, pure, so any
 * thread may do it), then the records are gathered in file order
 * (bulk_add), and bulk_commit writes them all in one store_write: each
 * table sorted and appended, the search postings grouped per term.  A
 * record that names a user_id or an (email, connection) an earlier record
 * of the file named too is not gathered ("deferred"): the caller writes it
 * after the commit through svc_user_import, which gives it exactly the
 * outcome it would have had in file order (the records gathered after it
 * share none of its keys).
 *
 * Durability and crashes: the commit is a store_write like any other
 * (durable unless the store is opened relaxed); until it returns nothing of
 * the import is in the store, so a crash leaves the store as it was (empty)
 * and the import can be run again.
 */
#ifndef MK_BULK_H
#define MK_BULK_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "err.h"
#include "store.h"
#include "svc.h"

struct bulk;

/* One prepared record (bulk_prepare fills it; bulk_add takes it). */
struct bulk_rec {
	struct store_user_new u;   /* the strings point into mem */
	char *mem;                 /* owned */
	size_t memn;               /* its bytes */
	struct mk_slice *terms;    /* owned (sindex_user_keys) */
	size_t nterms;
};

/*
 * Start a bulk import into s: MK_ERR_EXISTS when s has a user already (the
 * caller imports batch by batch then).  connection: as svc_user_import's;
 * l borrowed until bulk_free.  Errors: MK_ERR_NOMEM, MK_ERR_INTERNAL.
 */
enum mk_code bulk_begin(struct store *s, const struct svc_limits *l, const char *connection,
    struct bulk **out, struct mk_err *err);

/*
 * Build the user of one import record (borrowed) as svc_user_import would
 * create it: same rules and messages (MK_ERR_INVALID, with err set), a
 * random id for a record without user_id.  Pure but for that randomness;
 * safe from several threads at once on one b.  On success *r is owned by
 * the caller (bulk_add or bulk_rec_free).
 */
enum mk_code bulk_prepare(const struct bulk *b, struct json_object *rec,
    struct bulk_rec *r, struct mk_err *err);
void bulk_rec_free(struct bulk_rec *r);

/*
 * Gather r (borrowed: copied; the caller frees it with bulk_rec_free, in
 * any thread), in file order.  *deferred = 1 when r shares its user_id or
 * its (email, connection) with an earlier record: it is not gathered (the
 * caller writes the record through svc_user_import after bulk_commit).
 * Errors: MK_ERR_NOMEM, MK_ERR_FULL (too many users for the numbers).
 */
enum mk_code bulk_add(struct bulk *b, struct bulk_rec *r, int *deferred);

/* Records gathered so far, and the bytes of their text. */
size_t bulk_count(const struct bulk *b);
size_t bulk_bytes(const struct bulk *b);

/*
 * Write every gathered record in one store_write.  Once only: the store
 * has users after it, so what follows goes through svc_user_import.
 * MK_ERR_BUSY: the store got a user since bulk_begin (another process
 * wrote); nothing was written.  Other errors as store_write's.
 */
enum mk_code bulk_commit(struct bulk *b, struct mk_err *err);

void bulk_free(struct bulk *b);

#endif
