/*
 * fuzz_fwreply: one reply a BMC sends to a firmware update (its
 * UpdateService, FirmwareInventory and members, the Task SimpleUpdate
 * started, an error body), read by redfish_fw_facts(), the update's whole
 * reading of a reply.  Sent by any BMC an admin targets, or whoever
 * answers on its address.
 *
 * Input: the first byte picks what the reply answers (modulo
 * REDFISH_FW_KINDS), the rest is the body, parsed as the worker parses it.
 * The corpus holds corral-vbmc's own replies and the DMTF shapes the
 * update reads (task monitor states, error bodies with and without
 * ExtendedInfo), each under its kind.
 *
 * Promises held here: no crash or leak; facts an object with exactly the
 * keys of its kind; every path one the worker may follow (under
 * /redfish/v1, no "..", plain characters, under 400 bytes); at most 16
 * members and 8 messages; string facts under 200 bytes, messages under
 * 400; "running" true whenever no final TaskState was read.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "redfish.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(json_t *v)
{
	if (json_is_null(v))
		return;
	const char *p = json_string_value(v);
	if (p == NULL || strncmp(p, "/redfish/v1", 11) != 0 || strstr(p, "..") != NULL ||
	    strlen(p) >= 400)
		abort();
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("/._-:@%+~", *p) == NULL)
			abort();
}

static void check_str(json_t *v, size_t max)
{
	if (!json_is_null(v) && (!json_is_string(v) || json_string_length(v) >= max))
		abort();
}

static void check(enum redfish_fw_kind kind, json_t *f)
{
	static const char *const keys[REDFISH_FW_KINDS][5] = {
		[REDFISH_FW_SERVICE] = {"target", "inventory", "enabled"},
		[REDFISH_FW_INVENTORY] = {"members"},
		[REDFISH_FW_MEMBER] = {"id", "name", "version", "updateable"},
		[REDFISH_FW_TASK] = {"state", "status", "messages", "running"},
		[REDFISH_FW_ERROR] = {"message"},
	};
	size_t n = 0;
	while (n < 5 && keys[kind][n] != NULL) {
		if (json_object_get(f, keys[kind][n]) == NULL)
			abort();
		n++;
	}
	if (json_object_size(f) != n)
		abort();
	size_t i;
	json_t *v;
	switch (kind) {
	case REDFISH_FW_SERVICE:
		check_path(json_object_get(f, "target"));
		check_path(json_object_get(f, "inventory"));
		if (!json_is_boolean(json_object_get(f, "enabled")))
			abort();
		break;
	case REDFISH_FW_INVENTORY:
		if (json_array_size(json_object_get(f, "members")) > 16)
			abort();
		json_array_foreach(json_object_get(f, "members"), i, v) {
			if (json_is_null(v))
				abort();
			check_path(v);
		}
		break;
	case REDFISH_FW_MEMBER:
		check_str(json_object_get(f, "id"), 200);
		check_str(json_object_get(f, "name"), 200);
		check_str(json_object_get(f, "version"), 200);
		break;
	case REDFISH_FW_TASK: {
		json_t *state = json_object_get(f, "state");
		check_str(state, 200);
		check_str(json_object_get(f, "status"), 200);
		if (json_array_size(json_object_get(f, "messages")) > 8)
			abort();
		json_array_foreach(json_object_get(f, "messages"), i, v) {
			check_str(json_object_get(v, "id"), 200);
			check_str(json_object_get(v, "message"), 400);
		}
		if (json_is_null(state) && !json_is_true(json_object_get(f, "running")))
			abort();
		break;
	}
	default:
		if (!json_is_string(json_object_get(f, "message")) ||
		    json_string_length(json_object_get(f, "message")) >= 400)
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum redfish_fw_kind kind = (enum redfish_fw_kind)(data[0] % REDFISH_FW_KINDS);
	json_t *reply = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
	json_t *facts = json_object();
	if (facts != NULL) {
		if (redfish_fw_facts(kind, reply, facts) != 0)
			abort(); /* every known kind is read, whatever the reply */
		check(kind, facts);
	}
	json_decref(reply);
	json_decref(facts);
	return 0;
}
