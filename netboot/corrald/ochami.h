/*
 * ochami: OpenCHAMI's service APIs over Corral's own inventory, so that
 * `ochami`, magellan and scripts written for OpenCHAMI work against
 * corrald (docs/openchami.md): BSS under /boot/v1 (ochami_bss.c), SMD
 * under /hsm/v2 (ochami_smd.c; its RedfishEndpoints in ochami_rfe.c) and
 * the cloud-init server under /cloud-init (ochami_ci.c).  There is no
 * second copy of anything: every answer is read from the store, every
 * write is a write of Corral's nodes, groups, profiles, defaults and BMCs
 * through store.h, as an operator would make it with the CLI.
 *
 * This file (ochami.c) holds what the four share: which service a path
 * belongs to, the RFC 7807 problem details BSS and SMD answer errors with
 * (http.c asks for them through the error_body hook, so every error on
 * those paths, http.c's own 401/404/405/413 too, has that shape and no
 * other), the body reader, a snapshot of the nodes with lookups by name,
 * MAC and NID, and the one place where store results become answers.
 *
 * Callers: routes.c (the handlers in its table; ochami_error_body,
 * ochami_untyped_json and ochami_bearer behind its http.h callbacks).
 * Handlers run on MHD's worker threads with r->ctx the struct app.
 */
#ifndef CORRAL_OCHAMI_H
#define CORRAL_OCHAMI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "http.h"
#include "store.h"

/* ---- handlers (routes.c) --------------------------------------------------- */

/* BSS (ochami_bss.c). */
int ochami_bss_bootparameters(struct http_req *r);
int ochami_bss_bootscript(struct http_req *r);
int ochami_bss_hosts(struct http_req *r);
int ochami_bss_dumpstate(struct http_req *r);
int ochami_bss_service(struct http_req *r);
int ochami_bss_history(struct http_req *r);

/* SMD (ochami_smd.c). */
int ochami_smd_service(struct http_req *r);
int ochami_smd_components(struct http_req *r);
int ochami_smd_component(struct http_req *r);
int ochami_smd_component_nid(struct http_req *r);
int ochami_smd_components_query(struct http_req *r);
int ochami_smd_bulk_nid(struct http_req *r);
int ochami_smd_ifaces(struct http_req *r);
int ochami_smd_iface(struct http_req *r);
int ochami_smd_iface_ips(struct http_req *r);
int ochami_smd_groups(struct http_req *r);
int ochami_smd_group_labels(struct http_req *r);
int ochami_smd_group(struct http_req *r);
int ochami_smd_group_members(struct http_req *r);
int ochami_smd_group_member(struct http_req *r);
int ochami_smd_memberships(struct http_req *r);

/* SMD's RedfishEndpoints (ochami_rfe.c). */
int ochami_rfe_list(struct http_req *r);
int ochami_rfe_one(struct http_req *r);

/* cloud-init server (ochami_ci.c). */
int ochami_ci_defaults(struct http_req *r);
int ochami_ci_groups(struct http_req *r);
int ochami_ci_group(struct http_req *r);
int ochami_ci_instance_info(struct http_req *r);
int ochami_ci_impersonate(struct http_req *r);
int ochami_ci_node_file(struct http_req *r);
int ochami_ci_phone_home(struct http_req *r);

/* ---- http.h hooks (corrald.c) ---------------------------------------------- */

/* http_error_body_fn: problem details under /boot/v1 and /hsm/v2, else NULL. */
json_t *ochami_error_body(const char *path, unsigned status, const char *code, const char *message,
			  const char **ctype);
/* http_untyped_fn: 1 on OpenCHAMI's admin paths (ochami sends bodies
 * without Content-Type), 0 elsewhere. */
int ochami_untyped_json(const char *path);

/*
 * A bearer token in a JWT envelope (what `ochami` insists on sending): the
 * Corral token its payload's "corral_token" holds, into out.  0; -ENOENT
 * when bearer is no JWT (use it as it is); -EINVAL for a JWT without one.
 * For routes.c's auth callback.
 */
int ochami_bearer(const char *bearer, char *out, size_t outlen);

/* ---- shared by the ochami_*.c files ------------------------------------------ */

enum ochami_service { OCHAMI_NONE, OCHAMI_BSS, OCHAMI_SMD, OCHAMI_CI };
enum ochami_service ochami_service_of(const char *path);

/*
 * The request body as JSON: an object, or an array when allow_array.  NULL
 * when a 400 went out instead (no body, too deep, not JSON, wrong type).
 */
json_t *ochami_body(struct http_req *r, bool allow_array);

/*
 * Answers for a store result rc < 0 (404, 409, 400 for a reference to a
 * missing object, 500): through http_reply_error, so in the path's shape.
 * se may be NULL.  Returns what the reply returned.
 */
int ochami_store_error(struct http_req *r, int rc, const struct store_err *se, const char *what,
		       const char *name);

/*
 * Answers status (400, 404 or 409) with a printf-style message, in the
 * path's shape, and returns -EINVAL, so that a caller can
 * `return ochami_fail(…)` from a check.
 */
int ochami_fail(struct http_req *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Every value of query argument key, joined with ',' (Go's r.Form[key] as
 * BSS joins it: `ochami` repeats a key, "mac=a&mac=b"); a new string
 * (free()), or NULL when the key is absent or the values exceed 16 KiB.
 */
char *ochami_query_all(struct http_req *r, const char *key);

/* Member key of o as Go's encoding/json finds it: exact, else in any case. */
json_t *ochami_get(json_t *o, const char *key);
const char *ochami_str(json_t *o, const char *key);
/* 201 with {"URI": uri} (array: [{"URI": uri}]) and Location: uri, as
 * SMD answers a creation. */
int ochami_created(struct http_req *r, const char *uri, bool array);

/* SMD's small success body {"code":0,"message":…} with status. */
int ochami_smd_message(struct http_req *r, unsigned status, const char *message);

/*
 * Every node, as store_node_get() gives it, read once: the lookups below
 * borrow from it.  ochami_inv_load answers 500 itself when it fails (then
 * returns < 0 and the handler returns 0).
 */
struct ochami_inv {
	json_t *nodes; /* array, ordered by name */
};
int ochami_inv_load(struct http_req *r, struct ochami_inv *inv);
void ochami_inv_clear(struct ochami_inv *inv);
json_t *ochami_inv_by_name(const struct ochami_inv *inv, const char *name);
/* mac in normal form (valid_mac_normalize). */
json_t *ochami_inv_by_mac(const struct ochami_inv *inv, const char *mac);
json_t *ochami_inv_by_nid(const struct ochami_inv *inv, long long nid);

/* A complete node object with Corral's defaults (as the API fills them). */
json_t *ochami_node_new(const char *name);
/* 1 if name is the xname of a node (x<cabinet>c<chassis>s<slot>b<bmc>n<node>). */
int ochami_is_node_xname(const char *name);

/*
 * Stores nodes (an array of complete node objects) in one transaction,
 * all or nothing (store_node_import).  0, or < 0 after an answer went out
 * (409 naming the field, 500).
 */
int ochami_nodes_write(struct http_req *r, json_t *nodes);

/* The node's interfaces' MACs, a new array. */
json_t *ochami_node_macs(json_t *node);
/* SMD's Component object for a Corral node (a new object). */
json_t *ochami_component(json_t *node);

struct app;
/* BSS: the boot parameters of every node that boots, every group with a
 * profile and "Default" (the defaults), as GET /bootparameters lists them. */
json_t *ochami_bss_all(struct app *a, const struct ochami_inv *inv);

#endif
