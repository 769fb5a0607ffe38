/*
 * cli_http: one libcurl easy handle doing the CLI's API requests.
 * See cli_http.h for the contract (timeouts, no redirects, capped replies).
 */
#include "cli_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "0"
#endif

#define CLI_HTTP_CONNECT_TIMEOUT 5L /* seconds */
#define CLI_HTTP_TOTAL_TIMEOUT 60L  /* seconds */
#define CLI_HTTP_URL_MAX 8192

struct cli_http {
	CURL *curl;      /* reused: requests of one run share a connection */
	char *base;      /* base URL, no trailing '/' */
	struct buf auth; /* "Authorization: Bearer ...", empty without token */
	char *ca_file;   /* NULL: the system's CAs */
	char fp[72];     /* "sha256:<hex>" as given, for messages; "" without a pin */
	char pin[64];    /* libcurl's form of it: "sha256//<base64>"; "" without */
};

/* Where the write callback puts the reply. */
struct cli_sink {
	struct buf *body;
	int too_large; /* the reply went over the cap */
	int nomem;
};

void cli_reply_init(struct cli_reply *r)
{
	r->status = 0;
	buf_init(&r->body, CLI_HTTP_MAX_REPLY);
	r->json = NULL;
	r->err[0] = '\0';
}

void cli_reply_clear(struct cli_reply *r)
{
	buf_clear(&r->body);
	json_decref(r->json);
	r->json = NULL;
	r->status = 0;
	r->err[0] = '\0';
}

int cli_http_new(const char *base_url, const char *token, struct cli_http **out)
{
	int rc = -ENOMEM;
	struct cli_http *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	buf_init(&h->auth, 4096);
	if (token != NULL && token[0] != '\0') {
		/* A CR or LF in the token would smuggle a header in. */
		for (const char *p = token; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				rc = -EINVAL;
				goto err_token;
			}
		}
		rc = buf_printf(&h->auth, "Authorization: Bearer %s", token);
		if (rc < 0)
			goto err_token;
	}
	h->base = strdup(base_url);
	if (h->base == NULL) {
		rc = -ENOMEM;
		goto err_token;
	}
	h->curl = curl_easy_init();
	if (h->curl == NULL) {
		rc = -ENOMEM;
		goto err_curl;
	}
	*out = h;
	return 0;

err_curl:
	free(h->base);
err_token:
	buf_clear(&h->auth);
	free(h);
	return rc;
}

/* 0..15 for a lower-case hex digit (cli_conf_fingerprint made them so), else -1. */
static int cli_http_hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int cli_http_tls(struct cli_http *h, const char *ca_file, const char *fingerprint)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	free(h->ca_file);
	h->ca_file = NULL;
	h->fp[0] = h->pin[0] = '\0';
	if (ca_file != NULL && (h->ca_file = strdup(ca_file)) == NULL)
		return -ENOMEM;
	if (fingerprint == NULL)
		return 0;
	unsigned char raw[33] = {0}; /* one spare byte: base64 works in threes */
	if (strncmp(fingerprint, "sha256:", 7) != 0 || strlen(fingerprint) != 71)
		return -EINVAL;
	for (size_t i = 0; i < 32; i++) {
		int hi = cli_http_hexval(fingerprint[7 + 2 * i]);
		int lo = cli_http_hexval(fingerprint[8 + 2 * i]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		raw[i] = (unsigned char)(hi * 16 + lo);
	}
	/* libcurl pins "sha256//" and the base64 of the hash of the DER public key */
	char *o = h->pin + 8;
	memcpy(h->pin, "sha256//", 8);
	for (size_t i = 0; i < 33; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < 32 ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < 32 ? b64[v & 63] : '=';
	}
	*o = '\0';
	memcpy(h->fp, fingerprint, 72);
	return 0;
}

int cli_http_dup(const struct cli_http *h, struct cli_http **out)
{
	static const char prefix[] = "Authorization: Bearer ";
	const char *auth = buf_str(&h->auth);
	int rc = cli_http_new(h->base, h->auth.len > 0 ? auth + sizeof(prefix) - 1 : NULL, out);
	if (rc == 0 && (rc = cli_http_tls(*out, h->ca_file, h->fp[0] ? h->fp : NULL)) < 0) {
		cli_http_free(*out);
		*out = NULL;
	}
	return rc;
}

void cli_http_free(struct cli_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h->base);
	free(h->ca_file);
	if (h->auth.data != NULL)
		explicit_bzero(h->auth.data, h->auth.size);
	buf_clear(&h->auth);
	free(h);
}

static size_t cli_http_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct cli_sink *s = userp;
	size_t n = size * nmemb;
	int rc = buf_add(s->body, data, n);
	if (rc == -E2BIG) {
		s->too_large = 1;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	if (rc < 0) {
		s->nomem = 1;
		return 0;
	}
	return n;
}

int cli_http_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		int rc;
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			rc = buf_addc(b, (char)*p);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 0x0f]};
			rc = buf_add(b, esc, sizeof(esc));
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* True when the reply says it is JSON ("application/json", "...+json"). */
static int cli_http_is_json(const char *ctype)
{
	if (ctype == NULL)
		return 0;
	size_t n = strcspn(ctype, ";");
	if (n >= 16 && strncasecmp(ctype, "application/json", 16) == 0)
		return 1;
	return n >= 5 && strncasecmp(ctype + n - 5, "+json", 5) == 0;
}

static void cli_http_parse(struct cli_reply *r, const char *ctype)
{
	if (!cli_http_is_json(ctype) || r->body.len == 0)
		return;
	json_error_t jerr;
	r->json = json_loadb(buf_str(&r->body), r->body.len, JSON_DECODE_ANY, &jerr);
	if (r->json == NULL) {
		int n = snprintf(r->err, sizeof(r->err), "invalid JSON in reply: line %d: %s",
				 jerr.line, jerr.text);
		if (n < 0 || (size_t)n >= sizeof(r->err))
			r->err[sizeof(r->err) - 1] = '\0'; /* cut; still says what */
	}
}

/*
 * What every request starts with: base + path into url, the token and the
 * extra headers (NULL-terminated) into *hdrs, and the handle reset (its
 * connection cache kept) with the options all share.  0, -ENAMETOOLONG or
 * -ENOMEM; the caller frees url and *hdrs in every case.
 */
static int cli_http_begin(struct cli_http *h, const char *path, const char *const *extra,
			  struct buf *url, struct curl_slist **hdrs, char *errbuf)
{
	struct curl_slist *tmp;
	int rc = buf_adds(url, h->base);
	if (rc == 0)
		rc = buf_adds(url, path);
	if (rc < 0)
		return rc == -E2BIG ? -ENAMETOOLONG : rc;
	if (h->auth.len > 0) {
		if ((tmp = curl_slist_append(*hdrs, buf_str(&h->auth))) == NULL)
			return -ENOMEM;
		*hdrs = tmp;
	}
	for (; *extra != NULL; extra++) {
		if ((tmp = curl_slist_append(*hdrs, *extra)) == NULL)
			return -ENOMEM;
		*hdrs = tmp;
	}
	CURL *e = h->curl;
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, buf_str(url));
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CLI_HTTP_CONNECT_TIMEOUT);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "corral/" CORRAL_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	if (h->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
	if (h->pin[0] != '\0') {
		/* Checked in the handshake, before a byte of the request is sent. */
		curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, h->pin);
		if (h->ca_file == NULL) {
			/* The pin is the identity: a self-signed certificate has no
			 * CA, and its names need not be the one in the URL. */
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
		}
	}
	return 0;
}

/* Why a transfer failed, into r->err: for a refused certificate, also what to do. */
static void cli_http_why(const struct cli_http *h, CURLcode cc, const char *errbuf,
			 struct cli_reply *r)
{
	const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);
	if (cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		buf_fmt_msg(r->err, sizeof(r->err),
			    "the server's public key is not %s: not the corrald pinned (or its "
			    "key was replaced); nothing was sent",
			    h->fp);
	else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
		buf_fmt_msg(r->err, sizeof(r->err),
			    "the server's certificate is not trusted (%s); pass its CA with "
			    "--ca-file or pin it with --fingerprint (corrald cert shows both); "
			    "nothing was sent",
			    why);
	else
		buf_fmt_msg(r->err, sizeof(r->err), "%s", why);
}

int cli_http_request(struct cli_http *h, const char *method, const char *path, const json_t *body,
		     struct cli_reply *r)
{
	int rc;
	char *payload = NULL;
	struct curl_slist *hdrs = NULL;
	struct buf url;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct cli_sink sink = {.body = &r->body};
	CURL *e = h->curl;
	char *ctype = NULL;
	/* No "Expect: 100-continue" round trip for big bodies. */
	static const char *const plain[] = {"Expect:", NULL};
	static const char *const json[] = {"Expect:", "Content-Type: application/json", NULL};

	buf_init(&url, CLI_HTTP_URL_MAX);
	if ((rc = cli_http_begin(h, path, body ? json : plain, &url, &hdrs, errbuf)) < 0)
		goto err_hdrs;
	if (body != NULL && (payload = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		rc = -ENOMEM;
		goto err_perform;
	}
	curl_easy_setopt(e, CURLOPT_TIMEOUT, CLI_HTTP_TOTAL_TIMEOUT);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cli_http_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (payload != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
	}

	CURLcode cc = curl_easy_perform(e);
	if (sink.too_large) {
		rc = -E2BIG;
		goto err_perform;
	}
	if (sink.nomem) {
		rc = -ENOMEM;
		goto err_perform;
	}
	if (cc != CURLE_OK) {
		cli_http_why(h, cc, errbuf, r);
		rc = -EIO;
		goto err_perform;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ctype);
	cli_http_parse(r, ctype);
	rc = 0;

err_perform:
	free(payload);
err_hdrs:
	/* The handle must not keep pointers to what is freed below. */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	buf_clear(&url);
	return rc;
}

/* What the stream's write callback works with. */
struct cli_stream {
	CURL *curl;
	struct cli_reply *r;
	int (*on_line)(void *ctx, const char *line);
	void *ctx;
	struct buf line; /* a line not yet ended */
	int checked;     /* the status was looked at */
	int ok;          /* it was 200: lines go to on_line */
	int stopped;     /* on_line said stop */
	int failed;      /* out of memory, or a line over its cap */
};

static size_t cli_stream_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct cli_stream *s = userp;
	size_t n = size * nmemb;
	if (!s->checked) {
		long status = 0;
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
		s->checked = 1;
		s->ok = status == 200;
	}
	if (!s->ok) { /* an error reply: kept whole, like any reply */
		if (buf_add(&s->r->body, data, n) == 0)
			return n;
		s->failed = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (data[i] != '\n') {
			if (buf_addc(&s->line, data[i]) < 0) {
				s->failed = 1;
				return 0;
			}
			continue;
		}
		if (s->line.len > 0 && s->line.data[s->line.len - 1] == '\r')
			s->line.len--;
		if (s->on_line(s->ctx, buf_str(&s->line)) != 0) {
			s->stopped = 1;
			return 0; /* curl stops with CURLE_WRITE_ERROR */
		}
		buf_reset(&s->line);
	}
	return n;
}

int cli_http_stream(struct cli_http *h, const char *path, long timeout_ms,
		    int (*on_line)(void *ctx, const char *line), void *ctx, struct cli_reply *r)
{
	struct curl_slist *hdrs = NULL;
	struct buf url;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *ctype = NULL;
	CURL *e = h->curl;
	struct cli_stream s = {.curl = e, .r = r, .on_line = on_line, .ctx = ctx};
	static const char *const accept[] = {"Accept: text/event-stream", NULL};
	int rc;

	buf_init(&url, CLI_HTTP_URL_MAX);
	buf_init(&s.line, 1u << 20);
	if ((rc = cli_http_begin(h, path, accept, &url, &hdrs, errbuf)) < 0)
		goto err_hdrs;
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	/* corrald pings every 15 s: 45 s of silence is a server or network gone */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 45L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cli_stream_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CURLcode cc = curl_easy_perform(e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long took_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	if (s.stopped) {
		rc = 0;
	} else if (s.failed) {
		rc = s.ok ? -ENOMEM : -E2BIG;
	} else if (cc == CURLE_OPERATION_TIMEDOUT && timeout_ms > 0 && took_ms >= timeout_ms) {
		rc = -ETIMEDOUT;
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		buf_fmt_msg(r->err, sizeof(r->err), "nothing from the server for 45 s");
		rc = -EIO;
	} else if (cc != CURLE_OK) {
		cli_http_why(h, cc, errbuf, r);
		rc = -EIO;
	} else if (r->status != 200) {
		curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &ctype);
		cli_http_parse(r, ctype);
		rc = 0;
	} else {
		rc = -EPIPE; /* the server closed the stream */
	}
err_hdrs:
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	buf_clear(&s.line);
	buf_clear(&url);
	return rc;
}
