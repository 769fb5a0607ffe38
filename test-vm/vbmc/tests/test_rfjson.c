/*
 * Unit tests for rfjson: the error body has exactly Redfish's shape; the
 * resources carry what corrald's discovery reads (links, MACs, UUIDs,
 * PowerState, Boot with its allowable values, the Reset action); a boot
 * override PATCH is all-or-nothing with the documented rules, and a Once
 * override is used up by a boot while Continuous stays.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rfjson.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct rf_identity ident = {
	.name = "n1",
	.uuid = "11111111-2222-4333-8444-555555555555",
	.serial = "CRL77000001",
	.mac = "52:54:00:77:01:01",
	.bmc_mac = "52:54:00:78:01:01",
	.bmc_uuid = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
};

/* The string at a path of keys joined by '/' ("Boot/BootSourceOverrideTarget"). */
static const char *str_at(json_t *v, const char *path)
{
	char key[128];
	const char *p = path;
	while (v != NULL) {
		const char *sep = strchr(p, '/');
		size_t n = sep ? (size_t)(sep - p) : strlen(p);
		assert_true(n < sizeof(key));
		memcpy(key, p, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		if (sep == NULL)
			break;
		p = sep + 1;
	}
	return json_string_value(v);
}

static void test_error_shape(void **state)
{
	(void)state;
	json_t *e = rf_error("Base.1.0.ResourceMissingAtURI", "gone");
	assert_non_null(e);
	assert_int_equal(json_object_size(e), 1);
	json_t *err = json_object_get(e, "error");
	assert_string_equal(str_at(err, "code"), "Base.1.0.GeneralError");
	assert_string_equal(str_at(err, "message"), "gone");
	json_t *info = json_object_get(err, "@Message.ExtendedInfo");
	assert_int_equal(json_array_size(info), 1);
	assert_string_equal(str_at(json_array_get(info, 0), "MessageId"),
			    "Base.1.0.ResourceMissingAtURI");
	json_decref(e);
}

static void test_service_root(void **state)
{
	(void)state;
	json_t *r = rf_service_root(&ident);
	assert_string_equal(str_at(r, "Systems/@odata.id"), "/redfish/v1/Systems");
	assert_string_equal(str_at(r, "Chassis/@odata.id"), "/redfish/v1/Chassis");
	assert_string_equal(str_at(r, "Managers/@odata.id"), "/redfish/v1/Managers");
	assert_string_equal(str_at(r, "SessionService/@odata.id"), "/redfish/v1/SessionService");
	assert_string_equal(str_at(r, "Links/Sessions/@odata.id"),
			    "/redfish/v1/SessionService/Sessions");
	assert_string_equal(str_at(r, "UUID"), ident.bmc_uuid);
	assert_non_null(str_at(r, "RedfishVersion"));
	json_decref(r);
}

static void test_system(void **state)
{
	struct rf_boot b;
	(void)state;
	rf_boot_init(&b, RF_MODE_UEFI);
	b.target = RF_TARGET_PXE;
	b.enabled = RF_BOOT_ONCE;
	json_t *s = rf_system(&ident, "Off", &b);
	assert_string_equal(str_at(s, "@odata.id"), "/redfish/v1/Systems/n1");
	assert_string_equal(str_at(s, "Id"), "n1");
	assert_string_equal(str_at(s, "UUID"), ident.uuid);
	assert_string_equal(str_at(s, "SerialNumber"), ident.serial);
	assert_string_equal(str_at(s, "Manufacturer"), "Corral");
	assert_string_equal(str_at(s, "Model"), "QEMU");
	assert_string_equal(str_at(s, "PowerState"), "Off");
	assert_string_equal(str_at(s, "Boot/BootSourceOverrideTarget"), "Pxe");
	assert_string_equal(str_at(s, "Boot/BootSourceOverrideEnabled"), "Once");
	assert_string_equal(str_at(s, "Boot/BootSourceOverrideMode"), "UEFI");
	json_t *allowed = json_object_get(json_object_get(s, "Boot"),
					  "BootSourceOverrideTarget@Redfish.AllowableValues");
	assert_int_equal(json_array_size(allowed), 3);
	assert_string_equal(json_string_value(json_array_get(allowed, 0)), "None");
	assert_string_equal(json_string_value(json_array_get(allowed, 1)), "Pxe");
	assert_string_equal(json_string_value(json_array_get(allowed, 2)), "Hdd");
	json_t *reset = json_object_get(json_object_get(s, "Actions"), "#ComputerSystem.Reset");
	assert_string_equal(str_at(reset, "target"),
			    "/redfish/v1/Systems/n1/Actions/ComputerSystem.Reset");
	json_t *types = json_object_get(reset, "ResetType@Redfish.AllowableValues");
	const char *want[] = {"On", "ForceOff", "GracefulShutdown", "ForceRestart"};
	assert_int_equal(json_array_size(types), NELEM(want));
	for (size_t i = 0; i < NELEM(want); i++)
		assert_string_equal(json_string_value(json_array_get(types, i)), want[i]);
	assert_string_equal(str_at(s, "EthernetInterfaces/@odata.id"),
			    "/redfish/v1/Systems/n1/EthernetInterfaces");
	json_decref(s);
}

static void test_nics_and_manager(void **state)
{
	(void)state;
	json_t *c = rf_system_nics(&ident);
	assert_int_equal(json_integer_value(json_object_get(c, "Members@odata.count")), 1);
	assert_string_equal(str_at(json_array_get(json_object_get(c, "Members"), 0), "@odata.id"),
			    "/redfish/v1/Systems/n1/EthernetInterfaces/eth0");
	json_decref(c);

	json_t *n = rf_system_nic(&ident);
	assert_string_equal(str_at(n, "MACAddress"), ident.mac);
	assert_string_equal(str_at(n, "PermanentMACAddress"), ident.mac);
	assert_true(json_is_true(json_object_get(n, "InterfaceEnabled")));
	json_decref(n);

	json_t *m = rf_manager(&ident);
	assert_string_equal(str_at(m, "EthernetInterfaces/@odata.id"),
			    "/redfish/v1/Managers/BMC/EthernetInterfaces");
	json_decref(m);
	json_t *mn = rf_manager_nic(&ident);
	assert_string_equal(str_at(mn, "MACAddress"), ident.bmc_mac);
	json_decref(mn);

	json_t *ch = rf_chassis(&ident, "On");
	assert_string_equal(str_at(ch, "PowerState"), "On");
	json_decref(ch);
}

static void test_sessions_collection(void **state)
{
	(void)state;
	json_t *ids = json_pack("[s,s]", "0123456789abcdef", "fedcba9876543210");
	json_t *c = rf_sessions(ids);
	assert_int_equal(json_integer_value(json_object_get(c, "Members@odata.count")), 2);
	assert_string_equal(str_at(json_array_get(json_object_get(c, "Members"), 1), "@odata.id"),
			    "/redfish/v1/SessionService/Sessions/fedcba9876543210");
	json_decref(c);
	json_decref(ids);
}

/* PATCH cases: start state, body, result (or error MessageId, state unchanged). */
static void test_boot_patch(void **state)
{
	static const struct {
		enum rf_boot_target t0;
		enum rf_boot_enabled e0;
		const char *body;
		const char *msgid; /* NULL: accepted */
		enum rf_boot_target t;
		enum rf_boot_enabled e;
		enum rf_boot_mode m;
	} cases[] = {
		{RF_TARGET_NONE, RF_BOOT_DISABLED,
		 "{\"Boot\":{\"BootSourceOverrideTarget\":\"Pxe\",\"BootSourceOverrideEnabled\":"
		 "\"Once\"}}",
		 NULL, RF_TARGET_PXE, RF_BOOT_ONCE, RF_MODE_LEGACY},
		{RF_TARGET_NONE, RF_BOOT_DISABLED,
		 "{\"Boot\":{\"BootSourceOverrideTarget\":\"Pxe\",\"BootSourceOverrideEnabled\":"
		 "\"Continuous\"}}",
		 NULL, RF_TARGET_PXE, RF_BOOT_CONTINUOUS, RF_MODE_LEGACY},
		/* a target alone enables the override once */
		{RF_TARGET_NONE, RF_BOOT_DISABLED,
		 "{\"Boot\":{\"BootSourceOverrideTarget\":\"Hdd\"}}", NULL, RF_TARGET_HDD,
		 RF_BOOT_ONCE, RF_MODE_LEGACY},
		/* a target alone keeps Continuous */
		{RF_TARGET_PXE, RF_BOOT_CONTINUOUS,
		 "{\"Boot\":{\"BootSourceOverrideTarget\":\"Hdd\"}}", NULL, RF_TARGET_HDD,
		 RF_BOOT_CONTINUOUS, RF_MODE_LEGACY},
		/* Disabled clears the target, None clears Enabled */
		{RF_TARGET_PXE, RF_BOOT_ONCE,
		 "{\"Boot\":{\"BootSourceOverrideEnabled\":\"Disabled\"}}", NULL, RF_TARGET_NONE,
		 RF_BOOT_DISABLED, RF_MODE_LEGACY},
		{RF_TARGET_PXE, RF_BOOT_CONTINUOUS,
		 "{\"Boot\":{\"BootSourceOverrideTarget\":\"None\"}}", NULL, RF_TARGET_NONE,
		 RF_BOOT_DISABLED, RF_MODE_LEGACY},
		{RF_TARGET_NONE, RF_BOOT_DISABLED,
		 "{\"Boot\":{\"BootSourceOverrideTarget\":\"Pxe\",\"BootSourceOverrideEnabled\":"
		 "\"Disabled\"}}",
		 NULL, RF_TARGET_NONE, RF_BOOT_DISABLED, RF_MODE_LEGACY},
		/* Enabled alone while no target is set: nothing to enable */
		{RF_TARGET_NONE, RF_BOOT_DISABLED,
		 "{\"Boot\":{\"BootSourceOverrideEnabled\":\"Once\"}}", NULL, RF_TARGET_NONE,
		 RF_BOOT_DISABLED, RF_MODE_LEGACY},
		{RF_TARGET_PXE, RF_BOOT_ONCE, "{\"Boot\":{\"BootSourceOverrideMode\":\"UEFI\"}}",
		 NULL, RF_TARGET_PXE, RF_BOOT_ONCE, RF_MODE_UEFI},
		{RF_TARGET_PXE, RF_BOOT_ONCE, "{\"Boot\":{}}", NULL, RF_TARGET_PXE, RF_BOOT_ONCE,
		 RF_MODE_LEGACY},
		/* refusals leave everything as it was */
		{RF_TARGET_PXE, RF_BOOT_ONCE, "{\"Boot\":{\"BootSourceOverrideTarget\":\"Cd\"}}",
		 "Base.1.0.PropertyValueNotInList", RF_TARGET_PXE, RF_BOOT_ONCE, RF_MODE_LEGACY},
		{RF_TARGET_PXE, RF_BOOT_ONCE,
		 "{\"Boot\":{\"BootSourceOverrideTarget\":\"Hdd\",\"BootSourceOverrideEnabled\":"
		 "\"Sometimes\"}}",
		 "Base.1.0.PropertyValueNotInList", RF_TARGET_PXE, RF_BOOT_ONCE, RF_MODE_LEGACY},
		{RF_TARGET_NONE, RF_BOOT_DISABLED,
		 "{\"Boot\":{\"BootSourceOverrideTarget\":\"pxe\"}}",
		 "Base.1.0.PropertyValueNotInList", RF_TARGET_NONE, RF_BOOT_DISABLED,
		 RF_MODE_LEGACY},
		{RF_TARGET_NONE, RF_BOOT_DISABLED, "{\"Boot\":{\"BootSourceOverrideTarget\":1}}",
		 "Base.1.0.PropertyValueTypeError", RF_TARGET_NONE, RF_BOOT_DISABLED,
		 RF_MODE_LEGACY},
		{RF_TARGET_NONE, RF_BOOT_DISABLED,
		 "{\"Boot\":{\"UefiTargetBootSourceOverride\":\"x\"}}", "Base.1.0.PropertyUnknown",
		 RF_TARGET_NONE, RF_BOOT_DISABLED, RF_MODE_LEGACY},
		{RF_TARGET_NONE, RF_BOOT_DISABLED, "{\"AssetTag\":\"x\"}",
		 "Base.1.0.PropertyNotWritable", RF_TARGET_NONE, RF_BOOT_DISABLED, RF_MODE_LEGACY},
		{RF_TARGET_NONE, RF_BOOT_DISABLED, "{\"Boot\":\"Pxe\"}",
		 "Base.1.0.PropertyValueTypeError", RF_TARGET_NONE, RF_BOOT_DISABLED,
		 RF_MODE_LEGACY},
		{RF_TARGET_NONE, RF_BOOT_DISABLED, "[]", "Base.1.0.MalformedJSON", RF_TARGET_NONE,
		 RF_BOOT_DISABLED, RF_MODE_LEGACY},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct rf_boot b;
		const char *msgid = NULL;
		char msg[256] = "";
		rf_boot_init(&b, RF_MODE_LEGACY);
		b.target = cases[i].t0;
		b.enabled = cases[i].e0;
		json_t *body = json_loads(cases[i].body, 0, NULL);
		assert_non_null(body);
		int rc = rf_boot_patch(&b, body, &msgid, msg, sizeof(msg));
		json_decref(body);
		if (cases[i].msgid == NULL) {
			if (rc != 0)
				fail_msg("case %zu %s: refused (%s: %s)", i, cases[i].body, msgid,
					 msg);
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_string_equal(msgid, cases[i].msgid);
			assert_true(msg[0] != '\0');
		}
		if (b.target != cases[i].t || b.enabled != cases[i].e || b.mode != cases[i].m)
			fail_msg("case %zu %s: got %s/%s/%s", i, cases[i].body,
				 rf_boot_target_names[b.target], rf_boot_enabled_names[b.enabled],
				 rf_boot_mode_names[b.mode]);
	}
}

static void test_boot_consumed(void **state)
{
	struct rf_boot b;
	(void)state;
	rf_boot_init(&b, RF_MODE_LEGACY);
	assert_int_equal(rf_boot_consumed(&b), 0);
	b.target = RF_TARGET_PXE;
	b.enabled = RF_BOOT_ONCE;
	assert_int_equal(rf_boot_consumed(&b), 1);
	assert_int_equal(b.target, RF_TARGET_NONE);
	assert_int_equal(b.enabled, RF_BOOT_DISABLED);
	b.target = RF_TARGET_PXE;
	b.enabled = RF_BOOT_CONTINUOUS;
	assert_int_equal(rf_boot_consumed(&b), 0);
	assert_int_equal(b.target, RF_TARGET_PXE);
	assert_int_equal(b.enabled, RF_BOOT_CONTINUOUS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_shape),
		cmocka_unit_test(test_service_root),
		cmocka_unit_test(test_system),
		cmocka_unit_test(test_nics_and_manager),
		cmocka_unit_test(test_sessions_collection),
		cmocka_unit_test(test_boot_patch),
		cmocka_unit_test(test_boot_consumed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
