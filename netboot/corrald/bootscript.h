/*
 * bootscript: renders the iPXE scripts corrald gives nodes.  Pure
 * functions: everything comes in through arguments (the boot target
 * bootsel resolved, the signed seed token, the retry count), so
 * rendering is testable line by line and cacheable.
 *
 * Inputs are trusted to be iPXE-safe: names, MACs, locations and kernel
 * parameters were validated when they were written (valid.h).
 *
 * Callers: serve.c only (the node-facing route and the API's preview go
 * through serve_render_bootscript()).
 */
#ifndef CORRAL_BOOTSCRIPT_H
#define CORRAL_BOOTSCRIPT_H

#include "bootsel.h"
#include "buf.h"

/* Scripts are small; a larger one is a bug or absurd parameters. */
#define BOOTSCRIPT_MAX (64 * 1024)

struct bootscript_env {
	const char *base_url;     /* advertised URL, no trailing '/' */
	unsigned unknown_wait;    /* seconds before an unknown node asks again */
	unsigned retry_max_sleep; /* cap on the retry back-off, seconds */
};

/* Seconds a script waits before attempt `retry` + 1: 5, 10, 20, ... capped. */
unsigned bootscript_retry_sleep(const struct bootscript_env *env, unsigned retry);
/*
 * Full boot script for a node with a profile.  self is the query that
 * found the node ("mac=…", "name=…", "nid=…"); the retry path re-chains to
 * it.  Appends to out; 0 or -E2BIG.
 */
int bootscript_node(const struct bootscript_env *env, const struct bootsel *b, const char *seed,
		    const char *self, unsigned retry, struct buf *out);
/* Script that prints why, waits unknown_wait seconds and asks again. */
int bootscript_wait(const struct bootscript_env *env, const char *why, const char *self,
		    struct buf *out);
/* Script that leaves network boot for the next boot device. */
int bootscript_exit(const char *why, struct buf *out);
/* A location as a URL: http(s) as is, else base_url/files/<path>. */
int bootscript_url(const struct bootscript_env *env, const char *loc, struct buf *out);

#endif
