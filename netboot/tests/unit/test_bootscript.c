/*
 * Unit tests for bootscript: the iPXE scripts are compared line by line
 * with the exact text a node must get (kernel command line, initrd, boot,
 * the retry path with its back-off and re-chain URL), plus the wait and
 * exit scripts and the -E2BIG answer when the buffer cap is too small.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bootscript.h"
#include "tfmt.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define BASE "http://10.0.0.1:8080"
#define SEED "0000002a65f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566"

static const struct bootscript_env env60 = {BASE, 10, 60};

/* Compares got with the lines of want (each ends with '\n'), line by line. */
static void check_lines(const char *what, const char *got, const char *const *want, size_t nwant)
{
	const char *p = got;

	for (size_t i = 0; i < nwant; i++) {
		const char *nl = strchr(p, '\n');
		size_t len;

		if (nl == NULL)
			fail_msg("%s: line %zu missing (want \"%s\"); got:\n%s", what, i + 1,
				 want[i], got);
		len = (size_t)(nl - p);
		if (len != strlen(want[i]) || memcmp(p, want[i], len) != 0)
			fail_msg("%s: line %zu is\n  \"%.*s\"\nwant\n  \"%s\"", what, i + 1,
				 (int)len, p, want[i]);
		p = nl + 1;
	}
	if (*p != '\0')
		fail_msg("%s: text after the last expected line: \"%s\"", what, p);
}

/* ---- bootscript_retry_sleep --------------------------------------------- */

struct sleep_case {
	unsigned max, retry, want;
};

static const struct sleep_case sleep_cases[] = {
	{60, 0, 5},         {60, 1, 10},
	{60, 2, 20},        {60, 3, 40},
	{60, 4, 60},        {60, 5, 60},
	{60, 6, 60},        {60, 100, 60},
	{60, UINT_MAX, 60}, {30, 0, 5},
	{30, 2, 20},        {30, 3, 30},
	{30, 50, 30},       {5, 0, 5},
	{5, 1, 5},          {1, 0, 1},
	{1, 7, 1},          {3600, 9, 2560},
	{3600, 10, 3600},   {3600, 31, 3600},
	{3600, 64, 3600},   {3600, UINT_MAX, 3600},
};

static void test_retry_sleep(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(sleep_cases); i++) {
		const struct sleep_case *c = &sleep_cases[i];
		struct bootscript_env e = {BASE, 10, c->max};
		unsigned got = bootscript_retry_sleep(&e, c->retry);

		if (got != c->want)
			fail_msg("retry_sleep(max %u, retry %u) = %u, want %u", c->max, c->retry,
				 got, c->want);
	}
}

/* ---- bootscript_node ---------------------------------------------------- */

struct node_case {
	const char *what;
	const char *name, *mac, *profile, *source, *image;
	const char *kernel, *initrd, *params;
	const char *self;
	unsigned retry;
	const char *lines[16];
};

static const struct node_case node_cases[] = {
	{
		"paths under the file root, group profile, first boot",
		"x1000c0s0b0n0",
		"52:54:00:12:34:56",
		"compute",
		"group compute",
		"compute-v1",
		"images/compute-v1/vmlinuz",
		"images/compute-v1/initrd",
		"console=ttyS0 quiet",
		"mac=52:54:00:12:34:56",
		0,
		{
			"#!ipxe",
			"# Corral boot script for x1000c0s0b0n0",
			"# profile compute (from group compute), image compute-v1",
			"echo Corral: booting x1000c0s0b0n0 with profile compute (from group "
			"compute)",
			"kernel " BASE "/files/images/compute-v1/vmlinuz initrd=initrd "
			"console=ttyS0 quiet BOOTIF=01-52-54-00-12-34-56 corral.node=x1000c0s0b0n0 "
			"ds=nocloud-net;s=" BASE "/cloud-init/" SEED "/ || goto retry",
			"initrd --name initrd " BASE
			"/files/images/compute-v1/initrd || goto retry",
			"boot || goto retry",
			":retry",
			"echo Corral: boot step failed, retrying in 5 s (attempt 1)",
			"sleep 5",
			"chain --replace --autofree " BASE
			"/boot/v1/bootscript?mac=52:54:00:12:34:56&retry=1 || goto retry",
			NULL,
		},
	},
	{
		"URLs used as they are, no MAC, no params, no image, third retry",
		"n2",
		"",
		"direct",
		"node",
		"",
		"https://mirror.example.org/k/vmlinuz?a=1&b=2",
		"http://10.9.9.9/i/initrd.img",
		"",
		"name=n2",
		3,
		{
			"#!ipxe",
			"# Corral boot script for n2",
			"# profile direct (from node)",
			"echo Corral: booting n2 with profile direct (from node)",
			"kernel https://mirror.example.org/k/vmlinuz?a=1&b=2 initrd=initrd "
			"corral.node=n2 ds=nocloud-net;s=" BASE "/cloud-init/" SEED
			"/ || goto retry",
			"initrd --name initrd http://10.9.9.9/i/initrd.img || goto retry",
			"boot || goto retry",
			":retry",
			"echo Corral: boot step failed, retrying in 40 s (attempt 4)",
			"sleep 40",
			"chain --replace --autofree " BASE
			"/boot/v1/bootscript?name=n2&retry=4 || goto retry",
			NULL,
		},
	},
	{
		"default profile, back-off at its cap",
		"node-7",
		"aa:bb:cc:dd:ee:ff",
		"base",
		"default",
		"rocky9",
		"rocky9/vmlinuz",
		"https://h/initrd",
		"rd.live.image root=live:http://h/r.squashfs",
		"nid=7",
		4,
		{
			"#!ipxe",
			"# Corral boot script for node-7",
			"# profile base (from default), image rocky9",
			"echo Corral: booting node-7 with profile base (from default)",
			"kernel " BASE "/files/rocky9/vmlinuz initrd=initrd rd.live.image "
			"root=live:http://h/r.squashfs BOOTIF=01-aa-bb-cc-dd-ee-ff "
			"corral.node=node-7 ds=nocloud-net;s=" BASE "/cloud-init/" SEED
			"/ || goto retry",
			"initrd --name initrd https://h/initrd || goto retry",
			"boot || goto retry",
			":retry",
			"echo Corral: boot step failed, retrying in 60 s (attempt 5)",
			"sleep 60",
			"chain --replace --autofree " BASE
			"/boot/v1/bootscript?nid=7&retry=5 || goto retry",
			NULL,
		},
	},
	{
		"far past the cap",
		"n",
		"00:00:00:00:00:01",
		"p",
		"node",
		"i",
		"k",
		"r",
		"x",
		"mac=00:00:00:00:00:01",
		1000,
		{
			"#!ipxe",
			"# Corral boot script for n",
			"# profile p (from node), image i",
			"echo Corral: booting n with profile p (from node)",
			"kernel " BASE "/files/k initrd=initrd x BOOTIF=01-00-00-00-00-00-01 "
			"corral.node=n ds=nocloud-net;s=" BASE "/cloud-init/" SEED
			"/ || goto retry",
			"initrd --name initrd " BASE "/files/r || goto retry",
			"boot || goto retry",
			":retry",
			"echo Corral: boot step failed, retrying in 60 s (attempt 1001)",
			"sleep 60",
			"chain --replace --autofree " BASE
			"/boot/v1/bootscript?mac=00:00:00:00:00:01&retry=1001 || goto retry",
			NULL,
		},
	},
};

static void fill_boot(struct bootsel *b, const struct node_case *c)
{
	memset(b, 0, sizeof(*b));
	b->node_id = 42;
	TFMT(b->name, "%s", c->name);
	TFMT(b->mac, "%s", c->mac);
	TFMT(b->arch, "x86_64");
	b->enabled = true;
	b->has_profile = true;
	TFMT(b->profile, "%s", c->profile);
	TFMT(b->source, "%s", c->source);
	TFMT(b->image, "%s", c->image);
	b->kernel = (char *)c->kernel;
	b->initrd = (char *)c->initrd;
	b->rootfs = NULL;
	b->params = (char *)c->params;
}

/* An image with a root image digest: the kernel line carries it for the
 * initramfs's check, after corral.node and before the seed; without one,
 * no corral.rootfs_sha256 word at all (the first case above). */
static void test_node_rootfs_sha256(void **state)
{
	static const char hex[] =
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	struct bootsel b;
	struct buf out;
	char want[512];
	(void)state;
	fill_boot(&b, &node_cases[0]);
	TFMT(b.rootfs_sha256, "%s", hex);
	buf_init(&out, BOOTSCRIPT_MAX);
	assert_int_equal(bootscript_node(&env60, &b, SEED, node_cases[0].self, 0, &out), 0);
	TFMT(want, " corral.node=x1000c0s0b0n0 corral.rootfs_sha256=%s ds=nocloud-net;s=", hex);
	assert_non_null(strstr(buf_str(&out), want));
	buf_clear(&out);
}

static size_t nlines(const char *const *lines)
{
	size_t n = 0;

	while (n < 16 && lines[n] != NULL)
		n++;
	return n;
}

static void test_node(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(node_cases); i++) {
		const struct node_case *c = &node_cases[i];
		struct bootsel b;
		struct buf out;

		fill_boot(&b, c);
		buf_init(&out, BOOTSCRIPT_MAX);
		assert_int_equal(bootscript_node(&env60, &b, SEED, c->self, c->retry, &out), 0);
		check_lines(c->what, buf_str(&out), c->lines, nlines(c->lines));
		buf_clear(&out);
	}
}

/* The kernel line, token by token, for the first case. */
static void test_node_kernel_words(void **state)
{
	const struct node_case *c = &node_cases[0];
	static const char *const words[] = {
		"kernel",
		BASE "/files/images/compute-v1/vmlinuz",
		"initrd=initrd",
		"console=ttyS0",
		"quiet",
		"BOOTIF=01-52-54-00-12-34-56",
		"corral.node=x1000c0s0b0n0",
		"ds=nocloud-net;s=" BASE "/cloud-init/" SEED "/",
		"||",
		"goto",
		"retry",
	};
	struct bootsel b;
	struct buf out;
	char *line, *save = NULL, *w;
	size_t n = 0;

	(void)state;
	fill_boot(&b, c);
	buf_init(&out, BOOTSCRIPT_MAX);
	assert_int_equal(bootscript_node(&env60, &b, SEED, c->self, 0, &out), 0);
	line = strstr(buf_str(&out), "\nkernel ");
	assert_non_null(line);
	line = strndup(line + 1, strcspn(line + 1, "\n"));
	assert_non_null(line);
	for (w = strtok_r(line, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save), n++) {
		if (n >= NELEM(words))
			fail_msg("extra word \"%s\" on the kernel line", w);
		assert_string_equal(w, words[n]);
	}
	assert_int_equal(n, NELEM(words));
	free(line);
	buf_clear(&out);
}

/* Every retry count gives the sleep of bootscript_retry_sleep and retry=N+1. */
static void test_node_retry_path(void **state)
{
	struct bootsel b;

	(void)state;
	fill_boot(&b, &node_cases[0]);
	for (unsigned r = 0; r < 8; r++) {
		struct buf out;
		char want_sleep[32], want_chain[160], want_echo[96];

		buf_init(&out, BOOTSCRIPT_MAX);
		assert_int_equal(
			bootscript_node(&env60, &b, SEED, "mac=52:54:00:12:34:56", r, &out), 0);
		TFMT(want_sleep, "\nsleep %u\n", bootscript_retry_sleep(&env60, r));
		TFMT(want_echo, "retrying in %u s (attempt %u)\n",
		     bootscript_retry_sleep(&env60, r), r + 1);
		TFMT(want_chain,
		     "\nchain --replace --autofree " BASE
		     "/boot/v1/bootscript?mac=52:54:00:12:34:56&retry=%u || goto retry\n",
		     r + 1);
		assert_non_null(strstr(buf_str(&out), want_sleep));
		assert_non_null(strstr(buf_str(&out), want_echo));
		assert_non_null(strstr(buf_str(&out), want_chain));
		/* The chain line ends the script. */
		assert_string_equal(strstr(buf_str(&out), want_chain) + strlen(want_chain), "");
		buf_clear(&out);
	}
}

/* The script is appended to what the buffer already holds. */
static void test_node_appends(void **state)
{
	struct bootsel b;
	struct buf a, out;

	(void)state;
	fill_boot(&b, &node_cases[1]);
	buf_init(&a, BOOTSCRIPT_MAX);
	buf_init(&out, BOOTSCRIPT_MAX);
	assert_int_equal(bootscript_node(&env60, &b, SEED, "name=n2", 3, &a), 0);
	assert_int_equal(buf_adds(&out, "PREFIX\n"), 0);
	assert_int_equal(bootscript_node(&env60, &b, SEED, "name=n2", 3, &out), 0);
	assert_int_equal(strncmp(buf_str(&out), "PREFIX\n", 7), 0);
	assert_string_equal(buf_str(&out) + 7, buf_str(&a));
	buf_clear(&a);
	buf_clear(&out);
}

/* Every cap below the script's length is -E2BIG; its exact length fits. */
static void test_node_too_small(void **state)
{
	struct bootsel b;
	struct buf full, out;

	(void)state;
	fill_boot(&b, &node_cases[0]);
	buf_init(&full, BOOTSCRIPT_MAX);
	assert_int_equal(bootscript_node(&env60, &b, SEED, "mac=52:54:00:12:34:56", 2, &full), 0);
	for (size_t cap = 0; cap < full.len; cap++) {
		buf_init(&out, cap);
		if (bootscript_node(&env60, &b, SEED, "mac=52:54:00:12:34:56", 2, &out) != -E2BIG)
			fail_msg("cap %zu of %zu: not -E2BIG", cap, full.len);
		assert_true(out.len <= cap);
		buf_clear(&out);
	}
	buf_init(&out, full.len);
	assert_int_equal(bootscript_node(&env60, &b, SEED, "mac=52:54:00:12:34:56", 2, &out), 0);
	assert_string_equal(buf_str(&out), buf_str(&full));
	buf_clear(&out);
	buf_clear(&full);

	/* Absurd parameters overflow BOOTSCRIPT_MAX. */
	char *big = malloc(BOOTSCRIPT_MAX + 1);
	assert_non_null(big);
	memset(big, 'p', BOOTSCRIPT_MAX);
	big[BOOTSCRIPT_MAX] = '\0';
	b.params = big;
	buf_init(&out, BOOTSCRIPT_MAX);
	assert_int_equal(bootscript_node(&env60, &b, SEED, "mac=52:54:00:12:34:56", 0, &out),
			 -E2BIG);
	buf_clear(&out);
	free(big);
}

/* ---- bootscript_wait, bootscript_exit, bootscript_url ------------------- */

static void test_wait(void **state)
{
	static const char *const want[] = {
		"#!ipxe",
		"# Corral: unknown MAC 52:54:00:aa:bb:cc",
		"echo Corral: unknown MAC 52:54:00:aa:bb:cc; asking again in 10 s",
		":wait",
		"sleep 10",
		"chain --replace --autofree " BASE
		"/boot/v1/bootscript?mac=52:54:00:aa:bb:cc || goto wait",
	};
	static const char *const want2[] = {
		"#!ipxe",
		"# Corral: node n1 has no boot profile",
		"echo Corral: node n1 has no boot profile; asking again in 300 s",
		":wait",
		"sleep 300",
		"chain --replace --autofree https://boot.example.org/corral"
		"/boot/v1/bootscript?name=n1 || goto wait",
	};
	struct bootscript_env e2 = {"https://boot.example.org/corral", 300, 60};
	struct buf out;

	(void)state;
	buf_init(&out, BOOTSCRIPT_MAX);
	assert_int_equal(bootscript_wait(&env60, "unknown MAC 52:54:00:aa:bb:cc",
					 "mac=52:54:00:aa:bb:cc", &out),
			 0);
	check_lines("wait", buf_str(&out), want, NELEM(want));
	buf_reset(&out);
	assert_int_equal(bootscript_wait(&e2, "node n1 has no boot profile", "name=n1", &out), 0);
	check_lines("wait 2", buf_str(&out), want2, NELEM(want2));
	buf_clear(&out);

	buf_init(&out, 40);
	assert_int_equal(bootscript_wait(&env60, "unknown MAC 52:54:00:aa:bb:cc",
					 "mac=52:54:00:aa:bb:cc", &out),
			 -E2BIG);
	buf_clear(&out);
}

static void test_exit(void **state)
{
	static const char *const want[] = {
		"#!ipxe",
		"# Corral: node x1 is disabled",
		"echo Corral: node x1 is disabled; leaving network boot",
		"exit",
	};
	struct buf out;

	(void)state;
	buf_init(&out, BOOTSCRIPT_MAX);
	assert_int_equal(bootscript_exit("node x1 is disabled", &out), 0);
	check_lines("exit", buf_str(&out), want, NELEM(want));
	buf_clear(&out);

	buf_init(&out, 20);
	assert_int_equal(bootscript_exit("node x1 is disabled", &out), -E2BIG);
	buf_clear(&out);
}

struct url_case {
	const char *loc, *want;
};

static const struct url_case url_cases[] = {
	{"vmlinuz", BASE "/files/vmlinuz"},
	{"images/a/initrd.img", BASE "/files/images/a/initrd.img"},
	{"http://h/vmlinuz", "http://h/vmlinuz"},
	{"https://h:8443/a?b=c&d=e", "https://h:8443/a?b=c&d=e"},
	{"httpx/vmlinuz", BASE "/files/httpx/vmlinuz"},
};

static void test_url(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(url_cases); i++) {
		struct buf out;

		buf_init(&out, 1024);
		assert_int_equal(bootscript_url(&env60, url_cases[i].loc, &out), 0);
		assert_string_equal(buf_str(&out), url_cases[i].want);
		buf_clear(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_sleep),
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_node_kernel_words),
		cmocka_unit_test(test_node_rootfs_sha256),
		cmocka_unit_test(test_node_retry_path),
		cmocka_unit_test(test_node_appends),
		cmocka_unit_test(test_node_too_small),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_exit),
		cmocka_unit_test(test_url),
	};

	return cmocka_run_group_tests_name("bootscript", tests, NULL, NULL) != 0;
}
