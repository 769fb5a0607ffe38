/*
 * Unit tests for buf: the cap is exact (an append that reaches it fits, one
 * byte more is -E2BIG and changes nothing), printf grows the buffer, and
 * take/clear/reset leave it in the documented state; buf_fmt says when a
 * text did not fit a fixed array, buf_fmt_msg cuts a message visibly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_init_empty(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.cap, 100);
	assert_string_equal(buf_str(&b), "");
	buf_clear(&b); /* nothing allocated: still fine */
	assert_null(b.data);
}

/* Appending, in every form, up to the cap and one byte past it. */
enum op { OP_ADD, OP_ADDS, OP_ADDC, OP_PRINTF };

struct cap_case {
	size_t cap;
	const char *first; /* appended first (must fit) */
	enum op op;
	const char *second;
	int rc;
};

static const struct cap_case cap_cases[] = {
	/* reaching the cap exactly */
	{10, "", OP_ADD, "0123456789", 0},
	{10, "01234", OP_ADDS, "56789", 0},
	{10, "012345678", OP_ADDC, "9", 0},
	{10, "0123", OP_PRINTF, "456789", 0},
	{1, "", OP_ADDC, "x", 0},
	{64, "", OP_ADDS, "0123456789012345678901234567890123456789012345678901234567890123", 0},
	{65, "", OP_ADDS, "01234567890123456789012345678901234567890123456789012345678901234", 0},
	/* one byte past it */
	{10, "", OP_ADD, "0123456789a", -E2BIG},
	{10, "01234", OP_ADDS, "56789a", -E2BIG},
	{10, "0123456789", OP_ADDC, "a", -E2BIG},
	{10, "0123", OP_PRINTF, "456789a", -E2BIG},
	{0, "", OP_ADDC, "x", -E2BIG},
	{64, "", OP_ADDS, "01234567890123456789012345678901234567890123456789012345678901234",
	 -E2BIG},
	/* far past it */
	{10, "abc", OP_ADDS, "0123456789012345678901234567890123456789", -E2BIG},
	{10, "abc", OP_PRINTF, "0123456789012345678901234567890123456789", -E2BIG},
};

static int do_op(struct buf *b, enum op op, const char *s)
{
	switch (op) {
	case OP_ADD:
		return buf_add(b, s, strlen(s));
	case OP_ADDS:
		return buf_adds(b, s);
	case OP_ADDC:
		return buf_addc(b, s[0]);
	case OP_PRINTF:
		return buf_printf(b, "%s", s);
	}
	return -1;
}

static void test_cap_exact(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cap_cases); i++) {
		const struct cap_case *c = &cap_cases[i];
		struct buf b;
		char want[256];
		int rc;

		buf_init(&b, c->cap);
		assert_int_equal(buf_adds(&b, c->first), 0);
		rc = do_op(&b, c->op, c->second);
		if (rc != c->rc)
			fail_msg("cap case %zu: rc %d, want %d", i, rc, c->rc);
		if (rc == 0)
			snprintf(want, sizeof(want), "%s%s", c->first, c->second);
		else
			snprintf(want, sizeof(want), "%s", c->first);
		if (strcmp(buf_str(&b), want) != 0)
			fail_msg("cap case %zu: contents \"%s\", want \"%s\"", i, buf_str(&b),
				 want);
		assert_int_equal(b.len, strlen(want));
		assert_true(b.len <= b.cap);
		/* Never allocates more than the cap can use. */
		assert_true(b.size <= b.cap + 1);
		if (b.data != NULL)
			assert_int_equal(b.data[b.len], '\0');
		buf_clear(&b);
	}
}

/* A refused append leaves everything as it was: data pointer, size, bytes. */
static void test_refused_unchanged(void **state)
{
	struct buf b;
	char *data;
	size_t size;

	(void)state;
	buf_init(&b, 20);
	assert_int_equal(buf_adds(&b, "hello, "), 0);
	data = b.data;
	size = b.size;
	assert_int_equal(buf_printf(&b, "%s %d %s", "world", 12345, "too long for it"), -E2BIG);
	assert_int_equal(buf_add(&b, "x", SIZE_MAX), -E2BIG); /* no size_t wrap-around */
	assert_int_equal(buf_add(&b, "x", SIZE_MAX - 6), -E2BIG);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.size, size);
	assert_int_equal(b.len, 7);
	assert_string_equal(buf_str(&b), "hello, ");
	/* and it still takes what fits */
	assert_int_equal(buf_printf(&b, "%s%d", "world", 42), 0);
	assert_string_equal(buf_str(&b), "hello, world42");
	buf_clear(&b);
}

static void test_printf_growth(void **state)
{
	struct buf b;
	char expect[8192];
	size_t elen = 0;

	(void)state;
	buf_init(&b, 1u << 20);
	/* Many formatted appends across several reallocations. */
	for (int i = 0; i < 500; i++) {
		assert_int_equal(buf_printf(&b, "line %03d: %s=%x\n", i, "k", i * 7), 0);
		elen += (size_t)snprintf(expect + elen, sizeof(expect) - elen, "line %03d: %s=%x\n",
					 i, "k", i * 7);
		assert_true(elen < sizeof(expect));
	}
	assert_int_equal(b.len, elen);
	assert_int_equal(strlen(buf_str(&b)), elen);
	assert_memory_equal(buf_str(&b), expect, elen + 1);
	assert_true(b.size > b.len);
	buf_clear(&b);

	/* One append much larger than the first allocation. */
	buf_init(&b, 100000);
	assert_int_equal(buf_printf(&b, "%05000d|%s", 7, "end"), 0);
	assert_int_equal(b.len, 5004);
	assert_int_equal(buf_str(&b)[4999], '7');
	assert_string_equal(buf_str(&b) + 5000, "|end");
	/* An empty format adds nothing, and is fine. */
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 5004);
	buf_clear(&b);

	/* printf to exactly the cap, then one more. */
	buf_init(&b, 12);
	assert_int_equal(buf_printf(&b, "%d-%s", 2024, "1125abc"), 0);
	assert_string_equal(buf_str(&b), "2024-1125abc");
	assert_int_equal(buf_printf(&b, "%c", 'x'), -E2BIG);
	assert_string_equal(buf_str(&b), "2024-1125abc");
	buf_clear(&b);
}

static int vp(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vp(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

static void test_vprintf(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 32);
	assert_int_equal(vp(&b, "%s:%u", "a", 1u), 0);
	assert_int_equal(vp(&b, "%s", "-b"), 0);
	assert_string_equal(buf_str(&b), "a:1-b");
	assert_int_equal(vp(&b, "%40s", "x"), -E2BIG);
	assert_string_equal(buf_str(&b), "a:1-b");
	buf_clear(&b);
}

/* Bytes, not strings: buf_add keeps embedded NULs and counts them. */
static void test_binary(void **state)
{
	struct buf b;
	static const char bin[] = {'a', '\0', 'b', '\0'};

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(buf_add(&b, bin, sizeof(bin)), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, bin, 4);
	assert_int_equal(b.data[4], '\0');
	assert_int_equal(buf_add(&b, NULL, 0), 0);
	assert_int_equal(b.len, 4);
	buf_clear(&b);
}

static void test_take(void **state)
{
	struct buf b;
	char *p;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_adds(&b, "taken"), 0);
	p = buf_take(&b);
	assert_non_null(p);
	assert_string_equal(p, "taken");
	/* The buffer is empty, owns nothing, and keeps its cap. */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.cap, 64);
	assert_string_equal(buf_str(&b), "");
	/* Reusable, and independent of what was taken. */
	assert_int_equal(buf_adds(&b, "again"), 0);
	assert_string_equal(buf_str(&b), "again");
	assert_string_equal(p, "taken");
	free(p);
	buf_clear(&b);

	/* Taking from an empty buffer gives "" the caller can free. */
	buf_init(&b, 8);
	p = buf_take(&b);
	assert_non_null(p);
	assert_string_equal(p, "");
	free(p);
	assert_null(b.data);
}

static void test_clear_reset(void **state)
{
	struct buf b;
	size_t size;

	(void)state;
	buf_init(&b, 32);
	assert_int_equal(buf_adds(&b, "0123456789"), 0);
	size = b.size;
	/* reset: empty, allocation kept */
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_int_equal(b.size, size);
	assert_string_equal(buf_str(&b), "");
	/* the full cap is available again */
	assert_int_equal(buf_adds(&b, "0123456789012345678901234567890x"), 0);
	assert_int_equal(b.len, 32);
	assert_int_equal(buf_addc(&b, 'y'), -E2BIG);
	/* clear: empty, nothing allocated, cap kept, reusable */
	buf_clear(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.cap, 32);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_adds(&b, "after clear"), 0);
	assert_string_equal(buf_str(&b), "after clear");
	buf_clear(&b);
	buf_clear(&b); /* twice is harmless */
	/* reset of a never-used buffer */
	buf_init(&b, 4);
	buf_reset(&b);
	assert_null(b.data);
	assert_string_equal(buf_str(&b), "");
}

/* A large cap filled one byte at a time: grows to exactly what is needed. */
static void test_many_small(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10000);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_addc(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(buf_addc(&b, 'z'), -E2BIG);
	assert_int_equal(b.len, 10000);
	assert_true(b.size >= 10001 && b.size <= b.cap + 1);
	for (int i = 0; i < 10000; i++)
		if (b.data[i] != (char)('a' + i % 26))
			fail_msg("byte %d is %c", i, b.data[i]);
	assert_int_equal(b.data[10000], '\0');
	buf_clear(&b);
}

/* buf_fmt: exactly size - 1 bytes fit; one more is -E2BIG with the cut text. */
static void test_fmt_says_cut(void **state)
{
	char d[8];

	(void)state;
	assert_int_equal(buf_fmt(d, sizeof(d), "%s-%d", "abc", 123), 0);
	assert_string_equal(d, "abc-123");
	assert_int_equal(buf_fmt(d, sizeof(d), "%s-%d", "abc", 1234), -E2BIG);
	assert_string_equal(d, "abc-123");
	assert_int_equal(buf_fmt(d, sizeof(d), "%s", ""), 0);
	assert_string_equal(d, "");
	assert_int_equal(buf_fmt(d, 0, "x"), -E2BIG);
	assert_int_equal(buf_fmt(d, 1, "x"), -E2BIG);
	assert_string_equal(d, "");
}

/* buf_fmt_msg: a message that fits is as is; a longer one ends in "...". */
static void test_fmt_msg_marks_cut(void **state)
{
	char d[8];

	(void)state;
	buf_fmt_msg(d, sizeof(d), "%s", "1234567");
	assert_string_equal(d, "1234567");
	buf_fmt_msg(d, sizeof(d), "%s", "12345678");
	assert_string_equal(d, "1234...");
	buf_fmt_msg(d, 3, "%s", "abcdef"); /* no room for a marker: cut only */
	assert_string_equal(d, "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_cap_exact),
		cmocka_unit_test(test_refused_unchanged),
		cmocka_unit_test(test_printf_growth),
		cmocka_unit_test(test_vprintf),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_clear_reset),
		cmocka_unit_test(test_many_small),
		cmocka_unit_test(test_fmt_says_cut),
		cmocka_unit_test(test_fmt_msg_marks_cut),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL) != 0;
}
