/*
 * api: routes an HTTP request to its handler, checks the bearer token and
 * the route's scopes, reads and checks a JSON body, and maps every mk_code
 * to the status and Auth0-style error body of spec section 2.  This file
 * and the ones it routes to (api_users.c, api_clients.c; api_query.c for
 * the query string) are the only ones that know HTTP.
 *
 * A route is a row of one table: path, method, scopes, whether it writes
 * and reads a body, and its handler.  Order of checks for every request:
 * route (404), method (405), token (401), the route's scopes (403), then
 * body: Content-Type (400), size (413), JSON (400), then the handler's
 * finer scope rules that depend on the body (403).  Inside svc's write
 * transaction: the record's existence (404), If-Match (412), then the
 * record's rules (400, 409).
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "api_clients.h"
#include "api_connections.h"
#include "api_ctx.h"
#include "api_logs.h"
#include "api_grants.h"
#include "api_oauth.h"
#include "api_query.h"
#include "api_users.h"
#include "auth.h"
#include "jx.h"
#include "log.h"
#include "logev.h"
#include "model.h"
#include "sindex.h"
#include "util.h"

void
api_conf_defaults(struct api_conf *c)
{
	c->body_limit = API_BODY_LIMIT_DEFAULT;
	svc_limits_defaults(&c->limits);
	c->search_budget = SINDEX_BUDGET_DEFAULT;
	c->search_slots = NULL;
	c->search_heavy = SINDEX_HEAVY_DEFAULT;
	logev_conf_defaults(&c->logs);
	c->rl = NULL;
}

void
http_resp_reset(struct http_resp *rs)
{
	rs->status = 200;
	rs->content_type = NULL;
	buf_reset(&rs->headers);
	buf_reset(&rs->body);
}

void
http_resp_free(struct http_resp *rs)
{
	buf_free(&rs->headers);
	buf_free(&rs->body);
}

/* ---- responses ---- */

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	}
	return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
}

/* Replace whatever was built with an error body. errcode may be NULL. */
static void
resp_error(struct http_resp *rs, int status, const char *errcode, const char *msg)
{
	struct json_object *o = json_object_new_object();
	const char *text;
	size_t len;

	buf_reset(&rs->body);
	rs->status = status;
	if (o == NULL)
		goto fallback;
	json_object_object_add(o, "statusCode", json_object_new_int(status));
	json_object_object_add(o, "error", json_object_new_string(http_reason(status)));
	json_object_object_add(o, "message", json_object_new_string(msg));
	if (errcode != NULL)
		json_object_object_add(o, "errorCode", json_object_new_string(errcode));
	text = jx_text(o, &len);
	if (text != NULL)
		buf_add(&rs->body, text, len);
	json_object_put(o);
	if (!rs->body.failed && rs->body.n > 0)
		return;
fallback:
	rs->status = 500;
	buf_reset(&rs->body);
	buf_adds(&rs->body, "{\"statusCode\":500,\"error\":\"Internal Server Error\","
	    "\"message\":\"Internal error\"}");
}

static void
resp_fail(struct http_resp *rs, const struct mk_err *e, enum api_res res)
{
	switch (e->code) {
	case MK_OK:
	case MK_ERR_INTERNAL:
	case MK_ERR_NOMEM:
		log_warnx("internal error: %s", e->msg);
		resp_error(rs, 500, NULL, "Internal error");
		break;
	case MK_ERR_INVALID:
		resp_error(rs, 400, "invalid_body", e->msg);
		break;
	case MK_ERR_QUERY:
		resp_error(rs, 400, "invalid_query_string", e->msg);
		break;
	case MK_ERR_URI:
		resp_error(rs, 400, "invalid_uri", e->msg);
		break;
	case MK_ERR_UNAUTH:
		resp_error(rs, 401, NULL, e->msg);
		break;
	case MK_ERR_SCOPE:
		resp_error(rs, 403, "insufficient_scope", e->msg);
		break;
	case MK_ERR_FORBIDDEN:
		resp_error(rs, 403, NULL, e->msg);
		break;
	case MK_ERR_NOTFOUND:
		if (res == API_RES_USER)
			resp_error(rs, 404, "inexistent_user", "The user does not exist.");
		else if (res == API_RES_LOG)
			resp_error(rs, 404, "inexistent_log", "The log does not exist.");
		else if (res == API_RES_CLIENT)
			resp_error(rs, 404, "inexistent_client", "The client does not exist.");
		else
			resp_error(rs, 404, "inexistent_client_grant",
			    "The client grant does not exist.");
		break;
	case MK_ERR_EXISTS:
		resp_error(rs, 409, res == API_RES_GRANT ? "client_grant_conflict" :
		    "auth0_idp_error", e->msg);
		break;
	case MK_ERR_PRECOND:
		resp_error(rs, 412, "precondition_failed", e->msg);
		break;
	case MK_ERR_TOOBIG:
		resp_error(rs, 413, "payload_too_large", e->msg);
		break;
	case MK_ERR_RATE:
		resp_error(rs, 429, "too_many_requests", e->msg);
		break;
	case MK_ERR_BUSY:
		buf_adds(&rs->headers, "Retry-After: 1\r\n");
		resp_error(rs, 429, "too_many_requests", e->msg);
		break;
	case MK_ERR_FULL:
		log_warnx("store full: %s", e->msg);
		buf_adds(&rs->headers, "Retry-After: 30\r\n");
		/* store's message: sizes and the setting to change, no path. */
		resp_error(rs, 503, NULL, e->msg[0] != '\0' ? e->msg :
		    "The store is full.");
		break;
	}
}

/* ---- the body ---- */

static int
is_json_type(const char *ct)
{
	return api_content_type(ct, "application/json");
}

/* Content-Type, size and JSON of a POST/PATCH body into c->body (owned). */
static enum mk_code
read_body(struct api_ctx *c)
{
	const struct http_req *rq = c->rq;
	struct json_object *o = NULL;
	enum mk_code rc;

	if (rq->body_too_big || rq->body_len > c->conf->body_limit)
		return mk_fail(&c->err, MK_ERR_TOOBIG, "Request body is larger than %zu bytes.",
		    c->conf->body_limit);
	if (!is_json_type(rq->content_type))
		return mk_fail(&c->err, MK_ERR_INVALID, "Payload validation error: 'Content-Type "
		    "must be application/json'.");
	if (rq->body == NULL || rq->body_len == 0)
		return mk_fail(&c->err, MK_ERR_INVALID, "Payload validation error: 'Invalid JSON: "
		    "the body is empty'.");
	rc = jx_parse(rq->body, rq->body_len, model_body_depth(c->conf->limits.max_depth), &o,
	    &c->err);
	if (rc != MK_OK)
		return rc;
	if (!json_object_is_type(o, json_type_object)) {
		rc = mk_fail(&c->err, MK_ERR_INVALID, "Payload validation error: 'Expected type "
		    "object but found type %s'.", json_type_to_name(json_object_get_type(o)));
		json_object_put(o);
		return rc;
	}
	c->body = o;
	return MK_OK;
}

/* ---- routing ---- */

enum route_id {
	R_NONE,
	R_USERS,          /* /users */
	R_USER,           /* /users/{id} */
	R_USERS_BY_EMAIL, /* /users-by-email */
	R_CLIENTS,        /* /clients */
	R_CLIENT,         /* /clients/{id} */
	R_CONNECTIONS,    /* /connections */
	R_LOGS,           /* /logs */
	R_LOG,            /* /logs/{id} */
	R_USER_LOGS,      /* /users/{id}/logs */
	R_GRANTS,         /* /client-grants */
	R_GRANT,          /* /client-grants/{id} */
	R_OAUTH_TOKEN,    /* /oauth/token (not under /api/v2/) */
	R_JWKS,           /* /.well-known/jwks.json (not under /api/v2/) */
};

/* The paths under /api/v2/: a collection and, when it has one, its items. */
static const struct path {
	const char *seg;
	enum route_id list;      /* /seg */
	enum route_id item;      /* /seg/{id}; R_NONE: none */
	enum api_res res;          /* what a NOTFOUND is about */
	const char *sub;         /* /seg/{id}/sub, or NULL */
	enum route_id subroute;
} paths[] = {
	{ "users", R_USERS, R_USER, API_RES_USER, "logs", R_USER_LOGS },
	{ "users-by-email", R_USERS_BY_EMAIL, R_NONE, API_RES_USER, NULL, R_NONE },
	{ "clients", R_CLIENTS, R_CLIENT, API_RES_CLIENT, NULL, R_NONE },
	{ "connections", R_CONNECTIONS, R_NONE, API_RES_USER, NULL, R_NONE },
	{ "logs", R_LOGS, R_LOG, API_RES_LOG, NULL, R_NONE },
	{ "client-grants", R_GRANTS, R_GRANT, API_RES_GRANT, NULL, R_NONE },
};

/*
 * The paths outside /api/v2/, where Auth0 has them: the path ends with
 * one (the service may be mounted under a prefix, as the API may).
 */
static const struct top_path {
	const char *path;
	enum route_id route;
} top_paths[] = {
	{ "/oauth/token", R_OAUTH_TOKEN },
	{ "/.well-known/jwks.json", R_JWKS },
};

#define RT_WRITE 0x1     /* svc writes in its own transaction: no read one is held */
#define RT_BODY 0x2      /* reads a JSON body */
#define RT_PUBLIC 0x4    /* no token: anyone may call it (the handler checks what it needs) */

static const struct route {
	enum route_id path;
	const char *method;
	uint32_t scopes;     /* any of these, checked before the body is read */
	int flags;
	api_handler fn;
	const char *desc;    /* writes: Auth0's description of the log event */
} routes[] = {
	{ R_USERS, "GET", SC_READ_USERS, 0, api_users_list, NULL },
	{ R_USERS, "POST", SC_CREATE_USERS, RT_WRITE | RT_BODY, api_users_create,
	    "Create a User" },
	{ R_USER, "GET", SC_READ_USERS | SC_READ_CURRENT_USER, 0, api_users_get, NULL },
	{ R_USER, "PATCH", SC_UPDATE_USERS | SC_UPDATE_USERS_APP_METADATA |
	    SC_UPDATE_CURRENT_USER_METADATA, RT_WRITE | RT_BODY, api_users_patch,
	    "Update a User" },
	{ R_USER, "DELETE", SC_DELETE_USERS, RT_WRITE, api_users_delete, "Delete a User" },
	{ R_USERS_BY_EMAIL, "GET", SC_READ_USERS, 0, api_users_by_email, NULL },
	{ R_CLIENTS, "GET", SC_READ_CLIENTS | SC_READ_CLIENT_KEYS, 0, api_clients_list, NULL },
	{ R_CLIENTS, "POST", SC_CREATE_CLIENTS, RT_WRITE | RT_BODY, api_clients_create,
	    "Create a client" },
	{ R_CLIENT, "GET", SC_READ_CLIENTS | SC_READ_CLIENT_KEYS, 0, api_clients_get, NULL },
	{ R_CLIENT, "PATCH", SC_UPDATE_CLIENTS, RT_WRITE | RT_BODY, api_clients_patch,
	    "Update a client" },
	{ R_CLIENT, "DELETE", SC_DELETE_CLIENTS, RT_WRITE, api_clients_delete,
	    "Delete a client" },
	{ R_CONNECTIONS, "GET", SC_READ_CONNECTIONS, 0, api_connections_list, NULL },
	{ R_LOGS, "GET", SC_READ_LOGS, 0, api_logs_list, NULL },
	{ R_LOG, "GET", SC_READ_LOGS, 0, api_logs_get, NULL },
	{ R_USER_LOGS, "GET", SC_READ_LOGS | SC_READ_LOGS_USERS, 0, api_users_logs, NULL },
	{ R_GRANTS, "GET", SC_READ_CLIENT_GRANTS, 0, api_grants_list, NULL },
	{ R_GRANTS, "POST", SC_CREATE_CLIENT_GRANTS, RT_WRITE | RT_BODY, api_grants_create,
	    NULL },
	{ R_GRANT, "GET", SC_READ_CLIENT_GRANTS, 0, api_grants_get, NULL },
	{ R_GRANT, "PATCH", SC_UPDATE_CLIENT_GRANTS, RT_WRITE | RT_BODY, api_grants_patch,
	    NULL },
	{ R_GRANT, "DELETE", SC_DELETE_CLIENT_GRANTS, RT_WRITE, api_grants_delete, NULL },
	{ R_OAUTH_TOKEN, "POST", 0, RT_PUBLIC | RT_WRITE, api_oauth_token, NULL },
	{ R_JWKS, "GET", 0, RT_PUBLIC, api_oauth_jwks, NULL },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))
#define NPATHS (sizeof(paths) / sizeof(paths[0]))
#define NTOP (sizeof(top_paths) / sizeof(top_paths[0]))

/* The route of a path outside /api/v2/ (p[0..n-1]), or R_NONE. */
static enum route_id
top_match(const char *p, size_t n)
{
	size_t i, tl;

	for (i = 0; i < NTOP; i++) {
		tl = strlen(top_paths[i].path);
		if (n >= tl && memcmp(p + n - tl, top_paths[i].path, tl) == 0)
			return top_paths[i].route;
	}
	return R_NONE;
}

/*
 * Split the URI into the route, the decoded id (c->id) and the query
 * (c->query, pointing into rq->uri).  *route is R_NONE for any other path;
 * MK_ERR_URI when the id does not decode.
 */
static enum mk_code
route_match(struct api_ctx *c, enum route_id *route, enum api_res *res)
{
	const char *uri = c->rq->uri ? c->rq->uri : "";
	const char *q = strchr(uri, '?');
	size_t plen = q ? (size_t)(q - uri) : strlen(uri);
	const char *p, *end = uri + plen, *seg, *sub;
	const struct path *pa = NULL;
	size_t seglen, i;
	ssize_t idlen;

	c->query = q ? q + 1 : "";
	*route = R_NONE;
	/* The API may be mounted under any prefix: take the first "/api/v2/". */
	for (p = uri; p + 8 <= end; p++)
		if (memcmp(p, "/api/v2/", 8) == 0)
			break;
	if (p + 8 > end) {
		*route = top_match(uri, plen);
		return MK_OK;
	}
	seg = p + 8;
	p = memchr(seg, '/', (size_t)(end - seg));
	seglen = (size_t)((p ? p : end) - seg);
	for (i = 0; i < NPATHS && pa == NULL; i++)
		if (strlen(paths[i].seg) == seglen && memcmp(seg, paths[i].seg, seglen) == 0)
			pa = &paths[i];
	if (pa == NULL)
		return MK_OK;
	*res = pa->res;
	if (p == NULL) {
		*route = pa->list;
		return MK_OK;
	}
	if (pa->item == R_NONE)
		return MK_OK;
	/* One more segment: the id; then the sub-resource, when the path has one. */
	if (p + 1 == end)
		return MK_OK;
	if ((sub = memchr(p + 1, '/', (size_t)(end - p - 1))) != NULL) {
		if (pa->sub == NULL || (size_t)(end - sub - 1) != strlen(pa->sub) ||
		    memcmp(sub + 1, pa->sub, strlen(pa->sub)) != 0)
			return MK_OK;
	} else
		sub = end;
	if ((size_t)(sub - p - 1) > 3 * API_ID_MAX)
		return mk_fail(&c->err, MK_ERR_URI, "The id is too long.");
	idlen = api_pct_decode(p + 1, (size_t)(sub - p - 1), 0, c->id, sizeof(c->id));
	if (idlen <= 0)
		return mk_fail(&c->err, MK_ERR_URI, "The id in the path is not valid.");
	*route = sub == end ? pa->item : pa->subroute;
	return MK_OK;
}

/* The row of (path, method); NULL with an Allow header in rs when none. */
static const struct route *
find_route(enum route_id path, const char *method, struct http_resp *rs)
{
	size_t i;
	int any = 0;

	for (i = 0; i < NROUTES; i++)
		if (routes[i].path == path && strcmp(routes[i].method, method) == 0)
			return &routes[i];
	buf_adds(&rs->headers, "Allow: ");
	for (i = 0; i < NROUTES; i++)
		if (routes[i].path == path) {
			buf_printf(&rs->headers, "%s%s", any ? ", " : "", routes[i].method);
			any = 1;
		}
	buf_adds(&rs->headers, "\r\n");
	return NULL;
}

#define API_IP_MAX 64      /* an address, as the log and the limits keep it */
#define API_XFF_MAX 32     /* X-Forwarded-For entries looked at */

/* Is the address a[0..n-1] one of the trusted proxies? */
static int
trusted_proxy(const char *list, const char *a, size_t n)
{
	const char *p = list, *e;

	while (list != NULL && *p != '\0') {
		p += strspn(p, ", \t");
		e = p + strcspn(p, ", \t");
		if (e > p && (size_t)(e - p) == n && memcmp(p, a, n) == 0)
			return 1;
		p = e;
	}
	return 0;
}

/*
 * The client's address into out: REMOTE_ADDR, unless that is a trusted
 * proxy with an X-Forwarded-For; then the rightmost address of it that is
 * not a trusted proxy (the one the first trusted proxy saw), or its
 * leftmost when all are.  Whatever a client writes there is believed only
 * as far as trusted proxies pass it on.  "" when unknown.
 */
static void
client_ip(const struct api_conf *conf, const struct http_req *rq, char out[API_IP_MAX])
{
	const char *ra = rq->remote_addr ? rq->remote_addr : "", *x = rq->forwarded_for;
	const char *end, *b, *e, *pick = NULL;
	size_t pn = 0, k;

	snprintf(out, API_IP_MAX, "%s", ra);
	if (x == NULL || !trusted_proxy(conf->trusted_proxies, ra, strlen(ra)))
		return;
	/* From the right: the entries the trusted proxies appended. */
	end = x + strlen(x);
	for (k = 0; k < API_XFF_MAX && end > x; k++) {
		e = end;
		while (e > x && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		b = e;
		while (b > x && b[-1] != ',')
			b--;
		end = b > x ? b - 1 : x;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		if (b == e)
			continue;
		pick = b;
		pn = (size_t)(e - b);
		if (!trusted_proxy(conf->trusted_proxies, b, pn))
			break;
	}
	if (pick != NULL && pn < API_IP_MAX)
		snprintf(out, API_IP_MAX, "%.*s", (int)pn, pick);
}

/*
 * The rate limit (spec 7): take a token from the caller's bucket, reads
 * (GET) and writes apart, and put Auth0's three headers on the answer.
 * The caller is the token (for an access token from /oauth/token, its
 * client); a request without a valid one, and one to /oauth/token, is
 * counted against its address, so guessing tokens or secrets is limited
 * too.  MK_ERR_RATE
 * (429, with Retry-After) when the bucket is empty.  No limits: MK_OK and
 * no headers.
 */
static enum mk_code
api_rate(const struct api_conf *conf, const struct http_req *rq, const struct auth_token *tok,
    struct http_resp *rs, struct mk_err *err)
{
	struct ratelimit_result r;
	char key[AUTH_CLIENT_MAX + 64], ip[API_IP_MAX];
	int n, write = rq->method != NULL && strcmp(rq->method, "GET") != 0;

	if (conf->rl == NULL)
		return MK_OK;
	/*
	 * A bucket per caller and class: "r" or "w", then the token, the client
	 * an access token was issued to (its tokens share one), or the address.
	 */
	if (tok != NULL && tok->id[0] == '\0' && tok->client_id[0] != '\0')
		n = snprintf(key, sizeof(key), "%cc:%.200s", write ? 'w' : 'r', tok->client_id);
	else if (tok != NULL)
		n = snprintf(key, sizeof(key), "%ct:%s", write ? 'w' : 'r', tok->id);
	else {
		client_ip(conf, rq, ip);
		n = snprintf(key, sizeof(key), "%ca:%s", write ? 'w' : 'r', ip);
	}
	if (n < 0 || (size_t)n >= sizeof(key))
		n = (int)strlen(key);
	ratelimit_take(conf->rl, key, (size_t)n, write ? &conf->rate_write : &conf->rate_read,
	    mk_now_ms(), &r);
	buf_printf(&rs->headers, "x-ratelimit-limit: %u\r\nx-ratelimit-remaining: %u\r\n"
	    "x-ratelimit-reset: %lld\r\n", r.limit, r.remaining, (long long)r.reset_s);
	if (r.allowed)
		return MK_OK;
	buf_printf(&rs->headers, "Retry-After: %u\r\n", r.retry_after_s);
	return mk_fail(err, MK_ERR_RATE, "Global limit has been reached");
}

/*
 * The template of this call's log event (logev.h) into c->ev: the caller
 * (a token: its id), where from, what it asked.  desc: Auth0's wording, or
 * NULL for a failed call before its route was known.  MK_ERR_NOMEM.
 */
static enum mk_code
api_log_template(struct api_ctx *c, const char *desc)
{
	struct logev_call call;
	char scopes[1024], path[2048], ip[API_IP_MAX];
	const char *uri = c->rq->uri ? c->rq->uri : "", *qm = strchr(uri, '?');

	memset(&call, 0, sizeof(call));
	snprintf(path, sizeof(path), "%.*s", (int)(qm ? (size_t)(qm - uri) : strlen(uri)), uri);
	scopes[0] = '\0';
	/* The caller: an opaque token's id, or the client of an access token. */
	if (c->tok.id[0] != '\0' || c->tok.client_id[0] != '\0') {
		auth_scopes_format(c->tok.scopes, " ", scopes, sizeof(scopes));
		call.client_id = c->tok.id[0] != '\0' ? c->tok.id : c->tok.client_id;
		call.scopes = scopes;
	}
	call.method = c->rq->method;
	call.path = path;
	call.query = c->query != NULL && c->query[0] != '\0' ? c->query : NULL;
	client_ip(c->conf, c->rq, ip);
	call.ip = ip[0] != '\0' ? ip : NULL;
	call.user_agent = c->rq->user_agent;
	call.body = c->body;
	call.description = desc;
	if (logev_template(&call, &c->ev) != MK_OK)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	return MK_OK;
}

/* tok: the caller's checked token (api_handle_as), or NULL: the header's. */
static enum mk_code
dispatch(struct api_ctx *c, const struct route *rt, const struct auth_token *tok)
{
	enum mk_code rc, rrc;

	api_issuer(c);
	if ((rc = store_read_begin(c->s, &c->rtx)) != MK_OK)
		return mk_fail(&c->err, rc, "read transaction failed");
	if (rt->flags & RT_PUBLIC) {
		/* /oauth/token and jwks.json: no caller, counted by address. */
		if ((rrc = api_rate(c->conf, c->rq, NULL, c->rs, &c->err)) != MK_OK)
			return rrc;
	} else {
		if (tok != NULL) {
			c->tok = *tok;
			rc = MK_OK;
		} else
			rc = auth_check(c->rtx, c->rq->authorization, c->issuer, c->audience,
			    mk_now_ms(), &c->tok, &c->err);
		rrc = api_rate(c->conf, c->rq, rc == MK_OK ? &c->tok : NULL, c->rs, &c->err);
		if (rrc != MK_OK)
			return rrc;
		if (rc != MK_OK)
			return rc;
		if (!api_need_scope(c, rt->scopes))
			return c->err.code;
	}
	if (rt->flags & RT_WRITE) {
		store_txn_end(c->rtx);
		c->rtx = NULL;
	}
	if ((rt->flags & RT_BODY) && (rc = read_body(c)) != MK_OK)
		return rc;
	if (rt->desc != NULL && c->conf->logs.on) {
		if ((rc = api_log_template(c, rt->desc)) != MK_OK)
			return rc;
		svc_log_next(c->ev.p, c->ev.n);
	}
	rc = rt->fn(c);
	svc_log_next(NULL, 0);
	return rc;
}

static void
handle(struct store *s, const struct api_conf *conf, const struct http_req *rq,
    const struct auth_token *tok, struct http_resp *rs)
{
	struct api_ctx c;
	const struct route *rt;
	enum route_id route;
	enum mk_code rc;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.conf = conf;
	c.rq = rq;
	c.rs = rs;
	rs->status = 200;
	c.res = API_RES_USER;
	if (route_match(&c, &route, &c.res) != MK_OK) {
		resp_fail(rs, &c.err, c.res);
		return;
	}
	/* Not a route: counted against the address, as without a token. */
	if (route == R_NONE) {
		if (api_rate(conf, rq, NULL, rs, &c.err) != MK_OK)
			resp_fail(rs, &c.err, c.res);
		else
			resp_error(rs, 404, NULL, "Not Found");
		return;
	}
	if ((rt = find_route(route, rq->method ? rq->method : "", rs)) == NULL) {
		if (api_rate(conf, rq, NULL, rs, &c.err) != MK_OK)
			resp_fail(rs, &c.err, c.res);
		else
			resp_error(rs, 405, NULL, "Method Not Allowed");
		return;
	}
	rc = dispatch(&c, rt, tok);
	if (c.rtx != NULL)
		store_txn_end(c.rtx);
	if (rc != MK_OK) {
		c.err.code = rc;
		resp_fail(rs, &c.err, c.res);
	} else if (rs->status == 204)
		buf_reset(&rs->body);
	/*
	 * A failed write is an fapi event, queued (logev.h); a refused one
	 * (429) is not: a flood of them would only flood the log.
	 */
	if (rc != MK_OK && rc != MK_ERR_RATE && conf->logs.on && rt->desc != NULL &&
	    (c.ev.n > 0 || api_log_template(&c, rt->desc) == MK_OK))
		logev_fail(s, c.ev.p, c.ev.n, mk_now_ms(), c.res == API_RES_USER ? c.id : NULL,
		    rs->status, rs->body.p, rs->body.n);
	json_object_put(c.body);
	free(c.pre_tags);
	buf_free(&c.ev);
	if (conf->logs.on)
		logev_tick(s, &conf->logs, mk_now_ms());
}

void
api_handle(struct store *s, const struct api_conf *conf, const struct http_req *rq,
    struct http_resp *rs)
{
	handle(s, conf, rq, NULL, rs);
}

void
api_handle_as(struct store *s, const struct api_conf *conf, const struct http_req *rq,
    const struct auth_token *tok, struct http_resp *rs)
{
	handle(s, conf, rq, tok, rs);
}
