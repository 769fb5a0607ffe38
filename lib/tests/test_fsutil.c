/*
 * Unit tests for fsutil's whole reads: a file comes back byte for byte
 * (NULs and all, appended to what the buffer held), the cap is exact (a
 * file of cap bytes fits, one byte more is -E2BIG), and a missing file or
 * a directory is its errno.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "fsutil.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	if (buf_fmt(dir, sizeof(dir), "/tmp/lib_test_fsutil.XXXXXX") < 0 || mkdtemp(dir) == NULL)
		return -1;
	return buf_fmt(path, sizeof(path), "%s/f", dir) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void put(const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_read_whole(void **state)
{
	char data[40000];
	struct buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i % 251); /* NULs too, and more than one read */
	put(data, sizeof(data));
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_adds(&b, "head:"), 0);
	assert_int_equal(fs_read_file(path, 1 << 20, &b), 0);
	assert_int_equal(b.len, 5 + sizeof(data));
	assert_memory_equal(b.data, "head:", 5);
	assert_memory_equal(b.data + 5, data, sizeof(data));
	buf_clear(&b);

	put("", 0);
	buf_init(&b, 16);
	assert_int_equal(fs_read_file(path, 16, &b), 0);
	assert_int_equal(b.len, 0);
	buf_clear(&b);
}

static void test_read_cap(void **state)
{
	struct buf b;

	(void)state;
	put("0123456789", 10);
	buf_init(&b, 1024);
	assert_int_equal(fs_read_file(path, 10, &b), 0);
	assert_string_equal(buf_str(&b), "0123456789");
	buf_reset(&b);
	assert_int_equal(fs_read_file(path, 9, &b), -E2BIG);
	buf_clear(&b);
	buf_init(&b, 9); /* the buffer's own cap counts too */
	assert_int_equal(fs_read_file(path, 1024, &b), -E2BIG);
	buf_clear(&b);
}

static void test_read_errors(void **state)
{
	char missing[160];
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_fmt(missing, sizeof(missing), "%s/none", dir), 0);
	assert_int_equal(fs_read_file(missing, 1024, &b), -ENOENT);
	assert_int_equal(fs_read_file(dir, 1024, &b), -EISDIR);
	assert_int_equal(b.len, 0);
	buf_clear(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_whole),
		cmocka_unit_test(test_read_cap),
		cmocka_unit_test(test_read_errors),
	};

	return cmocka_run_group_tests_name("fsutil", tests, setup, teardown) != 0;
}
