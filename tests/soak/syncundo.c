/*
 * syncundo: replay a power loss from a syncshim journal.  Every write the
 * journal shows as not on stable storage (see syncshim.h) is undone, newest
 * first, by putting back the bytes it overwrote and the file size before
 * it, except where a later write that did reach stable storage covers the
 * same bytes.  The file is left as the disk would hold it after the crash.
 *
 * usage: syncundo [-n] [-k SEED] JOURNAL FILE
 *   -n        count only, change nothing
 *   -k SEED   keep each lost write with probability 1/2 (a disk that wrote
 *             back some of its cache, in any order) instead of dropping all
 * Run only while no process has FILE open.  Prints one line:
 *   writes N durable N lost N undone N syncs N dsync_writes N
 * (syncs: completed fsync/fdatasync calls; dsync_writes: writes made on an
 * O_SYNC/O_DSYNC descriptor).  Exit 0, or 1 on an error.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "syncshim.h"

struct w {
	const struct shim_rec *pre;
	const unsigned char *old;
	size_t pos;          /* record index of the PRE */
	size_t post;         /* record index of the POST, or 0 */
	uint64_t written;    /* bytes the POST reports */
	int durable;
};

struct ival {
	uint64_t a, b;
};

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL) {
		perror("syncundo");
		exit(1);
	}
	return p;
}

static int
read_all(const char *path, unsigned char **out, size_t *n)
{
	unsigned char *b = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	for (;;) {
		if (cap - len < 65536)
			b = xrealloc(b, cap = cap * 2 + 65536);
		if ((r = read(fd, b + len, cap - len)) <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (r < 0) {
		free(b);
		return -1;
	}
	*out = b;
	*n = len;
	return 0;
}

/*
 * A record header at off (read by copy: off may be odd); whole: its data
 * is in the journal too.
 */
static int
hdr_ok(const unsigned char *jb, size_t jn, size_t off, int whole)
{
	struct shim_rec r;

	if (off + sizeof(r) > jn)
		return 0;
	memcpy(&r, jb + off, sizeof(r));
	return r.magic == SHIM_MAGIC && r.type >= SHIM_PRE && r.type <= SHIM_DONE &&
	    (!whole || r.n <= jn - off - sizeof(r));
}

/*
 * A whole record at off whose data ends where a header, the end, or a
 * tail too short for a header begins.  A cut record claims data that runs
 * into the records after it, so where it says its successor starts there
 * is none.
 */
static int
chain_ok(const unsigned char *jb, size_t jn, size_t off)
{
	struct shim_rec r;
	size_t next;

	if (!hdr_ok(jb, jn, off, 1))
		return 0;
	memcpy(&r, jb + off, sizeof(r));
	next = off + sizeof(r) + r.n;
	return jn - next < sizeof(r) || hdr_ok(jb, jn, next, 0);
}

int
main(int argc, char *argv[])
{
	const struct shim_rec **rec = NULL;
	struct w *ws = NULL;
	struct ival *pin = NULL;
	unsigned char *jb, *mask = NULL;
	size_t jn, off, nrec = 0, nw = 0, npin = 0, i, j, k, last_sync = 0;
	unsigned long syncs = 0, dsync = 0, durable = 0, undone = 0, lost = 0;
	int c, count_only = 0, keep = 0, fd = -1;
	unsigned seed = 0;
	struct stat st;
	uint64_t size, pin_end = 0;

	while ((c = getopt(argc, argv, "nk:")) != -1) {
		switch (c) {
		case 'n':
			count_only = 1;
			break;
		case 'k':
			keep = 1;
			seed = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2)
		goto usage;
	if (read_all(argv[optind], &jb, &jn) == -1) {
		fprintf(stderr, "syncundo: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}

	/*
	 * Records, in journal order.  A record that is not whole, or whose
	 * successor is not a record, is the write(2) of a process SIGKILLed
	 * inside it (a fatal signal cuts a large write short); the next
	 * process's records follow it.  Its write to the file never happened
	 * (the shim journals before it writes), so it is dropped: the rest of
	 * the journal is moved down over it, which keeps records where they
	 * were aligned.
	 */
	for (off = 0; off + sizeof(struct shim_rec) <= jn; ) {
		const struct shim_rec *r = (const void *)(jb + off);

		if (!chain_ok(jb, jn, off)) {
			size_t s = off + 1;

			while (s + sizeof(*r) <= jn && !chain_ok(jb, jn, s))
				s++;
			if (s + sizeof(*r) > jn)
				s = jn;
			fprintf(stderr, "syncundo: dropped %zu bytes of a cut record at %zu\n",
			    s - off, off);
			memmove(jb + off, jb + s, jn - s);
			jn -= s - off;
			continue;
		}
		rec = xrealloc(rec, (nrec + 1) * sizeof(*rec));
		rec[nrec++] = r;
		off += sizeof(*r) + r->n;
	}
	if (off != jn) {
		/* A cut record shorter than a header: dropped as above. */
		fprintf(stderr, "syncundo: dropped %zu bytes of a cut record at %zu\n",
		    jn - off, off);
		jn = off;
	}

	/*
	 * Writes: a PRE and the next POST of the same process (the shim holds
	 * its lock from one to the other).  A completed sync: the latest SYNC
	 * of its process before a DONE.
	 */
	for (i = 0; i < nrec; i++) {
		const struct shim_rec *r = rec[i];

		switch (r->type) {
		case SHIM_PRE:
			ws = xrealloc(ws, (nw + 1) * sizeof(*ws));
			memset(&ws[nw], 0, sizeof(ws[nw]));
			ws[nw].pre = r;
			ws[nw].old = (const unsigned char *)(r + 1);
			ws[nw].pos = i;
			nw++;
			break;
		case SHIM_POST:
			for (k = nw; k-- > 0; ) {
				if (ws[k].pre->pid == r->pid && ws[k].post == 0) {
					ws[k].post = i;
					ws[k].written = r->len;
					ws[k].durable = r->durable != 0;
					if (r->durable)
						dsync++;
					break;
				}
			}
			break;
		case SHIM_SYNC:
			break;
		case SHIM_DONE:
			for (k = i; k-- > 0; ) {
				if (rec[k]->type == SHIM_SYNC && rec[k]->pid == r->pid) {
					if (k > last_sync)
						last_sync = k;
					syncs++;
					break;
				}
			}
			break;
		default:
			fprintf(stderr, "syncundo: unknown record type %u\n", r->type);
			return 1;
		}
	}
	/*
	 * Durable: on an O_DSYNC descriptor, or a completed sync began after
	 * the write returned (after its PRE when the writer died inside it:
	 * the write happened before the sync or never).
	 */
	for (k = 0; k < nw; k++) {
		if (!ws[k].durable && last_sync > (ws[k].post ? ws[k].post : ws[k].pos))
			ws[k].durable = 1;
		if (ws[k].durable)
			durable++;
		else
			lost++;
	}

	if (!count_only) {
		if ((fd = open(argv[optind + 1], O_RDWR)) == -1 || fstat(fd, &st) == -1) {
			fprintf(stderr, "syncundo: %s: %s\n", argv[optind + 1], strerror(errno));
			return 1;
		}
		size = (uint64_t)st.st_size;
		srand(seed);
		/* Newest first; writes that stay pin their bytes for older undos. */
		for (k = nw; k-- > 0; ) {
			struct w *w = &ws[k];
			uint64_t a = w->pre->off, n = w->pre->n, x;

			if (w->durable || (keep && rand() % 2 == 0)) {
				uint64_t wl = w->post ? w->written : w->pre->len;

				pin = xrealloc(pin, (npin + 1) * sizeof(*pin));
				pin[npin].a = a;
				pin[npin].b = a + wl;
				if (a + wl > pin_end)
					pin_end = a + wl;
				npin++;
				continue;
			}
			undone++;
			if (n > 0) {
				mask = xrealloc(mask, n);
				memset(mask, 1, n);
				for (j = 0; j < npin; j++) {
					uint64_t lo = pin[j].a > a ? pin[j].a : a;
					uint64_t hi = pin[j].b < a + n ? pin[j].b : a + n;

					for (x = lo; x < hi; x++)
						mask[x - a] = 0;
				}
				for (x = 0; x < n; ) {
					uint64_t e;

					if (!mask[x]) {
						x++;
						continue;
					}
					for (e = x; e < n && mask[e]; e++)
						;
					if (pwrite(fd, w->old + x, e - x, (off_t)(a + x)) !=
					    (ssize_t)(e - x)) {
						perror("syncundo: pwrite");
						return 1;
					}
					x = e;
				}
			}
			/* The file grew with this write: it had not, on disk. */
			if (w->pre->size < size)
				size = w->pre->size > pin_end ? w->pre->size : pin_end;
		}
		if (size < (uint64_t)st.st_size && ftruncate(fd, (off_t)size) == -1) {
			perror("syncundo: ftruncate");
			return 1;
		}
		if (fsync(fd) == -1 || close(fd) == -1) {
			perror("syncundo: fsync");
			return 1;
		}
	}
	printf("writes %zu durable %lu lost %lu undone %lu syncs %lu dsync_writes %lu\n",
	    nw, durable, lost, undone, syncs, dsync);
	free(rec);
	free(ws);
	free(pin);
	free(mask);
	free(jb);
	return 0;
usage:
	fprintf(stderr, "usage: syncundo [-n] [-k SEED] JOURNAL FILE\n");
	return 2;
}
