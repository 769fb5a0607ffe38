/*
 * dhcpproc: the DHCP side's dealings with the operating system outside
 * its state directory: starting programs (dnsmasq, Kea, their tests) with
 * fork/execve from an argv array, bounded waits for them, and the checks a
 * reload makes on the host before it stops the running dnsmasq (does the
 * interface exist, is a port free on its addresses, which address does it
 * have).
 *
 * Callers: dhcp.c and kea.c only (its thread starts dnsmasq; the main thread runs
 * the checks and `--test` during a reload).  No state; any thread.
 */
#ifndef CORRAL_DHCPPROC_H
#define CORRAL_DHCPPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * fork/execve of argv (argv[0] a path) with envp, stdin from /dev/null,
 * stdout and stderr into out_fd, signal mask cleared, in a process group
 * of its own; it gets SIGTERM when the calling thread ends.  The child's
 * PID, or -errno.
 */
pid_t dhcpproc_spawn(char *const argv[], char *const envp[], int out_fd);
/* dhcpproc_spawn with its stdout and stderr on a new pipe, whose read end
 * (close-on-exec) goes to *out_fd; the pid or a negative errno. */
pid_t dhcpproc_spawn_piped(char *const argv[], char *const envp[], int *out_fd);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t dhcpproc_now_ms(void);
/* Waits for pid at most timeout_ms: its wait status, or -ETIMEDOUT (it is then killed). */
int dhcpproc_wait(pid_t pid, int64_t timeout_ms);
/*
 * Runs argv to its end (timeout_ms at most) with envp; the first line it
 * printed goes into out[outlen] (outlen > 0).  Its wait status, or -errno.
 */
int dhcpproc_run(char *const argv[], char *const envp[], int64_t timeout_ms, char *out,
		 size_t outlen);
/* As dhcpproc_run, keeping the last line printed (where Kea says why it failed). */
int dhcpproc_run_last(char *const argv[], char *const envp[], int64_t timeout_ms, char *out,
		      size_t outlen);
/* "exited with status N" or "killed by signal N" for a wait status. */
void dhcpproc_status_text(int status, char *out, size_t len);

/* 0 if the network interface exists, else -errno (-ENODEV: no such interface). */
int dhcpproc_iface_exists(const char *iface);
/*
 * -EADDRINUSE if another socket holds port (UDP, and TCP too when tcp) on
 * one of iface's addresses, bound as dnsmasq binds it (SO_REUSEADDR); 0 if
 * free or when it cannot be told (dnsmasq then says).
 */
int dhcpproc_port_in_use(const char *iface, unsigned port, bool tcp);

/* Removes every file in dir (not below it); what cannot be removed stays. */
void dhcpproc_empty_dir(const char *dir);
/*
 * dnsmasq drops to user nobody after start: every directory above its
 * state directory dir must let others through, or it fails at TFTP and
 * host files with "Permission denied" and restarts forever.  0, or
 * -EACCES with the one that does not in why.
 */
int dhcpproc_reachable(const char *dir, char *why, size_t len);
/* The lease hook's default: corral-dhcp-hook next to the running corrald,
 * else /usr/local/libexec/corral/corral-dhcp-hook. */
void dhcpproc_default_hook(char *hook, size_t len);
/*
 * iface's IPv4 address inside network/prefix (host order) into out: 0, or
 * -EADDRNOTAVAIL when it has none (Kea must name its TFTP server).
 */
int dhcpproc_iface_ipv4(const char *iface, unsigned network, unsigned prefix, char out[16]);

#endif
