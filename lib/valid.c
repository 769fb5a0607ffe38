/*
 * valid: input checks and normal forms.  See valid.h.
 */
#include "valid.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int valid_parse_ll(const char *s, long long min, long long max, long long *out)
{
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > VALID_NAME_MAX || !isalnum((unsigned char)s[0]))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return -EINVAL;
	}
	return 0;
}

int valid_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int valid_mac_normalize(const char *in, char out[VALID_MAC_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	int digits[12];
	int nd = 0;
	size_t len = strlen(in);
	char sep = 0;

	/* Accepted shapes by length: 17 with ':' or '-', 14 with '.', 12 bare. */
	if (len == 17)
		sep = in[2];
	else if (len == 14)
		sep = '.';
	else if (len != 12)
		return -EINVAL;
	if (len == 17 && sep != ':' && sep != '-')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int sep_pos = (len == 17 && i % 3 == 2) || (len == 14 && i % 5 == 4);
		if (sep_pos) {
			if (in[i] != sep)
				return -EINVAL;
			continue;
		}
		int v = valid_hexval(in[i]);
		if (v < 0 || nd >= 12)
			return -EINVAL;
		digits[nd++] = v;
	}
	if (nd != 12)
		return -EINVAL;
	for (int i = 0, o = 0; i < 12; i += 2) {
		out[o++] = hex[digits[i]];
		out[o++] = hex[digits[i + 1]];
		if (i < 10)
			out[o++] = ':';
	}
	out[VALID_MAC_LEN] = '\0';
	return 0;
}

int valid_ipv4(const char *s)
{
	struct in_addr a;
	/* inet_pton accepts only the strict dotted quad (no octal, no short forms). */
	return inet_pton(AF_INET, s, &a) == 1 ? 0 : -EINVAL;
}

int valid_cidr(const char *s, unsigned *network, unsigned *prefix)
{
	char ip[16];
	const char *slash = strchr(s, '/');
	long long len;
	if (slash == NULL || (size_t)(slash - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1 || valid_parse_ll(slash + 1, 8, 30, &len) < 0)
		return -EINVAL;
	unsigned mask = 0xffffffffu << (32 - len);
	if (network != NULL)
		*network = ntohl(a.s_addr) & mask;
	if (prefix != NULL)
		*prefix = (unsigned)len;
	return 0;
}

int valid_ip_literal(const char *s)
{
	struct in6_addr a6;
	if (valid_ipv4(s) == 0)
		return 0;
	return inet_pton(AF_INET6, s, &a6) == 1 ? 0 : -EINVAL;
}

int valid_is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* Printable ASCII without spaces and without iPXE's '$'. */
static int valid_url_chars(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || c == '$')
			return -EINVAL;
	}
	return 0;
}

int valid_base_url(const char *s)
{
	if (!valid_is_url(s) || valid_url_chars(s) < 0)
		return -EINVAL;
	const char *host = strstr(s, "://") + 3;
	if (*host == '\0' || *host == '/')
		return -EINVAL;
	return 0;
}

int valid_ipxe_params(const char *s, const char **why)
{
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c >= 0x7f) {
			*why = "control or non-ASCII character (could end the iPXE line)";
			return -EINVAL;
		}
		if (c == '$') {
			*why = "'$' is not allowed (iPXE would expand it)";
			return -EINVAL;
		}
	}
	/* "||" and "&&" are iPXE operators when they stand as a word. */
	const char *p = s;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		size_t n = (size_t)(p - w);
		if (n == 2 && (strncmp(w, "||", 2) == 0 || strncmp(w, "&&", 2) == 0)) {
			*why = "'||' and '&&' are iPXE operators";
			return -EINVAL;
		}
	}
	if (strlen(s) > 2048) {
		*why = "longer than 2048 characters";
		return -EINVAL;
	}
	return 0;
}

int valid_location(const char *s, const char **why)
{
	if (*s == '\0') {
		*why = "empty";
		return -EINVAL;
	}
	if (strlen(s) > 1024) {
		*why = "longer than 1024 characters";
		return -EINVAL;
	}
	if (valid_is_url(s)) {
		if (valid_base_url(s) < 0) {
			*why = "URL with spaces, control characters, '$' or no host";
			return -EINVAL;
		}
		return 0;
	}
	if (strstr(s, "://") != NULL) {
		*why = "only http:// and https:// URLs are supported";
		return -EINVAL;
	}
	if (s[0] == '/') {
		*why = "paths are relative to the file root (no leading '/')";
		return -EINVAL;
	}
	/* Relative path: safe characters only, no "." or ".." segments. */
	const char *seg = s;
	for (const char *p = s;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - seg);
			if (n == 0 || (n == 1 && seg[0] == '.') ||
			    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
				*why = "empty, '.' or '..' path segment";
				return -EINVAL;
			}
			if (*p == '\0')
				break;
			seg = p + 1;
			continue;
		}
		unsigned char c = (unsigned char)*p;
		if (!isalnum(c) && strchr("._-+~@=,:", c) == NULL) {
			*why = "path characters are limited to letters, digits and ._-+~@=,:/";
			return -EINVAL;
		}
	}
	return 0;
}
