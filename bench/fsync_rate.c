/*
 * fsync_rate: the disk's sync rate, the yardstick of durable writes.  One
 * process writes 4 KiB at a time into a file of DIR (next to the database,
 * so on the same file system and disk) and calls fdatasync(2) after each
 * write, for T seconds: a durable commit cannot be cheaper than one such
 * sync.  Offsets go round a 1 MiB window, so the file stays small and the
 * file system allocates nothing after the first pass.
 *
 * usage: fsync_rate -d DIR [-t SECONDS]
 * Prints "syncs N seconds S syncs_per_s R"; the file is removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FR_BLOCK  4096
#define FR_WINDOW (256 * FR_BLOCK)

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	static char block[FR_BLOCK];
	const char *dir = NULL;
	char path[4096];
	double secs = 3, t0, t;
	unsigned long n = 0;
	off_t off = 0;
	int c, fd;

	while ((c = getopt(argc, argv, "d:t:")) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 't':
			secs = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (dir == NULL || secs <= 0)
		goto usage;
	if ((size_t)snprintf(path, sizeof(path), "%s/fsync_rate.%ld", dir,
	    (long)getpid()) >= sizeof(path)) {
		fprintf(stderr, "fsync_rate: path too long\n");
		return 1;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		fprintf(stderr, "fsync_rate: %s: %s\n", path, strerror(errno));
		return 1;
	}
	memset(block, 'x', sizeof(block));
	t0 = now_s();
	do {
		block[n % FR_BLOCK] = (char)n;
		if (pwrite(fd, block, sizeof(block), off) != (ssize_t)sizeof(block) ||
		    fdatasync(fd) == -1) {
			fprintf(stderr, "fsync_rate: %s: %s\n", path, strerror(errno));
			close(fd);
			unlink(path);
			return 1;
		}
		off = (off + FR_BLOCK) % FR_WINDOW;
		n++;
		t = now_s();
	} while (t - t0 < secs);
	close(fd);
	unlink(path);
	printf("syncs %lu seconds %.2f syncs_per_s %.1f\n", n, t - t0, (double)n / (t - t0));
	return 0;
usage:
	fprintf(stderr, "usage: fsync_rate -d DIR [-t SECONDS]\n");
	return 2;
}
