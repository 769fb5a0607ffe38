/*
 * tfmt: snprintf for the unit tests, with the cut checked.
 *
 * A test sizes its arrays for what it writes into them, so a cut means the
 * test itself is wrong: TFMT() and TFMTN() fail the test (cmocka) instead
 * of going on with a shortened path, token or expectation.  TFMT() takes
 * an array (the build refuses a pointer); TFMTN() a pointer and its size.
 *
 * A cmocka failure jumps back to the test's own thread, so neither may run
 * on another thread (a worker, an MHD handler).  There, and for text whose
 * cut does not matter (a failure message), tfmt_cut() formats, ends a cut
 * text with "..." and returns whether it cut: the caller says at the call
 * what a cut means.
 *
 * Included after cmocka.h by the tests that format into arrays; static
 * inline, so a test that uses none of it is not warned.
 */
#ifndef CORRAL_TESTS_TFMT_H
#define CORRAL_TESTS_TFMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* 1 for an array, 0 for a pointer (a constant expression). */
#define TFMT_IS_ARRAY(a) (!__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])))

#define TFMT(out, ...)                                               \
	tfmt_check(((void)sizeof(char[TFMT_IS_ARRAY(out) ? 1 : -1]), \
		    snprintf((out), sizeof(out), __VA_ARGS__)),      \
		   sizeof(out), #out, __FILE__, __LINE__)

#define TFMTN(out, size, ...) \
	tfmt_check(snprintf((out), (size), __VA_ARGS__), (size), #out, __FILE__, __LINE__)

/* Fails the test when snprintf returned n for an array of size bytes. */
static inline void tfmt_check(int n, size_t size, const char *what, const char *file, int line)
{
	if (n >= 0 && (size_t)n < size)
		return;
	print_error("%s:%d: %s: %d bytes do not fit in %zu\n", file, line, what, n + 1, size);
	_fail(file, line);
}

/* vsnprintf into out; a cut text ends in "..." (size at least 4).  1 if cut. */
static inline int tfmt_vcut(char *out, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, size, fmt, ap);
	if (n < 0) {
		out[0] = '\0';
		return 1;
	}
	if ((size_t)n < size)
		return 0;
	memcpy(out + size - 4, "...", 4);
	return 1;
}

static inline int tfmt_cut(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int tfmt_cut(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int cut = tfmt_vcut(out, size, fmt, ap);
	va_end(ap);
	return cut;
}

#endif /* CORRAL_TESTS_TFMT_H */
