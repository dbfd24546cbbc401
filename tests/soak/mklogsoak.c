/*
 * mklogsoak: many logged writes against a real store, with retention set
 * low, to show the event log stays bounded (tests/soak/test_logsoak.sh).
 *
 * It goes through api_handle, as a worker does (each PATCH writes its
 * record and its sapi event in one transaction, and api_handle prunes the
 * events past log_max_events in short transactions), but in one process
 * and with relaxed sync, so a million writes take minutes, not hours.
 * Every tenth of the run it prints the data file's size and the number of
 * events; at the end one line
 *   RESULT writes=N events=E max_events=M size_mid=B size_end=B seconds=S
 * Exit 0 when every PATCH answered 200, the events never passed
 * max_events + LOGEV_PRUNE_EVERY (the most a prune can lag: it runs every
 * LOGEV_PRUNE_EVERY requests), and the file did not grow by more than 25%
 * between the middle and the end of the run; 1 otherwise, 2 on bad usage.
 *
 * usage: mklogsoak -d DIR -n WRITES [-m MAX_EVENTS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "jx.h"
#include "logev.h"
#include "store.h"
#include "util.h"

#define USERS 100

static long long
file_size(const char *dir)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static size_t
events(struct store *s)
{
	struct store_txn *t;
	size_t n = 0;

	if (store_read_begin(s, &t) == MK_OK) {
		(void)store_log_count(t, &n);
		store_txn_end(t);
	}
	return n;
}

static int
request(struct store *s, const struct api_conf *c, const char *auth, const char *method,
    const char *uri, const char *body, struct http_resp *rs, char *out, size_t outlen)
{
	struct http_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.uri = uri;
	rq.content_type = "application/json";
	rq.authorization = auth;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	rq.remote_addr = "127.0.0.1";
	rq.user_agent = "mklogsoak";
	http_resp_reset(rs);
	api_handle(s, c, &rq, rs);
	if (out != NULL && outlen > 0)
		snprintf(out, outlen, "%.*s", (int)rs->body.n, rs->body.p ? rs->body.p : "");
	return rs->status;
}

int
main(int argc, char **argv)
{
	struct store_opts o;
	struct store *s = NULL;
	struct api_conf conf;
	struct http_resp rs;
	struct mk_err err;
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1], auth[128], uri[256], body[256];
	char ids[USERS][64], out[4096];
	const char *dir = NULL;
	struct json_object *u;
	long n = 0, i, bad = 0;
	size_t max = 1000, peak = 0, ev;
	long long mid = -1, end;
	time_t t0 = time(NULL);
	int ch, st;

	while ((ch = getopt(argc, argv, "d:n:m:")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'n': n = atol(optarg); break;
		case 'm': max = (size_t)atol(optarg); break;
		default: goto usage;
		}
	}
	if (dir == NULL || n <= 0 || max == 0)
		goto usage;
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.relaxed_sync = 1;
	memset(&err, 0, sizeof(err));
	if (store_open(&o, &s, &err) != MK_OK ||
	    auth_token_create(s, &(struct auth_grant){ SC_ALL, NULL, 0 }, tok, tid, &err) != MK_OK) {
		fprintf(stderr, "mklogsoak: %s\n", err.msg);
		return 1;
	}
	snprintf(auth, sizeof(auth), "Bearer %s", tok);
	api_conf_defaults(&conf);
	conf.logs.max_events = max;
	conf.logs.retention_days = 1;
	memset(&rs, 0, sizeof(rs));
	for (i = 0; i < USERS; i++) {
		snprintf(body, sizeof(body), "{\"email\":\"soak%ld@example.com\",\"connection\":"
		    "\"Username-Password-Authentication\",\"app_metadata\":{\"n\":0}}", i);
		st = request(s, &conf, auth, "POST", "/api/v2/users", body, &rs, out, sizeof(out));
		if (st != 201 || jx_parse_stored(out, strlen(out), &u) != MK_OK) {
			fprintf(stderr, "mklogsoak: create: %d %s\n", st, out);
			return 1;
		}
		snprintf(ids[i], sizeof(ids[i]), "%s", jx_get_str(u, "user_id"));
		json_object_put(u);
		/* the path's id: '|' encoded */
		for (char *p = ids[i]; *p; p++)
			if (*p == '|') {
				memmove(p + 3, p + 1, strlen(p + 1) + 1);
				memcpy(p, "%7C", 3);
				break;
			}
	}
	for (i = 0; i < n; i++) {
		snprintf(uri, sizeof(uri), "/api/v2/users/%s", ids[i % USERS]);
		snprintf(body, sizeof(body), "{\"app_metadata\":{\"n\":%ld,\"plan\":\"p%ld\"}}", i,
		    i % 7);
		if (request(s, &conf, auth, "PATCH", uri, body, &rs, NULL, 0) != 200)
			bad++;
		if ((i + 1) % (n / 10 > 0 ? n / 10 : 1) == 0 || i + 1 == n) {
			ev = events(s);
			if (ev > peak)
				peak = ev;
			printf("%ld writes: %zu events, data.mdb %lld bytes\n", i + 1, ev,
			    file_size(dir));
			fflush(stdout);
			if (mid < 0 && i + 1 >= n / 2)
				mid = file_size(dir);
		}
		if (i % 997 == 0 && (ev = events(s)) > peak)
			peak = ev;
	}
	end = file_size(dir);
	ev = events(s);
	printf("RESULT writes=%ld failed=%ld events=%zu peak=%zu max_events=%zu size_mid=%lld "
	    "size_end=%lld seconds=%ld\n", n, bad, ev, peak, max, mid, end,
	    (long)(time(NULL) - t0));
	http_resp_free(&rs);
	store_close(s);
	return bad == 0 && peak <= max + LOGEV_PRUNE_EVERY && end <= mid + mid / 4 ? 0 : 1;
usage:
	fprintf(stderr, "usage: mklogsoak -d DIR -n WRITES [-m MAX_EVENTS]\n");
	return 2;
}
