/*
 * Unit tests for hub through a real libmicrohttpd daemon on 127.0.0.1 (a
 * free port) whose only handler answers hub_response(), set up as http.c
 * sets up corrald's (internal polling thread, epoll, a thread pool,
 * suspend/resume), and plain TCP clients speaking HTTP/1.1 (chunked) or
 * HTTP/1.0 (body up to the close).  What a client of /api/v1/events sees:
 * the SSE headers and a "connected" comment; every record published after
 * it connected, as "event: TYPE\ndata: JSON\n\n", in order, and none from
 * before; pings as comment records; records from many publishers at once,
 * each publisher's in its order; a "resync" record, then the newest
 * HUB_RING records, after falling further behind than the ring holds;
 * the end of the stream at hub_close, after which the daemon stops; and a
 * client gone while suspended is let go at the next record.
 *
 * Not covered: what the events writer and the API publish (test_events
 * and the integration tests), MHD's connection timeout, and the browser's
 * EventSource reconnecting after the end (that is the "retry" field's
 * job, checked only for being there).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"
#include "hub.h"
#include "tfmt.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define WAIT_MS 5000 /* longest a client waits for the next bytes */

/* ---- the server ----------------------------------------------------------- */

struct srv {
	struct hub *hub;
	struct MHD_Daemon *mhd;
	uint16_t port;
	atomic_int opened, closed; /* connections, from MHD's notifications */
};

static enum MHD_Result srv_access(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req)
{
	struct srv *s = cls;
	struct MHD_Response *r = hub_response(s->hub, conn);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void srv_notify(void *cls, struct MHD_Connection *conn, void **sock_ctx,
		       enum MHD_ConnectionNotificationCode code)
{
	struct srv *s = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&s->opened, 1);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		atomic_fetch_add(&s->closed, 1);
}

static int srv_start(struct srv *s)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *di;

	memset(s, 0, sizeof(*s));
	if (hub_new(&s->hub) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	/* As http.c starts corrald's: the hub suspends idle streams. */
	s->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
		NULL, srv_access, s, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE, 2u,
		MHD_OPTION_NOTIFY_CONNECTION, srv_notify, s, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
		MHD_OPTION_END);
	if (s->mhd == NULL)
		goto err_mhd;
	di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (di == NULL || di->port == 0)
		goto err_port;
	s->port = di->port;
	return 0;

err_port:
	MHD_stop_daemon(s->mhd);
err_mhd:
	hub_free(s->hub);
	return -1;
}

/* The order corrald stops in: end the streams, stop HTTP, free the hub. */
static void srv_stop(struct srv *s)
{
	hub_close(s->hub);
	if (s->mhd != NULL)
		MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	hub_free(s->hub);
	s->hub = NULL;
}

static int setup(void **state)
{
	struct srv *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	if (srv_start(s) != 0) {
		free(s);
		return -1;
	}
	/* A hang anywhere (a stream that never ends, a daemon that never
	 * stops) fails the run instead of blocking it. */
	alarm(60);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct srv *s = *state;

	srv_stop(s);
	free(s);
	alarm(0);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- a client ------------------------------------------------------------- */

struct cli {
	int fd;
	struct buf raw;  /* bytes read and not yet decoded */
	struct buf body; /* decoded body; records are taken from body_off on */
	size_t body_off;
	char head[2048]; /* status line and headers */
	int have_head, chunked;
	int ended; /* chunked: the last chunk came */
	int eof;   /* the server closed the connection */
};

/* Connects and asks for the stream.  http10: an HTTP/1.0 request (no
 * chunks, the body ends with the connection); rcvbuf: 0 or a small
 * receive buffer, for a client that reads slowly. */
static void cli_open(struct cli *c, uint16_t port, int http10, int rcvbuf)
{
	struct sockaddr_in sa;
	char req[128];
	int n;

	memset(c, 0, sizeof(*c));
	buf_init(&c->raw, 64u << 20);
	buf_init(&c->body, 64u << 20);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	if (rcvbuf > 0)
		assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
				 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req),
		     "GET /api/v1/events HTTP/1.%d\r\nHost: 127.0.0.1\r\n"
		     "Accept: text/event-stream\r\n\r\n",
		     http10 ? 0 : 1);
	assert_true(n > 0 && (size_t)n < sizeof(req));
	assert_int_equal(write(c->fd, req, (size_t)n), n);
}

static void cli_close(struct cli *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_clear(&c->raw);
	buf_clear(&c->body);
}

/* Moves what can be decoded from raw into head and body. */
static void cli_decode(struct cli *c)
{
	size_t off = 0;

	if (!c->have_head) {
		const char *end = c->raw.data ? strstr(c->raw.data, "\r\n\r\n") : NULL;
		if (end == NULL)
			return;
		size_t n = (size_t)(end - c->raw.data);
		assert_true(n < sizeof(c->head));
		memcpy(c->head, c->raw.data, n);
		c->head[n] = '\0';
		c->have_head = 1;
		c->chunked = strcasestr(c->head, "\r\nTransfer-Encoding: chunked") != NULL;
		off = n + 4;
	}
	if (!c->chunked) {
		assert_int_equal(buf_add(&c->body, c->raw.data + off, c->raw.len - off), 0);
		off = c->raw.len;
	}
	while (c->chunked && !c->ended && off < c->raw.len) {
		const char *p = c->raw.data + off;
		const char *eol = strstr(p, "\r\n");
		char *end;
		if (eol == NULL)
			break;
		errno = 0;
		unsigned long size = strtoul(p, &end, 16);
		assert_true(errno == 0 && end > p && (end == eol || *end == ';'));
		size_t need = (size_t)(eol - p) + 2 + size + 2;
		if (c->raw.len - off < need)
			break;
		assert_memory_equal(eol + 2 + size, "\r\n", 2);
		if (size == 0)
			c->ended = 1;
		else
			assert_int_equal(buf_add(&c->body, eol + 2, size), 0);
		off += need;
	}
	/* Keep what is left over for the next read. */
	size_t left = c->raw.len - off;
	if (off > 0) {
		memmove(c->raw.data, c->raw.data + off, left);
		c->raw.len = left;
		c->raw.data[left] = '\0';
	}
}

/* One read: 1 bytes came, 0 the server closed, -1 nothing within ms. */
static int cli_read(struct cli *c, int ms)
{
	struct pollfd pfd = {c->fd, POLLIN, 0};
	char tmp[65536];
	ssize_t n;

	if (c->eof)
		return 0;
	if (poll(&pfd, 1, ms) <= 0)
		return -1;
	n = read(c->fd, tmp, sizeof(tmp));
	if (n <= 0) {
		c->eof = 1;
		return 0;
	}
	assert_int_equal(buf_add(&c->raw, tmp, (size_t)n), 0);
	cli_decode(c);
	return 1;
}

/*
 * The next record of the stream (the text before its blank line) into
 * rec; 1, or 0 if the stream ended first, or -1 if nothing came for
 * WAIT_MS.  Records are consumed.
 */
static int cli_record(struct cli *c, char *rec, size_t len)
{
	for (;;) {
		const char *start = c->body.data ? c->body.data + c->body_off : NULL;
		const char *end = start ? strstr(start, "\n\n") : NULL;
		if (end != NULL) {
			size_t n = (size_t)(end - start);
			assert_true(n < len);
			memcpy(rec, start, n);
			rec[n] = '\0';
			c->body_off += n + 2;
			/* Drop what was taken now and then, so a long stream stays small. */
			if (c->body_off > (1u << 20)) {
				size_t left = c->body.len - c->body_off;
				memmove(c->body.data, c->body.data + c->body_off, left);
				c->body.len = left;
				c->body.data[left] = '\0';
				c->body_off = 0;
			}
			return 1;
		}
		if (c->ended)
			return 0;
		int rc = cli_read(c, WAIT_MS);
		if (rc <= 0)
			return rc;
	}
}

/* The next record must be exactly want. */
static void expect_record(struct cli *c, const char *want)
{
	char rec[256];
	int rc = cli_record(c, rec, sizeof(rec));

	if (rc != 1)
		fail_msg("want record \"%s\", got %s", want, rc == 0 ? "the end" : "nothing");
	assert_string_equal(rec, want);
}

/* Connects and reads up to the "connected" comment: from then on the
 * client sees everything published. */
static void cli_connect(struct cli *c, uint16_t port, int http10, int rcvbuf)
{
	cli_open(c, port, http10, rcvbuf);
	expect_record(c, "retry: 2000\n: connected");
	assert_non_null(strstr(c->head, " 200 "));
	assert_non_null(strcasestr(c->head, "\r\nContent-Type: text/event-stream"));
	assert_non_null(strcasestr(c->head, "\r\nCache-Control: no-cache"));
}

/* No more bytes come: the stream is idle (this waits ms). */
static void expect_idle(struct cli *c, int ms)
{
	size_t before = c->body.len;

	assert_int_equal(cli_read(c, ms), -1);
	assert_int_equal(c->body.len, before);
}

/* Waits up to WAIT_MS for the end of the stream: the last chunk
 * (HTTP/1.1) or the close (HTTP/1.0); returns how long it took. */
static long long expect_end(struct cli *c)
{
	long long t0 = now_ms();
	char rec[256];

	for (;;) {
		int rc = cli_record(c, rec, sizeof(rec));
		if (rc == 0)
			break;
		if (rc < 0)
			fail_msg("the stream did not end within %d ms", WAIT_MS);
		/* records still on their way before the end are fine */
	}
	if (c->chunked)
		assert_true(c->ended);
	else
		assert_true(c->eof);
	return now_ms() - t0;
}

static void publish_n(struct hub *h, const char *type, json_int_t n)
{
	hub_publish(h, type, json_pack("{s:I}", "n", n));
}

/* "event: TYPE\ndata: {"n":N}" */
static void expect_n(struct cli *c, const char *type, json_int_t n)
{
	char want[128];

	TFMT(want, "event: %s\ndata: {\"n\":%lld}", type, (long long)n);
	expect_record(c, want);
}

/* ---- what a client sees --------------------------------------------------- */

static void test_stream(void **state)
{
	static const char *const types[] = {"boot", "inventory", "node", "boot"};
	struct srv *s = *state;
	struct cli c;

	/* Before anyone listens: nobody will see these. */
	publish_n(s->hub, "early", 1);
	publish_n(s->hub, "early", 2);
	hub_ping(s->hub);

	cli_connect(&c, s->port, 0, 0);
	assert_true(c.chunked); /* an HTTP/1.1 stream of unknown length */
	for (json_int_t i = 0; i < 200; i++)
		publish_n(s->hub, types[i % NELEM(types)], i);
	/* Published data of any shape, sent as compact JSON on one line. */
	hub_publish(
		s->hub, "inventory",
		json_pack("{s:s, s:[i, i], s:{s:b}}", "route", "nodes", "a", 1, 2, "o", "x", 1));
	for (json_int_t i = 0; i < 200; i++)
		expect_n(&c, types[i % NELEM(types)], i);
	expect_record(
		&c, "event: inventory\ndata: {\"route\":\"nodes\",\"a\":[1,2],\"o\":{\"x\":true}}");

	/* Nothing to say: nothing is sent, and no data means no record. */
	expect_idle(&c, 200);
	hub_publish(s->hub, "nothing", NULL);
	publish_n(s->hub, "last", 7);
	expect_n(&c, "last", 7);
	expect_idle(&c, 200);
	assert_null(strstr(c.body.data, "early"));
	cli_close(&c);
}

static void test_late_client(void **state)
{
	struct srv *s = *state;
	struct cli a, b, d;

	cli_connect(&a, s->port, 0, 0);
	publish_n(s->hub, "x", 1);
	expect_n(&a, "x", 1);
	/* b connects after x1: sees x2 on, not x1.  d is an HTTP/1.0 client. */
	cli_connect(&b, s->port, 0, 0);
	cli_connect(&d, s->port, 1, 0);
	assert_false(d.chunked);
	publish_n(s->hub, "x", 2);
	publish_n(s->hub, "x", 3);
	expect_n(&a, "x", 2);
	expect_n(&a, "x", 3);
	expect_n(&b, "x", 2);
	expect_n(&b, "x", 3);
	expect_n(&d, "x", 2);
	expect_n(&d, "x", 3);
	expect_idle(&b, 100);
	cli_close(&a);
	cli_close(&b);
	cli_close(&d);
}

static void test_ping(void **state)
{
	struct srv *s = *state;
	struct cli c;

	cli_connect(&c, s->port, 0, 0);
	hub_ping(s->hub);
	/* A comment: EventSource ignores it, proxies see traffic. */
	expect_record(&c, ": ping");
	publish_n(s->hub, "boot", 1);
	hub_ping(s->hub);
	expect_n(&c, "boot", 1);
	expect_record(&c, ": ping");
	cli_close(&c);
}

/* ---- many publishers ------------------------------------------------------ */

#define PUBLISHERS 4
#define PER_PUBLISHER 500 /* all of them fit in the ring: no resync */

struct publisher {
	struct hub *hub;
	int id;
};

static void *publisher_run(void *arg)
{
	struct publisher *p = arg;

	for (int i = 0; i < PER_PUBLISHER; i++)
		hub_publish(p->hub, "boot", json_pack("{s:i, s:i}", "p", p->id, "i", i));
	return NULL;
}

/* "event: boot\ndata: {"p":P,"i":I}" with P a publisher: 0, else -1. */
static int publisher_record(const char *rec, int *p, int *i)
{
	int n = 0;

	if (sscanf(rec, "event: boot\ndata: {\"p\":%d,\"i\":%d}%n", p, i, &n) != 2 || n == 0 ||
	    rec[n] != '\0')
		return -1;
	return *p >= 0 && *p < PUBLISHERS ? 0 : -1;
}

static void test_publishers(void **state)
{
	struct srv *s = *state;
	struct cli c;
	pthread_t t[PUBLISHERS];
	struct publisher p[PUBLISHERS];
	int next[PUBLISHERS] = {0};
	char rec[256], why[320] = "";

	cli_connect(&c, s->port, 0, 0);
	for (int i = 0; i < PUBLISHERS; i++) {
		p[i] = (struct publisher){s->hub, i};
		assert_int_equal(pthread_create(&t[i], NULL, publisher_run, &p[i]), 0);
	}
	/* Read while they publish.  A problem ends the loop, not the test, until
	 * the publishers are joined: teardown frees the hub they publish to.  A
	 * cut message (tfmt_cut) still says what went wrong. */
	for (int k = 0; k < PUBLISHERS * PER_PUBLISHER && why[0] == '\0'; k++) {
		int pi, ii;
		if (cli_record(&c, rec, sizeof(rec)) != 1) {
			(void)tfmt_cut(why, sizeof(why), "record %d of %d missing", k,
				       PUBLISHERS * PER_PUBLISHER);
		} else if (publisher_record(rec, &pi, &ii) < 0) {
			(void)tfmt_cut(why, sizeof(why), "record %d: %s", k, rec);
		} else if (ii != next[pi]) {
			/* each publisher's records come in its order, none lost or repeated */
			(void)tfmt_cut(why, sizeof(why), "publisher %d: record %d after %d", pi, ii,
				       next[pi] - 1);
		} else {
			next[pi]++;
		}
	}
	for (int i = 0; i < PUBLISHERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	if (why[0] != '\0')
		fail_msg("%s", why);
	expect_idle(&c, 100);
	cli_close(&c);
}

/* ---- a client that falls behind ------------------------------------------ */

#define BIG_RECORDS 512
#define BIG_SIZE 32000 /* a record's JSON; 16 MB in all, more than every buffer between */

static void test_resync(void **state)
{
	struct srv *s = *state;
	struct cli c;
	char *pad = malloc(BIG_SIZE + 1);
	char rec[BIG_SIZE + 256];
	json_int_t last = -1, resumed = -1;
	int resyncs = 0;
	long long total;

	assert_non_null(pad);
	memset(pad, 'p', BIG_SIZE);
	pad[BIG_SIZE] = '\0';
	/* A small receive window, and the client reads nothing for now. */
	cli_connect(&c, s->port, 0, 4096);
	/* Big records fill the socket buffers and the client's pending bytes:
	 * the server stops taking records for it somewhere in here. */
	for (json_int_t i = 0; i < BIG_RECORDS; i++)
		hub_publish(s->hub, "big", json_pack("{s:I, s:s}", "n", i, "pad", pad));
	/* Then a ring's worth more: what it had not taken is gone. */
	for (json_int_t i = BIG_RECORDS; i < BIG_RECORDS + HUB_RING + 100; i++)
		publish_n(s->hub, "small", i);
	total = BIG_RECORDS + HUB_RING + 100;
	free(pad);

	/* Now read it all: records in order up to some point, one resync, then
	 * the newest HUB_RING records in order, to the last one published. */
	while (last < total - 1) {
		json_t *j;
		if (cli_record(&c, rec, sizeof(rec)) != 1)
			fail_msg("stream stopped after record %lld", (long long)last);
		if (strcmp(rec, "event: resync\ndata: {}") == 0) {
			resyncs++;
			resumed = last;
			continue;
		}
		const char *data = strstr(rec, "\ndata: ");
		assert_non_null(data);
		j = json_loads(data + 7, 0, NULL);
		assert_non_null(j);
		json_int_t n = json_integer_value(json_object_get(j, "n"));
		json_decref(j);
		if (resyncs == 0 || last != resumed) {
			if (n != last + 1)
				fail_msg("record %lld after %lld", (long long)n, (long long)last);
		} else if (n != total - HUB_RING) {
			/* Right after the resync: the oldest record the ring still holds. */
			fail_msg("first after resync %lld, want %lld", (long long)n,
				 (long long)(total - HUB_RING));
		}
		last = n;
	}
	assert_int_equal(resyncs, 1);
	/* It had really fallen behind: records were skipped. */
	assert_true(resumed < total - HUB_RING - 1);
	expect_idle(&c, 100);

	/* Caught up, it goes on as any client. */
	publish_n(s->hub, "small", total);
	expect_n(&c, "small", total);
	cli_close(&c);
}

/* ---- the end ------------------------------------------------------------ */

static void test_close(void **state)
{
	struct srv *s = *state;
	struct cli a, b, late;
	long long t0;

	/* Two clients waiting (suspended) on an idle stream. */
	cli_connect(&a, s->port, 0, 0);
	cli_connect(&b, s->port, 1, 0);
	publish_n(s->hub, "x", 1);
	expect_n(&a, "x", 1);
	expect_n(&b, "x", 1);
	expect_idle(&a, 100);

	hub_close(s->hub);
	/* Their streams end, at once rather than at some timeout. */
	assert_true(expect_end(&a) < 2000); /* the last chunk */
	assert_true(expect_end(&b) < 2000); /* the connection closed */

	/* A client arriving after the close is told to go away, not parked. */
	cli_connect(&late, s->port, 0, 0);
	assert_true(expect_end(&late) < 2000);

	/* And the daemon stops without waiting on anyone. */
	t0 = now_ms();
	MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	assert_true(now_ms() - t0 < 5000);
	cli_close(&a);
	cli_close(&b);
	cli_close(&late);

	/* hub_close twice (srv_stop does it again) and the NULLs are no-ops. */
	hub_close(s->hub);
	hub_close(NULL);
	hub_free(NULL);
}

/* A client that hangs up while suspended is let go at the next record,
 * so dead streams do not pile up between pings. */
static void test_gone_client(void **state)
{
	struct srv *s = *state;
	struct cli a, b;
	long long t0;

	cli_connect(&a, s->port, 0, 0);
	cli_connect(&b, s->port, 0, 0);
	expect_idle(&a, 100); /* both suspended now */
	assert_int_equal(atomic_load(&s->opened), 2);
	assert_int_equal(atomic_load(&s->closed), 0);
	cli_close(&a);

	t0 = now_ms();
	while (atomic_load(&s->closed) == 0 && now_ms() - t0 < WAIT_MS) {
		hub_ping(s->hub);
		sleep_ms(20);
	}
	assert_int_equal(atomic_load(&s->closed), 1);
	/* The other client did not notice. */
	publish_n(s->hub, "x", 1);
	for (;;) {
		char rec[256];
		assert_int_equal(cli_record(&b, rec, sizeof(rec)), 1);
		if (strcmp(rec, ": ping") != 0) {
			assert_string_equal(rec, "event: x\ndata: {\"n\":1}");
			break;
		}
	}
	cli_close(&b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_stream), T(test_late_client), T(test_ping),        T(test_publishers),
		T(test_resync), T(test_close),       T(test_gone_client),
	};
#undef T

	return cmocka_run_group_tests_name("hub", tests, NULL, NULL) != 0;
}
