/*
 * cli_cmds: the commands that are not plain list/show/create/set/rm of a
 * collection: node import, boot show, events, status, token create, and
 * the Redfish ones (credential set, discover, power, boot pxe, job).
 * Each is a cli_handler named in the command table (cli_defs.c).
 */
#ifndef CORRAL_CLI_CMDS_H
#define CORRAL_CLI_CMDS_H

#include "cli_args.h"
#include "cli_core.h"

/* node import FILE: JSON or YAML → POST /api/v1/nodes/import. */
int cli_cmd_import(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* boot show NODE: the node's iPXE script, byte for byte. */
int cli_cmd_bootscript(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* events NODE [--limit N]: the boot timeline with time since the first event. */
int cli_cmd_events(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* status: version, uptime, node counts, object counts. */
int cli_cmd_status(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* token create NAME [--read-only]: prints the secret, which is shown once. */
int cli_cmd_adopt(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
int cli_cmd_token_create(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);

/*
 * Redfish.  The job commands (discover, power, boot pxe) start a job in
 * corrald and, unless --no-wait, poll GET /api/v1/jobs/ID until it is done
 * or --timeout seconds have passed, then print a summary (--json: the
 * final job).  Exit 1 when the job reports a failure (see each command's
 * help and `corral help`) or the wait timed out; the job itself goes on.
 */
/* credential set NAME --username U (--password-file F | --password-stdin) */
int cli_cmd_credential_set(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* discover TARGET... [--port N] [--scheme S] [--credential C] [--insecure] ... */
int cli_cmd_discover(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* power on|off|reset|cycle|status NODE|GROUP...: the verb is the action. */
int cli_cmd_power(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* boot pxe NODE|GROUP... [--once|--continuous] [--reset] [--profile P] */
int cli_cmd_boot_pxe(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* job show ID, job wait ID: any Redfish job's state and summary. */
int cli_cmd_job(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);

/*
 * Seconds since the epoch for an RFC 3339 time ("2026-11-25T12:00:00.123Z",
 * "...+01:00").  Returns 0 or -EINVAL.
 */
int cli_parse_time(const char *s, double *out);

#endif
