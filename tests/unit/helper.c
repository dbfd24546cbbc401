/*
 * helper: temporary directories, stores and bearer headers for the unit
 * suites (helper.h).
 */
/* nftw(3) */
#define _XOPEN_SOURCE 700

#include <sys/stat.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

void
th_tmpdir(char dir[TH_DIR_MAX], const char *name)
{
	int n;

	n = snprintf(dir, TH_DIR_MAX, "/tmp/mk-%s-XXXXXX", name);
	cr_assert(n > 0 && n < TH_DIR_MAX - 16, "th_tmpdir: name too long: %s", name);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) == -1 && errno != ENOENT)
		cr_log_error("remove %s: %s", path, strerror(errno));
	return 0;
}

void
th_rmtree(const char *dir)
{
	struct stat sb;

	if (dir == NULL || dir[0] == '\0')
		return;
	if (lstat(dir, &sb) == -1 && errno == ENOENT)
		return;
	/* Depth first, so each directory is empty when its turn comes. */
	cr_assert_eq(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0,
	    "nftw %s: %s", dir, strerror(errno));
	cr_assert(lstat(dir, &sb) == -1 && errno == ENOENT, "%s is still there", dir);
}

struct store *
th_store_open(const char *dir, size_t map_size, unsigned flags)
{
	struct store_opts o;
	struct store *s = NULL;
	struct mk_err err;

	memset(&o, 0, sizeof(o));
	memset(&err, 0, sizeof(err));
	o.dir = dir;
	o.map_size = map_size;
	o.relaxed_sync = (flags & TH_RELAXED) != 0;
	o.read_only = (flags & TH_READ_ONLY) != 0;
	cr_assert_eq(store_open(&o, &s, &err), MK_OK, "store_open %s: %s", dir, err.msg);
	cr_assert_not_null(s);
	return s;
}

void
th_db_open(struct th_db *d, const char *name, size_t map_size, unsigned flags)
{
	memset(d, 0, sizeof(*d));
	th_tmpdir(d->dir, name);
	d->st = th_store_open(d->dir, map_size, flags);
}

void
th_db_close(struct th_db *d)
{
	if (d->st != NULL)
		store_close(d->st);
	d->st = NULL;
	th_rmtree(d->dir);
	d->dir[0] = '\0';
}

char *
th_bearer(const char *token)
{
	size_t n = strlen(token) + sizeof("Bearer ");
	char *a = malloc(n);

	cr_assert_not_null(a);
	snprintf(a, n, "Bearer %s", token);
	return a;
}
