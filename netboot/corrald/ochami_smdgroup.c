/*
 * ochami_smdgroup: SMD's groups, their members and the memberships view
 * under /hsm/v2, over Corral's groups (ochami.h; docs/openchami.md).
 *
 * A Corral group is SMD's group of the same label; its members are the
 * nodes that list it (a node's groups are ordered: joining through SMD
 * puts the group last, so it never takes the boot profile from a group
 * the node had before).  Tags are dropped and exclusive groups refused:
 * Corral's groups have neither.  A group write and the membership change
 * of its nodes are two transactions; a failed second one removes a group
 * the request had created.
 */
#include "ochami.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "valid.h"

#define SMD_GROUPS "/hsm/v2/groups"

static json_t *smd_group_json(json_t *g)
{
	json_t *members = json_object_get(g, "members");
	return json_pack("{s:O, s:O, s:{s:o}}", "label", json_object_get(g, "name"), "description",
			 json_object_get(g, "description"), "members", "ids",
			 json_is_array(members) ? json_incref(members) : json_array());
}

/* 1 if node lists group. */
static int smd_in_group(json_t *node, const char *group)
{
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(node, "groups"), i, g)
		if (strcmp(json_string_value(g), group) == 0)
			return 1;
	return 0;
}

/* A copy of node with group added last (join) or removed (leave). */
static json_t *smd_membership(json_t *node, const char *group, bool join)
{
	json_t *copy = json_deep_copy(node);
	json_t *groups = json_object_get(copy, "groups");
	if (join) {
		json_array_append_new(groups, json_string(group));
		return copy;
	}
	for (size_t i = json_array_size(groups); i-- > 0;)
		if (strcmp(json_string_value(json_array_get(groups, i)), group) == 0)
			json_array_remove(groups, i);
	return copy;
}

/* Description as Corral's groups keep it: up to 256 characters, no controls. */
static int smd_description(struct http_req *r, json_t *v, const char **out)
{
	*out = "";
	if (v == NULL || json_is_null(v))
		return 0;
	const char *s = json_string_value(v);
	if (s == NULL || json_string_length(v) > 256)
		return ochami_fail(r, 400, "description: a string of at most 256 characters");
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			return ochami_fail(r, 400, "description: control characters");
	*out = s;
	return 0;
}

/*
 * The nodes ids name, each a copy that joins (or leaves) group; NULL after
 * a 400 when one names no node or is given twice.
 */
static json_t *smd_members_change(struct http_req *r, const struct ochami_inv *inv, json_t *ids,
				  const char *group)
{
	json_t *nodes = json_array();
	json_t *seen = json_object();
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id) {
		const char *name = json_string_value(id);
		json_t *n = name ? ochami_inv_by_name(inv, name) : NULL;
		if (n == NULL || json_object_get(seen, name) != NULL) {
			ochami_fail(r, 400, "invalid xname ID %s (%s)",
				    name ? name : "(not a string)",
				    n ? "given twice" : "no such node");
			json_decref(nodes);
			json_decref(seen);
			return NULL;
		}
		json_object_set_new(seen, name, json_true());
		if (!smd_in_group(n, group))
			json_array_append_new(nodes, smd_membership(n, group, true));
	}
	json_decref(seen);
	return nodes;
}

/* ---- /groups ------------------------------------------------------------------------ */

static int smd_groups_post(struct http_req *r, json_t *body)
{
	struct app *a = r->ctx;
	struct ochami_inv inv;
	const char *label = ochami_str(body, "label");
	const char *excl = ochami_str(body, "exclusiveGroup");
	const char *desc;
	char uri[128];
	if (label == NULL || valid_name(label) < 0)
		return ochami_fail(r, 400, "couldn't validate group: bad label %s",
				   label ? label : "(none)");
	if (excl != NULL && excl[0] != '\0')
		return ochami_fail(r, 400, "exclusiveGroup: Corral's groups are not exclusive");
	if (smd_description(r, ochami_get(body, "description"), &desc) < 0)
		return -EINVAL;
	json_t *ids = ochami_get(ochami_get(body, "members"), "ids");
	if (ids != NULL && !json_is_array(ids) && !json_is_null(ids))
		return ochami_fail(r, 400, "members.ids must be an array");
	if (ochami_inv_load(r, &inv) < 0)
		return -EIO;
	json_t *nodes = smd_members_change(r, &inv, ids, label);
	ochami_inv_clear(&inv);
	if (nodes == NULL)
		return -EINVAL;
	json_t *g = json_pack("{s:s, s:s, s:n, s:{}, s:s}", "name", label, "description", desc,
			      "profile", "metadata", "user_data", "");
	struct store_err se = {"", ""};
	bool created;
	int rc = store_obj_put(a->store, STORE_GROUP, g, true, &created, &se);
	json_decref(g);
	if (rc == -EEXIST)
		rc = ochami_fail(r, 409,
				 "operation would conflict with an existing group that has the "
				 "same label.");
	else if (rc < 0)
		ochami_store_error(r, rc, &se, "group", label);
	else if ((rc = ochami_nodes_write(r, nodes)) < 0)
		(void)store_obj_delete(a->store, STORE_GROUP, label, &se);
	json_decref(nodes);
	if (rc < 0)
		return rc;
	snprintf(uri, sizeof(uri), SMD_GROUPS "/%s", label);
	return ochami_created(r, uri, true);
}

int ochami_smd_groups(struct http_req *r)
{
	struct app *a = r->ctx;
	if (r->method_id == HTTP_POST) {
		json_t *body = ochami_body(r, false);
		if (body != NULL)
			(void)smd_groups_post(r, body);
		json_decref(body);
		return 0;
	}
	const char *only = http_query(r, "group");
	json_t *list;
	int rc = store_obj_list(a->store, STORE_GROUP, &list);
	if (rc < 0)
		return ochami_store_error(r, rc, NULL, "group", "");
	json_t *out = json_array();
	size_t i;
	json_t *g;
	json_array_foreach(list, i, g) {
		const char *name = json_string_value(json_object_get(g, "name"));
		if (only == NULL || strcmp(only, name) == 0)
			json_array_append_new(out, smd_group_json(g));
	}
	json_decref(list);
	return http_reply_json(r, 200, out);
}

int ochami_smd_group_labels(struct http_req *r)
{
	struct app *a = r->ctx;
	json_t *list;
	int rc = store_obj_list(a->store, STORE_GROUP, &list);
	if (rc < 0)
		return ochami_store_error(r, rc, NULL, "group", "");
	json_t *out = json_array();
	size_t i;
	json_t *g;
	json_array_foreach(list, i, g)
		json_array_append(out, json_object_get(g, "name"));
	json_decref(list);
	return http_reply_json(r, 200, out);
}

/* DELETE: the nodes leave the group (one transaction), then it goes. */
static int smd_group_delete(struct http_req *r, const char *label)
{
	struct app *a = r->ctx;
	struct ochami_inv inv;
	if (ochami_inv_load(r, &inv) < 0)
		return -EIO;
	json_t *nodes = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(inv.nodes, i, n)
		if (smd_in_group(n, label))
			json_array_append_new(nodes, smd_membership(n, label, false));
	ochami_inv_clear(&inv);
	int rc = ochami_nodes_write(r, nodes);
	json_decref(nodes);
	if (rc < 0)
		return rc;
	struct store_err se = {"", ""};
	rc = store_obj_delete(a->store, STORE_GROUP, label, &se);
	if (rc < 0)
		return ochami_store_error(r, rc, &se, "group", label);
	return ochami_smd_message(r, 200, "deleted 1 entry");
}

int ochami_smd_group(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *label = r->args[0];
	json_t *g = NULL;
	int rc = store_obj_get(a->store, STORE_GROUP, label, &g);
	if (rc == -ENOENT)
		return http_reply_error(r, 404, "not_found", NULL, "No such group: %s", label);
	if (rc < 0)
		return ochami_store_error(r, rc, NULL, "group", label);
	if (r->method_id & (HTTP_GET | HTTP_HEAD)) {
		json_t *out = smd_group_json(g);
		json_decref(g);
		return http_reply_json(r, 200, out);
	}
	if (r->method_id == HTTP_DELETE) {
		json_decref(g);
		(void)smd_group_delete(r, label);
		return 0;
	}
	/* PATCH {"description", "tags"}: the description is Corral's; tags are dropped */
	json_t *body = ochami_body(r, false);
	const char *desc;
	json_t *dv = body ? ochami_get(body, "description") : NULL;
	if (body != NULL && (dv == NULL || smd_description(r, dv, &desc) == 0)) {
		struct store_err se = {"", ""};
		bool created;
		if (dv != NULL)
			json_object_set_new(g, "description", json_string(desc));
		rc = store_obj_put(a->store, STORE_GROUP, g, false, &created, &se);
		if (rc < 0)
			ochami_store_error(r, rc, &se, "group", label);
		else
			http_reply_empty(r, 204);
	}
	json_decref(body);
	json_decref(g);
	return 0;
}

/* ---- members ---------------------------------------------------------------------- */

/* POST {"id"} adds one member; PUT {"group","ids"} makes the members exactly ids. */
static int smd_members_write(struct http_req *r, const char *label, json_t *body)
{
	struct ochami_inv inv;
	char uri[192];
	bool put = r->method_id == HTTP_PUT;
	json_t *ids;
	if (put) {
		ids = json_incref(ochami_get(body, "ids"));
		if (!json_is_array(ids)) {
			json_decref(ids);
			return ochami_fail(r, 400, "ids must be an array");
		}
	} else {
		json_t *id = ochami_get(body, "id");
		if (!json_is_string(id))
			return ochami_fail(r, 400, "invalid xname ID");
		ids = json_pack("[O]", id);
	}
	if (ochami_inv_load(r, &inv) < 0) {
		json_decref(ids);
		return -EIO;
	}
	const char *one = json_string_value(json_array_get(ids, 0));
	json_t *cur = one ? ochami_inv_by_name(&inv, one) : NULL;
	int rc = 0;
	json_t *nodes = NULL;
	if (!put && cur != NULL && smd_in_group(cur, label))
		rc = ochami_fail(r, 409,
				 "operation would conflict with an existing member in the same "
				 "group.");
	else if ((nodes = smd_members_change(r, &inv, ids, label)) == NULL)
		rc = -EINVAL;
	if (rc == 0 && put) { /* nodes not listed leave */
		size_t i, k;
		json_t *n, *id;
		json_array_foreach(inv.nodes, i, n) {
			int listed = 0;
			json_array_foreach(ids, k, id)
				listed |=
					strcmp(json_string_value(id),
					       json_string_value(json_object_get(n, "name"))) == 0;
			if (!listed && smd_in_group(n, label))
				json_array_insert_new(nodes, 0, smd_membership(n, label, false));
		}
	}
	if (rc == 0)
		rc = ochami_nodes_write(r, nodes);
	if (rc == 0 && json_array_size(ids) == 0)
		http_reply_empty(r, 204);
	else if (rc == 0) {
		snprintf(uri, sizeof(uri), SMD_GROUPS "/%s/members/%s", label,
			 put ? "" : json_string_value(json_array_get(ids, 0)));
		rc = ochami_created(r, uri, true);
	}
	json_decref(nodes);
	ochami_inv_clear(&inv);
	json_decref(ids);
	return rc;
}

int ochami_smd_group_members(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *label = r->args[0];
	json_t *g = NULL;
	int rc = store_obj_get(a->store, STORE_GROUP, label, &g);
	if (rc == -ENOENT)
		return http_reply_error(r, 404, "not_found", NULL, "No such group: %s", label);
	if (rc < 0)
		return ochami_store_error(r, rc, NULL, "group", label);
	if (r->method_id & (HTTP_GET | HTTP_HEAD)) {
		json_t *out = json_pack("{s:O}", "ids", json_object_get(g, "members"));
		json_decref(g);
		return http_reply_json(r, 200, out);
	}
	json_decref(g);
	json_t *body = ochami_body(r, false);
	if (body != NULL)
		(void)smd_members_write(r, label, body);
	json_decref(body);
	return 0;
}

int ochami_smd_group_member(struct http_req *r)
{
	struct ochami_inv inv;
	const char *label = r->args[0], *id = r->args[1];
	if (ochami_inv_load(r, &inv) < 0)
		return 0;
	json_t *n = ochami_inv_by_name(&inv, id);
	if (n == NULL || !smd_in_group(n, label)) {
		ochami_inv_clear(&inv);
		return http_reply_error(r, 404, "not_found", NULL, "group has no such member.");
	}
	json_t *nodes = json_pack("[o]", smd_membership(n, label, false));
	if (ochami_nodes_write(r, nodes) == 0)
		ochami_smd_message(r, 200, "deleted 1 entry");
	json_decref(nodes);
	ochami_inv_clear(&inv);
	return 0;
}

/* ---- memberships -------------------------------------------------------------------- */

static json_t *smd_membership_json(json_t *node)
{
	return json_pack("{s:O, s:O, s:s}", "id", json_object_get(node, "name"), "groupLabels",
			 json_object_get(node, "groups"), "partitionName", "");
}

int ochami_smd_memberships(struct http_req *r)
{
	struct ochami_inv inv;
	const char *one = r->args[0];
	const char *q = http_query(r, "id");
	if (ochami_inv_load(r, &inv) < 0)
		return 0;
	int rc;
	if (one != NULL) {
		json_t *n = ochami_inv_by_name(&inv, one);
		rc = n ? http_reply_json(r, 200, smd_membership_json(n)) :
			 http_reply_error(r, 404, "not_found", NULL, "No such xname: %s", one);
	} else {
		json_t *out = json_array();
		size_t i;
		json_t *n;
		json_array_foreach(inv.nodes, i, n)
			if (q == NULL ||
			    strcmp(q, json_string_value(json_object_get(n, "name"))) == 0)
				json_array_append_new(out, smd_membership_json(n));
		rc = http_reply_json(r, 200, out);
	}
	ochami_inv_clear(&inv);
	return rc;
}
