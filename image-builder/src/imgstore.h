/*
 * imgstore: the content-addressed image store on disk.
 *
 *   STORE/layers/<key>/   vmlinuz initrd rootfs.squashfs manifest.json build.log
 *   STORE/names/<name>    symbolic link to ../layers/<key> (the newest build)
 *   STORE/tmp/            builds in progress (<key>.<pid>) and layers being
 *                         removed (removed-<key>.<pid>), same file system
 *   STORE/logs/           every build's full log, failed ones included
 *   STORE/lock            flock()ed by whoever changes the store
 *
 * <key> is the layer key: sha256 over the recipe digest and the parent's
 * key, so an unchanged recipe on an unchanged parent finds its layer.  A
 * layer appears only by rename() of a finished directory; a failed or
 * interrupted build leaves nothing under layers/ or names/.  A layer leaves
 * the same way: one rename() into tmp/, then deletion there, so a crash never
 * leaves half a layer under layers/ (imgstore_clean_tmp and imgstore_gc
 * remove what it leaves in tmp/).
 *
 * Owns the paths it returns in struct imgstore (imgstore_close frees).
 *
 * Callers: corral-image.c, build.c and push.c.
 */
#ifndef CORRAL_IMGSTORE_H
#define CORRAL_IMGSTORE_H

#include "buf.h"

struct imgstore;

/* Opens (creating) the store at dir and takes its lock (waits for another
 * builder).  0 or a negative errno. */
int imgstore_open(const char *dir, struct imgstore **out);
/* Opens without the lock, for reading only (list, show): layers and names
 * appear and change by rename, so a reader never sees half of one. */
int imgstore_open_ro(const char *dir, struct imgstore **out);
void imgstore_close(struct imgstore *s);
const char *imgstore_dir(const struct imgstore *s);

/* layer key from a recipe digest and the parent's key ("" for none). */
void imgstore_layer_key(const char *recipe_digest, const char *parent_key, char key[65]);
/* 1 when layers/<key> is complete (has manifest.json). */
int imgstore_has_layer(const struct imgstore *s, const char *key);
/* Path of a layer's file (file NULL: the layer's directory) into out. */
int imgstore_layer_path(const struct imgstore *s, const char *key, const char *file,
			struct buf *out);
/* The key a name points at; 0, -ENOENT. */
int imgstore_resolve(const struct imgstore *s, const char *name, char key[65]);
/* Points name at key (atomic replace). */
int imgstore_set_name(struct imgstore *s, const char *name, const char *key);

/* A new temporary directory for building key: STORE/tmp/<key>.<pid>. */
int imgstore_tmp_dir(struct imgstore *s, const char *key, struct buf *out);
/* Moves a finished tmp output directory into layers/<key>. */
int imgstore_commit(struct imgstore *s, const char *tmp_out, const char *key);
/* Removes tmp/ leftovers of processes that are gone: every entry named
 * <anything>.<pid> but our own pid (the caller holds the lock, so no other
 * process is using tmp/). */
void imgstore_clean_tmp(struct imgstore *s);
/* A new log file path under logs/ for a build of name. */
int imgstore_log_path(struct imgstore *s, const char *name, struct buf *out);

/* Names in the store, sorted, one per line into out. */
int imgstore_names(const struct imgstore *s, struct buf *out);
/* Removes name and its layer.  Refused (-EBUSY, reason in why) when another
 * stored image is built on that layer. */
int imgstore_rm(struct imgstore *s, const char *name, struct buf *why);

/* What imgstore_gc removed (with dry_run: would remove). */
struct imgstore_gc_result {
	unsigned layers;          /* layer directories */
	unsigned logs;            /* files under logs/ */
	unsigned leftovers;       /* tmp/ entries of processes that are gone */
	unsigned long long bytes; /* file bytes of all three */
};

/*
 * Frees what the store no longer needs.  Live layers are the layers a name
 * in names/ points at and, through each manifest's parent.key, all their
 * ancestors; every other directory under layers/ whose name is a key is
 * garbage (a layer leaves as imgstore_rm's does: rename into tmp/, delete).
 * Also removed: tmp/ leftovers (as imgstore_clean_tmp), and logs/ files
 * "<name>-<time>-<pid>.log" last written keep_log_days days ago or earlier,
 * except the newest log of each name.  Anything else is left alone.
 *
 * s must come from imgstore_open (the lock; -EPERM otherwise).  Everything
 * is checked before anything is removed: a live layer whose manifest is
 * unreadable or whose parent is missing makes gc refuse (-EINVAL, -ENOENT)
 * with nothing removed.  A name pointing at no layer keeps nothing and is
 * noted in report.  dry_run: the same report, nothing touched.
 *
 * Appends to report one line per layer and leftover removed, any notes,
 * and a final "gc: removed N layers and M logs, freed X MiB" ("gc: would
 * remove ..." with dry_run); *res counts the same.  0, or a negative errno
 * with a one-line reason (no newline) in why; on an error while removing,
 * report and *res hold what was removed before it.
 */
int imgstore_gc(struct imgstore *s, int dry_run, unsigned keep_log_days,
		struct imgstore_gc_result *res, struct buf *report, struct buf *why);

#endif
