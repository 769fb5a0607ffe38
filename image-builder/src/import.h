/*
 * import: an OCI image (an OCI image layout directory, an OCI archive or a
 * docker-archive tarball: what `skopeo copy`, `podman save` and
 * `docker save` write) → a layer in the image store, with the same
 * artefacts and manifest as a recipe build.
 *
 * Debian's OCI tools do the OCI work: `skopeo inspect --config` reads the
 * image's configuration (architecture, the layers' diff_ids), `skopeo copy`
 * turns any of the three into an OCI layout in the temporary tree, and
 * `umoci raw unpack` applies the layers in order as root (ownership, device
 * nodes, whiteouts and opaque directories handled), so no layer tarball is
 * parsed here.  Then layer.c's steps: the image's own kernel (/boot, or
 * /lib/modules/<v>/vmlinuz) and its own dracut run in the chroot, with
 * Corral's modules; an image without what a live boot needs fails naming
 * every missing piece, unless live_boot asks to install them with the
 * image's own package manager (apt-get, dnf or zypper).
 *
 * The layer key comes from the uncompressed layers' diff_ids (and the
 * name, architecture and options), never from the archive's bytes: a
 * docker-archive and an OCI archive of the same content find one layer.
 *
 * Callers: corral-image.c (import).  Pure helpers (import_source_kind,
 * import_key) for the unit tests.
 */
#ifndef CORRAL_IMPORT_H
#define CORRAL_IMPORT_H

#include <jansson.h>

#include "build.h"
#include "imgstore.h"
#include "layer.h"

struct import_opts {
	const char *source; /* directory or tarball */
	const char *name;   /* the image's name in the store */
	const char *arch;   /* Debian architecture wanted (amd64, arm64), NULL: the image's */
	const char *kernel_params; /* extra default kernel parameters, or NULL */
	int live_boot;             /* install kernel, dracut live modules when missing */
	int force, quiet;
	const char *releasever; /* dnf/zypper $releasever (pkgmgr.h), or NULL */
};

enum import_kind { IMPORT_OCI_DIR, IMPORT_OCI_ARCHIVE, IMPORT_DOCKER_ARCHIVE };

/* What SOURCE is: an OCI layout directory (has oci-layout), a tarball with
 * an oci-layout member (OCI archive) or with manifest.json (docker
 * archive).  0 and *kind, or -ENOENT / -EINVAL with the reason in why. */
int import_source_kind(const char *source, enum import_kind *kind, char *why, size_t whylen);

/* The layer's content digest from the image config's rootfs.diff_ids and
 * the import's own settings; -EINVAL when config has no diff_ids. */
int import_key(const json_t *config, const char *name, const char *arch,
	       const struct import_opts *o, char hex[65]);

/* Imports o->source as o->name; key gets the layer key.  0, or a negative
 * errno after saying what failed (-EINTR when interrupted). */
int import_image(struct imgstore *s, const struct import_opts *o, char key[65]);

/* For a recipe's base.oci: the image's content digest (its diff_ids, for
 * architecture arch) for the layer key; and its layers unpacked as l's
 * root.  0 or a negative errno (said). */
int import_content_digest(struct imgstore *s, const char *source, const char *arch, char hex[65]);
int import_unpack(struct imgstore *s, struct layer *l, const char *source);

#endif
