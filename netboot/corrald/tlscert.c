/*
 * tlscert: load, check and make the operator listener's certificate with
 * GnuTLS.  See tlscert.h.
 *
 * Security: a generated key is written 0600 through a temporary file and
 * a rename, so no reader ever sees it with other modes or half-written;
 * the key's text is wiped from memory when freed.  A pair whose key is not
 * the certificate's is refused here, with a reason, rather than by the TLS
 * library at the first handshake.
 */
#include "tlscert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "buf.h"
#include "digest.h"
#include "fsutil.h"

#define TLSCERT_FILE_MAX (1u << 20) /* a certificate chain or key file */
#define TLSCERT_DAYS 3650
#define TLSCERT_MAX_NAMES 32

/* A self-signed certificate's names: DNS names and IP literals. */
struct tlscert_names {
	const char *v[TLSCERT_MAX_NAMES];
	size_t n;
	char store[1024]; /* the strings v points into */
	size_t used;
};

/* Adds name unless it is empty, a wildcard address, already there, or there is no room. */
static void tlscert_name_add(struct tlscert_names *ns, const char *name, size_t len)
{
	if (len == 0 || ns->n >= TLSCERT_MAX_NAMES || ns->used + len + 1 > sizeof(ns->store))
		return;
	if ((len == 7 && memcmp(name, "0.0.0.0", 7) == 0) ||
	    (len == 2 && memcmp(name, "::", 2) == 0))
		return;
	for (size_t i = 0; i < ns->n; i++)
		if (strlen(ns->v[i]) == len && strncasecmp(ns->v[i], name, len) == 0)
			return;
	char *s = ns->store + ns->used;
	memcpy(s, name, len);
	s[len] = '\0';
	ns->used += len + 1;
	ns->v[ns->n++] = s;
}

static void tlscert_names_fill(struct tlscert_names *ns, const char *listen_addr, const char *extra)
{
	char host[256];
	if (gethostname(host, sizeof(host) - 1) == 0) {
		host[sizeof(host) - 1] = '\0';
		tlscert_name_add(ns, host, strlen(host));
	}
	tlscert_name_add(ns, "localhost", 9);
	tlscert_name_add(ns, "127.0.0.1", 9);
	tlscert_name_add(ns, "::1", 3);
	if (listen_addr != NULL)
		tlscert_name_add(ns, listen_addr, strlen(listen_addr));
	for (const char *p = extra; p != NULL && *p != '\0';) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m > 0 && p[m - 1] == ' ')
			m--;
		tlscert_name_add(ns, p, m);
		p += n;
	}
}

/* A GnuTLS failure as a one-line reason. */
__attribute__((format(printf, 4, 5))) static int tlscert_fail(char *err, size_t errlen, int rc,
							      const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	buf_vfmt_msg(what, sizeof(what), fmt, ap);
	va_end(ap);
	buf_fmt_msg(err, errlen, "%s: %s", what, gnutls_strerror(rc));
	return -EINVAL;
}

/* The names as subject alternative names of crt: IP literals as addresses, the rest as DNS names. */
static int tlscert_set_names(gnutls_x509_crt_t crt, const struct tlscert_names *ns)
{
	for (size_t i = 0; i < ns->n; i++) {
		unsigned char ip[16];
		int rc;
		if (inet_pton(AF_INET, ns->v[i], ip) == 1)
			rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
								  GNUTLS_FSAN_APPEND);
		else if (inet_pton(AF_INET6, ns->v[i], ip) == 1)
			rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16,
								  GNUTLS_FSAN_APPEND);
		else
			rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, ns->v[i],
								  (unsigned)strlen(ns->v[i]),
								  GNUTLS_FSAN_APPEND);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Fills crt as a self-signed server certificate for key and the names, and signs it. */
static int tlscert_make_crt(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
			    const struct tlscert_names *ns)
{
	unsigned char serial[16], keyid[64];
	size_t keyid_len = sizeof(keyid);
	time_t now = time(NULL);
	const char *cn = ns->n > 0 ? ns->v[0] : "corral";
	int rc;
	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		return rc;
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40); /* positive, 16 bytes long */
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, now + TLSCERT_DAYS * 86400L)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "Corral",
						6)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
						(unsigned)strlen(cn))) < 0 ||
	    (rc = tlscert_set_names(crt, ns)) < 0 || (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    /* a server's own certificate, not a CA: it vouches for nothing else */
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = gnutls_x509_crt_get_key_id(crt, 0, keyid, &keyid_len)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, keyid, keyid_len)) < 0)
		return rc;
	return gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
}

/* Makes a key and a self-signed certificate and writes them (the key first, 0600). */
static int tlscert_generate(const char *cert_path, const char *key_path, const char *listen_addr,
			    const char *extra, char *err, size_t errlen)
{
	struct tlscert_names ns = {.n = 0};
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t kpem = {NULL, 0}, cpem = {NULL, 0};
	int rc;

	tlscert_names_fill(&ns, listen_addr, extra);
	if ((rc = gnutls_x509_privkey_init(&key)) < 0 ||
	    (rc = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
					       0)) < 0) {
		rc = tlscert_fail(err, errlen, rc, "cannot make an ECDSA P-256 key");
		goto out;
	}
	if ((rc = gnutls_x509_crt_init(&crt)) < 0 || (rc = tlscert_make_crt(crt, key, &ns)) < 0) {
		rc = tlscert_fail(err, errlen, rc, "cannot make a self-signed certificate");
		goto out;
	}
	if ((rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
						    GNUTLS_PKCS_PLAIN, &kpem)) < 0 ||
	    (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem)) < 0) {
		rc = tlscert_fail(err, errlen, rc, "cannot write the key or certificate as PEM");
		goto out;
	}
	if ((rc = fs_mkdir_parent(key_path, 0750)) < 0 ||
	    (rc = fs_write_atomic(key_path, (const char *)kpem.data, kpem.size, 0600)) < 0) {
		buf_fmt_msg(err, errlen, "cannot write %s: %s", key_path, strerror(-rc));
		goto out;
	}
	if ((rc = fs_mkdir_parent(cert_path, 0750)) < 0 ||
	    (rc = fs_write_atomic(cert_path, (const char *)cpem.data, cpem.size, 0644)) < 0) {
		buf_fmt_msg(err, errlen, "cannot write %s: %s", cert_path, strerror(-rc));
		unlink(key_path); /* not half a pair: the next start makes both again */
		goto out;
	}
	rc = 0;
out:
	if (kpem.data != NULL) {
		explicit_bzero(kpem.data, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

/* "sha256:<hex>" of pub's DER SubjectPublicKeyInfo into out. */
static int tlscert_spki_fp(gnutls_pubkey_t pub, char out[TLSCERT_FP_LEN + 1], gnutls_datum_t *der)
{
	char hex[DIGEST_HEX_LEN + 1];
	int rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, der);
	if (rc < 0)
		return rc;
	digest_sha256_hex(der->data, der->size, hex);
	memcpy(out, "sha256:", 7);
	memcpy(out + 7, hex, DIGEST_HEX_LEN + 1);
	return 0;
}

/* The leaf's certificate fingerprint, DN, names and validity into t. */
static int tlscert_describe(struct tlscert *t, gnutls_x509_crt_t crt)
{
	gnutls_datum_t der = {NULL, 0}, dn = {NULL, 0};
	char hex[DIGEST_HEX_LEN + 1];
	int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der);
	if (rc < 0)
		return rc;
	digest_sha256_hex(der.data, der.size, hex);
	gnutls_free(der.data);
	for (size_t i = 0; i < 32; i++) {
		t->cert_sha256[i * 3] = (char)(hex[i * 2] >= 'a' ? hex[i * 2] - 32 : hex[i * 2]);
		t->cert_sha256[i * 3 + 1] =
			(char)(hex[i * 2 + 1] >= 'a' ? hex[i * 2 + 1] - 32 : hex[i * 2 + 1]);
		t->cert_sha256[i * 3 + 2] = i == 31 ? '\0' : ':';
	}
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
		buf_fmt_msg(t->subject, sizeof(t->subject), "%.*s", (int)dn.size, dn.data);
		gnutls_free(dn.data);
	}
	struct buf names;
	buf_init(&names, sizeof(t->names) - 1);
	for (unsigned seq = 0;; seq++) {
		char v[256];
		size_t len = sizeof(v);
		rc = gnutls_x509_crt_get_subject_alt_name(crt, seq, v, &len, NULL);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		char ip[INET6_ADDRSTRLEN];
		const char *s = NULL;
		if (rc == GNUTLS_SAN_DNSNAME && len < sizeof(v)) {
			v[len] = '\0';
			s = v;
		} else if (rc == GNUTLS_SAN_IPADDRESS && (len == 4 || len == 16)) {
			s = inet_ntop(len == 4 ? AF_INET : AF_INET6, v, ip, sizeof(ip));
		}
		if (s != NULL && buf_printf(&names, "%s%s", names.len ? ", " : "", s) < 0)
			break; /* a longer list is cut; these are for people to read */
	}
	buf_fmt_msg(t->names, sizeof(t->names), "%s", buf_str(&names));
	buf_clear(&names);
	t->not_before = gnutls_x509_crt_get_activation_time(crt);
	t->not_after = gnutls_x509_crt_get_expiration_time(crt);
	return 0;
}

/* Checks that t's key belongs to its first certificate and fills the descriptions. */
static int tlscert_check(struct tlscert *t, const char *cert_path, const char *key_path, char *err,
			 size_t errlen)
{
	gnutls_datum_t cd = {(unsigned char *)t->cert_pem, (unsigned)strlen(t->cert_pem)};
	gnutls_datum_t kd = {(unsigned char *)t->key_pem, (unsigned)strlen(t->key_pem)};
	gnutls_datum_t cspki = {NULL, 0}, kspki = {NULL, 0};
	gnutls_x509_crt_t *crts = NULL;
	unsigned ncrts = 0;
	gnutls_x509_privkey_t xkey = NULL;
	gnutls_privkey_t key = NULL;
	gnutls_pubkey_t cpub = NULL, kpub = NULL;
	char kfp[TLSCERT_FP_LEN + 1];
	int rc = gnutls_x509_crt_list_import2(&crts, &ncrts, &cd, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || ncrts == 0) {
		rc = tlscert_fail(err, errlen, rc < 0 ? rc : GNUTLS_E_NO_CERTIFICATE_FOUND,
				  "%s: no PEM certificate", cert_path);
		goto out;
	}
	if ((rc = gnutls_x509_privkey_init(&xkey)) < 0 ||
	    (rc = gnutls_x509_privkey_import2(xkey, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		rc = tlscert_fail(err, errlen, rc, "%s: no PEM private key (without a password)",
				  key_path);
		goto out;
	}
	if ((rc = gnutls_privkey_init(&key)) < 0 ||
	    (rc = gnutls_privkey_import_x509(key, xkey, 0)) < 0 ||
	    (rc = gnutls_pubkey_init(&kpub)) < 0 ||
	    (rc = gnutls_pubkey_import_privkey(kpub, key, 0, 0)) < 0 ||
	    (rc = gnutls_pubkey_init(&cpub)) < 0 ||
	    (rc = gnutls_pubkey_import_x509(cpub, crts[0], 0)) < 0 ||
	    (rc = tlscert_spki_fp(cpub, t->fingerprint, &cspki)) < 0 ||
	    (rc = tlscert_spki_fp(kpub, kfp, &kspki)) < 0 ||
	    (rc = tlscert_describe(t, crts[0])) < 0) {
		rc = tlscert_fail(err, errlen, rc, "%s, %s: cannot read the keys", cert_path,
				  key_path);
		goto out;
	}
	if (cspki.size != kspki.size || memcmp(cspki.data, kspki.data, cspki.size) != 0) {
		buf_fmt_msg(err, errlen, "%s is not the private key of the certificate in %s",
			    key_path, cert_path);
		rc = -EINVAL;
		goto out;
	}
	rc = 0;
out:
	gnutls_free(cspki.data);
	gnutls_free(kspki.data);
	gnutls_pubkey_deinit(cpub);
	gnutls_pubkey_deinit(kpub);
	if (key != NULL)
		gnutls_privkey_deinit(key); /* not the x509 key: imported without ownership */
	gnutls_x509_privkey_deinit(xkey);
	for (unsigned i = 0; i < ncrts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return rc;
}

/* The whole of path into a new NUL-terminated string. */
static int tlscert_read(const char *path, char **out, char *err, size_t errlen)
{
	struct buf b;
	buf_init(&b, TLSCERT_FILE_MAX);
	int rc = fs_read_file(path, TLSCERT_FILE_MAX, &b);
	if (rc == 0 && (*out = buf_take(&b)) == NULL)
		rc = -ENOMEM;
	if (rc < 0) {
		buf_fmt_msg(err, errlen, "cannot read %s: %s", path,
			    rc == -E2BIG ? "over 1 MiB" : strerror(-rc));
		if (b.data != NULL)
			explicit_bzero(b.data, b.size);
		buf_clear(&b);
	}
	return rc;
}

int tlscert_load(const char *cert_path, const char *key_path, const char *listen_addr,
		 const char *extra_names, struct tlscert **out, char *err, size_t errlen)
{
	bool has_cert = access(cert_path, F_OK) == 0, has_key = access(key_path, F_OK) == 0;
	bool generated = false;
	int rc;
	if (has_cert != has_key) {
		buf_fmt_msg(err, errlen,
			    "%s exists but %s does not: give both, or neither to have a "
			    "self-signed pair made",
			    has_cert ? cert_path : key_path, has_cert ? key_path : cert_path);
		return -ENOENT;
	}
	if (!has_cert) {
		rc = tlscert_generate(cert_path, key_path, listen_addr, extra_names, err, errlen);
		if (rc < 0)
			return rc;
		generated = true;
	}
	struct tlscert *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->generated = generated;
	if ((rc = tlscert_read(cert_path, &t->cert_pem, err, errlen)) < 0 ||
	    (rc = tlscert_read(key_path, &t->key_pem, err, errlen)) < 0 ||
	    (rc = tlscert_check(t, cert_path, key_path, err, errlen)) < 0) {
		tlscert_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void tlscert_free(struct tlscert *t)
{
	if (t == NULL)
		return;
	free(t->cert_pem);
	if (t->key_pem != NULL)
		explicit_bzero(t->key_pem, strlen(t->key_pem));
	free(t->key_pem);
	free(t);
}
