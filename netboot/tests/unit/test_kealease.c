/*
 * Unit tests for kealease, Kea's lease file as lease events: rows parsed
 * (good ones, the header, hostile ones); the per-MAC map's verdicts (new
 * lease, renewal, gone, rewritten); and the tail on real files in a
 * temporary directory, through appends, partial lines, overlong lines, a
 * file that appears late, a cut file, and Kea's lease file cleanup: the
 * file renamed to .2 and a new one created (with a row written to the old
 * one after the tail had read it), then kea-lfc's .output / .completed /
 * .1 shuffle, which the tail must not read again.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kealease.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define FMT(buf, ...) assert_true((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) < sizeof(buf))

static const char header[] = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,"
			     "fqdn_rev,hostname,state,user_context\n";

/* ---- rows ------------------------------------------------------------------- */

static void test_parse(void **state)
{
	struct kealease l;
	assert_int_equal(kealease_parse("10.77.0.11,02:77:00:00:00:01,01:02:77:00:00:00:01,43200,"
					"1796710269,1,0,0,n1,0,",
					&l),
			 0);
	assert_string_equal(l.ip, "10.77.0.11");
	assert_string_equal(l.mac, "02:77:00:00:00:01");
	assert_int_equal(l.valid_lifetime, 43200);
	assert_int_equal(l.expire, 1796710269);
	assert_string_equal(l.hostname, "n1");
	assert_int_equal(l.state, 0);
	/* upper case, a name with Kea's trailing dot, a user context, a line break */
	assert_int_equal(kealease_parse("10.0.0.5,02:AA:BB:CC:DD:EE,,120,100,1,0,0,node7.,2,"
					"{ \"ISC\": {} }\r\n",
					&l),
			 0);
	assert_string_equal(l.mac, "02:aa:bb:cc:dd:ee");
	assert_string_equal(l.hostname, "node7");
	assert_int_equal(l.state, 2);
	/* a hostname that is no name is dropped, the row kept */
	assert_int_equal(kealease_parse("10.0.0.5,02:aa:bb:cc:dd:ee,,120,100,1,0,0,a b;c,0,", &l),
			 0);
	assert_string_equal(l.hostname, "");
	static const char *const bad[] = {
		header,
		"",
		"10.0.0.5",
		"10.0.0.5,,,120,100,1,0,0,,1,",                    /* declined: no MAC */
		"10.0.0.256,02:aa:bb:cc:dd:ee,,120,100,1,0,0,,0,", /* bad address */
		"10.0.0.5,02:aa:bb:cc:dd,,120,100,1,0,0,,0,",      /* short MAC */
		"10.0.0.5,02:aa:bb:cc:dd:ee,,-1,100,1,0,0,,0,",    /* bad lifetime */
		"10.0.0.5,02:aa:bb:cc:dd:ee,,120,1e9,1,0,0,,0,",   /* bad expiry */
		"10.0.0.5,02:aa:bb:cc:dd:ee,,120,100,1,0,0,,3,",   /* no such state */
		"10.0.0.5,02:aa:bb:cc:dd:ee,,120,100,1,0,0,,",     /* no state */
		"10.0.0.5,02:aa:bb:cc:dd:ee,,4294967296,100,1,0,0,,0,",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		if (kealease_parse(bad[i], &l) != -EINVAL)
			fail_msg("bad[%zu] parsed: %s", i, bad[i]);
	char longrow[2000];
	memset(longrow, 'x', sizeof(longrow) - 1);
	longrow[sizeof(longrow) - 1] = '\0';
	assert_int_equal(kealease_parse(longrow, &l), -EINVAL);
}

/* ---- the map ----------------------------------------------------------------- */

static enum kealease_change note(struct kealease_map *m, const char *row)
{
	struct kealease l;
	enum kealease_change ch;
	assert_int_equal(kealease_parse(row, &l), 0);
	assert_int_equal(kealease_map_note(m, &l, &ch), 0);
	return ch;
}

static void test_map(void **state)
{
	struct kealease_map *m = NULL;
	assert_int_equal(kealease_map_new(&m), 0);
	/* PXE firmware, then iPXE (another boot stage: another length), then the
	 * OS: one lease renewed, as dnsmasq reports it */
	assert_int_equal(note(m, "10.0.0.5,02:00:00:00:00:01,,43199,1043199,1,0,0,n1,0,"),
			 KEALEASE_NEW);
	assert_int_equal(note(m, "10.0.0.5,02:00:00:00:00:01,,43198,1043208,1,0,0,n1,0,"),
			 KEALEASE_RENEW);
	assert_int_equal(note(m, "10.0.0.5,02:00:00:00:00:01,,43200,1043230,1,0,0,n1,0,"),
			 KEALEASE_RENEW);
	/* the OS renews; the same row written again is nothing */
	assert_int_equal(note(m, "10.0.0.5,02:00:00:00:00:01,,43200,1064830,1,0,0,n1,0,"),
			 KEALEASE_RENEW);
	assert_int_equal(note(m, "10.0.0.5,02:00:00:00:00:01,,43200,1064830,1,0,0,n1,0,"),
			 KEALEASE_SAME);
	/* another address is a new lease */
	assert_int_equal(note(m, "10.0.0.6,02:00:00:00:00:01,,43200,1064840,1,0,0,n1,0,"),
			 KEALEASE_NEW);
	/* released (lifetime 0), reclaimed (state 2): gone; asked again: new */
	assert_int_equal(note(m, "10.0.0.6,02:00:00:00:00:01,,0,1064850,1,0,0,n1,0,"),
			 KEALEASE_GONE);
	assert_int_equal(note(m, "10.0.0.6,02:00:00:00:00:01,,43200,1064860,1,0,0,n1,0,"),
			 KEALEASE_NEW);
	assert_int_equal(note(m, "10.0.0.6,02:00:00:00:00:01,,43200,1064860,1,0,0,n1,2,"),
			 KEALEASE_GONE);
	/* a reservation moves a MAC from a pool address: Kea writes the new
	 * lease, then the old one's deletion, which leaves the new one be */
	assert_int_equal(note(m, "10.0.0.100,02:00:00:00:00:03,,119,1000119,1,0,0,,0,"),
			 KEALEASE_NEW);
	assert_int_equal(note(m, "10.0.0.12,02:00:00:00:00:03,,43199,1043199,1,0,0,n3,0,"),
			 KEALEASE_NEW);
	assert_int_equal(note(m, "10.0.0.100,02:00:00:00:00:03,,0,1000000,1,0,0,,0,"),
			 KEALEASE_GONE);
	assert_int_equal(note(m, "10.0.0.12,02:00:00:00:00:03,,43198,1043208,1,0,0,n3,0,"),
			 KEALEASE_RENEW);
	/* a renewal after the old lease had run out is a new lease */
	assert_int_equal(note(m, "10.0.0.7,02:00:00:00:00:02,,120,1000120,1,0,0,,0,"),
			 KEALEASE_NEW);
	assert_int_equal(note(m, "10.0.0.7,02:00:00:00:00:02,,120,1000500,1,0,0,,0,"),
			 KEALEASE_NEW);
	assert_int_equal(kealease_map_size(m), 3);
	/* many MACs: the map grows and forgets none */
	char row[128];
	for (unsigned i = 0; i < 20000; i++) {
		FMT(row, "10.1.%u.%u,02:01:00:00:%02x:%02x,,120,5000,1,0,0,,0,", i / 250, i % 250,
		    i >> 8, i & 0xff);
		assert_int_equal(note(m, row), KEALEASE_NEW);
	}
	for (unsigned i = 0; i < 20000; i++) {
		FMT(row, "10.1.%u.%u,02:01:00:00:%02x:%02x,,120,5000,1,0,0,,0,", i / 250, i % 250,
		    i >> 8, i & 0xff);
		assert_int_equal(note(m, row), KEALEASE_SAME);
	}
	assert_int_equal(kealease_map_size(m), 20003);
	kealease_map_free(m);
	kealease_map_free(NULL);
}

/* ---- the tail ------------------------------------------------------------------ */

struct seen {
	char lines[64][2100];
	size_t n;
};

static void collect(void *arg, const char *line)
{
	struct seen *s = arg;
	assert_true(s->n < NELEM(s->lines));
	FMT(s->lines[s->n], "%s", line);
	s->n++;
}

static char dir[] = "/tmp/test-kealease-XXXXXX";

static void path_of(char *out, size_t len, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < len);
}

static void append(const char *name, const char *text)
{
	char p[PATH_MAX];
	path_of(p, sizeof(p), name);
	FILE *f = fopen(p, "a");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void move(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	path_of(a, sizeof(a), from);
	path_of(b, sizeof(b), to);
	assert_int_equal(rename(a, b), 0);
}

/* Reads the tail; checks it gave exactly want (NULL-terminated). */
static void expect(struct kealease_tail *t, const char *const *want)
{
	struct seen s = {.n = 0};
	size_t n = 0;
	int rc = kealease_tail_read(t, collect, &s);
	while (want[n] != NULL)
		n++;
	if (rc < 0 || (size_t)rc != n || s.n != n)
		fail_msg("read %d lines (%zu seen), want %zu (%s); first: %s", rc, s.n, n,
			 n ? want[0] : "-", s.n ? s.lines[0] : "-");
	for (size_t i = 0; i < n; i++)
		assert_string_equal(s.lines[i], want[i]);
}

static int setup_dir(void **state)
{
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
	static const char *const names[] = {"leases4.csv",           "leases4.csv.1",
					    "leases4.csv.2",         "leases4.csv.output",
					    "leases4.csv.completed", "late.csv"};
	char p[PATH_MAX];
	for (size_t i = 0; i < NELEM(names); i++) {
		path_of(p, sizeof(p), names[i]);
		unlink(p);
	}
	return rmdir(dir);
}

static void test_tail(void **state)
{
	char p[PATH_MAX];
	struct kealease_tail t;
	path_of(p, sizeof(p), "leases4.csv");
	assert_int_equal(kealease_tail_init(&t, p), 0);
	append("leases4.csv", header);
	append("leases4.csv", "10.0.0.1,02:00:00:00:00:01,,120,100,1,0,0,,0,\n");
	expect(&t, (const char *const[]){"address,hwaddr,client_id,valid_lifetime,expire,"
					 "subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context",
					 "10.0.0.1,02:00:00:00:00:01,,120,100,1,0,0,,0,", NULL});
	expect(&t, (const char *const[]){NULL}); /* nothing new */
	/* a row written in two pieces is one line, once it is whole */
	append("leases4.csv", "10.0.0.2,02:00:00:00:00:02,,1");
	expect(&t, (const char *const[]){NULL});
	append("leases4.csv", "20,200,1,0,0,,0,\n");
	expect(&t, (const char *const[]){"10.0.0.2,02:00:00:00:00:02,,120,200,1,0,0,,0,", NULL});
	/* a line longer than any row is dropped whole; the next one is read */
	static char big[5000];
	memset(big, 'y', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	append("leases4.csv", big);
	append("leases4.csv", "10.0.0.3,02:00:00:00:00:03,,120,300,1,0,0,,0,\n");
	expect(&t, (const char *const[]){"10.0.0.3,02:00:00:00:00:03,,120,300,1,0,0,,0,", NULL});

	/* LFC: Kea writes one more row, renames the file to .2 after the tail
	 * read it, and starts a new file; the tail reads the old file's last
	 * row, then the new file from its start. */
	expect(&t, (const char *const[]){NULL});
	append("leases4.csv", "10.0.0.4,02:00:00:00:00:04,,120,400,1,0,0,,0,\n");
	move("leases4.csv", "leases4.csv.2");
	append("leases4.csv", header);
	append("leases4.csv", "10.0.0.5,02:00:00:00:00:05,,120,500,1,0,0,,0,\n");
	expect(&t, (const char *const[]){"10.0.0.4,02:00:00:00:00:04,,120,400,1,0,0,,0,",
					 "address,hwaddr,client_id,valid_lifetime,expire,"
					 "subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context",
					 "10.0.0.5,02:00:00:00:00:05,,120,500,1,0,0,,0,", NULL});
	/* kea-lfc: .1 + .2 -> .output -> .completed; .1 and .2 removed; .completed -> .1.
	 * None of it is read again; rows go on into the new file. */
	append("leases4.csv.output", header);
	append("leases4.csv.output", "10.0.0.4,02:00:00:00:00:04,,120,400,1,0,0,,0,\n");
	move("leases4.csv.output", "leases4.csv.completed");
	path_of(p, sizeof(p), "leases4.csv.2");
	assert_int_equal(unlink(p), 0);
	move("leases4.csv.completed", "leases4.csv.1");
	expect(&t, (const char *const[]){NULL});
	append("leases4.csv", "10.0.0.6,02:00:00:00:00:06,,120,600,1,0,0,,0,\n");
	expect(&t, (const char *const[]){"10.0.0.6,02:00:00:00:00:06,,120,600,1,0,0,,0,", NULL});
	/* the name missing for a moment (between Kea's rename and create): nothing lost */
	move("leases4.csv", "leases4.csv.2");
	expect(&t, (const char *const[]){NULL});
	append("leases4.csv", "10.0.0.7,02:00:00:00:00:07,,120,700,1,0,0,,0,\n");
	expect(&t, (const char *const[]){"10.0.0.7,02:00:00:00:00:07,,120,700,1,0,0,,0,", NULL});
	/* a file cut shorter than what was read is read again from its start
	 * (seen once it is shorter: a cut file refilled past the old end
	 * before the next read cannot be told from an appended one) */
	path_of(p, sizeof(p), "leases4.csv");
	assert_int_equal(truncate(p, 0), 0);
	expect(&t, (const char *const[]){NULL});
	append("leases4.csv", "10.0.0.8,02:00:00:00:00:08,,120,800,1,0,0,,0,\n");
	expect(&t, (const char *const[]){"10.0.0.8,02:00:00:00:00:08,,120,800,1,0,0,,0,", NULL});
	kealease_tail_close(&t);
	kealease_tail_close(&t); /* twice is fine */
}

/* A file that does not exist yet (Kea's first start) is no error; it is read once it does. */
static void test_tail_late_file(void **state)
{
	char p[PATH_MAX];
	struct kealease_tail t;
	path_of(p, sizeof(p), "late.csv");
	assert_int_equal(kealease_tail_init(&t, p), 0);
	expect(&t, (const char *const[]){NULL});
	append("late.csv", "10.0.0.9,02:00:00:00:00:09,,120,900,1,0,0,,0,\n");
	expect(&t, (const char *const[]){"10.0.0.9,02:00:00:00:00:09,,120,900,1,0,0,,0,", NULL});
	kealease_tail_close(&t);
	struct seen s = {.n = 0};
	assert_int_equal(kealease_read_file(p, collect, &s), 1);
	path_of(p, sizeof(p), "missing.csv");
	assert_int_equal(kealease_read_file(p, collect, &s), 0);
	char longpath[PATH_MAX + 10];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(kealease_tail_init(&t, longpath), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_tail_late_file),
	};
	return cmocka_run_group_tests_name("kealease", tests, setup_dir, remove_dir);
}
