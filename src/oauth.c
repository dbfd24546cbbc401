/*
 * oauth: issuing and checking access tokens (see oauth.h).
 *
 * Verifying an RS256 signature and parsing the claims cost tens of
 * microseconds, more than the rest of a GET by id, so a verified token is
 * kept per process with its claims: the next request with the same token
 * compares it (constant time) and checks only what can change: its expiry,
 * that its key is still stored and that its grant is (one lookup each; the
 * grant's scopes parsed again only when its record changed).
 */
#include "oauth.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "grant.h"
#include "jwt.h"
#include "jx.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#define OAUTH_CACHE 8
#define OAUTH_CLAIM_MAX 512          /* iss, aud */
#define OAUTH_GREC_MAX 1024          /* a cached grant record */

/* ---- issuing ---- */

/* Is secret the client's?  Both hashed first: the compare's time is fixed. */
static int
secret_matches(const char *stored, const char *given)
{
	char a[65], b[65];
	int ok;

	mk_sha256_hex(stored != NULL ? stored : "", stored != NULL ? strlen(stored) : 0, a);
	mk_sha256_hex(given, strlen(given), b);
	ok = CRYPTO_memcmp(a, b, 64) == 0;
	return ok && stored != NULL && stored[0] != '\0';
}

/* Append name to a space-separated list in out (cap bytes), if it fits. */
static void
list_add(char *out, size_t cap, const char *name, size_t n)
{
	size_t used = strlen(out);

	if (used + (used > 0) + n + 1 > cap)
		return;
	if (used > 0)
		out[used++] = ' ';
	memcpy(out + used, name, n);
	out[used + n] = '\0';
}

/*
 * The scopes of the token: every granted one, or those asked for when all
 * of them are granted (else r->detail names the others).  0, or -1.
 */
static int
pick_scopes(const char *asked, uint32_t granted, uint32_t *out, struct oauth_result *r)
{
	const char *p = asked, *start;
	uint32_t mask = 0, bit;
	size_t n;

	if (asked == NULL || asked[0] == '\0') {
		*out = granted;
		return 0;
	}
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ')
			p++;
		n = (size_t)(p - start);
		bit = auth_scope_bit(start, n);
		if (bit == 0 || (granted & bit) == 0)
			list_add(r->detail, sizeof(r->detail), start, n);
		mask |= bit;
	}
	if (r->detail[0] != '\0')
		return -1;
	*out = mask;
	return 0;
}

/* The claims' JSON text, Auth0's order, appended to out.  0, or -1. */
static int
claims_build(const struct oauth_req *rq, const char *scope, int64_t iat, struct mk_buf *out)
{
	struct json_object *o;
	struct mk_buf sub = MK_BUF_INIT;
	int rc = -1;

	buf_printf(&sub, "%s@clients", rq->client_id);
	if (sub.failed || (o = json_object_new_object()) == NULL) {
		buf_free(&sub);
		return -1;
	}
	if (json_object_object_add(o, "iss", json_object_new_string(rq->issuer)) != 0 ||
	    json_object_object_add(o, "sub", json_object_new_string(sub.p)) != 0 ||
	    json_object_object_add(o, "aud", json_object_new_string(rq->audience)) != 0 ||
	    json_object_object_add(o, "iat", json_object_new_int64(iat)) != 0 ||
	    json_object_object_add(o, "exp", json_object_new_int64(iat + OAUTH_TTL_S)) != 0 ||
	    json_object_object_add(o, "scope", json_object_new_string(scope)) != 0 ||
	    json_object_object_add(o, "gty", json_object_new_string("client-credentials")) != 0 ||
	    json_object_object_add(o, "azp", json_object_new_string(rq->client_id)) != 0)
		goto out;
	rc = jx_append(out, o);
out:
	json_object_put(o);
	buf_free(&sub);
	return rc;
}

/* The client's secret from its record (owned by *obj), or NULL. */
static const char *
client_secret(struct store_txn *t, const char *client_id, struct json_object **obj)
{
	struct mk_slice key = { client_id, strlen(client_id) }, rec;

	*obj = NULL;
	if (store_get(t, ST_CLIENTS, key, &rec) != MK_OK ||
	    jx_parse_stored(rec.p, rec.n, obj) != MK_OK || *obj == NULL)
		return NULL;
	return jx_get_str(*obj, "client_secret");
}

enum mk_code
oauth_issue(struct store *s, const struct oauth_req *rq, struct oauth_result *r,
    struct mk_err *err)
{
	struct store_txn *t = NULL;
	struct json_object *client = NULL;
	struct mk_buf claims = MK_BUF_INIT;
	struct mk_slice key, grec;
	char gid[GRANT_ID_LEN + 1], kid[KEYS_KID_LEN + 1];
	uint32_t granted, scopes;
	EVP_PKEY *k = NULL;
	int ok;
	enum mk_code rc;

	r->outcome = OAUTH_FAILED;
	r->scope[0] = r->detail[0] = '\0';
	r->expires_in = OAUTH_TTL_S;
	if ((rc = store_read_begin(s, &t)) != MK_OK)
		return mk_fail(err, rc, "read transaction failed");
	ok = secret_matches(client_secret(t, rq->client_id, &client), rq->client_secret);
	json_object_put(client);
	if (!ok) {
		r->outcome = OAUTH_BAD_CLIENT;
		goto done;
	}
	grant_id(rq->client_id, rq->audience, gid);
	key.p = gid;
	key.n = GRANT_ID_LEN;
	if ((rc = store_get(t, ST_GRANTS, key, &grec)) == MK_ERR_NOTFOUND) {
		r->outcome = OAUTH_NO_GRANT;
		goto done;
	}
	if (rc != MK_OK || grant_rec_scopes(grec, &granted) != 0) {
		rc = mk_fail(err, MK_ERR_INTERNAL, "grant %s: lookup failed", gid);
		goto out;
	}
	if (pick_scopes(rq->scope, granted, &scopes, r) != 0) {
		r->outcome = OAUTH_SCOPE_DENIED;
		goto done;
	}
	auth_scopes_format(scopes, " ", r->scope, sizeof(r->scope));
	rc = keys_active(t, &k, kid);
	if (rc == MK_ERR_NOTFOUND) {
		/* No key yet: the first token request makes it (keys.h). */
		store_txn_end(t);
		t = NULL;
		if ((rc = keys_ensure(s, NULL, err)) != MK_OK)
			goto out;
		if ((rc = store_read_begin(s, &t)) != MK_OK) {
			mk_fail(err, rc, "read transaction failed");
			goto out;
		}
		rc = keys_active(t, &k, kid);
	}
	if (rc != MK_OK) {
		rc = mk_fail(err, MK_ERR_INTERNAL, "no usable signing key");
		goto out;
	}
	if (claims_build(rq, r->scope, rq->now_ms / 1000, &claims) != 0) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = jwt_sign(k, kid, claims.p, claims.n, r->token, err)) != MK_OK)
		goto out;
	r->outcome = OAUTH_ISSUED;
done:
	rc = MK_OK;
out:
	if (t != NULL)
		store_txn_end(t);
	buf_free(&claims);
	return rc;
}

/* ---- checking ---- */

struct oauth_slot {
	char *tok;                   /* malloc'd copy of the token */
	size_t len;
	char client_id[AUTH_CLIENT_MAX];
	char iss[OAUTH_CLAIM_MAX], aud[OAUTH_CLAIM_MAX];
	char grant[GRANT_ID_LEN + 1];
	char kid[JWT_KID_MAX + 1];   /* the key that signed it */
	uint32_t scopes;             /* the token's */
	int64_t exp;                 /* s */
	char grec[OAUTH_GREC_MAX];   /* the grant record last seen, and its scopes */
	size_t greclen;
	uint32_t gscopes;
};

static struct oauth_slot oauth_cache[OAUTH_CACHE];
static unsigned int oauth_next;

static struct oauth_slot *
cache_find(struct mk_slice tok)
{
	size_t i;

	for (i = 0; i < OAUTH_CACHE; i++)
		if (oauth_cache[i].tok != NULL && oauth_cache[i].len == tok.n &&
		    mk_ct_equal(oauth_cache[i].tok, tok.p, tok.n))
			return &oauth_cache[i];
	return NULL;
}

/* Copy a string claim into out (cap bytes); 0, or -1 when absent or too long. */
static int
claim_str(struct json_object *o, const char *key, char *out, size_t cap)
{
	const char *v = jx_get_str(o, key);

	if (v == NULL || strlen(v) >= cap)
		return -1;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* The token's scopes ("scope", space-separated; unknown names ignored). */
static uint32_t
claim_scopes(struct json_object *o)
{
	const char *p = jx_get_str(o, "scope"), *start;
	uint32_t mask = 0;

	if (p == NULL)
		return 0;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return mask;
		start = p;
		while (*p != '\0' && *p != ' ')
			p++;
		mask |= auth_scope_bit(start, (size_t)(p - start));
	}
}

/* Verify a token not in the cache and fill slot sl with its claims. */
static enum mk_code
verify_new(struct store_txn *t, struct mk_slice tok, struct oauth_slot *sl, struct mk_err *err)
{
	struct jwt_parts jp;
	struct json_object *v;
	char sub[AUTH_CLIENT_MAX + 16];
	EVP_PKEY *k;
	enum mk_code rc;

	if ((rc = jwt_decode(tok, &jp, err)) != MK_OK)
		return rc;
	rc = keys_find(t, jp.kid, &k);
	if (rc == MK_ERR_NOTFOUND) {
		rc = mk_fail(err, MK_ERR_UNAUTH, "Invalid token: signed by an unknown key");
		goto out;
	}
	if (rc != MK_OK) {
		rc = mk_fail(err, rc, "signing key lookup failed");
		goto out;
	}
	if (!jwt_verify(k, &jp)) {
		rc = mk_fail(err, MK_ERR_UNAUTH, "Invalid signature received for JSON Web Token "
		    "validation");
		goto out;
	}
	rc = mk_fail(err, MK_ERR_UNAUTH, "Invalid token: claims missing or malformed");
	memset(sl, 0, sizeof(*sl));
	if (claim_str(jp.payload, "azp", sl->client_id, sizeof(sl->client_id)) != 0 ||
	    sl->client_id[0] == '\0' ||
	    claim_str(jp.payload, "iss", sl->iss, sizeof(sl->iss)) != 0 ||
	    claim_str(jp.payload, "aud", sl->aud, sizeof(sl->aud)) != 0 ||
	    claim_str(jp.payload, "sub", sub, sizeof(sub)) != 0 ||
	    !json_object_object_get_ex(jp.payload, "exp", &v) ||
	    !json_object_is_type(v, json_type_int))
		goto out;
	/* sub names the client the token was issued to, as azp does. */
	if (strlen(sub) != strlen(sl->client_id) + 8 ||
	    strncmp(sub, sl->client_id, strlen(sl->client_id)) != 0 ||
	    strcmp(sub + strlen(sl->client_id), "@clients") != 0)
		goto out;
	sl->exp = json_object_get_int64(v);
	sl->scopes = claim_scopes(jp.payload);
	memcpy(sl->kid, jp.kid, sizeof(sl->kid));
	grant_id(sl->client_id, sl->aud, sl->grant);
	rc = MK_OK;
out:
	jwt_parts_free(&jp);
	return rc;
}

/* Keep a verified token's slot in the cache (round robin). */
static struct oauth_slot *
cache_put(struct mk_slice tok, const struct oauth_slot *v)
{
	struct oauth_slot *sl = &oauth_cache[oauth_next++ % OAUTH_CACHE];
	char *copy;

	if ((copy = malloc(tok.n)) == NULL)
		return NULL;
	memcpy(copy, tok.p, tok.n);
	free(sl->tok);
	*sl = *v;
	sl->tok = copy;
	sl->len = tok.n;
	return sl;
}

enum mk_code
oauth_verify(struct store_txn *t, struct mk_slice tok, const struct auth_expect *want,
    struct auth_token *out, struct mk_err *err)
{
	static struct oauth_slot fresh;  /* large: not on the stack */
	struct oauth_slot *sl;
	struct mk_slice key, grec;
	uint32_t gscopes;
	enum mk_code rc;

	if (tok.n > JWT_MAX)
		return mk_fail(err, MK_ERR_UNAUTH, "Invalid token");
	if ((sl = cache_find(tok)) == NULL) {
		if ((rc = verify_new(t, tok, &fresh, err)) != MK_OK)
			return rc;
		if ((sl = cache_put(tok, &fresh)) == NULL)
			sl = &fresh;
	}
	if (want->now_ms / 1000 >= sl->exp)
		return mk_fail(err, MK_ERR_UNAUTH, "Expired token received for JSON Web Token "
		    "validation");
	if (strcmp(sl->aud, want->audience) != 0)
		return mk_fail(err, MK_ERR_UNAUTH, "Bad audience: %.200s", sl->aud);
	if (strcmp(sl->iss, want->issuer) != 0)
		return mk_fail(err, MK_ERR_UNAUTH, "Bad issuer: %.200s", sl->iss);
	/* Its key still stored (a rotation removes keys only after their tokens expire). */
	key.p = sl->kid;
	key.n = strlen(sl->kid);
	if ((rc = store_get(t, ST_KEYS, key, &grec)) == MK_ERR_NOTFOUND)
		return mk_fail(err, MK_ERR_UNAUTH, "Invalid token: signed by an unknown key");
	if (rc != MK_OK)
		return mk_fail(err, rc, "signing key lookup failed");
	key.p = sl->grant;
	key.n = GRANT_ID_LEN;
	rc = store_get(t, ST_GRANTS, key, &grec);
	if (rc == MK_ERR_NOTFOUND)
		return mk_fail(err, MK_ERR_UNAUTH, "Invalid token: the client or its grant "
		    "was deleted");
	if (rc != MK_OK)
		return mk_fail(err, rc, "grant lookup failed");
	if (sl->greclen == grec.n && grec.n > 0 && memcmp(sl->grec, grec.p, grec.n) == 0)
		gscopes = sl->gscopes;
	else {
		if (grant_rec_scopes(grec, &gscopes) != 0)
			return mk_fail(err, MK_ERR_INTERNAL, "grant %s: damaged record", sl->grant);
		if (grec.n <= sizeof(sl->grec)) {
			memcpy(sl->grec, grec.p, grec.n);
			sl->greclen = grec.n;
			sl->gscopes = gscopes;
		}
	}
	memset(out, 0, sizeof(*out));
	out->scopes = sl->scopes & gscopes;
	memcpy(out->client_id, sl->client_id, sizeof(out->client_id));
	out->exp_ms = sl->exp * 1000;
	return MK_OK;
}
