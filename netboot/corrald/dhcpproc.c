/*
 * dhcpproc: programs and host checks for the DHCP side.  See dhcpproc.h.
 *
 * Security: programs start from an argv array (never a shell) and inherit
 * only stdin (/dev/null), stdout and stderr; every other descriptor
 * corrald opens is close-on-exec.
 */
#include "dhcpproc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t dhcpproc_now_ms(void)
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

pid_t dhcpproc_spawn_piped(char *const argv[], char *const envp[], int *out_fd)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = dhcpproc_spawn(argv, envp, pipefd[1]);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return pid;
	}
	*out_fd = pipefd[0];
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

/* What a run keeps of a program's output: its first line, or its last non-empty one. */
struct dhcpproc_keep {
	char *out;
	size_t outlen, len;
	bool last;
	char cur[512]; /* last: the line being read */
	size_t curlen;
};

static void dhcpproc_keep_line(struct dhcpproc_keep *k)
{
	size_t n = k->curlen < k->outlen - 1 ? k->curlen : k->outlen - 1;
	if (n == 0)
		return;
	memcpy(k->out, k->cur, n);
	k->out[n] = '\0';
	k->curlen = 0;
}

static void dhcpproc_keep_add(struct dhcpproc_keep *k, const char *chunk, size_t n)
{
	if (!k->last) {
		size_t take = n < k->outlen - 1 - k->len ? n : k->outlen - 1 - k->len;
		memcpy(k->out + k->len, chunk, take);
		k->len += take;
		k->out[k->len] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (chunk[i] == '\n')
			dhcpproc_keep_line(k);
		else if (k->curlen < sizeof(k->cur))
			k->cur[k->curlen++] = chunk[i];
	}
}

static int dhcpproc_run_keep(char *const argv[], char *const envp[], int64_t timeout_ms,
			     struct dhcpproc_keep *k)
{
	int rfd;
	if (k->outlen == 0)
		return -EINVAL;
	k->out[0] = '\0';
	pid_t pid = dhcpproc_spawn_piped(argv, envp, &rfd);
	if (pid < 0)
		return pid;
	/* Its output until it closes it (or the time is up), as much as fits. */
	int64_t deadline = dhcpproc_now_ms() + timeout_ms;
	struct pollfd p = {rfd, POLLIN, 0};
	char chunk[512];
	for (;;) {
		int64_t left = deadline - dhcpproc_now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t r = read(rfd, chunk, sizeof(chunk));
		if (r <= 0)
			break;
		dhcpproc_keep_add(k, chunk, (size_t)r);
	}
	close(rfd);
	if (k->last)
		dhcpproc_keep_line(k); /* one without its line break */
	else
		k->out[strcspn(k->out, "\n")] = '\0';
	int64_t left = deadline - dhcpproc_now_ms();
	return dhcpproc_wait(pid, left > 0 ? left : 0);
}

int dhcpproc_run(char *const argv[], char *const envp[], int64_t timeout_ms, char *out,
		 size_t outlen)
{
	struct dhcpproc_keep k = {.out = out, .outlen = outlen, .last = false};
	return dhcpproc_run_keep(argv, envp, timeout_ms, &k);
}

int dhcpproc_run_last(char *const argv[], char *const envp[], int64_t timeout_ms, char *out,
		      size_t outlen)
{
	struct dhcpproc_keep k = {.out = out, .outlen = outlen, .last = true};
	return dhcpproc_run_keep(argv, envp, timeout_ms, &k);
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

int dhcpproc_iface_ipv4(const char *iface, unsigned network, unsigned prefix, char out[16])
{
	struct ifaddrs *ifa, *i;
	unsigned mask = 0xffffffffu << (32 - prefix);
	int rc = -EADDRNOTAVAIL;
	out[0] = '\0';
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i != NULL && rc < 0; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    strcmp(i->ifa_name, iface) != 0)
			continue;
		struct in_addr a = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr;
		if ((ntohl(a.s_addr) & mask) == network && inet_ntop(AF_INET, &a, out, 16) != NULL)
			rc = 0;
	}
	freeifaddrs(ifa);
	return rc;
}

void dhcpproc_empty_dir(const char *dir)
{
	char path[PATH_MAX + 300];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *dp = fdopendir(fd);
	if (dp == NULL) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		int n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (n > 0 && (size_t)n < sizeof(path))
			unlink(path);
	}
	closedir(dp);
}

int dhcpproc_reachable(const char *dir, char *why, size_t len)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(p)) {
		(void)snprintf(why, len, "dhcp.state_dir too long");
		return -ENAMETOOLONG;
	}
	for (;;) {
		struct stat st;
		if (stat(p[0] ? p : "/", &st) == 0 && !(st.st_mode & S_IXOTH)) {
			n = snprintf(
				why, len,
				"dhcp.state_dir %s: %s is mode %03o, so dnsmasq (which runs as "
				"nobody) cannot reach it; use a directory every user can "
				"traverse, such as /run/corral/dhcp",
				dir, p[0] ? p : "/", (unsigned)(st.st_mode & 0777));
			if ((n < 0 || (size_t)n >= len) && len >= 4)
				memcpy(why + len - 4, "...", 4);
			return -EACCES;
		}
		char *slash = strrchr(p, '/');
		if (slash == NULL || slash == p)
			break;
		*slash = '\0';
	}
	return 0;
}

void dhcpproc_default_hook(char *hook, size_t len)
{
	char self[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	hook[0] = '\0';
	if (n <= 0)
		return;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	int m = snprintf(hook, len, "%s/corral-dhcp-hook", self);
	if (m > 0 && (size_t)m < len && access(hook, X_OK) == 0)
		return;
	m = snprintf(hook, len, "/usr/local/libexec/corral/corral-dhcp-hook");
	if (m < 0 || (size_t)m >= len)
		hook[0] = '\0'; /* then dhcp.c's check says so */
}
