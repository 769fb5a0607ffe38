/*
 * log: one place for the daemons' diagnostics (corrald, corral-vbmc).
 *
 * Everything goes to stderr (journald picks it up under systemd), one line
 * per message, prefixed by the level.  Verbs follow OpenBSD's daemons:
 * log_warn appends strerror(errno), log_warnx does not; fatal/fatalx exit.
 * Thread-safe: each message is written with one write(2).
 * Never pass secrets (tokens, passwords) to these functions.
 *
 * Callers: any program may; corrald, corral-vbmc and the tests do (the
 * CLI and corral-image print their own messages).
 */
#ifndef CORRAL_LOG_H
#define CORRAL_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the program name printed in front of every line and the level. */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
