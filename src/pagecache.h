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
 * pages come in one at a time) and, once at start, calls pagecache_split.
 */
#ifndef MK_PAGECACHE_H
#define MK_PAGECACHE_H

#include <stddef.h>

#include "err.h"

struct pagecache_split {
	size_t pages;      /* the file's 4 KiB pages */
	size_t cached;     /* of which were cached, and were read back */
	double ms;         /* time taken */
};

/*
 * Re-read the cached part of the file at path as 4 KiB pages: note which
 * pages are cached (mincore), write back what is dirty (fdatasync), drop
 * the file's cache (POSIX_FADV_DONTNEED: clean pages that no process maps),
 * then read the same pages back with readahead off (POSIX_FADV_RANDOM), so
 * the kernel caches them in folios of one page.  Pages another process maps
 * stay as they were.  Changes no byte of the file; the cache is as warm
 * after as before.  A missing or empty file is no error (*out all zero).
 * out may be NULL.  Errors: MK_ERR_INTERNAL (open, mmap, read), with path
 * and reason in err.
 */
enum mk_code pagecache_split(const char *path, struct pagecache_split *out,
    struct mk_err *err);

#endif
