/*
 * Unit tests for cloudinit: YAML → JSON with YAML 1.1 scalar resolution,
 * parse errors with their line, bounded input (alias bombs, deep nesting),
 * the user-data check, the deep merge, and the meta-data / user-data a node
 * is served.  JSON results are compared structurally with jansson.
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

#include "cloudinit.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static json_t *jload(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (j == NULL)
		fail_msg("bad JSON in the test itself: %s: %s", text, e.text);
	return j;
}

/* Fails unless got equals the JSON text want (structurally). */
static void assert_json(const char *what, json_t *got, const char *want)
{
	json_t *w = jload(want);

	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);
		char *ws = json_dumps(w, JSON_ENCODE_ANY | JSON_SORT_KEYS);

		fail_msg("%s:\n got  %s\n want %s", what, g ? g : "(null)", ws);
	}
	json_decref(w);
}

/* ---- cloudinit_yaml_parse: scalars and structure ------------------------ */

struct yaml_case {
	const char *yaml;
	const char *json; /* expected value, as JSON text */
};

static const struct yaml_case yaml_cases[] = {
	/* booleans, YAML 1.1 */
	{"v: yes", "{\"v\": true}"},
	{"v: Yes", "{\"v\": true}"},
	{"v: YES", "{\"v\": true}"},
	{"v: no", "{\"v\": false}"},
	{"v: No", "{\"v\": false}"},
	{"v: NO", "{\"v\": false}"},
	{"v: on", "{\"v\": true}"},
	{"v: On", "{\"v\": true}"},
	{"v: off", "{\"v\": false}"},
	{"v: OFF", "{\"v\": false}"},
	{"v: true", "{\"v\": true}"},
	{"v: True", "{\"v\": true}"},
	{"v: false", "{\"v\": false}"},
	{"v: FALSE", "{\"v\": false}"},
	{"v: yEs", "{\"v\": \"yEs\"}"},
	{"v: y", "{\"v\": \"y\"}"}, /* PyYAML leaves y/n alone */
	{"v: n", "{\"v\": \"n\"}"},
	{"v: yes please", "{\"v\": \"yes please\"}"},
	/* nulls */
	{"v: null", "{\"v\": null}"},
	{"v: Null", "{\"v\": null}"},
	{"v: NULL", "{\"v\": null}"},
	{"v: ~", "{\"v\": null}"},
	{"v:", "{\"v\": null}"},
	{"v: nil", "{\"v\": \"nil\"}"},
	/* integers */
	{"v: 0", "{\"v\": 0}"},
	{"v: 42", "{\"v\": 42}"},
	{"v: -7", "{\"v\": -7}"},
	{"v: +3", "{\"v\": 3}"},
	{"v: 2147483648", "{\"v\": 2147483648}"},
	{"v: 0644", "{\"v\": \"0644\"}"}, /* file modes stay strings */
	{"v: 0755", "{\"v\": \"0755\"}"},
	{"v: 00", "{\"v\": \"00\"}"},
	{"v: 12abc", "{\"v\": \"12abc\"}"},
	{"v: 1 2", "{\"v\": \"1 2\"}"},
	/* floats */
	{"v: 3.14", "{\"v\": 3.14}"},
	{"v: -0.5", "{\"v\": -0.5}"},
	{"v: 1.0", "{\"v\": 1.0}"},
	{"v: 1.5e+3", "{\"v\": 1500.0}"},
	{"v: 2.5E-1", "{\"v\": 0.25}"},
	{"v: 1.2.3", "{\"v\": \"1.2.3\"}"},
	{"v: 10.0.0.1", "{\"v\": \"10.0.0.1\"}"},
	{"v: .", "{\"v\": \".\"}"},
	{"v: 1.5e", "{\"v\": \"1.5e\"}"},
	/* quoted and block scalars are strings, whatever they look like */
	{"v: \"yes\"", "{\"v\": \"yes\"}"},
	{"v: 'no'", "{\"v\": \"no\"}"},
	{"v: \"42\"", "{\"v\": \"42\"}"},
	{"v: '~'", "{\"v\": \"~\"}"},
	{"v: \"\"", "{\"v\": \"\"}"},
	{"v: \"null\"", "{\"v\": \"null\"}"},
	{"v: \"3.14\"", "{\"v\": \"3.14\"}"},
	{"v: |\n  yes\n", "{\"v\": \"yes\\n\"}"},
	{"v: >\n  a\n  b\n", "{\"v\": \"a b\\n\"}"},
	{"v: \"a\\tb\\u00e9\"", "{\"v\": \"a\\tb\\u00e9\"}"},
	/* keys are strings, even when they look like something else */
	{"yes: 1\n2: b\nnull: c\n", "{\"yes\": 1, \"2\": \"b\", \"null\": \"c\"}"},
	/* structure */
	{"", "null"},
	{"# only a comment\n", "null"},
	{"just text", "\"just text\""},
	{"- 1\n- two\n- yes\n- ~\n", "[1, \"two\", true, null]"},
	{"[1, [2, [3]], {a: b}]", "[1, [2, [3]], {\"a\": \"b\"}]"},
	{"{}", "{}"},
	{"[]", "[]"},
	{"users:\n  - name: ops\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    lock_passwd: false\n"
	 "write_files:\n  - path: /etc/x\n    permissions: '0644'\n    owner: root\n"
	 "    content: |\n      line1\n      line2\n",
	 "{\"users\": [{\"name\": \"ops\", \"sudo\": \"ALL=(ALL) NOPASSWD:ALL\","
	 " \"lock_passwd\": false}], \"write_files\": [{\"path\": \"/etc/x\","
	 " \"permissions\": \"0644\", \"owner\": \"root\", \"content\": \"line1\\nline2\\n\"}]}"},
	{"a:\n  b:\n    c:\n      d: [1, 2]\n", "{\"a\": {\"b\": {\"c\": {\"d\": [1, 2]}}}}"},
	/* anchors and aliases are expanded (within the budget) */
	{"base: &b {x: 1}\ncopy: *b\n", "{\"base\": {\"x\": 1}, \"copy\": {\"x\": 1}}"},
	{"a: &n 5\nb: *n\n", "{\"a\": 5, \"b\": 5}"},
	{"a: &s 'yes'\nb: *s\n", "{\"a\": \"yes\", \"b\": \"yes\"}"},
	/* an alias used as a key is the anchored scalar's text */
	{"a: &k 12\n*k : x\n", "{\"a\": 12, \"12\": \"x\"}"},
	/* an anchored key can be used as a value too */
	{"&k yes : 1\nb: *k\n", "{\"yes\": 1, \"b\": true}"},
	/* duplicate keys: the last one wins */
	{"a: 1\na: 2\n", "{\"a\": 2}"},
	/* only the first document */
	{"a: 1\n---\nb: 2\n", "{\"a\": 1}"},
	{"---\na: 1\n...\n", "{\"a\": 1}"},
	/* the header line is a YAML comment */
	{"#cloud-config\nhostname: n1\n", "{\"hostname\": \"n1\"}"},
};

static void test_yaml_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(yaml_cases); i++) {
		json_t *j = NULL;
		char err[256] = "";
		char what[128];
		int rc = cloudinit_yaml_parse(yaml_cases[i].yaml, &j, err, sizeof(err));

		if (rc != 0)
			fail_msg("yaml case %zu \"%s\": rc %d (%s)", i, yaml_cases[i].yaml, rc,
				 err);
		snprintf(what, sizeof(what), "yaml case %zu \"%.60s\"", i, yaml_cases[i].yaml);
		assert_json(what, j, yaml_cases[i].json);
		json_decref(j);
	}
}

/* Integers are JSON integers and floats JSON reals, not just equal numbers. */
static void test_yaml_number_types(void **state)
{
	json_t *j = NULL;
	char err[128];

	(void)state;
	assert_int_equal(cloudinit_yaml_parse("i: 12\nf: 12.0\n", &j, err, sizeof(err)), 0);
	assert_true(json_is_integer(json_object_get(j, "i")));
	assert_int_equal(json_integer_value(json_object_get(j, "i")), 12);
	assert_true(json_is_real(json_object_get(j, "f")));
	json_decref(j);
}

/* ---- cloudinit_yaml_parse: refusals ------------------------------------- */

struct yaml_err_case {
	const char *yaml;
	const char *line; /* "line N" the message must start with */
	const char *also; /* and contain */
};

static const struct yaml_err_case yaml_err_cases[] = {
	{"a: 1\nb: 2\n  c: 3\n", "line 3:", "mapping values"},
	{"a: 1\nb: *nowhere\n", "line 2:", "alias"},
	{"a: 1\n\tb: 2\n", "line 2:", ""},
	{"a: \"open\n", "line 2:", "quoted scalar"},
	{"? [a, b]\n: 1\n", "line 1:", "mapping keys must be scalars"},
	{"x: 1\n{[a]: 1}: 2\n", "line 2:", ""},
	{"ok: 1\nbad:\n  ? {k: v}\n  : 1\n", "line 3:", "mapping keys must be scalars"},
	/* anchors: no self-reference, no second definition, no collection as a key */
	{"a: &a [1, *a]\n", "line 1:", "undefined alias"},
	{"a: &a 1\nb: &a 2\n", "line 2:", "duplicate anchor"},
	{"a: &m {x: 1}\n? *m\n: 2\n", "line 2:", "mapping keys must be scalars"},
};

static void test_yaml_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(yaml_err_cases); i++) {
		const struct yaml_err_case *c = &yaml_err_cases[i];
		json_t *j = NULL;
		char err[256] = "";
		int rc = cloudinit_yaml_parse(c->yaml, &j, err, sizeof(err));

		if (rc != -EINVAL)
			fail_msg("yaml error case %zu: rc %d, want -EINVAL", i, rc);
		assert_null(j);
		if (strncmp(err, c->line, strlen(c->line)) != 0 || strstr(err, c->also) == NULL)
			fail_msg("yaml error case %zu: \"%s\", want \"%s ...%s...\"", i, err,
				 c->line, c->also);
	}
}

/* A billion-laughs document: 10^6 nodes from a few lines. */
static void test_yaml_alias_bomb(void **state)
{
	static const char bomb[] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
				   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
				   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
				   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
				   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
	/* 1 + 10 + 100 + 1000 + 10000 < 20000: within the budget. */
	static const char ok[] = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
				 "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				 "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
	json_t *j = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(cloudinit_yaml_parse(bomb, &j, err, sizeof(err)), -EINVAL);
	assert_null(j);
	assert_true(strncmp(err, "line ", 5) == 0);
	assert_non_null(strstr(err, "too large"));

	assert_int_equal(cloudinit_yaml_parse(ok, &j, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(json_object_get(j, "c")), 10);
	assert_int_equal(json_array_size(json_array_get(json_object_get(j, "c"), 9)), 10);
	json_decref(j);
}

/* A flat list over CLOUDINIT_MAX_NODES items is refused too. */
static void test_yaml_too_many_nodes(void **state)
{
	struct buf b;
	json_t *j = NULL;
	char err[256] = "";

	(void)state;
	buf_init(&b, 1u << 20);
	assert_int_equal(buf_adds(&b, "["), 0);
	for (int i = 0; i < CLOUDINIT_MAX_NODES + 1; i++)
		assert_int_equal(buf_adds(&b, "1,"), 0);
	assert_int_equal(buf_adds(&b, "1]"), 0);
	assert_int_equal(cloudinit_yaml_parse(buf_str(&b), &j, err, sizeof(err)), -EINVAL);
	assert_null(j);
	buf_clear(&b);
	/* Well under the budget: fine. */
	buf_init(&b, 1u << 20);
	assert_int_equal(buf_adds(&b, "["), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(buf_adds(&b, "1,"), 0);
	assert_int_equal(buf_adds(&b, "1]"), 0);
	assert_int_equal(cloudinit_yaml_parse(buf_str(&b), &j, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(j), 1001);
	json_decref(j);
	buf_clear(&b);
}

/* n nested flow sequences around one scalar: the scalar sits at depth n. */
static char *nested(int n)
{
	char *s = malloc((size_t)n * 2 + 2);

	assert_non_null(s);
	memset(s, '[', (size_t)n);
	s[n] = '1';
	memset(s + n + 1, ']', (size_t)n);
	s[2 * n + 1] = '\0';
	return s;
}

static void test_yaml_deep(void **state)
{
	json_t *j = NULL;
	char err[256] = "";
	char *s;

	(void)state;
	s = nested(CLOUDINIT_MAX_DEPTH);
	assert_int_equal(cloudinit_yaml_parse(s, &j, err, sizeof(err)), 0);
	json_decref(j);
	j = NULL;
	free(s);

	s = nested(CLOUDINIT_MAX_DEPTH + 1);
	assert_int_equal(cloudinit_yaml_parse(s, &j, err, sizeof(err)), -EINVAL);
	assert_null(j);
	assert_true(strncmp(err, "line 1:", 7) == 0);
	free(s);

	s = nested(500);
	assert_int_equal(cloudinit_yaml_parse(s, &j, err, sizeof(err)), -EINVAL);
	assert_null(j);
	free(s);

	/* Block mappings nest the same way. */
	struct buf b;
	buf_init(&b, 1u << 16);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_printf(&b, "%*sk%d:\n", i, "", i), 0);
	assert_int_equal(cloudinit_yaml_parse(buf_str(&b), &j, err, sizeof(err)), -EINVAL);
	assert_null(j);
	assert_true(strncmp(err, "line ", 5) == 0);
	buf_clear(&b);
}

static double ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/*
 * 100k nested '[' (what a hostile user_data can be): refused at the 65th
 * level with its line, in milliseconds.  Through libyaml's document loader
 * this took 33 s of CPU; the bound here is generous (it asserts "does not
 * hang", not speed).
 */
static void test_yaml_deep_refused_fast(void **state)
{
	static const struct {
		const char *head, *open, *line;
	} docs[] = {
		{"#cloud-config\nx: ", "[", "line 2:"},
		{"#cloud-config\nx: ", "{a: ", "line 2:"},
		{"#cloud-config\nx:\n", "- ", "line 3:"},
	};
	(void)state;
	for (size_t k = 0; k < NELEM(docs); k++) {
		struct buf b;
		json_t *j = NULL;
		char err[256] = "";
		struct timespec t0;

		buf_init(&b, 1u << 21);
		assert_int_equal(buf_adds(&b, docs[k].head), 0);
		for (int i = 0; i < 100000; i++)
			assert_int_equal(buf_adds(&b, docs[k].open), 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(cloudinit_check_user_data(buf_str(&b), err, sizeof(err)), -EINVAL);
		double ms = ms_since(&t0);
		print_message("%zu bytes of \"%s\": refused in %.1f ms: %s\n", b.len, docs[k].open,
			      ms, err);
		assert_true(ms < 1000.0);
		char want[64];
		snprintf(want, sizeof(want), "%s nested deeper than 64 levels", docs[k].line);
		if (strstr(err, want) == NULL)
			fail_msg("\"%s\", want \"...%s\"", err, want);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(cloudinit_yaml_parse(buf_str(&b), &j, err, sizeof(err)), -EINVAL);
		assert_true(ms_since(&t0) < 1000.0);
		assert_null(j);
		buf_clear(&b);
	}
}

/* Nested block mappings: the error names the line of the 65th level. */
static void test_yaml_deep_names_line(void **state)
{
	struct buf b;
	json_t *j = NULL;
	char err[256] = "";

	(void)state;
	buf_init(&b, 1u << 16);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_printf(&b, "%*sk%d:\n", i, "", i), 0);
	assert_int_equal(buf_adds(&b, "x"), 0);
	assert_int_equal(cloudinit_yaml_parse(buf_str(&b), &j, err, sizeof(err)), -EINVAL);
	/* k0..k63 open levels 1..64 (the top mapping is level 1); the value of
	 * k63, on line 65, would be the 65th. */
	if (strcmp(err, "line 65: nested deeper than 64 levels") != 0)
		fail_msg("\"%s\"", err);
	buf_clear(&b);
}

/* An alias counts as deep as what it stands for, where it lands. */
static void test_yaml_alias_depth(void **state)
{
	struct buf b;
	json_t *j = NULL;
	char err[256] = "";

	(void)state;
	for (int extra = 0; extra < 2; extra++) {
		/* a: 62 levels under the top mapping; b: its alias inside 1 or 2 more. */
		buf_init(&b, 1u << 16);
		assert_int_equal(buf_adds(&b, "a: &d "), 0);
		for (int i = 0; i < 62; i++)
			assert_int_equal(buf_adds(&b, "["), 0);
		for (int i = 0; i < 62; i++)
			assert_int_equal(buf_adds(&b, "]"), 0);
		assert_int_equal(buf_adds(&b, "\nb: "), 0);
		for (int i = 0; i <= extra; i++)
			assert_int_equal(buf_adds(&b, "["), 0);
		assert_int_equal(buf_adds(&b, "*d"), 0);
		for (int i = 0; i <= extra; i++)
			assert_int_equal(buf_adds(&b, "]"), 0);
		int rc = cloudinit_yaml_parse(buf_str(&b), &j, err, sizeof(err));
		if (extra == 0) {
			/* 1 (top) + 1 + 62 = 64 levels: fine. */
			assert_int_equal(rc, 0);
			json_decref(j);
			j = NULL;
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_string_equal(err, "line 2: nested deeper than 64 levels");
		}
		buf_clear(&b);
	}
}

/* More than 256 anchors are refused (they are looked up one by one). */
static void test_yaml_anchor_cap(void **state)
{
	struct buf b;
	json_t *j = NULL;
	char err[256] = "";

	(void)state;
	buf_init(&b, 1u << 16);
	for (int i = 0; i < 256; i++)
		assert_int_equal(buf_printf(&b, "k%d: &a%d %d\n", i, i, i), 0);
	assert_int_equal(buf_adds(&b, "last: *a255\n"), 0);
	assert_int_equal(cloudinit_yaml_parse(buf_str(&b), &j, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "last")), 255);
	json_decref(j);
	j = NULL;
	assert_int_equal(buf_adds(&b, "more: &a256 x\n"), 0);
	assert_int_equal(cloudinit_yaml_parse(buf_str(&b), &j, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 258: more than 256 anchors"));
	buf_clear(&b);
}

/*
 * A float too large for a double (1.0e400) is valid YAML: either it is
 * read, or it is refused with a "line N:" message like every other error.
 */
static void test_yaml_huge_float(void **state)
{
	static const char *const docs[] = {"v: 1.0e400\n", "- 1\n- -1.0e400\n"};
	static const char *const lines[] = {"line 1:", "line 2:"};

	(void)state;
	for (size_t i = 0; i < NELEM(docs); i++) {
		json_t *j = NULL;
		char err[256] = "SENTINEL";
		int rc = cloudinit_yaml_parse(docs[i], &j, err, sizeof(err));

		if (rc == 0) {
			assert_non_null(j);
			json_decref(j);
			continue;
		}
		if (rc != -EINVAL || strncmp(err, lines[i], strlen(lines[i])) != 0)
			fail_msg("\"%s\": rc %d, err \"%s\"; want 0, or -EINVAL with \"%s ...\"",
				 docs[i], rc, err, lines[i]);
	}
}

/* The user-data check must not print a message nobody wrote. */
static void test_check_user_data_huge_float(void **state)
{
	char err[256];

	(void)state;
	memset(err, 0, sizeof(err));
	int rc = cloudinit_check_user_data("#cloud-config\nv: 1.0e400\n", err, sizeof(err));
	if (rc != 0 && strncmp(err, "invalid YAML: line 2:", 21) != 0)
		fail_msg(
			"check_user_data: rc %d, err \"%s\"; want 0 or \"invalid YAML: line 2: ...\"",
			rc, err);
}

/* ---- cloudinit_check_user_data ------------------------------------------ */

struct ud_case {
	const char *text;
	int rc;
	const char *msg; /* when refused: the message contains this */
};

static const struct ud_case ud_cases[] = {
	{"", 0, NULL},
	{"#cloud-config\n", 0, NULL},
	{"#cloud-config", 0, NULL},
	{"#cloud-config\npackages: [vim, htop]\nruncmd:\n  - [touch, /tmp/x]\n", 0, NULL},
	{"#cloud-config\r\nhostname: n1\r\n", 0, NULL},
	{"#cloud-config # with a comment\nhostname: n1\n", 0, NULL},
	{"#cloud-config\n{}\n", 0, NULL},
	{"#cloud-config\n# nothing but comments\n", 0, NULL},
	{"#!/bin/sh\necho hello\n", 0, NULL},
	{"#!/usr/bin/env python3\nprint(1)\n", 0, NULL},
	{"#include\nhttp://10.0.0.1/ud\n", 0, NULL},
	{"#cloud-boothook\n#!/bin/sh\necho early\n", 0, NULL},
	{"#part-handler\n", 0, NULL},
	{"#upstart-job\n", 0, NULL},
	{"Content-Type: multipart/mixed; boundary=\"X\"\nMIME-Version: 1.0\n", 0, NULL},
	/* #cloud-config whose top level is not a mapping */
	{"#cloud-config\n- a\n- b\n", -EINVAL, "mapping"},
	{"#cloud-config\njust a string\n", -EINVAL, "mapping"},
	{"#cloud-config\n42\n", -EINVAL, "mapping"},
	/* #cloud-config that is not YAML */
	{"#cloud-config\na: 1\nb: 2\n  c: 3\n", -EINVAL, "line 4:"},
	{"#cloud-config\nusers:\n  - name: a\n - name: b\n", -EINVAL, "line "},
	{"#cloud-config\nx: *missing\n", -EINVAL, "line 2:"},
	/* nothing cloud-init knows */
	{"hello world\n", -EINVAL, "line 1"},
	{"hostname: n1\n", -EINVAL, "line 1"},
	{" #cloud-config\nhostname: n1\n", -EINVAL, "line 1"},
	{"#cloud-configuration\nhostname: n1\n", -EINVAL, "line 1"},
	{"#CLOUD-CONFIG\n", -EINVAL, "line 1"},
	{"# just a comment\n", -EINVAL, "line 1"},
	{"\n#cloud-config\n", -EINVAL, "line 1"},
};

static void test_check_user_data(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ud_cases); i++) {
		const struct ud_case *c = &ud_cases[i];
		char err[256] = "";
		int rc = cloudinit_check_user_data(c->text, err, sizeof(err));

		if (rc != c->rc)
			fail_msg("user-data case %zu \"%.40s\": rc %d (%s), want %d", i, c->text,
				 rc, err, c->rc);
		if (rc != 0 && strstr(err, c->msg) == NULL)
			fail_msg("user-data case %zu: message \"%s\" lacks \"%s\"", i, err, c->msg);
	}
}

static void test_is_cloud_config(void **state)
{
	(void)state;
	assert_true(cloudinit_is_cloud_config("#cloud-config"));
	assert_true(cloudinit_is_cloud_config("#cloud-config\n"));
	assert_true(cloudinit_is_cloud_config("#cloud-config\r\n"));
	assert_true(cloudinit_is_cloud_config("#cloud-config x"));
	assert_false(cloudinit_is_cloud_config("#cloud-configx"));
	assert_false(cloudinit_is_cloud_config("#cloud-confi"));
	assert_false(cloudinit_is_cloud_config(" #cloud-config"));
	assert_false(cloudinit_is_cloud_config(""));
	assert_false(cloudinit_is_cloud_config("#!/bin/sh"));
}

/* ---- cloudinit_merge ---------------------------------------------------- */

struct merge_case {
	const char *dst, *src, *want;
};

static const struct merge_case merge_cases[] = {
	{"{}", "{}", "{}"},
	{"{}", "{\"a\": 1}", "{\"a\": 1}"},
	{"{\"a\": 1}", "{}", "{\"a\": 1}"},
	/* scalars replaced */
	{"{\"a\": 1, \"b\": \"x\"}", "{\"a\": 2}", "{\"a\": 2, \"b\": \"x\"}"},
	{"{\"a\": \"old\"}", "{\"a\": null}", "{\"a\": null}"},
	{"{\"a\": true}", "{\"a\": false}", "{\"a\": false}"},
	/* lists appended */
	{"{\"l\": [1, 2]}", "{\"l\": [3]}", "{\"l\": [1, 2, 3]}"},
	{"{\"l\": []}", "{\"l\": [{\"a\": 1}]}", "{\"l\": [{\"a\": 1}]}"},
	{"{\"l\": [1]}", "{\"l\": [1]}", "{\"l\": [1, 1]}"},
	/* maps merged, recursively */
	{"{\"m\": {\"a\": 1, \"b\": {\"c\": [1], \"d\": 1}}}",
	 "{\"m\": {\"b\": {\"c\": [2], \"e\": 2}, \"f\": 3}}",
	 "{\"m\": {\"a\": 1, \"b\": {\"c\": [1, 2], \"d\": 1, \"e\": 2}, \"f\": 3}}"},
	/* different kinds: the source's value replaces */
	{"{\"a\": [1]}", "{\"a\": {\"x\": 1}}", "{\"a\": {\"x\": 1}}"},
	{"{\"a\": {\"x\": 1}}", "{\"a\": [1]}", "{\"a\": [1]}"},
	{"{\"a\": {\"x\": 1}}", "{\"a\": \"s\"}", "{\"a\": \"s\"}"},
	{"{\"a\": 1}", "{\"a\": [1]}", "{\"a\": [1]}"},
	/* cloud-config shaped */
	{"{\"packages\": [\"vim\"], \"ssh_pwauth\": false, \"users\": [{\"name\": \"a\"}]}",
	 "{\"packages\": [\"htop\"], \"ssh_pwauth\": true, \"users\": [{\"name\": \"b\"}]}",
	 "{\"packages\": [\"vim\", \"htop\"], \"ssh_pwauth\": true,"
	 " \"users\": [{\"name\": \"a\"}, {\"name\": \"b\"}]}"},
};

static void test_merge(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(merge_cases); i++) {
		json_t *dst = jload(merge_cases[i].dst);
		json_t *src = jload(merge_cases[i].src);
		json_t *src_before = json_deep_copy(src);
		char what[48];

		cloudinit_merge(dst, src);
		snprintf(what, sizeof(what), "merge case %zu", i);
		assert_json(what, dst, merge_cases[i].want);
		/* The source is left as it was. */
		if (!json_equal(src, src_before))
			fail_msg("merge case %zu changed its source", i);
		json_decref(src_before);
		json_decref(src);
		json_decref(dst);
	}
}

/* The result shares nothing with the source: changing one leaves the other. */
static void test_merge_no_alias(void **state)
{
	json_t *dst = jload("{\"l\": [1], \"m\": {\"a\": 1}}");
	json_t *src =
		jload("{\"l\": [{\"x\": 1}], \"n\": {\"b\": [2]}, \"m\": {\"c\": {\"d\": 1}}}");

	(void)state;
	cloudinit_merge(dst, src);
	json_object_set_new(json_array_get(json_object_get(src, "l"), 0), "x", json_integer(99));
	json_array_append_new(json_object_get(json_object_get(src, "n"), "b"), json_integer(3));
	json_object_set_new(json_object_get(json_object_get(src, "m"), "c"), "d", json_integer(9));
	json_decref(src);
	assert_json(
		"merged, source changed and freed", dst,
		"{\"l\": [1, {\"x\": 1}], \"n\": {\"b\": [2]}, \"m\": {\"a\": 1, \"c\": {\"d\": 1}}}");
	json_decref(dst);
}

/* ---- cloudinit_meta_data ------------------------------------------------ */

struct meta_case {
	const char *name;
	const char *layers; /* JSON array */
	const char *want;
};

static const struct meta_case meta_cases[] = {
	{"x1000c0s0b0n0", "[]",
	 "{\"instance-id\": \"i-x1000c0s0b0n0\", \"local-hostname\": \"x1000c0s0b0n0\"}"},
	{"n1", "[{}, {}, {}]", "{\"instance-id\": \"i-n1\", \"local-hostname\": \"n1\"}"},
	{"n1",
	 "[{\"site\": \"lab\", \"ntp\": [\"a\"], \"rack\": {\"row\": 1, \"pos\": 1}},"
	 " {\"site\": \"dc2\", \"ntp\": [\"b\"], \"rack\": {\"pos\": 7}},"
	 " {\"role\": \"gpu\", \"ntp\": [\"c\"]}]",
	 "{\"instance-id\": \"i-n1\", \"local-hostname\": \"n1\", \"site\": \"dc2\","
	 " \"ntp\": [\"a\", \"b\", \"c\"], \"rack\": {\"row\": 1, \"pos\": 7}, \"role\": \"gpu\"}"},
	/* the most specific layer is applied last */
	{"n2", "[{\"v\": 1}, {\"v\": 2}, {\"v\": 3}]",
	 "{\"instance-id\": \"i-n2\", \"local-hostname\": \"n2\", \"v\": 3}"},
	{"n2", "[{\"v\": 3}, {\"v\": 2}, {\"v\": 1}]",
	 "{\"instance-id\": \"i-n2\", \"local-hostname\": \"n2\", \"v\": 1}"},
	/* layers that are not objects are skipped */
	{"n3", "[\"junk\", {\"a\": 1}, 5, null, [1]]",
	 "{\"instance-id\": \"i-n3\", \"local-hostname\": \"n3\", \"a\": 1}"},
	{"n4", "[{\"txt\": \"caf\\u00e9 \\\"q\\\" \\n\"}]",
	 "{\"instance-id\": \"i-n4\", \"local-hostname\": \"n4\", \"txt\": \"caf\\u00e9 \\\"q\\\" \\n\"}"},
};

static void test_meta_data(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(meta_cases); i++) {
		json_t *layers = jload(meta_cases[i].layers);
		json_t *layers_before = json_deep_copy(layers);
		json_t *got;
		struct buf out;
		char what[48];
		size_t len;

		buf_init(&out, 1u << 20);
		assert_int_equal(cloudinit_meta_data(meta_cases[i].name, layers, &out), 0);
		len = out.len;
		/* One JSON document (valid YAML) ending with a newline, ASCII only. */
		assert_true(len > 0 && buf_str(&out)[len - 1] == '\n');
		for (size_t k = 0; k < len; k++)
			if ((unsigned char)buf_str(&out)[k] >= 0x80)
				fail_msg("meta case %zu: non-ASCII byte in output", i);
		got = jload(buf_str(&out));
		snprintf(what, sizeof(what), "meta case %zu", i);
		assert_json(what, got, meta_cases[i].want);
		if (!json_equal(layers, layers_before))
			fail_msg("meta case %zu: the layers were changed", i);
		json_decref(got);
		json_decref(layers_before);
		json_decref(layers);
		buf_clear(&out);
	}
}

/* ---- cloudinit_user_data ------------------------------------------------ */

struct ud_out_case {
	const char *what;
	const char *layers[5];
	const char *raw;  /* expected output as is, or NULL */
	const char *json; /* else: "#cloud-config\n" then this JSON */
};

#define SCRIPT "#!/bin/sh\necho node\n"

static const struct ud_out_case ud_out_cases[] = {
	{"no layers", {NULL}, "#cloud-config\n{}\n", NULL},
	{"all empty", {"", "", ""}, "#cloud-config\n{}\n", NULL},
	{"node script wins",
	 {"#cloud-config\na: 1\n", "#cloud-config\nb: 2\n", SCRIPT},
	 SCRIPT,
	 NULL},
	{"most specific non-empty decides", {"#cloud-config\na: 1\n", SCRIPT, ""}, SCRIPT, NULL},
	{"script below a cloud-config is skipped",
	 {"#cloud-config\na: 1\n", SCRIPT, "#cloud-config\nb: 2\n"},
	 NULL,
	 "{\"a\": 1, \"b\": 2}"},
	{"mime as is",
	 {"#cloud-config\na: 1\n", "Content-Type: multipart/mixed\n\nX\n"},
	 "Content-Type: multipart/mixed\n\nX\n",
	 NULL},
	{"layers merged in order",
	 {"#cloud-config\npackages: [vim]\nntp: {servers: [a]}\nssh_pwauth: yes\n",
	  "#cloud-config\npackages: [htop]\nntp: {servers: [b], enabled: true}\n",
	  "#cloud-config\npackages: [gcc]\nssh_pwauth: no\nhostname: n1\n"},
	 NULL,
	 "{\"packages\": [\"vim\", \"htop\", \"gcc\"], \"ntp\": {\"servers\": [\"a\", \"b\"],"
	 " \"enabled\": true}, \"ssh_pwauth\": false, \"hostname\": \"n1\"}"},
	{"empty layers between",
	 {"#cloud-config\nx: 1\n", "", "#cloud-config\ny: 2\n", ""},
	 NULL,
	 "{\"x\": 1, \"y\": 2}"},
	{"a layer that no longer parses is skipped",
	 {"#cloud-config\nx: [1\n", "#cloud-config\ny: 2\n"},
	 NULL,
	 "{\"y\": 2}"},
	{"a non-mapping layer is skipped",
	 {"#cloud-config\n- 1\n", "#cloud-config\ny: 2\n"},
	 NULL,
	 "{\"y\": 2}"},
	{"top layer empty cloud-config",
	 {"#cloud-config\nx: 1\n", "#cloud-config\n"},
	 NULL,
	 "{\"x\": 1}"},
	{"file modes stay strings",
	 {"#cloud-config\nwrite_files:\n  - {path: /a, permissions: 0644}\n"},
	 NULL,
	 "{\"write_files\": [{\"path\": \"/a\", \"permissions\": \"0644\"}]}"},
};

static void test_user_data(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ud_out_cases); i++) {
		const struct ud_out_case *c = &ud_out_cases[i];
		json_t *layers = json_array();
		struct buf out;

		for (size_t k = 0; k < 5 && c->layers[k] != NULL; k++)
			json_array_append_new(layers, json_string(c->layers[k]));
		buf_init(&out, 1u << 20);
		assert_int_equal(cloudinit_user_data(layers, &out), 0);
		if (c->raw != NULL) {
			if (strcmp(buf_str(&out), c->raw) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"", c->what, buf_str(&out),
					 c->raw);
		} else {
			const char *s = buf_str(&out);
			json_t *got;

			if (strncmp(s, "#cloud-config\n", 14) != 0)
				fail_msg("%s: no #cloud-config header: \"%s\"", c->what, s);
			assert_true(out.len > 14 && s[out.len - 1] == '\n');
			got = jload(s + 14);
			assert_json(c->what, got, c->json);
			json_decref(got);
			/* What is served passes the check applied to stored user-data. */
			char err[256];
			if (cloudinit_check_user_data(s, err, sizeof(err)) != 0)
				fail_msg("%s: output refused by the check: %s", c->what, err);
		}
		buf_clear(&out);
		json_decref(layers);
	}
}

/* Output larger than the buffer's cap is an error, not a truncated answer. */
static void test_output_cap(void **state)
{
	json_t *layers = jload("[\"#cloud-config\\npackages: [vim, htop, gcc, make]\\n\"]");
	json_t *meta = jload("[{\"a\": \"0123456789012345678901234567890123456789\"}]");
	struct buf out;

	(void)state;
	buf_init(&out, 20);
	assert_int_equal(cloudinit_user_data(layers, &out), -E2BIG);
	buf_clear(&out);
	buf_init(&out, 20);
	assert_int_equal(cloudinit_meta_data("n1", meta, &out), -E2BIG);
	buf_clear(&out);
	json_decref(layers);
	json_decref(meta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_values),
		cmocka_unit_test(test_yaml_number_types),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_yaml_alias_bomb),
		cmocka_unit_test(test_yaml_too_many_nodes),
		cmocka_unit_test(test_yaml_deep),
		cmocka_unit_test(test_yaml_deep_refused_fast),
		cmocka_unit_test(test_yaml_deep_names_line),
		cmocka_unit_test(test_yaml_alias_depth),
		cmocka_unit_test(test_yaml_anchor_cap),
		cmocka_unit_test(test_yaml_huge_float),
		cmocka_unit_test(test_check_user_data_huge_float),
		cmocka_unit_test(test_check_user_data),
		cmocka_unit_test(test_is_cloud_config),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_no_alias),
		cmocka_unit_test(test_meta_data),
		cmocka_unit_test(test_user_data),
		cmocka_unit_test(test_output_cap),
	};

	return cmocka_run_group_tests_name("cloudinit", tests, NULL, NULL) != 0;
}
