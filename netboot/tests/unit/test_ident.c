/*
 * Unit tests for ident (node identity on the node-facing paths) over a real
 * store: who may have a node's boot script by MAC, by name or NID, and
 * which node a source address alone names.  Leases are written as
 * corral-dhcp-hook writes them (store_lease_set); one expired lease shows
 * that only current ones count.
 *
 * The world: a has one interface with a current lease on 10.0.0.1;
 * b has two interfaces, one reserving 10.0.0.2, the other leased
 * 10.0.0.3; c has an interface with no address known (a first boot before
 * the hook, or no DHCP here); d's lease on 10.0.0.9 expired; an unknown
 * machine holds 10.0.0.5; 10.0.0.6 is leased to c's second interface and
 * reserved by b's third (two machines on one address).
 */
#include "storefix.h"

#include "ident.h"

#define NOW 1700000000

static void world(struct store *st)
{
	json_t *b = node("b", 0, "52:54:00:00:00:b1", "10.0.0.2", NULL, "", NULL);
	json_array_append_new(json_object_get(b, "interfaces"),
			      json_pack("{s:s, s:n}", "mac", "52:54:00:00:00:b2", "ip"));
	json_array_append_new(
		json_object_get(b, "interfaces"),
		json_pack("{s:s, s:s}", "mac", "52:54:00:00:00:b3", "ip", "10.0.0.6"));
	json_t *c = node("c", 0, "52:54:00:00:00:c1", NULL, NULL, "", NULL);
	json_array_append_new(json_object_get(c, "interfaces"),
			      json_pack("{s:s, s:n}", "mac", "52:54:00:00:00:c2", "ip"));
	put_node(st, node("a", 0, "52:54:00:00:00:a1", NULL, NULL, "", NULL));
	put_node(st, b);
	put_node(st, c);
	put_node(st, node("d", 0, "52:54:00:00:00:d1", NULL, NULL, "", NULL));
	static const struct {
		const char *mac, *ip;
		int64_t expires;
	} leases[] = {
		{"52:54:00:00:00:a1", "10.0.0.1", NOW + 60},
		{"52:54:00:00:00:b2", "10.0.0.3", NOW + 60},
		{"52:54:00:00:00:d1", "10.0.0.9", NOW - 1},
		{"52:54:00:00:ff:01", "10.0.0.5", NOW + 60},
		{"52:54:00:00:00:c2", "10.0.0.6", NOW + 60},
	};
	for (size_t i = 0; i < NELEM(leases); i++)
		assert_int_equal(
			store_lease_set(st, leases[i].mac, leases[i].ip, leases[i].expires, "", ""),
			0);
}

static int64_t id_of(struct store *st, const char *name)
{
	int64_t id = 0;
	assert_int_equal(store_node_id(st, name, &id), 0);
	return id;
}

struct mac_case {
	const char *node, *mac, *src;
	int rc;
	const char *why; /* a piece of the reason, for refusals */
};

static const struct mac_case mac_cases[] = {
	{"a", "52:54:00:00:00:a1", "10.0.0.1", 0, NULL},
	{"a", "52:54:00:00:00:a1", "10.0.0.7", -EACCES, "DHCP lease is 10.0.0.1"},
	{"b", "52:54:00:00:00:b1", "10.0.0.2", 0, NULL},
	/* b1 only reserves 10.0.0.2: no lease, so any address but another machine's */
	{"b", "52:54:00:00:00:b1", "10.0.0.3", 0, NULL},
	{"b", "52:54:00:00:00:b1", "10.0.0.1", -EACCES, "another machine holds"},
	{"b", "52:54:00:00:00:b2", "10.0.0.3", 0, NULL},
	/* no address known for c1: anywhere but another machine's */
	{"c", "52:54:00:00:00:c1", "10.0.0.7", 0, NULL},
	{"c", "52:54:00:00:00:c1", "10.0.0.1", -EACCES, "another machine holds"},
	{"c", "52:54:00:00:00:c1", "10.0.0.5", -EACCES, "another machine holds"},
	{"c", "52:54:00:00:00:c1", "10.0.0.6", -EACCES, "another machine holds"},
	/* d's lease expired: as if none */
	{"d", "52:54:00:00:00:d1", "10.0.0.8", 0, NULL},
	{"d", "52:54:00:00:00:d1", "10.0.0.9", 0, NULL},
};

static void test_mac(void **state)
{
	struct fx *f = *state;
	world(f->st);
	for (size_t i = 0; i < NELEM(mac_cases); i++) {
		const struct mac_case *c = &mac_cases[i];
		char why[320] = "";
		int rc = ident_check_mac(f->st, c->mac, id_of(f->st, c->node), c->src, NOW, why,
					 sizeof(why));
		if (rc != c->rc || (c->why != NULL && strstr(why, c->why) == NULL))
			fail_msg("%s from %s: %d \"%s\", want %d \"%s\"", c->mac, c->src, rc, why,
				 c->rc, c->why ? c->why : "");
	}
}

struct node_case {
	const char *node, *src;
	int rc;
};

static const struct node_case node_cases[] = {
	{"a", "10.0.0.1", 0},        {"a", "10.0.0.2", -EACCES}, {"b", "10.0.0.2", 0},
	{"b", "10.0.0.3", 0},        {"b", "10.0.0.6", -EACCES}, /* c holds it too */
	{"c", "10.0.0.6", -EACCES},  {"c", "10.0.0.7", -EACCES}, /* no address known */
	{"d", "10.0.0.9", -EACCES},                              /* expired */
	{NULL, "10.0.0.1", -EACCES},                             /* no such node */
};

static void test_node(void **state)
{
	struct fx *f = *state;
	world(f->st);
	for (size_t i = 0; i < NELEM(node_cases); i++) {
		const struct node_case *c = &node_cases[i];
		char why[320] = "";
		int rc = ident_check_node(f->st, c->node ? id_of(f->st, c->node) : 0, c->src, NOW,
					  why, sizeof(why));
		if (rc != c->rc)
			fail_msg("%s from %s: %d (%s), want %d", c->node ? c->node : "(none)",
				 c->src, rc, why, c->rc);
		if (rc < 0 && strstr(why, c->src) == NULL)
			fail_msg("%s from %s: the reason does not name the address: %s",
				 c->node ? c->node : "(none)", c->src, why);
	}
}

struct addr_case {
	const char *src;
	int rc;
	const char *node;
};

static const struct addr_case addr_cases[] = {
	{"10.0.0.1", 0, "a"},          {"10.0.0.2", 0, "b"},
	{"10.0.0.3", 0, "b"},          {"10.0.0.5", -ENOENT, NULL}, /* an unknown machine only */
	{"10.0.0.6", -ENOTUNIQ, NULL}, /* b reserves it, c is leased it */
	{"10.0.0.7", -ENOENT, NULL},   {"10.0.0.9", -ENOENT, NULL}, /* expired */
};

static void test_address(void **state)
{
	struct fx *f = *state;
	world(f->st);
	for (size_t i = 0; i < NELEM(addr_cases); i++) {
		const struct addr_case *c = &addr_cases[i];
		char why[320] = "";
		int64_t got = 0;
		int rc = ident_by_address(f->st, c->src, NOW, &got, why, sizeof(why));
		if (rc != c->rc || (c->node != NULL && got != id_of(f->st, c->node)))
			fail_msg("%s: %d node %lld, want %d %s", c->src, rc, (long long)got, c->rc,
				 c->node ? c->node : "");
		if (rc == -ENOTUNIQ && strstr(why, "held by 2 machines") == NULL)
			fail_msg("%s: %s", c->src, why);
	}
}

/* Two interfaces of one node on one address are one machine: no conflict. */
static void test_one_node_two_interfaces(void **state)
{
	struct fx *f = *state;
	char why[320];
	int64_t got = 0;
	world(f->st);
	assert_int_equal(store_lease_set(f->st, "52:54:00:00:00:b1", "10.0.0.2", NOW + 60, "", ""),
			 0);
	assert_int_equal(ident_by_address(f->st, "10.0.0.2", NOW, &got, why, sizeof(why)), 0);
	assert_int_equal(got, id_of(f->st, "b"));
	assert_int_equal(ident_check_node(f->st, got, "10.0.0.2", NOW, why, sizeof(why)), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mac),
		T(test_node),
		T(test_address),
		T(test_one_node_two_interfaces),
	};
#undef T
	return cmocka_run_group_tests_name("ident", tests, NULL, NULL) != 0;
}
