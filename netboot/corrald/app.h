/*
 * app: the state corrald's request handlers share, wired by corrald.c.
 *
 * Handlers get it as the HTTP context (r->ctx).  The configuration and
 * the file root can be replaced by a reload while requests run: readers
 * take them with app_config()/app_files(); replaced ones are kept until
 * exit (a reload is rare; a use-after-free in a handler is not).
 */
#ifndef CORRAL_APP_H
#define CORRAL_APP_H

#include <stdatomic.h>
#include <stdint.h>

#include "auth.h"
#include "bootcache.h"
#include "config.h"
#include "events.h"
#include "files.h"
#include "http.h"
#include "hub.h"
#include "metrics.h"
#include "redfish.h"
#include "store.h"

struct app_retired; /* replaced configs and file roots, freed at exit */

struct app {
	_Atomic(struct config *) cfg;  /* current configuration */
	_Atomic(struct files *) files; /* current file root */
	struct store *store;
	struct events *events;
	struct metrics *metrics;
	struct bootcache *bootcache;
	struct hub *hub;         /* live updates (SSE) */
	struct redfish *redfish; /* BMC discovery and control jobs */
	unsigned char seed_key[AUTH_KEY_LEN];
	int64_t started_us;
	struct app_retired *retired;
};

static inline const struct config *app_config(struct app *a)
{
	return atomic_load(&a->cfg);
}

static inline struct files *app_files(struct app *a)
{
	return atomic_load(&a->files);
}

/* The route table (routes.c): dispatch, auth scopes, metrics labels. */
extern const struct http_route app_routes[];
extern const size_t app_nroutes;

/* http callbacks (routes.c). */
int app_auth(void *ctx, const char *token, enum http_scope *granted);
void app_done(void *ctx, const struct http_req *r);

/* Handlers: node-facing (serve.c) and operator API (api.c). */
int serve_bootscript(struct http_req *r);
int serve_cloudinit(struct http_req *r);
int serve_phone_home(struct http_req *r);
int serve_files(struct http_req *r);
int serve_firmware(struct http_req *r);
int serve_healthz(struct http_req *r);
int serve_metrics(struct http_req *r);

int api_nodes(struct http_req *r);
int api_node(struct http_req *r);
int api_nodes_import(struct http_req *r);
int api_node_events(struct http_req *r);
int api_node_bootscript(struct http_req *r);
int api_objects(struct http_req *r);
int api_object(struct http_req *r);
int api_defaults(struct http_req *r);
int api_discovered(struct http_req *r);
int api_discovered_one(struct http_req *r);
int api_discovered_adopt(struct http_req *r);
int api_tokens(struct http_req *r);
int api_token(struct http_req *r);
int api_status(struct http_req *r);
int api_stream(struct http_req *r);
int api_whoami(struct http_req *r);
int api_node_cloudinit(struct http_req *r);
int api_credentials(struct http_req *r);
int api_credential(struct http_req *r);
int api_discovery(struct http_req *r);
int api_job(struct http_req *r);
int api_jobs(struct http_req *r);
int api_bmcs(struct http_req *r);
int api_power(struct http_req *r);
int api_boot(struct http_req *r);

/* cloud-init files: kind by name (0 meta-data, 1 user-data, 2 vendor-data, -1);
 * the text a node gets, appended to out (no event). */
int serve_cloudinit_kind(const char *file);
int serve_render_cloudinit(struct app *a, int64_t node_id, int kind, struct buf *out);
#define SERVE_CI_MAX (4u << 20)

/* Renders the script the node found by key=value gets now (used by both
 * the node-facing route and the API's preview).  retry as in the query. */
int serve_render_bootscript(struct app *a, enum store_boot_key key, const char *value,
			    unsigned retry, const char *client_ip, int record, struct buf *out);

#endif
