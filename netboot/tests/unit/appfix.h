/*
 * The fixture the api and serve tests share (test_api*.c; test_serve*.c
 * through servefix.h): a struct app wired the way corrald.c wires it (a
 * real SQLite store in a fresh temporary directory, the events writer,
 * metrics, boot cache, hub, a configuration from config_defaults() with its
 * paths in that directory and the advertise URL ADVERTISE, a seed key),
 * served by http_server_start() on 127.0.0.1 port 0 with the real route
 * table (routes_table) and auth callback (routes_auth), and a small libcurl
 * client to drive it.
 *
 * Everything here is static: each test program includes this header once
 * and is its own binary; FIXTURE_FN marks the functions, since a program
 * need not use them all.  A test's setup calls fx_new() and its teardown is
 * teardown() below; libcurl's global init is the test's main()'s.  What
 * differs between the tests (boot files under the root, the read token,
 * how an error body is checked) stays with them.
 *
 * Security assumption: the client talks to loopback only and never uses a
 * proxy from the environment.
 */
#ifndef CORRAL_TESTS_APPFIX_H
#define CORRAL_TESTS_APPFIX_H

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "app.h"
#include "routes.h"
#include "log.h"
#include "tfmt.h"

/* A helper of this fixture; a test program may leave some unused. */
#define FIXTURE_FN static __attribute__((unused))

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ADVERTISE "http://boot.test:8080/corral"

/* ---- the daemon, wired as corrald.c wires it ------------------------------ */

struct fx {
	char dir[64];
	struct app a;
	struct config *cfg;
	const char **labels; /* metrics labels, one per route */
	struct http_server *http;
	char base[64]; /* http://127.0.0.1:<port> */
	char admin[AUTH_TOKEN_LEN + 8];
	char reader[AUTH_TOKEN_LEN + 8]; /* made by the tests that need one */
};

FIXTURE_FN int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Stops the server and frees everything, the temporary directory too;
   NULL is a no-op. */
FIXTURE_FN void fx_free(struct fx *f)
{
	if (f == NULL)
		return;
	/* corrald.c's shutdown order: streams, HTTP, events, the rest. */
	hub_close(f->a.hub);
	http_server_free(f->http);
	events_free(f->a.events);
	hub_free(f->a.hub);
	bootcache_free(f->a.bootcache);
	metrics_free(f->a.metrics);
	free(f->labels);
	files_free(atomic_load(&f->a.files));
	store_free(f->a.store);
	free(f->cfg);
	if (f->dir[0] != '\0')
		nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
}

/* Makes a token of scope in the store; its text in out. */
FIXTURE_FN int fx_token(struct fx *f, const char *name, enum auth_scope scope, char *out)
{
	unsigned char hash[AUTH_HASH_LEN];

	auth_token_new(out);
	auth_token_hash(out, hash);
	return store_token_add(f->a.store, name, hash, scope);
}

/*
 * Builds the fixture in a new directory made from tmpl ("/tmp/NAME.XXXXXX")
 * with the admin token f->admin.  prepare, when not NULL, runs once the
 * configuration is set and its file root made, before anything is opened:
 * it may change the configuration and fill the root.  Returns 0 and the
 * fixture (free with fx_free()) in *out, or -1.
 */
FIXTURE_FN int fx_new(const char *tmpl, int (*prepare)(struct config *c), struct fx **out)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct config *c = malloc(sizeof(*c));
	struct files *files = NULL;

	if (f == NULL || c == NULL) {
		free(c);
		free(f);
		return -1;
	}
	f->cfg = c;
	log_set_level(LOG_LVL_WARN);
	TFMT(f->dir, "%s", tmpl);
	if (mkdtemp(f->dir) == NULL) {
		f->dir[0] = '\0';
		goto err;
	}
	config_defaults(c);
	TFMT(c->address, "127.0.0.1");
	c->port = 0;
	c->threads = 4;
	TFMT(c->advertise_url, "%s", ADVERTISE);
	/* corrald.c's resolve_base_url() (static): the advertise URL when set. */
	TFMT(c->base_url, "%s", ADVERTISE);
	TFMT(c->store_path, "%s/corral.db", f->dir);
	TFMT(c->files_root, "%s/files", f->dir);
	TFMT(c->key_file, "%s/secret.key", f->dir);
	if (mkdir(c->files_root, 0750) < 0)
		goto err;
	if (prepare != NULL && prepare(c) < 0)
		goto err;

	if (auth_init() < 0 || store_open(c->store_path, &f->a.store) < 0 ||
	    auth_key_load(c->key_file, f->a.seed_key) < 0 || files_open(c->files_root, &files) < 0)
		goto err;
	atomic_init(&f->a.files, files);
	f->labels = calloc(routes_count, sizeof(*f->labels));
	if (f->labels == NULL)
		goto err;
	for (size_t i = 0; i < routes_count; i++)
		f->labels[i] = routes_table[i].label;
	if (hub_new(&f->a.hub) < 0 ||
	    events_start(f->a.store, f->a.hub, c->events_keep_days, &f->a.events) < 0 ||
	    metrics_new(f->labels, routes_count, &f->a.metrics) < 0 ||
	    bootcache_new(200000, &f->a.bootcache) < 0)
		goto err;
	f->a.started_us = store_now_us();
	atomic_init(&f->a.cfg, c);
	f->a.redfish = NULL; /* no Redfish route is called here */

	struct http_config hc = {
		.address = c->address,
		.port = 0,
		.threads = c->threads,
		.max_body = c->max_body,
		.conn_timeout = 60,
		.routes = routes_table,
		.nroutes = routes_count,
		.auth = routes_auth,
		.done = routes_done,
		.error_body = routes_error_body,
		.untyped_json = routes_untyped_json,
		.ctx = &f->a,
	};
	if (http_server_start(&hc, &f->http) < 0)
		goto err;
	TFMT(f->base, "http://127.0.0.1:%u", http_server_port(f->http));
	if (fx_token(f, "admin", AUTH_SCOPE_ADMIN, f->admin) < 0)
		goto err;
	*out = f;
	return 0;

err:
	fx_free(f);
	return -1;
}

FIXTURE_FN int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

/* ---- a small HTTP client ------------------------------------------------- */

struct rq {
	const char *method;
	const char *path;
	const char *token;  /* bearer token, or NULL */
	const char *body;   /* NULL: no body */
	const char *ctype;  /* NULL: application/json when there is a body */
	const char *src;    /* source address; NULL: 127.0.0.1 */
	const char *range;  /* Range header value, or NULL */
	const char *header; /* one more request header, or NULL */
};

struct res {
	long status;
	struct buf body;
	char ctype[128];
	char clen[32];   /* Content-Length as sent, "" if none */
	char crange[64]; /* Content-Range */
	char allow[128];
	char www_auth[64];
	json_t *json; /* the body when it is JSON, else NULL */
};

FIXTURE_FN void res_free(struct res *r)
{
	buf_clear(&r->body);
	json_decref(r->json);
	r->json = NULL;
}

FIXTURE_FN size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct res *r = arg;

	return buf_add(&r->body, p, size * n) == 0 ? size * n : 0;
}

/* Copies the value of header "name:" in line into out (trimmed). */
FIXTURE_FN void header_value(const char *line, size_t len, const char *name, char *out,
			     size_t outlen)
{
	size_t nl = strlen(name);

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	line += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	TFMTN(out, outlen, "%.*s", (int)len, line);
}

FIXTURE_FN size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct res *r = arg;

	header_value(p, size * n, "Content-Type", r->ctype, sizeof(r->ctype));
	header_value(p, size * n, "Content-Length", r->clen, sizeof(r->clen));
	header_value(p, size * n, "Content-Range", r->crange, sizeof(r->crange));
	header_value(p, size * n, "Allow", r->allow, sizeof(r->allow));
	header_value(p, size * n, "WWW-Authenticate", r->www_auth, sizeof(r->www_auth));
	return size * n;
}

/* JSON bodies in the tables use ' for " (no body here needs a '). */
FIXTURE_FN char *dequote(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

/* Sends q and fills r (free with res_free()); returns the status. */
FIXTURE_FN long send_rq(struct fx *f, const struct rq *q, struct res *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[2048], line[256], iface[80];
	CURLcode rc;

	assert_non_null(c);
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 16u << 20);
	TFMT(url, "%s%s", f->base, q->path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* Loopback only: never a proxy from the environment. */
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	/* Send "..", "." and "//" as written, as a hostile node would. */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (strcmp(q->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	if (q->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(q->body));
		TFMT(line, "Content-Type: %s", q->ctype ? q->ctype : "application/json");
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Expect:");
	if (q->token != NULL) {
		TFMT(line, "Authorization: Bearer %s", q->token);
		h = curl_slist_append(h, line);
	}
	if (q->range != NULL) {
		TFMT(line, "Range: %s", q->range);
		h = curl_slist_append(h, line);
	}
	if (q->header != NULL)
		h = curl_slist_append(h, q->header);
	if (q->src != NULL) {
		TFMT(iface, "host!%s", q->src);
		curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("%s %s: %s", q->method, q->path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (strncmp(r->ctype, "application/json", 16) == 0 ||
	    strncmp(r->ctype, "application/problem+json", 24) == 0)
		r->json = json_loadb(buf_str(&r->body), r->body.len, 0, NULL);
	return r->status;
}

/* A request with token and a JSON body written with ' for " (or NULL). */
FIXTURE_FN long call_as(struct fx *f, const char *token, const char *method, const char *path,
			const char *body, struct res *r)
{
	char *b = body ? dequote(body) : NULL;
	struct rq q = {.method = method, .path = path, .token = token, .body = b};
	long st;

	/* An empty body ("") still goes out, with Content-Length: 0. */
	st = send_rq(f, &q, r);
	free(b);
	return st;
}

/* The same with the admin token. */
FIXTURE_FN long call(struct fx *f, const char *method, const char *path, const char *body,
		     struct res *r)
{
	return call_as(f, f->admin, method, path, body, r);
}

/* The request (admin) must answer want; the body is dropped. */
FIXTURE_FN void must(struct fx *f, const char *method, const char *path, const char *body,
		     long want)
{
	struct res r;

	if (call(f, method, path, body, &r) != want)
		fail_msg("%s %s: %ld, want %ld: %s", method, path, r.status, want,
			 buf_str(&r.body));
	res_free(&r);
}

/* GET path with the admin token: the JSON (caller's), asserting 200. */
FIXTURE_FN json_t *get_json(struct fx *f, const char *path)
{
	struct res r;
	json_t *j;

	if (call(f, "GET", path, NULL, &r) != 200 || r.json == NULL)
		fail_msg("GET %s: %ld %s", path, r.status, buf_str(&r.body));
	j = json_incref(r.json);
	res_free(&r);
	return j;
}

#endif /* CORRAL_TESTS_APPFIX_H */
