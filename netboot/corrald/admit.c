/*
 * admit: a counter of running large transfers against a cap.  See admit.h.
 */
#include "admit.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

struct admit {
	atomic_uint limit, retry_after;
	atomic_uint active;
	atomic_uint_fast64_t refused;
};

int admit_new(unsigned limit, unsigned retry_after, struct admit **out)
{
	struct admit *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	admit_set(a, limit, retry_after);
	*out = a;
	return 0;
}

void admit_free(struct admit *a)
{
	free(a);
}

void admit_set(struct admit *a, unsigned limit, unsigned retry_after)
{
	atomic_store(&a->limit, limit);
	atomic_store(&a->retry_after, retry_after > 0 ? retry_after : 1);
}

int admit_try(struct admit *a, unsigned *retry_after)
{
	unsigned limit = atomic_load(&a->limit);
	unsigned cur = atomic_load(&a->active);
	do {
		if (limit != 0 && cur >= limit) {
			uint64_t n = atomic_fetch_add(&a->refused, 1);
			unsigned base = atomic_load(&a->retry_after);
			*retry_after = base + (unsigned)(n % base);
			return 0;
		}
	} while (!atomic_compare_exchange_weak(&a->active, &cur, cur + 1));
	return 1;
}

void admit_release(struct admit *a)
{
	unsigned cur = atomic_load(&a->active);
	/* never below 0, whatever a caller's bug */
	while (cur > 0 && !atomic_compare_exchange_weak(&a->active, &cur, cur - 1))
		;
}

void admit_release_cb(void *arg)
{
	admit_release(arg);
}

unsigned admit_active(struct admit *a)
{
	return atomic_load(&a->active);
}

uint64_t admit_refused(struct admit *a)
{
	return atomic_load(&a->refused);
}
