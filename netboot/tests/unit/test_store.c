/*
 * Unit tests for the store against a real SQLite file in a fresh temporary
 * directory per test (storefix.h): schema and reopening, images, profiles
 * and groups, references and "in use", nodes with interfaces and groups,
 * conflicts, all-or-nothing import, list filters, the row lookups the rule
 * modules use, the generation counter, API tokens, defaults, transactions
 * (store_txn_*) and threads.  Events and discovered machines are in
 * test_store_events.c, credentials and BMCs in test_store_bmc.c.
 */
#include <pthread.h>

#include <sqlite3.h>

#include "storefix.h"

/* ---- open, schema, reopen ----------------------------------------------- */

static void test_open_reopen(void **state)
{
	struct fx *f = *state;
	int version = store_schema_version(f->st);
	sqlite3 *db;
	sqlite3_stmt *s;
	json_t *o = NULL;

	assert_true(version > 0);
	assert_int_equal(store_ping(f->st), 0);
	put_obj(f->st, STORE_IMAGE, image("img1", "k", "i", "quiet"));

	/* The version is recorded in the file itself. */
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), version);
	sqlite3_finalize(s);
	sqlite3_close(db);

	/* Reopening migrates nothing and keeps the data, twice over. */
	for (int round = 0; round < 2; round++) {
		store_free(f->st);
		f->st = NULL;
		assert_int_equal(store_open(f->path, &f->st), 0);
		assert_int_equal(store_schema_version(f->st), version);
		assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "img1", &o), 0);
		assert_string_equal(json_string_value(json_object_get(o, "params")), "quiet");
		json_decref(o);
	}

	/* A second handle on the same file at the same time. */
	struct store *st2 = NULL;
	assert_int_equal(store_open(f->path, &st2), 0);
	assert_int_equal(store_obj_get(st2, STORE_IMAGE, "img1", &o), 0);
	json_decref(o);
	store_free(st2);

	/* A directory that does not exist. */
	st2 = NULL;
	log_set_level(LOG_LVL_ERROR);
	assert_true(store_open("/nonexistent-dir/corral.db", &st2) < 0);
	log_set_level(LOG_LVL_WARN);
	store_free(NULL);
}

/* ---- images, profiles, groups ------------------------------------------- */

static void test_images(void **state)
{
	struct fx *f = *state;
	static const char *const keys[] = {"name",   "arch",   "kernel", "initrd",
					   "rootfs", "params", NULL};
	json_t *o, *got = NULL, *list = NULL;
	bool created = false;
	struct store_err e;
	char names[256];

	o = image("rocky9", "images/rocky9/vmlinuz", "https://h/initrd", "console=ttyS0");
	json_object_set_new(o, "rootfs", json_string("images/rocky9/rootfs.squashfs"));
	json_object_set_new(o, "arch", json_string("aarch64"));
	assert_int_equal(store_obj_put(f->st, STORE_IMAGE, o, true, &created, &e), 0);
	assert_true(created);
	assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "rocky9", &got), 0);
	assert_fields("image", got, o, keys);
	assert_true(json_is_string(json_object_get(got, "created")));
	assert_true(json_is_string(json_object_get(got, "updated")));
	json_decref(got);

	/* create_only on an existing name: -EEXIST on "name" */
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_obj_put(f->st, STORE_IMAGE, o, true, &created, &e), -EEXIST);
	assert_string_equal(e.field, "name");
	assert_non_null(strstr(e.message, "rocky9"));

	/* replace */
	json_object_set_new(o, "params", json_string("quiet"));
	json_object_set_new(o, "rootfs", json_null());
	created = true;
	assert_int_equal(store_obj_put(f->st, STORE_IMAGE, o, false, &created, &e), 0);
	assert_false(created);
	assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "rocky9", &got), 0);
	assert_fields("replaced image", got, o, keys);
	assert_true(json_is_null(json_object_get(got, "rootfs")));
	json_decref(got);
	json_decref(o);

	/* list, ordered by name */
	put_obj(f->st, STORE_IMAGE, image("alma", "k", "i", ""));
	put_obj(f->st, STORE_IMAGE, image("zeta", "k", "i", ""));
	assert_int_equal(store_obj_list(f->st, STORE_IMAGE, &list), 0);
	names_of(list, names, sizeof(names));
	assert_string_equal(names, "alma,rocky9,zeta");
	json_decref(list);

	/* get / delete of what is not there */
	got = NULL;
	assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "nope", &got), -ENOENT);
	assert_null(got);
	assert_int_equal(store_obj_delete(f->st, STORE_IMAGE, "nope", &e), -ENOENT);

	/* delete */
	assert_int_equal(store_obj_delete(f->st, STORE_IMAGE, "alma", &e), 0);
	assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "alma", &got), -ENOENT);
	assert_int_equal(store_obj_list(f->st, STORE_IMAGE, &list), 0);
	names_of(list, names, sizeof(names));
	assert_string_equal(names, "rocky9,zeta");
	json_decref(list);
}

static void test_profiles_groups(void **state)
{
	struct fx *f = *state;
	static const char *const pkeys[] = {"name", "image", "kernel", "initrd", "params", NULL};
	static const char *const gkeys[] = {"name",     "description", "profile",
					    "metadata", "user_data",   NULL};
	json_t *o, *got = NULL, *list = NULL;
	struct store_err e;
	bool created;
	char names[256];

	put_obj(f->st, STORE_IMAGE, image("img", "k", "i", ""));
	/* a profile on an image, and one with its own kernel and initrd */
	o = profile("compute", "img", NULL, NULL, "quiet");
	assert_int_equal(store_obj_put(f->st, STORE_PROFILE, o, true, &created, &e), 0);
	assert_true(created);
	assert_int_equal(store_obj_get(f->st, STORE_PROFILE, "compute", &got), 0);
	assert_fields("profile", got, o, pkeys);
	json_decref(got);
	json_decref(o);
	o = profile("direct", NULL, "https://h/vmlinuz", "https://h/initrd", "");
	assert_int_equal(store_obj_put(f->st, STORE_PROFILE, o, true, &created, &e), 0);
	assert_int_equal(store_obj_get(f->st, STORE_PROFILE, "direct", &got), 0);
	assert_fields("direct profile", got, o, pkeys);
	json_decref(got);
	json_decref(o);

	/* a group */
	o = group("rack1", "compute");
	json_object_set_new(o, "description", json_string("first rack"));
	json_object_set_new(o, "metadata", json_pack("{s:s, s:[i]}", "site", "lab", "l", 1));
	json_object_set_new(o, "user_data", json_string("#cloud-config\nhostname: x\n"));
	assert_int_equal(store_obj_put(f->st, STORE_GROUP, o, true, &created, &e), 0);
	assert_int_equal(store_obj_get(f->st, STORE_GROUP, "rack1", &got), 0);
	assert_fields("group", got, o, gkeys);
	assert_true(json_is_array(json_object_get(got, "members")));
	assert_int_equal(json_array_size(json_object_get(got, "members")), 0);
	json_decref(got);
	json_decref(o);
	put_obj(f->st, STORE_GROUP, group("aaa", NULL));
	assert_int_equal(store_obj_list(f->st, STORE_GROUP, &list), 0);
	names_of(list, names, sizeof(names));
	assert_string_equal(names, "aaa,rack1");
	assert_true(json_is_null(json_object_get(json_array_get(list, 0), "profile")));
	assert_true(json_is_array(json_object_get(json_array_get(list, 1), "members")));
	json_decref(list);
	assert_int_equal(store_obj_list(f->st, STORE_PROFILE, &list), 0);
	names_of(list, names, sizeof(names));
	assert_string_equal(names, "compute,direct");
	json_decref(list);

	/* delete a group and a profile nobody uses */
	assert_int_equal(store_obj_delete(f->st, STORE_GROUP, "aaa", &e), 0);
	assert_int_equal(store_obj_delete(f->st, STORE_PROFILE, "direct", &e), 0);
	assert_int_equal(store_obj_get(f->st, STORE_PROFILE, "direct", &got), -ENOENT);
}

/* References to objects that do not exist: -ENXIO naming the field. */
static void test_missing_references(void **state)
{
	struct fx *f = *state;
	struct store_err e;
	bool created;
	json_t *o, *got = NULL;
	uint64_t gen;

	gen = store_generation(f->st);
	o = profile("p", "no-such-image", NULL, NULL, "");
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_obj_put(f->st, STORE_PROFILE, o, false, &created, &e), -ENXIO);
	assert_string_equal(e.field, "image");
	assert_non_null(strstr(e.message, "no-such-image"));
	json_decref(o);
	assert_int_equal(store_obj_get(f->st, STORE_PROFILE, "p", &got), -ENOENT);

	o = group("g", "no-such-profile");
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_obj_put(f->st, STORE_GROUP, o, false, &created, &e), -ENXIO);
	assert_string_equal(e.field, "profile");
	assert_non_null(strstr(e.message, "no-such-profile"));
	json_decref(o);
	assert_int_equal(store_obj_get(f->st, STORE_GROUP, "g", &got), -ENOENT);

	o = node("n1", 1, "52:54:00:00:00:01", NULL, "no-such-profile", "", NULL);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_node_put(f->st, o, false, &created, &e), -ENXIO);
	assert_string_equal(e.field, "profile");
	json_decref(o);
	assert_int_equal(store_node_get(f->st, "n1", &got), -ENOENT);

	o = json_pack("{s:s, s:{}, s:s}", "profile", "no-such-profile", "metadata", "user_data",
		      "");
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_defaults_put(f->st, o, &e), -ENXIO);
	assert_string_equal(e.field, "profile");
	json_decref(o);

	/* Nothing was written. */
	assert_int_equal(store_generation(f->st), gen);
}

/* Deleting what something uses: -EBUSY naming the user. */
static void test_in_use(void **state)
{
	struct fx *f = *state;
	static const char *const groups[] = {"rack7", NULL};
	struct store_err e;
	json_t *got = NULL, *d;

	put_obj(f->st, STORE_IMAGE, image("img", "k", "i", ""));
	put_obj(f->st, STORE_PROFILE, profile("prof-a", "img", NULL, NULL, ""));
	put_obj(f->st, STORE_PROFILE, profile("prof-b", "img", NULL, NULL, ""));

	memset(&e, 0, sizeof(e));
	assert_int_equal(store_obj_delete(f->st, STORE_IMAGE, "img", &e), -EBUSY);
	assert_non_null(strstr(e.message, "prof-a"));
	assert_non_null(strstr(e.message, "prof-b"));
	assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "img", &got), 0);
	json_decref(got);

	/* a profile used by a group, a node, the defaults */
	put_obj(f->st, STORE_GROUP, group("gx", "prof-a"));
	put_node(f->st, node("nx", 0, "52:54:00:00:00:0a", NULL, "prof-b", "", groups));
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_obj_delete(f->st, STORE_PROFILE, "prof-a", &e), -EBUSY);
	assert_non_null(strstr(e.message, "gx"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_obj_delete(f->st, STORE_PROFILE, "prof-b", &e), -EBUSY);
	assert_non_null(strstr(e.message, "nx"));
	put_obj(f->st, STORE_PROFILE, profile("prof-c", "img", NULL, NULL, ""));
	d = json_pack("{s:s, s:{}, s:s}", "profile", "prof-c", "metadata", "user_data", "");
	assert_int_equal(store_defaults_put(f->st, d, &e), 0);
	json_decref(d);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_obj_delete(f->st, STORE_PROFILE, "prof-c", &e), -EBUSY);
	assert_non_null(strstr(e.message, "defaults"));

	/* a group with members */
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_obj_delete(f->st, STORE_GROUP, "rack7", &e), -EBUSY);
	assert_non_null(strstr(e.message, "nx"));
	/* once the node is gone the group can go */
	assert_int_equal(store_node_delete(f->st, "nx"), 0);
	assert_int_equal(store_obj_delete(f->st, STORE_GROUP, "rack7", &e), 0);
	assert_int_equal(store_obj_delete(f->st, STORE_PROFILE, "prof-b", &e), 0);
}

/* ---- nodes -------------------------------------------------------------- */

static void test_node_round_trip(void **state)
{
	struct fx *f = *state;
	static const char *const groups[] = {"compute", "rack1", "gpu", NULL};
	static const char *const keys[] = {
		"name",   "nid",        "arch",     "role",      "groups",   "enabled", "profile",
		"params", "interfaces", "metadata", "user_data", "ipxe_efi", NULL};
	json_t *n, *got = NULL, *g = NULL;
	bool created = false;
	struct store_err e;

	put_obj(f->st, STORE_IMAGE, image("img", "k", "i", ""));
	put_obj(f->st, STORE_PROFILE, profile("prof", "img", NULL, NULL, ""));
	n = node("x1000c0s0b0n0", 1000, "52:54:00:12:34:56", "10.100.0.11", "prof", "console=ttyS0",
		 groups);
	json_array_append_new(json_object_get(n, "interfaces"),
			      json_pack("{s:s, s:n}", "mac", "52:54:00:12:34:57", "ip"));
	json_object_set_new(n, "arch", json_string("aarch64"));
	json_object_set_new(n, "enabled", json_false());
	json_object_set_new(n, "metadata",
			    json_pack("{s:s, s:{s:i}}", "site", "lab", "rack", "pos", 7));
	json_object_set_new(n, "user_data", json_string("#!/bin/sh\necho hi\n"));
	json_object_set_new(n, "ipxe_efi", json_string("ipxe.efi"));
	assert_int_equal(store_node_put(f->st, n, true, &created, &e), 0);
	assert_true(created);
	assert_int_equal(store_node_get(f->st, "x1000c0s0b0n0", &got), 0);
	assert_fields("node", got, n, keys);
	assert_string_equal(json_string_value(json_object_get(got, "state")), "new");
	assert_true(json_is_null(json_object_get(got, "last_event")));
	assert_true(json_is_string(json_object_get(got, "created")));
	json_decref(got);

	/* the groups were created, with the node as member */
	for (size_t i = 0; groups[i] != NULL; i++) {
		assert_int_equal(store_obj_get(f->st, STORE_GROUP, groups[i], &g), 0);
		assert_true(json_is_null(json_object_get(g, "profile")));
		assert_int_equal(json_array_size(json_object_get(g, "members")), 1);
		assert_string_equal(
			json_string_value(json_array_get(json_object_get(g, "members"), 0)),
			"x1000c0s0b0n0");
		json_decref(g);
	}

	/* replace: fewer groups, other order, one interface, no nid */
	json_object_set_new(n, "groups", json_pack("[s, s]", "gpu", "compute"));
	json_object_set_new(
		n, "interfaces",
		json_pack("[{s:s, s:s}]", "mac", "52:54:00:12:34:57", "ip", "10.100.0.12"));
	json_object_set_new(n, "nid", json_null());
	json_object_set_new(n, "profile", json_null());
	created = true;
	assert_int_equal(store_node_put(f->st, n, false, &created, &e), 0);
	assert_false(created);
	assert_int_equal(store_node_get(f->st, "x1000c0s0b0n0", &got), 0);
	assert_fields("replaced node", got, n, keys);
	json_decref(got);
	/* rack1 lost its member, and the freed MAC is free */
	assert_int_equal(store_obj_get(f->st, STORE_GROUP, "rack1", &g), 0);
	assert_int_equal(json_array_size(json_object_get(g, "members")), 0);
	json_decref(g);
	put_node(f->st, node("other", 0, "52:54:00:12:34:56", "10.100.0.11", NULL, "", NULL));

	/* create_only on an existing node */
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_node_put(f->st, n, true, &created, &e), -EEXIST);
	assert_string_equal(e.field, "name");
	json_decref(n);

	/* delete */
	assert_int_equal(store_node_delete(f->st, "x1000c0s0b0n0"), 0);
	assert_int_equal(store_node_get(f->st, "x1000c0s0b0n0", &got), -ENOENT);
	assert_int_equal(store_node_delete(f->st, "x1000c0s0b0n0"), -ENOENT);
	put_node(f->st, node("third", 0, "52:54:00:12:34:57", "10.100.0.12", NULL, "", NULL));
}

struct conflict_case {
	const char *what;
	json_int_t nid;
	const char *mac, *ip;
	int second_iface; /* the clash is on interfaces[1] */
	const char *field;
};

/* Against node "first": nid 1, 52:54:00:00:00:01, 10.0.0.1. */
static const struct conflict_case conflict_cases[] = {
	{"same MAC", 0, "52:54:00:00:00:01", NULL, 0, "interfaces[0].mac"},
	{"same MAC, second interface", 0, "52:54:00:00:00:01", NULL, 1, "interfaces[1].mac"},
	{"same IP", 0, "52:54:00:00:00:02", "10.0.0.1", 0, "interfaces[0].ip"},
	{"same IP, second interface", 0, "52:54:00:00:00:02", "10.0.0.1", 1, "interfaces[1].ip"},
	{"same NID", 1, "52:54:00:00:00:02", NULL, 0, "nid"},
};

static void test_node_conflicts(void **state)
{
	struct fx *f = *state;
	static const char *const g1[] = {"g-first", NULL};
	static const char *const g2[] = {"g-second-only", NULL};
	uint64_t gen;

	put_node(f->st, node("first", 1, "52:54:00:00:00:01", "10.0.0.1", NULL, "", g1));
	gen = store_generation(f->st);
	for (size_t i = 0; i < NELEM(conflict_cases); i++) {
		const struct conflict_case *c = &conflict_cases[i];
		json_t *n, *got = NULL;
		struct store_err e;
		bool created;
		int rc;

		if (c->second_iface) {
			n = node("second", c->nid, "52:54:00:00:00:09", NULL, NULL, "", g2);
			json_array_append_new(json_object_get(n, "interfaces"),
					      json_pack("{s:s, s:s?}", "mac", c->mac, "ip", c->ip));
		} else {
			n = node("second", c->nid, c->mac, c->ip, NULL, "", g2);
		}
		memset(&e, 0, sizeof(e));
		rc = store_node_put(f->st, n, false, &created, &e);
		json_decref(n);
		if (rc != -EEXIST)
			fail_msg("%s: rc %d, want -EEXIST", c->what, rc);
		if (strcmp(e.field, c->field) != 0)
			fail_msg("%s: field \"%s\", want \"%s\"", c->what, e.field, c->field);
		if (strstr(e.message, "first") == NULL)
			fail_msg("%s: message \"%s\" does not name the owner", c->what, e.message);
		/* nothing of the second node was written */
		assert_int_equal(store_node_get(f->st, "second", &got), -ENOENT);
		assert_int_equal(store_obj_get(f->st, STORE_GROUP, "g-second-only", &got), -ENOENT);
		assert_int_equal(store_node_id(f->st, "second", &(int64_t){0}), -ENOENT);
		assert_int_equal(store_generation(f->st), gen);
	}
	/* the first node is intact */
	json_t *got = NULL;
	assert_int_equal(store_node_get(f->st, "first", &got), 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(got, "interfaces"), 0), "mac")),
			    "52:54:00:00:00:01");
	json_decref(got);
}

static void test_node_import(void **state)
{
	struct fx *f = *state;
	static const char *const ga[] = {"imp-a", NULL};
	static const char *const gb[] = {"imp-b", NULL};
	json_t *nodes, *got = NULL;
	struct store_err e;
	int created = -1, replaced = -1;
	uint64_t gen;

	put_node(f->st, node("existing", 5, "52:54:00:00:00:05", "10.0.0.5", NULL, "", NULL));
	gen = store_generation(f->st);

	/* a bad third node: its MAC belongs to "existing" */
	nodes = json_array();
	json_array_append_new(nodes, node("i1", 11, "52:54:00:00:01:01", NULL, NULL, "", ga));
	json_array_append_new(nodes, node("i2", 12, "52:54:00:00:01:02", NULL, NULL, "", gb));
	json_array_append_new(nodes, node("i3", 13, "52:54:00:00:00:05", NULL, NULL, "", NULL));
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_node_import(f->st, nodes, &created, &replaced, &e), -EEXIST);
	assert_string_equal(e.field, "nodes[2].interfaces[0].mac");
	assert_int_equal(store_node_get(f->st, "i1", &got), -ENOENT);
	assert_int_equal(store_node_get(f->st, "i2", &got), -ENOENT);
	assert_int_equal(store_node_get(f->st, "i3", &got), -ENOENT);
	assert_int_equal(store_obj_get(f->st, STORE_GROUP, "imp-a", &got), -ENOENT);
	assert_int_equal(store_obj_get(f->st, STORE_GROUP, "imp-b", &got), -ENOENT);
	assert_int_equal(store_generation(f->st), gen);
	/* "existing" still owns its MAC */
	int64_t owner = 0;
	assert_int_equal(store_node_by_mac(f->st, "52:54:00:00:00:05", &owner), 0);
	assert_int_equal(owner, node_id(f->st, "existing"));

	/* a clash inside the batch: the third repeats the first's NID */
	json_array_set_new(nodes, 2, node("i3", 11, "52:54:00:00:01:03", NULL, NULL, "", NULL));
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_node_import(f->st, nodes, &created, &replaced, &e), -EEXIST);
	assert_string_equal(e.field, "nodes[2].nid");
	assert_int_equal(store_node_get(f->st, "i1", &got), -ENOENT);

	/* a good batch, one of them replacing "existing" */
	json_array_set_new(nodes, 2, node("i3", 13, "52:54:00:00:01:03", NULL, NULL, "", NULL));
	json_array_append_new(
		nodes, node("existing", 5, "52:54:00:00:00:05", "10.0.0.5", NULL, "quiet", NULL));
	assert_int_equal(store_node_import(f->st, nodes, &created, &replaced, &e), 0);
	assert_int_equal(created, 3);
	assert_int_equal(replaced, 1);
	assert_true(store_generation(f->st) > gen);
	assert_int_equal(store_node_get(f->st, "i2", &got), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(got, "groups"), 0)),
			    "imp-b");
	json_decref(got);
	/* again: all replaced */
	assert_int_equal(store_node_import(f->st, nodes, &created, &replaced, &e), 0);
	assert_int_equal(created, 0);
	assert_int_equal(replaced, 4);
	json_decref(nodes);

	/* an empty import */
	nodes = json_array();
	assert_int_equal(store_node_import(f->st, nodes, &created, &replaced, &e), 0);
	assert_int_equal(created + replaced, 0);
	json_decref(nodes);
}

/* ---- node list filters -------------------------------------------------- */

struct list_case {
	struct store_node_filter f;
	const char *names;
};

static const struct list_case list_cases[] = {
	{{NULL, NULL, NULL, -1, -1, 0}, "a1,a2,b1,b2,c1"},
	{{"ga", NULL, NULL, -1, -1, 0}, "a1,a2,b1"},
	{{"gb", NULL, NULL, -1, -1, 0}, "b1,b2"},
	{{"nosuch", NULL, NULL, -1, -1, 0}, ""},
	{{NULL, "booting", NULL, -1, -1, 0}, "a2,b2"},
	{{NULL, "new", NULL, -1, -1, 0}, "a1,b1,c1"},
	{{NULL, "ready", NULL, -1, -1, 0}, ""},
	{{NULL, NULL, "aarch64", -1, -1, 0}, "b1,c1"},
	{{NULL, NULL, "x86_64", -1, -1, 0}, "a1,a2,b2"},
	{{NULL, NULL, NULL, 0, -1, 0}, "a2,c1"},
	{{NULL, NULL, NULL, 1, -1, 0}, "a1,b1,b2"},
	{{"ga", "new", NULL, -1, -1, 0}, "a1,b1"},
	{{"ga", NULL, "aarch64", 1, -1, 0}, "b1"},
	{{NULL, NULL, NULL, -1, 2, 0}, "a1,a2"},
	{{NULL, NULL, NULL, -1, 2, 1}, "a2,b1"},
	{{NULL, NULL, NULL, -1, 2, 4}, "c1"},
	{{NULL, NULL, NULL, -1, -1, 3}, "b2,c1"},
	{{NULL, NULL, NULL, -1, 0, 0}, ""},
	{{NULL, NULL, NULL, -1, 10, 5}, ""},
	{{"ga", NULL, NULL, -1, 1, 1}, "a2"},
};

static void test_node_list(void **state)
{
	struct fx *f = *state;
	static const char *const ga[] = {"ga", NULL};
	static const char *const gab[] = {"gb", "ga", NULL};
	static const char *const gb[] = {"gb", NULL};
	struct store_event ev[2];
	json_t *n;

	/* inserted out of order: the list is ordered by name */
	n = node("c1", 0, "52:54:00:00:00:c1", NULL, NULL, "", NULL);
	json_object_set_new(n, "arch", json_string("aarch64"));
	json_object_set_new(n, "enabled", json_false());
	put_node(f->st, n);
	put_node(f->st, node("b2", 0, "52:54:00:00:00:b2", NULL, NULL, "", gb));
	n = node("b1", 0, "52:54:00:00:00:b1", NULL, NULL, "", gab);
	json_object_set_new(n, "arch", json_string("aarch64"));
	put_node(f->st, n);
	n = node("a2", 0, "52:54:00:00:00:a2", "10.0.0.2", NULL, "", ga);
	json_object_set_new(n, "enabled", json_false());
	put_node(f->st, n);
	put_node(f->st, node("a1", 0, "52:54:00:00:00:a1", NULL, NULL, "", ga));
	/* a2 and b2 asked for a boot script */
	memset(ev, 0, sizeof(ev));
	ev[0].node_id = node_id(f->st, "a2");
	ev[1].node_id = node_id(f->st, "b2");
	for (int i = 0; i < 2; i++) {
		ev[i].time_us = store_now_us();
		fx_fmt(ev[i].stage, sizeof(ev[i].stage), "bootscript");
		ev[i].state = "booting";
	}
	assert_int_equal(store_events_write(f->st, ev, 2), 0);

	for (size_t i = 0; i < NELEM(list_cases); i++) {
		json_t *list = NULL;
		char names[256];

		assert_int_equal(store_node_list(f->st, &list_cases[i].f, &list), 0);
		names_of(list, names, sizeof(names));
		if (strcmp(names, list_cases[i].names) != 0)
			fail_msg("list case %zu: \"%s\", want \"%s\"", i, names,
				 list_cases[i].names);
		json_decref(list);
	}

	/* list items are whole nodes: interfaces and groups included, in order */
	json_t *list = NULL;
	struct store_node_filter all = {NULL, NULL, NULL, -1, -1, 0};
	assert_int_equal(store_node_list(f->st, &all, &list), 0);
	json_t *b1 = json_array_get(list, 2);
	assert_string_equal(json_string_value(json_object_get(b1, "name")), "b1");
	json_t *want_groups = json_pack("[s, s]", "gb", "ga");
	assert_true(json_equal(json_object_get(b1, "groups"), want_groups));
	json_decref(want_groups);
	json_t *want_if = json_pack("[{s:s, s:s}]", "mac", "52:54:00:00:00:a2", "ip", "10.0.0.2");
	assert_true(json_equal(json_object_get(json_array_get(list, 1), "interfaces"), want_if));
	json_decref(want_if);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "state")),
			    "booting");
	/* a list item equals what get returns */
	json_t *got = NULL;
	assert_int_equal(store_node_get(f->st, "b1", &got), 0);
	assert_true(json_equal(got, b1));
	json_decref(got);
	json_decref(list);

	/* counts agree */
	json_t *counts = NULL;
	assert_int_equal(store_node_counts(f->st, &counts), 0);
	json_t *want = json_pack("{s:i, s:i, s:i, s:i, s:i}", "total", 5, "new", 3, "booting", 2,
				 "ready", 0, "disabled", 2);
	assert_true(json_equal(counts, want));
	json_decref(want);
	json_decref(counts);
}

/* ---- generation --------------------------------------------------------- */

static void test_generation(void **state)
{
	struct fx *f = *state;
	struct store_err e;
	uint64_t g[16];
	int k = 0;
	json_t *d;

	g[k++] = store_generation(f->st);
	put_obj(f->st, STORE_IMAGE, image("img", "k", "i", ""));
	g[k++] = store_generation(f->st);
	put_obj(f->st, STORE_PROFILE, profile("p", "img", NULL, NULL, ""));
	g[k++] = store_generation(f->st);
	put_obj(f->st, STORE_GROUP, group("g", "p"));
	g[k++] = store_generation(f->st);
	put_node(f->st, node("n", 0, "52:54:00:00:00:01", NULL, NULL, "", NULL));
	g[k++] = store_generation(f->st);
	d = json_pack("{s:s, s:{}, s:s}", "profile", "p", "metadata", "user_data", "");
	assert_int_equal(store_defaults_put(f->st, d, &e), 0);
	json_decref(d);
	g[k++] = store_generation(f->st);
	assert_int_equal(store_node_delete(f->st, "n"), 0);
	g[k++] = store_generation(f->st);
	assert_int_equal(store_obj_delete(f->st, STORE_GROUP, "g", &e), 0);
	g[k++] = store_generation(f->st);
	for (int i = 1; i < k; i++)
		if (g[i] <= g[i - 1])
			fail_msg("write %d did not increase the generation (%llu → %llu)", i,
				 (unsigned long long)g[i - 1], (unsigned long long)g[i]);
	/* failed writes and reads leave it */
	assert_int_equal(store_obj_delete(f->st, STORE_IMAGE, "img", &e), -EBUSY);
	assert_int_equal(store_obj_delete(f->st, STORE_GROUP, "missing", &e), -ENOENT);
	json_t *list = NULL;
	assert_int_equal(store_obj_list(f->st, STORE_IMAGE, &list), 0);
	json_decref(list);
	assert_int_equal(store_generation(f->st), g[k - 1]);
}

/* ---- tokens ------------------------------------------------------------- */

static void test_tokens(void **state)
{
	struct fx *f = *state;
	unsigned char h1[32], h2[32], h3[32];
	json_t *list = NULL, *t;
	int scope = 0;

	memset(h1, 1, sizeof(h1));
	memset(h2, 2, sizeof(h2));
	memset(h3, 3, sizeof(h3));
	assert_int_equal(store_token_add(f->st, "ops", h1, 2), 0);
	assert_int_equal(store_token_add(f->st, "dashboard", h2, 1), 0);
	/* names and hashes are unique */
	assert_int_equal(store_token_add(f->st, "ops", h3, 2), -EEXIST);
	assert_int_equal(store_token_add(f->st, "other", h1, 1), -EEXIST);

	assert_int_equal(store_token_find(f->st, h1, &scope), 0);
	assert_int_equal(scope, 2);
	assert_int_equal(store_token_find(f->st, h2, &scope), 0);
	assert_int_equal(scope, 1);
	assert_int_equal(store_token_find(f->st, h3, &scope), -ENOENT);

	assert_int_equal(store_token_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 2);
	t = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(t, "name")), "dashboard");
	assert_string_equal(json_string_value(json_object_get(t, "scope")), "read");
	assert_true(json_is_string(json_object_get(t, "created")));
	assert_true(json_is_string(json_object_get(t, "last_used"))); /* found above */
	t = json_array_get(list, 1);
	assert_string_equal(json_string_value(json_object_get(t, "name")), "ops");
	assert_string_equal(json_string_value(json_object_get(t, "scope")), "admin");
	/* never the secret or its hash */
	const char *k;
	json_t *v;
	json_object_foreach(t, k, v)
		if (strcmp(k, "name") != 0 && strcmp(k, "scope") != 0 &&
		    strcmp(k, "created") != 0 && strcmp(k, "last_used") != 0)
			fail_msg("token list has member %s", k);
	json_decref(list);

	assert_int_equal(store_token_delete(f->st, "ops"), 0);
	assert_int_equal(store_token_find(f->st, h1, &scope), -ENOENT);
	assert_int_equal(store_token_delete(f->st, "ops"), -ENOENT);
	/* the hash is free again */
	assert_int_equal(store_token_add(f->st, "ops2", h1, 2), 0);
}

/* ---- lookups by IP, id, name -------------------------------------------- */

static void test_node_by_ip(void **state)
{
	struct fx *f = *state;
	int64_t id = 0, want;
	char name[64];

	put_node(f->st, node("s1", 0, "52:54:00:00:00:01", "10.100.0.11", NULL, "", NULL));
	put_node(f->st, node("s2", 0, "52:54:00:00:00:02", "10.100.0.12", NULL, "", NULL));
	put_node(f->st, node("s3", 0, "52:54:00:00:00:03", NULL, NULL, "", NULL));
	want = node_id(f->st, "s2");
	assert_int_equal(store_node_by_ip(f->st, "10.100.0.12", &id), 0);
	assert_int_equal(id, want);
	assert_int_equal(store_node_by_ip(f->st, "10.100.0.13", &id), -ENOENT);
	assert_int_equal(store_node_by_ip(f->st, "10.100.0.1", &id), -ENOENT);
	assert_int_equal(store_node_name(f->st, want, name, sizeof(name)), 0);
	assert_string_equal(name, "s2");
	assert_int_equal(store_node_name(f->st, 987654, name, sizeof(name)), -ENOENT);
	assert_int_equal(store_node_id(f->st, "nope", &id), -ENOENT);
	assert_int_equal(store_node_by_mac(f->st, "52:54:00:00:00:03", &id), 0);
	assert_int_equal(id, node_id(f->st, "s3"));
	/* the static IP follows a replace */
	put_node(f->st, node("s2", 0, "52:54:00:00:00:02", "10.100.0.22", NULL, "", NULL));
	assert_int_equal(store_node_by_ip(f->st, "10.100.0.12", &id), -ENOENT);
	assert_int_equal(store_node_by_ip(f->st, "10.100.0.22", &id), 0);
	assert_int_equal(id, want);
}

/* ---- defaults ------------------------------------------------------------ */

static void test_defaults(void **state)
{
	struct fx *f = *state;
	struct store_err e;
	json_t *d = NULL, *want;

	assert_int_equal(store_defaults_get(f->st, &d), 0);
	want = json_pack("{s:n, s:{}, s:s}", "profile", "metadata", "user_data", "");
	assert_true(json_equal(d, want));
	json_decref(want);
	json_decref(d);

	d = json_pack("{s:n, s:{s:i}, s:s}", "profile", "metadata", "lvl", 0, "user_data",
		      "#cloud-config\na: 0\n");
	assert_int_equal(store_defaults_put(f->st, d, &e), 0);
	json_t *back = NULL;
	assert_int_equal(store_defaults_get(f->st, &back), 0);
	assert_true(json_equal(back, d));
	json_decref(back);
	json_decref(d);

	/* unset again: the profile goes, metadata and user-data are empty */
	d = json_pack("{s:n, s:{}, s:s}", "profile", "metadata", "user_data", "");
	assert_int_equal(store_defaults_put(f->st, d, &e), 0);
	assert_int_equal(store_defaults_get(f->st, &back), 0);
	assert_true(json_equal(back, d));
	json_decref(back);
	json_decref(d);
}

/* ---- node rows for the rule modules -------------------------------------- */

static void test_node_rows(void **state)
{
	struct fx *f = *state;
	static const char *const groups[] = {"g-b", "g-none", "g-a", NULL};
	json_t *byname = NULL, *byid = NULL, *gs = NULL;
	int64_t id = 0;

	put_obj(f->st, STORE_IMAGE, image("img", "k", "i", ""));
	put_obj(f->st, STORE_PROFILE, profile("p-a", "img", NULL, NULL, ""));
	put_obj(f->st, STORE_PROFILE, profile("p-b", "img", NULL, NULL, ""));
	put_obj(f->st, STORE_GROUP, group("g-a", "p-a"));
	put_obj(f->st, STORE_GROUP, group("g-b", "p-b"));
	put_node(f->st, node("r1", 77, "52:54:00:00:00:01", NULL, NULL, "x=1", groups));

	/* by id is the same object as by name */
	assert_int_equal(store_node_get(f->st, "r1", &byname), 0);
	assert_int_equal(store_node_get_id(f->st, node_id(f->st, "r1"), &byid), 0);
	assert_true(json_equal(byname, byid));
	json_decref(byname);
	json_decref(byid);
	assert_int_equal(store_node_get_id(f->st, 424242, &byid), -ENOENT);

	/* what booting needs, in one row */
	assert_int_equal(store_node_boot(f->st, node_id(f->st, "r1"), &byid), 0);
	json_t *want_boot =
		json_pack("{s:s, s:s, s:b, s:n, s:s, s:s}", "name", "r1", "arch", "x86_64",
			  "enabled", 1, "profile", "params", "x=1", "mac", "52:54:00:00:00:01");
	assert_true(json_equal(byid, want_boot));
	json_decref(want_boot);
	json_decref(byid);
	assert_int_equal(store_node_boot(f->st, 424242, &byid), -ENOENT);

	/* by NID */
	assert_int_equal(store_node_by_nid(f->st, 77, &id), 0);
	assert_int_equal(id, node_id(f->st, "r1"));
	assert_int_equal(store_node_by_nid(f->st, 78, &id), -ENOENT);

	/* the node's groups in its order, with their profiles, no members */
	assert_int_equal(store_node_groups(f->st, node_id(f->st, "r1"), &gs), 0);
	assert_int_equal(json_array_size(gs), 3);
	static const char *const want[][2] = {{"g-b", "p-b"}, {"g-none", NULL}, {"g-a", "p-a"}};
	for (size_t i = 0; i < 3; i++) {
		json_t *g = json_array_get(gs, i);
		json_t *p = json_object_get(g, "profile");
		assert_string_equal(json_string_value(json_object_get(g, "name")), want[i][0]);
		if (want[i][1] == NULL)
			assert_true(json_is_null(p));
		else
			assert_string_equal(json_string_value(p), want[i][1]);
		assert_true(json_is_object(json_object_get(g, "metadata")));
		assert_true(json_is_string(json_object_get(g, "user_data")));
	}
	json_decref(gs);
	assert_int_equal(store_node_groups(f->st, 424242, &gs), 0);
	assert_int_equal(json_array_size(gs), 0);
	json_decref(gs);
}

/* ---- transactions ------------------------------------------------------- */

struct peek {
	struct store *st;
	int rc; /* store_obj_get of "pending" on another thread */
};

static void *peek_run(void *arg)
{
	struct peek *p = arg;
	json_t *o = NULL;

	p->rc = store_obj_get(p->st, STORE_IMAGE, "pending", &o);
	json_decref(o);
	store_release(p->st);
	return NULL;
}

/* Several writes as one: seen by others only at the commit, one bump. */
static void test_txn_commit(void **state)
{
	struct fx *f = *state;
	uint64_t gen = store_generation(f->st);
	struct peek p = {f->st, 0};
	pthread_t t;
	json_t *o = NULL;

	assert_int_equal(store_txn_begin(f->st), 0);
	assert_int_equal(store_txn_begin(f->st), -EINVAL); /* no nesting */
	assert_int_equal(store_txn_read(f->st), -EINVAL);
	put_obj(f->st, STORE_IMAGE, image("pending", "k", "i", ""));
	put_node(f->st, node("pn", 0, "52:54:00:00:00:01", NULL, NULL, "", NULL));
	/* this thread sees its writes; another does not, yet */
	assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "pending", &o), 0);
	json_decref(o);
	assert_int_equal(pthread_create(&t, NULL, peek_run, &p), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(p.rc, -ENOENT);
	assert_int_equal(store_generation(f->st), gen);

	assert_int_equal(store_txn_commit(f->st), 0);
	assert_int_equal(store_generation(f->st), gen + 1);
	assert_int_equal(pthread_create(&t, NULL, peek_run, &p), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(store_txn_commit(f->st), -EINVAL); /* none open */
}

/* A failed call inside leaves the transaction to its owner; a rollback undoes all. */
static void test_txn_rollback(void **state)
{
	struct fx *f = *state;
	uint64_t gen = store_generation(f->st);
	struct store_err e;
	json_t *n, *got = NULL;
	bool created;

	assert_int_equal(store_txn_begin(f->st), 0);
	put_obj(f->st, STORE_IMAGE, image("gone", "k", "i", ""));
	n = node("bad", 0, "52:54:00:00:00:02", NULL, "no-such-profile", "", NULL);
	assert_int_equal(store_node_put(f->st, n, false, &created, &e), -ENXIO);
	json_decref(n);
	/* still open: the image is there for this thread */
	assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "gone", &got), 0);
	json_decref(got);
	store_txn_rollback(f->st);
	assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "gone", &got), -ENOENT);
	assert_int_equal(store_generation(f->st), gen);
	store_txn_rollback(f->st); /* none open: nothing happens */

	/* a transaction that only reads bumps nothing */
	assert_int_equal(store_txn_begin(f->st), 0);
	assert_int_equal(store_node_get(f->st, "bad", &got), -ENOENT);
	assert_int_equal(store_txn_commit(f->st), 0);
	assert_int_equal(store_generation(f->st), gen);
}

/* A read transaction is one snapshot, and refuses writes with a reason. */
static void test_txn_read(void **state)
{
	struct fx *f = *state;
	struct store_err e;
	json_t *o;
	bool created;

	put_obj(f->st, STORE_IMAGE, image("seen", "k", "i", ""));
	assert_int_equal(store_txn_read(f->st), 0);
	o = image("refused", "k", "i", "");
	assert_int_equal(store_obj_put(f->st, STORE_IMAGE, o, false, &created, &e), -EIO);
	json_decref(o);
	assert_non_null(strstr(store_errmsg(), "read transaction"));
	assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "seen", &o), 0);
	json_decref(o);
	assert_int_equal(store_txn_commit(f->st), 0);
	assert_int_equal(store_obj_get(f->st, STORE_IMAGE, "refused", &o), -ENOENT);

	/* why a store could not be opened */
	struct store *st2 = NULL;
	assert_true(store_open("/nonexistent-dir/corral.db", &st2) < 0);
	assert_non_null(strstr(store_errmsg(), "/nonexistent-dir/corral.db"));
}

/* ---- threads ------------------------------------------------------------ */

struct writer {
	struct store *st;
	int id;
	int failed;
};

/* Each thread (its own connection) creates 25 nodes and reads them back. */
static void *writer_run(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < 25; i++) {
		char name[32], mac[18];
		struct store_err e;
		char got[64];
		int64_t id = 0;
		bool created;
		json_t *n;

		/* no cmocka assert off the main thread: a cut name is a failure */
		int kn = snprintf(name, sizeof(name), "t%d-n%02d", w->id, i);
		int km = snprintf(mac, sizeof(mac), "52:54:00:00:%02x:%02x", w->id, i);
		if (kn < 0 || (size_t)kn >= sizeof(name) || km < 0 || (size_t)km >= sizeof(mac)) {
			w->failed++;
			continue;
		}
		n = node(name, (json_int_t)(w->id * 100 + i + 1), mac, NULL, NULL, "", NULL);
		json_array_append_new(json_object_get(n, "groups"), json_string("shared"));
		if (store_node_put(w->st, n, true, &created, &e) != 0 || !created)
			w->failed++;
		json_decref(n);
		if (store_node_by_mac(w->st, mac, &id) != 0 ||
		    store_node_name(w->st, id, got, sizeof(got)) != 0 || strcmp(got, name) != 0)
			w->failed++;
		store_release(w->st);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fx *f = *state;
	pthread_t t[4];
	struct writer w[4];
	uint64_t gen = store_generation(f->st);
	json_t *list = NULL, *g = NULL;
	struct store_node_filter all = {NULL, NULL, NULL, -1, -1, 0};

	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){f->st, i, 0};
		assert_int_equal(pthread_create(&t[i], NULL, writer_run, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failed, 0);
	}
	store_release(f->st);
	assert_int_equal(store_node_list(f->st, &all, &list), 0);
	assert_int_equal(json_array_size(list), 100);
	json_decref(list);
	assert_int_equal(store_obj_get(f->st, STORE_GROUP, "shared", &g), 0);
	assert_int_equal(json_array_size(json_object_get(g, "members")), 100);
	json_decref(g);
	assert_true(store_generation(f->st) >= gen + 100);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_reopen),        T(test_images),      T(test_profiles_groups),
		T(test_missing_references), T(test_in_use),      T(test_node_round_trip),
		T(test_node_conflicts),     T(test_node_import), T(test_node_list),
		T(test_generation),         T(test_tokens),      T(test_node_by_ip),
		T(test_node_rows),          T(test_defaults),    T(test_txn_commit),
		T(test_txn_rollback),       T(test_txn_read),    T(test_threads),
	};
#undef T

	return cmocka_run_group_tests_name("store", tests, NULL, NULL) != 0;
}
