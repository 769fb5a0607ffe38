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
	{GET, "/boot/v1/bootscript", N, N, 0, serve_bootscript, "bootscript", NODE},
	{GET, "/cloud-init/:/:", N, N, 0, serve_cloudinit, "cloud-init", NODE},
	{GET, "/cloud-init/:", N, N, 0, serve_cloudinit, "cloud-init", NODE},
	{POST, "/phone-home", N, N, FORM_MAX, serve_phone_home, "phone-home", NODE},
	{POST, "/phone-home/:", N, N, FORM_MAX, serve_phone_home, "phone-home", NODE},
	{GET, "/files/*", N, N, 0, serve_files, "files", NODE},
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
