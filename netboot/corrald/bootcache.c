/*
 * bootcache: chained hash table of rendered scripts.  See bootcache.h.
 */
#include "bootcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BOOTCACHE_BUCKETS 16384 /* power of two */

struct bootcache_entry {
	struct bootcache_entry *next;
	uint64_t gen;
	int64_t valid_until;
	struct bootcache_meta meta;
	size_t len;
	char *script;
	char key[]; /* NUL-terminated */
};

struct bootcache {
	pthread_rwlock_t lock;
	size_t count, max;
	struct bootcache_entry *bucket[BOOTCACHE_BUCKETS];
};

static uint32_t bootcache_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h & (BOOTCACHE_BUCKETS - 1);
}

int bootcache_new(size_t max_entries, struct bootcache **out)
{
	struct bootcache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	pthread_rwlock_init(&c->lock, NULL);
	c->max = max_entries;
	*out = c;
	return 0;
}

static void bootcache_empty(struct bootcache *c)
{
	for (size_t i = 0; i < BOOTCACHE_BUCKETS; i++) {
		struct bootcache_entry *e = c->bucket[i];
		while (e != NULL) {
			struct bootcache_entry *next = e->next;
			free(e->script);
			free(e);
			e = next;
		}
		c->bucket[i] = NULL;
	}
	c->count = 0;
}

void bootcache_clear(struct bootcache *c)
{
	pthread_rwlock_wrlock(&c->lock);
	bootcache_empty(c);
	pthread_rwlock_unlock(&c->lock);
}

void bootcache_free(struct bootcache *c)
{
	if (c == NULL)
		return;
	bootcache_empty(c);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

int bootcache_get(struct bootcache *c, const char *key, uint64_t gen, int64_t now_us,
		  struct buf *out, struct bootcache_meta *meta)
{
	int hit = 0;
	pthread_rwlock_rdlock(&c->lock);
	for (struct bootcache_entry *e = c->bucket[bootcache_hash(key)]; e; e = e->next) {
		if (strcmp(e->key, key) != 0)
			continue;
		if (e->gen == gen && now_us < e->valid_until &&
		    buf_add(out, e->script, e->len) == 0) {
			*meta = e->meta;
			hit = 1;
		}
		break;
	}
	pthread_rwlock_unlock(&c->lock);
	return hit;
}

void bootcache_put(struct bootcache *c, const char *key, uint64_t gen, int64_t valid_until_us,
		   const char *script, size_t len, const struct bootcache_meta *meta)
{
	size_t klen = strlen(key);
	struct bootcache_entry *n = malloc(sizeof(*n) + klen + 1);
	if (n == NULL)
		return;
	n->script = malloc(len + 1);
	if (n->script == NULL) {
		free(n);
		return;
	}
	memcpy(n->script, script, len);
	n->script[len] = '\0';
	memcpy(n->key, key, klen + 1);
	n->len = len;
	n->gen = gen;
	n->valid_until = valid_until_us;
	n->meta = *meta;

	uint32_t h = bootcache_hash(key);
	pthread_rwlock_wrlock(&c->lock);
	struct bootcache_entry **pp = &c->bucket[h];
	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	if (*pp != NULL) {
		struct bootcache_entry *old = *pp;
		n->next = old->next;
		*pp = n;
		free(old->script);
		free(old);
	} else {
		if (c->count >= c->max) {
			bootcache_empty(c);
			pp = &c->bucket[h];
		}
		n->next = NULL;
		*pp = n;
		c->count++;
	}
	pthread_rwlock_unlock(&c->lock);
}
