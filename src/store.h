/*
 * store: the LMDB environment behind metakeep, as an opaque handle.
 *
 * It knows LMDB and the layout of records and indexes, nothing of JSON or
 * HTTP.  Records are opaque byte strings (the JSON text of the object).
 *
 * Tables (LMDB named databases):
 *   users          user_id -> user JSON
 *   users_email    email '\0' user_id -> connection   (unique per connection,
 *                  checked by the caller with store_user_email_taken)
 *   users_created  created_at '\0' user_id -> ""      (listing order)
 *   users_updated  updated_at '\0' user_id -> ""
 *   pwhash         user_id -> crypt(3) hash
 *   clients        client_id -> client JSON
 *   clients_created created_at '\0' client_id -> ""
 *   tokens         sha256 hex of the token -> token JSON
 *
 * Concurrency: open one handle per process, after fork().  All writes go
 * through store_write, which runs the caller's function inside one write
 * transaction: read, change and index updates commit together or not at all.
 * Reads use a read transaction; slices they return point into the map and
 * stay valid until that transaction ends.
 */
#ifndef MK_STORE_H
#define MK_STORE_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

struct store;
struct store_txn;

struct store_opts {
	const char *dir;      /* environment directory; created if missing */
	size_t map_size;      /* bytes; 0 = default (1 GiB) */
	int relaxed_sync;     /* 1: MDB_NOSYNC|MDB_NOMETASYNC-style relaxed commits */
	mode_t mode;          /* file mode of data.mdb/lock.mdb; 0 = 0600 */
	int read_only;        /* 1: MDB_RDONLY (admin tools that only read) */
};

/*
 * Open (creating if needed) the environment in o->dir, create the tables,
 * and clear stale reader slots (mdb_reader_check).  On success *out is an
 * owned handle for store_close.  Errors: MK_ERR_INTERNAL with err->msg
 * naming the path and LMDB's reason.
 */
enum mk_code store_open(const struct store_opts *o, struct store **out, struct mk_err *err);
void store_close(struct store *s);

/* Begin a read transaction; *out is ended with store_txn_end. */
enum mk_code store_read_begin(struct store *s, struct store_txn **out);
void store_txn_end(struct store_txn *t);

/*
 * Run fn(t, ctx, err) in one write transaction and commit it when fn returns
 * MK_OK; abort it otherwise and return fn's code.  Handles MDB_MAP_RESIZED
 * (picks up the new size and retries).  Returns MK_ERR_FULL when the map is
 * full, MK_ERR_INTERNAL on other LMDB failures.  fn must not call store_write.
 */
typedef enum mk_code (*store_write_fn)(struct store_txn *t, void *ctx, struct mk_err *err);
enum mk_code store_write(struct store *s, store_write_fn fn, void *ctx, struct mk_err *err);

enum store_table {
	ST_USERS,
	ST_CLIENTS,
	ST_TOKENS,
	ST_PWHASH,
};

/*
 * Look key up in table; on success *rec points into the map (valid until the
 * transaction ends).  Errors: MK_ERR_NOTFOUND, MK_ERR_INTERNAL.
 */
enum mk_code store_get(struct store_txn *t, enum store_table table,
    struct mk_slice key, struct mk_slice *rec);

/* Plain put/delete for ST_TOKENS and ST_PWHASH (tables without indexes). */
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
 * when the user_id is taken.
 */
enum mk_code store_user_put(struct store_txn *t, const struct store_user_keys *old,
    const struct store_user_keys *new, struct mk_slice rec);
/* Delete a user, its index entries and its password hash. */
enum mk_code store_user_del(struct store_txn *t, const struct store_user_keys *old);

/*
 * Is email taken in connection by a user other than except_id (may be NULL)?
 * Returns MK_OK and sets *taken to 0 or 1.
 */
enum mk_code store_user_email_taken(struct store_txn *t, const char *email,
    const char *connection, const char *except_id, int *taken);

/* Write / delete a client and its order index entry. */
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
 * Users in the given order (ties by user_id; desc reverses the whole order),
 * skipping the first skip, visiting at most limit (0 = no limit).
 */
enum mk_code store_users_scan(struct store_txn *t, enum store_order order, int desc,
    size_t skip, size_t limit, store_visit_fn fn, void *ctx);
/* Users whose email is exactly email (lower-case), in user_id order. */
enum mk_code store_users_by_email(struct store_txn *t, const char *email,
    store_visit_fn fn, void *ctx);
/* Every record of table, in key order, except ST_CLIENTS which goes by created_at, then id. */
enum mk_code store_scan(struct store_txn *t, enum store_table table,
    store_visit_fn fn, void *ctx);
/* Number of records in a table. */
enum mk_code store_count(struct store_txn *t, enum store_table table, size_t *n);

#endif
