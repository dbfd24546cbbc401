/*
 * test_ratelimit: the shared token buckets (ratelimit.c), with real
 * processes sharing one region, and a clock the test sets.
 *
 *   burst_then_refused      a full bucket gives burst tokens, then 429s
 *                           with Retry-After; remaining counts down
 *   refills_at_the_rate     tokens come back at rate per minute, also in
 *                           steps smaller than one token
 *   callers_apart           two callers have a bucket each
 *   processes_share         8 processes taking at once from one bucket
 *                           get exactly burst tokens, not one more
 *   killed_mid_update       processes SIGKILLed while taking leave the
 *                           bucket usable and never over its burst
 *   stale_bucket_reused     with every bucket taken, an idle (full) one
 *                           is given to a new caller
 */
#define _DEFAULT_SOURCE
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ratelimit.h"

#define T0 INT64_C(1796000000000)   /* some time in 2026, ms */

static struct ratelimit *
mk(size_t n)
{
	struct ratelimit *rl = NULL;
	struct mk_err err;

	cr_assert_eq(ratelimit_new(n, &rl, &err), MK_OK);
	return rl;
}

static int
take(struct ratelimit *rl, const char *who, const struct ratelimit_class *cl, int64_t now,
    struct ratelimit_result *r)
{
	ratelimit_take(rl, who, strlen(who), cl, now, r);
	return r->allowed;
}

Test(ratelimit, burst_then_refused)
{
	struct ratelimit *rl = mk(64);
	struct ratelimit_class cl = { 60, 5 };   /* one a second, five at once */
	struct ratelimit_result r;
	int i;

	for (i = 0; i < 5; i++) {
		cr_assert(take(rl, "t:a", &cl, T0, &r), "request %d", i);
		cr_assert_eq(r.limit, 5);
		cr_assert_eq(r.remaining, (unsigned)(4 - i));
	}
	cr_assert_not(take(rl, "t:a", &cl, T0, &r));
	cr_assert_eq(r.remaining, 0);
	cr_assert_eq(r.retry_after_s, 1);
	/* empty: full again in 5 s */
	cr_assert_eq(r.reset_s, T0 / 1000 + 5);
	ratelimit_free(rl);
}

Test(ratelimit, refills_at_the_rate)
{
	struct ratelimit *rl = mk(64);
	struct ratelimit_class cl = { 60, 2 };
	struct ratelimit_result r;
	int64_t t;
	int got = 0;

	cr_assert(take(rl, "x", &cl, T0, &r));
	cr_assert(take(rl, "x", &cl, T0, &r));
	cr_assert_not(take(rl, "x", &cl, T0 + 500, &r));
	cr_assert(take(rl, "x", &cl, T0 + 1000, &r));
	/* Asked every 10 ms for 10 s: one token a second, no more, no less. */
	for (t = T0 + 1010; t <= T0 + 11000; t += 10)
		got += take(rl, "x", &cl, t, &r);
	cr_assert_eq(got, 10, "got %d", got);
	ratelimit_free(rl);
}

Test(ratelimit, callers_apart)
{
	struct ratelimit *rl = mk(64);
	struct ratelimit_class cl = { 1, 1 };
	struct ratelimit_result r;

	cr_assert(take(rl, "t:a", &cl, T0, &r));
	cr_assert_not(take(rl, "t:a", &cl, T0, &r));
	cr_assert(take(rl, "t:b", &cl, T0, &r));
	ratelimit_free(rl);
}

/* Children take from one bucket until refused; each counts in *counts. */
static void
run_children(struct ratelimit *rl, const struct ratelimit_class *cl, unsigned *counts,
    int n, pid_t *pids)
{
	struct ratelimit_result r;
	int i;

	for (i = 0; i < n; i++) {
		if ((pids[i] = fork()) == 0) {
			unsigned got = 0;

			for (;;) {
				ratelimit_take(rl, "shared", 6, cl, T0, &r);
				if (r.allowed)
					__atomic_add_fetch(&counts[i], 1, __ATOMIC_SEQ_CST);
				else if (++got > 1000)
					_exit(0);
			}
		}
		cr_assert_gt(pids[i], 0);
	}
}

Test(ratelimit, processes_share)
{
	struct ratelimit *rl = mk(64);
	struct ratelimit_class cl = { 1, 20000 };
	unsigned *counts, total = 0;
	pid_t pids[8];
	int i, st;

	counts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(counts, MAP_FAILED);
	run_children(rl, &cl, counts, 8, pids);
	for (i = 0; i < 8; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		total += counts[i];
	}
	cr_assert_eq(total, 20000, "8 processes got %u tokens of 20000", total);
	munmap(counts, 4096);
	ratelimit_free(rl);
}

Test(ratelimit, killed_mid_update)
{
	struct ratelimit *rl = mk(64);
	struct ratelimit_class cl = { 60, 200000 };
	struct ratelimit_result r;
	unsigned *counts, total = 0, taken;
	pid_t pids[4];
	int i, round, st;

	counts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(counts, MAP_FAILED);
	/* Kill takers at random points of their loop, several times over. */
	for (round = 0; round < 5; round++) {
		run_children(rl, &cl, counts, 4, pids);
		usleep(20000 + (useconds_t)round * 7000);
		for (i = 0; i < 4; i++)
			kill(pids[i], SIGKILL);
		for (i = 0; i < 4; i++)
			waitpid(pids[i], &st, 0);
	}
	for (i = 0; i < 4; i++)
		total += counts[i];
	/* The bucket still answers, and never gave more than it held. */
	ratelimit_take(rl, "shared", 6, &cl, T0, &r);
	taken = 200000u - r.remaining - (unsigned)r.allowed;
	/* A child killed between its take and its count: at most one a kill. */
	cr_assert(total <= taken && taken <= total + 20, "counted %u, the bucket lost %u",
	    total, taken);
	/* and it refills as before */
	ratelimit_take(rl, "shared", 6, &cl, T0 + 60000, &r);
	cr_assert(r.allowed);
	cr_assert_geq(r.remaining, 59);
	munmap(counts, 4096);
	ratelimit_free(rl);
}

Test(ratelimit, stale_bucket_reused)
{
	struct ratelimit *rl = mk(64);
	struct ratelimit_class cl = { 60, 1 };
	struct ratelimit_result r;
	char who[32];
	int i;

	/* 200 callers in 64 buckets: later ones share or take over. */
	for (i = 0; i < 200; i++) {
		snprintf(who, sizeof(who), "t:%d", i);
		take(rl, who, &cl, T0, &r);
	}
	/* A minute later every bucket is full again: a new caller gets its own. */
	cr_assert(take(rl, "t:new", &cl, T0 + 60000, &r));
	cr_assert_not(take(rl, "t:new", &cl, T0 + 60000, &r));
	cr_assert(take(rl, "t:other", &cl, T0 + 60000, &r));
	ratelimit_free(rl);
}
