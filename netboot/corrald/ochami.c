/*
 * ochami: what the OpenCHAMI-compatible handlers share (ochami.h): the
 * path → service map, RFC 7807 problem details, the body reader, the node
 * snapshot and its lookups, and store results as answers.
 *
 * Problem details follow what BSS and SMD send (Cray-HPE hms-base's
 * generic form): {"type":"about:blank","title":<status text>,"detail":
 * <message>,"status":<code>} as application/problem+json.  Corral's stable
 * error code is not part of that shape and is left out: OpenCHAMI's
 * clients read the status and print the detail.
 */
#include "ochami.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "app.h"
#include "jsondepth.h"
#include "log.h"
#include "valid.h"

static int ochami_prefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

enum ochami_service ochami_service_of(const char *path)
{
	if (path == NULL)
		return OCHAMI_NONE;
	if (ochami_prefix(path, "/boot/v1"))
		return OCHAMI_BSS;
	if (ochami_prefix(path, "/hsm/v2"))
		return OCHAMI_SMD;
	if (ochami_prefix(path, "/cloud-init"))
		return OCHAMI_CI;
	return OCHAMI_NONE;
}

/* Go's http.StatusText for the codes corrald answers with. */
static const char *ochami_status_text(unsigned status)
{
	static const struct {
		unsigned code;
		const char *text;
	} texts[] = {
		{400, "Bad Request"},
		{401, "Unauthorized"},
		{403, "Forbidden"},
		{404, "Not Found"},
		{405, "Method Not Allowed"},
		{409, "Conflict"},
		{413, "Request Entity Too Large"},
		{415, "Unsupported Media Type"},
		{416, "Requested Range Not Satisfiable"},
		{422, "Unprocessable Entity"},
		{500, "Internal Server Error"},
		{501, "Not Implemented"},
		{503, "Service Unavailable"},
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].code == status)
			return texts[i].text;
	return "Error";
}

json_t *ochami_error_body(const char *path, unsigned status, const char *code, const char *message,
			  const char **ctype)
{
	enum ochami_service s = ochami_service_of(path);
	if (s != OCHAMI_BSS && s != OCHAMI_SMD)
		return NULL; /* cloud-init paths keep Corral's shape (docs/openchami.md) */
	*ctype = "application/problem+json";
	return json_pack("{s:s, s:s, s:s, s:i}", "type", "about:blank", "title",
			 ochami_status_text(status), "detail", message, "status", (int)status);
}

int ochami_untyped_json(const char *path)
{
	enum ochami_service s = ochami_service_of(path);
	return s == OCHAMI_BSS || s == OCHAMI_SMD ||
	       (s == OCHAMI_CI && ochami_prefix(path, "/cloud-init/admin"));
}

json_t *ochami_body(struct http_req *r, bool allow_array)
{
	json_error_t jerr;
	if (r->body.len == 0) {
		http_reply_error(r, 400, "bad_request", NULL, "request body required (JSON)");
		return NULL;
	}
	struct jsondepth_where dw; /* refused before jansson builds anything */
	if (jsondepth_check(buf_str(&r->body), r->body.len, JSONDEPTH_MAX, &dw) < 0) {
		http_reply_error(r, 400, "bad_request", NULL, "%s", dw.message);
		return NULL;
	}
	json_t *j = json_loadb(buf_str(&r->body), r->body.len, 0, &jerr);
	if (j == NULL) {
		http_reply_error(r, 400, "bad_request", NULL,
				 "Bad Request: malformed JSON at line %d: %s", jerr.line,
				 jerr.text);
		return NULL;
	}
	if (!json_is_object(j) && !(allow_array && json_is_array(j))) {
		json_decref(j);
		http_reply_error(r, 400, "bad_request", NULL,
				 "Bad Request: the body must be a JSON %s",
				 allow_array ? "object or array" : "object");
		return NULL;
	}
	return j;
}

int ochami_store_error(struct http_req *r, int rc, const struct store_err *se, const char *what,
		       const char *name)
{
	const char *msg = se != NULL && se->message[0] ? se->message : NULL;
	switch (rc) {
	case -ENOENT:
		return http_reply_error(r, 404, "not_found", NULL, "no such %s: %s", what, name);
	case -EEXIST:
	case -EBUSY:
		return http_reply_error(r, 409, "conflict", NULL, "%s", msg ? msg : "conflict");
	case -ENXIO:
		return http_reply_error(r, 400, "invalid_field", NULL, "%s: %s",
					se ? se->field : what, msg ? msg : "no such object");
	default:
		log_warnx("ochami: %s %s: store error %d", r->method, r->path, rc);
		return http_reply_error(r, 500, "internal", NULL, "store error");
	}
}

int ochami_fail(struct http_req *r, unsigned status, const char *fmt, ...)
{
	char msg[HTTP_ERROR_MSG_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0'; /* a longer one is cut, as http_reply_error cuts */
	const char *code = status == 404 ? "not_found" : status == 409 ? "conflict" : "bad_request";
	http_reply_error(r, status, code, NULL, "%s", msg);
	return -EINVAL;
}

int ochami_smd_message(struct http_req *r, unsigned status, const char *message)
{
	return http_reply_json(r, status, json_pack("{s:i, s:s}", "code", 0, "message", message));
}

/* ---- Go-style members, SMD-style answers ---------------------------------------- */

/* Member key of o, matched as Go's encoding/json matches: exact, else any case. */
json_t *ochami_get(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (v != NULL)
		return v;
	const char *k;
	json_object_foreach(o, k, v)
		if (strcasecmp(k, key) == 0)
			return v;
	return NULL;
}

const char *ochami_str(json_t *o, const char *key)
{
	return json_string_value(ochami_get(o, key));
}

/* 201 with [{"URI": uri}] and Location, as SMD answers a creation. */
int ochami_created(struct http_req *r, const char *uri, bool array)
{
	json_t *one = json_pack("{s:s}", "URI", uri);
	json_t *body = array ? json_pack("[o]", one) : one;
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (s == NULL)
		return -ENOMEM;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(s);
		return -ENOMEM;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, uri);
	return http_reply(r, 201, resp);
}

struct ochami_qctx {
	const char *key;
	struct buf *out;
	int n, rc;
};

static enum MHD_Result ochami_query_one(void *cls, enum MHD_ValueKind kind, const char *key,
					const char *value)
{
	struct ochami_qctx *q = cls;
	if (key == NULL || strcmp(key, q->key) != 0 || value == NULL)
		return MHD_YES;
	if (q->rc == 0)
		q->rc = buf_printf(q->out, "%s%s", q->n++ ? "," : "", value);
	return MHD_YES;
}

char *ochami_query_all(struct http_req *r, const char *key)
{
	struct buf out;
	buf_init(&out, 16384);
	struct ochami_qctx q = {key, &out, 0, 0};
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, ochami_query_one, &q);
	if (q.n == 0 || q.rc < 0) {
		buf_clear(&out);
		return NULL;
	}
	char *s = buf_take(&out);
	return s ? s : strdup("");
}

/* ---- the node snapshot --------------------------------------------------- */

int ochami_inv_load(struct http_req *r, struct ochami_inv *inv)
{
	struct app *a = r->ctx;
	struct store_node_filter f = {NULL, NULL, NULL, -1, -1, 0};
	inv->nodes = NULL;
	events_flush(a->events); /* states as of now */
	int rc = store_node_list(a->store, &f, &inv->nodes);
	if (rc < 0) {
		ochami_store_error(r, rc, NULL, "node", "");
		return rc;
	}
	return 0;
}

void ochami_inv_clear(struct ochami_inv *inv)
{
	json_decref(inv->nodes);
	inv->nodes = NULL;
}

json_t *ochami_inv_by_name(const struct ochami_inv *inv, const char *name)
{
	size_t i;
	json_t *n;
	json_array_foreach(inv->nodes, i, n) {
		const char *nm = json_string_value(json_object_get(n, "name"));
		if (nm != NULL && strcmp(nm, name) == 0)
			return n;
	}
	return NULL;
}

json_t *ochami_inv_by_mac(const struct ochami_inv *inv, const char *mac)
{
	size_t i, k;
	json_t *n, *it;
	json_array_foreach(inv->nodes, i, n) {
		json_array_foreach(json_object_get(n, "interfaces"), k, it) {
			const char *m = json_string_value(json_object_get(it, "mac"));
			if (m != NULL && strcmp(m, mac) == 0)
				return n;
		}
	}
	return NULL;
}

json_t *ochami_inv_by_nid(const struct ochami_inv *inv, long long nid)
{
	size_t i;
	json_t *n;
	json_array_foreach(inv->nodes, i, n) {
		json_t *v = json_object_get(n, "nid");
		if (json_is_integer(v) && json_integer_value(v) == nid)
			return n;
	}
	return NULL;
}

json_t *ochami_node_new(const char *name)
{
	return json_pack("{s:s, s:n, s:s, s:s, s:[], s:b, s:n, s:s, s:[], s:{}, s:s, s:s}", "name",
			 name, "nid", "arch", "x86_64", "role", "", "groups", "enabled", 1,
			 "profile", "params", "", "interfaces", "metadata", "user_data", "",
			 "ipxe_efi", "snponly.efi");
}

/* digits at *p, at least one; advances *p. */
static int ochami_digits(const char **p)
{
	const char *s = *p;
	while (**p >= '0' && **p <= '9')
		(*p)++;
	return *p > s;
}

int ochami_is_node_xname(const char *name)
{
	static const char parts[] = "xcsbn";
	const char *p = name;
	for (size_t i = 0; parts[i] != '\0'; i++) {
		if (*p != parts[i])
			return 0;
		p++;
		if (!ochami_digits(&p))
			return 0;
	}
	return *p == '\0';
}

int ochami_nodes_write(struct http_req *r, json_t *nodes)
{
	struct app *a = r->ctx;
	struct store_err se = {"", ""};
	int created, replaced;
	if (json_array_size(nodes) == 0)
		return 0;
	int rc = store_node_import(a->store, nodes, &created, &replaced, &se);
	if (rc < 0) {
		ochami_store_error(r, rc, &se, "node", "");
		return rc;
	}
	return 0;
}

json_t *ochami_node_macs(json_t *node)
{
	json_t *out = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(node, "interfaces"), i, it)
		json_array_append(out, json_object_get(it, "mac"));
	return out;
}

json_t *ochami_component(json_t *node)
{
	const char *state = json_string_value(json_object_get(node, "state"));
	const char *arch = json_string_value(json_object_get(node, "arch"));
	const char *role = json_string_value(json_object_get(node, "role"));
	json_t *nid = json_object_get(node, "nid");
	/* Corral's boot state in SMD's words: never booted, asked for a boot
	 * script, phoned home. */
	const char *smd_state = state == NULL                 ? "Unknown" :
				strcmp(state, "ready") == 0   ? "Ready" :
				strcmp(state, "booting") == 0 ? "On" :
								"Populated";
	json_t *c = json_pack("{s:O, s:s, s:s, s:s, s:O}", "ID", json_object_get(node, "name"),
			      "Type", "Node", "State", smd_state, "Flag", "OK", "Enabled",
			      json_object_get(node, "enabled"));
	if (role != NULL && role[0] != '\0')
		json_object_set_new(c, "Role", json_string(role));
	if (json_is_integer(nid))
		json_object_set(c, "NID", nid);
	json_object_set_new(c, "NetType", json_string("Sling"));
	json_object_set_new(c, "Arch",
			    json_string(arch && strcmp(arch, "aarch64") == 0 ? "ARM" : "X86"));
	json_object_set_new(c, "Class", json_string("River"));
	return c;
}

/*
 * `ochami` refuses to send a token that is not a JWT (it parses it, without
 * checking a signature, for its expiry), so a Corral token travels to
 * corrald inside one: header.payload.signature, the payload a JSON object
 * whose "corral_token" is the token (docs/openchami.md shows how to make
 * one).  The envelope proves nothing by itself: what it carries is looked
 * up as any bearer token is.
 */
int ochami_bearer(const char *bearer, char *out, size_t outlen)
{
	const char *d1 = strchr(bearer, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL || d2 - d1 - 1 > 4096)
		return -ENOENT;
	unsigned char payload[3072];
	size_t len = 0;
	if (sodium_base642bin(payload, sizeof(payload) - 1, d1 + 1, (size_t)(d2 - d1 - 1), NULL,
			      &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -EINVAL;
	json_t *j = json_loadb((const char *)payload, len, 0, NULL);
	const char *tok = json_string_value(json_object_get(j, "corral_token"));
	int rc = tok != NULL && strlen(tok) < outlen ? 0 : -EINVAL;
	if (rc == 0)
		memcpy(out, tok, strlen(tok) + 1);
	json_decref(j);
	return rc;
}
