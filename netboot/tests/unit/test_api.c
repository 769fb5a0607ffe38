/*
 * Unit tests for api (the operator REST API, api.c) run in-process: each
 * test wires a struct app the way corrald.c does (a real SQLite store in a
 * fresh temporary directory, the events writer, metrics, boot cache, hub,
 * a configuration from config_defaults() with its paths in that directory
 * and an advertise URL, a seed key), starts http_server_start() on
 * 127.0.0.1 port 0 with the real route table (routes_table) and auth callback
 * (routes_auth), and drives it with libcurl.  Assertions are on what an
 * operator sees: status codes, the JSON error body ({code, message, field}),
 * the objects read back.
 *
 * Covered: node create/get/list/put/patch/delete round trip; field
 * validation (400 malformed JSON, 422 naming the field, 409 conflicts, 404,
 * 405, 413, 415) with the store read back unchanged after every refused
 * write (and its generation counter not moved); all-or-nothing bulk import
 * and its OpenCHAMI field names; images, profiles and groups with their
 * reference and "in use" checks; defaults; list filters; token scopes (read
 * token: GETs pass, every write 403, admin-only routes 403; 401 without a
 * valid token); tokens made and revoked through the API; discovered
 * machines and adopt; the bootscript and cloud-init previews; status.
 *
 * Not covered here: the Redfish routes (credentials, discovery, BMCs, power,
 * boot) need a Redfish worker and BMCs to talk to, so app.redfish stays
 * NULL (the integration tests run them against corral-vbmc); the live
 * stream (/api/v1/stream) holds its connection open (test_stream.py);
 * configuration reload (SIGHUP) lives in corrald.c's main.  The node-facing
 * side is test_serve.c (the same fixture: appfix.h).
 *
 * Tests of bugs found here and fixed since (they failed before the fix): the error for "?limit=5&offset=x" names the wrong field.
 */
#include <errno.h>
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
#include "log.h"

#include "appfix.h"

/* ---- the fixture (appfix.h), with a read token too ----------------------- */

static int setup(void **state)
{
	struct fx *f;

	if (fx_new("/tmp/test_api.XXXXXX", NULL, &f) < 0)
		return -1;
	if (fx_token(f, "reader", AUTH_SCOPE_READ, f->reader) < 0) {
		fx_free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* ---- checks -------------------------------------------------------------- */

/* r is an error answer: status, code, and field (NULL: none named). */
static void check_error(const char *what, const struct res *r, long status, const char *code,
			const char *field)
{
	json_t *e = json_object_get(r->json, "error");
	const char *c = json_string_value(json_object_get(e, "code"));
	const char *m = json_string_value(json_object_get(e, "message"));
	const char *fl = json_string_value(json_object_get(e, "field"));

	if (r->status != status)
		fail_msg("%s: status %ld, want %ld: %s", what, r->status, status,
			 buf_str(&r->body));
	if (c == NULL || strcmp(c, code) != 0)
		fail_msg("%s: code %s, want %s", what, c ? c : "(none)", code);
	if (m == NULL || m[0] == '\0')
		fail_msg("%s: no message", what);
	if (field == NULL && fl != NULL)
		fail_msg("%s: field %s, want none", what, fl);
	if (field != NULL && (fl == NULL || strcmp(fl, field) != 0))
		fail_msg("%s: field %s, want %s (%s)", what, fl ? fl : "(none)", field, m);
	/* A 422 message starts with the field it blames. */
	if (status == 422 && field != NULL &&
	    (strncmp(m, field, strlen(field)) != 0 || m[strlen(field)] != ':'))
		fail_msg("%s: message \"%s\" does not start with %s:", what, m, field);
}

/* Everything an operator can list, to compare before and after a refused write. */
static json_t *snapshot(struct fx *f)
{
	static const char *const paths[] = {"/api/v1/nodes",    "/api/v1/groups",
					    "/api/v1/images",   "/api/v1/profiles",
					    "/api/v1/defaults", "/api/v1/discovered"};
	json_t *s = json_object();

	for (size_t i = 0; i < NELEM(paths); i++)
		json_object_set_new(s, paths[i], get_json(f, paths[i]));
	return s;
}

static void check_unchanged(const char *what, struct fx *f, json_t *before, uint64_t gen)
{
	json_t *after = snapshot(f);

	if (!json_equal(before, after)) {
		char *a = json_dumps(before, JSON_COMPACT), *b = json_dumps(after, JSON_COMPACT);
		fail_msg("%s: the store changed\nbefore %s\nafter  %s", what, a, b);
	}
	if (store_generation(f->a.store) != gen)
		fail_msg("%s: store generation moved", what);
	json_decref(after);
}

/* A copy of o without the keys given (NULL-terminated). */
static json_t *without(json_t *o, ...)
{
	json_t *c = json_deep_copy(o);
	va_list ap;
	const char *k;

	va_start(ap, o);
	while ((k = va_arg(ap, const char *)) != NULL)
		json_object_del(c, k);
	va_end(ap);
	return c;
}

static void assert_json_eq(const char *what, json_t *got, json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("%s:\ngot  %s\nwant %s", what, g, w);
	}
}

/* The names in a JSON array of nodes, comma-separated. */
static void names_of(json_t *list, char *out, size_t outlen)
{
	size_t i, len = 0;
	json_t *n;

	out[0] = '\0';
	json_array_foreach(list, i, n) {
		int k = snprintf(out + len, outlen - len, "%s%s", i ? "," : "",
				 json_string_value(json_object_get(n, "name")));
		assert_true(k > 0 && (size_t)k < outlen - len);
		len += (size_t)k;
	}
}

/* Image img1, profile p1 (on it), and nodes n1, n2 with one interface each. */
static void seed(struct fx *f)
{
	must(f, "POST", "/api/v1/images",
	     "{'name':'img1','kernel':'images/k/vmlinuz','initrd':'images/k/initrd.img',"
	     "'params':'console=ttyS0'}",
	     201);
	must(f, "POST", "/api/v1/profiles", "{'name':'p1','image':'img1','params':'quiet'}", 201);
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'n1','nid':1,'interfaces':[{'mac':'52:54:00:aa:00:01','ip':'10.0.0.1'}]}",
	     201);
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'n2','nid':2,'interfaces':[{'mac':'52:54:00:aa:00:02','ip':'10.0.0.2'}]}",
	     201);
}

/* ---- nodes: the round trip ------------------------------------------------ */

static void test_node_round_trip(void **state)
{
	struct fx *f = *state;
	struct res r;
	json_t *got, *want, *list, *prev;

	assert_int_equal(call(f, "POST", "/api/v1/nodes",
			      "{'name':'x1000c0s0b0n0','nid':7,'arch':'aarch64','role':'compute',"
			      "'groups':['rack1','compute'],'params':'console=ttyS0',"
			      "'interfaces':[{'mac':'52-54-00-AA-BB-01','ip':'10.0.0.11'},"
			      "{'mac':'5254.00aa.bb02'}],'metadata':{'rack':1},"
			      "'user_data':'#cloud-config\\nhostname: a\\n','ipxe_efi':'ipxe.efi'}",
			      &r),
			 201);
	assert_non_null(r.json);
	/* What the operator sent, normalised, with the server's fields. */
	want = json_loads(
		"{\"name\":\"x1000c0s0b0n0\",\"nid\":7,\"arch\":\"aarch64\","
		"\"role\":\"compute\",\"groups\":[\"rack1\",\"compute\"],"
		"\"enabled\":true,\"profile\":null,\"params\":\"console=ttyS0\","
		"\"interfaces\":[{\"mac\":\"52:54:00:aa:bb:01\",\"ip\":\"10.0.0.11\"},"
		"{\"mac\":\"52:54:00:aa:bb:02\",\"ip\":null}],\"metadata\":{\"rack\":1},"
		"\"user_data\":\"#cloud-config\\nhostname: a\\n\",\"ipxe_efi\":\"ipxe.efi\","
		"\"state\":\"new\",\"last_event\":null}",
		0, NULL);
	assert_non_null(want);
	got = without(r.json, "created", "updated", NULL);
	assert_json_eq("created node", got, want);
	assert_true(json_is_string(json_object_get(r.json, "created")));
	json_decref(got);
	json_decref(want);

	/* GET and the list say the same as the create answer. */
	prev = get_json(f, "/api/v1/nodes/x1000c0s0b0n0");
	assert_json_eq("GET after POST", prev, r.json);
	list = get_json(f, "/api/v1/nodes");
	assert_int_equal(json_array_size(list), 1);
	assert_json_eq("list after POST", json_array_get(list, 0), r.json);
	json_decref(list);
	res_free(&r);

	/* The groups named were created, with the node as a member. */
	got = get_json(f, "/api/v1/groups/rack1");
	want = json_pack("[s]", "x1000c0s0b0n0");
	assert_json_eq("rack1 members", json_object_get(got, "members"), want);
	json_decref(want);
	json_decref(got);

	/* GET → PUT of the same object (read-only fields included) changes nothing. */
	char *text = json_dumps(prev, JSON_COMPACT);
	struct rq q = {.method = "PUT",
		       .path = "/api/v1/nodes/x1000c0s0b0n0",
		       .token = f->admin,
		       .body = text};
	assert_int_equal(send_rq(f, &q, &r), 200);
	free(text);
	got = without(r.json, "updated", NULL);
	want = without(prev, "updated", NULL);
	assert_json_eq("PUT of a GET", got, want);
	json_decref(got);
	json_decref(want);
	res_free(&r);

	/* PATCH changes only what it names. */
	assert_int_equal(call(f, "PATCH", "/api/v1/nodes/x1000c0s0b0n0",
			      "{'role':'login','enabled':false}", &r),
			 200);
	got = without(r.json, "updated", "role", "enabled", NULL);
	want = without(prev, "updated", "role", "enabled", NULL);
	assert_json_eq("PATCH keeps the rest", got, want);
	assert_string_equal(json_string_value(json_object_get(r.json, "role")), "login");
	assert_true(json_is_false(json_object_get(r.json, "enabled")));
	json_decref(got);
	json_decref(want);
	res_free(&r);

	/* PUT replaces: fields left out take their defaults. */
	assert_int_equal(call(f, "PUT", "/api/v1/nodes/x1000c0s0b0n0",
			      "{'interfaces':[{'mac':'52:54:00:aa:bb:01'}]}", &r),
			 200);
	got = without(r.json, "created", "updated", NULL);
	want = json_loads("{\"name\":\"x1000c0s0b0n0\",\"nid\":null,\"arch\":\"x86_64\","
			  "\"role\":\"\",\"groups\":[],\"enabled\":true,\"profile\":null,"
			  "\"params\":\"\",\"interfaces\":[{\"mac\":\"52:54:00:aa:bb:01\","
			  "\"ip\":null}],\"metadata\":{},\"user_data\":\"\","
			  "\"ipxe_efi\":\"snponly.efi\",\"state\":\"new\",\"last_event\":null}",
			  0, NULL);
	assert_json_eq("PUT with defaults", got, want);
	assert_json_eq("created kept", json_object_get(r.json, "created"),
		       json_object_get(prev, "created"));
	json_decref(got);
	json_decref(want);
	json_decref(prev);
	res_free(&r);
	got = get_json(f, "/api/v1/groups/rack1");
	assert_int_equal(json_array_size(json_object_get(got, "members")), 0);
	json_decref(got);

	/* PUT of a new name creates (201), then replaces (200). */
	must(f, "PUT", "/api/v1/nodes/n2", "{'role':'spare'}", 201);
	must(f, "PUT", "/api/v1/nodes/n2", "{'role':'spare'}", 200);
	list = get_json(f, "/api/v1/nodes");
	char names[256];
	names_of(list, names, sizeof(names));
	assert_string_equal(names, "n2,x1000c0s0b0n0");
	json_decref(list);

	/* DELETE: 204 with no body, then it is gone. */
	assert_int_equal(call(f, "DELETE", "/api/v1/nodes/x1000c0s0b0n0", NULL, &r), 204);
	assert_int_equal(r.body.len, 0);
	res_free(&r);
	assert_int_equal(call(f, "GET", "/api/v1/nodes/x1000c0s0b0n0", NULL, &r), 404);
	check_error("GET deleted", &r, 404, "not_found", NULL);
	res_free(&r);
	assert_int_equal(call(f, "DELETE", "/api/v1/nodes/x1000c0s0b0n0", NULL, &r), 404);
	check_error("DELETE deleted", &r, 404, "not_found", NULL);
	res_free(&r);
	list = get_json(f, "/api/v1/nodes");
	names_of(list, names, sizeof(names));
	assert_string_equal(names, "n2");
	json_decref(list);
	/* Its MAC is free again. */
	must(f, "POST", "/api/v1/nodes", "{'name':'n3','interfaces':[{'mac':'52:54:00:aa:bb:01'}]}",
	     201);
}

/* ---- nodes: refused writes ------------------------------------------------ */

struct bad_case {
	const char *what;
	const char *method, *path, *body; /* body with ' for " */
	long status;
	const char *code, *field;
};

#define NODES "/api/v1/nodes"
static const struct bad_case node_bad[] = {
	/* 400: not JSON, or not an object */
	{"malformed JSON", "POST", NODES, "{'name': ", 400, "bad_request", NULL},
	{"trailing garbage", "POST", NODES, "{'name':'n3'} x", 400, "bad_request", NULL},
	{"duplicate key", "POST", NODES, "{'name':'n3','name':'n4'}", 400, "bad_request", NULL},
	{"array body", "POST", NODES, "[{'name':'n3'}]", 400, "bad_request", NULL},
	{"string body", "POST", NODES, "'n3'", 400, "bad_request", NULL},
	{"empty body", "POST", NODES, "", 400, "bad_request", NULL},
	{"PUT malformed", "PUT", NODES "/n1", "{", 400, "bad_request", NULL},
	/* 422: one field named */
	{"no name", "POST", NODES, "{}", 422, "invalid_field", "name"},
	{"name not a string", "POST", NODES, "{'name':3}", 422, "invalid_field", "name"},
	{"name starts with '-'", "POST", NODES, "{'name':'-n3'}", 422, "invalid_field", "name"},
	{"name with '/'", "POST", NODES, "{'name':'a/b'}", 422, "invalid_field", "name"},
	{"name with a space", "POST", NODES, "{'name':'a b'}", 422, "invalid_field", "name"},
	{"name of 64", "POST", NODES,
	 "{'name':'a123456789012345678901234567890123456789012345678901234567890123'}", 422,
	 "invalid_field", "name"},
	{"MAC too short", "POST", NODES, "{'name':'n3','interfaces':[{'mac':'52:54:00:aa:00'}]}",
	 422, "invalid_field", "interfaces[0].mac"},
	{"MAC not hex", "POST", NODES, "{'name':'n3','interfaces':[{'mac':'zz:54:00:aa:00:03'}]}",
	 422, "invalid_field", "interfaces[0].mac"},
	{"MAC mixed separators", "POST", NODES,
	 "{'name':'n3','interfaces':[{'mac':'52:54-00:aa:00:03'}]}", 422, "invalid_field",
	 "interfaces[0].mac"},
	{"MAC missing", "POST", NODES, "{'name':'n3','interfaces':[{'ip':'10.0.0.3'}]}", 422,
	 "invalid_field", "interfaces[0].mac"},
	{"second MAC bad", "POST", NODES,
	 "{'name':'n3','interfaces':[{'mac':'52:54:00:aa:00:03'},{'mac':'nope'}]}", 422,
	 "invalid_field", "interfaces[1].mac"},
	{"MAC twice in one node", "POST", NODES,
	 "{'name':'n3','interfaces':[{'mac':'52:54:00:aa:00:03'},{'mac':'52-54-00-AA-00-03'}]}",
	 422, "invalid_field", "interfaces[1].mac"},
	{"IP twice in one node", "POST", NODES,
	 "{'name':'n3','interfaces':[{'mac':'52:54:00:aa:00:03','ip':'10.0.0.9'},"
	 "{'mac':'52:54:00:aa:00:04','ip':'10.0.0.9'}]}",
	 422, "invalid_field", "interfaces[1].ip"},
	{"bad IP", "POST", NODES,
	 "{'name':'n3','interfaces':[{'mac':'52:54:00:aa:00:03','ip':'10.0.0.256'}]}", 422,
	 "invalid_field", "interfaces[0].ip"},
	{"interface field unknown", "POST", NODES,
	 "{'name':'n3','interfaces':[{'mac':'52:54:00:aa:00:03','vlan':3}]}", 422, "invalid_field",
	 "interfaces[0].vlan"},
	{"interface not an object", "POST", NODES,
	 "{'name':'n3','interfaces':['52:54:00:aa:00:03']}", 422, "invalid_field", "interfaces[0]"},
	{"interfaces not an array", "POST", NODES, "{'name':'n3','interfaces':{}}", 422,
	 "invalid_field", "interfaces"},
	{"params with $", "POST", NODES, "{'name':'n3','params':'root=${x}'}", 422, "invalid_field",
	 "params"},
	{"params with ||", "POST", NODES, "{'name':'n3','params':'quiet || shell'}", 422,
	 "invalid_field", "params"},
	{"params with &&", "POST", NODES, "{'name':'n3','params':'a && b'}", 422, "invalid_field",
	 "params"},
	{"params with a newline", "POST", NODES, "{'name':'n3','params':'quiet\\ninitrd x'}", 422,
	 "invalid_field", "params"},
	{"params not a string", "POST", NODES, "{'name':'n3','params':5}", 422, "invalid_field",
	 "params"},
	{"arch", "POST", NODES, "{'name':'n3','arch':'sparc'}", 422, "invalid_field", "arch"},
	{"nid 0", "POST", NODES, "{'name':'n3','nid':0}", 422, "invalid_field", "nid"},
	{"nid over 2^31", "POST", NODES, "{'name':'n3','nid':2147483649}", 422, "invalid_field",
	 "nid"},
	{"nid as a string", "POST", NODES, "{'name':'n3','nid':'7'}", 422, "invalid_field", "nid"},
	{"enabled as a string", "POST", NODES, "{'name':'n3','enabled':'yes'}", 422,
	 "invalid_field", "enabled"},
	{"group twice", "POST", NODES, "{'name':'n3','groups':['a','a']}", 422, "invalid_field",
	 "groups[1]"},
	{"group name bad", "POST", NODES, "{'name':'n3','groups':['ok','bad name']}", 422,
	 "invalid_field", "groups[1]"},
	{"groups not an array", "POST", NODES, "{'name':'n3','groups':'a'}", 422, "invalid_field",
	 "groups"},
	{"role of 64", "POST", NODES,
	 "{'name':'n3','role':'a123456789012345678901234567890123456789012345678901234567890123'}",
	 422, "invalid_field", "role"},
	{"role with a tab", "POST", NODES, "{'name':'n3','role':'a\\tb'}", 422, "invalid_field",
	 "role"},
	{"metadata an array", "POST", NODES, "{'name':'n3','metadata':[]}", 422, "invalid_field",
	 "metadata"},
	{"user_data of no known kind", "POST", NODES, "{'name':'n3','user_data':'hello'}", 422,
	 "invalid_field", "user_data"},
	{"user_data a YAML list", "POST", NODES,
	 "{'name':'n3','user_data':'#cloud-config\\n- a\\n'}", 422, "invalid_field", "user_data"},
	{"ipxe_efi", "POST", NODES, "{'name':'n3','ipxe_efi':'x.efi'}", 422, "invalid_field",
	 "ipxe_efi"},
	{"unknown field", "POST", NODES, "{'name':'n3','colour':'red'}", 422, "invalid_field",
	 "colour"},
	{"unknown profile", "POST", NODES, "{'name':'n3','profile':'nope'}", 422, "invalid_field",
	 "profile"},
	{"PUT name differs from the URL", "PUT", NODES "/n2", "{'name':'n9'}", 422, "invalid_field",
	 "name"},
	{"PUT bad name in the URL", "PUT", NODES "/bad!name", "{}", 422, "invalid_field", "name"},
	{"PATCH bad arch", "PATCH", NODES "/n1", "{'arch':'mips'}", 422, "invalid_field", "arch"},
	/* 409: taken by another node (MACs compared normalised) */
	{"name exists", "POST", NODES, "{'name':'n1'}", 409, "conflict", "name"},
	{"MAC of n1", "POST", NODES, "{'name':'n3','interfaces':[{'mac':'52-54-00-AA-00-01'}]}",
	 409, "conflict", "interfaces[0].mac"},
	{"second MAC is n2's", "POST", NODES,
	 "{'name':'n3','interfaces':[{'mac':'52:54:00:aa:00:03'},{'mac':'525400aa0002'}]}", 409,
	 "conflict", "interfaces[1].mac"},
	{"IP of n1", "POST", NODES,
	 "{'name':'n3','interfaces':[{'mac':'52:54:00:aa:00:03','ip':'10.0.0.1'}]}", 409,
	 "conflict", "interfaces[0].ip"},
	{"NID of n1", "POST", NODES, "{'name':'n3','nid':1}", 409, "conflict", "nid"},
	{"PUT n2 with n1's MAC", "PUT", NODES "/n2", "{'interfaces':[{'mac':'52:54:00:aa:00:01'}]}",
	 409, "conflict", "interfaces[0].mac"},
	{"PATCH n1 with n2's IP", "PATCH", NODES "/n1",
	 "{'interfaces':[{'mac':'52:54:00:aa:00:01','ip':'10.0.0.2'}]}", 409, "conflict",
	 "interfaces[0].ip"},
	{"PATCH n1 with n2's NID", "PATCH", NODES "/n1", "{'nid':2}", 409, "conflict", "nid"},
	/* 404, 405 */
	{"PATCH unknown node", "PATCH", NODES "/n9", "{'role':'x'}", 404, "not_found", NULL},
	{"DELETE unknown node", "DELETE", NODES "/n9", NULL, 404, "not_found", NULL},
	{"POST to a node", "POST", NODES "/n1", "{}", 405, "method_not_allowed", NULL},
	{"DELETE the collection", "DELETE", NODES, NULL, 405, "method_not_allowed", NULL},
	{"no such path", "POST", "/api/v1/nodez", "{}", 404, "not_found", NULL},
};

static void run_bad(struct fx *f, const struct bad_case *cases, size_t n)
{
	json_t *before = snapshot(f);
	uint64_t gen = store_generation(f->a.store);

	for (size_t i = 0; i < n; i++) {
		const struct bad_case *c = &cases[i];
		struct res r;

		call(f, c->method, c->path, c->body, &r);
		check_error(c->what, &r, c->status, c->code, c->field);
		res_free(&r);
		check_unchanged(c->what, f, before, gen);
	}
	json_decref(before);
}

static void test_node_refused(void **state)
{
	struct fx *f = *state;

	seed(f);
	run_bad(f, node_bad, NELEM(node_bad));
}

/* 405 names what the route allows. */
static void test_method_not_allowed_allow(void **state)
{
	struct fx *f = *state;
	struct res r;

	assert_int_equal(call(f, "POST", "/api/v1/nodes/n1", "{}", &r), 405);
	assert_string_equal(r.allow, "GET, HEAD, PUT, PATCH, DELETE");
	res_free(&r);
	assert_int_equal(call(f, "PUT", "/api/v1/defaults/x", "{}", &r), 404);
	res_free(&r);
	assert_int_equal(call(f, "DELETE", "/api/v1/defaults", NULL, &r), 405);
	assert_string_equal(r.allow, "GET, HEAD, PUT, PATCH");
	res_free(&r);
}

/* Body cap (413), content type (415), and the import route's larger cap. */
static void test_body_limits(void **state)
{
	struct fx *f = *state;
	size_t cap = f->cfg->max_body, big = cap + 1;
	char *body = malloc(2 * cap + 64);
	json_t *before;
	uint64_t gen;
	struct res r;

	assert_non_null(body);
	seed(f);
	before = snapshot(f);
	gen = store_generation(f->a.store);

	/* A valid node, padded past the cap with metadata. */
	int k = snprintf(body, 64, "{\"name\":\"n9\",\"metadata\":{\"pad\":\"");
	memset(body + k, 'x', big);
	snprintf(body + k + big - 4, 8, "\"}}");
	struct rq q = {.method = "POST", .path = "/api/v1/nodes", .token = f->admin, .body = body};
	assert_true(strlen(body) > cap);
	send_rq(f, &q, &r);
	check_error("body over max_body", &r, 413, "too_large", NULL);
	res_free(&r);
	check_unchanged("413", f, before, gen);

	/* The same body under the cap goes through. */
	snprintf(body + k + 100, 8, "\"}}");
	send_rq(f, &q, &r);
	assert_int_equal(r.status, 201);
	res_free(&r);
	must(f, "DELETE", "/api/v1/nodes/n9", NULL, 204);
	gen = store_generation(f->a.store);

	/* Content types: only application/json (with parameters) is a JSON body. */
	static const struct {
		const char *ctype;
		long status;
	} types[] = {
		{"text/plain", 415},
		{"application/x-www-form-urlencoded", 415},
		{"application/jsonx", 415},
		{"application/json-patch+json", 415},
		{"application/json; charset=utf-8", 201},
		{"Application/JSON", 201},
	};
	for (size_t i = 0; i < NELEM(types); i++) {
		struct rq t = {.method = "POST",
			       .path = "/api/v1/nodes",
			       .token = f->admin,
			       .body = "{\"name\":\"n9\"}",
			       .ctype = types[i].ctype};
		send_rq(f, &t, &r);
		if (types[i].status == 415) {
			check_error(types[i].ctype, &r, 415, "unsupported_media_type", NULL);
			check_unchanged(types[i].ctype, f, before, gen);
		} else {
			if (r.status != 201)
				fail_msg("%s: %ld %s", types[i].ctype, r.status, buf_str(&r.body));
			must(f, "DELETE", "/api/v1/nodes/n9", NULL, 204);
			gen = store_generation(f->a.store);
		}
		res_free(&r);
	}

	/* /nodes/import has its own cap (64 MiB): a body over max_body is fine. */
	k = snprintf(body, 64, "{\"nodes\":[{\"name\":\"n9\",\"metadata\":{\"pad\":\"");
	memset(body + k, 'y', big);
	snprintf(body + k + big, 8, "\"}}]}");
	struct rq imp = {
		.method = "POST", .path = "/api/v1/nodes/import", .token = f->admin, .body = body};
	send_rq(f, &imp, &r);
	if (r.status != 200)
		fail_msg("import over max_body: %ld %s", r.status, buf_str(&r.body));
	res_free(&r);
	json_t *n = get_json(f, "/api/v1/nodes/n9");
	assert_int_equal(
		strlen(json_string_value(json_object_get(json_object_get(n, "metadata"), "pad"))),
		big);
	json_decref(n);
	json_decref(before);
	free(body);
}

/* ---- bulk import ----------------------------------------------------------- */

static const struct bad_case import_bad[] = {
	{"third node's MAC bad", "POST", NODES "/import",
	 "{'nodes':[{'name':'m1'},{'name':'m2'},{'name':'m3','interfaces':[{'mac':'x'}]}]}", 422,
	 "invalid_field", "nodes[2].interfaces[0].mac"},
	{"second node unknown field", "POST", NODES "/import",
	 "[{'name':'m1'},{'name':'m2','colour':1}]", 422, "invalid_field", "nodes[1].colour"},
	{"second node no name", "POST", NODES "/import", "[{'name':'m1'},{'nid':5}]", 422,
	 "invalid_field", "nodes[1].name"},
	{"a node not an object", "POST", NODES "/import", "{'nodes':[{'name':'m1'},7]}", 422,
	 "invalid_field", "nodes[1]"},
	{"nodes not an array", "POST", NODES "/import", "{'nodes':{}}", 422, "invalid_field",
	 "nodes"},
	{"no nodes key", "POST", NODES "/import", "{'items':[]}", 422, "invalid_field", "nodes"},
	{"malformed", "POST", NODES "/import", "[{'name':'m1'},", 400, "bad_request", NULL},
	{"second node takes n1's MAC", "POST", NODES "/import",
	 "[{'name':'m1','interfaces':[{'mac':'52:54:00:bb:00:01'}]},"
	 "{'name':'m2','interfaces':[{'mac':'52:54:00:aa:00:01'}]}]",
	 409, "conflict", "nodes[1].interfaces[0].mac"},
	{"two new nodes, one MAC", "POST", NODES "/import",
	 "[{'name':'m1','interfaces':[{'mac':'52:54:00:bb:00:01'}]},"
	 "{'name':'m2','interfaces':[{'mac':'52-54-00-bb-00-01'}]}]",
	 409, "conflict", "nodes[1].interfaces[0].mac"},
	{"two new nodes, one NID", "POST", NODES "/import",
	 "[{'name':'m1','nid':50},{'name':'m2','nid':50}]", 409, "conflict", "nodes[1].nid"},
	{"replacing n1 with n2's IP", "POST", NODES "/import",
	 "[{'name':'m1'},{'name':'n1','interfaces':[{'mac':'52:54:00:aa:00:01','ip':'10.0.0.2'}]}]",
	 409, "conflict", "nodes[1].interfaces[0].ip"},
	{"third node unknown profile", "POST", NODES "/import",
	 "[{'name':'m1'},{'name':'m2'},{'name':'m3','profile':'nope'}]", 422, "invalid_field",
	 "nodes[2].profile"},
};

static void test_import(void **state)
{
	struct fx *f = *state;
	struct res r;
	json_t *j, *want;

	seed(f);
	run_bad(f, import_bad, NELEM(import_bad));

	/* One replaced, two created; OpenCHAMI's names translated. */
	assert_int_equal(
		call(f, "POST", NODES "/import",
		     "{'nodes':[{'name':'n1','role':'login','interfaces':[{'mac':'52:54:00:aa:00:01'}]},"
		     "{'name':'m1','profile':'p1'},"
		     "{'xname':'x3000c0s1b0n0','group':'compute','bmc_mac':'52:54:00:cc:00:01',"
		     "'bmc_ip':'10.9.0.1','interfaces':[{'mac_addr':'52:54:00:BB:00:09',"
		     "'ip_addrs':[{'ip_addr':'10.1.0.9'}]}]}]}",
		     &r),
		200);
	want = json_pack("{s:i, s:i}", "created", 2, "replaced", 1);
	assert_json_eq("import counts", r.json, want);
	json_decref(want);
	res_free(&r);
	j = get_json(f, NODES "/x3000c0s1b0n0");
	want = json_loads(
		"{\"groups\":[\"compute\"],\"interfaces\":[{\"mac\":\"52:54:00:bb:00:09\","
		"\"ip\":\"10.1.0.9\"}]}",
		0, NULL);
	assert_json_eq("xname groups", json_object_get(j, "groups"),
		       json_object_get(want, "groups"));
	assert_json_eq("mac_addr/ip_addrs", json_object_get(j, "interfaces"),
		       json_object_get(want, "interfaces"));
	json_decref(want);
	json_decref(j);
	j = get_json(f, NODES "/n1");
	assert_string_equal(json_string_value(json_object_get(j, "role")), "login");
	json_decref(j);
	j = get_json(f, NODES "/m1");
	assert_string_equal(json_string_value(json_object_get(j, "profile")), "p1");
	json_decref(j);

	/* A bare array; an empty one is fine and writes nothing. */
	assert_int_equal(call(f, "POST", NODES "/import", "[{'name':'m2'}]", &r), 200);
	assert_int_equal(json_integer_value(json_object_get(r.json, "created")), 1);
	res_free(&r);
	assert_int_equal(call(f, "POST", NODES "/import", "[]", &r), 200);
	want = json_pack("{s:i, s:i}", "created", 0, "replaced", 0);
	assert_json_eq("empty import", r.json, want);
	json_decref(want);
	res_free(&r);
	/* Both name and xname: xname goes into metadata. */
	must(f, "POST", NODES "/import", "[{'name':'m3','xname':'x1c0s0b0n0'}]", 200);
	j = get_json(f, NODES "/m3");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "metadata"), "xname")),
		"x1c0s0b0n0");
	json_decref(j);
}

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
			  "\"params\":\"console=ttyS0\"}",
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

/* ---- list filters ---------------------------------------------------------- */

struct filter_case {
	const char *query;
	const char *names; /* comma-separated, in name order */
};

static const struct filter_case filter_cases[] = {
	{"", "a1,a2,a3,a4"},
	{"?group=g1", "a1,a2"},
	{"?group=g2", "a2,a3"},
	{"?group=nope", ""},
	{"?arch=aarch64", "a2,a4"},
	{"?arch=x86_64", "a1,a3"},
	{"?state=new", "a3,a4"},
	{"?state=booting", "a1"},
	{"?state=ready", "a2"},
	{"?enabled=false", "a3"},
	{"?enabled=true", "a1,a2,a4"},
	{"?enabled=true&arch=x86_64", "a1"},
	{"?group=g2&state=ready", "a2"},
	{"?group=g1&arch=x86_64&state=booting&enabled=true", "a1"},
	{"?limit=2", "a1,a2"},
	{"?limit=2&offset=1", "a2,a3"},
	{"?offset=3", "a4"},
	{"?limit=0", ""},
	{"?arch=aarch64&limit=1&offset=1", "a4"},
};

static const struct bad_case filter_bad[] = {
	{"state bogus", "GET", NODES "?state=bogus", NULL, 400, "bad_request", "state"},
	{"enabled yes", "GET", NODES "?enabled=yes", NULL, 400, "bad_request", "enabled"},
	{"limit negative", "GET", NODES "?limit=-1", NULL, 400, "bad_request", "limit"},
	{"limit not a number", "GET", NODES "?limit=x", NULL, 400, "bad_request", "limit"},
	{"offset not a number", "GET", NODES "?offset=1x", NULL, 400, "bad_request", "offset"},
	{"events limit 0", "GET", NODES "/a1/events?limit=0", NULL, 400, "bad_request", "limit"},
	{"events of no node", "GET", NODES "/nope/events", NULL, 404, "not_found", NULL},
};

static void test_list_filters(void **state)
{
	struct fx *f = *state;
	struct res r;
	char names[256];

	seed(f);
	must(f, "DELETE", NODES "/n1", NULL, 204);
	must(f, "DELETE", NODES "/n2", NULL, 204);
	must(f, "PUT", "/api/v1/defaults", "{'profile':'p1'}", 200);
	must(f, "POST", NODES,
	     "{'name':'a1','groups':['g1'],'interfaces':[{'mac':'52:54:00:00:00:a1'}]}", 201);
	must(f, "POST", NODES, "{'name':'a2','arch':'aarch64','groups':['g1','g2']}", 201);
	must(f, "POST", NODES, "{'name':'a3','groups':['g2'],'enabled':false}", 201);
	must(f, "POST", NODES, "{'name':'a4','arch':'aarch64'}", 201);
	/* a1 asks for its boot script (booting); a2 phones home (ready). */
	struct rq boot = {.method = "GET", .path = "/boot/v1/bootscript?mac=52:54:00:00:00:a1"};
	assert_int_equal(send_rq(f, &boot, &r), 200);
	res_free(&r);
	struct rq ph = {.method = "POST",
			.path = "/phone-home",
			.body = "instance_id=i-a2&hostname=a2",
			.ctype = "application/x-www-form-urlencoded"};
	assert_int_equal(send_rq(f, &ph, &r), 200);
	res_free(&r);

	/* The list reads its own writes: no wait for the events writer. */
	for (size_t i = 0; i < NELEM(filter_cases); i++) {
		char path[160];
		json_t *list;

		snprintf(path, sizeof(path), NODES "%s", filter_cases[i].query);
		list = get_json(f, path);
		names_of(list, names, sizeof(names));
		if (strcmp(names, filter_cases[i].names) != 0)
			fail_msg("GET %s: [%s], want [%s]", path, names, filter_cases[i].names);
		json_decref(list);
	}
	run_bad(f, filter_bad, NELEM(filter_bad));
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
		snprintf(path, sizeof(path), "/boot/v1/bootscript?mac=52:54:00:ff:00:%02d", i);
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

		snprintf(what, sizeof(what), "read token: %s %s", c->method, c->path);
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
			snprintf(what, sizeof(what), "token %zu: %s %s", i, c->method, c->path);
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
	snprintf(tok, sizeof(tok), "%s", json_string_value(json_object_get(r.json, "token")));
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
	snprintf(ops, sizeof(ops), "%s", json_string_value(json_object_get(r.json, "token")));
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
		snprintf(path, sizeof(path), "/boot/v1/bootscript?mac=%s", macs[i]);
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
	struct rq q = {.method = "GET", .path = "/boot/v1/bootscript?name=n1"};
	assert_int_equal(send_rq(f, &q, &n), 200);
	assert_string_equal(buf_str(&a.body), buf_str(&n.body));
	assert_non_null(strstr(buf_str(&a.body), "corral.node=n1 "));
	res_free(&n);

	/* The cloud-init previews are what the seed URL serves. */
	const char *seed_at = strstr(buf_str(&a.body), "/cloud-init/");
	assert_non_null(seed_at);
	char token[AUTH_SEED_LEN];
	snprintf(token, sizeof(token), "%.*s", AUTH_SEED_LEN - 1, seed_at + 12);
	res_free(&a);
	static const char *const files[] = {"meta-data", "user-data", "vendor-data"};
	for (size_t i = 0; i < NELEM(files); i++) {
		char p1[160], p2[160];
		snprintf(p1, sizeof(p1), NODES "/n1/cloud-init/%s", files[i]);
		snprintf(p2, sizeof(p2), "/cloud-init/%s/%s", token, files[i]);
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
	must(f, "POST", NODES, "{'name':'n3','profile':'p1'}", 201);
	struct rq q = {.method = "GET", .path = "/boot/v1/bootscript?name=n3"};
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

/* ---- fixed bugs ------------------------------------------------------------------- */

/*
 * "?limit=5&offset=x" is refused (400) but the error names "limit":
 * api.c:464 picks the field by which parameter was given, not by which one
 * failed to parse.  What must hold: the field named is the one to blame.
 */
static void test_offset_error_field(void **state)
{
	struct fx *f = *state;
	struct res r;

	call(f, "GET", NODES "?limit=5&offset=x", NULL, &r);
	check_error("limit=5&offset=x", &r, 400, "bad_request", "offset");
	res_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_node_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed_allow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discovered_adopt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_previews, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
	};
	/* Tests of bugs found here and fixed since. */
	const struct CMUnitTest fixed_bugs[] = {
		cmocka_unit_test_setup_teardown(test_offset_error_field, setup, teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("api", tests, NULL, NULL);
	rc |= cmocka_run_group_tests_name("api: fixed bugs", fixed_bugs, NULL, NULL);
	curl_global_cleanup();
	return rc != 0;
}
