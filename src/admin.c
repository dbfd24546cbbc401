/*
 * admin: the admin page's router.  A route is a row of one table: method,
 * path under the mount (a "*" is one segment, decoded into c->arg), whether
 * it needs a session and a CSRF token, and its handler.  Order of checks:
 * route (404), method (405), session (303 to the sign-in page), CSRF for
 * every POST (403, nothing done), then the handler, whose API calls check
 * the session token's scopes again (403 from the API's own rules).
 *
 * Every answer carries the page's security headers: a Content-Security-
 * Policy without 'unsafe-inline' (scripts and styles only from the page's
 * own assets), X-Frame-Options DENY, no caching of pages.
 *
 * Also here: calling the API as the session (admin_api), the form and
 * query fields, redirects, error pages, sign-in and sign-out.  Sign-in
 * takes a bearer token, or a client's id and secret, which go to the API's
 * own POST /oauth/token (client credentials, this service's audience): the
 * session then holds the JWT it issued, never shown to the browser.
 */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "admin_ctx.h"
#include "api_query.h"
#include "auth.h"
#include "jx.h"
#include "log.h"
#include "util.h"

#define AR_SESSION 0x1   /* needs a signed-in session */
#define AR_CSRF 0x2      /* a POST: the form's csrf must be the session's */

static void page_index(struct admin_ctx *c);
static void page_login(struct admin_ctx *c);
static void page_logout(struct admin_ctx *c);
static void page_asset(struct admin_ctx *c);

static const struct aroute {
	const char *method;
	const char *pat;
	int flags;
	admin_handler fn;
} routes[] = {
	{ "GET", "", 0, page_index },
	{ "POST", "login", 0, page_login },
	{ "POST", "logout", AR_SESSION | AR_CSRF, page_logout },
	{ "GET", "assets/*", 0, page_asset },
	{ "GET", "users", AR_SESSION, admin_users_list },
	{ "GET", "users/*", AR_SESSION, admin_users_show },
	{ "POST", "users/*", AR_SESSION | AR_CSRF, admin_users_save },
	{ "GET", "users/*/delete", AR_SESSION, admin_users_delete_ask },
	{ "POST", "users/*/delete", AR_SESSION | AR_CSRF, admin_users_delete },
	{ "GET", "clients", AR_SESSION, admin_clients_list },
	{ "GET", "clients/*", AR_SESSION, admin_clients_show },
	{ "POST", "clients/*", AR_SESSION | AR_CSRF, admin_clients_save },
	{ "GET", "tokens", AR_SESSION, admin_tokens_list },
	{ "POST", "tokens/*/revoke", AR_SESSION | AR_CSRF, admin_tokens_revoke },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The page's headers, on every answer. */
static const char sec_headers[] =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
    "X-Frame-Options: DENY\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n";

/* Where "/admin" ends in the path p[0..n-1] (a whole segment), or NULL. */
static const char *
find_mount(const char *p, size_t n)
{
	const char *end = p + n, *q;

	for (q = p; q + 6 <= end; q++)
		if (memcmp(q, "/admin", 6) == 0 && (q + 6 == end || q[6] == '/'))
			return q + 6;
	return NULL;
}

int
admin_path(const char *uri)
{
	const char *q;
	size_t n, i;

	if (uri == NULL)
		return 0;
	q = strchr(uri, '?');
	n = q ? (size_t)(q - uri) : strlen(uri);
	for (i = 0; i + 8 <= n; i++)
		if (memcmp(uri + i, "/api/v2/", 8) == 0)
			return 0;
	return find_mount(uri, n) != NULL;
}

/*
 * Match rest[0..n-1] (the path under the mount, without its first "/")
 * against pat; a "*" segment is decoded into c->arg.  1 on a match.
 */
static int
match(struct admin_ctx *c, const char *pat, const char *rest, size_t n)
{
	const char *end = rest + n, *seg, *pe;
	size_t plen;

	for (;;) {
		seg = memchr(rest, '/', (size_t)(end - rest));
		seg = seg ? seg : end;
		pe = strchr(pat, '/');
		plen = pe ? (size_t)(pe - pat) : strlen(pat);
		if (plen == 1 && pat[0] == '*') {
			if (seg == rest || (size_t)(seg - rest) > 3 * API_ID_MAX ||
			    api_pct_decode(rest, (size_t)(seg - rest), 0, c->arg,
			    sizeof(c->arg)) <= 0)
				return 0;
		} else if (plen != (size_t)(seg - rest) || memcmp(pat, rest, plen) != 0)
			return 0;
		if (pe == NULL || seg == end)
			return pe == NULL && seg == end;
		pat = pe + 1;
		rest = seg + 1;
	}
}

static void
page_start(struct admin_ctx *c, int status)
{
	buf_reset(&c->rs->body);
	c->rs->status = status;
	c->rs->content_type = "text/html; charset=utf-8";
	buf_adds(&c->rs->headers, "Cache-Control: no-store\r\n");
}

void
admin_error(struct admin_ctx *c, int status, const char *title, const char *msg)
{
	page_start(c, status);
	adm_head(c, title);
	buf_adds(&c->rs->body, "<h1>");
	adm_esc(&c->rs->body, title);
	buf_adds(&c->rs->body, "</h1>\n<p role=\"alert\">");
	adm_esc(&c->rs->body, msg);
	buf_adds(&c->rs->body, "</p>\n");
	if (c->signed_in) {
		buf_printf(&c->rs->body, "<p><a href=\"");
		adm_esc(&c->rs->body, c->base);
		buf_adds(&c->rs->body, "/users\">Back to the users</a></p>\n");
	}
	adm_foot(c);
}

void
admin_redirect(struct admin_ctx *c, const char *path)
{
	buf_reset(&c->rs->body);
	c->rs->status = 303;
	c->rs->content_type = "text/plain; charset=utf-8";
	buf_printf(&c->rs->headers, "Location: %s%s\r\n", c->base, path);
	buf_adds(&c->rs->body, "See Other\n");
}

int
admin_may(const struct admin_ctx *c, uint32_t want)
{
	return c->signed_in && (c->tok.scopes & want) != 0;
}

/* A field of src (query string or form, NUL-terminated), decoded, owned. */
static char *
field(const char *src, const char *name)
{
	size_t cap;
	char *out;

	if (src == NULL)
		return NULL;
	cap = strlen(src) + 1;
	if ((out = malloc(cap)) == NULL)
		return NULL;
	if (api_query_get(src, name, out, cap) != 1) {
		free(out);
		return NULL;
	}
	return out;
}

char *
admin_form(struct admin_ctx *c, const char *name)
{
	return field(c->form, name);
}

char *
admin_param(struct admin_ctx *c, const char *name)
{
	return field(c->query, name);
}

void
admin_api(struct admin_ctx *c, const char *method, const char *uri, const char *body,
    const char *if_match, int *status, struct json_object **out, char *etag)
{
	struct http_req rq;
	struct http_resp rs;
	const char *e, *eol;
	size_t n;

	memset(&rq, 0, sizeof(rq));
	memset(&rs, 0, sizeof(rs));
	rq.method = method;
	rq.uri = uri;
	rq.if_match = if_match;
	/* Who is asking, as the API logs and limits it: the browser's address. */
	rq.remote_addr = c->rq->remote_addr;
	rq.forwarded_for = c->rq->forwarded_for;
	rq.user_agent = c->rq->user_agent;
	if (body != NULL) {
		rq.content_type = "application/json";
		rq.body = body;
		rq.body_len = strlen(body);
	}
	http_resp_reset(&rs);
	api_handle_as(c->s, c->conf, &rq, &c->tok, &rs);
	*status = rs.status;
	*out = NULL;
	if (rs.body.failed || rs.headers.failed)
		*status = 500;
	else if (rs.body.n > 0 && jx_parse_stored(rs.body.p, rs.body.n, out) != MK_OK)
		*out = NULL;
	if (etag != NULL) {
		etag[0] = '\0';
		buf_addc(&rs.headers, '\0');
		if (!rs.headers.failed && (e = strstr(rs.headers.p, "ETag: ")) != NULL) {
			e += 6;
			eol = strstr(e, "\r\n");
			n = eol ? (size_t)(eol - e) : strlen(e);
			if (n < 128) {
				memcpy(etag, e, n);
				etag[n] = '\0';
			}
		}
	}
	http_resp_free(&rs);
}

int
admin_get_record(struct admin_ctx *c, const char *coll, struct json_object **out, char *etag)
{
	struct mk_buf uri = { 0 };
	int status = 500;

	buf_printf(&uri, "/api/v2/%s/", coll);
	adm_url(&uri, c->arg);
	buf_addc(&uri, '\0');
	*out = NULL;
	if (!uri.failed)
		admin_api(c, "GET", uri.p, NULL, NULL, &status, out, etag);
	buf_free(&uri);
	return status;
}

void
admin_redirect_saved(struct admin_ctx *c, const char *coll)
{
	struct mk_buf to = { 0 };

	buf_printf(&to, "/%s/", coll);
	adm_url(&to, c->arg);
	buf_adds(&to, "?saved=1");
	buf_addc(&to, '\0');
	if (to.failed)
		admin_error(c, 500, "Internal error", "Out of memory.");
	else
		admin_redirect(c, to.p);
	buf_free(&to);
}

const char *
admin_api_message(struct json_object *ans)
{
	const char *m = jx_get_str(ans, "message");

	return m != NULL ? m : "The request failed.";
}

/*
 * The PATCH value of one editor: the root keys of edit that differ from
 * orig (their value) and those orig has and edit not (null).  *out NULL
 * when nothing changed.  Values are shared with edit (reference counted).
 */
enum mk_code
admin_meta_diff(struct json_object *orig, struct json_object *edit, struct json_object **out)
{
	struct json_object *p = json_object_new_object(), *x;

	*out = NULL;
	if (p == NULL)
		return MK_ERR_NOMEM;
	json_object_object_foreach(orig, k, v) {
		(void)v;
		if (!json_object_object_get_ex(edit, k, &x))
			json_object_object_add(p, k, NULL);
	}
	json_object_object_foreach(edit, k2, v2) {
		if (json_object_object_get_ex(orig, k2, &x) &&
		    strcmp(json_object_to_json_string_ext(v2, JSON_C_TO_STRING_PLAIN),
		    json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN)) == 0)
			continue;
		json_object_object_add(p, k2, json_object_get(v2));
	}
	if (json_object_object_length(p) == 0) {
		json_object_put(p);
		return MK_OK;
	}
	*out = p;
	return MK_OK;
}

/* The issuer and audience the API checks tokens against, for this request. */
static void
issuer_of(struct admin_ctx *c, struct api_ctx *ac)
{
	memset(ac, 0, sizeof(*ac));
	ac->conf = c->conf;
	ac->rq = c->rq;
	api_issuer(ac);
}

enum mk_code
admin_check_jwt(struct admin_ctx *c, struct store_txn *t, const char *jwt,
    struct auth_token *out, struct mk_err *err)
{
	struct api_ctx ac;
	struct auth_expect want;
	struct mk_buf h = { 0 };
	enum mk_code rc;

	issuer_of(c, &ac);
	buf_adds(&h, "Bearer ");
	buf_adds(&h, jwt);
	buf_addc(&h, '\0');
	if (h.failed) {
		buf_free(&h);
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	}
	want.issuer = ac.issuer;
	want.audience = ac.audience;
	want.now_ms = mk_now_ms();
	rc = auth_check(t, h.p, &want, out, err);
	buf_free(&h);
	return rc;
}

/* ---- sign-in, sign-out, assets ---- */

static void
login_form(struct admin_ctx *c, int status, const char *error)
{
	char csrf[ADMIN_CSRF_LEN + 1];
	struct mk_buf *b = &c->rs->body;

	adm_login_csrf_new(c, csrf);
	page_start(c, status);
	adm_head(c, "Sign in");
	buf_adds(b, "<h1>Sign in to metakeep</h1>\n");
	adm_note(c);
	buf_adds(b, "<form method=\"post\" action=\"");
	adm_esc(b, c->base);
	buf_printf(b, "/login\" class=\"card\">\n<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n",
	    csrf);
	buf_adds(b, "<label for=\"token\">Bearer token</label>\n"
	    "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" "
	    "spellcheck=\"false\"");
	if (error != NULL)
		buf_adds(b, " aria-invalid=\"true\" aria-describedby=\"token-error\"");
	buf_adds(b, ">\n<p class=\"hint\">A token made by <code>metakeepctl token create</code>. "
	    "The page can do what its scopes allow, no more.</p>\n");
	if (error != NULL) {
		buf_adds(b, "<p id=\"token-error\" class=\"error\" role=\"alert\">");
		adm_esc(b, error);
		buf_adds(b, "</p>\n");
	}
	buf_adds(b, "<details class=\"card\"><summary>Sign in with a client's credentials instead"
	    "</summary>\n<label for=\"client_id\">Client ID</label>\n<input id=\"client_id\" "
	    "name=\"client_id\" autocomplete=\"off\" spellcheck=\"false\">\n"
	    "<label for=\"client_secret\">Client secret</label>\n<input id=\"client_secret\" "
	    "name=\"client_secret\" type=\"password\" autocomplete=\"off\">\n<p class=\"hint\">"
	    "A client with a grant for this API (<code>metakeepctl client grant</code>): the "
	    "page gets a token for it from <code>/oauth/token</code> and can do what the grant's "
	    "scopes allow. Leave the token field empty.</p></details>\n");
	buf_adds(b, "<button type=\"submit\">Sign in</button>\n</form>\n");
	adm_foot(c);
}

static void
page_index(struct admin_ctx *c)
{
	if (c->signed_in) {
		admin_redirect(c, "/users");
		return;
	}
	login_form(c, 200, NULL);
}

/*
 * Sign in with a client's id and secret: POST /oauth/token through the API
 * itself, then a session holding the JWT.  Its answer's error (Auth0's
 * error_description) is shown on the form; the secret is never logged.
 */
static void
login_client(struct admin_ctx *c, const char *id, const char *secret)
{
	struct api_ctx ac;
	struct http_req rq;
	struct http_resp rs;
	struct json_object *body = json_object_new_object(), *ans = NULL;
	struct store_txn *t = NULL;
	struct auth_token at;
	struct mk_err err;
	const char *text, *jwt, *why;
	char msg[300];
	enum mk_code rc;

	memset(&rs, 0, sizeof(rs));
	issuer_of(c, &ac);
	if (body == NULL || jx_set_str(body, "grant_type", "client_credentials", &err) != MK_OK ||
	    jx_set_str(body, "client_id", id, &err) != MK_OK ||
	    jx_set_str(body, "client_secret", secret, &err) != MK_OK ||
	    jx_set_str(body, "audience", ac.audience, &err) != MK_OK ||
	    (text = jx_text(body, NULL)) == NULL) {
		admin_error(c, 500, "Internal error", "Out of memory.");
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.uri = "/oauth/token";
	rq.content_type = "application/json";
	rq.body = text;
	rq.body_len = strlen(text);
	rq.host = c->rq->host;
	rq.remote_addr = c->rq->remote_addr;
	rq.user_agent = c->rq->user_agent;
	http_resp_reset(&rs);
	api_handle(c->s, c->conf, &rq, &rs);
	if (rs.body.n == 0 || jx_parse_stored(rs.body.p, rs.body.n, &ans) != MK_OK)
		ans = NULL;
	if (rs.status != 200 || (jwt = jx_get_str(ans, "access_token")) == NULL) {
		why = jx_get_str(ans, "error_description");
		snprintf(msg, sizeof(msg), "The client's credentials were refused%s%.200s",
		    why != NULL ? ": " : ".", why != NULL ? why : "");
		login_form(c, rs.status == 429 ? 429 : 401, msg);
		goto out;
	}
	if ((rc = store_read_begin(c->s, &t)) == MK_OK)
		rc = admin_check_jwt(c, t, jwt, &at, &err);
	store_txn_end(t);
	if (rc != MK_OK || adm_session_start(c, NULL, jwt, at.exp_ms, &err) != MK_OK) {
		log_warnx("admin: sign-in with client credentials failed: %s", err.msg);
		admin_error(c, 500, "Sign-in failed", "The session could not be started.");
		goto out;
	}
	admin_redirect(c, "/users");
out:
	json_object_put(body);
	json_object_put(ans);
	http_resp_free(&rs);
}

static void
page_login(struct admin_ctx *c)
{
	char hash[AUTH_HASH_LEN + 1];
	struct auth_token at;
	struct store_txn *t = NULL;
	struct mk_err err;
	char *token = NULL;
	enum mk_code rc;

	if (!adm_login_csrf_ok(c)) {
		login_form(c, 403, "The form had expired or did not come from this page: "
		    "sign in again.");
		return;
	}
	token = admin_form(c, "token");
	if (token == NULL || token[0] == '\0') {
		char *id = admin_form(c, "client_id"), *secret = admin_form(c, "client_secret");

		if (id != NULL && id[0] != '\0' && secret != NULL)
			login_client(c, id, secret);
		else
			login_form(c, 400, "Enter a bearer token, or a client's ID and secret.");
		if (secret != NULL) {
			explicit_bzero(secret, strlen(secret));
			free(secret);
		}
		free(id);
		goto out;
	}
	if (strlen(token) > 512) {
		login_form(c, 400, "Enter a bearer token.");
		goto out;
	}
	auth_hash(token, hash);
	if ((rc = store_read_begin(c->s, &t)) != MK_OK) {
		admin_error(c, 500, "Internal error", "The store could not be read.");
		goto out;
	}
	rc = auth_check_hash(t, hash, mk_now_ms(), &at, &err);
	store_txn_end(t);
	if (rc == MK_ERR_UNAUTH) {
		login_form(c, 401, "That token is not valid: unknown, revoked or expired.");
		goto out;
	}
	if (rc != MK_OK || adm_session_start(c, hash, NULL, at.exp_ms, &err) != MK_OK) {
		log_warnx("admin: sign-in failed: %s", err.msg);
		admin_error(c, rc == MK_ERR_FULL ? 503 : 500, "Sign-in failed",
		    "The session could not be stored.");
		goto out;
	}
	admin_redirect(c, "/users");
out:
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
}

static void
page_logout(struct admin_ctx *c)
{
	adm_session_end(c);
	c->signed_in = 0;
	snprintf(c->note, sizeof(c->note), "You are signed out.");
	login_form(c, 200, NULL);
}

static void
page_asset(struct admin_ctx *c)
{
	const struct adm_asset *a = adm_asset_find(c->arg, strlen(c->arg));

	if (a == NULL) {
		admin_error(c, 404, "Not found", "There is no such file.");
		return;
	}
	buf_reset(&c->rs->body);
	c->rs->content_type = a->type;
	buf_adds(&c->rs->headers, "Cache-Control: no-cache\r\n");
	buf_adds(&c->rs->body, a->text);
}

/* ---- the router ---- */

static void
route(struct admin_ctx *c, const char *rest, size_t n)
{
	const char *method = c->rq->method ? c->rq->method : "GET";
	const struct aroute *rt = NULL;
	size_t i;
	int path_known = 0;

	for (i = 0; i < NROUTES && rt == NULL; i++)
		if (match(c, routes[i].pat, rest, n)) {
			path_known = 1;
			if (strcmp(routes[i].method, method) == 0)
				rt = &routes[i];
		}
	if (rt == NULL) {
		if (path_known)
			admin_error(c, 405, "Method not allowed", "This page does not take that "
			    "kind of request.");
		else
			admin_error(c, 404, "Not found", "There is no such page.");
		return;
	}
	if ((rt->flags & AR_SESSION) && !c->signed_in) {
		admin_redirect(c, "/");
		return;
	}
	if ((rt->flags & AR_CSRF) && !adm_session_csrf_ok(c)) {
		admin_error(c, 403, "Forbidden", "The form did not carry this session's CSRF "
		    "token; nothing was changed. Reload the page and try again.");
		return;
	}
	rt->fn(c);
}

void
admin_handle(struct store *s, const struct api_conf *conf, const struct http_req *rq,
    struct http_resp *rs)
{
	struct admin_ctx c;
	const char *uri = rq->uri ? rq->uri : "", *q, *mend, *rest;
	size_t plen;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.conf = conf;
	c.rq = rq;
	c.rs = rs;
	rs->status = 200;
	buf_adds(&rs->headers, sec_headers);
	q = strchr(uri, '?');
	c.query = q ? q + 1 : "";
	plen = q ? (size_t)(q - uri) : strlen(uri);
	mend = find_mount(uri, plen);
	if (mend == NULL || (size_t)(mend - uri) >= sizeof(c.base)) {
		admin_error(&c, 404, "Not found", "There is no such page.");
		return;
	}
	memcpy(c.base, uri, (size_t)(mend - uri));
	c.base[mend - uri] = '\0';
	adm_session_load(&c);
	if (mend == uri + plen) {           /* "/admin" alone: to "/admin/" */
		admin_redirect(&c, "/");
		return;
	}
	if (rq->body != NULL && rq->body_len > 0 && !rq->body_too_big &&
	    rq->body_len <= conf->body_limit) {
		if ((c.form = malloc(rq->body_len + 1)) == NULL) {
			admin_error(&c, 500, "Internal error", "Out of memory.");
			return;
		}
		memcpy(c.form, rq->body, rq->body_len);
		c.form[rq->body_len] = '\0';
	} else if (rq->body_too_big || rq->body_len > conf->body_limit) {
		admin_error(&c, 413, "Too large", "The form is larger than the service takes.");
		return;
	}
	rest = mend + 1;
	route(&c, rest, (size_t)(uri + plen - rest));
	free(c.form);
}
