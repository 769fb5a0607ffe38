/*
 * cli_out: tables, key/value views and indented JSON of server replies.
 * See cli_out.h.
 */
#include "cli_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_table.h"

/* Cap of one formatted value (a long user-data, a big metadata object). */
#define CLI_OUT_VALUE_MAX (4u * 1024 * 1024)

/* The shortest "%g" form that reads back as x: 1234567.5, not 1.23457e+06; 0.1, not 0.10000000000000001. */
static int cli_out_real(struct buf *b, double x)
{
	char tmp[40];
	for (int prec = 1; prec <= 17; prec++) {
		if (buf_fmt(tmp, sizeof(tmp), "%.*g", prec, x) < 0)
			return -EINVAL; /* 17 digits, sign and exponent fit in 40 */
		if (strtod(tmp, NULL) == x)
			break;
	}
	return buf_adds(b, tmp);
}

static int cli_out_scalar(struct buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return buf_add(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return cli_out_real(b, json_real_value(v));
	case JSON_TRUE:
		return buf_adds(b, "true");
	case JSON_FALSE:
		return buf_adds(b, "false");
	case JSON_NULL:
		return 0;
	case JSON_OBJECT:
	case JSON_ARRAY:
		break;
	}
	char *s = json_dumps(v, JSON_COMPACT);
	if (s == NULL)
		return -ENOMEM;
	int rc = buf_adds(b, s);
	free(s);
	return rc;
}

int cli_out_value(struct buf *b, const json_t *v, const char *sub)
{
	if (v == NULL)
		return 0;
	if (sub != NULL && json_is_object(v))
		return cli_out_value(b, json_object_get(v, sub), NULL);
	if (!json_is_array(v))
		return sub != NULL ? 0 : cli_out_scalar(b, v);
	size_t i;
	const json_t *e;
	int rc = 0, first = 1;
	json_array_foreach(v, i, e) {
		const json_t *x = sub != NULL ? json_object_get(e, sub) : e;
		if (x == NULL || json_is_null(x))
			continue;
		if (!first)
			rc = buf_addc(b, ',');
		if (rc == 0)
			rc = cli_out_scalar(b, x);
		if (rc < 0)
			return rc;
		first = 0;
	}
	return 0;
}

int cli_out_json(const json_t *j)
{
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) < 0)
		return -EIO;
	fputc('\n', stdout);
	return ferror(stdout) ? -EIO : 0;
}

const json_t *cli_out_array(const json_t *list, const char *member)
{
	if (json_is_array(list))
		return list;
	if (member != NULL && json_is_array(json_object_get(list, member)))
		return json_object_get(list, member);
	return NULL;
}

/* One cell of a list table into b (reset first). */
static int cli_out_cell(struct buf *b, const struct cli_col *col, const json_t *row)
{
	const json_t *v = json_object_get(row, col->field);
	buf_reset(b);
	switch (col->kind) {
	case CLI_COL_COUNT:
		return json_is_array(v) ? buf_printf(b, "%zu", json_array_size(v)) : 0;
	case CLI_COL_YESNO:
		return json_is_boolean(v) ? buf_adds(b, json_is_true(v) ? "yes" : "no") : 0;
	case CLI_COL_VALUE:
		break;
	}
	return cli_out_value(b, v, col->sub);
}

int cli_out_list(const struct cli_col *cols, size_t ncols, const json_t *list, const char *member)
{
	const json_t *arr = cli_out_array(list, member);
	if (arr == NULL)
		return -EINVAL;
	int rc = -ENOMEM;
	struct cli_table *t = cli_table_new(ncols);
	const char **cells = calloc(ncols, sizeof(*cells));
	struct buf *bufs = calloc(ncols, sizeof(*bufs));
	if (t == NULL || cells == NULL || bufs == NULL)
		goto err_alloc;
	for (size_t i = 0; i < ncols; i++) {
		buf_init(&bufs[i], CLI_OUT_VALUE_MAX);
		cells[i] = cols[i].header;
	}
	rc = cli_table_add(t, cells);
	size_t r;
	const json_t *row;
	json_array_foreach(arr, r, row) {
		for (size_t i = 0; i < ncols && rc == 0; i++) {
			rc = cli_out_cell(&bufs[i], &cols[i], row);
			cells[i] = buf_str(&bufs[i]);
		}
		if (rc == 0)
			rc = cli_table_add(t, cells);
		if (rc < 0)
			goto err_rows;
	}
	rc = cli_table_print(t, stdout);

err_rows:
	for (size_t i = 0; i < ncols; i++)
		buf_clear(&bufs[i]);
err_alloc:
	free(bufs);
	free(cells);
	cli_table_free(t);
	return rc;
}

/* Writes s with control characters but '\t' replaced. */
static void cli_out_clean(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		fputc((ch < 0x20 && ch != '\t') || ch == 0x7f ? '?' : ch, stdout);
	}
}

/* "k=v k=v" for an object of scalars (an interface), else compact JSON. */
static int cli_out_pairs(struct buf *b, const json_t *obj)
{
	const char *k;
	const json_t *v;
	int rc = 0, first = 1;
	json_object_foreach((json_t *)obj, k, v) {
		if (json_is_null(v))
			continue;
		rc = buf_printf(b, "%s%s=", first ? "" : " ", k);
		if (rc == 0)
			rc = cli_out_scalar(b, v);
		if (rc < 0)
			return rc;
		first = 0;
	}
	return 0;
}

/* The lines of one value: text with newlines, one per array-of-objects
   element, else one line. */
static int cli_out_lines(struct buf *b, const json_t *v)
{
	if (json_is_array(v) && json_array_size(v) > 0 && json_is_object(json_array_get(v, 0))) {
		size_t i;
		const json_t *e;
		json_array_foreach(v, i, e) {
			int rc = i > 0 ? buf_addc(b, '\n') : 0;
			if (rc == 0)
				rc = json_is_object(e) ? cli_out_pairs(b, e) : cli_out_scalar(b, e);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	int rc = cli_out_value(b, v, NULL);
	/* A trailing newline (user-data files have one) adds no line. */
	if (rc == 0 && b->len > 0 && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
	return rc;
}

int cli_out_show(const json_t *obj)
{
	if (!json_is_object(obj))
		return -EINVAL;
	const char *k;
	const json_t *v;
	size_t width = 0;
	json_object_foreach((json_t *)obj, k, v) {
		if (strlen(k) > width)
			width = strlen(k);
	}
	struct buf b;
	buf_init(&b, CLI_OUT_VALUE_MAX);
	int rc = 0;
	json_object_foreach((json_t *)obj, k, v) {
		buf_reset(&b);
		rc = cli_out_lines(&b, v);
		if (rc < 0)
			break;
		cli_out_clean(k, strlen(k));
		const char *p = b.len > 0 ? buf_str(&b) : "-";
		for (int first = 1;; first = 0) {
			size_t pad = first ? width - strlen(k) + 2 : width + 2;
			for (size_t i = 0; i < pad; i++)
				fputc(' ', stdout);
			size_t n = strcspn(p, "\n");
			cli_out_clean(p, n);
			fputc('\n', stdout);
			if (p[n] == '\0')
				break;
			p += n + 1;
		}
	}
	buf_clear(&b);
	if (rc == 0 && ferror(stdout))
		rc = -EIO;
	return rc;
}
