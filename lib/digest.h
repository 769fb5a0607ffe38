/*
 * digest: sha256 as 64 lowercase hex digits, of a file (streamed, any size)
 * or of bytes in memory.  Leaf module over libsodium; callable from any
 * thread (libsodium needs no sodium_init() for hashing).
 */
#ifndef CORRAL_DIGEST_H
#define CORRAL_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX_LEN 64

/* sha256 of the file at path into hex (NUL-terminated) and its size in
 * *size (when size is not NULL); 0 or a negative errno. */
int digest_sha256_file(const char *path, char hex[DIGEST_HEX_LEN + 1], unsigned long long *size);
/* sha256 of len bytes at data into hex (NUL-terminated). */
void digest_sha256_hex(const void *data, size_t len, char hex[DIGEST_HEX_LEN + 1]);

#endif
