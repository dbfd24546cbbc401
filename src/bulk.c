/*
 * bulk: an import into a store without users, in one sorted write (bulk.h).
 */
#include "config.h"

#include "bulk.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jx.h"
#include "meta.h"
#include "model.h"
#include "sindex.h"
#include "util.h"

struct bkey {
	size_t off, n;
};

#define BULK_BLOCK ((size_t)64 << 20)
struct bblock {
	char *p;
	size_t len, cap;
};

/* A pointer into r->mem, moved to the same place in dst; NULL stays. */
#define REBASE(x) ((x) == NULL ? NULL : dst + ((const char *)(x) - r->mem))

struct bulk {
	struct store *s;
	const struct svc_limits *l;
	const char *connection;
	int64_t now_ms;
	uint32_t first;             /* the store's next user number at the start */
	struct store_user_new *v;   /* gathered, in file order */
	struct bblock *blk;         /* their strings, record after record */
	size_t nblk, blkcap;
	size_t n, cap, bytes;
	struct sindex_batch *terms; /* their postings, grouped per term */
	/* The keys named so far (user_ids, email '\0' connection): a set. */
	uint64_t *slot;             /* hash >> 32 << 32 | (index into key) + 1, or 0 */
	size_t nslot, nkeys;
	struct bkey *key;           /* key i: ka[key[i].off .. + key[i].n] */
	size_t kcap;
	char *ka;
	size_t kalen, kacap;
};

enum mk_code
bulk_begin(struct store *s, const struct svc_limits *l, const char *connection,
    struct bulk **out, struct mk_err *err)
{
	struct store_txn *t = NULL;
	struct bulk *b;
	size_t users = 0;
	uint32_t first = 0;
	enum mk_code rc;

	if ((rc = store_read_begin(s, &t)) != MK_OK)
		return mk_fail(err, rc, "store: cannot read");
	rc = store_count(t, ST_USERS, &users);
	if (rc == MK_OK)
		rc = store_user_num_limit(t, &first);
	store_txn_end(t);
	if (rc != MK_OK)
		return mk_fail(err, rc, "store: cannot count the users");
	if (users > 0)
		return MK_ERR_EXISTS;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    sindex_batch_new(&b->terms) != MK_OK) {
		free(b);
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	}
	b->s = s;
	b->l = l;
	b->connection = connection;
	b->now_ms = mk_now_ms();
	b->first = first;
	*out = b;
	return MK_OK;
}

void
bulk_rec_free(struct bulk_rec *r)
{
	if (r == NULL)
		return;
	free(r->mem);
	if (r->terms != NULL)
		sindex_keys_free(r->terms, r->nterms);
	memset(r, 0, sizeof(*r));
}

/* Copy s (may be NULL) to *p, NUL-terminated; the copy or NULL. */
static const char *
put_str(char **p, const char *s)
{
	char *d = *p;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(d, s, n);
	*p += n;
	return d;
}

enum mk_code
bulk_prepare(const struct bulk *b, struct json_object *rec, struct bulk_rec *r,
    struct mk_err *err)
{
	struct model_ctx mctx;
	struct model_user_keys mk;
	struct json_object *user = NULL, *idv;
	const char *hash = NULL, *text;
	char id[25], *p;
	size_t tn, max = b->l != NULL ? b->l->max_user_bytes : 0, need;
	enum mk_code rc;

	memset(r, 0, sizeof(*r));
	memset(&mctx, 0, sizeof(mctx));
	mctx.connections = b->l != NULL ? b->l->connections : NULL;
	mctx.max_depth = b->l != NULL ? b->l->max_depth : META_DEFAULT_MAX_DEPTH;
	mctx.now_ms = b->now_ms;
	mctx.import_connection = b->connection;
	/* A random id only for a record without one (as svc_user_import). */
	if (!json_object_object_get_ex(rec, "user_id", &idv) ||
	    json_object_is_type(idv, json_type_null)) {
		if (mk_random_chars(id, 24, MK_ALPHA_HEX) == -1)
			return mk_fail(err, MK_ERR_INTERNAL, "no randomness");
		mctx.new_id = id;
	}
	if ((rc = model_user_import(rec, &mctx, &user, &hash, err)) != MK_OK)
		return rc;
	if ((text = jx_text(user, &tn)) == NULL) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (max > 0 && tn > max) {
		rc = mk_fail(err, MK_ERR_INVALID, "Payload validation error: 'The object "
		    "would be %zu bytes, over the limit of %zu bytes'.", tn, max);
		goto out;
	}
	model_user_keys(user, &mk);
	r->u.k.user_id = mk.user_id;
	r->u.k.email = mk.email;
	r->u.k.connection = mk.connection;
	r->u.k.created_at = mk.created_at;
	r->u.k.updated_at = mk.updated_at;
	if (!store_user_keys_fit(b->s, &r->u.k)) {
		rc = mk_fail(err, MK_ERR_INVALID, "Payload validation error: 'email (%zu "
		    "bytes) and user_id (%zu bytes) are too long together to be indexed; "
		    "shorten one of them'.", mk.email != NULL ? strlen(mk.email) : 0,
		    strlen(mk.user_id));
		goto out;
	}
	if ((rc = sindex_user_keys(user, &r->terms, &r->nterms)) != MK_OK) {
		rc = mk_fail(err, rc, "out of memory");
		goto out;
	}
	/* One block: the text, then the keys and the hash, NUL-terminated. */
	need = tn + 1 + strlen(mk.user_id) + 1 + (mk.email ? strlen(mk.email) + 1 : 0) +
	    strlen(mk.connection) + 1 + strlen(mk.created_at) + 1 +
	    strlen(mk.updated_at) + 1 + (hash != NULL ? strlen(hash) + 1 : 0);
	r->memn = need;
	if ((r->mem = malloc(need)) == NULL) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	p = r->mem;
	memcpy(p, text, tn);
	p[tn] = '\0';
	r->u.rec.p = p;
	r->u.rec.n = tn;
	p += tn + 1;
	r->u.k.user_id = put_str(&p, mk.user_id);
	r->u.k.email = put_str(&p, mk.email);
	r->u.k.connection = put_str(&p, mk.connection);
	r->u.k.created_at = put_str(&p, mk.created_at);
	r->u.k.updated_at = put_str(&p, mk.updated_at);
	r->u.pwhash = put_str(&p, hash);
	rc = MK_OK;
out:
	json_object_put(user);
	if (rc != MK_OK)
		bulk_rec_free(r);
	return rc;
}

/* Double the key set's table; -1: no memory. */
static int
set_grow(struct bulk *b)
{
	size_t nslot = b->nslot ? b->nslot * 2 : 65536, i, j;
	uint64_t *slot;

	if ((slot = calloc(nslot, sizeof(*slot))) == NULL)
		return -1;
	for (i = 0; i < b->nslot; i++) {
		if (b->slot[i] == 0)
			continue;
		for (j = (size_t)(b->slot[i] >> 32) & (nslot - 1); slot[j] != 0;
		    j = (j + 1) & (nslot - 1))
			;
		slot[j] = b->slot[i];
	}
	free(b->slot);
	b->slot = slot;
	b->nslot = nslot;
	return 0;
}

/*
 * Is key k[0..n-1] in the set?  add: put it in when not.  1: it was there,
 * 0: it was not, -1: no memory.  Slots keep 32 bits of the hash.
 */
static int
set_has(struct bulk *b, const char *k, size_t n, int add)
{
	uint64_t h = mk_fnv1a(k, n, MK_FNV1A_INIT), hi = h >> 32;
	size_t j, ki;
	char *na;

	if ((b->nkeys + 1) * 2 > b->nslot && set_grow(b) == -1)
		return -1;
	for (j = hi & (b->nslot - 1); b->slot[j] != 0; j = (j + 1) & (b->nslot - 1)) {
		if ((b->slot[j] >> 32) != hi)
			continue;
		ki = (size_t)(b->slot[j] & 0xffffffffu) - 1;
		if (b->key[ki].n == n && memcmp(b->ka + b->key[ki].off, k, n) == 0)
			return 1;
	}
	if (!add)
		return 0;
	if (b->nkeys >= 0xfffffffeu)
		return -1;
	if (b->nkeys == b->kcap) {
		size_t c = b->kcap ? b->kcap * 2 : 65536;
		struct bkey *no = realloc(b->key, c * sizeof(*no));

		if (no == NULL)
			return -1;
		b->key = no;
		b->kcap = c;
	}
	if (b->kacap - b->kalen < n) {
		size_t c = b->kacap ? b->kacap * 2 : ((size_t)1 << 20);

		while (c - b->kalen < n)
			c *= 2;
		if ((na = realloc(b->ka, c)) == NULL)
			return -1;
		b->ka = na;
		b->kacap = c;
	}
	memcpy(b->ka + b->kalen, k, n);
	b->key[b->nkeys].off = b->kalen;
	b->key[b->nkeys].n = n;
	b->kalen += n;
	b->slot[j] = hi << 32 | (uint64_t)(b->nkeys + 1);
	b->nkeys++;
	return 0;
}

size_t
bulk_count(const struct bulk *b)
{
	return b->n;
}

size_t
bulk_bytes(const struct bulk *b)
{
	return b->bytes;
}

enum mk_code
bulk_add(struct bulk *b, struct bulk_rec *r, int *deferred)
{
	char kbuf[1024], *ek = kbuf, *dst;
	struct store_user_new *u;
	size_t idn = strlen(r->u.k.user_id), en = 0, cn;
	int had_id, had_email = 0;

	*deferred = 0;
	/* The (email, connection) key. */
	if (r->u.k.email != NULL && r->u.k.email[0] != '\0') {
		en = strlen(r->u.k.email);
		cn = strlen(r->u.k.connection);
		if (en + cn + 2 > sizeof(kbuf) && (ek = malloc(en + cn + 2)) == NULL)
			return MK_ERR_NOMEM;
		ek[0] = 'e';
		memcpy(ek + 1, r->u.k.email, en);
		ek[1 + en] = '\0';
		memcpy(ek + 2 + en, r->u.k.connection, cn);
		en = 2 + en + cn;
	}
	/* Every key of the record goes in the set, gathered or not: a later
	 * record that shares one is deferred too. */
	had_id = set_has(b, r->u.k.user_id, idn, 1);
	if (had_id != -1 && en > 0)
		had_email = set_has(b, ek, en, 1);
	if (ek != kbuf)
		free(ek);
	if (had_id == -1 || had_email == -1)
		return MK_ERR_NOMEM;
	if (had_id || had_email) {
		*deferred = 1;
		return MK_OK;
	}
	if ((size_t)b->first + b->n + 1 >= UINT32_MAX)
		return MK_ERR_FULL;
	if (b->n == b->cap) {
		size_t c = b->cap ? b->cap * 2 : 4096;
		struct store_user_new *nv = realloc(b->v, c * sizeof(*nv));

		if (nv == NULL)
			return MK_ERR_NOMEM;
		b->v = nv;
		b->cap = c;
	}
	/* The record's block into the current arena block (few large
	 * allocations, all of this thread). */
	if (b->nblk == 0 || b->blk[b->nblk - 1].cap - b->blk[b->nblk - 1].len < r->memn) {
		size_t c = r->memn > BULK_BLOCK ? r->memn : BULK_BLOCK;
		struct bblock *nb;

		if (b->nblk == b->blkcap) {
			size_t bc = b->blkcap ? b->blkcap * 2 : 16;

			if ((nb = realloc(b->blk, bc * sizeof(*nb))) == NULL)
				return MK_ERR_NOMEM;
			b->blk = nb;
			b->blkcap = bc;
		}
		if ((b->blk[b->nblk].p = malloc(c)) == NULL)
			return MK_ERR_NOMEM;
		b->blk[b->nblk].cap = c;
		b->blk[b->nblk].len = 0;
		b->nblk++;
	}
	if (sindex_batch_add_keys(b->terms, r->terms, r->nterms,
	    b->first + (uint32_t)b->n) != MK_OK)
		return MK_ERR_NOMEM;
	dst = b->blk[b->nblk - 1].p + b->blk[b->nblk - 1].len;
	memcpy(dst, r->mem, r->memn);
	b->blk[b->nblk - 1].len += r->memn;
	u = &b->v[b->n];
	*u = r->u;
	u->rec.p = REBASE(u->rec.p);
	u->k.user_id = REBASE(u->k.user_id);
	u->k.email = REBASE(u->k.email);
	u->k.connection = REBASE(u->k.connection);
	u->k.created_at = REBASE(u->k.created_at);
	u->k.updated_at = REBASE(u->k.updated_at);
	u->pwhash = REBASE(u->pwhash);
	b->bytes += r->u.rec.n;
	b->n++;
	return MK_OK;
}

static enum mk_code
commit_tx(struct store_txn *t, void *vb, struct mk_err *err)
{
	struct bulk *b = vb;
	enum mk_code rc;

	if ((rc = store_users_bulk(t, b->v, b->n, b->first)) != MK_OK) {
		if (rc == MK_ERR_BUSY)
			return mk_fail(err, rc, "the store got users since the import "
			    "began (another process wrote)");
		return mk_fail(err, rc, "writing the users: %s", mk_code_name(rc));
	}
	if ((rc = sindex_batch_write(t, b->terms, NULL)) != MK_OK)
		return mk_fail(err, rc, "writing the search index: %s", mk_code_name(rc));
	return MK_OK;
}

enum mk_code
bulk_commit(struct bulk *b, struct mk_err *err)
{
	enum mk_code rc;
	size_t i;

	if (b->n == 0)
		return MK_OK;
	/* Room for the whole write in the map before it begins. */
	store_reserve(b->s, b->bytes * 2 + b->n * 512 + ((size_t)64 << 20));
	rc = store_write(b->s, commit_tx, b, err);
	/* Written or not, the records are given back now (bulk_prepare in
	 * other threads may still use b). */
	for (i = 0; i < b->nblk; i++)
		free(b->blk[i].p);
	free(b->blk);
	free(b->v);
	b->blk = NULL;
	b->v = NULL;
	b->n = b->cap = b->bytes = b->nblk = b->blkcap = 0;
	return rc;
}

void
bulk_free(struct bulk *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nblk; i++)
		free(b->blk[i].p);
	free(b->blk);
	free(b->v);
	sindex_batch_free(b->terms);
	free(b->slot);
	free(b->key);
	free(b->ka);
	free(b);
}
