/*
 * cli_firmware: the BMC firmware commands: firmware add FILE, and
 * firmware update TARGET... --image NAME [--dry-run] (a job, followed as
 * the other Redfish jobs are); list, show and rm are the generic ones
 * (cli_res.c) on /api/v1/firmware.  Also the summary of a firmware job,
 * which cli_cmds_redfish.c's job report and `job show` print.
 *
 * Callers: the command table (cli_defs.c) and cli_cmds_redfish.c.
 * Single-threaded, like all of corral.
 */
#ifndef CORRAL_CLI_FIRMWARE_H
#define CORRAL_CLI_FIRMWARE_H

#include <stdbool.h>

#include <jansson.h>

#include "cli_args.h"
#include "cli_core.h"

/* The largest image read (corrald's own ceiling; its redfish.firmware_max_size decides). */
#define CLI_FW_FILE_MAX (256u << 20)

/* firmware add FILE --model M --version V [--name N]: the name defaults to FILE's base name. */
int cli_cmd_firmware_add(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/* firmware update TARGET... --image NAME [--dry-run] [--timeout S] [--no-wait] */
int cli_cmd_firmware_update(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);
/*
 * BMC NODES STATUS BEFORE AFTER MESSAGE for a firmware job on stdout (if
 * print); *nfailed: BMCs refused or failed, *ntotal: all.  0 or -ENOMEM.
 */
int cli_fw_summary(const json_t *job, bool print, size_t *nfailed, size_t *ntotal);

#endif
