/*
 * Unit tests for config: defaults, a file setting every key, the bounds of
 * each number, and errors: every refused file must give "path:LINE:" with
 * the line at fault and the key's name.  Files are written into a fresh
 * temporary directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* snprintf into an array; the test fails rather than go on with a cut string. */
#define FMT(buf, ...) assert_true((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) < sizeof(buf))

static char tmpdir[64];
static char cfgpath[128];

static int setup(void **state)
{
	(void)state;
	FMT(tmpdir, "/tmp/test_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	FMT(cfgpath, "%s/corral.conf", tmpdir);
	/* Defaults depend on these when not root: pin them. */
	setenv("XDG_DATA_HOME", "/tmp/xdg-test-config", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cfgpath);
	rmdir(tmpdir);
	return 0;
}

static void write_cfg(const char *text)
{
	FILE *f = fopen(cfgpath, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Loads text over the defaults. */
static int load(const char *text, struct config *c, char *err, size_t errlen)
{
	write_cfg(text);
	config_defaults(c);
	err[0] = '\0';
	return config_load(cfgpath, c, err, errlen);
}

/* ---- defaults ----------------------------------------------------------- */

static void test_defaults(void **state)
{
	struct config c;
	const char *dir = geteuid() == 0 ? "/var/lib/corral" : "/tmp/xdg-test-config/corral";
	char want[PATH_MAX];

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	config_defaults(&c);
	assert_string_equal(c.address, "0.0.0.0");
	assert_int_equal(c.port, 8080);
	assert_string_equal(c.advertise_url, "");
	assert_int_equal(c.threads, 0);
	assert_int_equal(c.max_body, 1u << 20);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	FMT(want, "%s/corral.db", dir);
	assert_string_equal(c.store_path, want);
	FMT(want, "%s/files", dir);
	assert_string_equal(c.files_root, want);
	FMT(want, "%s/secret.key", dir);
	assert_string_equal(c.key_file, want);
	assert_int_equal(c.unknown_wait, 10);
	assert_int_equal(c.retry_max_sleep, 60);
	assert_int_equal(c.token_ttl, 86400);
	assert_int_equal(c.events_keep_days, 30);
	assert_int_equal(c.events_per_node, 1000);
	assert_int_equal(c.events_max_total, 1000000);
	assert_int_equal(c.events_coalesce_s, 300);
	assert_string_equal(c.base_url, "");
	/* [dhcp]: off unless asked for */
	assert_string_equal(c.dhcp.mode, "off");
	assert_string_equal(c.dhcp.interface, "");
	assert_string_equal(c.dhcp.subnet, "");
	assert_string_equal(c.dhcp.domain, "cluster");
	assert_int_equal(c.dhcp.dns_port, 53);
	assert_int_equal(c.dhcp.lease_time, 43200);
	assert_int_equal(c.dhcp.pool_lease_time, 120);
	assert_string_equal(c.dhcp.dnsmasq, "/usr/sbin/dnsmasq");
	assert_string_equal(c.dhcp.backend, "dnsmasq");
	assert_string_equal(c.dhcp.kea, "/usr/sbin/kea-dhcp4");
	assert_string_equal(c.dhcp.lease_file, ""); /* beside the store */
	/* Rebuilt at each start and read by dnsmasq as nobody: a run-time
	 * directory, never the private data directory. */
	if (geteuid() == 0)
		assert_string_equal(c.dhcp.state_dir, "/run/corral/dhcp");
	assert_null(strstr(c.dhcp.state_dir, dir));

	/* An empty file (and one of comments) leaves every default. */
	struct config d;
	char err[512];
	assert_int_equal(load("", &d, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(load("; comment\n# another\n\n[server]\n", &d, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
}

/* ---- every key set ------------------------------------------------------ */

static void test_every_key(void **state)
{
	static const char text[] = "# every key corrald knows\n"
				   "[server]\n"
				   "address = 127.0.0.1\n"
				   "port = 9090\n"
				   "advertise_url = https://boot.example.org:8443/corral\n"
				   "threads = 4\n"
				   "max_body = 2097152\n"
				   "log_level = debug\n"
				   "api_address = 127.0.0.2\n"
				   "api_port = 9443\n"
				   "max_connections = 20000\n"
				   "api_max_connections = 512\n"
				   "max_connections_per_ip = 32\n"
				   "header_timeout = 5\n"
				   "body_timeout = 30\n"
				   "idle_timeout = 20\n"
				   "[tls]\n"
				   "mode = on\n"
				   "cert = /etc/corral/tls.crt\n"
				   "key = /etc/corral/tls.key\n"
				   "names = corral.lab, 10.0.0.2\n"
				   "\n"
				   "[store]\n"
				   "path = /var/tmp/corral-test/corral.db\n"
				   "[files]\n"
				   "root = /srv/corral/files\n"
				   "[auth]\n"
				   "key_file = /etc/corral/secret.key\n"
				   "[boot]\n"
				   "unknown_wait = 30\n"
				   "retry_max_sleep = 120\n"
				   "[cloud_init]\n"
				   "token_ttl = 3600\n"
				   "[events]\n"
				   "keep_days = 7\n"
				   "[dhcp]\n"
				   "mode = authoritative\n"
				   "interface = eth1\n"
				   "subnet = 10.100.0.0/16\n"
				   "pool_start = 10.100.200.1\n"
				   "pool_end = 10.100.250.254\n"
				   "router = 10.100.0.1\n"
				   "domain = lab\n"
				   "dns_port = 5353\n"
				   "dns_upstream = 1.1.1.1, 9.9.9.9\n"
				   "lease_time = 3600\n"
				   "pool_lease_time = 600\n"
				   "lease_max = 5000\n"
				   "tftp_max = 200\n"
				   "dnsmasq = /usr/local/sbin/dnsmasq\n"
				   "state_dir = /var/lib/corral-test/dhcp\n"
				   "ipxe_dir = /usr/share/ipxe\n"
				   "hook = /usr/local/libexec/corral-dhcp-hook\n";
	struct config c;
	char err[512];

	(void)state;
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_string_equal(c.address, "127.0.0.1");
	assert_int_equal(c.port, 9090);
	assert_string_equal(c.advertise_url, "https://boot.example.org:8443/corral");
	assert_int_equal(c.threads, 4);
	assert_int_equal(c.max_body, 2097152);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_string_equal(c.api_address, "127.0.0.2");
	assert_int_equal(c.api_port, 9443);
	assert_int_equal(c.max_conns, 20000);
	assert_int_equal(c.api_max_conns, 512);
	assert_int_equal(c.max_conns_per_ip, 32);
	assert_int_equal(c.header_timeout, 5);
	assert_int_equal(c.body_timeout, 30);
	assert_int_equal(c.idle_timeout, 20);
	assert_string_equal(c.tls_mode, "on");
	assert_string_equal(c.tls_cert, "/etc/corral/tls.crt");
	assert_string_equal(c.tls_key, "/etc/corral/tls.key");
	assert_string_equal(c.tls_names, "corral.lab, 10.0.0.2");
	assert_string_equal(c.store_path, "/var/tmp/corral-test/corral.db");
	assert_string_equal(c.files_root, "/srv/corral/files");
	assert_string_equal(c.key_file, "/etc/corral/secret.key");
	assert_int_equal(c.unknown_wait, 30);
	assert_int_equal(c.retry_max_sleep, 120);
	assert_int_equal(c.token_ttl, 3600);
	assert_int_equal(c.events_keep_days, 7);
	assert_string_equal(c.dhcp.mode, "authoritative");
	assert_string_equal(c.dhcp.interface, "eth1");
	assert_string_equal(c.dhcp.subnet, "10.100.0.0/16");
	assert_string_equal(c.dhcp.pool_start, "10.100.200.1");
	assert_string_equal(c.dhcp.pool_end, "10.100.250.254");
	assert_string_equal(c.dhcp.router, "10.100.0.1");
	assert_string_equal(c.dhcp.domain, "lab");
	assert_int_equal(c.dhcp.dns_port, 5353);
	assert_string_equal(c.dhcp.dns_upstream, "1.1.1.1, 9.9.9.9");
	assert_int_equal(c.dhcp.lease_time, 3600);
	assert_int_equal(c.dhcp.pool_lease_time, 600);
	assert_int_equal(c.dhcp.lease_max, 5000);
	assert_int_equal(c.dhcp.tftp_max, 200);
	assert_string_equal(c.dhcp.dnsmasq, "/usr/local/sbin/dnsmasq");
	assert_string_equal(c.dhcp.state_dir, "/var/lib/corral-test/dhcp");
	assert_string_equal(c.dhcp.ipxe_dir, "/usr/share/ipxe");
	assert_string_equal(c.dhcp.hook, "/usr/local/libexec/corral-dhcp-hook");
}

/* ---- accepted values ---------------------------------------------------- */

struct ok_case {
	const char *text;
	size_t offset; /* a field of struct config */
	int is_str;
	unsigned num;
	const char *str;
};

#define U(text, field, v)                                        \
	{                                                        \
		text, offsetof(struct config, field), 0, v, NULL \
	}
#define S(text, field, v)                                     \
	{                                                     \
		text, offsetof(struct config, field), 1, 0, v \
	}

static const struct ok_case ok_cases[] = {
	U("[server]\nport = 0\n", port, 0),
	U("[server]\nport = 65535\n", port, 65535),
	U("[server]\nport=1\n", port, 1),
	U("[server]\nport = 80 ; inline comment\n", port, 80),
	U("[server]\nthreads = 256\n", threads, 256),
	U("[server]\nmax_body = 1024\n", max_body, 1024),
	U("[server]\nmax_body = 67108864\n", max_body, 67108864),
	U("[boot]\nunknown_wait = 1\n", unknown_wait, 1),
	U("[boot]\nunknown_wait = 3600\n", unknown_wait, 3600),
	U("[boot]\nretry_max_sleep = 1\n", retry_max_sleep, 1),
	U("[boot]\nretry_max_sleep = 3600\n", retry_max_sleep, 3600),
	U("[cloud_init]\ntoken_ttl = 60\n", token_ttl, 60),
	U("[cloud_init]\ntoken_ttl = 31536000\n", token_ttl, 31536000),
	U("[events]\nkeep_days = 1\n", events_keep_days, 1),
	U("[events]\nkeep_days = 3650\n", events_keep_days, 3650),
	U("[events]\nper_node = 1\n", events_per_node, 1),
	U("[events]\nper_node = 1000000\n", events_per_node, 1000000),
	U("[events]\nmax_total = 10\n", events_max_total, 10),
	U("[events]\nmax_total = 100000000\n", events_max_total, 100000000),
	U("[events]\ncoalesce_window = 0\n", events_coalesce_s, 0),
	U("[events]\ncoalesce_window = 86400\n", events_coalesce_s, 86400),
	U("[server]\nlog_level = error\n", log_level, LOG_LVL_ERROR),
	U("[server]\nlog_level = warn\n", log_level, LOG_LVL_WARN),
	U("[server]\nlog_level = info\n", log_level, LOG_LVL_INFO),
	U("[server]\nport = 1\nport = 2\n", port, 2), /* the last one wins */
	S("[server]\naddress = ::1\n", address, "::1"),
	S("[server]\naddress = ::\n", address, "::"),
	S("[server]\naddress = 10.1.2.3\n", address, "10.1.2.3"),
	S("[server]\nadvertise_url = http://10.0.0.1:8080\n", advertise_url,
	  "http://10.0.0.1:8080"),
	S("[server]\nadvertise_url =\n", advertise_url, ""),
	S("[files]\nroot = /srv/files with space\n", files_root, "/srv/files with space"),
	/* listeners, slow clients, TLS */
	U("[server]\napi_port = 0\n", api_port, 0),
	U("[server]\napi_port = 65535\n", api_port, 65535),
	S("[server]\napi_address = ::1\n", api_address, "::1"),
	S("[server]\napi_address =\n", api_address, ""),
	U("[server]\nmax_connections = 64\n", max_conns, 64),
	U("[server]\nmax_connections = 1000000\n", max_conns, 1000000),
	U("[server]\napi_max_connections = 16\n", api_max_conns, 16),
	U("[server]\nmax_connections_per_ip = 0\n", max_conns_per_ip, 0),
	U("[server]\nheader_timeout = 1\n", header_timeout, 1),
	U("[server]\nbody_timeout = 86400\n", body_timeout, 86400),
	U("[server]\nidle_timeout = 5\n", idle_timeout, 5),
	/* memory bounds (bench/PROFILE.md) */
	U("[server]\nmalloc_arenas = 0\n", malloc_arenas, 0),
	U("[server]\nmalloc_arenas = 64\n", malloc_arenas, 64),
	U("[boot]\nprerender_kib = 0\n", prerender_kib, 0),
	U("[boot]\nprerender_kib = 4096\n", prerender_kib, 4096),
	S("[tls]\nmode = on\n", tls_mode, "on"),
	S("[tls]\nmode = off\n", tls_mode, "off"),
	S("[tls]\ncert = /etc/corral/tls.crt\n", tls_cert, "/etc/corral/tls.crt"),
	S("[tls]\nkey = /etc/corral/tls.key\n", tls_key, "/etc/corral/tls.key"),
	S("[tls]\nnames = corral.lab, 10.0.0.2 , ::1\n", tls_names, "corral.lab, 10.0.0.2 , ::1"),
	S("[tls]\nnames =\n", tls_names, ""),
};

static void test_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ok_cases); i++) {
		const struct ok_case *k = &ok_cases[i];
		struct config c;
		char err[512];
		const char *field;
		int rc = load(k->text, &c, err, sizeof(err));

		if (rc != 0)
			fail_msg("accepted case %zu: rc %d: %s", i, rc, err);
		field = (const char *)&c + k->offset;
		if (k->is_str) {
			if (strcmp(field, k->str) != 0)
				fail_msg("accepted case %zu: \"%s\", want \"%s\"", i, field,
					 k->str);
		} else {
			unsigned v;
			memcpy(&v, field, sizeof(v));
			if (v != k->num)
				fail_msg("accepted case %zu: %u, want %u", i, v, k->num);
		}
	}
}

/* ---- errors ------------------------------------------------------------- */

struct err_case {
	const char *text;
	int line;
	const char *key; /* the message names it */
};

/* Each error must come back as "<path>:<line>: ..." naming key. */
static int check_errors(const char *group, const struct err_case *cases, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		const struct err_case *e = &cases[i];
		struct config c;
		char err[512], prefix[192];
		int rc = load(e->text, &c, err, sizeof(err));

		FMT(prefix, "%s:%d: ", cfgpath, e->line);
		if (rc >= 0) {
			print_error("%s case %zu: accepted, want an error at line %d\n", group, i,
				    e->line);
			bad++;
		} else if (strncmp(err, prefix, strlen(prefix)) != 0 ||
			   strstr(err, e->key) == NULL) {
			print_error("%s case %zu: \"%s\"\n    want \"%s...\" naming %s\n", group, i,
				    err, prefix, e->key);
			bad++;
		}
	}
	return bad;
}

static const struct err_case err_cases[] = {
	/* unknown keys, also keys in the wrong section or none */
	{"[server]\nport = 1\nbogus = 2\n", 3, "bogus"},
	{"[server]\nport = 1\n\n[boot]\nport = 2\n", 5, "port"},
	{"port = 1\n", 1, "port"},
	{"[nosuch]\nx = 1\n", 2, "x"},
	{"[Server]\nport = 1\n", 2, "port"},
	/* numbers out of range or not numbers */
	{"[server]\n\nport = 65536\n", 3, "port"},
	{"[server]\nport = -1\n", 2, "port"},
	{"[server]\nport = 80x\n", 2, "port"},
	{"[server]\nport = 0x50\n", 2, "port"},
	{"[server]\nport =\n", 2, "port"},
	{"[server]\nport = 99999999999999999999\n", 2, "port"},
	{"[server]\nthreads = 257\n", 2, "threads"},
	{"[server]\nmax_body = 1023\n", 2, "max_body"},
	{"[server]\nmax_body = 67108865\n", 2, "max_body"},
	{"[boot]\nunknown_wait = 0\n", 2, "unknown_wait"},
	{"[boot]\nunknown_wait = 3601\n", 2, "unknown_wait"},
	{"[boot]\nretry_max_sleep = 0\n", 2, "retry_max_sleep"},
	{"[cloud_init]\ntoken_ttl = 59\n", 2, "token_ttl"},
	{"[cloud_init]\ntoken_ttl = 31536001\n", 2, "token_ttl"},
	{"[events]\nkeep_days = 0\n", 2, "keep_days"},
	{"[events]\nkeep_days = 3651\n", 2, "keep_days"},
	{"[events]\nper_node = 0\n", 2, "per_node"},
	{"[events]\nper_node = 1000001\n", 2, "per_node"},
	{"[events]\nmax_total = 9\n", 2, "max_total"},
	{"[events]\nmax_total = 100000001\n", 2, "max_total"},
	{"[events]\ncoalesce_window = 86401\n", 2, "coalesce_window"},
	{"[events]\ncoalesce_window = -1\n", 2, "coalesce_window"},
	/* log level */
	{"[server]\nlog_level = verbose\n", 2, "log_level"},
	{"[server]\nlog_level = INFO\n", 2, "log_level"},
	{"[server]\nlog_level =\n", 2, "log_level"},
	/* advertise_url */
	{"[server]\nadvertise_url = ftp://boot.example.org\n", 2, "advertise_url"},
	{"[server]\nadvertise_url = boot.example.org:8080\n", 2, "advertise_url"},
	{"[server]\nadvertise_url = http://\n", 2, "advertise_url"},
	{"[server]\nadvertise_url = http://h/${x}\n", 2, "advertise_url"},
	/* strings too long for their field */
	{"[server]\naddress = "
	 "1111111111222222222233333333334444444444555555555566666666667777777777\n",
	 2, "address"},
	/* the first error is the one reported */
	{"[server]\nport = 1\nthreads = 999\nport = 99999\nbogus = 1\n", 3, "threads"},
	/* lines that are not INI */
	{"[server]\nport\n", 2, "syntax"},
	{"[server]\nport = 1\njust words\n", 3, "syntax"},
};

static void test_errors(void **state)
{
	(void)state;
	if (check_errors("error", err_cases, NELEM(err_cases)) != 0)
		fail_msg("config errors without the right \"path:LINE:\" or key (listed above)");
}

/*
 * Checks made after the file is read (server.address, empty paths) must
 * still point at the line that set the value.
 */
static const struct err_case late_err_cases[] = {
	{"[server]\naddress = 10.0.0.256\n", 2, "address"},
	{"[server]\nport = 8080\naddress = boot.example.org\n", 3, "address"},
	{"[server]\naddress = 010.0.0.1\n", 2, "address"},
	{"[server]\naddress =\n", 2, "address"},
	{"[store]\npath =\n", 2, "path"},
	{"[files]\nroot =\n", 2, "root"},
	{"[auth]\nkey_file =\n", 2, "key_file"},
	{"[dhcp]\nmode = sometimes\n", 2, "mode"},
	{"[dhcp]\nbackend = isc-dhcpd\n", 2, "backend"},
	{"[dhcp]\nkea = kea-dhcp4\n", 2, "kea"},
	{"[dhcp]\nlease_file = leases.csv\n", 2, "lease_file"},
	{"[dhcp]\nmode = proxy\ninterface = eth0\nsubnet = 10.0.0.0/33\n", 4, "subnet"},
	{"[server]\napi_address = localhost\n", 2, "api_address"},
	{"[server]\nmax_connections = 63\n", 2, "max_connections"},
	{"[server]\nheader_timeout = 0\n", 2, "header_timeout"},
	{"[server]\nmalloc_arenas = 65\n", 2, "malloc_arenas"},
	{"[server]\nmalloc_arenas = -1\n", 2, "malloc_arenas"},
	{"[boot]\nprerender_kib = 4194305\n", 2, "prerender_kib"},
	{"[boot]\nprerender_kib = lots\n", 2, "prerender_kib"},
	{"[tls]\nmode = yes\n", 2, "mode"},
	{"[tls]\ncert = tls.crt\n", 2, "cert"},
	{"[tls]\nnames = a b\n", 2, "names"},
	{"[tls]\nnames = -x\n", 2, "names"},
	{"[tls]\nnames = *.lab\n", 2, "names"},
};

static void test_errors_after_parse(void **state)
{
	(void)state;
	/* Each of these is refused... */
	for (size_t i = 0; i < NELEM(late_err_cases); i++) {
		struct config c;
		char err[512];

		if (load(late_err_cases[i].text, &c, err, sizeof(err)) >= 0)
			fail_msg("late case %zu accepted", i);
		assert_non_null(strstr(err, cfgpath));
	}
	/* ...and must say where. */
	if (check_errors("late", late_err_cases, NELEM(late_err_cases)) != 0)
		fail_msg("errors found after parsing lack \"path:LINE:\" (listed above)");
}

/* Proxy DHCP is dnsmasq's alone: backend kea with mode proxy is refused, saying
 * what to do; kea with authoritative (and dnsmasq with proxy) load. */
static void test_kea_backend_refuses_proxy(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	assert_int_equal(load("[dhcp]\nmode = proxy\nbackend = kea\ninterface = eth0\n"
			      "subnet = 10.0.0.0/24\n",
			      &c, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "dhcp.backend = kea cannot run dhcp.mode = proxy"));
	assert_non_null(strstr(err, "use dhcp.backend = dnsmasq"));
	assert_int_equal(load("[dhcp]\nmode = authoritative\nbackend = kea\ninterface = eth0\n"
			      "subnet = 10.0.0.0/24\nlease_file = /srv/kea/leases4.csv\n",
			      &c, err, sizeof(err)),
			 0);
	assert_string_equal(c.dhcp.backend, "kea");
	assert_string_equal(c.dhcp.lease_file, "/srv/kea/leases4.csv");
	assert_int_equal(load("[dhcp]\nmode = proxy\nbackend = dnsmasq\ninterface = eth0\n"
			      "subnet = 10.0.0.0/24\n",
			      &c, err, sizeof(err)),
			 0);
	/* off: nothing runs, so nothing to refuse */
	assert_int_equal(load("[dhcp]\nmode = off\nbackend = kea\n", &c, err, sizeof(err)), 0);
}

/*
 * A malformed section header is the first error; a key after it must not
 * be reported as if it stood on the header's line.
 */
static void test_error_bad_section(void **state)
{
	static const struct err_case cases[] = {
		{"[server\nport = 80\n", 1, "syntax"},
		{"[server]\nport = 80\n[boot\nunknown_wait = 5\n", 3, "syntax"},
	};

	(void)state;
	if (check_errors("section", cases, NELEM(cases)) != 0)
		fail_msg("a syntax error is reported with another line's message (listed above)");
}

/*
 * Debian's inih reads lines of at most 198 characters.  A longer line must
 * be refused with its line number, never cut and read as two lines.
 */
static void test_long_path(void **state)
{
	char text[600], path[300];
	struct config c;
	char err[512];
	int rc;

	(void)state;
	memset(path, 'd', sizeof(path));
	path[0] = '/';
	path[250] = '\0';
	FMT(text, "[store]\npath = %s\n", path);
	rc = load(text, &c, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, ":2: line longer than"));
	/* Just under the limit is read whole. */
	path[190] = '\0';
	FMT(text, "[store]\npath = %s\n", path);
	rc = load(text, &c, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_string_equal(c.store_path, path);
}

static void test_missing_file(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_load("/nonexistent/corral.conf", &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/corral.conf"));
}

/* ---- listeners and TLS: config_split_listeners, config_tls_enabled ------- */

static void test_listeners_and_tls(void **state)
{
	static const struct {
		const char *text;
		bool split, tls;
		const char *api_address;
	} cases[] = {
		/* the default: the API on its own port, over HTTPS */
		{"", true, true, "0.0.0.0"},
		/* the same port: one listener, plain HTTP (iPXE has no TLS) */
		{"[server]\nport = 9000\napi_port = 9000\n", false, false, "0.0.0.0"},
		{"[server]\nport = 0\napi_port = 0\n", false, false, "0.0.0.0"},
		/* ... unless asked for: then every path is HTTPS */
		{"[server]\napi_port = 8080\n[tls]\nmode = on\n", false, true, "0.0.0.0"},
		/* apart, but TLS off (behind a proxy that terminates it) */
		{"[tls]\nmode = off\n", true, false, "0.0.0.0"},
		/* the same port on another address is another listener */
		{"[server]\naddress = 10.0.0.1\napi_address = 127.0.0.1\napi_port = 8080\n", true,
		 true, "127.0.0.1"},
		{"[server]\naddress = 10.0.0.1\napi_address = 10.0.0.1\napi_port = 8080\n", false,
		 false, "10.0.0.1"},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct config c;
		char err[512];
		if (load(cases[i].text, &c, err, sizeof(err)) != 0)
			fail_msg("case %zu: %s", i, err);
		if (config_split_listeners(&c) != cases[i].split ||
		    config_tls_enabled(&c) != cases[i].tls)
			fail_msg("case %zu (%s): split %d tls %d", i, cases[i].text,
				 config_split_listeners(&c), config_tls_enabled(&c));
		assert_string_equal(config_api_address(&c), cases[i].api_address);
	}
	/* Defaults: the slow-client bounds, and the pair beside the key file. */
	struct config d;
	config_defaults(&d);
	assert_int_equal(d.api_port, 8443);
	assert_int_equal(d.max_conns_per_ip, 64);
	assert_int_equal(d.header_timeout, 10);
	assert_int_equal(d.body_timeout, 60);
	assert_int_equal(d.idle_timeout, 60);
	assert_string_equal(d.tls_mode, "auto");
	size_t dir = strrchr(d.key_file, '/') - d.key_file;
	assert_memory_equal(d.tls_cert, d.key_file, dir + 1);
	assert_string_equal(d.tls_cert + dir, "/tls.crt");
	assert_string_equal(d.tls_key + dir, "/tls.key");
}

/* ---- the TLS pair's default place: beside auth.key_file ------------------ */

/* Creates path (empty) in the test's directory tree; mkdir's its parent. */
static void touch(const char *path)
{
	char dir[256];
	FMT(dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	(void)mkdir(dir, 0700);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fclose(f), 0);
}

static void test_tls_pair_beside_key_file(void **state)
{
	char text[512], want[256], keys[128], old[128], p[256];
	struct config c;
	char err[512];

	(void)state;
	FMT(keys, "%s/keys", tmpdir);
	FMT(old, "%s/old", tmpdir);
	/* a file naming auth.key_file elsewhere moves the default pair with it */
	FMT(p, "%s/tls.key", keys);
	touch(p); /* one of the pair there: the data directory is never looked at */
	FMT(text, "[auth]\nkey_file = %s/secret.key\n", keys);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	FMT(want, "%s/tls.crt", keys);
	assert_string_equal(c.tls_cert, want);
	FMT(want, "%s/tls.key", keys);
	assert_string_equal(c.tls_key, want);
	assert_false(c.tls_old_dir);
	unlink(p);
	/* a key named in the file stays; the other one follows auth.key_file */
	FMT(text, "[auth]\nkey_file = %s/secret.key\n[tls]\ncert = /etc/corral/tls.crt\n", keys);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_string_equal(c.tls_cert, "/etc/corral/tls.crt");
	assert_string_equal(c.tls_key, want);
	assert_false(c.tls_old_dir);

	/* nothing in either place: beside the key file, where it will be made */
	config_defaults(&c);
	FMT(c.key_file, "%s/secret.key", keys);
	config_tls_default_paths(&c, true, true, old);
	FMT(want, "%s/tls.crt", keys);
	assert_string_equal(c.tls_cert, want);
	assert_false(c.tls_old_dir);
	/* an install whose pair is still in the old place keeps it */
	FMT(p, "%s/tls.crt", old);
	touch(p);
	config_tls_default_paths(&c, true, true, old);
	assert_string_equal(c.tls_cert, p);
	FMT(want, "%s/tls.key", old);
	assert_string_equal(c.tls_key, want);
	assert_true(c.tls_old_dir);
	/* ... unless a pair (even half of one) is beside the key file too */
	FMT(want, "%s/tls.crt", keys);
	touch(want);
	config_tls_default_paths(&c, true, true, old);
	assert_string_equal(c.tls_cert, want);
	assert_false(c.tls_old_dir);
	unlink(want);
	/* ... or the file names either half */
	FMT(c.tls_cert, "/etc/corral/tls.crt");
	config_tls_default_paths(&c, false, true, old);
	assert_string_equal(c.tls_cert, "/etc/corral/tls.crt");
	FMT(want, "%s/tls.key", keys);
	assert_string_equal(c.tls_key, want);
	assert_false(c.tls_old_dir);
	/* a key file at the root: the pair at the root */
	FMT(c.key_file, "/secret.key");
	config_tls_default_paths(&c, true, true, NULL);
	assert_string_equal(c.tls_cert, "/tls.crt");
	unlink(p);
	rmdir(old);
	rmdir(keys);
}

/* ---- config_describe ---------------------------------------------------- */

struct lines {
	int n;
	int seen_port, seen_retry, seen_ttl, bad;
};

static void collect(const char *line, void *arg)
{
	struct lines *l = arg;

	l->n++;
	if (strncmp(line, "server.port = 8080\t# ", 21) == 0)
		l->seen_port = 1;
	if (strncmp(line, "boot.retry_max_sleep = 60\t# ", 28) == 0)
		l->seen_retry = 1;
	if (strncmp(line, "cloud_init.token_ttl = 86400\t# ", 31) == 0)
		l->seen_ttl = 1;
	if (strchr(line, '.') == NULL || strstr(line, " = ") == NULL ||
	    strstr(line, "\t# ") == NULL)
		l->bad++;
}

static void test_describe(void **state)
{
	struct lines l = {0};

	(void)state;
	config_describe(collect, &l);
	assert_true(l.n >= 13); /* every key, [dhcp] and later ones included */
	assert_true(l.seen_port);
	assert_true(l.seen_retry);
	assert_true(l.seen_ttl);
	assert_int_equal(l.bad, 0);
}

/* ---- reload rules: config_dhcp_equal, config_merge ---------------------------- */

/* One changed value per [dhcp] key: each must make the settings differ. */
static const char *const dhcp_key_changes[] = {
	"mode = proxy",
	"backend = kea",
	"interface = eth9",
	"subnet = 10.9.0.0/24",
	"pool_start = 10.9.0.10\npool_end = 10.9.0.20", /* they go together */
	"router = 10.9.0.1",
	"domain = other",
	"dns_port = 5353",
	"dns_upstream = 192.0.2.1",
	"lease_time = 600",
	"pool_lease_time = 300",
	"lease_max = 500",
	"tftp_max = 10",
	"dnsmasq = /opt/dnsmasq",
	"state_dir = /var/tmp/dhcp",
	"ipxe_dir = /opt/ipxe",
	"hook = /opt/hook",
	"kea = /opt/kea-dhcp4",
	"lease_file = /var/tmp/leases4.csv",
};

static void check_key_covered(const char *line, void *arg)
{
	int *missing = arg;
	char key[64];
	if (strncmp(line, "dhcp.", 5) != 0)
		return;
	size_t n = strcspn(line + 5, " ");
	FMT(key, "\n%.*s = ", (int)n, line + 5);
	for (size_t i = 0; i < NELEM(dhcp_key_changes); i++)
		if (strncmp(dhcp_key_changes[i], key + 1, strlen(key + 1)) == 0 ||
		    strstr(dhcp_key_changes[i], key) != NULL) /* a key on a later line */
			return;
	print_error("dhcp key without a case in dhcp_key_changes: %s\n", line);
	(*missing)++;
}

static void test_dhcp_equal(void **state)
{
	struct config base, c;
	char text[256], err[512];
	int missing = 0;

	(void)state;
	assert_int_equal(load("[dhcp]\nmode = authoritative\ninterface = eth1\n"
			      "subnet = 10.1.0.0/16\n",
			      &base, err, sizeof(err)),
			 0);
	assert_true(config_dhcp_equal(&base.dhcp, &base.dhcp));
	for (size_t i = 0; i < NELEM(dhcp_key_changes); i++) {
		FMT(text,
		    "[dhcp]\nmode = authoritative\ninterface = eth1\nsubnet = 10.1.0.0/16\n%s\n",
		    dhcp_key_changes[i]);
		if (load(text, &c, err, sizeof(err)) != 0)
			fail_msg("\"%s\": %s", dhcp_key_changes[i], err);
		if (config_dhcp_equal(&base.dhcp, &c.dhcp) ||
		    config_dhcp_equal(&c.dhcp, &base.dhcp))
			fail_msg("\"%s\" does not change the DHCP settings", dhcp_key_changes[i]);
	}
	/* Strings compare as strings: bytes after the NUL do not count. */
	c = base;
	memset(c.dhcp.router + 1, 'x', sizeof(c.dhcp.router) - 2);
	memset(c.dhcp.hook + 1, 'y', 10);
	assert_true(config_dhcp_equal(&base.dhcp, &c.dhcp));
	/* Keys outside [dhcp] are not the DHCP side's. */
	c = base;
	c.port = 1;
	c.unknown_wait = 99;
	assert_true(config_dhcp_equal(&base.dhcp, &c.dhcp));
	/* Every [dhcp] key in the table has a case above. */
	config_describe(check_key_covered, &missing);
	assert_int_equal(missing, 0);
}

struct merge_case {
	const char *what;
	const char *cur, *next; /* files over the defaults */
	bool dhcp, files_root;
	const char *restart;
};

/*
 * What moving auth.key_file restarts when root's data directory holds a
 * TLS pair from before the pair's default moved beside auth.key_file:
 * config.c keeps that pair, so tls.* do not change (see old_tls_pair()).
 */
static const char read_once[] = "so do settings read once at start";
static const char read_once_old_pair[] =
	"server.max_body, store.path, auth.key_file, events.keep_days, redfish.timeout_ms, "
	"redfish.ca_file";

#define AUTH "[dhcp]\nmode = authoritative\ninterface = eth1\nsubnet = 10.1.0.0/16\n"

static const struct merge_case merge_cases[] = {
	{"the same file", "", "", false, false, ""},
	{"keys read where used apply", "",
	 "[boot]\nunknown_wait = 3\n[cloud_init]\n"
	 "token_ttl = 600\n[server]\nlog_level = warn\n",
	 false, false, ""},
	{"listen settings wait for a restart", "",
	 "[server]\nport = 9090\nthreads = 4\n"
	 "address = 127.0.0.1\n",
	 false, false, "server.address, server.port, server.threads"},
	{read_once, "",
	 "[server]\nmax_body = 2048\n[store]\npath = /x/db\n[auth]\nkey_file = /x/k\n"
	 "[events]\nkeep_days = 3\n[redfish]\ntimeout_ms = 9000\nca_file = /x/ca\n",
	 false, false,
	 /* the TLS pair's default sits beside key_file: it moves with it */
	 "server.max_body, tls.cert, tls.key, store.path, auth.key_file, events.keep_days, "
	 "redfish.timeout_ms, redfish.ca_file"},
	{"a TLS pair named outright", "", "[tls]\ncert = /x/c.pem\nkey = /x/k.pem\n", false, false,
	 "tls.cert, tls.key"},
	{"a new file root", "", "[files]\nroot = /srv/other\n", false, true, ""},
	{"DHCP off before and after: nothing runs", "", "[dhcp]\nlease_time = 600\n", false, false,
	 ""},
	{"DHCP turned on", "", AUTH, true, false, ""},
	{"DHCP turned off", AUTH, "", true, false, ""},
	{"a DHCP key", AUTH, AUTH "pool_lease_time = 300\n", true, false, ""},
	{"the advertised URL, which iPXE is told", AUTH,
	 AUTH "[server]\nadvertise_url = http://10.1.0.1:8080\n", true, false, ""},
	{"the advertised URL without DHCP", "", "[server]\nadvertise_url = http://10.1.0.1:8080\n",
	 false, false, ""},
	{"all at once", AUTH,
	 AUTH "lease_time = 600\n[files]\nroot = /srv/other\n[server]\nport = 1\n", true, true,
	 "server.port"},
};

/* Whether root's data directory holds a pair config.c keeps (see above). */
static bool old_tls_pair(void)
{
	struct stat st;
	return geteuid() == 0 && (stat("/var/lib/corral/tls.crt", &st) == 0 ||
				  stat("/var/lib/corral/tls.key", &st) == 0);
}

static void test_merge(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(merge_cases); i++) {
		const struct merge_case *m = &merge_cases[i];
		struct config cur, next;
		struct config_change ch;
		char err[512];
		assert_int_equal(load(m->cur, &cur, err, sizeof(err)), 0);
		assert_int_equal(config_resolve_base_url(&cur, 8080), 0);
		assert_int_equal(load(m->next, &next, err, sizeof(err)), 0);
		assert_int_equal(config_merge(&cur, &next, 8080, &ch), 0);
		const char *want = m->restart;
		if (m->what == read_once && old_tls_pair())
			want = read_once_old_pair;
		if (ch.dhcp != m->dhcp || ch.files_root != m->files_root ||
		    strcmp(ch.restart, want) != 0)
			fail_msg("%s: dhcp %d files %d restart \"%s\"", m->what, ch.dhcp,
				 ch.files_root, ch.restart);
		/* What waits for a restart keeps the running value in next. */
		assert_string_equal(next.address, cur.address);
		assert_int_equal(next.port, cur.port);
		assert_int_equal(next.threads, cur.threads);
		assert_int_equal(next.max_body, cur.max_body);
		assert_string_equal(next.store_path, cur.store_path);
		assert_string_equal(next.key_file, cur.key_file);
		assert_int_equal(next.events_keep_days, cur.events_keep_days);
		assert_int_equal(next.rf_timeout, cur.rf_timeout);
		assert_string_equal(next.rf_ca_file, cur.rf_ca_file);
		assert_true(next.base_url[0] != '\0');
	}
	/* Live keys are the new file's. */
	struct config cur, next;
	struct config_change ch;
	char err[512];
	assert_int_equal(load("", &cur, err, sizeof(err)), 0);
	assert_int_equal(
		load("[boot]\nunknown_wait = 3\n[files]\nroot = /srv/o\n", &next, err, sizeof(err)),
		0);
	assert_int_equal(config_merge(&cur, &next, 8080, &ch), 0);
	assert_int_equal(next.unknown_wait, 3);
	assert_string_equal(next.files_root, "/srv/o");
}

static void test_resolve_base_url(void **state)
{
	static const struct {
		const char *address, *advertise;
		uint16_t port;
		const char *want; /* NULL: the host name's */
	} cases[] = {
		{"127.0.0.1", "", 8080, "http://127.0.0.1:8080"},
		{"::1", "", 9000, "http://[::1]:9000"},
		{"10.0.0.1", "https://boot.example.org/corral/", 8080,
		 "https://boot.example.org/corral"},
		{"10.0.0.1", "http://10.0.0.2:81//", 8080, "http://10.0.0.2:81"},
		{"0.0.0.0", "", 8080, NULL},
		{"::", "", 8080, NULL},
	};
	char host[256] = "", want[300];
	(void)state;
	if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
		FMT(host, "localhost");
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct config c;
		config_defaults(&c);
		FMT(c.address, "%s", cases[i].address);
		FMT(c.advertise_url, "%s", cases[i].advertise);
		assert_int_equal(config_resolve_base_url(&c, cases[i].port), 0);
		if (cases[i].want == NULL)
			FMT(want, "http://%s:%u", host, cases[i].port);
		else
			FMT(want, "%s", cases[i].want);
		assert_string_equal(c.base_url, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_errors_after_parse),
		cmocka_unit_test(test_kea_backend_refuses_proxy),
		cmocka_unit_test(test_error_bad_section),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_dhcp_equal),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_listeners_and_tls),
		cmocka_unit_test(test_tls_pair_beside_key_file),
		cmocka_unit_test(test_resolve_base_url),
	};

	return cmocka_run_group_tests_name("config", tests, setup, teardown) != 0;
}
