/*
 * bootcache: answers for known nodes kept in memory, so a boot storm costs
 * a hash lookup per request instead of five queries and a render.  An
 * entry is fresh while the store's generation is the one it was rendered
 * at (any write through the API bumps it) and its validity window (the
 * seed token's, or a memo's few seconds) has not passed.
 *
 * An entry put with a content type also holds a prepared libmicrohttpd
 * response over its bytes, made once: bootcache_reply() queues that very
 * response (MHD counts its references), so a hit copies and allocates
 * nothing.  The response owns the bytes; an evicted or replaced entry
 * drops its reference and the bytes go when the last connection sending
 * them is done.
 *
 * Bounded by bytes (configuration: boot.cache_kib): when a put would pass
 * the limit, entries not used since the previous sweep are evicted (a
 * clock sweep over the buckets) until a tenth of the limit is free.
 * Thread-safe (rwlock; a hit marks its entry used with an atomic store).
 *
 * Keys are the callers' (serve.c): "mac=..", "name=.." (boot scripts),
 * "ci NODE" (a node's meta-data and user-data), and memos of identity verdicts
 * and address lookups ("tie MAC SRC", "addr SRC", "ip SRC", "stage NODE"),
 * fresh while the store's and the leases' generations stand.
 *
 * Callers: corrald.c makes, clears (after a reload) and frees it; serve.c
 * gets and puts.
 */
#ifndef CORRAL_BOOTCACHE_H
#define CORRAL_BOOTCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "buf.h"

struct bootcache;

/* What a hit needs besides the script: who it was for, for events/metrics. */
struct bootcache_meta {
	int64_t node_id; /* 0: unknown MAC */
	int kind;        /* enum metrics_boot */
	char mac[18];
	char detail[160];
};

/*
 * What one entry costs against the limit: its bookkeeping, keylen (the
 * key's length, plus the meta's detail and 1 when it has one), len bytes,
 * and a prepared response.
 */
size_t bootcache_entry_cost(size_t keylen, size_t len, int prepared);
/* (keylen: the key's length, plus the detail's and 1 when the meta has one) */

/* max_bytes: the limit (at least one entry of a few KiB fits in any). */
int bootcache_new(size_t max_bytes, struct bootcache **out);
void bootcache_free(struct bootcache *c);
/* Drops every entry (after a configuration reload). */
void bootcache_clear(struct bootcache *c);
/*
 * Drops the entries no request can hit any more: those whose validity has
 * passed (a memo's few seconds, a token window) and those rendered before
 * the store's generation gen (every entry's generation is at least the
 * store's when it is fresh).  After a storm, its address memos are most of
 * the cache.  Returns the bytes freed.
 */
size_t bootcache_purge(struct bootcache *c, uint64_t gen, int64_t now_us);
/* Bytes held now (as bootcache_entry_cost() counts) and entries. */
size_t bootcache_bytes(struct bootcache *c);
size_t bootcache_count(struct bootcache *c);
/* 1 and the script appended to out (and *meta) on a fresh hit, 0 on a miss. */
int bootcache_get(struct bootcache *c, const char *key, uint64_t gen, int64_t now_us,
		  struct buf *out, struct bootcache_meta *meta);
/* Whether key has a fresh entry (not marked used). */
int bootcache_has(struct bootcache *c, const char *key, uint64_t gen, int64_t now_us);
/* The byte limit it was made with. */
size_t bootcache_limit(struct bootcache *c);
/*
 * On a fresh hit of an entry with a prepared response: calls
 * fn(arg, response, length) under the cache's read lock (fn queues it; it
 * must not call into the cache), sets *meta and *fnrc to fn's result and
 * returns 1.  0 on a miss (nothing called).
 */
typedef int (*bootcache_reply_fn)(void *arg, struct MHD_Response *resp, size_t len);
int bootcache_reply(struct bootcache *c, const char *key, uint64_t gen, int64_t now_us,
		    bootcache_reply_fn fn, void *arg, struct bootcache_meta *meta, int *fnrc);
/* Stores (replaces) key's script.  Failure to store is harmless and silent. */
void bootcache_put(struct bootcache *c, const char *key, uint64_t gen, int64_t valid_until_us,
		   const char *script, size_t len, const struct bootcache_meta *meta);
/* The same with a prepared response of content type ctype. */
void bootcache_put_reply(struct bootcache *c, const char *key, uint64_t gen, int64_t valid_until_us,
			 const char *script, size_t len, const struct bootcache_meta *meta,
			 const char *ctype);

#endif
