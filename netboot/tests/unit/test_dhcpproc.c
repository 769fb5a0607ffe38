/*
 * Unit tests for dhcpproc: running a program to its end (status, first
 * output line, the time limit), wait statuses as text, and the host checks
 * a reload makes (interface exists, port free) on the loopback interface.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dhcpproc.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct run_case {
	const char *script; /* for /bin/sh -c */
	int exit_status;    /* -1: killed (the time limit) */
	const char *out;    /* first line */
};

static const struct run_case run_cases[] = {
	{"echo first; echo second", 0, "first"},
	{"echo 'dnsmasq: bad option' >&2; exit 2", 2, "dnsmasq: bad option"},
	{"exit 3", 3, ""},
	{"printf 'no newline'", 0, "no newline"},
	{"exec 1>&- 2>&-; exit 4", 4, ""},         /* closes its output early */
	{"test \"$PATH\" = /usr/bin:/bin", 0, ""}, /* only the environment given */
	{"test -t 0 || read x; exit $?", 1, ""},   /* stdin is /dev/null: EOF */
	{"sleep 5", -1, ""},
};

static void test_run(void **state)
{
	char *const envp[] = {(char *)"PATH=/usr/bin:/bin", NULL};
	(void)state;
	for (size_t i = 0; i < NELEM(run_cases); i++) {
		const struct run_case *c = &run_cases[i];
		char *const argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)c->script, NULL};
		char out[64] = "untouched";
		int64_t t0 = now_ms();
		/* Only the sleeper may hit the limit: the others get plenty, so a
		 * loaded machine's slow shell start is not taken for a hang. */
		int status = dhcpproc_run(argv, envp, c->exit_status < 0 ? 500 : 10000, out,
					  sizeof(out));
		if (c->exit_status < 0) {
			if (status != -ETIMEDOUT)
				fail_msg("\"%s\": %d, want -ETIMEDOUT", c->script, status);
			assert_true(now_ms() - t0 < 3000);
			continue;
		}
		if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != c->exit_status)
			fail_msg("\"%s\": status %d, want exit %d", c->script, status,
				 c->exit_status);
		if (strcmp(out, c->out) != 0)
			fail_msg("\"%s\": printed \"%s\", want \"%s\"", c->script, out, c->out);
	}
	/* A program that is not there: the child's exit 127. */
	char *const missing[] = {(char *)"/nonexistent/dnsmasq", (char *)"--test", NULL};
	char out[64];
	int status = dhcpproc_run(missing, envp, 2000, out, sizeof(out));
	assert_true(status >= 0 && WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 127);
	/* A long first line is cut to the buffer. */
	char *const longline[] = {(char *)"/bin/sh", (char *)"-c", (char *)"printf '%0300d\\n' 0",
				  NULL};
	assert_int_equal(dhcpproc_run(longline, envp, 2000, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), sizeof(out) - 1);
}

static void test_status_text(void **state)
{
	char t[64];
	(void)state;
	dhcpproc_status_text(2 << 8, t, sizeof(t)); /* as waitpid gives exit(2) */
	assert_string_equal(t, "exited with status 2");
	dhcpproc_status_text(9, t, sizeof(t)); /* SIGKILL */
	assert_string_equal(t, "killed by signal 9");
	char small[8];
	dhcpproc_status_text(2 << 8, small, sizeof(small));
	assert_string_equal(small, ""); /* never cut */
}

static void test_iface_exists(void **state)
{
	(void)state;
	assert_int_equal(dhcpproc_iface_exists("lo"), 0);
	assert_int_equal(dhcpproc_iface_exists("nosuch0"), -ENODEV);
}

/* A socket of type on 127.0.0.1 (port 0: any), listening if TCP; its port in *port. */
static int hold(int type, unsigned *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
	socklen_t len = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, type, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_port_in_use(void **state)
{
	unsigned port = 0;
	(void)state;
	int tcp = hold(SOCK_STREAM, &port);
	assert_int_equal(dhcpproc_port_in_use("lo", port, true), -EADDRINUSE);
	assert_int_equal(dhcpproc_port_in_use("lo", port, false), 0);     /* UDP is free */
	assert_int_equal(dhcpproc_port_in_use("nosuch0", port, true), 0); /* no addresses */
	close(tcp);
	assert_int_equal(dhcpproc_port_in_use("lo", port, true), 0);
	/* UDP held by a program that did not ask to share it */
	port = 0;
	int udp = hold(SOCK_DGRAM, &port);
	assert_int_equal(dhcpproc_port_in_use("lo", port, false), -EADDRINUSE);
	close(udp);
	assert_int_equal(dhcpproc_port_in_use("lo", port, false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_status_text),
		cmocka_unit_test(test_iface_exists),
		cmocka_unit_test(test_port_in_use),
	};
	return cmocka_run_group_tests_name("dhcpproc", tests, NULL, NULL) != 0;
}
