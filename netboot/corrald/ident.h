/*
 * ident: node identity on the node-facing paths: which node, if any, a
 * request may be answered as (docs/security.md, "Node identity").
 *
 * A node's data (its boot script with the seed token, its cloud-init,
 * its phone-home) goes only to a requester Corral can tie to the node.
 * The ties, from the DHCP side's record of who holds which address now
 * (the store's leases, fed by corral-dhcp-hook, and the addresses
 * interfaces reserve) or from a seed token (auth.h):
 *
 *  - a boot script by MAC: when the MAC has a current lease, only to that
 *    address; when it has none (yet: iPXE may ask for its script before
 *    dnsmasq has run the hook of its first lease; or no DHCP here), to any
 *    address no machine but this node holds (a lease or a reservation);
 *  - by name or NID: only to an address held by that node and nobody else;
 *  - cloud-init without a token: only when exactly one node, and no other
 *    machine, holds the source address now;
 *  - phone-home: the seed token only (serve.c).
 *
 * [security] node_identity = token (config.h; the caller applies it) turns
 * every tie by address off: name and NID lookups and cloud-init without a
 * token are refused.
 *
 * Owns the rules, not the data: it reads the store's rows (leases,
 * interfaces) and decides.  Called by serve.c's handlers on MHD's worker
 * threads; thread-safe as the store is.  why gets a sentence for the
 * requester (it names addresses, never another machine's MAC or node).
 */
#ifndef CORRAL_IDENT_H
#define CORRAL_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Holders of one address looked at, at most (more are as good as several). */
#define IDENT_HOLDERS_MAX 8

/*
 * May the requester at src have the boot script of node_id, asked by its
 * interface mac?  now: Unix seconds.  0 yes; -EACCES no (why says so);
 * another negative errno from the store.
 */
int ident_check_mac(struct store *st, const char *mac, int64_t node_id, const char *src,
		    int64_t now, char *why, size_t len);

/*
 * May the requester at src be answered as node_id, named by name or NID?
 * Only if src is held by that node and by no other machine.  0, -EACCES
 * (why), or a store error.
 */
int ident_check_node(struct store *st, int64_t node_id, const char *src, int64_t now, char *why,
		     size_t len);

/*
 * The one node that holds src now, into *node_id: 0; -ENOENT nobody (or
 * only machines no node has); -ENOTUNIQ several machines (why says so);
 * or a store error.
 */
int ident_by_address(struct store *st, const char *src, int64_t now, int64_t *node_id, char *why,
		     size_t len);

#endif
