/*
 * Unit tests for http: a real server (http_server_start on 127.0.0.1, port
 * 0, two worker threads) with a route table of this file's own, whose
 * handlers echo what they got (label, method, path, captured args, query,
 * body, granted scope, client address) as JSON, and an auth callback that
 * knows two fixed tokens (one read, one admin).  Requests go over raw
 * sockets, so malformed ones can be sent as they are.
 *
 * Covered: dispatch with ':' and '*' captures, first match in table order,
 * percent-decoding; 404 and 405 (Allow lists exactly the table's methods,
 * HEAD added wherever GET is); 401 (missing, unknown, non-Bearer token;
 * WWW-Authenticate), 403 (read token on a write or an admin read), the auth
 * callback only asked for routes that need a scope; 415 on API writes; the
 * body cap (route's own and the server default): a body at the cap reaches
 * the handler, one byte more gets 413 and the handler never runs, chunked or
 * not; the JSON error shape and http_reply_error's formatting and
 * truncation; the 500 fallbacks when a handler fails or answers nothing;
 * double replies; keep-alive (sequential and pipelined) and what follows an
 * early answer to a request whose body was not read; the done callback
 * (status, route, method, path, client address, bytes, a client that left
 * mid-body); HTTP/1.0; oversized headers and URLs; malformed request lines;
 * http_server_start's errors, IPv6, the idle timeout; http_server_free with
 * idle and half-sent connections open; http_route_methods and
 * http_methods_str over tables of cases.
 *
 * Fixed bugs: the tests named test_bug_* each caught a bug in http.c
 * (a path not UTF-8 crashed the server; %00 cut the path; captures of a
 * partial match stayed in args[]; unknown methods got a 405 without Allow;
 * a refused second reply changed bytes_out).  The one that crashed runs its
 * server in a child process, so a regression fails instead of killing this
 * binary.
 *
 * Not covered here: suspended connections (hub.c's live streams; corrald
 * resumes them before http_server_free) and handlers that stream a reply
 * (files.c): the integration tests cover both.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "log.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define N AUTH_SCOPE_NONE
#define R AUTH_SCOPE_READ
#define A AUTH_SCOPE_ADMIN

#define READ_TOKEN "read-token-0123"
#define ADMIN_TOKEN "admin-token-4567"
#define AUTH_READ "Authorization: Bearer " READ_TOKEN "\r\n"
#define AUTH_ADMIN "Authorization: Bearer " ADMIN_TOKEN "\r\n"
#define CT_JSON "Content-Type: application/json\r\n"

#define SERVER_MAX_BODY 64 /* the test servers' default cap */
#define FORM_CAP 16        /* /form's own cap */
#define JSON_CAP 32        /* /json's own cap */
#define IO_TIMEOUT_S 5     /* any one socket wait */

/* ---- the server side: fixture, handlers, route table ---------------------- */

#define NREC 64

/* What the done callback saw for one request. */
struct rec {
	unsigned status;
	const char *label; /* route label (static), NULL when no route */
	enum http_method method_id;
	char path[160];
	char client_ip[64];
	uint64_t bytes_out;
};

struct fixture {
	struct http_server *srv;
	uint16_t port;
	atomic_uint calls;      /* handler runs */
	atomic_uint auth_calls; /* auth callback runs */
	atomic_int twice_rc[2]; /* what h_twice's second and third replies returned */
	pthread_mutex_t mu;
	struct rec done[NREC]; /* ring, under mu */
	unsigned ndone;        /* requests finished, under mu */
};

static int test_auth(void *ctx, const char *token, enum auth_scope *granted)
{
	struct fixture *f = ctx;
	atomic_fetch_add(&f->auth_calls, 1);
	if (strcmp(token, READ_TOKEN) == 0) {
		*granted = AUTH_SCOPE_READ;
		return 0;
	}
	if (strcmp(token, ADMIN_TOKEN) == 0) {
		*granted = AUTH_SCOPE_ADMIN;
		return 0;
	}
	return -ENOENT;
}

static void test_done(void *ctx, const struct http_req *r)
{
	struct fixture *f = ctx;
	pthread_mutex_lock(&f->mu);
	struct rec *d = &f->done[f->ndone % NREC];
	memset(d, 0, sizeof(*d));
	d->status = r->status;
	d->label = r->route != NULL ? r->route->label : NULL;
	d->method_id = r->method_id;
	snprintf(d->path, sizeof(d->path), "%s", r->path != NULL ? r->path : "");
	snprintf(d->client_ip, sizeof(d->client_ip), "%s", r->client_ip);
	d->bytes_out = r->bytes_out;
	f->ndone++;
	pthread_mutex_unlock(&f->mu);
}

/* Answers 200 with everything the request carried, as JSON. */
static int h_echo(struct http_req *r)
{
	struct fixture *f = r->ctx;
	atomic_fetch_add(&f->calls, 1);
	json_t *args = json_array();
	for (size_t i = 0; args != NULL && i < HTTP_MAX_ARGS; i++)
		json_array_append_new(args,
				      r->args[i] != NULL ? json_string(r->args[i]) : json_null());
	return http_reply_json(
		r, 200,
		json_pack("{s:s, s:s, s:i, s:s, s:o, s:s?, s:s?, s:I, s:s, s:i, s:s}", "label",
			  r->route->label, "method", r->method, "method_id", (int)r->method_id,
			  "path", r->path, "args", args, "q", http_query(r, "q"), "hdr",
			  http_header(r, "X-Echo"), "body_len", (json_int_t)r->body.len, "body",
			  buf_str(&r->body), "granted", (int)r->granted, "client_ip",
			  r->client_ip));
}

/* http_reply_error with what the query asks: status, code, field, msg. */
static int h_err(struct http_req *r)
{
	struct fixture *f = r->ctx;
	atomic_fetch_add(&f->calls, 1);
	const char *st = http_query(r, "status");
	const char *msg = http_query(r, "msg");
	unsigned long status = st != NULL ? strtoul(st, NULL, 10) : 400;
	return http_reply_error(r, (unsigned)status, http_query(r, "code"), http_query(r, "field"),
				"%s (%d)", msg != NULL ? msg : "", 42);
}

/* Fails without answering: the server must answer 500. */
static int h_fail(struct http_req *r)
{
	struct fixture *f = r->ctx;
	atomic_fetch_add(&f->calls, 1);
	return -EIO;
}

/* Claims success without answering: still 500. */
static int h_silent(struct http_req *r)
{
	struct fixture *f = r->ctx;
	atomic_fetch_add(&f->calls, 1);
	return 0;
}

/* Answers, then tries twice more: only the first reply counts. */
static int h_twice(struct http_req *r)
{
	struct fixture *f = r->ctx;
	atomic_fetch_add(&f->calls, 1);
	int rc = http_reply_data(r, 200, "text/plain", "first", 5);
	atomic_store(&f->twice_rc[0], http_reply_empty(r, 204));
	atomic_store(&f->twice_rc[1], http_reply(r, 202, NULL));
	return rc;
}

static const struct http_route test_routes[] = {
	{HTTP_GET, "/open", N, N, 0, h_echo, "open"},
	{HTTP_GET | HTTP_POST, "/items", R, A, 0, h_echo, "items"},
	{HTTP_GET | HTTP_PUT | HTTP_DELETE, "/items/:", R, A, 0, h_echo, "item"},
	{HTTP_GET, "/items/:/sub/:", R, A, 0, h_echo, "item_sub"},
	{HTTP_GET, "/admin", A, A, 0, h_echo, "admin"},
	{HTTP_GET, "/files/*", N, N, 0, h_echo, "files"},
	{HTTP_GET, "/pair/:/:", N, N, 0, h_echo, "pair"},
	{HTTP_GET, "/deep/:/:/:/end", N, N, 0, h_echo, "deep3"},
	{HTTP_GET, "/deep/*", N, N, 0, h_echo, "deep_rest"},
	{HTTP_GET, "/four/:/:/:/:", N, N, 0, h_echo, "four"}, /* more than HTTP_MAX_ARGS */
	{HTTP_POST, "/form", N, N, FORM_CAP, h_echo, "form"},
	{HTTP_POST, "/dflt", N, N, 0, h_echo, "dflt"},
	{HTTP_PUT, "/json", N, A, JSON_CAP, h_echo, "json"},
	{HTTP_GET, "/err", N, N, 0, h_err, "err"},
	{HTTP_GET, "/fail", N, N, 0, h_fail, "fail"},
	{HTTP_GET, "/silent", N, N, 0, h_silent, "silent"},
	{HTTP_GET, "/twice", N, N, 0, h_twice, "twice"},
	/* one path, two routes: 405's Allow is their union */
	{HTTP_DELETE, "/split", N, N, 0, h_echo, "split_del"},
	{HTTP_PATCH, "/split", N, N, 0, h_echo, "split_patch"},
};

static struct http_config test_config(struct fixture *f, const char *address)
{
	struct http_config cfg = {
		.address = address,
		.port = 0,
		.threads = 2,
		.max_body = SERVER_MAX_BODY,
		.conn_timeout = 30,
		.routes = test_routes,
		.nroutes = NELEM(test_routes),
		.auth = test_auth,
		.done = test_done,
		.ctx = f,
	};
	return cfg;
}

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f != NULL)
		pthread_mutex_init(&f->mu, NULL);
	return f;
}

static void fixture_free(struct fixture *f)
{
	if (f == NULL)
		return;
	http_server_free(f->srv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static int server_setup(void **state)
{
	struct fixture *f = fixture_new();
	if (f == NULL)
		return -1;
	struct http_config cfg = test_config(f, "127.0.0.1");
	if (http_server_start(&cfg, &f->srv) != 0) {
		fixture_free(f);
		return -1;
	}
	f->port = http_server_port(f->srv);
	*state = f;
	return 0;
}

static int server_teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static unsigned done_count(struct fixture *f)
{
	pthread_mutex_lock(&f->mu);
	unsigned n = f->ndone;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* Waits until n requests have finished (the callback runs after the reply). */
static int wait_done(struct fixture *f, unsigned n)
{
	for (int i = 0; i < IO_TIMEOUT_S * 100; i++) {
		if (done_count(f) >= n)
			return 0;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

/*
 * Waits until no request is finishing (the count holds still for 200 ms),
 * so that a test's first record is its own and not a late one of the
 * test before.
 */
static void quiesce(struct fixture *f)
{
	unsigned last = done_count(f);
	int still = 0;
	for (int i = 0; i < IO_TIMEOUT_S * 100 && still < 20; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		unsigned n = done_count(f);
		still = n == last ? still + 1 : 0;
		last = n;
	}
}

static struct rec done_get(struct fixture *f, unsigned i)
{
	pthread_mutex_lock(&f->mu);
	struct rec d = f->done[i % NREC];
	pthread_mutex_unlock(&f->mu);
	return d;
}

/* ---- the client side: raw sockets ------------------------------------------ */

struct conn {
	int fd;
	size_t inlen;
	char in[1 << 16]; /* bytes received, not yet consumed */
};

struct resp {
	unsigned status; /* 0: no (complete) response */
	int closed;      /* the peer closed after it */
	size_t body_len;
	char head[8192]; /* status line and headers */
	char body[16384];
};

static int conn_open_addr(const struct sockaddr *sa, socklen_t salen, struct conn *c)
{
	c->inlen = 0;
	c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	struct timeval tv = {IO_TIMEOUT_S, 0};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, sa, salen) < 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static int conn_open(uint16_t port, struct conn *c)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return conn_open_addr((const struct sockaddr *)&sin, sizeof(sin), c);
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int send_all(struct conn *c, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads more bytes; 1 got some, 0 end of stream, -1 error or timeout. */
static int conn_fill(struct conn *c)
{
	if (c->inlen == sizeof(c->in))
		return -1;
	ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n < 0)
		return -1;
	c->inlen += (size_t)n;
	return n > 0;
}

static void conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->inlen - n);
	c->inlen -= n;
}

/* Value of a response header (first one, name case-insensitive) into out. */
static int resp_header(const struct resp *r, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	for (const char *l = strstr(r->head, "\r\n"); l != NULL; l = strstr(l, "\r\n")) {
		l += 2;
		if (strncasecmp(l, name, nlen) != 0 || l[nlen] != ':')
			continue;
		const char *v = l + nlen + 1;
		v += strspn(v, " \t");
		size_t vlen = strcspn(v, "\r\n");
		snprintf(out, outlen, "%.*s", (int)vlen, v);
		return 1;
	}
	return 0;
}

/*
 * Reads one response.  head_only: the request was HEAD (no body follows).
 * Returns 0, or -1 when the connection ended or stalled first (r->status
 * is then 0 if not even the head came).
 */
static int read_resp(struct conn *c, int head_only, struct resp *r)
{
	memset(r, 0, sizeof(*r));
	char *eoh;
	for (;;) {
		eoh = memmem(c->in, c->inlen, "\r\n\r\n", 4);
		if (eoh != NULL)
			break;
		int rc = conn_fill(c);
		if (rc <= 0) {
			r->closed = rc == 0;
			return -1;
		}
	}
	size_t hlen = (size_t)(eoh - c->in) + 4;
	if (hlen >= sizeof(r->head))
		return -1;
	memcpy(r->head, c->in, hlen);
	r->head[hlen] = '\0';
	conn_consume(c, hlen);
	unsigned status = 0;
	if (sscanf(r->head, "HTTP/1.%*1[01] %3u", &status) != 1)
		return -1;
	r->status = status;

	char v[64];
	int has_len = resp_header(r, "Content-Length", v, sizeof(v));
	size_t want = has_len ? strtoul(v, NULL, 10) : 0;
	int to_eof = !has_len;
	if (head_only || status < 200 || status == 204 || status == 304) {
		want = 0;
		to_eof = 0;
	}
	if (want >= sizeof(r->body))
		return -1;
	while (to_eof || c->inlen < want) {
		int rc = conn_fill(c);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			r->closed = 1;
			if (to_eof)
				break;
			return -1;
		}
		if (to_eof && c->inlen >= sizeof(r->body))
			return -1;
	}
	if (to_eof)
		want = c->inlen;
	memcpy(r->body, c->in, want);
	r->body[want] = '\0';
	r->body_len = want;
	conn_consume(c, want);
	char conn_hdr[32];
	if (resp_header(r, "Connection", conn_hdr, sizeof(conn_hdr)) &&
	    strcasecmp(conn_hdr, "close") == 0)
		r->closed = 1;
	return 0;
}

/* Waits for the peer to close; 1 closed, 0 still open after timeout_ms. */
static int peer_closed(struct conn *c, int timeout_ms)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	char b[256];
	ssize_t n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/*
 * Sends one request.  headers: extra lines, each ending in "\r\n".  body:
 * sent with Content-Length, or with chunked encoding (in two chunks) when
 * chunked is set; none when NULL.
 */
static int send_req(struct conn *c, const char *method, const char *target, const char *headers,
		    const char *body, size_t body_len, int chunked)
{
	char head[8192];
	char lenhdr[64] = "";
	if (body != NULL && chunked)
		snprintf(lenhdr, sizeof(lenhdr), "Transfer-Encoding: chunked\r\n");
	else if (body != NULL)
		snprintf(lenhdr, sizeof(lenhdr), "Content-Length: %zu\r\n", body_len);
	int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: test\r\n%s%s\r\n", method,
			 target, headers != NULL ? headers : "", lenhdr);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	if (send_all(c, head, (size_t)n) < 0)
		return -1;
	if (body == NULL)
		return 0;
	if (!chunked)
		return send_all(c, body, body_len);
	size_t half = body_len / 2;
	const struct {
		const char *p;
		size_t len;
	} parts[] = {{body, half}, {body + half, body_len - half}};
	for (size_t i = 0; i < NELEM(parts); i++) {
		char sz[32];
		if (parts[i].len == 0)
			continue;
		n = snprintf(sz, sizeof(sz), "%zx\r\n", parts[i].len);
		if (send_all(c, sz, (size_t)n) < 0 || send_all(c, parts[i].p, parts[i].len) < 0 ||
		    send_all(c, "\r\n", 2) < 0)
			return -1;
	}
	return send_all(c, "0\r\n\r\n", 5);
}

/* One request on a connection of its own. */
static void roundtrip(struct fixture *f, const char *method, const char *target,
		      const char *headers, const char *body, size_t body_len, int chunked,
		      struct resp *r)
{
	struct conn *c = malloc(sizeof(*c));
	assert_non_null(c);
	assert_int_equal(conn_open(f->port, c), 0);
	/* the server may answer and close before the whole body is sent */
	int sent = send_req(c, method, target, headers, body, body_len, chunked);
	int rc = read_resp(c, strcmp(method, "HEAD") == 0, r);
	conn_close(c);
	free(c);
	if (rc != 0)
		fail_msg("%s %s: no answer (send %d, status %u)", method, target, sent, r->status);
}

/* Raw bytes on a connection of their own; r->status 0 if nothing came back. */
static void roundtrip_raw(uint16_t port, const char *raw, size_t len, struct resp *r)
{
	struct conn *c = malloc(sizeof(*c));
	assert_non_null(c);
	assert_int_equal(conn_open(port, c), 0);
	(void)send_all(c, raw, len); /* the server may answer and close early */
	if (read_resp(c, 0, r) < 0 && r->status == 0)
		memset(r, 0, sizeof(*r));
	conn_close(c);
	free(c);
}

static json_t *resp_json(const struct resp *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body, r->body_len, 0, &e);
	if (j == NULL)
		print_error("not JSON (%s): %.200s\n", e.text, r->body);
	return j;
}

/* The one error shape: {"error":{"code","message"[,"field"]}} as JSON. */
static void assert_error_shape(const struct resp *r, const char *code, const char *field)
{
	char ct[64];
	assert_true(resp_header(r, "Content-Type", ct, sizeof(ct)));
	assert_string_equal(ct, "application/json");
	json_t *j = resp_json(r);
	assert_non_null(j);
	assert_true(json_is_object(j));
	assert_int_equal(json_object_size(j), 1);
	json_t *e = json_object_get(j, "error");
	assert_true(json_is_object(e));
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	const char *msg = json_string_value(json_object_get(e, "message"));
	assert_non_null(msg);
	assert_true(msg[0] != '\0');
	if (field != NULL) {
		assert_string_equal(json_string_value(json_object_get(e, "field")), field);
		assert_int_equal(json_object_size(e), 3);
	} else {
		assert_null(json_object_get(e, "field"));
		assert_int_equal(json_object_size(e), 2);
	}
	json_decref(j);
}

/* ---- http_methods_str, http_route_methods (no server) ---------------------- */

#define ALL_METHODS (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE)

struct methods_str_case {
	unsigned mask;
	const char *want;
};

static const struct methods_str_case methods_str_cases[] = {
	{0, ""},
	{HTTP_GET, "GET"},
	{HTTP_HEAD, "HEAD"},
	{HTTP_GET | HTTP_HEAD, "GET, HEAD"},
	{HTTP_POST | HTTP_GET, "GET, POST"}, /* always in the table's order */
	{HTTP_DELETE | HTTP_PATCH, "PATCH, DELETE"},
	{HTTP_PUT | HTTP_DELETE | HTTP_GET, "GET, PUT, DELETE"},
	{ALL_METHODS, "GET, HEAD, POST, PUT, PATCH, DELETE"},
	{1u << 12, ""},                 /* unknown bits are ignored */
	{HTTP_POST | 1u << 12, "POST"}, /* ... even next to known ones */
	{~0u, "GET, HEAD, POST, PUT, PATCH, DELETE"},
};

static void test_methods_str(void **state)
{
	for (size_t i = 0; i < NELEM(methods_str_cases); i++) {
		const struct methods_str_case *c = &methods_str_cases[i];
		char out[128];
		memset(out, 'x', sizeof(out));
		http_methods_str(c->mask, out, sizeof(out));
		if (strcmp(out, c->want) != 0)
			fail_msg("mask 0x%x: \"%s\", want \"%s\"", c->mask, out, c->want);
	}
}

/* A short buffer: never overruns, always NUL-terminated, a prefix of the full text. */
static void test_methods_str_short(void **state)
{
	const char *full = "GET, HEAD, POST, PUT, PATCH, DELETE";
	for (size_t outlen = 1; outlen <= strlen(full) + 1; outlen++) {
		char out[64];
		memset(out, 'x', sizeof(out));
		http_methods_str(ALL_METHODS, out, outlen);
		assert_true(memchr(out, '\0', outlen) != NULL);
		for (size_t i = outlen; i < sizeof(out); i++)
			assert_int_equal(out[i], 'x');
		assert_true(strncmp(full, out, strlen(out)) == 0);
	}
	char exact[36];
	http_methods_str(ALL_METHODS, exact, sizeof(exact));
	assert_string_equal(exact, full);
}

struct route_methods_case {
	const char *path;
	unsigned want;
};

/* Against test_routes. */
static const struct route_methods_case route_methods_cases[] = {
	{"/open", HTTP_GET | HTTP_HEAD},
	{"/items", HTTP_GET | HTTP_HEAD | HTTP_POST},
	{"/items/n1", HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_DELETE},
	{"/items/n1/sub/s1", HTTP_GET | HTTP_HEAD},
	{"/items/n1/sub", 0},
	{"/items/n1/sub/", 0},
	{"/items/", 0},  /* ':' never matches an empty segment */
	{"/items//", 0}, /* ... nor an empty one followed by more */
	{"/items/n1/", 0},
	{"/itemsx", 0},
	{"/item", 0},
	{"/ITEMS", 0}, /* case matters */
	{"/form", HTTP_POST},
	{"/split", HTTP_PATCH | HTTP_DELETE},
	{"/files/a", HTTP_GET | HTTP_HEAD},
	{"/files/a/b/c.txt", HTTP_GET | HTTP_HEAD},
	{"/files/", 0}, /* '*' needs at least one byte */
	{"/files", 0},
	{"/pair/a/b", HTTP_GET | HTTP_HEAD},
	{"/pair/a", 0},
	{"/pair/a/b/c", 0},
	{"/deep/a/b/c/end", HTTP_GET | HTTP_HEAD},
	{"/deep/a", HTTP_GET | HTTP_HEAD},
	{"/four/a/b/c/d", 0}, /* a fourth capture never fits */
	{"", 0},
	{"/", 0},
	{"open", 0},
};

static void test_route_methods(void **state)
{
	for (size_t i = 0; i < NELEM(route_methods_cases); i++) {
		const struct route_methods_case *c = &route_methods_cases[i];
		unsigned got = http_route_methods(test_routes, NELEM(test_routes), c->path);
		if (got != c->want)
			fail_msg("%s: 0x%x, want 0x%x", c->path, got, c->want);
	}
}

struct pattern_case {
	const char *pattern;
	unsigned methods;
	const char *path;
	unsigned want;
};

/* One route at a time: what a pattern matches; HEAD is added to GET only. */
static const struct pattern_case pattern_cases[] = {
	{"/", HTTP_GET, "/", HTTP_GET | HTTP_HEAD},
	{"/", HTTP_GET, "/x", 0},
	{"/:", HTTP_GET, "/x", HTTP_GET | HTTP_HEAD},
	{"/:", HTTP_GET, "/", 0},
	{"/*", HTTP_GET, "/x/y/z", HTTP_GET | HTTP_HEAD},
	{"/a/:/b", HTTP_DELETE, "/a/x/b", HTTP_DELETE},
	{"/a/:/b", HTTP_DELETE, "/a//b", 0},
	{"/a/:/b", HTTP_DELETE, "/a/x/bb", 0},
	{"/a/:/:/:", HTTP_PUT, "/a/1/2/3", HTTP_PUT},
	{"/a/:/:/:/:", HTTP_PUT, "/a/1/2/3/4", 0},
	{"/a/*", HTTP_POST, "/a/x", HTTP_POST},
	{"/a/*", HTTP_POST, "/a", 0},
	{"/a", HTTP_HEAD, "/a", HTTP_HEAD},
	{"/a", HTTP_GET | HTTP_POST, "/a", HTTP_GET | HTTP_HEAD | HTTP_POST},
	{"/a", 0, "/a", 0},
};

static void test_route_methods_patterns(void **state)
{
	for (size_t i = 0; i < NELEM(pattern_cases); i++) {
		const struct pattern_case *c = &pattern_cases[i];
		struct http_route rt = {c->methods, c->pattern, N, N, 0, h_echo, "t"};
		unsigned got = http_route_methods(&rt, 1, c->path);
		if (got != c->want)
			fail_msg("%s on %s: 0x%x, want 0x%x", c->pattern, c->path, got, c->want);
	}
	assert_int_equal(http_route_methods(test_routes, 0, "/open"), 0);
}

/* Captures are copied into a 512-byte buffer: 511 bytes fit, 512 do not. */
static void test_route_methods_capture_size(void **state)
{
	struct http_route rt = {HTTP_GET, "/a/:", N, N, 0, h_echo, "t"};
	char path[600];
	for (size_t n = 509; n <= 513; n++) {
		int len = snprintf(path, sizeof(path), "/a/%0*d", (int)n, 0);
		assert_int_equal((size_t)len, 3 + n);
		unsigned want = n <= 511 ? HTTP_GET | HTTP_HEAD : 0;
		if (http_route_methods(&rt, 1, path) != want)
			fail_msg("capture of %zu bytes", n);
	}
}

/* ---- routing over the wire --------------------------------------------------- */

struct route_case {
	const char *method;
	const char *target; /* as sent */
	unsigned status;
	const char *label; /* 200: the route that ran */
	const char *path;  /* 200: r->path; NULL: the target as sent */
	const char *args[HTTP_MAX_ARGS];
	const char *q;     /* 200: query "q" */
	const char *allow; /* 405: the Allow header */
};

static const struct route_case route_cases[] = {
	{"GET", "/open", 200, "open", NULL, {NULL}, NULL, NULL},
	{"GET", "/open?q=hello%20world&x=1", 200, "open", "/open", {NULL}, "hello world", NULL},
	{"GET", "/open?q=", 200, "open", "/open", {NULL}, "", NULL},
	{"GET", "/items", 200, "items", NULL, {NULL}, NULL, NULL},
	{"POST", "/items", 200, "items", NULL, {NULL}, NULL, NULL},
	{"GET", "/items/n1", 200, "item", NULL, {"n1"}, NULL, NULL},
	{"PUT", "/items/n1", 200, "item", NULL, {"n1"}, NULL, NULL},
	{"DELETE", "/items/n1", 200, "item", NULL, {"n1"}, NULL, NULL},
	{"GET", "/items/n1?q=a/b", 200, "item", "/items/n1", {"n1"}, "a/b", NULL},
	{"GET", "/items/n1/sub/s2", 200, "item_sub", NULL, {"n1", "s2"}, NULL, NULL},
	{"GET", "/pair/x/y", 200, "pair", NULL, {"x", "y"}, NULL, NULL},
	{"GET", "/deep/1/2/3/end", 200, "deep3", NULL, {"1", "2", "3"}, NULL, NULL},
	{"GET", "/deep/x", 200, "deep_rest", NULL, {"x"}, NULL, NULL},
	{"GET", "/files/a", 200, "files", NULL, {"a"}, NULL, NULL},
	{"GET", "/files/dir/sub/f.txt", 200, "files", NULL, {"dir/sub/f.txt"}, NULL, NULL},
	{"PATCH", "/split", 200, "split_patch", NULL, {NULL}, NULL, NULL},
	{"DELETE", "/split", 200, "split_del", NULL, {NULL}, NULL, NULL},
	/* the path is percent-decoded before matching */
	{"GET", "/items/a%20b", 200, "item", "/items/a b", {"a b"}, NULL, NULL},
	{"GET", "/items/caf%C3%A9", 200, "item", "/items/caf\xc3\xa9", {"caf\xc3\xa9"}, NULL, NULL},
	{"GET", "/%6Fpen", 200, "open", "/open", {NULL}, NULL, NULL},
	/* ... so an encoded slash separates segments like a plain one */
	{"GET", "/files/a%2Fb", 200, "files", "/files/a/b", {"a/b"}, NULL, NULL},
	{"GET", "/items/x%2Fsub%2Fy", 200, "item_sub", "/items/x/sub/y", {"x", "y"}, NULL, NULL},
	{"GET", "/items/a%2Fb", 404, NULL, NULL, {NULL}, NULL, NULL},
	/* no match */
	{"GET", "/nope", 404, NULL, NULL, {NULL}, NULL, NULL},
	{"GET", "/", 404, NULL, NULL, {NULL}, NULL, NULL},
	{"GET", "/OPEN", 404, NULL, NULL, {NULL}, NULL, NULL},
	{"GET", "/open/", 404, NULL, NULL, {NULL}, NULL, NULL},
	{"GET", "/items/", 404, NULL, NULL, {NULL}, NULL, NULL},
	{"GET", "/items/n1/", 404, NULL, NULL, {NULL}, NULL, NULL},
	{"GET", "/files/", 404, NULL, NULL, {NULL}, NULL, NULL},
	{"GET", "/four/1/2/3/4", 404, NULL, NULL, {NULL}, NULL, NULL},
	{"POST", "/nope", 404, NULL, NULL, {NULL}, NULL, NULL},
	/* path known, method not: Allow lists exactly the table's methods */
	{"POST", "/open", 405, NULL, NULL, {NULL}, NULL, "GET, HEAD"},
	{"DELETE", "/items", 405, NULL, NULL, {NULL}, NULL, "GET, HEAD, POST"},
	{"POST", "/items/n1", 405, NULL, NULL, {NULL}, NULL, "GET, HEAD, PUT, DELETE"},
	{"PATCH", "/items/n1", 405, NULL, NULL, {NULL}, NULL, "GET, HEAD, PUT, DELETE"},
	{"GET", "/form", 405, NULL, NULL, {NULL}, NULL, "POST"},
	{"HEAD", "/form", 405, NULL, NULL, {NULL}, NULL, "POST"},
	{"GET", "/split", 405, NULL, NULL, {NULL}, NULL, "PATCH, DELETE"},
	{"PUT", "/files/x", 405, NULL, NULL, {NULL}, NULL, "GET, HEAD"},
};

static void check_route_case(struct fixture *f, const struct route_case *c)
{
	struct resp r;
	unsigned calls = atomic_load(&f->calls);
	/* writes on /items need a body type: send none */
	roundtrip(f, c->method, c->target, AUTH_ADMIN, NULL, 0, 0, &r);
	if (r.status != c->status)
		fail_msg("%s %s: %u, want %u: %s", c->method, c->target, r.status, c->status,
			 r.body);
	if (c->status != 200) {
		assert_int_equal(atomic_load(&f->calls), calls);
		if (strcmp(c->method, "HEAD") != 0) /* HEAD: the headers only */
			assert_error_shape(
				&r, c->status == 404 ? "not_found" : "method_not_allowed", NULL);
		char allow[128];
		int has_allow = resp_header(&r, "Allow", allow, sizeof(allow));
		if (c->allow != NULL) {
			assert_true(has_allow);
			if (strcmp(allow, c->allow) != 0)
				fail_msg("%s %s: Allow \"%s\", want \"%s\"", c->method, c->target,
					 allow, c->allow);
		} else {
			assert_false(has_allow);
		}
		return;
	}
	assert_int_equal(atomic_load(&f->calls), calls + 1);
	json_t *j = resp_json(&r);
	if (j == NULL)
		fail_msg("%s %s: no JSON: %s", c->method, c->target, r.head);
	assert_string_equal(json_string_value(json_object_get(j, "label")), c->label);
	assert_string_equal(json_string_value(json_object_get(j, "method")), c->method);
	const char *want_path = c->path != NULL ? c->path : c->target;
	assert_string_equal(json_string_value(json_object_get(j, "path")), want_path);
	json_t *args = json_object_get(j, "args");
	for (size_t i = 0; i < HTTP_MAX_ARGS; i++) {
		json_t *a = json_array_get(args, i);
		if (c->args[i] == NULL) {
			if (!json_is_null(a))
				fail_msg("%s: args[%zu] = \"%s\", want NULL", c->target, i,
					 json_string_value(a));
		} else {
			assert_string_equal(json_string_value(a), c->args[i]);
		}
	}
	json_t *q = json_object_get(j, "q");
	if (c->q == NULL)
		assert_true(json_is_null(q));
	else
		assert_string_equal(json_string_value(q), c->q);
	json_decref(j);
}

static void test_routing(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < NELEM(route_cases); i++)
		check_route_case(f, &route_cases[i]);
}

/* The 404 names the (decoded) path it did not find. */
static void test_not_found_message(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	roundtrip(f, "GET", "/no/such%20thing", NULL, NULL, 0, 0, &r);
	assert_int_equal(r.status, 404);
	json_t *j = resp_json(&r);
	const char *msg =
		json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "/no/such thing"));
	json_decref(j);
}

/* HEAD runs the GET route's handler, answers its headers and no body. */
static void test_head(void **state)
{
	struct fixture *f = *state;
	struct resp get, head;
	roundtrip(f, "GET", "/open", NULL, NULL, 0, 0, &get);
	quiesce(f);
	unsigned base = done_count(f);
	unsigned calls = atomic_load(&f->calls);
	roundtrip(f, "HEAD", "/open", NULL, NULL, 0, 0, &head);
	assert_int_equal(head.status, 200);
	assert_int_equal(head.body_len, 0);
	assert_int_equal(atomic_load(&f->calls), calls + 1);
	char ct[64];
	assert_true(resp_header(&head, "Content-Type", ct, sizeof(ct)));
	assert_string_equal(ct, "application/json");
	assert_int_equal(wait_done(f, base + 1), 0);
	struct rec d = done_get(f, base);
	assert_int_equal(d.method_id, HTTP_HEAD);
	assert_string_equal(d.label, "open");
	/* HEAD needs the read scope, like GET */
	roundtrip(f, "HEAD", "/items", NULL, NULL, 0, 0, &head);
	assert_int_equal(head.status, 401);
	roundtrip(f, "HEAD", "/items", AUTH_READ, NULL, 0, 0, &head);
	assert_int_equal(head.status, 200);
}

/* Request headers and query arguments reach the handler. */
static void test_header_lookup(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	roundtrip(f, "GET", "/open?q=%26%3D", "x-echo: some value\r\n", NULL, 0, 0, &r);
	assert_int_equal(r.status, 200);
	json_t *j = resp_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "hdr")), "some value");
	assert_string_equal(json_string_value(json_object_get(j, "q")), "&=");
	assert_string_equal(json_string_value(json_object_get(j, "client_ip")), "127.0.0.1");
	json_decref(j);
	roundtrip(f, "GET", "/open", NULL, NULL, 0, 0, &r);
	j = resp_json(&r);
	assert_true(json_is_null(json_object_get(j, "hdr")));
	json_decref(j);
}

/* ---- auth ------------------------------------------------------------------- */

struct auth_case {
	const char *method;
	const char *target;
	const char *headers;
	unsigned status;
	const char *code;        /* 401/403 */
	enum auth_scope granted; /* 200 */
	int asks_auth;           /* the callback runs */
};

static const struct auth_case auth_cases[] = {
	/* a route that needs read */
	{"GET", "/items", NULL, 401, "unauthorized", 0, 0},
	{"GET", "/items", "Authorization: Bearer nope\r\n", 401, "unauthorized", 0, 1},
	{"GET", "/items", "Authorization: Bearer \r\n", 401, "unauthorized", 0, 0},
	{"GET", "/items", "Authorization: Basic cmVhZDp4\r\n", 401, "unauthorized", 0, 0},
	{"GET", "/items", "Authorization: " READ_TOKEN "\r\n", 401, "unauthorized", 0, 0},
	{"GET", "/items", "X-Token: " READ_TOKEN "\r\n", 401, "unauthorized", 0, 0},
	{"GET", "/items", "Authorization: Bearer " READ_TOKEN "x\r\n", 401, "unauthorized", 0, 1},
	{"GET", "/items", AUTH_READ, 200, NULL, R, 1},
	{"GET", "/items", AUTH_ADMIN, 200, NULL, A, 1},
	{"GET", "/items", "Authorization: bearer " READ_TOKEN "\r\n", 200, NULL, R, 1},
	{"GET", "/items", "Authorization: Bearer   " READ_TOKEN "\r\n", 200, NULL, R, 1},
	{"GET", "/items/n1/sub/s1", AUTH_READ, 200, NULL, R, 1},
	/* writes need admin */
	{"POST", "/items", NULL, 401, "unauthorized", 0, 0},
	{"POST", "/items", "Authorization: Bearer nope\r\n", 401, "unauthorized", 0, 1},
	{"POST", "/items", AUTH_READ, 403, "forbidden", 0, 1},
	{"POST", "/items", AUTH_ADMIN, 200, NULL, A, 1},
	{"PUT", "/items/n1", AUTH_READ, 403, "forbidden", 0, 1},
	{"DELETE", "/items/n1", AUTH_READ, 403, "forbidden", 0, 1},
	{"DELETE", "/items/n1", AUTH_ADMIN, 200, NULL, A, 1},
	/* a route that needs admin even to read */
	{"GET", "/admin", AUTH_READ, 403, "forbidden", 0, 1},
	{"GET", "/admin", AUTH_ADMIN, 200, NULL, A, 1},
	/* open routes: a token is neither asked for nor checked */
	{"GET", "/open", NULL, 200, NULL, N, 0},
	{"GET", "/open", AUTH_ADMIN, 200, NULL, N, 0},
	{"GET", "/open", "Authorization: Bearer nope\r\n", 200, NULL, N, 0},
	{"POST", "/form", "Authorization: Bearer nope\r\n", 200, NULL, N, 0},
	/* the route is found before the token is looked at */
	{"GET", "/nope", NULL, 404, "not_found", 0, 0},
	{"PATCH", "/items", NULL, 405, "method_not_allowed", 0, 0},
};

static void test_auth_table(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < NELEM(auth_cases); i++) {
		const struct auth_case *c = &auth_cases[i];
		struct resp r;
		unsigned calls = atomic_load(&f->calls);
		unsigned asked = atomic_load(&f->auth_calls);
		int body = strcmp(c->method, "POST") == 0;
		roundtrip(f, c->method, c->target, c->headers, body ? "" : NULL, 0, 0, &r);
		if (r.status != c->status)
			fail_msg("case %zu (%s %s): %u, want %u: %s", i, c->method, c->target,
				 r.status, c->status, r.body);
		assert_int_equal(atomic_load(&f->auth_calls) - asked, c->asks_auth ? 1 : 0);
		if (c->status != 200) {
			assert_int_equal(atomic_load(&f->calls), calls);
			assert_error_shape(&r, c->code, NULL);
			char www[64];
			int has_www = resp_header(&r, "WWW-Authenticate", www, sizeof(www));
			assert_int_equal(has_www, c->status == 401);
			if (has_www)
				assert_string_equal(www, "Bearer");
			continue;
		}
		assert_int_equal(atomic_load(&f->calls), calls + 1);
		json_t *j = resp_json(&r);
		assert_int_equal(json_integer_value(json_object_get(j, "granted")), c->granted);
		json_decref(j);
	}
}

/* The 401 says which: no token at all, or one the server does not know. */
static void test_auth_messages(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	roundtrip(f, "GET", "/items", NULL, NULL, 0, 0, &r);
	json_t *j = resp_json(&r);
	const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	assert_non_null(strstr(m, "missing"));
	json_decref(j);
	roundtrip(f, "GET", "/items", "Authorization: Bearer nope\r\n", NULL, 0, 0, &r);
	j = resp_json(&r);
	m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	assert_non_null(strstr(m, "unknown"));
	json_decref(j);
}

/* ---- bodies: the cap and the type ------------------------------------------- */

struct body_case {
	const char *method;
	const char *target;
	const char *headers;
	size_t len;
	int chunked;
	unsigned status;
	const char *code; /* when not 200 */
};

static const struct body_case body_cases[] = {
	/* the route's own cap */
	{"POST", "/form", NULL, 0, 0, 200, NULL},
	{"POST", "/form", NULL, 1, 0, 200, NULL},
	{"POST", "/form", NULL, FORM_CAP, 0, 200, NULL},
	{"POST", "/form", NULL, FORM_CAP + 1, 0, 413, "too_large"},
	{"POST", "/form", NULL, 5000, 0, 413, "too_large"},
	{"POST", "/form", NULL, FORM_CAP, 1, 200, NULL},
	{"POST", "/form", NULL, FORM_CAP + 1, 1, 413, "too_large"},
	{"POST", "/form", NULL, 5000, 1, 413, "too_large"},
	/* a node-facing form is not held to JSON */
	{"POST", "/form", "Content-Type: application/x-www-form-urlencoded\r\n", 10, 0, 200, NULL},
	/* the server default */
	{"POST", "/dflt", NULL, SERVER_MAX_BODY, 0, 200, NULL},
	{"POST", "/dflt", NULL, SERVER_MAX_BODY + 1, 0, 413, "too_large"},
	{"POST", "/dflt", NULL, SERVER_MAX_BODY + 1, 1, 413, "too_large"},
	/* an API write: admin, JSON, its own cap */
	{"PUT", "/json", AUTH_ADMIN CT_JSON, JSON_CAP, 0, 200, NULL},
	{"PUT", "/json", AUTH_ADMIN CT_JSON, JSON_CAP + 1, 0, 413, "too_large"},
	{"PUT", "/json", AUTH_ADMIN CT_JSON, JSON_CAP, 1, 200, NULL},
	{"PUT", "/json", AUTH_ADMIN CT_JSON, JSON_CAP + 1, 1, 413, "too_large"},
	{"PUT", "/json", AUTH_ADMIN "Content-Type: application/json; charset=utf-8\r\n", 8, 0, 200,
	 NULL},
	{"PUT", "/json", AUTH_ADMIN "Content-Type: Application/JSON\r\n", 8, 0, 200, NULL},
	{"PUT", "/json", AUTH_ADMIN, 0, 0, 200, NULL}, /* no body, no type needed */
	{"PUT", "/json", AUTH_ADMIN, 8, 0, 415, "unsupported_media_type"},
	{"PUT", "/json", AUTH_ADMIN, 8, 1, 415, "unsupported_media_type"},
	{"PUT", "/json", AUTH_ADMIN "Content-Type: text/plain\r\n", 8, 0, 415,
	 "unsupported_media_type"},
	{"PUT", "/json", AUTH_ADMIN "Content-Type: application/jsonp\r\n", 8, 0, 415,
	 "unsupported_media_type"},
	{"PUT", "/json", AUTH_ADMIN "Content-Type: application/x-www-form-urlencoded\r\n", 8, 0,
	 415, "unsupported_media_type"},
	/* the token is checked before the body is read: no 413 for strangers */
	{"PUT", "/json", CT_JSON, 5000, 0, 401, "unauthorized"},
	{"PUT", "/json", AUTH_READ CT_JSON, 5000, 0, 403, "forbidden"},
	{"PUT", "/json", AUTH_ADMIN "Content-Type: text/plain\r\n", 5000, 0, 415,
	 "unsupported_media_type"},
};

static void test_body_table(void **state)
{
	struct fixture *f = *state;
	char body[5000];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)('a' + i % 26);
	quiesce(f);
	for (size_t i = 0; i < NELEM(body_cases); i++) {
		const struct body_case *c = &body_cases[i];
		struct resp r;
		unsigned calls = atomic_load(&f->calls);
		unsigned base = done_count(f);
		roundtrip(f, c->method, c->target, c->headers, body, c->len, c->chunked, &r);
		if (r.status != c->status)
			fail_msg("case %zu (%s %s, %zu bytes%s): %u, want %u: %s", i, c->method,
				 c->target, c->len, c->chunked ? " chunked" : "", r.status,
				 c->status, r.body);
		assert_int_equal(wait_done(f, base + 1), 0);
		assert_int_equal(done_get(f, base).status, c->status);
		if (c->status != 200) {
			/* the handler never saw it */
			assert_int_equal(atomic_load(&f->calls), calls);
			assert_error_shape(&r, c->code, NULL);
			continue;
		}
		assert_int_equal(atomic_load(&f->calls), calls + 1);
		json_t *j = resp_json(&r);
		assert_int_equal(json_integer_value(json_object_get(j, "body_len")), c->len);
		const char *got = json_string_value(json_object_get(j, "body"));
		assert_non_null(got);
		assert_int_equal(strlen(got), c->len);
		assert_memory_equal(got, body, c->len);
		json_decref(j);
	}
}

/* The 413 names the cap that applied. */
static void test_too_large_message(void **state)
{
	struct fixture *f = *state;
	char body[200];
	memset(body, 'x', sizeof(body));
	const struct {
		const char *target;
		size_t cap;
	} cases[] = {{"/form", FORM_CAP}, {"/dflt", SERVER_MAX_BODY}};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct resp r;
		roundtrip(f, "POST", cases[i].target, NULL, body, sizeof(body), 0, &r);
		assert_int_equal(r.status, 413);
		json_t *j = resp_json(&r);
		const char *m =
			json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		char want[64];
		snprintf(want, sizeof(want), "over %zu bytes", cases[i].cap);
		assert_non_null(m);
		if (strstr(m, want) == NULL)
			fail_msg("%s: \"%s\" does not say \"%s\"", cases[i].target, m, want);
		json_decref(j);
	}
}

/* ---- replies: the error shape, http_reply_error, fallbacks ------------------ */

struct err_case {
	const char *target;
	unsigned status;
	const char *code;
	const char *field;
	const char *message; /* NULL: not checked here */
};

static const struct err_case err_cases[] = {
	{"/err?status=422&code=invalid_field&field=interfaces%5B0%5D.mac&msg=not%20a%20MAC", 422,
	 "invalid_field", "interfaces[0].mac", "not a MAC (42)"},
	{"/err?status=409&code=conflict&msg=taken", 409, "conflict", NULL, "taken (42)"},
	{"/err?status=400&code=bad_request&field=&msg=x", 400, "bad_request", "", "x (42)"},
	{"/err?status=404&code=not_found&msg=%25s%25n", 404, "not_found", NULL, "%s%n (42)"},
	{"/err?status=422&code=invalid_field&msg=caf%C3%A9", 422, "invalid_field", NULL,
	 "caf\xc3\xa9 (42)"},
	{"/err?status=422&code=invalid_field&msg=%22quoted%22%5C", 422, "invalid_field", NULL,
	 "\"quoted\"\\ (42)"},
	/* bytes that are not UTF-8 become '?': JSON carries only UTF-8, and the answer is sent */
	{"/err?status=422&code=invalid_field&msg=%FF", 422, "invalid_field", NULL, "? (42)"},
	{"/err?status=422&code=invalid_field&msg=a%C3%28b", 422, "invalid_field", NULL,
	 "a?(b (42)"},
	{"/err?status=422&code=invalid_field&msg=%ED%A0%80", 422, "invalid_field", NULL,
	 "??? (42)"},
	/* handlers that answer nothing */
	{"/fail", 500, "internal", NULL, "internal error"},
	{"/silent", 500, "internal", NULL, "internal error"},
};

static void test_reply_error(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < NELEM(err_cases); i++) {
		const struct err_case *c = &err_cases[i];
		struct resp r;
		roundtrip(f, "GET", c->target, NULL, NULL, 0, 0, &r);
		if (r.status != c->status)
			fail_msg("%s: %u, want %u: %s", c->target, r.status, c->status, r.body);
		assert_error_shape(&r, c->code, c->field);
		/* JSON_ENSURE_ASCII: the body is plain ASCII whatever the message */
		for (size_t k = 0; k < r.body_len; k++)
			assert_true((unsigned char)r.body[k] < 0x80);
		json_t *j = resp_json(&r);
		const char *m =
			json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		if (c->message != NULL)
			assert_string_equal(m, c->message);
		json_decref(j);
	}
}

/* Messages are cut at 511 bytes, still a valid answer. */
static void test_reply_error_long(void **state)
{
	struct fixture *f = *state;
	char target[1200];
	int n = snprintf(target, sizeof(target), "/err?status=400&code=bad_request&msg=%0900d", 0);
	assert_true(n > 0 && (size_t)n < sizeof(target));
	struct resp r;
	roundtrip(f, "GET", target, NULL, NULL, 0, 0, &r);
	assert_int_equal(r.status, 400);
	assert_error_shape(&r, "bad_request", NULL);
	json_t *j = resp_json(&r);
	const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	assert_int_equal(strlen(m), 511);
	json_decref(j);
}

/*
 * Every error answer http.c gives on its own (before or instead of a
 * handler) has the body http_reply_error() writes, byte for byte: parsed
 * and written again the same way (compact, ASCII only, keys in order) it
 * does not change.  The 401 and 405 bodies were once built apart from it.
 */
struct form_case {
	const char *method;
	const char *target;
	const char *headers;
	size_t len; /* body bytes sent (POST/PUT) */
	unsigned status;
	const char *code;
	const char *header; /* the answer carries it too, or NULL */
};

static const struct form_case form_cases[] = {
	{"GET", "/nope", NULL, 0, 404, "not_found", NULL},
	{"PATCH", "/items", NULL, 0, 405, "method_not_allowed", "Allow"},
	{"GET", "/items", NULL, 0, 401, "unauthorized", "WWW-Authenticate"},
	{"GET", "/items", "Authorization: Bearer nope\r\n", 0, 401, "unauthorized",
	 "WWW-Authenticate"},
	{"POST", "/items", AUTH_READ, 0, 403, "forbidden", NULL},
	{"POST", "/form", NULL, FORM_CAP + 1, 413, "too_large", NULL},
	{"PUT", "/json", AUTH_ADMIN, 8, 415, "unsupported_media_type", NULL},
	{"OPTIONS", "/open", NULL, 0, 501, "not_implemented", NULL},
	{"GET", "/files/a%00b", NULL, 0, 400, "bad_request", NULL},
	{"GET", "/fail", NULL, 0, 500, "internal", NULL},
	{"GET", "/err?status=409&code=conflict&field=name&msg=taken", NULL, 0, 409, "conflict",
	 NULL},
};

static void test_error_answers_one_form(void **state)
{
	struct fixture *f = *state;
	char body[64];
	memset(body, 'x', sizeof(body));
	for (size_t i = 0; i < NELEM(form_cases); i++) {
		const struct form_case *c = &form_cases[i];
		struct resp r;
		char hv[128];
		int sends = strcmp(c->method, "POST") == 0 || strcmp(c->method, "PUT") == 0;
		assert_true(c->len <= sizeof(body));
		roundtrip(f, c->method, c->target, c->headers, sends ? body : NULL, c->len, 0, &r);
		if (r.status != c->status)
			fail_msg("%s %s: %u, want %u: %s", c->method, c->target, r.status,
				 c->status, r.body);
		json_t *j = resp_json(&r);
		assert_non_null(j);
		assert_string_equal(
			json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			c->code);
		char *again = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
		assert_non_null(again);
		if (strlen(again) != r.body_len || memcmp(again, r.body, r.body_len) != 0)
			fail_msg("%s %s: body\n  %.*s\nnot as http_reply_error writes it:\n  %s",
				 c->method, c->target, (int)r.body_len, r.body, again);
		free(again);
		json_decref(j);
		assert_true(resp_header(&r, "Content-Type", hv, sizeof(hv)));
		assert_string_equal(hv, "application/json");
		if (c->header != NULL && !resp_header(&r, c->header, hv, sizeof(hv)))
			fail_msg("%s %s: no %s header", c->method, c->target, c->header);
	}
}

/* Only the first reply is sent; later ones say why they were refused. */
static void test_reply_twice(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	quiesce(f);
	unsigned base = done_count(f);
	roundtrip(f, "GET", "/twice", NULL, NULL, 0, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "first");
	assert_int_equal(atomic_load(&f->twice_rc[0]), -EALREADY);
	assert_int_equal(atomic_load(&f->twice_rc[1]), -ENOMEM); /* NULL response */
	assert_int_equal(wait_done(f, base + 1), 0);
	assert_int_equal(done_get(f, base).status, 200);
}

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
	if (http_server_start(&cfg, &f->srv) != 0) {
		/* not skip(): cmocka's TAP output counts a skip as "not ok" */
		fixture_free(f);
		print_message("# no IPv6 loopback here: IPv6 not tested\n");
		return;
	}
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

/* ---- fixed bugs -------------------------------------------------------------------------- */

/* Captures of an earlier route that matched only in part must not leak into args. */
static void test_bug_stale_args(void **state)
{
	struct fixture *f = *state;
	const struct route_case c = {.method = "GET",
				     .target = "/deep/1/2/3/x",
				     .status = 200,
				     .label = "deep_rest",
				     .args = {"1/2/3/x"}};
	check_route_case(f, &c);
}

/* A refused second reply must not change what the first one recorded. */
static void test_bug_refused_reply_bytes_out(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	quiesce(f);
	unsigned base = done_count(f);
	roundtrip(f, "GET", "/twice", NULL, NULL, 0, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(wait_done(f, base + 1), 0);
	assert_int_equal(done_get(f, base).bytes_out, 5); /* "first" */
}

/* An encoded NUL must not cut the path short: "/items/x%00/sub/y" is not "/items/x". */
static void test_bug_nul_in_path(void **state)
{
	struct fixture *f = *state;
	const char *targets[] = {"/items/x%00/sub/y", "/open%00.png", "/files/a%00/../b"};
	for (size_t i = 0; i < NELEM(targets); i++) {
		unsigned calls = atomic_load(&f->calls);
		struct resp r;
		roundtrip(f, "GET", targets[i], AUTH_ADMIN, NULL, 0, 0, &r);
		if (r.status != 400 && r.status != 404)
			fail_msg("%s: %u (%s), want 400 or 404", targets[i], r.status, r.body);
		assert_int_equal(atomic_load(&f->calls), calls);
	}
}

/* A 405 must carry Allow (RFC 9110 15.5.6); a method the server never implements may get 501. */
static void test_bug_unknown_method_allow(void **state)
{
	struct fixture *f = *state;
	struct resp r;
	roundtrip(f, "OPTIONS", "/items", NULL, NULL, 0, 0, &r);
	if (r.status == 405) {
		char allow[128];
		assert_true(resp_header(&r, "Allow", allow, sizeof(allow)));
		assert_string_equal(allow, "GET, HEAD, POST");
	} else {
		assert_int_equal(r.status, 501);
	}
}

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
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_methods_str),
		cmocka_unit_test(test_methods_str_short),
		cmocka_unit_test(test_route_methods),
		cmocka_unit_test(test_route_methods_patterns),
		cmocka_unit_test(test_route_methods_capture_size),
	};
	const struct CMUnitTest server[] = {
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_not_found_message),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_header_lookup),
		cmocka_unit_test(test_auth_table),
		cmocka_unit_test(test_auth_messages),
		cmocka_unit_test(test_body_table),
		cmocka_unit_test(test_too_large_message),
		cmocka_unit_test(test_reply_error),
		cmocka_unit_test(test_reply_error_long),
		cmocka_unit_test(test_error_answers_one_form),
		cmocka_unit_test(test_reply_twice),
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
	const struct CMUnitTest bugs_server[] = {
		cmocka_unit_test(test_bug_nul_in_path),
		cmocka_unit_test(test_bug_stale_args),
		cmocka_unit_test(test_bug_unknown_method_allow),
		cmocka_unit_test(test_bug_refused_reply_bytes_out),
	};
	const struct CMUnitTest bugs_isolated[] = {
		cmocka_unit_test(test_bug_invalid_utf8_path),
	};
	int failed = cmocka_run_group_tests_name("http_pure", pure, NULL, NULL);

	failed += cmocka_run_group_tests_name("http_server", server, server_setup, server_teardown);
	failed += cmocka_run_group_tests_name("http_lifetime", lifetime, NULL, NULL);
	failed += cmocka_run_group_tests_name("http_isolated", isolated, NULL, NULL);
	failed += cmocka_run_group_tests_name("http_fixed_bugs", bugs_server, server_setup,
					      server_teardown);
	failed +=
		cmocka_run_group_tests_name("http_fixed_bugs_isolated", bugs_isolated, NULL, NULL);
	return failed != 0;
}
