/*
 * sindex: the search index of users, and search over it.
 *
 * Every searchable term of a user (query_terms: each profile field, each
 * non-null scalar leaf of user_metadata and app_metadata) becomes one entry
 * of the store's "search" table, term key -> user_id, plus one "exists"
 * entry for each field and each path prefix above a leaf.  svc keeps the
 * entries in step inside the write transaction of the record, so a search
 * sees every committed write (spec 6: no eventual consistency).
 *
 * A term key is path '\0' tag value, tag one of 's' 'n' 'b' (query.h) or
 * 'e' (exists, no value).  A key over STORE_SEARCH_KEYMAX bytes is replaced
 * by "\001H" and a 128-bit hash of it; lookups of such keys verify each
 * candidate against the record, so a collision costs time, never a wrong
 * answer.
 *
 * Search: evaluate the query tree to a sorted set of user ids (index
 * lookups, union, intersection, difference; an AND with one selective side
 * probes the index for the other side's terms per candidate instead of
 * reading the other side's ids), then order and page.  A store whose index
 * is not marked complete (store_search_ready) is answered by scanning every
 * record with query_match: slower, still exact.
 */
#ifndef MK_SINDEX_H
#define MK_SINDEX_H

#include <stddef.h>
#include <json-c/json.h>

#include "err.h"
#include "query.h"
#include "store.h"

/*
 * Inside a store_write: replace the entries of old (the stored user, NULL on
 * create) by those of new (the user being written, NULL on delete).  Only
 * the difference is written.  Both borrowed.  Errors: MK_ERR_FULL,
 * MK_ERR_NOMEM, MK_ERR_INTERNAL.
 */
enum mk_code sindex_user_update(struct store_txn *t, struct json_object *old,
    struct json_object *new);

/*
 * The term keys of a user, sorted (byte order) and unique: pure.  On
 * success *keys is an owned array of *n owned slices; free with
 * sindex_keys_free.  Errors: MK_ERR_NOMEM.
 */
enum mk_code sindex_user_keys(struct json_object *user, struct mk_slice **keys, size_t *n);
void sindex_keys_free(struct mk_slice *keys, size_t n);

/*
 * The term key of term (its path, tag and value; borrowed) into out
 * (STORE_SEARCH_KEYMAX bytes).  Returns its length; *hashed (may be NULL)
 * is set when it is a hash.
 */
size_t sindex_term_key(const struct query_term *term, char *out, int *hashed);

/*
 * A search, as a value: the query (borrowed), the page of its answer, in
 * the order store_users_scan uses (ties by user_id; desc reverses), and
 * the visitor of each user of the page, fn(ctx, user_id, record).
 */
struct sindex_req {
	const struct query *q;
	struct store_page page;
	store_visit_fn fn;
	void *ctx;
};

/*
 * Answer the search rq (borrowed) in read transaction t: the users matching
 * rq->q, the page rq->page of them visited with rq->fn; the slices stay
 * valid until t ends.  *total (may be NULL) gets the number of matching
 * users.  Errors: MK_ERR_NOMEM, MK_ERR_INTERNAL (err->msg set).
 */
enum mk_code sindex_search(struct store_txn *t, const struct sindex_req *rq,
    size_t *total, struct mk_err *err);

/*
 * Results up to this many (default 2048) are ordered by reading their
 * records and sorting; more are ordered by walking the order index (O(users),
 * no record reads).  A variable so tests can exercise both.
 */
extern size_t sindex_sort_in_memory;

/*
 * Rebuild the whole index from the records and mark it complete, in
 * batches of write transactions (a live daemon may go on writing: its
 * writes keep their own users' entries right).  *users and *entries (may be
 * NULL) get the counts.  Errors: those of store_write, MK_ERR_NOMEM.
 */
enum mk_code sindex_rebuild(struct store *s, size_t *users, size_t *entries,
    struct mk_err *err);

/*
 * Compare the index with the records in one read transaction: missing
 * entries (named, the first few), stray entries (counted), the
 * completeness mark.  fn(ctx, line) gets one line per problem (borrowed).
 * *problems gets their number (0: consistent).  Errors: MK_ERR_NOMEM,
 * MK_ERR_INTERNAL.
 */
typedef void (*sindex_report_fn)(void *ctx, const char *line);
enum mk_code sindex_check(struct store *s, sindex_report_fn fn, void *ctx,
    size_t *problems, struct mk_err *err);

#endif
