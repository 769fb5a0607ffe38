/*
 * The fixture test_http.c and test_http_conn.c share: a real server
 * (http_server_start on 127.0.0.1, port 0, two worker threads) with a route
 * table of its own, whose handlers echo what they got (label, method, path,
 * captured args, query, body, granted scope, client address) as JSON, an
 * auth callback that knows two fixed tokens (one read, one admin), a done
 * callback that records every finished request, and a client on raw
 * sockets, so that malformed requests can be sent as they are.
 *
 * Everything here is static: each test program includes this header once
 * and is its own binary; FIXTURE_FN marks the functions, since no one
 * program uses them all.
 */
#ifndef CORRAL_TESTS_HTTPFIX_H
#define CORRAL_TESTS_HTTPFIX_H

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
#include "tfmt.h"

/* A helper of this fixture; a test program may leave some unused. */
#define FIXTURE_FN static __attribute__((unused))

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define N AUTH_SCOPE_NONE
#define R AUTH_SCOPE_READ
#define A AUTH_SCOPE_ADMIN

#define READ_TOKEN "read-token-0123"
#define ADMIN_TOKEN "admin-token-4567"
#define AUTH_READ "Authorization: Bearer " READ_TOKEN "\r\n"
#define AUTH_ADMIN "Authorization: Bearer " ADMIN_TOKEN "\r\n"
#define CT_JSON "Content-Type: application/json\r\n"

/* Which listener serves a test route (a server of role HTTP_ROLE_ALL serves all). */
#define NODE HTTP_SIDE_NODE
#define OP HTTP_SIDE_OPERATOR
#define BOTH HTTP_SIDE_BOTH

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

FIXTURE_FN int test_auth(void *ctx, const char *token, enum auth_scope *granted)
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

FIXTURE_FN void test_done(void *ctx, const struct http_req *r)
{
	struct fixture *f = ctx;
	pthread_mutex_lock(&f->mu);
	struct rec *d = &f->done[f->ndone % NREC];
	memset(d, 0, sizeof(*d));
	d->status = r->status;
	d->label = r->route != NULL ? r->route->label : NULL;
	d->method_id = r->method_id;
	/* An MHD thread: no test may fail here.  A path longer than the record
	 * (the oversized-URL tests) is kept cut, and no test compares one. */
	(void)tfmt_cut(d->path, sizeof(d->path), "%s", r->path != NULL ? r->path : "");
	if (tfmt_cut(d->client_ip, sizeof(d->client_ip), "%s", r->client_ip))
		d->client_ip[0] = '\0'; /* an address always fits: none rather than a wrong one */
	d->bytes_out = r->bytes_out;
	f->ndone++;
	pthread_mutex_unlock(&f->mu);
}

/* Answers 200 with everything the request carried, as JSON. */
FIXTURE_FN int h_echo(struct http_req *r)
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
FIXTURE_FN int h_err(struct http_req *r)
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
FIXTURE_FN int h_fail(struct http_req *r)
{
	struct fixture *f = r->ctx;
	atomic_fetch_add(&f->calls, 1);
	return -EIO;
}

/* Claims success without answering: still 500. */
FIXTURE_FN int h_silent(struct http_req *r)
{
	struct fixture *f = r->ctx;
	atomic_fetch_add(&f->calls, 1);
	return 0;
}

/* Answers, then tries twice more: only the first reply counts. */
FIXTURE_FN int h_twice(struct http_req *r)
{
	struct fixture *f = r->ctx;
	atomic_fetch_add(&f->calls, 1);
	int rc = http_reply_data(r, 200, "text/plain", "first", 5);
	atomic_store(&f->twice_rc[0], http_reply_empty(r, 204));
	atomic_store(&f->twice_rc[1], http_reply(r, 202, NULL));
	return rc;
}

static const struct http_route test_routes[] = {
	{HTTP_GET, "/open", N, N, 0, h_echo, "open", BOTH},
	{HTTP_GET | HTTP_POST, "/items", R, A, 0, h_echo, "items", OP},
	{HTTP_GET | HTTP_PUT | HTTP_DELETE, "/items/:", R, A, 0, h_echo, "item", OP},
	{HTTP_GET, "/items/:/sub/:", R, A, 0, h_echo, "item_sub", OP},
	{HTTP_GET, "/admin", A, A, 0, h_echo, "admin", OP},
	{HTTP_GET, "/files/*", N, N, 0, h_echo, "files", NODE},
	{HTTP_GET, "/pair/:/:", N, N, 0, h_echo, "pair", OP},
	{HTTP_GET, "/deep/:/:/:/end", N, N, 0, h_echo, "deep3", OP},
	{HTTP_GET, "/deep/*", N, N, 0, h_echo, "deep_rest", OP},
	{HTTP_GET, "/four/:/:/:/:", N, N, 0, h_echo, "four", OP}, /* more than HTTP_MAX_ARGS */
	{HTTP_POST, "/form", N, N, FORM_CAP, h_echo, "form", NODE},
	{HTTP_POST, "/dflt", N, N, 0, h_echo, "dflt", OP},
	{HTTP_PUT, "/json", N, A, JSON_CAP, h_echo, "json", OP},
	{HTTP_GET, "/err", N, N, 0, h_err, "err", OP},
	{HTTP_GET, "/fail", N, N, 0, h_fail, "fail", OP},
	{HTTP_GET, "/silent", N, N, 0, h_silent, "silent", OP},
	{HTTP_GET, "/twice", N, N, 0, h_twice, "twice", OP},
	/* one path, two routes: 405's Allow is their union */
	{HTTP_DELETE, "/split", N, N, 0, h_echo, "split_del", OP},
	{HTTP_PATCH, "/split", N, N, 0, h_echo, "split_patch", OP},
};

FIXTURE_FN struct http_config test_config(struct fixture *f, const char *address)
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

FIXTURE_FN struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f != NULL)
		pthread_mutex_init(&f->mu, NULL);
	return f;
}

FIXTURE_FN void fixture_free(struct fixture *f)
{
	if (f == NULL)
		return;
	http_server_free(f->srv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

FIXTURE_FN int server_setup(void **state)
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

FIXTURE_FN int server_teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

FIXTURE_FN unsigned done_count(struct fixture *f)
{
	pthread_mutex_lock(&f->mu);
	unsigned n = f->ndone;
	pthread_mutex_unlock(&f->mu);
	return n;
}

/* Waits until n requests have finished (the callback runs after the reply). */
FIXTURE_FN int wait_done(struct fixture *f, unsigned n)
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
FIXTURE_FN void quiesce(struct fixture *f)
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

FIXTURE_FN struct rec done_get(struct fixture *f, unsigned i)
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

FIXTURE_FN int conn_open_addr(const struct sockaddr *sa, socklen_t salen, struct conn *c)
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

FIXTURE_FN int conn_open(uint16_t port, struct conn *c)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return conn_open_addr((const struct sockaddr *)&sin, sizeof(sin), c);
}

FIXTURE_FN void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

FIXTURE_FN int send_all(struct conn *c, const void *data, size_t len)
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
FIXTURE_FN int conn_fill(struct conn *c)
{
	if (c->inlen == sizeof(c->in))
		return -1;
	ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n < 0)
		return -1;
	c->inlen += (size_t)n;
	return n > 0;
}

FIXTURE_FN void conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->inlen - n);
	c->inlen -= n;
}

/* Value of a response header (first one, name case-insensitive) into out. */
FIXTURE_FN int resp_header(const struct resp *r, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	for (const char *l = strstr(r->head, "\r\n"); l != NULL; l = strstr(l, "\r\n")) {
		l += 2;
		if (strncasecmp(l, name, nlen) != 0 || l[nlen] != ':')
			continue;
		const char *v = l + nlen + 1;
		v += strspn(v, " \t");
		size_t vlen = strcspn(v, "\r\n");
		TFMTN(out, outlen, "%.*s", (int)vlen, v);
		return 1;
	}
	return 0;
}

/*
 * Reads one response.  head_only: the request was HEAD (no body follows).
 * Returns 0, or -1 when the connection ended or stalled first (r->status
 * is then 0 if not even the head came).
 */
FIXTURE_FN int read_resp(struct conn *c, int head_only, struct resp *r)
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
FIXTURE_FN int peer_closed(struct conn *c, int timeout_ms)
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
FIXTURE_FN int send_req(struct conn *c, const char *method, const char *target, const char *headers,
			const char *body, size_t body_len, int chunked)
{
	char head[8192];
	char lenhdr[64] = "";
	if (body != NULL && chunked)
		TFMT(lenhdr, "Transfer-Encoding: chunked\r\n");
	else if (body != NULL)
		TFMT(lenhdr, "Content-Length: %zu\r\n", body_len);
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
		if (n < 0 || (size_t)n >= sizeof(sz))
			return -1;
		if (send_all(c, sz, (size_t)n) < 0 || send_all(c, parts[i].p, parts[i].len) < 0 ||
		    send_all(c, "\r\n", 2) < 0)
			return -1;
	}
	return send_all(c, "0\r\n\r\n", 5);
}

/* One request on a connection of its own. */
FIXTURE_FN void roundtrip(struct fixture *f, const char *method, const char *target,
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
FIXTURE_FN void roundtrip_raw(uint16_t port, const char *raw, size_t len, struct resp *r)
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

FIXTURE_FN json_t *resp_json(const struct resp *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body, r->body_len, 0, &e);
	if (j == NULL)
		print_error("not JSON (%s): %.200s\n", e.text, r->body);
	return j;
}

/* The one error shape: {"error":{"code","message"[,"field"]}} as JSON. */
FIXTURE_FN void assert_error_shape(const struct resp *r, const char *code, const char *field)
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

#endif /* CORRAL_TESTS_HTTPFIX_H */
