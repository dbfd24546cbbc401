/*
 * logev: log events (see logev.h).
 *
 * The queue of failed calls is this process's own (a worker's), as plain
 * JSON texts with their dates and users; it is written in one store_write
 * when it holds LOGEV_FAIL_BATCH events or its oldest is a second old, and
 * when the worker stops (logev_flush).
 */
#include "logev.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jx.h"
#include "log.h"
#include "util.h"

static const char *const meta_roots[] = { "user_metadata", "app_metadata",
    "client_metadata" };
#define NROOTS (sizeof(meta_roots) / sizeof(meta_roots[0]))

/* Members of a request body never kept in an event. */
static const char *const secret_keys[] = { "password", "client_secret" };
#define NSECRETS (sizeof(secret_keys) / sizeof(secret_keys[0]))

void
logev_conf_defaults(struct logev_conf *c)
{
	c->on = 1;
	c->retention_days = 30;
	c->max_events = 100000;
}

void
logev_id(uint64_t seq, char out[LOGEV_ID_LEN + 1])
{
	snprintf(out, LOGEV_ID_LEN + 1, "900%020" PRIu64, seq);
}

int
logev_id_parse(const char *id, uint64_t *seq)
{
	uint64_t v = 0;
	size_t i;

	if (id == NULL || strlen(id) != LOGEV_ID_LEN || strncmp(id, "900", 3) != 0)
		return -1;
	for (i = 3; i < LOGEV_ID_LEN; i++) {
		if (id[i] < '0' || id[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(id[i] - '0');
	}
	*seq = v;
	return 0;
}

static int
add_str(struct json_object *o, const char *key, const char *v)
{
	struct json_object *s;

	if (v == NULL)
		return 0;
	if ((s = json_object_new_string(v)) == NULL)
		return -1;
	if (json_object_object_add(o, key, s) != 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

/* A copy of body's top level with the secrets redacted (members shared). */
static struct json_object *
redacted_body(struct json_object *body)
{
	struct json_object *o, *v;
	const char *text;
	size_t i, len;
	char note[64];

	if (!json_object_is_type(body, json_type_object))
		return NULL;
	text = jx_text(body, &len);
	if (text != NULL && len > LOGEV_BODY_MAX) {
		snprintf(note, sizeof(note), "(a body of %zu bytes, not kept)", len);
		return json_object_new_string(note);
	}
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_foreach(body, key, val) {
		v = NULL;
		for (i = 0; i < NSECRETS; i++)
			if (strcmp(key, secret_keys[i]) == 0)
				v = json_object_new_string("[redacted]");
		if (v == NULL)
			v = json_object_get(val);
		if (json_object_object_add(o, key, v) != 0) {
			json_object_put(v);
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

enum mk_code
logev_template(const struct logev_call *call, struct mk_buf *out)
{
	struct json_object *ev, *det, *rq, *auth, *sc, *b;
	const char *text, *p, *e;
	size_t len;
	enum mk_code rc = MK_ERR_NOMEM;

	if ((ev = json_object_new_object()) == NULL)
		return MK_ERR_NOMEM;
	det = json_object_new_object();
	rq = json_object_new_object();
	auth = json_object_new_object();
	sc = json_object_new_array();
	if (det == NULL || rq == NULL || auth == NULL || sc == NULL) {
		json_object_put(det);
		json_object_put(rq);
		json_object_put(auth);
		json_object_put(sc);
		goto out;
	}
	json_object_object_add(ev, "details", det);
	json_object_object_add(det, "request", rq);
	json_object_object_add(rq, "auth", auth);
	json_object_object_add(auth, "scopes", sc);
	if (add_str(ev, "description", call->description) || add_str(ev, "client_id",
	    call->client_id) || add_str(ev, "client_name", call->client_name) ||
	    add_str(ev, "ip", call->ip) || add_str(ev, "user_agent", call->user_agent) ||
	    add_str(rq, "method", call->method) || add_str(rq, "path", call->path) ||
	    add_str(rq, "query", call->query))
		goto out;
	for (p = call->scopes; p != NULL && *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		if (e > p && json_object_array_add(sc,
		    json_object_new_string_len(p, (int)(e - p))) != 0)
			goto out;
	}
	if (call->body != NULL) {
		if ((b = redacted_body(call->body)) == NULL)
			goto out;
		json_object_object_add(rq, "body", b);
	}
	if ((text = jx_text(ev, &len)) == NULL)
		goto out;
	buf_reset(out);
	if (buf_add(out, text, len) == 0)
		rc = MK_OK;
out:
	json_object_put(ev);
	return rc;
}

/* ---- the change as a JSON Patch ---- */

/* "/root/key" with key escaped as RFC 6901 says (~ as ~0, / as ~1). */
static struct json_object *
pointer(const char *root, const char *key)
{
	struct mk_buf b = MK_BUF_INIT;
	struct json_object *s;
	const char *k;

	buf_printf(&b, "/%s", root);
	if (key != NULL) {
		buf_adds(&b, "/");
		for (k = key; *k != '\0'; k++) {
			if (*k == '~')
				buf_adds(&b, "~0");
			else if (*k == '/')
				buf_adds(&b, "~1");
			else
				buf_add(&b, k, 1);
		}
	}
	s = b.failed ? NULL : json_object_new_string_len(b.p, (int)b.n);
	buf_free(&b);
	return s;
}

static int
patch_op(struct json_object *patch, const char *op, const char *root, const char *key,
    struct json_object *value)
{
	struct json_object *o = json_object_new_object(), *path = pointer(root, key);

	if (o == NULL || path == NULL) {
		json_object_put(o);
		json_object_put(path);
		return -1;
	}
	json_object_object_add(o, "op", json_object_new_string(op));
	json_object_object_add(o, "path", path);
	if (value != NULL)
		json_object_object_add(o, "value", json_object_get(value));
	if (json_object_array_add(patch, o) != 0) {
		json_object_put(o);
		return -1;
	}
	return 0;
}

static int
same(struct json_object *a, struct json_object *b)
{
	return json_object_equal(a, b);
}

struct json_object *
logev_diff(struct json_object *old, struct json_object *new)
{
	struct json_object *patch = json_object_new_array(), *or, *nr, *ov;
	size_t i;
	int bad = 0;

	if (patch == NULL)
		return NULL;
	for (i = 0; i < NROOTS && !bad; i++) {
		or = nr = NULL;
		if (old != NULL)
			json_object_object_get_ex(old, meta_roots[i], &or);
		if (new != NULL)
			json_object_object_get_ex(new, meta_roots[i], &nr);
		if (!json_object_is_type(or, json_type_object))
			or = NULL;
		if (!json_object_is_type(nr, json_type_object))
			nr = NULL;
		if (or == NULL && nr == NULL)
			continue;
		if (or == NULL) {
			bad = patch_op(patch, "add", meta_roots[i], NULL, nr);
			continue;
		}
		if (nr == NULL) {
			bad = patch_op(patch, "remove", meta_roots[i], NULL, NULL);
			continue;
		}
		json_object_object_foreach(or, k1, v1) {
			(void)v1;
			if (!bad && !json_object_object_get_ex(nr, k1, NULL))
				bad = patch_op(patch, "remove", meta_roots[i], k1, NULL);
		}
		json_object_object_foreach(nr, k2, v2) {
			if (bad)
				break;
			if (!json_object_object_get_ex(or, k2, &ov))
				bad = patch_op(patch, "add", meta_roots[i], k2, v2);
			else if (!same(ov, v2))
				bad = patch_op(patch, "replace", meta_roots[i], k2, v2);
		}
	}
	if (bad) {
		json_object_put(patch);
		return NULL;
	}
	return patch;
}

/* ---- writing ---- */

/*
 * Complete template tmpl into an event and write it in t: number, log_id,
 * date, type, user_id, the response (status, body) and the change.
 * ev_extra: called with the parsed event to add what the caller knows.
 */
static enum mk_code
put_event(struct store_txn *t, const char *tmpl, size_t n, int64_t now_ms,
    const char *type, const char *user_id, int status, struct json_object *resp_body,
    struct json_object *change)
{
	struct json_object *ev = NULL, *det, *rs;
	char id[LOGEV_ID_LEN + 1], date[MK_ISO_LEN + 1];
	struct mk_slice text;
	uint64_t seq;
	enum mk_code rc;

	if (jx_parse_stored(tmpl, n, &ev) != MK_OK || !json_object_is_type(ev, json_type_object)
	    || !json_object_object_get_ex(ev, "details", &det)) {
		json_object_put(ev);
		json_object_put(resp_body);
		json_object_put(change);
		return MK_ERR_INTERNAL;
	}
	if ((rc = store_log_next(t, &seq)) != MK_OK)
		goto out;
	logev_id(seq, id);
	mk_iso8601(now_ms, date);
	rc = MK_ERR_NOMEM;
	if ((rs = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(det, "response", rs);
	json_object_object_add(rs, "statusCode", json_object_new_int(status));
	if (resp_body != NULL) {
		json_object_object_add(rs, "body", resp_body);
		resp_body = NULL;
	}
	if (change != NULL) {
		json_object_object_add(det, "change", change);
		change = NULL;
	}
	if (add_str(ev, "log_id", id) || add_str(ev, "date", date) ||
	    add_str(ev, "type", type) || add_str(ev, "user_id", user_id))
		goto out;
	if ((text.p = jx_text(ev, &text.n)) == NULL)
		goto out;
	rc = store_log_put(t, seq, now_ms, user_id, text);
out:
	json_object_put(ev);
	json_object_put(resp_body);
	json_object_put(change);
	return rc;
}

enum mk_code
logev_put_success(struct store_txn *t, const char *tmpl, size_t n, int64_t now_ms,
    const char *user_id, int status, struct json_object *old, struct json_object *new)
{
	struct json_object *change = logev_diff(old, new);

	if (change == NULL)
		return MK_ERR_NOMEM;
	return put_event(t, tmpl, n, now_ms, "sapi", user_id, status, NULL, change);
}

/* ---- failed calls, queued ---- */

struct fail_ev {
	char *tmpl;
	size_t n;
	int64_t date;
	char *user_id;
	int status;
	char *resp;
	size_t resp_n;
};

static struct fail_ev fq[LOGEV_FAIL_BATCH];
static size_t fq_n;
static unsigned long ticks;
static int64_t last_prune_ms;

static void
fq_clear(void)
{
	size_t i;

	for (i = 0; i < fq_n; i++) {
		free(fq[i].tmpl);
		free(fq[i].user_id);
		free(fq[i].resp);
	}
	fq_n = 0;
}

static char *
dupn(const char *p, size_t n)
{
	char *s;

	if (p == NULL)
		return NULL;
	if ((s = malloc(n + 1)) != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* store_write fn: every queued event, oldest first. */
static enum mk_code
flush_tx(struct store_txn *t, void *ctx, struct mk_err *err)
{
	struct json_object *body, *desc, *ev;
	enum mk_code rc;
	size_t i;

	(void)ctx;
	for (i = 0; i < fq_n; i++) {
		body = NULL;
		if (fq[i].resp != NULL && jx_parse_stored(fq[i].resp, fq[i].resp_n, &body) != MK_OK)
			body = NULL;
		/* Auth0's fapi description is the error's message. */
		ev = NULL;
		if (body != NULL && json_object_object_get_ex(body, "message", &desc) &&
		    jx_parse_stored(fq[i].tmpl, fq[i].n, &ev) == MK_OK &&
		    json_object_is_type(ev, json_type_object)) {
			const char *text;
			size_t len = 0;

			json_object_object_add(ev, "description", json_object_get(desc));
			free(fq[i].tmpl);
			text = jx_text(ev, &len);
			fq[i].tmpl = dupn(text, len);
			fq[i].n = len;
		}
		json_object_put(ev);
		if (fq[i].tmpl == NULL) {
			json_object_put(body);
			return mk_fail(err, MK_ERR_NOMEM, "out of memory");
		}
		rc = put_event(t, fq[i].tmpl, fq[i].n, fq[i].date, "fapi", fq[i].user_id,
		    fq[i].status, body, NULL);
		if (rc != MK_OK)
			return mk_fail(err, rc, "writing failed calls' events");
	}
	return MK_OK;
}

enum mk_code
logev_flush(struct store *s)
{
	struct mk_err err;
	enum mk_code rc;

	if (fq_n == 0)
		return MK_OK;
	memset(&err, 0, sizeof(err));
	rc = store_write(s, flush_tx, NULL, &err);
	if (rc != MK_OK)
		log_warnx("%zu events of failed calls dropped: %s", fq_n, err.msg);
	fq_clear();
	return rc;
}

void
logev_fail(struct store *s, const char *tmpl, size_t n, int64_t now_ms,
    const char *user_id, int status, const char *resp, size_t resp_n)
{
	struct fail_ev *f;

	if (fq_n == LOGEV_FAIL_BATCH)
		(void)logev_flush(s);
	f = &fq[fq_n];
	memset(f, 0, sizeof(*f));
	f->tmpl = dupn(tmpl, n);
	f->n = n;
	f->date = now_ms;
	f->user_id = user_id != NULL && *user_id != '\0' ? strdup(user_id) : NULL;
	f->status = status;
	f->resp = dupn(resp, resp_n);
	f->resp_n = resp_n;
	if (f->tmpl == NULL || (user_id != NULL && *user_id != '\0' && f->user_id == NULL) ||
	    (resp != NULL && f->resp == NULL)) {
		log_warnx("no memory for a failed call's event; dropped");
		free(f->tmpl);
		free(f->user_id);
		free(f->resp);
		return;
	}
	fq_n++;
	if (fq_n == LOGEV_FAIL_BATCH)
		(void)logev_flush(s);
}

struct prune_ctx {
	int64_t before_ms;
	size_t keep;
	size_t deleted;
};

static enum mk_code
prune_tx(struct store_txn *t, void *vctx, struct mk_err *err)
{
	struct prune_ctx *p = vctx;
	enum mk_code rc;

	rc = store_log_prune(t, p->before_ms, p->keep, LOGEV_PRUNE_MAX, &p->deleted);
	if (rc != MK_OK)
		return mk_fail(err, rc, "pruning log events");
	return MK_OK;
}

void
logev_tick(struct store *s, const struct logev_conf *c, int64_t now_ms)
{
	struct prune_ctx p;
	struct store_txn *t = NULL;
	struct mk_err err;
	size_t n = 0;
	uint64_t seq;
	int64_t oldest = 0;
	int due;

	if (fq_n > 0 && now_ms - fq[0].date >= 1000)
		(void)logev_flush(s);
	if (c == NULL || !c->on)
		return;
	if (++ticks % LOGEV_PRUNE_EVERY != 0 && now_ms - last_prune_ms < 1000)
		return;
	last_prune_ms = now_ms;
	p.before_ms = now_ms - (int64_t)c->retention_days * 86400000;
	p.keep = c->max_events;
	p.deleted = 0;
	if (store_read_begin(s, &t) != MK_OK)
		return;
	due = store_log_count(t, &n) == MK_OK && n > 0 &&
	    store_log_oldest(t, &seq, &oldest) == MK_OK &&
	    (n > p.keep || oldest < p.before_ms);
	store_txn_end(t);
	if (!due)
		return;
	/* One short transaction drops at most LOGEV_PRUNE_MAX of them. */
	memset(&err, 0, sizeof(err));
	if (store_write(s, prune_tx, &p, &err) != MK_OK)
		log_warnx("%s", err.msg);
}
