/*
 * admit: admission control for large transfers (a node's kernel, initrd
 * and root image).  At most `limit` run at once (server.max_large_transfers;
 * 0: no cap); a request beyond it is refused, and the caller answers 503
 * with Retry-After, so that a boot storm on a thin link completes in waves
 * instead of every node crawling and timing out together.  iPXE's boot
 * script goes to its retry path on the 503 (bootscript.h); curl, which
 * dracut's livenet downloads the root image with, retries a 503 (--retry)
 * after the Retry-After it names.
 *
 * The Retry-After said is spread over [retry_after, 2 * retry_after)
 * seconds by the refusal count, so refused nodes do not come back at once.
 *
 * Thread-safe (atomics).  Callers: corrald.c makes it and sets the limit on
 * a reload; serve.c takes a slot per transfer and gives it back when the
 * request is done (http_req.on_done).
 */
#ifndef CORRAL_ADMIT_H
#define CORRAL_ADMIT_H

#include <stdint.h>

struct admit;

int admit_new(unsigned limit, unsigned retry_after, struct admit **out);
void admit_free(struct admit *a);
/* A new cap (0: none) and Retry-After base; transfers running keep their slots. */
void admit_set(struct admit *a, unsigned limit, unsigned retry_after);
/*
 * 1: admitted; admit_release() once when the transfer is done.  0: refused,
 * *retry_after the seconds to tell the client.
 */
int admit_try(struct admit *a, unsigned *retry_after);
void admit_release(struct admit *a);
/* For http_req.on_done: admit_release(arg). */
void admit_release_cb(void *arg);
/* Transfers running now, and refused since the start. */
unsigned admit_active(struct admit *a);
uint64_t admit_refused(struct admit *a);

#endif
