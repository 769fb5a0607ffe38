/*
 * store_node: nodes with their interfaces and group memberships, the
 * lookups by name, id, NID, MAC and IP, and the counts.  See store.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

/* Node object from a NODE_GET/NODE_LIST row (without interfaces/groups). */
static json_t *store_node_row(sqlite3_stmt *s)
{
	json_t *n = json_object();
	json_object_set_new(n, "name", json_string(store_col_text(s, 1)));
	json_object_set_new(n, "nid",
			    sqlite3_column_type(s, 2) == SQLITE_NULL ?
				    json_null() :
				    json_integer(sqlite3_column_int64(s, 2)));
	json_object_set_new(n, "arch", json_string(store_col_text(s, 3)));
	json_object_set_new(n, "role", json_string(store_col_text(s, 4)));
	json_object_set_new(n, "groups", json_array());
	json_object_set_new(n, "enabled", json_boolean(sqlite3_column_int(s, 5)));
	json_object_set_new(n, "profile", store_col_str(s, 6));
	json_object_set_new(n, "params", json_string(store_col_text(s, 7)));
	json_object_set_new(n, "interfaces", json_array());
	json_object_set_new(n, "metadata", store_col_json(s, 8));
	json_object_set_new(n, "user_data", json_string(store_col_text(s, 9)));
	json_object_set_new(n, "state", json_string(store_col_text(s, 10)));
	if (store_col_text(s, 11) != NULL)
		json_object_set_new(n, "last_event",
				    json_pack("{s:s, s:o}", "stage", store_col_text(s, 11), "time",
					      store_col_time(s, 12)));
	else
		json_object_set_new(n, "last_event", json_null());
	json_object_set_new(n, "created", store_col_time(s, 13));
	json_object_set_new(n, "updated", store_col_time(s, 14));
	json_object_set_new(n, "ipxe_efi", json_string(store_col_text(s, 15)));
	json_object_set_new(n, "arch_source", json_string(store_col_text(s, 16)));
	json_object_set_new(n, "ipxe_binary", store_col_str(s, 17));
	return n;
}

static json_t *store_iface(sqlite3_stmt *s, int mac_col)
{
	return json_pack("{s:s, s:o}", "mac", store_col_text(s, mac_col), "ip",
			 store_col_str(s, mac_col + 1));
}

/* The node on the row s stands on, with its interfaces and groups. */
static int store_node_whole(struct store_conn *c, sqlite3_stmt *s, json_t **out)
{
	int64_t id = sqlite3_column_int64(s, 0);
	json_t *n = store_node_row(s);
	int rc = -EIO;

	s = store_qc(c, ST_NODE_IFACES, STORE_INT(id));
	if (s == NULL)
		goto err_node;
	json_t *ifs = json_object_get(n, "interfaces");
	while ((rc = store_step(c, s)) == 1)
		json_array_append_new(ifs, store_iface(s, 0));
	if (rc < 0)
		goto err_node;

	rc = -EIO;
	s = store_qc(c, ST_NODE_GROUPS, STORE_INT(id));
	if (s == NULL)
		goto err_node;
	json_t *gs = json_object_get(n, "groups");
	while ((rc = store_step(c, s)) == 1)
		json_array_append_new(gs, json_string(store_col_text(s, 0)));
	if (rc < 0)
		goto err_node;
	*out = n;
	return 0;

err_node:
	json_decref(n);
	return rc;
}

int store_node_get(struct store *st, const char *name, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_NODE_GET, STORE_TEXT(name));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	return rc < 0 ? rc : store_node_whole(c, s, out);
}

int store_node_get_id(struct store *st, int64_t id, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_NODE_GET_ID, STORE_INT(id));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	return rc < 0 ? rc : store_node_whole(c, s, out);
}

/* The node id in column 0 of s as a key of by_id. */
static int store_node_key(sqlite3_stmt *s, char *key, size_t len)
{
	if (store_fmt(key, len, "%lld", (long long)sqlite3_column_int64(s, 0)) < 0)
		return store_failf("node id %lld too long", (long long)sqlite3_column_int64(s, 0));
	return 0;
}

/* Appends each row's (node id, value) to the node of that id in by_id. */
static int store_node_attach(struct store_conn *c, sqlite3_stmt *s, json_t *by_id,
			     const char *member, json_t *(*value)(sqlite3_stmt *s))
{
	char key[24];
	int rc;
	while ((rc = store_step(c, s)) == 1) {
		if ((rc = store_node_key(s, key, sizeof(key))) < 0)
			return rc;
		json_t *n = json_object_get(by_id, key);
		if (n != NULL)
			json_array_append_new(json_object_get(n, member), value(s));
	}
	return rc;
}

static json_t *store_iface_of_row(sqlite3_stmt *s)
{
	return store_iface(s, 1);
}

static json_t *store_group_of_row(sqlite3_stmt *s)
{
	return json_string(store_col_text(s, 1));
}

/*
 * Lists nodes in three queries whatever their number (nodes, then every
 * interface, then every membership), joined here by node id.
 */
int store_node_list(struct store *st, const struct store_node_filter *f, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_NODE_LIST, STORE_TEXT(f->state), STORE_TEXT(f->arch),
				  f->enabled >= 0 ? STORE_INT(f->enabled) : STORE_NULL,
				  STORE_TEXT(f->group), STORE_INT(f->limit), STORE_INT(f->offset));
	if (s == NULL)
		return -EIO;
	json_t *arr = json_array();
	json_t *by_id = json_object(); /* "id" → node, borrowed from arr */
	char key[24];
	int rc;
	while ((rc = store_step(c, s)) == 1) {
		json_t *n = store_node_row(s);
		json_array_append_new(arr, n);
		if ((rc = store_node_key(s, key, sizeof(key))) < 0)
			break;
		json_object_set(by_id, key, n);
	}
	if (rc < 0)
		goto err_list;
	rc = -EIO;
	s = store_qc(c, ST_ALL_IFACES);
	if (s == NULL ||
	    (rc = store_node_attach(c, s, by_id, "interfaces", store_iface_of_row)) < 0)
		goto err_list;
	rc = -EIO;
	s = store_qc(c, ST_ALL_NODE_GROUPS);
	if (s == NULL || (rc = store_node_attach(c, s, by_id, "groups", store_group_of_row)) < 0)
		goto err_list;
	json_decref(by_id);
	*out = arr;
	return 0;

err_list:
	json_decref(by_id);
	json_decref(arr);
	return rc;
}

int store_node_boot(struct store *st, int64_t id, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_NODE_BOOT, STORE_INT(id));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc < 0)
		return rc;
	*out = json_pack("{s:s, s:s, s:b, s:o, s:s, s:o, s:s}", "name", store_col_text(s, 0),
			 "arch", store_col_text(s, 1), "enabled", sqlite3_column_int(s, 2),
			 "profile", store_col_str(s, 3), "params", store_col_text(s, 4), "mac",
			 store_col_str(s, 5), "arch_source", store_col_text(s, 6));
	return *out ? 0 : -ENOMEM;
}

static json_t *store_group_row(const void *ctx, sqlite3_stmt *s)
{
	(void)ctx;
	return json_pack("{s:s, s:o, s:o, s:s}", "name", store_col_text(s, 0), "profile",
			 store_col_str(s, 1), "metadata", store_col_json(s, 2), "user_data",
			 store_col_text(s, 3));
}

int store_node_groups(struct store *st, int64_t id, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_NODE_GROUP_ROWS, STORE_INT(id));
	if (s == NULL)
		return -EIO;
	return store_rows(c, s, store_group_row, NULL, out);
}

/* ---- writes ---------------------------------------------------------------- */

/*
 * 1 (the owner's name in owner) if a node other than name holds the value
 * stmt looks up, 0 if none does, -EIO.
 */
static int store_taken(struct store_conn *c, enum store_stmt id, struct store_arg value,
		       const char *name, char *owner, size_t ownerlen)
{
	sqlite3_stmt *s = store_qc(c, id, value, STORE_TEXT(name));
	if (s == NULL)
		return -EIO;
	int rc = store_step(c, s);
	/* For the message only: names are at most 63 bytes. */
	if (rc == 1)
		store_msg(owner, ownerlen, "%s", store_col_text(s, 0));
	return rc;
}

/* -EEXIST (field and owner in *err) if the node's NID, a MAC or an IP is another's. */
static int store_node_conflicts(struct store_conn *c, json_t *node, const char *name,
				const char *prefix, struct store_err *err)
{
	char owner[64], field[96];
	json_t *nid = json_object_get(node, "nid");
	int rc;
	if (json_is_integer(nid)) {
		rc = store_taken(c, ST_NODE_NID_TAKEN, STORE_INT(json_integer_value(nid)), name,
				 owner, sizeof(owner));
		if (rc != 0) {
			store_msg(field, sizeof(field), "%snid", prefix);
			store_seterr(err, field, "NID %lld belongs to node %s",
				     (long long)json_integer_value(nid), owner);
			return rc < 0 ? rc : -EEXIST;
		}
	}
	size_t i;
	json_t *ifc;
	json_array_foreach(json_object_get(node, "interfaces"), i, ifc) {
		const char *mac = json_string_value(json_object_get(ifc, "mac"));
		const char *ip = json_string_value(json_object_get(ifc, "ip"));
		rc = store_taken(c, ST_MAC_TAKEN, STORE_TEXT(mac), name, owner, sizeof(owner));
		if (rc != 0) {
			store_msg(field, sizeof(field), "%sinterfaces[%zu].mac", prefix, i);
			store_seterr(err, field, "MAC %s belongs to node %s", mac, owner);
			return rc < 0 ? rc : -EEXIST;
		}
		if (ip == NULL)
			continue;
		rc = store_taken(c, ST_IP_TAKEN, STORE_TEXT(ip), name, owner, sizeof(owner));
		if (rc != 0) {
			store_msg(field, sizeof(field), "%sinterfaces[%zu].ip", prefix, i);
			store_seterr(err, field, "IP %s belongs to node %s", ip, owner);
			return rc < 0 ? rc : -EEXIST;
		}
	}
	return 0;
}

/* Replaces node id's interfaces with the node's. */
static int store_node_put_ifaces(struct store_conn *c, int64_t id, json_t *node, const char *prefix,
				 struct store_err *err)
{
	sqlite3_stmt *s = store_qc(c, ST_NODE_IFACES_CLEAR, STORE_INT(id));
	int rc = s ? store_done(c, s) : -EIO;
	if (rc < 0)
		return rc;
	size_t i;
	json_t *ifc;
	json_array_foreach(json_object_get(node, "interfaces"), i, ifc) {
		const char *mac = json_string_value(json_object_get(ifc, "mac"));
		s = store_qc(c, ST_NODE_IFACE_ADD, STORE_TEXT(mac), STORE_INT(id), STORE_INT(i),
			     STORE_TEXT(json_string_value(json_object_get(ifc, "ip"))));
		if (s == NULL)
			return -EIO;
		if ((rc = store_done(c, s)) < 0) {
			char field[96];
			store_msg(field, sizeof(field), "%sinterfaces[%zu]", prefix, i);
			store_seterr(err, field, "MAC or IP given twice");
			return rc;
		}
		/* A discovered machine that now has a node is no longer unknown. */
		s = store_qc(c, ST_DISCOVERED_FORGET, STORE_TEXT(mac));
		if (s == NULL || (rc = store_done(c, s)) < 0)
			return s ? rc : -EIO;
	}
	return 0;
}

/* Replaces node id's memberships with the node's groups, creating missing groups. */
static int store_node_put_groups(struct store_conn *c, int64_t id, json_t *node, int64_t now)
{
	sqlite3_stmt *s = store_qc(c, ST_NODE_GROUPS_CLEAR, STORE_INT(id));
	int rc = s ? store_done(c, s) : -EIO;
	if (rc < 0)
		return rc;
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(node, "groups"), i, g) {
		s = store_qc(c, ST_GROUP_ENSURE, STORE_JSON(g), STORE_INT(now));
		if (s == NULL || (rc = store_done(c, s)) < 0)
			return s ? rc : -EIO;
		s = store_qc(c, ST_NODE_GROUP_ADD, STORE_INT(id), STORE_JSON(g), STORE_INT(i));
		if (s == NULL || (rc = store_done(c, s)) < 0)
			return s ? rc : -EIO;
	}
	return 0;
}

/* Writes one node inside an open transaction.  prefix goes before field names. */
static int store_node_put_txn(struct store_conn *c, json_t *node, bool create_only, bool *created,
			      const char *prefix, struct store_err *err)
{
	const char *name = json_string_value(json_object_get(node, "name"));
	if (name == NULL)
		return -EINVAL;
	int rc = store_has_row(c, ST_NODE_ID, name);
	if (rc < 0)
		return rc;
	*created = rc == 0;
	if (create_only && !*created) {
		char field[96];
		store_msg(field, sizeof(field), "%sname", prefix);
		store_seterr(err, field, "node %s already exists", name);
		return -EEXIST;
	}
	if ((rc = store_node_conflicts(c, node, name, prefix, err)) < 0)
		return rc;
	static const struct store_ref node_refs[] = {{"profile", ST_PROFILE_EXISTS, "profile"}};
	if ((rc = store_check_refs(c, node_refs, 1, node, prefix, err)) < 0)
		return rc;

	static const char *const put_fields[] = {"name",      "nid",     "arch",   "role",
						 "enabled",   "profile", "params", "metadata",
						 "user_data", "ipxe_efi"};
	struct store_arg args[13];
	for (int k = 0; k < 10; k++)
		args[k] = STORE_JSON(json_object_get(node, put_fields[k]));
	int64_t now = store_now_us();
	args[10] = STORE_INT(now);
	/* a node written without them (an import of old JSON) says no arch */
	const char *src = json_string_value(json_object_get(node, "arch_source"));
	args[11] = STORE_TEXT(src ? src : "default");
	args[12] = STORE_JSON(json_object_get(node, "ipxe_binary"));
	sqlite3_stmt *s = store_bind(c, ST_NODE_PUT, args, 13);
	if (s == NULL)
		return -EIO;
	if ((rc = store_one(c, s)) < 0)
		return rc == -ENOENT ? store_fail(c, s) : rc;
	int64_t id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if ((rc = store_node_put_ifaces(c, id, node, prefix, err)) < 0)
		return rc;
	return store_node_put_groups(c, id, node, now);
}

int store_node_put(struct store *st, json_t *node, bool create_only, bool *created,
		   struct store_err *err)
{
	struct store_conn *c;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	rc = store_node_put_txn(c, node, create_only, created, "", err);
	return store_write_end(st, c, rc, true);
}

int store_node_import(struct store *st, json_t *nodes, int *ncreated, int *nreplaced,
		      struct store_err *err)
{
	struct store_conn *c;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	*ncreated = *nreplaced = 0;
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n) {
		char prefix[32];
		bool created;
		rc = store_fmt(prefix, sizeof(prefix), "nodes[%zu].", i);
		if (rc == 0)
			rc = store_node_put_txn(c, n, false, &created, prefix, err);
		if (rc < 0)
			break;
		if (created)
			(*ncreated)++;
		else
			(*nreplaced)++;
	}
	return store_write_end(st, c, rc, true);
}

int store_node_delete(struct store *st, const char *name)
{
	struct store_conn *c;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *s = store_qc(c, ST_NODE_DELETE, STORE_TEXT(name));
	rc = s ? store_done_changed(c, s) : -EIO;
	return store_write_end(st, c, rc, true);
}

/* ---- lookups ----------------------------------------------------------------- */

int store_node_id(struct store *st, const char *name, int64_t *id)
{
	return store_one_id(st, ST_NODE_ID, STORE_TEXT(name), id);
}

int store_node_by_ip(struct store *st, const char *ip, int64_t *id)
{
	return store_one_id(st, ST_NODE_BY_IP, STORE_TEXT(ip), id);
}

int store_node_by_mac(struct store *st, const char *mac, int64_t *id)
{
	return store_one_id(st, ST_NODE_BY_MAC, STORE_TEXT(mac), id);
}

int store_node_by_nid(struct store *st, long long nid, int64_t *id)
{
	return store_one_id(st, ST_NODE_BY_NID, STORE_INT(nid), id);
}

int store_node_learn_arch(struct store *st, int64_t id, const char *arch, const char *source,
			  bool *changed)
{
	struct store_conn *c;
	*changed = false;
	/* Read first: every boot asks, and nearly always nothing is to change. */
	sqlite3_stmt *s = store_q(st, &c, ST_NODE_ARCH, STORE_INT(id));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc < 0)
		return rc;
	const char *was = store_col_text(s, 0), *how = store_col_text(s, 1);
	bool differs = strcmp(was, arch) != 0;
	bool learn = strcmp(how, "manual") != 0 && (differs || strcmp(how, "default") == 0);
	sqlite3_reset(s);
	if (!learn)
		return 0;
	if ((rc = store_write_begin(st, &c)) < 0)
		return rc;
	s = store_qc(c, ST_NODE_ARCH_LEARN, STORE_INT(id), STORE_TEXT(arch), STORE_TEXT(source),
		     STORE_INT(store_now_us()));
	rc = s ? store_done_changed(c, s) : -EIO;
	bool wrote = rc == 0;
	if (rc == -ENOENT)
		rc = 0; /* set by hand meanwhile */
	/* Only a new arch changes what a node is served: the source alone
	 * (default -> ipxe on every x86 node's first boot) must not bump the
	 * generation, which empties the boot-script cache and makes the DHCP
	 * side resync (a Kea config-reload) once per node in a power-on storm. */
	rc = store_write_end(st, c, rc, wrote && differs);
	*changed = rc == 0 && wrote && differs;
	return rc;
}

int store_node_name(struct store *st, int64_t id, char *out, size_t outlen)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_NODE_NAME, STORE_INT(id));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	return rc < 0 ? rc : store_fmt(out, outlen, "%s", store_col_text(s, 0));
}

int store_node_counts(struct store *st, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_NODE_COUNTS);
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc < 0)
		return rc == -ENOENT ? store_fail(c, s) : rc;
	*out = json_pack("{s:I, s:I, s:I, s:I, s:I}", "total",
			 (json_int_t)sqlite3_column_int64(s, 0), "new",
			 (json_int_t)sqlite3_column_int64(s, 1), "booting",
			 (json_int_t)sqlite3_column_int64(s, 2), "ready",
			 (json_int_t)sqlite3_column_int64(s, 3), "disabled",
			 (json_int_t)sqlite3_column_int64(s, 4));
	return *out ? 0 : -ENOMEM;
}

int store_counts(struct store *st, json_t *into)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_OTHER_COUNTS);
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc < 0)
		return rc == -ENOENT ? store_fail(c, s) : rc;
	static const char *const names[] = {"groups", "images", "profiles", "discovered"};
	for (int i = 0; i < 4; i++)
		json_object_set_new(into, names[i], json_integer(sqlite3_column_int64(s, i)));
	return 0;
}
