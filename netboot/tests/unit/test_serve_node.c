/*
 * Unit tests for what a booting node asks of serve (serve.c) after its boot
 * script, in-process against the fixture of appfix.h and servefix.h (see
 * test_serve.c): requests that stand for a node come from its own loopback
 * address, so identity by source address is real.
 *
 * Covered: cloud-init meta-data, user-data, vendor-data (phone_home with
 * the node's token) by seed token (valid, tampered, spliced, foreign key,
 * expired, deleted node) and by source address (reserved IP, DHCP lease,
 * not the address of the last boot script, two machines on one address,
 * an unknown machine's lease); phone-home by token only (instance_id,
 * hostname and address refused); /files with
 * Content-Length, HEAD, Range, and `..` in every spelling refused; the boot
 * timeline each of those requests leaves (stages, details, sources, state
 * new → booting → ready).
 *
 * Not covered here: the seed token expiring on its own (the window is at
 * least 54 s of wall time: test_cloudinit.py waits it out; here a token
 * with an expiry in the past is made with the fixture's key instead); the
 * DHCP and TFTP stages (dnsmasq); the 2 s folding of repeated events
 * (events.c, visible only with identical requests within 2 s).
 *
 * Tests of bugs found here and fixed since (they failed before the fix): a
 * deleted node's seed token opens the cloud-init of the next node given its
 * row id; a %00 in a /files path ends it silently.
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

/*
 * vendor-data: cloud-init's phone_home, pointed at phone-home with a seed
 * token of node id (the only way phone-home takes).
 */
static void check_vendor_data(struct fx *f, const char *what, const char *body, int64_t id)
{
	if (strncmp(body, "#cloud-config\n", 14) != 0)
		fail_msg("%s: vendor-data without its header: %s", what, body);
	json_t *j = json_loads(body + 14, 0, NULL);
	json_t *ph = json_object_get(j, "phone_home");
	const char *url = json_string_value(json_object_get(ph, "url"));
	const char *pfx = ADV "/phone-home/";
	int64_t got = 0;
	if (url == NULL || strncmp(url, pfx, strlen(pfx)) != 0 ||
	    auth_seed_check(f->a.seed_key, url + strlen(pfx), (uint32_t)(store_now_us() / 1000000),
			    &got) < 0 ||
	    got != id)
		fail_msg("%s: vendor-data %s", what, body);
	json_t *post = json_pack("[s, s]", "instance_id", "hostname");
	assert_true(json_equal(json_object_get(ph, "post"), post));
	json_decref(post);
	json_decref(j);
}

/* What n1 must get for each file. */
static void check_n1_cloudinit(struct fx *f, const char *what, const char *file, const char *body)
{
	json_t *j, *want;

	if (strcmp(file, "vendor-data") == 0) {
		check_vendor_data(f, what, body, node_id(f, "n1"));
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
	script(f, "127.0.0.2", "name=n1", &s);
	seed_of(buf_str(&s), tok);
	buf_clear(&s);
	must(f, "PATCH", "/api/v1/nodes/n2", "{'profile':'p-node'}", 200);
	script(f, NULL, "mac=52:54:00:aa:00:02", &s);
	seed_of(buf_str(&s), tok2);
	buf_clear(&s);

	/* By token, from any address: what the node's layers give. */
	for (size_t i = 0; i < NELEM(files); i++) {
		TFMT(path, "/cloud-init/%s/%s", tok, files[i]);
		assert_int_equal(node_get(f, "127.0.0.9", path, &r), 200);
		assert_string_equal(r.ctype, "text/plain; charset=utf-8");
		check_n1_cloudinit(f, "by token", files[i], buf_str(&r.body));
		res_free(&r);
	}
	/* n2's own user-data is a script: served as it is. */
	TFMT(path, "/cloud-init/%s/user-data", tok2);
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
	TFMT(path, "/cloud-init/%s/meta-data", made);
	assert_int_equal(node_get(f, NULL, path, &r), 200);
	check_n1_cloudinit(f, "made token", "meta-data", buf_str(&r.body));
	res_free(&r);

	/* Refused: 403 for anything not signed by the key, or past its expiry. */
	char t[8][80];
	TFMT(t[0], "%s", expired);
	TFMT(t[1], "%s", foreign);
	TFMT(t[2], "%s", tok);
	t[2][7] = t[2][7] == '1' ? '2' : '1'; /* node id */
	TFMT(t[3], "%s", tok);
	t[3][15] = t[3][15] == 'f' ? 'e' : 'f'; /* expiry */
	TFMT(t[4], "%s", tok);
	t[4][40] = t[4][40] == '0' ? '1' : '0'; /* signature */
	TFMT(t[5], "%.8s%s", tok2, tok + 8);    /* n2's id, n1's signature */
	TFMT(t[6], "%.54s", tok);               /* short */
	TFMT(t[7], "%.55sz", tok);              /* not hex */
	for (size_t k = 0; k < NELEM(t); k++) {
		for (size_t i = 0; i < NELEM(files); i++) {
			char what[160];
			TFMT(path, "/cloud-init/%s/%s", t[k], files[i]);
			TFMT(what, "bad token %zu %s", k, files[i]);
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
	TFMT(path, "/cloud-init/%s/network-config", tok);
	node_get(f, "127.0.0.2", path, &r);
	check_error("network-config", &r, 404, "not_found", NULL);
	res_free(&r);
	node_get(f, "127.0.0.2", "/cloud-init/network-config", &r);
	check_error("network-config by address", &r, 404, "not_found", NULL);
	res_free(&r);

	/* n1 deleted (not the newest node, so its id is not handed out again): 404. */
	must(f, "DELETE", "/api/v1/nodes/n1", NULL, 204);
	TFMT(path, "/cloud-init/%s/meta-data", tok);
	node_get(f, NULL, path, &r);
	check_error("deleted node", &r, 404, "not_found", NULL);
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
		TFMT(path, "/cloud-init/%s", files[i]);
		assert_int_equal(node_get(f, "127.0.0.2", path, &r), 200);
		check_n1_cloudinit(f, "by address", files[i], buf_str(&r.body));
		res_free(&r);
		/* Nobody at 127.0.0.3 yet. */
		node_get(f, "127.0.0.3", path, &r);
		check_error(path, &r, 404, "not_found", NULL);
		res_free(&r);
	}
	/*
	 * n2 (no IP): fetching a boot script from an address does not make it
	 * n2's (finding 1: two MACs behind one address); a DHCP lease does.
	 */
	must(f, "PATCH", "/api/v1/nodes/n2", "{'profile':'p-node'}", 200);
	script(f, "127.0.0.3", "mac=52:54:00:aa:00:02", &s);
	buf_clear(&s);
	events_flush(f->a.events);
	node_get(f, "127.0.0.3", "/cloud-init/user-data", &r);
	check_error("n2 by its boot script's address", &r, 404, "not_found", NULL);
	res_free(&r);
	lease(f, "52:54:00:aa:00:02", "127.0.0.3");
	assert_int_equal(node_get(f, "127.0.0.3", "/cloud-init/user-data", &r), 200);
	assert_string_equal(buf_str(&r.body), "#!/bin/sh\necho n2\n");
	res_free(&r);
	assert_int_equal(node_get(f, "127.0.0.3", "/cloud-init/meta-data", &r), 200);
	json_t *md = json_loads(buf_str(&r.body), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(md, "local-hostname")), "n2");
	json_decref(md);
	res_free(&r);
	/* n1 without its IP, leased 127.0.0.4: found there, by name too. */
	must(f, "PATCH", "/api/v1/nodes/n1", "{'interfaces':[{'mac':'52:54:00:aa:00:01'}]}", 200);
	node_get(f, "127.0.0.2", "/cloud-init/meta-data", &r);
	check_error("n1 without its IP", &r, 404, "not_found", NULL);
	res_free(&r);
	lease(f, "52:54:00:aa:00:01", "127.0.0.4");
	script(f, "127.0.0.4", "name=n1", &s);
	buf_clear(&s);
	assert_int_equal(node_get(f, "127.0.0.4", "/cloud-init/meta-data", &r), 200);
	check_n1_cloudinit(f, "by its lease", "meta-data", buf_str(&r.body));
	res_free(&r);
	/* Two machines on one address: nobody's data, a 409 that says why. */
	lease(f, "52:54:00:aa:00:02", "127.0.0.4");
	for (size_t i = 0; i < NELEM(files); i++) {
		TFMT(path, "/cloud-init/%s", files[i]);
		node_get(f, "127.0.0.4", path, &r);
		check_error(path, &r, 409, "conflict", NULL);
		assert_non_null(strstr(buf_str(&r.body), "held by 2 machines"));
		assert_null(strstr(buf_str(&r.body), "n1"));
		assert_null(strstr(buf_str(&r.body), "n2"));
		res_free(&r);
	}
	/* An unknown machine's lease alone: no node there. */
	lease(f, "52:54:00:ff:00:09", "127.0.0.5");
	node_get(f, "127.0.0.5", "/cloud-init/meta-data", &r);
	check_error("unknown machine's address", &r, 404, "not_found", NULL);
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

/*
 * Only the token identifies a phone-home (finding 2: "hostname=X" marked any
 * node ready): not instance_id, hostname nor the source address, even
 * n1's own reserved one.
 */
static const struct phone_case phone_cases[] = {
	{"instance_id", "/phone-home", "instance_id=i-n1&hostname=other", "127.0.0.9", 403, NULL},
	{"hostname only", "/phone-home", "hostname=n2", "127.0.0.9", 403, NULL},
	{"cloud-init's full form", "/phone-home",
	 "pub_key_rsa=ssh-rsa+AAAA%2Fx&instance_id=i-n1&hostname=n1&fqdn=n1.cluster", NULL, 403,
	 NULL},
	{"by n1's own address", "/phone-home", "x=1", "127.0.0.2", 403, NULL},
	{"empty form, n1's address", "/phone-home", "", "127.0.0.2", 403, NULL},
	{"by token", "/phone-home/TOKEN", "", "127.0.0.9", 200, "n2"},
	{"token wins over the form", "/phone-home/TOKEN", "instance_id=i-n1", "127.0.0.2", 200,
	 "n2"},
	{"bad token", "/phone-home/00000000", "hostname=n1", "127.0.0.2", 403, NULL},
};

static void test_phone_home(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_SEED_LEN];
	struct buf s;

	seed_layers(f);
	must(f, "PATCH", "/api/v1/nodes/n2", "{'profile':'p-node'}", 200);
	script(f, NULL, "mac=52:54:00:aa:00:02", &s);
	seed_of(buf_str(&s), tok);
	buf_clear(&s);

	for (size_t i = 0; i < NELEM(phone_cases); i++) {
		const struct phone_case *c = &phone_cases[i];
		char path[128];
		struct res r;

		/*
		 * Both nodes back to booting first, so "ready" is this request's
		 * doing (n2 from 127.0.0.7: an address no case phones home from).
		 */
		script(f, "127.0.0.2", "mac=52:54:00:aa:00:01", &s);
		buf_clear(&s);
		script(f, "127.0.0.7", "mac=52:54:00:aa:00:02", &s);
		buf_clear(&s);
		check_state(f, "n1", "booting");
		check_state(f, "n2", "booting");

		if (strcmp(c->path, "/phone-home/TOKEN") == 0)
			TFMT(path, "/phone-home/%s", tok);
		else
			TFMT(path, "%s", c->path);
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
		TFMT(path, "/api/v1/nodes/%s/events", c->node);
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

		TFMT(path, "/files/%s", boot_files[i].path);
		TFMT(len, "%zu", strlen(boot_files[i].content));
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
	const char *method, *path; /* "SEED" + file: the node's seed URL; "PHONE": its phone-home */
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
	{"POST", "/phone-home", NULL, NULL, NULL, "booting"}, /* no token: refused */
	{"POST", "PHONE", NULL, "phone-home", "ready", "ready"},
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
			TFMT(path, "/cloud-init/%s/%s", seed, st->path + 4);
		else if (strcmp(st->path, "PHONE") == 0)
			TFMT(path, "/phone-home/%s", seed);
		else
			TFMT(path, "%s", st->path);
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
	script(f, NULL, "mac=52:54:00:aa:00:02", &s);
	seed_of(buf_str(&s), tok);
	buf_clear(&s);
	must(f, "DELETE", "/api/v1/nodes/n2", NULL, 204);
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'n3','user_data':'#cloud-config\\nsecret: n3\\n'}", 201);

	TFMT(path, "/cloud-init/%s/user-data", tok);
	node_get(f, NULL, path, &r);
	if (r.status == 200 || strstr(buf_str(&r.body), "secret") != NULL)
		fail_msg("deleted n2's token opens n3's user-data: %ld %s", r.status,
			 buf_str(&r.body));
	res_free(&r);
	TFMT(path, "/phone-home/%s", tok);
	struct rq ph = {.method = "POST", .path = path, .body = "", .ctype = "text/plain"};
	send_rq(f, &ph, &r);
	if (r.status == 200)
		fail_msg("deleted n2's token phones home as %s", buf_str(&r.body));
	res_free(&r);
	check_state(f, "n3", "new");
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
		cmocka_unit_test_setup_teardown(test_cloudinit_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cloudinit_by_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_phone_home, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_from_strangers, setup, teardown),
	};
	/* Tests of bugs found here and fixed since. */
	const struct CMUnitTest fixed_bugs[] = {
		cmocka_unit_test_setup_teardown(test_token_of_reused_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_in_path, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("serve_node", tests, NULL, NULL);
	rc |= cmocka_run_group_tests_name("serve_node: fixed bugs", fixed_bugs, NULL, NULL);
	curl_global_cleanup();
	return rc != 0;
}
