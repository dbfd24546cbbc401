/*
 * api_ctx: what the router (api.c) hands a route's handler (api_users.c,
 * api_clients.c): the request's context, and the checks and response
 * pieces every handler shares (api_ctx.c).  Private to the api files: the
 * worker and the tests see api.h only.  (A header of its own rather than
 * api.h, because these need auth, svc and api_query types that api.h's
 * callers have no use for.)
 *
 * A handler runs after the route's own checks (token, the route's scopes,
 * and for a body route Content-Type, size and JSON).  It fills c->rs (body
 * and status) and returns MK_OK, or returns an error code with c->err set;
 * api.c turns that into the error response.
 */
#ifndef MK_API_CTX_H
#define MK_API_CTX_H

#include <stdint.h>

#include <json-c/json.h>

#include "api.h"
#include "api_query.h"
#include "auth.h"
#include "buf.h"
#include "err.h"
#include "store.h"
#include "svc.h"

#define API_ID_MAX 512            /* decoded path id, bytes */
#define API_ISSUER_MAX 320        /* "https://" + host + "/api/v2/" */

/* What a MK_ERR_NOTFOUND or MK_ERR_EXISTS is about (its 404/409 body). */
enum api_res { API_RES_USER, API_RES_CLIENT, API_RES_LOG, API_RES_GRANT };

struct api_ctx {
	struct store *s;
	const struct api_conf *conf;
	const struct http_req *rq;
	struct http_resp *rs;
	struct store_txn *rtx;      /* reads: the request's read transaction; writes: NULL */
	/*
	 * The verified caller, filled before any handler runs (api.c's
	 * dispatch, auth_check): scopes, and who it is: tok.id for an "mk_"
	 * token, tok.client_id for an access token from /oauth/token.  All
	 * zero on the routes anyone may call (/oauth/token, jwks.json).
	 */
	struct auth_token tok;
	enum api_res res;           /* the route's; a handler may change it */
	char issuer[API_ISSUER_MAX];   /* this service's, for this request */
	char audience[API_ISSUER_MAX];
	const char *query;          /* raw query string, "" when none */
	char id[API_ID_MAX + 1];    /* decoded path id, "" when the route has none */
	struct json_object *body;   /* body routes: the parsed object (owned by api.c) */
	struct svc_precond pre;     /* If-Match, parsed by api_precond */
	struct mk_slice *pre_tags;  /* owned by api.c: pre.versions */
	struct mk_buf ev;           /* owned by api.c: the call's log event template */
	struct mk_err err;
};

typedef enum mk_code (*api_handler)(struct api_ctx *c);

/* Is Content-Type ct (may be NULL) want, with or without parameters?  1 or 0. */
int api_content_type(const char *ct, const char *want);

/*
 * Fill c->issuer and c->audience: the configured ones, or Auth0's for a
 * tenant at the request's Host, https://HOST/ and https://HOST/api/v2/
 * (a Host that is not a plain host[:port] counts as "localhost").
 */
void api_issuer(struct api_ctx *c);

/*
 * May a client grant name aud?  The configured audience when there is
 * one; otherwise any https://HOST/api/v2/ (the audience then depends on
 * the host the clients call).  1 or 0.
 */
int api_audience_ok(const struct api_ctx *c, const char *aud);

/* 1 when the token holds one of want; otherwise 0 and a 403 in c->err. */
int api_need_scope(struct api_ctx *c, uint32_t want);

/* 1 when the token's subject is the path's id; otherwise 0 and a 403 in c->err. */
int api_same_subject(struct api_ctx *c);

/*
 * The request's If-Match as a precondition for svc: *out is NULL when it
 * has none, else points into c.  MK_ERR_NOMEM in c->err.
 */
enum mk_code api_precond(struct api_ctx *c, const struct svc_precond **out);

/*
 * Append a stored record to out, shaped for the reader: the bytes as stored
 * when nothing is to be left out (the common case, no parse at all);
 * otherwise parsed, filtered by f (NULL: every field) and without
 * client_secret when hide_secret is set.  MK_ERR_NOMEM, MK_ERR_INTERNAL.
 */
enum mk_code api_emit_record(struct mk_buf *out, struct mk_slice rec,
    const struct api_fields *f, int hide_secret);

/*
 * GET of one record: key c->id in table t, shaped by the query's fields=
 * (and hide_secret), with its ETag, status 200.  noun names it in the
 * internal error messages ("user", "client").
 */
enum mk_code api_send_record(struct api_ctx *c, enum store_table t, int hide_secret,
    const char *noun);

/*
 * Take client_secret out of the record in c->rs->body (a client svc just
 * wrote), for a token without read:client_keys.  Errors: MK_ERR_NOMEM,
 * MK_ERR_INTERNAL (c->err set).
 */
enum mk_code api_hide_secret(struct api_ctx *c);

/*
 * After a write: when rc is MK_OK, c->rs->body holds the record as svc
 * stored it; add its ETag and set status.  Returns rc.
 */
enum mk_code api_written(struct api_ctx *c, enum mk_code rc, int status);

/*
 * A JSON array of records, one api_emit_record each, as a store_visit_fn:
 * ctx is a struct api_list.  Stops the scan on the first failure, kept in rc.
 */
struct api_list {
	struct mk_buf *out;
	const struct api_fields *f;
	int hide_secret;
	size_t n;                   /* records written */
	enum mk_code rc;
};
int api_list_emit(void *ctx, struct mk_slice key, struct mk_slice rec);

#endif
