/*
 * tlscert: the operator listener's certificate and private key (GnuTLS).
 *
 * Owns reading the pair the configuration names (tls.cert, tls.key),
 * checking that the key is the certificate's, and making a self-signed
 * pair when neither file exists: an ECDSA P-256 key (written 0600) and a
 * certificate for the names and addresses the operator reaches corrald
 * by, valid for ten years (written 0644: it is public, and operators copy
 * it as the CLI's --ca-file).  Each pair is shown by two SHA-256
 * fingerprints:
 *   - the public key's (over its DER SubjectPublicKeyInfo), "sha256:<hex>":
 *     what `corral --fingerprint` pins.  libcurl checks it during the
 *     handshake, before a token is sent, and it survives a renewed
 *     certificate with the same key;
 *   - the certificate's (over its DER), "AB:CD:…": what browsers and
 *     `openssl x509 -fingerprint -sha256` show.
 *
 * Callers: corrald.c (at start, and `corrald cert`).  Single-threaded use;
 * a struct tlscert is the caller's until tlscert_free().
 */
#ifndef CORRAL_TLSCERT_H
#define CORRAL_TLSCERT_H

#include <stdbool.h>
#include <time.h>

#define TLSCERT_FP_LEN 71 /* "sha256:" + 64 hex digits */

struct tlscert {
	char *cert_pem; /* the certificate file's text (the chain), NUL-terminated */
	char *key_pem;  /* the key's PEM text; wiped when freed */
	bool generated; /* made by this call */
	char fingerprint[TLSCERT_FP_LEN + 1]; /* sha256:<hex> of the public key */
	char cert_sha256[96];                 /* AB:CD:… of the leaf certificate */
	char subject[256];                    /* the leaf's DN, as text */
	char names[512];                      /* its DNS and IP subject alternative names */
	time_t not_before, not_after;
};

/*
 * Reads the pair at cert_path and key_path.  When neither exists, first
 * makes a self-signed one naming the host name, "localhost", 127.0.0.1,
 * ::1, listen_addr (unless it is a wildcard or NULL) and every entry of
 * extra_names (comma-separated; may be NULL).  Returns 0 with *out set, or
 * a negative errno with a one-line reason in err: -ENOENT when only one of
 * the two exists, -EINVAL for a file that holds no certificate or key, or
 * a key that is not the certificate's, what reading or writing failed with
 * otherwise.
 */
int tlscert_load(const char *cert_path, const char *key_path, const char *listen_addr,
		 const char *extra_names, struct tlscert **out, char *err, size_t errlen);
/* NULL is a no-op. */
void tlscert_free(struct tlscert *t);

#endif
