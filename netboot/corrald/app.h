/*
 * app: the state corrald's request handlers share, wired by corrald.c.
 *
 * Owns nothing itself: corrald.c creates every module below, fills a
 * struct app and frees them at exit; the unit tests' fixture (appfix.h)
 * does the same.  Handlers (serve.c, api*.c, routes.c's callbacks) get it
 * as the HTTP context (r->ctx) and may use every member.  The
 * configuration and the file root can be replaced by a reload while
 * requests run: readers take them with app_config()/app_files(); replaced
 * ones are kept until exit (a reload is rare; a use-after-free in a
 * handler is not).
 */
#ifndef CORRAL_APP_H
#define CORRAL_APP_H

#include <stdatomic.h>
#include <stdint.h>

#include "auth.h"
#include "bootcache.h"
#include "config.h"
#include "events.h"
#include "files.h"
#include "hub.h"
#include "metrics.h"
#include "redfish.h"
#include "store.h"

struct app_retired; /* replaced configs and file roots, freed at exit */

struct app {
	_Atomic(struct config *) cfg;  /* current configuration */
	_Atomic(struct files *) files; /* current file root */
	struct store *store;
	struct events *events;
	struct metrics *metrics;
	struct bootcache *bootcache;
	struct hub *hub;         /* live updates (SSE) */
	struct redfish *redfish; /* BMC discovery and control jobs */
	unsigned char seed_key[AUTH_KEY_LEN];
	int64_t started_us;
	struct app_retired *retired;
};

static inline const struct config *app_config(struct app *a)
{
	return atomic_load(&a->cfg);
}

static inline struct files *app_files(struct app *a)
{
	return atomic_load(&a->files);
}

#endif
