/*
 * events: queued, batched boot-event writes.  See events.h.
 */
#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define EVENTS_MAX_QUEUE 100000
#define EVENTS_KEEP_CAP 4096    /* a queue array larger than this is freed once mostly unused */
#define EVENTS_SLOTS 32768      /* keys whose latest row the writer remembers; a power of 2 */
#define EVENTS_PRUNE_STEP 10000 /* rows deleted at most per step */
#define EVENTS_AGE_EVERY_US (10LL * 1000000) /* look for old rows this often */
#define EVENTS_HOURLY_US (3600LL * 1000000)  /* recount; old discovered machines */
#define EVENTS_DISCOVERED_STEP 100000        /* discovered machines forgotten per hour */
/* Slots of the queue's index of each node's latest event (a power of 2). */
#define EVENTS_RECENT 16384

/*
 * A key's latest row: the node (or, node_id 0, the MAC) and a hash of what
 * makes two events identical, so that most events that are not repeats
 * are told apart without comparing strings.  A hash that matches is only
 * a hint: inside a batch the strings are compared, and a row stored
 * earlier is added to only if the store finds the same strings in it.
 */
struct events_slot {
	int64_t node_id;
	uint64_t hash;   /* events_hash() of its event */
	int64_t row;     /* its stored row; 0 while none */
	int64_t last_us; /* its last time */
	uint64_t batch;  /* the batch in which run is its index in the queue */
	size_t run;
};

struct events {
	struct store *st;
	struct hub *hub;
	struct events_conf conf;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;    /* signalled when events arrive or on stop */
	pthread_cond_t written; /* signalled after each batch */
	struct store_event *queue;
	size_t n, cap;
	uint32_t *recent; /* EVENTS_RECENT: 1 + the index in queue of a node's latest event */
	uint64_t queued;  /* sequence of the last queued event */
	uint64_t stored;  /* sequence of the last stored (or dropped) event */
	uint64_t dropped;
	int stop;
	/* writer thread only: */
	struct events_slot *slots; /* EVENTS_SLOTS of them */
	uint64_t batch;            /* batches folded so far */
	int64_t rows;              /* rows in the events table (may count high) */
	int64_t last_age;          /* the last age pruning step */
	int64_t last_hourly;
	int prune_more; /* the last step left rows to delete */
	int wrote;      /* batches written since the last checkpoint */
};

/* FNV-1a over s and its NUL, continuing h. */
static uint64_t events_fnv(uint64_t h, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	do {
		h ^= *p;
		h *= 0x100000001b3ULL;
	} while (*p++ != '\0');
	return h;
}

/* What makes two events of one key identical; for a MAC, the MAC too. */
static uint64_t events_hash(const struct store_event *e)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	if (e->node_id == 0)
		return events_fnv(h, e->mac);
	h = events_fnv(h, e->stage);
	h = events_fnv(h, e->source);
	h = events_fnv(h, e->detail);
	return events_fnv(h, e->state);
}

static struct events_slot *events_slot(struct events *ev, const struct store_event *e,
				       uint64_t hash)
{
	uint64_t k = e->node_id != 0 ? (uint64_t)e->node_id * 0x9e3779b97f4a7c15ULL : hash;
	return &ev->slots[(k >> 17) & (EVENTS_SLOTS - 1)];
}

static int events_same_str(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* Identical as events.h says: same key, stage, source, detail and state. */
static int events_identical(const struct store_event *a, const struct store_event *b)
{
	if (a->node_id != b->node_id)
		return 0;
	if (a->node_id == 0) /* one discovered row per MAC, whatever it asked */
		return strcmp(a->mac, b->mac) == 0;
	return strcmp(a->stage, b->stage) == 0 && strcmp(a->source, b->source) == 0 &&
	       strcmp(a->detail, b->detail) == 0 && events_same_str(a->state, b->state);
}

/* Adds e to the run r (same key, identical). */
static void events_merge(struct store_event *r, const struct store_event *e)
{
	r->count += e->count;
	if (e->time_us < r->time_us)
		r->time_us = e->time_us;
	if (e->last_us > r->last_us)
		r->last_us = e->last_us;
	if (r->node_id == 0) /* a discovered machine: its newest address */
		memcpy(r->source, e->source, sizeof(r->source));
}

/*
 * Folds the batch q in place into runs of identical events (events.h);
 * each run carries the row it adds to, if its key's latest row is the
 * same event.  Returns the number of runs.
 */
static size_t events_fold(struct events *ev, struct store_event *q, size_t n)
{
	const int64_t window = (int64_t)ev->conf.coalesce_s * 1000000;
	size_t k = 0;
	ev->batch++;
	for (size_t i = 0; i < n; i++) {
		struct store_event e = q[i]; /* count, last_us: set when queued */
		e.row = 0;
		if (window == 0) {
			q[k++] = e;
			continue;
		}
		uint64_t hash = events_hash(&e);
		struct events_slot *sl = events_slot(ev, &e, hash);
		/* either way round: events_add_at() may give an earlier time */
		int64_t gap = e.time_us - sl->last_us;
		int near = gap <= window && gap >= -window;
		if (sl->node_id == e.node_id && sl->hash == hash && (near || e.node_id == 0)) {
			if (sl->batch == ev->batch && events_identical(&q[sl->run], &e)) {
				events_merge(&q[sl->run], &e);
				sl->last_us = q[sl->run].last_us;
				continue;
			}
			if (sl->batch != ev->batch)
				e.row = sl->row; /* the store checks it is the same event */
		}
		int64_t last = e.row != 0 && sl->last_us > e.last_us ? sl->last_us : e.last_us;
		*sl = (struct events_slot){e.node_id, hash, e.row, last, ev->batch, k};
		q[k++] = e;
	}
	return k;
}

/* After the batch q (k runs) is stored (or not, ok 0): the slots learn their rows. */
static void events_fold_done(struct events *ev, const struct store_event *q, size_t k, int ok)
{
	if (ev->conf.coalesce_s == 0)
		return;
	for (size_t i = 0; i < k; i++) {
		struct events_slot *sl = events_slot(ev, &q[i], events_hash(&q[i]));
		if (sl->batch != ev->batch || sl->run != i)
			continue; /* a later run of the batch took the slot */
		sl->row = ok ? q[i].row : 0;
		sl->batch = 0;
	}
}

/* Stored rows to the live streams, with node names: one record per run. */
static void events_publish(struct events *ev, const struct store_event *q, size_t n)
{
	if (!hub_listening(ev->hub))
		return; /* stored already: a stream opened later reads them from the API */
	for (size_t i = 0; i < n; i++) {
		char t[40], t2[40], name[64];
		store_time_str(q[i].time_us, t, sizeof(t));
		json_t *j;
		if (q[i].node_id == 0) {
			j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:I}", "mac", q[i].mac, "stage",
				      q[i].stage, "time", t, "source", q[i].source, "discovered", 1,
				      "count", (json_int_t)q[i].count);
		} else {
			if (q[i].row == 0 ||
			    store_node_name(ev->st, q[i].node_id, name, sizeof(name)) < 0)
				continue;
			store_time_str(q[i].last_us, t2, sizeof(t2));
			j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "node", name,
				      "stage", q[i].stage, "time", t, "source", q[i].source,
				      "detail", q[i].detail, "count", (json_int_t)q[i].count,
				      "first", t, "last", t2);
			if (j != NULL && q[i].state != NULL)
				json_object_set_new(j, "state", json_string(q[i].state));
		}
		hub_publish(ev->hub, "boot", j);
	}
	store_release(ev->st);
}

/*
 * One bounded pruning step, when one is due: old rows every 10 s (at once
 * while the last step left some), the oldest while over max_total; once
 * an hour the row count is taken again and old discovered machines go.
 * A step deletes at most EVENTS_PRUNE_STEP rows, or as many as the batch
 * before it added (added): a writer behind a storm takes large batches,
 * and the cap must keep up with them.
 */
static void events_prune(struct events *ev, int64_t added)
{
	int64_t now = store_now_us();
	int64_t cutoff = now - (int64_t)ev->conf.keep_days * 86400 * 1000000;
	if (now - ev->last_hourly >= EVENTS_HOURLY_US) {
		ev->last_hourly = now;
		if (store_events_count(ev->st, &ev->rows) < 0 ||
		    store_discovered_prune(ev->st, cutoff, EVENTS_DISCOVERED_STEP) < 0)
			log_warnx("events: hourly upkeep failed: %s", store_errmsg());
	}
	int64_t excess =
		ev->rows > (int64_t)ev->conf.max_total ? ev->rows - (int64_t)ev->conf.max_total : 0;
	if (excess == 0 && !ev->prune_more && now - ev->last_age < EVENTS_AGE_EVERY_US)
		return;
	ev->last_age = now;
	int64_t gone = 0;
	int limit = added > EVENTS_PRUNE_STEP ? (int)added : EVENTS_PRUNE_STEP;
	if (store_events_prune(ev->st, cutoff, excess, limit, &gone) < 0) {
		log_warnx("events: pruning failed: %s", store_errmsg());
		ev->prune_more = 0;
		return;
	}
	ev->rows -= gone;
	ev->prune_more = gone >= limit || (gone > 0 && excess > gone);
	if (gone == 0 && excess > 0 && store_events_count(ev->st, &ev->rows) < 0)
		ev->rows = 0; /* counted high (nodes deleted): the truth next hour */
}

/* Stores one batch: folded, written, pruned, published. */
static void events_store(struct events *ev, struct store_event *q, size_t n)
{
	size_t k = events_fold(ev, q, n);
	int64_t added = 0;
	int rc = store_events_write(ev->st, q, k, (int)ev->conf.per_node, &added);
	events_fold_done(ev, q, k, rc == 0);
	if (rc < 0) {
		log_warnx("events: could not store %zu boot events: %s", n, store_errmsg());
		pthread_mutex_lock(&ev->lock);
		ev->dropped += n; /* lost: counted as the queue's overflow is */
		pthread_mutex_unlock(&ev->lock);
	} else {
		ev->rows += added;
		events_publish(ev, q, k);
	}
	events_prune(ev, added);
}

static void *events_writer(void *arg)
{
	struct events *ev = arg;
	struct store_event *batch = NULL;
	size_t batch_cap = 0;

	pthread_mutex_lock(&ev->lock);
	for (;;) {
		while (ev->n == 0 && !ev->stop) {
			if (ev->prune_more) { /* idle: the next step now */
				pthread_mutex_unlock(&ev->lock);
				events_prune(ev, 0);
				pthread_mutex_lock(&ev->lock);
				continue;
			}
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 15;
			if (pthread_cond_timedwait(&ev->work, &ev->lock, &until) != ETIMEDOUT)
				continue;
			if (ev->hub != NULL)
				hub_ping(ev->hub); /* keeps idle live streams open */
			if (ev->wrote) { /* 15 s idle after writes: the WAL back to nothing */
				ev->wrote = 0;
				pthread_mutex_unlock(&ev->lock);
				if (store_checkpoint(ev->st) < 0)
					log_warnx("events: %s", store_errmsg());
				pthread_mutex_lock(&ev->lock);
			}
		}
		if (ev->n == 0 && ev->stop)
			break;
		/* Take the whole queue; handlers keep queueing into a fresh one. */
		struct store_event *q = ev->queue;
		size_t n = ev->n, cap = ev->cap;
		uint64_t upto = ev->queued;
		ev->queue = batch;
		ev->cap = batch_cap;
		ev->n = 0;
		pthread_mutex_unlock(&ev->lock);

		events_store(ev, q, n);
		ev->wrote = 1;
		if (cap > EVENTS_KEEP_CAP && n < cap / 8) {
			free(q); /* a burst's array: back to the system, not kept for the next */
			q = NULL;
			cap = 0;
		}
		batch = q;
		batch_cap = cap;

		pthread_mutex_lock(&ev->lock);
		ev->stored = upto;
		pthread_cond_broadcast(&ev->written);
	}
	pthread_mutex_unlock(&ev->lock);
	free(batch);
	return NULL;
}

int events_start(struct store *st, struct hub *hub, const struct events_conf *conf,
		 struct events **out)
{
	struct events *ev = calloc(1, sizeof(*ev));
	if (ev == NULL)
		return -ENOMEM;
	ev->st = st;
	ev->hub = hub;
	ev->conf = *conf;
	ev->slots = calloc(EVENTS_SLOTS, sizeof(*ev->slots));
	ev->recent = calloc(EVENTS_RECENT, sizeof(*ev->recent));
	if (ev->slots == NULL || ev->recent == NULL) {
		free(ev->slots);
		free(ev->recent);
		free(ev);
		return -ENOMEM;
	}
	if (store_events_count(st, &ev->rows) < 0)
		ev->rows = 0; /* counted again within the hour */
	ev->last_hourly = store_now_us();
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->work, NULL);
	pthread_cond_init(&ev->written, NULL);
	if (pthread_create(&ev->thread, NULL, events_writer, ev) != 0) {
		pthread_mutex_destroy(&ev->lock);
		pthread_cond_destroy(&ev->work);
		pthread_cond_destroy(&ev->written);
		free(ev->slots);
		free(ev->recent);
		free(ev);
		return -EAGAIN;
	}
	*out = ev;
	return 0;
}

void events_free(struct events *ev)
{
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->lock);
	ev->stop = 1;
	pthread_cond_signal(&ev->work);
	pthread_mutex_unlock(&ev->lock);
	pthread_join(ev->thread, NULL);
	pthread_mutex_destroy(&ev->lock);
	pthread_cond_destroy(&ev->work);
	pthread_cond_destroy(&ev->written);
	free(ev->queue);
	free(ev->slots);
	free(ev->recent);
	free(ev);
}

/*
 * Copies s (NULL: "") into out, size bytes with the NUL.  A longer s is cut
 * on purpose, as events.h says: a detail is a summary, and a long file path
 * keeps its start.  The cut falls between characters, so that what is
 * stored stays the UTF-8 it was.
 */
static void events_copy(char *out, size_t size, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n >= size) {
		n = size - 1;
		/* s[n] is the first byte left out: not in the middle of a character */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(out, s, n);
	out[n] = '\0';
}

static size_t events_recent(int64_t node_id)
{
	return ((uint64_t)node_id * 0x9e3779b97f4a7c15ULL >> 40) & (EVENTS_RECENT - 1);
}

/*
 * Under the lock: adds e to its node's latest queued event if it repeats
 * it within the coalescing window (1), so that a storm of repeats (a
 * node, or wrk, asking again and again) takes one slot of the queue, not
 * one each; the writer would fold them into one row anyway.  0: queue it.
 */
static int events_add_repeat(struct events *ev, const struct store_event *e)
{
	if (e->node_id == 0 || ev->conf.coalesce_s == 0)
		return 0;
	uint32_t at = ev->recent[events_recent(e->node_id)];
	if (at == 0 || at > ev->n)
		return 0;
	struct store_event *r = &ev->queue[at - 1];
	int64_t gap = e->time_us - r->last_us;
	int64_t window = (int64_t)ev->conf.coalesce_s * 1000000;
	if (gap > window || gap < -window || !events_identical(r, e))
		return 0;
	events_merge(r, e);
	ev->queued++; /* one more event in, for events_flush() */
	return 1;
}

void events_add(struct events *ev, int64_t node_id, const char *stage, const char *source,
		const char *detail, const char *mac, const char *state)
{
	events_add_at(ev, 0, node_id, stage, source, detail, mac, state);
}

void events_add_at(struct events *ev, int64_t time_us, int64_t node_id, const char *stage,
		   const char *source, const char *detail, const char *mac, const char *state)
{
	struct store_event e;
	memset(&e, 0, sizeof(e));
	e.node_id = node_id;
	e.time_us = time_us > 0 ? time_us : store_now_us();
	events_copy(e.stage, sizeof(e.stage), stage);
	events_copy(e.source, sizeof(e.source), source);
	events_copy(e.detail, sizeof(e.detail), detail);
	events_copy(e.mac, sizeof(e.mac), mac);
	e.state = state; /* a string literal: "booting", "ready" */
	e.count = 1;
	e.last_us = e.time_us;

	pthread_mutex_lock(&ev->lock);
	if (events_add_repeat(ev, &e)) {
		pthread_mutex_unlock(&ev->lock);
		return;
	}
	if (ev->n >= EVENTS_MAX_QUEUE) {
		ev->dropped++;
		pthread_mutex_unlock(&ev->lock);
		return;
	}
	if (ev->n == ev->cap) {
		size_t ncap = ev->cap ? ev->cap * 2 : 256;
		struct store_event *q = realloc(ev->queue, ncap * sizeof(*q));
		if (q == NULL) {
			ev->dropped++;
			pthread_mutex_unlock(&ev->lock);
			return;
		}
		ev->queue = q;
		ev->cap = ncap;
	}
	if (node_id != 0)
		ev->recent[events_recent(node_id)] = (uint32_t)ev->n + 1;
	ev->queue[ev->n++] = e;
	ev->queued++;
	pthread_cond_signal(&ev->work);
	pthread_mutex_unlock(&ev->lock);
}

void events_flush(struct events *ev)
{
	pthread_mutex_lock(&ev->lock);
	uint64_t want = ev->queued;
	while (ev->stored < want)
		pthread_cond_wait(&ev->written, &ev->lock);
	pthread_mutex_unlock(&ev->lock);
}

uint64_t events_dropped(struct events *ev)
{
	pthread_mutex_lock(&ev->lock);
	uint64_t d = ev->dropped;
	pthread_mutex_unlock(&ev->lock);
	return d;
}
