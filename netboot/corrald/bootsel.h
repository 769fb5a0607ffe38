/*
 * bootsel: what a node boots and which cloud-init data it gets: the
 * precedence rules node → its groups (in the node's order) → defaults.
 *
 * Owns the rules, not the data.  It reads the store's rows (nodes, their
 * groups, the defaults, profiles, images) inside one read transaction
 * (store_txn_read), so a lookup sees one snapshot.  Called by serve.c (boot
 * scripts, cloud-init files, which boot file a download is) and, through
 * serve, by api.c; thread-safe as the store is.  The pure helpers
 * (bootsel_pick_profile, bootsel_join_params) hold the rules themselves.
 *
 * Errors: 0; -ENOENT no such node; -ENOMEM; -E2BIG a stored value longer
 * than its field; anything else the store returned (store_errmsg()).
 * Nothing here logs: the caller decides what a failure means.
 */
#ifndef CORRAL_BOOTSEL_H
#define CORRAL_BOOTSEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

/* What a boot script needs, resolved. */
struct bootsel {
	int64_t node_id;
	char name[64];
	char mac[18]; /* boot MAC: the one asked for, else the first interface */
	char arch[16];
	bool enabled;
	bool has_profile;               /* false: nothing to boot */
	char profile[64];               /* profile name */
	char source[80];                /* "node", "group <name>", "default" or "none" */
	char image[64];                 /* image name or "" */
	char *kernel, *initrd, *rootfs; /* locations (path or URL); rootfs may be NULL */
	char *params;                   /* image + profile + node parameters, space-joined */
	char rootfs_sha256[65];         /* the image's root image digest, or "" */
};

/* How bootsel_lookup's value names the node; ID is the node's row id in decimal. */
enum bootsel_key { BOOTSEL_MAC, BOOTSEL_NAME, BOOTSEL_NID, BOOTSEL_ID };

/*
 * Resolves the node value names and what it boots into *out (which
 * bootsel_clear() frees after a 0; on failure it holds nothing).  A
 * disabled node or one without a profile is still found (enabled false,
 * has_profile false).
 */
int bootsel_lookup(struct store *st, enum bootsel_key key, const char *value, struct bootsel *out);
void bootsel_clear(struct bootsel *b);

/*
 * The precedence rule: the node's own profile (own, NULL if none), else the
 * first of its groups (an array of objects with "name" and "profile", in
 * the node's order) that has one, else the default (dflt, NULL if none).
 * *profile (borrowed from the arguments) is NULL when none applies; source
 * gets "node", "group <name>", "default" or "none".  0 or -E2BIG.
 */
int bootsel_pick_profile(const char *own, json_t *groups, const char *dflt, const char **profile,
			 char *source, size_t srclen);

/* "a b c" from the parts that are neither NULL nor empty, in order;
 * the caller frees it.  NULL when out of memory. */
char *bootsel_join_params(const char *const *parts, size_t n);

/*
 * A node's cloud-init layers, least specific first: the defaults, its
 * groups in its order, the node itself.  *metadata gets an array of
 * objects, *user_data an array of strings (both the caller's); the node's
 * name goes to name.  -ENOENT if node_id is no node.
 */
int bootsel_cloudinit_layers(struct store *st, int64_t node_id, char *name, size_t namelen,
			     json_t **metadata, json_t **user_data);

#endif
