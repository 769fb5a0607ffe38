/*
 * service: routes, auth, power and boot for one virtual BMC.  See service.h.
 */
#include "service.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "power.h"
#include "qmp.h"

#define SVC_MAX_ARGS 2
#define SVC_SESSIONS 32
#define SVC_SESSION_IDLE 1800 /* seconds, as SessionService reports */
#define SVC_SETTLE_POLL_MS 20

enum svc_method {
	M_GET = 1 << 0,
	M_HEAD = 1 << 1,
	M_POST = 1 << 2,
	M_PATCH = 1 << 3,
	M_DELETE = 1 << 4,
	M_PUT = 1 << 5,
};

static const struct {
	const char *name;
	enum svc_method id;
} svc_methods[] = {
	{"GET", M_GET},     {"HEAD", M_HEAD},     {"POST", M_POST},
	{"PATCH", M_PATCH}, {"DELETE", M_DELETE}, {"PUT", M_PUT},
};

struct svc {
	struct svc_config cfg;
	struct session_table *sessions;
	pthread_mutex_t qmp_lock;   /* one QMP session at a time */
	pthread_mutex_t state_lock; /* guards boot */
	struct rf_boot boot;        /* the stored boot override */
};

/* What a handler sees. */
struct svc_ctx {
	struct svc *s;
	const struct svc_request *rq;
	struct svc_reply *rp;
	enum svc_method method;
	const char *args[SVC_MAX_ARGS]; /* captured ":" segments */
	char argbuf[256];
	time_t now; /* monotonic seconds, for sessions */
};

typedef void (*svc_handler)(struct svc_ctx *c);

struct svc_route {
	const char *pattern;     /* ":" matches one non-empty segment */
	unsigned methods;        /* enum svc_method bits */
	unsigned public_methods; /* of those, the ones that need no credentials */
	svc_handler fn;
};

/* ------------------------------------------------------------ replies */

void svc_reply_error(struct svc_reply *rp, unsigned status, const char *msgid, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0'; /* a cut message (n >= size) is still a message */
	json_decref(rp->body);
	rp->status = status;
	rp->body = rf_error(msgid, msg);
	if (status == 401)
		rp->www_authenticate = 1;
}

void svc_reply_clear(struct svc_reply *rp)
{
	json_decref(rp->body);
	explicit_bzero(rp, sizeof(*rp));
}

/* 200 with body, or 500 when building it failed (out of memory). */
static void svc_reply_json(struct svc_reply *rp, unsigned status, json_t *body)
{
	if (body == NULL) {
		svc_reply_error(rp, 500, "Base.1.0.InternalError", "The reply could not be built.");
		return;
	}
	json_decref(rp->body);
	rp->status = status;
	rp->body = body;
}

/* ------------------------------------------------------------ helpers */

static time_t svc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void svc_uuid_from(const char *seed, char *out)
{
	/* Two FNV-1a passes with different offsets: stable, not secret. */
	uint64_t h[2] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
	unsigned char b[16];
	for (int k = 0; k < 2; k++) {
		for (const unsigned char *p = (const unsigned char *)seed; *p; p++) {
			h[k] ^= *p;
			h[k] *= 0x100000001b3ULL;
		}
		for (int i = 0; i < 8; i++)
			b[k * 8 + i] = (unsigned char)(h[k] >> (8 * i));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 layout */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

/* Equal in time that depends on the lengths only. */
static int svc_secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ (i < lb ? b[i] : 0));
	return d == 0;
}

static int svc_credentials_ok(const struct svc *s, const char *user, const char *pass)
{
	/* Both compared, always, so the time does not tell which one was wrong. */
	int u = svc_secret_eq(user, s->cfg.user);
	int p = svc_secret_eq(pass, s->cfg.password);
	return u & p;
}

/* Parses the request body as a JSON object; on failure replies 400. */
static json_t *svc_body_object(struct svc_ctx *c)
{
	json_error_t jerr;
	json_t *v = NULL;
	if (c->rq->body_len > 0)
		v = json_loadb(c->rq->body, c->rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(v)) {
		json_decref(v);
		svc_reply_error(c->rp, 400, "Base.1.0.MalformedJSON",
				"The request body is not a JSON object.");
		return NULL;
	}
	return v;
}

/* A captured id must name the one resource there is; else 404. */
static int svc_want(struct svc_ctx *c, int arg, const char *id)
{
	if (strcmp(c->args[arg], id) == 0)
		return 1;
	svc_reply_error(c->rp, 404, "Base.1.0.ResourceMissingAtURI",
			"The resource at the URI %.200s was not found.", c->rq->path);
	return 0;
}

/* ------------------------------------------------------------ QEMU */

/*
 * Opens a QMP session while holding qmp_lock; the lock wait and the
 * session share the timeout.  Returns 0 with the lock held, -ENOENT when
 * QEMU is not running (lock released), or another -errno (lock released).
 */
static int svc_qmp_begin(struct svc *s, struct qmp **q)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += s->cfg.qmp_timeout_ms / 1000;
	dl.tv_nsec += (long)(s->cfg.qmp_timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	int rc = pthread_mutex_timedlock(&s->qmp_lock, &dl);
	if (rc != 0)
		return -rc;
	rc = qmp_open(s->cfg.qmp_path, s->cfg.qmp_timeout_ms, q);
	if (rc == -ECONNREFUSED)
		rc = -ENOENT;
	if (rc < 0)
		pthread_mutex_unlock(&s->qmp_lock);
	return rc;
}

static void svc_qmp_end(struct svc *s, struct qmp *q)
{
	qmp_free(q);
	pthread_mutex_unlock(&s->qmp_lock);
}

static void svc_reply_qmp_error(struct svc_ctx *c, int rc, const char *what)
{
	log_warnx("%s: QMP %s: %s", c->s->cfg.id.name, what, strerror(-rc));
	svc_reply_error(c->rp, 503, "Base.1.0.ServiceTemporarilyUnavailable",
			"The virtual machine's monitor did not answer (%s: %s).", what,
			strerror(-rc));
}

/*
 * QEMU's run state into status (size bytes); "" when QEMU is not running
 * (no socket, or nobody listening: the machine is Off).  0, or -errno after
 * replying 503.
 */
static int svc_status(struct svc_ctx *c, char *status, size_t size)
{
	struct qmp *q = NULL;
	status[0] = '\0';
	int rc = svc_qmp_begin(c->s, &q);
	if (rc == -ENOENT)
		return 0;
	if (rc == 0) {
		rc = qmp_status(q, status, size);
		svc_qmp_end(c->s, q);
	}
	if (rc < 0)
		svc_reply_qmp_error(c, rc, "query-status");
	return rc;
}

/* Polls until QEMU has processed a reset (left "shutdown"); 0 or -errno. */
static int svc_settle(struct qmp *q)
{
	char st[32];
	for (;;) {
		int rc = qmp_status(q, st, sizeof(st));
		if (rc < 0)
			return rc;
		if (strcmp(st, "shutdown") != 0)
			return 0;
		struct timespec ts = {0, SVC_SETTLE_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
}

/* Runs a reset: status, plan, steps; consumes a Once override on boot. */
static void svc_reset(struct svc_ctx *c, enum power_reset type)
{
	struct svc *s = c->s;
	struct qmp *q = NULL;
	char st[32];
	struct power_plan plan;
	const char *what = "query-status";
	int waiting = 0; /* the step that failed was the wait for a reset */

	int rc = svc_qmp_begin(s, &q);
	if (rc == -ENOENT) {
		if (type == POWER_FORCE_OFF || type == POWER_GRACEFUL_SHUTDOWN) {
			c->rp->status = 204; /* no QEMU: off already */
			return;
		}
		svc_reply_error(c->rp, 503, "Base.1.0.ServiceTemporarilyUnavailable",
				"The virtual machine's QEMU process is not running.");
		return;
	}
	if (rc < 0)
		goto err_qmp;
	rc = qmp_status(q, st, sizeof(st));
	if (rc < 0)
		goto err_session;
	power_plan(type, st, &plan);
	for (int i = 0; i < plan.nsteps; i++) {
		const char *cmd = power_step_command(plan.steps[i]);
		what = cmd ? cmd : "query-status";
		waiting = plan.steps[i] == STEP_WAIT_SETTLED;
		rc = cmd ? qmp_exec(q, cmd, NULL, NULL) : svc_settle(q);
		if (rc < 0)
			goto err_session;
	}
	if (plan.boots) {
		pthread_mutex_lock(&s->state_lock);
		if (rf_boot_consumed(&s->boot))
			log_info("%s: one-time boot override used", s->cfg.id.name);
		pthread_mutex_unlock(&s->state_lock);
	}
	svc_qmp_end(s, q);
	log_info("%s: %s (was %s, %d QMP step%s)", s->cfg.id.name, power_reset_names[type], st,
		 plan.nsteps, plan.nsteps == 1 ? "" : "s");
	c->rp->status = 204;
	return;

err_session:
	if (rc == -EIO) {
		log_warnx("%s: %s: QEMU refused %s: %s", s->cfg.id.name, power_reset_names[type],
			  what, qmp_error(q));
		svc_reply_error(c->rp, 500, "Base.1.0.InternalError", "QEMU refused %s: %.200s",
				what, qmp_error(q));
		svc_qmp_end(s, q);
		return;
	}
	svc_qmp_end(s, q);
	if (rc == -ETIMEDOUT && waiting) {
		/* QEMU under -no-reboot turns system_reset into a shutdown for good. */
		log_warnx("%s: %s: QEMU stayed shut down after system_reset "
			  "(started with -no-reboot?)",
			  s->cfg.id.name, power_reset_names[type]);
		svc_reply_error(c->rp, 500, "Base.1.0.InternalError",
				"QEMU stayed shut down after a reset; it must run without "
				"-no-reboot.");
		return;
	}
err_qmp:
	svc_reply_qmp_error(c, rc, what);
}

/* ------------------------------------------------------------ handlers */

static void h_odata(struct svc_ctx *c)
{
	svc_reply_json(c->rp, 200, rf_odata_root());
}

static void h_root(struct svc_ctx *c)
{
	svc_reply_json(c->rp, 200, rf_service_root(&c->s->cfg.id));
}

static void h_systems(struct svc_ctx *c)
{
	svc_reply_json(c->rp, 200, rf_systems(&c->s->cfg.id));
}

static void h_system_get(struct svc_ctx *c)
{
	char st[32];
	struct rf_boot b;
	if (svc_status(c, st, sizeof(st)) < 0)
		return;
	pthread_mutex_lock(&c->s->state_lock);
	b = c->s->boot;
	pthread_mutex_unlock(&c->s->state_lock);
	svc_reply_json(c->rp, 200, rf_system(&c->s->cfg.id, power_state_name(st), &b));
}

static void h_system_patch(struct svc_ctx *c)
{
	const char *msgid = NULL;
	char msg[256];
	json_t *body = svc_body_object(c);
	if (body == NULL)
		return;
	pthread_mutex_lock(&c->s->state_lock);
	int rc = rf_boot_patch(&c->s->boot, body, &msgid, msg, sizeof(msg));
	struct rf_boot b = c->s->boot;
	pthread_mutex_unlock(&c->s->state_lock);
	json_decref(body);
	if (rc < 0) {
		svc_reply_error(c->rp, 400, msgid, "%s", msg);
		return;
	}
	log_info("%s: boot override %s %s (%s)", c->s->cfg.id.name, rf_boot_target_names[b.target],
		 rf_boot_enabled_names[b.enabled], rf_boot_mode_names[b.mode]);
	c->rp->status = 204;
}

static void h_system(struct svc_ctx *c)
{
	if (!svc_want(c, 0, c->s->cfg.id.name))
		return;
	if (c->method == M_PATCH)
		h_system_patch(c);
	else
		h_system_get(c);
}

static void h_reset(struct svc_ctx *c)
{
	enum power_reset type;
	if (!svc_want(c, 0, c->s->cfg.id.name))
		return;
	json_t *body = svc_body_object(c);
	if (body == NULL)
		return;
	json_t *rt = json_object_get(body, "ResetType");
	if (rt == NULL) {
		svc_reply_error(
			c->rp, 400, "Base.1.0.ActionParameterMissing",
			"The action ComputerSystem.Reset requires the parameter ResetType.");
	} else if (!json_is_string(rt) || power_reset_parse(json_string_value(rt), &type) < 0) {
		svc_reply_error(c->rp, 400, "Base.1.0.ActionParameterNotSupported",
				"The ResetType %.64s is not supported; see "
				"ResetType@Redfish.AllowableValues.",
				json_is_string(rt) ? json_string_value(rt) : "(not a string)");
	} else {
		svc_reset(c, type);
	}
	json_decref(body);
}

static void h_system_nics(struct svc_ctx *c)
{
	if (svc_want(c, 0, c->s->cfg.id.name))
		svc_reply_json(c->rp, 200, rf_system_nics(&c->s->cfg.id));
}

static void h_system_nic(struct svc_ctx *c)
{
	if (svc_want(c, 0, c->s->cfg.id.name) && svc_want(c, 1, RF_NIC_ID))
		svc_reply_json(c->rp, 200, rf_system_nic(&c->s->cfg.id));
}

static void h_chassis_coll(struct svc_ctx *c)
{
	svc_reply_json(c->rp, 200, rf_chassis_collection(&c->s->cfg.id));
}

static void h_chassis(struct svc_ctx *c)
{
	char st[32];
	if (!svc_want(c, 0, c->s->cfg.id.name) || svc_status(c, st, sizeof(st)) < 0)
		return;
	svc_reply_json(c->rp, 200, rf_chassis(&c->s->cfg.id, power_state_name(st)));
}

static void h_managers(struct svc_ctx *c)
{
	svc_reply_json(c->rp, 200, rf_managers());
}

static void h_manager(struct svc_ctx *c)
{
	if (svc_want(c, 0, RF_MANAGER_ID))
		svc_reply_json(c->rp, 200, rf_manager(&c->s->cfg.id));
}

static void h_manager_nics(struct svc_ctx *c)
{
	if (svc_want(c, 0, RF_MANAGER_ID))
		svc_reply_json(c->rp, 200, rf_manager_nics());
}

static void h_manager_nic(struct svc_ctx *c)
{
	if (svc_want(c, 0, RF_MANAGER_ID) && svc_want(c, 1, RF_NIC_ID))
		svc_reply_json(c->rp, 200, rf_manager_nic(&c->s->cfg.id));
}

static void h_session_service(struct svc_ctx *c)
{
	svc_reply_json(c->rp, 200, rf_session_service());
}

static void h_login(struct svc_ctx *c)
{
	char sid[SESSION_ID_LEN + 1];
	json_t *body = svc_body_object(c);
	if (body == NULL)
		return;
	const char *user = json_string_value(json_object_get(body, "UserName"));
	const char *pass = json_string_value(json_object_get(body, "Password"));
	if (user == NULL || pass == NULL) {
		svc_reply_error(c->rp, 400, "Base.1.0.PropertyMissing",
				"UserName and Password (strings) are required.");
		goto out;
	}
	if (!svc_credentials_ok(c->s, user, pass)) {
		log_info("%s: login refused", c->s->cfg.id.name);
		svc_reply_error(c->rp, 401, "Base.1.0.NoValidSession",
				"The user name or password is not valid.");
		goto out;
	}
	int rc = session_create(c->s->sessions, user, c->now, sid, c->rp->token);
	if (rc < 0) {
		svc_reply_error(c->rp, 500, "Base.1.0.InternalError",
				"The session could not be created (%s).", strerror(-rc));
		goto out;
	}
	if (buf_fmt(c->rp->location, sizeof(c->rp->location), RF_ROOT "/SessionService/Sessions/%s",
		    sid) < 0)
		c->rp->location[0] = '\0'; /* cannot happen: the id is 16 characters */
	svc_reply_json(c->rp, 201, rf_session(sid, user));
out:
	json_decref(body);
}

static void h_sessions(struct svc_ctx *c)
{
	if (c->method == M_POST) {
		h_login(c);
		return;
	}
	json_t *ids = session_ids(c->s->sessions, c->now);
	svc_reply_json(c->rp, 200, ids ? rf_sessions(ids) : NULL);
	json_decref(ids);
}

static void h_session(struct svc_ctx *c)
{
	char user[SESSION_USER_MAX];
	if (c->method == M_DELETE) {
		if (session_delete(c->s->sessions, c->args[0], c->now) == 0) {
			c->rp->status = 204;
			return;
		}
	} else if (session_get(c->s->sessions, c->args[0], c->now, user) == 0) {
		svc_reply_json(c->rp, 200, rf_session(c->args[0], user));
		return;
	}
	svc_reply_error(c->rp, 404, "Base.1.0.ResourceMissingAtURI",
			"The session %.64s does not exist.", c->args[0]);
}

#define GETS (M_GET | M_HEAD)

/* The whole service.  Paths are matched without a trailing slash. */
static const struct svc_route svc_routes[] = {
	{"/redfish", GETS, GETS, h_odata},
	{RF_ROOT, GETS, GETS, h_root},
	{RF_ROOT "/Systems", GETS, 0, h_systems},
	{RF_ROOT "/Systems/:", GETS | M_PATCH, 0, h_system},
	{RF_ROOT "/Systems/:/Actions/ComputerSystem.Reset", M_POST, 0, h_reset},
	{RF_ROOT "/Systems/:/EthernetInterfaces", GETS, 0, h_system_nics},
	{RF_ROOT "/Systems/:/EthernetInterfaces/:", GETS, 0, h_system_nic},
	{RF_ROOT "/Chassis", GETS, 0, h_chassis_coll},
	{RF_ROOT "/Chassis/:", GETS, 0, h_chassis},
	{RF_ROOT "/Managers", GETS, 0, h_managers},
	{RF_ROOT "/Managers/:", GETS, 0, h_manager},
	{RF_ROOT "/Managers/:/EthernetInterfaces", GETS, 0, h_manager_nics},
	{RF_ROOT "/Managers/:/EthernetInterfaces/:", GETS, 0, h_manager_nic},
	{RF_ROOT "/SessionService", GETS, 0, h_session_service},
	{RF_ROOT "/SessionService/Sessions", GETS | M_POST, M_POST, h_sessions},
	{RF_ROOT "/SessionService/Sessions/:", GETS | M_DELETE, 0, h_session},
};

/* ------------------------------------------------------------ dispatch */

/* Matches path against pattern, capturing ":" segments; 1 on a match. */
static int svc_match(const char *pattern, const char *path, size_t plen, struct svc_ctx *c)
{
	const char *p = pattern, *s = path, *end = path + plen;
	size_t used = 0;
	int nargs = 0;

	while (*p != '\0') {
		if (*p == ':') {
			const char *e = s;
			while (e < end && *e != '/')
				e++;
			size_t n = (size_t)(e - s);
			if (n == 0 || nargs >= SVC_MAX_ARGS || used + n + 1 > sizeof(c->argbuf))
				return 0;
			memcpy(c->argbuf + used, s, n);
			c->argbuf[used + n] = '\0';
			c->args[nargs++] = c->argbuf + used;
			used += n + 1;
			s = e;
			p++;
			continue;
		}
		if (s >= end || *p != *s)
			return 0;
		p++;
		s++;
	}
	return s == end;
}

static void svc_allow(unsigned mask, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(svc_methods) / sizeof(svc_methods[0]); i++) {
		if (!(mask & svc_methods[i].id))
			continue;
		int n = snprintf(out + len, size - len, "%s%s", len ? ", " : "",
				 svc_methods[i].name);
		if (n < 0 || (size_t)n >= size - len)
			return;
		len += (size_t)n;
	}
}

/* Checks credentials; 1 if the request may go on, else replies 401. */
static int svc_authorised(struct svc_ctx *c)
{
	const struct svc_request *rq = c->rq;
	if (rq->token != NULL) {
		if (session_check(c->s->sessions, rq->token, c->now) == 0)
			return 1;
		svc_reply_error(c->rp, 401, "Base.1.0.NoValidSession",
				"The X-Auth-Token does not name a valid session.");
		return 0;
	}
	if (rq->basic_user != NULL) {
		if (svc_credentials_ok(c->s, rq->basic_user, rq->basic_pass ? rq->basic_pass : ""))
			return 1;
		svc_reply_error(c->rp, 401, "Base.1.0.NoValidSession",
				"The user name or password is not valid.");
		return 0;
	}
	svc_reply_error(c->rp, 401, "Base.1.0.NoValidSession",
			"Authentication is required: HTTP basic or an X-Auth-Token.");
	return 0;
}

void svc_handle(struct svc *s, const struct svc_request *rq, struct svc_reply *rp)
{
	struct svc_ctx c = {.s = s, .rq = rq, .rp = rp, .now = svc_now()};
	memset(rp, 0, sizeof(*rp));

	for (size_t i = 0; i < sizeof(svc_methods) / sizeof(svc_methods[0]); i++) {
		if (strcmp(rq->method, svc_methods[i].name) == 0)
			c.method = svc_methods[i].id;
	}
	size_t plen = strlen(rq->path);
	while (plen > 1 && rq->path[plen - 1] == '/')
		plen--;

	const struct svc_route *route = NULL;
	for (size_t i = 0; i < sizeof(svc_routes) / sizeof(svc_routes[0]); i++) {
		if (svc_match(svc_routes[i].pattern, rq->path, plen, &c)) {
			route = &svc_routes[i];
			break;
		}
	}
	if (route == NULL) {
		svc_reply_error(rp, 404, "Base.1.0.ResourceMissingAtURI",
				"The resource at the URI %.200s was not found.", rq->path);
		return;
	}
	if (!(route->methods & c.method)) {
		svc_allow(route->methods, rp->allow, sizeof(rp->allow));
		svc_reply_error(rp, 405, "Base.1.0.OperationNotAllowed",
				"The method %.16s is not allowed on %.200s.", rq->method, rq->path);
		return;
	}
	if (!(route->public_methods & c.method) && !svc_authorised(&c))
		return;
	route->fn(&c);
}

/* ------------------------------------------------------------ lifecycle */

int svc_new(const struct svc_config *cfg, struct svc **out)
{
	struct svc *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->cfg = *cfg;
	int rc = session_table_new(SVC_SESSIONS, SVC_SESSION_IDLE, &s->sessions);
	if (rc < 0) {
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->qmp_lock, NULL);
	pthread_mutex_init(&s->state_lock, NULL);
	rf_boot_init(&s->boot, cfg->boot_mode);
	*out = s;
	return 0;
}

void svc_free(struct svc *s)
{
	if (s == NULL)
		return;
	session_table_free(s->sessions);
	pthread_mutex_destroy(&s->qmp_lock);
	pthread_mutex_destroy(&s->state_lock);
	free(s);
}
