/*
 * routes: corrald's one route table and the two callbacks http calls for
 * it.  The table drives dispatch, the 404/405 answers, the scope each
 * route needs, the metrics labels (one per entry, in table order) and
 * docs/api.md (test_routes.c holds the two against each other, both ways).
 *
 * Callers: corrald.c hands the table and the callbacks to
 * http_server_start() and the labels to metrics_new(); the unit tests do
 * the same.  The table is constant; the callbacks run on MHD's worker
 * threads with the struct app (app.h) as their context.
 */
#ifndef CORRAL_ROUTES_H
#define CORRAL_ROUTES_H

#include <stddef.h>

#include "auth.h"
#include "http.h"

extern const struct http_route routes_table[];
extern const size_t routes_count;

/* http_auth_fn: looks the bearer token up in the store; *granted is READ or
 * ADMIN.  0, or -ENOENT for an unknown token (another negative errno if the
 * store fails). */
int routes_auth(void *ctx, const char *token, enum auth_scope *granted);
/* http_done_fn: metrics, the inventory live update after a successful API
 * write, bytes served from /files, the access log. */
void routes_done(void *ctx, const struct http_req *r);

#endif
