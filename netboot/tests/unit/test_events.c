/*
 * Unit tests for events against a real store (SQLite in a fresh temporary
 * directory per test) and the real writer thread: events added then
 * flushed are listed oldest first with what was recorded; a node's state,
 * last event and last-seen IP follow its events; rapid repeats of a step
 * are folded (same node, stage and detail within 2 s, and no state); an
 * event timed in the past sorts into its place without moving the node's
 * last event back; node id 0 records a discovered machine; an event for a
 * node deleted meanwhile is dropped without losing the rest of its batch;
 * events_flush is read-your-writes for many producers at once;
 * events_free writes what is queued; a locked database never blocks
 * events_add, and the queue's cap drops and counts; old events are pruned.
 *
 * Not covered: what the writer hands the hub (needs an HTTP client;
 * test_hub covers the hub itself and the integration tests the stream),
 * the 15 s idle ping, and the hourly prune after the first one (both need
 * a clock the module does not let a test move).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "events.h"
#include "log.h"
#include "store.h"
#include "tfmt.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SEC 1000000LL /* microseconds */

struct fx {
	char dir[64];
	char path[128];
	struct store *st;
	struct events *ev;
	sqlite3 *lock; /* db_lock()'s connection while it holds the lock */
};

static void fx_unlink(struct fx *f)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[160];

	for (size_t i = 0; i < NELEM(suffix); i++) {
		TFMT(p, "%s%s", f->path, suffix[i]);
		unlink(p);
	}
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	log_set_level(LOG_LVL_WARN); /* no "migrated schema" lines */
	TFMT(f->dir, "/tmp/test_events.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		goto err_dir;
	TFMT(f->path, "%s/corral.db", f->dir);
	if (store_open(f->path, &f->st) != 0)
		goto err_store;
	/* 30 days, the configured default; no hub: nothing listens here */
	if (events_start(f->st, NULL, 30, &f->ev) != 0)
		goto err_events;
	/* A flush that never returns fails the run instead of blocking it. */
	alarm(120);
	*state = f;
	return 0;

err_events:
	store_free(f->st);
	fx_unlink(f);
err_store:
	rmdir(f->dir);
err_dir:
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	/* A test that failed holding the lock lets go, so the writer can stop. */
	if (f->lock != NULL) {
		sqlite3_exec(f->lock, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(f->lock);
	}
	/* The writer thread uses the store: it stops first. */
	events_free(f->ev);
	store_free(f->st);
	fx_unlink(f);
	rmdir(f->dir);
	free(f);
	alarm(0);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- nodes and what the store says about them --------------------------- */

/* A node with one interface, in the shape api.c hands the store. */
static int64_t add_node(struct store *st, const char *name, const char *mac)
{
	bool created = false;
	struct store_err e = {{0}, {0}};
	int64_t id = 0;
	json_t *n = json_pack("{s:s, s:n, s:s, s:s, s:[], s:b, s:n, s:s, s:[{s:s, s:n}], s:{}, "
			      "s:s, s:s}",
			      "name", name, "nid", "arch", "x86_64", "role", "compute", "groups",
			      "enabled", 1, "profile", "params", "", "interfaces", "mac", mac, "ip",
			      "metadata", "user_data", "", "ipxe_efi", "snponly.efi");

	assert_non_null(n);
	if (store_node_put(st, n, true, &created, &e) != 0)
		fail_msg("node %s: %s: %s", name, e.field, e.message);
	json_decref(n);
	assert_true(created);
	assert_int_equal(store_node_id(st, name, &id), 0);
	return id;
}

/* The node's timeline, oldest first (caller decrefs). */
static json_t *timeline(struct store *st, int64_t id)
{
	json_t *list = NULL;

	assert_int_equal(store_events_list(st, id, 1000000, &list), 0);
	return list;
}

/* "stage:detail,stage:detail,..." of a timeline, to compare in one go. */
static void summary(json_t *list, char *out, size_t len)
{
	size_t i, n = 0;
	json_t *e;

	out[0] = '\0';
	json_array_foreach(list, i, e) {
		int k = snprintf(out + n, len - n, "%s%s:%s", i ? "," : "",
				 json_string_value(json_object_get(e, "stage")),
				 json_string_value(json_object_get(e, "detail")));
		assert_true(k > 0 && (size_t)k < len - n);
		n += (size_t)k;
	}
}

static void assert_timeline(struct store *st, int64_t id, const char *want)
{
	char got[2048];
	json_t *list = timeline(st, id);

	summary(list, got, sizeof(got));
	json_decref(list);
	assert_string_equal(got, want);
}

/* The node's state and last event (stage, time) as the API shows them. */
static void node_last(struct store *st, const char *name, char *state, char *stage, char *time,
		      size_t len)
{
	json_t *n = NULL, *last;

	assert_int_equal(store_node_get(st, name, &n), 0);
	store_release(st);
	TFMTN(state, len, "%s", json_string_value(json_object_get(n, "state")));
	last = json_object_get(n, "last_event");
	if (json_is_null(last)) {
		stage[0] = time[0] = '\0';
	} else {
		TFMTN(stage, len, "%s", json_string_value(json_object_get(last, "stage")));
		TFMTN(time, len, "%s", json_string_value(json_object_get(last, "time")));
	}
	json_decref(n);
}

/* ---- a second connection that holds the write lock ----------------------- */

/* Takes the database's write lock from outside the store, so the writer
 * thread waits on it (up to the store's 10 s busy timeout). */
static void db_lock(struct fx *f)
{
	assert_null(f->lock);
	assert_int_equal(sqlite3_open_v2(f->path, &f->lock, SQLITE_OPEN_READWRITE, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(f->lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
}

static void db_unlock(struct fx *f)
{
	assert_int_equal(sqlite3_exec(f->lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(f->lock);
	f->lock = NULL;
}

/* ---- add, flush, list ---------------------------------------------------- */

static void test_add_flush_list(void **state)
{
	struct fx *f = *state;
	char st[64], stage[64], when[64], longd[300];
	int64_t id = add_node(f->st, "n1", "52:54:00:00:00:01"), by_ip = 0;
	json_t *list, *e;

	/* Nothing yet: no last event, state "new". */
	node_last(f->st, "n1", st, stage, when, sizeof(st));
	assert_string_equal(st, "new");
	assert_string_equal(stage, "");

	events_add(f->ev, id, "bootscript", "10.0.0.50", "node n1 profile compute",
		   "52:54:00:00:00:01", "booting");
	events_add(f->ev, id, "kernel", "10.0.0.50", "images/r9/vmlinuz", NULL, NULL);
	events_add(f->ev, id, "initrd", "10.0.0.50", NULL, NULL, NULL);
	events_flush(f->ev);

	list = timeline(f->st, id);
	assert_int_equal(json_array_size(list), 3);
	e = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(e, "stage")), "bootscript");
	assert_string_equal(json_string_value(json_object_get(e, "source")), "10.0.0.50");
	assert_string_equal(json_string_value(json_object_get(e, "detail")),
			    "node n1 profile compute");
	assert_true(json_is_string(json_object_get(e, "time")));
	e = json_array_get(list, 2);
	assert_string_equal(json_string_value(json_object_get(e, "stage")), "initrd");
	assert_string_equal(json_string_value(json_object_get(e, "detail")), ""); /* NULL → "" */
	json_decref(list);
	assert_timeline(f->st, id,
			"bootscript:node n1 profile compute,kernel:images/r9/vmlinuz,initrd:");

	/* The state came with the boot script; the last event is the newest. */
	node_last(f->st, "n1", st, stage, when, sizeof(st));
	assert_string_equal(st, "booting");
	assert_string_equal(stage, "initrd");
	/* An event with the node's MAC records the IP it came from. */
	assert_int_equal(store_node_by_ip(f->st, "10.0.0.50", &by_ip), 0);
	assert_int_equal(by_ip, id);

	/* Phone-home: ready.  A detail too long for the record is cut, not refused. */
	memset(longd, 'd', sizeof(longd) - 1);
	longd[sizeof(longd) - 1] = '\0';
	events_add(f->ev, id, "phone-home", "10.0.0.50", longd, NULL, "ready");
	events_flush(f->ev);
	node_last(f->st, "n1", st, stage, when, sizeof(st));
	assert_string_equal(st, "ready");
	assert_string_equal(stage, "phone-home");
	list = timeline(f->st, id);
	assert_int_equal(json_array_size(list), 4);
	const char *d = json_string_value(json_object_get(json_array_get(list, 3), "detail"));
	assert_int_equal(strlen(d), sizeof(((struct store_event *)0)->detail) - 1);
	assert_memory_equal(d, longd, strlen(d));
	json_decref(list);

	/* Flushing with nothing queued returns at once. */
	events_flush(f->ev);
	events_flush(f->ev);
	assert_int_equal(events_dropped(f->ev), 0);
}

/* ---- folding repeats ----------------------------------------------------- */

static void test_fold(void **state)
{
	/* Added in this order, each at t0 + at microseconds. */
	static const struct {
		int node; /* 0: a, 1: b */
		int64_t at;
		const char *stage, *detail, *state;
		bool kept;
		bool flush; /* flush after this one: folding spans batches */
	} steps[] = {
		{0, 0, "bootscript", "x", NULL, true, false},
		{0, 500000, "bootscript", "x", NULL, false, true}, /* repeat within 2 s */
		{1, 600000, "bootscript", "x", NULL, true, false}, /* another node */
		{0, 1000000, "kernel", "x", NULL, true, false},    /* another stage */
		{0, 1200000, "kernel", "x", NULL, false, true},
		{0, 1400000, "kernel", "y", NULL, true, false},      /* another detail */
		{0, 1600000, "kernel", "y", "booting", true, false}, /* a state: kept */
		{0, 1800000, "kernel", "y", NULL, false, false},     /* 0.2 s after the last kept */
		{0, 3599999, "kernel", "y", NULL, false, true},      /* 1.999999 s after */
		{0, 3600000, "kernel", "y", NULL, true, false},      /* 2 s after: kept */
		{0, 3700000, "kernel", "y", "ready", true, false},   /* states are never folded */
		{0, 3800000, "kernel", "y", "ready", true, false},   /* not even repeated ones */
		{0, 3900000, "bootscript", "x", NULL, true, false},  /* a step after another one */
		{1, 4000000, "bootscript", "x", NULL, true, false},  /* b: 3.4 s after its last */
		{1, 4100000, "bootscript", "x", NULL, false, false}, /* b: folded */
	};
	struct fx *f = *state;
	int64_t ids[2] = {add_node(f->st, "a", "52:54:00:00:00:0a"),
			  add_node(f->st, "b", "52:54:00:00:00:0b")};
	const int64_t t0 = store_now_us() - 60 * SEC;
	char want[2][1024] = {"", ""};
	size_t len[2] = {0, 0};

	for (size_t i = 0; i < NELEM(steps); i++) {
		int k = steps[i].node;

		events_add_at(f->ev, t0 + steps[i].at, ids[k], steps[i].stage, "10.0.0.9",
			      steps[i].detail, NULL, steps[i].state);
		if (steps[i].flush)
			events_flush(f->ev);
		if (steps[i].kept) {
			int n = snprintf(want[k] + len[k], sizeof(want[k]) - len[k], "%s%s:%s",
					 len[k] ? "," : "", steps[i].stage, steps[i].detail);
			assert_true(n > 0 && (size_t)n < sizeof(want[k]) - len[k]);
			len[k] += (size_t)n;
		}
	}
	events_flush(f->ev);
	assert_timeline(f->st, ids[0], want[0]);
	assert_timeline(f->st, ids[1], want[1]);
	assert_int_equal(events_dropped(f->ev), 0);
}

/* ---- events learned of after the fact ----------------------------------- */

static void test_add_at(void **state)
{
	struct fx *f = *state;
	int64_t id = add_node(f->st, "late", "52:54:00:00:00:1a");
	const int64_t now = store_now_us();
	char st[64], stage[64], when[64], t[40];
	json_t *list;

	events_add_at(f->ev, now, id, "bootscript", "10.0.0.60", "b", NULL, "booting");
	events_flush(f->ev);
	/* The DHCP exchange that came before, learned of later. */
	events_add_at(f->ev, now - 30 * SEC, id, "dhcp", "10.0.0.60", "pxe lease", NULL, NULL);
	events_flush(f->ev);

	/* It sorts into its place in the timeline, with its own time... */
	list = timeline(f->st, id);
	assert_int_equal(json_array_size(list), 2);
	store_time_str(now - 30 * SEC, t, sizeof(t));
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "stage")),
			    "dhcp");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "time")), t);
	json_decref(list);
	/* ...but the node's last event stays the newest one. */
	node_last(f->st, "late", st, stage, when, sizeof(st));
	assert_string_equal(stage, "bootscript");
	store_time_str(now, t, sizeof(t));
	assert_string_equal(when, t);
	assert_string_equal(st, "booting");

	/* An event timed earlier with a state (the clock stepped back, say)
	 * still sets the state, which follows what happens in order; the last
	 * stage and time stay the newest. */
	events_add_at(f->ev, now - 20 * SEC, id, "phone-home", "10.0.0.60", "old", NULL, "ready");
	events_flush(f->ev);
	node_last(f->st, "late", st, stage, when, sizeof(st));
	assert_string_equal(stage, "bootscript");
	assert_string_equal(when, t);
	assert_string_equal(st, "ready");

	/* A newer event moves it forward; 0 means now. */
	events_add_at(f->ev, now + 5 * SEC, id, "kernel", "10.0.0.60", "k", NULL, NULL);
	events_flush(f->ev);
	node_last(f->st, "late", st, stage, when, sizeof(st));
	assert_string_equal(stage, "kernel");
	store_time_str(now + 5 * SEC, t, sizeof(t));
	assert_string_equal(when, t);
	events_add_at(f->ev, 0, id, "initrd", "10.0.0.60", "i", NULL, NULL);
	events_flush(f->ev);
	assert_timeline(f->st, id, "dhcp:pxe lease,phone-home:old,bootscript:b,initrd:i,kernel:k");
	/* "now" is before now + 5 s: the last event stays the kernel */
	node_last(f->st, "late", st, stage, when, sizeof(st));
	assert_string_equal(stage, "kernel");
}

/* ---- discovered machines ------------------------------------------------- */

static void test_discovered(void **state)
{
	struct fx *f = *state;
	json_t *list = NULL, *d;

	events_add(f->ev, 0, "unknown", "10.0.0.77", "", "52:54:00:00:00:77", NULL);
	events_add(f->ev, 0, "unknown", "10.0.0.88", "", "52:54:00:00:00:88", NULL);
	/* the same machine again at once: counted, not folded */
	events_add(f->ev, 0, "unknown", "10.0.0.78", "", "52:54:00:00:00:77", NULL);
	events_flush(f->ev);

	assert_int_equal(store_discovered_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 2);
	d = json_array_get(list, 0); /* newest first */
	assert_string_equal(json_string_value(json_object_get(d, "mac")), "52:54:00:00:00:77");
	assert_string_equal(json_string_value(json_object_get(d, "ip")), "10.0.0.78");
	assert_int_equal(json_integer_value(json_object_get(d, "requests")), 2);
	d = json_array_get(list, 1);
	assert_string_equal(json_string_value(json_object_get(d, "mac")), "52:54:00:00:00:88");
	assert_int_equal(json_integer_value(json_object_get(d, "requests")), 1);
	json_decref(list);
	assert_int_equal(store_discovered_exists(f->st, "52:54:00:00:00:88"), 0);
}

/* ---- a node deleted while its events were queued ------------------------- */

static void test_deleted_node(void **state)
{
	struct fx *f = *state;
	int64_t keep = add_node(f->st, "keep", "52:54:00:00:00:21");
	int64_t gone = add_node(f->st, "gone", "52:54:00:00:00:22");
	json_t *list = NULL;

	assert_int_equal(store_node_delete(f->st, "gone"), 0);
	/* Hold the writer on the lock so the events below make one batch. */
	db_lock(f);
	events_add(f->ev, keep, "primer", "10.0.0.21", "p", NULL, NULL);
	sleep_ms(200);
	events_add(f->ev, keep, "bootscript", "10.0.0.21", "b", NULL, "booting");
	events_add(f->ev, gone, "bootscript", "10.0.0.22", "b", "52:54:00:00:00:22", "booting");
	events_add(f->ev, gone, "kernel", "10.0.0.22", "k", NULL, NULL);
	events_add(f->ev, 0, "unknown", "10.0.0.99", "", "52:54:00:00:00:99", NULL);
	events_add(f->ev, keep, "kernel", "10.0.0.21", "k", NULL, NULL);
	db_unlock(f);
	events_flush(f->ev);

	/* The rest of the batch is stored: nothing was rolled back. */
	assert_timeline(f->st, keep, "primer:p,bootscript:b,kernel:k");
	assert_timeline(f->st, gone, "");
	assert_int_equal(store_discovered_list(f->st, &list), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);

	/* And the writer goes on as before. */
	events_add(f->ev, keep, "initrd", "10.0.0.21", "i", NULL, NULL);
	events_flush(f->ev);
	assert_timeline(f->st, keep, "primer:p,bootscript:b,kernel:k,initrd:i");
}

/* ---- many producers ----------------------------------------------------- */

#define PRODUCERS 4
#define PER_PRODUCER 1000
#define CHECK_EVERY 100

struct producer {
	struct fx *f;
	int64_t node_id;
	int id;
	int failed; /* cmocka's asserts are not for other threads */
	char why[160];
};

/* Adds this producer's events; every CHECK_EVERY, flushes and reads its
 * own events back through its own store connection. */
static void *producer_run(void *arg)
{
	struct producer *p = arg;
	char detail[32];

	for (int i = 0; i < PER_PRODUCER && !p->failed; i++) {
		/* a worker thread: a cut ends it as failed, the test fails after the join */
		if (tfmt_cut(detail, sizeof(detail), "p%d-%04d", p->id, i)) {
			p->failed = 1;
			(void)tfmt_cut(p->why, sizeof(p->why), "detail %d cut", i);
			break;
		}
		events_add(p->f->ev, p->node_id, "file", "10.0.1.1", detail, NULL, NULL);
		if ((i + 1) % CHECK_EVERY != 0)
			continue;
		events_flush(p->f->ev);
		json_t *list = NULL;
		if (store_events_list(p->f->st, p->node_id, 100000, &list) != 0) {
			p->failed = 1;
			(void)tfmt_cut(p->why, sizeof(p->why), "list failed");
		} else if (json_array_size(list) != (size_t)i + 1) {
			p->failed = 1;
			(void)tfmt_cut(p->why, sizeof(p->why), "after flush of %d: %zu listed",
				       i + 1, json_array_size(list));
		}
		json_decref(list);
	}
	store_release(p->f->st);
	return NULL;
}

static void test_producers(void **state)
{
	struct fx *f = *state;
	pthread_t t[PRODUCERS];
	struct producer p[PRODUCERS];
	char name[16], mac[18], detail[32];

	for (int i = 0; i < PRODUCERS; i++) {
		TFMT(name, "p%d", i);
		TFMT(mac, "52:54:00:00:01:%02x", i);
		p[i] = (struct producer){f, add_node(f->st, name, mac), i, 0, ""};
	}
	for (int i = 0; i < PRODUCERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, producer_run, &p[i]), 0);
	/* All joined before any check: a failed test must not leave threads
	 * running on the store that teardown frees. */
	for (int i = 0; i < PRODUCERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < PRODUCERS; i++)
		if (p[i].failed)
			fail_msg("producer %d: %s", i, p[i].why);

	/* Every event of every producer, each producer's in its order. */
	for (int i = 0; i < PRODUCERS; i++) {
		json_t *list = timeline(f->st, p[i].node_id), *e;
		size_t k;

		assert_int_equal(json_array_size(list), PER_PRODUCER);
		json_array_foreach(list, k, e) {
			TFMT(detail, "p%d-%04zu", i, k);
			assert_string_equal(json_string_value(json_object_get(e, "detail")),
					    detail);
		}
		json_decref(list);
	}
	assert_int_equal(events_dropped(f->ev), 0);
}

/* ---- stopping ------------------------------------------------------------ */

/* Lets go of a db_lock() after a while, from another thread. */
static void *unlock_later(void *arg)
{
	sleep_ms(300);
	if (sqlite3_exec(arg, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return arg; /* the test sees the failure */
	return NULL;
}

static void test_free_writes_queue(void **state)
{
	struct fx *f = *state;
	int64_t id = add_node(f->st, "q", "52:54:00:00:00:31");
	char detail[16];
	json_t *list;
	pthread_t t;
	void *unlock_rc = NULL;

	/* The writer waits on a held lock, so the events are still queued (or
	 * in a batch not yet written) when events_free is called. */
	db_lock(f);
	for (int i = 0; i < 50; i++) {
		TFMT(detail, "%02d", i);
		events_add(f->ev, id, "file", "10.0.0.31", detail, NULL, NULL);
	}
	assert_int_equal(pthread_create(&t, NULL, unlock_later, f->lock), 0);
	events_free(f->ev);
	f->ev = NULL;
	assert_int_equal(pthread_join(t, &unlock_rc), 0);
	assert_null(unlock_rc);
	sqlite3_close(f->lock);
	f->lock = NULL;
	list = timeline(f->st, id);
	assert_int_equal(json_array_size(list), 50);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 49), "detail")),
			    "49");
	json_decref(list);

	events_free(NULL);
	/* A new writer on the same store carries on. */
	assert_int_equal(events_start(f->st, NULL, 30, &f->ev), 0);
	events_add(f->ev, id, "file", "10.0.0.31", "after", NULL, NULL);
	events_flush(f->ev);
	list = timeline(f->st, id);
	assert_int_equal(json_array_size(list), 51);
	json_decref(list);
}

/* ---- a database that does not answer ------------------------------------ */

#define QUEUE_CAP 100000 /* events.h: "more than 100,000 queued" */

static void test_backlog(void **state)
{
	struct fx *f = *state;
	int64_t id = add_node(f->st, "storm", "52:54:00:00:00:41");
	char detail[16];
	struct timespec t0, t1;
	json_t *list;
	uint64_t dropped;

	db_lock(f);
	/* The writer takes this one and waits on the lock... */
	events_add(f->ev, id, "primer", "10.0.0.41", "p", NULL, NULL);
	sleep_ms(300);
	/* ...while a storm fills the queue past its cap, without waiting. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < QUEUE_CAP + 5; i++) {
		TFMT(detail, "%06d", i);
		events_add(f->ev, id, "file", "10.0.0.41", detail, NULL, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Well inside the store's 10 s busy timeout: events_add never waited on it. */
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	/* Past the cap, events are dropped and counted: 5 if the writer had
	 * taken the primer by then (300 ms is plenty), 6 if not. */
	dropped = events_dropped(f->ev);
	assert_in_range(dropped, 5, 6);
	db_unlock(f);
	events_flush(f->ev);

	/* Everything that fit is stored, in order; the newest were dropped. */
	list = timeline(f->st, id);
	assert_int_equal(json_array_size(list), QUEUE_CAP + 6 - dropped);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "stage")),
			    "primer");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "detail")),
			    "000000");
	TFMT(detail, "%06d", (int)(QUEUE_CAP + 4 - dropped));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(list, json_array_size(list) - 1), "detail")),
			    detail);
	json_decref(list);

	/* The queue works again once drained. */
	events_add(f->ev, id, "after", "10.0.0.41", "a", NULL, NULL);
	events_flush(f->ev);
	assert_int_equal(events_dropped(f->ev), dropped);
	char st[64], stage[64], when[64];
	node_last(f->st, "storm", st, stage, when, sizeof(st));
	assert_string_equal(stage, "after");
}

/* ---- pruning ------------------------------------------------------------- */

static void test_prune(void **state)
{
	struct fx *f = *state;
	int64_t id = add_node(f->st, "old", "52:54:00:00:00:51");
	const int64_t now = store_now_us();

	/* The writer prunes after its first batch: past keep_days (30) goes. */
	events_add_at(f->ev, now - 40LL * 86400 * SEC, id, "dhcp", "10.0.0.51", "40 days", NULL,
		      NULL);
	events_add_at(f->ev, now - 10LL * 86400 * SEC, id, "dhcp", "10.0.0.51", "10 days", NULL,
		      NULL);
	events_add(f->ev, id, "bootscript", "10.0.0.51", "now", NULL, NULL);
	events_flush(f->ev);
	assert_timeline(f->st, id, "dhcp:10 days,bootscript:now");
}

/* ---- fields cut to fit ----------------------------------------------------- */

/*
 * A detail longer than the record keeps its start, and is never cut inside
 * a UTF-8 character: the timeline is JSON, which holds only whole ones.
 */
static void test_detail_cut_between_characters(void **state)
{
	struct fx *f = *state;
	int64_t id = add_node(f->st, "u1", "52:54:00:00:00:61");
	const size_t cap = sizeof(((struct store_event *)0)->detail) - 1;
	char d[300];

	/* "é" (2 bytes) straddles the cap: it goes, the 'a's before it stay */
	memset(d, 'a', cap - 1);
	TFMTN(d + cap - 1, sizeof(d) - (cap - 1), "\xc3\xa9tail");
	events_add(f->ev, id, "file", "10.0.0.61", d, NULL, NULL);
	/* a 3-byte "€" ending exactly at the cap stays whole */
	memset(d, 'b', cap - 3);
	TFMTN(d + cap - 3, sizeof(d) - (cap - 3), "\xe2\x82\xacmore");
	events_add(f->ev, id, "file", "10.0.0.61", d, NULL, NULL);
	events_flush(f->ev);

	json_t *list = timeline(f->st, id);
	assert_int_equal(json_array_size(list), 2);
	const char *got = json_string_value(json_object_get(json_array_get(list, 0), "detail"));
	assert_non_null(got);
	assert_int_equal(strlen(got), cap - 1);
	assert_int_equal(strspn(got, "a"), cap - 1);
	got = json_string_value(json_object_get(json_array_get(list, 1), "detail"));
	assert_non_null(got);
	assert_int_equal(strlen(got), cap);
	assert_string_equal(got + cap - 3, "\xe2\x82\xac");
	json_decref(list);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_add_flush_list),
		T(test_fold),
		T(test_add_at),
		T(test_discovered),
		T(test_deleted_node),
		T(test_producers),
		T(test_free_writes_queue),
		T(test_backlog),
		T(test_prune),
		T(test_detail_cut_between_characters),
	};
#undef T

	return cmocka_run_group_tests_name("events", tests, NULL, NULL) != 0;
}
