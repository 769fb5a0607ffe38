/*
 * cli_out: how the CLI prints what the server sent.
 *
 * --json output is the server's JSON re-indented (cli_out_json).  For
 * people: a list becomes a table whose columns are declared as data
 * (struct cli_col), one object becomes "key  value" lines (cli_out_show).
 * Everything printed for people has its control characters replaced.
 *
 * Callers: the command handlers (cli_res, cli_cmds, cli_cmds_redfish).
 */
#ifndef CORRAL_CLI_OUT_H
#define CORRAL_CLI_OUT_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

enum cli_col_kind {
	CLI_COL_VALUE, /* the value as text; arrays joined with "," */
	CLI_COL_COUNT, /* how many elements the array has */
	CLI_COL_YESNO, /* a bool as "yes"/"no" */
};

/* One column of a list table. */
struct cli_col {
	const char *header; /* "MAC" */
	const char *field;  /* "interfaces" */
	const char *sub;    /* "mac": taken from each element (or the member
				   of an object); NULL for the value itself */
	enum cli_col_kind kind;
};

/*
 * Appends a person's text for v: nothing for null or a missing value,
 * strings as they are, numbers, true/false, arrays joined with ",", objects
 * as compact JSON.  With sub, each array element's (or the object's) member
 * sub instead.  0 or -E2BIG/-ENOMEM.
 */
int cli_out_value(struct buf *b, const json_t *v, const char *sub);

/* Prints j indented on stdout (the --json output).  0 or -EIO. */
int cli_out_json(const json_t *j);

/*
 * Prints the array as a table with a header row; an object holding the
 * array under `member` (e.g. {"nodes": [...]}) works too.  0, -EINVAL if
 * there is no array, -ENOMEM, -EIO.
 */
int cli_out_list(const struct cli_col *cols, size_t ncols, const json_t *list, const char *member);

/* Prints an object as aligned "key  value" lines.  0, -EINVAL if not an
   object, -ENOMEM, -EIO. */
int cli_out_show(const json_t *obj);

/* The array in a list reply (a bare array or obj[member]), or NULL. */
const json_t *cli_out_array(const json_t *list, const char *member);

#endif
