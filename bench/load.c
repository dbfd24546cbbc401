/*
 * load: fill a metakeep database with N generated users, fast, for
 * bench/run.  It goes through the same model and store code as the service
 * (svc_user_import, the path of metakeepctl import: model rules, unique
 * ids and emails, record, indexes and search terms), but not through HTTP,
 * and it writes a batch of users per write transaction instead of one
 * commit per user.  Users get no password
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
 * usage: load -d DIR -n USERS [-m MAPSIZE_MB] [-b BATCH] [-t TOKENFILE] [-r]
 * (-r: insert in random id order; see main)
 *        load -o FILE -n USERS
 * (the same users as an Auth0 bulk import file, for metakeepctl import)
 * Prints "users N json_bytes AVG seconds S" and the bytes per user of each
 * table (pages x page size / N) on success.
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
#include "api.h"
#include "store.h"
#include "svc.h"
#include "util.h"

static const char *themes[] = { "dark", "light", "system" };
static const char *langs[] = { "en", "de", "fr", "es", "ja" };
static const char *zones[] = { "Europe/Berlin", "America/New_York", "Asia/Tokyo",
    "UTC" };
static const char *plans[] = { "free", "pro", "team" };

/*
 * The import record of user i (see the top of the file) as JSON text into
 * text (cap bytes).  Returns its length, or -1 when it does not fit.
 */
static int
user_text(unsigned long i, char *text, size_t cap)
{
	uint32_t h = (uint32_t)((uint64_t)i * 2654435761u);
	int n;

	n = snprintf(text, cap,
	    "{\"user_id\":\"%08x%08x%08x\",\"email\":\"u%lu@example.com\","
	    "\"user_metadata\":{\"theme\":\"%s\",\"language\":\"%s\",\"timezone\":\"%s\","
	    "\"newsletter\":%s,\"plan\":\"%s\",\"score\":%lu,"
	    "\"address\":{\"street\":\"%lu Main Street\",\"city\":\"Springfield\","
	    "\"zip\":\"%05lu\",\"country\":\"US\"},\"tags\":[\"alpha\",\"beta\",\"gamma\"]},"
	    "\"app_metadata\":{\"roles\":[\"user\"],\"tier\":%lu,"
	    "\"customer_id\":\"cus_%010lu\",\"flags\":{\"beta\":%s,\"mfa\":false}}}",
	    h, h, h, i, themes[i % 3], langs[i % 5], zones[i % 4],
	    i % 2 ? "true" : "false", plans[i % 3], i % 10000, i % 10000, i % 100000,
	    i % 4, i, i % 7 ? "false" : "true");
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* The import record of user i, parsed; owned, or NULL. */
static struct json_object *
user_rec(unsigned long i)
{
	char text[1024];
	struct json_object *o = NULL;
	struct mk_err err;
	int n;

	if ((n = user_text(i, text, sizeof(text))) < 0)
		return NULL;
	memset(&err, 0, sizeof(err));
	if (jx_parse(text, (size_t)n, 32, &o, &err) != MK_OK)
		return NULL;
	return o;
}

/*
 * -o FILE: the N users as one Auth0 bulk import file (a JSON array, one
 * record a line), in i order (random user_id order, as an export of users
 * created one by one), for metakeepctl import.  Returns 0 or -1.
 */
static int
write_bulk(const char *path, unsigned long total)
{
	char text[1024];
	unsigned long i;
	FILE *f;
	int n;

	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return -1;
	}
	fputs("[\n", f);
	for (i = 0; i < total; i++) {
		if ((n = user_text(i, text, sizeof(text))) < 0) {
			fprintf(stderr, "load: cannot build user %lu\n", i);
			fclose(f);
			return -1;
		}
		fwrite(text, 1, (size_t)n, f);
		fputs(i + 1 < total ? ",\n" : "\n", f);
	}
	fputs("]\n", f);
	if (ferror(f) | (fclose(f) != 0)) {
		perror(path);
		return -1;
	}
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
add_size(void *ctx, struct mk_slice key, struct mk_slice rec)
{
	(void)key;
	*(uint64_t *)ctx += rec.n;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct store_opts o;
	struct store *s = NULL;
	struct store_txn *rt = NULL;
	struct api_conf ac;
	struct mk_err err;
	struct svc_import_rec *recs = NULL;
	struct store_stats st;
	struct timespec t0, t1;
	const char *dir = NULL, *tokfile = NULL, *bulk = NULL;
	unsigned long total = 0, bsize = 5000, mapmb = 0, done, n, i;
	uint64_t json_bytes = 0, *order = NULL;
	int random_order = 0;
	char tok[AUTH_TOKEN_LEN + 1], tid[AUTH_ID_LEN + 1];
	FILE *f;
	int ch, status = 1;

	while ((ch = getopt(argc, argv, "d:n:m:b:t:ro:")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'n': total = strtoul(optarg, NULL, 10); break;
		case 'm': mapmb = strtoul(optarg, NULL, 10); break;
		case 'b': bsize = strtoul(optarg, NULL, 10); break;
		case 't': tokfile = optarg; break;
		case 'r': random_order = 1; break;
		case 'o': bulk = optarg; break;
		default: goto usage;
		}
	}
	if (bulk != NULL && total < (1ul << 21))
		return write_bulk(bulk, total) == 0 ? 0 : 1;
	if (dir == NULL || bsize == 0 || bsize > 1000000 || total >= (1ul << 21))
		goto usage;
	memset(&o, 0, sizeof(o));
	memset(&err, 0, sizeof(err));
	api_conf_defaults(&ac);
	o.dir = dir;
	o.map_size = (size_t)mapmb << 20;
	/* Loading is redone from scratch if the machine crashes. */
	o.relaxed_sync = 1;
	/*
	 * Users go in by user_id (h) unless -r: every table then grows at its
	 * end, so a batch touches few pages, the load is I/O-light and pages
	 * come out full, as after an import of a sorted export or a compacting
	 * copy.  -r inserts by i, which is random id order, as a database grown
	 * by single creates.
	 */
	if ((order = calloc(total ? total : 1, sizeof(*order))) == NULL) {
		perror("calloc");
		return 1;
	}
	for (i = 0; i < total; i++)
		order[i] = random_order ? i :
		    (uint64_t)(uint32_t)((uint64_t)i * 2654435761u) << 32 | i;
	if (!random_order)
		qsort(order, total, sizeof(*order), cmp_u64);
	if ((recs = calloc(bsize, sizeof(*recs))) == NULL) {
		perror("calloc");
		return 1;
	}
	if (store_open(&o, &s, &err) != MK_OK) {
		fprintf(stderr, "load: %s\n", err.msg);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (done = 0; done < total; done += n) {
		n = total - done < bsize ? total - done : bsize;
		for (i = 0; i < n; i++) {
			memset(&recs[i], 0, sizeof(recs[i]));
			if ((recs[i].rec = user_rec(order[done + i] & 0xffffffffu)) == NULL) {
				fprintf(stderr, "load: cannot build user %lu\n", done + i);
				goto out;
			}
		}
		if (svc_user_import(s, &ac.limits, NULL, 0, recs, n, &err) != MK_OK) {
			fprintf(stderr, "load: %s\n", err.msg);
			goto out;
		}
		for (i = 0; i < n; i++) {
			if (recs[i].code != MK_OK) {
				fprintf(stderr, "load: user %lu: %s\n", done + i, recs[i].err.msg);
				goto out;
			}
			json_object_put(recs[i].rec);
			recs[i].rec = NULL;
		}
	}
	if (tokfile != NULL) {
		if (auth_token_create(s, &(struct auth_grant){ SC_ALL, NULL, 0 },
		    tok, tid, &err) != MK_OK) {
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
	if (store_read_begin(s, &rt) != MK_OK ||
	    store_scan(rt, ST_USERS, add_size, &json_bytes) != MK_OK) {
		fprintf(stderr, "load: cannot read the users back\n");
		goto out;
	}
	store_txn_end(rt);
	printf("users %lu json_bytes %lu seconds %.1f", total,
	    total ? (unsigned long)(json_bytes / total) : 0,
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* Bytes per user of each table, to see where the file size goes. */
	if (total > 0 && store_stat(s, &st, &err) == MK_OK) {
		for (i = 0; i < st.ntables; i++)
			if (st.tables[i].pages > 0)
				printf(" %s=%zu", st.tables[i].name,
				    st.tables[i].pages * st.page_size / total);
		printf(" free=%zu", st.free_pages * st.page_size / total);
	}
	printf("\n");
	status = 0;
out:
	if (recs != NULL)
		for (i = 0; i < bsize; i++)
			json_object_put(recs[i].rec);
	free(recs);
	free(order);
	store_close(s);
	return status;
usage:
	fprintf(stderr, "usage: load -d DIR -n USERS (< 2^21) [-m MAPSIZE_MB] [-b BATCH] "
	    "[-t TOKENFILE] [-r]\n"
	    "       load -o FILE -n USERS (< 2^21)   (write an Auth0 bulk import file)\n");
	return 2;
}
