/*
 * Unit tests for build's pure part: the apt source lines taken from a
 * deb822 sources file (the suite and its -updates/-security, deb only,
 * default component), and a stanza with a field too long to hold is
 * skipped rather than used cut.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "build.h"

static void expect_sources(const char *text, const char *suite, const char *want)
{
	struct buf out;
	buf_init(&out, 65536);
	assert_int_equal(build_sources_from_deb822(text, suite, &out), 0);
	assert_string_equal(buf_str(&out), want);
	buf_clear(&out);
}

static void test_deb822(void **state)
{
	(void)state;
	expect_sources("Types: deb\nURIs: http://a/debian\nSuites: bookworm bookworm-updates "
		       "trixie\nComponents: main contrib\n\n"
		       "Types: deb-src\nURIs: http://src/debian\nSuites: bookworm\n\n"
		       "# a comment\nTypes: deb\nURIs: http://b/sec http://c/sec\n"
		       "Suites: bookworm-security\n",
		       "bookworm",
		       "deb http://a/debian bookworm main contrib\n"
		       "deb http://a/debian bookworm-updates main contrib\n"
		       "deb http://b/sec bookworm-security main\n"
		       "deb http://c/sec bookworm-security main\n");
	expect_sources("Types: deb\nURIs: http://a/debian\nSuites: bookworm\n", "trixie", "");
}

/* A URIs field longer than the parser holds: that stanza gives nothing. */
static void test_deb822_long_field(void **state)
{
	(void)state;
	char text[4096];
	char uri[2000];
	memset(uri, 'u', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	int n = snprintf(text, sizeof(text),
			 "Types: deb\nURIs: http://%s\nSuites: bookworm\n\n"
			 "Types: deb\nURIs: http://ok/debian\nSuites: bookworm\n",
			 uri);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	expect_sources(text, "bookworm", "deb http://ok/debian bookworm main\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deb822),
		cmocka_unit_test(test_deb822_long_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
