/*
 * fsutil: file helpers every program shares (leaf module: depends on buf
 * only): whole reads and writes, atomic replacement, mkdir -p, rm -r.  Callable from any thread; no state of its own but
 * fs_rm_tree's and fs_du's walk, which are not reentrant.
 *
 * Removing trees never crosses a mount point (a bind mount left inside a
 * build directory must not take the host's /dev or /sys with it); files
 * others read (manifests, links) are written to a temporary name, fsynced
 * and renamed.
 *
 * Callers: any program (corrald, corral, corral-image, the hook).
 */
#ifndef CORRAL_FSUTIL_H
#define CORRAL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

struct buf;

/* rm -r of path, staying on path's file system; 0 or a negative errno
 * (-EBUSY when something below is another mount and was left). */
int fs_rm_tree(const char *path);
/* mkdir -p with mode (each level made gets mode, less the umask; levels
 * that exist are left as they are); 0 or a negative errno. */
int fs_mkdir_p(const char *path, mode_t mode);
/* mkdir -p of the directory part of path ("a/b/f" makes "a/b"). */
int fs_mkdir_parent(const char *path, mode_t mode);
/* read(2) until end of file, through EINTR, appending to out; 0, -E2BIG
 * once out would hold more than cap bytes (or more than its own cap), or
 * -errno.  fs_read_file opens path for it. */
int fs_read_fd(int fd, size_t cap, struct buf *out);
int fs_read_file(const char *path, size_t cap, struct buf *out);
/* write(2) until all len bytes are out, through EINTR; 0 or -errno
 * (-EIO when the file takes no more). */
int fs_write_all(int fd, const void *data, size_t len);
/* Writes data to tmp (chmod'ed to mode whatever the umask, fsynced when
 * do_fsync), then renames it onto dst: a reader sees the old file or the
 * whole new one.  tmp is removed on failure.  0 or a negative errno. */
int fs_write_via(const char *tmp, const char *dst, const void *data, size_t len, mode_t mode,
		 int do_fsync);
/* Copies src to dst (created with mode, replaced if it exists); 0 or errno. */
int fs_copy(const char *src, const char *dst, mode_t mode);
/* Hard link, else a copy (other file system); dst replaced atomically. */
int fs_link_or_copy(const char *src, const char *dst);
/* fs_write_via through path.tmp, fsynced. */
int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* fsync a directory (after renames inside it). */
int fs_sync_dir(const char *path);
/* Sum of file sizes below path (not crossing mounts). */
unsigned long long fs_du(const char *path);

#endif
