/*
 * fuzz_bootscript: kernel parameters (from any API client with a token)
 * as they land on a node's iPXE "kernel" line.  Input: up to three
 * parameter strings (image, profile, node) separated by 0x01 bytes, each
 * checked by valid_ipxe_params() as the API does.  When all pass, the
 * script corrald renders is read back with iPXE's own rules (src/image/
 * script.c, src/core/exec.c: lines, '\' continuation, white-space words,
 * ";" "||" "&&" and "#..." ending a command, ${...} expansion) and must
 * still be one kernel command with every parameter, BOOTIF=, the seed URL
 * and "|| goto retry" where corrald put them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootscript.h"
#include "valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEED "s33d"
#define MAXW 4096

/* iPXE's isspace(): space, \f, \n, \r, \t, \v. */
static int ipxe_space(char c)
{
	return c == ' ' || c == '\f' || c == '\n' || c == '\r' || c == '\t' || c == '\v';
}

/* Splits line (modified) into words the way iPXE does; returns the count. */
static size_t ipxe_words(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *p = line;
	while (*p) {
		while (ipxe_space(*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == max)
			abort(); /* more words than the script can hold */
		w[n++] = p;
		while (*p && !ipxe_space(*p))
			p++;
	}
	return n;
}

/* 1 if iPXE ends a command at this word. */
static int ipxe_terminator(const char *w)
{
	return w[0] == '#' || strcmp(w, ";") == 0 || strcmp(w, "||") == 0 || strcmp(w, "&&") == 0;
}

/* The first script line (continuations joined) that starts with "kernel ". */
static char *kernel_line(const char *script)
{
	const char *p = script;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n > 0 && p[n - 1] == '\r')
			abort(); /* corrald writes no CR */
		if (n > 0 && p[n - 1] == '\\')
			abort(); /* a continuation: the next line would join this one */
		if (strncmp(p, "kernel ", 7) == 0)
			return strndup(p, n);
		p += n + (nl != NULL);
	}
	abort(); /* no kernel line at all */
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void render(const char *params, struct buf *out)
{
	static const struct bootscript_env env = {"http://10.0.0.1:8080", 10, 60};
	struct bootsel b;
	memset(&b, 0, sizeof(b));
	snprintf(b.name, sizeof(b.name), "n1");
	snprintf(b.mac, sizeof(b.mac), "52:54:00:12:34:56");
	snprintf(b.profile, sizeof(b.profile), "p");
	snprintf(b.source, sizeof(b.source), "node");
	b.has_profile = true;
	b.enabled = true;
	b.kernel = (char *)"images/k/vmlinuz";
	b.initrd = (char *)"images/k/initrd";
	b.params = (char *)params;
	if (bootscript_node(&env, &b, SEED, "mac=52:54:00:12:34:56", 0, out) < 0)
		abort(); /* three checked parameter strings always fit */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Up to three parts; every one must pass the API's check. */
	char *in = strndup((const char *)data, size);
	if (in == NULL)
		return 0;
	char *parts[3] = {in, NULL, NULL};
	int nparts = 1;
	for (char *p = in; *p; p++) {
		if (*p != '\x01')
			continue;
		*p = '\0';
		if (nparts == 3)
			break;
		parts[nparts++] = p + 1;
	}
	const char *why;
	for (int i = 0; i < nparts; i++) {
		if (valid_ipxe_params(parts[i], &why) < 0) {
			free(in);
			return 0;
		}
	}
	/* Joined as the store joins them: non-empty parts, one space apart. */
	struct buf params;
	buf_init(&params, 3 * VALID_PARAMS_MAX + 8);
	for (int i = 0; i < nparts; i++)
		if (parts[i][0] != '\0' &&
		    buf_printf(&params, "%s%s", params.len ? " " : "", parts[i]) < 0)
			abort();

	struct buf out, plain;
	buf_init(&out, BOOTSCRIPT_MAX);
	buf_init(&plain, BOOTSCRIPT_MAX);
	render(buf_str(&params), &out);
	render("", &plain);
	/* Parameters add no line. */
	if (count_lines(buf_str(&out)) != count_lines(buf_str(&plain)))
		abort();

	char *line = kernel_line(buf_str(&out));
	char *words[MAXW];
	size_t n = ipxe_words(line, words, MAXW);
	/* One command: the first terminator is the "||" of "|| goto retry", the
	 * last three words of the line. */
	size_t t = 0;
	while (t < n && !ipxe_terminator(words[t]))
		t++;
	if (t + 3 != n || strcmp(words[t], "||") != 0 || strcmp(words[t + 1], "goto") != 0 ||
	    strcmp(words[t + 2], "retry") != 0)
		abort();
	/* Nothing iPXE expands, nothing the kernel or systemd unquote. */
	for (size_t i = 0; i < t; i++)
		if (strstr(words[i], "${") != NULL || strpbrk(words[i], "\"'\\") != NULL)
			abort();
	/* kernel <url> initrd=initrd <params...> BOOTIF= corral.node= ds=: the
	 * parameters are exactly the words between, in order. */
	char *pw[MAXW];
	char *pcopy = strdup(buf_str(&params));
	if (pcopy == NULL)
		abort();
	size_t np = ipxe_words(pcopy, pw, MAXW);
	if (t != 3 + np + 3 || strcmp(words[2], "initrd=initrd") != 0)
		abort();
	for (size_t i = 0; i < np; i++)
		if (strcmp(words[3 + i], pw[i]) != 0)
			abort();
	if (strcmp(words[3 + np], "BOOTIF=01-52-54-00-12-34-56") != 0 ||
	    strcmp(words[4 + np], "corral.node=n1") != 0 ||
	    strcmp(words[5 + np], "ds=nocloud-net;s=http://10.0.0.1:8080/cloud-init/" SEED "/") !=
		    0)
		abort();

	free(pcopy);
	free(line);
	buf_clear(&out);
	buf_clear(&plain);
	buf_clear(&params);
	free(in);
	return 0;
}
