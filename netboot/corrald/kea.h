/*
 * kea: Debian's kea-dhcp4 as the DHCP side's server (dhcp.backend = kea),
 * run by dhcp.c's thread beside the dnsmasq that keeps TFTP, DNS and
 * router advertisements.
 *
 * Owns, below the state directory's kea/: Kea's generated configuration
 * (keaconf), its control socket and PID file; and Kea's lease file (a
 * memfile kept across restarts, dhcp.lease_file).  Kea runs as a child:
 * started from an argv array, restarted with back-off when it dies
 * (logged, counted in /metrics), its log lines into corrald's log.
 * Inventory changes reach it without a restart: a new configuration file
 * and `config-reload` over the control socket, batched (changes are
 * gathered until the store has been quiet for 100 ms, 500 ms at most, and
 * a reload never starts before the last one has finished and as long
 * again has passed, so Kea answers at least half the time during a storm
 * of changes; a whole import is one store change, hence one reload).
 * Lease events come from Kea's lease file (kealease), its refusals from
 * its log (keaconf), as the same timeline steps dnsmasq's give.
 *
 * Callers: dhcp.c only.  kea_new(), kea_test() and kea_free() on the main
 * thread; the rest on dhcp.c's thread while it runs; kea_pid() and
 * kea_state() from any thread.  Functions that fail put why into err.
 */
#ifndef CORRAL_KEA_H
#define CORRAL_KEA_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dhcpconf.h"
#include "events.h"
#include "metrics.h"
#include "store.h"

struct kea;

/* What a side of Kea is made from; copied, except what is borrowed. */
struct kea_settings {
	const struct config_dhcp *cfg; /* borrowed: outlives the kea */
	const char *base_url;
	const char *state_dir;  /* dhcp.state_dir */
	const char *lease_file; /* resolved dhcp.lease_file */
	struct store *st;       /* borrowed */
	struct events *ev;
	struct metrics *metrics;
	/* A refusal from Kea's log, for the timeline (dhcp.c rate-limits it). */
	void (*refusal)(void *arg, const struct dhcp_refusal_log *rl, int64_t now_us);
	void *arg;
};

#define KEA_NFDS 3 /* descriptors kea_fds() may add */

/* A side of Kea, not running: paths set, the program and directories checked. */
int kea_new(const struct kea_settings *s, struct kea **out, char *err, size_t errlen);
/* `kea-dhcp4 -t` on the configuration it would start with (a reload's check). */
int kea_test(struct kea *k, char *err, size_t errlen);
/* Before the thread runs: lease files read (no events for what they hold). */
int kea_run(struct kea *k, char *err, size_t errlen);
/* The thread: the descriptors to poll, into p (KEA_NFDS at most); how many. */
int kea_fds(struct kea *k, struct pollfd *p);
/*
 * The thread, after poll (p, n as kea_fds gave them): Kea's output, reload
 * replies and the lease file are read; Kea is reaped, and unless stopping
 * started when due; a changed store leads to a reload when due.
 */
void kea_poll(struct kea *k, const struct pollfd *p, int n, bool stopping);
/* The thread: how long it may sleep in poll (ms) before kea_poll has work. */
int kea_timeout(struct kea *k);
/* The thread, stopping: Kea is sent SIGTERM (SIGKILL past deadline_ms, monotonic);
 * true once it is gone and its last lease rows are read. */
bool kea_stopped(struct kea *k, int64_t deadline_ms);
/* After the thread: descriptors closed; the side may run again. */
void kea_halt(struct kea *k);
void kea_free(struct kea *k);
/* Kea's PID now, 0 if none. */
int kea_pid(struct kea *k);
/* A commit waits on it: 1 when Kea has started, 0 not yet, -EIO when it
 * failed before it started (why in why). */
int kea_state(struct kea *k, char *why, size_t len);
/* While a commit waits: a Kea that fails to start stays down (and says why). */
void kea_trial(struct kea *k, bool on);

#endif
