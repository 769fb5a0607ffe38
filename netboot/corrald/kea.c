/*
 * kea: kea-dhcp4 as a supervised child, its configuration reloads over the
 * control socket, and its lease file as timeline steps.  See kea.h.
 *
 * Security: Kea starts from an argv array (fork/execve), never a shell;
 * its configuration is generated from validated settings and the store
 * (keaconf escapes every string).  kea/ below the state directory holds
 * the configuration (0644: nothing secret), the control socket (Kea makes
 * it; a connecting process can reconfigure Kea, so the directory is 0700)
 * and the PID file.  Replies and log lines are read bounded and parsed as
 * untrusted.
 */
#include "kea.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dhcpproc.h"
#include "dhcpstate.h"
#include "fsutil.h"
#include "keaconf.h"
#include "kealease.h"
#include "log.h"
#include "valid.h"

#define KEA_TEST_WAIT_MS 60000   /* kea-dhcp4 -t: 50,000 reservations take ~1 s */
#define KEA_RELOAD_WAIT_MS 60000 /* a config-reload's answer */
#define KEA_QUIET_MS 100         /* a reload waits for the store to be quiet this long */
#define KEA_BATCH_MS 500         /* ...but no longer than this after the first change */
#define KEA_LEASE_POLL_MS 1000   /* the lease file is read this often without inotify */
#define KEA_LEASE_BATCH_MS 20    /* ...and this long after Kea first wrote to it */
#define KEA_THREADS 2            /* Kea's packet threads (measured with 2 here) */
static const char kea_reload_cmd[] = "{\"command\": \"config-reload\"}";

struct kea {
	struct kea_settings s;
	char base_url[256], server_ip[16];
	char dir[PATH_MAX]; /* state_dir/kea */
	char conf_path[PATH_MAX + 16], test_path[PATH_MAX + 16], sock_path[PATH_MAX + 16];
	char pid_path[PATH_MAX + 32], lease_file[PATH_MAX];
	unsigned network, prefix;
	_Atomic int pid;
	_Atomic int up;           /* pid of the Kea that logged DHCP4_STARTED */
	_Atomic int trial;        /* a commit waits for it */
	_Atomic int trial_failed; /* ...and it failed before it started (why in trial_why) */
	char trial_why[160];
	int termed;                     /* the pid sent SIGTERM while stopping */
	unsigned backoff;               /* seconds before the next restart */
	int64_t started_at, restart_at; /* monotonic ms */
	int out_fd;                     /* Kea's stdout+stderr */
	char linebuf[4096];
	size_t linelen;
	/* reloads */
	int ctl_fd; /* a config-reload in flight */
	char reply[8192];
	size_t replylen;
	int64_t reload_started, next_reload_at;
	uint64_t seen_gen; /* the store generation last looked at */
	bool dirty;        /* the store changed since the configuration was rendered */
	int64_t changed_at, dirty_since;
	char *applied; /* the configuration Kea runs (or is reloading into: pending) */
	size_t applied_len;
	char *pending;
	size_t pending_len, pending_hosts;
	/* leases */
	struct kealease_map *map;
	struct kealease_tail tail;
	bool loading; /* rows read at start: no events */
	int ino_fd, wd_file;
	ino_t watched_ino;
	int64_t lease_read_at;
	bool lease_due;         /* Kea wrote: read at lease_due_at (not watching meanwhile) */
	int64_t lease_due_at;   /* monotonic ms */
	int64_t lease_floor_us; /* when it first wrote since the last read (wall clock) */
};

/* snprintf into out[len]: 0, or -ENAMETOOLONG when it did not fit. */
__attribute__((format(printf, 3, 4))) static int kea_fmt(char *out, size_t len, const char *fmt,
							 ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* Why into err (cut with "..."); returns rc. */
__attribute__((format(printf, 4, 5))) static int kea_fail(char *err, size_t errlen, int rc,
							  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if ((n < 0 || (size_t)n >= errlen) && errlen >= 4)
		memcpy(err + errlen - 4, "...", 4);
	return rc;
}

/* ---- the configuration ------------------------------------------------------ */

/* Kea's configuration from the settings and the store's hosts now; *nhosts out. */
static int kea_render(struct kea *k, struct buf *b, size_t *nhosts)
{
	struct store_dhcp_host *h = NULL;
	size_t n = 0;
	int rc = store_dhcp_hosts(k->s.st, &h, &n);
	store_release(k->s.st);
	if (rc < 0)
		return rc;
	const struct config_dhcp *c = k->s.cfg;
	struct keaconf kc = {
		.interface = c->interface,
		.network = k->network,
		.prefix = k->prefix,
		.pool_start = c->pool_start,
		.pool_end = c->pool_end,
		.server_ip = k->server_ip,
		.router = c->router,
		.domain = c->domain,
		.dns_port = c->dns_port,
		.lease_time = c->lease_time,
		.pool_lease_time = c->pool_lease_time,
		.base_url = k->base_url,
		.control_socket = k->sock_path,
		.lease_file = k->lease_file,
		.threads = KEA_THREADS,
	};
	rc = keaconf_render(&kc, h, n, b);
	free(h);
	*nhosts = n;
	return rc;
}

/* Writes text to path (temporary file, fsync, rename). */
static int kea_write_text(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX + 32];
	int rc = kea_fmt(tmp, sizeof(tmp), "%s.tmp", path);
	return rc < 0 ? rc : fs_write_via(tmp, path, text, len, 0644, 1);
}

/* Renders into path; the text stays in *out (the caller's). */
static int kea_write_conf(struct kea *k, const char *path, char **out, size_t *len, size_t *nhosts)
{
	struct buf b;
	buf_init(&b, 512u << 20);
	int rc = kea_render(k, &b, nhosts);
	if (rc == 0)
		rc = kea_write_text(path, b.data, b.len);
	*len = b.len;
	*out = rc == 0 ? buf_take(&b) : NULL;
	buf_clear(&b);
	return rc == 0 && *out == NULL ? -ENOMEM : rc;
}

/* ---- Kea, the process ----------------------------------------------------------- */

static void kea_trial_failed(struct kea *k, const char *why)
{
	if (kea_fmt(k->trial_why, sizeof(k->trial_why), "%s", why) < 0)
		memcpy(k->trial_why + sizeof(k->trial_why) - 4, "...", 4);
	k->restart_at = INT64_MAX;
	atomic_store(&k->trial_failed, 1);
}

static void kea_reload_close(struct kea *k)
{
	if (k->ctl_fd >= 0)
		close(k->ctl_fd);
	k->ctl_fd = -1;
	free(k->pending);
	k->pending = NULL;
}

static int kea_spawn(struct kea *k)
{
	char piddir[PATH_MAX + 32];
	char *envp[] = {(char *)"KEA_LOCKFILE_DIR=none", piddir,
			(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	size_t nhosts = 0;
	if (kea_fmt(piddir, sizeof(piddir), "KEA_PIDFILE_DIR=%s", k->dir) < 0)
		return -ENAMETOOLONG;
	if (dhcpproc_iface_ipv4(k->s.cfg->interface, k->network, k->prefix, k->server_ip) < 0)
		return -EADDRNOTAVAIL;
	uint64_t gen = store_generation(k->s.st);
	free(k->applied);
	k->applied = NULL;
	int rc = kea_write_conf(k, k->conf_path, &k->applied, &k->applied_len, &nhosts);
	if (rc < 0)
		return rc;
	k->seen_gen = gen;
	k->dirty = false;
	/* Ours only (kea/ is private): a stale one would make Kea refuse to start
	 * should its PID now belong to another process. */
	unlink(k->pid_path);
	char *const argv[] = {(char *)k->s.cfg->kea, (char *)"-c", k->conf_path, NULL};
	int out_fd;
	pid_t pid = dhcpproc_spawn_piped(argv, envp, &out_fd);
	if (pid < 0)
		return pid;
	if (k->out_fd >= 0)
		close(k->out_fd);
	k->out_fd = out_fd;
	k->linelen = 0;
	atomic_store(&k->pid, pid);
	k->started_at = dhcpproc_now_ms();
	log_info("dhcp: started kea-dhcp4 (pid %d, %zu reservations, on %s, leases in %s)",
		 (int)pid, nhosts, k->s.cfg->interface, k->lease_file);
	return 0;
}

static void kea_maybe_spawn(struct kea *k)
{
	if (atomic_load(&k->pid) != 0 || dhcpproc_now_ms() < k->restart_at)
		return;
	int rc = kea_spawn(k);
	if (rc == 0)
		return;
	char why[PATH_MAX + 128];
	if (rc == -EADDRNOTAVAIL)
		(void)kea_fmt(why, sizeof(why), "dhcp.interface %s has no IPv4 address in %s",
			      k->s.cfg->interface, k->s.cfg->subnet);
	else
		(void)kea_fmt(why, sizeof(why), "cannot start %s: %s", k->s.cfg->kea,
			      strerror(-rc));
	if (atomic_load(&k->trial)) {
		kea_trial_failed(k, why);
		return;
	}
	log_warnx("dhcp: %s", why);
	k->backoff = k->backoff ? k->backoff * 2 : 1;
	if (k->backoff > 30)
		k->backoff = 30;
	k->restart_at = dhcpproc_now_ms() + k->backoff * 1000;
}

static void kea_read_leases(struct kea *k);

static void kea_reap(struct kea *k, bool stopping)
{
	int pid = atomic_load(&k->pid), status;
	char how[64];
	if (pid <= 0 || waitpid(pid, &status, WNOHANG) != pid)
		return;
	atomic_store(&k->pid, 0);
	kea_reload_close(k);
	kea_read_leases(k); /* its last rows */
	if (stopping)
		return;
	dhcpproc_status_text(status, how, sizeof(how));
	if (atomic_load(&k->trial) && atomic_load(&k->up) != pid) {
		char why[128];
		if (kea_fmt(why, sizeof(why), "the new kea-dhcp4 %s before it started", how) < 0)
			why[0] = '\0';
		kea_trial_failed(k, why);
		return;
	}
	int64_t ran = dhcpproc_now_ms() - k->started_at;
	k->backoff = ran > 60000 ? 1 : (k->backoff ? k->backoff * 2 : 1);
	if (k->backoff > 30)
		k->backoff = 30;
	log_warnx("dhcp: kea-dhcp4 %s; restarting in %u s", how, k->backoff);
	metrics_kea_restart(k->s.metrics);
	k->restart_at = dhcpproc_now_ms() + k->backoff * 1000;
}

/* ---- Kea's log --------------------------------------------------------------------- */

static void kea_line(struct kea *k, const char *line, int64_t now_us)
{
	struct dhcp_refusal_log rl;
	if (keaconf_log_started(line))
		atomic_store(&k->up, atomic_load(&k->pid));
	else if (keaconf_log_refusal(line, &rl) == 0 && k->s.refusal != NULL)
		k->s.refusal(k->s.arg, &rl, now_us);
	log_info("kea: %s", line);
}

static void kea_read_output(struct kea *k)
{
	ssize_t r = read(k->out_fd, k->linebuf + k->linelen, sizeof(k->linebuf) - 1 - k->linelen);
	if (r <= 0) {
		close(k->out_fd);
		k->out_fd = -1;
		return;
	}
	int64_t now_us = store_now_us();
	k->linelen += (size_t)r;
	k->linebuf[k->linelen] = '\0';
	char *start = k->linebuf, *nl;
	while ((nl = strchr(start, '\n')) != NULL) {
		*nl = '\0';
		if (*start)
			kea_line(k, start, now_us);
		start = nl + 1;
	}
	size_t rest = k->linelen - (size_t)(start - k->linebuf);
	if (rest == sizeof(k->linebuf) - 1) { /* an overlong line: logged in pieces */
		log_info("kea: %s", start);
		rest = 0;
	}
	memmove(k->linebuf, start, rest);
	k->linelen = rest;
}

/* ---- reloads ------------------------------------------------------------------------- */

/* Renders the store now; when Kea runs something else, writes it and sends config-reload. */
static void kea_reload_start(struct kea *k)
{
	size_t nhosts = 0, len = 0;
	char *text = NULL;
	struct buf b;
	int64_t now = dhcpproc_now_ms();
	k->dirty = false;
	buf_init(&b, 512u << 20);
	int rc = kea_render(k, &b, &nhosts);
	if (rc == 0 && k->applied != NULL && b.len == k->applied_len &&
	    memcmp(b.data, k->applied, b.len) == 0) {
		buf_clear(&b); /* a change that does not concern DHCP */
		return;
	}
	if (rc == 0)
		rc = kea_write_text(k->conf_path, b.data, b.len);
	len = b.len;
	text = rc == 0 ? buf_take(&b) : NULL;
	buf_clear(&b);
	if (rc == 0 && text == NULL)
		rc = -ENOMEM;
	if (rc < 0) {
		log_warnx("dhcp: cannot write Kea's configuration %s: %s", k->conf_path,
			  strerror(-rc));
		k->dirty = true;
		k->next_reload_at = now + 5000;
		return;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, k->sock_path, strlen(k->sock_path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, kea_reload_cmd, sizeof(kea_reload_cmd) - 1) !=
		    (ssize_t)(sizeof(kea_reload_cmd) - 1)) {
		log_warnx("dhcp: cannot reach Kea's control socket %s: %s (retrying)", k->sock_path,
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		free(text);
		k->dirty = true;
		k->next_reload_at = now + 1000;
		return;
	}
	k->ctl_fd = fd;
	k->replylen = 0;
	k->reload_started = now;
	k->pending = text;
	k->pending_len = len;
	k->pending_hosts = nhosts;
}

static void kea_reload_done(struct kea *k)
{
	int result = -1;
	char text[256];
	int64_t now = dhcpproc_now_ms(), took = now - k->reload_started;
	if (keaconf_reply(k->reply, k->replylen, &result, text, sizeof(text)) < 0)
		(void)kea_fmt(text, sizeof(text), "no answer it could read");
	if (result == 0) {
		log_info("dhcp: Kea reloaded its configuration (%zu reservations) in %lld ms",
			 k->pending_hosts, (long long)took);
		free(k->applied);
		k->applied = k->pending;
		k->applied_len = k->pending_len;
		k->pending = NULL;
		metrics_kea_reload(k->s.metrics);
		k->next_reload_at = now + took; /* Kea answers DHCP at least half the time */
	} else {
		log_warnx("dhcp: Kea refused the new configuration (%s); it runs the previous one",
			  text);
		k->next_reload_at = now + 5000;
		k->dirty = true;
	}
	kea_reload_close(k);
}

static void kea_reload_read(struct kea *k)
{
	ssize_t r = read(k->ctl_fd, k->reply + k->replylen, sizeof(k->reply) - 1 - k->replylen);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0) {
		k->replylen += (size_t)r;
		k->reply[k->replylen] = '\0';
		int result;
		char text[8];
		/* Kea 2.2 closes the connection after its answer; a whole answer will do. */
		if (k->replylen < sizeof(k->reply) - 1 &&
		    keaconf_reply(k->reply, k->replylen, &result, text, sizeof(text)) < 0)
			return;
	}
	kea_reload_done(k);
}

/* A reload when the store changed, has been quiet (or changing for too long), and Kea can take it. */
static void kea_maybe_reload(struct kea *k)
{
	int64_t now = dhcpproc_now_ms();
	uint64_t gen = store_generation(k->s.st);
	if (gen != k->seen_gen) {
		k->seen_gen = gen;
		k->changed_at = now;
		if (!k->dirty)
			k->dirty_since = now;
		k->dirty = true;
	}
	if (k->ctl_fd >= 0 && now - k->reload_started > KEA_RELOAD_WAIT_MS) {
		log_warnx("dhcp: Kea did not answer config-reload within %d s",
			  KEA_RELOAD_WAIT_MS / 1000);
		kea_reload_close(k);
		k->dirty = true;
	}
	int pid = atomic_load(&k->pid);
	if (!k->dirty || k->ctl_fd >= 0 || pid == 0 || atomic_load(&k->up) != pid ||
	    now < k->next_reload_at)
		return;
	if (now - k->changed_at >= KEA_QUIET_MS || now - k->dirty_since >= KEA_BATCH_MS)
		kea_reload_start(k);
}

/* ---- leases ----------------------------------------------------------------------------- */

/* One row of Kea's lease file: a new lease or a renewal becomes a dhcp step. */
static void kea_lease_line(void *arg, const char *line)
{
	struct kea *k = arg;
	struct kealease l;
	enum kealease_change ch;
	char detail[192];
	int64_t node = 0;
	if (kealease_parse(line, &l) < 0 || kealease_map_note(k->map, &l, &ch) < 0 || k->loading ||
	    (ch != KEALEASE_NEW && ch != KEALEASE_RENEW))
		return;
	(void)store_node_by_mac(k->s.st, l.mac, &node);
	store_release(k->s.st);
	const struct config_dhcp *c = k->s.cfg;
	enum keaconf_stage stage =
		keaconf_stage(l.valid_lifetime, c->lease_time, c->pool_lease_time, node != 0);
	struct dhcp_event e = {.action = ch == KEALEASE_NEW ? DHCP_ADD : DHCP_OLD,
			       .ipxe = stage == KEACONF_IPXE};
	memcpy(e.mac, l.mac, sizeof(e.mac));
	memcpy(e.ip, l.ip, sizeof(e.ip));
	if (dhcpstate_lease_detail(&e, stage == KEACONF_PXE ? "PXEClient" : "", detail,
				   sizeof(detail)) < 0)
		return;
	/* Dated within the second Kea granted it (its own record), as close as
	 * that allows to when Kea first wrote since the last read: rows are
	 * read in batches (KEA_LEASE_BATCH_MS), so that is no later than this
	 * row was written, and before any request the lease made possible. */
	int64_t now = k->lease_floor_us, at = (l.expire - (int64_t)l.valid_lifetime) * 1000000;
	int64_t t = now < at ? at : now > at + 999999 ? at + 999999 : now;
	events_add_at(k->s.ev, t, node, "dhcp", l.ip, detail, l.mac, NULL);
}

/* (Re)watches the lease file Kea writes now. */
static void kea_watch_file(struct kea *k)
{
	if (k->ino_fd < 0 || k->tail.fd < 0 || k->tail.ino == k->watched_ino)
		return;
	if (k->wd_file >= 0)
		inotify_rm_watch(k->ino_fd, k->wd_file);
	k->wd_file = inotify_add_watch(k->ino_fd, k->lease_file, IN_MODIFY);
	k->watched_ino = k->wd_file >= 0 ? k->tail.ino : 0;
}

static void kea_read_leases(struct kea *k)
{
	if (!k->lease_due)
		k->lease_floor_us = store_now_us();
	k->lease_due = false;
	int rc = kealease_tail_read(&k->tail, kea_lease_line, k);
	if (rc < 0)
		log_warnx("dhcp: cannot read Kea's lease file %s: %s", k->lease_file,
			  strerror(-rc));
	kea_watch_file(k);
	k->lease_read_at = dhcpproc_now_ms();
}

static void kea_inotify(struct kea *k)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(k->ino_fd, ev, sizeof(ev)) > 0)
		; /* which event does not matter: the tail looks for itself */
	/* Batched: at thousands of leases a second, a read (and a wakeup) per
	 * row would cost corrald more than the rows themselves. */
	if (!k->lease_due) {
		k->lease_due = true;
		k->lease_due_at = dhcpproc_now_ms() + KEA_LEASE_BATCH_MS;
		k->lease_floor_us = store_now_us();
	}
}

/* Reads the lease files at start (for the map; no events), then watches. */
static int kea_load_leases(struct kea *k)
{
	/* LFC's result when it has one (it merged .1 and .2), else those two, oldest first */
	static const char *const older[] = {".completed", ".1", ".2"};
	char path[PATH_MAX + 16], dir[PATH_MAX];
	kealease_map_free(k->map);
	k->map = NULL;
	int rc = kealease_map_new(&k->map);
	if (rc < 0)
		return rc;
	k->loading = true;
	bool completed = false;
	for (size_t i = 0; i < sizeof(older) / sizeof(older[0]) && rc >= 0 && !completed; i++) {
		rc = kea_fmt(path, sizeof(path), "%s%s", k->lease_file, older[i]);
		if (rc == 0 && i == 0)
			completed = access(path, F_OK) == 0;
		if (rc == 0)
			rc = kealease_read_file(path, kea_lease_line, k);
	}
	kealease_tail_close(&k->tail);
	if (rc >= 0)
		rc = kealease_tail_init(&k->tail, k->lease_file);
	if (rc >= 0)
		rc = kealease_tail_read(&k->tail, kea_lease_line, k);
	k->loading = false;
	if (rc < 0)
		return rc;
	k->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (k->ino_fd >= 0 && kea_fmt(dir, sizeof(dir), "%s", k->lease_file) == 0)
		(void)inotify_add_watch(k->ino_fd, dirname(dir), IN_CREATE | IN_MOVED_TO);
	k->wd_file = -1;
	k->watched_ino = 0;
	kea_watch_file(k);
	return 0;
}

/* ---- the interface ---------------------------------------------------------------------- */

static int kea_paths(struct kea *k, const struct kea_settings *s, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	if (kea_fmt(k->base_url, sizeof(k->base_url), "%s", s->base_url) < 0 ||
	    kea_fmt(k->dir, sizeof(k->dir), "%s/kea", s->state_dir) < 0 ||
	    kea_fmt(k->conf_path, sizeof(k->conf_path), "%s/kea-dhcp4.json", k->dir) < 0 ||
	    kea_fmt(k->test_path, sizeof(k->test_path), "%s/kea-test.json", k->dir) < 0 ||
	    kea_fmt(k->sock_path, sizeof(k->sock_path), "%s/kea4.sock", k->dir) < 0 ||
	    kea_fmt(k->pid_path, sizeof(k->pid_path), "%s/kea-dhcp4.kea-dhcp4.pid", k->dir) < 0 ||
	    kea_fmt(k->lease_file, sizeof(k->lease_file), "%s", s->lease_file) < 0)
		return kea_fail(err, errlen, -ENAMETOOLONG, "dhcp.state_dir too long: %s",
				s->state_dir);
	if (strlen(k->sock_path) >= sizeof(sa.sun_path))
		return kea_fail(err, errlen, -ENAMETOOLONG,
				"dhcp.state_dir path too long for Kea's control socket: %s",
				s->state_dir);
	return 0;
}

int kea_new(const struct kea_settings *s, struct kea **out, char *err, size_t errlen)
{
	struct kea *k = calloc(1, sizeof(*k));
	char dir[PATH_MAX];
	*out = k;
	if (k == NULL)
		return kea_fail(err, errlen, -ENOMEM, "out of memory");
	k->s = *s;
	k->out_fd = k->ctl_fd = k->ino_fd = k->wd_file = -1;
	k->tail.fd = -1;
	int rc = kea_paths(k, s, err, errlen);
	if (rc < 0)
		return rc;
	if (valid_cidr(s->cfg->subnet, &k->network, &k->prefix) < 0)
		return kea_fail(err, errlen, -EINVAL, "dhcp.subnet %s", s->cfg->subnet);
	if (access(s->cfg->kea, X_OK) != 0)
		return kea_fail(err, errlen, -EACCES,
				"dhcp.kea %s is not executable (is Debian's kea-dhcp4-server "
				"installed?)",
				s->cfg->kea);
	if (fs_mkdir_p(k->dir, 0700) < 0 || chmod(k->dir, 0700) < 0)
		return kea_fail(err, errlen, -EIO, "cannot create %s: %s", k->dir, strerror(errno));
	if (kea_fmt(dir, sizeof(dir), "%s", k->lease_file) < 0 ||
	    fs_mkdir_p(dirname(dir), 0750) < 0)
		return kea_fail(err, errlen, -EIO, "cannot create the directory of %s: %s",
				k->lease_file, strerror(errno));
	if (dhcpproc_iface_ipv4(s->cfg->interface, k->network, k->prefix, k->server_ip) < 0)
		return kea_fail(err, errlen, -EADDRNOTAVAIL,
				"dhcp.interface %s has no IPv4 address in dhcp.subnet %s (Kea "
				"names it as the TFTP server)",
				s->cfg->interface, s->cfg->subnet);
	return 0;
}

int kea_test(struct kea *k, char *err, size_t errlen)
{
	char *text = NULL, out[256];
	size_t len = 0, nhosts = 0;
	int rc = kea_write_conf(k, k->test_path, &text, &len, &nhosts);
	free(text);
	if (rc < 0)
		return kea_fail(err, errlen, rc, "cannot write Kea's configuration in %s", k->dir);
	char *const argv[] = {(char *)k->s.cfg->kea, (char *)"-t", k->test_path, NULL};
	char *const envp[] = {(char *)"KEA_LOCKFILE_DIR=none",
			      (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	int status = dhcpproc_run_last(argv, envp, KEA_TEST_WAIT_MS, out, sizeof(out));
	unlink(k->test_path);
	if (status < 0)
		return kea_fail(err, errlen, status, "cannot run %s -t: %s", k->s.cfg->kea,
				strerror(-status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return kea_fail(err, errlen, -EINVAL, "%s -t refuses the new configuration: %s",
				k->s.cfg->kea, out[0] ? out : "(no message)");
	return 0;
}

int kea_run(struct kea *k, char *err, size_t errlen)
{
	atomic_store(&k->pid, 0);
	atomic_store(&k->up, 0);
	atomic_store(&k->trial_failed, 0);
	k->termed = 0;
	k->backoff = 0;
	k->started_at = k->restart_at = k->next_reload_at = 0;
	k->linelen = 0;
	k->dirty = false;
	k->lease_due = false;
	int rc = kea_load_leases(k);
	if (rc < 0)
		return kea_fail(err, errlen, rc, "cannot read Kea's lease file %s: %s",
				k->lease_file, strerror(-rc));
	return 0;
}

int kea_fds(struct kea *k, struct pollfd *p)
{
	int n = 0;
	int fds[KEA_NFDS] = {k->out_fd, k->ctl_fd, k->lease_due ? -1 : k->ino_fd};
	for (int i = 0; i < KEA_NFDS; i++)
		if (fds[i] >= 0)
			p[n++] = (struct pollfd){fds[i], POLLIN, 0};
	return n;
}

void kea_poll(struct kea *k, const struct pollfd *p, int n, bool stopping)
{
	for (int i = 0; i < n; i++) {
		if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (p[i].fd == k->out_fd)
			kea_read_output(k);
		else if (p[i].fd == k->ctl_fd)
			kea_reload_read(k);
		else if (p[i].fd == k->ino_fd)
			kea_inotify(k);
	}
	kea_reap(k, stopping);
	int64_t now = dhcpproc_now_ms();
	if ((k->lease_due && now >= k->lease_due_at) || now - k->lease_read_at >= KEA_LEASE_POLL_MS)
		kea_read_leases(k);
	if (stopping)
		return;
	kea_maybe_spawn(k);
	kea_maybe_reload(k);
}

int kea_timeout(struct kea *k)
{
	if (k->lease_due) {
		int64_t left = k->lease_due_at - dhcpproc_now_ms();
		return left < 0 ? 0 : (int)left;
	}
	if (!k->dirty || k->ctl_fd >= 0)
		return KEA_QUIET_MS; /* how often the store's generation is looked at */
	int64_t due = k->changed_at + KEA_QUIET_MS;
	if (k->dirty_since + KEA_BATCH_MS < due)
		due = k->dirty_since + KEA_BATCH_MS;
	if (k->next_reload_at > due)
		due = k->next_reload_at;
	int64_t left = due - dhcpproc_now_ms();
	return left < 0 ? 0 : left > KEA_QUIET_MS ? KEA_QUIET_MS : (int)left;
}

bool kea_stopped(struct kea *k, int64_t deadline_ms)
{
	int pid = atomic_load(&k->pid);
	if (pid == 0)
		return true;
	if (pid != k->termed) {
		kill(pid, SIGTERM);
		k->termed = pid;
	}
	if (dhcpproc_now_ms() <= deadline_ms)
		return false;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	atomic_store(&k->pid, 0);
	kea_read_leases(k);
	return true;
}

void kea_halt(struct kea *k)
{
	kea_reload_close(k);
	if (k->out_fd >= 0)
		close(k->out_fd);
	if (k->ino_fd >= 0)
		close(k->ino_fd);
	k->out_fd = k->ino_fd = k->wd_file = -1;
	k->watched_ino = 0;
	kealease_tail_close(&k->tail);
}

void kea_free(struct kea *k)
{
	if (k == NULL)
		return;
	kea_halt(k);
	kealease_map_free(k->map);
	free(k->applied);
	free(k);
}

int kea_pid(struct kea *k)
{
	return k != NULL ? atomic_load(&k->pid) : 0;
}

int kea_state(struct kea *k, char *why, size_t len)
{
	int pid = atomic_load(&k->pid);
	if (pid != 0 && atomic_load(&k->up) == pid)
		return 1;
	if (atomic_load(&k->trial_failed))
		return kea_fail(why, len, -EIO, "%s", k->trial_why);
	return 0;
}

void kea_trial(struct kea *k, bool on)
{
	atomic_store(&k->trial, on ? 1 : 0);
}
