/*
 * folios: how the kernel caches a file (issues 13, 14; BENCHMARKS.md,
 * seventh session).  Of FILE's pages, how many are in the page cache, how
 * many of those sit in folios of one page and how many in large folios
 * (with a count of folios by size).  Large folios make LMDB's 4 KiB page
 * writes and the syncs after them slower; metakeepd keeps data.mdb's cache
 * in one-page folios (src/pagecache.h).
 *
 * Reads page frames through /proc/self/pagemap and their flags through
 * /proc/kpageflags (KPF_COMPOUND_HEAD/TAIL): root only.  It maps the file
 * read-only with MADV_RANDOM and touches only pages already cached
 * (mincore), so it brings nothing new into the cache.
 *
 * usage: folios FILE
 * Prints "FILE: P pages, C cached: one-page N, in large folios L (F folios)
 * oK:n ..." where oK:n counts runs of 2^K pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FO_PAGE  4096
#define FO_HEAD  (1ULL << 15)   /* KPF_COMPOUND_HEAD */
#define FO_TAIL  (1ULL << 16)   /* KPF_COMPOUND_TAIL */
#define FO_ORDERS 20

/* Count a finished folio of run pages into hist by its order. */
static void
fo_count(size_t run, size_t hist[FO_ORDERS])
{
	int o = 0;

	while (o < FO_ORDERS - 1 && ((size_t)1 << o) < run)
		o++;
	hist[o]++;
}

int
main(int argc, char *argv[])
{
	size_t pages, i, cached = 0, single = 0, heads = 0, tails = 0, run = 0;
	size_t hist[FO_ORDERS] = { 0 };
	unsigned char *map, *vec;
	struct stat st;
	int fd, pm, kf, o;

	if (argc != 2) {
		fprintf(stderr, "usage: folios FILE\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
		fprintf(stderr, "folios: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	pages = (size_t)st.st_size / FO_PAGE;
	if (pages == 0) {
		printf("%s: 0 pages\n", argv[1]);
		return 0;
	}
	map = mmap(NULL, pages * FO_PAGE, PROT_READ, MAP_SHARED, fd, 0);
	vec = malloc(pages);
	pm = open("/proc/self/pagemap", O_RDONLY);
	kf = open("/proc/kpageflags", O_RDONLY);
	if (map == MAP_FAILED || vec == NULL || pm == -1 || kf == -1 ||
	    madvise(map, pages * FO_PAGE, MADV_RANDOM) == -1 ||
	    mincore(map, pages * FO_PAGE, vec) == -1) {
		fprintf(stderr, "folios: %s: %s (root?)\n", argv[1], strerror(errno));
		return 1;
	}
	for (i = 0; i < pages; i++) {
		uint64_t e, f;
		volatile unsigned char touch;

		if ((vec[i] & 1) == 0)
			continue;
		cached++;
		touch = map[i * FO_PAGE];     /* cached: maps it, reads nothing */
		(void)touch;
		if (pread(pm, &e, 8, (off_t)(((uintptr_t)map / FO_PAGE + i) * 8)) != 8 ||
		    !(e >> 63))
			continue;
		if ((e & ((1ULL << 55) - 1)) == 0) {
			fprintf(stderr, "folios: page frames hidden: run it as root\n");
			return 1;
		}
		if (pread(kf, &f, 8, (off_t)((e & ((1ULL << 55) - 1)) * 8)) != 8)
			continue;
		if (f & FO_TAIL) {
			tails++;
			run++;
			continue;
		}
		if (run > 0)
			fo_count(run, hist);
		run = 0;
		if (f & FO_HEAD) {
			heads++;
			run = 1;
		} else
			single++;
	}
	if (run > 0)
		fo_count(run, hist);
	printf("%s: %zu pages, %zu cached: one-page %zu, in large folios %zu (%zu folios)",
	    argv[1], pages, cached, single, heads + tails, heads);
	for (o = 1; o < FO_ORDERS; o++)
		if (hist[o] > 0)
			printf(" o%d:%zu", o, hist[o]);
	printf("\n");
	return 0;
}
