/*
 * fsutil: file helpers for the image builder (leaf module).
 *
 * Removing trees never crosses a mount point (a bind mount left inside a
 * build directory must not take the host's /dev or /sys with it); files
 * others read (manifests, links) are written to a temporary name, fsynced
 * and renamed.
 */
#ifndef CORRAL_FSUTIL_H
#define CORRAL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* rm -r of path, staying on path's file system; 0 or a negative errno
 * (-EBUSY when something below is another mount and was left). */
int fs_rm_tree(const char *path);
/* mkdir -p with mode; 0 or a negative errno. */
int fs_mkdir_p(const char *path, mode_t mode);
/* Copies src to dst (created with mode, replaced if it exists); 0 or errno. */
int fs_copy(const char *src, const char *dst, mode_t mode);
/* Hard link, else a copy (other file system); dst replaced atomically. */
int fs_link_or_copy(const char *src, const char *dst);
/* sha256 of a file as 64 hex + NUL, and its size. */
int fs_sha256(const char *path, char hex[65], unsigned long long *size);
/* Writes data to path through path.tmp, fsync, rename. */
int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* fsync a directory (after renames inside it). */
int fs_sync_dir(const char *path);
/* Sum of file sizes below path (not crossing mounts). */
unsigned long long fs_du(const char *path);

#endif
