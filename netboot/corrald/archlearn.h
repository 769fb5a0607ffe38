/*
 * archlearn: records the architecture a booting machine said it is on its
 * node (store_node_learn_arch: never over one set by hand) and puts a
 * change on the node's timeline.  Called by dhcp.c (a lease event's option
 * 93) and serve.c (iPXE's ${buildarch} on the boot-script URL); any thread
 * the store and the event queue allow.
 */
#ifndef CORRAL_ARCHLEARN_H
#define CORRAL_ARCHLEARN_H

#include <stdint.h>

#include "events.h"
#include "store.h"

/*
 * arch (Corral's name; NULL: nothing said) from source ("dhcp" or
 * "ipxe") for node (0: no node, nothing done); stage, ip and how go on the
 * timeline event ("arch aarch64 learned from <how>") when the arch
 * changed.  A store failure is logged once here: booting goes on.
 */
void archlearn_record(struct store *st, struct events *ev, int64_t node, const char *arch,
		      const char *source, const char *stage, const char *ip, const char *how);
/* archlearn_record() of what a corral-dhcp-hook line says (dhcpstate_hook_arch). */
void archlearn_hook(struct store *st, struct events *ev, int64_t node, const char *line,
		    const char *ip);

#endif
