/*
 * prerender: boot scripts rendered ahead of their requests.  See
 * prerender.h.
 */
#include "prerender.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "log.h"
#include "serve.h"

#define PRERENDER_NICE 10 /* below the request handlers */

struct prerender {
	struct app *a;
	size_t limit;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
	int again; /* prerender_again() was called */
};

static int prerender_stopping(struct prerender *p)
{
	pthread_mutex_lock(&p->lock);
	int stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

/*
 * One pass over the nodes at generation gen.  1 done (every node's script
 * is in the cache, or the limit is reached), 0 cut short (the generation
 * moved, a stop, or a store error): the next tick tries again.
 */
static int prerender_pass(struct prerender *p, uint64_t gen)
{
	struct app *a = p->a;
	struct store_dhcp_host *hosts = NULL;
	size_t n = 0, made = 0, i;
	if (store_dhcp_hosts(a->store, &hosts, &n) < 0) {
		log_warnx("prerender: cannot list the nodes: %s", store_errmsg());
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (hosts[i].name[0] == '\0')
			continue; /* not a boot interface */
		if (bootcache_bytes(a->bootcache) >= p->limit)
			break;
		if (store_generation(a->store) != gen || prerender_stopping(p))
			break;
		int rc = serve_prerender(a, hosts[i].mac);
		if (rc < 0) {
			log_warnx("prerender: %s: %s", hosts[i].mac, store_errmsg());
			break;
		}
		made += (size_t)rc;
	}
	store_release(a->store);
	int done = i == n || bootcache_bytes(a->bootcache) >= p->limit;
	free(hosts);
	if (made > 0)
		log_debug("prerender: %zu boot scripts rendered ahead (%s)", made,
			  done ? "all" : "cut short");
	return done;
}

static void *prerender_run(void *arg)
{
	struct prerender *p = arg;
	uint64_t seen = 0, done = 0;
	int64_t until = 0; /* the window the last pass rendered for */
	int have = 0;
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), PRERENDER_NICE);
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += 1;
		pthread_cond_timedwait(&p->wake, &p->lock, &t);
		if (p->stop)
			break;
		if (p->again)
			have = 0;
		p->again = 0;
		pthread_mutex_unlock(&p->lock);
		uint64_t gen = store_generation(p->a->store);
		int64_t now = store_now_us();
		/* changed and then still for a tick, or the token window turned */
		if (gen == seen && (!have || gen != done || now >= until)) {
			until = serve_window_end(p->a, now);
			if (prerender_pass(p, gen)) {
				done = gen;
				have = 1;
			}
		}
		seen = gen;
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int prerender_start(struct app *a, size_t limit, struct prerender **out)
{
	*out = NULL;
	if (limit == 0)
		return 0;
	struct prerender *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	size_t most = bootcache_limit(a->bootcache) / 10 * 9; /* eviction starts above */
	p->a = a;
	p->limit = limit < most ? limit : most;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (pthread_create(&p->thread, NULL, prerender_run, p) != 0) {
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->wake);
		free(p);
		return -EAGAIN;
	}
	*out = p;
	return 0;
}

void prerender_free(struct prerender *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->wake);
	free(p);
}

void prerender_again(struct prerender *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->again = 1;
	pthread_mutex_unlock(&p->lock);
}
