/*
 * master: keeps N worker processes alive.  It knows processes and signals
 * only; what a worker does is a function it is handed.
 *
 *   SIGCHLD          reap; respawn the slot.  A worker that exits 0 (it
 *                    was recycled or told to stop) is replaced at once; one
 *                    that crashes within 1 s of its start is replaced after
 *                    a delay that doubles from 100 ms up to 5 s, and the
 *                    delay resets once a worker of that slot lives 1 s.
 *   EX_CONFIG (78)   from a worker (sysexits.h): fatal configuration; the
 *                    master stops the others and returns EX_CONFIG.
 *   SIGTERM, SIGINT  graceful stop: SIGTERM to every worker (each finishes
 *                    its request in flight), wait up to 10 s, then SIGKILL.
 *   SIGHUP           rolling restart: the workers alive at that moment are
 *                    replaced one at a time (stop one, start its successor,
 *                    go on with the next), so N-1 keep serving throughout.
 *                    The configuration is not read again.
 *   watchdog         with a request timeout set, a worker whose current
 *                    request has run longer than it is sent SIGKILL and
 *                    replaced like any crashed worker.  A worker stopped
 *                    (SIGSTOP) or stuck while it holds the LMDB write lock
 *                    would hold up every writer; once it is dead LMDB
 *                    releases the lock (a robust mutex) and drops its
 *                    unfinished transaction.  Workers say when a request
 *                    starts and ends (master_request_begin/end) in a
 *                    small shared memory array, one entry a slot.
 *
 * The loop: signals stay blocked except inside pselect (a sigsuspend with
 * a timeout), and the handlers only set flags, so no signal is lost
 * between a check and the wait.
 */
#ifndef MK_MASTER_H
#define MK_MASTER_H

/* Runs in each forked worker; its return value is the worker's exit status. */
typedef int (*master_worker_fn)(void *arg);

/*
 * Fork nworkers workers running fn(arg) and supervise them until a stop
 * signal, then return once all have exited.  Returns 0 after a requested
 * stop, EX_CONFIG when a worker reported a fatal configuration,
 * 1 when the master itself failed (sigaction).  In a worker, fn starts
 * with the dispositions the master changed put back, but with SIGCHLD,
 * SIGTERM, SIGINT and SIGHUP still blocked, so it can install its own
 * handlers before it unblocks them; the child exits with fn's value and
 * never returns into the master's caller.
 */
int master_run(int nworkers, master_worker_fn fn, void *arg);

/*
 * Set the watchdog's limit, in seconds, for the next master_run: a worker
 * whose current request has run longer is killed.  0 (the default) turns
 * the watchdog off.
 */
void master_set_request_timeout(unsigned seconds);

/*
 * In a worker: mark the start and the end of one request, for the
 * watchdog.  Cheap (a clock read and a store); they do nothing in a
 * process master_run did not fork (CGI) or when the shared array could
 * not be made.
 */
void master_request_begin(void);
void master_request_end(void);

#endif
