/*
 * Unit tests for keaconf: Kea's generated configuration compared byte for
 * byte with golden files (netboot/tests/unit/data/keaconf/, each reviewed
 * against Kea 2.2's documentation and accepted by the real `kea-dhcp4 -t`
 * when Debian's kea-dhcp4-server is installed); the JSON it holds read
 * back (one reservation per host, a disabled one only in its class, no
 * pinned address outside the subnet, one class per row of dhcpconf's arch
 * table); the boot stage read from a lease's length; and the Kea log lines
 * and control-socket replies corrald acts on, with hostile ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define GOLDEN_SUB "data/keaconf"
#include "golden.h"
#include "keaconf.h"

#define KEA "/usr/sbin/kea-dhcp4"

/* Every kind of host the store lists, sorted by MAC as it lists them. */
static const struct store_dhcp_host hosts[] = {
	{"02:00:00:00:00:01", "10.100.0.11", "n1", true, false},    /* pinned */
	{"02:00:00:00:00:02", "", "n2", true, false},               /* dynamic: a pool address */
	{"02:00:00:00:00:03", "10.100.0.13", "n3", true, true},     /* UEFI gets ipxe.efi */
	{"02:00:00:00:00:04", "10.100.0.14", "off1", false, false}, /* disabled */
	{"02:00:00:00:00:05", "10.100.5.40", "far1", true, false},  /* outside the subnet */
	{"02:00:00:00:00:06", "10.100.0.255", "bc1", true, false},  /* the broadcast address */
	{"02:00:00:00:00:07", "10.100.0.17", "", true, false},      /* a second interface */
};

static struct keaconf conf_full(void)
{
	struct keaconf c = {
		.interface = "br-boot",
		.network = 0x0a640000u, /* 10.100.0.0/24 */
		.prefix = 24,
		.pool_start = "10.100.0.100",
		.pool_end = "10.100.0.199",
		.server_ip = "10.100.0.1",
		.router = "10.100.0.254",
		.domain = "cluster",
		.dns_port = 53,
		.lease_time = 43200,
		.pool_lease_time = 120,
		.base_url = "http://10.100.0.1:8080",
		.control_socket = "/run/corral/dhcp/kea/kea4.sock",
		.lease_file = "/var/lib/corral/kea-leases4.csv",
		.threads = 2,
	};
	return c;
}

static char *render(const struct keaconf *c, const struct store_dhcp_host *h, size_t n)
{
	struct buf b;
	buf_init(&b, 64u << 20);
	assert_int_equal(keaconf_render(c, h, n, &b), 0);
	char *s = buf_take(&b);
	assert_non_null(s);
	return s;
}

/*
 * The real kea-dhcp4 -t accepts text (interface renamed to lo, which
 * exists everywhere; -t checks it does).  Skipped without Debian's Kea.
 */
static void kea_accepts(const char *text, const char *iface)
{
	char path[] = "/tmp/test-keaconf-XXXXXX";
	if (access(KEA, X_OK) != 0)
		return; /* the caller's test says so (skip) */
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *at = strstr(text, iface);
	assert_non_null(at);
	size_t pre = (size_t)(at - text);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "%.*slo%s", (int)pre, text, at + strlen(iface));
	assert_int_equal(fclose(f), 0);
	char out[PATH_MAX];
	FMT(out, "%s.out", path);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0)
			_exit(126);
		char *argv[] = {(char *)KEA, (char *)"-t", path, NULL};
		char *envp[] = {(char *)"KEA_LOCKFILE_DIR=none", NULL};
		execve(argv[0], argv, envp);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	size_t len = 0;
	char *log = read_file(out, &len);
	unlink(path);
	unlink(out);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("kea-dhcp4 -t refuses the configuration: %s", log ? log : "(no output)");
	free(log);
}

static void test_render_full(void **state)
{
	struct keaconf c = conf_full();
	char *s = render(&c, hosts, NELEM(hosts));
	check_golden("full.json", s);
	kea_accepts(s, "br-boot");
	free(s);
	if (access(KEA, X_OK) != 0)
		skip();
}

/* No pool given (the subnet's upper half, as dnsmasq's rule), no DNS server
 * (dns_port 0), no router, no hosts; a base URL and paths that need escaping. */
static void test_render_minimal(void **state)
{
	struct keaconf c = conf_full();
	c.network = 0x0a640000u; /* 10.100.0.0/16 */
	c.prefix = 16;
	c.pool_start = c.pool_end = "";
	c.router = "";
	c.dns_port = 0;
	c.base_url = "http://[fd00::1]:8080/a\"b";
	c.lease_file = "/var/lib/corral/odd\\name.csv";
	char *s = render(&c, NULL, 0);
	check_golden("minimal.json", s);
	kea_accepts(s, "br-boot");
	free(s);
	if (access(KEA, X_OK) != 0)
		skip();
}

static json_t *find_named(json_t *list, const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
			return v;
	return NULL;
}

/* The JSON read back: what each host's reservation says, and the classes. */
static void test_render_reads_back(void **state)
{
	struct keaconf c = conf_full();
	char *s = render(&c, hosts, NELEM(hosts));
	json_error_t e;
	json_t *root = json_loads(s, 0, &e);
	if (root == NULL)
		fail_msg("not JSON: line %d: %s", e.line, e.text);
	json_t *d4 = json_object_get(root, "Dhcp4");
	json_t *sub = json_array_get(json_object_get(d4, "subnet4"), 0);
	assert_string_equal(json_string_value(json_object_get(sub, "subnet")), "10.100.0.0/24");
	assert_string_equal(json_string_value(json_object_get(sub, "next-server")), "10.100.0.1");
	json_t *res = json_object_get(sub, "reservations");
	assert_int_equal(json_array_size(res), NELEM(hosts));
	for (size_t i = 0; i < NELEM(hosts); i++) {
		json_t *r = json_array_get(res, i);
		const char *ip = json_string_value(json_object_get(r, "ip-address"));
		json_t *cls = json_object_get(r, "client-classes");
		assert_string_equal(json_string_value(json_object_get(r, "hw-address")),
				    hosts[i].mac);
		if (!hosts[i].enabled) { /* nothing but its class */
			assert_int_equal(json_object_size(r), 2);
			assert_string_equal(json_string_value(json_array_get(cls, 0)),
					    "corral-disabled");
			continue;
		}
		bool inside = i == 0 || i == 2 || i == 6;
		if (inside)
			assert_string_equal(ip, hosts[i].ip);
		else
			assert_null(ip);
		if (hosts[i].name[0])
			assert_string_equal(json_string_value(json_object_get(r, "hostname")),
					    hosts[i].name);
		assert_true(hosts[i].ipxe_full == (cls != NULL));
	}
	/* One class per arch row (and a -full one where the row has a full
	 * binary); none for UEFI HTTP-boot rows, which only dnsmasq answers. */
	json_t *classes = json_object_get(d4, "client-classes");
	for (unsigned i = 0; i < dhcpconf_narches; i++) {
		const struct dhcpconf_arch *a = &dhcpconf_arches[i];
		char name[64], want[32];
		FMT(name, "corral-arch%u", a->arch);
		FMT(want, "option[93].hex == 0x%04x", a->arch);
		json_t *k = find_named(classes, name);
		if (a->http) {
			assert_null(k);
			continue;
		}
		assert_non_null(k);
		assert_string_equal(json_string_value(json_object_get(k, "boot-file-name")),
				    a->file);
		assert_non_null(strstr(json_string_value(json_object_get(k, "test")), want));
		FMT(name, "corral-arch%u-full", a->arch);
		k = find_named(classes, name);
		assert_true((k != NULL) == (a->full_file != NULL));
		if (k != NULL)
			assert_string_equal(json_string_value(json_object_get(k, "boot-file-name")),
					    a->full_file);
	}
	json_t *ipxe = find_named(classes, "corral-ipxe");
	assert_string_equal(json_string_value(json_object_get(ipxe, "boot-file-name")),
			    "http://10.100.0.1:8080/boot/v1/bootscript?mac=${net0/mac}");
	assert_non_null(find_named(classes, "DROP"));
	json_decref(root);
	free(s);
}

/* 50,000 hosts: one line each, rendered whole. */
static void test_render_many(void **state)
{
	size_t n = 50000;
	struct store_dhcp_host *h = calloc(n, sizeof(*h));
	assert_non_null(h);
	for (size_t i = 0; i < n; i++) {
		FMT(h[i].mac, "02:00:00:%02x:%02x:%02x", (unsigned)(i >> 16) & 0xff,
		    (unsigned)(i >> 8) & 0xff, (unsigned)i & 0xff);
		FMT(h[i].ip, "10.%u.%u.%u", 100 + (unsigned)(i >> 16), (unsigned)(i >> 8) & 0xff,
		    (unsigned)i & 0xff);
		FMT(h[i].name, "n%zu", i);
		h[i].enabled = true;
	}
	struct keaconf c = conf_full();
	c.network = 0x0a000000u; /* 10.0.0.0/8 */
	c.prefix = 8;
	char *s = render(&c, h, n);
	size_t lines = 0;
	for (const char *p = s; *p; p++)
		lines += *p == '\n';
	assert_true(lines > n && lines < n + 100);
	free(s);
	free(h);
}

static void test_stage(void **state)
{
	static const struct {
		unsigned lifetime;
		bool known;
		enum keaconf_stage want;
	} cases[] = {
		{43200, true, KEACONF_OS},
		{43199, true, KEACONF_PXE},
		{43198, true, KEACONF_IPXE},
		{120, false, KEACONF_OS},
		{119, false, KEACONF_PXE},
		{118, false, KEACONF_IPXE},
		/* Kea did not know the node yet (reloading): the other set */
		{119, true, KEACONF_PXE},
		{43198, false, KEACONF_IPXE},
		/* neither: an OS lease (the configured time changed meanwhile) */
		{3600, true, KEACONF_OS},
		{0, true, KEACONF_OS},
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		if (keaconf_stage(cases[i].lifetime, 43200, 120, cases[i].known) != cases[i].want)
			fail_msg("case %zu: lifetime %u", i, cases[i].lifetime);
	/* overlapping sets: the node's own wins */
	assert_int_equal(keaconf_stage(120, 121, 120, true), KEACONF_PXE);
	assert_int_equal(keaconf_stage(120, 121, 120, false), KEACONF_OS);
}

static void test_log_refusal(void **state)
{
	struct dhcp_refusal_log rl;
	const char *dis = "WARN  [kea-dhcp4.alloc-engine] ALLOC_ENGINE_V4_ALLOC_FAIL_CLASSES "
			  "[hwtype=1 02:77:00:00:00:02], cid=[01:02:77:00:00:00:02], "
			  "tid=0x77a7167e: Failed to allocate an IPv4 address for client with "
			  "classes: ALL, VENDOR_CLASS_udhcp 1.35.0, corral-disabled, KNOWN";
	assert_int_equal(keaconf_log_refusal(dis, &rl), 0);
	assert_string_equal(rl.mac, "02:77:00:00:00:02");
	assert_string_equal(rl.verb, "DHCPDISCOVER");
	assert_string_equal(rl.message, "ignored");
	assert_string_equal(rl.ip, "");
	const char *full = "WARN  [kea-dhcp4.alloc-engine] ALLOC_ENGINE_V4_ALLOC_FAIL_CLASSES "
			   "[hwtype=1 02:AA:00:00:00:03], cid=[no info], tid=0x1: Failed to "
			   "allocate an IPv4 address for client with classes: ALL, UNKNOWN, "
			   "corral-pool, corral-disabled-not";
	assert_int_equal(keaconf_log_refusal(full, &rl), 0);
	assert_string_equal(rl.mac, "02:aa:00:00:00:03");
	assert_string_equal(rl.message, "no address available");
	static const char *const other[] = {
		"",
		"INFO  [kea-dhcp4.leases] DHCP4_LEASE_ALLOC [hwtype=1 02:77:00:00:00:01], "
		"cid=[], tid=0x1: lease 10.0.0.5 has been allocated for 43200 seconds",
		"WARN  [kea-dhcp4.alloc-engine] ALLOC_ENGINE_V4_ALLOC_FAIL_CLASSES [hwtype=1 zz]",
		"WARN  [kea-dhcp4.alloc-engine] ALLOC_ENGINE_V4_ALLOC_FAIL_CLASSES [hwtype=1 "
		"02:77:00:00:00:02:03:04], classes: corral-disabled",
		"ALLOC_ENGINE_V4_ALLOC_FAIL_CLASSES [hwtype=1 ",
	};
	for (size_t i = 0; i < NELEM(other); i++)
		if (keaconf_log_refusal(other[i], &rl) != -ENOENT)
			fail_msg("other[%zu] taken as a refusal", i);
}

static void test_log_started(void **state)
{
	assert_true(keaconf_log_started(
		"INFO  [kea-dhcp4.dhcp4] DHCP4_STARTED Kea DHCPv4 server version 2.2.0 started"));
	assert_false(keaconf_log_started(
		"INFO  [kea-dhcp4.dhcp4] DHCP4_STARTING Kea DHCPv4 server version 2.2.0 starting"));
	assert_false(keaconf_log_started("DEBUG [x] DHCP4_STARTED "));
	assert_false(keaconf_log_started(""));
}

static void test_reply(void **state)
{
	int result = -1;
	char text[16];
	const char *ok = "{ \"result\": 0, \"text\": \"Configuration successful.\" }";
	assert_int_equal(keaconf_reply(ok, strlen(ok), &result, text, sizeof(text)), 0);
	assert_int_equal(result, 0);
	assert_string_equal(text, "Configuratio..."); /* cut to fit, and says so */
	const char *list = "[{\"result\": 1, \"text\": \"bad\"}]";
	assert_int_equal(keaconf_reply(list, strlen(list), &result, text, sizeof(text)), 0);
	assert_int_equal(result, 1);
	assert_string_equal(text, "bad");
	static const char *const bad[] = {
		"", "{", "{\"result\": \"0\"}", "{\"text\": \"x\"}", "[1, 2]", "null"};
	for (size_t i = 0; i < NELEM(bad); i++)
		if (keaconf_reply(bad[i], strlen(bad[i]), &result, text, sizeof(text)) != -EINVAL)
			fail_msg("bad[%zu] accepted", i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_full),
		cmocka_unit_test(test_render_minimal),
		cmocka_unit_test(test_render_reads_back),
		cmocka_unit_test(test_render_many),
		cmocka_unit_test(test_stage),
		cmocka_unit_test(test_log_refusal),
		cmocka_unit_test(test_log_started),
		cmocka_unit_test(test_reply),
	};
	return cmocka_run_group_tests_name("keaconf", tests, NULL, NULL);
}
