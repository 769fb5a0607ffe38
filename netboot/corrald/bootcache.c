/*
 * bootcache: chained hash table of rendered answers, bounded by bytes with
 * a clock sweep.  See bootcache.h.
 */
#include "bootcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define BOOTCACHE_BUCKETS 16384 /* power of two */
/* What libmicrohttpd allocates for a response and its header, roughly. */
#define BOOTCACHE_RESP_COST 256

/* Compact: the meta's detail text follows the key in the tail (most keys have none). */
struct bootcache_entry {
	struct bootcache_entry *next;
	uint64_t gen;
	int64_t valid_until;
	int64_t node_id; /* the meta, but for its detail */
	int kind;
	char mac[18];
	atomic_uchar used; /* hit since the last sweep passed */
	uint32_t len, cost;
	char *script;              /* owned by resp when there is one */
	struct MHD_Response *resp; /* prepared answer, or NULL */
	char key[];                /* NUL-terminated, then the detail, NUL-terminated */
};

struct bootcache {
	pthread_rwlock_t lock;
	size_t count, bytes, max;
	size_t hand; /* the clock's bucket */
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

size_t bootcache_entry_cost(size_t keylen, size_t len, int prepared)
{
	return sizeof(struct bootcache_entry) + keylen + 1 + len + 1 +
	       (prepared ? BOOTCACHE_RESP_COST : 0);
}

/* The meta kept with e, whole again. */
static void bootcache_meta_of(const struct bootcache_entry *e, struct bootcache_meta *m)
{
	m->node_id = e->node_id;
	m->kind = e->kind;
	memcpy(m->mac, e->mac, sizeof(m->mac));
	const char *detail = e->key + strlen(e->key) + 1;
	size_t n = strlen(detail);
	memcpy(m->detail, detail, n + 1); /* it fit when it was put */
}

int bootcache_new(size_t max_bytes, struct bootcache **out)
{
	struct bootcache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	pthread_rwlock_init(&c->lock, NULL);
	c->max = max_bytes;
	*out = c;
	return 0;
}

static void bootcache_entry_free(struct bootcache_entry *e)
{
	if (e->resp != NULL)
		MHD_destroy_response(e->resp); /* frees the bytes with its last reference */
	else
		free(e->script);
	free(e);
}

static void bootcache_empty(struct bootcache *c)
{
	for (size_t i = 0; i < BOOTCACHE_BUCKETS; i++) {
		struct bootcache_entry *e = c->bucket[i];
		while (e != NULL) {
			struct bootcache_entry *next = e->next;
			bootcache_entry_free(e);
			e = next;
		}
		c->bucket[i] = NULL;
	}
	c->count = 0;
	c->bytes = 0;
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

size_t bootcache_purge(struct bootcache *c, uint64_t gen, int64_t now_us)
{
	size_t was;
	pthread_rwlock_wrlock(&c->lock);
	was = c->bytes;
	for (size_t i = 0; i < BOOTCACHE_BUCKETS; i++) {
		struct bootcache_entry **pp = &c->bucket[i];
		while (*pp != NULL) {
			struct bootcache_entry *e = *pp;
			if (e->gen >= gen && now_us < e->valid_until) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			c->bytes -= e->cost;
			c->count--;
			bootcache_entry_free(e);
		}
	}
	was -= c->bytes;
	pthread_rwlock_unlock(&c->lock);
	return was;
}

size_t bootcache_bytes(struct bootcache *c)
{
	pthread_rwlock_rdlock(&c->lock);
	size_t n = c->bytes;
	pthread_rwlock_unlock(&c->lock);
	return n;
}

size_t bootcache_count(struct bootcache *c)
{
	pthread_rwlock_rdlock(&c->lock);
	size_t n = c->count;
	pthread_rwlock_unlock(&c->lock);
	return n;
}

/* The fresh entry for key, marked used, or NULL.  Under the read lock. */
static struct bootcache_entry *bootcache_find(struct bootcache *c, const char *key, uint64_t gen,
					      int64_t now_us)
{
	for (struct bootcache_entry *e = c->bucket[bootcache_hash(key)]; e; e = e->next) {
		if (strcmp(e->key, key) != 0)
			continue;
		if (e->gen != gen || now_us >= e->valid_until)
			return NULL;
		if (atomic_load_explicit(&e->used, memory_order_relaxed) == 0)
			atomic_store_explicit(&e->used, 1, memory_order_relaxed);
		return e;
	}
	return NULL;
}

int bootcache_get(struct bootcache *c, const char *key, uint64_t gen, int64_t now_us,
		  struct buf *out, struct bootcache_meta *meta)
{
	int hit = 0;
	pthread_rwlock_rdlock(&c->lock);
	struct bootcache_entry *e = bootcache_find(c, key, gen, now_us);
	if (e != NULL && buf_add(out, e->script, e->len) == 0) {
		bootcache_meta_of(e, meta);
		hit = 1;
	}
	pthread_rwlock_unlock(&c->lock);
	return hit;
}

int bootcache_has(struct bootcache *c, const char *key, uint64_t gen, int64_t now_us)
{
	int has = 0;
	pthread_rwlock_rdlock(&c->lock);
	for (struct bootcache_entry *e = c->bucket[bootcache_hash(key)]; e; e = e->next)
		if (strcmp(e->key, key) == 0) {
			has = e->gen == gen && now_us < e->valid_until;
			break;
		}
	pthread_rwlock_unlock(&c->lock);
	return has;
}

size_t bootcache_limit(struct bootcache *c)
{
	return c->max; /* set once */
}

int bootcache_reply(struct bootcache *c, const char *key, uint64_t gen, int64_t now_us,
		    bootcache_reply_fn fn, void *arg, struct bootcache_meta *meta, int *fnrc)
{
	int hit = 0;
	pthread_rwlock_rdlock(&c->lock);
	struct bootcache_entry *e = bootcache_find(c, key, gen, now_us);
	if (e != NULL && e->resp != NULL) {
		bootcache_meta_of(e, meta);
		*fnrc = fn(arg, e->resp, e->len);
		hit = 1;
	}
	pthread_rwlock_unlock(&c->lock);
	return hit;
}

/*
 * Under the write lock: evicts entries not used since the clock last
 * passed them until need more bytes fit with a tenth of the limit free
 * (two rounds at most: the first clears the marks it passes).
 */
static void bootcache_evict(struct bootcache *c, size_t need)
{
	size_t keep = c->max - c->max / 10;
	size_t target = need >= keep ? 0 : keep - need;
	for (size_t step = 0; c->bytes > target && step < 2 * BOOTCACHE_BUCKETS; step++) {
		struct bootcache_entry **pp = &c->bucket[c->hand];
		while (*pp != NULL) {
			struct bootcache_entry *e = *pp;
			if (atomic_exchange_explicit(&e->used, 0, memory_order_relaxed) != 0) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			c->bytes -= e->cost;
			c->count--;
			bootcache_entry_free(e);
		}
		c->hand = (c->hand + 1) & (BOOTCACHE_BUCKETS - 1);
	}
}

/* Links n in (replacing key's entry), evicting to stay under the limit. */
static void bootcache_link(struct bootcache *c, struct bootcache_entry *n)
{
	uint32_t h = bootcache_hash(n->key);
	pthread_rwlock_wrlock(&c->lock);
	struct bootcache_entry **pp = &c->bucket[h];
	while (*pp != NULL && strcmp((*pp)->key, n->key) != 0)
		pp = &(*pp)->next;
	if (*pp != NULL) { /* replaced in place: its neighbours are not disturbed */
		struct bootcache_entry *old = *pp;
		n->next = old->next;
		*pp = n;
		c->bytes = c->bytes - old->cost + n->cost;
		bootcache_entry_free(old);
	} else {
		if (c->bytes + n->cost > c->max)
			bootcache_evict(c, n->cost);
		n->next = c->bucket[h];
		c->bucket[h] = n;
		c->count++;
		c->bytes += n->cost;
	}
	pthread_rwlock_unlock(&c->lock);
}

/* A new entry (not linked), its bytes copied, or NULL. */
static struct bootcache_entry *bootcache_entry_new(const char *key, uint64_t gen,
						   int64_t valid_until_us, const char *script,
						   size_t len, const struct bootcache_meta *meta)
{
	size_t klen = strlen(key);
	size_t dlen = strnlen(meta->detail, sizeof(meta->detail) - 1);
	if (len > UINT32_MAX / 2)
		return NULL;
	struct bootcache_entry *n = calloc(1, sizeof(*n) + klen + 1 + dlen + 1);
	if (n == NULL)
		return NULL;
	n->script = malloc(len + 1);
	if (n->script == NULL) {
		free(n);
		return NULL;
	}
	memcpy(n->script, script, len);
	n->script[len] = '\0';
	memcpy(n->key, key, klen + 1);
	memcpy(n->key + klen + 1, meta->detail, dlen);
	n->key[klen + 1 + dlen] = '\0';
	n->len = (uint32_t)len;
	n->gen = gen;
	n->valid_until = valid_until_us;
	n->node_id = meta->node_id;
	n->kind = meta->kind;
	memcpy(n->mac, meta->mac, sizeof(n->mac));
	n->mac[sizeof(n->mac) - 1] = '\0';
	n->cost = (uint32_t)bootcache_entry_cost(klen + dlen + 1, len, 0);
	atomic_init(&n->used, 1); /* a second chance: it was just asked for */
	return n;
}

void bootcache_put(struct bootcache *c, const char *key, uint64_t gen, int64_t valid_until_us,
		   const char *script, size_t len, const struct bootcache_meta *meta)
{
	if (bootcache_entry_cost(strlen(key) + sizeof(meta->detail), len, 0) > c->max)
		return;
	struct bootcache_entry *n =
		bootcache_entry_new(key, gen, valid_until_us, script, len, meta);
	if (n != NULL)
		bootcache_link(c, n);
}

void bootcache_put_reply(struct bootcache *c, const char *key, uint64_t gen, int64_t valid_until_us,
			 const char *script, size_t len, const struct bootcache_meta *meta,
			 const char *ctype)
{
	if (bootcache_entry_cost(strlen(key) + sizeof(meta->detail), len, 1) > c->max)
		return;
	struct bootcache_entry *n =
		bootcache_entry_new(key, gen, valid_until_us, script, len, meta);
	if (n == NULL)
		return;
	/* From here the response owns the bytes (free() with its last reference). */
	n->resp = MHD_create_response_from_buffer_with_free_callback(len, n->script, free);
	if (n->resp == NULL) {
		bootcache_entry_free(n);
		return;
	}
	if (ctype != NULL &&
	    MHD_add_response_header(n->resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES) {
		bootcache_entry_free(n);
		return;
	}
	n->cost += BOOTCACHE_RESP_COST;
	bootcache_link(c, n);
}
