/*
 * cli_defs: the CLI's command table, the one place that says which
 * commands exist, what options each takes and which handler runs it.
 * `corral help` and the dispatcher in corral.c both read it.
 */
#ifndef CORRAL_CLI_DEFS_H
#define CORRAL_CLI_DEFS_H

#include <stddef.h>

#include "cli_core.h"

extern const struct cli_cmd cli_cmds[];
extern const size_t cli_ncmds;

#endif
