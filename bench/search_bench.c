/*
 * search_bench: how search time grows with the number of users, and what
 * the search index adds to a PATCH.
 *
 * Loads users through svc_user_import (the service's own write path, so the
 * search index is maintained as in production; batches of 5000 per write
 * transaction, relaxed sync) up to each checkpoint (-c, default
 * 10000,100000,1000000), and at each one times GET /api/v2/users?q=...
 * through api_handle (routing, token, parse, search, output; no HTTP):
 *   one     app_metadata.customer_id:<id>                  1 match
 *   ten     app_metadata.account:<acct>                    10 matches
 *   and     app_metadata.account:<acct> AND user_metadata.plan:pro
 *                                                          ~3 matches, one
 *                                                          side a third of all
 *   broad   user_metadata.plan:pro AND user_metadata.language:fr
 *           (page 0 of 50, include_totals)                 N/15 matches: grows
 * Then, at the last checkpoint, PATCH cost: svc_user_patch (record + order
 * indexes + search index) against the same change written without the
 * search index update (record and order indexes only).
 *
 * usage: search_bench [-d DIR] [-c N,N,...] [-q QUERIES] [-p PATCHES]
 * Built only on demand: make bench/search_bench
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "auth.h"
#include "jx.h"
#include "model.h"
#include "sindex.h"
#include "store.h"
#include "svc.h"
#include "util.h"

#define BATCH 5000

static const char *langs[] = { "en", "de", "fr", "es", "ja" };
static const char *plans[] = { "free", "pro", "team" };

static uint64_t rstate = 88172645463325252ULL;

static unsigned long
rnd(unsigned long n)
{
	rstate ^= rstate << 13;
	rstate ^= rstate >> 7;
	rstate ^= rstate << 17;
	return (unsigned long)(rstate % n);
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
user_id_of(unsigned long i, char *out, size_t cap)
{
	uint32_t h = (uint32_t)((uint64_t)i * 2654435761u);

	snprintf(out, cap, "auth0|%08x%08x%08x", h, h ^ 0x5bd1e995u, h);
}

static struct json_object *
user_rec(unsigned long i)
{
	char text[2048], id[64];
	struct json_object *o = NULL;
	int n;

	user_id_of(i, id, sizeof(id));
	n = snprintf(text, sizeof(text),
	    "{\"user_id\":\"%s\",\"email\":\"u%lu@example.com\",\"email_verified\":%s,"
	    "\"given_name\":\"Given%lu\",\"family_name\":\"Family%lu\","
	    "\"user_metadata\":{\"theme\":\"%s\",\"language\":\"%s\",\"plan\":\"%s\","
	    "\"score\":%lu,\"address\":{\"street\":\"%lu Main Street\","
	    "\"city\":\"Springfield\",\"zip\":\"%05lu\",\"country\":\"US\"},"
	    "\"tags\":[\"alpha\",\"beta\",\"gamma\"]},"
	    "\"app_metadata\":{\"roles\":[\"user\"],\"tier\":%lu,"
	    "\"customer_id\":\"cus_%010lu\",\"account\":\"acct-%lu\","
	    "\"flags\":{\"beta\":%s,\"mfa\":false}}}",
	    id + 6, i, i % 2 ? "true" : "false", i % 1000, i % 977,
	    i % 2 ? "dark" : "light", langs[i % 5], plans[i % 3], i % 10000, i % 10000,
	    i % 100000, i % 4, i, i / 10, i % 7 ? "false" : "true");
	if (n < 0 || (size_t)n >= sizeof(text))
		return NULL;
	if (jx_parse(text, (size_t)n, 32, &o, NULL) != MK_OK)
		return NULL;
	return o;
}

static int
load_to(struct store *s, const struct api_conf *ac, unsigned long from, unsigned long to)
{
	struct svc_import_rec *recs;
	struct mk_err err;
	unsigned long done, n, i;
	int rc = -1;

	if ((recs = calloc(BATCH, sizeof(*recs))) == NULL)
		return -1;
	for (done = from; done < to; done += n) {
		n = to - done < BATCH ? to - done : BATCH;
		for (i = 0; i < n; i++) {
			memset(&recs[i], 0, sizeof(recs[i]));
			if ((recs[i].rec = user_rec(done + i)) == NULL)
				goto out;
		}
		memset(&err, 0, sizeof(err));
		if (svc_user_import(s, &ac->limits, NULL, 0, recs, n, &err) != MK_OK) {
			fprintf(stderr, "search_bench: load: %s\n", err.msg);
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (recs[i].code != MK_OK) {
				fprintf(stderr, "search_bench: user %lu: %s\n", done + i,
				    recs[i].err.msg);
				goto out;
			}
			json_object_put(recs[i].rec);
			recs[i].rec = NULL;
		}
	}
	rc = 0;
out:
	for (i = 0; i < BATCH; i++)
		json_object_put(recs[i].rec);
	free(recs);
	return rc;
}

/* One GET through api_handle; returns its status (body in rs). */
static int
get(struct store *s, const struct api_conf *ac, const char *auth, const char *uri,
    struct http_resp *rs)
{
	struct http_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.uri = uri;
	rq.authorization = auth;
	http_resp_reset(rs);
	api_handle(s, ac, &rq, rs);
	return rs->status;
}

enum qkind { Q_ONE, Q_TEN, Q_AND, Q_BROAD, Q__N };
static const char *qnames[Q__N] = { "one", "ten", "and", "broad" };

static void
make_query(enum qkind k, unsigned long users, char *uri, size_t cap)
{
	unsigned long i = rnd(users);

	switch (k) {
	case Q_ONE:
		snprintf(uri, cap, "/api/v2/users?q=app_metadata.customer_id%%3Acus_%010lu",
		    i);
		break;
	case Q_TEN:
		snprintf(uri, cap, "/api/v2/users?q=app_metadata.account%%3Aacct-%lu",
		    i / 10);
		break;
	case Q_AND:
		snprintf(uri, cap, "/api/v2/users?q=app_metadata.account%%3Aacct-%lu"
		    "%%20AND%%20user_metadata.plan%%3Apro", i / 10);
		break;
	default:
		snprintf(uri, cap, "/api/v2/users?q=user_metadata.plan%%3Apro%%20AND%%20"
		    "user_metadata.language%%3Afr&include_totals=true&per_page=50");
		break;
	}
}

/* PATCH without the search index: what svc did before sindex existed. */
struct plain {
	const char *id;
	struct json_object *body;
	int64_t now_ms;
};

static enum mk_code
plain_patch_tx(struct store_txn *t, void *ctx, struct mk_err *err)
{
	struct plain *p = ctx;
	struct json_object *old = NULL, *user = NULL;
	struct model_ctx mctx;
	struct model_user_keys om, nm;
	struct store_user_keys ok, nk;
	struct mk_slice rec, key, text;
	enum mk_code rc;

	key.p = p->id;
	key.n = strlen(p->id);
	if ((rc = store_get(t, ST_USERS, key, &rec)) != MK_OK)
		return rc;
	if ((rc = jx_parse(rec.p, rec.n, 512, &old, err)) != MK_OK)
		return rc;
	memset(&mctx, 0, sizeof(mctx));
	mctx.now_ms = p->now_ms;
	mctx.max_depth = 32;
	if ((rc = model_user_patch(old, p->body, &mctx, &user, err)) != MK_OK)
		goto out;
	model_user_keys(old, &om);
	model_user_keys(user, &nm);
	ok = (struct store_user_keys){ om.user_id, om.email, om.connection, om.created_at,
	    om.updated_at };
	nk = (struct store_user_keys){ nm.user_id, nm.email, nm.connection, nm.created_at,
	    nm.updated_at };
	text.p = jx_text(user, &text.n);
	rc = store_user_put(t, &ok, &nk, text);
out:
	json_object_put(old);
	json_object_put(user);
	return rc;
}

static const char patch_text[] =
    "{\"user_metadata\":{\"plan\":\"team\",\"score\":%lu,\"language\":\"de\"}}";

int
main(int argc, char *argv[])
{
	struct store_opts o;
	struct store *s = NULL;
	struct api_conf ac;
	struct mk_err err;
	struct http_resp rs = { 0 };
	struct store_stats st;
	char dirbuf[] = "/tmp/mk-search-bench-XXXXXX", *dir = NULL, cps[256];
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1], auth[AUTH_TOKEN_LEN + 16];
	char uri[512], id[64], body[256], *p, *save = NULL;
	unsigned long cp[16], ncp = 0, loaded = 0, nq = 2000, npatch = 5000, i, k;
	double t0, t1, worst, tsum;
	int ch, status = 1, own_dir = 0;
	struct json_object *pb;

	strcpy(cps, "10000,100000,1000000");
	while ((ch = getopt(argc, argv, "d:c:q:p:")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'c': snprintf(cps, sizeof(cps), "%s", optarg); break;
		case 'q': nq = strtoul(optarg, NULL, 10); break;
		case 'p': npatch = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: search_bench [-d DIR] [-c N,N,...] "
			    "[-q QUERIES] [-p PATCHES]\n");
			return 2;
		}
	}
	for (p = strtok_r(cps, ",", &save); p != NULL && ncp < 16;
	    p = strtok_r(NULL, ",", &save))
		cp[ncp++] = strtoul(p, NULL, 10);
	if (ncp == 0 || nq == 0)
		return 2;
	if (dir == NULL) {
		if ((dir = mkdtemp(dirbuf)) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		own_dir = 1;
	}
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.map_size = (size_t)32 << 30;
	o.relaxed_sync = 1;
	api_conf_defaults(&ac);
	if (store_open(&o, &s, &err) != MK_OK) {
		fprintf(stderr, "search_bench: %s\n", err.msg);
		goto out;
	}
	if (auth_token_create(s, &(struct auth_grant){ SC_ALL, NULL, 0 },
	    tok, tid, &err) != MK_OK)
		goto out;
	snprintf(auth, sizeof(auth), "Bearer %s", tok);

	printf("%-9s %-6s %10s %10s %8s\n", "users", "query", "mean_us", "worst_us",
	    "matches");
	for (k = 0; k < ncp; k++) {
		t0 = now();
		if (cp[k] > loaded && load_to(s, &ac, loaded, cp[k]) == -1)
			goto out;
		t1 = now();
		if (cp[k] > loaded)
			fprintf(stderr, "loaded %lu users in %.1f s (%.0f users/s)\n",
			    cp[k] - loaded, t1 - t0, (double)(cp[k] - loaded) / (t1 - t0));
		loaded = cp[k] > loaded ? cp[k] : loaded;
		for (enum qkind q = 0; q < Q__N; q++) {
			unsigned long n = q == Q_BROAD ? (nq / 20 ? nq / 20 : 1) : nq;
			long matches = -1;

			tsum = worst = 0;
			for (i = 0; i < n; i++) {
				make_query(q, loaded, uri, sizeof(uri));
				t0 = now();
				if (get(s, &ac, auth, uri, &rs) != 200) {
					fprintf(stderr, "search_bench: %s: %d %s\n", uri,
					    rs.status, rs.body.p);
					goto out;
				}
				t1 = now();
				tsum += t1 - t0;
				worst = t1 - t0 > worst ? t1 - t0 : worst;
				if (matches < 0) {
					struct json_object *j = json_tokener_parse(rs.body.p), *v;
					if (json_object_object_get_ex(j, "total", &v))
						matches = json_object_get_int64(v);
					else
						matches = (long)json_object_array_length(j);
					json_object_put(j);
				}
			}
			printf("%-9lu %-6s %10.1f %10.1f %8ld\n", loaded, qnames[q],
			    tsum / (double)n * 1e6, worst * 1e6, matches);
		}
		fflush(stdout);
	}

	/* PATCH: with the search index (svc), then without it. */
	for (int pass = 0; pass < 2 && npatch > 0; pass++) {
		tsum = 0;
		for (i = 0; i < npatch; i++) {
			struct mk_buf out = MK_BUF_INIT;
			struct plain pl;

			user_id_of(rnd(loaded), id, sizeof(id));
			snprintf(body, sizeof(body), patch_text, i);
			pb = json_tokener_parse(body);
			t0 = now();
			if (pass == 0) {
				if (svc_user_patch(s, &ac.limits, id, NULL, pb, &out, &err) != MK_OK) {
					fprintf(stderr, "patch %s: %s\n", id, err.msg);
					goto out;
				}
			} else {
				pl.id = id;
				pl.body = pb;
				pl.now_ms = mk_now_ms();
				if (store_write(s, plain_patch_tx, &pl, &err) != MK_OK) {
					fprintf(stderr, "plain patch %s: %s\n", id, err.msg);
					goto out;
				}
			}
			tsum += now() - t0;
			json_object_put(pb);
			buf_free(&out);
		}
		printf("patch %-28s %8.1f us (%lu patches, %lu users)\n",
		    pass == 0 ? "with search index (svc):" : "without search index:",
		    tsum / (double)npatch * 1e6, npatch, loaded);
	}
	if (store_stat(s, &st, &err) == MK_OK)
		for (i = 0; i < st.ntables; i++)
			if (strcmp(st.tables[i].name, "search") == 0 ||
			    strcmp(st.tables[i].name, "users") == 0)
				printf("table %-7s %10zu entries %8zu bytes/user\n",
				    st.tables[i].name, st.tables[i].entries,
				    st.tables[i].pages * st.page_size / (loaded ? loaded : 1));
	status = 0;
out:
	http_resp_free(&rs);
	store_close(s);
	if (own_dir) {
		snprintf(uri, sizeof(uri), "rm -rf %s", dir);
		if (system(uri) != 0)
			fprintf(stderr, "search_bench: could not remove %s\n", dir);
	}
	return status;
}
