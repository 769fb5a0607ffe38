/*
 * cli_firmware: firmware add and update, and a firmware job's summary.
 * See cli_firmware.h.  The image goes to corrald base64 in the JSON body
 * (the API takes JSON only); the file is read whole, at most
 * CLI_FW_FILE_MAX bytes.
 */
#include "cli_firmware.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_cmds_redfish.h"
#include "cli_http.h"
#include "cli_out.h"
#include "cli_table.h"

int cli_cmd_firmware_add(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char name[64];
	json_t *body = a->body;
	const char *file = a->pos[0];
	if (json_object_get(body, "model") == NULL)
		return cli_usage(cmd, "--model is required (the BMC model, as 'corral bmc list' "
				      "shows it)");
	if (json_object_get(body, "version") == NULL)
		return cli_usage(cmd, "--version is required");
	if (json_object_get(body, "name") == NULL) {
		const char *base = strrchr(file, '/');
		base = base ? base + 1 : file;
		if (strcmp(file, "-") == 0 || base[0] == '\0')
			return cli_usage(cmd, "--name is required when reading stdin");
		if (json_object_set_new(body, "name", json_string(base)) < 0)
			return cli_usage(cmd, "'%s' is not valid UTF-8", base);
	}
	struct buf img;
	buf_init(&img, CLI_FW_FILE_MAX);
	int rc = cli_read_file(file, CLI_FW_FILE_MAX, &img);
	if (rc < 0) {
		buf_clear(&img);
		return cli_fail(CLI_EXIT_FAIL, "%s: %s: %s", cli_cmd_name(cmd, name, sizeof(name)),
				file, rc == -E2BIG ? "larger than 256 MiB" : strerror(-rc));
	}
	if (img.len == 0) {
		buf_clear(&img);
		return cli_fail(CLI_EXIT_FAIL, "%s: %s: empty file",
				cli_cmd_name(cmd, name, sizeof(name)), file);
	}
	size_t b64len = sodium_base64_ENCODED_LEN(img.len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64len);
	if (b64 == NULL) {
		buf_clear(&img);
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	}
	sodium_bin2base64(b64, b64len, (const unsigned char *)img.data, img.len,
			  sodium_base64_VARIANT_ORIGINAL);
	buf_clear(&img);
	rc = json_object_set_new(body, "content", json_string(b64));
	free(b64);
	if (rc < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	struct cli_reply r;
	cli_reply_init(&r);
	rc = cli_call(c, cmd, "POST", "/api/v1/firmware", body, &r);
	if (rc == CLI_EXIT_OK && c->json) {
		if (cli_out_json(r.json) < 0)
			rc = cli_fail(CLI_EXIT_FAIL, "cannot write output");
	} else if (rc == CLI_EXIT_OK) {
		json_t *o = r.json;
		printf("firmware image %s added: model %s, version %s, %" JSON_INTEGER_FORMAT
		       " bytes, sha256 %s\n",
		       json_string_value(json_object_get(o, "name")),
		       json_string_value(json_object_get(o, "model")),
		       json_string_value(json_object_get(o, "version")),
		       json_integer_value(json_object_get(o, "size")),
		       json_string_value(json_object_get(o, "sha256")));
	}
	cli_reply_clear(&r);
	return rc;
}

int cli_cmd_firmware_update(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	const char *image = json_string_value(json_object_get(a->query, "image"));
	if (image == NULL)
		return cli_usage(cmd, "--image NAME is required (see 'corral firmware list')");
	json_t *targets = json_array();
	if (targets == NULL || json_object_set_new(a->body, "targets", targets) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	for (int i = 0; i < a->npos; i++)
		if (json_array_append_new(targets, json_string(a->pos[i])) < 0)
			return cli_usage(cmd, "'%s' is not valid UTF-8", a->pos[i]);
	struct buf path;
	buf_init(&path, 1024);
	int rc = cli_path(&path, "/api/v1/firmware", image, "/update");
	if (rc < 0) {
		buf_clear(&path);
		return cli_usage(cmd, "--image: name too long");
	}
	rc = cli_redfish_job(c, cmd, a, buf_str(&path), a->body, CLI_FW_WAIT);
	buf_clear(&path);
	return rc;
}

/* "1.0 (BMC 1.0, CPLD 3)": the version now and every member's, into b. */
static int cli_fw_versions(struct buf *b, const json_t *o, const char *key, const char *list)
{
	const char *v = json_string_value(json_object_get(o, key));
	const json_t *members = json_object_get(o, list);
	if (v == NULL && members == NULL)
		return buf_adds(b, "-");
	int rc = buf_adds(b, v ? v : "?");
	if (json_array_size(members) > 1) {
		size_t i;
		const json_t *m;
		rc |= buf_adds(b, " (");
		json_array_foreach(members, i, m)
			rc |= buf_printf(b, "%s%s %s", i ? ", " : "",
					 json_string_value(json_object_get(m, "id")) ?: "?",
					 json_string_value(json_object_get(m, "version")) ?: "?");
		rc |= buf_adds(b, ")");
	}
	return rc;
}

int cli_fw_summary(const json_t *job, bool print, size_t *nfailed, size_t *ntotal)
{
	static const char *const h[] = {"BMC", "NODES", "STATUS", "BEFORE", "AFTER", "MESSAGE"};
	struct cli_table *t = cli_table_new(6);
	int rc = t != NULL ? cli_table_add(t, h) : -ENOMEM;
	struct buf bmc, nodes, before, after;
	buf_init(&bmc, 512);
	buf_init(&nodes, 4096);
	buf_init(&before, 4096);
	buf_init(&after, 4096);
	size_t i, k;
	const json_t *o, *n;
	*nfailed = *ntotal = 0;
	json_array_foreach(json_object_get(job, "bmcs"), i, o) {
		const char *st = json_string_value(json_object_get(o, "status"));
		const char *addr = json_string_value(json_object_get(o, "address"));
		(*ntotal)++;
		*nfailed += st != NULL && (strcmp(st, "refused") == 0 || strcmp(st, "failed") == 0);
		buf_reset(&bmc);
		buf_reset(&nodes);
		buf_reset(&before);
		buf_reset(&after);
		if (addr != NULL)
			rc |= buf_printf(&bmc, "%s:%" JSON_INTEGER_FORMAT, addr,
					 json_integer_value(json_object_get(o, "port")));
		else
			rc |= buf_adds(&bmc, "-");
		json_array_foreach(json_object_get(o, "nodes"), k, n)
			rc |= buf_printf(&nodes, "%s%s", k ? "," : "", json_string_value(n) ?: "?");
		rc |= cli_fw_versions(&before, o, "version_before", "before");
		rc |= cli_fw_versions(&after, o, "version_after", "after");
		const char *cells[6] = {buf_str(&bmc),
					buf_str(&nodes),
					st ? st : "running",
					buf_str(&before),
					buf_str(&after),
					json_string_value(json_object_get(o, "message")) ?: ""};
		if (rc == 0)
			rc = cli_table_add(t, cells);
	}
	if (rc == 0 && print && *ntotal == 0)
		printf("no BMCs: the targets named have none\n");
	else if (rc == 0 && print)
		rc = cli_table_print(t, stdout);
	buf_clear(&bmc);
	buf_clear(&nodes);
	buf_clear(&before);
	buf_clear(&after);
	cli_table_free(t);
	return rc < 0 ? -ENOMEM : 0;
}
