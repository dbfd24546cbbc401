/*
 * api_write: COUNT PATCHes (or POSTs, or GETs) through api_handle, as one worker
 * serves them, on a database bench/load filled: routing, the token's
 * lookup, the rate limit, the body's parse, the write transaction with its
 * log event, the response; everything but FastCGI.  The bodies are those of
 * bench/wrk.lua (user ids computed as in load.c).  For the CPU one write
 * costs (issue 13): run it under /usr/bin/time or callgrind.  GETs of
 * random users tell what a read costs as the store grows, without the web
 * server and the other processes of a wrk run (-p: run the COUNT twice,
 * report the second, warm, pass).
 *
 * usage: api_write -d DIR -n USERS -c COUNT [-m patch|post|get] [-D] [-L] [-R]
 *                  [-p] [-s SEED] [-b BODY] [-W] [-F USERS] [-G]
 *   -b  every PATCH sends BODY instead of wrk.lua's bodies
 *   -G  writes through a group commit of this process alone (svc_group_commit),
 *       as a worker's go: encoded, posted, applied by this process as leader
 *   -F  store_search_new_max: new users' search entries moved from
 *       terms_new into terms every USERS users (default 64)
 *   -W  PATCHes go the whole way (svc_patch_whole: parse and write the whole
 *       record), to compare with the default, which parses what changes
 *   -D  durable commits (default: relaxed, as bench/run's relaxed rounds)
 *   -L  log events off (default on, as metakeepd)
 *   -R  rate limits off (default on, with bench/run's rates)
 * Prints "api_write MODE COUNT seconds S per_s R cpu_us_per_req U" and
 * exits 0 when every request got its 200/201, 1 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "err.h"
#include "gc.h"
#include "ratelimit.h"
#include "store.h"
#include "svc.h"

/* One root key of user_metadata with a value of its usual type (wrk.lua). */
static int
patch_body(unsigned long r, char *out, size_t cap)
{
	static const char *three[] = { "dark", "light", "system" };
	static const char *langs[] = { "en", "de", "fr" };
	static const char *plans[] = { "free", "pro", "team" };
	const char *pre = "{\"user_metadata\":", *post = "}";
	int n = -1;

	switch (r % 8) {
	case 0: n = snprintf(out, cap, "%s{\"theme\":\"%s\"}%s", pre, three[r % 3], post); break;
	case 1: n = snprintf(out, cap, "%s{\"language\":\"%s\"}%s", pre, langs[r % 3], post); break;
	case 2: n = snprintf(out, cap, "%s{\"timezone\":\"UTC\"}%s", pre, post); break;
	case 3: n = snprintf(out, cap, "%s{\"newsletter\":%s}%s", pre, r % 2 ? "false" : "true",
	    post); break;
	case 4: n = snprintf(out, cap, "%s{\"plan\":\"%s\"}%s", pre, plans[r % 3], post); break;
	case 5: n = snprintf(out, cap, "%s{\"score\":%lu}%s", pre, r, post); break;
	case 6: n = snprintf(out, cap, "%s{\"address\":{\"street\":\"%lu Elm Street\"}}%s", pre, r,
	    post); break;
	case 7: n = snprintf(out, cap, "%s{\"tags\":[\"alpha\",\"t%lu\"]}%s", pre, r, post); break;
	}
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

static int
post_body(unsigned long nonce, unsigned long i, char *out, size_t cap)
{
	int n = snprintf(out, cap, "{\"email\":\"p%lu-%lu@bench.example\",\"connection\":"
	    "\"Username-Password-Authentication\",\"user_metadata\":{\"theme\":\"dark\","
	    "\"language\":\"en\",\"timezone\":\"UTC\",\"newsletter\":true,\"plan\":\"free\","
	    "\"score\":%lu,\"address\":{\"street\":\"1 Main Street\",\"city\":\"Springfield\","
	    "\"zip\":\"12345\",\"country\":\"US\"},\"tags\":[\"alpha\",\"beta\",\"gamma\"]},"
	    "\"app_metadata\":{\"roles\":[\"user\"],\"tier\":1,\"customer_id\":\"cus_0000000001\","
	    "\"flags\":{\"beta\":false,\"mfa\":false}}}", nonce, i, i);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int
main(int argc, char *argv[])
{
	struct store_opts o;
	struct store *s = NULL;
	struct api_conf conf;
	struct ratelimit *rl = NULL;
	struct gc *g = NULL;
	struct http_req rq;
	struct http_resp rs;
	struct mk_err err;
	struct timespec a, b;
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1], auth[128], uri[128], body[1024];
	const char *dir = NULL, *mode = "patch", *fixed = NULL;
	unsigned long users = 0, count = 0, i, seed = 1, nonce;
	unsigned long long r;
	long bad = 0;
	int ch, durable = 0, logs = 1, limits = 1, group = 0, post, get, want, pass, passes = 1;
	double secs, c0, c1;

	while ((ch = getopt(argc, argv, "d:n:c:m:DLRps:b:WF:G")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'n': users = strtoul(optarg, NULL, 10); break;
		case 'c': count = strtoul(optarg, NULL, 10); break;
		case 'm': mode = optarg; break;
		case 'D': durable = 1; break;
		case 'L': logs = 0; break;
		case 'R': limits = 0; break;
		case 'p': passes = 2; break;
		case 's': seed = strtoul(optarg, NULL, 10); break;
		case 'b': fixed = optarg; break;
		case 'W': svc_patch_whole = 1; break;
		case 'F': store_search_new_max = strtoul(optarg, NULL, 10); break;
		case 'G': group = 1; break;
		default: goto usage;
		}
	}
	post = strcmp(mode, "post") == 0;
	get = strcmp(mode, "get") == 0;
	if (dir == NULL || users == 0 || count == 0 ||
	    (!post && !get && strcmp(mode, "patch") != 0))
		goto usage;
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.relaxed_sync = !durable;
	memset(&err, 0, sizeof(err));
	if (store_open(&o, &s, &err) != MK_OK ||
	    auth_token_create(s, &(struct auth_grant){ SC_ALL, NULL, 0 }, tok, tid, &err) != MK_OK) {
		fprintf(stderr, "api_write: %s\n", err.msg);
		return 1;
	}
	snprintf(auth, sizeof(auth), "Bearer %s", tok);
	api_conf_defaults(&conf);
	conf.logs.on = logs;
	if (limits) {
		if (ratelimit_new(4096, &rl, &err) != MK_OK) {
			fprintf(stderr, "api_write: %s\n", err.msg);
			return 1;
		}
		conf.rl = rl;
		conf.rate_read.rate = conf.rate_write.rate = 12000000;
		conf.rate_read.burst = conf.rate_write.burst = 200000;
	}
	if (group && (gc_new(4, 64 << 10, &g, &err) != MK_OK ||
	    svc_group_commit(g, s, &conf.limits) != MK_OK)) {
		fprintf(stderr, "api_write: group commit: %s\n", err.msg);
		return 1;
	}
	memset(&rs, 0, sizeof(rs));
	nonce = (unsigned long)time(NULL) * 1000 + (unsigned long)getpid() % 1000;
	for (pass = 0; pass < passes; pass++) {
		r = seed + (unsigned long)pass;
		clock_gettime(CLOCK_MONOTONIC, &a);
		c0 = cpu_s();
		for (i = 0; i < count; i++) {
			memset(&rq, 0, sizeof(rq));
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			if (post) {
				rq.method = "POST";
				snprintf(uri, sizeof(uri), "/api/v2/users");
				if (post_body(nonce, i, body, sizeof(body)) < 0)
					goto usage;
				want = 201;
			} else {
				unsigned long u = (unsigned long)(r >> 33) % users;
				uint32_t h = (uint32_t)(u * 2654435761u);

				rq.method = get ? "GET" : "PATCH";
				snprintf(uri, sizeof(uri), "/api/v2/users/auth0%%7C%08x%08x%08x", h, h, h);
				body[0] = '\0';
				if (!get && fixed != NULL) {
					if (strlen(fixed) >= sizeof(body))
						goto usage;
					strcpy(body, fixed);
				} else if (!get && patch_body((unsigned long)(r >> 20) % 100000, body,
				    sizeof(body)) < 0)
					goto usage;
				want = 200;
			}
			rq.uri = uri;
			rq.content_type = get ? NULL : "application/json";
			rq.authorization = auth;
			rq.body = get ? NULL : body;
			rq.body_len = strlen(body);
			rq.remote_addr = "127.0.0.1";
			rq.user_agent = "wrk";
			http_resp_reset(&rs);
			api_handle(s, &conf, &rq, &rs);
			if (rs.status != want && bad++ < 3)
				fprintf(stderr, "api_write: %s %s: %d %.*s\n", rq.method, uri, rs.status,
				    (int)rs.body.n, rs.body.p ? rs.body.p : "");
		}
		c1 = cpu_s();
		clock_gettime(CLOCK_MONOTONIC, &b);
	}
	secs = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("api_write %s %lu seconds %.2f per_s %.0f cpu_us_per_req %.1f failed %ld\n", mode,
	    count, secs, count / secs, (c1 - c0) * 1e6 / count, bad);
	http_resp_free(&rs);
	if (g != NULL) {
		svc_group_commit(NULL, s, &conf.limits);
		gc_free(g);
	}
	ratelimit_free(rl);
	store_close(s);
	return bad == 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: api_write -d DIR -n USERS -c COUNT [-m patch|post|get] [-D] [-L] "
	    "[-R] [-p] [-s SEED] [-b BODY] [-W] [-F USERS] [-G]\n");
	return 2;
}
