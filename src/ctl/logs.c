/*
 * logs: metakeepctl logs [--since LOG_ID] [--follow]: the log events
 * (docs/api.md section 9) as NDJSON, oldest first, one event a line: a
 * change feed a script can tail.  --since starts after that event (one
 * pruned away since: from the oldest kept); --follow keeps reading new
 * events (a fresh read transaction twice a second) until SIGINT or SIGTERM.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "logev.h"
#include "store.h"
#include "ctl/ctl.h"

#define LOGS_POLL_NS 500000000L    /* --follow: a read every half second */

static char *logs_since;
static int logs_follow;

static const struct ctl_opt logs_opts[] = {
	{ 's', "since", "LOG_ID", &logs_since, NULL, CTL_NONE,
	    "start after this event (its log_id; the last line a reader saw)" },
	{ 'f', "follow", NULL, &logs_follow, NULL, CTL_NONE,
	    "keep printing new events until interrupted" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

static int
logs_check(const struct ctl_cmd *self, char **operands)
{
	uint64_t seq;

	(void)operands;
	if (logs_since != NULL && logev_id_parse(logs_since, &seq) == -1) {
		fprintf(stderr, "metakeepctl %s: --since '%s' is not a log_id (\"900\" and "
		    "20 digits)\n", self->path, logs_since);
		return CTL_USAGE;
	}
	return -1;
}

const struct ctl_spec logs_spec = {
	logs_opts, 0, NULL, logs_check, NULL, NULL,
};

static volatile sig_atomic_t logs_stop;

static void
logs_on_signal(int sig)
{
	(void)sig;
	logs_stop = 1;
}

struct logs_out {
	uint64_t last;
	int failed;
};

static int
logs_line(void *ctx, uint64_t seq, struct mk_slice ev)
{
	struct logs_out *o = ctx;

	if (fwrite(ev.p, 1, ev.n, stdout) != ev.n || putchar('\n') == EOF) {
		o->failed = 1;
		return 1;
	}
	o->last = seq;
	return 0;
}

int
cmd_logs(struct ctl *c, const struct ctl_cmd *self, char **operands)
{
	struct timespec ts = { 0, LOGS_POLL_NS };
	struct logs_out o = { 0, 0 };
	struct store_txn *t = NULL;
	struct sigaction sa;
	enum mk_code rc;

	(void)operands;
	if (logs_since != NULL)
		(void)logev_id_parse(logs_since, &o.last);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = logs_on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	do {
		if ((rc = store_read_begin(c->store, &t)) != MK_OK) {
			fprintf(stderr, "metakeepctl %s: cannot read the store\n", self->path);
			return CTL_FAIL;
		}
		rc = store_log_scan(t, &(struct store_log_range){ o.last, 0, NULL }, logs_line,
		    &o);
		store_txn_end(t);
		if (rc != MK_OK || o.failed || fflush(stdout) == EOF) {
			fprintf(stderr, "metakeepctl %s: %s\n", self->path,
			    rc != MK_OK ? "reading the events failed" : "writing failed");
			return CTL_FAIL;
		}
		if (logs_follow && !logs_stop)
			nanosleep(&ts, NULL);
	} while (logs_follow && !logs_stop);
	return CTL_OK;
}
