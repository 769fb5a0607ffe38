/*
 * Unit tests for cli_yaml, the YAML reader of `corral node import`: how
 * plain and quoted scalars are typed (integers, booleans, null, strings that
 * look like numbers or MACs), block and flow collections nested as written,
 * anchors and aliases, only the first document read, and every refusal
 * with "line N: why" naming the right line: syntax errors, duplicate keys,
 * non-scalar keys, NUL in a key, undefined aliases, invalid UTF-8, an empty
 * file, nesting past 64 levels, a self-referencing anchor and alias
 * expansion past a million values ("billion laughs").
 *
 * Each case compares with json_equal, which tells 1 from "1" and from 1.0,
 * so a type that changes fails.  Not covered: out of memory.  Explicit tags
 * (!!str, !!int) and merge keys (<<) are not interpreted by the module; the
 * header does not promise them, so nothing here pins them.
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

#include "buf.h"
#include "cli_yaml.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct yaml_case {
	const char *yaml;
	const char *json; /* the value wanted, as JSON text */
};

static const struct yaml_case ok_cases[] = {
	/* integers: optional sign, decimal digits only, never octal */
	{"a: 1", "{\"a\": 1}"},
	{"a: -12", "{\"a\": -12}"},
	{"a: +7", "{\"a\": 7}"},
	{"a: 007", "{\"a\": 7}"},
	{"a: -0", "{\"a\": 0}"},
	{"a: 9223372036854775807", "{\"a\": 9223372036854775807}"},
	{"a: -9223372036854775808", "{\"a\": -9223372036854775808}"},
	/* out of range: the digits kept as a string, nothing lost */
	{"a: 9223372036854775808", "{\"a\": \"9223372036854775808\"}"},
	{"a: 99999999999999999999", "{\"a\": \"99999999999999999999\"}"},
	/* not decimal integers: strings (no floats, hex, octal, sexagesimal) */
	{"a: 1.5", "{\"a\": \"1.5\"}"},
	{"a: 1e3", "{\"a\": \"1e3\"}"},
	{"a: 0x10", "{\"a\": \"0x10\"}"},
	{"a: 0o17", "{\"a\": \"0o17\"}"},
	{"a: 1_000", "{\"a\": \"1_000\"}"},
	{"a: .inf", "{\"a\": \".inf\"}"},
	{"a: 12:30", "{\"a\": \"12:30\"}"},
	{"a: 52:54:00:12:34:56", "{\"a\": \"52:54:00:12:34:56\"}"},
	{"a: 525400123456", "{\"a\": 525400123456}"},
	{"a: 10.0.0.1", "{\"a\": \"10.0.0.1\"}"},
	{"a: 2026-01-01", "{\"a\": \"2026-01-01\"}"},
	/* quoted: always strings */
	{"a: '1'", "{\"a\": \"1\"}"},
	{"a: \"1\"", "{\"a\": \"1\"}"},
	{"a: '007'", "{\"a\": \"007\"}"},
	{"a: 'true'", "{\"a\": \"true\"}"},
	{"a: \"null\"", "{\"a\": \"null\"}"},
	{"a: '~'", "{\"a\": \"~\"}"},
	{"a: ''", "{\"a\": \"\"}"},
	/* booleans: the core schema's spellings only */
	{"a: true", "{\"a\": true}"},
	{"a: True", "{\"a\": true}"},
	{"a: TRUE", "{\"a\": true}"},
	{"a: false", "{\"a\": false}"},
	{"a: False", "{\"a\": false}"},
	{"a: FALSE", "{\"a\": false}"},
	{"a: yes", "{\"a\": \"yes\"}"},
	{"a: no", "{\"a\": \"no\"}"},
	{"a: on", "{\"a\": \"on\"}"},
	{"a: tRUE", "{\"a\": \"tRUE\"}"},
	/* null: null, Null, NULL, ~ and nothing */
	{"a: null", "{\"a\": null}"},
	{"a: Null", "{\"a\": null}"},
	{"a: NULL", "{\"a\": null}"},
	{"a: ~", "{\"a\": null}"},
	{"a:", "{\"a\": null}"},
	{"a: nULL", "{\"a\": \"nULL\"}"},
	/* block scalars are not plain: text, newlines as YAML says */
	{"a: |\n  42\n  x\n", "{\"a\": \"42\\nx\\n\"}"},
	{"a: >\n  folded\n  text\n", "{\"a\": \"folded text\\n\"}"},
	{"a: |-\n  true\n", "{\"a\": \"true\"}"},
	/* strings */
	{"a: hello world", "{\"a\": \"hello world\"}"},
	{"a: caf\xc3\xa9", "{\"a\": \"caf\xc3\xa9\"}"},
	{"a: \"\\u00e9\\t\"", "{\"a\": \"\xc3\xa9\\t\"}"},
	{"a: console=ttyS0 quiet", "{\"a\": \"console=ttyS0 quiet\"}"},
	{"key: value\n  - x\n", "{\"key\": \"value - x\"}"},
	/* keys are text, whatever they look like */
	{"1: a\nnull: b\ntrue: c\n~: d\n",
	 "{\"1\": \"a\", \"null\": \"b\", \"true\": \"c\", \"~\": \"d\"}"},
	/* top-level values of every kind */
	{"- a\n- 2\n", "[\"a\", 2]"},
	{"42", "42"},
	{"just text", "\"just text\""},
	{"[]", "[]"},
	{"{}", "{}"},
	/* nesting, block and flow */
	{"- [1, [2, [3]]]\n- {a: {b: {c: [x]}}}\n- []\n- {}\n",
	 "[[1, [2, [3]]], {\"a\": {\"b\": {\"c\": [\"x\"]}}}, [], {}]"},
	{"nodes:\n"
	 "  - name: n1\n"
	 "    nid: 1\n"
	 "    interfaces:\n"
	 "      - mac: \"52:54:00:00:00:01\"\n"
	 "        ip: 10.0.0.1\n"
	 "      - mac: 52:54:00:00:00:02\n"
	 "    groups: [compute, gpu]\n"
	 "    enabled: false\n"
	 "    profile: ~\n"
	 "    metadata: {rack: 3, row: \"3\"}\n"
	 "  - name: '2'\n"
	 "    nid: 2\n",
	 "{\"nodes\": [{\"name\": \"n1\", \"nid\": 1, \"interfaces\": [{\"mac\": "
	 "\"52:54:00:00:00:01\", \"ip\": \"10.0.0.1\"}, {\"mac\": \"52:54:00:00:00:02\"}], "
	 "\"groups\": [\"compute\", \"gpu\"], \"enabled\": false, \"profile\": null, "
	 "\"metadata\": {\"rack\": 3, \"row\": \"3\"}}, {\"name\": \"2\", \"nid\": 2}]}"},
	/* JSON is YAML: an import file in JSON syntax reads the same */
	{"{\"a\": [1, \"1\", true, null, {\"b\": -2}]}",
	 "{\"a\": [1, \"1\", true, null, {\"b\": -2}]}"},
	/* anchors and aliases are followed (each alias a full copy) */
	{"base: &b {arch: x86_64, groups: [a]}\nn1: *b\nn2: *b\n",
	 "{\"base\": {\"arch\": \"x86_64\", \"groups\": [\"a\"]}, \"n1\": {\"arch\": "
	 "\"x86_64\", \"groups\": [\"a\"]}, \"n2\": {\"arch\": \"x86_64\", \"groups\": [\"a\"]}}"},
	{"- &x 5\n- *x\n", "[5, 5]"},
	/* only the first document is read */
	{"a: 1\n---\nb: 2\n", "{\"a\": 1}"},
	{"---\na: 1\n...\n", "{\"a\": 1}"},
	{"# comment\na: 1 # trailing\n\n", "{\"a\": 1}"},
};

static void test_convert(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ok_cases); i++) {
		const struct yaml_case *c = &ok_cases[i];
		json_t *got = NULL;
		char err[256] = "";
		json_error_t jerr;
		json_t *want = json_loads(c->json, JSON_DECODE_ANY, &jerr);

		if (want == NULL)
			fail_msg("case %zu: bad expected JSON: %s", i, jerr.text);
		int rc = cli_yaml_to_json(c->yaml, strlen(c->yaml), &got, err, sizeof(err));
		if (rc != 0)
			fail_msg("\"%s\": rc %d (%s), want 0", c->yaml, rc, err);
		if (!json_equal(got, want)) {
			char *s = json_dumps(got, JSON_ENCODE_ANY);
			fail_msg("\"%s\": got %s, want %s", c->yaml, s, c->json);
		}
		json_decref(got);
		json_decref(want);
	}
}

/* Types, one by one: json_equal alone would not say which changed. */
static void test_types(void **state)
{
	static const char text[] = "i: 42\ns: '42'\nb: true\nn: ~\nf: 4.2\n";
	json_t *j = NULL;
	char err[128];

	(void)state;
	assert_int_equal(cli_yaml_to_json(text, strlen(text), &j, err, sizeof(err)), 0);
	assert_true(json_is_integer(json_object_get(j, "i")));
	assert_int_equal(json_integer_value(json_object_get(j, "i")), 42);
	assert_true(json_is_string(json_object_get(j, "s")));
	assert_true(json_is_true(json_object_get(j, "b")));
	assert_true(json_is_null(json_object_get(j, "n")));
	assert_true(json_is_string(json_object_get(j, "f")));
	assert_int_equal(json_object_size(j), 5);
	json_decref(j);
}

/* The length given is the input: bytes after it are not read. */
static void test_length(void **state)
{
	static const char text[] = "a: 12345";
	json_t *j = NULL;
	char err[128];

	(void)state;
	assert_int_equal(cli_yaml_to_json(text, 6, &j, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 123);
	json_decref(j);
}

/* A NUL inside a quoted value is kept (the server judges it). */
static void test_nul_in_value(void **state)
{
	static const char text[] = "a: \"x\\0y\"\n";
	json_t *j = NULL;
	char err[128];

	(void)state;
	assert_int_equal(cli_yaml_to_json(text, strlen(text), &j, err, sizeof(err)), 0);
	assert_int_equal(json_string_length(json_object_get(j, "a")), 3);
	assert_memory_equal(json_string_value(json_object_get(j, "a")), "x\0y", 3);
	json_decref(j);
}

struct bad_case {
	const char *yaml;
	const char *err; /* the whole message, or its start when it ends in '*' */
};

static const struct bad_case bad_cases[] = {
	{"a: 1\nb: 2\n  c: 3\n", "line 3: mapping values are not allowed in this context"},
	{"a: 1\nb: [1, 2\nc: 3\n", "line 3: did not find expected ',' or ']'*"},
	{"a: 1\n\tb: 2\n", "line 2: found a tab character*"},
	{"a: 1\n]\n", "line 2: did not find expected key*"},
	{"- a\n- b\nc: d\n", "line 3: *"},
	{"a: \xff\n", "line 1: invalid leading UTF-8 octet"},
	{"a: *nope\n", "line 1: found undefined alias"},
	/* the module's own checks */
	{"a: 1\nb: 2\na: 3\n", "line 3: duplicate key 'a'"},
	{"'a': 1\na: 2\n", "line 2: duplicate key 'a'"},
	{"x:\n  y: 1\n  y: 2\n", "line 3: duplicate key 'y'"},
	{"? [a, b]\n: 1\n", "line 1: a mapping key must be a scalar"},
	{"a: 1\n? {k: v}\n: 1\n", "line 2: a mapping key must be a scalar"},
	{"\"a\\0b\": 1\n", "line 1: NUL character in a key"},
	{"a: &a [*a]\n", "line 1: nested deeper than 64 levels"},
	{"", "line 1: no document"},
	{"# nothing but a comment\n\n", "line 1: no document"},
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		json_t *got = NULL;
		char err[256];

		memset(err, 'X', sizeof(err));
		int rc = cli_yaml_to_json(c->yaml, strlen(c->yaml), &got, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("\"%s\": rc %d, want -EINVAL", c->yaml, rc);
		if (memchr(err, '\0', sizeof(err)) == NULL)
			fail_msg("\"%s\": err not NUL-terminated", c->yaml);
		size_t n = strlen(c->err);
		int match = c->err[n - 1] == '*' ? strncmp(err, c->err, n - 1) == 0 :
						   strcmp(err, c->err) == 0;
		if (!match)
			fail_msg("\"%s\": err \"%s\", want \"%s\"", c->yaml, err, c->err);
		if (strchr(err, '\n') != NULL)
			fail_msg("\"%s\": err is more than one line", c->yaml);
	}
}

/* [[[...]]]: the root and 64 levels below it pass, one more does not. */
static int nested(int levels, char *err, size_t errlen)
{
	char text[300];
	json_t *j = NULL;

	assert_true(levels * 2 < (int)sizeof(text));
	memset(text, '[', (size_t)levels);
	memset(text + levels, ']', (size_t)levels);
	int rc = cli_yaml_to_json(text, (size_t)levels * 2, &j, err, errlen);
	json_decref(j);
	return rc;
}

static void test_depth(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(nested(65, err, sizeof(err)), 0);
	assert_int_equal(nested(66, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 1: nested deeper than 64 levels");
}

/* 100k '[' are refused at the 66th, before libyaml's loader (which took
   half a minute on them) runs: the bound only says "does not hang". */
static void test_depth_refused_early(void **state)
{
	size_t n = 100000;
	char *text = malloc(n);
	char err[128];
	json_t *j = NULL;
	struct timespec a, b;

	(void)state;
	assert_non_null(text);
	memset(text, '[', n);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(cli_yaml_to_json(text, n, &j, err, sizeof(err)), -EINVAL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_null(j);
	assert_string_equal(err, "line 1: nested deeper than 64 levels");
	assert_true(b.tv_sec - a.tv_sec < 2);
	free(text);
}

/* "Billion laughs": aliases of aliases, each counted every time it is
   copied.  Five levels (about 111,000 values) pass; seven (10^7) fail. */
static int laughs(int levels, char *err, size_t errlen)
{
	struct buf b;
	json_t *j = NULL;

	buf_init(&b, 1 << 16);
	assert_int_equal(buf_adds(&b, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"), 0);
	for (int i = 1; i < levels; i++) {
		assert_int_equal(buf_printf(&b, "l%d: &l%d [", i, i), 0);
		for (int k = 0; k < 10; k++)
			assert_int_equal(buf_printf(&b, "%s*l%d", k ? ", " : "", i - 1), 0);
		assert_int_equal(buf_adds(&b, "]\n"), 0);
	}
	int rc = cli_yaml_to_json(buf_str(&b), b.len, &j, err, errlen);
	json_decref(j);
	buf_clear(&b);
	return rc;
}

static void test_alias_bomb(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(laughs(5, err, sizeof(err)), 0);
	assert_int_equal(laughs(7, err, sizeof(err)), -EINVAL);
	/* The line is the aliased node's (libyaml keeps one node per anchor). */
	assert_memory_equal(err, "line ", 5);
	assert_non_null(strstr(err, ": more than 1000000 values (aliases count each time)"));
}

/* A short err buffer: the message is cut but still a terminated string
   that starts with the line. */
static void test_short_err(void **state)
{
	static const char syntax[] = "a: 1\nb: 2\n  c: 3\n";
	static const char dup[] = "a: 1\na: 2\n";
	json_t *j = NULL;
	char err[16];

	(void)state;
	memset(err, 'X', sizeof(err));
	assert_int_equal(cli_yaml_to_json(syntax, strlen(syntax), &j, err, 10), -EINVAL);
	assert_string_equal(err, "line 3: m");
	assert_int_equal(err[10], 'X'); /* nothing written past errlen */
	memset(err, 'X', sizeof(err));
	assert_int_equal(cli_yaml_to_json(dup, strlen(dup), &j, err, 12), -EINVAL);
	assert_string_equal(err, "line 2: dup");
	assert_int_equal(err[12], 'X');
}

/*
 * A bug found here, fixed: libyaml reports reader errors (invalid UTF-8,
 * control characters) with problem_offset, not problem_mark, so every such
 * error said "line 1" wherever the bad byte was.
 */
static void test_reader_error_line(void **state)
{
	static const struct bad_case cases[] = {
		{"a: 1\nb: 2\nc: 3\nd: \xff\n", "line 4: invalid leading UTF-8 octet"},
		{"a: 1\nb: caf\xc3\n", "line 2: invalid trailing UTF-8 octet"},
		{"a: 1\nb: 2\nc: \x01\n", "line 3: control characters are not allowed"},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		json_t *got = NULL;
		char err[256] = "";

		assert_int_equal(cli_yaml_to_json(cases[i].yaml, strlen(cases[i].yaml), &got, err,
						  sizeof(err)),
				 -EINVAL);
		if (strcmp(err, cases[i].err) != 0)
			fail_msg("case %zu: err \"%s\", want \"%s\"", i, err, cases[i].err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_nul_in_value),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_depth_refused_early),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_short_err),
	};
	const struct CMUnitTest fixed_bugs[] = {
		/* found by these tests, fixed since */
		cmocka_unit_test(test_reader_error_line),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	rc += cmocka_run_group_tests_name("fixed bugs", fixed_bugs, NULL, NULL);
	return rc;
}
