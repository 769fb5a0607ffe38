/*
 * prerender: renders every registered node's boot script into the boot
 * cache ahead of its request (bench/PROFILE.md: in a boot storm every
 * node's first request was a miss, five queries and a render each).
 *
 * A background thread at low priority looks at the store's generation
 * once a second; when it has changed and then stood for a second (an
 * import or a run of API writes is over), or when the seed token's window
 * has turned, it walks the nodes' boot interfaces (store_dhcp_hosts()) and
 * calls serve_prerender() for each, until limit bytes of the cache are
 * used (boot.prerender_kib, and never past nine tenths of boot.cache_kib,
 * where eviction starts), or the generation moves again (then it starts
 * over).  A node changed through the API misses as before: a write bumps
 * the generation, which makes every cached script stale at once, and its
 * next request renders it or the next pass has.
 *
 * Callers: corrald.c starts and stops it.
 */
#ifndef CORRAL_PRERENDER_H
#define CORRAL_PRERENDER_H

#include <stddef.h>

struct app;
struct prerender;

/* limit 0: start nothing (*out NULL).  0, or a negative errno. */
int prerender_start(struct app *a, size_t limit, struct prerender **out);
/* Renders every script again on the next tick (the cache was emptied by a reload). */
void prerender_again(struct prerender *p);
/* Stops the thread (within a node's render) and frees it; NULL is fine. */
void prerender_free(struct prerender *p);

#endif
