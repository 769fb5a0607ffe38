/*
 * dhcpconf: what corrald tells dnsmasq, as text.  Pure functions (tested
 * against golden files): the generated configuration, one host entry per
 * interface, the parsing of lease events that corral-dhcp-hook forwards
 * from dnsmasq's --dhcp-script, and of the dnsmasq log lines corrald acts
 * on.  Callers: dhcp.c and dhcpstate.c; no state, any thread.
 *
 * The iPXE chain lives in one table (client architecture, option 93 →
 * first-stage binary); the second stage (user class iPXE / option 175)
 * gets the boot script URL.  A UEFI HTTP-boot client (vendor class
 * HTTPClient) gets its binary as a URL under corrald's /firmware/ and its
 * vendor class echoed, so it never uses TFTP.
 */
#ifndef CORRAL_DHCPCONF_H
#define CORRAL_DHCPCONF_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

struct dhcpconf {
	bool proxy;   /* proxy DHCP: the site's server hands out addresses */
	bool no_dhcp; /* another server (Kea) answers DHCPv4: dnsmasq serves TFTP, DNS and
		       * router advertisements only */
	const char *interface;
	unsigned network, prefix;          /* boot subnet (host order) */
	const char *pool_start, *pool_end; /* "" = derived: upper half of the subnet */
	const char *router;                /* "" = none */
	const char *domain;
	unsigned dns_port;        /* 0 = DNS off */
	const char *dns_upstream; /* comma-separated servers, "" = none */
	unsigned lease_time, pool_lease_time, lease_max, tftp_max;
	const char *tftp_root, *hostsdir, *dns_hostsdir, *hook;
	const char *base_url; /* corrald's advertised URL */
};

/*
 * One first-stage iPXE binary per client architecture: the DHCP option 93
 * codes of IANA's "Processor Architecture Types" registry (RFC 4578, RFC
 * 5970).  The same table fills dnsmasq's TFTP root (dhcp.c), makes the
 * firmware tree's manifest (firmware/fwtable.c) and is what /firmware/
 * serves.  Rows that share a tag are adjacent and name the same files.
 */
struct dhcpconf_arch {
	unsigned arch;         /* option 93 value */
	const char *name;      /* the registry's name for it */
	const char *tag;       /* dnsmasq tag set for it */
	const char *pxe_csa;   /* proxy mode: pxe-service client system type, NULL: none */
	const char *file;      /* default binary, under the firmware directory */
	const char *full_file; /* binary for nodes that ask for full iPXE, or NULL */
	const char *platform;  /* iPXE's build platform of both ("arm64-efi") */
	bool http;             /* UEFI HTTP boot: answered with a URL, never TFTP */
	bool optional;         /* not in Debian 12's ipxe: served only when present */
};
extern const struct dhcpconf_arch dhcpconf_arches[];
extern const unsigned dhcpconf_narches;

/* dnsmasq's configuration file (with no_dhcp: no DHCPv4 at all).  0 or -E2BIG. */
int dhcpconf_render(const struct dhcpconf *c, struct buf *out);
/* The iPXE script served as autoexec.ipxe over TFTP: configures the network
 * (iPXE 1.21 and later run it before doing so) and chains to the boot script. */
int dhcpconf_autoexec(const char *base_url, struct buf *out);
/* One dhcp-hostsdir entry (one line) for an interface. */
int dhcpconf_host(const struct store_dhcp_host *h, unsigned lease_time, struct buf *out);
/* One DNS hostsdir line ("IP name name.domain") or nothing for dynamic addresses. */
int dhcpconf_dns_host(const struct store_dhcp_host *h, const char *domain, struct buf *out);

/* A lease event from corral-dhcp-hook: tab-separated fields, one line. */
enum dhcp_action { DHCP_ADD, DHCP_OLD, DHCP_DEL, DHCP_TFTP, DHCP_INIT, DHCP_OTHER };
struct dhcp_event {
	enum dhcp_action action;
	char mac[18]; /* normalised; "" for tftp/init */
	char ip[16];
	char hostname[64];
	char client_id[256]; /* hex:colon form; a longer one is dropped */
	bool ipxe;           /* the request came from iPXE (tag ipxe) */
	bool known;          /* dnsmasq had a host entry (tag known) */
	int64_t expires;     /* lease expiry (Unix seconds), 0 if unknown */
	char file[128];      /* tftp: file name sent */
	uint64_t size;       /* tftp: bytes */
};
/*
 * Parses "action\tmac-or-size\tip\thostname-or-file\ttags\texpires\tclient-id".
 * Returns 0, or -EINVAL for a malformed line (never trusts its fields).
 */
int dhcpconf_parse_event(const char *line, struct dhcp_event *ev);

/*
 * A line of dnsmasq's log that a hook call will follow: "...DHCPACK(iface) IP
 * MAC [name]" gives "ack MAC" (normalised), "dnsmasq-tftp[pid]: sent FILE to
 * IP" gives "tftp IP": the key dhcp.c matches the hook's event against.
 * Returns 0, or -ENOENT for any other line (or a malformed one).
 */
int dhcpconf_log_key(const char *line, char *key, size_t keylen);

/* A proxy-DHCP answer as dnsmasq logs it (it runs no hook for those). */
struct dhcp_proxy_log {
	char mac[18];   /* normalised */
	char ip[16];    /* "" for the offer: the client has no address yet */
	char file[128]; /* boot server reply: the boot file or URL given; "" for the offer */
};
/*
 * "...PXE(iface) MAC proxy" (the offer that makes a PXE client ask corral's
 * boot server) and "...PXE(iface) IP MAC FILE" (the boot server's answer).
 * Returns 0, or -ENOENT for any other line.
 */
int dhcpconf_log_proxy(const char *line, struct dhcp_proxy_log *out);

/* dnsmasq not giving a machine what it asked for, as its log says. */
struct dhcp_refusal_log {
	char verb[16];     /* "DHCPDISCOVER", "DHCPREQUEST" or "DHCPNAK" */
	char mac[18];      /* normalised */
	char ip[16];       /* the address asked for or refused; "" if none */
	char message[128]; /* dnsmasq's reason: "ignored", "no address available", ... */
};
/*
 * "...DHCPDISCOVER(iface) [IP] MAC REASON", "...DHCPREQUEST(iface) IP MAC
 * REASON" and "...DHCPNAK(iface) IP MAC REASON": a request dnsmasq did not
 * answer or refused, with why.  The same lines without a reason are
 * ordinary steps.  Returns 0, or -ENOENT for any other line.
 */
int dhcpconf_log_refusal(const char *line, struct dhcp_refusal_log *out);

/*
 * "dnsmasq[pid]: started, version ...": dnsmasq has read its
 * configuration and bound its sockets (it logs this only then; a bad
 * interface or a busy port makes it exit before).  dhcp.c waits for it
 * before it calls a new dnsmasq started.
 */
bool dhcpconf_log_started(const char *line);

#endif
