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
#include <unistd.h>

#include "valid.h"

enum config_type { CFG_STR, CFG_UINT, CFG_LOGLEVEL, CFG_URL };

struct config_key {
	const char *section;
	const char *key;
	enum config_type type;
	size_t offset;
	size_t size;       /* CFG_STR/CFG_URL: buffer size */
	unsigned min, max; /* CFG_UINT bounds */
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

static int config_ip_list(const char *s);
static const char *check_ip_list(const char *v)
{
	return config_ip_list(v) == 0 ? NULL : "expected comma-separated IPv4 addresses";
}

#define STR(sec, k, field, h)                                              \
	{                                                                  \
		sec, k, CFG_STR, offsetof(struct config, field),           \
			sizeof(((struct config *)0)->field), 0, 0, h, NULL \
	}
#define STRC(sec, k, field, chk, h)                                       \
	{                                                                 \
		sec, k, CFG_STR, offsetof(struct config, field),          \
			sizeof(((struct config *)0)->field), 0, 0, h, chk \
	}
#define URL(sec, k, field, h)                                              \
	{                                                                  \
		sec, k, CFG_URL, offsetof(struct config, field),           \
			sizeof(((struct config *)0)->field), 0, 0, h, NULL \
	}
#define UINT(sec, k, field, lo, hi, h)                                               \
	{                                                                            \
		sec, k, CFG_UINT, offsetof(struct config, field), 0, lo, hi, h, NULL \
	}

static const struct config_key config_keys[] = {
	STRC("server", "address", address, check_ip, "listen address"),
	UINT("server", "port", port, 0, 65535, "listen port (0: any free port)"),
	URL("server", "advertise_url", advertise_url,
	    "base URL given to nodes (default: http://<address or host name>:<port>)"),
	UINT("server", "threads", threads, 0, 256, "HTTP worker threads (0: one per CPU)"),
	UINT("server", "max_body", max_body, 1024, 64u << 20, "largest API request body, bytes"),
	{"server", "log_level", CFG_LOGLEVEL, offsetof(struct config, log_level), 0, 0, 0,
	 "error, warn, info or debug", NULL},
	STRC("store", "path", store_path, check_path, "SQLite database file"),
	STRC("files", "root", files_root, check_path, "directory served under /files/"),
	STRC("auth", "key_file", key_file, check_path,
	     "secret that signs per-node cloud-init tokens (created 0600 if missing)"),
	UINT("boot", "unknown_wait", unknown_wait, 1, 3600,
	     "seconds an unknown or unconfigured node waits before asking again"),
	UINT("boot", "retry_max_sleep", retry_max_sleep, 1, 3600,
	     "longest back-off between boot retries, seconds"),
	UINT("cloud_init", "token_ttl", token_ttl, 60, 365u * 86400,
	     "lifetime of the per-node token in the seed URL, seconds"),
	UINT("events", "keep_days", events_keep_days, 1, 3650,
	     "boot events older than this many days are pruned"),
	STRC("dhcp", "mode", dhcp_mode, check_mode,
	     "off (corrald serves HTTP only), authoritative (corrald's dnsmasq hands out addresses) or proxy (the site's DHCP server stays; dnsmasq adds the boot information)"),
	STRC("dhcp", "interface", dhcp_interface, check_iface,
	     "network interface dnsmasq serves (required unless mode is off)"),
	STRC("dhcp", "subnet", dhcp_subnet, check_cidr,
	     "the boot network, a.b.c.d/len (required unless mode is off)"),
	STRC("dhcp", "pool_start", dhcp_pool_start, check_ipv4_or_empty,
	     "first address for unknown machines (default: the subnet's upper half)"),
	STRC("dhcp", "pool_end", dhcp_pool_end, check_ipv4_or_empty,
	     "last address for unknown machines"),
	STRC("dhcp", "router", dhcp_router, check_ipv4_or_empty,
	     "default gateway given to nodes (option 3); empty: none"),
	STRC("dhcp", "domain", dhcp_domain, check_domain, "DNS domain of node names"),
	UINT("dhcp", "dns_port", dhcp_dns_port, 0, 65535,
	     "port of dnsmasq's DNS for node names (0: no DNS)"),
	STRC("dhcp", "dns_upstream", dhcp_dns_upstream, check_ip_list,
	     "DNS servers (comma-separated IPv4) that nodes' other queries go to; empty: answer cluster names only"),
	UINT("dhcp", "lease_time", dhcp_lease_time, 120, 31536000,
	     "lease time of known nodes, seconds"),
	UINT("dhcp", "pool_lease_time", dhcp_pool_lease_time, 120, 86400,
	     "lease time of unknown machines, seconds"),
	UINT("dhcp", "lease_max", dhcp_lease_max, 16, 10000000,
	     "most leases dnsmasq holds (its default, 1000, is too low for a cluster)"),
	UINT("dhcp", "tftp_max", dhcp_tftp_max, 1, 100000,
	     "most TFTP transfers at once (dnsmasq's default is 50)"),
	STRC("dhcp", "dnsmasq", dhcp_dnsmasq, check_path, "the dnsmasq program"),
	STRC("dhcp", "state_dir", dhcp_state_dir, check_path,
	     "where corrald writes dnsmasq's configuration, host entries and TFTP root"),
	STRC("dhcp", "ipxe_dir", dhcp_ipxe_dir, check_path,
	     "directory with the iPXE binaries (Debian's ipxe package)"),
	UINT("redfish", "concurrency", rf_concurrency, 1, 4096,
	     "Redfish requests in flight at most (discovery probes hundreds at once)"),
	UINT("redfish", "connect_timeout_ms", rf_connect_timeout, 100, 60000,
	     "time to connect to a BMC, ms"),
	UINT("redfish", "timeout_ms", rf_timeout, 500, 600000,
	     "time for a whole Redfish request, ms"),
	UINT("redfish", "max_reply", rf_max_reply, 65536, 256u << 20,
	     "largest Redfish reply taken, bytes"),
	STR("redfish", "ca_file", rf_ca_file,
	    "CA bundle for BMC certificates (empty: the system's)"),
	STR("dhcp", "hook", dhcp_hook,
	    "dnsmasq's lease script (default: corral-dhcp-hook next to corrald)"),
};

#undef STR
#undef STRC
#undef URL
#undef UINT

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
		snprintf(out, len, "/var/lib/corral");
}

static void config_path_in(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= len)
		out[0] = '\0';
}

void config_defaults(struct config *c)
{
	char dir[PATH_MAX - 32];
	memset(c, 0, sizeof(*c));
	snprintf(c->address, sizeof(c->address), "0.0.0.0");
	c->port = 8080;
	c->threads = 0;
	c->max_body = 1u << 20;
	c->log_level = LOG_LVL_INFO;
	config_data_dir(dir, sizeof(dir));
	config_path_in(c->store_path, sizeof(c->store_path), dir, "corral.db");
	config_path_in(c->files_root, sizeof(c->files_root), dir, "files");
	config_path_in(c->key_file, sizeof(c->key_file), dir, "secret.key");
	c->unknown_wait = 10;
	c->retry_max_sleep = 60;
	c->token_ttl = 86400;
	c->events_keep_days = 30;
	snprintf(c->dhcp_mode, sizeof(c->dhcp_mode), "off");
	snprintf(c->dhcp_domain, sizeof(c->dhcp_domain), "cluster");
	c->dhcp_dns_port = 53;
	c->dhcp_lease_time = 43200;
	c->dhcp_pool_lease_time = 120;
	c->dhcp_lease_max = 100000;
	c->dhcp_tftp_max = 1000;
	snprintf(c->dhcp_dnsmasq, sizeof(c->dhcp_dnsmasq), "/usr/sbin/dnsmasq");
	/* Rebuilt at every start and read by dnsmasq after it drops to nobody:
	 * a run-time directory every user can traverse, not the private data dir. */
	const char *rt = getenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0)
		snprintf(c->dhcp_state_dir, sizeof(c->dhcp_state_dir), "/run/corral/dhcp");
	else if (rt != NULL && rt[0] == '/' && strlen(rt) < 200)
		snprintf(c->dhcp_state_dir, sizeof(c->dhcp_state_dir), "%s/corral/dhcp", rt);
	else
		snprintf(c->dhcp_state_dir, sizeof(c->dhcp_state_dir), "/tmp/corral-%u/dhcp",
			 (unsigned)geteuid());
	snprintf(c->dhcp_ipxe_dir, sizeof(c->dhcp_ipxe_dir), "/usr/lib/ipxe");
	c->rf_concurrency = 256;
	c->rf_connect_timeout = 2000;
	c->rf_timeout = 10000;
	c->rf_max_reply = 4u << 20;
}

struct config_parse {
	struct config *c;
	FILE *f;
	int line;      /* lines read so far: the handler's current line */
	int fail_line; /* line of our first error, 0 if none */
	int too_long;  /* a line longer than inih's buffer */
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
		vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
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
		int n = snprintf(field, k->size, "%s", value);
		if (n < 0 || (size_t)n >= k->size)
			return config_fail(p, line, "%s: value too long", k->key);
		return 1;
	}
	case CFG_UINT: {
		long long v;
		if (valid_parse_ll(value, k->min, k->max, &v) < 0) {
			char range[64];
			snprintf(range, sizeof(range), "%u..%u", k->min, k->max);
			return config_fail(p, line, "%s: expected a whole number in %s", k->key,
					   range);
		}
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
	struct config_parse *pp = user;
	int line = pp->line;
	struct config_parse *p = user;
	if (p->failed)
		return 0;
	if (name == NULL)
		return 1; /* a section header alone */
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		const struct config_key *k = &config_keys[i];
		if (strcmp(k->section, section) == 0 && strcmp(k->key, name) == 0)
			return config_set(p, k, value, line);
	}
	return config_fail(p, line, "unknown key %s (in section [%s])", name, section);
}

/* 0 if s is empty or a comma-separated list of IPv4 addresses. */
static int config_ip_list(const char *s)
{
	char copy[128], *save = NULL;
	snprintf(copy, sizeof(copy), "%s", s);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (valid_ipv4(t) < 0)
			return -EINVAL;
	}
	return 0;
}

int config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	struct config_parse p = {.c = c};
	p.f = fopen(path, "r");
	if (p.f == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	int rc = ini_parse_stream(config_reader, &p, config_handler, &p);
	fclose(p.f);
	/* inih returns the first error's line: a syntax error before ours wins. */
	if (p.too_long && (!p.failed || p.too_long <= p.fail_line)) {
		snprintf(err, errlen, "%s:%d: line longer than %d characters", path, p.too_long,
			 INI_MAX_LINE - 2);
		return -EINVAL;
	}
	if (rc != 0 && (!p.failed || rc < p.fail_line)) {
		snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)",
			 path, rc);
		return -EINVAL;
	}
	if (p.failed) {
		snprintf(err, errlen, "%s:%d: %s", path, p.fail_line, p.msg);
		return -EINVAL;
	}
	/* Rules across keys: no single line to blame. */
	if (strcmp(c->dhcp_mode, "off") != 0) {
		const char *why = NULL;
		if (c->dhcp_interface[0] == '\0')
			why = "dhcp.interface is required when dhcp.mode is not off";
		else if (c->dhcp_subnet[0] == '\0')
			why = "dhcp.subnet is required when dhcp.mode is not off";
		else if ((c->dhcp_pool_start[0] != '\0') != (c->dhcp_pool_end[0] != '\0'))
			why = "dhcp.pool_start and dhcp.pool_end go together";
		if (why != NULL) {
			snprintf(err, errlen, "%s: %s", path, why);
			return -EINVAL;
		}
	}
	return 0;
}

void config_describe(void (*emit)(const char *line, void *arg), void *arg)
{
	struct config d;
	config_defaults(&d);
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		const struct config_key *k = &config_keys[i];
		const char *field = (const char *)&d + k->offset;
		char val[PATH_MAX], line[PATH_MAX + 512];
		switch (k->type) {
		case CFG_STR:
		case CFG_URL:
			snprintf(val, sizeof(val), "%s", field);
			break;
		case CFG_UINT:
			snprintf(val, sizeof(val), "%u", *(const unsigned *)(const void *)field);
			break;
		case CFG_LOGLEVEL:
			snprintf(val, sizeof(val), "info");
			break;
		}
		snprintf(line, sizeof(line), "%s.%s = %s\t# %s", k->section, k->key, val, k->help);
		emit(line, arg);
	}
}
