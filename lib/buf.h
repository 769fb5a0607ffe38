/*
 * buf: a capped, growable byte buffer (always NUL-terminated).
 *
 * Every string corrald builds (scripts, JSON, request bodies, YAML) goes
 * through one of these.  A buffer never grows past its cap: an append that
 * would overflow fails with -E2BIG and leaves the buffer unchanged, so the
 * caller decides what an oversized result means (413, a refused write...).
 *
 * For the fixed arrays that remain (struct fields, paths on the stack),
 * buf_fmt is snprintf that says whether the text fit, and buf_fmt_msg the
 * one for messages, where a cut text is fine as long as it shows.  Nothing
 * in Corral calls snprintf into a fixed array without one of the two (or
 * its own check).
 *
 * Any program may call these; leaf module: depends on nothing else in
 * Corral.  Not thread-safe per buffer (a buffer has one owner at a time).
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

/*
 * snprintf into dst[size] that says whether the whole text fit: 0, or
 * -E2BIG when it was cut (dst holds what fit), -EINVAL on a format error
 * (dst is "").  The result must be looked at: a cut path or name is a
 * different one.
 */
int buf_fmt(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), warn_unused_result));
/*
 * A message into dst[size]: a text that does not fit is cut and ends in
 * "..." (so no one takes it for the whole); a format error leaves "".
 * For text read by people, never for a name, a path or a key.
 */
void buf_fmt_msg(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void buf_vfmt_msg(char *dst, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
