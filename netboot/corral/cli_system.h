/*
 * cli_system: `corral system status|upgrade|backup|restore`, the Corral
 * appliance's maintenance of itself (root slots, the data partition).
 * These act on the machine `corral` runs on, not through corrald's API:
 * the handler runs the appliance's maintenance tool in place of this
 * process.  Called only from the command table (cli_defs.c).
 */
#ifndef CORRAL_CLI_SYSTEM_H
#define CORRAL_CLI_SYSTEM_H

#include "cli_args.h"
#include "cli_core.h"

/* Where the appliance image installs its maintenance tool; the environment
 * variable CORRAL_SYSTEM_TOOL names another (tests). */
#define CLI_SYSTEM_TOOL "/usr/lib/corral/appliance/system"

/*
 * system VERB [ARG] [--no-reboot]: execs the tool with the verb, the
 * positional argument and the flag.  Returns only on failure (exit 1, with
 * its message printed): the tool is missing (not an appliance) or could not
 * be started; otherwise the tool's exit status is the command's.
 */
int cli_cmd_system(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);

#endif
