/*
 * ratelimit: lock-free token buckets in memory shared across fork()
 * (see ratelimit.h).
 *
 * A bucket's state is one 64-bit word: the time its tokens were last
 * counted (40 bits, ms since RL_EPOCH_MS: 34 years) and its tokens (24
 * bits, in 1/RL_UNIT of a token, so slow rates refill smoothly).  Every
 * change is a compare-and-swap of the whole word from the value it was
 * computed from; a process killed at any instruction leaves either value,
 * and there is no lock to leak.  State 0 is a bucket never used: full.
 */
#include "ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util.h"

#define RL_UNIT 64u                         /* fractions of a token */
#define RL_TOKEN_BITS 24
#define RL_TOKEN_MASK ((UINT64_C(1) << RL_TOKEN_BITS) - 1)
#define RL_TIME_MASK ((UINT64_C(1) << 40) - 1)
#define RL_EPOCH_MS INT64_C(1735689600000)  /* 2025-01-01T00:00:00Z */
#define RL_PROBES 16

struct rl_bucket {
	uint64_t key;      /* 0: free; else a caller's hash */
	uint64_t state;    /* time << 24 | tokens; 0: never used (full) */
};

struct ratelimit {
	struct rl_bucket *b;
	size_t n;          /* a power of two */
	size_t len;        /* bytes mapped */
};

enum mk_code
ratelimit_new(size_t nbuckets, struct ratelimit **out, struct mk_err *err)
{
	struct ratelimit *rl;
	size_t n = 64;
	void *p;

	while (n < nbuckets && n < ((size_t)1 << 24))
		n <<= 1;
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	rl->n = n;
	rl->len = n * sizeof(struct rl_bucket);
	p = mmap(NULL, rl->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		mk_fail(err, MK_ERR_INTERNAL, "rate limits: mmap of %zu bytes: %s", rl->len,
		    strerror(errno));
		free(rl);
		return MK_ERR_INTERNAL;
	}
	rl->b = p;    /* zero: every bucket free */
	*out = rl;
	return MK_OK;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	munmap(rl->b, rl->len);
	free(rl);
}

/* FNV-1a, then a final mix so that nearby names spread; never 0. */
static uint64_t
rl_hash(const void *p, size_t n)
{
	uint64_t h = mk_fnv1a(p, n, MK_FNV1A_INIT);

	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h == 0 ? 1 : h;
}

/* ms a bucket of class cl takes to refill from empty: idle that long, it is full. */
static uint64_t
rl_full_ms(const struct ratelimit_class *cl)
{
	return (uint64_t)cl->burst * 60000u / cl->rate + 1;
}

/*
 * The bucket of key: its own, a free one claimed, a stale one taken over
 * (its state cleared: full), or the first probed when all are busy.
 */
static struct rl_bucket *
rl_find(struct ratelimit *rl, uint64_t key, const struct ratelimit_class *cl,
    uint64_t now)
{
	size_t i, at = (size_t)key & (rl->n - 1);
	struct rl_bucket *b, *stale = NULL;
	uint64_t k, st, zero;

	for (i = 0; i < RL_PROBES; i++) {
		b = &rl->b[(at + i) & (rl->n - 1)];
		k = __atomic_load_n(&b->key, __ATOMIC_ACQUIRE);
		if (k == key)
			return b;
		if (k == 0) {
			zero = 0;
			if (__atomic_compare_exchange_n(&b->key, &zero, key, 0,
			    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) || zero == key)
				return b;
			continue;
		}
		st = __atomic_load_n(&b->state, __ATOMIC_ACQUIRE);
		if (stale == NULL && st != 0 && now - (st >> RL_TOKEN_BITS) > rl_full_ms(cl))
			stale = b;
	}
	if (stale != NULL) {
		k = __atomic_load_n(&stale->key, __ATOMIC_ACQUIRE);
		if (k != key && __atomic_compare_exchange_n(&stale->key, &k, key, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			__atomic_store_n(&stale->state, 0, __ATOMIC_RELEASE);
		return stale;
	}
	return &rl->b[at];
}

void
ratelimit_take(struct ratelimit *rl, const void *caller, size_t n,
    const struct ratelimit_class *cl, int64_t now_ms, struct ratelimit_result *res)
{
	uint64_t now, st, t, tok, cap, per_min, gained, next, left_ms;
	struct rl_bucket *b;
	int ok;

	now = (uint64_t)(now_ms > RL_EPOCH_MS ? now_ms - RL_EPOCH_MS : 0) & RL_TIME_MASK;
	cap = (uint64_t)cl->burst * RL_UNIT;
	per_min = (uint64_t)cl->rate * RL_UNIT;   /* units per 60000 ms */
	b = rl_find(rl, rl_hash(caller, n), cl, now);
	st = __atomic_load_n(&b->state, __ATOMIC_ACQUIRE);
	for (;;) {
		if (st == 0) {
			t = now;
			tok = cap;
		} else {
			t = st >> RL_TOKEN_BITS;
			tok = st & RL_TOKEN_MASK;
			if (tok > cap)      /* the class shrank, or a shared bucket */
				tok = cap;
			if (now > t && now - t >= rl_full_ms(cl)) {
				t = now;
				tok = cap;
			} else if (now > t) {
				/* Whole units only; the time they took is used, the rest kept. */
				gained = (now - t) * per_min / 60000u;
				if (tok + gained >= cap) {
					tok = cap;
					t = now;
				} else {
					tok += gained;
					t += (gained * 60000u + per_min - 1) / per_min;
				}
			}
		}
		ok = tok >= RL_UNIT;
		if (ok)
			tok -= RL_UNIT;
		next = (t & RL_TIME_MASK) << RL_TOKEN_BITS | tok;
		if (next == 0)
			next = 1;   /* 0 means "never used"; time 0 and no tokens is not it */
		if (!ok && st != 0)
			break;      /* nothing to write: a refused request takes nothing */
		if (__atomic_compare_exchange_n(&b->state, &st, next, 0, __ATOMIC_ACQ_REL,
		    __ATOMIC_ACQUIRE))
			break;
	}
	res->allowed = ok;
	res->limit = cl->burst;
	res->remaining = (unsigned)(tok / RL_UNIT);
	left_ms = (cap - tok) * 60000u / per_min;
	res->reset_s = (now_ms + (int64_t)left_ms + 999) / 1000;
	res->retry_after_s = 0;
	if (!ok) {
		left_ms = ((RL_UNIT - tok) * 60000u + per_min - 1) / per_min;
		res->retry_after_s = (unsigned)((left_ms + 999) / 1000);
		if (res->retry_after_s == 0)
			res->retry_after_s = 1;
	}
}
