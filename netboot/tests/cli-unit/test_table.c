/*
 * Unit tests for cli_table: column alignment (widest cell, two spaces, last
 * column unpadded), widths counted in UTF-8 characters, "-" for NULL and
 * empty cells, control characters replaced by '?', growth past the first
 * allocation, an empty table, and a write error reported as -EIO.
 *
 * Not covered: out of memory inside cli_table_add (no allocator hook).
 * Widths are counted in code points, as the header says, so East Asian
 * wide characters (two terminal columns each) are counted as one; the test
 * pins that documented rule rather than terminal columns.
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

#include "cli_table.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The printed table as a string (the caller frees it). */
static char *print(const struct cli_table *t)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	assert_non_null(f);
	assert_int_equal(cli_table_print(t, f), 0);
	assert_int_equal(fclose(f), 0);
	return s;
}

/* Rows of up to 4 cells and the exact text they must print as. */
struct table_case {
	const char *name;
	size_t ncols;
	size_t nrows;
	const char *rows[4][4];
	const char *want;
};

static const struct table_case table_cases[] = {
	{"one column", 1, 2, {{"NAME"}, {"n1"}}, "NAME\nn1\n"},
	{"header widest",
	 2,
	 2,
	 {{"NAME", "STATE"}, {"a", "ready"}},
	 "NAME  STATE\n"
	 "a     ready\n"},
	{"cell widest, last column never padded",
	 3,
	 3,
	 {{"NAME", "NID", "ROLE"}, {"node-0001", "7", "compute"}, {"n2", "12345", "x"}},
	 "NAME       NID    ROLE\n"
	 "node-0001  7      compute\n"
	 "n2         12345  x\n"},
	{"NULL and empty cells print as -",
	 3,
	 3,
	 {{"A", "B", "C"}, {NULL, "", "z"}, {"xx", NULL, ""}},
	 "A   B  C\n"
	 "-   -  z\n"
	 "xx  -  -\n"},
	/* "é" is two bytes, one character: the column is 4 characters wide. */
	{"UTF-8 counted in characters",
	 2,
	 3,
	 {{"NAME", "X"}, {"n\xc3\xa9ud", "1"}, {"abc", "2"}},
	 "NAME  X\n"
	 "n\xc3\xa9ud  1\n"
	 "abc   2\n"},
	/* Three 3-byte characters count 3, not 9 (code points, see header). */
	{"wide characters counted as one each",
	 2,
	 2,
	 {{"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "X"}, {"abcd", "1"}},
	 "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e   X\n"
	 "abcd  1\n"},
	{"control characters become ?",
	 2,
	 2,
	 {{"A", "B"}, {"a\x1b[31mred", "tab\there\nnl\x7f"}},
	 "A          B\n"
	 "a?[31mred  tab?here?nl?\n"},
};

static void test_layout(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(table_cases); i++) {
		const struct table_case *c = &table_cases[i];
		struct cli_table *t = cli_table_new(c->ncols);

		assert_non_null(t);
		for (size_t r = 0; r < c->nrows; r++)
			assert_int_equal(cli_table_add(t, c->rows[r]), 0);
		assert_int_equal(cli_table_rows(t), c->nrows);
		char *got = print(t);
		if (strcmp(got, c->want) != 0)
			fail_msg("%s: got\n%s\nwant\n%s", c->name, got, c->want);
		free(got);
		cli_table_free(t);
	}
}

/* A long value widens its column for every row, not only its own. */
static void test_long_value(void **state)
{
	char lng[301], want[1024];

	(void)state;
	memset(lng, 'v', 300);
	lng[300] = '\0';
	struct cli_table *t = cli_table_new(2);
	assert_non_null(t);
	const char *h[] = {"K", "V"}, *r1[] = {lng, "end"}, *r2[] = {"k", "x"};
	assert_int_equal(cli_table_add(t, h), 0);
	assert_int_equal(cli_table_add(t, r1), 0);
	assert_int_equal(cli_table_add(t, r2), 0);
	char *got = print(t);
	/* Each line: the first cell padded to 300 + 2 characters. */
	int n = snprintf(want, sizeof(want), "K%301sV\n%s  end\nk%301sx\n", "", lng, "");
	assert_true(n > 0 && (size_t)n < sizeof(want));
	assert_string_equal(got, want);
	free(got);
	cli_table_free(t);
}

/* Rows are copied: the caller's strings may change after cli_table_add. */
static void test_cells_copied(void **state)
{
	char cell[8] = "before";

	(void)state;
	struct cli_table *t = cli_table_new(1);
	assert_non_null(t);
	const char *row[] = {cell};
	assert_int_equal(cli_table_add(t, row), 0);
	memcpy(cell, "AFTER!", 7);
	char *got = print(t);
	assert_string_equal(got, "before\n");
	free(got);
	cli_table_free(t);
}

/* Past the first allocation (16 rows): every row kept, in order. */
static void test_many_rows(void **state)
{
	char cell[32], want[64];

	(void)state;
	struct cli_table *t = cli_table_new(2);
	assert_non_null(t);
	for (int i = 0; i < 1000; i++) {
		snprintf(cell, sizeof(cell), "n%d", i);
		const char *row[] = {cell, "x"};
		assert_int_equal(cli_table_add(t, row), 0);
	}
	assert_int_equal(cli_table_rows(t), 1000);
	char *got = print(t);
	/* Column 1 is as wide as "n999": 4 characters + 2. */
	assert_memory_equal(got, "n0    x\nn1    x\n", 16);
	snprintf(want, sizeof(want), "n999  x\n");
	assert_string_equal(got + strlen(got) - strlen(want), want);
	size_t lines = 0;
	for (const char *p = got; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1000);
	free(got);
	cli_table_free(t);
}

/* No rows: nothing at all is printed (callers add the header themselves). */
static void test_empty(void **state)
{
	(void)state;
	struct cli_table *t = cli_table_new(3);
	assert_non_null(t);
	assert_int_equal(cli_table_rows(t), 0);
	char *got = print(t);
	assert_string_equal(got, "");
	free(got);
	cli_table_free(t);
	cli_table_free(NULL); /* a no-op */
}

/* A stream that cannot be written: -EIO, not silence. */
static void test_write_error(void **state)
{
	(void)state;
	struct cli_table *t = cli_table_new(1);
	assert_non_null(t);
	const char *row[] = {"x"};
	assert_int_equal(cli_table_add(t, row), 0);
	FILE *f = fopen("/dev/null", "r");
	assert_non_null(f);
	assert_int_equal(cli_table_print(t, f), -EIO);
	fclose(f);
	cli_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),       cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_cells_copied), cmocka_unit_test(test_many_rows),
		cmocka_unit_test(test_empty),        cmocka_unit_test(test_write_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
