/*
 * redfish: talks to BMCs.  Discovery (probe address ranges for Redfish
 * services, walk each one's Systems, NICs and Managers, record BMCs and
 * systems and create or update the nodes they are) and control (power,
 * boot override) run as jobs on one worker thread driving libcurl's multi
 * interface: many transfers in flight, each with a connect and a total
 * timeout and a capped reply, so a hung or hostile BMC costs one slot for
 * a bounded time and never blocks an HTTP handler.
 *
 * Jobs live in memory (the newest REDFISH_JOBS are kept); what they find
 * is written to the store.  Passwords are opened from the store only for
 * the job that needs them and never logged.
 *
 * Callers: corrald.c starts and frees it (and sets the hub); api.c's
 * discovery, power, boot and job handlers call the rest, from any HTTP
 * thread (the job list has its own lock).  Its own files share
 * redfish_int.h, which nothing else includes.
 */
#ifndef CORRAL_REDFISH_H
#define CORRAL_REDFISH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "auth.h"
#include "hub.h"
#include "store.h"

#define REDFISH_JOBS 64
#define REDFISH_MAX_TARGETS 65536

struct redfish;

struct redfish_settings {
	unsigned concurrency;        /* transfers in flight at most */
	unsigned connect_timeout_ms; /* per transfer */
	unsigned total_timeout_ms;   /* per transfer */
	size_t max_reply;            /* bytes; a larger reply is an error */
	const char *ca_file;         /* "" = the system's CA bundle */
};

int redfish_start(struct store *st, const unsigned char key[AUTH_KEY_LEN],
		  const struct redfish_settings *cfg, struct redfish **out);
/*
 * Live pages learn of finished jobs: hub (may be NULL, the default) gets a
 * "job" record, the job's summary as redfish_jobs() gives it, when a job
 * is done.  Call before the first job.
 */
void redfish_set_hub(struct redfish *rf, struct hub *hub);
/* Stops the worker (in-flight jobs end as "cancelled") and frees. */
void redfish_free(struct redfish *rf);

/*
 * Discovery job.  req: {"targets": [...], "port", "scheme", "credential",
 * "insecure", "concurrency"}, validated by the caller except the targets,
 * checked here (CIDRs, a-b ranges, hosts): -EINVAL with err set.
 */
int redfish_discover(struct redfish *rf, json_t *req, int *job_id, char *err, size_t errlen);
/* Power job for nodes (array of names): action on, off, reset, cycle or status. */
int redfish_power(struct redfish *rf, json_t *nodes, const char *action, int *job_id);
/* Boot override job: PXE, once or continuous, read back to verify; reset after if asked. */
int redfish_boot(struct redfish *rf, json_t *nodes, bool once, bool reset, int *job_id);
/* A job as JSON (new reference), or NULL if unknown. */
json_t *redfish_job(struct redfish *rf, int job_id);
/*
 * Every kept job, newest first, as summaries (new reference; NULL if out of
 * memory): a job's fields with each list replaced by its length, and for
 * power and boot jobs "failed", the nodes that did not succeed.
 */
json_t *redfish_jobs(struct redfish *rf);

/* Expands one target ("10.0.0.0/24", "10.0.0.5-10.0.0.9", "host") into out (strings). */
int redfish_expand(const char *target, json_t *out, size_t max, char *err, size_t errlen);

/* The resources a discovery walk asks a BMC for, in the order it meets them. */
enum redfish_kind {
	REDFISH_ROOT,         /* /redfish/v1/ */
	REDFISH_SYSTEMS,      /* the Systems collection */
	REDFISH_SYSTEM,       /* one ComputerSystem */
	REDFISH_ETH_COLL,     /* a system's EthernetInterfaces */
	REDFISH_ETH,          /* one EthernetInterface */
	REDFISH_NETIF_COLL,   /* a system's NetworkInterfaces */
	REDFISH_NETIF,        /* one NetworkInterface */
	REDFISH_ADAPTER,      /* the NetworkAdapter it links to */
	REDFISH_NDF_COLL,     /* the adapter's NetworkDeviceFunctions */
	REDFISH_NDF,          /* one NetworkDeviceFunction */
	REDFISH_MANAGERS,     /* the Managers collection */
	REDFISH_MANAGER,      /* the first Manager (the BMC) */
	REDFISH_MGR_ETH_COLL, /* its EthernetInterfaces */
	REDFISH_MGR_ETH,      /* its first one: the BMC's own NIC */
	REDFISH_CHASSIS,      /* the Chassis collection */
	REDFISH_ACTIONINFO,   /* a reset action's ActionInfo */
	REDFISH_KINDS
};
/* Members taken from one collection at most (Managers: the first only). */
#define REDFISH_MEMBERS_MAX 64

/*
 * What one discovery reply says, with no transfer, job or store around it:
 * the walk's whole reading of a reply (redfish_walk.c applies the result;
 * the rfreply fuzz target holds it to its promises).  reply is the parsed
 * reply of a request for kind.  Appends to facts (an object) what the walk
 * records, by kind: ROOT "uuid", "redfish_version", "vendor" (Vendor, else
 * Product), "has_systems"; SYSTEM "uuid", "serial", "model",
 * "manufacturer", "power_state", "hostname", "reset_types",
 * "reset_target", "boot_targets"; ETH and NDF "mac" (normalised, or null
 * with "skipped": why it is no host NIC: the host-to-BMC link, a disabled
 * or link-local-only port, no usable MAC); MGR_ETH "mac"; MANAGER "model",
 * "firmware"; CHASSIS "chassis" (members); ACTIONINFO "reset_types" (when
 * given).  Strings are under 200 bytes, else null.  Appends to links (an
 * array) the resources to ask for next, as {"kind", "path"[, "member"]}:
 * every path passes the walk's link check (under /redfish/v1, plain
 * characters, no ".."), "member" is the index in a collection (below
 * REDFISH_MEMBERS_MAX).  0; -EINVAL if reply is not an object or kind is
 * none of these; -ENOMEM.
 */
int redfish_reply_facts(enum redfish_kind kind, json_t *reply, json_t *facts, json_t *links);

#endif
