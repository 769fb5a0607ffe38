/*
 * Unit tests for cli_out, how the CLI prints what the server sent:
 * cli_out_value (every JSON type, arrays joined with ",", nulls skipped,
 * sub-members of arrays of objects, the buffer's cap), cli_out_array (bare
 * or wrapped list), cli_out_list (header row, VALUE/COUNT/YESNO columns,
 * missing fields as "-", an empty list printing the header alone, control
 * characters replaced, -EINVAL when there is no list), cli_out_show (keys
 * aligned, multi-line values indented, arrays of objects one per line,
 * null and "" as "-", a trailing newline dropped, tabs kept, other control
 * characters replaced) and cli_out_json (two-space indent, any value).
 *
 * stdout is redirected to a temporary file around each call.  Not covered:
 * write errors on stdout (-EIO) and out of memory.  Reals print in the
 * shortest form that reads back as the same number.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_out.h"

#define CAPTURE_STREAMS CAPTURE_STDOUT /* only stdout is checked here */
#define CAPTURE_OUT_LEN 65536
#include "capture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- cli_out_value ---------------------------------------------------- */

struct value_case {
	const char *json; /* NULL: a missing value */
	const char *sub;
	const char *want;
};

static const struct value_case value_cases[] = {
	{NULL, NULL, ""},
	{"null", NULL, ""},
	{"\"text\"", NULL, "text"},
	{"\"\"", NULL, ""},
	{"\"a\\nb\"", NULL, "a\nb"},
	{"42", NULL, "42"},
	{"-7", NULL, "-7"},
	{"9223372036854775807", NULL, "9223372036854775807"},
	{"1.5", NULL, "1.5"},
	{"1234567.5", NULL, "1234567.5"},
	{"0.1", NULL, "0.1"},
	{"1e-07", NULL, "1e-07"},
	{"1e300", NULL, "1e+300"},
	{"0.30000000000000004", NULL, "0.30000000000000004"},
	{"true", NULL, "true"},
	{"false", NULL, "false"},
	{"[]", NULL, ""},
	{"[\"a\", \"b\", \"c\"]", NULL, "a,b,c"},
	{"[1, null, 2]", NULL, "1,2"},
	{"[null, \"x\"]", NULL, "x"},
	{"[true, 3, \"s\"]", NULL, "true,3,s"},
	{"[[1, 2], {\"k\": \"v\"}]", NULL, "[1,2],{\"k\":\"v\"}"},
	{"{\"rack\": 3, \"row\": \"a\"}", NULL, "{\"rack\":3,\"row\":\"a\"}"},
	{"{}", NULL, "{}"},
	/* sub: a member of each element, or of the object */
	{"[{\"mac\": \"m1\", \"ip\": \"i1\"}, {\"mac\": \"m2\"}]", "mac", "m1,m2"},
	{"[{\"mac\": \"m1\", \"ip\": \"i1\"}, {\"mac\": \"m2\"}]", "ip", "i1"},
	{"[{\"mac\": \"m1\", \"ip\": null}, {\"mac\": \"m2\", \"ip\": \"i2\"}]", "ip", "i2"},
	{"[{\"n\": 1}, \"scalar\", {\"n\": 2}]", "n", "1,2"},
	{"{\"mac\": \"m1\"}", "mac", "m1"},
	{"{\"mac\": \"m1\"}", "ip", ""},
	{"\"scalar\"", "mac", ""},
	{"[]", "mac", ""},
};

static void test_value(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(value_cases); i++) {
		const struct value_case *c = &value_cases[i];
		json_t *v = c->json != NULL ? parse(c->json) : NULL;
		struct buf b;

		buf_init(&b, 4096);
		assert_int_equal(buf_adds(&b, ">"), 0); /* appends, never resets */
		int rc = cli_out_value(&b, v, c->sub);
		if (rc != 0)
			fail_msg("%s (sub %s): rc %d", c->json, c->sub, rc);
		if (strcmp(buf_str(&b) + 1, c->want) != 0 || buf_str(&b)[0] != '>')
			fail_msg("%s (sub %s): \"%s\", want \">%s\"", c->json, c->sub, buf_str(&b),
				 c->want);
		buf_clear(&b);
		json_decref(v);
	}
}

/* The buffer's cap is the caller's: an overlong value is -E2BIG. */
static void test_value_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	json_t *v = parse("\"12345\"");
	assert_int_equal(cli_out_value(&b, v, NULL), -E2BIG);
	json_decref(v);
	v = parse("[\"ab\", \"cd\"]");
	assert_int_equal(cli_out_value(&b, v, NULL), -E2BIG);
	json_decref(v);
	buf_clear(&b);
}

/* ---- cli_out_array ---------------------------------------------------- */

static void test_array(void **state)
{
	(void)state;
	json_t *bare = parse("[1]");
	json_t *wrapped = parse("{\"nodes\": [1, 2], \"total\": 2}");
	json_t *notlist = parse("{\"nodes\": {\"a\": 1}}");

	assert_ptr_equal(cli_out_array(bare, "nodes"), bare);
	assert_ptr_equal(cli_out_array(bare, NULL), bare);
	assert_ptr_equal(cli_out_array(wrapped, "nodes"), json_object_get(wrapped, "nodes"));
	assert_null(cli_out_array(wrapped, NULL));
	assert_null(cli_out_array(wrapped, "groups"));
	assert_null(cli_out_array(notlist, "nodes"));
	assert_null(cli_out_array(NULL, "nodes"));
	json_decref(bare);
	json_decref(wrapped);
	json_decref(notlist);
}

/* ---- cli_out_list ----------------------------------------------------- */

static const struct cli_col cols[] = {
	{"NAME", "name", NULL, CLI_COL_VALUE},       {"NID", "nid", NULL, CLI_COL_VALUE},
	{"ENABLED", "enabled", NULL, CLI_COL_YESNO}, {"GROUPS", "groups", NULL, CLI_COL_VALUE},
	{"N", "members", NULL, CLI_COL_COUNT},       {"MAC", "interfaces", "mac", CLI_COL_VALUE},
	{"IP", "interfaces", "ip", CLI_COL_VALUE},
};

struct list_case {
	const char *name;
	const char *json;
	const char *member;
	int rc;
	const char *want;
};

static const struct list_case list_cases[] = {
	{"every column kind",
	 "[{\"name\": \"n1\", \"nid\": 1, \"enabled\": true, \"groups\": [\"a\", \"b\"], "
	 "\"members\": [1, 2, 3], \"interfaces\": [{\"mac\": \"m:1\", \"ip\": \"10.0.0.1\"}, "
	 "{\"mac\": \"m:2\"}]},"
	 " {\"name\": \"node-two\", \"nid\": 22, \"enabled\": false, \"groups\": [], "
	 "\"members\": [], \"interfaces\": []}]",
	 NULL, 0,
	 "NAME      NID  ENABLED  GROUPS  N  MAC      IP\n"
	 "n1        1    yes      a,b     3  m:1,m:2  10.0.0.1\n"
	 "node-two  22   no       -       0  -        -\n"},
	{"missing and mistyped fields print as -",
	 "[{\"name\": \"x\", \"enabled\": \"yes\", \"members\": 3}, {}, 7]", NULL, 0,
	 "NAME  NID  ENABLED  GROUPS  N  MAC  IP\n"
	 "x     -    -        -       -  -    -\n"
	 "-     -    -        -       -  -    -\n"
	 "-     -    -        -       -  -    -\n"},
	{"wrapped in an object", "{\"nodes\": [{\"name\": \"w\"}], \"total\": 1}", "nodes", 0,
	 "NAME  NID  ENABLED  GROUPS  N  MAC  IP\n"
	 "w     -    -        -       -  -    -\n"},
	{"an empty list: the header alone", "[]", NULL, 0,
	 "NAME  NID  ENABLED  GROUPS  N  MAC  IP\n"},
	{"an empty wrapped list: the header alone", "{\"nodes\": []}", "nodes", 0,
	 "NAME  NID  ENABLED  GROUPS  N  MAC  IP\n"},
	{"server text cannot drive the terminal", "[{\"name\": \"a\\u001b[2Jb\\r\\n\"}]", NULL, 0,
	 "NAME      NID  ENABLED  GROUPS  N  MAC  IP\n"
	 "a?[2Jb??  -    -        -       -  -    -\n"},
	{"UTF-8 names align", "[{\"name\": \"n\\u00e9\\u00e9\"}, {\"name\": \"abcd\"}]", NULL, 0,
	 "NAME  NID  ENABLED  GROUPS  N  MAC  IP\n"
	 "n\xc3\xa9\xc3\xa9   -    -        -       -  -    -\n"
	 "abcd  -    -        -       -  -    -\n"},
	{"not a list", "{\"name\": \"x\"}", "nodes", -EINVAL, ""},
	{"a list under another member", "{\"groups\": []}", "nodes", -EINVAL, ""},
	{"a string", "\"nodes\"", "nodes", -EINVAL, ""},
};

static void test_list(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(list_cases); i++) {
		const struct list_case *c = &list_cases[i];
		json_t *j = parse(c->json);

		capture_start();
		int rc = cli_out_list(cols, NELEM(cols), j, c->member);
		const char *out = capture_end();
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d", c->name, rc, c->rc);
		if (strcmp(out, c->want) != 0)
			fail_msg("%s: got\n%s\nwant\n%s", c->name, out, c->want);
		json_decref(j);
	}
	/* No reply at all is "no list" too. */
	capture_start();
	int rc = cli_out_list(cols, NELEM(cols), NULL, "nodes");
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(capture_end(), "");
}

/* ---- cli_out_show ----------------------------------------------------- */

struct show_case {
	const char *name;
	const char *json;
	int rc;
	const char *want;
};

static const struct show_case show_cases[] = {
	{"keys aligned on the longest plus two",
	 "{\"name\": \"n1\", \"nid\": 5, \"interfaces\": [], \"enabled\": true}", 0,
	 "name        n1\n"
	 "nid         5\n"
	 "interfaces  -\n"
	 "enabled     true\n"},
	{"null, empty string and empty array as -",
	 "{\"a\": null, \"b\": \"\", \"c\": [], \"d\": [null]}", 0,
	 "a  -\n"
	 "b  -\n"
	 "c  -\n"
	 "d  -\n"},
	{"arrays of scalars joined, objects compact",
	 "{\"groups\": [\"a\", \"b\"], \"metadata\": {\"rack\": 3}, \"r\": 1.5}", 0,
	 "groups    a,b\n"
	 "metadata  {\"rack\":3}\n"
	 "r         1.5\n"},
	{"an array of objects: one element per line, k=v, nulls left out",
	 "{\"interfaces\": [{\"mac\": \"m1\", \"ip\": \"10.0.0.1\"}, {\"mac\": \"m2\", \"ip\": "
	 "null}], \"x\": 1}",
	 0,
	 "interfaces  mac=m1 ip=10.0.0.1\n"
	 "            mac=m2\n"
	 "x           1\n"},
	{"multi-line text indented, its final newline dropped",
	 "{\"user_data\": \"#cloud-config\\nruncmd: []\\n\", \"id\": 1}", 0,
	 "user_data  #cloud-config\n"
	 "           runcmd: []\n"
	 "id         1\n"},
	{"a lone newline is an empty value", "{\"k\": \"\\n\"}", 0, "k  -\n"},
	{"blank lines inside text are kept", "{\"k\": \"a\\n\\nb\"}", 0,
	 "k  a\n"
	 "   \n"
	 "   b\n"},
	{"tabs kept, other control characters replaced",
	 "{\"k\\u001b\": \"a\\tb\\rc\\u001b[31md\\u007f\"}", 0, "k?  a\tb?c?[31md?\n"},
	{"an empty object prints nothing", "{}", 0, ""},
	{"not an object", "[{\"a\": 1}]", -EINVAL, ""},
	{"a string", "\"x\"", -EINVAL, ""},
};

static void test_show(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(show_cases); i++) {
		const struct show_case *c = &show_cases[i];
		json_t *j = parse(c->json);

		capture_start();
		int rc = cli_out_show(j);
		const char *out = capture_end();
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d", c->name, rc, c->rc);
		if (strcmp(out, c->want) != 0)
			fail_msg("%s: got\n%s\nwant\n%s", c->name, out, c->want);
		json_decref(j);
	}
	capture_start();
	int rc = cli_out_show(NULL);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(capture_end(), "");
}

/* ---- cli_out_json ----------------------------------------------------- */

static void test_json(void **state)
{
	(void)state;
	json_t *j = parse("{\"b\": [1, {\"c\": null}], \"a\": \"x\\u001by\"}");

	capture_start();
	int rc = cli_out_json(j);
	const char *out = capture_end();
	assert_int_equal(rc, 0);
	/* The server's key order, two spaces, control characters escaped. */
	assert_string_equal(out, "{\n"
				 "  \"b\": [\n"
				 "    1,\n"
				 "    {\n"
				 "      \"c\": null\n"
				 "    }\n"
				 "  ],\n"
				 "  \"a\": \"x\\u001By\"\n"
				 "}\n");
	json_decref(j);

	/* Any value, not only objects and arrays. */
	j = parse("\"s\"");
	capture_start();
	rc = cli_out_json(j);
	out = capture_end();
	assert_int_equal(rc, 0);
	assert_string_equal(out, "\"s\"\n");
	json_decref(j);

	/* What it prints reads back as the same value. */
	j = parse("{\"nodes\": [{\"name\": \"n\\u00e9\", \"nid\": 1, \"ok\": false}]}");
	capture_start();
	rc = cli_out_json(j);
	out = capture_end();
	assert_int_equal(rc, 0);
	json_t *back = parse(out);
	assert_true(json_equal(back, j));
	json_decref(back);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value), cmocka_unit_test(test_value_cap),
		cmocka_unit_test(test_array), cmocka_unit_test(test_list),
		cmocka_unit_test(test_show),  cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
