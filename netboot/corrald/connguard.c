/*
 * connguard: header and body deadlines per connection, enforced by a
 * sweeper thread.  See connguard.h.
 *
 * Security: the deadline of a phase is set when the phase begins and no
 * byte the client sends moves it; only completing the phase does.  The
 * sweeper cuts with shutdown(2), never close(2): the descriptor stays
 * libmicrohttpd's, which closes it when it sees the stream end, so a cut
 * can never hit a descriptor that was closed and handed to someone else.
 */
#include "connguard.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"

#define CONNGUARD_TICK_MS 100
/*
 * Cuts per sweep at most.  A flood's connections tend to come at once and
 * so fall due at once; cut in slices, the ends of streams (and the
 * attacker's reconnections) reach libmicrohttpd's workers spread over
 * ticks instead of in one burst that delays real requests, and the lock
 * the workers take at every connection's start and end is held briefly.
 */
#define CONNGUARD_CUTS_PER_SWEEP 256
#define CONNGUARD_LOG_EVERY_MS 60000 /* a summary of cuts at most this often */

struct connguard_conn {
	struct connguard_conn *prev, *next;
	int fd;
	enum connguard_phase phase;
	int64_t since_ms; /* when the phase began */
	bool cut;         /* shut down already; waiting for libmicrohttpd to close it */
	char addr[48];    /* the peer, for log lines */
};

struct connguard {
	pthread_mutex_t lock; /* the list, the counters */
	pthread_cond_t wake;  /* signalled to stop the sweeper */
	pthread_t sweeper;
	bool stop;
	char name[16];
	int64_t header_ms, body_ms;
	struct connguard_conn *head;
	unsigned nopen;
	uint64_t cut_total;
	/* the log summary: cuts not yet logged, and when the next may be */
	unsigned cut_unlogged, cut_headers, cut_body;
	char cut_last_addr[48];
	int64_t next_log_ms;
};

int64_t connguard_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Logs what was cut since the last summary, at most once a minute. */
static void connguard_log(struct connguard *g, int64_t now_ms)
{
	if (g->cut_unlogged == 0 || now_ms < g->next_log_ms)
		return;
	log_info("%s listener: cut %u slow connection%s (%u without complete headers after %llds, "
		 "%u without a complete body after %llds; the last from %s)",
		 g->name, g->cut_unlogged, g->cut_unlogged == 1 ? "" : "s", g->cut_headers,
		 (long long)(g->header_ms / 1000), g->cut_body, (long long)(g->body_ms / 1000),
		 g->cut_last_addr[0] ? g->cut_last_addr : "?");
	g->cut_unlogged = g->cut_headers = g->cut_body = 0;
	g->next_log_ms = now_ms + CONNGUARD_LOG_EVERY_MS;
}

unsigned connguard_sweep(struct connguard *g, int64_t now_ms)
{
	unsigned n = 0;
	pthread_mutex_lock(&g->lock);
	for (struct connguard_conn *c = g->head; c != NULL; c = c->next) {
		int64_t limit = c->phase == CONNGUARD_HEADERS ? g->header_ms :
				c->phase == CONNGUARD_BODY    ? g->body_ms :
								0;
		if (c->cut || limit == 0 || now_ms - c->since_ms < limit)
			continue;
		if (n == CONNGUARD_CUTS_PER_SWEEP)
			break; /* the rest at the next tick */
		/* Registered, so not yet closed: fd is still this connection's. */
		(void)shutdown(c->fd, SHUT_RDWR);
		c->cut = true;
		n++;
		if (c->phase == CONNGUARD_HEADERS)
			g->cut_headers++;
		else
			g->cut_body++;
		memcpy(g->cut_last_addr, c->addr, sizeof(g->cut_last_addr));
	}
	g->cut_total += n;
	g->cut_unlogged += n;
	connguard_log(g, now_ms);
	pthread_mutex_unlock(&g->lock);
	return n;
}

static void *connguard_main(void *arg)
{
	struct connguard *g = arg;
	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += CONNGUARD_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &until);
		if (g->stop)
			break;
		pthread_mutex_unlock(&g->lock);
		connguard_sweep(g, connguard_now_ms());
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int connguard_new(const char *name, unsigned header_s, unsigned body_s, struct connguard **out)
{
	if (header_s == 0 || body_s == 0)
		return -EINVAL;
	struct connguard *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return -ENOMEM;
	size_t n = strlen(name);
	memcpy(g->name, name, n < sizeof(g->name) ? n : sizeof(g->name) - 1);
	g->header_ms = (int64_t)header_s * 1000;
	g->body_ms = (int64_t)body_s * 1000;
	pthread_condattr_t ca;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&g->sweeper, NULL, connguard_main, g);
	if (rc != 0) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return -rc;
	}
	*out = g;
	return 0;
}

void connguard_free(struct connguard *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->sweeper, NULL);
	g->next_log_ms = 0;
	connguard_log(g, connguard_now_ms()); /* what the last minute cut */
	while (g->head != NULL) {             /* none, if the caller closed them all */
		struct connguard_conn *c = g->head;
		g->head = c->next;
		free(c);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

struct connguard_conn *connguard_open(struct connguard *g, int fd, const char *addr)
{
	struct connguard_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->phase = CONNGUARD_HEADERS;
	c->since_ms = connguard_now_ms();
	if (addr != NULL) {
		size_t n = strlen(addr);
		memcpy(c->addr, addr, n < sizeof(c->addr) ? n : sizeof(c->addr) - 1);
	}
	pthread_mutex_lock(&g->lock);
	c->next = g->head;
	if (g->head != NULL)
		g->head->prev = c;
	g->head = c;
	g->nopen++;
	pthread_mutex_unlock(&g->lock);
	return c;
}

void connguard_phase(struct connguard *g, struct connguard_conn *c, enum connguard_phase p)
{
	if (c == NULL)
		return;
	int64_t now = connguard_now_ms();
	pthread_mutex_lock(&g->lock);
	if (c->phase != p) {
		c->phase = p;
		c->since_ms = now;
	} else if (p == CONNGUARD_HEADERS) {
		c->since_ms = now; /* the next request on a kept-alive connection */
	}
	pthread_mutex_unlock(&g->lock);
}

void connguard_close(struct connguard *g, struct connguard_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	g->nopen--;
	pthread_mutex_unlock(&g->lock);
	free(c);
}

uint64_t connguard_cut_total(struct connguard *g)
{
	pthread_mutex_lock(&g->lock);
	uint64_t n = g->cut_total;
	pthread_mutex_unlock(&g->lock);
	return n;
}

unsigned connguard_open_count(struct connguard *g)
{
	pthread_mutex_lock(&g->lock);
	unsigned n = g->nopen;
	pthread_mutex_unlock(&g->lock);
	return n;
}
