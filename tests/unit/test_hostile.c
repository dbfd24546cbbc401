/*
 * test_hostile: the hostile input table of issue 4, one test per input,
 * driven through api_handle against a real LMDB store (as test_api does).
 * Each test sends one hostile request aimed at a stored user (the
 * "victim") and checks the status, the error code and the start of the
 * message, that the answer came in bounded time, and, by reading the store
 * directly, that the victim's record is byte for byte what it was and that
 * no user was added or removed.  The few inputs the spec accepts (\u0000 in
 * a value, 100,000 keys within the limits, a 255-byte key, int64 bounds)
 * are checked for an exact round trip instead.
 *
 * Statuses follow spec/api.md: malformed or unstorable JSON and rule
 * violations 400 invalid_body; a body over the limit 413 payload_too_large;
 * an undecodable or too long path id 400 invalid_uri; an id that decodes
 * but names nobody 404 inexistent_user (a DELETE of it 204, as Auth0); a
 * path with more segments 404 without a code; an unknown token 401.
 * Bodies shorter or longer than Content-Length are a transport matter:
 * tests/integration/test_hostile_http.sh.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper_api.h"
#include "jx.h"
#include "store.h"

/* Wall-clock bound on one hostile request (generous: sanitizer builds). */
#define HOSTILE_MAX_SECONDS 10.0

static struct th_env env;
static char victim[64];   /* the victim's user_id */

/* ct: NULL = application/json when there is a body; "" = no Content-Type. */
static struct th_res
call(const char *method, const char *uri, const char *body, size_t body_len,
    const char *ct, const char *authorization)
{
	struct http_req rq = { 0 };
	struct th_res r;

	rq.method = method;
	rq.uri = uri;
	rq.authorization = authorization;
	rq.body = body;
	rq.body_len = body_len;
	if (ct != NULL)
		rq.content_type = ct[0] != '\0' ? ct : NULL;
	else if (body != NULL)
		rq.content_type = "application/json";
	r = th_send(&env, &rq, NULL);
	if (r.body_len > 0)
		cr_assert_not_null(r.json, "the answer is JSON: %.200s", r.body);
	return r;
}

/* The victim's record exactly as stored (owned), and the number of users. */
static char *
stored_victim(size_t *nusers)
{
	struct store_txn *t;
	struct mk_slice key = { victim, strlen(victim) }, rec;
	char *copy;

	cr_assert_eq(store_read_begin(env.st, &t), MK_OK);
	cr_assert_eq(store_get(t, ST_USERS, key, &rec), MK_OK, "the victim is still there");
	copy = malloc(rec.n + 1);
	cr_assert_not_null(copy);
	memcpy(copy, rec.p, rec.n);
	copy[rec.n] = '\0';
	cr_assert_eq(store_count(t, ST_USERS, nusers), MK_OK);
	store_txn_end(t);
	return copy;
}

static void
setup(void)
{
	static const char body[] = "{\"email\":\"victim@example.com\",\"connection\":"
	    "\"Username-Password-Authentication\",\"password\":\"s3cret!pw\","
	    "\"user_metadata\":{\"keep\":\"me\",\"n\":[1,2.50,{\"x\":null}]},"
	    "\"app_metadata\":{\"plan\":\"full\"}}";
	const char *uid;
	struct th_res r;
	char *auth;

	th_env_open(&env, "test-hostile", 256u << 20);
	auth = th_bearer(env.admin);
	r = call("POST", "/api/v2/users", body, sizeof(body) - 1, NULL, auth);
	cr_assert_eq(r.status, 201, "%s", r.body);
	uid = jx_get_str(r.json, "user_id");
	cr_assert_not_null(uid);
	snprintf(victim, sizeof(victim), "%s", uid);
	th_res_free(&r);
	free(auth);
}

static void
teardown(void)
{
	th_env_close(&env);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 120);

/* ---- the table ---- */

struct hcase {
	const char *name;
	const char *method;       /* NULL: PATCH */
	const char *uri;          /* NULL: the victim; "{id}" stands for its id */
	char *(*make_uri)(void);  /* or built (owned) */
	const char *body;         /* NUL-free text, or NULL */
	char *(*make_body)(void); /* or built (owned); NULL and NULL: no body */
	const char *ct;           /* as in call() */
	char *(*make_auth)(void); /* the Authorization header (owned); NULL: admin */
	size_t max_user_bytes;    /* 0: the default */
	int status;
	const char *code;         /* errorCode; NULL: the body must have none */
	const char *msg;          /* prefix of the message */
	/* Accepted inputs: check the answer and return; the victim may change. */
	void (*accepted)(const struct th_res *);
};

static char *
expand(const char *pat)
{
	char *out = malloc(strlen(pat) + strlen(victim) + 1);
	const char *at = strstr(pat, "{id}");

	cr_assert_not_null(out);
	if (at == NULL) {
		strcpy(out, pat);
		return out;
	}
	memcpy(out, pat, (size_t)(at - pat));
	strcpy(out + (at - pat), victim);
	strcat(out, at + 4);
	return out;
}

static void
assert_error_body(const struct hcase *hc, const struct th_res *r)
{
	struct json_object *v;
	const char *msg;

	cr_assert_not_null(r->json, "%s: an error body: %s", hc->name, r->body);
	cr_assert(json_object_object_get_ex(r->json, "statusCode", &v));
	cr_assert_eq(json_object_get_int(v), hc->status, "%s: statusCode", hc->name);
	if (hc->code != NULL)
		cr_assert_str_eq(jx_get_str(r->json, "errorCode") ?
		    jx_get_str(r->json, "errorCode") : "(none)", hc->code, "%s: %.300s",
		    hc->name, r->body);
	else
		cr_assert_not(json_object_object_get_ex(r->json, "errorCode", &v),
		    "%s: no errorCode: %.300s", hc->name, r->body);
	msg = jx_get_str(r->json, "message");
	cr_assert_not_null(msg);
	cr_assert(strncmp(msg, hc->msg, strlen(hc->msg)) == 0,
	    "%s: message '%.300s' does not start '%s'", hc->name, msg, hc->msg);
}

static void
run_case(const struct hcase *hc)
{
	char *uri, *body = NULL, *auth, *before, *after;
	size_t n_before, n_after;
	struct th_res r;

	if (hc->max_user_bytes != 0)
		env.conf.limits.max_user_bytes = hc->max_user_bytes;
	uri = hc->make_uri ? hc->make_uri() : expand(hc->uri ? hc->uri : "/api/v2/users/{id}");
	if (hc->make_body)
		body = hc->make_body();
	else if (hc->body)
		body = strdup(hc->body);
	auth = hc->make_auth ? hc->make_auth() : th_bearer(env.admin);
	before = stored_victim(&n_before);

	r = call(hc->method ? hc->method : "PATCH", uri, body, body ? strlen(body) : 0,
	    hc->ct, auth);
	cr_assert_eq(r.status, hc->status, "%s: status %d, want %d: %.300s", hc->name,
	    r.status, hc->status, r.body);
	cr_assert_lt(r.seconds, HOSTILE_MAX_SECONDS, "%s: took %.1f s", hc->name, r.seconds);
	after = stored_victim(&n_after);
	if (hc->accepted != NULL) {
		hc->accepted(&r);
	} else {
		if (r.status == 204)
			cr_assert_str_eq(r.body, "", "%s", hc->name);
		else
			assert_error_body(hc, &r);
		cr_assert_str_eq(after, before, "%s: the stored user changed", hc->name);
		cr_assert_eq(n_after, n_before, "%s: users were added or removed", hc->name);
	}
	th_res_free(&r);
	free(before);
	free(after);
	free(uri);
	free(body);
	free(auth);
}

#define HOSTILE(tname, ...) \
	static const struct hcase hc_##tname = { .name = #tname, __VA_ARGS__ }; \
	Test(hostile, tname) { run_case(&hc_##tname); }

#define BAD_BODY .status = 400, .code = "invalid_body", .msg = "Payload validation error: "

/* ---- builders ---- */

static char *
deep_objects(void)
{
	size_t d = 10000, k;
	char *b = malloc(32 + d * 6 + d + 2), *p;

	cr_assert_not_null(b);
	p = b + sprintf(b, "{\"user_metadata\":");
	for (k = 0; k < d; k++)
		p += sprintf(p, "{\"a\":");
	*p++ = '1';
	for (k = 0; k <= d; k++)
		*p++ = '}';
	*p = '\0';
	return b;
}

static char *
deep_arrays(void)
{
	size_t d = 10000, k;
	char *b = malloc(32 + 2 * d + 4), *p;

	cr_assert_not_null(b);
	p = b + sprintf(b, "{\"user_metadata\":{\"a\":");
	for (k = 0; k < d; k++)
		*p++ = '[';
	for (k = 0; k < d; k++)
		*p++ = ']';
	strcpy(p, "}}");
	return b;
}

/* Unterminated: the parser must stop at its depth limit, not at the end. */
static char *
deep_open(void)
{
	size_t d = 10000;
	char *b = malloc(32 + d);

	cr_assert_not_null(b);
	strcpy(b, "{\"user_metadata\":");
	memset(b + strlen(b), '{', d);
	b[17 + d] = '\0';
	return b;
}

/*
 * n keys: "kXXXXX":v where XXXXX is the index in base 36 over kw chars
 * (kw = 4 covers 1,679,616 keys); vlen bytes of 'v' in each string value.
 */
static char *
many_keys(size_t n, size_t kw, size_t vlen)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	size_t per = kw + 4 + vlen + 3, k, j, x;
	char *b = malloc(64 + n * per), *p;

	cr_assert_not_null(b);
	p = b + sprintf(b, "{\"user_metadata\":{");
	for (k = 0; k < n; k++) {
		if (k > 0)
			*p++ = ',';
		*p++ = '"';
		for (j = 0, x = k; j < kw; j++, x /= 36)
			p[kw - 1 - j] = digits[x % 36];
		p += kw;
		*p++ = '"';
		*p++ = ':';
		*p++ = '"';
		memset(p, 'v', vlen);
		p += vlen;
		*p++ = '"';
	}
	strcpy(p, "}}");
	return b;
}

/* 100,000 keys, 1,000,020 bytes: within the body and stored-user limits. */
static char *
keys_100k(void)
{
	return many_keys(100000, 4, 0);
}

/* 100,000 keys, 1,200,020 bytes: over the 1 MiB body limit. */
static char *
keys_100k_big(void)
{
	return many_keys(100000, 4, 2);
}

static char *
key_of(size_t len, int nested)
{
	char *b = malloc(len + 64);

	cr_assert_not_null(b);
	strcpy(b, nested ? "{\"user_metadata\":{\"a\":{\"" : "{\"user_metadata\":{\"");
	memset(b + strlen(b), 'k', len);
	b[strlen(nested ? "{\"user_metadata\":{\"a\":{\"" : "{\"user_metadata\":{\"") + len] =
	    '\0';
	strcat(b, nested ? "\":1}}}" : "\":1}}");
	return b;
}

static char *key_256(void) { return key_of(256, 0); }
static char *key_256_nested(void) { return key_of(256, 1); }
static char *key_255(void) { return key_of(255, 0); }

static char *
id_10k(void)
{
	char *u = malloc(32 + 10240);

	cr_assert_not_null(u);
	strcpy(u, "/api/v2/users/");
	memset(u + strlen(u), 'a', 10240);
	u[14 + 10240] = '\0';
	return u;
}

/* 10 KB of text, percent-encoded: within 3 * 512 raw bytes it is not. */
static char *
id_10k_encoded(void)
{
	char *u = malloc(32 + 3 * 10240), *p;
	size_t k;

	cr_assert_not_null(u);
	p = u + sprintf(u, "/api/v2/users/");
	for (k = 0; k < 10240; k++)
		p += sprintf(p, "%%%02X", 'a' + (int)(k % 26));
	return u;
}

/* Just past the decoded limit (512 bytes) but short enough raw. */
static char *
id_513(void)
{
	char *u = malloc(32 + 513);

	cr_assert_not_null(u);
	strcpy(u, "/api/v2/users/");
	memset(u + strlen(u), 'b', 513);
	u[14 + 513] = '\0';
	return u;
}

static char *
token_10k(void)
{
	char *t = malloc(10240 + 8);

	cr_assert_not_null(t);
	strcpy(t, "Bearer mk_");
	memset(t + 10, 'A', 10240 - 3);
	t[10 + 10240 - 3] = '\0';
	return t;
}

/* The admin token with 10 KB of junk after it. */
static char *
token_admin_10k(void)
{
	char *t = malloc(10240 + 64);

	cr_assert_not_null(t);
	sprintf(t, "Bearer %s", env.admin);
	memset(t + strlen(t), 'x', 10240);
	t[7 + AUTH_TOKEN_LEN + 10240] = '\0';
	return t;
}

static char *
no_auth(void)
{
	return NULL;
}

/* ---- checks for accepted inputs ---- */

static struct json_object *
md_of(const struct th_res *r)
{
	struct json_object *md = NULL;

	cr_assert(json_object_object_get_ex(r->json, "user_metadata", &md), "%.300s", r->body);
	return md;
}

/* The answer and the stored record agree byte for byte (stored form = response). */
static void
answer_is_stored(const struct th_res *r)
{
	size_t n;
	char *s = stored_victim(&n);

	cr_assert_str_eq(s, r->body);
	free(s);
}

static void
nul_value_ok(const struct th_res *r)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(md_of(r), "z", &v));
	cr_assert_eq(json_object_get_string_len(v), 3);
	cr_assert(memcmp(json_object_get_string(v), "x\0y", 3) == 0);
	cr_assert_not_null(strstr(r->body, "\"z\":\"x\\u0000y\""), "%.300s", r->body);
	cr_assert(json_object_object_get_ex(md_of(r), "keep", &v), "the rest stays");
	answer_is_stored(r);
}

static void
keys_100k_ok(const struct th_res *r)
{
	struct json_object *v;

	/* The victim's own two keys, plus 100,000. */
	cr_assert_eq(json_object_object_length(md_of(r)), 100002);
	cr_assert(json_object_object_get_ex(md_of(r), "255r", &v), "key 99,999 is there");
	answer_is_stored(r);
}

static void
key_255_ok(const struct th_res *r)
{
	cr_assert_eq(r->status, 200);
	answer_is_stored(r);
}

static void
int64_ok(const struct th_res *r)
{
	cr_assert_not_null(strstr(r->body, "\"lo\":-9223372036854775808,"
	    "\"hi\":9223372036854775807"), "%.400s", r->body);
	answer_is_stored(r);
}

/* ---- UTF-8 ---- */

HOSTILE(invalid_utf8_value, .body = "{\"user_metadata\":{\"a\":\"\xff\xfe\"}}", BAD_BODY)
HOSTILE(invalid_utf8_key, .body = "{\"user_metadata\":{\"\xfe\":1}}", BAD_BODY)
HOSTILE(invalid_utf8_truncated, .body = "{\"user_metadata\":{\"a\":\"\xe2\x82\"}}", BAD_BODY)
HOSTILE(invalid_utf8_continuation, .body = "{\"user_metadata\":{\"a\":\"\x80\"}}", BAD_BODY)
HOSTILE(overlong_utf8_2, .body = "{\"user_metadata\":{\"a\":\"\xc0\xaf\"}}", BAD_BODY)
HOSTILE(overlong_utf8_3, .body = "{\"user_metadata\":{\"a\":\"\xe0\x80\xaf\"}}", BAD_BODY)
HOSTILE(overlong_utf8_4, .body = "{\"user_metadata\":{\"a\":\"\xf0\x80\x80\xaf\"}}", BAD_BODY)
HOSTILE(overlong_utf8_nul, .body = "{\"user_metadata\":{\"a\":\"\xc0\x80\"}}", BAD_BODY)
HOSTILE(utf8_encoded_surrogate, .body = "{\"user_metadata\":{\"a\":\"\xed\xa0\x80\"}}",
    BAD_BODY)
HOSTILE(utf8_above_10ffff, .body = "{\"user_metadata\":{\"a\":\"\xf4\x90\x80\x80\"}}",
    BAD_BODY)
HOSTILE(invalid_utf8_create, .method = "POST", .uri = "/api/v2/users",
    .body = "{\"email\":\"u8@example.com\",\"connection\":\"Username-Password-Authentication\","
    "\"name\":\"\xff\"}", BAD_BODY)

/* ---- lone surrogates ---- */

HOSTILE(lone_high_surrogate, .body = "{\"user_metadata\":{\"a\":\"\\ud800\"}}", BAD_BODY)
HOSTILE(lone_low_surrogate, .body = "{\"user_metadata\":{\"a\":\"\\udc00\"}}", BAD_BODY)
HOSTILE(lone_high_at_end, .body = "{\"user_metadata\":{\"a\":\"x\\uDBFF\"}}", BAD_BODY)
HOSTILE(reversed_surrogates, .body = "{\"user_metadata\":{\"a\":\"\\udc00\\ud800\"}}",
    BAD_BODY)
HOSTILE(high_then_non_low, .body = "{\"user_metadata\":{\"a\":\"\\ud800\\u0041\"}}",
    BAD_BODY)
HOSTILE(lone_surrogate_in_key, .body = "{\"user_metadata\":{\"\\ud800\":1}}", BAD_BODY)

/* ---- \u0000 ---- */

HOSTILE(nul_in_key, .body = "{\"user_metadata\":{\"a\\u0000b\":1}}", BAD_BODY)
HOSTILE(nul_in_nested_key, .body = "{\"user_metadata\":{\"a\":{\"\\u0000\":1}}}", BAD_BODY)
HOSTILE(nul_in_root_key, .body = "{\"user_metadata\\u0000\":{\"a\":1}}", BAD_BODY)
HOSTILE(nul_in_value, .body = "{\"user_metadata\":{\"z\":\"x\\u0000y\"}}", .status = 200,
    .accepted = nul_value_ok)

/* ---- nesting ---- */

HOSTILE(nesting_10000_objects, .make_body = deep_objects, BAD_BODY)
HOSTILE(nesting_10000_arrays, .make_body = deep_arrays, BAD_BODY)
HOSTILE(nesting_10000_unterminated, .make_body = deep_open, BAD_BODY)

/* ---- numbers ---- */

HOSTILE(number_1e400, .body = "{\"user_metadata\":{\"n\":1e400}}", BAD_BODY)
HOSTILE(number_minus_1e400, .body = "{\"user_metadata\":{\"n\":-1E+400}}", BAD_BODY)
HOSTILE(number_1e400_fraction, .body = "{\"user_metadata\":{\"n\":1.5e400}}", BAD_BODY)
HOSTILE(integer_2_pow_63, .body = "{\"user_metadata\":{\"n\":9223372036854775808}}",
    BAD_BODY)
HOSTILE(integer_below_int64, .body = "{\"user_metadata\":{\"n\":-9223372036854775809}}",
    BAD_BODY)
HOSTILE(integer_2_pow_64, .body = "{\"user_metadata\":{\"n\":18446744073709551616}}",
    BAD_BODY)
HOSTILE(integer_100_digits, .body = "{\"user_metadata\":{\"n\":"
    "1234567890123456789012345678901234567890123456789012345678901234567890"
    "123456789012345678901234567890}}", BAD_BODY)
HOSTILE(integer_in_array, .body = "{\"user_metadata\":{\"n\":[1,99999999999999999999]}}",
    BAD_BODY)
HOSTILE(integer_int64_bounds, .body = "{\"user_metadata\":{\"lo\":-9223372036854775808,"
    "\"hi\":9223372036854775807}}", .status = 200, .accepted = int64_ok)

/* ---- duplicate keys ---- */

HOSTILE(duplicate_keys, .body = "{\"user_metadata\":{\"a\":1,\"a\":2}}", BAD_BODY)
HOSTILE(duplicate_keys_nested, .body = "{\"user_metadata\":{\"a\":{\"b\":1,\"c\":2,\"b\":3}}}",
    BAD_BODY)
HOSTILE(duplicate_root_keys, .body = "{\"user_metadata\":{\"a\":1},\"user_metadata\":{}}",
    BAD_BODY)
HOSTILE(duplicate_keys_escaped, .body = "{\"user_metadata\":{\"a\":1,\"\\u0061\":2}}",
    BAD_BODY)

/* ---- 100,000 keys ---- */

HOSTILE(keys_100000_accepted, .make_body = keys_100k, .status = 200,
    .accepted = keys_100k_ok)
HOSTILE(keys_100000_over_user_limit, .make_body = keys_100k,
    .max_user_bytes = 512 * 1024, .status = 400, .code = "invalid_body",
    .msg = "Payload validation error: 'The object would be ")
HOSTILE(keys_100000_over_body_limit, .make_body = keys_100k_big, .status = 413,
    .code = "payload_too_large", .msg = "")

/* ---- key length ---- */

HOSTILE(key_256_bytes, .make_body = key_256, BAD_BODY)
HOSTILE(key_256_bytes_nested, .make_body = key_256_nested, BAD_BODY)
HOSTILE(key_255_bytes, .make_body = key_255, .status = 200, .accepted = key_255_ok)

/* ---- ids ---- */

#define NO_USER .status = 404, .code = "inexistent_user", .msg = "The user does not exist."
#define BAD_ID .status = 400, .code = "invalid_uri", .msg = "The id"
#define MD_A .body = "{\"user_metadata\":{\"a\":1}}"

HOSTILE(id_raw_slash, .uri = "/api/v2/users/{id}/x", MD_A, .status = 404, .msg = "Not Found")
HOSTILE(id_raw_slash_get, .method = "GET", .uri = "/api/v2/users/auth0|x/y", .status = 404,
    .msg = "Not Found")
HOSTILE(id_encoded_slash, .uri = "/api/v2/users/{id}%2F..", MD_A, NO_USER)
HOSTILE(id_encoded_slash_get, .method = "GET", .uri = "/api/v2/users/auth0%2F%2Fx", NO_USER)
HOSTILE(id_dotdot, .uri = "/api/v2/users/..", MD_A, NO_USER)
HOSTILE(id_dotdot_encoded, .uri = "/api/v2/users/%2E%2E", MD_A, NO_USER)
HOSTILE(id_dotdot_path, .uri = "/api/v2/users/../users/{id}", MD_A, .status = 404,
    .msg = "Not Found")
HOSTILE(id_dotdot_delete, .method = "DELETE", .uri = "/api/v2/users/..", .status = 204)
HOSTILE(id_pct00, .uri = "/api/v2/users/{id}%00", MD_A, BAD_ID)
HOSTILE(id_pct00_get, .method = "GET", .uri = "/api/v2/users/%00", BAD_ID)
HOSTILE(id_pct00_delete, .method = "DELETE", .uri = "/api/v2/users/{id}%00", BAD_ID)
HOSTILE(id_bad_escape, .uri = "/api/v2/users/{id}%g0", MD_A, BAD_ID)
HOSTILE(id_10k, .make_uri = id_10k, MD_A, BAD_ID)
HOSTILE(id_10k_get, .method = "GET", .make_uri = id_10k, BAD_ID)
HOSTILE(id_10k_delete, .method = "DELETE", .make_uri = id_10k, BAD_ID)
HOSTILE(id_10k_encoded, .method = "GET", .make_uri = id_10k_encoded, BAD_ID)
HOSTILE(id_513_bytes, .method = "GET", .make_uri = id_513, BAD_ID)

/* ---- tokens ---- */

HOSTILE(token_10k, .make_auth = token_10k, MD_A, .status = 401, .msg = "Invalid token")
HOSTILE(token_10k_get, .method = "GET", .make_auth = token_10k, .status = 401,
    .msg = "Invalid token")
HOSTILE(token_admin_plus_10k, .make_auth = token_admin_10k, MD_A, .status = 401,
    .msg = "Invalid token")
HOSTILE(no_token, .make_auth = no_auth, MD_A, .status = 401, .msg = "Missing authentication")

/* ---- no body where one is needed ---- */

HOSTILE(patch_no_body, .ct = "application/json", BAD_BODY)
HOSTILE(patch_no_body_no_type, .ct = "", BAD_BODY)
HOSTILE(patch_empty_body, .body = "", .ct = "application/json", BAD_BODY)
HOSTILE(patch_blank_body, .body = " \r\n\t ", BAD_BODY)
HOSTILE(post_user_no_body, .method = "POST", .uri = "/api/v2/users", .ct = "application/json",
    BAD_BODY)
HOSTILE(post_client_no_body, .method = "POST", .uri = "/api/v2/clients", .ct = "",
    BAD_BODY)

/* A NUL byte inside the body (not the \u0000 escape): the length says it is there. */
Test(hostile, raw_nul_byte_counts)
{
	static const char body[] = "{\"user_metadata\":{\"a\":\"x\0y\"}}";
	char *auth = th_bearer(env.admin), *uri = expand("/api/v2/users/{id}"), *before, *after;
	size_t n0, n1;
	struct th_res r;

	before = stored_victim(&n0);
	r = call("PATCH", uri, body, sizeof(body) - 1, NULL, auth);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "errorCode"), "invalid_body");
	after = stored_victim(&n1);
	cr_assert_str_eq(after, before);
	th_res_free(&r);
	free(before);
	free(after);
	free(auth);
	free(uri);
}

/* \u0000 in a root attribute's value: refused there (names are C strings
 * to the indexes and to Auth0), unlike in metadata values. */
HOSTILE(nul_in_name, .body = "{\"name\":\"a\\u0000b\"}", BAD_BODY)
HOSTILE(nul_in_email, .body = "{\"email\":\"a\\u0000b@example.com\"}", BAD_BODY)
HOSTILE(nul_in_user_id_create, .method = "POST", .uri = "/api/v2/users",
    .body = "{\"email\":\"nul@example.com\",\"connection\":\"Username-Password-Authentication\","
    "\"user_id\":\"a\\u0000b\"}", BAD_BODY)

/* ---- the search query (q) ---- */

/*
 * Found by tests/fuzz/fuzz_request: q's parser quoted an unknown field
 * name as it came, so a non-UTF-8 byte in q made an answer that is not
 * UTF-8 JSON (call() parses every answer with jx_parse, which checks).
 */
#define BAD_Q .status = 400, .code = "invalid_query_string", .msg = "Query validation error: "
HOSTILE(q_invalid_utf8_field, .method = "GET", .uri = "/api/v2/users?q=ema%96il%3A%22x%22",
    BAD_Q)
HOSTILE(q_invalid_utf8_value, .method = "GET", .uri = "/api/v2/users?q=email%3A%C0%AF",
    BAD_Q)
HOSTILE(q_lone_surrogate_utf8, .method = "GET", .uri = "/api/v2/users?q=name%3A%ED%A0%80",
    BAD_Q)
/* A long unknown field of 3-byte characters: quoted, but cut between characters. */
HOSTILE(q_long_field_cut, .method = "GET", .uri = "/api/v2/users?q=a"
    "%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC"
    "%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC"
    "%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC"
    "%3Ax", .status = 400, .code = "invalid_query_string",
    .msg = "Query validation error: 'Unknown field 'a\xe2\x82\xac")

/* An id that holds "/" and ".." is an ordinary id: reachable encoded, and
 * a raw "/" in the path is another route. */
Test(hostile, id_with_slash_roundtrip)
{
	static const char body[] = "{\"email\":\"slash@example.com\",\"connection\":"
	    "\"Username-Password-Authentication\",\"user_id\":\"a/../b\"}";
	char *auth = th_bearer(env.admin);
	struct th_res r;

	r = call("POST", "/api/v2/users", body, sizeof(body) - 1, NULL, auth);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "user_id"), "auth0|a/../b");
	th_res_free(&r);
	r = call("GET", "/api/v2/users/auth0%7Ca%2F..%2Fb", NULL, 0, NULL, auth);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "user_id"), "auth0|a/../b");
	th_res_free(&r);
	r = call("GET", "/api/v2/users/auth0|a/../b", NULL, 0, NULL, auth);
	cr_assert_eq(r.status, 404, "%s", r.body);
	cr_assert_null(jx_get_str(r.json, "errorCode"), "an unknown route: %s", r.body);
	th_res_free(&r);
	r = call("DELETE", "/api/v2/users/auth0%7Ca%2F..%2Fb", NULL, 0, NULL, auth);
	cr_assert_eq(r.status, 204, "%s", r.body);
	th_res_free(&r);
	r = call("GET", "/api/v2/users/auth0%7Ca%2F..%2Fb", NULL, 0, NULL, auth);
	cr_assert_eq(r.status, 404, "%s", r.body);
	th_res_free(&r);
	free(auth);
}

/*
 * ---- POST /oauth/token ----
 *
 * The token endpoint's hostile inputs: each is refused with the OAuth
 * error of docs/api.md 8a in bounded time, and leaves the store as it
 * was: no signing key made (the first is made only for a token issued),
 * no grant, the victim untouched.  Then the time of a wrong secret does
 * not depend on where it differs from the right one, nor on whether the
 * client exists (both compared as SHA-256 digests with CRYPTO_memcmp).
 */
static char tok_client[64], tok_secret[128];

/* A client with a grant, made through the API (owned by the suite's store). */
static void
tok_client_make(void)
{
	char body[512], *auth = th_bearer(env.admin);
	struct th_res r;

	r = call("POST", "/api/v2/clients", "{\"name\":\"m2m\"}", 14, NULL, auth);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(tok_client, sizeof(tok_client), "%s", jx_get_str(r.json, "client_id"));
	snprintf(tok_secret, sizeof(tok_secret), "%s", jx_get_str(r.json, "client_secret"));
	th_res_free(&r);
	snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"audience\":"
	    "\"https://localhost/api/v2/\",\"scope\":[\"read:users\"]}", tok_client);
	r = call("POST", "/api/v2/client-grants", body, strlen(body), NULL, auth);
	cr_assert_eq(r.status, 201, "%s", r.body);
	th_res_free(&r);
	free(auth);
}

static size_t
table_count(enum store_table t)
{
	struct store_txn *tx;
	size_t n;

	cr_assert_eq(store_read_begin(env.st, &tx), MK_OK);
	cr_assert_eq(store_count(tx, t, &n), MK_OK);
	store_txn_end(tx);
	return n;
}

/* A JSON token request with client_id id (NULL: the client's) and secret sec. */
static char *
tok_body(const char *id, const char *sec)
{
	struct mk_buf b = MK_BUF_INIT;

	buf_printf(&b, "{\"grant_type\":\"client_credentials\",\"client_id\":\"%s\","
	    "\"client_secret\":\"%s\",\"audience\":\"https://localhost/api/v2/\"}",
	    id != NULL ? id : tok_client, sec);
	return b.p;
}

/* n bytes of 'a' as a JSON string member's value, inside a token request. */
static char *
tok_huge(const char *member, size_t n)
{
	struct mk_buf b = MK_BUF_INIT;
	size_t i;

	buf_printf(&b, "{\"grant_type\":\"client_credentials\",\"audience\":"
	    "\"https://localhost/api/v2/\",\"%s\":\"", member);
	for (i = 0; i < n; i++)
		buf_addc(&b, 'a');
	buf_adds(&b, "\"}");
	return b.p;
}

struct tcase {
	const char *name;
	const char *body;
	char *(*make)(void);
	const char *ct;
	int status;
	const char *error;
};

static char *huge_client_id(void) { return tok_huge("client_id", 300); }
static char *huge_secret(void) { return tok_huge("client_secret", 4000); }
static char *huge_scope(void) { return tok_huge("scope", 3000); }
static char *huge_body(void) { return tok_huge("padding", 20000); }
static char *deep_json(void)
{
	struct mk_buf b = MK_BUF_INIT;
	int i;

	buf_adds(&b, "{\"grant_type\":");
	for (i = 0; i < 5000; i++)
		buf_addc(&b, '[');
	return b.p;
}
static char *unknown_client(void) { return tok_body("nobody-at-all", tok_secret); }
/* A byte of the secret changed: 'X', unless it was 'X' (then the right secret). */
static char other_char(char c) { return c == 'X' ? 'Y' : 'X'; }
static char *wrong_secret(void)
{
	char s[128];

	snprintf(s, sizeof(s), "%s", tok_secret);
	s[strlen(s) - 1] = other_char(s[strlen(s) - 1]);
	return tok_body(NULL, s);
}
static char *empty_secret(void) { return tok_body(NULL, ""); }
static char *nul_in_secret(void) { return tok_body(NULL, "abc\\u0000def"); }

static const struct tcase tcases[] = {
	{ "bad JSON", "{\"grant_type\":\"client_credentials\"", NULL, "application/json", 400,
	    "invalid_request" },
	{ "JSON array", "[\"client_credentials\"]", NULL, "application/json", 400,
	    "invalid_request" },
	{ "deep JSON", NULL, deep_json, "application/json", 400, "invalid_request" },
	{ "text/plain", "grant_type=client_credentials", NULL, "text/plain", 400,
	    "invalid_request" },
	{ "multipart", "--x\r\n", NULL, "multipart/form-data; boundary=x", 400,
	    "invalid_request" },
	{ "no content type", "{}", NULL, "", 400, "invalid_request" },
	{ "huge client_id", NULL, huge_client_id, "application/json", 400, "invalid_request" },
	{ "huge secret", NULL, huge_secret, "application/json", 400, "invalid_request" },
	{ "huge scope", NULL, huge_scope, "application/json", 400, "invalid_request" },
	{ "body over 16 KiB", NULL, huge_body, "application/json", 413, "invalid_request" },
	{ "form NUL", "grant_type=client_credentials&client_id=a%00b", NULL,
	    "application/x-www-form-urlencoded", 400, "invalid_request" },
	{ "unknown client", NULL, unknown_client, "application/json", 401, "access_denied" },
	{ "wrong secret", NULL, wrong_secret, "application/json", 401, "access_denied" },
	{ "empty secret", NULL, empty_secret, "application/json", 401, "access_denied" },
	{ "NUL in secret", NULL, nul_in_secret, "application/json", 400, "invalid_request" },
};

Test(hostile, oauth_token_table)
{
	struct th_res r;
	size_t i, grants, before_n, after_n;
	char *before, *after, *body;

	tok_client_make();
	grants = table_count(ST_GRANTS);
	before = stored_victim(&before_n);
	for (i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++) {
		const struct tcase *tc = &tcases[i];

		body = tc->make != NULL ? tc->make() : strdup(tc->body);
		r = call("POST", "/oauth/token", body, strlen(body), tc->ct, NULL);
		cr_assert_eq(r.status, tc->status, "%s: %d %.300s", tc->name, r.status, r.body);
		cr_assert_str_eq(jx_get_str(r.json, "error"), tc->error, "%s", tc->name);
		cr_assert_not_null(jx_get_str(r.json, "error_description"), "%s", tc->name);
		cr_assert_lt(r.seconds, HOSTILE_MAX_SECONDS, "%s: took %.1f s", tc->name,
		    r.seconds);
		th_res_free(&r);
		free(body);
	}
	cr_assert_eq(table_count(ST_KEYS), 0, "no key was made for a refused request");
	cr_assert_eq(table_count(ST_GRANTS), grants);
	after = stored_victim(&after_n);
	cr_assert_str_eq(after, before);
	cr_assert_eq(after_n, before_n);
	free(before);
	free(after);
	/* The control: the right secret gets a token. */
	body = tok_body(NULL, tok_secret);
	r = call("POST", "/oauth/token", body, strlen(body), NULL, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	free(body);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The median time of a wrong secret differing in its first byte, in its
 * last byte, and of an unknown client, measured interleaved so that the
 * machine's load falls on all three alike.  The bound is loose (a factor
 * of 2): a byte-by-byte compare of 64 bytes would not show against the
 * request's own cost, so this catches gross differences (an early exit
 * before hashing, a lookup that returns first for unknown clients), and
 * the constant-time compare itself is CRYPTO_memcmp's (oauth.c).
 */
#define TIMING_ROUNDS 301

Test(hostile, oauth_secret_timing)
{
	double t[3][TIMING_ROUNDS], med[3];
	char *bodies[3], s[128];
	struct th_res r;
	int i, k;

	tok_client_make();
	snprintf(s, sizeof(s), "%s", tok_secret);
	s[0] = other_char(s[0]);
	bodies[0] = tok_body(NULL, s);
	snprintf(s, sizeof(s), "%s", tok_secret);
	s[strlen(s) - 1] = other_char(s[strlen(s) - 1]);
	bodies[1] = tok_body(NULL, s);
	bodies[2] = tok_body("nobody-at-all-000000000000000000", tok_secret);
	for (i = 0; i < TIMING_ROUNDS; i++)
		for (k = 0; k < 3; k++) {
			r = call("POST", "/oauth/token", bodies[k], strlen(bodies[k]), NULL, NULL);
			cr_assert_eq(r.status, 401, "round %d, body %d: %d %.300s", i, k,
			    r.status, r.body);
			t[k][i] = r.seconds;
			th_res_free(&r);
		}
	for (k = 0; k < 3; k++) {
		qsort(t[k], TIMING_ROUNDS, sizeof(double), cmp_double);
		med[k] = t[k][TIMING_ROUNDS / 2];
		free(bodies[k]);
	}
	cr_log_info("median s: first byte %.2e, last byte %.2e, unknown client %.2e",
	    med[0], med[1], med[2]);
	cr_assert(med[1] < 2 * med[0] && med[0] < 2 * med[1],
	    "first %.2e vs last %.2e", med[0], med[1]);
	cr_assert(med[2] < 2 * med[0] && med[0] < 2 * med[2],
	    "known %.2e vs unknown %.2e", med[0], med[2]);
}
