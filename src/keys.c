/*
 * keys: the token signing keys in the store (see keys.h).
 *
 * A record is small JSON written by this file only; it is read back with
 * jx_parse_stored.  Generating a key takes tens of milliseconds, so it
 * happens before the write transaction that stores it, never inside one.
 */
#include "keys.h"

#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "jwt.h"
#include "jx.h"
#include "log.h"
#include "util.h"

#define KEYS_CACHE 4
#define KEYS_REC_MAX 8192

/* A stored key record, parsed; pem points into the parsed object. */
struct keyrec {
	char kid[KEYS_KID_LEN + 1];
	int64_t created, retired;
	const char *pem;
	size_t pemlen;
};

/* Get an int64 member; 0 when absent or not a number. */
static int64_t
get_i64(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

/* Parse rec into kr; *obj owns the strings kr points to.  0, or -1. */
static int
keyrec_parse(struct mk_slice rec, struct keyrec *kr, struct json_object **obj)
{
	struct json_object *o = NULL;
	const char *kid, *pem;

	if (rec.n > KEYS_REC_MAX || jx_parse_stored(rec.p, rec.n, &o) != MK_OK || o == NULL)
		return -1;
	if ((kid = jx_get_str(o, "kid")) == NULL || strlen(kid) != KEYS_KID_LEN ||
	    (pem = jx_get_str(o, "pem")) == NULL) {
		json_object_put(o);
		return -1;
	}
	memcpy(kr->kid, kid, KEYS_KID_LEN + 1);
	kr->created = get_i64(o, "created");
	kr->retired = get_i64(o, "retired");
	kr->pem = pem;
	kr->pemlen = strlen(pem);
	*obj = o;
	return 0;
}

/*
 * The JSON text of a key record into out.  0, or -1 (memory).  Six
 * parameters: pem and pemlen are one byte range.
 */
static int
keyrec_build(const char *kid, int64_t created, int64_t retired, const char *pem,
    size_t pemlen, struct mk_buf *out)
{
	struct json_object *o;
	int rc = -1;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	if (json_object_object_add(o, "kid", json_object_new_string(kid)) != 0 ||
	    json_object_object_add(o, "created", json_object_new_int64(created)) != 0 ||
	    json_object_object_add(o, "retired", json_object_new_int64(retired)) != 0 ||
	    json_object_object_add(o, "pem", json_object_new_string_len(pem, (int)pemlen)) != 0)
		goto out;
	rc = jx_append(out, o);
out:
	json_object_put(o);
	return rc;
}

/* ---- the per-process cache of parsed keys ---- */

struct keys_slot {
	EVP_PKEY *k;
	char kid[KEYS_KID_LEN + 1];
	size_t reclen;
	char *rec;               /* malloc'd copy of the record it came from */
};

static struct keys_slot keys_cache[KEYS_CACHE];
static unsigned int keys_next;

/* The parsed key of record rec (kid kr->kid), from the cache or parsed now. */
static EVP_PKEY *
keys_cached(struct mk_slice rec, const struct keyrec *kr)
{
	struct keys_slot *c;
	EVP_PKEY *k;
	char *copy;
	size_t i;

	for (i = 0; i < KEYS_CACHE; i++) {
		c = &keys_cache[i];
		if (c->k != NULL && c->reclen == rec.n && memcmp(c->rec, rec.p, rec.n) == 0)
			return c->k;
	}
	if ((k = jwt_key_from_pem(kr->pem, kr->pemlen)) == NULL) {
		log_warnx("signing key %s: the stored key does not parse", kr->kid);
		return NULL;
	}
	if ((copy = malloc(rec.n)) == NULL) {
		EVP_PKEY_free(k);
		return NULL;
	}
	memcpy(copy, rec.p, rec.n);
	c = &keys_cache[keys_next++ % KEYS_CACHE];
	EVP_PKEY_free(c->k);
	free(c->rec);
	c->k = k;
	c->rec = copy;
	c->reclen = rec.n;
	memcpy(c->kid, kr->kid, sizeof(c->kid));
	return k;
}

/* ---- reading ---- */

struct find_active {
	struct keyrec kr;
	struct mk_slice rec;
	int found, bad;
};

static int
find_active_visit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct find_active *f = ctx;
	struct json_object *o = NULL;
	struct keyrec kr;

	(void)key;
	if (keyrec_parse(rec, &kr, &o) != 0) {
		f->bad = 1;
		return 0;
	}
	/* The newest active key, should a crash ever leave two. */
	if (kr.retired == 0 && (!f->found || kr.created > f->kr.created)) {
		f->kr = kr;
		f->kr.pem = NULL;
		f->rec = rec;
		f->found = 1;
	}
	json_object_put(o);
	return 0;
}

enum mk_code
keys_active(struct store_txn *t, EVP_PKEY **k, char *kid)
{
	struct find_active f;
	struct json_object *o = NULL;
	struct keyrec kr;
	enum mk_code rc;

	memset(&f, 0, sizeof(f));
	if ((rc = store_table_scan(t, ST_KEYS, find_active_visit, &f)) != MK_OK)
		return rc;
	if (f.bad)
		log_warnx("signing keys: a damaged record was passed over");
	if (!f.found)
		return MK_ERR_NOTFOUND;
	if (keyrec_parse(f.rec, &kr, &o) != 0)
		return MK_ERR_INTERNAL;
	*k = keys_cached(f.rec, &kr);
	json_object_put(o);
	if (*k == NULL)
		return MK_ERR_INTERNAL;
	memcpy(kid, kr.kid, KEYS_KID_LEN + 1);
	return MK_OK;
}

enum mk_code
keys_find(struct store_txn *t, const char *kid, EVP_PKEY **k)
{
	struct json_object *o = NULL;
	struct mk_slice rec, key;
	struct keyrec kr;
	enum mk_code rc;

	key.p = kid;
	key.n = strlen(kid);
	if ((rc = store_get(t, ST_KEYS, key, &rec)) != MK_OK)
		return rc;
	if (keyrec_parse(rec, &kr, &o) != 0) {
		log_warnx("signing key %.24s: damaged record", kid);
		return MK_ERR_INTERNAL;
	}
	*k = keys_cached(rec, &kr);
	json_object_put(o);
	return *k != NULL ? MK_OK : MK_ERR_INTERNAL;
}

struct jwks_ctx {
	struct json_object *arr;
	int active_first;
	int failed;
};

static int
jwks_visit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct jwks_ctx *j = ctx;
	struct json_object *o = NULL, *jwk;
	struct keyrec kr;
	EVP_PKEY *k;

	(void)key;
	if (keyrec_parse(rec, &kr, &o) != 0)
		return 0;
	/* Two passes: the active key, then the retired ones. */
	if ((kr.retired == 0) != j->active_first) {
		json_object_put(o);
		return 0;
	}
	k = keys_cached(rec, &kr);
	if (k == NULL || (jwk = jwt_jwk(k, kr.kid)) == NULL ||
	    json_object_array_add(j->arr, jwk) != 0)
		j->failed = 1;
	json_object_put(o);
	return j->failed;
}

enum mk_code
keys_jwks(struct store_txn *t, struct mk_buf *out)
{
	struct jwks_ctx j = { NULL, 1, 0 };
	struct json_object *o = NULL;
	enum mk_code rc = MK_ERR_NOMEM;

	if ((o = json_object_new_object()) == NULL || (j.arr = json_object_new_array()) == NULL ||
	    json_object_object_add(o, "keys", j.arr) != 0) {
		json_object_put(j.arr);
		goto out;
	}
	if ((rc = store_table_scan(t, ST_KEYS, jwks_visit, &j)) != MK_OK)
		goto out;
	j.active_first = 0;
	if ((rc = store_table_scan(t, ST_KEYS, jwks_visit, &j)) != MK_OK)
		goto out;
	rc = !j.failed && jx_append(out, o) == 0 ? MK_OK : MK_ERR_INTERNAL;
out:
	json_object_put(o);
	return rc;
}

struct list_ctx {
	keys_visit_fn fn;
	void *ctx;
};

static int
list_visit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct list_ctx *l = ctx;
	struct json_object *o = NULL;
	struct keys_info ki;
	struct keyrec kr;
	int r;

	(void)key;
	if (keyrec_parse(rec, &kr, &o) != 0)
		return 0;
	memcpy(ki.kid, kr.kid, sizeof(ki.kid));
	ki.created_ms = kr.created;
	ki.retired_ms = kr.retired;
	json_object_put(o);
	r = l->fn(l->ctx, &ki);
	return r;
}

enum mk_code
keys_list(struct store_txn *t, keys_visit_fn fn, void *ctx)
{
	struct list_ctx l = { fn, ctx };

	return store_table_scan(t, ST_KEYS, list_visit, &l);
}

/* ---- writing ---- */

struct write_ctx {
	int rotate;              /* 0: only when no key is active */
	int64_t now, keep_ms;
	const char *kid;
	struct mk_slice rec;     /* the new key's record */
	int stored;
	size_t removed;
};

struct collect {
	struct mk_buf keys;      /* kid '\0' action: 'r' retire, 'd' delete */
	int active;
	int64_t now, keep_ms;
};

static int
collect_visit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct collect *c = ctx;
	struct json_object *o = NULL;
	struct keyrec kr;
	char act = 0;

	if (keyrec_parse(rec, &kr, &o) != 0)
		return 0;
	if (kr.retired == 0) {
		c->active = 1;
		act = 'r';
	} else if (kr.retired + c->keep_ms <= c->now)
		act = 'd';
	json_object_put(o);
	if (act != 0 && key.n == KEYS_KID_LEN) {
		buf_add(&c->keys, key.p, key.n);
		buf_addc(&c->keys, act);
	}
	return 0;
}

/* Retire the key kid (its record rewritten with retired = now). */
static enum mk_code
retire(struct store_txn *t, struct mk_slice key, int64_t now)
{
	struct json_object *o = NULL;
	struct mk_slice rec;
	struct mk_buf b = { 0 };
	struct keyrec kr;
	enum mk_code rc;

	if ((rc = store_get(t, ST_KEYS, key, &rec)) != MK_OK)
		return rc;
	if (keyrec_parse(rec, &kr, &o) != 0)
		return MK_ERR_INTERNAL;
	if (keyrec_build(kr.kid, kr.created, now, kr.pem, kr.pemlen, &b) != 0)
		rc = MK_ERR_NOMEM;
	else
		rc = store_put(t, ST_KEYS, key, (struct mk_slice){ b.p, b.n });
	json_object_put(o);
	buf_free(&b);
	return rc;
}

static enum mk_code
write_tx(struct store_txn *t, void *vctx, struct mk_err *err)
{
	struct write_ctx *w = vctx;
	struct collect c;
	struct mk_slice key;
	size_t i;
	enum mk_code rc;

	memset(&c, 0, sizeof(c));
	c.now = w->now;
	c.keep_ms = w->keep_ms;
	if ((rc = store_table_scan(t, ST_KEYS, collect_visit, &c)) != MK_OK)
		goto out;
	rc = MK_OK;
	if (!w->rotate && c.active)
		goto out;   /* another process made one meanwhile */
	if (c.keys.failed) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i + KEYS_KID_LEN + 1 <= c.keys.n; i += KEYS_KID_LEN + 1) {
		key.p = c.keys.p + i;
		key.n = KEYS_KID_LEN;
		if (c.keys.p[i + KEYS_KID_LEN] == 'r')
			rc = retire(t, key, w->now);
		else if ((rc = store_del(t, ST_KEYS, key)) == MK_OK)
			w->removed++;
		if (rc != MK_OK) {
			mk_fail(err, rc, "signing keys: rotation failed");
			goto out;
		}
	}
	key.p = w->kid;
	key.n = KEYS_KID_LEN;
	if ((rc = store_put(t, ST_KEYS, key, w->rec)) != MK_OK) {
		mk_fail(err, rc, "signing keys: storing the new key failed");
		goto out;
	}
	w->stored = 1;
out:
	buf_free(&c.keys);
	return rc;
}

/*
 * Generate a key and store it (rotate: always; else only when none is
 * active).  Seven parameters: two settings in (rotate, keep_ms) and three
 * results out (kid_out, removed, made), for its two callers' reports.
 */
static enum mk_code
keys_write(struct store *s, int rotate, int64_t keep_ms, char *kid_out, size_t *removed,
    int *made, struct mk_err *err)
{
	struct write_ctx w;
	struct mk_buf pem = { 0 }, rec = { 0 };
	char kid[KEYS_KID_LEN + 1];
	EVP_PKEY *k = NULL;
	enum mk_code rc = MK_ERR_INTERNAL;

	memset(&w, 0, sizeof(w));
	if (mk_random_chars(kid, KEYS_KID_LEN, MK_ALPHA_ALNUM) != 0) {
		mk_fail(err, rc, "no randomness for a key id");
		goto out;
	}
	if ((k = jwt_key_new()) == NULL || jwt_key_pem(k, &pem) != 0) {
		mk_fail(err, rc, "generating an RSA key failed");
		goto out;
	}
	w.now = mk_now_ms();
	if (keyrec_build(kid, w.now, 0, pem.p, pem.n, &rec) != 0) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	w.rotate = rotate;
	w.keep_ms = keep_ms;
	w.kid = kid;
	w.rec.p = rec.p;
	w.rec.n = rec.n;
	if ((rc = store_write(s, write_tx, &w, err)) != MK_OK)
		goto out;
	if (w.stored)
		log_info("signing key %s %s", kid, rotate ? "made active (rotation)" :
		    "generated (the first)");
	if (kid_out != NULL)
		memcpy(kid_out, kid, sizeof(kid));
	if (removed != NULL)
		*removed = w.removed;
	if (made != NULL)
		*made = w.stored;
out:
	OPENSSL_cleanse(pem.p, pem.n);
	OPENSSL_cleanse(rec.p, rec.n);
	buf_free(&pem);
	buf_free(&rec);
	EVP_PKEY_free(k);
	return rc;
}

enum mk_code
keys_ensure(struct store *s, int *made, struct mk_err *err)
{
	struct store_txn *t = NULL;
	EVP_PKEY *k;
	char kid[KEYS_KID_LEN + 1];
	enum mk_code rc;

	if (made != NULL)
		*made = 0;
	if ((rc = store_read_begin(s, &t)) != MK_OK)
		return mk_fail(err, rc, "read transaction failed");
	rc = keys_active(t, &k, kid);
	store_txn_end(t);
	if (rc == MK_OK)
		return MK_OK;
	if (rc != MK_ERR_NOTFOUND)
		return mk_fail(err, rc, "signing keys: the active key is damaged");
	return keys_write(s, 0, 0, NULL, NULL, made, err);
}

enum mk_code
keys_rotate(struct store *s, int64_t keep_ms, char *kid_out, size_t *removed,
    struct mk_err *err)
{
	return keys_write(s, 1, keep_ms, kid_out, removed, NULL, err);
}

struct clear_ctx {
	struct mk_buf kids;      /* KEYS_KID_LEN bytes each */
	size_t n;
};

static int
clear_visit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct clear_ctx *c = ctx;

	(void)rec;
	if (key.n == KEYS_KID_LEN)
		buf_add(&c->kids, key.p, key.n);
	return 0;
}

static enum mk_code
clear_tx(struct store_txn *t, void *vctx, struct mk_err *err)
{
	struct clear_ctx *c = vctx;
	struct mk_slice key;
	size_t i;
	enum mk_code rc;

	buf_reset(&c->kids);
	c->n = 0;
	if ((rc = store_table_scan(t, ST_KEYS, clear_visit, c)) != MK_OK)
		return mk_fail(err, rc, "signing keys: scan failed");
	if (c->kids.failed)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	for (i = 0; i + KEYS_KID_LEN <= c->kids.n; i += KEYS_KID_LEN) {
		key.p = c->kids.p + i;
		key.n = KEYS_KID_LEN;
		if ((rc = store_del(t, ST_KEYS, key)) != MK_OK)
			return mk_fail(err, rc, "signing keys: delete failed");
		c->n++;
	}
	return MK_OK;
}

enum mk_code
keys_clear(struct store *s, size_t *n, struct mk_err *err)
{
	struct clear_ctx c;
	enum mk_code rc;

	memset(&c, 0, sizeof(c));
	rc = store_write(s, clear_tx, &c, err);
	if (rc == MK_OK && n != NULL)
		*n = c.n;
	buf_free(&c.kids);
	return rc;
}
