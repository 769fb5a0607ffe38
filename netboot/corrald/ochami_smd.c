/*
 * ochami_smd: OpenCHAMI's State Management Database (SMD) under /hsm/v2,
 * over Corral's nodes and groups (ochami.h; docs/openchami.md).
 *
 * A Component of type Node is a Corral node (ID = name; NID, Role, Arch,
 * Enabled are the node's; State is Corral's boot state in SMD's words:
 * new → Populated, booting → On, ready → Ready).  An EthernetInterface is
 * one of a node's interfaces (its ID is the MAC without colons, its one
 * IPv4 address the interface's ip).  A group is a Corral group; its
 * members are the nodes that list it.  Types other than Node, partitions,
 * tags and IP network names have no place in Corral and are refused or
 * dropped as docs/openchami.md says.
 *
 * Success bodies are SMD's: {"code":0,"message":…} for deletions, a list
 * of {"URI"} with Location for creations, 204 for bulk updates.  Every
 * change of nodes in one request is one transaction (store_node_import).
 */
#include "ochami.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "valid.h"

#define SMD "/hsm/v2"

/* ---- service -------------------------------------------------------------------- */

int ochami_smd_service(struct http_req *r)
{
	struct app *a = r->ctx;
	if (strcmp(r->args[0], "liveness") == 0)
		return http_reply_empty(r, 204);
	if (strcmp(r->args[0], "ready") == 0) {
		if (store_ping(a->store) < 0)
			return http_reply_error(r, 503, "unavailable", NULL,
						"HSM's database is unhealthy: the store does not "
						"answer");
		return ochami_smd_message(r, 200, "HSM is healthy");
	}
	if (strcmp(r->args[0], "values") == 0) /* the words Corral's components use */
		return http_reply_json(
			r, 200,
			json_pack("{s:[s,s], s:[s], s:[s], s:[s], s:[], s:[], s:[s,s,s], s:[s]}",
				  "Arch", "X86", "ARM", "Class", "River", "Flag", "OK", "NetType",
				  "Sling", "Role", "SubRole", "State", "Populated", "On", "Ready",
				  "Type", "Node"));
	return http_reply_error(r, 404, "not_found", NULL, "no such path: %s", r->path);
}

/* ---- components ------------------------------------------------------------------ */

/*
 * Applies an SMD Component to node (a copy or a new node): NID, Role, Arch,
 * Enabled where given.  Type must be Node; State and Flag are Corral's own
 * (its boot state), so they are not taken.  0, or -EINVAL after a 400.
 */
static int smd_apply_component(struct http_req *r, json_t *node, json_t *comp)
{
	const char *id = ochami_str(comp, "ID");
	const char *type = ochami_str(comp, "Type");
	json_t *nid = ochami_get(comp, "NID");
	json_t *enabled = ochami_get(comp, "Enabled");
	const char *role = ochami_str(comp, "Role");
	const char *arch = ochami_str(comp, "Arch");
	if (type != NULL && type[0] != '\0' && strcmp(type, "Node") != 0)
		return ochami_fail(
			r, 400,
			"couldn't validate component: %s: Corral keeps nodes only (Type Node)", id);
	if (nid != NULL && !json_is_null(nid)) {
		long long v = json_integer_value(nid);
		if (json_is_string(nid) &&
		    valid_parse_ll(json_string_value(nid), 0, 2147483648LL, &v) < 0)
			return ochami_fail(r, 400, "couldn't validate component: %s: bad NID", id);
		if ((!json_is_integer(nid) && !json_is_string(nid)) || v < 0 || v > 2147483648LL)
			return ochami_fail(r, 400, "couldn't validate component: %s: bad NID", id);
		/* 0 is Go's "not given" (omitempty) */
		if (v > 0)
			json_object_set_new(node, "nid", json_integer(v));
	}
	if (enabled != NULL && !json_is_null(enabled)) {
		if (!json_is_boolean(enabled))
			return ochami_fail(r, 400, "couldn't validate component: %s: bad Enabled",
					   id);
		json_object_set(node, "enabled", enabled);
	}
	if (role != NULL && role[0] != '\0') {
		if (strlen(role) > 63)
			return ochami_fail(r, 400, "couldn't validate component: %s: Role too long",
					   id);
		json_object_set_new(node, "role", json_string(role));
	}
	if (arch != NULL && strcasecmp(arch, "X86") == 0)
		json_object_set_new(node, "arch", json_string("x86_64"));
	else if (arch != NULL && strcasecmp(arch, "ARM") == 0)
		json_object_set_new(node, "arch", json_string("aarch64"));
	return 0;
}

/* The node for component comp: a copy of the one named ID, else a new one. */
static json_t *smd_component_node(struct http_req *r, const struct ochami_inv *inv, json_t *comp)
{
	const char *id = ochami_str(comp, "ID");
	if (id == NULL || valid_name(id) < 0) {
		ochami_fail(r, 400, "couldn't validate component: bad ID %s", id ? id : "(none)");
		return NULL;
	}
	json_t *cur = ochami_inv_by_name(inv, id);
	json_t *node = cur ? json_deep_copy(cur) : ochami_node_new(id);
	if (smd_apply_component(r, node, comp) < 0) {
		json_decref(node);
		return NULL;
	}
	return node;
}

static int smd_components_get(struct http_req *r, const struct ochami_inv *inv)
{
	const char *id = http_query(r, "id");
	const char *type = http_query(r, "type");
	const char *state = http_query(r, "state");
	const char *role = http_query(r, "role");
	const char *enabled = http_query(r, "enabled");
	const char *nid = http_query(r, "nid");
	json_t *list = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(inv->nodes, i, n) {
		json_t *c = ochami_component(n);
		const char *cs = ochami_str(c, "State");
		const char *cr = ochami_str(c, "Role");
		json_t *cn = ochami_get(c, "NID");
		char nidbuf[24] = "";
		if (json_is_integer(cn))
			snprintf(nidbuf, sizeof(nidbuf), "%lld", (long long)json_integer_value(cn));
		bool en = json_is_true(ochami_get(c, "Enabled"));
		if ((id && strcmp(id, ochami_str(c, "ID")) != 0) ||
		    (type && strcasecmp(type, "Node")) || (state && strcasecmp(state, cs)) ||
		    (role && (!cr || strcasecmp(role, cr))) ||
		    (enabled && strcasecmp(enabled, en ? "true" : "false")) ||
		    (nid && strcmp(nid, nidbuf) != 0)) {
			json_decref(c);
			continue;
		}
		json_array_append_new(list, c);
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "Components", list));
}

/* Upserts the components of body (POST: {"Components":[…]}) in one transaction. */
static int smd_components_post(struct http_req *r, const struct ochami_inv *inv, json_t *body)
{
	json_t *comps = ochami_get(body, "Components");
	if (!json_is_array(comps) || json_array_size(comps) == 0) {
		ochami_fail(r, 400, "Missing Components");
		return 0;
	}
	json_t *nodes = json_array();
	json_t *seen = json_object();
	size_t i;
	json_t *comp;
	int rc = 0;
	json_array_foreach(comps, i, comp) {
		json_t *node = json_is_object(comp) ? smd_component_node(r, inv, comp) : NULL;
		if (node == NULL) {
			if (!json_is_object(comp))
				ochami_fail(r, 400, "couldn't validate component (not an object)");
			rc = -EINVAL;
			break;
		}
		const char *name = json_string_value(json_object_get(node, "name"));
		if (json_object_get(seen, name) != NULL) {
			json_decref(node);
			rc = ochami_fail(r, 400, "couldn't validate component: %s given twice",
					 name);
			break;
		}
		json_object_set_new(seen, name, json_true());
		json_array_append_new(nodes, node);
	}
	if (rc == 0 && ochami_nodes_write(r, nodes) == 0)
		http_reply_empty(r, 204);
	json_decref(seen);
	json_decref(nodes);
	return 0;
}

/* DELETE of the collection: every node goes (with its interfaces and events). */
static int smd_components_delete_all(struct http_req *r, const struct ochami_inv *inv)
{
	struct app *a = r->ctx;
	size_t i, n = 0;
	json_t *node;
	json_array_foreach(inv->nodes, i, node) {
		int rc = store_node_delete(a->store,
					   json_string_value(json_object_get(node, "name")));
		if (rc < 0 && rc != -ENOENT)
			return ochami_store_error(r, rc, NULL, "node", "");
		n += rc == 0;
	}
	if (n == 0)
		return http_reply_error(r, 404, "not_found", NULL, "no entries to delete");
	char msg[64];
	snprintf(msg, sizeof(msg), "deleted %zu entries", n);
	return ochami_smd_message(r, 200, msg);
}

int ochami_smd_components(struct http_req *r)
{
	struct ochami_inv inv;
	json_t *body = NULL;
	if (r->method_id == HTTP_POST && (body = ochami_body(r, false)) == NULL)
		return 0;
	if (ochami_inv_load(r, &inv) < 0) {
		json_decref(body);
		return 0;
	}
	int rc;
	if (r->method_id == HTTP_POST)
		rc = smd_components_post(r, &inv, body);
	else if (r->method_id == HTTP_DELETE)
		rc = smd_components_delete_all(r, &inv);
	else
		rc = smd_components_get(r, &inv);
	ochami_inv_clear(&inv);
	json_decref(body);
	return rc;
}

int ochami_smd_component(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *id = r->args[0];
	struct ochami_inv inv;
	if (r->method_id == HTTP_DELETE) {
		int rc = store_node_delete(a->store, id);
		if (rc == -ENOENT)
			return http_reply_error(r, 404, "not_found", NULL, "no such xname.");
		return rc < 0 ? ochami_store_error(r, rc, NULL, "node", id) :
				ochami_smd_message(r, 200, "deleted 1 entry");
	}
	json_t *body = NULL;
	if (r->method_id == HTTP_PUT && (body = ochami_body(r, false)) == NULL)
		return 0;
	if (ochami_inv_load(r, &inv) < 0) {
		json_decref(body);
		return 0;
	}
	json_t *cur = ochami_inv_by_name(&inv, id);
	if (r->method_id & (HTTP_GET | HTTP_HEAD)) {
		int rc = cur ? http_reply_json(r, 200, ochami_component(cur)) :
			       http_reply_error(r, 404, "not_found", NULL, "no such xname.");
		ochami_inv_clear(&inv);
		return rc;
	}
	/* PUT {"Component": {…}, "Force": …}: creates or replaces the component */
	json_t *comp = ochami_get(body, "Component");
	const char *bid = ochami_str(comp, "ID");
	if (!json_is_object(comp)) {
		ochami_fail(r, 400, "Missing Component");
	} else if (bid != NULL && bid[0] != '\0' && strcmp(bid, id) != 0) {
		ochami_fail(r, 400, "ID in URL and POST body do not match");
	} else {
		json_t *c = json_deep_copy(comp);
		json_object_set_new(c, "ID", json_string(id));
		json_t *node = smd_component_node(r, &inv, c);
		json_t *nodes = node ? json_pack("[o]", node) : NULL;
		if (nodes != NULL && ochami_nodes_write(r, nodes) == 0)
			http_reply_empty(r, 204);
		json_decref(nodes);
		json_decref(c);
	}
	ochami_inv_clear(&inv);
	json_decref(body);
	return 0;
}

int ochami_smd_component_nid(struct http_req *r)
{
	struct ochami_inv inv;
	long long nid;
	if (valid_parse_ll(r->args[0], 0, 4294967295LL, &nid) < 0)
		return http_reply_error(r, 400, "bad_request", NULL, "bad NID: %s", r->args[0]);
	if (ochami_inv_load(r, &inv) < 0)
		return 0;
	json_t *n = ochami_inv_by_nid(&inv, nid);
	int rc = n ? http_reply_json(r, 200, ochami_component(n)) :
		     http_reply_error(r, 404, "not_found", NULL, "no such NID.");
	ochami_inv_clear(&inv);
	return rc;
}

int ochami_smd_components_query(struct http_req *r)
{
	struct ochami_inv inv;
	json_t *body = ochami_body(r, false);
	if (body == NULL)
		return 0;
	json_t *ids = ochami_get(body, "ComponentIDs");
	if (!json_is_array(ids) || json_array_size(ids) == 0) {
		json_decref(body);
		return http_reply_error(r, 400, "bad_request", NULL, "Missing IDs");
	}
	if (ochami_inv_load(r, &inv) < 0) {
		json_decref(body);
		return 0;
	}
	json_t *list = json_array();
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id) {
		json_t *n =
			json_is_string(id) ? ochami_inv_by_name(&inv, json_string_value(id)) : NULL;
		if (n != NULL)
			json_array_append_new(list, ochami_component(n));
	}
	ochami_inv_clear(&inv);
	json_decref(body);
	return http_reply_json(r, 200, json_pack("{s:o}", "Components", list));
}

/* PATCH State/Components/BulkNID: {"Components":[{"ID","NID"}]}: each node's NID. */
int ochami_smd_bulk_nid(struct http_req *r)
{
	struct ochami_inv inv;
	json_t *body = ochami_body(r, false);
	if (body == NULL)
		return 0;
	json_t *comps = ochami_get(body, "Components");
	if (!json_is_array(comps) || json_array_size(comps) == 0) {
		json_decref(body);
		return http_reply_error(r, 400, "bad_request", NULL, "Missing Components");
	}
	if (ochami_inv_load(r, &inv) < 0) {
		json_decref(body);
		return 0;
	}
	json_t *nodes = json_array();
	size_t i;
	json_t *comp;
	int rc = 0;
	json_array_foreach(comps, i, comp) {
		const char *id = ochami_str(comp, "ID");
		json_t *cur = id ? ochami_inv_by_name(&inv, id) : NULL;
		if (cur == NULL) {
			rc = ochami_fail(r, 404,
					 "operation 'Bulk Update NID' failed: no such xname %s",
					 id ? id : "(none)");
			break;
		}
		json_t *node = json_deep_copy(cur);
		json_t *only = json_pack("{s:s, s:O?}", "ID", id, "NID", ochami_get(comp, "NID"));
		rc = smd_apply_component(r, node, only);
		json_decref(only);
		json_array_append_new(nodes, node);
		if (rc < 0)
			break;
	}
	if (rc == 0 && ochami_nodes_write(r, nodes) == 0)
		http_reply_empty(r, 204);
	json_decref(nodes);
	ochami_inv_clear(&inv);
	json_decref(body);
	return 0;
}

/* ---- ethernet interfaces ------------------------------------------------------- */

/* An interface of node as SMD's CompEthInterfaceV2 (ID: the MAC without ':'). */
static json_t *smd_iface(json_t *node, json_t *iface)
{
	const char *mac = json_string_value(json_object_get(iface, "mac"));
	const char *ip = json_string_value(json_object_get(iface, "ip"));
	char id[13];
	size_t o = 0;
	for (const char *p = mac; p && *p && o + 1 < sizeof(id); p++)
		if (*p != ':')
			id[o++] = *p;
	id[o] = '\0';
	json_t *ips = ip ? json_pack("[{s:s}]", "IPAddress", ip) : json_array();
	return json_pack("{s:s, s:s, s:s, s:O, s:O, s:s, s:o}", "ID", id, "Description", "",
			 "MACAddress", mac ? mac : "", "LastUpdate",
			 json_object_get(node, "updated"), "ComponentID",
			 json_object_get(node, "name"), "Type", "Node", "IPAddresses", ips);
}

/* The interface with MAC mac among node's, and its index. */
static json_t *smd_iface_of(json_t *node, const char *mac, size_t *idx)
{
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(node, "interfaces"), i, it) {
		const char *m = json_string_value(json_object_get(it, "mac"));
		if (m != NULL && strcmp(m, mac) == 0) {
			if (idx != NULL)
				*idx = i;
			return it;
		}
	}
	return NULL;
}

/* The one IPv4 address Corral keeps of IPAddresses: the first; null for none. */
static int smd_iface_ip(struct http_req *r, json_t *ips, json_t **out)
{
	*out = json_null();
	if (ips == NULL || json_is_null(ips))
		return 0;
	if (!json_is_array(ips))
		return ochami_fail(r, 400, "IPAddresses must be an array");
	json_t *first = json_array_get(ips, 0);
	if (first == NULL)
		return 0;
	const char *ip = ochami_str(first, "IPAddress");
	if (ip == NULL || valid_ipv4(ip) < 0)
		return ochami_fail(r, 400, "invalid IP address %s (Corral keeps one IPv4 address)",
				   ip ? ip : "(none)");
	*out = json_string(ip);
	return 0;
}

static int smd_ifaces_get(struct http_req *r, const struct ochami_inv *inv)
{
	const char *qmac = http_query(r, "MACAddress");
	const char *qip = http_query(r, "IPAddress");
	const char *qcomp = http_query(r, "ComponentID");
	const char *qtype = http_query(r, "Type");
	char mac[VALID_MAC_LEN + 1] = "";
	if (qmac != NULL && valid_mac_normalize(qmac, mac) < 0)
		return http_reply_error(r, 400, "bad_request", NULL,
					"Invalid component ethernet interface MAC address.");
	json_t *out = json_array();
	size_t i, k;
	json_t *n, *it;
	json_array_foreach(inv->nodes, i, n) {
		if ((qcomp && strcmp(qcomp, json_string_value(json_object_get(n, "name")))) ||
		    (qtype && strcasecmp(qtype, "Node")))
			continue;
		json_array_foreach(json_object_get(n, "interfaces"), k, it) {
			const char *m = json_string_value(json_object_get(it, "mac"));
			const char *ip = json_string_value(json_object_get(it, "ip"));
			if ((qmac && strcmp(mac, m)) || (qip && (!ip || strcmp(qip, ip))))
				continue;
			json_array_append_new(out, smd_iface(n, it));
		}
	}
	return http_reply_json(r, 200, out);
}

/* POST one interface: onto the node ComponentID names. */
static int smd_ifaces_post(struct http_req *r, const struct ochami_inv *inv, json_t *body)
{
	char mac[VALID_MAC_LEN + 1], uri[96];
	const char *m = ochami_str(body, "MACAddress");
	const char *comp = ochami_str(body, "ComponentID");
	json_t *ip;
	if (m == NULL || valid_mac_normalize(m, mac) < 0)
		return ochami_fail(r, 400, "invalid MAC address %s", m ? m : "(none)");
	json_t *node = comp ? ochami_inv_by_name(inv, comp) : NULL;
	if (node == NULL)
		return ochami_fail(r, 400,
				   "ComponentID %s names no node (Corral keeps interfaces on "
				   "nodes: create the component first)",
				   comp ? comp : "(none)");
	json_t *owner = ochami_inv_by_mac(inv, mac);
	if (owner != NULL)
		return ochami_fail(r, 409,
				   "operation would conflict with an existing component ethernet "
				   "interface that has the same MAC address.");
	if (smd_iface_ip(r, ochami_get(body, "IPAddresses"), &ip) < 0)
		return -EINVAL;
	json_t *copy = json_deep_copy(node);
	json_array_append_new(json_object_get(copy, "interfaces"),
			      json_pack("{s:s, s:o}", "mac", mac, "ip", ip));
	json_t *nodes = json_pack("[o]", copy);
	int rc = ochami_nodes_write(r, nodes);
	json_decref(nodes);
	if (rc < 0)
		return rc;
	snprintf(uri, sizeof(uri), SMD "/Inventory/EthernetInterfaces/%c%c%c%c%c%c%c%c%c%c%c%c",
		 mac[0], mac[1], mac[3], mac[4], mac[6], mac[7], mac[9], mac[10], mac[12], mac[13],
		 mac[15], mac[16]);
	return ochami_created(r, uri, false);
}

/* DELETE of the collection: every node's interfaces, in one transaction. */
static int smd_ifaces_delete_all(struct http_req *r, const struct ochami_inv *inv)
{
	json_t *nodes = json_array();
	size_t i, n = 0;
	json_t *node;
	json_array_foreach(inv->nodes, i, node) {
		size_t k = json_array_size(json_object_get(node, "interfaces"));
		if (k == 0)
			continue;
		n += k;
		json_t *copy = json_deep_copy(node);
		json_object_set_new(copy, "interfaces", json_array());
		json_array_append_new(nodes, copy);
	}
	int rc = n == 0 ? http_reply_error(r, 404, "not_found", NULL, "no entries to delete") :
			  ochami_nodes_write(r, nodes);
	json_decref(nodes);
	if (n == 0 || rc < 0)
		return 0;
	char msg[64];
	snprintf(msg, sizeof(msg), "deleted %zu entries", n);
	return ochami_smd_message(r, 200, msg);
}

int ochami_smd_ifaces(struct http_req *r)
{
	struct ochami_inv inv;
	json_t *body = NULL;
	if (r->method_id == HTTP_POST && (body = ochami_body(r, false)) == NULL)
		return 0;
	if (ochami_inv_load(r, &inv) < 0) {
		json_decref(body);
		return 0;
	}
	if (r->method_id == HTTP_POST)
		(void)smd_ifaces_post(r, &inv, body);
	else if (r->method_id == HTTP_DELETE)
		(void)smd_ifaces_delete_all(r, &inv);
	else
		(void)smd_ifaces_get(r, &inv);
	ochami_inv_clear(&inv);
	json_decref(body);
	return 0;
}

/*
 * PATCH {Description, ComponentID, IPAddresses}: the interface moves to
 * another node and/or gets another address (one transaction for both
 * nodes).  Description has no place in Corral: taken and dropped.
 */
static int smd_iface_patch(struct http_req *r, const struct ochami_inv *inv, json_t *node,
			   const char *mac, json_t *body)
{
	json_t *comp = ochami_get(body, "ComponentID");
	json_t *ips = ochami_get(body, "IPAddresses");
	if (comp == NULL && ips == NULL && ochami_get(body, "Description") == NULL)
		return ochami_fail(r, 400, "Request must have at least one patch field.");
	json_t *from = json_deep_copy(node), *to = from;
	size_t idx = 0;
	json_t *it = json_deep_copy(smd_iface_of(from, mac, &idx));
	json_t *ip = NULL;
	int rc = 0;
	if (ips != NULL && (rc = smd_iface_ip(r, ips, &ip)) == 0)
		json_object_set_new(it, "ip", ip);
	const char *target = json_string_value(comp);
	if (rc == 0 && target != NULL &&
	    strcmp(target, json_string_value(json_object_get(from, "name"))) != 0) {
		json_t *t = ochami_inv_by_name(inv, target);
		if (t == NULL)
			rc = ochami_fail(r, 400, "ComponentID %s names no node", target);
		else
			to = json_deep_copy(t);
	}
	json_t *nodes = json_array();
	if (rc == 0) {
		json_array_remove(json_object_get(from, "interfaces"), idx);
		if (to == from)
			json_array_insert(json_object_get(from, "interfaces"), idx, it);
		else
			json_array_append(json_object_get(to, "interfaces"), it);
		json_array_append(nodes, from); /* frees the MAC first */
		if (to != from)
			json_array_append(nodes, to);
		rc = ochami_nodes_write(r, nodes);
	}
	if (rc == 0)
		rc = http_reply_json(r, 200, smd_iface(to, it));
	json_decref(nodes);
	if (to != from)
		json_decref(to);
	json_decref(from);
	json_decref(it);
	return rc;
}

/* /Inventory/EthernetInterfaces/{id} and …/{id}/IPAddresses (ips). */
static int smd_iface_one(struct http_req *r, bool ips_only)
{
	struct ochami_inv inv;
	char mac[VALID_MAC_LEN + 1];
	if (valid_mac_normalize(r->args[0], mac) < 0)
		return http_reply_error(r, 400, "bad_request", NULL, "Invalid id.");
	json_t *body = NULL;
	if (r->method_id == HTTP_PATCH && (body = ochami_body(r, false)) == NULL)
		return 0;
	if (ochami_inv_load(r, &inv) < 0) {
		json_decref(body);
		return 0;
	}
	json_t *node = ochami_inv_by_mac(&inv, mac);
	size_t idx = 0;
	json_t *it = node ? smd_iface_of(node, mac, &idx) : NULL;
	if (it == NULL) {
		http_reply_error(r, 404, "not_found", NULL,
				 "no such component ethernet interface.");
	} else if (ips_only) {
		const char *ip = json_string_value(json_object_get(it, "ip"));
		http_reply_json(r, 200, ip ? json_pack("[{s:s}]", "IPAddress", ip) : json_array());
	} else if (r->method_id == HTTP_PATCH) {
		(void)smd_iface_patch(r, &inv, node, mac, body);
	} else if (r->method_id == HTTP_DELETE) {
		json_t *copy = json_deep_copy(node);
		json_array_remove(json_object_get(copy, "interfaces"), idx);
		json_t *nodes = json_pack("[o]", copy);
		if (ochami_nodes_write(r, nodes) == 0)
			ochami_smd_message(r, 200, "deleted 1 entry");
		json_decref(nodes);
	} else {
		http_reply_json(r, 200, smd_iface(node, it));
	}
	ochami_inv_clear(&inv);
	json_decref(body);
	return 0;
}

int ochami_smd_iface(struct http_req *r)
{
	return smd_iface_one(r, false);
}

int ochami_smd_iface_ips(struct http_req *r)
{
	return smd_iface_one(r, true);
}
