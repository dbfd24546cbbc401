/* buf: growable byte buffer (see buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_free(struct mk_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
	b->failed = 0;
}

void
buf_reset(struct mk_buf *b)
{
	b->n = 0;
	b->failed = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

static int
buf_reserve(struct mk_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return -1;
	if (extra > (size_t)-1 - b->n - 1)
		goto fail;
	need = b->n + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > (size_t)-1 / 2 ? need : cap * 2;
	if ((p = realloc(b->p, cap)) == NULL)
		goto fail;
	b->p = p;
	b->cap = cap;
	return 0;
fail:
	b->failed = 1;
	return -1;
}

int
buf_add(struct mk_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

int
buf_adds(struct mk_buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addc(struct mk_buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_printf(struct mk_buf *b, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0 || buf_reserve(b, (size_t)len) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)len + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)len;
	return 0;
}
