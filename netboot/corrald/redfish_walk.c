/*
 * redfish_walk: discovery of one BMC.  From its service root the walk
 * follows Systems (each system's EthernetInterfaces, else its
 * NetworkInterfaces → adapters → device functions), Managers and Chassis,
 * building the probe's BMC record: the systems with their MACs in the
 * BMC's member order, the BMC's own MAC, model and firmware.  See
 * redfish_int.h.
 *
 * Security: every value taken from a reply is bounded (rf_str) or
 * normalised (MACs); member lists are capped; links go through rf_link.
 */
#include "redfish_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "valid.h"

static void rf_members(struct redfish *rf, struct rf_probe *p, json_t *coll, enum rf_kind kind,
		       size_t sys, size_t max)
{
	size_t i;
	json_t *m;
	long base = p->next_order;
	json_array_foreach(json_object_get(coll, "Members"), i, m) {
		if (i >= max)
			break;
		p->next_order = base * 128 + (long)i;
		rf_get(rf, p, kind, sys, rf_link(m, NULL));
	}
	p->next_order = base;
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
 * Adds an interface's MAC to system sys unless it is no host NIC: the
 * host-to-BMC link (named for the manager, USB or "host interface", or
 * link-local only), an empty or broadcast MAC, or a repeat (VLANs).
 */
static void rf_add_mac(struct rf_probe *p, size_t sys, long order, json_t *nic, json_t *eth)
{
	json_t *s = json_array_get(json_object_get(p->bmc, "systems"), sys);
	if (s == NULL)
		return;
	const char *names[] = {json_string_value(json_object_get(nic, "Id")),
			       json_string_value(json_object_get(nic, "Name")),
			       json_string_value(json_object_get(nic, "Description"))};
	for (int i = 0; i < 3; i++)
		if (rf_ci_contains(names[i], "manager") || rf_ci_contains(names[i], "usb") ||
		    rf_ci_contains(names[i], "host interface") || rf_ci_contains(names[i], "bmc"))
			return;
	if (json_is_false(json_object_get(nic, "InterfaceEnabled")))
		return; /* a disabled port (often the host-to-BMC link) */
	size_t k;
	json_t *a;
	size_t naddr = 0, linklocal = 0;
	json_array_foreach(json_object_get(nic, "IPv4Addresses"), k, a) {
		const char *ip = json_string_value(json_object_get(a, "Address"));
		if (ip == NULL || ip[0] == '\0')
			continue;
		naddr++;
		if (strncmp(ip, "169.254.", 8) == 0)
			linklocal++;
	}
	if (naddr > 0 && naddr == linklocal)
		return;
	char mac[VALID_MAC_LEN + 1];
	if (rf_mac(eth, mac) < 0)
		return;
	if (strcmp(mac, "00:00:00:00:00:00") == 0 || strcmp(mac, "ff:ff:ff:ff:ff:ff") == 0)
		return;
	json_t *macs = json_object_get(s, "macs");
	json_array_foreach(macs, k, a)
		if (strcmp(json_string_value(a), mac) == 0)
			return; /* a VLAN or a second view of the same port */
	json_array_append_new(macs, json_string(mac));
	json_array_append_new(json_object_get(s, "_order"), json_integer(order));
}

static json_t *rf_allowable(json_t *obj, const char *key)
{
	char name[96];
	if (buf_fmt(name, sizeof(name), "%s@Redfish.AllowableValues", key) < 0)
		return json_array(); /* our keys all fit */
	json_t *v = json_object_get(obj, name);
	return json_is_array(v) ? json_deep_copy(v) : json_array();
}

void rf_root_links(struct redfish *rf, struct rf_probe *p, json_t *j)
{
	rf_get(rf, p, RQ_SYSTEMS, 0, rf_link(j, "Systems"));
	rf_get(rf, p, RQ_MANAGERS, 0, rf_link(j, "Managers"));
	rf_get(rf, p, RQ_CHASSIS, 0, rf_link(j, "Chassis"));
	/* An enclosure manager, switch or PDU speaks Redfish too: a BMC that
	 * answered, with nothing to boot.  Said, not an error. */
	if (rf_link(j, "Systems") == NULL && !p->failed)
		json_object_set_new(p->bmc, "message",
				    json_string("no Systems: not a server's BMC, so no nodes"));
}

/* The service root: the BMC's identity, then its links (after a login if by session). */
static void rf_walk_root(struct redfish *rf, struct rf_probe *p, json_t *j)
{
	rf_count(p->job->result, "found");
	rf_str(p->bmc, "uuid", j, "UUID");
	rf_str(p->bmc, "redfish_version", j, "RedfishVersion");
	rf_str(p->bmc, "vendor", j, "Vendor");
	if (json_is_null(json_object_get(p->bmc, "vendor")))
		rf_str(p->bmc, "vendor", j, "Product");
	json_object_set_new(p->bmc, "status", json_string("ok"));
	if (p->session) {
		/* Log in first; the walk goes on when the token arrives. */
		p->root = json_incref(j);
		rf_login(rf, p, j);
		return;
	}
	rf_root_links(rf, p, j);
}

/* One ComputerSystem: its record, then its NICs (and reset types if not inline). */
static void rf_walk_system(struct redfish *rf, struct rf_probe *p, struct rf_req *q, json_t *j)
{
	json_t *systems = json_object_get(p->bmc, "systems");
	json_t *s = json_pack("{s:s, s:[], s:[], s:I}", "path", q->path, "macs", "_order",
			      "_sys_order", (json_int_t)q->order);
	rf_str(s, "uuid", j, "UUID");
	rf_str(s, "serial", j, "SerialNumber");
	rf_str(s, "model", j, "Model");
	rf_str(s, "manufacturer", j, "Manufacturer");
	rf_str(s, "power_state", j, "PowerState");
	if (json_object_get(s, "power_state") != NULL) {
		char t[40];
		store_time_str(store_now_us(), t, sizeof(t));
		json_object_set_new(s, "power_checked", json_string(t));
	}
	rf_str(s, "hostname", j, "HostName");
	json_t *reset = json_object_get(json_object_get(j, "Actions"), "#ComputerSystem.Reset");
	json_object_set_new(s, "reset_types", rf_allowable(reset, "ResetType"));
	json_object_set_new(s, "reset_target",
			    rf_path_ok(json_string_value(json_object_get(reset, "target"))) ?
				    json_incref(json_object_get(reset, "target")) :
				    json_null());
	json_object_set_new(s, "boot_targets",
			    rf_allowable(json_object_get(j, "Boot"), "BootSourceOverrideTarget"));
	size_t idx = json_array_size(systems);
	json_array_append_new(systems, s);
	/* Some BMCs list the reset types only in an ActionInfo resource. */
	const char *info = json_string_value(json_object_get(reset, "@Redfish.ActionInfo"));
	if (json_array_size(json_object_get(s, "reset_types")) == 0 && rf_path_ok(info))
		rf_get(rf, p, RQ_ACTIONINFO, idx, info);
	if (rf_link(j, "EthernetInterfaces") != NULL)
		rf_get(rf, p, RQ_ETH_COLL, idx, rf_link(j, "EthernetInterfaces"));
	else if (rf_link(j, "NetworkInterfaces") != NULL)
		rf_get(rf, p, RQ_NETIF_COLL, idx, rf_link(j, "NetworkInterfaces"));
}

void rf_walk(struct redfish *rf, struct rf_req *q, json_t *j)
{
	struct rf_probe *p = q->probe;
	json_t *systems = json_object_get(p->bmc, "systems");
	p->next_order = q->order; /* what this reply links to sorts under it */
	switch (q->kind) {
	case RQ_ROOT:
		rf_walk_root(rf, p, j);
		break;
	case RQ_SYSTEMS:
		rf_members(rf, p, j, RQ_SYSTEM, 0, 64);
		break;
	case RQ_SYSTEM:
		rf_walk_system(rf, p, q, j);
		break;
	case RQ_ETH_COLL:
		rf_members(rf, p, j, RQ_ETH, q->sys, 64);
		break;
	case RQ_ETH:
		rf_add_mac(p, q->sys, q->order, j, j);
		break;
	case RQ_NETIF_COLL:
		rf_members(rf, p, j, RQ_NETIF, q->sys, 64);
		break;
	case RQ_NETIF:
		rf_get(rf, p, RQ_ADAPTER, q->sys,
		       rf_link(json_object_get(j, "Links"), "NetworkAdapter"));
		break;
	case RQ_ADAPTER:
		rf_get(rf, p, RQ_NDF_COLL, q->sys, rf_link(j, "NetworkDeviceFunctions"));
		break;
	case RQ_NDF_COLL:
		rf_members(rf, p, j, RQ_NDF, q->sys, 64);
		break;
	case RQ_NDF:
		rf_add_mac(p, q->sys, q->order, j, json_object_get(j, "Ethernet"));
		break;
	case RQ_MANAGERS:
		rf_members(rf, p, j, RQ_MANAGER, 0, 1);
		break;
	case RQ_MANAGER:
		if (json_is_null(json_object_get(p->bmc, "model")))
			rf_str(p->bmc, "model", j, "Model");
		rf_str(p->bmc, "firmware", j, "FirmwareVersion");
		rf_get(rf, p, RQ_MGR_ETH_COLL, 0, rf_link(j, "EthernetInterfaces"));
		break;
	case RQ_MGR_ETH_COLL:
		rf_members(rf, p, j, RQ_MGR_ETH, 0, 1);
		break;
	case RQ_MGR_ETH: {
		char mac[VALID_MAC_LEN + 1];
		if (rf_mac(j, mac) == 0)
			json_object_set_new(p->bmc, "mac", json_string(mac));
		break;
	}
	case RQ_ACTIONINFO: {
		json_t *sys = json_array_get(systems, q->sys);
		size_t k;
		json_t *par;
		json_array_foreach(json_object_get(j, "Parameters"), k, par) {
			const char *name = json_string_value(json_object_get(par, "Name"));
			json_t *vals = json_object_get(par, "AllowableValues");
			if (sys != NULL && name != NULL && strcmp(name, "ResetType") == 0 &&
			    json_is_array(vals))
				json_object_set_new(sys, "reset_types", json_deep_copy(vals));
		}
		break;
	}
	case RQ_CHASSIS:
		json_object_set_new(
			p->bmc, "chassis",
			json_integer((json_int_t)json_array_size(json_object_get(j, "Members"))));
		break;
	default:
		break;
	}
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
