/*
 * api_redfish: the operator API's Redfish routes (docs/api.md, "Redfish"):
 * BMC credentials (sealed with auth.h), discovery, the BMC list, power and
 * boot-override jobs.  The work runs on redfish.c's worker; a handler
 * validates, starts a job and answers 202 with it, never waiting for a BMC.
 * See api.h for who calls these; errors go through api_internal.h.
 */
#include "api.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "app.h"
#include "valid.h"

/* ---- credentials ----------------------------------------------------------- */

int api_credentials(struct http_req *r)
{
	struct app *a = r->ctx;
	struct api_err e;
	if (r->method_id & (HTTP_GET | HTTP_HEAD)) {
		json_t *list;
		int rc = store_cred_list(a->store, &list);
		return rc < 0 ? api_store_error(r, rc, NULL, "credential", "") :
				http_reply_json(r, 200, list);
	}
	json_t *body = api_body(r);
	if (body == NULL)
		return 0;
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *user = json_string_value(json_object_get(body, "username"));
	const char *pass = json_string_value(json_object_get(body, "password"));
	int bad = 0;
	if (name == NULL || valid_name(name) < 0)
		bad = api_fail(&e, "name", "not a valid name");
	else if (user == NULL || user[0] == '\0' || strlen(user) > 127)
		bad = api_fail(&e, "username", "required, at most 127 characters");
	else if (pass == NULL || strlen(pass) > 255)
		bad = api_fail(&e, "password", "required, at most 255 characters");
	else if (json_object_size(body) != 3)
		bad = api_fail(&e, "body", "only name, username and password");
	if (bad) {
		json_decref(body);
		return api_invalid(r, &e);
	}
	unsigned char sealed[256 + AUTH_SEAL_OVERHEAD];
	size_t len;
	int rc = auth_seal(a->seed_key, pass, sealed, sizeof(sealed), &len);
	if (rc == 0)
		rc = store_cred_put(a->store, name, user, sealed, len);
	json_t *out = json_pack("{s:s, s:s}", "name", name, "username", user);
	json_decref(body); /* the password goes with it */
	if (rc < 0) {
		json_decref(out);
		return api_store_error(r, rc, NULL, "credential", "");
	}
	return http_reply_json(r, 201, out);
}

int api_credential(struct http_req *r)
{
	struct app *a = r->ctx;
	struct store_err se = {"", ""};
	int rc = store_cred_delete(a->store, r->args[0], &se);
	return rc < 0 ? api_store_error(r, rc, &se, "credential", r->args[0]) :
			http_reply_empty(r, 204);
}

static int api_job_accepted(struct http_req *r, int id)
{
	struct app *a = r->ctx;
	json_t *j = redfish_job(a->redfish, id);
	return j ? http_reply_json(r, 202, j) :
		   http_reply_error(r, 500, "internal", NULL, "job lost");
}

int api_discovery(struct http_req *r)
{
	struct app *a = r->ctx;
	struct api_err e;
	json_t *body = api_body(r);
	if (body == NULL)
		return 0;
	static const char *const known[] = {"targets",  "port", "scheme",      "credential",
					    "insecure", "auth", "concurrency", NULL};
	const char *key;
	json_t *v;
	int bad = 0;
	json_object_foreach(body, key, v) {
		const char *const *k = known;
		while (*k && strcmp(*k, key) != 0)
			k++;
		if (*k == NULL && !bad)
			bad = api_fail(&e, key, "unknown field");
	}
	json_t *targets = json_object_get(body, "targets");
	json_t *port = json_object_get(body, "port");
	json_t *scheme = json_object_get(body, "scheme");
	json_t *cred = json_object_get(body, "credential");
	json_t *insecure = json_object_get(body, "insecure");
	json_t *conc = json_object_get(body, "concurrency");
	size_t i;
	json_t *t;
	if (!bad && (!json_is_array(targets) || json_array_size(targets) == 0))
		bad = api_fail(&e, "targets", "a non-empty array of CIDRs, ranges or hosts");
	json_array_foreach(targets, i, t)
		if (!bad && !json_is_string(t))
			bad = api_fail(&e, "targets", "every target is a string");
	if (!bad && port &&
	    (!json_is_integer(port) || json_integer_value(port) < 1 ||
	     json_integer_value(port) > 65535))
		bad = api_fail(&e, "port", "1 to 65535");
	if (!bad && scheme &&
	    (!json_is_string(scheme) || (strcmp(json_string_value(scheme), "https") != 0 &&
					 strcmp(json_string_value(scheme), "http") != 0)))
		bad = api_fail(&e, "scheme", "http or https");
	if (!bad && cred && (!json_is_string(cred) || valid_name(json_string_value(cred)) < 0))
		bad = api_fail(&e, "credential", "a credential name");
	json_t *auth = json_object_get(body, "auth");
	if (!bad && auth &&
	    (!json_is_string(auth) || (strcmp(json_string_value(auth), "basic") != 0 &&
				       strcmp(json_string_value(auth), "session") != 0)))
		bad = api_fail(&e, "auth", "basic or session");
	if (!bad && insecure && !json_is_boolean(insecure))
		bad = api_fail(&e, "insecure", "true or false");
	if (!bad && conc &&
	    (!json_is_integer(conc) || json_integer_value(conc) < 1 ||
	     json_integer_value(conc) > 4096))
		bad = api_fail(&e, "concurrency", "1 to 4096");
	if (bad) {
		json_decref(body);
		return api_invalid(r, &e);
	}
	const char *sch = scheme ? json_string_value(scheme) : "https";
	json_t *req = json_pack(
		"{s:O, s:I, s:s, s:s, s:b, s:I}", "targets", targets, "port",
		port ? json_integer_value(port) : (strcmp(sch, "http") == 0 ? 80 : 443), "scheme",
		sch, "credential", cred ? json_string_value(cred) : "default", "insecure",
		json_is_true(insecure), "concurrency",
		conc ? json_integer_value(conc) : (json_int_t)app_config(a)->rf_concurrency);
	json_object_set_new(req, "auth", json_string(auth ? json_string_value(auth) : "basic"));
	json_decref(body);
	char err[256];
	int id;
	int rc = redfish_discover(a->redfish, req, &id, err, sizeof(err));
	json_decref(req);
	if (rc == -ENOENT)
		return http_reply_error(r, 422, "invalid_field", "credential", "%s", err);
	if (rc == -EINVAL || rc == -E2BIG)
		return http_reply_error(r, 422, "invalid_field", "targets", "targets: %s", err);
	if (rc < 0)
		return http_reply_error(r, 500, "internal", NULL, "%s", err);
	return api_job_accepted(r, id);
}

int api_job(struct http_req *r)
{
	struct app *a = r->ctx;
	long long id;
	if (valid_parse_ll(r->args[0], 1, 1000000000, &id) < 0)
		return http_reply_error(r, 404, "not_found", NULL, "no such job: %s", r->args[0]);
	json_t *j = redfish_job(a->redfish, (int)id);
	return j ? http_reply_json(r, 200, j) :
		   http_reply_error(r, 404, "not_found", NULL,
				    "no such job: %lld (jobs are kept "
				    "in memory, the newest %d)",
				    id, REDFISH_JOBS);
}

int api_jobs(struct http_req *r)
{
	struct app *a = r->ctx;
	json_t *list = redfish_jobs(a->redfish);
	return list ? http_reply_json(r, 200, list) :
		      http_reply_error(r, 500, "internal", NULL, "out of memory");
}

int api_bmcs(struct http_req *r)
{
	struct app *a = r->ctx;
	if (r->method_id == HTTP_DELETE) {
		int rc = store_bmc_delete(a->store, r->args[0]);
		return rc < 0 ? api_store_error(r, rc, NULL, "BMC", r->args[0]) :
				http_reply_empty(r, 204);
	}
	json_t *list;
	int rc = store_bmc_list(a->store, &list);
	return rc < 0 ? api_store_error(r, rc, NULL, "BMC", "") : http_reply_json(r, 200, list);
}

/*
 * The nodes named by targets: each a node, else a group (its members).
 * 422 names the first that is neither.  *out: array of node names.
 */
static int api_targets_nodes(struct http_req *r, json_t *targets, json_t **out)
{
	struct app *a = r->ctx;
	if (!json_is_array(targets) || json_array_size(targets) == 0)
		return http_reply_error(r, 422, "invalid_field", "targets",
					"targets: a non-empty array of node or group names"),
		       -EINVAL;
	json_t *nodes = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(targets, i, t) {
		const char *name = json_string_value(t);
		int64_t id;
		json_t *g = NULL;
		if (name != NULL && valid_name(name) == 0 &&
		    store_node_id(a->store, name, &id) == 0) {
			json_array_append(nodes, t);
		} else if (name != NULL && valid_name(name) == 0 &&
			   store_obj_get(a->store, STORE_GROUP, name, &g) == 0) {
			json_array_extend(nodes, json_object_get(g, "members"));
			json_decref(g);
		} else {
			json_decref(nodes);
			http_reply_error(r, 422, "invalid_field", "targets",
					 "targets[%zu]: no node or group named %s", i,
					 name ? name : "(not a string)");
			return -EINVAL;
		}
	}
	*out = nodes;
	return 0;
}

int api_power(struct http_req *r)
{
	struct app *a = r->ctx;
	json_t *body = api_body(r);
	if (body == NULL)
		return 0;
	const char *action = json_string_value(json_object_get(body, "action"));
	static const char *const actions[] = {"on", "off", "reset", "cycle", "status", NULL};
	const char *const *k = actions;
	while (action && *k && strcmp(*k, action) != 0)
		k++;
	if (action == NULL || *k == NULL) {
		json_decref(body);
		return http_reply_error(r, 422, "invalid_field", "action",
					"action: on, off, reset, cycle or status");
	}
	json_t *nodes;
	if (api_targets_nodes(r, json_object_get(body, "targets"), &nodes) < 0) {
		json_decref(body);
		return 0;
	}
	int id;
	int rc = redfish_power(a->redfish, nodes, action, &id);
	json_decref(nodes);
	json_decref(body);
	return rc < 0 ? http_reply_error(r, 500, "internal", NULL, "cannot start the job") :
			api_job_accepted(r, id);
}

int api_boot(struct http_req *r)
{
	struct app *a = r->ctx;
	json_t *body = api_body(r);
	if (body == NULL)
		return 0;
	json_t *target = json_object_get(body, "target");
	json_t *once = json_object_get(body, "once");
	json_t *reset = json_object_get(body, "reset");
	if (target != NULL &&
	    (!json_is_string(target) || strcasecmp(json_string_value(target), "pxe") != 0)) {
		json_decref(body);
		return http_reply_error(r, 422, "invalid_field", "target",
					"target: pxe (the only boot override Corral sets)");
	}
	if ((once && !json_is_boolean(once)) || (reset && !json_is_boolean(reset))) {
		const char *field = once && !json_is_boolean(once) ? "once" : "reset";
		json_decref(body);
		return http_reply_error(r, 422, "invalid_field", field,
					"once and reset: true or false");
	}
	json_t *nodes;
	if (api_targets_nodes(r, json_object_get(body, "targets"), &nodes) < 0) {
		json_decref(body);
		return 0;
	}
	int id;
	int rc = redfish_boot(a->redfish, nodes, once == NULL || json_is_true(once),
			      json_is_true(reset), &id);
	json_decref(nodes);
	json_decref(body);
	return rc < 0 ? http_reply_error(r, 500, "internal", NULL, "cannot start the job") :
			api_job_accepted(r, id);
}
