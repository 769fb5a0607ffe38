/*
 * Unit tests for files: the Range parser, the path check, If-None-Match
 * matching and the open helper against a real temporary tree (symbolic links
 * inside and outside the root, a directory, a FIFO), both with openat2(2)
 * and with the O_NOFOLLOW walk used where the kernel lacks it.
 * files_serve() needs a live MHD connection: the integration tests cover it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "files.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- files_parse_range -------------------------------------------------- */

struct range_case {
	const char *hdr;
	uint64_t size;
	int rc;
	uint64_t start, end; /* when rc == 0 */
};

static const struct range_case range_cases[] = {
	/* a-b */
	{"bytes=0-0", 100, 0, 0, 0},
	{"bytes=0-99", 100, 0, 0, 99},
	{"bytes=10-19", 100, 0, 10, 19},
	{"bytes=99-99", 100, 0, 99, 99},
	{"bytes=5-5", 1, -ERANGE, 0, 0},
	/* end beyond the file clamps */
	{"bytes=90-1000", 100, 0, 90, 99},
	{"bytes=0-18446744073709551615", 100, 0, 0, 99},
	/* a- */
	{"bytes=0-", 100, 0, 0, 99},
	{"bytes=42-", 100, 0, 42, 99},
	{"bytes=99-", 100, 0, 99, 99},
	/* -n */
	{"bytes=-1", 100, 0, 99, 99},
	{"bytes=-10", 100, 0, 90, 99},
	{"bytes=-100", 100, 0, 0, 99},
	{"bytes=-101", 100, 0, 0, 99},    /* suffix longer than the file */
	{"bytes=-0", 100, -ERANGE, 0, 0}, /* no byte asked for */
	/* start beyond the file */
	{"bytes=100-", 100, -ERANGE, 0, 0},
	{"bytes=100-200", 100, -ERANGE, 0, 0},
	{"bytes=1000-2000", 100, -ERANGE, 0, 0},
	/* b < a: invalid, ignored */
	{"bytes=20-10", 100, -EINVAL, 0, 0},
	{"bytes=200-100", 100, -EINVAL, 0, 0},
	/* unit: case-insensitive; others ignored */
	{"BYTES=1-2", 100, 0, 1, 2},
	{"Bytes=1-2", 100, 0, 1, 2},
	{"items=1-2", 100, -EINVAL, 0, 0},
	{"bytes 1-2", 100, -EINVAL, 0, 0},
	{"bytes", 100, -EINVAL, 0, 0},
	/* white space: allowed around the spec, not inside it */
	{"bytes= 1-2", 100, 0, 1, 2},
	{"bytes=1-2 \t", 100, 0, 1, 2},
	{"bytes=1 -2", 100, -EINVAL, 0, 0},
	{"bytes=1- 2", 100, -EINVAL, 0, 0},
	{"bytes=- 2", 100, -EINVAL, 0, 0},
	/* garbage */
	{"", 100, -EINVAL, 0, 0},
	{"bytes=", 100, -EINVAL, 0, 0},
	{"bytes=-", 100, -EINVAL, 0, 0},
	{"bytes=5", 100, -EINVAL, 0, 0},
	{"bytes=a-b", 100, -EINVAL, 0, 0},
	{"bytes=1-2x", 100, -EINVAL, 0, 0},
	{"bytes=+1-2", 100, -EINVAL, 0, 0},
	{"bytes=-+1", 100, -EINVAL, 0, 0},
	{"bytes=0x10-0x20", 100, -EINVAL, 0, 0},
	{"bytes=1--2", 100, -EINVAL, 0, 0},
	{"bytes=--1", 100, -EINVAL, 0, 0},
	{"bytes=1-2-3", 100, -EINVAL, 0, 0},
	/* several ranges: ignored, whole file with 200 */
	{"bytes=0-1,5-6", 100, -EINVAL, 0, 0},
	{"bytes=0-1, 5-6", 100, -EINVAL, 0, 0},
	{"bytes=-5,0-1", 100, -EINVAL, 0, 0},
	{"bytes=0-1,", 100, -EINVAL, 0, 0},
	{"bytes=,0-1", 100, -EINVAL, 0, 0},
	/* numbers past 64 bits: beyond any file, never wrapped around */
	{"bytes=18446744073709551616-", 100, -ERANGE, 0, 0},
	{"bytes=99999999999999999999999999-", 100, -ERANGE, 0, 0},
	{"bytes=18446744073709551615-", 100, -ERANGE, 0, 0},
	{"bytes=0-99999999999999999999999999", 100, 0, 0, 99},
	{"bytes=-99999999999999999999999999", 100, 0, 0, 99},
	{"bytes=-18446744073709551616", 100, 0, 0, 99},
	/* 2^64 + 5 must not wrap to 5 */
	{"bytes=18446744073709551621-18446744073709551625", 100, -ERANGE, 0, 0},
	/* both past 64 bits, last < first: still seen as invalid */
	{"bytes=99999999999999999999-99999999999999999998", 100, -EINVAL, 0, 0},
	{"bytes=00000000000000000000000001-2", 100, 0, 1, 2},
	/* large files */
	{"bytes=4294967296-", 8589934592ULL, 0, 4294967296ULL, 8589934591ULL},
	{"bytes=-1", UINT64_MAX, 0, UINT64_MAX - 1, UINT64_MAX - 1},
	/* empty file: every well-formed range is unsatisfiable */
	{"bytes=0-", 0, -ERANGE, 0, 0},
	{"bytes=0-0", 0, -ERANGE, 0, 0},
	{"bytes=-1", 0, -ERANGE, 0, 0},
	{"bytes=-0", 0, -ERANGE, 0, 0},
	{"bytes=garbage", 0, -EINVAL, 0, 0},
	{"bytes=0-1,2-3", 0, -EINVAL, 0, 0},
};

static void test_parse_range(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(range_cases); i++) {
		const struct range_case *c = &range_cases[i];
		uint64_t start = 12345, end = 54321;
		int rc = files_parse_range(c->hdr, c->size, &start, &end);

		if (rc != c->rc)
			fail_msg("Range \"%s\" size %" PRIu64 ": rc %d, want %d", c->hdr, c->size,
				 rc, c->rc);
		if (rc == 0 && (start != c->start || end != c->end))
			fail_msg("Range \"%s\" size %" PRIu64 ": %" PRIu64 "-%" PRIu64
				 ", want %" PRIu64 "-%" PRIu64,
				 c->hdr, c->size, start, end, c->start, c->end);
		/* The outputs are left alone unless the call succeeds. */
		if (rc != 0 && (start != 12345 || end != 54321))
			fail_msg("Range \"%s\": outputs written on rc %d", c->hdr, rc);
		if (rc == 0 && (end < start || end >= c->size))
			fail_msg("Range \"%s\": span outside the file", c->hdr);
	}
	assert_int_equal(files_parse_range(NULL, 100, &(uint64_t){0}, &(uint64_t){0}), -EINVAL);
}

/* ---- files_path_ok ------------------------------------------------------ */

struct path_case {
	const char *path;
	int rc;
};

static const struct path_case path_cases[] = {
	{"a", 0},
	{"a.txt", 0},
	{"boot/vmlinuz", 0},
	{"images/rocky9/initrd.img", 0},
	{".hidden", 0},
	{"..a", 0},
	{"a..", 0},
	{"...", 0},
	{"a/.b/c", 0},
	{"a b", 0},
	{"a\\..\\b", 0}, /* backslash is an ordinary byte on Linux */
	{"\xc3\xa9t\xc3\xa9", 0},
	{"", -EINVAL},
	{"/", -EINVAL},
	{"/etc/passwd", -EINVAL},
	{"//etc/passwd", -EINVAL},
	{".", -EINVAL},
	{"..", -EINVAL},
	{"../etc/passwd", -EINVAL},
	{"a/..", -EINVAL},
	{"a/../b", -EINVAL},
	{"a/./b", -EINVAL},
	{"./a", -EINVAL},
	{"a/.", -EINVAL},
	{"a//b", -EINVAL},
	{"a/", -EINVAL},
	{"a\nb", -EINVAL},
	{"a\rb", -EINVAL},
	{"a\tb", -EINVAL},
	{"\x01", -EINVAL},
	{"a\x1f", -EINVAL},
	{"a\x7f", -EINVAL},
	{"a\x1b[31m", -EINVAL},
};

static void test_path_ok(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(path_cases); i++) {
		int rc = files_path_ok(path_cases[i].path);

		if (rc != path_cases[i].rc)
			fail_msg("path case %zu: rc %d, want %d", i, rc, path_cases[i].rc);
	}
	assert_int_equal(files_path_ok(NULL), -EINVAL);
}

/* Lengths: a segment of NAME_MAX passes, one more fails; PATH_MAX fails. */
static void test_path_ok_lengths(void **state)
{
	char *p = malloc(PATH_MAX + 1);

	(void)state;
	assert_non_null(p);
	memset(p, 'a', NAME_MAX);
	p[NAME_MAX] = '\0';
	assert_int_equal(files_path_ok(p), 0);
	memset(p, 'a', NAME_MAX + 1);
	p[NAME_MAX + 1] = '\0';
	assert_int_equal(files_path_ok(p), -EINVAL);
	/* PATH_MAX - 1 bytes in short segments: the longest accepted. */
	for (size_t i = 0; i < PATH_MAX - 1; i++)
		p[i] = (i % 2) ? '/' : 'a';
	p[PATH_MAX - 1] = '\0';
	p[PATH_MAX - 2] = 'a';
	assert_int_equal(files_path_ok(p), 0);
	p[PATH_MAX - 1] = 'a';
	p[PATH_MAX] = '\0';
	assert_int_equal(files_path_ok(p), -EINVAL);
	free(p);
}

/* ---- files_etag_match --------------------------------------------------- */

#define TAG "\"1f-17a2b3c4d5e6f700\""

struct etag_case {
	const char *list;
	int match;
};

static const struct etag_case etag_cases[] = {
	{TAG, 1},
	{"*", 1},
	{" * ", 1},
	{"W/" TAG, 1}, /* If-None-Match compares weakly */
	{"\"x\", " TAG, 1},
	{"\"x\"," TAG ",\"y\"", 1},
	{"\"x\" ,\t W/" TAG, 1},
	{"", 0},
	{"\"x\"", 0},
	{"\"1f-17a2b3c4d5e6f7\"", 0},
	{"\"1f-17a2b3c4d5e6f7000\"", 0},
	{"1f-17a2b3c4d5e6f700", 0},   /* unquoted */
	{"\"1f-17a2b3c4d5e6f700", 0}, /* unterminated */
	{"w/" TAG, 0},                /* W is upper case only */
	{"garbage, " TAG, 0},         /* malformed before it */
	{"\"a,b\", \"c\"", 0},
};

static void test_etag_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(etag_cases); i++) {
		int m = files_etag_match(etag_cases[i].list, TAG);

		if (m != etag_cases[i].match)
			fail_msg("If-None-Match \"%s\": %d, want %d", etag_cases[i].list, m,
				 etag_cases[i].match);
	}
}

/* ---- files_open / files_open_file against a real tree ------------------- */

/*
 * The tree, made under a fresh temporary directory D:
 *   D/outside.txt               a file next to the root, not in it
 *   D/root/                     the root
 *     a.txt         "hello"
 *     empty         0 bytes
 *     sub/b.bin     "0123456789"
 *     fifo          a FIFO (must be refused without blocking)
 *     in      -> a.txt          inside, relative
 *     insub   -> sub            a directory link inside
 *     passwd  -> /etc/passwd    absolute, outside
 *     etc     -> /etc           directory link outside
 *     esc     -> ../outside.txt relative, climbs out
 *     rootabs -> D/root/a.txt   absolute, yet lands inside
 *     loop    -> loop
 */
struct tree {
	char dir[64];
	char root[96];
};

static const char *const tree_links[][2] = {
	{"in", "a.txt"}, {"insub", "sub"},          {"passwd", "/etc/passwd"},
	{"etc", "/etc"}, {"esc", "../outside.txt"}, {"loop", "loop"},
};

static int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(data);

	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	char p[256], target[256];
	const char *tmp = getenv("TMPDIR");
	int n;

	if (t == NULL)
		return -1;
	if (tmp == NULL || tmp[0] == '\0' || strlen(tmp) > 32)
		tmp = "/tmp";
	n = snprintf(t->dir, sizeof(t->dir), "%s/test_files.XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(t->dir) || mkdtemp(t->dir) == NULL)
		goto err;
	n = snprintf(t->root, sizeof(t->root), "%s/root", t->dir);
	if (n < 0 || (size_t)n >= sizeof(t->root) || mkdir(t->root, 0755) < 0)
		goto err;
#define PATH(...) (snprintf(p, sizeof(p), __VA_ARGS__) < (int)sizeof(p) ? p : "/nonexistent/x")
	if (write_file(PATH("%s/outside.txt", t->dir), "secret") < 0 ||
	    write_file(PATH("%s/a.txt", t->root), "hello") < 0 ||
	    write_file(PATH("%s/empty", t->root), "") < 0 ||
	    mkdir(PATH("%s/sub", t->root), 0755) < 0 ||
	    write_file(PATH("%s/sub/b.bin", t->root), "0123456789") < 0 ||
	    mkfifo(PATH("%s/fifo", t->root), 0644) < 0)
		goto err;
	for (size_t i = 0; i < NELEM(tree_links); i++) {
		if (symlink(tree_links[i][1], PATH("%s/%s", t->root, tree_links[i][0])) < 0)
			goto err;
	}
	n = snprintf(target, sizeof(target), "%s/a.txt", t->root);
	if (n < 0 || (size_t)n >= sizeof(target) ||
	    symlink(target, PATH("%s/rootabs", t->root)) < 0)
		goto err;
#undef PATH
	*state = t;
	return 0;
err:
	perror("tree_setup");
	free(t);
	return -1;
}

static void unlink_under(const char *dir, const char *name, int flags)
{
	char p[256];

	if (snprintf(p, sizeof(p), "%s/%s", dir, name) < (int)sizeof(p))
		(void)unlinkat(AT_FDCWD, p, flags);
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	static const char *const files[] = {"a.txt", "empty", "sub/b.bin", "fifo", "rootabs"};

	for (size_t i = 0; i < NELEM(files); i++)
		unlink_under(t->root, files[i], 0);
	for (size_t i = 0; i < NELEM(tree_links); i++)
		unlink_under(t->root, tree_links[i][0], 0);
	unlink_under(t->root, "sub", AT_REMOVEDIR);
	unlink_under(t->dir, "outside.txt", 0);
	unlink_under(t->dir, "root", AT_REMOVEDIR);
	(void)rmdir(t->dir);
	free(t);
	return 0;
}

struct open_case {
	const char *path;
	const char *content; /* NULL: must be refused with -ENOENT */
	const char *walk;    /* the same for the O_NOFOLLOW walk */
};

#define REFUSED NULL

static const struct open_case open_cases[] = {
	{"a.txt", "hello", "hello"},
	{"empty", "", ""},
	{"sub/b.bin", "0123456789", "0123456789"},
	/* symbolic links that stay inside: followed by openat2 only */
	{"in", "hello", REFUSED},
	{"insub/b.bin", "0123456789", REFUSED},
	/* everything that leaves the root */
	{"passwd", REFUSED, REFUSED},
	{"etc/passwd", REFUSED, REFUSED},
	{"etc/hostname", REFUSED, REFUSED},
	{"esc", REFUSED, REFUSED},
	{"rootabs", REFUSED, REFUSED}, /* absolute targets never resolve beneath */
	{"../outside.txt", REFUSED, REFUSED},
	{"sub/../../outside.txt", REFUSED, REFUSED},
	{"/etc/passwd", REFUSED, REFUSED},
	/* not regular files, absent, malformed */
	{"sub", REFUSED, REFUSED},
	{"insub", REFUSED, REFUSED},
	{"fifo", REFUSED, REFUSED},
	{"loop", REFUSED, REFUSED},
	{"missing", REFUSED, REFUSED},
	{"sub/missing", REFUSED, REFUSED},
	{"a.txt/x", REFUSED, REFUSED},
	{"sub/", REFUSED, REFUSED},
	{"a.txt/", REFUSED, REFUSED},
	{"", REFUSED, REFUSED},
	{".", REFUSED, REFUSED},
	{"./a.txt", REFUSED, REFUSED},
	{"sub//b.bin", REFUSED, REFUSED},
};

static void check_open_cases(struct files *f, int walk)
{
	for (size_t i = 0; i < NELEM(open_cases); i++) {
		const struct open_case *c = &open_cases[i];
		const char *want = walk ? c->walk : c->content;
		struct stat st;
		char got[64];
		ssize_t n;
		int fd = -1, rc, fl;

		rc = files_open_file(f, c->path, &fd, &st);
		if (want == REFUSED) {
			if (rc != -ENOENT)
				fail_msg("%s \"%s\": rc %d, want -ENOENT",
					 walk ? "walk" : "openat2", c->path, rc);
			continue;
		}
		if (rc != 0)
			fail_msg("%s \"%s\": rc %d, want 0", walk ? "walk" : "openat2", c->path,
				 rc);
		assert_true(fd >= 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal((size_t)st.st_size, strlen(want));
		/* Blocking (MHD's requirement) and close-on-exec. */
		fl = fcntl(fd, F_GETFL);
		assert_true(fl >= 0 && !(fl & O_NONBLOCK));
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		n = read(fd, got, sizeof(got) - 1);
		assert_true(n >= 0);
		got[n] = '\0';
		assert_string_equal(got, want);
		close(fd);
	}
}

static void test_open_openat2(void **state)
{
	struct tree *t = *state;
	struct files *f = NULL;

	assert_int_equal(files_open(t->root, &f), 0);
	assert_string_equal(files_root(f), t->root);
	check_open_cases(f, 0);
	files_free(f);
}

static void test_open_walk(void **state)
{
	struct tree *t = *state;
	struct files *f = NULL;

	assert_int_equal(files_open_flags(t->root, FILES_NO_OPENAT2, &f), 0);
	check_open_cases(f, 1);
	files_free(f);
}

/* The root is held open: renaming it does not change what is served. */
static void test_open_root_renamed(void **state)
{
	struct tree *t = *state;
	struct files *f = NULL;
	char moved[128];
	struct stat st;
	int fd = -1;

	assert_true(snprintf(moved, sizeof(moved), "%s/moved", t->dir) < (int)sizeof(moved));
	assert_int_equal(files_open(t->root, &f), 0);
	assert_int_equal(rename(t->root, moved), 0);
	assert_int_equal(files_open_file(f, "a.txt", &fd, &st), 0);
	close(fd);
	assert_int_equal(rename(moved, t->root), 0);
	files_free(f);
}

static void test_open_errors(void **state)
{
	struct tree *t = *state;
	struct files *f = NULL;
	char p[128];

	assert_int_equal(files_open("/nonexistent/corral-files-root", &f), -ENOENT);
	assert_null(f);
	assert_true(snprintf(p, sizeof(p), "%s/a.txt", t->root) < (int)sizeof(p));
	assert_int_equal(files_open(p, &f), -ENOTDIR);
	assert_int_equal(files_open_flags(t->root, 1u << 7, &f), -EINVAL);
	assert_int_equal(files_open(NULL, &f), -EINVAL);
	assert_null(f);
	files_free(NULL);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_parse_range),
		cmocka_unit_test(test_path_ok),
		cmocka_unit_test(test_path_ok_lengths),
		cmocka_unit_test(test_etag_match),
	};
	const struct CMUnitTest tree[] = {
		cmocka_unit_test(test_open_openat2),
		cmocka_unit_test(test_open_walk),
		cmocka_unit_test(test_open_root_renamed),
		cmocka_unit_test(test_open_errors),
	};
	int failed = cmocka_run_group_tests_name("files_pure", pure, NULL, NULL);

	failed += cmocka_run_group_tests_name("files_tree", tree, tree_setup, tree_teardown);
	return failed != 0;
}
