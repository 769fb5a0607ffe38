/*
 * layer: one layer made in the store's tmp/ and committed by one rename --
 * the steps every image goes through whatever its source (a recipe's
 * mmdebstrap or parent, an OCI image): the chroot and its mounts, files
 * written inside the image, Corral's dracut modules and the live initramfs
 * (the image's own dracut, in the chroot), the kernel, the package list,
 * squashfs, manifest.json with the sha256 of each artefact, the commit.
 *
 * A struct layer is the state its unwinding needs: layer_abort() unmounts
 * and removes the temporary tree whatever step failed.  Every failing step
 * has said what failed (layer_fail: the stage, the program's own error
 * lines, the log's path) before it returns.
 *
 * Callers: build.c (recipes) and import.c (OCI images); one layer at a time.
 */
#ifndef CORRAL_LAYER_H
#define CORRAL_LAYER_H

#include <jansson.h>
#include <sys/types.h>

#include "buf.h"
#include "imgstore.h"

struct layer {
	struct imgstore *s;
	const char *name;     /* the image's name (messages, manifest, names/) */
	const char *arch;     /* Debian architecture: amd64, arm64 */
	const char *boot_dir; /* Corral's dracut modules (bootmod_dir) */
	int quiet;
	char key[65];
	char parent_key[65]; /* "" for a base layer */
	struct buf tmp;      /* STORE/tmp/<key>.<pid> */
	struct buf root;     /* tmp/rootfs */
	struct buf out;      /* tmp/out: becomes layers/<key> */
	struct buf log;      /* STORE/logs/<name>-<time>.log */
	struct buf path;     /* scratch */
	int log_fd;
	int mounted;
	char kver[128];
	double t0;
	json_t *packages; /* [{name, version}] from dpkg and rpm, or NULL */
};

/* Zeroes l and sets what every layer needs. */
void layer_init(struct layer *l, struct imgstore *s, const char *name, const char *arch,
		const char *boot_dir, int quiet);
void layer_clear(struct layer *l);

/* Opens the build log, the temporary tree (root/, out/) for l->key.
 * 0 or a negative errno (said). */
int layer_begin(struct layer *l);
/* Says that stage failed with rc (once), with the log's place; returns rc. */
int layer_fail(struct layer *l, const char *stage, int rc);
/* Joins a-b into l->path (borrowed until the next call). */
const char *layer_path(struct layer *l, const char *a, const char *b);

/* argv (absolute path inside the image first) run in the image's chroot. */
int layer_chroot_run(struct layer *l, const char *const *cmd);
/* Writes dest inside the image (resolved inside the root: a link in the
 * image cannot send it outside) from src, or from data/len when src is
 * NULL; parents are made. */
int layer_put_file(struct layer *l, const char *dest, const char *src, const char *data, size_t len,
		   mode_t mode);
/* /proc, /sys, /dev mounted, the build machine's resolv.conf, no services
 * started by packages (policy-rc.d). */
int layer_chroot_enter(struct layer *l);
int layer_chroot_leave(struct layer *l);

/* The newest kernel of the image into l->kver: /boot/vmlinuz-<v>, else
 * /lib/modules/<v>/vmlinuz (RPM distributions).  -ENOENT, not said. */
int layer_find_kernel(struct layer *l);
/* Corral's dracut modules into the image, then dracut in the chroot with
 * dmsquash-live livenet network <net_module> corral-verify. */
int layer_initramfs(struct layer *l, const char *net_module);
/* apt-get clean (apt images), per-node identity removed, empty resolv.conf. */
int layer_tidy(struct layer *l);
/* vmlinuz and initrd into out/ (a child layer: its parent's). */
int layer_kernel(struct layer *l);
/* The image's dpkg and rpm databases as l->packages (none: an empty
 * list). */
int layer_package_list(struct layer *l);
int layer_squashfs(struct layer *l);
/* Adds artifacts (sha256, size), kernel_version, packages, built,
 * build_seconds and builder to m (which holds the source's own fields)
 * and writes out/manifest.json. */
int layer_manifest(struct layer *l, json_t *m);
/* Moves out/ to layers/<key>, points names/<name> at it, removes tmp. */
int layer_commit(struct layer *l);
/* After a failure: unmounts, removes the temporary tree. */
void layer_abort(struct layer *l);

#endif
