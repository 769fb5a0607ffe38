/*
 * cli_res: the generic commands on an API collection (nodes, groups,
 * images, profiles, tokens, discovered machines, the defaults).
 *
 * A struct cli_resource says where the collection lives and how its list
 * prints; the handlers below do list/show/create/set/rm for any of them,
 * the options coming from the command's table row (cli_defs.c).  So group,
 * image and profile commands are table rows, not code.
 *
 * Callers: the command table (cli_defs.c) names these handlers; cli_cmds
 * and cli_cmds_redfish use cli_res_send and cli_res_name.
 */
#ifndef CORRAL_CLI_RES_H
#define CORRAL_CLI_RES_H

#include <stddef.h>

#include "cli_args.h"
#include "cli_core.h"
#include "cli_out.h"

struct cli_resource {
	const char *name;           /* "node": in messages ("node n1 created") */
	const char *path;           /* "/api/v1/nodes" */
	const char *member;         /* "nodes": the list's key if a list comes
				       wrapped in an object */
	int named;                  /* objects have names (not so: defaults) */
	const struct cli_col *cols; /* list table */
	size_t ncols;
};

/* GET path[?filters] → table, or the JSON with --json. */
int cli_res_list(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* GET path/NAME (path alone when not named) → key/value lines or JSON. */
int cli_res_show(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* POST path {"name": NAME, options...} → "<res> NAME created". */
int cli_res_create(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* PATCH path/NAME {options...} → "<res> NAME updated". */
int cli_res_set(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* DELETE path/NAME for each NAME, stopping at the first failure. */
int cli_res_rm(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);

/* body["name"] = name; CLI_EXIT_OK, or a usage error if name is not UTF-8. */
int cli_res_name(const struct cli_cmd *cmd, json_t *body, const char *name);

/*
 * Sends method to path with body and, on success, prints the reply's JSON
 * with --json, else `done` (a line, may be NULL).  The shared tail of the
 * handlers that change something.  Returns an exit code.
 */
int cli_res_send(struct cli *c, const struct cli_cmd *cmd, const char *method, const char *path,
		 const json_t *body, const char *done);

#endif
