/*
 * bmcmatch: which node each system behind a discovered BMC is, and what a
 * node made for a new system is called.
 *
 * The rules: a system whose MACs belong to no node becomes a new node; one
 * whose MACs belong to one node is linked to it (the MACs it lacks are
 * added to it, being free); MACs spread over several nodes are a conflict,
 * reported and left alone, as is a system without a usable MAC: the nodes,
 * and the link the system had to a node (power and boot go through it),
 * stay as they were.  A BMC whose status is not "ok" creates nothing and
 * keeps its systems as they were.
 *
 * Owns the rules, not the data: bmcmatch_record() reads and writes the
 * store's rows (BMCs, systems, nodes) inside one store write transaction,
 * so a discovery is recorded whole or not at all.  Called by redfish.c's
 * worker when a discovery probe of one address finishes.  Nothing here
 * logs: the caller decides what a failure means (store_errmsg() says why).
 */
#ifndef CORRAL_BMCMATCH_H
#define CORRAL_BMCMATCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

/*
 * Records one discovered BMC ({"address","port","scheme","insecure",
 * "auth","credential","status","message","mac","vendor","model","uuid",
 * "firmware","systems":[{"path","macs":[…],"hostname",…}]}) and brings the
 * nodes in line with its systems.  report must hold arrays nodes_created,
 * nodes_updated (node names) and conflicts ({"system","message"[,"node"]});
 * they are appended to.  0, or a store error (nothing was recorded).
 */
int bmcmatch_record(struct store *st, json_t *bmc, json_t *report);

enum bmcmatch_verdict {
	BMCMATCH_NEW,     /* no MAC has a node: make one */
	BMCMATCH_LINK,    /* the MACs with a node all have the same one */
	BMCMATCH_SPREAD,  /* MACs of several nodes: a conflict */
	BMCMATCH_NO_MACS, /* nothing to match by: a conflict */
};

/*
 * What a system with n MACs is, given the node owning each (owners[i], 0
 * for none).  *node gets the owner for BMCMATCH_LINK and the first owner
 * found for BMCMATCH_SPREAD, 0 otherwise.
 */
enum bmcmatch_verdict bmcmatch_classify(const int64_t *owners, size_t n, int64_t *node);

/*
 * The name a node for system idx (of nsys behind the BMC at address) gets
 * before it is made unique: its host name when that is a usable node name
 * (letters, digits, '-', '_'; under 48 bytes), else "bmc-<address>" with
 * '.' and ':' made '-', plus "-s<idx+1>" when the BMC has several systems.
 * 0 or -E2BIG.
 */
int bmcmatch_base_name(const char *hostname, const char *address, size_t nsys, size_t idx,
		       char *out, size_t len);

#endif
