/*
 * valid: checks and normal forms for everything that comes from outside
 * (API bodies, query strings, config values).  Pure functions, no state;
 * leaf module.  Each returns 0 when the input is acceptable and -EINVAL
 * otherwise; the ones that can say why set *why to a static string.
 */
#ifndef CORRAL_VALID_H
#define CORRAL_VALID_H

#include <stddef.h>

#define VALID_NAME_MAX 63
#define VALID_MAC_LEN 17 /* "aa:bb:cc:dd:ee:ff" */
#define VALID_PARAMS_MAX 2048

/* Whole-string integer in [min, max]; no sign games, no trailing junk. */
int valid_parse_ll(const char *s, long long min, long long max, long long *out);
/* Object name: 1-63 of [A-Za-z0-9._-], first a letter or digit. */
int valid_name(const char *s);
/* Value of one hex digit (either case), or -1. */
int valid_hexval(char c);
/* aa:bb:..., AA-BB-..., aabb.ccdd.eeff or aabbccddeeff → "aa:bb:cc:dd:ee:ff". */
int valid_mac_normalize(const char *in, char out[VALID_MAC_LEN + 1]);
/* Dotted-quad IPv4. */
int valid_ipv4(const char *s);
/* "a.b.c.d/len" (len 8..30); network and prefix length out (host order). */
int valid_cidr(const char *s, unsigned *network, unsigned *prefix);
/* IPv4 or IPv6 literal. */
int valid_ip_literal(const char *s);
/* http:// or https:// URL with a host, printable, no spaces. */
int valid_base_url(const char *s);
/*
 * Kernel parameters, which corrald writes into the middle of an iPXE
 * "kernel" line: at most VALID_PARAMS_MAX characters of printable ASCII,
 * and nothing iPXE reads as more than a word of that command -- no ";",
 * "||" or "&&" word (command separators), no word starting with '#' (a
 * comment), no '$' (settings expansion), no '\' (line continuation) and
 * no quotes.  valid.c has the table and why each is refused.
 */
int valid_ipxe_params(const char *s, const char **why);
/* A kernel/initrd/rootfs location: http(s) URL, or a relative path under the file root. */
int valid_location(const char *s, const char **why);
/* True if s is an http:// or https:// URL (not validated further). */
int valid_is_url(const char *s);

#endif
