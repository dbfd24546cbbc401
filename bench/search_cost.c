/*
 * search_cost: what the units of the search budget (sindex.h) cost in
 * time, on an existing database (bench/load makes one).
 *
 * First the three weights, measured with the store's own calls outside any
 * planner: reading one id of a posting list (_exists_:email), one probe
 * of one id under one key (store_search_has), reading and parsing one
 * record.  Prints ns per operation and the ratios seek/id and record/id,
 * which COST_SEEK and COST_RECORD in sindex.c should be near.  Then each
 * QUERY (or a built-in set when none is given) through sindex_search with
 * no budget: units spent, best time of -r runs, ns per unit, matches.
 * With a budget that is the figure that matters: units x ns/unit is the
 * most time a search may take.  Times are the thread's CPU time, so
 * other jobs on the machine inflate them less than wall-clock time.
 *
 * usage: search_cost -d DIR [-r RUNS] [QUERY...]
 * Built only on demand: make bench/search_cost
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "jx.h"
#include "query.h"
#include "sindex.h"
#include "store.h"

#define SAMPLE 20000   /* ids probed and records read for the weights */

static const char *const builtin[] = {
	"_exists_:email",
	"user_metadata.plan:pro AND user_metadata.language:fr",
	"NOT user_metadata.plan:pro",
	"user_metadata.plan:pro OR user_metadata.theme:dark OR user_metadata.language:de",
	NULL,
};

struct ids {
	uint32_t *v;
	size_t n, cap;
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
take_ids(void *ctx, struct mk_slice key, const void *nums, size_t n)
{
	struct ids *s = ctx;
	uint32_t *nv;

	(void)key;
	while (s->cap - s->n < n) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		if ((nv = realloc(s->v, s->cap * sizeof(*nv))) == NULL)
			return 1;
		s->v = nv;
	}
	memcpy(s->v + s->n, nums, n * sizeof(*s->v));
	s->n += n;
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

/*
 * The three weights; 0 on success.  print 0: a warming pass (the first
 * touch of each page of the map is a page fault, which a long-running
 * worker does not pay).
 */
static int
weights(struct store_txn *t, int print)
{
	char key[STORE_SEARCH_KEYMAX], key2[STORE_SEARCH_KEYMAX];
	struct ids all = { NULL, 0, 0 };
	struct mk_slice k, k2, id, rec;
	struct json_object *u;
	double t0, tid, tseek, trec;
	size_t i, n, hits = 0;
	int has;

	k.p = key;
	k.n = sindex_term_key(&(struct query_term){ "email", 5, 1, 'e', NULL, 0 }, key, NULL);
	k2.p = key2;
	k2.n = sindex_term_key(&(struct query_term){ "user_metadata.plan", 18, 0, 's', "pro", 3 },
	    key2, NULL);
	t0 = now();
	if (store_search_get(t, k, take_ids, &all) != MK_OK || all.n == 0) {
		fprintf(stderr, "search_cost: no _exists_:email ids\n");
		free(all.v);
		return -1;
	}
	tid = (now() - t0) / (double)all.n;
	n = all.n < SAMPLE ? all.n : SAMPLE;
	t0 = now();
	for (i = 0; i < n; i++) {
		/* spread over the id space, as a planner's candidates are */
		if (store_search_has(t, k2, all.v[i * (all.n / n)], &has) != MK_OK)
			goto fail;
		hits += (size_t)has;
	}
	tseek = (now() - t0) / (double)n;
	t0 = now();
	for (i = 0; i < n; i++) {
		if (store_user_id(t, all.v[i * (all.n / n)], &id) != MK_OK ||
		    store_get(t, ST_USERS, id, &rec) != MK_OK ||
		    jx_parse_stored(rec.p, rec.n, &u) != MK_OK)
			goto fail;
		json_object_put(u);
	}
	trec = (now() - t0) / (double)n;
	if (!print)
		goto done;
	printf("weights: id %.1f ns (%zu ids), seek %.1f ns (%zu probes, %zu hits), "
	    "record %.1f ns\n", tid * 1e9, all.n, tseek * 1e9, n, hits, trec * 1e9);
	printf("ratios: seek/id %.1f  record/id %.1f\n", tseek / tid, trec / tid);
done:
	free(all.v);
	return 0;
fail:
	fprintf(stderr, "search_cost: store read failed\n");
	free(all.v);
	return -1;
}

static int
run_query(struct store_txn *t, const char *text, int runs)
{
	struct query *q = NULL;
	struct query_error qe;
	struct sindex_req sr;
	struct mk_err err;
	size_t spent = 0, total = 0, seen = 0;
	double best = 1e9, t0, dt;
	int i;

	if (query_parse(text, strlen(text), &q, &qe) != MK_OK) {
		fprintf(stderr, "search_cost: %s: %s at %zu\n", text, qe.msg, qe.pos);
		return -1;
	}
	memset(&sr, 0, sizeof(sr));
	sr.q = q;
	sr.page.order = STORE_BY_ID;
	sr.page.limit = 50;
	sr.fn = count_visit;
	sr.ctx = &seen;
	sr.spent = &spent;
	for (i = 0; i < runs; i++) {
		t0 = now();
		if (sindex_search(t, &sr, &total, &err) != MK_OK) {
			fprintf(stderr, "search_cost: %s: %s\n", text, err.msg);
			query_free(q);
			return -1;
		}
		dt = now() - t0;
		best = dt < best ? dt : best;
	}
	printf("%12zu units %9.2f ms %6.1f ns/unit %8zu matches  %.60s%s\n", spent,
	    best * 1e3, best * 1e9 / (double)(spent ? spent : 1), total, text,
	    strlen(text) > 60 ? "..." : "");
	query_free(q);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct store_opts o;
	struct store *s = NULL;
	struct store_txn *t = NULL;
	struct mk_err err;
	const char *dir = NULL;
	int ch, runs = 5, i, status = 1;

	while ((ch = getopt(argc, argv, "d:r:")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'r': runs = atoi(optarg); break;
		default:
			goto usage;
		}
	}
	if (dir == NULL || runs < 1)
		goto usage;
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.map_size = (size_t)32 << 30;
	if (store_open(&o, &s, &err) != MK_OK) {
		fprintf(stderr, "search_cost: %s\n", err.msg);
		return 1;
	}
	if (store_read_begin(s, &t) != MK_OK)
		goto out;
	if (weights(t, 0) == -1 || weights(t, 1) == -1)
		goto out;
	if (optind == argc) {
		for (i = 0; builtin[i] != NULL; i++)
			if (run_query(t, builtin[i], runs) == -1)
				goto out;
	}
	for (i = optind; i < argc; i++)
		if (run_query(t, argv[i], runs) == -1)
			goto out;
	status = 0;
out:
	if (t != NULL)
		store_txn_end(t);
	store_close(s);
	return status;
usage:
	fprintf(stderr, "usage: search_cost -d DIR [-r RUNS] [QUERY...]\n");
	return 2;
}
