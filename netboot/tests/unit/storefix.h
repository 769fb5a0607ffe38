/*
 * The fixture the store's unit tests and its rule modules' tests share
 * (test_store*.c, test_bootsel.c, test_bmcmatch.c): a real store in a
 * fresh temporary directory per test (setup/teardown), and builders for
 * complete objects in the shapes api.c hands the store after validation
 * (docs/api.md): every field present, MACs normalised.
 *
 * Everything here is static inline: each test program includes this
 * header once, uses what it needs, and is its own binary.
 */
#ifndef CORRAL_TESTS_STOREFIX_H
#define CORRAL_TESTS_STOREFIX_H

#include <errno.h>
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

#include "log.h"
#include "store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* snprintf into a fixed buffer that fails the test when the text does not fit. */
#define fx_fmt(out, len, ...)                                             \
	do {                                                              \
		int fx_n_ = snprintf((out), (len), __VA_ARGS__);          \
		assert_true(fx_n_ >= 0 && (size_t)fx_n_ < (size_t)(len)); \
	} while (0)

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
};

static inline void fx_unlink(struct fx *f)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[160];

	for (size_t i = 0; i < NELEM(suffix); i++) {
		fx_fmt(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
}

static inline int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	log_set_level(LOG_LVL_WARN); /* no "migrated schema" lines */
	fx_fmt(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	fx_fmt(f->path, sizeof(f->path), "%s/corral.db", f->dir);
	if (store_open(f->path, &f->st) != 0) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fx *f = *state;

	store_free(f->st);
	fx_unlink(f);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- complete objects --------------------------------------------------- */

static inline json_t *image(const char *name, const char *kernel, const char *initrd,
			    const char *params)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:n, s:s}", "name", name, "arch", "x86_64", "kernel",
			 kernel, "initrd", initrd, "rootfs", "params", params);
}

/* image or (kernel and initrd); NULL → JSON null */
static inline json_t *profile(const char *name, const char *img, const char *kernel,
			      const char *initrd, const char *params)
{
	return json_pack("{s:s, s:s?, s:s?, s:s?, s:s}", "name", name, "image", img, "kernel",
			 kernel, "initrd", initrd, "params", params);
}

static inline json_t *group(const char *name, const char *prof)
{
	return json_pack("{s:s, s:s, s:s?, s:{}, s:s}", "name", name, "description", "", "profile",
			 prof, "metadata", "user_data", "");
}

/* A node with one interface (mac, ip may be NULL) and the groups given. */
static inline json_t *node(const char *name, json_int_t nid, const char *mac, const char *ip,
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

static inline void put_obj(struct store *st, enum store_kind k, json_t *o)
{
	bool created;
	struct store_err e = {{0}, {0}};
	int rc = store_obj_put(st, k, o, false, &created, &e);

	if (rc != 0)
		fail_msg("put %s: rc %d (%s: %s)", json_string_value(json_object_get(o, "name")),
			 rc, e.field, e.message);
	json_decref(o);
}

static inline void put_node(struct store *st, json_t *n)
{
	bool created;
	struct store_err e = {{0}, {0}};
	int rc = store_node_put(st, n, false, &created, &e);

	if (rc != 0)
		fail_msg("put node %s: rc %d (%s: %s)",
			 json_string_value(json_object_get(n, "name")), rc, e.field, e.message);
	json_decref(n);
}

static inline int64_t node_id(struct store *st, const char *name)
{
	int64_t id = 0;

	assert_int_equal(store_node_id(st, name, &id), 0);
	return id;
}

/* Each listed member of got equals the one in want. */
static inline void assert_fields(const char *what, json_t *got, json_t *want,
				 const char *const *keys)
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
static inline void names_of(json_t *arr, char *out, size_t len)
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

/* A boot event as the events module hands it over. */
static inline struct store_event event(int64_t id, int64_t t, const char *stage, const char *source,
				       const char *detail, const char *mac, const char *st)
{
	struct store_event e;

	memset(&e, 0, sizeof(e));
	e.node_id = id;
	e.time_us = t;
	fx_fmt(e.stage, sizeof(e.stage), "%s", stage);
	fx_fmt(e.source, sizeof(e.source), "%s", source);
	fx_fmt(e.detail, sizeof(e.detail), "%s", detail);
	fx_fmt(e.mac, sizeof(e.mac), "%s", mac);
	e.state = st;
	return e;
}

#endif
