/*
 * test_patch: a user PATCH that parses only the stored members it reads or
 * changes (model_user_patch_text, svc's user_patch_tx) against the whole
 * way (parse the whole record, model_user_patch, jx_text; svc_patch_whole),
 * on many random bodies: null deletes, {} and nested values, metadata keys
 * with dots, email and connection changes, every invalid kind, over-limit
 * records, and stored records with members model does not know.
 *
 *  - model: the same code, message, and new record byte for byte; the same
 *    event change (logev_diff); the parsed members are exactly the ones
 *    that differ or were read, which is what the index update relies on;
 *  - svc: two stores given the same users and the same PATCHes, one each
 *    way: the same codes, messages and answers (the times masked: each
 *    store has its own clock), and `check`'s index proof clean on both.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_user.h"
#include "helper.h"
#include "jx.h"
#include "logev.h"
#include "model.h"
#include "sindex.h"
#include "store.h"
#include "svc.h"

#define CASES 4000      /* model: random PATCHes */
#define USERS 24        /* svc: users in each store */
#define STEPS 1500      /* svc: PATCHes on each store */

struct out {
	char *p;
	size_t n, cap;
};

static void
put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->n + n + 1 > o->cap) {
		o->cap = (o->n + n + 1) * 2;
		o->p = realloc(o->p, o->cap);
		cr_assert_not_null(o->p);
	}
	memcpy(o->p + o->n, s, n + 1);
	o->n += n;
}

/* Strings json-c escapes, or that hold what the splitter tracks. */
static const char *const strs[] = {
	"\"dark\"", "\"a\\\"b\"", "\"}{][,:\"", "\"\\\\\"", "\"\\\\\\\"\"", "\"/x/y\"",
	"\"\\u00e9t\\u00e9 \\ud83d\\ude00\"", "\"\\n\\t\\u0001\"", "\"\"", "\"1\"",
};
static const char *const nums[] = {
	"0", "-0", "1", "2.50", "1e5", "-3.25E-2", "12345678901", "-9007199254740993",
	"0.1",
};
static const char *const mdkeys[] = {
	"seq", "plan", "age", "score", "tags", "nothing", "theme", "a.b", "x\\\"y", "deep",
};

/* A random metadata value, depth levels of nesting at most. */
static void
md_value(struct out *o, int depth)
{
	unsigned i, n, k, used;

	switch (gen_rnd(depth > 0 ? 9 : 6)) {
	case 0: put(o, strs[gen_rnd(sizeof(strs) / sizeof(strs[0]))]); break;
	case 1: put(o, nums[gen_rnd(sizeof(nums) / sizeof(nums[0]))]); break;
	case 2: put(o, gen_rnd(2) ? "true" : "false"); break;
	case 3: put(o, "null"); break;
	case 4:
		/* sometimes a term key too long to keep: hashed in the index */
		if (gen_rnd(8) == 0) {
			put(o, "\"");
			for (i = 0; i < 60; i++)
				put(o, "long value ");
			put(o, "\"");
		} else
			put(o, strs[0]);
		break;
	case 5: put(o, "{}"); break;
	case 6:
	case 7:
		put(o, "{");
		n = gen_rnd(4);
		for (i = 0, used = 0; i < n; i++) {
			k = gen_rnd(sizeof(mdkeys) / sizeof(mdkeys[0]));
			if (used & (1u << k))
				continue;
			used |= 1u << k;
			put(o, used != (1u << k) ? ",\"" : "\"");
			put(o, mdkeys[k]);
			put(o, "\":");
			md_value(o, depth - 1);
		}
		put(o, "}");
		break;
	default:
		put(o, "[");
		n = gen_rnd(3);
		for (i = 0; i < n; i++) {
			if (i)
				put(o, ",");
			md_value(o, depth - 1);
		}
		put(o, "]");
		break;
	}
}

/* A metadata attribute's PATCH value: mostly an object of root keys. */
static void
md_patch(struct out *o)
{
	unsigned i, n, r = gen_rnd(20);
	char name[32];

	if (r == 0) {
		put(o, "null");
		return;
	}
	if (r == 1) {
		put(o, "{}");
		return;
	}
	if (r == 2) {
		put(o, "[1]");     /* not an object: 400 */
		return;
	}
	if (r == 3) {
		put(o, "{\"d\":{\"d\":{\"d\":{\"d\":{\"d\":{\"d\":{\"d\":{\"d\":{\"d\":{\"d\":"
		    "{\"d\":1}}}}}}}}}}}");   /* deeper than the default limit */
		return;
	}
	put(o, "{");
	n = 1 + gen_rnd(3);
	for (i = 0; i < n; i++) {
		/* distinct: one key of the pool, one numbered, one "k<i>" */
		if (i == 0)
			snprintf(name, sizeof(name), "%s",
			    mdkeys[gen_rnd(sizeof(mdkeys) / sizeof(mdkeys[0]))]);
		else if (i == 1)
			snprintf(name, sizeof(name), "k%u", gen_rnd(50));
		else
			snprintf(name, sizeof(name), "k%u", 50 + gen_rnd(50));
		put(o, i ? ",\"" : "\"");
		put(o, name);
		put(o, "\":");
		md_value(o, 3);
	}
	put(o, "}");
}

/* A plain attribute's value: valid, null, or invalid. */
static void
plain(struct out *o, const char *name, int i)
{
	static const char *const names[] = { "name", "nickname", "given_name", "family_name",
		"username" };
	char v[600];
	unsigned r = gen_rnd(10);
	size_t k;

	(void)names;
	if (strcmp(name, "email") == 0) {
		if (r < 6)
			snprintf(v, sizeof(v), "\"New.Mail%u@Example%d.COM\"", gen_rnd(40), i % 3);
		else if (r < 8)
			snprintf(v, sizeof(v), "\"same%d@example.com\"", i % 5);
		else if (r == 8)
			snprintf(v, sizeof(v), "\"not an email\"");
		else
			snprintf(v, sizeof(v), "null");
	} else if (strcmp(name, "connection") == 0)
		snprintf(v, sizeof(v), r < 7 ? "\"Username-Password-Authentication\"" :
		    r < 9 ? "\"Other\"" : "3");
	else if (strcmp(name, "blocked") == 0 || strcmp(name, "email_verified") == 0 ||
	    strcmp(name, "phone_verified") == 0 || strcmp(name, "verify_email") == 0)
		snprintf(v, sizeof(v), r < 4 ? "true" : r < 8 ? "false" : r < 9 ? "\"yes\"" : "null");
	else if (strcmp(name, "phone_number") == 0)
		snprintf(v, sizeof(v), r < 5 ? "\"+4930%u\"" : r < 8 ? "null" : "\"030 123\"",
		    gen_rnd(100000));
	else if (strcmp(name, "picture") == 0)
		snprintf(v, sizeof(v), r < 5 ? "\"https://img.example/%u.png\"" : r < 8 ? "null" :
		    "\"no scheme\"", gen_rnd(100));
	else if (r < 6)
		snprintf(v, sizeof(v), "%s", strs[gen_rnd(sizeof(strs) / sizeof(strs[0]))]);
	else if (r < 8)
		snprintf(v, sizeof(v), "null");
	else if (r < 9) {
		v[0] = '"';
		for (k = 1; k < 400; k++)
			v[k] = 'x';
		v[k++] = '"';
		v[k] = '\0';
	} else
		snprintf(v, sizeof(v), "12");
	put(o, v);
}

/* A random PATCH body for the i-th case. */
static void
body_text(struct out *o, int i)
{
	static const char *const keys[] = {
		"user_metadata", "user_metadata", "user_metadata", "app_metadata",
		"app_metadata", "email", "email", "email_verified", "connection", "name",
		"nickname", "given_name", "family_name", "username", "phone_number",
		"phone_verified", "picture", "blocked", "verify_email",
		"user_id", "created_at", "identities", "unknown_thing",
	};
	const size_t nk = sizeof(keys) / sizeof(keys[0]);
	const char *used[4];
	unsigned n, k, j, r;

	o->n = 0;
	if (o->p != NULL)
		o->p[0] = '\0';
	r = gen_rnd(60);
	if (r == 0) {
		put(o, "{}");
		return;
	}
	put(o, "{");
	n = 1 + (gen_rnd(3) == 0 ? gen_rnd(3) + 1 : 0);
	for (k = 0; k < n; k++) {
again:
		used[k] = keys[(k == 0 && gen_rnd(4) == 0) ? gen_rnd(19) :
		    gen_rnd(gen_rnd(8) == 0 ? (unsigned)nk : 19)];
		for (j = 0; j < k; j++)
			if (strcmp(used[j], used[k]) == 0)
				goto again;
		put(o, k ? ",\"" : "\"");
		put(o, used[k]);
		put(o, "\":");
		if (strstr(used[k], "metadata") != NULL)
			md_patch(o);
		else if (strcmp(used[k], "user_id") == 0 || strcmp(used[k], "created_at") == 0 ||
		    strcmp(used[k], "identities") == 0 || strcmp(used[k], "unknown_thing") == 0)
			put(o, "\"x\"");
		else
			plain(o, used[k], i);
	}
	put(o, "}");
}

static struct json_object *
parse_body(const char *text)
{
	struct json_object *b = NULL;
	struct mk_err err;

	cr_assert_eq(jx_parse(text, strlen(text), 64, &b, &err), MK_OK, "%s: %s", text,
	    err.msg);
	return b;
}

/*
 * A stored record of user i as the whole way writes it, sometimes with
 * members that model does not know or drops (kept as they are): an import
 * of another release's records, or a field added later.
 */
static char *
record(int i)
{
	struct model_ctx ctx;
	struct json_object *b, *u = NULL;
	struct mk_err err;
	char body[4096], id[32], *s;
	const char *t;
	size_t n;

	gen_user(i, body, sizeof(body));
	b = parse_body(body);
	memset(&ctx, 0, sizeof(ctx));
	snprintf(id, sizeof(id), "%024d", i);
	ctx.new_id = id;
	ctx.now_ms = 1700000000000 + i;
	cr_assert_eq(model_user_new(b, &ctx, &u, &err), MK_OK, "%s", err.msg);
	switch (gen_rnd(5)) {
	case 0:
		json_object_object_add(u, "x_custom", json_object_new_string("a\"}{b"));
		break;
	case 1:
		json_object_object_add(u, "zz_null", NULL);
		json_object_object_add(u, "given_name", NULL);   /* dropped on the way */
		break;
	case 2:
		json_object_object_add(u, "connection", json_object_new_string("old"));
		break;
	default:
		break;
	}
	t = jx_text(u, &n);
	s = strndup(t, n);
	cr_assert_not_null(s);
	json_object_put(u);
	json_object_put(b);
	return s;
}

static char *
text_of(struct json_object *o)
{
	size_t n;
	const char *t = jx_text(o, &n);
	char *s = strndup(t, n);

	cr_assert_not_null(s);
	return s;
}

/*
 * The contract sindex_user_patch and the event rely on: a member of whole
 * (the whole way's new record) or old_whole is in part_old or part_new
 * when it differs between the two, and the parts hold the same values.
 */
static void
parts_cover(struct json_object *old_whole, struct json_object *whole,
    struct json_object *po, struct json_object *pn, const char *ctxs)
{
	struct json_object *v, *w;

	json_object_object_foreach(whole, k, nv) {
		if (json_object_object_get_ex(pn, k, &v))
			cr_assert(json_object_equal(v, nv), "%s: %s differs", ctxs, k);
		else {
			cr_assert(!json_object_object_get_ex(po, k, NULL),
			    "%s: %s parsed, not in the part", ctxs, k);
			cr_assert(json_object_object_get_ex(old_whole, k, &w) &&
			    json_object_equal(w, nv), "%s: %s changed, not parsed", ctxs, k);
		}
	}
	json_object_object_foreach(pn, k2, v2) {
		(void)v2;
		cr_assert(json_object_object_get_ex(whole, k2, NULL), "%s: %s", ctxs, k2);
		/* the old part holds what was stored under each key of the new */
		cr_assert(json_object_object_get_ex(po, k2, NULL) ||
		    !json_object_object_get_ex(old_whole, k2, NULL),
		    "%s: %s changed, its old value not parsed", ctxs, k2);
	}
	json_object_object_foreach(po, k3, v3) {
		if (json_object_object_get_ex(old_whole, k3, &w))
			cr_assert(json_object_equal(w, v3), "%s: %s parsed wrong", ctxs, k3);
		else
			cr_assert(v3 == NULL, "%s: %s", ctxs, k3);
	}
	json_object_object_foreach(old_whole, k4, v4) {
		if (json_object_object_get_ex(whole, k4, NULL))
			continue;
		/* gone: removed by the PATCH (parsed) or dropped (null, unknown field) */
		cr_assert(json_object_object_get_ex(po, k4, NULL) || v4 == NULL ||
		    strcmp(k4, "connection") == 0, "%s: %s gone unseen", ctxs, k4);
	}
}

Test(patch, model_text_way_is_the_whole_way_byte_for_byte)
{
	struct out b = { NULL, 0, 0 };
	struct model_ctx ctx;
	struct model_patch mp;
	struct json_object *body, *old, *nw, *d1, *d2;
	struct mk_err e1, e2;
	enum mk_code r1, r2;
	char *stored = NULL, *t1, *t2, what[64];
	size_t n;
	int i, ok = 0, bad = 0;

	gen_seed(13);
	memset(&ctx, 0, sizeof(ctx));
	for (i = 0; i < CASES; i++) {
		if (i % 40 == 0) {
			free(stored);
			stored = record(i);
		}
		body_text(&b, i);
		body = parse_body(b.p);
		ctx.now_ms = 1800000000000 + i;
		snprintf(what, sizeof(what), "case %d", i);

		cr_assert_eq(jx_parse_stored(stored, strlen(stored), &old), MK_OK);
		memset(&e1, 0, sizeof(e1));
		memset(&e2, 0, sizeof(e2));
		nw = NULL;
		r1 = model_user_patch(old, body, &ctx, &nw, &e1);
		r2 = model_user_patch_text((struct mk_slice){ stored, strlen(stored) }, body, &ctx, &mp,
		    &e2);
		cr_assert_eq(r2, r1, "%s: %s on %s: %s / %s", what, b.p, stored, e1.msg, e2.msg);
		if (r1 != MK_OK) {
			cr_assert_str_eq(e2.msg, e1.msg, "%s: %s", what, b.p);
			bad++;
		} else {
			cr_assert_eq(mp.whole, 0, "%s: %s", what, stored);
			t1 = text_of(nw);
			n = strlen(t1);
			cr_assert(mp.text.n == n && memcmp(mp.text.p, t1, n) == 0,
			    "%s: %s on\n%s\nwhole: %s\ntext:  %.*s", what, b.p, stored, t1,
			    (int)mp.text.n, mp.text.p);
			parts_cover(old, nw, mp.old, mp.new, what);
			d1 = logev_diff(old, nw);
			d2 = logev_diff(mp.old, mp.new);
			t2 = text_of(d1);
			cr_assert_str_eq(jx_text(d2, NULL), t2, "%s: event of %s", what, b.p);
			free(t2);
			json_object_put(d1);
			json_object_put(d2);
			free(stored);
			stored = t1;
			ok++;
		}
		model_patch_free(&mp);
		json_object_put(nw);
		json_object_put(old);
		json_object_put(body);
	}
	cr_log_info("model: %d applied, %d refused", ok, bad);
	/* Both kinds happened, often. */
	cr_expect_gt(ok, CASES / 4, "%d applied", ok);
	cr_expect_gt(bad, CASES / 10, "%d refused", bad);
	free(stored);
	free(b.p);
}

Test(patch, model_text_way_falls_back_on_other_text)
{
	static const char *const texts[] = {
		"{\"user_id\": \"auth0|1\",\"email\":\"a@b.c\"}",            /* spaces */
		"{\"user_id\":\"auth0|1\",\"email\":\"a@b.c\",\"email\":\"d@e.f\"}", /* twice */
		"{\"user_id\":\"auth0|1\",\"x\":1,\"x\":2}",
		"{\"us\\u0065r_id\":\"auth0|1\"}",                           /* escaped key */
		"{\"user_id\":\"auth0|1\"",                                  /* cut */
		"[]",
	};
	struct json_object *body = parse_body("{\"name\":\"n\"}");
	struct model_ctx ctx;
	struct model_patch mp;
	struct mk_err err;
	size_t i;

	memset(&ctx, 0, sizeof(ctx));
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		cr_expect_eq(model_user_patch_text((struct mk_slice){ texts[i], strlen(texts[i]) },
		    body, &ctx, &mp, &err), MK_OK, "%s", texts[i]);
		cr_expect_eq(mp.whole, 1, "%s", texts[i]);
		cr_expect_null(mp.old);
		cr_expect_null(mp.new);
		model_patch_free(&mp);
	}
	json_object_put(body);
}

/* ---- svc: the two ways on two stores ---- */

static struct th_db da, db;

static void
svc_setup(void)
{
	th_db_open(&da, "test-patch-a", 64u << 20, TH_RELAXED);
	th_db_open(&db, "test-patch-b", 64u << 20, TH_RELAXED);
}

static void
svc_teardown(void)
{
	svc_patch_whole = 0;
	th_db_close(&da);
	th_db_close(&db);
}

/* The times masked: "created_at":"…" and "updated_at":"…" values to '*'. */
static void
mask(char *s)
{
	static const char *const keys[] = { "\"created_at\":\"", "\"updated_at\":\"" };
	char *p;
	size_t k;

	for (k = 0; k < 2; k++)
		for (p = s; (p = strstr(p, keys[k])) != NULL; ) {
			p += strlen(keys[k]);
			while (*p != '\0' && *p != '"')
				*p++ = '*';
		}
}

static void
report(void *ctx, const char *line)
{
	(void)ctx;
	cr_log_error("check: %s", line);
}

static void
index_exact(struct store *s)
{
	struct mk_err err;
	size_t problems = 99;

	cr_assert_eq(sindex_check(s, report, NULL, &problems, &err), MK_OK, "%s", err.msg);
	cr_expect_eq(problems, 0);
}

/* One PATCH on store s, the way whole says; the answer masked (owned). */
static enum mk_code
patch_on(struct store *s, const struct svc_limits *l, int whole, const char *id,
    const char *text, char **answer, struct mk_err *err)
{
	struct json_object *body = parse_body(text);
	struct mk_buf out = MK_BUF_INIT;
	enum mk_code rc;

	svc_patch_whole = whole;
	memset(err, 0, sizeof(*err));
	rc = svc_user_patch(s, l, id, NULL, body, &out, err);
	svc_patch_whole = 0;
	*answer = NULL;
	if (rc == MK_OK) {
		*answer = strndup(out.p, out.n);
		cr_assert_not_null(*answer);
		mask(*answer);
	}
	buf_free(&out);
	json_object_put(body);
	return rc;
}

Test(patch, svc_text_way_answers_and_indexes_as_the_whole_way, .init = svc_setup,
    .fini = svc_teardown, .timeout = 300)
{
	struct svc_limits lim;
	struct out b = { NULL, 0, 0 };
	struct json_object *body;
	struct mk_buf out = MK_BUF_INIT;
	struct mk_err e1, e2;
	char ubody[4096 + 64], id[USERS][40], *a1, *a2;
	enum mk_code r1, r2;
	int i, u, ok = 0, over = 0, taken = 0;

	svc_limits_defaults(&lim);
	gen_seed(7);
	for (u = 0; u < USERS; u++) {
		gen_user(u, ubody, sizeof(ubody) - 64);
		/* the same user_id in both stores */
		snprintf(id[u], sizeof(id[u]), "auth0|p%d", u);
		snprintf(ubody + strlen(ubody) - 1, 64, ",\"user_id\":\"p%d\"}", u);
		body = parse_body(ubody);
		cr_assert_eq(svc_user_create(da.st, NULL, body, &out, &e1), MK_OK, "%s", e1.msg);
		cr_assert_eq(svc_user_create(db.st, NULL, body, &out, &e2), MK_OK, "%s", e2.msg);
		json_object_put(body);
	}
	buf_free(&out);
	for (i = 0; i < STEPS; i++) {
		u = (int)gen_rnd(USERS);
		body_text(&b, i);
		if (strcmp(b.p, "{}") == 0)
			continue;   /* svc's callers refuse it before (api) */
		/* half the steps under a small record limit */
		lim.max_user_bytes = i % 2 ? 760 : 1024 * 1024;
		r1 = patch_on(db.st, &lim, 1, id[u], b.p, &a1, &e1);
		r2 = patch_on(da.st, &lim, 0, id[u], b.p, &a2, &e2);
		cr_assert_eq(r2, r1, "step %d %s: %s / %s", i, b.p, e1.msg, e2.msg);
		if (r1 == MK_OK) {
			cr_assert_str_eq(a2, a1, "step %d %s", i, b.p);
			ok++;
		} else {
			cr_assert_str_eq(e2.msg, e1.msg, "step %d %s", i, b.p);
			over += strstr(e1.msg, "over the limit") != NULL;
			taken += r1 == MK_ERR_EXISTS;
		}
		free(a1);
		free(a2);
	}
	cr_log_info("svc: %d applied, %d over the limit, %d email taken", ok, over, taken);
	cr_expect_gt(ok, STEPS / 4, "%d applied", ok);
	cr_expect_gt(over, 0, "no PATCH went over max_user_bytes");
	cr_expect_gt(taken, 0, "no PATCH took another user's email");
	index_exact(da.st);
	index_exact(db.st);
	free(b.p);
}
