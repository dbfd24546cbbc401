/*
 * api: routes an HTTP request to its handler, checks the bearer token, the
 * caller's rate limit and the route's scopes, and reads and checks a JSON
 * body.  This file and the other api_* files are the only ones that know
 * HTTP: api_error.c maps every mk_code to the status and Auth0-style error
 * body of spec section 2, api_caller.c says who calls (address, rate-limit
 * bucket, log event template), api_query.c reads the query string, and
 * api_users.c, api_clients.c and the like are the handlers.
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

#include "api_caller.h"
#include "api_clients.h"
#include "api_connections.h"
#include "api_ctx.h"
#include "api_error.h"
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
	memset(c, 0, sizeof(*c));
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

/* tok: the caller's checked token (api_handle_as), or NULL: the header's. */
static enum mk_code
dispatch(struct api_ctx *c, const struct route *rt, const struct auth_token *tok)
{
	struct auth_expect want;
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
		} else {
			want.issuer = c->issuer;
			want.audience = c->audience;
			want.now_ms = mk_now_ms();
			rc = auth_check(c->rtx, c->rq->authorization, &want, &c->tok, &c->err);
		}
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
		api_fail(rs, &c.err, c.res);
		return;
	}
	/* Not a route: counted against the address, as without a token. */
	if (route == R_NONE) {
		if (api_rate(conf, rq, NULL, rs, &c.err) != MK_OK)
			api_fail(rs, &c.err, c.res);
		else
			api_error(rs, 404, NULL, "Not Found");
		return;
	}
	if ((rt = find_route(route, rq->method ? rq->method : "", rs)) == NULL) {
		if (api_rate(conf, rq, NULL, rs, &c.err) != MK_OK)
			api_fail(rs, &c.err, c.res);
		else
			api_error(rs, 405, NULL, "Method Not Allowed");
		return;
	}
	rc = dispatch(&c, rt, tok);
	if (c.rtx != NULL)
		store_txn_end(c.rtx);
	if (rc != MK_OK) {
		c.err.code = rc;
		api_fail(rs, &c.err, c.res);
	} else if (rs->status == 204)
		buf_reset(&rs->body);
	/*
	 * A failed write is an fapi event, queued (logev.h); a refused one
	 * (429) is not: a flood of them would only flood the log.
	 */
	if (rc != MK_OK && rc != MK_ERR_RATE && conf->logs.on && rt->desc != NULL &&
	    (c.ev.n > 0 || api_log_template(&c, rt->desc) == MK_OK)) {
		struct logev_event ev = { { c.ev.p, c.ev.n }, mk_now_ms(),
		    c.res == API_RES_USER ? c.id : NULL, rs->status };
		struct mk_slice resp = { rs->body.p, rs->body.n };

		logev_fail(s, &ev, resp);
	}
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
