/*
 * slots: at most n processes of a pool doing one kind of heavy work at
 * once (a search past its cheap allowance), so that the pool's other
 * workers stay free for the cheap requests.  It counts processes, whoever
 * started them: pool workers, workers started by the web server, CGI
 * processes.
 *
 * A slot is one byte of a lock file, locked with fcntl(F_SETLK).  The
 * kernel drops a process's locks when it exits or is killed, so a worker
 * SIGKILLed (by the watchdog, or the OOM killer) in the middle of heavy
 * work never keeps its slot.  Taking never waits: a request that finds
 * every slot taken is answered at once (waiting would occupy the worker
 * the limit is there to keep free).
 *
 * POSIX record locks belong to the process: open the file in each
 * process (after fork), and take at most one slot at a time per process.
 */
#ifndef MK_SLOTS_H
#define MK_SLOTS_H

#include "err.h"

struct slots {
	int fd;          /* the lock file; -1 when closed */
	unsigned n;      /* slots; 0: no limit */
	int held;        /* the byte this process holds, or -1 */
};

/*
 * Open (creating, mode 0600) the lock file path for n slots (0: no limit,
 * and no file is opened).  Errors: MK_ERR_INTERNAL (err->msg names the file
 * and errno).
 */
enum mk_code slots_open(struct slots *s, const char *path, unsigned n, struct mk_err *err);

/*
 * Take a free slot.  Returns 1 when this process holds one now (or there
 * is no limit), 0 when all n are taken by other processes.
 */
int slots_take(struct slots *s);

/* Give back the slot this process holds, if any. */
void slots_give(struct slots *s);

/* Close the file (giving back the slot).  s may be zeroed/closed. */
void slots_close(struct slots *s);

#endif
