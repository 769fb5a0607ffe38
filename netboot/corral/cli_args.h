/*
 * cli_args: a command's options, declared as a table, parsed into the JSON
 * body or the query string of its API request.
 *
 * Each struct cli_opt says which JSON field (or query parameter) an option
 * fills and how its value is read: a string, a bounded integer, a repeated
 * list, an interface "MAC[,ip=IP]", a map "K=V[,K=V]", a file, or a fixed
 * value for a flag.
 * cli_args_parse() walks argv against cmd->opts, so every create/set/list
 * command is one table row and no handler parses argv itself.  Values are
 * checked for form here (integers, list syntax); what they mean (a valid
 * MAC, an existing profile) is the server's to judge, so its message is the
 * one the user sees.
 *
 * Callers: corral.c's main parses argv with it; the handlers (cli_res,
 * cli_cmds, cli_cmds_redfish) read the parsed struct cli_args; cli_defs.c
 * declares the option tables.
 */
#ifndef CORRAL_CLI_ARGS_H
#define CORRAL_CLI_ARGS_H

#include <stddef.h>

#include <jansson.h>

#include "cli_core.h"

enum cli_opt_kind {
	CLI_OPT_STR,      /* --opt S           "key": S */
	CLI_OPT_INT,      /* --opt N           "key": N, min <= N <= max */
	CLI_OPT_LIST,     /* --opt A[,B]...    "key": [A, B, ...]; repeatable; "" gives [] */
	CLI_OPT_IFACE,    /* --opt MAC[,ip=IP] "key": [{"mac","ip"}, ...]; repeatable */
	CLI_OPT_MAP,      /* --opt K=V[,K=V]   "key": {K: V, ...}; repeatable; "" gives {} */
	CLI_OPT_JSONFILE, /* --opt FILE        "key": the JSON object in FILE */
	CLI_OPT_TEXTFILE, /* --opt FILE        "key": FILE's text */
	CLI_OPT_FLAG,     /* --opt             "key": the JSON value in flagval */
};

enum cli_opt_flags {
	CLI_OPT_QUERY = 1 << 0,    /* a query parameter, not a body field */
	CLI_OPT_NULLABLE = 1 << 1, /* an empty value sends null (clears the field) */
};

struct cli_opt {
	const char *name; /* "--mac" */
	const char *key;  /* JSON field or query parameter */
	enum cli_opt_kind kind;
	unsigned flags;      /* enum cli_opt_flags */
	long long min, max;  /* CLI_OPT_INT bounds */
	const char *flagval; /* CLI_OPT_FLAG: JSON text, e.g. "false" */
	const char *clears;  /* on PATCH: fields sent as null unless given,
				     e.g. "kernel,initrd" for a profile's --image */
	const char *metavar; /* help: "MAC[,ip=IP]"; NULL for flags */
	const char *help;    /* help: what it does */
};

/* A command line after parsing. */
struct cli_args {
	char **pos; /* positional arguments, borrowed from argv */
	int npos;
	json_t *body;  /* object of the body options; owned */
	json_t *query; /* object of the query options (strings); owned */
	int json;      /* --json was given among the command's arguments */
	int help;      /* --help or -h was given */
};

/*
 * Parses argv (the words after the command) against cmd->opts.  "--" ends
 * the options; "--opt=V" and "--opt V" both work; --json and --help are
 * taken anywhere.  Returns CLI_EXIT_OK, or the exit code of the one error
 * it printed.  cli_args_clear() in every case.
 */
int cli_args_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_args *a);
void cli_args_clear(struct cli_args *a);

/* Appends "?k=v&..." for a->query's text values to path (flags, which the CLI
 * keeps to itself, are left out; nothing when none); 0 or -errno. */
int cli_args_query(const struct cli_args *a, struct buf *path);

/* For a PATCH: sets to null each field named in a given option's `clears`
   that the command line did not give itself.  0 or -ENOMEM. */
int cli_args_apply_clears(const struct cli_cmd *cmd, json_t *body);

/* "[--mac MAC[,ip=IP]]... [--nid N]" for cmd, into out.  0 or -errno. */
int cli_args_synopsis(const struct cli_cmd *cmd, struct buf *out);

/*
 * Parses a decimal integer in [min, max]; the whole of s must be the number.
 * Returns 0, -EINVAL (not a number) or -ERANGE.
 */
int cli_parse_ll(const char *s, long long min, long long max, long long *out);

#endif
