/*
 * serve: the node-facing handlers (boot script, cloud-init, phone-home,
 * files, firmware) and health/metrics.  They need no API token: what a node gets is
 * bound to its MAC and DHCP lease, its signed seed token or an address it
 * alone holds (ident.h).
 *
 * Callers: the handlers are for routes.c's table only.  The two render
 * functions are also for api.c's previews, which show an operator what a
 * node would get; they run on MHD's worker threads like the handlers.
 */
#ifndef CORRAL_SERVE_H
#define CORRAL_SERVE_H

#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "bootsel.h"
#include "store.h"

struct app;

/* Handlers (r->ctx is the struct app). */
int serve_bootscript(struct http_req *r);
int serve_cloudinit(struct http_req *r);
int serve_phone_home(struct http_req *r);
int serve_files(struct http_req *r);
/* /firmware/: dhcp.ipxe_dir, for UEFI HTTP boot and anyone else. */
int serve_firmware(struct http_req *r);
int serve_healthz(struct http_req *r);
int serve_metrics(struct http_req *r);

/* Cap of one rendered cloud-init file. */
#define SERVE_CI_MAX (4u << 20)

/* cloud-init file by name: 0 meta-data, 1 user-data, 2 vendor-data, -1 none. */
int serve_cloudinit_kind(const char *file);
/* The text node_id gets for that kind, appended to out (no event recorded;
 * vendor-data holds the node's seed token of this window, in its
 * phone_home URL).  0, -ENOENT if the node is gone, or another negative
 * errno. */
int serve_render_cloudinit(struct app *a, int64_t node_id, int kind, struct buf *out);

/*
 * The script the node found by key=value gets now, appended to out (cap it
 * at BOOTSCRIPT_MAX).  retry as in the query.  record: count it in metrics
 * and add a boot event from client_ip (the node-facing route does; the API
 * preview does not).  0 or a negative errno.
 */
int serve_render_bootscript(struct app *a, enum bootsel_key key, const char *value, unsigned retry,
			    const char *client_ip, int record, struct buf *out);

/*
 * Renders the boot script a request for mac (normalised) will get into the
 * boot cache, under the key that request will have, unless it is there
 * and fresh: the pre-rendering (prerender.h) calls it for every node, so
 * that a storm's first request of each node is a hit.  1 rendered, 0 there
 * already or no such node, or a negative errno.
 */
int serve_prerender(struct app *a, const char *mac);
/* When the boot scripts rendered at now_us stop being fresh (their seed
 * token's window ends), microseconds. */
int64_t serve_window_end(struct app *a, int64_t now_us);

#endif
