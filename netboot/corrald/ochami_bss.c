/*
 * ochami_bss: OpenCHAMI's Boot Script Service (BSS) boot parameters under
 * /boot/v1/bootparameters, over Corral's nodes, groups, profiles and
 * defaults (ochami.h; docs/openchami.md has the table).
 *
 * BSS keeps {kernel, initrd, params} per host; Corral boots a node from a
 * boot profile (node → group → default).  A write here does what an
 * operator would do by hand: one profile holding the kernel, initrd and
 * command line (named "bss-" + a digest of the three, so equal boot
 * parameters share one profile), and each target naming it: a node's own
 * "profile" (its own "params" cleared: the profile now holds the whole
 * command line), a group's profile when a host names a group, the
 * defaults' when it is "Default".  A read resolves what each node boots,
 * exactly as its boot script would.  cloud-init data given with the boot
 * parameters goes to the node's (or group's) metadata and user-data.
 *
 * Atomicity: everything is validated before the first write, so a request
 * with one bad MAC, host, NID or location writes nothing.  The nodes of
 * one request are written in one transaction (store_node_import); the
 * profile it needs is created first and removed again if that
 * transaction fails.  Profiles named bss-… that no longer have users are
 * removed afterwards.
 */
#include "ochami.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "bootsel.h"
#include "cloudinit.h"
#include "digest.h"
#include "log.h"
#include "valid.h"

#define BSS_PREFIX "bss-"
#define BSS_DEFAULT "Default" /* BSS's host name for nodes nothing else configures */

enum bss_op { BSS_POST, BSS_PUT, BSS_PATCH, BSS_DELETE };

/* A BootParams body, validated. */
struct bss_req {
	json_t *hosts;                        /* array of names */
	json_t *macs;                         /* array of MACs in normal form */
	json_t *nids;                         /* array of integers */
	const char *kernel, *initrd, *params; /* NULL: not given */
	json_t *meta;                         /* cloud-init meta-data object, or NULL */
	json_t *user;                         /* cloud-init user-data object, or NULL */
};

static void bss_req_clear(struct bss_req *q)
{
	json_decref(q->hosts);
	json_decref(q->macs);
	json_decref(q->nids);
	memset(q, 0, sizeof(*q));
}

/* What one write changes: copies of the nodes and groups, the defaults. */
struct bss_targets {
	json_t *nodes;   /* name → node object (a copy, or a new node) */
	json_t *groups;  /* name → group object (a copy) */
	json_t *deflt;   /* the defaults object when "Default" is a host, else NULL */
	json_t *old;     /* names of the bss- profiles the targets used before */
	json_t *created; /* names of the profiles this request created */
};

static void bss_targets_clear(struct bss_targets *t)
{
	json_decref(t->nodes);
	json_decref(t->groups);
	json_decref(t->deflt);
	json_decref(t->old);
	json_decref(t->created);
	memset(t, 0, sizeof(*t));
}

/* ---- the body ---------------------------------------------------------------- */

static int bss_parse_lists(struct http_req *r, json_t *body, struct bss_req *q)
{
	size_t i;
	json_t *v;
	json_t *hosts = json_object_get(body, "hosts");
	json_t *macs = json_object_get(body, "macs");
	json_t *nids = json_object_get(body, "nids");
	if ((hosts && !json_is_array(hosts) && !json_is_null(hosts)) ||
	    (macs && !json_is_array(macs) && !json_is_null(macs)) ||
	    (nids && !json_is_array(nids) && !json_is_null(nids)))
		return ochami_fail(r, 400, "Bad Request: %s must be arrays",
				   "hosts, macs and nids");
	q->hosts = json_array();
	q->macs = json_array();
	q->nids = json_array();
	json_array_foreach(hosts, i, v) {
		const char *h = json_string_value(v);
		if (h == NULL || valid_name(h) < 0)
			return ochami_fail(r, 400, "Bad Request: invalid xname: %s",
					   h ? h : "(not a string)");
		json_array_append(q->hosts, v);
	}
	json_array_foreach(macs, i, v) {
		char mac[VALID_MAC_LEN + 1];
		const char *m = json_string_value(v);
		if (m == NULL || valid_mac_normalize(m, mac) < 0)
			return ochami_fail(r, 400, "Bad Request: invalid MAC address format: %s",
					   m ? m : "(not a string)");
		json_array_append_new(q->macs, json_string(mac));
	}
	json_array_foreach(nids, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 2147483648LL)
			return ochami_fail(r, 400, "Bad Request: %s", "invalid nid (1 to 2^31)");
		json_array_append(q->nids, v);
	}
	return 0;
}

/* A location or params string member: NULL when absent or "". */
static int bss_parse_str(struct http_req *r, json_t *body, const char *key, bool loc,
			 const char **out)
{
	json_t *v = json_object_get(body, key);
	const char *why = NULL;
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	const char *s = json_string_value(v);
	if (s == NULL)
		return ochami_fail(r, 400, "Bad Request: %s must be a string", key);
	if (s[0] == '\0')
		return 0;
	if (loc ? valid_location(s, &why) : valid_ipxe_params(s, &why))
		return ochami_fail(r, 400, "Bad Request: %s: %s", key, why ? why : "not accepted");
	*out = s;
	return 0;
}

static int bss_parse_cloudinit(struct http_req *r, json_t *body, struct bss_req *q)
{
	json_t *ci = json_object_get(body, "cloud-init");
	if (ci == NULL || json_is_null(ci))
		return 0;
	if (!json_is_object(ci))
		return ochami_fail(r, 400, "Bad Request: %s must be an object", "cloud-init");
	json_t *meta = json_object_get(ci, "meta-data");
	json_t *user = json_object_get(ci, "user-data");
	if ((meta && !json_is_object(meta) && !json_is_null(meta)) ||
	    (user && !json_is_object(user) && !json_is_null(user)))
		return ochami_fail(r, 400, "Bad Request: %s must be objects",
				   "cloud-init meta-data and user-data");
	q->meta = json_is_object(meta) && json_object_size(meta) > 0 ? meta : NULL;
	q->user = json_is_object(user) && json_object_size(user) > 0 ? user : NULL;
	return 0; /* phone-home: Corral records phone-home itself */
}

/* Parses body into q (borrowing from body).  0, or < 0 after a 400. */
static int bss_parse(struct http_req *r, json_t *body, struct bss_req *q)
{
	memset(q, 0, sizeof(*q));
	if (bss_parse_lists(r, body, q) < 0 || bss_parse_str(r, body, "kernel", true, &q->kernel) ||
	    bss_parse_str(r, body, "initrd", true, &q->initrd) ||
	    bss_parse_str(r, body, "params", false, &q->params) ||
	    bss_parse_cloudinit(r, body, q) < 0)
		return -EINVAL;
	if (json_array_size(q->hosts) + json_array_size(q->macs) + json_array_size(q->nids) == 0)
		return ochami_fail(r, 400,
				   "Bad Request: give hosts, macs or nids (Corral keeps no "
				   "boot parameters without a node)");
	return 0;
}

/* user-data object → "#cloud-config" text, checked as Corral checks it. */
static int bss_user_text(struct http_req *r, json_t *user, char **out)
{
	char err[256];
	char *js = json_dumps(user, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	struct buf b;
	buf_init(&b, 1u << 20);
	int rc = js ? buf_printf(&b, "#cloud-config\n%s\n", js) : -ENOMEM;
	free(js);
	if (rc == 0 && cloudinit_check_user_data(buf_str(&b), err, sizeof(err)) < 0) {
		buf_clear(&b);
		return ochami_fail(r, 400, "Bad Request: cloud-init user-data: %s", err);
	}
	if (rc < 0) {
		buf_clear(&b);
		return ochami_fail(r, 400, "Bad Request: cloud-init user-data larger than 1 MiB");
	}
	*out = buf_take(&b);
	return 0;
}

/* ---- boot parameters as BSS shows them ----------------------------------------- */

/* A node's user-data as an object when it is #cloud-config, else null. */
static json_t *bss_user_object(const char *text)
{
	char err[64];
	json_t *j = NULL;
	if (text == NULL || !cloudinit_is_cloud_config(text) ||
	    cloudinit_yaml_parse(text, &j, err, sizeof(err)) < 0 || !json_is_object(j)) {
		json_decref(j);
		return json_null();
	}
	return j;
}

static json_t *bss_cloudinit(json_t *metadata, const char *user_data)
{
	json_t *meta = json_is_object(metadata) && json_object_size(metadata) > 0 ?
			       json_incref(metadata) :
			       json_null();
	return json_pack("{s:o, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:s}}", "meta-data", meta,
			 "user-data", bss_user_object(user_data), "phone-home", "pub_key_dsa", "",
			 "pub_key_rsa", "", "pub_key_ecdsa", "", "instance_id", "", "hostname", "",
			 "fqdn", "");
}

/* BootParams members that Go leaves out when empty. */
static void bss_set_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		json_object_set_new(o, key, json_string(v));
}

/* What node boots, as a BootParams object; NULL when it has no boot profile. */
static json_t *bss_node_entry(struct app *a, json_t *node)
{
	const char *name = json_string_value(json_object_get(node, "name"));
	struct bootsel b;
	if (bootsel_lookup(a->store, BOOTSEL_NAME, name, &b) < 0)
		return NULL;
	json_t *e = NULL;
	if (b.has_profile) {
		e = json_pack("{s:[s]}", "hosts", name);
		json_t *macs = ochami_node_macs(node);
		if (json_array_size(macs) > 0)
			json_object_set_new(e, "macs", macs);
		else
			json_decref(macs);
		json_t *nid = json_object_get(node, "nid");
		if (json_is_integer(nid))
			json_object_set_new(e, "nids", json_pack("[O]", nid));
		bss_set_str(e, "params", b.params);
		bss_set_str(e, "kernel", b.kernel);
		bss_set_str(e, "initrd", b.initrd);
		json_object_set_new(
			e, "cloud-init",
			bss_cloudinit(json_object_get(node, "metadata"),
				      json_string_value(json_object_get(node, "user_data"))));
	}
	bootsel_clear(&b);
	return e;
}

/*
 * A profile's kernel, initrd and params (image params first), as the boot
 * script would use them.  0, or -ENOENT.  The strings are new (free()).
 */
static int bss_profile_locs(struct app *a, const char *profile, char **kernel, char **initrd,
			    char **params)
{
	json_t *p = NULL, *img = NULL;
	int rc = store_obj_get(a->store, STORE_PROFILE, profile, &p);
	if (rc < 0)
		return rc;
	const char *image = json_string_value(json_object_get(p, "image"));
	if (image != NULL && (rc = store_obj_get(a->store, STORE_IMAGE, image, &img)) < 0) {
		json_decref(p);
		return rc;
	}
	json_t *src = img ? img : p;
	const char *k = json_string_value(json_object_get(src, "kernel"));
	const char *i = json_string_value(json_object_get(src, "initrd"));
	const char *ip = img ? json_string_value(json_object_get(img, "params")) : "";
	const char *pp = json_string_value(json_object_get(p, "params"));
	struct buf b;
	buf_init(&b, 8192);
	buf_printf(&b, "%s%s%s", ip ? ip : "", ip && ip[0] && pp && pp[0] ? " " : "", pp ? pp : "");
	*kernel = strdup(k ? k : "");
	*initrd = strdup(i ? i : "");
	*params = buf_take(&b);
	if (*params == NULL)
		*params = strdup("");
	json_decref(p);
	json_decref(img);
	return 0;
}

/* A group's (or the defaults') boot parameters under host name; NULL if it has no profile. */
static json_t *bss_profile_entry(struct app *a, const char *host, json_t *obj)
{
	const char *profile = json_string_value(json_object_get(obj, "profile"));
	char *k = NULL, *i = NULL, *p = NULL;
	if (profile == NULL || bss_profile_locs(a, profile, &k, &i, &p) < 0)
		return NULL;
	json_t *e = json_pack("{s:[s]}", "hosts", host);
	bss_set_str(e, "params", p);
	bss_set_str(e, "kernel", k);
	bss_set_str(e, "initrd", i);
	json_object_set_new(e, "cloud-init",
			    bss_cloudinit(json_object_get(obj, "metadata"),
					  json_string_value(json_object_get(obj, "user_data"))));
	free(k);
	free(i);
	free(p);
	return e;
}

json_t *ochami_bss_all(struct app *a, const struct ochami_inv *inv)
{
	json_t *out = json_array(), *groups = NULL, *d = NULL;
	size_t i;
	json_t *n;
	json_array_foreach(inv->nodes, i, n) {
		json_t *e = bss_node_entry(a, n);
		if (e != NULL)
			json_array_append_new(out, e);
	}
	if (store_obj_list(a->store, STORE_GROUP, &groups) == 0) {
		json_array_foreach(groups, i, n) {
			json_t *e = bss_profile_entry(
				a, json_string_value(json_object_get(n, "name")), n);
			if (e != NULL)
				json_array_append_new(out, e);
		}
		json_decref(groups);
	}
	if (store_defaults_get(a->store, &d) == 0) {
		json_t *e = bss_profile_entry(a, BSS_DEFAULT, d);
		if (e != NULL)
			json_array_append_new(out, e);
		json_decref(d);
	}
	return out;
}

/* Appends the entry of node (once: seen holds the names done). */
static void bss_add_node(struct app *a, json_t *out, json_t *seen, json_t *node)
{
	const char *name = json_string_value(json_object_get(node, "name"));
	if (node == NULL || json_object_get(seen, name) != NULL)
		return;
	json_object_set_new(seen, name, json_true());
	json_t *e = bss_node_entry(a, node);
	if (e != NULL)
		json_array_append_new(out, e);
}

/* One comma-separated query list: calls back for each item. */
static int bss_query_each(const char *list, int (*fn)(void *ctx, const char *item), void *ctx)
{
	if (list == NULL)
		return 0;
	char item[128];
	for (const char *p = list; *p != '\0';) {
		const char *end = strchrnul(p, ',');
		size_t n = (size_t)(end - p);
		if (n > 0 && n < sizeof(item)) {
			memcpy(item, p, n);
			item[n] = '\0';
			int rc = fn(ctx, item);
			if (rc < 0)
				return rc;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
}

struct bss_get_ctx {
	struct http_req *r;
	struct app *a;
	struct ochami_inv *inv;
	json_t *out, *seen;
	const char *badnid;
};

static int bss_get_name(void *ctx, const char *name)
{
	struct bss_get_ctx *g = ctx;
	json_t *node = ochami_inv_by_name(g->inv, name);
	json_t *obj = NULL;
	if (node != NULL) {
		bss_add_node(g->a, g->out, g->seen, node);
	} else if (strcmp(name, BSS_DEFAULT) == 0 && store_defaults_get(g->a->store, &obj) == 0) {
		json_t *e = bss_profile_entry(g->a, BSS_DEFAULT, obj);
		if (e != NULL)
			json_array_append_new(g->out, e);
	} else if (store_obj_get(g->a->store, STORE_GROUP, name, &obj) == 0) {
		json_t *e = bss_profile_entry(g->a, name, obj);
		if (e != NULL)
			json_array_append_new(g->out, e);
	}
	json_decref(obj);
	return 0;
}

static int bss_get_mac(void *ctx, const char *m)
{
	struct bss_get_ctx *g = ctx;
	char mac[VALID_MAC_LEN + 1];
	if (valid_mac_normalize(m, mac) == 0)
		bss_add_node(g->a, g->out, g->seen, ochami_inv_by_mac(g->inv, mac));
	return 0;
}

static int bss_get_nid(void *ctx, const char *s)
{
	struct bss_get_ctx *g = ctx;
	long long nid;
	if (valid_parse_ll(s, 0, 4294967295LL, &nid) < 0) {
		g->badnid = s;
		return -EINVAL;
	}
	bss_add_node(g->a, g->out, g->seen, ochami_inv_by_nid(g->inv, nid));
	return 0;
}

/* GET with the query lists name, mac, nid (NULL: not given). */
static int bss_get_with(struct http_req *r, struct ochami_inv *inv, const char *name,
			const char *mac, const char *nid)
{
	struct app *a = r->ctx;
	if (name == NULL && mac == NULL && nid == NULL)
		return http_reply_json(r, 200, ochami_bss_all(a, inv));
	struct bss_get_ctx g = {r, a, inv, json_array(), json_object(), NULL};
	int rc = bss_query_each(name, bss_get_name, &g);
	if (rc == 0)
		rc = bss_query_each(mac, bss_get_mac, &g);
	if (rc == 0)
		rc = bss_query_each(nid, bss_get_nid, &g);
	json_decref(g.seen);
	if (rc < 0) {
		json_decref(g.out);
		char bad[96];
		snprintf(bad, sizeof(bad), "%.80s", g.badnid ? g.badnid : "");
		return http_reply_error(r, 400, "bad_request", NULL,
					"Bad Request - Invalid nid '%s'", bad);
	}
	if (json_array_size(g.out) == 0) {
		json_decref(g.out);
		const char *what = name ? (mac || nid ? "Hosts, MACs or NIDs" : "Hosts") :
				   mac  ? (nid ? "MACs or NIDs" : "MACs") :
					  "NIDs";
		return http_reply_error(r, 404, "not_found", NULL,
					"Cannot find boot parameters for requested %s", what);
	}
	return http_reply_json(r, 200, g.out);
}

static int bss_get(struct http_req *r)
{
	struct ochami_inv inv;
	char *name = ochami_query_all(r, "name");
	char *mac = ochami_query_all(r, "mac");
	char *nid = ochami_query_all(r, "nid");
	int rc = ochami_inv_load(r, &inv) < 0 ? 0 : bss_get_with(r, &inv, name, mac, nid);
	ochami_inv_clear(&inv);
	free(name);
	free(mac);
	free(nid);
	return rc;
}

/* ---- targets of a write --------------------------------------------------------- */

static void bss_note_old(struct bss_targets *t, json_t *obj)
{
	const char *p = json_string_value(json_object_get(obj, "profile"));
	if (p != NULL && strncmp(p, BSS_PREFIX, strlen(BSS_PREFIX)) == 0)
		json_object_set_new(t->old, p, json_true());
}

static void bss_take_node(struct bss_targets *t, json_t *node)
{
	const char *name = json_string_value(json_object_get(node, "name"));
	if (json_object_get(t->nodes, name) != NULL)
		return;
	bss_note_old(t, node);
	json_object_set_new(t->nodes, name, json_deep_copy(node));
}

/* The node a host, MAC or NID names; creating one where BSS would. */
static int bss_target_host(struct http_req *r, const struct ochami_inv *inv, struct bss_targets *t,
			   const char *h, bool create)
{
	struct app *a = r->ctx;
	json_t *obj = NULL;
	json_t *node = ochami_inv_by_name(inv, h);
	if (node != NULL) {
		bss_take_node(t, node);
		return 0;
	}
	if (strcmp(h, BSS_DEFAULT) == 0) {
		if (t->deflt == NULL) {
			int rc = store_defaults_get(a->store, &t->deflt);
			if (rc < 0) {
				ochami_store_error(r, rc, NULL, "defaults", "");
				return rc;
			}
			bss_note_old(t, t->deflt);
		}
		return 0;
	}
	if (store_obj_get(a->store, STORE_GROUP, h, &obj) == 0) {
		if (json_object_get(t->groups, h) == NULL) {
			bss_note_old(t, obj);
			json_object_set(t->groups, h, obj);
		}
		json_decref(obj);
		return 0;
	}
	if (create && ochami_is_node_xname(h)) {
		json_object_set_new(t->nodes, h, ochami_node_new(h));
		return 0;
	}
	if (create)
		return ochami_fail(r, 400,
				   "Bad Request: %s names no node or group (only a node xname "
				   "makes a new node)",
				   h);
	return ochami_fail(r, 404, "Not Found: no boot parameters for host %s", h);
}

static int bss_target_mac(struct http_req *r, const struct ochami_inv *inv, struct bss_targets *t,
			  const char *mac, bool create)
{
	json_t *node = ochami_inv_by_mac(inv, mac);
	if (node != NULL) {
		bss_take_node(t, node);
		return 0;
	}
	if (!create)
		return ochami_fail(r, 404, "Not Found: no boot parameters for MAC %s", mac);
	/* A machine known by its MAC only: a node named after it, as adopt would. */
	char name[20] = "mac-";
	size_t o = 4;
	for (const char *p = mac; *p && o + 1 < sizeof(name); p++)
		if (*p != ':')
			name[o++] = *p;
	name[o] = '\0';
	if (ochami_inv_by_name(inv, name) != NULL || json_object_get(t->nodes, name) != NULL)
		return ochami_fail(r, 409,
				   "Conflict: MAC %s belongs to no node, and the node a new one "
				   "would be (%s) exists",
				   mac, name);
	json_t *n = ochami_node_new(name);
	json_array_append_new(json_object_get(n, "interfaces"),
			      json_pack("{s:s, s:n}", "mac", mac, "ip"));
	json_object_set_new(t->nodes, name, n);
	return 0;
}

static int bss_targets_find(struct http_req *r, const struct ochami_inv *inv,
			    const struct bss_req *q, enum bss_op op, struct bss_targets *t)
{
	bool create = op == BSS_POST || op == BSS_PUT;
	size_t i;
	json_t *v;
	t->nodes = json_object();
	t->groups = json_object();
	t->old = json_object();
	t->created = json_array();
	json_array_foreach(q->hosts, i, v)
		if (bss_target_host(r, inv, t, json_string_value(v), create) < 0)
			return -EINVAL;
	json_array_foreach(q->macs, i, v)
		if (bss_target_mac(r, inv, t, json_string_value(v), create) < 0)
			return -EINVAL;
	json_array_foreach(q->nids, i, v) {
		json_t *node = ochami_inv_by_nid(inv, json_integer_value(v));
		if (node == NULL)
			return ochami_fail(r, 404,
					   "Not Found: no node has NID %lld (give it one through "
					   "SMD's State/Components or `corral node`)",
					   (long long)json_integer_value(v));
		bss_take_node(t, node);
	}
	return 0;
}

/* POST: refuses targets that have boot parameters of their own already. */
static int bss_check_new(struct http_req *r, const struct bss_targets *t)
{
	const char *key;
	json_t *o;
	json_t *objs[] = {t->nodes, t->groups};
	for (int k = 0; k < 2; k++)
		json_object_foreach(objs[k], key, o)
			if (json_is_string(json_object_get(o, "profile")))
				return ochami_fail(r, 400, "Bad Request: Already exists: %s", key);
	if (t->deflt != NULL && json_is_string(json_object_get(t->deflt, "profile")))
		return ochami_fail(r, 400, "Bad Request: Already exists: %s", BSS_DEFAULT);
	return 0;
}

/* ---- profiles ------------------------------------------------------------------ */

/* The profile for kernel, initrd, params: made unless it exists; its name into out. */
static int bss_profile(struct http_req *r, struct bss_targets *t, const char *kernel,
		       const char *initrd, const char *params, char out[64])
{
	struct app *a = r->ctx;
	struct buf key;
	char hex[DIGEST_HEX_LEN + 1];
	buf_init(&key, 16384);
	int rc = buf_printf(&key, "%s\n%s\n%s", kernel, initrd, params ? params : "");
	digest_sha256_hex(buf_str(&key), key.len, hex);
	buf_clear(&key);
	if (rc < 0)
		return ochami_fail(r, 400, "Bad Request: kernel, initrd and params too long");
	snprintf(out, 64, "%s%.16s", BSS_PREFIX, hex);
	json_t *p = NULL;
	rc = store_obj_get(a->store, STORE_PROFILE, out, &p);
	json_decref(p);
	if (rc == 0)
		return 0;
	if (rc != -ENOENT) {
		ochami_store_error(r, rc, NULL, "profile", out);
		return rc;
	}
	json_t *obj = json_pack("{s:s, s:n, s:s, s:s, s:s}", "name", out, "image", "kernel", kernel,
				"initrd", initrd, "params", params ? params : "");
	struct store_err se = {"", ""};
	bool created;
	rc = store_obj_put(a->store, STORE_PROFILE, obj, false, &created, &se);
	json_decref(obj);
	if (rc < 0) {
		ochami_store_error(r, rc, &se, "profile", out);
		return rc;
	}
	if (created)
		json_array_append_new(t->created, json_string(out));
	return 0;
}

/* Removes the bss- profiles nothing uses any more (best effort). */
static void bss_profiles_gc(struct app *a, json_t *names)
{
	const char *key;
	json_t *v;
	json_object_foreach(names, key, v) {
		struct store_err se = {"", ""};
		(void)store_obj_delete(a->store, STORE_PROFILE, key, &se);
	}
}

static void bss_undo_created(struct app *a, const struct bss_targets *t)
{
	size_t i;
	json_t *v;
	json_array_foreach(t->created, i, v) {
		struct store_err se = {"", ""};
		(void)store_obj_delete(a->store, STORE_PROFILE, json_string_value(v), &se);
	}
}

/* ---- applying a write ------------------------------------------------------------ */

/* meta-data and user-data onto obj: replaced (merge false) or merged key by key. */
static int bss_apply_ci(struct http_req *r, const struct bss_req *q, json_t *obj, bool merge)
{
	if (q->meta != NULL) {
		json_t *m = json_object_get(obj, "metadata");
		if (!merge || !json_is_object(m)) {
			json_object_set_new(obj, "metadata", json_deep_copy(q->meta));
		} else {
			const char *k;
			json_t *v;
			json_object_foreach(q->meta, k, v) {
				if (json_is_null(v))
					json_object_del(m, k);
				else
					json_object_set(m, k, v);
			}
		}
	}
	if (q->user == NULL)
		return 0;
	json_t *user = json_deep_copy(q->user);
	if (merge) {
		json_t *cur = bss_user_object(json_string_value(json_object_get(obj, "user_data")));
		if (json_is_object(cur)) {
			const char *k;
			json_t *v;
			json_object_foreach(q->user, k, v) {
				if (json_is_null(v))
					json_object_del(cur, k);
				else
					json_object_set(cur, k, v);
			}
			json_decref(user);
			user = json_incref(cur);
		}
		json_decref(cur);
	}
	char *text = NULL;
	int rc = bss_user_text(r, user, &text);
	json_decref(user);
	if (rc < 0)
		return rc;
	json_object_set_new(obj, "user_data", json_string(text));
	free(text);
	return 0;
}

/* POST/PUT/DELETE: one profile (or none) for every target. */
static int bss_apply_all(struct http_req *r, const struct bss_req *q, enum bss_op op,
			 struct bss_targets *t)
{
	char profile[64] = "";
	if (op != BSS_DELETE) {
		if (q->kernel == NULL || q->initrd == NULL)
			return ochami_fail(
				r, 400,
				"Bad Request: kernel and initrd are both required (Corral "
				"boots a kernel with its initrd)");
		int rc = bss_profile(r, t, q->kernel, q->initrd, q->params, profile);
		if (rc < 0)
			return rc;
		json_object_del(t->old, profile);
	}
	json_t *pv = op == BSS_DELETE ? json_null() : json_string(profile);
	const char *key;
	json_t *o;
	json_object_foreach(t->nodes, key, o) {
		json_object_set(o, "profile", pv);
		json_object_set_new(o, "params", json_string(""));
		if (op != BSS_DELETE && bss_apply_ci(r, q, o, false) < 0)
			goto err;
	}
	json_object_foreach(t->groups, key, o) {
		json_object_set(o, "profile", pv);
		if (op != BSS_DELETE && bss_apply_ci(r, q, o, false) < 0)
			goto err;
	}
	if (t->deflt != NULL) {
		json_object_set(t->deflt, "profile", pv);
		if (op != BSS_DELETE && bss_apply_ci(r, q, t->deflt, false) < 0)
			goto err;
	}
	json_decref(pv);
	return 0;
err:
	json_decref(pv);
	return -EINVAL;
}

/*
 * PATCH: each target keeps what it boots where the request is silent: the
 * kernel, initrd and params it resolves to now (node → group → default).
 */
static int bss_patch_one(struct http_req *r, const struct bss_req *q, struct bss_targets *t,
			 const char *name, json_t *obj, bool is_node)
{
	struct app *a = r->ctx;
	char *k = NULL, *i = NULL, *p = NULL;
	if (is_node) {
		struct bootsel b;
		if (bootsel_lookup(a->store, BOOTSEL_NAME, name, &b) == 0 && b.has_profile) {
			k = strdup(b.kernel);
			i = strdup(b.initrd);
			p = strdup(b.params ? b.params : "");
		}
		bootsel_clear(&b);
	} else {
		const char *prof = json_string_value(json_object_get(obj, "profile"));
		if (prof != NULL)
			(void)bss_profile_locs(a, prof, &k, &i, &p);
	}
	const char *nk = q->kernel ? q->kernel : k;
	const char *ni = q->initrd ? q->initrd : i;
	const char *np = q->params ? q->params : p;
	int rc = 0;
	if (q->kernel || q->initrd || q->params) {
		char profile[64];
		if (nk == NULL || ni == NULL || nk[0] == '\0' || ni[0] == '\0') {
			rc = ochami_fail(
				r, 404, "Not Found: %s has no kernel and initrd to keep; give both",
				name);
		} else if ((rc = bss_profile(r, t, nk, ni, np, profile)) == 0) {
			json_object_set_new(obj, "profile", json_string(profile));
			if (is_node)
				json_object_set_new(obj, "params", json_string(""));
		}
	}
	if (rc == 0)
		rc = bss_apply_ci(r, q, obj, true);
	free(k);
	free(i);
	free(p);
	return rc;
}

static int bss_apply_patch(struct http_req *r, const struct bss_req *q, struct bss_targets *t)
{
	const char *key;
	json_t *o;
	json_object_foreach(t->nodes, key, o)
		if (bss_patch_one(r, q, t, key, o, true) < 0)
			return -EINVAL;
	json_object_foreach(t->groups, key, o)
		if (bss_patch_one(r, q, t, key, o, false) < 0)
			return -EINVAL;
	if (t->deflt != NULL && bss_patch_one(r, q, t, BSS_DEFAULT, t->deflt, false) < 0)
		return -EINVAL;
	/* profiles still named by a target are not garbage */
	json_t *objs[] = {t->nodes, t->groups};
	for (int n = 0; n < 2; n++)
		json_object_foreach(objs[n], key, o)
			json_object_del(t->old,
					json_string_value(json_object_get(o, "profile")) ?: "");
	if (t->deflt != NULL)
		json_object_del(t->old,
				json_string_value(json_object_get(t->deflt, "profile")) ?: "");
	return 0;
}

/* Writes groups, defaults, then the nodes in one transaction. */
static int bss_store(struct http_req *r, struct bss_targets *t)
{
	struct app *a = r->ctx;
	struct store_err se = {"", ""};
	const char *key;
	json_t *o;
	int rc;
	json_object_foreach(t->groups, key, o) {
		bool created;
		rc = store_obj_put(a->store, STORE_GROUP, o, false, &created, &se);
		if (rc < 0) {
			ochami_store_error(r, rc, &se, "group", key);
			return rc;
		}
	}
	if (t->deflt != NULL) {
		json_t *d = json_pack("{s:O, s:O, s:O}", "profile",
				      json_object_get(t->deflt, "profile"), "metadata",
				      json_object_get(t->deflt, "metadata"), "user_data",
				      json_object_get(t->deflt, "user_data"));
		rc = store_defaults_put(a->store, d, &se);
		json_decref(d);
		if (rc < 0) {
			ochami_store_error(r, rc, &se, "defaults", "");
			return rc;
		}
	}
	json_t *nodes = json_array();
	json_object_foreach(t->nodes, key, o)
		json_array_append(nodes, o);
	rc = ochami_nodes_write(r, nodes);
	json_decref(nodes);
	return rc;
}

static int bss_write(struct http_req *r, enum bss_op op)
{
	struct app *a = r->ctx;
	struct bss_req q;
	struct bss_targets t;
	struct ochami_inv inv = {NULL};
	memset(&t, 0, sizeof(t));
	json_t *body = ochami_body(r, false);
	if (body == NULL)
		return 0;
	int rc = bss_parse(r, body, &q);
	if (rc == 0)
		rc = ochami_inv_load(r, &inv);
	if (rc == 0)
		rc = bss_targets_find(r, &inv, &q, op, &t);
	if (rc == 0 && op == BSS_POST)
		rc = bss_check_new(r, &t);
	if (rc == 0)
		rc = op == BSS_PATCH ? bss_apply_patch(r, &q, &t) : bss_apply_all(r, &q, op, &t);
	if (rc == 0)
		rc = bss_store(r, &t);
	if (rc < 0) {
		bss_undo_created(a, &t);
	} else {
		bss_profiles_gc(a, t.old);
		static const unsigned status[] = {201, 200, 200, 200};
		http_reply_data(r, status[op], "application/json; charset=UTF-8", "", 0);
	}
	ochami_inv_clear(&inv);
	bss_targets_clear(&t);
	bss_req_clear(&q);
	json_decref(body);
	return 0;
}

int ochami_bss_bootparameters(struct http_req *r)
{
	switch (r->method_id) {
	case HTTP_POST:
		return bss_write(r, BSS_POST);
	case HTTP_PUT:
		return bss_write(r, BSS_PUT);
	case HTTP_PATCH:
		return bss_write(r, BSS_PATCH);
	case HTTP_DELETE:
		return bss_write(r, BSS_DELETE);
	default:
		return bss_get(r);
	}
}
