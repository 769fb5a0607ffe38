/*
 * routes: the one route table.  It drives dispatch, 404/405 answers, the
 * scope each route needs (no route under /api/v1 is open: a test walks
 * this table) and the metrics labels.  docs/api.md lists the same routes.
 * OpenCHAMI's BSS, SMD and cloud-init paths (ochami.h) share the API's
 * tokens and scopes; their error shape and untyped bodies are ochami's.
 */
#include "routes.h"

#include <errno.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "log.h"
#include "ochami.h"
#include "nodereport.h"
#include "serve.h"
#include "ui.h"

#define R AUTH_SCOPE_READ
#define A AUTH_SCOPE_ADMIN
#define N AUTH_SCOPE_NONE
#define GET HTTP_GET
#define POST HTTP_POST
#define PUT HTTP_PUT
#define PATCH HTTP_PATCH
#define DEL HTTP_DELETE
#define NODE HTTP_SIDE_NODE   /* the node-facing listener (plain HTTP) */
#define OP HTTP_SIDE_OPERATOR /* the operator's listener (HTTPS) */
#define BOTH HTTP_SIDE_BOTH
#define IMPORT_MAX (64u << 20)
#define FORM_MAX (64u << 10)

const struct http_route routes_table[] = {
	/* node-facing and health: no token; health and metrics on both listeners */
	{GET, "/healthz", N, N, 0, serve_healthz, "healthz", BOTH},
	{GET, "/metrics", N, N, 0, serve_metrics, "metrics", BOTH},
	{GET, "/boot/v1/bootscript", N, N, 0, ochami_bss_bootscript, "bootscript", NODE},
	/* OpenCHAMI's cloud-init server: admin paths first (the node-facing
	 * patterns below would match them too) */
	{GET | POST, "/cloud-init/admin/cluster-defaults", R, A, 0, ochami_ci_defaults,
	 "ci_defaults", OP},
	{GET | POST, "/cloud-init/admin/groups", R, A, 0, ochami_ci_groups, "ci_groups", OP},
	{GET | PUT | DEL, "/cloud-init/admin/groups/:", R, A, 0, ochami_ci_group, "ci_group", OP},
	{PUT, "/cloud-init/admin/instance-info/:", R, A, 0, ochami_ci_instance_info,
	 "ci_instance_info", OP},
	{GET, "/cloud-init/admin/impersonation/:/:", R, A, 0, ochami_ci_impersonate,
	 "ci_impersonation", OP},
	{POST, "/cloud-init/phone-home/:", N, N, FORM_MAX, ochami_ci_phone_home, "ci_phone_home",
	 NODE},
	/* NoCloud files (serve.c) and OpenCHAMI's {group}.yaml (ochami_ci.c) */
	{GET, "/cloud-init/:/:", N, N, 0, ochami_ci_node_file, "cloud-init", NODE},
	{GET, "/cloud-init/:", N, N, 0, ochami_ci_node_file, "cloud-init", NODE},
	{POST, "/phone-home", N, N, FORM_MAX, serve_phone_home, "phone-home", NODE},
	{POST, "/phone-home/:", N, N, FORM_MAX, serve_phone_home, "phone-home", NODE},
	{POST, "/boot/v1/report/:", N, N, FORM_MAX, nodereport_serve, "report", NODE},
	{GET, "/files/*", N, N, 0, serve_files, "files", NODE},
	{GET, "/firmware/*", N, N, 0, serve_firmware, "firmware", NODE},
	/* OpenCHAMI's BSS (docs/openchami.md): inventory behind the API's tokens */
	{GET | POST | PUT | PATCH | DEL, "/boot/v1/bootparameters", R, A, 0,
	 ochami_bss_bootparameters, "bss_bootparameters", OP},
	{GET | POST, "/boot/v1/hosts", R, A, 0, ochami_bss_hosts, "bss_hosts", OP},
	{GET, "/boot/v1/dumpstate", R, A, 0, ochami_bss_dumpstate, "bss_dumpstate", OP},
	{GET, "/boot/v1/endpoint-history", R, A, 0, ochami_bss_history, "bss_endpoint_history", OP},
	{GET, "/boot/v1/service/*", N, N, 0, ochami_bss_service, "bss_service", BOTH},
	/* OpenCHAMI's SMD */
	{GET, "/hsm/v2/service/*", N, N, 0, ochami_smd_service, "smd_service", BOTH},
	{GET | POST | DEL, "/hsm/v2/State/Components", R, A, 0, ochami_smd_components,
	 "smd_components", OP},
	{POST, "/hsm/v2/State/Components/Query", R, A, 0, ochami_smd_components_query,
	 "smd_components_query", OP},
	{PATCH, "/hsm/v2/State/Components/BulkNID", R, A, 0, ochami_smd_bulk_nid, "smd_bulk_nid",
	 OP},
	{GET, "/hsm/v2/State/Components/ByNID/:", R, A, 0, ochami_smd_component_nid,
	 "smd_component_nid", OP},
	{GET | PUT | DEL, "/hsm/v2/State/Components/:", R, A, 0, ochami_smd_component,
	 "smd_component", OP},
	{GET | POST | DEL, "/hsm/v2/Inventory/EthernetInterfaces", R, A, 0, ochami_smd_ifaces,
	 "smd_ifaces", OP},
	{GET | PATCH | DEL, "/hsm/v2/Inventory/EthernetInterfaces/:", R, A, 0, ochami_smd_iface,
	 "smd_iface", OP},
	{GET, "/hsm/v2/Inventory/EthernetInterfaces/:/IPAddresses", R, A, 0, ochami_smd_iface_ips,
	 "smd_iface_ips", OP},
	{GET | POST | DEL, "/hsm/v2/Inventory/RedfishEndpoints", R, A, 0, ochami_rfe_list,
	 "smd_rfes", OP},
	{GET | PUT | DEL, "/hsm/v2/Inventory/RedfishEndpoints/:", R, A, 0, ochami_rfe_one,
	 "smd_rfe", OP},
	{GET | POST, "/hsm/v2/groups", R, A, 0, ochami_smd_groups, "smd_groups", OP},
	{GET, "/hsm/v2/groups/labels", R, A, 0, ochami_smd_group_labels, "smd_group_labels", OP},
	{GET | PATCH | DEL, "/hsm/v2/groups/:", R, A, 0, ochami_smd_group, "smd_group", OP},
	{GET | POST | PUT, "/hsm/v2/groups/:/members", R, A, 0, ochami_smd_group_members,
	 "smd_group_members", OP},
	{DEL, "/hsm/v2/groups/:/members/:", R, A, 0, ochami_smd_group_member, "smd_group_member",
	 OP},
	{GET, "/hsm/v2/memberships", R, A, 0, ochami_smd_memberships, "smd_memberships", OP},
	{GET, "/hsm/v2/memberships/:", R, A, 0, ochami_smd_memberships, "smd_membership", OP},
	/* the web page (files only; its data comes from the API with a token) */
	{GET, "/", N, N, 0, ui_redirect, "ui", OP},
	{GET, "/ui", N, N, 0, ui_redirect, "ui", OP},
	{GET, "/ui/", N, N, 0, ui_serve, "ui", OP},
	{GET, "/ui/*", N, N, 0, ui_serve, "ui", OP},
	/* operator API */
	{GET | POST, "/api/v1/nodes", R, A, 0, api_nodes, "api_nodes", OP},
	{POST, "/api/v1/nodes/import", R, A, IMPORT_MAX, api_nodes_import, "api_nodes_import", OP},
	{GET | PUT | PATCH | DEL, "/api/v1/nodes/:", R, A, 0, api_node, "api_node", OP},
	{GET, "/api/v1/nodes/:/events", R, A, 0, api_node_events, "api_node_events", OP},
	{GET, "/api/v1/nodes/:/bootscript", R, A, 0, api_node_bootscript, "api_node_bootscript",
	 OP},
	{GET | POST, "/api/v1/groups", R, A, 0, api_objects, "api_groups", OP},
	{GET | PUT | PATCH | DEL, "/api/v1/groups/:", R, A, 0, api_object, "api_group", OP},
	{GET | POST, "/api/v1/images", R, A, 0, api_objects, "api_images", OP},
	{GET | PUT | PATCH | DEL, "/api/v1/images/:", R, A, 0, api_object, "api_image", OP},
	{GET | POST, "/api/v1/profiles", R, A, 0, api_objects, "api_profiles", OP},
	{GET | PUT | PATCH | DEL, "/api/v1/profiles/:", R, A, 0, api_object, "api_profile", OP},
	{GET | PUT | PATCH, "/api/v1/defaults", R, A, 0, api_defaults, "api_defaults", OP},
	{GET, "/api/v1/discovered", R, A, 0, api_discovered, "api_discovered", OP},
	{DEL, "/api/v1/discovered/:", R, A, 0, api_discovered_one, "api_discovered_one", OP},
	{POST, "/api/v1/discovered/:/adopt", R, A, 0, api_discovered_adopt, "api_discovered_adopt",
	 OP},
	{GET | POST, "/api/v1/tokens", A, A, 0, api_tokens, "api_tokens", OP},
	{DEL, "/api/v1/tokens/:", A, A, 0, api_token, "api_token", OP},
	{GET, "/api/v1/status", R, A, 0, api_status, "api_status", OP},
	{GET, "/api/v1/stream", R, A, 0, api_stream, "api_stream", OP},
	{GET, "/api/v1/whoami", R, A, 0, api_whoami, "api_whoami", OP},
	{GET, "/api/v1/nodes/:/cloud-init/:", R, A, 0, api_node_cloudinit, "api_node_cloudinit",
	 OP},
	/* Redfish */
	{GET | POST, "/api/v1/credentials", A, A, 0, api_credentials, "api_credentials", OP},
	{DEL, "/api/v1/credentials/:", A, A, 0, api_credential, "api_credential", OP},
	{POST, "/api/v1/discovery", R, A, 0, api_discovery, "api_discovery", OP},
	{GET, "/api/v1/discovery/:", R, A, 0, api_job, "api_job", OP},
	{GET, "/api/v1/jobs", R, A, 0, api_jobs, "api_jobs", OP},
	{GET, "/api/v1/jobs/:", R, A, 0, api_job, "api_job", OP},
	{GET, "/api/v1/bmcs", R, A, 0, api_bmcs, "api_bmcs", OP},
	{DEL, "/api/v1/bmcs/:", R, A, 0, api_bmcs, "api_bmc", OP},
	{POST, "/api/v1/power", R, A, 0, api_power, "api_power", OP},
	{POST, "/api/v1/boot", R, A, 0, api_boot, "api_boot", OP},
};

const size_t routes_count = sizeof(routes_table) / sizeof(routes_table[0]);

int routes_auth(void *ctx, const char *token, enum auth_scope *granted)
{
	struct app *a = ctx;
	unsigned char hash[AUTH_HASH_LEN];
	char inner[AUTH_TOKEN_LEN + 8];
	int scope;
	int env = ochami_bearer(token, inner, sizeof(inner)); /* ochami's JWT envelope */
	if (env == -EINVAL)
		return -ENOENT;
	auth_token_hash(env == 0 ? inner : token, hash);
	int rc = store_token_find(a->store, hash, &scope);
	if (rc < 0)
		return rc;
	*granted = scope >= AUTH_SCOPE_ADMIN ? AUTH_SCOPE_ADMIN : AUTH_SCOPE_READ;
	return 0;
}

void routes_done(void *ctx, const struct http_req *r)
{
	struct app *a = ctx;
	int idx = r->route ? (int)(r->route - routes_table) : -1;
	store_release(a->store);
	metrics_request(a->metrics, idx, r->status);
	/* A change through the API: live pages reload what they show. */
	if (r->route != NULL && !(r->method_id & (HTTP_GET | HTTP_HEAD)) &&
	    r->route->write_scope > AUTH_SCOPE_NONE && r->status >= 200 && r->status < 300)
		hub_publish(a->hub, "inventory",
			    json_pack("{s:s, s:s, s:s}", "method", r->method, "path", r->path,
				      "route", r->route->label));
	if (r->route != NULL && r->route->handler == serve_files)
		metrics_file_bytes(a->metrics, r->bytes_out);
	log_debug("%s %s %s %u %llu", r->client_ip, r->method, r->path, r->status,
		  (unsigned long long)r->bytes_out);
}

json_t *routes_error_body(const char *path, unsigned status, const char *code, const char *message,
			  const char **ctype)
{
	return ochami_error_body(path, status, code, message, ctype);
}

int routes_untyped_json(const char *path)
{
	return ochami_untyped_json(path);
}
