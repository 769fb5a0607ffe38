/*
 * Unit tests for session: tokens and ids have their length and differ,
 * check/get/delete find only live sessions, an idle session expires, and a
 * full table evicts the least recently used session, not a busy one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"

static void test_create_check_delete(void **state)
{
	struct session_table *t;
	char id[SESSION_ID_LEN + 1], tok[SESSION_TOKEN_LEN + 1];
	char id2[SESSION_ID_LEN + 1], tok2[SESSION_TOKEN_LEN + 1];
	char user[SESSION_USER_MAX];
	(void)state;
	assert_int_equal(session_table_new(4, 60, &t), 0);
	assert_int_equal(session_create(t, "admin", 100, id, tok), 0);
	assert_int_equal(session_create(t, "admin", 100, id2, tok2), 0);
	assert_int_equal(strlen(id), SESSION_ID_LEN);
	assert_int_equal(strlen(tok), SESSION_TOKEN_LEN);
	assert_string_not_equal(tok, tok2);
	assert_string_not_equal(id, id2);

	assert_int_equal(session_check(t, tok, 101), 0);
	assert_int_equal(session_check(t, "", 101), -ENOENT);
	tok2[0] = tok2[0] == 'a' ? 'b' : 'a';
	assert_int_equal(session_check(t, tok2, 101), -ENOENT); /* one character off */
	assert_int_equal(session_check(t, id, 101), -ENOENT);   /* an id is not a token */

	assert_int_equal(session_get(t, id, 101, user), 0);
	assert_string_equal(user, "admin");
	json_t *ids = session_ids(t, 101);
	assert_int_equal(json_array_size(ids), 2);
	json_decref(ids);

	assert_int_equal(session_delete(t, id, 102), 0);
	assert_int_equal(session_delete(t, id, 102), -ENOENT);
	assert_int_equal(session_check(t, tok, 102), -ENOENT);
	assert_int_equal(session_get(t, id, 102, user), -ENOENT);
	session_table_free(t);
}

static void test_idle_expiry(void **state)
{
	struct session_table *t;
	char id[SESSION_ID_LEN + 1], tok[SESSION_TOKEN_LEN + 1];
	(void)state;
	assert_int_equal(session_table_new(2, 60, &t), 0);
	assert_int_equal(session_create(t, "admin", 1000, id, tok), 0);
	assert_int_equal(session_check(t, tok, 1050), 0); /* use restarts the clock */
	assert_int_equal(session_check(t, tok, 1110), 0);
	assert_int_equal(session_check(t, tok, 1171), -ENOENT);
	session_table_free(t);
}

static void test_eviction(void **state)
{
	struct session_table *t;
	char id[3][SESSION_ID_LEN + 1], tok[3][SESSION_TOKEN_LEN + 1];
	(void)state;
	assert_int_equal(session_table_new(2, 600, &t), 0);
	assert_int_equal(session_create(t, "a", 10, id[0], tok[0]), 0);
	assert_int_equal(session_create(t, "b", 11, id[1], tok[1]), 0);
	assert_int_equal(session_check(t, tok[0], 12), 0); /* a is now the busier one */
	assert_int_equal(session_create(t, "c", 13, id[2], tok[2]), 0);
	assert_int_equal(session_check(t, tok[0], 14), 0);
	assert_int_equal(session_check(t, tok[1], 14), -ENOENT);
	assert_int_equal(session_check(t, tok[2], 14), 0);
	session_table_free(t);
}

static void test_limits(void **state)
{
	struct session_table *t = NULL;
	char id[SESSION_ID_LEN + 1], tok[SESSION_TOKEN_LEN + 1];
	char longname[SESSION_USER_MAX + 1];
	(void)state;
	assert_int_equal(session_table_new(0, 60, &t), -EINVAL);
	assert_int_equal(session_table_new(65, 60, &t), -EINVAL);
	assert_int_equal(session_table_new(1, 60, &t), 0);
	memset(longname, 'x', SESSION_USER_MAX);
	longname[SESSION_USER_MAX] = '\0';
	assert_int_equal(session_create(t, longname, 1, id, tok), -ENAMETOOLONG);
	longname[SESSION_USER_MAX - 1] = '\0';
	assert_int_equal(session_create(t, longname, 1, id, tok), 0);
	session_table_free(t);
	session_table_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_check_delete),
		cmocka_unit_test(test_idle_expiry),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
