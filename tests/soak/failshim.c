/*
 * failshim: an LD_PRELOAD library that makes one file look as if it were
 * on a filesystem without open-file-description locks or without
 * fallocate, for the fallbacks of store_open (store.c, "write_map
 * stores": a relaxed store then opens without write_map) and of the
 * tail ahead of data.mdb (tail_ahead: turned off).  Built and loaded as
 * syncshim.so is (Makefile.am, tests/soak/test_lostwrites.sh).
 *
 * Environment (the shim does nothing without MK_FAIL_FILE):
 *   MK_FAIL_FILE      the file (compared by device and inode at each call,
 *                     so it may be created after the process started)
 *   MK_FAIL_OFD       an errno number: fcntl F_OFD_SETLK, F_OFD_SETLKW and
 *                     F_OFD_GETLK on the file fail with it (EINVAL: what a
 *                     filesystem without OFD locks answers)
 *   MK_FAIL_FALLOCATE an errno number: fallocate on the file fails with it
 *                     (EOPNOTSUPP: a filesystem without it)
 * Each failure it makes is counted in MK_FAIL_LOG when that is set (one
 * line "PID ofd|fallocate ERRNO" appended per call), so a test can tell
 * the shim was in the way, not only that the code said so.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int (*r_fcntl)(int, int, ...);
static int (*r_fcntl64)(int, int, ...);
static int (*r_fallocate)(int, int, off_t, off_t);
static int (*r_fallocate64)(int, int, off_t, off_t);

/* The real calls (also when called before the constructor ran). */
__attribute__((constructor)) static void
shim_init(void)
{
	if (r_fcntl != NULL)
		return;
	r_fcntl = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl");
	r_fcntl64 = (int (*)(int, int, ...))dlsym(RTLD_NEXT, "fcntl64");
	r_fallocate = (int (*)(int, int, off_t, off_t))dlsym(RTLD_NEXT, "fallocate");
	r_fallocate64 = (int (*)(int, int, off_t, off_t))dlsym(RTLD_NEXT, "fallocate64");
}

/* The errno number in variable name when fd is MK_FAIL_FILE, else 0. */
static int
fail_with(int fd, const char *name)
{
	const char *f = getenv("MK_FAIL_FILE"), *e = getenv(name);
	struct stat a, b;

	if (f == NULL || e == NULL || atoi(e) <= 0 || fstat(fd, &a) == -1 ||
	    stat(f, &b) == -1 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;
	return atoi(e);
}

/* One line in MK_FAIL_LOG (O_APPEND, one write). */
static void
note(const char *what, int e)
{
	const char *l = getenv("MK_FAIL_LOG");
	char line[64];
	int fd, n;

	if (l == NULL || (fd = open(l, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666)) == -1)
		return;
	n = snprintf(line, sizeof(line), "%ld %s %d\n", (long)getpid(), what, e);
	if (n > 0 && write(fd, line, (size_t)n) != n)
		n = 0;
	close(fd);
}

/* fcntl's third argument, whatever it is, is passed on as a pointer's bits. */
static int
shim_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
	int e;

	if ((cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW || cmd == F_OFD_GETLK) &&
	    (e = fail_with(fd, "MK_FAIL_OFD")) != 0) {
		note("ofd", e);
		errno = e;
		return -1;
	}
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, cmd, arg);
}

int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	shim_init();
	return shim_fcntl(r_fcntl, fd, cmd, arg);
}

int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	shim_init();
	return shim_fcntl(r_fcntl64 != NULL ? r_fcntl64 : r_fcntl, fd, cmd, arg);
}

static int
shim_fallocate(int (*real)(int, int, off_t, off_t), int fd, int mode, off_t off, off_t len)
{
	int e;

	if ((e = fail_with(fd, "MK_FAIL_FALLOCATE")) != 0) {
		note("fallocate", e);
		errno = e;
		return -1;
	}
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, mode, off, len);
}

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	shim_init();
	return shim_fallocate(r_fallocate, fd, mode, off, len);
}

int
fallocate64(int fd, int mode, off_t off, off_t len)
{
	shim_init();
	return shim_fallocate(r_fallocate64 != NULL ? r_fallocate64 : r_fallocate, fd, mode,
	    off, len);
}
