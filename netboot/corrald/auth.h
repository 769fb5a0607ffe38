/*
 * auth: secrets.  API bearer tokens (random, shown once, stored only as a
 * BLAKE2b hash) and the per-node signed tokens in cloud-init seed URLs
 * (node id + expiry + HMAC-SHA256 under a key file that only corrald can
 * read), the scopes a token grants, and sealed BMC passwords.  Uses
 * libsodium; auth_init() must run first.  Nothing here logs a secret.
 *
 * Callers: corrald.c (auth_init, the key file, `corrald token`), routes.c
 * (the bearer check), api*.c (tokens made through the API, credentials
 * sealed), serve.c (seed tokens), redfish.c (passwords opened), store.c
 * (a scope's name in the token list), http.h (enum auth_scope in the route
 * table).  Every function is safe from any thread once auth_init() ran.
 */
#ifndef CORRAL_AUTH_H
#define CORRAL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY_LEN 32
#define AUTH_HASH_LEN 32
#define AUTH_TOKEN_LEN 48 /* "crl_" + 43 base64url characters + NUL fits */
#define AUTH_SEED_LEN 57  /* 28 bytes as hex + NUL */

/*
 * What an API token grants, and what a route asks for.  Stored in the
 * tokens table as this number.  Ordered: a grant satisfies every lower
 * need.  NONE is a need only (node-facing routes); a token is READ or ADMIN.
 */
enum auth_scope {
	AUTH_SCOPE_NONE = 0,
	AUTH_SCOPE_READ = 1,
	AUTH_SCOPE_ADMIN = 2,
};

/* "admin" for ADMIN (or a larger stored number), else "read": the API's spelling. */
const char *auth_scope_name(int scope);
/* "read" or "admin" into *scope; 0, or -EINVAL for anything else (NULL too). */
int auth_scope_parse(const char *name, enum auth_scope *scope);

/* Initialises libsodium; 0 or -EIO. */
int auth_init(void);
/* Reads the key file, creating it (mode 0600, random) if missing. */
int auth_key_load(const char *path, unsigned char key[AUTH_KEY_LEN]);
/* A new API token into out (NUL-terminated). */
void auth_token_new(char out[AUTH_TOKEN_LEN + 8]);
/* The stored form of a token. */
void auth_token_hash(const char *token, unsigned char hash[AUTH_HASH_LEN]);
/* Signed seed token for node_id valid until expiry (Unix seconds). */
void auth_seed_make(const unsigned char key[AUTH_KEY_LEN], int64_t node_id, uint32_t expiry,
		    char out[AUTH_SEED_LEN]);
/* 0 and *node_id if token is authentic and not expired at now; -EACCES otherwise. */
int auth_seed_check(const unsigned char key[AUTH_KEY_LEN], const char *token, uint32_t now,
		    int64_t *node_id);

/* Sealed secrets (BMC passwords): nonce + XSalsa20-Poly1305 under a key
 * derived from the key file.  AUTH_SEAL_OVERHEAD bytes longer than the text. */
#define AUTH_SEAL_OVERHEAD 40
int auth_seal(const unsigned char key[AUTH_KEY_LEN], const char *text, unsigned char *out,
	      size_t outcap, size_t *outlen);
/* Opens a sealed secret into text (NUL-terminated); -EACCES if it was tampered with. */
int auth_open(const unsigned char key[AUTH_KEY_LEN], const unsigned char *in, size_t inlen,
	      char *text, size_t textcap);

#endif
