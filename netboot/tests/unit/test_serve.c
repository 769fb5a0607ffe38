/*
 * Unit tests for serve's boot script and health paths (serve.c) run
 * in-process: each test wires a struct app the way corrald.c does (a real
 * SQLite store in a fresh temporary directory, events writer, metrics, boot
 * cache, hub, a configuration from config_defaults() with an advertise URL,
 * a file root holding a few boot files, a seed key), starts
 * http_server_start() on 127.0.0.1 port 0 with the real route table and
 * auth callback, and drives it with libcurl (appfix.h, with servefix.h's
 * boot files and checks).  Requests that stand for a node come from its own
 * loopback address (127.0.0.2, 127.0.0.3, ...: CURLOPT_INTERFACE), so
 * identity by source address is real.  Objects are set up through the
 * operator API; what a node got is read back through it too.
 *
 * Covered: the boot script line by line (kernel, initrd, parameters of
 * image + profile + node, BOOTIF=01-<mac with dashes>, the cloud-init seed
 * URL under the advertise URL with a token that verifies and expires within
 * token_ttl, the retry path and its back-off); MAC forms and bad queries
 * (answered as BSS answers them: RFC 7807 problem details);
 * profile precedence node → first group with one → defaults → none (wait);
 * changes seen at once despite the boot cache; unknown MAC (wait script,
 * discovered list, then registered); disabled node (exit); name= and nid=
 * from the node's own address, refused from others (403); a MAC's script
 * only to its lease's address once one is stored (ident.h), the verdict
 * remembered until the leases change; /healthz and the boot counters in
 * /metrics.  What a booting node asks
 * for next (cloud-init, phone-home, files, its timeline) is
 * test_serve_node.c.
 *
 * Tests of bugs found here and fixed since (they failed before the fix):
 * nid=%2B7 re-chains to a URL the server refuses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "servefix.h"

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
	TFMT(kernel,
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
		"/boot/v1/bootscript?mac=52:54:00:aa:00:01&retry=1&arch=${buildarch} || goto retry",
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
	assert_non_null(
		strstr(buf_str(&s),
		       "/boot/v1/bootscript?mac=52:54:00:aa:00:11&retry=1&arch=${buildarch} "));
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

/* An error in the problem-details shape BSS answers with on /boot/v1. */
static void check_problem(const char *what, const struct res *r, long status)
{
	const char *t = json_string_value(json_object_get(r->json, "type"));
	const char *d = json_string_value(json_object_get(r->json, "detail"));
	if (r->status != status)
		fail_msg("%s: status %ld, want %ld", what, r->status, status);
	if (strcmp(r->ctype, "application/problem+json") != 0)
		fail_msg("%s: Content-Type %s", what, r->ctype);
	if (t == NULL || strcmp(t, "about:blank") != 0 || d == NULL || d[0] == '\0' ||
	    json_integer_value(json_object_get(r->json, "status")) != status ||
	    json_object_get(r->json, "error") != NULL)
		fail_msg("%s: not problem details: %s", what, buf_str(&r->body));
}

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

		/* From n1's own address: name= and nid= are answered there only. */
		script(f, "127.0.0.2", c->query, &s);
		line_of(buf_str(&s), "kernel ", line, sizeof(line));
		if (strstr(line, c->bootif) == NULL)
			fail_msg("%s: no %s in \"%s\"", c->query, c->bootif, line);
		TFMT(want, "/boot/v1/bootscript?%s&retry=1&arch=${buildarch} || goto retry",
		     c->self);
		line_of(buf_str(&s), "chain ", line, sizeof(line));
		if (strstr(line, want) == NULL)
			fail_msg("%s: chain line \"%s\", want ...%s", c->query, line, want);
		buf_clear(&s);
	}
	for (size_t i = 0; i < NELEM(bad_queries); i++) {
		char path[160];
		struct res r;

		TFMT(path, "/boot/v1/bootscript?%s", bad_queries[i].query);
		node_get(f, NULL, path, &r);
		if (bad_queries[i].field == NULL)
			assert_int_equal(r.status, 200);
		else /* BSS's path: RFC 7807 problem details (docs/openchami.md) */
			check_problem(path, &r, 400);
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

/* PUT pn: body (' for ") with its interface at 127.0.0.3, where it asks from. */
static void put_pn(struct fx *f, const char *body, long status)
{
	char b[512];

	TFMT(b, "{'interfaces':[{'mac':'52:54:00:bb:00:01','ip':'127.0.0.3'}]%s%s",
	     body[1] == '}' ? "" : ",", body + 1);
	must(f, "PUT", "/api/v1/nodes/pn", b, status);
}

static void test_precedence(void **state)
{
	struct fx *f = *state;
	struct buf s;
	char line[512], want[512];

	seed_objects(f);
	for (size_t i = 0; i < NELEM(prec_cases); i++) {
		const struct prec_case *c = &prec_cases[i];

		/* The same node, replaced: the boot cache must not hand out the old script. */
		put_pn(f, c->node, i == 0 ? 201 : 200);
		script(f, "127.0.0.3", "name=pn", &s);
		line_of(buf_str(&s), "# profile ", line, sizeof(line));
		if (strcmp(line, c->header) != 0)
			fail_msg("%s: \"%s\", want \"%s\"", c->node, line, c->header);
		TFMT(want,
		     "kernel %s initrd=initrd %s%sBOOTIF=01-52-54-00-bb-00-01 corral.node=pn ",
		     c->kernel, c->params ? c->params : "", c->params ? " " : "");
		line_of(buf_str(&s), "kernel ", line, sizeof(line));
		if (strncmp(line, want, strlen(want)) != 0)
			fail_msg("%s: \"%s\", want \"%s...\"", c->node, line, want);
		buf_clear(&s);
	}
	/* A group's profile changed: seen at the next request. */
	put_pn(f, "{'groups':['g-a']}", 200);
	script(f, "127.0.0.3", "name=pn", &s);
	assert_non_null(strstr(buf_str(&s), "(from group g-a)"));
	buf_clear(&s);
	must(f, "PATCH", "/api/v1/groups/g-a", "{'profile':'p-b'}", 200);
	script(f, "127.0.0.3", "name=pn", &s);
	assert_non_null(strstr(buf_str(&s), "# profile p-b (from group g-a)\n"));
	buf_clear(&s);
	/* An image's parameters changed: seen at once too. */
	put_pn(f, "{}", 200);
	must(f, "PATCH", "/api/v1/images/img1", "{'params':'console=ttyS9'}", 200);
	script(f, "127.0.0.3", "name=pn", &s);
	assert_non_null(strstr(buf_str(&s), " initrd=initrd console=ttyS9 rd.default "));
	buf_clear(&s);

	/* No profile anywhere: a script that says so, waits and asks again. */
	must(f, "PATCH", "/api/v1/defaults", "{'profile':null}", 200);
	script(f, "127.0.0.3", "name=pn", &s);
	const char *const nowant[] = {
		"#!ipxe",
		"# Corral: node pn has no boot profile (none on the node, its groups or the "
		"defaults)",
		"echo Corral: node pn has no boot profile (none on the node, its groups or the "
		"defaults); asking again in 7 s",
		":wait",
		"sleep 7",
		"chain --replace --autofree " ADV
		"/boot/v1/bootscript?name=pn&arch=${buildarch} || goto wait",
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
		"/boot/v1/bootscript?mac=52:54:00:ee:00:01&arch=${buildarch} || goto wait",
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

	/*
	 * Unknown name or nid: refused as a known one asked from elsewhere is
	 * (no node holds the address), so names cannot be probed; nothing is
	 * discovered.
	 */
	static const char *const others[] = {"name=ghost", "nid=99"};
	for (size_t i = 0; i < NELEM(others); i++) {
		char path[64];
		struct res r;

		TFMT(path, "/boot/v1/bootscript?%s", others[i]);
		node_get(f, NULL, path, &r);
		/* BSS's path: problem details (docs/openchami.md) */
		check_problem(path, &r, 403);
		assert_non_null(strstr(buf_str(&r.body), "not this node's address"));
		res_free(&r);
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

		TFMT(q, "name=n1&retry=%u", cases[i].retry);
		script(f, "127.0.0.2", q, &s);
		TFMT(want, "sleep %u", cases[i].sleep);
		line_of(buf_str(&s), "sleep ", line, sizeof(line));
		assert_string_equal(line, want);
		TFMT(want, "echo Corral: boot step failed, retrying in %u s (attempt %u)",
		     cases[i].sleep, cases[i].retry + 1);
		line_of(buf_str(&s), "echo Corral: boot step", line, sizeof(line));
		assert_string_equal(line, want);
		TFMT(want,
		     "chain --replace --autofree " ADV
		     "/boot/v1/bootscript?name=n1&retry=%u&arch=${buildarch} || goto retry",
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
		TFMT(want, "profile p-node (node), retry %u", cases[i].retry);
		assert_string_equal(
			json_string_value(json_object_get(json_array_get(ev, i), "detail")), want);
	}
	json_decref(ev);
}

/* ---- identity (ident.h) ---------------------------------------------------- */

/*
 * A MAC with no lease: its script goes to an address nobody holds.  Once
 * its lease is stored (the hook's write), only the lease's address gets it,
 * at once: the verdict remembered for the other address is dropped with
 * the lease generation.  Then the lease moves, and the first address is
 * the node's again.
 */
static void test_tie_follows_leases(void **state)
{
	struct fx *f = *state;
	struct buf s;

	seed_objects(f);
	seed_n1(f);
	for (int i = 0; i < 2; i++) { /* the second from the remembered verdict */
		script(f, "127.0.0.9", "mac=52:54:00:aa:00:11", &s);
		assert_non_null(strstr(buf_str(&s), "/cloud-init/"));
		buf_clear(&s);
	}
	lease(f, "52:54:00:aa:00:11", "127.0.0.8");
	for (int i = 0; i < 2; i++) {
		script(f, "127.0.0.9", "mac=52:54:00:aa:00:11", &s);
		assert_null(strstr(buf_str(&s), "/cloud-init/"));
		assert_null(strstr(buf_str(&s), "\nkernel "));
		assert_non_null(strstr(buf_str(&s), "52:54:00:aa:00:11's DHCP lease is 127.0.0.8"));
		assert_non_null(strstr(
			buf_str(&s),
			"chain --replace --autofree " ADV
			"/boot/v1/bootscript?mac=52:54:00:aa:00:11&arch=${buildarch} || goto wait"));
		buf_clear(&s);
	}
	script(f, "127.0.0.8", "mac=52:54:00:aa:00:11", &s);
	assert_non_null(strstr(buf_str(&s), "/cloud-init/"));
	buf_clear(&s);
	lease(f, "52:54:00:aa:00:11", "127.0.0.9");
	script(f, "127.0.0.9", "mac=52:54:00:aa:00:11", &s);
	assert_non_null(strstr(buf_str(&s), "/cloud-init/"));
	buf_clear(&s);
	/* The refusals are on n1's timeline. */
	json_t *ev = get_json(f, "/api/v1/nodes/n1/events");
	size_t refused = 0, i;
	json_t *e;
	json_array_foreach(ev, i, e)
		refused += strncmp(json_string_value(json_object_get(e, "detail")),
				   "refused: ", 9) == 0;
	assert_true(refused >= 1);
	json_decref(ev);
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
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'off','enabled':false,'interfaces':[{'mac':'52:54:00:cc:00:01',"
	     "'ip':'127.0.0.4'}]}",
	     201);
	script(f, "127.0.0.2", "name=n1", &s);
	buf_clear(&s);
	script(f, "127.0.0.2", "name=n1", &s); /* from the cache */
	buf_clear(&s);
	script(f, "127.0.0.4", "name=off", &s);
	buf_clear(&s);
	lease(f, "52:54:00:aa:00:01", "127.0.0.2");
	script(f, "127.0.0.9", "mac=52:54:00:aa:00:01", &s); /* not n1's lease: refused */
	buf_clear(&s);
	script(f, NULL, "mac=52:54:00:ee:00:01", &s);
	buf_clear(&s);
	must(f, "PATCH", "/api/v1/defaults", "{'profile':null}", 200);
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'bare','interfaces':[{'mac':'52:54:00:cc:00:02'}]}", 201);
	script(f, NULL, "mac=52:54:00:cc:00:02", &s);
	buf_clear(&s);
	/* a profile with an x86_64 image only, asked for by an arm64 node */
	must(f, "POST", "/api/v1/images",
	     "{'name':'img-x86','kernel':'images/k/vmlinuz','initrd':'images/k/initrd.img',"
	     "'arch':'x86_64'}",
	     201);
	must(f, "POST", "/api/v1/profiles", "{'name':'p-x86','image':'img-x86'}", 201);
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'armn','profile':'p-x86','interfaces':[{'mac':'52:54:00:cc:00:03'}]}", 201);
	script(f, NULL, "mac=52:54:00:cc:00:03&arch=arm64", &s);
	assert_non_null(strstr(buf_str(&s), "no image for aarch64 in profile p-x86"));
	buf_clear(&s);
	assert_int_equal(node_get(f, NULL, "/files/extra/readme.txt", &r), 200);
	res_free(&r);

	static const char *const want[] = {
		"corral_bootscripts_total{kind=\"node\"} 2\n",
		"corral_bootscripts_total{kind=\"unknown\"} 1\n",
		"corral_bootscripts_total{kind=\"disabled\"} 1\n",
		"corral_bootscripts_total{kind=\"noprofile\"} 1\n",
		"corral_bootscripts_total{kind=\"refused\"} 1\n",
		"corral_bootscripts_total{kind=\"noimage\"} 1\n",
		"corral_bootscript_cache_total{result=\"hit\"} 1\n",
		"corral_file_bytes_total 6\n",
		"corral_nodes{state=\"booting\"} 1\n",
		"corral_nodes_disabled 1\n",
		"corral_http_requests_total{route=\"bootscript\",code=\"200\"} 7\n",
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

/* ---- fixed bugs ------------------------------------------------------------------- */

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
	script(f, "127.0.0.2", "nid=%2B7", &s);
	line_of(buf_str(&s), "chain ", line, sizeof(line));
	buf_clear(&s);
	const char *url = strstr(line, "/boot/v1/bootscript?");
	assert_non_null(url);
	char path[256];
	TFMT(path, "%.*s", (int)strcspn(url, " "), url);
	node_get(f, "127.0.0.2", path, &r);
	if (r.status != 200)
		fail_msg("re-chain to %s: %ld %s", path, r.status, buf_str(&r.body));
	res_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_script_for_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tie_follows_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_metrics, setup, teardown),
	};
	/* Tests of bugs found here and fixed since. */
	const struct CMUnitTest fixed_bugs[] = {
		cmocka_unit_test_setup_teardown(test_nid_rechain, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("serve", tests, NULL, NULL);
	rc |= cmocka_run_group_tests_name("serve: fixed bugs", fixed_bugs, NULL, NULL);
	curl_global_cleanup();
	return rc != 0;
}
