/*
 * The fixture test_serve.c and test_serve_node.c share: appfix.h's daemon
 * with a file root holding a few boot files (and a link out of it to the
 * key file), boot.unknown_wait set to WAIT, and the checks both use: a
 * node's GET from its own loopback address, the node's state, the error
 * shape, a boot script line by line, its seed token, and the objects the
 * precedence rules and node n1 need.  Static, as appfix.h.
 */
#ifndef CORRAL_TESTS_SERVEFIX_H
#define CORRAL_TESTS_SERVEFIX_H

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appfix.h"
#include "bootscript.h"

/* appfix.h's advertise URL, short for the expected lines below. */
#define ADV ADVERTISE
#define WAIT 7 /* boot.unknown_wait, not the default, to see it reach the script */

/* ---- the fixture (appfix.h), with boot files under its root -------------- */

/* Boot files under the file root (path, content). */
static const struct {
	const char *path, *content;
} boot_files[] = {
	{"images/k/vmlinuz", "KERNEL-0123456789abcdef"},
	{"images/k/initrd.img", "INITRD-0123456789"},
	{"images/k/rootfs.squashfs", "ROOTFS-0123456789abcdefghij"},
	{"extra/readme.txt", "hello\n"},
};

/* Writes content to root/rel, making the directories on the way. */
FIXTURE_FN int put_file(const char *root, const char *rel, const char *content)
{
	char p[512];
	int n = snprintf(p, sizeof(p), "%s/%s", root, rel);

	if (n < 0 || (size_t)n >= sizeof(p))
		return -1;
	for (char *s = p + strlen(root) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0750) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, content, strlen(content));
	close(fd);
	return w == (ssize_t)strlen(content) ? 0 : -1;
}

/* fx_new()'s prepare: the wait for unknown MACs, the boot files, and a
   link inside the root to the key file outside it. */
FIXTURE_FN int prepare(struct config *c)
{
	char link[160];

	c->unknown_wait = WAIT;
	for (size_t i = 0; i < NELEM(boot_files); i++)
		if (put_file(c->files_root, boot_files[i].path, boot_files[i].content) < 0)
			return -1;
	TFMT(link, "%s/leak", c->files_root);
	return symlink("../secret.key", link) < 0 ? -1 : 0;
}

FIXTURE_FN int setup(void **state)
{
	struct fx *f;

	if (fx_new("/tmp/test_serve.XXXXXX", prepare, &f) < 0)
		return -1;
	*state = f;
	return 0;
}

/* ---- requests and checks ------------------------------------------------- */

/* A node's GET of path from address src (NULL: 127.0.0.1). */
FIXTURE_FN long node_get(struct fx *f, const char *src, const char *path, struct res *r)
{
	struct rq q = {.method = "GET", .path = path, .src = src};

	return send_rq(f, &q, r);
}

/* The node's state as the API shows it (the API reads its own writes). */
FIXTURE_FN void check_state(struct fx *f, const char *node, const char *want)
{
	char path[128];
	json_t *n;

	TFMT(path, "/api/v1/nodes/%s", node);
	n = get_json(f, path);
	if (strcmp(json_string_value(json_object_get(n, "state")), want) != 0)
		fail_msg("node %s: state %s, want %s", node,
			 json_string_value(json_object_get(n, "state")), want);
	json_decref(n);
}

FIXTURE_FN void check_error(const char *what, const struct res *r, long status, const char *code,
			    const char *field)
{
	json_t *e = json_object_get(r->json, "error");
	const char *c = json_string_value(json_object_get(e, "code"));
	const char *fl = json_string_value(json_object_get(e, "field"));

	if (r->status != status)
		fail_msg("%s: status %ld, want %ld: %s", what, r->status, status,
			 buf_str(&r->body));
	if (c == NULL || strcmp(c, code) != 0)
		fail_msg("%s: code %s, want %s", what, c ? c : "(none)", code);
	if (field == NULL ? fl != NULL : (fl == NULL || strcmp(fl, field) != 0))
		fail_msg("%s: field %s, want %s", what, fl ? fl : "(none)",
			 field ? field : "(none)");
}

/* Compares got with the lines of want (no '\n' in them), line by line. */
FIXTURE_FN void check_lines(const char *what, const char *got, const char *const *want,
			    size_t nwant)
{
	const char *p = got;

	for (size_t i = 0; i < nwant; i++) {
		const char *nl = strchr(p, '\n');
		size_t len;

		if (nl == NULL)
			fail_msg("%s: line %zu missing (want \"%s\"); got:\n%s", what, i + 1,
				 want[i], got);
		len = (size_t)(nl - p);
		if (len != strlen(want[i]) || memcmp(p, want[i], len) != 0)
			fail_msg("%s: line %zu is\n  \"%.*s\"\nwant\n  \"%s\"", what, i + 1,
				 (int)len, p, want[i]);
		p = nl + 1;
	}
	if (*p != '\0')
		fail_msg("%s: text after the last expected line: \"%s\"", what, p);
}

/* The line of script that starts with prefix, copied into out ("" if none). */
FIXTURE_FN void line_of(const char *script, const char *prefix, char *out, size_t outlen)
{
	size_t n = strlen(prefix);

	out[0] = '\0';
	for (const char *p = script; p != NULL && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, prefix, n) == 0) {
			TFMTN(out, outlen, "%.*s", (int)strcspn(p, "\n"), p);
			return;
		}
	}
}

/* The seed token in a boot script's kernel line, into tok. */
FIXTURE_FN void seed_of(const char *script, char tok[AUTH_SEED_LEN])
{
	const char *s = strstr(script, "ds=nocloud-net;s=" ADV "/cloud-init/");

	if (s == NULL)
		fail_msg("no seed URL under " ADV " in:\n%s", script);
	s += strlen("ds=nocloud-net;s=" ADV "/cloud-init/");
	if (strlen(s) < AUTH_SEED_LEN || s[AUTH_SEED_LEN - 1] != '/')
		fail_msg("seed token not %d hex digits then '/': %s", AUTH_SEED_LEN - 1, s);
	memcpy(tok, s, AUTH_SEED_LEN - 1);
	tok[AUTH_SEED_LEN - 1] = '\0';
}

/* The node's boot script by query from src; asserts 200 text/plain. */
FIXTURE_FN void script(struct fx *f, const char *src, const char *query, struct buf *out)
{
	char path[256];
	struct res r;

	TFMT(path, "/boot/v1/bootscript?%s", query);
	if (node_get(f, src, path, &r) != 200)
		fail_msg("GET %s: %ld %s", path, r.status, buf_str(&r.body));
	assert_string_equal(r.ctype, "text/plain; charset=utf-8");
	buf_init(out, BOOTSCRIPT_MAX);
	assert_int_equal(buf_add(out, r.body.data ? r.body.data : "", r.body.len), 0);
	res_free(&r);
}

/* A current DHCP lease of mac on ip, as corral-dhcp-hook records it (ident.h). */
FIXTURE_FN void lease(struct fx *f, const char *mac, const char *ip)
{
	int64_t expires = store_now_us() / 1000000 + 3600;

	assert_int_equal(store_lease_set(f->a.store, mac, ip, expires, "", ""), 0);
}

FIXTURE_FN int64_t node_id(struct fx *f, const char *name)
{
	int64_t id = 0;

	assert_int_equal(store_node_id(f->a.store, name, &id), 0);
	return id;
}

/*
 * Images, profiles, groups for the precedence rules:
 *   img1: files under the root, with rootfs; img2: URLs.
 *   p-node (img1), p-group (img2), p-b (kernel/initrd of its own), p-default (img1).
 *   g-none (no profile), g-a (p-group), g-b (p-b); defaults: p-default.
 */
FIXTURE_FN void seed_objects(struct fx *f)
{
	must(f, "POST", "/api/v1/images",
	     "{'name':'img1','kernel':'images/k/vmlinuz','initrd':'images/k/initrd.img',"
	     "'rootfs':'images/k/rootfs.squashfs','params':'console=ttyS0'}",
	     201);
	must(f, "POST", "/api/v1/images",
	     "{'name':'img2','kernel':'https://mirror.test/k2/vmlinuz',"
	     "'initrd':'https://mirror.test/k2/initrd'}",
	     201);
	must(f, "POST", "/api/v1/profiles", "{'name':'p-node','image':'img1','params':'quiet'}",
	     201);
	must(f, "POST", "/api/v1/profiles", "{'name':'p-group','image':'img2','params':'rd.group'}",
	     201);
	must(f, "POST", "/api/v1/profiles",
	     "{'name':'p-b','kernel':'images/b/vmlinuz','initrd':'images/b/initrd'}", 201);
	must(f, "POST", "/api/v1/profiles",
	     "{'name':'p-default','image':'img1','params':'rd.default'}", 201);
	must(f, "POST", "/api/v1/groups", "{'name':'g-none'}", 201);
	must(f, "POST", "/api/v1/groups", "{'name':'g-a','profile':'p-group'}", 201);
	must(f, "POST", "/api/v1/groups", "{'name':'g-b','profile':'p-b'}", 201);
	must(f, "PUT", "/api/v1/defaults", "{'profile':'p-default'}", 200);
}

/* n1: nid 7, profile p-node, params, two interfaces (the first at 127.0.0.2). */
FIXTURE_FN void seed_n1(struct fx *f)
{
	must(f, "POST", "/api/v1/nodes",
	     "{'name':'n1','nid':7,'profile':'p-node','params':'corral.x=1',"
	     "'interfaces':[{'mac':'52:54:00:aa:00:01','ip':'127.0.0.2'},"
	     "{'mac':'52:54:00:aa:00:11'}]}",
	     201);
}

#endif /* CORRAL_TESTS_SERVEFIX_H */
