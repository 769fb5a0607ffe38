/*
 * update: the virtual BMC's firmware and its Redfish UpdateService.
 *
 * Owns the firmware version the BMC reports (FirmwareInventory "BMC" and
 * the Manager's FirmwareVersion), the tasks SimpleUpdate starts, and the
 * thread each task runs on: it fetches ImageURI (libcurl, bounded by a
 * timeout and a size cap), checks what arrived and only then, once the
 * task completes, reports the image's version.
 *
 * An image for corral-vbmc is any file whose first line is
 *   corral-vbmc-firmware model=MODEL version=VERSION
 * (the rest is padding); an image for another model, or no such line,
 * ends the task in Exception: a BMC checks what it is given.
 *
 * Modes, for tests (--update-mode, or the environment variable
 * CORRAL_VBMC_UPDATE): "ok"; "refuse": SimpleUpdate answers 400 with a
 * Redfish @Message.ExtendedInfo and starts nothing; "fail": the task
 * fetches the image and then ends in Exception/Critical, version unchanged.
 *
 * Task monitors (--task-monitor): SimpleUpdate's Location is then
 * TaskService/TaskMonitors/N, which answers as DMTF says a task monitor
 * does: 202 with the Task while it runs, then the operation's own answer:
 * 204 once it completed, 500 with the task's last message once it failed.
 *
 * Callers: service.c (its handlers, any HTTP thread); every function takes
 * the module's lock.  Returned JSON is new (the caller's).
 */
#ifndef CORRAL_VBMC_UPDATE_H
#define CORRAL_VBMC_UPDATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define UPD_TASKS 16 /* tasks kept; the oldest finished one goes first */
#define UPD_MAX_IMAGE (64u << 20)

enum upd_mode { UPD_OK, UPD_REFUSE, UPD_FAIL };

struct upd_config {
	const char *model;   /* the Manager's Model; images must name it */
	const char *version; /* the firmware version at start */
	enum upd_mode mode;
	unsigned apply_ms;         /* how long "applying" takes after the fetch */
	unsigned fetch_timeout_ms; /* the whole download */
	bool task_monitor;         /* Location: a task monitor, not the Task */
};

struct upd;

/* 0, -ENOMEM. cfg's strings are copied. */
int upd_new(const struct upd_config *cfg, struct upd **out);
/* Waits for running tasks' threads, then frees. */
void upd_free(struct upd *u);
/* "ok", "refuse", "fail" into *mode; -EINVAL for anything else. */
int upd_mode_parse(const char *s, enum upd_mode *mode);

/* The version reported now into out (size bytes). */
void upd_version(struct upd *u, char *out, size_t size);

/*
 * SimpleUpdate with body (the action's parameters).  0: a task started,
 * its path in task_path (size bytes) and its body in *task.  Otherwise an
 * HTTP status (400, 503) with a Redfish MessageId (*msgid, static) and a
 * sentence in msg.
 */
int upd_simple_update(struct upd *u, json_t *body, char *task_path, size_t size, json_t **task,
		      const char **msgid, char *msg, size_t msgsize);

json_t *upd_service(struct upd *u);                        /* GET UpdateService */
json_t *upd_inventory(struct upd *u);                      /* GET FirmwareInventory */
json_t *upd_inventory_item(struct upd *u, const char *id); /* NULL: no such item */
json_t *upd_task_service(void);                            /* GET TaskService */
json_t *upd_tasks(struct upd *u);                          /* GET TaskService/Tasks */
json_t *upd_task(struct upd *u, const char *id);           /* NULL: no such task */
/*
 * GET a task monitor: *status 202 (the Task, returned), 204 (NULL
 * returned), 500 (an error body: the task's last message) or 404 (NULL: no
 * such task).
 */
json_t *upd_task_monitor(struct upd *u, const char *id, unsigned *status);

#endif
