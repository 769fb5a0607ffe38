/*
 * foreign: binfmt_misc + qemu-user-static for foreign-architecture images.
 * See foreign.h.
 */
#include "foreign.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "buf.h"
#include "fsutil.h"
#include "proc.h"

#define BINFMT "/proc/sys/fs/binfmt_misc"

/* Debian architecture → the qemu-user-static entry's name. */
static const struct {
	const char *deb, *qemu;
} arches[] = {
	{"amd64", "qemu-x86_64"},
	{"arm64", "qemu-aarch64"},
};

const char *foreign_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#else
	return "unknown";
#endif
}

static int file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

/* 1 when BINFMT/name says "enabled" on its first line. */
static int entry_enabled(const char *name)
{
	char p[256];
	struct buf b;
	int on = 0;
	if (buf_fmt(p, sizeof(p), "%s/%s", BINFMT, name) < 0)
		return 0;
	buf_init(&b, 65536);
	if (fs_read_file(p, b.cap, &b) == 0)
		on = strncmp(buf_str(&b), "enabled\n", 8) == 0;
	buf_clear(&b);
	return on;
}

int foreign_ready(const char *arch)
{
	const char *qemu = NULL;
	char path[256];
	if (strcmp(arch, foreign_host_arch()) == 0)
		return 0;
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		if (strcmp(arches[i].deb, arch) == 0)
			qemu = arches[i].qemu;
	if (qemu == NULL) {
		fprintf(stderr, "corral-image: no emulation known for architecture %s\n", arch);
		return -ENOTSUP;
	}
	if (buf_fmt(path, sizeof(path), "/usr/share/binfmts/%s", qemu) < 0 || !file_exists(path)) {
		fprintf(stderr,
			"corral-image: %s images need Debian's qemu-user-static and binfmt-support "
			"(no %s; run make deps)\n",
			arch, path);
		return -ENOENT;
	}
	if (!file_exists(BINFMT "/register") &&
	    mount("binfmt_misc", BINFMT, "binfmt_misc", 0, NULL) < 0) {
		int rc = -errno;
		fprintf(stderr,
			"corral-image: %s images: cannot mount binfmt_misc on %s: %s (the kernel "
			"needs CONFIG_BINFMT_MISC, and the builder CAP_SYS_ADMIN)\n",
			arch, BINFMT, strerror(errno));
		return rc;
	}
	if (!entry_enabled(qemu)) {
		const char *argv[] = {"/usr/sbin/update-binfmts", "--enable", qemu, NULL};
		int rc = proc_run(argv, NULL);
		if (rc < 0 || !entry_enabled(qemu)) {
			fprintf(stderr,
				"corral-image: %s images: update-binfmts --enable %s failed; "
				"%s/%s is not enabled:\n%s\n",
				arch, qemu, BINFMT, qemu, proc_last_output());
			return rc < 0 ? rc : -ENOEXEC;
		}
	}
	proc_log("%s programs run through %s/%s", arch, BINFMT, qemu);
	return 0;
}
