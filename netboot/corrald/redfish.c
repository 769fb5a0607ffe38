/*
 * redfish: discovery and control jobs over libcurl's multi interface.
 * See redfish.h.
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

#include "bmcmatch.h"
#include "buf.h"
#include "log.h"
#include "valid.h"

enum rf_kind {
	RQ_ROOT,
	RQ_SYSTEMS,
	RQ_SYSTEM,
	RQ_ETH_COLL,
	RQ_ETH,
	RQ_NETIF_COLL,
	RQ_NETIF,
	RQ_ADAPTER,
	RQ_NDF_COLL,
	RQ_NDF,
	RQ_MANAGERS,
	RQ_MANAGER,
	RQ_MGR_ETH_COLL,
	RQ_MGR_ETH,
	RQ_CHASSIS,
	RQ_ACTIONINFO,
	RQ_LOGIN,
	RQ_LOGOUT,
	RQ_CTRL,
};

enum rf_type { JOB_DISCOVER, JOB_POWER, JOB_BOOT };

struct rf_job {
	int id;
	enum rf_type type;
	json_t *result;  /* what GET /jobs/<id> shows */
	json_t *targets; /* discovery: addresses; control: node names */
	size_t next;     /* next target to start */
	int inflight;    /* probes running */
	unsigned concurrency;
	char scheme[8];
	int port;
	bool insecure;
	bool session; /* discovery: log in with a session */
	char user[128], pass[256];
	char action[16];  /* power */
	bool once, reset; /* boot */
	bool started;     /* credentials opened */
	struct rf_job *next_job;
};

struct rf_probe {
	struct rf_job *job;
	char address[256];
	char scheme[8];
	int port;
	bool insecure;
	const char *user, *pass; /* the job's, or own[] for control jobs */
	char own_user[128], own_pass[256];
	json_t *bmc;            /* discovery: the record being built */
	long next_order;        /* order given to the next request started */
	bool session;           /* log in for an X-Auth-Token instead of basic auth */
	char token[256];        /* the session's token, once logged in */
	char session_path[400]; /* where to DELETE the session */
	bool logged_out;
	json_t *root; /* discovery: the service root, kept while logging in */
	int inflight;
	bool failed;
	/* control */
	char node[64];
	json_t *sys; /* store_node_system() */
	int step;
	json_t *out; /* this node's entry in the job result */
};

struct rf_req {
	struct rf_probe *probe;
	enum rf_kind kind;
	size_t sys; /* index into bmc.systems for per-system requests */
	CURL *easy;
	struct curl_slist *hdrs;
	struct buf reply;
	char *body; /* request body (owned) */
	char path[512];
	long order;         /* collection-member order, to sort what arrives in any order */
	char token[256];    /* login: X-Auth-Token answered */
	char location[400]; /* login: Location answered (the session) */
	bool too_large;
	struct rf_req *prev, *next; /* every transfer in flight (for shutdown) */
};

struct redfish {
	struct store *st;
	unsigned char key[AUTH_KEY_LEN];
	struct redfish_settings cfg;
	char ca_file[256];
	pthread_t thread;
	pthread_mutex_t lock; /* jobs list and results */
	struct rf_job *jobs;  /* newest first */
	struct hub *hub;      /* told of finished jobs; may be NULL */
	int next_id;
	CURLM *multi;
	struct rf_req *reqs; /* transfers in flight */
	int running;         /* how many */
	int stop;
};

/* ---- targets --------------------------------------------------------- */

int redfish_expand(const char *t, json_t *out, size_t max, char *err, size_t errlen)
{
	char a[64], b[64];
	struct in_addr ia, ib;
	unsigned net, prefix;
	const char *dash = strchr(t, '-');
	if (strchr(t, '/') != NULL) {
		if (valid_cidr(t, &net, &prefix) < 0 || prefix < 16) {
			snprintf(err, errlen, "%s: expected a.b.c.d/len with len 16 to 30", t);
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
		snprintf(b, sizeof(b), "%s", dash + 1);
		if (inet_pton(AF_INET, a, &ia) != 1 || inet_pton(AF_INET, b, &ib) != 1 ||
		    ntohl(ia.s_addr) > ntohl(ib.s_addr)) {
			snprintf(err, errlen, "%s: expected FIRST-LAST IPv4 addresses, in order",
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
		snprintf(err, errlen, "%s: not an address, range or CIDR", t);
		return -EINVAL;
	}
	for (const char *p = t; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != ':') {
			snprintf(err, errlen, "%s: not an address, range or CIDR", t);
			return -EINVAL;
		}
	if (json_array_size(out) >= max)
		goto err_many;
	json_array_append_new(out, json_string(t));
	return 0;

err_many:
	snprintf(err, errlen, "more than %zu addresses in one discovery", max);
	return -E2BIG;
}

/* ---- transfers ------------------------------------------------------- */

static size_t rf_write(char *data, size_t size, size_t n, void *arg)
{
	struct rf_req *q = arg;
	if (buf_add(&q->reply, data, size * n) < 0) {
		q->too_large = true;
		return 0; /* aborts the transfer */
	}
	return size * n;
}

/* Login replies: keep X-Auth-Token and Location (a path on the same BMC). */
static size_t rf_header(char *data, size_t size, size_t n, void *arg)
{
	struct rf_req *q = arg;
	size_t len = size * n;
	char line[512];
	if (len >= sizeof(line))
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	char *v = strchr(line, ':');
	if (v == NULL)
		return size * n;
	*v++ = '\0';
	while (*v == ' ')
		v++;
	if (strcasecmp(line, "X-Auth-Token") == 0)
		snprintf(q->token, sizeof(q->token), "%s", v);
	else if (strcasecmp(line, "Location") == 0) {
		const char *path = strstr(v, "/redfish/v1/");
		if (path != NULL)
			snprintf(q->location, sizeof(q->location), "%s", path);
	}
	return size * n;
}

/* A link we may follow: a path under /redfish/v1/ with plain characters. */
static int rf_path_ok(const char *p)
{
	if (p == NULL || strncmp(p, "/redfish/v1", 11) != 0 || strstr(p, "..") != NULL ||
	    strlen(p) >= 400)
		return 0;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("/._-:@%+~", *p) == NULL)
			return 0;
	return 1;
}

static const char *rf_link(json_t *obj, const char *member)
{
	json_t *v = member ? json_object_get(obj, member) : obj;
	const char *p = json_string_value(json_object_get(v, "@odata.id"));
	return rf_path_ok(p) ? p : NULL;
}

static void rf_error(struct rf_probe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void rf_error(struct rf_probe *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->bmc != NULL) {
		if (!p->failed) {
			json_object_set_new(p->bmc, "status", json_string("error"));
			json_object_set_new(p->bmc, "message", json_string(msg));
		}
	} else if (p->out != NULL) {
		json_object_set_new(p->out, "ok", json_false());
		json_object_set_new(p->out, "message", json_string(msg));
	}
	p->failed = true;
}

/* Starts one request; method NULL is GET.  body is copied. */
static int rf_request(struct redfish *rf, struct rf_probe *p, enum rf_kind kind, size_t sys,
		      const char *path, const char *method, const char *body, bool authed)
{
	struct rf_req *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	q->probe = p;
	q->kind = kind;
	q->sys = sys;
	q->order = p->next_order;
	snprintf(q->path, sizeof(q->path), "%s", path);
	buf_init(&q->reply, rf->cfg.max_reply);
	q->easy = curl_easy_init();
	if (q->easy == NULL) {
		free(q);
		return -ENOMEM;
	}
	char url[768];
	int v6 = strchr(p->address, ':') != NULL;
	snprintf(url, sizeof(url), "%s://%s%s%s:%d%s", p->scheme, v6 ? "[" : "", p->address,
		 v6 ? "]" : "", p->port, path);
	CURL *e = q->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, q);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, rf_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)rf->cfg.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)rf->cfg.total_timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rf->cfg.max_reply);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, p->insecure ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, p->insecure ? 0L : 2L);
	if (rf->ca_file[0] != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, rf->ca_file);
	q->hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (authed && p->token[0] != '\0') {
		char h[300];
		snprintf(h, sizeof(h), "X-Auth-Token: %s", p->token);
		q->hdrs = curl_slist_append(q->hdrs, h);
	} else if (authed && p->user != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, p->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, p->pass);
	}
	if (kind == RQ_LOGIN) {
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, rf_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
	}
	if (body != NULL) {
		q->body = strdup(body);
		q->hdrs = curl_slist_append(q->hdrs, "Content-Type: application/json");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body);
	}
	if (method != NULL)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->hdrs);
	if (curl_multi_add_handle(rf->multi, e) != CURLM_OK) {
		curl_slist_free_all(q->hdrs);
		curl_easy_cleanup(e);
		free(q->body);
		free(q);
		return -EIO;
	}
	p->inflight++;
	rf->running++;
	q->next = rf->reqs;
	if (rf->reqs != NULL)
		rf->reqs->prev = q;
	rf->reqs = q;
	return 0;
}

static void rf_req_unlink(struct redfish *rf, struct rf_req *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		rf->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
}

static void rf_req_free(struct rf_req *q)
{
	curl_slist_free_all(q->hdrs);
	curl_easy_cleanup(q->easy);
	buf_clear(&q->reply);
	free(q->body);
	free(q);
}

/* ---- discovery: walking one BMC ---------------------------------------- */

static void rf_get(struct redfish *rf, struct rf_probe *p, enum rf_kind kind, size_t sys,
		   const char *path)
{
	if (path != NULL && !p->failed && rf_request(rf, p, kind, sys, path, NULL, NULL, true) < 0)
		rf_error(p, "cannot start a request");
}

static void rf_members(struct redfish *rf, struct rf_probe *p, json_t *coll, enum rf_kind kind,
		       size_t sys, size_t max)
{
	size_t i;
	json_t *m;
	long base = p->next_order;
	json_array_foreach(json_object_get(coll, "Members"), i, m) {
		if (i >= max)
			break;
		p->next_order = base * 128 + (long)i;
		rf_get(rf, p, kind, sys, rf_link(m, NULL));
	}
	p->next_order = base;
}

static int rf_ci_contains(const char *s, const char *needle)
{
	if (s == NULL)
		return 0;
	size_t n = strlen(needle);
	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return 1;
	return 0;
}

/*
 * Adds an interface's MAC to system sys unless it is no host NIC: the
 * host-to-BMC link (named for the manager, USB or "host interface", or
 * link-local only), an empty or broadcast MAC, or a repeat (VLANs).
 */
static void rf_add_mac(struct rf_probe *p, size_t sys, long order, json_t *nic, json_t *eth)
{
	json_t *s = json_array_get(json_object_get(p->bmc, "systems"), sys);
	if (s == NULL)
		return;
	const char *names[] = {json_string_value(json_object_get(nic, "Id")),
			       json_string_value(json_object_get(nic, "Name")),
			       json_string_value(json_object_get(nic, "Description"))};
	for (int i = 0; i < 3; i++)
		if (rf_ci_contains(names[i], "manager") || rf_ci_contains(names[i], "usb") ||
		    rf_ci_contains(names[i], "host interface") || rf_ci_contains(names[i], "bmc"))
			return;
	if (json_is_false(json_object_get(nic, "InterfaceEnabled")))
		return; /* a disabled port (often the host-to-BMC link) */
	size_t k;
	json_t *a;
	size_t naddr = 0, linklocal = 0;
	json_array_foreach(json_object_get(nic, "IPv4Addresses"), k, a) {
		const char *ip = json_string_value(json_object_get(a, "Address"));
		if (ip == NULL || ip[0] == '\0')
			continue;
		naddr++;
		if (strncmp(ip, "169.254.", 8) == 0)
			linklocal++;
	}
	if (naddr > 0 && naddr == linklocal)
		return;
	const char *raw = json_string_value(json_object_get(eth, "MACAddress"));
	char mac[VALID_MAC_LEN + 1];
	if (raw == NULL || valid_mac_normalize(raw, mac) < 0)
		raw = json_string_value(json_object_get(eth, "PermanentMACAddress"));
	if (raw == NULL || valid_mac_normalize(raw, mac) < 0)
		return;
	if (strcmp(mac, "00:00:00:00:00:00") == 0 || strcmp(mac, "ff:ff:ff:ff:ff:ff") == 0)
		return;
	json_t *macs = json_object_get(s, "macs");
	json_array_foreach(macs, k, a)
		if (strcmp(json_string_value(a), mac) == 0)
			return; /* a VLAN or a second view of the same port */
	json_array_append_new(macs, json_string(mac));
	json_array_append_new(json_object_get(s, "_order"), json_integer(order));
}

static json_t *rf_allowable(json_t *obj, const char *key)
{
	char name[96];
	snprintf(name, sizeof(name), "%s@Redfish.AllowableValues", key);
	json_t *v = json_object_get(obj, name);
	return json_is_array(v) ? json_deep_copy(v) : json_array();
}

static void rf_str(json_t *dst, const char *key, json_t *src, const char *skey)
{
	const char *v = json_string_value(json_object_get(src, skey));
	json_object_set_new(dst, key, v && strlen(v) < 200 ? json_string(v) : json_null());
}

/* Redfish sessions: POST credentials, keep the X-Auth-Token, DELETE at the end. */
static void rf_login(struct redfish *rf, struct rf_probe *p, json_t *root)
{
	const char *path = root ? rf_link(json_object_get(root, "Links"), "Sessions") : NULL;
	if (path == NULL)
		path = "/redfish/v1/SessionService/Sessions";
	json_t *b = json_pack("{s:s, s:s}", "UserName", p->user ? p->user : "", "Password",
			      p->pass ? p->pass : "");
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (body == NULL || rf_request(rf, p, RQ_LOGIN, 0, path, "POST", body, false) < 0)
		rf_error(p, "cannot start the session login");
	if (body != NULL) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
}

static void rf_root_links(struct redfish *rf, struct rf_probe *p, json_t *j)
{
	rf_get(rf, p, RQ_SYSTEMS, 0, rf_link(j, "Systems"));
	rf_get(rf, p, RQ_MANAGERS, 0, rf_link(j, "Managers"));
	rf_get(rf, p, RQ_CHASSIS, 0, rf_link(j, "Chassis"));
	/* An enclosure manager, switch or PDU speaks Redfish too: a BMC that
	 * answered, with nothing to boot.  Said, not an error. */
	if (rf_link(j, "Systems") == NULL && !p->failed)
		json_object_set_new(p->bmc, "message",
				    json_string("no Systems: not a server's BMC, so no nodes"));
}

static void rf_control_next(struct redfish *rf, struct rf_probe *p, json_t *reply);

/* A login answered: go on with what the probe was doing. */
static void rf_logged_in(struct redfish *rf, struct rf_req *q)
{
	struct rf_probe *p = q->probe;
	if (q->token[0] == '\0') {
		rf_error(p, "the session login answered no X-Auth-Token");
		return;
	}
	snprintf(p->token, sizeof(p->token), "%s", q->token);
	snprintf(p->session_path, sizeof(p->session_path), "%s", q->location);
	if (p->root != NULL) {
		json_t *root = p->root;
		p->root = NULL;
		p->next_order = 0;
		rf_root_links(rf, p, root);
		json_decref(root);
	} else {
		rf_control_next(rf, p, NULL);
	}
}

/* A reply for a discovery request: record what it says, follow its links. */
static void rf_walk(struct redfish *rf, struct rf_req *q, json_t *j)
{
	struct rf_probe *p = q->probe;
	json_t *systems = json_object_get(p->bmc, "systems");
	p->next_order = q->order; /* what this reply links to sorts under it */
	switch (q->kind) {
	case RQ_ROOT: {
		json_t *f = json_object_get(p->job->result, "found");
		json_object_set_new(p->job->result, "found",
				    json_integer(json_integer_value(f) + 1));
		rf_str(p->bmc, "uuid", j, "UUID");
		rf_str(p->bmc, "redfish_version", j, "RedfishVersion");
		rf_str(p->bmc, "vendor", j, "Vendor");
		if (json_is_null(json_object_get(p->bmc, "vendor")))
			rf_str(p->bmc, "vendor", j, "Product");
		json_object_set_new(p->bmc, "status", json_string("ok"));
		if (p->session) {
			/* Log in first; the walk goes on when the token arrives. */
			p->root = json_incref(j);
			rf_login(rf, p, j);
			break;
		}
		rf_root_links(rf, p, j);
		break;
	}
	case RQ_SYSTEMS:
		rf_members(rf, p, j, RQ_SYSTEM, 0, 64);
		break;
	case RQ_SYSTEM: {
		json_t *s = json_pack("{s:s, s:[], s:[], s:I}", "path", q->path, "macs", "_order",
				      "_sys_order", (json_int_t)q->order);
		rf_str(s, "uuid", j, "UUID");
		rf_str(s, "serial", j, "SerialNumber");
		rf_str(s, "model", j, "Model");
		rf_str(s, "manufacturer", j, "Manufacturer");
		rf_str(s, "power_state", j, "PowerState");
		if (json_object_get(s, "power_state") != NULL) {
			char t[40];
			store_time_str(store_now_us(), t, sizeof(t));
			json_object_set_new(s, "power_checked", json_string(t));
		}
		rf_str(s, "hostname", j, "HostName");
		json_t *reset =
			json_object_get(json_object_get(j, "Actions"), "#ComputerSystem.Reset");
		json_object_set_new(s, "reset_types", rf_allowable(reset, "ResetType"));
		json_object_set_new(
			s, "reset_target",
			rf_path_ok(json_string_value(json_object_get(reset, "target"))) ?
				json_incref(json_object_get(reset, "target")) :
				json_null());
		json_object_set_new(
			s, "boot_targets",
			rf_allowable(json_object_get(j, "Boot"), "BootSourceOverrideTarget"));
		size_t idx = json_array_size(systems);
		json_array_append_new(systems, s);
		/* Some BMCs list the reset types only in an ActionInfo resource. */
		const char *info = json_string_value(json_object_get(reset, "@Redfish.ActionInfo"));
		if (json_array_size(json_object_get(s, "reset_types")) == 0 && rf_path_ok(info))
			rf_get(rf, p, RQ_ACTIONINFO, idx, info);
		if (rf_link(j, "EthernetInterfaces") != NULL)
			rf_get(rf, p, RQ_ETH_COLL, idx, rf_link(j, "EthernetInterfaces"));
		else if (rf_link(j, "NetworkInterfaces") != NULL)
			rf_get(rf, p, RQ_NETIF_COLL, idx, rf_link(j, "NetworkInterfaces"));
		break;
	}
	case RQ_ETH_COLL:
		rf_members(rf, p, j, RQ_ETH, q->sys, 64);
		break;
	case RQ_ETH:
		rf_add_mac(p, q->sys, q->order, j, j);
		break;
	case RQ_NETIF_COLL:
		rf_members(rf, p, j, RQ_NETIF, q->sys, 64);
		break;
	case RQ_NETIF:
		rf_get(rf, p, RQ_ADAPTER, q->sys,
		       rf_link(json_object_get(j, "Links"), "NetworkAdapter"));
		break;
	case RQ_ADAPTER:
		rf_get(rf, p, RQ_NDF_COLL, q->sys, rf_link(j, "NetworkDeviceFunctions"));
		break;
	case RQ_NDF_COLL:
		rf_members(rf, p, j, RQ_NDF, q->sys, 64);
		break;
	case RQ_NDF:
		rf_add_mac(p, q->sys, q->order, j, json_object_get(j, "Ethernet"));
		break;
	case RQ_MANAGERS:
		rf_members(rf, p, j, RQ_MANAGER, 0, 1);
		break;
	case RQ_MANAGER:
		if (json_is_null(json_object_get(p->bmc, "model")))
			rf_str(p->bmc, "model", j, "Model");
		rf_str(p->bmc, "firmware", j, "FirmwareVersion");
		rf_get(rf, p, RQ_MGR_ETH_COLL, 0, rf_link(j, "EthernetInterfaces"));
		break;
	case RQ_MGR_ETH_COLL:
		rf_members(rf, p, j, RQ_MGR_ETH, 0, 1);
		break;
	case RQ_MGR_ETH: {
		const char *raw = json_string_value(json_object_get(j, "MACAddress"));
		char mac[VALID_MAC_LEN + 1];
		if (raw == NULL || valid_mac_normalize(raw, mac) < 0)
			raw = json_string_value(json_object_get(j, "PermanentMACAddress"));
		if (raw != NULL && valid_mac_normalize(raw, mac) == 0)
			json_object_set_new(p->bmc, "mac", json_string(mac));
		break;
	}
	case RQ_ACTIONINFO: {
		json_t *sys = json_array_get(systems, q->sys);
		size_t k;
		json_t *par;
		json_array_foreach(json_object_get(j, "Parameters"), k, par) {
			const char *name = json_string_value(json_object_get(par, "Name"));
			json_t *vals = json_object_get(par, "AllowableValues");
			if (sys != NULL && name != NULL && strcmp(name, "ResetType") == 0 &&
			    json_is_array(vals))
				json_object_set_new(sys, "reset_types", json_deep_copy(vals));
		}
		break;
	}
	case RQ_CHASSIS:
		json_object_set_new(
			p->bmc, "chassis",
			json_integer((json_int_t)json_array_size(json_object_get(j, "Members"))));
		break;
	default:
		break;
	}
}

/* ---- control: power and boot of one node ------------------------------- */

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
		snprintf(path, sizeof(path), "%s/Actions/ComputerSystem.Reset",
			 json_string_value(json_object_get(p->sys, "path")));
		target = path;
	}
	snprintf(body, sizeof(body), "{\"ResetType\": \"%s\"}", type);
	json_object_set_new(p->out, "reset_type", json_string(type));
	if (rf_request(rf, p, RQ_CTRL, 0, target, "POST", body, true) < 0)
		rf_error(p, "cannot start a request");
}

/*
 * Control steps.  Power: 0 (reset or, for status, nothing) → 1 GET state.
 * Boot: 0 PATCH override → 1 GET to verify (and learn the power state) →
 * 2 reset (if asked) → 3 GET state.
 */
static void rf_control_next(struct redfish *rf, struct rf_probe *p, json_t *reply)
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
		snprintf(body, sizeof(body),
			 "{\"Boot\": {\"BootSourceOverrideTarget\": \"Pxe\","
			 " \"BootSourceOverrideEnabled\": \"%s\"}}",
			 job->once ? "Once" : "Continuous");
		p->step = 1;
		if (rf_request(rf, p, RQ_CTRL, 0, path, "PATCH", body, true) < 0)
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

/* ---- probes and jobs ---------------------------------------------------- */

static void rf_probe_free(struct rf_probe *p)
{
	json_decref(p->root);
	sodium_memzero(p->token, sizeof(p->token));
	sodium_memzero(p->own_pass, sizeof(p->own_pass));
	json_decref(p->bmc);
	json_decref(p->sys);
	json_decref(p->out);
	free(p);
}

static int rf_cmp_order(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t ox = json_integer_value(json_object_get(x, "_k"));
	json_int_t oy = json_integer_value(json_object_get(y, "_k"));
	return ox < oy ? -1 : ox > oy;
}

/* Sorts array items by their "_k" (stable enough: keys are unique) and strips it. */
static void rf_sort_by_k(json_t *arr)
{
	size_t n = json_array_size(arr);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), rf_cmp_order);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++) {
		json_object_del(v[i], "_k");
		json_array_append_new(arr, v[i]);
	}
	free(v);
}

/*
 * Replies arrive in any order: put systems and each system's NICs back in
 * the BMC's member order, so the first NIC (the boot interface) and the
 * -s1/-s2 names are the same on every run.
 */
static void rf_sort_systems(json_t *systems)
{
	size_t i;
	json_t *s;
	json_array_foreach(systems, i, s) {
		json_t *macs = json_object_get(s, "macs"), *order = json_object_get(s, "_order");
		json_t *pairs = json_array();
		size_t k;
		json_t *m;
		json_array_foreach(macs, k, m)
			json_array_append_new(pairs, json_pack("{s:O, s:O}", "mac", m, "_k",
							       json_array_get(order, k)));
		rf_sort_by_k(pairs);
		json_array_clear(macs);
		json_array_foreach(pairs, k, m)
			json_array_append(macs, json_object_get(m, "mac"));
		json_decref(pairs);
		json_object_del(s, "_order");
		json_object_set(s, "_k", json_object_get(s, "_sys_order"));
		json_object_del(s, "_sys_order");
	}
	rf_sort_by_k(systems);
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

static void rf_count(json_t *result, const char *key)
{
	json_object_set_new(result, key,
			    json_integer(json_integer_value(json_object_get(result, key)) + 1));
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
		snprintf(msg, sizeof(msg), "%s (HTTP %ld at /redfish/v1/)",
			 code >= 500 ? "the BMC failed" : "the BMC refused the credentials", code);
		json_object_set_new(p->bmc, "status",
				    json_string(code >= 500 ? "error" : "auth_failed"));
		json_object_set_new(p->bmc, "message", json_string(msg));
	} else if (q->too_large || res == CURLE_FILESIZE_EXCEEDED) {
		snprintf(msg, sizeof(msg), "reply at /redfish/v1/ larger than %zu bytes",
			 q->reply.cap);
		rf_job_error(p, msg);
	} else if (res == CURLE_PEER_FAILED_VERIFICATION || res == CURLE_SSL_CONNECT_ERROR ||
		   res == CURLE_SSL_CACERT_BADFILE) {
		snprintf(msg, sizeof(msg),
			 "TLS: %s (trust its CA with redfish.ca_file, or discover it as insecure)",
			 curl_easy_strerror(res));
		rf_job_error(p, msg);
	} else if (res == CURLE_OPERATION_TIMEDOUT && connect > 0) {
		snprintf(msg, sizeof(msg),
			 "accepted the connection but did not answer within %u ms",
			 rf->cfg.total_timeout_ms);
		rf_job_error(p, msg);
	}
	/* else: nothing there (refused, unreachable, silent) or not Redfish (404) */
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
	if (job->type == JOB_DISCOVER) {
		snprintf(p->address, sizeof(p->address), "%s", t);
		snprintf(p->scheme, sizeof(p->scheme), "%s", job->scheme);
		p->port = job->port;
		p->insecure = job->insecure;
		p->session = job->session;
		p->bmc = json_pack(
			"{s:s, s:i, s:s, s:b, s:s, s:n, s:s, s:n, s:n, s:n, s:n, s:n, s:[]}",
			"address", t, "port", job->port, "scheme", job->scheme, "insecure",
			job->insecure, "credential",
			json_string_value(json_object_get(job->result, "credential")), "status",
			"message", "", "mac", "vendor", "model", "uuid", "firmware", "systems");
		json_object_set_new(p->bmc, "auth",
				    json_string(job->session ? "session" : "basic"));
		/* The root is public in Redfish: probe without credentials. */
		if (p->bmc == NULL ||
		    rf_request(rf, p, RQ_ROOT, 0, "/redfish/v1/", NULL, NULL, false) < 0) {
			json_object_del(p->bmc ? p->bmc : json_null(), "status");
			rf_probe_done(rf, p);
		}
		return;
	}
	snprintf(p->node, sizeof(p->node), "%s", t);
	p->out = json_pack("{s:s}", "node", t);
	if (store_node_system(rf->st, t, &p->sys) < 0) {
		store_release(rf->st);
		rf_error(p, "no BMC known for this node (run discovery first)");
		rf_probe_done(rf, p);
		return;
	}
	store_release(rf->st);
	snprintf(p->address, sizeof(p->address), "%s",
		 json_string_value(json_object_get(p->sys, "address")));
	snprintf(p->scheme, sizeof(p->scheme), "%s",
		 json_string_value(json_object_get(p->sys, "scheme")));
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
		rf_probe_done(rf, p);
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
	if (p->inflight == 0)
		rf_probe_done(rf, p);
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
	snprintf(rf->ca_file, sizeof(rf->ca_file), "%s", cfg->ca_file ? cfg->ca_file : "");
	rf->cfg.ca_file = rf->ca_file;
	/* Recursive: the worker holds it while a reply updates a job's result,
	 * and finishing a probe takes it again. */
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&rf->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	rf->next_id = 1;
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
	pthread_mutex_destroy(&rf->lock);
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
	curl_multi_cleanup(rf->multi);
	while (rf->jobs != NULL) {
		struct rf_job *n = rf->jobs->next_job;
		sodium_memzero(rf->jobs->pass, sizeof(rf->jobs->pass));
		json_decref(rf->jobs->result);
		json_decref(rf->jobs->targets);
		free(rf->jobs);
		rf->jobs = n;
	}
	pthread_mutex_destroy(&rf->lock);
	sodium_memzero(rf->key, sizeof(rf->key));
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
	const char *cred = json_string_value(json_object_get(req, "credential"));
	char user[128];
	unsigned char sealed[512];
	size_t len = sizeof(sealed);
	int rc = store_cred_get(rf->st, cred, user, sizeof(user), sealed, &len);
	if (rc == 0)
		rc = auth_open(rf->key, sealed, len, job->pass, sizeof(job->pass));
	store_release(rf->st);
	if (rc < 0) {
		snprintf(err, errlen, "credential %s: %s", cred,
			 rc == -ENOENT ? "no such credential" : "cannot be opened");
		json_decref(job->targets);
		free(job);
		return rc == -ENOENT ? -ENOENT : -EIO;
	}
	snprintf(job->user, sizeof(job->user), "%s", user);
	snprintf(job->scheme, sizeof(job->scheme), "%s",
		 json_string_value(json_object_get(req, "scheme")));
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
	job->type = type;
	job->targets = json_deep_copy(nodes);
	job->concurrency = rf->cfg.concurrency;
	snprintf(job->action, sizeof(job->action), "%s", action ? action : "");
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
	if (j->type != JOB_DISCOVER) {
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
