/*
 * Unit tests for bootcache: hits, misses on another generation or after the
 * validity window, replacement, clear, eviction at the byte limit, prepared
 * responses, and many keys and threads at once.
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

#include "bootcache.h"
#include "tfmt.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct bootcache_meta meta_of(int64_t id, const char *mac, const char *detail)
{
	struct bootcache_meta m;

	memset(&m, 0, sizeof(m));
	m.node_id = id;
	m.kind = (int)(id % 4);
	TFMT(m.mac, "%s", mac);
	TFMT(m.detail, "%s", detail);
	return m;
}

static void put_str(struct bootcache *c, const char *key, uint64_t gen, int64_t until,
		    const char *script, const struct bootcache_meta *m)
{
	bootcache_put(c, key, gen, until, script, strlen(script), m);
}

/* 1 and the script in *got (caller frees) on a hit; 0 on a miss. */
static int get_str(struct bootcache *c, const char *key, uint64_t gen, int64_t now, char **got,
		   struct bootcache_meta *m)
{
	struct buf b;
	int hit;

	buf_init(&b, 1u << 20);
	hit = bootcache_get(c, key, gen, now, &b, m);
	*got = buf_take(&b);
	return hit;
}

static void assert_meta_equal(const struct bootcache_meta *a, const struct bootcache_meta *b)
{
	assert_int_equal(a->node_id, b->node_id);
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->mac, b->mac);
	assert_string_equal(a->detail, b->detail);
}

static void test_hit(void **state)
{
	struct bootcache *c = NULL;
	struct bootcache_meta m = meta_of(5, "52:54:00:12:34:56", "node x1 profile compute");
	struct bootcache_meta got_m;
	char *got;

	(void)state;
	assert_int_equal(bootcache_new(1u << 20, &c), 0);
	assert_non_null(c);
	put_str(c, "mac=52:54:00:12:34:56", 7, 1000000, "#!ipxe\nboot\n", &m);
	memset(&got_m, 0, sizeof(got_m));
	assert_int_equal(get_str(c, "mac=52:54:00:12:34:56", 7, 999999, &got, &got_m), 1);
	assert_string_equal(got, "#!ipxe\nboot\n");
	assert_meta_equal(&got_m, &m);
	free(got);
	/* A hit does not use the entry up. */
	assert_int_equal(get_str(c, "mac=52:54:00:12:34:56", 7, 0, &got, &got_m), 1);
	assert_string_equal(got, "#!ipxe\nboot\n");
	free(got);
	bootcache_free(c);
}

struct miss_case {
	const char *what;
	const char *key;
	uint64_t gen;
	int64_t now;
	int hit;
};

/* Against one entry: key "mac=aa", generation 3, valid until 5000. */
static const struct miss_case miss_cases[] = {
	{"same key, gen, before expiry", "mac=aa", 3, 4999, 1},
	{"long before expiry", "mac=aa", 3, -1000000, 1},
	{"at the expiry instant", "mac=aa", 3, 5000, 0},
	{"after expiry", "mac=aa", 3, 5001, 0},
	{"older generation", "mac=aa", 2, 0, 0},
	{"newer generation", "mac=aa", 4, 0, 0},
	{"other key", "mac=ab", 3, 0, 0},
	{"key prefix", "mac=a", 3, 0, 0},
	{"key extended", "mac=aaa", 3, 0, 0},
	{"key case", "MAC=aa", 3, 0, 0},
	{"empty key", "", 3, 0, 0},
};

static void test_miss(void **state)
{
	struct bootcache *c = NULL;
	struct bootcache_meta m = meta_of(1, "aa", "d");

	(void)state;
	assert_int_equal(bootcache_new(1u << 20, &c), 0);
	put_str(c, "mac=aa", 3, 5000, "script", &m);
	for (size_t i = 0; i < NELEM(miss_cases); i++) {
		const struct miss_case *k = &miss_cases[i];
		struct bootcache_meta got_m = meta_of(99, "untouched", "untouched");
		struct buf b;
		int hit;

		buf_init(&b, 1024);
		assert_int_equal(buf_adds(&b, "prefix:"), 0);
		hit = bootcache_get(c, k->key, k->gen, k->now, &b, &got_m);
		if (hit != k->hit)
			fail_msg("%s: hit %d, want %d", k->what, hit, k->hit);
		if (hit) {
			/* appended to what the buffer held */
			assert_string_equal(buf_str(&b), "prefix:script");
			assert_int_equal(got_m.node_id, 1);
		} else {
			/* a miss writes nothing */
			assert_string_equal(buf_str(&b), "prefix:");
			assert_int_equal(got_m.node_id, 99);
			assert_string_equal(got_m.mac, "untouched");
		}
		buf_clear(&b);
	}
	bootcache_free(c);
}

/* A script that does not fit the caller's buffer is a miss, not a cut copy. */
static void test_buffer_too_small(void **state)
{
	struct bootcache *c = NULL;
	struct bootcache_meta m = meta_of(1, "aa", "d"), got_m = meta_of(0, "", "");
	struct buf b;

	(void)state;
	assert_int_equal(bootcache_new(1u << 20, &c), 0);
	put_str(c, "k", 1, 100, "0123456789", &m);
	buf_init(&b, 9);
	assert_int_equal(bootcache_get(c, "k", 1, 0, &b, &got_m), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(got_m.node_id, 0);
	buf_clear(&b);
	buf_init(&b, 10);
	assert_int_equal(bootcache_get(c, "k", 1, 0, &b, &got_m), 1);
	assert_string_equal(buf_str(&b), "0123456789");
	buf_clear(&b);
	bootcache_free(c);
}

/* Scripts are bytes with a length: embedded NULs survive. */
static void test_binary_script(void **state)
{
	struct bootcache *c = NULL;
	struct bootcache_meta m = meta_of(2, "bb", "");
	static const char script[] = {'a', 'b', '\0', 'c', 'd'};
	struct buf b;

	(void)state;
	assert_int_equal(bootcache_new(1u << 20, &c), 0);
	bootcache_put(c, "k", 1, 100, script, sizeof(script), &m);
	buf_init(&b, 64);
	assert_int_equal(bootcache_get(c, "k", 1, 0, &b, &m), 1);
	assert_int_equal(b.len, sizeof(script));
	assert_memory_equal(b.data, script, sizeof(script));
	buf_clear(&b);
	/* and an empty script is a hit with nothing appended */
	bootcache_put(c, "e", 1, 100, "", 0, &m);
	buf_init(&b, 64);
	assert_int_equal(bootcache_get(c, "e", 1, 0, &b, &m), 1);
	assert_int_equal(b.len, 0);
	buf_clear(&b);
	bootcache_free(c);
}

static void test_replace(void **state)
{
	struct bootcache *c = NULL;
	struct bootcache_meta m1 = meta_of(1, "aa", "first"), m2 = meta_of(2, "aa", "second");
	struct bootcache_meta got_m;
	char *got;

	(void)state;
	assert_int_equal(bootcache_new(1u << 20, &c), 0);
	put_str(c, "mac=aa", 1, 100, "old", &m1);
	put_str(c, "mac=aa", 2, 200, "new script", &m2);
	/* the old generation is gone */
	assert_int_equal(get_str(c, "mac=aa", 1, 0, &got, &got_m), 0);
	free(got);
	assert_int_equal(get_str(c, "mac=aa", 2, 150, &got, &got_m), 1);
	assert_string_equal(got, "new script");
	assert_meta_equal(&got_m, &m2);
	free(got);
	/* the validity window is the new one's */
	assert_int_equal(get_str(c, "mac=aa", 2, 199, &got, &got_m), 1);
	free(got);
	assert_int_equal(get_str(c, "mac=aa", 2, 200, &got, &got_m), 0);
	free(got);
	/* replacing with the same generation, shorter script */
	put_str(c, "mac=aa", 2, 300, "s", &m1);
	assert_int_equal(get_str(c, "mac=aa", 2, 0, &got, &got_m), 1);
	assert_string_equal(got, "s");
	assert_meta_equal(&got_m, &m1);
	free(got);
	bootcache_free(c);
}

static void test_clear(void **state)
{
	struct bootcache *c = NULL;
	struct bootcache_meta m = meta_of(1, "aa", "d"), got_m;
	char key[32], *got;

	(void)state;
	assert_int_equal(bootcache_new(1u << 20, &c), 0);
	for (int i = 0; i < 50; i++) {
		TFMT(key, "mac=%d", i);
		put_str(c, key, 1, 100, key, &m);
	}
	bootcache_clear(c);
	for (int i = 0; i < 50; i++) {
		TFMT(key, "mac=%d", i);
		assert_int_equal(get_str(c, key, 1, 0, &got, &got_m), 0);
		free(got);
	}
	/* Usable after a clear, with its full capacity. */
	for (int i = 0; i < 100; i++) {
		TFMT(key, "n%d", i);
		put_str(c, key, 1, 100, key, &m);
	}
	for (int i = 0; i < 100; i++) {
		TFMT(key, "n%d", i);
		assert_int_equal(get_str(c, key, 1, 0, &got, &got_m), 1);
		assert_string_equal(got, key);
		free(got);
	}
	bootcache_clear(c);
	bootcache_clear(c); /* an empty cache clears fine */
	bootcache_free(c);
	bootcache_free(NULL);
}

/*
 * At the byte limit a put evicts what was not used since the clock last
 * passed, never more than the limit is held, and a replaced key does not
 * count twice.
 */
/* bootcache_purge(): expired and older-generation entries go, fresh ones stay. */
static void test_purge(void **state)
{
	struct bootcache *c = NULL;
	struct bootcache_meta m = meta_of(3, "52:54:00:00:00:03", "");
	struct bootcache_meta got_m;
	char *got;

	(void)state;
	assert_int_equal(bootcache_new(1u << 20, &c), 0);
	put_str(c, "fresh", 5, 2000, "kept", &m);
	put_str(c, "memo", 5, 1000, "expires", &m);
	put_str(c, "old", 4, 5000, "stale", &m);
	put_str(c, "newer", 6, 5000, "a memo's gen is above the store's", &m);
	size_t before = bootcache_bytes(c);
	assert_int_equal(bootcache_count(c), 4);
	size_t freed = bootcache_purge(c, 5, 1000);
	assert_int_equal(bootcache_count(c), 2);
	assert_int_equal(bootcache_bytes(c) + freed, before);
	assert_true(freed >= 2 * bootcache_entry_cost(4, 5, 0));
	assert_int_equal(freed, bootcache_entry_cost(5, strlen("expires"), 0) +
					bootcache_entry_cost(4, strlen("stale"), 0));
	assert_int_equal(get_str(c, "fresh", 5, 1500, &got, &got_m), 1);
	assert_string_equal(got, "kept");
	free(got);
	assert_int_equal(get_str(c, "newer", 6, 1500, &got, &got_m), 1);
	free(got);
	assert_int_equal(get_str(c, "memo", 5, 999, &got, &got_m), 0);
	free(got);
	assert_int_equal(get_str(c, "old", 4, 999, &got, &got_m), 0);
	free(got);
	/* nothing left to drop: nothing freed */
	assert_int_equal(bootcache_purge(c, 5, 1500), 0);
	assert_int_equal(
		bootcache_purge(c, 7, 1500),
		bootcache_entry_cost(6, strlen("kept"), 0) +
			bootcache_entry_cost(6, strlen("a memo's gen is above the store's"), 0));
	assert_int_equal(bootcache_count(c), 0);
	assert_int_equal(bootcache_bytes(c), 0);
	bootcache_free(c);
}

static void test_full(void **state)
{
	struct bootcache *c = NULL;
	struct bootcache_meta m = meta_of(1, "aa", "d"), got_m;
	size_t one = bootcache_entry_cost(3 + 2, 8, 0); /* "kNN" and detail "d", "script.." */
	char key[8], *got;
	int kept = 0;

	(void)state;
	assert_int_equal(bootcache_new(20 * one, &c), 0);
	for (int i = 0; i < 20; i++) {
		TFMT(key, "k%02d", i);
		put_str(c, key, 1, 100, "script..", &m);
	}
	assert_int_equal(bootcache_count(c), 20);
	assert_int_equal(bootcache_bytes(c), 20 * one);
	for (int i = 0; i < 10; i++)
		put_str(c, "k00", 1, 100, "script..", &m); /* replaced in place */
	assert_int_equal(bootcache_bytes(c), 20 * one);
	/* Every entry is marked used at its put; a sweep clears the marks and
	 * evicts on its second pass: then k05 is asked for again. */
	put_str(c, "k20", 1, 100, "script..", &m);
	assert_true(bootcache_bytes(c) <= 20 * one);
	assert_int_equal(get_str(c, "k20", 1, 0, &got, &got_m), 1);
	free(got);
	for (int round = 0; round < 50; round++) {
		assert_int_equal(get_str(c, "k05", 1, 0, &got, &got_m), 1);
		free(got);
		TFMT(key, "n%02d", round);
		put_str(c, key, 1, 100, "script..", &m);
		assert_true(bootcache_bytes(c) <= 20 * one);
	}
	/* k05, used between every two puts, survived 50 evictions; most others did not */
	for (int i = 0; i < 20; i++) {
		TFMT(key, "k%02d", i);
		kept += get_str(c, key, 1, 0, &got, &got_m);
		free(got);
	}
	assert_int_equal(get_str(c, "k05", 1, 0, &got, &got_m), 1);
	free(got);
	assert_true(kept < 10);
	/* an entry larger than the whole limit is not kept at all */
	{
		char big[4096];
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		bootcache_free(c);
		assert_int_equal(bootcache_new(1024, &c), 0);
		put_str(c, "big", 1, 100, big, &m);
		assert_int_equal(bootcache_count(c), 0);
		assert_int_equal(get_str(c, "big", 1, 0, &got, &got_m), 0);
		free(got);
	}
	bootcache_free(c);
}

struct replied {
	struct MHD_Response *resp;
	size_t len;
	int calls;
};

static int reply_fn(void *arg, struct MHD_Response *resp, size_t len)
{
	struct replied *r = arg;
	r->resp = resp;
	r->len = len;
	r->calls++;
	return 7;
}

/*
 * A prepared entry hands the same response to every hit (no copy), the
 * plain kind none; both answer bootcache_get() with their bytes.
 */
static void test_reply(void **state)
{
	struct bootcache *c = NULL;
	struct bootcache_meta m = meta_of(3, "cc", "prep"), got_m;
	struct replied r1 = {0}, r2 = {0};
	int rc = 0;
	char *got;

	(void)state;
	assert_int_equal(bootcache_new(1u << 20, &c), 0);
	bootcache_put_reply(c, "mac=cc", 4, 100, "#!ipxe\n", 7, &m, "text/plain");
	assert_int_equal(bootcache_reply(c, "mac=cc", 4, 0, reply_fn, &r1, &got_m, &rc), 1);
	assert_int_equal(rc, 7);
	assert_non_null(r1.resp);
	assert_int_equal(r1.len, 7);
	assert_meta_equal(&got_m, &m);
	assert_int_equal(bootcache_reply(c, "mac=cc", 4, 0, reply_fn, &r2, &got_m, &rc), 1);
	assert_ptr_equal(r1.resp, r2.resp);
	assert_int_equal(get_str(c, "mac=cc", 4, 0, &got, &got_m), 1);
	assert_string_equal(got, "#!ipxe\n");
	free(got);
	/* stale: no call */
	r1.calls = 0;
	assert_int_equal(bootcache_reply(c, "mac=cc", 5, 0, reply_fn, &r1, &got_m, &rc), 0);
	assert_int_equal(bootcache_reply(c, "mac=cc", 4, 100, reply_fn, &r1, &got_m, &rc), 0);
	assert_int_equal(r1.calls, 0);
	/* a plain entry has no prepared response */
	put_str(c, "tie x", 4, 100, "", &m);
	assert_int_equal(bootcache_reply(c, "tie x", 4, 0, reply_fn, &r1, &got_m, &rc), 0);
	assert_int_equal(r1.calls, 0);
	/* replacing a prepared entry drops the old response; the new one answers */
	bootcache_put_reply(c, "mac=cc", 4, 100, "#!ipxe\nexit\n", 12, &m, "text/plain");
	assert_int_equal(bootcache_reply(c, "mac=cc", 4, 0, reply_fn, &r1, &got_m, &rc), 1);
	assert_int_equal(r1.len, 12);
	bootcache_free(c);
}

/* More keys than buckets: chains keep every key apart. */
static void test_many_keys(void **state)
{
	struct bootcache *c = NULL;
	struct bootcache_meta m, got_m;
	char key[40], script[40], *got;
	const int n = 40000;

	(void)state;
	assert_int_equal(bootcache_new((size_t)n * bootcache_entry_cost(24, 16, 0), &c), 0);
	for (int i = 0; i < n; i++) {
		TFMT(key, "mac=52:54:00:%02x:%02x:%02x", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		TFMT(script, "script %d", i);
		m = meta_of(i, key + 4, "");
		put_str(c, key, 9, 100, script, &m);
	}
	for (int i = 0; i < n; i++) {
		TFMT(key, "mac=52:54:00:%02x:%02x:%02x", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		TFMT(script, "script %d", i);
		if (get_str(c, key, 9, 0, &got, &got_m) != 1)
			fail_msg("key %s missing", key);
		assert_string_equal(got, script);
		assert_int_equal(got_m.node_id, i);
		free(got);
	}
	bootcache_free(c);
}

/* Readers and writers at once: every hit is a whole, matching script. */
struct worker {
	struct bootcache *c;
	int id;
	int bad;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char key[32], script[64];

	for (int i = 0; i < 20000; i++) {
		int k = (i * 7 + w->id) % 64;
		struct bootcache_meta m = meta_of(k, "", ""), got_m;
		struct buf b;

		/* a worker thread: a cut counts as bad, the test fails after the join */
		if (tfmt_cut(key, sizeof(key), "k%d", k) ||
		    tfmt_cut(script, sizeof(script), "script for key %d", k)) {
			w->bad++;
			continue;
		}
		if (i % 3 == 0) {
			bootcache_put(w->c, key, 1, 100, script, strlen(script), &m);
			continue;
		}
		if (i % 997 == 0)
			bootcache_clear(w->c);
		if (i % 5 == 0) { /* prepared entries evicted under readers */
			bootcache_put_reply(w->c, key, 1, 100, script, strlen(script), &m,
					    "text/plain");
			continue;
		}
		buf_init(&b, 1024);
		if (bootcache_get(w->c, key, 1, 0, &b, &got_m) &&
		    (strcmp(buf_str(&b), script) != 0 || got_m.node_id != k))
			w->bad++;
		buf_clear(&b);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct bootcache *c = NULL;
	pthread_t t[4];
	struct worker w[4];

	(void)state;
	assert_int_equal(bootcache_new(20 * bootcache_entry_cost(4, 20, 0) + 20, &c),
			 0); /* small: it evicts often */
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){c, i, 0};
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	bootcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit),
		cmocka_unit_test(test_miss),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_binary_script),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_purge),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("bootcache", tests, NULL, NULL) != 0;
}
