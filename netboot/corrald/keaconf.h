/*
 * keaconf: what corrald tells Kea (kea-dhcp4), and what it reads back from
 * it, as text.  Pure functions, tested against golden files: the generated
 * JSON configuration, the decoding of a lease's boot stage, and the Kea
 * log lines and control-socket replies corrald acts on.  Callers: kea.c
 * and the unit tests; no state, any thread.
 *
 * The configuration gives Kea what dnsmasq gets from dhcpconf, from the
 * same settings and inventory: the subnet; the pool for machines without a
 * reservation (pool_lease_time); one reservation per known interface, a
 * disabled one in a class whose requests are never answered; client
 * classes by option 93 from dhcpconf's one arch -> binary table, and by
 * iPXE's user class / option 175 for the chain to the boot script, with
 * iPXE's "do not wait for proxy offers" (175.176 = 1); next-server = the
 * TFTP server (corrald's dnsmasq on the same address).  Kea 2.2 has no
 * ping check, so offers never wait for one.
 *
 * Kea's lease file records no client class, so a lease's boot stage is
 * carried by its length: PXE firmware leases are KEACONF_PXE_SHORTER
 * seconds, iPXE leases KEACONF_IPXE_SHORTER seconds shorter than the
 * configured time (the OS gets it exactly).  keaconf_stage() reads it back.
 */
#ifndef CORRAL_KEACONF_H
#define CORRAL_KEACONF_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dhcpconf.h"
#include "store.h"

#define KEACONF_PXE_SHORTER 1
#define KEACONF_IPXE_SHORTER 2

struct keaconf {
	const char *interface;
	unsigned network, prefix;          /* boot subnet (host order) */
	const char *pool_start, *pool_end; /* "" = derived: upper half of the subnet */
	const char *server_ip;             /* dhcp.interface's address: TFTP and DNS server */
	const char *router;                /* "" = none */
	const char *domain;
	unsigned dns_port; /* 0 = no DNS server given to nodes */
	unsigned lease_time, pool_lease_time;
	const char *base_url;       /* corrald's advertised URL */
	const char *control_socket; /* unix socket for config-reload */
	const char *lease_file;     /* memfile CSV */
	unsigned threads;           /* Kea's packet threads */
};

/*
 * Kea's configuration with one reservation per host h[0..n) (as the store
 * lists them).  A pinned address outside the subnet (or its network or
 * broadcast address) is left out of its reservation: the interface gets a
 * pool address, as with dnsmasq.  0, -EINVAL for a bad pool, or -E2BIG.
 */
int keaconf_render(const struct keaconf *c, const struct store_dhcp_host *h, size_t n,
		   struct buf *out);

/* A lease's boot stage, read from its length. */
enum keaconf_stage { KEACONF_OS, KEACONF_PXE, KEACONF_IPXE };
/*
 * The stage of a lease valid_lifetime long: lease_time minus 0, 1 or 2
 * for a node Kea knew (known), pool_lease_time minus those for others;
 * when it fits neither the other set is tried, then OS.
 */
enum keaconf_stage keaconf_stage(unsigned valid_lifetime, unsigned lease_time,
				 unsigned pool_lease_time, bool known);

/*
 * A Kea log line (as kea.c's configuration makes Kea write them, "SEV
 * [logger] ID text") saying a client was given no address:
 * ALLOC_ENGINE_V4_ALLOC_FAIL_CLASSES.  A disabled node's request becomes
 * message "ignored" (as dnsmasq says it), others "no address available";
 * verb is DHCPDISCOVER (a disabled node's other requests are dropped
 * before that point).  0, or -ENOENT for any other line.
 */
int keaconf_log_refusal(const char *line, struct dhcp_refusal_log *out);
/* "DHCP4_STARTED": Kea has read its configuration and opened its sockets. */
bool keaconf_log_started(const char *line);
/*
 * A control-socket reply ({"result": N, "text": "..."}): *result N, the
 * text (cut to fit) in text[len].  0, or -EINVAL when it is not one.
 */
int keaconf_reply(const char *json, size_t len, int *result, char *text, size_t textlen);

#endif
