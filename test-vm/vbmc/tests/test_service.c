/*
 * Unit tests for service (and qmp under it), without HTTP and without QEMU:
 * requests go straight to svc_handle(), and a fake QMP server thread on a
 * UNIX socket plays QEMU (greeting, capabilities, query-status, cont, stop,
 * system_reset with a RESET event before its answer, system_powerdown),
 * keeping a log of the commands it ran.  Covers routing (404, 405 + Allow,
 * trailing slashes, foreign ids), both kinds of auth, the Reset mapping as
 * QEMU sees it, the boot override being used up by a power-on, no QEMU at
 * all (Off), and a QEMU that accepts the connection but never answers
 * (503 within the timeout, never a hang).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "service.h"

/* ------------------------------------------------------------ fake QEMU */

struct fake_qmp {
	char dir[64];
	char path[108];
	int lfd;
	pthread_t th;
	pthread_mutex_t lock;
	char status[32]; /* QEMU's run state */
	char log[2048];  /* commands run, space-separated, capabilities left out */
	int hang;        /* accept, then never say a word */
	int no_reboot;   /* system_reset shuts down, as under QEMU's -no-reboot */
	int stop;
};

static void fake_log(struct fake_qmp *f, const char *cmd)
{
	size_t n = strlen(f->log);
	snprintf(f->log + n, sizeof(f->log) - n, "%s%s", n ? " " : "", cmd);
}

static void fake_send(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Answers one command line; returns the reply text in out. */
static void fake_answer(struct fake_qmp *f, int fd, const char *line)
{
	char out[512];
	json_t *req = json_loads(line, 0, NULL);
	const char *cmd = json_string_value(json_object_get(req, "execute"));
	json_int_t id = json_integer_value(json_object_get(req, "id"));
	const char *err = NULL;
	char ret[128] = "{}";

	pthread_mutex_lock(&f->lock);
	if (cmd == NULL) {
		err = "no command";
	} else if (strcmp(cmd, "qmp_capabilities") == 0) {
	} else {
		fake_log(f, cmd);
		if (strcmp(cmd, "query-status") == 0) {
			snprintf(ret, sizeof(ret), "{\"status\": \"%s\", \"running\": %s}",
				 f->status, strcmp(f->status, "running") == 0 ? "true" : "false");
		} else if (strcmp(cmd, "cont") == 0) {
			if (strcmp(f->status, "shutdown") == 0)
				err = "Resetting the Virtual Machine is required";
			else
				snprintf(f->status, sizeof(f->status), "running");
		} else if (strcmp(cmd, "stop") == 0) {
			snprintf(f->status, sizeof(f->status), "paused");
		} else if (strcmp(cmd, "system_reset") == 0) {
			fake_send(fd, "{\"event\": \"RESET\", \"data\": {}}\r\n");
			if (f->no_reboot)
				snprintf(f->status, sizeof(f->status), "shutdown");
			else if (strcmp(f->status, "running") != 0)
				snprintf(f->status, sizeof(f->status), "prelaunch");
		} else if (strcmp(cmd, "system_powerdown") != 0) {
			err = "The command is not known";
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (err)
		snprintf(
			out, sizeof(out),
			"{\"error\": {\"class\": \"GenericError\", \"desc\": \"%s\"}, \"id\": %lld}\r\n",
			err, (long long)id);
	else
		snprintf(out, sizeof(out), "{\"return\": %s, \"id\": %lld}\r\n", ret,
			 (long long)id);
	fake_send(fd, out);
	json_decref(req);
}

static void fake_serve(struct fake_qmp *f, int fd)
{
	char in[4096];
	size_t len = 0;
	if (!f->hang)
		fake_send(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) == 0) {
			if (f->stop)
				return;
			continue;
		}
		ssize_t n = recv(fd, in + len, sizeof(in) - 1 - len, 0);
		if (n <= 0)
			return;
		if (f->hang)
			continue;
		len += (size_t)n;
		in[len] = '\0';
		char *nl;
		while ((nl = strchr(in, '\n')) != NULL) {
			*nl = '\0';
			fake_answer(f, fd, in);
			len -= (size_t)(nl + 1 - in);
			memmove(in, nl + 1, len + 1);
		}
	}
}

static void *fake_main(void *arg)
{
	struct fake_qmp *f = arg;
	while (!f->stop) {
		struct pollfd p = {.fd = f->lfd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		fake_serve(f, fd);
		close(fd);
	}
	return NULL;
}

static struct fake_qmp *fake_start(const char *status, int hang)
{
	struct fake_qmp *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vbmc-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/qmp.sock", f->dir);
	snprintf(f->status, sizeof(f->status), "%s", status);
	f->hang = hang;
	pthread_mutex_init(&f->lock, NULL);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
	return f;
}

static void fake_stop(struct fake_qmp *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* Returns the log and empties it (a copy, valid until the next call). */
static const char *fake_take_log(struct fake_qmp *f)
{
	static char copy[2048];
	pthread_mutex_lock(&f->lock);
	snprintf(copy, sizeof(copy), "%s", f->log);
	f->log[0] = '\0';
	pthread_mutex_unlock(&f->lock);
	return copy;
}

/* ------------------------------------------------------------ helpers */

static struct svc *new_svc(const char *qmp_path, int timeout_ms)
{
	static const struct svc_config base = {
		.id = {.name = "n1",
		       .uuid = "11111111-2222-4333-8444-555555555555",
		       .serial = "CRL77000001",
		       .mac = "52:54:00:77:01:01",
		       .bmc_mac = "52:54:00:78:01:01",
		       .bmc_uuid = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"},
		.user = "admin",
		.password = "s3cret",
		.boot_mode = RF_MODE_LEGACY,
	};
	struct svc_config cfg = base;
	struct svc *s = NULL;
	cfg.qmp_path = qmp_path;
	cfg.qmp_timeout_ms = timeout_ms;
	assert_int_equal(svc_new(&cfg, &s), 0);
	return s;
}

enum auth { NOAUTH, BASIC, BADPASS, TOKEN };

/* One request; returns the status, the reply in *rp (clear it). */
static unsigned req(struct svc *s, const char *method, const char *path, const char *body,
		    enum auth a, const char *token, struct svc_reply *rp)
{
	struct svc_request rq = {.method = method, .path = path};
	if (a == BASIC || a == BADPASS) {
		rq.basic_user = "admin";
		rq.basic_pass = a == BASIC ? "s3cret" : "s3cre";
	}
	if (a == TOKEN)
		rq.token = token;
	if (body) {
		rq.body = body;
		rq.body_len = strlen(body);
	}
	svc_handle(s, &rq, rp);
	return rp->status;
}

static const char *msgid_of(const struct svc_reply *rp)
{
	json_t *err = json_object_get(rp->body, "error");
	assert_string_equal(json_string_value(json_object_get(err, "code")),
			    "Base.1.0.GeneralError");
	assert_non_null(json_string_value(json_object_get(err, "message")));
	json_t *info = json_array_get(json_object_get(err, "@Message.ExtendedInfo"), 0);
	return json_string_value(json_object_get(info, "MessageId"));
}

static const char *get_str(struct svc *s, const char *path, const char *key1, const char *key2)
{
	static char out[64];
	struct svc_reply rp;
	assert_int_equal(req(s, "GET", path, NULL, BASIC, NULL, &rp), 200);
	json_t *v = json_object_get(rp.body, key1);
	if (key2)
		v = json_object_get(v, key2);
	snprintf(out, sizeof(out), "%s", json_string_value(v) ? json_string_value(v) : "(null)");
	svc_reply_clear(&rp);
	return out;
}

static unsigned reset(struct svc *s, const char *type)
{
	char body[64];
	struct svc_reply rp;
	snprintf(body, sizeof(body), "{\"ResetType\": \"%s\"}", type);
	unsigned st = req(s, "POST", "/redfish/v1/Systems/n1/Actions/ComputerSystem.Reset", body,
			  BASIC, NULL, &rp);
	svc_reply_clear(&rp);
	return st;
}

/* ------------------------------------------------------------ tests */

static void test_routing_and_basic_auth(void **state)
{
	struct svc *s = new_svc("/nonexistent/qmp.sock", 500);
	struct svc_reply rp;
	(void)state;

	static const struct {
		const char *method, *path;
		enum auth a;
		unsigned status;
		const char *msgid; /* for errors */
	} cases[] = {
		{"GET", "/redfish", NOAUTH, 200, NULL},
		{"GET", "/redfish/v1/", NOAUTH, 200, NULL},
		{"GET", "/redfish/v1", NOAUTH, 200, NULL},
		{"HEAD", "/redfish/v1/", NOAUTH, 200, NULL},
		{"GET", "/redfish/v1/Systems", NOAUTH, 401, "Base.1.0.NoValidSession"},
		{"GET", "/redfish/v1/Systems", BADPASS, 401, "Base.1.0.NoValidSession"},
		{"GET", "/redfish/v1/Systems", BASIC, 200, NULL},
		{"GET", "/redfish/v1/Systems/", BASIC, 200, NULL},
		{"GET", "/redfish/v1/Systems/n1", BASIC, 200, NULL},
		{"GET", "/redfish/v1/Systems/n2", BASIC, 404, "Base.1.0.ResourceMissingAtURI"},
		{"GET", "/redfish/v1/Systems/n1/EthernetInterfaces/eth0", BASIC, 200, NULL},
		{"GET", "/redfish/v1/Systems/n1/EthernetInterfaces/eth1", BASIC, 404,
		 "Base.1.0.ResourceMissingAtURI"},
		{"GET", "/redfish/v1/Managers/BMC/EthernetInterfaces/eth0", BASIC, 200, NULL},
		{"GET", "/redfish/v1/Managers/1", BASIC, 404, "Base.1.0.ResourceMissingAtURI"},
		{"GET", "/redfish/v1/Chassis/n1", BASIC, 200, NULL},
		{"GET", "/redfish/v1/SessionService", BASIC, 200, NULL},
		{"GET", "/redfish/v1/Nope", BASIC, 404, "Base.1.0.ResourceMissingAtURI"},
		{"GET", "/redfish/v1/Nope", NOAUTH, 404, "Base.1.0.ResourceMissingAtURI"},
		{"GET", "/redfish/v1//Systems", BASIC, 404, "Base.1.0.ResourceMissingAtURI"},
		{"DELETE", "/redfish/v1/Systems", BASIC, 405, "Base.1.0.OperationNotAllowed"},
		{"PUT", "/redfish/v1/Systems/n1", BASIC, 405, "Base.1.0.OperationNotAllowed"},
		{"GET", "/redfish/v1/Systems/n1/Actions/ComputerSystem.Reset", BASIC, 405,
		 "Base.1.0.OperationNotAllowed"},
		{"BREW", "/redfish/v1/", NOAUTH, 405, "Base.1.0.OperationNotAllowed"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned st = req(s, cases[i].method, cases[i].path, NULL, cases[i].a, NULL, &rp);
		if (st != cases[i].status)
			fail_msg("%s %s: %u, want %u", cases[i].method, cases[i].path, st,
				 cases[i].status);
		if (cases[i].msgid)
			assert_string_equal(msgid_of(&rp), cases[i].msgid);
		assert_int_equal(rp.www_authenticate, st == 401);
		svc_reply_clear(&rp);
	}

	assert_int_equal(req(s, "DELETE", "/redfish/v1/Systems/n1", NULL, BASIC, NULL, &rp), 405);
	assert_string_equal(rp.allow, "GET, HEAD, PATCH");
	svc_reply_clear(&rp);
	svc_free(s);
}

static void test_sessions(void **state)
{
	struct svc *s = new_svc("/nonexistent/qmp.sock", 500);
	struct svc_reply rp;
	char token[SESSION_TOKEN_LEN + 1], location[256];
	const char *login = "/redfish/v1/SessionService/Sessions";
	(void)state;

	assert_int_equal(req(s, "POST", login, "{\"UserName\":\"admin\",\"Password\":\"nope\"}",
			     NOAUTH, NULL, &rp),
			 401);
	assert_string_equal(rp.token, "");
	svc_reply_clear(&rp);
	assert_int_equal(req(s, "POST", login, "{\"UserName\":\"admin\"}", NOAUTH, NULL, &rp), 400);
	assert_string_equal(msgid_of(&rp), "Base.1.0.PropertyMissing");
	svc_reply_clear(&rp);
	assert_int_equal(req(s, "POST", login, "{\"UserName\":", NOAUTH, NULL, &rp), 400);
	assert_string_equal(msgid_of(&rp), "Base.1.0.MalformedJSON");
	svc_reply_clear(&rp);

	assert_int_equal(req(s, "POST", login, "{\"UserName\":\"admin\",\"Password\":\"s3cret\"}",
			     NOAUTH, NULL, &rp),
			 201);
	assert_int_equal(strlen(rp.token), SESSION_TOKEN_LEN);
	assert_true(strncmp(rp.location, "/redfish/v1/SessionService/Sessions/", 36) == 0);
	assert_string_equal(json_string_value(json_object_get(rp.body, "@odata.id")), rp.location);
	snprintf(token, sizeof(token), "%s", rp.token);
	snprintf(location, sizeof(location), "%s", rp.location);
	svc_reply_clear(&rp);

	assert_int_equal(req(s, "GET", "/redfish/v1/Systems/n1", NULL, TOKEN, token, &rp), 200);
	svc_reply_clear(&rp);
	assert_int_equal(req(s, "GET", login, NULL, TOKEN, token, &rp), 200);
	assert_int_equal(json_integer_value(json_object_get(rp.body, "Members@odata.count")), 1);
	svc_reply_clear(&rp);
	assert_int_equal(req(s, "GET", location, NULL, TOKEN, token, &rp), 200);
	assert_string_equal(json_string_value(json_object_get(rp.body, "UserName")), "admin");
	svc_reply_clear(&rp);
	assert_int_equal(req(s, "GET", "/redfish/v1/Systems", NULL, TOKEN, "0000", &rp), 401);
	svc_reply_clear(&rp);

	assert_int_equal(req(s, "DELETE", location, NULL, TOKEN, token, &rp), 204);
	svc_reply_clear(&rp);
	assert_int_equal(req(s, "GET", "/redfish/v1/Systems", NULL, TOKEN, token, &rp), 401);
	svc_reply_clear(&rp);
	assert_int_equal(req(s, "DELETE", location, NULL, BASIC, NULL, &rp), 404);
	svc_reply_clear(&rp);
	svc_free(s);
}

static void test_power_through_qmp(void **state)
{
	struct fake_qmp *f = fake_start("prelaunch", 0);
	struct svc *s = new_svc(f->path, 2000);
	const char *sys = "/redfish/v1/Systems/n1";
	(void)state;

	assert_string_equal(get_str(s, sys, "PowerState", NULL), "Off");
	assert_string_equal(get_str(s, "/redfish/v1/Chassis/n1", "PowerState", NULL), "Off");
	fake_take_log(f);

	/* started with -S: On is a plain cont */
	assert_int_equal(reset(s, "On"), 204);
	assert_string_equal(fake_take_log(f), "query-status cont");
	assert_string_equal(get_str(s, sys, "PowerState", NULL), "On");
	fake_take_log(f);
	assert_int_equal(reset(s, "On"), 204); /* already on: nothing */
	assert_string_equal(fake_take_log(f), "query-status");

	assert_int_equal(reset(s, "GracefulShutdown"), 204);
	assert_string_equal(fake_take_log(f), "query-status system_powerdown");

	assert_int_equal(reset(s, "ForceOff"), 204);
	assert_string_equal(fake_take_log(f), "query-status stop");
	assert_string_equal(get_str(s, sys, "PowerState", NULL), "Off");
	fake_take_log(f);

	/* after ForceOff, On starts afresh: reset first */
	assert_int_equal(reset(s, "On"), 204);
	assert_string_equal(fake_take_log(f), "query-status system_reset query-status cont");

	/* the guest powered off (-no-shutdown): QEMU needs a reset before cont */
	pthread_mutex_lock(&f->lock);
	snprintf(f->status, sizeof(f->status), "shutdown");
	pthread_mutex_unlock(&f->lock);
	assert_string_equal(get_str(s, sys, "PowerState", NULL), "Off");
	fake_take_log(f);
	assert_int_equal(reset(s, "On"), 204);
	assert_string_equal(fake_take_log(f), "query-status system_reset query-status cont");

	assert_int_equal(reset(s, "ForceRestart"), 204);
	assert_string_equal(fake_take_log(f), "query-status system_reset");

	svc_free(s);
	fake_stop(f);
}

static void test_boot_override_once(void **state)
{
	struct fake_qmp *f = fake_start("prelaunch", 0);
	struct svc *s = new_svc(f->path, 2000);
	struct svc_reply rp;
	const char *sys = "/redfish/v1/Systems/n1";
	(void)state;

	assert_int_equal(req(s, "PATCH", sys,
			     "{\"Boot\":{\"BootSourceOverrideTarget\":\"Pxe\","
			     "\"BootSourceOverrideEnabled\":\"Once\"}}",
			     BASIC, NULL, &rp),
			 204);
	svc_reply_clear(&rp);
	assert_string_equal(get_str(s, sys, "Boot", "BootSourceOverrideTarget"), "Pxe");
	assert_string_equal(get_str(s, sys, "Boot", "BootSourceOverrideEnabled"), "Once");

	/* a refused PATCH changes nothing */
	assert_int_equal(req(s, "PATCH", sys,
			     "{\"Boot\":{\"BootSourceOverrideTarget\":\"Floppy\"}}", BASIC, NULL,
			     &rp),
			 400);
	assert_string_equal(msgid_of(&rp), "Base.1.0.PropertyValueNotInList");
	svc_reply_clear(&rp);
	assert_int_equal(req(s, "PATCH", sys, "{\"Boot\":{\"BootSourceOverrideTarget\":\"Hdd\"}}",
			     NOAUTH, NULL, &rp),
			 401);
	svc_reply_clear(&rp);
	assert_string_equal(get_str(s, sys, "Boot", "BootSourceOverrideTarget"), "Pxe");

	/* ForceOff does not boot: the override stays; On uses it up */
	assert_int_equal(reset(s, "ForceOff"), 204);
	assert_string_equal(get_str(s, sys, "Boot", "BootSourceOverrideEnabled"), "Once");
	assert_int_equal(reset(s, "On"), 204);
	assert_string_equal(get_str(s, sys, "Boot", "BootSourceOverrideTarget"), "None");
	assert_string_equal(get_str(s, sys, "Boot", "BootSourceOverrideEnabled"), "Disabled");

	/* Continuous survives boots */
	assert_int_equal(req(s, "PATCH", sys,
			     "{\"Boot\":{\"BootSourceOverrideTarget\":\"Pxe\","
			     "\"BootSourceOverrideEnabled\":\"Continuous\"}}",
			     BASIC, NULL, &rp),
			 204);
	svc_reply_clear(&rp);
	assert_int_equal(reset(s, "ForceRestart"), 204);
	assert_string_equal(get_str(s, sys, "Boot", "BootSourceOverrideEnabled"), "Continuous");
	svc_free(s);
	fake_stop(f);
}

static void test_reset_body_errors(void **state)
{
	struct fake_qmp *f = fake_start("prelaunch", 0);
	struct svc *s = new_svc(f->path, 2000);
	struct svc_reply rp;
	const char *act = "/redfish/v1/Systems/n1/Actions/ComputerSystem.Reset";
	(void)state;
	static const struct {
		const char *body;
		const char *msgid;
	} cases[] = {
		{"{}", "Base.1.0.ActionParameterMissing"},
		{"{\"ResetType\": \"Nmi\"}", "Base.1.0.ActionParameterNotSupported"},
		{"{\"ResetType\": 1}", "Base.1.0.ActionParameterNotSupported"},
		{"{\"ResetType\": \"On\"", "Base.1.0.MalformedJSON"},
		{"", "Base.1.0.MalformedJSON"},
		{"{\"ResetType\": \"On\", \"ResetType\": \"ForceOff\"}", "Base.1.0.MalformedJSON"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(req(s, "POST", act, cases[i].body, BASIC, NULL, &rp), 400);
		assert_string_equal(msgid_of(&rp), cases[i].msgid);
		svc_reply_clear(&rp);
	}
	assert_string_equal(fake_take_log(f), ""); /* QEMU never heard of them */
	assert_int_equal(req(s, "POST", "/redfish/v1/Systems/n9/Actions/ComputerSystem.Reset",
			     "{\"ResetType\":\"On\"}", BASIC, NULL, &rp),
			 404);
	svc_reply_clear(&rp);
	svc_free(s);
	fake_stop(f);
}

static void test_no_qemu(void **state)
{
	struct svc *s = new_svc("/nonexistent/qmp.sock", 500);
	struct svc_reply rp;
	(void)state;
	assert_string_equal(get_str(s, "/redfish/v1/Systems/n1", "PowerState", NULL), "Off");
	assert_int_equal(reset(s, "ForceOff"), 204);
	assert_int_equal(reset(s, "GracefulShutdown"), 204);
	assert_int_equal(req(s, "POST", "/redfish/v1/Systems/n1/Actions/ComputerSystem.Reset",
			     "{\"ResetType\":\"On\"}", BASIC, NULL, &rp),
			 503);
	assert_string_equal(msgid_of(&rp), "Base.1.0.ServiceTemporarilyUnavailable");
	svc_reply_clear(&rp);
	svc_free(s);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_hung_qemu(void **state)
{
	struct fake_qmp *f = fake_start("running", 1);
	struct svc *s = new_svc(f->path, 300);
	struct svc_reply rp;
	(void)state;
	double t0 = now_s();
	assert_int_equal(req(s, "GET", "/redfish/v1/Systems/n1", NULL, BASIC, NULL, &rp), 503);
	assert_string_equal(msgid_of(&rp), "Base.1.0.ServiceTemporarilyUnavailable");
	svc_reply_clear(&rp);
	assert_int_equal(reset(s, "On"), 503);
	double took = now_s() - t0;
	assert_true(took >= 0.5 && took < 2.0);
	/* resources that need no QEMU still answer */
	assert_int_equal(req(s, "GET", "/redfish/v1/Systems/n1/EthernetInterfaces/eth0", NULL,
			     BASIC, NULL, &rp),
			 200);
	svc_reply_clear(&rp);
	svc_free(s);
	fake_stop(f);
}

/* A QEMU started with -no-reboot never leaves "shutdown": a clear 500, in time. */
static void test_reset_under_no_reboot(void **state)
{
	struct fake_qmp *f = fake_start("shutdown", 0);
	struct svc *s = new_svc(f->path, 300);
	struct svc_reply rp;
	(void)state;
	f->no_reboot = 1;
	double t0 = now_s();
	assert_int_equal(req(s, "POST", "/redfish/v1/Systems/n1/Actions/ComputerSystem.Reset",
			     "{\"ResetType\":\"On\"}", BASIC, NULL, &rp),
			 500);
	assert_non_null(strstr(
		json_string_value(json_object_get(json_object_get(rp.body, "error"), "message")),
		"-no-reboot"));
	svc_reply_clear(&rp);
	assert_true(now_s() - t0 < 2.0);
	svc_free(s);
	fake_stop(f);
}

static void test_uuid_from(void **state)
{
	char a[37], b[37], c[37];
	(void)state;
	svc_uuid_from("system/n1/52:54:00:77:01:01", a);
	svc_uuid_from("system/n1/52:54:00:77:01:01", b);
	svc_uuid_from("system/n2/52:54:00:77:01:02", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 36);
	assert_true(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	assert_true(a[14] == '4');
	assert_non_null(strchr("89ab", a[19]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routing_and_basic_auth),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_power_through_qmp),
		cmocka_unit_test(test_boot_override_once),
		cmocka_unit_test(test_reset_body_errors),
		cmocka_unit_test(test_no_qemu),
		cmocka_unit_test(test_hung_qemu),
		cmocka_unit_test(test_reset_under_no_reboot),
		cmocka_unit_test(test_uuid_from),
	};
	log_init("test_service", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
