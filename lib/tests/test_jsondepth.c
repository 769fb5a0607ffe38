/*
 * Unit tests for jsondepth: the byte-level nesting count that runs before
 * jansson on every request body.  Table rows for the lexical cases
 * (brackets in strings, escapes, garbage), generated texts for the limit
 * itself, and the time of a hostile body.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "jsondepth.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct jd_case {
	const char *text;
	unsigned max;
	int rc;
	size_t line;       /* when refused */
	const char *field; /* when refused */
};

static const struct jd_case jd_cases[] = {
	{"", 2, 0, 0, NULL},
	{"{}", 1, 0, 0, NULL},
	{"{}", 0, -E2BIG, 1, ""},
	{"[[]]", 2, 0, 0, NULL},
	{"[[[]]]", 2, -E2BIG, 1, "[0]"},
	{"[1, 2, [[3]]]", 2, -E2BIG, 1, "[2]"},
	{"{\"a\": 1, \"metadata\": {\"b\": [1]}}", 2, -E2BIG, 1, "metadata"},
	{"{\"a\": 1, \"metadata\": {\"b\": [1]}}", 3, 0, 0, NULL},
	{"{\"a\":{},\n\"b\":\n{\"c\":\n[]}}", 2, -E2BIG, 4, "b"},
	/* Brackets inside strings do not count, escaped quotes do not end them. */
	{"[\"[[[[{{{{\"]", 1, 0, 0, NULL},
	{"[\"\\\"[[[[\"]", 1, 0, 0, NULL},
	{"[\"\\\\\", [[1]]]", 2, -E2BIG, 1, "[1]"},
	{"{\"k[{\": [[1]]}", 2, -E2BIG, 1, "k[{"},
	/* A key with an escape is not named (it would be named wrongly). */
	{"{\"a\\\"b\": [[1]]}", 2, -E2BIG, 1, ""},
	/* A value string is not a key. */
	{"{\"a\": \"x\", \"b\": [[1]]}", 2, -E2BIG, 1, "b"},
	/* Garbage: closers without openers do not go below zero. */
	{"]]]]}}}}[[[", 2, -E2BIG, 1, "[0]"},
	{"]]]]}}}}[[", 2, 0, 0, NULL},
	{"\"unterminated [[[[", 1, 0, 0, NULL},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(jd_cases); i++) {
		const struct jd_case *c = &jd_cases[i];
		struct jsondepth_where w = {0};
		int rc = jsondepth_check(c->text, strlen(c->text), c->max, &w);
		if (rc != c->rc)
			fail_msg("case %zu \"%s\" (max %u): rc %d, want %d", i, c->text, c->max, rc,
				 c->rc);
		if (rc == 0)
			continue;
		if (w.line != c->line)
			fail_msg("case %zu: line %zu, want %zu", i, w.line, c->line);
		if (strcmp(w.field, c->field) != 0)
			fail_msg("case %zu: field \"%s\", want \"%s\"", i, w.field, c->field);
	}
}

/* n levels of arrays (kind 0) or objects (kind 1) around a 1. */
static char *nested(unsigned n, int kind, size_t *len)
{
	size_t cap = (size_t)n * 8 + 64;
	char *s = malloc(cap);
	size_t k = 0;
	if (s == NULL)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		k += (size_t)snprintf(s + k, cap - k, "%s", kind ? "{\"k\":" : "[");
	s[k++] = '1';
	for (unsigned i = 0; i < n; i++)
		s[k++] = kind ? '}' : ']';
	s[k] = '\0';
	*len = k;
	return s;
}

static void test_limit_is_exact(void **state)
{
	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		for (unsigned n = 0; n <= JSONDEPTH_MAX + 3; n++) {
			size_t len = 0;
			char *s = nested(n, kind, &len);
			assert_non_null(s);
			struct jsondepth_where w;
			int rc = jsondepth_check(s, len, JSONDEPTH_MAX, &w);
			if (rc != (n <= JSONDEPTH_MAX ? 0 : -E2BIG))
				fail_msg("%u levels of %s: rc %d", n, kind ? "objects" : "arrays",
					 rc);
			if (rc < 0 && strcmp(w.field, kind ? "k" : "[0]") != 0)
				fail_msg("%u levels: field \"%s\"", n, w.field);
			free(s);
		}
	}
}

/* A 1 MiB body of '[' is refused at byte 64, not after reading it all. */
static void test_hostile_body_is_cheap(void **state)
{
	(void)state;
	size_t len = 1 << 20;
	char *s = malloc(len);
	assert_non_null(s);
	memset(s, '[', len);
	struct jsondepth_where w;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(jsondepth_check(s, len, JSONDEPTH_MAX, &w), -E2BIG);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(w.offset, JSONDEPTH_MAX);
	/* Generous: the point is "not proportional to the body". */
	double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	assert_true(ms < 50.0);
	/* A long flat body is read to its end and passes. */
	memset(s, ' ', len);
	s[0] = '[';
	s[len - 1] = ']';
	assert_int_equal(jsondepth_check(s, len, JSONDEPTH_MAX, NULL), 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_limit_is_exact),
		cmocka_unit_test(test_hostile_body_is_cheap),
	};

	return cmocka_run_group_tests_name("jsondepth", tests, NULL, NULL) != 0;
}
