/*
 * Unit tests for the store's boot events (store_event.c), discovered
 * machines (store_discovered.c) and DHCP side (store_lease.c: host entries
 * and the lease database), against a real SQLite file (storefix.h).
 */
#include "storefix.h"

#include "buf.h"

/* ---- events and discovered machines ------------------------------------- */

static void test_events(void **state)
{
	struct fx *f = *state;
	const int64_t t0 = 1764072000000000LL; /* 2025-11-25T12:00:00Z */
	struct store_event ev[4];
	json_t *list = NULL, *n = NULL;
	int64_t id, by_ip = 0;
	char stages[128];

	put_node(f->st, node("n1", 0, "52:54:00:00:00:01", NULL, NULL, "", NULL));
	id = node_id(f->st, "n1");
	/* written out of time order; one batch */
	ev[0] = event(id, t0 + 2000000, "kernel", "10.0.0.50", "k", "", NULL);
	ev[1] = event(id, t0, "bootscript", "10.0.0.50", "first", "52:54:00:00:00:01", "booting");
	ev[2] = event(id, t0 + 1000, "initrd", "10.0.0.50", "i", "", NULL);
	ev[3] = event(id, t0 + 3000000, "phone-home", "10.0.0.50", "done", "", "ready");
	assert_int_equal(store_events_write(f->st, ev, 4), 0);

	assert_int_equal(store_events_list(f->st, id, 1000, &list), 0);
	assert_int_equal(json_array_size(list), 4);
	size_t i, len = 0;
	json_t *x;
	json_array_foreach(list, i, x) {
		fx_fmt(stages + len, sizeof(stages) - len, "%s%s", i ? "," : "",
		       json_string_value(json_object_get(x, "stage")));
		len += strlen(stages + len);
	}
	assert_string_equal(stages, "bootscript,initrd,kernel,phone-home");
	x = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(x, "time")),
			    "2025-11-25T12:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(x, "source")), "10.0.0.50");
	assert_string_equal(json_string_value(json_object_get(x, "detail")), "first");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "time")),
			    "2025-11-25T12:00:00.001Z");
	json_decref(list);

	/* a limit keeps the newest, still oldest first */
	assert_int_equal(store_events_list(f->st, id, 2, &list), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "stage")),
			    "kernel");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "stage")),
			    "phone-home");
	json_decref(list);

	/* the node's state and last event; its last-seen IP finds it */
	assert_int_equal(store_node_get(f->st, "n1", &n), 0);
	assert_string_equal(json_string_value(json_object_get(n, "state")), "ready");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(n, "last_event"), "stage")),
		"phone-home");
	json_decref(n);
	assert_int_equal(store_node_by_ip(f->st, "10.0.0.50", &by_ip), 0);
	assert_int_equal(by_ip, id);

	/* prune by age */
	assert_int_equal(store_events_prune(f->st, t0 + 2000000, 1000), 0);
	assert_int_equal(store_events_list(f->st, id, 1000, &list), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "stage")),
			    "kernel");
	json_decref(list);
	/* and per node: only the newest survive */
	assert_int_equal(store_events_prune(f->st, 0, 1), 0);
	assert_int_equal(store_events_list(f->st, id, 1000, &list), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "stage")),
			    "phone-home");
	json_decref(list);

	/* an event for a node deleted meanwhile is dropped, not an error */
	assert_int_equal(store_node_delete(f->st, "n1"), 0);
	ev[0] = event(id, t0, "kernel", "10.0.0.50", "", "", NULL);
	assert_int_equal(store_events_write(f->st, ev, 1), 0);
	assert_int_equal(store_events_list(f->st, id, 1000, &list), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

static void test_discovered(void **state)
{
	struct fx *f = *state;
	struct store_event ev[3];
	json_t *list = NULL, *d;
	int64_t t = store_now_us();

	ev[0] = event(0, t, "unknown", "10.0.0.77", "", "52:54:00:00:00:77", NULL);
	ev[1] = event(0, t + 10, "unknown", "10.0.0.88", "", "52:54:00:00:00:88", NULL);
	ev[2] = event(0, t + 20, "unknown", "10.0.0.78", "", "52:54:00:00:00:77", NULL);
	assert_int_equal(store_events_write(f->st, ev, 3), 0);
	assert_int_equal(store_discovered_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 2);
	/* newest first */
	d = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(d, "mac")), "52:54:00:00:00:77");
	assert_string_equal(json_string_value(json_object_get(d, "ip")), "10.0.0.78");
	assert_int_equal(json_integer_value(json_object_get(d, "requests")), 2);
	assert_true(json_is_string(json_object_get(d, "first_seen")));
	assert_true(json_is_string(json_object_get(d, "last_seen")));
	json_decref(list);
	assert_int_equal(store_discovered_exists(f->st, "52:54:00:00:00:77"), 0);

	/* a node with that MAC: no longer unknown */
	put_node(f->st, node("adopted", 0, "52:54:00:00:00:77", NULL, NULL, "", NULL));
	assert_int_equal(store_discovered_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "mac")),
			    "52:54:00:00:00:88");
	json_decref(list);
	assert_int_equal(store_discovered_exists(f->st, "52:54:00:00:00:77"), -ENOENT);

	/* forget one */
	assert_int_equal(store_discovered_delete(f->st, "52:54:00:00:00:88"), 0);
	assert_int_equal(store_discovered_delete(f->st, "52:54:00:00:00:88"), -ENOENT);
	assert_int_equal(store_discovered_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

/* ---- DHCP host entries and leases --------------------------------------- */

static void test_dhcp_hosts(void **state)
{
	struct fx *f = *state;
	struct store_dhcp_host *h = NULL;
	size_t n = 0;
	json_t *nd;

	assert_int_equal(store_dhcp_hosts(f->st, &h, &n), 0);
	assert_int_equal(n, 0);
	free(h);
	nd = node("h1", 0, "52:54:00:00:00:02", "10.0.0.2", NULL, "", NULL);
	json_array_append_new(json_object_get(nd, "interfaces"),
			      json_pack("{s:s, s:n}", "mac", "52:54:00:00:00:01", "ip"));
	json_object_set_new(nd, "ipxe_efi", json_string("ipxe.efi"));
	json_object_set_new(nd, "enabled", json_false());
	put_node(f->st, nd);

	/* one per interface, by MAC; the name on the boot (first) interface only */
	assert_int_equal(store_dhcp_hosts(f->st, &h, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(h[0].mac, "52:54:00:00:00:01");
	assert_string_equal(h[0].ip, "");
	assert_string_equal(h[0].name, "");
	assert_string_equal(h[1].mac, "52:54:00:00:00:02");
	assert_string_equal(h[1].ip, "10.0.0.2");
	assert_string_equal(h[1].name, "h1");
	for (size_t i = 0; i < 2; i++) {
		assert_false(h[i].enabled);
		assert_true(h[i].ipxe_full);
	}
	free(h);
}

static void test_leases(void **state)
{
	struct fx *f = *state;
	struct buf b;

	assert_int_equal(store_lease_set(f->st, "52:54:00:00:00:01", "10.0.0.1", 2000, "n1", NULL),
			 0);
	assert_int_equal(
		store_lease_set(f->st, "52:54:00:00:00:02", "10.0.0.2", 1000, NULL, "ff:1"), 0);
	assert_int_equal(store_lease_same(f->st, "52:54:00:00:00:01", "10.0.0.1", 2001), 1);
	assert_int_equal(store_lease_same(f->st, "52:54:00:00:00:01", "10.0.0.1", 2002), 0);
	assert_int_equal(store_lease_same(f->st, "52:54:00:00:00:01", "10.0.0.9", 2000), 0);

	/* unexpired ones only, in dnsmasq's format, "*" for what is unknown */
	buf_init(&b, 4096);
	assert_int_equal(store_leases(f->st, 500, &b), 0);
	assert_string_equal(buf_str(&b), "2000 52:54:00:00:00:01 10.0.0.1 n1 *\n"
					 "1000 52:54:00:00:00:02 10.0.0.2 * ff:1\n");
	buf_reset(&b);
	assert_int_equal(store_leases(f->st, 1500, &b), 0);
	assert_string_equal(buf_str(&b), "2000 52:54:00:00:00:01 10.0.0.1 n1 *\n");
	buf_clear(&b);
	/* a cap too small for the list */
	buf_init(&b, 8);
	assert_int_equal(store_leases(f->st, 0, &b), -E2BIG);
	buf_clear(&b);

	/* renewed in place, then released */
	assert_int_equal(store_lease_set(f->st, "52:54:00:00:00:01", "10.0.0.1", 3000, "n1", ""),
			 0);
	assert_int_equal(store_lease_same(f->st, "52:54:00:00:00:01", "10.0.0.1", 3000), 1);
	assert_int_equal(store_lease_del(f->st, "52:54:00:00:00:01"), 0);
	assert_int_equal(store_lease_same(f->st, "52:54:00:00:00:01", "10.0.0.1", 3000), 0);
	buf_init(&b, 4096);
	assert_int_equal(store_leases(f->st, 0, &b), 0);
	assert_string_equal(buf_str(&b), "1000 52:54:00:00:00:02 10.0.0.2 * ff:1\n");
	buf_clear(&b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_events),
		T(test_discovered),
		T(test_dhcp_hosts),
		T(test_leases),
	};
#undef T

	return cmocka_run_group_tests_name("store_events", tests, NULL, NULL) != 0;
}
