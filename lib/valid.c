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

/*
 * Kernel parameters end up in the middle of the iPXE line corrald writes:
 *
 *   kernel <url> initrd=initrd <params> BOOTIF=... corral.node=... ds=...;s=<seed> || goto retry
 *
 * so they must stay words of that one "kernel" command.  How iPXE reads a
 * script (src/image/script.c, src/core/exec.c, src/core/settings.c):
 *   - the script is cut into lines at '\n'; a '\r' before it is dropped; a
 *     line ending in '\' is joined with the next one;
 *   - a line is split into words at white space (space, \t, \n, \v, \f,
 *     \r); there is no quoting and no escaping: '"', '\'' and '\\' are
 *     ordinary characters to iPXE;
 *   - a word that is exactly ";", "||" or "&&" ends the command and starts
 *     another one (always, on failure, on success); a word beginning with
 *     '#' starts a comment that runs to the end of the line.  Inside a word
 *     these characters mean nothing ("ds=nocloud-net;s=..." is one word);
 *   - every word is then expanded: "${name}" becomes a setting's value;
 *   - options (--name, --timeout, ...) are read only before the URL, so a
 *     parameter that starts with '-' stays a parameter.
 * Each row below refuses one of these; the why is what the API answers.
 * What is left ("console=ttyS0,115200n8", "root=live:http://h:8080/x",
 * "a=b=c", '%', ',', ':', '/', '&' or '|' inside a word) passes as it is.
 */
enum params_match {
	PM_CONTROL, /* a byte outside printable ASCII */
	PM_BYTE,    /* any byte of text, anywhere */
	PM_WORD,    /* a word equal to text */
	PM_PREFIX,  /* a word starting with text */
};

struct params_rule {
	enum params_match match;
	const char *text;
	const char *why;
};

static const struct params_rule params_rules[] = {
	/* A newline ends the kernel line early: the rest would be a command of
	 * its own.  Tabs and the other white space split words like a space
	 * does, but the kernel and dracut do not all agree; bytes >= 0x7f are
	 * refused so what is stored is what every reader sees. */
	{PM_CONTROL, NULL,
	 "control or non-ASCII character (a newline would end the iPXE line; "
	 "only plain spaces separate parameters)"},
	/* iPXE's command separators, when they stand as a word. */
	{PM_WORD, ";",
	 "';' standing alone separates iPXE commands: what follows would run as a command "
	 "of its own"},
	{PM_WORD, "||",
	 "'||' standing alone is an iPXE operator: what follows would run as a command of "
	 "its own"},
	{PM_WORD, "&&",
	 "'&&' standing alone is an iPXE operator: what follows would run as a command of "
	 "its own"},
	/* A comment drops BOOTIF=, the seed URL and "|| goto retry". */
	{PM_PREFIX, "#",
	 "a word starting with '#' is an iPXE comment: BOOTIF=, the seed URL and the retry "
	 "path after it would be dropped"},
	/* Settings expansion: "${net0/mac}" and friends.  '$' alone is harmless
	 * to iPXE, but refusing every '$' keeps the rule simple to state. */
	{PM_BYTE, "$", "'$' is not allowed (iPXE would expand ${...} into a setting's value)"},
	/* iPXE joins a line ending in '\' with the next one; the kernel's and
	 * systemd's command-line readers take '\' as an escape. */
	{PM_BYTE, "\\",
	 "'\\' is not allowed (iPXE joins a line ending in '\\' with the next; the kernel "
	 "and systemd read it as an escape)"},
	/* iPXE does not group words by quotes (a quoted ';' still separates
	 * commands), but the kernel (") and systemd (" and ') do: an unclosed
	 * quote would swallow BOOTIF= and the seed URL that follow. */
	{PM_BYTE, "\"'",
	 "quotes are not allowed (iPXE ignores them, while the kernel and systemd would "
	 "read an unclosed one over BOOTIF= and the seed URL that follow)"},
};

/* 1 if the word w (n bytes) breaks rule r. */
static int params_word_breaks(const struct params_rule *r, const char *w, size_t n)
{
	size_t tn = strlen(r->text);
	if (r->match == PM_WORD)
		return n == tn && memcmp(w, r->text, n) == 0;
	return n >= tn && memcmp(w, r->text, tn) == 0;
}

/* 1 if s breaks rule r. */
static int params_breaks(const struct params_rule *r, const char *s)
{
	if (r->match == PM_CONTROL) {
		for (const char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				return 1;
		return 0;
	}
	if (r->match == PM_BYTE)
		return strpbrk(s, r->text) != NULL;
	/* Words: after the control rule only ' ' separates them. */
	for (const char *p = s; *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if (p > w && params_word_breaks(r, w, (size_t)(p - w)))
			return 1;
	}
	return 0;
}

int valid_ipxe_params(const char *s, const char **why)
{
	if (strlen(s) > VALID_PARAMS_MAX) {
		*why = "longer than 2048 characters";
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(params_rules) / sizeof(params_rules[0]); i++) {
		if (params_breaks(&params_rules[i], s)) {
			*why = params_rules[i].why;
			return -EINVAL;
		}
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
