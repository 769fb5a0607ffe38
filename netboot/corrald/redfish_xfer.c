/*
 * redfish_xfer: one libcurl transfer to a BMC (URL, timeouts, TLS, auth,
 * capped reply), the login and logout of Redfish sessions, and the small
 * reply helpers the walk and control share.  See redfish_int.h.
 *
 * Security: a reply is capped at max_reply and aborts past it; redirects
 * are not followed; links are followed only when rf_path_ok says so (a
 * path under /redfish/v1/ on the same BMC, never a URL).  TLS peers are
 * verified unless the job says insecure.  The login body holding the
 * password is wiped once sent.
 */
#include "redfish_int.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t rf_write(char *data, size_t size, size_t n, void *arg)
{
	struct rf_req *q = arg;
	if (buf_add(&q->reply, data, size * n) < 0) {
		q->too_large = true;
		return 0; /* aborts the transfer */
	}
	return size * n;
}

/* Login replies: keep X-Auth-Token and Location (a path on the same BMC). */
static size_t rf_header(char *data, size_t size, size_t n, void *arg)
{
	struct rf_req *q = arg;
	size_t len = size * n;
	char line[512];
	if (len >= sizeof(line))
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	char *v = strchr(line, ':');
	if (v == NULL)
		return size * n;
	*v++ = '\0';
	while (*v == ' ')
		v++;
	/* A cut token or path would be another one: none is kept instead (no
	 * token fails the login; no session path, no logout: it expires). */
	if (strcasecmp(line, "X-Auth-Token") == 0) {
		if (buf_fmt(q->token, sizeof(q->token), "%s", v) < 0)
			q->token[0] = '\0';
	} else if (strcasecmp(line, "Location") == 0) {
		const char *path = strstr(v, "/redfish/v1/");
		if (path != NULL && buf_fmt(q->location, sizeof(q->location), "%s", path) < 0)
			q->location[0] = '\0';
	}
	return size * n;
}

int rf_path_ok(const char *p)
{
	if (p == NULL || strncmp(p, "/redfish/v1", 11) != 0 || strstr(p, "..") != NULL ||
	    strlen(p) >= 400)
		return 0;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("/._-:@%+~", *p) == NULL)
			return 0;
	return 1;
}

const char *rf_link(json_t *obj, const char *member)
{
	json_t *v = member ? json_object_get(obj, member) : obj;
	const char *p = json_string_value(json_object_get(v, "@odata.id"));
	return rf_path_ok(p) ? p : NULL;
}

void rf_error(struct rf_probe *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	buf_vfmt_msg(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->bmc != NULL) {
		if (!p->failed) {
			json_object_set_new(p->bmc, "status", json_string("error"));
			json_object_set_new(p->bmc, "message", json_string(msg));
		}
	} else if (p->out != NULL) {
		json_object_set_new(p->out, "ok", json_false());
		json_object_set_new(p->out, "message", json_string(msg));
	}
	p->failed = true;
}

int rf_request(struct redfish *rf, struct rf_probe *p, enum rf_kind kind, size_t sys,
	       const char *path, const char *method, const char *body, bool authed)
{
	char url[768], token[300];
	int v6 = strchr(p->address, ':') != NULL;
	/* A cut URL, path or token would be another one: refused. */
	if (buf_fmt(url, sizeof(url), "%s://%s%s%s:%d%s", p->scheme, v6 ? "[" : "", p->address,
		    v6 ? "]" : "", p->port, path) < 0 ||
	    buf_fmt(token, sizeof(token), "X-Auth-Token: %s", p->token) < 0)
		return -ENAMETOOLONG;
	struct rf_req *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	if (buf_fmt(q->path, sizeof(q->path), "%s", path) < 0) {
		free(q);
		return -ENAMETOOLONG;
	}
	q->probe = p;
	q->kind = kind;
	q->sys = sys;
	q->order = p->next_order;
	buf_init(&q->reply, rf->cfg.max_reply);
	q->easy = curl_easy_init();
	if (q->easy == NULL) {
		free(q);
		return -ENOMEM;
	}
	CURL *e = q->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, q);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, rf_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)rf->cfg.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)rf->cfg.total_timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rf->cfg.max_reply);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, p->insecure ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, p->insecure ? 0L : 2L);
	if (rf->ca_file[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, rf->ca_file);
	q->hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (authed && p->token[0] != '\0') {
		q->hdrs = curl_slist_append(q->hdrs, token);
	} else if (authed && p->user != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, p->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, p->pass);
	}
	if (kind == RQ_LOGIN) {
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, rf_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
	}
	if (body != NULL) {
		q->body = strdup(body);
		q->hdrs = curl_slist_append(q->hdrs, "Content-Type: application/json");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body);
	}
	if (method != NULL)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->hdrs);
	if (curl_multi_add_handle(rf->multi, e) != CURLM_OK) {
		curl_slist_free_all(q->hdrs);
		curl_easy_cleanup(e);
		free(q->body);
		free(q);
		return -EIO;
	}
	p->inflight++;
	rf->running++;
	q->next = rf->reqs;
	if (rf->reqs != NULL)
		rf->reqs->prev = q;
	rf->reqs = q;
	return 0;
}

void rf_get(struct redfish *rf, struct rf_probe *p, enum rf_kind kind, size_t sys, const char *path)
{
	if (path != NULL && !p->failed && rf_request(rf, p, kind, sys, path, NULL, NULL, true) < 0)
		rf_error(p, "cannot start a request");
}

void rf_req_unlink(struct redfish *rf, struct rf_req *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		rf->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
}

void rf_req_free(struct rf_req *q)
{
	curl_slist_free_all(q->hdrs);
	curl_easy_cleanup(q->easy);
	buf_clear(&q->reply);
	free(q->body);
	free(q);
}

void rf_count(json_t *result, const char *key)
{
	json_object_set_new(result, key,
			    json_integer(json_integer_value(json_object_get(result, key)) + 1));
}

void rf_str(json_t *dst, const char *key, json_t *src, const char *skey)
{
	const char *v = json_string_value(json_object_get(src, skey));
	json_object_set_new(dst, key, v && strlen(v) < 200 ? json_string(v) : json_null());
}

/* Redfish sessions: POST credentials, keep the X-Auth-Token, DELETE at the end. */
void rf_login(struct redfish *rf, struct rf_probe *p, json_t *root)
{
	const char *path = root ? rf_link(json_object_get(root, "Links"), "Sessions") : NULL;
	if (path == NULL)
		path = "/redfish/v1/SessionService/Sessions";
	json_t *b = json_pack("{s:s, s:s}", "UserName", p->user ? p->user : "", "Password",
			      p->pass ? p->pass : "");
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (body == NULL || rf_request(rf, p, RQ_LOGIN, 0, path, "POST", body, false) < 0)
		rf_error(p, "cannot start the session login");
	if (body != NULL) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
}
