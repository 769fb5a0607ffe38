/*
 * Unit tests for cli_defs, the command table that drives dispatch, option
 * parsing and help.  A table row with a mistake would only show when
 * someone typed that command; these checks read every row: unique
 * commands; a word either has verbs or is one command (the dispatcher in
 * corral.c takes the verbless row first); a handler, usage and summary on
 * each; sane positional counts; the generic handlers given a collection;
 * options named "--x", unique, never --json/--help/-h (taken before the
 * table is read), with a key, a metavar unless a flag, a flag value that
 * is JSON, integer bounds in order; two options on one key only when both
 * are flags (--enable/--disable); clears naming fields of the same
 * command; query options of the commands that send a query string
 * (list, events) being text; and every synopsis fitting the 4 KiB buffer
 * `--help` uses.
 *
 * Not covered: the help text itself (corral.c's main, integration tests).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_cmds_redfish.h"
#include "cli_core.h"
#include "cli_defs.h"
#include "cli_res.h"

static const char *name_of(const struct cli_cmd *c, char *buf, size_t len)
{
	return cli_cmd_name(c, buf, len);
}

static void test_commands(void **state)
{
	char n1[64], n2[64];

	(void)state;
	assert_true(cli_ncmds > 20);
	for (size_t i = 0; i < cli_ncmds; i++) {
		const struct cli_cmd *c = &cli_cmds[i];
		name_of(c, n1, sizeof(n1));

		if (c->resource == NULL || c->resource[0] == '\0')
			fail_msg("row %zu: no command word", i);
		if (c->run == NULL)
			fail_msg("%s: no handler", n1);
		if (c->usage == NULL || c->summary == NULL || c->summary[0] == '\0')
			fail_msg("%s: no usage or summary", n1);
		if (c->minpos < 0 || (c->maxpos != -1 && c->maxpos < c->minpos))
			fail_msg("%s: positional %d..%d", n1, c->minpos, c->maxpos);
		/* a usage text exactly when positional arguments are taken */
		if ((c->usage[0] != '\0') != (c->maxpos != 0))
			fail_msg("%s: usage \"%s\" with maxpos %d", n1, c->usage, c->maxpos);
		if ((c->opts == NULL) != (c->nopts == 0))
			fail_msg("%s: opts and nopts disagree", n1);
		/* the generic handlers need a collection */
		if ((c->run == cli_res_list || c->run == cli_res_show || c->run == cli_res_create ||
		     c->run == cli_res_set || c->run == cli_res_rm) &&
		    c->res == NULL)
			fail_msg("%s: generic handler without a resource", n1);
		/* a named show/create/set/rm takes the name */
		if (c->res != NULL && c->res->named &&
		    (c->run == cli_res_show || c->run == cli_res_create || c->run == cli_res_set ||
		     c->run == cli_res_rm) &&
		    c->minpos < 1)
			fail_msg("%s: acts on a named object but needs no NAME", n1);
		if (c->res != NULL &&
		    (c->res->path == NULL || strncmp(c->res->path, "/api/v1/", 8)))
			fail_msg("%s: resource path %s", n1, c->res->path);
		if (c->res != NULL && c->run == cli_res_list &&
		    (c->res->cols == NULL || c->res->ncols == 0))
			fail_msg("%s: a list without columns", n1);

		for (size_t j = 0; j < i; j++) {
			const struct cli_cmd *d = &cli_cmds[j];
			if (strcmp(c->resource, d->resource) != 0)
				continue;
			name_of(d, n2, sizeof(n2));
			if (strcmp(n1, n2) == 0)
				fail_msg("%s: defined twice", n1);
			if ((c->verb == NULL) != (d->verb == NULL))
				fail_msg("'%s' is a command and has verbs (%s, %s)", c->resource,
					 n1, n2);
		}
	}
}

static void test_options(void **state)
{
	char n[64];

	(void)state;
	for (size_t i = 0; i < cli_ncmds; i++) {
		const struct cli_cmd *c = &cli_cmds[i];
		name_of(c, n, sizeof(n));

		for (size_t k = 0; k < c->nopts; k++) {
			const struct cli_opt *o = &c->opts[k];

			if (o->name == NULL || strncmp(o->name, "--", 2) != 0 ||
			    o->name[2] == '\0' || strchr(o->name, '=') != NULL)
				fail_msg("%s: option name \"%s\"", n, o->name ? o->name : "(null)");
			if (strcmp(o->name, "--json") == 0 || strcmp(o->name, "--help") == 0)
				fail_msg("%s: %s is taken by the parser", n, o->name);
			if (o->key == NULL || o->key[0] == '\0')
				fail_msg("%s %s: no key", n, o->name);
			if (o->help == NULL || o->help[0] == '\0')
				fail_msg("%s %s: no help", n, o->name);
			if ((o->kind == CLI_OPT_FLAG) != (o->metavar == NULL))
				fail_msg("%s %s: a metavar exactly when it takes a value", n,
					 o->name);
			if (o->kind == CLI_OPT_FLAG) {
				json_t *v = json_loads(o->flagval ? o->flagval : "",
						       JSON_DECODE_ANY, NULL);
				if (v == NULL)
					fail_msg("%s %s: flag value \"%s\" is not JSON", n, o->name,
						 o->flagval ? o->flagval : "(null)");
				json_decref(v);
			}
			if (o->kind == CLI_OPT_INT && o->min > o->max)
				fail_msg("%s %s: bounds %lld..%lld", n, o->name, o->min, o->max);
			/* The query string carries text: a nullable query option would
			   put null there (cli_args_query cannot send it). */
			if ((o->flags & CLI_OPT_QUERY) && (o->flags & CLI_OPT_NULLABLE))
				fail_msg("%s %s: nullable query option", n, o->name);
			/* Query options are text or flags (JSON true, which
			   cli_args_query leaves out: test_args checks that). */
			if ((o->flags & CLI_OPT_QUERY) && o->kind != CLI_OPT_STR &&
			    o->kind != CLI_OPT_INT && o->kind != CLI_OPT_FLAG)
				fail_msg("%s %s: a query option of kind %d", n, o->name,
					 (int)o->kind);

			for (size_t m = 0; m < k; m++) {
				const struct cli_opt *p = &c->opts[m];
				if (strcmp(o->name, p->name) == 0)
					fail_msg("%s: %s defined twice", n, o->name);
				if (strcmp(o->key, p->key) == 0 &&
				    (o->flags & CLI_OPT_QUERY) == (p->flags & CLI_OPT_QUERY) &&
				    (o->kind != CLI_OPT_FLAG || p->kind != CLI_OPT_FLAG))
					fail_msg("%s: %s and %s both fill '%s'", n, p->name,
						 o->name, o->key);
			}

			/* clears name fields that options of this command fill */
			for (const char *f = o->clears; f != NULL && *f != '\0';) {
				size_t len = strcspn(f, ",");
				int found = 0;
				for (size_t m = 0; m < c->nopts; m++)
					found |= strlen(c->opts[m].key) == len &&
						 strncmp(c->opts[m].key, f, len) == 0;
				if (!found)
					fail_msg("%s %s: clears '%.*s', which no option fills", n,
						 o->name, (int)len, f);
				f += len + (f[len] == ',');
			}
		}
	}
}

/* Every synopsis fits the buffer corral.c's usage line gives it. */
static void test_synopsis_fits(void **state)
{
	(void)state;
	for (size_t i = 0; i < cli_ncmds; i++) {
		struct buf b;
		char n[64];

		buf_init(&b, 4096);
		if (cli_args_synopsis(&cli_cmds[i], &b) != 0)
			fail_msg("%s: synopsis does not fit", name_of(&cli_cmds[i], n, sizeof(n)));
		buf_clear(&b);
	}
}

/* The commands the documentation and integration tests rely on exist with
   the handler they expect. */
static void test_known_commands(void **state)
{
	static const struct {
		const char *resource, *verb;
		cli_handler run;
	} want[] = {
		{"node", "list", cli_res_list},
		{"node", "create", cli_res_create},
		{"node", "set", cli_res_set},
		{"node", "rm", cli_res_rm},
		{"node", "import", cli_cmd_import},
		{"node", "adopt", cli_cmd_adopt},
		{"group", "create", cli_res_create},
		{"profile", "set", cli_res_set},
		{"boot", "show", cli_cmd_bootscript},
		{"boot", "pxe", cli_cmd_boot_pxe},
		{"discover", NULL, cli_cmd_discover},
		{"power", "on", cli_cmd_power},
		{"power", "off", cli_cmd_power},
		{"job", "wait", cli_cmd_job},
		{"credential", "set", cli_cmd_credential_set},
		{"events", NULL, cli_cmd_events},
		{"status", NULL, cli_cmd_status},
		{"token", "create", cli_cmd_token_create},
		{"defaults", "set", cli_res_set},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct cli_cmd *found = NULL;
		for (size_t k = 0; k < cli_ncmds && found == NULL; k++) {
			const struct cli_cmd *c = &cli_cmds[k];
			if (strcmp(c->resource, want[i].resource) == 0 &&
			    (want[i].verb == NULL ?
				     c->verb == NULL :
				     c->verb != NULL && strcmp(c->verb, want[i].verb) == 0))
				found = c;
		}
		if (found == NULL)
			fail_msg("no command %s %s", want[i].resource,
				 want[i].verb ? want[i].verb : "");
		if (found->run != want[i].run)
			fail_msg("%s %s: another handler", want[i].resource,
				 want[i].verb ? want[i].verb : "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_synopsis_fits),
		cmocka_unit_test(test_known_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
