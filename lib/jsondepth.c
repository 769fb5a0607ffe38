/*
 * jsondepth: one pass over the bytes, counting brackets outside strings.
 * See jsondepth.h.
 */
#include "jsondepth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The member of the top-level value the scan is in, for the error. */
struct jd_member {
	char top;          /* '{' or '[' of the top-level value, 0 outside it */
	int expect_key;    /* in the top object, before the ':' of a member */
	const char *key;   /* the last key read at level 1 (raw bytes), or NULL */
	size_t key_len;    /* its length */
	unsigned long idx; /* in the top array: the element's index */
};

static void jd_name(const struct jd_member *m, char *out, size_t outlen)
{
	out[0] = '\0';
	if (m->top == '[') {
		int n = snprintf(out, outlen, "[%lu]", m->idx);
		if (n < 0 || (size_t)n >= outlen)
			out[0] = '\0';
		return;
	}
	if (m->top != '{' || m->key == NULL || m->key_len == 0 || m->key_len >= outlen)
		return;
	/* Named as written only when that is plain text: no escapes, no
	 * control or non-ASCII bytes (the name goes into an error answer). */
	for (size_t i = 0; i < m->key_len; i++) {
		unsigned char c = (unsigned char)m->key[i];
		if (c < 0x20 || c >= 0x7f || c == '\\')
			return;
	}
	memcpy(out, m->key, m->key_len);
	out[m->key_len] = '\0';
}

int jsondepth_check(const char *text, size_t len, unsigned max, struct jsondepth_where *where)
{
	struct jd_member m = {0};
	unsigned depth = 0;
	size_t line = 1;
	size_t str_start = 0;
	int in_str = 0, esc = 0;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == '\n')
			line++;
		if (in_str) {
			if (esc) {
				esc = 0;
			} else if (c == '\\') {
				esc = 1;
			} else if (c == '"') {
				in_str = 0;
				if (depth == 1 && m.top == '{' && m.expect_key) {
					m.key = text + str_start;
					m.key_len = i - str_start;
				}
			}
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			str_start = i + 1;
			break;
		case '{':
		case '[':
			if (++depth > max) {
				if (where != NULL) {
					where->line = line;
					where->offset = i;
					if (depth == 1) /* the top-level value itself */
						where->field[0] = '\0';
					else
						jd_name(&m, where->field, sizeof(where->field));
					int n = snprintf(
						where->message, sizeof(where->message),
						"%s%snested deeper than %u levels (line %zu)",
						where->field, where->field[0] ? ": " : "", max,
						line);
					if (n < 0 || (size_t)n >= sizeof(where->message))
						where->message[0] =
							'\0'; /* cannot happen: 71 + 60 */
				}
				return -E2BIG;
			}
			if (depth == 1) {
				/* A new top-level value (more than one is not JSON,
				 * but each is counted from its own start). */
				memset(&m, 0, sizeof(m));
				m.top = c;
				m.expect_key = c == '{';
			}
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			if (depth == 0)
				m.top = 0;
			break;
		case ',':
			if (depth == 1) {
				m.expect_key = 1;
				m.key = NULL;
				m.idx++;
			}
			break;
		case ':':
			if (depth == 1)
				m.expect_key = 0;
			break;
		default:
			break;
		}
	}
	return 0;
}
