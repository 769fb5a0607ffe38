/*
 * Unit tests for cli_conf: where the CLI finds its server and token.
 * Precedence flag > CORRAL_URL/CORRAL_TOKEN (empty = unset) > cli.conf >
 * the default URL, for url and token independently; the file is read only
 * when something is missing; $XDG_CONFIG_HOME (absolute only) over
 * ~/.config; the file's syntax (comments, blanks, spaces, CRLF, quotes,
 * case of keys, '=' inside a value, the last line winning, empty values
 * ignored); trailing '/' stripped; and every refusal as one stderr line
 * with its exit code: a line without '=', an unknown key (both naming
 * path:line), a URL that is not http(s), a file that cannot be read or is
 * too large.
 *
 * HOME, XDG_CONFIG_HOME, CORRAL_URL and CORRAL_TOKEN are pointed at a fresh
 * temporary directory for the run and restored afterwards.  Not covered: an
 * unreadable file (the tests may run as root, who reads anything) and out
 * of memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_conf.h"
#include "cli_core.h"

#define CAPTURE_STREAMS CAPTURE_STDERR /* only stderr is checked here */
#include "capture.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const env_names[] = {"HOME",         "XDG_CONFIG_HOME", "CORRAL_URL",
					"CORRAL_TOKEN", "CORRAL_CA_FILE",  "CORRAL_FINGERPRINT"};
static char *saved_env[NELEM(env_names)];
static char tmpdir[64];
static char home_dir[96], xdg_dir[96];
static char home_conf[160], xdg_conf[160];

/* ---- environment and files -------------------------------------------- */

static void mkdirs(const char *path)
{
	char p[256];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0700);
			*s = '/';
		}
	}
	mkdir(p, 0700);
}

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(env_names); i++) {
		const char *v = getenv(env_names[i]);
		saved_env[i] = v != NULL ? strdup(v) : NULL;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cli_test_conf.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(home_dir, sizeof(home_dir), "%s/home", tmpdir);
	snprintf(xdg_dir, sizeof(xdg_dir), "%s/xdg", tmpdir);
	snprintf(home_conf, sizeof(home_conf), "%s/.config/corral/cli.conf", home_dir);
	snprintf(xdg_conf, sizeof(xdg_conf), "%s/corral/cli.conf", xdg_dir);
	return 0;
}

static int teardown(void **state)
{
	char p[256];

	(void)state;
	for (size_t i = 0; i < NELEM(env_names); i++) {
		if (saved_env[i] != NULL)
			setenv(env_names[i], saved_env[i], 1);
		else
			unsetenv(env_names[i]);
		free(saved_env[i]);
	}
	/* Remove what the tests made, file by file (no shell). */
	const char *files[] = {home_conf, xdg_conf};
	for (size_t i = 0; i < NELEM(files); i++) {
		unlink(files[i]);
		rmdir(files[i]); /* one test makes it a directory */
	}
	snprintf(p, sizeof(p), "%s/.config/corral", home_dir);
	unlink(p);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/.config", home_dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/corral", xdg_dir);
	rmdir(p);
	rmdir(home_dir);
	rmdir(xdg_dir);
	rmdir(tmpdir);
	return 0;
}

/* Sets or unsets (NULL) one variable. */
static void env(const char *name, const char *val)
{
	if (val != NULL)
		assert_int_equal(setenv(name, val, 1), 0);
	else
		assert_int_equal(unsetenv(name), 0);
}

static void write_file(const char *path, const char *text)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* A clean slate: HOME set, no XDG, no CORRAL_*, no files. */
static void reset(void)
{
	env("HOME", home_dir);
	env("XDG_CONFIG_HOME", NULL);
	env("CORRAL_URL", NULL);
	env("CORRAL_TOKEN", NULL);
	env("CORRAL_CA_FILE", NULL);
	env("CORRAL_FINGERPRINT", NULL);
	unlink(home_conf);
	rmdir(home_conf);
	unlink(xdg_conf);
	mkdirs(home_dir);
}

/* tmpl with every '@' replaced by path. */
static void expand(char *out, size_t len, const char *tmpl, const char *path)
{
	size_t n = 0;

	for (const char *p = tmpl; *p != '\0' && n + 1 < len; p++) {
		if (*p == '@') {
			size_t k = strlen(path);
			assert_true(n + k + 1 < len);
			memcpy(out + n, path, k);
			n += k;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static const struct cli_flags no_flags = {NULL, NULL, NULL, NULL};

/* ---- precedence and syntax -------------------------------------------- */

enum where { NOFILE, HOMEFILE, XDGFILE };

struct conf_case {
	const char *name;
	const char *flag_url, *flag_token;
	const char *env_url, *env_token; /* NULL: unset */
	enum where where;
	const char *file;
	int rc;
	const char *url, *token; /* wanted when rc is 0 (token NULL: none) */
	const char *err;         /* wanted stderr; '@' is the file's path */
};

static const struct conf_case conf_cases[] = {
	{"nothing anywhere: the default URL, no token", NULL, NULL, NULL, NULL, NOFILE, NULL, 0,
	 CLI_DEFAULT_URL, NULL, ""},
	{"file only", NULL, NULL, NULL, NULL, HOMEFILE, "url = http://f:1\ntoken = ftok\n", 0,
	 "http://f:1", "ftok", ""},
	{"environment over file", NULL, NULL, "http://e:2", "etok", HOMEFILE,
	 "url = http://f:1\ntoken = ftok\n", 0, "http://e:2", "etok", ""},
	{"flags over environment and file", "http://g:3", "gtok", "http://e:2", "etok", HOMEFILE,
	 "url = http://f:1\ntoken = ftok\n", 0, "http://g:3", "gtok", ""},
	{"each one on its own: url flag, token env", "http://g:3", NULL, "http://e:2", "etok",
	 HOMEFILE, "url = http://f:1\ntoken = ftok\n", 0, "http://g:3", "etok", ""},
	{"each one on its own: url env, token file", NULL, NULL, "http://e:2", NULL, HOMEFILE,
	 "url = http://f:1\ntoken = ftok\n", 0, "http://e:2", "ftok", ""},
	{"each one on its own: token flag, url file", NULL, "gtok", NULL, NULL, HOMEFILE,
	 "url = http://f:1\ntoken = ftok\n", 0, "http://f:1", "gtok", ""},
	{"empty variables count as unset", NULL, NULL, "", "", HOMEFILE,
	 "url = http://f:1\ntoken = ftok\n", 0, "http://f:1", "ftok", ""},
	{"an empty flag is still a flag", "http://g:3", "", "http://e:2", "etok", NOFILE, NULL, 0,
	 "http://g:3", "", ""},
	{"file url missing: the default", NULL, NULL, NULL, NULL, HOMEFILE, "token = ftok\n", 0,
	 CLI_DEFAULT_URL, "ftok", ""},
	{"XDG_CONFIG_HOME over HOME", NULL, NULL, NULL, NULL, XDGFILE,
	 "url = http://x:4\ntoken = xtok\n", 0, "http://x:4", "xtok", ""},
	{"syntax: comments, blanks, spaces, tabs, CRLF, case, quotes", NULL, NULL, NULL, NULL,
	 HOMEFILE,
	 "# corral CLI\r\n"
	 "\r\n"
	 "   # indented comment\n"
	 "\t URL\t=\t  \"http://q:5\"  \r\n"
	 "Token='a b c'\n",
	 0, "http://q:5", "a b c", ""},
	{"'=' inside a value (base64 padding) is kept", NULL, NULL, NULL, NULL, HOMEFILE,
	 "token = YWJj==\n", 0, CLI_DEFAULT_URL, "YWJj==", ""},
	{"the last line wins; an empty value is ignored", NULL, NULL, NULL, NULL, HOMEFILE,
	 "url = http://a:1\nurl = http://b:2\ntoken = t1\ntoken =\n", 0, "http://b:2", "t1", ""},
	{"no final newline", NULL, NULL, NULL, NULL, HOMEFILE, "token = last", 0, CLI_DEFAULT_URL,
	 "last", ""},
	{"an empty file", NULL, NULL, NULL, NULL, HOMEFILE, "", 0, CLI_DEFAULT_URL, NULL, ""},
	{"trailing slashes stripped (file)", NULL, NULL, NULL, NULL, HOMEFILE,
	 "url = http://f:1/base//\n", 0, "http://f:1/base", NULL, ""},
	{"trailing slash stripped (flag)", "https://g/", NULL, NULL, NULL, NOFILE, NULL, 0,
	 "https://g", NULL, ""},
	{"scheme in any case", "HTTPS://G:1", NULL, NULL, NULL, NOFILE, NULL, 0, "HTTPS://G:1",
	 NULL, ""},
	/* errors */
	{"a line without '='", NULL, NULL, NULL, NULL, HOMEFILE,
	 "url = http://f:1\n# fine\nthis is not a setting\ntoken = t\n", CLI_EXIT_USAGE, NULL, NULL,
	 "corral: @:3: expected 'key = value'\n"},
	{"an unknown key", NULL, NULL, NULL, NULL, HOMEFILE, "url = http://f:1\nserver = x\n",
	 CLI_EXIT_USAGE, NULL, NULL,
	 "corral: @:2: unknown key 'server' (url, token, ca_file, fingerprint)\n"},
	{"an unknown key counts with CRLF line ends", NULL, NULL, NULL, NULL, HOMEFILE,
	 "\r\n\r\ntokn = x\r\n", CLI_EXIT_USAGE, NULL, NULL,
	 "corral: @:3: unknown key 'tokn' (url, token, ca_file, fingerprint)\n"},
	{"an unknown key is refused even when its value is not needed", NULL, NULL, "http://e:2",
	 NULL, HOMEFILE, "uri = http://f:1\n", CLI_EXIT_USAGE, NULL, NULL,
	 "corral: @:1: unknown key 'uri' (url, token, ca_file, fingerprint)\n"},
	/* The file may hold the TLS settings, so it is read (test_tls_settings
	 * shows it is not when every one of the four is given). */
	{"a bad file is read for the TLS settings when flags give url and token", "http://g:3",
	 "gtok", NULL, NULL, HOMEFILE, "garbage\n", CLI_EXIT_USAGE, NULL, NULL,
	 "corral: @:1: expected 'key = value'\n"},
	{"a URL that is not http(s) (file)", NULL, NULL, NULL, NULL, HOMEFILE, "url = ftp://f/\n",
	 CLI_EXIT_USAGE, NULL, NULL, "corral: server URL 'ftp://f/' is not http:// or https://\n"},
	{"a URL without a scheme (flag)", "127.0.0.1:8080", NULL, NULL, NULL, NOFILE, NULL,
	 CLI_EXIT_USAGE, NULL, NULL,
	 "corral: server URL '127.0.0.1:8080' is not http:// or https://\n"},
	{"a URL that is not http(s) (environment)", NULL, NULL, "file:///etc/passwd", NULL, NOFILE,
	 NULL, CLI_EXIT_USAGE, NULL, NULL,
	 "corral: server URL 'file:///etc/passwd' is not http:// or https://\n"},
};

static void test_load(void **state)
{
	char want_err[512];

	(void)state;
	for (size_t i = 0; i < NELEM(conf_cases); i++) {
		const struct conf_case *c = &conf_cases[i];
		struct cli_conf conf;
		const char *path = c->where == XDGFILE ? xdg_conf : home_conf;

		reset();
		if (c->where == XDGFILE)
			env("XDG_CONFIG_HOME", xdg_dir);
		if (c->where != NOFILE)
			write_file(path, c->file);
		env("CORRAL_URL", c->env_url);
		env("CORRAL_TOKEN", c->env_token);

		capture_start();
		int rc = cli_conf_load(&(struct cli_flags){c->flag_url, c->flag_token, NULL, NULL},
				       &conf);
		const char *err = capture_end();

		expand(want_err, sizeof(want_err), c->err, path);
		if (rc != c->rc)
			fail_msg("%s: rc %d, want %d (stderr: %s)", c->name, rc, c->rc, err);
		if (strcmp(err, want_err) != 0)
			fail_msg("%s: stderr \"%s\", want \"%s\"", c->name, err, want_err);
		if (rc == 0 && (conf.url == NULL || strcmp(conf.url, c->url) != 0))
			fail_msg("%s: url \"%s\", want \"%s\"", c->name, conf.url, c->url);
		if (rc == 0 &&
		    (c->token == NULL ? conf.token != NULL :
					conf.token == NULL || strcmp(conf.token, c->token) != 0))
			fail_msg("%s: token \"%s\", want \"%s\"", c->name,
				 conf.token ? conf.token : "(null)",
				 c->token ? c->token : "(null)");
		cli_conf_clear(&conf);
		assert_null(conf.url);
		assert_null(conf.token);
	}
}

/* A relative XDG_CONFIG_HOME is ignored (XDG spec): ~/.config is used. */
static void test_relative_xdg(void **state)
{
	struct cli_conf conf;

	(void)state;
	reset();
	write_file(home_conf, "url = http://home:1\n");
	write_file(xdg_conf, "url = http://xdg:1\n");
	env("XDG_CONFIG_HOME", "relative/dir");
	assert_int_equal(cli_conf_load(&no_flags, &conf), 0);
	assert_string_equal(conf.url, "http://home:1");
	cli_conf_clear(&conf);

	/* An absolute one with no file in it: no error, the default, and
	   ~/.config is not consulted instead. */
	env("XDG_CONFIG_HOME", tmpdir);
	assert_int_equal(cli_conf_load(&no_flags, &conf), 0);
	assert_string_equal(conf.url, CLI_DEFAULT_URL);
	cli_conf_clear(&conf);
}

/* No HOME and no XDG_CONFIG_HOME: nowhere to look, which is not an error. */
static void test_no_home(void **state)
{
	struct cli_conf conf;

	(void)state;
	reset();
	env("HOME", NULL);
	capture_start();
	int rc = cli_conf_load(&no_flags, &conf);
	const char *err = capture_end();
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
	assert_string_equal(conf.url, CLI_DEFAULT_URL);
	assert_null(conf.token);
	cli_conf_clear(&conf);
}

/* The path is a directory, its parent a file, the file over 64 KiB. */
static void test_unreadable(void **state)
{
	struct cli_conf conf;
	char want[512];

	(void)state;
	reset();
	mkdirs(home_conf);
	capture_start();
	int rc = cli_conf_load(&no_flags, &conf);
	const char *err = capture_end();
	assert_int_equal(rc, CLI_EXIT_USAGE);
	expand(want, sizeof(want), "corral: cannot read @: Is a directory\n", home_conf);
	assert_string_equal(err, want);
	cli_conf_clear(&conf);
	rmdir(home_conf);

	/* ~/.config/corral is a file: as good as no config file. */
	char corral_dir[256];
	snprintf(corral_dir, sizeof(corral_dir), "%s/.config/corral", home_dir);
	rmdir(corral_dir);
	write_file(corral_dir, "not a directory\n");
	assert_int_equal(cli_conf_load(&no_flags, &conf), 0);
	assert_string_equal(conf.url, CLI_DEFAULT_URL);
	cli_conf_clear(&conf);
	unlink(corral_dir);

	/* Over 64 KiB: refused, not cut. */
	size_t big = 64 * 1024 + 1;
	char *text = malloc(big + 1);
	assert_non_null(text);
	memset(text, '#', big);
	text[big] = '\0';
	write_file(home_conf, text);
	free(text);
	capture_start();
	rc = cli_conf_load(&no_flags, &conf);
	err = capture_end();
	assert_int_equal(rc, CLI_EXIT_USAGE);
	expand(want, sizeof(want), "corral: cannot read @: file too large\n", home_conf);
	assert_string_equal(err, want);
	cli_conf_clear(&conf);

	/* Exactly 64 KiB of comments is fine. */
	text = malloc(64 * 1024 + 1);
	assert_non_null(text);
	memset(text, '#', 64 * 1024);
	text[64 * 1024] = '\0';
	write_file(home_conf, text);
	free(text);
	assert_int_equal(cli_conf_load(&no_flags, &conf), 0);
	cli_conf_clear(&conf);
}

/* cli_conf_clear twice, or on a cleared struct, is harmless. */
static void test_clear(void **state)
{
	struct cli_conf conf;

	(void)state;
	reset();
	assert_int_equal(cli_conf_load(&(struct cli_flags){NULL, "secret", "/ca.pem", NULL}, &conf),
			 0);
	assert_string_equal(conf.ca_file, "/ca.pem");
	assert_string_equal(conf.token, "secret");
	cli_conf_clear(&conf);
	cli_conf_clear(&conf);
	assert_null(conf.url);
	assert_null(conf.token);
	assert_null(conf.ca_file);
	assert_null(conf.fingerprint);
}

/* ---- the TLS settings: --ca-file, --fingerprint ---------------------------- */

#define FP_HEX "3d01e66ce7c940fcab67923aacdd832afb221a0438ea83e9850148c4fd60e47b"
#define FP "sha256:" FP_HEX

static void test_fingerprint_forms(void **state)
{
	static const struct {
		const char *in;
		int ok;
	} cases[] = {
		{FP, 1},
		{"SHA256:" FP_HEX, 1},
		/* upper case with ':' between bytes, as browsers and openssl show it */
		{"sha256:3D:01:E6:6C:E7:C9:40:FC:AB:67:92:3A:AC:DD:83:2A:FB:22:1A:04:38:EA:83:E9:85:01:"
		 "48:C4:FD:60:E4:7B",
		 1},
		{"sha1:" FP_HEX, 0},
		{FP_HEX, 0},
		{"sha256:" FP_HEX "00", 0},
		{"sha256:3d01", 0},
		{"sha256:" FP_HEX ":", 0},
		{"sha256::3d", 0},
		{"sha256:zz01e66ce7c940fcab67923aacdd832afb221a0438ea83e9850148c4fd60e47b", 0},
		{"", 0},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char out[CLI_FP_LEN + 1];
		int rc = cli_conf_fingerprint(cases[i].in, out);
		if ((rc == 0) != cases[i].ok)
			fail_msg("%s: rc %d", cases[i].in, rc);
		if (rc == 0 && strcmp(out, FP) != 0)
			fail_msg("%s: %s", cases[i].in, out);
	}
}

static void test_tls_settings(void **state)
{
	struct cli_conf conf;
	(void)state;

	/* file only; then the environment over it; then the flags over both */
	reset();
	write_file(home_conf, "url = https://f:1\nca_file = /f.pem\nfingerprint = " FP "\n");
	assert_int_equal(cli_conf_load(&no_flags, &conf), 0);
	assert_string_equal(conf.ca_file, "/f.pem");
	assert_string_equal(conf.fingerprint, FP);
	cli_conf_clear(&conf);
	env("CORRAL_CA_FILE", "/e.pem");
	env("CORRAL_FINGERPRINT", "SHA256:" FP_HEX);
	assert_int_equal(cli_conf_load(&no_flags, &conf), 0);
	assert_string_equal(conf.ca_file, "/e.pem");
	assert_string_equal(conf.fingerprint, FP); /* normalised */
	cli_conf_clear(&conf);
	const char *other =
		"sha256:0001e66ce7c940fcab67923aacdd832afb221a0438ea83e9850148c4fd60e47b";
	assert_int_equal(cli_conf_load(&(struct cli_flags){NULL, NULL, "/g.pem", other}, &conf), 0);
	assert_string_equal(conf.ca_file, "/g.pem");
	assert_string_equal(conf.fingerprint, other);
	cli_conf_clear(&conf);

	/* all four given: a bad file is not read */
	reset();
	write_file(home_conf, "garbage\n");
	assert_int_equal(cli_conf_load(&(struct cli_flags){"https://g", "t", "/g.pem", FP}, &conf),
			 0);
	cli_conf_clear(&conf);

	/* a malformed fingerprint, and one with an http:// URL, are refused */
	reset();
	capture_start();
	int rc = cli_conf_load(&(struct cli_flags){"https://g", NULL, NULL, "sha256:abc"}, &conf);
	const char *err = capture_end();
	assert_int_equal(rc, CLI_EXIT_USAGE);
	assert_string_equal(err,
			    "corral: fingerprint 'sha256:abc' is not sha256: and 64 hex digits "
			    "(corrald cert shows it)\n");
	cli_conf_clear(&conf);
	capture_start();
	rc = cli_conf_load(&(struct cli_flags){"http://g:8080", NULL, NULL, FP}, &conf);
	err = capture_end();
	assert_int_equal(rc, CLI_EXIT_USAGE);
	assert_string_equal(err, "corral: a fingerprint needs an https:// server URL, not "
				 "http://g:8080\n");
	cli_conf_clear(&conf);
	/* a CA file with an http:// URL is harmless: there is nothing to verify */
	assert_int_equal(
		cli_conf_load(&(struct cli_flags){"http://g:8080", NULL, "/g.pem", NULL}, &conf),
		0);
	cli_conf_clear(&conf);
	/* the default URL is the operator listener, over HTTPS */
	assert_int_equal(strncmp(CLI_DEFAULT_URL, "https://", 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),         cmocka_unit_test(test_relative_xdg),
		cmocka_unit_test(test_no_home),      cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_clear),        cmocka_unit_test(test_fingerprint_forms),
		cmocka_unit_test(test_tls_settings),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
