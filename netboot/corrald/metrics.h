/*
 * metrics: counters for /metrics (Prometheus text format).
 *
 * Counters are atomics, bumped from any worker thread without locks.  HTTP
 * requests are counted by route label (from the route table) and status.
 *
 * Callers: corrald.c makes and frees it with routes.h's labels; routes.c
 * (requests, file bytes), serve.c (boot scripts, the cache, /metrics) and
 * dhcp.c and kea.c (restarts, reloads, which DHCP server runs) count.
 */
#ifndef CORRAL_METRICS_H
#define CORRAL_METRICS_H

#include <stdint.h>

#include "buf.h"

enum metrics_boot {
	METRICS_BOOT_NODE,
	METRICS_BOOT_UNKNOWN,
	METRICS_BOOT_DISABLED,
	METRICS_BOOT_NOPROFILE,
	METRICS_BOOT_REFUSED, /* not tied to the node (ident.h): a script that waits */
	METRICS_BOOT_NOIMAGE, /* a profile without an image for the node's architecture */
	METRICS_BOOT_KINDS
};

struct metrics;

/* labels: one per route (index = route index); nlabels of them. */
int metrics_new(const char *const *labels, size_t nlabels, struct metrics **out);
void metrics_free(struct metrics *m);
/* route: index into labels, or -1 for requests that matched no route. */
void metrics_request(struct metrics *m, int route, unsigned status);
void metrics_bootscript(struct metrics *m, enum metrics_boot kind);
void metrics_file_bytes(struct metrics *m, uint64_t n);
void metrics_bootcache(struct metrics *m, int hit);
void metrics_dhcp_restart(struct metrics *m); /* dnsmasq */
void metrics_kea_restart(struct metrics *m);
void metrics_kea_reload(struct metrics *m);
/* The DHCP server now ("dnsmasq", "kea"; a static string), NULL when DHCP is off. */
void metrics_dhcp_backend(struct metrics *m, const char *name);
/* Appends the counters in Prometheus text format. */
int metrics_render(struct metrics *m, struct buf *out);

#endif
