/*
 * kealease: Kea's lease file rows, the per-MAC map, the rotating tail.
 * See kealease.h.  The file is written by Kea (root) in a directory only
 * root writes; its rows are parsed as untrusted all the same.
 */
#include "kealease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "valid.h"

/* ---- rows ------------------------------------------------------------------ */

/* Copies src into dst[size]: 0, or -E2BIG (dst "") when it does not fit. */
static int kealease_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size) {
		dst[0] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int kealease_parse(const char *line, struct kealease *out)
{
	char copy[1024], *f[11];
	long long v;
	memset(out, 0, sizeof(*out));
	if (kealease_copy(copy, sizeof(copy), line) < 0)
		return -EINVAL;
	size_t len = strcspn(copy, "\r\n");
	copy[len] = '\0';
	int n = 0;
	f[n++] = copy;
	for (char *p = copy; *p && n < 11; p++)
		if (*p == ',') {
			*p = '\0';
			f[n++] = p + 1;
		}
	/* address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state */
	if (n < 10 || valid_ipv4(f[0]) < 0 || kealease_copy(out->ip, sizeof(out->ip), f[0]) < 0 ||
	    valid_mac_normalize(f[1], out->mac) < 0)
		goto err;
	if (valid_parse_ll(f[3], 0, 0xffffffffLL, &v) < 0)
		goto err;
	out->valid_lifetime = (unsigned)v;
	if (valid_parse_ll(f[4], 0, (long long)1 << 40, &v) < 0)
		goto err;
	out->expire = v;
	if (valid_parse_ll(f[9], 0, 2, &v) < 0)
		goto err;
	out->state = (int)v;
	/* Kea writes the name with its trailing dot, if any; a name is kept whole or not at all */
	size_t hl = strlen(f[8]);
	if (hl > 0 && f[8][hl - 1] == '.')
		f[8][hl - 1] = '\0';
	if (valid_name(f[8]) == 0)
		(void)kealease_copy(out->hostname, sizeof(out->hostname), f[8]);
	return 0;
err:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

/* ---- the map ---------------------------------------------------------------- */

struct kealease_slot {
	uint64_t key; /* MAC as a number, plus one; 0: empty */
	uint32_t ip;  /* 0: no lease now */
	uint32_t lifetime;
	int64_t expire;
};

struct kealease_map {
	struct kealease_slot *v;
	size_t cap; /* a power of two */
	size_t n;
};

int kealease_map_new(struct kealease_map **out)
{
	struct kealease_map *m = calloc(1, sizeof(*m));
	*out = m;
	if (m == NULL)
		return -ENOMEM;
	m->cap = 1024;
	m->v = calloc(m->cap, sizeof(*m->v));
	if (m->v == NULL) {
		free(m);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

void kealease_map_free(struct kealease_map *m)
{
	if (m == NULL)
		return;
	free(m->v);
	free(m);
}

size_t kealease_map_size(const struct kealease_map *m)
{
	return m->n;
}

static uint64_t kealease_mac_key(const char *mac)
{
	uint64_t k = 0;
	for (const char *p = mac; *p; p++) {
		if (*p == ':')
			continue;
		unsigned d = (unsigned)(*p >= 'a' ? *p - 'a' + 10 : *p - '0');
		k = (k << 4) | (d & 0xf);
	}
	return k + 1;
}

static uint32_t kealease_ip_num(const char *ip)
{
	unsigned a, b, c, d;
	if (sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
		return 0;
	return (uint32_t)((a << 24) | (b << 16) | (c << 8) | d);
}

/* The slot for key: its own, or the empty one it would take. */
static struct kealease_slot *kealease_find(struct kealease_slot *v, size_t cap, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
	while (v[i].key != 0 && v[i].key != key)
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static int kealease_grow(struct kealease_map *m)
{
	size_t cap = m->cap * 2;
	struct kealease_slot *v = calloc(cap, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].key != 0)
			*kealease_find(v, cap, m->v[i].key) = m->v[i];
	free(m->v);
	m->v = v;
	m->cap = cap;
	return 0;
}

int kealease_map_note(struct kealease_map *m, const struct kealease *l, enum kealease_change *ch)
{
	if ((m->n + 1) * 10 > m->cap * 7 && kealease_grow(m) < 0)
		return -ENOMEM;
	uint64_t key = kealease_mac_key(l->mac);
	struct kealease_slot *s = kealease_find(m->v, m->cap, key);
	uint32_t ip = kealease_ip_num(l->ip);
	if (s->key == 0) {
		s->key = key;
		m->n++;
	}
	if (l->valid_lifetime == 0 || l->state != 0) {
		*ch = KEALEASE_GONE;
		if (s->ip == ip) /* Kea drops a MAC's old address after granting it a new one */
			s->ip = 0;
		return 0;
	}
	int64_t cltt = l->expire - (int64_t)l->valid_lifetime;
	if (s->ip == ip && s->lifetime == l->valid_lifetime && s->expire == l->expire)
		*ch = KEALEASE_SAME;
	else if (s->ip == ip && s->expire >= cltt) /* as dnsmasq says "old": its lease, again */
		*ch = KEALEASE_RENEW;
	else
		*ch = KEALEASE_NEW;
	s->ip = ip;
	s->lifetime = l->valid_lifetime;
	s->expire = l->expire;
	return 0;
}

/* ---- the tail ---------------------------------------------------------------- */

int kealease_tail_init(struct kealease_tail *t, const char *path)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	return kealease_copy(t->path, sizeof(t->path), path) < 0 ? -ENAMETOOLONG : 0;
}

void kealease_tail_close(struct kealease_tail *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->partlen = 0;
	t->overlong = false;
}

/* Splits data into lines, joining the part kept from the last read; fn per line. */
static int kealease_lines(struct kealease_tail *t, const char *data, size_t len,
			  kealease_line_fn fn, void *arg)
{
	int lines = 0;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		if (!t->overlong && t->partlen + take < sizeof(t->part)) {
			memcpy(t->part + t->partlen, data, take);
			t->partlen += take;
		} else {
			t->overlong = true; /* not a lease row: dropped whole */
		}
		if (nl == NULL)
			break;
		if (!t->overlong) {
			t->part[t->partlen] = '\0';
			fn(arg, t->part);
			lines++;
		}
		t->partlen = 0;
		t->overlong = false;
		data = nl + 1;
		len -= take + 1;
	}
	return lines;
}

/* Reads t->fd to its end: lines, or -errno. */
static int kealease_drain(struct kealease_tail *t, kealease_line_fn fn, void *arg)
{
	char chunk[65536];
	int lines = 0;
	for (;;) {
		ssize_t r = read(t->fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return lines;
		lines += kealease_lines(t, chunk, (size_t)r, fn, arg);
	}
}

/* Opens path as the file to read from its start; 0, or -errno (-ENOENT: not yet). */
static int kealease_open(struct kealease_tail *t)
{
	int fd = open(t->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	kealease_tail_close(t);
	t->fd = fd;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	return 0;
}

int kealease_tail_read(struct kealease_tail *t, kealease_line_fn fn, void *arg)
{
	int lines = 0, rc;
	struct stat st;
	if (t->fd < 0) {
		rc = kealease_open(t);
		if (rc < 0)
			return rc == -ENOENT ? 0 : rc;
	}
	/* Cut shorter than what was read (not Kea's way, but then read it again). */
	off_t at = lseek(t->fd, 0, SEEK_CUR);
	if (fstat(t->fd, &st) == 0 && at > st.st_size) {
		(void)lseek(t->fd, 0, SEEK_SET);
		t->partlen = 0;
		t->overlong = false;
	}
	rc = kealease_drain(t, fn, arg);
	if (rc < 0)
		return rc;
	lines += rc;
	if (stat(t->path, &st) < 0 || (st.st_dev == t->dev && st.st_ino == t->ino))
		return lines; /* gone for a moment while Kea renames, or the same file */
	/* Rotated.  Kea wrote to the old file until it renamed it, maybe after
	 * the read above: read it to its end once more, then the new one. */
	rc = kealease_drain(t, fn, arg);
	if (rc < 0)
		return rc;
	lines += rc;
	rc = kealease_open(t);
	if (rc < 0)
		return rc == -ENOENT ? lines : rc;
	rc = kealease_drain(t, fn, arg);
	return rc < 0 ? rc : lines + rc;
}

int kealease_read_file(const char *path, kealease_line_fn fn, void *arg)
{
	struct kealease_tail t;
	int rc = kealease_tail_init(&t, path);
	if (rc == 0) {
		rc = kealease_open(&t);
		if (rc == 0)
			rc = kealease_drain(&t, fn, arg);
		else if (rc == -ENOENT)
			rc = 0;
	}
	kealease_tail_close(&t);
	return rc;
}
