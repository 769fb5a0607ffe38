/*
 * events: the boot timeline's write path.
 *
 * Node-facing handlers record an event per request (boot script, file,
 * cloud-init, phone-home) without touching the database: events_add()
 * copies the event into a queue and a writer thread stores queued events
 * in one transaction per batch (what queued while the last one was
 * written).  A repeat of its node's latest queued event is added to that
 * event's count in the queue, so a flood of repeats holds one slot of the
 * queue: a boot storm therefore costs one write
 * transaction per batch, not per request.  events_flush() waits until
 * everything queued before the call is stored (read-your-writes for the
 * API).
 *
 * The store stays bounded:
 * - Coalescing.  An event identical to its key's latest row, and no more
 *   than the window after (or before) that row's last time, is added to
 *   that row (count + 1, first and last time widened) instead of being a
 *   new row.  The key is the node (node_id), or for a machine no node has
 *   (node_id 0) its MAC.  Identical: the same stage, source, detail and
 *   state, byte for byte.  "Latest row" means nothing else of that key was
 *   stored since: kernel, kernel, initrd, kernel is three rows (kernel ×2,
 *   initrd, kernel).  A machine no node has is one row of `discovered`
 *   (first and last seen, requests) whatever its events are.  The writer
 *   folds a batch in memory and then issues one UPDATE (or INSERT) per run
 *   of repeats, not one statement per event.  It remembers the latest row
 *   of a bounded number of keys (EVENTS_SLOTS, hashed by node): a node
 *   that lost its slot to another starts a new row, never a wrong one.
 * - Pruning, after each batch and bounded per batch: rows whose first time
 *   is older than keep_days, then the oldest rows while there are more
 *   than max_total; a node keeps its newest per_node rows (trimmed as its
 *   rows are added).  The DB file then stays bounded: SQLite reuses the
 *   pages of deleted rows.
 *
 * Callers: corrald.c starts and frees it; serve.c and dhcp.c add events,
 * api.c flushes before it reads; any thread.
 */
#ifndef CORRAL_EVENTS_H
#define CORRAL_EVENTS_H

#include <stdint.h>

#include "hub.h"
#include "store.h"

struct events;

/* The bounds ([events] in the configuration). */
struct events_conf {
	unsigned keep_days;  /* rows whose first event is older go */
	unsigned per_node;   /* a node keeps its newest per_node rows */
	unsigned max_total;  /* rows at most, all nodes together */
	unsigned coalesce_s; /* the coalescing window, seconds; 0: every event is a row */
};

/*
 * hub (may be NULL) gets every row stored or added to as a "boot" record
 * (with its count and first and last times so far), and a ping every 15 s.
 */
int events_start(struct store *st, struct hub *hub, const struct events_conf *conf,
		 struct events **out);
/* Writes what is queued, stops the writer and frees.  NULL is a no-op. */
void events_free(struct events *ev);
/*
 * Queues one event.  node_id 0 with a MAC records a discovered machine.
 * Strings longer than struct store_event's fields are cut to fit, between
 * two UTF-8 characters.
 * state: new node state or NULL; kept by pointer until stored, so a
 * string constant ("booting", "ready").  Never blocks on the database; under an
 * absurd backlog (more than 100,000 queued) the event is dropped and
 * counted.
 */
void events_add(struct events *ev, int64_t node_id, const char *stage, const char *source,
		const char *detail, const char *mac, const char *state);
/* events_add() with the time the step happened (microseconds since the epoch), for
 * a step learned of after the fact; 0 means now. */
void events_add_at(struct events *ev, int64_t time_us, int64_t node_id, const char *stage,
		   const char *source, const char *detail, const char *mac, const char *state);
/* Waits until every event queued before the call is stored. */
void events_flush(struct events *ev);
/* Events lost: the queue was full, or their batch could not be stored. */
uint64_t events_dropped(struct events *ev);

#endif
