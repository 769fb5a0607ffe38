/*
 * build: a checked recipe → layers in the image store.
 *
 * Builds the parent chain first; a layer whose key (recipe digest + parent
 * key) is already in the store is reused ("cached").  A base layer is made
 * with mmdebstrap (the machine's apt sources unless the recipe names a
 * mirror), a child layer from its parent's squashfs; then packages, files,
 * commands (chroot, argv), cloud-init settings, and layer.c's steps: the
 * dracut live initramfs with Corral's root image check (in the chroot with
 * /proc, /sys, /dev mounted), mksquashfs (zstd) and manifest.json.  Everything happens in STORE/tmp and
 * appears in the store with one rename; every exit path (error, SIGINT,
 * SIGTERM) unmounts and removes the temporary tree.
 *
 * Callers: corral-image.c (build); tests (build_sources_from_deb822).
 */
#ifndef CORRAL_BUILD_H
#define CORRAL_BUILD_H

#include "imgstore.h"
#include "recipe.h"

struct build_opts {
	int force;           /* rebuild the top layer even when cached */
	int quiet;           /* no progress lines */
	const char *sources; /* apt deb822 sources file (default: the machine's) */
};

/* Corral's dracut modules: where (bootmod_dir) and their digest, which
 * enters every layer key. */
struct build_boot {
	char dir[4096];
	char digest[65];
};
/* 0, or a negative errno after saying what is missing. */
int build_boot_init(struct build_boot *boot);

/* A layer's key from its content digest (a recipe's, an import's), its
 * parent's key ("" for none) and the digest of Corral's dracut modules. */
void build_layer_key(const char *digest, const char *parent_key, const char *boot_digest,
		     char key[65]);

/* Builds r (and its parents) into s.  On success key holds the top layer's
 * key.  0, or a negative errno after printing what failed and where the
 * log is; -EINTR when interrupted. */
int build_image(struct imgstore *s, const struct recipe *r, const struct build_opts *o,
		char key[65]);

/* "deb URI SUITE COMPONENTS" lines for suite (and suite-updates,
 * suite-security) from a deb822 sources file, one per line into out. */
int build_sources_from_deb822(const char *text, const char *suite, struct buf *out);

#endif
