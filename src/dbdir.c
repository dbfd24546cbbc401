/*
 * dbdir: can the service's account reach its database directory, and
 * handing that directory and its LMDB files to the account as root.
 *
 * Both are about the file system, not LMDB: metakeepd runs dbdir_reach
 * after dropping root (so that a directory nobody can reach fails at start
 * with a sentence saying why, not in every worker with "mkdir: Permission
 * denied") and dbdir_give before (its --user and --group set-up);
 * metakeepctl runs dbdir_give as root, so that the files it creates next to
 * a daemon stay the daemon's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "dbdir.h"

/* The two files LMDB keeps in an environment directory. */
static const char *const dbdir_files[] = { "data.mdb", "lock.mdb" };

/* "(mode 0700, owner root)" for path, or "" when it cannot be seen. */
static void
describe(const char *path, char *out, size_t sz)
{
	struct passwd *pw;
	struct stat st;

	out[0] = '\0';
	if (stat(path, &st) == -1)
		return;
	if ((pw = getpwuid(st.st_uid)) != NULL)
		snprintf(out, sz, " (mode %04o, owner %s)",
		    (unsigned int)(st.st_mode & 07777), pw->pw_name);
	else
		snprintf(out, sz, " (mode %04o, owner uid %ju)",
		    (unsigned int)(st.st_mode & 07777), (uintmax_t)st.st_uid);
}

/* "read (r), write (w)" for the bits of want that path does not grant. */
static void
missing(const char *path, int want, char *out, size_t sz)
{
	static const struct {
		int bit;
		const char *name;
	} bits[] = {
		{ R_OK, "read (r)" },
		{ W_OK, "write (w)" },
		{ X_OK, "search (x)" },
	};
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (!(want & bits[i].bit) ||
		    faccessat(AT_FDCWD, path, bits[i].bit, AT_EACCESS) == 0)
			continue;
		n += (size_t)snprintf(out + n, n < sz ? sz - n : 0, "%s%s",
		    n > 0 ? ", " : "", bits[i].name);
		if (n >= sz)
			break;
	}
}

/*
 * The nearest existing ancestor of path[0..end) must let us create what
 * is missing below it: write and search.
 */
static int
reach_create(const char *dir, const char *who, const char *parent,
    struct mk_err *err)
{
	char what[64], desc[96];

	missing(parent, W_OK | X_OK, what, sizeof(what));
	if (what[0] == '\0')
		return 0;
	describe(parent, desc, sizeof(desc));
	mk_fail(err, MK_ERR_INTERNAL, "user %s cannot create the database "
	    "directory %s: %s%s gives it no %s permission", who, dir, parent,
	    desc, what);
	return -1;
}

int
dbdir_reach(const char *dir, const char *who, struct mk_err *err)
{
	char path[PATH_MAX], parent[PATH_MAX], what[64], desc[96];
	struct stat st;
	size_t len, i;

	len = strlen(dir);
	if (len == 0 || len >= sizeof(path)) {
		mk_fail(err, MK_ERR_INTERNAL, "database directory '%s': "
		    "empty or too long", dir);
		return -1;
	}
	memcpy(path, dir, len + 1);
	/* The ancestor a missing directory would be created in. */
	snprintf(parent, sizeof(parent), "%s", dir[0] == '/' ? "/" : ".");

	/* Every directory on the way, in order: the first that refuses is
	 * the one to name (those before it let us through). */
	for (i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0) {
			if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
				mk_fail(err, MK_ERR_INTERNAL, "database "
				    "directory %s: %s is not a directory", dir,
				    path);
				return -1;
			}
			memcpy(parent, path, i + 1);
		} else if (errno == ENOENT) {
			return reach_create(dir, who, parent, err);
		} else if (errno == EACCES) {
			describe(path, desc, sizeof(desc));
			mk_fail(err, MK_ERR_INTERNAL, "user %s cannot reach "
			    "the database directory %s: %s%s gives it no "
			    "search (x) permission", who, dir, path, desc);
			return -1;
		} else {
			mk_fail(err, MK_ERR_INTERNAL, "database directory %s: "
			    "%s: %s", dir, path, strerror(errno));
			return -1;
		}
		if (i < len)
			path[i] = '/';
	}
	missing(dir, R_OK | W_OK | X_OK, what, sizeof(what));
	if (what[0] == '\0')
		return 0;
	describe(dir, desc, sizeof(desc));
	mk_fail(err, MK_ERR_INTERNAL, "user %s cannot use the database "
	    "directory %s%s: no %s permission", who, dir, desc, what);
	return -1;
}

/*
 * Check what fd (opened as path) is, then change what differs from o.
 * The checks come first, all of them, so that nothing is changed on a
 * file that fails one.
 */
static int
give_fd(int fd, const char *path, int dir, const struct dbdir_owner *o,
    struct mk_err *err)
{
	struct stat st;
	mode_t mode;
	int need_chown;

	if (fstat(fd, &st) == -1) {
		mk_fail(err, MK_ERR_INTERNAL, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		mk_fail(err, MK_ERR_INTERNAL, "%s: not a %s; will not change "
		    "its owner or mode", path, dir ? "directory" : "regular file");
		return -1;
	}
	if (st.st_uid != geteuid() &&
	    (o->uid == (uid_t)-1 || st.st_uid != o->uid)) {
		if (!dir && o->leave_others)
			return 0;
		mk_fail(err, MK_ERR_INTERNAL, "%s: owned by uid %ju, neither "
		    "this process's nor the service user's; will not change "
		    "its owner or mode (chown it yourself if it is meant for "
		    "the service)", path, (uintmax_t)st.st_uid);
		return -1;
	}
	mode = dir ? o->dir_mode : o->file_mode;
	need_chown = (o->uid != (uid_t)-1 && st.st_uid != o->uid) ||
	    (o->gid != (gid_t)-1 && st.st_gid != o->gid);
	if (!need_chown && (mode == 0 || (st.st_mode & 07777) == mode))
		return 0;
	if (!dir && st.st_nlink != 1) {
		mk_fail(err, MK_ERR_INTERNAL, "%s: has %ju links (a hard link "
		    "to some other file?); will not change its owner or mode: "
		    "copy it to a file of its own", path, (uintmax_t)st.st_nlink);
		return -1;
	}
	if (need_chown && fchown(fd, o->uid, o->gid) == -1) {
		mk_fail(err, MK_ERR_INTERNAL, "%s: chown: %s", path, strerror(errno));
		return -1;
	}
	/* After a chown, which may have cleared set-id bits. */
	if (mode != 0 && (need_chown || (st.st_mode & 07777) != mode) &&
	    fchmod(fd, mode) == -1) {
		mk_fail(err, MK_ERR_INTERNAL, "%s: chmod: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* One file of the environment, relative to the directory's fd. */
static int
give_file(int dfd, const char *dir, const char *name,
    const struct dbdir_owner *o, struct mk_err *err)
{
	char path[PATH_MAX + 16];
	struct stat st;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* Look before opening: opening a planted device or FIFO could do
	 * something by itself. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		mk_fail(err, MK_ERR_INTERNAL, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* A symbolic link, directory, device...: not ours to change; LMDB
	 * will refuse it or open it with the service's own rights. */
	if (!S_ISREG(st.st_mode))
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1) {
		mk_fail(err, MK_ERR_INTERNAL, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = give_fd(fd, path, 0, o, err);
	close(fd);
	return rc;
}

int
dbdir_give(const char *dir, const struct dbdir_owner *o, struct mk_err *err)
{
	size_t i;
	int dfd, rc = -1;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1) {
		if (errno == ELOOP)
			mk_fail(err, MK_ERR_INTERNAL, "%s: a symbolic link; "
			    "give the directory it points to (its owner is "
			    "changed here, and never through a link)", dir);
		else
			mk_fail(err, MK_ERR_INTERNAL, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (give_fd(dfd, dir, 1, o, err) == -1)
		goto out;
	for (i = 0; i < sizeof(dbdir_files) / sizeof(dbdir_files[0]); i++)
		if (give_file(dfd, dir, dbdir_files[i], o, err) == -1)
			goto out;
	rc = 0;
out:
	close(dfd);
	return rc;
}

int
dbdir_adopt(const char *dir, struct mk_err *err)
{
	char real[PATH_MAX];
	struct dbdir_owner o;
	struct stat st;

	if (geteuid() != 0)
		return 0;
	/* LMDB followed any link on the way already; the files to adopt are
	 * in the directory it opened.  dbdir_give checks again what it opens:
	 * this only picks the owner. */
	if (realpath(dir, real) == NULL || stat(real, &st) == -1 ||
	    !S_ISDIR(st.st_mode) || st.st_uid == 0)
		return 0;
	o.uid = st.st_uid;
	o.gid = st.st_gid;
	o.dir_mode = 0;
	o.file_mode = (st.st_mode & S_IRWXG) == S_IRWXG ? 0660 : 0;
	o.leave_others = 1;
	return dbdir_give(real, &o, err);
}
