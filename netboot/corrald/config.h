/*
 * config: corrald's configuration (INI via inih).
 *
 * Owns the key table (config.c): every key's section, type, bounds,
 * default and how a reload applies it; parsing, validation, `corrald -n`,
 * the README's reference and the reload rules all follow it.  Loading is
 * parse → validate into a fresh struct; a reload then asks config_merge()
 * what changed (which keys wait for a restart, whether the DHCP side or the
 * file root must be replaced) and swaps the struct in only when every side
 * it names has been prepared, so a bad file or a setting that cannot be
 * applied never leaves a half-applied configuration.
 *
 * Callers: corrald.c (load, merge, swap), dhcp.c (reads struct
 * config_dhcp), the request handlers (read the current struct through
 * app_config()).  Pure functions on caller-owned structs; any thread.
 */
#ifndef CORRAL_CONFIG_H
#define CORRAL_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/corral/corral.conf"

/* [dhcp]: what corrald's DHCP side is told (its servers read it only at start). */
struct config_dhcp {
	char mode[16]; /* off, authoritative, proxy */
	char backend
		[16]; /* dnsmasq or kea: who answers DHCP (dnsmasq serves TFTP and DNS either way) */
	char interface[32];  /* interface dnsmasq serves */
	char subnet[48];     /* a.b.c.d/len */
	char pool_start[16]; /* pool for unknown machines ("" = derived) */
	char pool_end[16];
	char router[16];          /* option 3, "" = none */
	char domain[64];          /* DNS domain for node names */
	unsigned dns_port;        /* dnsmasq's DNS port, 0 = no DNS */
	char dns_upstream[128];   /* servers for other names, comma-separated; "" = none */
	unsigned lease_time;      /* seconds, known nodes */
	unsigned pool_lease_time; /* seconds, unknown machines */
	unsigned lease_max;
	unsigned tftp_max;
	char dnsmasq[PATH_MAX];    /* dnsmasq binary */
	char state_dir[PATH_MAX];  /* generated config, hosts, TFTP root */
	char ipxe_dir[PATH_MAX];   /* where Debian's iPXE binaries are */
	char hook[PATH_MAX];       /* corral-dhcp-hook ("" = next to corrald) */
	char kea[PATH_MAX];        /* kea-dhcp4 binary (backend kea) */
	char lease_file[PATH_MAX]; /* Kea's memfile ("" = kea-leases4.csv beside store.path) */
};

struct config {
	/* [server] */
	char address[64];          /* listen address (IPv4/IPv6 literal) */
	unsigned port;             /* node-facing listen port; 0 picks a free one */
	char api_address[64];      /* the operator listener's address; "" = address */
	unsigned api_port;         /* the operator listener's port; = port: one listener */
	char advertise_url[256];   /* base URL nodes are told; "" = derived */
	unsigned threads;          /* HTTP worker threads; 0 = one per CPU */
	unsigned max_body;         /* default request body cap, bytes */
	unsigned max_conns;        /* node-facing listener: open connections at most */
	unsigned api_max_conns;    /* operator listener: open connections at most */
	unsigned max_conns_per_ip; /* per client address and listener; 0 = no cap */
	unsigned header_timeout;   /* s for a request's headers */
	unsigned body_timeout;     /* s for a request's body, from its headers */
	unsigned idle_timeout;     /* s a connection may stay silent */
	unsigned conn_memory;      /* node-facing listener: MHD pool bytes per connection */
	unsigned malloc_arenas;    /* M_ARENA_MAX; 0: glibc's default */
	unsigned max_large;        /* kernel/initrd/rootfs transfers at once; 0 = no cap */
	unsigned large_retry;      /* Retry-After base of a refused one, seconds */
	enum log_level log_level;
	/* [tls] */
	char tls_mode[8];        /* auto, on, off */
	char tls_cert[PATH_MAX]; /* PEM certificate (chain) of the operator listener */
	char tls_key[PATH_MAX];  /* its PEM private key */
	char tls_names[256];     /* extra names/addresses of a generated certificate */
	bool tls_old_dir;        /* not a key: the pair was found where it used to default */
	/* [store] */
	char store_path[PATH_MAX];
	unsigned store_memory_kib; /* SQLite's memory (page caches) soft limit */
	/* [files] */
	char files_root[PATH_MAX];
	/* [auth] */
	char key_file[PATH_MAX]; /* HMAC key for per-node cloud-init tokens */
	/* [boot] */
	unsigned unknown_wait;    /* seconds an unknown node waits before asking again */
	unsigned retry_max_sleep; /* cap on the retry back-off, seconds */
	unsigned cache_kib;       /* the answer cache's limit (bootcache.h) */
	unsigned prerender_kib;   /* of it, scripts rendered ahead (prerender.h) */
	/* [cloud_init] */
	unsigned token_ttl; /* lifetime of a per-node seed token, seconds */
	/* [security] */
	char node_identity[8]; /* "lease" (address or token) or "token" (token only) */
	/* [events] */
	unsigned events_keep_days;  /* timeline rows first seen before this are pruned */
	unsigned events_per_node;   /* timeline rows a node keeps at most */
	unsigned events_max_total;  /* timeline rows at most */
	unsigned events_coalesce_s; /* repeats within this many seconds add to one row */
	struct config_dhcp dhcp;    /* [dhcp] */
	/* [redfish] */
	unsigned rf_concurrency;     /* transfers in flight at most */
	unsigned rf_connect_timeout; /* ms */
	unsigned rf_timeout;         /* ms, whole transfer */
	unsigned rf_max_reply;       /* bytes */
	char rf_ca_file[PATH_MAX];   /* "" = system bundle */
	unsigned rf_update_timeout;  /* s a BMC firmware update's task may take */
	unsigned rf_firmware_max;    /* bytes: largest BMC firmware image stored */
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
/*
 * The default tls.cert (if cert) and tls.key (if key): tls.crt and tls.key
 * beside auth.key_file.  With both defaulted, neither file there and one
 * of them in old_dir (the data directory, their default before; NULL: no
 * such place), keeps old_dir's pair and sets c->tls_old_dir, so that an
 * existing install's certificate survives.  config_load() calls it.
 */
void config_tls_default_paths(struct config *c, bool cert, bool key, const char *old_dir);
/*
 * Sets c->base_url: advertise_url, else http://<address or host name>:port
 * (port: the one the HTTP server listens on), no trailing '/'.  0, or
 * -ENAMETOOLONG when it does not fit (base_url is then "").
 */
int config_resolve_base_url(struct config *c, uint16_t port);
/*
 * True if the operator's API and web page have a listener of their own
 * (server.api_port or server.api_address differ from server.port and
 * server.address); false: one listener serves every path.
 */
bool config_split_listeners(const struct config *c);
/* The operator listener's address: server.api_address, else server.address. */
const char *config_api_address(const struct config *c);
/*
 * True if the operator listener speaks HTTPS: tls.mode on, or auto with a
 * listener of its own (with one listener auto means plain HTTP: the
 * node-facing paths are on it, and iPXE has no TLS).
 */
bool config_tls_enabled(const struct config *c);
/* True if a and b give the DHCP side the same settings, key by key. */
bool config_dhcp_equal(const struct config_dhcp *a, const struct config_dhcp *b);

/* What a reload changes, as config_merge() finds it. */
struct config_change {
	bool dhcp;       /* a dhcp.* key or the advertised URL: a new DHCP side */
	bool files_root; /* files.root: a new file root */
	char restart
		[512]; /* changed keys that wait for a restart ("server.port, store.path"), or "" */
};
/*
 * A reload's rules, from the key table: next (freshly loaded) keeps cur's
 * value of every key only a restart applies (they are named in
 * ch->restart), its base_url is resolved for port, and ch says which sides
 * must be prepared before next may replace cur.  cur is not changed.
 * 0, or -ENAMETOOLONG from config_resolve_base_url().
 */
int config_merge(const struct config *cur, struct config *next, uint16_t port,
		 struct config_change *ch);
/* Writes the table as "section.key = default  # what" lines (for docs). */
void config_describe(void (*emit)(const char *line, void *arg), void *arg);

#endif
