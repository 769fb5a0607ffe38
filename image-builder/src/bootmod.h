/*
 * bootmod: Corral's own dracut modules (image-builder/dracut/), which
 * corral-image puts into every image it builds or imports before it runs
 * dracut there: today 95corral-verify, the root image check in front of
 * dmsquash-live-root (see its module-setup.sh).
 *
 * Where they are: $CORRAL_IMAGE_DRACUT (a directory of module
 * directories), else the installed copy (PREFIX/share/corral/dracut), else
 * the source tree the program was built from.  Their content enters every
 * layer key (bootmod_digest), so a changed module makes new layers rather
 * than reusing ones that carry the old one.
 *
 * Module state: none; results go to the caller's buffers.
 * Callers: build.c and import.c.
 */
#ifndef CORRAL_BOOTMOD_H
#define CORRAL_BOOTMOD_H

#include "buf.h"

/* The module names for dracut's --add, space-separated. */
#define BOOTMOD_ADD "corral-verify"
/* Where the modules go inside an image. */
#define BOOTMOD_DEST "/usr/lib/dracut/modules.d"

/* The directory holding the modules into dir; 0 or -ENOENT (said on
 * stderr, naming the places looked at). */
int bootmod_dir(struct buf *dir);

/* Every file of every module, one "NAME/FILE" per line (sorted) into
 * files; 0 or a negative errno. */
int bootmod_files(const char *dir, struct buf *files);

/* sha256 (hex) over the modules' file names and contents; 0 or errno. */
int bootmod_digest(const char *dir, char hex[65]);

#endif
