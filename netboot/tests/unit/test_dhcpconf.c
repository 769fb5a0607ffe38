/*
 * Unit tests for dhcpconf: the generated dnsmasq.conf is compared byte for
 * byte with golden files (netboot/tests/unit/data/dhcpconf/, each reviewed
 * against dnsmasq(8)); host entries, DNS host lines and autoexec.ipxe with
 * their exact text; and the parser of corral-dhcp-hook's event lines with
 * good lines, every action, and the hostile ones (bad MAC/IP, control
 * characters, overlong, odd client-ids).
 *
 * The data directory is found next to this source file (__FILE__), or, when
 * the compiler was given a relative path and the test does not run from the
 * repository's top, relative to the test binary (build/tests/…).
 * CORRAL_GOLDEN_UPDATE=1 rewrites the golden files instead of comparing:
 * review the diff by eye before committing it.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "dhcpconf.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* snprintf into an array; the test fails rather than go on with a cut string. */
#define FMT(buf, ...) assert_true((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) < sizeof(buf))
#define DATA_SUB "data/dhcpconf"

/* ---- golden files: golden.h, shared with test_keaconf.c ------------------ */

#define GOLDEN_SUB DATA_SUB
#include "golden.h"

/* An authoritative configuration with every option set: router, DNS with
 * upstreams (written with a space, as the config file allows), a pool. */
static struct dhcpconf conf_full(void)
{
	struct dhcpconf c = {
		.proxy = false,
		.interface = "br-boot",
		.network = 0x0a640000u, /* 10.100.0.0/24 */
		.prefix = 24,
		.pool_start = "10.100.0.100",
		.pool_end = "10.100.0.199",
		.router = "10.100.0.254",
		.domain = "cluster",
		.dns_port = 53,
		.dns_upstream = "192.0.2.53, 198.51.100.53",
		.lease_time = 43200,
		.pool_lease_time = 120,
		.lease_max = 100000,
		.tftp_max = 1000,
		.tftp_root = "/var/lib/corral/dhcp/tftp",
		.hostsdir = "/var/lib/corral/dhcp/hosts",
		.dns_hostsdir = "/var/lib/corral/dhcp/dns",
		.hook = "/usr/local/libexec/corral/corral-dhcp-hook",
		.base_url = "http://10.100.0.1:8080",
	};
	return c;
}

static void render_golden(const struct dhcpconf *c, const char *name)
{
	struct buf b;
	buf_init(&b, 64 * 1024);
	assert_int_equal(dhcpconf_render(c, &b), 0);
	check_golden(name, buf_str(&b));
	buf_clear(&b);
}

static void test_render_authoritative(void **state)
{
	struct dhcpconf c = conf_full();
	render_golden(&c, "authoritative.conf");
}

/* No pool given: the upper half of a /16, without the broadcast address;
 * DNS on without upstreams (cluster names only); no router. */
static void test_render_derived_pool(void **state)
{
	struct dhcpconf c = conf_full();
	c.network = 0x0a140000u; /* 10.20.0.0/16 */
	c.prefix = 16;
	c.pool_start = "";
	c.pool_end = "";
	c.router = "";
	c.dns_upstream = "";
	c.base_url = "http://10.20.0.1:8080";
	render_golden(&c, "derived-pool.conf");
}

/* The derived pool of the smallest subnet config.c allows (/30). */
static void test_render_derived_pool_30(void **state)
{
	struct dhcpconf c = conf_full();
	struct buf b;
	c.network = 0xc0a80108u; /* 192.168.1.8/30 */
	c.prefix = 30;
	c.pool_start = "";
	c.pool_end = "";
	buf_init(&b, 64 * 1024);
	assert_int_equal(dhcpconf_render(&c, &b), 0);
	assert_non_null(strstr(buf_str(&b), "\ndhcp-range=set:pool,192.168.1.10,192.168.1.10,"
					    "255.255.255.252,120\n"));
	assert_non_null(strstr(buf_str(&b), "\ndhcp-range=192.168.1.8,static,255.255.255.252,"
					    "43200\n"));
	buf_clear(&b);
}

static void test_render_dns_off(void **state)
{
	struct dhcpconf c = conf_full();
	c.dns_port = 0;
	render_golden(&c, "dns-off.conf");
}

static void test_render_proxy(void **state)
{
	struct dhcpconf c = conf_full();
	c.proxy = true;
	c.pool_start = "";
	c.pool_end = "";
	c.router = "";
	c.dns_port = 0;
	c.dns_upstream = "";
	render_golden(&c, "proxy.conf");
}

/* Backend kea: dnsmasq keeps TFTP, DNS and router advertisements; no DHCPv4
 * (no range, host entries, boot options or lease limit: Kea holds port 67),
 * but the lease script, which reports TFTP transfers. */
static void test_render_no_dhcp(void **state)
{
	struct dhcpconf c = conf_full();
	c.no_dhcp = true;
	render_golden(&c, "no-dhcp.conf");
	struct buf b;
	buf_init(&b, 64 * 1024);
	assert_int_equal(dhcpconf_render(&c, &b), 0);
	static const char *const absent[] = {"dhcp-range=set:", "dhcp-hostsdir",
					     "dhcp-boot",       "dhcp-authoritative",
					     "dhcp-lease-max",  "option:router"};
	for (size_t i = 0; i < NELEM(absent); i++)
		if (strstr(buf_str(&b), absent[i]) != NULL)
			fail_msg("%s in dnsmasq's configuration beside Kea", absent[i]);
	buf_clear(&b);
}

/* A capped buffer too small for the file: -E2BIG, never a cut file. */
static void test_render_too_small(void **state)
{
	struct dhcpconf c = conf_full();
	struct buf b;
	buf_init(&b, 256);
	assert_int_equal(dhcpconf_render(&c, &b), -E2BIG);
	buf_clear(&b);
}

/* ---- dhcpconf_autoexec ------------------------------------------------------ */

static void test_autoexec(void **state)
{
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(dhcpconf_autoexec("http://10.100.0.1:8080", &b), 0);
	check_golden("autoexec.ipxe", buf_str(&b));
	/* The one chain line, exactly. */
	assert_non_null(strstr(buf_str(&b),
			       "\nchain --replace --autofree "
			       "http://10.100.0.1:8080/boot/v1/bootscript?mac=${net0/mac} || "
			       "goto wait\n"));
	assert_int_equal(strncmp(buf_str(&b), "#!ipxe\n", 7), 0);
	buf_clear(&b);

	buf_init(&b, 32);
	assert_int_equal(dhcpconf_autoexec("http://10.100.0.1:8080", &b), -E2BIG);
	buf_clear(&b);
}

/* ---- dhcpconf_host / dhcpconf_dns_host ----------------------------------- */

struct host_case {
	const char *what;
	struct store_dhcp_host h;
	const char *host; /* dhcp-hostsdir line */
	const char *dns;  /* DNS hostsdir line ("" = none) */
};

static const struct host_case host_cases[] = {
	{"static ip",
	 {"52:54:00:12:34:56", "10.100.0.11", "n1", true, false},
	 "52:54:00:12:34:56,10.100.0.11,n1,43200\n",
	 "10.100.0.11 n1 n1.cluster\n"},
	{"dynamic",
	 {"52:54:00:12:34:57", "", "n2", true, false},
	 "52:54:00:12:34:57,n2,43200\n",
	 ""},
	{"ipxe-full tag",
	 {"52:54:00:12:34:58", "10.100.0.13", "n3", true, true},
	 "52:54:00:12:34:58,set:ipxe-full,10.100.0.13,n3,43200\n",
	 "10.100.0.13 n3 n3.cluster\n"},
	{"ipxe-full dynamic",
	 {"52:54:00:12:34:5a", "", "n5", true, true},
	 "52:54:00:12:34:5a,set:ipxe-full,n5,43200\n",
	 ""},
	{"disabled → ignore",
	 {"52:54:00:12:34:59", "10.100.0.14", "n4", false, false},
	 "52:54:00:12:34:59,ignore\n",
	 "10.100.0.14 n4 n4.cluster\n"},
	{"disabled ipxe-full → ignore only",
	 {"52:54:00:12:34:5b", "10.100.0.15", "n6", false, true},
	 "52:54:00:12:34:5b,ignore\n",
	 "10.100.0.15 n6 n6.cluster\n"},
	{"secondary interface with ip, no name",
	 {"52:54:00:ab:cd:01", "10.100.0.21", "", true, false},
	 "52:54:00:ab:cd:01,10.100.0.21,43200\n",
	 ""},
	{"secondary interface, dynamic, no name",
	 {"52:54:00:ab:cd:02", "", "", true, false},
	 "52:54:00:ab:cd:02,43200\n",
	 ""},
};

static void test_host(void **state)
{
	for (size_t i = 0; i < NELEM(host_cases); i++) {
		const struct host_case *t = &host_cases[i];
		struct buf b;
		buf_init(&b, 1024);
		assert_int_equal(dhcpconf_host(&t->h, 43200, &b), 0);
		if (strcmp(buf_str(&b), t->host) != 0)
			fail_msg("host %s: got \"%s\" want \"%s\"", t->what, buf_str(&b), t->host);
		buf_reset(&b);
		assert_int_equal(dhcpconf_dns_host(&t->h, "cluster", &b), 0);
		if (strcmp(buf_str(&b), t->dns) != 0)
			fail_msg("dns %s: got \"%s\" want \"%s\"", t->what, buf_str(&b), t->dns);
		buf_clear(&b);
	}
}

static void test_host_lease_time_and_cap(void **state)
{
	const struct store_dhcp_host h = {"52:54:00:12:34:56", "10.1.2.3", "x", true, false};
	struct buf b;
	buf_init(&b, 1024);
	assert_int_equal(dhcpconf_host(&h, 120, &b), 0);
	assert_string_equal(buf_str(&b), "52:54:00:12:34:56,10.1.2.3,x,120\n");
	buf_clear(&b);
	buf_init(&b, 10);
	assert_int_equal(dhcpconf_host(&h, 120, &b), -E2BIG);
	buf_clear(&b);
	buf_init(&b, 10);
	assert_int_equal(dhcpconf_dns_host(&h, "cluster", &b), -E2BIG);
	buf_clear(&b);
	buf_init(&b, 64);
	assert_int_equal(dhcpconf_dns_host(&h, "lab", &b), 0);
	assert_string_equal(buf_str(&b), "10.1.2.3 x x.lab\n");
	buf_clear(&b);
}

/* ---- dhcpconf_parse_event -------------------------------------------------- */

#define MAC "52:54:00:12:34:56"
#define CID "01:52:54:00:12:34:56"

struct ev_case {
	const char *what;
	const char *line;
	int rc;
	/* when rc == 0: */
	enum dhcp_action action;
	const char *mac, *ip, *hostname, *client_id;
	bool ipxe, known;
	int64_t expires;
	const char *file;
	uint64_t size;
};

static const struct ev_case ev_cases[] = {
	{"add, tags ipxe known",
	 "add\t" MAC "\t10.100.0.11\tn1\tipxe known efi64\t1700000000\t" CID
	 "\tPXEClient:Arch:00007\n",
	 0, DHCP_ADD, MAC, "10.100.0.11", "n1", CID, true, true, 1700000000, "", 0},
	{"old, no tags", "old\t" MAC "\t10.100.0.11\tn1\t\t1700000100\t" CID "\t", 0, DHCP_OLD, MAC,
	 "10.100.0.11", "n1", CID, false, false, 1700000100, "", 0},
	{"del", "del\t" MAC "\t10.100.0.11\t\t\t\t\t", 0, DHCP_DEL, MAC, "10.100.0.11", "", "",
	 false, false, 0, "", 0},
	{"add, known only", "add\t" MAC "\t10.100.0.12\t\tknown pool\t1700000000\t\t", 0, DHCP_ADD,
	 MAC, "10.100.0.12", "", "", false, true, 1700000000, "", 0},
	{"add, tags are whole words", "add\t" MAC "\t10.100.0.12\t\tipxe-full unknown xipxe\t0\t\t",
	 0, DHCP_ADD, MAC, "10.100.0.12", "", "", false, false, 0, "", 0},
	{"add, three fields only", "add\t" MAC "\t10.100.0.13", 0, DHCP_ADD, MAC, "10.100.0.13", "",
	 "", false, false, 0, "", 0},
	{"add, MAC normalised", "add\t52-54-00-AB-CD-EF\t10.100.0.14\tn2\t\t\t\t", 0, DHCP_ADD,
	 "52:54:00:ab:cd:ef", "10.100.0.14", "n2", "", false, false, 0, "", 0},
	{"add, bad hostname dropped", "add\t" MAC "\t10.100.0.15\tno good!\tknown\t5\t\t", 0,
	 DHCP_ADD, MAC, "10.100.0.15", "", "", false, true, 5, "", 0},
	{"add, bad expiry ignored", "add\t" MAC "\t10.100.0.15\tn1\t\tsoon\t" CID "\t", 0, DHCP_ADD,
	 MAC, "10.100.0.15", "n1", CID, false, false, 0, "", 0},
	{"add, odd client-id dropped", "add\t" MAC "\t10.100.0.16\tn1\tknown\t7\tab cd;rm\t", 0,
	 DHCP_ADD, MAC, "10.100.0.16", "n1", "", false, true, 7, "", 0},
	{"add, client-id with a quote dropped", "add\t" MAC "\t10.100.0.16\tn1\t\t7\t01:\"x\t", 0,
	 DHCP_ADD, MAC, "10.100.0.16", "n1", "", false, false, 7, "", 0},
	{"tftp with a path",
	 "tftp\t74213\t10.100.0.11\t/var/lib/corral/dhcp/tftp/undionly.kpxe\t\t\t\t", 0, DHCP_TFTP,
	 "", "10.100.0.11", "", "", false, false, 0, "undionly.kpxe", 74213},
	{"tftp without a directory", "tftp\t0\t10.100.0.11\tautoexec.ipxe", 0, DHCP_TFTP, "",
	 "10.100.0.11", "", "", false, false, 0, "autoexec.ipxe", 0},
	{"init", "init\t\t\t\t\t\t\t", 0, DHCP_INIT, "", "", "", "", false, false, 0, "", 0},
	{"init alone", "init\n", 0, DHCP_INIT, "", "", "", "", false, false, 0, "", 0},
	{"unknown action", "arp-add\t" MAC "\t10.100.0.11\t\t\t\t\t", 0, DHCP_OTHER, "", "", "", "",
	 false, false, 0, "", 0},
	{"future action, garbage after", "relay-snoop\teth0\tfe80::1\t2001:db8::/64", 0, DHCP_OTHER,
	 "", "", "", "", false, false, 0, "", 0},
	/* malformed */
	{"empty action: unknown", "", 0, DHCP_OTHER, "", "", "", "", false, false, 0, "", 0},
	{.what = "add, bad MAC",
	 .line = "add\tzz:54:00:12:34:56\t10.100.0.11\tn1\t\t\t\t",
	 .rc = -EINVAL},
	{.what = "add, short MAC",
	 .line = "add\t52:54:00:12:34\t10.100.0.11\tn1\t\t\t\t",
	 .rc = -EINVAL},
	{.what = "add, DUID instead of MAC",
	 .line = "add\t00:01:00:01:2c:3d:4e:5f:52:54:00:12:34:56\t10.0.0.1",
	 .rc = -EINVAL},
	{.what = "add, bad IP", .line = "add\t" MAC "\t10.100.0.256\tn1\t\t\t\t", .rc = -EINVAL},
	{.what = "add, IPv6", .line = "add\t" MAC "\tfe80::1\tn1\t\t\t\t", .rc = -EINVAL},
	{.what = "add, no IP", .line = "add\t" MAC, .rc = -EINVAL},
	{.what = "del, empty MAC", .line = "del\t\t10.100.0.11", .rc = -EINVAL},
	{.what = "tftp, bad size",
	 .line = "tftp\tbig\t10.100.0.11\t/x/undionly.kpxe",
	 .rc = -EINVAL},
	{.what = "tftp, negative size",
	 .line = "tftp\t-1\t10.100.0.11\t/x/undionly.kpxe",
	 .rc = -EINVAL},
	{.what = "tftp, bad IP", .line = "tftp\t10\tnot-an-ip\t/x/undionly.kpxe", .rc = -EINVAL},
	{.what = "tftp, no file", .line = "tftp\t10\t10.100.0.11", .rc = -EINVAL},
	/* control characters anywhere (tabs separate fields, one final \n ends it) */
	{.what = "control char in hostname",
	 .line = "add\t" MAC "\t10.100.0.11\tn\x01"
		 "1\t\t\t\t",
	 .rc = -EINVAL},
	{.what = "CR in tags",
	 .line = "add\t" MAC "\t10.100.0.11\tn1\tknown\r\t\t\t",
	 .rc = -EINVAL},
	{.what = "escape in file",
	 .line = "tftp\t10\t10.100.0.11\t/x/\x1b[2Jundionly.kpxe",
	 .rc = -EINVAL},
	{.what = "newline inside",
	 .line = "add\t" MAC "\t10.100.0.11\n\tn1\t\t\t\t",
	 .rc = -EINVAL},
	{.what = "two newlines at the end",
	 .line = "add\t" MAC "\t10.100.0.11\tn1\t\t\t\t\n\n",
	 .rc = -EINVAL},
	{.what = "control char in action",
	 .line = "a\x02"
		 "dd\t" MAC "\t10.100.0.11",
	 .rc = -EINVAL},
};

static void check_event(const struct ev_case *t, const char *line)
{
	struct dhcp_event e;
	int rc = dhcpconf_parse_event(line, &e);
	if (rc != t->rc)
		fail_msg("%s: rc %d, want %d", t->what, rc, t->rc);
	if (rc != 0)
		return;
	if (e.action != t->action)
		fail_msg("%s: action %d, want %d", t->what, (int)e.action, (int)t->action);
	if (t->action == DHCP_OTHER || t->action == DHCP_INIT)
		return;
	assert_string_equal(e.mac, t->mac);
	assert_string_equal(e.ip, t->ip);
	assert_string_equal(e.hostname, t->hostname);
	assert_string_equal(e.client_id, t->client_id);
	if (e.ipxe != t->ipxe || e.known != t->known)
		fail_msg("%s: ipxe %d known %d, want %d %d", t->what, e.ipxe, e.known, t->ipxe,
			 t->known);
	assert_int_equal(e.expires, t->expires);
	assert_string_equal(e.file, t->file);
	assert_int_equal(e.size, t->size);
}

static void test_parse_event(void **state)
{
	for (size_t i = 0; i < NELEM(ev_cases); i++)
		check_event(&ev_cases[i], ev_cases[i].line);
}

/* A stale event must never leak into the next one: every field is reset. */
static void test_parse_event_resets(void **state)
{
	struct dhcp_event e;
	assert_int_equal(dhcpconf_parse_event(ev_cases[0].line, &e), 0);
	assert_int_equal(dhcpconf_parse_event("add\tbad\t10.0.0.1", &e), -EINVAL);
	assert_string_equal(e.hostname, "");
	assert_string_equal(e.client_id, "");
	assert_false(e.ipxe);
	assert_int_equal(dhcpconf_parse_event("init", &e), 0);
	assert_string_equal(e.mac, "");
	assert_string_equal(e.ip, "");
}

/* Lines at and past the 1023-byte limit the hook socket reads. */
static void test_parse_event_overlong(void **state)
{
	char line[2048];
	struct dhcp_event e;
	int n = snprintf(line, sizeof(line), "add\t" MAC "\t10.100.0.11\tn1\tknown\t7\t\t");
	assert_true(n > 0 && (size_t)n < sizeof(line));
	/* vendor class padding: the last (free-form) field */
	memset(line + n, 'v', 1023 - (size_t)n);
	line[1023] = '\0';
	assert_int_equal(dhcpconf_parse_event(line, &e), 0);
	assert_string_equal(e.mac, MAC);
	assert_true(e.known);
	memset(line + n, 'v', 1024 - (size_t)n);
	line[1024] = '\0';
	assert_int_equal(dhcpconf_parse_event(line, &e), -EINVAL);
	memset(line + n, 'v', sizeof(line) - 1 - (size_t)n);
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(dhcpconf_parse_event(line, &e), -EINVAL);
}

/* ---- dhcpconf_log_key -------------------------------------------------------- */

struct logkey_case {
	const char *line;
	const char *key; /* NULL: not a line a hook call follows */
};

static const struct logkey_case logkey_cases[] = {
	/* dnsmasq 2.90's own words, as corrald reads them from its stderr */
	{"dnsmasq-dhcp[6019]: DHCPACK(br0) 10.77.1.17 52:54:00:77:01:07 four-b3",
	 "ack 52:54:00:77:01:07"},
	{"dnsmasq-dhcp[6019]: DHCPACK(br0) 10.77.1.17 52:54:00:77:01:07", "ack 52:54:00:77:01:07"},
	/* with log-dhcp, a transaction number comes first */
	{"dnsmasq-dhcp[11]: 1423675478 DHCPACK(eth1) 10.0.0.5 AA:BB:CC:DD:EE:0F n5",
	 "ack aa:bb:cc:dd:ee:0f"},
	{"dnsmasq-tftp[6019]: sent /run/corral/dhcp/tftp/snponly.efi to 10.77.1.18",
	 "tftp 10.77.1.18"},
	{"dnsmasq-tftp[6019]: sent /srv/a file with spaces.efi to 10.0.0.9", "tftp 10.0.0.9"},
	/* steps that run no hook, or are not ours */
	{"dnsmasq-dhcp[6019]: DHCPOFFER(br0) 10.77.1.17 52:54:00:77:01:07", NULL},
	{"dnsmasq-dhcp[6019]: DHCPREQUEST(br0) 10.77.1.17 52:54:00:77:01:07", NULL},
	{"dnsmasq-dhcp[6019]: DHCPNAK(br0) 10.77.1.17 52:54:00:77:01:07 wrong address", NULL},
	{"dnsmasq-tftp[6019]: failed sending /x/undionly.kpxe to 10.77.1.18", NULL},
	{"dnsmasq-tftp[6019]: error 8 User aborted the transfer received from 10.0.0.1", NULL},
	{"dnsmasq[6019]: started, version 2.90 cachesize 150", NULL},
	/* malformed */
	{"dnsmasq-dhcp[1]: DHCPACK(br0) 10.0.0.1", NULL},
	{"dnsmasq-dhcp[1]: DHCPACK(br0) 10.0.0.1 not-a-mac", NULL},
	{"dnsmasq-dhcp[1]: DHCPACK(br0", NULL},
	{"dnsmasq-tftp[1]: sent x to", NULL},
	{"dnsmasq-tftp[1]: sent  to 10.0.0.1", NULL},
	{"", NULL},
};

static void test_log_key(void **state)
{
	for (size_t i = 0; i < NELEM(logkey_cases); i++) {
		const struct logkey_case *c = &logkey_cases[i];
		char key[64] = "untouched";
		int rc = dhcpconf_log_key(c->line, key, sizeof(key));
		if (c->key == NULL) {
			if (rc != -ENOENT)
				fail_msg("\"%s\": want -ENOENT, got %d (%s)", c->line, rc, key);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\": want %s, got %d", c->line, c->key, rc);
		assert_string_equal(key, c->key);
	}
	/* a key that does not fit is refused, not cut */
	char small[8];
	assert_int_equal(dhcpconf_log_key(logkey_cases[0].line, small, sizeof(small)), -ENOENT);
}

struct proxy_case {
	const char *line;
	int rc;
	const char *mac, *ip, *file;
};

static const struct proxy_case proxy_cases[] = {
	/* dnsmasq 2.90 in proxy mode, as test_vm_proxy.py sees it */
	{"dnsmasq-dhcp[31738]: PXE(br0) 52:54:00:77:01:01 proxy", 0, "52:54:00:77:01:01", "", ""},
	{"dnsmasq-dhcp[31738]: PXE(br0) 10.77.1.11 52:54:00:77:01:01 "
	 "http://10.77.1.1:8080/boot/v1/bootscript?mac=${net0/mac}",
	 0, "52:54:00:77:01:01", "10.77.1.11",
	 "http://10.77.1.1:8080/boot/v1/bootscript?mac=${net0/mac}"},
	{"dnsmasq-dhcp[7]: PXE(eth1) 10.0.0.9 AA:BB:CC:00:00:01 undionly.kpxe", 0,
	 "aa:bb:cc:00:00:01", "10.0.0.9", "undionly.kpxe"},
	/* not proxy answers */
	{"dnsmasq-dhcp[7]: PXE(br0) 52:54:00:77:01:01 proxy-ignored", -ENOENT, "", "", ""},
	{"dnsmasq-dhcp[7]: DHCPACK(br0) 10.0.0.9 52:54:00:77:01:01 n1", -ENOENT, "", "", ""},
	{"dnsmasq-tftp[7]: sent /x/snponly.efi to 10.0.0.9", -ENOENT, "", "", ""},
	{"dnsmasq[7]: PXE(br0) 52:54:00:77:01:01 proxy", -ENOENT, "", "", ""},
	/* malformed */
	{"dnsmasq-dhcp[7]: PXE(br0) nomac proxy", -ENOENT, "", "", ""},
	{"dnsmasq-dhcp[7]: PXE(br0) 10.0.0.999 52:54:00:77:01:01 f", -ENOENT, "", "", ""},
	{"dnsmasq-dhcp[7]: PXE(br0) 10.0.0.9 nomac f", -ENOENT, "", "", ""},
	{"dnsmasq-dhcp[7]: PXE(br0) 10.0.0.9 52:54:00:77:01:01", -ENOENT, "", "", ""},
	{"dnsmasq-dhcp[7]: PXE(br0", -ENOENT, "", "", ""},
};

static void test_log_proxy(void **state)
{
	for (size_t i = 0; i < NELEM(proxy_cases); i++) {
		const struct proxy_case *c = &proxy_cases[i];
		struct dhcp_proxy_log pl;
		memset(&pl, 'x', sizeof(pl)); /* stale bytes must not survive */
		int rc = dhcpconf_log_proxy(c->line, &pl);
		if (rc != c->rc)
			fail_msg("\"%s\": want %d, got %d", c->line, c->rc, rc);
		assert_string_equal(pl.mac, c->mac);
		assert_string_equal(pl.ip, c->ip);
		assert_string_equal(pl.file, c->file);
	}
	/* a boot file longer than the field is cut with "..." */
	char line[512], want[128];
	memset(want, 'f', sizeof(want));
	int n = snprintf(line, sizeof(line),
			 "dnsmasq-dhcp[7]: PXE(br0) 10.0.0.9 52:54:00:77:01:01 ");
	assert_true(n > 0 && (size_t)n + 150 < sizeof(line));
	memset(line + n, 'f', 150);
	line[n + 150] = '\0';
	struct dhcp_proxy_log pl;
	assert_int_equal(dhcpconf_log_proxy(line, &pl), 0);
	assert_int_equal(strlen(pl.file), sizeof(pl.file) - 1);
	assert_memory_equal(pl.file, want, sizeof(pl.file) - 4);
	assert_string_equal(pl.file + sizeof(pl.file) - 4, "...");
}

struct refusal_case {
	const char *line;
	int rc;
	const char *verb, *mac, *ip, *message;
};

static const struct refusal_case refusal_cases[] = {
	/* dnsmasq 2.90's words (test_dhcp.py sees the first) */
	{"dnsmasq-dhcp[28216]: DHCPDISCOVER(br0) 02:c0:6e:00:02:01 ignored", 0, "DHCPDISCOVER",
	 "02:c0:6e:00:02:01", "", "ignored"},
	{"dnsmasq-dhcp[7]: DHCPDISCOVER(br0) 10.0.0.42 02:C0:6E:00:02:03 no address available", 0,
	 "DHCPDISCOVER", "02:c0:6e:00:02:03", "10.0.0.42", "no address available"},
	{"dnsmasq-dhcp[7]: DHCPREQUEST(eth1) 10.0.0.9 52:54:00:00:00:01 address in use", 0,
	 "DHCPREQUEST", "52:54:00:00:00:01", "10.0.0.9", "address in use"},
	{"dnsmasq-dhcp[7]: DHCPNAK(br0) 10.0.0.9 52:54:00:00:00:01 wrong address  ", 0, "DHCPNAK",
	 "52:54:00:00:00:01", "10.0.0.9", "wrong address"},
	{"dnsmasq-dhcp[7]: 1234 DHCPNAK(br0) 10.0.0.9 52:54:00:00:00:01 lease not found", 0,
	 "DHCPNAK", "52:54:00:00:00:01", "10.0.0.9", "lease not found"},
	{"dnsmasq-dhcp[7]: DHCPNAK(br0) 10.0.0.9 52:54:00:00:00:01 bad\x01"
	 "byte",
	 0, "DHCPNAK", "52:54:00:00:00:01", "10.0.0.9", "bad?byte"},
	/* ordinary steps: no reason */
	{"dnsmasq-dhcp[7]: DHCPDISCOVER(br0) 52:54:00:77:01:07 ", -ENOENT, "", "", "", ""},
	{"dnsmasq-dhcp[7]: DHCPDISCOVER(br0) 10.0.0.42 52:54:00:77:01:07", -ENOENT, "", "", "", ""},
	{"dnsmasq-dhcp[7]: DHCPREQUEST(br0) 10.77.1.17 52:54:00:77:01:07 ", -ENOENT, "", "", "",
	 ""},
	{"dnsmasq-dhcp[7]: DHCPACK(br0) 10.77.1.17 52:54:00:77:01:07 four-b3", -ENOENT, "", "", "",
	 ""},
	{"dnsmasq-dhcp[7]: DHCPOFFER(br0) 10.77.1.17 52:54:00:77:01:07", -ENOENT, "", "", "", ""},
	{"dnsmasq[7]: DHCPDISCOVER(br0) 52:54:00:77:01:07 ignored", -ENOENT, "", "", "", ""},
	/* malformed */
	{"dnsmasq-dhcp[7]: DHCPDISCOVER(br0) not-a-mac ignored", -ENOENT, "", "", "", ""},
	{"dnsmasq-dhcp[7]: DHCPNAK(br0) 10.0.0.9", -ENOENT, "", "", "", ""},
	{"dnsmasq-dhcp[7]: DHCPNAK(br0", -ENOENT, "", "", "", ""},
};

static void test_log_refusal(void **state)
{
	for (size_t i = 0; i < NELEM(refusal_cases); i++) {
		const struct refusal_case *c = &refusal_cases[i];
		struct dhcp_refusal_log rl;
		memset(&rl, 'x', sizeof(rl)); /* stale bytes must not survive */
		int rc = dhcpconf_log_refusal(c->line, &rl);
		if (rc != c->rc)
			fail_msg("\"%s\": want %d, got %d", c->line, c->rc, rc);
		assert_string_equal(rl.verb, c->verb);
		assert_string_equal(rl.mac, c->mac);
		assert_string_equal(rl.ip, c->ip);
		assert_string_equal(rl.message, c->message);
	}
	/* a long reason is cut to the field */
	char line[512];
	int n = snprintf(line, sizeof(line),
			 "dnsmasq-dhcp[7]: DHCPNAK(br0) 10.0.0.9 52:54:00:00:00:01 ");
	assert_true(n > 0 && (size_t)n + 300 < sizeof(line));
	memset(line + n, 'r', 300);
	line[n + 300] = '\0';
	struct dhcp_refusal_log rl;
	assert_int_equal(dhcpconf_log_refusal(line, &rl), 0);
	assert_int_equal(strlen(rl.message), sizeof(rl.message) - 1);
}

/* "started" is dnsmasq's word that it bound its sockets: a commit waits for it. */
static void test_log_started(void **state)
{
	static const struct {
		const char *line;
		bool started;
	} cases[] = {
		{"dnsmasq[6019]: started, version 2.90 cachesize 150", true},
		{"dnsmasq[1]: started, version 2.85 DNS disabled", true},
		{"dnsmasq: started, version 2.90", false}, /* no PID: not its log format */
		{"dnsmasq-dhcp[6019]: started, version 2.90", false},
		{"dnsmasq[6019]: FAILED to start up", false},
		{"dnsmasq: failed to create listening socket for 10.0.0.1: Address already in use",
		 false},
		{"dnsmasq: unknown interface nosuch0", false},
		{"dnsmasq[7]: compile time options: IPv6 GNU-getopt DBus", false},
		{"dnsmasq-dhcp[7]: DHCPACK(br0) 10.0.0.5 52:54:00:00:00:01 started, version 1",
		 false},
		{"", false},
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		if (dhcpconf_log_started(cases[i].line) != cases[i].started)
			fail_msg("\"%s\": want %d", cases[i].line, cases[i].started);
}

/*
 * A client-id longer than the event's field (dnsmasq writes 3 characters a
 * byte; RFC 2132 allows 255 bytes) must be kept whole or dropped, never cut:
 * a cut id is stored with the lease and handed back to dnsmasq at "init",
 * where it no longer matches the client.
 */
static void test_parse_event_long_client_id(void **state)
{
	char line[1024], cid[3 * 40];
	struct dhcp_event e;
	struct buf b;
	buf_init(&b, sizeof(cid) - 1);
	for (int i = 0; i < 40; i++)
		assert_int_equal(buf_printf(&b, "%s%02x", i ? ":" : "", i), 0);
	FMT(cid, "%s", buf_str(&b));
	buf_clear(&b);
	assert_int_equal(strlen(cid), 119);
	int n = snprintf(line, sizeof(line), "add\t" MAC "\t10.100.0.11\tn1\t\t7\t%s\t", cid);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	assert_int_equal(dhcpconf_parse_event(line, &e), 0);
	assert_string_equal(e.mac, MAC);
	if (e.client_id[0] != '\0' && strcmp(e.client_id, cid) != 0)
		fail_msg("a %zu-character client-id was cut to \"%s\" (%zu characters); want it "
			 "whole or dropped",
			 strlen(cid), e.client_id, strlen(e.client_id));
}

/*
 * The architecture table, every code: option 93 values from IANA's
 * Processor Architecture Types registry and the binary each gets.
 */
static const struct {
	unsigned arch;
	const char *tag, *file, *full_file, *platform;
	bool http, optional;
} want_arches[] = {
	{0, "bios", "undionly.kpxe", NULL, "i386-pcbios", false, false},
	{7, "efi64", "snponly.efi", "ipxe.efi", "x86_64-efi", false, false},
	{9, "efi64", "snponly.efi", "ipxe.efi", "x86_64-efi", false, false},
	{11, "arm64", "ipxe-arm64.efi", NULL, "arm64-efi", false, true},
	{27, "riscv64", "ipxe-riscv64.efi", NULL, "riscv64-efi", false, true},
	{39, "loong64", "ipxe-loong64.efi", NULL, "loong64-efi", false, true},
	{16, "efi64-http", "snponly.efi", "ipxe.efi", "x86_64-efi", true, false},
	{19, "arm64-http", "ipxe-arm64.efi", NULL, "arm64-efi", true, true},
	{28, "riscv64-http", "ipxe-riscv64.efi", NULL, "riscv64-efi", true, true},
	{40, "loong64-http", "ipxe-loong64.efi", NULL, "loong64-efi", true, true},
};

static const struct dhcpconf_arch *find_arch(unsigned code)
{
	for (unsigned i = 0; i < dhcpconf_narches; i++)
		if (dhcpconf_arches[i].arch == code)
			return &dhcpconf_arches[i];
	return NULL;
}

static void test_arches(void **state)
{
	assert_int_equal(dhcpconf_narches, NELEM(want_arches));
	for (size_t i = 0; i < NELEM(want_arches); i++) {
		const struct dhcpconf_arch *a = find_arch(want_arches[i].arch);
		if (a == NULL)
			fail_msg("client architecture %u has no row", want_arches[i].arch);
		assert_string_equal(a->tag, want_arches[i].tag);
		assert_string_equal(a->file, want_arches[i].file);
		if (want_arches[i].full_file == NULL)
			assert_null(a->full_file);
		else
			assert_string_equal(a->full_file, want_arches[i].full_file);
		assert_string_equal(a->platform, want_arches[i].platform);
		assert_int_equal(a->http, want_arches[i].http);
		assert_int_equal(a->optional, want_arches[i].optional);
		assert_non_null(a->name);
		/* proxy DHCP offers PXE boot services only */
		assert_int_equal(a->pxe_csa == NULL, a->http);
	}
	/* Rows sharing a tag are adjacent and name the same files (render
	 * writes one line per tag, from the first row). */
	for (unsigned i = 0; i < dhcpconf_narches; i++)
		for (unsigned j = i + 1; j < dhcpconf_narches; j++) {
			const struct dhcpconf_arch *a = &dhcpconf_arches[i],
						   *b = &dhcpconf_arches[j];
			if (strcmp(a->tag, b->tag) != 0)
				continue;
			assert_int_equal(j, i + 1);
			assert_string_equal(a->file, b->file);
		}
}

/* What dnsmasq is told for every code: a tag per code, a TFTP name for
 * PXE clients, a URL on /firmware/ for HTTP clients, never the other. */
static void test_render_every_arch(void **state)
{
	struct dhcpconf c = conf_full();
	struct buf b;
	char line[512];
	buf_init(&b, 64 * 1024);
	assert_int_equal(dhcpconf_render(&c, &b), 0);
	const char *conf = buf_str(&b);
	assert_non_null(strstr(conf, "\ndhcp-vendorclass=set:httpclient,HTTPClient\n"));
	assert_non_null(strstr(conf, "\ndhcp-option-force=tag:httpclient,60,HTTPClient\n"));
	for (size_t i = 0; i < NELEM(want_arches); i++) {
		const char *tag = want_arches[i].tag, *file = want_arches[i].file;
		snprintf(line, sizeof(line), "\ndhcp-match=set:%s,option:client-arch,%u\n", tag,
			 want_arches[i].arch);
		if (strstr(conf, line) == NULL)
			fail_msg("no \"%s\"", line + 1);
		const char *more = want_arches[i].full_file ? ",tag:!ipxe-full" : "";
		if (want_arches[i].http)
			snprintf(line, sizeof(line),
				 "\ndhcp-boot=tag:!ipxe,tag:httpclient,tag:%s%s,"
				 "\"http://10.100.0.1:8080/firmware/%s\"\n",
				 tag, more, file);
		else
			snprintf(line, sizeof(line), "\ndhcp-boot=tag:!ipxe,tag:%s%s,%s\n", tag,
				 more, file);
		if (strstr(conf, line) == NULL)
			fail_msg("arch %u: no \"%s\"", want_arches[i].arch, line + 1);
		if (want_arches[i].full_file == NULL)
			continue;
		if (want_arches[i].http)
			snprintf(line, sizeof(line),
				 "\ndhcp-boot=tag:!ipxe,tag:httpclient,tag:%s,tag:ipxe-full,"
				 "\"http://10.100.0.1:8080/firmware/%s\"\n",
				 tag, want_arches[i].full_file);
		else
			snprintf(line, sizeof(line),
				 "\ndhcp-boot=tag:!ipxe,tag:%s,tag:ipxe-full,%s\n", tag,
				 want_arches[i].full_file);
		if (strstr(conf, line) == NULL)
			fail_msg("arch %u: no \"%s\"", want_arches[i].arch, line + 1);
	}
	buf_clear(&b);
}

/* Proxy DHCP: a PXE boot service for every PXE code, nothing for HTTP boot. */
static void test_render_proxy_every_arch(void **state)
{
	struct dhcpconf c = conf_full();
	struct buf b;
	char line[256];
	c.proxy = true;
	buf_init(&b, 64 * 1024);
	assert_int_equal(dhcpconf_render(&c, &b), 0);
	const char *conf = buf_str(&b);
	assert_null(strstr(conf, "httpclient"));
	assert_null(strstr(conf, "/firmware/"));
	for (unsigned i = 0; i < dhcpconf_narches; i++) {
		const struct dhcpconf_arch *a = &dhcpconf_arches[i];
		if (a->http)
			continue;
		snprintf(line, sizeof(line),
			 "\npxe-service=tag:!ipxe,%s,\"Corral network boot\",%s\n", a->pxe_csa,
			 a->file);
		if (strstr(conf, line) == NULL)
			fail_msg("arch %u: no \"%s\"", a->arch, line + 1);
	}
	buf_clear(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_authoritative),
		cmocka_unit_test(test_render_derived_pool),
		cmocka_unit_test(test_render_derived_pool_30),
		cmocka_unit_test(test_render_dns_off),
		cmocka_unit_test(test_render_proxy),
		cmocka_unit_test(test_render_no_dhcp),
		cmocka_unit_test(test_render_too_small),
		cmocka_unit_test(test_autoexec),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_host_lease_time_and_cap),
		cmocka_unit_test(test_parse_event),
		cmocka_unit_test(test_parse_event_resets),
		cmocka_unit_test(test_parse_event_overlong),
		cmocka_unit_test(test_log_key),
		cmocka_unit_test(test_log_proxy),
		cmocka_unit_test(test_log_refusal),
		cmocka_unit_test(test_log_started),
		cmocka_unit_test(test_parse_event_long_client_id),
		cmocka_unit_test(test_arches),
		cmocka_unit_test(test_render_every_arch),
		cmocka_unit_test(test_render_proxy_every_arch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
