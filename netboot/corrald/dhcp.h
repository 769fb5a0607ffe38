/*
 * dhcp: corrald's DHCP/TFTP side: dnsmasq run as a supervised child, and
 * the DHCP server behind one interface (dhcp.backend): dnsmasq itself, or
 * Kea (kea.c) with dnsmasq's DHCPv4 off.  The rest of corrald sees only
 * this header; the backend shows only where it is named (status, metrics).
 *
 * Owns a state directory: the generated dnsmasq.conf, one dhcp-hostsdir
 * file per known interface, a DNS hostsdir, the TFTP root (iPXE binaries
 * and autoexec.ipxe) and the hook socket.  One thread does everything:
 * restarts dnsmasq with back-off when it dies (logged and counted), logs
 * its output, keeps the host files in step with the store (new files are
 * picked up by dnsmasq's inotify; changes, removals and more new files
 * than its inotify queue takes are followed by a SIGHUP), and answers
 * corral-dhcp-hook, which forwards dnsmasq's lease events: leases are
 * kept in the store (dnsmasq runs leasefile-ro), DHCP
 * and TFTP steps become boot events, unknown MACs become discovered.  The
 * bookkeeping behind that (host-file diff, log-line rings, event text) is
 * dhcpstate's.
 *
 * Reload.  dnsmasq reads its configuration only when it starts, and two of
 * them cannot serve one interface (the second finds the DNS and TFTP ports
 * taken), so new settings cannot start beside the old ones.  Instead:
 * dhcp_prepare() builds a side for the new settings and checks all that
 * can be checked while the old dnsmasq keeps serving (the programs, the
 * iPXE binaries, the state directory, that the interface exists, that the
 * ports the old dnsmasq does not hold are free, `dnsmasq --test` of the
 * generated file); a failed prepare leaves the old dnsmasq, the same
 * process, untouched.  dhcp_commit() then stops the old dnsmasq, starts the
 * new one and waits until it logs that it has started; if it does not, the
 * old settings are started again and the commit fails.  dhcp_abort()
 * discards a prepared side that was not committed.
 *
 * Callers: corrald.c's main thread (start, prepare, commit, abort, free);
 * dhcp_pid() from any thread.  Functions that fail put one line saying why
 * into err (they log nothing themselves: the caller logs it, once).
 *
 * With dhcp.backend = kea, Kea runs beside dnsmasq (TFTP, DNS, router
 * advertisements) on the same thread: its configuration follows the store
 * through its control socket (no restart), its lease file becomes the same
 * timeline steps the hook gives for dnsmasq, and a reload prepares and
 * commits it with dnsmasq (its own `kea-dhcp4 -t` in prepare; a commit
 * waits for both to start).
 */
#ifndef CORRAL_DHCP_H
#define CORRAL_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "events.h"
#include "metrics.h"
#include "store.h"

struct dhcp;

/* What the DHCP side writes to; borrowed, outlive the side. */
struct dhcp_env {
	struct store *st;
	struct events *ev;
	struct metrics *metrics;
};

/*
 * Starts the DHCP side per cfg (cfg->dhcp and cfg->base_url, copied): the
 * thread starts dnsmasq, and restarts it with back-off if it fails.
 * dhcp.mode off: *out = NULL, returns 0.  Otherwise 0, or -errno and why
 * in err.
 */
int dhcp_start(const struct config *cfg, const struct dhcp_env *env, struct dhcp **out, char *err,
	       size_t errlen);
/*
 * Reload, step 1: a side for next, checked but not running; cur (the
 * running side, or NULL) is not touched.  next's dhcp.mode off: *out =
 * NULL, returns 0 (committing that stops cur).  0, or -errno and why in err.
 */
int dhcp_prepare(const struct dhcp *cur, const struct config *next, const struct dhcp_env *env,
		 struct dhcp **out, char *err, size_t errlen);
/*
 * Reload, step 2: stops *cur's dnsmasq and starts next's, waiting (10 s
 * at most) until it has started.  0: *cur is next (the old side is freed).
 * Otherwise -errno, why in err, next is freed and *cur runs its settings
 * again (with a new dnsmasq process).
 */
int dhcp_commit(struct dhcp **cur, struct dhcp *next, char *err, size_t errlen);
/* Frees a prepared side that is not committed.  NULL is a no-op. */
void dhcp_abort(struct dhcp *next);
/* Stops dnsmasq and the thread.  NULL is a no-op. */
void dhcp_free(struct dhcp *d);
/* dnsmasq's PID now (0 if not running), for tests and status. */
int dhcp_pid(struct dhcp *d);
/* The DHCP server's PID now (Kea's, or dnsmasq's), 0 if not running. */
int dhcp_server_pid(struct dhcp *d);
/* "dnsmasq" or "kea" (a static string); NULL for NULL (DHCP off). */
const char *dhcp_backend(const struct dhcp *d);
/*
 * A warning when nodes is more than the backend named (dhcp.backend)
 * sustains (the dnsmasq backend: 2,000, see dhcpstate.h), into out[len];
 * true if there is one.  Pure: the API's status says it too.
 */
bool dhcp_sizing_warning(const char *backend, size_t nodes, char *out, size_t len);

#endif
