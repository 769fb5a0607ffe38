/*
 * bootcache: rendered boot scripts kept in memory, so a boot storm costs
 * a hash lookup and a copy per request instead of five queries and a
 * render.  An entry is fresh while the store's generation is the one it
 * was rendered at (any write through the API bumps it) and its seed
 * token's validity window has not passed.  Thread-safe (rwlock); bounded
 * (emptied when full).
 *
 * serve.c also keeps boot script requests' identity verdicts here, under
 * keys of their own ("tie MAC SRC", an empty or a reason text, kind 0 or
 * 1), fresh while the store's and the leases' generations stand.
 *
 * Callers: corrald.c makes, clears (after a reload) and frees it; serve.c
 * gets and puts.
 */
#ifndef CORRAL_BOOTCACHE_H
#define CORRAL_BOOTCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct bootcache;

/* What a hit needs besides the script: who it was for, for events/metrics. */
struct bootcache_meta {
	int64_t node_id; /* 0: unknown MAC */
	int kind;        /* enum metrics_boot */
	char mac[18];
	char detail[160];
};

int bootcache_new(size_t max_entries, struct bootcache **out);
void bootcache_free(struct bootcache *c);
/* Drops every entry (after a configuration reload). */
void bootcache_clear(struct bootcache *c);
/* 1 and the script appended to out (and *meta) on a fresh hit, 0 on a miss. */
int bootcache_get(struct bootcache *c, const char *key, uint64_t gen, int64_t now_us,
		  struct buf *out, struct bootcache_meta *meta);
/* Stores (replaces) key's script.  Failure to store is harmless and silent. */
void bootcache_put(struct bootcache *c, const char *key, uint64_t gen, int64_t valid_until_us,
		   const char *script, size_t len, const struct bootcache_meta *meta);

#endif
