/*
 * auth: bearer tokens and scopes (spec section 8).
 *
 * A token is "mk_" followed by 43 url-safe random characters (256 bits).
 * Only its SHA-256 (hex) is stored, as the key of ST_TOKENS; the record is
 *   {"id":"<first 16 hex of the hash>","scopes":["read:users",...],
 *    "sub":"auth0|...","exp":<ms since epoch>,"created_at":"<iso>"}
 * (sub and exp only when set).  Lookup is by hash, so comparing a presented
 * token never runs a byte-by-byte compare against a stored secret.
 */
#ifndef MK_AUTH_H
#define MK_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

enum auth_scope {
	SC_READ_USERS = 1u << 0,
	SC_CREATE_USERS = 1u << 1,
	SC_UPDATE_USERS = 1u << 2,
	SC_DELETE_USERS = 1u << 3,
	SC_UPDATE_USERS_APP_METADATA = 1u << 4,
	SC_READ_CURRENT_USER = 1u << 5,
	SC_UPDATE_CURRENT_USER_METADATA = 1u << 6,
	SC_READ_CLIENTS = 1u << 7,
	SC_READ_CLIENT_KEYS = 1u << 8,
	SC_CREATE_CLIENTS = 1u << 9,
	SC_UPDATE_CLIENTS = 1u << 10,
	SC_UPDATE_CLIENT_KEYS = 1u << 11,
	SC_DELETE_CLIENTS = 1u << 12,
	SC_READ_CONNECTIONS = 1u << 13,
	SC_READ_LOGS = 1u << 14,
	SC_READ_LOGS_USERS = 1u << 15,
	SC_READ_CLIENT_GRANTS = 1u << 16,
	SC_CREATE_CLIENT_GRANTS = 1u << 17,
	SC_UPDATE_CLIENT_GRANTS = 1u << 18,
	SC_DELETE_CLIENT_GRANTS = 1u << 19,
};
#define SC_ALL ((1u << 20) - 1)

#define AUTH_TOKEN_LEN 46   /* "mk_" + 43 */
#define AUTH_ID_LEN 16
#define AUTH_SUB_MAX 512
#define AUTH_HASH_LEN 64  /* hex SHA-256 of a token: its key in ST_TOKENS */
#define AUTH_CLIENT_MAX 256

/*
 * The verified caller of a request: an opaque "mk_" token (id set,
 * client_id "") or an access token from /oauth/token (oauth.h: client_id
 * is its azp, id "").  api_ctx.h's tok is this, filled before any handler
 * runs.
 */
struct auth_token {
	uint32_t scopes;
	char id[AUTH_ID_LEN + 1];
	char sub[AUTH_SUB_MAX];  /* "" when the token is not bound to a user */
	char client_id[AUTH_CLIENT_MAX]; /* JWT: the client it was issued to */
	int64_t exp_ms;          /* 0 = never */
};

/* The Auth0 name of one scope bit ("read:users"), or NULL. */
const char *auth_scope_name(uint32_t bit);
/* The bit of the scope named p[0..n-1], or 0 when unknown. */
uint32_t auth_scope_bit(const char *p, size_t n);

/*
 * Parse a space- or comma-separated list of scope names into bits.
 * Returns MK_OK, or MK_ERR_INVALID naming the first unknown scope.
 */
enum mk_code auth_scopes_parse(const char *list, uint32_t *out, struct mk_err *err);

/*
 * Write the scope names of mask, separated by sep, into out (NUL-terminated,
 * truncated to outlen).
 */
void auth_scopes_format(uint32_t mask, const char *sep, char *out, size_t outlen);

/*
 * What a bearer credential is checked against: the time (ms since the
 * epoch), and for a JWT the issuer and audience it must name (both NULL:
 * JWTs are refused).
 */
struct auth_expect {
	const char *issuer;
	const char *audience;
	int64_t now_ms;
};

/*
 * Check an Authorization header value (may be NULL) inside a read
 * transaction.  MK_ERR_UNAUTH with "Missing authentication" when there is no
 * "Bearer " credential, "Invalid token" when it is unknown, revoked or
 * expired at want->now_ms.  A credential that is a JWT (three dot-separated
 * parts) is checked by oauth_verify against want's issuer and audience.  On
 * success *out describes the token.
 */
enum mk_code auth_check(struct store_txn *t, const char *authorization,
    const struct auth_expect *want, struct auth_token *out, struct mk_err *err);

/*
 * The key a token is stored under (hex SHA-256 of token, NUL-terminated).
 * For a holder of the token that keeps the key instead (the admin page's
 * session, which never stores the secret).
 */
void auth_hash(const char *token, char out[AUTH_HASH_LEN + 1]);

/*
 * auth_check for a token known by its key (auth_hash): the same answers,
 * MK_ERR_UNAUTH "Invalid token" when it is unknown, revoked or expired.
 */
enum mk_code auth_check_hash(struct store_txn *t, const char *hash, int64_t now_ms,
    struct auth_token *out, struct mk_err *err);

/*
 * What a token grants, as a value: scopes (SC_*, at least one), the subject
 * it acts for (NULL: none; borrowed), and its expiry in ms since the epoch
 * (0: none).
 */
struct auth_grant {
	uint32_t scopes;
	const char *sub;
	int64_t exp_ms;
};

/*
 * Issue a token for grant g (borrowed): random secret, store its hash and
 * record.  On success token_out (AUTH_TOKEN_LEN + 1 bytes) holds the token,
 * shown to the operator once, and id_out (AUTH_ID_LEN + 1) its id.  Errors:
 * MK_ERR_INVALID (no or unknown scopes, bad subject or expiry; err->msg
 * says which), those of store_write.
 */
enum mk_code auth_token_create(struct store *s, const struct auth_grant *g,
    char *token_out, char *id_out, struct mk_err *err);

/*
 * Revoke the token whose id is id (or starts with id, when unique).  On
 * success full_id (AUTH_ID_LEN + 1 bytes; may be NULL) gets its whole id.
 * Errors: MK_ERR_NOTFOUND, MK_ERR_INVALID (malformed or ambiguous id).
 */
enum mk_code auth_token_revoke(struct store *s, const char *id, char *full_id,
    struct mk_err *err);

/*
 * Visit every token record (JSON text as stored) in a read transaction.
 * fn gets the key (the token's hash) and the record, both borrowed until fn
 * returns.  Returns MK_OK, or the store's error.
 */
enum mk_code auth_token_list(struct store *s, store_visit_fn fn, void *ctx);

/*
 * Parse a stored token record, as passed to an auth_token_list visitor, into
 * *out; created (MK_ISO_LEN + 1 bytes, may be NULL) gets created_at ("" when
 * absent).  Unknown scope names are ignored.  Returns MK_OK, or
 * MK_ERR_INVALID when the record is malformed.  Nothing is written on error.
 * (Additive: used by metakeepctl's "token list".)
 */
enum mk_code auth_record_parse(struct mk_slice rec, struct auth_token *out, char *created,
    struct mk_err *err);

#endif
