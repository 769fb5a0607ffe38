/*
 * kealease: Kea's memfile lease file as lease events, without a process
 * per lease.  Kea appends one CSV row to its lease file for every lease it
 * grants, renews, releases or reclaims, and flushes it before it answers;
 * corrald follows the file (kea.c wakes it by inotify) and turns new rows
 * into timeline steps.
 *
 * Owns three things:
 *  - kealease_parse(): one row of the file (Kea 2.2's v4 columns: address,
 *    hwaddr, client_id, valid_lifetime, expire, subnet_id, fqdn_fwd,
 *    fqdn_rev, hostname, state, user_context), never trusting a field;
 *  - the map: the last row seen per MAC, which says whether a row is a new
 *    lease, a renewal of the same one, a lease gone, or a rewrite of the
 *    row before (no event);
 *  - the tail: reads what was appended since the last read, and follows
 *    Kea's lease file cleanup (LFC).  Kea rotates by renaming the file to
 *    FILE.2 and creating a new FILE; kea-lfc then merges FILE.1 and FILE.2
 *    into FILE.output, renames it FILE.completed, removes FILE.1 and FILE.2
 *    and renames FILE.completed to FILE.1.  The tail notices a new file
 *    under the name, reads the old one (still open) to its end, then the
 *    new one from its start; the .1/.2/.completed files are never read
 *    after the start (kealease_read_file() reads them once, for the map).
 *
 * Callers: kea.c (its thread) and the unit tests.  No locking: each
 * structure belongs to one thread.
 */
#ifndef CORRAL_KEALEASE_H
#define CORRAL_KEALEASE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One row of Kea's v4 lease file. */
struct kealease {
	char ip[16];
	char mac[18]; /* normalised */
	unsigned valid_lifetime;
	int64_t expire;    /* Unix seconds */
	char hostname[64]; /* "" when none (or not a valid name) */
	int state;         /* 0 granted, 1 declined, 2 expired and reclaimed */
};
/* 0, or -EINVAL for the header line or a malformed row (a row without a
 * MAC, which Kea writes for declined addresses, is malformed here too). */
int kealease_parse(const char *line, struct kealease *out);

/* What a row means next to the last one seen for its MAC. */
enum kealease_change {
	KEALEASE_NEW,   /* a lease: none before, another address, or the last one ran out */
	KEALEASE_RENEW, /* the same address again before it ran out (any boot stage: as dnsmasq,
			 * whose firmware, iPXE and OS leases of one node read lease, renewal,
			 * renewal) */
	KEALEASE_GONE,  /* released, declined, expired or deleted (lifetime 0) */
	KEALEASE_SAME,  /* the row before, written again: nothing happened */
};

struct kealease_map;
int kealease_map_new(struct kealease_map **out);
void kealease_map_free(struct kealease_map *m);
/* How l relates to the row before for its MAC; l is then that row.  -ENOMEM. */
int kealease_map_note(struct kealease_map *m, const struct kealease *l, enum kealease_change *ch);
/* MACs in the map (for tests). */
size_t kealease_map_size(const struct kealease_map *m);

typedef void (*kealease_line_fn)(void *arg, const char *line);

struct kealease_tail {
	char path[PATH_MAX];
	int fd; /* the file being read, -1 before it exists */
	dev_t dev;
	ino_t ino;
	char part[2048]; /* the last line, not yet complete */
	size_t partlen;
	bool overlong; /* dropping a line longer than part until its end */
};
/* Starts a tail of path (opened at the first read).  -ENAMETOOLONG. */
int kealease_tail_init(struct kealease_tail *t, const char *path);
/*
 * Calls fn for every complete line appended since the last call: the rest
 * of the file being read, and when path now names another file (Kea
 * rotated it), that file from its start.  A file cut shorter than what was
 * read is read again from its start.  The number of lines, or -errno.
 */
int kealease_tail_read(struct kealease_tail *t, kealease_line_fn fn, void *arg);
void kealease_tail_close(struct kealease_tail *t);
/* fn for every line of a whole file (which may be missing: 0).  Lines or -errno. */
int kealease_read_file(const char *path, kealease_line_fn fn, void *arg);

#endif
