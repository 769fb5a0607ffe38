/*
 * Unit tests for the store's Redfish rows against a real SQLite file
 * (storefix.h): credentials (store_cred.c: the secret comes back as put,
 * never in a list, a credential in use is not deleted) and BMCs with their
 * systems (store_bmc.c: put by address and port, systems replaced, linked
 * to nodes, a node's BMC and power state).  Which node a system is, is
 * bmcmatch's rule (test_bmcmatch.c).
 */
#include "storefix.h"

static void test_credentials(void **state)
{
	struct fx *f = *state;
	static const unsigned char secret[] = {0, 1, 2, 250, 251, 252};
	unsigned char back[64];
	char user[128];
	size_t len = sizeof(back);
	json_t *list = NULL, *c;

	assert_int_equal(store_cred_put(f->st, "lab", "root", secret, sizeof(secret)), 0);
	assert_int_equal(store_cred_get(f->st, "lab", user, sizeof(user), back, &len), 0);
	assert_string_equal(user, "root");
	assert_int_equal(len, sizeof(secret));
	assert_memory_equal(back, secret, sizeof(secret));
	/* a buffer too small for the secret, or the user name */
	len = 2;
	assert_int_equal(store_cred_get(f->st, "lab", user, sizeof(user), back, &len), -E2BIG);
	len = sizeof(back);
	assert_int_equal(store_cred_get(f->st, "lab", user, 3, back, &len), -E2BIG);
	len = sizeof(back);
	assert_int_equal(store_cred_get(f->st, "nope", user, sizeof(user), back, &len), -ENOENT);

	/* replaced in place */
	assert_int_equal(store_cred_put(f->st, "lab", "admin", secret, 3), 0);
	len = sizeof(back);
	assert_int_equal(store_cred_get(f->st, "lab", user, sizeof(user), back, &len), 0);
	assert_string_equal(user, "admin");
	assert_int_equal(len, 3);

	/* listed without the secret */
	assert_int_equal(store_cred_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 1);
	c = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(c, "name")), "lab");
	assert_string_equal(json_string_value(json_object_get(c, "username")), "admin");
	assert_int_equal(json_object_size(c), 4); /* name, username, created, updated */
	json_decref(list);
}

static json_t *bmc(const char *address, const char *status, const char *cred)
{
	return json_pack("{s:s, s:i, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:[]}",
			 "address", address, "port", 443, "scheme", "https", "insecure", 1,
			 "credential", cred, "status", status, "message", "", "mac",
			 "52:54:00:aa:00:01", "vendor", "Corral", "model", "vbmc", "uuid",
			 "firmware", "systems");
}

static void test_bmcs(void **state)
{
	struct fx *f = *state;
	struct store_err e;
	json_t *b, *list = NULL, *sys, *got = NULL;
	int64_t id = 0, again = 0;

	put_node(f->st, node("n1", 0, "52:54:00:00:00:01", NULL, NULL, "", NULL));
	assert_int_equal(store_cred_put(f->st, "lab", "root", (const unsigned char *)"pw", 2), 0);
	b = bmc("10.0.0.100", "ok", "lab");
	assert_int_equal(store_bmc_put(f->st, b, &id), 0);
	assert_true(id > 0);
	sys = json_pack("{s:s, s:[s], s:s}", "path", "/redfish/v1/Systems/1", "macs",
			"52:54:00:00:00:01", "hostname", "n1");
	assert_int_equal(
		store_bmc_system_put(f->st, id, "/redfish/v1/Systems/1", node_id(f->st, "n1"), sys),
		0);
	json_decref(sys);
	sys = json_pack("{s:s, s:[]}", "path", "/redfish/v1/Systems/2", "macs");
	assert_int_equal(store_bmc_system_put(f->st, id, "/redfish/v1/Systems/2", 0, sys), 0);
	json_decref(sys);

	/* the same address and port is the same row */
	json_object_set_new(b, "status", json_string("auth_failed"));
	json_object_set_new(b, "auth", json_string("session"));
	assert_int_equal(store_bmc_put(f->st, b, &again), 0);
	assert_int_equal(again, id);
	json_decref(b);

	assert_int_equal(store_bmc_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 1);
	b = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(b, "status")), "auth_failed");
	assert_string_equal(json_string_value(json_object_get(b, "auth")), "session");
	assert_true(json_is_null(json_object_get(b, "uuid")));
	sys = json_object_get(b, "systems");
	assert_int_equal(json_array_size(sys), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sys, 0), "node")),
			    "n1");
	assert_true(json_is_null(json_object_get(json_array_get(sys, 1), "node")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(sys, 0), "hostname")),
			    "n1");
	json_decref(list);

	/* the node's BMC, and the power state it reported */
	assert_int_equal(store_node_power_state(f->st, "n1", "On"), 0);
	assert_int_equal(store_node_system(f->st, "n1", &got), 0);
	assert_string_equal(json_string_value(json_object_get(got, "address")), "10.0.0.100");
	assert_string_equal(json_string_value(json_object_get(got, "path")),
			    "/redfish/v1/Systems/1");
	assert_string_equal(json_string_value(json_object_get(got, "credential")), "lab");
	sys = json_object_get(got, "system");
	assert_string_equal(json_string_value(json_object_get(sys, "power_state")), "On");
	assert_true(json_is_string(json_object_get(sys, "power_checked")));
	json_decref(got);
	assert_int_equal(store_node_system(f->st, "nobody", &got), -ENOENT);

	/* a credential in use stays */
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_cred_delete(f->st, "lab", &e), -EBUSY);
	assert_non_null(strstr(e.message, "lab"));
	assert_int_equal(store_cred_delete(f->st, "nope", &e), -ENOENT);

	/* clearing forgets the systems; deleting the BMC frees the credential */
	assert_int_equal(store_bmc_systems_clear(f->st, id), 0);
	assert_int_equal(store_node_system(f->st, "n1", &got), -ENOENT);
	assert_int_equal(store_bmc_delete(f->st, "10.0.0.100"), 0);
	assert_int_equal(store_bmc_delete(f->st, "10.0.0.100"), -ENOENT);
	assert_int_equal(store_cred_delete(f->st, "lab", &e), 0);
	assert_int_equal(store_bmc_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

/* A system's link to its node goes when the node does. */
static void test_system_node_deleted(void **state)
{
	struct fx *f = *state;
	json_t *b = bmc("10.0.0.101", "ok", "lab"), *list = NULL, *sys;
	int64_t id = 0;

	put_node(f->st, node("n2", 0, "52:54:00:00:00:02", NULL, NULL, "", NULL));
	assert_int_equal(store_bmc_put(f->st, b, &id), 0);
	json_decref(b);
	sys = json_pack("{s:s}", "path", "/redfish/v1/Systems/1");
	assert_int_equal(
		store_bmc_system_put(f->st, id, "/redfish/v1/Systems/1", node_id(f->st, "n2"), sys),
		0);
	json_decref(sys);
	assert_int_equal(store_node_delete(f->st, "n2"), 0);
	assert_int_equal(store_bmc_list(f->st, &list), 0);
	sys = json_array_get(json_object_get(json_array_get(list, 0), "systems"), 0);
	assert_true(json_is_null(json_object_get(sys, "node")));
	json_decref(list);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_credentials),
		T(test_bmcs),
		T(test_system_node_deleted),
	};
#undef T

	return cmocka_run_group_tests_name("store_bmc", tests, NULL, NULL) != 0;
}
