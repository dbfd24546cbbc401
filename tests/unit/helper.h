/*
 * helper: what the unit suites share below the API: a temporary directory
 * removed with nftw(3) (no shell), a real LMDB store opened in it, and the
 * "Bearer" Authorization header.
 *
 * Every function asserts with Criterion, so it belongs to a test (or its
 * .init/.fini) running in Criterion's own process; forked children of a
 * test must not call it (see test_store and test_svc: children report
 * through their exit status).
 */
#ifndef MK_TEST_HELPER_H
#define MK_TEST_HELPER_H

#include <stddef.h>

#include "store.h"

/* Room for a directory name made by th_tmpdir, with sub-paths below it. */
#define TH_DIR_MAX 128

/*
 * Make a fresh directory "/tmp/mk-NAME-XXXXXX" into dir (TH_DIR_MAX
 * bytes).  Asserts on failure.
 */
void th_tmpdir(char dir[TH_DIR_MAX], const char *name);

/*
 * Remove dir and everything below it, without following symbolic links.
 * An empty or missing dir is no error; anything else left behind asserts.
 */
void th_rmtree(const char *dir);

/* th_store_open flags */
#define TH_RELAXED   0x01  /* store_opts.relaxed_sync: tests need no fsync */
#define TH_READ_ONLY 0x02  /* store_opts.read_only */

/*
 * Open the store in dir (created when missing, unless read-only): map_size
 * bytes (0: the store's default), flags TH_*.  Returns the owned store
 * (store_close).  Asserts on failure, with the store's message.
 */
struct store *th_store_open(const char *dir, size_t map_size, unsigned flags);

/* A store in a temporary directory of its own: a suite's fixture. */
struct th_db {
	char dir[TH_DIR_MAX];
	struct store *st;
};

/* th_tmpdir(d->dir, name), then th_store_open(d->dir, map_size, flags). */
void th_db_open(struct th_db *d, const char *name, size_t map_size, unsigned flags);

/* Close the store (when open) and remove the directory. */
void th_db_close(struct th_db *d);

/* "Bearer token", owned (free()). */
char *th_bearer(const char *token);

#endif
