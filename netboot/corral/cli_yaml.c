/*
 * cli_yaml: libyaml's document loader, then a walk that builds JSON.
 * See cli_yaml.h for the typing rules and the caps.
 */
#include "cli_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define CLI_YAML_MAX_DEPTH 64
#define CLI_YAML_MAX_NODES 1000000 /* values built, aliases counted each time */

struct cli_yaml {
	yaml_document_t *doc;
	size_t nodes; /* values built so far */
	char *err;
	size_t errlen;
};

static int cli_yaml_err(struct cli_yaml *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cli_yaml_err(struct cli_yaml *y, const yaml_node_t *n, const char *fmt, ...)
{
	int k = snprintf(y->err, y->errlen, "line %zu: ", n != NULL ? n->start_mark.line + 1 : 1);
	if (k < 0 || (size_t)k >= y->errlen)
		return -EINVAL; /* no room even for the line: the caller still fails */
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(y->err + k, y->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	(void)m; /* a cut message still names the line */
	return -EINVAL;
}

/* "-12", "+7", "42": optional sign, then only digits. */
static int cli_yaml_is_int(const char *s, size_t len)
{
	size_t i = (len > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
	if (i == len)
		return 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

static int cli_yaml_is(const char *s, size_t len, const char *const *words)
{
	for (; *words != NULL; words++) {
		if (strlen(*words) == len && memcmp(s, *words, len) == 0)
			return 1;
	}
	return 0;
}

static json_t *cli_yaml_scalar(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", NULL};
	static const char *const falses[] = {"false", "False", "FALSE", NULL};
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (cli_yaml_is(s, len, nulls))
			return json_null();
		if (cli_yaml_is(s, len, trues))
			return json_true();
		if (cli_yaml_is(s, len, falses))
			return json_false();
		if (cli_yaml_is_int(s, len)) {
			errno = 0;
			char *end;
			long long v = strtoll(s, &end, 10);
			/* Out of range: keep the digits as a string, lose nothing. */
			if (errno == 0 && end == s + len)
				return json_integer(v);
		}
	}
	return json_stringn(s, len);
}

static int cli_yaml_node(struct cli_yaml *y, const yaml_node_t *n, int depth, json_t **out);

static int cli_yaml_seq(struct cli_yaml *y, const yaml_node_t *n, int depth, json_t **out)
{
	json_t *arr = json_array();
	if (arr == NULL)
		return -ENOMEM;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		json_t *v = NULL;
		int rc = cli_yaml_node(y, yaml_document_get_node(y->doc, *it), depth + 1, &v);
		if (rc == 0 && json_array_append_new(arr, v) < 0)
			rc = -ENOMEM;
		if (rc < 0) {
			json_decref(arr);
			return rc;
		}
	}
	*out = arr;
	return 0;
}

static int cli_yaml_map(struct cli_yaml *y, const yaml_node_t *n, int depth, json_t **out)
{
	json_t *obj = json_object();
	if (obj == NULL)
		return -ENOMEM;
	int rc = 0;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
	     p < n->data.mapping.pairs.top && rc == 0; p++) {
		const yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		if (k == NULL || k->type != YAML_SCALAR_NODE) {
			rc = cli_yaml_err(y, k, "a mapping key must be a scalar");
			break;
		}
		const char *key = (const char *)k->data.scalar.value;
		if (strlen(key) != k->data.scalar.length) {
			rc = cli_yaml_err(y, k, "NUL character in a key");
			break;
		}
		if (json_object_get(obj, key) != NULL) {
			rc = cli_yaml_err(y, k, "duplicate key '%s'", key);
			break;
		}
		json_t *v = NULL;
		rc = cli_yaml_node(y, yaml_document_get_node(y->doc, p->value), depth + 1, &v);
		if (rc == 0 && json_object_set_new(obj, key, v) < 0)
			rc = -ENOMEM;
	}
	if (rc < 0) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

static int cli_yaml_node(struct cli_yaml *y, const yaml_node_t *n, int depth, json_t **out)
{
	if (n == NULL)
		return cli_yaml_err(y, NULL, "broken document");
	if (depth > CLI_YAML_MAX_DEPTH)
		return cli_yaml_err(y, n, "nested deeper than %d levels", CLI_YAML_MAX_DEPTH);
	if (++y->nodes > CLI_YAML_MAX_NODES)
		return cli_yaml_err(y, n, "more than %d values (aliases count each time)",
				    CLI_YAML_MAX_NODES);
	switch (n->type) {
	case YAML_SCALAR_NODE:
		*out = cli_yaml_scalar(n);
		if (*out == NULL)
			return cli_yaml_err(y, n, "a scalar that is not UTF-8 text");
		return 0;
	case YAML_SEQUENCE_NODE:
		return cli_yaml_seq(y, n, depth, out);
	case YAML_MAPPING_NODE:
		return cli_yaml_map(y, n, depth, out);
	case YAML_NO_NODE:
		break;
	}
	return cli_yaml_err(y, n, "empty node");
}

/*
 * Depth on libyaml's event stream, before its loader builds a document:
 * the loader (and its scanner, on deep flow nesting) slows down
 * quadratically, so a file of 100k '[' would take the CLI half a minute.
 * Counted as cli_yaml_node() counts (the root is level 0), it stops at
 * the event that opens level CLI_YAML_MAX_DEPTH + 1, or at the end of the
 * first document.  0 also when the events are malformed: the
 * loader then reports that error as before.
 */
static int cli_yaml_depth_ok(const char *text, size_t len, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, rc = 0, done = 0;

	if (!yaml_parser_initialize(&parser))
		return 0; /* the loader fails the same way */
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && rc == 0 && yaml_parser_parse(&parser, &ev)) {
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > CLI_YAML_MAX_DEPTH + 1) {
				snprintf(err, errlen, "line %zu: nested deeper than %d levels",
					 ev.start_mark.line + 1, CLI_YAML_MAX_DEPTH);
				rc = -EINVAL;
			}
		} else if (ev.type == YAML_SEQUENCE_END_EVENT ||
			   ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		done = ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return rc;
}

int cli_yaml_to_json(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct cli_yaml y = {.doc = &doc, .err = err, .errlen = errlen};
	int rc;

	if (cli_yaml_depth_ok(text, len, err, errlen) < 0)
		return -EINVAL;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		/* The reader (bad UTF-8, control characters) gives a byte offset,
		 * not a mark: count the lines up to it. */
		size_t line = parser.problem_mark.line + 1;
		if (parser.error == YAML_READER_ERROR) {
			line = 1;
			for (size_t i = 0; i < parser.problem_offset && i < len; i++)
				line += text[i] == '\n';
		}
		int n = snprintf(err, errlen, "line %zu: %s%s%s", line,
				 parser.problem ? parser.problem : "YAML error",
				 parser.context ? " " : "", parser.context ? parser.context : "");
		if ((n < 0 || (size_t)n >= errlen) && errlen > 0)
			err[errlen - 1] = '\0'; /* cut; still names the line */
		rc = -EINVAL;
		goto err_parse;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		rc = cli_yaml_err(&y, NULL, "no document");
		goto err_doc;
	}
	rc = cli_yaml_node(&y, root, 0, out);
	if (rc == -ENOMEM)
		cli_yaml_err(&y, NULL, "out of memory");

err_doc:
	yaml_document_delete(&doc);
err_parse:
	yaml_parser_delete(&parser);
	return rc;
}
