/*
 * pagecache: data.mdb held in the kernel's page cache as 4 KiB pages
 * (pagecache.h says why).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pagecache.h"
#include "util.h"

#define PC_CHUNK ((size_t)1 << 20)  /* bytes a read brings back at most */

/* The system's page: mincore's unit, and a one-page folio's size. */
static size_t
pc_page(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

/* Which of the file's pages are cached: vec[i] & 1 for page i. */
static int
pc_resident(int fd, size_t bytes, unsigned char *vec)
{
	void *map;
	int rc;

	if ((map = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED)
		return -1;
	rc = mincore(map, bytes, vec);
	munmap(map, bytes);
	return rc;
}

/*
 * Read back the runs of vec's cached pages, PC_CHUNK at most a read.
 * Returns the pages read, or -1 (errno set).
 */
static ssize_t
pc_read_back(int fd, const unsigned char *vec, size_t pages, size_t psize, char *buf)
{
	size_t i = 0, j, n = 0;
	ssize_t got;

	while (i < pages) {
		if ((vec[i] & 1) == 0) {
			i++;
			continue;
		}
		for (j = i; j < pages && (vec[j] & 1) && (j == i || (j - i) * psize < PC_CHUNK); j++)
			;
		got = pread(fd, buf, (j - i) * psize, (off_t)(i * psize));
		if (got == -1)
			return -1;
		/* A file cut short since fstat: nothing more to read. */
		if ((size_t)got < (j - i) * psize)
			return (ssize_t)(n + (size_t)got / psize);
		n += j - i;
		i = j;
	}
	return (ssize_t)n;
}

enum mk_code
pagecache_split(const char *path, struct pagecache_split *out, struct mk_err *err)
{
	struct pagecache_split r = { 0, 0, 0 };
	size_t psize = pc_page();
	struct stat st;
	unsigned char *vec = NULL;
	char *buf = NULL;
	int64_t t0 = mk_mono_ms();
	enum mk_code code = MK_ERR_INTERNAL;
	const char *what = "open";
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			goto done;
		goto fail;
	}
	what = "fstat";
	if (fstat(fd, &st) == -1)
		goto fail;
	r.pages = (size_t)st.st_size / psize;
	if (r.pages == 0)
		goto done;
	what = "memory";
	if ((vec = calloc(r.pages, 1)) == NULL ||
	    (buf = malloc(PC_CHUNK > psize ? PC_CHUNK : psize)) == NULL)
		goto fail;
	what = "mincore";
	if (pc_resident(fd, r.pages * psize, vec) == -1)
		goto fail;
	/*
	 * Dirty pages are not dropped: write them back first.  Not a sync: no
	 * promise of durability is wanted here (and a relaxed pool makes none).
	 */
	what = "sync_file_range";
	if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
	    SYNC_FILE_RANGE_WAIT_AFTER) == -1)
		goto fail;
	what = "posix_fadvise";
	if ((errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) != 0 ||
	    (errno = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM)) != 0)
		goto fail;
	what = "read";
	if ((n = pc_read_back(fd, vec, r.pages, psize, buf)) == -1)
		goto fail;
	r.cached = (size_t)n;
done:
	r.ms = mk_mono_ms() - t0;
	if (out != NULL)
		*out = r;
	code = MK_OK;
	goto out;
fail:
	code = mk_fail(err, MK_ERR_INTERNAL, "%s: %s: %s", path, what, strerror(errno));
out:
	if (fd != -1)
		close(fd);
	free(buf);
	free(vec);
	return code;
}

enum mk_code
pagecache_extend(int fd, off_t to, off_t *size, struct mk_err *err)
{
	struct stat st;
	char *buf = NULL;
	off_t from, at;
	size_t n;
	ssize_t got;
	enum mk_code code = MK_OK;
	const char *what = "fstat";

	memset(&st, 0, sizeof(st));
	if (fstat(fd, &st) == -1)
		goto fail;
	from = st.st_size;
	if (to <= from)
		goto out;
	what = "fallocate";
	if (fallocate(fd, 0, from, to - from) == -1)
		goto fail;
	/* Zeros, read a chunk at a time into one-page folios. */
	what = "posix_fadvise";
	if ((errno = posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM)) != 0)
		goto fail;
	what = "memory";
	if ((buf = malloc(PC_CHUNK)) == NULL)
		goto fail;
	what = "read";
	for (at = from; at < to; at += (off_t)n) {
		n = to - at < (off_t)PC_CHUNK ? (size_t)(to - at) : PC_CHUNK;
		if ((got = pread(fd, buf, n, at)) == -1)
			goto fail;
		if (got == 0)
			break;
		n = (size_t)got;
	}
	st.st_size = to;
	goto out;
fail:
	code = mk_fail(err, errno == ENOSPC || errno == EDQUOT || errno == EFBIG ?
	    MK_ERR_FULL : MK_ERR_INTERNAL, "%s: %s", what, strerror(errno));
out:
	free(buf);
	if (size != NULL)
		*size = st.st_size;
	return code;
}
