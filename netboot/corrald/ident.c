/*
 * ident: node identity on the node-facing paths.  See ident.h; the trust
 * model behind these rules is docs/security.md's "Node identity".
 */
#include "ident.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A sentence for the requester into why (cut with "..." when long). */
__attribute__((format(printf, 3, 4))) static int ident_refuse(char *why, size_t len,
							      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(why, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= len && len > 4)
		memcpy(why + len - 4, "...", 4);
	return -EACCES;
}

/*
 * The machines holding src now: *mine how many are node_id's interfaces
 * (node_id 0: none is), *others how many are not (a MAC of another node or
 * of none).
 */
static int ident_holders(struct store *st, const char *src, int64_t now, int64_t node_id,
			 size_t *mine, size_t *others)
{
	struct store_holder h[IDENT_HOLDERS_MAX];
	size_t n;
	int rc = store_addr_holders(st, src, now, h, IDENT_HOLDERS_MAX, &n);
	*mine = *others = 0;
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (node_id != 0 && h[i].node_id == node_id)
			(*mine)++;
		else
			(*others)++;
	}
	return 0;
}

int ident_check_mac(struct store *st, const char *mac, int64_t node_id, const char *src,
		    int64_t now, char *why, size_t len)
{
	char ip[64];
	int rc = store_lease_ip(st, mac, now, ip, sizeof(ip));
	if (rc == 0) {
		if (strcmp(ip, src) == 0)
			return 0;
		return ident_refuse(why, len,
				    "this request comes from %s, but %s's DHCP lease is %s: a "
				    "node's boot script goes to its own address only",
				    src, mac, ip);
	}
	if (rc != -ENOENT)
		return rc;
	/*
	 * No lease known for the MAC (yet, or no DHCP here): anyone but another
	 * machine's address.  A reserved address alone binds nothing here: with
	 * dhcp.mode off or proxy it is what the operator wrote, not what the
	 * site's DHCP server gave.
	 */
	size_t mine, others;
	rc = ident_holders(st, src, now, node_id, &mine, &others);
	if (rc < 0)
		return rc;
	if (others > 0)
		return ident_refuse(why, len,
				    "this request comes from %s, which another machine holds "
				    "(a DHCP lease or a reserved address), not %s",
				    src, mac);
	return 0;
}

int ident_check_node(struct store *st, int64_t node_id, const char *src, int64_t now, char *why,
		     size_t len)
{
	size_t mine, others;
	int rc = ident_holders(st, src, now, node_id, &mine, &others);
	if (rc < 0)
		return rc;
	if (mine > 0 && others == 0)
		return 0;
	return ident_refuse(
		why, len,
		"%s %s: name= and nid= are answered to the node's own address only "
		"(boot by mac=, or read the script through the API)",
		src,
		mine > 0 ? "is held by this node and another machine" :
			   "is not this node's address (no DHCP lease or reserved address)");
}

int ident_by_address(struct store *st, const char *src, int64_t now, int64_t *node_id, char *why,
		     size_t len)
{
	struct store_holder h[IDENT_HOLDERS_MAX];
	int64_t seen[IDENT_HOLDERS_MAX];
	size_t n, machines = 0;
	int rc = store_addr_holders(st, src, now, h, IDENT_HOLDERS_MAX, &n);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		/* Two interfaces of one node are one machine; MACs of no node are each one. */
		while (h[i].node_id != 0 && k < machines && seen[k] != h[i].node_id)
			k++;
		if (h[i].node_id == 0 || k == machines)
			seen[machines++] = h[i].node_id;
	}
	if (machines == 0 || (machines == 1 && seen[0] == 0))
		return -ENOENT;
	if (machines > 1) {
		ident_refuse(why, len,
			     "%s is held by %zu%s machines now (DHCP leases or reserved "
			     "addresses): cannot tell which node asks; use the seed URL with "
			     "its token",
			     src, machines, n == IDENT_HOLDERS_MAX ? " or more" : "");
		return -ENOTUNIQ;
	}
	*node_id = seen[0];
	return 0;
}
