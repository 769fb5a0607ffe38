/*
 * hub: ring of SSE records and suspended readers.  See hub.h.
 *
 * Locking: one mutex guards the ring and the waiter list.  A reader that
 * finds nothing suspends its connection and registers as a waiter under
 * that mutex; publishers resume waiters under it too, so no wake-up is
 * lost between the check and the suspension.
 */
#include "hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct hub_client;

struct hub {
	pthread_mutex_t lock;
	char *ring[HUB_RING]; /* formatted records; ring[seq % HUB_RING] */
	uint64_t next;        /* sequence number of the next record */
	struct hub_client *waiters;
	int closed;
	_Atomic unsigned clients; /* open streams (hub_listening) */
};

struct hub_client {
	struct hub *hub;
	struct MHD_Connection *conn;
	uint64_t seq; /* next record this client reads */
	struct hub_client *next_waiter;
	int waiting;
	struct buf pending; /* formatted bytes not yet handed to MHD */
	size_t pending_off;
};

int hub_new(struct hub **out)
{
	struct hub *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return 0;
}

static void hub_wake_locked(struct hub *h)
{
	struct hub_client *c = h->waiters;
	h->waiters = NULL;
	while (c != NULL) {
		struct hub_client *n = c->next_waiter;
		c->waiting = 0;
		c->next_waiter = NULL;
		MHD_resume_connection(c->conn);
		c = n;
	}
}

void hub_close(struct hub *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->closed = 1;
	hub_wake_locked(h);
	pthread_mutex_unlock(&h->lock);
}

void hub_free(struct hub *h)
{
	if (h == NULL)
		return;
	for (int i = 0; i < HUB_RING; i++)
		free(h->ring[i]);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static void hub_append(struct hub *h, char *rec)
{
	pthread_mutex_lock(&h->lock);
	free(h->ring[h->next % HUB_RING]);
	h->ring[h->next % HUB_RING] = rec;
	h->next++;
	hub_wake_locked(h);
	pthread_mutex_unlock(&h->lock);
}

void hub_publish(struct hub *h, const char *type, json_t *data)
{
	char *js = data ? json_dumps(data, JSON_COMPACT) : NULL;
	json_decref(data);
	if (js == NULL)
		return;
	struct buf b;
	buf_init(&b, 64 * 1024);
	if (buf_printf(&b, "event: %s\ndata: %s\n\n", type, js) == 0)
		hub_append(h, buf_take(&b));
	buf_clear(&b);
	free(js);
}

void hub_ping(struct hub *h)
{
	char *rec = strdup(": ping\n\n");
	if (rec != NULL)
		hub_append(h, rec);
}

/* Moves the records after c->seq into c->pending.  Caller holds the lock. */
static void hub_collect_locked(struct hub_client *c)
{
	struct hub *h = c->hub;
	if (h->next - c->seq > HUB_RING) {
		buf_adds(&c->pending, "event: resync\ndata: {}\n\n");
		c->seq = h->next - HUB_RING;
	}
	while (c->seq < h->next) {
		const char *rec = h->ring[c->seq % HUB_RING];
		if (rec != NULL && buf_adds(&c->pending, rec) < 0)
			break; /* full: the rest next time */
		c->seq++;
	}
}

static ssize_t hub_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct hub_client *c = cls;
	struct hub *h = c->hub;
	(void)pos;
	if (c->pending_off >= c->pending.len) {
		buf_reset(&c->pending);
		c->pending_off = 0;
		pthread_mutex_lock(&h->lock);
		if (h->closed) {
			pthread_mutex_unlock(&h->lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		hub_collect_locked(c);
		if (c->pending.len == 0) {
			/* Nothing new: give the worker thread back until a publish. */
			MHD_suspend_connection(c->conn);
			c->waiting = 1;
			c->next_waiter = h->waiters;
			h->waiters = c;
			pthread_mutex_unlock(&h->lock);
			return 0;
		}
		pthread_mutex_unlock(&h->lock);
	}
	size_t n = c->pending.len - c->pending_off;
	if (n > max)
		n = max;
	memcpy(out, c->pending.data + c->pending_off, n);
	c->pending_off += n;
	return (ssize_t)n;
}

static void hub_client_free(void *cls)
{
	struct hub_client *c = cls;
	struct hub *h = c->hub;
	pthread_mutex_lock(&h->lock);
	for (struct hub_client **pp = &h->waiters; *pp; pp = &(*pp)->next_waiter) {
		if (*pp == c) {
			*pp = c->next_waiter;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	atomic_fetch_sub(&h->clients, 1);
	buf_clear(&c->pending);
	free(c);
}

int hub_listening(struct hub *h)
{
	return h != NULL && atomic_load(&h->clients) > 0;
}

struct MHD_Response *hub_response(struct hub *h, struct MHD_Connection *conn)
{
	struct hub_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->hub = h;
	c->conn = conn;
	buf_init(&c->pending, 1u << 20);
	buf_adds(&c->pending, "retry: 2000\n: connected\n\n");
	pthread_mutex_lock(&h->lock);
	c->seq = h->next;
	atomic_fetch_add(&h->clients, 1); /* hub_client_free takes it back */
	pthread_mutex_unlock(&h->lock);
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
								   hub_reader, c, hub_client_free);
	if (r == NULL) {
		atomic_fetch_sub(&h->clients, 1);
		buf_clear(&c->pending);
		free(c);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	return r;
}
