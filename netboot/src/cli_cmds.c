/*
 * cli_cmds: import, boot script, events, status and token creation.
 * See cli_cmds.h.
 */
#include "cli_cmds.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli_http.h"
#include "cli_out.h"
#include "cli_res.h"
#include "cli_table.h"
#include "cli_yaml.h"

#define CLI_PATH_MAX 4096

/* Is the file name's extension ext (".json")? */
static int cli_has_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), e = strlen(ext);
	return n > e && strcasecmp(path + n - e, ext) == 0;
}

/*
 * The import file as JSON: ".json" is JSON, ".yaml"/".yml" YAML, anything
 * else JSON if it parses as such, else YAML.
 */
static int cli_import_load(const struct cli_cmd *cmd, const char *path, const struct buf *text,
			   json_t **out)
{
	char name[64], err[256];
	int yaml = cli_has_ext(path, ".yaml") || cli_has_ext(path, ".yml");
	if (!yaml) {
		json_error_t jerr;
		*out = json_loadb(buf_str(text), text->len, JSON_REJECT_DUPLICATES, &jerr);
		if (*out != NULL)
			return CLI_EXIT_OK;
		if (cli_has_ext(path, ".json"))
			return cli_fail(CLI_EXIT_FAIL, "%s: %s: line %d: %s",
					cli_cmd_name(cmd, name, sizeof(name)), path, jerr.line,
					jerr.text);
	}
	if (cli_yaml_to_json(buf_str(text), text->len, out, err, sizeof(err)) < 0)
		return cli_fail(CLI_EXIT_FAIL, "%s: %s: %s", cli_cmd_name(cmd, name, sizeof(name)),
				path, err);
	return CLI_EXIT_OK;
}

int cli_cmd_import(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char name[64];
	const char *path = a->pos[0];
	json_t *body = NULL;
	struct buf text;
	buf_init(&text, CLI_IMPORT_MAX);
	int rc = cli_read_file(path, CLI_IMPORT_MAX, &text);
	if (rc < 0) {
		rc = cli_fail(CLI_EXIT_FAIL, "%s: cannot read %s: %s",
			      cli_cmd_name(cmd, name, sizeof(name)), path,
			      rc == -E2BIG ? "larger than the server's 8 MiB cap" : strerror(-rc));
		goto out;
	}
	rc = cli_import_load(cmd, path, &text, &body);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (!json_is_array(body) && !json_is_object(body)) {
		rc = cli_fail(CLI_EXIT_FAIL,
			      "%s: %s: expected a list of nodes or {\"nodes\": [...]}",
			      cli_cmd_name(cmd, name, sizeof(name)), path);
		goto out;
	}

	struct cli_reply r;
	cli_reply_init(&r);
	rc = cli_call(c, cmd, "POST", "/api/v1/nodes/import", body, &r);
	if (rc == CLI_EXIT_OK) {
		if (c->json && r.json != NULL) {
			if (cli_out_json(r.json) < 0)
				rc = cli_fail(CLI_EXIT_FAIL, "cannot write output");
		} else {
			json_t *res = r.json;
			json_int_t created = json_integer_value(json_object_get(res, "created"));
			json_int_t replaced = json_integer_value(json_object_get(res, "replaced"));
			printf("%" JSON_INTEGER_FORMAT " created, %" JSON_INTEGER_FORMAT
			       " replaced\n",
			       created, replaced);
		}
	}
	cli_reply_clear(&r);
out:
	json_decref(body);
	buf_clear(&text);
	return rc;
}

int cli_cmd_bootscript(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p;
	struct cli_reply r;
	buf_init(&p, CLI_PATH_MAX);
	cli_reply_init(&r);
	int rc = cli_path(&p, "/api/v1/nodes", a->pos[0], "/bootscript") == 0 ?
			 CLI_EXIT_OK :
			 cli_usage(cmd, "name too long");
	if (rc == CLI_EXIT_OK)
		rc = cli_call(c, cmd, "GET", buf_str(&p), NULL, &r);
	/* Exactly as served: this is what the node would run. */
	if (rc == CLI_EXIT_OK && fwrite(buf_str(&r.body), 1, r.body.len, stdout) != r.body.len)
		rc = cli_fail(CLI_EXIT_FAIL, "cannot write output");
	cli_reply_clear(&r);
	buf_clear(&p);
	return rc;
}

int cli_parse_time(const char *s, double *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -EINVAL;
	double frac = 0, scale = 0.1;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
		   isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
		   isdigit((unsigned char)p[5])) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		      ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = (double)t + frac - (double)off;
	return 0;
}

/* The events table: TIME ELAPSED STAGE SOURCE DETAIL. */
static int cli_events_print(const json_t *events)
{
	enum { NCOLS = 5 };
	static const char *const fields[NCOLS] = {"time", NULL, "stage", "source", "detail"};
	static const char *const header[NCOLS] = {"TIME", "ELAPSED", "STAGE", "SOURCE", "DETAIL"};
	struct cli_table *t = cli_table_new(NCOLS);
	struct buf cell[NCOLS];
	const char *cells[NCOLS];
	int rc = t != NULL ? cli_table_add(t, header) : -ENOMEM;
	double t0 = 0;
	int have_t0 = 0;
	for (int i = 0; i < NCOLS; i++)
		buf_init(&cell[i], 64 * 1024);

	size_t idx;
	const json_t *ev;
	json_array_foreach(events, idx, ev) {
		if (rc < 0)
			break;
		for (int i = 0; i < NCOLS && rc == 0; i++) {
			buf_reset(&cell[i]);
			if (fields[i] != NULL)
				rc = cli_out_value(&cell[i], json_object_get(ev, fields[i]), NULL);
		}
		double when;
		const char *ts = json_string_value(json_object_get(ev, "time"));
		if (rc == 0 && ts != NULL && cli_parse_time(ts, &when) == 0) {
			if (!have_t0) {
				t0 = when;
				have_t0 = 1;
			}
			rc = buf_printf(&cell[1], "+%.1fs", when - t0);
		}
		for (int i = 0; i < NCOLS; i++)
			cells[i] = buf_str(&cell[i]);
		if (rc == 0)
			rc = cli_table_add(t, cells);
	}
	if (rc == 0)
		rc = cli_table_print(t, stdout);
	for (int i = 0; i < NCOLS; i++)
		buf_clear(&cell[i]);
	cli_table_free(t);
	return rc;
}

int cli_cmd_events(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char name[64];
	struct buf p;
	struct cli_reply r;
	buf_init(&p, CLI_PATH_MAX);
	cli_reply_init(&r);
	int rc = cli_path(&p, "/api/v1/nodes", a->pos[0], "/events") == 0 &&
				 cli_args_query(a, &p) == 0 ?
			 CLI_EXIT_OK :
			 cli_usage(cmd, "name too long");
	if (rc == CLI_EXIT_OK)
		rc = cli_call(c, cmd, "GET", buf_str(&p), NULL, &r);
	if (rc == CLI_EXIT_OK) {
		const json_t *events = cli_out_array(r.json, "events");
		if (c->json && r.json != NULL) {
			if (cli_out_json(r.json) < 0)
				rc = cli_fail(CLI_EXIT_FAIL, "cannot write output");
		} else if (events == NULL) {
			rc = cli_fail(CLI_EXIT_FAIL, "%s: reply is not a list of events",
				      cli_cmd_name(cmd, name, sizeof(name)));
		} else if (cli_events_print(events) < 0) {
			rc = cli_fail(CLI_EXIT_FAIL, "cannot write output");
		}
	}
	cli_reply_clear(&r);
	buf_clear(&p);
	return rc;
}

/* "3d 4h 5m 6s" (largest units only as needed). */
static int cli_uptime(struct buf *b, const json_t *v)
{
	if (!json_is_number(v))
		return cli_out_value(b, v, NULL);
	long long s = (long long)json_number_value(v);
	long long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
	if (d > 0)
		return buf_printf(b, "%lldd %lldh %lldm %llds", d, h, m, s % 60);
	if (h > 0)
		return buf_printf(b, "%lldh %lldm %llds", h, m, s % 60);
	if (m > 0)
		return buf_printf(b, "%lldm %llds", m, s % 60);
	return buf_printf(b, "%llds", s);
}

/* "12 (3 new, 2 booting, 7 ready, 1 disabled)". */
static int cli_node_counts(struct buf *b, const json_t *nodes)
{
	static const char *const states[] = {"new", "booting", "ready", "disabled"};
	int rc = cli_out_value(b, json_object_get(nodes, "total"), NULL);
	const char *sep = " (";
	for (size_t i = 0; rc == 0 && i < sizeof(states) / sizeof(states[0]); i++) {
		const json_t *n = json_object_get(nodes, states[i]);
		if (n == NULL)
			continue;
		rc = buf_adds(b, sep);
		if (rc == 0)
			rc = cli_out_value(b, n, NULL);
		if (rc == 0)
			rc = buf_printf(b, " %s", states[i]);
		sep = ", ";
	}
	if (rc == 0 && sep[0] == ',')
		rc = buf_addc(b, ')');
	return rc;
}

int cli_cmd_status(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	static const char *const keys[] = {"server", "version", "uptime",   "nodes",
					   "groups", "images",  "profiles", "discovered"};
	enum { NKEYS = sizeof(keys) / sizeof(keys[0]) };
	char name[64];
	struct cli_reply r;
	cli_reply_init(&r);
	int rc = cli_call(c, cmd, "GET", "/api/v1/status", NULL, &r);
	if (rc != CLI_EXIT_OK)
		goto out;
	if (c->json) {
		if (r.json == NULL || cli_out_json(r.json) < 0)
			rc = cli_fail(CLI_EXIT_FAIL, "%s: reply is not JSON",
				      cli_cmd_name(cmd, name, sizeof(name)));
		goto out;
	}
	if (!json_is_object(r.json)) {
		rc = cli_fail(CLI_EXIT_FAIL, "%s: reply is not an object",
			      cli_cmd_name(cmd, name, sizeof(name)));
		goto out;
	}
	struct cli_table *t = cli_table_new(2);
	struct buf v;
	buf_init(&v, 64 * 1024);
	int orc = t != NULL ? 0 : -ENOMEM;
	for (size_t i = 0; i < NKEYS && orc == 0; i++) {
		const json_t *val = json_object_get(r.json, keys[i]);
		buf_reset(&v);
		if (i == 0)
			orc = buf_adds(&v, c->url);
		else if (strcmp(keys[i], "uptime") == 0)
			orc = cli_uptime(&v, val);
		else if (json_is_object(val) && strcmp(keys[i], "nodes") == 0)
			orc = cli_node_counts(&v, val);
		else
			orc = cli_out_value(&v, val, NULL);
		const char *row[2] = {keys[i], buf_str(&v)};
		if (orc == 0)
			orc = cli_table_add(t, row);
	}
	if (orc == 0)
		orc = cli_table_print(t, stdout);
	if (orc < 0)
		rc = cli_fail(CLI_EXIT_FAIL, "%s: cannot print: %s",
			      cli_cmd_name(cmd, name, sizeof(name)), strerror(-orc));
	buf_clear(&v);
	cli_table_free(t);
out:
	cli_reply_clear(&r);
	return rc;
}

int cli_cmd_token_create(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char name[64];
	json_t *jname = json_string(a->pos[0]);
	if (jname == NULL)
		return cli_usage(cmd, "name is not valid UTF-8");
	if (json_object_set_new(a->body, "name", jname) < 0 ||
	    (json_object_get(a->body, "scope") == NULL &&
	     json_object_set_new(a->body, "scope", json_string("admin")) < 0))
		return cli_fail(CLI_EXIT_FAIL, "out of memory");

	struct cli_reply r;
	cli_reply_init(&r);
	int rc = cli_call(c, cmd, "POST", "/api/v1/tokens", a->body, &r);
	if (rc == CLI_EXIT_OK) {
		const char *secret = json_string_value(json_object_get(r.json, "token"));
		if (c->json && r.json != NULL) {
			if (cli_out_json(r.json) < 0)
				rc = cli_fail(CLI_EXIT_FAIL, "cannot write output");
		} else if (secret == NULL) {
			rc = cli_fail(CLI_EXIT_FAIL, "%s: the reply holds no token",
				      cli_cmd_name(cmd, name, sizeof(name)));
		} else {
			const char *scope = json_string_value(json_object_get(r.json, "scope"));
			printf("token %s created, scope %s; "
			       "the secret below is shown only once:\n%s\n",
			       a->pos[0], scope ? scope : "?", secret);
		}
	}
	cli_reply_clear(&r);
	return rc;
}

int cli_cmd_adopt(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char line[256];
	json_t *jname = json_string(a->pos[1]);
	if (jname == NULL)
		return cli_usage(cmd, "name is not valid UTF-8");
	if (json_object_set_new(a->body, "name", jname) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	struct buf p;
	buf_init(&p, CLI_PATH_MAX);
	int rc = CLI_EXIT_OK;
	/* The MAC goes into the path: only hex digits and separators. */
	for (const char *s = a->pos[0]; *s; s++)
		if (!strchr("0123456789abcdefABCDEF:-.", *s))
			rc = cli_usage(cmd, "not a MAC address: %s", a->pos[0]);
	if (rc == CLI_EXIT_OK && buf_printf(&p, "/api/v1/discovered/%s/adopt", a->pos[0]) < 0)
		rc = cli_fail(CLI_EXIT_FAIL, "MAC too long");
	if (rc == CLI_EXIT_OK) {
		snprintf(line, sizeof(line), "node %s adopted (%s); it boots at its next retry",
			 a->pos[1], a->pos[0]);
		rc = cli_res_send(c, cmd, "POST", buf_str(&p), a->body, line);
	}
	buf_clear(&p);
	return rc;
}
