/*
 * cli_args: table-driven option parsing for the CLI's commands.
 * See cli_args.h.  Everything the user typed is checked for form only; the
 * server decides whether a value is acceptable.
 */
#include "cli_args.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_http.h"

int cli_parse_ll(const char *s, long long min, long long max, long long *out)
{
	/* strtoll would skip leading blanks and accept "+"; we want digits. */
	if (s == NULL || (s[0] != '-' && !isdigit((unsigned char)s[0])))
		return -EINVAL;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static const struct cli_opt *cli_args_find(const struct cli_cmd *cmd, const char *name, size_t len)
{
	for (size_t i = 0; i < cmd->nopts; i++) {
		const struct cli_opt *o = &cmd->opts[i];
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	}
	return NULL;
}

/* The array at dst[key], made empty if missing; NULL on no memory. */
static json_t *cli_args_array(json_t *dst, const char *key)
{
	json_t *arr = json_object_get(dst, key);
	if (json_is_array(arr))
		return arr;
	arr = json_array();
	if (arr == NULL || json_object_set_new(dst, key, arr) < 0)
		return NULL;
	return arr;
}

/* "a,b,c" (not "") appended to the list arr. */
static int cli_args_list(const struct cli_cmd *cmd, const struct cli_opt *o, const char *val,
			 json_t *arr)
{
	const char *p = val;
	for (;;) {
		size_t n = strcspn(p, ",");
		if (n == 0)
			return cli_usage(cmd, "%s: empty name in '%s'", o->name, val);
		json_t *s = json_stringn(p, n);
		if (s == NULL)
			return cli_usage(cmd, "%s: '%s' is not valid UTF-8", o->name, val);
		if (json_array_append_new(arr, s) < 0)
			return cli_fail(CLI_EXIT_FAIL, "out of memory");
		if (p[n] == '\0')
			return CLI_EXIT_OK;
		p += n + 1;
	}
}

/* "K=V[,K=V]..." (not "") added to the object map; a key given twice is refused. */
static int cli_args_map(const struct cli_cmd *cmd, const struct cli_opt *o, const char *val,
			json_t *map)
{
	const char *p = val;
	for (;;) {
		size_t n = strcspn(p, ","), k = strcspn(p, "=,");
		char key[64];
		if (k == 0 || k >= n || k + 1 == n || k >= sizeof(key))
			return cli_usage(cmd, "%s: expected %s, got '%s'", o->name, o->metavar,
					 val);
		memcpy(key, p, k);
		key[k] = '\0';
		if (json_object_get(map, key) != NULL)
			return cli_usage(cmd, "%s: %s is given twice", o->name, key);
		json_t *v = json_stringn(p + k + 1, n - k - 1);
		if (v == NULL || json_object_set_new(map, key, v) < 0)
			return cli_usage(cmd, "%s: '%s' is not valid UTF-8", o->name, val);
		if (p[n] == '\0')
			return CLI_EXIT_OK;
		p += n + 1;
	}
}

/* "MAC[,ip=IP]" (not "") appended to the interface list arr. */
static int cli_args_iface(const struct cli_cmd *cmd, const struct cli_opt *o, const char *val,
			  json_t *arr)
{
	size_t maclen = strcspn(val, ",");
	const char *rest = val[maclen] == ',' ? val + maclen + 1 : NULL;
	if (maclen == 0 || (rest != NULL && (strncmp(rest, "ip=", 3) != 0 || rest[3] == '\0' ||
					     strchr(rest, ',') != NULL)))
		return cli_usage(cmd, "%s: expected MAC[,ip=IP], got '%s'", o->name, val);
	json_t *ifc = json_object();
	if (ifc == NULL || json_array_append_new(arr, ifc) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	json_t *mac = json_stringn(val, maclen);
	json_t *ip = rest != NULL ? json_string(rest + 3) : NULL;
	if (mac == NULL || (rest != NULL && ip == NULL)) {
		json_decref(mac);
		json_decref(ip);
		return cli_usage(cmd, "%s: '%s' is not valid UTF-8", o->name, val);
	}
	if (json_object_set_new(ifc, "mac", mac) < 0 ||
	    (ip != NULL && json_object_set_new(ifc, "ip", ip) < 0))
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	return CLI_EXIT_OK;
}

/* A --*-file option's value: the file's JSON object or its text. */
static int cli_args_file(const struct cli_cmd *cmd, const struct cli_opt *o, const char *path,
			 json_t **out)
{
	char name[64];
	struct buf b;
	buf_init(&b, CLI_FILE_MAX);
	int rc = cli_read_file(path, CLI_FILE_MAX, &b);
	if (rc == -E2BIG) {
		buf_clear(&b);
		return cli_fail(CLI_EXIT_FAIL, "%s: %s: larger than %d bytes",
				cli_cmd_name(cmd, name, sizeof(name)), path, CLI_FILE_MAX);
	}
	if (rc < 0) {
		buf_clear(&b);
		return cli_fail(CLI_EXIT_FAIL, "%s: cannot read %s: %s",
				cli_cmd_name(cmd, name, sizeof(name)), path, strerror(-rc));
	}
	if (o->kind == CLI_OPT_TEXTFILE) {
		*out = json_stringn(buf_str(&b), b.len);
		buf_clear(&b);
		if (*out == NULL)
			return cli_fail(CLI_EXIT_FAIL, "%s: %s: not UTF-8 text",
					cli_cmd_name(cmd, name, sizeof(name)), path);
		return CLI_EXIT_OK;
	}
	json_error_t jerr;
	*out = json_loadb(buf_str(&b), b.len, 0, &jerr);
	buf_clear(&b);
	if (*out == NULL)
		return cli_fail(CLI_EXIT_FAIL, "%s: %s: line %d: %s",
				cli_cmd_name(cmd, name, sizeof(name)), path, jerr.line, jerr.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return cli_fail(CLI_EXIT_FAIL, "%s: %s: not a JSON object",
				cli_cmd_name(cmd, name, sizeof(name)), path);
	}
	return CLI_EXIT_OK;
}

/* Puts one option's value where it belongs in a. */
static int cli_args_apply(const struct cli_cmd *cmd, const struct cli_opt *o, const char *val,
			  struct cli_args *a)
{
	int query = (o->flags & CLI_OPT_QUERY) != 0;
	json_t *dst = query ? a->query : a->body;
	json_t *v = NULL;
	long long n;
	int rc;

	if (o->kind == CLI_OPT_MAP) {
		/* Each adds to the object at dst[key]; "" leaves it empty. */
		json_t *map = json_object_get(dst, o->key);
		if (map == NULL &&
		    ((map = json_object()) == NULL || json_object_set_new(dst, o->key, map) < 0))
			return cli_fail(CLI_EXIT_FAIL, "out of memory");
		return val[0] == '\0' ? CLI_EXIT_OK : cli_args_map(cmd, o, val, map);
	}
	if (o->kind == CLI_OPT_LIST || o->kind == CLI_OPT_IFACE) {
		/* Each appends to the list at dst[key]; "" leaves it empty. */
		json_t *arr = cli_args_array(dst, o->key);
		if (arr == NULL)
			return cli_fail(CLI_EXIT_FAIL, "out of memory");
		if (val[0] == '\0')
			return CLI_EXIT_OK;
		return o->kind == CLI_OPT_LIST ? cli_args_list(cmd, o, val, arr) :
						 cli_args_iface(cmd, o, val, arr);
	}
	if (json_object_get(dst, o->key) != NULL)
		return cli_usage(cmd, "%s: '%s' is already set by an earlier option", o->name,
				 o->key);

	if ((o->flags & CLI_OPT_NULLABLE) && val != NULL && val[0] == '\0') {
		v = json_null();
	} else {
		switch (o->kind) {
		case CLI_OPT_STR:
			v = json_string(val);
			if (v == NULL)
				return cli_usage(cmd, "%s: not valid UTF-8", o->name);
			break;
		case CLI_OPT_INT:
			if (cli_parse_ll(val, o->min, o->max, &n) < 0)
				return cli_usage(cmd,
						 "%s: '%s' is not an integer from %lld to %lld",
						 o->name, val, o->min, o->max);
			/* A query parameter goes as the text the user typed. */
			v = query ? json_string(val) : json_integer(n);
			break;
		case CLI_OPT_JSONFILE:
		case CLI_OPT_TEXTFILE:
			rc = cli_args_file(cmd, o, val, &v);
			if (rc != CLI_EXIT_OK)
				return rc;
			break;
		case CLI_OPT_FLAG:
			v = json_loads(o->flagval, JSON_DECODE_ANY, NULL);
			break;
		case CLI_OPT_LIST:
		case CLI_OPT_IFACE:
		case CLI_OPT_MAP:
			break; /* handled above */
		}
	}
	if (v == NULL || json_object_set_new(dst, o->key, v) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	return CLI_EXIT_OK;
}

static int cli_args_has_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

int cli_args_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_args *a)
{
	memset(a, 0, sizeof(*a));
	a->pos = calloc((size_t)argc + 1, sizeof(*a->pos));
	a->body = json_object();
	a->query = json_object();
	if (a->pos == NULL || a->body == NULL || a->query == NULL)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	/* --help wins over any error elsewhere on the line. */
	if (cli_args_has_help(argc, argv)) {
		a->help = 1;
		return CLI_EXIT_OK;
	}

	int opts_done = 0;
	for (int i = 0; i < argc; i++) {
		char *arg = argv[i];
		if (opts_done || arg[0] != '-' || arg[1] == '\0') {
			a->pos[a->npos++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			opts_done = 1;
			continue;
		}
		if (strcmp(arg, "--json") == 0) {
			a->json = 1;
			continue;
		}
		const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
		size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		const struct cli_opt *o = cli_args_find(cmd, arg, nlen);
		if (o == NULL)
			return cli_usage(cmd, "unknown option %.*s", (int)nlen, arg);
		const char *val = NULL;
		if (o->kind == CLI_OPT_FLAG) {
			if (eq != NULL)
				return cli_usage(cmd, "%s takes no value", o->name);
		} else if (eq != NULL) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			return cli_usage(cmd, "%s needs a value", o->name);
		}
		int rc = cli_args_apply(cmd, o, val, a);
		if (rc != CLI_EXIT_OK)
			return rc;
	}

	if (a->npos < cmd->minpos)
		return cli_usage(cmd, "missing argument: %s", cmd->usage ? cmd->usage : "");
	if (cmd->maxpos >= 0 && a->npos > cmd->maxpos)
		return cli_usage(cmd, "unexpected argument '%s'", a->pos[cmd->maxpos]);
	return CLI_EXIT_OK;
}

void cli_args_clear(struct cli_args *a)
{
	free(a->pos);
	json_decref(a->body);
	json_decref(a->query);
	memset(a, 0, sizeof(*a));
}

int cli_args_query(const struct cli_args *a, struct buf *path)
{
	const char *k;
	json_t *v;
	char sep = '?';
	json_object_foreach(a->query, k, v) {
		if (!json_is_string(v))
			continue; /* a flag the CLI keeps to itself: nothing to send */
		int rc = buf_addc(path, sep);
		if (rc == 0)
			rc = cli_http_escape(path, k);
		if (rc == 0)
			rc = buf_addc(path, '=');
		if (rc == 0)
			rc = cli_http_escape(path, json_string_value(v));
		if (rc < 0)
			return rc;
		sep = '&';
	}
	return 0;
}

int cli_args_apply_clears(const struct cli_cmd *cmd, json_t *body)
{
	/* Judge "given" on the command line as typed, before any clearing. */
	json_t *given = json_copy(body);
	if (given == NULL)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < cmd->nopts && rc == 0; i++) {
		const struct cli_opt *o = &cmd->opts[i];
		if (o->clears == NULL || json_object_get(given, o->key) == NULL)
			continue;
		for (const char *p = o->clears; *p != '\0' && rc == 0;) {
			size_t n = strcspn(p, ",");
			char field[64];
			if (n > 0 && n < sizeof(field)) {
				memcpy(field, p, n);
				field[n] = '\0';
				if (json_object_get(given, field) == NULL &&
				    json_object_set_new(body, field, json_null()) < 0)
					rc = -ENOMEM;
			}
			p += n + (p[n] == ',');
		}
	}
	json_decref(given);
	return rc;
}

int cli_args_synopsis(const struct cli_cmd *cmd, struct buf *out)
{
	int rc = 0;
	for (size_t i = 0; i < cmd->nopts && rc == 0; i++) {
		const struct cli_opt *o = &cmd->opts[i];
		int repeat = o->kind == CLI_OPT_LIST || o->kind == CLI_OPT_IFACE ||
			     o->kind == CLI_OPT_MAP;
		if (o->metavar != NULL)
			rc = buf_printf(out, " [%s %s]%s", o->name, o->metavar,
					repeat ? "..." : "");
		else
			rc = buf_printf(out, " [%s]", o->name);
	}
	return rc;
}
