/*
 * cli_cmds: the commands that are not plain list/show/create/set/rm of a
 * collection and do not drive BMCs: node import, boot show, events (and
 * --follow), status, token create, node adopt.  The Redfish commands are
 * cli_cmds_redfish's.
 *
 * Callers: the command table (cli_defs.c) names each handler; the Redfish
 * commands call cli_parse_time.  Single-threaded, like all of corral.
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
/* node adopt MAC NAME: a discovered machine becomes node NAME. */
int cli_cmd_adopt(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* token create NAME [--read-only]: prints the secret, which is shown once. */
int cli_cmd_token_create(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);

/*
 * Seconds since the epoch for an RFC 3339 time ("2026-11-25T12:00:00.123Z",
 * "...+01:00").  Returns 0 or -EINVAL.
 */
int cli_parse_time(const char *s, double *out);

#endif
