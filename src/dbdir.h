/*
 * dbdir: the database directory as the file system sees it, apart from
 * LMDB: can the account the service runs as reach it, and, as root, giving
 * it and its two LMDB files (data.mdb, lock.mdb) to that account without
 * being redirected by a link someone planted in it.
 *
 * Neither function opens the environment; store does that.  Both report
 * through a struct mk_err (MK_ERR_INTERNAL) whose message is meant for the
 * operator: it names the path, the account and what is missing.
 */
#ifndef MK_DBDIR_H
#define MK_DBDIR_H

#include <sys/types.h>

#include "err.h"

/*
 * Can the calling process, with its current (effective) credentials, use
 * dir as a database directory: search (x) on every directory on the way,
 * and read, write and search on dir itself, or write and search on its
 * parent when dir does not exist yet (the store creates it)?  who names the
 * account in the message ("nobody").  Returns 0, or -1 with err->msg like
 *   user nobody cannot reach the database directory /root/mk/var/db:
 *   /root (mode 0700, owner root) gives it no search (x) permission
 */
int dbdir_reach(const char *dir, const char *who, struct mk_err *err);

/* What dbdir_give makes of the directory and its files; -1 / 0 = leave. */
struct dbdir_owner {
	uid_t uid;         /* new owner, (uid_t)-1: leave */
	gid_t gid;         /* new group, (gid_t)-1: leave */
	mode_t dir_mode;   /* mode of the directory, 0: leave */
	mode_t file_mode;  /* mode of data.mdb and lock.mdb, 0: leave */
	int leave_others;  /* 1: a file someone else owns is left alone, not
	                      an error (the directory is still checked) */
};

/*
 * Give the existing directory dir and whichever of data.mdb and lock.mdb
 * exist in it to o (owner, group, modes), without following links: dir is
 * opened O_NOFOLLOW|O_DIRECTORY (a symbolic link there is an error), the
 * files O_NOFOLLOW relative to it, after an lstat that leaves anything but
 * a regular file alone (a symbolic link, a device: LMDB opens those with
 * the service's own rights, or refuses them).  Each is checked with fstat
 * before any fchown/fchmod: owned by the caller or already by o->uid (root
 * gives away only what is its own or already theirs), and, for a file that
 * is to change, exactly one link (a hard link planted by the directory's
 * owner would otherwise hand another file over).  Nothing that already
 * matches is changed.  Returns 0, or -1 with err->msg naming the path and
 * the reason; a file checked before the failing one may have changed.
 */
int dbdir_give(const char *dir, const struct dbdir_owner *o, struct mk_err *err);

/*
 * For the admin tool, after it opened the environment in dir: when it runs
 * as root and dir belongs to another user (the service's account, which
 * metakeepd gave it), give the LMDB files to the directory's owner and
 * group (dbdir_give, with mode 0660 when the directory is open to its
 * group), so that files root just created stay usable by the daemon.  Does
 * nothing otherwise.  Returns 0, or -1 with err->msg as dbdir_give.
 */
int dbdir_adopt(const char *dir, struct mk_err *err);

#endif
