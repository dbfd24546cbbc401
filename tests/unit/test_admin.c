/*
 * test_admin: the admin page (admin_handle) over a real store, request by
 * request as the worker hands them over: which paths are the page's, the
 * security headers, sign-in (CSRF pair, wrong token), the session in the
 * store (never the token), its cookie's flags, CSRF on every POST, a save
 * with If-Match and the conflict page, a read-only session, an expired
 * session, sign-out.  (Through a web server and a browser:
 * tests/integration/test_admin.sh, tests/browser/test_admin.sh.)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "admin.h"
#include "helper_api.h"
#include "util.h"

static struct th_env env;

static void
setup(void)
{
	th_env_open(&env, "admin", 64u << 20);
}

static void
teardown(void)
{
	th_env_close(&env);
}

TestSuite(admin, .init = setup, .fini = teardown, .timeout = 60);

struct page {
	int status;
	char *headers;
	char *body;
};

static void
page_free(struct page *p)
{
	free(p->headers);
	free(p->body);
}

/* One request to admin_handle; cookie and form may be NULL. */
static struct page
adm(const char *method, const char *uri, const char *cookie, const char *form, int https)
{
	struct http_req rq;
	struct http_resp rs;
	struct page p;

	memset(&rq, 0, sizeof(rq));
	memset(&rs, 0, sizeof(rs));
	rq.method = method;
	rq.uri = uri;
	rq.cookie = cookie;
	rq.https = https;
	if (form != NULL) {
		rq.content_type = "application/x-www-form-urlencoded";
		rq.body = form;
		rq.body_len = strlen(form);
	}
	http_resp_reset(&rs);
	admin_handle(env.st, &env.conf, &rq, &rs);
	p.status = rs.status;
	p.headers = strndup(rs.headers.p ? rs.headers.p : "", rs.headers.n);
	p.body = strndup(rs.body.p ? rs.body.p : "", rs.body.n);
	cr_assert(p.headers != NULL && p.body != NULL);
	http_resp_free(&rs);
	return p;
}

/* The value after "name=" up to one of the stop characters, into out. */
static void
grab(const char *text, const char *name, const char *stop, char *out, size_t outlen)
{
	const char *p = strstr(text, name);
	size_t n;

	cr_assert(p != NULL, "no %s in:\n%s", name, text);
	p += strlen(name);
	n = strcspn(p, stop);
	cr_assert(n < outlen);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Sign in with token; the session cookie ("mk_admin=...") into cookie. */
static void
sign_in(const char *token, char *cookie, size_t len)
{
	char csrf[64], login[128], form[512];
	struct page p = adm("GET", "/admin/", NULL, NULL, 0);

	cr_assert_eq(p.status, 200);
	grab(p.body, "name=\"csrf\" value=\"", "\"", csrf, sizeof(csrf));
	grab(p.headers, "Set-Cookie: ", ";", login, sizeof(login));
	page_free(&p);
	snprintf(form, sizeof(form), "csrf=%s&token=%s", csrf, token);
	p = adm("POST", "/admin/login", login, form, 0);
	cr_assert_eq(p.status, 303, "%d %s", p.status, p.body);
	grab(p.headers, "Set-Cookie: ", ";", cookie, len);
	cr_assert(strncmp(cookie, "mk_admin=", 9) == 0);
	page_free(&p);
}

/* A user with user_metadata {"a":1}; its id, percent-encoded, into enc. */
static void
make_user(char *enc, size_t len)
{
	struct th_res r = th_call(&env, "POST", "/api/v2/users",
	    "{\"email\":\"u@example.com\",\"connection\":\"Username-Password-Authentication\","
	    "\"user_metadata\":{\"a\":1}}", env.admin);
	const char *id;

	cr_assert_eq(r.status, 201);
	id = json_object_get_string(json_object_object_get(r.json, "user_id"));
	cr_assert(strncmp(id, "auth0|", 6) == 0);
	snprintf(enc, len, "auth0%%7C%s", id + 6);
	th_res_free(&r);
}

static char *
stored_meta(const char *enc)
{
	char uri[256];
	struct th_res r;
	char *s;

	snprintf(uri, sizeof(uri), "/api/v2/users/%s", enc);
	r = th_call(&env, "GET", uri, NULL, env.admin);
	cr_assert_eq(r.status, 200);
	s = strdup(json_object_to_json_string_ext(json_object_object_get(r.json,
	    "user_metadata"), JSON_C_TO_STRING_PLAIN));
	th_res_free(&r);
	return s;
}

Test(admin, paths)
{
	cr_assert(admin_path("/admin"));
	cr_assert(admin_path("/admin/"));
	cr_assert(admin_path("/admin/users?q=a"));
	cr_assert(admin_path("/site/admin/users"));
	cr_assert(!admin_path("/admin/api/v2/users"), "the API keeps every /api/v2/ path");
	cr_assert(!admin_path("/api/v2/users"));
	cr_assert(!admin_path("/administrator"));
	cr_assert(!admin_path("/api/v2/users?q=/admin/"));
	cr_assert(!admin_path(NULL));
}

Test(admin, headers_and_sign_in)
{
	char cookie[128], csrf[64], login[128], form[512], hash[65], key[70];
	struct page p = adm("GET", "/admin/", NULL, NULL, 0);
	struct store_txn *t;
	struct mk_slice k, rec;

	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.headers, "Content-Security-Policy: default-src 'none'; script-src 'self'") != NULL);
	cr_assert(strstr(p.headers, "unsafe-inline") == NULL);
	cr_assert(strstr(p.headers, "X-Frame-Options: DENY\r\n") != NULL);
	cr_assert(strstr(p.headers, "Set-Cookie: mk_login=") != NULL);
	grab(p.body, "name=\"csrf\" value=\"", "\"", csrf, sizeof(csrf));
	grab(p.headers, "Set-Cookie: ", ";", login, sizeof(login));
	page_free(&p);

	snprintf(form, sizeof(form), "token=%s", env.admin);
	p = adm("POST", "/admin/login", login, form, 0);
	cr_assert_eq(p.status, 403, "sign-in without the form's CSRF token");
	cr_assert(strstr(p.headers, "mk_admin=") == NULL);
	page_free(&p);
	snprintf(form, sizeof(form), "csrf=%s&token=mk_wrong", csrf);
	p = adm("POST", "/admin/login", login, form, 0);
	cr_assert_eq(p.status, 401);
	page_free(&p);

	snprintf(form, sizeof(form), "csrf=%s&token=%s", csrf, env.admin);
	p = adm("POST", "/admin/login", login, form, 1);
	cr_assert_eq(p.status, 303);
	cr_assert(strstr(p.headers, "Location: /admin/users\r\n") != NULL);
	cr_assert(strstr(p.headers, "; Path=/admin/; Max-Age=28800; HttpOnly; SameSite=Strict; "
	    "Secure\r\n") != NULL, "%s", p.headers);
	grab(p.headers, "Set-Cookie: mk_admin=", ";", cookie, sizeof(cookie));
	page_free(&p);

	/* The store holds the id's hash and the token's key, never either secret. */
	mk_sha256_hex(cookie, strlen(cookie), hash);
	memcpy(key, hash, 65);
	k.p = key;
	k.n = 64;
	cr_assert_eq(store_read_begin(env.st, &t), MK_OK);
	cr_assert_eq(store_get(t, ST_SESSIONS, k, &rec), MK_OK);
	cr_assert(memmem(rec.p, rec.n, env.admin, strlen(env.admin)) == NULL);
	cr_assert(memmem(rec.p, rec.n, cookie, strlen(cookie)) == NULL);
	store_txn_end(t);
}

Test(admin, session_csrf_save_conflict_signout)
{
	char cookie[128], enc[128], uri[256], csrf[64], etag[128], form[1024];
	struct page p;
	char *before, *after;

	make_user(enc, sizeof(enc));
	p = adm("GET", "/admin/users", NULL, NULL, 0);
	cr_assert_eq(p.status, 303, "no session: to the sign-in page");
	page_free(&p);
	p = adm("GET", "/admin/users", "mk_admin=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, 0);
	cr_assert_eq(p.status, 303, "an unknown session id");
	page_free(&p);

	sign_in(env.admin, cookie, sizeof(cookie));
	snprintf(uri, sizeof(uri), "/admin/users/%s", enc);
	p = adm("GET", uri, cookie, NULL, 0);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.body, "<textarea id=\"ed-user_metadata\"") != NULL);
	grab(p.body, "name=\"csrf\" value=\"", "\"", csrf, sizeof(csrf));
	grab(p.body, "name=\"etag\" value=\"&quot;", "&", etag, sizeof(etag));
	page_free(&p);

	before = stored_meta(enc);
	snprintf(form, sizeof(form), "user_metadata=%%7B%%22a%%22%%3A2%%7D&orig_user_metadata="
	    "%%7B%%22a%%22%%3A1%%7D&etag=%%22%s%%22", etag);
	p = adm("POST", uri, cookie, form, 0);
	cr_assert_eq(p.status, 403, "a POST without the CSRF token");
	page_free(&p);
	after = stored_meta(enc);
	cr_assert_str_eq(after, before);
	free(after);

	snprintf(form, sizeof(form), "csrf=%s&user_metadata=%%7B%%22a%%22%%3A2%%7D&"
	    "orig_user_metadata=%%7B%%22a%%22%%3A1%%7D&etag=%%22%s%%22", csrf, etag);
	p = adm("POST", uri, cookie, form, 0);
	cr_assert_eq(p.status, 303, "%s", p.body);
	page_free(&p);
	after = stored_meta(enc);
	cr_assert_str_eq(after, "{\"a\":2}");
	free(after);

	/* The same save again: its ETag is old now. */
	snprintf(form, sizeof(form), "csrf=%s&user_metadata=%%7B%%22a%%22%%3A3%%2C%%22b%%22%%3A1%%7D&"
	    "orig_user_metadata=%%7B%%22a%%22%%3A1%%7D&etag=%%22%s%%22", csrf, etag);
	p = adm("POST", uri, cookie, form, 0);
	cr_assert_eq(p.status, 409);
	cr_assert(strstr(p.body, "Apply mine on top") != NULL);
	cr_assert(strstr(p.body, "Changed meanwhile: <code>a</code>") != NULL, "%s", p.body);
	page_free(&p);
	after = stored_meta(enc);
	cr_assert_str_eq(after, "{\"a\":2}");
	free(after);
	free(before);

	snprintf(form, sizeof(form), "csrf=%s", csrf);
	p = adm("POST", "/admin/logout", cookie, form, 0);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.headers, "Set-Cookie: mk_admin=; Path=/admin/; Max-Age=0") != NULL);
	page_free(&p);
	p = adm("GET", "/admin/users", cookie, NULL, 0);
	cr_assert_eq(p.status, 303, "the old cookie after sign-out");
	page_free(&p);
}

Test(admin, read_only_session)
{
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1], cookie[128], enc[128], uri[256],
	    csrf[64], form[512];
	struct auth_grant g = { SC_READ_USERS, NULL, 0 };
	struct mk_err err;
	struct page p;
	char *after;

	make_user(enc, sizeof(enc));
	cr_assert_eq(auth_token_create(env.st, &g, tok, id, &err), MK_OK);
	sign_in(tok, cookie, sizeof(cookie));
	snprintf(uri, sizeof(uri), "/admin/users/%s", enc);
	p = adm("GET", uri, cookie, NULL, 0);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.body, "<textarea") == NULL, "no editor");
	cr_assert(strstr(p.body, "/delete") == NULL, "no delete");
	cr_assert(strstr(p.body, "/tokens") == NULL, "no tokens link");
	grab(p.body, "name=\"csrf\" value=\"", "\"", csrf, sizeof(csrf));
	page_free(&p);
	snprintf(form, sizeof(form), "csrf=%s&user_metadata=%%7B%%7D&orig_user_metadata="
	    "%%7B%%22a%%22%%3A1%%7D&etag=", csrf);
	p = adm("POST", uri, cookie, form, 0);
	cr_assert_eq(p.status, 403);
	page_free(&p);
	after = stored_meta(enc);
	cr_assert_str_eq(after, "{\"a\":1}");
	free(after);
	p = adm("GET", "/admin/tokens", cookie, NULL, 0);
	cr_assert_eq(p.status, 403);
	page_free(&p);

	/* Revoking the token ends the session. */
	cr_assert_eq(auth_token_revoke(env.st, id, NULL, &err), MK_OK);
	p = adm("GET", uri, cookie, NULL, 0);
	cr_assert_eq(p.status, 303);
	page_free(&p);
}

static enum mk_code
put_session(struct store_txn *t, void *ctx, struct mk_err *err)
{
	const char *const *kv = ctx;
	struct mk_slice k = { kv[0], strlen(kv[0]) }, r = { kv[1], strlen(kv[1]) };

	(void)err;
	return store_put(t, ST_SESSIONS, k, r);
}

Test(admin, expired_session_and_mount)
{
	char sid[] = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", hash[65], tokkey[65], rec[256],
	    cookie[128];
	const char *kv[2] = { hash, rec };
	struct mk_err err;
	struct page p;

	mk_sha256_hex(sid, strlen(sid), hash);
	auth_hash(env.admin, tokkey);
	snprintf(rec, sizeof(rec), "{\"tok\":\"%s\",\"csrf\":\"%s\",\"exp\":%lld}", tokkey, sid,
	    (long long)(mk_now_ms() - 1000));
	cr_assert_eq(store_write(env.st, put_session, kv, &err), MK_OK);
	snprintf(cookie, sizeof(cookie), "other=1; mk_admin=%s", sid);
	p = adm("GET", "/admin/users", cookie, NULL, 0);
	cr_assert_eq(p.status, 303, "an expired session is no session");
	page_free(&p);

	snprintf(rec, sizeof(rec), "{\"tok\":\"%s\",\"csrf\":\"%s\",\"exp\":%lld}", tokkey, sid,
	    (long long)(mk_now_ms() + 60000));
	cr_assert_eq(store_write(env.st, put_session, kv, &err), MK_OK);
	p = adm("GET", "/site/admin/users", cookie, NULL, 0);
	cr_assert_eq(p.status, 200);
	cr_assert(strstr(p.body, "href=\"/site/admin/clients\"") != NULL, "links under the mount");
	cr_assert(strstr(p.headers, "Content-Security-Policy:") != NULL);
	page_free(&p);
	p = adm("DELETE", "/admin/users", cookie, NULL, 0);
	cr_assert_eq(p.status, 405);
	page_free(&p);
	p = adm("GET", "/admin/nope", cookie, NULL, 0);
	cr_assert_eq(p.status, 404);
	page_free(&p);
}

Test(admin, sign_in_sweeps_expired_sessions)
{
	char old[65], live[65], rec[256], tokkey[65], cookie[128];
	const char *kv[2] = { old, rec };
	struct store_txn *t;
	struct mk_slice k, r;
	struct mk_err err;

	auth_hash(env.admin, tokkey);
	mk_sha256_hex("expired", 7, old);
	snprintf(rec, sizeof(rec), "{\"tok\":\"%s\",\"csrf\":\"x\",\"exp\":1}", tokkey);
	cr_assert_eq(store_write(env.st, put_session, kv, &err), MK_OK);
	kv[0] = live;
	mk_sha256_hex("live", 4, live);
	snprintf(rec, sizeof(rec), "{\"tok\":\"%s\",\"csrf\":\"x\",\"exp\":%lld}", tokkey,
	    (long long)(mk_now_ms() + 60000));
	cr_assert_eq(store_write(env.st, put_session, kv, &err), MK_OK);

	sign_in(env.admin, cookie, sizeof(cookie));
	cr_assert_eq(store_read_begin(env.st, &t), MK_OK);
	k.p = old;
	k.n = 64;
	cr_assert_eq(store_get(t, ST_SESSIONS, k, &r), MK_ERR_NOTFOUND, "the expired one is gone");
	k.p = live;
	cr_assert_eq(store_get(t, ST_SESSIONS, k, &r), MK_OK, "the live one stays");
	store_txn_end(t);
}
