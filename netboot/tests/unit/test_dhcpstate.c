/*
 * Unit tests for dhcpstate, the DHCP side's bookkeeping: the host-file
 * diff (what is written and removed, when dnsmasq needs SIGHUP), the seen
 * ring that dates a hook call by the dnsmasq log line before it, the
 * refusal ring that lets a machine's refusal through once a minute, and
 * the event text.  Tables of cases; no files, processes or store.
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

#include "dhcpstate.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* snprintf into an array; the test fails rather than go on with a cut string. */
#define FMT(buf, ...) assert_true((size_t)snprintf(buf, sizeof(buf), __VA_ARGS__) < sizeof(buf))
#define S_US 1000000LL

/* ---- host-file diff --------------------------------------------------------- */

/* "name=content" entries, sorted by name, into a set. */
static void files_from(struct dhcpstate_files *f, const char *const *entries)
{
	size_t n = 0;
	while (entries[n] != NULL)
		n++;
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		char mac[32];
		const char *eq = strchr(entries[i], '=');
		assert_non_null(eq);
		assert_true((size_t)(eq - entries[i]) < sizeof(mac));
		memcpy(mac, entries[i], (size_t)(eq - entries[i]));
		mac[eq - entries[i]] = '\0';
		struct buf b;
		buf_init(&b, 1024);
		assert_int_equal(buf_adds(&b, eq + 1), 0);
		assert_int_equal(dhcpstate_files_add(f, n, mac, &b), 0);
		buf_clear(&b);
	}
}

/* What the diff asked for, as "w NAME" / "u NAME" lines in order. */
struct ops {
	char log[512];
	int fail_at; /* the op (1-based) that fails with -EIO; 0: none */
	int n;
};

static int record(void *arg, enum dhcpstate_op op, const struct dhcpstate_file *f)
{
	struct ops *o = arg;
	size_t used = strlen(o->log);
	o->n++;
	int n = snprintf(o->log + used, sizeof(o->log) - used, "%s%c %s", used ? ", " : "",
			 op == DHCPSTATE_WRITE ? 'w' : 'u', f->name);
	assert_true(n > 0 && (size_t)n < sizeof(o->log) - used);
	return o->n == o->fail_at ? -EIO : 0;
}

#define E(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

struct diff_case {
	const char *what;
	const char *const *have, *const *want;
	const char *ops; /* in order */
	int rc;          /* 1: SIGHUP, 0: none */
};

static const struct diff_case diff_cases[] = {
	{"nothing", NONE, NONE, "", 0},
	{"first sync: only new files, inotify finds them", NONE,
	 E("aa:01=x,10.0.0.1", "aa:02=y,10.0.0.2"), "w aa-01, w aa-02", 0},
	{"the same: nothing to do", E("aa:01=x", "aa:02=y"), E("aa:01=x", "aa:02=y"), "", 0},
	{"a changed entry: written, SIGHUP", E("aa:01=x", "aa:02=y"), E("aa:01=x", "aa:02=z"),
	 "w aa-02", 1},
	{"a removed node: unlinked, SIGHUP", E("aa:01=x", "aa:02=y", "aa:03=z"),
	 E("aa:01=x", "aa:03=z"), "u aa-02", 1},
	{"all removed", E("aa:01=x", "aa:02=y"), NONE, "u aa-01, u aa-02", 1},
	{"one new between kept ones: no SIGHUP", E("aa:01=x", "aa:03=z"),
	 E("aa:01=x", "aa:02=y", "aa:03=z"), "w aa-02", 0},
	{"new, gone and changed at once, in name order", E("aa:02=y", "aa:04=q"),
	 E("aa:01=x", "aa:02=Y", "aa:03=z"), "w aa-01, w aa-02, w aa-03, u aa-04", 1},
};

static void test_diff(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(diff_cases); i++) {
		const struct diff_case *c = &diff_cases[i];
		struct dhcpstate_files have, want;
		struct ops o = {"", 0, 0};
		files_from(&have, c->have);
		files_from(&want, c->want);
		int rc = dhcpstate_diff(&have, &want, record, &o);
		if (rc != c->rc || strcmp(o.log, c->ops) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", c->what, rc, o.log, c->rc,
				 c->ops);
		dhcpstate_files_clear(&have);
		dhcpstate_files_clear(&want);
	}
}

static int count_writes(void *arg, enum dhcpstate_op op, const struct dhcpstate_file *f)
{
	size_t *n = arg;
	(void)f;
	*n += op == DHCPSTATE_WRITE;
	return 0;
}

/* Many new files at once (a bulk import) would overflow dnsmasq's inotify
 * queue: past DHCPSTATE_NEW_MAX, SIGHUP; up to it, inotify finds them. */
static void test_diff_many_new_files(void **state)
{
	(void)state;
	for (size_t n = DHCPSTATE_NEW_MAX; n <= DHCPSTATE_NEW_MAX + 1; n++) {
		struct dhcpstate_files have = {NULL, 0}, want = {NULL, 0};
		struct buf b;
		buf_init(&b, 64);
		for (size_t i = 0; i < n; i++) {
			char mac[18];
			FMT(mac, "02:00:00:00:%02zx:%02zx", i >> 8, i & 0xff);
			assert_int_equal(buf_adds(&b, "x"), 0);
			assert_int_equal(dhcpstate_files_add(&want, n, mac, &b), 0);
		}
		buf_clear(&b);
		size_t writes = 0;
		assert_int_equal(dhcpstate_diff(&have, &want, count_writes, &writes),
				 n > DHCPSTATE_NEW_MAX ? 1 : 0);
		assert_int_equal(writes, n);
		dhcpstate_files_clear(&want);
	}
}

/* The first failing step stops the diff and is its result. */
static void test_diff_stops_at_error(void **state)
{
	struct dhcpstate_files have, want;
	struct ops o = {"", 2, 0};
	(void)state;
	files_from(&have, E("aa:09=x"));
	files_from(&want, E("aa:01=x", "aa:02=y", "aa:03=z"));
	assert_int_equal(dhcpstate_diff(&have, &want, record, &o), -EIO);
	assert_string_equal(o.log, "w aa-01, w aa-02");
	dhcpstate_files_clear(&have);
	dhcpstate_files_clear(&want);
}

static void test_files_add(void **state)
{
	struct dhcpstate_files f = {NULL, 0};
	struct buf b;
	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_adds(&b, "52:54:00:00:00:01,10.0.0.5,n1,43200\n"), 0);
	assert_int_equal(dhcpstate_files_add(&f, 2, "52:54:00:00:00:01", &b), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.v[0].name, "52-54-00-00-00-01"); /* a file name */
	assert_string_equal(f.v[0].content, "52:54:00:00:00:01,10.0.0.5,n1,43200\n");
	assert_int_equal(b.len, 0); /* taken */
	/* never a path, never an empty or overlong name, never past the cap */
	static const char *const bad[] = {"", "../etc/x", "a/b", "0123456789012345678901234"};
	for (size_t i = 0; i < NELEM(bad); i++) {
		assert_int_equal(buf_adds(&b, "x"), 0);
		if (dhcpstate_files_add(&f, 2, bad[i], &b) != -EINVAL)
			fail_msg("\"%s\" taken as a file name", bad[i]);
		buf_reset(&b);
	}
	assert_int_equal(buf_adds(&b, "y"), 0);
	assert_int_equal(dhcpstate_files_add(&f, 2, "52:54:00:00:00:02", &b), 0);
	assert_int_equal(buf_adds(&b, "z"), 0);
	assert_int_equal(dhcpstate_files_add(&f, 2, "52:54:00:00:00:03", &b), -ENOSPC);
	assert_int_equal(f.n, 2);
	buf_clear(&b);
	dhcpstate_files_clear(&f);
	assert_null(f.v);
	assert_int_equal(f.n, 0);
	dhcpstate_files_clear(&f); /* empty: a no-op */
}

/* ---- the seen ring: log lines matched to hook calls --------------------------- */

#define ACK(mac) "dnsmasq-dhcp[7]: DHCPACK(br0) 10.0.0.5 " mac " n1"
#define SENT(ip) "dnsmasq-tftp[7]: sent /run/corral/dhcp/tftp/undionly.kpxe to " ip

/* One step: a log line read at t (seconds), or a hook call at t. */
struct seen_step {
	const char *line;  /* a log line, or NULL for a hook call */
	const char *event; /* hook line (dhcpconf_parse_event) */
	int64_t t;         /* seconds */
	int64_t want;      /* hook calls: the time taken, seconds; 0: none */
};

struct seen_case {
	const char *what;
	struct seen_step steps[6];
};

/* Lease of 600 s (known node), pool 120 s: expiry - length = the ACK's second. */
static const struct seen_case seen_cases[] = {
	{"a hook call takes its ACK's time",
	 {{ACK("52:54:00:00:00:01"), NULL, 1000, 0},
	  {NULL, "add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t1600\t", 1003, 1000}}},
	{"a hook call without an ACK in the log gets none",
	 {{ACK("52:54:00:00:00:02"), NULL, 1000, 0},
	  {NULL, "add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t1600\t", 1001, 0}}},
	{"an ACK is taken once",
	 {{ACK("52:54:00:00:00:01"), NULL, 1000, 0},
	  {NULL, "add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t1600\t", 1001, 1000},
	  {NULL, "old\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t1600\t", 1002, 0}}},
	{"two ACKs, two hook calls: in log order",
	 {{ACK("52:54:00:00:00:01"), NULL, 1000, 0},
	  {ACK("52:54:00:00:00:01"), NULL, 1001, 0},
	  {NULL, "add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t1600\t", 1002, 1000},
	  {NULL, "old\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t1601\t", 1002, 1001}}},
	{"an ACK that ran no hook is not taken for a later lease's",
	 {{ACK("52:54:00:00:00:01"), NULL, 1000, 0},
	  {ACK("52:54:00:00:00:01"), NULL, 1020, 0},
	  {NULL, "old\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t1620\t", 1021, 1020}}},
	{"a slow reader: the ACK's second or the next two",
	 {{ACK("52:54:00:00:00:01"), NULL, 1002, 0},
	  {NULL, "add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t1600\t", 1003, 1002}}},
	{"...but not three later",
	 {{ACK("52:54:00:00:00:01"), NULL, 1003, 0},
	  {NULL, "add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t1600\t", 1004, 0}}},
	{"an unknown machine's lease is the pool's length",
	 {{ACK("52:54:00:00:00:09"), NULL, 1000, 0},
	  {NULL, "add\t52:54:00:00:00:09\t10.0.0.150\t\t\t1120\t", 1001, 1000}}},
	{"no expiry: any recent ACK",
	 {{ACK("52:54:00:00:00:01"), NULL, 1000, 0},
	  {NULL, "add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t\t", 1010, 1000}}},
	{"older than 30 s is not trusted",
	 {{ACK("52:54:00:00:00:01"), NULL, 1000, 0},
	  {NULL, "add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t\t", 1031, 0}}},
	{"a TFTP transfer by the client's address",
	 {{SENT("10.0.0.5"), NULL, 1000, 0},
	  {NULL, "tftp\t90000\t10.0.0.5\t/run/corral/dhcp/tftp/undionly.kpxe", 1001, 1000}}},
	{"a TFTP transfer to another address is not it",
	 {{SENT("10.0.0.6"), NULL, 1000, 0},
	  {NULL, "tftp\t90000\t10.0.0.5\t/run/corral/dhcp/tftp/undionly.kpxe", 1001, 0}}},
	{"lines that no hook call follows are not noted",
	 {{"dnsmasq-dhcp[7]: DHCPOFFER(br0) 10.0.0.5 52:54:00:00:00:01", NULL, 1000, 0},
	  {"dnsmasq-dhcp[7]: DHCPREQUEST(br0) 10.0.0.5 52:54:00:00:00:01", NULL, 1000, 0},
	  {NULL, "add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t1600\t", 1001, 0}}},
};

static void test_seen(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(seen_cases); i++) {
		const struct seen_case *c = &seen_cases[i];
		struct dhcpstate_seen *s = calloc(1, sizeof(*s));
		assert_non_null(s);
		for (size_t k = 0; k < NELEM(c->steps) && (c->steps[k].line || c->steps[k].event);
		     k++) {
			const struct seen_step *st = &c->steps[k];
			if (st->line != NULL) {
				dhcpstate_seen_line(s, st->line, st->t * S_US);
				continue;
			}
			struct dhcp_event e;
			char key[64];
			int64_t at_s;
			assert_int_equal(dhcpconf_parse_event(st->event, &e), 0);
			assert_int_equal(dhcpstate_hook_key(&e, 600, 120, key, sizeof(key), &at_s),
					 0);
			int64_t got = dhcpstate_seen_take(s, key, at_s, st->t * S_US);
			if (got != st->want * S_US)
				fail_msg("%s, step %zu: got %lld, want %lld s", c->what, k,
					 (long long)got, (long long)st->want);
		}
		free(s);
	}
}

/* The ring holds the last DHCPSTATE_SEEN lines; older ones are gone. */
static void test_seen_ring_wraps(void **state)
{
	struct dhcpstate_seen *s = calloc(1, sizeof(*s));
	char line[128], key[64];
	(void)state;
	assert_non_null(s);
	for (unsigned i = 0; i < DHCPSTATE_SEEN + 10; i++) {
		FMT(line, "dnsmasq-tftp[7]: sent undionly.kpxe to 10.0.%u.%u", i / 250,
		    i % 250 + 1);
		dhcpstate_seen_line(s, line, (1000 + i / 100) * S_US);
	}
	FMT(key, "tftp 10.0.0.1"); /* the first: overwritten */
	assert_int_equal(dhcpstate_seen_take(s, key, -1, 1006 * S_US), 0);
	unsigned last = DHCPSTATE_SEEN + 9;
	FMT(key, "tftp 10.0.%u.%u", last / 250, last % 250 + 1);
	assert_int_equal(dhcpstate_seen_take(s, key, -1, 1006 * S_US), (1000 + last / 100) * S_US);
	free(s);
}

struct key_case {
	const char *event;
	int rc;
	const char *key;
	int64_t at_s;
};

static const struct key_case key_cases[] = {
	{"add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t5000\t", 0, "ack 52:54:00:00:00:01", 4400},
	{"old\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown ipxe\t5000\t", 0, "ack 52:54:00:00:00:01",
	 4400},
	{"add\t52:54:00:00:00:01\t10.0.0.5\t\t\t5000\t", 0, "ack 52:54:00:00:00:01", 4880},
	{"add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t600\t", 0, "ack 52:54:00:00:00:01", -1},
	{"add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t\t", 0, "ack 52:54:00:00:00:01", -1},
	{"tftp\t100\t10.0.0.7\t/x/snponly.efi", 0, "tftp 10.0.0.7", -1},
	{"del\t52:54:00:00:00:01\t10.0.0.5", -ENOENT, NULL, -1},
	{"init", -ENOENT, NULL, -1},
	{"arp-add\t52:54:00:00:00:01\t10.0.0.5", -ENOENT, NULL, -1},
};

static void test_hook_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(key_cases); i++) {
		const struct key_case *c = &key_cases[i];
		struct dhcp_event e;
		char key[64] = "";
		int64_t at_s = 12345;
		assert_int_equal(dhcpconf_parse_event(c->event, &e), 0);
		int rc = dhcpstate_hook_key(&e, 600, 120, key, sizeof(key), &at_s);
		if (rc != c->rc || (c->key != NULL && strcmp(key, c->key) != 0) || at_s != c->at_s)
			fail_msg("case %zu: got %d \"%s\" %lld", i, rc, key, (long long)at_s);
	}
	/* a key that does not fit is refused, never cut */
	struct dhcp_event e;
	char small[8];
	int64_t at_s;
	assert_int_equal(dhcpconf_parse_event(key_cases[0].event, &e), 0);
	assert_int_equal(dhcpstate_hook_key(&e, 600, 120, small, sizeof(small), &at_s), -ENOENT);
}

/* ---- the refusal ring ----------------------------------------------------------------- */

struct refusal_step {
	const char *mac, *message;
	int64_t t;   /* seconds */
	bool lately; /* what dhcpstate_refused_lately says */
	bool note;   /* then noted (a known node's refusal is recorded) */
};

static const struct refusal_step refusal_steps[] = {
	{"52:54:00:00:00:01", "ignored", 100, false, true},
	{"52:54:00:00:00:01", "ignored", 101, true, false}, /* the firmware asks again */
	{"52:54:00:00:00:01", "ignored", 159, true, false}, /* within the minute */
	{"52:54:00:00:00:01", "no address available", 130, false, true}, /* another reason */
	{"52:54:00:00:00:02", "ignored", 130, false, true},              /* another machine */
	{"52:54:00:00:00:01", "ignored", 160, false, true},              /* a minute later: again */
	{"52:54:00:00:00:01", "ignored", 161, true, false},
	{"52:54:00:00:00:01", "no address available", 191, false, false},
};

static void test_refusals(void **state)
{
	struct dhcpstate_refusals *r = calloc(1, sizeof(*r));
	(void)state;
	assert_non_null(r);
	for (size_t i = 0; i < NELEM(refusal_steps); i++) {
		const struct refusal_step *st = &refusal_steps[i];
		bool lately = dhcpstate_refused_lately(r, st->mac, st->message, st->t * S_US);
		if (lately != st->lately)
			fail_msg("step %zu (%s %s at %lld): lately %d, want %d", i, st->mac,
				 st->message, (long long)st->t, lately, st->lately);
		if (st->note)
			dhcpstate_refusal_note(r, st->mac, st->message, st->t * S_US);
	}
	/* An overlong reason is not one dnsmasq's log gave: not noted. */
	char longmsg[300];
	memset(longmsg, 'r', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	unsigned next = r->next;
	dhcpstate_refusal_note(r, "52:54:00:00:00:03", longmsg, 200 * S_US);
	assert_int_equal(r->next, next);
	free(r);
}

/* ---- event text ----------------------------------------------------------------------- */

struct lease_text_case {
	const char *line; /* hook line, vendor class after the 7th tab */
	const char *detail;
};

static const struct lease_text_case lease_text_cases[] = {
	{"add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown ipxe\t5000\t\tiPXE", "iPXE lease 10.0.0.5"},
	{"add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t5000\t\tPXEClient:Arch:00000:UNDI:002001",
	 "PXE firmware lease 10.0.0.5"},
	{"add\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t5000\t\tHTTPClient:Arch:00016:UNDI:003001",
	 "HTTP boot firmware lease 10.0.0.5"},
	{"old\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t5000\t01:52:54:00:00:00:01\t",
	 "OS renewal 10.0.0.5"},
	{"old\t52:54:00:00:00:01\t10.0.0.5\tn1\tknown\t5000", "OS renewal 10.0.0.5"},
};

static void test_lease_detail(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(lease_text_cases); i++) {
		const struct lease_text_case *c = &lease_text_cases[i];
		struct dhcp_event e;
		char detail[192];
		assert_int_equal(dhcpconf_parse_event(c->line, &e), 0);
		assert_int_equal(dhcpstate_lease_detail(&e, dhcpstate_hook_vendor(c->line), detail,
							sizeof(detail)),
				 0);
		assert_string_equal(detail, c->detail);
	}
	assert_string_equal(dhcpstate_hook_vendor("add\tm\ti\th\tt\te\tc\tvendor x\ty"),
			    "vendor x\ty");
	assert_string_equal(dhcpstate_hook_vendor("add\tm\ti"), "");
	struct dhcp_event e;
	char small[8];
	assert_int_equal(dhcpconf_parse_event(lease_text_cases[0].line, &e), 0);
	assert_int_equal(dhcpstate_lease_detail(&e, "", small, sizeof(small)), -E2BIG);
}

static void test_refusal_and_proxy_detail(void **state)
{
	struct dhcp_refusal_log ignored = {"DHCPDISCOVER", "52:54:00:00:00:01", "", "ignored"};
	struct dhcp_refusal_log nak = {"DHCPNAK", "52:54:00:00:00:01", "10.0.0.9", "wrong address"};
	struct dhcp_refusal_log noip = {"DHCPDISCOVER", "52:54:00:00:00:01", "",
					"no address available"};
	struct dhcp_proxy_log offer = {"52:54:00:00:00:01", "", ""};
	struct dhcp_proxy_log ipxe = {"52:54:00:00:00:01", "10.0.0.9",
				      "http://10.0.0.1:8080/boot/v1/bootscript?mac=${net0/mac}"};
	struct dhcp_proxy_log pxe = {"52:54:00:00:00:01", "10.0.0.9", "undionly.kpxe"};
	char d[192], small[16];
	(void)state;
	assert_int_equal(dhcpstate_refusal_detail(&ignored, d, sizeof(d)), 0);
	assert_string_equal(d, "not answered: the node is disabled (DHCPDISCOVER ignored)");
	assert_int_equal(dhcpstate_refusal_detail(&nak, d, sizeof(d)), 0);
	assert_string_equal(d, "refused: wrong address (DHCPNAK 10.0.0.9)");
	assert_int_equal(dhcpstate_refusal_detail(&noip, d, sizeof(d)), 0);
	assert_string_equal(d, "refused: no address available (DHCPDISCOVER)");
	assert_int_equal(dhcpstate_proxy_detail(&offer, d, sizeof(d)), 0);
	assert_string_equal(d, "proxy offer (the address comes from the site's DHCP)");
	assert_int_equal(dhcpstate_proxy_detail(&ipxe, d, sizeof(d)), 0);
	assert_string_equal(d, "iPXE proxy boot server 10.0.0.9: boot script URL");
	assert_int_equal(dhcpstate_proxy_detail(&pxe, d, sizeof(d)), 0);
	assert_string_equal(d, "PXE firmware proxy boot server 10.0.0.9: undionly.kpxe");
	assert_int_equal(dhcpstate_refusal_detail(&nak, small, sizeof(small)), -E2BIG);
	assert_int_equal(dhcpstate_proxy_detail(&pxe, small, sizeof(small)), -E2BIG);
}

/* The sizing rule: only the dnsmasq backend warns, only past its limit. */
static void test_sizing_warning(void **state)
{
	char w[256];
	assert_false(
		dhcpstate_sizing_warning("dnsmasq", DHCPSTATE_DNSMASQ_MAX_NODES, w, sizeof(w)));
	assert_string_equal(w, "");
	assert_true(
		dhcpstate_sizing_warning("dnsmasq", DHCPSTATE_DNSMASQ_MAX_NODES + 1, w, sizeof(w)));
	assert_string_equal(w,
			    "2001 nodes are more than the dnsmasq backend answers for at "
			    "power-on (2000 at most, README \"Sizing\"); set dhcp.backend = kea");
	assert_false(dhcpstate_sizing_warning("kea", 50000, w, sizeof(w)));
	assert_false(dhcpstate_sizing_warning(NULL, 50000, w, sizeof(w)));
	char small[8];
	assert_true(dhcpstate_sizing_warning("dnsmasq", 50000, small, sizeof(small)));
	assert_string_equal(small, ""); /* never a cut message */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_stops_at_error),
		cmocka_unit_test(test_diff_many_new_files),
		cmocka_unit_test(test_files_add),
		cmocka_unit_test(test_seen),
		cmocka_unit_test(test_seen_ring_wraps),
		cmocka_unit_test(test_hook_key),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_lease_detail),
		cmocka_unit_test(test_refusal_and_proxy_detail),
		cmocka_unit_test(test_sizing_warning),
	};
	return cmocka_run_group_tests_name("dhcpstate", tests, NULL, NULL) != 0;
}
