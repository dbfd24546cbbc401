/*
 * helper_api: the api_handle fixture of the unit suites (helper_api.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helper_api.h"
#include "jx.h"

/* Answers nest no deeper than this (metadata depth limit plus the record). */
#define TH_ANSWER_DEPTH 64

void
th_env_open(struct th_env *e, const char *name, size_t map_size)
{
	struct mk_err err;
	char id[AUTH_ID_LEN + 1];

	memset(e, 0, sizeof(*e));
	th_db_open(&e->db, name, map_size, TH_RELAXED);
	e->st = e->db.st;
	api_conf_defaults(&e->conf);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(auth_token_create(e->st, &(struct auth_grant){ SC_ALL, NULL, 0 },
	    e->admin, id, &err), MK_OK,
	    "auth_token_create: %s", err.msg);
}

void
th_env_close(struct th_env *e)
{
	th_db_close(&e->db);
	e->st = NULL;
}

void
th_res_free(struct th_res *r)
{
	free(r->headers);
	free(r->body);
	json_object_put(r->json);
	memset(r, 0, sizeof(*r));
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
th_req_init(struct http_req *rq, const char *method, const char *uri, const char *body)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->uri = uri;
	if (body != NULL) {
		rq->body = body;
		rq->body_len = strlen(body);
		rq->content_type = "application/json";
	}
}

struct th_res
th_send(struct th_env *e, const struct http_req *rq, const char *token)
{
	struct http_req with = *rq;
	struct http_resp rs;
	struct th_res r;
	char *auth = NULL;
	double t0;

	if (token != NULL)
		with.authorization = auth = th_bearer(token);
	memset(&rs, 0, sizeof(rs));
	memset(&r, 0, sizeof(r));
	http_resp_reset(&rs);
	t0 = now_s();
	api_handle(e->st, &e->conf, &with, &rs);
	r.seconds = now_s() - t0;
	r.status = rs.status;
	r.headers = strndup(rs.headers.p ? rs.headers.p : "", rs.headers.n);
	r.body = strndup(rs.body.p ? rs.body.p : "", rs.body.n);
	cr_assert(r.headers != NULL && r.body != NULL, "out of memory");
	r.body_len = rs.body.n;
	if (rs.body.n > 0 &&
	    jx_parse(rs.body.p, rs.body.n, TH_ANSWER_DEPTH, &r.json, NULL) != MK_OK)
		r.json = NULL;
	http_resp_free(&rs);
	free(auth);
	return r;
}

struct th_res
th_call(struct th_env *e, const char *method, const char *uri, const char *body,
    const char *token)
{
	struct http_req rq;

	th_req_init(&rq, method, uri, body);
	return th_send(e, &rq, token);
}
