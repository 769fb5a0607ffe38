/*
 * routes: corrald's one route table and the callbacks http calls for it.  The table drives dispatch, the 404/405 answers, the scope each
 * route needs, the metrics labels (one per entry, in table order) and
 * docs/api.md (test_routes.c holds the two against each other, both ways).
 *
 * Callers: corrald.c hands the table and the callbacks to
 * http_server_start() and the labels to metrics_new(); the unit tests do
 * the same.  The table is constant; the callbacks run on MHD's worker
 * threads with the struct app (app.h) as their context (the two path
 * rules take none).
 */
#ifndef CORRAL_ROUTES_H
#define CORRAL_ROUTES_H

#include <stddef.h>

#include "auth.h"
#include "http.h"

extern const struct http_route routes_table[];
extern const size_t routes_count;

/* http_auth_fn: looks the bearer token up in the store (also when it comes
 * in the JWT envelope `ochami` needs: ochami_bearer()); *granted is READ or
 * ADMIN.  0, or -ENOENT for an unknown token (another negative errno if the
 * store fails). */
int routes_auth(void *ctx, const char *token, enum auth_scope *granted);
/* http_done_fn: metrics, the inventory live update after a successful API
 * write, bytes served from /files, the access log. */
void routes_done(void *ctx, const struct http_req *r);
/* http_error_body_fn: RFC 7807 problem details on OpenCHAMI's BSS and SMD
 * paths (ochami.h), NULL (Corral's error body) everywhere else. */
json_t *routes_error_body(const char *path, unsigned status, const char *code, const char *message,
			  const char **ctype);
/* http_untyped_fn: OpenCHAMI's clients send JSON bodies without a
 * Content-Type; on their paths that is read as JSON. */
int routes_untyped_json(const char *path);

#endif
