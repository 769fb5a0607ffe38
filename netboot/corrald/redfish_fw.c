/*
 * redfish_fw: a BMC firmware update, as steps driven by the replies, on the
 * redfish worker (redfish_int.h):
 *
 *   GET UpdateService              → SimpleUpdate's target, FirmwareInventory
 *   GET FirmwareInventory, members → "before" (the version now)
 *   (same version: "current"; dry run: "would_update"; both end here)
 *   POST SimpleUpdate {ImageURI, TransferProtocol: HTTP}
 *                                  → 4xx/5xx: "refused" with the BMC's message
 *                                  → 202 + Location: the Task (or task monitor)
 *   GET the Task every FW_POLL_MS  → Running …; Completed/OK goes on, an
 *                                    Exception, Killed or Critical is "failed"
 *                                    with its Messages; past the deadline too
 *   GET FirmwareInventory again    → "after": the image's version is "updated",
 *                                    anything else "failed"
 *
 * One update job at a time per BMC: a job that reaches a BMC another job
 * is updating waits (polling every FW_POLL_MS, no transfer) until that job
 * is done with it, then starts from the top, so it judges the version the
 * first one left; jobs queue in the order they reached the BMC.  Its entry
 * says "waited_for": the job it found there.  Dry runs only read: they
 * neither wait nor hold a BMC.
 *
 * Which member is "the version now": the member whose Id is "BMC" (the
 * BMC's own firmware, as corral-vbmc and many BMCs name it), else the
 * first member.  Every transfer keeps the worker's timeouts and reply cap;
 * between polls the probe waits without a transfer (rf_wait).
 *
 * Security: replies are untrusted: paths are followed only when rf_path_ok
 * says so, strings kept are under 200 bytes, at most FW_MEMBERS inventory
 * members are read.  The BMC's credential is opened into its probe only.
 */
#include "redfish_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "store.h"

#define FW_POLL_MS 500
#define FW_MEMBERS 16
#define FW_TASK_MESSAGES 8
#define FW_UPDATE_SERVICE "/redfish/v1/UpdateService"

/* Which request a reply answers: the probe's step (FW_QUEUED: none yet,
 * the BMC is another job's until that job is done with it). */
enum fw_step { FW_SERVICE = 1, FW_INVENTORY, FW_MEMBER, FW_UPDATE, FW_TASK, FW_QUEUED };

static void fw_set(struct rf_probe *p, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fw_scrub(struct rf_probe *p, const char *text, char *out, size_t len);

/* Ends the BMC's update with status and a message (fmt NULL: none). */
static void fw_set(struct rf_probe *p, const char *status, const char *fmt, ...)
{
	json_object_set_new(p->out, "status", json_string(status));
	if (fmt != NULL) {
		char msg[400];
		va_list ap;
		va_start(ap, fmt);
		buf_vfmt_msg(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		char clean[400];
		fw_scrub(p, msg, clean, sizeof(clean));
		json_object_set_new(p->out, "message", json_string(clean));
	}
	p->failed = true; /* nothing more is asked of this BMC */
}

/*
 * text with the image URL's token replaced by "(token)": BMCs echo the
 * ImageURI in their messages, and the job is shown to read-only tokens
 * (docs/security.md).  Into out (len bytes, cut to fit).
 */
static void fw_scrub(struct rf_probe *p, const char *text, char *out, size_t len)
{
	const char *token =
		json_string_value(json_object_get(json_object_get(p->job->fw, "image"), "token"));
	size_t tl = token ? strlen(token) : 0, o = 0;
	while (*text != '\0' && o + 1 < len) {
		if (tl > 0 && strncmp(text, token, tl) == 0) {
			const char *r = "(token)";
			for (; *r != '\0' && o + 1 < len; r++)
				out[o++] = *r;
			text += tl;
			continue;
		}
		out[o++] = *text++;
	}
	out[o] = '\0';
}

static void fw_get(struct redfish *rf, struct rf_probe *p, int step, const char *path)
{
	p->step = step;
	if (rf_request(rf, p, RQ_FW, 0, path, NULL, NULL, true) < 0)
		fw_set(p, "failed", "%s: cannot start a request", path);
}

/* ---- reading replies (pure: redfish_fw_facts) ---- */

/* The BMC's words in a Redfish error body, or "" (under 400 bytes). */
static json_t *fw_error_message(json_t *body)
{
	json_t *err = json_object_get(body, "error");
	json_t *info = json_array_get(json_object_get(err, "@Message.ExtendedInfo"), 0);
	const char *msg = json_string_value(json_object_get(info, "Message"));
	const char *id = json_string_value(json_object_get(info, "MessageId"));
	char out[400];
	if (msg == NULL)
		msg = json_string_value(json_object_get(err, "message"));
	if (msg == NULL)
		out[0] = '\0';
	else if (id != NULL)
		buf_fmt_msg(out, sizeof(out), "%.250s (%.100s)", msg, id);
	else
		buf_fmt_msg(out, sizeof(out), "%s", msg);
	return json_string(out);
}

static bool fw_task_running(const char *state)
{
	static const char *const running[] = {"New",      "Starting",  "Running", "Pending",
					      "Stopping", "Suspended", "Service"};
	if (state == NULL)
		return true; /* a task monitor that says nothing yet */
	for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++)
		if (strcmp(state, running[i]) == 0)
			return true;
	return false;
}

int redfish_fw_facts(enum redfish_fw_kind kind, json_t *j, json_t *facts)
{
	size_t i;
	json_t *m;
	if (!json_is_object(facts))
		return -EINVAL;
	if (!json_is_object(j))
		j = NULL; /* every getter below then finds nothing */
	switch (kind) {
	case REDFISH_FW_SERVICE: {
		json_t *act = json_object_get(json_object_get(j, "Actions"),
					      "#UpdateService.SimpleUpdate");
		const char *target = json_string_value(json_object_get(act, "target"));
		const char *inv = rf_link(j, "FirmwareInventory");
		json_object_set_new(facts, "target",
				    rf_path_ok(target) ? json_string(target) : json_null());
		json_object_set_new(facts, "inventory", inv ? json_string(inv) : json_null());
		json_object_set_new(
			facts, "enabled",
			json_boolean(!json_is_false(json_object_get(j, "ServiceEnabled"))));
		return 0;
	}
	case REDFISH_FW_INVENTORY: {
		json_t *paths = json_array();
		json_array_foreach(json_object_get(j, "Members"), i, m) {
			const char *path = rf_link(m, NULL);
			if (path != NULL && json_array_size(paths) < FW_MEMBERS)
				json_array_append_new(paths, json_string(path));
		}
		json_object_set_new(facts, "members", paths);
		return 0;
	}
	case REDFISH_FW_MEMBER:
		rf_str(facts, "id", j, "Id");
		rf_str(facts, "name", j, "Name");
		rf_str(facts, "version", j, "Version");
		json_object_set_new(facts, "updateable",
				    json_boolean(json_is_true(json_object_get(j, "Updateable"))));
		return 0;
	case REDFISH_FW_TASK: {
		rf_str(facts, "state", j, "TaskState");
		rf_str(facts, "status", j, "TaskStatus");
		json_t *msgs = json_array();
		json_array_foreach(json_object_get(j, "Messages"), i, m) {
			if (i >= FW_TASK_MESSAGES)
				break;
			json_t *e = json_object();
			rf_str(e, "id", m, "MessageId");
			const char *text = json_string_value(json_object_get(m, "Message"));
			json_object_set_new(e, "message",
					    text && strlen(text) < 400 ? json_string(text) :
									 json_null());
			json_array_append_new(msgs, e);
		}
		json_object_set_new(facts, "messages", msgs);
		json_object_set_new(facts, "running",
				    json_boolean(fw_task_running(
					    json_string_value(json_object_get(facts, "state")))));
		return 0;
	}
	case REDFISH_FW_ERROR:
		json_object_set_new(facts, "message", fw_error_message(j));
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- the steps ---- */

/* The inventory list being read: "before" or "after". */
static json_t *fw_inv_list(struct rf_probe *p)
{
	return json_object_get(p->out, p->inv_after ? "after" : "before");
}

/* The version the BMC reports now: member "BMC", else the first; NULL if none. */
static const char *fw_current(json_t *list)
{
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m) {
		const char *id = json_string_value(json_object_get(m, "id"));
		if (id != NULL && strcmp(id, "BMC") == 0)
			return json_string_value(json_object_get(m, "version"));
	}
	return json_string_value(json_object_get(json_array_get(list, 0), "version"));
}

static void fw_post_update(struct redfish *rf, struct rf_probe *p)
{
	const char *url = json_string_value(json_object_get(p->job->fw, "url"));
	json_t *b = json_pack("{s:s, s:s}", "ImageURI", url, "TransferProtocol", "HTTP");
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	p->step = FW_UPDATE;
	if (body == NULL || rf_request(rf, p, RQ_FW, 0, p->update_target, "POST", body, true) < 0)
		fw_set(p, "failed", "cannot start the SimpleUpdate request");
	free(body);
}

/* The whole inventory is read: decide (before) or judge (after). */
static void fw_inventory_done(struct redfish *rf, struct rf_probe *p)
{
	const char *want =
		json_string_value(json_object_get(json_object_get(p->job->fw, "image"), "version"));
	const char *now = fw_current(fw_inv_list(p));
	json_object_set_new(p->out, p->inv_after ? "version_after" : "version_before",
			    now ? json_string(now) : json_null());
	if (p->inv_after) {
		if (now != NULL && strcmp(now, want) == 0)
			fw_set(p, "updated", "updated from %s to %s",
			       json_string_value(json_object_get(p->out, "version_before")), want);
		else
			fw_set(p, "failed",
			       "the task completed but FirmwareInventory reports %s, not %s",
			       now ? now : "no version", want);
		return;
	}
	if (now != NULL && strcmp(now, want) == 0) {
		fw_set(p, "current", "already at %s", want);
		return;
	}
	if (p->job->dry_run) {
		fw_set(p, "would_update", "would update from %s to %s", now ? now : "(none)", want);
		return;
	}
	fw_post_update(rf, p);
}

/* Reads the next inventory member, or ends the inventory. */
static void fw_next_member(struct redfish *rf, struct rf_probe *p)
{
	const char *path = json_string_value(json_array_get(p->inv, p->inv_next));
	if (path == NULL) {
		fw_inventory_done(rf, p);
		return;
	}
	p->inv_next++;
	fw_get(rf, p, FW_MEMBER, path);
}

static void fw_read_inventory(struct redfish *rf, struct rf_probe *p, bool after)
{
	p->inv_after = after;
	json_object_set_new(p->out, after ? "after" : "before", json_array());
	fw_get(rf, p, FW_INVENTORY, p->inv_path);
}

static void fw_on_service(struct redfish *rf, struct rf_probe *p, json_t *j)
{
	json_t *f = json_object();
	redfish_fw_facts(REDFISH_FW_SERVICE, j, f);
	const char *target = json_string_value(json_object_get(f, "target"));
	const char *inv = json_string_value(json_object_get(f, "inventory"));
	if (json_is_false(json_object_get(f, "enabled")))
		fw_set(p, "refused", "the BMC's UpdateService is disabled (ServiceEnabled false)");
	else if (target == NULL)
		fw_set(p, "failed", "the BMC's UpdateService offers no SimpleUpdate action");
	else if (inv == NULL)
		fw_set(p, "failed", "the BMC's UpdateService has no FirmwareInventory");
	/* Both checked by rf_path_ok: under 400 bytes, as the fields are. */
	else if (buf_fmt(p->update_target, sizeof(p->update_target), "%s", target) < 0 ||
		 buf_fmt(p->inv_path, sizeof(p->inv_path), "%s", inv) < 0)
		fw_set(p, "failed", "the BMC's UpdateService paths are too long");
	else
		fw_read_inventory(rf, p, false);
	json_decref(f);
}

static void fw_on_inventory(struct redfish *rf, struct rf_probe *p, json_t *j)
{
	json_t *f = json_object();
	redfish_fw_facts(REDFISH_FW_INVENTORY, j, f);
	json_decref(p->inv);
	p->inv = json_incref(json_object_get(f, "members"));
	p->inv_next = 0;
	json_decref(f);
	fw_next_member(rf, p);
}

static void fw_on_member(struct redfish *rf, struct rf_probe *p, json_t *j)
{
	json_t *m = json_object();
	redfish_fw_facts(REDFISH_FW_MEMBER, j, m);
	json_array_append_new(fw_inv_list(p), m);
	fw_next_member(rf, p);
}

/* What a Task says: its state, status and messages (scrubbed) into the job. */
static void fw_on_task(struct redfish *rf, struct rf_probe *p, long code, json_t *j)
{
	json_t *task = json_object();
	redfish_fw_facts(REDFISH_FW_TASK, j, task);
	json_object_set_new(task, "path", json_string(p->task_path));
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(task, "messages"), i, m) {
		const char *text = json_string_value(json_object_get(m, "message"));
		char clean[400];
		if (text != NULL) {
			fw_scrub(p, text, clean, sizeof(clean));
			json_object_set_new(m, "message", json_string(clean));
		}
	}
	/* A task monitor answers 202 while the task runs, then the operation's
	 * own answer (2xx here; an error was reported before this), which need
	 * not be a Task: no TaskState after a 2xx other than 202 is done. */
	bool monitor_done = code != 202 && json_is_null(json_object_get(task, "state"));
	bool running =
		code == 202 || (!monitor_done && json_is_true(json_object_get(task, "running")));
	json_object_del(task, "running");
	json_object_set_new(p->out, "task", task);
	json_t *msgs = json_object_get(task, "messages");
	const char *state = json_string_value(json_object_get(task, "state"));
	const char *status = json_string_value(json_object_get(task, "status"));
	const char *last = json_string_value(
		json_object_get(json_array_get(msgs, json_array_size(msgs) - 1), "message"));
	if (monitor_done) {
		fw_read_inventory(rf, p, true);
		return;
	}
	if (!running) {
		if (strcmp(state, "Completed") == 0 &&
		    (status == NULL || strcmp(status, "Critical") != 0)) {
			fw_read_inventory(rf, p, true);
			return;
		}
		fw_set(p, "failed", "the update task ended %s%s%s: %s", state, status ? ", " : "",
		       status ? status : "", last ? last : "no message");
		return;
	}
	if (rf_mono_us() > p->deadline_us) {
		fw_set(p, "failed", "the update task did not finish within %u s (last state %s)",
		       rf->cfg.update_timeout_s ? rf->cfg.update_timeout_s : 1800,
		       state ? state : "unknown");
		return;
	}
	rf_wait(rf, p, FW_POLL_MS);
}

/* SimpleUpdate answered 2xx: follow its Task, or read the inventory now. */
static void fw_on_update(struct redfish *rf, struct rf_probe *p, struct rf_req *q, json_t *j)
{
	unsigned timeout = rf->cfg.update_timeout_s ? rf->cfg.update_timeout_s : 1800;
	const char *task = q->location[0] != '\0' ? q->location : NULL;
	if (task == NULL)
		task = rf_link(j, NULL); /* a Task in the body */
	if (task == NULL || !rf_path_ok(task)) {
		/* No task to follow: a BMC that updated before answering. */
		json_object_set_new(p->out, "task", json_null());
		fw_read_inventory(rf, p, true);
		return;
	}
	if (buf_fmt(p->task_path, sizeof(p->task_path), "%s", task) < 0) {
		fw_set(p, "failed", "the task's path is too long");
		return;
	}
	p->deadline_us = rf_mono_us() + (long long)timeout * 1000000;
	json_object_set_new(p->out, "task", json_pack("{s:s}", "path", p->task_path));
	rf_wait(rf, p, FW_POLL_MS);
}

void rf_fw_reply(struct redfish *rf, struct rf_req *q, CURLcode res, long code)
{
	struct rf_probe *p = q->probe;
	if (q->too_large || res == CURLE_FILESIZE_EXCEEDED) {
		fw_set(p, "failed", "%s: reply larger than %zu bytes", q->path, q->reply.cap);
		return;
	}
	if (res == CURLE_OPERATION_TIMEDOUT) {
		fw_set(p, "failed", "%s: no answer within %u ms", q->path,
		       rf->cfg.total_timeout_ms);
		return;
	}
	if (res != CURLE_OK) {
		fw_set(p, "failed", "%s: %s", q->path, curl_easy_strerror(res));
		return;
	}
	json_t *j = q->reply.len > 0 ? json_loadb(q->reply.data, q->reply.len, 0, NULL) : NULL;
	json_t *err = json_object();
	redfish_fw_facts(REDFISH_FW_ERROR, j, err);
	const char *msg = json_string_value(json_object_get(err, "message"));
	if (code == 401 || code == 403) {
		fw_set(p, "failed", "the BMC refused the credentials (HTTP %ld)", code);
	} else if (code >= 300 && p->step == FW_UPDATE) {
		fw_set(p, "refused", "HTTP %ld: %s", code,
		       msg[0] ? msg : "the BMC gave no message");
	} else if (code == 404 && p->step == FW_SERVICE) {
		fw_set(p, "failed", "the BMC has no UpdateService");
	} else if (code >= 300) {
		fw_set(p, "failed", "%s: HTTP %ld%s%s", q->path, code, msg[0] ? ": " : "", msg);
	} else if (p->step == FW_UPDATE) {
		fw_on_update(rf, p, q, j);
	} else if (p->step == FW_TASK) {
		fw_on_task(rf, p, code, j);
	} else if (!json_is_object(j)) {
		fw_set(p, "failed", "%s: not a JSON object", q->path);
	} else if (p->step == FW_SERVICE) {
		fw_on_service(rf, p, j);
	} else if (p->step == FW_INVENTORY) {
		fw_on_inventory(rf, p, j);
	} else {
		fw_on_member(rf, p, j);
	}
	json_decref(err);
	json_decref(j);
}

/* ---- one update job at a time per BMC ---- */

/* True if p's BMC is p's now; then the queue shows p's job as updating it. */
static bool fw_my_turn(struct redfish *rf, struct rf_probe *p)
{
	json_t *t = json_object_get(rf->fw_turns, p->fw_key);
	if (t == NULL)
		return true; /* cannot happen: p's place keeps the queue */
	if (json_integer_value(json_object_get(t, "serving")) != p->fw_ticket)
		return false;
	json_object_set_new(t, "job", json_integer(p->job->id));
	return true;
}

/* Takes the next place in the queue of p's BMC; true if it is p's turn. */
static bool fw_queue(struct redfish *rf, struct rf_probe *p)
{
	json_t *t = json_object_get(rf->fw_turns, p->fw_key);
	if (t == NULL) {
		t = json_pack("{s:I, s:I, s:i}", "next", (json_int_t)0, "serving", (json_int_t)0,
			      "job", p->job->id);
		if (t == NULL || json_object_set_new(rf->fw_turns, p->fw_key, t) < 0)
			return true; /* out of memory: no queue rather than no update */
	}
	p->fw_ticket = json_integer_value(json_object_get(t, "next"));
	json_object_set_new(t, "next", json_integer(p->fw_ticket + 1));
	p->fw_queued = true;
	return fw_my_turn(rf, p);
}

void rf_fw_release(struct redfish *rf, struct rf_probe *p)
{
	if (!p->fw_queued)
		return;
	p->fw_queued = false;
	json_t *t = json_object_get(rf->fw_turns, p->fw_key);
	if (t == NULL)
		return;
	json_int_t serving = json_integer_value(json_object_get(t, "serving")) + 1;
	if (serving >= json_integer_value(json_object_get(t, "next")))
		json_object_del(rf->fw_turns, p->fw_key); /* nobody waits */
	else
		json_object_set_new(t, "serving", json_integer(serving));
}

static void fw_begin(struct redfish *rf, struct rf_probe *p);

void rf_fw_wake(struct redfish *rf, struct rf_probe *p)
{
	if (p->step != FW_QUEUED)
		fw_get(rf, p, FW_TASK, p->task_path);
	else if (fw_my_turn(rf, p))
		fw_begin(rf, p);
	else
		rf_wait(rf, p, FW_POLL_MS);
}

void rf_fw_next(struct redfish *rf, struct rf_probe *p)
{
	fw_get(rf, p, FW_SERVICE, FW_UPDATE_SERVICE);
}

void rf_fw_start(struct redfish *rf, struct rf_probe *p, const char *key)
{
	json_t *b = json_object_get(json_object_get(p->job->fw, "bmcs"), key);
	p->out = json_pack("{s:O, s:O, s:O, s:O}", "address", json_object_get(b, "address"), "port",
			   json_object_get(b, "port"), "model", json_object_get(b, "model"),
			   "nodes", json_object_get(b, "nodes"));
	if (p->out == NULL)
		p->out = json_object();
	if (buf_fmt(p->fw_key, sizeof(p->fw_key), "%s", key) < 0) {
		fw_set(p, "failed", "the BMC's stored address is too long");
		return;
	}
	if (!p->job->dry_run && !fw_queue(rf, p)) {
		json_t *t = json_object_get(rf->fw_turns, p->fw_key);
		json_object_set(p->out, "waited_for", json_object_get(t, "job"));
		p->step = FW_QUEUED;
		rf_wait(rf, p, FW_POLL_MS);
		return;
	}
	fw_begin(rf, p);
}

/* Opens the BMC's credential, then the first step (or the login). */
static void fw_begin(struct redfish *rf, struct rf_probe *p)
{
	json_t *b = json_object_get(json_object_get(p->job->fw, "bmcs"), p->fw_key);
	p->step = 0;
	if (buf_fmt(p->address, sizeof(p->address), "%s",
		    json_string_value(json_object_get(b, "address"))) < 0 ||
	    buf_fmt(p->scheme, sizeof(p->scheme), "%s",
		    json_string_value(json_object_get(b, "scheme"))) < 0) {
		fw_set(p, "failed", "the BMC's stored address or scheme is too long");
		return;
	}
	p->port = (int)json_integer_value(json_object_get(b, "port"));
	p->insecure = json_is_true(json_object_get(b, "insecure"));
	const char *cred = json_string_value(json_object_get(b, "credential"));
	unsigned char sealed[512];
	size_t len = sizeof(sealed);
	int rc = store_cred_get(rf->st, cred ? cred : "", p->own_user, sizeof(p->own_user), sealed,
				&len);
	if (rc == 0)
		rc = auth_open(rf->key, sealed, len, p->own_pass, sizeof(p->own_pass));
	store_release(rf->st);
	if (rc < 0) {
		fw_set(p, "failed", "credential %s is missing or cannot be opened",
		       cred ? cred : "?");
		return;
	}
	p->user = p->own_user;
	p->pass = p->own_pass;
	const char *auth = json_string_value(json_object_get(b, "auth"));
	p->session = auth != NULL && strcmp(auth, "session") == 0;
	if (p->session)
		rf_login(rf, p, NULL);
	else
		rf_fw_next(rf, p);
}
