/*
 * config: corrald's configuration (INI via inih).
 *
 * One table (config.c) lists every key with its section, type, bounds and
 * default; parsing, validation, `corrald -n` and the README's reference all
 * follow it.  Loading is parse → validate into a fresh struct; the caller
 * swaps it in only when config_load() returned 0, so a bad file never
 * leaves a half-applied configuration.
 */
#ifndef CORRAL_CONFIG_H
#define CORRAL_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/corral/corral.conf"

struct config {
	/* [server] */
	char address[64];        /* listen address (IPv4/IPv6 literal) */
	unsigned port;           /* listen port; 0 picks a free one */
	char advertise_url[256]; /* base URL nodes are told; "" = derived */
	unsigned threads;        /* HTTP worker threads; 0 = one per CPU */
	unsigned max_body;       /* default request body cap, bytes */
	enum log_level log_level;
	/* [store] */
	char store_path[PATH_MAX];
	/* [files] */
	char files_root[PATH_MAX];
	/* [auth] */
	char key_file[PATH_MAX]; /* HMAC key for per-node cloud-init tokens */
	/* [boot] */
	unsigned unknown_wait;    /* seconds an unknown node waits before asking again */
	unsigned retry_max_sleep; /* cap on the retry back-off, seconds */
	/* [cloud_init] */
	unsigned token_ttl; /* lifetime of a per-node seed token, seconds */
	/* [events] */
	unsigned events_keep_days; /* boot events older than this are pruned */
	/* [dhcp] */
	char dhcp_mode[16];       /* off, authoritative, proxy */
	char dhcp_interface[32];  /* interface dnsmasq serves */
	char dhcp_subnet[48];     /* a.b.c.d/len */
	char dhcp_pool_start[16]; /* pool for unknown machines ("" = derived) */
	char dhcp_pool_end[16];
	char dhcp_router[16];          /* option 3, "" = none */
	char dhcp_domain[64];          /* DNS domain for node names */
	unsigned dhcp_dns_port;        /* dnsmasq's DNS port, 0 = no DNS */
	char dhcp_dns_upstream[128];   /* servers for other names, comma-separated; "" = none */
	unsigned dhcp_lease_time;      /* seconds, known nodes */
	unsigned dhcp_pool_lease_time; /* seconds, unknown machines */
	unsigned dhcp_lease_max;
	unsigned dhcp_tftp_max;
	char dhcp_dnsmasq[PATH_MAX];   /* dnsmasq binary */
	char dhcp_state_dir[PATH_MAX]; /* generated config, hosts, TFTP root */
	char dhcp_ipxe_dir[PATH_MAX];  /* where Debian's iPXE binaries are */
	char dhcp_hook[PATH_MAX];      /* corral-dhcp-hook ("" = next to corrald) */
	/* [redfish] */
	unsigned rf_concurrency;     /* transfers in flight at most */
	unsigned rf_connect_timeout; /* ms */
	unsigned rf_timeout;         /* ms, whole transfer */
	unsigned rf_max_reply;       /* bytes */
	char rf_ca_file[PATH_MAX];   /* "" = system bundle */
	/* derived, not a key: advertise_url or http://<address>:<port>, no trailing '/' */
	char base_url[256];
};

/* Fills every key with its default (paths depend on whether we are root). */
void config_defaults(struct config *c);
/*
 * Reads path over the defaults into *c.  Returns 0, or -errno with a
 * one-line "path:line: message" in err (the first error found).
 */
int config_load(const char *path, struct config *c, char *err, size_t errlen);
/* Writes the table as "section.key = default  # what" lines (for docs). */
void config_describe(void (*emit)(const char *line, void *arg), void *arg);

#endif
