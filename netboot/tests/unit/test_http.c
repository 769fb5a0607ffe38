/*
 * Unit tests for http, table-driven over the wire against the fixture in
 * httpfix.h (a real server on loopback with a route table of its own).
 *
 * Covered: http_methods_str and http_route_methods over tables of cases;
 * dispatch with ':' and '*' captures, first match in table order,
 * percent-decoding; 404 and 405 (Allow lists exactly the table's methods,
 * HEAD added wherever GET is); 401 (missing, unknown, non-Bearer token;
 * WWW-Authenticate), 403 (read token on a write or an admin read), the auth
 * callback only asked for routes that need a scope; 415 on API writes; the
 * body cap (route's own and the server default): a body at the cap reaches
 * the handler, one byte more gets 413 and the handler never runs, chunked or
 * not; the JSON error shape, http_reply_error's formatting and truncation,
 * and every error answer of http.c's own written the same way; the 500
 * fallbacks when a handler fails or answers nothing; double replies.
 * Connections, the done callback, malformed requests and the server's
 * lifetime are test_http_conn.c.
 *
 * Fixed bugs: the tests named test_bug_* each caught a bug in http.c (%00
 * cut the path; captures of a partial match stayed in args[]; unknown
 * methods got a 405 without Allow; a refused second reply changed
 * bytes_out).
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
		struct http_route rt = {c->methods, c->pattern, N, N, 0, h_echo, "t", OP};
		unsigned got = http_route_methods(&rt, 1, c->path);
		if (got != c->want)
			fail_msg("%s on %s: 0x%x, want 0x%x", c->pattern, c->path, got, c->want);
	}
	assert_int_equal(http_route_methods(test_routes, 0, "/open"), 0);
}

/* Captures are copied into a 512-byte buffer: 511 bytes fit, 512 do not. */
static void test_route_methods_capture_size(void **state)
{
	struct http_route rt = {HTTP_GET, "/a/:", N, N, 0, h_echo, "t", OP};
	char path[600];
	for (size_t n = 509; n <= 513; n++) {
		TFMT(path, "/a/%0*d", (int)n, 0);
		assert_int_equal(strlen(path), 3 + n);
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
		TFMT(want, "over %zu bytes", cases[i].cap);
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
	};
	const struct CMUnitTest bugs_server[] = {
		cmocka_unit_test(test_bug_nul_in_path),
		cmocka_unit_test(test_bug_stale_args),
		cmocka_unit_test(test_bug_unknown_method_allow),
		cmocka_unit_test(test_bug_refused_reply_bytes_out),
	};
	int failed = cmocka_run_group_tests_name("http_pure", pure, NULL, NULL);

	failed += cmocka_run_group_tests_name("http_server", server, server_setup, server_teardown);
	failed += cmocka_run_group_tests_name("http_fixed_bugs", bugs_server, server_setup,
					      server_teardown);
	return failed != 0;
}
