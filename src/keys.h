/*
 * keys: the RSA key pairs that sign access tokens (oauth.c), kept in the
 * store's "keys" table, one record per key:
 *   {"kid":"<24 alnum>","created":<ms>,"retired":<ms, 0 while active>,
 *    "pem":"-----BEGIN PRIVATE KEY-----..."}
 * Exactly one key is active (retired 0) and signs; retired keys go on
 * verifying the tokens they signed until those expire, then a rotation
 * removes them.  The first key is made by the first token request
 * (oauth_issue) or by metakeepctl key rotate, not at every worker's start:
 * an RSA key takes a worker tens of milliseconds (minutes under valgrind)
 * and the workers of a pool would all race to make one.  The private part lives only in this table: the store's
 * files are 0600 (0660 with a group), export never writes the table and
 * backup leaves it out unless asked (metakeepctl(1)).
 *
 * Parsed keys are cached per process (KEYS_CACHE slots), each used only
 * while its stored record is byte for byte the one it was parsed from.
 */
#ifndef MK_KEYS_H
#define MK_KEYS_H

#include <stdint.h>

#include <openssl/types.h>

#include "buf.h"
#include "err.h"
#include "store.h"

#define KEYS_KID_LEN 24

/*
 * Make sure an active key exists: when none does, generate one (outside
 * the write transaction: a second of CPU at most) and store it unless
 * another process stored one meanwhile.  *made (may be NULL) gets 1 when
 * this call stored a key.  Errors: MK_ERR_INTERNAL (no randomness, OpenSSL),
 * those of store_write.
 */
enum mk_code keys_ensure(struct store *s, int *made, struct mk_err *err);

/*
 * Rotate: a new key becomes the active one; the active key is retired now;
 * keys retired keep_ms or more ago (the tokens they signed have expired)
 * are removed.  kid_out (KEYS_KID_LEN + 1 bytes, may be NULL) gets the new
 * key's id, *removed (may be NULL) how many were removed.  Errors as
 * keys_ensure.
 */
enum mk_code keys_rotate(struct store *s, int64_t keep_ms, char *kid_out, size_t *removed,
    struct mk_err *err);

/*
 * The active key in read transaction t: *k (borrowed from the cache, valid
 * until the next keys_ call of this process) and its id in kid
 * (KEYS_KID_LEN + 1 bytes).  Errors: MK_ERR_NOTFOUND (no active key),
 * MK_ERR_INTERNAL (a damaged record, logged).
 */
enum mk_code keys_active(struct store_txn *t, EVP_PKEY **k, char *kid);

/* The key named kid (active or retired), as keys_active.  MK_ERR_NOTFOUND. */
enum mk_code keys_find(struct store_txn *t, const char *kid, EVP_PKEY **k);

/*
 * Append the JSON Web Key Set of every stored key's public half,
 * {"keys":[...]}, active key first, to out.  Errors: MK_ERR_NOMEM,
 * MK_ERR_INTERNAL.
 */
enum mk_code keys_jwks(struct store_txn *t, struct mk_buf *out);

/*
 * Delete every key (metakeepctl backup, in its copy, unless asked to keep
 * them).  *n (may be NULL) gets how many.  Errors: those of store_write.
 */
enum mk_code keys_clear(struct store *s, size_t *n, struct mk_err *err);

/* One key as metakeepctl key list shows it. */
struct keys_info {
	char kid[KEYS_KID_LEN + 1];
	int64_t created_ms;
	int64_t retired_ms;   /* 0: the active key */
};
typedef int (*keys_visit_fn)(void *ctx, const struct keys_info *ki);
/* Visit every key (kid order); fn returns 0 to go on.  MK_ERR_INTERNAL. */
enum mk_code keys_list(struct store_txn *t, keys_visit_fn fn, void *ctx);

#endif
