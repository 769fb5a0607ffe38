/*
 * serve: the node-facing paths (boot script, cloud-init, phone-home,
 * files) and health/metrics.  No token: a node cannot hold one.  What a
 * node gets is bound to its identity: its MAC in the boot script request,
 * the signed per-node token in its cloud-init seed URL, or its source
 * address.  Every request tied to a node becomes a boot event.
 *
 * Hot path: the boot script is served from the boot cache when the store
 * has not changed since it was rendered (see bootcache.h).
 */
#include "serve.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "bootscript.h"
#include "cloudinit.h"
#include "log.h"
#include "valid.h"

#define SERVE_SCRIPT_MAX BOOTSCRIPT_MAX

static const char *const serve_kind_state[METRICS_BOOT_KINDS] = {
	[METRICS_BOOT_NODE] = "booting",
};

/*
 * snprintf into a fixed array, checked: a cut sets *err to -ENAMETOOLONG.
 * The arrays here fit every valid value, so a cut is a bug to report (500)
 * rather than a shortened script or event to hand out.  Does nothing once
 * *err is set, so a run of them needs one check at the end.
 */
__attribute__((format(printf, 4, 5))) static void serve_fmt(int *err, char *out, size_t size,
							    const char *fmt, ...)
{
	if (*err < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		*err = -ENAMETOOLONG;
}

/*
 * Renders the script for key=value (self: "key=value") from the store into
 * out, and what the cache keeps with it into *meta.  start: the start of
 * the seed token's validity window (Unix seconds).
 */
static int serve_render_fresh(struct app *a, enum bootsel_key key, const char *value,
			      const char *self, unsigned retry, int64_t start, struct buf *out,
			      struct bootcache_meta *meta)
{
	const struct config *cfg = app_config(a);
	struct bootscript_env env = {cfg->base_url, cfg->unknown_wait, cfg->retry_max_sleep};
	struct bootsel b;
	char why[160];
	int cut = 0;
	int rc = bootsel_lookup(a->store, key, value, &b);
	memset(meta, 0, sizeof(*meta));
	if (rc == -ENOENT) {
		meta->kind = METRICS_BOOT_UNKNOWN;
		serve_fmt(&cut, meta->detail, sizeof(meta->detail), "unknown");
		if (key == BOOTSEL_MAC) {
			serve_fmt(&cut, meta->mac, sizeof(meta->mac), "%s", value);
			serve_fmt(&cut, why, sizeof(why), "this machine (%s) is not registered yet",
				  value);
		} else {
			serve_fmt(&cut, why, sizeof(why), "no node has %s", self);
		}
		return cut < 0 ? cut : bootscript_wait(&env, why, self, out);
	}
	if (rc < 0)
		return rc;
	meta->node_id = b.node_id;
	serve_fmt(&cut, meta->mac, sizeof(meta->mac), "%s", b.mac);
	if (!b.enabled) {
		meta->kind = METRICS_BOOT_DISABLED;
		serve_fmt(&cut, meta->detail, sizeof(meta->detail), "disabled");
		serve_fmt(&cut, why, sizeof(why), "node %s is disabled", b.name);
		rc = cut < 0 ? cut : bootscript_exit(why, out);
	} else if (!b.has_profile) {
		meta->kind = METRICS_BOOT_NOPROFILE;
		serve_fmt(&cut, meta->detail, sizeof(meta->detail), "no boot profile");
		serve_fmt(&cut, why, sizeof(why),
			  "node %s has no boot profile (none on the node, its groups or the "
			  "defaults)",
			  b.name);
		rc = cut < 0 ? cut : bootscript_wait(&env, why, self, out);
	} else {
		char seed[AUTH_SEED_LEN];
		uint32_t expiry = (uint32_t)(start + cfg->token_ttl);
		auth_seed_make(a->seed_key, b.node_id, expiry, seed);
		meta->kind = METRICS_BOOT_NODE;
		serve_fmt(&cut, meta->detail, sizeof(meta->detail), "profile %s (%s)", b.profile,
			  b.source);
		rc = cut < 0 ? cut : bootscript_node(&env, &b, seed, self, retry, out);
	}
	bootsel_clear(&b);
	return rc;
}

int serve_render_bootscript(struct app *a, enum bootsel_key key, const char *value, unsigned retry,
			    const char *client_ip, int record, struct buf *out)
{
	const struct config *cfg = app_config(a);
	static const char *const keynames[] = {"mac", "name", "nid", "id"};
	char self[96];
	int rc = 0;
	serve_fmt(&rc, self, sizeof(self), "%s=%s", keynames[key], value);
	if (rc < 0)
		return rc;

	uint64_t gen = store_generation(a->store);
	int64_t now = store_now_us();
	struct bootcache_meta meta;
	int hit = retry == 0 && bootcache_get(a->bootcache, self, gen, now, out, &meta);
	metrics_bootcache(a->metrics, hit);

	if (!hit) {
		/*
		 * Seed tokens expire at the end of a window, so one rendering
		 * serves the window from the cache: a token lives between 90%
		 * and 100% of token_ttl, never longer.
		 */
		int64_t window = cfg->token_ttl / 10 > 3600 ? 3600 : cfg->token_ttl / 10;
		int64_t start = now / 1000000 / window * window;
		int64_t valid_until = (start + window) * 1000000;
		rc = serve_render_fresh(a, key, value, self, retry, start, out, &meta);
		if (rc < 0)
			return rc;
		if (retry == 0)
			bootcache_put(a->bootcache, self, gen, valid_until, buf_str(out), out->len,
				      &meta);
	}
	if (!record)
		return 0;
	metrics_bootscript(a->metrics, (enum metrics_boot)meta.kind);
	if (meta.node_id != 0 || (key == BOOTSEL_MAC && meta.kind == METRICS_BOOT_UNKNOWN)) {
		char detail[200];
		if (retry > 0)
			serve_fmt(&rc, detail, sizeof(detail), "%s, retry %u", meta.detail, retry);
		else
			serve_fmt(&rc, detail, sizeof(detail), "%s", meta.detail);
		if (rc < 0)
			return rc;
		events_add(a->events, meta.node_id, "bootscript", client_ip, detail, meta.mac,
			   serve_kind_state[meta.kind]);
	}
	return 0;
}

int serve_bootscript(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *mac = http_query(r, "mac");
	const char *name = http_query(r, "name");
	const char *nid = http_query(r, "nid");
	const char *retry_s = http_query(r, "retry");
	char norm[VALID_MAC_LEN + 1], nidbuf[24];
	long long v;
	unsigned retry = 0;

	if (retry_s != NULL && valid_parse_ll(retry_s, 0, 100000, &v) == 0)
		retry = (unsigned)v;

	enum bootsel_key key;
	const char *value;
	if (mac != NULL) {
		if (valid_mac_normalize(mac, norm) < 0)
			return http_reply_error(r, 400, "bad_request", "mac",
						"mac: not a MAC address");
		key = BOOTSEL_MAC;
		value = norm;
	} else if (name != NULL) {
		if (valid_name(name) < 0)
			return http_reply_error(r, 400, "bad_request", "name",
						"name: not a valid node name");
		key = BOOTSEL_NAME;
		value = name;
	} else if (nid != NULL) {
		if (valid_parse_ll(nid, 1, 2147483648LL, &v) < 0)
			return http_reply_error(r, 400, "bad_request", "nid",
						"nid: not a node number");
		/* the number as written here ("+7", "007" are 7): the script
		 * re-chains with it and the cache is keyed by it */
		int cut = 0;
		serve_fmt(&cut, nidbuf, sizeof(nidbuf), "%lld", v);
		if (cut < 0)
			return cut;
		key = BOOTSEL_NID;
		value = nidbuf;
	} else {
		return http_reply_error(r, 400, "bad_request", "mac",
					"give mac=, name= or nid= (iPXE: mac=${net0/mac})");
	}

	struct buf out;
	buf_init(&out, SERVE_SCRIPT_MAX);
	int rc = serve_render_bootscript(a, key, value, retry, r->client_ip, 1, &out);
	if (rc == 0)
		rc = http_reply_data(r, 200, "text/plain; charset=utf-8", buf_str(&out), out.len);
	buf_clear(&out);
	return rc;
}

/* The node a cloud-init or phone-home request comes from, by token or address. */
static int serve_identify(struct http_req *r, const char *token, int64_t *node_id)
{
	struct app *a = r->ctx;
	if (token != NULL) {
		int64_t now = store_now_us() / 1000000;
		if (auth_seed_check(a->seed_key, token, (uint32_t)now, node_id) < 0) {
			http_reply_error(r, 403, "forbidden", NULL,
					 "invalid or expired node token; fetch a new boot script");
			return -EACCES;
		}
		return 0;
	}
	int rc = store_node_by_ip(a->store, r->client_ip, node_id);
	if (rc == -ENOENT)
		http_reply_error(r, 404, "not_found", NULL, "no node has address %s", r->client_ip);
	return rc;
}

/* Which NoCloud file: 0 meta-data, 1 user-data, 2 vendor-data, -1 none. */
int serve_cloudinit_kind(const char *file)
{
	static const char *const files[] = {"meta-data", "user-data", "vendor-data"};
	for (int i = 0; i < 3; i++)
		if (strcmp(file, files[i]) == 0)
			return i;
	return -1;
}

int serve_render_cloudinit(struct app *a, int64_t node_id, int kind, struct buf *out)
{
	char name[64];
	json_t *metas = NULL, *uds = NULL;
	int rc = bootsel_cloudinit_layers(a->store, node_id, name, sizeof(name), &metas, &uds);
	if (rc < 0)
		return rc;
	if (kind == 0)
		rc = cloudinit_meta_data(name, metas, out);
	else if (kind == 1)
		rc = cloudinit_user_data(uds, out);
	else
		rc = buf_adds(out, "#cloud-config\n{}\n");
	json_decref(metas);
	json_decref(uds);
	return rc;
}

int serve_cloudinit(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *token = r->args[1] ? r->args[0] : NULL;
	const char *file = r->args[1] ? r->args[1] : r->args[0];
	int kind = serve_cloudinit_kind(file);
	if (kind < 0)
		return http_reply_error(r, 404, "not_found", NULL, "no such cloud-init file: %s",
					file);
	int64_t node_id;
	int rc = serve_identify(r, token, &node_id);
	if (rc == -EACCES || rc == -ENOENT)
		return 0; /* answered */
	if (rc < 0)
		return rc;
	struct buf out;
	buf_init(&out, SERVE_CI_MAX);
	rc = serve_render_cloudinit(a, node_id, kind, &out);
	if (rc == -ENOENT) {
		buf_clear(&out);
		return http_reply_error(r, 404, "not_found", NULL, "node no longer exists");
	}
	if (rc == 0) {
		rc = http_reply_data(r, 200, "text/plain; charset=utf-8", buf_str(&out), out.len);
		if (r->method_id == HTTP_GET)
			events_add(a->events, node_id, "cloud-init", r->client_ip, file, NULL,
				   NULL);
	}
	buf_clear(&out);
	return rc;
}

/* Value of key in an application/x-www-form-urlencoded body, decoded into out. */
static int serve_form_value(const char *body, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = body;
	while (*p) {
		const char *end = strchrnul(p, '&');
		if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t o = 0;
			for (const char *s = p + klen + 1; s < end && o + 1 < outlen; s++) {
				if (*s == '+') {
					out[o++] = ' ';
				} else if (*s == '%' && end - s >= 3) {
					char hex[3] = {s[1], s[2], 0};
					char *e;
					long c = strtol(hex, &e, 16);
					if (*e != '\0' || c == 0)
						return -EINVAL;
					out[o++] = (char)c;
					s += 2;
				} else {
					out[o++] = *s;
				}
			}
			out[o] = '\0';
			return 0;
		}
		p = *end ? end + 1 : end;
	}
	return -ENOENT;
}

int serve_phone_home(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *token = r->args[0];
	const char *body = buf_str(&r->body);
	int64_t node_id = 0;
	int rc;
	char v[128], name[64];

	if (token != NULL) {
		rc = serve_identify(r, token, &node_id);
		if (rc < 0)
			return rc == -EACCES ? 0 : rc;
	} else {
		/* cloud-init's phone_home posts instance_id and hostname. */
		if (serve_form_value(body, "instance_id", v, sizeof(v)) == 0 &&
		    strncmp(v, "i-", 2) == 0 && valid_name(v + 2) == 0)
			(void)store_node_id(a->store, v + 2, &node_id);
		if (node_id == 0 && serve_form_value(body, "hostname", v, sizeof(v)) == 0 &&
		    valid_name(v) == 0)
			(void)store_node_id(a->store, v, &node_id);
		if (node_id == 0 && store_node_by_ip(a->store, r->client_ip, &node_id) < 0)
			return http_reply_error(r, 404, "not_found", NULL,
						"no node matches this phone-home (instance_id, "
						"hostname or address %s)",
						r->client_ip);
	}
	rc = store_node_name(a->store, node_id, name, sizeof(name));
	if (rc == -ENOENT)
		return http_reply_error(r, 404, "not_found", NULL, "node no longer exists");
	if (rc < 0)
		return rc;
	events_add(a->events, node_id, "phone-home", r->client_ip, "ready", NULL, "ready");
	return http_reply_json(r, 200, json_pack("{s:s, s:s}", "node", name, "state", "ready"));
}

/* Which boot file a path is for the node: "kernel", "initrd", "rootfs" or "file". */
static const char *serve_file_stage(struct app *a, int64_t node_id, const char *relpath)
{
	struct bootsel b;
	char id[24];
	const char *stage = "file";
	int cut = 0;
	serve_fmt(&cut, id, sizeof(id), "%lld", (long long)node_id);
	if (cut < 0 || bootsel_lookup(a->store, BOOTSEL_ID, id, &b) < 0)
		return stage;
	if (b.has_profile) {
		const char *locs[] = {b.kernel, b.initrd, b.rootfs};
		const char *names[] = {"kernel", "initrd", "rootfs"};
		for (int i = 0; i < 3; i++) {
			const char *l = locs[i];
			if (l == NULL)
				continue;
			const char *f = strstr(l, "/files/");
			if (strcmp(l, relpath) == 0 || (f != NULL && strcmp(f + 7, relpath) == 0)) {
				stage = names[i];
				break;
			}
		}
	}
	bootsel_clear(&b);
	return stage;
}

int serve_files(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *relpath = r->args[0];
	int rc = files_serve(app_files(a), r, relpath);
	if (rc < 0 || r->method_id != HTTP_GET || (r->status != 200 && r->status != 206))
		return rc;
	/* A download from the start is a boot step; later ranges are not. */
	const char *range = http_header(r, MHD_HTTP_HEADER_RANGE);
	if (range != NULL && strncmp(range, "bytes=0-", 8) != 0)
		return 0;
	int64_t node_id;
	if (store_node_by_ip(a->store, r->client_ip, &node_id) == 0)
		events_add(a->events, node_id, serve_file_stage(a, node_id, relpath), r->client_ip,
			   relpath, NULL, NULL);
	return 0;
}

int serve_healthz(struct http_req *r)
{
	struct app *a = r->ctx;
	char why[512];
	if (store_ping(a->store) < 0)
		return http_reply_error(r, 503, "unavailable", NULL, "store does not answer");
	/* Boot scripts may still be served, but nothing is recorded: say so. */
	if (store_health(a->store, why, sizeof(why)) < 0)
		return http_reply_json(
			r, 503, json_pack("{s:s, s:s}", "status", "degraded", "reason", why));
	return http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

int serve_metrics(struct http_req *r)
{
	struct app *a = r->ctx;
	struct buf out;
	json_t *counts = NULL;
	buf_init(&out, 4u << 20);
	int rc = metrics_render(a->metrics, &out);
	if (rc == 0 && store_node_counts(a->store, &counts) == 0) {
		static const char *const states[] = {"new", "booting", "ready"};
		rc |= buf_adds(&out, "# HELP corral_nodes Nodes by state.\n"
				     "# TYPE corral_nodes gauge\n");
		for (int i = 0; i < 3; i++)
			rc |= buf_printf(
				&out, "corral_nodes{state=\"%s\"} %lld\n", states[i],
				(long long)json_integer_value(json_object_get(counts, states[i])));
		rc |= buf_printf(
			&out,
			"# HELP corral_nodes_disabled Nodes disabled for boot.\n"
			"# TYPE corral_nodes_disabled gauge\ncorral_nodes_disabled %lld\n",
			(long long)json_integer_value(json_object_get(counts, "disabled")));
		json_decref(counts);
	}
	rc |= buf_printf(&out,
			 "# HELP corral_events_dropped_total Boot events dropped (queue full).\n"
			 "# TYPE corral_events_dropped_total counter\n"
			 "corral_events_dropped_total %llu\n"
			 "# HELP corral_up_seconds Seconds since corrald started.\n"
			 "# TYPE corral_up_seconds gauge\ncorral_up_seconds %lld\n",
			 (unsigned long long)events_dropped(a->events),
			 (long long)((store_now_us() - a->started_us) / 1000000));
	if (rc == 0)
		rc = http_reply_data(r, 200, "text/plain; version=0.0.4", buf_str(&out), out.len);
	buf_clear(&out);
	return rc;
}
