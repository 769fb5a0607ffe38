/*
 * connguard: time limits on a listener's connections that a slow client
 * cannot stretch.
 *
 * libmicrohttpd's connection timeout counts idle time: every byte resets
 * it, so a client that sends one header byte every few seconds keeps its
 * connection, and a descriptor, for as long as it likes.  connguard keeps,
 * for every open connection, the phase it is in and since when: waiting
 * for a request's headers (from accept, or from the end of the previous
 * request on a kept-alive connection), reading a request's body, or being
 * answered.  A sweeper thread cuts (shutdown(2); libmicrohttpd then sees
 * the end of the stream and closes the connection itself) every connection
 * that has waited longer than header_s for complete headers or longer than
 * body_s for a complete body, however many bytes it trickled meanwhile.
 * Answering has no bound here: libmicrohttpd's idle timeout covers a peer
 * that stops reading.
 *
 * Callers: http.c only, from libmicrohttpd's callbacks on its worker
 * threads.  connguard_close() must be called before the connection's
 * descriptor is closed (libmicrohttpd's MHD_CONNECTION_NOTIFY_CLOSED comes
 * before it closes the socket): the sweeper cuts only descriptors still
 * registered, under the same lock, so it never touches one that was
 * closed and reused.  Every function is thread-safe.
 */
#ifndef CORRAL_CONNGUARD_H
#define CORRAL_CONNGUARD_H

#include <stdint.h>

enum connguard_phase {
	CONNGUARD_HEADERS, /* waiting for a request's headers */
	CONNGUARD_BODY,    /* headers complete, reading the body */
	CONNGUARD_REPLY,   /* an answer is queued or being sent: no bound here */
};

struct connguard;
struct connguard_conn;

/*
 * A guard for one listener (name: "node", "api", ... for its log lines)
 * and its sweeper thread, which looks every 100 ms and cuts at most 256
 * connections each time (a flood's, due at once, are cut over a few
 * ticks).  header_s and body_s
 * are seconds, at least 1.  Returns 0, -EINVAL, -ENOMEM or what
 * pthread_create failed with; *out is the caller's (connguard_free).
 */
int connguard_new(const char *name, unsigned header_s, unsigned body_s, struct connguard **out);
/* Stops the sweeper and frees the guard; every connection must be closed
 * (connguard_close) first.  NULL is a no-op. */
void connguard_free(struct connguard *g);

/*
 * Registers the connection on fd, from addr (text, for log lines; may be
 * NULL), waiting for headers from now.  Returns its handle, or NULL when
 * out of memory (the caller should then drop the connection: it would be
 * unbounded).
 */
struct connguard_conn *connguard_open(struct connguard *g, int fd, const char *addr);
/* The connection enters phase p now.  c NULL is a no-op. */
void connguard_phase(struct connguard *g, struct connguard_conn *c, enum connguard_phase p);
/* Unregisters and frees c, before its descriptor is closed.  NULL is a no-op. */
void connguard_close(struct connguard *g, struct connguard_conn *c);

/*
 * One sweep as of now_ms (CLOCK_MONOTONIC, milliseconds; the sweeper
 * passes the real time, tests a later one): cuts connections past their
 * phase's bound, 256 at most.  Returns how many it cut.
 */
unsigned connguard_sweep(struct connguard *g, int64_t now_ms);
/* Connections cut since the guard started; open connections now. */
uint64_t connguard_cut_total(struct connguard *g);
unsigned connguard_open_count(struct connguard *g);
/* CLOCK_MONOTONIC in milliseconds: the clock connguard_sweep() expects. */
int64_t connguard_now_ms(void);

#endif
