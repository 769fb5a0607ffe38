/*
 * Unit tests for corrald's route table (routes.c: routes_table, routes_count),
 * walked as data; dispatch is asked through http_route_methods(), the
 * matcher the server itself uses.
 *
 * Covered: the shape of every entry (pattern syntax, methods, handler,
 * metrics label); no two routes with one pattern; every route reachable for
 * each of its methods (no earlier route shadows it); scopes: every /api/v1
 * route needs a token (read for GET, admin for the rest; the list of
 * exceptions is empty, as docs/api.md says "every route behind a bearer
 * token"), and so does every OpenCHAMI inventory route (BSS, SMD and
 * cloud-init admin paths: docs/openchami.md), token and credential
 * listings need admin, node-facing paths
 * (/boot/v1/, /cloud-init/, /phone-home, /files/, /firmware/, /healthz, /metrics) and
 * the web page need none, and an open write route has a small cap of its
 * own; every route belongs to one of those classes, so a new one must be
 * placed; labels unique unless deliberately shared (same handler, listed
 * here); and docs/api.md against the table both ways: every method and
 * path it documents is routed, with the scope it documents, and every
 * route and method is documented (the web page's routes excepted: README.md
 * describes it).  docs/api.md is parsed at test time (tables with method and
 * path columns, NoCloud's path table, "### `METHOD /path`" headings); it is
 * found from the working directory (the repository top under make) or from
 * this file's path.
 *
 * Not covered here: what the handlers do (integration tests) and the
 * server's dispatch over the wire (test_http.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "app.h"
#include "routes.h"
#include "tfmt.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define ALL_METHODS (HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE)
#define READS (HTTP_GET | HTTP_HEAD)

static const struct {
	const char *name;
	unsigned id;
} method_names[] = {
	{"GET", HTTP_GET}, {"HEAD", HTTP_HEAD},   {"POST", HTTP_POST},
	{"PUT", HTTP_PUT}, {"PATCH", HTTP_PATCH}, {"DELETE", HTTP_DELETE},
};

static const char *method_name(unsigned m)
{
	for (size_t i = 0; i < NELEM(method_names); i++)
		if (method_names[i].id == m)
			return method_names[i].name;
	return "?";
}

/* The scope a route asks of method m. */
static enum auth_scope route_need(const struct http_route *rt, unsigned m)
{
	return m & READS ? rt->read_scope : rt->write_scope;
}

/*
 * The route the server picks for method m on path: the first one in table
 * order whose pattern matches and which allows m (HEAD where GET is), as
 * http.c's http_begin does.  -1 if none.
 */
static int dispatch(const char *path, unsigned m)
{
	for (size_t i = 0; i < routes_count; i++)
		if (http_route_methods(&routes_table[i], 1, path) & m)
			return (int)i;
	return -1;
}

/* A path the pattern matches: ':' becomes "x1", '*' becomes "a/b". */
static void sample_path(const char *pattern, char *out, size_t outlen)
{
	size_t len = 0;
	out[0] = '\0';
	for (const char *p = pattern; *p != '\0'; p++) {
		const char *piece = *p == ':' ? "x1" : *p == '*' ? "a/b" : NULL;
		char c[2] = {*p, '\0'};
		int n = snprintf(out + len, outlen - len, "%s", piece != NULL ? piece : c);
		assert_true(n > 0 && (size_t)n < outlen - len);
		len += (size_t)n;
	}
}

/* ---- classes of routes ------------------------------------------------------- */

/* Paths nodes use (they cannot hold a token), and health (OpenCHAMI's
 * service status paths among it). */
static const char *const node_prefixes[] = {
	"/boot/v1/",  "/cloud-init/", "/phone-home", "/files/",
	"/firmware/", "/healthz",     "/metrics",    "/hsm/v2/service/",
};

/*
 * OpenCHAMI's inventory paths (docs/openchami.md): Corral's inventory under
 * BSS's, SMD's and the cloud-init server's names, behind the API's tokens
 * and scopes, exactly as /api/v1.  Checked before node_prefixes: some lie
 * under /boot/v1/ and /cloud-init/.
 */
static const char *const ochami_prefixes[] = {
	"/boot/v1/bootparameters",   "/boot/v1/hosts", "/boot/v1/dumpstate",
	"/boot/v1/endpoint-history", "/hsm/v2/",       "/cloud-init/admin/",
};

/*
 * /api/v1 routes that may be reached without a token, or changed with a
 * read token.  docs/api.md: "the operator API under /api/v1, ... every route
 * behind a bearer token": none.  Adding one here needs docs/api.md to say so.
 */
static const char *const api_open_exceptions[] = {
	NULL, /* end of list */
};

/* Listings that give away who may do what: admin even to read. */
static const char *const admin_read_paths[] = {
	"/api/v1/tokens",
	"/api/v1/credentials",
};

/* The most bytes an open (no-token) write route may take. */
#define OPEN_WRITE_MAX (64u << 10)

enum route_class { CLASS_NONE, CLASS_API, CLASS_OCHAMI, CLASS_NODE, CLASS_UI };

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static enum route_class route_class(const char *pattern)
{
	if (strcmp(pattern, "/api/v1") == 0 || has_prefix(pattern, "/api/v1/"))
		return CLASS_API;
	for (size_t i = 0; i < NELEM(ochami_prefixes); i++)
		if (has_prefix(pattern, ochami_prefixes[i]) &&
		    !has_prefix(pattern, "/hsm/v2/service/"))
			return CLASS_OCHAMI;
	for (size_t i = 0; i < NELEM(node_prefixes); i++)
		if (has_prefix(pattern, node_prefixes[i]))
			return CLASS_NODE;
	/* the web page: static files; its data comes from the API with a token */
	if (strcmp(pattern, "/") == 0 || strcmp(pattern, "/ui") == 0 || has_prefix(pattern, "/ui/"))
		return CLASS_UI;
	return CLASS_NONE;
}

static int api_exception(const char *pattern)
{
	for (size_t i = 0; api_open_exceptions[i] != NULL; i++)
		if (strcmp(api_open_exceptions[i], pattern) == 0)
			return 1;
	return 0;
}

/* ---- the table's shape ----------------------------------------------------- */

static void check_pattern(const char *pattern)
{
	assert_non_null(pattern);
	if (pattern[0] != '/')
		fail_msg("%s: does not start with '/'", pattern);
	if (strstr(pattern, "//") != NULL)
		fail_msg("%s: empty segment", pattern);
	int captures = 0;
	for (const char *p = pattern; *p != '\0'; p++) {
		if (*p != ':' && *p != '*')
			continue;
		captures++;
		/* a capture is a whole segment; '*' only the last one */
		if (p[-1] != '/' || (p[1] != '\0' && p[1] != '/'))
			fail_msg("%s: '%c' is not a whole segment", pattern, *p);
		if (*p == '*' && p[1] != '\0')
			fail_msg("%s: '*' before the end", pattern);
	}
	if (captures > HTTP_MAX_ARGS)
		fail_msg("%s: %d captures, at most %d can match", pattern, captures, HTTP_MAX_ARGS);
	for (const char *p = pattern; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '%' || *p == '?' || *p == '#')
			fail_msg("%s: byte 0x%02x never matches a decoded path", pattern,
				 (unsigned char)*p);
}

static void check_label(const char *label)
{
	assert_non_null(label);
	if (label[0] == '\0')
		fail_msg("empty label");
	/* metrics.c counts unrouted requests under "none" */
	if (strcmp(label, "none") == 0)
		fail_msg("label \"none\" is metrics.c's own");
	/* printed inside a Prometheus label value: keep it plain */
	if (strspn(label, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(label))
		fail_msg("label \"%s\": only [a-z0-9_-]", label);
}

static void test_table_shape(void **state)
{
	assert_true(routes_count > 0);
	for (size_t i = 0; i < routes_count; i++) {
		const struct http_route *rt = &routes_table[i];
		check_pattern(rt->pattern);
		check_label(rt->label);
		if (rt->handler == NULL)
			fail_msg("%s: no handler", rt->pattern);
		if (rt->methods == 0 || (rt->methods & ~ALL_METHODS) != 0)
			fail_msg("%s: methods 0x%x", rt->pattern, rt->methods);
		if (rt->read_scope > AUTH_SCOPE_ADMIN || rt->write_scope > AUTH_SCOPE_ADMIN)
			fail_msg("%s: scope out of range", rt->pattern);
	}
}

static void test_unique_patterns(void **state)
{
	for (size_t i = 0; i < routes_count; i++)
		for (size_t j = i + 1; j < routes_count; j++)
			if (strcmp(routes_table[i].pattern, routes_table[j].pattern) == 0)
				fail_msg("%s: routes %zu and %zu", routes_table[i].pattern, i, j);
}

/* Each route is the one dispatch picks for its own methods on a path it matches. */
static void test_every_route_reachable(void **state)
{
	for (size_t i = 0; i < routes_count; i++) {
		const struct http_route *rt = &routes_table[i];
		char path[256];
		sample_path(rt->pattern, path, sizeof(path));
		for (size_t k = 0; k < NELEM(method_names); k++) {
			unsigned m = method_names[k].id;
			if (!(rt->methods & m))
				continue;
			int got = dispatch(path, m);
			if (got != (int)i)
				fail_msg("%s %s goes to route %d (%s), not %zu (%s)",
					 method_name(m), path, got,
					 got >= 0 ? routes_table[got].pattern : "none", i,
					 rt->pattern);
		}
	}
}

/* ---- scopes ---------------------------------------------------------------- */

static void test_every_route_classified(void **state)
{
	for (size_t i = 0; i < routes_count; i++)
		if (route_class(routes_table[i].pattern) == CLASS_NONE)
			fail_msg("%s: neither API, node-facing nor the web page: place it in "
				 "test_routes.c and docs/api.md",
				 routes_table[i].pattern);
}

static void test_api_needs_token(void **state)
{
	int napi = 0;
	for (size_t i = 0; i < routes_count; i++) {
		const struct http_route *rt = &routes_table[i];
		enum route_class c = route_class(rt->pattern);
		if (c != CLASS_API && c != CLASS_OCHAMI)
			continue;
		napi++;
		if (api_exception(rt->pattern))
			continue;
		/* whatever the methods are now: one added later is covered too */
		if (rt->read_scope < AUTH_SCOPE_READ)
			fail_msg("%s: GET needs no token", rt->pattern);
		if (rt->write_scope < AUTH_SCOPE_ADMIN)
			fail_msg("%s: writes need no admin token", rt->pattern);
	}
	assert_true(napi > 0);
}

static void test_admin_only_reads(void **state)
{
	for (size_t i = 0; i < NELEM(admin_read_paths); i++) {
		const char *p = admin_read_paths[i];
		int r = dispatch(p, HTTP_GET);
		if (r < 0)
			fail_msg("GET %s: no route", p);
		if (routes_table[r].read_scope != AUTH_SCOPE_ADMIN)
			fail_msg("GET %s: readable without an admin token", p);
		/* and the single object under it */
		char one[128];
		TFMT(one, "%s/x1", p);
		for (size_t k = 0; k < NELEM(method_names); k++) {
			unsigned m = method_names[k].id;
			int o = dispatch(one, m);
			if (o >= 0 && route_need(&routes_table[o], m) != AUTH_SCOPE_ADMIN)
				fail_msg("%s %s: needs less than admin", method_name(m), one);
		}
	}
}

static void test_node_facing_open(void **state)
{
	int nnode = 0;
	for (size_t i = 0; i < routes_count; i++) {
		const struct http_route *rt = &routes_table[i];
		enum route_class c = route_class(rt->pattern);
		if (c != CLASS_NODE && c != CLASS_UI)
			continue;
		nnode += c == CLASS_NODE;
		if (rt->read_scope != AUTH_SCOPE_NONE || rt->write_scope != AUTH_SCOPE_NONE)
			fail_msg("%s: asks for a token a node cannot hold", rt->pattern);
		/* nothing but a small form may be posted without a token */
		if ((rt->methods & ~READS) != 0 &&
		    (rt->max_body == 0 || rt->max_body > OPEN_WRITE_MAX))
			fail_msg("%s: open write route without a cap of its own (<= %u bytes)",
				 rt->pattern, OPEN_WRITE_MAX);
	}
	/* every node-facing prefix is served */
	for (size_t k = 0; k < NELEM(node_prefixes); k++) {
		int found = 0;
		for (size_t i = 0; i < routes_count && !found; i++)
			found = has_prefix(routes_table[i].pattern, node_prefixes[k]);
		if (!found)
			fail_msg("no route under %s", node_prefixes[k]);
	}
	assert_true(nnode >= (int)NELEM(node_prefixes));
}

/* ---- metrics labels ---------------------------------------------------------- */

/*
 * Labels several routes share on purpose, so that they make one series in
 * corral_http_requests_total: one endpoint reached by two paths, or the
 * web page's redirects and files.
 */
static const char *const shared_labels[] = {
	"cloud-init", /* with and without the token segment */
	"phone-home", /* with and without the token segment */
	"ui",         /* the page's redirects and files */
	"api_job",    /* /api/v1/discovery/{id} is /api/v1/jobs/{id} */
};

static int label_shared_ok(const char *label)
{
	for (size_t i = 0; i < NELEM(shared_labels); i++)
		if (strcmp(shared_labels[i], label) == 0)
			return 1;
	return 0;
}

static void test_labels(void **state)
{
	for (size_t i = 0; i < routes_count; i++) {
		for (size_t j = i + 1; j < routes_count; j++) {
			const struct http_route *a = &routes_table[i], *b = &routes_table[j];
			if (strcmp(a->label, b->label) != 0)
				continue;
			if (!label_shared_ok(a->label))
				fail_msg("label \"%s\" on %s and %s: make it unique, or list it "
					 "in shared_labels",
					 a->label, a->pattern, b->pattern);
		}
	}
	/* the list stays true: each entry is used by two routes or more */
	for (size_t k = 0; k < NELEM(shared_labels); k++) {
		int n = 0;
		for (size_t i = 0; i < routes_count; i++)
			n += strcmp(routes_table[i].label, shared_labels[k]) == 0;
		if (n < 2)
			fail_msg("shared label \"%s\" is on %d route(s)", shared_labels[k], n);
	}
}

/* ---- docs/api.md --------------------------------------------------------------- */

#define MAX_DOC 256

/* One documented method set on one path. */
struct doc_entry {
	unsigned methods;
	char path[160];       /* as written: "/api/v1/nodes/{name}" */
	int scoped;           /* a scope column said what it needs */
	enum auth_scope read; /* for GET/HEAD */
	enum auth_scope write;
	int line;
};

struct doc {
	struct doc_entry e[MAX_DOC];
	size_t n;
};

/* "GET/PUT/PATCH" or "GET|HEAD": a method mask, 0 if a word is no method. */
static unsigned parse_methods(const char *s, size_t len)
{
	unsigned mask = 0;
	size_t i = 0;
	while (i < len) {
		size_t w = i;
		while (w < len && s[w] != '/' && s[w] != '|')
			w++;
		unsigned m = 0;
		for (size_t k = 0; k < NELEM(method_names); k++)
			if (strlen(method_names[k].name) == w - i &&
			    strncmp(method_names[k].name, s + i, w - i) == 0)
				m = method_names[k].id;
		if (m == 0)
			return 0;
		mask |= m;
		i = w + 1;
	}
	return mask;
}

/* Trims blanks both sides of s[0..*len). */
static const char *trim(const char *s, size_t *len)
{
	while (*len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t' || s[*len - 1] == '\r'))
		(*len)--;
	return s;
}

static void doc_add(struct doc *d, unsigned methods, const char *path, size_t plen, int scoped,
		    enum auth_scope rd, enum auth_scope wr, int line)
{
	if (d->n >= MAX_DOC)
		fail_msg("docs/api.md: more than %d routes: raise MAX_DOC", MAX_DOC);
	struct doc_entry *e = &d->e[d->n++];
	if (plen >= sizeof(e->path))
		fail_msg("docs/api.md:%d: path too long", line);
	e->methods = methods;
	memcpy(e->path, path, plen);
	e->path[plen] = '\0';
	e->scoped = scoped;
	e->read = rd;
	e->write = wr;
	e->line = line;
}

/*
 * Every `code span` in s[0..len) that reads "METHOD[|METHOD...] /path";
 * with methods != 0, every span that reads "/path" gets those methods.
 */
static void doc_spans(struct doc *d, const char *s, size_t len, unsigned methods, int scoped,
		      enum auth_scope rd, enum auth_scope wr, int line)
{
	const char *end = s + len;
	const char *p = s;
	for (;;) {
		const char *open = memchr(p, '`', (size_t)(end - p));
		if (open == NULL)
			return;
		const char *close = memchr(open + 1, '`', (size_t)(end - open - 1));
		if (close == NULL)
			return;
		const char *span = open + 1;
		size_t slen = (size_t)(close - span);
		p = close + 1;
		if (methods != 0) {
			if (slen > 0 && span[0] == '/')
				doc_add(d, methods, span, slen, scoped, rd, wr, line);
			continue;
		}
		const char *sp = memchr(span, ' ', slen);
		if (sp == NULL || sp + 1 >= close || sp[1] != '/')
			continue;
		unsigned m = parse_methods(span, (size_t)(sp - span));
		if (m != 0)
			doc_add(d, m, sp + 1, (size_t)(close - sp - 1), 0, AUTH_SCOPE_NONE,
				AUTH_SCOPE_NONE, line);
	}
}

#define MAX_CELLS 12

/* Splits a table row at '|' not escaped as "\|"; returns the cell count. */
static size_t split_row(const char *line, const char **cells, size_t *lens)
{
	size_t n = 0;
	const char *p = line + 1; /* past the leading '|' */
	const char *start = p;
	for (; *p != '\0' && *p != '\n' && n < MAX_CELLS; p++) {
		if (*p == '\\' && p[1] == '|') {
			p++;
			continue;
		}
		if (*p != '|')
			continue;
		size_t l = (size_t)(p - start);
		cells[n] = trim(start, &l);
		lens[n++] = l;
		start = p + 1;
	}
	return n;
}

static int cell_is(const char *cell, size_t len, const char *word)
{
	return len == strlen(word) && strncmp(cell, word, len) == 0;
}

/* "read", "admin", "read/admin" into the scopes of reads and of writes. */
static int parse_scope(const char *cell, size_t len, enum auth_scope *rd, enum auth_scope *wr)
{
	if (cell_is(cell, len, "read")) {
		*rd = *wr = AUTH_SCOPE_READ;
		return 0;
	}
	if (cell_is(cell, len, "admin")) {
		*rd = *wr = AUTH_SCOPE_ADMIN;
		return 0;
	}
	if (cell_is(cell, len, "read/admin")) {
		*rd = AUTH_SCOPE_READ;
		*wr = AUTH_SCOPE_ADMIN;
		return 0;
	}
	return -EINVAL;
}

static char *read_api_md(void)
{
	char rel[512];
	const char *env = getenv("CORRAL_API_MD");
	const char *here = __FILE__;
	const char *slash = strrchr(here, '/');
	TFMT(rel, "%.*s/../../../docs/api.md", slash != NULL ? (int)(slash - here) : 1,
	     slash != NULL ? here : ".");
	const char *candidates[] = {env, "docs/api.md", rel};
	for (size_t i = 0; i < NELEM(candidates); i++) {
		if (candidates[i] == NULL)
			continue;
		FILE *fp = fopen(candidates[i], "r");
		if (fp == NULL)
			continue;
		struct buf b;
		char chunk[4096];
		size_t n;
		int rc = 0;
		buf_init(&b, 1u << 20);
		while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			rc = buf_add(&b, chunk, n);
		fclose(fp);
		if (rc == 0)
			return buf_take(&b);
		buf_clear(&b);
	}
	return NULL;
}

static void parse_api_md(const char *text, struct doc *d)
{
	int method_col = -1, path_col = -1, scope_col = -1;
	int in_table = 0;
	int line = 0;
	for (const char *l = text; *l != '\0';) {
		const char *nl = strchr(l, '\n');
		size_t len = nl != NULL ? (size_t)(nl - l) : strlen(l);
		line++;
		if (l[0] == '#') {
			in_table = 0;
			doc_spans(d, l, len, 0, 0, AUTH_SCOPE_NONE, AUTH_SCOPE_NONE, line);
		} else if (l[0] == '|') {
			const char *cells[MAX_CELLS];
			size_t lens[MAX_CELLS];
			size_t n = split_row(l, cells, lens);
			if (!in_table) {
				/* the header row: which column is which */
				in_table = 1;
				method_col = path_col = scope_col = -1;
				for (size_t c = 0; c < n; c++) {
					if (cell_is(cells[c], lens[c], "method"))
						method_col = (int)c;
					else if (cell_is(cells[c], lens[c], "path"))
						path_col = (int)c;
					else if (cell_is(cells[c], lens[c], "scope"))
						scope_col = (int)c;
				}
			} else if (n > 0 && lens[0] > 0 && strspn(cells[0], "-:") >= lens[0]) {
				/* the |---| row */
			} else if (path_col >= 0 && (size_t)path_col < n) {
				const char *pc = cells[path_col];
				size_t pl = lens[path_col];
				if (method_col < 0) {
					/* "| `GET /cloud-init/...` | what |" */
					doc_spans(d, pc, pl, 0, 0, AUTH_SCOPE_NONE, AUTH_SCOPE_NONE,
						  line);
				} else {
					if ((size_t)method_col >= n || scope_col < 0 ||
					    (size_t)scope_col >= n)
						fail_msg("docs/api.md:%d: short row", line);
					unsigned m =
						parse_methods(cells[method_col], lens[method_col]);
					enum auth_scope rd = AUTH_SCOPE_NONE, wr = AUTH_SCOPE_NONE;
					if (m == 0)
						fail_msg("docs/api.md:%d: methods \"%.*s\"", line,
							 (int)lens[method_col], cells[method_col]);
					if (parse_scope(cells[scope_col], lens[scope_col], &rd,
							&wr) < 0)
						fail_msg("docs/api.md:%d: scope \"%.*s\"", line,
							 (int)lens[scope_col], cells[scope_col]);
					size_t before = d->n;
					doc_spans(d, pc, pl, m, 1, rd, wr, line);
					if (d->n == before)
						fail_msg("docs/api.md:%d: no `/path` in the path "
							 "column",
							 line);
				}
			}
		} else {
			in_table = 0;
		}
		l += len;
		if (*l == '\n')
			l++;
	}
}

static int doc_setup(void **state)
{
	char *text = read_api_md();
	if (text == NULL) {
		fprintf(stderr, "docs/api.md not found (run from the repository top)\n");
		return -1;
	}
	free(text);
	/* each test parses it again: a parse error then fails a test, not the group */
	*state = calloc(1, sizeof(struct doc));
	return *state != NULL ? 0 : -1;
}

static int doc_teardown(void **state)
{
	free(*state);
	return 0;
}

static void load_doc(struct doc *d)
{
	char *text = read_api_md();
	assert_non_null(text);
	d->n = 0;
	parse_api_md(text, d);
	free(text);
}

/* The parser finds what it should: a guard against a parser that finds nothing. */
static void test_doc_parse(void **state)
{
	struct doc *d = *state;
	load_doc(d);
	const struct {
		const char *path;
		unsigned methods;
		int scoped;
	} expect[] = {
		{"/api/v1/tokens", HTTP_GET, 1},
		{"/api/v1/nodes/{name}", HTTP_GET | HTTP_PUT | HTTP_PATCH | HTTP_DELETE, 1},
		{"/api/v1/jobs/{id}", HTTP_GET, 1},
		{"/api/v1/defaults", HTTP_PUT | HTTP_PATCH, 1},
		{"/boot/v1/bootscript", HTTP_GET, 0},
		{"/cloud-init/{token}/user-data", HTTP_GET, 0},
		{"/phone-home/{token}", HTTP_POST, 0},
		{"/files/{path}", HTTP_GET | HTTP_HEAD, 0},
		{"/metrics", HTTP_GET, 0},
	};
	for (size_t k = 0; k < NELEM(expect); k++) {
		unsigned got = 0;
		for (size_t i = 0; i < d->n; i++)
			if (strcmp(d->e[i].path, expect[k].path) == 0 &&
			    d->e[i].scoped == expect[k].scoped)
				got |= d->e[i].methods;
		if ((got & expect[k].methods) != expect[k].methods)
			fail_msg("docs/api.md: %s found with methods 0x%x, want 0x%x",
				 expect[k].path, got, expect[k].methods);
	}
}

/* Everything docs/api.md documents is routed, with the scope it says. */
static void test_doc_routes_exist(void **state)
{
	struct doc *d = *state;
	load_doc(d);
	for (size_t i = 0; i < d->n; i++) {
		const struct doc_entry *e = &d->e[i];
		for (size_t k = 0; k < NELEM(method_names); k++) {
			unsigned m = method_names[k].id;
			if (!(e->methods & m))
				continue;
			int r = dispatch(e->path, m);
			if (r < 0)
				fail_msg("docs/api.md:%d: %s %s has no route", e->line,
					 method_name(m), e->path);
			const struct http_route *rt = &routes_table[r];
			/* node-facing entries carry no scope column: they need none */
			enum auth_scope want = !e->scoped ? AUTH_SCOPE_NONE :
					       m & READS  ? e->read :
							    e->write;
			if (route_need(rt, m) != want)
				fail_msg("docs/api.md:%d: %s %s needs scope %d, route %s asks %d",
					 e->line, method_name(m), e->path, want, rt->pattern,
					 route_need(rt, m));
			if (!e->scoped && route_class(rt->pattern) != CLASS_NODE)
				fail_msg("docs/api.md:%d: %s %s: documented as node-facing, routed "
					 "to %s",
					 e->line, method_name(m), e->path, rt->pattern);
		}
	}
}

/*
 * Every route and each of its methods is documented: some documented
 * method and path is dispatched to it.  The web page's routes are the
 * exception (README.md describes the page; docs/api.md is the API).
 */
static void test_routes_documented(void **state)
{
	struct doc *d = *state;
	load_doc(d);
	unsigned *covered = calloc(routes_count, sizeof(*covered));
	assert_non_null(covered);
	for (size_t i = 0; i < d->n; i++)
		for (size_t k = 0; k < NELEM(method_names); k++) {
			unsigned m = method_names[k].id;
			int r = (d->e[i].methods & m) ? dispatch(d->e[i].path, m) : -1;
			if (r >= 0)
				covered[r] |= m;
		}
	int missing = 0;
	for (size_t i = 0; i < routes_count; i++) {
		const struct http_route *rt = &routes_table[i];
		if (route_class(rt->pattern) == CLASS_UI)
			continue;
		unsigned left = rt->methods & ~covered[i];
		if (left == 0)
			continue;
		char ms[64];
		http_methods_str(left, ms, sizeof(ms));
		print_error("%s %s (route %zu) is not in docs/api.md\n", ms, rt->pattern, i);
		missing++;
	}
	free(covered);
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest table[] = {
		cmocka_unit_test(test_table_shape),
		cmocka_unit_test(test_unique_patterns),
		cmocka_unit_test(test_every_route_reachable),
		cmocka_unit_test(test_every_route_classified),
		cmocka_unit_test(test_api_needs_token),
		cmocka_unit_test(test_admin_only_reads),
		cmocka_unit_test(test_node_facing_open),
		cmocka_unit_test(test_labels),
	};
	const struct CMUnitTest docs[] = {
		cmocka_unit_test(test_doc_parse),
		cmocka_unit_test(test_doc_routes_exist),
		cmocka_unit_test(test_routes_documented),
	};
	int failed = cmocka_run_group_tests_name("routes_table", table, NULL, NULL);

	failed += cmocka_run_group_tests_name("routes_docs", docs, doc_setup, doc_teardown);
	return failed != 0;
}
