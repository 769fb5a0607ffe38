/*
 * auth: API tokens and signed per-node seed tokens.  See auth.h.
 *
 * Seed token layout (hex): node id (4 bytes, big-endian) | expiry (4 bytes)
 * | first 20 bytes of HMAC-SHA256(key, those 8 bytes).  Compared in
 * constant time.
 */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

#define AUTH_SEED_MAC 20

const char *auth_scope_name(int scope)
{
	return scope >= AUTH_SCOPE_ADMIN ? "admin" : "read";
}

int auth_scope_parse(const char *name, enum auth_scope *scope)
{
	if (name != NULL && strcmp(name, "admin") == 0)
		*scope = AUTH_SCOPE_ADMIN;
	else if (name != NULL && strcmp(name, "read") == 0)
		*scope = AUTH_SCOPE_READ;
	else
		return -EINVAL;
	return 0;
}

int auth_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

static int auth_read_all(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

int auth_key_load(const char *path, unsigned char key[AUTH_KEY_LEN])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
			log_warnx("%s: key file is readable by others; chmod 600 it", path);
		int rc = auth_read_all(fd, key, AUTH_KEY_LEN);
		close(fd);
		if (rc < 0)
			log_warnx("%s: key file shorter than %d bytes", path, AUTH_KEY_LEN);
		return rc;
	}
	if (errno != ENOENT)
		return -errno;

	/* First start: make a key, written whole under a temporary name. */
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	randombytes_buf(key, AUTH_KEY_LEN);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int wrc = fs_write_all(fd, key, AUTH_KEY_LEN);
	if (wrc < 0 || fsync(fd) < 0) {
		int e = wrc < 0 ? -wrc : errno;
		close(fd);
		unlink(tmp);
		return -e;
	}
	close(fd);
	/* link() fails if another process created the key meanwhile: use theirs. */
	if (link(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		if (e == EEXIST)
			return auth_key_load(path, key);
		return -e;
	}
	unlink(tmp);
	log_info("created key file %s", path);
	return 0;
}

void auth_token_new(char out[AUTH_TOKEN_LEN + 8])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	memcpy(out, "crl_", 4);
	sodium_bin2base64(out + 4, AUTH_TOKEN_LEN + 4, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void auth_token_hash(const char *token, unsigned char hash[AUTH_HASH_LEN])
{
	crypto_generichash(hash, AUTH_HASH_LEN, (const unsigned char *)token, strlen(token), NULL,
			   0);
}

static void auth_seed_mac(const unsigned char key[AUTH_KEY_LEN], const unsigned char msg[8],
			  unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, AUTH_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, msg, 8);
	crypto_auth_hmacsha256_final(&st, mac);
}

void auth_seed_make(const unsigned char key[AUTH_KEY_LEN], int64_t node_id, uint32_t expiry,
		    char out[AUTH_SEED_LEN])
{
	unsigned char raw[8 + AUTH_SEED_MAC], mac[crypto_auth_hmacsha256_BYTES];
	uint32_t id = (uint32_t)node_id;
	for (int i = 0; i < 4; i++) {
		raw[i] = (unsigned char)(id >> (24 - 8 * i));
		raw[4 + i] = (unsigned char)(expiry >> (24 - 8 * i));
	}
	auth_seed_mac(key, raw, mac);
	memcpy(raw + 8, mac, AUTH_SEED_MAC);
	sodium_bin2hex(out, AUTH_SEED_LEN, raw, sizeof(raw));
}

int auth_seed_check(const unsigned char key[AUTH_KEY_LEN], const char *token, uint32_t now,
		    int64_t *node_id)
{
	unsigned char raw[8 + AUTH_SEED_MAC], mac[crypto_auth_hmacsha256_BYTES];
	size_t len = 0;
	if (strlen(token) != 2 * sizeof(raw) ||
	    sodium_hex2bin(raw, sizeof(raw), token, strlen(token), NULL, &len, NULL) != 0 ||
	    len != sizeof(raw))
		return -EACCES;
	auth_seed_mac(key, raw, mac);
	if (sodium_memcmp(mac, raw + 8, AUTH_SEED_MAC) != 0)
		return -EACCES;
	uint32_t id = 0, expiry = 0;
	for (int i = 0; i < 4; i++) {
		id = (id << 8) | raw[i];
		expiry = (expiry << 8) | raw[4 + i];
	}
	if (expiry < now)
		return -EACCES;
	*node_id = id;
	return 0;
}

/* The sealing key: a hash of the key file's key for this one purpose. */
static void auth_seal_key(const unsigned char key[AUTH_KEY_LEN],
			  unsigned char out[crypto_secretbox_KEYBYTES])
{
	static const unsigned char label[] = "corral: sealed credentials v1";
	crypto_generichash(out, crypto_secretbox_KEYBYTES, label, sizeof(label) - 1, key,
			   AUTH_KEY_LEN);
}

int auth_seal(const unsigned char key[AUTH_KEY_LEN], const char *text, unsigned char *out,
	      size_t outcap, size_t *outlen)
{
	size_t n = strlen(text);
	if (outcap < n + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return -E2BIG;
	unsigned char k[crypto_secretbox_KEYBYTES];
	auth_seal_key(key, k);
	randombytes_buf(out, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, (const unsigned char *)text, n,
			      out, k);
	sodium_memzero(k, sizeof(k));
	*outlen = n + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
	return 0;
}

int auth_open(const unsigned char key[AUTH_KEY_LEN], const unsigned char *in, size_t inlen,
	      char *text, size_t textcap)
{
	if (inlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		return -EACCES;
	size_t n = inlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (n + 1 > textcap)
		return -E2BIG;
	unsigned char k[crypto_secretbox_KEYBYTES];
	auth_seal_key(key, k);
	int rc = crypto_secretbox_open_easy((unsigned char *)text, in + crypto_secretbox_NONCEBYTES,
					    inlen - crypto_secretbox_NONCEBYTES, in, k);
	sodium_memzero(k, sizeof(k));
	if (rc != 0)
		return -EACCES;
	text[n] = '\0';
	return 0;
}
