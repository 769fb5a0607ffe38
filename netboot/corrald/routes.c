/*
 * routes: the one route table.  It drives dispatch, 404/405 answers, the
 * scope each route needs (no route under /api/v1 is open: a test walks
 * this table) and the metrics labels.  docs/api.md lists the same routes.
 */
#include "routes.h"

#include <string.h>

#include "api.h"
#include "app.h"
#include "log.h"
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
	{GET, "/boot/v1/bootscript", N, N, 0, serve_bootscript, "bootscript"},
	{GET, "/cloud-init/:/:", N, N, 0, serve_cloudinit, "cloud-init"},
	{GET, "/cloud-init/:", N, N, 0, serve_cloudinit, "cloud-init"},
	{POST, "/phone-home", N, N, FORM_MAX, serve_phone_home, "phone-home"},
	{POST, "/phone-home/:", N, N, FORM_MAX, serve_phone_home, "phone-home"},
	{POST, "/boot/v1/report/:", N, N, FORM_MAX, nodereport_serve, "report"},
	{GET, "/files/*", N, N, 0, serve_files, "files"},
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
	int scope;
	auth_token_hash(token, hash);
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
