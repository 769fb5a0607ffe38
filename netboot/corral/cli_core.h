/*
 * cli_core: what one run of `corral` shares between its modules, and the one
 * place where a failure becomes a message and an exit code.
 *
 * Contract: a command handler that fails prints exactly one line on stderr,
 * "corral: <reason>", through cli_fail(), cli_usage() or cli_call(), and
 * returns the exit code they hand back.  Nothing else writes to stderr but
 * warnings on a success ("corral: warning: <what the server warns of>").
 * Single-threaded; nothing here keeps state between calls.
 *
 * Callers: every cli_* module and corral.c.
 */
#ifndef CORRAL_CLI_CORE_H
#define CORRAL_CLI_CORE_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

/* Exit codes; `corral help` documents them. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,    /* the server refused the request, or bad input file */
	CLI_EXIT_USAGE = 2,   /* bad command line or config file */
	CLI_EXIT_CONNECT = 3, /* the server could not be reached (or timed out) */
};

#define CLI_DEFAULT_URL "https://127.0.0.1:8443" /* corrald's operator listener */
/* Largest file read for --*-file options; the server's default body cap. */
#define CLI_FILE_MAX (1024 * 1024)
/* Largest import file; the server's cap for /api/v1/nodes/import. */
#define CLI_IMPORT_MAX (8 * 1024 * 1024)
/* Largest request path (and query) a command builds with cli_path. */
#define CLI_PATH_MAX 4096

struct cli_http;
struct cli_reply;
struct cli_opt;
struct cli_args;
struct cli_resource;

/* The run's context, filled by main before a handler runs. */
struct cli {
	const char *url;       /* server base URL, without a trailing '/' */
	int json;              /* --json: print the server's JSON, not tables */
	struct cli_http *http; /* the connection to the server */
};

struct cli_cmd;
/* Runs one command with its parsed arguments; returns an enum cli_exit. */
typedef int (*cli_handler)(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a);

/* One row of the command table (cli_defs.c). */
struct cli_cmd {
	const char *resource; /* "node"; the whole command if verb is NULL */
	const char *verb;     /* "create", or NULL ("status", "events") */
	cli_handler run;
	const struct cli_resource *res; /* what the generic handlers act on */
	const struct cli_opt *opts;     /* the options it takes, or NULL */
	size_t nopts;
	int minpos, maxpos;  /* positional arguments; maxpos -1: any */
	const char *usage;   /* positional part, e.g. "NAME..." */
	const char *summary; /* one line for help */
};

/*
 * Prints "corral: <fmt>" as one line on stderr (control characters from the
 * server become spaces, an overlong line is cut with "...") and returns code.
 */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Usage error for cmd: "corral: node create: <fmt> (see ...)"; returns 2. */
int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "node create" for cmd, into out (cut to fit); returns out. */
const char *cli_cmd_name(const struct cli_cmd *cmd, char *out, size_t len);

/*
 * Sends one API request (body may be NULL) and turns every failure into its
 * message and exit code: cannot connect (3), an error status (1, with the
 * server's error.message).  Returns CLI_EXIT_OK on a 2xx answer; r then
 * holds it (the caller clears r in every case).
 */
int cli_call(struct cli *c, const struct cli_cmd *cmd, const char *method, const char *path,
	     const json_t *body, struct cli_reply *r);
/* cli_call's second half: CLI_EXIT_OK for a 2xx reply, else its one-line message and 1. */
int cli_reply_check(const struct cli_cmd *cmd, struct cli_reply *r);

/*
 * Builds "<base>/<escaped name><suffix>" into out (reset first); name and
 * suffix may be NULL.  Returns 0 or a negative errno (-E2BIG).
 */
int cli_path(struct buf *out, const char *base, const char *name, const char *suffix);

/*
 * Reads a whole file ("-" is stdin) of at most cap bytes into out.
 * Returns 0, -E2BIG if larger, or a negative errno.
 */
int cli_read_file(const char *path, size_t cap, struct buf *out);

#endif
