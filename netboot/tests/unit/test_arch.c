/*
 * Unit tests for architecture-aware boot: the arch table under both names
 * (every option 93 code of dhcpconf_arches → iPXE's ${buildarch} →
 * Corral's name), what a dnsmasq hook line says (tags, vendor class), the
 * learning rules on a real store (a hand-set arch is never learned over; a
 * default one takes the source; an unchanged arch writes nothing), a PUT
 * without arch keeping a learned one, and the image rule per architecture.
 */
#include "storefix.h"

#include "arch.h"
#include "bootsel.h"
#include "dhcpconf.h"
#include "dhcpstate.h"

/* Every code of the table, with both names it must map to. */
static const struct {
	unsigned code;
	const char *ipxe; /* ${buildarch} of the binary it gets */
	const char *name; /* Corral's */
} codes[] = {
	{0, "i386", "x86_64"},          {7, "x86_64", "x86_64"},    {9, "x86_64", "x86_64"},
	{11, "arm64", "aarch64"},       {27, "riscv64", "riscv64"}, {39, "loong64", "loongarch64"},
	{16, "x86_64", "x86_64"},       {19, "arm64", "aarch64"},   {28, "riscv64", "riscv64"},
	{40, "loong64", "loongarch64"},
};

static void test_every_code_both_names(void **state)
{
	(void)state;
	/* the cases cover the table: no row without a case */
	assert_int_equal(NELEM(codes), dhcpconf_narches);
	for (size_t i = 0; i < NELEM(codes); i++) {
		const char *got = arch_of_client(codes[i].code);
		assert_non_null(got);
		assert_string_equal(got, codes[i].name);
		assert_string_equal(arch_of_ipxe(codes[i].ipxe), codes[i].name);
		assert_true(arch_valid(codes[i].name));
	}
	for (unsigned i = 0; i < dhcpconf_narches; i++)
		assert_non_null(arch_of_client(dhcpconf_arches[i].arch));
	/* codes Debian has no iPXE for, and junk */
	static const unsigned none[] = {1, 2, 6, 10, 15, 18, 41, 65535};
	for (size_t i = 0; i < NELEM(none); i++)
		assert_null(arch_of_client(none[i]));
	static const char *const bad[] = {"", "ARM64", "arm", "aarch64", "x86-64", "i686"};
	for (size_t i = 0; i < NELEM(bad); i++)
		assert_null(arch_of_ipxe(bad[i]));
	assert_null(arch_of_ipxe(NULL));
	assert_false(arch_valid("arm64"));
	assert_false(arch_valid(NULL));
	assert_true(arch_source_valid("manual") && arch_source_valid("dhcp") &&
		    arch_source_valid("ipxe") && arch_source_valid("default"));
	assert_false(arch_source_valid("bmc"));
}

static void test_tags_and_vendor_class(void **state)
{
	(void)state;
	assert_string_equal(arch_of_tags("known arm64"), "aarch64");
	assert_string_equal(arch_of_tags("efi64 ipxe known"), "x86_64");
	assert_string_equal(arch_of_tags("httpclient arm64-http"), "aarch64");
	assert_string_equal(arch_of_tags("bios"), "x86_64");
	assert_null(arch_of_tags("known xarm64 arm64x ipxe"));
	assert_null(arch_of_tags(""));

	unsigned code = 99;
	assert_int_equal(arch_vendor_code("PXEClient:Arch:00011:UNDI:003000", &code), 0);
	assert_int_equal(code, 11);
	assert_int_equal(arch_vendor_code("HTTPClient:Arch:00016", &code), 0);
	assert_int_equal(code, 16);
	static const char *const bad[] = {"PXEClient",
					  "PXEClient:Arch:0011:UNDI",
					  "PXEClient:Arch:000111",
					  "PXEClient:Arch:0001x:UNDI",
					  "MSFT 5.0",
					  "udhcp 1.36.1",
					  ""};
	for (size_t i = 0; i < NELEM(bad); i++)
		assert_int_equal(arch_vendor_code(bad[i], &code), -1);
}

static void test_hook_line(void **state)
{
	(void)state;
	static const struct {
		const char *line, *want;
	} cases[] = {
		/* the tag dnsmasq set from option 93 */
		{"add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown arm64\t100\t\tPXEClient:Arch:00011:UNDI:003000",
		 "aarch64"},
		/* iPXE's own request carries option 93 too */
		{"old\t52:54:00:00:00:01\t10.0.0.5\tn1\tipxe efi64 known\t100\t\tiPXE", "x86_64"},
		/* no tag (a dnsmasq configured by hand): the vendor class */
		{"add\t52:54:00:00:00:01\t10.0.0.5\t\tknown\t100\t\tPXEClient:Arch:00007:UNDI:003016",
		 "x86_64"},
		/* an OS's request says nothing */
		{"old\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t100\t\tudhcp 1.36.1", NULL},
		{"tftp\t1234\t10.0.0.5\t/srv/tftp/ipxe-arm64.efi", NULL},
		{"init", NULL},
		{"", NULL},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *got = dhcpstate_hook_arch(cases[i].line);
		if (cases[i].want == NULL)
			assert_null(got);
		else
			assert_string_equal(got, cases[i].want);
	}
}

static const char *arch_of(struct store *st, const char *name, const char **source)
{
	static char arch[32], src[32];
	json_t *n;
	assert_int_equal(store_node_get(st, name, &n), 0);
	fx_fmt(arch, sizeof(arch), "%s", json_string_value(json_object_get(n, "arch")));
	fx_fmt(src, sizeof(src), "%s", json_string_value(json_object_get(n, "arch_source")));
	json_decref(n);
	*source = src;
	return arch;
}

static void test_learning_rules(void **state)
{
	struct fx *f = *state;
	const char *src;
	bool changed;
	json_t *n = node("m1", 0, "52:54:00:00:00:01", NULL, NULL, "", NULL);
	json_object_set_new(n, "arch", json_string("aarch64"));
	json_object_set_new(n, "arch_source", json_string("manual"));
	put_node(f->st, n);
	put_node(f->st, node("d1", 0, "52:54:00:00:00:02", NULL, NULL, "", NULL));
	int64_t m1 = node_id(f->st, "m1"), d1 = node_id(f->st, "d1");

	/* set by hand: never learned over, whatever says otherwise */
	assert_int_equal(store_node_learn_arch(f->st, m1, "x86_64", "dhcp", &changed), 0);
	assert_false(changed);
	assert_string_equal(arch_of(f->st, "m1", &src), "aarch64");
	assert_string_equal(src, "manual");

	/* a default arch takes the source even when it is the same arch */
	uint64_t gen = store_generation(f->st);
	assert_int_equal(store_node_learn_arch(f->st, d1, "x86_64", "ipxe", &changed), 0);
	assert_false(changed); /* the arch itself did not change */
	assert_string_equal(arch_of(f->st, "d1", &src), "x86_64");
	assert_string_equal(src, "ipxe");
	/* learned: a different one replaces it, and the boot scripts' cache sees it */
	gen = store_generation(f->st);
	assert_int_equal(store_node_learn_arch(f->st, d1, "aarch64", "dhcp", &changed), 0);
	assert_true(changed);
	assert_string_equal(arch_of(f->st, "d1", &src), "aarch64");
	assert_string_equal(src, "dhcp");
	assert_true(store_generation(f->st) > gen);
	/* the same again writes nothing */
	gen = store_generation(f->st);
	assert_int_equal(store_node_learn_arch(f->st, d1, "aarch64", "ipxe", &changed), 0);
	assert_false(changed);
	assert_int_equal(store_generation(f->st), gen);
	assert_string_equal(arch_of(f->st, "d1", &src), "aarch64");
	assert_string_equal(src, "dhcp");

	/* a PUT that says no arch (default) keeps the learned one ... */
	put_node(f->st, node("d1", 0, "52:54:00:00:00:02", NULL, NULL, "x=1", NULL));
	assert_string_equal(arch_of(f->st, "d1", &src), "aarch64");
	assert_string_equal(src, "dhcp");
	/* ... one that sets it by hand wins, and stays */
	n = node("d1", 0, "52:54:00:00:00:02", NULL, NULL, "", NULL);
	json_object_set_new(n, "arch_source", json_string("manual"));
	put_node(f->st, n);
	assert_string_equal(arch_of(f->st, "d1", &src), "x86_64");
	assert_string_equal(src, "manual");
	assert_int_equal(store_node_learn_arch(f->st, d1, "aarch64", "ipxe", &changed), 0);
	assert_string_equal(arch_of(f->st, "d1", &src), "x86_64");

	assert_int_equal(store_node_learn_arch(f->st, 424242, "aarch64", "ipxe", &changed),
			 -ENOENT);
}

static void test_image_rule(void **state)
{
	(void)state;
	json_t *both = json_pack("{s:s, s:s}", "x86_64", "deb-x86", "aarch64", "deb-arm");
	json_t *x86 = json_pack("{s:s}", "x86_64", "deb-x86");
	/* per architecture, whatever the single image */
	assert_string_equal(bootsel_pick_image(both, "old", "x86_64", "aarch64", "dhcp"),
			    "deb-arm");
	assert_string_equal(bootsel_pick_image(both, NULL, NULL, "x86_64", "manual"), "deb-x86");
	/* none for this arch: the single image only if it is for it */
	assert_null(bootsel_pick_image(x86, NULL, NULL, "aarch64", "ipxe"));
	assert_null(bootsel_pick_image(x86, "old", "x86_64", "aarch64", "manual"));
	assert_string_equal(bootsel_pick_image(x86, "old-arm", "aarch64", "aarch64", "manual"),
			    "old-arm");
	/* the old form: one image, and its arch */
	assert_string_equal(bootsel_pick_image(NULL, "old", "x86_64", "x86_64", "dhcp"), "old");
	assert_null(bootsel_pick_image(NULL, "old", "x86_64", "aarch64", "dhcp"));
	/* nobody said what the node is: the one image, as before */
	assert_string_equal(bootsel_pick_image(NULL, "old", "aarch64", "x86_64", "default"), "old");
	assert_null(bootsel_pick_image(NULL, NULL, NULL, "x86_64", "default"));
	json_decref(both);
	json_decref(x86);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_both_names),
		cmocka_unit_test(test_tags_and_vendor_class),
		cmocka_unit_test(test_hook_line),
		cmocka_unit_test_setup_teardown(test_learning_rules, setup, teardown),
		cmocka_unit_test(test_image_rule),
	};
	return cmocka_run_group_tests_name("arch", tests, NULL, NULL);
}
