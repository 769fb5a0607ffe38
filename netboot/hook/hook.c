/*
 * corral-dhcp-hook: dnsmasq's --dhcp-script.  Forwards each lease event
 * (add, old, del, tftp, init) as one tab-separated line to corrald's hook
 * socket ($CORRAL_HOOK_SOCKET, set by corrald when it starts dnsmasq) and
 * copies corrald's answer (the lease database, for "init") to stdout.
 *
 * It never fails dnsmasq: if corrald cannot be reached the event is lost
 * (and said so on stderr, which dnsmasq logs), and the exit status is 0.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"

/* Appends s with tabs and line breaks turned into spaces. */
static void hook_field(struct buf *b, const char *s)
{
	if (b->len > 0)
		buf_addc(b, '\t');
	for (; s != NULL && *s; s++)
		buf_addc(b, (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s);
}

int main(int argc, char **argv)
{
	const char *path = getenv("CORRAL_HOOK_SOCKET");
	if (argc < 2 || path == NULL) {
		fprintf(stderr, "corral-dhcp-hook: run by dnsmasq (started by corrald)\n");
		return 0;
	}
	struct buf b;
	buf_init(&b, 4000);
	for (int i = 1; i < 5; i++)
		hook_field(&b, i < argc ? argv[i] : "");
	hook_field(&b, getenv("DNSMASQ_TAGS"));
	hook_field(&b, getenv("DNSMASQ_LEASE_EXPIRES"));
	hook_field(&b, getenv("DNSMASQ_CLIENT_ID"));
	hook_field(&b, getenv("DNSMASQ_VENDOR_CLASS"));
	buf_addc(&b, '\n');

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "corral-dhcp-hook: corrald not reachable at %s; %s event lost\n",
			path, argv[1]);
		buf_clear(&b);
		return 0;
	}
	if (fs_write_all(fd, b.data, b.len) < 0)
		fprintf(stderr, "corral-dhcp-hook: %s event not sent whole\n", argv[1]);
	shutdown(fd, SHUT_WR);
	char chunk[65536];
	struct pollfd p = {fd, POLLIN, 0};
	while (poll(&p, 1, 10000) > 0) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r <= 0)
			break;
		if (fwrite(chunk, 1, (size_t)r, stdout) != (size_t)r)
			break;
	}
	close(fd);
	buf_clear(&b);
	return 0;
}
