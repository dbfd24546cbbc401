/*
 * lmdb_rmw: the bare-LMDB baseline for a durable PATCH.  One operation is
 * what the service's PATCH costs at the storage level, minus everything
 * else: begin a write transaction, read a random record, copy it, change a
 * few bytes, put it back, commit with LMDB's default (durable) sync.
 * P processes run the loop for T seconds each, as P workers would; LMDB
 * lets one writer in at a time, so this is the disk's commit rate.
 *
 * usage: lmdb_rmw -d DIR [-n RECORDS] [-s BYTES] [-t SECONDS] [-p PROCS]
 * Fills DIR (a new, empty directory) first.  Prints "ops N seconds S
 * ops_per_s R".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#define RMW_MAX_PROCS 64

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
mkkey(unsigned long i, char key[32])
{
	uint32_t h = (uint32_t)((uint64_t)i * 2654435761u);

	snprintf(key, 32, "auth0|%08x%08x%08x", h, h, h);
}

static int
open_env(const char *dir, unsigned int flags, MDB_env **env, MDB_dbi *dbi)
{
	MDB_txn *t;
	int rc;

	if ((rc = mdb_env_create(env)) != 0 ||
	    (rc = mdb_env_set_mapsize(*env, (size_t)4 << 30)) != 0 ||
	    (rc = mdb_env_open(*env, dir, flags, 0600)) != 0 ||
	    (rc = mdb_txn_begin(*env, NULL, 0, &t)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(t, NULL, 0, dbi)) != 0 || (rc = mdb_txn_commit(t)) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "lmdb_rmw: %s: %s\n", dir, mdb_strerror(rc));
	return -1;
}

static int
fill(const char *dir, unsigned long n, size_t size)
{
	MDB_env *env = NULL;
	MDB_dbi dbi;
	MDB_txn *t = NULL;
	MDB_val k, v;
	char key[32], *rec;
	unsigned long i;
	int rc = 0;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		perror(dir);
		return -1;
	}
	if ((rec = malloc(size)) == NULL)
		return -1;
	memset(rec, 'x', size);
	if (open_env(dir, MDB_NOSYNC, &env, &dbi) == -1)
		goto fail;
	for (i = 0; i < n && rc == 0; i++) {
		if (t == NULL && (rc = mdb_txn_begin(env, NULL, 0, &t)) != 0)
			break;
		mkkey(i, key);
		k.mv_data = key;
		k.mv_size = strlen(key);
		v.mv_data = rec;
		v.mv_size = size;
		if ((rc = mdb_put(t, dbi, &k, &v, 0)) != 0)
			break;
		if (i % 5000 == 4999) {
			rc = mdb_txn_commit(t);
			t = NULL;
		}
	}
	if (rc == 0 && t != NULL) {
		rc = mdb_txn_commit(t);
		t = NULL;
	}
	if (rc == 0)
		rc = mdb_env_sync(env, 1);
	if (t != NULL)
		mdb_txn_abort(t);
	mdb_env_close(env);
	free(rec);
	if (rc != 0)
		fprintf(stderr, "lmdb_rmw: fill: %s\n", mdb_strerror(rc));
	return rc == 0 ? 0 : -1;
fail:
	free(rec);
	return -1;
}

/* The loop of one process; returns the number of operations done. */
static long
run(const char *dir, unsigned long n, double secs, unsigned int seed)
{
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *t;
	MDB_val k, v, nv;
	char key[32], *buf = NULL;
	size_t cap = 0;
	double end;
	long ops = 0;
	int rc;

	if (open_env(dir, 0, &env, &dbi) == -1)
		return -1;
	srandom(seed);
	end = now_s() + secs;
	while (now_s() < end) {
		mkkey((unsigned long)random() % n, key);
		k.mv_data = key;
		k.mv_size = strlen(key);
		if ((rc = mdb_txn_begin(env, NULL, 0, &t)) != 0)
			goto fail;
		if ((rc = mdb_get(t, dbi, &k, &v)) != 0) {
			mdb_txn_abort(t);
			goto fail;
		}
		if (v.mv_size > cap) {
			free(buf);
			cap = v.mv_size;
			if ((buf = malloc(cap)) == NULL) {
				mdb_txn_abort(t);
				break;
			}
		}
		memcpy(buf, v.mv_data, v.mv_size);
		buf[ops % v.mv_size] ^= 1;
		nv.mv_data = buf;
		nv.mv_size = v.mv_size;
		if ((rc = mdb_put(t, dbi, &k, &nv, 0)) != 0) {
			mdb_txn_abort(t);
			goto fail;
		}
		if ((rc = mdb_txn_commit(t)) != 0)
			goto fail;
		ops++;
	}
	free(buf);
	mdb_env_close(env);
	return ops;
fail:
	fprintf(stderr, "lmdb_rmw: %s\n", mdb_strerror(rc));
	free(buf);
	mdb_env_close(env);
	return -1;
}

int
main(int argc, char *argv[])
{
	const char *dir = NULL;
	unsigned long n = 10000;
	size_t size = 800;
	double secs = 5, t0, t1;
	long *ops, total = 0;
	pid_t pids[RMW_MAX_PROCS];
	int ch, i, procs = 1, st, status = 0;

	while ((ch = getopt(argc, argv, "d:n:s:t:p:")) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 's': size = strtoul(optarg, NULL, 10); break;
		case 't': secs = atof(optarg); break;
		case 'p': procs = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (dir == NULL || n == 0 || size == 0 || size > 65536 || secs <= 0 ||
	    procs < 1 || procs > RMW_MAX_PROCS)
		goto usage;
	if (fill(dir, n, size) == -1)
		return 1;
	/* Each child reports its count in a shared page. */
	ops = mmap(NULL, sizeof(long) * RMW_MAX_PROCS, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ops == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	t0 = now_s();
	for (i = 0; i < procs; i++) {
		if ((pids[i] = fork()) == -1) {
			perror("fork");
			procs = i;
			status = 1;
			break;
		}
		if (pids[i] == 0) {
			ops[i] = run(dir, n, secs, (unsigned int)(getpid() ^ i));
			_exit(ops[i] < 0);
		}
	}
	for (i = 0; i < procs; i++) {
		while (waitpid(pids[i], &st, 0) == -1 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			status = 1;
		else
			total += ops[i];
	}
	t1 = now_s();
	printf("ops %ld seconds %.2f ops_per_s %.1f\n", total, t1 - t0,
	    (double)total / (t1 - t0));
	return status;
usage:
	fprintf(stderr, "usage: lmdb_rmw -d DIR [-n RECORDS] [-s BYTES] [-t SECONDS] "
	    "[-p PROCS]\n");
	return 2;
}
