/*
 * Unit tests for connguard (per-connection header and body deadlines) and
 * for what http.c builds on it: listener roles and the per-address cap.
 *
 * Covered: a connection waiting for headers is cut (its peer sees the
 * stream end) once header_s have passed, not before, whatever else
 * happens; entering the body phase starts a new deadline (body_s); an
 * answer in progress is never cut; a kept-alive connection's next wait for
 * headers starts at the end of the previous request; a closed connection
 * is no longer known (so a reused descriptor is never cut); a flood due at
 * once is cut 256 a sweep; counters.
 * Over a real server: http_role_serves for every role and side; a node
 * listener serves node and shared routes and answers an operator route
 * with 421 naming the other listener (an open operator page with a 308
 * redirect to it, built from the Host the client asked for, and a Host
 * unfit for a URL gets the 421 without a URL); an operator listener the
 * reverse; the per-address cap closes the connection over it; a real
 * connection that trickles header bytes is cut by the sweeper; corrald's
 * route table puts every path on its listener (the API and the web page
 * on the operator's, the boot path on the node-facing one, health and
 * metrics on both) and nothing behind a token on the node side.
 */
#include "httpfix.h"

#include "connguard.h"
#include "routes.h"

/* A connected pair: [0] is "the server's" (registered), [1] the peer's. */
static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* 1 if the peer end sees the stream end now (the guard shut it down). */
static int ended(int fd)
{
	char b;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 0) <= 0)
		return 0;
	return recv(fd, &b, 1, MSG_DONTWAIT) == 0;
}

static void test_header_deadline(void **state)
{
	(void)state;
	struct connguard *g;
	int sv[2];
	pair(sv);
	assert_int_equal(connguard_new("t", 10, 60, &g), 0);
	int64_t t0 = connguard_now_ms();
	struct connguard_conn *c = connguard_open(g, sv[0], "192.0.2.7");
	assert_non_null(c);
	assert_int_equal(connguard_open_count(g), 1);
	/* Bytes the peer sends do not matter: nothing here reads them. */
	assert_int_equal(send(sv[1], "G", 1, 0), 1);
	assert_int_equal(connguard_sweep(g, t0 + 9000), 0);
	assert_false(ended(sv[1]));
	assert_int_equal(connguard_sweep(g, t0 + 10500), 1);
	assert_true(ended(sv[1]));
	/* Cut once: a later sweep does not count it again. */
	assert_int_equal(connguard_sweep(g, t0 + 20000), 0);
	assert_int_equal(connguard_cut_total(g), 1);
	connguard_close(g, c);
	assert_int_equal(connguard_open_count(g), 0);
	connguard_free(g);
	close(sv[0]);
	close(sv[1]);
}

static void test_body_deadline_starts_at_headers(void **state)
{
	(void)state;
	struct connguard *g;
	int sv[2];
	pair(sv);
	assert_int_equal(connguard_new("t", 2, 30, &g), 0);
	struct connguard_conn *c = connguard_open(g, sv[0], NULL);
	connguard_phase(g, c, CONNGUARD_BODY);
	int64_t t0 = connguard_now_ms();
	/* Past the header deadline, within the body's: kept. */
	assert_int_equal(connguard_sweep(g, t0 + 5000), 0);
	assert_int_equal(connguard_sweep(g, t0 + 29000), 0);
	assert_false(ended(sv[1]));
	assert_int_equal(connguard_sweep(g, t0 + 30500), 1);
	assert_true(ended(sv[1]));
	connguard_close(g, c);
	connguard_free(g);
	close(sv[0]);
	close(sv[1]);
}

static void test_reply_is_not_bounded_and_next_request_waits_anew(void **state)
{
	(void)state;
	struct connguard *g;
	int sv[2];
	pair(sv);
	assert_int_equal(connguard_new("t", 2, 2, &g), 0);
	struct connguard_conn *c = connguard_open(g, sv[0], NULL);
	connguard_phase(g, c, CONNGUARD_BODY);
	connguard_phase(g, c, CONNGUARD_REPLY);
	int64_t t0 = connguard_now_ms();
	assert_int_equal(connguard_sweep(g, t0 + 3600 * 1000), 0); /* a long download */
	assert_false(ended(sv[1]));
	/* Answered: the next request's headers are due header_s from now. */
	connguard_phase(g, c, CONNGUARD_HEADERS);
	t0 = connguard_now_ms();
	assert_int_equal(connguard_sweep(g, t0 + 1500), 0);
	assert_int_equal(connguard_sweep(g, t0 + 2500), 1);
	assert_true(ended(sv[1]));
	connguard_close(g, c);
	connguard_free(g);
	close(sv[0]);
	close(sv[1]);
}

static void test_closed_connection_is_never_cut(void **state)
{
	(void)state;
	struct connguard *g;
	int a[2], b[2];
	pair(a);
	assert_int_equal(connguard_new("t", 1, 1, &g), 0);
	struct connguard_conn *c = connguard_open(g, a[0], NULL);
	connguard_close(g, c);
	close(a[0]);
	/* The descriptor number comes back for another connection ... */
	pair(b);
	int64_t t0 = connguard_now_ms();
	/* ... which the old registration must not reach. */
	assert_int_equal(connguard_sweep(g, t0 + 60000), 0);
	assert_false(ended(b[1]));
	assert_int_equal(connguard_open_count(g), 0);
	connguard_close(g, NULL); /* no-ops */
	connguard_phase(g, NULL, CONNGUARD_BODY);
	connguard_free(g);
	connguard_free(NULL);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

/* A flood falls due at once: it is cut 256 a sweep, the rest at the next ticks. */
static void test_cuts_spread_over_sweeps(void **state)
{
	(void)state;
	enum { NCONN = 300 };
	struct connguard *g;
	struct connguard_conn **c = calloc(NCONN, sizeof(*c));
	int(*sv)[2] = calloc(NCONN, sizeof(*sv));
	assert_non_null(c);
	assert_non_null(sv);
	assert_int_equal(connguard_new("t", 60, 60, &g), 0);
	for (int i = 0; i < NCONN; i++) {
		pair(sv[i]);
		c[i] = connguard_open(g, sv[i][0], NULL);
	}
	int64_t later = connguard_now_ms() + 61000;
	assert_int_equal(connguard_sweep(g, later), 256);
	assert_int_equal(connguard_sweep(g, later), NCONN - 256);
	assert_int_equal(connguard_sweep(g, later), 0);
	int cut = 0;
	for (int i = 0; i < NCONN; i++)
		cut += ended(sv[i][1]);
	assert_int_equal(cut, NCONN);
	for (int i = 0; i < NCONN; i++) {
		connguard_close(g, c[i]);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	connguard_free(g);
	free(c);
	free(sv);
}

static void test_new_refuses_zero(void **state)
{
	(void)state;
	struct connguard *g;
	assert_int_equal(connguard_new("t", 0, 5, &g), -EINVAL);
	assert_int_equal(connguard_new("t", 5, 0, &g), -EINVAL);
}

/* ---- listener roles over a real server ------------------------------------ */

static void test_role_serves(void **state)
{
	(void)state;
	static const struct {
		enum http_role role;
		enum http_side side;
		int want;
	} cases[] = {
		{HTTP_ROLE_ALL, HTTP_SIDE_NODE, 1},
		{HTTP_ROLE_ALL, HTTP_SIDE_OPERATOR, 1},
		{HTTP_ROLE_ALL, HTTP_SIDE_BOTH, 1},
		{HTTP_ROLE_NODE, HTTP_SIDE_NODE, 1},
		{HTTP_ROLE_NODE, HTTP_SIDE_OPERATOR, 0},
		{HTTP_ROLE_NODE, HTTP_SIDE_BOTH, 1},
		{HTTP_ROLE_OPERATOR, HTTP_SIDE_NODE, 0},
		{HTTP_ROLE_OPERATOR, HTTP_SIDE_OPERATOR, 1},
		{HTTP_ROLE_OPERATOR, HTTP_SIDE_BOTH, 1},
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		if (http_role_serves(cases[i].role, cases[i].side) != cases[i].want)
			fail_msg("role %d side %d: want %d", cases[i].role, cases[i].side,
				 cases[i].want);
}

static struct fixture *start_role(enum http_role role, const char *other_scheme,
				  uint16_t other_port, unsigned per_ip)
{
	struct fixture *f = fixture_new();
	assert_non_null(f);
	struct http_config cfg = test_config(f, "127.0.0.1");
	cfg.role = role;
	cfg.other_scheme = other_scheme;
	cfg.other_port = other_port;
	cfg.max_conns_per_ip = per_ip;
	cfg.header_timeout = 1;
	assert_int_equal(http_server_start(&cfg, &f->srv), 0);
	f->port = http_server_port(f->srv);
	return f;
}

static void test_node_listener_routes(void **state)
{
	(void)state;
	struct fixture *f = start_role(HTTP_ROLE_NODE, "https", 8443, 0);
	struct resp r;
	char loc[256];
	roundtrip(f, "GET", "/files/a", NULL, NULL, 0, 0, &r); /* node route */
	assert_int_equal(r.status, 200);
	roundtrip(f, "GET", "/open", NULL, NULL, 0, 0, &r); /* on both */
	assert_int_equal(r.status, 200);
	/* An operator route: 421 naming where it is, for the host asked for. */
	roundtrip(f, "GET", "/items", AUTH_READ, NULL, 0, 0, &r);
	assert_int_equal(r.status, 421);
	assert_error_shape(&r, "wrong_listener", NULL);
	assert_non_null(strstr(r.body, "https://test:8443/items"));
	/* An open operator page: redirected there. */
	roundtrip(f, "GET", "/pair/a/b", NULL, NULL, 0, 0, &r);
	assert_int_equal(r.status, 308);
	assert_true(resp_header(&r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, "https://test:8443/pair/a/b");
	/* A Host unfit for a URL: the 421 without one. */
	static const char bad_host[] = "GET /pair/a/b HTTP/1.1\r\nHost: a\"b\r\n\r\n";
	roundtrip_raw(f->port, bad_host, sizeof(bad_host) - 1, &r);
	assert_int_equal(r.status, 421);
	assert_null(strstr(r.body, "://"));
	/* Unknown paths stay 404. */
	roundtrip(f, "GET", "/nope", NULL, NULL, 0, 0, &r);
	assert_int_equal(r.status, 404);
	fixture_free(f);
}

static void test_operator_listener_routes(void **state)
{
	(void)state;
	struct fixture *f = start_role(HTTP_ROLE_OPERATOR, "http", 0, 0);
	struct resp r;
	roundtrip(f, "GET", "/items", AUTH_READ, NULL, 0, 0, &r);
	assert_int_equal(r.status, 200);
	roundtrip(f, "GET", "/open", NULL, NULL, 0, 0, &r);
	assert_int_equal(r.status, 200);
	/* A node route here: 421, no redirect (nodes must be pointed right). */
	roundtrip(f, "GET", "/files/a", NULL, NULL, 0, 0, &r);
	assert_int_equal(r.status, 421);
	assert_error_shape(&r, "wrong_listener", NULL);
	roundtrip(f, "POST", "/form", NULL, "a=1", 3, 0, &r);
	assert_int_equal(r.status, 421);
	fixture_free(f);
}

static void test_per_address_cap(void **state)
{
	(void)state;
	struct fixture *f = start_role(HTTP_ROLE_ALL, NULL, 0, 2);
	struct conn *c = calloc(4, sizeof(*c));
	struct resp r;
	assert_non_null(c);
	for (int i = 0; i < 2; i++)
		assert_int_equal(conn_open(f->port, &c[i]), 0);
	/* Both are accepted before the third comes. */
	for (int i = 0; i < 50 && http_server_open_conns(f->srv) < 2; i++)
		usleep(20000);
	assert_int_equal(http_server_open_conns(f->srv), 2);
	assert_int_equal(conn_open(f->port, &c[2]), 0);
	assert_true(peer_closed(&c[2], 3000));
	conn_close(&c[2]);
	/* One closed, a place is free. */
	conn_close(&c[0]);
	for (int i = 0; i < 50 && http_server_open_conns(f->srv) > 1; i++)
		usleep(20000);
	assert_int_equal(conn_open(f->port, &c[3]), 0);
	assert_int_equal(send_req(&c[3], "GET", "/open", NULL, NULL, 0, 0), 0);
	assert_int_equal(read_resp(&c[3], 0, &r), 0);
	assert_int_equal(r.status, 200);
	conn_close(&c[1]);
	conn_close(&c[3]);
	free(c);
	fixture_free(f);
}

/* A real connection trickling a header byte every 200 ms is cut after header_timeout (1 s). */
static void test_trickle_is_cut(void **state)
{
	(void)state;
	struct fixture *f = start_role(HTTP_ROLE_ALL, NULL, 0, 0);
	struct conn *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	assert_int_equal(conn_open(f->port, c), 0);
	assert_int_equal(send_all(c, "GET /open HTTP/1.1\r\nX-Slow: ", 28), 0);
	int closed = 0, drips = 0;
	for (int i = 0; i < 25 && !closed; i++) {
		closed = peer_closed(c, 200);
		if (!closed && send_all(c, "a", 1) == 0)
			drips++;
	}
	assert_true(closed);
	assert_true(drips >= 3 && drips <= 12);
	assert_int_equal(http_server_cut_conns(f->srv), 1);
	conn_close(c);
	free(c);
	fixture_free(f);
}

/* corrald's table: the boot path on the node listener, the API and the page on the operator's. */
static void test_route_table_sides(void **state)
{
	(void)state;
	static const struct {
		const char *prefix;
		enum http_side side;
	} rules[] = {
		/* first match wins: OpenCHAMI's inventory paths (docs/openchami.md)
		 * lie under /boot/v1/ and /cloud-init/ but are behind tokens */
		{"/api/v1/", HTTP_SIDE_OPERATOR},
		{"/ui", HTTP_SIDE_OPERATOR},
		{"/boot/v1/bootparameters", HTTP_SIDE_OPERATOR},
		{"/boot/v1/hosts", HTTP_SIDE_OPERATOR},
		{"/boot/v1/dumpstate", HTTP_SIDE_OPERATOR},
		{"/boot/v1/endpoint-history", HTTP_SIDE_OPERATOR},
		{"/boot/v1/service/", HTTP_SIDE_BOTH},
		{"/cloud-init/admin/", HTTP_SIDE_OPERATOR},
		{"/hsm/v2/service/", HTTP_SIDE_BOTH},
		{"/hsm/v2/", HTTP_SIDE_OPERATOR},
		{"/boot/", HTTP_SIDE_NODE},
		{"/cloud-init/", HTTP_SIDE_NODE},
		{"/phone-home", HTTP_SIDE_NODE},
		{"/files/", HTTP_SIDE_NODE},
		{"/firmware/", HTTP_SIDE_NODE},
		{"/healthz", HTTP_SIDE_BOTH},
		{"/metrics", HTTP_SIDE_BOTH},
	};
	for (size_t i = 0; i < routes_count; i++) {
		const struct http_route *rt = &routes_table[i];
		int placed = strcmp(rt->pattern, "/") == 0 && rt->side == HTTP_SIDE_OPERATOR;
		for (size_t k = 0; k < NELEM(rules) && !placed; k++) {
			if (strncmp(rt->pattern, rules[k].prefix, strlen(rules[k].prefix)) != 0)
				continue;
			if (rt->side != rules[k].side)
				fail_msg("%s is on side %d, want %d", rt->pattern, rt->side,
					 rules[k].side);
			placed = 1;
		}
		if (!placed)
			fail_msg("%s: no rule says which listener serves it", rt->pattern);
		/* nothing behind a token is served on the node-facing listener */
		if (rt->side != HTTP_SIDE_OPERATOR &&
		    (rt->read_scope != AUTH_SCOPE_NONE || rt->write_scope != AUTH_SCOPE_NONE))
			fail_msg("%s needs a token but is on the node side", rt->pattern);
	}
}

int main(void)
{
	log_init("test_connguard", LOG_LVL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_deadline),
		cmocka_unit_test(test_body_deadline_starts_at_headers),
		cmocka_unit_test(test_reply_is_not_bounded_and_next_request_waits_anew),
		cmocka_unit_test(test_closed_connection_is_never_cut),
		cmocka_unit_test(test_cuts_spread_over_sweeps),
		cmocka_unit_test(test_new_refuses_zero),
		cmocka_unit_test(test_role_serves),
		cmocka_unit_test(test_node_listener_routes),
		cmocka_unit_test(test_operator_listener_routes),
		cmocka_unit_test(test_per_address_cap),
		cmocka_unit_test(test_trickle_is_cut),
		cmocka_unit_test(test_route_table_sides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
