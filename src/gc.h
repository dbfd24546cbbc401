/*
 * gc: group commit across the worker pool.
 *
 * LMDB syncs every durable commit, and one commit costs about two disk
 * syncs whatever it holds.  With N workers writing at once, gc makes the
 * writes waiting at the same moment share one transaction and one commit:
 * a worker posts its write, as opaque bytes, in its own slot of a memory
 * region all workers share (made by the master before it forks); the
 * first worker that takes the region's lock becomes the leader, takes
 * every posted write, applies each in a nested transaction of one store
 * write (store_write_batch: one that fails changes nothing and the others
 * go on), commits once, posts each result back into its slot and wakes
 * its owner.  A write that finds the lock free leads a batch of its own at
 * once: a lone write never waits for company.
 *
 * Crashes.  The lock is a robust process-shared mutex.  A leader killed
 * while holding it leaves its batch number in the region; the next one to
 * take the lock sees EOWNERDEAD and asks the store whether that batch
 * committed (each batch writes its number in its own transaction): if so
 * it syncs the store and hands out the results the dead leader had
 * already written, otherwise the batch's writes go back to posted and run
 * again; never both, so nothing is lost or applied twice.  A worker killed
 * while its write waits to be taken: the write is dropped, never applied
 * after its client was told of the failure; killed while a leader applies
 * it: the write may be there (its client got no answer: either outcome is
 * allowed, and it lands before any write posted after the death).  Its
 * slot is freed for its successor.  When the whole pool dies the region
 * dies with it.
 *
 * gc knows the store and nothing of what a write means: the caller gives
 * a function that applies the bytes of one write inside a transaction.
 */
#ifndef MK_GC_H
#define MK_GC_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "store.h"

struct gc;

/*
 * Apply one write: req[0..n-1] as posted, inside transaction t.  out gets
 * the bytes to hand back to the writer (may stay empty).  Returns MK_OK
 * (the write is kept) or an error code with err->msg set (the write's
 * changes are dropped, the other writes of the batch are not).  Six
 * parameters, and so gc_write's: req and n are one byte range, as the
 * slot holds it.
 */
typedef enum mk_code (*gc_apply_fn)(struct store_txn *t, void *ctx, const void *req,
    size_t n, struct mk_buf *out, struct mk_err *err);

/*
 * Make the shared region, before fork(): nslots slots (one per worker
 * that may live at once, plus spares for successors), each holding a
 * request or a result of up to slot_bytes.  On success *out is owned by
 * the caller (gc_free); its children inherit it.  Errors: MK_ERR_NOMEM,
 * MK_ERR_INTERNAL (err->msg says why).
 */
enum mk_code gc_new(unsigned nslots, size_t slot_bytes, struct gc **out, struct mk_err *err);
/* Unmap the region (in the process that calls it).  g may be NULL. */
void gc_free(struct gc *g);

/*
 * In a worker after fork, with its store s: take a free slot (or the slot
 * of a dead worker) and set the function that applies writes, with its
 * ctx (borrowed for the life of the process).  Returns MK_OK, or MK_ERR_FULL when no slot
 * is free (gc_write then applies writes alone, as store_write would).
 */
enum mk_code gc_attach(struct gc *g, struct store *s, gc_apply_fn fn, void *ctx);

/*
 * Apply the write req[0..n-1] through the group: returns when it is
 * committed (and synced, when the store syncs) or failed.  On MK_OK out
 * holds what fn gave back; otherwise err says why.  A request larger than
 * a slot, a result too large for one, or a process without a slot runs
 * alone, in a store_write of its own.  Errors: fn's, and store_write's
 * (MK_ERR_FULL, MK_ERR_INTERNAL) for the commit.  Six parameters, as
 * gc_apply_fn: req and n are one byte range.
 */
enum mk_code gc_write(struct gc *g, struct store *s, const void *req, size_t n,
    struct mk_buf *out, struct mk_err *err);

/*
 * For tests: gc_pause takes the leader's lock (settling a dead holder's
 * batch, with store s), so writes posted meanwhile wait and are then
 * applied as one batch after gc_resume lets it go.  gc_pending counts the
 * writes posted and not yet taken.  gc_pause returns 0, or -1.
 */
int gc_pause(struct gc *g, struct store *s);
void gc_resume(struct gc *g);
unsigned gc_pending(struct gc *g);
/*
 * For tests: how long a sleeping owner of this process waits at most
 * before it looks again without a wake-up (ns; 20 ms unless set): a long
 * one makes a lost wake-up show as a stall, and in gc_stats' timeouts.
 */
void gc_set_timeout(struct gc *g, long ns);

/* Counters of this process, for tests and logs. */
struct gc_stats {
	unsigned long led;        /* batches this process led */
	unsigned long applied;    /* writes it applied as leader (its own included) */
	unsigned long alone;      /* writes it ran outside the group */
	unsigned long recovered;  /* batches of dead leaders it settled */
	unsigned long dropped;    /* posted writes of dead owners it dropped as leader */
	unsigned long timeouts;   /* its sleeps that its timeout ended, not a wake-up */
};
void gc_stats(const struct gc *g, struct gc_stats *st);

#endif
