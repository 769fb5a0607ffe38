/*
 * Unit tests for admit: the cap holds, a release frees a slot, 0 is no
 * cap, a new limit applies to the next request, Retry-After is spread over
 * [base, 2 * base), and many threads never pass the cap together.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "admit.h"

static void test_cap(void **state)
{
	struct admit *a = NULL;
	unsigned wait = 0;

	(void)state;
	assert_int_equal(admit_new(2, 5, &a), 0);
	assert_int_equal(admit_try(a, &wait), 1);
	assert_int_equal(admit_try(a, &wait), 1);
	assert_int_equal(admit_active(a), 2);
	assert_int_equal(admit_try(a, &wait), 0);
	assert_true(wait >= 5 && wait < 10);
	assert_int_equal(admit_refused(a), 1);
	assert_int_equal(admit_active(a), 2); /* a refusal takes no slot */
	admit_release(a);
	assert_int_equal(admit_try(a, &wait), 1);
	assert_int_equal(admit_try(a, &wait), 0);
	admit_release_cb(a);
	admit_release(a);
	assert_int_equal(admit_active(a), 0);
	admit_release(a); /* one too many: stays at 0 */
	assert_int_equal(admit_active(a), 0);
	assert_int_equal(admit_refused(a), 2);
	admit_free(a);
}

static void test_no_cap_and_reload(void **state)
{
	struct admit *a = NULL;
	unsigned wait = 0;

	(void)state;
	assert_int_equal(admit_new(0, 5, &a), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(admit_try(a, &wait), 1);
	assert_int_equal(admit_refused(a), 0);
	/* a lower cap: the 1000 running keep their slots, the next is refused */
	admit_set(a, 10, 3);
	assert_int_equal(admit_try(a, &wait), 0);
	assert_true(wait >= 3 && wait < 6);
	for (int i = 0; i < 995; i++)
		admit_release(a);
	assert_int_equal(admit_active(a), 5);
	assert_int_equal(admit_try(a, &wait), 1);
	/* a limit of 1, the VM test's: one at a time */
	admit_set(a, 1, 1);
	for (int i = 0; i < 6; i++)
		admit_release(a);
	assert_int_equal(admit_try(a, &wait), 1);
	assert_int_equal(admit_try(a, &wait), 0);
	assert_int_equal(wait, 1); /* base 1: [1, 2) */
	admit_free(a);
}

/* Refused requests are told different waits, every one of [base, 2 base) in turn. */
static void test_retry_spread(void **state)
{
	struct admit *a = NULL;
	unsigned wait, seen[8] = {0};

	(void)state;
	assert_int_equal(admit_new(1, 4, &a), 0);
	assert_int_equal(admit_try(a, &wait), 1);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(admit_try(a, &wait), 0);
		assert_true(wait >= 4 && wait < 8);
		seen[wait]++;
	}
	for (unsigned w = 4; w < 8; w++)
		assert_int_equal(seen[w], 10);
	admit_free(a);
}

struct racer {
	struct admit *a;
	atomic_int *inside, *peak;
	int admitted;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	unsigned wait;
	for (int i = 0; i < 50000; i++) {
		if (!admit_try(r->a, &wait))
			continue;
		int now = atomic_fetch_add(r->inside, 1) + 1;
		int p = atomic_load(r->peak);
		while (now > p && !atomic_compare_exchange_weak(r->peak, &p, now))
			;
		r->admitted++;
		atomic_fetch_sub(r->inside, 1);
		admit_release(r->a);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct admit *a = NULL;
	atomic_int inside = 0, peak = 0;
	pthread_t t[4];
	struct racer r[4];

	(void)state;
	assert_int_equal(admit_new(3, 1, &a), 0);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){a, &inside, &peak, 0};
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_true(atomic_load(&peak) <= 3);
	assert_true(r[0].admitted + r[1].admitted + r[2].admitted + r[3].admitted > 0);
	assert_int_equal(admit_active(a), 0);
	admit_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_no_cap_and_reload),
		cmocka_unit_test(test_retry_spread),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("admit", tests, NULL, NULL) != 0;
}
