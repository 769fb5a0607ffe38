/*
 * bootsel: boot-profile and cloud-init precedence over the store's rows.
 * See bootsel.h.
 */
#include "bootsel.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* snprintf that says when out was too small: 0 or -E2BIG. */
static int bootsel_fmt(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bootsel_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len ? 0 : -E2BIG;
}

static const char *bootsel_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void bootsel_clear(struct bootsel *b)
{
	free(b->kernel);
	free(b->initrd);
	free(b->rootfs);
	free(b->params);
	memset(b, 0, sizeof(*b));
}

int bootsel_pick_profile(const char *own, json_t *groups, const char *dflt, const char **profile,
			 char *source, size_t srclen)
{
	if (own != NULL) {
		*profile = own;
		return bootsel_fmt(source, srclen, "node");
	}
	size_t i;
	json_t *g;
	json_array_foreach(groups, i, g) {
		const char *p = bootsel_str(g, "profile");
		if (p != NULL) {
			*profile = p;
			return bootsel_fmt(source, srclen, "group %s", bootsel_str(g, "name"));
		}
	}
	*profile = dflt;
	return bootsel_fmt(source, srclen, "%s", dflt ? "default" : "none");
}

char *bootsel_join_params(const char *const *parts, size_t n)
{
	size_t total = 1, len = 0;
	for (size_t i = 0; i < n; i++)
		total += parts[i] ? strlen(parts[i]) + 1 : 0;
	char *out = malloc(total);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (parts[i] == NULL || parts[i][0] == '\0')
			continue;
		size_t l = strlen(parts[i]);
		if (len > 0)
			out[len++] = ' ';
		memcpy(out + len, parts[i], l);
		len += l;
	}
	out[len] = '\0';
	return out;
}

/* The node's row id from the key the request used. */
static int bootsel_node_id(struct store *st, enum bootsel_key key, const char *value, int64_t *id)
{
	switch (key) {
	case BOOTSEL_MAC:
		return store_node_by_mac(st, value, id);
	case BOOTSEL_NAME:
		return store_node_id(st, value, id);
	case BOOTSEL_NID:
		return store_node_by_nid(st, strtoll(value, NULL, 10), id);
	default:
		*id = strtoll(value, NULL, 10);
		return 0;
	}
}

/* The node's own fields (store_node_boot) into b. */
static int bootsel_node(json_t *node, enum bootsel_key key, const char *value, struct bootsel *b)
{
	const char *first = bootsel_str(node, "mac");
	b->enabled = json_is_true(json_object_get(node, "enabled"));
	if (bootsel_fmt(b->name, sizeof(b->name), "%s", bootsel_str(node, "name")) < 0 ||
	    bootsel_fmt(b->arch, sizeof(b->arch), "%s", bootsel_str(node, "arch")) < 0 ||
	    bootsel_fmt(b->mac, sizeof(b->mac), "%s",
			key == BOOTSEL_MAC ? value :
			first              ? first :
					     "") < 0)
		return -E2BIG;
	return 0;
}

/*
 * The name of the profile that applies to node id (*found false if none),
 * and where it came from into b->source.  The groups and the defaults are
 * read only when the more specific levels have no profile.
 */
static int bootsel_profile_name(struct store *st, int64_t id, json_t *node, struct bootsel *b,
				bool *found)
{
	const char *own = bootsel_str(node, "profile");
	json_t *groups = NULL, *defaults = NULL;
	const char *name = NULL;
	int rc = 0;
	if (own == NULL)
		rc = store_node_groups(st, id, &groups);
	if (rc == 0)
		rc = bootsel_pick_profile(own, groups, NULL, &name, b->source, sizeof(b->source));
	if (rc == 0 && name == NULL) {
		rc = store_defaults_get(st, &defaults);
		if (rc == 0)
			rc = bootsel_pick_profile(NULL, NULL, bootsel_str(defaults, "profile"),
						  &name, b->source, sizeof(b->source));
	}
	*found = name != NULL;
	if (rc == 0 && name != NULL)
		rc = bootsel_fmt(b->profile, sizeof(b->profile), "%s", name);
	json_decref(groups);
	json_decref(defaults);
	return rc;
}

static char *bootsel_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/*
 * The profile's locations, its image's where it sets none, and the
 * parameters image + profile + node, into b.
 */
static int bootsel_profile(struct store *st, json_t *node, struct bootsel *b)
{
	json_t *profile = NULL, *image = NULL;
	int rc = store_obj_get(st, STORE_PROFILE, b->profile, &profile);
	if (rc == -ENOENT && strcmp(b->source, "default") == 0) {
		/* The defaults name a profile that is gone: nothing to boot. */
		b->profile[0] = '\0';
		return bootsel_fmt(b->source, sizeof(b->source), "none");
	}
	const char *img = rc == 0 ? bootsel_str(profile, "image") : NULL;
	if (img != NULL)
		rc = store_obj_get(st, STORE_IMAGE, img, &image);
	if (rc == 0)
		rc = bootsel_fmt(b->image, sizeof(b->image), "%s", img ? img : "");
	if (rc == 0) {
		const char *k = bootsel_str(profile, "kernel"), *i = bootsel_str(profile, "initrd");
		const char *params[] = {bootsel_str(image, "params"),
					bootsel_str(profile, "params"),
					bootsel_str(node, "params")};
		b->has_profile = true;
		b->kernel = bootsel_dup(k ? k : bootsel_str(image, "kernel"));
		b->initrd = bootsel_dup(i ? i : bootsel_str(image, "initrd"));
		b->rootfs = bootsel_dup(bootsel_str(image, "rootfs"));
		const char *sum = bootsel_str(image, "rootfs_sha256");
		if (sum != NULL &&
		    bootsel_fmt(b->rootfs_sha256, sizeof(b->rootfs_sha256), "%s", sum) < 0)
			rc = -E2BIG;
		b->params = bootsel_join_params(params, 3);
		/* A profile with neither image nor kernel/initrd cannot be stored;
		 * only memory can fail here. */
		if (b->kernel == NULL || b->initrd == NULL || b->params == NULL)
			rc = -ENOMEM;
	}
	json_decref(profile);
	json_decref(image);
	return rc;
}

static int bootsel_lookup_txn(struct store *st, enum bootsel_key key, const char *value,
			      struct bootsel *b)
{
	int64_t id;
	json_t *node = NULL;
	bool found;
	int rc = bootsel_node_id(st, key, value, &id);
	if (rc == 0)
		rc = store_node_boot(st, id, &node);
	if (rc < 0)
		return rc;
	b->node_id = id;
	rc = bootsel_node(node, key, value, b);
	if (rc == 0)
		rc = bootsel_profile_name(st, id, node, b, &found);
	if (rc == 0 && found)
		rc = bootsel_profile(st, node, b);
	json_decref(node);
	return rc;
}

int bootsel_lookup(struct store *st, enum bootsel_key key, const char *value, struct bootsel *b)
{
	memset(b, 0, sizeof(*b));
	int rc = store_txn_read(st);
	if (rc < 0)
		return rc;
	rc = bootsel_lookup_txn(st, key, value, b);
	if (rc == 0)
		rc = store_txn_commit(st);
	else
		store_txn_rollback(st);
	if (rc < 0)
		bootsel_clear(b);
	return rc;
}

/* Appends a layer's metadata (an object) and user-data (a string). */
static void bootsel_layer(json_t *metas, json_t *uds, json_t *from)
{
	json_t *m = json_object_get(from, "metadata");
	const char *ud = bootsel_str(from, "user_data");
	json_array_append_new(metas, json_is_object(m) ? json_incref(m) : json_object());
	json_array_append_new(uds, json_string(ud ? ud : ""));
}

static int bootsel_layers_txn(struct store *st, int64_t node_id, char *name, size_t namelen,
			      json_t *metas, json_t *uds)
{
	json_t *node = NULL, *defaults = NULL, *groups = NULL;
	int rc = store_node_get_id(st, node_id, &node);
	if (rc == 0)
		rc = store_defaults_get(st, &defaults);
	if (rc == 0)
		rc = store_node_groups(st, node_id, &groups);
	if (rc == 0)
		rc = bootsel_fmt(name, namelen, "%s", bootsel_str(node, "name"));
	if (rc == 0) {
		/* Unset defaults are an empty layer, which changes nothing. */
		bootsel_layer(metas, uds, defaults);
		size_t i;
		json_t *g;
		json_array_foreach(groups, i, g)
			bootsel_layer(metas, uds, g);
		bootsel_layer(metas, uds, node);
	}
	json_decref(node);
	json_decref(defaults);
	json_decref(groups);
	return rc;
}

int bootsel_cloudinit_layers(struct store *st, int64_t node_id, char *name, size_t namelen,
			     json_t **metadata, json_t **user_data)
{
	json_t *metas = json_array(), *uds = json_array();
	int rc = metas && uds ? store_txn_read(st) : -ENOMEM;
	if (rc == 0) {
		rc = bootsel_layers_txn(st, node_id, name, namelen, metas, uds);
		if (rc == 0)
			rc = store_txn_commit(st);
		else
			store_txn_rollback(st);
	}
	if (rc < 0) {
		json_decref(metas);
		json_decref(uds);
		return rc;
	}
	*metadata = metas;
	*user_data = uds;
	return 0;
}
