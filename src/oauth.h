/*
 * oauth: access tokens of the client-credentials grant (RFC 6749 4.4), as
 * Auth0 issues them for its Management API: a JWT signed RS256 with the
 * active key (keys.h), claims iss, sub ("{client_id}@clients"), aud, iat,
 * exp, scope, gty ("client-credentials") and azp; the header names the
 * key (kid).  The scopes are those of the client's grant for the audience
 * (grant.h), or the requested subset.
 *
 * A token is accepted (oauth_verify) while: its signature is an RS256 one
 * of a stored key (alg pinned), exp is in the future, iss and aud are this
 * service's, and the grant it came from still exists; its scopes are those
 * it carries and the grant still has.  So deleting a client (its grants go
 * with it) or a grant stops the tokens already issued at once, and a grant
 * whose scopes shrink narrows them; Auth0 lets such tokens run to expiry.
 * Verified tokens are cached per process (OAUTH_CACHE slots): a cached one
 * still gets its exp, iss, aud and grant checked on every request.
 *
 * No HTTP here: api_oauth.c turns the outcomes into Auth0's error bodies.
 */
#ifndef MK_OAUTH_H
#define MK_OAUTH_H

#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "store.h"

#define OAUTH_TTL_S 86400        /* Auth0's lifetime of Management API tokens */
#define OAUTH_SECRET_MAX 512
#define OAUTH_SCOPE_MAX 2048     /* bytes of a requested scope list */

/* What a client asks for (all borrowed, NUL-terminated). */
struct oauth_req {
	const char *client_id;
	const char *client_secret;
	const char *audience;       /* checked by the caller: this service's */
	const char *scope;          /* NULL or "": every granted scope */
	const char *issuer;
	int64_t now_ms;
};

enum oauth_outcome {
	OAUTH_ISSUED,
	OAUTH_BAD_CLIENT,       /* unknown client or wrong secret */
	OAUTH_NO_GRANT,         /* the client has no grant for the audience */
	OAUTH_SCOPE_DENIED,     /* asked for scopes the grant lacks (named in detail) */
	OAUTH_FAILED,           /* internal: err says why */
};

struct oauth_result {
	enum oauth_outcome outcome;
	struct mk_buf *token;       /* the caller's: the JWT is appended */
	char scope[OAUTH_SCOPE_MAX];/* the token's scopes, space-separated */
	char detail[OAUTH_SCOPE_MAX]; /* OAUTH_SCOPE_DENIED: the refused names */
	int64_t expires_in;         /* seconds */
};

/*
 * Authenticate the client (its secret compared as SHA-256 digests with
 * CRYPTO_memcmp, so the time does not depend on where they differ, nor on
 * whether the client exists) and issue a token.  r->outcome says what
 * happened; OAUTH_FAILED sets err.  Errors returned: those of OAUTH_FAILED
 * (MK_ERR_INTERNAL, MK_ERR_NOMEM); every other outcome returns MK_OK.
 */
enum mk_code oauth_issue(struct store *s, const struct oauth_req *rq, struct oauth_result *r,
    struct mk_err *err);

/*
 * Check a JWT presented as a bearer token (see the top of this file) in
 * read transaction t, against want's issuer, audience and time (neither
 * may be NULL).  On success *out is the caller: client_id, scopes,
 * exp_ms.  Errors: MK_ERR_UNAUTH ("Invalid token", or what is wrong),
 * MK_ERR_INTERNAL.
 */
enum mk_code oauth_verify(struct store_txn *t, struct mk_slice tok,
    const struct auth_expect *want, struct auth_token *out, struct mk_err *err);

#endif
