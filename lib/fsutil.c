/*
 * fsutil: mkdir -p, whole reads and writes, atomic writes, rm -r within one
 * file system, copies.
 * See fsutil.h.
 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

static int rm_busy;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
	if (r < 0 && errno != ENOENT)
		rm_busy = 1;
	return 0;
}

int fs_rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	rm_busy = 0;
	/* FTW_MOUNT: never descend into another file system; FTW_PHYS: never
	 * follow symbolic links. */
	if (nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return -errno;
	return rm_busy ? -EBUSY : 0;
}

int fs_mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	if (buf_fmt(tmp, sizeof(tmp), "%s", path) < 0)
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (tmp[0] != '\0' && mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int fs_mkdir_parent(const char *path, mode_t mode)
{
	char tmp[4096];
	if (buf_fmt(tmp, sizeof(tmp), "%s", path) < 0)
		return -ENAMETOOLONG;
	char *slash = strrchr(tmp, '/');
	if (slash == NULL || slash == tmp)
		return 0;
	*slash = '\0';
	return fs_mkdir_p(tmp, mode);
}

int fs_read_fd(int fd, size_t cap, struct buf *out)
{
	char chunk[16384];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > cap)
			return -E2BIG;
		int rc = buf_add(out, chunk, (size_t)n);
		if (rc < 0)
			return rc;
	}
}

int fs_read_file(const char *path, size_t cap, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fs_read_fd(fd, cap, out);
	close(fd);
	return rc;
}

int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int fs_copy(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	int rc = 0;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (out < 0) {
		rc = -errno;
		goto err_in;
	}
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto err_out;
		}
		if (r == 0)
			break;
		if ((rc = fs_write_all(out, buf, (size_t)r)) < 0)
			goto err_out;
	}
	if (fchmod(out, mode) < 0 || fsync(out) < 0)
		rc = -errno;
err_out:
	if (close(out) < 0 && rc == 0)
		rc = -errno;
err_in:
	close(in);
	return rc;
}

int fs_link_or_copy(const char *src, const char *dst)
{
	struct buf tmp;
	int rc;
	buf_init(&tmp, 4200);
	if ((rc = buf_printf(&tmp, "%s.tmp.%d", dst, (int)getpid())) < 0)
		goto err;
	unlink(buf_str(&tmp));
	if (link(src, buf_str(&tmp)) < 0) {
		if (errno != EXDEV && errno != EPERM) {
			rc = -errno;
			goto err;
		}
		if ((rc = fs_copy(src, buf_str(&tmp), 0644)) < 0)
			goto err_unlink;
	}
	if (rename(buf_str(&tmp), dst) < 0) {
		rc = -errno;
		goto err_unlink;
	}
	buf_clear(&tmp);
	return 0;
err_unlink:
	unlink(buf_str(&tmp));
err:
	buf_clear(&tmp);
	return rc;
}

int fs_write_via(const char *tmp, const char *dst, const void *data, size_t len, mode_t mode,
		 int do_fsync)
{
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* The mode asked for, whatever the umask: other programs read these. */
	if (fchmod(fd, mode) < 0 || (rc = fs_write_all(fd, data, len)) < 0 ||
	    (do_fsync && fsync(fd) < 0)) {
		rc = rc < 0 ? rc : -errno;
		close(fd);
		goto err_unlink;
	}
	if (close(fd) < 0 || rename(tmp, dst) < 0) {
		rc = -errno;
		goto err_unlink;
	}
	return 0;
err_unlink:
	unlink(tmp);
	return rc;
}

int fs_write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	struct buf tmp;
	int rc;
	buf_init(&tmp, 4200);
	if ((rc = buf_printf(&tmp, "%s.tmp", path)) == 0)
		rc = fs_write_via(buf_str(&tmp), path, data, len, mode, 1);
	buf_clear(&tmp);
	return rc;
}

int fs_sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static unsigned long long du_total;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		du_total += (unsigned long long)st->st_size;
	return 0;
}

unsigned long long fs_du(const char *path)
{
	du_total = 0;
	nftw(path, du_one, 64, FTW_PHYS | FTW_MOUNT);
	return du_total;
}
