/*
 * cli_cmds_redfish: the commands that reach BMCs through corrald's Redfish
 * jobs: credential set, discover, power, boot pxe, job show/wait.
 *
 * Callers: the command table (cli_defs.c) names each handler; nothing else.
 * The job wait, progress line and summaries are private to this module.
 * Single-threaded, like all of corral.
 */
#ifndef CORRAL_CLI_CMDS_REDFISH_H
#define CORRAL_CLI_CMDS_REDFISH_H

#include "cli_args.h"
#include "cli_core.h"

/*
 * The job commands (discover, power, boot pxe) start a job in
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

#endif
