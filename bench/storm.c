/*
 * storm: a whole-cluster boot simulator, for `make bench` (bench/storm.sh).
 *
 * N simulated nodes, each with its own MAC and its own source address
 * (127.0.0.0/8 is all local on Linux, so every node can bind one), run the
 * HTTP half of a network boot against a server, all in one libcurl multi
 * handle driven by epoll -- one process, no thread or process per node:
 *
 *   bootscript  GET /boot/v1/bootscript?mac=M        (iPXE, chained from DHCP)
 *   kernel      GET <the script's kernel URL>        (iPXE)
 *   initrd      GET <the script's initrd URL>        (iPXE)
 *   rootfs      GET <root=live: URL on the kernel line, if any>   (dracut)
 *   meta-data, user-data, vendor-data   GET <seed>/…  (cloud-init NoCloud)
 *   phone-home  POST <base>/phone-home/<seed token>  (cloud-init)
 *
 * with think times between the steps (power-on spread, kernel boot, system
 * boot; --think scales them, 0 removes them) and iPXE's behaviour on
 * failure: a 503 with Retry-After is retried after that many seconds
 * (iPXE does so itself); any other failure of the boot script is retried
 * after 5 s (corrald's DHCP-side script loops so); a failed kernel or initrd
 * runs the script's ":retry" path (sleep 5 s doubling to 60 s, chain the
 * boot script again with retry=N+1); dracut and cloud-init retry the same
 * URL after a doubling delay.  A 4xx other than 429 stops the node (a real
 * one would sit at a prompt), as do --max-attempts failures.  Every request
 * opens its own connection (see node_request()).
 *
 *   storm nodes  --nodes N [--src-base A]          import JSON on stdout
 *   storm mirror --url U --auth-file F --to V --dir D --nodes N
 *                writes what corrald answers each node (boot script,
 *                cloud-init files, with U rewritten to V) as static files
 *                for a reference server (nginx) under D
 *   storm run    --target LABEL=URL[@PID] ... --nodes N [--ramp S]
 *                [--think F] [--src-base A] [--seed S] [--max-attempts K]
 *                runs the storm against each target in turn; prints per
 *                target completion time, requests/s, bytes/s, p50/p99/max
 *                per stage and failures, then each target against the last
 *                one (the floor) as ratios.  @PID: sample that process's
 *                resident memory during its run.
 *
 * Node i (1-based): name n%05d, MAC 02:00:00:ii:ii:ii (the low three bytes
 * of i; bench/run.sh numbers its nodes the same way), source address
 * --src-base + i (default 127.100.0.0 + i).
 *
 * Everything it talks to is given on the command line; storm.sh points it
 * at loopback (or at a namespace it made).  A measurement, not a test: it
 * exits non-zero only when it cannot run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "storm.h"
#include "fsutil.h"
#include "valid.h"

#define STORM_TARGETS 4
#define STORM_MAX_NODES 1000000

enum stage {
	ST_BOOTSCRIPT,
	ST_KERNEL,
	ST_INITRD,
	ST_ROOTFS,
	ST_META,
	ST_USER,
	ST_VENDOR,
	ST_PHONE,
	ST_COUNT, /* also: the node is done */
};

static const char *const stage_names[ST_COUNT] = {
	"bootscript", "kernel",    "initrd",      "rootfs",
	"meta-data",  "user-data", "vendor-data", "phone-home",
};

/* Why an attempt failed, for the failure columns. */
enum fail {
	F_CONNECT, /* refused, reset, timed out, closed early: no HTTP answer */
	F_503,     /* 503 with Retry-After (retried after it) */
	F_5XX,     /* other 5xx */
	F_4XX,     /* the node gives up */
	F_WAIT,    /* a boot script without a kernel (unknown node, no profile) */
	F_BAD,     /* 200 with an answer the node cannot use */
	F_COUNT,
};

static const char *const fail_names[F_COUNT] = {"conn", "503", "5xx", "4xx", "wait", "bad"};

/* Think times in ms at --think 1, each drawn from 0.5..1.5 of this. */
static const unsigned think_ms[ST_COUNT] = {
	[ST_KERNEL] = 50,   /* iPXE parses the script */
	[ST_ROOTFS] = 3000, /* kernel and initramfs up to dracut's livenet */
	[ST_META] = 5000,   /* the system boots up to cloud-init */
	[ST_USER] = 10,     [ST_VENDOR] = 10, [ST_PHONE] = 2000, /* cloud-init runs its modules */
};

/* Latencies in µs, growable. */
struct lat {
	uint32_t *v;
	size_t n, cap;
};

struct stage_stats {
	struct lat ok;
	uint64_t bytes;
	uint64_t fail[F_COUNT];
};

struct node {
	uint32_t idx;      /* 1-based */
	uint8_t stage;     /* enum stage; ST_COUNT when done */
	uint8_t failed;    /* gave up */
	uint16_t retry;    /* the boot script's retry=N */
	uint16_t streak;   /* failures in a row at this stage */
	uint16_t failures; /* all failures of this node */
	char mac[18];      /* 02:00:00:xx:xx:xx */
	char src[24];      /* "host!127.100.0.1" for CURLOPT_INTERFACE */
	char *kernel;      /* URLs from the boot script (malloc'd) */
	char *initrd;
	char *rootfs;    /* NULL: no root=live: on the kernel line */
	char *seed;      /* cloud-init seed URL, ends in '/' */
	char *phone;     /* phone-home URL (from the seed) */
	int64_t t_power; /* when it powered on, µs */
	int64_t t_req;   /* when the current request started */
	int64_t wake;    /* when its next request starts */
	size_t heap;     /* index in the timer heap; SIZE_MAX: not there */
	uint64_t got;    /* bytes of the current answer */
	struct buf body; /* the boot script's text */
};

struct target {
	const char *label;
	char url[STORM_URL_MAX]; /* base URL, no trailing slash */
	int pid;                 /* >0: sample its memory */
};

struct result {
	struct stage_stats st[ST_COUNT];
	struct lat boot; /* power-on to phone-home answered */
	uint64_t requests, bytes, connects;
	uint32_t booted, gaveup;
	double secs;
	long rss_start_kib, rss_end_kib, rss_peak_kib; /* of the target's PID */
};

/*
 * One libcurl multi handle per shard of nodes: libcurl walks every
 * connection of its multi handle on some steps (when it opens or removes
 * one), so one multi handle for 10,000 busy nodes costs O(n) per request.
 */
struct shard {
	struct sim *sim;
	CURLM *multi;
	int64_t deadline; /* µs; -1: none */
};

struct sim {
	const struct target *t;
	struct node *nodes;
	uint32_t n;
	struct node **heap; /* min-heap by wake */
	size_t nheap;
	struct shard *shards;
	unsigned nshards;
	uint16_t *fd_shard; /* socket -> its shard, for epoll events */
	size_t nfd;
	CURL **pool; /* idle easy handles */
	size_t npool;
	int ep;
	uint32_t remaining; /* nodes not done */
	uint32_t active;    /* requests in flight */
	uint64_t rng;
	double think;
	unsigned max_attempts;
	struct result *res;
	char base[STORM_URL_MAX];
};

/* ---- small helpers ------------------------------------------------------- */

int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("storm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (p == NULL)
		die("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		die("out of memory");
	return p;
}

/* xorshift64*: think times and the power-on order, reproducible by --seed. */
static double rnd(struct sim *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (double)((s->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

void node_mac(uint32_t i, char out[18])
{
	snprintf(out, 18, "02:00:00:%02x:%02x:%02x", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

void node_name(uint32_t i, char *out, size_t len)
{
	snprintf(out, len, "n%05u", i);
}

void node_ip(uint32_t base, uint32_t i, char out[INET_ADDRSTRLEN])
{
	struct in_addr a = {htonl(base + i)};
	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

static uint32_t parse_base(const char *s)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		die("--src-base %s: not an IPv4 address", s);
	return ntohl(a.s_addr);
}

long long parse_num(const char *opt, const char *s, long long min, long long max)
{
	long long v;
	if (valid_parse_ll(s, min, max, &v) < 0)
		die("%s %s: want a number in %lld..%lld", opt, s, min, max);
	return v;
}

static void lat_add(struct lat *l, int64_t us)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 1024;
		uint32_t *v = realloc(l->v, ncap * sizeof(*v));
		if (v == NULL)
			die("out of memory");
		l->v = v;
		l->cap = ncap;
	}
	l->v[l->n++] = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in ms of a sorted list (q in 0..1); 0 if empty. */
static double lat_q(const struct lat *l, double q)
{
	if (l->n == 0)
		return 0;
	size_t k = (size_t)ceil(q * (double)l->n);
	k = k == 0 ? 0 : k - 1;
	return l->v[k < l->n ? k : l->n - 1] / 1000.0;
}

/* VmRSS or VmHWM of pid in KiB; -1 if unreadable. */
static long proc_kib(int pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	size_t flen = strlen(field);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			v = strtol(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* ---- the timer heap ----------------------------------------------------------- */

static void heap_swap(struct sim *s, size_t a, size_t b)
{
	struct node *t = s->heap[a];
	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap = a;
	s->heap[b]->heap = b;
}

static void heap_push(struct sim *s, struct node *n, int64_t wake)
{
	n->wake = wake;
	size_t i = s->nheap++;
	s->heap[i] = n;
	n->heap = i;
	while (i > 0 && s->heap[(i - 1) / 2]->wake > s->heap[i]->wake) {
		heap_swap(s, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct node *heap_pop(struct sim *s)
{
	struct node *top = s->heap[0];
	heap_swap(s, 0, --s->nheap);
	top->heap = SIZE_MAX;
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->nheap && s->heap[l]->wake < s->heap[m]->wake)
			m = l;
		if (r < s->nheap && s->heap[r]->wake < s->heap[m]->wake)
			m = r;
		if (m == i)
			break;
		heap_swap(s, i, m);
		i = m;
	}
	return top;
}

/* ---- one node's boot ------------------------------------------------------------ */

static size_t node_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct node *n = arg;
	size_t len = size * nmemb;
	n->got += len;
	if (n->stage == ST_BOOTSCRIPT && buf_add(&n->body, p, len) < 0)
		return 0; /* over STORM_SCRIPT_MAX: fails the transfer */
	return len;
}

/* The first http(s) URL among the blank-separated words of line (up to its end). */
static char *word_url(const char *line, const char *end)
{
	const char *p = line;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		const char *w = p;
		while (p < end && *p != ' ')
			p++;
		if ((size_t)(p - w) > 7 &&
		    (strncmp(w, "http://", 7) == 0 || strncmp(w, "https://", 8) == 0))
			return strndup(w, (size_t)(p - w));
	}
	return NULL;
}

/* The value of "key" (e.g. "root=live:") among line's words, or NULL. */
static char *word_value(const char *line, const char *end, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = line; p < end; p++) {
		if ((p == line || p[-1] == ' ') && (size_t)(end - p) > klen &&
		    strncmp(p, key, klen) == 0) {
			const char *v = p + klen, *e = v;
			while (e < end && *e != ' ')
				e++;
			return strndup(v, (size_t)(e - v));
		}
	}
	return NULL;
}

static void node_forget_script(struct node *n)
{
	free(n->kernel);
	free(n->initrd);
	free(n->rootfs);
	free(n->seed);
	free(n->phone);
	n->kernel = n->initrd = n->rootfs = n->seed = n->phone = NULL;
}

/*
 * Reads the boot script: its kernel and initrd URLs, the root=live: and
 * cloud-init seed on the kernel line.  Returns 0, or the seconds a waiting
 * script says to sleep (> 0), or -1 for a script the node cannot use.
 */
static int node_parse_script(struct node *n)
{
	const char *s = buf_str(&n->body);
	int sleep_s = 0;
	node_forget_script(n);
	if (strncmp(s, "#!ipxe", 6) != 0)
		return -1;
	while (*s != '\0') {
		const char *end = strchrnul(s, '\n');
		if (strncmp(s, "kernel ", 7) == 0) {
			n->kernel = word_url(s + 7, end);
			n->rootfs = word_value(s, end, "root=live:");
			n->seed = word_value(s, end, "ds=nocloud-net;s=");
		} else if (strncmp(s, "initrd ", 7) == 0) {
			n->initrd = word_url(s + 7, end);
		} else if (strncmp(s, "sleep ", 6) == 0 && sleep_s == 0) {
			sleep_s = (int)strtol(s + 6, NULL, 10);
		}
		s = *end ? end + 1 : end;
	}
	if (n->kernel == NULL)
		return sleep_s > 0 ? sleep_s : 10;
	if (n->initrd == NULL || n->seed == NULL)
		return -1;
	const char *ci = strstr(n->seed, "/cloud-init/");
	if (ci == NULL)
		return -1;
	const char *tok = ci + strlen("/cloud-init/");
	size_t toklen = strcspn(tok, "/");
	char url[STORM_URL_MAX];
	int len = snprintf(url, sizeof(url), "%.*s/phone-home/%.*s", (int)(ci - n->seed), n->seed,
			   (int)toklen, tok);
	if (len < 0 || (size_t)len >= sizeof(url))
		return -1;
	n->phone = xstrdup(url);
	return 0;
}

static CURL *easy_get(struct sim *s)
{
	if (s->npool > 0)
		return s->pool[--s->npool];
	CURL *e = curl_easy_init();
	if (e == NULL)
		die("curl_easy_init failed");
	return e;
}

static void node_request(struct sim *s, struct node *n)
{
	char url[STORM_URL_MAX + 64];
	const char *u = url;
	switch (n->stage) {
	case ST_BOOTSCRIPT:
		if (n->retry > 0)
			snprintf(url, sizeof(url), "%s/boot/v1/bootscript?mac=%s&retry=%u", s->base,
				 n->mac, n->retry);
		else
			snprintf(url, sizeof(url), "%s/boot/v1/bootscript?mac=%s", s->base, n->mac);
		buf_reset(&n->body);
		break;
	case ST_KERNEL:
		u = n->kernel;
		break;
	case ST_INITRD:
		u = n->initrd;
		break;
	case ST_ROOTFS:
		u = n->rootfs;
		break;
	case ST_META:
	case ST_USER:
	case ST_VENDOR:
		snprintf(url, sizeof(url), "%s%s", n->seed, stage_names[n->stage]);
		break;
	default:
		u = n->phone;
		break;
	}
	CURL *e = easy_get(s);
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, u);
	curl_easy_setopt(e, CURLOPT_INTERFACE, n->src);
	curl_easy_setopt(e, CURLOPT_PRIVATE, n);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, node_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, n);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	/* a stalled transfer: under 1 byte/s for 30 s */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(e, CURLOPT_USERAGENT,
			 n->stage <= ST_INITRD ? "iPXE/1.21.1" :
			 n->stage == ST_ROOTFS ? "curl (dracut livenet)" :
						 "Cloud-Init/22.4.2");
	/*
	 * A new connection for every request.  iPXE would keep its connection
	 * from the boot script to the kernel and initrd (dracut and cloud-init
	 * open one per request), but libcurl looks for a connection to reuse
	 * among every connection to the same host and port -- all of them
	 * here -- and polls each idle one: quadratic in the node count.
	 */
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	if (n->stage == ST_PHONE) {
		char form[128], name[16];
		node_name(n->idx, name, sizeof(name));
		snprintf(form, sizeof(form), "instance_id=i-%s&hostname=%s", name, name);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, form);
	}
	n->got = 0;
	n->t_req = now_us();
	s->active++;
	CURLMcode mc = curl_multi_add_handle(s->shards[n->idx % s->nshards].multi, e);
	if (mc != CURLM_OK)
		die("curl_multi_add_handle: %s", curl_multi_strerror(mc));
}

static void node_think(struct sim *s, struct node *n, unsigned ms)
{
	double d = ms * s->think * (0.5 + rnd(s));
	heap_push(s, n, now_us() + (int64_t)(d * 1000));
}

static void node_finish(struct sim *s, struct node *n, int failed)
{
	n->stage = ST_COUNT;
	n->failed = (uint8_t)failed;
	s->remaining--;
	if (failed)
		s->res->gaveup++;
	else {
		s->res->booted++;
		lat_add(&s->res->boot, now_us() - n->t_power);
	}
	node_forget_script(n);
	buf_clear(&n->body);
}

/* iPXE's script: sleep 5 s doubling to 60 s (as corrald's bootscript_retry_sleep). */
static unsigned ipxe_retry_sleep(unsigned retry)
{
	unsigned v = 5;
	for (unsigned i = 0; i < retry && v < 60; i++)
		v *= 2;
	return v < 60 ? v : 60;
}

/* A failed attempt at n's stage: count it, then retry as the real client would. */
static void node_failed(struct sim *s, struct node *n, enum fail why, long retry_after)
{
	s->res->st[n->stage].fail[why]++;
	n->failures++;
	n->streak++;
	if (why == F_4XX || n->failures >= s->max_attempts) {
		node_finish(s, n, 1);
		return;
	}
	int64_t delay_s;
	if (why == F_503) {
		delay_s = retry_after; /* every client here honours it (iPXE does) */
	} else if (why == F_WAIT) {
		delay_s = retry_after; /* the script's own "sleep" */
	} else if (n->stage == ST_BOOTSCRIPT) {
		/* the DHCP-side script loops every 5 s; a re-chain from the
		 * boot script's :retry path sleeps as that script said */
		delay_s = n->retry == 0 ? 5 : ipxe_retry_sleep(n->retry - 1u);
	} else if (n->stage == ST_KERNEL || n->stage == ST_INITRD) {
		delay_s = ipxe_retry_sleep(n->retry);
		n->retry++;
		n->stage = ST_BOOTSCRIPT;
		n->streak = 0;
	} else {
		/* dracut and cloud-init: the same URL again, doubling from 1 s */
		delay_s = 1;
		for (unsigned i = 1; i < n->streak && delay_s < 30; i++)
			delay_s *= 2;
	}
	heap_push(s, n, now_us() + delay_s * 1000000);
}

static void node_done(struct sim *s, CURL *e, CURLcode res)
{
	struct node *n;
	long code = 0, conns = 0;
	curl_off_t retry_after = 0;
	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&n);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry_after);
	curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &conns);
	curl_multi_remove_handle(s->shards[n->idx % s->nshards].multi, e);
	s->pool[s->npool++] = e;
	s->active--;

	struct result *r = s->res;
	int64_t took = now_us() - n->t_req;
	r->requests++;
	r->connects += (uint64_t)conns;
	r->bytes += n->got;
	r->st[n->stage].bytes += n->got;

	if (res != CURLE_OK || code == 0) {
		node_failed(s, n, F_CONNECT, 0);
		return;
	}
	if (code == 503 && retry_after > 0) {
		node_failed(s, n, F_503, (long)retry_after);
		return;
	}
	if (code == 429) {
		node_failed(s, n, F_503, retry_after > 0 ? (long)retry_after : 5);
		return;
	}
	if (code >= 500) {
		node_failed(s, n, F_5XX, 0);
		return;
	}
	if (code != 200) {
		node_failed(s, n, F_4XX, 0);
		return;
	}
	if (n->stage == ST_BOOTSCRIPT) {
		int rc = node_parse_script(n);
		if (rc < 0) {
			node_failed(s, n, F_BAD, 0);
			return;
		}
		if (rc > 0) {
			node_failed(s, n, F_WAIT, rc);
			return;
		}
	}
	lat_add(&r->st[n->stage].ok, took);
	n->streak = 0;
	n->stage++;
	if (n->stage == ST_ROOTFS && n->rootfs == NULL)
		n->stage++;
	if (n->stage == ST_COUNT) {
		node_finish(s, n, 0);
		return;
	}
	node_think(s, n, think_ms[n->stage]);
}

/* ---- the event loop ------------------------------------------------------------- */

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct shard *sh = userp;
	struct sim *s = sh->sim;
	if (fd < 0 || (size_t)fd >= s->nfd)
		die("socket %d past the open-file limit", (int)fd);
	s->fd_shard[fd] = (uint16_t)(sh - s->shards);
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL); /* may be closed already */
		return 0;
	}
	struct epoll_event ev = {0};
	ev.data.fd = fd;
	ev.events =
		((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT &&
	    epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct shard *sh = userp;
	sh->deadline = timeout_ms < 0 ? -1 : now_us() + (int64_t)timeout_ms * 1000;
	return 0;
}

static void sim_drain(struct sim *s, struct shard *sh)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(sh->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			node_done(s, msg->easy_handle, msg->data.result);
}

static void sim_run(struct sim *s, uint32_t first, uint32_t base, double ramp)
{
	struct epoll_event evs[512];
	int running;
	int64_t t0 = now_us(), last_report = t0;
	for (uint32_t i = 0; i < s->n; i++) {
		struct node *n = &s->nodes[i];
		char ip[INET_ADDRSTRLEN];
		memset(n, 0, sizeof(*n));
		n->idx = first + i;
		node_mac(n->idx, n->mac);
		node_ip(base, n->idx, ip);
		snprintf(n->src, sizeof(n->src), "host!%s", ip);
		buf_init(&n->body, STORM_SCRIPT_MAX);
		/* power-on: spread evenly over the ramp, in a random order */
		n->t_power = t0 + (int64_t)(ramp * 1e6 * rnd(s));
		heap_push(s, n, n->t_power);
	}
	s->remaining = s->n;
	if (s->t->pid > 0)
		s->res->rss_start_kib = proc_kib(s->t->pid, "VmRSS");

	while (s->remaining > 0) {
		int64_t now = now_us(), next = INT64_MAX;
		for (unsigned k = 0; k < s->nshards; k++)
			if (s->shards[k].deadline >= 0 && s->shards[k].deadline < next)
				next = s->shards[k].deadline;
		if (s->nheap > 0 && s->heap[0]->wake < next)
			next = s->heap[0]->wake;
		int64_t wait = next == INT64_MAX ? 1000 : (next - now + 999) / 1000;
		int nev = epoll_wait(s->ep, evs, 512,
				     wait < 0    ? 0 :
				     wait > 1000 ? 1000 :
						   (int)wait);
		if (nev < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < nev; i++) {
			int flags = 0;
			if (evs[i].events & EPOLLIN)
				flags |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				flags |= CURL_CSELECT_ERR;
			struct shard *sh = &s->shards[s->fd_shard[evs[i].data.fd]];
			curl_multi_socket_action(sh->multi, evs[i].data.fd, flags, &running);
			sim_drain(s, sh);
		}
		now = now_us();
		for (unsigned k = 0; k < s->nshards; k++) {
			struct shard *sh = &s->shards[k];
			if (sh->deadline >= 0 && now >= sh->deadline) {
				sh->deadline = -1;
				curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT, 0,
							 &running);
				sim_drain(s, sh);
			}
		}
		now = now_us();
		while (s->nheap > 0 && s->heap[0]->wake <= now)
			node_request(s, heap_pop(s));
		if (now - last_report >= 5000000) {
			last_report = now;
			if (s->t->pid > 0) {
				long kib = proc_kib(s->t->pid, "VmRSS");
				if (kib > s->res->rss_peak_kib)
					s->res->rss_peak_kib = kib;
			}
			fprintf(stderr,
				"storm: %s: %5.1f s: %u of %u nodes done, %u requests in flight, "
				"%" PRIu64 " requests\n",
				s->t->label, (now - t0) / 1e6, s->n - s->remaining, s->n, s->active,
				s->res->requests);
		}
	}
	s->res->secs = (now_us() - t0) / 1e6;
	if (s->t->pid > 0) {
		s->res->rss_end_kib = proc_kib(s->t->pid, "VmRSS");
		long hwm = proc_kib(s->t->pid, "VmHWM");
		if (hwm > s->res->rss_peak_kib)
			s->res->rss_peak_kib = hwm;
	}
}

/* ---- reporting --------------------------------------------------------------------- */

static uint64_t result_fails(const struct result *r);

static void print_result(const struct target *t, struct result *r, uint32_t n)
{
	uint64_t fails = result_fails(r);
	printf("\n%s (%s): %u nodes, %u booted, %u gave up; completion %.2f s\n", t->label, t->url,
	       n, r->booted, r->gaveup, r->secs);
	printf("  %" PRIu64 " requests (%" PRIu64 " failed), %.0f req/s; %.1f MiB, %.1f MiB/s;"
	       " %" PRIu64 " connections\n",
	       r->requests, fails, r->requests / r->secs, r->bytes / 1048576.0,
	       r->bytes / 1048576.0 / r->secs, r->connects);
	if (t->pid > 0)
		printf("  server pid %d VmRSS %.1f MiB before, %.1f MiB after, peak %.1f MiB\n",
		       t->pid, r->rss_start_kib / 1024.0, r->rss_end_kib / 1024.0,
		       r->rss_peak_kib / 1024.0);
	printf("  %-12s %7s %9s %9s %9s %9s", "stage", "ok", "p50 ms", "p99 ms", "max ms", "MiB");
	for (int f = 0; f < F_COUNT; f++)
		printf(" %5s", fail_names[f]);
	putchar('\n');
	for (int i = 0; i < ST_COUNT; i++) {
		struct stage_stats *st = &r->st[i];
		qsort(st->ok.v, st->ok.n, sizeof(*st->ok.v), cmp_u32);
		printf("  %-12s %7zu %9.1f %9.1f %9.1f %9.1f", stage_names[i], st->ok.n,
		       lat_q(&st->ok, 0.5), lat_q(&st->ok, 0.99), lat_q(&st->ok, 1),
		       st->bytes / 1048576.0);
		for (int f = 0; f < F_COUNT; f++)
			printf(" %5" PRIu64, st->fail[f]);
		putchar('\n');
	}
	qsort(r->boot.v, r->boot.n, sizeof(*r->boot.v), cmp_u32);
	printf("  %-12s %7zu %9.1f %9.1f %9.1f   (power-on to phone-home)\n", "whole boot",
	       r->boot.n, lat_q(&r->boot, 0.5), lat_q(&r->boot, 0.99), lat_q(&r->boot, 1));
}

/* The measures compared against the floor, by number. */
static const char *const measure_names[] = {
	"completion s",      "requests/s",        "MiB/s",
	"failed requests",   "bootscript p50 ms", "bootscript p99 ms",
	"cloud-init p99 ms", "whole boot p50 ms", "whole boot p99 ms",
};

static uint64_t result_fails(const struct result *r)
{
	uint64_t fails = 0;
	for (int i = 0; i < ST_COUNT; i++)
		for (int f = 0; f < F_COUNT; f++)
			fails += r->st[i].fail[f];
	return fails;
}

static double measure(const struct result *r, int m)
{
	switch (m) {
	case 0:
		return r->secs;
	case 1:
		return r->requests / r->secs;
	case 2:
		return r->bytes / 1048576.0 / r->secs;
	case 3:
		return (double)result_fails(r);
	case 4:
		return lat_q(&r->st[ST_BOOTSCRIPT].ok, 0.5);
	case 5:
		return lat_q(&r->st[ST_BOOTSCRIPT].ok, 0.99);
	case 6:
		return lat_q(&r->st[ST_META].ok, 0.99);
	case 7:
		return lat_q(&r->boot, 0.5);
	default:
		return lat_q(&r->boot, 0.99);
	}
}

/* Every target's measures beside the last one's (the floor), as first/last. */
static void print_ratios(const struct target *ts, const struct result *rs, int nt)
{
	printf("\nagainst the floor (%s): ratio = %s / %s; for times, lower is better\n",
	       ts[nt - 1].label, ts[0].label, ts[nt - 1].label);
	printf("  %-20s", "measure");
	for (int i = 0; i < nt; i++)
		printf(" %12s", ts[i].label);
	printf(" %8s\n", "ratio");
	for (int m = 0; m < (int)(sizeof(measure_names) / sizeof(measure_names[0])); m++) {
		printf("  %-20s", measure_names[m]);
		for (int i = 0; i < nt; i++)
			printf(" %12.1f", measure(&rs[i], m));
		double a = measure(&rs[0], m), b = measure(&rs[nt - 1], m);
		if (b > 0)
			printf(" %7.2fx\n", a / b);
		else
			printf(" %8s\n", "-");
	}
}

/* ---- storm run ---------------------------------------------------------------------- */

/* Raises the open-file limit to its hard limit; returns the limit. */
static size_t raise_nofile(uint32_t n)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur < (rlim_t)n + 64)
		fprintf(stderr,
			"storm: warning: %llu open files allowed, fewer than %u nodes could "
			"need at once\n",
			(unsigned long long)rl.rlim_cur, n);
	return rl.rlim_cur > (1u << 20) ? (1u << 20) : (size_t)rl.rlim_cur;
}

static int cmd_run(struct target *ts, int nt, uint32_t first, uint32_t n, uint32_t base,
		   double ramp, double think, uint64_t seed, unsigned max_attempts)
{
	size_t nfd = raise_nofile(n);
	uint16_t *fd_shard = xcalloc(nfd, sizeof(*fd_shard));
	struct result *rs = xcalloc((size_t)nt, sizeof(*rs));
	struct node *nodes = xcalloc(n, sizeof(*nodes));
	struct node **heap = xcalloc(n, sizeof(*heap));
	CURL **pool = xcalloc(n, sizeof(*pool));
	char ip1[INET_ADDRSTRLEN], ipn[INET_ADDRSTRLEN];
	node_ip(base, first, ip1);
	node_ip(base, first + n - 1, ipn);
	printf("storm: %u nodes (n%05u..n%05u, from %s..%s), power-on over %.1f s, think times x%.2f,"
	       " seed %" PRIu64 ", at most %u failures a node\n",
	       n, first, first + n - 1, ip1, ipn, ramp, think, seed, max_attempts);
	fflush(stdout);
	for (int i = 0; i < nt; i++) {
		struct sim s = {0};
		s.t = &ts[i];
		s.nodes = nodes;
		s.n = n;
		s.heap = heap;
		s.pool = pool;
		s.rng = seed * 0x9E3779B97F4A7C15ULL + 1; /* the same storm for every target */
		s.think = think;
		s.max_attempts = max_attempts;
		s.res = &rs[i];
		snprintf(s.base, sizeof(s.base), "%s", ts[i].url);
		s.ep = epoll_create1(EPOLL_CLOEXEC);
		if (s.ep < 0)
			die("epoll_create1: %s", strerror(errno));
		s.nshards = n / 100 + 1 > 256 ? 256 : n / 100 + 1;
		s.shards = xcalloc(s.nshards, sizeof(*s.shards));
		s.nfd = nfd;
		s.fd_shard = fd_shard;
		for (unsigned k = 0; k < s.nshards; k++) {
			struct shard *sh = &s.shards[k];
			sh->sim = &s;
			sh->deadline = -1;
			sh->multi = curl_multi_init();
			if (sh->multi == NULL)
				die("curl_multi_init failed");
			curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
			curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
			curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
			curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
		}
		sim_run(&s, first, base, ramp);
		for (size_t k = 0; k < s.npool; k++)
			curl_easy_cleanup(s.pool[k]);
		for (unsigned k = 0; k < s.nshards; k++)
			curl_multi_cleanup(s.shards[k].multi);
		free(s.shards);
		close(s.ep);
		print_result(&ts[i], &rs[i], n);
		fflush(stdout);
	}
	if (nt > 1)
		print_ratios(ts, rs, nt);
	for (int i = 0; i < nt; i++) {
		for (int k = 0; k < ST_COUNT; k++)
			free(rs[i].st[k].ok.v);
		free(rs[i].boot.v);
	}
	free(rs);
	free(nodes);
	free(heap);
	free(pool);
	free(fd_shard);
	return 0;
}

static void usage(void)
{
	fputs("usage: storm nodes  [--nodes N] [--first I] [--src-base A]\n"
	      "       storm mirror --url U --auth-file F --to V --dir D [--nodes N] [--first I]\n"
	      "       storm run    --target LABEL=URL[@PID] ... [--nodes N] [--first I]\n"
	      "                    [--src-base A] [--ramp S] [--think F] [--seed S]\n"
	      "                    [--max-attempts K]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"nodes", required_argument, NULL, 'n'},
		{"first", required_argument, NULL, 'f'},
		{"src-base", required_argument, NULL, 'b'},
		{"url", required_argument, NULL, 'u'},
		{"auth-file", required_argument, NULL, 'a'},
		{"to", required_argument, NULL, 'o'},
		{"dir", required_argument, NULL, 'd'},
		{"target", required_argument, NULL, 't'},
		{"ramp", required_argument, NULL, 'r'},
		{"think", required_argument, NULL, 'k'},
		{"seed", required_argument, NULL, 's'},
		{"max-attempts", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	if (argc < 2)
		usage();
	const char *cmd = argv[1];
	uint32_t n = 10000, first = 1, base = parse_base("127.100.0.0");
	const char *url = NULL, *auth = NULL, *to = NULL, *dir = NULL;
	struct target ts[STORM_TARGETS];
	int nt = 0;
	double ramp = 10, think = 1;
	uint64_t seed = 1;
	unsigned max_attempts = 30;
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = (uint32_t)parse_num("--nodes", optarg, 1, STORM_MAX_NODES);
			break;
		case 'f':
			first = (uint32_t)parse_num("--first", optarg, 1, STORM_MAX_NODES);
			break;
		case 'b':
			base = parse_base(optarg);
			break;
		case 'u':
			url = optarg;
			break;
		case 'a':
			auth = optarg;
			break;
		case 'o':
			to = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 't': {
			if (nt == STORM_TARGETS)
				die("at most %d targets", STORM_TARGETS);
			char *eq = strchr(optarg, '=');
			if (eq == NULL || eq == optarg)
				die("--target %s: want LABEL=URL[@PID]", optarg);
			*eq = '\0';
			struct target *t = &ts[nt++];
			t->label = optarg;
			t->pid = 0;
			char *at = strrchr(eq + 1, '@');
			if (at != NULL) {
				*at = '\0';
				t->pid = (int)parse_num("--target @PID", at + 1, 1, INT_MAX);
			}
			int len = snprintf(t->url, sizeof(t->url), "%s", eq + 1);
			if (len < 0 || (size_t)len >= sizeof(t->url))
				die("--target: URL too long");
			while (len > 0 && t->url[len - 1] == '/')
				t->url[--len] = '\0';
			break;
		}
		case 'r':
			ramp = parse_num("--ramp", optarg, 0, 3600);
			break;
		case 'k': {
			char *end;
			think = strtod(optarg, &end);
			if (*end != '\0' || !(think >= 0 && think <= 100))
				die("--think %s: want a factor in 0..100", optarg);
			break;
		}
		case 's':
			seed = (uint64_t)parse_num("--seed", optarg, 0, LLONG_MAX);
			break;
		case 'm':
			max_attempts = (unsigned)parse_num("--max-attempts", optarg, 1, 10000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if ((uint64_t)first + n - 1 > 0xffffff)
		die("node numbers go up to 16777215 (three bytes of MAC)");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init failed");
	int rc;
	if (strcmp(cmd, "nodes") == 0) {
		rc = cmd_nodes(first, n, base);
	} else if (strcmp(cmd, "mirror") == 0) {
		if (url == NULL || auth == NULL || to == NULL || dir == NULL)
			usage();
		rc = cmd_mirror(url, auth, to, dir, first, n);
	} else if (strcmp(cmd, "run") == 0) {
		if (nt == 0)
			usage();
		rc = cmd_run(ts, nt, first, n, base, ramp, think, seed, max_attempts);
	} else {
		usage();
	}
	curl_global_cleanup();
	return rc;
}
