/*
 * api: the HTTP face of metakeep, independent of the transport.
 *
 * The worker (FastCGI, or CGI) fills a struct http_req from the request's
 * parameters and body, calls api_handle, and writes the struct http_resp it
 * gets back.  Tests and fuzzers call api_handle directly with a real store.
 * api routes (method, path), checks the token's scopes, calls svc, and maps
 * mk_code to status and Auth0-style error bodies: the only place that does.
 */
#ifndef MK_API_H
#define MK_API_H

#include <stddef.h>

#include "auth.h"
#include "buf.h"
#include "logev.h"
#include "ratelimit.h"
#include "store.h"
#include "svc.h"

struct slots;

#define API_BODY_LIMIT_DEFAULT ((size_t)1024 * 1024)

struct api_conf {
	size_t body_limit;               /* bytes; default API_BODY_LIMIT_DEFAULT */
	struct svc_limits limits;        /* what every write is checked against */
	size_t search_budget;            /* units of work per search (sindex.h);
	                                    default SINDEX_BUDGET_DEFAULT; 0: none */
	struct ratelimit *rl;            /* shared buckets (borrowed), NULL: no limits */
	struct ratelimit_class rate_read;   /* GET */
	struct ratelimit_class rate_write;  /* every other method */
	struct slots *search_slots;      /* borrowed; a search past search_heavy
	                                    units needs one (slots.h); NULL: none */
	size_t search_heavy;             /* units; default SINDEX_HEAVY_DEFAULT */
	struct logev_conf logs;          /* log events (logev.h) */
	const char *trusted_proxies;     /* addresses (comma- or space-separated) whose
	                                    X-Forwarded-For names the client; NULL: none */
	const char *issuer;              /* the tokens' iss; NULL or "": https://HOST/ */
	const char *audience;            /* this API's identifier, the tokens' aud;
	                                    NULL or "": https://HOST/api/v2/ */
};

/* Fill c with the defaults: every field, those without one NULL or 0. */
void api_conf_defaults(struct api_conf *c);

struct http_req {
	const char *method;        /* REQUEST_METHOD */
	const char *uri;           /* REQUEST_URI as sent: path and query, still encoded */
	const char *content_type;  /* CONTENT_TYPE or NULL */
	const char *authorization; /* HTTP_AUTHORIZATION or NULL */
	const char *if_match;      /* HTTP_IF_MATCH or NULL */
	const char *remote_addr;   /* REMOTE_ADDR or NULL */
	const char *forwarded_for; /* HTTP_X_FORWARDED_FOR or NULL */
	const char *user_agent;    /* HTTP_USER_AGENT or NULL */
	const char *cookie;        /* HTTP_COOKIE or NULL (the admin page's session) */
	int https;                 /* HTTPS was "on": the admin page's cookie is Secure */
	const char *host;          /* MK_HOST, else HTTP_HOST, or NULL: the default
	                              issuer's host */
	const char *body;          /* NULL when there is none */
	size_t body_len;
	int body_too_big;          /* the worker refused to read a body over the limit */
};

struct http_resp {
	int status;
	const char *content_type;  /* static; NULL: application/json; charset=utf-8 */
	struct mk_buf headers;     /* extra header lines, each ending "\r\n" */
	struct mk_buf body;
};

/* The reason phrase of an HTTP status ("Not Found"), for any status. */
const char *http_reason(int status);

/* Reset a response for reuse (keeps the buffers' memory). */
void http_resp_reset(struct http_resp *rs);
void http_resp_free(struct http_resp *rs);

/*
 * Answer one request.  Never fails: every failure becomes an error response
 * (500 for internal ones, logged).  rs must have been reset.
 */
void api_handle(struct store *s, const struct api_conf *c, const struct http_req *rq,
    struct http_resp *rs);

/*
 * api_handle for a caller that has already checked the credential: tok
 * (borrowed) stands for the request's Authorization, which is not read.
 * The admin page (admin.c) uses it for a signed-in session, so that its
 * reads and writes go through the very routes, scope checks and rules of
 * the API.  Everything else is as api_handle.
 */
void api_handle_as(struct store *s, const struct api_conf *c, const struct http_req *rq,
    const struct auth_token *tok, struct http_resp *rs);

#endif
