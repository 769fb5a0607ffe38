/*
 * qmp: a small blocking client for one QEMU monitor (QMP) UNIX socket.
 *
 * One session = connect, read the greeting, negotiate "qmp_capabilities",
 * run commands, close.  corral-vbmc opens a session per HTTP request, so a
 * restarted QEMU or a dropped connection never leaves stale state behind.
 * A session has one deadline, fixed when it opens: every connect, read and
 * write waits at most until then, so a hung QEMU costs a caller at most
 * timeout_ms, never forever.  Asynchronous events QEMU interleaves with
 * replies ({"event": ...}) are read and dropped.
 *
 * QEMU serves one QMP client at a time per socket (a second one waits in
 * the listen queue): callers that may run in parallel serialise sessions.
 * Leaf module apart from buf: depends on jansson only.
 *
 * Callers: service.c only.
 */
#ifndef CORRAL_VBMC_QMP_H
#define CORRAL_VBMC_QMP_H

#include <stddef.h>

#include <jansson.h>

struct qmp;

/*
 * Connects to the socket at path and negotiates capabilities, all within
 * timeout_ms.  Returns 0 and a session in *out (qmp_free it), or:
 * -ENOENT / -ECONNREFUSED: nothing listens there (QEMU is not running);
 * -ETIMEDOUT: no greeting or answer in time; -EPROTO: not QMP;
 * -ENAMETOOLONG: path too long for a UNIX socket; other -errno.
 */
int qmp_open(const char *path, int timeout_ms, struct qmp **out);

/*
 * Runs cmd with arguments args (borrowed; NULL for none).  Returns 0 and,
 * if ret is not NULL, the "return" member in *ret (a new reference: the
 * caller json_decref()s it).  -EIO: QEMU answered with an error (its
 * description: qmp_error()); -ETIMEDOUT, -EPROTO, -EPIPE as for qmp_open.
 */
int qmp_exec(struct qmp *q, const char *cmd, json_t *args, json_t **ret);

/*
 * "query-status": copies the run state ("running", "paused", "prelaunch",
 * "shutdown", ...) into status (size bytes).  Returns as qmp_exec, or
 * -EPROTO if the answer lacks a status.
 */
int qmp_status(struct qmp *q, char *status, size_t size);

/* QEMU's description of the last -EIO error ("" if none); borrowed. */
const char *qmp_error(const struct qmp *q);

/* Closes the session; NULL is a no-op. */
void qmp_free(struct qmp *q);

#endif
