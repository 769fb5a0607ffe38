/*
 * Unit tests for store against a real SQLite file in a fresh temporary
 * directory per test: schema and reopening, images/profiles/groups,
 * references and "in use", nodes with interfaces and groups, conflicts,
 * all-or-nothing import, boot resolution precedence, list filters, events,
 * discovered machines, the generation counter and API tokens.
 *
 * Objects are built complete, in the shapes api.c hands the store after
 * validation (docs/api.md): every field present, MACs normalised.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
};

static void fx_unlink(struct fx *f)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[160];

	for (size_t i = 0; i < NELEM(suffix); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	log_set_level(LOG_LVL_WARN); /* no "migrated schema" lines */
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/corral.db", f->dir);
	if (store_open(f->path, &f->st) != 0) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_free(f->st);
	fx_unlink(f);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- complete objects --------------------------------------------------- */

static json_t *image(const char *name, const char *kernel, const char *initrd, const char *params)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:n, s:s}", "name", name, "arch", "x86_64", "kernel",
			 kernel, "initrd", initrd, "rootfs", "params", params);
}

/* image or (kernel and initrd); NULL → JSON null */
static json_t *profile(const char *name, const char *img, const char *kernel, const char *initrd,
		       const char *params)
{
	return json_pack("{s:s, s:s?, s:s?, s:s?, s:s}", "name", name, "image", img, "kernel",
			 kernel, "initrd", initrd, "params", params);
}

static json_t *group(const char *name, const char *prof)
{
	return json_pack("{s:s, s:s, s:s?, s:{}, s:s}", "name", name, "description", "", "profile",
			 prof, "metadata", "user_data", "");
}

/* A node with one interface (mac, ip may be NULL) and the groups given. */
static json_t *node(const char *name, json_int_t nid, const char *mac, const char *ip,
		    const char *prof, const char *params, const char *const *groups)
{
	json_t *n = json_pack("{s:s, s:o, s:s, s:s, s:[], s:b, s:s?, s:s, s:[], s:{}, s:s, s:s}",
			      "name", name, "nid", nid > 0 ? json_integer(nid) : json_null(),
			      "arch", "x86_64", "role", "compute", "groups", "enabled", 1,
			      "profile", prof, "params", params, "interfaces", "metadata",
			      "user_data", "", "ipxe_efi", "snponly.efi");

	assert_non_null(n);
	if (mac != NULL)
		json_array_append_new(json_object_get(n, "interfaces"),
				      json_pack("{s:s, s:s?}", "mac", mac, "ip", ip));
	if (mac != NULL && ip == NULL)
		json_object_set_new(json_array_get(json_object_get(n, "interfaces"), 0), "ip",
				    json_null());
	for (size_t i = 0; groups != NULL && groups[i] != NULL; i++)
		json_array_append_new(json_object_get(n, "groups"), json_string(groups[i]));
	return n;
}

static void put_obj(struct store *st, enum store_kind k, json_t *o)
{
	bool created;
	struct store_err e = {{0}, {0}};
	int rc = store_obj_put(st, k, o, false, &created, &e);

	if (rc != 0)
		fail_msg("put %s: rc %d (%s: %s)", json_string_value(json_object_get(o, "name")),
			 rc, e.field, e.message);
	json_decref(o);
}

static void put_node(struct store *st, json_t *n)
{
	bool created;
	struct store_err e = {{0}, {0}};
	int rc = store_node_put(st, n, false, &created, &e);

	if (rc != 0)
		fail_msg("put node %s: rc %d (%s: %s)",
			 json_string_value(json_object_get(n, "name")), rc, e.field, e.message);
	json_decref(n);
}

static int64_t node_id(struct store *st, const char *name)
{
	int64_t id = 0;

	assert_int_equal(store_node_id(st, name, &id), 0);
	return id;
}

/* Each listed member of got equals the one in want. */
static void assert_fields(const char *what, json_t *got, json_t *want, const char *const *keys)
{
	for (size_t i = 0; keys[i] != NULL; i++) {
		json_t *g = json_object_get(got, keys[i]), *w = json_object_get(want, keys[i]);

		if (g == NULL || !json_equal(g, w)) {
			char *gs = g ? json_dumps(g, JSON_ENCODE_ANY) : NULL;
			char *ws = json_dumps(w, JSON_ENCODE_ANY);

			fail_msg("%s: %s is %s, want %s", what, keys[i], gs ? gs : "(missing)", ws);
		}
	}
}

/* The names in a JSON array of objects, joined with ','. */
static void names_of(json_t *arr, char *out, size_t len)
{
	size_t i, n = 0;
	json_t *o;

	out[0] = '\0';
	json_array_foreach(arr, i, o) {
		int k = snprintf(out + n, len - n, "%s%s", i ? "," : "",
				 json_string_value(json_object_get(o, "name")));
		assert_true(k > 0 && (size_t)k < len - n);
		n += (size_t)k;
	}
}

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
	struct store_boot b;
	assert_int_equal(store_boot_lookup(f->st, STORE_BOOT_MAC, "52:54:00:00:00:05", &b), 0);
	assert_string_equal(b.name, "existing");
	store_boot_clear(&b);

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

/* ---- boot resolution ---------------------------------------------------- */

struct boot_case {
	const char *node;
	bool has_profile;
	const char *profile, *source, *image, *kernel, *initrd, *params;
};

static void boot_fixture(struct store *st)
{
	static const char *const g_a[] = {"g-none", "g-one", "g-two", NULL};
	static const char *const g_none[] = {"g-none", NULL};
	json_t *img = image("img", "images/img/vmlinuz", "images/img/initrd", "console=ttyS0");

	json_object_set_new(img, "rootfs", json_string("images/img/rootfs"));
	put_obj(st, STORE_IMAGE, img);
	put_obj(st, STORE_PROFILE, profile("p-node", "img", NULL, NULL, "p=node"));
	put_obj(st, STORE_PROFILE, profile("p-one", "img", NULL, NULL, "p=one"));
	put_obj(st, STORE_PROFILE, profile("p-two", "img", NULL, NULL, "p=two"));
	put_obj(st, STORE_PROFILE, profile("p-def", "img", NULL, NULL, ""));
	put_obj(st, STORE_PROFILE,
		profile("p-direct", NULL, "https://h/vmlinuz", "https://h/initrd", "p=direct"));
	/* an image profile that overrides the kernel */
	put_obj(st, STORE_PROFILE, profile("p-over", "img", "other/vmlinuz", NULL, ""));
	put_obj(st, STORE_GROUP, group("g-none", NULL));
	put_obj(st, STORE_GROUP, group("g-one", "p-one"));
	put_obj(st, STORE_GROUP, group("g-two", "p-two"));
	/* node profile beats its groups */
	put_node(st, node("n-node", 1, "52:54:00:00:00:01", NULL, "p-node", "n=1", g_a));
	/* the first group with a profile */
	put_node(st, node("n-group", 2, "52:54:00:00:00:02", NULL, NULL, "n=2", g_a));
	/* no group has a profile: the default */
	put_node(st, node("n-def", 3, "52:54:00:00:00:03", NULL, NULL, "", g_none));
	put_node(st, node("n-direct", 4, "52:54:00:00:00:04", NULL, "p-direct", "", NULL));
	put_node(st, node("n-over", 5, "52:54:00:00:00:05", NULL, "p-over", "x", NULL));
}

static const struct boot_case boot_cases_no_default[] = {
	{"n-node", true, "p-node", "node", "img", "images/img/vmlinuz", "images/img/initrd",
	 "console=ttyS0 p=node n=1"},
	{"n-group", true, "p-one", "group g-one", "img", "images/img/vmlinuz", "images/img/initrd",
	 "console=ttyS0 p=one n=2"},
	{"n-def", false, "", "", "", NULL, NULL, NULL},
	{"n-direct", true, "p-direct", "node", "", "https://h/vmlinuz", "https://h/initrd",
	 "p=direct"},
	{"n-over", true, "p-over", "node", "img", "other/vmlinuz", "images/img/initrd",
	 "console=ttyS0 x"},
};

static const struct boot_case boot_cases_default[] = {
	{"n-node", true, "p-node", "node", "img", "images/img/vmlinuz", "images/img/initrd",
	 "console=ttyS0 p=node n=1"},
	{"n-group", true, "p-one", "group g-one", "img", "images/img/vmlinuz", "images/img/initrd",
	 "console=ttyS0 p=one n=2"},
	{"n-def", true, "p-def", "default", "img", "images/img/vmlinuz", "images/img/initrd",
	 "console=ttyS0"},
};

static void check_boot(struct store *st, const struct boot_case *c)
{
	struct store_boot b;
	char mac[18];

	assert_int_equal(store_boot_lookup(st, STORE_BOOT_NAME, c->node, &b), 0);
	assert_string_equal(b.name, c->node);
	assert_int_equal(b.node_id, node_id(st, c->node));
	if (b.has_profile != c->has_profile)
		fail_msg("%s: has_profile %d, want %d", c->node, b.has_profile, c->has_profile);
	if (c->has_profile) {
		if (strcmp(b.profile, c->profile) != 0 || strcmp(b.source, c->source) != 0)
			fail_msg("%s: profile %s from \"%s\", want %s from \"%s\"", c->node,
				 b.profile, b.source, c->profile, c->source);
		assert_string_equal(b.image, c->image);
		assert_string_equal(b.kernel, c->kernel);
		assert_string_equal(b.initrd, c->initrd);
		if (strcmp(b.params, c->params) != 0)
			fail_msg("%s: params \"%s\", want \"%s\"", c->node, b.params, c->params);
		if (c->image[0] != '\0')
			assert_string_equal(b.rootfs, "images/img/rootfs");
	}
	/* by name, the boot MAC is the first interface's */
	snprintf(mac, sizeof(mac), "%s", b.mac);
	assert_int_equal(strlen(mac), 17);
	store_boot_clear(&b);
	/* by MAC and by NID: the same node, same answer */
	assert_int_equal(store_boot_lookup(st, STORE_BOOT_MAC, mac, &b), 0);
	assert_string_equal(b.name, c->node);
	assert_string_equal(b.mac, mac);
	assert_int_equal(b.has_profile, c->has_profile);
	if (c->has_profile)
		assert_string_equal(b.profile, c->profile);
	store_boot_clear(&b);
}

static void test_boot_lookup(void **state)
{
	struct fx *f = *state;
	struct store_boot b;
	json_t *d;
	struct store_err e;

	boot_fixture(f->st);
	for (size_t i = 0; i < NELEM(boot_cases_no_default); i++)
		check_boot(f->st, &boot_cases_no_default[i]);

	d = json_pack("{s:s, s:{}, s:s}", "profile", "p-def", "metadata", "user_data", "");
	assert_int_equal(store_defaults_put(f->st, d, &e), 0);
	json_decref(d);
	for (size_t i = 0; i < NELEM(boot_cases_default); i++)
		check_boot(f->st, &boot_cases_default[i]);

	/* by NID */
	assert_int_equal(store_boot_lookup(f->st, STORE_BOOT_NID, "2", &b), 0);
	assert_string_equal(b.name, "n-group");
	assert_string_equal(b.mac, "52:54:00:00:00:02");
	assert_true(b.enabled);
	assert_string_equal(b.arch, "x86_64");
	store_boot_clear(&b);
	/* unknown MAC, name, NID */
	assert_int_equal(store_boot_lookup(f->st, STORE_BOOT_MAC, "52:54:00:ff:ff:ff", &b),
			 -ENOENT);
	assert_int_equal(store_boot_lookup(f->st, STORE_BOOT_NAME, "nope", &b), -ENOENT);
	assert_int_equal(store_boot_lookup(f->st, STORE_BOOT_NID, "999", &b), -ENOENT);

	/* a disabled node still resolves, with enabled false */
	json_t *n = NULL;
	assert_int_equal(store_node_get(f->st, "n-node", &n), 0);
	json_object_set_new(n, "enabled", json_false());
	put_node(f->st, n);
	assert_int_equal(store_boot_lookup(f->st, STORE_BOOT_NAME, "n-node", &b), 0);
	assert_false(b.enabled);
	store_boot_clear(&b);

	/* the group's profile moves: the node follows */
	json_t *g = group("g-one", NULL);
	put_obj(f->st, STORE_GROUP, g);
	assert_int_equal(store_boot_lookup(f->st, STORE_BOOT_NAME, "n-group", &b), 0);
	assert_string_equal(b.profile, "p-two");
	assert_string_equal(b.source, "group g-two");
	assert_string_equal(b.params, "console=ttyS0 p=two n=2");
	store_boot_clear(&b);
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
		snprintf(ev[i].stage, sizeof(ev[i].stage), "bootscript");
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

/* ---- events and discovered machines ------------------------------------- */

static struct store_event event(int64_t id, int64_t t, const char *stage, const char *source,
				const char *detail, const char *mac, const char *st)
{
	struct store_event e;

	memset(&e, 0, sizeof(e));
	e.node_id = id;
	e.time_us = t;
	snprintf(e.stage, sizeof(e.stage), "%s", stage);
	snprintf(e.source, sizeof(e.source), "%s", source);
	snprintf(e.detail, sizeof(e.detail), "%s", detail);
	snprintf(e.mac, sizeof(e.mac), "%s", mac);
	e.state = st;
	return e;
}

static void test_events(void **state)
{
	struct fx *f = *state;
	const int64_t t0 = 1764072000000000LL; /* 2025-11-25T12:00:00Z */
	struct store_event ev[4];
	json_t *list = NULL, *n = NULL;
	int64_t id, by_ip = 0;
	char stages[128];

	put_node(f->st, node("n1", 0, "52:54:00:00:00:01", NULL, NULL, "", NULL));
	id = node_id(f->st, "n1");
	/* written out of time order; one batch */
	ev[0] = event(id, t0 + 2000000, "kernel", "10.0.0.50", "k", "", NULL);
	ev[1] = event(id, t0, "bootscript", "10.0.0.50", "first", "52:54:00:00:00:01", "booting");
	ev[2] = event(id, t0 + 1000, "initrd", "10.0.0.50", "i", "", NULL);
	ev[3] = event(id, t0 + 3000000, "phone-home", "10.0.0.50", "done", "", "ready");
	assert_int_equal(store_events_write(f->st, ev, 4), 0);

	assert_int_equal(store_events_list(f->st, id, 1000, &list), 0);
	assert_int_equal(json_array_size(list), 4);
	size_t i, len = 0;
	json_t *x;
	json_array_foreach(list, i, x)
		len += (size_t)snprintf(stages + len, sizeof(stages) - len, "%s%s", i ? "," : "",
					json_string_value(json_object_get(x, "stage")));
	assert_string_equal(stages, "bootscript,initrd,kernel,phone-home");
	x = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(x, "time")),
			    "2025-11-25T12:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(x, "source")), "10.0.0.50");
	assert_string_equal(json_string_value(json_object_get(x, "detail")), "first");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "time")),
			    "2025-11-25T12:00:00.001Z");
	json_decref(list);

	/* a limit keeps the newest, still oldest first */
	assert_int_equal(store_events_list(f->st, id, 2, &list), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "stage")),
			    "kernel");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "stage")),
			    "phone-home");
	json_decref(list);

	/* the node's state and last event; its last-seen IP finds it */
	assert_int_equal(store_node_get(f->st, "n1", &n), 0);
	assert_string_equal(json_string_value(json_object_get(n, "state")), "ready");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(n, "last_event"), "stage")),
		"phone-home");
	json_decref(n);
	assert_int_equal(store_node_by_ip(f->st, "10.0.0.50", &by_ip), 0);
	assert_int_equal(by_ip, id);

	/* prune by age */
	assert_int_equal(store_events_prune(f->st, t0 + 2000000, 1000), 0);
	assert_int_equal(store_events_list(f->st, id, 1000, &list), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "stage")),
			    "kernel");
	json_decref(list);
	/* and per node: only the newest survive */
	assert_int_equal(store_events_prune(f->st, 0, 1), 0);
	assert_int_equal(store_events_list(f->st, id, 1000, &list), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "stage")),
			    "phone-home");
	json_decref(list);

	/* an event for a node deleted meanwhile is dropped, not an error */
	assert_int_equal(store_node_delete(f->st, "n1"), 0);
	ev[0] = event(id, t0, "kernel", "10.0.0.50", "", "", NULL);
	assert_int_equal(store_events_write(f->st, ev, 1), 0);
	assert_int_equal(store_events_list(f->st, id, 1000, &list), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

static void test_discovered(void **state)
{
	struct fx *f = *state;
	struct store_event ev[3];
	json_t *list = NULL, *d;
	int64_t t = store_now_us();

	ev[0] = event(0, t, "unknown", "10.0.0.77", "", "52:54:00:00:00:77", NULL);
	ev[1] = event(0, t + 10, "unknown", "10.0.0.88", "", "52:54:00:00:00:88", NULL);
	ev[2] = event(0, t + 20, "unknown", "10.0.0.78", "", "52:54:00:00:00:77", NULL);
	assert_int_equal(store_events_write(f->st, ev, 3), 0);
	assert_int_equal(store_discovered_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 2);
	/* newest first */
	d = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(d, "mac")), "52:54:00:00:00:77");
	assert_string_equal(json_string_value(json_object_get(d, "ip")), "10.0.0.78");
	assert_int_equal(json_integer_value(json_object_get(d, "requests")), 2);
	assert_true(json_is_string(json_object_get(d, "first_seen")));
	assert_true(json_is_string(json_object_get(d, "last_seen")));
	json_decref(list);
	assert_int_equal(store_discovered_exists(f->st, "52:54:00:00:00:77"), 0);

	/* a node with that MAC: no longer unknown */
	put_node(f->st, node("adopted", 0, "52:54:00:00:00:77", NULL, NULL, "", NULL));
	assert_int_equal(store_discovered_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "mac")),
			    "52:54:00:00:00:88");
	json_decref(list);
	assert_int_equal(store_discovered_exists(f->st, "52:54:00:00:00:77"), -ENOENT);

	/* forget one */
	assert_int_equal(store_discovered_delete(f->st, "52:54:00:00:00:88"), 0);
	assert_int_equal(store_discovered_delete(f->st, "52:54:00:00:00:88"), -ENOENT);
	assert_int_equal(store_discovered_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
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

/* ---- defaults and cloud-init layers ------------------------------------- */

static void test_defaults_layers(void **state)
{
	struct fx *f = *state;
	static const char *const groups[] = {"gz", "ga", NULL};
	struct store_err e;
	json_t *d = NULL, *want, *meta = NULL, *ud = NULL, *g, *n;
	char name[64];

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

	g = group("ga", NULL);
	json_object_set_new(g, "metadata", json_pack("{s:s}", "lvl", "ga"));
	json_object_set_new(g, "user_data", json_string("#cloud-config\nb: ga\n"));
	put_obj(f->st, STORE_GROUP, g);
	g = group("gz", NULL);
	json_object_set_new(g, "metadata", json_pack("{s:s}", "lvl", "gz"));
	put_obj(f->st, STORE_GROUP, g);
	n = node("cn", 0, "52:54:00:00:00:01", NULL, NULL, "", groups);
	json_object_set_new(n, "metadata", json_pack("{s:s}", "lvl", "node"));
	json_object_set_new(n, "user_data", json_string("#!/bin/sh\n"));
	put_node(f->st, n);

	/* least specific first: defaults, groups in the node's order, node */
	assert_int_equal(
		store_cloudinit_layers(f->st, node_id(f->st, "cn"), name, sizeof(name), &meta, &ud),
		0);
	assert_string_equal(name, "cn");
	want = json_pack("[{s:i}, {s:s}, {s:s}, {s:s}]", "lvl", 0, "lvl", "gz", "lvl", "ga", "lvl",
			 "node");
	assert_true(json_equal(meta, want));
	json_decref(want);
	want = json_pack("[s, s, s, s]", "#cloud-config\na: 0\n", "", "#cloud-config\nb: ga\n",
			 "#!/bin/sh\n");
	assert_true(json_equal(ud, want));
	json_decref(want);
	json_decref(meta);
	json_decref(ud);
	assert_int_equal(store_cloudinit_layers(f->st, 424242, name, sizeof(name), &meta, &ud),
			 -ENOENT);
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
		struct store_boot b;
		bool created;
		json_t *n;

		snprintf(name, sizeof(name), "t%d-n%02d", w->id, i);
		snprintf(mac, sizeof(mac), "52:54:00:00:%02x:%02x", w->id, i);
		n = node(name, (json_int_t)(w->id * 100 + i + 1), mac, NULL, NULL, "", NULL);
		json_array_append_new(json_object_get(n, "groups"), json_string("shared"));
		if (store_node_put(w->st, n, true, &created, &e) != 0 || !created)
			w->failed++;
		json_decref(n);
		if (store_boot_lookup(w->st, STORE_BOOT_MAC, mac, &b) != 0 ||
		    strcmp(b.name, name) != 0)
			w->failed++;
		store_boot_clear(&b);
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
		T(test_node_conflicts),     T(test_node_import), T(test_boot_lookup),
		T(test_node_list),          T(test_events),      T(test_discovered),
		T(test_generation),         T(test_tokens),      T(test_node_by_ip),
		T(test_defaults_layers),    T(test_threads),
	};
#undef T

	return cmocka_run_group_tests_name("store", tests, NULL, NULL) != 0;
}
