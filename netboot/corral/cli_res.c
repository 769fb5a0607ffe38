/*
 * cli_res: list/show/create/set/rm for every API collection, driven by a
 * struct cli_resource and the command's option table.  See cli_res.h.
 */
#include "cli_res.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli_http.h"

/* The path of the object named by the first positional argument. */
static int cli_res_path(const struct cli_cmd *cmd, const struct cli_args *a, struct buf *p)
{
	const char *name = cmd->res->named && a->npos > 0 ? a->pos[0] : NULL;
	if (cli_path(p, cmd->res->path, name, NULL) < 0)
		return cli_usage(cmd, "name too long");
	return CLI_EXIT_OK;
}

/* Prints a 2xx reply for --json; complains if it is not JSON. */
static int cli_res_print_json(const struct cli_cmd *cmd, const struct cli_reply *r)
{
	char name[64];
	if (r->json == NULL) {
		if (r->body.len == 0)
			return CLI_EXIT_OK; /* 204: nothing to print */
		return cli_fail(CLI_EXIT_FAIL, "%s: %s", cli_cmd_name(cmd, name, sizeof(name)),
				r->err[0] ? r->err : "reply is not JSON");
	}
	if (cli_out_json(r->json) < 0)
		return cli_fail(CLI_EXIT_FAIL, "cannot write output: %s", strerror(errno));
	return CLI_EXIT_OK;
}

static int cli_res_out_list(const struct cli_cmd *cmd, const json_t *j)
{
	return cli_out_list(cmd->res->cols, cmd->res->ncols, j, cmd->res->member);
}

static int cli_res_out_show(const struct cli_cmd *cmd, const json_t *j)
{
	(void)cmd;
	return cli_out_show(j);
}

/*
 * The shared tail of list and show: unless rc (the path's) says otherwise,
 * GETs p and prints the reply, its JSON with --json, else with print
 * (-EINVAL: the reply is not `what`, "a list").  Clears p.
 */
static int cli_res_get(struct cli *c, const struct cli_cmd *cmd, int rc, struct buf *p,
		       int (*print)(const struct cli_cmd *cmd, const json_t *j), const char *what)
{
	char name[64];
	struct cli_reply r;
	cli_reply_init(&r);
	if (rc == CLI_EXIT_OK)
		rc = cli_call(c, cmd, "GET", buf_str(p), NULL, &r);
	if (rc == CLI_EXIT_OK) {
		if (c->json) {
			rc = cli_res_print_json(cmd, &r);
		} else {
			int orc = print(cmd, r.json);
			if (orc == -EINVAL)
				rc = cli_fail(CLI_EXIT_FAIL, "%s: reply is not %s%s%s",
					      cli_cmd_name(cmd, name, sizeof(name)), what,
					      r.err[0] ? ": " : "", r.err);
			else if (orc < 0)
				rc = cli_fail(CLI_EXIT_FAIL, "%s: cannot print: %s",
					      cli_cmd_name(cmd, name, sizeof(name)),
					      strerror(-orc));
		}
	}
	cli_reply_clear(&r);
	buf_clear(p);
	return rc;
}

int cli_res_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p;
	buf_init(&p, CLI_PATH_MAX);
	int rc = cli_path(&p, cmd->res->path, NULL, NULL) == 0 && cli_args_query(a, &p) == 0 ?
			 CLI_EXIT_OK :
			 cli_usage(cmd, "filters too long");
	return cli_res_get(c, cmd, rc, &p, cli_res_out_list, "a list");
}

int cli_res_show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct buf p;
	buf_init(&p, CLI_PATH_MAX);
	int rc = cli_res_path(cmd, a, &p);
	return cli_res_get(c, cmd, rc, &p, cli_res_out_show, "an object");
}

int cli_res_send(struct cli *c, const struct cli_cmd *cmd, const char *method, const char *path,
		 const json_t *body, const char *done)
{
	struct cli_reply r;
	cli_reply_init(&r);
	int rc = cli_call(c, cmd, method, path, body, &r);
	if (rc == CLI_EXIT_OK) {
		if (c->json)
			rc = cli_res_print_json(cmd, &r);
		else if (done != NULL)
			printf("%s\n", done);
		/* Done, but the server says what will not work as one expects. */
		size_t i;
		json_t *w;
		json_array_foreach(json_object_get(r.json, "warnings"), i, w)
			if (json_is_string(w))
				fprintf(stderr, "corral: warning: %s\n", json_string_value(w));
	}
	cli_reply_clear(&r);
	return rc;
}

/* "node n1 created" into line; cut names still make a fine message. */
static const char *cli_res_done(char *line, size_t len, const struct cli_cmd *cmd, const char *name,
				const char *what)
{
	int n = snprintf(line, len, "%s%s%s %s", cmd->res->name, name ? " " : "", name ? name : "",
			 what);
	if (n < 0)
		line[0] = '\0';
	return line;
}

int cli_res_name(const struct cli_cmd *cmd, json_t *body, const char *name)
{
	json_t *v = json_string(name);
	if (v == NULL)
		return cli_usage(cmd, "name is not valid UTF-8");
	if (json_object_set_new(body, "name", v) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	return CLI_EXIT_OK;
}

int cli_res_create(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char line[256];
	int rc = cli_res_name(cmd, a->body, a->pos[0]);
	if (rc != CLI_EXIT_OK)
		return rc;
	return cli_res_send(c, cmd, "POST", cmd->res->path, a->body,
			    cli_res_done(line, sizeof(line), cmd, a->pos[0], "created"));
}

int cli_res_set(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char line[256];
	if (json_object_size(a->body) == 0)
		return cli_usage(cmd, "nothing to change: give at least one option");
	if (cli_args_apply_clears(cmd, a->body) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	struct buf p;
	buf_init(&p, CLI_PATH_MAX);
	int rc = cli_res_path(cmd, a, &p);
	const char *name = cmd->res->named ? a->pos[0] : NULL;
	if (rc == CLI_EXIT_OK)
		rc = cli_res_send(c, cmd, "PATCH", buf_str(&p), a->body,
				  cli_res_done(line, sizeof(line), cmd, name, "updated"));
	buf_clear(&p);
	return rc;
}

int cli_res_rm(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char line[256];
	struct buf p;
	buf_init(&p, CLI_PATH_MAX);
	int rc = CLI_EXIT_OK;
	for (int i = 0; i < a->npos && rc == CLI_EXIT_OK; i++) {
		if (cli_path(&p, cmd->res->path, a->pos[i], NULL) < 0) {
			rc = cli_usage(cmd, "name too long");
			break;
		}
		rc = cli_res_send(c, cmd, "DELETE", buf_str(&p), NULL,
				  cli_res_done(line, sizeof(line), cmd, a->pos[i], "removed"));
	}
	buf_clear(&p);
	return rc;
}
