/*
 * bmcmatch: BMC systems to nodes, over the store's rows.  See bmcmatch.h.
 */
#include "bmcmatch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* snprintf that says when out was too small: 0 or -E2BIG. */
static int bmcmatch_fmt(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bmcmatch_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len ? 0 : -E2BIG;
}

enum bmcmatch_verdict bmcmatch_classify(const int64_t *owners, size_t n, int64_t *node)
{
	*node = 0;
	if (n == 0)
		return BMCMATCH_NO_MACS;
	for (size_t i = 0; i < n; i++) {
		if (owners[i] == 0)
			continue;
		if (*node == 0)
			*node = owners[i];
		else if (owners[i] != *node)
			return BMCMATCH_SPREAD;
	}
	return *node != 0 ? BMCMATCH_LINK : BMCMATCH_NEW;
}

static bool bmcmatch_usable_host(const char *host)
{
	if (host == NULL || host[0] == '\0' || strlen(host) >= 48)
		return false;
	for (const char *p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	return true;
}

int bmcmatch_base_name(const char *hostname, const char *address, size_t nsys, size_t idx,
		       char *out, size_t len)
{
	if (bmcmatch_usable_host(hostname))
		return bmcmatch_fmt(out, len, "%s", hostname);
	int rc = bmcmatch_fmt(out, len, "bmc-%.40s", address ? address : "x");
	if (rc < 0)
		return rc;
	for (char *p = out; *p; p++)
		if (*p == '.' || *p == ':')
			*p = '-';
	if (nsys <= 1)
		return 0;
	size_t n = strlen(out);
	return bmcmatch_fmt(out + n, len - n, "-s%zu", idx + 1);
}

/* The base name made unique among nodes with -2, -3, ... (up to -99). */
static int bmcmatch_name(struct store *st, json_t *bmc, json_t *sys, size_t nsys, size_t idx,
			 char *out, size_t len)
{
	char base[64];
	int64_t id;
	int rc = bmcmatch_base_name(json_string_value(json_object_get(sys, "hostname")),
				    json_string_value(json_object_get(bmc, "address")), nsys, idx,
				    base, sizeof(base));
	if (rc == 0)
		rc = bmcmatch_fmt(out, len, "%s", base);
	for (int k = 2; rc == 0 && k < 100; k++) {
		rc = store_node_id(st, out, &id);
		if (rc == -ENOENT)
			return 0;
		if (rc == 0)
			rc = bmcmatch_fmt(out, len, "%.56s-%d", base, k);
	}
	return rc; /* -99 is taken too: the put will say so */
}

/* The node owning each MAC (0: none) into owners. */
static int bmcmatch_owners(struct store *st, json_t *macs, int64_t *owners)
{
	size_t k;
	json_t *m;
	json_array_foreach(macs, k, m) {
		int rc = store_node_by_mac(st, json_string_value(m), &owners[k]);
		if (rc == -ENOENT)
			owners[k] = 0;
		else if (rc < 0)
			return rc;
	}
	return 0;
}

/* A new node for system idx; its id into *node. */
static int bmcmatch_create(struct store *st, json_t *bmc, size_t idx, json_t *report, int64_t *node)
{
	json_t *systems = json_object_get(bmc, "systems");
	json_t *sys = json_array_get(systems, idx);
	char name[64];
	int rc = bmcmatch_name(st, bmc, sys, json_array_size(systems), idx, name, sizeof(name));
	if (rc < 0)
		return rc;
	json_t *ifs = json_array();
	size_t k;
	json_t *m;
	json_array_foreach(json_object_get(sys, "macs"), k, m)
		json_array_append_new(ifs, json_pack("{s:O, s:n}", "mac", m, "ip"));
	json_t *n = json_pack(
		"{s:s, s:n, s:s, s:s, s:[], s:b, s:n, s:s, s:o, s:{s:O, s:s}, s:s, s:s}", "name",
		name, "nid", "arch", "x86_64", "role", "", "groups", "enabled", 1, "profile",
		"params", "", "interfaces", ifs, "metadata", "bmc", json_object_get(bmc, "address"),
		"system", json_string_value(json_object_get(sys, "path")), "user_data", "",
		"ipxe_efi", "snponly.efi");
	bool created;
	rc = n ? store_node_put(st, n, true, &created, NULL) : -ENOMEM;
	json_decref(n);
	if (rc < 0)
		return rc;
	json_array_append_new(json_object_get(report, "nodes_created"), json_string(name));
	return store_node_id(st, name, node);
}

/* Node id gets the system's MACs that no node has. */
static int bmcmatch_extend(struct store *st, int64_t id, json_t *macs, const int64_t *owners,
			   json_t *report)
{
	json_t *n = NULL;
	int rc = store_node_get_id(st, id, &n);
	if (rc < 0)
		return rc;
	json_t *ifs = json_object_get(n, "interfaces");
	size_t before = json_array_size(ifs), k;
	json_t *m;
	json_array_foreach(macs, k, m)
		if (owners[k] == 0)
			json_array_append_new(ifs, json_pack("{s:O, s:n}", "mac", m, "ip"));
	if (json_array_size(ifs) != before) {
		bool created;
		rc = store_node_put(st, n, false, &created, NULL);
		if (rc == 0)
			json_array_append_new(json_object_get(report, "nodes_updated"),
					      json_incref(json_object_get(n, "name")));
	}
	json_decref(n);
	return rc;
}

/* Reports a conflict ({"system","message"[,"node"]}). */
static void bmcmatch_conflict(json_t *report, const char *path, const char *message,
			      const char *node)
{
	json_t *c = json_pack("{s:s, s:s}", "system", path, "message", message);
	if (c != NULL && node != NULL)
		json_object_set_new(c, "node", json_string(node));
	json_array_append_new(json_object_get(report, "conflicts"), c);
}

/*
 * What system idx is, as a node id (0: none) after making or extending it.
 * *node comes in as the node the system was linked to before (0: none): a
 * conflict leaves that link as it was, as it leaves the nodes.
 */
static int bmcmatch_system(struct store *st, json_t *bmc, size_t idx, json_t *report, int64_t *node)
{
	int64_t before = *node;
	json_t *sys = json_array_get(json_object_get(bmc, "systems"), idx);
	json_t *macs = json_object_get(sys, "macs");
	const char *path = json_string_value(json_object_get(sys, "path"));
	size_t n = json_array_size(macs);
	int64_t *owners = calloc(n ? n : 1, sizeof(*owners));
	char name[64];
	if (owners == NULL)
		return -ENOMEM;
	int rc = bmcmatch_owners(st, macs, owners);
	if (rc < 0)
		goto out;
	switch (bmcmatch_classify(owners, n, node)) {
	case BMCMATCH_SPREAD:
		rc = store_node_name(st, *node, name, sizeof(name));
		if (rc == 0)
			bmcmatch_conflict(report, path,
					  "its MACs belong to several nodes; nothing changed",
					  name);
		*node = before;
		break;
	case BMCMATCH_NO_MACS:
		bmcmatch_conflict(report, path, "no usable MAC address found; no node made", NULL);
		*node = before;
		break;
	case BMCMATCH_NEW:
		rc = bmcmatch_create(st, bmc, idx, report, node);
		break;
	case BMCMATCH_LINK:
		rc = bmcmatch_extend(st, *node, macs, owners, report);
		break;
	}
out:
	free(owners);
	return rc;
}

static int bmcmatch_record_txn(struct store *st, json_t *bmc, json_t *report)
{
	int64_t bmc_id;
	int rc = store_bmc_put(st, bmc, &bmc_id);
	if (rc < 0)
		return rc;
	const char *status = json_string_value(json_object_get(bmc, "status"));
	if (status == NULL || strcmp(status, "ok") != 0)
		return 0; /* keep its systems as they were */
	/* The links the systems had, before the rows are put again. */
	json_t *systems = json_object_get(bmc, "systems");
	size_t i, nsys = json_array_size(systems);
	int64_t *before = calloc(nsys ? nsys : 1, sizeof(*before));
	if (before == NULL)
		return -ENOMEM;
	json_t *sys;
	json_array_foreach(systems, i, sys) {
		rc = store_bmc_system_node(
			st, bmc_id, json_string_value(json_object_get(sys, "path")), &before[i]);
		if (rc == -ENOENT)
			before[i] = 0;
		else if (rc < 0)
			break;
		rc = 0;
	}
	if (rc == 0)
		rc = store_bmc_systems_clear(st, bmc_id);
	json_array_foreach(systems, i, sys) {
		if (rc < 0)
			break;
		int64_t node = before[i];
		rc = bmcmatch_system(st, bmc, i, report, &node);
		if (rc == 0)
			rc = store_bmc_system_put(st, bmc_id,
						  json_string_value(json_object_get(sys, "path")),
						  node, sys);
	}
	free(before);
	return rc;
}

int bmcmatch_record(struct store *st, json_t *bmc, json_t *report)
{
	int rc = store_txn_begin(st);
	if (rc < 0)
		return rc;
	rc = bmcmatch_record_txn(st, bmc, report);
	if (rc < 0) {
		store_txn_rollback(st);
		return rc;
	}
	return store_txn_commit(st);
}
