/*
 * cloudinit: NoCloud data and YAML handling.  See cloudinit.h.
 */
#include "cloudinit.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

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

/*
 * The YAML reader works on libyaml's event stream and builds JSON as the
 * events come, never a libyaml document: the depth is known at every
 * event, so a document that opens its 65th level is refused right there
 * (libyaml's own loader and scanner slow down quadratically on deep flow
 * nesting: 100k '[' took half a minute before this).  Aliases are
 * resolved against the anchors seen so far and charged their whole size
 * and height, so an alias bomb runs into the same limits as the text it
 * stands for.
 */
#define YB_MAX_ANCHORS 256 /* anchors are looked up one by one */

struct yb_anchor {
	char *name;
	json_t *value; /* the anchored value (a reference held) */
	char *key;     /* a scalar's text, for an alias used as a mapping key */
	size_t keylen;
	int nodes;  /* values it stands for, itself included */
	int height; /* collections nested in it, itself included */
};

struct yb_frame {
	json_t *coll;  /* array or object being filled */
	char *key;     /* mappings: the key read, waiting for its value */
	size_t keylen; /* its length (keys may hold NUL) */
	int have_key;
	char *anchor; /* to register when the collection ends, or NULL */
	int nodes;    /* values in it so far, itself included */
	int height;   /* deepest collection inside, itself included */
};

struct yb {
	yaml_parser_t parser;
	struct yb_frame stack[CLOUDINIT_MAX_DEPTH];
	int depth;  /* open collections */
	int budget; /* values still allowed */
	json_t *root;
	struct yb_anchor anchors[YB_MAX_ANCHORS];
	int nanchors;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int yb_fail(struct yb *b, const yaml_mark_t *at,
							 const char *fmt, ...)
{
	int k = snprintf(b->err, b->errlen, "line %zu: ", at->line + 1);
	if (k >= 0 && (size_t)k < b->errlen) {
		va_list ap;
		va_start(ap, fmt);
		/* A cut message still names the line. */
		(void)vsnprintf(b->err + k, b->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static struct yb_anchor *yb_anchor_find(struct yb *b, const char *name)
{
	for (int i = 0; i < b->nanchors; i++)
		if (strcmp(b->anchors[i].name, name) == 0)
			return &b->anchors[i];
	return NULL;
}

/* Records anchor name (taken; may be NULL) for v.  key: a scalar's text. */
static int yb_anchor_add(struct yb *b, const yaml_mark_t *at, char *name, json_t *v,
			 const char *key, size_t keylen, int nodes, int height)
{
	if (name == NULL)
		return 0;
	int rc = 0;
	if (yb_anchor_find(b, name) != NULL)
		rc = yb_fail(b, at, "found duplicate anchor &%s", name);
	else if (b->nanchors == YB_MAX_ANCHORS)
		rc = yb_fail(b, at, "more than %d anchors", YB_MAX_ANCHORS);
	if (rc < 0) {
		free(name);
		return rc;
	}
	struct yb_anchor *a = &b->anchors[b->nanchors];
	*a = (struct yb_anchor){name, json_incref(v), NULL, 0, nodes, height};
	if (key != NULL) {
		a->key = malloc(keylen + 1);
		if (a->key == NULL) {
			json_decref(v);
			free(name);
			return yb_fail(b, at, "out of memory");
		}
		memcpy(a->key, key, keylen);
		a->key[keylen] = '\0';
		a->keylen = keylen;
	}
	b->nanchors++;
	return 0;
}

/* Places the finished value v (taken) in the open collection, or as the root. */
static int yb_put(struct yb *b, const yaml_mark_t *at, json_t *v, int nodes, int height)
{
	if (v == NULL)
		return yb_fail(b, at, "cannot convert this value");
	if (b->depth == 0) {
		b->root = v;
		return 0;
	}
	struct yb_frame *f = &b->stack[b->depth - 1];
	f->nodes += nodes;
	if (height + 1 > f->height)
		f->height = height + 1;
	if (json_is_array(f->coll))
		return json_array_append_new(f->coll, v) == 0 ? 0 : yb_fail(b, at, "out of memory");
	/* A mapping: the key was read before (yb_key). */
	int rc = json_object_setn_new(f->coll, f->key, f->keylen, v); /* last one wins */
	free(f->key);
	f->key = NULL;
	f->have_key = 0;
	return rc == 0 ? 0 : yb_fail(b, at, "a key that is not UTF-8 text");
}

/* 1 if the open collection is a mapping waiting for a key. */
static int yb_wants_key(const struct yb *b)
{
	return b->depth > 0 && json_is_object(b->stack[b->depth - 1].coll) &&
	       !b->stack[b->depth - 1].have_key;
}

static int yb_key(struct yb *b, const yaml_mark_t *at, const char *s, size_t len)
{
	struct yb_frame *f = &b->stack[b->depth - 1];
	f->key = malloc(len + 1);
	if (f->key == NULL)
		return yb_fail(b, at, "out of memory");
	memcpy(f->key, s, len);
	f->key[len] = '\0';
	f->keylen = len;
	f->have_key = 1;
	return 0;
}

static char *yb_take_anchor(yaml_char_t **anchor)
{
	char *a = (char *)*anchor;
	*anchor = NULL; /* now ours: yaml_event_delete leaves it */
	return a;
}

static int yb_scalar(struct yb *b, yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	char *anchor = yb_take_anchor(&ev->data.scalar.anchor);
	/* Quoted and block scalars are strings; tags are not looked at, so only
	 * the style tells plain ones apart (as the loader did before). */
	json_t *j = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ? json_stringn(v, len) :
								       yconv_plain(v);
	if (j == NULL) {
		free(anchor);
		return yb_fail(b, &ev->start_mark, "cannot convert this value");
	}
	if (yb_anchor_add(b, &ev->start_mark, anchor, j, v, len, 1, 0) < 0) {
		json_decref(j);
		return -EINVAL;
	}
	/* Keys are strings as written, whatever they look like; values only
	 * count against the budget, as before. */
	if (yb_wants_key(b)) {
		json_decref(j);
		return yb_key(b, &ev->start_mark, v, len);
	}
	if (--b->budget < 0) {
		json_decref(j);
		return yb_fail(b, &ev->start_mark, "document too large (more than %d values)",
			       CLOUDINIT_MAX_NODES);
	}
	return yb_put(b, &ev->start_mark, j, 1, 0);
}

static int yb_alias(struct yb *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const struct yb_anchor *a = yb_anchor_find(b, name);
	/* An anchor on a collection still open is not known yet: a
	 * self-reference is undefined here, not a cycle. */
	if (a == NULL)
		return yb_fail(b, &ev->start_mark, "found undefined alias *%s", name);
	if (yb_wants_key(b)) {
		if (a->key == NULL)
			return yb_fail(b, &ev->start_mark, "mapping keys must be scalars");
		return yb_key(b, &ev->start_mark, a->key, a->keylen);
	}
	b->budget -= a->nodes;
	if (b->budget < 0)
		return yb_fail(
			b, &ev->start_mark,
			"document too large (more than %d values, aliases counted each time)",
			CLOUDINIT_MAX_NODES);
	if (b->depth + a->height > CLOUDINIT_MAX_DEPTH)
		return yb_fail(b, &ev->start_mark, "nested deeper than %d levels",
			       CLOUDINIT_MAX_DEPTH);
	/* The value is shared, not copied: nothing changes a parsed document
	 * in place (cloudinit_merge copies what it takes). */
	return yb_put(b, &ev->start_mark, json_incref(a->value), a->nodes, a->height);
}

static int yb_open(struct yb *b, yaml_event_t *ev, json_t *coll, yaml_char_t **anchor)
{
	char *name = yb_take_anchor(anchor);
	int rc = 0;
	if (coll == NULL)
		rc = yb_fail(b, &ev->start_mark, "out of memory");
	else if (yb_wants_key(b))
		rc = yb_fail(b, &ev->start_mark, "mapping keys must be scalars");
	else if (b->depth == CLOUDINIT_MAX_DEPTH)
		rc = yb_fail(b, &ev->start_mark, "nested deeper than %d levels",
			     CLOUDINIT_MAX_DEPTH);
	else if (--b->budget < 0)
		rc = yb_fail(b, &ev->start_mark, "document too large (more than %d values)",
			     CLOUDINIT_MAX_NODES);
	if (rc < 0) {
		json_decref(coll);
		free(name);
		return rc;
	}
	b->stack[b->depth++] =
		(struct yb_frame){.coll = coll, .anchor = name, .nodes = 1, .height = 1};
	return 0;
}

static int yb_close(struct yb *b, const yaml_event_t *ev)
{
	struct yb_frame f = b->stack[--b->depth];
	free(f.key); /* NULL unless the events were out of order */
	if (yb_anchor_add(b, &ev->start_mark, f.anchor, f.coll, NULL, 0, f.nodes, f.height) < 0) {
		json_decref(f.coll);
		return -EINVAL;
	}
	return yb_put(b, &ev->start_mark, f.coll, f.nodes, f.height);
}

/* One event; 1 when the first document is complete. */
static int yb_event(struct yb *b, yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return yb_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return yb_alias(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return yb_open(b, ev, json_array(), &ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return yb_open(b, ev, json_object(), &ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return b->depth > 0 ? yb_close(b, ev) :
				      yb_fail(b, &ev->start_mark, "broken document");
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		return 1; /* only the first document is read, as the loader did */
	default:
		return 0;
	}
}

static void yb_clear(struct yb *b)
{
	while (b->depth > 0) {
		struct yb_frame *f = &b->stack[--b->depth];
		json_decref(f->coll);
		free(f->key);
		free(f->anchor);
	}
	for (int i = 0; i < b->nanchors; i++) {
		free(b->anchors[i].name);
		free(b->anchors[i].key);
		json_decref(b->anchors[i].value);
	}
	json_decref(b->root);
	yaml_parser_delete(&b->parser);
}

int cloudinit_yaml_parse(const char *text, json_t **out, char *err, size_t errlen)
{
	struct yb *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	if (!yaml_parser_initialize(&b->parser)) {
		free(b);
		return -ENOMEM;
	}
	b->budget = CLOUDINIT_MAX_NODES;
	b->err = err;
	b->errlen = errlen;
	yaml_parser_set_input_string(&b->parser, (const unsigned char *)text, strlen(text));
	int rc = 0;
	while (rc == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&b->parser, &ev)) {
			yaml_parser_t *p = &b->parser;
			snprintf(err, errlen, "line %zu: %s%s%s", p->problem_mark.line + 1,
				 p->problem ? p->problem : "invalid YAML", p->context ? " " : "",
				 p->context ? p->context : "");
			rc = -EINVAL;
			break;
		}
		rc = yb_event(b, &ev);
		yaml_event_delete(&ev);
	}
	if (rc > 0) {
		/* An empty stream or document is null, as before. */
		*out = b->root != NULL ? b->root : json_null();
		b->root = NULL;
		rc = 0;
	}
	yb_clear(b);
	free(b);
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
