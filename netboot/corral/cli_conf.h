/*
 * cli_conf: where the CLI finds its server and token.
 *
 * Each of url and token is taken, in order, from the command-line flag,
 * the environment (CORRAL_URL, CORRAL_TOKEN; empty counts as unset), the
 * file $XDG_CONFIG_HOME/corral/cli.conf (default ~/.config/corral/cli.conf)
 * and, for url only, CLI_DEFAULT_URL.  The file holds "url = ..." and
 * "token = ..." lines, '#' comments and blank lines; it is read only when
 * a flag or variable is missing, and a missing file is not an error.
 * Security: the file holds a secret; it should be mode 0600.
 *
 * Callers: corral.c's main only, before the first request.
 */
#ifndef CORRAL_CLI_CONF_H
#define CORRAL_CLI_CONF_H

struct cli_conf {
	char *url;   /* without trailing '/'; owned */
	char *token; /* NULL when none was found; owned */
};

/*
 * Resolves url and token (flags may be NULL).  Returns CLI_EXIT_OK or the
 * exit code of the one error it printed (a bad file, a URL that is not
 * http:// or https://).  cli_conf_clear() in every case.
 */
int cli_conf_load(const char *flag_url, const char *flag_token, struct cli_conf *out);
void cli_conf_clear(struct cli_conf *c);

#endif
