/*
 * Unit tests for import's pure parts: what a source is (an OCI layout
 * directory, an OCI archive, a docker-archive tarball; a compressed one, a
 * tarball of neither, a path skopeo would misread are refused with a
 * reason), and the layer key from the image's diff_ids: the same layers
 * give the same key whatever archive held them (the configs differ in
 * their other fields), and order, name, architecture and options change it.
 */
#include <errno.h>
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

#include "import.h"

static char dir[] = "/tmp/corral-test-import.XXXXXX";

/* A tar of members (name, content) pairs, NULL-ended, at path. */
static void write_tar(const char *path, const char *const *members)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; members[i]; i += 2) {
		unsigned char h[512] = {0};
		size_t len = strlen(members[i + 1]);
		memcpy(h, members[i], strlen(members[i]));
		snprintf((char *)h + 100, 8, "%07o", 0644);
		char size[32];
		snprintf(size, sizeof(size), "%011zo", len);
		memcpy(h + 124, size, 11);
		memcpy(h + 257, "ustar", 5);
		assert_int_equal(fwrite(h, 1, 512, f), 512);
		unsigned char body[512] = {0};
		memcpy(body, members[i + 1], len);
		if (len > 0) /* an empty member has no data block */
			assert_int_equal(fwrite(body, 1, 512, f), 512);
	}
	unsigned char end[1024] = {0};
	assert_int_equal(fwrite(end, 1, sizeof(end), f), sizeof(end));
	fclose(f);
}

static int kind_of(const char *name, enum import_kind *k, char *why)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return import_source_kind(p, k, why, 256);
}

static void test_source_kind(void **state)
{
	enum import_kind k;
	char why[256], p[256];
	(void)state;
	static const char *const oci[] = {"oci-layout", "{}", "index.json", "{}", NULL};
	static const char *const dock[] = {"manifest.json", "[]", "abc/layer.tar", "x", NULL};
	static const char *const dotted[] = {"./blobs", "", "./oci-layout", "{}", NULL};
	static const char *const other[] = {"etc/passwd", "root:x:0:0", NULL};
	snprintf(p, sizeof(p), "%s/oci.tar", dir);
	write_tar(p, oci);
	snprintf(p, sizeof(p), "%s/docker.tar", dir);
	write_tar(p, dock);
	snprintf(p, sizeof(p), "%s/dotted.tar", dir);
	write_tar(p, dotted);
	snprintf(p, sizeof(p), "%s/other.tar", dir);
	write_tar(p, other);
	assert_int_equal(kind_of("oci.tar", &k, why), 0);
	assert_int_equal(k, IMPORT_OCI_ARCHIVE);
	assert_int_equal(kind_of("docker.tar", &k, why), 0);
	assert_int_equal(k, IMPORT_DOCKER_ARCHIVE);
	assert_int_equal(kind_of("dotted.tar", &k, why), 0);
	assert_int_equal(k, IMPORT_OCI_ARCHIVE);
	assert_int_equal(kind_of("other.tar", &k, why), -EINVAL);
	assert_non_null(strstr(why, "no oci-layout or manifest.json"));

	/* A layout directory; a directory that is not one. */
	snprintf(p, sizeof(p), "%s/layout", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(kind_of("layout", &k, why), -EINVAL);
	assert_non_null(strstr(why, "without oci-layout"));
	snprintf(p, sizeof(p), "%s/layout/oci-layout", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(kind_of("layout", &k, why), 0);
	assert_int_equal(k, IMPORT_OCI_DIR);

	/* gzip, missing, a ':' skopeo would read as a tag. */
	snprintf(p, sizeof(p), "%s/img.tar.gz", dir);
	f = fopen(p, "wb");
	assert_non_null(f);
	fwrite("\x1f\x8b\x08\x00rest", 1, 8, f);
	fclose(f);
	assert_int_equal(kind_of("img.tar.gz", &k, why), -EINVAL);
	assert_non_null(strstr(why, "decompress"));
	assert_int_equal(kind_of("nothing-here", &k, why), -ENOENT);
	snprintf(p, sizeof(p), "%s/a:b", dir);
	write_tar(p, oci);
	assert_int_equal(kind_of("a:b", &k, why), -EINVAL);
	assert_non_null(strstr(why, "':'"));
}

#define L1 "sha256:df1575044d0d252dae6c0490aa2f2a03acc2383bf79242d8d532391d2c10421b"
#define L2 "sha256:d9e46278209c828ee3962fd90bb410cb90cd71d12d7264d8de5afb5debbab6ff"

static void key_of(const char *config, const char *name, const char *arch, int live_boot,
		   char hex[65], int want_rc)
{
	json_t *c = json_loads(config, 0, NULL);
	struct import_opts o = {.live_boot = live_boot};
	assert_non_null(c);
	assert_int_equal(import_key(c, name, arch, &o, hex), want_rc);
	json_decref(c);
}

static void test_key_from_diff_ids(void **state)
{
	char a[65], b[65], c[65];
	(void)state;
	/* Two configs as two archive kinds write them: other fields differ. */
	key_of("{\"architecture\":\"amd64\",\"created\":\"2026-01-01T00:00:00Z\","
	       "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" L1 "\",\"" L2 "\"]}}",
	       "img", "amd64", 0, a, 0);
	key_of("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"A=1\"]},"
	       "\"rootfs\":{\"diff_ids\":[\"" L1 "\",\"" L2 "\"],\"type\":\"layers\"}}",
	       "img", "amd64", 0, b, 0);
	assert_string_equal(a, b);
	/* Order, name, architecture, options. */
	key_of("{\"rootfs\":{\"diff_ids\":[\"" L2 "\",\"" L1 "\"]}}", "img", "amd64", 0, c, 0);
	assert_string_not_equal(a, c);
	key_of("{\"rootfs\":{\"diff_ids\":[\"" L1 "\",\"" L2 "\"]}}", "img2", "amd64", 0, c, 0);
	assert_string_not_equal(a, c);
	key_of("{\"rootfs\":{\"diff_ids\":[\"" L1 "\",\"" L2 "\"]}}", "img", "arm64", 0, c, 0);
	assert_string_not_equal(a, c);
	key_of("{\"rootfs\":{\"diff_ids\":[\"" L1 "\",\"" L2 "\"]}}", "img", "amd64", 1, c, 0);
	assert_string_not_equal(a, c);
	/* No layers, or not sha256 ones: no key. */
	key_of("{\"rootfs\":{\"diff_ids\":[]}}", "img", "amd64", 0, c, -EINVAL);
	key_of("{\"architecture\":\"amd64\"}", "img", "amd64", 0, c, -EINVAL);
	key_of("{\"rootfs\":{\"diff_ids\":[\"md5:abc\"]}}", "img", "amd64", 0, c, -EINVAL);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "%s", dir);
	/* The test's own temporary tree. */
	const char *names[] = {"oci.tar",           "docker.tar", "dotted.tar", "other.tar",
			       "layout/oci-layout", "img.tar.gz", "a:b",        NULL};
	for (int i = 0; names[i]; i++) {
		char p[400];
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	snprintf(cmd, sizeof(cmd), "%s/layout", dir);
	rmdir(cmd);
	rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_kind),
		cmocka_unit_test(test_key_from_diff_ids),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
