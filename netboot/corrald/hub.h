/*
 * hub: live updates for the web page and `corral events --follow`, as
 * Server-Sent Events.
 *
 * Publishers (the events writer after each stored batch; the API after
 * each change) append records to a ring; each SSE client reads the
 * records after its own sequence number.  A client with nothing to read
 * is suspended (MHD_suspend_connection) instead of holding a worker
 * thread, and every publish resumes the suspended ones.  A client that
 * fell further behind than the ring holds gets a "resync" record and
 * should reload what it shows.
 *
 * Callers: corrald.c makes, closes and frees it; events.c, redfish.c and
 * routes.c publish (from any thread); api.c's stream handler answers with
 * hub_response().
 */
#ifndef CORRAL_HUB_H
#define CORRAL_HUB_H

#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"

#define HUB_RING 4096

struct hub;

int hub_new(struct hub **out);
/*
 * Ends every stream: waiting clients are resumed and see the end.  Call
 * before stopping the HTTP server (MHD wants suspended connections
 * resumed first); hub_free() after it.
 */
void hub_close(struct hub *h);
void hub_free(struct hub *h);
/* Appends "event: type" with data (stolen) and wakes the waiting clients. */
void hub_publish(struct hub *h, const char *type, json_t *data);
/* A comment line for every client, to keep idle connections open. */
void hub_ping(struct hub *h);
/* The SSE response for one client, starting at the current end of the ring. */
struct MHD_Response *hub_response(struct hub *h, struct MHD_Connection *conn);

#endif
