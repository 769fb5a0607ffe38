/*
 * fuzz_jsondepth: the nesting count every request body goes through
 * before jansson (lib/jsondepth.c).  Checked against jansson itself: on
 * any text jansson accepts, the count refuses exactly the values that
 * nest deeper than the limit; a refusal always points at an opening
 * bracket inside the text, with a line and a printable field name.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsondepth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nested arrays and objects in v: 0 for a scalar. */
static unsigned value_depth(json_t *v)
{
	unsigned d = 0;
	size_t i;
	const char *k;
	json_t *x;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			unsigned c = value_depth(x);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			unsigned c = value_depth(x);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

static void check_where(const char *text, size_t size, const struct jsondepth_where *w)
{
	if (w->offset >= size || (text[w->offset] != '[' && text[w->offset] != '{'))
		abort();
	size_t line = 1;
	for (size_t i = 0; i < w->offset; i++)
		line += text[i] == '\n';
	if (w->line != line)
		abort();
	for (const char *p = w->field; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	if (w->message[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	/* A small limit reaches the interesting cases with small inputs; the
	 * real one keeps what the API runs covered. */
	static const unsigned limits[] = {1, 3, 8, JSONDEPTH_MAX};
	json_t *j = json_loadb(text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	unsigned depth = j != NULL ? value_depth(j) : 0;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct jsondepth_where w;
		memset(&w, 0x5a, sizeof(w));
		int rc = jsondepth_check(text, size, limits[i], &w);
		if (rc != 0 && rc != -E2BIG)
			abort();
		if (rc < 0)
			check_where(text, size, &w);
		if (j != NULL && (rc < 0) != (depth > limits[i]))
			abort(); /* exact on JSON */
	}
	json_decref(j);
	return 0;
}
