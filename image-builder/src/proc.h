/*
 * proc: child processes for the image builder, and its progress display.
 *
 * Every program (mmdebstrap, chroot, dracut, mksquashfs, ...) starts with
 * fork + execve and an argv array -- never a shell string -- in its own
 * process group, with a fixed environment, stdin from /dev/null and its
 * stdout+stderr read through a pipe into the build log.  While it runs, the
 * terminal shows the stage, the elapsed time and, when the program reports
 * a percentage (mksquashfs), a bar.  SIGINT/SIGTERM only set a flag
 * (proc_interrupted); a running child's group then gets SIGTERM and the
 * call returns -EINTR so the caller unwinds (mounts, temporary files).
 *
 * Module state: the log file descriptor and whether stdout is a terminal
 * (one build per process).
 *
 * Callers: corral-image.c (proc_init), build.c and mounts.c.
 */
#ifndef CORRAL_PROC_H
#define CORRAL_PROC_H

#include <stddef.h>

/* Installs the signal handlers; log_fd receives every child's output and
 * the stage lines (-1: none).  quiet: no progress on the terminal. */
void proc_init(int log_fd, int quiet);
void proc_set_log(int log_fd);
/* 1 once SIGINT or SIGTERM arrived. */
int proc_interrupted(void);

/* Starts a stage: prints "[stage] what" and remembers the start time. */
void proc_stage(const char *stage, const char *what);
/* Ends the current stage: prints its result and elapsed seconds; returns them. */
double proc_stage_done(const char *result);

/* Runs argv[0] (an absolute path) with argv.  out_path: when not NULL,
 * stdout goes to that file (created 0644) and only stderr to the log.
 * Returns 0 when it exited 0, -ECHILD (and *status) when it failed,
 * -EINTR when interrupted, other negative errno when it could not start.
 * The last lines of output are kept for proc_last_output(). */
int proc_run(const char *const argv[], const char *out_path);
/* The last few lines of the latest child's output (borrowed; until the
 * next proc_run). */
const char *proc_last_output(void);
/* Lines of the latest child's output that start with `prefix` (e.g. "E:"),
 * at most max bytes; borrowed like proc_last_output. */
const char *proc_output_lines(const char *prefix);

/* Counts a layer found in the store (a cache hit), for the step lines. */
void proc_cache_hit(void);
unsigned proc_cache_hits(void);

/* Appends a line to the log (not the terminal). */
void proc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Seconds since an arbitrary start (monotonic). */
double proc_now(void);

#endif
