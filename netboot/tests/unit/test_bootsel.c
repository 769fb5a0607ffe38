/*
 * Unit tests for bootsel, the precedence rules: which profile a node boots
 * (node > its first group with one, in the node's order > the default),
 * how kernel parameters are joined (image, profile, node; empty parts
 * left out), a profile's own kernel/initrd over its image's, and the
 * cloud-init layers (defaults, groups in order, node).  The rules are
 * tested as pure functions from tables, then against a real store
 * (storefix.h), also from several threads while another writes.
 */
#include <pthread.h>

#include "bootsel.h"
#include "storefix.h"

/* ---- the rules, as pure functions ---------------------------------------- */

struct pick_case {
	const char *what;
	const char *own;    /* the node's profile, NULL for none */
	const char *groups; /* "name:profile,name:,..." in the node's order ("" none) */
	const char *dflt;   /* the default, NULL for none */
	const char *want;   /* the profile, NULL for none */
	const char *source;
};

static const struct pick_case pick_cases[] = {
	{"node beats all", "p-node", "g1:p-g1", "p-def", "p-node", "node"},
	{"node without groups", "p-node", "", NULL, "p-node", "node"},
	{"first group with one", NULL, "g0:,g1:p-g1,g2:p-g2", "p-def", "p-g1", "group g1"},
	{"group order, not name order", NULL, "zz:p-z,aa:p-a", NULL, "p-z", "group zz"},
	{"group beats default", NULL, "g1:p-g1", "p-def", "p-g1", "group g1"},
	{"groups without profiles: default", NULL, "g0:,g1:", "p-def", "p-def", "default"},
	{"no groups: default", NULL, "", "p-def", "p-def", "default"},
	{"nothing anywhere", NULL, "g0:", NULL, NULL, "none"},
	{"nothing, no groups", NULL, "", NULL, NULL, "none"},
};

/* "a:pa,b:" as [{"name":"a","profile":"pa"},{"name":"b","profile":null}]. */
static json_t *groups_of(const char *spec)
{
	json_t *arr = json_array();
	char buf[128];
	char *save = NULL;

	assert_true(strlen(spec) < sizeof(buf));
	memcpy(buf, spec, strlen(spec) + 1);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(t, ':');
		assert_non_null(colon);
		*colon = '\0';
		json_array_append_new(arr, json_pack("{s:s, s:s?}", "name", t, "profile",
						     colon[1] ? colon + 1 : NULL));
	}
	return arr;
}

static void test_pick_profile(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(pick_cases); i++) {
		const struct pick_case *c = &pick_cases[i];
		json_t *groups = groups_of(c->groups);
		const char *got = "unset";
		char source[80];

		assert_int_equal(
			bootsel_pick_profile(c->own, groups, c->dflt, &got, source, sizeof(source)),
			0);
		if ((got == NULL) != (c->want == NULL) ||
		    (got != NULL && strcmp(got, c->want) != 0))
			fail_msg("%s: profile %s, want %s", c->what, got ? got : "(none)",
				 c->want ? c->want : "(none)");
		if (strcmp(source, c->source) != 0)
			fail_msg("%s: source \"%s\", want \"%s\"", c->what, source, c->source);
		json_decref(groups);
	}
	/* a source that does not fit */
	char tiny[6];
	const char *got;
	json_t *groups = groups_of("long-group-name:p");
	assert_int_equal(bootsel_pick_profile(NULL, groups, NULL, &got, tiny, sizeof(tiny)),
			 -E2BIG);
	json_decref(groups);
}

struct join_case {
	const char *parts[3];
	const char *want;
};

static const struct join_case join_cases[] = {
	{{"console=ttyS0", "p=1", "n=1"}, "console=ttyS0 p=1 n=1"},
	{{NULL, "p=1", NULL}, "p=1"},
	{{"", "", "n=1"}, "n=1"},
	{{"a", NULL, "c"}, "a c"},
	{{"a b", "", "c d"}, "a b c d"},
	{{NULL, NULL, NULL}, ""},
	{{"", "", ""}, ""},
};

static void test_join_params(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(join_cases); i++) {
		char *got = bootsel_join_params(join_cases[i].parts, 3);

		assert_non_null(got);
		if (strcmp(got, join_cases[i].want) != 0)
			fail_msg("join case %zu: \"%s\", want \"%s\"", i, got, join_cases[i].want);
		free(got);
	}
}

/* ---- lookups against a store -------------------------------------------- */

struct boot_case {
	const char *node;
	bool has_profile;
	const char *profile, *source, *image, *kernel, *initrd, *params;
};

static void boot_fixture(struct store *st)
{
	static const char *const g_a[] = {"g-none", "g-one", "g-two", NULL};
	static const char *const g_none[] = {"g-none", NULL};
	json_t *img = image("img", "images/img/vmlinuz", "images/img/initrd", "console=ttyS0");

	json_object_set_new(img, "rootfs", json_string("images/img/rootfs"));
	put_obj(st, STORE_IMAGE, img);
	put_obj(st, STORE_PROFILE, profile("p-node", "img", NULL, NULL, "p=node"));
	put_obj(st, STORE_PROFILE, profile("p-one", "img", NULL, NULL, "p=one"));
	put_obj(st, STORE_PROFILE, profile("p-two", "img", NULL, NULL, "p=two"));
	put_obj(st, STORE_PROFILE, profile("p-def", "img", NULL, NULL, ""));
	put_obj(st, STORE_PROFILE,
		profile("p-direct", NULL, "https://h/vmlinuz", "https://h/initrd", "p=direct"));
	/* an image profile that overrides the kernel */
	put_obj(st, STORE_PROFILE, profile("p-over", "img", "other/vmlinuz", NULL, ""));
	put_obj(st, STORE_GROUP, group("g-none", NULL));
	put_obj(st, STORE_GROUP, group("g-one", "p-one"));
	put_obj(st, STORE_GROUP, group("g-two", "p-two"));
	/* node profile beats its groups */
	put_node(st, node("n-node", 1, "52:54:00:00:00:01", NULL, "p-node", "n=1", g_a));
	/* the first group with a profile */
	put_node(st, node("n-group", 2, "52:54:00:00:00:02", NULL, NULL, "n=2", g_a));
	/* no group has a profile: the default */
	put_node(st, node("n-def", 3, "52:54:00:00:00:03", NULL, NULL, "", g_none));
	put_node(st, node("n-direct", 4, "52:54:00:00:00:04", NULL, "p-direct", "", NULL));
	put_node(st, node("n-over", 5, "52:54:00:00:00:05", NULL, "p-over", "x", NULL));
}

static const struct boot_case boot_cases_no_default[] = {
	{"n-node", true, "p-node", "node", "img", "images/img/vmlinuz", "images/img/initrd",
	 "console=ttyS0 p=node n=1"},
	{"n-group", true, "p-one", "group g-one", "img", "images/img/vmlinuz", "images/img/initrd",
	 "console=ttyS0 p=one n=2"},
	{"n-def", false, "", "", "", NULL, NULL, NULL},
	{"n-direct", true, "p-direct", "node", "", "https://h/vmlinuz", "https://h/initrd",
	 "p=direct"},
	{"n-over", true, "p-over", "node", "img", "other/vmlinuz", "images/img/initrd",
	 "console=ttyS0 x"},
};

static const struct boot_case boot_cases_default[] = {
	{"n-node", true, "p-node", "node", "img", "images/img/vmlinuz", "images/img/initrd",
	 "console=ttyS0 p=node n=1"},
	{"n-group", true, "p-one", "group g-one", "img", "images/img/vmlinuz", "images/img/initrd",
	 "console=ttyS0 p=one n=2"},
	{"n-def", true, "p-def", "default", "img", "images/img/vmlinuz", "images/img/initrd",
	 "console=ttyS0"},
};

static void check_boot(struct store *st, const struct boot_case *c)
{
	struct bootsel b;
	char mac[18];

	assert_int_equal(bootsel_lookup(st, BOOTSEL_NAME, c->node, &b), 0);
	assert_string_equal(b.name, c->node);
	assert_int_equal(b.node_id, node_id(st, c->node));
	if (b.has_profile != c->has_profile)
		fail_msg("%s: has_profile %d, want %d", c->node, b.has_profile, c->has_profile);
	if (c->has_profile) {
		if (strcmp(b.profile, c->profile) != 0 || strcmp(b.source, c->source) != 0)
			fail_msg("%s: profile %s from \"%s\", want %s from \"%s\"", c->node,
				 b.profile, b.source, c->profile, c->source);
		assert_string_equal(b.image, c->image);
		assert_string_equal(b.kernel, c->kernel);
		assert_string_equal(b.initrd, c->initrd);
		if (strcmp(b.params, c->params) != 0)
			fail_msg("%s: params \"%s\", want \"%s\"", c->node, b.params, c->params);
		if (c->image[0] != '\0')
			assert_string_equal(b.rootfs, "images/img/rootfs");
	}
	/* by name, the boot MAC is the first interface's */
	fx_fmt(mac, sizeof(mac), "%s", b.mac);
	assert_int_equal(strlen(mac), 17);
	bootsel_clear(&b);
	/* by MAC and by NID: the same node, same answer */
	assert_int_equal(bootsel_lookup(st, BOOTSEL_MAC, mac, &b), 0);
	assert_string_equal(b.name, c->node);
	assert_string_equal(b.mac, mac);
	assert_int_equal(b.has_profile, c->has_profile);
	if (c->has_profile)
		assert_string_equal(b.profile, c->profile);
	bootsel_clear(&b);
}

static void test_lookup(void **state)
{
	struct fx *f = *state;
	struct bootsel b;
	json_t *d;
	struct store_err e;

	boot_fixture(f->st);
	for (size_t i = 0; i < NELEM(boot_cases_no_default); i++)
		check_boot(f->st, &boot_cases_no_default[i]);

	d = json_pack("{s:s, s:{}, s:s}", "profile", "p-def", "metadata", "user_data", "");
	assert_int_equal(store_defaults_put(f->st, d, &e), 0);
	json_decref(d);
	for (size_t i = 0; i < NELEM(boot_cases_default); i++)
		check_boot(f->st, &boot_cases_default[i]);

	/* by NID */
	assert_int_equal(bootsel_lookup(f->st, BOOTSEL_NID, "2", &b), 0);
	assert_string_equal(b.name, "n-group");
	assert_string_equal(b.mac, "52:54:00:00:00:02");
	assert_true(b.enabled);
	assert_string_equal(b.arch, "x86_64");
	bootsel_clear(&b);
	/* unknown MAC, name, NID */
	assert_int_equal(bootsel_lookup(f->st, BOOTSEL_MAC, "52:54:00:ff:ff:ff", &b), -ENOENT);
	assert_int_equal(bootsel_lookup(f->st, BOOTSEL_NAME, "nope", &b), -ENOENT);
	assert_int_equal(bootsel_lookup(f->st, BOOTSEL_NID, "999", &b), -ENOENT);

	/* a disabled node still resolves, with enabled false */
	json_t *n = NULL;
	assert_int_equal(store_node_get(f->st, "n-node", &n), 0);
	json_object_set_new(n, "enabled", json_false());
	put_node(f->st, n);
	assert_int_equal(bootsel_lookup(f->st, BOOTSEL_NAME, "n-node", &b), 0);
	assert_false(b.enabled);
	bootsel_clear(&b);

	/* the group's profile moves: the node follows */
	json_t *g = group("g-one", NULL);
	put_obj(f->st, STORE_GROUP, g);
	assert_int_equal(bootsel_lookup(f->st, BOOTSEL_NAME, "n-group", &b), 0);
	assert_string_equal(b.profile, "p-two");
	assert_string_equal(b.source, "group g-two");
	assert_string_equal(b.params, "console=ttyS0 p=two n=2");
	bootsel_clear(&b);
}

/* ---- cloud-init layers --------------------------------------------------- */

static void test_cloudinit_layers(void **state)
{
	struct fx *f = *state;
	static const char *const groups[] = {"gz", "ga", NULL};
	struct store_err e;
	json_t *d, *want, *meta = NULL, *ud = NULL, *g, *n;
	char name[64];

	d = json_pack("{s:n, s:{s:i}, s:s}", "profile", "metadata", "lvl", 0, "user_data",
		      "#cloud-config\na: 0\n");
	assert_int_equal(store_defaults_put(f->st, d, &e), 0);
	json_decref(d);

	g = group("ga", NULL);
	json_object_set_new(g, "metadata", json_pack("{s:s}", "lvl", "ga"));
	json_object_set_new(g, "user_data", json_string("#cloud-config\nb: ga\n"));
	put_obj(f->st, STORE_GROUP, g);
	g = group("gz", NULL);
	json_object_set_new(g, "metadata", json_pack("{s:s}", "lvl", "gz"));
	put_obj(f->st, STORE_GROUP, g);
	n = node("cn", 0, "52:54:00:00:00:01", NULL, NULL, "", groups);
	json_object_set_new(n, "metadata", json_pack("{s:s}", "lvl", "node"));
	json_object_set_new(n, "user_data", json_string("#!/bin/sh\n"));
	put_node(f->st, n);

	/* least specific first: defaults, groups in the node's order, node */
	assert_int_equal(bootsel_cloudinit_layers(f->st, node_id(f->st, "cn"), name, sizeof(name),
						  &meta, &ud),
			 0);
	assert_string_equal(name, "cn");
	want = json_pack("[{s:i}, {s:s}, {s:s}, {s:s}]", "lvl", 0, "lvl", "gz", "lvl", "ga", "lvl",
			 "node");
	assert_true(json_equal(meta, want));
	json_decref(want);
	want = json_pack("[s, s, s, s]", "#cloud-config\na: 0\n", "", "#cloud-config\nb: ga\n",
			 "#!/bin/sh\n");
	assert_true(json_equal(ud, want));
	json_decref(want);
	json_decref(meta);
	json_decref(ud);
	assert_int_equal(bootsel_cloudinit_layers(f->st, 424242, name, sizeof(name), &meta, &ud),
			 -ENOENT);

	/* unset defaults are still a layer, an empty one that merges to nothing */
	d = json_pack("{s:n, s:{}, s:s}", "profile", "metadata", "user_data", "");
	assert_int_equal(store_defaults_put(f->st, d, &e), 0);
	json_decref(d);
	assert_int_equal(bootsel_cloudinit_layers(f->st, node_id(f->st, "cn"), name, sizeof(name),
						  &meta, &ud),
			 0);
	want = json_pack("[{}, {s:s}, {s:s}, {s:s}]", "lvl", "gz", "lvl", "ga", "lvl", "node");
	assert_true(json_equal(meta, want));
	json_decref(want);
	assert_string_equal(json_string_value(json_array_get(ud, 0)), "");
	json_decref(meta);
	json_decref(ud);
}

/* Defaults naming a profile that is gone (set behind the API's back): nothing to boot. */
static void test_default_gone(void **state)
{
	struct fx *f = *state;
	struct bootsel b;

	put_node(f->st, node("lonely", 0, "52:54:00:00:00:09", NULL, NULL, "", NULL));
	assert_int_equal(store_setting_set(f->st, "default_profile", "ghost"), 0);
	assert_int_equal(bootsel_lookup(f->st, BOOTSEL_NAME, "lonely", &b), 0);
	assert_false(b.has_profile);
	assert_string_equal(b.source, "none");
	assert_null(b.kernel);
	bootsel_clear(&b);
	/* by row id, as the file server asks; a gone id is no node */
	char id[24];
	fx_fmt(id, sizeof(id), "%lld", (long long)node_id(f->st, "lonely"));
	assert_int_equal(bootsel_lookup(f->st, BOOTSEL_ID, id, &b), 0);
	assert_string_equal(b.name, "lonely");
	bootsel_clear(&b);
	assert_int_equal(bootsel_lookup(f->st, BOOTSEL_ID, "424242", &b), -ENOENT);
}

/* ---- threads ----------------------------------------------------------------- */

struct reader {
	struct store *st;
	int failed;
};

/* Each reader resolves n-node and n-group 200 times while the main thread writes. */
static void *reader_run(void *arg)
{
	struct reader *r = arg;

	for (int i = 0; i < 200; i++) {
		struct bootsel b;

		if (bootsel_lookup(r->st, BOOTSEL_MAC, "52:54:00:00:00:01", &b) != 0 ||
		    strcmp(b.profile, "p-node") != 0 ||
		    strcmp(b.params, "console=ttyS0 p=node n=1"))
			r->failed++;
		bootsel_clear(&b);
		if (bootsel_lookup(r->st, BOOTSEL_NAME, "n-group", &b) != 0 || !b.has_profile)
			r->failed++;
		bootsel_clear(&b);
		store_release(r->st);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fx *f = *state;
	pthread_t t[3];
	struct reader r[3];

	boot_fixture(f->st);
	for (int i = 0; i < 3; i++) {
		r[i] = (struct reader){f->st, 0};
		assert_int_equal(pthread_create(&t[i], NULL, reader_run, &r[i]), 0);
	}
	/* meanwhile: other nodes come and go */
	for (int i = 0; i < 40; i++) {
		char name[16], mac[18];

		fx_fmt(name, sizeof(name), "w%02d", i);
		fx_fmt(mac, sizeof(mac), "52:54:00:00:10:%02x", i);
		put_node(f->st, node(name, 0, mac, NULL, "p-two", "", NULL));
		if (i % 2)
			assert_int_equal(store_node_delete(f->st, name), 0);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i].failed, 0);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick_profile),
		cmocka_unit_test(test_join_params),
		T(test_lookup),
		T(test_default_gone),
		T(test_cloudinit_layers),
		T(test_threads),
	};
#undef T

	return cmocka_run_group_tests_name("bootsel", tests, NULL, NULL) != 0;
}
