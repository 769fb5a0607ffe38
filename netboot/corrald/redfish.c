/*
 * redfish: discovery and control jobs over libcurl's multi interface: the
 * public API, the job list, the worker thread that starts probes within
 * the concurrency bounds and hands each finished transfer to its probe,
 * and what a finished probe records.  See redfish.h; the transfers, the
 * discovery walk and node control are redfish_xfer.c, redfish_walk.c and
 * redfish_ctl.c (redfish_int.h).
 *
 * Security: replies are untrusted.  Each is capped (max_reply) and parsed
 * with jansson; links are followed only if they are paths under
 * /redfish/v1/ on the same BMC (never a URL to elsewhere); MACs are
 * normalised or dropped.  TLS peers are verified unless the job says
 * insecure.  Passwords stay in the job's memory and are wiped with it.
 */
#include "redfish.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bmcmatch.h"
#include "buf.h"
#include "log.h"
#include "redfish_int.h"
#include "valid.h"

/* ---- targets --------------------------------------------------------- */

int redfish_expand(const char *t, json_t *out, size_t max, char *err, size_t errlen)
{
	char a[64], b[64];
	struct in_addr ia, ib;
	unsigned net, prefix;
	const char *dash = strchr(t, '-');
	if (strchr(t, '/') != NULL) {
		if (valid_cidr(t, &net, &prefix) < 0 || prefix < 16) {
			buf_fmt_msg(err, errlen, "%s: expected a.b.c.d/len with len 16 to 30", t);
			return -EINVAL;
		}
		unsigned size = 1u << (32 - prefix);
		for (unsigned i = 1; i + 1 < size; i++) { /* not the network nor broadcast */
			if (json_array_size(out) >= max)
				goto err_many;
			ia.s_addr = htonl(net + i);
			json_array_append_new(out,
					      json_string(inet_ntop(AF_INET, &ia, a, sizeof(a))));
		}
		return 0;
	}
	if (dash != NULL && (size_t)(dash - t) < sizeof(a)) {
		memcpy(a, t, (size_t)(dash - t));
		a[dash - t] = '\0';
		if (buf_fmt(b, sizeof(b), "%s", dash + 1) < 0 || inet_pton(AF_INET, a, &ia) != 1 ||
		    inet_pton(AF_INET, b, &ib) != 1 || ntohl(ia.s_addr) > ntohl(ib.s_addr)) {
			buf_fmt_msg(err, errlen, "%s: expected FIRST-LAST IPv4 addresses, in order",
				    t);
			return -EINVAL;
		}
		for (unsigned v = ntohl(ia.s_addr);; v++) {
			if (json_array_size(out) >= max)
				goto err_many;
			struct in_addr x = {htonl(v)};
			json_array_append_new(out,
					      json_string(inet_ntop(AF_INET, &x, a, sizeof(a))));
			if (v == ntohl(ib.s_addr))
				break;
		}
		return 0;
	}
	/* A single address or host name. */
	size_t n = strlen(t);
	if (n == 0 || n > 253) {
		buf_fmt_msg(err, errlen, "%s: not an address, range or CIDR", t);
		return -EINVAL;
	}
	for (const char *p = t; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != ':') {
			buf_fmt_msg(err, errlen, "%s: not an address, range or CIDR", t);
			return -EINVAL;
		}
	if (json_array_size(out) >= max)
		goto err_many;
	json_array_append_new(out, json_string(t));
	return 0;

err_many:
	buf_fmt_msg(err, errlen, "more than %zu addresses in one discovery", max);
	return -E2BIG;
}

/* ---- probes and jobs ---------------------------------------------------- */

static void rf_probe_free(struct rf_probe *p)
{
	json_decref(p->root);
	sodium_memzero(p->token, sizeof(p->token));
	sodium_memzero(p->own_pass, sizeof(p->own_pass));
	json_decref(p->bmc);
	json_decref(p->sys);
	json_decref(p->out);
	json_decref(p->inv);
	free(p);
}

/* A probe with nothing in flight is finished: record it. */
static void rf_probe_done(struct redfish *rf, struct rf_probe *p)
{
	struct rf_job *job = p->job;
	if (p->token[0] != '\0' && !p->logged_out) {
		p->logged_out = true;
		if (p->session_path[0] != '\0' &&
		    rf_request(rf, p, RQ_LOGOUT, 0, p->session_path, "DELETE", NULL, true) == 0)
			return; /* finished when the logout is */
	}
	job->inflight--;
	if (job->type == JOB_FIRMWARE) {
		rf_fw_release(rf, p);
		if (json_object_get(p->out, "status") == NULL)
			json_object_set_new(p->out, "status", json_string("failed"));
		pthread_mutex_lock(&rf->lock);
		json_array_append(json_object_get(job->result, "bmcs"), p->out);
		pthread_mutex_unlock(&rf->lock);
		store_release(rf->st);
		rf_probe_free(p);
		return;
	}
	if (job->type != JOB_DISCOVER) {
		if (json_object_get(p->out, "ok") == NULL)
			json_object_set_new(p->out, "ok", json_false());
		if (json_is_true(json_object_get(p->out, "ok")) &&
		    json_object_get(p->out, "power_state") != NULL &&
		    store_node_power_state(
			    rf->st, p->node,
			    json_string_value(json_object_get(p->out, "power_state"))) < 0)
			log_warnx("redfish: %s: could not record the power state: %s", p->node,
				  store_errmsg());
		pthread_mutex_lock(&rf->lock);
		json_array_append(json_object_get(job->result, "nodes"), p->out);
		pthread_mutex_unlock(&rf->lock);
		store_release(rf->st);
		rf_probe_free(p);
		return;
	}
	const char *status = json_string_value(json_object_get(p->bmc, "status"));
	if (status == NULL) { /* no Redfish there */
		rf_probe_free(p);
		return;
	}
	rf_sort_systems(json_object_get(p->bmc, "systems"));
	json_t *report =
		json_pack("{s:[], s:[], s:[]}", "nodes_created", "nodes_updated", "conflicts");
	int rc = bmcmatch_record(rf->st, p->bmc, report);
	if (rc < 0)
		log_warnx("redfish: %s: could not store what was found: %s", p->address,
			  store_errmsg());
	store_release(rf->st);
	pthread_mutex_lock(&rf->lock);
	json_t *r = job->result;
	if (rc < 0)
		json_array_append_new(json_object_get(r, "errors"),
				      json_pack("{s:s, s:s}", "address", p->address, "message",
						"could not store what was found"));
	const char *keys[] = {"nodes_created", "nodes_updated", "conflicts"};
	for (int i = 0; i < 3; i++) {
		size_t k;
		json_t *v;
		json_array_foreach(json_object_get(report, keys[i]), k, v) {
			if (i == 2)
				json_object_set_new(v, "bmc", json_string(p->address));
			json_array_append(json_object_get(r, keys[i]), v);
		}
	}
	json_t *summary = json_pack("{s:s, s:i, s:O, s:O, s:i}", "address", p->address, "port",
				    p->port, "status", json_object_get(p->bmc, "status"), "message",
				    json_object_get(p->bmc, "message"), "systems",
				    (int)json_array_size(json_object_get(p->bmc, "systems")));
	json_array_append_new(json_object_get(r, "bmcs"), summary);
	pthread_mutex_unlock(&rf->lock);
	json_decref(report);
	rf_probe_free(p);
}

static void rf_job_error(struct rf_probe *p, const char *msg)
{
	json_array_append_new(json_object_get(p->job->result, "errors"),
			      json_pack("{s:s, s:s}", "address", p->address, "message", msg));
}

/*
 * The first answer from an address.  Only a JSON service root makes a
 * Redfish service; a refused or silent address is no host and no error;
 * a peer that takes the connection and then says nothing useful is
 * reported, and one that is clearly a BMC but refuses or fails is
 * recorded as such (it creates no node).
 */
static void rf_root(struct redfish *rf, struct rf_req *q, CURLcode res, long code)
{
	struct rf_probe *p = q->probe;
	double connect = 0;
	curl_easy_getinfo(q->easy, CURLINFO_CONNECT_TIME, &connect);
	rf_count(p->job->result, "probed");
	char msg[256];
	if (res == CURLE_OK && code == 200) {
		json_t *j = json_loadb(q->reply.data ? q->reply.data : "", q->reply.len, 0, NULL);
		if (json_is_object(j))
			rf_walk(rf, q, j);
		else
			rf_job_error(p, "answers HTTP at /redfish/v1/, but not with Redfish JSON");
		json_decref(j);
	} else if (res == CURLE_OK && (code == 401 || code == 403 || code >= 500)) {
		rf_count(p->job->result, "found");
		buf_fmt_msg(msg, sizeof(msg), "%s (HTTP %ld at /redfish/v1/)",
			    code >= 500 ? "the BMC failed" : "the BMC refused the credentials",
			    code);
		json_object_set_new(p->bmc, "status",
				    json_string(code >= 500 ? "error" : "auth_failed"));
		json_object_set_new(p->bmc, "message", json_string(msg));
	} else if (q->too_large || res == CURLE_FILESIZE_EXCEEDED) {
		buf_fmt_msg(msg, sizeof(msg), "reply at /redfish/v1/ larger than %zu bytes",
			    q->reply.cap);
		rf_job_error(p, msg);
	} else if (res == CURLE_PEER_FAILED_VERIFICATION || res == CURLE_SSL_CONNECT_ERROR ||
		   res == CURLE_SSL_CACERT_BADFILE) {
		buf_fmt_msg(
			msg, sizeof(msg),
			"TLS: %s (trust its CA with redfish.ca_file, or discover it as insecure)",
			curl_easy_strerror(res));
		rf_job_error(p, msg);
	} else if (res == CURLE_OPERATION_TIMEDOUT && connect > 0) {
		buf_fmt_msg(msg, sizeof(msg),
			    "accepted the connection but did not answer within %u ms",
			    rf->cfg.total_timeout_ms);
		rf_job_error(p, msg);
	}
	/* else: nothing there (refused, unreachable, silent) or not Redfish (404) */
}

/* A login answered: go on with what the probe was doing. */
static void rf_logged_in(struct redfish *rf, struct rf_req *q)
{
	struct rf_probe *p = q->probe;
	if (q->token[0] == '\0') {
		rf_error(p, "the session login answered no X-Auth-Token");
		return;
	}
	/* Same sizes as the request's fields, which rf_header filled checked. */
	if (buf_fmt(p->token, sizeof(p->token), "%s", q->token) < 0 ||
	    buf_fmt(p->session_path, sizeof(p->session_path), "%s", q->location) < 0) {
		rf_error(p, "the session login answered a token or session path too long");
		return;
	}
	if (p->root != NULL) {
		json_t *root = p->root;
		p->root = NULL;
		p->next_order = 0;
		rf_root_links(rf, p, root);
		json_decref(root);
	} else if (p->job->type == JOB_FIRMWARE) {
		rf_fw_next(rf, p);
	} else {
		rf_control_next(rf, p, NULL);
	}
}

static void rf_finish(struct redfish *rf, struct rf_req *q, CURLcode res)
{
	if (q->kind == RQ_LOGOUT)
		return; /* best effort: the session expires anyway */
	struct rf_probe *p = q->probe;
	long code = 0;
	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &code);
	json_t *j = NULL;
	if (q->kind == RQ_ROOT) {
		rf_root(rf, q, res, code);
		return;
	}
	if (p->failed)
		return;
	if (q->kind == RQ_FW) {
		rf_fw_reply(rf, q, res, code);
		return;
	}
	if (q->too_large || res == CURLE_FILESIZE_EXCEEDED) {
		rf_error(p, "%s: reply larger than %zu bytes", q->path, q->reply.cap);
	} else if (res == CURLE_OPERATION_TIMEDOUT) {
		rf_error(p, "%s: no answer within %ld ms", q->path, (long)rf->cfg.total_timeout_ms);
	} else if (res != CURLE_OK) {
		rf_error(p, "%s: %s", q->path, curl_easy_strerror(res));
	} else if (code == 401 || code == 403) {
		if (p->bmc != NULL) {
			json_object_set_new(p->bmc, "status", json_string("auth_failed"));
			json_object_set_new(p->bmc, "message",
					    json_string("the BMC refused the credentials"));
			p->failed = true;
		} else {
			rf_error(p, "the BMC refused the credentials (%ld)", code);
		}
	} else if (code == 404 && q->kind != RQ_SYSTEMS && q->kind != RQ_SYSTEM &&
		   q->kind != RQ_CTRL) {
		/* A broken link to a part we only describe: skip it, keep the BMC. */
		log_debug("redfish: %s: %s: 404, skipped", p->address, q->path);
	} else if (code >= 300) {
		rf_error(p, "%s: HTTP %ld", q->path, code);
	} else {
		if (q->reply.len > 0) {
			json_error_t je;
			j = json_loadb(q->reply.data, q->reply.len, 0, &je);
			if (j == NULL) {
				rf_error(p, "%s: malformed JSON (%s)", q->path, je.text);
				return;
			}
		}
		if (q->kind == RQ_LOGIN)
			rf_logged_in(rf, q);
		else if (q->kind == RQ_CTRL)
			rf_control_next(rf, p, j);
		else if (json_is_object(j))
			rf_walk(rf, q, j);
		json_decref(j);
	}
}

static void rf_start_target(struct redfish *rf, struct rf_job *job, const char *t)
{
	struct rf_probe *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return;
	p->job = job;
	p->user = job->user;
	p->pass = job->pass;
	job->inflight++;
	if (job->type == JOB_FIRMWARE) {
		rf_fw_start(rf, p, t);
		if (p->inflight == 0)
			rf_probe_done(rf, p);
		return;
	}
	if (job->type != JOB_DISCOVER) {
		rf_control_start(rf, p, t);
		if (p->inflight == 0)
			rf_probe_done(rf, p);
		return;
	}
	if (buf_fmt(p->address, sizeof(p->address), "%s", t) < 0 ||
	    buf_fmt(p->scheme, sizeof(p->scheme), "%s", job->scheme) < 0) {
		rf_job_error(p, "address too long"); /* redfish_expand let none through */
		rf_probe_done(rf, p);
		return;
	}
	p->port = job->port;
	p->insecure = job->insecure;
	p->session = job->session;
	p->bmc = json_pack("{s:s, s:i, s:s, s:b, s:s, s:n, s:s, s:n, s:n, s:n, s:n, s:n, s:[]}",
			   "address", t, "port", job->port, "scheme", job->scheme, "insecure",
			   job->insecure, "credential",
			   json_string_value(json_object_get(job->result, "credential")), "status",
			   "message", "", "mac", "vendor", "model", "uuid", "firmware", "systems");
	json_object_set_new(p->bmc, "auth", json_string(job->session ? "session" : "basic"));
	/* The root is public in Redfish: probe without credentials. */
	if (p->bmc == NULL ||
	    rf_request(rf, p, RQ_ROOT, 0, "/redfish/v1/", NULL, NULL, false) < 0) {
		json_object_del(p->bmc ? p->bmc : json_null(), "status");
		rf_probe_done(rf, p);
	}
}

static json_t *rf_job_summary(const struct rf_job *j);

static void rf_job_finished(struct rf_job *job)
{
	char t[40];
	store_time_str(store_now_us(), t, sizeof(t));
	json_object_set_new(job->result, "state", json_string("done"));
	json_object_set_new(job->result, "finished", json_string(t));
	sodium_memzero(job->pass, sizeof(job->pass));
	json_decref(job->targets);
	job->targets = NULL;
	json_decref(job->fw);
	job->fw = NULL;
}

long long rf_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void rf_wait(struct redfish *rf, struct rf_probe *p, unsigned ms)
{
	p->wake_us = rf_mono_us() + (long long)ms * 1000;
	p->inflight++;
	p->next_wait = rf->waiting;
	rf->waiting = p;
}

/* Wakes the waiting probes whose time has come (worker thread, lock held). */
static void rf_wake_due(struct redfish *rf)
{
	long long now = rf_mono_us();
	struct rf_probe *due = NULL;
	for (struct rf_probe **pp = &rf->waiting; *pp;) {
		struct rf_probe *p = *pp;
		if (p->wake_us > now) {
			pp = &p->next_wait;
			continue;
		}
		*pp = p->next_wait;
		p->next_wait = due;
		due = p;
	}
	while (due != NULL) {
		struct rf_probe *p = due;
		due = p->next_wait;
		p->next_wait = NULL;
		rf_fw_wake(rf, p);
		if (--p->inflight == 0)
			rf_probe_done(rf, p);
	}
}

static void *rf_main(void *arg)
{
	struct redfish *rf = arg;
	while (!rf->stop) {
		pthread_mutex_lock(&rf->lock);
		/* Start work: oldest job first, within the concurrency bound. */
		struct rf_job *order[REDFISH_JOBS * 2];
		int n = 0;
		for (struct rf_job *j = rf->jobs; j && n < REDFISH_JOBS * 2; j = j->next_job)
			order[n++] = j;
		pthread_mutex_unlock(&rf->lock);
		for (int i = n - 1; i >= 0; i--) {
			struct rf_job *j = order[i];
			if (j->targets == NULL)
				continue;
			while (j->next < json_array_size(j->targets) &&
			       (unsigned)rf->running < rf->cfg.concurrency &&
			       (unsigned)j->inflight < j->concurrency) {
				const char *t =
					json_string_value(json_array_get(j->targets, j->next));
				j->next++;
				pthread_mutex_lock(&rf->lock);
				rf_start_target(rf, j, t);
				pthread_mutex_unlock(&rf->lock);
			}
			if (j->next >= json_array_size(j->targets) && j->inflight == 0) {
				pthread_mutex_lock(&rf->lock);
				rf_job_finished(j);
				json_t *done = rf->hub ? rf_job_summary(j) : NULL;
				pthread_mutex_unlock(&rf->lock);
				if (done != NULL)
					hub_publish(rf->hub, "job", done);
			}
		}
		int still;
		curl_multi_perform(rf->multi, &still);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(rf->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct rf_req *q;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&q);
			CURLcode res = msg->data.result;
			curl_multi_remove_handle(rf->multi, msg->easy_handle);
			rf_req_unlink(rf, q);
			rf->running--;
			struct rf_probe *p = q->probe;
			pthread_mutex_lock(&rf->lock);
			rf_finish(rf, q, res);
			p->inflight--;
			if (p->inflight == 0)
				rf_probe_done(rf, p);
			pthread_mutex_unlock(&rf->lock);
			rf_req_free(q);
		}
		pthread_mutex_lock(&rf->lock);
		rf_wake_due(rf);
		pthread_mutex_unlock(&rf->lock);
		curl_multi_poll(rf->multi, NULL, 0, 100, NULL);
	}
	return NULL;
}

/* ---- public ---------------------------------------------------------------- */

int redfish_start(struct store *st, const unsigned char key[AUTH_KEY_LEN],
		  const struct redfish_settings *cfg, struct redfish **out)
{
	struct redfish *rf = calloc(1, sizeof(*rf));
	if (rf == NULL)
		return -ENOMEM;
	rf->st = st;
	memcpy(rf->key, key, AUTH_KEY_LEN);
	rf->cfg = *cfg;
	rf->ca_file = strdup(cfg->ca_file ? cfg->ca_file : "");
	if (rf->ca_file == NULL) {
		free(rf);
		return -ENOMEM;
	}
	rf->cfg.ca_file = rf->ca_file;
	/* Recursive: the worker holds it while a reply updates a job's result,
	 * and finishing a probe takes it again. */
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&rf->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	rf->next_id = 1;
	rf->fw_turns = json_object();
	if (rf->fw_turns == NULL)
		goto err_free;
	rf->multi = curl_multi_init();
	if (rf->multi == NULL)
		goto err_free;
	/* No connection cap in curl: a queued transfer's wait would count
	 * against its timeout.  The worker bounds transfers itself. */
	if (pthread_create(&rf->thread, NULL, rf_main, rf) != 0)
		goto err_multi;
	*out = rf;
	return 0;

err_multi:
	curl_multi_cleanup(rf->multi);
err_free:
	json_decref(rf->fw_turns);
	pthread_mutex_destroy(&rf->lock);
	free(rf->ca_file);
	free(rf);
	return -EIO;
}

void redfish_free(struct redfish *rf)
{
	if (rf == NULL)
		return;
	rf->stop = 1;
	curl_multi_wakeup(rf->multi);
	pthread_join(rf->thread, NULL);
	/* Transfers still in flight: drop them with their probes. */
	while (rf->reqs != NULL) {
		struct rf_req *q = rf->reqs;
		rf_req_unlink(rf, q);
		curl_multi_remove_handle(rf->multi, q->easy);
		struct rf_probe *p = q->probe;
		if (--p->inflight == 0)
			rf_probe_free(p);
		rf_req_free(q);
	}
	while (rf->waiting != NULL) {
		struct rf_probe *p = rf->waiting;
		rf->waiting = p->next_wait;
		if (--p->inflight == 0)
			rf_probe_free(p);
	}
	curl_multi_cleanup(rf->multi);
	while (rf->jobs != NULL) {
		struct rf_job *n = rf->jobs->next_job;
		sodium_memzero(rf->jobs->pass, sizeof(rf->jobs->pass));
		json_decref(rf->jobs->result);
		json_decref(rf->jobs->targets);
		json_decref(rf->jobs->fw);
		free(rf->jobs);
		rf->jobs = n;
	}
	json_decref(rf->fw_turns);
	pthread_mutex_destroy(&rf->lock);
	sodium_memzero(rf->key, sizeof(rf->key));
	free(rf->ca_file);
	free(rf);
}

/* Adds job to the list (dropping the oldest finished beyond REDFISH_JOBS) and wakes the worker. */
static void rf_enqueue(struct redfish *rf, struct rf_job *job, int *job_id)
{
	char t[40];
	store_time_str(store_now_us(), t, sizeof(t));
	pthread_mutex_lock(&rf->lock);
	job->id = rf->next_id++;
	json_object_set_new(job->result, "id", json_integer(job->id));
	json_object_set_new(job->result, "state", json_string("running"));
	json_object_set_new(job->result, "started", json_string(t));
	job->next_job = rf->jobs;
	rf->jobs = job;
	int k = 0;
	for (struct rf_job **pp = &rf->jobs; *pp;) {
		struct rf_job *j = *pp;
		if (++k > REDFISH_JOBS && j->targets == NULL) {
			*pp = j->next_job;
			json_decref(j->result);
			free(j);
			continue;
		}
		pp = &j->next_job;
	}
	*job_id = job->id;
	pthread_mutex_unlock(&rf->lock);
	curl_multi_wakeup(rf->multi);
}

int redfish_discover(struct redfish *rf, json_t *req, int *job_id, char *err, size_t errlen)
{
	struct rf_job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	job->type = JOB_DISCOVER;
	job->targets = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(req, "targets"), i, t) {
		int rc = redfish_expand(json_string_value(t), job->targets, REDFISH_MAX_TARGETS,
					err, errlen);
		if (rc < 0) {
			json_decref(job->targets);
			free(job);
			return rc;
		}
	}
	/* The caller checked the scheme ("http", "https"). */
	if (buf_fmt(job->scheme, sizeof(job->scheme), "%s",
		    json_string_value(json_object_get(req, "scheme"))) < 0) {
		buf_fmt_msg(err, errlen, "scheme: not http or https");
		json_decref(job->targets);
		free(job);
		return -EINVAL;
	}
	const char *cred = json_string_value(json_object_get(req, "credential"));
	char user[128];
	unsigned char sealed[512];
	size_t len = sizeof(sealed);
	int rc = store_cred_get(rf->st, cred, user, sizeof(user), sealed, &len);
	if (rc == 0)
		rc = auth_open(rf->key, sealed, len, job->pass, sizeof(job->pass));
	store_release(rf->st);
	if (rc == 0 && buf_fmt(job->user, sizeof(job->user), "%s", user) < 0)
		rc = -ENAMETOOLONG; /* the same size: cannot happen */
	if (rc < 0) {
		buf_fmt_msg(err, errlen, "credential %s: %s", cred,
			    rc == -ENOENT ? "no such credential" : "cannot be opened");
		json_decref(job->targets);
		free(job);
		return rc == -ENOENT ? -ENOENT : -EIO;
	}
	job->port = (int)json_integer_value(json_object_get(req, "port"));
	job->insecure = json_is_true(json_object_get(req, "insecure"));
	job->session = json_is_string(json_object_get(req, "auth")) &&
		       strcmp(json_string_value(json_object_get(req, "auth")), "session") == 0;
	job->concurrency = (unsigned)json_integer_value(json_object_get(req, "concurrency"));
	job->result =
		json_pack("{s:s, s:I, s:i, s:i, s:s, s:s, s:i, s:b, s:[], s:[], s:[], s:[], "
			  "s:[]}",
			  "type", "discovery", "targets", (json_int_t)json_array_size(job->targets),
			  "probed", 0, "found", 0, "credential", cred, "scheme", job->scheme,
			  "port", job->port, "insecure", job->insecure, "bmcs", "nodes_created",
			  "nodes_updated", "conflicts", "errors");
	json_object_set_new(job->result, "concurrency", json_integer(job->concurrency));
	rf_enqueue(rf, job, job_id);
	return 0;
}

static int rf_control(struct redfish *rf, enum rf_type type, json_t *nodes, const char *action,
		      bool once, bool reset, int *job_id)
{
	struct rf_job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	/* The caller checked the action (on, off, reset, cycle, status). */
	if (buf_fmt(job->action, sizeof(job->action), "%s", action ? action : "") < 0) {
		free(job);
		return -EINVAL;
	}
	job->type = type;
	job->targets = json_deep_copy(nodes);
	job->concurrency = rf->cfg.concurrency;
	job->once = once;
	job->reset = reset;
	job->result =
		json_pack("{s:s, s:[]}", "type", type == JOB_POWER ? "power" : "boot", "nodes");
	if (action != NULL)
		json_object_set_new(job->result, "action", json_string(action));
	else
		json_object_set_new(job->result, "boot",
				    json_pack("{s:s, s:b, s:b}", "target", "pxe", "once", once,
					      "reset", reset));
	rf_enqueue(rf, job, job_id);
	return 0;
}

int redfish_power(struct redfish *rf, json_t *nodes, const char *action, int *job_id)
{
	return rf_control(rf, JOB_POWER, nodes, action, false, false, job_id);
}

int redfish_boot(struct redfish *rf, json_t *nodes, bool once, bool reset, int *job_id)
{
	return rf_control(rf, JOB_BOOT, nodes, NULL, once, reset, job_id);
}

int redfish_firmware(struct redfish *rf, json_t *bmcs, json_t *skipped, json_t *image,
		     const char *url, bool dry_run, int *job_id)
{
	struct rf_job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	job->type = JOB_FIRMWARE;
	job->dry_run = dry_run;
	job->concurrency = rf->cfg.concurrency;
	job->targets = json_array();
	job->fw = json_pack("{s:O, s:s, s:{}}", "image", image, "url", url, "bmcs");
	json_t *shown = json_pack("{s:O, s:O, s:O, s:O}", "name", json_object_get(image, "name"),
				  "model", json_object_get(image, "model"), "version",
				  json_object_get(image, "version"), "sha256",
				  json_object_get(image, "sha256"));
	job->result = json_pack("{s:s, s:o, s:b, s:O}", "type", "firmware", "image", shown,
				"dry_run", dry_run, "bmcs", skipped);
	if (job->targets == NULL || job->fw == NULL || job->result == NULL)
		goto err_free;
	size_t i;
	json_t *b;
	json_array_foreach(bmcs, i, b) {
		char key[320];
		if (buf_fmt(key, sizeof(key), "%s:%d",
			    json_string_value(json_object_get(b, "address")),
			    (int)json_integer_value(json_object_get(b, "port"))) < 0)
			goto err_free; /* addresses are under 256 bytes */
		json_object_set(json_object_get(job->fw, "bmcs"), key, b);
		json_array_append_new(job->targets, json_string(key));
	}
	rf_enqueue(rf, job, job_id);
	return 0;

err_free:
	json_decref(job->targets);
	json_decref(job->fw);
	json_decref(job->result);
	free(job);
	return -ENOMEM;
}

/* One job's summary for redfish_jobs(). */
static json_t *rf_job_summary(const struct rf_job *j)
{
	json_t *out = json_object();
	if (out == NULL)
		return NULL;
	const char *k;
	json_t *v;
	json_object_foreach(j->result, k, v) {
		if (json_is_array(v))
			json_object_set_new(out, k, json_integer((json_int_t)json_array_size(v)));
		else /* a copy: the worker goes on changing the job after the lock */
			json_object_set_new(out, k, json_deep_copy(v));
	}
	if (j->type == JOB_FIRMWARE) {
		/* How many BMCs ended each way, and "failed": refused or failed. */
		json_t *counts = json_object();
		json_int_t failed = 0;
		size_t i;
		json_array_foreach(json_object_get(j->result, "bmcs"), i, v) {
			const char *st = json_string_value(json_object_get(v, "status"));
			if (st == NULL)
				continue;
			rf_count(counts, st);
			failed += strcmp(st, "refused") == 0 || strcmp(st, "failed") == 0;
		}
		json_object_set_new(out, "counts", counts);
		json_object_set_new(out, "failed", json_integer(failed));
	} else if (j->type != JOB_DISCOVER) {
		json_int_t failed = 0;
		size_t i;
		json_array_foreach(json_object_get(j->result, "nodes"), i, v)
			failed += json_is_false(json_object_get(v, "ok"));
		json_object_set_new(out, "failed", json_integer(failed));
	}
	return out;
}

void redfish_set_hub(struct redfish *rf, struct hub *hub)
{
	pthread_mutex_lock(&rf->lock);
	rf->hub = hub;
	pthread_mutex_unlock(&rf->lock);
}

json_t *redfish_jobs(struct redfish *rf)
{
	json_t *list = json_array();
	if (list == NULL)
		return NULL;
	pthread_mutex_lock(&rf->lock);
	for (struct rf_job *j = rf->jobs; j; j = j->next_job) {
		if (json_array_append_new(list, rf_job_summary(j)) < 0) {
			json_decref(list);
			list = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&rf->lock);
	return list;
}

json_t *redfish_job(struct redfish *rf, int job_id)
{
	json_t *out = NULL;
	pthread_mutex_lock(&rf->lock);
	for (struct rf_job *j = rf->jobs; j; j = j->next_job)
		if (j->id == job_id)
			out = json_deep_copy(j->result);
	pthread_mutex_unlock(&rf->lock);
	return out;
}
