/*
 * liveboot: what an image that Corral did not bootstrap (an OCI image)
 * needs to boot live, checked and, when asked, installed.  See liveboot.h.
 *
 * Security: only the image's own programs run, inside its chroot; the
 * checks look at paths inside its root (glob under the root directory).
 */
#include "liveboot.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>

#include "pkgmgr.h"
#include "proc.h"

/* 1 when the image has any of the paths (globs, inside its root). */
static int has_any(struct layer *l, const char *const *paths)
{
	for (int i = 0; paths[i]; i++) {
		glob_t g;
		char pat[4200];
		if (buf_fmt(pat, sizeof(pat), "%s%s", buf_str(&l->root), paths[i]) < 0)
			continue;
		int found = glob(pat, GLOB_NOSORT, NULL, &g) == 0 && g.gl_pathc > 0;
		globfree(&g);
		if (found)
			return 1;
	}
	return 0;
}

#define DRACUT_MODS "/usr/lib/dracut/modules.d/"

/* What a live boot needs of the image. */
struct need {
	const char *what;
	const char *paths[5];
};
static const struct need needs[] = {
	{"a shell (/bin/sh)", {"/bin/sh", "/usr/bin/sh", NULL}},
	{"a kernel (/boot/vmlinuz-* or /lib/modules/*/vmlinuz)",
	 {"/boot/vmlinuz-*", "/lib/modules/*/vmlinuz", "/usr/lib/modules/*/vmlinuz", NULL}},
	{"dracut", {"/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut", NULL}},
	{"dracut's dmsquash-live module", {DRACUT_MODS "*dmsquash-live", NULL}},
	{"dracut's livenet module", {DRACUT_MODS "*livenet", NULL}},
	{"a dracut network module (network-legacy or network-manager)",
	 {DRACUT_MODS "*network-legacy", DRACUT_MODS "*network-manager", NULL}},
	{"curl", {"/usr/bin/curl", "/bin/curl", NULL}},
	{"sha256sum", {"/usr/bin/sha256sum", "/bin/sha256sum", NULL}},
};

/* The programs dracut 059's network-legacy module requires (its check()):
 * without one dracut leaves the module out, and livenet with it ("dracut
 * module 'livenet' cannot be found or installed"). */
static const struct need legacy_needs[] = {
	{"ip (iproute2; dracut's network-legacy needs it)",
	 {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip", NULL}},
	{"dhclient (dracut's network-legacy needs it)",
	 {"/usr/sbin/dhclient", "/sbin/dhclient", NULL}},
	{"arping (dracut's network-legacy needs it)",
	 {"/usr/sbin/arping", "/usr/bin/arping", "/sbin/arping", "/usr/sbin/arping2", NULL}},
	{"pgrep (procps; dracut's network-legacy needs it)",
	 {"/usr/bin/pgrep", "/bin/pgrep", NULL}},
};

static int missing_of(struct layer *l, const struct need *n, size_t count, struct buf *out,
		      int *found)
{
	for (size_t i = 0; i < count; i++)
		if (!has_any(l, n[i].paths))
			buf_printf(out, "%s%s", (*found)++ ? "; " : "", n[i].what);
	return *found;
}

/* Every missing piece, "; "-joined, into out; 0 when none is missing. */
static int missing(struct layer *l, struct buf *out)
{
	const char *legacy[] = {DRACUT_MODS "*network-legacy", NULL};
	int n = 0;
	missing_of(l, needs, sizeof(needs) / sizeof(needs[0]), out, &n);
	/* network-legacy is the one used when present (liveboot_prepare). */
	if (has_any(l, legacy))
		missing_of(l, legacy_needs, sizeof(legacy_needs) / sizeof(legacy_needs[0]), out,
			   &n);
	return n;
}

#define LIVEBOOT_MAX_PKGS 4200

/* Installs extra (a recipe's packages) and, with live_boot, the live boot
 * pieces, with the image's package manager in one transaction; then
 * empties its caches. */
static int install(struct layer *l, int live_boot, const char *releasever, char *const *extra,
		   size_t nextra)
{
	const struct pkgmgr *pm = pkgmgr_find(l);
	const char *argv[LIVEBOOT_MAX_PKGS];
	char kpkg[64], what[160];
	size_t a = 0;
	int rc;
	if (pm == NULL) {
		fprintf(stderr,
			"corral-image: %s: the image has no apt-get, dnf or zypper to install %s "
			"with\n",
			l->name, live_boot ? "the live boot pieces" : "packages");
		return -ENOENT;
	}
	buf_fmt_msg(what, sizeof(what), "%s: %s%s%zu packages", pkgmgr_name(pm),
		    live_boot ? "kernel, dracut live modules, " : "", nextra ? "+" : "", nextra);
	proc_stage("packages", what);
	if (live_boot) {
		const char *const *live = pkgmgr_live_packages(pm, l->arch, kpkg, sizeof(kpkg));
		argv[a++] = kpkg;
		for (int i = 0; live[i]; i++)
			argv[a++] = live[i];
	}
	for (size_t i = 0; i < nextra && a < LIVEBOOT_MAX_PKGS; i++)
		argv[a++] = extra[i];
	if ((rc = pkgmgr_run(l, pm, releasever, 0, argv, a)) < 0 || (rc = pkgmgr_clean(l, pm)) < 0)
		return rc;
	proc_stage_done("done");
	return 0;
}

/* cloud-init settings (when the image has cloud-init), as recipe builds. */
static int cloud_settings(struct layer *l, int *cloud_init)
{
	static const char cfg[] = "# written by corral-image: NoCloud from Corral's seed URL\n"
				  "datasource_list: [NoCloud, None]\n"
				  "ssh_genkeytypes: [ed25519]\n";
	const char *p[] = {"/etc/cloud", NULL};
	if (!(*cloud_init = has_any(l, p)))
		return 0;
	return layer_put_file(l, "/etc/cloud/cloud.cfg.d/90-corral.cfg", NULL, cfg, sizeof(cfg) - 1,
			      0644);
}

int liveboot_has_shell(struct layer *l)
{
	const char *sh[] = {"/bin/sh", "/usr/bin/sh", NULL};
	if (has_any(l, sh))
		return 1;
	fprintf(stderr,
		"corral-image: %s: the image has no /bin/sh: nothing can run in it (dracut, a "
		"package manager)\n",
		l->name);
	return 0;
}

int liveboot_prepare(struct layer *l, int live_boot, const char *releasever, char *const *pkgs,
		     size_t npkgs, const char **net_module, int *cloud_init)
{
	const char *legacy[] = {DRACUT_MODS "*network-legacy", NULL};
	struct buf miss;
	int rc;
	if ((live_boot || npkgs > 0) && (rc = install(l, live_boot, releasever, pkgs, npkgs)) < 0)
		return rc;
	buf_init(&miss, 4096);
	if (missing(l, &miss) > 0) {
		fprintf(stderr,
			"corral-image: %s: the image cannot boot as a Corral live image; it lacks: "
			"%s.  Add them to the image, or ask for them (import --live-boot, a "
			"recipe's live_boot: true) to install them with its apt-get, dnf or "
			"zypper\n",
			l->name, buf_str(&miss));
		buf_clear(&miss);
		return -ENOENT;
	}
	buf_clear(&miss);
	if ((rc = cloud_settings(l, cloud_init)) < 0)
		return layer_fail(l, "cloud-init settings", rc);
	/* network-legacy where it exists (dracut 059's networkd backend never
	 * starts livenet's download), else NetworkManager's. */
	*net_module = has_any(l, legacy) ? "network-legacy" : "network-manager";
	return 0;
}
