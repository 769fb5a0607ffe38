/*
 * The fixture test_api.c and test_api_objects.c share: appfix.h's daemon
 * with a read token too (f->reader), and the checks both use: the error
 * shape ({code, message, field}; a 422 message starts with its field), a
 * snapshot of everything an operator can list, compared before and after a
 * refused write (with the store's generation counter), JSON comparison
 * helpers, a seed of an image, a profile and two nodes, and run_bad() over
 * a table of refused requests.  Static, as appfix.h.
 */
#ifndef CORRAL_TESTS_APIFIX_H
#define CORRAL_TESTS_APIFIX_H

#include <stdarg.h>

#include "appfix.h"

/* ---- the fixture (appfix.h), with a read token too ----------------------- */

FIXTURE_FN int setup(void **state)
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
FIXTURE_FN void check_error(const char *what, const struct res *r, long status, const char *code,
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
FIXTURE_FN json_t *snapshot(struct fx *f)
{
	static const char *const paths[] = {"/api/v1/nodes",    "/api/v1/groups",
					    "/api/v1/images",   "/api/v1/profiles",
					    "/api/v1/defaults", "/api/v1/discovered"};
	json_t *s = json_object();

	for (size_t i = 0; i < NELEM(paths); i++)
		json_object_set_new(s, paths[i], get_json(f, paths[i]));
	return s;
}

FIXTURE_FN void check_unchanged(const char *what, struct fx *f, json_t *before, uint64_t gen)
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
FIXTURE_FN json_t *without(json_t *o, ...)
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

FIXTURE_FN void assert_json_eq(const char *what, json_t *got, json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("%s:\ngot  %s\nwant %s", what, g, w);
	}
}

/* The names in a JSON array of nodes, comma-separated. */
FIXTURE_FN void names_of(json_t *list, char *out, size_t outlen)
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
FIXTURE_FN void seed(struct fx *f)
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

/* ---- refused requests, the store unchanged ----------------------------- */

struct bad_case {
	const char *what;
	const char *method, *path, *body; /* body with ' for " */
	long status;
	const char *code, *field;
};

#define NODES "/api/v1/nodes"

FIXTURE_FN void run_bad(struct fx *f, const struct bad_case *cases, size_t n)
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

#endif /* CORRAL_TESTS_APIFIX_H */
