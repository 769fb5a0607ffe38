/*
 * fuzz_kealease: Kea's memfile lease file as corrald follows it (kealease.c).
 * The rows are Kea's, but their fields come from DHCP clients (MAC, host
 * name) and the file may be cut or rotated under the reader.
 *
 * The input is written to a file in two parts (split where its first byte
 * says), with a tail read after each, so lines arrive whole, in pieces and
 * overlong; every line goes through kealease_parse() and the per-MAC map.
 * Checked: a parsed row's MAC is normalised and its address valid; the
 * tail hands over no more lines than the input has newlines, none longer
 * than its buffer; the map's node cache answers what was noted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kealease.h"
#include "valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_ctx {
	struct kealease_map *map;
	size_t lines;
};

static void fuzz_line(void *arg, const char *line)
{
	struct fuzz_ctx *c = arg;
	struct kealease l;
	enum kealease_change ch;
	c->lines++;
	if (strlen(line) >= sizeof(((struct kealease_tail *)0)->part))
		abort();
	if (kealease_parse(line, &l) < 0)
		return;
	char norm[18];
	if (strlen(l.mac) != 17 || valid_mac_normalize(l.mac, norm) < 0 ||
	    strcmp(norm, l.mac) != 0 || valid_ipv4(l.ip) < 0 || l.state < 0 || l.state > 2 ||
	    (l.hostname[0] != '\0' && valid_name(l.hostname) < 0))
		abort();
	if (kealease_map_note(c->map, &l, &ch) < 0)
		return;
	int64_t node = -1;
	kealease_map_set_node(c->map, l.mac, 3, (int64_t)l.valid_lifetime);
	if (kealease_map_node(c->map, l.mac, 3, &node) < 0 || node != (int64_t)l.valid_lifetime ||
	    kealease_map_node(c->map, l.mac, 4, &node) != -ENOENT)
		abort();
}

static int fuzz_write(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (path[0] == '\0') {
		int n = snprintf(path, sizeof(path), "/tmp/fuzz-kealease-%d.csv", (int)getpid());
		if (n < 0 || (size_t)n >= sizeof(path))
			abort();
	}
	size_t cut = size > 0 ? (size_t)data[0] * size / 256 : 0;
	size_t newlines = 0;
	for (size_t i = 0; i < size; i++)
		newlines += data[i] == '\n';
	struct fuzz_ctx c = {0};
	struct kealease_tail t;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || kealease_map_new(&c.map) < 0 || kealease_tail_init(&t, path) < 0)
		abort();
	if (fuzz_write(fd, data, cut) < 0 || kealease_tail_read(&t, fuzz_line, &c) < 0 ||
	    fuzz_write(fd, data + cut, size - cut) < 0 || kealease_tail_read(&t, fuzz_line, &c) < 0)
		abort();
	if (c.lines > newlines)
		abort();
	kealease_tail_close(&t);
	kealease_map_free(c.map);
	close(fd);
	/* the whole file at once, as at start (kealease_read_file) */
	c.lines = 0;
	if (kealease_map_new(&c.map) < 0 || kealease_read_file(path, fuzz_line, &c) < 0 ||
	    c.lines > newlines)
		abort();
	kealease_map_free(c.map);
	unlink(path);
	return 0;
}
