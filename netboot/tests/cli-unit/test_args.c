/*
 * Unit tests for cli_args, the table-driven option parser of every
 * command: each option kind (string, bounded integer, list, interface,
 * JSON file, text file, flag; query or body; nullable), "--opt V" and
 * "--opt=V", "--" and "-", --json and --help anywhere, positional counts,
 * and every refusal as exactly one stderr line naming the command and the
 * option, with exit code 2 for the command line and 1 for a bad file.
 * Also cli_args_query (the query string, escaped), cli_args_apply_clears
 * (on our own table and the real `profile set`), cli_args_synopsis and
 * cli_parse_ll.
 *
 * Commands are test tables of our own, so a change to cli_defs.c does not
 * move these cases; tests/cli-unit/test_defs.c checks the real table.
 * Files are written into a fresh temporary directory; '-' is tested by
 * putting a file on fd 0.  Not covered: out of memory.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_args.h"
#include "cli_core.h"
#include "cli_defs.h"

#define CAPTURE_STREAMS CAPTURE_STDERR /* only stderr is checked here */
#include "capture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the test command ------------------------------------------------- */

static const struct cli_opt opts[] = {
	{"--name", "name", CLI_OPT_STR, 0, 0, 0, NULL, NULL, "S", "a string"},
	{"--nid", "nid", CLI_OPT_INT, CLI_OPT_NULLABLE, 1, 100, NULL, NULL, "N", "1..100"},
	{"--temp", "temp", CLI_OPT_INT, 0, -50, 50, NULL, NULL, "T", "-50..50"},
	{"--group", "groups", CLI_OPT_LIST, 0, 0, 0, NULL, NULL, "G", "a list"},
	{"--mac", "interfaces", CLI_OPT_IFACE, 0, 0, 0, NULL, NULL, "MAC[,ip=IP]", "ifaces"},
	{"--arch-image", "images", CLI_OPT_MAP, 0, 0, 0, NULL, NULL, "ARCH=I", "a map"},
	{"--meta", "metadata", CLI_OPT_JSONFILE, 0, 0, 0, NULL, NULL, "FILE", "JSON file"},
	{"--text", "user_data", CLI_OPT_TEXTFILE, 0, 0, 0, NULL, NULL, "FILE", "text file"},
	{"--off", "enabled", CLI_OPT_FLAG, 0, 0, 0, "false", NULL, NULL, "a flag"},
	{"--on", "enabled", CLI_OPT_FLAG, 0, 0, 0, "true", NULL, NULL, "its opposite"},
	{"--read", "scope", CLI_OPT_FLAG, 0, 0, 0, "\"read\"", NULL, NULL, "a string flag"},
	{"--profile", "profile", CLI_OPT_STR, CLI_OPT_NULLABLE, 0, 0, NULL, NULL, "P", "nullable"},
	{"--state", "state", CLI_OPT_STR, CLI_OPT_QUERY, 0, 0, NULL, NULL, "S", "query"},
	{"--limit", "limit", CLI_OPT_INT, CLI_OPT_QUERY, 1, 1000, NULL, NULL, "N", "query int"},
};

static const struct cli_cmd cmd = {"thing",     "make", NULL, NULL,       opts,
				   NELEM(opts), 1,      2,    "NAME [X]", "test command"};

#define U " (see 'corral thing make --help')\n"
#define MAXARGS 12

struct parse_case {
	const char *argv[MAXARGS]; /* NULL-terminated */
	int rc;
	const char *body;  /* JSON, wanted when rc is 0 */
	const char *query; /* JSON object of strings */
	const char *pos;   /* positional arguments joined with '|' */
	int json, help;
	const char *err; /* stderr, exactly */
};

static const struct parse_case parse_cases[] = {
	/* positional arguments */
	{{"n1"}, 0, "{}", "{}", "n1", 0, 0, ""},
	{{"n1", "x"}, 0, "{}", "{}", "n1|x", 0, 0, ""},
	{{"-"}, 0, "{}", "{}", "-", 0, 0, ""},
	{{"--", "--name"}, 0, "{}", "{}", "--name", 0, 0, ""},
	{{"n1", "--", "--json"}, 0, "{}", "{}", "n1|--json", 0, 0, ""},
	{{},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: missing argument: NAME [X]" U},
	{{"--name", "x"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: missing argument: NAME [X]" U},
	{{"a", "b", "c"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: unexpected argument 'c'" U},
	/* strings: both spellings, empty, '=' in the value, a value like an option */
	{{"n1", "--name", "x"}, 0, "{\"name\": \"x\"}", "{}", "n1", 0, 0, ""},
	{{"--name=x", "n1"}, 0, "{\"name\": \"x\"}", "{}", "n1", 0, 0, ""},
	{{"n1", "--name="}, 0, "{\"name\": \"\"}", "{}", "n1", 0, 0, ""},
	{{"n1", "--name", ""}, 0, "{\"name\": \"\"}", "{}", "n1", 0, 0, ""},
	{{"n1", "--name=a=b"}, 0, "{\"name\": \"a=b\"}", "{}", "n1", 0, 0, ""},
	{{"n1", "--name", "--json"}, 0, "{\"name\": \"--json\"}", "{}", "n1", 0, 0, ""},
	{{"n1", "--name", "caf\xc3\xa9"}, 0, "{\"name\": \"caf\\u00e9\"}", "{}", "n1", 0, 0, ""},
	{{"n1", "--name", "\xff"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --name: not valid UTF-8" U},
	{{"n1", "--name", "a", "--name", "b"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --name: 'name' is already set by an earlier option" U},
	/* nullable: an empty value sends null */
	{{"n1", "--profile", ""}, 0, "{\"profile\": null}", "{}", "n1", 0, 0, ""},
	{{"n1", "--profile=p"}, 0, "{\"profile\": \"p\"}", "{}", "n1", 0, 0, ""},
	{{"n1", "--nid="}, 0, "{\"nid\": null}", "{}", "n1", 0, 0, ""},
	/* integers: bounds, whole value, negative values taken as values */
	{{"n1", "--nid", "5"}, 0, "{\"nid\": 5}", "{}", "n1", 0, 0, ""},
	{{"n1", "--nid", "1"}, 0, "{\"nid\": 1}", "{}", "n1", 0, 0, ""},
	{{"n1", "--nid=100"}, 0, "{\"nid\": 100}", "{}", "n1", 0, 0, ""},
	{{"n1", "--temp", "-5"}, 0, "{\"temp\": -5}", "{}", "n1", 0, 0, ""},
	{{"n1", "--temp", "-50"}, 0, "{\"temp\": -50}", "{}", "n1", 0, 0, ""},
	{{"n1", "--nid", "0"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --nid: '0' is not an integer from 1 to 100" U},
	{{"n1", "--nid", "101"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --nid: '101' is not an integer from 1 to 100" U},
	{{"n1", "--nid", "5x"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --nid: '5x' is not an integer from 1 to 100" U},
	{{"n1", "--nid", " 5"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --nid: ' 5' is not an integer from 1 to 100" U},
	{{"n1", "--temp", "-51"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --temp: '-51' is not an integer from -50 to 50" U},
	{{"n1", "--temp", ""},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --temp: '' is not an integer from -50 to 50" U},
	/* lists: comma-separated, repeatable, "" for [] */
	{{"n1", "--group", "a,b", "--group", "c"},
	 0,
	 "{\"groups\": [\"a\", \"b\", \"c\"]}",
	 "{}",
	 "n1",
	 0,
	 0,
	 ""},
	{{"n1", "--group", ""}, 0, "{\"groups\": []}", "{}", "n1", 0, 0, ""},
	{{"n1", "--group=", "--group=a"}, 0, "{\"groups\": [\"a\"]}", "{}", "n1", 0, 0, ""},
	{{"n1", "--group", "a,,b"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --group: empty name in 'a,,b'" U},
	{{"n1", "--group", "a,"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --group: empty name in 'a,'" U},
	{{"n1", "--group", ",a"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --group: empty name in ',a'" U},
	/* interfaces: MAC[,ip=IP], repeatable, "" for [] */
	{{"n1", "--mac", "m1,ip=10.0.0.1", "--mac", "m2"},
	 0,
	 "{\"interfaces\": [{\"mac\": \"m1\", \"ip\": \"10.0.0.1\"}, {\"mac\": \"m2\"}]}",
	 "{}",
	 "n1",
	 0,
	 0,
	 ""},
	{{"n1", "--mac="}, 0, "{\"interfaces\": []}", "{}", "n1", 0, 0, ""},
	{{"n1", "--mac", ",ip=1"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --mac: expected MAC[,ip=IP], got ',ip=1'" U},
	{{"n1", "--mac", "m,ip="},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --mac: expected MAC[,ip=IP], got 'm,ip='" U},
	{{"n1", "--mac", "m,"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --mac: expected MAC[,ip=IP], got 'm,'" U},
	{{"n1", "--mac", "m,foo=1"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --mac: expected MAC[,ip=IP], got 'm,foo=1'" U},
	{{"n1", "--mac", "m,ip=1,ip=2"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --mac: expected MAC[,ip=IP], got 'm,ip=1,ip=2'" U},
	/* maps: K=V, comma-separated, repeatable, "" for {} */
	{{"n1", "--arch-image", "aarch64=a1,x86_64=x1", "--arch-image", "riscv64=r=1"},
	 0,
	 "{\"images\": {\"aarch64\": \"a1\", \"x86_64\": \"x1\", \"riscv64\": \"r=1\"}}",
	 "{}",
	 "n1",
	 0,
	 0,
	 ""},
	{{"n1", "--arch-image", ""}, 0, "{\"images\": {}}", "{}", "n1", 0, 0, ""},
	{{"n1", "--arch-image=", "--arch-image=aarch64=a"},
	 0,
	 "{\"images\": {\"aarch64\": \"a\"}}",
	 "{}",
	 "n1",
	 0,
	 0,
	 ""},
	{{"n1", "--arch-image", "aarch64"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --arch-image: expected ARCH=I, got 'aarch64'" U},
	{{"n1", "--arch-image", "=a"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --arch-image: expected ARCH=I, got '=a'" U},
	{{"n1", "--arch-image", "aarch64="},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --arch-image: expected ARCH=I, got 'aarch64='" U},
	{{"n1", "--arch-image", "aarch64=a,"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --arch-image: expected ARCH=I, got 'aarch64=a,'" U},
	{{"n1", "--arch-image", "aarch64,x=a"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --arch-image: expected ARCH=I, got 'aarch64,x=a'" U},
	{{"n1", "--arch-image", "aarch64=a", "--arch-image", "aarch64=b"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --arch-image: aarch64 is given twice" U},
	/* flags: a fixed JSON value, no value of their own, one per key */
	{{"n1", "--off"}, 0, "{\"enabled\": false}", "{}", "n1", 0, 0, ""},
	{{"--on", "n1"}, 0, "{\"enabled\": true}", "{}", "n1", 0, 0, ""},
	{{"n1", "--read"}, 0, "{\"scope\": \"read\"}", "{}", "n1", 0, 0, ""},
	{{"n1", "--off=1"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --off takes no value" U},
	{{"n1", "--off", "--on"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --on: 'enabled' is already set by an earlier option" U},
	/* query options: strings as typed, not in the body */
	{{"n1", "--state", "new", "--limit", "5"},
	 0,
	 "{}",
	 "{\"state\": \"new\", \"limit\": \"5\"}",
	 "n1",
	 0,
	 0,
	 ""},
	{{"n1", "--limit", "0"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --limit: '0' is not an integer from 1 to 1000" U},
	/* unknown options and missing values; the value is never echoed */
	{{"n1", "--bogus"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: unknown option --bogus" U},
	{{"n1", "--bogus=secret"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: unknown option --bogus" U},
	{{"n1", "--nam", "x"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: unknown option --nam" U},
	{{"n1", "--namex=1"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: unknown option --namex" U},
	{{"n1", "-n"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: unknown option -n" U},
	{{"n1", "--name"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --name needs a value" U},
	{{"n1", "--nid"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: --nid needs a value" U},
	{{"n1", "--bogus", "--name"},
	 CLI_EXIT_USAGE,
	 NULL,
	 NULL,
	 NULL,
	 0,
	 0,
	 "corral: thing make: unknown option --bogus" U},
	/* --json anywhere before "--" */
	{{"n1", "--json"}, 0, "{}", "{}", "n1", 1, 0, ""},
	{{"--json", "n1", "--name", "x"}, 0, "{\"name\": \"x\"}", "{}", "n1", 1, 0, ""},
	/* --help and -h win over any error, but not after "--" */
	{{"--help"}, 0, "{}", "{}", "", 0, 1, ""},
	{{"-h"}, 0, "{}", "{}", "", 0, 1, ""},
	{{"n1", "--bogus", "a", "b", "c", "--help"}, 0, "{}", "{}", "", 0, 1, ""},
	{{"n1", "--nid", "0", "-h"}, 0, "{}", "{}", "", 0, 1, ""},
	{{"n1", "--", "--help"}, 0, "{}", "{}", "n1|--help", 0, 0, ""},
};

/* Runs one parse with stderr captured; the caller clears a. */
static int run_parse(const struct cli_cmd *c, const char *const *argv, struct cli_args *a,
		     const char **err)
{
	static char *args[MAXARGS];
	int argc = 0;

	while (argc < MAXARGS && argv[argc] != NULL) {
		args[argc] = (char *)argv[argc];
		argc++;
	}
	capture_start();
	int rc = cli_args_parse(c, argc, args, a);
	*err = capture_end();
	return rc;
}

static void describe(const struct parse_case *c, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < MAXARGS && c->argv[i] != NULL && n + 1 < len; i++) {
		int k = snprintf(out + n, len - n, "%s'%s'", i ? " " : "", c->argv[i]);
		if (k < 0 || (size_t)k >= len - n)
			break;
		n += (size_t)k;
	}
}

static void test_parse(void **state)
{
	char what[256], pos[256];

	(void)state;
	for (size_t i = 0; i < NELEM(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct cli_args a;
		const char *err;

		describe(c, what, sizeof(what));
		int rc = run_parse(&cmd, c->argv, &a, &err);
		if (rc != c->rc)
			fail_msg("[%s]: rc %d, want %d (stderr: %s)", what, rc, c->rc, err);
		if (strcmp(err, c->err) != 0)
			fail_msg("[%s]: stderr\n  \"%s\"\nwant\n  \"%s\"", what, err, c->err);
		if (rc != 0) {
			cli_args_clear(&a);
			continue;
		}
		json_t *body = parse(c->body), *query = parse(c->query);
		if (!json_equal(a.body, body)) {
			char *s = json_dumps(a.body, 0);
			fail_msg("[%s]: body %s, want %s", what, s, c->body);
		}
		if (!json_equal(a.query, query)) {
			char *s = json_dumps(a.query, 0);
			fail_msg("[%s]: query %s, want %s", what, s, c->query);
		}
		pos[0] = '\0';
		for (int k = 0; k < a.npos; k++) {
			size_t n = strlen(pos);
			snprintf(pos + n, sizeof(pos) - n, "%s%s", k ? "|" : "", a.pos[k]);
		}
		if (strcmp(pos, c->pos) != 0)
			fail_msg("[%s]: positional \"%s\", want \"%s\"", what, pos, c->pos);
		if (a.pos[a.npos] != NULL)
			fail_msg("[%s]: positional list not NULL-terminated", what);
		if (a.json != c->json || a.help != c->help)
			fail_msg("[%s]: json %d help %d, want %d %d", what, a.json, a.help, c->json,
				 c->help);
		json_decref(body);
		json_decref(query);
		cli_args_clear(&a);
		assert_null(a.body);
		assert_null(a.pos);
	}
}

/* Every refusal is one line, "corral: " first. */
static void test_one_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct cli_args a;
		const char *err;

		if (c->rc == 0)
			continue;
		run_parse(&cmd, c->argv, &a, &err);
		const char *nl = strchr(err, '\n');
		if (strncmp(err, "corral: ", 8) != 0 || nl == NULL || nl[1] != '\0')
			fail_msg("case %zu: not one 'corral: ' line: \"%s\"", i, err);
		cli_args_clear(&a);
	}
}

/* maxpos -1 takes any number; a verbless command names itself alone. */
static void test_positional_counts(void **state)
{
	static const struct cli_cmd any = {"rmall", NULL, NULL, NULL,      NULL,
					   0,       0,    -1,   "NAME...", "any"};
	const char *argv[MAXARGS] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
	const char *none[MAXARGS] = {"--x"};
	struct cli_args a;
	const char *err;

	(void)state;
	assert_int_equal(run_parse(&any, argv, &a, &err), 0);
	assert_int_equal(a.npos, 11);
	assert_string_equal(a.pos[10], "k");
	cli_args_clear(&a);

	assert_int_equal(run_parse(&any, none, &a, &err), CLI_EXIT_USAGE);
	assert_string_equal(err, "corral: rmall: unknown option --x (see 'corral rmall --help')\n");
	cli_args_clear(&a);
}

/* ---- file options ----------------------------------------------------- */

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	return tmp_make(tmpdir, sizeof(tmpdir), "cli_test_args");
}

static const char *const tmpfiles[] = {"meta.json",  "list.json", "bad.json", "ud.txt",
				       "latin1.txt", "big.txt",   "max.txt",  "empty.txt"};

static int teardown(void **state)
{
	(void)state;
	tmp_remove(tmpdir, tmpfiles, NELEM(tmpfiles));
	return 0;
}

/* Writes len bytes into tmpdir/name; returns the path (static). */
static const char *tmpfile_with(const char *name, const char *data, size_t len)
{
	return tmp_file(tmpdir, name, data, len);
}

/* Parses "n1 OPT PATH"; returns rc, the option's value (new ref) and stderr. */
static int parse_file_opt(const char *opt, const char *path, const char *key, json_t **val,
			  char *err, size_t errlen)
{
	const char *argv[MAXARGS] = {"n1", opt, path};
	struct cli_args a;
	const char *e;

	int rc = run_parse(&cmd, argv, &a, &e);
	snprintf(err, errlen, "%s", e);
	*val = rc == 0 ? json_incref(json_object_get(a.body, key)) : NULL;
	cli_args_clear(&a);
	return rc;
}

static void test_files(void **state)
{
	static const char ud[] = "#!/bin/sh\necho caf\xc3\xa9\n";
	char err[512], want[512];
	json_t *v;

	(void)state;
	/* a JSON object */
	const char *p = tmpfile_with("meta.json", "{\"rack\": 3, \"tags\": [\"a\"]}\n", 27);
	assert_int_equal(parse_file_opt("--meta", p, "metadata", &v, err, sizeof(err)), 0);
	json_t *want_v = parse("{\"rack\": 3, \"tags\": [\"a\"]}");
	assert_true(json_equal(v, want_v));
	json_decref(want_v);
	json_decref(v);

	/* JSON, but not an object */
	p = tmpfile_with("list.json", "[1, 2]", 6);
	assert_int_equal(parse_file_opt("--meta", p, "metadata", &v, err, sizeof(err)),
			 CLI_EXIT_FAIL);
	snprintf(want, sizeof(want), "corral: thing make: %s: not a JSON object\n", p);
	assert_string_equal(err, want);

	/* not JSON: the line at fault */
	p = tmpfile_with("bad.json", "{\n  \"a\": 1,\n  \"b\":\n}\n", 21);
	assert_int_equal(parse_file_opt("--meta", p, "metadata", &v, err, sizeof(err)),
			 CLI_EXIT_FAIL);
	snprintf(want, sizeof(want), "corral: thing make: %s: line 4: ", p);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("stderr \"%s\", want it to start \"%s\"", err, want);

	/* missing */
	snprintf(want, sizeof(want), "%s/none.json", tmpdir);
	assert_int_equal(parse_file_opt("--meta", want, "metadata", &v, err, sizeof(err)),
			 CLI_EXIT_FAIL);
	assert_non_null(strstr(err, ": cannot read "));
	assert_non_null(strstr(err, "/none.json: No such file or directory\n"));
	assert_memory_equal(err, "corral: thing make: cannot read /", 33);

	/* text, byte for byte */
	p = tmpfile_with("ud.txt", ud, sizeof(ud) - 1);
	assert_int_equal(parse_file_opt("--text", p, "user_data", &v, err, sizeof(err)), 0);
	assert_string_equal(json_string_value(v), ud);
	json_decref(v);

	/* an empty text file is the empty string */
	p = tmpfile_with("empty.txt", "", 0);
	assert_int_equal(parse_file_opt("--text", p, "user_data", &v, err, sizeof(err)), 0);
	assert_string_equal(json_string_value(v), "");
	json_decref(v);

	/* text that is not UTF-8 */
	p = tmpfile_with("latin1.txt", "caf\xe9\n", 5);
	assert_int_equal(parse_file_opt("--text", p, "user_data", &v, err, sizeof(err)),
			 CLI_EXIT_FAIL);
	snprintf(want, sizeof(want), "corral: thing make: %s: not UTF-8 text\n", p);
	assert_string_equal(err, want);

	/* the 1 MiB cap: at it passes, over it is refused */
	char *big = malloc(CLI_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', CLI_FILE_MAX + 1);
	p = tmpfile_with("max.txt", big, CLI_FILE_MAX);
	assert_int_equal(parse_file_opt("--text", p, "user_data", &v, err, sizeof(err)), 0);
	assert_int_equal(json_string_length(v), CLI_FILE_MAX);
	json_decref(v);
	p = tmpfile_with("big.txt", big, CLI_FILE_MAX + 1);
	free(big);
	assert_int_equal(parse_file_opt("--text", p, "user_data", &v, err, sizeof(err)),
			 CLI_EXIT_FAIL);
	snprintf(want, sizeof(want), "corral: thing make: %s: larger than 1048576 bytes\n", p);
	assert_string_equal(err, want);

	/* given twice */
	p = tmpfile_with("ud.txt", ud, sizeof(ud) - 1);
	const char *argv[MAXARGS] = {"n1", "--text", p, "--text", p};
	struct cli_args a;
	const char *e;
	assert_int_equal(run_parse(&cmd, argv, &a, &e), CLI_EXIT_USAGE);
	assert_string_equal(e, "corral: thing make: --text: 'user_data' is already set by an "
			       "earlier option" U);
	cli_args_clear(&a);
}

/* "-" reads stdin. */
static void test_file_stdin(void **state)
{
	static const char ud[] = "#cloud-config\nruncmd: []\n";
	char err[256];
	json_t *v;

	(void)state;
	const char *p = tmpfile_with("ud.txt", ud, sizeof(ud) - 1);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	int saved = dup(STDIN_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDIN_FILENO) >= 0);
	close(fd);
	int rc = parse_file_opt("--text", "-", "user_data", &v, err, sizeof(err));
	dup2(saved, STDIN_FILENO);
	close(saved);
	assert_int_equal(rc, 0);
	assert_string_equal(json_string_value(v), ud);
	json_decref(v);
}

/* ---- cli_args_query --------------------------------------------------- */

static void test_query(void **state)
{
	const char *argv[MAXARGS] = {"n1", "--state", "new ready", "--limit", "5"};
	const char *odd[MAXARGS] = {"n1", "--state", "a&b=c/d%\xc3\xa9"};
	const char *none[MAXARGS] = {"n1", "--name", "x"};
	struct cli_args a;
	const char *err;
	struct buf p;

	(void)state;
	buf_init(&p, 4096);
	assert_int_equal(run_parse(&cmd, argv, &a, &err), 0);
	assert_int_equal(buf_adds(&p, "/api/v1/nodes"), 0);
	assert_int_equal(cli_args_query(&a, &p), 0);
	assert_string_equal(buf_str(&p), "/api/v1/nodes?state=new%20ready&limit=5");
	cli_args_clear(&a);

	buf_reset(&p);
	assert_int_equal(run_parse(&cmd, odd, &a, &err), 0);
	assert_int_equal(cli_args_query(&a, &p), 0);
	assert_string_equal(buf_str(&p), "?state=a%26b%3Dc%2Fd%25%C3%A9");
	cli_args_clear(&a);

	/* no query options: nothing appended, not even '?' */
	buf_reset(&p);
	assert_int_equal(buf_adds(&p, "/x"), 0);
	assert_int_equal(run_parse(&cmd, none, &a, &err), 0);
	assert_int_equal(cli_args_query(&a, &p), 0);
	assert_string_equal(buf_str(&p), "/x");
	buf_clear(&p);

	/* a flag the CLI keeps to itself (JSON true) is not sent */
	cli_args_clear(&a);
	buf_init(&p, 4096);
	assert_int_equal(run_parse(&cmd, argv, &a, &err), 0);
	json_object_set_new(a.query, "follow", json_true());
	assert_int_equal(cli_args_query(&a, &p), 0);
	assert_string_equal(buf_str(&p), "?state=new%20ready&limit=5");
	buf_clear(&p);

	/* the path's cap is respected */
	cli_args_clear(&a);
	assert_int_equal(run_parse(&cmd, argv, &a, &err), 0);
	buf_init(&p, 12);
	assert_int_equal(cli_args_query(&a, &p), -E2BIG);
	buf_clear(&p);
	cli_args_clear(&a);
}

/* ---- cli_args_apply_clears -------------------------------------------- */

struct clears_case {
	const char *body, *want;
};

/* `profile set`: an image drops kernel and initrd; a kernel or initrd
   drops the image; whatever was given is sent as given. */
static const struct clears_case profile_cases[] = {
	{"{\"image\": \"I\"}", "{\"image\": \"I\", \"kernel\": null, \"initrd\": null}"},
	{"{\"kernel\": \"K\"}", "{\"kernel\": \"K\", \"image\": null}"},
	{"{\"kernel\": \"K\", \"initrd\": \"R\"}",
	 "{\"kernel\": \"K\", \"initrd\": \"R\", \"image\": null}"},
	{"{\"image\": \"I\", \"kernel\": \"K\"}",
	 "{\"image\": \"I\", \"kernel\": \"K\", \"initrd\": null}"},
	{"{\"image\": null}", "{\"image\": null, \"kernel\": null, \"initrd\": null}"},
	{"{\"params\": \"quiet\"}", "{\"params\": \"quiet\"}"},
	{"{}", "{}"},
};

static void test_apply_clears(void **state)
{
	static const struct cli_opt odd_opts[] = {
		{"--a", "a", CLI_OPT_STR, 0, 0, 0, NULL, ",x,,y,", "A", "odd separators"},
		{"--b", "b", CLI_OPT_STR, 0, 0, 0, NULL,
		 "z,this_field_name_is_far_too_long_to_be_any_field_of_ours_at_all_really", "B",
		 "an overlong name is skipped"},
	};
	static const struct cli_cmd odd = {"o", "set", NULL,   NULL, odd_opts, NELEM(odd_opts),
					   1,   1,     "NAME", "odd"};
	const struct cli_cmd *prof = find_cmd("profile", "set");

	(void)state;
	for (size_t i = 0; i < NELEM(profile_cases); i++) {
		json_t *body = parse(profile_cases[i].body), *want = parse(profile_cases[i].want);
		assert_int_equal(cli_args_apply_clears(prof, body), 0);
		if (!json_equal(body, want)) {
			char *s = json_dumps(body, 0);
			fail_msg("%s: got %s, want %s", profile_cases[i].body, s,
				 profile_cases[i].want);
		}
		json_decref(body);
		json_decref(want);
	}

	json_t *body = parse("{\"a\": \"1\", \"b\": \"2\"}");
	json_t *want = parse("{\"a\": \"1\", \"b\": \"2\", \"x\": null, \"y\": null, \"z\": null}");
	assert_int_equal(cli_args_apply_clears(&odd, body), 0);
	assert_true(json_equal(body, want));
	json_decref(body);
	json_decref(want);

	/* A command without clears leaves the body alone. */
	body = parse("{\"name\": \"x\"}");
	want = json_deep_copy(body);
	assert_int_equal(cli_args_apply_clears(&cmd, body), 0);
	assert_true(json_equal(body, want));
	json_decref(body);
	json_decref(want);
}

/* ---- cli_args_synopsis ------------------------------------------------ */

static void test_synopsis(void **state)
{
	static const struct cli_opt few[] = {
		{"--name", "name", CLI_OPT_STR, 0, 0, 0, NULL, NULL, "S", "a string"},
		{"--group", "groups", CLI_OPT_LIST, 0, 0, 0, NULL, NULL, "G", "a list"},
		{"--mac", "interfaces", CLI_OPT_IFACE, 0, 0, 0, NULL, NULL, "MAC[,ip=IP]", "x"},
		{"--off", "enabled", CLI_OPT_FLAG, 0, 0, 0, "false", NULL, NULL, "a flag"},
	};
	static const struct cli_cmd c = {"t", "x", NULL, NULL, few, NELEM(few), 0, 0, "", "t"};
	static const struct cli_cmd bare = {"t", "y", NULL, NULL, NULL, 0, 0, 0, "", "t"};
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(cli_args_synopsis(&c, &b), 0);
	assert_string_equal(buf_str(&b),
			    " [--name S] [--group G]... [--mac MAC[,ip=IP]]... [--off]");
	buf_reset(&b);
	assert_int_equal(cli_args_synopsis(&bare, &b), 0);
	assert_string_equal(buf_str(&b), "");

	/* The real `node create` shows its interface option as repeatable. */
	buf_reset(&b);
	assert_int_equal(cli_args_synopsis(find_cmd("node", "create"), &b), 0);
	assert_non_null(strstr(buf_str(&b), " [--mac MAC[,ip=IP]]..."));
	assert_non_null(strstr(buf_str(&b), " [--group G]..."));
	assert_non_null(strstr(buf_str(&b), " [--disabled]"));
	/* ... and `profile set` its per-architecture images */
	buf_reset(&b);
	assert_int_equal(cli_args_synopsis(find_cmd("profile", "set"), &b), 0);
	assert_non_null(strstr(buf_str(&b), " [--arch-image ARCH=I]..."));
	buf_clear(&b);

	/* Too long for the buffer: an error, not a cut synopsis. */
	buf_init(&b, 20);
	assert_int_equal(cli_args_synopsis(&c, &b), -E2BIG);
	buf_clear(&b);
}

/* ---- cli_parse_ll ----------------------------------------------------- */

struct ll_case {
	const char *s;
	long long min, max;
	int rc;
	long long want;
};

static const struct ll_case ll_cases[] = {
	{"0", 0, 10, 0, 0},
	{"10", 0, 10, 0, 10},
	{"007", 0, 10, 0, 7},
	{"-1", -5, 5, 0, -1},
	{"-0", 0, 0, 0, 0},
	{"11", 0, 10, -ERANGE, 0},
	{"-1", 0, 10, -ERANGE, 0},
	{"9223372036854775807", 0, LLONG_MAX, 0, LLONG_MAX},
	{"-9223372036854775808", LLONG_MIN, 0, 0, LLONG_MIN},
	{"9223372036854775808", LLONG_MIN, LLONG_MAX, -ERANGE, 0},
	{"-9223372036854775809", LLONG_MIN, LLONG_MAX, -ERANGE, 0},
	{"18446744073709551617", 0, 10, -ERANGE, 0},
	{"2147483648", 1, 2147483648LL, 0, 2147483648LL},
	{"", 0, 10, -EINVAL, 0},
	{" 5", 0, 10, -EINVAL, 0},
	{"5 ", 0, 10, -EINVAL, 0},
	{"+5", 0, 10, -EINVAL, 0},
	{"-", -10, 10, -EINVAL, 0},
	{"--5", -10, 10, -EINVAL, 0},
	{"- 5", -10, 10, -EINVAL, 0},
	{"5x", 0, 10, -EINVAL, 0},
	{"0x10", 0, 100, -EINVAL, 0},
	{"1e2", 0, 1000, -EINVAL, 0},
	{"5.0", 0, 10, -EINVAL, 0},
	{"abc", 0, 10, -EINVAL, 0},
};

static void test_parse_ll(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(ll_cases); i++) {
		const struct ll_case *c = &ll_cases[i];
		long long out = 4242;
		int rc = cli_parse_ll(c->s, c->min, c->max, &out);

		if (rc != c->rc)
			fail_msg("cli_parse_ll(\"%s\", %lld, %lld): rc %d, want %d", c->s, c->min,
				 c->max, rc, c->rc);
		if (rc == 0 && out != c->want)
			fail_msg("cli_parse_ll(\"%s\"): %lld, want %lld", c->s, out, c->want);
		if (rc != 0 && out != 4242)
			fail_msg("cli_parse_ll(\"%s\"): output written on failure", c->s);
	}
	long long out = 1;
	assert_int_equal(cli_parse_ll(NULL, 0, 10, &out), -EINVAL);
	assert_int_equal(out, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_one_line),
		cmocka_unit_test(test_positional_counts),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_file_stdin),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_apply_clears),
		cmocka_unit_test(test_synopsis),
		cmocka_unit_test(test_parse_ll),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
