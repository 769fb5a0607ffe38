/*
 * cli_system: `corral system ...` runs the appliance's maintenance tool
 * (see cli_system.h).  The tool does the privileged work (writing a root
 * slot, stopping corrald for a backup) and checks for root itself; this
 * only hands it the parsed command line, as an argv array (no shell).
 */
#include "cli_system.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_cmd_system(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	const char *tool = getenv("CORRAL_SYSTEM_TOOL");
	if (tool == NULL || tool[0] == '\0')
		tool = CLI_SYSTEM_TOOL;
	if (access(tool, X_OK) != 0)
		return cli_fail(CLI_EXIT_FAIL,
				"system %s: %s: %s (corral system works on a Corral appliance)",
				cmd->verb, tool, strerror(errno));

	/* tool, verb, at most one positional argument (the table's maxpos), a flag */
	const char *argv[5];
	size_t n = 0;
	argv[n++] = tool;
	argv[n++] = cmd->verb;
	if (a->npos > 0)
		argv[n++] = a->pos[0];
	if (json_is_true(json_object_get(a->body, "no_reboot")))
		argv[n++] = "--no-reboot";
	argv[n] = NULL;

	fflush(stdout);
	execv(tool, (char *const *)argv);
	return cli_fail(CLI_EXIT_FAIL, "system %s: cannot run %s: %s", cmd->verb, tool,
			strerror(errno));
}
