/*
 * nodereport: boot steps reported by the node itself.  See nodereport.h.
 *
 * Security: the body is outside input from an unauthenticated client; the
 * token decides which node the event belongs to, the stage must be one of
 * the table's, and the detail is stored as text only (the web page and the
 * CLI print it, never interpret it).
 */
#include "nodereport.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "app.h"
#include "auth.h"

/* Stages a node may report, and what each means. */
static const char *const nodereport_stages[] = {
	"rootfs", /* the initramfs refused the root image (sha256 mismatch, no download) */
};

static int nodereport_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int nodereport_form_value(const char *body, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	for (const char *p = body; *p;) {
		const char *end = strchrnul(p, '&');
		if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t o = 0;
			for (const char *s = p + klen + 1; s < end && o + 1 < outlen; s++) {
				int c = (unsigned char)*s;
				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					int hi = end - s >= 3 ? nodereport_hex(s[1]) : -1;
					int lo = hi >= 0 ? nodereport_hex(s[2]) : -1;
					if (lo < 0)
						return -EINVAL;
					c = hi * 16 + lo;
					s += 2;
				}
				out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
			}
			out[o] = '\0';
			return 0;
		}
		p = *end ? end + 1 : end;
	}
	return -ENOENT;
}

int nodereport_serve(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *body = buf_str(&r->body);
	char stage[32], detail[201], name[64];
	int64_t node_id;
	size_t i, n = sizeof(nodereport_stages) / sizeof(nodereport_stages[0]);

	int64_t now = store_now_us() / 1000000;
	if (auth_seed_check(a->seed_key, r->args[0], (uint32_t)now, &node_id) < 0)
		return http_reply_error(r, 403, "forbidden", NULL,
					"invalid or expired node token; fetch a new boot script");
	if (nodereport_form_value(body, "stage", stage, sizeof(stage)) < 0)
		return http_reply_error(r, 400, "bad_request", "stage",
					"give stage= (a form: stage=rootfs&detail=...)");
	for (i = 0; i < n && strcmp(stage, nodereport_stages[i]) != 0; i++)
		;
	if (i == n)
		return http_reply_error(r, 400, "bad_request", "stage",
					"a node may report only stage rootfs");
	int rc = nodereport_form_value(body, "detail", detail, sizeof(detail));
	if (rc == -EINVAL)
		return http_reply_error(r, 400, "bad_request", "detail", "bad %%-escape");
	if (rc < 0)
		detail[0] = '\0';
	rc = store_node_name(a->store, node_id, name, sizeof(name));
	if (rc == -ENOENT)
		return http_reply_error(r, 404, "not_found", NULL, "node no longer exists");
	if (rc < 0)
		return rc;
	events_add(a->events, node_id, stage, r->client_ip, detail, NULL, NULL);
	return http_reply_json(r, 200, json_pack("{s:s, s:s}", "node", name, "stage", stage));
}
