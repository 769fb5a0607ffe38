/*
 * mounts: chroot mounts with guaranteed release.  See mounts.h.
 */
#include "mounts.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "buf.h"
#include "proc.h"

#define MNT_MAX 8

static char mnt_paths[MNT_MAX][4096];
static int mnt_count;

int mnt_isolate(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	/* Nothing we mount (or unmount) propagates back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	return 0;
}

static int one(const char *root, const char *sub, const char *src, const char *type,
	       unsigned long flags)
{
	if (mnt_count >= MNT_MAX)
		return -ENOSPC;
	char *dst = mnt_paths[mnt_count];
	if (buf_fmt(dst, sizeof(mnt_paths[0]), "%s%s", root, sub) < 0)
		return -ENAMETOOLONG;
	if (mount(src, dst, type, flags, NULL) < 0) {
		int rc = -errno;
		proc_log("mount %s on %s: %s", src, dst, strerror(errno));
		return rc;
	}
	proc_log("mounted %s on %s", src, dst);
	mnt_count++;
	return 0;
}

int mnt_bind(const char *root)
{
	int rc;
	if ((rc = one(root, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)) < 0 ||
	    (rc = one(root, "/sys", "/sys", NULL, MS_BIND)) < 0 ||
	    (rc = one(root, "/dev", "/dev", NULL, MS_BIND)) < 0 ||
	    (rc = one(root, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC)) < 0) {
		mnt_release();
		return rc;
	}
	return 0;
}

int mnt_release(void)
{
	int rc = 0;
	while (mnt_count > 0) {
		const char *p = mnt_paths[--mnt_count];
		if (umount2(p, 0) < 0 && umount2(p, MNT_DETACH) < 0) {
			proc_log("umount %s: %s", p, strerror(errno));
			if (rc == 0)
				rc = -errno;
		} else {
			proc_log("unmounted %s", p);
		}
	}
	return rc;
}

int mnt_release_under(const char *prefix)
{
	size_t plen = strlen(prefix);
	int count = 0;
	/* Repeat: mountinfo lists parents before children; unmount the last
	 * match each round until none is left. */
	for (int round = 0; round < 64; round++) {
		FILE *f = fopen("/proc/self/mountinfo", "r");
		char line[8192], last[4096] = "";
		if (f == NULL)
			break;
		while (fgets(line, sizeof(line), f)) {
			/* id parent major:minor root mountpoint ... */
			char *save = NULL, *tok = strtok_r(line, " ", &save);
			for (int i = 0; tok && i < 4; i++)
				tok = strtok_r(NULL, " ", &save);
			/* A longer mount point than last holds is none of ours. */
			if (tok && strncmp(tok, prefix, plen) == 0 &&
			    (tok[plen] == '/' || tok[plen] == '\0') && strlen(tok) < sizeof(last))
				memcpy(last, tok, strlen(tok) + 1);
		}
		fclose(f);
		if (last[0] == '\0')
			break;
		if (umount2(last, MNT_DETACH) < 0) {
			proc_log("umount %s: %s", last, strerror(errno));
			break;
		}
		proc_log("unmounted leftover %s", last);
		count++;
	}
	return count;
}
