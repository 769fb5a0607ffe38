/*
 * api: the operator REST API under /api/v1 (docs/api.md): the inventory
 * routes, and what every api*.c file shares (api_internal.h).  The Redfish
 * routes are in api_redfish.c.
 *
 * Each handler parses the body, validates it against a field table into a
 * complete object (defaults filled, MACs normalised), then makes one store
 * call, which is one transaction.  Validation failures are 422 with the
 * field's path; store results map to statuses in api_store_error() only.
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "app.h"
#include "bootscript.h"
#include "cloudinit.h"
#include "dhcp.h"
#include "jsondepth.h"
#include "log.h"
#include "serve.h"
#include "valid.h"

/*
 * vsnprintf into a fixed array of an error report (size at least 4),
 * checked.  What does not fit is a name a client sent (an unknown field, a
 * value quoted back): it is cut between two UTF-8 characters and ends in
 * "..." so that the reader sees the cut.
 */
static void api_vfmt(char *out, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, size, fmt, ap);
	if (n < 0) {
		out[0] = '\0';
		return;
	}
	if ((size_t)n < size)
		return;
	size_t p = size - 4; /* the first byte "..." replaces */
	while (p > 0 && ((unsigned char)out[p] & 0xc0) == 0x80)
		p--;
	memcpy(out + p, "...", 4);
}

__attribute__((format(printf, 3, 4))) static void api_fmt(char *out, size_t size, const char *fmt,
							  ...)
{
	va_list ap;
	va_start(ap, fmt);
	api_vfmt(out, size, fmt, ap);
	va_end(ap);
}

int api_fail(struct api_err *e, const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	api_vfmt(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_fmt(e->field, sizeof(e->field), "%s", field);
	api_fmt(e->message, sizeof(e->message), "%s: %s", e->field, msg);
	return -EINVAL;
}

int api_invalid(struct http_req *r, const struct api_err *e)
{
	return http_reply_error(r, 422, "invalid_field", e->field, "%s", e->message);
}

/* The one place where store results become HTTP answers. */
int api_store_error(struct http_req *r, int rc, const struct store_err *se, const char *what,
		    const char *name)
{
	switch (rc) {
	case -ENOENT:
		return http_reply_error(r, 404, "not_found", NULL, "no such %s: %s", what, name);
	case -EEXIST:
	case -EBUSY:
		return http_reply_error(r, 409, "conflict", se && se->field[0] ? se->field : NULL,
					"%s", se && se->message[0] ? se->message : "conflict");
	case -ENXIO:
		return http_reply_error(r, 422, "invalid_field", se ? se->field : NULL, "%s: %s",
					se ? se->field : "", se ? se->message : "");
	default:
		log_warnx("api: %s %s: store error %d: %s", r->method, r->path, rc, store_errmsg());
		return http_reply_error(r, 500, "internal", NULL, "store error");
	}
}

/* The body as a JSON object (or array, for import), or a 400 answer (returns NULL then). */
static json_t *api_body_any(struct http_req *r, int allow_array)
{
	json_error_t jerr;
	if (r->body.len == 0) {
		http_reply_error(r, 400, "bad_request", NULL, "request body required (JSON)");
		return NULL;
	}
	struct jsondepth_where dw; /* refused before jansson builds anything (docs/security.md) */
	if (jsondepth_check(buf_str(&r->body), r->body.len, JSONDEPTH_MAX, &dw) < 0) {
		http_reply_error(r, 400, "bad_request", dw.field[0] ? dw.field : NULL, "%s",
				 dw.message);
		return NULL;
	}
	json_t *j = json_loadb(buf_str(&r->body), r->body.len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		http_reply_error(r, 400, "bad_request", NULL, "malformed JSON at line %d: %s",
				 jerr.line, jerr.text);
		return NULL;
	}
	if (!json_is_object(j) && !(allow_array && json_is_array(j))) {
		json_decref(j);
		http_reply_error(r, 400, "bad_request", NULL, "the body must be a JSON object");
		return NULL;
	}
	return j;
}

json_t *api_body(struct http_req *r)
{
	return api_body_any(r, 0);
}

/* ---- field tables ---------------------------------------------------- */

enum api_fkind {
	F_NAME,      /* required object name */
	F_NAME_NULL, /* reference by name, or null */
	F_TEXT,      /* free text, up to 256 characters */
	F_SHORT,     /* free text, up to 63 characters */
	F_PARAMS,    /* kernel parameters (iPXE-safe) */
	F_LOC,       /* required kernel/initrd location */
	F_LOC_NULL,  /* optional location */
	F_ARCH,      /* x86_64 | aarch64 */
	F_OBJECT,    /* JSON object */
	F_USERDATA,  /* cloud-init user-data */
	F_BOOL_TRUE, /* boolean, default true */
	F_NID,       /* node number or null */
	F_GROUPS,    /* array of names */
	F_IFACES,    /* array of {mac, ip} */
	F_IPXE_EFI,  /* snponly.efi (default) | ipxe.efi */
	F_READONLY,  /* accepted and ignored (round-trips GET → PUT) */
	F_SHA256,    /* 64 lowercase hex digits, or null */
};

struct api_field {
	const char *name;
	enum api_fkind kind;
};

static const struct api_field node_fields[] = {
	{"name", F_NAME},
	{"nid", F_NID},
	{"arch", F_ARCH},
	{"role", F_SHORT},
	{"groups", F_GROUPS},
	{"enabled", F_BOOL_TRUE},
	{"profile", F_NAME_NULL},
	{"params", F_PARAMS},
	{"interfaces", F_IFACES},
	{"metadata", F_OBJECT},
	{"user_data", F_USERDATA},
	{"ipxe_efi", F_IPXE_EFI},
	{"state", F_READONLY},
	{"last_event", F_READONLY},
	{"created", F_READONLY},
	{"updated", F_READONLY},
	{NULL, 0},
};
static const struct api_field image_fields[] = {
	{"name", F_NAME},
	{"arch", F_ARCH},
	{"kernel", F_LOC},
	{"initrd", F_LOC},
	{"rootfs", F_LOC_NULL},
	{"params", F_PARAMS},
	{"rootfs_sha256", F_SHA256},
	{"created", F_READONLY},
	{"updated", F_READONLY},
	{NULL, 0},
};
static const struct api_field profile_fields[] = {
	{"name", F_NAME},        {"image", F_NAME_NULL},
	{"kernel", F_LOC_NULL},  {"initrd", F_LOC_NULL},
	{"params", F_PARAMS},    {"created", F_READONLY},
	{"updated", F_READONLY}, {NULL, 0},
};
static const struct api_field group_fields[] = {
	{"name", F_NAME},        {"description", F_TEXT},   {"profile", F_NAME_NULL},
	{"metadata", F_OBJECT},  {"user_data", F_USERDATA}, {"members", F_READONLY},
	{"created", F_READONLY}, {"updated", F_READONLY},   {NULL, 0},
};
static const struct api_field defaults_fields[] = {
	{"profile", F_NAME_NULL},
	{"metadata", F_OBJECT},
	{"user_data", F_USERDATA},
	{NULL, 0},
};

static json_t *api_default(enum api_fkind k)
{
	switch (k) {
	case F_TEXT:
	case F_SHORT:
	case F_PARAMS:
	case F_USERDATA:
		return json_string("");
	case F_ARCH:
		return json_string("x86_64");
	case F_IPXE_EFI:
		return json_string("snponly.efi");
	case F_OBJECT:
		return json_object();
	case F_BOOL_TRUE:
		return json_true();
	case F_GROUPS:
	case F_IFACES:
		return json_array();
	default:
		return json_null();
	}
}

static int api_check_ifaces(json_t *v, const char *prefix, json_t **out, struct api_err *e)
{
	char f[96];
	api_fmt(f, sizeof(f), "%sinterfaces", prefix);
	if (!json_is_array(v))
		return api_fail(e, f, "must be an array of {\"mac\", \"ip\"}");
	if (json_array_size(v) > 64)
		return api_fail(e, f, "at most 64 interfaces");
	json_t *arr = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(v, i, it) {
		char mac[VALID_MAC_LEN + 1];
		if (!json_is_object(it)) {
			api_fmt(f, sizeof(f), "%sinterfaces[%zu]", prefix, i);
			goto err_arr_obj;
		}
		const char *key;
		json_t *x;
		json_object_foreach(it, key, x) {
			if (strcmp(key, "mac") != 0 && strcmp(key, "ip") != 0) {
				api_fmt(f, sizeof(f), "%sinterfaces[%zu].%s", prefix, i, key);
				json_decref(arr);
				return api_fail(e, f, "unknown field (interfaces have mac and ip)");
			}
		}
		json_t *m = json_object_get(it, "mac");
		api_fmt(f, sizeof(f), "%sinterfaces[%zu].mac", prefix, i);
		if (!json_is_string(m) || valid_mac_normalize(json_string_value(m), mac) < 0) {
			json_decref(arr);
			return api_fail(e, f, "not a MAC address (aa:bb:cc:dd:ee:ff)");
		}
		json_t *ip = json_object_get(it, "ip");
		api_fmt(f, sizeof(f), "%sinterfaces[%zu].ip", prefix, i);
		if (ip != NULL && !json_is_null(ip) &&
		    (!json_is_string(ip) || valid_ipv4(json_string_value(ip)) < 0)) {
			json_decref(arr);
			return api_fail(e, f, "not an IPv4 address");
		}
		/* The same MAC or IP twice in one node. */
		size_t j;
		json_t *prev;
		json_array_foreach(arr, j, prev) {
			const char *pip = json_string_value(json_object_get(prev, "ip"));
			if (strcmp(json_string_value(json_object_get(prev, "mac")), mac) == 0) {
				api_fmt(f, sizeof(f), "%sinterfaces[%zu].mac", prefix, i);
				json_decref(arr);
				return api_fail(e, f, "MAC %s given twice", mac);
			}
			if (pip && json_is_string(ip) && strcmp(pip, json_string_value(ip)) == 0) {
				json_decref(arr);
				return api_fail(e, f, "IP %s given twice", pip);
			}
		}
		json_array_append_new(arr, json_pack("{s:s, s:O}", "mac", mac, "ip",
						     ip && json_is_string(ip) ? ip : json_null()));
	}
	*out = arr;
	return 0;

err_arr_obj:
	json_decref(arr);
	return api_fail(e, f, "must be an object {\"mac\", \"ip\"}");
}

/* Validates one value of kind k; *out is a new reference on success. */
static int api_check(enum api_fkind k, json_t *v, const char *field, const char *prefix,
		     json_t **out, struct api_err *e)
{
	const char *why = NULL;
	const char *s = json_string_value(v);
	switch (k) {
	case F_NAME:
	case F_NAME_NULL:
		if (k == F_NAME_NULL && json_is_null(v))
			break;
		if (s == NULL || valid_name(s) < 0)
			return api_fail(e, field,
					"not a valid name (1-63 of A-Z a-z 0-9 . _ -, starting "
					"with a letter or digit)");
		break;
	case F_TEXT:
	case F_SHORT: {
		size_t max = k == F_SHORT ? 63 : 256;
		if (s == NULL || json_string_length(v) > max)
			return api_fail(e, field, "must be a string of at most %zu characters",
					max);
		for (const char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20)
				return api_fail(e, field, "control characters are not allowed");
		break;
	}
	case F_PARAMS:
		if (s == NULL)
			return api_fail(e, field, "must be a string");
		if (valid_ipxe_params(s, &why) < 0)
			return api_fail(e, field, "%s", why);
		break;
	case F_LOC:
	case F_LOC_NULL:
		if (k == F_LOC_NULL && json_is_null(v))
			break;
		if (s == NULL)
			return api_fail(e, field, "must be a path under the file root or a URL");
		if (valid_location(s, &why) < 0)
			return api_fail(e, field, "%s", why);
		break;
	case F_ARCH:
		if (s == NULL || (strcmp(s, "x86_64") != 0 && strcmp(s, "aarch64") != 0))
			return api_fail(e, field, "must be x86_64 or aarch64");
		break;
	case F_IPXE_EFI:
		if (s == NULL || (strcmp(s, "snponly.efi") != 0 && strcmp(s, "ipxe.efi") != 0))
			return api_fail(e, field, "must be snponly.efi or ipxe.efi");
		break;
	case F_OBJECT:
		if (!json_is_object(v))
			return api_fail(e, field, "must be an object");
		break;
	case F_USERDATA: {
		char err[256];
		if (s == NULL)
			return api_fail(e, field, "must be a string");
		if (json_string_length(v) > (1u << 20))
			return api_fail(e, field, "larger than 1 MiB");
		if (cloudinit_check_user_data(s, err, sizeof(err)) < 0)
			return api_fail(e, field, "%s", err);
		break;
	}
	case F_BOOL_TRUE:
		if (!json_is_boolean(v))
			return api_fail(e, field, "must be true or false");
		break;
	case F_NID:
		if (json_is_null(v))
			break;
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 2147483648LL)
			return api_fail(e, field, "must be an integer from 1 to 2^31, or null");
		break;
	case F_GROUPS: {
		if (!json_is_array(v) || json_array_size(v) > 64)
			return api_fail(e, field, "must be an array of at most 64 group names");
		size_t i, j;
		json_t *g, *h;
		json_array_foreach(v, i, g) {
			char f[128];
			api_fmt(f, sizeof(f), "%s[%zu]", field, i);
			if (!json_is_string(g) || valid_name(json_string_value(g)) < 0)
				return api_fail(e, f, "not a valid group name");
			json_array_foreach(v, j, h)
				if (j < i && json_equal(g, h))
					return api_fail(e, f, "group %s given twice",
							json_string_value(g));
		}
		break;
	}
	case F_IFACES:
		return api_check_ifaces(v, prefix, out, e);
	case F_SHA256:
		if (json_is_null(v))
			break;
		if (s == NULL || strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
			return api_fail(e, field,
					"must be 64 lowercase hex digits (sha256), or null");
		break;
	case F_READONLY:
		break;
	}
	*out = json_incref(v);
	return 0;
}

/*
 * Validates in against fields into a complete new object *out.  prefix is
 * prepended to field names in errors ("nodes[3].").
 */
static int api_validate(const struct api_field *fields, json_t *in, const char *prefix,
			json_t **out, struct api_err *e)
{
	char f[96];
	if (!json_is_object(in)) {
		api_fmt(f, sizeof(f), "%s", prefix[0] ? prefix : "body");
		size_t n = strlen(f);
		if (n > 0 && f[n - 1] == '.')
			f[n - 1] = '\0';
		return api_fail(e, f, "must be a JSON object");
	}
	const char *key;
	json_t *v;
	json_object_foreach(in, key, v) {
		const struct api_field *fd = fields;
		while (fd->name != NULL && strcmp(fd->name, key) != 0)
			fd++;
		if (fd->name == NULL) {
			api_fmt(f, sizeof(f), "%s%s", prefix, key);
			return api_fail(e, f, "unknown field");
		}
	}
	json_t *o = json_object();
	for (const struct api_field *fd = fields; fd->name != NULL; fd++) {
		if (fd->kind == F_READONLY)
			continue;
		api_fmt(f, sizeof(f), "%s%s", prefix, fd->name);
		json_t *val = json_object_get(in, fd->name);
		json_t *nv = NULL;
		if (val == NULL) {
			if (fd->kind == F_NAME || fd->kind == F_LOC) {
				json_decref(o);
				return api_fail(e, f, "required");
			}
			nv = api_default(fd->kind);
		} else if (api_check(fd->kind, val, f, prefix, &nv, e) < 0) {
			json_decref(o);
			return -EINVAL;
		}
		json_object_set_new(o, fd->name, nv);
	}
	*out = o;
	return 0;
}

/* Makes the body's name agree with the URL's (filled in when absent). */
static int api_name_from_path(json_t *body, const char *name, struct api_err *e)
{
	json_t *n = json_object_get(body, "name");
	if (n == NULL) {
		json_object_set_new(body, "name", json_string(name));
		return 0;
	}
	if (!json_is_string(n) || strcmp(json_string_value(n), name) != 0)
		return api_fail(e, "name", "does not match the name in the URL (%s)", name);
	return 0;
}

static const struct api_field *api_kind_fields(enum store_kind k)
{
	return k == STORE_IMAGE ? image_fields : k == STORE_PROFILE ? profile_fields : group_fields;
}

/* Rules across fields, after each field passed on its own. */
static int api_check_object(enum store_kind k, json_t *o, struct api_err *e)
{
	if (k == STORE_PROFILE) {
		int has_image = json_is_string(json_object_get(o, "image"));
		int has_kernel = json_is_string(json_object_get(o, "kernel"));
		int has_initrd = json_is_string(json_object_get(o, "initrd"));
		if (!has_image && !(has_kernel && has_initrd))
			return api_fail(e, has_kernel ? "initrd" : "image",
					"a profile needs an image, or both kernel and initrd");
	}
	return 0;
}

/* ---- nodes ----------------------------------------------------------- */

static const char *const api_node_states[] = {"new", "booting", "ready", NULL};

/*
 * Things about a stored node the admin should know though nothing is
 * wrong with the request: "warnings" on the node's JSON.  Now one: with
 * corrald's dnsmasq handing out addresses, a pinned IP outside dhcp.subnet
 * is never given (dnsmasq answers from the pool instead, silently).
 */
static void api_node_warnings(struct app *a, json_t *node)
{
	const struct config *cfg = app_config(a);
	unsigned net, prefix;
	if (strcmp(cfg->dhcp.mode, "authoritative") != 0 ||
	    valid_cidr(cfg->dhcp.subnet, &net, &prefix) < 0)
		return;
	uint32_t mask = 0xffffffffu << (32 - prefix); /* prefix 8..30 */
	json_t *warnings = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(node, "interfaces"), i, it) {
		const char *ip = json_string_value(json_object_get(it, "ip"));
		struct in_addr in;
		if (ip == NULL || inet_pton(AF_INET, ip, &in) != 1 ||
		    (ntohl(in.s_addr) & mask) == (net & mask))
			continue;
		json_array_append_new(
			warnings,
			json_sprintf("interfaces[%zu].ip %s is outside dhcp.subnet %s: "
				     "dnsmasq gives that interface a pool address instead",
				     i, ip, cfg->dhcp.subnet));
	}
	if (json_array_size(warnings) > 0)
		json_object_set_new(node, "warnings", warnings);
	else
		json_decref(warnings);
}

/*
 * Creates the node a request body describes (POST /nodes, adopt): checks
 * it against node_fields, writes it (201 with the node as stored, and its
 * warnings), or answers why not.  Takes body.
 */
static int api_node_create(struct http_req *r, json_t *body)
{
	struct app *a = r->ctx;
	struct api_err e;
	json_t *node;
	if (api_validate(node_fields, body, "", &node, &e) < 0) {
		json_decref(body);
		return api_invalid(r, &e);
	}
	json_decref(body);
	struct store_err se = {"", ""};
	bool created;
	const char *name = json_string_value(json_object_get(node, "name")); /* node's */
	json_t *out;
	int rc = store_node_put(a->store, node, true, &created, &se);
	if (rc < 0) {
		rc = api_store_error(r, rc, &se, "node", name);
	} else if ((rc = store_node_get(a->store, name, &out)) < 0) {
		rc = api_store_error(r, rc, NULL, "node", name);
	} else {
		api_node_warnings(a, out);
		rc = http_reply_json(r, 201, out);
	}
	json_decref(node);
	return rc;
}

int api_nodes(struct http_req *r)
{
	struct app *a = r->ctx;
	if (r->method_id & (HTTP_GET | HTTP_HEAD)) {
		struct store_node_filter f = {http_query(r, "group"),
					      http_query(r, "state"),
					      http_query(r, "arch"),
					      -1,
					      -1,
					      0};
		const char *en = http_query(r, "enabled");
		const char *lim = http_query(r, "limit");
		const char *off = http_query(r, "offset");
		if (en != NULL) {
			if (strcmp(en, "true") != 0 && strcmp(en, "false") != 0)
				return http_reply_error(r, 400, "bad_request", "enabled",
							"enabled: true or false");
			f.enabled = strcmp(en, "true") == 0;
		}
		if (f.state != NULL) {
			const char *const *s = api_node_states;
			while (*s && strcmp(*s, f.state) != 0)
				s++;
			if (*s == NULL)
				return http_reply_error(r, 400, "bad_request", "state",
							"state: one of new, booting, ready");
		}
		if (lim && valid_parse_ll(lim, 0, 1000000000, &f.limit) < 0)
			return http_reply_error(r, 400, "bad_request", "limit",
						"limit: a whole number, 0 to 1000000000");
		if (off && valid_parse_ll(off, 0, 1000000000, &f.offset) < 0)
			return http_reply_error(r, 400, "bad_request", "offset",
						"offset: a whole number, 0 to 1000000000");
		events_flush(a->events);
		json_t *list;
		int rc = store_node_list(a->store, &f, &list);
		if (rc < 0)
			return api_store_error(r, rc, NULL, "node", "");
		return http_reply_json(r, 200, list);
	}
	json_t *body = api_body(r);
	return body == NULL ? 0 : api_node_create(r, body);
}

int api_node(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *name = r->args[0];
	struct api_err e;
	int rc;

	if (r->method_id & (HTTP_GET | HTTP_HEAD)) {
		events_flush(a->events);
		json_t *n;
		rc = store_node_get(a->store, name, &n);
		if (rc < 0)
			return api_store_error(r, rc, NULL, "node", name);
		api_node_warnings(a, n);
		return http_reply_json(r, 200, n);
	}
	if (r->method_id == HTTP_DELETE) {
		rc = store_node_delete(a->store, name);
		return rc < 0 ? api_store_error(r, rc, NULL, "node", name) :
				http_reply_empty(r, 204);
	}

	json_t *body = api_body(r);
	if (body == NULL)
		return 0;
	if (api_name_from_path(body, name, &e) < 0) {
		json_decref(body);
		return api_invalid(r, &e);
	}
	if (r->method_id == HTTP_PATCH) {
		/* PATCH: the stored node with the given fields replaced. */
		json_t *cur;
		rc = store_node_get(a->store, name, &cur);
		if (rc < 0) {
			json_decref(body);
			return api_store_error(r, rc, NULL, "node", name);
		}
		json_object_update(cur, body);
		json_decref(body);
		body = cur;
	}
	json_t *node;
	if (api_validate(node_fields, body, "", &node, &e) < 0) {
		json_decref(body);
		return api_invalid(r, &e);
	}
	json_decref(body);
	struct store_err se = {"", ""};
	bool created;
	rc = store_node_put(a->store, node, false, &created, &se);
	json_decref(node);
	if (rc < 0)
		return api_store_error(r, rc, &se, "node", name);
	json_t *out;
	rc = store_node_get(a->store, name, &out);
	if (rc < 0)
		return api_store_error(r, rc, NULL, "node", name);
	api_node_warnings(a, out);
	return http_reply_json(r, created ? 201 : 200, out);
}

/*
 * OpenCHAMI's nodes.yaml names: xname, group, interfaces[].mac_addr and
 * ip_addrs[].ip_addr; BMC fields are kept for the Redfish work (ignored
 * now).  Rewrites n in place into our shape.
 */
static void api_import_translate(json_t *n)
{
	if (!json_is_object(n))
		return;
	json_t *xname = json_object_get(n, "xname");
	if (xname != NULL) {
		if (json_object_get(n, "name") == NULL) {
			json_object_set(n, "name", xname);
		} else {
			json_t *meta = json_object_get(n, "metadata");
			if (meta == NULL) {
				meta = json_object();
				json_object_set_new(n, "metadata", meta);
			}
			if (json_is_object(meta))
				json_object_set(meta, "xname", xname);
		}
		json_object_del(n, "xname");
	}
	json_t *group = json_object_get(n, "group");
	if (group != NULL) {
		if (json_object_get(n, "groups") == NULL)
			json_object_set_new(n, "groups", json_pack("[O]", group));
		json_object_del(n, "group");
	}
	json_object_del(n, "bmc_mac");
	json_object_del(n, "bmc_ip");
	json_t *ifs = json_object_get(n, "interfaces");
	size_t i;
	json_t *it;
	json_array_foreach(ifs, i, it) {
		if (!json_is_object(it))
			continue;
		json_t *m = json_object_get(it, "mac_addr");
		if (m != NULL) {
			if (json_object_get(it, "mac") == NULL)
				json_object_set(it, "mac", m);
			json_object_del(it, "mac_addr");
		}
		json_t *ips = json_object_get(it, "ip_addrs");
		if (ips != NULL) {
			json_t *first = json_object_get(json_array_get(ips, 0), "ip_addr");
			if (first != NULL && json_object_get(it, "ip") == NULL)
				json_object_set(it, "ip", first);
			json_object_del(it, "ip_addrs");
		}
	}
}

/*
 * Two entries of one import naming the same node or the same MAC: the
 * store would let the later one silently replace the earlier (names) or
 * blame a node that does not exist yet (MACs), so both are refused here,
 * naming both entries.  nodes are validated (MACs normalised).  0,
 * -EINVAL with *e filled (field: the later entry's), or -ENOMEM.
 */
static int api_import_dups(json_t *nodes, struct api_err *e)
{
	json_t *seen = json_object(); /* "name:x" / "mac:m" -> where it came first */
	if (seen == NULL)
		return -ENOMEM;
	int rc = 0;
	size_t i, k;
	json_t *n, *ifc;
	json_array_foreach(nodes, i, n) {
		char key[96], field[96];
		const char *name = json_string_value(json_object_get(n, "name"));
		api_fmt(key, sizeof(key), "name:%s", name);
		api_fmt(field, sizeof(field), "nodes[%zu]", i);
		json_t *first = json_object_get(seen, key);
		if (first != NULL) {
			api_fmt(field, sizeof(field), "nodes[%zu].name", i);
			rc = api_fail(e, field,
				      "%s is also the name of %s; a node appears once per import",
				      name, json_string_value(first));
			break;
		}
		json_object_set_new(seen, key, json_string(field));
		json_array_foreach(json_object_get(n, "interfaces"), k, ifc) {
			const char *mac = json_string_value(json_object_get(ifc, "mac"));
			if (mac == NULL)
				continue;
			api_fmt(key, sizeof(key), "mac:%s", mac);
			api_fmt(field, sizeof(field), "nodes[%zu].interfaces[%zu].mac", i, k);
			first = json_object_get(seen, key);
			if (first != NULL) {
				rc = api_fail(e, field,
					      "MAC %s is also %s; a MAC appears once per import",
					      mac, json_string_value(first));
				break;
			}
			json_object_set_new(seen, key, json_string(field));
		}
		if (rc < 0)
			break;
	}
	json_decref(seen);
	return rc;
}

int api_nodes_import(struct http_req *r)
{
	struct app *a = r->ctx;
	struct api_err e;
	json_t *body = api_body_any(r, 1);
	if (body == NULL)
		return 0;
	json_t *in = json_is_array(body) ? body : json_object_get(body, "nodes");
	if (!json_is_array(in)) {
		json_decref(body);
		return http_reply_error(r, 422, "invalid_field", "nodes",
					"nodes: expected {\"nodes\": [ … ]} or an array of nodes");
	}
	json_t *nodes = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(in, i, n) {
		char prefix[32];
		json_t *v;
		api_fmt(prefix, sizeof(prefix), "nodes[%zu].", i);
		api_import_translate(n);
		if (api_validate(node_fields, n, prefix, &v, &e) < 0) {
			json_decref(nodes);
			json_decref(body);
			return api_invalid(r, &e);
		}
		json_array_append_new(nodes, v);
	}
	json_decref(body);
	int rc = api_import_dups(nodes, &e);
	if (rc < 0) {
		json_decref(nodes);
		if (rc == -ENOMEM)
			return http_reply_error(r, 500, "internal", NULL, "out of memory");
		return http_reply_error(r, 409, "conflict", e.field, "%s", e.message);
	}
	struct store_err se = {"", ""};
	int created, replaced;
	rc = store_node_import(a->store, nodes, &created, &replaced, &se);
	json_decref(nodes);
	if (rc < 0)
		return api_store_error(r, rc, &se, "node", "");
	return http_reply_json(r, 200,
			       json_pack("{s:i, s:i}", "created", created, "replaced", replaced));
}

int api_node_events(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *lim = http_query(r, "limit");
	long long limit = 1000;
	int64_t id;
	if (lim != NULL && valid_parse_ll(lim, 1, 100000, &limit) < 0)
		return http_reply_error(r, 400, "bad_request", "limit", "limit: 1 to 100000");
	int rc = store_node_id(a->store, r->args[0], &id);
	if (rc < 0)
		return api_store_error(r, rc, NULL, "node", r->args[0]);
	events_flush(a->events);
	json_t *list;
	rc = store_events_list(a->store, id, limit, &list);
	return rc < 0 ? api_store_error(r, rc, NULL, "node", r->args[0]) :
			http_reply_json(r, 200, list);
}

int api_node_bootscript(struct http_req *r)
{
	struct app *a = r->ctx;
	int64_t id;
	int rc = store_node_id(a->store, r->args[0], &id);
	if (rc < 0)
		return api_store_error(r, rc, NULL, "node", r->args[0]);
	struct buf out;
	buf_init(&out, BOOTSCRIPT_MAX);
	rc = serve_render_bootscript(a, BOOTSEL_NAME, r->args[0], 0, r->client_ip, 0, &out);
	if (rc == 0)
		rc = http_reply_data(r, 200, "text/plain; charset=utf-8", buf_str(&out), out.len);
	buf_clear(&out);
	return rc;
}

/* ---- images, profiles, groups ---------------------------------------- */

static int api_kind(struct http_req *r, enum store_kind *k, const char **what)
{
	static const struct {
		const char *prefix;
		enum store_kind kind;
		const char *what;
	} kinds[] = {{"/api/v1/images", STORE_IMAGE, "image"},
		     {"/api/v1/profiles", STORE_PROFILE, "profile"},
		     {"/api/v1/groups", STORE_GROUP, "group"}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strncmp(r->path, kinds[i].prefix, strlen(kinds[i].prefix)) == 0) {
			*k = kinds[i].kind;
			*what = kinds[i].what;
			return 0;
		}
	}
	return -ENOENT;
}

/* Validates body as a kind object and stores it; answers. */
static int api_object_write(struct http_req *r, enum store_kind k, const char *what, json_t *body,
			    bool create_only)
{
	struct app *a = r->ctx;
	struct api_err e;
	json_t *obj;
	if (api_validate(api_kind_fields(k), body, "", &obj, &e) < 0) {
		json_decref(body);
		return api_invalid(r, &e);
	}
	if (api_check_object(k, obj, &e) < 0) {
		json_decref(obj);
		json_decref(body);
		return api_invalid(r, &e);
	}
	json_decref(body);
	struct store_err se = {"", ""};
	bool created;
	const char *name = json_string_value(json_object_get(obj, "name")); /* obj's */
	json_t *out;
	int rc = store_obj_put(a->store, k, obj, create_only, &created, &se);
	if (rc < 0)
		rc = api_store_error(r, rc, &se, what, name);
	else if ((rc = store_obj_get(a->store, k, name, &out)) < 0)
		rc = api_store_error(r, rc, NULL, what, name);
	else
		rc = http_reply_json(r, created ? 201 : 200, out);
	json_decref(obj);
	return rc;
}

int api_objects(struct http_req *r)
{
	struct app *a = r->ctx;
	enum store_kind k;
	const char *what;
	if (api_kind(r, &k, &what) < 0)
		return -ENOENT;
	if (r->method_id & (HTTP_GET | HTTP_HEAD)) {
		json_t *list;
		int rc = store_obj_list(a->store, k, &list);
		return rc < 0 ? api_store_error(r, rc, NULL, what, "") :
				http_reply_json(r, 200, list);
	}
	json_t *body = api_body(r);
	if (body == NULL)
		return 0;
	return api_object_write(r, k, what, body, true);
}

int api_object(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *name = r->args[0];
	enum store_kind k;
	const char *what;
	struct api_err e;
	int rc;
	if (api_kind(r, &k, &what) < 0)
		return -ENOENT;
	if (r->method_id & (HTTP_GET | HTTP_HEAD)) {
		json_t *o;
		rc = store_obj_get(a->store, k, name, &o);
		return rc < 0 ? api_store_error(r, rc, NULL, what, name) :
				http_reply_json(r, 200, o);
	}
	if (r->method_id == HTTP_DELETE) {
		struct store_err se = {"", ""};
		rc = store_obj_delete(a->store, k, name, &se);
		return rc < 0 ? api_store_error(r, rc, &se, what, name) : http_reply_empty(r, 204);
	}
	json_t *body = api_body(r);
	if (body == NULL)
		return 0;
	if (api_name_from_path(body, name, &e) < 0) {
		json_decref(body);
		return api_invalid(r, &e);
	}
	if (r->method_id == HTTP_PATCH) {
		json_t *cur;
		rc = store_obj_get(a->store, k, name, &cur);
		if (rc < 0) {
			json_decref(body);
			return api_store_error(r, rc, NULL, what, name);
		}
		json_object_update(cur, body);
		json_decref(body);
		body = cur;
	}
	return api_object_write(r, k, what, body, false);
}

/* ---- defaults, discovered, tokens, status ----------------------------- */

int api_defaults(struct http_req *r)
{
	struct app *a = r->ctx;
	struct api_err e;
	json_t *cur;
	int rc = store_defaults_get(a->store, &cur);
	if (rc < 0)
		return api_store_error(r, rc, NULL, "defaults", "");
	if (r->method_id & (HTTP_GET | HTTP_HEAD))
		return http_reply_json(r, 200, cur);
	json_t *body = api_body(r);
	if (body == NULL) {
		json_decref(cur);
		return 0;
	}
	if (r->method_id == HTTP_PATCH) {
		json_object_update(cur, body);
		json_decref(body);
		body = cur;
	} else {
		json_decref(cur);
	}
	json_t *d;
	if (api_validate(defaults_fields, body, "", &d, &e) < 0) {
		json_decref(body);
		return api_invalid(r, &e);
	}
	json_decref(body);
	struct store_err se = {"", ""};
	rc = store_defaults_put(a->store, d, &se);
	json_decref(d);
	if (rc < 0)
		return api_store_error(r, rc, &se, "defaults", "");
	rc = store_defaults_get(a->store, &cur);
	return rc < 0 ? api_store_error(r, rc, NULL, "defaults", "") : http_reply_json(r, 200, cur);
}

int api_discovered(struct http_req *r)
{
	struct app *a = r->ctx;
	events_flush(a->events);
	json_t *list;
	int rc = store_discovered_list(a->store, &list);
	return rc < 0 ? api_store_error(r, rc, NULL, "discovered", "") :
			http_reply_json(r, 200, list);
}

int api_discovered_one(struct http_req *r)
{
	struct app *a = r->ctx;
	char mac[VALID_MAC_LEN + 1];
	if (valid_mac_normalize(r->args[0], mac) < 0)
		return http_reply_error(r, 404, "not_found", NULL, "not a MAC address: %s",
					r->args[0]);
	events_flush(a->events);
	int rc = store_discovered_delete(a->store, mac);
	return rc < 0 ? api_store_error(r, rc, NULL, "discovered machine", mac) :
			http_reply_empty(r, 204);
}

/*
 * Adopt: a discovered MAC becomes a node's boot interface.  The body is a
 * node (name required) without interfaces.  The node boots at its next
 * re-chain: its boot script waits and asks again.
 */
int api_discovered_adopt(struct http_req *r)
{
	struct app *a = r->ctx;
	char mac[VALID_MAC_LEN + 1];
	if (valid_mac_normalize(r->args[0], mac) < 0)
		return http_reply_error(r, 404, "not_found", NULL, "not a MAC address: %s",
					r->args[0]);
	events_flush(a->events);
	int rc = store_discovered_exists(a->store, mac);
	if (rc < 0)
		return api_store_error(r, rc, NULL, "discovered machine", mac);
	json_t *body = api_body(r);
	if (body == NULL)
		return 0;
	if (json_object_get(body, "interfaces") != NULL) {
		json_decref(body);
		return http_reply_error(r, 422, "invalid_field", "interfaces",
					"interfaces: adopt sets the interface from the MAC");
	}
	json_object_set_new(body, "interfaces", json_pack("[{s:s}]", "mac", mac));
	return api_node_create(r, body);
}

int api_tokens(struct http_req *r)
{
	struct app *a = r->ctx;
	if (r->method_id & (HTTP_GET | HTTP_HEAD)) {
		json_t *list;
		int rc = store_token_list(a->store, &list);
		return rc < 0 ? api_store_error(r, rc, NULL, "token", "") :
				http_reply_json(r, 200, list);
	}
	json_t *body = api_body(r);
	if (body == NULL)
		return 0;
	const char *name = json_string_value(json_object_get(body, "name"));
	json_t *sc = json_object_get(body, "scope");
	enum auth_scope scope = AUTH_SCOPE_ADMIN;
	struct api_err e;
	int bad = 0;
	if (name == NULL || valid_name(name) < 0)
		bad = api_fail(&e, "name", "not a valid name");
	else if (sc != NULL && auth_scope_parse(json_string_value(sc), &scope) < 0)
		bad = api_fail(&e, "scope", "must be admin or read");
	if (bad) {
		json_decref(body);
		return api_invalid(r, &e);
	}
	char tok[AUTH_TOKEN_LEN + 8];
	unsigned char hash[AUTH_HASH_LEN];
	auth_token_new(tok);
	auth_token_hash(tok, hash);
	int rc = store_token_add(a->store, name, hash, scope);
	json_t *out = rc == 0 ? json_pack("{s:s, s:s, s:s}", "name", name, "scope",
					  auth_scope_name(scope), "token", tok) :
				NULL;
	json_decref(body);
	if (rc == -EEXIST) {
		struct store_err se = {"name", "a token with this name exists"};
		return api_store_error(r, rc, &se, "token", "");
	}
	if (rc < 0)
		return api_store_error(r, rc, NULL, "token", "");
	return http_reply_json(r, 201, out);
}

int api_token(struct http_req *r)
{
	struct app *a = r->ctx;
	int rc = store_token_delete(a->store, r->args[0]);
	return rc < 0 ? api_store_error(r, rc, NULL, "token", r->args[0]) :
			http_reply_empty(r, 204);
}

int api_status(struct http_req *r)
{
	struct app *a = r->ctx;
	events_flush(a->events);
	json_t *counts;
	int rc = store_node_counts(a->store, &counts);
	if (rc < 0)
		return api_store_error(r, rc, NULL, "status", "");
	json_t *s = json_pack("{s:s, s:I, s:o, s:s, s:s, s:i}", "version", CORRAL_VERSION, "uptime",
			      (json_int_t)((store_now_us() - a->started_us) / 1000000), "nodes",
			      counts, "advertise_url", app_config(a)->base_url, "files_root",
			      app_config(a)->files_root, "schema", store_schema_version(a->store));
	if (s == NULL || store_counts(a->store, s) < 0) {
		if (s != NULL)
			log_warnx("api: status: store error: %s", store_errmsg());
		json_decref(s);
		return http_reply_error(r, 500, "internal", NULL, "store error");
	}
	/* The DHCP side: which server answers, and whether it is sized for this inventory. */
	const struct config_dhcp *dc = &app_config(a)->dhcp;
	bool off = strcmp(dc->mode, "off") == 0;
	json_t *dh =
		json_pack("{s:s, s:s?}", "mode", dc->mode, "backend", off ? NULL : dc->backend);
	char warn[256];
	json_int_t total = json_integer_value(json_object_get(counts, "total"));
	if (dh != NULL && !off &&
	    dhcp_sizing_warning(dc->backend, (size_t)total, warn, sizeof(warn)))
		json_object_set_new(dh, "warning", json_string(warn));
	json_object_set_new(s, "dhcp", dh);
	return http_reply_json(r, 200, s);
}

/* GET /api/v1/stream: boot events and inventory changes as Server-Sent Events. */
int api_stream(struct http_req *r)
{
	struct app *a = r->ctx;
	return http_reply(r, 200, hub_response(a->hub, r->conn));
}

/* GET /api/v1/whoami: the scope of the token presented. */
int api_whoami(struct http_req *r)
{
	return http_reply_json(r, 200, json_pack("{s:s}", "scope", auth_scope_name(r->granted)));
}

/* GET /api/v1/nodes/{name}/cloud-init/{file}: what the node gets, recording nothing. */
int api_node_cloudinit(struct http_req *r)
{
	struct app *a = r->ctx;
	int64_t id;
	int kind = serve_cloudinit_kind(r->args[1]);
	if (kind < 0)
		return http_reply_error(r, 404, "not_found", NULL,
					"no such cloud-init file: %s (meta-data, user-data, "
					"vendor-data)",
					r->args[1]);
	int rc = store_node_id(a->store, r->args[0], &id);
	if (rc < 0)
		return api_store_error(r, rc, NULL, "node", r->args[0]);
	struct buf out;
	buf_init(&out, SERVE_CI_MAX);
	rc = serve_render_cloudinit(a, id, kind, &out);
	if (rc == 0)
		rc = http_reply_data(r, 200, "text/plain; charset=utf-8", buf_str(&out), out.len);
	else if (rc == -ENOENT)
		rc = api_store_error(r, rc, NULL, "node", r->args[0]);
	buf_clear(&out);
	return rc;
}
