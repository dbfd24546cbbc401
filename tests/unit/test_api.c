/*
 * test_api: the whole request path below the transport, in process: route,
 * token, scopes, body checks, svc, model, meta and a real LMDB environment in
 * a temporary directory.  The FastCGI and web server layers are covered by
 * tests/proc and tests/integration.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_query.h"
#include "helper_api.h"
#include "jx.h"
#include "meta.h"
#include "query.h"
#include "store.h"
#include "util.h"

static struct th_env env;

static void
setup(void)
{
	th_env_open(&env, "test-api", 64u << 20);
}

static void
teardown(void)
{
	th_env_close(&env);
}

TestSuite(api, .init = setup, .fini = teardown);

/* Send a request; ct NULL means application/json when there is a body. */
static struct th_res
call_ct(const char *method, const char *uri, const char *body, const char *token,
    const char *ct)
{
	struct http_req rq;

	th_req_init(&rq, method, uri, body);
	if (body != NULL && ct != NULL)
		rq.content_type = ct;
	return th_send(&env, &rq, token);
}

static struct th_res
call(const char *method, const char *uri, const char *body, const char *token)
{
	return th_call(&env, method, uri, body, token);
}

static const char *
str(struct json_object *o, const char *key)
{
	const char *s = jx_get_str(o, key);
	return s ? s : "(absent)";
}

/* Compare a member of o with the JSON text want (canonical through json-c). */
static int
json_eq(struct json_object *o, const char *key, const char *want)
{
	struct json_object *v = NULL, *w = json_tokener_parse(want);
	int eq;

	if (key != NULL)
		json_object_object_get_ex(o, key, &v);
	else
		v = o;
	eq = json_object_equal(v, w);
	json_object_put(w);
	return eq;
}

static void
assert_error(struct th_res *r, int status, const char *code, const char *msg_prefix)
{
	struct json_object *v;

	cr_assert_eq(r->status, status, "status %d, want %d: %s", r->status, status, r->body);
	cr_assert_not_null(r->json, "error body is JSON: %s", r->body);
	cr_assert(json_object_object_get_ex(r->json, "statusCode", &v));
	cr_assert_eq(json_object_get_int(v), status);
	if (code != NULL)
		cr_assert_str_eq(str(r->json, "errorCode"), code, "%s", r->body);
	else
		cr_assert_not(json_object_object_get_ex(r->json, "errorCode", &v), "%s", r->body);
	cr_assert(strncmp(str(r->json, "message"), msg_prefix, strlen(msg_prefix)) == 0,
	    "message '%s' does not start '%s'", str(r->json, "message"), msg_prefix);
}

/* Create a user and return its id (owned). */
static char *
mkuser(const char *email, const char *extra)
{
	char body[4096];
	struct th_res r;
	char *id;

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"connection\":"
	    "\"Username-Password-Authentication\"%s%s}", email, extra ? "," : "",
	    extra ? extra : "");
	r = call("POST", "/api/v2/users", body, env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	id = strdup(str(r.json, "user_id"));
	th_res_free(&r);
	return id;
}

static char *
user_text(const char *id)
{
	char uri[1024];
	struct th_res r;
	char *t;

	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	r = call("GET", uri, NULL, env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	t = r.body;
	r.body = NULL;
	th_res_free(&r);
	return t;
}

Test(api, seed_walkthrough)
{
	char uri[256], *id;
	struct th_res r;

	r = call("POST", "/api/v2/users", "{\"email\":\"jane.doe@example.com\","
	    "\"connection\":\"Username-Password-Authentication\",\"password\":\"s3cret!pw\","
	    "\"user_metadata\":{\"hobby\":\"surfing\"},\"app_metadata\":{\"plan\":\"full\"}}",
	    env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert(json_eq(r.json, "user_metadata", "{\"hobby\":\"surfing\"}"));
	cr_assert(json_eq(r.json, "app_metadata", "{\"plan\":\"full\"}"));
	cr_assert_str_eq(str(r.json, "email"), "jane.doe@example.com");
	cr_assert_null(strstr(r.body, "s3cret"), "the password is never returned");
	cr_assert_null(strstr(r.body, "password"));
	id = strdup(str(r.json, "user_id"));
	cr_assert_eq(strncmp(id, "auth0|", 6), 0);
	cr_assert_eq(strlen(id), 30);
	th_res_free(&r);
	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);

	r = call("PATCH", uri, "{\"user_metadata\":{\"addresses\":{\"home\":"
	    "{\"street\":\"123 Main St\",\"city\":\"Anytown\"}}}}", env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_eq(r.json, "user_metadata", "{\"hobby\":\"surfing\",\"addresses\":"
	    "{\"home\":{\"street\":\"123 Main St\",\"city\":\"Anytown\"}}}"), "%s", r.body);
	th_res_free(&r);

	/* Nested objects are replaced whole: send all of addresses to add work. */
	r = call("PATCH", uri, "{\"user_metadata\":{\"addresses\":{\"home\":"
	    "{\"street\":\"123 Main St\",\"city\":\"Anytown\"},\"work\":{\"street\":\"999 Corporate Way\","
	    "\"city\":\"Anytown\"}}}}", env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_eq(r.json, "user_metadata", "{\"hobby\":\"surfing\",\"addresses\":"
	    "{\"home\":{\"street\":\"123 Main St\",\"city\":\"Anytown\"},\"work\":{\"street\":"
	    "\"999 Corporate Way\",\"city\":\"Anytown\"}}}"), "%s", r.body);
	th_res_free(&r);

	r = call("PATCH", uri, "{\"user_metadata\":{\"addresses\":{\"work\":{\"city\":\"X\"}}}}",
	    env.admin);
	cr_assert(json_eq(r.json, "user_metadata", "{\"hobby\":\"surfing\",\"addresses\":"
	    "{\"work\":{\"city\":\"X\"}}}"), "home is gone: %s", r.body);
	th_res_free(&r);

	r = call("PATCH", uri, "{\"user_metadata\":{\"hobby\":null}}", env.admin);
	cr_assert_eq(r.status, 200);
	cr_assert(json_eq(r.json, "user_metadata", "{\"addresses\":{\"work\":{\"city\":\"X\"}}}"),
	    "%s", r.body);
	th_res_free(&r);

	r = call("PATCH", uri, "{\"user_metadata\":{\"addresses\":null}}", env.admin);
	cr_assert(json_eq(r.json, "user_metadata", "{}"), "last key removed leaves {}: %s", r.body);
	th_res_free(&r);

	r = call("PATCH", uri, "{\"user_metadata\":{}}", env.admin);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.body, "user_metadata"), "{} removes it: %s", r.body);
	cr_assert(json_eq(r.json, "app_metadata", "{\"plan\":\"full\"}"));
	th_res_free(&r);

	r = call("PATCH", uri, "{\"app_metadata\":{}}", env.admin);
	cr_assert_null(strstr(r.body, "app_metadata"), "%s", r.body);
	th_res_free(&r);
	free(id);
}

Test(api, routes_and_methods)
{
	struct th_res r;

	r = call("GET", "/api/v2/nothing", NULL, env.admin);
	assert_error(&r, 404, NULL, "Not Found");
	th_res_free(&r);
	r = call("GET", "/api/v2/users/a/b", NULL, env.admin);
	assert_error(&r, 404, NULL, "Not Found");
	th_res_free(&r);
	r = call("PUT", "/api/v2/users/auth0%7Cabc", NULL, env.admin);
	assert_error(&r, 405, NULL, "Method Not Allowed");
	cr_assert_not_null(strstr(r.headers, "Allow: GET, PATCH, DELETE\r\n"), "%s", r.headers);
	th_res_free(&r);
	r = call("GET", "/api/v2/users/auth0%zz", NULL, env.admin);
	assert_error(&r, 400, "invalid_uri", "The id");
	th_res_free(&r);
	r = call("GET", "/api/v2/users/auth0%00x", NULL, env.admin);
	assert_error(&r, 400, "invalid_uri", "The id");
	th_res_free(&r);
	r = call("GET", "/api/v2/users/auth0%7Cnobody", NULL, env.admin);
	assert_error(&r, 404, "inexistent_user", "The user does not exist.");
	th_res_free(&r);
	r = call("GET", "/api/v2/clients/nope", NULL, env.admin);
	assert_error(&r, 404, "inexistent_client", "The client does not exist.");
	th_res_free(&r);
}

Test(api, encoded_raw_and_prefixed_ids)
{
	char *id = mkuser("enc@example.com", NULL), uri[256];
	struct th_res r;

	cr_assert_eq(strncmp(id, "auth0|", 6), 0);
	snprintf(uri, sizeof(uri), "/api/v2/users/auth0%%7C%s", id + 6);
	r = call("GET", uri, NULL, env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str(r.json, "user_id"), id);
	th_res_free(&r);
	snprintf(uri, sizeof(uri), "/admin/api/v2/users/%s?fields=user_id", id);
	r = call("GET", uri, NULL, env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_eq(r.json, NULL, "{}") == 0);
	cr_assert_eq(json_object_object_length(r.json), 1, "%s", r.body);
	th_res_free(&r);
	free(id);
}

Test(api, tokens)
{
	struct th_res r;
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1];
	struct mk_err err;

	r = call("GET", "/api/v2/users", NULL, NULL);
	assert_error(&r, 401, NULL, "Missing authentication");
	th_res_free(&r);
	r = call("GET", "/api/v2/users", NULL, "mk_notatoken");
	assert_error(&r, 401, NULL, "Invalid token");
	th_res_free(&r);
	cr_assert_eq(auth_token_create(env.st, &(struct auth_grant){ SC_READ_USERS, NULL, 0 },
	    tok, tid, &err), MK_OK);
	r = call("GET", "/api/v2/users", NULL, tok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	r = call("POST", "/api/v2/users", "{}", tok);
	assert_error(&r, 403, "insufficient_scope", "Insufficient scope, expected any of: "
	    "create:users");
	th_res_free(&r);
	r = call("GET", "/api/v2/clients", NULL, tok);
	assert_error(&r, 403, "insufficient_scope", "Insufficient scope, expected any of: "
	    "read:clients,read:client_keys");
	th_res_free(&r);
}

Test(api, app_metadata_scope_and_current_user)
{
	char *id = mkuser("scoped@example.com", NULL), *other = mkuser("other@example.com", NULL);
	char tok[AUTH_TOKEN_LEN + 1], me[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1], uri[256];
	struct mk_err err;
	struct th_res r;

	cr_assert_eq(auth_token_create(env.st,
	    &(struct auth_grant){ SC_UPDATE_USERS_APP_METADATA, NULL, 0 }, tok, tid, &err),
	    MK_OK);
	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	r = call("PATCH", uri, "{\"app_metadata\":{\"plan\":\"gold\"}}", tok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	r = call("PATCH", uri, "{\"user_metadata\":{\"a\":1}}", tok);
	assert_error(&r, 403, "insufficient_scope", "Some fields cannot be updated");
	th_res_free(&r);

	cr_assert_eq(auth_token_create(env.st, &(struct auth_grant){
	    SC_READ_CURRENT_USER | SC_UPDATE_CURRENT_USER_METADATA, id, 0 }, me, tid, &err), MK_OK);
	r = call("GET", uri, NULL, me);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	r = call("PATCH", uri, "{\"user_metadata\":{\"theme\":\"dark\"}}", me);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_eq(r.json, "user_metadata", "{\"theme\":\"dark\"}"), "%s", r.body);
	th_res_free(&r);
	r = call("PATCH", uri, "{\"app_metadata\":{\"plan\":\"free\"}}", me);
	assert_error(&r, 403, "insufficient_scope", "Some fields cannot be updated");
	th_res_free(&r);
	snprintf(uri, sizeof(uri), "/api/v2/users/%s", other);
	r = call("GET", uri, NULL, me);
	assert_error(&r, 403, NULL, "User to be acted on does not match subject in bearer token.");
	th_res_free(&r);
	r = call("PATCH", uri, "{\"user_metadata\":{\"theme\":\"dark\"}}", me);
	assert_error(&r, 403, NULL, "User to be acted on does not match subject in bearer token.");
	th_res_free(&r);
	free(id);
	free(other);
}

struct bad_case {
	const char *body;
	const char *ct;
	int status;
	const char *code;
	const char *msg;
};

Test(api, bad_input_changes_nothing)
{
	static const struct bad_case cases[] = {
		{ "{\"user_metadata\":", NULL, 400, "invalid_body", "Payload validation error" },
		{ "[1,2]", NULL, 400, "invalid_body", "Payload validation error" },
		{ "{\"user_metadata\":\"str\"}", NULL, 400, "invalid_body", "Payload validation error" },
		{ "{\"user_metadata\":[1]}", NULL, 400, "invalid_body", "Payload validation error" },
		{ "{\"user_metadata\":5}", NULL, 400, "invalid_body", "Payload validation error" },
		{ "{\"user_metadata\":null}", NULL, 400, "invalid_body", "Payload validation error" },
		{ "{\"user_metadata\":{\"a.b\":1}}", NULL, 400, "invalid_body", "Fields with \".\"" },
		{ "{\"user_metadata\":{\"a\":{\"b\":{\"c.d\":1}}}}", NULL, 400, "invalid_body",
		    "Fields with \".\"" },
		{ "{\"user_metadata\":{\"$set\":1}}", NULL, 400, "invalid_body", "Fields with \"$\"" },
		{ "{\"app_metadata\":{\"blocked\":true}}", NULL, 400, "invalid_body", "" },
		{ "{\"foo\":1}", NULL, 400, "invalid_body", "Payload validation error" },
		{ "{\"created_at\":\"2020-01-01T00:00:00.000Z\"}", NULL, 400, "invalid_body",
		    "Payload validation error" },
		{ "{\"user_id\":\"x\"}", NULL, 400, "invalid_body", "Payload validation error" },
		{ "{}", NULL, 400, "invalid_body", "Payload validation error" },
		{ "{\"user_metadata\":{\"a\":1}}", "text/plain", 400, "invalid_body",
		    "Payload validation error" },
		{ "{\"user_metadata\":{\"a\":1}} x", NULL, 400, "invalid_body",
		    "Payload validation error" },
		{ "{\"user_metadata\":{\"n\":123456789012345678901234567890}}", NULL, 400,
		    "invalid_body", "Payload validation error" },
	};
	char *id = mkuser("bad@example.com", "\"user_metadata\":{\"keep\":\"me\"}");
	char *before = user_text(id), *after, uri[256], deep[512];
	struct th_res r;
	size_t i;
	int d;

	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = call_ct("PATCH", uri, cases[i].body, env.admin, cases[i].ct);
		cr_expect_eq(r.status, cases[i].status, "case %zu (%s): %d %s", i, cases[i].body,
		    r.status, r.body);
		if (r.status == cases[i].status)
			assert_error(&r, cases[i].status, cases[i].code, cases[i].msg);
		th_res_free(&r);
		after = user_text(id);
		cr_assert_str_eq(after, before, "case %zu changed the record", i);
		free(after);
	}
	/* 40 levels of nesting, past the limit of 32. */
	strcpy(deep, "{\"user_metadata\":");
	for (d = 0; d < 40; d++)
		strcat(deep, "{\"a\":");
	strcat(deep, "1");
	for (d = 0; d < 41; d++)
		strcat(deep, "}");
	r = call("PATCH", uri, deep, env.admin);
	assert_error(&r, 400, "invalid_body", "");
	th_res_free(&r);
	/* A body past the limit is refused before it is parsed. */
	{
		size_t big = env.conf.body_limit + 10;
		char *b = malloc(big + 1);
		memset(b, ' ', big);
		b[big] = '\0';
		b[0] = '{';
		b[big - 1] = '}';
		r = call("PATCH", uri, b, env.admin);
		assert_error(&r, 413, "payload_too_large", "");
		th_res_free(&r);
		free(b);
	}
	after = user_text(id);
	cr_assert_str_eq(after, before);
	free(after);
	free(before);
	free(id);
}

/* GET /connections: Auth0's shape, read-only, scope read:connections. */
Test(api, connections_list)
{
	static const char *const two[] = { "db-a", "Username-Password-Authentication", NULL };
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1];
	struct mk_err err;
	struct th_res r;

	r = call("GET", "/api/v2/connections", NULL, env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	/* The default connection; the id is con_ + 16 hex of SHA-256(name). */
	cr_assert_str_eq(r.body, "[{\"id\":\"con_e5a57762739eaaaa\","
	    "\"name\":\"Username-Password-Authentication\","
	    "\"display_name\":\"Username-Password-Authentication\",\"strategy\":\"auth0\","
	    "\"is_domain_connection\":false,\"options\":{},"
	    "\"realms\":[\"Username-Password-Authentication\"]}]");
	th_res_free(&r);

	env.conf.limits.connections = two;
	r = call("GET", "/api/v2/connections?fields=name&include_totals=true", NULL, env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(r.body, "{\"connections\":[{\"name\":\"db-a\"},"
	    "{\"name\":\"Username-Password-Authentication\"}],\"start\":0,\"limit\":50,"
	    "\"total\":2}");
	th_res_free(&r);
	r = call("GET", "/api/v2/connections?per_page=1&page=1&fields=name", NULL, env.admin);
	cr_assert_str_eq(r.body, "[{\"name\":\"Username-Password-Authentication\"}]");
	th_res_free(&r);
	r = call("GET", "/api/v2/connections?name=db-a&fields=name,strategy", NULL, env.admin);
	cr_assert_str_eq(r.body, "[{\"name\":\"db-a\",\"strategy\":\"auth0\"}]");
	th_res_free(&r);
	r = call("GET", "/api/v2/connections?strategy=google-oauth2", NULL, env.admin);
	cr_assert_str_eq(r.body, "[]");
	th_res_free(&r);
	r = call("GET", "/api/v2/connections?per_page=x", NULL, env.admin);
	cr_assert_eq(r.status, 400, "%s", r.body);
	th_res_free(&r);

	/* Read-only: no other method. */
	r = call("POST", "/api/v2/connections", "{\"name\":\"x\"}", env.admin);
	cr_assert_eq(r.status, 405, "%s", r.body);
	th_res_free(&r);
	r = call("DELETE", "/api/v2/connections/con_e5a57762739eaaaa", NULL, env.admin);
	cr_assert_eq(r.status, 404, "%s", r.body);
	th_res_free(&r);

	/* Its own scope: read:users is not enough. */
	cr_assert_eq(auth_token_create(env.st, &(struct auth_grant){ SC_READ_USERS, NULL, 0 },
	    tok, tid, &err), MK_OK);
	r = call("GET", "/api/v2/connections", NULL, tok);
	assert_error(&r, 403, "insufficient_scope", "Insufficient scope, expected any of: "
	    "read:connections");
	th_res_free(&r);
	cr_assert_eq(auth_token_create(env.st, &(struct auth_grant){ SC_READ_CONNECTIONS, NULL, 0 },
	    tok, tid, &err), MK_OK);
	r = call("GET", "/api/v2/connections", NULL, tok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	env.conf.limits.connections = NULL;
}

Test(api, duplicate_email_conflict)
{
	char *id = mkuser("dup@example.com", NULL);
	struct th_res r;

	r = call("POST", "/api/v2/users", "{\"email\":\"DUP@example.com\",\"connection\":"
	    "\"Username-Password-Authentication\"}", env.admin);
	assert_error(&r, 409, "auth0_idp_error", "The user already exists.");
	th_res_free(&r);
	r = call("POST", "/api/v2/users", "{\"email\":\"x@example.com\",\"connection\":"
	    "\"Nope\"}", env.admin);
	assert_error(&r, 400, "invalid_body", "Connection does not exist. "
	    "The connections are: Username-Password-Authentication.");
	th_res_free(&r);
	free(id);
}

Test(api, list_and_by_email)
{
	char *a = mkuser("b-list@example.com", NULL), *b = mkuser("a-list@example.com", NULL);
	struct th_res r;

	r = call("GET", "/api/v2/users-by-email?email=A-LIST%40example.com", NULL, env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_object_is_type(r.json, json_type_array));
	cr_assert_eq(json_object_array_length(r.json), 1);
	th_res_free(&r);
	r = call("GET", "/api/v2/users-by-email?email=none%40example.com", NULL, env.admin);
	cr_assert_str_eq(r.body, "[]");
	th_res_free(&r);
	r = call("GET", "/api/v2/users?include_totals=true&per_page=1&sort=email:1", NULL, env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_eq(r.json, "total", "2"), "%s", r.body);
	cr_assert(json_eq(r.json, "length", "1"), "%s", r.body);
	cr_assert(json_eq(r.json, "limit", "1"), "%s", r.body);
	cr_assert(json_eq(r.json, "start", "0"), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "a-list@example.com"), "sorted by email: %s", r.body);
	th_res_free(&r);
	r = call("GET", "/api/v2/users?sort=email:-1&fields=email", NULL, env.admin);
	cr_assert_str_eq(r.body, "[{\"email\":\"b-list@example.com\"},"
	    "{\"email\":\"a-list@example.com\"}]");
	th_res_free(&r);
	r = call("GET", "/api/v2/users?per_page=101", NULL, env.admin);
	assert_error(&r, 400, "invalid_query_string", "");
	th_res_free(&r);
	r = call("GET", "/api/v2/users?sort=name:1", NULL, env.admin);
	assert_error(&r, 400, "invalid_query_string", "");
	th_res_free(&r);
	free(a);
	free(b);
}

Test(api, delete_is_idempotent)
{
	char *id = mkuser("del@example.com", NULL), uri[256];
	struct th_res r;

	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	r = call("DELETE", uri, NULL, env.admin);
	cr_assert_eq(r.status, 204);
	cr_assert_str_eq(r.body, "");
	th_res_free(&r);
	r = call("GET", uri, NULL, env.admin);
	assert_error(&r, 404, "inexistent_user", "The user does not exist.");
	th_res_free(&r);
	r = call("DELETE", uri, NULL, env.admin);
	cr_assert_eq(r.status, 204);
	th_res_free(&r);
	/* The email is free again. */
	free(mkuser("del@example.com", NULL));
	free(id);
}

Test(api, clients)
{
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1], uri[256], *id;
	struct mk_err err;
	struct th_res r;

	r = call("POST", "/api/v2/clients", "{\"name\":\"My App\",\"client_metadata\":"
	    "{\"mycolor\":\"red\",\"myflavor\":\"grape\"}}", env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(strlen(str(r.json, "client_id")), 32);
	cr_assert_eq(strlen(str(r.json, "client_secret")), 64);
	id = strdup(str(r.json, "client_id"));
	th_res_free(&r);
	snprintf(uri, sizeof(uri), "/api/v2/clients/%s", id);

	cr_assert_eq(auth_token_create(env.st, &(struct auth_grant){ SC_READ_CLIENTS, NULL, 0 },
	    tok, tid, &err), MK_OK);
	r = call("GET", uri, NULL, tok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_null(strstr(r.body, "client_secret"), "secret hidden: %s", r.body);
	cr_assert(json_eq(r.json, "client_metadata", "{\"mycolor\":\"red\",\"myflavor\":\"grape\"}"));
	th_res_free(&r);
	r = call("GET", "/api/v2/clients", NULL, tok);
	cr_assert_null(strstr(r.body, "client_secret"), "%s", r.body);
	th_res_free(&r);
	r = call("GET", uri, NULL, env.admin);
	cr_assert_not_null(strstr(r.body, "client_secret"), "%s", r.body);
	th_res_free(&r);

	r = call("PATCH", uri, "{\"client_metadata\":{\"mycolor\":\"blue\",\"mynewthing\":"
	    "\"something\"}}", env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_eq(r.json, "client_metadata", "{\"mycolor\":\"blue\",\"myflavor\":\"grape\","
	    "\"mynewthing\":\"something\"}"), "%s", r.body);
	th_res_free(&r);
	r = call("PATCH", uri, "{\"client_metadata\":{\"myflavor\":null}}", env.admin);
	cr_assert(json_eq(r.json, "client_metadata", "{\"mycolor\":\"blue\",\"mynewthing\":"
	    "\"something\"}"), "%s", r.body);
	th_res_free(&r);
	r = call("PATCH", uri, "{\"client_metadata\":{\"n\":5}}", env.admin);
	assert_error(&r, 400, "invalid_body", "");
	th_res_free(&r);
	r = call("GET", "/api/v2/clients?include_totals=true", NULL, env.admin);
	cr_assert(json_eq(r.json, "total", "1"), "%s", r.body);
	th_res_free(&r);
	r = call("DELETE", uri, NULL, env.admin);
	cr_assert_eq(r.status, 204);
	th_res_free(&r);
	r = call("GET", uri, NULL, env.admin);
	assert_error(&r, 404, "inexistent_client", "The client does not exist.");
	th_res_free(&r);
	free(id);
}

/* ---- spec 7: ETag and If-Match ---- */

/* A request with an If-Match header (NULL: none) and admin's token. */
static struct th_res
call_if(const char *method, const char *uri, const char *body, const char *if_match)
{
	struct http_req rq;

	th_req_init(&rq, method, uri, body);
	rq.if_match = if_match;
	return th_send(&env, &rq, env.admin);
}

/*
 * The ETag header's value (owned), checked to be a strong tag of 32
 * lower-case hex digits; NULL when there is none.
 */
static char *
etag_of(const struct th_res *r)
{
	const char *p = strstr(r->headers, "ETag: "), *q;
	char *v;
	size_t i;

	if (p == NULL)
		return NULL;
	p += 6;
	q = strstr(p, "\r\n");
	cr_assert_not_null(q, "%s", r->headers);
	cr_assert_eq(q - p, 34, "ETag length: %s", r->headers);
	cr_assert_eq(p[0], '"');
	cr_assert_eq(p[33], '"');
	for (i = 1; i < 33; i++)
		cr_assert(strchr("0123456789abcdef", p[i]) != NULL, "%s", r->headers);
	cr_assert_null(strstr(q, "ETag: "), "one ETag only: %s", r->headers);
	v = strndup(p, 34);
	cr_assert_not_null(v);
	return v;
}

/* GET uri: 200 and its ETag (owned). */
static char *
get_etag(const char *uri)
{
	struct th_res r = call_if("GET", uri, NULL, NULL);
	char *e;

	cr_assert_eq(r.status, 200, "%s", r.body);
	e = etag_of(&r);
	cr_assert_not_null(e, "GET %s has an ETag: %s", uri, r.headers);
	th_res_free(&r);
	return e;
}

Test(api, etag_on_user_responses)
{
	char uri[256], *id, *created, *e1, *e2, *patched, *shaped;
	struct th_res r;

	r = call("POST", "/api/v2/users", "{\"email\":\"etag@example.com\",\"connection\":"
	    "\"Username-Password-Authentication\"}", env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	created = etag_of(&r);
	cr_assert_not_null(created, "POST 201 has an ETag: %s", r.headers);
	id = strdup(str(r.json, "user_id"));
	th_res_free(&r);
	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);

	e1 = get_etag(uri);
	e2 = get_etag(uri);
	cr_assert_str_eq(e1, created, "GET: the ETag of the record POST wrote");
	cr_assert_str_eq(e1, e2, "stable across GETs");

	/* A shaped body carries the ETag of the stored version it came from. */
	snprintf(uri, sizeof(uri), "/api/v2/users/%s?fields=email", id);
	shaped = get_etag(uri);
	cr_assert_str_eq(shaped, e1);
	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);

	r = call_if("PATCH", uri, "{\"user_metadata\":{\"a\":1}}", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	patched = etag_of(&r);
	cr_assert_not_null(patched, "PATCH 200 has an ETag: %s", r.headers);
	cr_assert_str_neq(patched, e1, "a change changes the ETag");
	th_res_free(&r);
	free(e2);
	e2 = get_etag(uri);
	cr_assert_str_eq(e2, patched, "GET after PATCH: the PATCH's ETag");

	/* Errors and listings carry none. */
	r = call_if("GET", "/api/v2/users/auth0%7Cnobody", NULL, NULL);
	cr_assert_eq(r.status, 404);
	cr_assert_null(strstr(r.headers, "ETag"), "%s", r.headers);
	th_res_free(&r);
	r = call_if("PATCH", uri, "{\"user_metadata\":{\"a.b\":1}}", NULL);
	cr_assert_eq(r.status, 400);
	cr_assert_null(strstr(r.headers, "ETag"), "%s", r.headers);
	th_res_free(&r);
	r = call_if("GET", "/api/v2/users", NULL, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.headers, "ETag"), "%s", r.headers);
	th_res_free(&r);
	free(created);
	free(e1);
	free(e2);
	free(patched);
	free(shaped);
	free(id);
}

/* PATCH uri with if_match; expect a 412 and the record byte-for-byte as it was. */
static void
assert_patch_refused(const char *id, const char *if_match)
{
	char uri[256], *before, *after;
	struct th_res r;

	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	before = user_text(id);
	r = call_if("PATCH", uri, "{\"user_metadata\":{\"refused\":true}}", if_match);
	assert_error(&r, 412, "precondition_failed", "The resource has been modified.");
	cr_assert_null(strstr(r.headers, "ETag"), "%s", r.headers);
	th_res_free(&r);
	after = user_text(id);
	cr_assert_str_eq(after, before, "If-Match %s: nothing written", if_match);
	free(after);
	free(before);
}

Test(api, if_match_on_user_patch)
{
	char *id = mkuser("ifmatch@example.com", "\"user_metadata\":{\"v\":0}");
	char uri[256], *old, *cur, hdr[256], *next;
	struct th_res r;

	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	old = get_etag(uri);
	r = call_if("PATCH", uri, "{\"user_metadata\":{\"v\":1}}", old);
	cr_assert_eq(r.status, 200, "the current ETag: %s", r.body);
	cur = etag_of(&r);
	th_res_free(&r);
	cr_assert_str_neq(cur, old);

	/* The old ETag no longer matches: 412 and nothing written. */
	assert_patch_refused(id, old);
	/* Weak tags never match (strong comparison), even with the current value. */
	snprintf(hdr, sizeof(hdr), "W/%s", cur);
	assert_patch_refused(id, hdr);
	/* Garbage, an unquoted value, an empty value, "*" in a list. */
	assert_patch_refused(id, "nonsense");
	snprintf(hdr, sizeof(hdr), "%.32s", cur + 1);
	assert_patch_refused(id, hdr);
	assert_patch_refused(id, "");
	snprintf(hdr, sizeof(hdr), "*, %s", cur);
	assert_patch_refused(id, hdr);
	snprintf(hdr, sizeof(hdr), "%s, \"unterminated", old);
	assert_patch_refused(id, hdr);
	/* A tag that only starts like the current one. */
	snprintf(hdr, sizeof(hdr), "%.33sx\"", cur);
	assert_patch_refused(id, hdr);

	/* A list matches when any element does, weak ones aside. */
	snprintf(hdr, sizeof(hdr), "W/%s, %s ,\"a,b\",  %s", cur, old, cur);
	r = call_if("PATCH", uri, "{\"user_metadata\":{\"v\":2}}", hdr);
	cr_assert_eq(r.status, 200, "list: %s", r.body);
	next = etag_of(&r);
	cr_assert(json_eq(r.json, "user_metadata", "{\"v\":2}"), "%s", r.body);
	th_res_free(&r);
	free(cur);
	cur = next;

	/* "*" matches any existing record. */
	r = call_if("PATCH", uri, "{\"user_metadata\":{\"v\":3}}", " * ");
	cr_assert_eq(r.status, 200, "*: %s", r.body);
	cr_assert(json_eq(r.json, "user_metadata", "{\"v\":3}"), "%s", r.body);
	th_res_free(&r);

	/* An absent user stays 404, If-Match or not. */
	r = call_if("PATCH", "/api/v2/users/auth0%7Cnobody", "{\"user_metadata\":{}}", "*");
	assert_error(&r, 404, "inexistent_user", "The user does not exist.");
	th_res_free(&r);
	/* Scope and body errors come first; 412 is only about the stored version. */
	r = call_if("PATCH", uri, "{\"user_metadata\":", old);
	assert_error(&r, 400, "invalid_body", "");
	th_res_free(&r);
	free(old);
	free(cur);
	free(id);
}

/*
 * The If-Match list is read up to its first element that does not parse:
 * a match before it holds, one after it does not (RFC 9110 grammar).
 */
Test(api, if_match_reads_up_to_malformed)
{
	char *id = mkuser("ifmal@example.com", "\"user_metadata\":{\"v\":0}");
	char uri[256], *cur, hdr[256];
	struct th_res r;

	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	cur = get_etag(uri);
	snprintf(hdr, sizeof(hdr), "nonsense, %s", cur);
	assert_patch_refused(id, hdr);
	snprintf(hdr, sizeof(hdr), "W/x, %s", cur);
	assert_patch_refused(id, hdr);
	snprintf(hdr, sizeof(hdr), "\"a\" \"b\", %s", cur);
	assert_patch_refused(id, hdr);
	snprintf(hdr, sizeof(hdr), "\t%s\t, \"unterminated", cur);
	r = call_if("PATCH", uri, "{\"user_metadata\":{\"v\":1}}", hdr);
	cr_assert_eq(r.status, 200, "a match before the malformed element: %s", r.body);
	th_res_free(&r);
	free(cur);
	cur = get_etag(uri);
	snprintf(hdr, sizeof(hdr), "%s junk", cur);
	r = call_if("DELETE", uri, NULL, hdr);
	cr_assert_eq(r.status, 204, "a match before trailing junk: %s", r.body);
	th_res_free(&r);
	free(cur);
	free(id);
}

Test(api, if_match_on_user_delete)
{
	char *id = mkuser("ifdel@example.com", NULL), uri[256], *e, *before, *after;
	struct th_res r;

	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	e = get_etag(uri);
	before = user_text(id);
	r = call_if("DELETE", uri, NULL, "\"00000000000000000000000000000000\"");
	assert_error(&r, 412, "precondition_failed", "The resource has been modified.");
	th_res_free(&r);
	after = user_text(id);
	cr_assert_str_eq(after, before, "a refused DELETE deletes nothing");
	free(after);

	r = call_if("DELETE", uri, NULL, e);
	cr_assert_eq(r.status, 204, "%s", r.body);
	cr_assert_str_eq(r.body, "");
	th_res_free(&r);
	r = call_if("GET", uri, NULL, NULL);
	assert_error(&r, 404, "inexistent_user", "The user does not exist.");
	th_res_free(&r);
	/* Gone: an If-Match cannot hold, not even "*"; without one, Auth0's 204. */
	r = call_if("DELETE", uri, NULL, e);
	assert_error(&r, 412, "precondition_failed", "The user does not exist.");
	th_res_free(&r);
	r = call_if("DELETE", uri, NULL, "*");
	assert_error(&r, 412, "precondition_failed", "The user does not exist.");
	th_res_free(&r);
	r = call_if("DELETE", uri, NULL, NULL);
	cr_assert_eq(r.status, 204, "%s", r.body);
	th_res_free(&r);

	/* "*" deletes an existing user. */
	free(id);
	id = mkuser("ifdel2@example.com", NULL);
	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	r = call_if("DELETE", uri, NULL, "*");
	cr_assert_eq(r.status, 204, "%s", r.body);
	th_res_free(&r);
	r = call_if("GET", uri, NULL, NULL);
	cr_assert_eq(r.status, 404);
	th_res_free(&r);
	free(before);
	free(e);
	free(id);
}

Test(api, etag_and_if_match_on_clients)
{
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1], uri[256];
	char *id, *created, *e, *hidden, *patched, *before, *after;
	struct mk_err err;
	struct th_res r;

	r = call("POST", "/api/v2/clients", "{\"name\":\"Tagged\",\"client_metadata\":"
	    "{\"c\":\"1\"}}", env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	created = etag_of(&r);
	cr_assert_not_null(created, "client POST has an ETag: %s", r.headers);
	id = strdup(str(r.json, "client_id"));
	th_res_free(&r);
	snprintf(uri, sizeof(uri), "/api/v2/clients/%s", id);
	e = get_etag(uri);
	cr_assert_str_eq(e, created);

	/* Without read:client_keys the body hides the secret; the ETag is the same. */
	cr_assert_eq(auth_token_create(env.st, &(struct auth_grant){ SC_READ_CLIENTS, NULL, 0 },
	    tok, tid, &err), MK_OK);
	r = call("GET", uri, NULL, tok);
	cr_assert_eq(r.status, 200);
	cr_assert_null(strstr(r.body, "client_secret"), "%s", r.body);
	hidden = etag_of(&r);
	cr_assert_not_null(hidden);
	cr_assert_str_eq(hidden, e);
	th_res_free(&r);

	r = call_if("PATCH", uri, "{\"client_metadata\":{\"c\":\"2\"}}", e);
	cr_assert_eq(r.status, 200, "%s", r.body);
	patched = etag_of(&r);
	cr_assert_not_null(patched);
	cr_assert_str_neq(patched, e);
	th_res_free(&r);

	/* The old ETag: 412, nothing written; weak: 412. */
	r = call_if("GET", uri, NULL, NULL);
	before = r.body;
	r.body = NULL;
	th_res_free(&r);
	r = call_if("PATCH", uri, "{\"client_metadata\":{\"c\":\"3\"}}", e);
	assert_error(&r, 412, "precondition_failed", "The resource has been modified.");
	th_res_free(&r);
	r = call_if("PATCH", uri, "{\"client_metadata\":{\"c\":\"3\"}}", "W/\"x\", W/\"y\"");
	assert_error(&r, 412, "precondition_failed", "The resource has been modified.");
	th_res_free(&r);
	r = call_if("DELETE", uri, NULL, e);
	assert_error(&r, 412, "precondition_failed", "The resource has been modified.");
	th_res_free(&r);
	r = call_if("GET", uri, NULL, NULL);
	after = r.body;
	r.body = NULL;
	th_res_free(&r);
	cr_assert_str_eq(after, before, "refused writes changed the client");

	r = call_if("DELETE", uri, NULL, patched);
	cr_assert_eq(r.status, 204, "%s", r.body);
	th_res_free(&r);
	r = call_if("DELETE", uri, NULL, "*");
	assert_error(&r, 412, "precondition_failed", "The client does not exist.");
	th_res_free(&r);
	r = call_if("DELETE", uri, NULL, NULL);
	cr_assert_eq(r.status, 204);
	th_res_free(&r);
	r = call_if("PATCH", uri, "{\"name\":\"x\"}", "*");
	assert_error(&r, 404, "inexistent_client", "The client does not exist.");
	th_res_free(&r);
	free(before);
	free(after);
	free(created);
	free(e);
	free(hidden);
	free(patched);
	free(id);
}

/* ---- issue 12: secrets (findings 2 and 3) ---- */

/*
 * client_secret leaves the service only to read:client_keys, on every
 * verb: a PATCH by an update:clients-only token answers without it (it
 * used to echo the whole stored record, secret included).
 */
Test(api, patch_answer_hides_secret_without_read_client_keys)
{
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1], uri[256], *id, *secret;
	struct mk_err err;
	struct th_res r;

	r = call("POST", "/api/v2/clients", "{\"name\":\"Secretive\"}", env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	id = strdup(str(r.json, "client_id"));
	secret = strdup(str(r.json, "client_secret"));
	th_res_free(&r);
	snprintf(uri, sizeof(uri), "/api/v2/clients/%s", id);
	cr_assert_eq(auth_token_create(env.st, &(struct auth_grant){ SC_UPDATE_CLIENTS, NULL, 0 },
	    tok, tid, &err),
	    MK_OK);
	r = call("PATCH", uri, "{\"description\":\"x\"}", tok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_null(strstr(r.body, "client_secret"), "secret in the answer: %s", r.body);
	cr_assert_null(strstr(r.body, secret), "secret in the answer: %s", r.body);
	cr_assert_str_eq(str(r.json, "description"), "x");
	cr_assert_str_eq(str(r.json, "client_id"), id);
	th_res_free(&r);
	/* with read:client_keys the answer keeps it */
	cr_assert_eq(auth_token_create(env.st,
	    &(struct auth_grant){ SC_UPDATE_CLIENTS | SC_READ_CLIENT_KEYS, NULL, 0 },
	    tok, tid, &err), MK_OK);
	r = call("PATCH", uri, "{\"description\":\"y\"}", tok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str(r.json, "client_secret"), secret);
	th_res_free(&r);
	free(secret);
	free(id);
}

/*
 * The ETag says nothing about the secret: it is the same function of the
 * record without client_secret, so whoever can compute it did not need the
 * secret (it used to be a hash of the stored bytes, secret included, and
 * a read:clients token could test guesses of the secret against it).
 */
Test(api, client_etag_reveals_nothing_about_the_secret)
{
	char uri[256], hex[65], *id, *e;
	struct json_object *o;
	struct th_res r;
	const char *text;
	size_t len;

	r = call("POST", "/api/v2/clients", "{\"name\":\"Guess me\"}", env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	id = strdup(str(r.json, "client_id"));
	th_res_free(&r);
	snprintf(uri, sizeof(uri), "/api/v2/clients/%s", id);
	/* an operator-chosen weak secret, the review's case */
	r = call("PATCH", uri, "{\"client_secret\":\"hunter2hunter2hunter2hunter2hunter2x\"}",
	    env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	r = call("GET", uri, NULL, env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	e = etag_of(&r);
	cr_assert_not_null(e);
	/* the stored bytes with the secret do not give the ETag ... */
	mk_sha256_hex(r.body, r.body_len, hex);
	cr_assert(strncmp(e + 1, hex, 32) != 0, "the ETag covers the secret: %s", e);
	/* ... the record without it does */
	cr_assert_eq(jx_parse_stored(r.body, r.body_len, &o), MK_OK);
	json_object_object_del(o, "client_secret");
	text = jx_text(o, &len);
	mk_sha256_hex(text, len, hex);
	cr_assert(strncmp(e + 1, hex, 32) == 0, "ETag %s, hash without secret %.32s", e, hex);
	json_object_put(o);
	th_res_free(&r);
	free(e);
	free(id);
}

/*
 * Issue 12, finding 4: an email and a user_id too long together for the
 * index (here 251 + 261 bytes, user_id with its "auth0|") are a 400 that
 * says so, on POST and on PATCH, and nothing is written (it used to be a
 * 400 with an empty message).
 */
Test(api, too_long_indexed_attributes_say_so)
{
	char body[2048], email[300], id[300], uri[512];
	struct th_res r;

	memset(id, 'x', 255);
	id[255] = '\0';
	snprintf(email, sizeof(email), "%.64s@%.60s.%.60s.%.60s.com",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
	    "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	cr_assert_eq(strlen(email), 251);
	snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"email\":\"%s\",\"connection\":"
	    "\"Username-Password-Authentication\"}", id, email);
	r = call("POST", "/api/v2/users", body, env.admin);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_not_null(strstr(r.body, "too long together to be indexed"), "%s", r.body);
	th_res_free(&r);
	r = call("GET", "/api/v2/users?include_totals=true", NULL, env.admin);
	cr_assert(json_eq(r.json, "total", "0"), "nothing written: %s", r.body);
	th_res_free(&r);
	/* PATCH: the same user with a short email, then the long one */
	snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"email\":\"a@example.com\","
	    "\"connection\":\"Username-Password-Authentication\"}", id);
	r = call("POST", "/api/v2/users", body, env.admin);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(uri, sizeof(uri), "/api/v2/users/auth0%%7C%s", id);
	th_res_free(&r);
	snprintf(body, sizeof(body), "{\"email\":\"%s\"}", email);
	r = call("PATCH", uri, body, env.admin);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_not_null(strstr(r.body, "too long together to be indexed"), "%s", r.body);
	th_res_free(&r);
	r = call("GET", uri, NULL, env.admin);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(str(r.json, "email"), "a@example.com");
	th_res_free(&r);
}

/* ---- every size limit: exactly at it accepted, one past refused (issue 19) ---- */

/* s: n copies of c, NUL-terminated (owned). */
static char *
run_of(char c, size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/*
 * PATCH body (into body, cap bytes) with user_metadata nested "levels"
 * objects deep: the metadata object is level 1, the innermost holds "a":1.
 */
static void
nested_patch(char *body, size_t cap, int levels)
{
	size_t o;
	int d;

	o = (size_t)snprintf(body, cap, "{\"user_metadata\":");
	for (d = 1; d < levels; d++)
		o += (size_t)snprintf(body + o, cap - o, "{\"a\":");
	o += (size_t)snprintf(body + o, cap - o, "{\"a\":1}");
	for (d = 1; d < levels; d++)
		o += (size_t)snprintf(body + o, cap - o, "}");
	snprintf(body + o, cap - o, "}");
}

/* A PATCH of uri refused 400 with code/msg, the record unchanged. */
static void
patch_refused(const char *uri, const char *id, const char *body, const char *code,
    const char *msg)
{
	char *before = user_text(id), *after;
	struct th_res r = call("PATCH", uri, body, env.admin);

	assert_error(&r, 400, code, msg);
	th_res_free(&r);
	after = user_text(id);
	cr_assert_str_eq(after, before, "a refused PATCH changed the record");
	free(before);
	free(after);
}

Test(api, user_limits_at_and_one_past)
{
	char *id = mkuser("limits@example.com", NULL), *k, *blob, uri[256], *body;
	struct th_res r;
	size_t cap = 1 << 16, n0, lim = 8192, len;
	const char *m;

	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	cr_assert_not_null(body = malloc(cap));

	/* Metadata key: 255 bytes accepted, 256 refused. */
	k = run_of('k', 255);
	snprintf(body, cap, "{\"user_metadata\":{\"%s\":1}}", k);
	r = call("PATCH", uri, body, env.admin);
	cr_assert_eq(r.status, 200, "key of 255 bytes: %s", r.body);
	th_res_free(&r);
	free(k);
	k = run_of('k', 256);
	snprintf(body, cap, "{\"user_metadata\":{\"%s\":1}}", k);
	patch_refused(uri, id, body, "invalid_body", "Payload validation error");
	free(k);

	/* Depth: the metadata object and 31 more levels (32) accepted, 33 refused. */
	nested_patch(body, cap, META_DEFAULT_MAX_DEPTH);
	r = call("PATCH", uri, body, env.admin);
	cr_assert_eq(r.status, 200, "%d levels: %s", META_DEFAULT_MAX_DEPTH, r.body);
	th_res_free(&r);
	nested_patch(body, cap, META_DEFAULT_MAX_DEPTH + 1);
	patch_refused(uri, id, body, "invalid_body", "Payload validation error");

	/*
	 * Record size: with max_user_bytes 8192, a blob that makes the record
	 * exactly 8192 bytes is stored, one byte more is refused.  The refusal
	 * says the size the record would have: from it, the blob that fits.
	 */
	env.conf.limits.max_user_bytes = lim;
	blob = run_of('x', lim);
	snprintf(body, cap, "{\"user_metadata\":{\"blob\":\"%s\"}}", blob);
	free(blob);
	r = call("PATCH", uri, body, env.admin);
	assert_error(&r, 400, "invalid_body", "Payload validation error: 'The object would be ");
	m = str(r.json, "message");
	cr_assert_eq(sscanf(m, "Payload validation error: 'The object would be %zu", &n0), 1, "%s", m);
	th_res_free(&r);
	cr_assert_gt(n0, lim);
	len = lim - (n0 - lim);    /* the blob's length that makes it lim bytes */
	blob = run_of('x', len + 1);
	snprintf(body, cap, "{\"user_metadata\":{\"blob\":\"%s\"}}", blob);
	patch_refused(uri, id, body, "invalid_body",
	    "Payload validation error: 'The object would be 8193 bytes, over the limit of 8192");
	blob[len] = '\0';
	snprintf(body, cap, "{\"user_metadata\":{\"blob\":\"%s\"}}", blob);
	r = call("PATCH", uri, body, env.admin);
	cr_assert_eq(r.status, 200, "a record of exactly the limit: %s", r.body);
	cr_assert_eq(strlen(r.body), lim, "the record is %zu bytes", strlen(r.body));
	th_res_free(&r);
	free(blob);
	free(body);
	free(id);
}

Test(api, client_metadata_limits_at_and_one_past)
{
	char body[8192], *v, uri[256], *id, *before, *after;
	struct th_res r;
	size_t o;
	int i;

	/* 10 keys accepted, 11 refused. */
	o = (size_t)snprintf(body, sizeof(body), "{\"name\":\"lim\",\"client_metadata\":{");
	for (i = 0; i < 10; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "%s\"k%d\":\"v\"", i ? "," : "", i);
	snprintf(body + o, sizeof(body) - o, "}}");
	r = call("POST", "/api/v2/clients", body, env.admin);
	cr_assert_eq(r.status, 201, "10 keys: %s", r.body);
	id = strdup(str(r.json, "client_id"));
	th_res_free(&r);
	snprintf(uri, sizeof(uri), "/api/v2/clients/%s", id);
	r = call("GET", uri, NULL, env.admin);
	before = strdup(r.body);
	th_res_free(&r);
	r = call("PATCH", uri, "{\"client_metadata\":{\"k10\":\"v\"}}", env.admin);
	assert_error(&r, 400, "invalid_body", "Payload validation error");
	th_res_free(&r);

	/* A value of 255 characters accepted, 256 refused. */
	v = run_of('v', 256);
	snprintf(body, sizeof(body), "{\"client_metadata\":{\"k0\":\"%s\"}}", v);
	r = call("PATCH", uri, body, env.admin);
	assert_error(&r, 400, "invalid_body", "Payload validation error");
	th_res_free(&r);
	r = call("GET", uri, NULL, env.admin);
	after = strdup(r.body);
	th_res_free(&r);
	cr_assert_str_eq(after, before, "a refused PATCH changed the client");
	v[255] = '\0';
	snprintf(body, sizeof(body), "{\"client_metadata\":{\"k0\":\"%s\"}}", v);
	r = call("PATCH", uri, body, env.admin);
	cr_assert_eq(r.status, 200, "a value of 255: %s", r.body);
	th_res_free(&r);
	free(v);
	free(before);
	free(after);
	free(id);
}

Test(api, query_limits_at_and_one_past)
{
	char *q, *uri, *p;
	struct th_res r;
	size_t n, cap = 8192;
	int i;

	cr_assert_not_null(uri = malloc(cap));
	/* fields=: 64 names accepted, 65 refused. */
	p = uri + snprintf(uri, cap, "/api/v2/users?fields=");
	for (i = 0; i < API_FIELDS_MAX; i++)
		p += snprintf(p, cap - (size_t)(p - uri), "%sf%d", i ? "," : "", i);
	r = call("GET", uri, NULL, env.admin);
	cr_assert_eq(r.status, 200, "%d fields: %s", API_FIELDS_MAX, r.body);
	th_res_free(&r);
	snprintf(p, cap - (size_t)(p - uri), ",f%d", API_FIELDS_MAX);
	r = call("GET", uri, NULL, env.admin);
	assert_error(&r, 400, "invalid_query_string",
	    "Query validation error: 'Too many fields' on property fields.");
	th_res_free(&r);

	/* q: 4096 bytes accepted, 4097 refused. */
	n = strlen("user_metadata.k:");
	q = run_of('a', QUERY_MAX_LEN + 1);
	memcpy(q, "user_metadata.k:", n);
	q[QUERY_MAX_LEN] = '\0';
	snprintf(uri, cap, "/api/v2/users?q=%s", q);
	r = call("GET", uri, NULL, env.admin);
	cr_assert_eq(r.status, 200, "q of %d bytes: %.200s", QUERY_MAX_LEN, r.body);
	th_res_free(&r);
	q[QUERY_MAX_LEN] = 'a';
	snprintf(uri, cap, "/api/v2/users?q=%s", q);
	r = call("GET", uri, NULL, env.admin);
	assert_error(&r, 400, "invalid_query_string", "Query validation error");
	th_res_free(&r);
	free(q);
	free(uri);
}
