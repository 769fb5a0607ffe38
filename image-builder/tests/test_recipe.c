/*
 * Unit tests for recipe: every rule of recipe validation as a row of a
 * table (text in, "file:line: key: ..." out), parent chains and cycles from
 * the files in tests/recipes/, and the digest (stable under comments and
 * key order, changed by content and by the files copied in, its bytes
 * pinned).
 * Run from the repository top (make check-unit does).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "recipe.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DIR "image-builder/tests/recipes"

struct vcase {
	const char *text;
	int rc;
	const char *want; /* substring of the error text (rc < 0) */
};

static const struct vcase cases[] = {
	/* good */
	{"name: a\nbase:\n  suite: bookworm\n", 0, NULL},
	{"name: a\nbase: {suite: bookworm, mirror: 'http://deb.debian.org/debian', variant: "
	 "apt}\n",
	 -EINVAL, "t.yaml:2: base.variant: must be minbase"},
	{"name: a\nbase: {suite: bookworm, mirror: 'http://deb.debian.org/debian'}\npackages: "
	 "[systemd, openssh-server, 'libc6=2.36-9']\nremove: [nano]\nkernel_params: "
	 "console=ttyS0 quiet\ncloud_init: yes\nrun:\n  - [systemctl, enable, ssh]\n",
	 0, NULL},
	/* missing keys */
	{"base:\n  suite: bookworm\n", -EINVAL, "t.yaml:1: name: missing"},
	{"name: a\n", -EINVAL, "t.yaml:1: base: missing"},
	{"name: a\nbase:\n  mirror: http://x/\n", -EINVAL,
	 "t.yaml:1: base: missing: a recipe needs a base (base.suite or base.oci)"},
	{"name: a\nbase: {suite: bookworm}\nfiles:\n  - dest: /etc/x\n", -EINVAL,
	 "t.yaml:4: files.src: missing"},
	/* wrong types */
	{"name: [a, b]\nbase: {suite: bookworm}\n", -EINVAL, "t.yaml:1: name: must be a string"},
	{"name: a\nbase: bookworm\n", -EINVAL, "t.yaml:2: base: must be a mapping"},
	{"name: a\nbase: {suite: bookworm}\npackages: systemd\n", -EINVAL,
	 "t.yaml:3: packages: must be a list of strings"},
	{"name: a\nbase: {suite: bookworm}\npackages:\n  - ok\n  - {x: 1}\n", -EINVAL,
	 "t.yaml:5: packages: item 2 must be a string"},
	{"name: a\nbase: {suite: bookworm}\ncloud_init: maybe\n", -EINVAL,
	 "t.yaml:3: cloud_init: must be true or false"},
	{"name: a\nbase: {suite: bookworm}\ncloud_init: 'true'\n", -EINVAL,
	 "t.yaml:3: cloud_init: must be true or false"},
	{"name: a\nbase: {suite: bookworm}\nrun:\n  - systemctl enable ssh\n", -EINVAL,
	 "t.yaml:4: run: each command must be a list of strings"},
	{"name: a\nbase: {suite: bookworm}\nrun:\n  - []\n", -EINVAL,
	 "t.yaml:4: run: a command must not be empty"},
	{"name: a\nbase: {suite: bookworm}\nfiles: /etc/x\n", -EINVAL,
	 "t.yaml:3: files: must be a list"},
	/* unknown keys, at every level */
	{"name: a\nbase: {suite: bookworm}\npackage: [x]\n", -EINVAL,
	 "t.yaml:3: package: unknown key (known: name, description"},
	{"name: a\nbase: {suite: bookworm, release: 12}\n", -EINVAL,
	 "t.yaml:2: base.release: unknown key (known: suite, mirror, variant, oci, releasever)"},
	{"name: a\nbase: {suite: bookworm}\nname: b\n", -EINVAL, "t.yaml:3: name: given twice"},
	/* values */
	{"name: -a\nbase: {suite: bookworm}\n", -EINVAL, "t.yaml:1: name: \"-a\": 1-63"},
	{"name: a\nbase: {suite: bookworm}\npackages: [Bad_Name]\n", -EINVAL,
	 "t.yaml:3: packages: \"Bad_Name\" is not a Debian package name"},
	{"name: a\nbase: {suite: bookworm}\npackages: ['x; rm -rf /']\n", -EINVAL,
	 "is not a Debian package name"},
	{"name: a\nbase: {suite: bookworm, mirror: 'ftp://x'}\n", -EINVAL,
	 "t.yaml:2: base.mirror: must be an http"},
	{"name: a\nbase: {suite: bookworm}\narch: arm\n", -EINVAL,
	 "t.yaml:3: arch: \"arm\" is not supported"},
	{"name: a\nbase: {suite: bookworm}\nkernel_params: 'a=${x}'\n", -EINVAL,
	 "t.yaml:3: kernel_params: printable ASCII without $"},
	{"name: a\nbase: {suite: bookworm}\nfiles:\n  - {src: nothere, dest: /etc/x}\n", -EINVAL,
	 "t.yaml:4: files.src: \"nothere\" is not a readable regular file"},
	{"name: a\nbase: {suite: bookworm}\nfiles:\n  - {src: /etc/hostname, dest: etc/x}\n",
	 -EINVAL, "files.dest: \"etc/x\" must be an absolute path"},
	{"name: a\nbase: {suite: bookworm}\nfiles:\n  - {src: /etc/hostname, dest: /../etc/x}\n",
	 -EINVAL, "files.dest: \"/../etc/x\" must be an absolute path without \"..\""},
	{"name: a\nbase: {suite: bookworm}\nfiles:\n  - {src: /etc/hostname, dest: /x, mode: "
	 "'999'}\n",
	 -EINVAL, "files.mode: \"999\" is not an octal mode"},
	{"name: a\nbase: {suite: bookworm}\nparent: b\n", -EINVAL,
	 "parent: a recipe has either a base or a parent"},
	{"name: a\nparent: 'bad name'\n", -EINVAL, "is neither a recipe file"},
	/* base.oci: an OCI image instead of a suite; live_boot only with it */
	{"name: a\nbase: {oci: /etc/hostname}\nlive_boot: true\npackages: [less]\n", 0, NULL},
	{"name: a\nbase: {oci: /nonexistent/img.tar}\n", -EINVAL,
	 "t.yaml:2: base.oci: \"/nonexistent/img.tar\": no such OCI image"},
	{"name: a\nbase: {oci: /etc/hostname, suite: bookworm}\n", -EINVAL,
	 "base: either suite (Debian, by mmdebstrap) or oci"},
	{"name: a\nbase: {oci: /etc/hostname, variant: minbase}\n", -EINVAL,
	 "base: mirror and variant are for base.suite"},
	{"name: a\nbase: {suite: bookworm}\nlive_boot: true\n", -EINVAL,
	 "live_boot: only for a recipe with base.oci"},
	{"name: a\nbase: {}\n", -EINVAL, "needs a base (base.suite or base.oci)"},
	/* base.releasever: dnf/zypper's $releasever, only with base.oci */
	{"name: a\nbase: {oci: /etc/hostname, releasever: '9'}\npackages: [less]\n", 0, NULL},
	{"name: a\nbase: {oci: /etc/hostname, releasever: 15.5}\n", 0, NULL},
	/* on an OCI base, RPM names (capitals, underscores, name.arch) */
	{"packages: [NetworkManager, perl-Data_Dumper, bash.x86_64]\nname: a\nbase: {oci: "
	 "/etc/hostname}\n",
	 0, NULL},
	{"name: a\nbase: {oci: /etc/hostname}\npackages: ['-nogpgcheck']\n", -EINVAL,
	 "t.yaml:3: packages: \"-nogpgcheck\" is not a package name"},
	{"name: a\nbase: {oci: /etc/hostname}\nremove: ['a b']\n", -EINVAL,
	 "is not a package name"},
	{"name: a\nbase: {suite: bookworm, releasever: '12'}\n", -EINVAL,
	 "base: releasever is for base.oci"},
	{"name: a\nbase: {oci: /etc/hostname, releasever: '9 --nogpgcheck'}\n", -EINVAL,
	 "t.yaml:2: base.releasever: \"9 --nogpgcheck\": 1-32 of [A-Za-z0-9._-]"},
	{"name: a\nbase: {oci: /etc/hostname, releasever: -9}\n", -EINVAL,
	 "base.releasever: \"-9\""},
	/* several problems: all reported */
	{"name: a\nbase: {suite: bookworm}\nfoo: 1\nbar: 2\n", -EINVAL, "t.yaml:4: bar: unknown"},
	/* not YAML, not a mapping */
	{"name: [a\n", -EINVAL, "t.yaml:2: (yaml):"},
	{"- a\n- b\n", -EINVAL, "t.yaml:1: (recipe): must be a mapping"},
	{"", -EINVAL, "t.yaml:1: (recipe): empty file"},
};

static void test_validation_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct recipe *r = NULL;
		struct buf err;
		buf_init(&err, 65536);
		int rc = recipe_parse("t.yaml", cases[i].text, strlen(cases[i].text), &r, &err);
		if (rc != cases[i].rc || (cases[i].want && !strstr(buf_str(&err), cases[i].want))) {
			print_error("case %zu:\n%s\nrc %d (want %d), errors:\n%s\nwant: %s\n", i,
				    cases[i].text, rc, cases[i].rc, buf_str(&err),
				    cases[i].want ? cases[i].want : "(none)");
			fail();
		}
		if (rc == 0)
			assert_non_null(r);
		else
			assert_null(r);
		recipe_free(r);
		buf_clear(&err);
	}
}

static void test_parent_chain(void **state)
{
	(void)state;
	struct recipe *r = NULL;
	struct buf err;
	buf_init(&err, 65536);
	assert_int_equal(recipe_load(DIR "/child.yaml", &r, &err), 0);
	assert_string_equal(r->name, "child");
	assert_non_null(r->parent_recipe);
	assert_string_equal(r->parent_recipe->name, "base");
	assert_string_equal(r->arch, "amd64");
	assert_int_equal(recipe_cloud_init(r), 0); /* inherited */
	assert_ptr_equal(recipe_root(r), r->parent_recipe);
	assert_int_equal(r->nfiles, 1);
	assert_int_equal(r->files[0].mode, 0600);
	assert_int_equal(r->nrun, 1);
	assert_string_equal(r->run[0].argv[2], "ssh");
	assert_int_equal(r->run[0].line, 9);
	recipe_free(r);
	buf_clear(&err);
}

static void expect_load_error(const char *path, const char *want)
{
	struct recipe *r = NULL;
	struct buf err;
	buf_init(&err, 65536);
	int rc = recipe_load(path, &r, &err);
	if (rc >= 0 || strstr(buf_str(&err), want) == NULL) {
		print_error("%s: rc %d, errors:\n%s\nwant: %s\n", path, rc, buf_str(&err), want);
		fail();
	}
	assert_null(r);
	buf_clear(&err);
}

static void test_parent_cycle(void **state)
{
	(void)state;
	expect_load_error(DIR "/cycle-a.yaml", DIR "/cycle-b.yaml:2: parent: cycle: ");
	expect_load_error(DIR "/self.yaml", DIR "/self.yaml:2: parent: cycle: ");
}

static void test_parent_errors_name_parent_file(void **state)
{
	(void)state;
	/* A problem in the parent is reported with the parent's file and line. */
	expect_load_error(DIR "/badchild.yaml", DIR "/broken.yaml:4: packages: must be a list");
	expect_load_error(DIR "/nothere.yaml", DIR "/nothere.yaml: cannot read");
}

static void test_missing_parent_file(void **state)
{
	(void)state;
	struct recipe *r = NULL;
	struct buf err;
	buf_init(&err, 65536);
	const char *t = "name: x\nparent: nothere.yaml\n";
	assert_int_equal(recipe_parse(DIR "/x.yaml", t, strlen(t), &r, &err), -EINVAL);
	assert_non_null(strstr(buf_str(&err), DIR "/x.yaml:2: parent: cannot read recipe"));
	buf_clear(&err);
}

static void digest_of(const char *text, char hex[65])
{
	struct recipe *r = NULL;
	struct buf err;
	buf_init(&err, 65536);
	int rc = recipe_parse(DIR "/d.yaml", text, strlen(text), &r, &err);
	if (rc != 0)
		print_error("%s", buf_str(&err));
	assert_int_equal(rc, 0);
	assert_int_equal(recipe_digest(r, hex, &err), 0);
	recipe_free(r);
	buf_clear(&err);
}

static void test_digest(void **state)
{
	(void)state;
	char a[65], b[65], c[65], d[65];
	digest_of("name: a\nbase: {suite: bookworm}\npackages: [xa, ya]\n", a);
	digest_of("# comment\npackages: [xa, ya]\nbase:\n  suite: bookworm\nname: a\n", b);
	assert_string_equal(a, b);
	digest_of("name: a\nbase: {suite: bookworm}\npackages: [xa, yza]\n", c);
	assert_string_not_equal(a, c);
	digest_of("name: a\nbase: {suite: bookworm}\npackages: [xaya]\n", d);
	assert_string_not_equal(a, d);
	/* The files copied in are part of it. */
	digest_of("name: a\nbase: {suite: bookworm}\nfiles: [{src: hello.txt, dest: /x}]\n", c);
	digest_of("name: a\nbase: {suite: bookworm}\nfiles: [{src: base.yaml, dest: /x}]\n", d);
	assert_string_not_equal(c, d);
	/* base.releasever changes what dnf installs: part of it. */
	digest_of("name: a\nbase: {oci: /etc/hostname}\n", c);
	digest_of("name: a\nbase: {oci: /etc/hostname, releasever: '9'}\n", d);
	assert_string_not_equal(c, d);
	digest_of("name: a\nbase: {oci: /etc/hostname, releasever: '8'}\n", a);
	assert_string_not_equal(a, d);
}

/* aarch64 (the kernel's name) and arm64 (Debian's) are one architecture,
 * named the Debian way inside; x86_64 likewise amd64.  It is in the digest. */
static void test_arch_names(void **state)
{
	static const char *const in[][2] = {
		{"aarch64", "arm64"}, {"arm64", "arm64"}, {"x86_64", "amd64"}, {"amd64", "amd64"}};
	char a[65], b[65];
	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct recipe *r = NULL;
		struct buf err, text;
		buf_init(&err, 65536);
		buf_init(&text, 4096);
		buf_printf(&text, "name: a\nbase: {suite: bookworm}\narch: %s\n", in[i][0]);
		assert_int_equal(recipe_parse("t.yaml", buf_str(&text), text.len, &r, &err), 0);
		assert_string_equal(r->arch, in[i][1]);
		recipe_free(r);
		buf_clear(&err);
		buf_clear(&text);
	}
	digest_of("name: a\nbase: {suite: bookworm}\narch: aarch64\n", a);
	digest_of("name: a\nbase: {suite: bookworm}\n", b);
	assert_string_not_equal(a, b);
}

/*
 * The digest's bytes never change: it names the layers of existing stores.
 * One recipe with every field, its digest pinned.
 */
static void test_digest_pinned(void **state)
{
	(void)state;
	char a[65];
	digest_of("name: pin\nbase: {suite: bookworm, mirror: 'http://deb.example/debian'}\n"
		  "packages: [xa, ybc]\nremove: [nano]\n"
		  "files: [{src: hello.txt, dest: /etc/x, mode: '0600'}]\n"
		  "run:\n  - [true, x]\nkernel_params: console=ttyS0\ncloud_init: no\n",
		  a);
	assert_string_equal(a, "c0c9aede2f9b01bb0962dbf35eb687f228f4cad087e5d3eaaa21b3b1680fb210");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validation_table),
		cmocka_unit_test(test_parent_chain),
		cmocka_unit_test(test_parent_cycle),
		cmocka_unit_test(test_parent_errors_name_parent_file),
		cmocka_unit_test(test_missing_parent_file),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_digest_pinned),
		cmocka_unit_test(test_arch_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
