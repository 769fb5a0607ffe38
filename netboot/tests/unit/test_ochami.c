/*
 * Unit tests for ochami.c's pure helpers, table-driven: which service a
 * path belongs to, the RFC 7807 body BSS and SMD answer errors with (and
 * Corral's own shape everywhere else), which paths read an untyped body as
 * JSON, node xnames, and the JWT envelope `ochami` sends a Corral token
 * in.  The handlers themselves are driven over HTTP by the integration
 * tests (netboot/tests/integ/test_ochami_*.py).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ochami.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_service_of(void **state)
{
	static const struct {
		const char *path;
		enum ochami_service want;
	} cases[] = {
		{"/boot/v1/bootparameters", OCHAMI_BSS},
		{"/boot/v1", OCHAMI_BSS},
		{"/boot/v1x/bootscript", OCHAMI_NONE},
		{"/hsm/v2/State/Components", OCHAMI_SMD},
		{"/hsm/v20", OCHAMI_NONE},
		{"/cloud-init/admin/groups", OCHAMI_CI},
		{"/cloud-initx", OCHAMI_NONE},
		{"/api/v1/nodes", OCHAMI_NONE},
		{NULL, OCHAMI_NONE},
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		if (ochami_service_of(cases[i].path) != cases[i].want)
			fail_msg("%s: %d, want %d", cases[i].path ? cases[i].path : "NULL",
				 ochami_service_of(cases[i].path), cases[i].want);
}

static void test_problem_details(void **state)
{
	static const struct {
		const char *path;
		unsigned status;
		const char *title; /* NULL: Corral's own error body */
	} cases[] = {
		{"/boot/v1/bootparameters", 400, "Bad Request"},
		{"/boot/v1/nope", 404, "Not Found"},
		{"/hsm/v2/groups", 405, "Method Not Allowed"},
		{"/hsm/v2/groups", 401, "Unauthorized"},
		{"/hsm/v2/groups", 413, "Request Entity Too Large"},
		{"/hsm/v2/groups", 599, "Error"},
		{"/cloud-init/admin/groups", 422, NULL},
		{"/api/v1/nodes", 404, NULL},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *ctype = "unchanged";
		json_t *j =
			ochami_error_body(cases[i].path, cases[i].status, "x", "it broke", &ctype);
		if (cases[i].title == NULL) {
			if (j != NULL || strcmp(ctype, "unchanged") != 0)
				fail_msg("%s: a body of its own", cases[i].path);
			continue;
		}
		assert_non_null(j);
		assert_string_equal(ctype, "application/problem+json");
		assert_int_equal(json_object_size(j), 4);
		assert_string_equal(json_string_value(json_object_get(j, "type")), "about:blank");
		assert_string_equal(json_string_value(json_object_get(j, "title")), cases[i].title);
		assert_string_equal(json_string_value(json_object_get(j, "detail")), "it broke");
		assert_int_equal(json_integer_value(json_object_get(j, "status")), cases[i].status);
		json_decref(j);
	}
}

static void test_untyped_json(void **state)
{
	static const struct {
		const char *path;
		int want;
	} cases[] = {
		{"/boot/v1/bootparameters", 1},
		{"/hsm/v2/State/Components", 1},
		{"/cloud-init/admin/groups", 1},
		{"/cloud-init/phone-home/x", 0},
		{"/api/v1/nodes", 0},
		{"/phone-home", 0},
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		if (ochami_untyped_json(cases[i].path) != cases[i].want)
			fail_msg("%s: %d", cases[i].path, ochami_untyped_json(cases[i].path));
}

static void test_node_xname(void **state)
{
	static const struct {
		const char *name;
		int want;
	} cases[] = {
		{"x1000c1s7b0n0", 1},  {"x0c0s0b0n0", 1},
		{"x1000c1s7b0", 0},    {"x1000c1s7b0n", 0},
		{"x1000c1s7b0n0a", 0}, {"node01", 0},
		{"X1000c1s7b0n0", 0},  {"", 0},
		{"x1c1s1b1n1n1", 0},   {"x99999c9s9b9n99", 1},
	};
	for (size_t i = 0; i < NELEM(cases); i++)
		if (ochami_is_node_xname(cases[i].name) != cases[i].want)
			fail_msg("%s: %d", cases[i].name, ochami_is_node_xname(cases[i].name));
}

/* header.payload.sig with payload's JSON text as given. */
static void envelope(const char *payload, char *out, size_t outlen)
{
	char p[1024];
	sodium_bin2base64(p, sizeof(p), (const unsigned char *)payload, strlen(payload),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int n = snprintf(out, outlen, "eyJhbGciOiJIUzI1NiJ9.%s.c2ln", p);
	assert_true(n > 0 && (size_t)n < outlen);
}

static void test_bearer(void **state)
{
	static const struct {
		const char *payload; /* NULL: the bearer is raw */
		const char *raw;
		int rc;
		const char *want;
	} cases[] = {
		{"{\"sub\":\"o\",\"corral_token\":\"crl_abc\"}", NULL, 0, "crl_abc"},
		{"{\"corral_token\":\"crl_abc\",\"exp\":4102444800}", NULL, 0, "crl_abc"},
		{"{\"sub\":\"o\"}", NULL, -EINVAL, NULL},
		{"{\"corral_token\":7}", NULL, -EINVAL, NULL},
		{"not json", NULL, -EINVAL, NULL},
		{NULL, "crl_plaintoken", -ENOENT, NULL},
		{NULL, "a.b", -ENOENT, NULL},
		{NULL, "a.b.c.d", -ENOENT, NULL},
		{NULL, "a.%%%.c", -EINVAL, NULL},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		char bearer[1200], out[64] = "";
		if (cases[i].payload != NULL)
			envelope(cases[i].payload, bearer, sizeof(bearer));
		else
			snprintf(bearer, sizeof(bearer), "%s", cases[i].raw);
		int rc = ochami_bearer(bearer, out, sizeof(out));
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
		if (cases[i].want != NULL)
			assert_string_equal(out, cases[i].want);
	}
	/* a token too long for the caller's buffer is refused, not cut */
	char bearer[1200], small[4];
	envelope("{\"corral_token\":\"crl_abcdef\"}", bearer, sizeof(bearer));
	assert_int_equal(ochami_bearer(bearer, small, sizeof(small)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_of),   cmocka_unit_test(test_problem_details),
		cmocka_unit_test(test_untyped_json), cmocka_unit_test(test_node_xname),
		cmocka_unit_test(test_bearer),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("ochami", tests, NULL, NULL);
}
