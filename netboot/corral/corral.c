/*
 * corral: the operator's command-line client for corrald's REST API.
 *
 * main() only reads the global options, finds the command in the table
 * (cli_defs.c), has its arguments parsed (cli_args.c), resolves the server
 * and token (cli_conf.c) and runs the handler.  Help text is generated
 * from the same table.  Exit codes: see enum cli_exit and `corral help`.
 * Security: the token comes from a flag, the environment or a file and is
 * only ever put into the Authorization header; it is never printed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "cli_args.h"
#include "cli_conf.h"
#include "cli_core.h"
#include "cli_defs.h"
#include "cli_http.h"
#include "cli_table.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "0"
#endif

static const char cli_help_tail[] =
	"\n"
	"Global options (before the command; --json also after it):\n"
	"  --url URL      server (else $CORRAL_URL, else cli.conf, else " CLI_DEFAULT_URL ")\n"
	"  --token TOKEN  API token (else $CORRAL_TOKEN, else cli.conf)\n"
	"  --ca-file FILE CA bundle to verify an https:// server (else $CORRAL_CA_FILE,\n"
	"                 else cli.conf, else the system's)\n"
	"  --fingerprint sha256:HEX  the server's public key, pinned (else\n"
	"                 $CORRAL_FINGERPRINT, else cli.conf; `corrald cert` shows it)\n"
	"  --json         print the server's JSON instead of tables\n"
	"  --version      print the version\n"
	"\n"
	"cli.conf is $XDG_CONFIG_HOME/corral/cli.conf (~/.config/corral/cli.conf) with\n"
	"lines 'url = ...', 'token = ...', 'ca_file = ...' and 'fingerprint = ...';\n"
	"keep it mode 0600.\n"
	"\n"
	"Exit status:\n"
	"  0  success\n"
	"  1  the server refused the request (its reason is printed), or a bad input file\n"
	"  2  usage: a bad command line or config file\n"
	"  3  the server could not be reached (connection failed or timed out)\n"
	"  discover, power, boot pxe and job wait also exit 1 when the job reports a\n"
	"  failure (see their --help) or the wait passes --timeout (the job goes on).\n";

/* More for a command's --help: what its exit status means. */
static const struct {
	const char *word, *verb; /* verb NULL: every verb of word */
	const char *text;
} cli_help_notes[] = {
	{"discover", NULL,
	 "Waits for the job (a progress bar on a terminal, a line every few seconds\n"
	 "otherwise), then prints the BMCs found by status, the nodes created and\n"
	 "updated, conflicts (a MAC owned by another node: reported, nothing\n"
	 "overwritten) and errors.  Exit status 0 when every BMC found is ok; 1 when\n"
	 "any BMC refused the credentials (auth_failed) or failed (error), when an\n"
	 "address answered but not with usable Redfish, or when the wait timed out.\n"
	 "Conflicts alone do not make it fail.  --json prints the final job.\n"},
	{"power", NULL,
	 "Waits for the job and prints NODE RESULT POWER MESSAGE.  Exit status 1\n"
	 "when any node failed or the wait timed out.  --json prints the final job.\n"},
	{"boot", "pxe",
	 "Sets BootSourceOverrideTarget Pxe through each node's BMC and reads it\n"
	 "back.  With --profile, first assigns the profile (every name is checked\n"
	 "before anything changes), so 'corral boot pxe compute --profile v2 --reset'\n"
	 "boots group compute into profile v2.  Exit status 1 when any node failed\n"
	 "or the wait timed out.  --json prints the final job.\n"},
	{"job", "wait", "Exit status as for the command that started the job.\n"},
};

/* Does any command of this first word take a verb? */
static int cli_has_verbs(const char *word)
{
	for (size_t i = 0; i < cli_ncmds; i++) {
		if (strcmp(cli_cmds[i].resource, word) == 0 && cli_cmds[i].verb != NULL)
			return 1;
	}
	return 0;
}

static int cli_known(const char *word)
{
	for (size_t i = 0; i < cli_ncmds; i++) {
		if (strcmp(cli_cmds[i].resource, word) == 0)
			return 1;
	}
	return 0;
}

static const struct cli_cmd *cli_find(const char *word, const char *verb)
{
	for (size_t i = 0; i < cli_ncmds; i++) {
		const struct cli_cmd *c = &cli_cmds[i];
		if (strcmp(c->resource, word) != 0)
			continue;
		if (c->verb == NULL || (verb != NULL && strcmp(c->verb, verb) == 0))
			return c;
	}
	return NULL;
}

/* "list, show, create" for a word's verbs. */
static void cli_verbs(const char *word, struct buf *out)
{
	for (size_t i = 0; i < cli_ncmds; i++) {
		const struct cli_cmd *c = &cli_cmds[i];
		if (strcmp(c->resource, word) == 0 && c->verb != NULL &&
		    buf_printf(out, "%s%s", out->len ? ", " : "", c->verb) < 0)
			return; /* a cut list is still a useful hint */
	}
}

/* "usage: corral node create NAME [--mac ...]..." */
static void cli_print_usage(const struct cli_cmd *cmd)
{
	char name[64];
	struct buf syn;
	buf_init(&syn, 4096);
	if (cli_args_synopsis(cmd, &syn) < 0)
		buf_reset(&syn); /* too long to show; the option list follows */
	printf("usage: corral %s%s%s%s\n", cli_cmd_name(cmd, name, sizeof(name)),
	       cmd->usage[0] ? " " : "", cmd->usage, buf_str(&syn));
	buf_clear(&syn);
}

static int cli_help_cmd(const struct cli_cmd *cmd)
{
	cli_print_usage(cmd);
	printf("%c%s.\n",
	       cmd->summary[0] >= 'a' && cmd->summary[0] <= 'z' ? cmd->summary[0] - 'a' + 'A' :
								  cmd->summary[0],
	       cmd->summary + 1);
	if (cmd->nopts > 0) {
		struct cli_table *t = cli_table_new(2);
		struct buf left;
		buf_init(&left, 256);
		int rc = t != NULL ? 0 : -1;
		for (size_t i = 0; i < cmd->nopts && rc == 0; i++) {
			const struct cli_opt *o = &cmd->opts[i];
			buf_reset(&left);
			rc = buf_printf(&left, "  %s%s%s", o->name, o->metavar ? " " : "",
					o->metavar ? o->metavar : "");
			const char *row[2] = {buf_str(&left), o->help};
			if (rc == 0)
				rc = cli_table_add(t, row);
		}
		printf("\nOptions:\n");
		if (rc == 0)
			cli_table_print(t, stdout);
		buf_clear(&left);
		cli_table_free(t);
	}
	for (size_t i = 0; i < sizeof(cli_help_notes) / sizeof(cli_help_notes[0]); i++)
		if (strcmp(cli_help_notes[i].word, cmd->resource) == 0 &&
		    (cli_help_notes[i].verb == NULL ||
		     (cmd->verb != NULL && strcmp(cli_help_notes[i].verb, cmd->verb) == 0)))
			printf("\n%s", cli_help_notes[i].text);
	return CLI_EXIT_OK;
}

static int cli_help_word(const char *word)
{
	for (size_t i = 0; i < cli_ncmds; i++) {
		if (strcmp(cli_cmds[i].resource, word) == 0) {
			cli_print_usage(&cli_cmds[i]);
			printf("    %s\n", cli_cmds[i].summary);
		}
	}
	printf("\n'corral %s COMMAND --help' tells more.\n", word);
	return CLI_EXIT_OK;
}

static int cli_help_all(void)
{
	char name[64];
	printf("usage: corral [--url URL] [--token TOKEN] [--ca-file FILE] [--fingerprint FP] "
	       "[--json] COMMAND [ARGS]\n"
	       "\nCommands:\n");
	struct cli_table *t = cli_table_new(2);
	int rc = t != NULL ? 0 : -1;
	for (size_t i = 0; i < cli_ncmds && rc == 0; i++) {
		char left[80];
		if (buf_fmt(left, sizeof(left), "  %s",
			    cli_cmd_name(&cli_cmds[i], name, sizeof(name))) < 0)
			continue; /* cannot happen with our names; skip rather than cut */
		const char *row[2] = {left, cli_cmds[i].summary};
		rc = cli_table_add(t, row);
	}
	const char *help_row[2] = {"  help [COMMAND]", "this text, or a command's"};
	if (rc == 0 && cli_table_add(t, help_row) == 0)
		cli_table_print(t, stdout);
	cli_table_free(t);
	printf("\n'corral COMMAND --help' shows a command's options.\n%s", cli_help_tail);
	return CLI_EXIT_OK;
}

/* `corral help [WORD [VERB]]` */
static int cli_help(int argc, char **argv)
{
	if (argc == 0)
		return cli_help_all();
	if (!cli_known(argv[0]))
		return cli_fail(CLI_EXIT_USAGE, "help: unknown command '%s' (see 'corral help')",
				argv[0]);
	if (cli_has_verbs(argv[0]) && argc < 2)
		return cli_help_word(argv[0]);
	const struct cli_cmd *cmd = cli_find(argv[0], argc > 1 ? argv[1] : NULL);
	if (cmd == NULL)
		return cli_fail(CLI_EXIT_USAGE,
				"help: unknown command '%s %s' (see 'corral help %s')", argv[0],
				argv[1], argv[0]);
	return cli_help_cmd(cmd);
}

/* "--opt V" or "--opt=V" for a global option; 1 if arg is opt. */
static int cli_global_value(const char *opt, int argc, char **argv, int *i, const char **val,
			    int *err)
{
	const char *arg = argv[*i];
	size_t n = strlen(opt);
	if (strncmp(arg, opt, n) != 0)
		return 0;
	if (arg[n] == '=') {
		*val = arg + n + 1;
		return 1;
	}
	if (arg[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		*err = cli_fail(CLI_EXIT_USAGE, "%s needs a value (see 'corral help')", opt);
		return 1;
	}
	*val = argv[++*i];
	return 1;
}

/* Runs one command once it is found and parsed. */
static int cli_run(const struct cli_cmd *cmd, struct cli_args *a, struct cli *c,
		   const struct cli_flags *flags)
{
	struct cli_conf conf;
	int rc = cli_conf_load(flags, &conf);
	if (rc != CLI_EXIT_OK)
		goto err_conf;
	c->url = conf.url;
	rc = cli_http_new(conf.url, conf.token, &c->http);
	if (rc < 0) {
		rc = rc == -EINVAL ?
			     cli_fail(CLI_EXIT_USAGE, "the token holds a control character") :
			     cli_fail(CLI_EXIT_FAIL, "cannot start the HTTP client");
		goto err_conf;
	}
	/* the fingerprint is checked already (cli_conf): only memory can fail here */
	if (cli_http_tls(c->http, conf.ca_file, conf.fingerprint) < 0) {
		rc = cli_fail(CLI_EXIT_FAIL, "cannot start the HTTP client");
		goto err_http;
	}
	rc = cmd->run(c, cmd, a);
	if (rc == CLI_EXIT_OK && (fflush(stdout) != 0 || ferror(stdout)))
		rc = cli_fail(CLI_EXIT_FAIL, "cannot write output");
err_http:
	cli_http_free(c->http);
	c->http = NULL;
err_conf:
	cli_conf_clear(&conf);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c = {.url = CLI_DEFAULT_URL};
	struct cli_flags flags = {NULL, NULL, NULL, NULL};
	int i, rc = CLI_EXIT_OK;

	for (i = 1; i < argc && argv[i][0] == '-' && rc == CLI_EXIT_OK; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		} else if (strcmp(arg, "--json") == 0) {
			c.json = 1;
		} else if (strcmp(arg, "--version") == 0) {
			printf("corral %s\n", CORRAL_VERSION);
			return CLI_EXIT_OK;
		} else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			return cli_help_all();
		} else if (!cli_global_value("--url", argc, argv, &i, &flags.url, &rc) &&
			   !cli_global_value("--token", argc, argv, &i, &flags.token, &rc) &&
			   !cli_global_value("--ca-file", argc, argv, &i, &flags.ca_file, &rc) &&
			   !cli_global_value("--fingerprint", argc, argv, &i, &flags.fingerprint,
					     &rc)) {
			return cli_fail(CLI_EXIT_USAGE, "unknown option %s (see 'corral help')",
					arg);
		}
	}
	if (rc != CLI_EXIT_OK)
		return rc;
	if (i >= argc)
		return cli_fail(CLI_EXIT_USAGE, "missing command (see 'corral help')");

	const char *word = argv[i++];
	if (strcmp(word, "help") == 0)
		return cli_help(argc - i, argv + i);
	if (!cli_known(word))
		return cli_fail(CLI_EXIT_USAGE, "unknown command '%s' (see 'corral help')", word);

	const struct cli_cmd *cmd;
	if (cli_has_verbs(word)) {
		const char *verb = i < argc ? argv[i] : NULL;
		if (verb != NULL && (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0))
			return cli_help_word(word);
		struct buf verbs;
		buf_init(&verbs, 256);
		cli_verbs(word, &verbs);
		cmd = cli_find(word, verb);
		if (cmd == NULL && verb == NULL)
			rc = cli_fail(CLI_EXIT_USAGE, "%s: missing command (%s)", word,
				      buf_str(&verbs));
		else if (cmd == NULL)
			rc = cli_fail(CLI_EXIT_USAGE, "%s: unknown command '%s' (%s)", word, verb,
				      buf_str(&verbs));
		buf_clear(&verbs);
		if (cmd == NULL)
			return rc;
		i++;
	} else {
		cmd = cli_find(word, NULL);
	}

	struct cli_args a;
	rc = cli_args_parse(cmd, argc - i, argv + i, &a);
	if (rc == CLI_EXIT_OK && a.help) {
		rc = cli_help_cmd(cmd);
	} else if (rc == CLI_EXIT_OK) {
		c.json |= a.json;
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			rc = cli_fail(CLI_EXIT_FAIL, "cannot initialise libcurl");
		} else {
			rc = cli_run(cmd, &a, &c, &flags);
			curl_global_cleanup();
		}
	}
	cli_args_clear(&a);
	return rc;
}
