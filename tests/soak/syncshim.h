/*
 * syncshim.h: the journal format shared by the LD_PRELOAD shim
 * (syncshim.c) and the tool that replays a crash from it (syncundo.c).
 * Native byte order: both run on the same machine.
 */
#ifndef MK_SYNCSHIM_H
#define MK_SYNCSHIM_H

#include <stdint.h>

#define SHIM_MAGIC 0x4d4b5348u  /* "MKSH" */

enum shim_type {
	SHIM_PRE = 1,   /* before a write: off, len, size; n old bytes follow */
	SHIM_POST,      /* after it: off, len = bytes written; durable */
	SHIM_SYNC,      /* an fsync/fdatasync of the file begins */
	SHIM_DONE,      /* ... and returned 0 */
};

struct shim_rec {
	uint32_t magic;
	uint32_t type;
	uint32_t durable;  /* POST on an O_SYNC/O_DSYNC descriptor */
	uint32_t pid;
	uint64_t seq;      /* per process */
	uint64_t off;
	uint64_t len;
	uint64_t size;     /* PRE: the file's size before the write */
	uint32_t n;        /* bytes of data after the header */
	uint32_t pad;
};

#endif
