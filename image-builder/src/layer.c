/*
 * layer: the steps every image shares, from the temporary tree to the
 * commit.  See layer.h.
 *
 * Security: paths and commands reach programs only as separate argv
 * elements (never through a shell built from input).  Files are written
 * into the image with openat2(RESOLVE_IN_ROOT), so a symbolic link inside
 * the image (an imported one is anybody's) cannot redirect a write onto
 * the build machine.
 */
#include "layer.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bootmod.h"
#include "digest.h"
#include "foreign.h"
#include "fsutil.h"
#include "mounts.h"
#include "proc.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "0.1"
#endif

#define CHROOT "/usr/sbin/chroot"
#define MAX_ARGS 8192

static const char dracut_omit[] =
	"kernel-modules kernel-modules-extra nvdimm lunmask resume crypt ifcfg virtiofs";

void layer_init(struct layer *l, struct imgstore *s, const char *name, const char *arch,
		const char *boot_dir, int quiet)
{
	memset(l, 0, sizeof(*l));
	l->s = s;
	l->name = name;
	l->arch = arch;
	l->boot_dir = boot_dir;
	l->quiet = quiet;
	l->log_fd = -1;
	buf_init(&l->tmp, 4096);
	buf_init(&l->root, 4096);
	buf_init(&l->out, 4096);
	buf_init(&l->log, 4096);
	buf_init(&l->path, 8192);
}

void layer_clear(struct layer *l)
{
	buf_clear(&l->tmp);
	buf_clear(&l->root);
	buf_clear(&l->out);
	buf_clear(&l->log);
	buf_clear(&l->path);
	json_decref(l->packages);
	l->packages = NULL;
	if (l->log_fd >= 0)
		close(l->log_fd);
	l->log_fd = -1;
	proc_set_log(-1);
}

const char *layer_path(struct layer *l, const char *a, const char *b)
{
	buf_reset(&l->path);
	if (b)
		buf_printf(&l->path, "%s/%s", a, b);
	else
		buf_adds(&l->path, a);
	return buf_str(&l->path);
}

int layer_fail(struct layer *l, const char *stage, int rc)
{
	if (rc == -EINTR) {
		proc_stage_done("stopped");
		fprintf(stderr,
			"corral-image: %s: interrupted during %s; nothing was added to the "
			"store\n",
			l->name, stage);
		return rc;
	}
	proc_stage_done("FAILED");
	const char *elines = proc_output_lines("E: ");
	fprintf(stderr, "corral-image: %s: %s failed", l->name, stage);
	if (rc != -ECHILD)
		fprintf(stderr, ": %s", strerror(-rc));
	fprintf(stderr, "\n");
	if (elines[0] != '\0')
		fprintf(stderr, "%s", elines);
	else if (rc == -ECHILD)
		fprintf(stderr, "--- last output:\n%s\n", proc_last_output());
	fprintf(stderr, "corral-image: full log: %s (nothing was added to the store)\n",
		buf_str(&l->log));
	return rc;
}

int layer_begin(struct layer *l)
{
	int rc;
	l->t0 = proc_now();
	imgstore_log_path(l->s, l->name, &l->log);
	l->log_fd = open(buf_str(&l->log), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (l->log_fd < 0) {
		rc = -errno;
		fprintf(stderr, "corral-image: %s: %s\n", buf_str(&l->log), strerror(errno));
		return rc;
	}
	proc_set_log(l->log_fd);
	if ((rc = imgstore_tmp_dir(l->s, l->key, &l->tmp)) < 0) {
		fprintf(stderr, "corral-image: %s: temporary directory: %s\n", l->name,
			strerror(-rc));
		return rc;
	}
	buf_printf(&l->root, "%s/rootfs", buf_str(&l->tmp));
	buf_printf(&l->out, "%s/out", buf_str(&l->tmp));
	if (mkdir(buf_str(&l->out), 0755) < 0) {
		rc = -errno;
		fprintf(stderr, "corral-image: %s: %s\n", buf_str(&l->out), strerror(errno));
		return rc;
	}
	return 0;
}

int layer_chroot_run(struct layer *l, const char *const *cmd)
{
	const char *argv[MAX_ARGS];
	size_t a = 0;
	argv[a++] = CHROOT;
	argv[a++] = buf_str(&l->root);
	for (size_t i = 0; cmd[i] && a < MAX_ARGS - 1; i++)
		argv[a++] = cmd[i];
	argv[a] = NULL;
	return proc_run(argv, NULL);
}

/* mkdir -p of dest's directory inside the root, each level resolved in it. */
static int mkdir_in_root(int rootfd, const char *dest)
{
	char dir[4096];
	if (buf_fmt(dir, sizeof(dir), "%s", dest) < 0)
		return -ENAMETOOLONG;
	for (char *p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
		int fd = (int)syscall(SYS_openat2, rootfd, dir, &how, sizeof(how));
		if (fd >= 0) {
			close(fd);
		} else if (errno == ENOENT) {
			/* The parent resolved in the root: make this level there. */
			char *slash = strrchr(dir, '/');
			const char *leaf = slash + 1;
			*slash = '\0';
			struct open_how ph = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
					      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
			int pfd = slash == dir ?
					  dup(rootfd) :
					  (int)syscall(SYS_openat2, rootfd, dir, &ph, sizeof(ph));
			*slash = '/';
			if (pfd < 0)
				return -errno;
			int r = mkdirat(pfd, leaf, 0755);
			close(pfd);
			if (r < 0 && errno != EEXIST)
				return -errno;
		} else {
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

static int copy_fd(int in, int fd)
{
	char chunk[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, chunk, sizeof(chunk))) > 0)
		if ((rc = fs_write_all(fd, chunk, (size_t)n)) < 0)
			return rc;
	return n < 0 ? -errno : 0;
}

int layer_put_file(struct layer *l, const char *dest, const char *src, const char *data, size_t len,
		   mode_t mode)
{
	int rc = 0, rootfd, fd;
	rootfd = open(buf_str(&l->root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	if ((rc = mkdir_in_root(rootfd, dest)) < 0)
		goto err_root;
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
		if (in < 0) {
			rc = -errno;
			goto err_fd;
		}
		rc = copy_fd(in, fd);
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

/* rm -f of path inside the image, its directory resolved inside the root
 * (no program of the image runs: it may have none, or be another
 * architecture's). */
static int rm_in_image(struct layer *l, const char *path)
{
	char dir[4096];
	if (buf_fmt(dir, sizeof(dir), "%s", path) < 0)
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return -EINVAL;
	*slash = '\0';
	int rootfd = open(buf_str(&l->root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int dfd = dir[0] ? (int)syscall(SYS_openat2, rootfd, dir, &how, sizeof(how)) : dup(rootfd);
	int rc = dfd < 0 ? (errno == ENOENT ? 0 : -errno) : 0;
	if (dfd >= 0) {
		if (unlinkat(dfd, slash + 1, 0) < 0 && errno != ENOENT)
			rc = -errno;
		close(dfd);
	}
	close(rootfd);
	return rc;
}

/* The mount points must be directories of the image itself: a symbolic
 * link there (an imported image is anybody's) would send the mount, and
 * later writes through it, onto the build machine.  Missing ones are made. */
static int mount_points(struct layer *l)
{
	static const char *const subs[] = {"proc", "sys", "dev", "dev/pts"};
	for (int i = 0; i < 4; i++) {
		struct stat st;
		const char *p = layer_path(l, buf_str(&l->root), subs[i]);
		if (lstat(p, &st) < 0 && errno == ENOENT && mkdir(p, 0755) == 0)
			continue;
		if (lstat(p, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "corral-image: %s: /%s in the image is not a directory\n",
				l->name, subs[i]);
			return -ENOTDIR;
		}
	}
	return 0;
}

int layer_chroot_enter(struct layer *l)
{
	int rc;
	if ((rc = mount_points(l)) < 0 || (rc = mnt_bind(buf_str(&l->root))) < 0)
		return rc;
	l->mounted = 1;
	/* resolv.conf may be a dangling link into /run in the image. */
	if ((rc = rm_in_image(l, "/etc/resolv.conf")) < 0)
		return rc;
	struct buf res;
	buf_init(&res, 65536);
	if (fs_read_file("/etc/resolv.conf", res.cap, &res) < 0)
		buf_reset(&res);
	rc = layer_put_file(l, "/etc/resolv.conf", NULL, buf_str(&res), res.len, 0644);
	buf_clear(&res);
	if (rc < 0)
		return rc;
	static const char prc[] =
		"#!/bin/sh\n# corral-image: no services during the build\nexit 101\n";
	return layer_put_file(l, "/usr/sbin/policy-rc.d", NULL, prc, sizeof(prc) - 1, 0755);
}

int layer_chroot_leave(struct layer *l)
{
	if (!l->mounted)
		return 0;
	l->mounted = 0;
	return mnt_release();
}

/* The last of a glob's matches (sort order: the newest version), its part
 * after prefix into l->kver.  1 found, 0 none, <0 too long. */
static int kver_from_glob(struct layer *l, const char *pattern, const char *prefix,
			  const char *suffix)
{
	glob_t g;
	char pat[4096];
	if (buf_fmt(pat, sizeof(pat), "%s%s", buf_str(&l->root), pattern) < 0)
		return -ENAMETOOLONG;
	if (glob(pat, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		globfree(&g);
		return 0;
	}
	const char *k = strstr(g.gl_pathv[g.gl_pathc - 1] + l->root.len, prefix) + strlen(prefix);
	size_t n = strlen(k) - strlen(suffix);
	int rc = buf_fmt(l->kver, sizeof(l->kver), "%.*s", (int)n, k);
	globfree(&g);
	return rc < 0 ? rc : 1;
}

int layer_find_kernel(struct layer *l)
{
	int rc = kver_from_glob(l, "/boot/vmlinuz-*", "/boot/vmlinuz-", "");
	if (rc == 0)
		rc = kver_from_glob(l, "/lib/modules/*/vmlinuz", "/lib/modules/", "/vmlinuz");
	if (rc < 0)
		fprintf(stderr, "corral-image: %s: kernel version longer than %zu bytes\n", l->name,
			sizeof(l->kver) - 1);
	return rc == 0 ? -ENOENT : rc < 0 ? rc : 0;
}

/* Corral's modules into the image's dracut. */
static int install_bootmods(struct layer *l)
{
	struct buf files, src, dest;
	int rc;
	buf_init(&files, 65536);
	buf_init(&src, 4096);
	buf_init(&dest, 4096);
	rc = bootmod_files(l->boot_dir, &files);
	for (char *save = NULL, *f = strtok_r(files.data ? files.data : (char *)"", "\n", &save);
	     rc == 0 && f; f = strtok_r(NULL, "\n", &save)) {
		buf_reset(&src);
		buf_reset(&dest);
		if ((rc = buf_printf(&src, "%s/%s", l->boot_dir, f)) < 0 ||
		    (rc = buf_printf(&dest, "%s/%s", BOOTMOD_DEST, f)) < 0)
			break;
		rc = layer_put_file(l, buf_str(&dest), buf_str(&src), NULL, 0, 0755);
	}
	buf_clear(&files);
	buf_clear(&src);
	buf_clear(&dest);
	return rc;
}

/* zstd (dracut's level, on the host) of the image's file at path, in place. */
static int compress_native(struct layer *l, const char *path)
{
	struct buf src, dst;
	int rc;
	buf_init(&src, 4096);
	buf_init(&dst, 4096);
	buf_adds(&src, layer_path(l, buf_str(&l->root), path + 1));
	buf_printf(&dst, "%s.zst", buf_str(&src));
	const char *argv[] = {"/usr/bin/zstd", "-q",          "-15", "-T0", "-f", "-o",
			      buf_str(&dst),   buf_str(&src), NULL};
	rc = proc_run(argv, NULL);
	if (rc == 0 && rename(buf_str(&dst), buf_str(&src)) < 0)
		rc = -errno;
	buf_clear(&src);
	buf_clear(&dst);
	return rc;
}

int layer_initramfs(struct layer *l, const char *net_module)
{
	int rc;
	char what[200], add[200], out[300];
	if ((rc = layer_find_kernel(l)) < 0) {
		fprintf(stderr, "corral-image: %s: no kernel in the image\n", l->name);
		return rc;
	}
	buf_fmt_msg(what, sizeof(what), "dracut live %s", l->kver);
	proc_stage("initramfs", what);
	if ((rc = install_bootmods(l)) < 0)
		return layer_fail(l, "initramfs (Corral's dracut modules)", rc);
	/* dracut 059 on Debian 12: network-legacy, since the systemd-networkd
	 * backend gets a lease but never starts the livenet download. */
	if (buf_fmt(add, sizeof(add), "dmsquash-live livenet network %s %s", net_module,
		    BOOTMOD_ADD) < 0 ||
	    buf_fmt(out, sizeof(out), "/boot/corral-initrd-%s.img", l->kver) < 0)
		return layer_fail(l, "initramfs", -ENAMETOOLONG);
	/* A foreign image's dracut runs through qemu-user: it writes the cpio
	 * uncompressed and the host's zstd compresses it at native speed
	 * (no early microcode cpio then, which only x86 has). */
	int foreign = strcmp(l->arch, foreign_host_arch()) != 0;
	const char *argv[] = {"/usr/bin/dracut",
			      "--force",
			      "--no-hostonly",
			      "--no-hostonly-cmdline",
			      "--add",
			      add,
			      "--omit",
			      dracut_omit,
			      foreign ? "--no-compress" : "--compress",
			      foreign ? "--no-early-microcode" : "zstd",
			      "--kver",
			      l->kver,
			      out,
			      NULL};
	if ((rc = layer_chroot_run(l, argv)) < 0)
		return layer_fail(l, "initramfs (dracut)", rc);
	if (foreign && (rc = compress_native(l, out)) < 0)
		return layer_fail(l, "initramfs (zstd)", rc);
	proc_stage_done("done");
	return 0;
}

int layer_tidy(struct layer *l)
{
	int rc;
	struct stat st;
	if (stat(layer_path(l, buf_str(&l->root), "usr/bin/apt-get"), &st) == 0) {
		const char *clean[] = {"/usr/bin/apt-get", "clean", NULL};
		if ((rc = layer_chroot_run(l, clean)) < 0)
			return layer_fail(l, "tidy (apt-get clean)", rc);
	}
	/* Per-node identity is made at boot: host keys by cloud-init, the
	 * machine id by systemd.  A constant script, nothing from input in it. */
	const char *rm[] = {"/bin/sh", "-c",
			    "rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*_key* "
			    "/usr/sbin/policy-rc.d /var/log/*.log /var/cache/debconf/*-old",
			    NULL};
	if ((rc = layer_chroot_run(l, rm)) < 0)
		return layer_fail(l, "tidy", rc);
	if ((rc = layer_put_file(l, "/etc/machine-id", NULL, "", 0, 0444)) < 0)
		return layer_fail(l, "tidy (machine-id)", rc);
	if ((rc = rm_in_image(l, "/etc/resolv.conf")) < 0)
		return layer_fail(l, "tidy (resolv.conf)", rc);
	/* Debian's default without systemd-resolved: a file DHCP fills in. */
	if ((rc = layer_put_file(l, "/etc/resolv.conf", NULL, "", 0, 0644)) < 0)
		return layer_fail(l, "tidy (resolv.conf)", rc);
	return 0;
}

/* The kernel image of l->kver inside the root into src. */
static int kernel_src(struct layer *l, char *src, size_t len)
{
	struct stat st;
	int rc = buf_fmt(src, len, "%s/boot/vmlinuz-%s", buf_str(&l->root), l->kver);
	if (rc == 0 && stat(src, &st) < 0)
		rc = buf_fmt(src, len, "%s/lib/modules/%s/vmlinuz", buf_str(&l->root), l->kver);
	return rc;
}

static int kernel_from_parent(struct layer *l)
{
	static const char *const files[] = {"vmlinuz", "initrd"};
	for (int i = 0; i < 2; i++) {
		struct buf src;
		buf_init(&src, 4096);
		imgstore_layer_path(l->s, l->parent_key, files[i], &src);
		int rc = fs_link_or_copy(buf_str(&src), layer_path(l, buf_str(&l->out), files[i]));
		buf_clear(&src);
		if (rc < 0)
			return layer_fail(l, "kernel (parent's)", rc);
	}
	return 0;
}

int layer_kernel(struct layer *l)
{
	int rc;
	char src[4096];
	proc_stage("kernel", "vmlinuz + initrd");
	if (l->parent_key[0] == '\0') {
		if ((rc = kernel_src(l, src, sizeof(src))) < 0 ||
		    (rc = fs_copy(src, layer_path(l, buf_str(&l->out), "vmlinuz"), 0644)) < 0)
			return layer_fail(l, "kernel (copy vmlinuz)", rc);
		if ((rc = buf_fmt(src, sizeof(src), "%s/boot/corral-initrd-%s.img",
				  buf_str(&l->root), l->kver)) < 0 ||
		    (rc = fs_copy(src, layer_path(l, buf_str(&l->out), "initrd"), 0644)) < 0)
			return layer_fail(l, "kernel (copy initrd)", rc);
		unlink(src);
	} else if ((rc = kernel_from_parent(l)) < 0) {
		return rc;
	}
	/* Package-time generic initramfs images: not needed in a live root. */
	glob_t g;
	char pat[4096];
	if (buf_fmt(pat, sizeof(pat), "%s/boot/initrd.img-*", buf_str(&l->root)) < 0)
		return layer_fail(l, "kernel (initrd.img)", -ENAMETOOLONG);
	if (glob(pat, 0, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
	globfree(&g);
	proc_stage_done("done");
	return 0;
}

/* dpkg-query's "status name version" lines into l->packages. */
/* Lines "<status>\t<name>\t<version>" (installed: status "ii") appended
 * to l->packages. */
static void parse_packages(struct layer *l, char *text)
{
	for (char *save = NULL, *ln = strtok_r(text, "\n", &save); ln;
	     ln = strtok_r(NULL, "\n", &save)) {
		char *s1 = NULL;
		char *st = strtok_r(ln, "\t", &s1), *name = strtok_r(NULL, "\t", &s1),
		     *ver = strtok_r(NULL, "\t", &s1);
		if (st && name && ver && st[0] == 'i' && st[1] == 'i')
			json_array_append_new(l->packages,
					      json_pack("{s:s,s:s}", "name", name, "version", ver));
	}
}

/* argv's output (the format above) into l->packages. */
static int list_from(struct layer *l, const char *const *argv)
{
	struct buf list;
	char tmpf[4096];
	int rc = buf_fmt(tmpf, sizeof(tmpf), "%s/packages.txt", buf_str(&l->tmp));
	buf_init(&list, 8 << 20);
	if (rc == 0)
		rc = proc_run(argv, tmpf);
	if (rc == 0)
		rc = fs_read_file(tmpf, list.cap, &list);
	if (rc == 0)
		parse_packages(l, list.data ? list.data : (char *)"");
	buf_clear(&list);
	return rc;
}

int layer_package_list(struct layer *l)
{
	struct buf admin;
	struct stat st;
	int rc = 0;
	l->packages = json_array();
	/* dpkg's database, read by this machine's dpkg-query. */
	if (stat(layer_path(l, buf_str(&l->root), "var/lib/dpkg/status"), &st) == 0) {
		buf_init(&admin, 4096);
		buf_printf(&admin, "--admindir=%s/var/lib/dpkg", buf_str(&l->root));
		const char *argv[] = {"/usr/bin/dpkg-query", buf_str(&admin), "-W",
				      "-f=${db:Status-Abbrev}\t${Package}\t${Version}\n", NULL};
		rc = list_from(l, argv);
		buf_clear(&admin);
	}
	/* rpm's, by the image's own rpm (its database's format and place are
	 * its own); every package it lists is installed, hence "ii". */
	if (rc == 0 && stat(layer_path(l, buf_str(&l->root), "usr/bin/rpm"), &st) == 0) {
		const char *argv[] = {CHROOT,
				      buf_str(&l->root),
				      "/usr/bin/rpm",
				      "-qa",
				      "--qf",
				      "ii\t%{NAME}\t%{VERSION}-%{RELEASE}.%{ARCH}\n",
				      NULL};
		rc = list_from(l, argv);
	}
	if (rc < 0)
		layer_fail(l, "package list", rc);
	return rc;
}

int layer_squashfs(struct layer *l)
{
	int rc;
	proc_stage("squashfs", "mksquashfs zstd");
	const char *argv[] = {"/usr/bin/mksquashfs",
			      buf_str(&l->root),
			      layer_path(l, buf_str(&l->out), "rootfs.squashfs"),
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
	if ((rc = proc_run(argv, NULL)) < 0)
		return layer_fail(l, "squashfs (mksquashfs)", rc);
	proc_stage_done("done");
	return 0;
}

/* {"vmlinuz": {sha256, size}, "initrd": ..., "rootfs.squashfs": ...} */
static int artifacts(struct layer *l, json_t **out)
{
	static const char *const arts[] = {"vmlinuz", "initrd", "rootfs.squashfs"};
	json_t *a = json_object();
	for (int i = 0; i < 3; i++) {
		char hex[65];
		unsigned long long size;
		int rc = digest_sha256_file(layer_path(l, buf_str(&l->out), arts[i]), hex, &size);
		if (rc < 0) {
			json_decref(a);
			return rc;
		}
		json_object_set_new(
			a, arts[i],
			json_pack("{s:s,s:I}", "sha256", hex, "size", (json_int_t)size));
	}
	*out = a;
	return 0;
}

int layer_manifest(struct layer *l, json_t *m)
{
	json_t *a = NULL;
	char ts[40];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	proc_stage("manifest", "sha256 + manifest.json");
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((rc = artifacts(l, &a)) < 0)
		return layer_fail(l, "manifest (sha256)", rc);
	json_object_set_new(m, "format", json_integer(1));
	json_object_set_new(m, "name", json_string(l->name));
	json_object_set_new(m, "arch", json_string(l->arch));
	json_object_set_new(m, "layer", json_string(l->key));
	json_object_set_new(m, "kernel_version", json_string(l->kver));
	json_object_set_new(m, "artifacts", a);
	json_object_set_new(m, "packages", l->packages ? l->packages : json_array());
	l->packages = NULL;
	json_object_set_new(m, "built", json_string(ts));
	json_object_set_new(m, "build_seconds",
			    json_real((double)(long)((proc_now() - l->t0) * 10) / 10));
	json_object_set_new(m, "builder", json_string("corral-image " CORRAL_VERSION));
	char *text = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (text == NULL)
		return layer_fail(l, "manifest", -ENOMEM);
	rc = fs_write_atomic(layer_path(l, buf_str(&l->out), "manifest.json"), text, strlen(text),
			     0644);
	free(text);
	if (rc < 0)
		return layer_fail(l, "manifest", rc);
	proc_stage_done("done");
	return 0;
}

int layer_commit(struct layer *l)
{
	int rc;
	if (proc_interrupted())
		return layer_fail(l, "commit", -EINTR);
	proc_log("build finished in %.1f s", proc_now() - l->t0);
	fs_copy(buf_str(&l->log), layer_path(l, buf_str(&l->out), "build.log"), 0644);
	if ((rc = imgstore_commit(l->s, buf_str(&l->out), l->key)) < 0 ||
	    (rc = imgstore_set_name(l->s, l->name, l->key)) < 0) {
		fprintf(stderr, "corral-image: %s: cannot add to the store: %s\n", l->name,
			strerror(-rc));
		return rc;
	}
	if (!l->quiet) {
		struct buf sq;
		struct stat st;
		buf_init(&sq, 4096);
		imgstore_layer_path(l->s, l->key, "rootfs.squashfs", &sq);
		printf("%s: built layer %.12s in %.1f s (rootfs.squashfs %.1f MiB)\n", l->name,
		       l->key, proc_now() - l->t0,
		       stat(buf_str(&sq), &st) == 0 ? (double)st.st_size / 1048576.0 : 0.0);
		buf_clear(&sq);
	}
	fs_rm_tree(buf_str(&l->tmp));
	return 0;
}

void layer_abort(struct layer *l)
{
	layer_chroot_leave(l);
	if (l->tmp.len == 0)
		return;
	mnt_release_under(buf_str(&l->tmp));
	if (fs_rm_tree(buf_str(&l->tmp)) < 0)
		fprintf(stderr, "corral-image: could not remove all of %s\n", buf_str(&l->tmp));
}
