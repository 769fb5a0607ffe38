/*
 * redfish_walk: discovery of one BMC.  From its service root the walk
 * follows Systems (each system's EthernetInterfaces, else its
 * NetworkInterfaces → adapters → device functions), Managers and Chassis,
 * building the probe's BMC record: the systems with their MACs in the
 * BMC's member order, the BMC's own MAC, model and firmware.  See
 * redfish_int.h.
 *
 * Reading a reply is one pure function, redfish_reply_facts() (redfish.h):
 * the facts a reply gives and the links to follow, with no transfer or job
 * around it, so the rfreply fuzz target reaches all of it.  rf_walk()
 * applies what it returns to the probe and asks for the links.
 *
 * Security: every value taken from a reply is bounded (rf_str) or
 * normalised (MACs); member lists are capped; links go through rf_link.
 */
#include "redfish_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "valid.h"

/* ---- reading one reply (pure) ------------------------------------------ */

/* links += {"kind", "path"[, "member"]} when path is one we may follow. */
static int rf_link_add(json_t *links, enum redfish_kind kind, const char *path, long member)
{
	if (path == NULL)
		return 0;
	json_t *l = json_pack("{s:i, s:s}", "kind", (int)kind, "path", path);
	if (l != NULL && member >= 0)
		json_object_set_new(l, "member", json_integer(member));
	return l != NULL && json_array_append_new(links, l) == 0 ? 0 : -ENOMEM;
}

/* A collection's first max members, as links of kind. */
static int rf_members(json_t *coll, enum redfish_kind kind, size_t max, json_t *links)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(coll, "Members"), i, m) {
		if (i >= max)
			break;
		if (rf_link_add(links, kind, rf_link(m, NULL), (long)i) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int rf_ci_contains(const char *s, const char *needle)
{
	if (s == NULL)
		return 0;
	size_t n = strlen(needle);
	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return 1;
	return 0;
}

/* An Ethernet resource's MAC (MACAddress, else PermanentMACAddress), normalised: 0 or -1. */
static int rf_mac(json_t *eth, char mac[VALID_MAC_LEN + 1])
{
	const char *raw = json_string_value(json_object_get(eth, "MACAddress"));
	if (raw != NULL && valid_mac_normalize(raw, mac) == 0)
		return 0;
	raw = json_string_value(json_object_get(eth, "PermanentMACAddress"));
	return raw != NULL && valid_mac_normalize(raw, mac) == 0 ? 0 : -1;
}

/*
 * Why an interface is no host NIC (NULL: it is one): the host-to-BMC link
 * (named for the manager, USB or "host interface", or link-local only), a
 * disabled port, or an empty or broadcast MAC.  The MAC into mac.
 */
static const char *rf_host_nic(json_t *nic, json_t *eth, char mac[VALID_MAC_LEN + 1])
{
	const char *names[] = {json_string_value(json_object_get(nic, "Id")),
			       json_string_value(json_object_get(nic, "Name")),
			       json_string_value(json_object_get(nic, "Description"))};
	for (int i = 0; i < 3; i++)
		if (rf_ci_contains(names[i], "manager") || rf_ci_contains(names[i], "usb") ||
		    rf_ci_contains(names[i], "host interface") || rf_ci_contains(names[i], "bmc"))
			return "the host-to-BMC link";
	if (json_is_false(json_object_get(nic, "InterfaceEnabled")))
		return "disabled (often the host-to-BMC link)";
	size_t k, naddr = 0, linklocal = 0;
	json_t *a;
	json_array_foreach(json_object_get(nic, "IPv4Addresses"), k, a) {
		const char *ip = json_string_value(json_object_get(a, "Address"));
		if (ip == NULL || ip[0] == '\0')
			continue;
		naddr++;
		if (strncmp(ip, "169.254.", 8) == 0)
			linklocal++;
	}
	if (naddr > 0 && naddr == linklocal)
		return "link-local addresses only";
	if (rf_mac(eth, mac) < 0)
		return "no usable MAC";
	if (strcmp(mac, "00:00:00:00:00:00") == 0 || strcmp(mac, "ff:ff:ff:ff:ff:ff") == 0)
		return "an empty or broadcast MAC";
	return NULL;
}

static int rf_nic_facts(json_t *nic, json_t *eth, json_t *facts)
{
	char mac[VALID_MAC_LEN + 1];
	const char *why = rf_host_nic(nic, eth, mac);
	json_object_set_new(facts, "mac", why ? json_null() : json_string(mac));
	if (why != NULL)
		json_object_set_new(facts, "skipped", json_string(why));
	return 0;
}

static json_t *rf_allowable(json_t *obj, const char *key)
{
	char name[96];
	if (buf_fmt(name, sizeof(name), "%s@Redfish.AllowableValues", key) < 0)
		return json_array(); /* our keys all fit */
	json_t *v = json_object_get(obj, name);
	return json_is_array(v) ? json_deep_copy(v) : json_array();
}

static int rf_root_facts(json_t *j, json_t *facts, json_t *links)
{
	rf_str(facts, "uuid", j, "UUID");
	rf_str(facts, "redfish_version", j, "RedfishVersion");
	rf_str(facts, "vendor", j, "Vendor");
	if (json_is_null(json_object_get(facts, "vendor")))
		rf_str(facts, "vendor", j, "Product");
	json_object_set_new(facts, "has_systems", json_boolean(rf_link(j, "Systems") != NULL));
	int rc = rf_link_add(links, REDFISH_SYSTEMS, rf_link(j, "Systems"), -1);
	if (rc == 0)
		rc = rf_link_add(links, REDFISH_MANAGERS, rf_link(j, "Managers"), -1);
	if (rc == 0)
		rc = rf_link_add(links, REDFISH_CHASSIS, rf_link(j, "Chassis"), -1);
	return rc;
}

/* One ComputerSystem: its record, then its NICs (and reset types if not inline). */
static int rf_system_facts(json_t *j, json_t *s, json_t *links)
{
	rf_str(s, "uuid", j, "UUID");
	rf_str(s, "serial", j, "SerialNumber");
	rf_str(s, "model", j, "Model");
	rf_str(s, "manufacturer", j, "Manufacturer");
	rf_str(s, "power_state", j, "PowerState");
	rf_str(s, "hostname", j, "HostName");
	json_t *reset = json_object_get(json_object_get(j, "Actions"), "#ComputerSystem.Reset");
	const char *target = json_string_value(json_object_get(reset, "target"));
	json_object_set_new(s, "reset_types", rf_allowable(reset, "ResetType"));
	json_object_set_new(s, "reset_target",
			    rf_path_ok(target) ? json_string(target) : json_null());
	json_object_set_new(s, "boot_targets",
			    rf_allowable(json_object_get(j, "Boot"), "BootSourceOverrideTarget"));
	int rc = 0;
	/* Some BMCs list the reset types only in an ActionInfo resource. */
	const char *info = json_string_value(json_object_get(reset, "@Redfish.ActionInfo"));
	if (json_array_size(json_object_get(s, "reset_types")) == 0 && rf_path_ok(info))
		rc = rf_link_add(links, REDFISH_ACTIONINFO, info, -1);
	if (rc == 0 && rf_link(j, "EthernetInterfaces") != NULL)
		rc = rf_link_add(links, REDFISH_ETH_COLL, rf_link(j, "EthernetInterfaces"), -1);
	else if (rc == 0)
		rc = rf_link_add(links, REDFISH_NETIF_COLL, rf_link(j, "NetworkInterfaces"), -1);
	return rc;
}

static int rf_actioninfo_facts(json_t *j, json_t *facts)
{
	size_t k;
	json_t *par;
	json_array_foreach(json_object_get(j, "Parameters"), k, par) {
		const char *name = json_string_value(json_object_get(par, "Name"));
		json_t *vals = json_object_get(par, "AllowableValues");
		if (name != NULL && strcmp(name, "ResetType") == 0 && json_is_array(vals))
			json_object_set_new(facts, "reset_types", json_deep_copy(vals));
	}
	return 0;
}

int redfish_reply_facts(enum redfish_kind kind, json_t *j, json_t *facts, json_t *links)
{
	char mac[VALID_MAC_LEN + 1];
	if (!json_is_object(j) || !json_is_object(facts) || !json_is_array(links))
		return -EINVAL;
	switch (kind) {
	case REDFISH_ROOT:
		return rf_root_facts(j, facts, links);
	case REDFISH_SYSTEMS:
		return rf_members(j, REDFISH_SYSTEM, REDFISH_MEMBERS_MAX, links);
	case REDFISH_SYSTEM:
		return rf_system_facts(j, facts, links);
	case REDFISH_ETH_COLL:
		return rf_members(j, REDFISH_ETH, REDFISH_MEMBERS_MAX, links);
	case REDFISH_ETH:
		return rf_nic_facts(j, j, facts);
	case REDFISH_NETIF_COLL:
		return rf_members(j, REDFISH_NETIF, REDFISH_MEMBERS_MAX, links);
	case REDFISH_NETIF:
		return rf_link_add(links, REDFISH_ADAPTER,
				   rf_link(json_object_get(j, "Links"), "NetworkAdapter"), -1);
	case REDFISH_ADAPTER:
		return rf_link_add(links, REDFISH_NDF_COLL, rf_link(j, "NetworkDeviceFunctions"),
				   -1);
	case REDFISH_NDF_COLL:
		return rf_members(j, REDFISH_NDF, REDFISH_MEMBERS_MAX, links);
	case REDFISH_NDF:
		return rf_nic_facts(j, json_object_get(j, "Ethernet"), facts);
	case REDFISH_MANAGERS:
		return rf_members(j, REDFISH_MANAGER, 1, links);
	case REDFISH_MANAGER:
		rf_str(facts, "model", j, "Model");
		rf_str(facts, "firmware", j, "FirmwareVersion");
		return rf_link_add(links, REDFISH_MGR_ETH_COLL, rf_link(j, "EthernetInterfaces"),
				   -1);
	case REDFISH_MGR_ETH_COLL:
		return rf_members(j, REDFISH_MGR_ETH, 1, links);
	case REDFISH_MGR_ETH:
		json_object_set_new(facts, "mac",
				    rf_mac(j, mac) == 0 ? json_string(mac) : json_null());
		return 0;
	case REDFISH_CHASSIS:
		json_object_set_new(
			facts, "chassis",
			json_integer((json_int_t)json_array_size(json_object_get(j, "Members"))));
		return 0;
	case REDFISH_ACTIONINFO:
		return rf_actioninfo_facts(j, facts);
	default:
		return -EINVAL;
	}
}

/* ---- the walk: what a reply says, applied to the probe ------------------ */

/* Asks for every link (members sort under the reply that listed them). */
static void rf_follow(struct redfish *rf, struct rf_probe *p, long base, size_t sys, json_t *links)
{
	size_t i;
	json_t *l;
	json_array_foreach(links, i, l) {
		json_t *member = json_object_get(l, "member");
		p->next_order = member ? base * 128 + (long)json_integer_value(member) : base;
		rf_get(rf, p, (enum rf_kind)json_integer_value(json_object_get(l, "kind")), sys,
		       json_string_value(json_object_get(l, "path")));
	}
	p->next_order = base;
}

/* A host NIC's MAC for system sys, unless it is already there (VLANs, a second view). */
static void rf_add_mac(struct rf_probe *p, size_t sys, long order, json_t *facts)
{
	json_t *s = json_array_get(json_object_get(p->bmc, "systems"), sys);
	const char *mac = json_string_value(json_object_get(facts, "mac"));
	if (s == NULL || mac == NULL)
		return;
	json_t *macs = json_object_get(s, "macs");
	size_t k;
	json_t *a;
	json_array_foreach(macs, k, a)
		if (strcmp(json_string_value(a), mac) == 0)
			return;
	json_array_append_new(macs, json_string(mac));
	json_array_append_new(json_object_get(s, "_order"), json_integer(order));
}

void rf_root_links(struct redfish *rf, struct rf_probe *p, json_t *j)
{
	json_t *facts = json_object(), *links = json_array();
	if (redfish_reply_facts(REDFISH_ROOT, j, facts, links) == 0)
		rf_follow(rf, p, p->next_order, 0, links);
	/* An enclosure manager, switch or PDU speaks Redfish too: a BMC that
	 * answered, with nothing to boot.  Said, not an error. */
	if (!json_is_true(json_object_get(facts, "has_systems")) && !p->failed)
		json_object_set_new(p->bmc, "message",
				    json_string("no Systems: not a server's BMC, so no nodes"));
	json_decref(facts);
	json_decref(links);
}

/* The service root: the BMC's identity, then its links (after a login if by session). */
static void rf_walk_root(struct redfish *rf, struct rf_probe *p, json_t *j, json_t *facts)
{
	rf_count(p->job->result, "found");
	static const char *const keys[] = {"uuid", "redfish_version", "vendor"};
	for (int i = 0; i < 3; i++)
		json_object_set(p->bmc, keys[i], json_object_get(facts, keys[i]));
	json_object_set_new(p->bmc, "status", json_string("ok"));
	if (p->session) {
		/* Log in first; the walk goes on when the token arrives. */
		p->root = json_incref(j);
		rf_login(rf, p, j);
		return;
	}
	rf_root_links(rf, p, j);
}

/* A new system record from its facts; its index into *idx. */
static void rf_walk_system(struct rf_probe *p, struct rf_req *q, json_t *facts, size_t *idx)
{
	json_t *systems = json_object_get(p->bmc, "systems");
	json_t *s = json_pack("{s:s, s:[], s:[], s:I}", "path", q->path, "macs", "_order",
			      "_sys_order", (json_int_t)q->order);
	char t[40];
	json_object_update(s, facts);
	store_time_str(store_now_us(), t, sizeof(t));
	json_object_set_new(s, "power_checked", json_string(t));
	*idx = json_array_size(systems);
	json_array_append_new(systems, s);
}

/* What one reply says, applied to the probe; which system its links are for. */
static size_t rf_walk_apply(struct rf_probe *p, struct rf_req *q, json_t *facts)
{
	json_t *sys = json_array_get(json_object_get(p->bmc, "systems"), q->sys);
	size_t idx = q->sys;
	switch (q->kind) {
	case RQ_SYSTEM:
		rf_walk_system(p, q, facts, &idx);
		break;
	case RQ_ETH:
	case RQ_NDF:
		rf_add_mac(p, q->sys, q->order, facts);
		break;
	case RQ_MANAGER:
		if (json_is_null(json_object_get(p->bmc, "model")))
			json_object_set(p->bmc, "model", json_object_get(facts, "model"));
		json_object_set(p->bmc, "firmware", json_object_get(facts, "firmware"));
		break;
	case RQ_MGR_ETH:
		if (json_is_string(json_object_get(facts, "mac")))
			json_object_set(p->bmc, "mac", json_object_get(facts, "mac"));
		break;
	case RQ_CHASSIS:
		json_object_set(p->bmc, "chassis", json_object_get(facts, "chassis"));
		break;
	case RQ_ACTIONINFO:
		if (sys != NULL && json_object_get(facts, "reset_types") != NULL)
			json_object_set(sys, "reset_types", json_object_get(facts, "reset_types"));
		break;
	default:
		break;
	}
	return idx;
}

void rf_walk(struct redfish *rf, struct rf_req *q, json_t *j)
{
	struct rf_probe *p = q->probe;
	json_t *facts = json_object(), *links = json_array();
	p->next_order = q->order; /* what this reply links to sorts under it */
	if (facts == NULL || links == NULL ||
	    redfish_reply_facts((enum redfish_kind)q->kind, j, facts, links) < 0) {
		rf_error(p, "%s: cannot read the reply", q->path);
	} else if (q->kind == RQ_ROOT) {
		rf_walk_root(rf, p, j, facts);
	} else {
		size_t sys = rf_walk_apply(p, q, facts);
		rf_follow(rf, p, q->order, sys, links);
	}
	json_decref(facts);
	json_decref(links);
}

static int rf_cmp_order(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t ox = json_integer_value(json_object_get(x, "_k"));
	json_int_t oy = json_integer_value(json_object_get(y, "_k"));
	return ox < oy ? -1 : ox > oy;
}

/* Sorts array items by their "_k" (stable enough: keys are unique) and strips it. */
static void rf_sort_by_k(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), rf_cmp_order);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++) {
		json_object_del(v[i], "_k");
		json_array_append_new(arr, v[i]);
	}
	free(v);
}

/*
 * Replies arrive in any order: put systems and each system's NICs back in
 * the BMC's member order, so the first NIC (the boot interface) and the
 * -s1/-s2 names are the same on every run.
 */
void rf_sort_systems(json_t *systems)
{
	size_t i;
	json_t *s;
	json_array_foreach(systems, i, s) {
		json_t *macs = json_object_get(s, "macs"), *order = json_object_get(s, "_order");
		json_t *pairs = json_array();
		size_t k;
		json_t *m;
		json_array_foreach(macs, k, m)
			json_array_append_new(pairs, json_pack("{s:O, s:O}", "mac", m, "_k",
							       json_array_get(order, k)));
		rf_sort_by_k(pairs);
		json_array_clear(macs);
		json_array_foreach(pairs, k, m)
			json_array_append(macs, json_object_get(m, "mac"));
		json_decref(pairs);
		json_object_del(s, "_order");
		json_object_set(s, "_k", json_object_get(s, "_sys_order"));
		json_object_del(s, "_sys_order");
	}
	rf_sort_by_k(systems);
}
