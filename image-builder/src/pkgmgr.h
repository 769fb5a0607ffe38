/*
 * pkgmgr: the package manager of an image Corral did not bootstrap (an OCI
 * image, or a recipe on one): apt-get, dnf or zypper, probed in that order
 * inside the image's root, and run in its chroot with the flags a build
 * root needs (no questions, no weak dependencies or recommends, no docs
 * for dnf, caches emptied afterwards).
 *
 * dnf and zypper expand $releasever in repository files.  dnf learns it
 * from the package that provides system-release; a root without one (a
 * minimal or hand-made image) needs --releasever, so pkgmgr gives it: the
 * recipe's base.releasever (import --releasever), else the image's
 * /etc/os-release VERSION_ID when no package provides system-release,
 * else a clear error naming base.releasever.  zypper gets the same value
 * when one is known, else reads its base product as it always does.
 *
 * Security: only the image's own programs run, in its chroot; os-release
 * is read with every link resolved inside the root.
 *
 * Callers: liveboot.c and build.c, with the layer's chroot entered.
 */
#ifndef CORRAL_PKGMGR_H
#define CORRAL_PKGMGR_H

#include <stddef.h>

#include "layer.h"

struct pkgmgr;

/* The image's package manager, or NULL when it has none of the three. */
const struct pkgmgr *pkgmgr_find(struct layer *l);
/* "apt-get", "dnf" or "zypper". */
const char *pkgmgr_name(const struct pkgmgr *pm);
/* The packages a live boot needs under this package manager's names
 * (NULL-terminated; static); kernel gets the kernel package's name (the
 * Debian one carries the architecture). */
const char *const *pkgmgr_live_packages(const struct pkgmgr *pm, const char *arch, char *kernel,
					size_t kernel_len);

/*
 * Refreshes the package lists (where the manager needs it), then installs
 * (remove 0) or removes (remove 1) pkgs in one transaction.  releasever:
 * the recipe's base.releasever or NULL (above).  0, or a negative errno
 * after saying what failed (the manager's own lines included).
 */
int pkgmgr_run(struct layer *l, const struct pkgmgr *pm, const char *releasever, int remove,
	       const char *const *pkgs, size_t npkgs);

/* Empties the manager's caches in the image (downloaded packages,
 * metadata).  0 or a negative errno (said). */
int pkgmgr_clean(struct layer *l, const struct pkgmgr *pm);

/* 1 when s may be a release version: 1-32 of [A-Za-z0-9._-]. */
int pkgmgr_releasever_ok(const char *s);

#endif
