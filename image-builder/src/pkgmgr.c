/*
 * pkgmgr: an image's own apt-get, dnf or zypper.  See pkgmgr.h.
 */
#include "pkgmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "proc.h"

enum kind { PM_APT, PM_DNF, PM_ZYPPER };

/* Words before the verb, the verbs, and what a live boot needs: a kernel,
 * dracut's live and network modules, and what dracut's network-legacy
 * requires (dhclient, ip, pgrep, arping).  dnf's and zypper's are the
 * distributions' names for the same pieces (not tried here: this machine
 * reaches only Debian's archive). */
static const struct pkgmgr {
	enum kind kind;
	const char *name;
	const char *prog;       /* inside the image */
	const char *opts[6];    /* global options, before the verb */
	const char *refresh;    /* the verb that refreshes the lists, or NULL */
	const char *install[3]; /* verb and its options */
	const char *remove[2];  /* verb */
	const char *clean[3];   /* the whole command's words after prog */
	const char *live[14];   /* what a live boot needs */
	int arch_kernel;        /* live[0] gets "-<arch>" (Debian) */
} pms[] = {
	{PM_APT,
	 "apt-get",
	 "/usr/bin/apt-get",
	 {"-q", "-y", NULL},
	 "update",
	 {"install", "--no-install-recommends", NULL},
	 {"purge", NULL},
	 {"clean", NULL},
	 {"linux-image", "dracut", "dracut-live", "dracut-network", "dbus", "zstd", "curl",
	  "isc-dhcp-client", "iproute2", "procps", "iputils-arping", NULL},
	 1},
	/* dnf fetches its metadata with the transaction: no refresh verb.
	 * keepcache=False drops the downloaded packages; nodocs as Debian
	 * images leave out /usr/share/doc. */
	{PM_DNF,
	 "dnf",
	 "/usr/bin/dnf",
	 {"-y", "--setopt=install_weak_deps=False", "--setopt=tsflags=nodocs",
	  "--setopt=keepcache=False", NULL},
	 NULL,
	 {"install", NULL},
	 {"remove", NULL},
	 {"clean", "all", NULL},
	 {"kernel-core", "dracut-live", "dracut-network", "dhcp-client", "curl", "zstd", "iproute",
	  "procps-ng", "iputils", NULL},
	 0},
	/* No --gpg-auto-import-keys: a repository's key is the image's to
	 * trust (its rpm database), not the builder's. */
	{PM_ZYPPER,
	 "zypper",
	 "/usr/bin/zypper",
	 {"--non-interactive", NULL},
	 "refresh",
	 {"install", "--no-recommends", NULL},
	 {"remove", NULL},
	 {"clean", "--all", NULL},
	 {"kernel-default", "dracut", "curl", "dhcp-client", "zstd", "iproute2", "procps",
	  "iputils", NULL},
	 0},
};

/* Far more than a recipe's 4096 packages and the options. */
#define PKGMGR_MAX_ARGS 4200

static int in_root(struct layer *l, const char *path)
{
	struct stat st;
	return stat(layer_path(l, buf_str(&l->root), path + 1), &st) == 0;
}

const struct pkgmgr *pkgmgr_find(struct layer *l)
{
	for (size_t i = 0; i < sizeof(pms) / sizeof(pms[0]); i++)
		if (in_root(l, pms[i].prog))
			return &pms[i];
	return NULL;
}

const char *pkgmgr_name(const struct pkgmgr *pm)
{
	return pm->name;
}

const char *const *pkgmgr_live_packages(const struct pkgmgr *pm, const char *arch, char *kernel,
					size_t kernel_len)
{
	if (pm->arch_kernel)
		buf_fmt_msg(kernel, kernel_len, "%s-%s", pm->live[0], arch);
	else
		buf_fmt_msg(kernel, kernel_len, "%s", pm->live[0]);
	return pm->live + 1;
}

int pkgmgr_releasever_ok(const char *s)
{
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	size_t n = strlen(s);
	return n >= 1 && n <= 32 && strspn(s, ok) == n && s[0] != '-';
}

/* path (absolute, inside the image) into out, every link resolved inside
 * the root (/etc/os-release is one).  0 or a negative errno. */
static int read_in_root(struct layer *l, const char *path, char *out, size_t len)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int rootfd = open(buf_str(&l->root), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	int rc = fd < 0 ? -errno : 0;
	close(rootfd);
	if (rc < 0)
		return rc;
	ssize_t n = read(fd, out, len - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	out[n < 0 ? 0 : n] = '\0';
	return rc;
}

/* os-release's VERSION_ID (quotes removed) into out; 0, or -ENOENT when
 * the image has no os-release or no valid VERSION_ID in it. */
static int os_version_id(struct layer *l, char *out, size_t len)
{
	char text[8192];
	if (read_in_root(l, "/etc/os-release", text, sizeof(text)) < 0 &&
	    read_in_root(l, "/usr/lib/os-release", text, sizeof(text)) < 0)
		return -ENOENT;
	for (char *line = text; line != NULL && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "VERSION_ID=", 11) == 0) {
			char *v = line + 11;
			size_t n = strlen(v);
			if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
				v[n - 1] = '\0';
				v++;
			}
			if (!pkgmgr_releasever_ok(v) || buf_fmt(out, len, "%s", v) < 0)
				return -ENOENT;
			return 0;
		}
		line = next;
	}
	return -ENOENT;
}

/* 1 when a package in the image's rpm database provides system-release
 * (dnf then knows its release version itself). */
static int has_system_release(struct layer *l)
{
	const char *argv[] = {"/usr/bin/rpm", "-q", "--whatprovides", "system-release", NULL};
	return in_root(l, argv[0]) && layer_chroot_run(l, argv) == 0;
}

/*
 * The release version to give the manager into out ("" for none: the
 * manager finds its own).  0, or -EINVAL after saying that dnf cannot know
 * it and which recipe field gives it.
 */
static int releasever(struct layer *l, const struct pkgmgr *pm, const char *given, char *out,
		      size_t len)
{
	out[0] = '\0';
	if (pm->kind == PM_APT)
		return 0;
	if (given != NULL) {
		proc_log("%s: release version %s (the recipe's base.releasever)", pm->name, given);
		return buf_fmt(out, len, "%s", given);
	}
	if (pm->kind == PM_DNF && has_system_release(l)) {
		proc_log("dnf: release version from the image's system-release package");
		return 0;
	}
	if (os_version_id(l, out, len) == 0) {
		proc_log("%s: release version %s (the image's os-release VERSION_ID)", pm->name,
			 out);
		return 0;
	}
	if (pm->kind == PM_ZYPPER)
		return 0; /* zypper reads it from the base product in /etc/products.d */
	proc_stage_done("FAILED");
	fprintf(stderr,
		"corral-image: %s: dnf needs the image's release version ($releasever in its "
		"repository files) and cannot know it: no package provides system-release and "
		"/etc/os-release has no VERSION_ID.  Give it as the recipe's base.releasever "
		"(import --releasever)\n",
		l->name);
	return -EINVAL;
}

int pkgmgr_run(struct layer *l, const struct pkgmgr *pm, const char *given, int remove,
	       const char *const *pkgs, size_t npkgs)
{
	const char *argv[PKGMGR_MAX_ARGS];
	char rel[64], relopt[80], stage[64];
	size_t a = 0, opts;
	int rc;
	if ((rc = releasever(l, pm, given, rel, sizeof(rel))) < 0)
		return rc;
	argv[a++] = pm->prog;
	for (int i = 0; pm->opts[i]; i++)
		argv[a++] = pm->opts[i];
	if (rel[0] != '\0') {
		/* dnf wants it joined; zypper takes both forms. */
		buf_fmt_msg(relopt, sizeof(relopt), "--releasever=%s", rel);
		argv[a++] = relopt;
	}
	opts = a;
	if (pm->refresh != NULL) {
		argv[a++] = pm->refresh;
		argv[a] = NULL;
		buf_fmt_msg(stage, sizeof(stage), "packages (%s %s)", pm->name, pm->refresh);
		if ((rc = layer_chroot_run(l, argv)) < 0)
			return layer_fail(l, stage, rc);
	}
	a = opts;
	const char *const *verb = remove ? pm->remove : pm->install;
	for (int i = 0; verb[i]; i++)
		argv[a++] = verb[i];
	for (size_t i = 0; i < npkgs && a < PKGMGR_MAX_ARGS - 1; i++)
		argv[a++] = pkgs[i];
	argv[a] = NULL;
	buf_fmt_msg(stage, sizeof(stage), "packages (%s %s)", pm->name, verb[0]);
	if ((rc = layer_chroot_run(l, argv)) < 0)
		return layer_fail(l, stage, rc);
	return 0;
}

int pkgmgr_clean(struct layer *l, const struct pkgmgr *pm)
{
	const char *argv[5];
	size_t a = 0;
	int rc;
	argv[a++] = pm->prog;
	if (pm->kind == PM_ZYPPER)
		argv[a++] = "--non-interactive";
	for (int i = 0; pm->clean[i]; i++)
		argv[a++] = pm->clean[i];
	argv[a] = NULL;
	if ((rc = layer_chroot_run(l, argv)) < 0)
		return layer_fail(l, "tidy (package caches)", rc);
	return 0;
}
