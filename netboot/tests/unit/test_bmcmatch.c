/*
 * Unit tests for bmcmatch, the BMC ↔ node rules: how a system's MAC
 * owners decide what it is (new node, link, conflict), how a new node is
 * named, and bmcmatch_record() against a real store (storefix.h): nodes
 * made, linked and extended, a MAC owned by another node is a conflict
 * that changes nothing, a BMC that is not "ok" keeps its systems, and a
 * discovery that cannot be stored leaves no trace.
 */
#include "bmcmatch.h"
#include "storefix.h"

/* ---- the rules, as pure functions ---------------------------------------- */

struct classify_case {
	const char *what;
	int64_t owners[4];
	size_t n;
	enum bmcmatch_verdict want;
	int64_t node;
};

static const struct classify_case classify_cases[] = {
	{"no MACs", {0}, 0, BMCMATCH_NO_MACS, 0},
	{"one free MAC", {0}, 1, BMCMATCH_NEW, 0},
	{"all free", {0, 0, 0}, 3, BMCMATCH_NEW, 0},
	{"one owned", {7}, 1, BMCMATCH_LINK, 7},
	{"owned and free", {0, 7, 0}, 3, BMCMATCH_LINK, 7},
	{"all the same owner", {7, 7}, 2, BMCMATCH_LINK, 7},
	{"a MAC of another node", {7, 9}, 2, BMCMATCH_SPREAD, 7},
	{"another node after a free one", {0, 9, 0, 7}, 4, BMCMATCH_SPREAD, 9},
	{"another node at the end", {7, 7, 0, 8}, 4, BMCMATCH_SPREAD, 7},
};

static void test_classify(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(classify_cases); i++) {
		const struct classify_case *c = &classify_cases[i];
		int64_t node = -1;
		enum bmcmatch_verdict v = bmcmatch_classify(c->owners, c->n, &node);

		if (v != c->want || node != c->node)
			fail_msg("%s: verdict %d node %lld, want %d node %lld", c->what, (int)v,
				 (long long)node, (int)c->want, (long long)c->node);
	}
}

struct name_case {
	const char *host, *address;
	size_t nsys, idx;
	const char *want;
};

static const struct name_case name_cases[] = {
	{"node07", "10.0.0.5", 1, 0, "node07"},
	{"Node_7-a", "10.0.0.5", 2, 1, "Node_7-a"},
	{NULL, "10.0.0.5", 1, 0, "bmc-10-0-0-5"},
	{"", "10.0.0.5", 1, 0, "bmc-10-0-0-5"},
	{"node07.lab", "10.0.0.5", 1, 0, "bmc-10-0-0-5"},   /* dots: not a node name */
	{"has space", "10.0.0.5", 3, 2, "bmc-10-0-0-5-s3"}, /* several systems */
	{NULL, "fd00::5", 1, 0, "bmc-fd00--5"},             /* IPv6 */
	{NULL, NULL, 2, 0, "bmc-x-s1"},                     /* no address */
	{"a23456789012345678901234567890123456789012345678", "10.0.0.5", 1, 0,
	 "bmc-10-0-0-5"}, /* 48 bytes: too long */
	{"a2345678901234567890123456789012345678901234567", "10.0.0.5", 1, 0,
	 "a2345678901234567890123456789012345678901234567"}, /* 47 */
	{NULL, "bmc.with.a.very.long.name.that.goes.on.and.on.example", 2, 1,
	 "bmc-bmc-with-a-very-long-name-that-goes-on-a-s2"}, /* address cut at 40 */
};

static void test_base_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(name_cases); i++) {
		const struct name_case *c = &name_cases[i];
		char got[64];

		assert_int_equal(
			bmcmatch_base_name(c->host, c->address, c->nsys, c->idx, got, sizeof(got)),
			0);
		if (strcmp(got, c->want) != 0)
			fail_msg("name case %zu: \"%s\", want \"%s\"", i, got, c->want);
	}
	char tiny[8];
	assert_int_equal(bmcmatch_base_name("node07xy", "10.0.0.5", 1, 0, tiny, sizeof(tiny)),
			 -E2BIG);
	assert_int_equal(bmcmatch_base_name(NULL, "10.0.0.5", 1, 0, tiny, sizeof(tiny)), -E2BIG);
}

/* ---- bmcmatch_record against a store ----------------------------------- */

/* A system: path, host name (NULL: none) and its MACs ("" ends the list). */
static json_t *system_of(const char *path, const char *host, const char *const *macs)
{
	json_t *s = json_pack("{s:s, s:s?, s:[]}", "path", path, "hostname", host, "macs");

	for (size_t i = 0; macs[i] != NULL; i++)
		json_array_append_new(json_object_get(s, "macs"), json_string(macs[i]));
	return s;
}

static json_t *bmc_of(const char *address, const char *status)
{
	return json_pack("{s:s, s:i, s:s, s:b, s:s, s:s, s:s, s:n, s:n, s:n, s:n, s:n, s:[]}",
			 "address", address, "port", 443, "scheme", "https", "insecure", 1,
			 "credential", "lab", "status", status, "message", "", "mac", "vendor",
			 "model", "uuid", "firmware", "systems");
}

static json_t *report_new(void)
{
	return json_pack("{s:[], s:[], s:[]}", "nodes_created", "nodes_updated", "conflicts");
}

/* The report's array key as "a,b" (strings, or objects' "system"). */
static void report_list(json_t *report, const char *key, char *out, size_t len)
{
	size_t i, n = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(json_object_get(report, key), i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) :
						    json_string_value(json_object_get(v, "system"));
		int k = snprintf(out + n, len - n, "%s%s", i ? "," : "", s);
		assert_true(k > 0 && (size_t)k < len - n);
		n += (size_t)k;
	}
}

/* The node a BMC system is linked to, per store_bmc_list ("" none). */
static void linked(struct store *st, const char *path, char *out, size_t len)
{
	json_t *list = NULL, *b, *s;
	size_t i, k;

	out[0] = '\0';
	assert_int_equal(store_bmc_list(st, &list), 0);
	json_array_foreach(list, i, b) {
		json_array_foreach(json_object_get(b, "systems"), k, s) {
			const char *node = json_string_value(json_object_get(s, "node"));
			if (strcmp(json_string_value(json_object_get(s, "path")), path) == 0)
				fx_fmt(out, len, "%s", node ? node : "");
		}
	}
	json_decref(list);
}

static void record(struct store *st, json_t *bmc, json_t *report)
{
	int rc = bmcmatch_record(st, bmc, report);

	if (rc != 0)
		fail_msg("bmcmatch_record: %d (%s)", rc, store_errmsg());
}

/* New systems become nodes, named by host name or after the BMC, made unique. */
static void test_record_new(void **state)
{
	struct fx *f = *state;
	static const char *const m1[] = {"52:54:00:00:01:01", "52:54:00:00:01:02", NULL};
	static const char *const m2[] = {"52:54:00:00:02:01", NULL};
	static const char *const m3[] = {"52:54:00:00:03:01", NULL};
	json_t *b = bmc_of("10.0.0.5", "ok"), *r = report_new(), *n = NULL;
	uint64_t gen = store_generation(f->st);
	char got[256];

	put_node(f->st, node("bmc-10-0-0-5-s2", 0, "52:54:00:00:09:09", NULL, NULL, "", NULL));
	gen = store_generation(f->st);
	json_array_append_new(json_object_get(b, "systems"), system_of("/S/1", "cn01", m1));
	json_array_append_new(json_object_get(b, "systems"), system_of("/S/2", "bad.name", m2));
	json_array_append_new(json_object_get(b, "systems"), system_of("/S/3", NULL, m3));
	record(f->st, b, r);
	report_list(r, "nodes_created", got, sizeof(got));
	assert_string_equal(got, "cn01,bmc-10-0-0-5-s2-2,bmc-10-0-0-5-s3");
	report_list(r, "conflicts", got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(store_generation(f->st), gen + 1); /* one transaction */

	/* the node as made: both MACs, its BMC in metadata; linked */
	assert_int_equal(store_node_get(f->st, "cn01", &n), 0);
	json_t *want = json_pack("[{s:s, s:n}, {s:s, s:n}]", "mac", "52:54:00:00:01:01", "ip",
				 "mac", "52:54:00:00:01:02", "ip");
	assert_true(json_equal(json_object_get(n, "interfaces"), want));
	json_decref(want);
	want = json_pack("{s:s, s:s}", "bmc", "10.0.0.5", "system", "/S/1");
	assert_true(json_equal(json_object_get(n, "metadata"), want));
	json_decref(want);
	assert_true(json_is_true(json_object_get(n, "enabled")));
	json_decref(n);
	linked(f->st, "/S/1", got, sizeof(got));
	assert_string_equal(got, "cn01");
	linked(f->st, "/S/2", got, sizeof(got));
	assert_string_equal(got, "bmc-10-0-0-5-s2-2");
	json_decref(r);

	/* the same again: every system links to its node, nothing changes */
	r = report_new();
	gen = store_generation(f->st);
	record(f->st, b, r);
	report_list(r, "nodes_created", got, sizeof(got));
	assert_string_equal(got, "");
	report_list(r, "nodes_updated", got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(store_generation(f->st), gen);
	linked(f->st, "/S/3", got, sizeof(got));
	assert_string_equal(got, "bmc-10-0-0-5-s3");
	json_decref(r);
	json_decref(b);
}

/* A known node gets the system's free MACs; MACs of two nodes are a conflict. */
static void test_record_link_conflict(void **state)
{
	struct fx *f = *state;
	static const char *const grow[] = {"52:54:00:00:00:01", "52:54:00:00:00:0a", NULL};
	static const char *const spread[] = {"52:54:00:00:00:02", "52:54:00:00:00:03",
					     "52:54:00:00:00:0b", NULL};
	static const char *const none[] = {NULL};
	json_t *b = bmc_of("10.0.0.6", "ok"), *r = report_new(), *n = NULL;
	char got[256];

	put_node(f->st, node("a", 0, "52:54:00:00:00:01", NULL, NULL, "", NULL));
	put_node(f->st, node("b", 0, "52:54:00:00:00:02", NULL, NULL, "", NULL));
	put_node(f->st, node("c", 0, "52:54:00:00:00:03", NULL, NULL, "", NULL));
	json_array_append_new(json_object_get(b, "systems"), system_of("/S/grow", "x", grow));
	json_array_append_new(json_object_get(b, "systems"), system_of("/S/spread", "y", spread));
	json_array_append_new(json_object_get(b, "systems"), system_of("/S/none", "z", none));
	record(f->st, b, r);

	report_list(r, "nodes_updated", got, sizeof(got));
	assert_string_equal(got, "a");
	report_list(r, "nodes_created", got, sizeof(got));
	assert_string_equal(got, "");
	report_list(r, "conflicts", got, sizeof(got));
	assert_string_equal(got, "/S/spread,/S/none");
	json_t *c = json_array_get(json_object_get(r, "conflicts"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "node")), "b");
	assert_non_null(strstr(json_string_value(json_object_get(c, "message")), "several"));
	assert_null(json_object_get(json_array_get(json_object_get(r, "conflicts"), 1), "node"));

	/* a grew, b and c did not, the free MAC of the conflict stays free */
	assert_int_equal(store_node_get(f->st, "a", &n), 0);
	assert_int_equal(json_array_size(json_object_get(n, "interfaces")), 2);
	json_decref(n);
	assert_int_equal(store_node_get(f->st, "b", &n), 0);
	assert_int_equal(json_array_size(json_object_get(n, "interfaces")), 1);
	json_decref(n);
	assert_int_equal(store_node_by_mac(f->st, "52:54:00:00:00:0b", &(int64_t){0}), -ENOENT);
	linked(f->st, "/S/grow", got, sizeof(got));
	assert_string_equal(got, "a");
	linked(f->st, "/S/spread", got, sizeof(got));
	assert_string_equal(got, "");
	json_decref(r);
	json_decref(b);
}

/*
 * A system linked to its node, whose MACs are then spread over two nodes
 * (or reported no more): a conflict, and the link stays, so power and
 * boot still reach the node.
 */
static void test_record_conflict_keeps_link(void **state)
{
	struct fx *f = *state;
	static const char *const both[] = {"52:54:00:00:00:01", "52:54:00:00:00:02", NULL};
	static const char *const none[] = {NULL};
	json_t *b = bmc_of("10.0.0.9", "ok"), *r = report_new(), *n = NULL;
	char got[256];

	json_array_append_new(json_object_get(b, "systems"), system_of("/S/1", "cn7", both));
	record(f->st, b, r);
	json_decref(r);
	linked(f->st, "/S/1", got, sizeof(got));
	assert_string_equal(got, "cn7");

	/* the second MAC moves to another node */
	assert_int_equal(store_node_get(f->st, "cn7", &n), 0);
	json_array_remove(json_object_get(n, "interfaces"), 1);
	put_node(f->st, n);
	put_node(f->st, node("moved", 0, "52:54:00:00:00:02", NULL, NULL, "", NULL));
	r = report_new();
	record(f->st, b, r);
	report_list(r, "conflicts", got, sizeof(got));
	assert_string_equal(got, "/S/1");
	linked(f->st, "/S/1", got, sizeof(got));
	assert_string_equal(got, "cn7");
	json_decref(r);

	/* a walk that finds no MAC: a conflict too, the link stays */
	json_array_clear(json_object_get(b, "systems"));
	json_array_append_new(json_object_get(b, "systems"), system_of("/S/1", "cn7", none));
	r = report_new();
	record(f->st, b, r);
	report_list(r, "conflicts", got, sizeof(got));
	assert_string_equal(got, "/S/1");
	linked(f->st, "/S/1", got, sizeof(got));
	assert_string_equal(got, "cn7");
	json_decref(r);
	json_decref(b);
}

/* A BMC that is not "ok" is recorded and keeps its systems; it makes nothing. */
static void test_record_not_ok(void **state)
{
	struct fx *f = *state;
	static const char *const m[] = {"52:54:00:00:00:01", NULL};
	json_t *b = bmc_of("10.0.0.7", "ok"), *r = report_new(), *list = NULL;
	char got[256];

	json_array_append_new(json_object_get(b, "systems"), system_of("/S/1", "keep", m));
	record(f->st, b, r);
	json_decref(r);
	json_object_set_new(b, "status", json_string("auth_failed"));
	json_array_clear(json_object_get(b, "systems"));
	json_array_append_new(
		json_object_get(b, "systems"),
		system_of("/S/2", "other", (const char *const[]){"52:54:00:00:00:02", NULL}));
	r = report_new();
	record(f->st, b, r);
	report_list(r, "nodes_created", got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(store_node_get(f->st, "other", &(json_t *){NULL}), -ENOENT);
	assert_int_equal(store_bmc_list(f->st, &list), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "status")),
			    "auth_failed");
	json_decref(list);
	linked(f->st, "/S/1", got, sizeof(got));
	assert_string_equal(got, "keep");
	json_decref(r);
	json_decref(b);
}

/* A discovery that cannot be stored whole is not stored at all. */
static void test_record_all_or_nothing(void **state)
{
	struct fx *f = *state;
	static const char *const ok[] = {"52:54:00:00:00:01", NULL};
	static const char *const twice[] = {"52:54:00:00:00:02", "52:54:00:00:00:02", NULL};
	json_t *b = bmc_of("10.0.0.8", "ok"), *r = report_new(), *list = NULL;
	uint64_t gen = store_generation(f->st);

	json_array_append_new(json_object_get(b, "systems"), system_of("/S/1", "fine", ok));
	json_array_append_new(json_object_get(b, "systems"), system_of("/S/2", "dup", twice));
	assert_int_equal(bmcmatch_record(f->st, b, r), -EEXIST);
	assert_int_equal(store_node_get(f->st, "fine", &(json_t *){NULL}), -ENOENT);
	assert_int_equal(store_bmc_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_int_equal(store_generation(f->st), gen);
	/* and the store is usable after */
	put_node(f->st, node("after", 0, "52:54:00:00:00:03", NULL, NULL, "", NULL));
	json_decref(r);
	json_decref(b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_base_name),
		T(test_record_new),
		T(test_record_link_conflict),
		T(test_record_conflict_keeps_link),
		T(test_record_not_ok),
		T(test_record_all_or_nothing),
	};
#undef T

	return cmocka_run_group_tests_name("bmcmatch", tests, NULL, NULL) != 0;
}
