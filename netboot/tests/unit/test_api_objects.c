/*
 * Unit tests for api's routes besides the nodes (api.c), in-process
 * against the fixture of appfix.h and apifix.h (see test_api.c).
 *
 * Covered: images, profiles and groups with their reference and "in use"
 * checks; defaults; token scopes (read token: GETs pass, every write 403,
 * admin-only routes 403; 401 without a valid token); tokens made and
 * revoked through the API; discovered machines and adopt; the bootscript
 * and cloud-init previews; status.  Every refused write leaves the store
 * as it was.
 *
 * Not covered here: the live stream (/api/v1/stream) holds its connection
 * open (test_stream.py); the Redfish routes (see test_api.c).
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

#include "apifix.h"

/* ---- images, profiles, groups ---------------------------------------------- */

static const struct bad_case object_bad[] = {
	{"image exists", "POST", "/api/v1/images", "{'name':'img1','kernel':'k','initrd':'i'}", 409,
	 "conflict", "name"},
	{"image without kernel", "POST", "/api/v1/images", "{'name':'img2','initrd':'i'}", 422,
	 "invalid_field", "kernel"},
	{"image without initrd", "POST", "/api/v1/images", "{'name':'img2','kernel':'k'}", 422,
	 "invalid_field", "initrd"},
	{"kernel absolute", "POST", "/api/v1/images",
	 "{'name':'img2','kernel':'/boot/vmlinuz','initrd':'i'}", 422, "invalid_field", "kernel"},
	{"kernel leaves the root", "POST", "/api/v1/images",
	 "{'name':'img2','kernel':'a/../../k','initrd':'i'}", 422, "invalid_field", "kernel"},
	{"kernel ftp URL", "POST", "/api/v1/images",
	 "{'name':'img2','kernel':'ftp://h/k','initrd':'i'}", 422, "invalid_field", "kernel"},
	{"initrd URL with a space", "POST", "/api/v1/images",
	 "{'name':'img2','kernel':'k','initrd':'http://h/a b'}", 422, "invalid_field", "initrd"},
	{"rootfs empty", "POST", "/api/v1/images",
	 "{'name':'img2','kernel':'k','initrd':'i','rootfs':''}", 422, "invalid_field", "rootfs"},
	{"rootfs_sha256 short", "POST", "/api/v1/images",
	 "{'name':'img2','kernel':'k','initrd':'i','rootfs_sha256':'abc'}", 422, "invalid_field",
	 "rootfs_sha256"},
	{"rootfs_sha256 upper case", "POST", "/api/v1/images",
	 "{'name':'img2','kernel':'k','initrd':'i','rootfs_sha256':'"
	 "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855'}",
	 422, "invalid_field", "rootfs_sha256"},
	{"image params with $", "POST", "/api/v1/images",
	 "{'name':'img2','kernel':'k','initrd':'i','params':'root=$root'}", 422, "invalid_field",
	 "params"},
	{"image arch", "POST", "/api/v1/images",
	 "{'name':'img2','kernel':'k','initrd':'i','arch':'riscv64'}", 422, "invalid_field",
	 "arch"},
	{"profile with nothing to boot", "POST", "/api/v1/profiles", "{'name':'p2'}", 422,
	 "invalid_field", "image"},
	{"profile kernel only", "POST", "/api/v1/profiles", "{'name':'p2','kernel':'k'}", 422,
	 "invalid_field", "initrd"},
	{"profile unknown image", "POST", "/api/v1/profiles", "{'name':'p2','image':'nope'}", 422,
	 "invalid_field", "image"},
	{"profile params with ||", "POST", "/api/v1/profiles",
	 "{'name':'p2','image':'img1','params':'a || b'}", 422, "invalid_field", "params"},
	{"profile exists", "POST", "/api/v1/profiles", "{'name':'p1','image':'img1'}", 409,
	 "conflict", "name"},
	{"PATCH profile to nothing", "PATCH", "/api/v1/profiles/p1", "{'image':null}", 422,
	 "invalid_field", "image"},
	{"group unknown profile", "POST", "/api/v1/groups", "{'name':'g2','profile':'nope'}", 422,
	 "invalid_field", "profile"},
	{"group description with a newline", "POST", "/api/v1/groups",
	 "{'name':'g2','description':'a\\nb'}", 422, "invalid_field", "description"},
	{"group user_data not YAML", "POST", "/api/v1/groups",
	 "{'name':'g2','user_data':'#cloud-config\\na: [\\n'}", 422, "invalid_field", "user_data"},
	{"group unknown field", "POST", "/api/v1/groups", "{'name':'g2','nodes':[]}", 422,
	 "invalid_field", "nodes"},
	{"PUT group name differs", "PUT", "/api/v1/groups/g1", "{'name':'g9'}", 422,
	 "invalid_field", "name"},
	{"PATCH unknown image", "PATCH", "/api/v1/images/nope", "{'params':''}", 404, "not_found",
	 NULL},
	{"GET unknown profile", "GET", "/api/v1/profiles/nope", NULL, 404, "not_found", NULL},
	/* delete refused while in use, and unknown */
	{"image used by a profile", "DELETE", "/api/v1/images/img1", NULL, 409, "conflict", NULL},
	{"profile used by a node", "DELETE", "/api/v1/profiles/p1", NULL, 409, "conflict", NULL},
	{"profile used by a group", "DELETE", "/api/v1/profiles/pg", NULL, 409, "conflict", NULL},
	{"profile used by the defaults", "DELETE", "/api/v1/profiles/pd", NULL, 409, "conflict",
	 NULL},
	{"group with members", "DELETE", "/api/v1/groups/g1", NULL, 409, "conflict", NULL},
	{"unknown group", "DELETE", "/api/v1/groups/nope", NULL, 404, "not_found", NULL},
	{"unknown image", "DELETE", "/api/v1/images/nope", NULL, 404, "not_found", NULL},
};

static void test_objects(void **state)
{
	struct fx *f = *state;
	struct res r;
	json_t *j, *want;

	seed(f);
	/* Profiles from kernel/initrd URLs; one on a group, one the default. */
	assert_int_equal(
		call(f, "POST", "/api/v1/profiles",
		     "{'name':'pg','kernel':'https://mirror.test/k','initrd':'http://h/i'}", &r),
		201);
	want = json_loads("{\"name\":\"pg\",\"image\":null,\"kernel\":\"https://mirror.test/k\","
			  "\"initrd\":\"http://h/i\",\"params\":\"\"}",
			  0, NULL);
	j = without(r.json, "created", "updated", NULL);
	assert_json_eq("profile from URLs", j, want);
	json_decref(j);
	json_decref(want);
	res_free(&r);
	must(f, "POST", "/api/v1/profiles", "{'name':'pd','image':'img1'}", 201);
	must(f, "POST", "/api/v1/groups", "{'name':'g1','description':'rack one','profile':'pg'}",
	     201);
	must(f, "PATCH", "/api/v1/nodes/n1", "{'profile':'p1','groups':['g1']}", 200);
	must(f, "PUT", "/api/v1/defaults", "{'profile':'pd'}", 200);

	j = get_json(f, "/api/v1/images/img1");
	want = json_loads("{\"name\":\"img1\",\"arch\":\"x86_64\",\"kernel\":\"images/k/vmlinuz\","
			  "\"initrd\":\"images/k/initrd.img\",\"rootfs\":null,"
			  "\"params\":\"console=ttyS0\",\"rootfs_sha256\":null}",
			  0, NULL);
	json_t *g = without(j, "created", "updated", NULL);
	assert_json_eq("image", g, want);
	json_decref(g);
	json_decref(want);
	json_decref(j);
	j = get_json(f, "/api/v1/groups/g1");
	want = json_loads("{\"name\":\"g1\",\"description\":\"rack one\",\"profile\":\"pg\","
			  "\"metadata\":{},\"user_data\":\"\",\"members\":[\"n1\"]}",
			  0, NULL);
	g = without(j, "created", "updated", NULL);
	assert_json_eq("group", g, want);
	json_decref(g);
	json_decref(want);
	json_decref(j);

	run_bad(f, object_bad, NELEM(object_bad));

	/* The refusal says who uses it. */
	assert_int_equal(call(f, "DELETE", "/api/v1/profiles/p1", NULL, &r), 409);
	assert_non_null(strstr(
		json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
		"node n1"));
	res_free(&r);

	/* The root image's digest is stored and given back. */
	must(f, "PATCH", "/api/v1/images/img1",
	     "{'rootfs_sha256':'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'}",
	     200);
	j = get_json(f, "/api/v1/images/img1");
	assert_string_equal(json_string_value(json_object_get(j, "rootfs_sha256")),
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	json_decref(j);
	must(f, "PATCH", "/api/v1/images/img1", "{'rootfs_sha256':null}", 200);

	/* PATCH keeps what it does not name; PUT of a GET (members included) is fine. */
	must(f, "PATCH", "/api/v1/images/img1", "{'params':'console=ttyS1'}", 200);
	j = get_json(f, "/api/v1/images/img1");
	assert_string_equal(json_string_value(json_object_get(j, "kernel")), "images/k/vmlinuz");
	assert_string_equal(json_string_value(json_object_get(j, "params")), "console=ttyS1");
	json_decref(j);
	j = get_json(f, "/api/v1/groups/g1");
	char *text = json_dumps(j, JSON_COMPACT);
	struct rq q = {
		.method = "PUT", .path = "/api/v1/groups/g1", .token = f->admin, .body = text};
	assert_int_equal(send_rq(f, &q, &r), 200);
	free(text);
	res_free(&r);
	json_decref(j);
	must(f, "PUT", "/api/v1/images/img9", "{'kernel':'k','initrd':'i'}", 201);
	j = get_json(f, "/api/v1/images");
	assert_int_equal(json_array_size(j), 2);
	json_decref(j);

	/* Once nothing uses them, deletes go through, users first. */
	must(f, "PATCH", "/api/v1/nodes/n1", "{'profile':null,'groups':[]}", 200);
	must(f, "DELETE", "/api/v1/groups/g1", NULL, 204);
	must(f, "DELETE", "/api/v1/profiles/pg", NULL, 204);
	must(f, "DELETE", "/api/v1/profiles/p1", NULL, 204);
	must(f, "PATCH", "/api/v1/defaults", "{'profile':null}", 200);
	must(f, "DELETE", "/api/v1/profiles/pd", NULL, 204);
	must(f, "DELETE", "/api/v1/images/img1", NULL, 204);
	must(f, "GET", "/api/v1/images/img1", NULL, 404);
}

/* ---- defaults ------------------------------------------------------------ */

static const struct bad_case defaults_bad[] = {
	{"unknown profile", "PUT", "/api/v1/defaults", "{'profile':'nope'}", 422, "invalid_field",
	 "profile"},
	{"PATCH unknown profile", "PATCH", "/api/v1/defaults", "{'profile':'nope'}", 422,
	 "invalid_field", "profile"},
	{"metadata not an object", "PATCH", "/api/v1/defaults", "{'metadata':'x'}", 422,
	 "invalid_field", "metadata"},
	{"user_data a YAML scalar", "PUT", "/api/v1/defaults",
	 "{'user_data':'#cloud-config\\njust text\\n'}", 422, "invalid_field", "user_data"},
	{"unknown field", "PUT", "/api/v1/defaults", "{'image':'img1'}", 422, "invalid_field",
	 "image"},
	{"malformed", "PUT", "/api/v1/defaults", "{'profile':", 400, "bad_request", NULL},
};

static void test_defaults(void **state)
{
	struct fx *f = *state;
	json_t *j, *want;

	seed(f);
	j = get_json(f, "/api/v1/defaults");
	want = json_loads("{\"profile\":null,\"metadata\":{},\"user_data\":\"\"}", 0, NULL);
	assert_json_eq("empty defaults", j, want);
	json_decref(j);
	json_decref(want);
	must(f, "PUT", "/api/v1/defaults",
	     "{'profile':'p1','metadata':{'site':'a'},'user_data':'#cloud-config\\nx: 1\\n'}", 200);
	run_bad(f, defaults_bad, NELEM(defaults_bad));
	/* PATCH keeps what it does not name. */
	must(f, "PATCH", "/api/v1/defaults", "{'metadata':{'site':'b'}}", 200);
	j = get_json(f, "/api/v1/defaults");
	want = json_loads("{\"profile\":\"p1\",\"metadata\":{\"site\":\"b\"},"
			  "\"user_data\":\"#cloud-config\\nx: 1\\n\"}",
			  0, NULL);
	assert_json_eq("patched defaults", j, want);
	json_decref(j);
	json_decref(want);
	/* PUT replaces: what it leaves out goes back to empty. */
	must(f, "PUT", "/api/v1/defaults", "{'metadata':{}}", 200);
	j = get_json(f, "/api/v1/defaults");
	assert_true(json_is_null(json_object_get(j, "profile")));
	json_decref(j);
}

/* ---- tokens and scopes ----------------------------------------------------- */

struct scope_case {
	const char *method, *path, *body;
	long admin_status; /* what the admin token gets (the read token: 200 or 403) */
};

static const struct scope_case scope_cases[] = {
	{"GET", NODES, NULL, 200},
	{"HEAD", NODES, NULL, 200},
	{"GET", NODES "/n1", NULL, 200},
	{"GET", NODES "/n1/events", NULL, 200},
	{"GET", NODES "/n1/bootscript", NULL, 200},
	{"GET", NODES "/n1/cloud-init/meta-data", NULL, 200},
	{"GET", "/api/v1/groups", NULL, 200},
	{"GET", "/api/v1/images/img1", NULL, 200},
	{"GET", "/api/v1/profiles", NULL, 200},
	{"GET", "/api/v1/defaults", NULL, 200},
	{"GET", "/api/v1/discovered", NULL, 200},
	{"GET", "/api/v1/status", NULL, 200},
	{"GET", "/api/v1/whoami", NULL, 200},
	/* writes */
	{"POST", NODES, "{'name':'n9'}", 201},
	{"PUT", NODES "/n1", "{'role':'x'}", 200},
	{"PATCH", NODES "/n1", "{'role':'y'}", 200},
	{"DELETE", NODES "/n2", NULL, 204},
	{"POST", NODES "/import", "[{'name':'n8'}]", 200},
	{"POST", "/api/v1/groups", "{'name':'g9'}", 201},
	{"PATCH", "/api/v1/images/img1", "{'params':''}", 200},
	{"PUT", "/api/v1/profiles/p9", "{'image':'img1'}", 201},
	{"DELETE", "/api/v1/groups/g9", NULL, 204},
	{"PATCH", "/api/v1/defaults", "{'profile':'p1'}", 200},
	{"DELETE", "/api/v1/discovered/52:54:00:ff:00:01", NULL, 204},
	{"POST", "/api/v1/discovered/52:54:00:ff:00:02/adopt", "{'name':'n7'}", 201},
	/* admin even to read */
	{"GET", "/api/v1/tokens", NULL, 200},
	{"POST", "/api/v1/tokens", "{'name':'t9','scope':'read'}", 201},
	{"GET", "/api/v1/credentials", NULL, 200},
};

static void test_token_scopes(void **state)
{
	struct fx *f = *state;
	struct res r;
	json_t *before;
	uint64_t gen;

	seed(f);
	/* Two discovered machines for the discovered routes. */
	for (int i = 1; i <= 2; i++) {
		char path[80];
		TFMT(path, "/boot/v1/bootscript?mac=52:54:00:ff:00:%02d", i);
		struct rq q = {.method = "GET", .path = path};
		assert_int_equal(send_rq(f, &q, &r), 200);
		res_free(&r);
	}
	before = snapshot(f);
	gen = store_generation(f->a.store);

	/* The read token: every GET of a read route passes, every other request 403. */
	for (size_t i = 0; i < NELEM(scope_cases); i++) {
		const struct scope_case *c = &scope_cases[i];
		int admin_only = strstr(c->path, "/tokens") || strstr(c->path, "/credentials");
		int reading = strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0;
		char what[160];

		TFMT(what, "read token: %s %s", c->method, c->path);
		call_as(f, f->reader, c->method, c->path, c->body, &r);
		if (reading && !admin_only) {
			if (r.status != 200)
				fail_msg("%s: %ld %s", what, r.status, buf_str(&r.body));
		} else if (strcmp(c->method, "HEAD") != 0) {
			check_error(what, &r, 403, "forbidden", NULL);
		}
		res_free(&r);
		check_unchanged(what, f, before, gen);
	}
	/* No token, an unknown one, another scheme: 401 with a Bearer challenge. */
	const char *bad_tokens[] = {NULL, "crl_nope", f->admin + 1, ""};
	for (size_t i = 0; i < NELEM(bad_tokens); i++) {
		for (size_t k = 0; k < NELEM(scope_cases); k++) {
			const struct scope_case *c = &scope_cases[k];
			char what[160];

			if (strcmp(c->method, "HEAD") == 0)
				continue;
			TFMT(what, "token %zu: %s %s", i, c->method, c->path);
			call_as(f, bad_tokens[i], c->method, c->path, c->body, &r);
			check_error(what, &r, 401, "unauthorized", NULL);
			assert_string_equal(r.www_auth, "Bearer");
			res_free(&r);
		}
	}
	struct rq basic = {.method = "GET", .path = NODES, .header = "Authorization: Basic YTpi"};
	send_rq(f, &basic, &r);
	check_error("Basic auth", &r, 401, "unauthorized", NULL);
	res_free(&r);
	check_unchanged("refused tokens", f, before, gen);
	json_decref(before);

	/* The admin token: every case answers as the table says. */
	for (size_t i = 0; i < NELEM(scope_cases); i++) {
		const struct scope_case *c = &scope_cases[i];

		call(f, c->method, c->path, c->body, &r);
		if (r.status != c->admin_status)
			fail_msg("admin: %s %s: %ld, want %ld: %s", c->method, c->path, r.status,
				 c->admin_status, buf_str(&r.body));
		res_free(&r);
	}

	/* whoami tells the scope. */
	call_as(f, f->reader, "GET", "/api/v1/whoami", NULL, &r);
	assert_string_equal(json_string_value(json_object_get(r.json, "scope")), "read");
	res_free(&r);
	call(f, "GET", "/api/v1/whoami", NULL, &r);
	assert_string_equal(json_string_value(json_object_get(r.json, "scope")), "admin");
	res_free(&r);
}

static void test_tokens_api(void **state)
{
	struct fx *f = *state;
	struct res r;
	char tok[AUTH_TOKEN_LEN + 8];

	/* Made through the API: shown once, then works with its scope. */
	assert_int_equal(call(f, "POST", "/api/v1/tokens", "{'name':'ci','scope':'read'}", &r),
			 201);
	assert_string_equal(json_string_value(json_object_get(r.json, "name")), "ci");
	assert_string_equal(json_string_value(json_object_get(r.json, "scope")), "read");
	TFMT(tok, "%s", json_string_value(json_object_get(r.json, "token")));
	assert_int_equal(strncmp(tok, "crl_", 4), 0);
	res_free(&r);
	call_as(f, tok, "GET", "/api/v1/whoami", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(r.json, "scope")), "read");
	res_free(&r);
	call_as(f, tok, "POST", NODES, "{'name':'n1'}", &r);
	check_error("new read token writes", &r, 403, "forbidden", NULL);
	res_free(&r);

	/* Default scope admin; the list never shows a secret. */
	assert_int_equal(call(f, "POST", "/api/v1/tokens", "{'name':'ops'}", &r), 201);
	assert_string_equal(json_string_value(json_object_get(r.json, "scope")), "admin");
	char ops[AUTH_TOKEN_LEN + 8];
	TFMT(ops, "%s", json_string_value(json_object_get(r.json, "token")));
	res_free(&r);
	assert_int_equal(call(f, "GET", "/api/v1/tokens", NULL, &r), 200);
	assert_int_equal(json_array_size(r.json), 4); /* admin, ci, ops, reader */
	assert_null(strstr(buf_str(&r.body), tok));
	assert_null(strstr(buf_str(&r.body), ops));
	assert_null(strstr(buf_str(&r.body), f->admin));
	assert_null(strstr(buf_str(&r.body), "\"token\""));
	res_free(&r);

	static const struct bad_case token_bad[] = {
		{"token name exists", "POST", "/api/v1/tokens", "{'name':'ci'}", 409, "conflict",
		 "name"},
		{"token bad scope", "POST", "/api/v1/tokens", "{'name':'x','scope':'root'}", 422,
		 "invalid_field", "scope"},
		{"token bad name", "POST", "/api/v1/tokens", "{'name':'a b'}", 422, "invalid_field",
		 "name"},
		{"token no name", "POST", "/api/v1/tokens", "{}", 422, "invalid_field", "name"},
		{"revoke unknown", "DELETE", "/api/v1/tokens/nope", NULL, 404, "not_found", NULL},
	};
	for (size_t i = 0; i < NELEM(token_bad); i++) {
		call(f, token_bad[i].method, token_bad[i].path, token_bad[i].body, &r);
		check_error(token_bad[i].what, &r, token_bad[i].status, token_bad[i].code,
			    token_bad[i].field);
		res_free(&r);
	}

	/* Revoked: 401 at once. */
	must(f, "DELETE", "/api/v1/tokens/ci", NULL, 204);
	call_as(f, tok, "GET", "/api/v1/whoami", NULL, &r);
	check_error("revoked token", &r, 401, "unauthorized", NULL);
	res_free(&r);
	call_as(f, ops, "GET", "/api/v1/whoami", NULL, &r);
	assert_int_equal(r.status, 200);
	res_free(&r);
}

/* ---- discovered machines ---------------------------------------------------- */

static void test_discovered_adopt(void **state)
{
	struct fx *f = *state;
	struct res r;
	json_t *j;

	seed(f);
	must(f, "PUT", "/api/v1/defaults", "{'profile':'p1'}", 200);
	/* Two unknown machines ask for boot scripts. */
	static const char *const macs[] = {"52-54-00-EE-00-01", "52:54:00:ee:00:02",
					   "52:54:00:ee:00:01"};
	for (size_t i = 0; i < NELEM(macs); i++) {
		char path[80];
		TFMT(path, "/boot/v1/bootscript?mac=%s", macs[i]);
		struct rq q = {.method = "GET", .path = path};
		assert_int_equal(send_rq(f, &q, &r), 200);
		assert_non_null(strstr(buf_str(&r.body), "is not registered yet"));
		res_free(&r);
	}
	j = get_json(f, "/api/v1/discovered");
	assert_int_equal(json_array_size(j), 2);
	size_t i;
	json_t *d;
	json_array_foreach(j, i, d) {
		const char *mac = json_string_value(json_object_get(d, "mac"));
		assert_string_equal(json_string_value(json_object_get(d, "ip")), "127.0.0.1");
		assert_int_equal(json_integer_value(json_object_get(d, "requests")),
				 strcmp(mac, "52:54:00:ee:00:01") == 0 ? 2 : 1);
	}
	json_decref(j);

	static const struct bad_case adopt_bad[] = {
		{"adopt with interfaces", "POST", "/api/v1/discovered/52:54:00:ee:00:01/adopt",
		 "{'name':'n5','interfaces':[]}", 422, "invalid_field", "interfaces"},
		{"adopt without a name", "POST", "/api/v1/discovered/52:54:00:ee:00:01/adopt", "{}",
		 422, "invalid_field", "name"},
		{"adopt as an existing node", "POST", "/api/v1/discovered/52:54:00:ee:00:01/adopt",
		 "{'name':'n1'}", 409, "conflict", "name"},
		{"adopt undiscovered", "POST", "/api/v1/discovered/52:54:00:ee:00:09/adopt",
		 "{'name':'n5'}", 404, "not_found", NULL},
		{"adopt a non-MAC", "POST", "/api/v1/discovered/nope/adopt", "{'name':'n5'}", 404,
		 "not_found", NULL},
		{"forget undiscovered", "DELETE", "/api/v1/discovered/52:54:00:ee:00:09", NULL, 404,
		 "not_found", NULL},
		{"forget a non-MAC", "DELETE", "/api/v1/discovered/nope", NULL, 404, "not_found",
		 NULL},
	};
	run_bad(f, adopt_bad, NELEM(adopt_bad));

	/* Adopt (any MAC form in the URL): 201 with the node; no longer discovered. */
	assert_int_equal(call(f, "POST", "/api/v1/discovered/52-54-00-EE-00-01/adopt",
			      "{'name':'n5','groups':['g1']}", &r),
			 201);
	assert_string_equal(json_string_value(json_object_get(r.json, "name")), "n5");
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(r.json, "interfaces"), 0), "mac")),
		"52:54:00:ee:00:01");
	res_free(&r);
	j = get_json(f, "/api/v1/discovered");
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "mac")),
			    "52:54:00:ee:00:02");
	json_decref(j);
	/* Its next request boots. */
	struct rq q = {.method = "GET", .path = "/boot/v1/bootscript?mac=52:54:00:ee:00:01"};
	assert_int_equal(send_rq(f, &q, &r), 200);
	assert_non_null(strstr(buf_str(&r.body), "\nboot || goto retry\n"));
	assert_non_null(strstr(buf_str(&r.body), "corral.node=n5 "));
	res_free(&r);
	/* Forget the other. */
	must(f, "DELETE", "/api/v1/discovered/52:54:00:ee:00:02", NULL, 204);
	j = get_json(f, "/api/v1/discovered");
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
}

/* ---- previews and status ---------------------------------------------------- */

static void test_previews(void **state)
{
	struct fx *f = *state;
	struct res a, n;
	json_t *j;

	seed(f);
	must(f, "PATCH", NODES "/n1",
	     "{'profile':'p1','metadata':{'role':'db'},'user_data':'#cloud-config\\nx: 1\\n'}",
	     200);

	/* The preview is the script the node gets, byte for byte. */
	assert_int_equal(call_as(f, f->reader, "GET", NODES "/n1/bootscript", NULL, &a), 200);
	assert_string_equal(a.ctype, "text/plain; charset=utf-8");
	/* n1 asks from its DHCP lease's address, as a node does (ident.h). */
	assert_int_equal(store_lease_set(f->a.store, "52:54:00:aa:00:01", "127.0.0.1",
					 store_now_us() / 1000000 + 3600, "", ""),
			 0);
	struct rq q = {.method = "GET", .path = "/boot/v1/bootscript?name=n1"};
	assert_int_equal(send_rq(f, &q, &n), 200);
	assert_string_equal(buf_str(&a.body), buf_str(&n.body));
	assert_non_null(strstr(buf_str(&a.body), "corral.node=n1 "));
	res_free(&n);

	/* The cloud-init previews are what the seed URL serves. */
	const char *seed_at = strstr(buf_str(&a.body), "/cloud-init/");
	assert_non_null(seed_at);
	char token[AUTH_SEED_LEN];
	TFMT(token, "%.*s", AUTH_SEED_LEN - 1, seed_at + 12);
	res_free(&a);
	static const char *const files[] = {"meta-data", "user-data", "vendor-data"};
	for (size_t i = 0; i < NELEM(files); i++) {
		char p1[160], p2[160];
		TFMT(p1, NODES "/n1/cloud-init/%s", files[i]);
		TFMT(p2, "/cloud-init/%s/%s", token, files[i]);
		assert_int_equal(call_as(f, f->reader, "GET", p1, NULL, &a), 200);
		struct rq c = {.method = "GET", .path = p2};
		assert_int_equal(send_rq(f, &c, &n), 200);
		if (strcmp(buf_str(&a.body), buf_str(&n.body)) != 0)
			fail_msg("%s: preview\n%s\nnode gets\n%s", files[i], buf_str(&a.body),
				 buf_str(&n.body));
		res_free(&a);
		res_free(&n);
	}

	/* Previews record nothing: only the node's own requests are on its timeline. */
	j = get_json(f, NODES "/n1/events");
	assert_int_equal(json_array_size(j), 4); /* bootscript, 3 × cloud-init */
	json_decref(j);
	must(f, "GET", NODES "/n1/bootscript", NULL, 200);
	must(f, "GET", NODES "/n1/cloud-init/user-data", NULL, 200);
	j = get_json(f, NODES "/n1/events");
	assert_int_equal(json_array_size(j), 4);
	json_decref(j);
	j = get_json(f, NODES "/n2");
	assert_string_equal(json_string_value(json_object_get(j, "state")), "new");
	json_decref(j);
	must(f, "GET", NODES "/n2/bootscript", NULL, 200);
	j = get_json(f, NODES "/n2");
	assert_string_equal(json_string_value(json_object_get(j, "state")), "new");
	assert_true(json_is_null(json_object_get(j, "last_event")));
	json_decref(j);

	static const struct bad_case preview_bad[] = {
		{"bootscript of no node", "GET", NODES "/nope/bootscript", NULL, 404, "not_found",
		 NULL},
		{"cloud-init of no node", "GET", NODES "/nope/cloud-init/meta-data", NULL, 404,
		 "not_found", NULL},
		{"no such cloud-init file", "GET", NODES "/n1/cloud-init/network-config", NULL, 404,
		 "not_found", NULL},
	};
	run_bad(f, preview_bad, NELEM(preview_bad));
}

static void test_status(void **state)
{
	struct fx *f = *state;
	struct res r;
	json_t *j, *want;

	seed(f);
	must(f, "PATCH", NODES "/n2", "{'enabled':false}", 200);
	must(f, "POST", NODES,
	     "{'name':'n3','profile':'p1','interfaces':[{'mac':'52:54:00:aa:00:03'}]}", 201);
	struct rq q = {.method = "GET", .path = "/boot/v1/bootscript?mac=52:54:00:aa:00:03"};
	assert_int_equal(send_rq(f, &q, &r), 200);
	res_free(&r);
	struct rq u = {.method = "GET", .path = "/boot/v1/bootscript?mac=52:54:00:ee:00:01"};
	assert_int_equal(send_rq(f, &u, &r), 200);
	res_free(&r);

	j = get_json(f, "/api/v1/status");
	want = json_loads("{\"total\":3,\"new\":2,\"booting\":1,\"ready\":0,\"disabled\":1}", 0,
			  NULL);
	assert_json_eq("status nodes", json_object_get(j, "nodes"), want);
	json_decref(want);
	assert_string_equal(json_string_value(json_object_get(j, "advertise_url")), ADVERTISE);
	assert_int_equal(json_integer_value(json_object_get(j, "images")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "profiles")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "discovered")), 1);
	assert_true(json_integer_value(json_object_get(j, "schema")) >= 1);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discovered_adopt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_previews, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("api_objects", tests, NULL, NULL);
	curl_global_cleanup();
	return rc != 0;
}
