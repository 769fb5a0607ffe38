/*
 * cli_table: collects rows of cells and prints them in aligned columns.
 * See cli_table.h.
 */
#include "cli_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cli_table {
	size_t ncols;
	size_t nrows;
	size_t cap;    /* rows allocated */
	char **cells;  /* nrows * ncols cleaned copies, row-major */
	size_t *width; /* widest cell of each column, in characters */
};

struct cli_table *cli_table_new(size_t ncols)
{
	struct cli_table *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	t->width = calloc(ncols ? ncols : 1, sizeof(*t->width));
	if (t->width == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void cli_table_free(struct cli_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}

/* Characters in a UTF-8 string: bytes that do not continue a sequence. */
static size_t cli_table_chars(const char *s)
{
	size_t n = 0;
	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static char *cli_table_clean(const char *s)
{
	if (s == NULL || s[0] == '\0')
		s = "-";
	char *c = strdup(s);
	if (c == NULL)
		return NULL;
	for (char *p = c; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return c;
}

int cli_table_add(struct cli_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		char **p = reallocarray(t->cells, ncap * t->ncols, sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		t->cells = p;
		t->cap = ncap;
	}
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = cli_table_clean(cells[i]);
		if (row[i] == NULL) {
			while (i-- > 0)
				free(row[i]);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < t->ncols; i++) {
		size_t w = cli_table_chars(row[i]);
		if (w > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
	return 0;
}

size_t cli_table_rows(const struct cli_table *t)
{
	return t->nrows;
}

int cli_table_print(const struct cli_table *t, FILE *out)
{
	for (size_t r = 0; r < t->nrows; r++) {
		char *const *row = t->cells + r * t->ncols;
		for (size_t i = 0; i < t->ncols; i++) {
			fputs(row[i], out);
			if (i + 1 == t->ncols)
				break;
			for (size_t pad = cli_table_chars(row[i]); pad < t->width[i] + 2; pad++)
				fputc(' ', out);
		}
		fputc('\n', out);
	}
	return ferror(out) ? -EIO : 0;
}
