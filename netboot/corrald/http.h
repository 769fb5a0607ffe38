/*
 * http: corrald's HTTP front on libmicrohttpd.
 *
 * Owns the MHD daemon, per-request state and the route table walk.  One
 * table (struct http_route, given by the caller) drives dispatch, the 404
 * and 405 answers (with Allow), the auth scope each route needs and the
 * route label used in metrics.  Request bodies are read into a capped
 * buffer before the handler runs; a larger body gets 413 without reaching
 * the handler.  Handlers run on MHD's worker threads and must not block on
 * a network peer.
 *
 * Errors become HTTP answers in one place: http_reply_error() (and
 * http_reply_error_hdr() when the answer needs a header of its own) writes
 * {"error":{"code","message","field"}}, or the body the config's
 * error_body gives for that path; http.c's own 404, 405, 401, 403, 413,
 * 415, 421, 308, 501 and 500 answers go through it too.
 *
 * Listeners.  A server is one listening socket with its own connection
 * budget.  corrald runs two: one for the node-facing paths (plain HTTP:
 * iPXE has no TLS) and one for the operator's API and web page (HTTPS),
 * so a flood on one cannot take the other's connections; each route says
 * which serves it (enum http_side).  A path that only the other listener
 * serves gets 421 naming it (an open page, such as /ui, a redirect).
 *
 * Slow clients.  Besides libmicrohttpd's idle timeout, a request's headers
 * must be complete within header_timeout of the connection's start (or of
 * the previous answer on a kept-alive connection) and its body within
 * body_timeout of its headers: connguard.h cuts what takes longer, however
 * slowly it trickles.  Connections per client address are capped.
 *
 * Callers: corrald.c starts and frees the servers with routes.h's table and
 * callbacks.  The reply functions and http_header()/http_query() are for
 * handlers (serve.c, api*.c, files.c, ui.c, hub.c), on the worker thread
 * that runs them, for the request they were given; a struct http_req and
 * what it points to live until the request completes.  Token scopes are
 * auth.h's enum auth_scope.
 */
#ifndef CORRAL_HTTP_H
#define CORRAL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "auth.h"
#include "buf.h"

enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_HEAD = 1 << 1,
	HTTP_POST = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_PATCH = 1 << 4,
	HTTP_DELETE = 1 << 5,
};

#define HTTP_MAX_ARGS 3

struct http_req;
struct http_server;
struct connguard_conn;
typedef int (*http_handler)(struct http_req *r);
/*
 * Optional: the body of an error answer in another service's shape on the
 * paths that speak it (routes.c: OpenCHAMI's RFC 7807 problem details).
 * Returns a new JSON object and sets *ctype, or NULL for the usual body.
 */
typedef json_t *(*http_error_body_fn)(const char *path, unsigned status, const char *code,
				      const char *message, const char **ctype);

/* Which listener serves a route.  0, the default, is the operator's. */
enum http_side {
	HTTP_SIDE_OPERATOR = 0, /* the API and the web page */
	HTTP_SIDE_NODE,         /* the boot path: scripts, cloud-init, files, phone-home */
	HTTP_SIDE_BOTH,         /* health and metrics */
};

/* Which routes a listener serves. */
enum http_role {
	HTTP_ROLE_ALL = 0,  /* one listener for everything */
	HTTP_ROLE_NODE,     /* HTTP_SIDE_NODE and _BOTH routes */
	HTTP_ROLE_OPERATOR, /* HTTP_SIDE_OPERATOR and _BOTH routes */
};

struct http_route {
	unsigned methods;            /* HTTP_GET | ... */
	const char *pattern;         /* "/api/v1/nodes/:", ":" = one segment, "*" = rest */
	enum auth_scope read_scope;  /* needed for GET/HEAD */
	enum auth_scope write_scope; /* needed for every other method */
	size_t max_body;             /* 0: the server default */
	http_handler handler;
	const char *label;   /* metrics label, e.g. "bootscript" */
	enum http_side side; /* the listener serving it (left out: the operator's) */
};

struct http_req {
	struct MHD_Connection *conn;
	const char *method; /* as sent */
	enum http_method method_id;
	const char *path;                /* URL path, percent-decoded by MHD */
	const char *args[HTTP_MAX_ARGS]; /* captured segments, NUL-terminated */
	const struct http_route *route;
	struct buf body;         /* request body (empty for GET) */
	enum auth_scope granted; /* scope of the token presented */
	char client_ip[64];      /* peer address as text */
	unsigned status;         /* status of the queued reply, 0 before */
	uint64_t bytes_out;      /* body bytes the reply will carry */
	void *ctx;               /* the server's user context */
	/* private to http.c */
	http_error_body_fn error_body;
	struct connguard_conn *guard; /* the connection's deadlines */
	struct http_server *srv;
	char argbuf[512];
	int body_too_large;
	int replied;
};

/*
 * Checks a presented bearer token; sets *granted.  Returns 0 if valid,
 * -ENOENT if unknown.  Called only for routes that need a scope.
 */
typedef int (*http_auth_fn)(void *ctx, const char *token, enum auth_scope *granted);
/* Called once per finished request (metrics, access log). */
typedef void (*http_done_fn)(void *ctx, const struct http_req *r);
/* Optional: 1 if a request body without Content-Type is read as JSON on
 * path (clients that send none), 0 if it gets 415 as everywhere else. */
typedef int (*http_untyped_fn)(const char *path);

struct http_server;

struct http_config {
	const char *name;          /* "node", "api": for log lines (NULL: "http") */
	enum http_role role;       /* which routes it serves */
	const char *address;       /* listen address, IPv4 or IPv6 literal */
	uint16_t port;             /* 0: pick a free one (see http_server_port) */
	unsigned threads;          /* worker threads; 0: one per CPU */
	size_t max_body;           /* default body cap */
	unsigned conn_timeout;     /* seconds an idle connection is kept (0: 60) */
	unsigned header_timeout;   /* seconds for a request's headers (0: 10) */
	unsigned body_timeout;     /* seconds for its body, from its headers (0: 60) */
	unsigned max_conns;        /* open connections at most (0: 4096) */
	unsigned max_conns_per_ip; /* per client address (0: no cap) */
	/* HTTPS when both are set: PEM text (copied; the key's copy is wiped at free) */
	const char *tls_cert;
	const char *tls_key;
	/* Where the other listener is, for the 421 and redirect answers: its
	 * scheme and port (0: there is none); the host is the one the client
	 * asked for. */
	const char *other_scheme;
	uint16_t other_port;
	const struct http_route *routes;
	size_t nroutes;
	http_auth_fn auth;
	http_done_fn done;
	http_error_body_fn error_body; /* NULL: every error in http.c's shape */
	http_untyped_fn untyped_json;  /* NULL: a body needs its Content-Type */
	void *ctx;
};

/*
 * Starts listening; *out owned by the caller.  Returns 0, -EINVAL for an
 * address that is not an IPv4 or IPv6 literal or for only one of tls_cert
 * and tls_key, what socket(), bind() or
 * listen() failed with (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES, ...),
 * -ENOMEM, -ENOTSUP for TLS from a libmicrohttpd built without it, or
 * -EIO when libmicrohttpd does not start (it logs why; a key that does
 * not fit its certificate is one reason).
 */
int http_server_start(const struct http_config *cfg, struct http_server **out);
/* The port actually bound. */
uint16_t http_server_port(const struct http_server *s);
/* Stops and frees; waits for in-flight requests.  NULL is a no-op. */
void http_server_free(struct http_server *s);
/* Connections open now, and cut for being too slow since the start. */
unsigned http_server_open_conns(struct http_server *s);
uint64_t http_server_cut_conns(struct http_server *s);
/* True if a listener in role serves a route of side. */
int http_role_serves(enum http_role role, enum http_side side);

/* Reply helpers.  Each queues exactly one response and returns 0 or -EIO. */
int http_reply(struct http_req *r, unsigned status, struct MHD_Response *resp);
int http_reply_data(struct http_req *r, unsigned status, const char *ctype, const char *data,
		    size_t len);
/* Steals j. */
int http_reply_json(struct http_req *r, unsigned status, json_t *j);
int http_reply_empty(struct http_req *r, unsigned status);
/*
 * {"error":{"code","message"[, "field"]}}; field may be NULL.  code is a
 * stable string docs/api.md lists; the message (printf-style) is cut at
 * HTTP_ERROR_MSG_MAX bytes and made valid UTF-8.
 */
#define HTTP_ERROR_MSG_MAX 511
int http_reply_error(struct http_req *r, unsigned status, const char *code, const char *field,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same with one more response header, e.g. Allow on a 405, Content-Range on a 416. */
int http_reply_error_hdr(struct http_req *r, unsigned status, const char *name, const char *value,
			 const char *code, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Request header / query argument, or NULL.  Borrowed for the request. */
const char *http_header(struct http_req *r, const char *name);
const char *http_query(struct http_req *r, const char *name);

/* Routes the table allows for path (for tests and docs): method mask or 0. */
unsigned http_route_methods(const struct http_route *routes, size_t n, const char *path);
/* "GET, HEAD" for a mask; writes into out. */
void http_methods_str(unsigned mask, char *out, size_t outlen);

#endif
