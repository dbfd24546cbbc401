/*
 * fuzz_cost: libFuzzer target for the search budget (sindex.h; issue 12,
 * finding 1): hostile q strings against a real store of 10,000 generated
 * users (tests/unit/gen_user), each searched through sindex_search with a
 * budget scaled to the store as the default is to 1M users (10,000 users:
 * SINDEX_BUDGET_DEFAULT / 100 = 80,000 units).  The page (order,
 * direction, offset up to Auth0's 1,000th result, size) comes from a hash
 * of the input, so deep pages and every order are tried too.
 *
 * The work a search really does is counted apart from the budget's own
 * bookkeeping: the link wraps LMDB's mdb_get and mdb_cursor_get and the
 * record parser jx_parse_stored (-Wl,--wrap, Makefile.am), and weighs what
 * they did in the budget's units (sindex.h): a positioning 8, a step to
 * the next entry 1, an id read from a page of a posting list 1, a record
 * parsed 128.  Work that never reaches LMDB (merging id sets in memory) is
 * caught by the search's thread CPU time instead.  It aborts when
 *  - a search, answered or refused, did more counted work than
 *    SLACK_FACTOR x the budget plus the page it visits: the budget did not
 *    stop it (the factor covers the model's rounding: a walk step is
 *    charged 4 and counted 1 + its record, a refused search stops after
 *    the charge that crossed the line);
 *  - its CPU time passes CPU_LIMIT_S, about 40x what the whole budget
 *    costs under ASan here: uncharged work in memory;
 *  - it was answered with more units spent than the budget, or failed with
 *    anything but MK_ERR_QUERY and a message.
 * At exit it prints, for the note: searches, answered, refused, the
 * largest counted work / budget, and the slowest search.
 *
 * Built and run by scripts/fuzz; seeds in tests/fuzz/corpus/fuzz_cost/
 * (the queries of the security review among them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <lmdb.h>

#include "gen_user.h"
#include "jx.h"
#include "log.h"
#include "query.h"
#include "sindex.h"
#include "store.h"
#include "svc.h"

#define NUSERS        10000
#define BATCH         1000
#define BUDGET        (SINDEX_BUDGET_DEFAULT / 100)
#define W_SEEK        8      /* the budget's units (sindex.h) */
#define W_RECORD      128
#define SLACK_FACTOR  3
#define CPU_LIMIT_S   2.0

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The wrapped calls (the real ones are __real_*). */
int __real_mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data);
int __wrap_mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data);
int __real_mdb_cursor_get(MDB_cursor *c, MDB_val *key, MDB_val *data, MDB_cursor_op op);
int __wrap_mdb_cursor_get(MDB_cursor *c, MDB_val *key, MDB_val *data, MDB_cursor_op op);
enum mk_code __real_jx_parse_stored(const char *buf, size_t len, struct json_object **out);
enum mk_code __wrap_jx_parse_stored(const char *buf, size_t len, struct json_object **out);

static struct store *st;
static char dir[4096];
static size_t work;     /* counted units of the search under way */
static struct {
	unsigned long searches, answered, refused;
	double worst_ratio, worst_cpu;
	char slowest[120];   /* the start of the slowest search's q */
} stats;

static void __attribute__((noreturn))
fail(const char *what, const char *q)
{
	fprintf(stderr, "fuzz_cost: invariant broken: %s\n  q=%s\n", what, q != NULL ? q : "");
	abort();
}

int
__wrap_mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
	work += W_SEEK;
	return __real_mdb_get(txn, dbi, key, data);
}

int
__wrap_mdb_cursor_get(MDB_cursor *c, MDB_val *key, MDB_val *data, MDB_cursor_op op)
{
	int rc = __real_mdb_cursor_get(c, key, data, op);

	switch (op) {
	case MDB_NEXT: case MDB_PREV: case MDB_NEXT_DUP: case MDB_PREV_DUP:
	case MDB_NEXT_NODUP: case MDB_PREV_NODUP: case MDB_GET_CURRENT:
		work += 1;
		break;
	case MDB_GET_MULTIPLE: case MDB_NEXT_MULTIPLE:
		work += rc == 0 ? data->mv_size / sizeof(uint32_t) : 1;
		break;
	default:
		work += W_SEEK;
		break;
	}
	return rc;
}

enum mk_code
__wrap_jx_parse_stored(const char *buf, size_t len, struct json_object **out)
{
	work += W_RECORD;
	return __real_jx_parse_stored(buf, len, out);
}

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
report(void)
{
	fprintf(stderr, "fuzz_cost: %lu searches, %lu answered, %lu refused (budget %zu "
	    "units); largest counted work %.2fx the budget; slowest %.1f ms CPU: %s\n",
	    stats.searches, stats.answered, stats.refused, (size_t)BUDGET,
	    stats.worst_ratio, stats.worst_cpu * 1e3, stats.slowest);
}

static void
cleanup(void)
{
	char cmd[sizeof(dir) + 16];

	report();
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_cost: could not remove %s\n", dir);
}

/* NUSERS generated users, imported in batches (the bulk path). */
static void
load(void)
{
	static struct svc_import_rec recs[BATCH];
	struct svc_limits lim;
	struct mk_err err;
	char body[4096];
	size_t i, n;

	svc_limits_defaults(&lim);
	gen_seed(0x5eed0c057ULL);
	for (i = 0; i < NUSERS; i += n) {
		memset(recs, 0, sizeof(recs));
		for (n = 0; n < BATCH && i + n < NUSERS; n++) {
			gen_user((int)(i + n), body, sizeof(body));
			if (jx_parse(body, strlen(body), 64, &recs[n].rec, NULL) != MK_OK)
				fail("a generated user does not parse", body);
		}
		if (svc_user_import(st, &lim, NULL, 0, recs, n, &err) != MK_OK)
			fail("import", err.msg);
		for (size_t k = 0; k < n; k++) {
			if (recs[k].code != MK_OK)
				fail("a generated user was refused", recs[k].err.msg);
			json_object_put(recs[k].rec);
		}
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct store_opts o = { 0 };
	struct mk_err err;

	(void)argc;
	(void)argv;
	log_init("fuzz_cost", 1, 0);
	/* Under $TMPDIR: scripts/fuzz points it into the build dir. */
	snprintf(dir, sizeof(dir), "%s/mk-fuzz-cost-XXXXXX",
	    getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] != '\0' ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		fail("mkdtemp", dir);
	o.dir = dir;
	o.map_size = 256u << 20;
	o.relaxed_sync = 1;
	if (store_open(&o, &st, &err) != MK_OK)
		fail("store_open", err.msg);
	atexit(cleanup);
	load();
	return 0;
}

static int
count_visit(void *ctx, struct mk_slice id, struct mk_slice rec)
{
	(void)id;
	(void)rec;
	(*(size_t *)ctx)++;
	return 0;
}

/* FNV-1a of the input: the page it is searched with. */
static uint32_t
hash(const uint8_t *d, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *d++) * 16777619u;
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = { 1, 50, 100 };
	struct query *q = NULL;
	struct query_error qe;
	struct store_txn *t = NULL;
	struct sindex_req rq;
	struct mk_err err;
	size_t spent = 0, total = 0, seen = 0, allowed;
	uint32_t h = hash(data, size);
	char text[QUERY_MAX_LEN + 1];
	double cpu;
	enum mk_code rc;

	if (size > QUERY_MAX_LEN)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (query_parse(text, size, &q, &qe) != MK_OK)
		return 0;
	memset(&rq, 0, sizeof(rq));
	rq.q = q;
	rq.page.order = (enum store_order)(h % 4);
	rq.page.desc = (int)((h >> 2) & 1);
	rq.page.limit = limits[(h >> 3) % 3];
	rq.page.skip = ((h >> 5) % 11) * 100 / rq.page.limit * rq.page.limit;
	rq.fn = count_visit;
	rq.ctx = &seen;
	rq.budget = BUDGET;
	rq.spent = &spent;
	if (store_read_begin(st, &t) != MK_OK)
		fail("store_read_begin", text);
	work = 0;
	cpu = cpu_now();
	rc = sindex_search(t, &rq, &total, &err);
	cpu = cpu_now() - cpu;
	store_txn_end(t);
	query_free(q);

	stats.searches++;
	if (rc == MK_OK) {
		stats.answered++;
		if (spent > BUDGET)
			fail("answered with more units spent than the budget", text);
		if (seen > rq.page.limit)
			fail("visited more users than the page holds", text);
	} else if (rc == MK_ERR_QUERY && err.msg[0] != '\0') {
		stats.refused++;
	} else {
		fail(err.msg[0] ? err.msg : "failed without a message", text);
	}
	/* The page's own records are read after the search is priced. */
	allowed = SLACK_FACTOR * (size_t)BUDGET + rq.page.limit * (W_RECORD + 4 * W_SEEK);
	if ((double)work / (double)BUDGET > stats.worst_ratio)
		stats.worst_ratio = (double)work / (double)BUDGET;
	if (cpu > stats.worst_cpu) {
		stats.worst_cpu = cpu;
		snprintf(stats.slowest, sizeof(stats.slowest), "%s", text);
	}
	if (work > allowed) {
		char what[160];
		snprintf(what, sizeof(what), "the search did %zu units of work, the budget "
		    "allows %zu (spent %zu, %s)", work, allowed, spent,
		    rc == MK_OK ? "answered" : "refused");
		fail(what, text);
	}
	if (cpu > CPU_LIMIT_S) {
		char what[160];
		snprintf(what, sizeof(what), "the search took %.2f s of CPU (limit %.1f s; "
		    "counted work %zu units)", cpu, CPU_LIMIT_S, work);
		fail(what, text);
	}
	return 0;
}
