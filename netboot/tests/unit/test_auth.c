/*
 * Unit tests for auth: API token shape and hash, signed seed tokens (known
 * layout, round trip, expiry, tampering, wrong key, malformed input) and
 * the key file (created 0600 with 32 random bytes, read back unchanged);
 * token scopes (their names, order and stored numbers).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "log.h"
#include "tfmt.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static void key_fill(unsigned char key[AUTH_KEY_LEN], unsigned char first)
{
	for (int i = 0; i < AUTH_KEY_LEN; i++)
		key[i] = (unsigned char)(first + i);
}

static int setup(void **state)
{
	(void)state;
	return auth_init() == 0 ? 0 : -1;
}

/* ---- API tokens --------------------------------------------------------- */

static void test_token_format(void **state)
{
	char seen[16][AUTH_TOKEN_LEN + 8];

	(void)state;
	for (int i = 0; i < 16; i++) {
		char *t = seen[i];

		memset(t, 'Z', AUTH_TOKEN_LEN + 8);
		auth_token_new(t);
		assert_int_equal(strncmp(t, "crl_", 4), 0);
		/* 32 random bytes in unpadded base64url: 43 characters. */
		assert_int_equal(strlen(t), 4 + 43);
		assert_true(strlen(t) < AUTH_TOKEN_LEN);
		for (const char *p = t + 4; *p; p++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
				fail_msg("token %s: character '%c' is not base64url", t, *p);
		for (int j = 0; j < i; j++)
			if (strcmp(seen[j], t) == 0)
				fail_msg("two tokens are equal: %s", t);
	}
}

struct hash_case {
	const char *token;
	const char *blake2b_256; /* hex */
};

static const struct hash_case hash_cases[] = {
	{"", "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"},
	{"abc", "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"},
	{"crl_test", "2067dafce645ad91d6255900f6bba24e4ae18e4273b9ea3900bbfe1de85fd1f5"},
};

static void test_token_hash(void **state)
{
	unsigned char h1[AUTH_HASH_LEN + 8], h2[AUTH_HASH_LEN];
	char t[AUTH_TOKEN_LEN + 8], t2[AUTH_TOKEN_LEN + 16], hx[2 * AUTH_HASH_LEN + 1];

	(void)state;
	assert_int_equal(AUTH_HASH_LEN, 32);
	/* Known values: unkeyed BLAKE2b with a 32-byte digest. */
	for (size_t i = 0; i < NELEM(hash_cases); i++) {
		auth_token_hash(hash_cases[i].token, h2);
		hex(h2, AUTH_HASH_LEN, hx);
		if (strcmp(hx, hash_cases[i].blake2b_256) != 0)
			fail_msg("hash(\"%s\") = %s, want %s", hash_cases[i].token, hx,
				 hash_cases[i].blake2b_256);
	}
	/* Exactly 32 bytes written; stable; different tokens, different hashes. */
	auth_token_new(t);
	memset(h1, 0xa5, sizeof(h1));
	auth_token_hash(t, h1);
	for (size_t i = AUTH_HASH_LEN; i < sizeof(h1); i++)
		assert_int_equal(h1[i], 0xa5);
	auth_token_hash(t, h2);
	assert_memory_equal(h1, h2, AUTH_HASH_LEN);
	auth_token_new(t2);
	auth_token_hash(t2, h2);
	assert_memory_not_equal(h1, h2, AUTH_HASH_LEN);
	/* One character more changes it. */
	TFMT(t2, "%sx", t);
	auth_token_hash(t2, h2);
	assert_memory_not_equal(h1, h2, AUTH_HASH_LEN);
}

/* ---- scopes ---------------------------------------------------------------- */

/* The API's names, the order routes rely on, and what a stored number reads as. */
static void test_scope_names(void **state)
{
	static const struct {
		const char *name;
		int rc;
		enum auth_scope scope;
	} parse[] = {
		{"read", 0, AUTH_SCOPE_READ},
		{"admin", 0, AUTH_SCOPE_ADMIN},
		{"Admin", -EINVAL, 0},
		{"none", -EINVAL, 0},
		{"", -EINVAL, 0},
		{"read ", -EINVAL, 0},
		{NULL, -EINVAL, 0},
	};

	(void)state;
	assert_true(AUTH_SCOPE_NONE < AUTH_SCOPE_READ && AUTH_SCOPE_READ < AUTH_SCOPE_ADMIN);
	/* The numbers are stored in the tokens table: they never change. */
	assert_int_equal(AUTH_SCOPE_READ, 1);
	assert_int_equal(AUTH_SCOPE_ADMIN, 2);
	for (size_t i = 0; i < NELEM(parse); i++) {
		enum auth_scope got = AUTH_SCOPE_NONE;
		int rc = auth_scope_parse(parse[i].name, &got);
		if (rc != parse[i].rc || (rc == 0 && got != parse[i].scope))
			fail_msg("parse(%s): rc %d scope %d, want %d %d",
				 parse[i].name ? parse[i].name : "NULL", rc, (int)got, parse[i].rc,
				 (int)parse[i].scope);
		if (rc == 0)
			assert_string_equal(auth_scope_name(got), parse[i].name);
	}
	assert_string_equal(auth_scope_name(3), "admin");
	assert_string_equal(auth_scope_name(0), "read");
}

/* ---- seed tokens -------------------------------------------------------- */

/* The layout in auth.c: id | expiry (big-endian) | HMAC-SHA256[0..20). */
struct seed_vector {
	int64_t id;
	uint32_t expiry;
	const char *token;
};

static const struct seed_vector seed_vectors[] = {
	{42, 1000, "0000002a000003e8f33f02ed67cbeba367f064b017952098fb8ec114"},
	{4294967295LL, 2147483647u, "ffffffff7fffffffed37ad2be460aac7f4a1b48416a1e6e554e6daf1"},
};

static void test_seed_vectors(void **state)
{
	unsigned char key[AUTH_KEY_LEN];

	(void)state;
	key_fill(key, 1);
	for (size_t i = 0; i < NELEM(seed_vectors); i++) {
		char tok[AUTH_SEED_LEN];
		int64_t id = -1;

		auth_seed_make(key, seed_vectors[i].id, seed_vectors[i].expiry, tok);
		assert_string_equal(tok, seed_vectors[i].token);
		assert_int_equal(strlen(tok), AUTH_SEED_LEN - 1);
		assert_int_equal(auth_seed_check(key, seed_vectors[i].token, 0, &id), 0);
		assert_int_equal(id, seed_vectors[i].id);
	}
}

struct seed_case {
	int64_t id;
	uint32_t expiry, now;
	int rc;
};

static const struct seed_case seed_cases[] = {
	{1, 1000, 0, 0},
	{1, 1000, 999, 0},
	{1, 1000, 1000, 0}, /* valid through its expiry second */
	{1, 1000, 1001, -EACCES},
	{1, 1000, 4000000000u, -EACCES},
	{7, 1800000000u, 1799913600u, 0},
	{7, 1800000000u, 1800000001u, -EACCES},
	{2147483647, 4294967295u, 4294967295u, 0},
	{123456, 0, 0, 0},
	{123456, 0, 1, -EACCES},
};

static void test_seed_round_trip(void **state)
{
	unsigned char key[AUTH_KEY_LEN];

	(void)state;
	key_fill(key, 0x40);
	for (size_t i = 0; i < NELEM(seed_cases); i++) {
		const struct seed_case *c = &seed_cases[i];
		char tok[AUTH_SEED_LEN];
		int64_t id = -1;
		int rc;

		auth_seed_make(key, c->id, c->expiry, tok);
		rc = auth_seed_check(key, tok, c->now, &id);
		if (rc != c->rc)
			fail_msg("seed case %zu (id %lld, expiry %u, now %u): rc %d, want %d", i,
				 (long long)c->id, c->expiry, c->now, rc, c->rc);
		if (rc == 0 && id != c->id)
			fail_msg("seed case %zu: id %lld, want %lld", i, (long long)id,
				 (long long)c->id);
		if (rc != 0 && id != -1)
			fail_msg("seed case %zu: id written on failure", i);
	}
}

/* Changing any one hex digit to another value is refused. */
static void test_seed_tampered(void **state)
{
	unsigned char key[AUTH_KEY_LEN];
	char tok[AUTH_SEED_LEN], bad[AUTH_SEED_LEN];

	(void)state;
	key_fill(key, 9);
	auth_seed_make(key, 77, 2000000000u, tok);
	for (size_t i = 0; i < AUTH_SEED_LEN - 1; i++) {
		static const char alt[] = "0123456789abcdef";

		for (size_t k = 0; k < 16; k++) {
			int64_t id = -1;

			if (alt[k] == tok[i])
				continue;
			memcpy(bad, tok, sizeof(bad));
			bad[i] = alt[k];
			if (auth_seed_check(key, bad, 0, &id) != -EACCES)
				fail_msg("tampered token %s (position %zu) accepted", bad, i);
			assert_int_equal(id, -1);
		}
	}
	/* Extending the expiry without the key: refused. */
	memcpy(bad, tok, sizeof(bad));
	memcpy(bad + 8, "ffffffff", 8);
	assert_int_equal(auth_seed_check(key, bad, 0, &(int64_t){0}), -EACCES);
	/* Another node's id with this node's MAC: refused. */
	memcpy(bad, tok, sizeof(bad));
	memcpy(bad, "0000004e", 8);
	assert_int_equal(auth_seed_check(key, bad, 0, &(int64_t){0}), -EACCES);
}

static void test_seed_wrong_key(void **state)
{
	unsigned char key[AUTH_KEY_LEN], other[AUTH_KEY_LEN];
	char tok[AUTH_SEED_LEN];
	int64_t id = -1;

	(void)state;
	key_fill(key, 1);
	key_fill(other, 1);
	other[AUTH_KEY_LEN - 1] ^= 1; /* one bit */
	auth_seed_make(key, 5, 2000000000u, tok);
	assert_int_equal(auth_seed_check(other, tok, 0, &id), -EACCES);
	assert_int_equal(id, -1);
	assert_int_equal(auth_seed_check(key, tok, 0, &id), 0);
	assert_int_equal(id, 5);
}

static void test_seed_malformed(void **state)
{
	unsigned char key[AUTH_KEY_LEN];
	char tok[AUTH_SEED_LEN], buf[128];
	const char *const bad[] = {
		"",
		"0",
		"zz",
		"0000002a000003e8",
		"00000000000000000000000000000000000000000000000000000000", /* well formed */
		"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
		"0000002a:000003e8:f33f02ed67cbeba367f064b017952098fb8e",
		"crl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};

	(void)state;
	key_fill(key, 1);
	for (size_t i = 0; i < NELEM(bad); i++) {
		int64_t id = -1;

		if (auth_seed_check(key, bad[i], 0, &id) != -EACCES)
			fail_msg("malformed token \"%s\" accepted", bad[i]);
		assert_int_equal(id, -1);
	}
	auth_seed_make(key, 42, 1000, tok);
	/* one character short, one too many, a trailing newline, spaces */
	TFMT(buf, "%.*s", AUTH_SEED_LEN - 2, tok);
	assert_int_equal(auth_seed_check(key, buf, 0, &(int64_t){0}), -EACCES);
	TFMT(buf, "%s0", tok);
	assert_int_equal(auth_seed_check(key, buf, 0, &(int64_t){0}), -EACCES);
	TFMT(buf, "%s00", tok);
	assert_int_equal(auth_seed_check(key, buf, 0, &(int64_t){0}), -EACCES);
	TFMT(buf, "%s\n", tok);
	assert_int_equal(auth_seed_check(key, buf, 0, &(int64_t){0}), -EACCES);
	TFMT(buf, " %.*s", AUTH_SEED_LEN - 2, tok);
	assert_int_equal(auth_seed_check(key, buf, 0, &(int64_t){0}), -EACCES);
	/* the real one still passes */
	assert_int_equal(auth_seed_check(key, tok, 0, &(int64_t){0}), 0);
}

/* ---- key file ----------------------------------------------------------- */

struct tmp {
	char dir[64];
	char path[128];
};

static int tmp_setup(void **state)
{
	struct tmp *t;

	if (auth_init() != 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	log_set_level(LOG_LVL_ERROR); /* "created key file" is expected here */
	TFMT(t->dir, "/tmp/test_auth.XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	TFMT(t->path, "%s/secret.key", t->dir);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char p[160];

	unlink(t->path);
	TFMT(p, "%s/secret.key.tmp", t->dir);
	unlink(p);
	TFMT(p, "%s/short.key", t->dir);
	unlink(p);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void test_key_create_and_reload(void **state)
{
	struct tmp *t = *state;
	unsigned char k1[AUTH_KEY_LEN], k2[AUTH_KEY_LEN], file[64], zero[AUTH_KEY_LEN] = {0};
	char tmpname[160];
	struct stat st;
	ssize_t n;
	int fd;

	assert_int_equal(auth_key_load(t->path, k1), 0);
	assert_int_equal(stat(t->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, AUTH_KEY_LEN);
	assert_memory_not_equal(k1, zero, AUTH_KEY_LEN);
	/* The file holds the key, nothing else. */
	fd = open(t->path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, file, sizeof(file));
	close(fd);
	assert_int_equal(n, AUTH_KEY_LEN);
	assert_memory_equal(file, k1, AUTH_KEY_LEN);
	/* No temporary file left behind. */
	TFMT(tmpname, "%s.tmp", t->path);
	assert_int_equal(access(tmpname, F_OK), -1);
	/* Loading again reads the same key (no new one is made). */
	memset(k2, 0, sizeof(k2));
	assert_int_equal(auth_key_load(t->path, k2), 0);
	assert_memory_equal(k1, k2, AUTH_KEY_LEN);
	/* The key signs what it checks. */
	char tok[AUTH_SEED_LEN];
	int64_t id = 0;
	auth_seed_make(k1, 9, 100, tok);
	assert_int_equal(auth_seed_check(k2, tok, 50, &id), 0);
	assert_int_equal(id, 9);
}

/* Two fresh key files get different keys. */
static void test_key_random(void **state)
{
	struct tmp *t = *state;
	unsigned char k1[AUTH_KEY_LEN], k2[AUTH_KEY_LEN];

	unlink(t->path);
	assert_int_equal(auth_key_load(t->path, k1), 0);
	unlink(t->path);
	assert_int_equal(auth_key_load(t->path, k2), 0);
	assert_memory_not_equal(k1, k2, AUTH_KEY_LEN);
}

static void test_key_errors(void **state)
{
	struct tmp *t = *state;
	unsigned char k[AUTH_KEY_LEN];
	char p[160];
	int fd;

	/* A file shorter than a key is an error, not a short key. */
	TFMT(p, "%s/short.key", t->dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	assert_true(auth_key_load(p, k) < 0);
	/* A missing directory. */
	TFMT(p, "%s/no/such/dir/secret.key", t->dir);
	assert_int_equal(auth_key_load(p, k), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_token_format),   cmocka_unit_test(test_token_hash),
		cmocka_unit_test(test_seed_vectors),   cmocka_unit_test(test_seed_round_trip),
		cmocka_unit_test(test_seed_tampered),  cmocka_unit_test(test_seed_wrong_key),
		cmocka_unit_test(test_seed_malformed), cmocka_unit_test(test_scope_names),
	};
	const struct CMUnitTest files[] = {
		cmocka_unit_test(test_key_create_and_reload),
		cmocka_unit_test(test_key_random),
		cmocka_unit_test(test_key_errors),
	};
	int failed = cmocka_run_group_tests_name("auth", pure, setup, NULL);

	failed += cmocka_run_group_tests_name("auth_key_file", files, tmp_setup, tmp_teardown);
	return failed != 0;
}
