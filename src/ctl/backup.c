/*
 * backup: metakeepctl backup DEST: a compacted, consistent copy of the
 * database (store_copy, one read transaction: safe while metakeepd
 * serves), readable by its owner only.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"
#include "store.h"
#include "util.h"
#include "ctl/ctl.h"

const struct ctl_spec backup_spec = {
	NULL, 1, "exactly one destination directory is needed", NULL,
	"DEST is created (mode 0700) if missing and must not hold a data.mdb.\n"
	"To restore: stop metakeepd, replace the database's data.mdb with\n"
	"DEST/data.mdb (remove its lock.mdb), start metakeepd.\n",
	NULL,
};

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
