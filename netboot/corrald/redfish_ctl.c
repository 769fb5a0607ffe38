/*
 * redfish_ctl: power and boot override of one node through its BMC, as
 * steps driven by the replies (see rf_control_next), with the BMC and
 * credential the store has for the node.  See redfish_int.h.
 *
 * Security: the node's credential is opened into its probe only, and
 * wiped with it.
 */
#include "redfish_int.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "store.h"

/* The first of the preferred reset types that the system allows. */
static const char *rf_reset_type(json_t *sys, const char *const *want)
{
	json_t *allowed = json_object_get(sys, "reset_types");
	for (; *want; want++) {
		if (json_array_size(allowed) == 0)
			return *want; /* the BMC did not say: try the usual one */
		size_t i;
		json_t *a;
		json_array_foreach(allowed, i, a)
			if (strcmp(json_string_value(a), *want) == 0)
				return *want;
	}
	return NULL;
}

static void rf_reset(struct redfish *rf, struct rf_probe *p, const char *action)
{
	static const char *const on[] = {"On", "ForceOn", NULL};
	static const char *const off[] = {"ForceOff", "GracefulShutdown", NULL};
	static const char *const reset[] = {"ForceRestart", "GracefulRestart", "PowerCycle", NULL};
	static const char *const cycle[] = {"PowerCycle", "ForceRestart", NULL};
	json_t *sys = json_object_get(p->sys, "system");
	const char *const *want = strcmp(action, "on") == 0    ? on :
				  strcmp(action, "off") == 0   ? off :
				  strcmp(action, "cycle") == 0 ? cycle :
								 reset;
	const char *type = rf_reset_type(sys, want);
	if (type == NULL) {
		rf_error(p, "the BMC allows no reset type for %s", action);
		return;
	}
	const char *target = json_string_value(json_object_get(sys, "reset_target"));
	char path[512], body[96];
	if (target == NULL) {
		if (buf_fmt(path, sizeof(path), "%s/Actions/ComputerSystem.Reset",
			    json_string_value(json_object_get(p->sys, "path"))) < 0) {
			rf_error(p, "the system's path is too long for its reset action");
			return;
		}
		target = path;
	}
	if (buf_fmt(body, sizeof(body), "{\"ResetType\": \"%s\"}", type) < 0) {
		rf_error(p, "cannot start a request"); /* our own reset types all fit */
		return;
	}
	json_object_set_new(p->out, "reset_type", json_string(type));
	if (rf_request(rf, p, RQ_CTRL, 0, target, "POST", body, true) < 0)
		rf_error(p, "cannot start a request");
}

/*
 * Control steps.  Power: 0 (reset or, for status, nothing) → 1 GET state.
 * Boot: 0 PATCH override → 1 GET to verify (and learn the power state) →
 * 2 reset (if asked) → 3 GET state.
 */
void rf_control_next(struct redfish *rf, struct rf_probe *p, json_t *reply)
{
	const char *path = json_string_value(json_object_get(p->sys, "path"));
	struct rf_job *job = p->job;
	if (reply != NULL && json_is_object(reply) && json_object_get(reply, "PowerState"))
		rf_str(p->out, "power_state", reply, "PowerState");
	if (job->type == JOB_POWER) {
		/* Read the state first: On while on (or Off while off) is done, not
		 * an error (some BMCs answer it with 409). */
		const char *ps = json_string_value(json_object_get(p->out, "power_state"));
		switch (p->step) {
		case 0:
			p->step = 1;
			rf_get(rf, p, RQ_CTRL, 0, path);
			return;
		case 1:
			if (strcmp(job->action, "status") == 0 ||
			    (ps != NULL && strcmp(job->action, "on") == 0 &&
			     strcmp(ps, "On") == 0) ||
			    (ps != NULL && strcmp(job->action, "off") == 0 &&
			     strcmp(ps, "Off") == 0))
				break;
			p->step = 2;
			rf_reset(rf, p, job->action);
			return;
		case 2:
			p->step = 3;
			rf_get(rf, p, RQ_CTRL, 0, path);
			return;
		default:
			break;
		}
		json_object_set_new(p->out, "ok", json_true());
		return;
	}
	switch (p->step) {
	case 0: {
		char body[160];
		p->step = 1;
		if (buf_fmt(body, sizeof(body),
			    "{\"Boot\": {\"BootSourceOverrideTarget\": \"Pxe\","
			    " \"BootSourceOverrideEnabled\": \"%s\"}}",
			    job->once ? "Once" : "Continuous") < 0 ||
		    rf_request(rf, p, RQ_CTRL, 0, path, "PATCH", body, true) < 0)
			rf_error(p, "cannot start a request");
		return;
	}
	case 1:
		p->step = 2;
		rf_get(rf, p, RQ_CTRL, 0, path);
		return;
	case 2: {
		/* Some BMCs accept the override and quietly drop it: read it back. */
		json_t *boot = json_object_get(reply, "Boot");
		const char *t =
			json_string_value(json_object_get(boot, "BootSourceOverrideTarget"));
		if (t == NULL || strcmp(t, "Pxe") != 0) {
			rf_error(p, "the BMC accepted PXE boot but reads back %s",
				 t ? t : "nothing");
			return;
		}
		json_object_set_new(p->out, "boot_override",
				    json_pack("{s:s, s:O}", "target", t, "enabled",
					      json_object_get(boot, "BootSourceOverrideEnabled")));
		if (!job->reset) {
			json_object_set_new(p->out, "ok", json_true());
			return;
		}
		p->step = 3;
		const char *ps = json_string_value(json_object_get(reply, "PowerState"));
		rf_reset(rf, p, ps != NULL && strcmp(ps, "Off") == 0 ? "on" : "reset");
		return;
	}
	case 3:
		p->step = 4;
		rf_get(rf, p, RQ_CTRL, 0, path);
		return;
	default:
		json_object_set_new(p->out, "ok", json_true());
		return;
	}
}

void rf_control_start(struct redfish *rf, struct rf_probe *p, const char *t)
{
	p->out = json_pack("{s:s}", "node", t);
	if (buf_fmt(p->node, sizeof(p->node), "%s", t) < 0) {
		rf_error(p, "node name too long"); /* the API let none through */
		return;
	}
	if (store_node_system(rf->st, t, &p->sys) < 0) {
		store_release(rf->st);
		rf_error(p, "no BMC known for this node (run discovery first)");
		return;
	}
	store_release(rf->st);
	if (buf_fmt(p->address, sizeof(p->address), "%s",
		    json_string_value(json_object_get(p->sys, "address"))) < 0 ||
	    buf_fmt(p->scheme, sizeof(p->scheme), "%s",
		    json_string_value(json_object_get(p->sys, "scheme"))) < 0) {
		rf_error(p, "the BMC's stored address or scheme is too long");
		return;
	}
	p->port = (int)json_integer_value(json_object_get(p->sys, "port"));
	p->insecure = json_is_true(json_object_get(p->sys, "insecure"));
	/* Each node's BMC may use its own credential: opened into this probe. */
	const char *cred = json_string_value(json_object_get(p->sys, "credential"));
	unsigned char sealed[512];
	size_t len = sizeof(sealed);
	int rc = store_cred_get(rf->st, cred, p->own_user, sizeof(p->own_user), sealed, &len);
	if (rc == 0)
		rc = auth_open(rf->key, sealed, len, p->own_pass, sizeof(p->own_pass));
	store_release(rf->st);
	if (rc < 0) {
		rf_error(p, "credential %s is missing or cannot be opened", cred ? cred : "?");
		return;
	}
	p->user = p->own_user;
	p->pass = p->own_pass;
	const char *auth = json_string_value(json_object_get(p->sys, "auth"));
	p->session = auth != NULL && strcmp(auth, "session") == 0;
	p->step = 0;
	if (p->session)
		rf_login(rf, p, NULL);
	else
		rf_control_next(rf, p, NULL);
}
