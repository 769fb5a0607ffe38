/*
 * proc: fork/execve with argv arrays, output into the build log, progress
 * on the terminal.  See proc.h.
 *
 * Security: children get a fixed environment (PATH, locale, noninteractive
 * apt), never the caller's, and never a shell built from recipe text.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"

#define TAIL_MAX 16384 /* bytes of a child's output kept for error messages */

static volatile sig_atomic_t proc_sig;
static int proc_logfd = -1;
static int proc_tty;
static int proc_quiet;
static double stage_t0;
static char stage_name[64];
static char stage_what[160];
static int stage_pct = -1;
static char tail_buf[TAIL_MAX + 1];
static size_t tail_len;
static struct buf lines_out;

static const char *const child_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C.UTF-8",
	"DEBIAN_FRONTEND=noninteractive",
	"DEBCONF_NONINTERACTIVE_SEEN=true",
	"HOME=/root",
	"TMPDIR=/tmp",
	/* Debian's kernel hooks skip their generic initramfs: the builder
	 * makes its own live one (dracut, in the chroot) right after. */
	"INITRD=No",
	NULL,
};

static void on_signal(int sig)
{
	proc_sig = sig;
}

void proc_init(int log_fd, int quiet)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	proc_logfd = log_fd;
	proc_quiet = quiet;
	proc_tty = !quiet && isatty(STDOUT_FILENO);
	buf_init(&lines_out, 4096);
}

static unsigned cache_hits;

void proc_cache_hit(void)
{
	cache_hits++;
}

unsigned proc_cache_hits(void)
{
	return cache_hits;
}

void proc_set_log(int log_fd)
{
	proc_logfd = log_fd;
}

int proc_interrupted(void)
{
	return proc_sig != 0;
}

double proc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void log_write(const char *s, size_t n)
{
	if (proc_logfd >= 0)
		(void)fs_write_all(proc_logfd, s, n);
}

void proc_log(const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	buf_init(&b, 8192);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_addc(&b, '\n');
	log_write(buf_str(&b), b.len);
	buf_clear(&b);
}

/* The terminal's status line: stage, elapsed, a bar when a percentage is
 * known, else a spinner. */
static void status_draw(void)
{
	static const char spin[] = "|/-\\";
	static unsigned tick;
	char bar[32];
	if (!proc_tty)
		return;
	double el = proc_now() - stage_t0;
	if (stage_pct >= 0) {
		int filled = stage_pct * 20 / 100;
		for (int i = 0; i < 20; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[20] = '\0';
		printf("\r\033[K  %-10s %-40.40s [%s] %3d%% %6.1fs", stage_name, stage_what, bar,
		       stage_pct, el);
	} else {
		printf("\r\033[K  %-10s %-40.40s %c %6.1fs", stage_name, stage_what,
		       spin[tick++ % 4], el);
	}
	fflush(stdout);
}

void proc_stage(const char *stage, const char *what)
{
	/* For the status line and the log: a cut one ends in "...". */
	buf_fmt_msg(stage_name, sizeof(stage_name), "%s", stage);
	buf_fmt_msg(stage_what, sizeof(stage_what), "%s", what);
	stage_t0 = proc_now();
	stage_pct = -1;
	proc_log("==== stage %s: %s", stage, what);
	if (proc_tty)
		status_draw();
}

double proc_stage_done(const char *result)
{
	double el = proc_now() - stage_t0;
	proc_log("==== stage %s: %s (%.1f s)", stage_name, result, el);
	if (proc_quiet)
		return el;
	if (proc_tty)
		printf("\r\033[K");
	printf("  %-10s %-40.40s %-8s %6.1fs\n", stage_name, stage_what, result, el);
	fflush(stdout);
	return el;
}

/* mksquashfs draws "[====-   ] 1234/5678  21%": take the last percentage. */
static void scan_percent(const char *s, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		if (s[i] != '%')
			continue;
		size_t j = i;
		while (j > 0 && s[j - 1] >= '0' && s[j - 1] <= '9' && i - j < 3)
			j--;
		if (j < i) {
			int v = 0;
			for (size_t k = j; k < i; k++)
				v = v * 10 + (s[k] - '0');
			if (v <= 100)
				stage_pct = v;
			return;
		}
	}
}

static void tail_add(const char *s, size_t n)
{
	if (n >= TAIL_MAX) {
		s += n - TAIL_MAX;
		n = TAIL_MAX;
	}
	if (tail_len + n > TAIL_MAX) {
		size_t drop = tail_len + n - TAIL_MAX;
		memmove(tail_buf, tail_buf + drop, tail_len - drop);
		tail_len -= drop;
	}
	memcpy(tail_buf + tail_len, s, n);
	tail_len += n;
	tail_buf[tail_len] = '\0';
}

const char *proc_last_output(void)
{
	/* The last 12 lines. */
	size_t n = tail_len;
	int lines = 0;
	while (n > 0 && (tail_buf[n - 1] == '\n' || tail_buf[n - 1] == '\r'))
		n--;
	size_t i = n;
	while (i > 0 && lines < 12)
		if (tail_buf[--i] == '\n')
			lines++;
	return tail_buf + (i && tail_buf[i] == '\n' ? i + 1 : i);
}

const char *proc_output_lines(const char *prefix)
{
	size_t plen = strlen(prefix);
	buf_reset(&lines_out);
	for (const char *p = tail_buf; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n >= plen && strncmp(p, prefix, plen) == 0) {
			buf_add(&lines_out, p, n);
			buf_addc(&lines_out, '\n');
		}
		p += n + (e != NULL);
	}
	return buf_str(&lines_out);
}

int proc_run(const char *const argv[], const char *out_path)
{
	int pfd[2], outfd = -1, rc;
	pid_t pid;

	tail_len = 0;
	tail_buf[0] = '\0';
	{
		struct buf cmd;
		buf_init(&cmd, 4096);
		for (int i = 0; argv[i]; i++)
			buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
		proc_log("$ %s%s%s", buf_str(&cmd), out_path ? " > " : "",
			 out_path ? out_path : "");
		buf_clear(&cmd);
	}
	if (proc_sig)
		return -EINTR;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	if (out_path != NULL) {
		outfd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (outfd < 0) {
			rc = -errno;
			goto err_pipe;
		}
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto err_out;
	}
	if (pid == 0) {
		/* Child: own process group, so an interrupt can stop all of it. */
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(outfd >= 0 ? outfd : pfd[1], 1) < 0 ||
		    dup2(pfd[1], 2) < 0)
			_exit(126);
		execve(argv[0], (char *const *)argv, (char *const *)child_env);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	pfd[1] = -1;

	int status = 0, killed = 0, eof = 0, reaped = 0;
	double last_draw = 0, t_reaped = 0;
	for (;;) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		int n = eof ? 0 : poll(&p, 1, 200);
		if (n > 0) {
			char chunk[8192];
			ssize_t r = read(pfd[0], chunk, sizeof(chunk));
			if (r > 0) {
				log_write(chunk, (size_t)r);
				tail_add(chunk, (size_t)r);
				scan_percent(chunk, (size_t)r);
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				eof = 1;
			}
		}
		if (proc_sig && !killed && !reaped) {
			proc_log("interrupted (signal %d): stopping %s", (int)proc_sig, argv[0]);
			kill(-pid, SIGTERM);
			killed = 1;
		}
		if (!reaped) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid || (w < 0 && errno != EINTR)) {
				reaped = 1;
				t_reaped = proc_now();
			}
		}
		/* Done when the child is gone and its output drained; a daemon it
		 * left holding the pipe does not keep us waiting past a second. */
		if (reaped && (eof || proc_now() - t_reaped > 1.0))
			break;
		if (eof && !reaped)
			usleep(50000);
		if (proc_now() - last_draw > 0.25) {
			status_draw();
			last_draw = proc_now();
		}
	}
	if (killed)
		rc = -EINTR;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else {
		rc = -ECHILD;
		if (WIFEXITED(status))
			proc_log("%s exited %d", argv[0], WEXITSTATUS(status));
		else
			proc_log("%s killed by signal %d", argv[0], WTERMSIG(status));
	}
	if (proc_sig && rc == -ECHILD)
		rc = -EINTR;
err_out:
	if (outfd >= 0)
		close(outfd);
err_pipe:
	close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return rc;
}
