/*
 * master: worker slots, signals, respawn with backoff, graceful stop and
 * rolling restart (see master.h).
 *
 * All state changes happen in the loop of master_run, never in a signal
 * handler: handlers set a flag, and the loop looks at the flags between
 * waits.  Signals are blocked everywhere except inside pselect, which
 * swaps the mask atomically with the wait, so a SIGCHLD that comes after
 * the check still ends the wait.  Time is CLOCK_MONOTONIC milliseconds.
 *
 * The watchdog needs no signal of its own: when it is on, the wait is
 * bounded by the earliest moment a request could pass the limit, and at
 * most MASTER_WATCH_POLL_MS, since a request may start at any time.  Each
 * slot has one int64_t in memory shared with its worker (MAP_SHARED |
 * MAP_ANONYMOUS, made before the first fork): the CLOCK_MONOTONIC
 * milliseconds at which the current request started, 0 when idle.  Only
 * the worker of the slot writes it, and the master clears it before it
 * forks the slot's next worker, so a new worker never inherits the time of
 * a dead one.
 */
#include "master.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define MASTER_STOP_MS 10000      /* graceful stop, then SIGKILL */
#define MASTER_FAST_MS 1000       /* a worker dying sooner than this crashed early */
#define MASTER_BACKOFF_MIN 100
#define MASTER_BACKOFF_MAX 5000
#define MASTER_WATCH_POLL_MS 1000 /* watchdog: longest wait between looks */

struct slot {
	pid_t pid;          /* -1 when empty */
	unsigned gen;       /* rolling-restart generation it was started in */
	int retiring;       /* sent SIGTERM by a rolling restart */
	int64_t started;    /* when the current worker was forked */
	int64_t due;        /* when empty: when to fork again */
	int64_t backoff;    /* current respawn delay after early crashes */
	int64_t kill_at;    /* when retiring: SIGKILL if still alive then */
	int stuck;          /* sent SIGKILL by the watchdog */
};

static const int master_sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
#define MASTER_NSIGS (sizeof(master_sigs) / sizeof(master_sigs[0]))

static volatile sig_atomic_t got_chld, got_term, got_hup;

static int64_t master_timeout_ms;   /* watchdog limit; 0 = off */
static int64_t *master_beats;       /* shared, one a slot: request start, 0 idle */
static int64_t *master_mine;        /* in a worker: its own entry */

static void
master_on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:
		got_chld = 1;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	default:
		got_term = 1;
		break;
	}
}

void
master_set_request_timeout(unsigned seconds)
{
	master_timeout_ms = (int64_t)seconds * 1000;
}

void
master_request_begin(void)
{
	int64_t now;

	if (master_mine == NULL)
		return;
	/* Never 0, which means idle. */
	if ((now = mk_mono_ms()) == 0)
		now = 1;
	__atomic_store_n(master_mine, now, __ATOMIC_RELAXED);
}

void
master_request_end(void)
{
	if (master_mine != NULL)
		__atomic_store_n(master_mine, 0, __ATOMIC_RELAXED);
}

static void
master_restore(const struct sigaction *saved)
{
	size_t i;

	for (i = 0; i < MASTER_NSIGS; i++)
		(void)sigaction(master_sigs[i], &saved[i], NULL);
}

/* What every worker starts from: master_run's arguments and signal state. */
struct master_job {
	master_worker_fn fn;
	void *arg;
	const struct sigaction *saved;  /* the handlers before master_run */
};

/*
 * Fork a worker of generation gen into slot s (index idx) running job.
 * Returns 1 when it started, 0 when fork failed (logged; the slot is due
 * again after MASTER_FAST_MS).
 */
static int
master_spawn(struct slot *s, int idx, unsigned gen, const struct master_job *job)
{
	int64_t now = mk_mono_ms();
	pid_t pid;

	if (master_beats != NULL)
		__atomic_store_n(&master_beats[idx], 0, __ATOMIC_RELAXED);
	if ((pid = fork()) == -1) {
		log_warn("fork");
		s->due = now + MASTER_FAST_MS;
		return 0;
	}
	if (pid == 0) {
		/* Signals stay blocked: fn installs its handlers, then unblocks. */
		master_restore(job->saved);
		if (master_beats != NULL)
			master_mine = &master_beats[idx];
		exit(job->fn(job->arg));
	}
	log_debug("worker %ld started in slot %d", (long)pid, idx);
	s->pid = pid;
	s->gen = gen;
	s->retiring = 0;
	s->stuck = 0;
	s->started = now;
	return 1;
}

static void
master_signal_all(struct slot *slots, int n, int sig)
{
	int i;

	for (i = 0; i < n; i++)
		if (slots[i].pid != -1)
			(void)kill(slots[i].pid, sig);
}

/* Reap every exited worker and schedule its slot; returns 1 on a fatal exit. */
static int
master_reap(struct slot *slots, int n, int stopping, int *live)
{
	int64_t now = mk_mono_ms();
	struct slot *s;
	pid_t pid;
	int st, i, fatal = 0;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (s = NULL, i = 0; i < n; i++)
			if (slots[i].pid == pid) {
				s = &slots[i];
				break;
			}
		if (s == NULL)
			continue;
		s->pid = -1;
		(*live)--;
		if (WIFEXITED(st) && WEXITSTATUS(st) == EX_CONFIG) {
			log_warnx("worker %ld: fatal configuration error, stopping",
			    (long)pid);
			fatal = 1;
			continue;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			/* Recycled, or retired by a rolling restart: replace now. */
			log_debug("worker %ld exited", (long)pid);
			s->due = now;
			continue;
		}
		if (stopping) {
			log_debug("worker %ld ended with status %d", (long)pid, st);
			continue;
		}
		if (WIFSIGNALED(st))
			log_warnx("worker %ld killed by signal %d", (long)pid,
			    WTERMSIG(st));
		else
			log_warnx("worker %ld exited with status %d", (long)pid,
			    WEXITSTATUS(st));
		if (now - s->started < MASTER_FAST_MS)
			s->backoff = s->backoff == 0 ? MASTER_BACKOFF_MIN :
			    s->backoff * 2 > MASTER_BACKOFF_MAX ? MASTER_BACKOFF_MAX :
			    s->backoff * 2;
		else
			s->backoff = 0;
		if (s->backoff > 0)
			log_info("slot %d: respawning in %lld ms", i,
			    (long long)s->backoff);
		s->due = now + s->backoff;
	}
	return fatal;
}

/* The earliest of a and b, where 0 means "none". */
static int64_t
master_earliest(int64_t a, int64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/*
 * The watchdog: SIGKILL each worker whose request has run past the limit
 * (master_reap then replaces it at once, as it lived over 1 s).  Returns
 * when to look again, 0 when there is no worker to watch.
 */
static int64_t
master_watch(struct slot *slots, int n, int64_t now)
{
	int64_t since, wake = 0;
	int i;

	for (i = 0; i < n; i++) {
		struct slot *s = &slots[i];

		if (s->pid == -1 || s->stuck)
			continue;
		since = __atomic_load_n(&master_beats[i], __ATOMIC_RELAXED);
		if (since != 0 && now - since >= master_timeout_ms) {
			log_warnx("worker %ld: one request running for %lld ms, "
			    "over request_timeout %lld s; killing it",
			    (long)s->pid, (long long)(now - since),
			    (long long)(master_timeout_ms / 1000));
			(void)kill(s->pid, SIGKILL);
			s->stuck = 1;
			continue;
		}
		wake = master_earliest(wake, now + MASTER_WATCH_POLL_MS);
		if (since != 0)
			wake = master_earliest(wake, since + master_timeout_ms);
	}
	return wake;
}

int
master_run(int n, master_worker_fn fn, void *arg)
{
	struct sigaction sa, saved[MASTER_NSIGS];
	struct master_job job = { fn, arg, saved };
	struct slot *slots = NULL;
	struct timespec ts;
	sigset_t block, oldmask, waitmask;
	int64_t now, wake, deadline = 0;
	unsigned gen = 0;
	int i, live = 0, stopping = 0, killed = 0, fatal = 0, rc = 1;
	int masked = 0, installed = 0;
	size_t k;

	if ((slots = calloc((size_t)n, sizeof(*slots))) == NULL) {
		log_warn("calloc");
		return 1;
	}
	if (master_timeout_ms > 0) {
		void *p = mmap(NULL, (size_t)n * sizeof(*master_beats),
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		/* Without it, serve on: the watchdog is a safety net. */
		if (p == MAP_FAILED)
			log_warn("mmap: no request watchdog");
		else
			master_beats = p;
	}
	sigemptyset(&block);
	for (k = 0; k < MASTER_NSIGS; k++)
		sigaddset(&block, master_sigs[k]);
	if (sigprocmask(SIG_BLOCK, &block, &oldmask) == -1) {
		log_warn("sigprocmask");
		goto out;
	}
	masked = 1;
	waitmask = oldmask;
	for (k = 0; k < MASTER_NSIGS; k++)
		sigdelset(&waitmask, master_sigs[k]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = master_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP;
	for (k = 0; k < MASTER_NSIGS; k++)
		if (sigaction(master_sigs[k], &sa, &saved[k]) == -1) {
			log_warn("sigaction");
			while (k-- > 0)
				(void)sigaction(master_sigs[k], &saved[k], NULL);
			goto out;
		}
	installed = 1;
	got_chld = got_term = got_hup = 0;

	now = mk_mono_ms();
	for (i = 0; i < n; i++) {
		slots[i].pid = -1;
		slots[i].due = now;
	}
	log_info("starting %d workers", n);

	for (;;) {
		if (got_chld) {
			got_chld = 0;
			if (master_reap(slots, n, stopping, &live))
				fatal = 1;
		}
		if ((got_term || fatal) && !stopping) {
			log_info("stopping %d workers", live);
			stopping = 1;
			deadline = mk_mono_ms() + MASTER_STOP_MS;
			master_signal_all(slots, n, SIGTERM);
		}
		got_term = 0;
		if (got_hup) {
			got_hup = 0;
			if (!stopping) {
				gen++;
				log_info("rolling restart of %d workers", live);
			}
		}

		now = mk_mono_ms();
		wake = 0;
		if (stopping) {
			if (live == 0)
				break;
			if (!killed && now >= deadline) {
				log_warnx("%d workers still running after %d s, killing them",
				    live, MASTER_STOP_MS / 1000);
				master_signal_all(slots, n, SIGKILL);
				killed = 1;
			}
			if (!killed)
				wake = deadline;
		} else {
			int retiring = 0;

			for (i = 0; i < n; i++) {
				struct slot *s = &slots[i];

				if (s->pid == -1 && s->due <= now)
					live += master_spawn(s, i, gen, &job);
				if (s->pid == -1)
					wake = master_earliest(wake, s->due);
				else if (s->retiring) {
					retiring = 1;
					if (s->kill_at <= now) {
						log_warnx("worker %ld ignores SIGTERM, killing it",
						    (long)s->pid);
						(void)kill(s->pid, SIGKILL);
						s->kill_at = now + MASTER_STOP_MS;
					}
					wake = master_earliest(wake, s->kill_at);
				}
			}
			if (master_beats != NULL)
				wake = master_earliest(wake,
				    master_watch(slots, n, now));
			/* One worker of an older generation at a time. */
			for (i = 0; !retiring && i < n; i++) {
				struct slot *s = &slots[i];

				if (s->pid != -1 && s->gen != gen) {
					log_debug("retiring worker %ld", (long)s->pid);
					(void)kill(s->pid, SIGTERM);
					s->retiring = 1;
					s->kill_at = now + MASTER_STOP_MS;
					wake = master_earliest(wake, s->kill_at);
					retiring = 1;
				}
			}
		}

		if (wake != 0) {
			int64_t ms = wake - mk_mono_ms();

			if (ms < 0)
				ms = 0;
			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (long)(ms % 1000) * 1000000;
		}
		if (pselect(0, NULL, NULL, NULL, wake != 0 ? &ts : NULL, &waitmask) == -1 &&
		    errno != EINTR)
			log_warn("pselect");
	}
	log_info("all workers stopped");
	rc = fatal ? EX_CONFIG : 0;
out:
	if (installed)
		master_restore(saved);
	if (masked)
		(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
	if (master_beats != NULL) {
		(void)munmap(master_beats, (size_t)n * sizeof(*master_beats));
		master_beats = NULL;
	}
	free(slots);
	return rc;
}
