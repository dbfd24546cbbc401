/*
 * test_oauth: the client-credentials grant end to end through api_handle
 * with a real store: client grants (/api/v2/client-grants), POST
 * /oauth/token, the JWKS, and the API accepting the tokens, with each way
 * a token must be refused (wrong signature, another key, expired, wrong
 * audience, alg none, HS256 keyed with the public key) answered 401; key
 * rotation; deleting a grant or a client stopping its tokens at once.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grant.h"
#include "helper_api.h"
#include "jwt.h"
#include "jx.h"
#include "keys.h"
#include "oauth.h"
#include "util.h"

#define AUD "https://localhost/api/v2/"
#define ISS "https://localhost/"

static struct th_env env;
static char client_id[64], client_secret[128];

/* A client made through the API, with a grant of scopes (a JSON array text). */
static void
make_client(const char *scopes, char *id, char *secret)
{
	struct th_res r;
	char body[512];

	r = th_call(&env, "POST", "/api/v2/clients", "{\"name\":\"m2m\"}", env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, 64, "%s", jx_get_str(r.json, "client_id"));
	snprintf(secret, 128, "%s", jx_get_str(r.json, "client_secret"));
	th_res_free(&r);
	snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"audience\":\"" AUD "\","
	    "\"scope\":%s}", id, scopes);
	r = th_call(&env, "POST", "/api/v2/client-grants", body, env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	th_res_free(&r);
}

static void
setup(void)
{
	struct mk_err err;

	th_env_open(&env, "oauth", 0);
	cr_assert_eq(keys_ensure(env.st, NULL, &err), MK_OK, "%s", err.msg);
	make_client("[\"read:users\",\"read:clients\"]", client_id, client_secret);
}

static void
teardown(void)
{
	th_env_close(&env);
}

TestSuite(oauth, .init = setup, .fini = teardown, .timeout = 60);

/* POST /oauth/token with body of content type ct and an Authorization. */
static struct th_res
token_req(const char *body, const char *ct, const char *authorization)
{
	struct http_req rq;

	th_req_init(&rq, "POST", "/oauth/token", body);
	rq.content_type = ct;
	rq.authorization = authorization;
	return th_send(&env, &rq, NULL);
}

/* A token for the test client (scope NULL: all granted); owned string. */
static char *
get_token(const char *scope)
{
	struct th_res r;
	char body[1024];
	char *tok;

	snprintf(body, sizeof(body), "{\"grant_type\":\"client_credentials\",\"client_id\":"
	    "\"%s\",\"client_secret\":\"%s\",\"audience\":\"" AUD "\"%s%s%s}", client_id,
	    client_secret, scope ? ",\"scope\":\"" : "", scope ? scope : "", scope ? "\"" : "");
	r = token_req(body, "application/json", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	tok = strdup(jx_get_str(r.json, "access_token"));
	th_res_free(&r);
	return tok;
}

/* The status of GET path with token. */
static int
get_status(const char *path, const char *token)
{
	struct th_res r = th_call(&env, "GET", path, NULL, token);
	int st = r.status;

	th_res_free(&r);
	return st;
}

/* The decoded JSON of part i (0 header, 1 payload) of a compact token. */
static struct json_object *
part(const char *tok, int i)
{
	unsigned char raw[4096];
	const char *p = tok, *e;
	struct json_object *o = NULL;
	struct mk_err err;
	ssize_t n;

	while (i-- > 0)
		p = strchr(p, '.') + 1;
	e = strchr(p, '.');
	n = jwt_b64url_decode(p, (size_t)(e - p), raw, sizeof(raw));
	cr_assert_gt(n, 0);
	cr_assert_eq(jx_parse((const char *)raw, (size_t)n, 8, &o, &err), MK_OK);
	return o;
}

/* Assemble header.payload.signature from texts and raw signature bytes. */
static char *
assemble(const char *header, const char *payload, const unsigned char *sig, size_t siglen)
{
	struct mk_buf b = MK_BUF_INIT;

	jwt_b64url_add(&b, header, strlen(header));
	buf_addc(&b, '.');
	jwt_b64url_add(&b, payload, strlen(payload));
	buf_addc(&b, '.');
	jwt_b64url_add(&b, sig, siglen);
	return b.p;
}

/* Valid claims for the test client, with aud and exp given. */
static void
claims(char *out, size_t cap, const char *aud, int64_t exp)
{
	int64_t now = mk_now_ms() / 1000;

	snprintf(out, cap, "{\"iss\":\"" ISS "\",\"sub\":\"%s@clients\",\"aud\":\"%s\","
	    "\"iat\":%lld,\"exp\":%lld,\"scope\":\"read:users\",\"gty\":"
	    "\"client-credentials\",\"azp\":\"%s\"}", client_id, aud, (long long)now,
	    (long long)exp, client_id);
}

/* Sign claims with the store's active key (the real signer), owned string. */
static char *
sign_with_store_key(const char *payload)
{
	struct store_txn *t;
	struct mk_buf out = MK_BUF_INIT;
	struct mk_err err;
	char kid[KEYS_KID_LEN + 1];
	EVP_PKEY *k;

	cr_assert_eq(store_read_begin(env.st, &t), MK_OK);
	cr_assert_eq(keys_active(t, &k, kid), MK_OK);
	cr_assert_eq(jwt_sign(k, kid, payload, strlen(payload), &out, &err), MK_OK);
	store_txn_end(t);
	return out.p;
}

static char *
active_kid(void)
{
	struct store_txn *t;
	char kid[KEYS_KID_LEN + 1];
	EVP_PKEY *k;

	cr_assert_eq(store_read_begin(env.st, &t), MK_OK);
	cr_assert_eq(keys_active(t, &k, kid), MK_OK);
	store_txn_end(t);
	return strdup(kid);
}

Test(oauth, token_shape_and_claims)
{
	struct th_res r;
	struct json_object *h, *p;
	char body[1024];
	const char *tok;

	snprintf(body, sizeof(body), "{\"grant_type\":\"client_credentials\",\"client_id\":"
	    "\"%s\",\"client_secret\":\"%s\",\"audience\":\"" AUD "\"}", client_id,
	    client_secret);
	r = token_req(body, "application/json", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "token_type"), "Bearer");
	cr_assert_str_eq(jx_get_str(r.json, "scope"), "read:users read:clients");
	cr_assert_eq(json_object_get_int64(json_object_object_get(r.json, "expires_in")),
	    86400);
	cr_assert_not_null(strstr(r.headers, "Cache-Control: no-store"));
	tok = jx_get_str(r.json, "access_token");
	h = part(tok, 0);
	p = part(tok, 1);
	cr_assert_str_eq(jx_get_str(h, "alg"), "RS256");
	cr_assert_not_null(jx_get_str(h, "kid"));
	cr_assert_str_eq(jx_get_str(p, "iss"), ISS);
	cr_assert_str_eq(jx_get_str(p, "aud"), AUD);
	cr_assert_str_eq(jx_get_str(p, "azp"), client_id);
	cr_assert_str_eq(jx_get_str(p, "gty"), "client-credentials");
	cr_assert_str_eq(jx_get_str(p, "scope"), "read:users read:clients");
	{
		char sub[128];

		snprintf(sub, sizeof(sub), "%s@clients", client_id);
		cr_assert_str_eq(jx_get_str(p, "sub"), sub);
	}
	cr_assert_eq(json_object_get_int64(json_object_object_get(p, "exp")) -
	    json_object_get_int64(json_object_object_get(p, "iat")), 86400);
	json_object_put(h);
	json_object_put(p);
	th_res_free(&r);
}

Test(oauth, api_accepts_the_token_with_its_scopes)
{
	char *tok = get_token(NULL);
	struct th_res r;

	cr_assert_eq(get_status("/api/v2/users", tok), 200);
	cr_assert_eq(get_status("/api/v2/clients", tok), 200);
	r = th_call(&env, "POST", "/api/v2/users", "{\"connection\":"
	    "\"Username-Password-Authentication\",\"email\":\"a@b.c\",\"password\":\"x1!Aaaaa\"}",
	    tok);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "errorCode"), "insufficient_scope");
	th_res_free(&r);
	free(tok);
}

Test(oauth, requested_subset_and_refused_scope)
{
	struct th_res r;
	char body[1024];
	char *tok = get_token("read:users");

	cr_assert_eq(get_status("/api/v2/users", tok), 200);
	cr_assert_eq(get_status("/api/v2/clients", tok), 403);
	free(tok);
	snprintf(body, sizeof(body), "{\"grant_type\":\"client_credentials\",\"client_id\":"
	    "\"%s\",\"client_secret\":\"%s\",\"audience\":\"" AUD "\",\"scope\":"
	    "\"read:users create:users\"}", client_id, client_secret);
	r = token_req(body, "application/json", NULL);
	cr_assert_eq(r.status, 403);
	cr_assert_str_eq(jx_get_str(r.json, "error"), "access_denied");
	cr_assert_str_eq(jx_get_str(r.json, "error_description"),
	    "Client has not been granted scopes: create:users");
	th_res_free(&r);
}

Test(oauth, form_and_basic)
{
	struct th_res r;
	struct mk_buf b = MK_BUF_INIT, cred = MK_BUF_INIT;
	char body[1024];
	unsigned char enc[512];
	int n;

	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&"
	    "client_secret=%s&audience=https%%3A%%2F%%2Flocalhost%%2Fapi%%2Fv2%%2F", client_id,
	    client_secret);
	r = token_req(body, "application/x-www-form-urlencoded", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);

	buf_printf(&cred, "%s:%s", client_id, client_secret);
	n = EVP_EncodeBlock(enc, (unsigned char *)cred.p, (int)cred.n);
	cr_assert_gt(n, 0);
	buf_printf(&b, "Basic %s", enc);
	r = token_req("grant_type=client_credentials&audience=https%3A%2F%2Flocalhost%2Fapi%2Fv2%2F",
	    "application/x-www-form-urlencoded", b.p);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	/* Basic and a secret in the body: one method only. */
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_secret=x&"
	    "audience=https%%3A%%2F%%2Flocalhost%%2Fapi%%2Fv2%%2F");
	r = token_req(body, "application/x-www-form-urlencoded", b.p);
	cr_assert_eq(r.status, 400, "%s", r.body);
	th_res_free(&r);
	buf_free(&b);
	buf_free(&cred);
}

/* Each way a token must be refused: 401, and the real token still works. */
Test(oauth, refused_tokens_401)
{
	char payload[1024], header[256], *tok, *bad, *kid = active_kid();
	unsigned char sig[512], mac[64];
	unsigned int maclen;
	struct mk_buf pem = MK_BUF_INIT, other = MK_BUF_INIT;
	struct mk_err err;
	EVP_PKEY *k, *mine;
	struct store_txn *t;
	BIO *bio;
	char *pub;
	long publen;
	size_t i;

	tok = get_token(NULL);
	cr_assert_eq(get_status("/api/v2/users", tok), 200);

	/* A wrong signature: one byte of it changed. */
	bad = strdup(tok);
	i = strlen(bad) - 10;
	bad[i] = bad[i] == 'A' ? 'B' : 'A';
	cr_assert_eq(get_status("/api/v2/users", bad), 401);
	free(bad);

	/* Signed by another key under the same kid. */
	claims(payload, sizeof(payload), AUD, mk_now_ms() / 1000 + 600);
	k = jwt_key_new();
	cr_assert_not_null(k);
	cr_assert_eq(jwt_sign(k, kid, payload, strlen(payload), &other, &err), MK_OK);
	cr_assert_eq(get_status("/api/v2/users", other.p), 401);
	EVP_PKEY_free(k);
	buf_free(&other);

	/* The same claims signed by the store's key pass: the control. */
	bad = sign_with_store_key(payload);
	cr_assert_eq(get_status("/api/v2/users", bad), 200);
	free(bad);

	/* Expired. */
	claims(payload, sizeof(payload), AUD, mk_now_ms() / 1000 - 1);
	bad = sign_with_store_key(payload);
	cr_assert_eq(get_status("/api/v2/users", bad), 401);
	free(bad);

	/* Another audience. */
	claims(payload, sizeof(payload), "https://other.example/api/v2/",
	    mk_now_ms() / 1000 + 600);
	bad = sign_with_store_key(payload);
	cr_assert_eq(get_status("/api/v2/users", bad), 401);
	free(bad);

	/* alg none, no signature. */
	claims(payload, sizeof(payload), AUD, mk_now_ms() / 1000 + 600);
	snprintf(header, sizeof(header), "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	bad = assemble(header, payload, sig, 0);
	cr_assert_eq(get_status("/api/v2/users", bad), 401);
	free(bad);

	/* HS256 keyed with the public key's PEM (the classic confusion). */
	cr_assert_eq(store_read_begin(env.st, &t), MK_OK);
	cr_assert_eq(keys_find(t, kid, &mine), MK_OK);
	bio = BIO_new(BIO_s_mem());
	cr_assert_eq(PEM_write_bio_PUBKEY(bio, mine), 1);
	store_txn_end(t);
	publen = BIO_get_mem_data(bio, &pub);
	snprintf(header, sizeof(header), "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	bad = assemble(header, payload, sig, 0);
	*strrchr(bad, '.') = '\0';
	HMAC(EVP_sha256(), pub, (int)publen, (unsigned char *)bad, strlen(bad), mac, &maclen);
	buf_adds(&pem, bad);
	buf_addc(&pem, '.');
	jwt_b64url_add(&pem, mac, maclen);
	cr_assert_eq(get_status("/api/v2/users", pem.p), 401);
	BIO_free(bio);
	free(bad);
	buf_free(&pem);

	cr_assert_eq(get_status("/api/v2/users", tok), 200, "the real token still works");
	free(tok);
	free(kid);
}

Test(oauth, grant_deleted_or_client_deleted_stops_tokens)
{
	char *tok = get_token(NULL), gid[GRANT_ID_LEN + 1], path[256];
	struct th_res r;

	cr_assert_eq(get_status("/api/v2/users", tok), 200);
	grant_id(client_id, AUD, gid);
	snprintf(path, sizeof(path), "/api/v2/client-grants/%s", gid);
	r = th_call(&env, "PATCH", path, "{\"scope\":[\"read:clients\"]}", env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	cr_assert_eq(get_status("/api/v2/users", tok), 403, "the grant's scopes narrow it");
	cr_assert_eq(get_status("/api/v2/clients", tok), 200);
	r = th_call(&env, "DELETE", path, NULL, env.admin);
	cr_assert_eq(r.status, 204, "%s", r.body);
	th_res_free(&r);
	cr_assert_eq(get_status("/api/v2/clients", tok), 401);
	free(tok);

	/* A client deleted takes its grants: its token and new tokens stop. */
	{
		char id2[64], sec2[128], body[1024];

		make_client("[\"read:users\"]", id2, sec2);
		memcpy(client_id, id2, sizeof(id2));
		memcpy(client_secret, sec2, sizeof(sec2));
		tok = get_token(NULL);
		cr_assert_eq(get_status("/api/v2/users", tok), 200);
		snprintf(path, sizeof(path), "/api/v2/clients/%s", id2);
		r = th_call(&env, "DELETE", path, NULL, env.admin);
		cr_assert_eq(r.status, 204);
		th_res_free(&r);
		cr_assert_eq(get_status("/api/v2/users", tok), 401);
		snprintf(path, sizeof(path), "/api/v2/client-grants?client_id=%s", id2);
		r = th_call(&env, "GET", path, NULL, env.admin);
		cr_assert_eq(r.status, 200);
		cr_assert_str_eq(r.body, "[]");
		th_res_free(&r);
		snprintf(body, sizeof(body), "{\"grant_type\":\"client_credentials\","
		    "\"client_id\":\"%s\",\"client_secret\":\"%s\",\"audience\":\"" AUD "\"}",
		    id2, sec2);
		r = token_req(body, "application/json", NULL);
		cr_assert_eq(r.status, 401);
		cr_assert_str_eq(jx_get_str(r.json, "error"), "access_denied");
		th_res_free(&r);
		free(tok);
	}
}

Test(oauth, jwks_and_rotation)
{
	char *tok = get_token(NULL), *kid = active_kid(), *tok2, newkid[KEYS_KID_LEN + 1];
	struct json_object *keys, *h;
	struct mk_err err;
	struct th_res r;
	size_t removed = 9;

	r = th_call(&env, "GET", "/.well-known/jwks.json", NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	keys = json_object_object_get(r.json, "keys");
	cr_assert_eq(json_object_array_length(keys), 1);
	cr_assert_str_eq(jx_get_str(json_object_array_get_idx(keys, 0), "kid"), kid);
	cr_assert_str_eq(jx_get_str(json_object_array_get_idx(keys, 0), "kty"), "RSA");
	cr_assert_null(strstr(r.body, "PRIVATE"));
	cr_assert_null(json_object_object_get(json_object_array_get_idx(keys, 0), "d"));
	th_res_free(&r);

	cr_assert_eq(keys_rotate(env.st, (int64_t)OAUTH_TTL_S * 1000, newkid, &removed, &err),
	    MK_OK, "%s", err.msg);
	cr_assert_eq(removed, 0);
	cr_assert_str_neq(newkid, kid);
	cr_assert_eq(get_status("/api/v2/users", tok), 200, "the old key still verifies");
	tok2 = get_token(NULL);
	h = part(tok2, 0);
	cr_assert_str_eq(jx_get_str(h, "kid"), newkid);
	json_object_put(h);
	r = th_call(&env, "GET", "/.well-known/jwks.json", NULL, NULL);
	keys = json_object_object_get(r.json, "keys");
	cr_assert_eq(json_object_array_length(keys), 2);
	cr_assert_str_eq(jx_get_str(json_object_array_get_idx(keys, 0), "kid"), newkid);
	th_res_free(&r);

	/*
	 * Keep 0 ms: the key retired before goes, and its tokens with it; the
	 * key retired now still verifies what it signed until then.
	 */
	cr_assert_eq(keys_rotate(env.st, 0, NULL, &removed, &err), MK_OK);
	cr_assert_eq(removed, 1);
	cr_assert_eq(get_status("/api/v2/users", tok), 401);
	cr_assert_eq(get_status("/api/v2/users", tok2), 200);
	free(tok);
	free(tok2);
	free(kid);
}

/* Auth0's answers of /oauth/token, one row each (docs/api.md). */
static const struct tok_case {
	const char *name;
	const char *body;        /* @ID@, @SECRET@: the test client's */
	const char *ct;
	int status;
	const char *error, *desc;   /* desc NULL: not compared */
} tok_cases[] = {
	{ "no grant_type", "{\"client_id\":\"@ID@\",\"client_secret\":\"@SECRET@\"}",
	    "application/json", 400, "invalid_request", "Missing required parameter: grant_type" },
	{ "password grant", "{\"grant_type\":\"password\",\"client_id\":\"@ID@\"}",
	    "application/json", 400, "unsupported_grant_type", "Unsupported grant type: password" },
	{ "no client_id", "{\"grant_type\":\"client_credentials\",\"audience\":\"" AUD "\"}",
	    "application/json", 401, "invalid_client", "Missing client_id" },
	{ "wrong secret", "{\"grant_type\":\"client_credentials\",\"client_id\":\"@ID@\","
	    "\"client_secret\":\"@SECRET@x\",\"audience\":\"" AUD "\"}", "application/json", 401,
	    "access_denied", "Unauthorized" },
	{ "no secret", "{\"grant_type\":\"client_credentials\",\"client_id\":\"@ID@\","
	    "\"audience\":\"" AUD "\"}", "application/json", 401, "access_denied", "Unauthorized" },
	{ "unknown client", "{\"grant_type\":\"client_credentials\",\"client_id\":\"nobody\","
	    "\"client_secret\":\"@SECRET@\",\"audience\":\"" AUD "\"}", "application/json", 401,
	    "access_denied", "Unauthorized" },
	{ "no audience", "{\"grant_type\":\"client_credentials\",\"client_id\":\"@ID@\","
	    "\"client_secret\":\"@SECRET@\"}", "application/json", 403, "access_denied",
	    "Non-global clients are not allowed access to APIv1" },
	{ "other audience", "{\"grant_type\":\"client_credentials\",\"client_id\":\"@ID@\","
	    "\"client_secret\":\"@SECRET@\",\"audience\":\"https://x/api/v2/\"}", "application/json",
	    403, "access_denied", "Service not found: https://x/api/v2/" },
	{ "bad JSON", "{\"grant_type\":", "application/json", 400, "invalid_request", NULL },
	{ "JSON not an object", "[1]", "application/json", 400, "invalid_request", NULL },
	{ "text/plain", "grant_type=client_credentials", "text/plain", 400, "invalid_request",
	    NULL },
	{ "no content type", "grant_type=client_credentials", NULL, 400, "invalid_request", NULL },
	{ "number as client_id", "{\"grant_type\":\"client_credentials\",\"client_id\":5}",
	    "application/json", 400, "invalid_request", NULL },
	{ "bad form encoding", "grant_type=client_credentials&client_id=%zz",
	    "application/x-www-form-urlencoded", 400, "invalid_request", NULL },
};

/* Copy tmpl into out with @ID@ and @SECRET@ replaced. */
static void
subst(char *out, size_t cap, const char *tmpl)
{
	struct mk_buf b = MK_BUF_INIT;
	const char *p;

	for (p = tmpl; *p != '\0';) {
		if (strncmp(p, "@ID@", 4) == 0) {
			buf_adds(&b, client_id);
			p += 4;
		} else if (strncmp(p, "@SECRET@", 8) == 0) {
			buf_adds(&b, client_secret);
			p += 8;
		} else
			buf_addc(&b, *p++);
	}
	snprintf(out, cap, "%s", b.p);
	buf_free(&b);
}

Test(oauth, token_errors_table)
{
	char body[2048];
	struct th_res r;
	size_t i;

	for (i = 0; i < sizeof(tok_cases) / sizeof(tok_cases[0]); i++) {
		const struct tok_case *tc = &tok_cases[i];

		subst(body, sizeof(body), tc->body);
		r = token_req(body, tc->ct, NULL);
		cr_assert_eq(r.status, tc->status, "%s: %d %s", tc->name, r.status, r.body);
		cr_assert_not_null(r.json, "%s", tc->name);
		cr_assert_str_eq(jx_get_str(r.json, "error"), tc->error, "%s", tc->name);
		if (tc->desc != NULL)
			cr_assert_str_eq(jx_get_str(r.json, "error_description"), tc->desc, "%s",
			    tc->name);
		th_res_free(&r);
	}
}

Test(oauth, no_grant_for_the_client)
{
	struct th_res r;
	char body[1024], id[64], secret[128];

	r = th_call(&env, "POST", "/api/v2/clients", "{\"name\":\"nogrant\"}", env.admin);
	cr_assert_eq(r.status, 201);
	snprintf(id, sizeof(id), "%s", jx_get_str(r.json, "client_id"));
	snprintf(secret, sizeof(secret), "%s", jx_get_str(r.json, "client_secret"));
	th_res_free(&r);
	snprintf(body, sizeof(body), "{\"grant_type\":\"client_credentials\",\"client_id\":"
	    "\"%s\",\"client_secret\":\"%s\",\"audience\":\"" AUD "\"}", id, secret);
	r = token_req(body, "application/json", NULL);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "error_description"), "Client is not authorized to "
	    "access \"" AUD "\". You need to create a \"client-grant\" associated to this API.");
	th_res_free(&r);
}

/* ---- /api/v2/client-grants ---- */

Test(oauth, grants_api)
{
	struct th_res r;
	char body[512], path[256], gid[GRANT_ID_LEN + 1];
	struct json_object *a;

	/* The one made by setup, listed, filtered, paged. */
	r = th_call(&env, "GET", "/api/v2/client-grants", NULL, env.admin);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(json_object_array_length(r.json), 1);
	a = json_object_array_get_idx(r.json, 0);
	grant_id(client_id, AUD, gid);
	cr_assert_str_eq(jx_get_str(a, "id"), gid);
	cr_assert_str_eq(jx_get_str(a, "client_id"), client_id);
	cr_assert_str_eq(jx_get_str(a, "audience"), AUD);
	cr_assert_eq(json_object_array_length(json_object_object_get(a, "scope")), 2);
	th_res_free(&r);
	r = th_call(&env, "GET", "/api/v2/client-grants?audience=https%3A%2F%2Fx%2F", NULL,
	    env.admin);
	cr_assert_str_eq(r.body, "[]");
	th_res_free(&r);
	r = th_call(&env, "GET", "/api/v2/client-grants?include_totals=true&per_page=1&page=0",
	    NULL, env.admin);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(json_object_get_int(json_object_object_get(r.json, "total")), 1);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "client_grants")),
	    1);
	th_res_free(&r);

	/* The same pair again: 409. */
	snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"audience\":\"" AUD "\","
	    "\"scope\":[]}", client_id);
	r = th_call(&env, "POST", "/api/v2/client-grants", body, env.admin);
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "errorCode"), "client_grant_conflict");
	th_res_free(&r);

	/* An unknown client: 404 inexistent_client, nothing stored. */
	r = th_call(&env, "POST", "/api/v2/client-grants", "{\"client_id\":\"nobody\","
	    "\"audience\":\"" AUD "\",\"scope\":[]}", env.admin);
	cr_assert_eq(r.status, 404, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "errorCode"), "inexistent_client");
	th_res_free(&r);

	/* An unknown scope, another member, an audience not ours: 400. */
	snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"audience\":\"https://h2/api/v2/\","
	    "\"scope\":[\"read:everything\"]}", client_id);
	r = th_call(&env, "POST", "/api/v2/client-grants", body, env.admin);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "errorCode"), "invalid_body");
	th_res_free(&r);
	snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"audience\":\"https://h2/api/v2/\","
	    "\"scope\":[],\"extra\":1}", client_id);
	r = th_call(&env, "POST", "/api/v2/client-grants", body, env.admin);
	cr_assert_eq(r.status, 400, "%s", r.body);
	th_res_free(&r);
	snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"audience\":\"https://x/other\","
	    "\"scope\":[]}", client_id);
	r = th_call(&env, "POST", "/api/v2/client-grants", body, env.admin);
	cr_assert_eq(r.status, 400, "%s", r.body);
	th_res_free(&r);
	r = th_call(&env, "GET", "/api/v2/client-grants", NULL, env.admin);
	cr_assert_eq(json_object_array_length(r.json), 1, "nothing stored: %s", r.body);
	th_res_free(&r);

	/* Another host's audience is a grant of its own. */
	snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"audience\":\"https://h2/api/v2/\","
	    "\"scope\":[\"read:users\"]}", client_id);
	r = th_call(&env, "POST", "/api/v2/client-grants", body, env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	th_res_free(&r);

	/* GET by id, PATCH, DELETE, then 404. */
	snprintf(path, sizeof(path), "/api/v2/client-grants/%s", gid);
	r = th_call(&env, "GET", path, NULL, env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	r = th_call(&env, "PATCH", path, "{\"scope\":[\"read:users\"]}", env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "scope")), 1);
	th_res_free(&r);
	r = th_call(&env, "DELETE", path, NULL, env.admin);
	cr_assert_eq(r.status, 204);
	th_res_free(&r);
	r = th_call(&env, "DELETE", path, NULL, env.admin);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(jx_get_str(r.json, "errorCode"), "inexistent_client_grant");
	th_res_free(&r);
	r = th_call(&env, "PATCH", path, "{\"scope\":[]}", env.admin);
	cr_assert_eq(r.status, 404);
	th_res_free(&r);
}

Test(oauth, grants_scopes_needed)
{
	struct th_res r;
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1];
	struct auth_grant g = { SC_READ_USERS, NULL, 0 };
	struct mk_err err;

	cr_assert_eq(auth_token_create(env.st, &g, tok, id, &err), MK_OK);
	r = th_call(&env, "GET", "/api/v2/client-grants", NULL, tok);
	cr_assert_eq(r.status, 403);
	th_res_free(&r);
	r = th_call(&env, "POST", "/api/v2/client-grants", "{}", tok);
	cr_assert_eq(r.status, 403);
	th_res_free(&r);
	r = th_call(&env, "GET", "/api/v2/client-grants", NULL, NULL);
	cr_assert_eq(r.status, 401);
	th_res_free(&r);
}
