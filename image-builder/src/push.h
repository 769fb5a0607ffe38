/*
 * push: hands a stored image to corrald.
 *
 * Links (or copies, across file systems) the image's artifacts into
 * corrald's file root under images/<name>/, then creates or replaces the
 * image through corrald's API (PUT /api/v1/images/<name>, libcurl, bearer
 * token) with kernel, initrd and rootfs as file-root paths and default
 * kernel parameters for dracut's live boot:
 *   root=live:<advertise>/files/images/<name>/rootfs.squashfs ip=dhcp
 *   rd.live.overlay.overlayfs=1 net.ifnames=0 <the recipe's kernel_params>
 * corrald adds BOOTIF, the node's name and the cloud-init seed itself.
 *
 * Callers: corral-image.c only (push, build --push, rm).
 */
#ifndef CORRAL_PUSH_H
#define CORRAL_PUSH_H

#include "buf.h"
#include "imgstore.h"

struct push_opts {
	const char *url;        /* corrald API base (CORRAL_URL) */
	const char *token;      /* admin token (CORRAL_TOKEN); never logged */
	const char *files_root; /* corrald's files.root; NULL: from its /api/v1/status */
	const char *advertise;  /* base URL nodes use; NULL: from its /api/v1/status */
	const char *as;         /* name in corrald (default: the image's) */
};

/* 0, or a negative errno after printing why. */
int push_image(struct imgstore *s, const char *name, const struct push_opts *o);
/* DELETE /api/v1/images/<name>: 0, -ENOENT (not registered), -EBUSY (409,
 * in use: corrald's message into why), other negative errno. */
int push_unregister(const struct push_opts *o, const char *name, struct buf *why);
/* The default kernel parameters for an image served at base/files/dir. */
int push_params(const char *advertise, const char *dir, const char *recipe_params, struct buf *out);

#endif
