/*
 * Unit tests for what cli_http does without a server: cli_http_escape
 * (only A-Z a-z 0-9 - . _ ~ kept, upper-case hex, UTF-8 byte by byte, the
 * buffer's cap), cli_http_new (a token with a control character refused
 * so no header can be smuggled in; no token, empty token), cli_reply
 * init/clear, and cli_http_request's refusals before or without a peer:
 * an unreachable server (-EIO, status 0, a reason in err), a URL over
 * 8 KiB (-ENAMETOOLONG), and a base URL of another protocol (file://,
 * ftp://: -EIO, nothing read).
 *
 * The requests themselves (headers, bodies, redirects, JSON detection, the
 * reply cap) are tested against a fake server in test_requests.c.  Not
 * covered: the 5 s connect and 60 s total timeouts (too slow for the unit
 * tier).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_http.h"

#include "capture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct esc_case {
	const char *in, *want;
};

static const struct esc_case esc_cases[] = {
	{"", ""},
	{"ABCXYZabcxyz0189", "ABCXYZabcxyz0189"},
	{"-._~", "-._~"},
	{" ", "%20"},
	{"/", "%2F"},
	{"?#&=+", "%3F%23%26%3D%2B"},
	{"%", "%25"},
	{"%2F", "%252F"},
	{":@!$'()*,;", "%3A%40%21%24%27%28%29%2A%2C%3B"},
	{"[]{}|\\^`\"<>", "%5B%5D%7B%7D%7C%5C%5E%60%22%3C%3E"},
	{"\t\r\n\x01\x7f", "%09%0D%0A%01%7F"},
	{"\xc3\xa9", "%C3%A9"},
	{"\xff\xfe", "%FF%FE"},
	{"node 1/../x", "node%201%2F..%2Fx"},
};

static void test_escape(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	for (size_t i = 0; i < NELEM(esc_cases); i++) {
		buf_reset(&b);
		assert_int_equal(buf_adds(&b, "/p/"), 0); /* appends */
		assert_int_equal(cli_http_escape(&b, esc_cases[i].in), 0);
		if (strncmp(buf_str(&b), "/p/", 3) != 0 ||
		    strcmp(buf_str(&b) + 3, esc_cases[i].want) != 0)
			fail_msg("escape(\"%s\"): \"%s\", want \"/p/%s\"", esc_cases[i].in,
				 buf_str(&b), esc_cases[i].want);
	}
	buf_clear(&b);

	/* Every byte but the unreserved ones is escaped. */
	char all[256];
	for (int c = 1; c < 256; c++)
		all[c - 1] = (char)c;
	all[255] = '\0';
	buf_init(&b, 4096);
	assert_int_equal(cli_http_escape(&b, all), 0);
	size_t kept = 26 + 26 + 10 + 4;
	assert_int_equal(b.len, kept + (255 - kept) * 3);
	buf_clear(&b);

	/* The cap: an escape is not split in two. */
	buf_init(&b, 4);
	assert_int_equal(cli_http_escape(&b, "ab"), 0);
	assert_int_equal(cli_http_escape(&b, " "), -E2BIG);
	assert_string_equal(buf_str(&b), "ab");
	buf_clear(&b);
}

struct token_case {
	const char *token;
	int rc;
};

static const struct token_case token_cases[] = {
	{NULL, 0},
	{"", 0},
	{"abc.DEF-123_~+/=", 0},
	{"with space", 0},
	{"caf\xc3\xa9", 0},
	{"a\r\nX-Evil: 1", -EINVAL},
	{"a\nb", -EINVAL},
	{"a\rb", -EINVAL},
	{"a\tb", -EINVAL},
	{"\x01", -EINVAL},
	{"a\x7f", -EINVAL},
};

static void test_new(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(token_cases); i++) {
		struct cli_http *h = NULL;
		int rc = cli_http_new("http://127.0.0.1:1", token_cases[i].token, &h);

		if (rc != token_cases[i].rc)
			fail_msg("token case %zu: rc %d, want %d", i, rc, token_cases[i].rc);
		if (rc == 0) {
			assert_non_null(h);
			cli_http_free(h);
		} else {
			assert_null(h); /* *out untouched on failure */
		}
	}
	cli_http_free(NULL); /* a no-op */
}

static void test_reply(void **state)
{
	struct cli_reply r;

	(void)state;
	cli_reply_init(&r);
	assert_int_equal(r.status, 0);
	assert_null(r.json);
	assert_string_equal(r.err, "");
	assert_string_equal(buf_str(&r.body), "");
	assert_int_equal(r.body.cap, CLI_HTTP_MAX_REPLY);
	r.status = 200;
	r.json = json_object();
	assert_int_equal(buf_adds(&r.body, "{}"), 0);
	snprintf(r.err, sizeof(r.err), "x");
	cli_reply_clear(&r);
	assert_int_equal(r.status, 0);
	assert_null(r.json);
	assert_string_equal(r.err, "");
	assert_int_equal(r.body.len, 0);
	cli_reply_clear(&r); /* twice is fine */
}

static void test_unreachable(void **state)
{
	char url[64];
	int fd;
	struct cli_http *h = NULL;
	struct cli_reply r;

	(void)state;
	int port = closed_port(&fd);
	assert_true(port > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	assert_int_equal(cli_http_new(url, "tok", &h), 0);
	cli_reply_init(&r);
	json_t *body = json_pack("{s:s}", "name", "n1");
	assert_int_equal(cli_http_request(h, "POST", "/api/v1/nodes", body, &r), -EIO);
	assert_int_equal(r.status, 0);
	assert_true(strlen(r.err) > 0);
	assert_null(r.json);
	cli_reply_clear(&r);

	/* The handle is reusable after a failure. */
	cli_reply_init(&r);
	assert_int_equal(cli_http_request(h, "GET", "/api/v1/status", NULL, &r), -EIO);
	cli_reply_clear(&r);
	json_decref(body);
	cli_http_free(h);
	close(fd);
}

static void test_url_too_long(void **state)
{
	struct cli_http *h = NULL;
	struct cli_reply r;
	char *path = malloc(8200);

	(void)state;
	assert_non_null(path);
	assert_int_equal(cli_http_new("http://127.0.0.1:1", NULL, &h), 0);
	/* base (18) + path: 8192 in all passes the length check, 8193 not */
	memset(path, 'a', 8199);
	path[0] = '/';
	path[8192 - 18 + 1] = '\0';
	cli_reply_init(&r);
	assert_int_equal(cli_http_request(h, "GET", path, NULL, &r), -ENAMETOOLONG);
	assert_int_equal(r.status, 0);
	cli_reply_clear(&r);
	path[8192 - 18 + 1] = 'a';
	path[8192 - 18] = '\0';
	cli_reply_init(&r);
	/* at the limit: it is tried (and fails to connect to port 1) */
	assert_int_equal(cli_http_request(h, "GET", path, NULL, &r), -EIO);
	cli_reply_clear(&r);
	free(path);
	cli_http_free(h);
}

/* Only http and https: a base URL of another scheme reads nothing. */
static void test_protocols(void **state)
{
	static const char *const bases[] = {"file://", "ftp://127.0.0.1:1", "gopher://127.0.0.1:1",
					    "dict://127.0.0.1:1"};

	(void)state;
	for (size_t i = 0; i < NELEM(bases); i++) {
		struct cli_http *h = NULL;
		struct cli_reply r;

		assert_int_equal(cli_http_new(bases[i], NULL, &h), 0);
		cli_reply_init(&r);
		int rc = cli_http_request(h, "GET", "/etc/hostname", NULL, &r);
		if (rc != -EIO)
			fail_msg("%s: rc %d, want -EIO", bases[i], rc);
		assert_int_equal(r.body.len, 0);
		assert_int_equal(r.status, 0);
		cli_reply_clear(&r);
		cli_http_free(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),       cmocka_unit_test(test_new),
		cmocka_unit_test(test_reply),        cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_url_too_long), cmocka_unit_test(test_protocols),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
