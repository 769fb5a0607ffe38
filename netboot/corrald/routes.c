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
#define IMPORT_MAX (64u << 20)
#define FORM_MAX (64u << 10)

const struct http_route routes_table[] = {
	/* node-facing and health: no token */
	{GET, "/healthz", N, N, 0, serve_healthz, "healthz"},
	{GET, "/metrics", N, N, 0, serve_metrics, "metrics"},
	{GET, "/boot/v1/bootscript", N, N, 0, ochami_bss_bootscript, "bootscript"},
	/* OpenCHAMI's cloud-init server: admin paths first (the node-facing
	 * patterns below would match them too) */
	{GET | POST, "/cloud-init/admin/cluster-defaults", R, A, 0, ochami_ci_defaults,
	 "ci_defaults"},
	{GET | POST, "/cloud-init/admin/groups", R, A, 0, ochami_ci_groups, "ci_groups"},
	{GET | PUT | DEL, "/cloud-init/admin/groups/:", R, A, 0, ochami_ci_group, "ci_group"},
	{PUT, "/cloud-init/admin/instance-info/:", R, A, 0, ochami_ci_instance_info,
	 "ci_instance_info"},
	{GET, "/cloud-init/admin/impersonation/:/:", R, A, 0, ochami_ci_impersonate,
	 "ci_impersonation"},
	{POST, "/cloud-init/phone-home/:", N, N, FORM_MAX, ochami_ci_phone_home, "ci_phone_home"},
	/* NoCloud files (serve.c) and OpenCHAMI's {group}.yaml (ochami_ci.c) */
	{GET, "/cloud-init/:/:", N, N, 0, ochami_ci_node_file, "cloud-init"},
	{GET, "/cloud-init/:", N, N, 0, ochami_ci_node_file, "cloud-init"},
	{POST, "/phone-home", N, N, FORM_MAX, serve_phone_home, "phone-home"},
	{POST, "/phone-home/:", N, N, FORM_MAX, serve_phone_home, "phone-home"},
	{POST, "/boot/v1/report/:", N, N, FORM_MAX, nodereport_serve, "report"},
	{GET, "/files/*", N, N, 0, serve_files, "files"},
	{GET, "/firmware/*", N, N, 0, serve_firmware, "firmware"},
	/* OpenCHAMI's BSS (docs/openchami.md): inventory behind the API's tokens */
	{GET | POST | PUT | PATCH | DEL, "/boot/v1/bootparameters", R, A, 0,
	 ochami_bss_bootparameters, "bss_bootparameters"},
	{GET | POST, "/boot/v1/hosts", R, A, 0, ochami_bss_hosts, "bss_hosts"},
	{GET, "/boot/v1/dumpstate", R, A, 0, ochami_bss_dumpstate, "bss_dumpstate"},
	{GET, "/boot/v1/endpoint-history", R, A, 0, ochami_bss_history, "bss_endpoint_history"},
	{GET, "/boot/v1/service/*", N, N, 0, ochami_bss_service, "bss_service"},
	/* OpenCHAMI's SMD */
	{GET, "/hsm/v2/service/*", N, N, 0, ochami_smd_service, "smd_service"},
	{GET | POST | DEL, "/hsm/v2/State/Components", R, A, 0, ochami_smd_components,
	 "smd_components"},
	{POST, "/hsm/v2/State/Components/Query", R, A, 0, ochami_smd_components_query,
	 "smd_components_query"},
	{PATCH, "/hsm/v2/State/Components/BulkNID", R, A, 0, ochami_smd_bulk_nid, "smd_bulk_nid"},
	{GET, "/hsm/v2/State/Components/ByNID/:", R, A, 0, ochami_smd_component_nid,
	 "smd_component_nid"},
	{GET | PUT | DEL, "/hsm/v2/State/Components/:", R, A, 0, ochami_smd_component,
	 "smd_component"},
	{GET | POST | DEL, "/hsm/v2/Inventory/EthernetInterfaces", R, A, 0, ochami_smd_ifaces,
	 "smd_ifaces"},
	{GET | PATCH | DEL, "/hsm/v2/Inventory/EthernetInterfaces/:", R, A, 0, ochami_smd_iface,
	 "smd_iface"},
	{GET, "/hsm/v2/Inventory/EthernetInterfaces/:/IPAddresses", R, A, 0, ochami_smd_iface_ips,
	 "smd_iface_ips"},
	{GET | POST | DEL, "/hsm/v2/Inventory/RedfishEndpoints", R, A, 0, ochami_rfe_list,
	 "smd_rfes"},
	{GET | PUT | DEL, "/hsm/v2/Inventory/RedfishEndpoints/:", R, A, 0, ochami_rfe_one,
	 "smd_rfe"},
	{GET | POST, "/hsm/v2/groups", R, A, 0, ochami_smd_groups, "smd_groups"},
	{GET, "/hsm/v2/groups/labels", R, A, 0, ochami_smd_group_labels, "smd_group_labels"},
	{GET | PATCH | DEL, "/hsm/v2/groups/:", R, A, 0, ochami_smd_group, "smd_group"},
	{GET | POST | PUT, "/hsm/v2/groups/:/members", R, A, 0, ochami_smd_group_members,
	 "smd_group_members"},
	{DEL, "/hsm/v2/groups/:/members/:", R, A, 0, ochami_smd_group_member, "smd_group_member"},
	{GET, "/hsm/v2/memberships", R, A, 0, ochami_smd_memberships, "smd_memberships"},
	{GET, "/hsm/v2/memberships/:", R, A, 0, ochami_smd_memberships, "smd_membership"},
	/* the web page (files only; its data comes from the API with a token) */
	{GET, "/", N, N, 0, ui_redirect, "ui"},
	{GET, "/ui", N, N, 0, ui_redirect, "ui"},
	{GET, "/ui/", N, N, 0, ui_serve, "ui"},
	{GET, "/ui/*", N, N, 0, ui_serve, "ui"},
	/* operator API */
	{GET | POST, "/api/v1/nodes", R, A, 0, api_nodes, "api_nodes"},
	{POST, "/api/v1/nodes/import", R, A, IMPORT_MAX, api_nodes_import, "api_nodes_import"},
	{GET | PUT | PATCH | DEL, "/api/v1/nodes/:", R, A, 0, api_node, "api_node"},
	{GET, "/api/v1/nodes/:/events", R, A, 0, api_node_events, "api_node_events"},
	{GET, "/api/v1/nodes/:/bootscript", R, A, 0, api_node_bootscript, "api_node_bootscript"},
	{GET | POST, "/api/v1/groups", R, A, 0, api_objects, "api_groups"},
	{GET | PUT | PATCH | DEL, "/api/v1/groups/:", R, A, 0, api_object, "api_group"},
	{GET | POST, "/api/v1/images", R, A, 0, api_objects, "api_images"},
	{GET | PUT | PATCH | DEL, "/api/v1/images/:", R, A, 0, api_object, "api_image"},
	{GET | POST, "/api/v1/profiles", R, A, 0, api_objects, "api_profiles"},
	{GET | PUT | PATCH | DEL, "/api/v1/profiles/:", R, A, 0, api_object, "api_profile"},
	{GET | PUT | PATCH, "/api/v1/defaults", R, A, 0, api_defaults, "api_defaults"},
	{GET, "/api/v1/discovered", R, A, 0, api_discovered, "api_discovered"},
	{DEL, "/api/v1/discovered/:", R, A, 0, api_discovered_one, "api_discovered_one"},
	{POST, "/api/v1/discovered/:/adopt", R, A, 0, api_discovered_adopt, "api_discovered_adopt"},
	{GET | POST, "/api/v1/tokens", A, A, 0, api_tokens, "api_tokens"},
	{DEL, "/api/v1/tokens/:", A, A, 0, api_token, "api_token"},
	{GET, "/api/v1/status", R, A, 0, api_status, "api_status"},
	{GET, "/api/v1/stream", R, A, 0, api_stream, "api_stream"},
	{GET, "/api/v1/whoami", R, A, 0, api_whoami, "api_whoami"},
	{GET, "/api/v1/nodes/:/cloud-init/:", R, A, 0, api_node_cloudinit, "api_node_cloudinit"},
	/* Redfish */
	{GET | POST, "/api/v1/credentials", A, A, 0, api_credentials, "api_credentials"},
	{DEL, "/api/v1/credentials/:", A, A, 0, api_credential, "api_credential"},
	{POST, "/api/v1/discovery", R, A, 0, api_discovery, "api_discovery"},
	{GET, "/api/v1/discovery/:", R, A, 0, api_job, "api_job"},
	{GET, "/api/v1/jobs", R, A, 0, api_jobs, "api_jobs"},
	{GET, "/api/v1/jobs/:", R, A, 0, api_job, "api_job"},
	{GET, "/api/v1/bmcs", R, A, 0, api_bmcs, "api_bmcs"},
	{DEL, "/api/v1/bmcs/:", R, A, 0, api_bmcs, "api_bmc"},
	{POST, "/api/v1/power", R, A, 0, api_power, "api_power"},
	{POST, "/api/v1/boot", R, A, 0, api_boot, "api_boot"},
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
