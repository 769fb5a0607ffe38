/*
 * serve: the node-facing paths (boot script, cloud-init, phone-home,
 * files, firmware) and health/metrics.  No API token: a node cannot hold one.  A
 * node's data goes only to a requester tied to the node (ident.h,
 * docs/security.md): its MAC from the address the DHCP side gave that MAC
 * (boot script), the signed per-node token of its seed URL (cloud-init,
 * phone-home), or an address that node alone holds (cloud-init without a
 * token, name= and nid=).  Files under /files/ are not a node's data.
 * Every request tied to a node becomes a boot event.
 *
 * Hot path: the boot script is served from the boot cache when the store
 * has not changed since it was rendered (see bootcache.h).
 */
#include "serve.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "arch.h"
#include "archlearn.h"
#include "bootscript.h"
#include "cloudinit.h"
#include "ident.h"
#include "log.h"
#include "valid.h"

#define SERVE_SCRIPT_MAX BOOTSCRIPT_MAX
#define SERVE_CTYPE "text/plain; charset=utf-8"
/* How long an identity verdict or an address lookup is reused at most. */
#define SERVE_TIE_MEMO_US 5000000

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
 * Seed tokens expire at the end of a window, so one rendering serves the
 * window from the cache: a token lives between 90% and 100% of token_ttl,
 * never longer.  The window now: its start (Unix seconds) is the return
 * value; *until_us (may be NULL) when it ends.
 */
static int64_t serve_window(const struct config *cfg, int64_t now_us, int64_t *until_us)
{
	int64_t window = cfg->token_ttl / 10 > 3600 ? 3600 : cfg->token_ttl / 10;
	int64_t start = now_us / 1000000 / window * window;
	if (until_us != NULL)
		*until_us = (start + window) * 1000000;
	return start;
}

/* node_id's seed token for this window (the one its boot script holds now). */
static void serve_seed(struct app *a, int64_t node_id, char seed[AUTH_SEED_LEN])
{
	const struct config *cfg = app_config(a);
	int64_t start = serve_window(cfg, store_now_us(), NULL);
	auth_seed_make(a->seed_key, node_id, (uint32_t)(start + cfg->token_ttl), seed);
}

/*
 * Remembers b's boot files for serve_file_stage() ("stage NODE", fresh
 * while the store stands at gen): "kernel\ninitrd\nrootfs", empty without
 * a profile.  Their text into out.
 */
static int serve_put_boot_files(struct app *a, const struct bootsel *b, uint64_t gen,
				struct buf *out)
{
	struct bootcache_meta m;
	char key[32];
	int rc = 0;
	serve_fmt(&rc, key, sizeof(key), "stage %lld", (long long)b->node_id);
	if (rc < 0)
		return rc;
	if (b->has_profile)
		rc = buf_printf(out, "%s\n%s\n%s", b->kernel ? b->kernel : "",
				b->initrd ? b->initrd : "", b->rootfs ? b->rootfs : "");
	if (rc < 0)
		return rc;
	memset(&m, 0, sizeof(m));
	m.node_id = b->node_id;
	bootcache_put(a->bootcache, key, gen, INT64_MAX, buf_str(out), out->len, &m);
	return 0;
}

/*
 * serve_render_fresh() once the lookup has run: rc is bootsel_lookup()'s
 * result and *b its node (cleared here), gen the store's generation from
 * before the lookup.
 */
static int serve_render_sel(struct app *a, int rc, struct bootsel *b, uint64_t gen,
			    enum bootsel_key key, const char *value, const char *self,
			    unsigned retry, int64_t start, struct buf *out,
			    struct bootcache_meta *meta)
{
	const struct config *cfg = app_config(a);
	struct bootscript_env env = {cfg->base_url, cfg->unknown_wait, cfg->retry_max_sleep};
	char why[160];
	int cut = 0;
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
	/* its file downloads come next: no second lookup for them */
	struct buf files;
	buf_init(&files, 3 * 4096);
	(void)serve_put_boot_files(a, b, gen, &files);
	buf_clear(&files);
	meta->node_id = b->node_id;
	serve_fmt(&cut, meta->mac, sizeof(meta->mac), "%s", b->mac);
	if (!b->enabled) {
		meta->kind = METRICS_BOOT_DISABLED;
		serve_fmt(&cut, meta->detail, sizeof(meta->detail), "disabled");
		serve_fmt(&cut, why, sizeof(why), "node %s is disabled", b->name);
		rc = cut < 0 ? cut : bootscript_exit(why, out);
	} else if (b->no_image) {
		meta->kind = METRICS_BOOT_NOIMAGE;
		serve_fmt(&cut, meta->detail, sizeof(meta->detail), "no image for %s in profile %s",
			  b->arch, b->profile);
		serve_fmt(&cut, why, sizeof(why),
			  "no image for %s in profile %s (from %s): give it one in its images",
			  b->arch, b->profile, b->source);
		rc = cut < 0 ? cut : bootscript_wait(&env, why, self, out);
	} else if (!b->has_profile) {
		meta->kind = METRICS_BOOT_NOPROFILE;
		serve_fmt(&cut, meta->detail, sizeof(meta->detail), "no boot profile");
		serve_fmt(&cut, why, sizeof(why),
			  "node %s has no boot profile (none on the node, its groups or the "
			  "defaults)",
			  b->name);
		rc = cut < 0 ? cut : bootscript_wait(&env, why, self, out);
	} else {
		char seed[AUTH_SEED_LEN];
		uint32_t expiry = (uint32_t)(start + cfg->token_ttl);
		auth_seed_make(a->seed_key, b->node_id, expiry, seed);
		meta->kind = METRICS_BOOT_NODE;
		serve_fmt(&cut, meta->detail, sizeof(meta->detail), "profile %s (%s)", b->profile,
			  b->source);
		rc = cut < 0 ? cut : bootscript_node(&env, b, seed, self, retry, out);
	}
	bootsel_clear(b);
	return rc;
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
	struct bootsel b;
	uint64_t gen = store_generation(a->store); /* before the lookup: a change after it wins */
	int rc = bootsel_lookup(a->store, key, value, &b);
	return serve_render_sel(a, rc, &b, gen, key, value, self, retry, start, out, meta);
}

/* The cache key of a key=value script: "mac=..", "name=..", ... */
static int serve_self(enum bootsel_key key, const char *value, char *self, size_t size)
{
	static const char *const keynames[] = {"mac", "name", "nid", "id"};
	int rc = 0;
	serve_fmt(&rc, self, size, "%s=%s", keynames[key], value);
	return rc;
}

/* A script served for key: counted in metrics and, for a node or an unknown MAC, an event. */
static int serve_record(struct app *a, enum bootsel_key key, unsigned retry, const char *client_ip,
			const struct bootcache_meta *meta)
{
	int rc = 0;
	metrics_bootscript(a->metrics, (enum metrics_boot)meta->kind);
	if (meta->node_id != 0 || (key == BOOTSEL_MAC && meta->kind == METRICS_BOOT_UNKNOWN)) {
		char detail[200];
		if (retry > 0)
			serve_fmt(&rc, detail, sizeof(detail), "%s, retry %u", meta->detail, retry);
		else
			serve_fmt(&rc, detail, sizeof(detail), "%s", meta->detail);
		if (rc < 0)
			return rc;
		events_add(a->events, meta->node_id, "bootscript", client_ip, detail, meta->mac,
			   serve_kind_state[meta->kind]);
	}
	return 0;
}

/*
 * serve_render_bootscript() with the cache key given: ckey is self, or
 * self plus the architecture iPXE said (serve_bootscript), so that a
 * node asking as another architecture misses and is learned again.
 */
static int serve_render_keyed(struct app *a, enum bootsel_key key, const char *value,
			      const char *ckey, unsigned retry, const char *client_ip, int record,
			      struct buf *out)
{
	const struct config *cfg = app_config(a);
	char self[96];
	int rc = serve_self(key, value, self, sizeof(self));
	if (rc < 0)
		return rc;
	if (ckey == NULL)
		ckey = self;

	uint64_t gen = store_generation(a->store);
	int64_t now = store_now_us();
	struct bootcache_meta meta;
	int hit = retry == 0 && bootcache_get(a->bootcache, ckey, gen, now, out, &meta);
	metrics_bootcache(a->metrics, hit);

	if (!hit) {
		int64_t valid_until;
		int64_t start = serve_window(cfg, now, &valid_until);
		rc = serve_render_fresh(a, key, value, self, retry, start, out, &meta);
		if (rc < 0)
			return rc;
		/* Not an operator's preview (record 0): one look at a node, and
		 * 10,000 of them (a tool mirroring every script) would push the
		 * nodes' own out of the cache. */
		if (retry == 0 && record)
			bootcache_put_reply(a->bootcache, ckey, gen, valid_until, buf_str(out),
					    out->len, &meta, SERVE_CTYPE);
	}
	return record ? serve_record(a, key, retry, client_ip, &meta) : 0;
}

int serve_render_bootscript(struct app *a, enum bootsel_key key, const char *value, unsigned retry,
			    const char *client_ip, int record, struct buf *out)
{
	return serve_render_keyed(a, key, value, NULL, retry, client_ip, record, out);
}

int64_t serve_window_end(struct app *a, int64_t now_us)
{
	int64_t until;
	serve_window(app_config(a), now_us, &until);
	return until;
}

int serve_prerender(struct app *a, const char *mac)
{
	struct bootcache_meta meta;
	struct bootsel b;
	char self[32], ckey[64];
	int rc = 0;
	uint64_t gen = store_generation(a->store); /* before the lookup, as for a request */
	int64_t now = store_now_us(), until;
	int64_t start = serve_window(app_config(a), now, &until);
	serve_fmt(&rc, self, sizeof(self), "mac=%s", mac);
	if (rc < 0)
		return rc;
	rc = bootsel_lookup(a->store, BOOTSEL_MAC, mac, &b);
	if (rc < 0)
		return rc == -ENOENT ? 0 : rc; /* gone meanwhile */
	/* The key its request will have (serve_bootscript): iPXE's arch once
	 * the node's is learned or set; none before (the request that learns
	 * it must miss, to record it). */
	serve_fmt(&rc, ckey, sizeof(ckey), "%s|%s", self,
		  strcmp(b.arch_source, "default") != 0 ? b.arch : "");
	if (rc < 0 || bootcache_has(a->bootcache, ckey, gen, now)) {
		bootsel_clear(&b);
		return rc;
	}
	struct buf out;
	buf_init(&out, SERVE_SCRIPT_MAX);
	rc = serve_render_sel(a, 0, &b, gen, BOOTSEL_MAC, mac, self, 0, start, &out, &meta);
	if (rc == 0)
		bootcache_put_reply(a->bootcache, ckey, gen, until, buf_str(&out), out.len, &meta,
				    SERVE_CTYPE);
	buf_clear(&out);
	return rc < 0 ? rc : 1;
}

/* bootcache_reply()'s callback: queues the prepared answer on the request. */
static int serve_queue(void *arg, struct MHD_Response *resp, size_t len)
{
	return http_reply_shared(arg, 200, resp, len);
}

/*
 * The hot path: a fresh prepared script for key=value queued as it is (no
 * query, no copy).  1 answered (and recorded), 0 not cached, or an error.
 */
static int serve_bootscript_cached(struct http_req *r, enum bootsel_key key, const char *ckey)
{
	struct app *a = r->ctx;
	struct bootcache_meta meta;
	int qrc = 0;
	if (!bootcache_reply(a->bootcache, ckey, store_generation(a->store), store_now_us(),
			     serve_queue, r, &meta, &qrc))
		return 0;
	metrics_bootcache(a->metrics, 1);
	if (qrc < 0)
		return qrc;
	int rc = serve_record(a, key, 0, r->client_ip, &meta);
	return rc < 0 ? rc : 1;
}

/* Whether node_identity = token: no tie by address (ident.h). */
static bool serve_token_only(struct app *a)
{
	return strcmp(app_config(a)->node_identity, "token") == 0;
}

/* The generation a memo of an address lookup is fresh in: the store's and the leases'. */
static uint64_t serve_memo_gen(struct app *a)
{
	return store_generation(a->store) + store_lease_generation(a->store);
}

/*
 * A memo of a lookup by address (key "addr SRC", "ip SRC"): its result
 * (kind), node and text.  The kind (>= 0) on a fresh hit, -1 on a miss.
 */
static int serve_memo_get(struct app *a, const char *key, int64_t *node, char *why, size_t len)
{
	struct bootcache_meta m;
	struct buf memo;
	int rc = -1;
	buf_init(&memo, len > 0 ? len - 1 : 0);
	if (bootcache_get(a->bootcache, key, serve_memo_gen(a), store_now_us(), &memo, &m)) {
		*node = m.node_id;
		if (len > 0)
			snprintf(why, len, "%s", buf_str(&memo));
		rc = m.kind;
	}
	buf_clear(&memo);
	return rc;
}

/* Remembers a lookup's result for SERVE_TIE_MEMO_US at most (gen: from before it ran). */
static void serve_memo_put(struct app *a, const char *key, uint64_t gen, int kind, int64_t node,
			   const char *why)
{
	struct bootcache_meta m;
	memset(&m, 0, sizeof(m));
	m.node_id = node;
	m.kind = kind;
	bootcache_put(a->bootcache, key, gen, store_now_us() + SERVE_TIE_MEMO_US, why, strlen(why),
		      &m);
}

/*
 * ident_check_mac() for a known MAC asked from src, remembered in the boot
 * cache ("tie MAC SRC") while neither the store (nodes, their reserved
 * addresses) nor the leases have changed, for SERVE_TIE_MEMO_US at most
 * (a lease may expire meanwhile): a node asking again and again (a boot
 * storm, its retries) costs one lookup, not three queries.  0 tied, 1 not
 * (why), or a store error.  Unknown MACs are not remembered: they get a
 * script that waits anyway, and any number of them can be made up.
 */
static int serve_tie_mac(struct app *a, const char *mac, const char *src, int64_t *node, char *why,
			 size_t len)
{
	uint64_t gen = store_generation(a->store) + store_lease_generation(a->store);
	int64_t now_us = store_now_us();
	struct bootcache_meta m;
	struct buf memo;
	char key[96];
	int rc = 0;
	serve_fmt(&rc, key, sizeof(key), "tie %s %s", mac, src);
	if (rc < 0)
		return rc;
	buf_init(&memo, len);
	if (bootcache_get(a->bootcache, key, gen, now_us, &memo, &m)) {
		*node = m.node_id;
		serve_fmt(&rc, why, len, "%s", buf_str(&memo));
		buf_clear(&memo);
		return rc < 0 ? rc : m.kind;
	}
	buf_clear(&memo);
	rc = store_node_by_mac(a->store, mac, node);
	if (rc == -ENOENT)
		return 0;
	if (rc == 0)
		rc = ident_check_mac(a->store, mac, *node, src, now_us / 1000000, why, len);
	if (rc != 0 && rc != -EACCES)
		return rc;
	memset(&m, 0, sizeof(m));
	m.node_id = *node;
	m.kind = rc == -EACCES;
	const char *text = rc == -EACCES ? why : "";
	bootcache_put(a->bootcache, key, gen, now_us + SERVE_TIE_MEMO_US, text, strlen(text), &m);
	return m.kind;
}

/*
 * May this request have the script key=value names (ident.h)?  0 yes (an
 * unknown MAC too: it only gets a script that waits).  1 no, but a mac=
 * request gets a script that waits (its node's iPXE stops at a 4xx, and
 * its lease may not be recorded yet): *node and why say whose and why.
 * -EACCES no, answered 403 here (name=, nid=).  Else a store error.
 */
static int serve_tie(struct http_req *r, enum bootsel_key key, const char *value, int64_t *node,
		     char *why, size_t len)
{
	struct app *a = r->ctx;
	int64_t now = store_now_us() / 1000000;
	int rc;
	*node = 0;
	if (key == BOOTSEL_MAC)
		return serve_tie_mac(a, value, r->client_ip, node, why, len);
	if (serve_token_only(a)) {
		http_reply_error(r, 403, "forbidden", key == BOOTSEL_NAME ? "name" : "nid",
				 "node_identity = token: boot scripts by name= or nid= are not "
				 "served; boot by mac=");
		return -EACCES;
	}
	rc = key == BOOTSEL_NAME ? store_node_id(a->store, value, node) :
				   store_node_by_nid(a->store, strtoll(value, NULL, 10), node);
	if (rc == 0)
		rc = ident_check_node(a->store, *node, r->client_ip, now, why, len);
	if (rc == -ENOENT) /* said as for a node elsewhere: names are not to be probed */
		rc = ident_check_node(a->store, 0, r->client_ip, now, why, len);
	if (rc == -EACCES)
		http_reply_error(r, 403, "forbidden", key == BOOTSEL_NAME ? "name" : "nid", "%s",
				 why);
	return rc;
}

/* The script for a mac= request not tied to its node: it waits and asks again. */
static int serve_refused(struct http_req *r, const char *mac, int64_t node, const char *why)
{
	struct app *a = r->ctx;
	const struct config *cfg = app_config(a);
	struct bootscript_env env = {cfg->base_url, cfg->unknown_wait, cfg->retry_max_sleep};
	char self[32], detail[160];
	int rc = 0;
	serve_fmt(&rc, self, sizeof(self), "mac=%s", mac);
	serve_fmt(&rc, detail, sizeof(detail), "refused: asked from %s, not this node's address",
		  r->client_ip);
	if (rc < 0)
		return rc;
	struct buf out;
	buf_init(&out, SERVE_SCRIPT_MAX);
	rc = bootscript_wait(&env, why, self, &out);
	if (rc == 0)
		rc = http_reply_data(r, 200, "text/plain; charset=utf-8", buf_str(&out), out.len);
	buf_clear(&out);
	metrics_bootscript(a->metrics, METRICS_BOOT_REFUSED);
	/* On the node's timeline, without its MAC: the address is not the node's. */
	events_add(a->events, node, "bootscript", r->client_ip, detail, NULL, NULL);
	log_debug("bootscript: %s refused to %s: %s", mac, r->client_ip, why); /* no flood */
	return rc;
}

int serve_bootscript(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *mac = http_query(r, "mac");
	const char *name = http_query(r, "name");
	const char *nid = http_query(r, "nid");
	const char *retry_s = http_query(r, "retry");
	char norm[VALID_MAC_LEN + 1], nidbuf[24], why[320];
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

	int64_t node;
	int rc = serve_tie(r, key, value, &node, why, sizeof(why));
	if (rc == -EACCES)
		return 0; /* answered */
	if (rc == 1)
		return serve_refused(r, value, node, why);
	if (rc < 0)
		return rc;
	/* iPXE's ${buildarch} (any other value is ignored: the URL is the
	 * node's to write) is part of the cache key: a node asking as another
	 * architecture misses, and is learned (a change writes the store,
	 * which empties the cache) before its script is made.  A hit answers
	 * without a query. */
	const char *arch = arch_of_ipxe(http_query(r, "arch"));
	char ckey[128];
	if (serve_self(key, value, ckey, sizeof(ckey) - 32) < 0)
		return http_reply_error(r, 400, "bad_request",
					key == BOOTSEL_MAC  ? "mac" :
					key == BOOTSEL_NAME ? "name" :
							      "nid",
					"too long");
	size_t klen = strlen(ckey);
	serve_fmt(&rc, ckey + klen, sizeof(ckey) - klen, "|%s", arch ? arch : "");
	if (rc < 0)
		return rc;
	if (retry == 0 && (rc = serve_bootscript_cached(r, key, ckey)) != 0)
		return rc < 0 ? rc : 0;
	archlearn_record(a->store, a->events, node, arch, "ipxe", "bootscript", r->client_ip,
			 "iPXE (${buildarch})");
	struct buf out;
	buf_init(&out, SERVE_SCRIPT_MAX);
	rc = serve_render_keyed(a, key, value, ckey, retry, r->client_ip, 1, &out);
	if (rc == 0)
		rc = http_reply_data(r, 200, "text/plain; charset=utf-8", buf_str(&out), out.len);
	buf_clear(&out);
	return rc;
}

/*
 * ident_by_address(), remembered in the cache ("addr SRC": 0 the node,
 * 1 none, 2 more than one, why) while the store and the leases stand, for
 * SERVE_TIE_MEMO_US at most: a node's cloud-init fetches cost one lookup.
 */
static int serve_by_address(struct app *a, const char *src, int64_t *node_id, char *why, size_t len)
{
	static const int rcs[] = {0, -ENOENT, -ENOTUNIQ};
	char key[96];
	int rc = 0;
	serve_fmt(&rc, key, sizeof(key), "addr %s", src);
	if (rc < 0)
		return rc;
	int kind = serve_memo_get(a, key, node_id, why, len);
	if (kind >= 0 && kind <= 2)
		return rcs[kind];
	uint64_t gen = serve_memo_gen(a);
	rc = ident_by_address(a->store, src, store_now_us() / 1000000, node_id, why, len);
	if (rc == 0 || rc == -ENOENT || rc == -ENOTUNIQ)
		serve_memo_put(a, key, gen,
			       rc == 0       ? 0 :
			       rc == -ENOENT ? 1 :
					       2,
			       rc == 0 ? *node_id : 0, rc == -ENOTUNIQ ? why : "");
	return rc;
}

/*
 * The node a cloud-init request comes from, by its seed token or (without
 * one) by the one node holding the source address now (ident.h).  On
 * -EACCES and -ENOENT the answer is out (403, 404 or 409).
 */
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
	if (serve_token_only(a)) {
		http_reply_error(
			r, 403, "forbidden", NULL,
			"node_identity = token: cloud-init needs the token of the seed URL "
			"(ds=nocloud-net;s=.../cloud-init/<token>/)");
		return -EACCES;
	}
	char why[320];
	int rc = serve_by_address(a, r->client_ip, node_id, why, sizeof(why));
	if (rc == -ENOENT)
		http_reply_error(
			r, 404, "not_found", NULL,
			"no node holds address %s now (no DHCP lease or reserved address); "
			"use the seed URL with its token",
			r->client_ip);
	else if (rc == -ENOTUNIQ)
		http_reply_error(r, 409, "conflict", NULL, "%s", why);
	return rc == -ENOTUNIQ ? -EACCES : rc;
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

/*
 * vendor-data: cloud-init's phone_home pointed at this node's phone-home
 * URL, token included (phone-home takes nothing else).  The node's own
 * user-data may set phone_home too; cloud-init lets user-data win.
 */
static int serve_vendor_data(struct app *a, int64_t node_id, struct buf *out)
{
	char seed[AUTH_SEED_LEN], url[512];
	int rc = 0;
	serve_seed(a, node_id, seed);
	serve_fmt(&rc, url, sizeof(url), "%s/phone-home/%s", app_config(a)->base_url, seed);
	if (rc < 0)
		return rc;
	json_t *v = json_pack("{s:{s:s, s:[s, s], s:i}}", "phone_home", "url", url, "post",
			      "instance_id", "hostname", "tries", 10);
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (text == NULL)
		return -ENOMEM;
	rc = buf_printf(out, "#cloud-config\n%s\n", text);
	free(text);
	return rc;
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
		rc = serve_vendor_data(a, node_id, out);
	json_decref(metas);
	json_decref(uds);
	return rc;
}

/*
 * A node's meta-data and user-data in one cache entry ("ci NODE": one
 * entry a node, not one a document): "LEN0 LEN1\n" and then the two
 * documents one after the other.  The one of kind (0, 1) into out.
 * vendor-data is not kept: it is the node's phone-home URL with this
 * window's token, made in a few microseconds (serve_vendor_data()).
 */
static int serve_cloudinit_pick(const struct buf *all, int kind, struct buf *out)
{
	const char *p = buf_str(all), *end = p + all->len;
	unsigned long len[2];
	for (int k = 0; k < 2; k++) {
		char *next;
		errno = 0;
		len[k] = strtoul(p, &next, 10);
		if (errno != 0 || next == p)
			return -EINVAL;
		p = next;
	}
	if (*p != '\n')
		return -EINVAL;
	p++;
	for (int k = 0; k < kind; k++)
		p += len[k];
	if (p > end || len[kind] > (size_t)(end - p))
		return -EINVAL;
	return buf_add(out, p, len[kind]);
}

/*
 * A miss: the node's meta-data and user-data rendered from one read of
 * its layers (a node fetches both, one after the other) and kept in the
 * cache under key as serve_cloudinit_pick() reads them; both into all.
 * gen, until: the cache's freshness.
 */
static int serve_cloudinit_fill(struct app *a, int64_t node_id, const char *key, uint64_t gen,
				int64_t until, struct buf *all)
{
	char name[64];
	json_t *metas = NULL, *uds = NULL;
	struct bootcache_meta meta;
	struct buf doc[2];
	int rc = bootsel_cloudinit_layers(a->store, node_id, name, sizeof(name), &metas, &uds);
	if (rc < 0)
		return rc;
	for (int k = 0; k < 2; k++)
		buf_init(&doc[k], SERVE_CI_MAX);
	rc = cloudinit_meta_data(name, metas, &doc[0]);
	if (rc == 0)
		rc = cloudinit_user_data(uds, &doc[1]);
	if (rc == 0)
		rc = buf_printf(all, "%zu %zu\n", doc[0].len, doc[1].len);
	for (int k = 0; k < 2; k++) {
		if (rc == 0)
			rc = buf_add(all, doc[k].data, doc[k].len);
		buf_clear(&doc[k]);
	}
	if (rc == 0) {
		memset(&meta, 0, sizeof(meta));
		meta.node_id = node_id;
		bootcache_put(a->bootcache, key, gen, until, all->data, all->len, &meta);
	}
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
	/* The node's documents are the same until the store changes; a
	 * miss also says whether the node still exists (vendor-data too). */
	char key[48];
	serve_fmt(&rc, key, sizeof(key), "ci %lld", (long long)node_id);
	if (rc < 0)
		return rc;
	uint64_t gen = store_generation(a->store);
	int64_t now = store_now_us(), until;
	struct bootcache_meta meta;
	struct buf all, out;
	buf_init(&all, 2 * SERVE_CI_MAX + 64);
	buf_init(&out, SERVE_CI_MAX);
	/* Kept as bytes, not a prepared response: read once or twice a
	 * boot; a copy is cheap, the memory is not (bootcache.h). */
	if (!bootcache_get(a->bootcache, key, gen, now, &all, &meta)) {
		serve_window(app_config(a), now, &until);
		rc = serve_cloudinit_fill(a, node_id, key, gen, until, &all);
		if (rc == -ENOENT) {
			buf_clear(&all);
			buf_clear(&out);
			return http_reply_error(r, 404, "not_found", NULL, "node no longer exists");
		}
	}
	if (rc == 0)
		rc = kind == 2 ? serve_vendor_data(a, node_id, &out) :
				 serve_cloudinit_pick(&all, kind, &out);
	buf_clear(&all);
	if (rc == 0)
		rc = http_reply_data(r, 200, SERVE_CTYPE, buf_str(&out), out.len);
	buf_clear(&out);
	if (rc == 0 && r->method_id == HTTP_GET)
		events_add(a->events, node_id, "cloud-init", r->client_ip, file, NULL, NULL);
	return rc;
}

/*
 * cloud-init's phone_home: the node's token in the path (vendor-data puts
 * it there), never the form (anyone can write a host name) nor the source
 * address (docs/security.md).  The form is not read.
 */
int serve_phone_home(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *token = r->args[0];
	int64_t node_id = 0;
	char name[64];

	if (token == NULL)
		return http_reply_error(
			r, 403, "forbidden", NULL,
			"phone-home needs the node's token: POST /phone-home/<token>, "
			"the token of its cloud-init seed URL (Corral's vendor-data "
			"points cloud-init's phone_home there)");
	int rc = serve_identify(r, token, &node_id);
	if (rc < 0)
		return rc == -EACCES ? 0 : rc;
	rc = store_node_name(a->store, node_id, name, sizeof(name));
	if (rc == -ENOENT)
		return http_reply_error(r, 404, "not_found", NULL, "node no longer exists");
	if (rc < 0)
		return rc;
	events_add(a->events, node_id, "phone-home", r->client_ip, "ready", NULL, "ready");
	return http_reply_json(r, 200, json_pack("{s:s, s:s}", "node", name, "state", "ready"));
}

/*
 * The node holding client_ip (store_node_by_ip()), remembered in the cache
 * ("ip SRC": kind 0 found, 1 none) like the other address lookups.
 */
static int serve_node_by_ip(struct app *a, const char *src, int64_t *node_id)
{
	char key[96], none[1];
	int rc = 0;
	serve_fmt(&rc, key, sizeof(key), "ip %s", src);
	if (rc < 0)
		return rc;
	int kind = serve_memo_get(a, key, node_id, none, sizeof(none));
	if (kind == 0 || kind == 1)
		return kind == 0 ? 0 : -ENOENT;
	uint64_t gen = serve_memo_gen(a);
	rc = store_node_by_ip(a->store, src, node_id);
	if (rc == 0 || rc == -ENOENT)
		serve_memo_put(a, key, gen, rc == 0 ? 0 : 1, rc == 0 ? *node_id : 0, "");
	return rc;
}

/*
 * The node's boot files, "kernel\ninitrd\nrootfs" (an empty line for one
 * it has not), into out: from the cache ("stage NODE", fresh while the
 * store stands: images and profiles change through it) or looked up once.
 */
static int serve_boot_files(struct app *a, int64_t node_id, struct buf *out)
{
	struct bootcache_meta m;
	struct bootsel b;
	char key[32], id[24];
	int rc = 0;
	serve_fmt(&rc, key, sizeof(key), "stage %lld", (long long)node_id);
	serve_fmt(&rc, id, sizeof(id), "%lld", (long long)node_id);
	if (rc < 0)
		return rc;
	uint64_t gen = store_generation(a->store);
	if (bootcache_get(a->bootcache, key, gen, store_now_us(), out, &m))
		return 0;
	rc = bootsel_lookup(a->store, BOOTSEL_ID, id, &b);
	if (rc < 0)
		return rc;
	rc = serve_put_boot_files(a, &b, gen, out);
	bootsel_clear(&b);
	return rc;
}

/* Whether location (a path below /files/ or a URL ending in one) names relpath. */
static bool serve_names_file(const char *l, size_t n, const char *relpath)
{
	size_t rl = strlen(relpath);
	if (n == rl && memcmp(l, relpath, n) == 0)
		return true;
	for (const char *f = l; (f = memmem(f, (size_t)(l + n - f), "/files/", 7)) != NULL; f++)
		if ((size_t)(l + n - (f + 7)) == rl && memcmp(f + 7, relpath, rl) == 0)
			return true;
	return false;
}

/* Which boot file a path is for the node: "kernel", "initrd", "rootfs" or "file". */
static const char *serve_file_stage(struct app *a, int64_t node_id, const char *relpath)
{
	static const char *const names[] = {"kernel", "initrd", "rootfs"};
	const char *stage = "file";
	struct buf files;
	buf_init(&files, 3 * 4096);
	if (serve_boot_files(a, node_id, &files) == 0 && files.len > 0) {
		const char *l = buf_str(&files);
		for (int i = 0; i < 3 && l != NULL; i++) {
			const char *nl = strchr(l, '\n');
			size_t n = nl ? (size_t)(nl - l) : strlen(l);
			if (n > 0 && serve_names_file(l, n, relpath)) {
				stage = names[i];
				break;
			}
			l = nl ? nl + 1 : NULL;
		}
	}
	buf_clear(&files);
	return stage;
}

/*
 * A large transfer (stage is a kernel, initrd or root image) takes an
 * admission slot, given back when the request is done.  0 admitted (or
 * not large), 1 refused and answered 503 with Retry-After (an event on
 * the node's timeline says so), or an error.
 */
static int serve_admit(struct http_req *r, int64_t node_id, const char *stage, const char *relpath)
{
	struct app *a = r->ctx;
	unsigned wait;
	if (strcmp(stage, "file") == 0 || r->method_id != HTTP_GET)
		return 0;
	if (admit_try(a->admit, &wait)) {
		r->on_done = admit_release_cb;
		r->on_done_arg = a->admit;
		return 0;
	}
	char secs[16], detail[160];
	int rc = 0;
	serve_fmt(&rc, secs, sizeof(secs), "%u", wait);
	serve_fmt(&rc, detail, sizeof(detail), "%s: busy (503), retry in %u s", relpath, wait);
	if (rc < 0)
		return rc;
	events_add(a->events, node_id, stage, r->client_ip, detail, NULL, NULL);
	rc = http_reply_error_hdr(r, 503, MHD_HTTP_HEADER_RETRY_AFTER, secs, "busy",
				  "%u large downloads run already (server.max_large_transfers); "
				  "retry in %u s",
				  app_config(a)->max_large, wait);
	return rc < 0 ? rc : 1;
}

int serve_files(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *relpath = r->args[0];
	const char *stage = "file";
	int64_t node_id = 0;
	int known = serve_node_by_ip(a, r->client_ip, &node_id) == 0;
	if (known) {
		stage = serve_file_stage(a, node_id, relpath);
		int rc = serve_admit(r, node_id, stage, relpath);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	int rc = files_serve(app_files(a), r, relpath);
	if (rc < 0 || r->method_id != HTTP_GET || (r->status != 200 && r->status != 206))
		return rc;
	/* A download from the start is a boot step; later ranges are not. */
	const char *range = http_header(r, MHD_HTTP_HEADER_RANGE);
	if (range != NULL && strncmp(range, "bytes=0-", 8) != 0)
		return 0;
	if (known)
		events_add(a->events, node_id, stage, r->client_ip, relpath, NULL, NULL);
	return 0;
}

/*
 * /firmware/: the iPXE binaries (dhcp.ipxe_dir: `make firmware`'s tree or
 * Debian's /usr/lib/ipxe), which UEFI HTTP boot fetches instead of TFTP.
 * Opened per request (one binary a boot; a reload may name another
 * directory).  A whole download by a node is a "firmware" step.
 */
int serve_firmware(struct http_req *r)
{
	struct app *a = r->ctx;
	struct files *f;
	int64_t node_id;
	if (files_open(app_config(a)->dhcp.ipxe_dir, &f) < 0)
		return http_reply_error(r, 404, "not_found", NULL, "no firmware directory");
	int rc = files_serve(f, r, r->args[0]);
	files_free(f);
	if (rc == 0 && r->method_id == HTTP_GET && r->status == 200 &&
	    serve_node_by_ip(a, r->client_ip, &node_id) == 0)
		events_add(a->events, node_id, "firmware", r->client_ip, r->args[0], NULL, NULL);
	return rc;
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
			 "# HELP corral_large_transfers Kernel, initrd and root image downloads "
			 "running (server.max_large_transfers).\n"
			 "# TYPE corral_large_transfers gauge\ncorral_large_transfers %u\n"
			 "# HELP corral_large_transfers_refused_total Large downloads answered 503 "
			 "(admission control).\n"
			 "# TYPE corral_large_transfers_refused_total counter\n"
			 "corral_large_transfers_refused_total %llu\n"
			 "# HELP corral_cache_bytes Bytes of prepared answers and lookups kept "
			 "(boot.cache_kib).\n"
			 "# TYPE corral_cache_bytes gauge\ncorral_cache_bytes %zu\n"
			 "# HELP corral_cache_entries Entries of that cache.\n"
			 "# TYPE corral_cache_entries gauge\ncorral_cache_entries %zu\n"
			 "# HELP corral_up_seconds Seconds since corrald started.\n"
			 "# TYPE corral_up_seconds gauge\ncorral_up_seconds %lld\n",
			 (unsigned long long)events_dropped(a->events), admit_active(a->admit),
			 (unsigned long long)admit_refused(a->admit), bootcache_bytes(a->bootcache),
			 bootcache_count(a->bootcache),
			 (long long)((store_now_us() - a->started_us) / 1000000));
	if (rc == 0)
		rc = http_reply_data(r, 200, "text/plain; version=0.0.4", buf_str(&out), out.len);
	buf_clear(&out);
	return rc;
}
