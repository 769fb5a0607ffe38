/*
 * ochami_ci: OpenCHAMI's cloud-init server paths under /cloud-init, over
 * Corral's defaults, groups and nodes (ochami.h; docs/openchami.md).
 *
 * Admin paths (API tokens: reads read, writes admin):
 *  - cluster-defaults: OpenCHAMI's ClusterDefaults fields kept as members
 *    of Corral's default metadata (so they reach every node's meta-data,
 *    "public-keys" included, merged under groups' and the node's);
 *  - groups: a Corral group's description, metadata ("meta-data") and
 *    user-data ("file", plain or base64); setting a group twice replaces
 *    it both times (OpenCHAMI's cloud-init issue #101 is that the second
 *    time fails);
 *  - instance-info/{id}: the fields merged into node id's metadata;
 *  - impersonation/{id}/…: what node id gets, read by an operator.
 * Public paths (no token; Corral's node-identity rules): meta-data,
 * user-data and vendor-data stay serve.c's; {group}.yaml is the group's
 * user-data for a node that is a member, the node known by its seed token
 * or by being the only node at the request's source address, as for
 * every other cloud-init file; phone-home/{id} is Corral's phone-home for
 * the node id that the source address (or a seed token in place of id)
 * proves.  Errors keep Corral's JSON shape here (OpenCHAMI's cloud-init
 * server answers plain text, which no client parses).
 */
#include "ochami.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "cloudinit.h"
#include "serve.h"
#include "valid.h"

/* ClusterDefaults' members: name and JSON type. */
static const struct {
	const char *key;
	json_type type;
} ci_default_keys[] = {
	{"cloud_provider", JSON_STRING},    {"region", JSON_STRING},
	{"availability-zone", JSON_STRING}, {"cluster-name", JSON_STRING},
	{"public-keys", JSON_ARRAY},        {"base-url", JSON_STRING},
	{"boot-subnet", JSON_STRING},       {"wg-subnet", JSON_STRING},
	{"short-name", JSON_STRING},        {"nid-length", JSON_INTEGER},
};
#define CI_NDEFAULT_KEYS (sizeof(ci_default_keys) / sizeof(ci_default_keys[0]))

static int ci_invalid(struct http_req *r, const char *field, const char *msg)
{
	http_reply_error(r, 422, "invalid_field", field, "%s: %s", field, msg);
	return -EINVAL;
}

/* "set" as Go's omitempty sees it: not null, not "", not [], not 0. */
static int ci_empty(json_t *v)
{
	return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0) ||
	       (json_is_integer(v) && json_integer_value(v) == 0);
}

/* ---- cluster-defaults ------------------------------------------------------------- */

static int ci_defaults_post(struct http_req *r, json_t *cur, json_t *body)
{
	struct app *a = r->ctx;
	json_t *meta = json_deep_copy(json_object_get(cur, "metadata"));
	if (!json_is_object(meta)) {
		json_decref(meta);
		meta = json_object();
	}
	for (size_t i = 0; i < CI_NDEFAULT_KEYS; i++) {
		json_t *v = json_object_get(body, ci_default_keys[i].key);
		json_object_del(meta,
				ci_default_keys[i].key); /* replaced whole, as OpenCHAMI does */
		if (ci_empty(v))
			continue;
		if (json_typeof(v) != ci_default_keys[i].type) {
			json_decref(meta);
			return ci_invalid(r, ci_default_keys[i].key, "wrong type");
		}
		size_t k;
		json_t *key;
		json_array_foreach(ci_default_keys[i].type == JSON_ARRAY ? v : NULL, k, key)
			if (!json_is_string(key)) {
				json_decref(meta);
				return ci_invalid(r, ci_default_keys[i].key, "strings only");
			}
		json_object_set(meta, ci_default_keys[i].key, v);
	}
	json_object_set_new(cur, "metadata", meta);
	json_t *d = json_pack("{s:O, s:O, s:O}", "profile", json_object_get(cur, "profile"),
			      "metadata", meta, "user_data", json_object_get(cur, "user_data"));
	struct store_err se = {"", ""};
	int rc = store_defaults_put(a->store, d, &se);
	json_decref(d);
	if (rc < 0)
		return ochami_store_error(r, rc, &se, "defaults", "");
	return http_reply_empty(r, 201);
}

int ochami_ci_defaults(struct http_req *r)
{
	struct app *a = r->ctx;
	json_t *cur = NULL, *body = NULL;
	if (r->method_id == HTTP_POST && (body = ochami_body(r, false)) == NULL)
		return 0;
	int rc = store_defaults_get(a->store, &cur);
	if (rc < 0) {
		json_decref(body);
		return ochami_store_error(r, rc, NULL, "defaults", "");
	}
	if (body != NULL) {
		(void)ci_defaults_post(r, cur, body);
	} else {
		json_t *meta = json_object_get(cur, "metadata");
		json_t *out = json_object();
		for (size_t i = 0; i < CI_NDEFAULT_KEYS; i++) {
			json_t *v = json_object_get(meta, ci_default_keys[i].key);
			if (!ci_empty(v))
				json_object_set(out, ci_default_keys[i].key, v);
		}
		http_reply_json(r, 200, out);
	}
	json_decref(cur);
	json_decref(body);
	return 0;
}

/* ---- groups --------------------------------------------------------------------------- */

/* A Corral group as OpenCHAMI's GroupData. */
static json_t *ci_group_json(json_t *g)
{
	json_t *out = json_pack("{s:O}", "name", json_object_get(g, "name"));
	const char *desc = json_string_value(json_object_get(g, "description"));
	const char *ud = json_string_value(json_object_get(g, "user_data"));
	json_t *meta = json_object_get(g, "metadata");
	if (desc != NULL && desc[0] != '\0')
		json_object_set_new(out, "description", json_string(desc));
	if (json_is_object(meta) && json_object_size(meta) > 0)
		json_object_set(out, "meta-data", meta);
	if (ud != NULL && ud[0] != '\0')
		json_object_set_new(out, "file",
				    json_pack("{s:s, s:s, s:s}", "content", ud, "filename", "",
					      "encoding", "plain"));
	return out;
}

/*
 * A GroupData body onto group object g: description, meta-data and the
 * file (plain or base64), each replaced; checked as Corral checks them.
 */
static int ci_group_apply(struct http_req *r, json_t *g, json_t *body)
{
	json_t *desc = json_object_get(body, "description");
	json_t *meta = json_object_get(body, "meta-data");
	json_t *file = json_object_get(body, "file");
	if (desc != NULL && !json_is_null(desc) &&
	    (!json_is_string(desc) || json_string_length(desc) > 256))
		return ci_invalid(r, "description", "a string of at most 256 characters");
	if (meta != NULL && !json_is_null(meta) && !json_is_object(meta))
		return ci_invalid(r, "meta-data", "must be an object");
	const char *content = ochami_str(file, "content");
	const char *enc = ochami_str(file, "encoding");
	char *text = NULL;
	if (content != NULL && enc != NULL && strcmp(enc, "base64") == 0) {
		size_t cap = strlen(content), len = 0;
		text = malloc(cap + 1);
		if (text == NULL ||
		    sodium_base642bin((unsigned char *)text, cap, content, cap, " \n\r\t", &len,
				      NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
			free(text);
			return ci_invalid(r, "file.content", "not base64");
		}
		text[len] = '\0';
		if (strlen(text) != len) {
			free(text);
			return ci_invalid(r, "file.content", "contains a NUL byte");
		}
	} else if (content != NULL && enc != NULL && enc[0] != '\0' && strcmp(enc, "plain") != 0) {
		return ci_invalid(r, "file.encoding", "plain or base64");
	}
	char err[256];
	const char *ud = text ? text : content ? content : "";
	if (strlen(ud) > (1u << 20) || cloudinit_check_user_data(ud, err, sizeof(err)) < 0) {
		free(text);
		return ci_invalid(r, "file.content",
				  strlen(ud) > (1u << 20) ? "larger than 1 MiB" : err);
	}
	json_object_set_new(g, "description",
			    json_string(json_is_string(desc) ? json_string_value(desc) : ""));
	json_object_set_new(g, "metadata",
			    json_is_object(meta) ? json_deep_copy(meta) : json_object());
	json_object_set_new(g, "user_data", json_string(ud));
	free(text);
	return 0;
}

/* POST (create) or PUT (create or replace) a group; 201 with Location. */
static int ci_group_write(struct http_req *r, const char *url_name, json_t *body)
{
	struct app *a = r->ctx;
	const char *name = url_name ? url_name : json_string_value(json_object_get(body, "name"));
	char loc[96];
	if (name == NULL || name[0] == '\0')
		return ci_invalid(r, "name", "name is required");
	if (valid_name(name) < 0)
		return ci_invalid(r, "name", "not a valid name");
	json_t *g = NULL;
	int rc = store_obj_get(a->store, STORE_GROUP, name, &g);
	if (rc == 0 && url_name == NULL) {
		json_decref(g);
		return http_reply_error(r, 409, "conflict", "name", "group %s already exists",
					name);
	}
	if (rc == -ENOENT)
		g = json_pack("{s:s, s:n}", "name", name, "profile");
	else if (rc < 0)
		return ochami_store_error(r, rc, NULL, "group", name);
	if (ci_group_apply(r, g, body) < 0) {
		json_decref(g);
		return -EINVAL;
	}
	struct store_err se = {"", ""};
	bool created;
	rc = store_obj_put(a->store, STORE_GROUP, g, false, &created, &se);
	json_decref(g);
	if (rc < 0)
		return ochami_store_error(r, rc, &se, "group", name);
	snprintf(loc, sizeof(loc), "/groups/%s", name);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return -ENOMEM;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
	return http_reply(r, 201, resp);
}

int ochami_ci_groups(struct http_req *r)
{
	struct app *a = r->ctx;
	if (r->method_id == HTTP_POST) {
		json_t *body = ochami_body(r, false);
		if (body != NULL)
			(void)ci_group_write(r, NULL, body);
		json_decref(body);
		return 0;
	}
	json_t *list;
	int rc = store_obj_list(a->store, STORE_GROUP, &list);
	if (rc < 0)
		return ochami_store_error(r, rc, NULL, "group", "");
	json_t *out = json_object();
	size_t i;
	json_t *g;
	json_array_foreach(list, i, g)
		json_object_set_new(out, json_string_value(json_object_get(g, "name")),
				    ci_group_json(g));
	json_decref(list);
	return http_reply_json(r, 200, out);
}

int ochami_ci_group(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *name = r->args[0];
	if (r->method_id == HTTP_PUT) {
		json_t *body = ochami_body(r, false);
		if (body != NULL)
			(void)ci_group_write(r, name, body);
		json_decref(body);
		return 0;
	}
	json_t *g;
	int rc = store_obj_get(a->store, STORE_GROUP, name, &g);
	if (rc < 0)
		return ochami_store_error(r, rc, NULL, "group", name);
	if (r->method_id & (HTTP_GET | HTTP_HEAD)) {
		json_t *out = ci_group_json(g);
		json_decref(g);
		return http_reply_json(r, 200, out);
	}
	/* DELETE: the group's cloud-init data goes; the group itself goes too
	 * unless nodes are in it or it gives a boot profile (that is SMD's and
	 * BSS's to remove). */
	struct store_err se = {"", ""};
	if (json_array_size(json_object_get(g, "members")) == 0 &&
	    json_is_null(json_object_get(g, "profile"))) {
		rc = store_obj_delete(a->store, STORE_GROUP, name, &se);
	} else {
		bool created;
		json_object_set_new(g, "metadata", json_object());
		json_object_set_new(g, "user_data", json_string(""));
		rc = store_obj_put(a->store, STORE_GROUP, g, false, &created, &se);
	}
	json_decref(g);
	return rc < 0 ? ochami_store_error(r, rc, &se, "group", name) : http_reply_empty(r, 200);
}

/* ---- instance-info and impersonation ---------------------------------------------------- */

int ochami_ci_instance_info(struct http_req *r)
{
	static const char *const keys[] = {
		"instance-id",    "local-hostname", "hostname",
		"cluster-name",   "region",         "availability-zone",
		"cloud-provider", "instance-type",  "cloud-init-base-url",
		"public-keys"};
	struct app *a = r->ctx;
	const char *id = r->args[0];
	json_t *body = ochami_body(r, false);
	if (body == NULL)
		return 0;
	json_t *node = NULL;
	int rc = store_node_get(a->store, id, &node);
	if (rc < 0) {
		json_decref(body);
		return ochami_store_error(r, rc, NULL, "node", id);
	}
	json_t *meta = json_object_get(node, "metadata");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && rc == 0; i++) {
		json_t *v = json_object_get(body, keys[i]);
		if (ci_empty(v))
			continue;
		if (i == 9 ? !json_is_array(v) : !json_is_string(v))
			rc = ci_invalid(r, keys[i],
					i == 9 ? "must be an array" : "must be a string");
		else
			json_object_set(meta, keys[i], v);
	}
	json_t *nodes = rc == 0 ? json_pack("[O]", node) : NULL;
	if (rc == 0 && ochami_nodes_write(r, nodes) == 0)
		http_reply_empty(r, 201);
	json_decref(nodes);
	json_decref(node);
	json_decref(body);
	return 0;
}

/* Node id's user-data from its group (a member only), appended to out: 0, -ENOENT. */
static int ci_group_yaml(struct app *a, int64_t node_id, const char *group, struct buf *out)
{
	char name[64];
	json_t *node = NULL, *g = NULL;
	if (store_node_name(a->store, node_id, name, sizeof(name)) < 0 ||
	    store_node_get(a->store, name, &node) < 0)
		return -ENOENT;
	int member = 0;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(node, "groups"), i, v)
		member |= strcmp(json_string_value(v), group) == 0;
	json_decref(node);
	if (!member || store_obj_get(a->store, STORE_GROUP, group, &g) < 0)
		return -ENOENT;
	const char *ud = json_string_value(json_object_get(g, "user_data"));
	int rc = buf_adds(out, ud && ud[0] ? ud : "#cloud-config");
	json_decref(g);
	return rc;
}

/* "compute.yaml" → "compute" in out; 0, or -EINVAL when file is no group's. */
static int ci_yaml_group(const char *file, char *out, size_t outlen)
{
	size_t n = strlen(file);
	if (n <= 5 || strcmp(file + n - 5, ".yaml") != 0 || n - 5 >= outlen)
		return -EINVAL;
	memcpy(out, file, n - 5);
	out[n - 5] = '\0';
	return valid_name(out) < 0 ? -EINVAL : 0;
}

/* GET /cloud-init/admin/impersonation/{id}/{file}: what node id gets, for an operator. */
int ochami_ci_impersonate(struct http_req *r)
{
	struct app *a = r->ctx;
	int64_t id;
	char group[64];
	int rc = store_node_id(a->store, r->args[0], &id);
	if (rc < 0)
		return ochami_store_error(r, rc, NULL, "node", r->args[0]);
	int kind = serve_cloudinit_kind(r->args[1]);
	int is_group = kind < 0 && ci_yaml_group(r->args[1], group, sizeof(group)) == 0;
	if (kind < 0 && !is_group)
		return http_reply_error(r, 404, "not_found", NULL, "no such cloud-init file: %s",
					r->args[1]);
	struct buf out;
	buf_init(&out, SERVE_CI_MAX);
	rc = is_group ? ci_group_yaml(a, id, group, &out) :
			serve_render_cloudinit(a, id, kind, &out);
	if (rc == 0)
		rc = http_reply_data(r, 200, "text/plain; charset=utf-8", buf_str(&out), out.len);
	else if (rc == -ENOENT)
		rc = http_reply_error(r, 404, "not_found", NULL,
				      "node %s is not a member of group %s", r->args[0], group);
	buf_clear(&out);
	return rc;
}

/* ---- public: {group}.yaml, version, phone-home -------------------------------------------- */

/*
 * The node a node-facing request comes from: by its seed token, else as
 * the one node at the source address (serve.c's rules).  Answers 403/404
 * itself and returns < 0 then.
 */
static int ci_identify(struct http_req *r, const char *token, int64_t *node_id)
{
	struct app *a = r->ctx;
	if (token != NULL) {
		int64_t now = store_now_us() / 1000000;
		if (auth_seed_check(a->seed_key, token, (uint32_t)now, node_id) < 0) {
			http_reply_error(r, 403, "forbidden", NULL,
					 "invalid or expired node token; fetch a new boot script");
			return -EACCES;
		}
		return 0;
	}
	int rc = store_node_by_ip(a->store, r->client_ip, node_id);
	if (rc == -ENOENT)
		http_reply_error(r, 404, "not_found", NULL, "no node has address %s", r->client_ip);
	return rc;
}

/* GET /cloud-init/{file} and /cloud-init/{token}/{file}: {group}.yaml here, the rest serve.c's. */
int ochami_ci_node_file(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *token = r->args[1] ? r->args[0] : NULL;
	const char *file = r->args[1] ? r->args[1] : r->args[0];
	char group[64];
	if (token == NULL && strcmp(file, "version") == 0)
		return http_reply_json(r, 200,
				       json_pack("{s:s, s:s}", "process_name", "corrald",
						 "build_info", CORRAL_VERSION));
	if (serve_cloudinit_kind(file) >= 0 || ci_yaml_group(file, group, sizeof(group)) < 0)
		return serve_cloudinit(r);
	int64_t node_id;
	int rc = ci_identify(r, token, &node_id);
	if (rc < 0)
		return rc == -EACCES || rc == -ENOENT ? 0 : rc;
	struct buf out;
	buf_init(&out, SERVE_CI_MAX);
	rc = ci_group_yaml(a, node_id, group, &out);
	if (rc == 0) {
		rc = http_reply_data(r, 200, "text/plain; charset=utf-8", buf_str(&out), out.len);
		events_add(a->events, node_id, "cloud-init", r->client_ip, file, NULL, NULL);
	} else if (rc == -ENOENT) {
		rc = http_reply_error(r, 404, "not_found", NULL,
				      "this node is not a member of group %s", group);
	}
	buf_clear(&out);
	return rc;
}

/*
 * POST /cloud-init/phone-home/{id}: the node id says it is done.  Only the
 * node itself may say so: id is its seed token, or the node at the
 * request's source address is id.
 */
int ochami_ci_phone_home(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *id = r->args[0];
	int64_t node_id = 0, by_name = 0;
	char name[64];
	bool token = valid_name(id) < 0 || store_node_id(a->store, id, &by_name) < 0;
	int rc = ci_identify(r, token ? id : NULL, &node_id);
	if (rc < 0)
		return rc == -EACCES || rc == -ENOENT ? 0 : rc;
	if (!token && node_id != by_name)
		return http_reply_error(r, 403, "forbidden", NULL, "address %s is not node %s's",
					r->client_ip, id);
	rc = store_node_name(a->store, node_id, name, sizeof(name));
	if (rc < 0)
		return ochami_store_error(r, rc, NULL, "node", id);
	events_add(a->events, node_id, "phone-home", r->client_ip, "ready", NULL, "ready");
	return http_reply_json(r, 200, json_pack("{s:s, s:s}", "node", name, "state", "ready"));
}
