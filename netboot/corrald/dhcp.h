/*
 * dhcp: corrald's DHCP/TFTP side, dnsmasq run as a supervised child.
 *
 * Owns a state directory: the generated dnsmasq.conf, one dhcp-hostsdir
 * file per known interface, a DNS hostsdir, the TFTP root (iPXE binaries
 * and autoexec.ipxe) and the hook socket.  One thread does everything:
 * restarts dnsmasq with back-off when it dies (logged and counted), logs
 * its output, keeps the host files in step with the store (new files are
 * picked up by dnsmasq's inotify; changes and removals are followed by a
 * SIGHUP), and answers corral-dhcp-hook, which forwards dnsmasq's lease
 * events: leases are kept in the store (dnsmasq runs leasefile-ro), DHCP
 * and TFTP steps become boot events, unknown MACs become discovered.
 *
 * Everything behind this interface is dnsmasq-specific, so another DHCP
 * backend can replace it without touching the rest.
 */
#ifndef CORRAL_DHCP_H
#define CORRAL_DHCP_H

#include <stdint.h>

#include "config.h"
#include "events.h"
#include "metrics.h"
#include "store.h"

struct dhcp;

/* Starts the DHCP side per cfg (dhcp.mode off: *out = NULL, returns 0). */
int dhcp_start(const struct config *cfg, struct store *st, struct events *ev, struct metrics *m,
	       struct dhcp **out);
/* Stops dnsmasq and the thread.  NULL is a no-op. */
void dhcp_free(struct dhcp *d);
/* dnsmasq's PID now (0 if not running), for tests and status. */
int dhcp_pid(struct dhcp *d);

#endif
