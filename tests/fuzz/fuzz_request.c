/*
 * fuzz_request: libFuzzer target for the request layer: what a worker
 * passes to api_handle (the FastCGI parameters and the body), against a
 * real LMDB store in a temporary directory, opened once per process.
 *
 * Input framing (so that seeds are readable text files): four lines, then
 * the body.
 *
 *     METHOD\n URI\n CONTENT-TYPE\n AUTH\n BODY...
 *
 *  - a missing line is an empty one; an empty CONTENT-TYPE means none (NULL);
 *  - AUTH: "@admin" (every scope), "@read" (read:users only), "@app"
 *    (update:users_app_metadata), "@me" (read:current_user and
 *    update:current_user_metadata, bound to the seeded user), "" for no
 *    Authorization header; any other text is sent as the header as it is;
 *  - in the URI, "{user}" and "{client}" stand for the seeded user's and
 *    client's ids (so seeds reach them);
 *  - BODY: everything after the fourth newline; none (NULL) when empty.
 *
 * Checks, beyond the sanitizers (abort when broken):
 *  - the status is one the spec lists, never 500;
 *  - the body is JSON (jx_parse) except for 204, where it is empty; an error
 *    body carries statusCode equal to the status, and a message;
 *  - a request that fails (any status >= 400) leaves the seeded user and
 *    client byte for byte as they were.
 * The seeded user and client are recreated when an input deleted them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "auth.h"
#include "jx.h"
#include "log.h"
#include "store.h"

#define SEED_USER "auth0|fuzzseed"
#define SEED_EMAIL "seed@example.com"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct store *st;
static struct api_conf conf;
static char dir[4096];
static char tok_admin[AUTH_TOKEN_LEN + 8], tok_read[AUTH_TOKEN_LEN + 8];
static char tok_app[AUTH_TOKEN_LEN + 8], tok_me[AUTH_TOKEN_LEN + 8];
static char client_id[64];

static void __attribute__((noreturn))
fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_request: invariant broken: %s: %s\n", what,
	    detail ? detail : "");
	abort();
}

/* One request, status returned; the body is left in rs. */
static int
send_req(const char *method, const char *uri, const char *ct, const char *auth,
    const char *body, size_t body_len, struct http_resp *rs)
{
	struct http_req rq = { 0 };

	rq.method = method;
	rq.uri = uri;
	rq.content_type = ct;
	rq.authorization = auth;
	rq.body = body;
	rq.body_len = body_len;
	http_resp_reset(rs);
	api_handle(st, &conf, &rq, rs);
	return rs->status;
}

/* Owned text of a GET, or NULL on 404. */
static char *
get_text(const char *uri)
{
	struct http_resp rs = { 0 };
	char *t = NULL;
	int status = send_req("GET", uri, NULL, tok_admin, NULL, 0, &rs);

	if (status == 200)
		t = strndup(rs.body.p ? rs.body.p : "", rs.body.n);
	else if (status != 404)
		fail("GET of a seeded record", rs.body.p);
	http_resp_free(&rs);
	return t;
}

static void
seed(void)
{
	struct http_resp rs = { 0 };
	struct json_object *o = NULL;
	const char *id;
	char uri[128];
	static const char user[] = "{\"email\":\"" SEED_EMAIL "\",\"user_id\":\"fuzzseed\","
	    "\"connection\":\"Username-Password-Authentication\","
	    "\"user_metadata\":{\"hobby\":\"surfing\"},\"app_metadata\":{\"plan\":\"full\"}}";
	static const char client[] = "{\"name\":\"Fuzz App\",\"client_metadata\":"
	    "{\"mycolor\":\"red\"}}";
	char *t;

	if ((t = get_text("/api/v2/users/" SEED_USER)) == NULL) {
		/* An input may have taken the seed's email: free it first. */
		struct http_resp r2 = { 0 };
		if (send_req("GET", "/api/v2/users-by-email?email=" SEED_EMAIL "&fields=user_id",
		    NULL, tok_admin, NULL, 0, &r2) == 200 &&
		    jx_parse(r2.body.p, r2.body.n, 4, &o, NULL) == MK_OK &&
		    json_object_array_length(o) > 0) {
			id = jx_get_str(json_object_array_get_idx(o, 0), "user_id");
			snprintf(uri, sizeof(uri), "/api/v2/users/%s", id ? id : "x");
			send_req("DELETE", uri, NULL, tok_admin, NULL, 0, &rs);
		}
		json_object_put(o);
		o = NULL;
		http_resp_free(&r2);
		if (send_req("POST", "/api/v2/users", "application/json", tok_admin, user,
		    sizeof(user) - 1, &rs) != 201)
			fail("seed user", rs.body.p);
	}
	free(t);
	snprintf(uri, sizeof(uri), "/api/v2/clients/%s", client_id[0] ? client_id : "none");
	if ((t = get_text(uri)) == NULL) {
		if (send_req("POST", "/api/v2/clients", "application/json", tok_admin, client,
		    sizeof(client) - 1, &rs) != 201 ||
		    jx_parse(rs.body.p, rs.body.n, 8, &o, NULL) != MK_OK ||
		    (id = jx_get_str(o, "client_id")) == NULL)
			fail("seed client", rs.body.p);
		snprintf(client_id, sizeof(client_id), "%s", id);
		json_object_put(o);
	}
	free(t);
	http_resp_free(&rs);
}

static void
mktoken(uint32_t scopes, const char *sub, char *out)
{
	char tok[AUTH_TOKEN_LEN + 1], id[AUTH_ID_LEN + 1];
	struct mk_err err;

	if (auth_token_create(st, &(struct auth_grant){ scopes, sub, 0 },
	    tok, id, &err) != MK_OK)
		fail("token", err.msg);
	snprintf(out, AUTH_TOKEN_LEN + 8, "Bearer %s", tok);
}

static void
cleanup(void)
{
	char cmd[sizeof(dir) + 16];

	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_request: could not remove %s\n", dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct store_opts o = { 0 };
	struct mk_err err;

	(void)argc;
	(void)argv;
	log_init("fuzz_request", 1, 0);
	/* Under $TMPDIR: scripts/fuzz points it into the build dir and
	 * removes it, since a crash (abort) skips the atexit cleanup. */
	snprintf(dir, sizeof(dir), "%s/mk-fuzz-request-XXXXXX",
	    getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] != '\0' ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		fail("mkdtemp", dir);
	o.dir = dir;
	o.map_size = 256u << 20;
	o.relaxed_sync = 1;
	if (store_open(&o, &st, &err) != MK_OK)
		fail("store_open", err.msg);
	atexit(cleanup);
	api_conf_defaults(&conf);
	mktoken(SC_ALL, NULL, tok_admin);
	mktoken(SC_READ_USERS, NULL, tok_read);
	mktoken(SC_UPDATE_USERS_APP_METADATA, NULL, tok_app);
	mktoken(SC_READ_CURRENT_USER | SC_UPDATE_CURRENT_USER_METADATA, SEED_USER, tok_me);
	seed();
	return 0;
}

/* Next line of the input as an owned string; advances *p. */
static char *
take_line(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	const char *stop = nl ? nl : end;
	char *s = strndup(*p, (size_t)(stop - *p));

	if (s == NULL)
		fail("strndup", "");
	*p = nl ? nl + 1 : end;
	return s;
}

/* uri with {user} and {client} replaced; owned. */
static char *
expand_uri(const char *uri)
{
	size_t n = strlen(uri), cap = n * 4 + 64, o = 0;
	char *out = malloc(cap);
	const char *p;

	if (out == NULL)
		fail("malloc", "");
	for (p = uri; *p != '\0'; ) {
		const char *rep = NULL;
		size_t skip = 1;

		if (strncmp(p, "{user}", 6) == 0) {
			rep = SEED_USER;
			skip = 6;
		} else if (strncmp(p, "{client}", 8) == 0) {
			rep = client_id;
			skip = 8;
		}
		if (rep != NULL) {
			size_t rl = strlen(rep);
			if (o + rl + 1 >= cap)
				break;
			memcpy(out + o, rep, rl);
			o += rl;
		} else {
			if (o + 2 >= cap)
				break;
			out[o++] = *p;
		}
		p += skip;
	}
	out[o] = '\0';
	return out;
}

static int
status_known(int s)
{
	static const int ok[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409, 412, 413,
	    429, 503 };
	size_t k;

	for (k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
		if (ok[k] == s)
			return 1;
	return 0;
}

static void
check_response(int status, const struct http_resp *rs)
{
	struct json_object *o = NULL, *v;
	char what[64];

	if (!status_known(status)) {
		snprintf(what, sizeof(what), "status %d", status);
		fail(what, rs->body.p);
	}
	if (status == 204) {
		if (rs->body.n != 0)
			fail("204 with a body", rs->body.p);
		return;
	}
	if (rs->body.n == 0 || jx_parse(rs->body.p, rs->body.n, 1000, &o, NULL) != MK_OK)
		fail("response body is not JSON", rs->body.p);
	if (status >= 400) {
		if (!json_object_object_get_ex(o, "statusCode", &v) ||
		    json_object_get_int(v) != status ||
		    jx_get_str(o, "message") == NULL)
			fail("error body", rs->body.p);
	}
	json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *method, *uri_raw, *uri, *ct, *auth, *u_before, *u_after, *c_before, *c_after;
	char curi[128];
	const char *authz;
	struct http_resp rs = { 0 };
	int status;

	if (size > (2u << 20))
		return 0;
	method = take_line(&p, end);
	uri_raw = take_line(&p, end);
	ct = take_line(&p, end);
	auth = take_line(&p, end);
	uri = expand_uri(uri_raw);
	if (strcmp(auth, "@admin") == 0)
		authz = tok_admin;
	else if (strcmp(auth, "@read") == 0)
		authz = tok_read;
	else if (strcmp(auth, "@app") == 0)
		authz = tok_app;
	else if (strcmp(auth, "@me") == 0)
		authz = tok_me;
	else if (auth[0] == '\0')
		authz = NULL;
	else
		authz = auth;

	snprintf(curi, sizeof(curi), "/api/v2/clients/%s", client_id);
	u_before = get_text("/api/v2/users/" SEED_USER);
	c_before = get_text(curi);
	status = send_req(method, uri, ct[0] ? ct : NULL, authz, p < end ? p : NULL,
	    (size_t)(end - p), &rs);
	check_response(status, &rs);
	u_after = get_text("/api/v2/users/" SEED_USER);
	c_after = get_text(curi);
	if (status >= 400) {
		if (u_before == NULL || u_after == NULL || strcmp(u_before, u_after) != 0)
			fail("a failed request changed the seeded user", u_after);
		if (c_before == NULL || c_after == NULL || strcmp(c_before, c_after) != 0)
			fail("a failed request changed the seeded client", c_after);
	}
	if (u_after == NULL || c_after == NULL)
		seed();
	free(u_before);
	free(u_after);
	free(c_before);
	free(c_after);
	http_resp_free(&rs);
	free(method);
	free(uri_raw);
	free(uri);
	free(ct);
	free(auth);
	return 0;
}
