/*
 * fuzz_rfreply: one Redfish reply, as a BMC (any BMC on the management
 * network, or anyone who answers on its address) sends it to a discovery
 * walk, read by redfish_reply_facts(), the walk's whole reading of a reply.
 *
 * Input: the first byte picks what the reply answers (modulo
 * REDFISH_KINDS: service root, systems collection, system, NIC, manager,
 * ...), the rest is the reply's body, parsed as the worker parses it.
 * The corpus holds the replies of every shape of test-vm's Redfish
 * fixture, each under the kind the walk asks it as.
 *
 * Promises held here: no crash or leak; facts an object, links an array;
 * every link of a known kind, its path one the walk may follow (under
 * /redfish/v1, no "..", plain characters, bounded), a member index below
 * the cap and only on collections; every string fact under 200 bytes; a
 * MAC fact normalised (aa:bb:cc:dd:ee:ff, never all zeros or all ones on
 * a host NIC).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "redfish.h"
#include "valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	if (p == NULL || strncmp(p, "/redfish/v1", 11) != 0 || strstr(p, "..") != NULL ||
	    strlen(p) >= 400)
		abort();
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("/._-:@%+~", *p) == NULL)
			abort();
}

static void check_links(enum redfish_kind kind, json_t *links)
{
	size_t i;
	json_t *l;
	if (!json_is_array(links))
		abort();
	json_array_foreach(links, i, l) {
		json_t *k = json_object_get(l, "kind"), *m = json_object_get(l, "member");
		if (!json_is_integer(k) || json_integer_value(k) < 0 ||
		    json_integer_value(k) >= REDFISH_KINDS)
			abort();
		check_path(json_string_value(json_object_get(l, "path")));
		if (m != NULL && (!json_is_integer(m) || json_integer_value(m) < 0 ||
				  json_integer_value(m) >= REDFISH_MEMBERS_MAX))
			abort();
		int collection = kind == REDFISH_SYSTEMS || kind == REDFISH_ETH_COLL ||
				 kind == REDFISH_NETIF_COLL || kind == REDFISH_NDF_COLL ||
				 kind == REDFISH_MANAGERS || kind == REDFISH_MGR_ETH_COLL;
		if ((m != NULL) != collection)
			abort();
	}
}

static void check_facts(enum redfish_kind kind, json_t *facts)
{
	const char *key;
	json_t *v;
	if (!json_is_object(facts))
		abort();
	json_object_foreach(facts, key, v) {
		if (json_is_string(v) && strcmp(key, "reset_target") != 0 &&
		    json_string_length(v) >= 200)
			abort();
	}
	json_t *mac = json_object_get(facts, "mac");
	if (json_is_string(mac)) {
		char norm[VALID_MAC_LEN + 1];
		const char *m = json_string_value(mac);
		if (valid_mac_normalize(m, norm) < 0 || strcmp(norm, m) != 0)
			abort();
		if (kind != REDFISH_MGR_ETH &&
		    (strcmp(m, "00:00:00:00:00:00") == 0 || strcmp(m, "ff:ff:ff:ff:ff:ff") == 0))
			abort();
	}
	if ((kind == REDFISH_ETH || kind == REDFISH_NDF) &&
	    !json_is_string(mac) == !json_is_string(json_object_get(facts, "skipped")))
		abort(); /* a MAC, or why not: exactly one */
	json_t *target = json_object_get(facts, "reset_target");
	if (json_is_string(target))
		check_path(json_string_value(target));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum redfish_kind kind = (enum redfish_kind)(data[0] % REDFISH_KINDS);
	json_t *reply = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	json_t *facts = json_object(), *links = json_array();
	if (reply != NULL && facts != NULL && links != NULL) {
		int rc = redfish_reply_facts(kind, reply, facts, links);
		if (rc == 0) {
			check_facts(kind, facts);
			check_links(kind, links);
		} else if (json_is_object(reply)) {
			abort(); /* an object of a known kind is always read */
		}
	}
	json_decref(reply);
	json_decref(facts);
	json_decref(links);
	return 0;
}
