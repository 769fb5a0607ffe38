/*
 * cli_cmds_redfish: credential set, discover, power, boot pxe and job, and
 * the job wait and summaries they share.  See cli_cmds_redfish.h.
 */
#include "cli_cmds_redfish.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli_cmds.h"
#include "cli_http.h"
#include "cli_out.h"
#include "cli_res.h"
#include "cli_table.h"

#define CLI_JOB_WAIT_DISCOVER 1800 /* default --timeout, seconds */
#define CLI_JOB_WAIT_CONTROL 300
#define CLI_PASSWORD_MAX 255 /* the server's limit */
#define CLI_NAMES_SHOWN 10   /* node names listed in a summary line */
#define CLI_BAR_WIDTH 30
#define CLI_LINE_EVERY 5.0 /* seconds between progress lines when not on a terminal */

static double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void cli_sleep(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wipes a JSON string's bytes in place (a password, before it is freed). */
static void cli_wipe_string(json_t *s)
{
	if (json_is_string(s))
		explicit_bzero((char *)json_string_value(s), json_string_length(s));
}

/* One line from the terminal with echo off, the prompt on stderr. */
static int cli_password_tty(const char *prompt, struct buf *out)
{
	struct termios old, quiet;
	char line[CLI_PASSWORD_MAX + 3];
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -errno;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	/* Echo off before the prompt, and without flushing: a password typed
	 * (or sent) as soon as the prompt shows must not be thrown away. */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &quiet) < 0)
		return -errno;
	fputs(prompt, stderr);
	fflush(stderr);
	char *got = fgets(line, sizeof(line), stdin);
	tcsetattr(STDIN_FILENO, TCSANOW, &old);
	fputc('\n', stderr);
	int rc = got == NULL ? -EIO : buf_adds(out, line);
	explicit_bzero(line, sizeof(line));
	return rc;
}

/*
 * The password in pw (text as read) without its final line end, checked:
 * one line, at most CLI_PASSWORD_MAX bytes.  Returns a new JSON string or
 * NULL with *why set.
 */
static json_t *cli_password_value(const char *pw, size_t n, const char **why)
{
	if (n > 0 && pw[n - 1] == '\n')
		n--;
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	if (memchr(pw, '\n', n) != NULL || memchr(pw, '\0', n) != NULL) {
		*why = "the password must be one line";
		return NULL;
	}
	if (n > CLI_PASSWORD_MAX) {
		*why = "the password is longer than 255 bytes";
		return NULL;
	}
	json_t *v = json_stringn(pw, n);
	if (v == NULL)
		*why = "the password is not valid UTF-8";
	return v;
}

int cli_cmd_credential_set(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	char name[64], line[256];
	json_t *body = a->body;
	json_t *file_pw = json_object_get(body, "password");
	int from_stdin = json_is_true(json_object_get(a->query, "password-stdin"));
	if (json_object_get(body, "username") == NULL)
		return cli_usage(cmd, "--username is required");
	if ((file_pw != NULL) == from_stdin)
		return cli_usage(cmd, "give the password with either --password-file F or "
				      "--password-stdin");
	int rc = cli_res_name(cmd, body, a->pos[0]);
	if (rc != CLI_EXIT_OK)
		return rc;

	const char *why = NULL;
	json_t *pw = NULL;
	if (from_stdin) {
		struct buf in;
		buf_init(&in, 4096);
		char prompt[128];
		buf_fmt_msg(prompt, sizeof(prompt), "Password for credential %.64s: ", a->pos[0]);
		int r = isatty(STDIN_FILENO) ? cli_password_tty(prompt, &in) :
					       cli_read_file("-", 4096, &in);
		if (r < 0)
			why = r == -E2BIG ? "the password is longer than 255 bytes" :
					    "cannot read the password from stdin";
		else
			pw = cli_password_value(buf_str(&in), in.len, &why);
		if (in.data != NULL)
			explicit_bzero(in.data, in.size);
		buf_clear(&in);
	} else {
		pw = cli_password_value(json_string_value(file_pw), json_string_length(file_pw),
					&why);
		cli_wipe_string(file_pw);
	}
	if (pw == NULL)
		return cli_fail(CLI_EXIT_FAIL, "%s: %s", cli_cmd_name(cmd, name, sizeof(name)),
				why);
	json_object_set_new(body, "password", pw);

	buf_fmt_msg(line, sizeof(line), "credential %.64s set (username %.128s)", a->pos[0],
		    json_string_value(json_object_get(body, "username")));
	rc = cli_res_send(c, cmd, "POST", "/api/v1/credentials", body, line);
	cli_wipe_string(pw);
	return rc;
}

/* ---- jobs ---- */

static json_int_t cli_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *cli_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

/* Seconds the job ran (to now when it still runs); -1 if unknown. */
static double cli_job_elapsed(const json_t *job)
{
	double t0, t1;
	if (cli_parse_time(cli_str(job, "started"), &t0) < 0)
		return -1;
	if (cli_parse_time(cli_str(job, "finished"), &t1) < 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		t1 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	return t1 >= t0 ? t1 - t0 : 0;
}

static int cli_job_done(const json_t *job)
{
	return strcmp(cli_str(job, "state"), "running") != 0;
}

static int cli_job_is_discovery(const json_t *job)
{
	return strcmp(cli_str(job, "type"), "discovery") == 0;
}

/* "power on", "boot pxe" or "discovery" for messages. */
static const char *cli_job_what(const json_t *job, char *out, size_t len)
{
	if (strcmp(cli_str(job, "type"), "power") == 0)
		buf_fmt_msg(out, len, "power %.16s", cli_str(job, "action"));
	else if (strcmp(cli_str(job, "type"), "boot") == 0)
		buf_fmt_msg(out, len, "boot pxe");
	else
		buf_fmt_msg(out, len, "%.32s", cli_str(job, "type"));
	return out;
}

/* The progress line: a bar for discovery, a count for control jobs. */
static void cli_job_progress(FILE *f, const json_t *job, double secs, int tty)
{
	char what[48];
	cli_job_what(job, what, sizeof(what));
	if (secs < 0)
		secs = 0;
	if (tty)
		fputc('\r', f);
	if (cli_job_is_discovery(job)) {
		json_int_t n = cli_int(job, "targets"), done = cli_int(job, "probed");
		if (tty) {
			int fill = n > 0 ? (int)(done * CLI_BAR_WIDTH / n) : CLI_BAR_WIDTH;
			fputc('[', f);
			for (int i = 0; i < CLI_BAR_WIDTH; i++)
				fputc(i < fill ? '#' : '.', f);
			fputs("] ", f);
		} else {
			fprintf(f, "discovery %" JSON_INTEGER_FORMAT ": ", cli_int(job, "id"));
		}
		fprintf(f,
			"%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT
			" probed, %" JSON_INTEGER_FORMAT " found, %.0f s",
			done, n, cli_int(job, "found"), secs);
	} else {
		fprintf(f, "%s: %zu node%s done, %.0f s", what,
			json_array_size(json_object_get(job, "nodes")),
			json_array_size(json_object_get(job, "nodes")) == 1 ? "" : "s", secs);
	}
	fputs(tty ? "\033[K" : "\n", f);
	fflush(f);
}

/*
 * Polls the job until it is done or timeout seconds have passed; *out is
 * the last state seen (new reference).  Progress goes to stdout unless
 * --json: a bar redrawn on a terminal, a line every few seconds otherwise.
 */
static int cli_job_wait(struct cli *c, const struct cli_cmd *cmd, json_t *job, long timeout,
			json_t **out)
{
	char path[64];
	json_int_t id = cli_int(job, "id");
	int tty = !c->json && isatty(STDOUT_FILENO);
	int lines = !c->json && !tty;
	if (buf_fmt(path, sizeof(path), "/api/v1/jobs/%" JSON_INTEGER_FORMAT, id) < 0)
		return cli_fail(CLI_EXIT_FAIL, "job %" JSON_INTEGER_FORMAT ": not a job ID", id);
	double t0 = cli_now(), last = t0;
	json_t *cur = json_incref(job);
	int rc = CLI_EXIT_OK;
	if (lines && cli_job_is_discovery(job))
		printf("discovery %" JSON_INTEGER_FORMAT " started: %" JSON_INTEGER_FORMAT
		       " addresses, concurrency %" JSON_INTEGER_FORMAT "\n",
		       id, cli_int(job, "targets"), cli_int(job, "concurrency"));
	while (!cli_job_done(cur)) {
		double t = cli_now();
		if (t - t0 >= (double)timeout) {
			if (tty)
				fputc('\n', stdout);
			fflush(stdout);
			char what[48];
			rc = cli_fail(CLI_EXIT_FAIL,
				      "%s: job %" JSON_INTEGER_FORMAT
				      " still running after %ld s; it goes on in corrald "
				      "('corral job wait %" JSON_INTEGER_FORMAT "' waits again)",
				      cli_job_what(cur, what, sizeof(what)), id, timeout, id);
			break;
		}
		cli_sleep(t - t0 < 2 ? 0.2 : 0.5);
		struct cli_reply r;
		cli_reply_init(&r);
		rc = cli_call(c, cmd, "GET", path, NULL, &r);
		if (rc == CLI_EXIT_OK && json_is_object(r.json)) {
			json_decref(cur);
			cur = json_incref(r.json);
		} else if (rc == CLI_EXIT_OK) {
			char name[64];
			rc = cli_fail(CLI_EXIT_FAIL,
				      "%s: job %" JSON_INTEGER_FORMAT ": reply is not a job",
				      cli_cmd_name(cmd, name, sizeof(name)), id);
		}
		cli_reply_clear(&r);
		if (rc != CLI_EXIT_OK) {
			if (tty)
				fputc('\n', stdout);
			fflush(stdout);
			break;
		}
		double secs = cli_job_elapsed(cur);
		if (tty) {
			cli_job_progress(stdout, cur, secs, 1);
		} else if (lines && cli_now() - last >= CLI_LINE_EVERY && !cli_job_done(cur)) {
			cli_job_progress(stdout, cur, secs, 0);
			last = cli_now();
		}
	}
	if (rc == CLI_EXIT_OK && tty) {
		cli_job_progress(stdout, cur, cli_job_elapsed(cur), 1);
		fputc('\n', stdout);
	}
	if (rc != CLI_EXIT_OK) {
		json_decref(cur);
		return rc;
	}
	*out = cur;
	return CLI_EXIT_OK;
}

/* "a, b, c, ... (+N more)" of an array of strings, at most CLI_NAMES_SHOWN. */
static int cli_names(struct buf *b, const json_t *names)
{
	size_t i, n = json_array_size(names);
	const json_t *v;
	int rc = 0;
	json_array_foreach(names, i, v) {
		if (i >= CLI_NAMES_SHOWN) {
			rc = buf_printf(b, " ... (+%zu more; --json lists all)", n - i);
			break;
		}
		rc = buf_printf(b, "%s%s", i ? ", " : "",
				json_string_value(v) ? json_string_value(v) : "?");
		if (rc < 0)
			break;
	}
	return rc;
}

/* A table of rows from arr: one column per field (NULL field: the row's index). */
static int cli_rows(const char *const *header, const char *const *fields, size_t ncols,
		    const json_t *const *rows, size_t nrows)
{
	struct cli_table *t = cli_table_new(ncols);
	struct buf cell[8];
	const char *cells[8];
	int rc = t != NULL && ncols <= 8 ? cli_table_add(t, header) : -ENOMEM;
	for (size_t i = 0; i < ncols && i < 8; i++)
		buf_init(&cell[i], 64 * 1024);
	for (size_t r = 0; r < nrows && rc == 0; r++) {
		for (size_t i = 0; i < ncols && rc == 0; i++) {
			buf_reset(&cell[i]);
			rc = cli_out_value(&cell[i], json_object_get(rows[r], fields[i]), NULL);
			cells[i] = buf_str(&cell[i]);
		}
		if (rc == 0)
			rc = cli_table_add(t, cells);
	}
	if (rc == 0)
		rc = cli_table_print(t, stdout);
	for (size_t i = 0; i < ncols && i < 8; i++)
		buf_clear(&cell[i]);
	cli_table_free(t);
	return rc;
}

/* The elements of an array that pass keep (NULL: all), as a new pointer array. */
static const json_t **cli_pick(const json_t *arr, int (*keep)(const json_t *), size_t *n)
{
	const json_t **out = calloc(json_array_size(arr) + 1, sizeof(*out));
	size_t i;
	const json_t *v;
	*n = 0;
	if (out == NULL)
		return NULL;
	json_array_foreach(arr, i, v)
		if (keep == NULL || keep(v))
			out[(*n)++] = v;
	return out;
}

/* After a blank line, a table of the elements of arr that pass keep; none: nothing. */
static int cli_pick_rows(const json_t *arr, int (*keep)(const json_t *), const char *const *header,
			 const char *const *fields, size_t ncols)
{
	size_t n;
	const json_t **rows = cli_pick(arr, keep, &n);
	if (rows == NULL)
		return -ENOMEM;
	int rc = 0;
	if (n > 0) {
		fputc('\n', stdout);
		rc = cli_rows(header, fields, ncols, rows, n);
	}
	free(rows);
	return rc;
}

static int cli_bmc_bad(const json_t *b)
{
	return strcmp(cli_str(b, "status"), "ok") != 0;
}

/* Prints the summary of a discovery job; *nbad, *nerr: failed BMCs, job errors. */
static int cli_discovery_summary(const json_t *job, size_t *nbad, size_t *nauth, size_t *nerr)
{
	const json_t *bmcs = json_object_get(job, "bmcs");
	const json_t *created = json_object_get(job, "nodes_created");
	const json_t *updated = json_object_get(job, "nodes_updated");
	const json_t *conflicts = json_object_get(job, "conflicts");
	const json_t *errors = json_object_get(job, "errors");
	size_t nok = 0, nau = 0, nfail = 0, i;
	const json_t *b;
	json_array_foreach(bmcs, i, b) {
		const char *s = cli_str(b, "status");
		if (strcmp(s, "ok") == 0)
			nok++;
		else if (strcmp(s, "auth_failed") == 0)
			nau++;
		else
			nfail++;
	}
	*nbad = nau + nfail;
	*nauth = nau;
	*nerr = json_array_size(errors);

	double secs = cli_job_elapsed(job);
	printf("discovery %" JSON_INTEGER_FORMAT " %s %.1f s: %" JSON_INTEGER_FORMAT
	       " of %" JSON_INTEGER_FORMAT " addresses probed, concurrency %" JSON_INTEGER_FORMAT
	       "\n",
	       cli_int(job, "id"), cli_job_done(job) ? "done in" : "running for",
	       secs < 0 ? 0 : secs, cli_int(job, "probed"), cli_int(job, "targets"),
	       cli_int(job, "concurrency"));
	printf("BMCs: %zu found: %zu ok, %zu auth_failed, %zu error\n", json_array_size(bmcs), nok,
	       nau, nfail);
	printf("nodes: %zu created, %zu updated; %zu conflicts; %zu errors\n",
	       json_array_size(created), json_array_size(updated), json_array_size(conflicts),
	       *nerr);
	struct buf line;
	buf_init(&line, 64 * 1024);
	int rc = 0;
	if (json_array_size(created) > 0 && (rc = cli_names(&line, created)) == 0)
		printf("created: %s\n", buf_str(&line));
	buf_reset(&line);
	if (rc == 0 && json_array_size(updated) > 0 && (rc = cli_names(&line, updated)) == 0)
		printf("updated: %s\n", buf_str(&line));
	buf_clear(&line);

	static const char *const bh[] = {"BMC", "PORT", "STATUS", "MESSAGE"};
	static const char *const bf[] = {"address", "port", "status", "message"};
	static const char *const ch[] = {"CONFLICT AT BMC", "SYSTEM", "NODE", "MESSAGE"};
	static const char *const cf[] = {"bmc", "system", "node", "message"};
	static const char *const eh[] = {"ERROR AT", "MESSAGE"};
	static const char *const ef[] = {"address", "message"};
	if (rc == 0)
		rc = cli_pick_rows(bmcs, cli_bmc_bad, bh, bf, 4);
	if (rc == 0)
		rc = cli_pick_rows(conflicts, NULL, ch, cf, 4);
	if (rc == 0)
		rc = cli_pick_rows(errors, NULL, eh, ef, 2);
	return rc;
}

static int cli_node_cmp(const void *x, const void *y)
{
	const json_t *a = *(const json_t *const *)x, *b = *(const json_t *const *)y;
	return strcmp(cli_str(a, "node"), cli_str(b, "node"));
}

/* NODE RESULT POWER MESSAGE for a power or boot job; *nfailed: nodes not ok. */
static int cli_control_summary(const json_t *job, size_t *nfailed, size_t *ntotal)
{
	const json_t *nodes = json_object_get(job, "nodes");
	size_t n, i;
	const json_t **rows = cli_pick(nodes, NULL, &n);
	if (rows == NULL)
		return -ENOMEM;
	qsort(rows, n, sizeof(*rows), cli_node_cmp);
	*ntotal = n;
	*nfailed = 0;
	struct cli_table *t = cli_table_new(4);
	static const char *const h[] = {"NODE", "RESULT", "POWER", "MESSAGE"};
	int rc = t != NULL ? cli_table_add(t, h) : -ENOMEM;
	struct buf msg;
	buf_init(&msg, 4096);
	for (i = 0; i < n && rc == 0; i++) {
		const json_t *o = rows[i];
		int ok = json_is_true(json_object_get(o, "ok"));
		const json_t *bo = json_object_get(o, "boot_override");
		const char *reset = json_string_value(json_object_get(o, "reset_type"));
		buf_reset(&msg);
		if (!ok) {
			(*nfailed)++;
			rc = buf_adds(&msg, cli_str(o, "message"));
		} else if (bo != NULL) {
			rc = buf_printf(&msg, "boot override %s %s", cli_str(bo, "target"),
					cli_str(bo, "enabled"));
			if (rc == 0 && reset != NULL)
				rc = buf_printf(&msg, ", then %s", reset);
		} else if (reset != NULL) {
			rc = buf_printf(&msg, "%s sent", reset);
		}
		const char *cells[4] = {cli_str(o, "node"), ok ? "ok" : "failed",
					cli_str(o, "power_state"), buf_str(&msg)};
		if (rc == 0)
			rc = cli_table_add(t, cells);
	}
	if (rc == 0 && n == 0)
		printf("no nodes: the groups named have no members\n");
	else if (rc == 0)
		rc = cli_table_print(t, stdout);
	buf_clear(&msg);
	cli_table_free(t);
	free(rows);
	return rc;
}

/* The summary of a finished (or running) job and its verdict as an exit code. */
static int cli_job_report(struct cli *c, const struct cli_cmd *cmd, const json_t *job)
{
	char what[48];
	cli_job_what(job, what, sizeof(what));
	if (c->json) {
		if (cli_out_json(job) < 0)
			return cli_fail(CLI_EXIT_FAIL, "cannot write output");
	}
	if (cli_job_is_discovery(job)) {
		size_t nbad = 0, nauth = 0, nerr = 0;
		if (!c->json && cli_discovery_summary(job, &nbad, &nauth, &nerr) < 0)
			return cli_fail(CLI_EXIT_FAIL, "cannot write output");
		if (c->json) {
			size_t i;
			const json_t *b;
			json_array_foreach(json_object_get(job, "bmcs"), i, b) {
				nbad += cli_bmc_bad(b);
				nauth += strcmp(cli_str(b, "status"), "auth_failed") == 0;
			}
			nerr = json_array_size(json_object_get(job, "errors"));
		}
		if (nbad > 0 || nerr > 0)
			return cli_fail(CLI_EXIT_FAIL,
					"discover: %zu BMC%s failed (%zu refused the credentials), "
					"%zu address%s answered without usable Redfish",
					nbad, nbad == 1 ? "" : "s", nauth, nerr,
					nerr == 1 ? "" : "es");
		return CLI_EXIT_OK;
	}
	size_t nfailed = 0, ntotal = 0;
	if (!c->json && cli_control_summary(job, &nfailed, &ntotal) < 0)
		return cli_fail(CLI_EXIT_FAIL, "cannot write output");
	if (c->json) {
		size_t i;
		const json_t *o;
		json_array_foreach(json_object_get(job, "nodes"), i, o) {
			ntotal++;
			nfailed += !json_is_true(json_object_get(o, "ok"));
		}
	}
	(void)cmd;
	if (nfailed > 0)
		return cli_fail(CLI_EXIT_FAIL, "%s: %zu of %zu node%s failed", what, nfailed,
				ntotal, ntotal == 1 ? "" : "s");
	return CLI_EXIT_OK;
}

/* --timeout and --no-wait of a job command. */
static int cli_job_opts(const struct cli_cmd *cmd, const struct cli_args *a, long deflt,
			long *timeout, int *nowait)
{
	long long v = deflt;
	const char *s = json_string_value(json_object_get(a->query, "timeout"));
	if (s != NULL && cli_parse_ll(s, 1, 86400 * 7, &v) < 0)
		return cli_usage(cmd, "--timeout: '%s' is not a number of seconds", s);
	*timeout = (long)v;
	*nowait = json_is_true(json_object_get(a->query, "no-wait"));
	return CLI_EXIT_OK;
}

/* After the 202 of a job command: wait (or not) and report. */
static int cli_job_follow(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a,
			  json_t *job, long deflt)
{
	char name[64], what[48];
	long timeout = deflt;
	int nowait = 0;
	int rc = cli_job_opts(cmd, a, deflt, &timeout, &nowait);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (!json_is_object(job) || !json_is_integer(json_object_get(job, "id")))
		return cli_fail(CLI_EXIT_FAIL, "%s: the reply holds no job",
				cli_cmd_name(cmd, name, sizeof(name)));
	if (nowait) {
		if (c->json)
			return cli_out_json(job) < 0 ?
				       cli_fail(CLI_EXIT_FAIL, "cannot write output") :
				       CLI_EXIT_OK;
		printf("%s job %" JSON_INTEGER_FORMAT
		       " started; 'corral job wait %" JSON_INTEGER_FORMAT "' waits for it\n",
		       cli_job_what(job, what, sizeof(what)), cli_int(job, "id"),
		       cli_int(job, "id"));
		return CLI_EXIT_OK;
	}
	json_t *done = NULL;
	rc = cli_job_wait(c, cmd, job, timeout, &done);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = cli_job_report(c, cmd, done);
	json_decref(done);
	return rc;
}

/* Positional arguments as a JSON array of strings into body[key]. */
static int cli_pos_array(const struct cli_cmd *cmd, const struct cli_args *a, json_t *body,
			 const char *key)
{
	json_t *arr = json_array();
	if (arr == NULL || json_object_set_new(body, key, arr) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	for (int i = 0; i < a->npos; i++) {
		json_t *s = json_string(a->pos[i]);
		if (s == NULL)
			return cli_usage(cmd, "'%s' is not valid UTF-8", a->pos[i]);
		if (json_array_append_new(arr, s) < 0)
			return cli_fail(CLI_EXIT_FAIL, "out of memory");
	}
	return CLI_EXIT_OK;
}

/* POSTs body to path (a job route) and follows the job. */
static int cli_job_start(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a,
			 const char *path, const json_t *body, long deflt)
{
	struct cli_reply r;
	cli_reply_init(&r);
	int rc = cli_call(c, cmd, "POST", path, body, &r);
	if (rc == CLI_EXIT_OK)
		rc = cli_job_follow(c, cmd, a, r.json, deflt);
	cli_reply_clear(&r);
	return rc;
}

int cli_cmd_discover(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	int rc = cli_pos_array(cmd, a, a->body, "targets");
	if (rc != CLI_EXIT_OK)
		return rc;
	return cli_job_start(c, cmd, a, "/api/v1/discovery", a->body, CLI_JOB_WAIT_DISCOVER);
}

int cli_cmd_power(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	int rc = cli_pos_array(cmd, a, a->body, "targets");
	if (rc != CLI_EXIT_OK)
		return rc;
	if (json_object_set_new(a->body, "action", json_string(cmd->verb)) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	return cli_job_start(c, cmd, a, "/api/v1/power", a->body, CLI_JOB_WAIT_CONTROL);
}

/*
 * Is there an object at base/name?  1 yes, 0 no (404); anything else is
 * reported through cli_call, whose exit code is returned (as a negative).
 */
static int cli_exists(struct cli *c, const struct cli_cmd *cmd, const char *base, const char *name,
		      json_t **obj)
{
	struct buf p;
	struct cli_reply r;
	buf_init(&p, CLI_PATH_MAX);
	cli_reply_init(&r);
	int rc;
	if (cli_path(&p, base, name, NULL) < 0) {
		rc = -cli_usage(cmd, "name too long: %.64s...", name);
	} else if (cli_http_request(c->http, "GET", buf_str(&p), NULL, &r) == 0 &&
		   (r.status == 200 || r.status == 404)) {
		rc = r.status == 200;
		if (rc && obj != NULL)
			*obj = json_incref(r.json);
	} else {
		/* Not a plain yes or no: let cli_call say what went wrong. */
		cli_reply_clear(&r);
		cli_reply_init(&r);
		rc = cli_call(c, cmd, "GET", buf_str(&p), NULL, &r);
		rc = rc == CLI_EXIT_OK ? -CLI_EXIT_FAIL : -rc;
	}
	cli_reply_clear(&r);
	buf_clear(&p);
	return rc;
}

/* Members of group that name a profile of their own other than prof. */
static int cli_group_overrides(struct cli *c, const struct cli_cmd *cmd, const char *group,
			       const char *prof)
{
	struct buf p;
	struct cli_reply r;
	buf_init(&p, CLI_PATH_MAX);
	cli_reply_init(&r);
	int rc = buf_adds(&p, "/api/v1/nodes?group=") == 0 && cli_http_escape(&p, group) == 0 ?
			 cli_call(c, cmd, "GET", buf_str(&p), NULL, &r) :
			 cli_usage(cmd, "group name too long");
	size_t i;
	const json_t *n;
	if (rc == CLI_EXIT_OK)
		json_array_foreach(cli_out_array(r.json, "nodes"), i, n) {
			const char *own = json_string_value(json_object_get(n, "profile"));
			if (own != NULL && own[0] != '\0' && strcmp(own, prof) != 0)
				printf("note: node %s keeps its own profile %s, which wins over group "
				       "%s's\n",
				       cli_str(n, "name"), own, group);
		}
	cli_reply_clear(&r);
	buf_clear(&p);
	return rc;
}

/*
 * --profile P of boot pxe: every target is checked first (a node, else a
 * group; P must exist), then each gets P, so a typo changes nothing.
 */
static int cli_assign_profile(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a,
			      const char *prof)
{
	char name[64], line[256];
	cli_cmd_name(cmd, name, sizeof(name));
	int rc = cli_exists(c, cmd, "/api/v1/profiles", prof, NULL);
	if (rc < 0)
		return -rc;
	if (rc == 0)
		return cli_fail(CLI_EXIT_FAIL,
				"%s: --profile: no profile named %s; nothing changed", name, prof);
	char *kind = calloc((size_t)a->npos + 1, 1); /* 'n' node, 'g' group */
	if (kind == NULL)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	rc = CLI_EXIT_OK;
	for (int i = 0; i < a->npos && rc == CLI_EXIT_OK; i++) {
		int e = cli_exists(c, cmd, "/api/v1/nodes", a->pos[i], NULL);
		if (e == 0)
			e = cli_exists(c, cmd, "/api/v1/groups", a->pos[i], NULL) > 0 ? 2 : e;
		if (e < 0)
			rc = -e;
		else if (e == 0)
			rc = cli_fail(CLI_EXIT_FAIL,
				      "%s: no node or group named %s; nothing changed", name,
				      a->pos[i]);
		else
			kind[i] = e == 1 ? 'n' : 'g';
	}
	json_t *patch = json_pack("{s:s}", "profile", prof);
	struct buf p;
	buf_init(&p, CLI_PATH_MAX);
	for (int i = 0; i < a->npos && rc == CLI_EXIT_OK; i++) {
		const char *base = kind[i] == 'n' ? "/api/v1/nodes" : "/api/v1/groups";
		buf_fmt_msg(line, sizeof(line), "profile %.64s assigned to %s %.64s", prof,
			    kind[i] == 'n' ? "node" : "group", a->pos[i]);
		if (patch == NULL || cli_path(&p, base, a->pos[i], NULL) < 0) {
			rc = cli_fail(CLI_EXIT_FAIL, "out of memory");
			break;
		}
		struct cli_reply r;
		cli_reply_init(&r);
		rc = cli_call(c, cmd, "PATCH", buf_str(&p), patch, &r);
		cli_reply_clear(&r);
		if (rc == CLI_EXIT_OK && !c->json)
			printf("%s\n", line);
		if (rc == CLI_EXIT_OK && !c->json && kind[i] == 'g')
			rc = cli_group_overrides(c, cmd, a->pos[i], prof);
	}
	buf_clear(&p);
	json_decref(patch);
	free(kind);
	return rc;
}

int cli_cmd_boot_pxe(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	int rc = cli_pos_array(cmd, a, a->body, "targets");
	if (rc != CLI_EXIT_OK)
		return rc;
	const char *prof = json_string_value(json_object_get(a->query, "profile"));
	if (prof != NULL && (rc = cli_assign_profile(c, cmd, a, prof)) != CLI_EXIT_OK)
		return rc;
	if (json_object_set_new(a->body, "target", json_string("pxe")) < 0)
		return cli_fail(CLI_EXIT_FAIL, "out of memory");
	return cli_job_start(c, cmd, a, "/api/v1/boot", a->body, CLI_JOB_WAIT_CONTROL);
}

int cli_cmd_job(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	long long id;
	char path[64];
	if (cli_parse_ll(a->pos[0], 1, 1000000000, &id) < 0)
		return cli_usage(cmd, "'%s' is not a job ID", a->pos[0]);
	if (buf_fmt(path, sizeof(path), "/api/v1/jobs/%lld", id) < 0)
		return cli_usage(cmd, "'%s' is not a job ID", a->pos[0]);
	struct cli_reply r;
	cli_reply_init(&r);
	int rc = cli_call(c, cmd, "GET", path, NULL, &r);
	if (rc == CLI_EXIT_OK && !json_is_object(r.json))
		rc = cli_fail(CLI_EXIT_FAIL, "job %lld: reply is not a job", id);
	if (rc == CLI_EXIT_OK && strcmp(cmd->verb, "wait") == 0) {
		rc = cli_job_follow(c, cmd, a, r.json, CLI_JOB_WAIT_DISCOVER);
	} else if (rc == CLI_EXIT_OK && c->json) {
		if (cli_out_json(r.json) < 0)
			rc = cli_fail(CLI_EXIT_FAIL, "cannot write output");
	} else if (rc == CLI_EXIT_OK) {
		char what[48];
		if (!cli_job_is_discovery(r.json))
			printf("%s job %lld: %s\n", cli_job_what(r.json, what, sizeof(what)), id,
			       cli_str(r.json, "state"));
		size_t x, y, z;
		int orc = cli_job_is_discovery(r.json) ? cli_discovery_summary(r.json, &x, &y, &z) :
							 cli_control_summary(r.json, &x, &y);
		if (orc < 0)
			rc = cli_fail(CLI_EXIT_FAIL, "cannot write output");
	}
	cli_reply_clear(&r);
	return rc;
}
