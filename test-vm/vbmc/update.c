/*
 * update: firmware version, UpdateService, SimpleUpdate and its tasks for
 * the virtual BMC.  See update.h.
 *
 * Security: the image is fetched over plain HTTP from the URI the client
 * gave, as a BMC does: bounded by fetch_timeout_ms and UPD_MAX_IMAGE, no
 * redirects, http only.  Only the image's first line is interpreted.
 */
#include "update.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "digest.h"
#include "log.h"
#include "rfjson.h"

#define UPD_SERVICE RF_ROOT "/UpdateService"
#define UPD_INVENTORY UPD_SERVICE "/FirmwareInventory"
#define UPD_TASKS_PATH RF_ROOT "/TaskService/Tasks"
#define UPD_MONITORS_PATH RF_ROOT "/TaskService/TaskMonitors"
#define UPD_ITEM "BMC" /* the one inventory item: the BMC's own firmware */
#define UPD_TEXT 64
#define UPD_MAGIC "corral-vbmc-firmware "

enum upd_state { T_RUNNING, T_COMPLETED, T_EXCEPTION };

struct upd_task {
	int id; /* 0: free slot */
	enum upd_state state;
	bool critical; /* TaskStatus Critical (else OK) */
	int percent;
	char uri[512];
	char start[32], end[32];
	json_t *messages; /* [{MessageId, Message, Severity}] */
	pthread_t thread;
	bool joinable;
	struct upd *u;
};

struct upd {
	pthread_mutex_t lock;
	char model[UPD_TEXT];
	char version[UPD_TEXT];
	enum upd_mode mode;
	unsigned apply_ms, fetch_timeout_ms;
	bool task_monitor;
	int next_id;
	bool stopping; /* upd_free: tasks stop applying */
	struct upd_task tasks[UPD_TASKS];
};

int upd_mode_parse(const char *s, enum upd_mode *mode)
{
	static const char *const names[] = {"ok", "refuse", "fail"};
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*mode = (enum upd_mode)i;
			return 0;
		}
	return -EINVAL;
}

int upd_new(const struct upd_config *cfg, struct upd **out)
{
	struct upd *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	if (buf_fmt(u->model, sizeof(u->model), "%s", cfg->model) < 0 ||
	    buf_fmt(u->version, sizeof(u->version), "%s", cfg->version) < 0) {
		free(u);
		return -EINVAL;
	}
	u->mode = cfg->mode;
	u->apply_ms = cfg->apply_ms;
	u->task_monitor = cfg->task_monitor;
	u->fetch_timeout_ms = cfg->fetch_timeout_ms ? cfg->fetch_timeout_ms : 60000;
	u->next_id = 1;
	pthread_mutex_init(&u->lock, NULL);
	*out = u;
	return 0;
}

void upd_free(struct upd *u)
{
	if (u == NULL)
		return;
	pthread_mutex_lock(&u->lock);
	u->stopping = true;
	pthread_mutex_unlock(&u->lock);
	for (int i = 0; i < UPD_TASKS; i++) {
		if (u->tasks[i].joinable)
			pthread_join(u->tasks[i].thread, NULL);
		json_decref(u->tasks[i].messages);
	}
	pthread_mutex_destroy(&u->lock);
	free(u);
}

void upd_version(struct upd *u, char *out, size_t size)
{
	pthread_mutex_lock(&u->lock);
	buf_fmt_msg(out, size, "%s", u->version);
	pthread_mutex_unlock(&u->lock);
}

static void upd_now(char *out, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

/* Appends a message to task t (lock held). */
static void upd_msg(struct upd_task *t, const char *id, const char *severity, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void upd_msg(struct upd_task *t, const char *id, const char *severity, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	buf_vfmt_msg(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(t->messages, json_pack("{s:s, s:s, s:s}", "MessageId", id, "Message",
						     msg, "Severity", severity));
}

/* Ends task t (lock held). */
static void upd_end(struct upd_task *t, enum upd_state state, bool critical)
{
	t->state = state;
	t->critical = critical;
	t->percent = 100;
	upd_now(t->end, sizeof(t->end));
}

static size_t upd_write(char *data, size_t size, size_t n, void *arg)
{
	return buf_add(arg, data, size * n) < 0 ? 0 : size * n;
}

/* Downloads uri into img; 0, or -EIO with why in err. */
static int upd_fetch(struct upd *u, const char *uri, struct buf *img, char *err, size_t errlen)
{
	CURL *e = curl_easy_init();
	if (e == NULL) {
		buf_fmt_msg(err, errlen, "cannot start a download");
		return -EIO;
	}
	curl_easy_setopt(e, CURLOPT_URL, uri);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, upd_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, img);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)u->fetch_timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)UPD_MAX_IMAGE);
	CURLcode res = curl_easy_perform(e);
	long code = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	if (res != CURLE_OK) {
		buf_fmt_msg(err, errlen, "fetching %s: %s", uri, curl_easy_strerror(res));
		return -EIO;
	}
	if (code != 200) {
		buf_fmt_msg(err, errlen, "fetching %s: HTTP %ld", uri, code);
		return -EIO;
	}
	return 0;
}

/* The image's model and version from its first line; 0 or -EINVAL. */
static int upd_parse(const struct buf *img, char *model, char *version)
{
	char line[200];
	size_t n = 0;
	while (n < img->len && n + 1 < sizeof(line) && img->data[n] != '\n') {
		line[n] = img->data[n];
		n++;
	}
	line[n] = '\0';
	if (strncmp(line, UPD_MAGIC, strlen(UPD_MAGIC)) != 0)
		return -EINVAL;
	const char *m = strstr(line, "model="), *v = strstr(line, " version=");
	if (m == NULL || v == NULL || v < m)
		return -EINVAL;
	m += 6;
	size_t ml = (size_t)(v - m);
	v += 9;
	if (ml == 0 || ml >= UPD_TEXT || v[0] == '\0' || strlen(v) >= UPD_TEXT)
		return -EINVAL;
	memcpy(model, m, ml);
	model[ml] = '\0';
	memcpy(version, v, strlen(v) + 1);
	return 0;
}

/* Sleeps ms in steps of 50 ms, less once the module is being freed. */
static void upd_sleep_ms(struct upd *u, unsigned ms)
{
	for (unsigned slept = 0; slept < ms; slept += 50) {
		pthread_mutex_lock(&u->lock);
		bool stop = u->stopping;
		pthread_mutex_unlock(&u->lock);
		if (stop)
			return;
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static void *upd_run(void *arg)
{
	struct upd_task *t = arg;
	struct upd *u = t->u;
	struct buf img;
	char err[400], model[UPD_TEXT], version[UPD_TEXT], sha[DIGEST_HEX_LEN + 1];
	buf_init(&img, UPD_MAX_IMAGE);
	int rc = upd_fetch(u, t->uri, &img, err, sizeof(err));
	pthread_mutex_lock(&u->lock);
	if (rc < 0) {
		upd_msg(t, "Update.1.0.TransferFailed", "Critical", "%s", err);
		upd_end(t, T_EXCEPTION, true);
		goto out;
	}
	digest_sha256_hex(img.data ? img.data : "", img.len, sha);
	upd_msg(t, "Update.1.0.TransferringToComponent", "OK",
		"Image received: %zu bytes, sha256 %s.", img.len, sha);
	t->percent = 50;
	log_info("update task %d: fetched %zu bytes, sha256 %s", t->id, img.len, sha);
	if (upd_parse(&img, model, version) < 0) {
		upd_msg(t, "Update.1.0.VerificationFailed", "Critical",
			"The image is not a corral-vbmc firmware image (no '" UPD_MAGIC
			"model=… version=…' first line).");
		upd_end(t, T_EXCEPTION, true);
		goto out;
	}
	if (strcmp(model, u->model) != 0) {
		upd_msg(t, "Update.1.0.VerificationFailed", "Critical",
			"The image is for model %s; this BMC is %s.", model, u->model);
		upd_end(t, T_EXCEPTION, true);
		goto out;
	}
	unsigned apply = u->apply_ms;
	pthread_mutex_unlock(&u->lock);
	upd_sleep_ms(u, apply); /* "applying": the task is seen Running */
	pthread_mutex_lock(&u->lock);
	if (u->mode == UPD_FAIL) {
		upd_msg(t, "Update.1.0.ApplyFailed", "Critical",
			"Applying firmware %s failed: flash write error (simulated: update mode "
			"fail).",
			version);
		upd_end(t, T_EXCEPTION, true);
		log_info("update task %d: failed on purpose (update mode fail)", t->id);
		goto out;
	}
	log_info("update task %d: firmware %s -> %s", t->id, u->version, version);
	upd_msg(t, "Update.1.0.UpdateSuccessful", "OK", "The firmware was updated from %s to %s.",
		u->version, version);
	memcpy(u->version, version, sizeof(u->version));
	upd_end(t, T_COMPLETED, false);
out:
	pthread_mutex_unlock(&u->lock);
	buf_clear(&img);
	return NULL;
}

/* A slot for a new task (lock held): a free one, else the oldest finished; NULL if none. */
static struct upd_task *upd_slot(struct upd *u)
{
	struct upd_task *best = NULL;
	for (int i = 0; i < UPD_TASKS; i++) {
		struct upd_task *t = &u->tasks[i];
		if (t->id == 0)
			return t;
		if (t->state != T_RUNNING && (best == NULL || t->id < best->id))
			best = t;
	}
	return best;
}

static json_t *upd_task_json(const struct upd_task *t)
{
	static const char *const states[] = {"Running", "Completed", "Exception"};
	char path[128];
	if (buf_fmt(path, sizeof(path), UPD_TASKS_PATH "/%d", t->id) < 0)
		return NULL;
	json_t *j = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:O, s:s}", "@odata.id", path,
		"@odata.type", "#Task.v1_4_3.Task", "Id", path + strlen(UPD_TASKS_PATH) + 1, "Name",
		"Firmware update", "TaskState", states[t->state], "TaskStatus",
		t->critical ? "Critical" : "OK", "StartTime", t->start, "PercentComplete",
		t->percent, "Messages", t->messages, "TaskMonitor", path);
	if (j != NULL && t->end[0] != '\0')
		json_object_set_new(j, "EndTime", json_string(t->end));
	return j;
}

int upd_simple_update(struct upd *u, json_t *body, char *task_path, size_t size, json_t **task,
		      const char **msgid, char *msg, size_t msgsize)
{
	const char *uri = json_string_value(json_object_get(body, "ImageURI"));
	json_t *proto = json_object_get(body, "TransferProtocol");
	if (json_object_get(body, "ImageURI") == NULL) {
		*msgid = "Base.1.0.ActionParameterMissing";
		buf_fmt_msg(msg, msgsize,
			    "The action UpdateService.SimpleUpdate requires the "
			    "parameter ImageURI.");
		return 400;
	}
	if (proto != NULL &&
	    (!json_is_string(proto) || strcmp(json_string_value(proto), "HTTP") != 0)) {
		*msgid = "Base.1.0.ActionParameterNotSupported";
		buf_fmt_msg(msg, msgsize, "The TransferProtocol %.32s is not supported; only HTTP.",
			    json_is_string(proto) ? json_string_value(proto) : "(not a string)");
		return 400;
	}
	if (uri == NULL || strncmp(uri, "http://", 7) != 0 || strlen(uri) >= 512) {
		*msgid = "Base.1.0.ActionParameterValueFormatError";
		buf_fmt_msg(msg, msgsize, "The ImageURI must be an http:// URL under 512 bytes.");
		return 400;
	}
	pthread_mutex_lock(&u->lock);
	if (u->mode == UPD_REFUSE) {
		pthread_mutex_unlock(&u->lock);
		*msgid = "Base.1.0.ActionNotSupported";
		buf_fmt_msg(msg, msgsize,
			    "Firmware updates are disabled on this BMC by its update "
			    "policy (update mode refuse).");
		log_info("SimpleUpdate refused (update mode refuse)");
		return 400;
	}
	struct upd_task *t = upd_slot(u);
	if (t == NULL) {
		pthread_mutex_unlock(&u->lock);
		*msgid = "Base.1.0.ServiceTemporarilyUnavailable";
		buf_fmt_msg(msg, msgsize, "%d update tasks are running; try again later.",
			    UPD_TASKS);
		return 503;
	}
	if (t->joinable)
		pthread_join(t->thread, NULL); /* finished: returns at once */
	json_decref(t->messages);
	memset(t, 0, sizeof(*t));
	t->u = u;
	t->id = u->next_id++;
	t->state = T_RUNNING;
	t->messages = json_array();
	memcpy(t->uri, uri, strlen(uri) + 1);
	upd_now(t->start, sizeof(t->start));
	upd_msg(t, "TaskEvent.1.0.TaskStarted", "OK", "Fetching %s.", uri);
	if (pthread_create(&t->thread, NULL, upd_run, t) != 0) {
		t->id = 0;
		pthread_mutex_unlock(&u->lock);
		*msgid = "Base.1.0.InternalError";
		buf_fmt_msg(msg, msgsize, "The update task could not be started.");
		return 503;
	}
	t->joinable = true;
	log_info("update task %d: SimpleUpdate from %s", t->id, uri);
	*task = upd_task_json(t);
	int rc = buf_fmt(task_path, size, "%s/%d",
			 u->task_monitor ? UPD_MONITORS_PATH : UPD_TASKS_PATH, t->id);
	pthread_mutex_unlock(&u->lock);
	return rc < 0 ? 500 : 0;
}

json_t *upd_service(struct upd *u)
{
	(void)u;
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:{s:s}, s:{s:{s:s, s:[s]}}}", "@odata.id",
			 UPD_SERVICE, "@odata.type", "#UpdateService.v1_11_0.UpdateService", "Id",
			 "UpdateService", "Name", "Update Service", "ServiceEnabled", 1,
			 "FirmwareInventory", "@odata.id", UPD_INVENTORY, "Actions",
			 "#UpdateService.SimpleUpdate", "target",
			 UPD_SERVICE "/Actions/UpdateService.SimpleUpdate",
			 "TransferProtocol@Redfish.AllowableValues", "HTTP");
}

json_t *upd_inventory(struct upd *u)
{
	(void)u;
	return json_pack("{s:s, s:s, s:s, s:[{s:s}], s:i}", "@odata.id", UPD_INVENTORY,
			 "@odata.type", "#SoftwareInventoryCollection.SoftwareInventoryCollection",
			 "Name", "Firmware Inventory", "Members", "@odata.id",
			 UPD_INVENTORY "/" UPD_ITEM, "Members@odata.count", 1);
}

json_t *upd_inventory_item(struct upd *u, const char *id)
{
	if (strcmp(id, UPD_ITEM) != 0)
		return NULL;
	char version[UPD_TEXT];
	upd_version(u, version, sizeof(version));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:s}}", "@odata.id",
			 UPD_INVENTORY "/" UPD_ITEM, "@odata.type",
			 "#SoftwareInventory.v1_5_0.SoftwareInventory", "Id", UPD_ITEM, "Name",
			 "BMC firmware", "Version", version, "Updateable", 1, "Status", "State",
			 "Enabled", "Health", "OK");
}

json_t *upd_task_service(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:{s:s}}", "@odata.id", RF_ROOT "/TaskService",
			 "@odata.type", "#TaskService.v1_2_0.TaskService", "Id", "TaskService",
			 "Name", "Task Service", "ServiceEnabled", 1, "Tasks", "@odata.id",
			 UPD_TASKS_PATH);
}

json_t *upd_tasks(struct upd *u)
{
	json_t *m = json_array();
	pthread_mutex_lock(&u->lock);
	for (int i = 0; i < UPD_TASKS; i++) {
		char path[128];
		if (u->tasks[i].id != 0 &&
		    buf_fmt(path, sizeof(path), UPD_TASKS_PATH "/%d", u->tasks[i].id) == 0)
			json_array_append_new(m, json_pack("{s:s}", "@odata.id", path));
	}
	pthread_mutex_unlock(&u->lock);
	return json_pack("{s:s, s:s, s:s, s:I, s:o}", "@odata.id", UPD_TASKS_PATH, "@odata.type",
			 "#TaskCollection.TaskCollection", "Name", "Task Collection",
			 "Members@odata.count", (json_int_t)json_array_size(m), "Members", m);
}

json_t *upd_task(struct upd *u, const char *id)
{
	json_t *out = NULL;
	pthread_mutex_lock(&u->lock);
	for (int i = 0; i < UPD_TASKS; i++) {
		char s[16];
		if (u->tasks[i].id != 0 && buf_fmt(s, sizeof(s), "%d", u->tasks[i].id) == 0 &&
		    strcmp(s, id) == 0)
			out = upd_task_json(&u->tasks[i]);
	}
	pthread_mutex_unlock(&u->lock);
	return out;
}

json_t *upd_task_monitor(struct upd *u, const char *id, unsigned *status)
{
	json_t *out = NULL;
	*status = 404;
	pthread_mutex_lock(&u->lock);
	for (int i = 0; i < UPD_TASKS; i++) {
		const struct upd_task *t = &u->tasks[i];
		char s[16];
		if (t->id == 0 || buf_fmt(s, sizeof(s), "%d", t->id) < 0 || strcmp(s, id) != 0)
			continue;
		if (t->state == T_RUNNING) {
			*status = 202;
			out = upd_task_json(t);
		} else if (t->state == T_COMPLETED) {
			*status = 204;
		} else {
			json_t *m = json_array_get(t->messages, json_array_size(t->messages) - 1);
			*status = 500;
			out = rf_error(json_string_value(json_object_get(m, "MessageId")),
				       json_string_value(json_object_get(m, "Message")));
		}
	}
	pthread_mutex_unlock(&u->lock);
	return out;
}
