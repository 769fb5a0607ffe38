/*
 * build: recipe → rootfs → kernel, initramfs, squashfs, manifest.  See build.h.
 *
 * Security: the recipe's packages, paths and commands reach programs only
 * as separate argv elements (never through a shell).  Files are copied into
 * the image with openat2(RESOLVE_IN_ROOT), so a symbolic link inside the
 * image cannot redirect a write onto the build machine.
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "fsutil.h"
#include "mounts.h"
#include "proc.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "0.1"
#endif

#define CHROOT "/usr/sbin/chroot"
#define MAX_ARGS 8192
#define SOURCES_DEFAULT "/etc/apt/sources.list.d/debian.sources"

/* What every bootable image needs besides the recipe's packages: the
 * kernel, dracut's live boot (dmsquash-live, livenet) and zstd for its
 * compression (dracut silently falls back to gzip without it), curl (livenet
 * downloads with it) and dhclient (network-legacy), dbus (the
 * kernel's initramfs hook fails without it when Recommends are off). */
static const char *const boot_packages[] = {
	"linux-image-amd64", "dracut", "dracut-live", "dracut-network", "dbus", "zstd", "curl",
	"isc-dhcp-client",   NULL,
};
/* dracut 059 on Debian 12: network-legacy, since the systemd-networkd
 * backend gets a lease but never starts the livenet download. */
static const char dracut_add[] = "dmsquash-live livenet network network-legacy";
static const char dracut_omit[] =
	"kernel-modules kernel-modules-extra nvdimm lunmask resume crypt ifcfg virtiofs";
/* cloud-init settings baked into images that enable it. */
static const char cloud_cfg[] =
	"# written by corral-image: NoCloud from Corral's seed URL\n"
	"datasource_list: [NoCloud, None]\n"
	"# RSA host keys cost half a minute on slow machines\n"
	"ssh_genkeytypes: [ed25519]\n"
	"# images carry no locale data (C.UTF-8 only): nothing to generate\n"
	"locale: false\n";

/* State of one layer's build; everything the unwinding must undo. */
struct job {
	struct imgstore *s;
	const struct recipe *r;
	const struct build_opts *o;
	char key[65];
	char parent_key[65];
	char digest[65];
	struct buf tmp;  /* STORE/tmp/<key>.<pid> */
	struct buf root; /* tmp/rootfs */
	struct buf out;  /* tmp/out: becomes layers/<key> */
	struct buf log;  /* STORE/logs/<name>-<time>.log */
	struct buf path; /* scratch */
	int log_fd;
	int mounted;
	char kver[128];
	double t0;
	json_t *packages;
};

static int run(const char *const argv[])
{
	return proc_run(argv, NULL);
}

static const char *jpath(struct job *j, const char *a, const char *b)
{
	buf_reset(&j->path);
	if (b)
		buf_printf(&j->path, "%s/%s", a, b);
	else
		buf_adds(&j->path, a);
	return buf_str(&j->path);
}

/* Explains a failed step once, with the log's location. */
static int fail(struct job *j, const char *stage, int rc)
{
	if (rc == -EINTR) {
		proc_stage_done("stopped");
		fprintf(stderr,
			"corral-image: %s: interrupted during %s; nothing was added to the "
			"store\n",
			j->r->name, stage);
		return rc;
	}
	proc_stage_done("FAILED");
	const char *elines = proc_output_lines("E: ");
	fprintf(stderr, "corral-image: %s: %s failed", j->r->name, stage);
	if (rc != -ECHILD)
		fprintf(stderr, ": %s", strerror(-rc));
	fprintf(stderr, "\n");
	if (elines[0] != '\0')
		fprintf(stderr, "%s", elines);
	else if (rc == -ECHILD)
		fprintf(stderr, "--- last output:\n%s\n", proc_last_output());
	fprintf(stderr, "corral-image: full log: %s (nothing was added to the store)\n",
		buf_str(&j->log));
	return rc;
}

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

static int read_file(const char *path, struct buf *out)
{
	return fs_read_file(path, out->cap, out);
}

/* ---- stages ------------------------------------------------------------- */

static int stage_base(struct job *j, const struct recipe *r)
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
	buf_printf(&variant, "--variant=%s", r->variant);
	buf_printf(&arch, "--architectures=%s", r->arch);
	buf_adds(&inc, "--include=");
	for (int i = 0; boot_packages[i]; i++)
		buf_printf(&inc, "%s%s", i ? "," : "", boot_packages[i]);
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
		rc = read_file(sf, &text);
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
	buf_printf(&what, "mmdebstrap %s %s", r->suite, r->variant);
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
	argv[a++] = r->suite;
	argv[a++] = buf_str(&j->root);
	for (char *save = NULL, *l = strtok_r(srcs.data, "\n", &save); l && a < MAX_ARGS - 1;
	     l = strtok_r(NULL, "\n", &save))
		argv[a++] = l;
	argv[a] = NULL;
	rc = run(argv);
	if (rc < 0) {
		fail(j, "rootfs (mmdebstrap)", rc);
		goto out;
	}
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
	imgstore_layer_path(j->s, j->parent_key, "rootfs.squashfs", &sq);
	proc_stage("rootfs", "unsquashfs parent");
	const char *argv[] = {"/usr/bin/unsquashfs", "-no-progress", "-d",
			      buf_str(&j->root),     buf_str(&sq),   NULL};
	rc = run(argv);
	buf_clear(&sq);
	if (rc < 0)
		return fail(j, "rootfs (unsquashfs)", rc);
	proc_stage_done("done");
	return 0;
}

static int chroot_run(struct job *j, const char *const *cmd)
{
	const char *argv[MAX_ARGS];
	size_t a = 0;
	argv[a++] = CHROOT;
	argv[a++] = buf_str(&j->root);
	for (size_t i = 0; cmd[i] && a < MAX_ARGS - 1; i++)
		argv[a++] = cmd[i];
	argv[a] = NULL;
	return run(argv);
}

/* Writes a file inside the image, resolving its path inside the root. */
static int put_file(struct job *j, const char *dest, const char *src, const char *data, size_t len,
		    mode_t mode)
{
	int rc = 0, rootfd, fd;
	char dir[4096];
	if (buf_fmt(dir, sizeof(dir), "%s", dest) < 0)
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		const char *mk[] = {"/bin/mkdir", "-p", dir, NULL};
		if ((rc = chroot_run(j, mk)) < 0)
			return rc;
	}
	rootfd = open(buf_str(&j->root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	struct open_how how = {.flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			       .mode = mode,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	fd = (int)syscall(SYS_openat2, rootfd, dest, &how, sizeof(how));
	if (fd < 0) {
		rc = -errno;
		goto err_root;
	}
	if (src != NULL) {
		int in = open(src, O_RDONLY | O_CLOEXEC);
		char chunk[65536];
		ssize_t n;
		if (in < 0) {
			rc = -errno;
			goto err_fd;
		}
		while ((n = read(in, chunk, sizeof(chunk))) > 0) {
			if ((rc = fs_write_all(fd, chunk, (size_t)n)) < 0)
				break;
		}
		if (n < 0)
			rc = -errno;
		close(in);
	} else {
		rc = fs_write_all(fd, data, len);
	}
	if (rc == 0 && fchmod(fd, mode) < 0)
		rc = -errno;
err_fd:
	close(fd);
err_root:
	close(rootfd);
	proc_log("wrote %s (%s)", dest, rc == 0 ? "ok" : strerror(-rc));
	return rc;
}

/* Makes the chroot usable: mounts, DNS for apt, and no services started
 * by package scripts. */
static int chroot_enter(struct job *j)
{
	int rc;
	if ((rc = mnt_bind(buf_str(&j->root))) < 0)
		return rc;
	j->mounted = 1;
	/* resolv.conf may be a dangling link into /run in the image. */
	const char *rmres[] = {"/bin/rm", "-f", "/etc/resolv.conf", NULL};
	if ((rc = chroot_run(j, rmres)) < 0)
		return rc;
	struct buf res;
	buf_init(&res, 65536);
	if (read_file("/etc/resolv.conf", &res) < 0)
		buf_reset(&res);
	rc = put_file(j, "/etc/resolv.conf", NULL, buf_str(&res), res.len, 0644);
	buf_clear(&res);
	if (rc < 0)
		return rc;
	static const char prc[] =
		"#!/bin/sh\n# corral-image: no services during the build\nexit 101\n";
	return put_file(j, "/usr/sbin/policy-rc.d", NULL, prc, sizeof(prc) - 1, 0755);
}

static int chroot_leave(struct job *j)
{
	if (!j->mounted)
		return 0;
	j->mounted = 0;
	return mnt_release();
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
	if ((rc = chroot_run(j, argv)) < 0) {
		buf_fmt_msg(what, sizeof(what), "packages (apt-get %s)", verb);
		return fail(j, what, rc);
	}
	return 0;
}

static int stage_packages(struct job *j)
{
	const struct recipe *r = j->r;
	int rc;
	char what[160];

	if (r->npackages == 0 && r->nremove == 0)
		return 0;
	buf_fmt_msg(what, sizeof(what), "apt-get: +%zu -%zu packages", r->npackages, r->nremove);
	proc_stage("packages", what);
	const char *upd[] = {"/usr/bin/apt-get", "-q", "update", NULL};
	if ((rc = chroot_run(j, upd)) < 0)
		return fail(j, "packages (apt-get update)", rc);
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

static int stage_files(struct job *j)
{
	const struct recipe *r = j->r;
	int rc;
	if (r->nfiles == 0 && !recipe_cloud_init(r))
		return 0;
	proc_stage("files", "files and settings");
	for (size_t i = 0; i < r->nfiles; i++) {
		rc = put_file(j, r->files[i].dest, r->files[i].src, NULL, 0, r->files[i].mode);
		if (rc < 0)
			return fail(j, r->files[i].dest, rc);
	}
	if (recipe_cloud_init(r) && r->parent_recipe == NULL && r->parent == NULL) {
		rc = put_file(j, "/etc/cloud/cloud.cfg.d/90-corral.cfg", NULL, cloud_cfg,
			      sizeof(cloud_cfg) - 1, 0644);
		if (rc < 0)
			return fail(j, "cloud-init settings", rc);
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
		if ((rc = chroot_run(j, (const char *const *)r->run[i].argv)) < 0) {
			char st[200];
			buf_fmt_msg(st, sizeof(st), "%s:%d: run command %s", r->path,
				    r->run[i].line, r->run[i].argv[0]);
			return fail(j, st, rc);
		}
		proc_stage_done("done");
	}
	return 0;
}

static int find_kernel(struct job *j)
{
	glob_t g;
	struct buf pat;
	buf_init(&pat, 4096);
	buf_printf(&pat, "%s/boot/vmlinuz-*", buf_str(&j->root));
	int rc = glob(buf_str(&pat), 0, NULL, &g);
	buf_clear(&pat);
	if (rc != 0 || g.gl_pathc == 0) {
		globfree(&g);
		fprintf(stderr, "corral-image: %s: no kernel in /boot of the image\n", j->r->name);
		return -ENOENT;
	}
	/* The last in sort order is the newest version. */
	const char *k = strrchr(g.gl_pathv[g.gl_pathc - 1], '/') + strlen("/vmlinuz-");
	rc = buf_fmt(j->kver, sizeof(j->kver), "%s", k);
	if (rc < 0)
		fprintf(stderr, "corral-image: %s: kernel version longer than %zu bytes: %s\n",
			j->r->name, sizeof(j->kver) - 1, k);
	globfree(&g);
	return rc;
}

static int stage_initramfs(struct job *j)
{
	int rc;
	char what[200];
	if ((rc = find_kernel(j)) < 0)
		return rc;
	buf_fmt_msg(what, sizeof(what), "dracut live %s", j->kver);
	proc_stage("initramfs", what);
	const char *argv[] = {"/usr/bin/dracut",
			      "--force",
			      "--no-hostonly",
			      "--no-hostonly-cmdline",
			      "--add",
			      dracut_add,
			      "--omit",
			      dracut_omit,
			      "--compress",
			      "zstd",
			      "--kver",
			      j->kver,
			      "/boot/corral-initrd.img",
			      NULL};
	if ((rc = chroot_run(j, argv)) < 0)
		return fail(j, "initramfs (dracut)", rc);
	proc_stage_done("done");
	return 0;
}

/* Leaves the image as every node should first see it. */
static int stage_tidy(struct job *j)
{
	int rc;
	const char *clean[] = {"/usr/bin/apt-get", "clean", NULL};
	if ((rc = chroot_run(j, clean)) < 0)
		return fail(j, "tidy (apt-get clean)", rc);
	/* Per-node identity is made at boot: host keys by cloud-init, the
	 * machine id by systemd. */
	const char *rm[] = {"/bin/sh", "-c",
			    "rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*_key* "
			    "/usr/sbin/policy-rc.d /var/log/*.log /var/cache/debconf/*-old",
			    NULL};
	/* A constant script, nothing from the recipe in it. */
	if ((rc = chroot_run(j, rm)) < 0)
		return fail(j, "tidy", rc);
	if ((rc = put_file(j, "/etc/machine-id", NULL, "", 0, 0444)) < 0)
		return fail(j, "tidy (machine-id)", rc);
	const char *rmres[] = {"/bin/rm", "-f", "/etc/resolv.conf", NULL};
	if ((rc = chroot_run(j, rmres)) < 0)
		return fail(j, "tidy (resolv.conf)", rc);
	/* Debian's default without systemd-resolved: a file DHCP fills in. */
	if ((rc = put_file(j, "/etc/resolv.conf", NULL, "", 0, 0644)) < 0)
		return fail(j, "tidy (resolv.conf)", rc);
	return 0;
}

static int stage_kernel(struct job *j)
{
	int rc;
	proc_stage("kernel", "vmlinuz + initrd");
	if (j->parent_key[0] != '\0' && j->r->parent_recipe == NULL && j->r->parent == NULL)
		return -EINVAL;
	if (j->parent_key[0] == '\0') {
		char src[4096];
		if ((rc = buf_fmt(src, sizeof(src), "%s/boot/vmlinuz-%s", buf_str(&j->root),
				  j->kver)) < 0 ||
		    (rc = fs_copy(src, jpath(j, buf_str(&j->out), "vmlinuz"), 0644)) < 0)
			return fail(j, "kernel (copy vmlinuz)", rc);
		if ((rc = buf_fmt(src, sizeof(src), "%s/boot/corral-initrd.img",
				  buf_str(&j->root))) < 0 ||
		    (rc = fs_copy(src, jpath(j, buf_str(&j->out), "initrd"), 0644)) < 0)
			return fail(j, "kernel (copy initrd)", rc);
		unlink(src);
	} else {
		/* A child layer boots its parent's kernel and initramfs. */
		static const char *const files[] = {"vmlinuz", "initrd"};
		for (int i = 0; i < 2; i++) {
			struct buf src;
			buf_init(&src, 4096);
			imgstore_layer_path(j->s, j->parent_key, files[i], &src);
			rc = fs_link_or_copy(buf_str(&src), jpath(j, buf_str(&j->out), files[i]));
			buf_clear(&src);
			if (rc < 0)
				return fail(j, "kernel (parent's)", rc);
		}
	}
	/* Package-time generic initramfs images: not needed in a live root. */
	glob_t g;
	char pat[4096];
	if (buf_fmt(pat, sizeof(pat), "%s/boot/initrd.img-*", buf_str(&j->root)) < 0)
		return fail(j, "kernel (initrd.img)", -ENAMETOOLONG);
	if (glob(pat, 0, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
	globfree(&g);
	proc_stage_done("done");
	return 0;
}

static int stage_package_list(struct job *j)
{
	struct buf admin, list;
	char tmpf[4096];
	int rc;
	buf_init(&admin, 4096);
	buf_init(&list, 8 << 20);
	buf_printf(&admin, "--admindir=%s/var/lib/dpkg", buf_str(&j->root));
	if (buf_fmt(tmpf, sizeof(tmpf), "%s/packages.txt", buf_str(&j->tmp)) < 0) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	const char *argv[] = {"/usr/bin/dpkg-query", buf_str(&admin), "-W",
			      "-f=${db:Status-Abbrev}\t${Package}\t${Version}\n", NULL};
	rc = proc_run(argv, tmpf);
	if (rc == 0)
		rc = read_file(tmpf, &list);
	if (rc < 0)
		goto out;
	j->packages = json_array();
	for (char *save = NULL, *l = strtok_r(list.data ? list.data : (char *)"", "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *s1 = NULL;
		char *st = strtok_r(l, "\t", &s1), *name = strtok_r(NULL, "\t", &s1),
		     *ver = strtok_r(NULL, "\t", &s1);
		if (st && name && ver && st[0] == 'i' && st[1] == 'i')
			json_array_append_new(j->packages,
					      json_pack("{s:s,s:s}", "name", name, "version", ver));
	}
out:
	buf_clear(&admin);
	buf_clear(&list);
	return rc;
}

static int stage_squashfs(struct job *j)
{
	int rc;
	proc_stage("squashfs", "mksquashfs zstd");
	const char *argv[] = {"/usr/bin/mksquashfs",
			      buf_str(&j->root),
			      jpath(j, buf_str(&j->out), "rootfs.squashfs"),
			      "-comp",
			      "zstd",
			      "-Xcompression-level",
			      "9",
			      "-noappend",
			      "-no-xattrs",
			      "-wildcards",
			      "-e",
			      "proc/*",
			      "sys/*",
			      "dev/*",
			      "run/*",
			      "tmp/*",
			      NULL};
	if ((rc = run(argv)) < 0)
		return fail(j, "squashfs (mksquashfs)", rc);
	proc_stage_done("done");
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

static int stage_manifest(struct job *j)
{
	static const char *const arts[] = {"vmlinuz", "initrd", "rootfs.squashfs"};
	const struct recipe *r = j->r, *root = recipe_root(r);
	json_t *m = json_object(), *a = json_object();
	struct buf params;
	char ts[40];
	time_t now = time(NULL);
	struct tm tm;
	int rc = 0;

	proc_stage("manifest", "sha256 + manifest.json");
	buf_init(&params, 8192);
	chain_params(r, &params);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int i = 0; i < 3; i++) {
		char hex[65];
		unsigned long long size;
		if ((rc = digest_sha256_file(jpath(j, buf_str(&j->out), arts[i]), hex, &size)) < 0)
			goto out;
		json_object_set_new(
			a, arts[i],
			json_pack("{s:s,s:I}", "sha256", hex, "size", (json_int_t)size));
	}
	json_object_set_new(m, "format", json_integer(1));
	json_object_set_new(m, "name", json_string(r->name));
	json_object_set_new(m, "description",
			    r->description ? json_string(r->description) : json_null());
	json_object_set_new(m, "arch", json_string(r->arch));
	json_object_set_new(m, "layer", json_string(j->key));
	json_object_set_new(m, "recipe",
			    json_pack("{s:s,s:s}", "path", r->realpath ? r->realpath : r->path,
				      "digest", j->digest));
	if (j->parent_key[0])
		json_object_set_new(m, "parent",
				    json_pack("{s:s,s:s}", "name",
					      r->parent_recipe ? r->parent_recipe->name : r->parent,
					      "key", j->parent_key));
	else
		json_object_set_new(m, "parent", json_null());
	if (root != NULL)
		json_object_set_new(m, "base",
				    json_pack("{s:s,s:s,s:o}", "suite", root->suite, "variant",
					      root->variant, "mirror",
					      root->mirror ? json_string(root->mirror) :
							     json_string("(apt sources)")));
	json_object_set_new(m, "kernel_version", json_string(j->kver));
	json_object_set_new(m, "kernel_params", json_string(buf_str(&params)));
	json_object_set_new(m, "cloud_init", json_boolean(recipe_cloud_init(r)));
	json_object_set_new(m, "artifacts", a);
	a = NULL;
	json_object_set_new(m, "packages", j->packages ? j->packages : json_array());
	j->packages = NULL;
	json_object_set_new(m, "built", json_string(ts));
	json_object_set_new(m, "build_seconds",
			    json_real((double)(long)((proc_now() - j->t0) * 10) / 10));
	json_object_set_new(m, "builder", json_string("corral-image " CORRAL_VERSION));
	char *text = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (text == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	size_t tl = strlen(text);
	rc = fs_write_atomic(jpath(j, buf_str(&j->out), "manifest.json"), text, tl, 0644);
	free(text);
out:
	json_decref(a);
	json_decref(m);
	buf_clear(&params);
	if (rc < 0)
		return fail(j, "manifest", rc);
	proc_stage_done("done");
	return 0;
}

/* ---- one layer ---------------------------------------------------------- */

static void job_clear(struct job *j)
{
	buf_clear(&j->tmp);
	buf_clear(&j->root);
	buf_clear(&j->out);
	buf_clear(&j->log);
	buf_clear(&j->path);
	json_decref(j->packages);
	if (j->log_fd >= 0)
		close(j->log_fd);
}

/*
 * A layer the store does not have: every stage in a temporary directory
 * (its log in the store's logs), then the commit under j->key.  Returns 0
 * or a negative errno, said on stderr; the temporary directory is gone in
 * either case.
 */
static int build_fresh(struct job *j)
{
	const struct recipe *r = j->r;
	const struct build_opts *o = j->o;
	int rc;

	j->t0 = proc_now();
	imgstore_log_path(j->s, r->name, &j->log);
	j->log_fd = open(buf_str(&j->log), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (j->log_fd < 0) {
		rc = -errno;
		fprintf(stderr, "corral-image: %s: %s\n", buf_str(&j->log), strerror(errno));
		return rc;
	}
	proc_set_log(j->log_fd);
	if (!o->quiet) {
		printf("%s: building layer %.12s (%s%s), log %s\n", r->name, j->key,
		       j->parent_key[0] ? "on " : "base ",
		       j->parent_key[0] ? (r->parent_recipe ? r->parent_recipe->name : r->parent) :
					  r->suite,
		       buf_str(&j->log));
		fflush(stdout);
	}
	proc_log("corral-image %s: %s layer %s recipe %s digest %s parent %s", CORRAL_VERSION,
		 r->name, j->key, r->path, j->digest, j->parent_key[0] ? j->parent_key : "-");
	if ((rc = imgstore_tmp_dir(j->s, j->key, &j->tmp)) < 0)
		return rc;
	buf_printf(&j->root, "%s/rootfs", buf_str(&j->tmp));
	buf_printf(&j->out, "%s/out", buf_str(&j->tmp));
	if (mkdir(buf_str(&j->out), 0755) < 0) {
		rc = -errno;
		goto err_tmp;
	}

	rc = j->parent_key[0] ? stage_unpack_parent(j) : stage_base(j, r);
	if (rc < 0)
		goto err_tmp;
	if ((rc = chroot_enter(j)) < 0) {
		fail(j, "chroot mounts", rc);
		goto err_mounts;
	}
	if ((rc = j->parent_key[0] ? stage_packages(j) : stage_remove_base(j)) < 0 ||
	    (rc = stage_files(j)) < 0 || (rc = stage_run(j)) < 0)
		goto err_mounts;
	if (j->parent_key[0] == '\0') {
		if ((rc = stage_initramfs(j)) < 0)
			goto err_mounts;
	} else {
		/* The kernel version is the parent's. */
		if ((rc = find_kernel(j)) < 0)
			goto err_mounts;
	}
	if ((rc = stage_tidy(j)) < 0)
		goto err_mounts;
	if ((rc = chroot_leave(j)) < 0) {
		fail(j, "unmount", rc);
		goto err_tmp;
	}
	if ((rc = stage_kernel(j)) < 0)
		goto err_tmp;
	if ((rc = stage_package_list(j)) < 0) {
		fail(j, "package list", rc);
		goto err_tmp;
	}
	if ((rc = stage_squashfs(j)) < 0 || (rc = stage_manifest(j)) < 0)
		goto err_tmp;
	if (proc_interrupted()) {
		rc = -EINTR;
		fail(j, "commit", rc);
		goto err_tmp;
	}
	proc_log("build finished in %.1f s", proc_now() - j->t0);
	fs_copy(buf_str(&j->log), jpath(j, buf_str(&j->out), "build.log"), 0644);
	if ((rc = imgstore_commit(j->s, buf_str(&j->out), j->key)) < 0 ||
	    (rc = imgstore_set_name(j->s, r->name, j->key)) < 0) {
		fprintf(stderr, "corral-image: %s: cannot add to the store: %s\n", r->name,
			strerror(-rc));
		goto err_tmp;
	}
	if (!o->quiet) {
		struct buf sq;
		struct stat st;
		buf_init(&sq, 4096);
		imgstore_layer_path(j->s, j->key, "rootfs.squashfs", &sq);
		printf("%s: built layer %.12s in %.1f s (rootfs.squashfs %.1f MiB)\n", r->name,
		       j->key, proc_now() - j->t0,
		       stat(buf_str(&sq), &st) == 0 ? (double)st.st_size / 1048576.0 : 0.0);
		buf_clear(&sq);
	}
	fs_rm_tree(buf_str(&j->tmp));
	return 0;

err_mounts:
	chroot_leave(j);
err_tmp:
	mnt_release_under(buf_str(&j->tmp));
	if (fs_rm_tree(buf_str(&j->tmp)) < 0)
		fprintf(stderr, "corral-image: could not remove all of %s\n", buf_str(&j->tmp));
	return rc;
}

static int build_layer(struct imgstore *s, const struct recipe *r, const struct build_opts *o,
		       int top, char key[65])
{
	struct job j;
	struct buf err;
	int rc;

	memset(&j, 0, sizeof(j));
	j.s = s;
	j.r = r;
	j.o = o;
	j.log_fd = -1;
	buf_init(&j.tmp, 4096);
	buf_init(&j.root, 4096);
	buf_init(&j.out, 4096);
	buf_init(&j.log, 4096);
	buf_init(&j.path, 8192);
	buf_init(&err, 8192);

	/* Parents first. */
	if (r->parent_recipe != NULL) {
		if ((rc = build_layer(s, r->parent_recipe, o, 0, j.parent_key)) < 0)
			goto out;
	} else if (r->parent != NULL) {
		if ((rc = imgstore_resolve(s, r->parent, j.parent_key)) < 0) {
			fprintf(stderr, "corral-image: %s: parent: no image %s in the store %s\n",
				r->path, r->parent, imgstore_dir(s));
			goto out;
		}
	}
	if ((rc = recipe_digest(r, j.digest, &err)) < 0) {
		fprintf(stderr, "corral-image: %s", buf_str(&err));
		goto out;
	}
	imgstore_layer_key(j.digest, j.parent_key, j.key);
	memcpy(key, j.key, 65);

	if (imgstore_has_layer(s, j.key) && !(top && o->force)) {
		if (!o->quiet)
			printf("%s: cached (layer %.12s)\n", r->name, j.key);
		rc = imgstore_set_name(s, r->name, j.key);
		goto out;
	}

	/* A fresh build. */
	rc = build_fresh(&j);
out:
	proc_set_log(-1);
	job_clear(&j);
	buf_clear(&err);
	return rc;
}

int build_image(struct imgstore *s, const struct recipe *r, const struct build_opts *o,
		char key[65])
{
	int rc = mnt_isolate();
	if (rc < 0) {
		fprintf(stderr, "corral-image: private mount namespace: %s (run as root)\n",
			strerror(-rc));
		return rc;
	}
	imgstore_clean_tmp(s);
	return build_layer(s, r, o, 1, key);
}
