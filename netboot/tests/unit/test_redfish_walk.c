/*
 * Unit tests for redfish_reply_facts(): what one discovery reply says
 * (facts) and where the walk goes next (links), table-driven: each row a
 * reply of one kind and the facts and links it must give, as JSON.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "redfish.h"

struct row {
	const char *what;
	enum redfish_kind kind;
	const char *reply;
	const char *facts; /* the facts wanted, as JSON (only these keys are compared) */
	const char *links; /* the links wanted, exactly */
};

static const struct row rows[] = {
	{"service root: identity and the three links", REDFISH_ROOT,
	 "{\"UUID\":\"u-1\",\"RedfishVersion\":\"1.6.0\",\"Product\":\"P\","
	 "\"Systems\":{\"@odata.id\":\"/redfish/v1/Systems\"},"
	 "\"Managers\":{\"@odata.id\":\"/redfish/v1/Managers\"},"
	 "\"Chassis\":{\"@odata.id\":\"http://elsewhere/redfish/v1/Chassis\"}}",
	 "{\"uuid\":\"u-1\",\"redfish_version\":\"1.6.0\",\"vendor\":\"P\",\"has_systems\":true}",
	 "[{\"kind\":1,\"path\":\"/redfish/v1/Systems\"},"
	 "{\"kind\":10,\"path\":\"/redfish/v1/Managers\"}]"},
	{"a switch's root: no Systems", REDFISH_ROOT, "{\"Vendor\":\"V\"}",
	 "{\"vendor\":\"V\",\"uuid\":null,\"has_systems\":false}", "[]"},
	{"systems: members in order, links that leave the BMC dropped", REDFISH_SYSTEMS,
	 "{\"Members\":[{\"@odata.id\":\"/redfish/v1/Systems/1\"},"
	 "{\"@odata.id\":\"/redfish/v1/../etc\"},{\"@odata.id\":\"/redfish/v1/Systems/3\"}]}",
	 "{}",
	 "[{\"kind\":2,\"path\":\"/redfish/v1/Systems/1\",\"member\":0},"
	 "{\"kind\":2,\"path\":\"/redfish/v1/Systems/3\",\"member\":2}]"},
	{"managers: the first only", REDFISH_MANAGERS,
	 "{\"Members\":[{\"@odata.id\":\"/redfish/v1/Managers/a\"},"
	 "{\"@odata.id\":\"/redfish/v1/Managers/b\"}]}",
	 "{}", "[{\"kind\":11,\"path\":\"/redfish/v1/Managers/a\",\"member\":0}]"},
	{"system: record, reset types by ActionInfo, NICs", REDFISH_SYSTEM,
	 "{\"HostName\":\"cn1\",\"PowerState\":\"On\",\"Actions\":{\"#ComputerSystem.Reset\":"
	 "{\"target\":\"/redfish/v1/Systems/1/Actions/ComputerSystem.Reset\","
	 "\"@Redfish.ActionInfo\":\"/redfish/v1/Systems/1/ResetActionInfo\"}},"
	 "\"EthernetInterfaces\":{\"@odata.id\":\"/redfish/v1/Systems/1/EthernetInterfaces\"}}",
	 "{\"hostname\":\"cn1\",\"power_state\":\"On\",\"reset_types\":[],"
	 "\"reset_target\":\"/redfish/v1/Systems/1/Actions/ComputerSystem.Reset\"}",
	 "[{\"kind\":15,\"path\":\"/redfish/v1/Systems/1/ResetActionInfo\"},"
	 "{\"kind\":3,\"path\":\"/redfish/v1/Systems/1/EthernetInterfaces\"}]"},
	{"host NIC: MAC normalised", REDFISH_ETH,
	 "{\"Id\":\"1\",\"MACAddress\":\"52-54-00-AB-CD-EF\"}", "{\"mac\":\"52:54:00:ab:cd:ef\"}",
	 "[]"},
	{"host-to-BMC link skipped", REDFISH_ETH,
	 "{\"Id\":\"ToManager\",\"MACAddress\":\"52:54:00:ab:cd:01\"}",
	 "{\"mac\":null,\"skipped\":\"the host-to-BMC link\"}", "[]"},
	{"link-local only skipped", REDFISH_ETH,
	 "{\"Id\":\"2\",\"MACAddress\":\"52:54:00:ab:cd:02\","
	 "\"IPv4Addresses\":[{\"Address\":\"169.254.0.2\"}]}",
	 "{\"mac\":null,\"skipped\":\"link-local addresses only\"}", "[]"},
	{"device function: the MAC under Ethernet", REDFISH_NDF,
	 "{\"Id\":\"1\",\"Ethernet\":{\"PermanentMACAddress\":\"52:54:00:00:00:09\"}}",
	 "{\"mac\":\"52:54:00:00:00:09\"}", "[]"},
	{"action info: reset types", REDFISH_ACTIONINFO,
	 "{\"Parameters\":[{\"Name\":\"ResetType\",\"AllowableValues\":[\"On\",\"ForceOff\"]}]}",
	 "{\"reset_types\":[\"On\",\"ForceOff\"]}", "[]"},
	{"chassis: a count", REDFISH_CHASSIS, "{\"Members\":[{},{}]}", "{\"chassis\":2}", "[]"},
};

static void test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		json_t *reply = json_loads(r->reply, 0, NULL);
		json_t *want_f = json_loads(r->facts, 0, NULL);
		json_t *want_l = json_loads(r->links, 0, NULL);
		json_t *facts = json_object(), *links = json_array();
		assert_non_null(reply);
		assert_non_null(want_f);
		assert_non_null(want_l);
		assert_int_equal(redfish_reply_facts(r->kind, reply, facts, links), 0);
		const char *key;
		json_t *v;
		json_object_foreach(want_f, key, v) {
			if (!json_equal(json_object_get(facts, key), v)) {
				char *got = json_dumps(facts, JSON_COMPACT);
				fail_msg("%s: fact %s: got %s", r->what, key, got);
			}
		}
		if (!json_equal(links, want_l)) {
			char *got = json_dumps(links, JSON_COMPACT);
			fail_msg("%s: links %s", r->what, got);
		}
		json_decref(reply);
		json_decref(want_f);
		json_decref(want_l);
		json_decref(facts);
		json_decref(links);
	}
}

/* Not an object, or no kind the walk asks for: refused, nothing added. */
static void test_refused(void **state)
{
	(void)state;
	json_t *facts = json_object(), *links = json_array();
	json_t *arr = json_array(), *obj = json_object();
	assert_int_equal(redfish_reply_facts(REDFISH_ROOT, arr, facts, links), -EINVAL);
	assert_int_equal(redfish_reply_facts(REDFISH_KINDS, obj, facts, links), -EINVAL);
	assert_int_equal(json_object_size(facts), 0);
	assert_int_equal(json_array_size(links), 0);
	json_decref(facts);
	json_decref(links);
	json_decref(arr);
	json_decref(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests_name("redfish_walk", tests, NULL, NULL) != 0;
}
