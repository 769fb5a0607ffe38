/*
 * What the CLI's unit tests share: stdout and stderr captured around a call
 * (each redirected to a temporary file, read back into out_text and
 * err_text), the test JSON parser, the lookup of a real command, a
 * temporary directory with files in it, and a loopback port that refuses
 * connections.
 *
 * Everything here is static (and may go unused): each test program
 * includes this header once and is its own binary.  Before including it a test may define
 *   CAPTURE_STREAMS  CAPTURE_STDOUT, CAPTURE_STDERR, or both (the default):
 *                    the streams capture_start() redirects; the other one
 *                    is left alone;
 *   CAPTURE_OUT_LEN, CAPTURE_ERR_LEN  the sizes of out_text and err_text
 *                    (8192 each by default); longer output is cut.
 * A capture is not nested and not shared between threads.
 */
#ifndef CORRAL_TESTS_CAPTURE_H
#define CORRAL_TESTS_CAPTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli_args.h"
#include "cli_defs.h"

#define CAPTURE_STDOUT 1
#define CAPTURE_STDERR 2

#ifndef CAPTURE_STREAMS
#define CAPTURE_STREAMS (CAPTURE_STDOUT | CAPTURE_STDERR)
#endif
#ifndef CAPTURE_OUT_LEN
#define CAPTURE_OUT_LEN 8192
#endif
#ifndef CAPTURE_ERR_LEN
#define CAPTURE_ERR_LEN 8192
#endif

/* ---- stdout and stderr capture ---------------------------------------- */

/* What the last capture_end() read ("" for a stream not captured). */
static char out_text[CAPTURE_OUT_LEN], err_text[CAPTURE_ERR_LEN];

/* One redirected stream. */
struct capture {
	int fd;     /* STDOUT_FILENO or STDERR_FILENO */
	FILE *file; /* the temporary file it goes to */
	int saved;  /* a copy of the descriptor it had */
};

static struct capture capture_out = {STDOUT_FILENO, NULL, -1};
static struct capture capture_err = {STDERR_FILENO, NULL, -1};

__attribute__((unused)) static void capture_stream_start(struct capture *c, FILE *stream)
{
	fflush(stream);
	c->file = tmpfile();
	assert_non_null(c->file);
	c->saved = dup(c->fd);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->file), c->fd) >= 0);
}

/* Puts the stream back and reads what it got into text (len bytes at most,
   with the '\0'). */
__attribute__((unused)) static void capture_stream_end(struct capture *c, FILE *stream, char *text,
						       size_t len)
{
	fflush(stream);
	dup2(c->saved, c->fd);
	close(c->saved);
	rewind(c->file);
	size_t n = fread(text, 1, len - 1, c->file);
	text[n] = '\0';
	fclose(c->file);
}

/* Redirects the streams of CAPTURE_STREAMS until capture_end(). */
__attribute__((unused)) static void capture_start(void)
{
	if (CAPTURE_STREAMS & CAPTURE_STDOUT)
		capture_stream_start(&capture_out, stdout);
	if (CAPTURE_STREAMS & CAPTURE_STDERR)
		capture_stream_start(&capture_err, stderr);
}

/* Fills out_text and err_text with what was written since capture_start();
   returns err_text when stderr was captured, else out_text. */
__attribute__((unused)) static const char *capture_end(void)
{
	if (CAPTURE_STREAMS & CAPTURE_STDOUT)
		capture_stream_end(&capture_out, stdout, out_text, sizeof(out_text));
	if (CAPTURE_STREAMS & CAPTURE_STDERR) {
		capture_stream_end(&capture_err, stderr, err_text, sizeof(err_text));
		return err_text;
	}
	return out_text;
}

/* ---- helpers not every test uses ---------------------------------------- */

/* The JSON in text (the caller's); a test's own JSON must parse. */
__attribute__((unused)) static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", text, jerr.text);
	return j;
}

/* The real command "resource verb" (verb NULL: one without a verb) from
   cli_defs.c's table; fails the test when there is none. */
__attribute__((unused)) static const struct cli_cmd *find_cmd(const char *resource,
							      const char *verb)
{
	for (size_t i = 0; i < cli_ncmds; i++) {
		const struct cli_cmd *c = &cli_cmds[i];
		if (strcmp(c->resource, resource) == 0 &&
		    (verb == NULL ? c->verb == NULL :
				    c->verb != NULL && strcmp(c->verb, verb) == 0))
			return c;
	}
	fail_msg("no command %s %s", resource, verb ? verb : "");
	return NULL;
}

/*
 * As main() does it: parses argv (NULL-terminated, 24 at most) for the real
 * command "resource verb", then runs its handler with c (c->json from
 * --json).  stdout and stderr land in out_text and err_text.
 */
__attribute__((unused)) static int run_cmd(struct cli *c, const char *resource, const char *verb,
					   const char *const *argv)
{
	char *args[24];
	int argc = 0;
	struct cli_args a;
	const struct cli_cmd *cmd = find_cmd(resource, verb);

	while (argv[argc] != NULL && argc < 24) {
		args[argc] = (char *)argv[argc];
		argc++;
	}
	capture_start();
	int rc = cli_args_parse(cmd, argc, args, &a);
	if (rc == CLI_EXIT_OK) {
		c->json = a.json;
		rc = cmd->run(c, cmd, &a);
	}
	capture_end();
	cli_args_clear(&a);
	return rc;
}

/* ---- a temporary directory and a refusing port -------------------------- */

/* Makes /tmp/<name>.XXXXXX into dir[size]; 0 or -1. */
__attribute__((unused)) static int tmp_make(char *dir, size_t size, const char *name)
{
	int n = snprintf(dir, size, "/tmp/%s.XXXXXX", name);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

/* Writes len bytes into dir/name; returns the path (static, until the next call). */
__attribute__((unused)) static const char *tmp_file(const char *dir, const char *name,
						    const void *data, size_t len)
{
	static char p[256];
	int n = snprintf(p, sizeof(p), "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < sizeof(p));
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return p;
}

/* Removes dir/names[i] (those a test may have written), then dir. */
__attribute__((unused)) static void tmp_remove(const char *dir, const char *const *names, size_t n)
{
	char p[256];

	for (size_t i = 0; i < n; i++) {
		int k = snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		if (k > 0 && (size_t)k < sizeof(p))
			unlink(p);
	}
	rmdir(dir);
}

/* A loopback port that refuses connections (bound, never listening) held
   open in *fd; the port, or -1. */
__attribute__((unused)) static int closed_port(int *fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);

	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(*fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	return ntohs(sa.sin_port);
}

#endif /* CORRAL_TESTS_CAPTURE_H */
