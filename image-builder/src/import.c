/*
 * import: OCI image → layer, with skopeo and umoci.  See import.h.
 *
 * Security: an imported image is anybody's.  Its paths reach programs
 * only as argv elements; its files are written into (never out of) its
 * root with layer_put_file; its programs (dracut, the package manager) run
 * only inside its chroot.  skopeo runs with --insecure-policy: the sources
 * are local files that carry no signatures to check, and what identifies
 * the content is the diff_ids the layer key is made of.
 */
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "foreign.h"
#include "fsutil.h"
#include "layer.h"
#include "liveboot.h"
#include "mounts.h"
#include "proc.h"

#define SKOPEO "/usr/bin/skopeo"
#define UMOCI "/usr/bin/umoci"
#define TAR_MAX_ENTRIES 100000
#define CONFIG_MAX (4u << 20)

static const char *const kind_names[] = {"oci", "oci-archive", "docker-archive"};

/* Looks through a tar's headers for oci-layout and manifest.json. */
static int tar_members(int fd, int *has_oci, int *has_manifest)
{
	unsigned char h[512];
	for (int n = 0; n < TAR_MAX_ENTRIES; n++) {
		ssize_t r = read(fd, h, sizeof(h));
		if (r != (ssize_t)sizeof(h))
			return r < 0 ? -errno : -EINVAL;
		if (h[0] == '\0')
			return 0; /* the end blocks */
		char name[101], size[13];
		memcpy(name, h, 100);
		name[100] = '\0';
		memcpy(size, h + 124, 12);
		size[12] = '\0';
		const char *base = strncmp(name, "./", 2) == 0 ? name + 2 : name;
		*has_oci |= strcmp(base, "oci-layout") == 0;
		*has_manifest |= strcmp(base, "manifest.json") == 0;
		char *end;
		unsigned long long len = strtoull(size, &end, 8);
		if (end == size)
			return -EINVAL;
		if (lseek(fd, (off_t)((len + 511) / 512 * 512), SEEK_CUR) < 0)
			return -errno;
	}
	return 0;
}

int import_source_kind(const char *source, enum import_kind *kind, char *why, size_t whylen)
{
	struct stat st;
	char p[4096];
	if (stat(source, &st) < 0) {
		buf_fmt_msg(why, whylen, "%s", strerror(errno));
		return -ENOENT;
	}
	if (strchr(source, ':') != NULL) {
		buf_fmt_msg(why, whylen, "a path with ':' (skopeo reads it as path:tag)");
		return -EINVAL;
	}
	if (S_ISDIR(st.st_mode)) {
		if (buf_fmt(p, sizeof(p), "%s/oci-layout", source) < 0 || stat(p, &st) < 0) {
			buf_fmt_msg(why, whylen,
				    "a directory without oci-layout (not an OCI "
				    "image layout)");
			return -EINVAL;
		}
		*kind = IMPORT_OCI_DIR;
		return 0;
	}
	int fd = open(source, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		buf_fmt_msg(why, whylen, "%s", strerror(errno));
		return -ENOENT;
	}
	unsigned char magic[2] = {0, 0};
	int has_oci = 0, has_manifest = 0, rc = 0;
	if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
		rc = -EPROTO;
	else
		rc = tar_members(fd, &has_oci, &has_manifest);
	close(fd);
	if (rc == -EPROTO)
		buf_fmt_msg(why, whylen, "a gzip-compressed file: decompress it first");
	else if (rc < 0 || (!has_oci && !has_manifest))
		buf_fmt_msg(why, whylen,
			    "not an OCI archive or docker-archive tarball (no "
			    "oci-layout or manifest.json in it)");
	if (rc < 0 || (!has_oci && !has_manifest))
		return -EINVAL;
	*kind = has_oci ? IMPORT_OCI_ARCHIVE : IMPORT_DOCKER_ARCHIVE;
	return 0;
}

int import_key(const json_t *config, const char *name, const char *arch,
	       const struct import_opts *o, char hex[65])
{
	json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	struct buf b;
	size_t i;
	json_t *id;
	int rc = 0;
	if (!json_is_array(ids) || json_array_size(ids) == 0)
		return -EINVAL;
	buf_init(&b, 1 << 20);
	rc |= buf_printf(&b, "corral-oci-import 1\nname %s\narch %s\nlive_boot %d\nparams %s\n",
			 name, arch, o->live_boot, o->kernel_params ? o->kernel_params : "");
	if (o->releasever != NULL) /* only when given: older keys stay as they were */
		rc |= buf_printf(&b, "releasever %s\n", o->releasever);
	json_array_foreach(ids, i, id) {
		const char *s = json_string_value(id);
		if (s == NULL || strncmp(s, "sha256:", 7) != 0) {
			rc = -EINVAL;
			break;
		}
		rc |= buf_printf(&b, "layer %s\n", s);
	}
	if (rc == 0)
		digest_sha256_hex(buf_str(&b), b.len, hex);
	buf_clear(&b);
	return rc < 0 ? -EINVAL : 0;
}

/* State of one import. */
struct imp {
	struct layer L;
	const struct import_opts *o;
	enum import_kind kind;
	char ref[4200];  /* skopeo's transport:path */
	char arch[16];   /* Debian's name */
	json_t *config;  /* the image's configuration */
	char digest[65]; /* import_key */
	int cloud_init;  /* the image has /etc/cloud */
};

/* `skopeo inspect --config` into im->config, using dir for its output. */
static int read_config(struct imp *im, const char *dir)
{
	char out[4200];
	struct buf text;
	json_error_t jerr;
	int rc;
	if (buf_fmt(out, sizeof(out), "%s/config.json", dir) < 0)
		return -ENAMETOOLONG;
	const char *argv[] = {SKOPEO,    "--insecure-policy", "--override-arch", im->arch,
			      "inspect", "--config",          im->ref,           NULL};
	const char *argv_any[] = {SKOPEO, "--insecure-policy", "inspect", "--config", im->ref,
				  NULL};
	rc = proc_run(im->arch[0] ? argv : argv_any, out);
	if (rc < 0) {
		fprintf(stderr, "corral-image: %s: skopeo cannot read %s:\n%s\n", im->o->name,
			im->ref, proc_last_output());
		return rc;
	}
	buf_init(&text, CONFIG_MAX);
	rc = fs_read_file(out, CONFIG_MAX, &text);
	if (rc == 0 &&
	    (im->config = json_loadb(text.data ? text.data : "", text.len, 0, &jerr)) == NULL) {
		fprintf(stderr, "corral-image: %s: the image's configuration is not JSON: %s\n",
			im->o->name, jerr.text);
		rc = -EINVAL;
	}
	buf_clear(&text);
	return rc;
}

/* Reads the configuration and settles the architecture.  dir: scratch. */
static int probe(struct imp *im, const char *dir)
{
	int rc;
	const char *want = im->o->arch;
	if (want != NULL && buf_fmt(im->arch, sizeof(im->arch), "%s", want) < 0)
		return -EINVAL;
	if ((rc = read_config(im, dir)) < 0)
		return rc;
	const char *has = json_string_value(json_object_get(im->config, "architecture"));
	if (has == NULL) {
		fprintf(stderr,
			"corral-image: %s: the image's configuration names no "
			"architecture\n",
			im->o->name);
		return -EINVAL;
	}
	if (want != NULL && strcmp(want, has) != 0) {
		fprintf(stderr, "corral-image: %s: the image is for %s, not %s\n", im->o->name, has,
			want);
		return -EINVAL;
	}
	if (buf_fmt(im->arch, sizeof(im->arch), "%s", has) < 0)
		return -EINVAL;
	if (import_key(im->config, im->o->name, im->arch, im->o, im->digest) < 0) {
		fprintf(stderr,
			"corral-image: %s: the image's configuration has no "
			"rootfs.diff_ids\n",
			im->o->name);
		return -EINVAL;
	}
	return 0;
}

/* skopeo copy of ref into an OCI layout in l's tree, umoci raw unpack of it
 * as l's root. */
static int unpack(struct layer *l, enum import_kind kind, const char *ref, size_t nlayers)
{
	char dst[4200], img[4200], what[200];
	int rc;
	if (buf_fmt(img, sizeof(img), "%s/oci:corral", buf_str(&l->tmp)) < 0 ||
	    buf_fmt(dst, sizeof(dst), "oci:%s", img) < 0)
		return layer_fail(l, "oci", -ENAMETOOLONG);
	buf_fmt_msg(what, sizeof(what), "skopeo copy %s", kind_names[kind]);
	proc_stage("oci", what);
	const char *copy[] = {
		SKOPEO, "--insecure-policy", "--override-arch", l->arch, "copy", ref, dst, NULL};
	if ((rc = proc_run(copy, NULL)) < 0)
		return layer_fail(l, "oci (skopeo copy)", rc);
	proc_stage_done("done");
	buf_fmt_msg(what, sizeof(what), "umoci raw unpack: %zu layers", nlayers);
	proc_stage("rootfs", what);
	const char *argv[] = {UMOCI, "raw", "unpack", "--image", img, buf_str(&l->root), NULL};
	if ((rc = proc_run(argv, NULL)) < 0)
		return layer_fail(l, "rootfs (umoci raw unpack)", rc);
	proc_stage_done("done");
	return 0;
}

static size_t nlayers(const json_t *config)
{
	return json_array_size(json_object_get(json_object_get(config, "rootfs"), "diff_ids"));
}

/* In the chroot: the live boot pieces (asked for), the check, cloud-init
 * settings (liveboot.c), the initramfs, tidy. */
static int import_in_chroot(struct imp *im)
{
	struct layer *l = &im->L;
	const char *net = NULL;
	int rc;
	if (!liveboot_has_shell(l))
		return -ENOENT;
	if ((rc = layer_chroot_enter(l)) < 0)
		return layer_fail(l, "chroot mounts", rc);
	if ((rc = liveboot_prepare(l, im->o->live_boot, im->o->releasever, NULL, 0, &net,
				   &im->cloud_init)) < 0)
		return rc;
	if ((rc = layer_initramfs(l, net)) < 0 || (rc = layer_tidy(l)) < 0)
		return rc;
	if ((rc = layer_chroot_leave(l)) < 0)
		return layer_fail(l, "unmount", rc);
	return 0;
}

static int import_manifest(struct imp *im)
{
	json_t *m = json_object();
	char real[4096];
	if (realpath(im->o->source, real) == NULL)
		buf_fmt_msg(real, sizeof(real), "%s", im->o->source);
	json_object_set_new(m, "description", json_null());
	json_object_set_new(m, "recipe", json_null());
	json_object_set_new(m, "parent", json_null());
	json_object_set_new(m, "base", json_null());
	json_object_set_new(
		m, "source",
		json_pack("{s:s,s:s,s:s,s:O,s:b}", "kind", kind_names[im->kind], "path", real,
			  "digest", im->digest, "diff_ids",
			  json_object_get(json_object_get(im->config, "rootfs"), "diff_ids"),
			  "live_boot", im->o->live_boot));
	json_object_set_new(m, "kernel_params",
			    json_string(im->o->kernel_params ? im->o->kernel_params : ""));
	json_object_set_new(m, "cloud_init", json_boolean(im->cloud_init));
	int rc = layer_manifest(&im->L, m);
	json_decref(m);
	return rc;
}

static int import_fresh(struct imp *im)
{
	struct layer *l = &im->L;
	int rc;
	if ((rc = layer_begin(l)) < 0)
		goto err;
	if (!im->o->quiet) {
		printf("%s: importing layer %.12s (%s %s, %s), log %s\n", im->o->name, l->key,
		       kind_names[im->kind], im->o->source, im->arch, buf_str(&l->log));
		fflush(stdout);
	}
	proc_log("corral-image: import %s as %s, layer %s, content %s, arch %s", im->ref,
		 im->o->name, l->key, im->digest, im->arch);
	if ((rc = unpack(l, im->kind, im->ref, nlayers(im->config))) < 0 ||
	    (rc = import_in_chroot(im)) < 0 || (rc = layer_kernel(l)) < 0 ||
	    (rc = layer_package_list(l)) < 0 || (rc = layer_squashfs(l)) < 0 ||
	    (rc = import_manifest(im)) < 0 || (rc = layer_commit(l)) < 0)
		goto err;
	return 0;
err:
	layer_abort(l);
	return rc;
}

/* Kind, reference and configuration, in a scratch directory of tmp/. */
static int import_prepare(struct imgstore *s, struct imp *im)
{
	char why[256];
	struct buf dir;
	int rc = import_source_kind(im->o->source, &im->kind, why, sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "corral-image: %s: %s\n", im->o->source, why);
		return rc;
	}
	if (buf_fmt(im->ref, sizeof(im->ref), "%s:%s", kind_names[im->kind], im->o->source) < 0)
		return -ENAMETOOLONG;
	buf_init(&dir, 4096);
	if ((rc = imgstore_tmp_dir(s, "import-probe", &dir)) == 0)
		rc = probe(im, buf_str(&dir));
	fs_rm_tree(buf_str(&dir));
	buf_clear(&dir);
	return rc;
}

int import_image(struct imgstore *s, const struct import_opts *o, char key[65])
{
	struct build_boot boot;
	struct imp im;
	int rc;
	memset(&im, 0, sizeof(im));
	im.o = o;
	if ((rc = mnt_isolate()) < 0) {
		fprintf(stderr, "corral-image: private mount namespace: %s (run as root)\n",
			strerror(-rc));
		return rc;
	}
	if ((rc = build_boot_init(&boot)) < 0)
		return rc;
	imgstore_clean_tmp(s);
	proc_stage("probe", "skopeo inspect --config");
	if ((rc = import_prepare(s, &im)) < 0) {
		proc_stage_done("FAILED");
		goto out;
	}
	proc_stage_done("done");
	if ((rc = foreign_ready(im.arch)) < 0)
		goto out;
	layer_init(&im.L, s, o->name, im.arch, boot.dir, o->quiet);
	build_layer_key(im.digest, "", boot.digest, im.L.key);
	memcpy(key, im.L.key, 65);
	if (imgstore_has_layer(s, im.L.key) && !o->force) {
		if (!o->quiet)
			printf("%s: cached (layer %.12s)\n", o->name, im.L.key);
		proc_cache_hit();
		rc = imgstore_set_name(s, o->name, im.L.key);
	} else {
		rc = import_fresh(&im);
	}
	layer_clear(&im.L);
out:
	json_decref(im.config);
	return rc;
}

/* A recipe's base.oci: its kind, reference and configuration. */
static int base_probe(struct imgstore *s, struct imp *im, const struct import_opts *o)
{
	memset(im, 0, sizeof(*im));
	im->o = o;
	return import_prepare(s, im);
}

int import_content_digest(struct imgstore *s, const char *source, const char *arch, char hex[65])
{
	struct import_opts o = {.source = source, .name = "base.oci", .arch = arch};
	struct imp im;
	int rc = base_probe(s, &im, &o);
	if (rc == 0)
		memcpy(hex, im.digest, 65);
	json_decref(im.config);
	return rc;
}

int import_unpack(struct imgstore *s, struct layer *l, const char *source)
{
	struct import_opts o = {.source = source, .name = l->name, .arch = l->arch};
	struct imp im;
	int rc = base_probe(s, &im, &o);
	if (rc == 0)
		rc = unpack(l, im.kind, im.ref, nlayers(im.config));
	json_decref(im.config);
	return rc;
}
