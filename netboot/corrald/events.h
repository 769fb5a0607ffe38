/*
 * events: the boot timeline's write path.
 *
 * Node-facing handlers record an event per request (boot script, file,
 * cloud-init, phone-home) without touching the database: events_add()
 * copies the event into a queue and a writer thread stores queued events
 * in one transaction per batch.  A boot storm therefore costs one write
 * transaction per batch, not per request.  events_flush() waits until
 * everything queued before the call is stored (read-your-writes for the
 * API).  Old events are pruned once an hour.
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

/* hub (may be NULL) gets every stored event as a "boot" record, and a ping every 15 s. */
int events_start(struct store *st, struct hub *hub, unsigned keep_days, struct events **out);
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
