/*
 * qmp: blocking QMP client with one deadline per session.  See qmp.h.
 *
 * The socket is non-blocking; every wait is a poll() bounded by the time
 * left before the session's deadline.  Replies are read line by line into
 * a capped buffer (QMP ends each message with CRLF), so a misbehaving peer
 * can neither hang nor flood the caller.
 */
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

/* A QMP reply we care about is tiny; events and query answers fit too. */
#define QMP_MAX_LINE (256 * 1024)

struct qmp {
	int fd;             /* connected UNIX socket */
	struct timespec dl; /* CLOCK_MONOTONIC deadline for the whole session */
	struct buf in;      /* bytes read but not yet parsed */
	unsigned next_id;   /* id of the next command, to match its reply */
	char err[256];      /* QEMU's "desc" of the last error reply */
};

static int qmp_ms_left(const struct qmp *q)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(q->dl.tv_sec - now.tv_sec) * 1000 +
		       (q->dl.tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > 60000 ? 60000 : (int)ms;
}

/* Waits for events on the socket until the deadline: 0, or -ETIMEDOUT. */
static int qmp_wait(struct qmp *q, short events)
{
	for (;;) {
		int left = qmp_ms_left(q);
		if (left == 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = q->fd, .events = events};
		int n = poll(&pfd, 1, left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int qmp_send(struct qmp *q, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(q->fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = qmp_wait(q, POLLOUT);
			if (rc < 0)
				return rc;
			continue;
		}
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

/*
 * Reads one message (one line) and parses it.  Returns 0 and a new
 * reference in *out, -ETIMEDOUT, -EPIPE (peer closed), -EPROTO (not JSON
 * or a line longer than QMP_MAX_LINE).
 */
static int qmp_read_msg(struct qmp *q, json_t **out)
{
	for (;;) {
		char *nl = q->in.len ? memchr(q->in.data, '\n', q->in.len) : NULL;
		if (nl != NULL) {
			size_t n = (size_t)(nl - q->in.data) + 1;
			json_error_t jerr;
			json_t *msg = json_loadb(q->in.data, n, 0, &jerr);
			memmove(q->in.data, q->in.data + n, q->in.len - n);
			q->in.len -= n;
			q->in.data[q->in.len] = '\0';
			if (msg == NULL || !json_is_object(msg)) {
				json_decref(msg);
				return -EPROTO;
			}
			*out = msg;
			return 0;
		}
		int rc = qmp_wait(q, POLLIN);
		if (rc < 0)
			return rc;
		char chunk[4096];
		ssize_t n = recv(q->fd, chunk, sizeof(chunk), 0);
		if (n == 0)
			return -EPIPE;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
		if (buf_add(&q->in, chunk, (size_t)n) < 0)
			return -EPROTO;
	}
}

static int qmp_connect(struct qmp *q, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	if (plen == 0 || plen >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, plen + 1);

	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (q->fd < 0)
		return -errno;
	for (;;) {
		if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		/* The listen queue is full: try again shortly, until the deadline. */
		int left = qmp_ms_left(q);
		if (left == 0)
			return -ETIMEDOUT;
		struct timespec ts = {0, (left < 20 ? left : 20) * 1000000L};
		nanosleep(&ts, NULL);
	}
}

int qmp_open(const char *path, int timeout_ms, struct qmp **out)
{
	int rc;
	json_t *greeting = NULL;
	struct qmp *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	q->fd = -1;
	buf_init(&q->in, QMP_MAX_LINE);
	q->next_id = 1;
	clock_gettime(CLOCK_MONOTONIC, &q->dl);
	q->dl.tv_sec += timeout_ms / 1000;
	q->dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (q->dl.tv_nsec >= 1000000000L) {
		q->dl.tv_sec++;
		q->dl.tv_nsec -= 1000000000L;
	}

	rc = qmp_connect(q, path);
	if (rc < 0)
		goto err_connect;
	rc = qmp_read_msg(q, &greeting);
	if (rc < 0)
		goto err_greeting;
	if (json_object_get(greeting, "QMP") == NULL) {
		rc = -EPROTO;
		goto err_greeting;
	}
	rc = qmp_exec(q, "qmp_capabilities", NULL, NULL);
	if (rc < 0)
		goto err_greeting;
	json_decref(greeting);
	*out = q;
	return 0;

err_greeting:
	json_decref(greeting);
err_connect:
	qmp_free(q);
	return rc;
}

int qmp_exec(struct qmp *q, const char *cmd, json_t *args, json_t **ret)
{
	int rc;
	unsigned id = q->next_id++;
	json_t *req = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
	if (req == NULL)
		return -ENOMEM;
	if (args != NULL && json_object_set(req, "arguments", args) < 0) {
		json_decref(req);
		return -ENOMEM;
	}
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		return -ENOMEM;
	rc = qmp_send(q, text, strlen(text));
	if (rc == 0)
		rc = qmp_send(q, "\n", 1);
	free(text);
	if (rc < 0)
		return rc;

	q->err[0] = '\0';
	for (;;) {
		json_t *msg = NULL;
		rc = qmp_read_msg(q, &msg);
		if (rc < 0)
			return rc;
		if (json_object_get(msg, "event") != NULL) {
			json_decref(msg);
			continue;
		}
		json_t *jid = json_object_get(msg, "id");
		if (!json_is_integer(jid) || json_integer_value(jid) != (json_int_t)id) {
			/* An answer to something we did not ask in this session. */
			json_decref(msg);
			return -EPROTO;
		}
		json_t *e = json_object_get(msg, "error");
		if (e != NULL) {
			const char *desc = json_string_value(json_object_get(e, "desc"));
			int n = snprintf(q->err, sizeof(q->err), "%s", desc ? desc : "error");
			if (n < 0 || (size_t)n >= sizeof(q->err))
				q->err[sizeof(q->err) - 1] = '\0'; /* a cut message is fine */
			json_decref(msg);
			return -EIO;
		}
		json_t *r = json_object_get(msg, "return");
		if (r == NULL) {
			json_decref(msg);
			return -EPROTO;
		}
		if (ret != NULL)
			*ret = json_incref(r);
		json_decref(msg);
		return 0;
	}
}

int qmp_status(struct qmp *q, char *status, size_t size)
{
	json_t *r = NULL;
	int rc = qmp_exec(q, "query-status", NULL, &r);
	if (rc < 0)
		return rc;
	const char *s = json_string_value(json_object_get(r, "status"));
	if (s == NULL) {
		rc = -EPROTO;
	} else {
		rc = buf_fmt(status, size, "%s", s) < 0 ? -EPROTO : 0;
	}
	json_decref(r);
	return rc;
}

const char *qmp_error(const struct qmp *q)
{
	return q->err;
}

void qmp_free(struct qmp *q)
{
	if (q == NULL)
		return;
	if (q->fd >= 0)
		close(q->fd);
	buf_clear(&q->in);
	free(q);
}
