/*
 * What the CLI's request tests (test_requests.c, test_requests_redfish.c)
 * share: a fake HTTP server in a thread of the test (loopback, port chosen
 * by the kernel, canned replies served in order, every request recorded),
 * and the command runner that parses argv for a real command of the table
 * and runs its handler against that server, with stdout and stderr
 * captured (capture.h).
 *
 * Everything here is static: each test program includes this header once
 * and is its own binary.  setup/teardown start and stop the server around
 * a group, reset empties it before each test.  A test that sets
 * CAPTURE_OUT_LEN or CAPTURE_STREAMS does so before including this.
 */
#ifndef CORRAL_TESTS_FAKE_SERVER_H
#define CORRAL_TESTS_FAKE_SERVER_H

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_args.h"
#include "cli_core.h"
#include "cli_defs.h"
#include "cli_http.h"

#include "capture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the fake server -------------------------------------------------- */

struct fake_reply {
	int status;
	const char *ctype;   /* NULL: no Content-Type */
	const char *body;    /* NULL: empty */
	const char *headers; /* more header lines, each ending "\r\n" */
	size_t fill;         /* > 0: a body of this many 'x' instead */
};

struct fake_req {
	char *method, *path;
	char *head; /* the header lines as sent */
	char *body;
	size_t body_len;
};

#define FAKE_MAX_REPLIES 32
#define FAKE_MAX_REQS 64

static struct {
	int fd, port;
	pthread_t thread;
	pthread_mutex_t mu;
	struct fake_reply replies[FAKE_MAX_REPLIES];
	size_t nreplies, next;
	int repeat_last; /* serve the last reply again once the queue is done */
	struct fake_req reqs[FAKE_MAX_REQS];
	size_t nreqs;
} fake = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static int send_all(int c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(c, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads one request from c into r; 0 or -1. */
static int fake_read(int c, struct fake_req *r)
{
	size_t cap = 1 << 16, len = 0, want = 0, hlen = 0;
	char *buf = malloc(cap + 1);

	if (buf == NULL)
		return -1;
	for (;;) {
		if (hlen == 0) {
			buf[len] = '\0';
			char *end = strstr(buf, "\r\n\r\n");
			if (end != NULL) {
				hlen = (size_t)(end - buf) + 4;
				const char *cl = strcasestr(buf, "\r\nContent-Length:");
				want = hlen +
				       (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
			}
		}
		if (hlen > 0 && len >= want)
			break;
		if (len == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t k = recv(c, buf + len, cap - len, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	if (hlen == 0 || len < want) {
		free(buf);
		return -1;
	}
	char *sp1 = strchr(buf, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	char *eol = strstr(buf, "\r\n");
	if (sp1 == NULL || sp2 == NULL || sp2 > eol) {
		free(buf);
		return -1;
	}
	r->method = strndup(buf, (size_t)(sp1 - buf));
	r->path = strndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	r->head = strndup(eol + 2, hlen - (size_t)(eol + 2 - buf));
	r->body_len = want - hlen;
	r->body = malloc(r->body_len + 1);
	if (r->body != NULL) {
		memcpy(r->body, buf + hlen, r->body_len);
		r->body[r->body_len] = '\0';
	}
	free(buf);
	return 0;
}

static void fake_write(int c, const struct fake_reply *rep)
{
	char head[1024];
	size_t blen = rep->fill > 0 ? rep->fill : rep->body != NULL ? strlen(rep->body) : 0;
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d Canned\r\nContent-Length: %zu\r\nConnection: close\r\n"
			 "%s%s%s%s\r\n",
			 rep->status, blen, rep->ctype ? "Content-Type: " : "",
			 rep->ctype ? rep->ctype : "", rep->ctype ? "\r\n" : "",
			 rep->headers ? rep->headers : "");
	if (n < 0 || (size_t)n >= sizeof(head) || send_all(c, head, (size_t)n) < 0)
		return;
	if (rep->fill == 0) {
		send_all(c, rep->body ? rep->body : "", blen);
		return;
	}
	char chunk[65536];
	memset(chunk, 'x', sizeof(chunk));
	for (size_t left = rep->fill; left > 0;) {
		size_t k = left < sizeof(chunk) ? left : sizeof(chunk);
		if (send_all(c, chunk, k) < 0)
			return; /* the client gave up: fine */
		left -= k;
	}
}

static void *fake_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(fake.fd, NULL, NULL);
		if (c < 0 && errno == EINTR)
			continue;
		if (c < 0)
			break;
		struct fake_req r = {0};
		if (fake_read(c, &r) == 0) {
			struct fake_reply rep = {500, "text/plain", "no canned reply left", NULL,
						 0};
			pthread_mutex_lock(&fake.mu);
			if (fake.nreqs < FAKE_MAX_REQS)
				fake.reqs[fake.nreqs++] = r;
			if (fake.next < fake.nreplies)
				rep = fake.replies[fake.next++];
			else if (fake.repeat_last && fake.nreplies > 0)
				rep = fake.replies[fake.nreplies - 1];
			pthread_mutex_unlock(&fake.mu);
			fake_write(c, &rep);
		}
		shutdown(c, SHUT_WR);
		close(c);
	}
	return NULL;
}

static void fake_clear_reqs(void)
{
	pthread_mutex_lock(&fake.mu);
	for (size_t i = 0; i < fake.nreqs; i++) {
		free(fake.reqs[i].method);
		free(fake.reqs[i].path);
		free(fake.reqs[i].head);
		free(fake.reqs[i].body);
	}
	fake.nreqs = 0;
	fake.nreplies = 0;
	fake.next = 0;
	fake.repeat_last = 0;
	pthread_mutex_unlock(&fake.mu);
}

/* Queues the next reply. */
static void fake_push(int status, const char *ctype, const char *body)
{
	pthread_mutex_lock(&fake.mu);
	assert_true(fake.nreplies < FAKE_MAX_REPLIES);
	fake.replies[fake.nreplies++] = (struct fake_reply){status, ctype, body, NULL, 0};
	pthread_mutex_unlock(&fake.mu);
}

static void fake_push_json(int status, const char *body)
{
	fake_push(status, "application/json", body);
}

__attribute__((unused)) static void fake_push_reply(const struct fake_reply *rep)
{
	pthread_mutex_lock(&fake.mu);
	assert_true(fake.nreplies < FAKE_MAX_REPLIES);
	fake.replies[fake.nreplies++] = *rep;
	pthread_mutex_unlock(&fake.mu);
}

static size_t fake_nreqs(void)
{
	pthread_mutex_lock(&fake.mu);
	size_t n = fake.nreqs;
	pthread_mutex_unlock(&fake.mu);
	return n;
}

static const struct fake_req *fake_req(size_t i)
{
	pthread_mutex_lock(&fake.mu);
	const struct fake_req *r = i < fake.nreqs ? &fake.reqs[i] : NULL;
	pthread_mutex_unlock(&fake.mu);
	if (r == NULL)
		fail_msg("request %zu was not sent (%zu were)", i, fake_nreqs());
	return r;
}

/* The value of header name in r (static copy), or NULL. */
__attribute__((unused)) static const char *req_header(const struct fake_req *r, const char *name)
{
	static char val[1024];
	size_t n = strlen(name);

	for (const char *p = r->head; *p != '\0';) {
		const char *eol = strstr(p, "\r\n");
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			snprintf(val, sizeof(val), "%.*s", (int)(eol - v), v);
			return val;
		}
		p = eol + 2;
	}
	return NULL;
}

/* Request i was method path with (JSON) body, or none when body is NULL. */
static void expect_req(size_t i, const char *method, const char *path, const char *body)
{
	const struct fake_req *r = fake_req(i);

	if (strcmp(r->method, method) != 0 || strcmp(r->path, path) != 0)
		fail_msg("request %zu: %s %s, want %s %s", i, r->method, r->path, method, path);
	if (body == NULL) {
		if (r->body_len != 0)
			fail_msg("request %zu: body \"%s\", want none", i, r->body);
		return;
	}
	json_error_t jerr;
	json_t *got = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &jerr);
	json_t *want = json_loads(body, JSON_DECODE_ANY, &jerr);
	if (want == NULL)
		fail_msg("bad expected JSON %s: %s", body, jerr.text);
	if (got == NULL || !json_equal(got, want))
		fail_msg("request %zu (%s %s): body %s, want %s", i, method, path, r->body, body);
	json_decref(got);
	json_decref(want);
}

/* ---- the command runner ------------------------------------------------ */

static char url[64], tmpdir[64];
static struct cli cli;

static int setup(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);

	(void)state;
	if (tmp_make(tmpdir, sizeof(tmpdir), "cli_test_requests") < 0)
		return -1;
	fake.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fake.fd < 0 || bind(fake.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fake.fd, (struct sockaddr *)&sa, &len) < 0 || listen(fake.fd, 16) < 0)
		return -1;
	fake.port = ntohs(sa.sin_port);
	if (pthread_create(&fake.thread, NULL, fake_main, NULL) != 0)
		return -1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", fake.port);
	cli.url = url;
	return cli_http_new(url, "s3cr3t-token", &cli.http) == 0 ? 0 : -1;
}

static const char *const tmpnames[] = {"nodes.yaml", "nodes", "pw"};

static int teardown(void **state)
{
	(void)state;
	shutdown(fake.fd, SHUT_RDWR); /* wakes accept() */
	pthread_join(fake.thread, NULL);
	close(fake.fd);
	fake_clear_reqs();
	cli_http_free(cli.http);
	tmp_remove(tmpdir, tmpnames, NELEM(tmpnames));
	return 0;
}

/* Before each test: no replies queued, no requests recorded. */
static int reset(void **state)
{
	(void)state;
	fake_clear_reqs();
	cli.json = 0;
	return 0;
}

/* run_cmd (capture.h) with this test's cli. */
static int run(const char *resource, const char *verb, const char *const *argv)
{
	return run_cmd(&cli, resource, verb, argv);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOARGS ((const char *const[]){NULL})

/* The run printed nothing on stderr and exactly want on stdout. */
static void expect_out(const char *want)
{
	if (err_text[0] != '\0')
		fail_msg("stderr \"%s\", want nothing", err_text);
	if (strcmp(out_text, want) != 0)
		fail_msg("stdout\n%s\nwant\n%s", out_text, want);
}

/* The run printed want (one line) on stderr. */
static void expect_err(const char *want)
{
	if (strcmp(err_text, want) != 0)
		fail_msg("stderr\n  \"%s\"\nwant\n  \"%s\"", err_text, want);
}

static const char *write_tmp(const char *name, const char *text)
{
	return tmp_file(tmpdir, name, text, strlen(text));
}

#endif /* CORRAL_TESTS_FAKE_SERVER_H */
