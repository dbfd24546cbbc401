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
	size_t i;

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

/* s (n bytes) as a JSON string, escaped as json-c escapes (jx_text's flags). */
static void
add_jstr(struct mk_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s, *e = s + n;
	char esc[7];
	unsigned char c;

	buf_addc(b, '"');
	for (; s < e; s++) {
		c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		esc[0] = '\\';
		switch (c) {
		case '\b': buf_add(b, "\\b", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		case '\f': buf_add(b, "\\f", 2); break;
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, run, (size_t)(e - run));
	buf_addc(b, '"');
}

/* ,"key":"v" when v is not NULL. */
static void
add_member(struct mk_buf *b, const char *key, const char *v)
{
	if (v == NULL)
		return;
	buf_add(b, ",\"", 2);
	buf_adds(b, key);
	buf_add(b, "\":", 2);
	add_jstr(b, v, strlen(v));
}

/*
 * Written as text, member by member, in the order (and with the escapes)
 * json-c gave when this built an object and serialized it: a template is
 * made for every write, and that cost a tenth of a PATCH.
 */
enum mk_code
logev_template(const struct logev_call *call, struct mk_buf *out)
{
	struct json_object *b = NULL;
	const char *text = NULL, *p, *e;
	size_t len = 0, i;
	int first = 1, secret = 0;
	char note[64];

	if (call->body != NULL) {
		if (!json_object_is_type(call->body, json_type_object))
			return MK_ERR_NOMEM;
		if ((text = jx_text(call->body, &len)) == NULL)
			return MK_ERR_NOMEM;
		if (len > LOGEV_BODY_MAX) {
			snprintf(note, sizeof(note), "(a body of %zu bytes, not kept)", len);
			text = note;
			len = strlen(note);
		} else {
			for (i = 0; i < NSECRETS; i++)
				if (json_object_object_get_ex(call->body, secret_keys[i], NULL))
					secret = 1;
			if (secret && ((b = redacted_body(call->body)) == NULL ||
			    (text = jx_text(b, &len)) == NULL)) {
				json_object_put(b);
				return MK_ERR_NOMEM;
			}
		}
	}
	buf_reset(out);
	buf_adds(out, "{\"details\":{\"request\":{\"auth\":{\"scopes\":[");
	for (p = call->scopes; p != NULL && *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		if ((e = strchr(p, ' ')) == NULL)
			e = p + strlen(p);
		if (e > p) {
			if (!first)
				buf_addc(out, ',');
			add_jstr(out, p, (size_t)(e - p));
			first = 0;
		}
	}
	buf_adds(out, "]}");
	add_member(out, "method", call->method);
	add_member(out, "path", call->path);
	add_member(out, "query", call->query);
	if (text != NULL) {
		buf_adds(out, ",\"body\":");
		if (text == note)
			add_jstr(out, text, len);
		else
			buf_add(out, text, len);
	}
	buf_adds(out, "}}");
	json_object_put(b);
	add_member(out, "description", call->description);
	add_member(out, "client_id", call->client_id);
	add_member(out, "client_name", call->client_name);
	add_member(out, "ip", call->ip);
	add_member(out, "user_agent", call->user_agent);
	buf_addc(out, '}');
	return out->failed ? MK_ERR_NOMEM : MK_OK;
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
 * The template as text, read without parsing it (a write's event is built
 * inside its transaction, under the writer lock, so it is spliced, not
 * parsed and serialized again).  The scanner knows JSON as json-c writes
 * it (no white space between tokens); anything else goes the parsing way
 * (event_json), which gives the same bytes.
 */

/* A member of an object: its key without the quotes, its value's span. */
struct member {
	const char *k;
	size_t kn;
	const char *v, *ve;
};

/* The members scan_object found: at most max of them in m, n in all. */
struct members {
	struct member *m;
	size_t max;
	size_t n;
};

/*
 * Past the string at p ('"'), or NULL.  Its closing quote is the first one
 * after an even run of backslashes (memchr: a template holds the request's
 * body, mostly strings).
 */
static const char *
skip_str(const char *p, const char *e)
{
	const char *q = p + 1, *b;

	for (;;) {
		if (q >= e || (q = memchr(q, '"', (size_t)(e - q))) == NULL)
			return NULL;
		for (b = q; b > p + 1 && b[-1] == '\\'; b--)
			;
		if (((q - b) & 1) == 0)
			return q + 1;
		q++;
	}
}

static const char *scan_object(const char *p, const char *e, struct members *ms, int depth);

/*
 * Past the value at p, or NULL when it is not one as json-c writes it (a
 * number's characters are checked, not its grammar: the templates are
 * json-c's own output, this only keeps a broken one from being spliced).
 */
static const char *
skip_value(const char *p, const char *e, int depth)
{
	const char *start = p;

	if (p >= e || depth > 64)
		return NULL;
	if (*p == '"')
		return skip_str(p, e);
	if (*p == '{')
		return (p = scan_object(p, e, NULL, depth + 1)) != NULL ? p + 1 : NULL;
	if (*p == '[') {
		if (++p < e && *p == ']')
			return p + 1;
		for (;;) {
			if ((p = skip_value(p, e, depth + 1)) == NULL || p >= e)
				return NULL;
			if (*p == ']')
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if ((size_t)(e - p) >= 4 && (memcmp(p, "true", 4) == 0 || memcmp(p, "null", 4) == 0))
		return p + 4;
	if ((size_t)(e - p) >= 5 && memcmp(p, "false", 5) == 0)
		return p + 5;
	while (p < e && (*p == '-' || *p == '+' || *p == '.' || *p == 'e' || *p == 'E' ||
	    (*p >= '0' && *p <= '9')))
		p++;
	return p > start ? p : NULL;
}

/*
 * The members of the object at p into ms (key without its quotes, the
 * value's span), at most ms->max; ms NULL: only past it.  Returns the
 * position of its closing brace, or NULL (not an object as json-c writes
 * one, or more than ms->max members).  ms->n gets their number.
 */
static const char *
scan_object(const char *p, const char *e, struct members *ms, int depth)
{
	const char *k;
	size_t n = 0;

	if (p >= e || *p != '{')
		return NULL;
	p++;
	if (p < e && *p == '}') {
		if (ms != NULL)
			ms->n = 0;
		return p;
	}
	for (;;) {
		if (p >= e || *p != '"' || (k = skip_str(p, e)) == NULL)
			return NULL;
		if (ms != NULL && n < ms->max) {
			ms->m[n].k = p + 1;
			ms->m[n].kn = (size_t)(k - p - 2);
		}
		p = k;
		if (p >= e || *p != ':')
			return NULL;
		p++;
		k = p;
		if ((p = skip_value(p, e, depth)) == NULL)
			return NULL;
		if (ms != NULL && n < ms->max) {
			ms->m[n].v = k;
			ms->m[n].ve = p;
		}
		n++;
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		if (p < e && *p == '}')
			break;
		return NULL;
	}
	if (ms == NULL)
		return p;
	ms->n = n;
	return n <= ms->max ? p : NULL;
}

static int
member_is(const struct member *m, const char *name)
{
	return m->kn == strlen(name) && memcmp(m->k, name, m->kn) == 0;
}

#define TMPL_MEMBERS 32

/*
 * The event's text from template tmpl into out: what event_json makes
 * (details.response and details.change appended to details, then log_id,
 * date, type, user_id to the event), by splicing.  -1 when the template is
 * not of the shape it knows (the caller then parses it), -2 when out of
 * memory.
 */
static int
splice_event(const char *tmpl, size_t n, const struct logev_fields *f, struct mk_buf *out)
{
	static const char *const added_top[] = { "log_id", "date", "type", "user_id" };
	static const char *const added_det[] = { "response", "change" };
	struct member top[TMPL_MEMBERS], det[TMPL_MEMBERS];
	struct members tops = { top, TMPL_MEMBERS, 0 }, dets = { det, TMPL_MEMBERS, 0 };
	const char *e = tmpl + n, *end, *dend = NULL, *text;
	size_t ntop, ndet, i, j, len;
	struct json_object *s;

	if ((end = scan_object(tmpl, e, &tops, 0)) == NULL || end + 1 != e)
		return -1;
	ntop = tops.n;
	for (i = 0; i < ntop; i++) {
		for (j = 0; j < sizeof(added_top) / sizeof(added_top[0]); j++)
			if (member_is(&top[i], added_top[j]))
				return -1;
		if (member_is(&top[i], "details")) {
			if (dend != NULL)
				return -1;
			if ((dend = scan_object(top[i].v, top[i].ve, &dets, 1)) == NULL)
				return -1;
		}
	}
	ndet = dets.n;
	if (dend == NULL)
		return -1;
	for (i = 0; i < ndet; i++)
		for (j = 0; j < sizeof(added_det) / sizeof(added_det[0]); j++)
			if (member_is(&det[i], added_det[j]))
				return -1;
	buf_reset(out);
	buf_add(out, tmpl, (size_t)(dend - tmpl));
	buf_printf(out, "%s\"response\":{\"statusCode\":%d", ndet > 0 ? "," : "", f->status);
	if (f->resp_body != NULL) {
		if ((text = jx_text(f->resp_body, &len)) == NULL)
			return -2;
		buf_adds(out, ",\"body\":");
		buf_add(out, text, len);
	}
	buf_adds(out, "}");
	if (f->change != NULL) {
		if ((text = jx_text(f->change, &len)) == NULL)
			return -2;
		buf_adds(out, ",\"change\":");
		buf_add(out, text, len);
	}
	buf_add(out, dend, (size_t)(end - dend));
	buf_printf(out, ",\"log_id\":\"%s\",\"date\":\"%s\",\"type\":\"%s\"", f->id, f->date,
	    f->type);
	if (f->user_id != NULL) {
		if ((s = json_object_new_string(f->user_id)) == NULL ||
		    (text = jx_text(s, &len)) == NULL) {
			json_object_put(s);
			return -2;
		}
		buf_adds(out, ",\"user_id\":");
		buf_add(out, text, len);
		json_object_put(s);
	}
	buf_adds(out, "}");
	return out->failed ? -2 : 0;
}

/* The event's text by parsing the template (any JSON object with "details"). */
static enum mk_code
event_json(const char *tmpl, size_t n, const struct logev_fields *f, struct mk_buf *out)
{
	struct json_object *ev = NULL, *det, *rs;
	const char *text;
	size_t len;
	enum mk_code rc = MK_ERR_NOMEM;

	if (jx_parse_stored(tmpl, n, &ev) != MK_OK || !json_object_is_type(ev, json_type_object)
	    || !json_object_object_get_ex(ev, "details", &det)) {
		json_object_put(ev);
		return MK_ERR_INTERNAL;
	}
	if ((rs = json_object_new_object()) == NULL)
		goto out;
	json_object_object_add(det, "response", rs);
	json_object_object_add(rs, "statusCode", json_object_new_int(f->status));
	if (f->resp_body != NULL)
		json_object_object_add(rs, "body", json_object_get(f->resp_body));
	if (f->change != NULL)
		json_object_object_add(det, "change", json_object_get(f->change));
	if (add_str(ev, "log_id", f->id) || add_str(ev, "date", f->date) ||
	    add_str(ev, "type", f->type) || add_str(ev, "user_id", f->user_id))
		goto out;
	if ((text = jx_text(ev, &len)) == NULL)
		goto out;
	buf_reset(out);
	if (buf_add(out, text, len) == 0)
		rc = MK_OK;
out:
	json_object_put(ev);
	return rc;
}

enum mk_code
logev_event_text(const char *tmpl, size_t n, const struct logev_fields *f, int parse,
    struct mk_buf *out)
{
	int sp = parse == 1 ? -1 : splice_event(tmpl, n, f, out);

	if (sp == -2)
		return MK_ERR_NOMEM;
	if (sp == -1 && parse == 2)
		return MK_ERR_INTERNAL;
	if (sp == -1)
		return event_json(tmpl, n, f, out);
	return MK_OK;
}

/*
 * Complete ev's template into an event of type type and write it in t:
 * number, log_id, date, type, user_id, the response (ev's status,
 * resp_body) and the change.  Takes resp_body and change.
 */
static enum mk_code
put_event(struct store_txn *t, const struct logev_event *ev, const char *type,
    struct json_object *resp_body, struct json_object *change)
{
	char id[LOGEV_ID_LEN + 1], date[MK_ISO_LEN + 1];
	struct logev_fields f = { id, date, type, ev->user_id, ev->status, resp_body, change };
	struct mk_buf text = MK_BUF_INIT;
	struct mk_slice sl;
	uint64_t seq;
	enum mk_code rc;

	if ((rc = store_log_next(t, &seq)) != MK_OK)
		goto out;
	logev_id(seq, id);
	mk_iso8601(ev->now_ms, date);
	rc = logev_event_text(ev->tmpl.p, ev->tmpl.n, &f, 0, &text);
	if (rc != MK_OK)
		goto out;
	sl.p = text.p;
	sl.n = text.n;
	rc = store_log_put(t, seq, ev->now_ms, ev->user_id, sl);
out:
	buf_free(&text);
	json_object_put(resp_body);
	json_object_put(change);
	return rc;
}


enum mk_code
logev_put_success(struct store_txn *t, const struct logev_event *ev,
    struct json_object *old, struct json_object *new)
{
	struct json_object *change = logev_diff(old, new);

	if (change == NULL)
		return MK_ERR_NOMEM;
	return put_event(t, ev, "sapi", NULL, change);
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
	struct logev_event e;
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
		e.tmpl.p = fq[i].tmpl;
		e.tmpl.n = fq[i].n;
		e.now_ms = fq[i].date;
		e.user_id = fq[i].user_id;
		e.status = fq[i].status;
		rc = put_event(t, &e, "fapi", body, NULL);
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
logev_fail(struct store *s, const struct logev_event *ev, struct mk_slice resp)
{
	const char *user_id = ev->user_id;
	struct fail_ev *f;

	if (fq_n == LOGEV_FAIL_BATCH)
		(void)logev_flush(s);
	f = &fq[fq_n];
	memset(f, 0, sizeof(*f));
	f->tmpl = dupn(ev->tmpl.p, ev->tmpl.n);
	f->n = ev->tmpl.n;
	f->date = ev->now_ms;
	f->user_id = user_id != NULL && *user_id != '\0' ? strdup(user_id) : NULL;
	f->status = ev->status;
	f->resp = dupn(resp.p, resp.n);
	f->resp_n = resp.n;
	if (f->tmpl == NULL || (user_id != NULL && *user_id != '\0' && f->user_id == NULL) ||
	    (resp.p != NULL && f->resp == NULL)) {
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
