/*
 * ochami_rfe: SMD's RedfishEndpoints under /hsm/v2/Inventory, over
 * Corral's BMC list (ochami.h; docs/openchami.md).
 *
 * A RedfishEndpoint registers a BMC exactly as Corral's own discovery
 * records one it found (bmcmatch_record, the call redfish.c makes): the
 * BMC at its address and port with its MAC, UUID, model and firmware, and
 * its systems with their MACs, each linked to the node that owns those
 * MACs.  What OpenCHAMI's clients post stands in for the BMC's answers:
 * magellan's `send` (what `collect` crawled: Systems and Managers with
 * their ethernet_interfaces) and the V2 schema `ochami discover static`
 * posts (the same shape, made from nodes.yaml).  The same MAC rules as
 * discovery apply (no host-to-BMC link, no empty, broadcast or repeated
 * MAC).  Where discovery would make a node for a system nobody owns,
 * this names it as SMD does, <endpoint ID>n<index> (the xname ochami's
 * nodes.yaml gives it), and a node of that name made earlier (by a POST
 * of State/Components) takes the system's MACs and addresses.  A system
 * whose MACs belong to several nodes is refused (409), before anything is
 * written.
 *
 * SMD's endpoint ID (the BMC's xname) is kept as a setting
 * "smd.rfe.<address>:<port>"; a BMC Corral discovered itself has its
 * address as ID.  A password given is sealed into a credential
 * "smd-<ID>" as `corral credential set` would; without one the BMC uses
 * the credential named "default" if there is one.
 */
#include "ochami.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "bmcmatch.h"
#include "valid.h"

#define RFE_BASE "/hsm/v2/Inventory/RedfishEndpoints"

/* ---- the BMC a RedfishEndpoint describes ---------------------------------------- */

static int rfe_path_ok(const char *p)
{
	if (p == NULL || strncmp(p, "/redfish/v1/", 12) != 0 || strstr(p, "..") != NULL ||
	    strlen(p) >= 400)
		return 0;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/._-:@%+~", *p) != NULL))
			return 0;
	return 1;
}

/*
 * Splits "https://host:port/redfish/v1/…" (or a bare path) into its path,
 * and the scheme and port when the URI has them.
 */
static const char *rfe_uri_path(const char *uri, char *scheme, size_t slen, int *port)
{
	if (uri == NULL)
		return NULL;
	const char *p = strstr(uri, "://");
	if (p == NULL)
		return uri;
	snprintf(scheme, slen, "%.*s", (int)(p - uri) < 8 ? (int)(p - uri) : 7, uri);
	p += 3;
	const char *slash = strchr(p, '/');
	const char *colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
	long long v;
	char num[8];
	if (colon != NULL && slash != NULL && slash - colon - 1 > 0 && slash - colon - 1 < 6) {
		snprintf(num, sizeof(num), "%.*s", (int)(slash - colon - 1), colon + 1);
		if (valid_parse_ll(num, 1, 65535, &v) == 0)
			*port = (int)v;
	}
	return slash;
}

/* A BMC's address: an IP literal or a host name. */
static int rfe_address_ok(const char *a)
{
	if (a == NULL || a[0] == '\0' || strlen(a) > 253)
		return 0;
	if (valid_ip_literal(a) == 0)
		return 1;
	for (const char *p = a; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return 0;
	return a[0] != '-' && a[0] != '.';
}

static int rfe_ci_contains(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; s != NULL && *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return 1;
	return 0;
}

/*
 * The MACs of a system's ethernet_interfaces that discovery would take
 * (the same rules as redfish.c: no host-to-BMC link by name or
 * link-local address, no empty, broadcast or repeated MAC); ips gets the
 * interface address of each (or null).
 */
static void rfe_system_macs(json_t *sys, json_t *macs, json_t *ips)
{
	size_t i, k;
	json_t *eth, *m;
	json_array_foreach(ochami_get(sys, "ethernet_interfaces"), i, eth) {
		const char *name = ochami_str(eth, "name");
		const char *desc = ochami_str(eth, "description");
		const char *raw = ochami_str(eth, "mac");
		const char *ip = ochami_str(eth, "ip");
		char mac[VALID_MAC_LEN + 1];
		int skip = 0;
		const char *words[] = {"manager", "usb", "host interface", "bmc"};
		for (int w = 0; w < 4; w++)
			skip |= rfe_ci_contains(name, words[w]) || rfe_ci_contains(desc, words[w]);
		if (skip || (ip && strncmp(ip, "169.254.", 8) == 0) || raw == NULL ||
		    valid_mac_normalize(raw, mac) < 0 || strcmp(mac, "00:00:00:00:00:00") == 0 ||
		    strcmp(mac, "ff:ff:ff:ff:ff:ff") == 0)
			continue;
		json_array_foreach(macs, k, m)
			if (strcmp(json_string_value(m), mac) == 0)
				skip = 1;
		if (skip)
			continue;
		json_array_append_new(macs, json_string(mac));
		json_array_append_new(ips,
				      ip && valid_ipv4(ip) == 0 ? json_string(ip) : json_null());
	}
}

/* A short text member (as redfish.c's rf_str keeps them), or NULL. */
static const char *rfe_text(json_t *o, const char *key)
{
	const char *v = ochami_str(o, key);
	return v != NULL && v[0] != '\0' && strlen(v) < 200 ? v : NULL;
}

/* One Systems[] entry as discovery records a system. */
static json_t *rfe_system(struct http_req *r, json_t *sys, size_t idx, char *scheme, size_t slen,
			  int *port)
{
	char fallback[48];
	const char *path = rfe_uri_path(ochami_str(sys, "uri"), scheme, slen, port);
	if (path == NULL) {
		snprintf(fallback, sizeof(fallback), "/redfish/v1/Systems/%zu", idx);
		path = fallback;
	}
	if (!rfe_path_ok(path)) {
		ochami_fail(r, 400, "couldn't validate endpoint data: Systems[%zu].uri", idx);
		return NULL;
	}
	json_t *macs = json_array(), *ips = json_array();
	rfe_system_macs(sys, macs, ips);
	/* reset types as redfish.c reads them: strings (it compares them) */
	json_t *resets = json_array();
	size_t k;
	json_t *v;
	json_array_foreach(ochami_get(sys, "actions"), k, v)
		if (json_is_string(v) && json_string_length(v) < 64 && json_array_size(resets) < 32)
			json_array_append(resets, v);
	const char *ps = rfe_text(ochami_get(sys, "power"), "state");
	json_t *s = json_pack("{s:s, s:o, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:n, s:[]}", "path",
			      path, "macs", macs, "uuid", rfe_text(sys, "uuid"), "serial",
			      rfe_text(sys, "serial"), "model", rfe_text(sys, "model"),
			      "manufacturer", rfe_text(sys, "manufacturer"), "power_state", ps,
			      "reset_types", resets, "reset_target", "boot_targets");
	if (ps != NULL) { /* as discovery: when the state was read */
		char t[40];
		store_time_str(store_now_us(), t, sizeof(t));
		json_object_set_new(s, "power_checked", json_string(t));
	}
	json_object_set_new(s, "_ips", ips); /* for the node-side addresses; dropped before store */
	return s;
}

/* A RedfishEndpoint body into a BMC object as discovery makes one. */
static json_t *rfe_bmc(struct http_req *r, json_t *rfe, const char *id)
{
	char scheme[8] = "https", addr[256];
	int port = 443;
	const char *a = ochami_str(rfe, "IPAddress");
	if (a == NULL || a[0] == '\0')
		a = ochami_str(rfe, "FQDN");
	if (a == NULL || a[0] == '\0')
		a = ochami_str(rfe, "Hostname");
	if (a == NULL || a[0] == '\0')
		a = id;
	const char *host = strstr(a, "://") ? strstr(a, "://") + 3 : a;
	snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(host, ":/"), host);
	if (!rfe_address_ok(addr)) {
		ochami_fail(r, 400, "couldn't validate endpoint data: bad address %.80s", a);
		return NULL;
	}
	const char *rawmac = ochami_str(rfe, "MACAddr");
	json_t *mgr = json_array_get(ochami_get(rfe, "Managers"), 0);
	char mac[VALID_MAC_LEN + 1] = "";
	if (rawmac == NULL || rawmac[0] == '\0')
		rawmac = ochami_str(json_array_get(ochami_get(mgr, "ethernet_interfaces"), 0),
				    "mac");
	if (rawmac != NULL && rawmac[0] != '\0' && valid_mac_normalize(rawmac, mac) < 0) {
		ochami_fail(r, 400, "couldn't validate endpoint data: bad MACAddr %.40s", rawmac);
		return NULL;
	}
	json_t *systems = json_array();
	size_t i;
	json_t *sys;
	json_array_foreach(ochami_get(rfe, "Systems"), i, sys) {
		json_t *s = rfe_system(r, sys, i, scheme, sizeof(scheme), &port);
		if (s == NULL) {
			json_decref(systems);
			return NULL;
		}
		json_array_append_new(systems, s);
	}
	(void)rfe_uri_path(ochami_str(mgr, "uri"), scheme, sizeof(scheme), &port);
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		snprintf(scheme, sizeof(scheme), "https");
	const char *uuid = ochami_str(rfe, "UUID");
	if (uuid == NULL || uuid[0] == '\0' ||
	    strcmp(uuid, "00000000-0000-0000-0000-000000000000") == 0)
		uuid = ochami_str(mgr, "uuid");
	return json_pack(
		"{s:s, s:i, s:s, s:b, s:s, s:s, s:s, s:s?, s:n, s:s?, s:s?, s:s?, s:s, s:o}",
		"address", addr, "port", port, "scheme", scheme, "insecure", 0, "credential", "",
		"status", "ok", "message", "registered through SMD's RedfishEndpoints", "mac",
		mac[0] ? mac : NULL, "vendor", "model", rfe_text(mgr, "model"), "uuid",
		uuid && uuid[0] && strlen(uuid) < 200 ? uuid : NULL, "firmware",
		rfe_text(mgr, "firmware_version"), "auth", "basic", "systems", systems);
}

/* ---- SMD's endpoint ID ------------------------------------------------------------ */

static void rfe_key(json_t *bmc, char *out, size_t len)
{
	snprintf(out, len, "smd.rfe.%s:%lld", json_string_value(json_object_get(bmc, "address")),
		 (long long)json_integer_value(json_object_get(bmc, "port")));
}

/* The endpoint ID of a stored BMC into out: the one SMD was given, else its address. */
static void rfe_id_of(struct app *a, json_t *bmc, char *out, size_t len)
{
	char key[320], *v = NULL;
	rfe_key(bmc, key, sizeof(key));
	if (store_setting_get(a->store, key, &v) == 0 && v != NULL && v[0] != '\0')
		snprintf(out, len, "%s", v);
	else
		snprintf(out, len, "%s", json_string_value(json_object_get(bmc, "address")));
	free(v);
}

/* The stored BMC whose endpoint ID is id (a new reference), or NULL. */
static json_t *rfe_find(struct app *a, json_t *bmcs, const char *id)
{
	size_t i;
	json_t *b;
	json_array_foreach(bmcs, i, b) {
		char bid[256];
		rfe_id_of(a, b, bid, sizeof(bid));
		if (strcmp(bid, id) == 0)
			return json_incref(b);
	}
	return NULL;
}

/* SMD's RedfishEndpoint for a stored BMC. */
static json_t *rfe_json(struct app *a, json_t *bmc, json_t *creds)
{
	char id[256];
	rfe_id_of(a, bmc, id, sizeof(id));
	const char *addr = json_string_value(json_object_get(bmc, "address"));
	const char *cred = json_string_value(json_object_get(bmc, "credential"));
	const char *status = json_string_value(json_object_get(bmc, "status"));
	const char *user = "";
	size_t i;
	json_t *c;
	json_array_foreach(creds, i, c)
		if (cred && strcmp(cred, json_string_value(json_object_get(c, "name"))) == 0)
			user = json_string_value(json_object_get(c, "username")) ?: "";
	int is_ip = valid_ip_literal(addr) == 0;
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:O, s:s, s:s, s:b, s:b, s:O, s:s, s:b, "
		"s:{s:O, s:s}}",
		"ID", id, "Type", "NodeBMC", "Name", "", "Hostname", is_ip ? "" : addr, "Domain",
		"", "FQDN", addr, "Enabled", 1, "UUID", json_object_get(bmc, "uuid"), "User", user,
		"Password", "", "UseSSDP", 0, "MACRequired", 0, "MACAddr",
		json_object_get(bmc, "mac"), "IPAddress", is_ip ? addr : "", "RediscoverOnUpdate",
		0, "DiscoveryInfo", "LastDiscoveryAttempt", json_object_get(bmc, "last_seen"),
		"LastDiscoveryStatus",
		status && strcmp(status, "ok") == 0          ? "DiscoverOK" :
		status && strcmp(status, "auth_failed") == 0 ? "HTTPsGetFailed" :
							       "EndpointInvalid");
}

/* ---- registering ------------------------------------------------------------------ */

/* The node named name among the writes so far, else a copy of the stored one, else new. */
static json_t *rfe_node_for(const struct ochami_inv *inv, json_t *nodes, const char *name)
{
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n)
		if (strcmp(json_string_value(json_object_get(n, "name")), name) == 0)
			return n;
	json_t *cur = ochami_inv_by_name(inv, name);
	n = cur ? json_deep_copy(cur) : ochami_node_new(name);
	json_array_append_new(nodes, n);
	return n;
}

/*
 * Links the systems of bmc to nodes as SMD names them (see the top of the
 * file); the node writes go into nodes.  0, or -EINVAL after a 409 when a
 * system's MACs belong to several nodes.
 */
static int rfe_link_nodes(struct http_req *r, const struct ochami_inv *inv, json_t *bmc,
			  const char *id, json_t *nodes)
{
	size_t i, k;
	json_t *sys, *m;
	json_array_foreach(json_object_get(bmc, "systems"), i, sys) {
		json_t *macs = json_object_get(sys, "macs");
		json_t *ips = json_incref(json_object_get(sys, "_ips"));
		json_object_del(sys, "_ips");
		json_t *owner = NULL;
		const char *other = NULL;
		json_array_foreach(macs, k, m) {
			json_t *n = ochami_inv_by_mac(inv, json_string_value(m));
			if (n != NULL && owner != NULL && n != owner)
				other = json_string_value(json_object_get(n, "name"));
			else if (n != NULL)
				owner = n;
		}
		if (other != NULL) {
			json_decref(ips);
			return ochami_fail(
				r, 409,
				"operation would conflict: the MACs of system %s belong to "
				"nodes %s and %s",
				json_string_value(json_object_get(sys, "path")),
				json_string_value(json_object_get(owner, "name")), other);
		}
		char name[80];
		snprintf(name, sizeof(name), "%sn%zu", id, i);
		if (owner == NULL && json_array_size(macs) > 0 && valid_name(name) == 0) {
			json_t *n = rfe_node_for(inv, nodes, name);
			json_array_foreach(macs, k, m)
				json_array_append_new(json_object_get(n, "interfaces"),
						      json_pack("{s:O, s:O}", "mac", m, "ip",
								json_array_get(ips, k)));
			json_object_set_new(sys, "hostname", json_string(name));
		}
		json_decref(ips);
	}
	return 0;
}

/* The credential the BMC uses: a given password sealed as smd-<ID>, else "default". */
static int rfe_credential(struct http_req *r, json_t *rfe, json_t *bmc, const char *id)
{
	struct app *a = r->ctx;
	const char *user = ochami_str(rfe, "User");
	const char *pass = ochami_str(rfe, "Password");
	char name[64];
	if (user != NULL && user[0] != '\0' && pass != NULL && pass[0] != '\0') {
		unsigned char sealed[256 + AUTH_SEAL_OVERHEAD];
		size_t len;
		if (strlen(user) > 127 || strlen(pass) > 255)
			return ochami_fail(r, 400, "User or Password too long");
		snprintf(name, sizeof(name), "smd-%.59s", id);
		int rc = auth_seal(a->seed_key, pass, sealed, sizeof(sealed), &len);
		if (rc == 0)
			rc = store_cred_put(a->store, name, user, sealed, len);
		if (rc < 0) {
			ochami_store_error(r, rc, NULL, "credential", name);
			return rc;
		}
		json_object_set_new(bmc, "credential", json_string(name));
		return 0;
	}
	json_t *creds = NULL;
	if (store_cred_list(a->store, &creds) == 0) {
		size_t i;
		json_t *c;
		json_array_foreach(creds, i, c)
			if (strcmp(json_string_value(json_object_get(c, "name")), "default") == 0)
				json_object_set_new(bmc, "credential", json_string("default"));
	}
	json_decref(creds);
	return 0;
}

/* Validates one RedfishEndpoint into a BMC and its node writes; NULL after an answer. */
static json_t *rfe_prepare(struct http_req *r, const struct ochami_inv *inv, json_t *bmcs,
			   json_t *rfe, const char *url_id, json_t *nodes)
{
	struct app *a = r->ctx;
	const char *id = ochami_str(rfe, "ID");
	if (url_id != NULL && id != NULL && id[0] != '\0' && strcmp(id, url_id) != 0) {
		ochami_fail(r, 400, "xname in URL and PUT body do not match");
		return NULL;
	}
	if (url_id != NULL)
		id = url_id;
	if (id == NULL || valid_name(id) < 0) {
		ochami_fail(r, 400, "couldn't validate endpoint data: bad ID %.80s",
			    id ? id : "(none)");
		return NULL;
	}
	json_t *bmc = rfe_bmc(r, rfe, id);
	if (bmc == NULL)
		return NULL;
	json_t *same = rfe_find(a, bmcs, id);
	size_t i;
	json_t *b;
	json_array_foreach(bmcs, i, b) {
		if (url_id == NULL &&
		    (same != NULL ||
		     (strcmp(json_string_value(json_object_get(b, "address")),
			     json_string_value(json_object_get(bmc, "address"))) == 0 &&
		      json_integer_value(json_object_get(b, "port")) ==
			      json_integer_value(json_object_get(bmc, "port"))))) {
			ochami_fail(r, 409,
				    "operation would conflict with an existing resource that has "
				    "the same FQDN or xname ID.");
			json_decref(same);
			json_decref(bmc);
			return NULL;
		}
	}
	json_decref(same);
	if (rfe_link_nodes(r, inv, bmc, id, nodes) < 0) {
		json_decref(bmc);
		return NULL;
	}
	return bmc;
}

/*
 * Writes what rfe_prepare made: the nodes in one transaction, then each
 * BMC as discovery records it, its credential and its endpoint ID.
 */
static int rfe_store(struct http_req *r, json_t *rfes, json_t *prepared, json_t *ids, json_t *nodes,
		     const char *replace_id, json_t *bmcs)
{
	struct app *a = r->ctx;
	int rc = ochami_nodes_write(r, nodes);
	if (rc < 0)
		return rc;
	size_t i;
	json_t *bmc;
	json_array_foreach(prepared, i, bmc) {
		const char *id = json_string_value(json_array_get(ids, i));
		json_t *old = replace_id ? rfe_find(a, bmcs, replace_id) : NULL;
		if (old != NULL) /* PUT: the endpoint moved or is rewritten whole */
			(void)store_bmc_delete(a->store,
					       json_string_value(json_object_get(old, "address")));
		json_decref(old);
		if (rfe_credential(r, json_array_get(rfes, i), bmc, id) < 0)
			return -EINVAL;
		json_t *report = json_pack("{s:[], s:[], s:[]}", "nodes_created", "nodes_updated",
					   "conflicts");
		rc = bmcmatch_record(a->store, bmc, report);
		json_decref(report);
		char key[320];
		rfe_key(bmc, key, sizeof(key));
		if (rc == 0)
			rc = store_setting_set(a->store, key, id);
		if (rc < 0) {
			ochami_store_error(r, rc, NULL, "BMC", id);
			return rc;
		}
	}
	return 0;
}

/* POST (url_id NULL) of one endpoint or {"RedfishEndpoints":[…]}, or PUT of one. */
static int rfe_register(struct http_req *r, json_t *body, const char *url_id)
{
	struct app *a = r->ctx;
	struct ochami_inv inv;
	json_t *list = ochami_get(body, "RedfishEndpoints");
	json_t *rfes =
		json_is_array(list) && url_id == NULL ? json_incref(list) : json_pack("[O]", body);
	json_t *bmcs = NULL, *prepared = json_array(), *ids = json_array(), *nodes = json_array();
	int rc = store_bmc_list(a->store, &bmcs);
	if (rc < 0)
		ochami_store_error(r, rc, NULL, "BMC", "");
	else if ((rc = ochami_inv_load(r, &inv)) == 0) {
		size_t i;
		json_t *rfe;
		json_array_foreach(rfes, i, rfe) {
			json_t *bmc = json_is_object(rfe) ?
					      rfe_prepare(r, &inv, bmcs, rfe, url_id, nodes) :
					      NULL;
			if (bmc == NULL) {
				if (!json_is_object(rfe))
					ochami_fail(r, 400, "couldn't validate endpoint data");
				rc = -EINVAL;
				break;
			}
			json_array_append_new(prepared, bmc);
			json_array_append_new(ids,
					      json_string(url_id ? url_id : ochami_str(rfe, "ID")));
		}
		ochami_inv_clear(&inv);
		if (rc == 0 && json_array_size(rfes) == 0)
			rc = ochami_fail(r, 400, "no RedfishEndpoints given");
		if (rc == 0)
			rc = rfe_store(r, rfes, prepared, ids, nodes, url_id, bmcs);
	}
	if (rc == 0 && url_id == NULL) {
		char uri[320];
		snprintf(uri, sizeof(uri), RFE_BASE "/%s",
			 json_string_value(json_array_get(ids, 0)));
		rc = ochami_created(r, uri, true);
	} else if (rc == 0) {
		json_t *now = NULL, *creds = NULL, *b = NULL;
		if (store_bmc_list(a->store, &now) == 0 && (b = rfe_find(a, now, url_id)) != NULL &&
		    store_cred_list(a->store, &creds) == 0)
			rc = http_reply_json(r, 200, rfe_json(a, b, creds));
		else
			rc = ochami_store_error(r, -EIO, NULL, "BMC", url_id);
		json_decref(now);
		json_decref(creds);
		json_decref(b);
	}
	json_decref(rfes);
	json_decref(bmcs);
	json_decref(prepared);
	json_decref(ids);
	json_decref(nodes);
	return rc;
}

/* ---- handlers -------------------------------------------------------------------------- */

/* GET with ?id=, ?fqdn=, ?ipaddress=, ?macaddr= filters; DELETE of every endpoint. */
static int rfe_list_get(struct http_req *r, json_t *bmcs, json_t *creds)
{
	struct app *a = r->ctx;
	const char *qid = http_query(r, "id"), *qfqdn = http_query(r, "fqdn");
	const char *qip = http_query(r, "ipaddress"), *qmac = http_query(r, "macaddr");
	json_t *out = json_array();
	size_t i;
	json_t *b;
	json_array_foreach(bmcs, i, b) {
		json_t *e = rfe_json(a, b, creds);
		const char *mac = ochami_str(e, "MACAddr");
		if ((qid && strcmp(qid, ochami_str(e, "ID"))) ||
		    (qfqdn && strcmp(qfqdn, ochami_str(e, "FQDN"))) ||
		    (qip && strcmp(qip, ochami_str(e, "IPAddress"))) ||
		    (qmac && (!mac || strcasecmp(qmac, mac)))) {
			json_decref(e);
			continue;
		}
		json_array_append_new(out, e);
	}
	return http_reply_json(r, 200, json_pack("{s:o}", "RedfishEndpoints", out));
}

static int rfe_delete(struct app *a, json_t *b)
{
	char key[320];
	rfe_key(b, key, sizeof(key));
	int rc = store_bmc_delete(a->store, json_string_value(json_object_get(b, "address")));
	if (rc == 0)
		(void)store_setting_set(a->store, key, ""); /* no ID any more */
	return rc;
}

int ochami_rfe_list(struct http_req *r)
{
	struct app *a = r->ctx;
	if (r->method_id == HTTP_POST) {
		json_t *body = ochami_body(r, false);
		if (body != NULL)
			(void)rfe_register(r, body, NULL);
		json_decref(body);
		return 0;
	}
	json_t *bmcs = NULL, *creds = NULL;
	int rc = store_bmc_list(a->store, &bmcs);
	if (rc == 0)
		rc = store_cred_list(a->store, &creds);
	if (rc < 0) {
		json_decref(bmcs);
		return ochami_store_error(r, rc, NULL, "BMC", "");
	}
	if (r->method_id == HTTP_DELETE) {
		size_t i, n = 0;
		json_t *b;
		json_array_foreach(bmcs, i, b)
			n += rfe_delete(a, b) == 0;
		char msg[64];
		snprintf(msg, sizeof(msg), "deleted %zu entries", n);
		rc = n == 0 ? http_reply_error(r, 404, "not_found", NULL, "no entries to delete") :
			      ochami_smd_message(r, 200, msg);
	} else {
		rc = rfe_list_get(r, bmcs, creds);
	}
	json_decref(bmcs);
	json_decref(creds);
	return rc;
}

int ochami_rfe_one(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *id = r->args[0];
	if (r->method_id == HTTP_PUT) {
		json_t *body = ochami_body(r, false);
		if (body != NULL)
			(void)rfe_register(r, body, id);
		json_decref(body);
		return 0;
	}
	json_t *bmcs = NULL, *creds = NULL;
	int rc = store_bmc_list(a->store, &bmcs);
	if (rc == 0)
		rc = store_cred_list(a->store, &creds);
	if (rc < 0) {
		json_decref(bmcs);
		return ochami_store_error(r, rc, NULL, "BMC", id);
	}
	json_t *b = rfe_find(a, bmcs, id);
	if (b == NULL)
		rc = http_reply_error(r, 404, "not_found", NULL, "no such xname.");
	else if (r->method_id == HTTP_DELETE)
		rc = rfe_delete(a, b) < 0 ? ochami_store_error(r, -EIO, NULL, "BMC", id) :
					    ochami_smd_message(r, 200, "deleted 1 entry");
	else
		rc = http_reply_json(r, 200, rfe_json(a, b, creds));
	json_decref(b);
	json_decref(bmcs);
	json_decref(creds);
	return rc;
}
