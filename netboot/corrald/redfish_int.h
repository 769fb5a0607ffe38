/*
 * redfish_int.h: what the files of the redfish module share, and nothing
 * outside it may include: the job, probe, transfer and worker structs and
 * the rf_ functions one file calls in another.
 *
 *   redfish.c       the worker thread, jobs and probes, the public API
 *   redfish_xfer.c  transfers: one libcurl request, its reply, sessions
 *   redfish_walk.c  discovery: walking one BMC's resources into a record
 *   redfish_ctl.c   control: power and boot override of one node
 *   redfish_fw.c    firmware update of one BMC (UpdateService, its Task)
 *
 * Everything here runs on the worker thread with rf->lock held, except
 * what redfish.h's functions do on callers' threads.
 */
#ifndef CORRAL_REDFISH_INT_H
#define CORRAL_REDFISH_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>

#include "buf.h"
#include "redfish.h"

/* What a request is for: the discovery resources (redfish.h), then the rest. */
enum rf_kind {
	RQ_ROOT = REDFISH_ROOT,
	RQ_SYSTEMS = REDFISH_SYSTEMS,
	RQ_SYSTEM = REDFISH_SYSTEM,
	RQ_ETH_COLL = REDFISH_ETH_COLL,
	RQ_ETH = REDFISH_ETH,
	RQ_NETIF_COLL = REDFISH_NETIF_COLL,
	RQ_NETIF = REDFISH_NETIF,
	RQ_ADAPTER = REDFISH_ADAPTER,
	RQ_NDF_COLL = REDFISH_NDF_COLL,
	RQ_NDF = REDFISH_NDF,
	RQ_MANAGERS = REDFISH_MANAGERS,
	RQ_MANAGER = REDFISH_MANAGER,
	RQ_MGR_ETH_COLL = REDFISH_MGR_ETH_COLL,
	RQ_MGR_ETH = REDFISH_MGR_ETH,
	RQ_CHASSIS = REDFISH_CHASSIS,
	RQ_ACTIONINFO = REDFISH_ACTIONINFO,
	RQ_LOGIN = REDFISH_KINDS,
	RQ_LOGOUT,
	RQ_CTRL,
	RQ_FW, /* firmware update: every reply, errors too, goes to rf_fw_reply */
};

enum rf_type { JOB_DISCOVER, JOB_POWER, JOB_BOOT, JOB_FIRMWARE };

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
	json_t *fw;       /* firmware: {"image": {...}, "url", "bmcs": {key: BMC}} */
	bool dry_run;     /* firmware: read only */
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
	/* firmware update (redfish_fw.c) */
	json_t *inv;                /* FirmwareInventory member paths to read */
	size_t inv_next;            /* the next of them */
	bool inv_after;             /* reading the inventory after the update */
	char update_target[400];    /* SimpleUpdate's action path */
	char inv_path[400];         /* the FirmwareInventory collection */
	char task_path[400];        /* the Task (or task monitor) to poll */
	long long deadline_us;      /* the task must end by then (monotonic) */
	long long wake_us;          /* waiting: when to poll again (monotonic) */
	struct rf_probe *next_wait; /* the worker's list of waiting probes */
	char fw_key[320];           /* "address:port" of the BMC being updated */
	long long fw_ticket;        /* its place in that BMC's queue (redfish_fw.c) */
	bool fw_queued;             /* holds a place not given back yet */
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
	char *ca_file; /* cfg.ca_file's copy; "" = the system's CA bundle */
	pthread_t thread;
	pthread_mutex_t lock; /* jobs list and results */
	struct rf_job *jobs;  /* newest first */
	struct hub *hub;      /* told of finished jobs; may be NULL */
	int next_id;
	CURLM *multi;
	struct rf_req *reqs;      /* transfers in flight */
	int running;              /* how many */
	struct rf_probe *waiting; /* probes waiting to poll again (rf_wait) */
	/* firmware: "address:port" -> {"next", "serving", "job"}: one update
	 * job at a time per BMC, in the order they started (worker only) */
	json_t *fw_turns;
	int stop;
};

/* ---- redfish_xfer.c ---- */

/*
 * Starts one request for probe p (method NULL is GET; body is copied;
 * authed: with the probe's session token or basic credentials).  The
 * reply comes back to the worker, which calls rf_finish.  0 or -ENOMEM,
 * -EIO.
 */
int rf_request(struct redfish *rf, struct rf_probe *p, enum rf_kind kind, size_t sys,
	       const char *path, const char *method, const char *body, bool authed);
/* GET path (NULL: nothing) unless the probe has failed; a failure to start fails it. */
void rf_get(struct redfish *rf, struct rf_probe *p, enum rf_kind kind, size_t sys,
	    const char *path);
/* Takes q off the list of transfers in flight; frees it. */
void rf_req_unlink(struct redfish *rf, struct rf_req *q);
void rf_req_free(struct rf_req *q);
/* Starts a session login (root: the service root, for its Sessions link, or NULL). */
void rf_login(struct redfish *rf, struct rf_probe *p, json_t *root);
/* A link we may follow: a path under /redfish/v1/ with plain characters. */
int rf_path_ok(const char *p);
/* The @odata.id of obj[member] (member NULL: of obj) if rf_path_ok, else NULL. */
const char *rf_link(json_t *obj, const char *member);
/* The probe failed: its BMC record or node entry says why (the first reason kept). */
void rf_error(struct rf_probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* result[key] += 1 (a job's counter). */
void rf_count(json_t *result, const char *key);
/* dst[key] = src[skey] when it is a string under 200 bytes, else null. */
void rf_str(json_t *dst, const char *key, json_t *src, const char *skey);

/*
 * Puts p to sleep for ms: it counts as one transfer in flight (so it is
 * not finished) until the worker wakes it with rf_fw_wake.
 */
void rf_wait(struct redfish *rf, struct rf_probe *p, unsigned ms);
/* Microseconds on CLOCK_MONOTONIC. */
long long rf_mono_us(void);

/* ---- redfish_walk.c ---- */

/* A reply for a discovery request: record what it says, follow its links. */
void rf_walk(struct redfish *rf, struct rf_req *q, json_t *j);
/* Follows the service root's Systems, Managers and Chassis. */
void rf_root_links(struct redfish *rf, struct rf_probe *p, json_t *j);
/* Puts systems and their NICs back in the BMC's member order. */
void rf_sort_systems(json_t *systems);

/* ---- redfish_ctl.c ---- */

/*
 * Starts control of node t with probe p: its BMC and credential from the
 * store, then the first step.  On failure p's entry says why and nothing
 * is in flight.
 */
void rf_control_start(struct redfish *rf, struct rf_probe *p, const char *t);
/* The next control step after reply (NULL: none yet). */
void rf_control_next(struct redfish *rf, struct rf_probe *p, json_t *reply);

/* ---- redfish_fw.c ---- */

/* Starts the update of BMC key ("address:port") of a firmware job with probe p. */
void rf_fw_start(struct redfish *rf, struct rf_probe *p, const char *key);
/* The next step once logged in (or at the start). */
void rf_fw_next(struct redfish *rf, struct rf_probe *p);
/* A reply to an RQ_FW request, whatever its outcome. */
void rf_fw_reply(struct redfish *rf, struct rf_req *q, CURLcode res, long code);
/* A waiting probe's time has come (rf_wait). */
void rf_fw_wake(struct redfish *rf, struct rf_probe *p);
/* The probe is done: the next job waiting for its BMC may go (idempotent). */
void rf_fw_release(struct redfish *rf, struct rf_probe *p);

#endif
