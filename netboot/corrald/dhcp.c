/*
 * dhcp: dnsmasq supervision, host-file sync, lease hook and reload.  See
 * dhcp.h.
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
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dhcpconf.h"
#include "dhcpproc.h"
#include "dhcpstate.h"
#include "fsutil.h"
#include "kea.h"
#include "log.h"
#include "valid.h"

#define DHCP_UP_WAIT_MS 10000   /* a commit waits this long for "started" */
#define DHCP_TEST_WAIT_MS 10000 /* and dnsmasq --test this long */
#define DHCP_TFTP_PORT 69

struct dhcp_ops;

struct dhcp {
	struct config_dhcp cfg;     /* a copy: dnsmasq needs a restart for changes anyway */
	const struct dhcp_ops *ops; /* the DHCP server: dnsmasq itself, or Kea */
	struct kea *kea;            /* backend kea */
	char lease_file[PATH_MAX];  /* backend kea: dhcp.lease_file, resolved */
	char base_url[256];         /* corrald's advertised URL, for iPXE */
	struct dhcp_env env;
	bool proxy;         /* proxy-DHCP mode */
	char dir[PATH_MAX]; /* state directory */
	char hosts[PATH_MAX + 16], dns[PATH_MAX + 16], tftp[PATH_MAX + 16], tmp[PATH_MAX + 16];
	char sock_path[PATH_MAX + 16], conf_path[PATH_MAX + 16];
	char err[256]; /* why the last step failed (dhcp_fail) */
	bool running;  /* the thread runs (between dhcp_run and dhcp_halt) */
	pthread_t thread;
	int wake_fd;   /* eventfd: stop */
	int listen_fd; /* hook socket */
	int out_fd;    /* dnsmasq's stdout+stderr */
	_Atomic int pid;
	_Atomic int stop;
	_Atomic int up;           /* pid of the dnsmasq that logged "started", 0 if none */
	_Atomic int trial;        /* a commit waits: a dnsmasq that fails to start stays down */
	_Atomic int trial_failed; /* ...and it did (why in trial_why) */
	char trial_why[160];
	char other_why[160];   /* why the other server failed (ops->state), main thread's */
	bool warned_size;      /* the sizing warning was logged */
	int64_t stop_deadline; /* monotonic ms: SIGKILL after */
	int termed;            /* the pid sent SIGTERM while stopping */
	int64_t gone_at;       /* monotonic ms: dnsmasq seen gone while stopping */
	int64_t last_hook_at;  /* monotonic ms: the last hook connection */
	unsigned backoff;      /* seconds before the next restart */
	int64_t started_at, restart_at; /* monotonic ms */
	uint64_t synced_gen;
	int synced;
	struct dhcpstate_files files;    /* hostsdir as written */
	struct dhcpstate_files dnsfiles; /* DNS hostsdir as written */
	char linebuf[4096];
	size_t linelen;
	struct dhcpstate_refusals refusals;
	struct dhcpstate_seen seen;
};

/*
 * The DHCP server behind the interface, chosen by dhcp.backend when a side
 * is made.  dnsmasq always runs: it serves TFTP, node-name DNS and router
 * advertisements for either.  With "dnsmasq" it hands out addresses too
 * (its host files, its lease hook) and needs nothing more; with "kea" its
 * DHCPv4 is off and Kea (kea.c) answers, run by this side's thread.  Each
 * step is optional (NULL: nothing to do for that server).
 */
struct dhcp_ops {
	const char *name;
	bool masq_dhcp;              /* dnsmasq hands out addresses */
	int (*make)(struct dhcp *d); /* a new side: the server's part, checked */
	int (*test)(struct dhcp *d); /* prepare: the server's own check of its config */
	int (*run)(struct dhcp *d);  /* before the thread starts */
	int (*fds)(struct dhcp *d, struct pollfd *p); /* the thread: what to poll too */
	void (*poll)(struct dhcp *d, const struct pollfd *p, int n); /* ...and after poll */
	int (*timeout)(struct dhcp *d);  /* ...sleeping no longer than this (ms) */
	bool (*stopped)(struct dhcp *d); /* stopping: true once the server is gone */
	int (*state)(struct dhcp *d);    /* a commit waits: 1 up, 0 not yet, <0 failed */
	void (*trial)(struct dhcp *d, bool on);
	void (*halt)(struct dhcp *d); /* after the thread */
	void (*free)(struct dhcp *d);
	int (*pid)(struct dhcp *d);
};

static void dhcp_refusal(void *arg, const struct dhcp_refusal_log *rl, int64_t now_us);

static int dhcp_kea_make(struct dhcp *d)
{
	struct kea_settings ks = {
		.cfg = &d->cfg,
		.base_url = d->base_url,
		.state_dir = d->dir,
		.lease_file = d->lease_file,
		.st = d->env.st,
		.ev = d->env.ev,
		.metrics = d->env.metrics,
		.refusal = dhcp_refusal,
		.arg = d,
	};
	return kea_new(&ks, &d->kea, d->err, sizeof(d->err));
}

static int dhcp_kea_test(struct dhcp *d)
{
	return kea_test(d->kea, d->err, sizeof(d->err));
}

static int dhcp_kea_run(struct dhcp *d)
{
	return kea_run(d->kea, d->err, sizeof(d->err));
}

static int dhcp_kea_fds(struct dhcp *d, struct pollfd *p)
{
	return kea_fds(d->kea, p);
}

static void dhcp_kea_poll(struct dhcp *d, const struct pollfd *p, int n)
{
	kea_poll(d->kea, p, n, atomic_load(&d->stop) != 0);
}

static int dhcp_kea_timeout(struct dhcp *d)
{
	return kea_timeout(d->kea);
}

static bool dhcp_kea_stopped(struct dhcp *d)
{
	return kea_stopped(d->kea, d->stop_deadline);
}

static int dhcp_kea_state(struct dhcp *d)
{
	return kea_state(d->kea, d->other_why, sizeof(d->other_why));
}

static void dhcp_kea_trial(struct dhcp *d, bool on)
{
	kea_trial(d->kea, on);
}

static void dhcp_kea_halt(struct dhcp *d)
{
	kea_halt(d->kea);
}

static void dhcp_kea_free(struct dhcp *d)
{
	kea_free(d->kea);
	d->kea = NULL;
}

static int dhcp_kea_pid(struct dhcp *d)
{
	return kea_pid(d->kea);
}

static const struct dhcp_ops dhcp_backends[] = {
	{.name = "dnsmasq", .masq_dhcp = true},
	{
		.name = "kea",
		.make = dhcp_kea_make,
		.test = dhcp_kea_test,
		.run = dhcp_kea_run,
		.fds = dhcp_kea_fds,
		.poll = dhcp_kea_poll,
		.timeout = dhcp_kea_timeout,
		.stopped = dhcp_kea_stopped,
		.state = dhcp_kea_state,
		.trial = dhcp_kea_trial,
		.halt = dhcp_kea_halt,
		.free = dhcp_kea_free,
		.pid = dhcp_kea_pid,
	},
};

/* Says why in d->err (a longer reason ends in "..."); returns rc. */
__attribute__((format(printf, 3, 4))) static int dhcp_fail(struct dhcp *d, int rc, const char *fmt,
							   ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vfmt_msg(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* Hands d's reason to the caller's err (or a generic one). */
static void dhcp_err_out(const struct dhcp *d, int rc, char *err, size_t errlen)
{
	const char *why = d != NULL && d->err[0] ? d->err : strerror(-rc);
	buf_fmt_msg(err, errlen, "%s", why);
}

static int dhcp_path(char *out, size_t len, const char *dir, const char *name)
{
	return buf_fmt(out, len, "%s/%s", dir, name);
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

/* ---- host files ------------------------------------------------------------- */

struct dhcp_apply {
	struct dhcp *d;
	const char *dir;
};

/* One step of dhcpstate_diff: write or remove dir/name. */
static int dhcp_apply(void *arg, enum dhcpstate_op op, const struct dhcpstate_file *f)
{
	struct dhcp_apply *a = arg;
	if (op == DHCPSTATE_UNLINK) {
		char p[PATH_MAX + 64];
		if (dhcp_path(p, sizeof(p), a->dir, f->name) == 0)
			unlink(p); /* already gone is gone */
		return 0;
	}
	return dhcp_write(a->d, a->dir, f->name, f->content, strlen(f->content), 0);
}

/*
 * Brings dir in line with want: 1 if dnsmasq needs SIGHUP, 0 if not,
 * negative on error.  *have becomes want when it worked; after a failure
 * it stays, so the next sync writes again what may be missing.
 */
static int dhcp_sync_dir(struct dhcp *d, const char *dir, struct dhcpstate_files *have,
			 struct dhcpstate_files *want)
{
	struct dhcp_apply a = {d, dir};
	int rc = dhcpstate_diff(have, want, dhcp_apply, &a);
	if (rc < 0) {
		dhcpstate_files_clear(want);
		return rc;
	}
	dhcpstate_files_clear(have);
	*have = *want;
	want->v = NULL;
	want->n = 0;
	return rc;
}

/* The wanted host files from the store's hosts h[0..n). */
static int dhcp_want(struct dhcp *d, const struct store_dhcp_host *h, size_t n,
		     struct dhcpstate_files *want, struct dhcpstate_files *wantdns)
{
	struct buf b;
	int rc = 0;
	buf_init(&b, 1024);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (d->ops->masq_dhcp) { /* else dnsmasq's DHCPv4 is off: no host entries */
			rc = dhcpconf_host(&h[i], d->cfg.lease_time, &b);
			if (rc == 0)
				rc = dhcpstate_files_add(want, n, h[i].mac, &b);
		}
		if (rc == 0 && d->cfg.dns_port != 0) {
			rc = dhcpconf_dns_host(&h[i], d->cfg.domain, &b);
			if (rc == 0 && b.len > 0)
				rc = dhcpstate_files_add(wantdns, n, h[i].mac, &b);
		}
		buf_reset(&b);
	}
	buf_clear(&b);
	return rc;
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
	uint64_t gen = store_generation(d->env.st);
	int rc = store_dhcp_hosts(d->env.st, &h, &n);
	store_release(d->env.st);
	if (rc < 0)
		return rc;
	struct dhcpstate_files want = {NULL, 0}, wantdns = {NULL, 0};
	char warn[256];
	rc = dhcp_want(d, h, n, &want, &wantdns);
	size_t nodes = 0;
	for (size_t i = 0; i < n; i++)
		nodes += h[i].name[0] != '\0'; /* a node's boot interface carries its name */
	free(h);
	bool big = dhcpstate_sizing_warning(d->ops->name, nodes, warn, sizeof(warn));
	if (big && !d->warned_size)
		log_warnx("dhcp: %s", warn);
	d->warned_size = big;
	if (rc < 0) {
		dhcpstate_files_clear(&want);
		dhcpstate_files_clear(&wantdns);
		return rc;
	}
	int hup1 = dhcp_sync_dir(d, d->hosts, &d->files, &want);
	int hup2 = dhcp_sync_dir(d, d->dns, &d->dnsfiles, &wantdns);
	if (hup1 < 0 || hup2 < 0)
		return dhcp_fail(d, -EIO, "cannot write host entries in %s", d->dir);
	d->synced_gen = gen;
	d->synced = 1;
	int pid = atomic_load(&d->pid);
	if ((hup1 || hup2) && pid > 0) {
		log_debug("dhcp: host entries changed, removed or many new; SIGHUP to dnsmasq");
		kill(pid, SIGHUP);
	}
	return 0;
}

/* ---- TFTP root and dnsmasq.conf ---------------------------------------------- */

/* The iPXE binaries, by index: 2 per architecture (first stage, full), NULLs skipped. */
static const char *dhcp_ipxe_file(unsigned i)
{
	const struct dhcpconf_arch *a = &dhcpconf_arches[i / 2];
	return i % 2 ? a->full_file : a->file;
}

/* Copies one iPXE binary from dhcp.ipxe_dir into the TFTP root. */
static int dhcp_copy_ipxe(struct dhcp *d, const char *file)
{
	char src[PATH_MAX + 64];
	if (dhcp_path(src, sizeof(src), d->cfg.ipxe_dir, file) < 0)
		return dhcp_fail(d, -ENAMETOOLONG, "dhcp.ipxe_dir too long");
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dhcp_fail(d, -ENOENT, "%s: %s (is Debian's ipxe package installed?)", src,
				 strerror(errno));
	struct buf b;
	buf_init(&b, 16u << 20);
	char chunk[65536];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)r) < 0)
			break;
	close(fd);
	int rc = r == 0 ? dhcp_write(d, d->tftp, file, b.data, b.len, 0) : -EIO;
	buf_clear(&b);
	return rc < 0 ? dhcp_fail(d, rc, "cannot copy %s into %s", src, d->tftp) : 0;
}

/*
 * The i-th binary the TFTP root gets (dhcp_ipxe_file), or NULL: none in
 * that slot, a UEFI HTTP-boot row (/firmware/ serves those from
 * dhcp.ipxe_dir), or one Debian 12's ipxe has none of (arm64, riscv64...:
 * `make firmware` has them) that dhcp.ipxe_dir lacks, which note logs.
 */
static const char *dhcp_tftp_file(struct dhcp *d, unsigned i, int note)
{
	const struct dhcpconf_arch *a = &dhcpconf_arches[i / 2];
	const char *file = dhcp_ipxe_file(i);
	char src[PATH_MAX + 64];
	if (file == NULL || a->http)
		return NULL;
	if (!a->optional || dhcp_path(src, sizeof(src), d->cfg.ipxe_dir, file) < 0 ||
	    access(src, R_OK) == 0)
		return file;
	if (note)
		log_info("dhcp: %s: %s; %s clients get no boot file", src, strerror(errno),
			 a->name);
	return NULL;
}

/* Copies the iPXE binaries (dhcp_tftp_file) into the TFTP root and writes autoexec.ipxe. */
static int dhcp_tftp_root(struct dhcp *d)
{
	for (unsigned i = 0; i < 2 * dhcpconf_narches; i++) {
		const char *file = dhcp_tftp_file(d, i, 1);
		if (file == NULL)
			continue;
		int rc = dhcp_copy_ipxe(d, file);
		if (rc < 0)
			return rc;
	}
	struct buf b;
	buf_init(&b, 4096);
	int rc = dhcpconf_autoexec(d->base_url, &b);
	if (rc == 0)
		rc = dhcp_write(d, d->tftp, "autoexec.ipxe", b.data, b.len, 0);
	buf_clear(&b);
	return rc < 0 ? dhcp_fail(d, rc, "cannot write autoexec.ipxe in %s", d->tftp) : 0;
}

/* dnsmasq's configuration for d, as text. */
static int dhcp_render(const struct dhcp *d, struct buf *b)
{
	struct dhcpconf c;
	memset(&c, 0, sizeof(c));
	c.proxy = d->proxy;
	c.no_dhcp = !d->ops->masq_dhcp;
	c.interface = d->cfg.interface;
	if (valid_cidr(d->cfg.subnet, &c.network, &c.prefix) < 0)
		return -EINVAL;
	c.pool_start = d->cfg.pool_start;
	c.pool_end = d->cfg.pool_end;
	c.router = d->cfg.router;
	c.domain = d->cfg.domain;
	c.dns_port = d->cfg.dns_port;
	c.dns_upstream = d->cfg.dns_upstream;
	c.lease_time = d->cfg.lease_time;
	c.pool_lease_time = d->cfg.pool_lease_time;
	c.lease_max = d->cfg.lease_max;
	c.tftp_max = d->cfg.tftp_max;
	c.tftp_root = d->tftp;
	c.hostsdir = d->hosts;
	c.dns_hostsdir = d->dns;
	c.hook = d->cfg.hook;
	c.base_url = d->base_url;
	return dhcpconf_render(&c, b);
}

static int dhcp_write_conf(struct dhcp *d)
{
	struct buf b;
	buf_init(&b, 64 * 1024);
	int rc = dhcp_render(d, &b);
	if (rc == 0)
		rc = dhcp_write(d, d->dir, "dnsmasq.conf", b.data, b.len, 1);
	buf_clear(&b);
	return rc;
}

/* ---- dnsmasq ---------------------------------------------------------------------- */

static int dhcp_spawn(struct dhcp *d)
{
	int out_fd;
	char conf_arg[PATH_MAX + 64], env_sock[PATH_MAX + 64];
	if (buf_fmt(conf_arg, sizeof(conf_arg), "--conf-file=%s", d->conf_path) < 0 ||
	    buf_fmt(env_sock, sizeof(env_sock), "CORRAL_HOOK_SOCKET=%s", d->sock_path) < 0)
		return -ENAMETOOLONG;
	char *const argv[] = {d->cfg.dnsmasq, conf_arg, NULL};
	char *const envp[] = {env_sock, (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	pid_t pid = dhcpproc_spawn_piped(argv, envp, &out_fd);
	if (pid < 0)
		return pid;
	if (d->out_fd >= 0)
		close(d->out_fd);
	d->out_fd = out_fd;
	d->linelen = 0;
	atomic_store(&d->pid, pid);
	d->started_at = dhcpproc_now_ms();
	log_info("dhcp: started dnsmasq (pid %d, %s mode on %s)", (int)pid, d->cfg.mode,
		 d->cfg.interface);
	return 0;
}

/* ---- dnsmasq's log ------------------------------------------------------------------ */

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
	int rc = store_node_by_mac(d->env.st, pl.mac, &node);
	store_release(d->env.st);
	if (rc < 0 || node == 0 || dhcpstate_proxy_detail(&pl, detail, sizeof(detail)) < 0)
		return;
	events_add_at(d->env.ev, now_us, node, "dhcp", pl.ip, detail, pl.mac, NULL);
}

/*
 * A known node's request that dnsmasq ignored or refused: on its timeline,
 * with why (a disabled node, a pinned address dnsmasq cannot give, a NAK),
 * so "it never got an address" is visible where the admin looks.  A machine
 * that keeps asking gets it once a minute per reason.
 */
static void dhcp_refusal(void *arg, const struct dhcp_refusal_log *rl, int64_t now_us)
{
	struct dhcp *d = arg;
	int64_t node = 0;
	char detail[192];
	int64_t mono_us = dhcpproc_now_ms() * 1000; /* a clock step must not mute a node */
	if (dhcpstate_refused_lately(&d->refusals, rl->mac, rl->message, mono_us))
		return;
	int rc = store_node_by_mac(d->env.st, rl->mac, &node);
	store_release(d->env.st);
	if (rc < 0 || node == 0)
		return; /* an unknown machine: the server's log says it */
	dhcpstate_refusal_note(&d->refusals, rl->mac, rl->message, mono_us);
	if (dhcpstate_refusal_detail(rl, detail, sizeof(detail)) == 0)
		events_add_at(d->env.ev, now_us, node, "dhcp", rl->ip, detail, rl->mac, NULL);
}

/* One line of dnsmasq's output: noted, then logged. */
static void dhcp_line(struct dhcp *d, const char *line, int64_t now_us)
{
	struct dhcp_refusal_log rl;
	dhcpstate_seen_line(&d->seen, line, now_us);
	if (d->proxy)
		dhcp_note_proxy(d, line, now_us);
	else if (dhcpconf_log_refusal(line, &rl) == 0)
		dhcp_refusal(d, &rl, now_us);
	if (dhcpconf_log_started(line))
		atomic_store(&d->up, atomic_load(&d->pid));
	log_info("dnsmasq: %s", line);
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
		if (*start)
			dhcp_line(d, start, now_us);
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

/*
 * When the log showed key (see dhcpstate_seen_take), 0 if it did not
 * lately.  First reads what dnsmasq logged and the loop has not read yet:
 * all of it (a boot storm logs more than one read takes), within reason.
 */
static int64_t dhcp_seen_time(struct dhcp *d, const char *key, int64_t at_s)
{
	for (int i = 0; i < 64 && d->out_fd >= 0; i++) {
		struct pollfd op = {d->out_fd, POLLIN, 0};
		if (poll(&op, 1, 0) <= 0 || !(op.revents & POLLIN))
			break;
		dhcp_read_output(d);
	}
	return dhcpstate_seen_take(&d->seen, key, at_s, store_now_us());
}

/* A dnsmasq that a commit waits for died before it started: the commit decides. */
static void dhcp_trial_failed(struct dhcp *d, const char *why)
{
	if (buf_fmt(d->trial_why, sizeof(d->trial_why), "%s", why) < 0)
		memcpy(d->trial_why + sizeof(d->trial_why) - 4, "...", 4);
	d->restart_at = INT64_MAX;
	atomic_store(&d->trial_failed, 1);
}

static void dhcp_reap(struct dhcp *d)
{
	int pid = atomic_load(&d->pid), status;
	char how[64];
	if (pid <= 0 || waitpid(pid, &status, WNOHANG) != pid)
		return;
	atomic_store(&d->pid, 0);
	if (d->stop) {
		d->gone_at = dhcpproc_now_ms();
		return;
	}
	dhcpproc_status_text(status, how, sizeof(how));
	if (atomic_load(&d->trial) && atomic_load(&d->up) != pid) {
		char why[128];
		if (buf_fmt(why, sizeof(why), "the new dnsmasq %s before it started", how) < 0)
			why[0] = '\0';
		dhcp_trial_failed(d, why);
		return;
	}
	int64_t ran = dhcpproc_now_ms() - d->started_at;
	d->backoff = ran > 60000 ? 1 : (d->backoff ? d->backoff * 2 : 1);
	if (d->backoff > 30)
		d->backoff = 30;
	log_warnx("dhcp: dnsmasq %s; restarting in %u s", how, d->backoff);
	metrics_dhcp_restart(d->env.metrics);
	d->restart_at = dhcpproc_now_ms() + d->backoff * 1000;
}

/* ---- the hook ------------------------------------------------------------------------ */

/* Reads one line (bounded, 2 s) from a hook connection into line[len]. */
static void dhcp_hook_line(int fd, char *line, size_t size)
{
	size_t len = 0;
	struct pollfd p = {fd, POLLIN, 0};
	while (len < size - 1) {
		if (poll(&p, 1, 2000) <= 0)
			break;
		ssize_t r = read(fd, line + len, size - 1 - len);
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
}

/* The hook's init call: every lease the store holds, back to dnsmasq. */
static void dhcp_hook_init(struct dhcp *d, int fd)
{
	struct buf b;
	buf_init(&b, 64u << 20);
	if (store_leases(d->env.st, (int64_t)time(NULL), &b) == 0 && b.len > 0) {
		if (fs_write_all(fd, b.data, b.len) < 0)
			log_debug("dhcp: lease list not sent whole to the hook");
	}
	buf_clear(&b);
}

/* One hook connection: a line in, maybe leases out. */
static void dhcp_hook(struct dhcp *d, int fd)
{
	char line[1024], detail[192], key[64];
	struct dhcp_event e;
	int64_t node = 0, at_s;
	dhcp_hook_line(fd, line, sizeof(line));
	if (dhcpconf_parse_event(line, &e) < 0) {
		log_warnx("dhcp: malformed hook event ignored");
		return;
	}
	struct store *st = d->env.st;
	if (!d->ops->masq_dhcp && e.action != DHCP_TFTP)
		return; /* no DHCPv4 in dnsmasq: leases are Kea's */
	switch (e.action) {
	case DHCP_INIT:
		dhcp_hook_init(d, fd);
		break;
	case DHCP_ADD:
	case DHCP_OLD:
		/* dnsmasq replays every lease as "old" after SIGHUP or a restart:
		 * same address, same expiry.  Not a DHCP exchange: no event. */
		if (e.action == DHCP_OLD && store_lease_same(st, e.mac, e.ip, e.expires) == 1)
			break;
		if (store_lease_set(st, e.mac, e.ip, e.expires, e.hostname, e.client_id) < 0)
			log_warnx("dhcp: could not store the lease of %s: %s", e.mac,
				  store_errmsg());
		(void)store_node_by_mac(st, e.mac, &node);
		if (dhcpstate_lease_detail(&e, dhcpstate_hook_vendor(line), detail,
					   sizeof(detail)) < 0 ||
		    dhcpstate_hook_key(&e, d->cfg.lease_time, d->cfg.pool_lease_time, key,
				       sizeof(key), &at_s) < 0)
			break;
		events_add_at(d->env.ev, dhcp_seen_time(d, key, at_s), node, "dhcp", e.ip, detail,
			      e.mac, NULL);
		break;
	case DHCP_DEL:
		if (store_lease_del(st, e.mac) < 0)
			log_warnx("dhcp: could not drop the lease of %s: %s", e.mac,
				  store_errmsg());
		break;
	case DHCP_TFTP:
		if (store_node_by_ip(st, e.ip, &node) < 0 ||
		    buf_fmt(detail, sizeof(detail), "%s (%llu bytes)", e.file,
			    (unsigned long long)e.size) < 0 ||
		    dhcpstate_hook_key(&e, 0, 0, key, sizeof(key), &at_s) < 0)
			break;
		events_add_at(d->env.ev, dhcp_seen_time(d, key, -1), node, "tftp", e.ip, detail,
			      NULL, NULL);
		break;
	default:
		break;
	}
	store_release(st);
}

/* ---- the thread ---------------------------------------------------------------------- */

/*
 * Stopping: dnsmasq gets SIGTERM; its last lease events are still taken
 * until it is gone, so no lease it granted is lost.  dnsmasq hands its
 * pending lease changes to its script helper at SIGTERM and exits; the
 * helper outlives it and runs them (our hook) one by one.  Take them until
 * the hook socket has been quiet for a second (10 s at most), or those
 * leases are forgotten by the next dnsmasq.  True when the thread may end.
 */
static bool dhcp_stopped(struct dhcp *d)
{
	int pid = atomic_load(&d->pid);
	int64_t now = dhcpproc_now_ms();
	if (pid != 0 && pid != d->termed) {
		kill(pid, SIGTERM);
		d->termed = pid;
	}
	int64_t quiet = d->last_hook_at > d->gone_at ? d->last_hook_at : d->gone_at;
	if (pid == 0 && (now - quiet >= 1000 || now - d->gone_at >= 10000))
		return true;
	if (pid != 0 && now > d->stop_deadline) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		atomic_store(&d->pid, 0);
		return true;
	}
	return false;
}

/* Starts dnsmasq when it is due. */
static void dhcp_maybe_spawn(struct dhcp *d)
{
	if (atomic_load(&d->pid) != 0 || dhcpproc_now_ms() < d->restart_at)
		return;
	int rc = dhcp_write_conf(d);
	if (rc == 0)
		rc = dhcp_spawn(d);
	if (rc == 0)
		return;
	if (atomic_load(&d->trial)) {
		char why[PATH_MAX + 64];
		if (buf_fmt(why, sizeof(why), "cannot start %s: %s", d->cfg.dnsmasq,
			    strerror(-rc)) < 0)
			why[0] = '\0';
		dhcp_trial_failed(d, why);
		return;
	}
	log_warnx("dhcp: cannot start %s: %s", d->cfg.dnsmasq, strerror(-rc));
	d->backoff = d->backoff ? d->backoff * 2 : 1;
	if (d->backoff > 30)
		d->backoff = 30;
	d->restart_at = dhcpproc_now_ms() + d->backoff * 1000;
}

static void *dhcp_main(void *arg)
{
	struct dhcp *d = arg;
	for (;;) {
		/* dnsmasq and the other server stop together; a stop ends only when both are gone */
		if (atomic_load(&d->stop)) {
			bool other = d->ops->stopped == NULL || d->ops->stopped(d);
			if (dhcp_stopped(d) && other)
				break;
		}
		if (!atomic_load(&d->stop))
			dhcp_maybe_spawn(d);
		struct pollfd p[3 + KEA_NFDS] = {
			{d->wake_fd, POLLIN, 0}, {d->listen_fd, POLLIN, 0}, {d->out_fd, POLLIN, 0}};
		int np = d->out_fd >= 0 ? 3 : 2;
		int nb = d->ops->fds != NULL ? d->ops->fds(d, p + np) : 0;
		int tmo = atomic_load(&d->stop) ? 50 : 250;
		if (d->ops->timeout != NULL && d->ops->timeout(d) < tmo)
			tmo = d->ops->timeout(d);
		int n = poll(p, (nfds_t)(np + nb), tmo);
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
				d->last_hook_at = dhcpproc_now_ms();
			}
		}
		if (d->ops->poll != NULL)
			d->ops->poll(d, p + np, n > 0 ? nb : 0);
		dhcp_reap(d);
		if (!atomic_load(&d->stop) &&
		    (!d->synced || store_generation(d->env.st) != d->synced_gen) &&
		    dhcp_sync(d) < 0)
			log_warnx("dhcp: %s", d->err);
	}
	return NULL;
}

/* ---- building a side ------------------------------------------------------------------ */

/* mkdir -p, the leaf 0755 whatever the umask (dnsmasq runs as nobody and
 * must get through). */
static int dhcp_mkdir(const char *path)
{
	int rc = fs_mkdir_p(path, 0755);
	if (rc < 0)
		return rc;
	return chmod(path, 0755) < 0 ? -errno : 0;
}

/* The state directory's paths. */
static int dhcp_paths(struct dhcp *d)
{
	if (buf_fmt(d->dir, sizeof(d->dir), "%s", d->cfg.state_dir) < 0 ||
	    dhcp_path(d->hosts, sizeof(d->hosts), d->dir, "hosts") < 0 ||
	    dhcp_path(d->dns, sizeof(d->dns), d->dir, "dns") < 0 ||
	    dhcp_path(d->tftp, sizeof(d->tftp), d->dir, "tftp") < 0 ||
	    dhcp_path(d->tmp, sizeof(d->tmp), d->dir, "tmp") < 0 ||
	    dhcp_path(d->sock_path, sizeof(d->sock_path), d->dir, "hook.sock") < 0 ||
	    dhcp_path(d->conf_path, sizeof(d->conf_path), d->dir, "dnsmasq.conf") < 0)
		return dhcp_fail(d, -ENAMETOOLONG, "dhcp.state_dir too long: %s", d->cfg.state_dir);
	struct sockaddr_un sa;
	if (strlen(d->sock_path) >= sizeof(sa.sun_path))
		return dhcp_fail(d, -ENAMETOOLONG, "dhcp.state_dir path too long for a socket: %s",
				 d->dir);
	return 0;
}

/* What a side needs from the file system, checked without touching a running dnsmasq. */
static int dhcp_check_files(struct dhcp *d)
{
	if (access(d->cfg.hook, X_OK) != 0)
		return dhcp_fail(d, -EACCES, "the lease hook %s is not executable", d->cfg.hook);
	if (access(d->cfg.dnsmasq, X_OK) != 0)
		return dhcp_fail(d, -EACCES, "dhcp.dnsmasq %s is not executable", d->cfg.dnsmasq);
	if (dhcp_mkdir(d->dir) < 0 || dhcp_mkdir(d->hosts) < 0 || dhcp_mkdir(d->dns) < 0 ||
	    dhcp_mkdir(d->tftp) < 0 || dhcp_mkdir(d->tmp) < 0)
		return dhcp_fail(d, -EIO, "cannot create %s: %s", d->dir, strerror(errno));
	int rc = dhcpproc_reachable(d->dir, d->err, sizeof(d->err));
	for (unsigned i = 0; rc == 0 && i < 2 * dhcpconf_narches; i++) {
		char src[PATH_MAX + 64];
		const char *file = dhcp_tftp_file(d, i, 0);
		if (file == NULL)
			continue;
		if (dhcp_path(src, sizeof(src), d->cfg.ipxe_dir, file) < 0)
			return dhcp_fail(d, -ENAMETOOLONG, "dhcp.ipxe_dir too long");
		if (access(src, R_OK) != 0)
			rc = dhcp_fail(d, -ENOENT, "%s: %s (is Debian's ipxe package installed?)",
				       src, strerror(errno));
	}
	return rc;
}

/* dhcp.lease_file, or kea-leases4.csv beside the store (kept across restarts, unlike state_dir). */
static int dhcp_lease_file(struct dhcp *d, const struct config *cfg)
{
	const char *slash = strrchr(cfg->store_path, '/');
	int rc = cfg->dhcp.lease_file[0] != '\0' ?
			 buf_fmt(d->lease_file, sizeof(d->lease_file), "%s", cfg->dhcp.lease_file) :
		 slash != NULL ?
			 buf_fmt(d->lease_file, sizeof(d->lease_file), "%.*s/kea-leases4.csv",
				 (int)(slash - cfg->store_path), cfg->store_path) :
			 buf_fmt(d->lease_file, sizeof(d->lease_file), "kea-leases4.csv");
	return rc < 0 ? dhcp_fail(d, rc, "dhcp.lease_file too long") : 0;
}

/* A side for cfg, not running: settings copied, paths and files checked. */
static int dhcp_new(const struct config *cfg, const struct dhcp_env *env, struct dhcp **out)
{
	struct dhcp *d = calloc(1, sizeof(*d));
	*out = d;
	if (d == NULL)
		return -ENOMEM;
	d->cfg = cfg->dhcp;
	d->env = *env;
	d->proxy = strcmp(cfg->dhcp.mode, "proxy") == 0;
	d->out_fd = d->listen_fd = d->wake_fd = -1;
	d->ops = &dhcp_backends[0];
	for (size_t i = 0; i < sizeof(dhcp_backends) / sizeof(dhcp_backends[0]); i++)
		if (strcmp(cfg->dhcp.backend, dhcp_backends[i].name) == 0)
			d->ops = &dhcp_backends[i];
	if (buf_fmt(d->base_url, sizeof(d->base_url), "%s", cfg->base_url) < 0)
		return dhcp_fail(d, -ENAMETOOLONG, "the advertised URL is too long");
	if (d->cfg.hook[0] == '\0')
		dhcpproc_default_hook(d->cfg.hook, sizeof(d->cfg.hook));
	int rc = dhcp_lease_file(d, cfg);
	if (rc == 0)
		rc = dhcp_paths(d);
	if (rc == 0)
		rc = dhcp_check_files(d);
	return rc == 0 && d->ops->make != NULL ? d->ops->make(d) : rc;
}

/* ---- checks a reload makes before it stops the running dnsmasq ------------------------ */

static int dhcp_check_iface(struct dhcp *d)
{
	int rc = dhcpproc_iface_exists(d->cfg.interface);
	if (rc < 0)
		return dhcp_fail(d, rc, "dhcp.interface %s: %s", d->cfg.interface,
				 rc == -ENODEV ? "no such interface" : strerror(-rc));
	return 0;
}

/* The ports d's dnsmasq will bind that cur's does not hold already: free? */
static int dhcp_check_ports(struct dhcp *d, const struct dhcp *cur)
{
	const char *iface = d->cfg.interface;
	bool same_iface = cur != NULL && strcmp(cur->cfg.interface, iface) == 0;
	unsigned dns = d->cfg.dns_port;
	if (dns != 0 && !(same_iface && cur->cfg.dns_port == dns) &&
	    dhcpproc_port_in_use(iface, dns, true) < 0)
		return dhcp_fail(d, -EADDRINUSE,
				 "dhcp.dns_port %u is in use on %s by another program", dns, iface);
	if (!same_iface && dhcpproc_port_in_use(iface, DHCP_TFTP_PORT, false) < 0)
		return dhcp_fail(d, -EADDRINUSE,
				 "the TFTP port (%u) is in use on %s by another program",
				 DHCP_TFTP_PORT, iface);
	return 0;
}

/* Runs `dnsmasq --test` on the configuration d would start with. */
static int dhcp_test_conf(struct dhcp *d)
{
	char path[PATH_MAX + 64], conf_arg[PATH_MAX + 80], out[256];
	struct buf b;
	buf_init(&b, 64 * 1024);
	int rc = dhcp_render(d, &b);
	if (rc == 0)
		rc = dhcp_path(path, sizeof(path), d->tmp, "dnsmasq-test.conf");
	if (rc == 0)
		rc = fs_write_atomic(path, b.data, b.len, 0644);
	buf_clear(&b);
	if (rc < 0 || buf_fmt(conf_arg, sizeof(conf_arg), "--conf-file=%s", path) < 0)
		return dhcp_fail(d, rc < 0 ? rc : -ENAMETOOLONG,
				 "cannot write dnsmasq's configuration in %s", d->tmp);
	char *const argv[] = {d->cfg.dnsmasq, (char *)"--test", conf_arg, NULL};
	char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	int status = dhcpproc_run(argv, envp, DHCP_TEST_WAIT_MS, out, sizeof(out));
	unlink(path);
	if (status < 0)
		return dhcp_fail(d, status, "cannot run %s --test: %s", d->cfg.dnsmasq,
				 strerror(-status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return dhcp_fail(d, -EINVAL, "%s --test refuses the new configuration: %s",
				 d->cfg.dnsmasq, out[0] ? out : "(no message)");
	return 0;
}

/* ---- running and stopping a side ---------------------------------------------------------- */

/* Starts d's thread (which starts dnsmasq), from a fresh state directory. */
static int dhcp_run(struct dhcp *d)
{
	d->err[0] = '\0';
	atomic_store(&d->stop, 0);
	atomic_store(&d->pid, 0);
	atomic_store(&d->up, 0);
	atomic_store(&d->trial_failed, 0);
	d->termed = 0;
	d->gone_at = d->last_hook_at = d->started_at = d->restart_at = 0;
	d->backoff = 0;
	d->synced = 0;
	d->linelen = 0;
	dhcpstate_files_clear(&d->files);
	dhcpstate_files_clear(&d->dnsfiles);
	dhcpproc_empty_dir(d->hosts);
	dhcpproc_empty_dir(d->dns);
	int rc = dhcp_tftp_root(d);
	if (rc < 0)
		return rc;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (buf_fmt(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock_path) < 0)
		return dhcp_fail(d, -ENAMETOOLONG, "socket path too long: %s", d->sock_path);
	unlink(d->sock_path);
	d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (d->listen_fd < 0 || bind(d->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(d->sock_path, 0600) < 0 || listen(d->listen_fd, 64) < 0) {
		rc = dhcp_fail(d, -EIO, "hook socket %s: %s", d->sock_path, strerror(errno));
		goto err_sock;
	}
	d->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (d->wake_fd < 0) {
		rc = dhcp_fail(d, -EIO, "eventfd: %s", strerror(errno));
		goto err_sock;
	}
	/* Host files first, so dnsmasq starts knowing every node. */
	rc = dhcp_sync(d);
	if (rc == 0 && d->ops->run != NULL)
		rc = d->ops->run(d);
	if (rc < 0)
		goto err_wake;
	if (pthread_create(&d->thread, NULL, dhcp_main, d) != 0) {
		rc = dhcp_fail(d, -EAGAIN, "cannot start the DHCP thread");
		goto err_wake;
	}
	d->running = true;
	return 0;

err_wake:
	if (d->ops->halt != NULL)
		d->ops->halt(d);
	close(d->wake_fd);
	d->wake_fd = -1;
err_sock:
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	d->listen_fd = -1;
	unlink(d->sock_path);
	return rc;
}

/* Stops dnsmasq (taking its last lease events) and the thread; d can run again. */
static void dhcp_halt(struct dhcp *d)
{
	if (!d->running)
		return;
	d->stop_deadline = dhcpproc_now_ms() + 5000;
	atomic_store(&d->stop, 1);
	uint64_t one = 1;
	if (write(d->wake_fd, &one, sizeof(one)) < 0)
		log_warn("dhcp: wake");
	pthread_join(d->thread, NULL); /* it stops and reaps dnsmasq (and Kea) */
	d->running = false;
	if (d->ops->halt != NULL)
		d->ops->halt(d);
	if (d->out_fd >= 0)
		close(d->out_fd);
	close(d->listen_fd);
	close(d->wake_fd);
	d->out_fd = d->listen_fd = d->wake_fd = -1;
	unlink(d->sock_path);
}

/* Waits until d's dnsmasq says it has started: 0, or -errno and why in d->err. */
static int dhcp_wait_up(struct dhcp *d, int64_t timeout_ms)
{
	int64_t deadline = dhcpproc_now_ms() + timeout_ms;
	for (;;) {
		int pid = atomic_load(&d->pid);
		int other = d->ops->state != NULL ? d->ops->state(d) : 1;
		if (pid != 0 && atomic_load(&d->up) == pid && other == 1)
			return 0;
		if (atomic_load(&d->trial_failed) || other < 0)
			return dhcp_fail(d, -EIO, "%s", other < 0 ? d->other_why : d->trial_why);
		if (dhcpproc_now_ms() >= deadline)
			return dhcp_fail(d, -ETIMEDOUT, "%s did not start within %lld s",
					 pid != 0 && atomic_load(&d->up) == pid ? d->ops->name :
										  "dnsmasq",
					 (long long)timeout_ms / 1000);
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
}

/* ---- the interface ------------------------------------------------------------------------ */

int dhcp_start(const struct config *cfg, const struct dhcp_env *env, struct dhcp **out, char *err,
	       size_t errlen)
{
	struct dhcp *d = NULL;
	*out = NULL;
	if (strcmp(cfg->dhcp.mode, "off") == 0)
		return 0;
	int rc = dhcp_new(cfg, env, &d);
	if (rc == 0)
		rc = dhcp_run(d);
	if (rc < 0) {
		dhcp_err_out(d, rc, err, errlen);
		dhcp_free(d);
		return rc;
	}
	metrics_dhcp_backend(env->metrics, d->ops->name);
	*out = d;
	return 0;
}

int dhcp_prepare(const struct dhcp *cur, const struct config *next, const struct dhcp_env *env,
		 struct dhcp **out, char *err, size_t errlen)
{
	struct dhcp *d = NULL;
	*out = NULL;
	if (strcmp(next->dhcp.mode, "off") == 0)
		return 0;
	int rc = dhcp_new(next, env, &d);
	if (rc == 0)
		rc = dhcp_check_iface(d);
	if (rc == 0)
		rc = dhcp_check_ports(d, cur);
	if (rc == 0)
		rc = dhcp_test_conf(d);
	if (rc == 0 && d->ops->test != NULL)
		rc = d->ops->test(d);
	if (rc < 0) {
		dhcp_err_out(d, rc, err, errlen);
		dhcp_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int dhcp_commit(struct dhcp **cur, struct dhcp *next, char *err, size_t errlen)
{
	struct dhcp *old = *cur;
	if (old != NULL)
		dhcp_halt(old);
	if (next == NULL) {
		if (old != NULL)
			metrics_dhcp_backend(old->env.metrics, NULL);
		dhcp_free(old);
		*cur = NULL;
		return 0;
	}
	atomic_store(&next->trial, 1);
	if (next->ops->trial != NULL)
		next->ops->trial(next, true);
	int rc = dhcp_run(next);
	if (rc == 0)
		rc = dhcp_wait_up(next, DHCP_UP_WAIT_MS);
	if (rc == 0) {
		atomic_store(&next->trial, 0);
		if (next->ops->trial != NULL)
			next->ops->trial(next, false);
		metrics_dhcp_backend(next->env.metrics, next->ops->name);
		dhcp_free(old);
		*cur = next;
		return 0;
	}
	dhcp_err_out(next, rc, err, errlen);
	dhcp_free(next);
	/* Back to what ran: the same settings, a new dnsmasq (restarted with
	 * back-off, as at start, should it fail too). */
	if (old != NULL && dhcp_run(old) < 0)
		log_warnx("dhcp: the previous settings do not start again either: %s", old->err);
	return rc;
}

void dhcp_abort(struct dhcp *next)
{
	dhcp_free(next);
}

void dhcp_free(struct dhcp *d)
{
	if (d == NULL)
		return;
	dhcp_halt(d);
	if (d->ops != NULL && d->ops->free != NULL)
		d->ops->free(d);
	dhcpstate_files_clear(&d->files);
	dhcpstate_files_clear(&d->dnsfiles);
	free(d);
}

int dhcp_pid(struct dhcp *d)
{
	return d ? atomic_load(&d->pid) : 0;
}

int dhcp_server_pid(struct dhcp *d)
{
	if (d == NULL)
		return 0;
	return d->ops->pid != NULL ? d->ops->pid(d) : atomic_load(&d->pid);
}

const char *dhcp_backend(const struct dhcp *d)
{
	return d != NULL ? d->ops->name : NULL;
}

bool dhcp_sizing_warning(const char *backend, size_t nodes, char *out, size_t len)
{
	return dhcpstate_sizing_warning(backend, nodes, out, len);
}
