/*
 * test_logs: log events (logev, api_logs) through api_handle on a real store.
 *
 *   every_write_verb        each of the six write verbs leaves exactly one
 *                           sapi event: its description, user, status and
 *                           change (the JSON Patch of the metadata roots);
 *                           a password and a client_secret are redacted
 *   failed_write            a PATCH refused 400 leaves the user as it was
 *                           and, once the queue is written, one fapi event
 *                           with the status, the error body and message
 *   from_take_10k           checkpoint paging (from/take=100) walks 10000
 *                           events with no duplicate, no gap, in order; the
 *                           Link header names the next page
 *   search                  q by type, user_id, client_id and date range;
 *                           page/per_page/include_totals; sort both ways;
 *                           /logs/{id}; /users/{id}/logs; bad q is 400
 *   scopes                  read:logs reads both, read:logs_users only a
 *                           user's, read:users neither (403)
 *   retention               events past log_max_events go, in short
 *                           transactions, oldest first
 *   budget                  a search past search_budget is refused 400
 *   template_text_is_json_c_text
 *                           the template logev_template writes as text is
 *                           byte for byte what json-c made of the same
 *                           object (escapes, redaction, a body over the limit)
 *   spliced_event_is_parsed_event
 *                           the event a write splices into its template's
 *                           text is byte for byte the one json-c makes by
 *                           parsing it (odd templates, escapes, no user)
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper_api.h"
#include "jx.h"
#include "logev.h"
#include "store.h"
#include "util.h"

static struct th_env env;

static void
setup(void)
{
	th_env_open(&env, "logs", (size_t)256 << 20);
}

static void
teardown(void)
{
	th_env_close(&env);
}

TestSuite(logs, .init = setup, .fini = teardown);

static struct th_res
call(const char *method, const char *uri, const char *body)
{
	return th_call(&env, method, uri, body, env.admin);
}

/* The newest event, as text of one member path ("details.change"). */
static struct json_object *
newest(void)
{
	struct th_res r = call("GET", "/api/v2/logs?per_page=1", NULL);
	struct json_object *ev;

	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_object_array_length(r.json), 1, "%s", r.body);
	ev = json_object_get(json_object_array_get_idx(r.json, 0));
	th_res_free(&r);
	return ev;
}

static size_t
total(const char *uri)
{
	struct th_res r = call("GET", uri, NULL);
	struct json_object *t;
	size_t n;

	cr_assert_eq(r.status, 200, "%s: %s", uri, r.body);
	cr_assert(json_object_object_get_ex(r.json, "total", &t), "%s", r.body);
	n = (size_t)json_object_get_int64(t);
	th_res_free(&r);
	return n;
}

static const char *
path_str(struct json_object *o, const char *a, const char *b, const char *c)
{
	struct json_object *v = o;

	if (a && !json_object_object_get_ex(v, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	if (c && !json_object_object_get_ex(v, c, &v))
		return NULL;
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static void
expect_event(const char *desc, const char *user_id, int status, const char *change)
{
	struct json_object *ev = newest();
	char st[8];

	cr_assert_str_eq(jx_get_str(ev, "type"), "sapi");
	cr_assert_str_eq(jx_get_str(ev, "description"), desc);
	if (user_id != NULL)
		cr_assert_str_eq(jx_get_str(ev, "user_id"), user_id);
	else
		cr_assert_null(jx_get_str(ev, "user_id"));
	snprintf(st, sizeof(st), "%d", status);
	cr_assert_str_eq(path_str(ev, "details", "response", "statusCode"), st);
	cr_assert_str_eq(path_str(ev, "details", "change", NULL), change);
	cr_assert_eq(strlen(jx_get_str(ev, "log_id")), LOGEV_ID_LEN);
	cr_assert_not_null(jx_get_str(ev, "date"));
	cr_assert_not_null(jx_get_str(ev, "client_id"));
	json_object_put(ev);
}

Test(logs, every_write_verb)
{
	struct th_res r;
	struct json_object *ev;
	char uri[256], id[128], cid[64];
	int secret_ok;
	size_t n0 = total("/api/v2/logs?include_totals=true");

	r = call("POST", "/api/v2/users", "{\"email\":\"l@example.com\",\"connection\":"
	    "\"Username-Password-Authentication\",\"password\":\"s3cret-Pass\","
	    "\"user_metadata\":{\"b\":2,\"c\":3}}");
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, sizeof(id), "%s", jx_get_str(r.json, "user_id"));
	th_res_free(&r);
	expect_event("Create a User", id, 201, "[{\"op\":\"add\",\"path\":\"\\/user_metadata\","
	    "\"value\":{\"b\":2,\"c\":3}}]");
	ev = newest();
	cr_assert_str_eq(path_str(ev, "details", "request", "body"),
	    "{\"email\":\"l@example.com\",\"connection\":\"Username-Password-Authentication\","
	    "\"password\":\"[redacted]\",\"user_metadata\":{\"b\":2,\"c\":3}}");
	cr_assert_str_eq(path_str(ev, "details", "request", "method"), "\"POST\"");
	json_object_put(ev);
	cr_assert_eq(total("/api/v2/logs?include_totals=true"), n0 + 1);

	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	r = call("PATCH", uri, "{\"user_metadata\":{\"a\":1,\"b\":null,\"c\":4},"
	    "\"app_metadata\":{\"plan\":\"pro\"}}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	expect_event("Update a User", id, 200, "[{\"op\":\"remove\",\"path\":\"\\/user_metadata\\/b\"},"
	    "{\"op\":\"replace\",\"path\":\"\\/user_metadata\\/c\",\"value\":4},"
	    "{\"op\":\"add\",\"path\":\"\\/user_metadata\\/a\",\"value\":1},"
	    "{\"op\":\"add\",\"path\":\"\\/app_metadata\",\"value\":{\"plan\":\"pro\"}}]");
	cr_assert_eq(total("/api/v2/logs?include_totals=true"), n0 + 2);

	r = call("DELETE", uri, NULL);
	cr_assert_eq(r.status, 204, "%s", r.body);
	th_res_free(&r);
	expect_event("Delete a User", id, 204, "[{\"op\":\"remove\",\"path\":\"\\/user_metadata\"},"
	    "{\"op\":\"remove\",\"path\":\"\\/app_metadata\"}]");

	r = call("POST", "/api/v2/clients", "{\"name\":\"App\",\"client_metadata\":{\"x\":\"1\"}}");
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(cid, sizeof(cid), "%s", jx_get_str(r.json, "client_id"));
	th_res_free(&r);
	expect_event("Create a client", NULL, 201, "[{\"op\":\"add\",\"path\":\"\\/client_metadata\","
	    "\"value\":{\"x\":\"1\"}}]");
	snprintf(uri, sizeof(uri), "/api/v2/clients/%s", cid);
	r = call("PATCH", uri, "{\"client_metadata\":{\"x\":\"2\"},\"client_secret\":"
	    "\"zz-Secret-zz\"}");
	secret_ok = r.status == 200;
	th_res_free(&r);
	/* whatever the answer (a failure is queued: written now), no secret in the log */
	cr_assert_eq(logev_flush(env.st), MK_OK);
	r = call("GET", "/api/v2/logs", NULL);
	cr_assert_null(strstr(r.body, "zz-Secret-zz"), "%s", r.body);
	th_res_free(&r);
	r = call("PATCH", uri, "{\"client_metadata\":{\"x\":\"3\"}}");
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
	expect_event("Update a client", NULL, 200, "[{\"op\":\"replace\",\"path\":"
	    "\"\\/client_metadata\\/x\",\"value\":\"3\"}]");
	r = call("DELETE", uri, NULL);
	cr_assert_eq(r.status, 204, "%s", r.body);
	th_res_free(&r);
	expect_event("Delete a client", NULL, 204, "[{\"op\":\"remove\",\"path\":"
	    "\"\\/client_metadata\"}]");
	/* reads leave none */
	r = call("GET", "/api/v2/users", NULL);
	th_res_free(&r);
	cr_assert_eq(logev_flush(env.st), MK_OK);
	cr_assert_eq(total("/api/v2/logs?include_totals=true&q=type:sapi"), n0 + 6 + secret_ok);
}

Test(logs, failed_write)
{
	struct th_res r, before, after;
	struct json_object *ev;
	char uri[256], id[128], q[512];

	r = call("POST", "/api/v2/users", "{\"email\":\"f@example.com\",\"connection\":"
	    "\"Username-Password-Authentication\",\"user_metadata\":{\"k\":1}}");
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, sizeof(id), "%s", jx_get_str(r.json, "user_id"));
	th_res_free(&r);
	snprintf(uri, sizeof(uri), "/api/v2/users/%s", id);
	before = call("GET", uri, NULL);
	r = call("PATCH", uri, "{\"user_metadata\":{\"k\":2},\"email\":7}");
	cr_assert_eq(r.status, 400, "%s", r.body);
	th_res_free(&r);
	after = call("GET", uri, NULL);
	cr_assert_str_eq(after.body, before.body, "the record changed");
	th_res_free(&before);
	th_res_free(&after);
	cr_assert_eq(logev_flush(env.st), MK_OK);
	cr_assert_eq(total("/api/v2/logs?include_totals=true&q=type:fapi"), 1);
	cr_assert_eq(total("/api/v2/logs?include_totals=true&q=type:sapi"), 1,
	    "the failed PATCH wrote no sapi event");
	ev = newest();
	cr_assert_str_eq(jx_get_str(ev, "type"), "fapi");
	cr_assert_str_eq(jx_get_str(ev, "user_id"), id);
	cr_assert_str_eq(path_str(ev, "details", "response", "statusCode"), "400");
	cr_assert_not_null(strstr(jx_get_str(ev, "description"), "email"), "%s",
	    jx_get_str(ev, "description"));
	cr_assert_not_null(strstr(path_str(ev, "details", "response", "body"),
	    "\"errorCode\":\"invalid_body\""));
	json_object_put(ev);
	snprintf(q, sizeof(q), "/api/v2/logs?include_totals=true&q=user_id:%%22%s%%22", id);
	cr_assert_eq(total(q), 2);
}

/* store_write fn: n events from the template in ctx. */
struct many {
	const char *tmpl;
	size_t n;
	int64_t date;
};

static enum mk_code
many_tx(struct store_txn *t, void *vctx, struct mk_err *err)
{
	struct many *m = vctx;
	struct logev_event ev;
	enum mk_code rc;
	size_t i;

	(void)err;
	ev.tmpl.p = m->tmpl;
	ev.tmpl.n = strlen(m->tmpl);
	ev.status = 200;
	for (i = 0; i < m->n; i++) {
		ev.now_ms = m->date + (int64_t)i;
		ev.user_id = (i % 3) ? "auth0|u1" : "auth0|u2";
		if ((rc = logev_put_success(t, &ev, NULL, NULL)) != MK_OK)
			return rc;
	}
	return MK_OK;
}

static void
make_events(size_t n, int64_t date)
{
	struct many m = { "{\"description\":\"Update a User\",\"client_id\":\"c1\","
	    "\"details\":{\"request\":{}}}", 0, date };
	struct mk_err err;
	size_t done;

	for (done = 0; done < n; done += m.n) {
		m.n = n - done > 1000 ? 1000 : n - done;
		m.date = date + (int64_t)done;
		cr_assert_eq(store_write(env.st, many_tx, &m, &err), MK_OK, "%s", err.msg);
	}
}

Test(logs, from_take_10k)
{
	char uri[256], from[LOGEV_ID_LEN + 1], prev[LOGEV_ID_LEN + 1] = "";
	struct th_res r;
	size_t seen = 0, pages = 0, i, n;
	uint64_t seq, want = 1;
	const char *id;

	make_events(10000, mk_now_ms() - 100000);
	logev_id(0, from);
	for (;;) {
		snprintf(uri, sizeof(uri), "/api/v2/logs?from=%s&take=100", from);
		r = call("GET", uri, NULL);
		cr_assert_eq(r.status, 200, "%s", r.body);
		n = json_object_array_length(r.json);
		cr_assert_not_null(strstr(r.headers, "rel=\"next\""), "%s", r.headers);
		if (n == 0) {
			/* at the end, next is the same checkpoint */
			cr_assert_not_null(strstr(r.headers, from), "%s", r.headers);
			th_res_free(&r);
			break;
		}
		cr_assert_leq(n, 100);
		for (i = 0; i < n; i++) {
			id = jx_get_str(json_object_array_get_idx(r.json, i), "log_id");
			cr_assert_eq(logev_id_parse(id, &seq), 0, "%s", id);
			cr_assert_eq(seq, want, "page %zu: got %s, want number %llu", pages, id,
			    (unsigned long long)want);
			cr_assert_gt(strcmp(id, prev), 0);
			snprintf(prev, sizeof(prev), "%s", id);
			want++;
			seen++;
		}
		cr_assert_not_null(strstr(r.headers, prev), "the next link names the last id");
		snprintf(from, sizeof(from), "%s", prev);
		th_res_free(&r);
		pages++;
		cr_assert_lt(pages, 200);
	}
	cr_assert_eq(seen, 10000);
	cr_assert_eq(pages, 100);
	r = call("GET", "/api/v2/logs?from=12&take=10", NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	th_res_free(&r);
	r = call("GET", "/api/v2/logs?from=90000000000000000000000&take=101", NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	th_res_free(&r);
}

Test(logs, search)
{
	struct th_res r;
	struct json_object *ev;
	char uri[256], id[LOGEV_ID_LEN + 1], date[MK_ISO_LEN + 1], d2[MK_ISO_LEN + 1];
	int64_t t0 = INT64_C(1796000000000);

	make_events(30, t0);      /* numbers 1..30; u2 on every third */
	cr_assert_eq(total("/api/v2/logs?include_totals=true"), 30);
	cr_assert_eq(total("/api/v2/logs?include_totals=true&q=type:sapi"), 30);
	cr_assert_eq(total("/api/v2/logs?include_totals=true&q=type:fapi"), 0);
	cr_assert_eq(total("/api/v2/logs?include_totals=true&q=user_id:%22auth0%7Cu2%22"), 10);
	cr_assert_eq(total("/api/v2/logs?include_totals=true&q=client_id:c1%20AND%20user_id:%22auth0%7Cu1%22"),
	    20);
	mk_iso8601(t0 + 5, date);
	mk_iso8601(t0 + 14, d2);
	snprintf(uri, sizeof(uri), "/api/v2/logs?include_totals=true&q=date:%%5B%s%%20TO%%20%s%%5D",
	    date, d2);
	cr_assert_eq(total(uri), 10, "%s", uri);
	snprintf(uri, sizeof(uri), "/api/v2/logs?include_totals=true&q=date:%%5B%s%%20TO%%20*%%5D", date);
	cr_assert_eq(total(uri), 25, "%s", uri);
	/* pages, both orders */
	r = call("GET", "/api/v2/logs?page=1&per_page=7&include_totals=true&sort=date:1", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	ev = json_object_array_get_idx(json_object_object_get(r.json, "logs"), 0);
	logev_id(8, id);
	cr_assert_str_eq(jx_get_str(ev, "log_id"), id);
	cr_assert_eq(json_object_get_int(json_object_object_get(r.json, "length")), 7);
	th_res_free(&r);
	r = call("GET", "/api/v2/logs?page=0&per_page=2", NULL);
	logev_id(30, id);
	cr_assert_str_eq(jx_get_str(json_object_array_get_idx(r.json, 0), "log_id"), id);
	th_res_free(&r);
	/* one event (number 5: the fifth made, of u1) */
	logev_id(5, id);
	snprintf(uri, sizeof(uri), "/api/v2/logs/%s", id);
	r = call("GET", uri, NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "log_id"), id);
	cr_assert_str_eq(jx_get_str(r.json, "user_id"), "auth0|u1");
	th_res_free(&r);
	r = call("GET", "/api/v2/logs/90000000000000000009999", NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	cr_assert_str_eq(jx_get_str(r.json, "errorCode"), "inexistent_log");
	th_res_free(&r);
	/* a user's */
	r = call("GET", "/api/v2/users/auth0%7Cu2/logs?include_totals=true&per_page=3", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_object_get_int(json_object_object_get(r.json, "total")), 10);
	logev_id(28, id);
	cr_assert_str_eq(jx_get_str(json_object_array_get_idx(json_object_object_get(r.json,
	    "logs"), 0), "log_id"), id, "%s", r.body);
	th_res_free(&r);
	r = call("GET", "/api/v2/users/auth0%7Cu2/logs?sort=date:1&per_page=1", NULL);
	logev_id(1, id);
	cr_assert_str_eq(jx_get_str(json_object_array_get_idx(r.json, 0), "log_id"), id, "%s",
	    r.body);
	th_res_free(&r);
	/* bad queries */
	r = call("GET", "/api/v2/logs?q=nosuch:1", NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	th_res_free(&r);
	r = call("GET", "/api/v2/logs?sort=name:1", NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	th_res_free(&r);
	r = call("GET", "/api/v2/users/auth0%7Cu2/logs/x", NULL);
	cr_assert_eq(r.status, 404, "%s", r.body);
	th_res_free(&r);
}

Test(logs, scopes)
{
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1];
	struct mk_err err;
	struct th_res r;

	make_events(3, mk_now_ms());
	cr_assert_eq(auth_token_create(env.st, &(struct auth_grant){ SC_READ_USERS, NULL, 0 },
	    tok, tid, &err), MK_OK);
	r = th_call(&env, "GET", "/api/v2/logs", NULL, tok);
	cr_assert_eq(r.status, 403, "%s", r.body);
	th_res_free(&r);
	r = th_call(&env, "GET", "/api/v2/users/auth0%7Cu1/logs", NULL, tok);
	cr_assert_eq(r.status, 403, "%s", r.body);
	th_res_free(&r);
	cr_assert_eq(auth_token_create(env.st, &(struct auth_grant){ SC_READ_LOGS_USERS, NULL,
	    0 }, tok, tid, &err), MK_OK);
	r = th_call(&env, "GET", "/api/v2/logs", NULL, tok);
	cr_assert_eq(r.status, 403, "%s", r.body);
	th_res_free(&r);
	r = th_call(&env, "GET", "/api/v2/logs/90000000000000000000001", NULL, tok);
	cr_assert_eq(r.status, 403, "%s", r.body);
	th_res_free(&r);
	r = th_call(&env, "GET", "/api/v2/users/auth0%7Cu1/logs", NULL, tok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_object_array_length(r.json), 2);
	th_res_free(&r);
	cr_assert_eq(auth_token_create(env.st, &(struct auth_grant){ SC_READ_LOGS, NULL, 0 },
	    tok, tid, &err), MK_OK);
	r = th_call(&env, "GET", "/api/v2/logs", NULL, tok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_object_array_length(r.json), 3);
	th_res_free(&r);
	r = th_call(&env, "GET", "/api/v2/users/auth0%7Cu1/logs", NULL, tok);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
}

Test(logs, retention)
{
	struct logev_conf c = { 1, 30, 20 };
	int64_t now = mk_now_ms();
	char id[LOGEV_ID_LEN + 1];
	struct th_res r;
	size_t n;
	int i;

	/* the api's own ticks (every request) keep everything here */
	env.conf.logs.retention_days = 36500;
	env.conf.logs.max_events = 1000000;
	make_events(50, now - (int64_t)40 * 86400000);   /* 40 days old */
	make_events(300, now);
	cr_assert_eq(total("/api/v2/logs?include_totals=true"), 350);
	/* by age: under the cap, the 50 old ones go and the walk stops there */
	c.max_events = 100000;
	logev_tick(env.st, &c, now + 2000);
	cr_assert_eq(total("/api/v2/logs?include_totals=true"), 300);
	/* by count: each tick that is due drops at most LOGEV_PRUNE_MAX, oldest first */
	c.max_events = 20;
	logev_tick(env.st, &c, now + 4000);
	cr_assert_eq(total("/api/v2/logs?include_totals=true"), 300 - LOGEV_PRUNE_MAX);
	for (i = 0; i < 5; i++)
		logev_tick(env.st, &c, now + 6000 + i * 2000);
	n = total("/api/v2/logs?include_totals=true");
	cr_assert_eq(n, 20, "%zu left", n);
	r = call("GET", "/api/v2/logs?sort=date:1&per_page=1", NULL);
	logev_id(331, id);
	cr_assert_str_eq(jx_get_str(json_object_array_get_idx(r.json, 0), "log_id"), id, "%s",
	    r.body);
	th_res_free(&r);
}

Test(logs, budget)
{
	struct th_res r;

	make_events(100, mk_now_ms());
	env.conf.search_budget = 128 * 50;
	r = call("GET", "/api/v2/logs?q=type:sapi&include_totals=true", NULL);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_not_null(strstr(r.body, "too expensive"), "%s", r.body);
	th_res_free(&r);
	r = call("GET", "/api/v2/logs?from=90000000000000000000000&take=10", NULL);
	cr_assert_eq(r.status, 200, "%s", r.body);
	th_res_free(&r);
}

/* The event's ip after one failed DELETE from remote with X-Forwarded-For xff. */
static char *
ip_of(const char *remote, const char *xff)
{
	struct http_req rq;
	struct th_res r;
	struct json_object *ev;
	char *ip;

	th_req_init(&rq, "DELETE", "/api/v2/clients/nosuch", NULL);
	rq.remote_addr = remote;
	rq.forwarded_for = xff;
	rq.if_match = "\"x\"";    /* 412: a failed write, an fapi event */
	r = th_send(&env, &rq, env.admin);
	cr_assert_eq(r.status, 412, "%s", r.body);
	th_res_free(&r);
	cr_assert_eq(logev_flush(env.st), MK_OK);
	ev = newest();
	ip = jx_get_str(ev, "ip") ? strdup(jx_get_str(ev, "ip")) : strdup("(none)");
	json_object_put(ev);
	return ip;
}

Test(logs, forwarded_for_from_trusted_proxies_only)
{
	char *ip;

	env.conf.trusted_proxies = "10.0.0.1, 10.0.0.2";
	ip = ip_of("192.0.2.7", "203.0.113.9");
	cr_assert_str_eq(ip, "192.0.2.7", "an untrusted sender's header is ignored");
	free(ip);
	ip = ip_of("10.0.0.1", "198.51.100.1, 203.0.113.9, 10.0.0.2");
	cr_assert_str_eq(ip, "203.0.113.9", "the address the first trusted proxy saw");
	free(ip);
	ip = ip_of("10.0.0.1", NULL);
	cr_assert_str_eq(ip, "10.0.0.1");
	free(ip);
	ip = ip_of("10.0.0.1", "10.0.0.2");
	cr_assert_str_eq(ip, "10.0.0.2", "only proxies: the leftmost");
	free(ip);
	env.conf.trusted_proxies = NULL;
	ip = ip_of("10.0.0.1", "203.0.113.9");
	cr_assert_str_eq(ip, "10.0.0.1", "no trusted proxies: never believed");
	free(ip);
}

/*
 * A write's event is spliced into its template's text (no parse under the
 * writer lock); it must be the very bytes json-c makes by parsing the
 * template and adding the same members, for every template logev_template
 * makes and for the odd ones (details elsewhere, empty, escapes, numbers
 * as json-c writes them back; white space between tokens goes the parsing
 * way, which drops it).
 */
Test(logs, spliced_event_is_parsed_event)
{
	static const char *bodies[] = {
		"{\"user_metadata\":{\"theme\":\"dark\"}}",
		"{\"password\":\"x\",\"email\":\"a\\\"b}{@x.org\",\"app_metadata\":{\"a\":[1,{\"b\":null}]}}",
		"{\"user_metadata\":{\"k\\\\\":\"\\u00e9\\n\\t}]\",\"n\":-1.5e3,\"t\":true}}",
		"{}",
	};
	static const char *odd[] = {
		"{\"description\":\"Update a User\",\"client_id\":\"c1\",\"details\":{\"request\":{}}}",
		"{\"details\":{}}",
		"{\"details\":{},\"x\":\"}\"}",
		"{ \"details\" : { \"request\" : { \"a\" : [ 1 , 2 ] } } , \"b\" : 3 }",
		"{\"details\":{\"response\":{}}}",   /* a member it would add: parsed */
		"{\"details\":{\"request\":{}},\"type\":\"x\"}",
		"{\"details\":{\"request\":{\"a\": [1]}}}",
		"{\"details\":{\"request\":{\"a\":1 }}}",
		"{\"details\":{\"request\":{\"a\":1E3,\"b\":-1,\"c\":0.10,\"d\":1e-7,\"e\":null}}}",
		"{\"details\":{\"request\":{\"a\":}}}",
		"{\"nodetails\":1}",   /* not a template: both refuse */
		"[1]",
	};
	static const char *users[] = { "auth0|abc", NULL, "we\"ird/\\\x01user" };
	struct json_object *change = NULL, *resp = NULL, *b;
	struct mk_buf t = MK_BUF_INIT, sp = MK_BUF_INIT, pa = MK_BUF_INIT;
	struct logev_call call;
	struct logev_fields f = { "90000000000000000000042", "2026-12-02T23:59:59.123Z", "sapi",
	    NULL, 0, NULL, NULL };
	size_t i, u, k;
	enum mk_code r1, r2;

	static const char ch[] = "[{\"op\":\"add\",\"path\":\"/user_metadata/a~1b\","
	    "\"value\":\"\\u2028\"}]";
	static const char rb[] = "{\"statusCode\":400,\"message\":\"bad \\\"x\\\"\"}";
	cr_assert_eq(jx_parse_stored(ch, strlen(ch), &change), MK_OK);
	cr_assert_eq(jx_parse_stored(rb, strlen(rb), &resp), MK_OK);
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]) + sizeof(odd) / sizeof(odd[0]); i++) {
		if (i < sizeof(bodies) / sizeof(bodies[0])) {
			memset(&call, 0, sizeof(call));
			cr_assert_eq(jx_parse_stored(bodies[i], strlen(bodies[i]), &b), MK_OK);
			call.method = "PATCH";
			call.path = "/api/v2/users/auth0|x";
			call.query = i % 2 ? "fields=a\"b" : NULL;
			call.client_id = "tok\\1";
			call.ip = "127.0.0.1";
			call.user_agent = i % 2 ? NULL : "wrk/4 \"x\"";
			call.scopes = "read:users update:users";
			call.body = b;
			call.description = "Update a User";
			cr_assert_eq(logev_template(&call, &t), MK_OK);
			json_object_put(b);
		} else {
			buf_reset(&t);
			cr_assert_eq(buf_adds(&t, odd[i - sizeof(bodies) / sizeof(bodies[0])]), 0);
		}
		for (u = 0; u < 3; u++)
			for (k = 0; k < 4; k++) {
				buf_reset(&sp);
				buf_reset(&pa);
				f.user_id = users[u];
				f.status = 200 + (int)k;
				f.resp_body = k & 1 ? resp : NULL;
				f.change = k & 2 ? change : NULL;
				r1 = logev_event_text(t.p, t.n, &f, 0, &sp);
				r2 = logev_event_text(t.p, t.n, &f, 1, &pa);
				cr_assert_eq(r1, r2, "template %zu: %d against %d", i, r1, r2);
				if (r1 != MK_OK)
					continue;
				cr_assert(sp.n == pa.n && memcmp(sp.p, pa.p, sp.n) == 0,
				    "template %zu:\n%.*s\n%.*s", i, (int)sp.n, sp.p, (int)pa.n, pa.p);
				/* logev_template's own are spliced, never parsed */
				if (i < sizeof(bodies) / sizeof(bodies[0])) {
					buf_reset(&sp);
					cr_assert_eq(logev_event_text(t.p, t.n, &f, 2, &sp), MK_OK,
					    "template %zu not spliced: %.*s", i, (int)t.n, t.p);
					cr_assert(sp.n == pa.n && memcmp(sp.p, pa.p, sp.n) == 0);
				}
			}
	}
	json_object_put(change);
	json_object_put(resp);
	buf_free(&t);
	buf_free(&sp);
	buf_free(&pa);
}

/*
 * The template as logev_template wrote it before it wrote text itself: an
 * object built with json-c and serialized (the reference its text must
 * equal byte for byte).
 */
static int
ref_str(struct json_object *o, const char *key, const char *v)
{
	return v != NULL && json_object_object_add(o, key, json_object_new_string(v)) != 0;
}

static char *
ref_template(const struct logev_call *call)
{
	struct json_object *ev = json_object_new_object(), *det = json_object_new_object();
	struct json_object *rq = json_object_new_object(), *auth = json_object_new_object();
	struct json_object *sc = json_object_new_array(), *b;
	const char *p, *e;
	size_t len = 0;
	char note[64], *r;

	json_object_object_add(ev, "details", det);
	json_object_object_add(det, "request", rq);
	json_object_object_add(rq, "auth", auth);
	json_object_object_add(auth, "scopes", sc);
	cr_assert(!ref_str(ev, "description", call->description) &&
	    !ref_str(ev, "client_id", call->client_id) &&
	    !ref_str(ev, "client_name", call->client_name) && !ref_str(ev, "ip", call->ip) &&
	    !ref_str(ev, "user_agent", call->user_agent) && !ref_str(rq, "method", call->method) &&
	    !ref_str(rq, "path", call->path) && !ref_str(rq, "query", call->query));
	for (p = call->scopes; p != NULL && *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		if (e > p)
			json_object_array_add(sc, json_object_new_string_len(p, (int)(e - p)));
	}
	if (call->body != NULL) {
		cr_assert_not_null(jx_text(call->body, &len));
		if (len > LOGEV_BODY_MAX) {
			snprintf(note, sizeof(note), "(a body of %zu bytes, not kept)", len);
			b = json_object_new_string(note);
		} else {
			b = json_object_new_object();
			json_object_object_foreach(call->body, key, val) {
				if (strcmp(key, "password") == 0 || strcmp(key, "client_secret") == 0)
					json_object_object_add(b, key, json_object_new_string("[redacted]"));
				else
					json_object_object_add(b, key, json_object_get(val));
			}
		}
		json_object_object_add(rq, "body", b);
	}
	r = strdup(jx_text(ev, NULL));
	json_object_put(ev);
	return r;
}

Test(logs, template_text_is_json_c_text)
{
	static const char *bodies[] = {
		NULL,
		"{\"user_metadata\":{\"theme\":\"dark\"}}",
		"{\"password\":\"secret\",\"email\":\"a\\\"b/\\\\c@x.org\",\"client_secret\":1}",
		"{\"name\":\"\\u0001\\u001f\\u007f\\b\\f\\n\\r\\t \\u00e9\\u2028\\ud83d\\ude00\"}",
		"{\"app_metadata\":{\"n\":[1,2.50,-3e2,true,null,{}]},\"x\":[]}",
		"{}",
	};
	static const char *strs[] = { NULL, "", "plain", "q\"uote\\back/slash", "ctl\x01\x1f\x7f\t\n",
	    "utf8 \xc3\xa9 \xe2\x80\xa8" };
	struct mk_buf out = MK_BUF_INIT, big = MK_BUF_INIT;
	struct json_object *body;
	struct logev_call c;
	size_t i, k;
	char *ref;

	/* a body over LOGEV_BODY_MAX: only a note of its size is kept */
	buf_adds(&big, "{\"user_metadata\":{\"k\":\"");
	for (i = 0; i < LOGEV_BODY_MAX; i++)
		buf_addc(&big, 'x');
	buf_adds(&big, "\"}}");
	for (i = 0; i <= sizeof(bodies) / sizeof(bodies[0]); i++)
		for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
			body = NULL;
			if (i == sizeof(bodies) / sizeof(bodies[0]))
				cr_assert_eq(jx_parse_stored(big.p, big.n, &body), MK_OK);
			else if (bodies[i] != NULL)
				cr_assert_eq(jx_parse_stored(bodies[i], strlen(bodies[i]), &body), MK_OK,
				    "%s", bodies[i]);
			memset(&c, 0, sizeof(c));
			c.method = k % 2 ? "PATCH" : strs[k];
			c.path = strs[(k + 1) % 6];
			c.query = strs[(k + 2) % 6];
			c.client_id = strs[(k + 3) % 6];
			c.client_name = strs[(k + 4) % 6];
			c.ip = strs[(k + 5) % 6];
			c.user_agent = strs[k];
			c.scopes = k == 0 ? NULL : k == 1 ? "" : k == 2 ? "  read:users  update:users " :
			    k == 3 ? "a\"b c\\d" : "create:users";
			c.description = k % 3 ? "Update a User" : strs[k];
			c.body = body;
			cr_assert_eq(logev_template(&c, &out), MK_OK);
			ref = ref_template(&c);
			cr_assert(out.n == strlen(ref) && memcmp(out.p, ref, out.n) == 0,
			    "body %zu, strings %zu:\n%.*s\n%s", i, k, (int)out.n, out.p, ref);
			free(ref);
			json_object_put(body);
		}
	buf_free(&out);
	buf_free(&big);
}
