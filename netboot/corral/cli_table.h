/*
 * cli_table: aligned text tables for people.
 *
 * Rows of strings are collected (copied), then printed with each column as
 * wide as its widest cell (counted in UTF-8 characters) and two spaces
 * between columns; the last column is not padded.  The first row added is
 * usually the header.  Cells are cleaned when added: control characters
 * become '?' (server data must not drive the terminal) and an empty cell
 * prints as "-".  Leaf module: depends on nothing else in Corral.
 *
 * Callers: cli_out, the commands' own tables (cli_cmds, cli_cmds_redfish)
 * and corral.c's help.
 */
#ifndef CORRAL_CLI_TABLE_H
#define CORRAL_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct cli_table;

/* New empty table of ncols columns; NULL on no memory.  Free with cli_table_free. */
struct cli_table *cli_table_new(size_t ncols);
/* Frees; NULL is a no-op. */
void cli_table_free(struct cli_table *t);
/* Adds a row of ncols cells (NULL cells print as "-").  0 or -ENOMEM. */
int cli_table_add(struct cli_table *t, const char *const *cells);
/* Number of rows added. */
size_t cli_table_rows(const struct cli_table *t);
/* Prints every row; 0 or -EIO on a write error. */
int cli_table_print(const struct cli_table *t, FILE *out);

#endif
