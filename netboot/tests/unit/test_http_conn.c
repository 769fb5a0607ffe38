/*
 * Unit tests for http's connections and lifetime, against the fixture in
 * httpfix.h (a real server on loopback with a route table of its own;
 * requests over raw sockets).
 *
 * Covered: keep-alive (sequential and pipelined) and what follows an early
 * answer to a request whose body was not read; HTTP/1.0; the done callback
 * (status, route, method, path, client address, bytes, a client that left
 * mid-body); oversized headers and URLs; malformed request lines; unknown
 * methods; http_server_start's errors (each the errno that happened), IPv6,
 * the idle timeout; http_server_free with idle and half-sent connections
 * open; a path that is not UTF-8.  Routing, auth, bodies and error replies
 * are test_http.c.
 *
 * Fixed bugs: a path not UTF-8 crashed the server.  That test runs its
 * server in a child process, so a regression fails instead of killing this
 * binary.
 *
 * Not covered here: suspended connections (hub.c's live streams; corrald
 * resumes them before http_server_free) and handlers that stream a reply
 * (files.c): the integration tests cover both.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpfix.h"

/* ---- connections -------------------------------------------------------------- */

/* Two requests, one after the other, then two pipelined, on one connection. */
static void test_keepalive(void **state)
{
	struct fixture *f = *state;
	struct conn *c = malloc(sizeof(*c));
	struct resp r;
	assert_non_null(c);
	assert_int_equal(conn_open(f->port, c), 0);

	assert_int_equal(send_req(c, "GET", "/open?q=1", NULL, NULL, 0, 0), 0);
	assert_int_equal(read_resp(c, 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_false(r.closed);
	assert_int_equal(send_req(c, "GET", "/items/two", AUTH_READ, NULL, 0, 0), 0);
	assert_int_equal(read_resp(c, 0, &r), 0);
	assert_int_equal(r.status, 200);
	json_t *j = resp_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "label")), "item");
	json_decref(j);

	/* answers made after the body was read keep the connection too */
	assert_int_equal(send_req(c, "POST", "/form", NULL, "0123456789abcdefXYZ", 19, 0), 0);
	assert_int_equal(read_resp(c, 0, &r), 0);
	assert_int_equal(r.status, 413);
	assert_false(r.closed);
	assert_int_equal(send_req(c, "GET", "/fail", NULL, NULL, 0, 0), 0);
	assert_int_equal(read_resp(c, 0, &r), 0);
	assert_int_equal(r.status, 500);
	assert_false(r.closed);
	assert_int_equal(
		send_req(c, "GET", "/err?status=409&code=conflict&msg=x", NULL, NULL, 0, 0), 0);
	assert_int_equal(read_resp(c, 0, &r), 0);
	assert_int_equal(r.status, 409);
	assert_false(r.closed);

	/* pipelined: both answered, in order */
	const char two[] = "GET /open?q=first HTTP/1.1\r\nHost: t\r\n\r\n"
			   "POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc";
	assert_int_equal(send_all(c, two, sizeof(two) - 1), 0);
	assert_int_equal(read_resp(c, 0, &r), 0);
	assert_int_equal(r.status, 200);
	j = resp_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "q")), "first");
	json_decref(j);
	assert_int_equal(read_resp(c, 0, &r), 0);
	assert_int_equal(r.status, 200);
	j = resp_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "label")), "form");
	assert_string_equal(json_string_value(json_object_get(j, "body")), "abc");
	json_decref(j);
	conn_close(c);
	free(c);
}

/*
 * Answers made on the first callback, before any body is read (404, 405,
 * 401, 403, 415, with or without a body): the connection is either kept,
 * and then the next request on it is answered, or closed with
 * "Connection: close".  A body left unread must never be taken for the
 * next request.  (With libmicrohttpd 0.9.75 all of these close.)
 */
static void test_early_answer_then_next(void **state)
{
	struct fixture *f = *state;
	const struct {
		const char *method;
		const char *target;
		const char *headers;
		int with_body;
		unsigned status;
	} cases[] = {
		{"GET", "/nope", NULL, 0, 404},
		{"GET", "/items", NULL, 0, 401},
		{"GET", "/admin", AUTH_READ, 0, 403},
		{"POST", "/open", NULL, 0, 405},
		{"POST", "/items", CT_JSON, 1, 401},
		{"POST", "/nope", CT_JSON, 1, 404},
		{"POST", "/open", CT_JSON, 1, 405},
		{"PUT", "/json", AUTH_READ CT_JSON, 1, 403},
		{"PUT", "/json", AUTH_ADMIN "Content-Type: text/plain\r\n", 1, 415},
	};
	/* a body that is itself a request: it must never be answered */
	const char smuggled[] = "GET /open?q=smuggled HTTP/1.1\r\nHost: t\r\n\r\n";
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct conn *c = malloc(sizeof(*c));
		struct resp r;
		assert_non_null(c);
		assert_int_equal(conn_open(f->port, c), 0);
		assert_int_equal(send_req(c, cases[i].method, cases[i].target, cases[i].headers,
					  cases[i].with_body ? smuggled : NULL,
					  cases[i].with_body ? sizeof(smuggled) - 1 : 0, 0),
				 0);
		assert_int_equal(read_resp(c, 0, &r), 0);
		assert_int_equal(r.status, cases[i].status);
		if (r.closed) {
			if (!peer_closed(c, IO_TIMEOUT_S * 1000))
				fail_msg("%s %s: said close, stayed open", cases[i].method,
					 cases[i].target);
		} else {
			assert_int_equal(send_req(c, "GET", "/open?q=next", NULL, NULL, 0, 0), 0);
			assert_int_equal(read_resp(c, 0, &r), 0);
			assert_int_equal(r.status, 200);
			json_t *j = resp_json(&r);
			assert_string_equal(json_string_value(json_object_get(j, "q")), "next");
			json_decref(j);
		}
		conn_close(c);
		free(c);
	}
}

/* HTTP/1.0 without keep-alive: one answer, then the server closes. */
static void test_http10(void **state)
{
	struct fixture *f = *state;
	const char req[] = "GET /open HTTP/1.0\r\n\r\n";
	struct conn *c = malloc(sizeof(*c));
	struct resp r;
	assert_non_null(c);
	assert_int_equal(conn_open(f->port, c), 0);
	assert_int_equal(send_all(c, req, sizeof(req) - 1), 0);
	assert_int_equal(read_resp(c, 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(peer_closed(c, IO_TIMEOUT_S * 1000));
	conn_close(c);
	free(c);
}

/* ---- the done callback --------------------------------------------------------- */

/* One request after the other: the callback sees each, with what it got. */
static void test_done_callback(void **state)
{
	struct fixture *f = *state;
	const struct {
		const char *method;
		const char *target;
		const char *headers;
		size_t body_len;
		unsigned status;
		const char *label;
		enum http_method method_id;
		const char *path;
	} seq[] = {
		{"GET", "/items/n%201", AUTH_READ, 0, 200, "item", HTTP_GET, "/items/n 1"},
		{"GET", "/nope", NULL, 0, 404, NULL, HTTP_GET, "/nope"},
		{"POST", "/open", NULL, 0, 405, NULL, HTTP_POST, "/open"},
		{"GET", "/items", NULL, 0, 401, "items", HTTP_GET, "/items"},
		{"DELETE", "/items/x", AUTH_READ, 0, 403, "item", HTTP_DELETE, "/items/x"},
		{"POST", "/form", NULL, FORM_CAP + 1, 413, "form", HTTP_POST, "/form"},
		{"GET", "/fail", NULL, 0, 500, "fail", HTTP_GET, "/fail"},
		{"HEAD", "/open", NULL, 0, 200, "open", HTTP_HEAD, "/open"},
		{"PATCH", "/split", NULL, 0, 200, "split_patch", HTTP_PATCH, "/split"},
	};
	char body[64];
	memset(body, 'b', sizeof(body));
	quiesce(f);
	unsigned base = done_count(f);
	uint64_t sizes[NELEM(seq)];
	for (size_t i = 0; i < NELEM(seq); i++) {
		struct resp r;
		roundtrip(f, seq[i].method, seq[i].target, seq[i].headers,
			  seq[i].body_len ? body : NULL, seq[i].body_len, 0, &r);
		assert_int_equal(r.status, seq[i].status);
		char cl[32] = "0";
		resp_header(&r, "Content-Length", cl, sizeof(cl));
		sizes[i] = strtoull(cl, NULL, 10);
		/* one at a time, so the records come in this order */
		assert_int_equal(wait_done(f, base + (unsigned)i + 1), 0);
	}
	assert_int_equal(done_count(f), base + NELEM(seq));
	for (size_t i = 0; i < NELEM(seq); i++) {
		struct rec d = done_get(f, base + (unsigned)i);
		if (d.status != seq[i].status)
			fail_msg("request %zu: done saw %u, want %u", i, d.status, seq[i].status);
		if (seq[i].label == NULL)
			assert_null(d.label);
		else
			assert_string_equal(d.label, seq[i].label);
		assert_int_equal(d.method_id, seq[i].method_id);
		assert_string_equal(d.path, seq[i].path);
		assert_string_equal(d.client_ip, "127.0.0.1");
		/*
		 * bytes_out: what the reply's body holds, as its Content-Length
		 * says; 401 and 405 are built by hand in http_begin and leave it 0.
		 */
		if (seq[i].status != 405 && seq[i].status != 401)
			assert_int_equal(d.bytes_out, sizes[i]);
	}
}

/* A client that leaves mid-body: the handler never runs; done sees status 0. */
static void test_done_client_gone(void **state)
{
	struct fixture *f = *state;
	const char partial[] = "POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc";
	struct conn *c = malloc(sizeof(*c));
	assert_non_null(c);
	quiesce(f);
	unsigned base = done_count(f);
	unsigned calls = atomic_load(&f->calls);
	assert_int_equal(conn_open(f->port, c), 0);
	assert_int_equal(send_all(c, partial, sizeof(partial) - 1), 0);
	struct timespec ts = {0, 100 * 1000 * 1000};
	nanosleep(&ts, NULL);
	conn_close(c);
	free(c);
	assert_int_equal(wait_done(f, base + 1), 0);
	struct rec d = done_get(f, base);
	assert_int_equal(d.status, 0);
	assert_string_equal(d.label, "form");
	assert_int_equal(atomic_load(&f->calls), calls);
}

/* ---- malformed and oversized requests --------------------------------------------- */

struct raw_case {
	const char *name;
	const char *raw;
	unsigned status; /* 0: no answer, the connection just closes */
};

static const struct raw_case raw_cases[] = {
	{"garbage request line", "GARBAGE\r\n\r\n", 0},
	{"no version", "GET /open\r\n\r\n", 400},
	{"header without colon", "GET /open HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400},
	{"bad version", "GET /open HTTP/9.9\r\nHost: t\r\n\r\n", 505},
	{"negative length", "POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400},
	{"length past 2^64",
	 "POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413},
	{"bad chunk size",
	 "POST /form HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
	 400},
	/* a target that is not an origin-form path matches no route */
	{"relative target", "GET open HTTP/1.1\r\nHost: t\r\n\r\n", 404},
	{"asterisk target", "GET * HTTP/1.1\r\nHost: t\r\n\r\n", 404},
};

/* Each gets an answer (or a closed connection), never a handler, and the server stays up. */
static void test_malformed(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < NELEM(raw_cases); i++) {
		const struct raw_case *c = &raw_cases[i];
		unsigned calls = atomic_load(&f->calls);
		struct resp r;
		roundtrip_raw(f->port, c->raw, strlen(c->raw), &r);
		if (r.status != c->status)
			fail_msg("%s: %u, want %u", c->name, r.status, c->status);
		assert_int_equal(atomic_load(&f->calls), calls);
		roundtrip(f, "GET", "/open", NULL, NULL, 0, 0, &r);
		assert_int_equal(r.status, 200);
	}
}

/* Headers or a URL beyond MHD's per-connection memory: MHD answers, no handler runs. */
static void test_oversized_head(void **state)
{
	struct fixture *f = *state;
	size_t big = 70000;
	char *raw = malloc(big + 256);
	assert_non_null(raw);
	const struct {
		const char *name;
		const char *before, *after; /* around the filler */
		unsigned status;
	} cases[] = {
		{"huge header", "GET /open HTTP/1.1\r\nHost: t\r\nX-Big: ", "\r\n\r\n", 431},
		{"huge URL", "GET /files/", " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
		{"huge token", "GET /items HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ",
		 "\r\n\r\n", 431},
	};
	char *filler = malloc(big + 1);
	assert_non_null(filler);
	memset(filler, 'a', big);
	filler[big] = '\0';
	for (size_t i = 0; i < NELEM(cases); i++) {
		unsigned calls = atomic_load(&f->calls);
		unsigned asked = atomic_load(&f->auth_calls);
		quiesce(f);
		unsigned base = done_count(f);
		int n = snprintf(raw, big + 256, "%s%s%s", cases[i].before, filler, cases[i].after);
		assert_true(n > 0 && (size_t)n < big + 256);
		struct resp r;
		roundtrip_raw(f->port, raw, (size_t)n, &r);
		if (r.status != cases[i].status)
			fail_msg("%s: %u, want %u", cases[i].name, r.status, cases[i].status);
		assert_int_equal(atomic_load(&f->calls), calls);
		assert_int_equal(atomic_load(&f->auth_calls), asked);
		/* MHD answered alone: the request never reached http.c */
		assert_int_equal(done_count(f), base);
		roundtrip(f, "GET", "/open", NULL, NULL, 0, 0, &r);
		assert_int_equal(r.status, 200);
	}
	free(filler);
	free(raw);
}

/* A method the module does not know: 405, no handler. */
static void test_unknown_method(void **state)
{
	struct fixture *f = *state;
	const char *methods[] = {"OPTIONS", "TRACE", "BREW", "get"};
	for (size_t i = 0; i < NELEM(methods); i++) {
		unsigned calls = atomic_load(&f->calls);
		struct resp r;
		roundtrip(f, methods[i], "/open", NULL, NULL, 0, 0, &r);
		if (r.status != 501)
			fail_msg("%s: %u, want 501", methods[i], r.status);
		assert_error_shape(&r, "not_implemented", NULL);
		assert_int_equal(atomic_load(&f->calls), calls);
	}
}

/* ---- server lifetime ------------------------------------------------------------------- */

/* What http_server_start() returns is what went wrong, not one code for all. */
static void test_start_errors(void **state)
{
	struct fixture *f = *state;
	struct http_server *s = NULL;
	static const struct {
		const char *address;
		int fixture_port; /* the port the fixture holds, else 0 (any) */
		int rc;
	} cases[] = {
		{"", 0, -EINVAL},
		{"localhost", 0, -EINVAL},
		{"127.0.0.256", 0, -EINVAL},
		{"::g", 0, -EINVAL},
		{"1.2.3.4:80", 0, -EINVAL},
		{"127.0.0.1", 1, -EADDRINUSE},
		/* TEST-NET-1 (RFC 5737): on no machine's interfaces; nothing is sent */
		{"192.0.2.1", 0, -EADDRNOTAVAIL},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct http_config cfg = test_config(f, cases[i].address);
		cfg.port = cases[i].fixture_port ? f->port : 0;
		int rc = http_server_start(&cfg, &s);
		if (rc != cases[i].rc)
			fail_msg("\"%s\": %d (%s), want %d (%s)", cases[i].address, rc,
				 strerror(-rc), cases[i].rc, strerror(-cases[i].rc));
		assert_null(s);
	}
	http_server_free(NULL);
	assert_true(f->port != 0);
	assert_int_equal(http_server_port(f->srv), f->port);
}

static void test_ipv6(void **state)
{
	struct fixture *f = fixture_new();
	assert_non_null(f);
	struct http_config cfg = test_config(f, "::1");
	int rc = http_server_start(&cfg, &f->srv);
	if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
		/* A visible skip, never a pass: scripts/run-unit.sh counts it
		 * and prints this reason; under CI=true it is a failure. */
		fixture_free(f);
		print_message("# skip: no IPv6 loopback here (%s)\n", strerror(-rc));
		skip();
	}
	assert_int_equal(rc, 0);
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6,
				    .sin6_port = htons(http_server_port(f->srv))};
	sin6.sin6_addr = in6addr_loopback;
	struct conn *c = malloc(sizeof(*c));
	struct resp r;
	assert_non_null(c);
	assert_int_equal(conn_open_addr((const struct sockaddr *)&sin6, sizeof(sin6), c), 0);
	assert_int_equal(send_req(c, "GET", "/open", NULL, NULL, 0, 0), 0);
	assert_int_equal(read_resp(c, 0, &r), 0);
	conn_close(c);
	free(c);
	assert_int_equal(r.status, 200);
	json_t *j = resp_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "client_ip")), "::1");
	json_decref(j);
	fixture_free(f);
}

/* An idle keep-alive connection is closed after conn_timeout seconds. */
static void test_idle_timeout(void **state)
{
	struct fixture *f = fixture_new();
	assert_non_null(f);
	struct http_config cfg = test_config(f, "127.0.0.1");
	cfg.conn_timeout = 1;
	assert_int_equal(http_server_start(&cfg, &f->srv), 0);
	struct conn *c = malloc(sizeof(*c));
	struct resp r;
	assert_non_null(c);
	assert_int_equal(conn_open(http_server_port(f->srv), c), 0);
	assert_int_equal(send_req(c, "GET", "/open", NULL, NULL, 0, 0), 0);
	assert_int_equal(read_resp(c, 0, &r), 0);
	assert_int_equal(r.status, 200);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(peer_closed(c, 4000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 4);
	conn_close(c);
	free(c);
	fixture_free(f);
}

static void *free_thread(void *arg)
{
	http_server_free(arg);
	return NULL;
}

/* http_server_free returns promptly with an idle and a half-sent connection open. */
static void test_free_with_open_connections(void **state)
{
	struct fixture *f = fixture_new();
	assert_non_null(f);
	struct http_config cfg = test_config(f, "127.0.0.1");
	assert_int_equal(http_server_start(&cfg, &f->srv), 0);
	uint16_t port = http_server_port(f->srv);
	struct conn *idle = malloc(sizeof(*idle));
	struct conn *half = malloc(sizeof(*half));
	struct resp r;
	assert_non_null(idle);
	assert_non_null(half);
	assert_int_equal(conn_open(port, idle), 0);
	assert_int_equal(send_req(idle, "GET", "/open", NULL, NULL, 0, 0), 0);
	assert_int_equal(read_resp(idle, 0, &r), 0);
	assert_int_equal(r.status, 200);
	assert_false(r.closed);
	assert_int_equal(conn_open(port, half), 0);
	const char partial[] = "POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab";
	assert_int_equal(send_all(half, partial, sizeof(partial) - 1), 0);
	struct timespec ts = {0, 100 * 1000 * 1000};
	nanosleep(&ts, NULL);

	pthread_t t;
	struct timespec t0, t1, deadline;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&t, NULL, free_thread, f->srv), 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += IO_TIMEOUT_S;
	int rc = pthread_timedjoin_np(t, NULL, &deadline);
	if (rc != 0)
		fail_msg("http_server_free still running after %d s", IO_TIMEOUT_S);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	f->srv = NULL;
	assert_true(peer_closed(idle, 1000));
	assert_true(peer_closed(half, 1000));
	conn_close(idle);
	conn_close(half);
	free(idle);
	free(half);
	/* the half-sent request finished (unanswered) inside the free */
	assert_int_equal(done_count(f), 2);
	assert_int_equal(done_get(f, 1).status, 0);
	fixture_free(f);
}

/* ---- fixed bugs ---------------------------------------------------------- */

/*
 * Runs a server with the test table in a child process, sends raw to it and
 * reads the answer; *died says whether the child was dead afterwards.  For
 * requests that may crash the server.
 */
static void isolated_request(const char *raw, struct resp *r, int *died)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka catches these to report a test; here they must kill the child */
		const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
		for (size_t i = 0; i < NELEM(sigs); i++)
			signal(sigs[i], SIG_DFL);
		close(p[0]);
		struct fixture *cf = fixture_new();
		struct http_config cfg = test_config(cf, "127.0.0.1");
		uint16_t port = 0;
		if (cf != NULL && http_server_start(&cfg, &cf->srv) == 0)
			port = http_server_port(cf->srv);
		if (write(p[1], &port, sizeof(port)) != sizeof(port) || port == 0)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	uint16_t port = 0;
	ssize_t n = read(p[0], &port, sizeof(port));
	close(p[0]);
	if (n == sizeof(port) && port != 0)
		roundtrip_raw(port, raw, strlen(raw), r);
	else
		memset(r, 0, sizeof(*r));
	/* a crash shows as an unanswered request; give the child a moment to die */
	int st = 0;
	pid_t w = 0;
	for (int i = 0; i < 50 && w == 0; i++) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == 0 && r->status != 0)
			break;
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	*died = w == pid;
	if (!*died) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	if (*died && WIFSIGNALED(st))
		print_message("# server process died of signal %d\n", WTERMSIG(st));
}

/* A path that is not UTF-8 and matches no route gets the same 404 as any other. */
static void test_bug_invalid_utf8_path(void **state)
{
	const char *raws[] = {
		"GET /%FF HTTP/1.1\r\nHost: t\r\n\r\n",
		"GET /nope/\xc3\x28 HTTP/1.1\r\nHost: t\r\n\r\n",
		/* the same through the unknown-method answer */
		"\xff\xfe /open HTTP/1.1\r\nHost: t\r\n\r\n",
	};
	const unsigned want[] = {404, 404, 501};
	for (size_t i = 0; i < NELEM(raws); i++) {
		struct resp r;
		int died = 0;
		isolated_request(raws[i], &r, &died);
		if (died)
			fail_msg("request %zu killed the server", i);
		if (r.status != want[i])
			fail_msg("request %zu: %u, want %u", i, r.status, want[i]);
		assert_error_shape(&r, want[i] == 404 ? "not_found" : "not_implemented", NULL);
	}
}

/*
 * A routed request whose path or message is not UTF-8.  The test handler
 * echoes the path in JSON, which cannot hold it: the server falls back to
 * 500 and stays up.  An error message with such bytes is sent with '?'
 * for them.
 */
static void test_invalid_utf8_routed(void **state)
{
	const char *raws[] = {
		"GET /files/%FF HTTP/1.1\r\nHost: t\r\n\r\n",
		"GET /err?status=400&code=bad_request&msg=%FF HTTP/1.1\r\nHost: t\r\n\r\n",
	};
	const unsigned want[] = {500, 400};
	for (size_t i = 0; i < NELEM(raws); i++) {
		struct resp r;
		int died = 0;
		isolated_request(raws[i], &r, &died);
		assert_false(died);
		if (r.status != want[i])
			fail_msg("request %zu: %u, want %u", i, r.status, want[i]);
	}
}

int main(void)
{
	log_set_level(LOG_LVL_ERROR); /* MHD's notes on refused requests are expected */
	const struct CMUnitTest server[] = {
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_early_answer_then_next),
		cmocka_unit_test(test_http10),
		cmocka_unit_test(test_done_callback),
		cmocka_unit_test(test_done_client_gone),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized_head),
		cmocka_unit_test(test_unknown_method),
		cmocka_unit_test(test_start_errors),
	};
	const struct CMUnitTest lifetime[] = {
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_free_with_open_connections),
	};
	/* forks: no server thread of this process may be running */
	const struct CMUnitTest isolated[] = {
		cmocka_unit_test(test_invalid_utf8_routed),
	};
	const struct CMUnitTest bugs_isolated[] = {
		cmocka_unit_test(test_bug_invalid_utf8_path),
	};
	int failed = cmocka_run_group_tests_name("http_conn_server", server, server_setup,
						 server_teardown);

	failed += cmocka_run_group_tests_name("http_lifetime", lifetime, NULL, NULL);
	failed += cmocka_run_group_tests_name("http_isolated", isolated, NULL, NULL);
	failed +=
		cmocka_run_group_tests_name("http_fixed_bugs_isolated", bugs_isolated, NULL, NULL);
	return failed != 0;
}
