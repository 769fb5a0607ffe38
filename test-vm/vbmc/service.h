/*
 * service: the Redfish service of one virtual BMC, independent of HTTP.
 *
 * Owns the route table, authentication (HTTP basic and sessions), the boot
 * override, the QMP sessions that read and drive the VM and the firmware
 * UpdateService with its tasks (update.h).  The HTTP front
 * (vbmc.c) turns each request into a struct svc_request, calls svc_handle()
 * and sends the struct svc_reply back; unit tests call svc_handle() directly.
 *
 * One table drives dispatch, 404 and 405 (with Allow).  Every error reply
 * is made by one function with the Redfish error body (rfjson.h).  QMP
 * sessions are serialised (QEMU serves one monitor client at a time) and
 * bounded by the configured timeout, including the wait for the lock, so a
 * request never blocks for longer than about twice that.
 *
 * Security: credentials compare in constant time; passwords and tokens are
 * never logged.  The service root and the login (POST Sessions) need no
 * credentials, as Redfish prescribes; everything else does.
 */
#ifndef CORRAL_VBMC_SERVICE_H
#define CORRAL_VBMC_SERVICE_H

#include <stddef.h>

#include <jansson.h>

#include "rfjson.h"
#include "session.h"
#include "update.h"

struct svc_config {
	struct rf_identity id; /* strings borrowed for the service's life */
	const char *qmp_path;  /* QEMU's QMP UNIX socket */
	int qmp_timeout_ms;    /* bound for one request's QMP work */
	const char *user;      /* the one account */
	const char *password;
	enum rf_boot_mode boot_mode; /* the VM's firmware, reported as the override mode */
	struct upd_config update;    /* firmware (update.h); NULL strings: corral-vbmc, 1.0 */
};

struct svc_request {
	const char *method;     /* "GET", "POST", ... */
	const char *path;       /* URL path without the query */
	const char *token;      /* X-Auth-Token, or NULL */
	const char *basic_user; /* from Authorization: Basic, or NULL */
	const char *basic_pass;
	const char *body; /* request body (may be NULL when body_len is 0) */
	size_t body_len;
};

struct svc_reply {
	unsigned status;
	json_t *body;                      /* owned; NULL: no body */
	char location[256];                /* Location header, "" for none */
	char token[SESSION_TOKEN_LEN + 1]; /* X-Auth-Token header, "" for none */
	char allow[64];                    /* Allow header (405), "" for none */
	int www_authenticate;              /* add WWW-Authenticate: Basic */
};

struct svc;

/* Copies nothing: cfg's strings must outlive the service.  0 or -errno. */
int svc_new(const struct svc_config *cfg, struct svc **out);
void svc_free(struct svc *s);

/* Answers one request into *rp (zeroed first); release with svc_reply_clear(). */
void svc_handle(struct svc *s, const struct svc_request *rq, struct svc_reply *rp);

/*
 * The one place an error becomes a reply: status, Redfish MessageId and a
 * sentence.  Used by the HTTP front for its own refusals (413) too.
 */
void svc_reply_error(struct svc_reply *rp, unsigned status, const char *msgid, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void svc_reply_clear(struct svc_reply *rp);

/* Derives a stable UUID text (8-4-4-4-12, lower-case) from seed into out[37]. */
void svc_uuid_from(const char *seed, char *out);

#endif
