/*
 * cli_conf: where the CLI finds its server, its token, and how it checks
 * the server's certificate.
 *
 * Each of url, token, ca_file and fingerprint is taken, in order, from the
 * command-line flag (--url, --token, --ca-file, --fingerprint), the
 * environment (CORRAL_URL, CORRAL_TOKEN, CORRAL_CA_FILE,
 * CORRAL_FINGERPRINT; empty counts as unset), the file
 * $XDG_CONFIG_HOME/corral/cli.conf (default ~/.config/corral/cli.conf)
 * and, for url only, CLI_DEFAULT_URL.  The file holds "url = ...",
 * "token = ...", "ca_file = ..." and "fingerprint = ..." lines, '#'
 * comments and blank lines; it is read only when something is missing,
 * and a missing file is not an error.  A fingerprint must be
 * "sha256:" and 64 hex digits (':' between bytes allowed) and needs an
 * https:// URL: pinning a key over plain HTTP would promise what it
 * cannot keep.  Security: the file holds a secret; it should be mode 0600.
 *
 * Callers: corral.c's main only, before the first request.
 */
#ifndef CORRAL_CLI_CONF_H
#define CORRAL_CLI_CONF_H

/* What the command line said; each may be NULL. */
struct cli_flags {
	const char *url;
	const char *token;
	const char *ca_file;
	const char *fingerprint;
};

struct cli_conf {
	char *url;         /* without trailing '/'; owned */
	char *token;       /* NULL when none was found; owned */
	char *ca_file;     /* CA bundle for the server's certificate; NULL: the system's */
	char *fingerprint; /* "sha256:<64 hex>", lower case, no ':'; NULL: none */
};

/*
 * Resolves the four.  Returns CLI_EXIT_OK or the exit code of the one
 * error it printed (a bad file, a URL that is not http:// or https://, a
 * malformed fingerprint or one with an http:// URL).  cli_conf_clear() in
 * every case.
 */
int cli_conf_load(const struct cli_flags *flags, struct cli_conf *out);
/*
 * "sha256:" and 64 hex digits, in either case, with or without ':' between
 * bytes (as `corrald cert`, browsers and openssl print them), into
 * "sha256:<64 lower-case hex>" in out.  0, or -EINVAL.
 */
#define CLI_FP_LEN 71
int cli_conf_fingerprint(const char *in, char out[CLI_FP_LEN + 1]);
void cli_conf_clear(struct cli_conf *c);

#endif
