/*
 * gc: group commit across the worker pool (see gc.h).
 *
 * The region: a header (the robust mutex, batch numbers) and nslots
 * slots.  A slot belongs to one live worker (owner pid) and moves
 *   FREE -> POSTED (owner: request in data) -> TAKEN (leader, batch b)
 *        -> DONE (leader: result in data) -> FREE (owner, result read).
 * Only the owner moves FREE->POSTED and DONE->FREE; only the lock holder
 * moves POSTED->TAKEN->DONE (and TAKEN->POSTED when a dead leader's batch
 * did not commit, TAKEN->FREE for that leader's own write, and
 * POSTED->FREE when the owner is dead).
 *
 * An owner holds its slot's "life" mutex (robust, process-shared) from
 * gc_attach until it dies; the kernel lets it go as the process exits,
 * before its sockets close, so before the web server can tell the client
 * that the request failed.  A leader takes a posted write only while its
 * owner holds that mutex: the write of a killed worker is never applied
 * after its client saw the failure (and perhaps sent other writes that
 * were answered: the dead write would have landed on top of them).
 *
 * Sleeping.  An owner sleeps on its slot's wseq word with its sleeping
 * flag set; whoever changes what it waits for (its write DONE, the lock
 * let go while it is POSTED) bumps wseq and wakes it, but only when the
 * flag is set.  The owner sets the flag and reads wseq before it checks
 * its state and tries the lock, the waker changes the state (or lets the
 * lock go) before it reads the flag, each with a full fence between: a
 * wake-up is never lost, and none is made for an owner that is awake.  The
 * leader never wakes its own slot; unlock() wakes one POSTED sleeper,
 * which takes the lock and with it every posted write.  A timeout bounds
 * any wake-up lost to a process killed at the wrong moment.
 */
#include "gc.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "log.h"

/*
 * A sleeping owner re-checks its slot this often at most.  Every change it
 * waits for wakes it; the timeout only bounds a wake-up lost to a process
 * killed at the wrong moment.  At 2 ms every owner waiting through a
 * durable batch (5-10 ms) woke 2-5 times a batch for nothing.
 */
#define GC_WAIT_NS 20000000L

enum gc_state {
	GC_FREE,
	GC_POSTED,
	GC_TAKEN,
	GC_DONE,
};

struct gc_slot {
	pthread_mutex_t life;    /* held by the live owner (robust) */
	uint32_t state;          /* enum gc_state; st_get/st_set */
	uint32_t wseq;           /* the owner sleeps on it; bumped to wake it */
	uint32_t sleeping;       /* 1: the owner is (about to be) asleep on wseq */
	int32_t owner;           /* pid, 0 = nobody; under the lock */
	uint64_t batch;          /* TAKEN/DONE: the batch that took it */
	uint32_t code;           /* TAKEN/DONE: enum mk_code of the result */
	uint32_t alone;          /* TAKEN/DONE: result did not fit, run it alone */
	size_t req_n;            /* POSTED: request bytes in data */
	size_t out_n;            /* TAKEN/DONE: result bytes */
	char msg[MK_ERR_MSG];    /* DONE: the error message */
};

struct gc_hdr {
	pthread_mutex_t lock;    /* robust, process-shared: the leader's */
	uint64_t next_batch;     /* under lock */
	uint64_t cur_batch;      /* under lock: the batch being applied, 0 none */
	int32_t cur_leader;      /* under lock: cur_batch's leader's slot, -1 none */
	unsigned nslots;
	size_t slot_bytes;
	size_t stride;           /* bytes from one slot to the next */
};

struct gc {
	struct gc_hdr *h;        /* the shared region */
	size_t len;
	int mine;                /* this process's slot, or -1 */
	gc_apply_fn fn;
	void *ctx;
	long timeout_ns;         /* GC_WAIT_NS; gc_set_timeout */
	struct gc_stats st;
};

static struct gc_slot *
slot_at(const struct gc *g, unsigned i)
{
	char *base = (char *)g->h + sizeof(struct gc_hdr);

	return (struct gc_slot *)(void *)(base + (size_t)i * g->h->stride);
}

/* The request: written by the owner, read by the leader. */
static char *
slot_req(struct gc_slot *sl)
{
	return (char *)sl + sizeof(*sl);
}

/*
 * The result: written by the leader before the batch commits, so that a
 * successor settling a dead leader's committed batch finds every result,
 * and apart from the request, which must survive for a batch that did not
 * commit and runs again.  slot_bytes after the request.
 */
static char *
slot_res(const struct gc *g, struct gc_slot *sl)
{
	return slot_req(sl) + g->h->slot_bytes;
}

/* A slot's state, as the other processes see it (acquire / release). */
static uint32_t
st_get(struct gc_slot *sl)
{
	return __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);
}

static void
st_set(struct gc_slot *sl, uint32_t v)
{
	__atomic_store_n(&sl->state, v, __ATOMIC_RELEASE);
}

/*
 * Whether the slot's owner lives (holds the life mutex).  When it is dead
 * (or there is none) the mutex is left free and consistent, for the next
 * gc_attach; the caller holds the group's lock.
 */
static int
owner_alive(struct gc_slot *sl)
{
	int rc = pthread_mutex_trylock(&sl->life);

	if (rc == EBUSY)
		return 1;
	if (rc == EOWNERDEAD)
		pthread_mutex_consistent(&sl->life);
	if (rc == 0 || rc == EOWNERDEAD)
		pthread_mutex_unlock(&sl->life);
	return 0;
}

static uint32_t
ld(uint32_t *w)
{
	return __atomic_load_n(w, __ATOMIC_SEQ_CST);
}

static void
st(uint32_t *w, uint32_t v)
{
	__atomic_store_n(w, v, __ATOMIC_SEQ_CST);
}

static void
fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Bump *w and wake one sleeper on it (the bump: see wait_on). */
static void
wake(uint32_t *w)
{
	__atomic_add_fetch(w, 1, __ATOMIC_SEQ_CST);
#ifdef __linux__
	(void)syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
#endif
}

/*
 * Sleep while *w is still v (read before the caller checked what it waits
 * for: a wake-up after the check has bumped it), up to ns.  Returns 1 when
 * the timeout ended it, 0 otherwise.
 */
static int
wait_on(uint32_t *w, uint32_t v, long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

#ifdef __linux__
	return syscall(SYS_futex, w, FUTEX_WAIT, v, &ts, NULL, 0) == -1 && errno == ETIMEDOUT;
#else
	(void)w;
	(void)v;
	nanosleep(&ts, NULL);
	return 1;
#endif
}

/* Wake the slot's owner if it sleeps (after the change it waits for). */
static void
wake_owner(struct gc_slot *sl)
{
	fence();
	if (ld(&sl->sleeping))
		wake(&sl->wseq);
}

enum mk_code
gc_new(unsigned nslots, size_t slot_bytes, struct gc **out, struct mk_err *err)
{
	pthread_mutexattr_t ma;
	struct gc *g;
	size_t stride;
	unsigned i;
	void *p;

	if (nslots == 0 || slot_bytes == 0)
		return mk_fail(err, MK_ERR_INTERNAL, "group commit: no slots");
	stride = (sizeof(struct gc_slot) + 2 * slot_bytes + 63) & ~(size_t)63;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	g->len = sizeof(struct gc_hdr) + (size_t)nslots * stride;
	/* Pages nobody touches cost nothing: slots are sized for the largest body. */
	p = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		mk_fail(err, MK_ERR_INTERNAL, "group commit: mmap of %zu bytes: %s",
		    g->len, strerror(errno));
		free(g);
		return MK_ERR_INTERNAL;
	}
	g->h = p;
	g->mine = -1;
	g->timeout_ns = GC_WAIT_NS;
	if (pthread_mutexattr_init(&ma) != 0 ||
	    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&g->h->lock, &ma) != 0) {
		munmap(p, g->len);
		free(g);
		return mk_fail(err, MK_ERR_INTERNAL, "group commit: robust mutex");
	}
	g->h->cur_leader = -1;
	g->h->nslots = nslots;
	g->h->slot_bytes = slot_bytes;
	g->h->stride = stride;
	for (i = 0; i < nslots; i++)
		if (pthread_mutex_init(&slot_at(g, i)->life, &ma) != 0) {
			pthread_mutexattr_destroy(&ma);
			munmap(p, g->len);
			free(g);
			return mk_fail(err, MK_ERR_INTERNAL, "group commit: robust mutex");
		}
	pthread_mutexattr_destroy(&ma);
	/*
	 * Batch numbers start at random: the store keeps the mark of the last
	 * batch of an earlier pool, which a new pool's numbers must not meet
	 * (a dead leader's batch would be taken for committed).
	 */
	if (getrandom(&g->h->next_batch, sizeof(g->h->next_batch), 0) !=
	    (ssize_t)sizeof(g->h->next_batch))
		g->h->next_batch = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	g->h->next_batch = (g->h->next_batch >> 2) | 1;
	*out = g;
	return MK_OK;
}

void
gc_free(struct gc *g)
{
	if (g == NULL)
		return;
	munmap(g->h, g->len);
	free(g);
}

void
gc_stats(const struct gc *g, struct gc_stats *st)
{
	*st = g->st;
}

/*
 * Settle the batch of a leader that died holding the lock (called with
 * the lock, after EOWNERDEAD).  The store says whether it committed:
 * store_batch_mark waits for LMDB's writer lock, so a commit the leader
 * finished in the file before it died counts even when LMDB's readers
 * were not yet told of it.
 */
static void
recover(struct gc *g, struct store *s)
{
	uint64_t b = g->h->cur_batch, mark = 0;
	int committed, leader = g->h->cur_leader;
	unsigned i;

	if (b == 0)
		return;
	if (store_batch_mark(s, &mark) != MK_OK) {
		/* Cannot tell: fail its writes rather than risk running them twice. */
		log_warnx("group commit: batch %llu of a dead leader: state unknown",
		    (unsigned long long)b);
		committed = -1;
	} else
		committed = mark == b;
	/* Committed but perhaps not yet synced when its leader died. */
	if (committed == 1 && store_sync(s) != MK_OK)
		committed = -1;
	for (i = 0; i < g->h->nslots; i++) {
		struct gc_slot *sl = slot_at(g, i);

		if (st_get(sl) != GC_TAKEN || sl->batch != b)
			continue;
		if (committed == 0 && (int)i == leader) {
			/*
			 * The dead leader's own write: dropped here, not left to
			 * lead()'s owner_alive.  The kernel lets a dead process's
			 * robust mutexes go one by one, the lock it took last (this
			 * one) before its life mutex, which may still look held.
			 */
			sl->owner = 0;
			st_set(sl, GC_FREE);
			g->st.dropped++;
			continue;
		}
		if (committed == 0) {
			st_set(sl, GC_POSTED);
		} else {
			if (committed == -1) {
				sl->code = MK_ERR_INTERNAL;
				sl->out_n = 0;
				snprintf(sl->msg, sizeof(sl->msg), "store: write failed");
			}
			st_set(sl, GC_DONE);
		}
		wake(&sl->wseq);
	}
	log_info("group commit: batch %llu of a dead leader %s", (unsigned long long)b,
	    committed == 1 ? "had committed: results handed out" :
	    committed == 0 ? "had not committed: its writes run again" : "failed");
	g->h->cur_batch = 0;
	g->h->cur_leader = -1;
	g->st.recovered++;
}

/* Take the lock, settling a dead holder's batch.  0, or -1 (lock unusable). */
static int
lock(struct gc *g, struct store *s, int try)
{
	int rc;

	rc = try ? pthread_mutex_trylock(&g->h->lock) : pthread_mutex_lock(&g->h->lock);
	if (rc == EOWNERDEAD) {
		recover(g, s);
		pthread_mutex_consistent(&g->h->lock);
		return 0;
	}
	return rc == 0 ? 0 : -1;
}

/*
 * Let the lock go.  Writes posted meanwhile: one of their owners that
 * sleeps is woken to lead the next batch (it takes them all); an owner
 * that does not sleep tries the lock itself (gc_write).
 */
static void
unlock(struct gc *g)
{
	unsigned i;

	pthread_mutex_unlock(&g->h->lock);
	fence();
	for (i = 0; i < g->h->nslots; i++) {
		struct gc_slot *sl = slot_at(g, i);

		if ((int)i != g->mine && st_get(sl) == GC_POSTED && ld(&sl->sleeping)) {
			wake(&sl->wseq);
			return;
		}
	}
}

enum mk_code
gc_attach(struct gc *g, struct store *s, gc_apply_fn fn, void *ctx)
{
	pid_t me = getpid();
	unsigned i;
	int found = -1;

	g->fn = fn;
	g->ctx = ctx;
	g->mine = -1;
	memset(&g->st, 0, sizeof(g->st));
	/*
	 * Under the lock: no leader is working on the slot taken over (a
	 * posted write of a dead owner is dropped; its client got no answer).
	 * A slot is free when its life mutex is: never taken, or its owner
	 * died (EOWNERDEAD); this process keeps it locked from now on.
	 */
	if (lock(g, s, 0) == -1)
		return MK_ERR_INTERNAL;
	for (i = 0; i < g->h->nslots && found == -1; i++) {
		struct gc_slot *sl = slot_at(g, i);
		int rc = pthread_mutex_trylock(&sl->life);

		if (rc == EOWNERDEAD)
			rc = pthread_mutex_consistent(&sl->life);
		if (rc == 0)
			found = (int)i;
	}
	if (found != -1) {
		struct gc_slot *sl = slot_at(g, (unsigned)found);

		sl->owner = me;
		st(&sl->sleeping, 0);
		st_set(sl, GC_FREE);
		g->mine = found;
	}
	pthread_mutex_unlock(&g->h->lock);
	return found == -1 ? MK_ERR_FULL : MK_OK;
}

struct alone_ctx {
	struct gc *g;
	const void *req;
	size_t n;
	struct mk_buf *out;
};

static enum mk_code
alone_tx(struct store_txn *t, void *vctx, struct mk_err *err)
{
	struct alone_ctx *a = vctx;

	return a->g->fn(t, a->g->ctx, a->req, a->n, a->out, err);
}

/*
 * A write outside the group: a store_write of its own.  Six parameters,
 * gc_write's: req and n are one byte range.
 */
static enum mk_code
write_alone(struct gc *g, struct store *s, const void *req, size_t n,
    struct mk_buf *out, struct mk_err *err)
{
	struct alone_ctx a = { g, req, n, out };

	g->st.alone++;
	return store_write(s, alone_tx, &a, err);
}

/* One write of a batch, applied by the leader: the request, its result. */
struct taken {
	struct gc *g;
	struct gc_slot *sl;
	struct mk_buf out;
	struct mk_err err;
};

/*
 * In the write's nested transaction: apply it.  A result too large for
 * its slot is dropped with its changes, and the owner runs it alone.
 */
static enum mk_code
taken_tx(struct store_txn *t, void *vctx, struct mk_err *err)
{
	struct taken *tk = vctx;
	struct gc_slot *sl = tk->sl;
	enum mk_code rc;

	buf_reset(&tk->out);
	rc = tk->g->fn(t, tk->g->ctx, slot_req(sl), sl->req_n, &tk->out, err);
	if (rc != MK_OK)
		return rc;
	if (tk->out.failed)
		return mk_fail(err, MK_ERR_NOMEM, "out of memory");
	if (tk->out.n > tk->g->h->slot_bytes) {
		sl->alone = 1;
		return mk_fail(err, MK_ERR_INTERNAL, "result too large for the group");
	}
	return MK_OK;
}

/* The write's result into its slot (before the batch commits). */
static void
taken_done(struct store_batch_item *it)
{
	struct taken *tk = it->ctx;
	struct gc_slot *sl = tk->sl;

	sl->code = (uint32_t)it->code;
	sl->out_n = 0;
	sl->msg[0] = '\0';
	if (it->code == MK_OK) {
		if (tk->out.n > 0)
			memcpy(slot_res(tk->g, sl), tk->out.p, tk->out.n);
		sl->out_n = tk->out.n;
	} else
		memcpy(sl->msg, tk->err.msg, sizeof(sl->msg));
}

/* As leader (lock held): apply every posted write in one batch. */
static void
lead(struct gc *g, struct store *s)
{
	struct store_batch_item *items = NULL;
	struct taken *tk = NULL;
	struct gc_slot *own;
	struct mk_err berr;
	unsigned i, n = 0, cap = g->h->nslots;
	uint64_t b;

	if ((items = calloc(cap, sizeof(*items))) == NULL ||
	    (tk = calloc(cap, sizeof(*tk))) == NULL)
		goto out;   /* nothing taken: the owners will find the lock free */
	b = g->h->next_batch++;
	/* Before any slot is TAKEN: a successor settles them by this number. */
	g->h->cur_batch = b;
	g->h->cur_leader = g->mine;
	for (i = 0; i < g->h->nslots; i++) {
		struct gc_slot *sl = slot_at(g, i);

		if (st_get(sl) != GC_POSTED)
			continue;
		if (!owner_alive(sl)) {
			/* Its client saw the failure already: never apply it. */
			sl->owner = 0;
			st_set(sl, GC_FREE);
			g->st.dropped++;
			continue;
		}
		sl->batch = b;
		sl->alone = 0;
		sl->code = MK_ERR_INTERNAL;
		sl->out_n = 0;
		st_set(sl, GC_TAKEN);
		tk[n].g = g;
		tk[n].sl = sl;
		items[n].fn = taken_tx;
		items[n].ctx = &tk[n];
		items[n].err = &tk[n].err;
		items[n].done = taken_done;
		n++;
	}
	if (n == 0) {
		g->h->cur_batch = 0;
		g->h->cur_leader = -1;
		goto out;
	}
	memset(&berr, 0, sizeof(berr));
	if (store_write_batch(s, items, n, b, &berr) != MK_OK) {
		/* Nothing committed: every write of the batch gets the failure. */
		for (i = 0; i < n; i++) {
			tk[i].sl->code = (uint32_t)items[i].code;
			tk[i].sl->out_n = 0;
			tk[i].sl->alone = 0;
			memcpy(tk[i].sl->msg, berr.msg, sizeof(tk[i].sl->msg));
		}
	}
	/* Its own write's owner is awake: this process. */
	own = g->mine >= 0 ? slot_at(g, (unsigned)g->mine) : NULL;
	for (i = 0; i < n; i++) {
		st_set(tk[i].sl, GC_DONE);
		if (tk[i].sl != own)
			wake_owner(tk[i].sl);
	}
	/*
	 * Only now: a leader killed before its last DONE leaves slots TAKEN,
	 * which its successor settles by this number (they would wait for
	 * ever otherwise).
	 */
	g->h->cur_batch = 0;
	g->h->cur_leader = -1;
	g->st.led++;
	g->st.applied += n;
out:
	for (i = 0; tk != NULL && i < n; i++)
		buf_free(&tk[i].out);
	free(items);
	free(tk);
}

enum mk_code
gc_write(struct gc *g, struct store *s, const void *req, size_t n,
    struct mk_buf *out, struct mk_err *err)
{
	struct gc_slot *sl;
	enum mk_code code;
	uint32_t seq;

	if (g == NULL || g->mine < 0 || n > g->h->slot_bytes)
		return write_alone(g, s, req, n, out, err);
	sl = slot_at(g, (unsigned)g->mine);
	memcpy(slot_req(sl), req, n);
	sl->req_n = n;
	st_set(sl, GC_POSTED);
	for (;;) {
		/* wseq read and sleeping set before the checks (see the top) */
		seq = ld(&sl->wseq);
		st(&sl->sleeping, 1);
		fence();
		if (st_get(sl) == GC_DONE)
			break;
		/*
		 * Posted: lead if the lock is free.  Taken: a live leader holds
		 * the lock and the try fails; a dead one's batch is settled.
		 */
		if (lock(g, s, 1) == 0) {
			st(&sl->sleeping, 0);
			lead(g, s);
			unlock(g);
			continue;
		}
		if (wait_on(&sl->wseq, seq, g->timeout_ns))
			g->st.timeouts++;
		st(&sl->sleeping, 0);
	}
	st(&sl->sleeping, 0);
	code = (enum mk_code)sl->code;
	if (code == MK_OK && out != NULL) {
		buf_reset(out);
		if (buf_add(out, slot_res(g, sl), sl->out_n) == -1)
			code = mk_fail(err, MK_ERR_NOMEM, "out of memory");
	} else if (sl->alone) {
		st_set(sl, GC_FREE);
		return write_alone(g, s, req, n, out, err);
	} else if (err != NULL) {
		err->code = code;
		memcpy(err->msg, sl->msg, sizeof(err->msg));
		err->msg[sizeof(err->msg) - 1] = '\0';
	}
	st_set(sl, GC_FREE);
	return code;
}

void
gc_set_timeout(struct gc *g, long ns)
{
	g->timeout_ns = ns > 0 ? ns : GC_WAIT_NS;
}

int
gc_pause(struct gc *g, struct store *s)
{
	return lock(g, s, 0);
}

void
gc_resume(struct gc *g)
{
	unlock(g);
}

unsigned
gc_pending(struct gc *g)
{
	unsigned i, n = 0;

	for (i = 0; i < g->h->nslots; i++)
		if (st_get(slot_at(g, i)) == GC_POSTED)
			n++;
	return n;
}
