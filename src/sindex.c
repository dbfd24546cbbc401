/*
 * sindex: the search index of users and the evaluation of searches (see
 * sindex.h).
 *
 * Id sets are sorted arrays of slices borrowed from the read transaction's
 * map (LMDB hands out pointers into it), so evaluating a query copies no
 * ids.  Their order is LMDB's duplicate order: memcmp, then shorter first.
 */
#include "sindex.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jx.h"
#include "log.h"
#include "util.h"

#define REBUILD_BATCH    5000     /* users per rebuild transaction */
#define CHECK_NAMED      20       /* problems named one by one */

size_t sindex_sort_in_memory = 2048;

/* ---- term keys ---- */

size_t
sindex_term_key(const struct query_term *term, char *out, int *hashed)
{
	const char *path = term->path, *val = term->val;
	size_t plen = term->plen, vlen = term->vlen, n = plen + 2 + vlen;
	char tag = term->tag;
	unsigned char tmp[2];
	uint64_t h1, h2;

	if (n <= STORE_SEARCH_KEYMAX) {
		memcpy(out, path, plen);
		out[plen] = '\0';
		out[plen + 1] = tag;
		if (vlen > 0)
			memcpy(out + plen + 2, val, vlen);
		if (hashed != NULL)
			*hashed = 0;
		return n;
	}
	/* Two FNV-1a runs from different bases: collisions are verified anyway. */
	tmp[0] = '\0';
	tmp[1] = (unsigned char)tag;
	h1 = mk_fnv1a(path, plen, MK_FNV1A_INIT);
	h1 = mk_fnv1a(tmp, 2, h1);
	h1 = mk_fnv1a(val, vlen, h1);
	h2 = mk_fnv1a(val, vlen, 0x84222325cbf29ce4ULL);
	h2 = mk_fnv1a(tmp, 2, h2);
	h2 = mk_fnv1a(path, plen, h2);
	out[0] = '\001';
	out[1] = 'H';
	memcpy(out + 2, &h1, 8);
	memcpy(out + 10, &h2, 8);
	if (hashed != NULL)
		*hashed = 1;
	return 18;
}

static int
slice_cmp(const struct mk_slice *a, const struct mk_slice *b)
{
	size_t n = a->n < b->n ? a->n : b->n;
	int c = n > 0 ? memcmp(a->p, b->p, n) : 0;

	if (c != 0)
		return c;
	return a->n < b->n ? -1 : a->n > b->n;
}

static int
slice_qcmp(const void *a, const void *b)
{
	return slice_cmp(a, b);
}

/*
 * A user's keys are collected into one growing byte arena (offsets, since
 * it moves) and handed out as one block: the slice array followed by the
 * bytes, so a user costs a few allocations instead of one per key.
 */
struct keyent {
	size_t off, n;
};

struct keyset {
	struct keyent *v;
	size_t n, cap;
	char *a;              /* arena */
	size_t alen, acap;
	int failed;
	/* The last metadata leaf's path: its exists keys need not come again. */
	char prev[QUERY_PATH_MAX + 1];
	size_t prevlen;       /* 0: none */
};

static void
keyset_add(struct keyset *ks, const char *k, size_t n)
{
	struct keyent *nv;
	char *na;
	size_t cap;

	if (ks->failed)
		return;
	if (ks->n == ks->cap) {
		cap = ks->cap ? ks->cap * 2 : 64;
		if ((nv = realloc(ks->v, cap * sizeof(*nv))) == NULL) {
			ks->failed = 1;
			return;
		}
		ks->v = nv;
		ks->cap = cap;
	}
	if (ks->acap - ks->alen < n) {
		cap = ks->acap ? ks->acap * 2 : 2048;
		while (cap - ks->alen < n)
			cap *= 2;
		if ((na = realloc(ks->a, cap)) == NULL) {
			ks->failed = 1;
			return;
		}
		ks->a = na;
		ks->acap = cap;
	}
	memcpy(ks->a + ks->alen, k, n);
	ks->v[ks->n].off = ks->alen;
	ks->v[ks->n].n = n;
	ks->alen += n;
	ks->n++;
}

static int
collect_term(void *ctx, const struct query_term *t)
{
	struct keyset *ks = ctx;
	struct query_term e = { t->path, 0, t->profile, 'e', NULL, 0 };
	const char *path = t->path;
	size_t plen = t->plen, n, i;
	int profile = t->profile;
	char key[STORE_SEARCH_KEYMAX];

	n = sindex_term_key(t, key, NULL);
	keyset_add(ks, key, n);
	/*
	 * The field exists, and so does every object above it.  Sibling
	 * leaves share most of these; a prefix the previous leaf (metadata
	 * too) already gave, it gave with all shorter ones: stop there.  The
	 * sort still removes what this misses.
	 */
	for (i = plen; i > 0; i--) {
		if (i != plen && path[i] != '.')
			continue;
		if (!profile && ks->prevlen >= i && memcmp(ks->prev, path, i) == 0 &&
		    (ks->prevlen == i || ks->prev[i] == '.'))
			break;
		e.plen = i;
		n = sindex_term_key(&e, key, NULL);
		keyset_add(ks, key, n);
		if (profile)
			break;
	}
	ks->prevlen = 0;
	if (!profile && plen < sizeof(ks->prev)) {
		memcpy(ks->prev, path, plen);
		ks->prevlen = plen;
	}
	return ks->failed;
}

void
sindex_keys_free(struct mk_slice *keys, size_t n)
{
	(void)n;          /* one block: see struct keyset */
	free(keys);
}

enum mk_code
sindex_user_keys(struct json_object *user, struct mk_slice **keys, size_t *n)
{
	struct keyset ks;
	struct mk_slice *v = NULL;
	char *bytes;
	size_t i, o;
	enum mk_code rc = MK_ERR_NOMEM;

	/* Not memset: prev is large and needs no clearing. */
	ks.v = NULL;
	ks.n = ks.cap = 0;
	ks.a = NULL;
	ks.alen = ks.acap = 0;
	ks.failed = 0;
	ks.prevlen = 0;
	if (query_terms(user, collect_term, &ks) != 0 || ks.failed)
		goto out;
	/* +1: malloc(0) may give NULL, and an empty user is no error. */
	if ((v = malloc(ks.n * sizeof(*v) + ks.alen + 1)) == NULL)
		goto out;
	bytes = (char *)(v + ks.n);
	if (ks.alen > 0)
		memcpy(bytes, ks.a, ks.alen);
	for (i = 0; i < ks.n; i++) {
		v[i].p = bytes + ks.v[i].off;
		v[i].n = ks.v[i].n;
	}
	if (ks.n > 1)
		qsort(v, ks.n, sizeof(v[0]), slice_qcmp);
	for (i = o = 0; i < ks.n; i++) {
		if (o > 0 && slice_cmp(&v[o - 1], &v[i]) == 0)
			continue;
		v[o++] = v[i];
	}
	*keys = v;
	*n = o;
	rc = MK_OK;
out:
	free(ks.v);
	free(ks.a);
	return rc;
}

static const char *
user_id_of(struct json_object *u)
{
	struct json_object *v;

	if (u != NULL && json_object_object_get_ex(u, "user_id", &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/*
 * An update of one user touches only the parts that changed: the root
 * members whose values differ, and, inside user_metadata and app_metadata,
 * the root keys whose values differ.  Terms of different parts never share
 * a key, but for two: a metadata object's own exists key ("user_metadata"),
 * which every leaf under it gives, and hashed keys (a collision may join
 * any two).  A metadata root key holding a '.' could also name the same
 * path as a nested one ("a.b" and "a" -> "b"), so such a metadata object
 * is taken whole.  A hashed key among the old part's keys falls back to
 * the whole users.
 */
static const char *const md_names[] = { "user_metadata", "app_metadata" };

struct parts {
	struct json_object *o, *n;   /* the changed parts of old and new (owned) */
	struct json_object *same[2]; /* unchanged root keys of a split metadata
	                                object (owned), else NULL */
};

static int
is_md(const char *k)
{
	return strcmp(k, md_names[0]) == 0 || strcmp(k, md_names[1]) == 0;
}

/* Put v (borrowed; NULL: nothing) under k in o.  Returns -1 out of memory. */
static int
part_add(struct json_object *o, const char *k, struct json_object *v)
{
	if (v == NULL)
		return 0;
	if (json_object_object_add(o, k, json_object_get(v)) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int
has_dot_key(struct json_object *o)
{
	json_object_object_foreach(o, k, v) {
		(void)v;
		if (strchr(k, '.') != NULL)
			return 1;
	}
	return 0;
}

/* The changed root keys of metadata objects mo and mn into p.  -1: no memory. */
static int
parts_md(struct parts *p, int which, struct json_object *mo, struct json_object *mn)
{
	struct json_object *so = NULL, *sn = NULL, *v;
	const char *name = md_names[which];

	if (json_object_equal(mo, mn))
		return 0;
	if (!json_object_is_type(mo, json_type_object) ||
	    !json_object_is_type(mn, json_type_object) ||
	    has_dot_key(mo) || has_dot_key(mn))
		return part_add(p->o, name, mo) == -1 || part_add(p->n, name, mn) == -1 ?
		    -1 : 0;
	if ((so = json_object_new_object()) == NULL ||
	    (sn = json_object_new_object()) == NULL ||
	    (p->same[which] = json_object_new_object()) == NULL)
		goto fail;
	json_object_object_foreach(mo, k, ov) {
		if (!json_object_object_get_ex(mn, k, &v))
			v = NULL;
		if (json_object_equal(ov, v) && json_object_object_get_ex(mn, k, NULL)) {
			if (part_add(p->same[which], k, ov) == -1)
				goto fail;
			continue;
		}
		if (part_add(so, k, ov) == -1 || part_add(sn, k, v) == -1)
			goto fail;
	}
	json_object_object_foreach(mn, k2, nv) {
		if (json_object_object_get_ex(mo, k2, NULL))
			continue;
		if (part_add(sn, k2, nv) == -1)
			goto fail;
	}
	/* json_object_object_add keeps no reference when it fails. */
	if (json_object_object_add(p->o, name, so) != 0)
		goto fail;
	so = NULL;
	if (json_object_object_add(p->n, name, sn) != 0)
		goto fail;
	return 0;
fail:
	json_object_put(so);
	json_object_put(sn);
	return -1;
}

static void
parts_free(struct parts *p)
{
	json_object_put(p->o);
	json_object_put(p->n);
	json_object_put(p->same[0]);
	json_object_put(p->same[1]);
}

/* The changed parts of users old and new (objects).  -1: out of memory. */
static int
parts_make(struct parts *p, struct json_object *old, struct json_object *new)
{
	struct json_object *v, *mo, *mn;
	int i;

	memset(p, 0, sizeof(*p));
	if ((p->o = json_object_new_object()) == NULL ||
	    (p->n = json_object_new_object()) == NULL)
		return -1;
	/* Members other than the profile fields are copied too, harmlessly:
	 * query_terms reads only its own. */
	json_object_object_foreach(old, k, ov) {
		if (is_md(k))
			continue;
		if (!json_object_object_get_ex(new, k, &v))
			v = NULL;
		if (v != NULL && json_object_equal(ov, v))
			continue;
		if (part_add(p->o, k, ov) == -1 || part_add(p->n, k, v) == -1)
			return -1;
	}
	json_object_object_foreach(new, k2, nv) {
		if (is_md(k2) || json_object_object_get_ex(old, k2, NULL))
			continue;
		if (part_add(p->n, k2, nv) == -1)
			return -1;
	}
	for (i = 0; i < 2; i++) {
		if (!json_object_object_get_ex(old, md_names[i], &mo))
			mo = NULL;
		if (!json_object_object_get_ex(new, md_names[i], &mn))
			mn = NULL;
		if (parts_md(p, i, mo, mn) == -1)
			return -1;
	}
	return 0;
}

static int
any_term(void *ctx, const struct query_term *t)
{
	(void)ctx;
	(void)t;
	return 1;
}

/*
 * Whether key k (not in the new part) may go: not when it is the exists key
 * of a split metadata object whose unchanged keys still give a term.
 * Returns 1 to delete, 0 to keep, -1 out of memory.
 */
static int
may_delete(const struct parts *p, const struct mk_slice *k)
{
	struct json_object *u;
	size_t l;
	int i, r;

	for (i = 0; i < 2; i++) {
		l = strlen(md_names[i]);
		if (p->same[i] == NULL || k->n != l + 2 ||
		    memcmp(k->p, md_names[i], l) != 0 || k->p[l] != '\0' || k->p[l + 1] != 'e')
			continue;
		if ((u = json_object_new_object()) == NULL)
			return -1;
		if (part_add(u, md_names[i], p->same[i]) == -1) {
			json_object_put(u);
			return -1;
		}
		r = query_terms(u, any_term, NULL);
		json_object_put(u);
		if (r < 0)
			return -1;
		return r == 0;
	}
	return 1;
}

static int
has_hashed(const struct mk_slice *k, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (k[i].n >= 2 && k[i].p[0] == '\001' && k[i].p[1] == 'H')
			return 1;
	return 0;
}

/* Term keys as sindex_user_keys gives them: sorted, n of them (borrowed). */
struct keylist {
	const struct mk_slice *v;
	size_t n;
};

/*
 * Write the difference of old keys ol and new keys nl for user number num;
 * p (may be NULL: whole users) vets deletions.
 */
static enum mk_code
write_diff(struct store_txn *t, const struct parts *p, struct keylist ol,
    struct keylist nl, uint32_t num)
{
	const struct mk_slice *ok = ol.v, *nk = nl.v;
	size_t on = ol.n, nn = nl.n, i = 0, j = 0;
	enum mk_code rc = MK_OK;
	int c, d;

	while (rc == MK_OK && (i < on || j < nn)) {
		if (i == on)
			c = 1;
		else if (j == nn)
			c = -1;
		else
			c = slice_cmp(&ok[i], &nk[j]);
		if (c < 0) {
			d = p != NULL ? may_delete(p, &ok[i]) : 1;
			if (d < 0)
				rc = MK_ERR_NOMEM;
			else if (d > 0)
				rc = store_search_del(t, ok[i], num);
			i++;
		} else if (c > 0)
			rc = store_search_put(t, nk[j++], num);
		else {
			i++;
			j++;
		}
	}
	return rc;
}

/*
 * The number of the user whose object u is (its user_id), as stored in t.
 * 0: u has no user_id, or no such user is stored (nothing to index).
 */
static enum mk_code
num_of(struct store_txn *t, struct json_object *u, uint32_t *num)
{
	const char *s;
	struct mk_slice id;
	enum mk_code rc;

	*num = 0;
	if (u == NULL || (s = user_id_of(u)) == NULL)
		return MK_OK;
	id.p = s;
	id.n = strlen(s);
	rc = store_user_num(t, id, num);
	if (rc == MK_ERR_NOTFOUND) {
		*num = 0;
		return MK_OK;
	}
	return rc;
}

/*
 * One user, number num, from old to new (objects): only the parts that
 * changed.  When the old part has a hashed key, nothing is written and
 * *whole is set: the caller diffs the whole users.
 */
static enum mk_code
update_parts(struct store_txn *t, struct json_object *old, struct json_object *new,
    uint32_t num, int *whole)
{
	struct mk_slice *ok = NULL, *nk = NULL;
	struct parts p;
	size_t on = 0, nn = 0;
	enum mk_code rc;

	*whole = 0;
	if (parts_make(&p, old, new) == -1) {
		rc = MK_ERR_NOMEM;
		goto out;
	}
	if ((rc = sindex_user_keys(p.o, &ok, &on)) != MK_OK)
		goto out;
	if (has_hashed(ok, on)) {
		*whole = 1;
		goto out;
	}
	if ((rc = sindex_user_keys(p.n, &nk, &nn)) == MK_OK)
		rc = write_diff(t, &p, (struct keylist){ ok, on }, (struct keylist){ nk, nn }, num);
out:
	parts_free(&p);
	sindex_keys_free(ok, on);
	sindex_keys_free(nk, nn);
	return rc;
}

/* Whole users old and new (objects), both of number num: a merge of their keys. */
static enum mk_code
update_whole(struct store_txn *t, struct json_object *old, struct json_object *new,
    uint32_t num)
{
	struct mk_slice *ok = NULL, *nk = NULL;
	size_t on = 0, nn = 0;
	enum mk_code rc;

	/* Both sorted, a merge finds what left and what came. */
	if ((rc = sindex_user_keys(old, &ok, &on)) == MK_OK &&
	    (rc = sindex_user_keys(new, &nk, &nn)) == MK_OK)
		rc = write_diff(t, NULL, (struct keylist){ ok, on }, (struct keylist){ nk, nn },
		    num);
	sindex_keys_free(ok, on);
	sindex_keys_free(nk, nn);
	return rc;
}

enum mk_code
sindex_user_update(struct store_txn *t, struct json_object *old, struct json_object *new)
{
	struct mk_slice *ok = NULL, *nk = NULL;
	size_t on = 0, nn = 0, i;
	uint32_t onum = 0, nnum = 0;
	enum mk_code rc = MK_OK;
	int whole;

	if ((rc = num_of(t, old, &onum)) != MK_OK || (rc = num_of(t, new, &nnum)) != MK_OK)
		goto out;
	if (old == NULL || new == NULL || onum != nnum || nnum == 0) {
		/* Not one user (create, delete): every entry goes or comes. */
		if (onum != 0 && (rc = sindex_user_keys(old, &ok, &on)) != MK_OK)
			goto out;
		if (nnum != 0 && new != NULL && (rc = sindex_user_keys(new, &nk, &nn)) != MK_OK)
			goto out;
		for (i = 0; i < on && rc == MK_OK; i++)
			rc = store_search_del(t, ok[i], onum);
		if (rc == MK_OK && nn > 0)
			rc = store_search_put_keys(t, nk, nn, nnum);
		goto out;
	}
	/* One user: only the parts that changed, or the whole users. */
	if ((rc = update_parts(t, old, new, nnum, &whole)) == MK_OK && whole)
		rc = update_whole(t, old, new, nnum);
out:
	sindex_keys_free(ok, on);
	sindex_keys_free(nk, nn);
	return rc;
}

enum mk_code
sindex_user_patch(struct store_txn *t, struct json_object *old, struct json_object *new,
    struct mk_slice old_text, struct mk_slice new_text)
{
	struct json_object *wo = NULL, *wn = NULL;
	uint32_t onum = 0, nnum = 0;
	enum mk_code rc;
	int whole = 1;

	if ((rc = num_of(t, old, &onum)) != MK_OK || (rc = num_of(t, new, &nnum)) != MK_OK)
		return rc;
	if (onum == nnum && nnum != 0 &&
	    ((rc = update_parts(t, old, new, nnum, &whole)) != MK_OK || !whole))
		return rc;
	/* The whole users, from their texts. */
	if ((rc = jx_parse_stored(old_text.p, old_text.n, &wo)) == MK_OK &&
	    (rc = jx_parse_stored(new_text.p, new_text.n, &wn)) == MK_OK)
		rc = sindex_user_update(t, wo, wn);
	json_object_put(wo);
	json_object_put(wn);
	return rc;
}

/* ---- number sets ---- */

/* Sorted, unique user numbers. */
struct numset {
	uint32_t *v;
	size_t n, cap;
};

static void
numset_free(struct numset *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int
numset_grow(struct numset *s, size_t more)
{
	uint32_t *nv;
	size_t cap;

	if (s->cap - s->n >= more)
		return 0;
	cap = s->cap ? s->cap * 2 : 64;
	while (cap - s->n < more)
		cap *= 2;
	if ((nv = realloc(s->v, cap * sizeof(*nv))) == NULL)
		return -1;
	s->v = nv;
	s->cap = cap;
	return 0;
}

static int
numset_push(struct numset *s, uint32_t num)
{
	if (numset_grow(s, 1) == -1)
		return -1;
	s->v[s->n++] = num;
	return 0;
}

static int
num_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

enum setop { OP_UNION, OP_INTER, OP_MINUS };

/* *a = *a op b (both sorted); b is left alone. */
static int
numset_combine(struct numset *a, const struct numset *b, enum setop op)
{
	struct numset r = { NULL, 0, 0 };
	size_t i = 0, j = 0;

	if (numset_grow(&r, op == OP_UNION ? a->n + b->n : a->n) == -1)
		return -1;
	while (i < a->n || j < b->n) {
		if (j == b->n || (i < a->n && a->v[i] < b->v[j])) {
			if (op != OP_INTER)
				r.v[r.n++] = a->v[i];
			i++;
		} else if (i == a->n || a->v[i] > b->v[j]) {
			if (op == OP_UNION)
				r.v[r.n++] = b->v[j];
			j++;
		} else {
			if (op != OP_MINUS)
				r.v[r.n++] = a->v[i];
			i++;
			j++;
		}
		if (op != OP_UNION && i == a->n)
			break;
	}
	numset_free(a);
	*a = r;
	return 0;
}

/* ---- evaluation ---- */

/*
 * The work budget (sindex.h).  Every operation of an evaluation that
 * touches the index or the records is charged to ev->spent through
 * charge(), the one place that compares the total with the budget, and
 * the planner prices its choices in the same units:
 *   COST_ID      one id read from the index, copied or merged;
 *   COST_SEEK    positioning on a key (a B-tree descent: a count, a probe,
 *                the start of a posting list);
 *   COST_RECORD  reading and parsing one stored record.
 * The weights are the ratios measured on a 100k-user store (bench/
 * search_cost prints them: seek/id 6-8, record/id 110-140 in CPU time).
 */
#define COST_ID     1
#define COST_SEEK   8
#define COST_RECORD 128
#define COST_WALK   4      /* one entry of an order index walked */

struct eval {
	struct store_txn *t;
	struct numset all;     /* every user number, read once when needed */
	int have_all;
	size_t nusers;
	size_t budget;         /* units; 0: no limit */
	size_t spent;          /* units charged so far */
	sindex_heavy_fn heavy; /* the caller's, until called once; or NULL */
	void *hctx;
	size_t heavy_at;
	struct mk_err *err;
};

static size_t
sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t
sat_mul(size_t a, size_t b)
{
	return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

/*
 * Charge n operations of weight unit.  Returns MK_OK, or, once the budget
 * is passed, MK_ERR_QUERY with the client's message in ev->err: the
 * evaluation then stops and the search answers that.  The first charge
 * past heavy_at asks the caller's heavy hook (sindex_req), whose refusal
 * stops the search the same way.
 */
static enum mk_code
charge(struct eval *ev, size_t n, size_t unit)
{
	sindex_heavy_fn heavy = ev->heavy;
	enum mk_code rc;

	ev->spent = sat_add(ev->spent, sat_mul(n, unit));
	if (heavy != NULL && ev->spent > ev->heavy_at) {
		ev->heavy = NULL;
		if ((rc = heavy(ev->hctx, ev->err)) != MK_OK)
			return rc;
	}
	if (ev->budget == 0 || ev->spent <= ev->budget)
		return MK_OK;
	return mk_fail(ev->err, MK_ERR_QUERY, "Query validation error: the query is "
	    "too expensive (it needs more than %zu index operations, the "
	    "search_budget). Narrow it: AND it with a selective term (email:, "
	    "user_id: or an id in app_metadata), and use fewer OR terms and NOT "
	    "clauses.", ev->budget);
}

/* *a = *a op b, charged (both sorted; b is left alone). */
static enum mk_code
combine(struct eval *ev, struct numset *a, const struct numset *b, enum setop op)
{
	enum mk_code rc;

	if ((rc = charge(ev, sat_add(a->n, b->n), COST_ID)) != MK_OK)
		return rc;
	return numset_combine(a, b, op) == -1 ? MK_ERR_NOMEM : MK_OK;
}

struct leafkeys {
	int n;
	int hashed;
	char key[3][STORE_SEARCH_KEYMAX];
	size_t len[3];
};

static int
leaf_key_add(void *ctx, const struct query_term *t)
{
	struct leafkeys *lk = ctx;
	int h;

	if (lk->n >= 3)
		return 0;
	lk->len[lk->n] = sindex_term_key(t, lk->key[lk->n], &h);
	lk->hashed |= h;
	lk->n++;
	return 0;
}

static void
leaf_keys(const struct query_node *n, struct leafkeys *lk)
{
	struct query_term e = { n->field, strlen(n->field), n->profile, 'e', NULL, 0 };
	int h;

	lk->n = 0;
	lk->hashed = 0;
	if (n->op == QOP_EXISTS) {
		lk->len[0] = sindex_term_key(&e, lk->key[0], &h);
		lk->hashed = h;
		lk->n = 1;
	} else
		query_term_values(n, leaf_key_add, lk);
}

/*
 * The plan of a subtree, from entry counts only: est, an upper bound of the
 * ids it yields; cost, the units of evaluating it as a set (an upper
 * bound too: an AND inside may probe instead).
 */
struct plan {
	size_t est;
	size_t cost;
};

static enum mk_code
plan_leaf(struct eval *ev, const struct query_node *n, struct plan *p)
{
	struct leafkeys lk;
	struct mk_slice k;
	size_t c, sum = 0;
	enum mk_code rc;
	int i;

	leaf_keys(n, &lk);
	if ((rc = charge(ev, (size_t)lk.n, COST_SEEK)) != MK_OK)
		return rc;
	for (i = 0; i < lk.n; i++) {
		k.p = lk.key[i];
		k.n = lk.len[i];
		if ((rc = store_search_count(ev->t, k, &c)) != MK_OK)
			return rc;
		sum = sat_add(sum, c);
	}
	p->est = sum;
	p->cost = sat_add((size_t)lk.n * COST_SEEK,
	    sat_mul(sum, lk.hashed ? COST_ID + COST_RECORD : COST_ID));
	return MK_OK;
}

static enum mk_code
plan(struct eval *ev, const struct query_node *n, struct plan *p)
{
	struct plan a, b;
	enum mk_code rc;

	switch (n->op) {
	case QOP_TERM:
	case QOP_EXISTS:
		return plan_leaf(ev, n, p);
	case QOP_AND:
	case QOP_OR:
		if ((rc = plan(ev, n->a, &a)) != MK_OK ||
		    (rc = plan(ev, n->b, &b)) != MK_OK)
			return rc;
		p->est = n->op == QOP_AND ? (a.est < b.est ? a.est : b.est) :
		    sat_add(a.est, b.est);
		p->cost = sat_add(sat_add(a.cost, b.cost), sat_add(a.est, b.est));
		return MK_OK;
	case QOP_NOT:
		if ((rc = plan(ev, n->a, &a)) != MK_OK)
			return rc;
		/* read every id (once per search), copy them, subtract */
		p->est = ev->nusers;
		p->cost = sat_add(a.cost, sat_add(sat_mul(ev->nusers, 3), a.est));
		return MK_OK;
	}
	return MK_ERR_INTERNAL;
}

/*
 * Can n be decided for one id by index probes alone?  *seeks gets the
 * probes that takes at most (every leaf key of n).
 */
static int
probe_seeks(const struct query_node *n, size_t *seeks)
{
	struct leafkeys lk;
	size_t a, b;

	switch (n->op) {
	case QOP_TERM:
	case QOP_EXISTS:
		leaf_keys(n, &lk);
		*seeks = (size_t)lk.n;
		return !lk.hashed;
	case QOP_AND:
	case QOP_OR:
		if (!probe_seeks(n->a, &a) || !probe_seeks(n->b, &b))
			return 0;
		*seeks = a + b;
		return 1;
	case QOP_NOT:
		return probe_seeks(n->a, seeks);
	}
	return 0;
}

static enum mk_code
probe(struct eval *ev, const struct query_node *n, uint32_t num, int *yes)
{
	struct leafkeys lk;
	struct mk_slice k;
	enum mk_code rc;
	int i, has;

	switch (n->op) {
	case QOP_TERM:
	case QOP_EXISTS:
		leaf_keys(n, &lk);
		for (i = 0; i < lk.n; i++) {
			k.p = lk.key[i];
			k.n = lk.len[i];
			if ((rc = charge(ev, 1, COST_SEEK)) != MK_OK ||
			    (rc = store_search_has(ev->t, k, num, &has)) != MK_OK)
				return rc;
			if (has) {
				*yes = 1;
				return MK_OK;
			}
		}
		*yes = 0;
		return MK_OK;
	case QOP_AND:
	case QOP_OR:
		if ((rc = probe(ev, n->a, num, yes)) != MK_OK)
			return rc;
		if (*yes == (n->op == QOP_OR))
			return MK_OK;
		return probe(ev, n->b, num, yes);
	case QOP_NOT:
		if ((rc = probe(ev, n->a, num, yes)) != MK_OK)
			return rc;
		*yes = !*yes;
		return MK_OK;
	}
	return MK_ERR_INTERNAL;
}

/* A block of numbers from store_search_get onto a numset. */
static int
push_nums(void *ctx, struct mk_slice key, const void *nums, size_t n)
{
	struct numset *s = ctx;

	(void)key;
	if (numset_grow(s, n) == -1)
		return 1;
	memcpy(s->v + s->n, nums, n * sizeof(uint32_t));
	s->n += n;
	return 0;
}

static int
push_num(void *ctx, uint32_t num, struct mk_slice id)
{
	(void)id;
	return numset_push(ctx, num) == -1;
}

static enum mk_code
load_all(struct eval *ev)
{
	enum mk_code rc;

	if (ev->have_all)
		return MK_OK;
	if ((rc = charge(ev, ev->nusers, COST_ID)) != MK_OK)
		return rc;
	rc = store_user_nums_scan(ev->t, 0, push_num, &ev->all);
	if (rc == MK_OK && ev->all.n < ev->nusers)
		rc = MK_ERR_NOMEM;   /* the visitor stopped: no memory */
	if (rc != MK_OK)
		return mk_fail(ev->err, rc, "reading user numbers failed");
	ev->have_all = 1;
	return MK_OK;
}

/* Does user num match n?  For hashed keys, whose hits may collide. */
static enum mk_code
verify(struct eval *ev, const struct query_node *n, uint32_t num, int *yes)
{
	struct json_object *u = NULL;
	struct mk_slice id, rec;
	enum mk_code rc;

	if ((rc = charge(ev, 1, COST_RECORD)) != MK_OK)
		return rc;
	rc = store_user_id(ev->t, num, &id);
	if (rc == MK_OK)
		rc = store_get(ev->t, ST_USERS, id, &rec);
	if (rc == MK_ERR_NOTFOUND) {
		*yes = 0;
		return MK_OK;
	}
	if (rc != MK_OK)
		return rc;
	if (jx_parse_stored(rec.p, rec.n, &u) != MK_OK) {
		log_warnx("a stored user does not parse");
		return MK_ERR_INTERNAL;
	}
	*yes = query_match(n, u);
	json_object_put(u);
	return MK_OK;
}

static enum mk_code eval_node(struct eval *ev, const struct query_node *n,
    struct numset *out);

static enum mk_code
eval_leaf(struct eval *ev, const struct query_node *n, struct numset *out)
{
	struct leafkeys lk;
	struct numset acc = { NULL, 0, 0 }, one = { NULL, 0, 0 };
	struct mk_slice k;
	enum mk_code rc = MK_OK;
	size_t i, o;
	int yes, j;

	leaf_keys(n, &lk);
	for (j = 0; j < lk.n && rc == MK_OK; j++) {
		k.p = lk.key[j];
		k.n = lk.len[j];
		one.n = 0;
		if ((rc = charge(ev, 1, COST_SEEK)) != MK_OK ||
		    (rc = store_search_get(ev->t, k, push_nums, &one)) != MK_OK ||
		    (rc = charge(ev, one.n, COST_ID)) != MK_OK)
			break;
		if (acc.n == 0 && j == 0) {
			acc = one;
			one.v = NULL;
			one.n = one.cap = 0;
		} else
			rc = combine(ev, &acc, &one, OP_UNION);
	}
	numset_free(&one);
	if (rc == MK_OK && lk.hashed) {
		for (i = o = 0; i < acc.n && rc == MK_OK; i++)
			if ((rc = verify(ev, n, acc.v[i], &yes)) == MK_OK && yes)
				acc.v[o++] = acc.v[i];
		acc.n = o;
	}
	if (rc != MK_OK) {
		numset_free(&acc);
		return rc;
	}
	*out = acc;
	return MK_OK;
}

/* *out = every user id but those of in (in is left alone). */
static enum mk_code
complement(struct eval *ev, const struct numset *in, struct numset *out)
{
	struct numset a = { NULL, 0, 0 };
	enum mk_code rc;

	if ((rc = load_all(ev)) != MK_OK ||
	    (rc = charge(ev, ev->all.n, COST_ID)) != MK_OK)
		return rc;
	if (numset_grow(&a, ev->all.n ? ev->all.n : 1) == -1)
		return MK_ERR_NOMEM;
	memcpy(a.v, ev->all.v, ev->all.n * sizeof(*a.v));
	a.n = ev->all.n;
	if ((rc = combine(ev, &a, in, OP_MINUS)) != MK_OK) {
		numset_free(&a);
		return rc;
	}
	*out = a;
	return MK_OK;
}

/* The operands of the chain of op (AND, OR) under n, into v (at most QUERY_MAX_NODES). */
static void
operands(const struct query_node *n, enum query_op op, const struct query_node **v,
    size_t *k)
{
	if (n->op == op) {
		operands(n->a, op, v, k);
		operands(n->b, op, v, k);
	} else if (*k < QUERY_MAX_NODES)
		v[(*k)++] = n;
}

/*
 * Keep one of each operand that is written the same (query_format's
 * canonical text), in place.  Returns the new count, or 0 when memory runs
 * out.
 */
static size_t
unique(const struct query_node **v, size_t k)
{
	char *text[QUERY_MAX_NODES];
	size_t i, j, m = 0;
	int dup;

	for (i = 0; i < k; i++) {
		if ((text[m] = query_format(v[i])) == NULL)
			break;
		for (dup = 0, j = 0; j < m && !dup; j++)
			dup = strcmp(text[j], text[m]) == 0;
		if (dup)
			free(text[m]);
		else
			v[m++] = v[i];
	}
	for (j = 0; j < m; j++)
		free(text[j]);
	return i < k ? 0 : m;
}

/* One operand of an AND chain: the node, what is applied (a NOT's inner side), its plan. */
struct andop {
	const struct query_node *n, *sub;
	struct plan p;      /* of sub */
};

static int
andop_cmp(const void *va, const void *vb)
{
	const struct andop *a = va, *b = vb;
	int na = a->n->op == QOP_NOT, nb = b->n->op == QOP_NOT;

	/* sets that keep ids first, smallest first; then NOTs, cheapest first */
	if (na != nb)
		return na - nb;
	if (na)
		return a->p.cost < b->p.cost ? -1 : a->p.cost > b->p.cost;
	return a->p.est < b->p.est ? -1 : a->p.est > b->p.est;
}

/*
 * Apply operand o to the set s (in place): by probing the index for each
 * id of s, or by evaluating o (a NOT: its inner side) as a set and
 * intersecting (subtracting), whichever the planner prices lower.
 */
static enum mk_code
and_apply(struct eval *ev, const struct andop *o, struct numset *s)
{
	struct numset b = { NULL, 0, 0 };
	size_t seeks, i, m;
	enum mk_code rc;
	int yes;

	if (probe_seeks(o->n, &seeks) && sat_mul(sat_mul(s->n, seeks), COST_SEEK) <=
	    sat_add(o->p.cost, sat_add(s->n, o->p.est))) {
		for (i = m = 0; i < s->n; i++) {
			if ((rc = probe(ev, o->n, s->v[i], &yes)) != MK_OK)
				return rc;
			if (yes)
				s->v[m++] = s->v[i];
		}
		s->n = m;
		return MK_OK;
	}
	if ((rc = eval_node(ev, o->sub, &b)) == MK_OK)
		rc = combine(ev, s, &b, o->sub != o->n ? OP_MINUS : OP_INTER);
	numset_free(&b);
	return rc;
}

/*
 * Join the NOT operands of ops[0..k-1] into one by De Morgan: NOT a AND
 * NOT b is NOT (a OR b), so a set is subtracted from (or every id
 * copied) once, not once per NOT.  The joined operand's nodes live in tmp
 * (QUERY_MAX_NODES + 1 of them, owned by the caller); its plan is summed
 * from the parts' plans.  Returns the new count.
 */
static size_t
and_join_nots(struct andop *ops, size_t k, struct query_node *tmp)
{
	struct query_node *sub = NULL, *not = &tmp[QUERY_MAX_NODES];
	struct plan p = { 0, 0 };
	size_t i, m = 0, nn = 0, nots = 0;

	for (i = 0; i < k; i++)
		nots += ops[i].n->op == QOP_NOT;
	if (nots < 2)
		return k;
	for (i = 0; i < k; i++) {
		if (ops[i].n->op != QOP_NOT) {
			ops[m++] = ops[i];
			continue;
		}
		if (sub == NULL)
			sub = ops[i].n->a;
		else {
			tmp[nn].op = QOP_OR;
			tmp[nn].pos = ops[i].n->pos;
			tmp[nn].a = sub;
			tmp[nn].b = ops[i].n->a;
			sub = &tmp[nn++];
		}
		p.est = sat_add(p.est, ops[i].p.est);
		p.cost = sat_add(p.cost, sat_add(ops[i].p.cost, ops[i].p.est));
	}
	not->op = QOP_NOT;
	not->a = sub;
	ops[m].n = not;
	ops[m].sub = sub;
	ops[m].p = p;
	return m + 1;
}

/*
 * An AND chain, flattened: each operand planned once, duplicates dropped,
 * its NOTs joined into one; the operand with the fewest ids is evaluated
 * as a set (the NOT only when every operand is one), then the others are
 * applied to it, smallest first, each the cheaper way, until the set is
 * empty.
 */
static enum mk_code
eval_and(struct eval *ev, const struct query_node *n, struct numset *out)
{
	const struct query_node **v;
	struct query_node *tmp = NULL;
	struct andop *ops = NULL;
	struct numset s = { NULL, 0, 0 };
	enum mk_code rc = MK_ERR_NOMEM;
	size_t k = 0, i;

	if ((v = calloc(QUERY_MAX_NODES, sizeof(*v))) == NULL ||
	    (ops = calloc(QUERY_MAX_NODES, sizeof(*ops))) == NULL ||
	    (tmp = calloc(QUERY_MAX_NODES + 1, sizeof(*tmp))) == NULL)
		goto out;
	operands(n, QOP_AND, v, &k);
	if ((k = unique(v, k)) == 0)
		goto out;
	for (i = 0; i < k; i++) {
		ops[i].n = v[i];
		ops[i].sub = v[i]->op == QOP_NOT ? v[i]->a : v[i];
		if ((rc = plan(ev, ops[i].sub, &ops[i].p)) != MK_OK)
			goto out;
	}
	k = and_join_nots(ops, k, tmp);
	qsort(ops, k, sizeof(*ops), andop_cmp);
	if ((rc = eval_node(ev, ops[0].n, &s)) != MK_OK)
		goto out;
	for (i = 1; i < k && s.n > 0; i++)
		if ((rc = and_apply(ev, &ops[i], &s)) != MK_OK)
			goto out;
	*out = s;
	s.v = NULL;
	rc = MK_OK;
out:
	numset_free(&s);
	free(tmp);
	free(ops);
	free(v);
	return rc;
}

/* Union of sets[0..k-1] into sets[0], merged in pairs level by level. */
static enum mk_code
union_all(struct eval *ev, struct numset *sets, size_t k)
{
	enum mk_code rc;
	size_t i, m;

	while (k > 1) {
		for (i = m = 0; i + 1 < k; i += 2, m++) {
			if ((rc = combine(ev, &sets[i], &sets[i + 1], OP_UNION)) != MK_OK)
				return rc;
			numset_free(&sets[i + 1]);
			if (m != i) {
				sets[m] = sets[i];
				memset(&sets[i], 0, sizeof(sets[i]));
			}
		}
		if (i < k) {
			sets[m] = sets[i];
			if (m != i)
				memset(&sets[i], 0, sizeof(sets[i]));
			m++;
		}
		k = m;
	}
	return MK_OK;
}

/*
 * An OR chain, flattened.  Operands written alike are evaluated once;
 * NOT operands are joined by De Morgan (NOT a OR NOT b is NOT (a AND b)),
 * so every user id is read and copied once, not once per NOT; the sets
 * are merged in pairs, level by level, so each id is merged about log k
 * times instead of k.
 */
static enum mk_code
eval_or(struct eval *ev, const struct query_node *n, struct numset *out)
{
	const struct query_node **v;
	struct query_node *and = NULL;
	struct numset *sets = NULL, in = { NULL, 0, 0 };
	struct query_node *nots = NULL;
	enum mk_code rc = MK_ERR_NOMEM;
	size_t k = 0, i, m = 0, nn = 0;

	v = calloc(QUERY_MAX_NODES, sizeof(*v));
	sets = calloc(QUERY_MAX_NODES + 1, sizeof(*sets));
	and = calloc(QUERY_MAX_NODES, sizeof(*and));
	if (v == NULL || sets == NULL || and == NULL)
		goto out;
	operands(n, QOP_OR, v, &k);
	if ((k = unique(v, k)) == 0)
		goto out;
	for (i = 0; i < k; i++) {
		if (v[i]->op != QOP_NOT)
			continue;
		if (nots == NULL)
			nots = v[i]->a;
		else {
			and[nn].op = QOP_AND;
			and[nn].pos = v[i]->pos;
			and[nn].a = nots;
			and[nn].b = v[i]->a;
			nots = &and[nn++];
		}
	}
	if (nots != NULL) {
		if ((rc = eval_node(ev, nots, &in)) != MK_OK ||
		    (rc = complement(ev, &in, &sets[m++])) != MK_OK)
			goto out;
	}
	for (i = 0; i < k; i++)
		if (v[i]->op != QOP_NOT && (rc = eval_node(ev, v[i], &sets[m++])) != MK_OK)
			goto out;
	if ((rc = union_all(ev, sets, m)) != MK_OK)
		goto out;
	*out = sets[0];
	memset(&sets[0], 0, sizeof(sets[0]));
	rc = MK_OK;
out:
	if (sets != NULL)
		for (i = 0; i <= QUERY_MAX_NODES; i++)
			numset_free(&sets[i]);
	numset_free(&in);
	free(sets);
	free(and);
	free(v);
	return rc;
}

static enum mk_code
eval_node(struct eval *ev, const struct query_node *n, struct numset *out)
{
	struct numset in = { NULL, 0, 0 };
	enum mk_code rc;

	switch (n->op) {
	case QOP_TERM:
	case QOP_EXISTS:
		return eval_leaf(ev, n, out);
	case QOP_AND:
		return eval_and(ev, n, out);
	case QOP_OR:
		return eval_or(ev, n, out);
	case QOP_NOT:
		if ((rc = eval_node(ev, n->a, &in)) == MK_OK)
			rc = complement(ev, &in, out);
		numset_free(&in);
		return rc;
	}
	return MK_ERR_INTERNAL;
}

/* Without a complete index: every record through query_match. */
struct scan {
	struct store_txn *t;
	const struct query_node *root;
	struct numset *out;
	enum mk_code rc;
};

static int
scan_visit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct scan *sc = ctx;
	struct json_object *u = NULL;
	uint32_t num;

	if (jx_parse_stored(rec.p, rec.n, &u) != MK_OK) {
		log_warnx("a stored user does not parse");
		sc->rc = MK_ERR_INTERNAL;
		return 1;
	}
	if (query_match(sc->root, u)) {
		if ((sc->rc = store_user_num(sc->t, key, &num)) == MK_OK &&
		    numset_push(sc->out, num) == -1)
			sc->rc = MK_ERR_NOMEM;
	}
	json_object_put(u);
	return sc->rc != MK_OK;
}

/* ---- order and paging ---- */

struct sorted {
	struct mk_slice key;   /* created_at, updated_at or email; or the id */
	struct mk_slice id;
	char *own;             /* key's storage */
};

static int
sorted_cmp(const void *va, const void *vb)
{
	const struct sorted *a = va, *b = vb;
	int c = slice_cmp(&a->key, &b->key);

	return c != 0 ? c : slice_cmp(&a->id, &b->id);
}

static const char *
order_attr(enum store_order order)
{
	switch (order) {
	case STORE_BY_CREATED:
		return "created_at";
	case STORE_BY_UPDATED:
		return "updated_at";
	case STORE_BY_EMAIL:
		return "email";
	case STORE_BY_ID:
		break;
	}
	return NULL;
}

static enum mk_code
emit_id(struct store_txn *t, struct mk_slice id, store_visit_fn fn, void *ctx, int *stop)
{
	struct mk_slice rec;
	enum mk_code rc;

	if ((rc = store_get(t, ST_USERS, id, &rec)) != MK_OK)
		return rc == MK_ERR_NOTFOUND ? MK_ERR_INTERNAL : rc;
	*stop = fn(ctx, id, rec) != 0;
	return MK_OK;
}

/*
 * Few results: their ids (and for an attribute order, that attribute, read
 * from the records), sorted.
 */
static enum mk_code
page_sorted(struct store_txn *t, const struct numset *r, const struct store_page *pg,
    store_visit_fn fn, void *ctx)
{
	struct sorted *v;
	struct json_object *u, *a;
	struct mk_slice rec;
	const char *attr = order_attr(pg->order), *s;
	enum mk_code rc = MK_OK;
	size_t i, k, end, skip = pg->skip, limit = pg->limit;
	int stop = 0;

	if ((v = calloc(r->n ? r->n : 1, sizeof(*v))) == NULL)
		return MK_ERR_NOMEM;
	for (i = 0; i < r->n && rc == MK_OK; i++) {
		if ((rc = store_user_id(t, r->v[i], &v[i].id)) != MK_OK) {
			if (rc == MK_ERR_NOTFOUND) {
				log_warnx("search: user number %u has no user", r->v[i]);
				rc = MK_ERR_INTERNAL;
			}
			break;
		}
		v[i].key.p = "";
		if (attr == NULL)
			continue;
		if ((rc = store_get(t, ST_USERS, v[i].id, &rec)) != MK_OK)
			break;
		/* Only the sort attribute is wanted: the stored-record parser
		 * is enough, and cheaper than the search. */
		if (jx_parse_stored(rec.p, rec.n, &u) != MK_OK) {
			log_warnx("a stored user does not parse");
			rc = MK_ERR_INTERNAL;
			break;
		}
		if (json_object_object_get_ex(u, attr, &a) &&
		    json_object_is_type(a, json_type_string)) {
			s = json_object_get_string(a);
			if ((v[i].own = strdup(s)) == NULL)
				rc = MK_ERR_NOMEM;
			else {
				v[i].key.p = v[i].own;
				v[i].key.n = strlen(s);
			}
		}
		json_object_put(u);
	}
	if (rc == MK_OK) {
		qsort(v, r->n, sizeof(*v), sorted_cmp);
		end = limit == 0 || r->n - (skip < r->n ? skip : r->n) < limit ? r->n :
		    skip + limit;
		for (k = skip; k < end && !stop && rc == MK_OK; k++)
			rc = emit_id(t, v[pg->desc ? r->n - 1 - k : k].id, fn, ctx, &stop);
	}
	for (i = 0; i < r->n; i++)
		free(v[i].own);
	free(v);
	return rc;
}

/*
 * Many results: walk the users in the page's order (the users table or an
 * order index, from the right end), and hand on the members of the page,
 * known by their numbers in a bitmap.
 */
struct walkpage {
	struct store_txn *t;
	const unsigned char *bits;
	uint32_t limit;          /* numbers below this are in bits */
	size_t pos, skip, want;  /* members seen; pass skip, then hand on want */
	store_visit_fn fn;
	void *ctx;
	enum mk_code rc;
};

static int
walk_visit(void *ctx, struct mk_slice id, struct mk_slice rec)
{
	struct walkpage *w = ctx;
	uint32_t num;

	if ((w->rc = store_user_num(w->t, id, &num)) != MK_OK)
		return 1;
	if (num >= w->limit || !(w->bits[num / 8] & (1u << (num % 8))))
		return 0;
	if (w->pos++ < w->skip)
		return 0;
	if (w->fn(w->ctx, id, rec) != 0)
		return 1;
	return --w->want == 0;
}

static enum mk_code
page_walk(struct store_txn *t, const struct numset *r, const struct store_page *pg,
    store_visit_fn fn, void *ctx)
{
	struct walkpage w;
	struct store_page all;
	unsigned char *bits;
	enum mk_code rc;
	size_t i;

	if (pg->skip >= r->n || r->n == 0)
		return MK_OK;
	memset(&w, 0, sizeof(w));
	w.t = t;
	w.limit = r->v[r->n - 1] + 1;
	if ((bits = calloc((size_t)w.limit / 8 + 1, 1)) == NULL)
		return MK_ERR_NOMEM;
	for (i = 0; i < r->n; i++)
		bits[r->v[i] / 8] |= (unsigned char)(1u << (r->v[i] % 8));
	w.bits = bits;
	w.skip = pg->skip;
	w.want = pg->limit == 0 || pg->limit > r->n - pg->skip ? r->n - pg->skip : pg->limit;
	w.fn = fn;
	w.ctx = ctx;
	w.rc = MK_OK;
	all.order = pg->order;
	all.desc = pg->desc;
	all.skip = 0;
	all.limit = 0;
	rc = store_users_scan(t, &all, walk_visit, &w);
	if (rc == MK_OK)
		rc = w.rc;
	free(bits);
	return rc;
}

/*
 * The numbers of the users matching q into *r: from the index, or, when
 * the index is not complete, by reading every record (charged as such up
 * front).
 */
static enum mk_code
evaluate(struct eval *ev, const struct query *q, struct numset *r)
{
	struct scan sc;
	enum mk_code rc;
	int ready = 0;

	if ((rc = store_count(ev->t, ST_USERS, &ev->nusers)) != MK_OK ||
	    (rc = store_search_ready(ev->t, &ready)) != MK_OK)
		return mk_fail(ev->err, rc, "search: reading the store failed");
	if (ready)
		return eval_node(ev, query_root(q), r);
	log_warnx("search index incomplete: scanning every user (run "
	    "metakeepctl check --repair)");
	if ((rc = charge(ev, ev->nusers, COST_RECORD)) != MK_OK)
		return rc;
	sc.t = ev->t;
	sc.root = query_root(q);
	sc.out = r;
	sc.rc = MK_OK;
	rc = store_users_scan(ev->t, &store_page_all, scan_visit, &sc);
	if (rc == MK_OK)
		rc = sc.rc;
	if (rc == MK_OK && r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), num_cmp);
	return rc;
}

enum mk_code
sindex_search(struct store_txn *t, const struct sindex_req *rq, size_t *total,
    struct mk_err *err)
{
	const struct store_page *pg = &rq->page;
	struct eval ev;
	struct numset r = { NULL, 0, 0 };
	enum mk_code rc;

	memset(&ev, 0, sizeof(ev));
	ev.t = t;
	ev.err = err;
	ev.budget = rq->budget;
	ev.heavy = rq->heavy;
	ev.hctx = rq->hctx;
	ev.heavy_at = rq->heavy_at;
	rc = evaluate(&ev, rq->q, &r);
	numset_free(&ev.all);
	/*
	 * Ordering reads the results' records (their ids only for the user_id
	 * order), or walks the users in the page's order.
	 */
	if (rc == MK_OK)
		rc = r.n > sindex_sort_in_memory ? charge(&ev, ev.nusers, COST_WALK) :
		    charge(&ev, r.n, pg->order == STORE_BY_ID ? COST_SEEK : COST_RECORD);
	if (rq->spent != NULL)
		*rq->spent = ev.spent;
	if (rc != MK_OK) {
		numset_free(&r);
		/* The budget's and the heavy hook's refusals carry their message. */
		return rc == MK_ERR_QUERY || rc == MK_ERR_BUSY ? rc :
		    mk_fail(err, rc, "search failed");
	}
	if (r.n <= sindex_sort_in_memory)
		rc = page_sorted(t, &r, pg, rq->fn, rq->ctx);
	else
		rc = page_walk(t, &r, pg, rq->fn, rq->ctx);
	if (rc == MK_OK && total != NULL)
		*total = r.n;
	numset_free(&r);
	if (rc != MK_OK)
		return mk_fail(err, rc, "search: reading results failed");
	return MK_OK;
}

/* ---- bulk writes: import and rebuild ---- */

/*
 * Postings of new users, gathered over a batch and written in key order in
 * one pass (store_search_put_sorted).  A hash table groups them by key as
 * they come, so only the distinct keys are sorted and each key's numbers
 * go to LMDB in one call; shared terms (connection, a country, a plan) are
 * most of a user's postings.  Keys live in one arena (offsets, since it
 * moves) until written; a key's numbers are a chain through v.
 */
struct bgroup {
	size_t off, n;          /* the key in the arena */
	uint64_t hash;
	uint32_t head, tail;    /* first and last posting of its chain */
	uint32_t count;
};

struct bnum {
	uint32_t num;
	uint32_t next;          /* the next posting of the key, or BNONE */
};

#define BNONE UINT32_MAX

struct sindex_batch {
	struct bgroup *g;
	size_t ng, gcap;
	uint32_t *slot;         /* group index + 1, or 0: open addressing */
	size_t nslot;           /* a power of two, at least twice ng */
	struct bnum *v;
	size_t n, cap;
	char *a;
	size_t alen, acap;
	size_t users;
};

enum mk_code
sindex_batch_new(struct sindex_batch **out)
{
	struct sindex_batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return MK_ERR_NOMEM;
	*out = b;
	return MK_OK;
}

void
sindex_batch_free(struct sindex_batch *b)
{
	if (b == NULL)
		return;
	free(b->g);
	free(b->slot);
	free(b->v);
	free(b->a);
	free(b);
}

/* Double the hash table and place every group again; -1: no memory. */
static int
batch_rehash(struct sindex_batch *b)
{
	size_t nslot = b->nslot ? b->nslot * 2 : 4096, i, j;
	uint32_t *slot;

	if ((slot = calloc(nslot, sizeof(*slot))) == NULL)
		return -1;
	for (i = 0; i < b->ng; i++) {
		for (j = b->g[i].hash & (nslot - 1); slot[j] != 0; j = (j + 1) & (nslot - 1))
			;
		slot[j] = (uint32_t)i + 1;
	}
	free(b->slot);
	b->slot = slot;
	b->nslot = nslot;
	return 0;
}

/* Grow an array of *cap elements of size sz to hold one more; -1: no memory. */
static int
grow(void *pp, size_t *cap, size_t used, size_t sz, size_t first)
{
	void *np;
	size_t c;

	if (used < *cap)
		return 0;
	c = *cap ? *cap * 2 : first;
	if ((np = realloc(*(void **)pp, c * sz)) == NULL)
		return -1;
	*(void **)pp = np;
	*cap = c;
	return 0;
}

/* The group of key k, made when new; NULL: no memory (or over 2^32). */
static struct bgroup *
batch_group(struct sindex_batch *b, const struct mk_slice *k)
{
	struct bgroup *g;
	uint64_t h = mk_fnv1a(k->p, k->n, MK_FNV1A_INIT);
	size_t j, cap;
	char *na;

	if ((b->ng + 1) * 2 > b->nslot && batch_rehash(b) == -1)
		return NULL;
	for (j = h & (b->nslot - 1); b->slot[j] != 0; j = (j + 1) & (b->nslot - 1)) {
		g = &b->g[b->slot[j] - 1];
		if (g->hash == h && g->n == k->n && memcmp(b->a + g->off, k->p, k->n) == 0)
			return g;
	}
	if (b->ng >= BNONE - 1 || grow(&b->g, &b->gcap, b->ng, sizeof(*b->g), 1024) == -1)
		return NULL;
	if (b->acap - b->alen < k->n) {
		cap = b->acap ? b->acap * 2 : 65536;
		while (cap - b->alen < k->n)
			cap *= 2;
		if ((na = realloc(b->a, cap)) == NULL)
			return NULL;
		b->a = na;
		b->acap = cap;
	}
	memcpy(b->a + b->alen, k->p, k->n);
	g = &b->g[b->ng];
	g->off = b->alen;
	g->n = k->n;
	g->hash = h;
	g->head = g->tail = BNONE;
	g->count = 0;
	b->alen += k->n;
	b->slot[j] = (uint32_t)++b->ng;
	return g;
}

static int
batch_key(struct sindex_batch *b, const struct mk_slice *k, uint32_t num)
{
	struct bgroup *g;

	if ((g = batch_group(b, k)) == NULL)
		return -1;
	/* A key twice for one user is one posting. */
	if (g->tail != BNONE && b->v[g->tail].num == num)
		return 0;
	if (b->n >= BNONE - 1 || grow(&b->v, &b->cap, b->n, sizeof(*b->v), 4096) == -1)
		return -1;
	b->v[b->n].num = num;
	b->v[b->n].next = BNONE;
	if (g->tail == BNONE)
		g->head = (uint32_t)b->n;
	else
		b->v[g->tail].next = (uint32_t)b->n;
	g->tail = (uint32_t)b->n;
	g->count++;
	b->n++;
	return 0;
}

enum mk_code
sindex_batch_add_keys(struct sindex_batch *b, const struct mk_slice *keys, size_t n,
    uint32_t num)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (batch_key(b, &keys[i], num) == -1)
			return MK_ERR_NOMEM;
	b->users++;
	return MK_OK;
}

enum mk_code
sindex_batch_add(struct sindex_batch *b, struct json_object *user, uint32_t num)
{
	struct mk_slice *keys = NULL;
	size_t n = 0, i;
	enum mk_code rc;

	if ((rc = sindex_user_keys(user, &keys, &n)) != MK_OK)
		return rc;
	for (i = 0; i < n; i++)
		if (batch_key(b, &keys[i], num) == -1) {
			rc = MK_ERR_NOMEM;
			break;
		}
	sindex_keys_free(keys, n);
	b->users++;
	return rc;
}

static int
posting_cmp(const void *va, const void *vb)
{
	const struct store_posting *a = va, *b = vb;

	return slice_cmp(&a->key, &b->key);
}

enum mk_code
sindex_batch_write(struct store_txn *t, struct sindex_batch *b, size_t *entries)
{
	struct store_posting *p = NULL;
	struct bgroup *g;
	uint32_t *nums = NULL, *q, x;
	enum mk_code rc = MK_OK;
	size_t i;
	int sorted;

	if (b->n == 0)
		goto done;
	p = malloc(b->ng * sizeof(*p));
	nums = malloc(b->n * sizeof(*nums));
	if (p == NULL || nums == NULL) {
		rc = MK_ERR_NOMEM;
		goto out;
	}
	/* Each key's numbers side by side, ascending (callers add users in
	 * number order; sorted here when one did not). */
	q = nums;
	for (i = 0; i < b->ng; i++) {
		g = &b->g[i];
		p[i].key.p = b->a + g->off;
		p[i].key.n = g->n;
		p[i].nums = q;
		p[i].n = g->count;
		sorted = 1;
		for (x = g->head; x != BNONE; x = b->v[x].next) {
			if (q > p[i].nums && q[-1] >= b->v[x].num)
				sorted = 0;
			*q++ = b->v[x].num;
		}
		if (!sorted)
			qsort((void *)(uintptr_t)p[i].nums, p[i].n, sizeof(*nums), num_cmp);
	}
	qsort(p, b->ng, sizeof(*p), posting_cmp);
	rc = store_search_put_sorted(t, p, b->ng);
out:
	free(p);
	free(nums);
	if (rc != MK_OK)
		return rc;
done:
	if (entries != NULL)
		*entries = b->n;
	b->n = 0;
	b->ng = 0;
	b->alen = 0;
	b->users = 0;
	if (b->slot != NULL)
		memset(b->slot, 0, b->nslot * sizeof(*b->slot));
	return MK_OK;
}

/* ---- administration ---- */

struct rebuild {
	uint32_t from;           /* the next number to index */
	size_t batch, users, entries;
	int more;
	enum mk_code rc;
	struct store_txn *t;
	struct sindex_batch *b;
};

static int
rebuild_visit(void *ctx, uint32_t num, struct mk_slice id)
{
	struct rebuild *rb = ctx;
	struct json_object *u = NULL;
	struct mk_slice rec;

	if (rb->batch == REBUILD_BATCH) {
		rb->more = 1;
		return 1;
	}
	rb->rc = store_get(rb->t, ST_USERS, id, &rec);
	if (rb->rc == MK_ERR_NOTFOUND) {
		/* A stray number (check reports it): nothing to index. */
		rb->rc = MK_OK;
	} else if (rb->rc != MK_OK) {
		return 1;
	} else if (jx_parse_stored(rec.p, rec.n, &u) != MK_OK) {
		log_warnx("rebuild: user %.*s does not parse; not indexed", (int)id.n, id.p);
	} else {
		rb->rc = sindex_batch_add(rb->b, u, num);
		json_object_put(u);
		if (rb->rc != MK_OK)
			return 1;
		rb->users++;
	}
	rb->from = num + 1;
	rb->batch++;
	return 0;
}

static enum mk_code
rebuild_clear_tx(struct store_txn *t, void *ctx, struct mk_err *err)
{
	size_t fixed = 0;
	enum mk_code rc;

	(void)ctx;
	(void)err;
	if ((rc = store_user_nums_repair(t, &fixed)) != MK_OK)
		return rc;
	if (fixed > 0)
		log_info("rebuild: %zu user numbers repaired", fixed);
	return store_search_clear(t);
}

static enum mk_code
rebuild_batch_tx(struct store_txn *t, void *ctx, struct mk_err *err)
{
	struct rebuild *rb = ctx;
	enum mk_code rc;
	size_t n = 0;

	(void)err;
	rb->t = t;
	rb->batch = 0;
	rb->more = 0;
	rb->rc = MK_OK;
	rc = store_user_nums_scan(t, rb->from, rebuild_visit, rb);
	if (rc == MK_OK)
		rc = rb->rc;
	if (rc == MK_OK)
		rc = sindex_batch_write(t, rb->b, &n);
	if (rc == MK_OK)
		rb->entries += n;
	if (rc == MK_OK && !rb->more)
		rc = store_search_set_ready(t, 1);
	return rc;
}

enum mk_code
sindex_rebuild(struct store *s, size_t *users, size_t *entries, struct mk_err *err)
{
	struct rebuild rb, saved;
	enum mk_code rc;

	memset(&rb, 0, sizeof(rb));
	if (sindex_batch_new(&rb.b) != MK_OK)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	if ((rc = store_write(s, rebuild_clear_tx, &rb, err)) != MK_OK)
		goto out;
	do {
		/* An aborted batch must not advance the resume point. */
		saved = rb;
		if ((rc = store_write(s, rebuild_batch_tx, &rb, err)) != MK_OK) {
			rb = saved;
			goto out;
		}
	} while (rb.more);
	if (users != NULL)
		*users = rb.users;
	if (entries != NULL)
		*entries = rb.entries;
out:
	sindex_batch_free(rb.b);
	return rc;
}

struct check {
	struct store_txn *t;
	sindex_report_fn fn;
	void *ctx;
	size_t problems, expected, users;
	enum mk_code rc;
};

static void
report(struct check *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
report(struct check *ck, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	ck->problems++;
	if (ck->problems > CHECK_NAMED || ck->fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ck->fn(ck->ctx, line);
}

static void
printable_key(struct mk_slice k, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < k.n && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)k.p[i];
		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

static int
check_visit(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	struct check *ck = ctx;
	struct json_object *u = NULL;
	struct mk_slice *keys = NULL, back = { NULL, 0 };
	size_t n = 0, i;
	uint32_t num;
	char pk[160];
	int has;

	ck->users++;
	if ((ck->rc = store_user_num(ck->t, key, &num)) != MK_OK)
		return 1;
	if (store_user_id(ck->t, num, &back) != MK_OK || slice_cmp(&back, &key) != 0)
		report(ck, "search: user %.*s has number %u, which names %s", (int)key.n,
		    key.p, num, back.p == NULL ? "no user" : "another user");
	if (jx_parse_stored(rec.p, rec.n, &u) != MK_OK) {
		report(ck, "search: user %.*s does not parse", (int)key.n, key.p);
		return 0;
	}
	if ((ck->rc = sindex_user_keys(u, &keys, &n)) != MK_OK) {
		json_object_put(u);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if ((ck->rc = store_search_has(ck->t, keys[i], num, &has)) != MK_OK)
			break;
		if (!has) {
			printable_key(keys[i], pk, sizeof(pk));
			report(ck, "search: user %.*s lacks entry %s", (int)key.n, key.p, pk);
		}
	}
	ck->expected += n;
	sindex_keys_free(keys, n);
	json_object_put(u);
	return ck->rc != MK_OK;
}

static int
count_num(void *ctx, uint32_t num, struct mk_slice id)
{
	(void)num;
	(void)id;
	(*(size_t *)ctx)++;
	return 0;
}

enum mk_code
sindex_check(struct store *s, sindex_report_fn fn, void *ctx, size_t *problems,
    struct mk_err *err)
{
	struct check ck;
	struct store_txn *t = NULL;
	size_t entries = 0, nums = 0, misplaced = 0;
	enum mk_code rc;
	int ready = 0;

	memset(&ck, 0, sizeof(ck));
	ck.fn = fn;
	ck.ctx = ctx;
	if ((rc = store_read_begin(s, &t)) != MK_OK)
		return mk_fail(err, rc, "search check: cannot read the store");
	ck.t = t;
	if ((rc = store_search_ready(t, &ready)) != MK_OK)
		goto out;
	if (!ready)
		report(&ck, "search: index not marked complete (never built, or "
		    "upgraded from an older format); searches scan every user");
	rc = store_users_scan(t, &store_page_all, check_visit, &ck);
	if (rc == MK_OK)
		rc = ck.rc;
	if (rc != MK_OK)
		goto out;
	if ((rc = store_user_nums_scan(t, 0, count_num, &nums)) != MK_OK)
		goto out;
	if (nums > ck.users)
		report(&ck, "search: %zu stray user numbers (%zu numbers, %zu users)",
		    nums - ck.users, nums, ck.users);
	if ((rc = store_search_entries(t, &entries)) != MK_OK)
		goto out;
	if (entries > ck.expected)
		report(&ck, "search: %zu stray entries (%zu in the index, %zu expected)",
		    entries - ck.expected, entries, ck.expected);
	if ((rc = store_search_misplaced(t, &misplaced)) != MK_OK)
		goto out;
	if (misplaced > 0)
		report(&ck, "search: %zu keys with numbers on the wrong side of the "
		    "new users' floor (terms / terms_new)", misplaced);
	if (ck.problems > CHECK_NAMED && fn != NULL) {
		char line[96];
		snprintf(line, sizeof(line), "search: %zu more problems not listed",
		    ck.problems - CHECK_NAMED);
		fn(ctx, line);
	}
	*problems = ck.problems;
out:
	store_txn_end(t);
	if (rc != MK_OK)
		return mk_fail(err, rc, "search check failed");
	return MK_OK;
}
