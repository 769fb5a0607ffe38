/*
 * Unit tests for tlscert (the operator listener's certificate) and the
 * HTTPS listener it feeds.
 *
 * Covered: with neither file, a pair is made: the key 0600, the
 * certificate 0644, both PEM, naming localhost, 127.0.0.1, ::1, the listen
 * address and tls.names' entries (a wildcard listen address left out);
 * loading it again makes nothing and gives the same fingerprints; the
 * fingerprint formats; one file without the other, a key that is not the
 * certificate's, and a file with no PEM in it are refused with a reason
 * naming the file.  Over a real HTTPS server (http_server_start with the
 * pair): libcurl connects with the certificate as its CA file; with the
 * public-key fingerprint as its pin (CURLOPT_PINNEDPUBLICKEY, the check
 * `corral --fingerprint` uses) and no CA; and refuses another key's pin
 * before any request is sent (the handler never runs).
 */
#include "httpfix.h"

#include <sys/stat.h>

#include <curl/curl.h>

#include "fsutil.h"
#include "tlscert.h"
#include "valid.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	memcpy(tmpdir, "/tmp/corral-tlscert-XXXXXX", 27);
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return fs_rm_tree(tmpdir) == 0 ? 0 : -1;
}

static void paths(const char *sub, char *cert, char *key)
{
	char dir[128];
	TFMT(dir, "%s/%s", tmpdir, sub);
	mkdir(dir, 0700);
	TFMTN(cert, 160, "%s/tls.crt", dir);
	TFMTN(key, 160, "%s/tls.key", dir);
}

static mode_t file_mode(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 0777;
}

static void test_generate_and_reload(void **state)
{
	(void)state;
	char cert[160], key[160], err[512];
	struct tlscert *t, *u;
	paths("gen", cert, key);
	assert_int_equal(tlscert_load(cert, key, "192.0.2.10", "corral.example, 10.0.0.1", &t, err,
				      sizeof(err)),
			 0);
	assert_true(t->generated);
	assert_int_equal(file_mode(key), 0600);
	assert_int_equal(file_mode(cert), 0644);
	assert_non_null(strstr(t->cert_pem, "-----BEGIN CERTIFICATE-----"));
	assert_non_null(strstr(t->key_pem, "-----BEGIN PRIVATE KEY-----"));
	static const char *const want[] = {"localhost",  "127.0.0.1",      "::1",
					   "192.0.2.10", "corral.example", "10.0.0.1"};
	for (size_t i = 0; i < NELEM(want); i++)
		if (strstr(t->names, want[i]) == NULL)
			fail_msg("%s not among the names: %s", want[i], t->names);
	assert_non_null(strstr(t->subject, "O=Corral"));
	/* "sha256:" and 64 lower-case hex digits; the certificate's as AB:CD:... */
	assert_int_equal(strlen(t->fingerprint), TLSCERT_FP_LEN);
	assert_memory_equal(t->fingerprint, "sha256:", 7);
	assert_int_equal(strspn(t->fingerprint + 7, "0123456789abcdef"), 64);
	assert_int_equal(strlen(t->cert_sha256), 95);
	assert_true(t->not_after - t->not_before > 3600L * 24 * 365 * 9);

	assert_int_equal(tlscert_load(cert, key, "0.0.0.0", NULL, &u, err, sizeof(err)), 0);
	assert_false(u->generated);
	assert_string_equal(u->fingerprint, t->fingerprint);
	assert_string_equal(u->cert_sha256, t->cert_sha256);
	tlscert_free(u);
	tlscert_free(t);
	tlscert_free(NULL);
}

static void test_wildcard_address_not_named(void **state)
{
	(void)state;
	char cert[160], key[160], err[512];
	struct tlscert *t;
	paths("wild", cert, key);
	assert_int_equal(tlscert_load(cert, key, "0.0.0.0", NULL, &t, err, sizeof(err)), 0);
	assert_null(strstr(t->names, "0.0.0.0"));
	tlscert_free(t);
}

static void test_bad_pairs_refused(void **state)
{
	(void)state;
	char c1[160], k1[160], c2[160], k2[160], err[512];
	struct tlscert *t;
	paths("a", c1, k1);
	paths("b", c2, k2);
	assert_int_equal(tlscert_load(c1, k1, NULL, NULL, &t, err, sizeof(err)), 0);
	tlscert_free(t);
	assert_int_equal(tlscert_load(c2, k2, NULL, NULL, &t, err, sizeof(err)), 0);
	tlscert_free(t);
	/* a's certificate with b's key */
	assert_int_equal(tlscert_load(c1, k2, NULL, NULL, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is not the private key"));
	assert_non_null(strstr(err, k2));
	/* a certificate alone */
	char lone[160];
	TFMT(lone, "%s/none.key", tmpdir);
	assert_int_equal(tlscert_load(c1, lone, NULL, NULL, &t, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, lone));
	/* no PEM in the certificate file */
	char junk[160];
	TFMT(junk, "%s/junk.crt", tmpdir);
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	fputs("not a certificate\n", f);
	fclose(f);
	assert_int_equal(tlscert_load(junk, k1, NULL, NULL, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, junk));
	/* no key in the key file */
	assert_int_equal(tlscert_load(c1, junk, NULL, NULL, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "private key"));
}

/* The pin libcurl takes for "sha256:<hex>": "sha256//<base64 of the bytes>". */
static void curl_pin(const char *fp, char *out, size_t outlen)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char raw[32];
	for (size_t i = 0; i < 32; i++)
		raw[i] = (unsigned char)(valid_hexval(fp[7 + 2 * i]) * 16 +
					 valid_hexval(fp[8 + 2 * i]));
	size_t o = (size_t)snprintf(out, outlen, "sha256//");
	for (size_t i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (i + 1 < 32 ? (unsigned)raw[i + 1] << 8 : 0) |
			     (i + 2 < 32 ? raw[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < 32 ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < 32 ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

/* GET https://127.0.0.1:port/open with a CA file or a pin; the curl code. */
static CURLcode fetch(uint16_t port, const char *ca, const char *pin, long *status)
{
	char url[64];
	TFMT(url, "https://127.0.0.1:%u/open", port);
	CURL *e = curl_easy_init();
	assert_non_null(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	if (ca != NULL) {
		curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	} else {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (pin != NULL)
		curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, pin);
	CURLcode cc = curl_easy_perform(e);
	*status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(e);
	return cc;
}

static void test_https_listener_and_pin(void **state)
{
	(void)state;
	char cert[160], key[160], c2[160], k2[160], err[512], pin[128];
	struct tlscert *t, *other;
	long status;
	paths("srv", cert, key);
	paths("other", c2, k2);
	assert_int_equal(tlscert_load(cert, key, "127.0.0.1", NULL, &t, err, sizeof(err)), 0);
	assert_int_equal(tlscert_load(c2, k2, NULL, NULL, &other, err, sizeof(err)), 0);

	struct fixture *f = fixture_new();
	assert_non_null(f);
	struct http_config cfg = test_config(f, "127.0.0.1");
	cfg.tls_cert = t->cert_pem;
	cfg.tls_key = t->key_pem;
	assert_int_equal(http_server_start(&cfg, &f->srv), 0);
	uint16_t port = http_server_port(f->srv);

	/* The certificate as the CA: verified by name (127.0.0.1 is in it). */
	assert_int_equal(fetch(port, cert, NULL, &status), CURLE_OK);
	assert_int_equal(status, 200);
	/* The fingerprint corrald shows, as the pin, no CA. */
	curl_pin(t->fingerprint, pin, sizeof(pin));
	assert_int_equal(fetch(port, NULL, pin, &status), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(wait_done(f, 2), 0);
	unsigned before = done_count(f);
	/* Another key's pin: refused during the handshake, no request made. */
	curl_pin(other->fingerprint, pin, sizeof(pin));
	assert_int_equal(fetch(port, NULL, pin, &status), CURLE_SSL_PINNEDPUBKEYNOTMATCH);
	assert_int_equal(status, 0);
	/* Another CA: refused too. */
	assert_int_not_equal(fetch(port, c2, NULL, &status), CURLE_OK);
	usleep(100000);
	assert_int_equal(done_count(f), before);

	fixture_free(f);
	tlscert_free(other);
	tlscert_free(t);
}

static void test_tls_needs_both(void **state)
{
	(void)state;
	struct fixture *f = fixture_new();
	assert_non_null(f);
	struct http_config cfg = test_config(f, "127.0.0.1");
	cfg.tls_cert = "x";
	assert_int_equal(http_server_start(&cfg, &f->srv), -EINVAL);
	fixture_free(f);
}

int main(void)
{
	log_init("test_tlscert", LOG_LVL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_and_reload),
		cmocka_unit_test(test_wildcard_address_not_named),
		cmocka_unit_test(test_bad_pairs_refused),
		cmocka_unit_test(test_https_listener_and_pin),
		cmocka_unit_test(test_tls_needs_both),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
