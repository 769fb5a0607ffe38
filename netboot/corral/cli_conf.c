/*
 * cli_conf: flags, then environment, then cli.conf, then the default.
 * See cli_conf.h.
 */
#include "cli_conf.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cli_core.h"

#define CLI_CONF_MAX (64 * 1024)

static const char *cli_conf_env(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The config file's path into path; -ENOENT when there is no home to look in. */
static int cli_conf_path(struct buf *path)
{
	const char *xdg = cli_conf_env("XDG_CONFIG_HOME");
	/* The XDG spec says a relative XDG_CONFIG_HOME is to be ignored. */
	if (xdg != NULL && xdg[0] == '/')
		return buf_printf(path, "%s/corral/cli.conf", xdg);
	const char *home = cli_conf_env("HOME");
	if (home == NULL)
		return -ENOENT;
	return buf_printf(path, "%s/.config/corral/cli.conf", home);
}

static char *cli_conf_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	/* A value may be quoted to keep its spaces. */
	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

/* The keys of cli.conf and the field each fills. */
static const struct {
	const char *key;
	size_t offset;
} cli_conf_keys[] = {
	{"url", offsetof(struct cli_conf, url)},
	{"token", offsetof(struct cli_conf, token)},
	{"ca_file", offsetof(struct cli_conf, ca_file)},
	{"fingerprint", offsetof(struct cli_conf, fingerprint)},
};

static char **cli_conf_field(struct cli_conf *c, size_t i)
{
	return (char **)(void *)((char *)c + cli_conf_keys[i].offset);
}

/* Fills the fields still missing (want[i]) from the file's lines. */
static int cli_conf_file(struct cli_conf *c, const int want[4])
{
	struct buf path, text;
	buf_init(&path, 4096);
	buf_init(&text, CLI_CONF_MAX);
	int rc = cli_conf_path(&path);
	if (rc == -ENOENT) {
		rc = CLI_EXIT_OK;
		goto out;
	}
	if (rc < 0) {
		rc = cli_fail(CLI_EXIT_USAGE, "config file path too long");
		goto out;
	}
	rc = cli_read_file(buf_str(&path), CLI_CONF_MAX, &text);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		rc = CLI_EXIT_OK;
		goto out;
	}
	if (rc < 0) {
		rc = cli_fail(CLI_EXIT_USAGE, "cannot read %s: %s", buf_str(&path),
			      rc == -E2BIG ? "file too large" : strerror(-rc));
		goto out;
	}

	char *line = text.data, *next;
	for (int lineno = 1; line != NULL; line = next, lineno++) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		char *s = cli_conf_trim(line);
		if (s[0] == '\0' || s[0] == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			rc = cli_fail(CLI_EXIT_USAGE, "%s:%d: expected 'key = value'",
				      buf_str(&path), lineno);
			goto out;
		}
		*eq = '\0';
		char *key = cli_conf_trim(s), *val = cli_conf_trim(eq + 1);
		char **dst = NULL;
		size_t k;
		for (k = 0; k < sizeof(cli_conf_keys) / sizeof(cli_conf_keys[0]); k++)
			if (strcasecmp(key, cli_conf_keys[k].key) == 0)
				break;
		if (k == sizeof(cli_conf_keys) / sizeof(cli_conf_keys[0])) {
			rc = cli_fail(CLI_EXIT_USAGE,
				      "%s:%d: unknown key '%s' (url, token, ca_file, fingerprint)",
				      buf_str(&path), lineno, key);
			goto out;
		}
		if (want[k])
			dst = cli_conf_field(c, k);
		if (dst == NULL || val[0] == '\0')
			continue;
		free(*dst);
		*dst = strdup(val);
		if (*dst == NULL) {
			rc = cli_fail(CLI_EXIT_FAIL, "out of memory");
			goto out;
		}
	}
	rc = CLI_EXIT_OK;
out:
	if (text.data != NULL)
		explicit_bzero(text.data, text.size); /* it held the token */
	buf_clear(&text);
	buf_clear(&path);
	return rc;
}

int cli_conf_fingerprint(const char *in, char out[CLI_FP_LEN + 1])
{
	if (strncasecmp(in, "sha256:", 7) != 0)
		return -EINVAL;
	memcpy(out, "sha256:", 7);
	size_t n = 0;
	for (const char *p = in + 7; *p != '\0'; p++) {
		if (*p == ':' && n > 0 && n % 2 == 0 && p[1] != '\0' && p[1] != ':')
			continue; /* between bytes */
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F')) ||
		    n == 64)
			return -EINVAL;
		out[7 + n++] = (char)(*p >= 'A' && *p <= 'F' ? *p + ('a' - 'A') : *p);
	}
	if (n != 64)
		return -EINVAL;
	out[7 + n] = '\0';
	return 0;
}

/* The fingerprint as given, checked and normalised, in place. */
static int cli_conf_check_fp(struct cli_conf *c)
{
	char fp[CLI_FP_LEN + 1];
	if (cli_conf_fingerprint(c->fingerprint, fp) < 0)
		return cli_fail(CLI_EXIT_USAGE,
				"fingerprint '%s' is not sha256: and 64 hex digits (corrald cert "
				"shows it)",
				c->fingerprint);
	if (strncasecmp(c->url, "https://", 8) != 0)
		return cli_fail(CLI_EXIT_USAGE,
				"a fingerprint needs an https:// server URL, not %s", c->url);
	free(c->fingerprint);
	if ((c->fingerprint = strdup(fp)) == NULL)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	return CLI_EXIT_OK;
}

int cli_conf_load(const struct cli_flags *flags, struct cli_conf *out)
{
	const char *given[4] = {flags->url, flags->token, flags->ca_file, flags->fingerprint};
	static const char *const envs[4] = {"CORRAL_URL", "CORRAL_TOKEN", "CORRAL_CA_FILE",
					    "CORRAL_FINGERPRINT"};
	int want[4], missing = 0;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < 4; i++) {
		const char *v = given[i] != NULL ? given[i] : cli_conf_env(envs[i]);
		char **dst = cli_conf_field(out, i);
		want[i] = v == NULL;
		missing |= want[i];
		if (v != NULL && (*dst = strdup(v)) == NULL)
			return cli_fail(CLI_EXIT_FAIL, "out of memory");
	}
	if (missing) {
		int rc = cli_conf_file(out, want);
		if (rc != CLI_EXIT_OK)
			return rc;
	}
	if (out->url == NULL && (out->url = strdup(CLI_DEFAULT_URL)) == NULL)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");

	if (strncasecmp(out->url, "http://", 7) != 0 && strncasecmp(out->url, "https://", 8) != 0)
		return cli_fail(CLI_EXIT_USAGE, "server URL '%s' is not http:// or https://",
				out->url);
	size_t n = strlen(out->url);
	while (n > 0 && out->url[n - 1] == '/')
		out->url[--n] = '\0';
	if (out->fingerprint != NULL)
		return cli_conf_check_fp(out);
	return CLI_EXIT_OK;
}

void cli_conf_clear(struct cli_conf *c)
{
	free(c->url);
	free(c->ca_file);
	free(c->fingerprint);
	c->ca_file = NULL;
	c->fingerprint = NULL;
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	c->url = NULL;
	c->token = NULL;
}
