/*
 * load: fill a metakeep database with N generated users, fast, for
 * bench/run.  It goes through the same model and store code as the service
 * (model_user_new builds and validates each user, store_user_put writes it
 * and its indexes), but not through HTTP, and it writes a batch of users per
 * write transaction instead of one commit per user.  Users get no password
 * (hashing is deliberately slow and not what the benchmark measures).
 *
 * User i (0 <= i < N) is predictable, so wrk scripts can pick one at random
 * without a list of ids:
 *   h       = (i * 2654435761) mod 2^32   (a bijection on 32-bit numbers,
 *             so ids are unique and spread over the key space the way
 *             random ids are)
 *   user_id = "auth0|" + hex8(h) hex8(h) hex8(h)
 *   email   = "u<i>@example.com"
 *   user_metadata root keys: theme language timezone newsletter plan score
 *             address tags
 * Also creates one token with every scope and writes it to -t FILE.
 *
 * usage: load -d DIR -n USERS [-m MAPSIZE_MB] [-b BATCH] [-t TOKENFILE]
 * Prints "users N json_bytes AVG seconds S" on success.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "auth.h"
#include "err.h"
#include "jx.h"
#include "model.h"
#include "store.h"
#include "util.h"

struct batch {
	unsigned long first, n;
	int64_t base_ms;
	uint64_t json_bytes;
};

static const char *themes[] = { "dark", "light", "system" };
static const char *langs[] = { "en", "de", "fr", "es", "ja" };
static const char *zones[] = { "Europe/Berlin", "America/New_York", "Asia/Tokyo",
    "UTC" };
static const char *plans[] = { "free", "pro", "team" };

static enum mk_code
put_one(struct store_txn *t, unsigned long i, struct batch *b, struct mk_err *err)
{
	char text[1024], id[25];
	struct json_object *body = NULL, *user = NULL;
	struct model_ctx mctx;
	struct model_user_keys mk;
	struct store_user_keys sk;
	struct mk_slice rec;
	uint32_t h = (uint32_t)((uint64_t)i * 2654435761u);
	enum mk_code rc;
	int n;

	snprintf(id, sizeof(id), "%08x%08x%08x", h, h, h);
	n = snprintf(text, sizeof(text),
	    "{\"email\":\"u%lu@example.com\",\"connection\":\"%s\","
	    "\"user_metadata\":{\"theme\":\"%s\",\"language\":\"%s\",\"timezone\":\"%s\","
	    "\"newsletter\":%s,\"plan\":\"%s\",\"score\":%lu,"
	    "\"address\":{\"street\":\"%lu Main Street\",\"city\":\"Springfield\","
	    "\"zip\":\"%05lu\",\"country\":\"US\"},\"tags\":[\"alpha\",\"beta\",\"gamma\"]},"
	    "\"app_metadata\":{\"roles\":[\"user\"],\"tier\":%lu,"
	    "\"customer_id\":\"cus_%010lu\",\"flags\":{\"beta\":%s,\"mfa\":false}}}",
	    i, MODEL_DEFAULT_CONNECTION, themes[i % 3], langs[i % 5], zones[i % 4],
	    i % 2 ? "true" : "false", plans[i % 3], i % 10000, i % 10000, i % 100000,
	    i % 4, i, i % 7 ? "false" : "true");
	if (n < 0 || (size_t)n >= sizeof(text))
		return mk_fail(err, MK_ERR_INTERNAL, "body too long");
	if ((rc = jx_parse(text, (size_t)n, 32, &body, err)) != MK_OK)
		return rc;
	memset(&mctx, 0, sizeof(mctx));
	mctx.now_ms = b->base_ms + (int64_t)i;
	mctx.new_id = id;
	mctx.max_depth = 32;
	if ((rc = model_user_new(body, &mctx, &user, err)) != MK_OK)
		goto out;
	rec.p = jx_text(user, &rec.n);
	model_user_keys(user, &mk);
	sk.user_id = mk.user_id;
	sk.email = mk.email;
	sk.connection = mk.connection;
	sk.created_at = mk.created_at;
	sk.updated_at = mk.updated_at;
	if ((rc = store_user_put(t, NULL, &sk, rec)) != MK_OK)
		mk_fail(err, rc, "store_user_put failed for user %lu", i);
	b->json_bytes += rec.n;
out:
	json_object_put(user);
	json_object_put(body);
	return rc;
}

static enum mk_code
put_batch(struct store_txn *t, void *ctx, struct mk_err *err)
{
	struct batch *b = ctx;
	unsigned long i;
	enum mk_code rc;

	for (i = b->first; i < b->first + b->n; i++)
		if ((rc = put_one(t, i, b, err)) != MK_OK)
			return rc;
	return MK_OK;
}

int
main(int argc, char *argv[])
{
	struct store_opts o;
	struct store *s = NULL;
	struct mk_err err;
	struct batch b;
	struct timespec t0, t1;
	const char *dir = NULL, *tokfile = NULL;
	unsigned long total = 0, bsize = 5000, mapmb = 0, done, json_bytes = 0;
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1];
	FILE *f;
	int ch, status = 1;

	while ((ch = getopt(argc, argv, "d:n:m:b:t:")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'n': total = strtoul(optarg, NULL, 10); break;
		case 'm': mapmb = strtoul(optarg, NULL, 10); break;
		case 'b': bsize = strtoul(optarg, NULL, 10); break;
		case 't': tokfile = optarg; break;
		default: goto usage;
		}
	}
	if (dir == NULL || bsize == 0)
		goto usage;
	memset(&o, 0, sizeof(o));
	memset(&err, 0, sizeof(err));
	o.dir = dir;
	o.map_size = (size_t)mapmb << 20;
	/* Loading is redone from scratch if the machine crashes. */
	o.relaxed_sync = 1;
	if (store_open(&o, &s, &err) != MK_OK) {
		fprintf(stderr, "load: %s\n", err.msg);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&b, 0, sizeof(b));
	b.base_ms = mk_now_ms() - (int64_t)total;
	for (done = 0; done < total; done += b.n) {
		b.first = done;
		b.n = total - done < bsize ? total - done : bsize;
		b.json_bytes = 0;
		if (store_write(s, put_batch, &b, &err) != MK_OK) {
			fprintf(stderr, "load: %s\n", err.msg);
			goto out;
		}
		json_bytes += b.json_bytes;
	}
	if (tokfile != NULL) {
		if (auth_token_create(s, SC_ALL, NULL, 0, tok, tid, &err) != MK_OK) {
			fprintf(stderr, "load: token: %s\n", err.msg);
			goto out;
		}
		if ((f = fopen(tokfile, "w")) == NULL || fprintf(f, "%s\n", tok) < 0 ||
		    fclose(f) != 0) {
			perror(tokfile);
			goto out;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("users %lu json_bytes %lu seconds %.1f\n", total,
	    total ? json_bytes / total : 0,
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	status = 0;
out:
	store_close(s);
	return status;
usage:
	fprintf(stderr, "usage: load -d DIR -n USERS [-m MAPSIZE_MB] [-b BATCH] "
	    "[-t TOKENFILE]\n");
	return 2;
}
