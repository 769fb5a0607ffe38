/*
 * dhcpproc: programs and host checks for the DHCP side.  See dhcpproc.h.
 *
 * Security: programs start from an argv array (never a shell) and inherit
 * only stdin (/dev/null), stdout and stderr; every other descriptor
 * corrald opens is close-on-exec.
 */
#include "dhcpproc.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t dhcpproc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t dhcpproc_spawn(char *const argv[], char *const envp[], int out_fd)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Only async-signal-safe calls here: corrald has threads. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(out_fd, 1);
		dup2(out_fd, 2);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	return pid;
}

int dhcpproc_wait(pid_t pid, int64_t timeout_ms)
{
	int64_t deadline = dhcpproc_now_ms() + timeout_ms;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (dhcpproc_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -ETIMEDOUT;
		}
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
}

int dhcpproc_run(char *const argv[], char *const envp[], int64_t timeout_ms, char *out,
		 size_t outlen)
{
	int pipefd[2];
	size_t len = 0;
	if (outlen == 0)
		return -EINVAL;
	out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = dhcpproc_spawn(argv, envp, pipefd[1]);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return pid;
	}
	/* Its output until it closes it (or the time is up), as much as fits. */
	int64_t deadline = dhcpproc_now_ms() + timeout_ms;
	struct pollfd p = {pipefd[0], POLLIN, 0};
	char chunk[512];
	for (;;) {
		int64_t left = deadline - dhcpproc_now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t r = read(pipefd[0], chunk, sizeof(chunk));
		if (r <= 0)
			break;
		size_t take = (size_t)r < outlen - 1 - len ? (size_t)r : outlen - 1 - len;
		memcpy(out + len, chunk, take);
		len += take;
	}
	close(pipefd[0]);
	out[len] = '\0';
	out[strcspn(out, "\n")] = '\0';
	int64_t left = deadline - dhcpproc_now_ms();
	return dhcpproc_wait(pid, left > 0 ? left : 0);
}

void dhcpproc_status_text(int status, char *out, size_t len)
{
	int n = WIFEXITED(status) ?
			snprintf(out, len, "exited with status %d", WEXITSTATUS(status)) :
			snprintf(out, len, "killed by signal %d",
				 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	if ((n < 0 || (size_t)n >= len) && len > 0)
		out[0] = '\0';
}

int dhcpproc_iface_exists(const char *iface)
{
	return if_nametoindex(iface) != 0 ? 0 : -errno;
}

/* -EADDRINUSE if something holds port (type: SOCK_STREAM or SOCK_DGRAM) on sa. */
static int dhcpproc_port_taken(const struct sockaddr *sa, int type, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len =
		sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memcpy(&ss, sa, len);
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	int fd = socket(sa->sa_family, type | SOCK_CLOEXEC, 0), one = 1, rc = 0;
	if (fd < 0)
		return 0;
	/* as dnsmasq binds them: a port left in TIME_WAIT is no obstacle */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
	    bind(fd, (struct sockaddr *)&ss, len) < 0 && errno == EADDRINUSE)
		rc = -EADDRINUSE;
	close(fd);
	return rc;
}

int dhcpproc_port_in_use(const char *iface, unsigned port, bool tcp)
{
	struct ifaddrs *ifa, *i;
	int rc = 0;
	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i != NULL && rc == 0; i = i->ifa_next) {
		if (i->ifa_addr == NULL || strcmp(i->ifa_name, iface) != 0 ||
		    (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		rc = dhcpproc_port_taken(i->ifa_addr, SOCK_DGRAM, port);
		if (rc == 0 && tcp)
			rc = dhcpproc_port_taken(i->ifa_addr, SOCK_STREAM, port);
	}
	freeifaddrs(ifa);
	return rc;
}
