/*
 * store: the LMDB environment behind metakeep, as an opaque handle.
 *
 * It knows LMDB and the layout of records and indexes, nothing of JSON or
 * HTTP.  Records are opaque byte strings (the JSON text of the object).
 *
 * Tables (LMDB named databases):
 *   users          user_id -> user number (4 bytes) + user JSON; the number
 *                  is the store's (see "User numbers"), readers get the JSON
 *   users_email    email '\0' user_id -> connection   (unique per connection,
 *                  checked by the caller with store_user_email_taken)
 *   users_created  created_at packed, user_id's first 8 bytes, user number
 *                  -> "" (listing order; see "Order indexes")
 *   users_updated  updated_at packed, user number -> ""
 *   pwhash         user_id -> crypt(3) hash
 *   clients        client_id -> client JSON
 *   clients_created created_at '\0' client_id -> ""
 *   tokens         sha256 hex of the token -> token JSON
 *   terms          term key -> user numbers (sindex's postings: sorted
 *                  4-byte duplicates, MDB_DUPFIXED|MDB_INTEGERDUP)
 *   user_nums      user number (MDB_INTEGERKEY) -> user_id
 *   logs           event number (8 bytes big-endian) -> date, user_id, event
 *                  (see "Event log"; a store of an older build gets it when
 *                  opened read-write; read-only, it has no events)
 *   logs_user      user_id '\0' event number -> ""
 *   grants         grant id -> client grant JSON (grant.h)
 *   keys           key id -> token signing key JSON, with its private part
 *                  (keys.h); a read-only open of a store that no build with
 *                  these two tables opened read-write sees both empty
 *
 *   meta           "schema" -> "5"; a store with a newer schema is refused,
 *                  one with schema 1 (user_id strings in a "search" table,
 *                  no numbers), 2 (order index keys of time strings and
 *                  user_ids), 3 or 4 (order keys without the id prefix; 3:
 *                  users_email values always the connection name) is
 *                  upgraded when opened read-write (and refused read-only
 *                  until then); "conn0" -> the common connection (users_email);
 *                  "search" -> "2" when the terms table is complete;
 *                  "nextnum" -> the next user number (4 bytes)
 *
 * Index keys are the value, a NUL, then the id, so entries sort by value and
 * ties by id.  A user without an email is indexed under the empty email, so
 * a listing by email holds every user (those first, ascending).
 *
 * Order indexes (users_created, users_updated; schema 5): the key is the
 * time packed into 6 bytes (a "YYYY-MM-DDTHH:MM:SS.mmmZ" of a year up to
 * 4079; any other string is kept whole after a 0xff byte, and sorts after
 * every packed time), in users_created the first 8 bytes of the user_id
 * (NUL-padded), then the user's number (4 bytes, big-endian): 18 and 10
 * bytes instead of about 55, so the updated index, whose entries move to
 * its end on every write, stays small.  store_users_scan puts the users of
 * one time (and prefix) back in user_id order, reading such a run whole;
 * store_index_scan and store_index_get speak in time strings and user_ids
 * as for the other indexes.  users_email values are empty for the store's
 * common connection (meta "conn0"), one NUL for "", else the name.
 *
 * Concurrency: open one handle per process, after fork(), and use it from
 * one thread at a time (it is not locked).  All writes go
 * through store_write, which runs the caller's function inside one write
 * transaction: read, change and index updates commit together or not at all.
 * Reads use a read transaction; slices they return point into the map and
 * stay valid until that transaction ends.
 *
 * Keys: LMDB keys are at most 511 bytes.  A put whose key (or index key:
 * value + 1 + id) is longer, or whose id is empty, returns MK_ERR_INVALID
 * and changes nothing; a get/delete of such a key is MK_ERR_NOTFOUND.
 */
#ifndef MK_STORE_H
#define MK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

struct store;
struct store_txn;

struct store_opts {
	const char *dir;      /* environment directory; created if missing
	                         (0700, plus group/other access the mode grants) */
	size_t map_size;      /* bytes mapped at first; 0 = default (1 GiB) */
	size_t map_max;       /* bytes; the map grows by itself (doubling, before it
	                         is full) up to this.  0 = with map_size 0, as far
	                         as the filesystem has room (on 64-bit systems);
	                         with map_size set, never (map_size is the cap) */
	int relaxed_sync;     /* 1: MDB_NOSYNC|MDB_NOMETASYNC-style relaxed commits */
	mode_t mode;          /* file mode of data.mdb/lock.mdb; 0 = 0600 */
	int read_only;        /* 1: MDB_RDONLY (admin tools that only read) */
	int random_reads;     /* 1: MDB_NORDAHEAD: the map is read without
	                         readahead, a 4 KiB page at a time (metakeepd;
	                         pagecache.h says why) */
	int write_map;        /* 1, with relaxed_sync: MDB_WRITEMAP, commits
	                         change the map in place instead of write(2)ing
	                         each page; the map is then kept at the data plus
	                         a small room, every byte of it allocated on disk
	                         (store.c, "write_map stores").  No
	                         store_write_batch.  Ignored without relaxed_sync
	                         or with read_only.  metakeepd's pool only:
	                         metakeepctl clears it (ctl.c, ctl_open) */
};

/*
 * Open (creating if needed) the environment in o->dir, create the tables,
 * and clear stale reader slots (mdb_reader_check).  On success *out is an
 * owned handle for store_close.  Errors: MK_ERR_INTERNAL with err->msg
 * naming the path and LMDB's reason.
 */
enum mk_code store_open(const struct store_opts *o, struct store **out, struct mk_err *err);
/*
 * Close the environment.  A handle inherited over fork() is only freed: its
 * LMDB state belongs to the parent.  s may be NULL.
 */
void store_close(struct store *s);

/*
 * How commits reach the disk: *durable is 1 when every commit syncs before
 * it returns (the environment has neither MDB_NOSYNC nor MDB_NOMETASYNC,
 * nor MDB_WRITEMAP, whose writes bypass write(2)), 0 for relaxed_sync.
 * *flags (may be NULL) gets LMDB's environment flags, for tests.
 * Errors: MK_ERR_INTERNAL.
 */
enum mk_code store_sync_mode(struct store *s, int *durable, unsigned int *flags);

/*
 * Clear the reader slots of dead processes (store_open does it once); a
 * worker may call it after a sibling was killed.  *cleared (may be NULL)
 * gets the number cleared.  Errors: MK_ERR_INTERNAL.
 */
enum mk_code store_reader_check(struct store *s, int *cleared);

/*
 * Begin a read transaction; *out is owned by the caller until store_txn_end.
 * Each store keeps one read transaction and recycles it (mdb_txn_reset and
 * mdb_txn_renew), so the common case of one read at a time costs no setup.
 * A read begun while that one is out gets a transaction of its own (slower,
 * still correct).  Errors: MK_ERR_INTERNAL (logged), MK_ERR_NOMEM.
 * Not for a handle opened in another process (MK_ERR_INTERNAL).
 */
enum mk_code store_read_begin(struct store *s, struct store_txn **out);
/* End a read transaction; never call it on the t given to a store_write fn. */
void store_txn_end(struct store_txn *t);

/*
 * Run fn(t, ctx, err) in one write transaction and commit it when fn returns
 * MK_OK; abort it otherwise and return fn's code.  Handles MDB_MAP_RESIZED
 * (picks up the new size and retries).  Returns MK_ERR_FULL when the map is
 * full, MK_ERR_INTERNAL on other LMDB failures.  fn must not call store_write
 * (refused with MK_ERR_INTERNAL).  A change helper that hit MDB_MAP_FULL
 * returns MK_ERR_FULL, and store_write aborts and returns MK_ERR_FULL even if
 * fn passed up another code or MK_OK.  err->msg is set on failure when fn or
 * the store set one.  Read-only handles: MK_ERR_INTERNAL.
 */
typedef enum mk_code (*store_write_fn)(struct store_txn *t, void *ctx, struct mk_err *err);
enum mk_code store_write(struct store *s, store_write_fn fn, void *ctx, struct mk_err *err);
/*
 * store_write for an fn that may run more than once, each run starting
 * from ctx as given and overwriting, not adding to, what it hands back (as
 * gc may run a dead leader's writes again).  A write_map store whose write
 * outgrew its map then grows the map and runs fn again, where store_write
 * answers MK_ERR_FULL ("growing, try again") and grows it for the next.
 */
enum mk_code store_write_rerun(struct store *s, store_write_fn fn, void *ctx,
    struct mk_err *err);

/*
 * Group commit (gc): run several writes in one transaction and one commit.
 * Each item's fn runs in a nested transaction of its own: when it returns
 * MK_OK its changes are kept, otherwise they are dropped and the next item
 * goes on (items[i].code says which).  Then mark is written to the store
 * (see store_batch_mark) and the whole commits once, synced as any commit.
 * Returns MK_OK when the batch committed (each write's own code in
 * items[i].code); otherwise nothing of the batch is written, and every
 * items[i].code and *items[i].err get the commit's failure (MK_ERR_FULL,
 * MK_ERR_INTERNAL), which is also returned.  fn as in store_write.  A
 * write_map store has no nested transactions (LMDB refuses them with
 * MDB_WRITEMAP): MK_ERR_INTERNAL, nothing written.
 */
struct store_batch_item {
	store_write_fn fn;
	void *ctx;
	struct mk_err *err;    /* fn's; set on failure */
	enum mk_code code;     /* out */
	/* Called (may be NULL) once the item's code is known, before the
	 * batch commits: the code holds if the batch commits. */
	void (*done)(struct store_batch_item *it);
};
enum mk_code store_write_batch(struct store *s, struct store_batch_item *items, size_t n,
    uint64_t mark, struct mk_err *err);
/*
 * The mark of the last batch committed (0 when none ever was): tells the
 * leader that settles a dead leader's batch whether it committed.  Read
 * in a write transaction (it waits for LMDB's writer lock), so that a
 * commit a dead process completed in the file counts even when LMDB's
 * shared state was not yet brought up to it (a read would miss it).
 * Outside any transaction of s.  Errors: MK_ERR_INTERNAL.
 */
enum mk_code store_batch_mark(struct store *s, uint64_t *mark);
/*
 * Grow the map ahead of a write of about bytes (a bulk import's one
 * transaction), as far as map_max allows; outside any transaction of s.
 * A map that cannot grow is left as it is (the write then fails with
 * MK_ERR_FULL as any write that does not fit).
 */
void store_reserve(struct store *s, size_t bytes);
/* Flush the environment to disk (mdb_env_sync, forced).  MK_ERR_INTERNAL. */
enum mk_code store_sync(struct store *s);

enum store_table {
	ST_USERS,
	ST_CLIENTS,
	ST_TOKENS,
	ST_PWHASH,
	ST_SESSIONS,   /* the admin page's sign-ins (admin_session.c): no index */
	ST_GRANTS,    /* grant id -> client grant JSON (grant.h) */
	ST_KEYS,      /* key id -> signing key JSON, private part included (keys.h) */
};

/*
 * Look key up in table; on success *rec points into the map (valid until the
 * transaction ends).  Errors: MK_ERR_NOTFOUND, MK_ERR_INTERNAL.
 */
enum mk_code store_get(struct store_txn *t, enum store_table table,
    struct mk_slice key, struct mk_slice *rec);

/*
 * Plain put/delete for ST_TOKENS, ST_PWHASH, ST_SESSIONS, ST_GRANTS and
 * ST_KEYS (tables without indexes);
 * other tables, or a read transaction: MK_ERR_INTERNAL.  Put errors:
 * MK_ERR_FULL, MK_ERR_INVALID (key size), MK_ERR_INTERNAL.
 */
enum mk_code store_put(struct store_txn *t, enum store_table table,
    struct mk_slice key, struct mk_slice rec);
/* Delete; MK_ERR_NOTFOUND when absent. */
enum mk_code store_del(struct store_txn *t, enum store_table table, struct mk_slice key);

/* The indexed attributes of a user (NUL-terminated strings). */
struct store_user_keys {
	const char *user_id;
	const char *email;       /* lower-case; may be NULL */
	const char *connection;
	const char *created_at;
	const char *updated_at;
};

/*
 * Write a user and keep every index in step.  old: the keys of the stored
 * version (NULL on create); new: the keys of rec.  On create, MK_ERR_EXISTS
 * when the user_id is taken.  old->user_id must equal new->user_id.
 * user_id, connection, created_at and updated_at must not be NULL
 * (MK_ERR_INVALID).
 */
enum mk_code store_user_put(struct store_txn *t, const struct store_user_keys *old,
    const struct store_user_keys *new, struct mk_slice rec);
/* Delete a user, its index entries and its password hash (absent is fine).
 * MK_ERR_NOTFOUND when there is no such user. */
enum mk_code store_user_del(struct store_txn *t, const struct store_user_keys *old);

/*
 * Is email taken in connection by a user other than except_id (may be NULL)?
 * Returns MK_OK and sets *taken to 0 or 1.  Works in read and write
 * transactions; the empty email is never taken.
 */
enum mk_code store_user_email_taken(struct store_txn *t, const char *email,
    const char *connection, const char *except_id, int *taken);

/* Write / delete a client and its order index entry (created_at must not
 * change between puts of one client).  Delete: MK_ERR_NOTFOUND when absent. */
enum mk_code store_client_put(struct store_txn *t, const char *client_id,
    const char *created_at, struct mk_slice rec);
enum mk_code store_client_del(struct store_txn *t, const char *client_id,
    const char *created_at);

/*
 * Visit records: fn gets each key and record (borrowed, valid until the
 * transaction ends) and returns 0 to go on, non-zero to stop.
 */
typedef int (*store_visit_fn)(void *ctx, struct mk_slice key, struct mk_slice rec);

enum store_order {
	STORE_BY_CREATED,
	STORE_BY_UPDATED,
	STORE_BY_EMAIL,
	STORE_BY_ID,
};

/*
 * One page of an ordered walk, as a plain value: the order (ties by
 * user_id), desc to reverse the whole order, the number of entries to pass
 * over first, and the most to visit (0 = no limit).
 */
struct store_page {
	enum store_order order;
	int desc;
	size_t skip;
	size_t limit;
};

/* Every user, in user_id order: the page of whole-store walks. */
extern const struct store_page store_page_all;

/*
 * The users of page pg (borrowed).  fn gets key = user_id and the user
 * record.  skip walks the index: O(skip).
 */
enum mk_code store_users_scan(struct store_txn *t, const struct store_page *pg,
    store_visit_fn fn, void *ctx);
/* Users whose email is exactly email (lower-case), in user_id order. */
enum mk_code store_users_by_email(struct store_txn *t, const char *email,
    store_visit_fn fn, void *ctx);
/* Every record of table, in key order, except ST_CLIENTS which goes by created_at, then id. */
enum mk_code store_scan(struct store_txn *t, enum store_table table,
    store_visit_fn fn, void *ctx);
/* Number of records in a table. */
enum mk_code store_count(struct store_txn *t, enum store_table table, size_t *n);

/*
 * ---- Administration (metakeepctl check, backup, stats) ----
 *
 * Additive: raw access to the index tables, so a checker can compare them
 * with the records and rebuild them, and environment-level copy and
 * statistics.  The store still knows nothing of JSON: the caller derives
 * the indexed attributes from the records (model_user_keys).
 */
enum store_index {
	STORE_IX_USERS_EMAIL,     /* email '\0' user_id -> connection */
	STORE_IX_USERS_CREATED,   /* created_at, user number -> "" (store.h top) */
	STORE_IX_USERS_UPDATED,   /* updated_at, user number -> "" */
	STORE_IX_CLIENTS_CREATED, /* created_at '\0' client_id -> "" */
};
#define STORE_IX__COUNT 4

/* The table name of an index ("users_email"), or "?" for a bad value. */
const char *store_index_name(enum store_index ix);

/*
 * Visit every entry of an index in key order: fn gets the value part (up to
 * the first NUL), the id part (after it) and the entry's stored value, all
 * borrowed until the transaction ends, and returns 0 to go on.  A key
 * without a NUL, or with an empty id, is passed whole as value with an
 * empty id, so a checker sees it.  Of an order index, value is the time
 * string (valid during the call only) and id the user_id of the key's
 * number, empty when no user has that number.  Errors: MK_ERR_INTERNAL.
 */
typedef int (*store_index_fn)(void *ctx, struct mk_slice value, struct mk_slice id,
    struct mk_slice val);
enum mk_code store_index_scan(struct store_txn *t, enum store_index ix,
    store_index_fn fn, void *ctx);

/*
 * Look up the entry "value '\0' id" of an index (of an order index: value
 * and the number of user id); on success *val points at its stored value
 * (valid until the transaction ends).  Errors: MK_ERR_NOTFOUND (also for a
 * key too long to be stored, or a user with no number), MK_ERR_INTERNAL.
 */
enum mk_code store_index_get(struct store_txn *t, enum store_index ix,
    const char *value, const char *id, struct mk_slice *val);

/*
 * Every record of a table in key (id) order, without going through an
 * index (store_scan walks clients by their order index, and would miss a
 * client whose entry is lost).  Works in read and write transactions.
 */
enum mk_code store_table_scan(struct store_txn *t, enum store_table table,
    store_visit_fn fn, void *ctx);

/* Number of entries in an index.  Errors: MK_ERR_INTERNAL. */
enum mk_code store_index_count(struct store_txn *t, enum store_index ix, size_t *n);

/*
 * Remove every entry of an index (inside store_write; the table stays).
 * Errors: MK_ERR_INTERNAL (also outside a write transaction).
 */
enum mk_code store_index_clear(struct store_txn *t, enum store_index ix);

/*
 * Write the index entries of a user (all three) or a client, leaving the
 * records alone: for rebuilding indexes after store_index_clear.  An entry
 * already there is overwritten.  Errors as store_user_put (MK_ERR_INVALID
 * for missing attributes or keys too long, and for a user with no record
 * or no number: the order indexes name users by number), MK_ERR_FULL,
 * MK_ERR_INTERNAL.
 */
enum mk_code store_user_index(struct store_txn *t, const struct store_user_keys *k);
enum mk_code store_client_index(struct store_txn *t, const char *client_id,
    const char *created_at);

/*
 * Copy the environment into directory dir (created 0700 if missing; it must
 * not hold a data.mdb already) as one consistent snapshot, taken in a read
 * transaction, so writers go on meanwhile.  compact: MDB_CP_COMPACT (skip
 * free pages, renumber).  The copy is a complete environment: open it with
 * store_open, or put its data.mdb in place of another's.  Errors:
 * MK_ERR_EXISTS (dir/data.mdb exists), MK_ERR_INTERNAL with err->msg.
 */
enum mk_code store_copy(struct store *s, const char *dir, int compact, struct mk_err *err);

/*
 * Rewrite the environment in dir into a compact copy and put it in place of
 * data.mdb: every table copied in key order with appends, so its pages are
 * full and LMDB's free pages are gone (after a bulk import the file holds
 * half-empty pages and the free pages of the churn).  Only when no process
 * has the environment open (close the caller's handle first): otherwise
 * MK_ERR_EXISTS and nothing changes.  A process that opens the store
 * meanwhile waits; one that was already waiting then fails to open once
 * (the lock file is emptied) instead of reading a stale one.  A crash
 * leaves the old file (and a compact.tmp directory, removed next time).
 * *before and *after (may be NULL) get the file's sizes.  Errors:
 * MK_ERR_EXISTS, MK_ERR_FULL (no room for the copy), MK_ERR_INTERNAL.
 */
enum mk_code store_compact(const char *dir, size_t *before, size_t *after,
    struct mk_err *err);

struct store_table_stats {
	const char *name;       /* static: "users", "users_email", ... */
	size_t entries;
	unsigned int depth;     /* B-tree depth */
	size_t pages;           /* branch + leaf + overflow pages */
	size_t overflow_pages;
};

#define STORE_STATS_TABLES 24

struct store_stats {
	size_t page_size;
	size_t map_size;        /* bytes mapped (the limit of the data file) */
	size_t map_used;        /* bytes up to the last used page */
	size_t map_limit;       /* the most the data may grow to, as configured;
	                           0: as far as its filesystem has room */
	const char *limit_key;  /* static: "map_max" or "map_size", the setting
	                           that sets map_limit; NULL when it is 0 */
	size_t disk_avail;      /* bytes free on the filesystem (0: unknown) */
	size_t last_txnid;      /* id of the last committed write transaction */
	unsigned int max_readers;
	unsigned int reader_slots; /* slots held by live processes */
	unsigned int readers_active; /* of those, inside a read transaction now
	                                (this call's own one not counted) */
	size_t free_pages;      /* pages on LMDB's free list, for reuse */
	size_t ntables;
	struct store_table_stats tables[STORE_STATS_TABLES];
};

/*
 * Statistics of the environment and of every table, from one read
 * transaction.  On success *st is filled.  Errors: MK_ERR_INTERNAL.
 */
enum mk_code store_stat(struct store *s, struct store_stats *st, struct mk_err *err);

/*
 * ---- User numbers (used by sindex) ----
 *
 * Every user gets a number when created (store_user_put), from a counter
 * that only grows, so a number is never given twice; it stays with the user
 * until deleted.  The search index holds numbers instead of user_id
 * strings: 4 bytes per posting, sorted and packed by LMDB.
 */
typedef int (*store_num_fn)(void *ctx, uint32_t num, struct mk_slice user_id);
/* The number of user id.  Errors: MK_ERR_NOTFOUND, MK_ERR_INTERNAL. */
enum mk_code store_user_num(struct store_txn *t, struct mk_slice id, uint32_t *num);
/* The user_id of number num (borrowed until t ends).  Errors: MK_ERR_NOTFOUND,
 * MK_ERR_INTERNAL. */
enum mk_code store_user_id(struct store_txn *t, uint32_t num, struct mk_slice *id);
/* Every (number, user_id) from number from on, ascending; fn returns 0 to go on. */
enum mk_code store_user_nums_scan(struct store_txn *t, uint32_t from, store_num_fn fn,
    void *ctx);
/*
 * Inside store_write: give every user whose number does not name it in
 * user_nums a new number, and remove user_nums entries whose user is gone
 * or carries another number.  *fixed (may be NULL) gets how many were
 * changed.  The search postings of renumbered users are then wrong:
 * sindex_rebuild calls this before rebuilding.  Errors: MK_ERR_FULL,
 * MK_ERR_NOMEM, MK_ERR_INTERNAL.
 */
enum mk_code store_user_nums_repair(struct store_txn *t, size_t *fixed);
/* Every number given so far is below *limit. */
enum mk_code store_user_num_limit(struct store_txn *t, uint32_t *limit);

/*
 * ---- Bulk load of new users (metakeepctl import into an empty store) ----
 *
 * A user to write: its indexed attributes, its JSON text and its password
 * hash (NULL: none), all borrowed.
 */
struct store_user_new {
	struct store_user_keys k;
	struct mk_slice rec;
	const char *pwhash;
};
/* 1 when every key of k can be stored (store_user_put would not refuse it
 * with MK_ERR_INVALID), 0 otherwise.  Pure; any thread. */
int store_user_keys_fit(const struct store *s, const struct store_user_keys *k);
/*
 * Inside store_write, on a store without users whose next user number is
 * first: write the users v[0..n-1] with the numbers first, first + 1, ...
 * (in the order of v), their index entries, numbers and password hashes.
 * Each table is written in its key order with appends, so its pages come
 * out full (no compaction needed).  The caller guarantees distinct
 * user_ids and distinct (email, connection) pairs; keys that do not fit
 * (store_user_keys_fit) are MK_ERR_INVALID, a user_id twice
 * MK_ERR_INTERNAL.  A store that has a user, or another next number:
 * MK_ERR_BUSY, nothing written.  The search postings are the caller's
 * (sindex_batch).  Errors: MK_ERR_FULL, MK_ERR_NOMEM, MK_ERR_INTERNAL.
 */
enum mk_code store_users_bulk(struct store_txn *t, const struct store_user_new *v,
    size_t n, uint32_t first);

/*
 * ---- Search index (used by sindex) ----
 *
 * Additive: a term key maps to the numbers of the users that have the term,
 * one 4-byte duplicate per (term, user), ascending under each key.  Keys
 * are opaque bytes made by sindex (1 to STORE_SEARCH_KEYMAX bytes).  The
 * caller keeps it in step with the records inside the same store_write, so
 * a search sees every committed write.
 *
 * Two tables hold it, split by user number at meta "termfloor": "terms"
 * the users below the floor, "terms_new" those at or above it (the users
 * created since the last move).  A new user's entries thus go to a table
 * of a few pages instead of to the ends of long posting lists (a page or
 * two each); when the users above the floor reach store_search_new_max,
 * terms_new moves into terms (an append per key) and the floor rises above
 * every number given.  Readers see one index: a key's numbers are terms',
 * then terms_new's.
 */
#define STORE_SEARCH_KEYMAX 480
/* Users above the floor that move terms_new into terms (0: at once). */
extern size_t store_search_new_max;

/* Add (key, num); an entry already there is fine.  Errors: MK_ERR_INVALID
 * (key size), MK_ERR_FULL, MK_ERR_INTERNAL (also outside a write). */
enum mk_code store_search_put(struct store_txn *t, struct mk_slice key, uint32_t num);

/*
 * store_search_put of keys[0..n-1], sorted by key (byte order, shorter
 * first), for user num: one cursor for all.  Errors as store_search_put.
 */
enum mk_code store_search_put_keys(struct store_txn *t, const struct mk_slice *keys,
    size_t n, uint32_t num);

/* The postings of one key in a bulk write: nums[0..n-1], ascending. */
struct store_posting {
	struct mk_slice key;
	const uint32_t *nums;
	size_t n;
};
/*
 * Add the postings of keys v[0..n-1], sorted by key (byte order, shorter
 * first), each key once, with one cursor: a key's numbers above every one
 * stored under it (new users) are appended in one call (MDB_MULTIPLE with
 * MDB_APPENDDUP), others are inserted one by one.  Errors as
 * store_search_put; nothing is checked against the records.
 */
enum mk_code store_search_put_sorted(struct store_txn *t, const struct store_posting *v,
    size_t n);
/* Remove (key, num); absent is fine (MK_OK).  Errors: MK_ERR_INTERNAL. */
enum mk_code store_search_del(struct store_txn *t, struct mk_slice key, uint32_t num);

/*
 * fn gets a key (borrowed until the transaction ends) and n of its numbers,
 * ascending, as native-endian uint32 at nums, which may be unaligned (copy
 * them with memcpy); 0 goes on.
 */
typedef int (*store_search_fn)(void *ctx, struct mk_slice key, const void *nums, size_t n);
/* The numbers under key, ascending, in blocks.  Errors: MK_ERR_INTERNAL. */
enum mk_code store_search_get(struct store_txn *t, struct mk_slice key,
    store_search_fn fn, void *ctx);
/* Number of users under key (0 when none), without reading them. */
enum mk_code store_search_count(struct store_txn *t, struct mk_slice key, size_t *n);
/* Is (key, num) there?  *has gets 0 or 1. */
enum mk_code store_search_has(struct store_txn *t, struct mk_slice key, uint32_t num,
    int *has);
/* Every entry, by key then number, in blocks. */
enum mk_code store_search_scan(struct store_txn *t, store_search_fn fn, void *ctx);
/* Number of entries of the whole index. */
enum mk_code store_search_entries(struct store_txn *t, size_t *n);
/*
 * Keys with a number on the wrong side of the floor: in terms at or above
 * it, in terms_new below it (a search would see them out of order).
 */
enum mk_code store_search_misplaced(struct store_txn *t, size_t *n);
/* Remove every entry and the "complete" mark (inside store_write). */
enum mk_code store_search_clear(struct store_txn *t);
/*
 * The "complete" mark: set when the index holds every user's terms (a store
 * created by this build, or after a rebuild); a search on a store without
 * it must scan the records.  Errors: MK_ERR_INTERNAL; set: also
 * MK_ERR_FULL, and it needs a write transaction.
 */
enum mk_code store_search_ready(struct store_txn *t, int *ready);
enum mk_code store_search_set_ready(struct store_txn *t, int ready);


/*
 * ---- Event log (used by logev) ----
 *
 * Events are opaque bytes under a number the store gives (store_log_next,
 * counted in the write transaction: unique, and growing in commit order),
 * with the date and the user they are about, so that the store can find a
 * user's events and drop the oldest without reading them.
 */
/* The next event number, taken in write transaction t.  MK_ERR_FULL, MK_ERR_INTERNAL. */
enum mk_code store_log_next(struct store_txn *t, uint64_t *seq);
/*
 * Write event ev (bytes) under seq, which must be above every number
 * stored (store_log_next's), about user_id (NULL or "": none; indexed when
 * it fits a key).  Errors: MK_ERR_FULL, MK_ERR_NOMEM, MK_ERR_INTERNAL.
 */
enum mk_code store_log_put(struct store_txn *t, uint64_t seq, int64_t date_ms,
    const char *user_id, struct mk_slice ev);
/* The event seq (borrowed until t ends).  MK_ERR_NOTFOUND, MK_ERR_INTERNAL. */
enum mk_code store_log_get(struct store_txn *t, uint64_t seq, struct mk_slice *ev);
/* fn gets each event (borrowed until t ends) and returns non-zero to stop. */
typedef int (*store_log_fn)(void *ctx, uint64_t seq, struct mk_slice ev);
/*
 * The events a scan visits: those after from (numbers above it),
 * ascending; desc: those before from (below it), descending (from
 * UINT64_MAX: from the newest).  user_id: only the events about that user
 * (borrowed; "" has none); NULL: every event.
 */
struct store_log_range {
	uint64_t from;
	int desc;
	const char *user_id;
};
/* The events of r, each to fn.  Errors: MK_ERR_INTERNAL. */
enum mk_code store_log_scan(struct store_txn *t, const struct store_log_range *r,
    store_log_fn fn, void *ctx);
/* How many events are stored. */
enum mk_code store_log_count(struct store_txn *t, size_t *n);
/* The oldest event's number and date.  MK_ERR_NOTFOUND when there is none. */
enum mk_code store_log_oldest(struct store_txn *t, uint64_t *seq, int64_t *date_ms);
/*
 * Inside store_write: drop the oldest events while there are more than
 * keep or the oldest is dated before before_ms, at most max of them.
 * *deleted (may be NULL) gets how many went.  MK_ERR_FULL, MK_ERR_INTERNAL.
 */
enum mk_code store_log_prune(struct store_txn *t, int64_t before_ms, size_t keep,
    size_t max, size_t *deleted);

#endif
