/*
 * pagecache: data.mdb held in the kernel's page cache as 4 KiB pages.
 *
 * Linux caches a file in large folios (up to 2 MiB) when it is written or
 * read ahead in long runs: an import or a rebuild, bench/load, a copy of
 * the store, readahead after a restart (ext4 since Linux 6.16; xfs and
 * btrfs earlier).  LMDB then writes one 4 KiB page here and there: each
 * pwrite into a large folio walks every block of the folio, and a sync
 * writes back a folio as a whole.  On this project's test machine a
 * durable PATCH ran 1.3-1.8x and a relaxed one 1.05-1.4x slower on a store
 * cached that way (BENCHMARKS.md, seventh session).  metakeepd therefore
 * reads its map without readahead (store_opts.random_reads: MDB_NORDAHEAD,
 * pages come in one at a time), calls pagecache_split once at start, and
 * keeps the file a little longer than its data with pagecache_extend, so
 * the pages a commit appends land in one-page folios too.
 */
#ifndef MK_PAGECACHE_H
#define MK_PAGECACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct pagecache_split {
	size_t pages;      /* the file's pages (of the system's page size: 4 KiB
	                      on x86-64) */
	size_t cached;     /* of which were cached, and were read back */
	int64_t ms;        /* time taken, in milliseconds */
};

/*
 * Re-read the cached part of the file at path as 4 KiB pages: note which
 * pages are cached (mincore), write back what is dirty (sync_file_range:
 * written out, no sync promised), drop the file's cache
 * (POSIX_FADV_DONTNEED: clean pages that no process maps), then read the
 * same pages back with readahead off (POSIX_FADV_RANDOM), so the kernel
 * caches them in folios of one page.  Pages another process maps
 * stay as they were.  Changes no byte of the file; the cache is as warm
 * after as before.  A missing or empty file is no error (*out all zero).
 * out may be NULL.  Errors: MK_ERR_INTERNAL (open, mmap, read), with path
 * and reason in err.
 */
enum mk_code pagecache_split(const char *path, struct pagecache_split *out,
    struct mk_err *err);

/*
 * Grow the file behind fd (open for writing) to at least to bytes, its new
 * part cached as 4 KiB pages, before anyone writes there: the file grows
 * from its size (fallocate(2) without FALLOC_FL_KEEP_SIZE: blocks reserved,
 * and never shrinks, whoever else grows it meanwhile) and the new part is
 * read (zeros) with readahead off.  Marks the open file description
 * POSIX_FADV_RANDOM.  *size (may be NULL) gets the file's size after.
 * A file already that long is left as it is.  Errors: MK_ERR_FULL (no room:
 * ENOSPC, EDQUOT, EFBIG), MK_ERR_INTERNAL (fstat, fallocate, read).
 */
enum mk_code pagecache_extend(int fd, off_t to, off_t *size, struct mk_err *err);

#endif
