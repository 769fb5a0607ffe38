/*
 * Unit tests for serve (the node-facing paths, serve.c) run in-process:
 * each test wires a struct app the way corrald.c does (a real SQLite store
 * in a fresh temporary directory, events writer, metrics, boot cache, hub,
 * a configuration from config_defaults() with an advertise URL, a file root
 * holding a few boot files, a seed key), starts http_server_start() on
 * 127.0.0.1 port 0 with the real route table and auth callback, and drives
 * it with libcurl (the fixture is appfix.h, shared with test_api.c).
 * Requests that stand for a node come from its own loopback address
 * (127.0.0.2, 127.0.0.3, ...: CURLOPT_INTERFACE), so identity by source
 * address is real.  Objects are set up through the
 * operator API; what a node got is read back through it too (state, boot
 * timeline, discovered machines).
 *
 * Covered: the boot script line by line (kernel, initrd, parameters of
 * image + profile + node, BOOTIF=01-<mac with dashes>, the cloud-init seed
 * URL under the advertise URL with a token that verifies and expires within
 * token_ttl, the retry path and its back-off); MAC forms and bad queries;
 * profile precedence node → first group with one → defaults → none (wait);
 * changes seen at once despite the boot cache; unknown MAC (wait script,
 * discovered list, then registered); disabled node (exit); name= and nid=;
 * cloud-init meta-data, user-data, vendor-data by seed token (valid,
 * tampered, spliced, foreign key, expired, deleted node) and by source
 * address (static IP, address of the last boot script, unknown); phone-home
 * by token, instance_id, hostname and address; /files with Content-Length,
 * HEAD, Range, and `..` in every spelling refused; the boot timeline each of
 * those requests leaves (stages, details, sources, state new → booting →
 * ready); /healthz and the boot counters in /metrics.
 *
 * Not covered here: the seed token expiring on its own (the window is at
 * least 54 s of wall time: test_cloudinit.py waits it out; here a token
 * with an expiry in the past is made with the fixture's key instead); the
 * DHCP and TFTP stages (dnsmasq); the 2 s folding of repeated events
 * (events.c, visible only with identical requests within 2 s).
 *
 * Tests of bugs found here and fixed since (they failed before the fix): a deleted node's seed token opens the cloud-init of the
 * next node given its row id; nid=%2B7 re-chains to a URL the server refuses;
 * a %00 in a /files path ends it silently.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "app.h"
#include "bootscript.h"
#include "log.h"

#include "appfix.h"

/* appfix.h's advertise URL, short for the expected lines below. */
#define ADV ADVERTISE
#define WAIT 7 /* boot.unknown_wait, not the default, to see it reach the script */

/* ---- the fixture (appfix.h), with boot files under its root -------------- */

/* Boot files under the file root (path, content). */
static const struct {
	const char *path, *content;
} boot_files[] = {
	{"images/k/vmlinuz", "KERNEL-0123456789abcdef"},
	{"images/k/initrd.img", "INITRD-0123456789"},
	{"images/k/rootfs.squashfs", "ROOTFS-0123456789abcdefghij"},
	{"extra/readme.txt", "hello\n"},
};

/* Writes content to root/rel, making the directories on the way. */
static int put_file(const char *root, const char *rel, const char *content)
{
	char p[512];
	int n = snprintf(p, sizeof(p), "%s/%s", root, rel);

	if (n < 0 || (size_t)n >= sizeof(p))
		return -1;
	for (char *s = p + strlen(root) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0750) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, content, strlen(content));
	close(fd);
	return w == (ssize_t)strlen(content) ? 0 : -1;
}

/* fx_new()'s prepare: the wait for unknown MACs, the boot files, and a
   link inside the root to the key file outside it. */
static int prepare(struct config *c)
{
	char link[160];

	c->unknown_wait = WAIT;
	for (size_t i = 0; i < NELEM(boot_files); i++)
		if (put_file(c->files_root, boot_files[i].path, boot_files[i].content) < 0)
			return -1;
	snprintf(link, sizeof(link), "%s/leak", c->files_root);
	return symlink("../secret.key", link) < 0 ? -1 : 0;
}

static int setup(void **state)
{
	struct fx *f;

	if (fx_new("/tmp/test_serve.XXXXXX", prepare, &f) < 0)
		return -1;
	*state = f;
	return 0;
}

/* ---- requests and checks ------------------------------------------------- */

/* A node's GET of path from address src (NULL: 127.0.0.1). */
static long node_get(struct fx *f, const char *src, const char *path, struct res *r)
{
	struct rq q = {.method = "GET", .path = path, .src = src};

	return send_rq(f, &q, r);
}

/* The node's state as the API shows it (the API reads its own writes). */
static void check_state(struct fx *f, const char *node, const char *want)
{
	char path[128];
	json_t *n;

	snprintf(path, sizeof(path), "/api/v1/nodes/%s", node);
	n = get_json(f, path);
	if (strcmp(json_string_value(json_object_get(n, "state")), want) != 0)
		fail_msg("node %s: state %s, want %s", node,
			 json_string_value(json_object_get(n, "state")), want);
	json_decref(n);
}

static void check_error(const char *what, const struct res *r, long status, const char *code,
			const char *field)
{
	json_t *e = json_object_get(r->json, "error");
	const char *c = json_string_value(json_object_get(e, "code"));
	const char *fl = json_string_value(json_object_get(e, "field"));

	if (r->status != status)
		fail_msg("%s: status %ld, want %ld: %s", what, r->status, status,
			 buf_str(&r->body));
	if (c == NULL || strcmp(c, code) != 0)
		fail_msg("%s: code %s, want %s", what, c ? c : "(none)", code);
	if (field == NULL ? fl != NULL : (fl == NULL || strcmp(fl, field) != 0))
		fail_msg("%s: field %s, want %s", what, fl ? fl : "(none)",
			 field ? field : "(none)");
}

/* Compares got with the lines of want (no '\n' in them), line by line. */
static void check_lines(const char *what, const char *got, const char *const *want, size_t nwant)
{
	const char *p = got;

	for (size_t i = 0; i < nwant; i++) {
		const char *nl = strchr(p, '\n');
		size_t len;

		if (nl == NULL)
			fail_msg("%s: line %zu missing (want \"%s\"); got:\n%s", what, i + 1,
				 want[i], got);
		len = (size_t)(nl - p);
		if (len != strlen(want[i]) || memcmp(p, want[i], len) != 0)
			fail_msg("%s: line %zu is\n  \"%.*s\"\nwant\n  \"%s\"", what, i + 1,
				 (int)len, p, want[i]);
		p = nl + 1;
	}
	if (*p != '\0')
		fail_msg("%s: text after the last expected line: \"%s\"", what, p);
}

/* The line of script that starts with prefix, copied into out ("" if none). */
static void line_of(const char *script, const char *prefix, char *out, size_t outlen)
{
	size_t n = strlen(prefix);

	out[0] = '\0';
	for (const char *p = script; p != NULL && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, prefix, n) == 0) {
			snprintf(out, outlen, "%.*s", (int)strcspn(p, "\n"), p);
			return;
		}
	}
}

/* The seed token in a boot script's kernel line, into tok. */
static void seed_of(const char *script, char tok[AUTH_SEED_LEN])
{
	const char *s = strstr(script, "ds=nocloud-net;s=" ADV "/cloud-init/");

	if (s == NULL)
		fail_msg("no seed URL under " ADV " in:\n%s", script);
	s += strlen("ds=nocloud-net;s=" ADV "/cloud-init/");
	if (strlen(s) < AUTH_SEED_LEN || s[AUTH_SEED_LEN - 1] != '/')
		fail_msg("seed token not %d hex digits then '/': %s", AUTH_SEED_LEN - 1, s);
	memcpy(tok, s, AUTH_SEED_LEN - 1);
	tok[AUTH_SEED_LEN - 1] = '\0';
}

/* The node's boot script by query from src; asserts 200 text/plain. */
static void script(struct fx *f, const char *src, const char *query, struct buf *out)
{
	char path[256];
	struct res r;

	snprintf(path, sizeof(path), "/boot/v1/bootscript?%s", query);
	if (node_get(f, src, path, &r) != 200)
		fail_msg("GET %s: %ld %s", path, r.status, buf_str(&r.body));
	assert_string_equal(r.ctype, "text/plain; charset=utf-8");
	buf_init(out, BOOTSCRIPT_MAX);
	assert_int_equal(buf_add(out, r.body.data ? r.body.data : "", r.body.len), 0);
	res_free(&r);
}

static int64_t node_id(struct fx *f, const char *name)
{
	int64_t id = 0;

	assert_int_equal(store_node_id(f->a.store, name, &id), 0);
	return id;
}

/*
 * Images, profiles, groups for the precedence rules:
 *   img1: files under the root, with rootfs; img2: URLs.
 *   p-node (img1), p-group (img2), p-b (kernel/initrd of its own), p-default (img1).
 *   g-none (no profile), g-a (p-group), g-b (p-b); defaults: p-default.
 */
static void seed_objects(struct fx *f)
{
	must(f, "POST", "/api/v1/images",
	     "{'name':'img1','kernel':'images/k/vmlinuz','initrd':'images/k/initrd.img',"
	     "'rootfs':'images/k/rootfs.squashfs','params':'console=ttyS0'}",
	     201);
	must(f, "POST", "/api/v1/images",
	     "{'name':'img2','kernel':'https://mirror.test/k2/vmlinuz',"
	     "'initrd':'https://mirror.test/k2/initrd'}",
	     201);
	must(f, "POST", "/api/v1/profiles", "{'name':'p-node','image':'img1','params':'quiet'}",
	     201);
	must(f, "POST", "/api/v1/profiles", "{'name':'p-group','image':'img2','params':'rd.group'}",
	     201);
	must(f, "POST", "/api/v1/profiles",
	     "{'name':'p-b','kernel':'images/b/vmlinuz','initrd':'images/b/initrd'}", 201);
	must(f, "POST", "/api/v1/profiles",
	     "{'name':'p-default','image':'img1','params':'rd.default'}", 201);
	must(f, "POST", "/api/v1/groups", "{'name':'g-none'}", 201);
	must(f, "POST", "/api/v1/groups", "{'name':'g-a','profile':'p-group'}", 201);
	must(f, "POST", "/api/v1/groups", "{'name':'g-b','profile':'p-b'}", 201);
	must(f, "PUT", "/api/v1/defaults", "{'profile':'p-default'}", 200);
}

/* n1: nid 7, profile p-node, params, two interfaces (the first at 127.0.0.2). */
static void seed_n1(struct fx *f)
{
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'n1','nid':7,'profile':'p-node','params':'corral.x=1',"
	     "'interfaces':[{'mac':'52:54:00:aa:00:01','ip':'127.0.0.2'},"
	     "{'mac':'52:54:00:aa:00:11'}]}",
	     201);
}

/* ---- the boot script --------------------------------------------------------- */

static void test_script_for_node(void **state)
{
	struct fx *f = *state;
	struct buf s;
	char tok[AUTH_SEED_LEN], kernel[512];
	int64_t id, got_id = 0;

	seed_objects(f);
	seed_n1(f);
	id = node_id(f, "n1");
	int64_t before = store_now_us() / 1000000;
	script(f, "127.0.0.2", "mac=52:54:00:AA:00:01", &s);
	seed_of(buf_str(&s), tok);
	snprintf(kernel, sizeof(kernel),
		 "kernel " ADV "/files/images/k/vmlinuz initrd=initrd console=ttyS0 quiet "
		 "corral.x=1 BOOTIF=01-52-54-00-aa-00-01 corral.node=n1 "
		 "ds=nocloud-net;s=" ADV "/cloud-init/%s/ || goto retry",
		 tok);
	const char *const want[] = {
		"#!ipxe",
		"# Corral boot script for n1",
		"# profile p-node (from node), image img1",
		"echo Corral: booting n1 with profile p-node (from node)",
		kernel,
		"initrd --name initrd " ADV "/files/images/k/initrd.img || goto retry",
		"boot || goto retry",
		":retry",
		"echo Corral: boot step failed, retrying in 5 s (attempt 1)",
		"sleep 5",
		"chain --replace --autofree " ADV
		"/boot/v1/bootscript?mac=52:54:00:aa:00:01&retry=1 || goto retry",
	};
	check_lines("n1 by MAC", buf_str(&s), want, NELEM(want));
	/* Nothing in it points at the address corrald listens on. */
	assert_null(strstr(buf_str(&s), f->base));
	buf_clear(&s);

	/* The token names n1 and lives between 90% and 100% of token_ttl. */
	int64_t now = store_now_us() / 1000000;
	assert_int_equal(auth_seed_check(f->a.seed_key, tok, (uint32_t)now, &got_id), 0);
	assert_int_equal(got_id, id);
	unsigned long expiry = strtoul(
		(char[9]){tok[8], tok[9], tok[10], tok[11], tok[12], tok[13], tok[14], tok[15], 0},
		NULL, 16);
	unsigned ttl = f->cfg->token_ttl;
	if ((int64_t)expiry < before + ttl - ttl / 10 - 1 || (int64_t)expiry > now + ttl)
		fail_msg("token expires at %lu; now %lld, token_ttl %u", expiry, (long long)now,
			 ttl);
	int64_t unused;
	assert_int_equal(auth_seed_check(f->a.seed_key, tok, (uint32_t)expiry + 1, &unused),
			 -EACCES);

	/* The second interface's MAC boots it on that interface. */
	script(f, NULL, "mac=52-54-00-AA-00-11", &s);
	line_of(buf_str(&s), "kernel ", kernel, sizeof(kernel));
	assert_non_null(strstr(kernel, " BOOTIF=01-52-54-00-aa-00-11 corral.node=n1 "));
	assert_non_null(strstr(buf_str(&s), "/boot/v1/bootscript?mac=52:54:00:aa:00:11&retry=1 "));
	buf_clear(&s);
}

struct query_case {
	const char *query;
	const char *bootif; /* in the kernel line */
	const char *self;   /* the re-chain query */
};

static const struct query_case query_cases[] = {
	{"mac=52:54:00:aa:00:01", "BOOTIF=01-52-54-00-aa-00-01", "mac=52:54:00:aa:00:01"},
	{"mac=52-54-00-AA-00-01", "BOOTIF=01-52-54-00-aa-00-01", "mac=52:54:00:aa:00:01"},
	{"mac=525400aa0001", "BOOTIF=01-52-54-00-aa-00-01", "mac=52:54:00:aa:00:01"},
	{"mac=5254.00AA.0001", "BOOTIF=01-52-54-00-aa-00-01", "mac=52:54:00:aa:00:01"},
	{"mac=52%3A54%3A00%3Aaa%3A00%3A11", "BOOTIF=01-52-54-00-aa-00-11", "mac=52:54:00:aa:00:11"},
	{"name=n1", "BOOTIF=01-52-54-00-aa-00-01", "name=n1"},
	{"nid=7", "BOOTIF=01-52-54-00-aa-00-01", "nid=7"},
	/* mac= first, then name=, then nid= */
	{"name=ghost&mac=52:54:00:aa:00:11", "BOOTIF=01-52-54-00-aa-00-11",
	 "mac=52:54:00:aa:00:11"},
	{"nid=99&name=n1", "BOOTIF=01-52-54-00-aa-00-01", "name=n1"},
	/* retry= that is not a count is ignored */
	{"name=n1&retry=x", "BOOTIF=01-52-54-00-aa-00-01", "name=n1"},
	{"name=n1&retry=100001", "BOOTIF=01-52-54-00-aa-00-01", "name=n1"},
};

struct bad_query {
	const char *query;
	const char *field;
};

static const struct bad_query bad_queries[] = {
	{"", "mac"},
	{"retry=1", "mac"},
	{"mac=", "mac"},
	{"mac=nope", "mac"},
	{"mac=52:54:00:aa:00", "mac"},
	{"mac=52:54:00:aa:00:01:02", "mac"},
	{"mac=52:54:00:aa:00:0g", "mac"},
	{"mac=52:54:00:aa:00:01&name=n1", NULL}, /* fine: mac wins (not an error) */
	{"name=", "name"},
	{"name=-n1", "name"},
	{"name=a%20b", "name"},
	{"name=n1%0Aboot", "name"},
	{"nid=", "nid"},
	{"nid=0", "nid"},
	{"nid=-7", "nid"},
	{"nid=x", "nid"},
	{"nid=2147483649", "nid"},
	{"mac=nope&name=n1", "mac"},
};

static void test_queries(void **state)
{
	struct fx *f = *state;
	char line[512], want[160];

	seed_objects(f);
	seed_n1(f);
	for (size_t i = 0; i < NELEM(query_cases); i++) {
		const struct query_case *c = &query_cases[i];
		struct buf s;

		script(f, NULL, c->query, &s);
		line_of(buf_str(&s), "kernel ", line, sizeof(line));
		if (strstr(line, c->bootif) == NULL)
			fail_msg("%s: no %s in \"%s\"", c->query, c->bootif, line);
		snprintf(want, sizeof(want), "/boot/v1/bootscript?%s&retry=1 || goto retry",
			 c->self);
		line_of(buf_str(&s), "chain ", line, sizeof(line));
		if (strstr(line, want) == NULL)
			fail_msg("%s: chain line \"%s\", want ...%s", c->query, line, want);
		buf_clear(&s);
	}
	for (size_t i = 0; i < NELEM(bad_queries); i++) {
		char path[160];
		struct res r;

		snprintf(path, sizeof(path), "/boot/v1/bootscript?%s", bad_queries[i].query);
		node_get(f, NULL, path, &r);
		if (bad_queries[i].field == NULL)
			assert_int_equal(r.status, 200);
		else
			check_error(path, &r, 400, "bad_request", bad_queries[i].field);
		res_free(&r);
	}
	/* Every one of those left n1 "booting", recorded once per good request. */
	check_state(f, "n1", "booting");
}

/* ---- precedence ------------------------------------------------------------ */

struct prec_case {
	const char *node; /* the node to PUT, ' for " */
	const char *header, *kernel, *params;
};

static const struct prec_case prec_cases[] = {
	{"{'profile':'p-node','groups':['g-a']}", "# profile p-node (from node), image img1",
	 ADV "/files/images/k/vmlinuz", "console=ttyS0 quiet"},
	{"{'groups':['g-none','g-a','g-b']}", "# profile p-group (from group g-a), image img2",
	 "https://mirror.test/k2/vmlinuz", "rd.group"},
	{"{'groups':['g-b','g-a']}", "# profile p-b (from group g-b)",
	 ADV "/files/images/b/vmlinuz", NULL},
	{"{'groups':['g-a'],'params':'n.x=1'}", "# profile p-group (from group g-a), image img2",
	 "https://mirror.test/k2/vmlinuz", "rd.group n.x=1"},
	{"{'groups':['g-none']}", "# profile p-default (from default), image img1",
	 ADV "/files/images/k/vmlinuz", "console=ttyS0 rd.default"},
	{"{}", "# profile p-default (from default), image img1", ADV "/files/images/k/vmlinuz",
	 "console=ttyS0 rd.default"},
	{"{'params':'a=b c'}", "# profile p-default (from default), image img1",
	 ADV "/files/images/k/vmlinuz", "console=ttyS0 rd.default a=b c"},
};

static void test_precedence(void **state)
{
	struct fx *f = *state;
	struct buf s;
	char line[512], want[512];

	seed_objects(f);
	for (size_t i = 0; i < NELEM(prec_cases); i++) {
		const struct prec_case *c = &prec_cases[i];

		/* The same node, replaced: the boot cache must not hand out the old script. */
		must(f, "PUT", "/api/v1/nodes/pn", c->node, i == 0 ? 201 : 200);
		script(f, NULL, "name=pn", &s);
		line_of(buf_str(&s), "# profile ", line, sizeof(line));
		if (strcmp(line, c->header) != 0)
			fail_msg("%s: \"%s\", want \"%s\"", c->node, line, c->header);
		snprintf(want, sizeof(want), "kernel %s initrd=initrd %s%scorral.node=pn ",
			 c->kernel, c->params ? c->params : "", c->params ? " " : "");
		line_of(buf_str(&s), "kernel ", line, sizeof(line));
		if (strncmp(line, want, strlen(want)) != 0)
			fail_msg("%s: \"%s\", want \"%s...\"", c->node, line, want);
		buf_clear(&s);
	}
	/* A group's profile changed: seen at the next request. */
	must(f, "PUT", "/api/v1/nodes/pn", "{'groups':['g-a']}", 200);
	script(f, NULL, "name=pn", &s);
	assert_non_null(strstr(buf_str(&s), "(from group g-a)"));
	buf_clear(&s);
	must(f, "PATCH", "/api/v1/groups/g-a", "{'profile':'p-b'}", 200);
	script(f, NULL, "name=pn", &s);
	assert_non_null(strstr(buf_str(&s), "# profile p-b (from group g-a)\n"));
	buf_clear(&s);
	/* An image's parameters changed: seen at once too. */
	must(f, "PUT", "/api/v1/nodes/pn", "{}", 200);
	must(f, "PATCH", "/api/v1/images/img1", "{'params':'console=ttyS9'}", 200);
	script(f, NULL, "name=pn", &s);
	assert_non_null(strstr(buf_str(&s), " initrd=initrd console=ttyS9 rd.default "));
	buf_clear(&s);

	/* No profile anywhere: a script that says so, waits and asks again. */
	must(f, "PATCH", "/api/v1/defaults", "{'profile':null}", 200);
	script(f, NULL, "name=pn", &s);
	const char *const nowant[] = {
		"#!ipxe",
		"# Corral: node pn has no boot profile (none on the node, its groups or the "
		"defaults)",
		"echo Corral: node pn has no boot profile (none on the node, its groups or the "
		"defaults); asking again in 7 s",
		":wait",
		"sleep 7",
		"chain --replace --autofree " ADV "/boot/v1/bootscript?name=pn || goto wait",
	};
	check_lines("no profile", buf_str(&s), nowant, NELEM(nowant));
	buf_clear(&s);
	/* It asked, so it is on its timeline; but it is not booting. */
	json_t *ev = get_json(f, "/api/v1/nodes/pn/events");
	json_t *last = json_array_get(ev, json_array_size(ev) - 1);
	assert_string_equal(json_string_value(json_object_get(last, "detail")), "no boot profile");
	json_decref(ev);
}

/* ---- unknown, disabled, not found ------------------------------------------ */

static void test_unknown_mac(void **state)
{
	struct fx *f = *state;
	struct buf s;
	json_t *d, *e;

	seed_objects(f);
	script(f, "127.0.0.5", "mac=52-54-00-EE-00-01", &s);
	const char *const want[] = {
		"#!ipxe",
		"# Corral: this machine (52:54:00:ee:00:01) is not registered yet",
		"echo Corral: this machine (52:54:00:ee:00:01) is not registered yet; asking again "
		"in 7 s",
		":wait",
		"sleep 7",
		"chain --replace --autofree " ADV
		"/boot/v1/bootscript?mac=52:54:00:ee:00:01 || goto wait",
	};
	check_lines("unknown MAC", buf_str(&s), want, NELEM(want));
	buf_clear(&s);

	/* Listed under discovered, with where it asked from and how often. */
	d = get_json(f, "/api/v1/discovered");
	assert_int_equal(json_array_size(d), 1);
	e = json_array_get(d, 0);
	assert_string_equal(json_string_value(json_object_get(e, "mac")), "52:54:00:ee:00:01");
	assert_string_equal(json_string_value(json_object_get(e, "ip")), "127.0.0.5");
	assert_int_equal(json_integer_value(json_object_get(e, "requests")), 1);
	json_decref(d);
	script(f, "127.0.0.6", "mac=52:54:00:ee:00:01", &s);
	buf_clear(&s);
	d = get_json(f, "/api/v1/discovered");
	e = json_array_get(d, 0);
	assert_string_equal(json_string_value(json_object_get(e, "ip")), "127.0.0.6");
	assert_int_equal(json_integer_value(json_object_get(e, "requests")), 2);
	json_decref(d);

	/* Unknown name or nid: a wait script too, but nothing is discovered. */
	static const struct {
		const char *query, *comment, *self;
	} others[] = {
		{"name=ghost", "# Corral: no node has name=ghost", "name=ghost"},
		{"nid=99", "# Corral: no node has nid=99", "nid=99"},
	};
	for (size_t i = 0; i < NELEM(others); i++) {
		char line[256], chain[256];

		script(f, NULL, others[i].query, &s);
		line_of(buf_str(&s), "# Corral", line, sizeof(line));
		assert_string_equal(line, others[i].comment);
		snprintf(chain, sizeof(chain),
			 "chain --replace --autofree " ADV "/boot/v1/bootscript?%s || goto wait",
			 others[i].self);
		line_of(buf_str(&s), "chain ", line, sizeof(line));
		assert_string_equal(line, chain);
		buf_clear(&s);
	}
	d = get_json(f, "/api/v1/discovered");
	assert_int_equal(json_array_size(d), 1);
	json_decref(d);

	/* Registered meanwhile: the next ask boots, and it is no longer unknown. */
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'late','interfaces':[{'mac':'52:54:00:ee:00:01'}]}", 201);
	d = get_json(f, "/api/v1/discovered");
	assert_int_equal(json_array_size(d), 0);
	json_decref(d);
	script(f, "127.0.0.6", "mac=52:54:00:ee:00:01", &s);
	assert_non_null(strstr(buf_str(&s), "# profile p-default (from default)"));
	assert_non_null(strstr(buf_str(&s), " BOOTIF=01-52-54-00-ee-00-01 corral.node=late "));
	buf_clear(&s);
	check_state(f, "late", "booting");
	d = get_json(f, "/api/v1/discovered");
	assert_int_equal(json_array_size(d), 0);
	json_decref(d);
}

static void test_disabled(void **state)
{
	struct fx *f = *state;
	struct buf s;
	json_t *n, *ev;

	seed_objects(f);
	seed_n1(f);
	must(f, "PATCH", "/api/v1/nodes/n1", "{'enabled':false}", 200);
	static const char *const queries[] = {"mac=52:54:00:aa:00:01", "name=n1", "nid=7"};
	for (size_t i = 0; i < NELEM(queries); i++) {
		script(f, "127.0.0.2", queries[i], &s);
		const char *const want[] = {
			"#!ipxe",
			"# Corral: node n1 is disabled",
			"echo Corral: node n1 is disabled; leaving network boot",
			"exit",
		};
		check_lines(queries[i], buf_str(&s), want, NELEM(want));
		buf_clear(&s);
	}
	/* On the timeline (repeats within 2 s fold into one), but not booting. */
	n = get_json(f, "/api/v1/nodes/n1");
	assert_string_equal(json_string_value(json_object_get(n, "state")), "new");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(n, "last_event"), "stage")),
		"bootscript");
	json_decref(n);
	ev = get_json(f, "/api/v1/nodes/n1/events");
	assert_true(json_array_size(ev) >= 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "detail")),
			    "disabled");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "source")),
			    "127.0.0.2");
	json_decref(ev);

	/* Enabled again: boots. */
	must(f, "PATCH", "/api/v1/nodes/n1", "{'enabled':true}", 200);
	script(f, "127.0.0.2", "nid=7", &s);
	assert_non_null(strstr(buf_str(&s), "\nboot || goto retry\n"));
	buf_clear(&s);
	check_state(f, "n1", "booting");
}

static void test_retry(void **state)
{
	struct fx *f = *state;
	static const struct {
		unsigned retry, sleep;
	} cases[] = {{1, 10}, {2, 20}, {3, 40}, {4, 60}, {9, 60}, {100000, 60}};

	seed_objects(f);
	seed_n1(f);
	for (size_t i = 0; i < NELEM(cases); i++) {
		char q[64], line[256], want[256];
		struct buf s;

		snprintf(q, sizeof(q), "name=n1&retry=%u", cases[i].retry);
		script(f, "127.0.0.2", q, &s);
		snprintf(want, sizeof(want), "sleep %u", cases[i].sleep);
		line_of(buf_str(&s), "sleep ", line, sizeof(line));
		assert_string_equal(line, want);
		snprintf(want, sizeof(want),
			 "echo Corral: boot step failed, retrying in %u s (attempt %u)",
			 cases[i].sleep, cases[i].retry + 1);
		line_of(buf_str(&s), "echo Corral: boot step", line, sizeof(line));
		assert_string_equal(line, want);
		snprintf(want, sizeof(want),
			 "chain --replace --autofree " ADV
			 "/boot/v1/bootscript?name=n1&retry=%u || goto retry",
			 cases[i].retry + 1);
		line_of(buf_str(&s), "chain ", line, sizeof(line));
		assert_string_equal(line, want);
		buf_clear(&s);
	}
	/* Each attempt is on the timeline with its number. */
	json_t *ev = get_json(f, "/api/v1/nodes/n1/events");
	assert_int_equal(json_array_size(ev), NELEM(cases));
	for (size_t i = 0; i < NELEM(cases); i++) {
		char want[96];
		snprintf(want, sizeof(want), "profile p-node (node), retry %u", cases[i].retry);
		assert_string_equal(
			json_string_value(json_object_get(json_array_get(ev, i), "detail")), want);
	}
	json_decref(ev);
}

/* ---- cloud-init ------------------------------------------------------------- */

/* n1 and n2 with cloud-init layers on the defaults, a group and the node. */
static void seed_layers(struct fx *f)
{
	seed_objects(f);
	must(f, "PATCH", "/api/v1/defaults",
	     "{'metadata':{'site':'s1','rack':'d'},'user_data':'#cloud-config\\npackages: [curl]\\n'}",
	     200);
	must(f, "PATCH", "/api/v1/groups/g-a",
	     "{'metadata':{'rack':'g','zone':'z'},'user_data':'#cloud-config\\npackages: [git]\\n'}",
	     200);
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'n1','nid':7,'groups':['g-a'],'metadata':{'rack':'r1'},"
	     "'user_data':'#cloud-config\\npackages: [vim]\\nhostname: n1\\n',"
	     "'interfaces':[{'mac':'52:54:00:aa:00:01','ip':'127.0.0.2'}]}",
	     201);
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'n2','interfaces':[{'mac':'52:54:00:aa:00:02'}],"
	     "'user_data':'#!/bin/sh\\necho n2\\n'}",
	     201);
}

/* What n1 must get for each file. */
static void check_n1_cloudinit(const char *what, const char *file, const char *body)
{
	json_t *j, *want;

	if (strcmp(file, "vendor-data") == 0) {
		assert_string_equal(body, "#cloud-config\n{}\n");
		return;
	}
	if (strcmp(file, "meta-data") == 0) {
		j = json_loads(body, 0, NULL);
		want = json_loads("{\"instance-id\":\"i-n1\",\"local-hostname\":\"n1\","
				  "\"site\":\"s1\",\"rack\":\"r1\",\"zone\":\"z\"}",
				  0, NULL);
	} else {
		if (strncmp(body, "#cloud-config\n", 14) != 0)
			fail_msg("%s: user-data without its header: %s", what, body);
		j = json_loads(body + 14, 0, NULL);
		want = json_loads("{\"packages\":[\"curl\",\"git\",\"vim\"],\"hostname\":\"n1\"}",
				  0, NULL);
	}
	if (j == NULL || !json_equal(j, want))
		fail_msg("%s %s: got %s", what, file, body);
	json_decref(j);
	json_decref(want);
}

static void test_cloudinit_token(void **state)
{
	struct fx *f = *state;
	static const char *const files[] = {"meta-data", "user-data", "vendor-data"};
	char tok[AUTH_SEED_LEN], tok2[AUTH_SEED_LEN], path[256];
	struct buf s;
	struct res r;

	seed_layers(f);
	script(f, "127.0.0.9", "name=n1", &s);
	seed_of(buf_str(&s), tok);
	buf_clear(&s);
	must(f, "PATCH", "/api/v1/nodes/n2", "{'profile':'p-node'}", 200);
	script(f, NULL, "name=n2", &s);
	seed_of(buf_str(&s), tok2);
	buf_clear(&s);

	/* By token, from any address: what the node's layers give. */
	for (size_t i = 0; i < NELEM(files); i++) {
		snprintf(path, sizeof(path), "/cloud-init/%s/%s", tok, files[i]);
		assert_int_equal(node_get(f, "127.0.0.9", path, &r), 200);
		assert_string_equal(r.ctype, "text/plain; charset=utf-8");
		check_n1_cloudinit("by token", files[i], buf_str(&r.body));
		res_free(&r);
	}
	/* n2's own user-data is a script: served as it is. */
	snprintf(path, sizeof(path), "/cloud-init/%s/user-data", tok2);
	assert_int_equal(node_get(f, NULL, path, &r), 200);
	assert_string_equal(buf_str(&r.body), "#!/bin/sh\necho n2\n");
	res_free(&r);

	/* A token made here with the daemon's key: valid until its expiry, not after. */
	int64_t now = store_now_us() / 1000000, id = node_id(f, "n1");
	char made[AUTH_SEED_LEN], expired[AUTH_SEED_LEN], foreign[AUTH_SEED_LEN];
	unsigned char other_key[AUTH_KEY_LEN];
	auth_seed_make(f->a.seed_key, id, (uint32_t)(now + 30), made);
	auth_seed_make(f->a.seed_key, id, (uint32_t)(now - 1), expired);
	memcpy(other_key, f->a.seed_key, sizeof(other_key));
	other_key[0] ^= 1;
	auth_seed_make(other_key, id, (uint32_t)(now + 3600), foreign);
	snprintf(path, sizeof(path), "/cloud-init/%s/meta-data", made);
	assert_int_equal(node_get(f, NULL, path, &r), 200);
	check_n1_cloudinit("made token", "meta-data", buf_str(&r.body));
	res_free(&r);

	/* Refused: 403 for anything not signed by the key, or past its expiry. */
	char t[8][80];
	snprintf(t[0], sizeof(t[0]), "%s", expired);
	snprintf(t[1], sizeof(t[1]), "%s", foreign);
	snprintf(t[2], sizeof(t[2]), "%s", tok);
	t[2][7] = t[2][7] == '1' ? '2' : '1'; /* node id */
	snprintf(t[3], sizeof(t[3]), "%s", tok);
	t[3][15] = t[3][15] == 'f' ? 'e' : 'f'; /* expiry */
	snprintf(t[4], sizeof(t[4]), "%s", tok);
	t[4][40] = t[4][40] == '0' ? '1' : '0';                /* signature */
	snprintf(t[5], sizeof(t[5]), "%.8s%s", tok2, tok + 8); /* n2's id, n1's signature */
	snprintf(t[6], sizeof(t[6]), "%.54s", tok);            /* short */
	snprintf(t[7], sizeof(t[7]), "%.55sz", tok);           /* not hex */
	for (size_t k = 0; k < NELEM(t); k++) {
		for (size_t i = 0; i < NELEM(files); i++) {
			char what[160];
			snprintf(path, sizeof(path), "/cloud-init/%s/%s", t[k], files[i]);
			snprintf(what, sizeof(what), "bad token %zu %s", k, files[i]);
			node_get(f, "127.0.0.2", path, &r);
			check_error(what, &r, 403, "forbidden", NULL);
			assert_null(strstr(buf_str(&r.body), "n1"));
			res_free(&r);
		}
	}
	/* The token in the script expires: checked against a clock past it. */
	int64_t got;
	assert_int_equal(auth_seed_check(f->a.seed_key, tok, (uint32_t)now, &got), 0);
	assert_int_equal(
		auth_seed_check(f->a.seed_key, tok, (uint32_t)(now + f->cfg->token_ttl + 1), &got),
		-EACCES);

	/* No such file, by token or address: 404. */
	snprintf(path, sizeof(path), "/cloud-init/%s/network-config", tok);
	node_get(f, "127.0.0.2", path, &r);
	check_error("network-config", &r, 404, "not_found", NULL);
	res_free(&r);
	node_get(f, "127.0.0.2", "/cloud-init/network-config", &r);
	check_error("network-config by address", &r, 404, "not_found", NULL);
	res_free(&r);

	/* n1 deleted (not the newest node, so its id is not handed out again): 404. */
	must(f, "DELETE", "/api/v1/nodes/n1", NULL, 204);
	snprintf(path, sizeof(path), "/cloud-init/%s/meta-data", tok);
	node_get(f, NULL, path, &r);
	check_error("deleted node", &r, 404, "not_found", NULL);
	res_free(&r);
}

/* ---- fixed bugs ------------------------------------------------------------------- */

/*
 * A seed token names a node by its row id (serve.c:90, checked at :173 and
 * looked up at :200).  nodes.id is a plain INTEGER PRIMARY KEY (store.c:48),
 * so SQLite gives a new node the id of the newest node deleted before it,
 * and that node's unexpired token then opens the new node's cloud-init
 * (user-data may carry secrets) and phones home as it.  What must hold: an
 * old node's token is no one's.
 */
static void test_token_of_reused_id(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_SEED_LEN], path[256];
	struct buf s;
	struct res r;

	seed_layers(f);
	must(f, "PATCH", "/api/v1/nodes/n2", "{'profile':'p-node'}", 200);
	script(f, NULL, "name=n2", &s);
	seed_of(buf_str(&s), tok);
	buf_clear(&s);
	must(f, "DELETE", "/api/v1/nodes/n2", NULL, 204);
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'n3','user_data':'#cloud-config\\nsecret: n3\\n'}", 201);

	snprintf(path, sizeof(path), "/cloud-init/%s/user-data", tok);
	node_get(f, NULL, path, &r);
	if (r.status == 200 || strstr(buf_str(&r.body), "secret") != NULL)
		fail_msg("deleted n2's token opens n3's user-data: %ld %s", r.status,
			 buf_str(&r.body));
	res_free(&r);
	snprintf(path, sizeof(path), "/phone-home/%s", tok);
	struct rq ph = {.method = "POST", .path = path, .body = "", .ctype = "text/plain"};
	send_rq(f, &ph, &r);
	if (r.status == 200)
		fail_msg("deleted n2's token phones home as %s", buf_str(&r.body));
	res_free(&r);
	check_state(f, "n3", "new");
}

/*
 * nid=%2B7 is accepted (strtoll takes the '+') and the script re-chains to
 * "?nid=+7&retry=1" (serve.c:34, the value as given, from :152), which the
 * server itself refuses: '+' in a query is a space, and " 7" is not a node
 * number.  The retry path of such a node ends in 400s.  What must hold: the
 * URL a script re-chains to is one the server answers with a script.
 */
static void test_nid_rechain(void **state)
{
	struct fx *f = *state;
	char line[512];
	struct buf s;
	struct res r;

	seed_objects(f);
	seed_n1(f);
	script(f, NULL, "nid=%2B7", &s);
	line_of(buf_str(&s), "chain ", line, sizeof(line));
	buf_clear(&s);
	const char *url = strstr(line, "/boot/v1/bootscript?");
	assert_non_null(url);
	char path[256];
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(url, " "), url);
	node_get(f, NULL, path, &r);
	if (r.status != 200)
		fail_msg("re-chain to %s: %ld %s", path, r.status, buf_str(&r.body));
	res_free(&r);
}

static void test_cloudinit_by_address(void **state)
{
	struct fx *f = *state;
	static const char *const files[] = {"meta-data", "user-data", "vendor-data"};
	char path[64];
	struct res r;
	struct buf s;

	seed_layers(f);
	/* n1 by its interface's static IP. */
	for (size_t i = 0; i < NELEM(files); i++) {
		snprintf(path, sizeof(path), "/cloud-init/%s", files[i]);
		assert_int_equal(node_get(f, "127.0.0.2", path, &r), 200);
		check_n1_cloudinit("by address", files[i], buf_str(&r.body));
		res_free(&r);
		/* Nobody at 127.0.0.3 yet. */
		node_get(f, "127.0.0.3", path, &r);
		check_error(path, &r, 404, "not_found", NULL);
		res_free(&r);
	}
	/* n2 (no IP) by the address it fetched its boot script from. */
	must(f, "PATCH", "/api/v1/nodes/n2", "{'profile':'p-node'}", 200);
	script(f, "127.0.0.3", "mac=52:54:00:aa:00:02", &s);
	buf_clear(&s);
	events_flush(f->a.events); /* the address is stored with the boot event */
	assert_int_equal(node_get(f, "127.0.0.3", "/cloud-init/user-data", &r), 200);
	assert_string_equal(buf_str(&r.body), "#!/bin/sh\necho n2\n");
	res_free(&r);
	assert_int_equal(node_get(f, "127.0.0.3", "/cloud-init/meta-data", &r), 200);
	json_t *md = json_loads(buf_str(&r.body), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(md, "local-hostname")), "n2");
	json_decref(md);
	res_free(&r);
	/* A boot script by name records the address too (its first interface). */
	must(f, "PATCH", "/api/v1/nodes/n1", "{'interfaces':[{'mac':'52:54:00:aa:00:01'}]}", 200);
	node_get(f, "127.0.0.2", "/cloud-init/meta-data", &r);
	check_error("n1 without its IP", &r, 404, "not_found", NULL);
	res_free(&r);
	script(f, "127.0.0.4", "name=n1", &s);
	buf_clear(&s);
	events_flush(f->a.events);
	assert_int_equal(node_get(f, "127.0.0.4", "/cloud-init/meta-data", &r), 200);
	check_n1_cloudinit("by last address", "meta-data", buf_str(&r.body));
	res_free(&r);
}

/* ---- phone-home -------------------------------------------------------------- */

struct phone_case {
	const char *what;
	const char *path; /* "TOKEN" is replaced by n2's seed token */
	const char *form;
	const char *src;
	long status;
	const char *node; /* who is now ready */
};

static const struct phone_case phone_cases[] = {
	{"instance_id", "/phone-home", "instance_id=i-n1&hostname=other", "127.0.0.9", 200, "n1"},
	{"hostname only", "/phone-home", "hostname=n2", "127.0.0.9", 200, "n2"},
	{"cloud-init's full form", "/phone-home",
	 "pub_key_rsa=ssh-rsa+AAAA%2Fx&instance_id=i-n1&hostname=n1&fqdn=n1.cluster", NULL, 200,
	 "n1"},
	{"unknown instance_id, known hostname", "/phone-home", "instance_id=i-ghost&hostname=n2",
	 "127.0.0.9", 200, "n2"},
	{"percent-encoded hostname", "/phone-home", "hostname=n%32", "127.0.0.9", 200, "n2"},
	{"by source address", "/phone-home", "x=1", "127.0.0.2", 200, "n1"},
	{"empty form, by address", "/phone-home", "", "127.0.0.2", 200, "n1"},
	{"by token", "/phone-home/TOKEN", "", "127.0.0.9", 200, "n2"},
	{"token wins over the form", "/phone-home/TOKEN", "instance_id=i-n1", "127.0.0.2", 200,
	 "n2"},
	{"nothing matches", "/phone-home", "instance_id=i-ghost&hostname=ghost", "127.0.0.9", 404,
	 NULL},
	{"bad hostname, unknown address", "/phone-home", "hostname=n1%0A", "127.0.0.9", 404, NULL},
	{"bad token", "/phone-home/00000000", "hostname=n1", "127.0.0.2", 403, NULL},
};

static void test_phone_home(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_SEED_LEN];
	struct buf s;

	seed_layers(f);
	must(f, "PATCH", "/api/v1/nodes/n2", "{'profile':'p-node'}", 200);
	script(f, NULL, "name=n2", &s);
	seed_of(buf_str(&s), tok);
	buf_clear(&s);

	for (size_t i = 0; i < NELEM(phone_cases); i++) {
		const struct phone_case *c = &phone_cases[i];
		char path[128];
		struct res r;

		/*
		 * Both nodes back to booting first, so "ready" is this request's
		 * doing (from 127.0.0.7: an address no case phones home from).
		 */
		script(f, "127.0.0.7", "name=n1", &s);
		buf_clear(&s);
		script(f, "127.0.0.7", "name=n2", &s);
		buf_clear(&s);
		check_state(f, "n1", "booting");
		check_state(f, "n2", "booting");

		if (strcmp(c->path, "/phone-home/TOKEN") == 0)
			snprintf(path, sizeof(path), "/phone-home/%s", tok);
		else
			snprintf(path, sizeof(path), "%s", c->path);
		struct rq q = {.method = "POST",
			       .path = path,
			       .body = c->form,
			       .ctype = "application/x-www-form-urlencoded",
			       .src = c->src};
		send_rq(f, &q, &r);
		if (c->status != 200) {
			check_error(c->what, &r, c->status,
				    c->status == 403 ? "forbidden" : "not_found", NULL);
			res_free(&r);
			check_state(f, "n1", "booting");
			check_state(f, "n2", "booting");
			continue;
		}
		if (r.status != 200)
			fail_msg("%s: %ld %s", c->what, r.status, buf_str(&r.body));
		json_t *want = json_pack("{s:s, s:s}", "node", c->node, "state", "ready");
		if (!json_equal(r.json, want))
			fail_msg("%s: %s", c->what, buf_str(&r.body));
		json_decref(want);
		res_free(&r);
		check_state(f, c->node, "ready");
		check_state(f, strcmp(c->node, "n1") == 0 ? "n2" : "n1", "booting");
		/* The timeline ends with it. */
		snprintf(path, sizeof(path), "/api/v1/nodes/%s/events", c->node);
		json_t *ev = get_json(f, path);
		json_t *last = json_array_get(ev, json_array_size(ev) - 1);
		assert_string_equal(json_string_value(json_object_get(last, "stage")),
				    "phone-home");
		assert_string_equal(json_string_value(json_object_get(last, "detail")), "ready");
		assert_string_equal(json_string_value(json_object_get(last, "source")),
				    c->src ? c->src : "127.0.0.1");
		json_decref(ev);
	}
	/* Only POST. */
	struct res r;
	node_get(f, "127.0.0.2", "/phone-home", &r);
	check_error("GET /phone-home", &r, 405, "method_not_allowed", NULL);
	res_free(&r);
}

/* ---- files ---------------------------------------------------------------- */

static const char *const refused_paths[] = {
	"/files/../secret.key",
	"/files/%2e%2e/secret.key",
	"/files/%2E%2E/secret.key",
	"/files/images/../../secret.key",
	"/files/images/%2e%2e/%2e%2e/secret.key",
	"/files/images/k/../vmlinuz",
	"/files/images/k/%2e%2e/k/vmlinuz",
	"/files/./images/k/vmlinuz",
	"/files//etc/passwd",
	"/files/%2Fetc%2Fpasswd",
	"/files/..%2Fsecret.key",
	"/files/images/k/vmlinuz/",
	"/files/images",
	"/files/images/k",
	"/files/nope",
	"/files/leak", /* a link inside the root to the key file outside it */
};

/* A %00 in the path: refused as such (400), never read as a shorter name. */
static const char *const nul_paths[] = {
	"/files/..%00/secret.key",
	"/files/images/k/vmlinuz%00.txt",
	"/files/images/k/vmlinuz%00/../../../secret.key",
	"/files/leak%00",
	"/files/%00../secret.key",
};

static void test_files(void **state)
{
	struct fx *f = *state;
	struct res r;
	char len[32];

	for (size_t i = 0; i < NELEM(boot_files); i++) {
		char path[160];

		snprintf(path, sizeof(path), "/files/%s", boot_files[i].path);
		snprintf(len, sizeof(len), "%zu", strlen(boot_files[i].content));
		assert_int_equal(node_get(f, NULL, path, &r), 200);
		assert_string_equal(r.clen, len);
		assert_string_equal(buf_str(&r.body), boot_files[i].content);
		res_free(&r);
		struct rq h = {.method = "HEAD", .path = path};
		assert_int_equal(send_rq(f, &h, &r), 200);
		assert_string_equal(r.clen, len);
		assert_int_equal(r.body.len, 0);
		res_free(&r);
	}
	/* A range from the start, and one from the middle. */
	struct rq q = {.method = "GET", .path = "/files/images/k/vmlinuz", .range = "bytes=0-5"};
	assert_int_equal(send_rq(f, &q, &r), 206);
	assert_string_equal(buf_str(&r.body), "KERNEL");
	assert_string_equal(r.clen, "6");
	assert_string_equal(r.crange, "bytes 0-5/23");
	res_free(&r);
	q.range = "bytes=7-";
	assert_int_equal(send_rq(f, &q, &r), 206);
	assert_string_equal(buf_str(&r.body), "0123456789abcdef");
	res_free(&r);
	q.range = "bytes=100-";
	send_rq(f, &q, &r);
	check_error("range past the end", &r, 416, "range_not_satisfiable", NULL);
	res_free(&r);

	/* Out of the root, in every spelling, and what is no regular file: 404. */
	unsigned char key[AUTH_KEY_LEN];
	memcpy(key, f->a.seed_key, sizeof(key));
	for (size_t i = 0; i < NELEM(refused_paths); i++) {
		node_get(f, NULL, refused_paths[i], &r);
		check_error(refused_paths[i], &r, 404, "not_found", NULL);
		if (r.body.len >= AUTH_KEY_LEN &&
		    memmem(r.body.data, r.body.len, key, AUTH_KEY_LEN) != NULL)
			fail_msg("%s: the key file's bytes in the answer", refused_paths[i]);
		res_free(&r);
	}
	for (size_t i = 0; i < NELEM(nul_paths); i++) {
		node_get(f, NULL, nul_paths[i], &r);
		if (r.status != 400)
			fail_msg("%s: %ld, want 400", nul_paths[i], r.status);
		if (r.body.len >= AUTH_KEY_LEN &&
		    memmem(r.body.data, r.body.len, key, AUTH_KEY_LEN) != NULL)
			fail_msg("%s: the key file's bytes in the answer", nul_paths[i]);
		res_free(&r);
	}
	struct rq post = {.method = "POST", .path = "/files/extra/readme.txt", .body = "x"};
	send_rq(f, &post, &r);
	check_error("POST a file", &r, 405, "method_not_allowed", NULL);
	res_free(&r);
}

/* ---- the boot timeline ----------------------------------------------------- */

struct step {
	const char *method, *path; /* path "SEED" + file: the node's seed URL */
	const char *range;
	const char *stage, *detail; /* the event it leaves; NULL: none */
	const char *state;          /* the node's state after it */
};

static const struct step boot_steps[] = {
	{"GET", "/boot/v1/bootscript?mac=52:54:00:aa:00:01", NULL, "bootscript",
	 "profile p-node (node)", "booting"},
	{"GET", "/files/images/k/vmlinuz", NULL, "kernel", "images/k/vmlinuz", "booting"},
	{"HEAD", "/files/images/k/initrd.img", NULL, NULL, NULL, "booting"},
	{"GET", "/files/images/k/initrd.img", "bytes=0-", "initrd", "images/k/initrd.img",
	 "booting"},
	{"GET", "/files/images/k/rootfs.squashfs", "bytes=4-", NULL, NULL, "booting"},
	{"GET", "/files/images/k/rootfs.squashfs", NULL, "rootfs", "images/k/rootfs.squashfs",
	 "booting"},
	{"GET", "/files/extra/readme.txt", NULL, "file", "extra/readme.txt", "booting"},
	{"GET", "/files/nope", NULL, NULL, NULL, "booting"},
	{"GET", "SEEDmeta-data", NULL, "cloud-init", "meta-data", "booting"},
	{"GET", "SEEDuser-data", NULL, "cloud-init", "user-data", "booting"},
	{"GET", "SEEDvendor-data", NULL, "cloud-init", "vendor-data", "booting"},
	{"GET", "/cloud-init/meta-data", NULL, "cloud-init", "meta-data", "booting"},
	{"GET", "/cloud-init/network-config", NULL, NULL, NULL, "booting"},
	{"POST", "/phone-home", NULL, "phone-home", "ready", "ready"},
	{"GET", "/boot/v1/bootscript?name=ghost", NULL, NULL, NULL, "ready"},
	/* a reboot: booting again, by name and by nid */
	{"GET", "/boot/v1/bootscript?name=n1&retry=1", NULL, "bootscript",
	 "profile p-node (node), retry 1", "booting"},
	{"GET", "/boot/v1/bootscript?nid=7", NULL, "bootscript", "profile p-node (node)",
	 "booting"},
};

static void test_timeline(void **state)
{
	struct fx *f = *state;
	char seed[AUTH_SEED_LEN] = "";
	size_t nev = 0;

	seed_objects(f);
	seed_n1(f);
	check_state(f, "n1", "new");
	for (size_t i = 0; i < NELEM(boot_steps); i++) {
		const struct step *st = &boot_steps[i];
		char path[256];
		struct res r;

		if (strncmp(st->path, "SEED", 4) == 0)
			snprintf(path, sizeof(path), "/cloud-init/%s/%s", seed, st->path + 4);
		else
			snprintf(path, sizeof(path), "%s", st->path);
		struct rq q = {.method = st->method,
			       .path = path,
			       .src = "127.0.0.2",
			       .range = st->range,
			       .body = strcmp(st->method, "POST") == 0 ? "instance_id=i-n1" : NULL,
			       .ctype = "application/x-www-form-urlencoded"};
		send_rq(f, &q, &r);
		if (r.status >= 300 && st->stage != NULL)
			fail_msg("%s %s: %ld", st->method, path, r.status);
		if (seed[0] == '\0' && strstr(path, "bootscript?mac=") != NULL)
			seed_of(buf_str(&r.body), seed);
		res_free(&r);
		check_state(f, "n1", st->state);
		if (st->stage != NULL)
			nev++;

		/* The timeline so far: one event per step that maps to the node. */
		json_t *ev = get_json(f, "/api/v1/nodes/n1/events");
		if (json_array_size(ev) != nev)
			fail_msg("after %s %s: %zu events, want %zu", st->method, path,
				 json_array_size(ev), nev);
		if (st->stage != NULL) {
			json_t *e = json_array_get(ev, nev - 1);
			const char *stage = json_string_value(json_object_get(e, "stage"));
			const char *detail = json_string_value(json_object_get(e, "detail"));
			if (strcmp(stage, st->stage) != 0 || strcmp(detail, st->detail) != 0)
				fail_msg("after %s %s: event %s \"%s\", want %s \"%s\"", st->method,
					 path, stage, detail, st->stage, st->detail);
			assert_string_equal(json_string_value(json_object_get(e, "source")),
					    "127.0.0.2");
		}
		json_decref(ev);
	}
	/* Oldest first, times in order; the node's last event is the newest. */
	json_t *ev = get_json(f, "/api/v1/nodes/n1/events");
	size_t i;
	json_t *e;
	const char *prev = "";
	json_array_foreach(ev, i, e) {
		const char *t = json_string_value(json_object_get(e, "time"));
		assert_non_null(t);
		assert_true(strcmp(prev, t) <= 0);
		prev = t;
	}
	json_t *n = get_json(f, "/api/v1/nodes/n1");
	json_t *le = json_object_get(n, "last_event");
	assert_string_equal(json_string_value(json_object_get(le, "stage")), "bootscript");
	assert_string_equal(json_string_value(json_object_get(le, "time")), prev);
	json_decref(n);
	json_decref(ev);
	/* ?limit= gives the newest. */
	ev = get_json(f, "/api/v1/nodes/n1/events?limit=2");
	assert_int_equal(json_array_size(ev), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "detail")),
			    "profile p-node (node), retry 1");
	json_decref(ev);
	/* Nothing of this went to other nodes' timelines or the discovered list. */
	must(f, "POST", "/api/v1/nodes", "{'name':'n2'}", 201);
	ev = get_json(f, "/api/v1/nodes/n2/events");
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
	ev = get_json(f, "/api/v1/discovered");
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
}

/* Files fetched from an address no node has leave no event anywhere. */
static void test_files_from_strangers(void **state)
{
	struct fx *f = *state;
	struct res r;

	seed_objects(f);
	seed_n1(f);
	assert_int_equal(node_get(f, "127.0.0.8", "/files/images/k/vmlinuz", &r), 200);
	res_free(&r);
	assert_int_equal(node_get(f, NULL, "/files/images/k/initrd.img", &r), 200);
	res_free(&r);
	json_t *ev = get_json(f, "/api/v1/nodes/n1/events");
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
	check_state(f, "n1", "new");
}

/* ---- health and counters ------------------------------------------------------ */

static void test_health_metrics(void **state)
{
	struct fx *f = *state;
	struct res r;
	struct buf s;

	assert_int_equal(node_get(f, NULL, "/healthz", &r), 200);
	assert_string_equal(buf_str(&r.body), "{\"status\":\"ok\"}");
	res_free(&r);

	seed_objects(f);
	seed_n1(f);
	must(f, "POST", "/api/v1/nodes", "{'name':'off','enabled':false}", 201);
	script(f, NULL, "name=n1", &s);
	buf_clear(&s);
	script(f, NULL, "name=n1", &s); /* from the cache */
	buf_clear(&s);
	script(f, NULL, "name=off", &s);
	buf_clear(&s);
	script(f, NULL, "mac=52:54:00:ee:00:01", &s);
	buf_clear(&s);
	must(f, "PATCH", "/api/v1/defaults", "{'profile':null}", 200);
	must(f, "POST", "/api/v1/nodes", "{'name':'bare'}", 201);
	script(f, NULL, "name=bare", &s);
	buf_clear(&s);
	assert_int_equal(node_get(f, NULL, "/files/extra/readme.txt", &r), 200);
	res_free(&r);

	static const char *const want[] = {
		"corral_bootscripts_total{kind=\"node\"} 2\n",
		"corral_bootscripts_total{kind=\"unknown\"} 1\n",
		"corral_bootscripts_total{kind=\"disabled\"} 1\n",
		"corral_bootscripts_total{kind=\"noprofile\"} 1\n",
		"corral_bootscript_cache_total{result=\"hit\"} 1\n",
		"corral_file_bytes_total 6\n",
		"corral_nodes{state=\"booting\"} 1\n",
		"corral_nodes_disabled 1\n",
		"corral_http_requests_total{route=\"bootscript\",code=\"200\"} 5\n",
	};
	/*
	 * Node states are stored by the events writer, and request counters
	 * bumped when MHD reports a request complete, which may be just after
	 * the client has its answer: flush, and give the counters a moment.
	 */
	events_flush(f->a.events);
	for (int tries = 0;; tries++) {
		size_t missing = NELEM(want);

		assert_int_equal(node_get(f, NULL, "/metrics", &r), 200);
		for (size_t i = 0; i < NELEM(want); i++)
			if (strstr(buf_str(&r.body), want[i]) != NULL)
				missing--;
		if (missing == 0)
			break;
		if (tries == 50) {
			for (size_t i = 0; i < NELEM(want); i++)
				if (strstr(buf_str(&r.body), want[i]) == NULL)
					fail_msg("/metrics has no line \"%.*s\":\n%s",
						 (int)strlen(want[i]) - 1, want[i],
						 buf_str(&r.body));
		}
		res_free(&r);
		usleep(20000);
	}
	res_free(&r);
}

/*
 * MHD decoded %00 to a NUL and corrald read the path as a C string, so
 * "/files/images/k/vmlinuz%00.txt" was answered with images/k/vmlinuz and
 * recorded as a "kernel" download.  Now such a path is refused with 400
 * and nothing is recorded.
 */
static void test_nul_in_path(void **state)
{
	struct fx *f = *state;
	struct res r;

	node_get(f, NULL, "/files/images/k/vmlinuz%00.txt", &r);
	check_error("vmlinuz%00.txt", &r, 400, "bad_request", NULL);
	res_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_script_for_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cloudinit_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cloudinit_by_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_phone_home, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_from_strangers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_metrics, setup, teardown),
	};
	/* Tests of bugs found here and fixed since. */
	const struct CMUnitTest fixed_bugs[] = {
		cmocka_unit_test_setup_teardown(test_token_of_reused_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nid_rechain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_in_path, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("serve", tests, NULL, NULL);
	rc |= cmocka_run_group_tests_name("serve: fixed bugs", fixed_bugs, NULL, NULL);
	curl_global_cleanup();
	return rc != 0;
}
