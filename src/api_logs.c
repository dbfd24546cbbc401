/*
 * api_logs: the log event handlers (docs/api.md section 9): GET /logs
 * (search with q, pages, sort by date; or checkpoints with from/take),
 * GET /logs/{id}, GET /users/{id}/logs.  Events come from the request's
 * read transaction; every event a request looks at is charged to the
 * search budget (as sindex charges a record it reads), so no request does
 * unbounded work: past the budget it is refused, 400, as a search is.
 */
#include "api_logs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jx.h"
#include "logev.h"

#define LOG_COST 128          /* units per event read and parsed (COST_RECORD) */
#define LOG_TERMS_MAX 8
#define LOG_TAKE_MAX 100
#define LOG_TAKE_DEFAULT 50

/* The fields q may name, each matched against the event's string member. */
static const char *const log_fields[] = { "type", "user_id", "client_id", "ip", "date",
    "description" };
#define NLOGFIELDS (sizeof(log_fields) / sizeof(log_fields[0]))

/* One term of q: field equal to value, or (range) between lo and hi. */
struct log_term {
	const char *field;
	char lo[API_QVAL_MAX], hi[API_QVAL_MAX];  /* "" in a range: open */
	int range;
};

struct log_search {
	struct log_term t[LOG_TERMS_MAX];
	size_t n;
	const struct api_fields *f;
	struct mk_buf *out;
	int desc;
	size_t skip, limit, totals_wanted;
	size_t seen, emitted, total;
	size_t budget, spent;
	uint64_t last;                 /* the last event emitted */
	enum mk_code rc;
	struct mk_err *err;
};

/* Copy a value of q (from p, len n) into out, unquoted. */
static int
term_value(const char *p, size_t n, char out[API_QVAL_MAX])
{
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (n >= API_QVAL_MAX)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/*
 * q: terms "field:value", "field:\"value\"" or "field:[lo TO hi]" ("*" for
 * an open end), separated by spaces or AND.  Errors: MK_ERR_QUERY.
 */
static enum mk_code
parse_q(const char *q, struct log_search *ls, struct mk_err *err)
{
	const char *p = q, *e, *colon, *to;
	struct log_term *t;
	size_t i, n;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return MK_OK;
		if (strncmp(p, "AND ", 4) == 0) {
			p += 4;
			continue;
		}
		if ((colon = strchr(p, ':')) == NULL)
			return api_query_bad(err, "q", "Expected field:value terms");
		if (ls->n == LOG_TERMS_MAX)
			return api_query_bad(err, "q", "Too many terms (8 at most)");
		t = &ls->t[ls->n];
		memset(t, 0, sizeof(*t));
		for (i = 0; i < NLOGFIELDS; i++)
			if (strlen(log_fields[i]) == (size_t)(colon - p) &&
			    memcmp(p, log_fields[i], (size_t)(colon - p)) == 0)
				t->field = log_fields[i];
		if (t->field == NULL)
			return api_query_bad(err, "q", "Unknown field (type, user_id, "
			    "client_id, ip, date or description)");
		p = colon + 1;
		if (*p == '[') {
			if ((e = strchr(p, ']')) == NULL || (to = strstr(p, " TO ")) == NULL ||
			    to > e)
				return api_query_bad(err, "q", "Expected [from TO to]");
			t->range = 1;
			if (term_value(p + 1, (size_t)(to - p - 1), t->lo) == -1 ||
			    term_value(to + 4, (size_t)(e - to - 4), t->hi) == -1)
				return api_query_bad(err, "q", "A value is too long");
			if (strcmp(t->lo, "*") == 0)
				t->lo[0] = '\0';
			if (strcmp(t->hi, "*") == 0)
				t->hi[0] = '\0';
			e++;
		} else if (*p == '"') {
			if ((e = strchr(p + 1, '"')) == NULL)
				return api_query_bad(err, "q", "Unterminated quote");
			e++;
			if (term_value(p, (size_t)(e - p), t->lo) == -1)
				return api_query_bad(err, "q", "A value is too long");
		} else {
			n = strcspn(p, " ");
			e = p + n;
			if (n == 0 || term_value(p, n, t->lo) == -1)
				return api_query_bad(err, "q", "Expected a value");
		}
		ls->n++;
		p = e;
	}
}

/* Does event ev match every term?  Dates match as ISO 8601 strings. */
static int
matches(const struct log_search *ls, struct json_object *ev)
{
	const struct log_term *t;
	const char *v;
	size_t i;

	for (i = 0; i < ls->n; i++) {
		t = &ls->t[i];
		if ((v = jx_get_str(ev, t->field)) == NULL)
			return 0;
		if (t->range) {
			if ((t->lo[0] != '\0' && strcmp(v, t->lo) < 0) ||
			    (t->hi[0] != '\0' && strcmp(v, t->hi) > 0))
				return 0;
		} else if (t->field == log_fields[4]) {
			/* date:2026-12-02 is that day: a prefix */
			if (strncmp(v, t->lo, strlen(t->lo)) != 0)
				return 0;
		} else if (strcmp(v, t->lo) != 0)
			return 0;
	}
	return 1;
}

/* store_log_fn: charge, filter, page, emit. */
static int
visit(void *ctx, uint64_t seq, struct mk_slice ev)
{
	struct log_search *ls = ctx;
	struct json_object *o = NULL;
	int keep = 1;

	ls->spent += LOG_COST;
	if (ls->budget != 0 && ls->spent > ls->budget) {
		ls->rc = mk_fail(ls->err, MK_ERR_QUERY, "Query validation error: the query is "
		    "too expensive (it needs more than %zu index operations, the "
		    "search_budget). Narrow it: a user_id: term, or page with from/take.", ls->budget);
		return 1;
	}
	if (ls->n > 0) {
		if (jx_parse_stored(ev.p, ev.n, &o) != MK_OK)
			return 0;
		keep = matches(ls, o);
		json_object_put(o);
	}
	ls->seen++;
	if (!keep)
		return 0;
	ls->total++;
	if (ls->total <= ls->skip)
		return 0;
	if (ls->emitted < ls->limit) {
		if (ls->emitted > 0)
			buf_addc(ls->out, ',');
		if ((ls->rc = api_emit_record(ls->out, ev, ls->f, 0)) != MK_OK) {
			mk_fail(ls->err, ls->rc, "log output failed");
			return 1;
		}
		ls->emitted++;
		ls->last = seq;
		return 0;
	}
	return !ls->totals_wanted;
}

/* take=: 1..100, default 50. */
static enum mk_code
query_take(const char *query, size_t *take, struct mk_err *err)
{
	char v[32], *end;
	long n;
	int r = api_query_get(query, "take", v, sizeof(v));

	*take = LOG_TAKE_DEFAULT;
	if (r == 0)
		return MK_OK;
	errno = 0;
	n = r > 0 ? strtol(v, &end, 10) : 0;
	if (r < 0 || errno != 0 || v[0] == '\0' || *end != '\0' || n < 1 || n > LOG_TAKE_MAX)
		return api_query_bad(err, "take", "Expected an integer from 1 to 100");
	*take = (size_t)n;
	return MK_OK;
}

/*
 * Checkpoint paging: the events after log_id from, oldest first, at most
 * take; every other parameter is ignored (as Auth0 does).  The Link
 * header names the next page (the same URL when nothing came).
 */
static enum mk_code
logs_from(struct api_ctx *c, const char *from, const struct api_fields *f)
{
	struct log_search ls;
	const char *uri = c->rq->uri ? c->rq->uri : "", *qm = strchr(uri, '?');
	char last[LOGEV_ID_LEN + 1];
	uint64_t seq;
	size_t take;
	enum mk_code rc;

	if (logev_id_parse(from, &seq) == -1)
		return api_query_bad(&c->err, "from", "Expected a log_id");
	if ((rc = query_take(c->query, &take, &c->err)) != MK_OK)
		return rc;
	memset(&ls, 0, sizeof(ls));
	ls.f = f;
	ls.out = &c->rs->body;
	ls.limit = take;
	ls.budget = c->conf->search_budget;
	ls.err = &c->err;
	buf_reset(ls.out);
	buf_addc(ls.out, '[');
	logev_id(seq, last);
	rc = store_log_scan(c->rtx, &(struct store_log_range){ seq, 0, NULL }, visit, &ls);
	if (rc == MK_OK)
		rc = ls.rc;
	if (rc != MK_OK)
		return c->err.code == rc ? rc : mk_fail(&c->err, rc, "reading logs failed");
	buf_addc(ls.out, ']');
	/* The last event sent is the next checkpoint. */
	if (ls.emitted > 0)
		logev_id(ls.last, last);
	buf_printf(&c->rs->headers, "Link: <%.*s?from=%s&take=%zu>; rel=\"next\"\r\n",
	    (int)(qm ? (size_t)(qm - uri) : strlen(uri)), uri, last, take);
	if (ls.out->failed)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	c->rs->status = 200;
	return MK_OK;
}

/* sort=date:1 or date:-1 (the default): *desc. */
static enum mk_code
query_log_sort(const char *query, int *desc, struct mk_err *err)
{
	char v[32];
	int r = api_query_get(query, "sort", v, sizeof(v));

	*desc = 1;
	if (r == 0)
		return MK_OK;
	if (r > 0 && strcmp(v, "date:1") == 0)
		*desc = 0;
	else if (r < 0 || strcmp(v, "date:-1") != 0)
		return api_query_bad(err, "sort", "Expected date:1 or date:-1");
	return MK_OK;
}

/* A search of the events (of user_id, when not NULL), one page. */
static enum mk_code
logs_search(struct api_ctx *c, const char *user_id, int with_q)
{
	struct log_search *ls;
	struct api_fields f;
	struct api_paging pq;
	struct store_log_range range;
	char from[API_QVAL_MAX], q[API_QVAL_MAX];
	struct mk_buf *out = &c->rs->body;
	enum mk_code rc;
	int r;

	if ((rc = api_query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	if (with_q && (r = api_query_get(c->query, "from", from, sizeof(from))) != 0) {
		if (r < 0)
			return api_query_bad(&c->err, "from", "Expected a log_id");
		return logs_from(c, from, &f);
	}
	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	if ((rc = api_query_paging(c->query, &pq, &c->err)) != MK_OK ||
	    (rc = query_log_sort(c->query, &ls->desc, &c->err)) != MK_OK)
		goto out;
	if (with_q && (r = api_query_get(c->query, "q", q, sizeof(q))) != 0) {
		if (r < 0) {
			rc = api_query_bad(&c->err, "q", "Expected a query");
			goto out;
		}
		if ((rc = parse_q(q, ls, &c->err)) != MK_OK)
			goto out;
	}
	ls->f = &f;
	ls->out = out;
	ls->skip = pq.skip;
	ls->limit = (size_t)pq.per_page;
	ls->totals_wanted = (size_t)pq.totals;
	ls->budget = c->conf->search_budget;
	ls->err = &c->err;
	buf_reset(out);
	if (pq.totals)
		buf_adds(out, "{\"logs\":");
	buf_addc(out, '[');
	range.from = ls->desc ? UINT64_MAX : 0;
	range.desc = ls->desc;
	range.user_id = user_id;
	rc = store_log_scan(c->rtx, &range, visit, ls);
	if (rc == MK_OK)
		rc = ls->rc;
	if (rc != MK_OK) {
		if (c->err.code != rc)
			mk_fail(&c->err, rc, "reading logs failed");
		goto out;
	}
	buf_addc(out, ']');
	if (pq.totals)
		buf_printf(out, ",\"start\":%zu,\"limit\":%ld,\"length\":%zu,\"total\":%zu}",
		    pq.skip, pq.per_page, ls->emitted, ls->total);
	if (out->failed)
		rc = mk_fail(&c->err, MK_ERR_NOMEM, "out of memory");
	else
		c->rs->status = 200;
out:
	free(ls);
	return rc;
}

enum mk_code
api_logs_list(struct api_ctx *c)
{
	return logs_search(c, NULL, 1);
}

enum mk_code
api_logs_get(struct api_ctx *c)
{
	struct api_fields f;
	struct mk_slice ev;
	uint64_t seq;
	enum mk_code rc;

	if ((rc = api_query_fields(c->query, &f, &c->err)) != MK_OK)
		return rc;
	if (logev_id_parse(c->id, &seq) == -1)
		return mk_fail(&c->err, MK_ERR_NOTFOUND, "The log does not exist.");
	rc = store_log_get(c->rtx, seq, &ev);
	if (rc != MK_OK)
		return mk_fail(&c->err, rc, "The log does not exist.");
	buf_reset(&c->rs->body);
	if ((rc = api_emit_record(&c->rs->body, ev, &f, 0)) != MK_OK)
		return mk_fail(&c->err, rc, "log output failed");
	c->rs->status = 200;
	return MK_OK;
}

enum mk_code
api_users_logs(struct api_ctx *c)
{
	return logs_search(c, c->id, 0);
}
