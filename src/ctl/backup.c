/*
 * backup: metakeepctl backup DEST: a compacted, consistent copy of the
 * database (store_copy, one read transaction: safe while metakeepd
 * serves), readable by its owner only, without the token signing keys
 * unless --with-keys.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"
#include "keys.h"
#include "store.h"
#include "util.h"
#include "ctl/ctl.h"

/* backup --with-keys */
static int with_keys;

static const struct ctl_opt backup_opts[] = {
	{ 'k', "with-keys", NULL, &with_keys, NULL, CTL_NONE,
	    "keep the private keys that sign /oauth/token's tokens\nin the copy" },
	{ 0, NULL, NULL, NULL, NULL, CTL_NONE, NULL },
};

const struct ctl_spec backup_spec = {
	backup_opts, 1, "exactly one destination directory is needed", NULL,
	"DEST is created (mode 0700) if missing and must not hold a data.mdb.\n"
	"The copy leaves out the token signing keys unless --with-keys: a\n"
	"restore without them makes a new key at start, and the access tokens\n"
	"issued before stop (clients ask /oauth/token again).\n"
	"To restore: stop metakeepd, replace the database's data.mdb with\n"
	"DEST/data.mdb (remove its lock.mdb), start metakeepd.\n",
	NULL,
};

/*
 * Take the signing keys out of the copy in dir, then compact it again so
 * that the pages which held them are not in the file either.
 */
static int
drop_keys(struct ctl *ctl, const char *dir)
{
	struct store_opts o = ctl->conf.store;
	struct store *s = NULL;
	struct mk_err err;
	size_t n = 0;

	memset(&err, 0, sizeof(err));
	o.dir = dir;
	o.read_only = 0;
	o.mode = 0600;
	if (store_open(&o, &s, &err) != MK_OK || keys_clear(s, &n, &err) != MK_OK) {
		store_close(s);
		ctl_errx("backup: leaving the signing keys out failed: %s", err.msg);
		return -1;
	}
	store_close(s);
	if (store_compact(dir, NULL, NULL, &err) != MK_OK) {
		ctl_errx("backup: compacting the copy failed: %s", err.msg);
		return -1;
	}
	return 0;
}

int
cmd_backup(struct ctl *ctl, const struct ctl_cmd *self, char **operands)
{
	char path[4200];
	struct stat st;
	struct mk_err err;
	int64_t t0;
	mode_t old;
	enum mk_code mrc;

	(void)self;
	memset(&err, 0, sizeof(err));
	t0 = mk_now_ms();
	/* The copy holds password hashes: nobody else may read it. */
	old = umask(077);
	mrc = store_copy(ctl->store, operands[0], 1, &err);
	if (mrc == MK_OK && !with_keys && drop_keys(ctl, operands[0]) != 0) {
		umask(old);
		snprintf(path, sizeof(path), "%s/data.mdb", operands[0]);
		/* Never leave a copy that holds the keys nobody asked for. */
		if (remove(path) != 0)
			ctl_errx("backup: remove %s by hand: it holds the signing keys", path);
		return CTL_FAIL;
	}
	umask(old);
	if (mrc != MK_OK) {
		ctl_errx("backup: %s", err.msg);
		return CTL_FAIL;
	}
	snprintf(path, sizeof(path), "%s/data.mdb", operands[0]);
	if (stat(path, &st) == 0)
		fprintf(stderr, PROG ": backup: wrote %s (%lld bytes) in %.1f s\n", path,
		    (long long)st.st_size, (double)(mk_now_ms() - t0) / 1000.0);
	return CTL_OK;
}
