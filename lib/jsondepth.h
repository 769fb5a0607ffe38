/*
 * jsondepth: how deeply a JSON text nests, found in one pass over its bytes
 * before any parser builds a tree.  Leaf module, pure functions, no state.
 *
 * Why before parsing: a parser that builds a tree pays for every level it
 * enters (jansson recurses, up to 2048 levels), and a value stored deep
 * costs again each time it is served.  Counting '[' and '{' outside strings
 * is linear, needs no memory, and lets the caller refuse a hostile body in
 * microseconds with the line and the member it happened in.
 *
 * The scan does not check that the text is JSON; it only counts.  On text
 * that is JSON, "deeper than max" is exact: the text nests deeper than max
 * if and only if its parsed value does.
 */
#ifndef CORRAL_JSONDEPTH_H
#define CORRAL_JSONDEPTH_H

#include <stddef.h>

/* Nesting allowed in what corrald stores, for JSON and YAML alike. */
#define JSONDEPTH_MAX 64

struct jsondepth_where {
	size_t line;       /* 1-based line of the bracket that went one level too deep */
	size_t offset;     /* its byte offset */
	char field[72];    /* the top-level member it lies in: "metadata", "[3]" for a
			 * top-level array, "" if unknown (a key with escapes or
			 * longer than 63 bytes) */
	char message[128]; /* "metadata: nested deeper than 64 levels (line 3)" */
};

/*
 * Returns 0 if text (len bytes, NUL bytes allowed) nests at most max
 * levels of arrays and objects, -E2BIG if deeper; where (may be NULL) is
 * filled then.  Returns as soon as level max + 1 opens.
 */
int jsondepth_check(const char *text, size_t len, unsigned max, struct jsondepth_where *where);

#endif
