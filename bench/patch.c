/*
 * patch: COUNT random PATCHes of user_metadata on a database bench/load
 * filled (or metakeepctl imported from load -o), each through svc_user_patch
 * in its own write transaction (the service's write path without HTTP),
 * with relaxed sync.  For bench/run's import step: what the file size does
 * after many small writes.  The users and bodies are those of bench/wrk.lua
 * (ids computed as in load.c).
 *
 * usage: patch -d DIR -n USERS -c COUNT [-m MAPSIZE_MB] [-s SEED]
 * Prints "patches COUNT seconds S per_s R" on success.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "err.h"
#include "jx.h"
#include "store.h"
#include "svc.h"

/* One root key of user_metadata with a value of its usual type (wrk.lua). */
static int
patch_body(unsigned long r, char *out, size_t cap)
{
	static const char *three[] = { "dark", "light", "system" };
	static const char *langs[] = { "en", "de", "fr" };
	static const char *plans[] = { "free", "pro", "team" };
	int n = -1;

	switch (r % 8) {
	case 0: n = snprintf(out, cap, "{\"theme\":\"%s\"}", three[r % 3]); break;
	case 1: n = snprintf(out, cap, "{\"language\":\"%s\"}", langs[r % 3]); break;
	case 2: n = snprintf(out, cap, "{\"timezone\":\"UTC\"}"); break;
	case 3: n = snprintf(out, cap, "{\"newsletter\":%s}", r % 2 ? "false" : "true"); break;
	case 4: n = snprintf(out, cap, "{\"plan\":\"%s\"}", plans[r % 3]); break;
	case 5: n = snprintf(out, cap, "{\"score\":%lu}", r); break;
	case 6: n = snprintf(out, cap, "{\"address\":{\"street\":\"%lu Elm Street\"}}", r); break;
	case 7: n = snprintf(out, cap, "{\"tags\":[\"alpha\",\"t%lu\"]}", r); break;
	}
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int
main(int argc, char *argv[])
{
	struct store_opts o;
	struct store *s = NULL;
	struct svc_limits lim;
	struct mk_err err;
	struct mk_buf out;
	struct json_object *body = NULL;
	struct timespec t0, t1;
	const char *dir = NULL;
	unsigned long users = 0, count = 0, mapmb = 0, seed = 1, i, u, r;
	char md[128], text[192], id[64];
	uint32_t h;
	double secs;
	int ch, n, status = 1;

	while ((ch = getopt(argc, argv, "d:n:c:m:s:")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'n': users = strtoul(optarg, NULL, 10); break;
		case 'c': count = strtoul(optarg, NULL, 10); break;
		case 'm': mapmb = strtoul(optarg, NULL, 10); break;
		case 's': seed = strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (dir == NULL || users == 0 || users >= (1ul << 21))
		goto usage;
	memset(&o, 0, sizeof(o));
	memset(&err, 0, sizeof(err));
	memset(&out, 0, sizeof(out));
	svc_limits_defaults(&lim);
	o.dir = dir;
	o.map_size = (size_t)mapmb << 20;
	o.relaxed_sync = 1;
	srandom((unsigned int)seed);
	if (store_open(&o, &s, &err) != MK_OK) {
		fprintf(stderr, "patch: %s\n", err.msg);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		u = (unsigned long)random() % users;
		r = (unsigned long)random() % 100000;
		h = (uint32_t)((uint64_t)u * 2654435761u);
		snprintf(id, sizeof(id), "auth0|%08x%08x%08x", h, h, h);
		if (patch_body(r, md, sizeof(md)) < 0 ||
		    (n = snprintf(text, sizeof(text), "{\"user_metadata\":%s}", md)) < 0 ||
		    (size_t)n >= sizeof(text) ||
		    jx_parse(text, (size_t)n, 32, &body, &err) != MK_OK) {
			fprintf(stderr, "patch: cannot build patch %lu\n", i);
			goto out;
		}
		buf_reset(&out);
		if (svc_user_patch(s, &lim, id, NULL, body, &out, &err) != MK_OK) {
			fprintf(stderr, "patch: %s: %s\n", id, err.msg);
			goto out;
		}
		json_object_put(body);
		body = NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("patches %lu seconds %.1f per_s %.0f\n", count, secs,
	    secs > 0 ? (double)count / secs : 0.0);
	status = 0;
out:
	json_object_put(body);
	buf_free(&out);
	store_close(s);
	return status;
usage:
	fprintf(stderr, "usage: patch -d DIR -n USERS (< 2^21) -c COUNT [-m MAPSIZE_MB] "
	    "[-s SEED]\n");
	return 2;
}
