/*
 * sindex: the search index of users, and search over it.
 *
 * Every searchable term of a user (query_terms: each profile field, each
 * non-null scalar leaf of user_metadata and app_metadata) becomes one
 * posting in the store's "terms" table, term key -> the user's number (a
 * 4-byte integer the store gives each user, see store.h), plus one "exists"
 * posting for each field and each path prefix above a leaf.  A term's
 * numbers are one sorted, packed list (LMDB MDB_DUPFIXED), so a posting
 * costs 4 bytes and a list is read a page at a time.  svc keeps the
 * postings in step inside the write transaction of the record, so a search
 * sees every committed write (spec 6: no eventual consistency).
 *
 * A term key is path '\0' tag value, tag one of 's' 'n' 'b' (query.h) or
 * 'e' (exists, no value).  A key over STORE_SEARCH_KEYMAX bytes is replaced
 * by "\001H" and a 128-bit hash of it; lookups of such keys verify each
 * candidate against the record, so a collision costs time, never a wrong
 * answer.
 *
 * Search: evaluate the query tree to a sorted set of user numbers (index
 * lookups, union, intersection, difference; an AND with one selective side
 * probes the index for the other side's terms per candidate instead of
 * reading the other side's numbers), then order and page.  A store whose index
 * is not marked complete (store_search_ready) is answered by scanning every
 * record with query_match: slower, still exact.
 */
#ifndef MK_SINDEX_H
#define MK_SINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "err.h"
#include "query.h"
#include "store.h"

/*
 * Inside a store_write: replace the entries of old (the stored user, NULL on
 * create) by those of new (the user being written, NULL on delete).  Only
 * the difference is written.  Both borrowed.  The user's number is read
 * from the store by user_id: call it after store_user_put on create and
 * update, and before store_user_del on delete.  Errors: MK_ERR_FULL,
 * MK_ERR_NOMEM, MK_ERR_INTERNAL.
 */
enum mk_code sindex_user_update(struct store_txn *t, struct json_object *old,
    struct json_object *new);

/*
 * sindex_user_update for a PATCH of one user that has parsed only part of
 * the record (model_user_patch_text): old holds the stored members the
 * PATCH read or may change, new their values after it; the members neither
 * holds are unchanged, so their terms are too.  Both hold user_id.  When
 * the changed part's terms cannot be told apart from the rest (a hashed
 * key), the whole records are parsed from old_text and new_text (the
 * stored record and the new one, borrowed: call it before the store
 * changes the stored one).  Errors as sindex_user_update.
 */
enum mk_code sindex_user_patch(struct store_txn *t, struct json_object *old,
    struct json_object *new, struct mk_slice old_text, struct mk_slice new_text);

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
 * The work budget of one search.  Evaluating a query is charged, in
 * units, for every operation it does on the index and the records: 1 per
 * id read from a posting list, copied or merged; COST_SEEK (8) per
 * positioning on a key (a count, a probe of one id, the start of a posting
 * list); COST_RECORD (128) per record read and parsed (hashed-key checks,
 * ordering a small result by its attribute, the full scan of a store
 * whose index is incomplete).  Walking an order index for a large result
 * costs COST_WALK (4) per user.  The weights are measured ratios of the
 * real costs (bench/search_cost prints them), so units track time: 15-70
 * ns each on the 2-vCPU machine of BENCHMARKS.md, idle to loaded.
 *
 * The one mechanism: the evaluation context carries the budget and the
 * units spent, every operation goes through one charge() in sindex.c, and
 * charge() is the only place that compares them.  When the spent units
 * pass the budget the search stops at once and fails with MK_ERR_QUERY
 * and a message for the client (the query is too expensive; how to narrow
 * it); nothing is partly answered.  A new index layout keeps this by
 * charging its own operations in these units.
 *
 * The planner prices its choices in the same units (an AND probes the
 * index per candidate or evaluates the other side, a NOT's inner side, as
 * a set, whichever costs less; an OR chain evaluates operands written
 * alike once and takes one complement for all its NOTs), so the budget
 * refuses only queries that are expensive under the cheapest plan.
 *
 * The default, 8,000,000 units, is 0.1-0.6 s of one core here (far below
 * the 30 s request_timeout) and lets through any query that touches each
 * of 1M users a few times (NOT x, sorted, costs about 5 units a user);
 * larger stores may need more: the operator's search_budget setting
 * (0 disables the limit).
 */
#define SINDEX_BUDGET_DEFAULT ((size_t)8000000)

/*
 * A search, as a value: the query (borrowed), the page of its answer, in
 * the order store_users_scan uses (ties by user_id; desc reverses), and
 * the visitor of each user of the page, fn(ctx, user_id, record); the
 * budget in units (above; 0 for no limit) and where to put the units
 * spent (may be NULL; written whatever the outcome).
 *
 * heavy (may be NULL) is called once, with hctx, when the units spent
 * first pass heavy_at: the caller's say on whether a heavy search may go
 * on (the api admits a few at a time, slots.h).  A code other than MK_OK
 * stops the search with that code (heavy sets err).  The default
 * threshold: about 3 ms of one core.
 */
#define SINDEX_HEAVY_DEFAULT ((size_t)50000)
typedef enum mk_code (*sindex_heavy_fn)(void *hctx, struct mk_err *err);
struct sindex_req {
	const struct query *q;
	struct store_page page;
	store_visit_fn fn;
	void *ctx;
	size_t budget;
	size_t *spent;
	sindex_heavy_fn heavy;
	void *hctx;
	size_t heavy_at;
};

/*
 * Answer the search rq (borrowed) in read transaction t: the users matching
 * rq->q, the page rq->page of them visited with rq->fn; the slices stay
 * valid until t ends.  *total (may be NULL) gets the number of matching
 * users.  Errors: MK_ERR_QUERY (over the budget; err->msg is the client's
 * message), the heavy hook's code with its message (MK_ERR_BUSY),
 * MK_ERR_NOMEM, MK_ERR_INTERNAL (err->msg set).
 */
enum mk_code sindex_search(struct store_txn *t, const struct sindex_req *rq,
    size_t *total, struct mk_err *err);

/*
 * Results up to this many (default 2048) are ordered by reading their
 * records (ids only, for the user_id order) and sorting; more are ordered by
 * walking the users in the page's order (the users table or an order
 * index) and keeping the members of the page (a bitmap of their numbers):
 * O(position of the page's end), O(users) at most.  A variable so tests can
 * exercise both.
 */
extern size_t sindex_sort_in_memory;

/*
 * Bulk indexing of new users (import, rebuild): their postings are gathered
 * and written sorted in one pass at the end, with appends where the numbers
 * are new.  Use one batch inside one store_write: add each user created in
 * it (after store_user_put; num from store_user_num), and call
 * sindex_batch_write before the transaction ends, and before any other
 * change of the index in that transaction (sindex_user_update of a user
 * added here would miss the postings still queued).  new/free: the batch is
 * owned by the caller; add borrows user.  write empties the batch; *entries
 * (may be NULL) gets the postings written.  Errors: MK_ERR_NOMEM, and for
 * write those of store_search_put.
 */
struct sindex_batch;
enum mk_code sindex_batch_new(struct sindex_batch **out);
enum mk_code sindex_batch_add(struct sindex_batch *b, struct json_object *user,
    uint32_t num);
/* The same with the user's term keys made already (sindex_user_keys'
 * output, borrowed): for callers that make them in other threads. */
enum mk_code sindex_batch_add_keys(struct sindex_batch *b, const struct mk_slice *keys,
    size_t n, uint32_t num);
enum mk_code sindex_batch_write(struct store_txn *t, struct sindex_batch *b,
    size_t *entries);
void sindex_batch_free(struct sindex_batch *b);

/*
 * Rebuild the whole index from the records and mark it complete, in
 * batches of write transactions (users in number order, each batch's
 * postings written sorted) (a live daemon may go on writing: its
 * writes keep their own users' entries right).  *users and *entries (may be
 * NULL) get the counts.  Errors: those of store_write, MK_ERR_NOMEM.
 */
enum mk_code sindex_rebuild(struct store *s, size_t *users, size_t *entries,
    struct mk_err *err);

/*
 * Compare the index with the records in one read transaction: missing
 * entries (named, the first few), stray entries (counted), user numbers
 * that do not name their user (named) or name none (counted), the
 * completeness mark.  fn(ctx, line) gets one line per problem (borrowed).
 * *problems gets their number (0: consistent).  Errors: MK_ERR_NOMEM,
 * MK_ERR_INTERNAL.
 */
typedef void (*sindex_report_fn)(void *ctx, const char *line);
enum mk_code sindex_check(struct store *s, sindex_report_fn fn, void *ctx,
    size_t *problems, struct mk_err *err);

#endif
