/*
 * cli_conf: flags, then environment, then cli.conf, then the default.
 * See cli_conf.h.
 */
#include "cli_conf.h"

#include <errno.h>
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

/* Fills the url/token still missing from the file's lines. */
static int cli_conf_file(struct cli_conf *c, int want_url, int want_token)
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
		char **dst;
		if (strcasecmp(key, "url") == 0) {
			dst = want_url ? &c->url : NULL;
		} else if (strcasecmp(key, "token") == 0) {
			dst = want_token ? &c->token : NULL;
		} else {
			rc = cli_fail(CLI_EXIT_USAGE, "%s:%d: unknown key '%s' (url, token)",
				      buf_str(&path), lineno, key);
			goto out;
		}
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

int cli_conf_load(const char *flag_url, const char *flag_token, struct cli_conf *out)
{
	out->url = NULL;
	out->token = NULL;
	const char *url = flag_url != NULL ? flag_url : cli_conf_env("CORRAL_URL");
	const char *token = flag_token != NULL ? flag_token : cli_conf_env("CORRAL_TOKEN");
	if (url != NULL && (out->url = strdup(url)) == NULL)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	if (token != NULL && (out->token = strdup(token)) == NULL)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	if (url == NULL || token == NULL) {
		int rc = cli_conf_file(out, url == NULL, token == NULL);
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
	return CLI_EXIT_OK;
}

void cli_conf_clear(struct cli_conf *c)
{
	free(c->url);
	if (c->token != NULL)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	c->url = NULL;
	c->token = NULL;
}
