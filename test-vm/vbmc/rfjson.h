/*
 * rfjson: the Redfish resources corral-vbmc serves, built as jansson values.
 *
 * Pure: every function takes what it shows (identity, power state, boot
 * override) and returns a new JSON value (the caller json_decref()s it, or
 * hands it on), or NULL when out of memory.  Resource ids and paths are
 * fixed here (RF_* below) so the service's routes and the bodies agree.
 * Also parses and applies a PATCH of the boot override, and builds the one
 * error body shape every failure uses:
 *   {"error": {"code": "Base.1.0.GeneralError", "message": ...,
 *              "@Message.ExtendedInfo": [{"MessageId": ..., "Message": ...}]}}
 *
 * Callers: service.c (every body) and vbmc.c (the identity).
 */
#ifndef CORRAL_VBMC_RFJSON_H
#define CORRAL_VBMC_RFJSON_H

#include <stddef.h>

#include <jansson.h>

#define RF_ROOT "/redfish/v1"
#define RF_MANAGER_ID "BMC"
#define RF_NIC_ID "eth0"
#define RF_REDFISH_VERSION "1.6.0"
#define RF_ERROR_CODE "Base.1.0.GeneralError"

/* Who this BMC is.  All strings borrowed, valid while the service runs. */
struct rf_identity {
	const char *name;              /* system and chassis Id, [A-Za-z0-9._-] */
	const char *uuid;              /* the system's UUID */
	const char *serial;            /* the system's serial number */
	const char *mac;               /* the VM's NIC, lower-case aa:bb:cc:dd:ee:ff */
	const char *bmc_mac;           /* the BMC's own NIC */
	const char *bmc_uuid;          /* the BMC's (and the service root's) UUID */
	const char *boot_mode_default; /* "Legacy" or "UEFI": the VM's firmware */
};

enum rf_boot_target { RF_TARGET_NONE, RF_TARGET_PXE, RF_TARGET_HDD, RF_TARGET_COUNT };
enum rf_boot_enabled { RF_BOOT_DISABLED, RF_BOOT_ONCE, RF_BOOT_CONTINUOUS, RF_BOOT_COUNT };
enum rf_boot_mode { RF_MODE_LEGACY, RF_MODE_UEFI, RF_MODE_COUNT };

/* The boot override as stored.  Invariant: target NONE <=> enabled DISABLED. */
struct rf_boot {
	enum rf_boot_target target;
	enum rf_boot_enabled enabled;
	enum rf_boot_mode mode;
};

extern const char *const rf_boot_target_names[RF_TARGET_COUNT];
extern const char *const rf_boot_enabled_names[RF_BOOT_COUNT];
extern const char *const rf_boot_mode_names[RF_MODE_COUNT];

/* No override: target None, Disabled, the given mode. */
void rf_boot_init(struct rf_boot *b, enum rf_boot_mode mode);

/*
 * Applies a PATCH body ({"Boot": {"BootSourceOverrideTarget": ...,
 * "BootSourceOverrideEnabled": ..., "BootSourceOverrideMode": ...}}) to *b.
 * All or nothing: on error *b is unchanged.  Rules: a target other than None
 * given while the override is Disabled (and no Enabled given) enables it
 * Once; target None or Enabled Disabled clears both.  Returns 0, or -EINVAL
 * with a Redfish MessageId ("Base.1.0.PropertyValueNotInList",
 * "Base.1.0.PropertyUnknown", "Base.1.0.PropertyValueTypeError") in *msgid
 * (static) and a sentence in msg (msgsize bytes).
 */
int rf_boot_patch(struct rf_boot *b, const json_t *body, const char **msgid, char *msg,
		  size_t msgsize);

/*
 * Called when the machine boots: a Once override is used up (back to None
 * and Disabled, as real BMCs do); Continuous stays.  Returns 1 if it
 * changed *b.
 */
int rf_boot_consumed(struct rf_boot *b);

/* The error body: code RF_ERROR_CODE, message, one ExtendedInfo entry. */
json_t *rf_error(const char *msgid, const char *message);

json_t *rf_odata_root(void);                           /* GET /redfish */
json_t *rf_service_root(const struct rf_identity *id); /* GET /redfish/v1/ */
json_t *rf_systems(const struct rf_identity *id);
/* power_state: "On"/"Off" (see power.h). */
json_t *rf_system(const struct rf_identity *id, const char *power_state, const struct rf_boot *b);
json_t *rf_system_nics(const struct rf_identity *id);
json_t *rf_system_nic(const struct rf_identity *id);
json_t *rf_chassis_collection(const struct rf_identity *id);
json_t *rf_chassis(const struct rf_identity *id, const char *power_state);
json_t *rf_managers(void);
json_t *rf_manager(const struct rf_identity *id);
json_t *rf_manager_nics(void);
json_t *rf_manager_nic(const struct rf_identity *id);
json_t *rf_session_service(void);
/* ids: a JSON array of session id strings (borrowed). */
json_t *rf_sessions(const json_t *ids);
json_t *rf_session(const char *sid, const char *user);

#endif
