/*
 * cli_http: the CLI's HTTP client, libcurl's easy interface.
 *
 * Owns one curl handle (so requests of one run share a connection), the
 * server's base URL and the Authorization header.  Every request has a
 * connect timeout (5 s) and a total timeout (60 s), never follows
 * redirects (a redirect must not carry the bearer token elsewhere) and
 * speaks only http and https.  Replies go into a capped buffer.
 * HTTPS: the server's certificate is verified against the system's CAs,
 * or a CA file (cli_http_tls); a pinned fingerprint (the SHA-256 of the
 * server's public key, as `corrald cert` shows it) is checked by libcurl
 * during the handshake, before the token is sent, and with a pin and no CA
 * file the pin alone identifies the server (a self-signed certificate
 * needs no CA).  A refusal says which check failed and what to do.
 * Security: the token lives only in the header string, which is wiped
 * when the client is freed; it is never printed.
 *
 * Callers: cli_core (cli_call) and corral.c; handlers that need more than
 * cli_call (events --follow's stream, boot pxe's existence checks) call it
 * directly.  One client per run, single-threaded.
 */
#ifndef CORRAL_CLI_HTTP_H
#define CORRAL_CLI_HTTP_H

#include <jansson.h>

#include "buf.h"

/* Largest reply body accepted (a list of every node of a big cluster). */
#define CLI_HTTP_MAX_REPLY (64u * 1024 * 1024)

struct cli_http;

/* One reply; cli_reply_init before use, cli_reply_clear after. */
struct cli_reply {
	long status;     /* HTTP status; 0 when no reply came */
	struct buf body; /* the body as sent, NUL-terminated */
	json_t *json;    /* the body parsed when it is JSON, else NULL; owned */
	char err[256];   /* why the request failed, or why json is NULL */
};

void cli_reply_init(struct cli_reply *r);
void cli_reply_clear(struct cli_reply *r);

/*
 * New client for base_url ("http://host:port", no trailing '/') sending
 * token as a bearer token (NULL: none).  Returns 0, -EINVAL if the token
 * holds a character a header cannot carry, or -ENOMEM.  *out is the
 * caller's, freed with cli_http_free (NULL is a no-op).
 */
int cli_http_new(const char *base_url, const char *token, struct cli_http **out);
void cli_http_free(struct cli_http *h);
/*
 * How the server's certificate is checked: ca_file (a PEM bundle; NULL:
 * the system's) and fingerprint ("sha256:<64 hex>", see
 * cli_conf_fingerprint; NULL: none).  Returns 0, -EINVAL for a malformed
 * fingerprint, -ENOMEM.
 */
int cli_http_tls(struct cli_http *h, const char *ca_file, const char *fingerprint);
/* A second client to the same server with the same token and TLS checks (its own connection). */
int cli_http_dup(const struct cli_http *h, struct cli_http **out);

/*
 * Sends method to base_url + path (path starts with '/' and is already
 * escaped) with body as JSON (NULL: no body).  Returns 0 when the server
 * answered, whatever the status; -EIO when it could not be reached or the
 * transfer failed (r->err says why); -E2BIG when the reply is over
 * CLI_HTTP_MAX_REPLY; -ENAMETOOLONG when the URL would be over 8 KiB;
 * -ENOMEM.
 */
int cli_http_request(struct cli_http *h, const char *method, const char *path, const json_t *body,
		     struct cli_reply *r);

/*
 * GET base_url + path as a stream (Server-Sent Events): with a 200, each
 * line of the body (no newline) goes to on_line as it arrives; on_line
 * returns 0 to go on, 1 to stop there.  timeout_ms bounds the whole
 * stream (0: none; the connect timeout stays).  Returns 0 when on_line
 * stopped it, or the server answered other than 200 (r->status, r->body,
 * r->json as cli_http_request); -ETIMEDOUT; -EPIPE when the server ended
 * the stream; -EIO (r->err says why; also after 45 s without a byte, the
 * server pinging every 15 s); -E2BIG (an error reply over the cap);
 * -ENOMEM; -ENAMETOOLONG.
 */
int cli_http_stream(struct cli_http *h, const char *path, long timeout_ms,
		    int (*on_line)(void *ctx, const char *line), void *ctx, struct cli_reply *r);

/* Appends s percent-encoded (all but A-Z a-z 0-9 - . _ ~); 0 or -E2BIG/-ENOMEM. */
int cli_http_escape(struct buf *b, const char *s);

#endif
