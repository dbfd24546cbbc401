/*
 * ratelimit: token buckets per caller, shared by every process of a pool.
 *
 * The master makes the region before it forks (ratelimit_new); every
 * worker takes from the same buckets, so a caller's limit holds whatever
 * worker answers it.  A bucket is two 64-bit words, its caller's key (a
 * hash of the caller's name) and its state (tokens and the time they were
 * counted), each changed only by one compare-and-swap: there is no lock,
 * so a worker killed in the middle of an update leaves every bucket as it
 * was before or after that update, never half-written, and nothing held.
 *
 * Tokens refill continuously at rate per minute up to burst (the bucket
 * starts full).  A caller's key finds its bucket by open addressing (16
 * probes); a bucket idle long enough to be full again may be taken over by
 * another caller (it has nothing left to remember); when all 16 are busy
 * the caller shares the first one with its owner (both are limited
 * together, never less than either alone).
 *
 * Knows nothing of HTTP or of the store: api turns a result into headers.
 */
#ifndef MK_RATELIMIT_H
#define MK_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct ratelimit;

#define RATELIMIT_BURST_MAX 200000u       /* tokens a bucket can hold */
#define RATELIMIT_RATE_MAX 12000000u      /* per minute (200k a second) */

/* One class of limit (reads or writes): rate per minute, bucket size. */
struct ratelimit_class {
	unsigned rate;      /* tokens added per minute, 1..RATELIMIT_RATE_MAX */
	unsigned burst;     /* bucket size, 1..RATELIMIT_BURST_MAX */
};

/* What one take saw, for the x-ratelimit-* headers. */
struct ratelimit_result {
	int allowed;               /* 1: go on; 0: answer 429 */
	unsigned limit;            /* the bucket's size (x-ratelimit-limit) */
	unsigned remaining;        /* whole tokens left after this request */
	int64_t reset_s;           /* UTC epoch seconds when the bucket is full again */
	unsigned retry_after_s;    /* when !allowed: seconds until one token (>= 1) */
};

/*
 * Make a region of nbuckets buckets (rounded up to a power of two, at least
 * 64), before fork().  On success *out is owned by the caller
 * (ratelimit_free) and children inherit it.  Errors: MK_ERR_NOMEM,
 * MK_ERR_INTERNAL (err->msg says why).
 */
enum mk_code ratelimit_new(size_t nbuckets, struct ratelimit **out, struct mk_err *err);
/* Unmap the region in this process.  rl may be NULL. */
void ratelimit_free(struct ratelimit *rl);

/*
 * Take one token from the bucket of caller (n bytes, any bytes) under
 * class cl at now_ms (ms since the epoch), and describe the bucket in *res.
 * Never blocks, never fails.  Six parameters: caller and n are one byte
 * range.
 */
void ratelimit_take(struct ratelimit *rl, const void *caller, size_t n,
    const struct ratelimit_class *cl, int64_t now_ms, struct ratelimit_result *res);

#endif
