/*
 * cli_core: error lines, API calls with their error translation, paths and
 * file reading for the CLI.  See cli_core.h.
 * Security: text from the server is printed with its control characters
 * replaced, so a reply cannot drive the user's terminal.
 */
#include "cli_core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_http.h"
#include "fsutil.h"

/* Longest error line; the rest is cut with "...". */
#define CLI_LINE_MAX 1024

static void cli_vline(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void cli_vline(const char *fmt, va_list ap)
{
	char line[CLI_LINE_MAX] = "corral: ";
	size_t n = strlen(line);
	buf_vfmt_msg(line + n, sizeof(line) - n, fmt, ap); /* cut: ends in "..." */
	size_t len = strlen(line);
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	}
	fflush(stdout); /* what was printed before the error comes first */
	fprintf(stderr, "%.*s\n", (int)len, line);
}

int cli_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cli_vline(fmt, ap);
	va_end(ap);
	return code;
}

const char *cli_cmd_name(const struct cli_cmd *cmd, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s%s", cmd->resource, cmd->verb ? " " : "",
			 cmd->verb ? cmd->verb : "");
	if (n < 0)
		out[0] = '\0';
	/* Truncation leaves a shorter, still NUL-terminated name: fine for a message. */
	return out;
}

int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
{
	char name[64], prefix[80];
	cli_cmd_name(cmd, name, sizeof(name));
	if (buf_fmt(prefix, sizeof(prefix), "%s: ", name) < 0)
		prefix[0] = '\0';

	char msg[CLI_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	buf_vfmt_msg(msg, sizeof(msg), fmt, ap); /* cli_fail cuts the line anyway */
	va_end(ap);
	return cli_fail(CLI_EXIT_USAGE, "%s%s (see 'corral %s --help')", prefix, msg, name);
}

/* The server's error.message, .code and .field, if the body has them. */
static const char *cli_api_message(const struct cli_reply *r, const char **code, const char **field)
{
	json_t *err = json_object_get(r->json, "error");
	*code = json_string_value(json_object_get(err, "code"));
	*field = json_string_value(json_object_get(err, "field"));
	return json_string_value(json_object_get(err, "message"));
}

int cli_call(struct cli *c, const struct cli_cmd *cmd, const char *method, const char *path,
	     const json_t *body, struct cli_reply *r)
{
	char name[64];
	cli_cmd_name(cmd, name, sizeof(name));
	int rc = cli_http_request(c->http, method, path, body, r);
	switch (rc) {
	case 0:
		break;
	case -EIO:
		return cli_fail(CLI_EXIT_CONNECT, "cannot reach %s: %s", c->url, r->err);
	case -E2BIG:
		return cli_fail(CLI_EXIT_FAIL, "%s: reply larger than %u bytes", name,
				CLI_HTTP_MAX_REPLY);
	case -ENAMETOOLONG:
		return cli_fail(CLI_EXIT_USAGE, "%s: request URL too long", name);
	default:
		return cli_fail(CLI_EXIT_FAIL, "%s: %s", name, strerror(-rc));
	}
	return cli_reply_check(cmd, r);
}

int cli_reply_check(const struct cli_cmd *cmd, struct cli_reply *r)
{
	char name[64];
	cli_cmd_name(cmd, name, sizeof(name));
	if (r->status >= 200 && r->status < 300)
		return CLI_EXIT_OK;

	const char *code = NULL, *field = NULL;
	const char *msg = cli_api_message(r, &code, &field);
	if (msg == NULL) {
		/* Not our server's error body (a proxy?): the first line of it. */
		const char *text = buf_str(&r->body);
		int len = (int)strcspn(text, "\r\n");
		return cli_fail(CLI_EXIT_FAIL, "%s: HTTP %ld%s%.*s", name, r->status,
				len > 0 ? ": " : "", len > 200 ? 200 : len, text);
	}
	/* For 401/403 the code says what to fix: the token, not the input. */
	if ((r->status == 401 || r->status == 403) && code != NULL)
		return cli_fail(CLI_EXIT_FAIL, "%s: %s (%ld %s)", name, msg, r->status, code);
	/* The message names the field to blame; if it does not, we do. */
	if (field != NULL && field[0] != '\0' && strstr(msg, field) == NULL)
		return cli_fail(CLI_EXIT_FAIL, "%s: %s: %s (%ld)", name, field, msg, r->status);
	return cli_fail(CLI_EXIT_FAIL, "%s: %s (%ld)", name, msg, r->status);
}

int cli_path(struct buf *out, const char *base, const char *name, const char *suffix)
{
	buf_reset(out);
	int rc = buf_adds(out, base);
	if (rc == 0 && name != NULL) {
		rc = buf_addc(out, '/');
		/* "." and ".." would be path steps to libcurl (and the server):
		 * escaped, they stay the name asked for */
		if (rc == 0 && (strcmp(name, ".") == 0 || strcmp(name, "..") == 0))
			rc = buf_adds(out, name[1] ? "%2E%2E" : "%2E");
		else if (rc == 0)
			rc = cli_http_escape(out, name);
	}
	if (rc == 0 && suffix != NULL)
		rc = buf_adds(out, suffix);
	return rc;
}

int cli_read_file(const char *path, size_t cap, struct buf *out)
{
	if (strcmp(path, "-") == 0)
		return fs_read_fd(STDIN_FILENO, cap, out); /* stdin stays open */
	return fs_read_file(path, cap, out);
}
