/*
 * digest: sha256 of files and memory as lowercase hex (libsodium).
 * See digest.h.
 */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

int digest_sha256_file(const char *path, char hex[DIGEST_HEX_LEN + 1], unsigned long long *size)
{
	crypto_hash_sha256_state h;
	unsigned char out[crypto_hash_sha256_BYTES];
	unsigned char chunk[65536];
	unsigned long long total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	crypto_hash_sha256_init(&h);
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int rc = -errno;
			close(fd);
			return rc;
		}
		if (r == 0)
			break;
		crypto_hash_sha256_update(&h, chunk, (unsigned long long)r);
		total += (unsigned long long)r;
	}
	close(fd);
	crypto_hash_sha256_final(&h, out);
	sodium_bin2hex(hex, 65, out, sizeof(out));
	if (size)
		*size = total;
	return 0;
}

void digest_sha256_hex(const void *data, size_t len, char hex[DIGEST_HEX_LEN + 1])
{
	unsigned char out[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(out, data, len);
	sodium_bin2hex(hex, DIGEST_HEX_LEN + 1, out, sizeof(out));
}
