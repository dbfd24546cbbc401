/*
 * test_slots: the search slots (slots.h) across real processes, and the
 * api's use of them: a heavy search that finds every slot taken is
 * answered 429 at once, a cheap one is not limited, and a slot held by a
 * process that was SIGKILLed is free again.
 *
 * Slots are POSIX record locks, which belong to a process: the other
 * holders here are forked children that take a slot, tell the test on a
 * pipe, and wait to be killed.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gen_user.h"
#include "helper_api.h"
#include "slots.h"

static struct th_env env;
static char path[TH_DIR_MAX + 32];

static void
setup(void)
{
	th_env_open(&env, "test-slots", 64u << 20);
	snprintf(path, sizeof(path), "%s/search-slots.lock", env.db.dir);
}

static void
teardown(void)
{
	th_env_close(&env);
}

TestSuite(slots, .init = setup, .fini = teardown, .timeout = 60);

/*
 * A child that opens the n slots, takes one and holds it until killed.
 * Returns its pid once it holds the slot (asserts otherwise).
 */
static pid_t
holder(unsigned n)
{
	int p[2];
	char c = 0;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		struct slots s;
		struct mk_err err;

		close(p[0]);
		/* Never outlive the test, even when an assertion ends it. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() == 1)
			_exit(1);
		if (slots_open(&s, path, n, &err) != MK_OK || !slots_take(&s))
			_exit(1);
		c = 1;
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	cr_assert_gt(pid, 0);
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1, "the holder took no slot");
	close(p[0]);
	return pid;
}

static void
kill_holder(pid_t pid)
{
	int status;

	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
}

Test(slots, n_processes_at_once_and_a_killed_holder_frees_its_slot)
{
	struct slots s;
	struct mk_err err;
	pid_t a, b;

	a = holder(2);
	b = holder(2);
	cr_assert_eq(slots_open(&s, path, 2, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(slots_take(&s), 0, "a third process took one of 2 slots");
	kill_holder(a);
	cr_assert_eq(slots_take(&s), 1, "the slot of a SIGKILLed holder stayed taken");
	/* Holding one, taking again is no second slot. */
	cr_assert_eq(slots_take(&s), 1);
	slots_give(&s);
	cr_assert_eq(s.held, -1);
	kill_holder(b);
	slots_close(&s);
}

Test(slots, no_limit_opens_no_file)
{
	struct slots s;
	struct mk_err err;

	cr_assert_eq(slots_open(&s, path, 0, &err), MK_OK);
	cr_assert_eq(s.fd, -1);
	cr_assert_eq(slots_take(&s), 1);
	slots_close(&s);
	cr_assert_neq(access(path, F_OK), 0, "a lock file without a limit");
}

/* 40 users with metadata: "_exists_:email" reads 40 ids. */
static void
load(void)
{
	char body[4096];
	struct th_res r;
	int i;

	gen_seed(7);
	for (i = 0; i < 40; i++) {
		gen_user(i, body, sizeof(body));
		r = th_call(&env, "POST", "/api/v2/users", body, env.admin);
		cr_assert_eq(r.status, 201, "%s", r.body);
		th_res_free(&r);
	}
}

Test(slots, heavy_search_gets_429_while_every_slot_is_taken)
{
	struct slots s;
	struct mk_err err;
	struct th_res r;
	pid_t a;

	load();
	cr_assert_eq(slots_open(&s, path, 1, &err), MK_OK, "%s", err.msg);
	env.conf.search_slots = &s;
	/* Units: 40 results ordered by reading their records are heavy (5,000+),
	 * one result is not (about 150). */
	env.conf.search_heavy = 300;
	a = holder(1);

	r = th_call(&env, "GET", "/api/v2/users?q=_exists_:email", NULL, env.admin);
	cr_assert_eq(r.status, 429, "%d %s", r.status, r.body);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(r.json, "errorCode")),
	    "too_many_requests");
	cr_assert(strstr(r.body, "search_slots: 1") != NULL, "%s", r.body);
	cr_assert(strstr(r.headers, "Retry-After: 1\r\n") != NULL, "%s", r.headers);
	th_res_free(&r);

	/* A selective search stays under search_heavy: not limited. */
	r = th_call(&env, "GET", "/api/v2/users?q=user_metadata.seq:3", NULL, env.admin);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_eq(json_object_array_length(r.json), 1);
	th_res_free(&r);

	kill_holder(a);
	r = th_call(&env, "GET", "/api/v2/users?q=_exists_:email&per_page=100", NULL, env.admin);
	cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
	cr_assert_eq(json_object_array_length(r.json), 40);
	th_res_free(&r);
	/* The search gave its slot back. */
	cr_assert_eq(s.held, -1);
	env.conf.search_slots = NULL;
	slots_close(&s);
}
