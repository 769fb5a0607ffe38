/*
 * Unit tests for imgstore's gc (and the removal it shares with rm), on a
 * synthetic store in a temporary directory: layers with manifests naming
 * their parents and a few bytes of fake rootfs, names pointing at some of
 * them, orphans (one on a live parent, one on a missing parent, an orphan
 * chain, an incomplete layer), tmp/ leftovers, and logs of several ages
 * (utimensat).  Checks exactly what goes and what stays, that --dry-run
 * touches nothing and reports the same, that a damaged chain makes gc
 * refuse with nothing removed, and that a second gc removes nothing.
 *
 * The last tests run the real program, <build>/corral-image next to
 * <build>/tests/ (found through /proc/self/exe), as an administrator
 * would: `make check` builds it first.  No image is ever built.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "buf.h"
#include "fsutil.h"
#include "imgstore.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DAY 86400

/* keys[c]: 64 times the hex digit c, so layer 'c' prints as cccccccccccc. */
static char keys[128][65];

static const char *K(char c)
{
	return keys[(int)c];
}

/* A path or string, formatted into one of a few rotating buffers. */
__attribute__((format(printf, 1, 2))) static const char *P(const char *fmt, ...)
{
	static char bufs[8][4096];
	static int next;
	char *b = bufs[next++ % 8];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(bufs[0]));
	return b;
}

static size_t write_file(const char *path, const char *data)
{
	size_t len = strlen(data);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return len;
}

static int exists(const char *dir, const char *rel)
{
	struct stat st;
	return lstat(P("%s/%s", dir, rel), &st) == 0;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *s = calloc(1, 1 << 20);
	assert_non_null(s);
	size_t n = fread(s, 1, (1 << 20) - 1, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Layer c: name in its manifest, parent p (0: a base layer), and a fake
 * rootfs of rootfs_len bytes.  manifest: NULL writes a good one, "" none.
 * Returns the bytes of its files (what gc reports freeing). */
static unsigned long long make_layer(const char *dir, char c, const char *name, char p,
				     size_t rootfs_len, const char *manifest)
{
	char rootfs[256];
	unsigned long long total = 0;
	const char *l = P("%s/layers/%s", dir, K(c));
	assert_true(rootfs_len < sizeof(rootfs));
	memset(rootfs, 'x', rootfs_len);
	rootfs[rootfs_len] = '\0';
	assert_int_equal(mkdir(l, 0755), 0);
	total += write_file(P("%s/rootfs.squashfs", l), rootfs);
	total += write_file(P("%s/build.log", l), "built\n");
	if (manifest == NULL) {
		const char *par = p ? P("{\"name\": \"p-%c\", \"key\": \"%s\"}", p, K(p)) : "null";
		manifest = P("{\"format\": 1, \"name\": \"%s\", \"layer\": \"%s\", \"parent\": %s, "
			     "\"built\": \"2024-05-01T10:00:00Z\"}\n",
			     name, K(c), par);
	}
	if (manifest[0] != '\0')
		total += write_file(P("%s/manifest.json", l), manifest);
	return total;
}

static void make_name(const char *dir, const char *name, const char *target)
{
	assert_int_equal(symlink(target, P("%s/names/%s", dir, name)), 0);
}

static unsigned long long make_log(const char *dir, const char *file, long days_old)
{
	const char *path = P("%s/logs/%s", dir, file);
	unsigned long long n = write_file(path, "log line\n");
	struct timespec ts[2] = {{time(NULL) - days_old * DAY, 0}, {0, 0}};
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	return n;
}

/* The store every test starts from. */
struct scenario {
	char dir[64];
	unsigned long long garbage;   /* bytes of the orphan layers */
	unsigned long long leftover;  /* bytes of the stale tmp/ entry */
	unsigned long long old_logs;  /* bytes of the logs gc removes (30 days) */
	unsigned long long all_bytes; /* everything above */
};

static const char *const live_layers = "abcd";
static const char *const dead_layers = "e1234";

struct logcase {
	const char *file;
	long days_old;
	int gone_30, gone_0, gone_100; /* removed with --keep-logs 30, 0, 100 */
};

static const struct logcase logs[] = {
	{"tools-20240101T000000Z-100.log", 60, 1, 1, 0},
	{"tools-20240301T000000Z-101.log", 40, 1, 1, 0},
	{"tools-20240501T000000Z-102.log", 1, 0, 1, 0},
	{"tools-20240502T000000Z-104.log", 0, 0, 0, 0},  /* tools' newest */
	{"other-20240101T000000Z-200.log", 90, 0, 0, 0}, /* other's only log */
	{"a-b-20240101T000000Z-300.log", 50, 1, 1, 0},
	{"a-b-20240102T000000Z-301.log", 45, 0, 0, 0}, /* a-b's newest, though old */
	{"a-20240101T000000Z-400.log", 80, 0, 0, 0},   /* "a" is not "a-b" */
	{"weird.log", 90, 0, 0, 0},                    /* not a build log: left alone */
	{"notes.txt", 90, 0, 0, 0},
};

static int setup(void **state)
{
	struct scenario *sc = calloc(1, sizeof(*sc));
	struct imgstore *s;
	assert_non_null(sc);
	snprintf(sc->dir, sizeof(sc->dir), "/tmp/img_test_imgstore.XXXXXX");
	assert_non_null(mkdtemp(sc->dir));
	assert_int_equal(imgstore_open(sc->dir, &s), 0); /* makes the subdirectories */
	imgstore_close(s);
	const char *d = sc->dir;

	/* Live: tools -> c -> b -> a (the chain), other -> d. */
	make_layer(d, 'a', "base", 0, 100, NULL);
	make_layer(d, 'b', "mid", 'a', 50, NULL);
	make_layer(d, 'c', "tools", 'b', 20, NULL);
	make_layer(d, 'd', "other", 0, 30, NULL);
	make_name(d, "tools", P("../layers/%s", K('c')));
	make_name(d, "tools-alias", P("../layers/%s", K('c')));
	make_name(d, "other", P("../layers/%s", K('d')));
	/* A name with ".tmp." inside that is no half-written link. */
	make_layer(d, '6', "web.tmp.v2", 0, 10, NULL);
	make_name(d, "web.tmp.v2", P("../layers/%s", K('6')));
	/* Garbage: an older "other", an older "tools" on the live base, an
	 * orphan chain (2 on e), an orphan whose parent is gone, an
	 * incomplete layer (no manifest). */
	sc->garbage += make_layer(d, 'e', "other", 0, 40, NULL);
	sc->garbage += make_layer(d, '1', "tools", 'a', 60, NULL);
	sc->garbage += make_layer(d, '2', "child", 'e', 70, NULL);
	sc->garbage += make_layer(d, '3', "lost", '9', 80, NULL);
	sc->garbage += make_layer(d, '4', NULL, 0, 90, "");
	/* Not names: a dangling name, set_name's temporary link. */
	make_name(d, "gone", P("../layers/%s", K('8')));
	make_name(d, "tools.tmp.5", P("../layers/%s", K('1')));
	/* Not layers: left alone. */
	write_file(P("%s/layers/README", d), "hands off\n");
	assert_int_equal(mkdir(P("%s/layers/notakey", d), 0755), 0);
	/* tmp/: a dead build's leftover, something else, our own pid's. */
	assert_int_equal(mkdir(P("%s/tmp/0123456789abcdef.999999", d), 0755), 0);
	sc->leftover = write_file(P("%s/tmp/0123456789abcdef.999999/junk", d), "leftover bytes\n");
	assert_int_equal(mkdir(P("%s/tmp/keep-me", d), 0755), 0);
	assert_int_equal(mkdir(P("%s/tmp/mine.%d", d, (int)getpid()), 0755), 0);
	for (size_t i = 0; i < NELEM(logs); i++) {
		unsigned long long n = make_log(d, logs[i].file, logs[i].days_old);
		if (logs[i].gone_30)
			sc->old_logs += n;
	}
	sc->all_bytes = sc->garbage + sc->leftover + sc->old_logs;
	*state = sc;
	return 0;
}

static int teardown(void **state)
{
	struct scenario *sc = *state;
	fs_rm_tree(sc->dir);
	fs_rm_tree(P("%s.out", sc->dir)); /* the program tests' output, even after a failure */
	free(sc);
	return 0;
}

/* Every path under dir with its type, size, mtime and link target, sorted:
 * equal snapshots mean nothing was touched. */
static char *snap_lines[4096];
static size_t snap_n;
static size_t snap_skip;

static int snap_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char target[512] = "";
	(void)flag;
	(void)ftw;
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
	}
	assert_true(snap_n < NELEM(snap_lines));
	/* The lock file is opened (not changed) by every gc. */
	if (strcmp(path + snap_skip, "/lock") == 0)
		return 0;
	snap_lines[snap_n++] =
		strdup(P("%s %o %lld %lld %s", path + snap_skip, (unsigned)st->st_mode,
			 (long long)st->st_size, (long long)st->st_mtime, target));
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *snapshot(const char *dir)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	snap_n = 0;
	snap_skip = strlen(dir);
	assert_int_equal(nftw(dir, snap_one, 16, FTW_PHYS), 0);
	qsort(snap_lines, snap_n, sizeof(snap_lines[0]), cmp_str);
	for (size_t i = 0; i < snap_n; i++) {
		assert_int_equal(buf_printf(&b, "%s\n", snap_lines[i]), 0);
		free(snap_lines[i]);
	}
	return buf_take(&b);
}

/* Runs gc on the store; report and why into the caller's buffers. */
static int run_gc(const char *dir, int dry_run, unsigned days, struct imgstore_gc_result *res,
		  struct buf *report, struct buf *why)
{
	struct imgstore *s;
	assert_int_equal(imgstore_open(dir, &s), 0);
	buf_reset(report);
	buf_reset(why);
	int rc = imgstore_gc(s, dry_run, days, res, report, why);
	imgstore_close(s);
	return rc;
}

static void assert_resolves(const char *dir, const char *name, char want)
{
	struct imgstore *s;
	char key[65];
	assert_int_equal(imgstore_open_ro(dir, &s), 0);
	assert_int_equal(imgstore_resolve(s, name, key), 0);
	assert_string_equal(key, K(want));
	imgstore_close(s);
}

static void test_gc_removes_exactly_garbage(void **state)
{
	struct scenario *sc = *state;
	const char *d = sc->dir;
	struct imgstore_gc_result res;
	struct buf report, why;
	buf_init(&report, 1 << 20);
	buf_init(&why, 4096);

	assert_int_equal(run_gc(d, 0, 30, &res, &report, &why), 0);
	for (const char *c = live_layers; *c; c++)
		assert_true(exists(d, P("layers/%s/manifest.json", K(*c))));
	for (const char *c = dead_layers; *c; c++) {
		assert_false(exists(d, P("layers/%s", K(*c))));
		assert_non_null(strstr(buf_str(&report), P("removed layer %.12s  ", K(*c))));
	}
	for (const char *c = live_layers; *c; c++)
		assert_null(strstr(buf_str(&report), P("layer %.12s", K(*c))));
	/* What each removed layer was, from its manifest. */
	assert_non_null(strstr(buf_str(&report), P("removed layer %.12s  0.0 MiB  (was other, "
						   "built 2024-05-01T10:00:00Z)\n",
						   K('e'))));
	assert_non_null(strstr(buf_str(&report),
			       P("removed layer %.12s  0.0 MiB  (no manifest)\n", K('4'))));
	assert_non_null(strstr(buf_str(&report), "note: names/gone points at ../layers/8888"));
	assert_true(exists(d, "layers/README"));
	assert_true(exists(d, "layers/notakey"));
	/* tmp/: only the dead process's entry, and nothing of gc's own. */
	assert_false(exists(d, "tmp/0123456789abcdef.999999"));
	assert_non_null(strstr(buf_str(&report), "removed tmp/0123456789abcdef.999999  "));
	assert_true(exists(d, "tmp/keep-me"));
	assert_true(exists(d, P("tmp/mine.%d", (int)getpid())));
	assert_false(exists(d, P("tmp/removed-%s.%d", K('e'), (int)getpid())));
	for (size_t i = 0; i < NELEM(logs); i++)
		assert_int_equal(exists(d, P("logs/%s", logs[i].file)), !logs[i].gone_30);
	/* Names still resolve, to the same layers. */
	assert_resolves(d, "tools", 'c');
	assert_resolves(d, "tools-alias", 'c');
	assert_resolves(d, "other", 'd');

	assert_int_equal(res.layers, 5);
	assert_int_equal(res.logs, 3);
	assert_int_equal(res.leftovers, 1);
	assert_int_equal(res.bytes, sc->all_bytes);
	const char *last = strstr(buf_str(&report), "gc: ");
	assert_non_null(last);
	assert_string_equal(last, "gc: removed 5 layers and 3 logs, freed 0.0 MiB "
				  "(with 1 leftover in tmp/)\n");
	buf_clear(&report);
	buf_clear(&why);
	/* a name with ".tmp." inside it is a name: its layer stays */
	assert_true(exists(sc->dir, P("layers/%s", K('6'))));
	assert_resolves(sc->dir, "web.tmp.v2", '6');
}

/* Replaces every "would remove" by "removed" and "would free" by "freed". */
static char *as_if_done(const char *r)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	while (*r) {
		if (strncmp(r, "would remove", 12) == 0) {
			buf_adds(&b, "removed");
			r += 12;
		} else if (strncmp(r, "would free", 10) == 0) {
			buf_adds(&b, "freed");
			r += 10;
		} else {
			buf_addc(&b, *r++);
		}
	}
	return buf_take(&b);
}

static void test_gc_dry_run_touches_nothing(void **state)
{
	struct scenario *sc = *state;
	struct imgstore_gc_result dry, real;
	struct buf report, why;
	buf_init(&report, 1 << 20);
	buf_init(&why, 4096);

	char *before = snapshot(sc->dir);
	assert_int_equal(run_gc(sc->dir, 1, 30, &dry, &report, &why), 0);
	char *after = snapshot(sc->dir);
	assert_string_equal(before, after);
	assert_non_null(strstr(buf_str(&report), "gc: would remove 5 layers and 3 logs, would "
						 "free 0.0 MiB (with 1 leftover in tmp/)\n"));
	assert_null(strstr(buf_str(&report), "removed"));
	char *dry_report = as_if_done(buf_str(&report));

	/* The real run does and says the same. */
	assert_int_equal(run_gc(sc->dir, 0, 30, &real, &report, &why), 0);
	assert_string_equal(dry_report, buf_str(&report));
	assert_memory_equal(&dry, &real, sizeof(dry));
	assert_int_equal(real.bytes, sc->all_bytes);
	free(before);
	free(after);
	free(dry_report);
	buf_clear(&report);
	buf_clear(&why);
}

static void test_gc_second_run_removes_nothing(void **state)
{
	struct scenario *sc = *state;
	struct imgstore_gc_result res;
	struct buf report, why;
	buf_init(&report, 1 << 20);
	buf_init(&why, 4096);

	assert_int_equal(run_gc(sc->dir, 0, 30, &res, &report, &why), 0);
	char *before = snapshot(sc->dir);
	assert_int_equal(run_gc(sc->dir, 0, 30, &res, &report, &why), 0);
	char *after = snapshot(sc->dir);
	assert_string_equal(before, after);
	assert_int_equal(res.layers + res.logs + res.leftovers, 0);
	assert_int_equal(res.bytes, 0);
	assert_null(strstr(buf_str(&report), "removed layer"));
	assert_non_null(
		strstr(buf_str(&report), "gc: removed 0 layers and 0 logs, freed 0.0 MiB\n"));
	assert_resolves(sc->dir, "tools", 'c');
	free(before);
	free(after);
	buf_clear(&report);
	buf_clear(&why);
}

/* A damaged chain under a name: gc refuses and removes nothing at all. */
struct refusal {
	const char *what;
	char parent;          /* the live layer's parent (0: none) */
	const char *manifest; /* NULL: a good one naming parent */
	int rc;
	const char *want; /* in why */
};

static const struct refusal refusals[] = {
	{"parent missing", '7', NULL, -ENOENT,
	 "image broken: layer 555555555555 is built on layer 777777777777, which is not in the "
	 "store; nothing removed"},
	{"manifest not JSON", 0, "{not json", -EINVAL,
	 "image broken: layer 555555555555: manifest.json: "},
	{"no manifest", 0, "", -EINVAL, "image broken: layer 555555555555: manifest.json: "},
	{"parent without key", 0, "{\"name\": \"broken\", \"parent\": {\"name\": \"x\"}}", -EINVAL,
	 "image broken: layer 555555555555: manifest.json: parent has no valid key"},
};

static void test_gc_refuses_damaged_chain(void **state)
{
	struct scenario *sc = *state;
	struct imgstore_gc_result res;
	struct buf report, why;
	buf_init(&report, 1 << 20);
	buf_init(&why, 4096);

	make_name(sc->dir, "broken", P("../layers/%s", K('5')));
	for (size_t i = 0; i < NELEM(refusals); i++) {
		const struct refusal *r = &refusals[i];
		/* Deep in a chain: broken -> 6 -> 5, 5 being the damaged one. */
		fs_rm_tree(P("%s/layers/%s", sc->dir, K('5')));
		fs_rm_tree(P("%s/layers/%s", sc->dir, K('6')));
		make_layer(sc->dir, '5', "broken-base", r->parent, 10, r->manifest);
		make_layer(sc->dir, '6', "broken", '5', 10, NULL);
		unlink(P("%s/names/broken", sc->dir));
		make_name(sc->dir, "broken", P("../layers/%s", K('6')));
		for (int dry = 0; dry <= 1; dry++) {
			char *before = snapshot(sc->dir);
			int rc = run_gc(sc->dir, dry, 30, &res, &report, &why);
			char *after = snapshot(sc->dir);
			if (rc != r->rc || strstr(buf_str(&why), r->want) == NULL)
				fail_msg("%s (dry %d): rc %d, why \"%s\"", r->what, dry, rc,
					 buf_str(&why));
			assert_null(strchr(buf_str(&why), '\n'));
			assert_string_equal(before, after);
			assert_null(strstr(buf_str(&report), "remove"));
			assert_int_equal(res.layers + res.logs + res.leftovers, 0);
			free(before);
			free(after);
		}
	}
	buf_clear(&report);
	buf_clear(&why);
}

/* --keep-logs: each row's removed set; the newest of a name always stays. */
static void test_gc_keep_logs(void **state)
{
	static const unsigned days[] = {30, 0, 100};
	struct imgstore_gc_result res;
	struct buf report, why;
	buf_init(&report, 1 << 20);
	buf_init(&why, 4096);

	for (size_t k = 0; k < NELEM(days); k++) {
		struct scenario *sc = *state;
		if (k > 0) {
			teardown(state);
			setup(state);
			sc = *state;
		}
		assert_int_equal(run_gc(sc->dir, 0, days[k], &res, &report, &why), 0);
		unsigned gone = 0;
		for (size_t i = 0; i < NELEM(logs); i++) {
			int want = days[k] == 30 ? logs[i].gone_30 :
				   days[k] == 0  ? logs[i].gone_0 :
						   logs[i].gone_100;
			if (exists(sc->dir, P("logs/%s", logs[i].file)) == want)
				fail_msg("--keep-logs %u: %s %s", days[k], logs[i].file,
					 want ? "kept" : "removed");
			gone += (unsigned)want;
		}
		assert_int_equal(res.logs, gone);
		assert_int_equal(res.layers, 5); /* layers do not depend on it */
	}
	buf_clear(&report);
	buf_clear(&why);
}

static void test_gc_needs_the_lock(void **state)
{
	struct scenario *sc = *state;
	struct imgstore *s;
	struct imgstore_gc_result res;
	struct buf report, why;
	buf_init(&report, 1 << 20);
	buf_init(&why, 4096);

	char *before = snapshot(sc->dir);
	assert_int_equal(imgstore_open_ro(sc->dir, &s), 0);
	assert_int_equal(imgstore_gc(s, 0, 30, &res, &report, &why), -EPERM);
	imgstore_close(s);
	char *after = snapshot(sc->dir);
	assert_string_equal(before, after);
	assert_int_equal(res.layers, 0);
	free(before);
	free(after);
	buf_clear(&report);
	buf_clear(&why);
}

/* A gc or rm that crashed between its rename and the deletion leaves
 * tmp/removed-<key>.<pid>: the next build's clean_tmp and the next gc take
 * it; the layer itself is never half there. */
static void test_crash_leftover_is_cleaned(void **state)
{
	struct scenario *sc = *state;
	struct imgstore *s;
	struct imgstore_gc_result res;
	struct buf report, why;
	buf_init(&report, 1 << 20);
	buf_init(&why, 4096);
	char a[128], b[128]; /* P's buffers do not last */
	snprintf(a, sizeof(a), "tmp/removed-%.64s.999998", K('e'));
	snprintf(b, sizeof(b), "tmp/removed-%.64s.999997", K('1'));

	assert_int_equal(rename(P("%s/layers/%s", sc->dir, K('e')), P("%s/%s", sc->dir, a)), 0);
	assert_int_equal(imgstore_open(sc->dir, &s), 0);
	imgstore_clean_tmp(s);
	imgstore_close(s);
	assert_false(exists(sc->dir, a));
	assert_true(exists(sc->dir, "tmp/keep-me"));
	assert_true(exists(sc->dir, P("tmp/mine.%d", (int)getpid())));

	assert_int_equal(rename(P("%s/layers/%s", sc->dir, K('1')), P("%s/%s", sc->dir, b)), 0);
	assert_int_equal(run_gc(sc->dir, 0, 30, &res, &report, &why), 0);
	assert_false(exists(sc->dir, b));
	assert_non_null(strstr(buf_str(&report), P("removed %s  ", b)));
	assert_int_equal(res.layers, 3); /* e and 1 are no longer layers */
	assert_int_equal(res.leftovers, 1);
	buf_clear(&report);
	buf_clear(&why);
}

/* rm goes through the same rename-then-delete, and still refuses a parent. */
static void test_rm_removes_through_tmp(void **state)
{
	struct scenario *sc = *state;
	struct imgstore *s;
	struct buf why;
	buf_init(&why, 4096);

	make_name(sc->dir, "base", P("../layers/%s", K('a')));
	assert_int_equal(imgstore_open(sc->dir, &s), 0);
	assert_int_equal(imgstore_rm(s, "base", &why), -EBUSY);
	assert_true(exists(sc->dir, P("layers/%s/manifest.json", K('a'))));
	assert_int_equal(imgstore_rm(s, "other", &why), 0);
	imgstore_close(s);
	assert_false(exists(sc->dir, "names/other"));
	assert_false(exists(sc->dir, P("layers/%s", K('d'))));
	assert_false(exists(sc->dir, P("tmp/removed-%s.%d", K('d'), (int)getpid())));
	buf_clear(&why);
}

/* ---- the program itself ---------------------------------------------- */

static const char *program(void)
{
	static char path[4096];
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	/* <build>/tests/img_test_imgstore -> <build>/corral-image */
	for (int i = 0; i < 2; i++) {
		char *slash = strrchr(self, '/');
		assert_non_null(slash);
		*slash = '\0';
	}
	int w = snprintf(path, sizeof(path), "%s/corral-image", self);
	assert_true(w > 0 && (size_t)w < sizeof(path));
	if (access(path, X_OK) != 0)
		fail_msg("%s: not built (make %s first)", path, path);
	return path;
}

struct run {
	int status; /* exit code, or -1 */
	char *out, *err;
	double seconds;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Runs corral-image with args (NULL-terminated); output files in scratch. */
static struct run run_program(const char *scratch, const char *const *args)
{
	const char *argv[16];
	size_t n = 0;
	struct run r;
	argv[n++] = program();
	for (; *args && n < NELEM(argv) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	const char *out = P("%s/stdout", scratch), *err = P("%s/stderr", scratch);
	double t0 = now();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		unsetenv("CORRAL_URL");
		unsetenv("CORRAL_TOKEN");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r.seconds = now() - t0;
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.out = read_all(out);
	r.err = read_all(err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* A scratch directory beside the store, for the program's output. */
static const char *scratch(const struct scenario *sc)
{
	static char dir[80];
	int n = snprintf(dir, sizeof(dir), "%s.out", sc->dir);
	assert_true(n > 0 && (size_t)n < sizeof(dir));
	assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
	return dir;
}

static void test_cli_gc(void **state)
{
	struct scenario *sc = *state;
	const char *o = scratch(sc);

	char *before = snapshot(sc->dir);
	struct run r =
		run_program(o, (const char *[]){"--store", sc->dir, "gc", "--dry-run", NULL});
	char *after = snapshot(sc->dir);
	assert_int_equal(r.status, 0);
	assert_string_equal(before, after);
	assert_string_equal(r.err, "");
	assert_non_null(strstr(r.out, P("would remove layer %.12s  0.0 MiB  (was tools, built "
					"2024-05-01T10:00:00Z)\n",
					K('1'))));
	/* The program is not the test process: tmp/mine.<test's pid> is stale to it. */
	assert_non_null(strstr(r.out, P("would remove tmp/mine.%d  0.0 MiB", (int)getpid())));
	assert_non_null(strstr(r.out, "gc: would remove 5 layers and 3 logs, would free 0.0 MiB "
				      "(with 2 leftovers in tmp/)\n"));
	char *dry = as_if_done(r.out);
	run_free(&r);

	r = run_program(o, (const char *[]){"--store", sc->dir, "gc", "--keep-logs", "30", NULL});
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, dry);
	assert_false(exists(sc->dir, P("layers/%s", K('1'))));
	assert_true(exists(sc->dir, P("layers/%s", K('a'))));
	run_free(&r);

	r = run_program(o, (const char *[]){"--store", sc->dir, "show", "tools", NULL});
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, K('c')));
	run_free(&r);

	r = run_program(o, (const char *[]){"--store", sc->dir, "gc", NULL});
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "gc: removed 0 layers and 0 logs, freed 0.0 MiB\n"));
	run_free(&r);
	free(before);
	free(after);
	free(dry);
	fs_rm_tree(o);
}

static void test_cli_gc_refuses(void **state)
{
	struct scenario *sc = *state;
	const char *o = scratch(sc);

	make_layer(sc->dir, '5', "broken", '7', 10, NULL);
	make_name(sc->dir, "broken", P("../layers/%s", K('5')));
	char *before = snapshot(sc->dir);
	struct run r = run_program(o, (const char *[]){"--store", sc->dir, "gc", NULL});
	char *after = snapshot(sc->dir);
	assert_int_equal(r.status, 1);
	assert_string_equal(before, after);
	assert_string_equal(r.err, "corral-image: gc: image broken: layer 555555555555 is built on "
				   "layer 777777777777, which is not in the store; nothing "
				   "removed\n");
	assert_null(strstr(r.out, "remove"));
	run_free(&r);
	free(before);
	free(after);
	fs_rm_tree(o);
}

static void test_cli_gc_arguments(void **state)
{
	struct scenario *sc = *state;
	const char *o = scratch(sc);
	static const char *const bad_days[] = {"-1", "abc", "36501", "", "3x", " 3"};

	char *before = snapshot(sc->dir);
	for (size_t i = 0; i < NELEM(bad_days); i++) {
		struct run r = run_program(o, (const char *[]){"--store", sc->dir, "gc",
							       "--keep-logs", bad_days[i], NULL});
		if (r.status != 2 || strstr(r.err, "--keep-logs") == NULL)
			fail_msg("--keep-logs '%s': exit %d, %s", bad_days[i], r.status, r.err);
		run_free(&r);
	}
	struct run r = run_program(o, (const char *[]){"--store", sc->dir, "gc", "extra", NULL});
	assert_int_equal(r.status, 2);
	run_free(&r);
	char *after = snapshot(sc->dir);
	assert_string_equal(before, after);

	/* A store that is not there is reported, not made. */
	const char *missing = P("%s/no-such-store", o);
	r = run_program(o, (const char *[]){"--store", missing, "gc", NULL});
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "not an image store"));
	assert_null(strchr(strchr(r.err, '\n') + 1, '\n'));
	assert_false(exists(o, "no-such-store"));
	run_free(&r);
	free(before);
	free(after);
	fs_rm_tree(o);
}

/* A build holds the lock from its commit to its set_name: a layer with no
 * name yet.  gc waits for it, so that layer survives. */
static void test_cli_gc_waits_for_a_build(void **state)
{
	struct scenario *sc = *state;
	const char *o = scratch(sc);
	int ready[2];
	assert_int_equal(pipe(ready), 0);

	pid_t builder = fork();
	assert_true(builder >= 0);
	if (builder == 0) {
		struct imgstore *s;
		close(ready[0]);
		if (imgstore_open(sc->dir, &s) < 0)
			_exit(1);
		make_layer(sc->dir, 'f', "fresh", 'a', 10, NULL);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		usleep(600 * 1000);
		make_name(sc->dir, "fresh", P("../layers/%s", K('f')));
		imgstore_close(s);
		_exit(0);
	}
	close(ready[1]);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	struct run r = run_program(o, (const char *[]){"--store", sc->dir, "gc", NULL});
	int st;
	assert_int_equal(waitpid(builder, &st, 0), builder);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "waiting for another corral-image"));
	assert_true(r.seconds > 0.3);
	assert_true(exists(sc->dir, P("layers/%s/manifest.json", K('f'))));
	assert_non_null(strstr(r.out, "gc: removed 5 layers"));
	assert_resolves(sc->dir, "fresh", 'f');
	run_free(&r);
	fs_rm_tree(o);
}

int main(void)
{
	static const char hex[] = "0123456789abcdef";
	if (sodium_init() < 0)
		return 1;
	for (const char *h = hex; *h; h++) {
		memset(keys[(int)*h], *h, 64);
		keys[(int)*h][64] = '\0';
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gc_removes_exactly_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_dry_run_touches_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_second_run_removes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gc_refuses_damaged_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_keep_logs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gc_needs_the_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_leftover_is_cleaned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rm_removes_through_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_gc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_gc_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_gc_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli_gc_waits_for_a_build, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
