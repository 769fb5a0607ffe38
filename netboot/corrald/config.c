/*
 * config: INI configuration with a declarative key table.  See config.h.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "valid.h"

enum config_type { CFG_STR, CFG_UINT, CFG_LOGLEVEL, CFG_URL };

/* How a reload applies a key (config_merge). */
enum config_reload {
	RL_LIVE,    /* read where it is used: the swap applies it */
	RL_RESTART, /* read once at start: a reload keeps the running value */
	RL_FILES,   /* files.root: the new root is opened before the swap */
	RL_DHCP,    /* dhcp.*: a new DHCP side is started before the swap */
};

struct config_key {
	const char *section;
	const char *key;
	enum config_type type;
	size_t offset;
	size_t size;       /* bytes of the field (CFG_STR/CFG_URL: its buffer) */
	unsigned min, max; /* CFG_UINT bounds */
	enum config_reload reload;
	const char *help;
	const char *(*check)(const char *value); /* CFG_STR: NULL if fine, else why */
};

static const char *check_ip(const char *v)
{
	return valid_ip_literal(v) == 0 ? NULL : "not an IP address";
}

static const char *check_path(const char *v)
{
	return v[0] == '/' ? NULL : "must be an absolute path";
}

static const char *check_mode(const char *v)
{
	return strcmp(v, "off") == 0 || strcmp(v, "authoritative") == 0 || strcmp(v, "proxy") == 0 ?
		       NULL :
		       "expected off, authoritative or proxy";
}

static const char *check_backend(const char *v)
{
	return strcmp(v, "dnsmasq") == 0 || strcmp(v, "kea") == 0 ? NULL :
								    "expected dnsmasq or kea";
}

static const char *check_path_or_empty(const char *v)
{
	return v[0] == '\0' || v[0] == '/' ? NULL : "must be an absolute path";
}

static const char *check_identity(const char *v)
{
	return strcmp(v, "lease") == 0 || strcmp(v, "token") == 0 ? NULL :
								    "expected lease or token";
}

static const char *check_cidr(const char *v)
{
	return valid_cidr(v, NULL, NULL) == 0 ? NULL : "expected a.b.c.d/len (len 8 to 30)";
}

static const char *check_ipv4_or_empty(const char *v)
{
	return v[0] == '\0' || valid_ipv4(v) == 0 ? NULL : "not an IPv4 address";
}

static const char *check_domain(const char *v)
{
	return valid_name(v) == 0 ? NULL : "not a simple DNS name";
}

static const char *check_iface(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n >= 16)
		return "not an interface name";
	for (const char *p = v; *p; p++)
		if (*p == '/' || *p == ' ' || *p == ',' || (unsigned char)*p < 0x21)
			return "not an interface name";
	return NULL;
}

static const char *check_ip_or_empty(const char *v)
{
	return v[0] == '\0' || valid_ip_literal(v) == 0 ? NULL : "not an IP address";
}

static const char *check_tls_mode(const char *v)
{
	return strcmp(v, "auto") == 0 || strcmp(v, "on") == 0 || strcmp(v, "off") == 0 ?
		       NULL :
		       "expected auto, on or off";
}

/* Comma-separated host names (letters, digits, '-', '.') and IP addresses, or "". */
static const char *check_names(const char *v)
{
	char copy[256], *save = NULL;
	if (strlen(v) >= sizeof(copy))
		return "too long";
	memcpy(copy, v, strlen(v) + 1);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		size_t n = strlen(t);
		while (n > 0 && t[n - 1] == ' ')
			t[--n] = '\0';
		if (valid_ip_literal(t) == 0)
			continue;
		if (n == 0 || n > 253 || t[0] == '-' || t[0] == '.')
			return "expected comma-separated host names and IP addresses";
		for (const char *p = t; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
				return "expected comma-separated host names and IP addresses";
	}
	return NULL;
}

static int config_ip_list(const char *s);
static const char *check_ip_list(const char *v)
{
	return config_ip_list(v) == 0 ? NULL : "expected comma-separated IPv4 addresses";
}

#define FIELD_SIZE(field) sizeof(((struct config *)0)->field)
#define STR(sec, k, field, rl, chk, h)                                                           \
	{                                                                                        \
		sec, k, CFG_STR, offsetof(struct config, field), FIELD_SIZE(field), 0, 0, rl, h, \
			chk                                                                      \
	}
#define URL(sec, k, field, rl, h)                                                                \
	{                                                                                        \
		sec, k, CFG_URL, offsetof(struct config, field), FIELD_SIZE(field), 0, 0, rl, h, \
			NULL                                                                     \
	}
#define UINT(sec, k, field, lo, hi, rl, h)                                                         \
	{                                                                                          \
		sec, k, CFG_UINT, offsetof(struct config, field), sizeof(unsigned), lo, hi, rl, h, \
			NULL                                                                       \
	}

static const struct config_key config_keys[] = {
	STR("server", "address", address, RL_RESTART, check_ip, "listen address"),
	UINT("server", "port", port, 0, 65535, RL_RESTART,
	     "listen port of the node-facing paths, plain HTTP (0: any free port)"),
	STR("server", "api_address", api_address, RL_RESTART, check_ip_or_empty,
	    "listen address of the operator's API and web page (empty: server.address)"),
	UINT("server", "api_port", api_port, 0, 65535, RL_RESTART,
	     "listen port of the operator's API and web page, HTTPS (the same as server.port: one plain HTTP listener serves everything)"),
	URL("server", "advertise_url", advertise_url, RL_LIVE,
	    "base URL given to nodes (default: http://<address or host name>:<port>)"),
	UINT("server", "threads", threads, 0, 256, RL_RESTART,
	     "HTTP worker threads (0: one per CPU)"),
	UINT("server", "max_body", max_body, 1024, 64u << 20, RL_RESTART,
	     "largest API request body, bytes"),
	UINT("server", "max_connections", max_conns, 64, 1000000, RL_RESTART,
	     "open connections at most on the node-facing listener (lowered to fit the open-file limit)"),
	UINT("server", "api_max_connections", api_max_conns, 16, 100000, RL_RESTART,
	     "open connections at most on the operator listener"),
	UINT("server", "max_connections_per_ip", max_conns_per_ip, 0, 1000000, RL_RESTART,
	     "open connections at most from one client address, per listener (0: no cap; raise it behind a proxy)"),
	UINT("server", "header_timeout", header_timeout, 1, 3600, RL_RESTART,
	     "seconds a connection has to send a request's headers, from its start or the previous answer"),
	UINT("server", "body_timeout", body_timeout, 1, 86400, RL_RESTART,
	     "seconds a request has to send its body, from its headers"),
	UINT("server", "idle_timeout", idle_timeout, 1, 86400, RL_RESTART,
	     "seconds a connection may stay silent while a request is read or answered"),
	UINT("server", "malloc_arenas", malloc_arenas, 0, 64, RL_RESTART,
	     "glibc malloc arenas at most (M_ARENA_MAX): fewer keep less freed memory per thread after a storm; 0: glibc's default, 8 per CPU"),
	UINT("server", "connection_memory", conn_memory, 4096, 1u << 20, RL_RESTART,
	     "bytes of memory per connection on the node-facing listener (request line and headers; libmicrohttpd's pool)"),
	UINT("server", "max_large_transfers", max_large, 0, 1000000, RL_LIVE,
	     "kernel, initrd and root image downloads at once; more get 503 with Retry-After, which iPXE's boot script and dracut's curl retry (0: no cap)"),
	UINT("server", "large_transfer_retry", large_retry, 1, 3600, RL_LIVE,
	     "seconds a refused download is told to wait (Retry-After; spread up to twice that)"),
	{"server", "log_level", CFG_LOGLEVEL, offsetof(struct config, log_level),
	 sizeof(enum log_level), 0, 0, RL_LIVE, "error, warn, info or debug", NULL},
	STR("tls", "mode", tls_mode, RL_RESTART, check_tls_mode,
	    "auto (HTTPS on the operator listener when it has its own port), on or off"),
	STR("tls", "cert", tls_cert, RL_RESTART, check_path,
	    "PEM certificate (chain) of the operator listener, by default tls.crt beside auth.key_file; with tls.key missing too, a self-signed one is made"),
	STR("tls", "key", tls_key, RL_RESTART, check_path,
	    "PEM private key of tls.cert, by default tls.key beside auth.key_file (made 0600 with the self-signed certificate)"),
	STR("tls", "names", tls_names, RL_RESTART, check_names,
	    "host names and addresses, comma-separated, that a self-signed certificate names besides the host name, localhost and the listen address"),
	STR("store", "path", store_path, RL_RESTART, check_path, "SQLite database file"),
	UINT("store", "memory_kib", store_memory_kib, 256, 4u << 20, RL_RESTART,
	     "KiB of memory SQLite keeps at most (page caches of every connection; a soft limit)"),
	STR("files", "root", files_root, RL_FILES, check_path, "directory served under /files/"),
	STR("auth", "key_file", key_file, RL_RESTART, check_path,
	    "secret that signs per-node cloud-init tokens (created 0600 if missing)"),
	UINT("boot", "unknown_wait", unknown_wait, 1, 3600, RL_LIVE,
	     "seconds an unknown or unconfigured node waits before asking again"),
	UINT("boot", "retry_max_sleep", retry_max_sleep, 1, 3600, RL_LIVE,
	     "longest back-off between boot retries, seconds"),
	UINT("boot", "cache_kib", cache_kib, 64, 4u << 20, RL_RESTART,
	     "KiB of prepared answers (boot scripts, cloud-init) kept in memory; the least used go first"),
	UINT("boot", "prerender_kib", prerender_kib, 0, 4u << 20, RL_RESTART,
	     "KiB of that cache that boot scripts rendered ahead of their request may fill (every node's, after start and after each inventory change; never past nine tenths of boot.cache_kib); 0: none"),
	UINT("cloud_init", "token_ttl", token_ttl, 60, 365u * 86400, RL_LIVE,
	     "lifetime of the per-node token in the seed URL, seconds"),
	STR("security", "node_identity", node_identity, RL_LIVE, check_identity,
	    "what ties a request on the node-facing paths to a node: lease (its DHCP lease or reserved address, or its seed token) or token (the seed token only; no lookups by address, name or NID)"),
	UINT("events", "keep_days", events_keep_days, 1, 3650, RL_RESTART,
	     "timeline rows whose first event is older than this many days are pruned"),
	UINT("events", "per_node", events_per_node, 1, 1000000, RL_RESTART,
	     "timeline rows a node keeps at most (its newest)"),
	UINT("events", "max_total", events_max_total, 10, 100000000, RL_RESTART,
	     "timeline rows at most, all nodes together (the oldest go first); about 100 bytes each on disk"),
	UINT("events", "coalesce_window", events_coalesce_s, 0, 86400, RL_RESTART,
	     "seconds within which a repeat of a node's latest event adds to its row (a count, first and last time) instead of being a new row; 0: never"),
	STR("dhcp", "mode", dhcp.mode, RL_DHCP, check_mode,
	    "off (corrald serves HTTP only), authoritative (corrald's dnsmasq hands out addresses) or proxy (the site's DHCP server stays; dnsmasq adds the boot information)"),
	STR("dhcp", "backend", dhcp.backend, RL_DHCP, check_backend,
	    "who answers DHCP: dnsmasq (small sites; the only one for proxy mode) or kea (Debian's kea-dhcp4-server, for thousands of nodes); dnsmasq serves TFTP and DNS either way"),
	STR("dhcp", "interface", dhcp.interface, RL_DHCP, check_iface,
	    "network interface dnsmasq serves (required unless mode is off)"),
	STR("dhcp", "subnet", dhcp.subnet, RL_DHCP, check_cidr,
	    "the boot network, a.b.c.d/len (required unless mode is off)"),
	STR("dhcp", "pool_start", dhcp.pool_start, RL_DHCP, check_ipv4_or_empty,
	    "first address for unknown machines (default: the subnet's upper half)"),
	STR("dhcp", "pool_end", dhcp.pool_end, RL_DHCP, check_ipv4_or_empty,
	    "last address for unknown machines"),
	STR("dhcp", "router", dhcp.router, RL_DHCP, check_ipv4_or_empty,
	    "default gateway given to nodes (option 3); empty: none"),
	STR("dhcp", "domain", dhcp.domain, RL_DHCP, check_domain, "DNS domain of node names"),
	UINT("dhcp", "dns_port", dhcp.dns_port, 0, 65535, RL_DHCP,
	     "port of dnsmasq's DNS for node names (0: no DNS)"),
	STR("dhcp", "dns_upstream", dhcp.dns_upstream, RL_DHCP, check_ip_list,
	    "DNS servers (comma-separated IPv4) that nodes' other queries go to; empty: answer cluster names only"),
	UINT("dhcp", "lease_time", dhcp.lease_time, 120, 31536000, RL_DHCP,
	     "lease time of known nodes, seconds"),
	UINT("dhcp", "pool_lease_time", dhcp.pool_lease_time, 120, 86400, RL_DHCP,
	     "lease time of unknown machines, seconds"),
	UINT("dhcp", "lease_max", dhcp.lease_max, 16, 10000000, RL_DHCP,
	     "most leases dnsmasq holds (its default, 1000, is too low for a cluster)"),
	UINT("dhcp", "tftp_max", dhcp.tftp_max, 1, 100000, RL_DHCP,
	     "most TFTP transfers at once (dnsmasq's default is 50)"),
	STR("dhcp", "dnsmasq", dhcp.dnsmasq, RL_DHCP, check_path, "the dnsmasq program"),
	STR("dhcp", "state_dir", dhcp.state_dir, RL_DHCP, check_path,
	    "where corrald writes dnsmasq's (and Kea's) configuration, host entries and TFTP root"),
	STR("dhcp", "ipxe_dir", dhcp.ipxe_dir, RL_DHCP, check_path,
	    "directory with the iPXE binaries (Debian's ipxe package)"),
	UINT("redfish", "concurrency", rf_concurrency, 1, 4096, RL_RESTART,
	     "Redfish requests in flight at most (discovery probes hundreds at once)"),
	UINT("redfish", "connect_timeout_ms", rf_connect_timeout, 100, 60000, RL_RESTART,
	     "time to connect to a BMC, ms"),
	UINT("redfish", "timeout_ms", rf_timeout, 500, 600000, RL_RESTART,
	     "time for a whole Redfish request, ms"),
	UINT("redfish", "max_reply", rf_max_reply, 65536, 256u << 20, RL_RESTART,
	     "largest Redfish reply taken, bytes"),
	STR("redfish", "ca_file", rf_ca_file, RL_RESTART, NULL,
	    "CA bundle for BMC certificates (empty: the system's)"),
	UINT("redfish", "update_timeout", rf_update_timeout, 5, 86400, RL_RESTART,
	     "seconds a BMC firmware update's Redfish task may run before it is reported failed"),
	UINT("redfish", "firmware_max_size", rf_firmware_max, 1024, 256u << 20, RL_LIVE,
	     "largest BMC firmware image `corral firmware add` takes, bytes"),
	STR("dhcp", "hook", dhcp.hook, RL_DHCP, NULL,
	    "dnsmasq's lease script (default: corral-dhcp-hook next to corrald)"),
	STR("dhcp", "kea", dhcp.kea, RL_DHCP, check_path, "the kea-dhcp4 program (backend kea)"),
	STR("dhcp", "lease_file", dhcp.lease_file, RL_DHCP, check_path_or_empty,
	    "Kea's lease file, kept across restarts (default: kea-leases4.csv beside store.path)"),
};
#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

#undef STR
#undef URL
#undef UINT
#undef FIELD_SIZE

/* Copies src into dst[size]; "" and -ENAMETOOLONG when it does not fit. */
static int config_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size) {
		dst[0] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* snprintf into a message buffer; a message that does not fit ends in "...". */
__attribute__((format(printf, 3, 0))) static void config_vmsg(char *out, size_t len,
							      const char *fmt, va_list ap)
{
	int n = vsnprintf(out, len, fmt, ap);
	if (n >= 0 && (size_t)n < len)
		return;
	if (len >= 4)
		memcpy(out + len - 4, "...", 4);
	else if (len > 0)
		out[0] = '\0';
}

__attribute__((format(printf, 3, 4))) static void config_msg(char *out, size_t len, const char *fmt,
							     ...)
{
	va_list ap;
	va_start(ap, fmt);
	config_vmsg(out, len, fmt, ap);
	va_end(ap);
}

/* dir/name into out; "" when it does not fit. */
static void config_path_in(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= len)
		out[0] = '\0';
}

/* Data directory: /var/lib/corral for root, XDG data home otherwise. */
static void config_data_dir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	int n;
	if (geteuid() == 0)
		n = snprintf(out, len, "/var/lib/corral");
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, len, "%s/corral", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, len, "%s/.local/share/corral", home);
	else
		n = snprintf(out, len, "/tmp/corral-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		(void)config_copy(out, len, "/var/lib/corral");
}

/*
 * Rebuilt at every start and read by dnsmasq after it drops to nobody: a
 * run-time directory every user can traverse, not the private data dir.
 */
static void config_dhcp_state_dir(char *out, size_t len)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n;
	if (geteuid() == 0)
		n = snprintf(out, len, "/run/corral/dhcp");
	else if (rt != NULL && rt[0] == '/' && strlen(rt) < 200)
		n = snprintf(out, len, "%s/corral/dhcp", rt);
	else
		n = snprintf(out, len, "/tmp/corral-%u/dhcp", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		out[0] = '\0';
}

void config_defaults(struct config *c)
{
	char dir[PATH_MAX - 32];
	memset(c, 0, sizeof(*c));
	(void)config_copy(c->address, sizeof(c->address), "0.0.0.0");
	c->port = 8080;
	c->api_port = 8443;
	c->threads = 0;
	c->max_body = 1u << 20;
	c->max_conns = 16384;
	c->api_max_conns = 1024;
	c->max_conns_per_ip = 64;
	c->header_timeout = 10;
	c->body_timeout = 60;
	c->idle_timeout = 60;
	c->conn_memory = 8192;
	c->max_large = 0;
	c->large_retry = 5;
	c->store_memory_kib = 4096;
	c->cache_kib = 16384;
	c->prerender_kib = 12288;
	c->malloc_arenas = 2;
	(void)config_copy(c->tls_mode, sizeof(c->tls_mode), "auto");
	c->log_level = LOG_LVL_INFO;
	config_data_dir(dir, sizeof(dir));
	config_path_in(c->store_path, sizeof(c->store_path), dir, "corral.db");
	config_path_in(c->files_root, sizeof(c->files_root), dir, "files");
	config_path_in(c->key_file, sizeof(c->key_file), dir, "secret.key");
	config_path_in(c->tls_cert, sizeof(c->tls_cert), dir, "tls.crt");
	config_path_in(c->tls_key, sizeof(c->tls_key), dir, "tls.key");
	c->unknown_wait = 10;
	c->retry_max_sleep = 60;
	c->token_ttl = 86400;
	(void)config_copy(c->node_identity, sizeof(c->node_identity), "lease");
	c->events_keep_days = 30;
	c->events_per_node = 1000;
	c->events_max_total = 1000000;
	c->events_coalesce_s = 300;
	struct config_dhcp *d = &c->dhcp;
	(void)config_copy(d->mode, sizeof(d->mode), "off");
	(void)config_copy(d->backend, sizeof(d->backend), "dnsmasq");
	(void)config_copy(d->domain, sizeof(d->domain), "cluster");
	d->dns_port = 53;
	d->lease_time = 43200;
	d->pool_lease_time = 120;
	d->lease_max = 100000;
	d->tftp_max = 1000;
	(void)config_copy(d->dnsmasq, sizeof(d->dnsmasq), "/usr/sbin/dnsmasq");
	config_dhcp_state_dir(d->state_dir, sizeof(d->state_dir));
	(void)config_copy(d->ipxe_dir, sizeof(d->ipxe_dir), "/usr/lib/ipxe");
	(void)config_copy(d->kea, sizeof(d->kea), "/usr/sbin/kea-dhcp4");
	c->rf_concurrency = 256;
	c->rf_connect_timeout = 2000;
	c->rf_timeout = 10000;
	c->rf_max_reply = 4u << 20;
	c->rf_update_timeout = 1800;
	c->rf_firmware_max = 64u << 20;
}

struct config_parse {
	struct config *c;
	FILE *f;
	int line;                       /* lines read so far: the handler's current line */
	int fail_line;                  /* line of our first error, 0 if none */
	int too_long;                   /* a line longer than inih's buffer */
	bool tls_cert_set, tls_key_set; /* the file names tls.cert, tls.key */
	char msg[256];
	int failed;
};

/*
 * Debian's inih does not pass line numbers to handlers; it reads through
 * our reader, which counts lines, so the handler knows where it is.
 */
static char *config_reader(char *str, int num, void *stream)
{
	struct config_parse *p = stream;
	char *r = fgets(str, num, p->f);
	if (r == NULL)
		return NULL;
	p->line++;
	size_t n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(p->f) && !p->too_long)
		p->too_long = p->line;
	return r;
}

__attribute__((format(printf, 3, 4))) static int config_fail(struct config_parse *p, int line,
							     const char *fmt, ...)
{
	if (!p->failed) {
		p->fail_line = line;
		va_list ap;
		va_start(ap, fmt);
		config_vmsg(p->msg, sizeof(p->msg), fmt, ap);
		va_end(ap);
	}
	p->failed = 1;
	return 0;
}

static int config_set(struct config_parse *p, const struct config_key *k, const char *value,
		      int line)
{
	char *field = (char *)p->c + k->offset;
	switch (k->type) {
	case CFG_URL:
		if (value[0] != '\0' && valid_base_url(value) < 0)
			return config_fail(p, line, "%s: not an http:// or https:// URL: %s",
					   k->key, value);
		/* fall through */
	case CFG_STR: {
		const char *why = k->check ? k->check(value) : NULL;
		if (why != NULL)
			return config_fail(p, line, "%s.%s: %s: %s", k->section, k->key, why,
					   value);
		if (config_copy(field, k->size, value) < 0)
			return config_fail(p, line, "%s: value too long", k->key);
		return 1;
	}
	case CFG_UINT: {
		long long v;
		if (valid_parse_ll(value, k->min, k->max, &v) < 0)
			return config_fail(p, line, "%s: expected a whole number in %u..%u", k->key,
					   k->min, k->max);
		*(unsigned *)(void *)field = (unsigned)v;
		return 1;
	}
	case CFG_LOGLEVEL:
		if (log_level_parse(value, (enum log_level *)(void *)field) < 0)
			return config_fail(p, line,
					   "%s: expected error, warn, info or debug, not %s",
					   k->key, value);
		return 1;
	}
	return 0;
}

static int config_handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parse *p = user;
	int line = p->line;
	if (p->failed)
		return 0;
	if (name == NULL)
		return 1; /* a section header alone */
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (strcmp(k->section, section) != 0 || strcmp(k->key, name) != 0)
			continue;
		if (k->offset == offsetof(struct config, tls_cert))
			p->tls_cert_set = true;
		if (k->offset == offsetof(struct config, tls_key))
			p->tls_key_set = true;
		return config_set(p, k, value, line);
	}
	return config_fail(p, line, "unknown key %s (in section [%s])", name, section);
}

/* 0 if s is empty or a comma-separated list of IPv4 addresses. */
static int config_ip_list(const char *s)
{
	char copy[128], *save = NULL;
	if (config_copy(copy, sizeof(copy), s) < 0)
		return -EINVAL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (valid_ipv4(t) < 0)
			return -EINVAL;
	}
	return 0;
}

/* Rules across keys: no single line to blame.  NULL, or why not. */
static const char *config_check_dhcp(const struct config_dhcp *d)
{
	if (strcmp(d->mode, "off") == 0)
		return NULL;
	if (d->interface[0] == '\0')
		return "dhcp.interface is required when dhcp.mode is not off";
	if (d->subnet[0] == '\0')
		return "dhcp.subnet is required when dhcp.mode is not off";
	if ((d->pool_start[0] != '\0') != (d->pool_end[0] != '\0'))
		return "dhcp.pool_start and dhcp.pool_end go together";
	if (strcmp(d->backend, "kea") == 0 && strcmp(d->mode, "proxy") == 0)
		return "dhcp.backend = kea cannot run dhcp.mode = proxy (proxy DHCP is dnsmasq's): "
		       "use dhcp.backend = dnsmasq, or dhcp.mode = authoritative";
	return NULL;
}

int config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	struct config_parse p = {.c = c};
	p.f = fopen(path, "r");
	if (p.f == NULL) {
		int e = errno;
		config_msg(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	int rc = ini_parse_stream(config_reader, &p, config_handler, &p);
	fclose(p.f);
	/* inih returns the first error's line: a syntax error before ours wins. */
	if (p.too_long && (!p.failed || p.too_long <= p.fail_line)) {
		config_msg(err, errlen, "%s:%d: line longer than %d characters", path, p.too_long,
			   INI_MAX_LINE - 2);
		return -EINVAL;
	}
	if (rc != 0 && (!p.failed || rc < p.fail_line)) {
		config_msg(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
			   path, rc);
		return -EINVAL;
	}
	if (p.failed) {
		config_msg(err, errlen, "%s:%d: %s", path, p.fail_line, p.msg);
		return -EINVAL;
	}
	const char *why = config_check_dhcp(&c->dhcp);
	if (why != NULL) {
		config_msg(err, errlen, "%s: %s", path, why);
		return -EINVAL;
	}
	char dir[PATH_MAX - 32];
	config_data_dir(dir, sizeof(dir));
	config_tls_default_paths(c, !p.tls_cert_set, !p.tls_key_set, dir);
	return 0;
}

/* Whether path names an existing file (of any kind). */
static bool config_exists(const char *path)
{
	struct stat st;
	return path[0] != '\0' && stat(path, &st) == 0;
}

void config_tls_default_paths(struct config *c, bool cert, bool key, const char *old_dir)
{
	char dir[PATH_MAX - 32], old_cert[PATH_MAX], old_key[PATH_MAX];
	const char *slash = strrchr(c->key_file, '/');
	size_t n = slash == NULL ? 0 : (size_t)(slash - c->key_file);

	c->tls_old_dir = false;
	/* check_path made key_file absolute; "/secret.key" leaves n = 0: "/" */
	if (slash == NULL || n >= sizeof(dir))
		return;
	memcpy(dir, c->key_file, n);
	dir[n] = '\0';
	if (cert)
		config_path_in(c->tls_cert, sizeof(c->tls_cert), dir, "tls.crt");
	if (key)
		config_path_in(c->tls_key, sizeof(c->tls_key), dir, "tls.key");
	if (!cert || !key || old_dir == NULL || strcmp(dir, old_dir) == 0)
		return;
	if (config_exists(c->tls_cert) || config_exists(c->tls_key))
		return;
	/*
	 * Before this default, the pair went to the data directory whatever
	 * auth.key_file said.  An install whose pair is still there keeps it:
	 * a new self-signed certificate would change the fingerprint every
	 * operator pinned.
	 */
	config_path_in(old_cert, sizeof(old_cert), old_dir, "tls.crt");
	config_path_in(old_key, sizeof(old_key), old_dir, "tls.key");
	if (!config_exists(old_cert) && !config_exists(old_key))
		return;
	(void)config_copy(c->tls_cert, sizeof(c->tls_cert), old_cert);
	(void)config_copy(c->tls_key, sizeof(c->tls_key), old_key);
	c->tls_old_dir = true;
}

int config_resolve_base_url(struct config *c, uint16_t port)
{
	int n;
	if (c->advertise_url[0] != '\0') {
		n = snprintf(c->base_url, sizeof(c->base_url), "%s", c->advertise_url);
	} else {
		char host[256] = "";
		const char *h = c->address;
		if (strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0) {
			if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
				(void)config_copy(host, sizeof(host), "localhost");
			h = host;
		}
		int v6 = strchr(h, ':') != NULL;
		n = snprintf(c->base_url, sizeof(c->base_url), "http://%s%s%s:%u", v6 ? "[" : "", h,
			     v6 ? "]" : "", port);
	}
	if (n < 0 || (size_t)n >= sizeof(c->base_url)) {
		c->base_url[0] = '\0';
		return -ENAMETOOLONG;
	}
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
	return 0;
}

bool config_split_listeners(const struct config *c)
{
	return c->api_port != c->port ||
	       (c->api_address[0] != '\0' && strcmp(c->api_address, c->address) != 0);
}

const char *config_api_address(const struct config *c)
{
	return c->api_address[0] != '\0' ? c->api_address : c->address;
}

bool config_tls_enabled(const struct config *c)
{
	if (strcmp(c->tls_mode, "on") == 0)
		return true;
	return strcmp(c->tls_mode, "auto") == 0 && config_split_listeners(c);
}

/* True if key k holds the same value at a + k->offset - shift and b + ... */
static bool config_key_equal(const struct config_key *k, const char *a, const char *b, size_t shift)
{
	a += k->offset - shift;
	b += k->offset - shift;
	switch (k->type) {
	case CFG_STR:
	case CFG_URL:
		return strcmp(a, b) == 0;
	case CFG_UINT:
	case CFG_LOGLEVEL:
		return memcmp(a, b, k->size) == 0; /* one scalar, no padding */
	}
	return false;
}

bool config_dhcp_equal(const struct config_dhcp *a, const struct config_dhcp *b)
{
	size_t base = offsetof(struct config, dhcp);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->reload != RL_DHCP)
			continue;
		if (!config_key_equal(k, (const char *)a, (const char *)b, base))
			return false;
	}
	return true;
}

/* Appends "section.key" to the comma-separated list in ch->restart. */
static void config_note_restart(struct config_change *ch, const struct config_key *k)
{
	size_t used = strlen(ch->restart), room = sizeof(ch->restart) - used;
	int n = snprintf(ch->restart + used, room, "%s%s.%s", used ? ", " : "", k->section, k->key);
	if (n < 0 || (size_t)n >= room) /* cannot happen with today's table; say so if it does */
		memcpy(ch->restart + sizeof(ch->restart) - 4, "...", 4);
}

int config_merge(const struct config *cur, struct config *next, uint16_t port,
		 struct config_change *ch)
{
	bool dhcp = false;
	memset(ch, 0, sizeof(*ch));
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (config_key_equal(k, (const char *)cur, (const char *)next, 0))
			continue;
		switch (k->reload) {
		case RL_LIVE:
			break;
		case RL_RESTART:
			memcpy((char *)next + k->offset, (const char *)cur + k->offset, k->size);
			config_note_restart(ch, k);
			break;
		case RL_FILES:
			ch->files_root = true;
			break;
		case RL_DHCP:
			dhcp = true;
			break;
		}
	}
	int rc = config_resolve_base_url(next, port);
	/* dnsmasq tells iPXE the boot script's URL: a new one needs a new dnsmasq. */
	if (strcmp(cur->base_url, next->base_url) != 0)
		dhcp = true;
	/* Off before and after: nothing runs that could change. */
	ch->dhcp = dhcp &&
		   !(strcmp(cur->dhcp.mode, "off") == 0 && strcmp(next->dhcp.mode, "off") == 0);
	return rc;
}

static const char *const config_reload_notes[] = {
	[RL_LIVE] = "",
	[RL_RESTART] = "; a reload keeps the running value (restart to apply)",
	[RL_FILES] = "",
	[RL_DHCP] = "",
};

void config_describe(void (*emit)(const char *line, void *arg), void *arg)
{
	struct config d;
	struct buf line;
	config_defaults(&d);
	buf_init(&line, 2 * PATH_MAX);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const char *field = (const char *)&d + k->offset;
		int rc = buf_printf(&line, "%s.%s = ", k->section, k->key);
		switch (k->type) {
		case CFG_STR:
		case CFG_URL:
			rc |= buf_adds(&line, field);
			break;
		case CFG_UINT:
			rc |= buf_printf(&line, "%u", *(const unsigned *)(const void *)field);
			break;
		case CFG_LOGLEVEL:
			rc |= buf_adds(&line, "info");
			break;
		}
		rc |= buf_printf(&line, "\t# %s%s", k->help, config_reload_notes[k->reload]);
		if (rc == 0)
			emit(buf_str(&line), arg);
		buf_reset(&line);
	}
	buf_clear(&line);
}
