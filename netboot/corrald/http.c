/*
 * http: libmicrohttpd front, route dispatch, body capping, JSON errors.
 * See http.h.
 *
 * Security: the body cap is enforced while MHD delivers upload chunks, so
 * an oversized body is never held in memory; auth is checked on the first
 * callback, before any body is read.  Every connection is registered with
 * the listener's connguard from its start to its close, and moved through
 * its phases here (first callback: headers done; a reply queued: body
 * done; request completed: waiting for the next headers), so a client
 * that trickles bytes is cut at the phase's deadline.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "connguard.h"
#include "log.h"
#include "valid.h"

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_config cfg;
	uint16_t port;
	struct connguard *guard;
	char name[16];
	char *tls_cert, *tls_key; /* our copies: MHD keeps the pointers */
	/* libmicrohttpd's log lines, the same one repeated under a flood
	 * (every refused connection is one) counted instead of printed */
	pthread_mutex_t log_lock;
	char log_last[160];
	unsigned log_repeats;
	time_t log_since;
};

static const struct {
	const char *name;
	enum http_method id;
} http_methods[] = {
	{"GET", HTTP_GET}, {"HEAD", HTTP_HEAD},   {"POST", HTTP_POST},
	{"PUT", HTTP_PUT}, {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE},
};

void http_methods_str(unsigned mask, char *out, size_t outlen)
{
	size_t len = 0;
	if (outlen == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		if (!(mask & http_methods[i].id))
			continue;
		int n = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "",
				 http_methods[i].name);
		if (n < 0 || (size_t)n >= outlen - len)
			return;
		len += (size_t)n;
	}
}

/*
 * Matches path against pattern; captures ":" segments and a trailing "*"
 * into argbuf/args.  Returns 1 on a match.
 */
static int http_match(const char *pattern, const char *path, char *argbuf, size_t argsize,
		      const char **args)
{
	size_t used = 0;
	int nargs = 0;
	const char *p = pattern, *s = path;
	for (int i = 0; i < HTTP_MAX_ARGS; i++)
		args[i] = NULL; /* nothing left of an earlier, partial match */

	while (*p != '\0') {
		if (*p == '*' || *p == ':') {
			int rest = *p == '*';
			const char *end = rest ? s + strlen(s) : strchrnul(s, '/');
			size_t n = (size_t)(end - s);
			if (n == 0 || nargs >= HTTP_MAX_ARGS || used + n + 1 > argsize)
				return 0;
			memcpy(argbuf + used, s, n);
			argbuf[used + n] = '\0';
			args[nargs++] = argbuf + used;
			used += n + 1;
			s = end;
			p++;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *s == '\0';
}

unsigned http_route_methods(const struct http_route *routes, size_t n, const char *path)
{
	char argbuf[512];
	const char *args[HTTP_MAX_ARGS];
	unsigned mask = 0;
	for (size_t i = 0; i < n; i++)
		if (http_match(routes[i].pattern, path, argbuf, sizeof(argbuf), args))
			mask |= routes[i].methods;
	if (mask & HTTP_GET)
		mask |= HTTP_HEAD;
	return mask;
}

int http_role_serves(enum http_role role, enum http_side side)
{
	switch (role) {
	case HTTP_ROLE_ALL:
		return 1;
	case HTTP_ROLE_NODE:
		return side == HTTP_SIDE_NODE || side == HTTP_SIDE_BOTH;
	case HTTP_ROLE_OPERATOR:
		return side == HTTP_SIDE_OPERATOR || side == HTTP_SIDE_BOTH;
	}
	return 0;
}

int http_reply(struct http_req *r, unsigned status, struct MHD_Response *resp)
{
	if (resp == NULL)
		return -ENOMEM;
	if (r->replied) {
		MHD_destroy_response(resp);
		return -EALREADY;
	}
	/* The request is read (or refused early, when MHD reads no more of
	 * it): the answer is bounded by MHD's idle timeout, not ours. */
	if (r->srv != NULL)
		connguard_phase(r->srv->guard, r->guard, CONNGUARD_REPLY);
	enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->replied = 1;
	r->status = status;
	return ok == MHD_YES ? 0 : -EIO;
}

int http_reply_data(struct http_req *r, unsigned status, const char *ctype, const char *data,
		    size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
								    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return -ENOMEM;
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	int rc = http_reply(r, status, resp);
	if (rc == 0)
		r->bytes_out = len;
	return rc;
}

/*
 * A JSON response of j (stolen), with one more header when name is not
 * NULL; queued.  Shared by http_reply_json() and the error replies.
 */
static int http_reply_json_type(struct http_req *r, unsigned status, json_t *j, const char *ctype,
				const char *name, const char *value)
{
	if (j == NULL)
		return -ENOMEM;
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	if (s == NULL)
		return -ENOMEM;
	size_t len = strlen(s);
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(s);
		return -ENOMEM;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES ||
	    (name != NULL && MHD_add_response_header(resp, name, value) != MHD_YES)) {
		MHD_destroy_response(resp);
		return -ENOMEM;
	}
	int rc = http_reply(r, status, resp);
	if (rc == 0)
		r->bytes_out = len;
	return rc;
}

int http_reply_json(struct http_req *r, unsigned status, json_t *j)
{
	return http_reply_json_type(r, status, j, "application/json", NULL, NULL);
}

int http_reply_empty(struct http_req *r, unsigned status)
{
	return http_reply_data(r, status, NULL, "", 0);
}

/* Length of the valid UTF-8 sequence at p (strict: no overlong forms,
 * surrogates or code points past U+10FFFF), or 0. */
static size_t http_utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 :
		   p[0] >= 0xe0 && p[0] <= 0xef ? 3 :
		   p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 :
						  0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/* Replaces every byte that is not part of valid UTF-8 with '?', in place:
 * messages quote what clients sent, and JSON carries only UTF-8. */
static void http_utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p != '\0') {
		size_t n = http_utf8_len(p);
		if (n == 0)
			*p++ = '?';
		else
			p += n;
	}
}

/*
 * The one place an error becomes a body: {"error":{"code","message"[,
 * "field"]}}.  A message longer than HTTP_ERROR_MSG_MAX bytes is cut there
 * (on purpose: it quotes what a client sent, and the answer stays small).
 */
static int http_reply_verror(struct http_req *r, unsigned status, const char *name,
			     const char *value, const char *code, const char *field,
			     const char *fmt, va_list ap)
{
	char msg[HTTP_ERROR_MSG_MAX + 1];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		msg[0] = '\0';
	/* n >= sizeof(msg): cut at HTTP_ERROR_MSG_MAX bytes, as documented */
	http_utf8_fix(msg); /* also a multi-byte character cut at the end */
	const char *ctype = "application/json";
	json_t *other = r->error_body ? r->error_body(r->path, status, code, msg, &ctype) : NULL;
	if (other != NULL)
		return http_reply_json_type(r, status, other, ctype, name, value);
	json_t *err = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (err != NULL && field != NULL)
		json_object_set_new(err, "field", json_string(field));
	return http_reply_json_type(r, status, json_pack("{s:o}", "error", err), "application/json",
				    name, value);
}

int http_reply_error(struct http_req *r, unsigned status, const char *code, const char *field,
		     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = http_reply_verror(r, status, NULL, NULL, code, field, fmt, ap);
	va_end(ap);
	return rc;
}

int http_reply_error_hdr(struct http_req *r, unsigned status, const char *name, const char *value,
			 const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = http_reply_verror(r, status, name, value, code, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

const char *http_header(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* The peer of conn as text (an IPv4-mapped IPv6 address as IPv4), into out; "" if unknown. */
static void http_conn_addr(struct MHD_Connection *conn, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (ci == NULL || ci->client_addr == NULL)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)outlen);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], out, (socklen_t)outlen);
		else
			inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)outlen);
	}
}

static void http_client_addr(struct http_req *r)
{
	http_conn_addr(r->conn, r->client_ip, sizeof(r->client_ip));
}

/* Token from "Authorization: Bearer X", or NULL. */
static const char *http_bearer(struct http_req *r)
{
	const char *h = http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

/*
 * The host part of the request's Host header ("h", "1.2.3.4", "[::1]")
 * into out; 0, or -EINVAL when there is none fit to put in a URL.
 */
static int http_req_host(struct http_req *r, char *out, size_t outlen)
{
	const char *h = http_header(r, MHD_HTTP_HEADER_HOST);
	if (h == NULL || h[0] == '\0')
		return -EINVAL;
	size_t n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":");
	if (n >= outlen || (h[0] == '[' && h[n - 1] != ']'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
			return -EINVAL;
	}
	memcpy(out, h, n);
	out[n] = '\0';
	return 0;
}

/*
 * A path that only the other listener serves: an open page (GET of a route
 * that needs no token, such as /ui) is redirected there; anything else is
 * told where it is with 421 (the CLI follows no redirect, and a token must
 * not be resent over another channel unasked).
 */
static void http_elsewhere(struct http_server *s, struct http_req *r, const struct http_route *rt)
{
	const struct http_config *cfg = &s->cfg;
	char host[128], url[512];
	const char *what = rt->side == HTTP_SIDE_NODE ? "node-facing" : "operator";
	if (cfg->other_port == 0 || cfg->other_scheme == NULL ||
	    http_req_host(r, host, sizeof(host)) < 0 ||
	    buf_fmt(url, sizeof(url), "%s://%s:%u", cfg->other_scheme, host, cfg->other_port) < 0) {
		http_reply_error(r, 421, "wrong_listener", NULL,
				 "%s is served on the %s listener, not this one", r->path, what);
		return;
	}
	char loc[1024];
	if ((r->method_id & (HTTP_GET | HTTP_HEAD)) && rt->side == HTTP_SIDE_OPERATOR &&
	    rt->read_scope == AUTH_SCOPE_NONE &&
	    buf_fmt(loc, sizeof(loc), "%s%s", url, r->path) == 0) {
		http_reply_error_hdr(r, 308, MHD_HTTP_HEADER_LOCATION, loc, "moved",
				     "%s is served at %s", r->path, loc);
		return;
	}
	http_reply_error(r, 421, "wrong_listener", NULL, "%s is served on the %s listener: %s%s",
			 r->path, what, url, r->path);
}

/*
 * First callback for a request: find the route, check auth and the body's
 * type.  Returns 0 to go on reading the body, 1 when a reply was queued.
 */
static int http_begin(struct http_server *s, struct http_req *r)
{
	const struct http_config *cfg = &s->cfg;
	const struct http_route *elsewhere = NULL;
	unsigned allowed = 0;

	for (size_t i = 0; i < cfg->nroutes; i++) {
		const struct http_route *rt = &cfg->routes[i];
		unsigned m = rt->methods;
		if (m & HTTP_GET)
			m |= HTTP_HEAD;
		if (!http_match(rt->pattern, r->path, r->argbuf, sizeof(r->argbuf), r->args))
			continue;
		if (!http_role_serves(cfg->role, rt->side)) {
			if (elsewhere == NULL)
				elsewhere = rt;
			continue;
		}
		allowed |= m;
		if (m & r->method_id) {
			r->route = rt;
			break;
		}
	}
	if (r->route == NULL) {
		if (allowed == 0 && elsewhere != NULL) {
			http_elsewhere(s, r, elsewhere);
			return 1;
		}
		if (allowed == 0) {
			http_reply_error(r, 404, "not_found", NULL, "no such path: %s", r->path);
			return 1;
		}
		char allow[128];
		http_methods_str(allowed, allow, sizeof(allow));
		http_reply_error_hdr(r, 405, MHD_HTTP_HEADER_ALLOW, allow, "method_not_allowed",
				     "method not allowed here");
		return 1;
	}

	int reading = r->method_id & (HTTP_GET | HTTP_HEAD);
	enum auth_scope need = reading ? r->route->read_scope : r->route->write_scope;
	r->granted = AUTH_SCOPE_NONE;
	if (need > AUTH_SCOPE_NONE) {
		const char *tok = http_bearer(r);
		if (tok == NULL || cfg->auth == NULL || cfg->auth(cfg->ctx, tok, &r->granted) < 0) {
			http_reply_error_hdr(
				r, 401, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer", "unauthorized",
				"%s",
				tok ? "unknown or revoked token" :
				      "missing bearer token (Authorization: Bearer …)");
			return 1;
		}
		if (r->granted < need) {
			http_reply_error(r, 403, "forbidden", NULL,
					 "this token is read-only; %s needs an admin token",
					 r->method);
			return 1;
		}
	}

	/* API bodies are JSON; node-facing routes (phone-home) take forms. */
	if (!reading && need > AUTH_SCOPE_NONE) {
		const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
		const char *len = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
		int has_body = (len != NULL && strcmp(len, "0") != 0) ||
			       http_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
		int untyped_ok =
			ct == NULL && cfg->untyped_json != NULL && cfg->untyped_json(r->path);
		if (has_body && !untyped_ok &&
		    (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
		     (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))) {
			http_reply_error(r, 415, "unsupported_media_type", NULL,
					 "request body must be application/json");
			return 1;
		}
	}
	size_t cap = r->route->max_body ? r->route->max_body : cfg->max_body;
	buf_init(&r->body, cap);
	return 0;
}

/*
 * Percent-decoding of the path and the query arguments, in place, as MHD's
 * own but for "%00": MHD would write a NUL, silently ending the path or
 * value there ("/files/k%00.txt" served as "/files/k").  It stays "%00",
 * which no name, MAC or file has, so such a request is refused as such.
 */
static size_t http_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *w = s;
	const char *r = s;
	while (*r != '\0') {
		int hi, lo;
		if (r[0] == '%' && (hi = valid_hexval(r[1])) >= 0 &&
		    (lo = valid_hexval(r[2])) >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 3;
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version, const char *upload_data,
				   size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		r->conn = conn;
		r->srv = s;
		const union MHD_ConnectionInfo *gi =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		r->guard = gi != NULL ? gi->socket_context : NULL;
		connguard_phase(s->guard, r->guard, CONNGUARD_BODY); /* headers are in */
		r->method = method;
		r->path = url;
		r->ctx = s->cfg.ctx;
		r->error_body = s->cfg.error_body;
		buf_init(&r->body, 0);
		for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++)
			if (strcmp(method, http_methods[i].name) == 0)
				r->method_id = http_methods[i].id;
		http_client_addr(r);
		if (r->method_id == 0) {
			/* not a method of any route (OPTIONS, TRACE, ...): 501, which
			 * needs no Allow, unlike a 405 */
			http_reply_error(r, 501, "not_implemented", NULL, "method %s not supported",
					 method);
			return MHD_YES;
		}
		if (strstr(url, "%00") != NULL) { /* left so by http_unescape() */
			http_reply_error(r, 400, "bad_request", NULL,
					 "an encoded NUL (%%00) in the path");
			return MHD_YES;
		}
		http_begin(s, r);
		return MHD_YES;
	}
	if (r->replied)
		return MHD_YES; /* answered early; MHD discards the rest of the body */

	if (*upload_size > 0) {
		if (!r->body_too_large && buf_add(&r->body, upload_data, *upload_size) < 0)
			r->body_too_large = 1;
		*upload_size = 0;
		return MHD_YES;
	}

	if (r->body_too_large) {
		http_reply_error(r, 413, "too_large", NULL, "request body over %zu bytes",
				 r->body.cap);
		return MHD_YES;
	}
	if (r->route == NULL)
		return MHD_NO; /* no route and no answer queued (out of memory): drop it */
	int rc = r->route->handler(r);
	if (!r->replied) {
		if (rc < 0)
			log_warnx("%s %s: handler failed (%d)", method, url, rc);
		http_reply_error(r, 500, "internal", NULL, "internal error");
	}
	return MHD_YES;
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	struct http_req *r = *con_cls;
	/* A kept-alive connection waits for the next request's headers from now. */
	const union MHD_ConnectionInfo *gi =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (gi != NULL)
		connguard_phase(s->guard, gi->socket_context, CONNGUARD_HEADERS);
	if (r == NULL)
		return;
	if (s->cfg.done != NULL)
		s->cfg.done(s->cfg.ctx, r);
	buf_clear(&r->body);
	free(r);
	*con_cls = NULL;
}

/* Seconds on CLOCK_MONOTONIC. */
static time_t http_mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Says how often the last line was held back, if it was; log_lock held. */
static void http_log_flush(struct http_server *s)
{
	if (s->log_repeats > 0)
		log_warnx("%s listener: %s (%u more times in %llds)", s->name, s->log_last,
			  s->log_repeats, (long long)(http_mono_s() - s->log_since));
	s->log_repeats = 0;
}

/*
 * libmicrohttpd's messages.  Under a flood it says the same thing for
 * every connection it refuses; a line repeated within a minute is counted
 * and reported once, when another line comes or the server stops.
 */
static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char msg[512];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	/* A longer line is cut: MHD's messages are short; one that is not
	 * still says enough in 511 bytes, with "..." to show the cut. */
	if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	size_t len = strlen(msg);
	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	time_t now = http_mono_s();
	pthread_mutex_lock(&s->log_lock);
	if (strncmp(msg, s->log_last, sizeof(s->log_last) - 1) == 0 && now - s->log_since < 60) {
		s->log_repeats++;
		pthread_mutex_unlock(&s->log_lock);
		return;
	}
	http_log_flush(s);
	buf_fmt_msg(s->log_last, sizeof(s->log_last), "%s", msg);
	s->log_since = now;
	pthread_mutex_unlock(&s->log_lock);
	log_warnx("%s listener: %s", s->name, msg);
}

/*
 * A connection opens or closes.  Opened: registered with the guard,
 * waiting for headers.  Closed: unregistered, before MHD closes the
 * descriptor (it calls this first), so the sweeper never cuts a reused one.
 */
static void http_notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
			     enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		connguard_close(s->guard, *socket_context);
		*socket_context = NULL;
		return;
	}
	const union MHD_ConnectionInfo *fi =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (fi == NULL)
		return;
	char addr[INET6_ADDRSTRLEN];
	http_conn_addr(conn, addr, sizeof(addr));
	*socket_context = connguard_open(s->guard, fi->connect_fd, addr);
	if (*socket_context == NULL) /* out of memory: unbounded, so not kept */
		(void)shutdown(fi->connect_fd, SHUT_RDWR);
}

/*
 * The listening socket, made here rather than by MHD so that a failure
 * comes back as what it was (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES, ...):
 * MHD only says that it failed.  Options as MHD sets them on a socket of
 * its own: SO_REUSEADDR, IPv6 only for an IPv6 address; non-blocking (MHD's
 * worker pool needs it) and close-on-exec (corrald starts dnsmasq).
 */
static int http_listen(const char *address, uint16_t port, int *out)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int on = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		len = sizeof(*in);
	} else if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* The port fd is bound to. */
static uint16_t http_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Appends one option to an MHD option array of cap entries (the last kept for MHD_OPTION_END). */
static void http_opt(struct MHD_OptionItem *o, size_t *n, size_t cap, enum MHD_OPTION opt,
		     intptr_t value, const void *ptr)
{
	if (*n + 1 >= cap) /* cannot happen: the array is sized for every option */
		abort();
	/* MHD's option items hold non-const pointers; it only reads these */
	o[(*n)++] = (struct MHD_OptionItem){opt, value, (void *)(uintptr_t)ptr};
	o[*n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

/* Starts MHD on s's listening socket fd with s->cfg; 0 or a negative errno. */
static int http_start_mhd(struct http_server *s, int fd)
{
	const struct http_config *cfg = &s->cfg;
	struct MHD_OptionItem o[16];
	size_t n = 0;
	unsigned threads = cfg->threads;
	if (threads == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		threads = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	/* Suspend/resume: live streams (hub.h) wait without holding a worker. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
	http_opt(o, &n, 16, MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)http_mhd_log, s);
	http_opt(o, &n, 16, MHD_OPTION_LISTEN_SOCKET, fd, NULL);
	http_opt(o, &n, 16, MHD_OPTION_THREAD_POOL_SIZE, threads, NULL);
	http_opt(o, &n, 16, MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)http_completed, s);
	http_opt(o, &n, 16, MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)http_notify_conn, s);
	http_opt(o, &n, 16, MHD_OPTION_CONNECTION_TIMEOUT,
		 cfg->conn_timeout ? cfg->conn_timeout : 60u, NULL);
	http_opt(o, &n, 16, MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns ? cfg->max_conns : 4096u,
		 NULL);
	http_opt(o, &n, 16, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conns_per_ip, NULL);
	http_opt(o, &n, 16, MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)http_unescape, NULL);
	if (s->tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return -ENOTSUP;
		flags |= MHD_USE_TLS;
		http_opt(o, &n, 16, MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert);
		http_opt(o, &n, 16, MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key);
		/* TLS 1.2 and 1.3 only: every browser and curl of the last years */
		http_opt(o, &n, 16, MHD_OPTION_HTTPS_PRIORITIES, 0,
			 "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
	}
	/* From here the socket is MHD's: MHD_stop_daemon() closes it. */
	s->mhd = MHD_start_daemon(flags, s->port, NULL, NULL, http_access, s, MHD_OPTION_ARRAY, o,
				  MHD_OPTION_END);
	/*
	 * On failure MHD logged why (out of memory, threads, a key that does
	 * not fit its certificate).  It closes the socket on most of its
	 * failure paths, not on all, and does not say which: leaking one
	 * descriptor on a failed start is safer than closing one twice.
	 */
	return s->mhd != NULL ? 0 : -EIO;
}

/* Frees what http_server_start() allocated before MHD ran. */
static void http_server_clear(struct http_server *s)
{
	connguard_free(s->guard);
	free(s->tls_cert);
	if (s->tls_key != NULL)
		explicit_bzero(s->tls_key, strlen(s->tls_key));
	free(s->tls_key);
	pthread_mutex_destroy(&s->log_lock);
	free(s);
}

int http_server_start(const struct http_config *cfg, struct http_server **out)
{
	int fd = -1;
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
		return -EINVAL;
	struct http_server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	pthread_mutex_init(&s->log_lock, NULL);
	s->cfg = *cfg;
	buf_fmt_msg(s->name, sizeof(s->name), "%s", cfg->name ? cfg->name : "http");
	int rc = connguard_new(s->name, cfg->header_timeout ? cfg->header_timeout : 10u,
			       cfg->body_timeout ? cfg->body_timeout : 60u, &s->guard);
	if (rc < 0)
		goto err_free;
	if (cfg->tls_cert != NULL && ((s->tls_cert = strdup(cfg->tls_cert)) == NULL ||
				      (s->tls_key = strdup(cfg->tls_key)) == NULL)) {
		rc = -ENOMEM;
		goto err_free;
	}
	rc = http_listen(cfg->address, cfg->port, &fd);
	if (rc < 0)
		goto err_free;
	s->port = http_bound_port(fd);
	rc = http_start_mhd(s, fd);
	if (rc == -ENOTSUP)
		close(fd); /* MHD never saw it */
	if (rc < 0)
		goto err_free;
	*out = s;
	return 0;

err_free:
	http_server_clear(s);
	return rc;
}

uint16_t http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	MHD_stop_daemon(s->mhd); /* closes every connection: each leaves the guard */
	pthread_mutex_lock(&s->log_lock);
	http_log_flush(s);
	pthread_mutex_unlock(&s->log_lock);
	http_server_clear(s);
}

unsigned http_server_open_conns(struct http_server *s)
{
	return connguard_open_count(s->guard);
}

uint64_t http_server_cut_conns(struct http_server *s)
{
	return connguard_cut_total(s->guard);
}
