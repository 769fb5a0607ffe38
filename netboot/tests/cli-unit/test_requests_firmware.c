/*
 * Unit tests of what the firmware commands send and print, against the
 * fake HTTP server of fake_server.h (no corrald, no BMC).
 *
 * Covered: firmware add (the file base64 in "content", the name from the
 * file's base name or --name, the required --model and --version, an
 * empty file), list/show/rm paths, firmware update (targets, --image in
 * the path, --dry-run in the body, --no-wait, the summary table with the
 * versions before and after, exit 1 on a refused or failed BMC), job show
 * of a firmware job.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_cmds_redfish.h"
#include "cli_firmware.h"

#define CAPTURE_OUT_LEN (1 << 16)
#include "fake_server.h"

static void test_add(void **state)
{
	(void)state;
	const char *p = write_tmp("bmc-2.0.bin", "FW\x01\x02");
	fake_push_json(201, "{\"name\": \"bmc-2.0.bin\", \"model\": \"X9\", \"version\": \"2.0\", "
			    "\"size\": 4, \"sha256\": \"ab12\"}");
	assert_int_equal(run("firmware", "add", ARGS(p, "--model", "X9", "--version", "2.0")), 0);
	/* "FW\x01\x02" base64 is "RlcBAg==" */
	expect_req(0, "POST", "/api/v1/firmware",
		   "{\"model\": \"X9\", \"version\": \"2.0\", \"name\": \"bmc-2.0.bin\", "
		   "\"content\": \"RlcBAg==\"}");
	expect_out("firmware image bmc-2.0.bin added: model X9, version 2.0, 4 bytes, sha256 "
		   "ab12\n");

	fake_push_json(201, "{}");
	assert_int_equal(run("firmware", "add",
			     ARGS(p, "--model", "X9 rev B", "--version", "2.0", "--name", "fw2")),
			 0);
	expect_req(1, "POST", "/api/v1/firmware",
		   "{\"model\": \"X9 rev B\", \"version\": \"2.0\", \"name\": \"fw2\", "
		   "\"content\": \"RlcBAg==\"}");
	unlink(p); /* teardown removes only fake_server.h's own names */
}

static void test_add_refusals(void **state)
{
	(void)state;
	char p[256];
	snprintf(p, sizeof(p), "%s", write_tmp("fw.bin", "x")); /* write_tmp's buffer is reused */
	assert_int_equal(run("firmware", "add", ARGS(p, "--version", "2.0")), CLI_EXIT_USAGE);
	assert_non_null(strstr(err_text, "--model is required"));
	assert_int_equal(run("firmware", "add", ARGS(p, "--model", "X9")), CLI_EXIT_USAGE);
	assert_non_null(strstr(err_text, "--version is required"));
	const char *empty = write_tmp("empty.bin", "");
	assert_int_equal(run("firmware", "add", ARGS(empty, "--model", "X9", "--version", "1")),
			 CLI_EXIT_FAIL);
	assert_non_null(strstr(err_text, "empty file"));
	assert_int_equal(run("firmware", "add",
			     ARGS("/nonexistent/fw.bin", "--model", "X9", "--version", "1")),
			 CLI_EXIT_FAIL);
	assert_int_equal(fake_nreqs(), 0); /* nothing sent */
	/* the server's refusal, with its field, is the message */
	fake_push_json(409, "{\"error\": {\"code\": \"conflict\", \"field\": \"name\", "
			    "\"message\": \"name: firmware image fw.bin exists\"}}");
	assert_int_equal(run("firmware", "add", ARGS(p, "--model", "X9", "--version", "1")),
			 CLI_EXIT_FAIL);
	if (strstr(err_text, "firmware image fw.bin exists") == NULL)
		fail_msg("stderr: %s", err_text);
	unlink(p);
	unlink(empty);
}

static void test_list_show_rm(void **state)
{
	(void)state;
	fake_push_json(200,
		       "[{\"name\": \"a\", \"model\": \"X9\", \"version\": \"2.0\", "
		       "\"size\": 4, \"sha256\": \"ab\", \"created\": \"2026-12-07T21:00:00Z\"}]");
	assert_int_equal(run("firmware", "list", NOARGS), 0);
	expect_req(0, "GET", "/api/v1/firmware", NULL);
	assert_non_null(strstr(out_text, "NAME"));
	assert_non_null(strstr(out_text, "X9"));
	fake_push_json(200, "{\"name\": \"a\"}");
	assert_int_equal(run("firmware", "show", ARGS("a")), 0);
	expect_req(1, "GET", "/api/v1/firmware/a", NULL);
	fake_push(204, NULL, "");
	assert_int_equal(run("firmware", "rm", ARGS("a")), 0);
	expect_req(2, "DELETE", "/api/v1/firmware/a", NULL);
}

static const char fw_done[] =
	"{\"id\": 12, \"type\": \"firmware\", \"state\": \"done\", \"dry_run\": false, "
	"\"bmcs\": ["
	"{\"address\": \"10.0.0.1\", \"port\": 443, \"nodes\": [\"n1\"], \"status\": "
	"\"updated\", \"version_before\": \"1.0\", \"version_after\": \"2.0\", \"message\": "
	"\"updated from 1.0 to 2.0\"}, "
	"{\"address\": \"10.0.0.2\", \"port\": 443, \"nodes\": [\"n2\"], \"status\": "
	"\"refused\", \"version_before\": \"1.0\", \"message\": \"HTTP 400: no\"}, "
	"{\"address\": \"10.0.0.3\", \"port\": 443, \"nodes\": [\"n3\"], \"status\": "
	"\"skipped\", \"message\": \"model mismatch\"}]}";

static void test_update(void **state)
{
	(void)state;
	fake_push_json(202, "{\"id\": 12, \"type\": \"firmware\", \"state\": \"running\", "
			    "\"bmcs\": []}");
	fake_push_json(200, fw_done);
	assert_int_equal(run("firmware", "update", ARGS("n1", "g2", "10.0.0.2", "--image", "fw 2")),
			 CLI_EXIT_FAIL);
	expect_req(0, "POST", "/api/v1/firmware/fw%202/update",
		   "{\"targets\": [\"n1\", \"g2\", \"10.0.0.2\"]}");
	expect_req(1, "GET", "/api/v1/jobs/12", NULL);
	const char *table = strstr(out_text, "BMC ");
	if (table == NULL)
		fail_msg("no table in\n%s", out_text);
	assert_string_equal(table,
			    "BMC           NODES  STATUS   BEFORE  AFTER  MESSAGE\n"
			    "10.0.0.1:443  n1     updated  1.0     2.0    updated from 1.0 to 2.0\n"
			    "10.0.0.2:443  n2     refused  1.0     -      HTTP 400: no\n"
			    "10.0.0.3:443  n3     skipped  -       -      model mismatch\n");
	expect_err("corral: firmware update: 1 of 3 BMCs refused or failed\n");

	/* --dry-run goes in the body; --no-wait returns at once */
	fake_push_json(202, "{\"id\": 13, \"type\": \"firmware\", \"dry_run\": true, "
			    "\"state\": \"running\"}");
	assert_int_equal(
		run("firmware", "update", ARGS("n1", "--image", "fw2", "--dry-run", "--no-wait")),
		0);
	expect_req(2, "POST", "/api/v1/firmware/fw2/update",
		   "{\"dry_run\": true, \"targets\": [\"n1\"]}");
	expect_out("firmware update (dry run) job 13 started; 'corral job wait 13' waits for it\n");

	assert_int_equal(run("firmware", "update", ARGS("n1")), CLI_EXIT_USAGE);
	assert_non_null(strstr(err_text, "--image NAME is required"));
}

static void test_job_show_firmware(void **state)
{
	(void)state;
	fake_push_json(200, fw_done);
	assert_int_equal(run("job", "show", ARGS("12")), 0);
	expect_req(0, "GET", "/api/v1/jobs/12", NULL);
	assert_non_null(strstr(out_text, "firmware update job 12: done\n"));
	assert_non_null(strstr(out_text, "10.0.0.2:443  n2     refused"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_add, reset),
		cmocka_unit_test_setup(test_add_refusals, reset),
		cmocka_unit_test_setup(test_list_show_rm, reset),
		cmocka_unit_test_setup(test_update, reset),
		cmocka_unit_test_setup(test_job_show_firmware, reset),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
