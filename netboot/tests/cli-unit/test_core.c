/*
 * Unit tests for cli_core, the one place where a failure becomes a message:
 * cli_fail (one "corral: " line on stderr, control characters as spaces,
 * an overlong line cut to 1023 characters ending "...", the code handed
 * back), cli_usage (command name prefix and the --help hint, exit 2),
 * cli_cmd_name (cut to fit), cli_path (escaped name, suffix, buffer reset
 * first, cap), cli_read_file (whole file, the cap exact, missing file,
 * directory, an endless file, stdin), and cli_call when the server cannot
 * be reached (exit 3, "cannot reach URL: why") or the URL is too long
 * (exit 2) — neither needs a server.
 *
 * How cli_call words the server's error replies is tested against a fake
 * server in tests/cli-unit/test_requests.c.
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

#include "cli_core.h"
#include "cli_http.h"

#include "capture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct cli_cmd node_create = {"node", "create", NULL, NULL,   NULL,
					   0,      1,        1,    "NAME", "create"};
static const struct cli_cmd status = {"status", NULL, NULL, NULL, NULL, 0, 0, 0, "", "status"};

/* ---- cli_fail and cli_usage ------------------------------------------- */

static void test_fail(void **state)
{
	(void)state;
	capture_start();
	int rc = cli_fail(7, "node %s: %d things", "n1", 3);
	capture_end();
	assert_int_equal(rc, 7);
	assert_string_equal(err_text, "corral: node n1: 3 things\n");
	assert_string_equal(out_text, "");

	/* The server's text cannot break the line or drive the terminal. */
	capture_start();
	rc = cli_fail(CLI_EXIT_FAIL, "%s", "bad\nname\r\x1b[2J\x7f\tend");
	capture_end();
	assert_int_equal(rc, CLI_EXIT_FAIL);
	assert_string_equal(err_text, "corral: bad name  [2J  end\n");

	/* UTF-8 passes untouched. */
	capture_start();
	cli_fail(1, "n\xc3\xa9ud");
	capture_end();
	assert_string_equal(err_text, "corral: n\xc3\xa9ud\n");
}

/* An overlong message: one line of 1023 characters ending in "...". */
static void test_fail_long(void **state)
{
	char msg[3000];

	(void)state;
	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	capture_start();
	cli_fail(1, "%s", msg);
	capture_end();
	size_t n = strlen(err_text);
	assert_int_equal(n, 1024); /* 1023 characters and the newline */
	assert_memory_equal(err_text, "corral: mmm", 11);
	assert_string_equal(err_text + n - 5, "m...\n");

	/* Exactly at the limit: printed whole, no "...". */
	size_t fit = 1023 - strlen("corral: ");
	msg[fit] = '\0';
	capture_start();
	cli_fail(1, "%s", msg);
	capture_end();
	assert_int_equal(strlen(err_text), 1024);
	assert_string_equal(err_text + 1020, "mmm\n");
	/* One more is cut. */
	msg[fit] = 'm';
	msg[fit + 1] = '\0';
	capture_start();
	cli_fail(1, "%s", msg);
	capture_end();
	assert_int_equal(strlen(err_text), 1024);
	assert_string_equal(err_text + 1020, "...\n");
}

/* What was printed on stdout before the error comes out first. */
static void test_fail_flushes_stdout(void **state)
{
	(void)state;
	capture_start();
	/* Both go to one file so their order is visible. */
	dup2(STDERR_FILENO, STDOUT_FILENO);
	printf("partial output");
	cli_fail(1, "then the error");
	capture_end();
	assert_string_equal(err_text, "partial outputcorral: then the error\n");
}

static void test_usage(void **state)
{
	(void)state;
	capture_start();
	int rc = cli_usage(&node_create, "missing argument: %s", "NAME");
	capture_end();
	assert_int_equal(rc, CLI_EXIT_USAGE);
	assert_string_equal(err_text, "corral: node create: missing argument: NAME "
				      "(see 'corral node create --help')\n");

	capture_start();
	rc = cli_usage(&status, "unexpected argument 'x'");
	capture_end();
	assert_int_equal(rc, CLI_EXIT_USAGE);
	assert_string_equal(
		err_text, "corral: status: unexpected argument 'x' (see 'corral status --help')\n");
}

static void test_cmd_name(void **state)
{
	char name[64], tiny[5], one[1];

	(void)state;
	assert_string_equal(cli_cmd_name(&node_create, name, sizeof(name)), "node create");
	assert_ptr_equal(cli_cmd_name(&status, name, sizeof(name)), name);
	assert_string_equal(name, "status");
	assert_string_equal(cli_cmd_name(&node_create, tiny, sizeof(tiny)), "node");
	assert_string_equal(cli_cmd_name(&node_create, one, sizeof(one)), "");
}

/* ---- cli_path ---------------------------------------------------------- */

struct path_case {
	const char *base, *name, *suffix, *want;
};

static const struct path_case path_cases[] = {
	{"/api/v1/nodes", NULL, NULL, "/api/v1/nodes"},
	{"/api/v1/nodes", "n1", NULL, "/api/v1/nodes/n1"},
	{"/api/v1/nodes", "n1", "/events", "/api/v1/nodes/n1/events"},
	{"/api/v1/defaults", NULL, "/x", "/api/v1/defaults/x"},
	/* the name is one path segment, whatever it holds */
	{"/api/v1/nodes", "a b", NULL, "/api/v1/nodes/a%20b"},
	{"/api/v1/nodes", "../tokens", NULL, "/api/v1/nodes/..%2Ftokens"},
	{"/api/v1/nodes", "x?y#z&w=1", "/bootscript", "/api/v1/nodes/x%3Fy%23z%26w%3D1/bootscript"},
	{"/api/v1/nodes", "100%", NULL, "/api/v1/nodes/100%25"},
	{"/api/v1/nodes", "n\xc3\xa9", NULL, "/api/v1/nodes/n%C3%A9"},
	{"/api/v1/bmcs", "fe80::1", NULL, "/api/v1/bmcs/fe80%3A%3A1"},
	{"/api/v1/nodes", "A-z_0.9~", NULL, "/api/v1/nodes/A-z_0.9~"},
};

static void test_path(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	for (size_t i = 0; i < NELEM(path_cases); i++) {
		const struct path_case *c = &path_cases[i];
		assert_int_equal(buf_adds(&b, "stale"), 0); /* reset first */
		assert_int_equal(cli_path(&b, c->base, c->name, c->suffix), 0);
		if (strcmp(buf_str(&b), c->want) != 0)
			fail_msg("cli_path(%s, %s, %s): \"%s\", want \"%s\"", c->base, c->name,
				 c->suffix, buf_str(&b), c->want);
	}
	buf_clear(&b);

	/* The buffer's cap holds: -E2BIG, whatever part overflows. */
	buf_init(&b, 16);
	assert_int_equal(cli_path(&b, "/api/v1/nodes", "n1", NULL), 0);
	assert_int_equal(cli_path(&b, "/api/v1/nodes", "n12", NULL), -E2BIG);
	assert_int_equal(cli_path(&b, "/api/v1/nodes", "n", "/x"), -E2BIG);
	assert_int_equal(cli_path(&b, "/api/v1/nodes", " ", NULL), -E2BIG);
	assert_int_equal(cli_path(&b, "/api/v1/nodes/xyz", NULL, NULL), -E2BIG);
	buf_clear(&b);
}

/* ---- cli_read_file ---------------------------------------------------- */

static char tmpdir[64], tmppath[128];

static int setup(void **state)
{
	(void)state;
	if (tmp_make(tmpdir, sizeof(tmpdir), "cli_test_core") < 0)
		return -1;
	snprintf(tmppath, sizeof(tmppath), "%s/f", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(tmppath);
	rmdir(tmpdir);
	return 0;
}

static void write_tmp(const char *data, size_t len)
{
	tmp_file(tmpdir, "f", data, len); /* that is tmppath */
}

static void test_read_file(void **state)
{
	char big[40000];
	struct buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	big[100] = '\0'; /* binary-safe */
	write_tmp(big, sizeof(big));

	/* several read chunks, cap exactly the size */
	buf_init(&b, 1 << 20);
	assert_int_equal(cli_read_file(tmppath, sizeof(big), &b), 0);
	assert_int_equal(b.len, sizeof(big));
	assert_memory_equal(b.data, big, sizeof(big));
	buf_clear(&b);

	/* one byte over the cap */
	buf_init(&b, 1 << 20);
	assert_int_equal(cli_read_file(tmppath, sizeof(big) - 1, &b), -E2BIG);
	buf_clear(&b);

	/* the buffer's own cap also holds */
	buf_init(&b, 100);
	assert_int_equal(cli_read_file(tmppath, sizeof(big), &b), -E2BIG);
	buf_clear(&b);

	/* empty */
	write_tmp("", 0);
	buf_init(&b, 100);
	assert_int_equal(cli_read_file(tmppath, 100, &b), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	buf_clear(&b);

	/* errors as negative errno */
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/none", tmpdir);
	buf_init(&b, 100);
	assert_int_equal(cli_read_file(missing, 100, &b), -ENOENT);
	assert_int_equal(cli_read_file(tmpdir, 100, &b), -EISDIR);
	snprintf(missing, sizeof(missing), "%s/f/x", tmpdir);
	assert_int_equal(cli_read_file(missing, 100, &b), -ENOTDIR);
	/* an endless file stops at the cap */
	assert_int_equal(cli_read_file("/dev/zero", 100, &b), -E2BIG);
	buf_clear(&b);
}

static void test_read_stdin(void **state)
{
	struct buf b;

	(void)state;
	write_tmp("from stdin\n", 11);
	int fd = open(tmppath, O_RDONLY);
	assert_true(fd >= 0);
	int saved = dup(STDIN_FILENO);
	assert_true(dup2(fd, STDIN_FILENO) >= 0);
	close(fd);
	buf_init(&b, 100);
	int rc = cli_read_file("-", 100, &b);
	/* stdin stays open for whoever reads it next */
	int still_open = fcntl(STDIN_FILENO, F_GETFD) >= 0;
	dup2(saved, STDIN_FILENO);
	close(saved);
	assert_int_equal(rc, 0);
	assert_string_equal(buf_str(&b), "from stdin\n");
	assert_true(still_open);
	buf_clear(&b);
}

/* ---- cli_call without a server ---------------------------------------- */

static void test_call_unreachable(void **state)
{
	char url[64], want[128];
	int fd;
	struct cli c = {0};
	struct cli_reply r;

	(void)state;
	int port = closed_port(&fd);
	assert_true(port > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	c.url = url;
	assert_int_equal(cli_http_new(url, "tok", &c.http), 0);
	cli_reply_init(&r);
	capture_start();
	int rc = cli_call(&c, &node_create, "GET", "/api/v1/nodes", NULL, &r);
	capture_end();
	assert_int_equal(rc, CLI_EXIT_CONNECT);
	snprintf(want, sizeof(want), "corral: cannot reach %s: ", url);
	if (strncmp(err_text, want, strlen(want)) != 0)
		fail_msg("stderr \"%s\", want it to start \"%s\"", err_text, want);
	assert_ptr_equal(strchr(err_text, '\n'), err_text + strlen(err_text) - 1); /* one line */
	assert_string_equal(out_text, "");
	cli_reply_clear(&r);

	/* A path over 8 KiB never leaves: a usage error, exit 2. */
	char *path = malloc(9000);
	assert_non_null(path);
	memset(path, 'a', 8999);
	path[0] = '/';
	path[8999] = '\0';
	cli_reply_init(&r);
	capture_start();
	rc = cli_call(&c, &node_create, "GET", path, NULL, &r);
	capture_end();
	free(path);
	assert_int_equal(rc, CLI_EXIT_USAGE);
	assert_string_equal(err_text, "corral: node create: request URL too long\n");
	cli_reply_clear(&r);
	cli_http_free(c.http);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_fail_long),
		cmocka_unit_test(test_fail_flushes_stdout),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_cmd_name),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_read_stdin),
		cmocka_unit_test(test_call_unreachable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
