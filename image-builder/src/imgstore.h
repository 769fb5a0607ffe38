/*
 * imgstore: the content-addressed image store on disk.
 *
 *   STORE/layers/<key>/   vmlinuz initrd rootfs.squashfs manifest.json build.log
 *   STORE/names/<name>    symbolic link to ../layers/<key> (the newest build)
 *   STORE/tmp/            builds in progress (<key>.<pid>), same file system
 *   STORE/logs/           every build's full log, failed ones included
 *   STORE/lock            flock()ed by whoever changes the store
 *
 * <key> is the layer key: sha256 over the recipe digest and the parent's
 * key, so an unchanged recipe on an unchanged parent finds its layer.  A
 * layer appears only by rename() of a finished directory; a failed or
 * interrupted build leaves nothing under layers/ or names/.
 *
 * Owns the paths it returns in struct imgstore (imgstore_close frees).
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
/* Removes leftovers of builds whose process is gone. */
void imgstore_clean_tmp(struct imgstore *s);
/* A new log file path under logs/ for a build of name. */
int imgstore_log_path(struct imgstore *s, const char *name, struct buf *out);

/* Names in the store, sorted, one per line into out. */
int imgstore_names(const struct imgstore *s, struct buf *out);
/* Removes name and its layer.  Refused (-EBUSY, reason in why) when another
 * stored image is built on that layer. */
int imgstore_rm(struct imgstore *s, const char *name, struct buf *why);

#endif
