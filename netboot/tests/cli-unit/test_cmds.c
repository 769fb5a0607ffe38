/*
 * Unit tests for cli_cmds without a server: cli_parse_time (RFC 3339 with
 * fractions and offsets, everything else refused), and every check a
 * handler makes before it sends anything: node import (unreadable, too
 * large, bad JSON or YAML with the line, a top level that is not a list or
 * an object), credential set (--username required, exactly one password
 * source, one line of at most 255 bytes), token create and node adopt
 * (names and MACs), job show/wait (the ID).
 *
 * The client points at a loopback port that refuses connections, so a
 * handler that sent a request anyway would exit 3 with "cannot reach" and
 * fail the case.  What the handlers send and print when the server
 * answers is in test_requests.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_core.h"
#include "cli_defs.h"
#include "cli_http.h"

#include "capture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- cli_parse_time --------------------------------------------------- */

struct time_case {
	const char *s;
	int rc;
	double want;
};

static const struct time_case time_cases[] = {
	{"2026-11-25T12:00:00Z", 0, 1795608000.0},
	{"2026-11-25T12:00:00z", 0, 1795608000.0},
	{"1970-01-01T00:00:00Z", 0, 0.0},
	{"2024-02-29T23:59:59Z", 0, 1709251199.0},
	{"2038-01-19T03:14:08Z", 0, 2147483648.0},
	{"2026-11-25T12:00:00.5Z", 0, 1795608000.5},
	{"2026-11-25T12:00:00.123Z", 0, 1795608000.123},
	{"2026-11-25T12:00:00.000001Z", 0, 1795608000.000001},
	{"2026-11-25T12:00:00.Z", 0, 1795608000.0},
	{"2026-11-25T13:00:00+01:00", 0, 1795608000.0},
	{"2026-11-25T06:30:00-05:30", 0, 1795608000.0},
	{"2026-11-25T12:00:00+00:00", 0, 1795608000.0},
	{"2026-11-25T12:00:00.25+01:00", 0, 1795604400.25},
	{"2026-11-26T01:00:00+13:00", 0, 1795608000.0},
	/* refused: no zone, a bad zone, trailing text, not a time */
	{"2026-11-25T12:00:00", -EINVAL, 0},
	{"2026-11-25T12:00:00+0100", -EINVAL, 0},
	{"2026-11-25T12:00:00+01", -EINVAL, 0},
	{"2026-11-25T12:00:00+1:00", -EINVAL, 0},
	{"2026-11-25T12:00:00 Z", -EINVAL, 0},
	{"2026-11-25T12:00:00ZZ", -EINVAL, 0},
	{"2026-11-25T12:00:00Z ", -EINVAL, 0},
	{"2026-11-25T12:00:00+01:00x", -EINVAL, 0},
	{"2026-11-25", -EINVAL, 0},
	{"2026-11-25T12:00Z", -EINVAL, 0},
	{"2026-13-25T12:00:00Z", -EINVAL, 0},
	{"2026-11-25T24:00:00Z", -EINVAL, 0},
	{"12:00:00Z", -EINVAL, 0},
	{"", -EINVAL, 0},
	{"yesterday", -EINVAL, 0},
};

static void test_parse_time(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(time_cases); i++) {
		const struct time_case *c = &time_cases[i];
		double out = -42;
		int rc = cli_parse_time(c->s, &out);

		if (rc != c->rc)
			fail_msg("cli_parse_time(\"%s\"): rc %d, want %d", c->s, rc, c->rc);
		if (rc == 0 && (out < c->want - 1e-6 || out > c->want + 1e-6))
			fail_msg("cli_parse_time(\"%s\"): %.6f, want %.6f", c->s, out, c->want);
		if (rc != 0 && out != -42)
			fail_msg("cli_parse_time(\"%s\"): output written on failure", c->s);
	}
}

/* Differences are what the events table shows: exact to the millisecond. */
static void test_time_differences(void **state)
{
	double a, b;

	(void)state;
	assert_int_equal(cli_parse_time("2026-11-25T23:59:59.900Z", &a), 0);
	assert_int_equal(cli_parse_time("2026-11-26T00:00:01.400Z", &b), 0);
	assert_true(b - a > 1.4999 && b - a < 1.5001);
	/* the same instant in two zones */
	assert_int_equal(cli_parse_time("2026-03-29T01:30:00Z", &a), 0);
	assert_int_equal(cli_parse_time("2026-03-29T03:30:00+02:00", &b), 0);
	assert_true(a == b);
}

/* ---- handlers that refuse before sending ------------------------------ */

static char tmpdir[64], url[64];
static int closed_fd = -1;
static struct cli cli;

/* The handlers talk to a loopback port that refuses connections. */
static int setup(void **state)
{
	(void)state;
	if (tmp_make(tmpdir, sizeof(tmpdir), "cli_test_cmds") < 0)
		return -1;
	int port = closed_port(&closed_fd);
	if (port < 0)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	cli.url = url;
	return cli_http_new(url, "tok", &cli.http) == 0 ? 0 : -1;
}

static const char *const tmpnames[] = {"a.json",   "a.yaml", "a.yml",  "a.txt",
				       "big.json", "pw2",    "pwlong", "pw255"};

static int teardown(void **state)
{
	(void)state;
	tmp_remove(tmpdir, tmpnames, NELEM(tmpnames));
	cli_http_free(cli.http);
	close(closed_fd);
	return 0;
}

/* Writes len bytes (-1: the string's length) into tmpdir/name; the path (static). */
static const char *write_tmp(const char *name, const char *data, size_t len)
{
	return tmp_file(tmpdir, name, data, len == (size_t)-1 ? strlen(data) : len);
}

/* run_cmd (capture.h) with this test's cli. */
static int run(const char *resource, const char *verb, const char *const *argv)
{
	return run_cmd(&cli, resource, verb, argv);
}

/* err_text is one line: prefix (with '@' for path) then anything. */
static void expect_err(const char *what, const char *prefix, const char *path)
{
	char want[512];
	size_t n = 0;

	for (const char *p = prefix; *p != '\0' && n + 1 < sizeof(want); p++) {
		if (*p == '@') {
			n += (size_t)snprintf(want + n, sizeof(want) - n, "%s", path);
			continue;
		}
		want[n++] = *p;
	}
	want[n] = '\0';
	if (strncmp(err_text, want, strlen(want)) != 0)
		fail_msg("%s: stderr \"%s\", want it to start \"%s\"", what, err_text, want);
	const char *nl = strchr(err_text, '\n');
	if (nl == NULL || nl[1] != '\0')
		fail_msg("%s: stderr is not one line: \"%s\"", what, err_text);
	if (out_text[0] != '\0')
		fail_msg("%s: stdout \"%s\", want nothing", what, out_text);
}

static void test_import_refusals(void **state)
{
	const char *p;

	(void)state;
	/* missing */
	char missing[128];
	snprintf(missing, sizeof(missing), "%s/none.yaml", tmpdir);
	assert_int_equal(run("node", "import", (const char *[]){missing, NULL}), CLI_EXIT_FAIL);
	expect_err("missing", "corral: node import: cannot read @: No such file or directory",
		   missing);

	/* .json is JSON only: its error with the line */
	p = write_tmp("a.json", "[\n  {\"name\": \"n1\",}\n]\n", (size_t)-1);
	assert_int_equal(run("node", "import", (const char *[]){p, NULL}), CLI_EXIT_FAIL);
	expect_err(".json", "corral: node import: @: line 2: ", p);

	/* duplicate keys in JSON are refused too */
	p = write_tmp("a.json", "[{\"name\": \"a\",\n \"name\": \"b\"}]", (size_t)-1);
	assert_int_equal(run("node", "import", (const char *[]){p, NULL}), CLI_EXIT_FAIL);
	expect_err("duplicate JSON key", "corral: node import: @: line 2: duplicate", p);

	/* .yaml and .yml are YAML: its error with the line */
	p = write_tmp("a.yaml", "nodes:\n  - name: n1\n    nid: 1\n   bad: 2\n", (size_t)-1);
	assert_int_equal(run("node", "import", (const char *[]){p, NULL}), CLI_EXIT_FAIL);
	expect_err(".yaml", "corral: node import: @: line 4: ", p);
	p = write_tmp("a.yml", "- name: a\n- name: b\n  name: c\n", (size_t)-1);
	assert_int_equal(run("node", "import", (const char *[]){p, NULL}), CLI_EXIT_FAIL);
	expect_err(".yml", "corral: node import: @: line 3: duplicate key 'name'", p);

	/* anything else: JSON if it parses, else YAML, whose error is shown */
	p = write_tmp("a.txt", "nodes:\n  - [\n", (size_t)-1);
	assert_int_equal(run("node", "import", (const char *[]){p, NULL}), CLI_EXIT_FAIL);
	expect_err("other extension", "corral: node import: @: line 3: ", p);

	/* a top level that is not a list or an object */
	p = write_tmp("a.yaml", "just some text\n", (size_t)-1);
	assert_int_equal(run("node", "import", (const char *[]){p, NULL}), CLI_EXIT_FAIL);
	expect_err("scalar",
		   "corral: node import: @: expected a list of nodes or {\"nodes\": [...]}", p);
	p = write_tmp("a.txt", "42", (size_t)-1);
	assert_int_equal(run("node", "import", (const char *[]){p, NULL}), CLI_EXIT_FAIL);
	expect_err("number",
		   "corral: node import: @: expected a list of nodes or {\"nodes\": [...]}", p);
	p = write_tmp("a.json", "42", (size_t)-1);
	assert_int_equal(run("node", "import", (const char *[]){p, NULL}), CLI_EXIT_FAIL);
	expect_err("JSON scalar", "corral: node import: @: line 1: '[' or '{' expected", p);

	/* over the server's 8 MiB cap: refused before sending */
	char *big = malloc(CLI_IMPORT_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', CLI_IMPORT_MAX + 1);
	big[0] = '[';
	big[CLI_IMPORT_MAX] = ']';
	p = write_tmp("big.json", big, CLI_IMPORT_MAX + 1);
	free(big);
	assert_int_equal(run("node", "import", (const char *[]){p, NULL}), CLI_EXIT_FAIL);
	expect_err("too large",
		   "corral: node import: cannot read @: larger than the server's 8 MiB cap", p);
}

static void test_credential_refusals(void **state)
{
	char pw[300];

	(void)state;
	const char *two = write_tmp("pw2", "line1\nline2\n", (size_t)-1);
	char twopath[128];
	snprintf(twopath, sizeof(twopath), "%s", two);

	assert_int_equal(
		run("credential", "set", (const char *[]){"c", "--password-file", twopath, NULL}),
		CLI_EXIT_USAGE);
	expect_err("no username", "corral: credential set: --username is required (see ", "");

	assert_int_equal(run("credential", "set", (const char *[]){"c", "--username", "u", NULL}),
			 CLI_EXIT_USAGE);
	expect_err("no password",
		   "corral: credential set: give the password with either "
		   "--password-file F or --password-stdin (see ",
		   "");

	assert_int_equal(run("credential", "set",
			     (const char *[]){"c", "--username", "u", "--password-file", twopath,
					      "--password-stdin", NULL}),
			 CLI_EXIT_USAGE);
	expect_err("two passwords", "corral: credential set: give the password with either ", "");

	assert_int_equal(
		run("credential", "set",
		    (const char *[]){"c", "--username", "u", "--password-file", twopath, NULL}),
		CLI_EXIT_FAIL);
	expect_err("two lines", "corral: credential set: the password must be one line", "");

	memset(pw, 'p', 256);
	pw[256] = '\n';
	const char *lng = write_tmp("pwlong", pw, 257);
	assert_int_equal(
		run("credential", "set",
		    (const char *[]){"c", "--username", "u", "--password-file", lng, NULL}),
		CLI_EXIT_FAIL);
	expect_err("256 bytes", "corral: credential set: the password is longer than 255 bytes",
		   "");

	/* 255 bytes and CRLF pass the checks: the request is then tried
	   (and this server cannot be reached). */
	pw[255] = '\r';
	pw[256] = '\n';
	const char *ok = write_tmp("pw255", pw, 257);
	assert_int_equal(run("credential", "set",
			     (const char *[]){"c", "--username", "u", "--password-file", ok, NULL}),
			 CLI_EXIT_CONNECT);
	expect_err("255 bytes", "corral: cannot reach http://127.0.0.1:", "");
}

static void test_other_refusals(void **state)
{
	(void)state;
	assert_int_equal(run("job", "show", (const char *[]){"abc", NULL}), CLI_EXIT_USAGE);
	expect_err("job ID", "corral: job show: 'abc' is not a job ID (see ", "");
	assert_int_equal(run("job", "wait", (const char *[]){"0", NULL}), CLI_EXIT_USAGE);
	expect_err("job ID 0", "corral: job wait: '0' is not a job ID (see ", "");

	assert_int_equal(run("token", "create", (const char *[]){"t\xff", NULL}), CLI_EXIT_USAGE);
	expect_err("token name", "corral: token create: name is not valid UTF-8 (see ", "");

	assert_int_equal(run("node", "adopt", (const char *[]){"52:54:00:00:00:0g", "n1", NULL}),
			 CLI_EXIT_USAGE);
	expect_err("MAC", "corral: node adopt: not a MAC address: 52:54:00:00:00:0g (see ", "");
	assert_int_equal(run("node", "adopt", (const char *[]){"52:54:00:00:00:01", "n\xff", NULL}),
			 CLI_EXIT_USAGE);
	expect_err("adopt name", "corral: node adopt: name is not valid UTF-8 (see ", "");

	/* targets must be text too */
	assert_int_equal(run("power", "on", (const char *[]){"n1", "n\xff", "--no-wait", NULL}),
			 CLI_EXIT_USAGE);
	expect_err("power target", "corral: power on: 'n\xff' is not valid UTF-8 (see ", "");
}

/*
 * A bug found here, fixed: cli_cmd_adopt called cli_usage once per bad
 * character of the MAC, printing several lines; the contract is exactly one.
 */
static void test_adopt_one_line(void **state)
{
	(void)state;
	assert_int_equal(run("node", "adopt", (const char *[]){"zz/..", "n1", NULL}),
			 CLI_EXIT_USAGE);
	expect_err("MAC with three bad characters",
		   "corral: node adopt: not a MAC address: zz/.. (see ", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time),      cmocka_unit_test(test_time_differences),
		cmocka_unit_test(test_import_refusals), cmocka_unit_test(test_credential_refusals),
		cmocka_unit_test(test_other_refusals),
	};
	const struct CMUnitTest fixed_bugs[] = {
		/* found by these tests, fixed since */
		cmocka_unit_test(test_adopt_one_line),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);

	rc += cmocka_run_group_tests_name("fixed bugs", fixed_bugs, setup, teardown);
	return rc;
}
