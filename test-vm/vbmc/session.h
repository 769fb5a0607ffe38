/*
 * session: Redfish login sessions (X-Auth-Token) for corral-vbmc.
 *
 * A fixed-size table: creating a session when it is full evicts the one
 * used least recently, so a client that logs in in a loop cannot exhaust
 * memory.  A session idle for longer than the table's timeout is gone.
 * Tokens are 32 random bytes (getrandom) in hex and are compared in
 * constant time; they are never logged.  Callers pass the time ("now", in
 * seconds of a monotonic clock) so tests can move it.  Thread-safe.
 *
 * Callers: service.c only.
 */
#ifndef CORRAL_VBMC_SESSION_H
#define CORRAL_VBMC_SESSION_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define SESSION_ID_LEN 16    /* hex characters */
#define SESSION_TOKEN_LEN 64 /* hex characters */
#define SESSION_USER_MAX 64  /* bytes with the NUL */

struct session_table;

/* A table of at most max (1..64) sessions, each idle for at most idle_secs. */
int session_table_new(size_t max, unsigned idle_secs, struct session_table **out);
/* Frees the table; NULL is a no-op. */
void session_table_free(struct session_table *t);

/*
 * Creates a session for user (a name of SESSION_USER_MAX bytes or more is
 * refused: -ENAMETOOLONG).  Writes its id and token (NUL-terminated) into
 * id[SESSION_ID_LEN + 1] and token[SESSION_TOKEN_LEN + 1].  Returns 0,
 * or -errno if no randomness was available.
 */
int session_create(struct session_table *t, const char *user, time_t now, char *id, char *token);

/* 0 if token names a live session (its idle clock restarts), else -ENOENT. */
int session_check(struct session_table *t, const char *token, time_t now);

/* Copies the user of live session id into user[SESSION_USER_MAX]; -ENOENT. */
int session_get(struct session_table *t, const char *id, time_t now, char *user);

/* Ends session id; 0 or -ENOENT. */
int session_delete(struct session_table *t, const char *id, time_t now);

/* A new JSON array of the live sessions' ids (NULL when out of memory). */
json_t *session_ids(struct session_table *t, time_t now);

#endif
