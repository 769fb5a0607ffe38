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
#define EVENTS_DEDUP 4096       /* slots of the repeat filter (by node id) */
#define EVENTS_DEDUP_US 2000000 /* the same step again within 2 s is one event */
#define EVENTS_PER_NODE 2000    /* a node keeps its newest events only */

/* Last stored event per slot, to fold rapid repeats (a hammering client). */
struct events_last {
	int64_t node_id, time_us;
	char stage[24], detail[200];
};

struct events {
	struct store *st;
	struct hub *hub;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;    /* signalled when events arrive or on stop */
	pthread_cond_t written; /* signalled after each batch */
	struct store_event *queue;
	size_t n, cap;
	uint64_t queued; /* sequence of the last queued event */
	uint64_t stored; /* sequence of the last stored (or dropped) event */
	uint64_t dropped;
	int stop;
	int64_t keep_us;
	int64_t last_prune;
	struct events_last *last; /* writer thread only */
};

/* Drops events that repeat their node's previous one within 2 s; returns the new count. */
static size_t events_fold(struct events *ev, struct store_event *q, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_event *e = &q[i];
		if (e->node_id != 0 && ev->last != NULL) {
			struct events_last *l = &ev->last[(uint64_t)e->node_id % EVENTS_DEDUP];
			/* either way round: events_add_at() may give an earlier time */
			int64_t gap = e->time_us - l->time_us;
			if (l->node_id == e->node_id && gap < EVENTS_DEDUP_US &&
			    gap > -EVENTS_DEDUP_US && e->state == NULL &&
			    strcmp(l->stage, e->stage) == 0 && strcmp(l->detail, e->detail) == 0)
				continue;
			l->node_id = e->node_id;
			l->time_us = e->time_us;
			memcpy(l->stage, e->stage, sizeof(l->stage));
			memcpy(l->detail, e->detail, sizeof(l->detail));
		}
		q[k++] = *e;
	}
	return k;
}

/* Stored events to the live streams, with node names. */
static void events_publish(struct events *ev, const struct store_event *q, size_t n)
{
	if (ev->hub == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		char t[40], name[64];
		store_time_str(q[i].time_us, t, sizeof(t));
		json_t *j;
		if (q[i].node_id == 0) {
			j = json_pack("{s:s, s:s, s:s, s:s, s:b}", "mac", q[i].mac, "stage",
				      q[i].stage, "time", t, "source", q[i].source, "discovered",
				      1);
		} else {
			if (store_node_name(ev->st, q[i].node_id, name, sizeof(name)) < 0)
				continue;
			j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "node", name, "stage",
				      q[i].stage, "time", t, "source", q[i].source, "detail",
				      q[i].detail);
			if (j != NULL && q[i].state != NULL)
				json_object_set_new(j, "state", json_string(q[i].state));
		}
		hub_publish(ev->hub, "boot", j);
	}
	store_release(ev->st);
}

static void *events_writer(void *arg)
{
	struct events *ev = arg;
	struct store_event *batch = NULL;
	size_t batch_cap = 0;

	pthread_mutex_lock(&ev->lock);
	for (;;) {
		while (ev->n == 0 && !ev->stop) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 15;
			if (pthread_cond_timedwait(&ev->work, &ev->lock, &until) == ETIMEDOUT &&
			    ev->hub != NULL)
				hub_ping(ev->hub); /* keeps idle live streams open */
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

		n = events_fold(ev, q, n);
		int rc = store_events_write(ev->st, q, n);
		if (rc < 0) {
			log_warnx("events: could not store %zu boot events: %s", n, store_errmsg());
			pthread_mutex_lock(&ev->lock);
			ev->dropped += n; /* lost: counted as the queue's overflow is */
			pthread_mutex_unlock(&ev->lock);
		} else {
			events_publish(ev, q, n);
		}
		int64_t now = store_now_us();
		if (now - ev->last_prune > 3600LL * 1000000) {
			ev->last_prune = now;
			if (store_events_prune(ev->st, now - ev->keep_us, EVENTS_PER_NODE) < 0)
				log_warnx("events: pruning old events failed: %s", store_errmsg());
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

int events_start(struct store *st, struct hub *hub, unsigned keep_days, struct events **out)
{
	struct events *ev = calloc(1, sizeof(*ev));
	if (ev == NULL)
		return -ENOMEM;
	ev->st = st;
	ev->hub = hub;
	ev->last = calloc(EVENTS_DEDUP, sizeof(*ev->last)); /* NULL: no folding */
	ev->keep_us = (int64_t)keep_days * 86400 * 1000000;
	ev->last_prune = 0;
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->work, NULL);
	pthread_cond_init(&ev->written, NULL);
	if (pthread_create(&ev->thread, NULL, events_writer, ev) != 0) {
		pthread_mutex_destroy(&ev->lock);
		pthread_cond_destroy(&ev->work);
		pthread_cond_destroy(&ev->written);
		free(ev->last);
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
	free(ev->last);
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

	pthread_mutex_lock(&ev->lock);
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
