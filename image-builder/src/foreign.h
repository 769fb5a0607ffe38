/*
 * foreign: running another architecture's programs on this machine, for
 * images of that architecture (an arm64 image built on x86_64): the
 * kernel's binfmt_misc hands them to Debian's qemu-user-static
 * interpreters (registered with the F flag, so they work inside a chroot).
 *
 * foreign_ready() makes sure it is so: binfmt_misc mounted (in the
 * builder's own mount namespace: the registration itself is the
 * machine's), the interpreter registered and enabled (update-binfmts from
 * binfmt-support), and says precisely what is missing when it cannot.
 *
 * Callers: build.c and import.c, after mnt_isolate().
 */
#ifndef CORRAL_FOREIGN_H
#define CORRAL_FOREIGN_H

/* The Debian architecture of this machine's programs (amd64, arm64). */
const char *foreign_host_arch(void);

/* 0 when programs of Debian architecture arch run here (natively or
 * through qemu-user-static); else a negative errno after saying why. */
int foreign_ready(const char *arch);

#endif
