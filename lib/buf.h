/*
 * buf: a capped, growable byte buffer (always NUL-terminated).
 *
 * Every string corrald builds (scripts, JSON, request bodies, YAML) goes
 * through one of these.  A buffer never grows past its cap: an append that
 * would overflow fails with -E2BIG and leaves the buffer unchanged, so the
 * caller decides what an oversized result means (413, a refused write...).
 * Leaf module: depends on nothing else in Corral.
 */
#ifndef CORRAL_BUF_H
#define CORRAL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;  /* NUL-terminated contents, NULL until first append */
	size_t len;  /* bytes used, not counting the NUL */
	size_t size; /* bytes allocated */
	size_t cap;  /* most bytes the buffer may hold (not counting the NUL) */
};

/* Empty buffer that may grow to cap bytes.  Allocates nothing yet. */
void buf_init(struct buf *b, size_t cap);
/* Frees the contents; the buffer is empty and reusable after. */
void buf_clear(struct buf *b);
/* Empties without freeing. */
void buf_reset(struct buf *b);
/* Appends; 0, -E2BIG past the cap, -ENOMEM. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Contents as a string ("" when empty); borrowed, valid until the next change. */
const char *buf_str(const struct buf *b);
/* Hands the contents to the caller (free() them) and empties the buffer. */
char *buf_take(struct buf *b);

#endif
