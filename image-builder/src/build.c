/*
 * build: recipe → layers, through layer.c's steps.  See build.h.
 *
 * Security: the recipe's packages, paths and commands reach programs only
 * as separate argv elements (never through a shell); files go into the
 * image through layer_put_file (resolved inside the image's root).
 */
#include "build.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootmod.h"
#include "digest.h"
#include "foreign.h"
#include "fsutil.h"
#include "import.h"
#include "layer.h"
#include "liveboot.h"
#include "mounts.h"
#include "pkgmgr.h"
#include "proc.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "0.1"
#endif

#define MAX_ARGS 8192
#define SOURCES_DEFAULT "/etc/apt/sources.list.d/debian.sources"

/* What every bootable image needs besides the recipe's packages (and
 * linux-image-<arch>): dracut's live boot (dmsquash-live, livenet) and zstd
 * for its compression (dracut silently falls back to gzip without it), curl
 * (livenet downloads with it, Corral's root image check reports with it),
 * dhclient (network-legacy), dbus (the kernel's initramfs hook fails
 * without it when Recommends are off). */
static const char *const boot_packages[] = {
	"dracut", "dracut-live", "dracut-network", "dbus", "zstd", "curl", "isc-dhcp-client", NULL,
};
/* cloud-init settings baked into images that enable it. */
static const char cloud_cfg[] =
	"# written by corral-image: NoCloud from Corral's seed URL\n"
	"datasource_list: [NoCloud, None]\n"
	"# RSA host keys cost half a minute on slow machines\n"
	"ssh_genkeytypes: [ed25519]\n"
	"# images carry no locale data (C.UTF-8 only): nothing to generate\n"
	"locale: false\n";

/* One recipe layer: the layer's state and the recipe's. */
struct job {
	struct layer L;
	const struct recipe *r;
	const struct build_opts *o;
	char digest[65];     /* the recipe's */
	char oci_digest[65]; /* base.oci: the image's content (diff_ids) */
};

int build_sources_from_deb822(const char *text, const char *suite, struct buf *out)
{
	/* Stanzas are separated by blank lines; we need Types, URIs, Suites,
	 * Components. */
	char types[256] = "", uris[1024] = "", suites[512] = "", comps[256] = "";
	const struct {
		const char *key;
		char *val;
		size_t size;
	} fields[] = {{"Types", types, sizeof(types)},
		      {"URIs", uris, sizeof(uris)},
		      {"Suites", suites, sizeof(suites)},
		      {"Components", comps, sizeof(comps)}};
	size_t slen = strlen(suite);
	int rc = 0, cut = 0; /* cut: a field of this stanza did not fit; it is skipped */
	const char *p = text;
	for (;;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char line[2048];
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		int blank = strspn(line, " \t\r") == n;
		if (!blank && line[0] != '#') {
			char *colon = strchr(line, ':');
			if (colon && line[0] != ' ' && line[0] != '\t') {
				*colon = '\0';
				char *v = colon + 1 + strspn(colon + 1, " \t");
				v[strcspn(v, "\r")] = '\0';
				for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
					if (strcasecmp(line, fields[i].key) == 0 &&
					    buf_fmt(fields[i].val, fields[i].size, "%s", v) < 0)
						cut = 1;
			}
		}
		if ((blank || e == NULL) && uris[0] && suites[0]) {
			if (!cut && strstr(types, "deb") != NULL &&
			    (strstr(types, "deb ") != NULL || strcmp(types, "deb") == 0 ||
			     strncmp(types, "deb", 4) == 0)) {
				char *s1 = NULL, *s2 = NULL;
				for (char *u = strtok_r(uris, " \t", &s1); u;
				     u = strtok_r(NULL, " \t", &s1)) {
					char sc[sizeof(suites)];
					memcpy(sc, suites, sizeof(sc)); /* strtok_r cuts its copy */
					for (char *su = strtok_r(sc, " \t", &s2); su;
					     su = strtok_r(NULL, " \t", &s2)) {
						if (strncmp(su, suite, slen) != 0 ||
						    (su[slen] != '\0' && su[slen] != '-'))
							continue;
						if (rc == 0)
							rc = buf_printf(out, "deb %s %s %s\n", u,
									su,
									comps[0] ? comps : "main");
					}
				}
			}
			types[0] = uris[0] = suites[0] = comps[0] = '\0';
			cut = 0;
		}
		if (e == NULL)
			break;
		p = e + 1;
	}
	return rc;
}

/* ---- stages ------------------------------------------------------------- */

/* base.oci: the image's layers as the root (import.c: skopeo, umoci). */
static int stage_base_oci(struct job *j)
{
	int rc = foreign_ready(j->r->arch);
	return rc < 0 ? rc : import_unpack(j->L.s, &j->L, j->r->oci);
}

#define PROFILE_TOP 12

/* The build log gets the slowest steps of dpkg's run in the new root
 * (dpkg.log: one timestamped line per state change; the time to
 * the next line is the step's, e.g. a postinst after "half-configured"):
 * where a build under qemu-user spends its time. */
static void log_dpkg_profile(struct job *j)
{
	struct buf text;
	struct {
		long secs;
		char what[96];
	} top[PROFILE_TOP] = {{0}};
	long prev_t = -1, first_t = -1;
	char prev_what[96] = "";
	buf_init(&text, 16 << 20);
	const char *path = layer_path(&j->L, buf_str(&j->L.root), "var/log/corral-dpkg.log");
	int rc = fs_read_file(path, text.cap, &text);
	unlink(path);
	if (rc < 0) {
		buf_clear(&text);
		return;
	}
	for (char *save = NULL, *ln = strtok_r(text.data, "\n", &save); ln;
	     ln = strtok_r(NULL, "\n", &save)) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		char *rest = strptime(ln, "%Y-%m-%d %H:%M:%S ", &tm);
		if (rest == NULL)
			continue;
		long t = (long)timegm(&tm);
		if (first_t < 0)
			first_t = t;
		if (prev_t >= 0 && t - prev_t > top[PROFILE_TOP - 1].secs) {
			int i = PROFILE_TOP - 1;
			for (; i > 0 && top[i - 1].secs < t - prev_t; i--)
				top[i] = top[i - 1];
			top[i].secs = t - prev_t;
			memcpy(top[i].what, prev_what, sizeof(prev_what));
		}
		prev_t = t;
		buf_fmt_msg(prev_what, sizeof(prev_what), "%s", rest);
	}
	if (first_t >= 0)
		proc_log("dpkg.log spans %ld s; its longest gaps (s, then the line they follow):",
			 prev_t - first_t);
	for (int i = 0; i < PROFILE_TOP && top[i].secs > 0; i++)
		proc_log("  %5ld  %s", top[i].secs, top[i].what);
	buf_clear(&text);
}

static int stage_base(struct job *j)
{
	const char *argv[MAX_ARGS];
	size_t a = 0;
	struct buf inc, variant, arch, srcs, what;
	int rc;

	buf_init(&inc, 65536);
	buf_init(&variant, 64);
	buf_init(&arch, 64);
	buf_init(&srcs, 65536);
	buf_init(&what, 256);
	const struct recipe *r = j->r;
	buf_printf(&variant, "--variant=%s", r->variant);
	buf_printf(&arch, "--architectures=%s", r->arch);
	buf_adds(&inc, "--include=");
	for (int i = 0; boot_packages[i]; i++)
		buf_printf(&inc, "%s%s", i ? "," : "", boot_packages[i]);
	buf_printf(&inc, ",linux-image-%s", r->arch);
	for (size_t i = 0; i < r->npackages; i++)
		buf_printf(&inc, ",%s", r->packages[i]);
	int has_ci = 0;
	for (size_t i = 0; i < r->npackages; i++)
		has_ci |= strcmp(r->packages[i], "cloud-init") == 0;
	if (recipe_cloud_init(j->r) && !has_ci)
		buf_adds(&inc, ",cloud-init");
	if (r->mirror != NULL) {
		rc = buf_printf(&srcs, "deb %s %s main\n", r->mirror, r->suite);
	} else {
		const char *sf = j->o->sources ? j->o->sources : SOURCES_DEFAULT;
		struct buf text;
		buf_init(&text, 1 << 20);
		rc = fs_read_file(sf, text.cap, &text);
		if (rc == 0)
			rc = build_sources_from_deb822(buf_str(&text), r->suite, &srcs);
		buf_clear(&text);
		if (rc == 0 && srcs.len == 0)
			rc = -ENOENT;
		if (rc < 0) {
			fprintf(stderr,
				"corral-image: %s: no apt source for suite %s in %s; give base.mirror\n",
				j->r->path, r->suite, sf);
			goto out;
		}
	}
	if ((rc = foreign_ready(r->arch)) < 0)
		goto out;
	buf_printf(&what, "mmdebstrap %s %s %s", r->suite, r->variant, r->arch);
	proc_stage("rootfs", buf_str(&what));
	argv[a++] = "/usr/bin/mmdebstrap";
	argv[a++] = "--mode=root";
	argv[a++] = buf_str(&variant);
	argv[a++] = buf_str(&arch);
	argv[a++] = buf_str(&inc);
	/* Documentation and translations are dead weight in a RAM root. */
	argv[a++] = "--dpkgopt=path-exclude=/usr/share/man/*";
	argv[a++] = "--dpkgopt=path-exclude=/usr/share/doc/*";
	argv[a++] = "--dpkgopt=path-include=/usr/share/doc/*/copyright";
	argv[a++] = "--dpkgopt=path-exclude=/usr/share/locale/*";
	argv[a++] = "--dpkgopt=path-exclude=/usr/share/info/*";
	argv[a++] = "--aptopt=Acquire::Retries \"3\"";
	argv[a++] = "--aptopt=Acquire::Languages \"none\"";
	/* No fsync per file: a half-written root is thrown away anyway. */
	argv[a++] = "--dpkgopt=force-unsafe-io";
	/* openssh-server's postinst makes RSA, ECDSA and Ed25519 host keys
	 * unless the files exist; tidy deletes them (cloud-init makes each
	 * node's at boot).  Empty stand-ins skip the key generation, which
	 * costs minutes through qemu-user.  A constant hook, no recipe text. */
	argv[a++] = "--essential-hook=mkdir -p \"$1/etc/ssh\" && for t in rsa ecdsa ed25519; do "
		    ": > \"$1/etc/ssh/ssh_host_${t}_key\"; done";
	/* mmdebstrap deletes dpkg.log when it cleans up; a copy (tidy removes
	 * it) feeds log_dpkg_profile. */
	argv[a++] = "--customize-hook=cp \"$1/var/log/dpkg.log\" \"$1/var/log/corral-dpkg.log\"";
	argv[a++] = r->suite;
	argv[a++] = buf_str(&j->L.root);
	for (char *save = NULL, *l = strtok_r(srcs.data, "\n", &save); l && a < MAX_ARGS - 1;
	     l = strtok_r(NULL, "\n", &save))
		argv[a++] = l;
	argv[a] = NULL;
	rc = proc_run(argv, NULL);
	if (rc < 0) {
		layer_fail(&j->L, "rootfs (mmdebstrap)", rc);
		goto out;
	}
	log_dpkg_profile(j);
	proc_stage_done("done");
out:
	buf_clear(&inc);
	buf_clear(&variant);
	buf_clear(&arch);
	buf_clear(&srcs);
	buf_clear(&what);
	return rc;
}

static int stage_unpack_parent(struct job *j)
{
	struct buf sq;
	int rc;
	buf_init(&sq, 4096);
	imgstore_layer_path(j->L.s, j->L.parent_key, "rootfs.squashfs", &sq);
	proc_stage("rootfs", "unsquashfs parent");
	const char *argv[] = {"/usr/bin/unsquashfs", "-no-progress", "-d",
			      buf_str(&j->L.root),   buf_str(&sq),   NULL};
	rc = proc_run(argv, NULL);
	buf_clear(&sq);
	if (rc < 0)
		return layer_fail(&j->L, "rootfs (unsquashfs)", rc);
	proc_stage_done("done");
	return 0;
}

/* apt-get VERB PACKAGES... in the image ("install" without recommends). */
static int apt_get(struct job *j, const char *verb, char *const *pkgs, size_t n)
{
	const char *argv[MAX_ARGS]; /* recipes hold at most 4096 packages */
	size_t a = 0;
	char what[64];
	int rc;
	argv[a++] = "/usr/bin/apt-get";
	argv[a++] = "-q";
	argv[a++] = "-y";
	if (strcmp(verb, "install") == 0)
		argv[a++] = "--no-install-recommends";
	argv[a++] = verb;
	for (size_t i = 0; i < n && a < MAX_ARGS - 1; i++)
		argv[a++] = pkgs[i];
	argv[a] = NULL;
	if ((rc = layer_chroot_run(&j->L, argv)) < 0) {
		buf_fmt_msg(what, sizeof(what), "packages (apt-get %s)", verb);
		return layer_fail(&j->L, what, rc);
	}
	return 0;
}

/* A child of an image whose package manager is dnf or zypper (a recipe
 * on an RPM image's base.oci): its packages with that manager. */
static int stage_packages_rpm(struct job *j, const struct pkgmgr *pm)
{
	const struct recipe *r = j->r;
	char what[160];
	int rc;
	/* releasever is base.oci's: the nearest recipe file up the chain that
	 * gives one (a parent named from the store: the image's os-release). */
	const char *rel = NULL;
	for (const struct recipe *p = r; p != NULL && rel == NULL; p = p->parent_recipe)
		rel = p->releasever;
	buf_fmt_msg(what, sizeof(what), "%s: +%zu -%zu packages", pkgmgr_name(pm), r->npackages,
		    r->nremove);
	proc_stage("packages", what);
	if (r->npackages > 0 &&
	    (rc = pkgmgr_run(&j->L, pm, rel, 0, (const char *const *)r->packages, r->npackages)) <
		    0)
		return rc;
	if (r->nremove > 0 &&
	    (rc = pkgmgr_run(&j->L, pm, rel, 1, (const char *const *)r->remove, r->nremove)) < 0)
		return rc;
	if ((rc = pkgmgr_clean(&j->L, pm)) < 0)
		return rc;
	proc_stage_done("done");
	return 0;
}

static int stage_packages(struct job *j)
{
	const struct recipe *r = j->r;
	int rc;
	char what[160];

	if (r->npackages == 0 && r->nremove == 0)
		return 0;
	const struct pkgmgr *pm = pkgmgr_find(&j->L);
	if (pm != NULL && strcmp(pkgmgr_name(pm), "apt-get") != 0)
		return stage_packages_rpm(j, pm);
	buf_fmt_msg(what, sizeof(what), "apt-get: +%zu -%zu packages", r->npackages, r->nremove);
	proc_stage("packages", what);
	const char *upd[] = {"/usr/bin/apt-get", "-q", "update", NULL};
	if ((rc = layer_chroot_run(&j->L, upd)) < 0)
		return layer_fail(&j->L, "packages (apt-get update)", rc);
	if (r->npackages > 0 && (rc = apt_get(j, "install", r->packages, r->npackages)) < 0)
		return rc;
	if (r->nremove > 0 && (rc = apt_get(j, "purge", r->remove, r->nremove)) < 0)
		return rc;
	proc_stage_done("done");
	return 0;
}

static int stage_remove_base(struct job *j)
{
	const struct recipe *r = j->r;
	int rc;
	if (r->nremove == 0)
		return 0;
	proc_stage("packages", "apt-get purge");
	if ((rc = apt_get(j, "purge", r->remove, r->nremove)) < 0)
		return rc;
	proc_stage_done("done");
	return 0;
}

/* base.oci's `remove`, with the image's own package manager. */
static int stage_remove_oci(struct job *j)
{
	const struct recipe *r = j->r;
	const struct pkgmgr *pm = pkgmgr_find(&j->L);
	char what[64];
	int rc;
	if (r->nremove == 0)
		return 0;
	if (pm == NULL) {
		fprintf(stderr,
			"corral-image: %s: remove: the image has no apt-get, dnf or zypper\n",
			r->name);
		return -ENOENT;
	}
	buf_fmt_msg(what, sizeof(what), "%s: -%zu packages", pkgmgr_name(pm), r->nremove);
	proc_stage("packages", what);
	if ((rc = pkgmgr_run(&j->L, pm, r->releasever, 1, (const char *const *)r->remove,
			     r->nremove)) < 0)
		return rc;
	proc_stage_done("done");
	return 0;
}

static int stage_files(struct job *j)
{
	const struct recipe *r = j->r;
	int rc;
	if (r->nfiles == 0 && !recipe_cloud_init(r))
		return 0;
	proc_stage("files", "files and settings");
	for (size_t i = 0; i < r->nfiles; i++) {
		rc = layer_put_file(&j->L, r->files[i].dest, r->files[i].src, NULL, 0,
				    r->files[i].mode);
		if (rc < 0)
			return layer_fail(&j->L, r->files[i].dest, rc);
	}
	/* An OCI base gets them from liveboot.c, when it has cloud-init. */
	if (recipe_cloud_init(r) && r->parent_recipe == NULL && r->parent == NULL &&
	    r->oci == NULL) {
		rc = layer_put_file(&j->L, "/etc/cloud/cloud.cfg.d/90-corral.cfg", NULL, cloud_cfg,
				    sizeof(cloud_cfg) - 1, 0644);
		if (rc < 0)
			return layer_fail(&j->L, "cloud-init settings", rc);
	}
	proc_stage_done("done");
	return 0;
}

static int stage_run(struct job *j)
{
	const struct recipe *r = j->r;
	char what[160];
	int rc;
	for (size_t i = 0; i < r->nrun; i++) {
		buf_fmt_msg(what, sizeof(what), "run: %s (line %d)", r->run[i].argv[0],
			    r->run[i].line);
		proc_stage("run", what);
		if ((rc = layer_chroot_run(&j->L, (const char *const *)r->run[i].argv)) < 0) {
			char st[200];
			buf_fmt_msg(st, sizeof(st), "%s:%d: run command %s", r->path,
				    r->run[i].line, r->run[i].argv[0]);
			return layer_fail(&j->L, st, rc);
		}
		proc_stage_done("done");
	}
	return 0;
}

/* Kernel parameters of the whole chain, base first. */
static void chain_params(const struct recipe *r, struct buf *out)
{
	if (r == NULL)
		return;
	chain_params(r->parent_recipe, out);
	if (r->kernel_params != NULL)
		buf_printf(out, "%s%s", out->len ? " " : "", r->kernel_params);
}

/* The recipe's part of the manifest; layer_manifest adds the rest. */
static int stage_manifest(struct job *j)
{
	const struct recipe *r = j->r, *root = recipe_root(r);
	json_t *m = json_object();
	struct buf params;
	buf_init(&params, 8192);
	chain_params(r, &params);
	json_object_set_new(m, "description",
			    r->description ? json_string(r->description) : json_null());
	json_object_set_new(m, "recipe",
			    json_pack("{s:s,s:s}", "path", r->realpath ? r->realpath : r->path,
				      "digest", j->digest));
	json_object_set_new(m, "source", json_null());
	if (j->L.parent_key[0])
		json_object_set_new(m, "parent",
				    json_pack("{s:s,s:s}", "name",
					      r->parent_recipe ? r->parent_recipe->name : r->parent,
					      "key", j->L.parent_key));
	else
		json_object_set_new(m, "parent", json_null());
	if (root != NULL && root->oci != NULL)
		json_object_set_new(m, "base",
				    json_pack("{s:s,s:s,s:b}", "oci", root->oci, "content",
					      j->oci_digest, "live_boot", root->live_boot));
	else if (root != NULL)
		json_object_set_new(m, "base",
				    json_pack("{s:s,s:s,s:o}", "suite", root->suite, "variant",
					      root->variant, "mirror",
					      root->mirror ? json_string(root->mirror) :
							     json_string("(apt sources)")));
	json_object_set_new(m, "kernel_params", json_string(buf_str(&params)));
	json_object_set_new(m, "cloud_init", json_boolean(recipe_cloud_init(r)));
	int rc = layer_manifest(&j->L, m);
	json_decref(m);
	buf_clear(&params);
	return rc;
}

/* Steps inside the chroot: packages, files, commands, the initramfs (base
 * layers; a child boots its parent's), tidy. */
static int build_in_chroot(struct job *j)
{
	const struct recipe *r = j->r;
	const char *net = "network-legacy";
	int rc, cloud_init = 0;
	int child = j->L.parent_key[0] != '\0';
	if (r->oci != NULL && !liveboot_has_shell(&j->L))
		return -ENOENT;
	if ((rc = layer_chroot_enter(&j->L)) < 0)
		return layer_fail(&j->L, "chroot mounts", rc);
	/* On an OCI image: the files first (a repository file for its package
	 * manager is one), then its package manager installs the recipe's
	 * packages (and with live_boot what a live boot needs) and removes
	 * `remove`; then the same check as an import. */
	if (r->oci != NULL) {
		if ((rc = stage_files(j)) < 0 || (rc = stage_remove_oci(j)) < 0)
			return rc;
		rc = liveboot_prepare(&j->L, r->live_boot, r->releasever, r->packages, r->npackages,
				      &net, &cloud_init);
		if (rc < 0 || (rc = stage_run(j)) < 0)
			return rc;
	} else if ((rc = child ? stage_packages(j) : stage_remove_base(j)) < 0 ||
		   (rc = stage_files(j)) < 0 || (rc = stage_run(j)) < 0) {
		return rc;
	}
	if (!child)
		rc = layer_initramfs(&j->L, net);
	else if ((rc = layer_find_kernel(&j->L)) < 0) /* the parent's version */
		fprintf(stderr, "corral-image: %s: no kernel in the image\n", j->r->name);
	if (rc < 0 || (rc = layer_tidy(&j->L)) < 0)
		return rc;
	if ((rc = layer_chroot_leave(&j->L)) < 0)
		return layer_fail(&j->L, "unmount", rc);
	return 0;
}

/*
 * A layer the store does not have: every stage in a temporary directory
 * (its log in the store's logs), then the commit under its key.  Returns 0
 * or a negative errno, said on stderr; the temporary directory is gone in
 * either case.
 */
static int build_fresh(struct job *j)
{
	const struct recipe *r = j->r;
	int rc;

	if ((rc = layer_begin(&j->L)) < 0)
		goto err;
	if (!j->o->quiet) {
		printf("%s: building layer %.12s (%s%s), log %s\n", r->name, j->L.key,
		       j->L.parent_key[0] ? "on " : "base ",
		       j->L.parent_key[0] ?
			       (r->parent_recipe ? r->parent_recipe->name : r->parent) :
			       (r->suite ? r->suite : r->oci),
		       buf_str(&j->L.log));
		fflush(stdout);
	}
	proc_log("corral-image %s: %s layer %s recipe %s digest %s parent %s arch %s",
		 CORRAL_VERSION, r->name, j->L.key, r->path, j->digest,
		 j->L.parent_key[0] ? j->L.parent_key : "-", r->arch);
	if ((rc = j->L.parent_key[0] ? stage_unpack_parent(j) :
		  r->oci             ? stage_base_oci(j) :
				       stage_base(j)) < 0 ||
	    (rc = build_in_chroot(j)) < 0 || (rc = layer_kernel(&j->L)) < 0 ||
	    (rc = layer_package_list(&j->L)) < 0 || (rc = layer_squashfs(&j->L)) < 0 ||
	    (rc = stage_manifest(j)) < 0 || (rc = layer_commit(&j->L)) < 0)
		goto err;
	return 0;
err:
	layer_abort(&j->L);
	return rc;
}

/* The layer key: the recipe's digest, the parent's key and Corral's dracut
 * modules (every layer carries them in its initramfs or its parent's). */
void build_layer_key(const char *digest, const char *parent_key, const char *boot_digest,
		     char key[65])
{
	char both[140], mixed[65];
	/* 64 + 1 + 64 fit. */
	if (buf_fmt(both, sizeof(both), "%s %s", digest, boot_digest) < 0)
		both[0] = '\0';
	digest_sha256_hex(both, strlen(both), mixed);
	imgstore_layer_key(mixed, parent_key, key);
}

static int build_layer(struct imgstore *s, const struct recipe *r, const struct build_opts *o,
		       const struct build_boot *boot, int top, char key[65])
{
	struct job j;
	struct buf err;
	char mixed[65];
	int rc;

	memset(&j, 0, sizeof(j));
	layer_init(&j.L, s, r->name, r->arch, boot->dir, o->quiet);
	j.r = r;
	j.o = o;
	buf_init(&err, 8192);

	/* Parents first. */
	if (r->parent_recipe != NULL) {
		if ((rc = build_layer(s, r->parent_recipe, o, boot, 0, j.L.parent_key)) < 0)
			goto out;
	} else if (r->parent != NULL) {
		if ((rc = imgstore_resolve(s, r->parent, j.L.parent_key)) < 0) {
			fprintf(stderr, "corral-image: %s: parent: no image %s in the store %s\n",
				r->path, r->parent, imgstore_dir(s));
			goto out;
		}
	}
	if ((rc = recipe_digest(r, j.digest, &err)) < 0) {
		fprintf(stderr, "corral-image: %s", buf_str(&err));
		goto out;
	}
	if (r->oci != NULL) {
		/* The image's content is part of the layer: its diff_ids. */
		char both[140];
		if ((rc = import_content_digest(s, r->oci, r->arch, j.oci_digest)) < 0)
			goto out;
		if ((rc = buf_fmt(both, sizeof(both), "%s %s", j.digest, j.oci_digest)) < 0)
			goto out;
		digest_sha256_hex(both, strlen(both), mixed);
	} else {
		memcpy(mixed, j.digest, sizeof(mixed));
	}
	build_layer_key(mixed, j.L.parent_key, boot->digest, j.L.key);
	memcpy(key, j.L.key, 65);

	if (imgstore_has_layer(s, j.L.key) && !(top && o->force)) {
		if (!o->quiet)
			printf("%s: cached (layer %.12s)\n", r->name, j.L.key);
		proc_cache_hit();
		rc = imgstore_set_name(s, r->name, j.L.key);
		goto out;
	}
	rc = build_fresh(&j);
out:
	layer_clear(&j.L);
	buf_clear(&err);
	return rc;
}

int build_boot_init(struct build_boot *boot)
{
	struct buf dir;
	int rc;
	memset(boot, 0, sizeof(*boot));
	buf_init(&dir, 4096);
	if ((rc = bootmod_dir(&dir)) == 0 && (rc = bootmod_digest(buf_str(&dir), boot->digest)) < 0)
		fprintf(stderr, "corral-image: Corral's dracut modules in %s: %s\n", buf_str(&dir),
			strerror(-rc));
	if (rc == 0 && buf_fmt(boot->dir, sizeof(boot->dir), "%s", buf_str(&dir)) < 0)
		rc = -ENAMETOOLONG;
	buf_clear(&dir);
	return rc;
}

int build_image(struct imgstore *s, const struct recipe *r, const struct build_opts *o,
		char key[65])
{
	struct build_boot boot;
	int rc = mnt_isolate();
	if (rc < 0) {
		fprintf(stderr, "corral-image: private mount namespace: %s (run as root)\n",
			strerror(-rc));
		return rc;
	}
	if ((rc = build_boot_init(&boot)) < 0)
		return rc;
	imgstore_clean_tmp(s);
	return build_layer(s, r, o, &boot, 1, key);
}
