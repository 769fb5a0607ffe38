/*
 * cloudinit: NoCloud data and YAML handling.  See cloudinit.h.
 */
#include "cloudinit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct yconv {
	yaml_document_t *doc;
	int budget; /* YAML nodes still allowed */
	char *err;
	size_t errlen;
};

static int ystreq(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

/* Plain scalar → JSON value, by YAML 1.1 core rules as PyYAML applies them. */
static json_t *yconv_plain(const char *s)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes",
					    "YES",  "on",   "On",   "ON",  NULL};
	static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
					     "NO",    "off",   "Off",   "OFF", NULL};
	if (ystreq(s, nulls))
		return json_null();
	if (ystreq(s, trues))
		return json_true();
	if (ystreq(s, falses))
		return json_false();

	/* Decimal integers without leading zeros ("0644" stays a string, which
	 * cloud-init reads as octal permissions). */
	const char *p = s + (*s == '-' || *s == '+');
	size_t n = strspn(p, "0123456789");
	if (n > 0 && p[n] == '\0' && (p[0] != '0' || n == 1) && n < 19)
		return json_integer(strtoll(s, NULL, 10));
	/* Floats: digits with one dot and an optional exponent. */
	size_t a = strspn(p, "0123456789");
	if (p[a] == '.') {
		size_t b = strspn(p + a + 1, "0123456789");
		const char *e = p + a + 1 + b;
		if (a + b > 0) {
			if (*e == 'e' || *e == 'E') {
				e++;
				e += (*e == '-' || *e == '+');
				size_t c = strspn(e, "0123456789");
				e = c ? e + c : p; /* no exponent digits: not a float */
			}
			double d = strtod(s, NULL);
			/* JSON has no infinity: keep what cannot be a number as text. */
			if (*e == '\0' && isfinite(d))
				return json_real(d);
		}
	}
	return json_string(s);
}

static json_t *yconv_node(struct yconv *c, yaml_node_t *node, int depth)
{
	if (node == NULL)
		return json_null();
	if (--c->budget < 0 || depth > CLOUDINIT_MAX_DEPTH) {
		snprintf(c->err, c->errlen, "line %zu: document too large or too deeply nested",
			 node->start_mark.line + 1);
		return NULL;
	}
	switch (node->type) {
	case YAML_SCALAR_NODE: {
		const char *v = (const char *)node->data.scalar.value;
		/* Quoted and block scalars are strings; the loader tags every
		 * scalar "str", so only the style tells plain ones apart. */
		if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return json_stringn(v, node->data.scalar.length);
		return yconv_plain(v);
	}
	case YAML_SEQUENCE_NODE: {
		json_t *arr = json_array();
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++) {
			json_t *v = yconv_node(c, yaml_document_get_node(c->doc, *it), depth + 1);
			if (v == NULL) {
				json_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, v);
		}
		return arr;
	}
	case YAML_MAPPING_NODE: {
		json_t *obj = json_object();
		for (yaml_node_pair_t *pr = node->data.mapping.pairs.start;
		     pr < node->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				snprintf(c->err, c->errlen,
					 "line %zu: mapping keys must be scalars",
					 (k ? k->start_mark.line : node->start_mark.line) + 1);
				json_decref(obj);
				return NULL;
			}
			json_t *v =
				yconv_node(c, yaml_document_get_node(c->doc, pr->value), depth + 1);
			if (v == NULL) {
				json_decref(obj);
				return NULL;
			}
			json_object_setn_new(obj, (const char *)k->data.scalar.value,
					     k->data.scalar.length, v);
		}
		return obj;
	}
	default:
		return json_null();
	}
}

int cloudinit_yaml_parse(const char *text, json_t **out, char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "line %zu: %s%s%s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "invalid YAML",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	struct yconv c = {&doc, CLOUDINIT_MAX_NODES, err, errlen};
	snprintf(err, errlen,
		 "line 1: cannot convert the document"); /* replaced if more is known */
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	json_t *j = root ? yconv_node(&c, root, 0) : json_null();
	if (j == NULL)
		rc = -EINVAL;
	else
		*out = j;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int cloudinit_is_cloud_config(const char *text)
{
	return strncmp(text, "#cloud-config", 13) == 0 &&
	       (text[13] == '\n' || text[13] == '\r' || text[13] == '\0' || text[13] == ' ');
}

int cloudinit_check_user_data(const char *text, char *err, size_t errlen)
{
	static const char *const taken_as_is[] = {
		"#!",           "#include", "#cloud-boothook", "#part-handler", "Content-Type:",
		"#upstart-job", NULL};
	if (text[0] == '\0')
		return 0;
	if (cloudinit_is_cloud_config(text)) {
		json_t *j = NULL;
		char perr[256] = "";
		if (cloudinit_yaml_parse(text, &j, perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "invalid YAML: %s", perr);
			return -EINVAL;
		}
		int ok = json_is_object(j) || json_is_null(j);
		json_decref(j);
		if (!ok) {
			snprintf(err, errlen,
				 "line 2: #cloud-config must be a mapping (key: value)");
			return -EINVAL;
		}
		return 0;
	}
	for (const char *const *p = taken_as_is; *p; p++)
		if (strncmp(text, *p, strlen(*p)) == 0)
			return 0;
	snprintf(err, errlen,
		 "line 1: user-data must start with #cloud-config, #! (a script) "
		 "or another cloud-init header");
	return -EINVAL;
}

void cloudinit_merge(json_t *dst, json_t *src)
{
	const char *key;
	json_t *v;
	json_object_foreach(src, key, v) {
		json_t *d = json_object_get(dst, key);
		if (json_is_object(d) && json_is_object(v)) {
			cloudinit_merge(d, v);
		} else if (json_is_array(d) && json_is_array(v)) {
			json_t *copy = json_deep_copy(v);
			json_array_extend(d, copy);
			json_decref(copy);
		} else {
			json_object_set_new(dst, key, json_deep_copy(v));
		}
	}
}

static int cloudinit_dump(json_t *j, struct buf *out)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	if (s == NULL)
		return -ENOMEM;
	int rc = buf_adds(out, s);
	if (rc == 0)
		rc = buf_addc(out, '\n');
	free(s);
	return rc;
}

int cloudinit_meta_data(const char *name, json_t *layers, struct buf *out)
{
	char iid[96];
	snprintf(iid, sizeof(iid), "i-%s", name);
	json_t *m = json_pack("{s:s, s:s}", "instance-id", iid, "local-hostname", name);
	if (m == NULL)
		return -ENOMEM;
	size_t i;
	json_t *layer;
	json_array_foreach(layers, i, layer)
		if (json_is_object(layer))
			cloudinit_merge(m, layer);
	int rc = cloudinit_dump(m, out);
	json_decref(m);
	return rc;
}

int cloudinit_user_data(json_t *layers, struct buf *out)
{
	/* The most specific non-empty layer decides the format. */
	const char *top = NULL;
	for (size_t i = json_array_size(layers); i-- > 0;) {
		const char *s = json_string_value(json_array_get(layers, i));
		if (s != NULL && s[0] != '\0') {
			top = s;
			break;
		}
	}
	if (top == NULL)
		return buf_adds(out, "#cloud-config\n{}\n");
	if (!cloudinit_is_cloud_config(top))
		return buf_adds(out, top);

	json_t *merged = json_object();
	size_t i;
	json_t *layer;
	json_array_foreach(layers, i, layer) {
		const char *s = json_string_value(layer);
		json_t *j = NULL;
		char err[128];
		if (s == NULL || !cloudinit_is_cloud_config(s) ||
		    cloudinit_yaml_parse(s, &j, err, sizeof(err)) < 0)
			continue;
		if (json_is_object(j))
			cloudinit_merge(merged, j);
		json_decref(j);
	}
	int rc = buf_adds(out, "#cloud-config\n");
	if (rc == 0)
		rc = cloudinit_dump(merged, out);
	json_decref(merged);
	return rc;
}
