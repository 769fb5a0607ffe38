/*
 * files: serves GET and HEAD of regular files below one root directory
 * (`files.root`, the `/files/{path}` routes).
 *
 * Owns an open descriptor on the root; every request path is resolved
 * relative to it, never as a string joined onto the root's name.  Paths that
 * would leave the root (`..`, absolute paths, symbolic links pointing out),
 * directories and anything that is not a regular file all answer 404.
 * Bodies go out through MHD's file-descriptor responses (sendfile), never
 * through a buffer in user space.  Conditional GET (If-None-Match, If-Range)
 * and single byte ranges are supported; see docs/api.md.
 *
 * A struct files is read-only after files_open(): any number of MHD worker
 * threads may call files_serve() on it at once.  Free it only after the HTTP
 * server has stopped.
 *
 * Callers: corrald.c opens it (again on a reload: app.h keeps the old one)
 * and frees it; serve.c's /files handler serves through it.
 */
#ifndef CORRAL_FILES_H
#define CORRAL_FILES_H

#include <stdint.h>
#include <sys/stat.h>

#include "http.h"

struct files;

/* Flags for files_open_flags(). */
enum files_flags {
	/*
	 * Never use openat2(2); walk each path component with openat(2) and
	 * O_NOFOLLOW instead.  That walk refuses every symbolic link, even one
	 * that stays inside the root.  Used automatically when the kernel has
	 * no openat2 (ENOSYS); the flag exists so tests cover that walk.
	 */
	FILES_NO_OPENAT2 = 1 << 0,
};

/*
 * Opens the directory root (O_PATH | O_DIRECTORY) and returns in *out a
 * handle the caller owns (files_free()).  The root's name is resolved once,
 * here: renaming it later does not change what is served.
 * Returns 0, or a negative errno (-ENOTDIR, -ENOENT, -EACCES, -ENOMEM...).
 */
int files_open(const char *root, struct files **out);
/* files_open() with FILES_* flags; -EINVAL for an unknown flag. */
int files_open_flags(const char *root, unsigned flags, struct files **out);
/* Closes the root and frees f.  NULL is a no-op. */
void files_free(struct files *f);
/* The root as given to files_open(); borrowed, lives as long as f. */
const char *files_root(const struct files *f);

/*
 * Answers a GET or HEAD of relpath (percent-decoded, without the leading
 * '/'; "" is the root itself, which is a directory and so a 404).  Queues
 * exactly one reply through http_reply()/http_reply_error(): 200, 206, 304,
 * 404 (`not_found`), 416 (`range_not_satisfiable`, with the unsatisfied
 * Content-Range form of RFC 7233 4.2) or 500 (`internal`, logged).  Sets r->bytes_out to the
 * body bytes of the reply (0 for HEAD and 304).
 * Returns 0 when a reply was queued; a negative errno when none could be
 * (-EINVAL for a method other than GET or HEAD, -EIO or -ENOMEM from
 * queueing), in which case the caller answers.
 */
int files_serve(struct files *f, struct http_req *r, const char *relpath);

/*
 * Opens relpath below the root for reading and checks that it is a regular
 * file.  On 0, *fd_out is an open descriptor (blocking, close-on-exec) the
 * caller owns and *st_out describes it.  Returns -ENOENT for every path that
 * is refused or absent (bad form, outside the root, a symbolic link leading
 * out, a directory, a FIFO, a device...), so callers map all of those to
 * 404 and leak nothing about which it was; other negative errnos (-EMFILE,
 * -ENOMEM, -EIO) are server trouble.
 */
int files_open_file(struct files *f, const char *relpath, int *fd_out, struct stat *st_out);

/*
 * Parses a Range header value against a representation of size bytes.
 * Returns 0 with the inclusive byte span in *start and *end (end clamped to
 * size - 1); -ERANGE when the one range is well formed but no byte of it
 * exists (answer 416; every range on an empty file); -EINVAL when the header
 * is to be ignored and the whole file sent with 200: malformed, another unit
 * than bytes, last < first, or several ranges (RFC 7233 lets a server
 * ignore Range).  Numbers too large for 64 bits count as "beyond any file".
 * *start and *end are written only on 0.
 */
int files_parse_range(const char *hdr, uint64_t size, uint64_t *start, uint64_t *end);

/*
 * Weak comparison (RFC 7232 2.3.2) of etag, our own quoted tag, against the
 * value of an If-None-Match header: "*" or a comma-separated list of
 * possibly weak (W/) entity tags.  Returns 1 on a match, 0 otherwise; a
 * malformed list matches nothing from the first bad element on.
 */
int files_etag_match(const char *list, const char *etag);

/*
 * Returns 0 if relpath is a plain relative path: one or more '/'-separated
 * segments, none empty, "." or "..", no control characters (NUL ends the
 * string; bytes 0x01-0x1f and 0x7f are refused), no leading '/', no trailing
 * '/', at most PATH_MAX - 1 bytes and NAME_MAX bytes a segment.
 * -EINVAL otherwise (NULL included).
 */
int files_path_ok(const char *relpath);

#endif
