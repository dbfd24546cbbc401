/*
 * buf: a growable byte buffer, and a borrowed slice.
 *
 * Used to build response bodies and headers without a allocation per piece.
 * A buffer that failed to grow remembers it (b->failed) and ignores further
 * appends, so builders can append freely and check once at the end.
 */
#ifndef MK_BUF_H
#define MK_BUF_H

#include <stddef.h>

/* A borrowed run of bytes; not NUL-terminated unless said otherwise. */
struct mk_slice {
	const char *p;
	size_t n;
};

struct mk_buf {
	char *p;      /* owned; always NUL-terminated when non-NULL */
	size_t n;     /* bytes used, excluding the NUL */
	size_t cap;   /* bytes allocated */
	int failed;   /* an append failed for lack of memory */
};

/* An empty buffer needs no allocation: struct mk_buf b = MK_BUF_INIT; */
#define MK_BUF_INIT { NULL, 0, 0, 0 }

void buf_free(struct mk_buf *b);
/* Keep the allocation, forget the contents and the failed flag. */
void buf_reset(struct mk_buf *b);
/* Append; return 0, or -1 (and set b->failed) when out of memory. */
int buf_add(struct mk_buf *b, const void *p, size_t n);
int buf_adds(struct mk_buf *b, const char *s);
int buf_addc(struct mk_buf *b, char c);
int buf_printf(struct mk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
