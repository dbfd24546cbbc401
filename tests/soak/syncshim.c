/*
 * syncshim: an LD_PRELOAD library that records, for one file (the LMDB
 * data file), every write that is not yet on stable storage, so that
 * tests/soak/syncundo can later throw those writes away as a power loss
 * would.  Together they turn a SIGKILL (which keeps the page cache) into a
 * machine crash (which does not).
 *
 * Environment (the shim does nothing without both):
 *   MK_SHIM_FILE  the file to watch (compared by device and inode at open)
 *   MK_SHIM_LOG   the journal, appended to by every process (O_APPEND, one
 *                 write(2) per record, so records of processes do not mix)
 *
 * Records (struct shim_rec, then data):
 *   PRE   before a write: offset, length, the bytes it overwrites (fewer
 *         when the file is shorter) and the file's size before it
 *   POST  after the write returned; "durable" when the descriptor is
 *         O_SYNC/O_DSYNC (LMDB writes its meta pages on such a one)
 *   SYNC  before an fsync/fdatasync (or sync/syncfs) begins
 *   DONE  after it returned 0
 * A write is on stable storage when its POST is durable, or when a SYNC
 * that comes after its POST has its DONE.  Every other write may be lost.
 *
 * Calls covered: open/open64/openat/openat64 (to learn the descriptor),
 * write, pwrite, pwrite64, writev, pwritev, fsync, fdatasync, sync, syncfs,
 * close, dup-less use.  Not covered: writes through a shared writable
 * mapping (msync), which LMDB only does with MDB_WRITEMAP; metakeep does
 * not use it, and the store test asserts that.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syncshim.h"

#define SHIM_MAXFD 4096

struct shim_fd {
	int on;      /* the watched file */
	int dsync;   /* opened O_SYNC or O_DSYNC */
	int rfd;     /* our own read descriptor, for the old bytes */
};

static struct shim_fd fds[SHIM_MAXFD];
static pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
static int logfd = -1;
static dev_t w_dev;
static ino_t w_ino;
static int w_known;
static uint64_t seq;

static int (*r_open)(const char *, int, ...);
static int (*r_open64)(const char *, int, ...);
static int (*r_openat)(int, const char *, int, ...);
static int (*r_openat64)(int, const char *, int, ...);
static int (*r_close)(int);
static ssize_t (*r_write)(int, const void *, size_t);
static ssize_t (*r_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*r_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*r_writev)(int, const struct iovec *, int);
static ssize_t (*r_pwritev)(int, const struct iovec *, int, off_t);
static int (*r_fsync)(int);
static int (*r_fdatasync)(int);
static void (*r_sync)(void);
static int (*r_syncfs)(int);

static void
shim_resolve(void)
{
	if (r_write != NULL)
		return;
	r_open = dlsym(RTLD_NEXT, "open");
	r_open64 = dlsym(RTLD_NEXT, "open64");
	r_openat = dlsym(RTLD_NEXT, "openat");
	r_openat64 = dlsym(RTLD_NEXT, "openat64");
	r_close = dlsym(RTLD_NEXT, "close");
	r_pwrite = dlsym(RTLD_NEXT, "pwrite");
	r_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
	r_writev = dlsym(RTLD_NEXT, "writev");
	r_pwritev = dlsym(RTLD_NEXT, "pwritev");
	r_fsync = dlsym(RTLD_NEXT, "fsync");
	r_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	r_sync = dlsym(RTLD_NEXT, "sync");
	r_syncfs = dlsym(RTLD_NEXT, "syncfs");
	r_write = dlsym(RTLD_NEXT, "write");
}

__attribute__((constructor)) static void
shim_init(void)
{
	const char *f, *l;
	struct stat st;

	shim_resolve();
	f = getenv("MK_SHIM_FILE");
	l = getenv("MK_SHIM_LOG");
	if (f == NULL || l == NULL)
		return;
	if (stat(f, &st) == 0) {
		w_dev = st.st_dev;
		w_ino = st.st_ino;
		w_known = 1;
	}
	logfd = r_open(l, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
}

/* One record, header and data in one write(2). */
static void
shim_log(int type, int durable, uint64_t off, uint64_t len, uint64_t size,
    const void *data, uint32_t n)
{
	struct shim_rec r;
	struct iovec iov[2];

	memset(&r, 0, sizeof(r));
	r.magic = SHIM_MAGIC;
	r.type = (uint32_t)type;
	r.durable = (uint32_t)durable;
	r.pid = (uint32_t)getpid();
	r.seq = ++seq;
	r.off = off;
	r.len = len;
	r.size = size;
	r.n = n;
	iov[0].iov_base = &r;
	iov[0].iov_len = sizeof(r);
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = n;
	if (r_writev(logfd, iov, n ? 2 : 1) != (ssize_t)(sizeof(r) + n))
		abort(); /* a journal with a hole would make the test lie */
}

static int
watched(int fd)
{
	return logfd != -1 && fd >= 0 && fd < SHIM_MAXFD && fds[fd].on;
}

static void
shim_opened(int fd, int flags)
{
	struct stat st;
	char path[64];

	if (logfd == -1 || fd < 0 || fd >= SHIM_MAXFD || fstat(fd, &st) == -1)
		return;
	if (!w_known) {
		const char *f = getenv("MK_SHIM_FILE");
		struct stat wst;

		if (f == NULL || stat(f, &wst) == -1)
			return;
		w_dev = wst.st_dev;
		w_ino = wst.st_ino;
		w_known = 1;
	}
	if (st.st_dev != w_dev || st.st_ino != w_ino)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	pthread_mutex_lock(&lk);
	fds[fd].on = 1;
	fds[fd].dsync = (flags & (O_SYNC | O_DSYNC)) != 0;
	fds[fd].rfd = r_open(path, O_RDONLY | O_CLOEXEC);
	pthread_mutex_unlock(&lk);
}

/* Before a write of len bytes at off: its PRE record. */
static void
shim_pre(int fd, off_t off, size_t len)
{
	struct stat st;
	char *old;
	ssize_t got = 0;

	if (fstat(fds[fd].rfd, &st) == -1)
		abort();
	if ((old = malloc(len ? len : 1)) == NULL)
		abort();
	if (off < st.st_size) {
		got = pread(fds[fd].rfd, old, len, off);
		if (got < 0)
			abort();
	}
	shim_log(SHIM_PRE, 0, (uint64_t)off, len, (uint64_t)st.st_size, old, (uint32_t)got);
	free(old);
}

static size_t
iov_len(const struct iovec *iov, int n)
{
	size_t t = 0;
	int i;

	for (i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

#define OPEN_BODY(real, ...) \
	mode_t mode = 0; \
	int fd; \
	shim_resolve(); \
	if (flags & (O_CREAT | O_TMPFILE)) { \
		va_list ap; \
		va_start(ap, flags); \
		mode = va_arg(ap, mode_t); \
		va_end(ap); \
	} \
	fd = real(__VA_ARGS__, flags, mode); \
	if (fd != -1) \
		shim_opened(fd, flags); \
	return fd;

int
open(const char *p, int flags, ...)
{
	OPEN_BODY(r_open, p)
}

int
open64(const char *p, int flags, ...)
{
	OPEN_BODY(r_open64, p)
}

int
openat(int d, const char *p, int flags, ...)
{
	OPEN_BODY(r_openat, d, p)
}

int
openat64(int d, const char *p, int flags, ...)
{
	OPEN_BODY(r_openat64, d, p)
}

int
close(int fd)
{
	shim_resolve();
	if (fd >= 0 && fd < SHIM_MAXFD && fds[fd].on) {
		pthread_mutex_lock(&lk);
		fds[fd].on = 0;
		r_close(fds[fd].rfd);
		pthread_mutex_unlock(&lk);
	}
	return r_close(fd);
}

/* The write itself between its PRE and POST, under the lock. */
#define WRITE_BODY(off, len, call) \
	ssize_t rc; \
	shim_resolve(); \
	if (!watched(fd)) \
		return call; \
	pthread_mutex_lock(&lk); \
	shim_pre(fd, off, len); \
	rc = call; \
	{ int e = errno; \
	shim_log(SHIM_POST, fds[fd].dsync && rc >= 0, (uint64_t)(off), \
	    rc >= 0 ? (uint64_t)rc : 0, 0, NULL, 0); \
	pthread_mutex_unlock(&lk); \
	errno = e; } \
	return rc;

ssize_t
write(int fd, const void *b, size_t n)
{
	WRITE_BODY(lseek(fd, 0, SEEK_CUR), n, r_write(fd, b, n))
}

ssize_t
pwrite(int fd, const void *b, size_t n, off_t o)
{
	WRITE_BODY(o, n, r_pwrite(fd, b, n, o))
}

ssize_t
pwrite64(int fd, const void *b, size_t n, off_t o)
{
	WRITE_BODY(o, n, r_pwrite64(fd, b, n, o))
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	WRITE_BODY(lseek(fd, 0, SEEK_CUR), iov_len(iov, cnt), r_writev(fd, iov, cnt))
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t o)
{
	WRITE_BODY(o, iov_len(iov, cnt), r_pwritev(fd, iov, cnt, o))
}

/* A sync of the watched file: SYNC before, DONE after success. */
static int
shim_sync(int watch, int (*call)(int), int fd)
{
	int rc, e;

	if (!watch)
		return call(fd);
	pthread_mutex_lock(&lk);
	shim_log(SHIM_SYNC, 0, 0, 0, 0, NULL, 0);
	pthread_mutex_unlock(&lk);
	rc = call(fd);
	e = errno;
	if (rc == 0) {
		pthread_mutex_lock(&lk);
		shim_log(SHIM_DONE, 0, 0, 0, 0, NULL, 0);
		pthread_mutex_unlock(&lk);
	}
	errno = e;
	return rc;
}

int
fsync(int fd)
{
	shim_resolve();
	return shim_sync(watched(fd), r_fsync, fd);
}

int
fdatasync(int fd)
{
	shim_resolve();
	return shim_sync(watched(fd), r_fdatasync, fd);
}

int
syncfs(int fd)
{
	shim_resolve();
	return shim_sync(logfd != -1, r_syncfs, fd);
}

static int
sync_all(int fd)
{
	(void)fd;
	r_sync();
	return 0;
}

void
sync(void)
{
	shim_resolve();
	(void)shim_sync(logfd != -1, sync_all, -1);
}
