/*
 * fsync_rate: the disk's sync rate, the yardstick of durable writes.  One
 * process writes 4 KiB at a time into a file of DIR (next to the database,
 * so on the same file system and disk) and calls fdatasync(2) after each
 * write, for T seconds: a durable commit cannot be cheaper than one such
 * sync.  Offsets go round a 1 MiB window, so the file stays small and the
 * file system allocates nothing after the first pass.
 *
 * -p PAGES writes PAGES 4 KiB pages before each sync instead of one, as one
 * run (one pwrite); with -s they are scattered, one pwrite each at distinct
 * offsets spread over a 64 MiB file written in full before the clock
 * starts, as the dirty pages of an LMDB commit mostly are (a B-tree's
 * leaves and their branch pages, reused free pages).  What a sync costs per
 * page written is what bounds a durable commit (BENCHMARKS.md, sixth
 * session).
 *
 * -f FILL writes the -s file FILL pages at a time (default 1024, 4 MiB).
 * The kernel caches a file in folios about as large as the writes that
 * made it (Linux 6.16 and later on ext4), and a sync of pages scattered
 * over large folios costs more: -f 1 against -f 1024 shows by how much
 * (BENCHMARKS.md, seventh session).
 *
 * usage: fsync_rate -d DIR [-t SECONDS] [-p PAGES [-s [-f FILL]]]
 * Prints "syncs N seconds S syncs_per_s R pages P scattered 0|1
 * us_per_sync U us_per_page V fill F" (F 0 without -s); the file is removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FR_BLOCK    4096
#define FR_WINDOW   (256 * FR_BLOCK)
#define FR_SPREAD   16384                /* pages of the -s file: 64 MiB */
#define FR_MAXPAGES 1024

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64: offsets for -s, the same every run. */
static uint64_t
next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The -s file written in full and synced, so no sync allocates. */
static int
fill(int fd, char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < FR_SPREAD; i += n)
		if (pwrite(fd, buf, n * FR_BLOCK, (off_t)i * FR_BLOCK) !=
		    (ssize_t)(n * FR_BLOCK))
			return -1;
	return fdatasync(fd);
}

/* What the rounds write, and where the next one goes. */
struct fr {
	int fd;
	char *buf;
	unsigned long pages;   /* a round's */
	int scattered;
	uint64_t rng;          /* -s */
	off_t off;             /* without -s */
};

/*
 * Round n: f->pages pages written, then one fdatasync.  Scattered: distinct
 * pages (an odd stride over a power-of-two file), one pwrite each.
 */
static int
round_write(struct fr *f, unsigned long n)
{
	size_t bytes = f->pages * FR_BLOCK;
	unsigned long i, first, stride;

	f->buf[n % FR_BLOCK] = (char)n;
	if (!f->scattered) {
		if (pwrite(f->fd, f->buf, bytes, f->off) != (ssize_t)bytes)
			return -1;
		f->off = (f->off + (off_t)bytes) % FR_WINDOW;
		return fdatasync(f->fd);
	}
	first = (unsigned long)(next_rand(&f->rng) % FR_SPREAD);
	stride = (unsigned long)(next_rand(&f->rng) % FR_SPREAD) | 1;
	for (i = 0; i < f->pages; i++) {
		off_t at = (off_t)((first + i * stride) % FR_SPREAD) * FR_BLOCK;

		if (pwrite(f->fd, f->buf, FR_BLOCK, at) != FR_BLOCK)
			return -1;
	}
	return fdatasync(f->fd);
}

int
main(int argc, char *argv[])
{
	static char buf[FR_MAXPAGES * FR_BLOCK];
	const char *dir = NULL;
	char path[4096];
	struct fr f = { -1, buf, 1, 0, 0x9e3779b97f4a7c15ULL, 0 };
	double secs = 3, t0, t;
	unsigned long n = 0, fill_pages = FR_MAXPAGES;
	int c;

	while ((c = getopt(argc, argv, "d:f:p:st:")) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'f':
			fill_pages = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			f.pages = strtoul(optarg, NULL, 10);
			break;
		case 's':
			f.scattered = 1;
			break;
		case 't':
			secs = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (dir == NULL || secs <= 0 || f.pages < 1 || f.pages > FR_MAXPAGES ||
	    fill_pages < 1 || fill_pages > FR_MAXPAGES ||
	    (!f.scattered && f.pages > FR_WINDOW / FR_BLOCK))
		goto usage;
	if ((size_t)snprintf(path, sizeof(path), "%s/fsync_rate.%ld", dir,
	    (long)getpid()) >= sizeof(path)) {
		fprintf(stderr, "fsync_rate: path too long\n");
		return 1;
	}
	if ((f.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		fprintf(stderr, "fsync_rate: %s: %s\n", path, strerror(errno));
		return 1;
	}
	memset(buf, 'x', sizeof(buf));
	if (f.scattered && fill(f.fd, buf, fill_pages) == -1)
		goto fail;
	t0 = now_s();
	do {
		if (round_write(&f, n) == -1)
			goto fail;
		n++;
		t = now_s();
	} while (t - t0 < secs);
	close(f.fd);
	unlink(path);
	printf("syncs %lu seconds %.2f syncs_per_s %.1f pages %lu scattered %d "
	    "us_per_sync %.1f us_per_page %.1f fill %lu\n", n, t - t0, (double)n / (t - t0),
	    f.pages, f.scattered, (t - t0) * 1e6 / (double)n,
	    (t - t0) * 1e6 / (double)n / (double)f.pages, f.scattered ? fill_pages : 0);
	return 0;
fail:
	fprintf(stderr, "fsync_rate: %s: %s\n", path, strerror(errno));
	close(f.fd);
	unlink(path);
	return 1;
usage:
	fprintf(stderr, "usage: fsync_rate -d DIR [-t SECONDS] [-p PAGES (1-%d) [-s "
	    "[-f FILL (1-%d)]]]\n", FR_MAXPAGES, FR_MAXPAGES);
	return 2;
}
