/*
 * dhcpstate: the DHCP side's bookkeeping, as pure functions (no process,
 * socket, file or store calls), so that it is tested on its own.
 *
 * Owns three things dhcp.c keeps per running dnsmasq:
 *  - the host-file sets (one file per MAC, name and content) and the diff
 *    of what is written against what the store wants: which files to
 *    write or remove, and whether dnsmasq must then be sent SIGHUP;
 *  - the seen ring: when dnsmasq's log showed a DHCPACK or a TFTP
 *    transfer, so the hook call that follows (later, through dnsmasq's
 *    script helper) is dated by the log line, not by its own arrival;
 *  - the refusal ring: which machine was refused for which reason lately,
 *    so a machine that keeps asking gets one event a minute per reason;
 * and the text of the events these become, and the sizing rule (how many
 * nodes the dnsmasq backend sustains).
 *
 * Callers: dhcp.c (its one thread) and the unit tests.  No locking: each
 * structure belongs to one thread.  Times are microseconds the caller
 * passes in (wall clock for the seen ring, monotonic for refusals).
 */
#ifndef CORRAL_DHCPSTATE_H
#define CORRAL_DHCPSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dhcpconf.h"

/* ---- host files ----------------------------------------------------------- */

struct dhcpstate_file {
	char name[24]; /* MAC with '-' (a file name dnsmasq reads) */
	char *content; /* owned */
};

/* A directory's files, sorted by name (the store lists hosts by MAC). */
struct dhcpstate_files {
	struct dhcpstate_file *v;
	size_t n;
};

/*
 * Adds the file for mac, taking b's contents (b is left empty).  cap: how
 * many files the set will hold (the array is sized on the first add).
 * 0, -EINVAL for a MAC that makes no file name, -ENOSPC past cap, -ENOMEM.
 */
int dhcpstate_files_add(struct dhcpstate_files *f, size_t cap, const char *mac, struct buf *b);
/* Frees every file; the set is empty after.  An empty set is a no-op. */
void dhcpstate_files_clear(struct dhcpstate_files *f);

enum dhcpstate_op { DHCPSTATE_WRITE, DHCPSTATE_UNLINK };
/* Applies one step of a diff; 0 or a negative errno (which stops the diff). */
typedef int (*dhcpstate_apply_fn)(void *arg, enum dhcpstate_op op, const struct dhcpstate_file *f);
/*
 * New files dnsmasq may find by inotify in one go.  Its inotify queue
 * (fs.inotify.max_queued_events, 16,384 by default) is shared by the host
 * and DNS directories, one event per file written (renamed into place);
 * past it, dnsmasq silently misses the rest (seen: a 50,000-node import,
 * 16,684 read).  Half the queue, for both directories.
 */
#define DHCPSTATE_NEW_MAX 4096
/*
 * Walks have (what is written) and want (what should be), both sorted by
 * name, calling apply for each file to write (new or changed) or remove.
 * Returns 1 if a file changed or went away, or more than DHCPSTATE_NEW_MAX
 * are new (dnsmasq reads those only on SIGHUP; a few new files it finds by
 * inotify), 0 if there were only a few new files or none, or apply's first
 * error.
 */
int dhcpstate_diff(const struct dhcpstate_files *have, const struct dhcpstate_files *want,
		   dhcpstate_apply_fn apply, void *arg);

/* ---- the seen ring: log lines a hook call will follow ---------------------- */

#define DHCPSTATE_SEEN 512
#define DHCPSTATE_SEEN_MAX_AGE_US 30000000 /* older log times are not trusted */

struct dhcpstate_seen {
	struct {
		char key[64];    /* "ack MAC" or "tftp IP" (dhcpconf_log_key) */
		int64_t time_us; /* when the line was read; 0 once taken */
	} v[DHCPSTATE_SEEN];
	unsigned next; /* newest at next - 1 */
};

/* Notes the time of a log line that a hook call will follow (others are ignored). */
void dhcpstate_seen_line(struct dhcpstate_seen *s, const char *line, int64_t now_us);
/*
 * When the log showed key, and marks it taken; 0 if it did not lately.
 * dnsmasq runs the hook in the order it logged, so the oldest line not yet
 * taken is the one; with at_s >= 0 only a line logged in that second (or
 * the next two, for a slow reader) counts.
 */
int64_t dhcpstate_seen_take(struct dhcpstate_seen *s, const char *key, int64_t at_s,
			    int64_t now_us);
/*
 * The key a hook event is matched by ("ack MAC" for add/old, "tftp IP"
 * for tftp) and, through at_s, the second its ACK was logged: a lease's
 * expiry minus its length (lease_time for a known node, pool_lease_time
 * for others), -1 when unknown.  0, or -ENOENT for other actions.
 */
int dhcpstate_hook_key(const struct dhcp_event *e, unsigned lease_time, unsigned pool_lease_time,
		       char *key, size_t keylen, int64_t *at_s);

/* ---- the refusal ring ----------------------------------------------------------- */

#define DHCPSTATE_REFUSALS 256
#define DHCPSTATE_REFUSAL_EVERY_US 60000000

struct dhcpstate_refusals {
	struct {
		char mac[18];
		char message[128];
		int64_t time_us; /* monotonic */
	} v[DHCPSTATE_REFUSALS];
	unsigned next; /* newest at next - 1 */
};

/* True if mac was refused for message within the last minute (of now_us). */
bool dhcpstate_refused_lately(const struct dhcpstate_refusals *r, const char *mac,
			      const char *message, int64_t now_us);
/* Notes that mac was refused for message at now_us. */
void dhcpstate_refusal_note(struct dhcpstate_refusals *r, const char *mac, const char *message,
			    int64_t now_us);

/* ---- sizing ----------------------------------------------------------------------- */

/*
 * Nodes the dnsmasq backend is sized for.  dnsmasq searches its host
 * entries and leases linearly: measured here (perfdhcp, README "Sizing"),
 * 1,000 registered nodes took the offered 1,666 DORA/s with no drops, and
 * 10,000 dropped 13 % of discovers at only 1,000 offered.  A whole-cluster
 * power-on asks about three DORAs per node (firmware, iPXE, OS) within
 * seconds, and a PXE ROM gives up after a few unanswered discovers; at
 * twice the measured-good size dnsmasq still has about half its measured
 * headroom, beyond that a power-on starts losing nodes.
 */
#define DHCPSTATE_DNSMASQ_MAX_NODES 2000
/*
 * A warning for an inventory of nodes larger than backend (a dhcp.backend
 * name) sustains, into out: true if there is one (out is "" otherwise).
 */
bool dhcpstate_sizing_warning(const char *backend, size_t nodes, char *out, size_t len);

/* ---- event text ------------------------------------------------------------------ */

/*
 * The timeline's detail for a lease event ("iPXE lease 10.0.0.5"); vendor
 * is the hook line's vendor class (dhcpstate_hook_vendor).  0 or -E2BIG.
 */
int dhcpstate_lease_detail(const struct dhcp_event *e, const char *vendor, char *out, size_t len);
/* The vendor class field (the 8th) of a hook line, "" if none; borrowed from line. */
const char *dhcpstate_hook_vendor(const char *line);
/* The detail for a refused or ignored request.  0 or -E2BIG. */
int dhcpstate_refusal_detail(const struct dhcp_refusal_log *rl, char *out, size_t len);
/* The detail for a proxy-DHCP answer.  0 or -E2BIG. */
int dhcpstate_proxy_detail(const struct dhcp_proxy_log *pl, char *out, size_t len);

#endif
