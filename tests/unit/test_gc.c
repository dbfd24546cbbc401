/*
 * test_gc: group commit (gc) with real processes on a real LMDB store.
 * The parent holds the leader's lock (gc_pause) while child processes
 * post their writes, so they are applied as one batch when it lets go.
 *
 *   batch_keeps_the_others     a valid PATCH, an invalid one (400), one
 *                              whose precondition fails (412) and a client
 *                              create in one batch: the bad two change
 *                              nothing, the others commit, each answer is
 *                              what the write alone gives
 *   creates_applied_from_the_op_or_the_wire
 *                              three user creates in a batch: the
 *                              leader's own from its op, the others from
 *                              the wire; each answer the stored record
 *   lone_write_leads_itself    a write with nobody around is its own batch
 *   failed_write_leaves_nothing a write that fails after it changed
 *                              things: none of its changes stay, the
 *                              batch's other writes do
 *   dead_leader_runs_once      a leader SIGKILLed inside its batch: the
 *                              batch did not commit; the next leader runs
 *                              every write of it exactly once, but for the
 *                              dead one's own (dropped)
 *   dead_leader_committed_runs_none_again
 *                              a leader SIGKILLed right after LMDB wrote
 *                              its batch's meta page (the commit is in the
 *                              file), before LMDB's shared "last txnid" was
 *                              brought up to it: the next leader finds the
 *                              batch committed and runs none of it again
 *   dead_leader_own_write_dropped
 *                              the group's lock left by a dead leader while
 *                              its life mutex still looks held (a thread
 *                              that exits inside its batch, its process
 *                              alive: a killed process's robust mutexes are
 *                              let go one by one, that lock first): the
 *                              batch runs again without the leader's own
 *                              write
 *   dead_owner_write_is_dropped a worker SIGKILLed while its write waits
 *                              to be taken: no later batch applies it (its
 *                              client was told it failed), and its slot
 *                              serves a successor
 *   resume_wakes_a_leader      writes posted while the lock is held
 *                              (relaxed store): letting it go wakes one
 *                              sleeping owner, which leads them all; no
 *                              sleep ends by its timeout (5 s here)
 *   no_lost_wakeups            four workers write 100 times each at once,
 *                              each write 300 us long (so that owners
 *                              sleep): every write applied once, and no
 *                              sleep ended by its timeout (5 s here)
 *                              rather than a wake-up
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gc.h"
#include "jx.h"
#include "log.h"
#include "store.h"
#include "svc.h"

#define NCHILD_MAX 8

static char tmpdir[64];
static char envdir[128];

/* What a child reports, in a shared page. */
struct report {
	int code;
	char msg[MK_ERR_MSG];
	char out[4096];
	size_t out_n;
	unsigned long led, applied, alone, timeouts;
	unsigned long own;     /* svc_own_applied */
};

static struct report *reps;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
setup(void)
{
	log_init("test_gc", 1, 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mk-gc-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(envdir, sizeof(envdir), "%s/env", tmpdir);
	reps = mmap(NULL, sizeof(*reps) * NCHILD_MAX, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(reps, MAP_FAILED);
	memset(reps, 0, sizeof(*reps) * NCHILD_MAX);
}

static void
teardown(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	munmap(reps, sizeof(*reps) * NCHILD_MAX);
}

TestSuite(gc, .init = setup, .fini = teardown, .timeout = 60);

static int relaxed;   /* open_store: relaxed commits */

static struct store *
open_store(void)
{
	struct store_opts o;
	struct store *s = NULL;
	struct mk_err err;

	memset(&o, 0, sizeof(o));
	o.dir = envdir;
	o.relaxed_sync = relaxed;
	if (store_open(&o, &s, &err) != MK_OK)
		return NULL;
	return s;
}

static struct json_object *
parse(const char *text)
{
	struct json_object *o = NULL;
	struct mk_err err;

	if (jx_parse(text, strlen(text), 64, &o, &err) != MK_OK)
		return NULL;
	return o;
}

/* The stored bytes of a user (a copy), or "" when absent. */
static char *
stored(struct store *s, enum store_table tab, const char *id)
{
	struct store_txn *t;
	struct mk_slice rec;
	char *copy;

	cr_assert_eq(store_read_begin(s, &t), MK_OK);
	if (store_get(t, tab, (struct mk_slice){ id, strlen(id) }, &rec) != MK_OK)
		rec.n = 0;
	copy = calloc(1, rec.n + 1);
	cr_assert_not_null(copy);
	if (rec.n > 0)
		memcpy(copy, rec.p, rec.n);
	store_txn_end(t);
	return copy;
}

/*
 * Children attach (which takes the lock for a moment) before the parent
 * pauses the group: each says it is ready on one pipe and waits for a byte
 * on the other before it writes.
 */
static int ready_pipe[2], go_pipe[2];

static void
child_ready(void)
{
	char c = 'r';

	if (write(ready_pipe[1], &c, 1) != 1 || read(go_pipe[0], &c, 1) != 1)
		_exit(4);
}

/*
 * Wait for n children to be ready, pause the group, let them go, and wait
 * (at most 10 s) until their n writes are posted.
 */
static void
pause_and_go(struct gc *g, struct store *s, int n)
{
	struct timespec ts = { 0, 2000000 };
	char c;
	int i;

	for (i = 0; i < n; i++)
		cr_assert_eq(read(ready_pipe[0], &c, 1), 1);
	cr_assert_eq(gc_pause(g, s), 0);
	for (i = 0; i < n; i++)
		cr_assert_eq(write(go_pipe[1], "g", 1), 1);
	for (i = 0; i < 5000 && gc_pending(g) < (unsigned)n; i++)
		nanosleep(&ts, NULL);
	cr_assert_eq(gc_pending(g), (unsigned)n, "posted: %u of %d", gc_pending(g), n);
}

static void
report_stats(struct gc *g, struct report *r)
{
	struct gc_stats st;

	gc_stats(g, &st);
	r->led = st.led;
	r->applied = st.applied;
	r->alone = st.alone;
	r->timeouts = st.timeouts;
	r->own = svc_own_applied;
}

/* ---- a batch with failures in it ---- */

enum op_kind { OP_PATCH_OK, OP_PATCH_INVALID, OP_PATCH_412, OP_CLIENT, OP_CREATE };

static const char *user_ids[3];
static char user_id_buf[3][64];

static void
child_op(struct gc *g, int i, enum op_kind k)
{
	struct svc_limits lim;
	struct store *s;
	struct json_object *body = NULL;
	struct mk_buf out = MK_BUF_INIT;
	struct mk_err err;
	struct mk_slice bad = { "00000000000000000000000000000000", 32 };
	struct svc_precond pre = { 0, &bad, 1 };
	enum mk_code rc = MK_ERR_INTERNAL;

	svc_limits_defaults(&lim);
	memset(&err, 0, sizeof(err));
	if ((s = open_store()) == NULL || svc_group_commit(g, s, &lim) != MK_OK)
		_exit(3);
	child_ready();
	switch (k) {
	case OP_PATCH_OK:
		body = parse("{\"user_metadata\":{\"color\":\"blue\",\"n\":[1,2.50,\"x/y\"]}}");
		rc = svc_user_patch(s, &lim, user_ids[0], NULL, body, &out, &err);
		break;
	case OP_PATCH_INVALID:
		body = parse("{\"user_metadata\":{\"a.b\":1}}");
		rc = svc_user_patch(s, &lim, user_ids[1], NULL, body, &out, &err);
		break;
	case OP_PATCH_412:
		body = parse("{\"user_metadata\":{\"c\":3}}");
		rc = svc_user_patch(s, &lim, user_ids[2], &pre, body, &out, &err);
		break;
	case OP_CLIENT:
		body = parse("{\"name\":\"batched\",\"client_metadata\":{\"k\":\"v\"}}");
		rc = svc_client_create(s, &lim, body, &out, &err);
		break;
	case OP_CREATE: {
		char text[160];

		snprintf(text, sizeof(text), "{\"email\":\"c%d@example.com\","
		    "\"connection\":\"Username-Password-Authentication\","
		    "\"user_metadata\":{\"c\":%d}}", i, i);
		body = parse(text);
		rc = svc_user_create(s, &lim, body, &out, &err);
		break;
	}
	}
	reps[i].code = rc;
	memcpy(reps[i].msg, err.msg, sizeof(reps[i].msg));
	if (out.n < sizeof(reps[i].out)) {
		memcpy(reps[i].out, out.p ? out.p : "", out.n);
		reps[i].out_n = out.n;
	}
	report_stats(g, &reps[i]);
	_exit(0);
}

static void
reap(pid_t *pids, int n)
{
	int i, st;

	for (i = 0; i < n; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %#x", i, st);
	}
}

Test(gc, batch_keeps_the_others)
{
	struct svc_limits lim;
	struct store *s;
	struct gc *g = NULL;
	struct mk_err err;
	struct mk_buf out = MK_BUF_INIT;
	struct json_object *body;
	char *before[3], *after, cid[64];
	pid_t pids[4];
	unsigned long led = 0, applied = 0;
	int i;

	svc_limits_defaults(&lim);
	cr_assert_not_null(s = open_store());
	for (i = 0; i < 3; i++) {
		char text[128];

		snprintf(text, sizeof(text), "{\"email\":\"u%d@example.com\","
		    "\"connection\":\"Username-Password-Authentication\","
		    "\"user_metadata\":{\"i\":%d}}", i, i);
		cr_assert_not_null(body = parse(text));
		cr_assert_eq(svc_user_create(s, &lim, body, &out, &err), MK_OK, "%s", err.msg);
		json_object_put(body);
		cr_assert_not_null(body = parse(out.p));
		snprintf(user_id_buf[i], sizeof(user_id_buf[i]), "%s", jx_get_str(body, "user_id"));
		json_object_put(body);
		user_ids[i] = user_id_buf[i];
		before[i] = stored(s, ST_USERS, user_ids[i]);
	}
	cr_assert_eq(gc_new(8, 64 << 10, &g, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(pipe(ready_pipe), 0);
	cr_assert_eq(pipe(go_pipe), 0);
	for (i = 0; i < 4; i++) {
		cr_assert_neq(pids[i] = fork(), -1);
		if (pids[i] == 0)
			child_op(g, i, (enum op_kind)i);
	}
	pause_and_go(g, s, 4);
	gc_resume(g);
	reap(pids, 4);
	for (i = 0; i < 4; i++) {
		led += reps[i].led;
		applied += reps[i].applied;
	}
	cr_assert_eq(led, 1, "one batch: %lu led", led);
	cr_assert_eq(applied, 4, "of all four writes: %lu", applied);

	/* The valid PATCH: committed, and its answer is the stored record. */
	cr_assert_eq(reps[0].code, MK_OK, "%s", reps[0].msg);
	after = stored(s, ST_USERS, user_ids[0]);
	cr_assert_eq(reps[0].out_n, strlen(after));
	cr_assert_str_eq(reps[0].out, after);
	cr_assert_not_null(strstr(after, "\"n\":[1,2.50,\"x/y\"]"), "%s", after);
	free(after);
	/* The invalid one: its message, nothing of it written. */
	cr_assert_eq(reps[1].code, MK_ERR_INVALID);
	cr_assert_not_null(strstr(reps[1].msg, "Fields with \".\" are not allowed"), "%s",
	    reps[1].msg);
	after = stored(s, ST_USERS, user_ids[1]);
	cr_assert_str_eq(after, before[1]);
	free(after);
	/* The 412: nothing written. */
	cr_assert_eq(reps[2].code, MK_ERR_PRECOND);
	cr_assert_str_eq(reps[2].msg, "The resource has been modified.");
	after = stored(s, ST_USERS, user_ids[2]);
	cr_assert_str_eq(after, before[2]);
	free(after);
	/* The client: there, as answered. */
	cr_assert_eq(reps[3].code, MK_OK, "%s", reps[3].msg);
	cr_assert_not_null(body = parse(reps[3].out));
	snprintf(cid, sizeof(cid), "%s", jx_get_str(body, "client_id"));
	json_object_put(body);
	after = stored(s, ST_CLIENTS, cid);
	cr_assert_str_eq(reps[3].out, after);
	free(after);
	for (i = 0; i < 3; i++)
		free(before[i]);
	buf_free(&out);
	gc_free(g);
	store_close(s);
}

/*
 * Three user creates in one batch: the leader applies its own from its op
 * (svc_own: no parse of the wire), the other two from the wire; each
 * answer is the stored record, with its own email and metadata.
 */
Test(gc, creates_applied_from_the_op_or_the_wire)
{
	struct store *s;
	struct gc *g = NULL;
	struct mk_err err;
	struct json_object *o;
	char *after, want[64];
	pid_t pids[3];
	unsigned long led = 0, applied = 0, own = 0;
	int i;

	cr_assert_not_null(s = open_store());
	cr_assert_eq(gc_new(8, 64 << 10, &g, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(pipe(ready_pipe), 0);
	cr_assert_eq(pipe(go_pipe), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_neq(pids[i] = fork(), -1);
		if (pids[i] == 0)
			child_op(g, i, OP_CREATE);
	}
	pause_and_go(g, s, 3);
	gc_resume(g);
	reap(pids, 3);
	for (i = 0; i < 3; i++) {
		led += reps[i].led;
		applied += reps[i].applied;
		own += reps[i].own;
	}
	cr_assert_eq(led, 1, "one batch: %lu led", led);
	cr_assert_eq(applied, 3);
	cr_assert_eq(own, 1, "creates applied from the leader's own op: %lu", own);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(reps[i].code, MK_OK, "%s", reps[i].msg);
		cr_assert_not_null(o = parse(reps[i].out), "%s", reps[i].out);
		after = stored(s, ST_USERS, jx_get_str(o, "user_id"));
		cr_assert_str_eq(reps[i].out, after);
		snprintf(want, sizeof(want), "\"email\":\"c%d@example.com\"", i);
		cr_assert_not_null(strstr(after, want), "%s", after);
		snprintf(want, sizeof(want), "\"user_metadata\":{\"c\":%d}", i);
		cr_assert_not_null(strstr(after, want), "%s", after);
		free(after);
		json_object_put(o);
	}
	gc_free(g);
	store_close(s);
}

Test(gc, lone_write_leads_itself)
{
	struct svc_limits lim;
	struct store *s;
	struct gc *g = NULL;
	struct gc_stats st;
	struct mk_err err;
	struct mk_buf out = MK_BUF_INIT;
	struct json_object *body;
	unsigned long own;

	svc_limits_defaults(&lim);
	cr_assert_not_null(s = open_store());
	cr_assert_eq(gc_new(4, 64 << 10, &g, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(svc_group_commit(g, s, &lim), MK_OK);
	cr_assert_not_null(body = parse("{\"email\":\"lone@example.com\","
	    "\"connection\":\"Username-Password-Authentication\"}"));
	own = svc_own_applied;
	cr_assert_eq(svc_user_create(s, &lim, body, &out, &err), MK_OK, "%s", err.msg);
	json_object_put(body);
	cr_assert_eq(svc_own_applied, own + 1, "the lone create applied from its op");
	gc_stats(g, &st);
	cr_assert_eq(st.led, 1);
	cr_assert_eq(st.applied, 1);
	cr_assert_eq(st.alone, 0);
	cr_assert_eq(svc_group_commit(NULL, s, &lim), MK_OK);
	buf_free(&out);
	gc_free(g);
	store_close(s);
}

/* ---- a leader killed inside its batch ---- */

static char flagpath[160];

/*
 * Set in a leader by "die-at-meta": the next meta page LMDB writes (its
 * commit's last write, a pwrite into the first two pages of the data
 * file) is written, then the process gets SIGKILL, as a kill that arrives
 * during that write takes effect when it returns: after the commit is in
 * the file, before LMDB updates its shared "last txnid" in the lock file.
 */
static int die_at_meta;

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, const void *, size_t, off_t);
	ssize_t r;

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "pwrite");
	r = real(fd, buf, n, off);
	if (die_at_meta && off < 2 * sysconf(_SC_PAGESIZE))
		raise(SIGKILL);
	return r;
}

/*
 * "inc:K" adds one to the counter K (a token record, read and written in
 * the transaction); "die" kills its leader the first time it runs.
 */
static enum mk_code
count_apply(struct store_txn *t, void *ctx, const void *req, size_t n,
    struct mk_buf *out, struct mk_err *err)
{
	struct mk_slice rec, key;
	char num[32];
	long v = 0;
	int fd;

	(void)ctx;
	(void)out;
	if (n == 3 && memcmp(req, "die", 3) == 0) {
		if ((fd = open(flagpath, O_CREAT | O_EXCL | O_WRONLY, 0600)) != -1) {
			close(fd);
			raise(SIGKILL);
		}
		return MK_OK;
	}
	if (n == 11 && memcmp(req, "die-at-meta", 11) == 0) {
		/* Counted as "inc:" is; its leader dies as the batch commits. */
		if ((fd = open(flagpath, O_CREAT | O_EXCL | O_WRONLY, 0600)) != -1) {
			close(fd);
			die_at_meta = 1;
		}
	}
	if (n == 11 && memcmp(req, "exit-thread", 11) == 0) {
		/* Counted as "inc:" is; the first time, its leader's thread
		 * exits here, holding the group's lock and LMDB's. */
		if ((fd = open(flagpath, O_CREAT | O_EXCL | O_WRONLY, 0600)) != -1) {
			close(fd);
			syscall(SYS_exit, 0);
		}
	}
	key.p = req;
	key.n = n;
	if (n > 5 && memcmp(req, "slow:", 5) == 0) {
		struct timespec ts = { 0, 300000 };

		nanosleep(&ts, NULL);
	}
	if (n > 4 && memcmp(req, "bad:", 4) == 0) {
		/* Writes, then fails: none of it may stay. */
		if (store_put(t, ST_TOKENS, key, (struct mk_slice){ "1", 1 }) != MK_OK)
			return mk_fail(err, MK_ERR_INTERNAL, "put");
		return mk_fail(err, MK_ERR_INVALID, "bad on purpose");
	}
	if (store_get(t, ST_TOKENS, key, &rec) == MK_OK && rec.n < sizeof(num)) {
		memcpy(num, rec.p, rec.n);
		num[rec.n] = '\0';
		v = strtol(num, NULL, 10);
	}
	snprintf(num, sizeof(num), "%ld", v + 1);
	if (store_put(t, ST_TOKENS, key, (struct mk_slice){ num, strlen(num) }) != MK_OK)
		return mk_fail(err, MK_ERR_INTERNAL, "put");
	return MK_OK;
}

static void
child_count(struct gc *g, int i, const char *req)
{
	struct store *s;
	struct mk_err err;

	if ((s = open_store()) == NULL || gc_attach(g, s, count_apply, NULL) != MK_OK)
		_exit(3);
	child_ready();
	reps[i].code = gc_write(g, s, req, strlen(req), NULL, &err);
	report_stats(g, &reps[i]);
	_exit(0);
}

static long
counter(struct store *s, const char *k)
{
	char *v = stored(s, ST_TOKENS, k);
	long n = strtol(v, NULL, 10);

	free(v);
	return n;
}

/*
 * Four processes post reqs[0..3] while the lock is held, then race for it;
 * the one whose write is a death ("die", "die-at-meta") is SIGKILLed as
 * that write asks, the three others exit with their write's answer MK_OK.
 * The index of the dead one.
 */
static int
four_one_dies(struct gc *g, struct store *s, const char *const reqs[4])
{
	pid_t pids[4];
	int i, st, killed = 0, ok = 0, dead = -1;

	snprintf(flagpath, sizeof(flagpath), "%s/died", tmpdir);
	cr_assert_eq(pipe(ready_pipe), 0);
	cr_assert_eq(pipe(go_pipe), 0);
	for (i = 0; i < 4; i++) {
		cr_assert_neq(pids[i] = fork(), -1);
		if (pids[i] == 0)
			child_count(g, i, reqs[i]);
	}
	pause_and_go(g, s, 4);
	gc_resume(g);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
			killed++;
			dead = i;
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && reps[i].code == MK_OK)
			ok++;
	}
	cr_assert_eq(access(flagpath, F_OK), 0, "the leader did die");
	cr_assert_eq(killed, 1);
	cr_assert_eq(ok, 3, "every live owner got its write's answer");
	return dead;
}

Test(gc, dead_leader_runs_once)
{
	static const char *reqs[] = { "inc:a", "die", "inc:c", "inc:d" };
	struct store *s;
	struct gc *g = NULL;
	struct mk_err err;
	int i, dead;
	unsigned long recovered_by_all;

	cr_assert_not_null(s = open_store());
	cr_assert_eq(gc_new(8, 4096, &g, &err), MK_OK, "%s", err.msg);
	dead = four_one_dies(g, s, reqs);
	/*
	 * Every write of a live owner once: none lost, none applied twice.
	 * The dead leader's own write (any of the four: whoever took the lock
	 * first led) is dropped: its client was told it failed.
	 */
	for (i = 0; i < 4; i++)
		if (strncmp(reqs[i], "inc:", 4) == 0)
			cr_assert_eq(counter(s, reqs[i]), i == dead ? 0 : 1, "%s", reqs[i]);
	recovered_by_all = 0;
	for (i = 0; i < 4; i++)
		recovered_by_all += reps[i].applied;
	/* The dead leader's batch ran again, but for its own write. */
	cr_assert_geq(recovered_by_all, 3);
	gc_free(g);
	store_close(s);
}

Test(gc, dead_leader_committed_runs_none_again)
{
	static const char *reqs[] = { "inc:a", "die-at-meta", "inc:c", "inc:d" };
	struct store *s;
	struct gc *g = NULL;
	struct mk_err err;
	int i, dead;

	cr_assert_not_null(s = open_store());
	cr_assert_eq(gc_new(8, 4096, &g, &err), MK_OK, "%s", err.msg);
	dead = four_one_dies(g, s, reqs);
	/*
	 * The batch committed (its leader died after the meta page was in
	 * the file): every write of it once, the dead leader's own included;
	 * none run again.
	 */
	for (i = 0; i < 4; i++)
		cr_assert_eq(counter(s, reqs[i]), 1, "%s: %ld (the leader was %s)", reqs[i],
		    counter(s, reqs[i]), reqs[dead]);
	for (i = 0; i < 4; i++)
		cr_assert_eq(reps[i].applied, 0, "%s's process applied %lu writes after the "
		    "committed batch", reqs[i], reps[i].applied);
	gc_free(g);
	store_close(s);
}

static int hold_pipe[2];   /* the parent lets child_thread_leader go */

struct thread_write {
	struct gc *g;
	struct store *s;
};

static void *
thread_write(void *arg)
{
	struct thread_write *a = arg;
	struct mk_err err;

	(void)gc_write(a->g, a->s, "exit-thread", 11, NULL, &err);
	return NULL;
}

/*
 * A worker whose write a thread of its own posts and leads: the thread
 * exits inside the batch, the process (and its life mutex, held by the
 * main thread) lives on until the parent lets it go.
 */
static void
child_thread_leader(struct gc *g, int i)
{
	struct thread_write a;
	struct store *s;
	pthread_t th;
	char c;

	close(hold_pipe[1]);   /* a parent that fails lets it go too */
	if ((s = open_store()) == NULL || gc_attach(g, s, count_apply, NULL) != MK_OK)
		_exit(3);
	a.g = g;
	a.s = s;
	if (pthread_create(&th, NULL, thread_write, &a) != 0 || pthread_join(th, NULL) != 0)
		_exit(5);
	reps[i].code = MK_OK;
	if (write(ready_pipe[1], "r", 1) != 1 || read(hold_pipe[0], &c, 1) != 1)
		_exit(4);
	_exit(0);
}

Test(gc, dead_leader_own_write_dropped)
{
	struct store *s;
	struct gc *g = NULL;
	struct mk_err err;
	pid_t pids[2];
	char c;

	snprintf(flagpath, sizeof(flagpath), "%s/died", tmpdir);
	cr_assert_not_null(s = open_store());
	cr_assert_eq(gc_new(8, 4096, &g, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(pipe(ready_pipe), 0);
	cr_assert_eq(pipe(go_pipe), 0);
	cr_assert_eq(pipe(hold_pipe), 0);
	cr_assert_neq(pids[0] = fork(), -1);
	if (pids[0] == 0)
		child_thread_leader(g, 0);
	/* Its leader thread is gone, holding the lock; its life mutex is held. */
	cr_assert_eq(read(ready_pipe[0], &c, 1), 1);
	cr_assert_eq(access(flagpath, F_OK), 0, "the leader thread did exit");
	cr_assert_eq(gc_pending(g), 0, "its write is in the dead leader's batch");
	/* The next worker settles the batch (in gc_attach) and then writes. */
	cr_assert_neq(pids[1] = fork(), -1);
	if (pids[1] == 0)
		child_count(g, 1, "inc:b");
	cr_assert_eq(read(ready_pipe[0], &c, 1), 1);
	cr_assert_eq(write(go_pipe[1], "g", 1), 1);
	reap(&pids[1], 1);
	cr_assert_eq(write(hold_pipe[1], "g", 1), 1);
	reap(&pids[0], 1);
	cr_assert_eq(reps[1].code, MK_OK);
	cr_assert_eq(counter(s, "inc:b"), 1);
	cr_assert_eq(counter(s, "exit-thread"), 0,
	    "the dead leader's own write ran again (%ld)", counter(s, "exit-thread"));
	cr_assert_eq(reps[1].applied, 1, "the next leader applied %lu writes", reps[1].applied);
	gc_free(g);
	store_close(s);
}

Test(gc, failed_write_leaves_nothing)
{
	static const char *reqs[] = { "inc:a", "bad:x", "inc:c" };
	struct store *s;
	struct gc *g = NULL;
	struct mk_err err;
	pid_t pids[3];
	char *x;
	int i;

	cr_assert_not_null(s = open_store());
	cr_assert_eq(gc_new(8, 4096, &g, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(pipe(ready_pipe), 0);
	cr_assert_eq(pipe(go_pipe), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_neq(pids[i] = fork(), -1);
		if (pids[i] == 0)
			child_count(g, i, reqs[i]);
	}
	pause_and_go(g, s, 3);
	gc_resume(g);
	reap(pids, 3);
	cr_assert_eq(reps[0].led + reps[1].led + reps[2].led, 1, "one batch");
	cr_assert_eq(reps[0].code, MK_OK);
	cr_assert_eq(reps[1].code, MK_ERR_INVALID);
	cr_assert_eq(reps[2].code, MK_OK);
	cr_assert_eq(counter(s, "inc:a"), 1);
	cr_assert_eq(counter(s, "inc:c"), 1);
	x = stored(s, ST_TOKENS, "bad:x");
	cr_assert_str_eq(x, "", "the failed write's put stayed: %s", x);
	free(x);
	gc_free(g);
	store_close(s);
}

Test(gc, dead_owner_write_is_dropped)
{
	static const char *reqs[] = { "inc:ghost", "inc:b", "inc:c" };
	struct store *s;
	struct gc *g = NULL;
	struct mk_err err;
	siginfo_t si;
	pid_t pids[3];
	int i, st;

	cr_assert_not_null(s = open_store());
	/* Two slots: the successor gets the dead owner's or none. */
	cr_assert_eq(gc_new(2, 4096, &g, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(pipe(ready_pipe), 0);
	cr_assert_eq(pipe(go_pipe), 0);
	for (i = 0; i < 2; i++) {
		cr_assert_neq(pids[i] = fork(), -1);
		if (pids[i] == 0)
			child_count(g, i, reqs[i]);
	}
	pause_and_go(g, s, 2);
	/* The owner of "inc:ghost" dies while its write waits; a zombie still. */
	cr_assert_eq(kill(pids[0], SIGKILL), 0);
	memset(&si, 0, sizeof(si));
	cr_assert_eq(waitid(P_PID, (id_t)pids[0], &si, WEXITED | WNOWAIT), 0);
	gc_resume(g);
	cr_assert_eq(waitpid(pids[1], &st, 0), pids[1]);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_eq(reps[1].code, MK_OK);
	cr_assert_eq(reps[1].applied, 1, "the leader applied %lu writes", reps[1].applied);
	cr_assert_eq(counter(s, "inc:b"), 1);
	cr_assert_eq(counter(s, "inc:ghost"), 0, "the dead owner's write was applied");
	/* A successor (the dead one not reaped yet) takes its slot and writes. */
	cr_assert_neq(pids[2] = fork(), -1);
	if (pids[2] == 0)
		child_count(g, 2, reqs[2]);
	cr_assert_eq(write(go_pipe[1], "g", 1), 1);
	cr_assert_eq(waitpid(pids[2], &st, 0), pids[2]);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "successor: status %d", st);
	cr_assert_eq(reps[2].code, MK_OK);
	cr_assert_eq(reps[2].alone, 0, "the successor got no slot");
	cr_assert_eq(counter(s, "inc:c"), 1);
	cr_assert_eq(counter(s, "inc:ghost"), 0);
	cr_assert_eq(waitpid(pids[0], &st, 0), pids[0]);
	gc_free(g);
	store_close(s);
}

/* ---- wake-ups ---- */

/* Owners sleep this long without a wake-up: a lost one fails the test. */
#define LONG_TIMEOUT_NS 5000000000L

/* child_count, with the long timeout. */
static void
child_count_long(struct gc *g, int i, const char *req)
{
	struct store *s;
	struct mk_err err;

	if ((s = open_store()) == NULL || gc_attach(g, s, count_apply, NULL) != MK_OK)
		_exit(3);
	gc_set_timeout(g, LONG_TIMEOUT_NS);
	child_ready();
	reps[i].code = gc_write(g, s, req, strlen(req), NULL, &err);
	report_stats(g, &reps[i]);
	_exit(0);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

#define NWRITES 100

static void
child_many(struct gc *g, int i)
{
	struct store *s;
	struct mk_err err;
	char req[32];
	int k;

	if ((s = open_store()) == NULL || gc_attach(g, s, count_apply, NULL) != MK_OK)
		_exit(3);
	gc_set_timeout(g, LONG_TIMEOUT_NS);
	child_ready();
	snprintf(req, sizeof(req), "slow:w%d", i);
	for (k = 0; k < NWRITES; k++)
		if (gc_write(g, s, req, strlen(req), NULL, &err) != MK_OK)
			_exit(4);
	report_stats(g, &reps[i]);
	_exit(0);
}

Test(gc, no_lost_wakeups)
{
	struct store *s;
	struct gc *g = NULL;
	struct mk_err err;
	struct timespec t0, t1;
	pid_t pids[4];
	unsigned long applied = 0, alone = 0, timeouts = 0, led = 0;
	long ms;
	char key[16];
	char c;
	int i;

	relaxed = 1;
	cr_assert_not_null(s = open_store());
	cr_assert_eq(gc_new(8, 4096, &g, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(pipe(ready_pipe), 0);
	cr_assert_eq(pipe(go_pipe), 0);
	for (i = 0; i < 4; i++) {
		cr_assert_neq(pids[i] = fork(), -1);
		if (pids[i] == 0)
			child_many(g, i);
	}
	for (i = 0; i < 4; i++)
		cr_assert_eq(read(ready_pipe[0], &c, 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 4; i++)
		cr_assert_eq(write(go_pipe[1], "g", 1), 1);
	reap(pids, 4);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
	for (i = 0; i < 4; i++) {
		applied += reps[i].applied;
		alone += reps[i].alone;
		timeouts += reps[i].timeouts;
		led += reps[i].led;
		snprintf(key, sizeof(key), "slow:w%d", i);
		cr_assert_eq(counter(s, key), NWRITES, "%s: %ld", key, counter(s, key));
	}
	cr_assert_eq(applied, 4 * NWRITES, "applied %lu", applied);
	cr_assert_eq(alone, 0);
	/* Some batches were shared, so owners did sleep. */
	cr_assert_lt(led, 4 * NWRITES, "%lu batches of %d writes", led, 4 * NWRITES);
	cr_assert_eq(timeouts, 0, "%lu sleeps ended by the timeout (%d writes, %ld ms)",
	    timeouts, 4 * NWRITES, ms);
	gc_free(g);
	store_close(s);
}

Test(gc, resume_wakes_a_leader)
{
	static const char *reqs[] = { "inc:a", "inc:b", "inc:c" };
	struct store *s;
	struct gc *g = NULL;
	struct mk_err err;
	pid_t pids[3];
	int i;

	relaxed = 1;
	cr_assert_not_null(s = open_store());
	cr_assert_eq(gc_new(8, 4096, &g, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(pipe(ready_pipe), 0);
	cr_assert_eq(pipe(go_pipe), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_neq(pids[i] = fork(), -1);
		if (pids[i] == 0)
			child_count_long(g, i, reqs[i]);
	}
	pause_and_go(g, s, 3);
	sleep_ms(50);             /* all three asleep */
	gc_resume(g);
	reap(pids, 3);
	cr_assert_eq(reps[0].led + reps[1].led + reps[2].led, 1, "one batch");
	cr_assert_eq(reps[0].timeouts + reps[1].timeouts + reps[2].timeouts, 0,
	    "a sleep ended by its timeout: nobody was woken to lead");
	for (i = 0; i < 3; i++)
		cr_assert_eq(counter(s, reqs[i]), 1);
	gc_free(g);
	store_close(s);
}
