/*
 * buf: capped growable buffer.  See buf.h.
 */
#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->size = 0;
	b->cap = cap;
}

void buf_clear(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->size = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static int buf_reserve(struct buf *b, size_t extra)
{
	if (extra > b->cap || b->len > b->cap - extra)
		return -E2BIG;
	size_t need = b->len + extra + 1;
	if (need <= b->size)
		return 0;
	size_t nsize = b->size ? b->size : 64;
	while (nsize < need)
		nsize *= 2;
	if (nsize > b->cap + 1)
		nsize = b->cap + 1;
	char *p = realloc(b->data, nsize);
	if (p == NULL)
		return -ENOMEM;
	b->data = p;
	b->size = nsize;
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	int rc = buf_reserve(b, len);
	if (rc < 0)
		return rc;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	int rc = buf_reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *buf_take(struct buf *b)
{
	char *p = b->data;
	if (p == NULL)
		p = strdup("");
	b->data = NULL;
	b->len = 0;
	b->size = 0;
	return p;
}

static int buf_vfmt(char *dst, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int buf_vfmt(char *dst, size_t size, const char *fmt, va_list ap)
{
	if (size == 0)
		return -E2BIG;
	int n = vsnprintf(dst, size, fmt, ap);
	if (n < 0) {
		dst[0] = '\0';
		return -EINVAL;
	}
	return (size_t)n < size ? 0 : -E2BIG;
}

int buf_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vfmt(dst, size, fmt, ap);
	va_end(ap);
	return rc;
}

void buf_vfmt_msg(char *dst, size_t size, const char *fmt, va_list ap)
{
	if (buf_vfmt(dst, size, fmt, ap) == -E2BIG && size > 3)
		memcpy(dst + size - 4, "...", 4);
}

void buf_fmt_msg(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vfmt_msg(dst, size, fmt, ap);
	va_end(ap);
}
