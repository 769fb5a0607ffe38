/*
 * mounts: /proc, /sys and /dev inside a build's root for chrooted steps.
 *
 * mnt_isolate() first moves the whole builder into a private mount
 * namespace, so anything mounted by the build (by us or by mmdebstrap)
 * disappears with the process even on SIGKILL, and never propagates to the
 * host.  mnt_bind() mounts, remembering each mount; mnt_release() unmounts
 * them in reverse (called on every exit path: success, failure, SIGINT).
 * Binds are not recursive, so unmounting never reaches the host's submounts.
 *
 * Callers: build.c only.
 */
#ifndef CORRAL_MOUNTS_H
#define CORRAL_MOUNTS_H

/* Private mount namespace for this process; 0 or a negative errno. */
int mnt_isolate(void);
/* Mounts proc, sysfs (bind), /dev (bind) and /dev/pts under root. */
int mnt_bind(const char *root);
/* Unmounts everything mnt_bind mounted, newest first; 0 or the first error. */
int mnt_release(void);
/* Lazily unmounts every mount at or below prefix (what a killed
 * mmdebstrap may leave), deepest first; returns how many. */
int mnt_release_under(const char *prefix);

#endif
