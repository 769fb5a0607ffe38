/*
 * dhcp: dnsmasq supervision, host-file sync and lease hook.  See dhcp.h.
 *
 * Security: dnsmasq starts from an argv array (fork/execve), never a
 * shell; its configuration is generated from validated settings only.
 * The state directory is readable by everyone (dnsmasq reads it as
 * nobody; it holds nothing secret: host entries and iPXE binaries); the
 * hook socket in it is 0600 (the hook runs as root) and takes one bounded
 * line per connection.
 */
#include "dhcp.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dhcpconf.h"
#include "fsutil.h"
#include "log.h"
#include "valid.h"

struct dhcp_file {
	char name[24]; /* MAC with '-' */
	char *content;
};

struct dhcp_files {
	struct dhcp_file *v;
	size_t n;
};

/*
 * When dnsmasq did something, by its log.  dnsmasq logs a DHCPACK before it
 * sends it, and a TFTP transfer when it ends, but runs the lease script
 * (our hook) for them later, through a helper process, one at a time; a
 * node quick off the mark (iPXE fetching its boot script) can reach corrald
 * before the hook does.  The timeline takes the dhcp and tftp steps' times
 * from the log lines, so they stay before the requests they made possible.
 */
#define DHCP_SEEN 512
#define DHCP_SEEN_MAX_AGE_US 30000000 /* older log times are not trusted */

/*
 * A machine dnsmasq refuses keeps asking (a disabled node's firmware
 * retries DHCP for as long as it is on): its timeline gets the refusal
 * once a minute at most, per reason.
 */
#define DHCP_REFUSALS 256
#define DHCP_REFUSAL_EVERY_US 60000000

struct dhcp_refusal {
	char mac[18];
	char message[128];
	int64_t time_us; /* monotonic */
};

struct dhcp_seen {
	char key[64]; /* "ack MAC" or "tftp IP" */
	int64_t time_us;
};

struct dhcp {
	struct config cfg; /* a copy: dnsmasq needs a restart for changes anyway */
	struct store *st;
	struct events *ev;
	struct metrics *metrics;
	char dir[PATH_MAX]; /* state directory */
	char hosts[PATH_MAX + 16], dns[PATH_MAX + 16], tftp[PATH_MAX + 16], tmp[PATH_MAX + 16];
	char sock_path[PATH_MAX + 16], conf_path[PATH_MAX + 16];
	pthread_t thread;
	int wake_fd;   /* eventfd: stop */
	int listen_fd; /* hook socket */
	int out_fd;    /* dnsmasq's stdout+stderr */
	_Atomic int pid;
	_Atomic int stop;
	int64_t stop_deadline;          /* monotonic ms: SIGKILL after */
	int64_t gone_at;                /* monotonic ms: dnsmasq seen gone while stopping */
	int64_t last_hook_at;           /* monotonic ms: the last hook connection */
	unsigned backoff;               /* seconds before the next restart */
	int64_t started_at, restart_at; /* monotonic ms */
	uint64_t synced_gen;
	int synced;
	struct dhcp_files files;    /* hostsdir as written */
	struct dhcp_files dnsfiles; /* DNS hostsdir as written */
	char linebuf[4096];
	size_t linelen;
	int proxy;                                   /* proxy-DHCP mode */
	struct dhcp_refusal refusals[DHCP_REFUSALS]; /* a ring, newest at refusal_next - 1 */
	unsigned refusal_next;
	struct dhcp_seen seen[DHCP_SEEN]; /* a ring, newest at seen_next - 1 */
	unsigned seen_next;
};

static int64_t dhcp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dhcp_path(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Writes data to dir/name through a temporary file in d->tmp and rename;
 * 0644 whatever corrald's umask is: dnsmasq reads these as nobody. */
static int dhcp_write(struct dhcp *d, const char *dir, const char *name, const char *data,
		      size_t len, int do_fsync)
{
	char tmp[PATH_MAX + 64], dst[PATH_MAX + 64];
	if (dhcp_path(tmp, sizeof(tmp), d->tmp, name) < 0 ||
	    dhcp_path(dst, sizeof(dst), dir, name) < 0)
		return -ENAMETOOLONG;
	return fs_write_via(tmp, dst, data, len, 0644, do_fsync);
}

static void dhcp_files_clear(struct dhcp_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].content);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

/* Removes every regular file in dir (a fresh start: the store is the truth). */
static void dhcp_empty_dir(const char *dir)
{
	char cmdpath[PATH_MAX + 300];
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
		if (dhcp_path(cmdpath, sizeof(cmdpath), dir, de->d_name) == 0)
			unlink(cmdpath);
	}
	closedir(dp);
}

/*
 * Brings dir in line with want (both sorted by name).  Returns 1 if a file
 * changed or went away (dnsmasq then needs SIGHUP), 0 if only new files,
 * negative on error.  *have becomes want.
 */
static int dhcp_sync_dir(struct dhcp *d, const char *dir, struct dhcp_files *have,
			 struct dhcp_files *want)
{
	size_t i = 0, j = 0;
	int hup = 0, rc = 0;
	while (i < have->n || j < want->n) {
		int cmp = i == have->n ? 1 :
			  j == want->n ? -1 :
					 strcmp(have->v[i].name, want->v[j].name);
		if (cmp < 0) { /* gone */
			char p[PATH_MAX + 64];
			if (dhcp_path(p, sizeof(p), dir, have->v[i].name) == 0)
				unlink(p);
			hup = 1;
			i++;
		} else if (cmp > 0) { /* new */
			rc = dhcp_write(d, dir, want->v[j].name, want->v[j].content,
					strlen(want->v[j].content), 0);
			if (rc < 0)
				break;
			j++;
		} else {
			if (strcmp(have->v[i].content, want->v[j].content) != 0) {
				rc = dhcp_write(d, dir, want->v[j].name, want->v[j].content,
						strlen(want->v[j].content), 0);
				if (rc < 0)
					break;
				hup = 1;
			}
			i++;
			j++;
		}
	}
	dhcp_files_clear(have);
	*have = *want;
	want->v = NULL;
	want->n = 0;
	return rc < 0 ? rc : hup;
}

static int dhcp_files_add(struct dhcp_files *f, size_t cap, const char *mac, struct buf *b)
{
	if (f->v == NULL) {
		f->v = calloc(cap ? cap : 1, sizeof(*f->v));
		if (f->v == NULL)
			return -ENOMEM;
	}
	struct dhcp_file *x = &f->v[f->n];
	snprintf(x->name, sizeof(x->name), "%s", mac);
	for (char *p = x->name; *p; p++)
		if (*p == ':')
			*p = '-';
	x->content = buf_take(b);
	if (x->content == NULL)
		return -ENOMEM;
	f->n++;
	return 0;
}

/*
 * The host files from the store.  Host entries are rewritten only when
 * they differ; they are derived data rebuilt from the store at every
 * start, so they are not fsynced.
 */
static int dhcp_sync(struct dhcp *d)
{
	struct store_dhcp_host *h = NULL;
	size_t n = 0;
	uint64_t gen = store_generation(d->st);
	int rc = store_dhcp_hosts(d->st, &h, &n);
	store_release(d->st);
	if (rc < 0)
		return rc;
	struct dhcp_files want = {NULL, 0}, wantdns = {NULL, 0};
	struct buf b;
	buf_init(&b, 1024);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = dhcpconf_host(&h[i], d->cfg.dhcp_lease_time, &b);
		if (rc == 0)
			rc = dhcp_files_add(&want, n, h[i].mac, &b);
		if (rc == 0 && d->cfg.dhcp_dns_port != 0) {
			rc = dhcpconf_dns_host(&h[i], d->cfg.dhcp_domain, &b);
			if (rc == 0 && b.len > 0)
				rc = dhcp_files_add(&wantdns, n, h[i].mac, &b);
		}
		buf_reset(&b);
	}
	buf_clear(&b);
	free(h);
	if (rc < 0) {
		dhcp_files_clear(&want);
		dhcp_files_clear(&wantdns);
		return rc;
	}
	int hup1 = dhcp_sync_dir(d, d->hosts, &d->files, &want);
	int hup2 = dhcp_sync_dir(d, d->dns, &d->dnsfiles, &wantdns);
	if (hup1 < 0 || hup2 < 0) {
		log_warnx("dhcp: cannot write host entries in %s", d->dir);
		return -EIO;
	}
	d->synced_gen = gen;
	d->synced = 1;
	int pid = atomic_load(&d->pid);
	if ((hup1 || hup2) && pid > 0) {
		log_debug("dhcp: host entries changed or removed; SIGHUP to dnsmasq");
		kill(pid, SIGHUP);
	}
	return 0;
}

/*
 * Copies the iPXE binaries into the TFTP root and writes autoexec.ipxe.  A
 * binary Debian 12's ipxe lacks (arm64, riscv64...: `make firmware` has
 * them) is skipped with a note; UEFI HTTP boot is served from dhcp.ipxe_dir.
 */
static int dhcp_tftp_root(struct dhcp *d)
{
	for (unsigned i = 0; i < dhcpconf_narches; i++) {
		const char *files[2] = {dhcpconf_arches[i].file, dhcpconf_arches[i].full_file};
		if (dhcpconf_arches[i].http)
			continue;
		for (int k = 0; k < 2; k++) {
			if (files[k] == NULL)
				continue;
			char src[PATH_MAX + 64];
			if (dhcp_path(src, sizeof(src), d->cfg.dhcp_ipxe_dir, files[k]) < 0)
				return -ENAMETOOLONG;
			int fd = open(src, O_RDONLY | O_CLOEXEC);
			if (fd < 0 && dhcpconf_arches[i].optional) {
				log_info("dhcp: %s: %s; %s clients get no boot file", src,
					 strerror(errno), dhcpconf_arches[i].name);
				continue;
			}
			if (fd < 0) {
				log_warnx("dhcp: %s: %s (is Debian's ipxe package installed?)", src,
					  strerror(errno));
				return -ENOENT;
			}
			struct buf b;
			buf_init(&b, 16u << 20);
			char chunk[65536];
			ssize_t r;
			while ((r = read(fd, chunk, sizeof(chunk))) > 0)
				if (buf_add(&b, chunk, (size_t)r) < 0)
					break;
			close(fd);
			int rc = r == 0 ? dhcp_write(d, d->tftp, files[k], b.data, b.len, 0) : -EIO;
			buf_clear(&b);
			if (rc < 0)
				return rc;
		}
	}
	struct buf b;
	buf_init(&b, 4096);
	int rc = dhcpconf_autoexec(d->cfg.base_url, &b);
	if (rc == 0)
		rc = dhcp_write(d, d->tftp, "autoexec.ipxe", b.data, b.len, 0);
	buf_clear(&b);
	return rc;
}

static int dhcp_write_conf(struct dhcp *d)
{
	struct dhcpconf c;
	memset(&c, 0, sizeof(c));
	c.proxy = strcmp(d->cfg.dhcp_mode, "proxy") == 0;
	c.interface = d->cfg.dhcp_interface;
	valid_cidr(d->cfg.dhcp_subnet, &c.network, &c.prefix);
	c.pool_start = d->cfg.dhcp_pool_start;
	c.pool_end = d->cfg.dhcp_pool_end;
	c.router = d->cfg.dhcp_router;
	c.domain = d->cfg.dhcp_domain;
	c.dns_port = d->cfg.dhcp_dns_port;
	c.dns_upstream = d->cfg.dhcp_dns_upstream;
	c.lease_time = d->cfg.dhcp_lease_time;
	c.pool_lease_time = d->cfg.dhcp_pool_lease_time;
	c.lease_max = d->cfg.dhcp_lease_max;
	c.tftp_max = d->cfg.dhcp_tftp_max;
	c.tftp_root = d->tftp;
	c.hostsdir = d->hosts;
	c.dns_hostsdir = d->dns;
	c.hook = d->cfg.dhcp_hook;
	c.base_url = d->cfg.base_url;
	struct buf b;
	buf_init(&b, 64 * 1024);
	int rc = dhcpconf_render(&c, &b);
	if (rc == 0)
		rc = dhcp_write(d, d->dir, "dnsmasq.conf", b.data, b.len, 1);
	buf_clear(&b);
	return rc;
}

static int dhcp_spawn(struct dhcp *d)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	char conf_arg[PATH_MAX + 64], env_sock[PATH_MAX + 64];
	snprintf(conf_arg, sizeof(conf_arg), "--conf-file=%s", d->conf_path);
	snprintf(env_sock, sizeof(env_sock), "CORRAL_HOOK_SOCKET=%s", d->sock_path);
	char *const argv[] = {d->cfg.dhcp_dnsmasq, conf_arg, NULL};
	char *const envp[] = {env_sock, (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return -e;
	}
	if (pid == 0) {
		/* Child: dies with corrald, output to the pipe, nothing else inherited. */
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
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(pipefd[1]);
	if (d->out_fd >= 0)
		close(d->out_fd);
	d->out_fd = pipefd[0];
	d->linelen = 0;
	atomic_store(&d->pid, pid);
	d->started_at = dhcp_now_ms();
	log_info("dhcp: started dnsmasq (pid %d, %s mode on %s)", (int)pid, d->cfg.dhcp_mode,
		 d->cfg.dhcp_interface);
	return 0;
}

/* Notes the time of a log line that a hook call will follow. */
static void dhcp_note_line(struct dhcp *d, const char *line, int64_t now_us)
{
	char key[sizeof(d->seen[0].key)];
	if (dhcpconf_log_key(line, key, sizeof(key)) < 0)
		return;
	struct dhcp_seen *s = &d->seen[d->seen_next++ % DHCP_SEEN];
	memcpy(s->key, key, sizeof(key));
	s->time_us = now_us;
}

/*
 * Proxy mode: dnsmasq runs no hook for its answers (it grants no lease), so
 * the timeline's dhcp step comes from the log.  An unknown machine is left
 * to the boot script request it makes next to be listed as discovered.
 */
static void dhcp_note_proxy(struct dhcp *d, const char *line, int64_t now_us)
{
	struct dhcp_proxy_log pl;
	int64_t node = 0;
	char detail[192];
	if (dhcpconf_log_proxy(line, &pl) < 0)
		return;
	if (store_node_by_mac(d->st, pl.mac, &node) < 0 || node == 0) {
		store_release(d->st);
		return;
	}
	store_release(d->st);
	if (pl.ip[0] == '\0')
		snprintf(detail, sizeof(detail),
			 "proxy offer (the address comes from the site's DHCP)");
	else if (strncmp(pl.file, "http", 4) == 0)
		snprintf(detail, sizeof(detail), "iPXE proxy boot server %s: boot script URL",
			 pl.ip);
	else
		snprintf(detail, sizeof(detail), "PXE firmware proxy boot server %s: %s", pl.ip,
			 pl.file);
	events_add_at(d->ev, now_us, node, "dhcp", pl.ip, detail, pl.mac, NULL);
}

/*
 * A known node's request that dnsmasq ignored or refused: on its timeline,
 * with why (a disabled node, a pinned address dnsmasq cannot give, a NAK),
 * so "it never got an address" is visible where the admin looks.
 */
static void dhcp_note_refusal(struct dhcp *d, const char *line, int64_t now_us)
{
	struct dhcp_refusal_log rl;
	int64_t node = 0;
	char detail[192];
	if (dhcpconf_log_refusal(line, &rl) < 0)
		return;
	int64_t mono_us = dhcp_now_ms() * 1000; /* a clock step must not mute a node */
	for (unsigned i = 1; i <= DHCP_REFUSALS && i <= d->refusal_next; i++) {
		struct dhcp_refusal *r = &d->refusals[(d->refusal_next - i) % DHCP_REFUSALS];
		if (mono_us - r->time_us >= DHCP_REFUSAL_EVERY_US)
			break; /* older ones only from here */
		if (strcmp(r->mac, rl.mac) == 0 && strcmp(r->message, rl.message) == 0)
			return; /* said lately */
	}
	int rc = store_node_by_mac(d->st, rl.mac, &node);
	store_release(d->st);
	if (rc < 0 || node == 0)
		return; /* an unknown machine: dnsmasq's log says it */
	struct dhcp_refusal *r = &d->refusals[d->refusal_next++ % DHCP_REFUSALS];
	memcpy(r->mac, rl.mac, sizeof(r->mac));
	memcpy(r->message, rl.message, sizeof(r->message));
	r->time_us = mono_us;
	if (strcmp(rl.message, "ignored") == 0)
		snprintf(detail, sizeof(detail), "not answered: the node is disabled (%s ignored)",
			 rl.verb);
	else
		snprintf(detail, sizeof(detail), "refused: %s (%s%s%s)", rl.message, rl.verb,
			 rl.ip[0] ? " " : "", rl.ip);
	events_add_at(d->ev, now_us, node, "dhcp", rl.ip, detail, rl.mac, NULL);
}

static void dhcp_read_output(struct dhcp *d);

/*
 * When the log showed key (see dhcp_note_line), 0 if it did not lately.
 * dnsmasq runs the hook in the order it logged, so the oldest line not yet
 * taken is the one; with at_s >= 0 only a line logged in that second (or
 * the next two, for a slow reader) counts: a lease's expiry minus its
 * length names the second of its ACK, and an ACK that ran no hook (one
 * that changed nothing) is never taken for a later one.  First reads what
 * dnsmasq logged and the loop has not read yet.
 */
static int64_t dhcp_seen_time(struct dhcp *d, const char *key, int64_t at_s)
{
	/* all of it (a boot storm logs more than one read takes), within reason */
	for (int i = 0; i < 64 && d->out_fd >= 0; i++) {
		struct pollfd op = {d->out_fd, POLLIN, 0};
		if (poll(&op, 1, 0) <= 0 || !(op.revents & POLLIN))
			break;
		dhcp_read_output(d);
	}
	int64_t now_us = store_now_us();
	struct dhcp_seen *found = NULL;
	for (unsigned i = 1; i <= DHCP_SEEN && i <= d->seen_next; i++) {
		struct dhcp_seen *s = &d->seen[(d->seen_next - i) % DHCP_SEEN];
		if (s->time_us == 0)
			continue; /* taken */
		if (now_us - s->time_us > DHCP_SEEN_MAX_AGE_US)
			break; /* older ones only from here */
		int64_t sec = s->time_us / 1000000;
		if (strcmp(s->key, key) == 0 && (at_s < 0 || (sec >= at_s && sec <= at_s + 2)))
			found = s;
	}
	if (found == NULL)
		return 0;
	int64_t t = found->time_us;
	found->time_us = 0;
	return t;
}

/* Logs dnsmasq's output line by line. */
static void dhcp_read_output(struct dhcp *d)
{
	ssize_t r = read(d->out_fd, d->linebuf + d->linelen, sizeof(d->linebuf) - 1 - d->linelen);
	if (r <= 0) {
		close(d->out_fd);
		d->out_fd = -1;
		return;
	}
	int64_t now_us = store_now_us();
	d->linelen += (size_t)r;
	d->linebuf[d->linelen] = '\0';
	char *start = d->linebuf, *nl;
	while ((nl = strchr(start, '\n')) != NULL) {
		*nl = '\0';
		if (*start) {
			dhcp_note_line(d, start, now_us);
			if (d->proxy)
				dhcp_note_proxy(d, start, now_us);
			else
				dhcp_note_refusal(d, start, now_us);
			log_info("dnsmasq: %s", start);
		}
		start = nl + 1;
	}
	size_t rest = d->linelen - (size_t)(start - d->linebuf);
	if (rest == sizeof(d->linebuf) - 1) { /* an overlong line: log it in pieces */
		log_info("dnsmasq: %s", start);
		rest = 0;
	}
	memmove(d->linebuf, start, rest);
	d->linelen = rest;
}

static void dhcp_reap(struct dhcp *d)
{
	int pid = atomic_load(&d->pid), status;
	if (pid <= 0 || waitpid(pid, &status, WNOHANG) != pid)
		return;
	atomic_store(&d->pid, 0);
	if (d->stop) {
		d->gone_at = dhcp_now_ms();
		return;
	}
	int64_t ran = dhcp_now_ms() - d->started_at;
	d->backoff = ran > 60000 ? 1 : (d->backoff ? d->backoff * 2 : 1);
	if (d->backoff > 30)
		d->backoff = 30;
	if (WIFEXITED(status))
		log_warnx("dhcp: dnsmasq exited with status %d; restarting in %u s",
			  WEXITSTATUS(status), d->backoff);
	else
		log_warnx("dhcp: dnsmasq killed by signal %d; restarting in %u s",
			  WIFSIGNALED(status) ? WTERMSIG(status) : 0, d->backoff);
	metrics_dhcp_restart(d->metrics);
	d->restart_at = dhcp_now_ms() + d->backoff * 1000;
}

static const char *dhcp_client_kind(const struct dhcp_event *e, const char *vendor)
{
	if (e->ipxe)
		return "iPXE";
	if (strncmp(vendor, "PXEClient", 9) == 0)
		return "PXE firmware";
	if (strncmp(vendor, "HTTPClient", 10) == 0) /* UEFI HTTP boot */
		return "HTTP boot firmware";
	return "OS";
}

/* One hook connection: a line in, maybe leases out. */
static void dhcp_hook(struct dhcp *d, int fd)
{
	char line[1024];
	size_t len = 0;
	struct pollfd p = {fd, POLLIN, 0};
	while (len < sizeof(line) - 1) {
		if (poll(&p, 1, 2000) <= 0)
			break;
		ssize_t r = read(fd, line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(line, '\n', len) != NULL)
			break;
	}
	line[len] = '\0';
	char *nl = strchr(line, '\n');
	if (nl != NULL)
		*nl = '\0';

	/* Field 7 (vendor class) is ours, beyond what dhcpconf parses. */
	const char *vendor = "";
	int tabs = 0;
	for (char *q = line; *q; q++)
		if (*q == '\t' && ++tabs == 7)
			vendor = q + 1;
	struct dhcp_event e;
	if (dhcpconf_parse_event(line, &e) < 0) {
		log_warnx("dhcp: malformed hook event ignored");
		return;
	}
	int64_t node = 0;
	char detail[192], key[64];
	switch (e.action) {
	case DHCP_INIT: {
		struct buf b;
		buf_init(&b, 64u << 20);
		if (store_leases(d->st, (int64_t)time(NULL), &b) == 0 && b.len > 0) {
			if (fs_write_all(fd, b.data, b.len) < 0)
				log_debug("dhcp: lease list not sent whole to the hook");
		}
		buf_clear(&b);
		break;
	}
	case DHCP_ADD:
	case DHCP_OLD:
		/* dnsmasq replays every lease as "old" after SIGHUP or a restart:
		 * same address, same expiry.  Not a DHCP exchange: no event. */
		if (e.action == DHCP_OLD && store_lease_same(d->st, e.mac, e.ip, e.expires) == 1)
			break;
		if (store_lease_set(d->st, e.mac, e.ip, e.expires, e.hostname, e.client_id) < 0)
			log_warnx("dhcp: could not store the lease of %s", e.mac);
		(void)store_node_by_mac(d->st, e.mac, &node);
		snprintf(detail, sizeof(detail), "%s %s %s", dhcp_client_kind(&e, vendor),
			 e.action == DHCP_ADD ? "lease" : "renewal", e.ip);
		snprintf(key, sizeof(key), "ack %s", e.mac);
		unsigned lease_s = e.known ? d->cfg.dhcp_lease_time : d->cfg.dhcp_pool_lease_time;
		int64_t at_s = e.expires > (int64_t)lease_s ? e.expires - lease_s : -1;
		events_add_at(d->ev, dhcp_seen_time(d, key, at_s), node, "dhcp", e.ip, detail,
			      e.mac, NULL);
		break;
	case DHCP_DEL:
		(void)store_lease_del(d->st, e.mac);
		break;
	case DHCP_TFTP:
		if (store_node_by_ip(d->st, e.ip, &node) == 0) {
			snprintf(detail, sizeof(detail), "%s (%llu bytes)", e.file,
				 (unsigned long long)e.size);
			snprintf(key, sizeof(key), "tftp %s", e.ip);
			events_add_at(d->ev, dhcp_seen_time(d, key, -1), node, "tftp", e.ip, detail,
				      NULL, NULL);
		}
		break;
	default:
		break;
	}
	store_release(d->st);
}

static void *dhcp_main(void *arg)
{
	struct dhcp *d = arg;
	for (;;) {
		int pid = atomic_load(&d->pid);
		/* Stopping: dnsmasq got SIGTERM; keep taking its last lease events
		 * until it is gone, so no lease it granted is lost. */
		if (d->stop) {
			/* dnsmasq hands its pending lease changes to its script
			 * helper at SIGTERM and exits; the helper outlives it and
			 * runs them (our hook) one by one.  Take them until the
			 * hook socket has been quiet for a second (10 s at most),
			 * or those leases are forgotten by the next dnsmasq. */
			int64_t now = dhcp_now_ms();
			int64_t quiet = d->last_hook_at > d->gone_at ? d->last_hook_at : d->gone_at;
			if (pid == 0 && (now - quiet >= 1000 || now - d->gone_at >= 10000))
				break;
			if (pid != 0 && now > d->stop_deadline) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				atomic_store(&d->pid, 0);
				break;
			}
		}
		if (!d->stop && pid == 0 && dhcp_now_ms() >= d->restart_at) {
			if (dhcp_write_conf(d) < 0 || dhcp_spawn(d) < 0) {
				log_warnx("dhcp: cannot start %s", d->cfg.dhcp_dnsmasq);
				d->backoff = d->backoff ? d->backoff * 2 : 1;
				if (d->backoff > 30)
					d->backoff = 30;
				d->restart_at = dhcp_now_ms() + d->backoff * 1000;
			}
		}
		struct pollfd p[3] = {
			{d->wake_fd, POLLIN, 0}, {d->listen_fd, POLLIN, 0}, {d->out_fd, POLLIN, 0}};
		int np = d->out_fd >= 0 ? 3 : 2;
		int n = poll(p, (nfds_t)np, d->stop ? 50 : 250);
		if (n > 0 && (p[0].revents & POLLIN)) {
			uint64_t v;
			if (read(d->wake_fd, &v, sizeof(v)) < 0)
				log_debug("dhcp: wake read");
		}
		/* dnsmasq's log first: a lease's DHCPACK line comes before its hook call. */
		if (n > 0 && np == 3 && (p[2].revents & (POLLIN | POLLHUP)))
			dhcp_read_output(d);
		if (n > 0 && (p[1].revents & POLLIN)) {
			int c = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				dhcp_hook(d, c);
				close(c);
				d->last_hook_at = dhcp_now_ms();
			}
		}
		dhcp_reap(d);
		if (!d->stop && (!d->synced || store_generation(d->st) != d->synced_gen))
			dhcp_sync(d);
	}
	return NULL;
}

/* mkdir -p, the leaf 0755 whatever the umask (dnsmasq runs as nobody and
 * must get through). */
static int dhcp_mkdir(const char *path)
{
	int rc = fs_mkdir_p(path, 0755);
	if (rc < 0)
		return rc;
	return chmod(path, 0755) < 0 ? -errno : 0;
}

/*
 * dnsmasq drops to user nobody after start: every directory above the
 * state directory must let others through, or it fails at TFTP and host
 * files with "Permission denied" and restarts forever.  Says which one.
 */
static int dhcp_check_reachable(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", dir);
	for (;;) {
		struct stat st;
		if (stat(p[0] ? p : "/", &st) == 0 && !(st.st_mode & S_IXOTH)) {
			log_warnx(
				"dhcp: dhcp.state_dir %s: %s is mode %03o, so dnsmasq (which runs "
				"as nobody) cannot reach it; use a directory every user can "
				"traverse, such as /run/corral/dhcp",
				dir, p[0] ? p : "/", (unsigned)(st.st_mode & 0777));
			return -EACCES;
		}
		char *slash = strrchr(p, '/');
		if (slash == NULL || slash == p)
			break;
		*slash = '\0';
	}
	return 0;
}

/* The hook program: configured, else next to the running corrald. */
static void dhcp_default_hook(struct config *c)
{
	if (c->dhcp_hook[0] != '\0')
		return;
	char self[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	snprintf(c->dhcp_hook, sizeof(c->dhcp_hook), "%s/corral-dhcp-hook", self);
	if (access(c->dhcp_hook, X_OK) != 0)
		snprintf(c->dhcp_hook, sizeof(c->dhcp_hook),
			 "/usr/local/libexec/corral/corral-dhcp-hook");
}

int dhcp_start(const struct config *cfg, struct store *st, struct events *ev, struct metrics *m,
	       struct dhcp **out)
{
	*out = NULL;
	if (strcmp(cfg->dhcp_mode, "off") == 0)
		return 0;
	struct dhcp *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->cfg = *cfg;
	d->proxy = strcmp(cfg->dhcp_mode, "proxy") == 0;
	d->st = st;
	d->ev = ev;
	d->metrics = m;
	d->out_fd = -1;
	d->listen_fd = -1;
	d->wake_fd = -1;
	dhcp_default_hook(&d->cfg);
	snprintf(d->dir, sizeof(d->dir), "%s", cfg->dhcp_state_dir);
	if (dhcp_path(d->hosts, sizeof(d->hosts), d->dir, "hosts") < 0 ||
	    dhcp_path(d->dns, sizeof(d->dns), d->dir, "dns") < 0 ||
	    dhcp_path(d->tftp, sizeof(d->tftp), d->dir, "tftp") < 0 ||
	    dhcp_path(d->tmp, sizeof(d->tmp), d->dir, "tmp") < 0 ||
	    dhcp_path(d->sock_path, sizeof(d->sock_path), d->dir, "hook.sock") < 0 ||
	    dhcp_path(d->conf_path, sizeof(d->conf_path), d->dir, "dnsmasq.conf") < 0)
		goto err_free;
	if (access(d->cfg.dhcp_hook, X_OK) != 0) {
		log_warnx("dhcp: the lease hook %s is not executable", d->cfg.dhcp_hook);
		goto err_free;
	}
	if (dhcp_mkdir(d->dir) < 0 || dhcp_mkdir(d->hosts) < 0 || dhcp_mkdir(d->dns) < 0 ||
	    dhcp_mkdir(d->tftp) < 0 || dhcp_mkdir(d->tmp) < 0) {
		log_warn("dhcp: cannot create %s", d->dir);
		goto err_free;
	}
	if (dhcp_check_reachable(d->dir) < 0)
		goto err_free;
	dhcp_empty_dir(d->hosts);
	dhcp_empty_dir(d->dns);
	if (dhcp_tftp_root(d) < 0)
		goto err_free;

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(d->sock_path) >= sizeof(sa.sun_path)) {
		log_warnx("dhcp: state directory path too long for a socket: %s", d->dir);
		goto err_free;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock_path);
	unlink(d->sock_path);
	d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (d->listen_fd < 0 || bind(d->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(d->sock_path, 0600) < 0 || listen(d->listen_fd, 64) < 0) {
		log_warn("dhcp: hook socket %s", d->sock_path);
		goto err_sock;
	}
	d->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (d->wake_fd < 0)
		goto err_sock;
	/* Host files first, so dnsmasq starts knowing every node. */
	if (dhcp_sync(d) < 0)
		goto err_wake;
	if (pthread_create(&d->thread, NULL, dhcp_main, d) != 0)
		goto err_wake;
	*out = d;
	return 0;

err_wake:
	close(d->wake_fd);
err_sock:
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	unlink(d->sock_path);
err_free:
	dhcp_files_clear(&d->files);
	dhcp_files_clear(&d->dnsfiles);
	free(d);
	return -EIO;
}

void dhcp_free(struct dhcp *d)
{
	if (d == NULL)
		return;
	d->stop_deadline = dhcp_now_ms() + 5000;
	int pid = atomic_load(&d->pid);
	if (pid > 0)
		kill(pid, SIGTERM);
	atomic_store(&d->stop, 1);
	uint64_t one = 1;
	if (write(d->wake_fd, &one, sizeof(one)) < 0)
		log_warn("dhcp: wake");
	pthread_join(d->thread, NULL); /* it reaps dnsmasq */
	if (d->out_fd >= 0)
		close(d->out_fd);
	close(d->listen_fd);
	close(d->wake_fd);
	unlink(d->sock_path);
	dhcp_files_clear(&d->files);
	dhcp_files_clear(&d->dnsfiles);
	free(d);
}

int dhcp_pid(struct dhcp *d)
{
	return d ? atomic_load(&d->pid) : 0;
}
