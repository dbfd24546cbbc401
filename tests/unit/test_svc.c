/*
 * test_svc: the write verbs of svc against a real LMDB store, below HTTP:
 * create, PATCH with the metadata merge, the version precondition (what
 * If-Match becomes), delete, listing what was written, and concurrent
 * read-modify-write: several processes, each with its own store handle on
 * one environment, PATCH different root keys of one user and every key is
 * there at the end.
 *
 * Child processes never use Criterion asserts: they report through their
 * exit status, and each bounds itself with alarm().
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "jx.h"
#include "store.h"
#include "svc.h"

#define CONC_PROCS   4    /* writers */
#define CONC_PATCHES 25   /* PATCHes per writer */
#define CONC_SECONDS 60   /* a writer that takes longer is stuck */

static struct th_db db;
static struct svc_limits lim;

static void
setup(void)
{
	th_db_open(&db, "test-svc", 64u << 20, TH_RELAXED);
	svc_limits_defaults(&lim);
}

static void
teardown(void)
{
	th_db_close(&db);
}

TestSuite(svc, .init = setup, .fini = teardown, .timeout = 120);

/* Parse text (a test's own JSON); owned. */
static struct json_object *
json(const char *text)
{
	struct json_object *o = NULL;
	struct mk_err err;

	cr_assert_eq(jx_parse(text, strlen(text), 64, &o, &err), MK_OK, "%s: %s", text,
	    err.msg);
	return o;
}

/* The member key of o is the JSON text want (compared as values). */
static int
member_is(struct json_object *o, const char *key, const char *want)
{
	struct json_object *v = NULL, *w = json(want);
	int eq;

	if (!json_object_object_get_ex(o, key, &v))
		v = NULL;
	eq = json_object_equal(v, w);
	json_object_put(w);
	return eq;
}

/* The stored record of user id, owned text; NULL when there is none. */
static char *
stored_in(enum store_table tab, const char *id)
{
	struct store_txn *t;
	struct mk_slice key = { id, strlen(id) }, rec;
	enum mk_code rc;
	char *copy = NULL;

	cr_assert_eq(store_read_begin(db.st, &t), MK_OK);
	rc = store_get(t, tab, key, &rec);
	if (rc == MK_OK) {
		copy = strndup(rec.p, rec.n);
		cr_assert_not_null(copy);
	} else
		cr_assert_eq(rc, MK_ERR_NOTFOUND);
	store_txn_end(t);
	return copy;
}

static char *
stored(const char *id)
{
	return stored_in(ST_USERS, id);
}

/* Create a user from body; returns its user_id (owned). */
static char *
create(const char *body)
{
	struct json_object *b = json(body), *u;
	struct mk_buf out = MK_BUF_INIT;
	struct mk_err err;
	char *id;

	memset(&err, 0, sizeof(err));
	cr_assert_eq(svc_user_create(db.st, &lim, b, &out, &err), MK_OK, "%s", err.msg);
	u = json(out.p);
	cr_assert_not_null(jx_get_str(u, "user_id"), "%s", out.p);
	id = strdup(jx_get_str(u, "user_id"));
	cr_assert_not_null(id);
	json_object_put(u);
	json_object_put(b);
	buf_free(&out);
	return id;
}

/* PATCH user id with body under pre (may be NULL); the answer's code. */
static enum mk_code
patch(const char *id, const struct svc_precond *pre, const char *body,
    struct json_object **result)
{
	struct json_object *b = json(body);
	struct mk_buf out = MK_BUF_INIT;
	struct mk_err err;
	enum mk_code rc;

	memset(&err, 0, sizeof(err));
	rc = svc_user_patch(db.st, &lim, id, pre, b, &out, &err);
	if (rc == MK_OK && result != NULL)
		*result = json(out.p);
	json_object_put(b);
	buf_free(&out);
	return rc;
}

#define USER_BODY "{\"email\":\"%s\",\"connection\":\"Username-Password-Authentication\"%s}"

static char *
mkuser(const char *email, const char *extra)
{
	char body[1024];

	snprintf(body, sizeof(body), USER_BODY, email, extra ? extra : "");
	return create(body);
}

Test(svc, create_stores_what_it_answers)
{
	struct json_object *b = json("{\"email\":\"Jane.Doe@Example.com\",\"connection\":"
	    "\"Username-Password-Authentication\",\"password\":\"s3cret!pw\","
	    "\"user_metadata\":{\"hobby\":\"surfing\"},\"app_metadata\":{\"plan\":\"full\"}}");
	struct json_object *u;
	struct mk_buf out = MK_BUF_INIT;
	struct mk_err err;
	char *rec;

	cr_assert_eq(svc_user_create(db.st, &lim, b, &out, &err), MK_OK, "%s", err.msg);
	cr_assert(!json_object_object_get_ex(b, "password", NULL), "svc took the password out");
	u = json(out.p);
	cr_assert_str_eq(jx_get_str(u, "email"), "jane.doe@example.com");
	cr_assert_eq(strncmp(jx_get_str(u, "user_id"), "auth0|", 6), 0, "%s", out.p);
	cr_assert(member_is(u, "user_metadata", "{\"hobby\":\"surfing\"}"), "%s", out.p);
	cr_assert(member_is(u, "app_metadata", "{\"plan\":\"full\"}"), "%s", out.p);
	cr_assert_null(strstr(out.p, "s3cret"), "the password is never in the record");
	/* The answer is the stored record, byte for byte. */
	rec = stored(jx_get_str(u, "user_id"));
	cr_assert_not_null(rec);
	cr_assert_str_eq(rec, out.p);
	free(rec);
	json_object_put(u);

	/* The same email in the same connection again: refused, nothing added. */
	buf_reset(&out);
	json_object_put(b);
	b = json("{\"email\":\"jane.doe@example.com\",\"connection\":"
	    "\"Username-Password-Authentication\"}");
	cr_assert_eq(svc_user_create(db.st, &lim, b, &out, &err), MK_ERR_EXISTS);
	cr_assert_str_eq(err.msg, "The user already exists.");
	json_object_put(b);
	buf_free(&out);
}

/* A password given on create or PATCH is kept as its crypt(3) hash, apart from the record. */
Test(svc, password_hash_stored_on_create_and_patch)
{
	char *id, *h1, *h2, *rec;

	id = mkuser("pw@example.com", ",\"password\":\"s3cret!pw\"");
	h1 = stored_in(ST_PWHASH, id);
	cr_assert_not_null(h1, "create stored no password hash");
	cr_assert_eq(h1[0], '$', "not a crypt(3) hash: %s", h1);
	cr_assert_null(strstr(h1, "s3cret"));
	cr_assert_eq(patch(id, NULL, "{\"password\":\"0ther!secret\","
	    "\"connection\":\"Username-Password-Authentication\"}", NULL), MK_OK);
	h2 = stored_in(ST_PWHASH, id);
	cr_assert_not_null(h2);
	cr_assert_str_neq(h2, h1, "the PATCH did not replace the hash");
	rec = stored(id);
	cr_assert_null(strstr(rec, "0ther"), "the password is never in the record");
	free(rec);
	free(h1);
	free(h2);
	free(id);
}

Test(svc, create_refuses_bad_bodies_and_writes_nothing)
{
	static const struct {
		const char *body, *msg;   /* msg: the start of err.msg */
	} bad[] = {
		{ "{\"connection\":\"Username-Password-Authentication\",\"email\":\"x\"}",
		    "Payload validation error: 'Object didn't pass validation for format "
		    "email: x' on property email" },
		{ "{\"email\":\"a@b.c\",\"connection\":\"Username-Password-Authentication\","
		    "\"user_metadata\":{\"$set\":1}}",
		    "Fields with \"$\" are not allowed" },
		{ "{\"email\":\"a@b.c\",\"connection\":\"Username-Password-Authentication\","
		    "\"app_metadata\":{\"clientID\":\"x\"}}",
		    "Payload validation error: 'Reserved field name not allowed: clientID'" },
		{ "{\"email\":\"a@b.c\",\"connection\":\"Username-Password-Authentication\","
		    "\"nope\":1}",
		    "Payload validation error: 'Additional properties not allowed: nope'" },
	};
	struct mk_buf out = MK_BUF_INIT;
	struct store_txn *t;
	struct mk_err err;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_object *b = json(bad[i].body);

		buf_reset(&out);
		cr_assert_eq(svc_user_create(db.st, &lim, b, &out, &err), MK_ERR_INVALID,
		    "%s", bad[i].body);
		cr_assert_eq(strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)), 0,
		    "got \"%s\", want \"%s...\"", err.msg, bad[i].msg);
		json_object_put(b);
	}
	buf_free(&out);
	cr_assert_eq(store_read_begin(db.st, &t), MK_OK);
	cr_assert_eq(store_count(t, ST_USERS, &n), MK_OK);
	store_txn_end(t);
	cr_assert_eq(n, 0);
}

Test(svc, patch_merges_root_keys_only)
{
	char *id = mkuser("merge@example.com", ",\"user_metadata\":{\"hobby\":\"surfing\","
	    "\"addresses\":{\"home\":{\"street\":\"1 Main St\",\"city\":\"Anytown\"}}},"
	    "\"app_metadata\":{\"plan\":\"full\"}");
	struct json_object *u = NULL;
	char *rec, *after;

	/* Root keys merge; below the root the value is replaced whole. */
	cr_assert_eq(patch(id, NULL, "{\"user_metadata\":{\"addresses\":{\"work\":"
	    "{\"street\":\"2 Office Park\"}},\"lang\":\"fr\"}}", &u), MK_OK);
	cr_assert(member_is(u, "user_metadata", "{\"hobby\":\"surfing\",\"addresses\":"
	    "{\"work\":{\"street\":\"2 Office Park\"}},\"lang\":\"fr\"}"),
	    "%s", json_object_to_json_string(u));
	cr_assert(member_is(u, "app_metadata", "{\"plan\":\"full\"}"));
	json_object_put(u);

	/* null deletes a key; {} deletes the whole object. */
	cr_assert_eq(patch(id, NULL, "{\"user_metadata\":{\"hobby\":null}}", &u), MK_OK);
	cr_assert(member_is(u, "user_metadata", "{\"addresses\":{\"work\":"
	    "{\"street\":\"2 Office Park\"}},\"lang\":\"fr\"}"));
	json_object_put(u);
	cr_assert_eq(patch(id, NULL, "{\"app_metadata\":{}}", &u), MK_OK);
	cr_assert(!json_object_object_get_ex(u, "app_metadata", NULL));
	json_object_put(u);

	/* The store holds the last answer. */
	rec = stored(id);
	u = json(rec);
	cr_assert(member_is(u, "user_metadata", "{\"addresses\":{\"work\":"
	    "{\"street\":\"2 Office Park\"}},\"lang\":\"fr\"}"));
	cr_assert(!json_object_object_get_ex(u, "app_metadata", NULL));
	json_object_put(u);
	free(rec);

	/* A bad PATCH changes nothing; a PATCH of nobody is NOTFOUND. */
	rec = stored(id);
	cr_assert_eq(patch(id, NULL, "{\"user_metadata\":{\"a\":{\"$b\":1}}}", NULL),
	    MK_ERR_INVALID);
	after = stored(id);
	cr_assert_str_eq(after, rec, "a refused PATCH left the record as it was");
	free(after);
	free(rec);
	cr_assert_eq(patch("auth0|nobody", NULL, "{\"user_metadata\":{\"a\":1}}", NULL),
	    MK_ERR_NOTFOUND);
	free(id);
}

Test(svc, precondition_is_checked_inside_the_write)
{
	char *id = mkuser("pre@example.com", ",\"user_metadata\":{\"v\":1}");
	char *before = stored(id), *after, version[SVC_VERSION_SIZE];
	struct mk_slice tags[2];
	struct svc_precond pre;
	struct json_object *u = NULL;

	svc_version(before, strlen(before), version);
	cr_assert_eq(strlen(version), SVC_VERSION_LEN);

	/* Another version: 412, nothing written. */
	memset(&pre, 0, sizeof(pre));
	tags[0].p = "00000000000000000000000000000000";
	tags[0].n = SVC_VERSION_LEN;
	pre.versions = tags;
	pre.n = 1;
	cr_assert_eq(patch(id, &pre, "{\"user_metadata\":{\"v\":2}}", NULL), MK_ERR_PRECOND);
	after = stored(id);
	cr_assert_str_eq(after, before, "a failed precondition writes nothing");
	free(after);
	/* An empty list never holds. */
	pre.n = 0;
	cr_assert_eq(patch(id, &pre, "{\"user_metadata\":{\"v\":2}}", NULL), MK_ERR_PRECOND);

	/* The current version among others: the PATCH goes through. */
	tags[1].p = version;
	tags[1].n = SVC_VERSION_LEN;
	pre.n = 2;
	cr_assert_eq(patch(id, &pre, "{\"user_metadata\":{\"v\":2}}", &u), MK_OK);
	cr_assert(member_is(u, "user_metadata", "{\"v\":2}"));
	json_object_put(u);
	/* ... and that version is now stale. */
	cr_assert_eq(patch(id, &pre, "{\"user_metadata\":{\"v\":3}}", NULL), MK_ERR_PRECOND);

	/* "*": any existing record. */
	memset(&pre, 0, sizeof(pre));
	pre.any = 1;
	cr_assert_eq(patch(id, &pre, "{\"user_metadata\":{\"v\":4}}", NULL), MK_OK);
	cr_assert_eq(patch("auth0|nobody", &pre, "{\"user_metadata\":{\"v\":4}}", NULL),
	    MK_ERR_NOTFOUND);
	free(before);
	free(id);
}

Test(svc, delete_is_idempotent_and_honours_the_precondition)
{
	char *id = mkuser("del@example.com", NULL), *rec;
	struct svc_precond pre;
	struct mk_slice tag = { "00000000000000000000000000000000", SVC_VERSION_LEN };
	struct mk_err err;

	memset(&pre, 0, sizeof(pre));
	pre.versions = &tag;
	pre.n = 1;
	cr_assert_eq(svc_user_delete(db.st, id, &pre, &err), MK_ERR_PRECOND);
	rec = stored(id);
	cr_assert_not_null(rec, "still there after a failed precondition");
	free(rec);

	cr_assert_eq(svc_user_delete(db.st, id, NULL, &err), MK_OK, "%s", err.msg);
	cr_assert_null(stored(id));
	/* Gone already: still MK_OK (Auth0 answers 204), but not with a precondition. */
	cr_assert_eq(svc_user_delete(db.st, id, NULL, &err), MK_OK);
	pre.any = 1;
	cr_assert_eq(svc_user_delete(db.st, id, &pre, &err), MK_ERR_PRECOND);
	/* The email is free again. */
	free(id);
	id = mkuser("del@example.com", NULL);
	free(id);
}

/* Collects user_id of each visited user, comma separated. */
struct ids {
	char s[1024];
};

static int
collect(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct ids *c = ctx;
	size_t len = strlen(c->s);

	(void)rec;
	snprintf(c->s + len, sizeof(c->s) - len, "%s%.*s", len ? "," : "", (int)key.n, key.p);
	return 0;
}

Test(svc, list_sees_every_verb)
{
	char *a = mkuser("a@example.com", NULL), *b = mkuser("c@example.com", NULL);
	char *c = mkuser("b@example.com", NULL), want[512];
	struct store_page by_email = { STORE_BY_EMAIL, 0, 0, 0 };
	struct store_txn *t;
	struct mk_err err;
	struct ids got;

	memset(&got, 0, sizeof(got));
	cr_assert_eq(store_read_begin(db.st, &t), MK_OK);
	cr_assert_eq(store_users_scan(t, &by_email, collect, &got), MK_OK);
	store_txn_end(t);
	snprintf(want, sizeof(want), "%s,%s,%s", a, c, b);
	cr_assert_str_eq(got.s, want);

	/* A PATCH of the email moves the user in the email order. */
	cr_assert_eq(patch(a, NULL, "{\"email\":\"d@example.com\"}", NULL), MK_OK);
	cr_assert_eq(svc_user_delete(db.st, c, NULL, &err), MK_OK);
	memset(&got, 0, sizeof(got));
	cr_assert_eq(store_read_begin(db.st, &t), MK_OK);
	cr_assert_eq(store_users_scan(t, &by_email, collect, &got), MK_OK);
	store_txn_end(t);
	snprintf(want, sizeof(want), "%s,%s", b, a);
	cr_assert_str_eq(got.s, want);
	free(a);
	free(b);
	free(c);
}

Test(svc, client_patch_merges_and_checks_values)
{
	struct json_object *b = json("{\"name\":\"My App\",\"client_metadata\":"
	    "{\"mycolor\":\"red\",\"myflavor\":\"grape\"}}"), *c;
	struct mk_buf out = MK_BUF_INIT;
	struct mk_err err;
	char *id;

	cr_assert_eq(svc_client_create(db.st, &lim, b, &out, &err), MK_OK, "%s", err.msg);
	json_object_put(b);
	c = json(out.p);
	id = strdup(jx_get_str(c, "client_id"));
	json_object_put(c);

	b = json("{\"client_metadata\":{\"mycolor\":\"blue\",\"myflavor\":null}}");
	buf_reset(&out);
	cr_assert_eq(svc_client_patch(db.st, &lim, id, NULL, b, &out, &err), MK_OK, "%s", err.msg);
	json_object_put(b);
	c = json(out.p);
	cr_assert(member_is(c, "client_metadata", "{\"mycolor\":\"blue\"}"), "%s", out.p);
	json_object_put(c);

	/* client_metadata values are strings only. */
	b = json("{\"client_metadata\":{\"n\":5}}");
	buf_reset(&out);
	cr_assert_eq(svc_client_patch(db.st, &lim, id, NULL, b, &out, &err), MK_ERR_INVALID);
	json_object_put(b);
	cr_assert_eq(svc_client_delete(db.st, id, NULL, &err), MK_OK);
	b = json("{\"name\":\"x\"}");
	cr_assert_eq(svc_client_patch(db.st, &lim, id, NULL, b, &out, &err), MK_ERR_NOTFOUND);
	json_object_put(b);
	buf_free(&out);
	free(id);
}

/*
 * One writer (a child process): its own store handle on the environment
 * (LMDB: open after fork), CONC_PATCHES PATCHes of root key "wN" of user
 * id, each one a read-modify-write inside svc.  Exit status 0 when every
 * PATCH succeeded.
 */
static int
writer(int n, const char *id)
{
	struct svc_limits l;
	struct store *s;
	struct store_opts o;
	struct mk_err err;
	char body[128];
	int i, bad = 0;

	alarm(CONC_SECONDS);
	svc_limits_defaults(&l);
	memset(&o, 0, sizeof(o));
	o.dir = db.dir;
	o.map_size = 64u << 20;
	o.relaxed_sync = 1;
	if (store_open(&o, &s, &err) != MK_OK)
		return 2;
	for (i = 1; i <= CONC_PATCHES; i++) {
		struct json_object *b = NULL;
		struct mk_buf out = MK_BUF_INIT;

		snprintf(body, sizeof(body), "{\"user_metadata\":{\"w%d\":%d}}", n, i);
		if (jx_parse(body, strlen(body), 8, &b, &err) != MK_OK ||
		    svc_user_patch(s, &l, id, NULL, b, &out, &err) != MK_OK)
			bad++;
		json_object_put(b);
		buf_free(&out);
	}
	store_close(s);
	return bad == 0 ? 0 : 1;
}

Test(svc, concurrent_patches_from_processes_keep_every_key)
{
	char *id = mkuser("conc@example.com", ",\"user_metadata\":{\"base\":true}");
	pid_t pids[CONC_PROCS];
	struct json_object *u, *md, *v;
	char *rec, key[16];
	int i, status;

	/* LMDB: no environment open across fork(); each writer opens its own. */
	store_close(db.st);
	db.st = NULL;
	for (i = 0; i < CONC_PROCS; i++) {
		pids[i] = fork();
		cr_assert_neq(pids[i], -1);
		if (pids[i] == 0)
			_exit(writer(i, id));
	}
	for (i = 0; i < CONC_PROCS; i++) {
		while (waitpid(pids[i], &status, 0) == -1)
			;
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "writer %d: status %#x", i, status);
	}
	db.st = th_store_open(db.dir, 64u << 20, TH_RELAXED);
	rec = stored(id);
	u = json(rec);
	cr_assert(json_object_object_get_ex(u, "user_metadata", &md), "%s", rec);
	cr_assert_eq(json_object_object_length(md), CONC_PROCS + 1, "%s", rec);
	cr_assert(json_object_object_get_ex(md, "base", NULL), "%s", rec);
	for (i = 0; i < CONC_PROCS; i++) {
		snprintf(key, sizeof(key), "w%d", i);
		cr_assert(json_object_object_get_ex(md, key, &v), "%s lost: %s", key, rec);
		cr_assert_eq(json_object_get_int(v), CONC_PATCHES, "%s: %s", key, rec);
	}
	json_object_put(u);
	free(rec);
	free(id);
}

/* Damage done to the order indexes inside one write (store_write's fn). */
static enum mk_code
break_indexes(struct store_txn *t, void *ctx, struct mk_err *err)
{
	static const struct store_user_keys ghost = {
		"auth0|ghost", "ghost@example.com", "Username-Password-Authentication",
		"2030-01-01T00:00:00.000Z", "2030-01-01T00:00:00.000Z",
	};
	/* Deleted under other keys: its entries stay, for a number of nobody's. */
	static const struct store_user_keys ghost_gone = {
		"auth0|ghost", "gone@example.com", "Username-Password-Authentication",
		"1999-01-01T00:00:00.000Z", "1999-01-01T00:00:00.000Z",
	};
	static const struct store_user_keys junk = {
		"auth0|junk", "junk@example.com", "Username-Password-Authentication",
		"2001-01-01T00:00:00.000Z", "2001-01-01T00:00:00.000Z",
	};
	static const char junk_rec[] = "{\"email\":";
	struct mk_slice rec = { junk_rec, sizeof(junk_rec) - 1 };
	enum mk_code rc;

	(void)ctx;
	(void)err;
	/* Every users_email entry gone, a stray entry for nobody, a record that
	 * does not parse (with its entries), the client's entry gone. */
	if ((rc = store_index_clear(t, STORE_IX_USERS_EMAIL)) != MK_OK ||
	    (rc = store_user_put(t, NULL, &ghost, rec)) != MK_OK ||
	    (rc = store_user_del(t, &ghost_gone)) != MK_OK ||
	    (rc = store_user_put(t, NULL, &junk, rec)) != MK_OK)
		return rc;
	return store_index_clear(t, STORE_IX_CLIENTS_CREATED);
}

/* The number of entries of index ix. */
static size_t
index_count(enum store_index ix)
{
	struct store_txn *t;
	size_t n = 0;

	cr_assert_eq(store_read_begin(db.st, &t), MK_OK);
	cr_assert_eq(store_index_count(t, ix, &n), MK_OK);
	store_txn_end(t);
	return n;
}

/* svc_reindex writes the order indexes again from the records, and only from them. */
Test(svc, reindex_rebuilds_the_order_indexes)
{
	struct svc_reindex_counts n;
	struct json_object *b, *users[3];
	struct mk_buf out = MK_BUF_INIT;
	struct mk_err err;
	struct store_txn *t;
	struct mk_slice v;
	char *ids[3];
	size_t i;

	ids[0] = mkuser("one@example.com", NULL);
	ids[1] = mkuser("two@example.com", NULL);
	ids[2] = mkuser("three@example.com", ",\"app_metadata\":{\"plan\":\"full\"}");
	b = json("{\"name\":\"My App\"}");
	memset(&err, 0, sizeof(err));
	cr_assert_eq(svc_client_create(db.st, &lim, b, &out, &err), MK_OK, "%s", err.msg);
	json_object_put(b);
	cr_assert_eq(store_write(db.st, break_indexes, NULL, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(index_count(STORE_IX_USERS_EMAIL), 2, "ghost and junk only");
	cr_assert_eq(index_count(STORE_IX_CLIENTS_CREATED), 0);

	memset(&n, 0xff, sizeof(n));
	cr_assert_eq(svc_reindex(db.st, &n, &err), MK_OK, "%s", err.msg);
	cr_expect_eq(n.users, 3);
	cr_expect_eq(n.clients, 1);
	cr_expect_eq(n.skipped, 1, "the record that does not parse is left out");
	/* One entry per readable record in each index: the ghost's are gone. */
	cr_expect_eq(index_count(STORE_IX_USERS_EMAIL), 3);
	cr_expect_eq(index_count(STORE_IX_USERS_CREATED), 3);
	cr_expect_eq(index_count(STORE_IX_USERS_UPDATED), 3);
	cr_expect_eq(index_count(STORE_IX_CLIENTS_CREATED), 1);
	/* The records first: stored() has a read transaction of its own. */
	for (i = 0; i < 3; i++) {
		char *rec = stored(ids[i]);

		cr_assert_not_null(rec);
		users[i] = json(rec);
		free(rec);
	}
	cr_assert_eq(store_read_begin(db.st, &t), MK_OK);
	for (i = 0; i < 3; i++) {
		cr_expect_eq(store_index_get(t, STORE_IX_USERS_EMAIL,
		    jx_get_str(users[i], "email"), ids[i], &v), MK_OK,
		    "no users_email entry for %s", ids[i]);
		cr_expect_eq(store_index_get(t, STORE_IX_USERS_CREATED,
		    jx_get_str(users[i], "created_at"), ids[i], &v), MK_OK);
		json_object_put(users[i]);
		free(ids[i]);
	}
	cr_expect_eq(store_index_get(t, STORE_IX_USERS_CREATED, "2030-01-01T00:00:00.000Z",
	    "auth0|ghost", &v), MK_ERR_NOTFOUND, "the stray entry is gone");
	store_txn_end(t);
	buf_free(&out);
}
