/*
 * rfjson: Redfish resource bodies and the boot override.  See rfjson.h.
 *
 * Schema versions are ones whose properties we fill; nothing here claims a
 * property we do not serve.  Paths are built into fixed buffers: the
 * identity's name is validated to 63 characters at start-up, so a
 * truncated path (buf_fmt < 0) means a bug and the builder returns NULL.
 */
#include "rfjson.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

#define RF_PATH_MAX 256

const char *const rf_boot_target_names[RF_TARGET_COUNT] = {"None", "Pxe", "Hdd"};
const char *const rf_boot_enabled_names[RF_BOOT_COUNT] = {"Disabled", "Once", "Continuous"};
const char *const rf_boot_mode_names[RF_MODE_COUNT] = {"Legacy", "UEFI"};

static const char *const rf_reset_allowed[] = {"On", "ForceOff", "GracefulShutdown",
					       "ForceRestart"};

static json_t *rf_link(const char *path)
{
	return json_pack("{s:s}", "@odata.id", path);
}

static json_t *rf_strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* A collection: {"@odata.id", "@odata.type", Name, Members, Members@odata.count}. */
static json_t *rf_collection(const char *path, const char *type, const char *name,
			     const char *const *members, size_t n)
{
	json_t *m = json_array();
	if (m == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(m, rf_link(members[i])) < 0) {
			json_decref(m);
			return NULL;
		}
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:I}", "@odata.id", path, "@odata.type", type,
			 "Name", name, "Members", m, "Members@odata.count", (json_int_t)n);
}

static json_t *rf_status_ok(void)
{
	return json_pack("{s:s, s:s}", "State", "Enabled", "Health", "OK");
}

void rf_boot_init(struct rf_boot *b, enum rf_boot_mode mode)
{
	b->target = RF_TARGET_NONE;
	b->enabled = RF_BOOT_DISABLED;
	b->mode = mode;
}

static int rf_lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i], s) == 0)
			return i;
	}
	return -1;
}

/* The writable Boot properties: name and allowed values. */
enum rf_boot_prop { RF_PROP_TARGET, RF_PROP_ENABLED, RF_PROP_MODE, RF_PROP_COUNT };
static const struct {
	const char *key;
	const char *const *names;
	int n;
} rf_boot_props[RF_PROP_COUNT] = {
	[RF_PROP_TARGET] = {"BootSourceOverrideTarget", rf_boot_target_names, RF_TARGET_COUNT},
	[RF_PROP_ENABLED] = {"BootSourceOverrideEnabled", rf_boot_enabled_names, RF_BOOT_COUNT},
	[RF_PROP_MODE] = {"BootSourceOverrideMode", rf_boot_mode_names, RF_MODE_COUNT},
};

int rf_boot_patch(struct rf_boot *b, const json_t *body, const char **msgid, char *msg,
		  size_t msgsize)
{
	struct rf_boot nb = *b;
	const char *key;
	json_t *val;
	int has_target = 0, has_enabled = 0;

/* A message cut to msgsize is still a message; a format error leaves "". */
#define RF_FAIL(id, ...)                                                    \
	do {                                                                \
		*msgid = (id);                                              \
		if (snprintf(msg, msgsize, __VA_ARGS__) < 0 && msgsize > 0) \
			msg[0] = '\0';                                      \
		return -EINVAL;                                             \
	} while (0)

	if (!json_is_object(body))
		RF_FAIL("Base.1.0.MalformedJSON", "The request body must be a JSON object.");
	json_object_foreach((json_t *)body, key, val) {
		if (strcmp(key, "Boot") != 0)
			RF_FAIL("Base.1.0.PropertyNotWritable",
				"The property %.64s is not writable here; only Boot is.", key);
	}
	json_t *boot = json_object_get(body, "Boot");
	if (!json_is_object(boot))
		RF_FAIL("Base.1.0.PropertyValueTypeError", "Boot must be an object.");

	json_object_foreach(boot, key, val) {
		int prop = -1;
		for (int i = 0; i < RF_PROP_COUNT; i++) {
			if (strcmp(key, rf_boot_props[i].key) == 0)
				prop = i;
		}
		if (prop < 0)
			RF_FAIL("Base.1.0.PropertyUnknown", "The property Boot/%.64s is not known.",
				key);
		if (!json_is_string(val))
			RF_FAIL("Base.1.0.PropertyValueTypeError", "Boot/%.64s must be a string.",
				key);
		int v = rf_lookup(rf_boot_props[prop].names, rf_boot_props[prop].n,
				  json_string_value(val));
		if (v < 0)
			RF_FAIL("Base.1.0.PropertyValueNotInList",
				"The value %.64s for Boot/%.64s is not in the list of acceptable "
				"values.",
				json_string_value(val), key);
		switch ((enum rf_boot_prop)prop) {
		case RF_PROP_TARGET:
			nb.target = (enum rf_boot_target)v;
			has_target = 1;
			break;
		case RF_PROP_ENABLED:
			nb.enabled = (enum rf_boot_enabled)v;
			has_enabled = 1;
			break;
		case RF_PROP_MODE:
		case RF_PROP_COUNT:
			nb.mode = (enum rf_boot_mode)v;
			break;
		}
	}
#undef RF_FAIL

	/* Keep the invariant: target None <=> Disabled. */
	if (nb.target == RF_TARGET_NONE || nb.enabled == RF_BOOT_DISABLED) {
		if (has_target && nb.target != RF_TARGET_NONE && !has_enabled) {
			nb.enabled = RF_BOOT_ONCE;
		} else {
			nb.target = RF_TARGET_NONE;
			nb.enabled = RF_BOOT_DISABLED;
		}
	}
	*b = nb;
	return 0;
}

int rf_boot_consumed(struct rf_boot *b)
{
	if (b->enabled != RF_BOOT_ONCE)
		return 0;
	b->target = RF_TARGET_NONE;
	b->enabled = RF_BOOT_DISABLED;
	return 1;
}

json_t *rf_error(const char *msgid, const char *message)
{
	return json_pack("{s:{s:s, s:s, s:[{s:s, s:s, s:s}]}}", "error", "code", RF_ERROR_CODE,
			 "message", message, "@Message.ExtendedInfo", "MessageId", msgid, "Message",
			 message, "Severity", "Critical");
}

json_t *rf_odata_root(void)
{
	return json_pack("{s:s}", "v1", RF_ROOT "/");
}

json_t *rf_service_root(const struct rf_identity *id)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:{s:o}}",
			 "@odata.id", RF_ROOT "/", "@odata.type", "#ServiceRoot.v1_5_0.ServiceRoot",
			 "Id", "RootService", "Name", "Corral virtual BMC", "RedfishVersion",
			 RF_REDFISH_VERSION, "UUID", id->bmc_uuid, "Vendor", "Corral", "Product",
			 "corral-vbmc", "Systems", rf_link(RF_ROOT "/Systems"), "Chassis",
			 rf_link(RF_ROOT "/Chassis"), "Managers", rf_link(RF_ROOT "/Managers"),
			 "SessionService", rf_link(RF_ROOT "/SessionService"), "Links", "Sessions",
			 rf_link(RF_ROOT "/SessionService/Sessions"));
}

json_t *rf_systems(const struct rf_identity *id)
{
	char p[RF_PATH_MAX];
	if (buf_fmt(p, sizeof(p), RF_ROOT "/Systems/%s", id->name) < 0)
		return NULL;
	const char *m[] = {p};
	return rf_collection(RF_ROOT "/Systems",
			     "#ComputerSystemCollection.ComputerSystemCollection",
			     "Computer System Collection", m, 1);
}

json_t *rf_system(const struct rf_identity *id, const char *power_state, const struct rf_boot *b)
{
	char self[RF_PATH_MAX], nics[RF_PATH_MAX], reset[RF_PATH_MAX], chassis[RF_PATH_MAX];
	if (buf_fmt(self, sizeof(self), RF_ROOT "/Systems/%s", id->name) < 0 ||
	    buf_fmt(nics, sizeof(nics), "%s/EthernetInterfaces", self) < 0 ||
	    buf_fmt(reset, sizeof(reset), "%s/Actions/ComputerSystem.Reset", self) < 0 ||
	    buf_fmt(chassis, sizeof(chassis), RF_ROOT "/Chassis/%s", id->name) < 0)
		return NULL;
	json_t *boot = json_pack("{s:s, s:s, s:s, s:o, s:o}", "BootSourceOverrideTarget",
				 rf_boot_target_names[b->target], "BootSourceOverrideEnabled",
				 rf_boot_enabled_names[b->enabled], "BootSourceOverrideMode",
				 rf_boot_mode_names[b->mode],
				 "BootSourceOverrideTarget@Redfish.AllowableValues",
				 rf_strings(rf_boot_target_names, RF_TARGET_COUNT),
				 "BootSourceOverrideMode@Redfish.AllowableValues",
				 rf_strings(rf_boot_mode_names, RF_MODE_COUNT));
	json_t *actions =
		json_pack("{s:{s:s, s:o}}", "#ComputerSystem.Reset", "target", reset,
			  "ResetType@Redfish.AllowableValues",
			  rf_strings(rf_reset_allowed,
				     sizeof(rf_reset_allowed) / sizeof(rf_reset_allowed[0])));
	json_t *links = json_pack("{s:[o], s:[o]}", "Chassis", rf_link(chassis), "ManagedBy",
				  rf_link(RF_ROOT "/Managers/" RF_MANAGER_ID));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, "
			 "s:o, s:o}",
			 "@odata.id", self, "@odata.type", "#ComputerSystem.v1_10_0.ComputerSystem",
			 "Id", id->name, "Name", id->name, "SystemType", "Virtual", "UUID",
			 id->uuid, "SerialNumber", id->serial, "Manufacturer", "Corral", "Model",
			 "QEMU", "PowerState", power_state, "HostName", id->name, "Status",
			 rf_status_ok(), "Boot", boot, "Actions", actions, "EthernetInterfaces",
			 rf_link(nics), "Links", links);
}

json_t *rf_system_nics(const struct rf_identity *id)
{
	char coll[RF_PATH_MAX], m0[RF_PATH_MAX];
	if (buf_fmt(coll, sizeof(coll), RF_ROOT "/Systems/%s/EthernetInterfaces", id->name) < 0 ||
	    buf_fmt(m0, sizeof(m0), "%s/" RF_NIC_ID, coll) < 0)
		return NULL;
	const char *m[] = {m0};
	return rf_collection(coll, "#EthernetInterfaceCollection.EthernetInterfaceCollection",
			     "Ethernet Network Interface Collection", m, 1);
}

static json_t *rf_nic(const char *path, const char *name, const char *mac)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:o}", "@odata.id", path,
			 "@odata.type", "#EthernetInterface.v1_4_1.EthernetInterface", "Id",
			 RF_NIC_ID, "Name", name, "MACAddress", mac, "PermanentMACAddress", mac,
			 "InterfaceEnabled", 1, "LinkStatus", "LinkUp", "Status", rf_status_ok());
}

json_t *rf_system_nic(const struct rf_identity *id)
{
	char p[RF_PATH_MAX];
	if (buf_fmt(p, sizeof(p), RF_ROOT "/Systems/%s/EthernetInterfaces/" RF_NIC_ID, id->name) <
	    0)
		return NULL;
	return rf_nic(p, "Host Ethernet Interface", id->mac);
}

json_t *rf_chassis_collection(const struct rf_identity *id)
{
	char p[RF_PATH_MAX];
	if (buf_fmt(p, sizeof(p), RF_ROOT "/Chassis/%s", id->name) < 0)
		return NULL;
	const char *m[] = {p};
	return rf_collection(RF_ROOT "/Chassis", "#ChassisCollection.ChassisCollection",
			     "Chassis Collection", m, 1);
}

json_t *rf_chassis(const struct rf_identity *id, const char *power_state)
{
	char self[RF_PATH_MAX], sys[RF_PATH_MAX];
	if (buf_fmt(self, sizeof(self), RF_ROOT "/Chassis/%s", id->name) < 0 ||
	    buf_fmt(sys, sizeof(sys), RF_ROOT "/Systems/%s", id->name) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:{s:[o], s:[o]}}",
			 "@odata.id", self, "@odata.type", "#Chassis.v1_11_0.Chassis", "Id",
			 id->name, "Name", id->name, "ChassisType", "RackMount", "Manufacturer",
			 "Corral", "Model", "QEMU", "SerialNumber", id->serial, "PowerState",
			 power_state, "Status", rf_status_ok(), "Links", "ComputerSystems",
			 rf_link(sys), "ManagedBy", rf_link(RF_ROOT "/Managers/" RF_MANAGER_ID));
}

json_t *rf_managers(void)
{
	const char *m[] = {RF_ROOT "/Managers/" RF_MANAGER_ID};
	return rf_collection(RF_ROOT "/Managers", "#ManagerCollection.ManagerCollection",
			     "Manager Collection", m, 1);
}

json_t *rf_manager(const struct rf_identity *id)
{
	char sys[RF_PATH_MAX], chassis[RF_PATH_MAX];
	if (buf_fmt(sys, sizeof(sys), RF_ROOT "/Systems/%s", id->name) < 0 ||
	    buf_fmt(chassis, sizeof(chassis), RF_ROOT "/Chassis/%s", id->name) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:{s:[o], s:[o]}}",
			 "@odata.id", RF_ROOT "/Managers/" RF_MANAGER_ID, "@odata.type",
			 "#Manager.v1_5_0.Manager", "Id", RF_MANAGER_ID, "Name",
			 "Corral virtual BMC", "ManagerType", "BMC", "UUID", id->bmc_uuid, "Model",
			 "corral-vbmc", "FirmwareVersion", "1.0", "Status", rf_status_ok(),
			 "EthernetInterfaces",
			 rf_link(RF_ROOT "/Managers/" RF_MANAGER_ID "/EthernetInterfaces"), "Links",
			 "ManagerForServers", rf_link(sys), "ManagerForChassis", rf_link(chassis));
}

json_t *rf_manager_nics(void)
{
	const char *m[] = {RF_ROOT "/Managers/" RF_MANAGER_ID "/EthernetInterfaces/" RF_NIC_ID};
	return rf_collection(RF_ROOT "/Managers/" RF_MANAGER_ID "/EthernetInterfaces",
			     "#EthernetInterfaceCollection.EthernetInterfaceCollection",
			     "Manager Ethernet Interface Collection", m, 1);
}

json_t *rf_manager_nic(const struct rf_identity *id)
{
	return rf_nic(RF_ROOT "/Managers/" RF_MANAGER_ID "/EthernetInterfaces/" RF_NIC_ID,
		      "Manager Ethernet Interface", id->bmc_mac);
}

json_t *rf_session_service(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:o}", "@odata.id",
			 RF_ROOT "/SessionService", "@odata.type",
			 "#SessionService.v1_1_6.SessionService", "Id", "SessionService", "Name",
			 "Session Service", "ServiceEnabled", 1, "SessionTimeout", (json_int_t)1800,
			 "Sessions", rf_link(RF_ROOT "/SessionService/Sessions"));
}

json_t *rf_sessions(const json_t *ids)
{
	char paths[64][RF_PATH_MAX];
	const char *m[64];
	size_t n = 0, i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		if (n >= 64 || !json_is_string(v) ||
		    buf_fmt(paths[n], sizeof(paths[n]), RF_ROOT "/SessionService/Sessions/%s",
			    json_string_value(v)) < 0)
			return NULL;
		m[n] = paths[n];
		n++;
	}
	return rf_collection(RF_ROOT "/SessionService/Sessions",
			     "#SessionCollection.SessionCollection", "Session Collection", m, n);
}

json_t *rf_session(const char *sid, const char *user)
{
	char p[RF_PATH_MAX];
	if (buf_fmt(p, sizeof(p), RF_ROOT "/SessionService/Sessions/%s", sid) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "@odata.id", p, "@odata.type",
			 "#Session.v1_0_0.Session", "Id", sid, "Name", "User Session", "UserName",
			 user);
}
