/*
 * test_pagecache: pagecache_split re-reads a file's cached pages as 4 KiB
 * pages: the same pages cached after as before (no more, no fewer), the
 * bytes unchanged, and (as root, on a kernel that caches the file in large
 * folios) no large folio left.  Real files in a temporary directory.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helper.h"
#include "pagecache.h"

#define PAGE   4096
#define PAGES  1024      /* 4 MiB: room for 2 MiB folios */

static char dir[TH_DIR_MAX];
static char path[TH_DIR_MAX + 16];

static void
setup(void)
{
	th_tmpdir(dir, "pagecache");
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
}

static void
teardown(void)
{
	th_rmtree(dir);
}

TestSuite(pagecache, .init = setup, .fini = teardown);

/* Page i's bytes: its number, so a page read back from elsewhere shows. */
static void
fill_page(unsigned char *p, size_t i)
{
	size_t k;

	for (k = 0; k < PAGE; k++)
		p[k] = (unsigned char)(i * 31 + k);
}

/* The test file, PAGES pages in one write (as an import writes runs). */
static void
write_file(void)
{
	unsigned char *buf = malloc((size_t)PAGES * PAGE);
	size_t i;
	int fd;

	cr_assert_not_null(buf);
	for (i = 0; i < PAGES; i++)
		fill_page(buf + i * PAGE, i);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_neq(fd, -1);
	cr_assert_eq(pwrite(fd, buf, (size_t)PAGES * PAGE, 0), (ssize_t)PAGES * PAGE);
	cr_assert_eq(fdatasync(fd), 0);
	close(fd);
	free(buf);
}

/* How many pages are cached; vec (PAGES bytes, may be NULL) gets mincore's. */
static size_t
cached(unsigned char *vec)
{
	unsigned char v[PAGES];
	size_t i, n = 0;
	void *map;
	int fd = open(path, O_RDONLY);

	cr_assert_neq(fd, -1);
	map = mmap(NULL, (size_t)PAGES * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq(map, MAP_FAILED);
	cr_assert_eq(mincore(map, (size_t)PAGES * PAGE, v), 0);
	munmap(map, (size_t)PAGES * PAGE);
	close(fd);
	for (i = 0; i < PAGES; i++)
		n += v[i] & 1;
	if (vec != NULL)
		memcpy(vec, v, PAGES);
	return n;
}

/* Every page still holds its own bytes. */
static void
assert_bytes(void)
{
	unsigned char want[PAGE], got[PAGE];
	size_t i;
	int fd = open(path, O_RDONLY);

	cr_assert_neq(fd, -1);
	for (i = 0; i < PAGES; i++) {
		fill_page(want, i);
		cr_assert_eq(pread(fd, got, PAGE, (off_t)i * PAGE), PAGE);
		cr_assert_eq(memcmp(want, got, PAGE), 0, "page %zu changed", i);
	}
	close(fd);
}

/*
 * Pages of the file cached in large folios, as counted through
 * /proc/self/pagemap and /proc/kpageflags (root only: -1 when they cannot
 * be read).  *present gets the pages found in memory.
 */
static long
large_folio_pages(size_t *present)
{
	unsigned char *map;
	long n = 0;
	size_t i;
	int fd = open(path, O_RDONLY), pm, kf;

	cr_assert_neq(fd, -1);
	map = mmap(NULL, (size_t)PAGES * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq(map, MAP_FAILED);
	/* A page not cached comes in alone, not in a folio read ahead. */
	cr_assert_eq(madvise(map, (size_t)PAGES * PAGE, MADV_RANDOM), 0);
	pm = open("/proc/self/pagemap", O_RDONLY);
	kf = open("/proc/kpageflags", O_RDONLY);
	*present = 0;
	for (i = 0; i < PAGES && pm != -1 && kf != -1; i++) {
		volatile unsigned char touch = map[i * PAGE];
		uint64_t e, f, pfn;

		(void)touch;
		if (pread(pm, &e, 8, (off_t)(((uintptr_t)map / PAGE + i) * 8)) != 8 ||
		    !(e >> 63))
			continue;
		pfn = e & ((1ULL << 55) - 1);
		if (pfn == 0 || pread(kf, &f, 8, (off_t)(pfn * 8)) != 8) {
			n = -1;        /* PFNs hidden: not root */
			break;
		}
		(*present)++;
		/* KPF_COMPOUND_HEAD (15), KPF_COMPOUND_TAIL (16) */
		if (f & ((1ULL << 15) | (1ULL << 16)))
			n++;
	}
	if (pm == -1 || kf == -1)
		n = -1;
	if (pm != -1)
		close(pm);
	if (kf != -1)
		close(kf);
	munmap(map, (size_t)PAGES * PAGE);
	close(fd);
	return n;
}

Test(pagecache, reads_back_only_what_was_cached)
{
	struct pagecache_split r;
	unsigned char before[PAGES], after[PAGES], buf[PAGE];
	struct mk_err err;
	size_t i;
	int fd;

	write_file();
	/* Drop the file's cache, then cache pages 100-149 and 700 alone. */
	fd = open(path, O_RDONLY);
	cr_assert_neq(fd, -1);
	cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM), 0);
	for (i = 100; i < 150; i++)
		cr_assert_eq(pread(fd, buf, PAGE, (off_t)i * PAGE), PAGE);
	cr_assert_eq(pread(fd, buf, PAGE, (off_t)700 * PAGE), PAGE);
	close(fd);
	cr_assert_eq(cached(before), 51, "the set-up cached %zu pages", cached(NULL));

	memset(&err, 0, sizeof(err));
	cr_assert_eq(pagecache_split(path, &r, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(r.pages, PAGES);
	cr_assert_eq(r.cached, 51);
	cr_assert_eq(cached(after), 51);
	cr_assert_eq(memcmp(before, after, PAGES), 0, "other pages are cached now");
	assert_bytes();
}

Test(pagecache, dirty_pages_are_kept)
{
	struct pagecache_split r;
	struct mk_err err;
	unsigned char page[PAGE];
	int fd;

	write_file();
	/* Page 5 changed and not synced: split writes it back, never loses it. */
	fd = open(path, O_WRONLY);
	cr_assert_neq(fd, -1);
	memset(page, 0xa5, sizeof(page));
	cr_assert_eq(pwrite(fd, page, PAGE, 5 * PAGE), PAGE);
	close(fd);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(pagecache_split(path, &r, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(r.cached, PAGES);
	fd = open(path, O_RDONLY);
	cr_assert_neq(fd, -1);
	memset(page, 0, sizeof(page));
	cr_assert_eq(pread(fd, page, PAGE, 5 * PAGE), PAGE);
	close(fd);
	cr_assert_eq(page[0], 0xa5);
	cr_assert_eq(page[PAGE - 1], 0xa5);
}

Test(pagecache, missing_or_empty_file_is_no_error)
{
	struct pagecache_split r;
	struct mk_err err;
	int fd;

	memset(&err, 0, sizeof(err));
	memset(&r, 0xff, sizeof(r));
	cr_assert_eq(pagecache_split(path, &r, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(r.pages, 0);
	cr_assert_eq(r.cached, 0);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	cr_assert_neq(fd, -1);
	close(fd);
	cr_assert_eq(pagecache_split(path, &r, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(r.pages, 0);
}

Test(pagecache, unreadable_file_is_an_error)
{
	struct pagecache_split r;
	struct mk_err err;

	/* A directory where the file should be: open works, reads fail. */
	cr_assert_eq(mkdir(path, 0700), 0);
	memset(&err, 0, sizeof(err));
	cr_assert_neq(pagecache_split(path, &r, &err), MK_OK);
	cr_assert(strstr(err.msg, path) != NULL, "%s", err.msg);
	cr_assert_eq(rmdir(path), 0);
}

/*
 * The point of it all: a file written in one long run is cached in large
 * folios (on kernels that do so); after pagecache_split none is left.
 */
Test(pagecache, no_large_folio_left)
{
	struct pagecache_split r;
	struct mk_err err;
	size_t present;
	long large;

	write_file();
	large = large_folio_pages(&present);
	if (large < 0)
		cr_skip_test("/proc/kpageflags gives no page frames (not root)");
	if (large == 0)
		cr_skip_test("this kernel cached the file in 4 KiB pages already "
		    "(%zu pages present)", present);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(pagecache_split(path, &r, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(r.cached, PAGES);
	large = large_folio_pages(&present);
	cr_assert_eq(large, 0, "%ld of %zu pages still in large folios", large, present);
	cr_assert_eq(present, PAGES);
	assert_bytes();
}

/*
 * pagecache_extend grows the file (zeros, the new part cached), never
 * shrinks it, and leaves what was there.
 */
Test(pagecache, extend_grows_only)
{
	struct mk_err err;
	unsigned char buf[PAGE], zero[PAGE];
	off_t size = 0;
	size_t i, present;
	long large;
	int fd;

	write_file();
	fd = open(path, O_RDWR);
	cr_assert_neq(fd, -1);
	cr_assert_eq(ftruncate(fd, (off_t)16 * PAGE), 0);
	cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(pagecache_extend(fd, (off_t)PAGES * PAGE, &size, &err), MK_OK,
	    "%s", err.msg);
	cr_assert_eq(size, (off_t)PAGES * PAGE);
	/* Asked for less than the file has: nothing changes. */
	cr_assert_eq(pagecache_extend(fd, (off_t)8 * PAGE, &size, &err), MK_OK, "%s", err.msg);
	cr_assert_eq(size, (off_t)PAGES * PAGE);
	close(fd);
	/* Pages 16 and up are new and cached (the first 16 were dropped). */
	cr_assert_eq(cached(NULL), PAGES - 16);
	memset(zero, 0, sizeof(zero));
	fd = open(path, O_RDONLY);
	cr_assert_neq(fd, -1);
	cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM), 0);
	for (i = 0; i < PAGES; i++) {
		cr_assert_eq(pread(fd, buf, PAGE, (off_t)i * PAGE), PAGE);
		if (i >= 16) {
			cr_assert_eq(memcmp(buf, zero, PAGE), 0, "page %zu is not zeros", i);
		} else {
			fill_page(zero, i);
			cr_assert_eq(memcmp(buf, zero, PAGE), 0, "page %zu changed", i);
			memset(zero, 0, sizeof(zero));
		}
	}
	close(fd);
	large = large_folio_pages(&present);
	cr_assert(large <= 0, "%ld of %zu pages in large folios", large, present);
}
