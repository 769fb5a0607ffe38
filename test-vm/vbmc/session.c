/*
 * session: fixed table of login sessions.  See session.h.
 */
#include "session.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "buf.h"

struct session {
	int used;                          /* 0: free slot */
	char id[SESSION_ID_LEN + 1];       /* public: part of the session's URL */
	char token[SESSION_TOKEN_LEN + 1]; /* secret: X-Auth-Token */
	char user[SESSION_USER_MAX];       /* who logged in */
	time_t last;                       /* last use, for idle expiry and eviction */
};

struct session_table {
	pthread_mutex_t lock;
	unsigned idle;      /* seconds a session may stay unused */
	size_t n;           /* slots */
	struct session s[]; /* n slots */
};

int session_table_new(size_t max, unsigned idle_secs, struct session_table **out)
{
	if (max == 0 || max > 64 || idle_secs == 0)
		return -EINVAL;
	struct session_table *t = calloc(1, sizeof(*t) + max * sizeof(t->s[0]));
	if (t == NULL)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->idle = idle_secs;
	t->n = max;
	*out = t;
	return 0;
}

void session_table_free(struct session_table *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	explicit_bzero(t->s, t->n * sizeof(t->s[0]));
	free(t);
}

/* Forgets sessions idle too long.  Called with the lock held. */
static void session_expire(struct session_table *t, time_t now)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->s[i].used && now - t->s[i].last > (time_t)t->idle)
			explicit_bzero(&t->s[i], sizeof(t->s[i]));
	}
}

static int session_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];
	if (nbytes > sizeof(raw))
		return -EINVAL;
	size_t got = 0;
	while (got < nbytes) {
		ssize_t n = getrandom(raw + got, nbytes - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

/* Equal in time that depends on the length only. */
static int session_token_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int session_create(struct session_table *t, const char *user, time_t now, char *id, char *token)
{
	struct session ns = {.used = 1, .last = now};
	if (buf_fmt(ns.user, sizeof(ns.user), "%s", user) < 0)
		return -ENAMETOOLONG;
	int rc = session_hex(ns.id, SESSION_ID_LEN / 2);
	if (rc == 0)
		rc = session_hex(ns.token, SESSION_TOKEN_LEN / 2);
	if (rc < 0)
		return rc;

	pthread_mutex_lock(&t->lock);
	session_expire(t, now);
	size_t slot = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (!t->s[i].used) {
			slot = i;
			break;
		}
		if (t->s[i].last < t->s[slot].last)
			slot = i;
	}
	t->s[slot] = ns;
	pthread_mutex_unlock(&t->lock);
	memcpy(id, ns.id, sizeof(ns.id));
	memcpy(token, ns.token, sizeof(ns.token));
	explicit_bzero(&ns, sizeof(ns));
	return 0;
}

int session_check(struct session_table *t, const char *token, time_t now)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&t->lock);
	session_expire(t, now);
	for (size_t i = 0; i < t->n; i++) {
		if (t->s[i].used && session_token_eq(t->s[i].token, token)) {
			t->s[i].last = now;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int session_get(struct session_table *t, const char *id, time_t now, char *user)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&t->lock);
	session_expire(t, now);
	for (size_t i = 0; i < t->n; i++) {
		if (t->s[i].used && strcmp(t->s[i].id, id) == 0) {
			memcpy(user, t->s[i].user, SESSION_USER_MAX);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int session_delete(struct session_table *t, const char *id, time_t now)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&t->lock);
	session_expire(t, now);
	for (size_t i = 0; i < t->n; i++) {
		if (t->s[i].used && strcmp(t->s[i].id, id) == 0) {
			explicit_bzero(&t->s[i], sizeof(t->s[i]));
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

json_t *session_ids(struct session_table *t, time_t now)
{
	json_t *a = json_array();
	if (a == NULL)
		return NULL;
	pthread_mutex_lock(&t->lock);
	session_expire(t, now);
	for (size_t i = 0; i < t->n; i++) {
		if (t->s[i].used && json_array_append_new(a, json_string(t->s[i].id)) < 0) {
			json_decref(a);
			a = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return a;
}
