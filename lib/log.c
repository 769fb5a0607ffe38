/*
 * log: leveled one-line messages on stderr.  See log.h.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_prog = "corral";
static enum log_level log_lvl = LOG_LVL_INFO;

void log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_lvl = level;
}

void log_set_level(enum log_level level)
{
	log_lvl = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void log_vemit(const char *tag, const char *err, const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s: %s", log_prog, tag);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2; /* truncated message: keep what fits */
	if (err != NULL) {
		int k = snprintf(line + len, sizeof(line) - len, ": %s", err);
		if (k > 0)
			len += (size_t)k < sizeof(line) - len ? (size_t)k : sizeof(line) - len - 1;
		if (len >= sizeof(line) - 1)
			len = sizeof(line) - 2;
	}
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w; /* nowhere left to report a failed log write */
}

#define LOG_BODY(lvl, tag, witherr)                                          \
	do {                                                                 \
		int saved = errno;                                           \
		if (log_lvl < (lvl))                                         \
			return;                                              \
		va_list ap;                                                  \
		va_start(ap, fmt);                                           \
		log_vemit(tag, (witherr) ? strerror(saved) : NULL, fmt, ap); \
		va_end(ap);                                                  \
		errno = saved;                                               \
	} while (0)

void log_warn(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, "warning: ", 1);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, "warning: ", 0);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, "", 0);
}

void log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, "debug: ", 0);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	log_vemit("fatal: ", strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vemit("fatal: ", NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
