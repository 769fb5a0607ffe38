/*
 * files: GET and HEAD of regular files below the file root.  See files.h.
 *
 * Security assumption: whoever can write inside the root (the operator, the
 * image builder) is trusted; what comes from the network is not.  A request
 * path is checked for form (files_path_ok()) and then resolved against an
 * open descriptor on the root, never joined onto the root's name as a
 * string, so it cannot climb out with "..", an absolute path or a symbolic
 * link: openat2(2) with RESOLVE_BENEATH makes the kernel refuse every step
 * outside, atomically, including through symbolic links created after the
 * check; without openat2 each component is opened with O_NOFOLLOW, so no
 * symbolic link is followed at all.  Not covered: hard links and bind
 * mounts that the trusted writer puts inside the root.
 *
 * Bodies are MHD file-descriptor responses (MHD sends them with sendfile
 * where it can); nothing is read into user space.  The descriptor is opened
 * per request, so a file replaced by rename() is picked up by the next
 * request while transfers already running finish with the old contents.
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "log.h"

struct files {
	int dirfd;      /* the root, O_PATH | O_DIRECTORY */
	unsigned flags; /* FILES_*; read-only after files_open_flags() */
	char *root;     /* the root's name as given, for logs */
};

/* What a reply says about the file, worked out once per request. */
struct files_meta {
	char etag[48];     /* "\"<size hex>-<mtime ns hex>\"", quotes included */
	char last_mod[32]; /* IMF-fixdate; "" when the year does not fit one */
	const char *ctype; /* Content-Type, static */
};

/*
 * Content types by extension (case-insensitive); everything else is
 * application/octet-stream.  iPXE scripts and the text nodes read are
 * text/plain so that a browser or curl shows them instead of saving them.
 */
static const struct {
	const char *ext;
	const char *ctype;
} files_types[] = {
	{"ipxe", "text/plain"},
	{"txt", "text/plain"},
	{"cfg", "text/plain"},
	{"json", "application/json"},
};

#define FILES_CTYPE_DEFAULT "application/octet-stream"

/*
 * Cache-Control: no-cache lets a client or proxy keep a copy but makes it
 * ask again (If-None-Match, answered 304 without a body) before each use.
 * Boot files are replaced under the same name when an image is rebuilt, and
 * a node must never boot yesterday's kernel with today's initrd; max-age
 * would allow exactly that, while revalidating costs one round trip.
 */
#define FILES_CACHE_CONTROL "no-cache"

/* openat2() retries when the kernel reports a concurrent rename (EAGAIN). */
#define FILES_OPENAT2_TRIES 4

/* Flags for the final open: never block on a FIFO, never take a tty. */
#define FILES_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

int files_path_ok(const char *relpath)
{
	const char *seg, *p;
	size_t n;

	if (relpath == NULL)
		return -EINVAL;
	n = strnlen(relpath, PATH_MAX);
	if (n == 0 || n >= PATH_MAX)
		return -EINVAL;
	seg = relpath;
	for (p = relpath;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '/' || c == '\0') {
			n = (size_t)(p - seg);
			if (n == 0 || n > NAME_MAX)
				return -EINVAL;
			if (seg[0] == '.' && (n == 1 || (n == 2 && seg[1] == '.')))
				return -EINVAL;
			if (c == '\0')
				return 0;
			seg = p + 1;
		} else if (c < 0x20 || c == 0x7f) {
			return -EINVAL;
		}
	}
}

/*
 * Reads the decimal digits at *pp into *v, saturating at UINT64_MAX (RFC
 * 7233 puts no bound on the numbers; one that big is beyond any file).
 * Advances *pp past them and returns how many there were (0: none).
 */
static size_t files_digits(const char **pp, uint64_t *v)
{
	const char *start = *pp, *p = *pp;
	uint64_t x = 0;

	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			x = UINT64_MAX;
		else
			x = x * 10 + d;
		p++;
	}
	*v = x;
	*pp = p;
	return (size_t)(p - start);
}

/* Compares two runs of decimal digits as numbers, whatever their length. */
static int files_numcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	while (alen > 1 && *a == '0') {
		a++;
		alen--;
	}
	while (blen > 1 && *b == '0') {
		b++;
		blen--;
	}
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

/* Skips optional white space (RFC 7230 OWS: spaces and tabs). */
static const char *files_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int files_parse_range(const char *hdr, uint64_t size, uint64_t *start, uint64_t *end)
{
	const char *p, *first_s, *last_s;
	uint64_t first, last, n;
	size_t first_n, last_n;

	/* The unit is compared case-insensitively (RFC 9110 14.1). */
	if (hdr == NULL || strncasecmp(hdr, "bytes=", 6) != 0)
		return -EINVAL;
	p = files_ows(hdr + 6);

	if (*p == '-') {
		/* bytes=-n: the last n bytes, all of them if n >= size. */
		p++;
		if (files_digits(&p, &n) == 0)
			return -EINVAL;
		if (*files_ows(p) != '\0')
			return -EINVAL; /* trailing junk or a second range */
		if (n == 0 || size == 0)
			return -ERANGE;
		*start = n >= size ? 0 : size - n;
		*end = size - 1;
		return 0;
	}

	first_s = p;
	first_n = files_digits(&p, &first);
	if (first_n == 0 || *p != '-')
		return -EINVAL;
	p++;
	last_s = p;
	last_n = files_digits(&p, &last);
	if (*files_ows(p) != '\0')
		return -EINVAL;
	/* Compare the digits, not the saturated values: both may be huge. */
	if (last_n > 0 && files_numcmp(last_s, last_n, first_s, first_n) < 0)
		return -EINVAL; /* a-b with b < a is invalid: ignore it */
	if (first >= size)
		return -ERANGE; /* also every range on an empty file */
	*start = first;
	*end = (last_n == 0 || last >= size) ? size - 1 : last;
	return 0;
}

int files_etag_match(const char *list, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = list, *q;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		if (*p == '*') {
			/* "*" matches any current representation; we have one. */
			return 1;
		}
		if (p[0] == 'W' && p[1] == '/')
			p += 2; /* weak comparison: W/ does not matter */
		if (*p != '"')
			return 0;
		q = strchr(p + 1, '"');
		if (q == NULL)
			return 0;
		if ((size_t)(q + 1 - p) == elen && memcmp(p, etag, elen) == 0)
			return 1;
		p = q + 1;
	}
}

/* IMF-fixdate (RFC 7231 7.1.1.1) of t, locale-independent.  0 or -EOVERFLOW. */
static int files_http_date(time_t t, char *out, size_t outlen)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL)
		return -EOVERFLOW;
	/* The format has four year digits; the epoch can't be before 1900. */
	if (tm.tm_year < 0 || tm.tm_year > 9999 - 1900)
		return -EOVERFLOW;
	n = snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
		     tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		     tm.tm_sec);
	if (n < 0 || (size_t)n >= outlen)
		return -EOVERFLOW;
	return 0;
}

static const char *files_ctype(const char *relpath)
{
	const char *base = strrchr(relpath, '/');
	const char *dot;

	base = base != NULL ? base + 1 : relpath;
	dot = strrchr(base, '.');
	if (dot == NULL || dot == base)
		return FILES_CTYPE_DEFAULT; /* no extension, or a dot file */
	for (size_t i = 0; i < sizeof(files_types) / sizeof(files_types[0]); i++) {
		if (strcasecmp(dot + 1, files_types[i].ext) == 0)
			return files_types[i].ctype;
	}
	return FILES_CTYPE_DEFAULT;
}

static int files_meta_init(struct files_meta *m, const struct stat *st, const char *relpath)
{
	/* Nanoseconds since the epoch; wraps for dates before 1970, harmless. */
	uint64_t mtime_ns =
		(uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
	int n;

	n = snprintf(m->etag, sizeof(m->etag), "\"%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st->st_size,
		     mtime_ns);
	if (n < 0 || (size_t)n >= sizeof(m->etag))
		return -EOVERFLOW;
	/* A file dated past year 9999 just goes without Last-Modified. */
	if (files_http_date(st->st_mtim.tv_sec, m->last_mod, sizeof(m->last_mod)) < 0)
		m->last_mod[0] = '\0';
	m->ctype = files_ctype(relpath);
	return 0;
}

/*
 * Whether a Range may be honoured given If-Range (RFC 7233 3.2): yes
 * without the header; else only if it names the current file with a
 * strong validator.  An entity tag must equal ours exactly (W/ tags never
 * match); a date must equal our Last-Modified, and only counts once the
 * file is more than a second old (a younger date is a weak validator: the
 * file could change again within the same second).  Otherwise the whole
 * file is sent, which is always a correct answer.
 */
static int files_if_range_ok(const char *hdr, const struct files_meta *m, const struct stat *st)
{
	size_t n;

	if (hdr == NULL)
		return 1;
	hdr = files_ows(hdr);
	n = strlen(hdr);
	while (n > 0 && (hdr[n - 1] == ' ' || hdr[n - 1] == '\t'))
		n--;
	if (hdr[0] == '"')
		return n == strlen(m->etag) && memcmp(hdr, m->etag, n) == 0;
	if (m->last_mod[0] == '\0' || n != strlen(m->last_mod) || memcmp(hdr, m->last_mod, n) != 0)
		return 0;
	return st->st_mtim.tv_sec + 1 < time(NULL);
}

/*
 * openat2(2) beneath dirfd.  Returns a descriptor or a negative errno;
 * -ENOSYS when the kernel lacks the call.
 */
static int files_resolve_openat2(int dirfd, const char *relpath)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = FILES_OPEN_FLAGS;
	/*
	 * BENEATH: no "..", absolute path or symbolic link may take the walk
	 * above dirfd (EXDEV).  NO_MAGICLINKS: no /proc/self/fd-style jumps.
	 * Symbolic links that stay below the root are followed.
	 */
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	for (int i = 0; i < FILES_OPENAT2_TRIES; i++) {
		fd = syscall(SYS_openat2, dirfd, relpath, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		/* EAGAIN: a rename raced with the walk; the kernel asks for a retry. */
		if (errno != EAGAIN)
			break;
	}
	return -errno;
}

/*
 * The walk used without openat2: one openat(2) per component, each with
 * O_NOFOLLOW, so a symbolic link anywhere in the path is refused (ENOTDIR
 * for a directory component, ELOOP for the last one).  relpath has passed
 * files_path_ok(): no "." or "..", no empty component, none over NAME_MAX.
 * Returns a descriptor or a negative errno.
 */
static int files_resolve_walk(int dirfd, const char *relpath)
{
	char name[NAME_MAX + 1];
	const char *p = relpath, *slash;
	int cur = dirfd, next, rc;
	size_t n;

	for (;;) {
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n >= sizeof(name)) {
			rc = -ENAMETOOLONG;
			break;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (slash == NULL) {
			next = openat(cur, name, FILES_OPEN_FLAGS | O_NOFOLLOW);
			rc = next >= 0 ? next : -errno;
			break;
		}
		/* O_PATH | O_NOFOLLOW on a symbolic link opens the link, which
		 * then fails O_DIRECTORY: a link is never walked through. */
		next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			rc = -errno;
			break;
		}
		if (cur != dirfd)
			close(cur);
		cur = next;
		p = slash + 1;
	}
	if (cur != dirfd)
		close(cur);
	return rc;
}

int files_open_file(struct files *f, const char *relpath, int *fd_out, struct stat *st_out)
{
	struct stat st;
	int fd, fl, rc;

	if (files_path_ok(relpath) < 0)
		return -ENOENT;
	fd = -ENOSYS;
	if (!(f->flags & FILES_NO_OPENAT2))
		fd = files_resolve_openat2(f->dirfd, relpath);
	if (fd == -ENOSYS)
		fd = files_resolve_walk(f->dirfd, relpath);
	if (fd < 0) {
		rc = fd;
		goto err_map;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -ENOENT;
		goto err_close;
	}
	/* O_NONBLOCK was only for the open (FIFOs); MHD wants a blocking fd. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = -errno;
		goto err_close;
	}
	*fd_out = fd;
	*st_out = st;
	return 0;

err_close:
	close(fd);
err_map:
	switch (rc) {
	case -EMFILE:
	case -ENFILE:
	case -ENOMEM:
	case -EIO:
	case -EINTR:
		return rc; /* our trouble, not the path's */
	default:
		/* ENOENT, ENOTDIR, EXDEV, ELOOP, EACCES, ENXIO...: all 404. */
		return -ENOENT;
	}
}

/*
 * Queues resp through http_reply(), which takes it (it drops our reference
 * after MHD_queue_response(), or on failure), so resp is gone after this
 * call whatever happened.  r->bytes_out is set once the reply is queued.
 */
static int files_queue(struct http_req *r, unsigned status, struct MHD_Response *resp,
		       uint64_t body)
{
	int rc = http_reply(r, status, resp);

	if (rc == 0)
		r->bytes_out = body;
	return rc;
}

static int files_reply_500(struct http_req *r, const char *relpath, const char *what)
{
	log_warnx("files: %s: %s", relpath, what);
	return http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL,
				"cannot serve the file");
}

/*
 * A response whose body is len bytes of fd from off.  Takes fd in every
 * case: the response closes it when destroyed, or it is closed here when
 * there is no body to send or no response.  NULL on no memory.
 */
static struct MHD_Response *files_body_response(int fd, uint64_t off, uint64_t len)
{
	struct MHD_Response *resp;

	if (len == 0) {
		/* An empty file; nothing for sendfile to do. */
		close(fd);
		return MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	}
	resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
	if (resp == NULL)
		close(fd); /* MHD takes the fd only when it returns a response */
	return resp;
}

/*
 * 304, taking fd.  The response is the whole file, as a 200 would be, but
 * MHD sends no body with a 304 (nor with HEAD): only its Content-Length,
 * which RFC 7230 3.3.2 wants equal to the 200's or absent, and an empty
 * response would make it 0.  Headers: the validator and Cache-Control a 200
 * carries (RFC 7232 4.1); Last-Modified is left out, as 4.1 suggests when
 * there is an ETag.
 */
static int files_reply_304(struct http_req *r, int fd, uint64_t size, const struct files_meta *m,
			   const char *relpath)
{
	struct MHD_Response *resp = files_body_response(fd, 0, size);

	if (resp == NULL)
		return files_reply_500(r, relpath, "no memory for a 304");
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, m->etag) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, FILES_CACHE_CONTROL) !=
		    MHD_YES) {
		MHD_destroy_response(resp);
		return files_reply_500(r, relpath, "no memory for a 304");
	}
	return files_queue(r, MHD_HTTP_NOT_MODIFIED, resp, 0);
}

/* 416 with Content-Range: bytes * / size (RFC 7233 4.4) and the JSON error. */
static int files_reply_416(struct http_req *r, uint64_t size, const char *relpath)
{
	char crange[40];
	int n;

	n = snprintf(crange, sizeof(crange), "bytes */%" PRIu64, size);
	if (n < 0 || (size_t)n >= sizeof(crange))
		return files_reply_500(r, relpath, "Content-Range does not fit");
	int rc = http_reply_error_hdr(
		r, MHD_HTTP_RANGE_NOT_SATISFIABLE, MHD_HTTP_HEADER_CONTENT_RANGE, crange,
		"range_not_satisfiable", "the requested range is outside the file");
	if (rc == -ENOMEM)
		return files_reply_500(r, relpath, "no memory for a 416");
	if (rc == 0 && r->method_id == HTTP_HEAD)
		r->bytes_out = 0; /* the metrics count what goes out: no body */
	return rc;
}

static int files_add_headers(struct MHD_Response *resp, const struct files_meta *m)
{
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, m->ctype) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, m->etag) != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes") != MHD_YES ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, FILES_CACHE_CONTROL) !=
		    MHD_YES)
		return -ENOMEM;
	if (m->last_mod[0] != '\0' &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, m->last_mod) != MHD_YES)
		return -ENOMEM;
	return 0;
}

int files_serve(struct files *f, struct http_req *r, const char *relpath)
{
	struct MHD_Response *resp;
	struct files_meta m;
	struct stat st;
	const char *hdr;
	char crange[80];
	uint64_t size, start, end, len;
	unsigned status = MHD_HTTP_OK;
	int fd, rc, n;

	if (r->method_id != HTTP_GET && r->method_id != HTTP_HEAD)
		return -EINVAL;
	rc = files_open_file(f, relpath, &fd, &st);
	if (rc == -ENOENT)
		return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", NULL, "no such file");
	if (rc < 0) {
		errno = -rc;
		log_warn("files: %s: open below %s", relpath, f->root);
		return http_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL,
					"cannot open the file");
	}
	size = (uint64_t)st.st_size;
	if (files_meta_init(&m, &st, relpath) < 0)
		goto err_close;

	/* If-None-Match comes before Range (RFC 7232 6); GET and HEAD alike. */
	hdr = http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (hdr != NULL && files_etag_match(hdr, m.etag))
		return files_reply_304(r, fd, size, &m, relpath);

	/* Range is defined for GET only; HEAD must ignore it (RFC 7233 3.1). */
	start = 0;
	len = size;
	hdr = r->method_id == HTTP_GET ? http_header(r, MHD_HTTP_HEADER_RANGE) : NULL;
	if (hdr != NULL && files_if_range_ok(http_header(r, MHD_HTTP_HEADER_IF_RANGE), &m, &st)) {
		rc = files_parse_range(hdr, size, &start, &end);
		if (rc == -ERANGE) {
			close(fd);
			return files_reply_416(r, size, relpath);
		}
		if (rc == 0) {
			status = MHD_HTTP_PARTIAL_CONTENT;
			len = end - start + 1;
		}
		/* -EINVAL: malformed or several ranges; send it all. */
	}

	resp = files_body_response(fd, start, len); /* takes fd */
	if (resp == NULL)
		return files_reply_500(r, relpath, "no memory for the response");
	if (files_add_headers(resp, &m) < 0)
		goto err_resp;
	if (status == MHD_HTTP_PARTIAL_CONTENT) {
		n = snprintf(crange, sizeof(crange), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
			     start, end, size);
		if (n < 0 || (size_t)n >= sizeof(crange) ||
		    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, crange) != MHD_YES)
			goto err_resp;
	}
	/* HEAD: MHD sends the same headers, Content-Length included, no body. */
	return files_queue(r, status, resp, r->method_id == HTTP_HEAD ? 0 : len);

err_resp:
	MHD_destroy_response(resp);
	return files_reply_500(r, relpath, "cannot add the response headers");
err_close:
	close(fd);
	return files_reply_500(r, relpath, "ETag does not fit");
}

/*
 * Whether openat2 can be used: probes it once on the root.  ENOSYS is the
 * kernel without it (< 5.6); EPERM is a seccomp filter that predates it
 * (older container runtimes).  Either way the O_NOFOLLOW walk takes over
 * rather than every request failing.
 */
static int files_have_openat2(int dirfd)
{
	int fd = files_resolve_openat2(dirfd, ".");

	/* "." with O_RDONLY opens the directory itself; only the errno matters. */
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return fd != -ENOSYS && fd != -EPERM;
}

int files_open_flags(const char *root, unsigned flags, struct files **out)
{
	struct files *f;
	int rc;

	if (root == NULL || out == NULL || (flags & ~(unsigned)FILES_NO_OPENAT2) != 0)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	f->root = strdup(root);
	if (f->root == NULL) {
		rc = -ENOMEM;
		goto err_free;
	}
	f->dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->dirfd < 0) {
		rc = -errno;
		goto err_root;
	}
	f->flags = flags;
	if (!(f->flags & FILES_NO_OPENAT2) && !files_have_openat2(f->dirfd)) {
		log_info("files: no openat2(2) here; symbolic links below %s will not be followed",
			 root);
		f->flags |= FILES_NO_OPENAT2;
	}
	*out = f;
	return 0;

err_root:
	free(f->root);
err_free:
	free(f);
	return rc;
}

int files_open(const char *root, struct files **out)
{
	return files_open_flags(root, 0, out);
}

void files_free(struct files *f)
{
	if (f == NULL)
		return;
	close(f->dirfd);
	free(f->root);
	free(f);
}

const char *files_root(const struct files *f)
{
	return f->root;
}
