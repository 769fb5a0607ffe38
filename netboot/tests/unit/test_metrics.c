/*
 * Unit tests for metrics: the /metrics text is valid Prometheus exposition
 * format (every sample's family announced by # HELP and # TYPE before it,
 * counters named *_total, families contiguous, no series twice, values
 * plain integers), and every counter says what was counted: HTTP requests
 * by route label and status (unmatched routes as route="none", statuses
 * corrald never answers with as code="other", routes sharing a label
 * summed into one series), boot scripts by kind, file bytes, boot script
 * cache hits and misses, dnsmasq restarts.  Concurrent bumps from several
 * threads lose nothing.
 *
 * Not covered: how routes.c maps a request to a route index (the route
 * table's own tests and the integration tests do), and Prometheus label
 * escaping (labels come from the constant route table, never from input).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "metrics.h"
#include "tfmt.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a small Prometheus text parser ------------------------------------- */

#define PROM_MAX_SERIES 512
#define PROM_MAX_FAMILIES 32

struct prom_series {
	char key[256]; /* name{labels} as written */
	unsigned long long value;
};

struct prom_family {
	char name[96];
	int help, type; /* line numbers, 0: not seen */
	int counter;
	int closed; /* a later family started: no more samples of this one */
};

struct prom {
	struct prom_series s[PROM_MAX_SERIES];
	size_t ns;
	struct prom_family f[PROM_MAX_FAMILIES];
	size_t nf;
	char err[256]; /* why the text was refused */
};

static int prom_name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* Length of the metric or label name at s (0: none). */
static size_t prom_name_len(const char *s)
{
	size_t n = 0;

	while (prom_name_char(s[n], n == 0))
		n++;
	return n;
}

static struct prom_family *prom_family(struct prom *p, const char *name, size_t len)
{
	for (size_t i = 0; i < p->nf; i++)
		if (strlen(p->f[i].name) == len && strncmp(p->f[i].name, name, len) == 0)
			return &p->f[i];
	assert_true(p->nf < PROM_MAX_FAMILIES);
	assert_true(len < sizeof(p->f[0].name));
	struct prom_family *f = &p->f[p->nf++];
	memset(f, 0, sizeof(*f));
	memcpy(f->name, name, len);
	return f;
}

static int prom_err(struct prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records why the text is refused; returns -1. */
static int prom_err(struct prom *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)tfmt_vcut(p->err, sizeof(p->err), fmt, ap); /* a message: cut is fine */
	va_end(ap);
	return -1;
}

/* Marks every family but cur as closed once cur is being written. */
static void prom_close_others(struct prom *p, const struct prom_family *cur)
{
	for (size_t i = 0; i < p->nf; i++)
		if (&p->f[i] != cur && (p->f[i].help || p->f[i].type))
			p->f[i].closed = 1;
}

/* "# HELP name text" or "# TYPE name kind"; 0 or -1 */
static int prom_comment(struct prom *p, const char *line, int lno)
{
	int is_help = strncmp(line, "# HELP ", 7) == 0;
	int is_type = strncmp(line, "# TYPE ", 7) == 0;

	if (!is_help && !is_type)
		return prom_err(p, "line %d: a comment that is neither HELP nor TYPE: %s", lno,
				line);
	const char *name = line + 7;
	size_t len = prom_name_len(name);
	if (len == 0 || name[len] != ' ' || name[len + 1] == '\0')
		return prom_err(p, "line %d: malformed: %s", lno, line);
	struct prom_family *f = prom_family(p, name, len);
	if (f->closed)
		return prom_err(p, "line %d: %s announced again after other families", lno,
				f->name);
	prom_close_others(p, f);
	if (is_help) {
		if (f->help)
			return prom_err(p, "line %d: second HELP for %s", lno, f->name);
		f->help = lno;
		return 0;
	}
	if (f->type)
		return prom_err(p, "line %d: second TYPE for %s", lno, f->name);
	const char *kind = name + len + 1;
	if (strcmp(kind, "counter") != 0 && strcmp(kind, "gauge") != 0 &&
	    strcmp(kind, "histogram") != 0 && strcmp(kind, "summary") != 0 &&
	    strcmp(kind, "untyped") != 0)
		return prom_err(p, "line %d: unknown type %s", lno, kind);
	f->type = lno;
	f->counter = strcmp(kind, "counter") == 0;
	return 0;
}

/* name{label="value",...} value; 0 or -1 */
static int prom_sample(struct prom *p, const char *line, int lno)
{
	size_t len = prom_name_len(line);
	if (len == 0)
		return prom_err(p, "line %d: no metric name: %s", lno, line);
	struct prom_family *f = prom_family(p, line, len);
	if (!f->help || !f->type)
		return prom_err(p, "line %d: %s sampled before its # HELP and # TYPE", lno,
				f->name);
	if (f->closed)
		return prom_err(p, "line %d: %s sampled after other families began", lno, f->name);
	if (f->counter && (len < 6 || strncmp(line + len - 6, "_total", 6) != 0))
		return prom_err(p, "line %d: counter %s does not end in _total", lno, f->name);

	const char *s = line + len;
	if (*s == '{') {
		s++;
		while (*s != '}') {
			size_t ln = prom_name_len(s);
			if (ln == 0 || s[ln] != '=' || s[ln + 1] != '"')
				return prom_err(p, "line %d: bad label at '%s'", lno, s);
			s += ln + 2;
			while (*s != '"') {
				if (*s == '\0' || *s == '\n')
					return prom_err(p, "line %d: unterminated label value",
							lno);
				s += *s == '\\' ? 2 : 1;
			}
			s++;
			if (*s == ',')
				s++;
			else if (*s != '}')
				return prom_err(p, "line %d: expected , or } at '%s'", lno, s);
		}
		s++;
	}
	if (*s != ' ')
		return prom_err(p, "line %d: no value: %s", lno, line);
	size_t keylen = (size_t)(s - line);
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s + 1, &end, 10);
	if (errno != 0 || end == s + 1 || *end != '\0')
		return prom_err(p, "line %d: value is not a plain integer: %s", lno, s + 1);

	assert_true(keylen < sizeof(p->s[0].key));
	for (size_t i = 0; i < p->ns; i++)
		if (strlen(p->s[i].key) == keylen && strncmp(p->s[i].key, line, keylen) == 0)
			return prom_err(p, "line %d: series %s twice", lno, p->s[i].key);
	assert_true(p->ns < PROM_MAX_SERIES);
	memcpy(p->s[p->ns].key, line, keylen);
	p->s[p->ns].key[keylen] = '\0';
	p->s[p->ns].value = v;
	p->ns++;
	return 0;
}

/*
 * Parses text into p: 0, or -1 with p->err saying why Prometheus would
 * refuse it.  Only what corrald writes is supported: integer values, no
 * timestamps, no comments but HELP and TYPE.
 */
static int prom_parse(const char *text, struct prom *p)
{
	char line[512];
	int lno = 0;

	memset(p, 0, sizeof(*p));
	if (text[0] == '\0')
		return prom_err(p, "empty");
	if (text[strlen(text) - 1] != '\n')
		return prom_err(p, "the text does not end with a newline");
	while (*text != '\0') {
		const char *nl = strchr(text, '\n');
		size_t n = (size_t)(nl - text);

		lno++;
		if (n >= sizeof(line))
			return prom_err(p, "line %d: too long", lno);
		memcpy(line, text, n);
		line[n] = '\0';
		text = nl + 1;
		if (n == 0)
			return prom_err(p, "line %d: empty line", lno);
		if ((line[0] == '#' ? prom_comment(p, line, lno) : prom_sample(p, line, lno)) < 0)
			return -1;
	}
	return 0;
}

/* The value of a series, or -1 if the text does not have it. */
static long long prom_get(const struct prom *p, const char *key)
{
	for (size_t i = 0; i < p->ns; i++)
		if (strcmp(p->s[i].key, key) == 0)
			return (long long)p->s[i].value;
	return -1;
}

/* Number of series of one metric family. */
static size_t prom_count(const struct prom *p, const char *name)
{
	size_t n = 0, len = strlen(name);

	for (size_t i = 0; i < p->ns; i++)
		if (strncmp(p->s[i].key, name, len) == 0 &&
		    (p->s[i].key[len] == '{' || p->s[i].key[len] == '\0'))
			n++;
	return n;
}

static void render(struct metrics *m, struct prom *p)
{
	struct buf b;

	buf_init(&b, 1u << 20);
	assert_int_equal(metrics_render(m, &b), 0);
	if (prom_parse(buf_str(&b), p) < 0)
		fail_msg("not valid Prometheus text: %s\n%s", p->err, buf_str(&b));
	buf_clear(&b);
}

static long long req(const struct prom *p, const char *route, const char *code)
{
	char key[160];
	int n = snprintf(key, sizeof(key), "corral_http_requests_total{route=\"%s\",code=\"%s\"}",
			 route, code);

	assert_true(n > 0 && (size_t)n < sizeof(key));
	return prom_get(p, key);
}

static const char *const labels[] = {"nodes_list", "node_get", "bootscript", "files"};

/* ---- the checker itself ------------------------------------------------- */

/* The format checks below are only worth something if the checker refuses
 * what Prometheus refuses and reads what it accepts. */
static void test_checker(void **state)
{
	static const char good[] = "# HELP a_total A.\n"
				   "# TYPE a_total counter\n"
				   "a_total{x=\"1\",y=\"q\\\"z\"} 7\n"
				   "a_total 9\n"
				   "# TYPE g gauge\n"
				   "# HELP g G.\n"
				   "g 0\n";
	static const struct {
		const char *text, *why;
	} bad[] = {
		{"a_total 1\n", "sampled before"},
		{"# HELP a_total A.\na_total 1\n", "sampled before"},
		{"# TYPE a_total counter\na_total 1\n", "sampled before"},
		{"# HELP a A.\n# TYPE a counter\na 1\n", "does not end in _total"},
		{"# HELP a_total A.\n# TYPE a_total counter\na_total 1", "newline"},
		{"# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 1\n"
		 "a_total{x=\"1\"} 2\n",
		 "twice"},
		{"# HELP a_total A.\n# TYPE a_total counter\n# HELP b_total B.\n"
		 "# TYPE b_total counter\na_total 1\n",
		 "after other families"},
		{"# HELP a_total A.\n# TYPE a_total counter\na_total 1.5\n", "plain integer"},
		{"# HELP a_total A.\n# TYPE a_total counter\na_total{x=1} 1\n", "bad label"},
		{"# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\" 1\n", "expected ,"},
		{"# HELP a_total A.\n# TYPE a_total countr\n", "unknown type"},
		{"# HELP a_total A.\n# HELP a_total A.\n", "second HELP"},
		{"# just a comment\n", "neither HELP nor TYPE"},
		{"\n", "empty line"},
	};
	struct prom p;

	(void)state;
	if (prom_parse(good, &p) < 0)
		fail_msg("refused a valid text: %s", p.err);
	assert_int_equal(p.ns, 3);
	assert_int_equal(prom_get(&p, "a_total{x=\"1\",y=\"q\\\"z\"}"), 7);
	assert_int_equal(prom_get(&p, "a_total"), 9);
	assert_int_equal(prom_get(&p, "g"), 0);
	assert_int_equal(prom_get(&p, "b_total"), -1);
	assert_int_equal(prom_count(&p, "a_total"), 2);

	for (size_t i = 0; i < NELEM(bad); i++) {
		if (prom_parse(bad[i].text, &p) == 0)
			fail_msg("bad[%zu] accepted: %s", i, bad[i].text);
		if (strstr(p.err, bad[i].why) == NULL)
			fail_msg("bad[%zu] refused for '%s', want '%s'", i, p.err, bad[i].why);
	}
}

/* ---- a fresh set of counters -------------------------------------------- */

static void test_render_fresh(void **state)
{
	static const char *const families[] = {
		"corral_http_requests_total",    "corral_bootscripts_total",
		"corral_bootscript_cache_total", "corral_file_bytes_total",
		"corral_dnsmasq_restarts_total", "corral_kea_restarts_total",
		"corral_kea_reloads_total",
	};
	static const char *const zero[] = {
		"corral_bootscripts_total{kind=\"node\"}",
		"corral_bootscripts_total{kind=\"unknown\"}",
		"corral_bootscripts_total{kind=\"disabled\"}",
		"corral_bootscripts_total{kind=\"noprofile\"}",
		"corral_bootscripts_total{kind=\"refused\"}",
		"corral_bootscripts_total{kind=\"noimage\"}",
		"corral_bootscript_cache_total{result=\"miss\"}",
		"corral_bootscript_cache_total{result=\"hit\"}",
		"corral_file_bytes_total",
		"corral_dnsmasq_restarts_total",
		"corral_kea_restarts_total",
		"corral_kea_reloads_total",
	};
	struct metrics *m = NULL;
	struct prom p;

	(void)state;
	assert_int_equal(metrics_new(labels, NELEM(labels), &m), 0);
	assert_non_null(m);
	render(m, &p);
	/* Every family is announced as a counter, even with no samples yet. */
	assert_int_equal(p.nf, NELEM(families));
	for (size_t i = 0; i < NELEM(families); i++) {
		struct prom_family *f = prom_family(&p, families[i], strlen(families[i]));
		if (!f->help || !f->type || !f->counter)
			fail_msg("%s: HELP %d TYPE %d counter %d", families[i], f->help, f->type,
				 f->counter);
	}
	/* No request was counted: no request series at all (not zeros for every pair). */
	assert_int_equal(prom_count(&p, "corral_http_requests_total"), 0);
	/* The fixed series are there, at zero. */
	assert_int_equal(p.ns, NELEM(zero));
	for (size_t i = 0; i < NELEM(zero); i++)
		if (prom_get(&p, zero[i]) != 0)
			fail_msg("%s is %lld, want 0", zero[i], prom_get(&p, zero[i]));
	metrics_free(m);
	metrics_free(NULL);
}

/* ---- HTTP requests ------------------------------------------------------ */

static void test_requests(void **state)
{
	/* calls: route index (-1 unmatched), status, how many times */
	static const struct {
		int route;
		unsigned status, times;
	} calls[] = {
		{0, 200, 3},  {0, 404, 1}, {1, 200, 5}, {1, 304, 2},  {1, 409, 1},  {2, 200, 7},
		{2, 503, 1},  {3, 206, 4}, {3, 416, 1}, {3, 200, 1},  {-1, 404, 6}, {-1, 405, 2},
		{0, 418, 1},  {0, 599, 2}, {2, 100, 1}, {-1, 302, 1}, {-7, 404, 1}, {4, 404, 1},
		{99, 200, 2}, {0, 201, 1}, {0, 204, 1}, {0, 400, 1},  {0, 401, 1},  {0, 403, 1},
		{0, 413, 1},  {0, 415, 1}, {0, 422, 1}, {0, 500, 1},
	};
	/* what the text must say; every other request series must be absent */
	static const struct {
		const char *route, *code;
		long long value;
	} want[] = {
		{"nodes_list", "200", 3},
		{"nodes_list", "404", 1},
		{"nodes_list", "201", 1},
		{"nodes_list", "204", 1},
		{"nodes_list", "400", 1},
		{"nodes_list", "401", 1},
		{"nodes_list", "403", 1},
		{"nodes_list", "413", 1},
		{"nodes_list", "415", 1},
		{"nodes_list", "422", 1},
		{"nodes_list", "500", 1},
		{"nodes_list", "other", 3},
		{"node_get", "200", 5},
		{"node_get", "304", 2},
		{"node_get", "409", 1},
		{"bootscript", "200", 7},
		{"bootscript", "503", 1},
		{"bootscript", "other", 1},
		{"files", "206", 4},
		{"files", "416", 1},
		{"files", "200", 1},
		/* -1, a negative index and an index past the table: unmatched */
		{"none", "404", 8},
		{"none", "405", 2},
		{"none", "other", 1},
		{"none", "200", 2},
	};
	struct metrics *m = NULL;
	struct prom p;

	(void)state;
	assert_int_equal(metrics_new(labels, NELEM(labels), &m), 0);
	for (size_t i = 0; i < NELEM(calls); i++)
		for (unsigned k = 0; k < calls[i].times; k++)
			metrics_request(m, calls[i].route, calls[i].status);
	render(m, &p);
	for (size_t i = 0; i < NELEM(want); i++) {
		long long got = req(&p, want[i].route, want[i].code);
		if (got != want[i].value)
			fail_msg("route %s code %s: %lld, want %lld", want[i].route, want[i].code,
				 got, want[i].value);
	}
	assert_int_equal(prom_count(&p, "corral_http_requests_total"), NELEM(want));
	/* Requests are not boot scripts: those counters did not move. */
	assert_int_equal(prom_get(&p, "corral_bootscripts_total{kind=\"node\"}"), 0);

	/* Counting goes on from there; rendering does not reset anything. */
	metrics_request(m, 1, 200);
	render(m, &p);
	assert_int_equal(req(&p, "node_get", "200"), 6);
	assert_int_equal(req(&p, "nodes_list", "200"), 3);
	metrics_free(m);
}

/* Two paths for one endpoint share a label: one series, the sum of both. */
static void test_shared_label(void **state)
{
	static const char *const shared[] = {"files", "bootscript", "files", "healthz",
					     "bootscript"};
	struct metrics *m = NULL;
	struct prom p;

	(void)state;
	assert_int_equal(metrics_new(shared, NELEM(shared), &m), 0);
	metrics_request(m, 0, 200);
	metrics_request(m, 2, 200);
	metrics_request(m, 2, 200);
	metrics_request(m, 2, 206);
	metrics_request(m, 1, 200);
	metrics_request(m, 4, 200);
	metrics_request(m, 4, 404);
	metrics_request(m, 3, 200);
	metrics_request(m, -1, 404);
	render(m, &p); /* fails on a series written twice */
	assert_int_equal(req(&p, "files", "200"), 3);
	assert_int_equal(req(&p, "files", "206"), 1);
	assert_int_equal(req(&p, "bootscript", "200"), 2);
	assert_int_equal(req(&p, "bootscript", "404"), 1);
	assert_int_equal(req(&p, "healthz", "200"), 1);
	assert_int_equal(req(&p, "none", "404"), 1);
	assert_int_equal(prom_count(&p, "corral_http_requests_total"), 6);
	metrics_free(m);
}

/* A table with no routes at all: everything is unmatched. */
static void test_no_routes(void **state)
{
	struct metrics *m = NULL;
	struct prom p;

	(void)state;
	assert_int_equal(metrics_new(NULL, 0, &m), 0);
	metrics_request(m, -1, 404);
	metrics_request(m, 0, 404);
	metrics_request(m, 3, 200);
	render(m, &p);
	assert_int_equal(req(&p, "none", "404"), 2);
	assert_int_equal(req(&p, "none", "200"), 1);
	assert_int_equal(prom_count(&p, "corral_http_requests_total"), 2);
	metrics_free(m);
}

/* ---- the other counters ------------------------------------------------- */

static void test_counters(void **state)
{
	static const struct {
		enum metrics_boot kind;
		const char *series;
		unsigned times;
	} kinds[] = {
		{METRICS_BOOT_NODE, "corral_bootscripts_total{kind=\"node\"}", 5},
		{METRICS_BOOT_UNKNOWN, "corral_bootscripts_total{kind=\"unknown\"}", 3},
		{METRICS_BOOT_DISABLED, "corral_bootscripts_total{kind=\"disabled\"}", 2},
		{METRICS_BOOT_NOPROFILE, "corral_bootscripts_total{kind=\"noprofile\"}", 1},
		{METRICS_BOOT_REFUSED, "corral_bootscripts_total{kind=\"refused\"}", 4},
		{METRICS_BOOT_NOIMAGE, "corral_bootscripts_total{kind=\"noimage\"}", 6},
	};
	static const uint64_t bytes[] = {0, 1, 4096, 5000000000ULL, 123};
	struct metrics *m = NULL;
	struct prom p;
	uint64_t total = 0;

	(void)state;
	assert_int_equal(metrics_new(labels, NELEM(labels), &m), 0);
	for (size_t i = 0; i < NELEM(kinds); i++)
		for (unsigned k = 0; k < kinds[i].times; k++)
			metrics_bootscript(m, kinds[i].kind);
	for (size_t i = 0; i < NELEM(bytes); i++) {
		metrics_file_bytes(m, bytes[i]);
		total += bytes[i];
	}
	/* hit is a boolean: any non-zero value is a hit */
	metrics_bootcache(m, 0);
	metrics_bootcache(m, 0);
	metrics_bootcache(m, 0);
	metrics_bootcache(m, 1);
	metrics_bootcache(m, 7);
	metrics_dhcp_restart(m);
	metrics_dhcp_restart(m);

	render(m, &p);
	assert_int_equal(prom_count(&p, "corral_bootscripts_total"), NELEM(kinds));
	for (size_t i = 0; i < NELEM(kinds); i++)
		if (prom_get(&p, kinds[i].series) != kinds[i].times)
			fail_msg("%s is %lld, want %u", kinds[i].series,
				 prom_get(&p, kinds[i].series), kinds[i].times);
	/* more than 32 bits: the counter is 64-bit end to end */
	assert_int_equal(prom_get(&p, "corral_file_bytes_total"), (long long)total);
	assert_true(total > UINT32_MAX);
	assert_int_equal(prom_get(&p, "corral_bootscript_cache_total{result=\"miss\"}"), 3);
	assert_int_equal(prom_get(&p, "corral_bootscript_cache_total{result=\"hit\"}"), 2);
	assert_int_equal(prom_get(&p, "corral_dnsmasq_restarts_total"), 2);
	/* none of that is an HTTP request */
	assert_int_equal(prom_count(&p, "corral_http_requests_total"), 0);
	metrics_free(m);
}

/* ---- rendering into a buffer -------------------------------------------- */

static void test_render_buffer(void **state)
{
	struct metrics *m = NULL;
	struct buf b;

	(void)state;
	assert_int_equal(metrics_new(labels, NELEM(labels), &m), 0);
	metrics_request(m, 0, 200);

	/* The text is appended to what the buffer holds. */
	buf_init(&b, 1u << 20);
	assert_int_equal(buf_adds(&b, "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n"), 0);
	size_t before = b.len;
	assert_int_equal(metrics_render(m, &b), 0);
	assert_true(b.len > before);
	assert_memory_equal(b.data, "# HELP x_total X.\n", 18);
	assert_non_null(strstr(b.data + before, "corral_http_requests_total{route=\"nodes_list\","
						"code=\"200\"} 1\n"));
	buf_clear(&b);

	/* A buffer too small for the text: -E2BIG, not a silently cut text. */
	buf_init(&b, 200);
	assert_int_equal(metrics_render(m, &b), -E2BIG);
	assert_true(b.len <= 200);
	buf_clear(&b);
	metrics_free(m);
}

/* ---- many threads ------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 100000
#define HOT_PER_THREAD 1000000 /* long enough for the threads to overlap */

static const unsigned thread_codes[] = {200, 404, 304, 418};

struct bumper {
	struct metrics *m;
	pthread_barrier_t *go;
	int id;
};

/* All threads start together on one series, the likeliest place to lose
 * an increment; then each spreads its requests over every route,
 * unmatched included, and two statuses, and bumps the other counters as
 * it goes. */
static void *bumper_run(void *arg)
{
	struct bumper *b = arg;

	pthread_barrier_wait(b->go);
	for (int i = 0; i < HOT_PER_THREAD; i++)
		metrics_request(b->m, 1, 204);
	for (int i = 0; i < PER_THREAD; i++) {
		int route = i % (int)(NELEM(labels) + 1) - 1; /* -1 .. 3 */
		metrics_request(b->m, route, thread_codes[(b->id + i) % 2 ? 1 : 0]);
		metrics_request(b->m, b->id % 2 ? 2 : 3, thread_codes[2 + b->id % 2]);
		metrics_file_bytes(b->m, 3);
		metrics_bootcache(b->m, i % 2);
		metrics_bootscript(b->m, (enum metrics_boot)(i % METRICS_BOOT_KINDS));
		if (i % 1000 == 0)
			metrics_dhcp_restart(b->m);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct metrics *m = NULL;
	pthread_t t[THREADS];
	struct bumper b[THREADS];
	long long want_req[NELEM(labels) + 1][2] = {{0}};
	long long want_304 = 0, want_other = 0;
	struct prom p;
	pthread_barrier_t go;

	(void)state;
	assert_int_equal(metrics_new(labels, NELEM(labels), &m), 0);
	assert_int_equal(pthread_barrier_init(&go, NULL, THREADS), 0);
	for (int i = 0; i < THREADS; i++) {
		b[i] = (struct bumper){m, &go, i};
		assert_int_equal(pthread_create(&t[i], NULL, bumper_run, &b[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);

	/* The same arithmetic as bumper_run, single-threaded. */
	for (int id = 0; id < THREADS; id++) {
		for (int i = 0; i < PER_THREAD; i++)
			want_req[i % (int)(NELEM(labels) + 1)][(id + i) % 2 ? 1 : 0]++;
		if (id % 2)
			want_other += PER_THREAD;
		else
			want_304 += PER_THREAD;
	}

	render(m, &p);
	for (size_t r = 0; r <= NELEM(labels); r++) {
		const char *route = r == 0 ? "none" : labels[r - 1];
		long long ok = req(&p, route, "200"), nf = req(&p, route, "404");
		if (ok != want_req[r][0] || nf != want_req[r][1])
			fail_msg("%s: 200 %lld (want %lld), 404 %lld (want %lld)", route, ok,
				 want_req[r][0], nf, want_req[r][1]);
	}
	assert_int_equal(req(&p, "node_get", "204"), THREADS * HOT_PER_THREAD);
	/* threads 1 and 3 hit bootscript with 418, threads 0 and 2 files with 304 */
	assert_int_equal(req(&p, "files", "304"), want_304);
	assert_int_equal(req(&p, "bootscript", "other"), want_other);
	assert_int_equal(prom_get(&p, "corral_file_bytes_total"), 3LL * THREADS * PER_THREAD);
	assert_int_equal(prom_get(&p, "corral_bootscript_cache_total{result=\"hit\"}"),
			 THREADS * PER_THREAD / 2);
	assert_int_equal(prom_get(&p, "corral_bootscript_cache_total{result=\"miss\"}"),
			 THREADS * PER_THREAD / 2);
	/* i % KINDS == NOPROFILE for this many i in 0..PER_THREAD-1 */
	assert_int_equal(prom_get(&p, "corral_bootscripts_total{kind=\"noprofile\"}"),
			 THREADS * ((PER_THREAD + METRICS_BOOT_KINDS - 1 - METRICS_BOOT_NOPROFILE) /
				    METRICS_BOOT_KINDS));
	assert_int_equal(prom_get(&p, "corral_dnsmasq_restarts_total"),
			 THREADS * PER_THREAD / 1000);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker),       cmocka_unit_test(test_render_fresh),
		cmocka_unit_test(test_requests),      cmocka_unit_test(test_shared_label),
		cmocka_unit_test(test_no_routes),     cmocka_unit_test(test_counters),
		cmocka_unit_test(test_render_buffer), cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL) != 0;
}
