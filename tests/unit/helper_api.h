/*
 * helper_api: what the suites that go through api_handle share: a fixture
 * (a temporary directory, a real store in it, the default api_conf and an
 * admin token with every scope), and one request through api_handle with
 * its answer collected.
 *
 * As helper.h: Criterion asserts, for test processes only.
 */
#ifndef MK_TEST_HELPER_API_H
#define MK_TEST_HELPER_API_H

#include <stddef.h>
#include <json-c/json.h>

#include "api.h"
#include "auth.h"
#include "helper.h"

/* One suite's world; th_env_open fills it, th_env_close undoes it. */
struct th_env {
	struct th_db db;
	struct store *st;                 /* db.st, for short */
	struct api_conf conf;
	char admin[AUTH_TOKEN_LEN + 1];   /* a token with SC_ALL */
};

/*
 * A temporary directory "/tmp/mk-NAME-XXXXXX", a store in it with map_size
 * bytes and relaxed sync, api_conf_defaults, and the admin token.
 */
void th_env_open(struct th_env *e, const char *name, size_t map_size);

/* Close the store and remove the directory (nftw). */
void th_env_close(struct th_env *e);

/* The answer to one request; every pointer is owned (th_res_free). */
struct th_res {
	int status;
	char *headers;              /* the extra header lines, "" when none */
	char *body;                 /* NUL-terminated; body_len bytes before it */
	size_t body_len;
	struct json_object *json;   /* the body parsed strictly (jx_parse); NULL
	                               when empty or not JSON */
	double seconds;             /* wall-clock time api_handle took */
};
void th_res_free(struct th_res *r);

/*
 * Fill rq for method and uri with body (NUL-terminated, may be NULL) as
 * application/json; every other field zero.  All borrowed.
 */
void th_req_init(struct http_req *rq, const char *method, const char *uri,
    const char *body);

/*
 * Send rq (borrowed; as the worker would fill it) to api_handle with e's
 * store and conf; with "Bearer token" as its Authorization unless token is
 * NULL (then rq's own, if any).
 */
struct th_res th_send(struct th_env *e, const struct http_req *rq, const char *token);

/*
 * The common case of th_send: body (NUL-terminated, may be NULL) as
 * application/json, and "Bearer token" unless token is NULL.
 */
struct th_res th_call(struct th_env *e, const char *method, const char *uri,
    const char *body, const char *token);

#endif
