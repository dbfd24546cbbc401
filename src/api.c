/*
 * api: routes an HTTP request to a handler, checks the bearer token and its
 * scopes, reads records straight from a store read transaction, sends writes
 * to svc, and maps every mk_code to the status and Auth0-style error body of
 * spec section 2.  This is the only module that knows HTTP status codes.
 *
 * Order of checks for every request: route (404), method (405), token (401),
 * the route's scopes (403), then body: Content-Type (400), size (413), JSON
 * (400), then the finer scope rules that depend on the body (403).  Inside
 * svc's write transaction: the record's existence (404), If-Match (412),
 * then the record's rules (400, 409).
 */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "auth.h"
#include "jx.h"
#include "log.h"
#include "meta.h"
#include "model.h"
#include "sindex.h"
#include "svc.h"
#include "util.h"

#define ID_MAX 512          /* decoded path id, bytes */
#define QVAL_MAX 1024       /* one decoded query value, bytes */
#define FIELDS_MAX 64       /* names in a fields= list */
#define PER_PAGE_MAX 100
#define PER_PAGE_DEFAULT 50
#define PAGE_MAX 1000000
/* The body's own nesting: the body object plus the metadata's levels. */
#define BODY_EXTRA_DEPTH 2

void
api_conf_defaults(struct api_conf *c)
{
	c->body_limit = API_BODY_LIMIT_DEFAULT;
	svc_limits_defaults(&c->limits);
}

void
http_resp_reset(struct http_resp *rs)
{
	rs->status = 200;
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

/* What a NOTFOUND means depends on the resource. */
enum resource { RES_USER, RES_CLIENT };

static void
resp_fail(struct http_resp *rs, const struct mk_err *e, enum resource res)
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
		if (res == RES_USER)
			resp_error(rs, 404, "inexistent_user", "The user does not exist.");
		else
			resp_error(rs, 404, "inexistent_client", "The client does not exist.");
		break;
	case MK_ERR_EXISTS:
		resp_error(rs, 409, "auth0_idp_error", e->msg);
		break;
	case MK_ERR_PRECOND:
		resp_error(rs, 412, "precondition_failed", e->msg);
		break;
	case MK_ERR_TOOBIG:
		resp_error(rs, 413, "payload_too_large", e->msg);
		break;
	case MK_ERR_FULL:
		log_warnx("store full: %s", e->msg);
		buf_adds(&rs->headers, "Retry-After: 30\r\n");
		resp_error(rs, 503, NULL, "The store is full; the operator must raise its map size.");
		break;
	}
}

/* ---- request parsing ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Percent-decode p[0..n-1] into out (outlen bytes, NUL-terminated).
 * plus: decode '+' as a space (query strings).  Returns the decoded length,
 * or -1 on a malformed escape, an encoded or raw NUL, or no room.
 */
static ssize_t
pct_decode(const char *p, size_t n, int plus, char *out, size_t outlen)
{
	size_t i, o = 0;
	int hi, lo, c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (ssize_t)o;
}

/*
 * Find parameter name in the raw query string and decode its value into out.
 * Returns 1 when found, 0 when absent, -1 when its value does not decode.
 */
static int
query_get(const char *query, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = query, *amp, *eq;

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		eq = memchr(p, '=', amp ? (size_t)(amp - p) : strlen(p));
		if (eq != NULL && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			size_t vlen = amp ? (size_t)(amp - eq - 1) : strlen(eq + 1);
			return pct_decode(eq + 1, vlen, 1, out, outlen) < 0 ? -1 : 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

static enum mk_code
query_bad(struct mk_err *err, const char *name, const char *what)
{
	return mk_fail(err, MK_ERR_QUERY, "Query validation error: '%s' on property %s.",
	    what, name);
}

static enum mk_code
query_int(const char *query, const char *name, long lo, long hi, long def, long *out,
    struct mk_err *err)
{
	char v[32], *end;
	long n;
	int r = query_get(query, name, v, sizeof(v));

	if (r == 0) {
		*out = def;
		return MK_OK;
	}
	if (r < 0 || v[0] == '\0')
		return query_bad(err, name, "Expected type integer");
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || !isdigit((unsigned char)v[0]))
		return query_bad(err, name, "Expected type integer");
	if (n < lo || n > hi) {
		char what[96];
		snprintf(what, sizeof(what), "Value %ld is out of range %ld..%ld", n, lo, hi);
		return query_bad(err, name, what);
	}
	*out = n;
	return MK_OK;
}

static enum mk_code
query_bool(const char *query, const char *name, int def, int *out, struct mk_err *err)
{
	char v[16];
	int r = query_get(query, name, v, sizeof(v));

	if (r == 0)
		*out = def;
	else if (r > 0 && strcmp(v, "true") == 0)
		*out = 1;
	else if (r > 0 && strcmp(v, "false") == 0)
		*out = 0;
	else
		return query_bad(err, name, "Expected type boolean");
	return MK_OK;
}

/* A fields= selection; n == 0 means "every field". */
struct fields {
	char storage[QVAL_MAX];
	const char *name[FIELDS_MAX];
	size_t n;
	int include;
};

static enum mk_code
query_fields(const char *query, struct fields *f, struct mk_err *err)
{
	char *p, *save = NULL;
	enum mk_code rc;
	int r;

	f->n = 0;
	if ((rc = query_bool(query, "include_fields", 1, &f->include, err)) != MK_OK)
		return rc;
	r = query_get(query, "fields", f->storage, sizeof(f->storage));
	if (r < 0)
		return query_bad(err, "fields", "Invalid value");
	if (r == 0 || f->storage[0] == '\0')
		return MK_OK;
	for (p = strtok_r(f->storage, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
		const char *c;
		if (f->n == FIELDS_MAX)
			return query_bad(err, "fields", "Too many fields");
		for (c = p; *c != '\0'; c++)
			if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.')
				return query_bad(err, "fields", "Invalid field name");
		f->name[f->n++] = p;
	}
	return MK_OK;
}

static int
fields_has(const struct fields *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->name[i], key) == 0)
			return 1;
	return 0;
}

/*
 * Append a stored record to out, shaped for the reader: the bytes as stored
 * when nothing is to be left out (the common case, no parse at all);
 * otherwise parsed, filtered by f and without client_secret when
 * hide_secret is set.
 */
static enum mk_code
emit_record(struct mk_buf *out, struct mk_slice rec, const struct fields *f,
    int hide_secret)
{
	struct json_object *o = NULL, *shaped = NULL;
	const char *text;
	size_t len;
	enum mk_code rc = MK_ERR_INTERNAL;

	if ((f == NULL || f->n == 0) && !hide_secret) {
		buf_add(out, rec.p, rec.n);
		return out->failed ? MK_ERR_NOMEM : MK_OK;
	}
	if (jx_parse_stored(rec.p, rec.n, &o) != MK_OK) {
		log_warnx("a stored record does not parse");
		return MK_ERR_INTERNAL;
	}
	if (hide_secret)
		json_object_object_del(o, "client_secret");
	if (f != NULL && f->n > 0) {
		if ((shaped = json_object_new_object()) == NULL)
			goto out;
		json_object_object_foreach(o, key, val) {
			if (fields_has(f, key) != f->include)
				continue;
			if (json_object_object_add(shaped, key, json_object_get(val)) != 0) {
				json_object_put(val);
				goto out;
			}
		}
		text = jx_text(shaped, &len);
	} else
		text = jx_text(o, &len);
	if (text != NULL && buf_add(out, text, len) == 0)
		rc = MK_OK;
out:
	json_object_put(shaped);
	json_object_put(o);
	return rc;
}

/*
 * spec 7: the ETag header of one record, its version quoted, from its stored
 * bytes (for writes, the body svc returned, which is exactly what it
 * stored).  A hash of ~1 KB keeps the GET fast path free of parsing.
 */
static void
add_etag(struct http_resp *rs, const char *p, size_t n)
{
	char v[SVC_VERSION_SIZE];

	svc_version(p, n, v);
	buf_printf(&rs->headers, "ETag: \"%s\"\r\n", v);
}

/*
 * RFC 9110 13.1.1: If-Match = "*" / #entity-tag, parsed into the
 * precondition svc checks: "*" alone is any; otherwise the opaque tags of
 * the strong entity-tags, in order, up to the first element that does not
 * parse (what follows it cannot match); a weak tag (W/"...") never
 * matches under the strong comparison, so it is left out.  The slices
 * point into h; *tags is owned (free it) and NULL when there are none.
 * Returns -1 when out of memory.
 */
static int
if_match_parse(const char *h, struct svc_precond *pre, struct mk_slice **tags)
{
	const char *p = h, *q;
	struct mk_slice *t;
	size_t max = 0;
	int weak;

	memset(pre, 0, sizeof(*pre));
	*tags = NULL;
	p += strspn(p, " \t");
	if (*p == '*') {
		p++;
		p += strspn(p, " \t");
		pre->any = *p == '\0';
		return 0;
	}
	/* Each tag takes two quotes: that bounds their number. */
	for (q = p; (q = strchr(q, '"')) != NULL; q++)
		max++;
	if (max < 2)
		return 0;
	if ((t = calloc(max / 2, sizeof(*t))) == NULL)
		return -1;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		weak = 0;
		if (p[0] == 'W' && p[1] == '/') {
			weak = 1;
			p += 2;
		}
		if (*p != '"' || (q = strchr(p + 1, '"')) == NULL)
			break;
		if (!weak) {
			t[pre->n].p = p + 1;
			t[pre->n].n = (size_t)(q - p - 1);
			pre->n++;
		}
		p = q + 1;
		p += strspn(p, " \t");
		if (*p != ',' && *p != '\0')
			break;
	}
	pre->versions = t;
	*tags = t;
	return 0;
}

/* ---- routing ---- */

enum route_id {
	R_NONE,
	R_USERS,          /* /users */
	R_USER,           /* /users/{id} */
	R_USERS_BY_EMAIL, /* /users-by-email */
	R_CLIENTS,        /* /clients */
	R_CLIENT,         /* /clients/{id} */
};

struct ctx {
	struct store *s;
	const struct api_conf *conf;
	const struct http_req *rq;
	struct http_resp *rs;
	struct store_txn *rtx;    /* the request's read transaction, or NULL */
	struct auth_token tok;
	const char *query;        /* raw query string, "" when none */
	char id[ID_MAX + 1];      /* decoded path id */
	struct svc_precond pre;   /* If-Match, parsed by precond() */
	struct mk_slice *pre_tags;/* owned: pre.versions */
	struct mk_err err;
};

/* Split the URI into the route and id; query points into rq->uri. */
static enum mk_code
route_match(struct ctx *c, enum route_id *route)
{
	const char *uri = c->rq->uri ? c->rq->uri : "";
	const char *q = strchr(uri, '?');
	size_t plen = q ? (size_t)(q - uri) : strlen(uri);
	const char *p, *end = uri + plen, *seg;
	size_t seglen;
	ssize_t idlen;

	c->query = q ? q + 1 : "";
	*route = R_NONE;
	/* The API may be mounted under any prefix: take the first "/api/v2/". */
	for (p = uri; p + 8 <= end; p++)
		if (memcmp(p, "/api/v2/", 8) == 0)
			break;
	if (p + 8 > end)
		return MK_OK;
	seg = p + 8;
	p = memchr(seg, '/', (size_t)(end - seg));
	seglen = (size_t)((p ? p : end) - seg);
#define SEG_IS(s) (seglen == sizeof(s) - 1 && memcmp(seg, s, seglen) == 0)
	if (p == NULL) {
		if (SEG_IS("users"))
			*route = R_USERS;
		else if (SEG_IS("users-by-email"))
			*route = R_USERS_BY_EMAIL;
		else if (SEG_IS("clients"))
			*route = R_CLIENTS;
		return MK_OK;
	}
	if (!SEG_IS("users") && !SEG_IS("clients"))
		return MK_OK;
	/* One more segment: the id.  Anything after it is an unknown route. */
	if (p + 1 == end || memchr(p + 1, '/', (size_t)(end - p - 1)) != NULL)
		return MK_OK;
	if ((size_t)(end - p - 1) > 3 * ID_MAX)
		return mk_fail(&c->err, MK_ERR_URI, "The id is too long.");
	idlen = pct_decode(p + 1, (size_t)(end - p - 1), 0, c->id, sizeof(c->id));
	if (idlen <= 0)
		return mk_fail(&c->err, MK_ERR_URI, "The id in the path is not valid.");
	*route = SEG_IS("users") ? R_USER : R_CLIENT;
#undef SEG_IS
	return MK_OK;
}

/* The request's If-Match as a precondition in *out; NULL when it has none. */
static enum mk_code
precond(struct ctx *c, const struct svc_precond **out)
{
	*out = NULL;
	if (c->rq->if_match == NULL)
		return MK_OK;
	if (if_match_parse(c->rq->if_match, &c->pre, &c->pre_tags) == -1)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	*out = &c->pre;
	return MK_OK;
}

/* 403 unless the token holds one of want; the message lists them. */
static int
need_scope(struct ctx *c, uint32_t want)
{
	char names[512];

	if (c->tok.scopes & want)
		return 1;
	auth_scopes_format(want, ",", names, sizeof(names));
	mk_fail(&c->err, MK_ERR_SCOPE, "Insufficient scope, expected any of: %s", names);
	return 0;
}

/* Token bound to a user, acting on another: 403. */
static int
same_subject(struct ctx *c)
{
	if (strcmp(c->tok.sub, c->id) == 0)
		return 1;
	mk_fail(&c->err, MK_ERR_FORBIDDEN,
	    "User to be acted on does not match subject in bearer token.");
	return 0;
}

static int
is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Content-Type, size and JSON of a POST/PATCH body; *out is an owned object. */
static enum mk_code
read_body(struct ctx *c, struct json_object **out)
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
	rc = jx_parse(rq->body, rq->body_len, c->conf->limits.max_depth + BODY_EXTRA_DEPTH, &o,
	    &c->err);
	if (rc != MK_OK)
		return rc;
	if (!json_object_is_type(o, json_type_object)) {
		rc = mk_fail(&c->err, MK_ERR_INVALID, "Payload validation error: 'Expected type "
		    "object but found type %s'.", json_type_to_name(json_object_get_type(o)));
		json_object_put(o);
		return rc;
	}
	*out = o;
	return MK_OK;
}

/* ---- users ---- */

struct list_state {
	struct mk_buf *out;
	const struct fields *f;
	int hide_secret;
	size_t n;
	enum mk_code rc;
	/* clients: app_type filter and paging done here, since it filters */
	const char *app_types;     /* comma-separated, or NULL */
	size_t skip, limit, matched;
};

static int
list_emit(void *vls, struct mk_slice key, struct mk_slice rec)
{
	struct list_state *ls = vls;

	(void)key;
	if (ls->n > 0)
		buf_addc(ls->out, ',');
	if ((ls->rc = emit_record(ls->out, rec, ls->f, ls->hide_secret)) != MK_OK)
		return 1;
	ls->n++;
	return 0;
}

static enum mk_code
parse_sort(const char *query, enum store_order *order, int *desc, struct mk_err *err)
{
	static const struct { const char *name; enum store_order order; } keys[] = {
		{ "created_at", STORE_BY_CREATED }, { "updated_at", STORE_BY_UPDATED },
		{ "email", STORE_BY_EMAIL }, { "user_id", STORE_BY_ID },
	};
	char v[64], *colon;
	size_t i;
	int r = query_get(query, "sort", v, sizeof(v));

	*order = STORE_BY_CREATED;
	*desc = 0;
	if (r == 0)
		return MK_OK;
	if (r < 0 || (colon = strchr(v, ':')) == NULL)
		return query_bad(err, "sort", "Expected field:1 or field:-1");
	*colon++ = '\0';
	if (strcmp(colon, "1") == 0)
		*desc = 0;
	else if (strcmp(colon, "-1") == 0)
		*desc = 1;
	else
		return query_bad(err, "sort", "Expected field:1 or field:-1");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(v, keys[i].name) == 0) {
			*order = keys[i].order;
			return MK_OK;
		}
	return query_bad(err, "sort", "Sorting is possible by created_at, updated_at, email "
	    "or user_id");
}

/*
 * The q= of a listing (spec 6), parsed into *out (owned; NULL when there is
 * no q, or a blank one: a plain listing).  search_engine is accepted for
 * Auth0 clients that send it: v2 and v3 mean the same here.
 */
static enum mk_code
search_query(struct ctx *c, struct query **out)
{
	char text[QUERY_MAX_LEN + 1], eng[8];
	struct query_error qe;
	enum mk_code rc;
	size_t i;
	int r;

	*out = NULL;
	r = query_get(c->query, "search_engine", eng, sizeof(eng));
	if (r < 0 || (r > 0 && strcmp(eng, "v2") != 0 && strcmp(eng, "v3") != 0))
		return query_bad(&c->err, "search_engine", "Expected v2 or v3");
	r = query_get(c->query, "q", text, sizeof(text));
	if (r < 0)
		return query_bad(&c->err, "q", "Cannot decode the value, or longer than "
		    "4096 bytes");
	if (r == 0)
		return MK_OK;
	for (i = 0; text[i] != '\0' && isspace((unsigned char)text[i]); i++)
		;
	if (text[i] == '\0')
		return MK_OK;
	memset(&qe, 0, sizeof(qe));
	rc = query_parse(text, strlen(text), out, &qe);
	if (rc == MK_ERR_NOMEM)
		return mk_fail(&c->err, rc, "out of memory");
	if (rc != MK_OK)
		return mk_fail(&c->err, MK_ERR_QUERY, "Query validation error: '%s at "
		    "position %zu' on property q.", qe.msg, qe.pos);
	return MK_OK;
}

static enum mk_code
users_list(struct ctx *c)
{
	struct fields f;
	struct list_state ls;
	struct mk_buf *out = &c->rs->body;
	struct store_page pg;
	struct sindex_req sr;
	enum store_order order;
	long page, per_page;
	size_t total = 0;
	int totals, desc;
	struct query *q = NULL;
	enum mk_code rc;

	if (!need_scope(c, SC_READ_USERS))
		return c->err.code;
	if ((rc = query_int(c->query, "page", 0, PAGE_MAX, 0, &page, &c->err)) != MK_OK ||
	    (rc = query_int(c->query, "per_page", 1, PER_PAGE_MAX, PER_PAGE_DEFAULT, &per_page,
	    &c->err)) != MK_OK ||
	    (rc = query_bool(c->query, "include_totals", 0, &totals, &c->err)) != MK_OK ||
	    (rc = parse_sort(c->query, &order, &desc, &c->err)) != MK_OK ||
	    (rc = query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	if ((rc = search_query(c, &q)) != MK_OK)
		return rc;
	pg.order = order;
	pg.desc = desc;
	pg.skip = (size_t)page * (size_t)per_page;
	pg.limit = (size_t)per_page;
	memset(&ls, 0, sizeof(ls));
	ls.out = out;
	ls.f = &f;
	buf_reset(out);
	if (totals && q == NULL &&
	    (rc = store_count(c->rtx, ST_USERS, &total)) != MK_OK)
		return mk_fail(&c->err, rc, "count failed");
	if (totals)
		buf_adds(out, "{\"users\":");
	buf_addc(out, '[');
	if (q != NULL) {
		/* spec 6: exact, no result limit; total is the number of matches */
		sr.q = q;
		sr.page = pg;
		sr.fn = list_emit;
		sr.ctx = &ls;
		rc = sindex_search(c->rtx, &sr, &total, &c->err);
		query_free(q);
		if (rc == MK_OK && ls.rc != MK_OK)
			rc = mk_fail(&c->err, ls.rc, "search output failed");
		if (rc != MK_OK)
			return rc;
	} else {
		rc = store_users_scan(c->rtx, &pg, list_emit, &ls);
		if (rc == MK_OK)
			rc = ls.rc;
		if (rc != MK_OK)
			return mk_fail(&c->err, rc, "listing users failed");
	}
	buf_addc(out, ']');
	if (totals)
		buf_printf(out, ",\"start\":%zu,\"limit\":%ld,\"length\":%zu,\"total\":%zu}",
		    (size_t)page * (size_t)per_page, per_page, ls.n, total);
	if (out->failed)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	c->rs->status = 200;
	return MK_OK;
}

static enum mk_code
users_by_email(struct ctx *c)
{
	char email[QVAL_MAX], *p;
	struct fields f;
	struct list_state ls;
	enum mk_code rc;
	int r;

	if (!need_scope(c, SC_READ_USERS))
		return c->err.code;
	if ((rc = query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	r = query_get(c->query, "email", email, sizeof(email));
	if (r <= 0 || email[0] == '\0')
		return query_bad(&c->err, "email", "Missing required property: email");
	for (p = email; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	memset(&ls, 0, sizeof(ls));
	ls.out = &c->rs->body;
	ls.f = &f;
	buf_reset(ls.out);
	buf_addc(ls.out, '[');
	rc = store_users_by_email(c->rtx, email, list_emit, &ls);
	if (rc == MK_OK)
		rc = ls.rc;
	if (rc != MK_OK)
		return mk_fail(&c->err, rc, "email lookup failed");
	buf_addc(ls.out, ']');
	c->rs->status = 200;
	return ls.out->failed ? mk_fail(&c->err, MK_ERR_NOMEM, "out of memory") : MK_OK;
}

static enum mk_code
user_get(struct ctx *c)
{
	struct fields f;
	struct mk_slice rec, key;
	enum mk_code rc;

	if (!need_scope(c, SC_READ_USERS | SC_READ_CURRENT_USER))
		return c->err.code;
	if (!(c->tok.scopes & SC_READ_USERS) && !same_subject(c))
		return c->err.code;
	if ((rc = query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	key.p = c->id;
	key.n = strlen(c->id);
	if ((rc = store_get(c->rtx, ST_USERS, key, &rec)) != MK_OK)
		return mk_fail(&c->err, rc, "user lookup failed");
	buf_reset(&c->rs->body);
	if ((rc = emit_record(&c->rs->body, rec, &f, 0)) != MK_OK)
		return mk_fail(&c->err, rc, "user output failed");
	add_etag(c->rs, rec.p, rec.n);
	c->rs->status = 200;
	return MK_OK;
}

static enum mk_code
user_create(struct ctx *c, struct json_object *body)
{
	enum mk_code rc;

	if ((rc = svc_user_create(c->s, &c->conf->limits, body, &c->rs->body, &c->err))
	    == MK_OK) {
		add_etag(c->rs, c->rs->body.p, c->rs->body.n);
		c->rs->status = 201;
	}
	return rc;
}

/*
 * PATCH scopes (spec 3): update:users may change anything;
 * update:users_app_metadata only app_metadata; update:current_user_metadata
 * only user_metadata of the token's own user.
 */
static int
patch_allowed(struct ctx *c, struct json_object *body)
{
	unsigned props = model_body_props(body);
	uint32_t sc = c->tok.scopes;

	if (sc & SC_UPDATE_USERS)
		return 1;
	if ((sc & SC_UPDATE_USERS_APP_METADATA) && props != 0 &&
	    (props & ~MODEL_PROP_APP_MD) == 0)
		return 1;
	if ((sc & SC_UPDATE_CURRENT_USER_METADATA) && props != 0 &&
	    (props & ~MODEL_PROP_USER_MD) == 0) {
		if (!same_subject(c))
			return 0;
		return 1;
	}
	mk_fail(&c->err, MK_ERR_SCOPE, "Some fields cannot be updated with the permissions "
	    "granted by the bearer token scopes");
	return 0;
}

static enum mk_code
user_patch(struct ctx *c, struct json_object *body)
{
	const struct svc_precond *pre;
	enum mk_code rc;

	if (!patch_allowed(c, body))
		return c->err.code;
	if ((rc = precond(c, &pre)) != MK_OK)
		return rc;
	if ((rc = svc_user_patch(c->s, &c->conf->limits, c->id, pre, body, &c->rs->body,
	    &c->err)) == MK_OK) {
		add_etag(c->rs, c->rs->body.p, c->rs->body.n);
		c->rs->status = 200;
	}
	return rc;
}

/* ---- clients ---- */

static int
app_type_wanted(const char *list, struct mk_slice rec)
{
	struct json_object *o = NULL;
	const char *t, *p;
	size_t tl;
	int hit = 0;

	if (list == NULL)
		return 1;
	if (jx_parse_stored(rec.p, rec.n, &o) != MK_OK)
		return 0;
	if ((t = jx_get_str(o, "app_type")) != NULL) {
		tl = strlen(t);
		for (p = list; *p != '\0'; p += strcspn(p, ","), p += *p == ',') {
			if (strcspn(p, ",") == tl && strncmp(p, t, tl) == 0) {
				hit = 1;
				break;
			}
		}
	}
	json_object_put(o);
	return hit;
}

static int
client_list_emit(void *vls, struct mk_slice key, struct mk_slice rec)
{
	struct list_state *ls = vls;

	if (!app_type_wanted(ls->app_types, rec))
		return 0;
	if (ls->matched++ < ls->skip || ls->n >= ls->limit)
		return 0;   /* keep going: the total counts every match */
	return list_emit(vls, key, rec);
}

static enum mk_code
clients_list(struct ctx *c)
{
	struct fields f;
	struct list_state ls;
	struct mk_buf *out = &c->rs->body;
	char app_types[QVAL_MAX];
	long page, per_page;
	int totals, r;
	enum mk_code rc;

	if (!need_scope(c, SC_READ_CLIENTS | SC_READ_CLIENT_KEYS))
		return c->err.code;
	if ((rc = query_int(c->query, "page", 0, PAGE_MAX, 0, &page, &c->err)) != MK_OK ||
	    (rc = query_int(c->query, "per_page", 1, PER_PAGE_MAX, PER_PAGE_DEFAULT, &per_page,
	    &c->err)) != MK_OK ||
	    (rc = query_bool(c->query, "include_totals", 0, &totals, &c->err)) != MK_OK ||
	    (rc = query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	r = query_get(c->query, "app_type", app_types, sizeof(app_types));
	if (r < 0)
		return query_bad(&c->err, "app_type", "Invalid value");
	memset(&ls, 0, sizeof(ls));
	ls.out = out;
	ls.f = &f;
	ls.hide_secret = !(c->tok.scopes & SC_READ_CLIENT_KEYS);
	ls.app_types = r > 0 && app_types[0] != '\0' ? app_types : NULL;
	ls.skip = (size_t)page * (size_t)per_page;
	ls.limit = (size_t)per_page;
	buf_reset(out);
	if (totals)
		buf_adds(out, "{\"clients\":");
	buf_addc(out, '[');
	rc = store_scan(c->rtx, ST_CLIENTS, client_list_emit, &ls);
	if (rc == MK_OK)
		rc = ls.rc;
	if (rc != MK_OK)
		return mk_fail(&c->err, rc, "listing clients failed");
	buf_addc(out, ']');
	if (totals)
		buf_printf(out, ",\"start\":%zu,\"limit\":%ld,\"total\":%zu}", ls.skip, per_page,
		    ls.matched);
	c->rs->status = 200;
	return out->failed ? mk_fail(&c->err, MK_ERR_NOMEM, "out of memory") : MK_OK;
}

static enum mk_code
client_get(struct ctx *c)
{
	struct fields f;
	struct mk_slice rec, key = { c->id, strlen(c->id) };
	enum mk_code rc;

	if (!need_scope(c, SC_READ_CLIENTS | SC_READ_CLIENT_KEYS))
		return c->err.code;
	if ((rc = query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	if ((rc = store_get(c->rtx, ST_CLIENTS, key, &rec)) != MK_OK)
		return mk_fail(&c->err, rc, "client lookup failed");
	buf_reset(&c->rs->body);
	rc = emit_record(&c->rs->body, rec, &f, !(c->tok.scopes & SC_READ_CLIENT_KEYS));
	if (rc != MK_OK)
		return mk_fail(&c->err, rc, "client output failed");
	add_etag(c->rs, rec.p, rec.n);
	c->rs->status = 200;
	return MK_OK;
}

static enum mk_code
client_write(struct ctx *c, struct json_object *body, int create)
{
	const struct svc_precond *pre;
	enum mk_code rc;

	if (model_body_props(body) & MODEL_PROP_SECRET && !need_scope(c, SC_UPDATE_CLIENT_KEYS))
		return c->err.code;
	if (create)
		rc = svc_client_create(c->s, &c->conf->limits, body, &c->rs->body, &c->err);
	else if ((rc = precond(c, &pre)) == MK_OK)
		rc = svc_client_patch(c->s, &c->conf->limits, c->id, pre, body,
		    &c->rs->body, &c->err);
	if (rc == MK_OK) {
		add_etag(c->rs, c->rs->body.p, c->rs->body.n);
		c->rs->status = create ? 201 : 200;
	}
	return rc;
}

/* ---- dispatch ---- */

struct method_rule {
	enum route_id route;
	const char *method;
	uint32_t scopes;     /* any of these, checked before the body is read */
	int has_body;
};

static const struct method_rule rules[] = {
	{ R_USERS, "GET", SC_READ_USERS, 0 },
	{ R_USERS, "POST", SC_CREATE_USERS, 1 },
	{ R_USER, "GET", SC_READ_USERS | SC_READ_CURRENT_USER, 0 },
	{ R_USER, "PATCH", SC_UPDATE_USERS | SC_UPDATE_USERS_APP_METADATA |
	    SC_UPDATE_CURRENT_USER_METADATA, 1 },
	{ R_USER, "DELETE", SC_DELETE_USERS, 0 },
	{ R_USERS_BY_EMAIL, "GET", SC_READ_USERS, 0 },
	{ R_CLIENTS, "GET", SC_READ_CLIENTS | SC_READ_CLIENT_KEYS, 0 },
	{ R_CLIENTS, "POST", SC_CREATE_CLIENTS, 1 },
	{ R_CLIENT, "GET", SC_READ_CLIENTS | SC_READ_CLIENT_KEYS, 0 },
	{ R_CLIENT, "PATCH", SC_UPDATE_CLIENTS, 1 },
	{ R_CLIENT, "DELETE", SC_DELETE_CLIENTS, 0 },
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

static const struct method_rule *
find_rule(enum route_id route, const char *method, struct http_resp *rs)
{
	size_t i;
	int any = 0;

	for (i = 0; i < NRULES; i++)
		if (rules[i].route == route && strcmp(rules[i].method, method) == 0)
			return &rules[i];
	buf_adds(&rs->headers, "Allow: ");
	for (i = 0; i < NRULES; i++)
		if (rules[i].route == route) {
			buf_printf(&rs->headers, "%s%s", any ? ", " : "", rules[i].method);
			any = 1;
		}
	buf_adds(&rs->headers, "\r\n");
	return NULL;
}

static enum mk_code
dispatch(struct ctx *c, const struct method_rule *rule)
{
	struct json_object *body = NULL;
	const struct svc_precond *pre;
	enum mk_code rc;

	if ((rc = store_read_begin(c->s, &c->rtx)) != MK_OK)
		return mk_fail(&c->err, rc, "read transaction failed");
	if ((rc = auth_check(c->rtx, c->rq->authorization, mk_now_ms(), &c->tok, &c->err))
	    != MK_OK)
		return rc;
	if (!need_scope(c, rule->scopes))
		return c->err.code;
	if (!rule->has_body && strcmp(rule->method, "DELETE") != 0) {
		switch (rule->route) {
		case R_USERS: return users_list(c);
		case R_USER: return user_get(c);
		case R_USERS_BY_EMAIL: return users_by_email(c);
		case R_CLIENTS: return clients_list(c);
		case R_CLIENT: return client_get(c);
		case R_NONE: break;
		}
		return mk_fail(&c->err, MK_ERR_INTERNAL, "no handler");
	}
	/* Writes: no read transaction is held across the write. */
	store_txn_end(c->rtx);
	c->rtx = NULL;
	if (rule->route == R_USER && strcmp(rule->method, "DELETE") == 0) {
		if ((rc = precond(c, &pre)) == MK_OK &&
		    (rc = svc_user_delete(c->s, c->id, pre, &c->err)) == MK_OK)
			c->rs->status = 204;
		return rc;
	}
	if (rule->route == R_CLIENT && strcmp(rule->method, "DELETE") == 0) {
		if ((rc = precond(c, &pre)) == MK_OK &&
		    (rc = svc_client_delete(c->s, c->id, pre, &c->err)) == MK_OK)
			c->rs->status = 204;
		return rc;
	}
	if ((rc = read_body(c, &body)) != MK_OK)
		return rc;
	switch (rule->route) {
	case R_USERS: rc = user_create(c, body); break;
	case R_USER: rc = user_patch(c, body); break;
	case R_CLIENTS: rc = client_write(c, body, 1); break;
	case R_CLIENT: rc = client_write(c, body, 0); break;
	default: rc = mk_fail(&c->err, MK_ERR_INTERNAL, "no handler"); break;
	}
	json_object_put(body);
	return rc;
}

void
api_handle(struct store *s, const struct api_conf *conf, const struct http_req *rq,
    struct http_resp *rs)
{
	struct ctx c;
	const struct method_rule *rule;
	enum route_id route;
	enum mk_code rc;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.conf = conf;
	c.rq = rq;
	c.rs = rs;
	rs->status = 200;
	if (route_match(&c, &route) != MK_OK) {
		resp_fail(rs, &c.err, RES_USER);
		return;
	}
	if (route == R_NONE) {
		resp_error(rs, 404, NULL, "Not Found");
		return;
	}
	if ((rule = find_rule(route, rq->method ? rq->method : "", rs)) == NULL) {
		resp_error(rs, 405, NULL, "Method Not Allowed");
		return;
	}
	rc = dispatch(&c, rule);
	if (c.rtx != NULL)
		store_txn_end(c.rtx);
	free(c.pre_tags);
	if (rc != MK_OK) {
		c.err.code = rc;
		resp_fail(rs, &c.err, route == R_CLIENT || route == R_CLIENTS ? RES_CLIENT : RES_USER);
	} else if (rs->status == 204)
		buf_reset(&rs->body);
}
