/*
 * slots: a few heavy requests at a time across the processes of a pool
 * (slots.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "slots.h"

enum mk_code
slots_open(struct slots *s, const char *path, unsigned n, struct mk_err *err)
{
	s->fd = -1;
	s->n = n;
	s->held = -1;
	if (n == 0)
		return MK_OK;
	s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->fd == -1)
		return mk_fail(err, MK_ERR_INTERNAL, "search slots %s: %s", path,
		    strerror(errno));
	return MK_OK;
}

/* fcntl lock (type F_WRLCK or F_UNLCK) of byte i, never waiting. */
static int
lock_byte(int fd, int i, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = i;
	fl.l_len = 1;
	return fcntl(fd, F_SETLK, &fl);
}

/* Returns 1 also when locking itself fails (below). */
int
slots_take(struct slots *s)
{
	unsigned i;

	if (s->n == 0 || s->held != -1)
		return 1;
	/* Start where this process's pid points, so that processes
	 * spread over the bytes instead of all trying byte 0 first. */
	for (i = 0; i < s->n; i++) {
		int b = (int)(((unsigned)getpid() + i) % s->n);
		if (lock_byte(s->fd, b, F_WRLCK) == 0) {
			s->held = b;
			return 1;
		}
		/* Taken by another process.  Anything else (ENOLCK, a
		 * file system without locks): the limit protects the pool's
		 * responsiveness, not data, so the search goes on. */
		if (errno != EACCES && errno != EAGAIN)
			return 1;
	}
	return 0;
}

void
slots_give(struct slots *s)
{
	if (s->held == -1)
		return;
	(void)lock_byte(s->fd, s->held, F_UNLCK);
	s->held = -1;
}

void
slots_close(struct slots *s)
{
	if (s->fd >= 0) {
		slots_give(s);
		close(s->fd);
	}
	s->fd = -1;
	s->held = -1;
}
