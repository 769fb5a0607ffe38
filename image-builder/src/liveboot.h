/*
 * liveboot: the pieces a Corral live boot needs in an image it did not
 * bootstrap itself (an OCI image, or a recipe on one): a shell, a kernel,
 * dracut with its dmsquash-live, livenet and a network module (with
 * network-legacy, the programs it requires: ip, dhclient, arping, pgrep),
 * curl and sha256sum (Corral's root image check).  Checks them inside the image's
 * root, installs them when asked with the image's own package manager
 * (pkgmgr.c: apt-get, dnf or zypper; the dnf and zypper live boot package
 * sets are untried here), and names every missing piece when one is
 * missing.
 *
 * Callers: import.c and build.c (recipes with base.oci), with the layer's
 * chroot entered (liveboot_has_shell: before).
 */
#ifndef CORRAL_LIVEBOOT_H
#define CORRAL_LIVEBOOT_H

#include <stddef.h>

#include "layer.h"

/* 1 when the image has a shell; else says so and returns 0. */
int liveboot_has_shell(struct layer *l);

/*
 * Installs pkgs (and, with live_boot, the live boot pieces) with the
 * image's package manager (releasever: the recipe's base.releasever or
 * NULL, see pkgmgr.h), checks what a live boot needs, writes Corral's
 * cloud-init settings when the image has cloud-init (*cloud_init 1).
 * *net_module gets the dracut network module to use.  0, or a negative
 * errno after saying what is missing or what failed.
 */
int liveboot_prepare(struct layer *l, int live_boot, const char *releasever, char *const *pkgs,
		     size_t npkgs, const char **net_module, int *cloud_init);

#endif
