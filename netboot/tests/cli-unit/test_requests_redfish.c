/*
 * Unit tests of what the Redfish commands send and print, against the fake
 * HTTP server of fake_server.h (no corrald, no BMC).
 *
 * Covered: credential set (file and stdin), discover/power/boot pxe (body,
 * --no-wait, waiting on the job, the summary table, exit 1 on failed nodes
 * or a timeout), boot pxe --profile (every name checked before anything
 * changes), job show/wait (discovery summary and its verdict).
 *
 * Not covered: the progress bar on a terminal (stdout is a file here), and
 * the password prompt on a terminal.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_cmds_redfish.h"

#define CAPTURE_OUT_LEN (1 << 16)
#include "fake_server.h"

static void test_credential_set(void **state)
{
	(void)state;
	const char *p = write_tmp("pw", "s3 cr=t\r\n");
	fake_push_json(201, "{}");
	assert_int_equal(
		run("credential", "set", ARGS("bmc", "--username", "root", "--password-file", p)),
		0);
	expect_req(0, "POST", "/api/v1/credentials",
		   "{\"name\": \"bmc\", \"username\": \"root\", \"password\": \"s3 cr=t\"}");
	expect_out("credential bmc set (username root)\n");
	/* the password is not in any option the CLI keeps to itself */
	assert_null(strstr(fake_req(0)->path, "s3"));

	/* from stdin (not a terminal: read as is) */
	p = write_tmp("pw", "from-stdin\n");
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	int saved = dup(STDIN_FILENO);
	assert_true(dup2(fd, STDIN_FILENO) >= 0);
	close(fd);
	fake_push_json(201, "{}");
	int rc = run("credential", "set", ARGS("c2", "--username", "u", "--password-stdin"));
	dup2(saved, STDIN_FILENO);
	close(saved);
	assert_int_equal(rc, 0);
	expect_req(1, "POST", "/api/v1/credentials",
		   "{\"name\": \"c2\", \"username\": \"u\", \"password\": \"from-stdin\"}");
}

/* ---- Redfish jobs -------------------------------------------------------- */

static void test_job_no_wait(void **state)
{
	(void)state;
	fake_push_json(202, "{\"id\": 7, \"type\": \"discovery\", \"state\": \"running\"}");
	assert_int_equal(run("discover", NULL,
			     ARGS("10.0.0.0/30", "10.0.1.5", "--port", "623", "--insecure",
				  "--timeout", "60", "--no-wait")),
			 0);
	expect_req(0, "POST", "/api/v1/discovery",
		   "{\"targets\": [\"10.0.0.0/30\", \"10.0.1.5\"], \"port\": 623, \"insecure\": "
		   "true}");
	expect_out("discovery job 7 started; 'corral job wait 7' waits for it\n");

	fake_push_json(202, "{\"id\": 3, \"type\": \"power\", \"action\": \"on\", \"state\": "
			    "\"running\"}");
	assert_int_equal(run("power", "on", ARGS("n1", "g1", "--no-wait")), 0);
	expect_req(1, "POST", "/api/v1/power",
		   "{\"targets\": [\"n1\", \"g1\"], \"action\": \"on\"}");
	expect_out("power on job 3 started; 'corral job wait 3' waits for it\n");

	fake_push_json(202, "{\"id\": 4, \"type\": \"boot\", \"state\": \"running\"}");
	assert_int_equal(run("boot", "pxe", ARGS("n1", "--continuous", "--reset", "--no-wait")), 0);
	expect_req(
		2, "POST", "/api/v1/boot",
		"{\"targets\": [\"n1\"], \"once\": false, \"reset\": true, \"target\": \"pxe\"}");
	expect_out("boot pxe job 4 started; 'corral job wait 4' waits for it\n");

	/* --json: the job as the server sent it */
	fake_push_json(202, "{\"id\": 5, \"type\": \"power\", \"action\": \"off\", \"state\": "
			    "\"running\"}");
	assert_int_equal(run("power", "off", ARGS("n1", "--no-wait", "--json")), 0);
	json_t *got = json_loads(out_text, 0, NULL);
	assert_non_null(got);
	assert_int_equal(json_integer_value(json_object_get(got, "id")), 5);
	json_decref(got);

	/* a 2xx that is not a job */
	fake_push_json(202, "{\"state\": \"running\"}");
	assert_int_equal(run("power", "cycle", ARGS("n1", "--no-wait")), CLI_EXIT_FAIL);
	expect_err("corral: power cycle: the reply holds no job\n");
}

static const char power_done[] =
	"{\"id\": 3, \"type\": \"power\", \"action\": \"off\", \"state\": \"done\", "
	"\"started\": \"2026-11-25T12:00:00Z\", \"finished\": \"2026-11-25T12:00:02Z\", "
	"\"nodes\": [{\"node\": \"n2\", \"ok\": false, \"message\": \"BMC timed out\"}, "
	"{\"node\": \"n1\", \"ok\": true, \"power_state\": \"Off\", \"reset_type\": \"ForceOff\"}]}";

static void test_job_wait(void **state)
{
	(void)state;
	fake_push_json(202, "{\"id\": 3, \"type\": \"power\", \"action\": \"off\", \"state\": "
			    "\"running\", \"nodes\": []}");
	fake_push_json(200, power_done);
	assert_int_equal(run("power", "off", ARGS("n1", "n2")), CLI_EXIT_FAIL);
	expect_req(0, "POST", "/api/v1/power",
		   "{\"targets\": [\"n1\", \"n2\"], \"action\": \"off\"}");
	expect_req(1, "GET", "/api/v1/jobs/3", NULL);
	/* sorted by node; the verdict on stderr */
	assert_string_equal(out_text, "NODE  RESULT  POWER  MESSAGE\n"
				      "n1    ok      Off    ForceOff sent\n"
				      "n2    failed  -      BMC timed out\n");
	expect_err("corral: power off: 1 of 2 nodes failed\n");

	/* all well: exit 0 */
	fake_push_json(202, "{\"id\": 4, \"type\": \"boot\", \"state\": \"done\", \"nodes\": "
			    "[{\"node\": \"n1\", \"ok\": true, \"power_state\": \"On\", "
			    "\"boot_override\": {\"target\": \"Pxe\", \"enabled\": \"Once\"}, "
			    "\"reset_type\": \"ForceRestart\"}]}");
	assert_int_equal(run("boot", "pxe", ARGS("n1")), 0);
	expect_out("NODE  RESULT  POWER  MESSAGE\n"
		   "n1    ok      On     boot override Pxe Once, then ForceRestart\n");

	/* groups without members */
	fake_push_json(202, "{\"id\": 5, \"type\": \"power\", \"action\": \"status\", \"state\": "
			    "\"done\", \"nodes\": []}");
	assert_int_equal(run("power", "status", ARGS("empty-group")), 0);
	expect_out("no nodes: the groups named have no members\n");
}

static void test_job_timeout(void **state)
{
	(void)state;
	fake_push_json(202, "{\"id\": 9, \"type\": \"power\", \"action\": \"on\", \"state\": "
			    "\"running\"}");
	fake_push_json(200, "{\"id\": 9, \"type\": \"power\", \"action\": \"on\", \"state\": "
			    "\"running\"}");
	fake.repeat_last = 1;
	assert_int_equal(run("power", "on", ARGS("n1", "--timeout", "1")), CLI_EXIT_FAIL);
	expect_err("corral: power on: job 9 still running after 1 s; it goes on in corrald "
		   "('corral job wait 9' waits again)\n");
	assert_true(fake_nreqs() >= 2); /* it did poll */
	for (size_t i = 1; i < fake_nreqs(); i++)
		expect_req(i, "GET", "/api/v1/jobs/9", NULL);
}

static void test_boot_pxe_profile(void **state)
{
	static const char notfound[] =
		"{\"error\": {\"code\": \"not_found\", \"message\": \"not found\"}}";

	(void)state;
	fake_push_json(200, "{\"name\": \"v2\"}"); /* the profile */
	fake_push_json(200, "{\"name\": \"n1\"}"); /* n1 is a node */
	fake_push_json(404, notfound);             /* g1 is no node */
	fake_push_json(200, "{\"name\": \"g1\"}"); /* but a group */
	fake_push_json(200, "{}");                 /* PATCH n1 */
	fake_push_json(200, "{}");                 /* PATCH g1 */
	fake_push_json(200, "{\"nodes\": [{\"name\": \"n5\", \"profile\": \"old\"}, {\"name\": "
			    "\"n6\", \"profile\": \"v2\"}, {\"name\": \"n7\"}]}");
	fake_push_json(202, "{\"id\": 11, \"type\": \"boot\", \"state\": \"running\"}");
	assert_int_equal(run("boot", "pxe", ARGS("n1", "g1", "--profile", "v2", "--no-wait")), 0);
	expect_req(0, "GET", "/api/v1/profiles/v2", NULL);
	expect_req(1, "GET", "/api/v1/nodes/n1", NULL);
	expect_req(2, "GET", "/api/v1/nodes/g1", NULL);
	expect_req(3, "GET", "/api/v1/groups/g1", NULL);
	expect_req(4, "PATCH", "/api/v1/nodes/n1", "{\"profile\": \"v2\"}");
	expect_req(5, "PATCH", "/api/v1/groups/g1", "{\"profile\": \"v2\"}");
	expect_req(6, "GET", "/api/v1/nodes?group=g1", NULL);
	expect_req(7, "POST", "/api/v1/boot",
		   "{\"targets\": [\"n1\", \"g1\"], \"target\": \"pxe\"}");
	expect_out("profile v2 assigned to node n1\n"
		   "profile v2 assigned to group g1\n"
		   "note: node n5 keeps its own profile old, which wins over group g1's\n"
		   "boot pxe job 11 started; 'corral job wait 11' waits for it\n");
}

static void test_boot_pxe_profile_refusals(void **state)
{
	static const char notfound[] =
		"{\"error\": {\"code\": \"not_found\", \"message\": \"not found\"}}";

	(void)state;
	/* no such profile: nothing else asked, nothing changed */
	fake_push_json(404, notfound);
	assert_int_equal(run("boot", "pxe", ARGS("n1", "--profile", "nope")), CLI_EXIT_FAIL);
	expect_err("corral: boot pxe: --profile: no profile named nope; nothing changed\n");
	assert_int_equal(fake_nreqs(), 1);

	/* the second target is neither: the first is not changed either */
	fake_push_json(200, "{\"name\": \"v2\"}");
	fake_push_json(200, "{\"name\": \"n1\"}");
	fake_push_json(404, notfound);
	fake_push_json(404, notfound);
	assert_int_equal(run("boot", "pxe", ARGS("n1", "typo", "--profile", "v2")), CLI_EXIT_FAIL);
	expect_err("corral: boot pxe: no node or group named typo; nothing changed\n");
	assert_int_equal(fake_nreqs(), 5);
	for (size_t i = 1; i < 5; i++)
		assert_string_equal(fake_req(i)->method, "GET");

	/* a check that fails otherwise (401) is reported as such */
	fake_push_json(401,
		       "{\"error\": {\"code\": \"unauthorized\", \"message\": \"bad token\"}}");
	fake_push_json(401,
		       "{\"error\": {\"code\": \"unauthorized\", \"message\": \"bad token\"}}");
	assert_int_equal(run("boot", "pxe", ARGS("n1", "--profile", "v2")), CLI_EXIT_FAIL);
	expect_err("corral: boot pxe: bad token (401 unauthorized)\n");
}

static void test_job_show(void **state)
{
	(void)state;
	fake_push_json(200, power_done);
	assert_int_equal(run("job", "show", ARGS("3")), 0);
	expect_req(0, "GET", "/api/v1/jobs/3", NULL);
	expect_out("power off job 3: done\n"
		   "NODE  RESULT  POWER  MESSAGE\n"
		   "n1    ok      Off    ForceOff sent\n"
		   "n2    failed  -      BMC timed out\n");

	/* job wait on a finished job: the verdict as exit code */
	fake_push_json(200, power_done);
	assert_int_equal(run("job", "wait", ARGS("3")), CLI_EXIT_FAIL);
	expect_err("corral: power off: 1 of 2 nodes failed\n");

	fake_push_json(200, "[]");
	assert_int_equal(run("job", "show", ARGS("3")), CLI_EXIT_FAIL);
	expect_err("corral: job 3: reply is not a job\n");
}

static void test_discovery_summary(void **state)
{
	(void)state;
	fake_push_json(
		200, "{\"id\": 8, \"type\": \"discovery\", \"state\": \"done\", "
		     "\"started\": \"2026-11-25T12:00:00Z\", \"finished\": "
		     "\"2026-11-25T12:00:12.5Z\", \"targets\": 16, \"probed\": 16, \"found\": 3, "
		     "\"concurrency\": 64, "
		     "\"bmcs\": [{\"address\": \"10.0.0.1\", \"port\": 443, \"status\": \"ok\"}, "
		     "{\"address\": \"10.0.0.2\", \"port\": 443, \"status\": \"auth_failed\", "
		     "\"message\": \"401\"}, "
		     "{\"address\": \"10.0.0.3\", \"port\": 8443, \"status\": \"error\", "
		     "\"message\": \"TLS\"}], "
		     "\"nodes_created\": [\"a0\", \"a1\", \"a2\", \"a3\", \"a4\", \"a5\", \"a6\", "
		     "\"a7\", \"a8\", \"a9\", \"a10\", \"a11\"], \"nodes_updated\": [\"b\"], "
		     "\"conflicts\": [], \"errors\": []}");
	assert_int_equal(run("job", "wait", ARGS("8")), CLI_EXIT_FAIL);
	expect_req(0, "GET", "/api/v1/jobs/8", NULL);
	const char *summary = strstr(out_text, "discovery 8 done in");
	if (summary == NULL)
		fail_msg("no summary in\n%s", out_text);
	/* Before it, at most the wait's own first line (cli_cmds.c prints it
	   even for a job that is already done when stdout is not a terminal). */
	static const char started[] = "discovery 8 started: 16 addresses, concurrency 64\n";
	if (summary != out_text && ((size_t)(summary - out_text) != strlen(started) ||
				    strncmp(out_text, started, strlen(started)) != 0))
		fail_msg("unexpected text before the summary:\n%s", out_text);
	assert_string_equal(
		summary, "discovery 8 done in 12.5 s: 16 of 16 addresses probed, concurrency 64\n"
			 "BMCs: 3 found: 1 ok, 1 auth_failed, 1 error\n"
			 "nodes: 12 created, 1 updated; 0 conflicts; 0 errors\n"
			 "created: a0, a1, a2, a3, a4, a5, a6, a7, a8, a9 ... (+2 more; --json "
			 "lists all)\n"
			 "updated: b\n"
			 "\n"
			 "BMC       PORT  STATUS       MESSAGE\n"
			 "10.0.0.2  443   auth_failed  401\n"
			 "10.0.0.3  8443  error        TLS\n");
	expect_err("corral: discover: 2 BMCs failed (1 refused the credentials), 0 addresses "
		   "answered without usable Redfish\n");

	/* --json: the job, and the same verdict */
	fake_push_json(200,
		       "{\"id\": 8, \"type\": \"discovery\", \"state\": \"done\", \"bmcs\": [], "
		       "\"errors\": [{\"address\": \"10.0.0.9\", \"message\": \"not Redfish\"}]}");
	assert_int_equal(run("job", "wait", ARGS("8", "--json")), CLI_EXIT_FAIL);
	json_t *got = json_loads(out_text, 0, NULL);
	assert_non_null(got);
	assert_int_equal(json_integer_value(json_object_get(got, "id")), 8);
	json_decref(got);
	expect_err("corral: discover: 0 BMCs failed (0 refused the credentials), 1 address "
		   "answered without usable Redfish\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_credential_set, reset),
		cmocka_unit_test_setup(test_job_no_wait, reset),
		cmocka_unit_test_setup(test_job_wait, reset),
		cmocka_unit_test_setup(test_job_timeout, reset),
		cmocka_unit_test_setup(test_boot_pxe_profile, reset),
		cmocka_unit_test_setup(test_boot_pxe_profile_refusals, reset),
		cmocka_unit_test_setup(test_job_show, reset),
		cmocka_unit_test_setup(test_discovery_summary, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
