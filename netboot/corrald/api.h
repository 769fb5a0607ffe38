/*
 * api: the operator REST API under /api/v1 (docs/api.md): inventory
 * (nodes, import, groups, images, profiles, defaults, discovered machines,
 * tokens, status, the live stream, previews) in api.c; Redfish
 * (credentials, discovery, BMCs, power, boot, jobs) in api_redfish.c.
 *
 * Callers: routes.c's table only.  Each handler runs on an MHD worker
 * thread with r->ctx the struct app; the route already checked the token's
 * scope and capped the body.  Every answer, errors too, goes out through
 * http.h's reply functions.
 */
#ifndef CORRAL_API_H
#define CORRAL_API_H

#include "http.h"

/* Inventory (api.c). */
int api_nodes(struct http_req *r);
int api_node(struct http_req *r);
int api_nodes_import(struct http_req *r);
int api_node_events(struct http_req *r);
int api_node_bootscript(struct http_req *r);
int api_node_cloudinit(struct http_req *r);
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

/* Redfish (api_redfish.c). */
int api_credentials(struct http_req *r);
int api_credential(struct http_req *r);
int api_discovery(struct http_req *r);
int api_job(struct http_req *r);
int api_jobs(struct http_req *r);
int api_bmcs(struct http_req *r);
int api_power(struct http_req *r);
int api_boot(struct http_req *r);

#endif
