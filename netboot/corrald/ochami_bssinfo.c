/*
 * ochami_bssinfo: BSS's read-only paths beside the boot parameters
 * (ochami.h): the boot script's JSON form (bootscript?json=1; the iPXE
 * form stays serve.c's), the hosts BSS knows, its state dump, its service
 * status and the endpoint history, all read from Corral's store.  The
 * endpoint history is the node's boot timeline: its last boot script and
 * its last cloud-init user-data, as BSS records them.
 */
#define _XOPEN_SOURCE 700
#include "ochami.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "bootscript.h"
#include "serve.h"
#include "valid.h"

/* ---- bootscript?json=1 ------------------------------------------------------ */

/* The text between "<prefix>" at the start of a line and " || goto retry", into out. */
static int bss_script_line(const char *script, const char *prefix, struct buf *out)
{
	size_t plen = strlen(prefix);
	for (const char *l = script; l != NULL && *l != '\0';) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len > plen && strncmp(l, prefix, plen) == 0) {
			const char *end = strstr(l, " || goto retry");
			size_t n = end != NULL && end < l + len ? (size_t)(end - l) : len;
			return buf_add(out, l + plen, n - plen);
		}
		l = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

/*
 * BSS's JSON form of what a node boots: {"params": "kernel <command line>",
 * "kernel": {"path"}, "initrd": {"path"}}, from the very script iPXE would
 * get (nothing recorded: this is a tool asking, not a node booting).
 */
static int bss_script_json(struct http_req *r, enum bootsel_key key, const char *value,
			   const char *descr)
{
	struct app *a = r->ctx;
	struct buf out, kline, iline, params;
	buf_init(&out, BOOTSCRIPT_MAX);
	buf_init(&kline, BOOTSCRIPT_MAX);
	buf_init(&iline, BOOTSCRIPT_MAX);
	buf_init(&params, BOOTSCRIPT_MAX);
	json_t *j = NULL;
	int rc = serve_render_bootscript(a, key, value, 0, r->client_ip, 0, &out);
	if (rc == 0 && bss_script_line(buf_str(&out), "kernel ", &kline) == 0 &&
	    bss_script_line(buf_str(&out), "initrd --name initrd ", &iline) == 0) {
		/* "kernel <url> <command line>" */
		const char *k = buf_str(&kline);
		const char *sp = strchr(k, ' ');
		size_t ulen = sp ? (size_t)(sp - k) : strlen(k);
		if (buf_printf(&params, "kernel %s", sp ? sp + 1 : "") == 0)
			j = json_pack("{s:s, s:{s:s%}, s:{s:s}}", "params", buf_str(&params),
				      "kernel", "path", k, ulen, "initrd", "path", buf_str(&iline));
	}
	buf_clear(&out);
	buf_clear(&kline);
	buf_clear(&iline);
	buf_clear(&params);
	if (rc < 0)
		return rc;
	if (j == NULL)
		return http_reply_error(r, 404, "not_found", NULL,
					"%s: this host not configured for booting.", descr);
	return http_reply_json(r, 200, j);
}

int ochami_bss_bootscript(struct http_req *r)
{
	const char *js = http_query(r, "json");
	long long on = 0;
	if (js == NULL || valid_parse_ll(js, -2147483648LL, 2147483647LL, &on) < 0 || on == 0)
		return serve_bootscript(r); /* the iPXE script: serve.c's */
	const char *mac = http_query(r, "mac");
	const char *name = http_query(r, "name");
	const char *nid = http_query(r, "nid");
	char norm[VALID_MAC_LEN + 1], descr[96];
	long long v;
	if (mac != NULL) {
		if (valid_mac_normalize(mac, norm) < 0)
			return http_reply_error(r, 400, "bad_request", NULL,
						"Bad Request - Invalid mac '%.40s'", mac);
		snprintf(descr, sizeof(descr), "MAC %s", norm);
		return bss_script_json(r, BOOTSEL_MAC, norm, descr);
	}
	if (name != NULL) {
		if (valid_name(name) < 0)
			return http_reply_error(r, 400, "bad_request", NULL,
						"Bad Request - Invalid name");
		return bss_script_json(r, BOOTSEL_NAME, name, name);
	}
	if (nid != NULL) {
		if (valid_parse_ll(nid, 1, 2147483648LL, &v) < 0)
			return http_reply_error(r, 400, "bad_request", NULL,
						"Bad Request - Invalid nid '%.20s'", nid);
		snprintf(norm, sizeof(norm), "%lld", v);
		snprintf(descr, sizeof(descr), "NID %lld", v);
		return bss_script_json(r, BOOTSEL_NID, norm, descr);
	}
	return http_reply_error(r, 400, "bad_request", NULL,
				"Need a mac=, name=, or nid= parameter");
}

/* ---- hosts and dumpstate -------------------------------------------------------- */

/* BSS's view of a node (its SMComponent): SMD's component plus FQDN, MACs. */
static json_t *bss_host(json_t *node)
{
	json_t *c = ochami_component(node);
	json_object_set_new(c, "FQDN", json_string(""));
	json_object_set_new(c, "MAC", ochami_node_macs(node));
	json_object_set(c, "EndpointEnabled", json_object_get(node, "enabled"));
	return c;
}

static json_t *bss_hosts_all(const struct ochami_inv *inv)
{
	json_t *out = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(inv->nodes, i, n)
		json_array_append_new(out, bss_host(n));
	return out;
}

/* One comma-separated list of the query, each item looked up; NULL and a
 * 404 (400 for a bad NID) when one names nothing. */
static json_t *bss_hosts_find(struct http_req *r, const struct ochami_inv *inv, const char *list,
			      int kind, json_t *out)
{
	static const char *const what[] = {"host name", "MAC address", "NID"};
	char item[128];
	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *end = strchrnul(p, ',');
		size_t n = (size_t)(end - p);
		json_t *node = NULL;
		if (n > 0 && n < sizeof(item)) {
			memcpy(item, p, n);
			item[n] = '\0';
			char mac[VALID_MAC_LEN + 1];
			long long nid;
			if (kind == 0) {
				node = ochami_inv_by_name(inv, item);
			} else if (kind == 1) {
				if (valid_mac_normalize(item, mac) == 0)
					node = ochami_inv_by_mac(inv, mac);
			} else if (valid_parse_ll(item, 0, 4294967295LL, &nid) < 0) {
				http_reply_error(r, 400, "bad_request", NULL,
						 "Bad Request - Invalid nid '%s'", item);
				return NULL;
			} else {
				node = ochami_inv_by_nid(inv, nid);
			}
		}
		if (node == NULL) {
			http_reply_error(r, 404, "not_found", NULL, "Not Found - Unknown %s '%.*s'",
					 what[kind], (int)(n < 80 ? n : 80), p);
			return NULL;
		}
		json_array_append_new(out, bss_host(node));
		p = *end ? end + 1 : end;
	}
	return out;
}

int ochami_bss_hosts(struct http_req *r)
{
	struct ochami_inv inv;
	if (r->method_id == HTTP_POST) /* BSS re-reads SMD; Corral's view is always current */
		return http_reply_empty(r, 204);
	if (ochami_inv_load(r, &inv) < 0)
		return 0;
	char *lists[] = {ochami_query_all(r, "name"), ochami_query_all(r, "mac"),
			 ochami_query_all(r, "nid")};
	json_t *out;
	if (lists[0] == NULL && lists[1] == NULL && lists[2] == NULL) {
		out = bss_hosts_all(&inv);
	} else {
		out = json_array();
		for (int k = 0; k < 3 && out != NULL; k++) {
			if (bss_hosts_find(r, &inv, lists[k], k, out) == NULL && lists[k] != NULL) {
				json_decref(out);
				out = NULL;
			}
		}
	}
	ochami_inv_clear(&inv);
	for (int k = 0; k < 3; k++)
		free(lists[k]);
	return out != NULL ? http_reply_json(r, 200, out) : 0;
}

int ochami_bss_dumpstate(struct http_req *r)
{
	struct ochami_inv inv;
	if (ochami_inv_load(r, &inv) < 0)
		return 0;
	json_t *out = json_pack("{s:o, s:o}", "Components", bss_hosts_all(&inv), "Params",
				ochami_bss_all(r->ctx, &inv));
	ochami_inv_clear(&inv);
	return http_reply_json(r, 200, out);
}

/* ---- service status ------------------------------------------------------------ */

int ochami_bss_service(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *what = r->args[0];
	bool all = strcmp(what, "status/all") == 0;
	json_t *out = json_object();
	unsigned status = 200;
	if (all || strcmp(what, "status") == 0)
		json_object_set_new(out, "bss-status", json_string("running"));
	if (all || strcmp(what, "version") == 0)
		json_object_set_new(out, "bss-version", json_string(CORRAL_VERSION));
	if (all || strcmp(what, "hsm") == 0) /* SMD's inventory is the same store */
		json_object_set_new(out, "bss-status-hsm", json_string("connected"));
	if (all || strcmp(what, "storage/status") == 0) {
		int ok = store_ping(a->store) == 0;
		if (!ok)
			status = 500;
		json_object_set_new(out, "bss-storage-backend",
				    json_pack("{s:s, s:s}", "name", "sqlite", "status",
					      ok ? "connected" : "error"));
	}
	if (json_object_size(out) == 0) {
		json_decref(out);
		return http_reply_error(r, 404, "not_found", NULL, "no such path: %s", r->path);
	}
	return http_reply_json(r, status, out);
}

/* ---- endpoint history ------------------------------------------------------------ */

/* Seconds since the epoch of an RFC 3339 UTC time as the store writes it. */
static long long bss_epoch(const char *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (t == NULL || strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return (long long)timegm(&tm);
}

/* Appends {name, endpoint, last_epoch} for the node's last access of each kind asked. */
static int bss_history_node(struct app *a, json_t *node, const char *endpoint, json_t *out)
{
	const char *name = json_string_value(json_object_get(node, "name"));
	int64_t id;
	json_t *events = NULL;
	int rc = store_node_id(a->store, name, &id);
	if (rc == 0)
		rc = store_events_list(a->store, id, 500, &events);
	if (rc < 0)
		return rc;
	long long last_script = 0, last_user = 0;
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e) {
		const char *stage = json_string_value(json_object_get(e, "stage"));
		const char *detail = json_string_value(json_object_get(e, "detail"));
		long long t = bss_epoch(json_string_value(json_object_get(e, "time")));
		if (stage != NULL && strcmp(stage, "bootscript") == 0)
			last_script = t;
		else if (stage != NULL && strcmp(stage, "cloud-init") == 0 && detail != NULL &&
			 strcmp(detail, "user-data") == 0)
			last_user = t;
	}
	json_decref(events);
	if (last_script && (endpoint == NULL || strcmp(endpoint, "bootscript") == 0))
		json_array_append_new(out, json_pack("{s:s, s:s, s:I}", "name", name, "endpoint",
						     "bootscript", "last_epoch",
						     (json_int_t)last_script));
	if (last_user && (endpoint == NULL || strcmp(endpoint, "user-data") == 0))
		json_array_append_new(out,
				      json_pack("{s:s, s:s, s:I}", "name", name, "endpoint",
						"user-data", "last_epoch", (json_int_t)last_user));
	return 0;
}

int ochami_bss_history(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *name = http_query(r, "name");
	const char *endpoint = http_query(r, "endpoint");
	if (endpoint != NULL && endpoint[0] == '\0')
		endpoint = NULL;
	if (endpoint != NULL && strcmp(endpoint, "bootscript") != 0 &&
	    strcmp(endpoint, "user-data") != 0)
		return http_reply_error(r, 400, "bad_request", NULL,
					"Bad Request: endpoint must be bootscript or user-data");
	struct ochami_inv inv;
	if (ochami_inv_load(r, &inv) < 0)
		return 0;
	json_t *out = json_array();
	int rc = 0;
	size_t i;
	json_t *n;
	json_array_foreach(inv.nodes, i, n) {
		const char *nm = json_string_value(json_object_get(n, "name"));
		if (name != NULL && name[0] != '\0' && strcmp(name, nm) != 0)
			continue;
		if ((rc = bss_history_node(a, n, endpoint, out)) < 0)
			break;
	}
	ochami_inv_clear(&inv);
	if (rc < 0) {
		json_decref(out);
		return ochami_store_error(r, rc, NULL, "node", name ? name : "");
	}
	return http_reply_json(r, 200, out);
}
