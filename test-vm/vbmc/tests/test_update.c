/*
 * Unit tests for update (the vBMC's UpdateService), without the HTTP front:
 * SimpleUpdate's parameter checks (table-driven: each refusal's status and
 * MessageId), refuse mode, and whole tasks against a one-shot HTTP server
 * thread on loopback that serves a given image: a good image completes
 * and changes the version only then; a download that fails, an image that
 * is not a corral-vbmc image or is for another model, and fail mode end
 * in Exception with the version unchanged.  The resource shapes the
 * corrald side reads (UpdateService's action target, the inventory
 * member's Version, the Task's TaskState/TaskStatus/Messages) are checked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "update.h"

/* ------------------------------------------------------------ one-shot server */

struct srv {
	int fd, port;
	const char *body; /* served once with 200, or NULL: 404 */
	pthread_t th;
};

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	int c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	char req[2048];
	(void)recv(c, req, sizeof(req), 0); /* the request line and headers: not read further */
	char head[256];
	size_t n = s->body ? strlen(s->body) : 0;
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 s->body ? "200 OK" : "404 Not Found", n);
	(void)send(c, head, strlen(head), MSG_NOSIGNAL);
	if (n > 0)
		(void)send(c, s->body, n, MSG_NOSIGNAL);
	close(c);
	return NULL;
}

static void srv_start(struct srv *s, const char *body)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	s->body = body;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* ------------------------------------------------------------ helpers */

static struct upd *make(enum upd_mode mode)
{
	struct upd_config cfg = {.model = "corral-vbmc",
				 .version = "1.0",
				 .mode = mode,
				 .apply_ms = 10,
				 .fetch_timeout_ms = 5000};
	struct upd *u = NULL;
	assert_int_equal(upd_new(&cfg, &u), 0);
	return u;
}

static char *cur_version(struct upd *u)
{
	static char v[64];
	upd_version(u, v, sizeof(v));
	return v;
}

/* Starts a SimpleUpdate of url; the task's id. */
static char *start(struct upd *u, const char *url)
{
	static char id[16];
	char path[128], msg[300];
	const char *msgid = NULL;
	json_t *task = NULL;
	json_t *body = json_pack("{s:s, s:s}", "ImageURI", url, "TransferProtocol", "HTTP");
	int rc = upd_simple_update(u, body, path, sizeof(path), &task, &msgid, msg, sizeof(msg));
	json_decref(body);
	if (rc != 0)
		fail_msg("SimpleUpdate: %d %s %s", rc, msgid, msg);
	assert_string_equal(json_string_value(json_object_get(task, "TaskState")), "Running");
	assert_non_null(strstr(path, "/redfish/v1/TaskService/Tasks/"));
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(task, "Id")));
	json_decref(task);
	return id;
}

/* Waits for the task to leave Running; returns it (caller decrefs). */
static json_t *finish(struct upd *u, const char *id)
{
	for (int i = 0; i < 500; i++) {
		json_t *t = upd_task(u, id);
		assert_non_null(t);
		if (strcmp(json_string_value(json_object_get(t, "TaskState")), "Running") != 0)
			return t;
		json_decref(t);
		struct timespec ts = {0, 20 * 1000000L};
		nanosleep(&ts, NULL);
	}
	fail_msg("task %s still running", id);
	return NULL;
}

static const char *last_message(json_t *t)
{
	json_t *m = json_object_get(t, "Messages");
	return json_string_value(
		json_object_get(json_array_get(m, json_array_size(m) - 1), "Message"));
}

/* ------------------------------------------------------------ tests */

static const struct {
	const char *body; /* JSON */
	int status;
	const char *msgid;
} bad_params[] = {
	{"{}", 400, "Base.1.0.ActionParameterMissing"},
	{"{\"TransferProtocol\": \"HTTP\"}", 400, "Base.1.0.ActionParameterMissing"},
	{"{\"ImageURI\": \"http://x/y\", \"TransferProtocol\": \"TFTP\"}", 400,
	 "Base.1.0.ActionParameterNotSupported"},
	{"{\"ImageURI\": \"http://x/y\", \"TransferProtocol\": 7}", 400,
	 "Base.1.0.ActionParameterNotSupported"},
	{"{\"ImageURI\": \"ftp://x/y\"}", 400, "Base.1.0.ActionParameterValueFormatError"},
	{"{\"ImageURI\": 42}", 400, "Base.1.0.ActionParameterValueFormatError"},
};

static void test_simple_update_parameters(void **state)
{
	(void)state;
	struct upd *u = make(UPD_OK);
	for (size_t i = 0; i < sizeof(bad_params) / sizeof(bad_params[0]); i++) {
		char path[128], msg[300];
		const char *msgid = NULL;
		json_t *task = NULL;
		json_t *body = json_loads(bad_params[i].body, 0, NULL);
		int rc = upd_simple_update(u, body, path, sizeof(path), &task, &msgid, msg,
					   sizeof(msg));
		json_decref(body);
		if (rc != bad_params[i].status || strcmp(msgid, bad_params[i].msgid) != 0)
			fail_msg("%s: %d %s, want %d %s", bad_params[i].body, rc, msgid,
				 bad_params[i].status, bad_params[i].msgid);
		assert_null(task);
	}
	json_t *tasks = upd_tasks(u);
	assert_int_equal(json_array_size(json_object_get(tasks, "Members")), 0);
	json_decref(tasks);
	upd_free(u);
}

static void test_refuse_mode_starts_nothing(void **state)
{
	(void)state;
	struct upd *u = make(UPD_REFUSE);
	char path[128], msg[300];
	const char *msgid = NULL;
	json_t *task = NULL;
	json_t *body = json_pack("{s:s}", "ImageURI", "http://127.0.0.1:1/fw");
	assert_int_equal(
		upd_simple_update(u, body, path, sizeof(path), &task, &msgid, msg, sizeof(msg)),
		400);
	json_decref(body);
	assert_string_equal(msgid, "Base.1.0.ActionNotSupported");
	assert_non_null(strstr(msg, "update policy"));
	json_t *tasks = upd_tasks(u);
	assert_int_equal(json_array_size(json_object_get(tasks, "Members")), 0);
	json_decref(tasks);
	upd_free(u);
}

static void test_good_image_completes_and_changes_the_version(void **state)
{
	(void)state;
	struct upd *u = make(UPD_OK);
	struct srv s;
	srv_start(&s, "corral-vbmc-firmware model=corral-vbmc version=2.5\npadding");
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/fw", s.port);
	json_t *svc = upd_service(u);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(json_object_get(svc, "Actions"),
								  "#UpdateService.SimpleUpdate"),
						  "target")),
		"/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate");
	json_decref(svc);
	json_t *t = finish(u, start(u, url));
	srv_stop(&s);
	assert_string_equal(json_string_value(json_object_get(t, "TaskState")), "Completed");
	assert_string_equal(json_string_value(json_object_get(t, "TaskStatus")), "OK");
	assert_non_null(strstr(last_message(t), "from 1.0 to 2.5"));
	json_decref(t);
	assert_string_equal(cur_version(u), "2.5");
	json_t *item = upd_inventory_item(u, "BMC");
	assert_string_equal(json_string_value(json_object_get(item, "Version")), "2.5");
	json_decref(item);
	assert_null(upd_inventory_item(u, "CPLD"));
	upd_free(u);
}

static const struct {
	const char *what;
	const char *image; /* NULL: the server answers 404 */
	enum upd_mode mode;
	const char *message; /* in the task's last message */
} failing[] = {
	{"404 from the server", NULL, UPD_OK, "HTTP 404"},
	{"not an image", "just some bytes\n", UPD_OK, "not a corral-vbmc firmware image"},
	{"another model", "corral-vbmc-firmware model=acme-9 version=3\n", UPD_OK,
	 "for model acme-9"},
	{"fail mode", "corral-vbmc-firmware model=corral-vbmc version=3\n", UPD_FAIL,
	 "flash write error"},
};

static void test_failing_tasks_keep_the_version(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(failing) / sizeof(failing[0]); i++) {
		struct upd *u = make(failing[i].mode);
		struct srv s;
		srv_start(&s, failing[i].image);
		char url[64];
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/fw", s.port);
		json_t *t = finish(u, start(u, url));
		srv_stop(&s);
		if (strcmp(json_string_value(json_object_get(t, "TaskState")), "Exception") != 0 ||
		    strcmp(json_string_value(json_object_get(t, "TaskStatus")), "Critical") != 0 ||
		    strstr(last_message(t), failing[i].message) == NULL)
			fail_msg("%s: %s", failing[i].what, json_dumps(t, JSON_COMPACT));
		json_decref(t);
		assert_string_equal(cur_version(u), "1.0");
		upd_free(u);
	}
}

static void test_nothing_listening_fails_the_task(void **state)
{
	(void)state;
	struct upd *u = make(UPD_OK);
	/* a port just closed: nothing listens there */
	struct srv s;
	srv_start(&s, "x");
	int port = s.port;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(c);
	srv_stop(&s);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/fw", port);
	json_t *t = finish(u, start(u, url));
	assert_string_equal(json_string_value(json_object_get(t, "TaskState")), "Exception");
	assert_non_null(strstr(last_message(t), "fetching"));
	json_decref(t);
	assert_string_equal(cur_version(u), "1.0");
	upd_free(u);
}

static void test_mode_parse(void **state)
{
	(void)state;
	enum upd_mode m;
	assert_int_equal(upd_mode_parse("ok", &m), 0);
	assert_int_equal(m, UPD_OK);
	assert_int_equal(upd_mode_parse("refuse", &m), 0);
	assert_int_equal(m, UPD_REFUSE);
	assert_int_equal(upd_mode_parse("fail", &m), 0);
	assert_int_equal(m, UPD_FAIL);
	assert_int_equal(upd_mode_parse("maybe", &m), -EINVAL);
	assert_int_equal(upd_mode_parse("", &m), -EINVAL);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_update_parameters),
		cmocka_unit_test(test_refuse_mode_starts_nothing),
		cmocka_unit_test(test_good_image_completes_and_changes_the_version),
		cmocka_unit_test(test_failing_tasks_keep_the_version),
		cmocka_unit_test(test_nothing_listening_fails_the_task),
		cmocka_unit_test(test_mode_parse),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
