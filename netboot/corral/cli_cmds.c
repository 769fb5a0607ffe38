/*
 * cli_cmds: import, boot script, events, status, adopt and token creation.
 * See cli_cmds.h.
 */
#include "cli_cmds.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli_http.h"
#include "cli_out.h"
#include "cli_res.h"
#include "cli_table.h"
#include "cli_yaml.h"

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

/* ---- events --follow ---- */

/* The stages a boot event can have (for --until). */
static const char *const cli_stages[] = {"dhcp",       "tftp",      "firmware", "bootscript",
					 "kernel",     "initrd",    "rootfs",   "file",
					 "cloud-init", "phone-home"};

/* One `corral events --follow` run: the history, then the live stream. */
struct cli_follow {
	struct cli *c;
	const struct cli_cmd *cmd;
	const char *node;
	const char *until;     /* stop at the first new event of this stage, or NULL */
	const char *hist_path; /* /api/v1/nodes/NODE/events[?limit=] */
	struct buf type, data; /* the Server-Sent Event being read */
	json_t *seen;          /* history events ("time stage detail"): not again */
	int started;           /* the history is printed */
	double t0;             /* the first event's time, for ELAPSED */
	int have_t0;
	int reached; /* the --until stage came */
	int rc;      /* an exit code to leave with, once set */
};

/* One row, fixed widths (rows come one by one, a table cannot align them). */
static void cli_follow_row(struct cli_follow *f, const json_t *ev)
{
	if (f->c->json) {
		char *line = json_dumps(ev, JSON_COMPACT);
		if (line != NULL)
			printf("%s\n", line);
		free(line);
		fflush(stdout);
		return;
	}
	struct buf cell[4];
	static const char *const fields[4] = {"time", "stage", "source", "detail"};
	for (int i = 0; i < 4; i++) {
		buf_init(&cell[i], 4096);
		if (cli_out_value(&cell[i], json_object_get(ev, fields[i]), NULL) < 0)
			buf_reset(&cell[i]);
		for (char *p = cell[i].data; p != NULL && *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?'; /* the server's text on a terminal */
	}
	char elapsed[32] = "";
	double when;
	if (cli_parse_time(buf_str(&cell[0]), &when) == 0) {
		if (!f->have_t0) {
			f->t0 = when;
			f->have_t0 = 1;
		}
		if (buf_fmt(elapsed, sizeof(elapsed), "+%.1fs", when - f->t0) < 0)
			elapsed[0] = '\0'; /* a time that far off: no ELAPSED */
	}
	printf("%-24s  %-9s  %-11s  %-15s  %s\n", buf_str(&cell[0]), elapsed, buf_str(&cell[1]),
	       buf_str(&cell[2]), buf_str(&cell[3]));
	fflush(stdout);
	for (int i = 0; i < 4; i++)
		buf_clear(&cell[i]);
}

static int cli_follow_key(const json_t *ev, char *key, size_t len)
{
	const char *t = json_string_value(json_object_get(ev, "time"));
	const char *st = json_string_value(json_object_get(ev, "stage"));
	const char *d = json_string_value(json_object_get(ev, "detail"));
	if (t == NULL || st == NULL || d == NULL)
		return -1;
	return buf_fmt(key, len, "%s %s %s", t, st, d) == 0 ? 0 : -1;
}

/* The history, fetched once the stream is open: nothing falls between the two. */
static int cli_follow_history(struct cli_follow *f)
{
	struct cli_http *h2;
	struct cli_reply r;
	char key[512];
	int rc;
	if (cli_http_dup(f->c->http, &h2) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	struct cli_http *own = f->c->http;
	f->c->http = h2; /* cli_call's messages, on the second connection */
	cli_reply_init(&r);
	rc = cli_call(f->c, f->cmd, "GET", f->hist_path, NULL, &r);
	f->c->http = own;
	const json_t *events = rc == CLI_EXIT_OK ? cli_out_array(r.json, "events") : NULL;
	if (rc == CLI_EXIT_OK && events == NULL)
		rc = cli_fail(CLI_EXIT_FAIL, "events: reply is not a list of events");
	if (rc == CLI_EXIT_OK && !f->c->json)
		printf("%-24s  %-9s  %-11s  %-15s  %s\n", "TIME", "ELAPSED", "STAGE", "SOURCE",
		       "DETAIL");
	size_t i;
	const json_t *ev;
	json_array_foreach(events, i, ev) {
		if (cli_follow_key(ev, key, sizeof(key)) == 0)
			json_object_set_new(f->seen, key, json_true());
		cli_follow_row(f, ev);
	}
	cli_reply_clear(&r);
	cli_http_free(h2);
	return rc;
}

/* One whole Server-Sent Event: a boot record of our node is a row. */
static int cli_follow_event(struct cli_follow *f)
{
	const char *type = buf_str(&f->type);
	if (strcmp(type, "resync") == 0) {
		fprintf(stderr, "corral: warning: fell behind the server; events may be missing\n");
		return 0;
	}
	if (strcmp(type, "boot") != 0)
		return 0;
	json_t *ev = json_loads(buf_str(&f->data), 0, NULL);
	const char *node = json_string_value(json_object_get(ev, "node"));
	char key[512];
	int stop = 0;
	if (node != NULL && strcmp(node, f->node) == 0 &&
	    !(cli_follow_key(ev, key, sizeof(key)) == 0 && json_object_get(f->seen, key) != NULL)) {
		json_object_del(ev, "node");
		cli_follow_row(f, ev);
		const char *stage = json_string_value(json_object_get(ev, "stage"));
		if (f->until != NULL && stage != NULL && strcmp(stage, f->until) == 0) {
			f->reached = 1;
			stop = 1;
		}
	}
	json_decref(ev);
	return stop;
}

/* cli_http_stream's line callback. */
static int cli_follow_line(void *ctx, const char *line)
{
	struct cli_follow *f = ctx;
	if (!f->started) { /* the first line: the server has us as a listener */
		f->started = 1;
		int rc = cli_follow_history(f);
		if (rc != CLI_EXIT_OK) {
			f->rc = rc;
			return 1;
		}
	}
	if (line[0] == ':')
		return 0; /* a comment: connected, ping */
	if (line[0] == '\0') {
		int stop = f->data.len > 0 ? cli_follow_event(f) : 0;
		buf_reset(&f->type);
		buf_reset(&f->data);
		return stop;
	}
	const char *colon = strchr(line, ':');
	size_t klen = colon ? (size_t)(colon - line) : strlen(line);
	const char *val = colon ? colon + 1 + (colon[1] == ' ') : "";
	if (klen == 5 && strncmp(line, "event", 5) == 0) {
		buf_reset(&f->type);
		(void)buf_adds(&f->type, val);
	} else if (klen == 4 && strncmp(line, "data", 4) == 0) {
		if (f->data.len > 0)
			(void)buf_addc(&f->data, '\n');
		(void)buf_adds(&f->data, val);
	}
	return 0;
}

static int cli_events_follow(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a,
			     const char *hist_path)
{
	const char *until = json_string_value(json_object_get(a->query, "until"));
	const char *tmo = json_string_value(json_object_get(a->query, "timeout"));
	long long timeout = 0;
	if (until != NULL) {
		size_t i = 0;
		while (i < sizeof(cli_stages) / sizeof(cli_stages[0]) &&
		       strcmp(cli_stages[i], until))
			i++;
		if (i == sizeof(cli_stages) / sizeof(cli_stages[0]))
			return cli_usage(cmd, "--until: not a boot stage: %s", until);
	}
	if (tmo != NULL && cli_parse_ll(tmo, 1, 604800, &timeout) < 0)
		return cli_usage(cmd, "--timeout: seconds, 1 to 604800");
	struct cli_follow f = {.c = c,
			       .cmd = cmd,
			       .node = a->pos[0],
			       .until = until,
			       .hist_path = hist_path,
			       .rc = -1};
	buf_init(&f.type, 64);
	buf_init(&f.data, 1u << 20);
	f.seen = json_object();
	struct cli_reply r;
	cli_reply_init(&r);
	int rc = f.seen ? cli_http_stream(c->http, "/api/v1/stream", (long)timeout * 1000,
					  cli_follow_line, &f, &r) :
			  -ENOMEM;
	char name[64];
	cli_cmd_name(cmd, name, sizeof(name));
	if (f.rc >= 0)
		rc = f.rc; /* the history's failure, already said */
	else if (rc == 0 && !f.started)
		rc = cli_reply_check(cmd, &r); /* refused (a bad token, say) */
	else if (rc == 0)
		rc = CLI_EXIT_OK; /* --until reached */
	else if (rc == -ETIMEDOUT)
		rc = until ? cli_fail(CLI_EXIT_FAIL, "%s: no %s from %s within %lld s", name, until,
				      f.node, timeout) :
			     CLI_EXIT_OK;
	else if (rc == -E2BIG)
		rc = cli_fail(CLI_EXIT_FAIL, "%s: reply larger than %u bytes", name,
			      CLI_HTTP_MAX_REPLY);
	else if (rc == -EPIPE)
		rc = cli_fail(CLI_EXIT_FAIL, "%s: the server ended the stream", name);
	else if (rc == -EIO)
		rc = cli_fail(CLI_EXIT_CONNECT, "cannot reach %s: %s", c->url, r.err);
	else
		rc = cli_fail(CLI_EXIT_FAIL, "%s: %s", name, strerror(-rc));
	cli_reply_clear(&r);
	json_decref(f.seen);
	buf_clear(&f.type);
	buf_clear(&f.data);
	return rc;
}

int cli_cmd_events(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char name[64];
	struct buf p;
	struct cli_reply r;
	buf_init(&p, CLI_PATH_MAX);
	cli_reply_init(&r);
	/* Only --limit is the server's; --follow, --until, --timeout are ours. */
	const char *limit = json_string_value(json_object_get(a->query, "limit"));
	int rc = cli_path(&p, "/api/v1/nodes", a->pos[0], "/events") == 0 &&
				 (limit == NULL || buf_printf(&p, "?limit=%s", limit) == 0) ?
			 CLI_EXIT_OK :
			 cli_usage(cmd, "name too long");
	int follow = json_is_true(json_object_get(a->query, "follow")) ||
		     json_object_get(a->query, "until") != NULL ||
		     json_object_get(a->query, "timeout") != NULL;
	if (rc == CLI_EXIT_OK && follow) {
		rc = cli_events_follow(c, cmd, a, buf_str(&p));
		buf_clear(&p);
		return rc;
	}
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
	int rc = cli_res_name(cmd, a->body, a->pos[0]);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (json_object_get(a->body, "scope") == NULL &&
	    json_object_set_new(a->body, "scope", json_string("admin")) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");

	struct cli_reply r;
	cli_reply_init(&r);
	rc = cli_call(c, cmd, "POST", "/api/v1/tokens", a->body, &r);
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
	int rc = cli_res_name(cmd, a->body, a->pos[1]);
	if (rc != CLI_EXIT_OK)
		return rc;
	struct buf p;
	buf_init(&p, CLI_PATH_MAX);
	/* The MAC goes into the path: only hex digits and separators. */
	if (strspn(a->pos[0], "0123456789abcdefABCDEF:-.") != strlen(a->pos[0]))
		rc = cli_usage(cmd, "not a MAC address: %s", a->pos[0]);
	if (rc == CLI_EXIT_OK && buf_printf(&p, "/api/v1/discovered/%s/adopt", a->pos[0]) < 0)
		rc = cli_fail(CLI_EXIT_FAIL, "MAC too long");
	if (rc == CLI_EXIT_OK) {
		buf_fmt_msg(line, sizeof(line), "node %s adopted (%s); it boots at its next retry",
			    a->pos[1], a->pos[0]);
		rc = cli_res_send(c, cmd, "POST", buf_str(&p), a->body, line);
	}
	buf_clear(&p);
	return rc;
}
