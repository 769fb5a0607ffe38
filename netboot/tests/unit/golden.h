/*
 * golden: compares generated text with a golden file, byte for byte, for
 * the unit tests of text generators (test_dhcpconf.c, test_keaconf.c).  Include it after
 * cmocka.h with GOLDEN_SUB defined as the data folder below this directory
 * ("data/keaconf").  The folder is found next to this file (__FILE__), or,
 * when the compiler was given a relative path and the test does not run
 * from the repository's top, relative to the test binary (build/tests/…).
 * CORRAL_GOLDEN_UPDATE=1 rewrites the golden files instead of comparing:
 * review the diff by eye before committing it.
 */
#ifndef CORRAL_TEST_GOLDEN_H
#define CORRAL_TEST_GOLDEN_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

#ifndef GOLDEN_SUB
#error "define GOLDEN_SUB before including golden.h"
#endif
#ifndef FMT
#define FMT(buf, ...) assert_true((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) < sizeof(buf))
#endif

/* The directory holding this source file, as the compiler saw it. */
static void src_dir(char *out, size_t len)
{
	const char *slash = strrchr(__FILE__, '/');
	int n = slash ? snprintf(out, len, "%.*s", (int)(slash - __FILE__), __FILE__) :
			snprintf(out, len, ".");
	assert_true(n > 0 && (size_t)n < len);
}

/*
 * dir/GOLDEN_SUB/name with dir the directory of __FILE__: as is (absolute, or
 * relative to the current directory), else relative to each directory above
 * the test binary (build/tests or a sanitizer build's tests folder).
 */
static void golden_path(const char *name, char *out, size_t len)
{
	char dir[PATH_MAX], exe[PATH_MAX];
	int n;

	src_dir(dir, sizeof(dir));
	n = snprintf(out, len, "%s/%s/%s", dir, GOLDEN_SUB, name);
	assert_true(n > 0 && (size_t)n < len);
	if (access(out, F_OK) == 0 || dir[0] == '/')
		return;
	ssize_t r = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (r <= 0)
		return;
	exe[r] = '\0';
	for (int up = 0; up < 6; up++) {
		char *s = strrchr(exe, '/');
		if (s == NULL)
			return;
		*s = '\0';
		struct buf b;
		buf_init(&b, len - 1);
		int rc = buf_printf(&b, "%s/%s/%s/%s", exe, dir, GOLDEN_SUB, name);
		if (rc == 0 && access(buf_str(&b), F_OK) == 0) {
			memcpy(out, buf_str(&b), b.len + 1);
			buf_clear(&b);
			return;
		}
		buf_clear(&b);
	}
}

/* The whole file (NUL-terminated, caller frees); NULL if unreadable. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct buf b;
	char chunk[4096];
	size_t r;
	buf_init(&b, 1u << 20);
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(buf_add(&b, chunk, r), 0);
	fclose(f);
	*len = b.len;
	char *s = buf_take(&b);
	return s ? s : calloc(1, 1);
}

/* Compares got with the golden file byte for byte; names the first difference. */
static void check_golden(const char *name, const char *got)
{
	char path[PATH_MAX];
	size_t len = 0, glen = strlen(got);

	golden_path(name, path, sizeof(path));
	const char *upd = getenv("CORRAL_GOLDEN_UPDATE");
	if (upd != NULL && strcmp(upd, "1") == 0) {
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(got, 1, glen, f), glen);
		assert_int_equal(fclose(f), 0);
		print_message("updated %s\n", path);
		return;
	}
	char *want = read_file(path, &len);
	if (want == NULL)
		fail_msg("golden file %s: cannot read it (cwd must be the repository top, or "
			 "the binary under <repo>/build/tests)",
			 path);
	size_t i = 0, line = 1, col = 1;
	while (i < len && i < glen && want[i] == got[i]) {
		if (got[i] == '\n') {
			line++;
			col = 0;
		}
		col++;
		i++;
	}
	if (i != len || i != glen) {
		const char *wl = want + i - (col - 1), *gl = got + i - (col - 1);
		const char *we = strchr(wl, '\n'), *ge = strchr(gl, '\n');
		int wn = we ? (int)(we - wl) : (int)strlen(wl);
		int gn = ge ? (int)(ge - gl) : (int)strlen(gl);
		/* The whole output goes to a file: cmocka cuts long messages. */
		char actual[PATH_MAX];
		const char *tmp = getenv("TMPDIR");
		FMT(actual, "%s/golden-%s.actual", tmp ? tmp : "/tmp", name);
		FILE *f = fopen(actual, "wb");
		if (f == NULL || fwrite(got, 1, glen, f) != glen)
			FMT(actual, "(could not write it)");
		if (f != NULL)
			fclose(f);
		free(want);
		fail_msg("%s: differs at line %zu column %zu: got \"%.*s\" want \"%.*s\"; "
			 "output in %s",
			 name, line, col, gn > 160 ? 160 : gn, gl, wn > 160 ? 160 : wn, wl, actual);
	}
	free(want);
}

#endif
