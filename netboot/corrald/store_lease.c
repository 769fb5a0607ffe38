/*
 * store_lease: what the DHCP side reads and keeps: one host entry per
 * interface, and the lease database dnsmasq keeps through
 * corral-dhcp-hook (it runs with leasefile-ro).  See store.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store.h"
#include "store_int.h"

/* The host entry on the row s stands on. */
static int store_dhcp_host_row(sqlite3_stmt *s, struct store_dhcp_host *h)
{
	const char *ip = store_col_text(s, 1);
	memset(h, 0, sizeof(*h));
	h->enabled = sqlite3_column_int(s, 3) != 0;
	h->ipxe_full = strcmp(store_col_text(s, 4), "ipxe.efi") == 0;
	/* MACs, IPv4 addresses and names were checked for length when written. */
	if (store_fmt(h->mac, sizeof(h->mac), "%s", store_col_text(s, 0)) < 0 ||
	    store_fmt(h->ip, sizeof(h->ip), "%s", ip ? ip : "") < 0 ||
	    store_fmt(h->name, sizeof(h->name), "%s", store_col_text(s, 2)) < 0)
		return store_failf("host entry for %s too long", store_col_text(s, 0));
	return 0;
}

int store_dhcp_hosts(struct store *st, struct store_dhcp_host **out, size_t *n)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_DHCP_HOSTS);
	if (s == NULL)
		return -EIO;
	struct store_dhcp_host *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	while ((rc = store_step(c, s)) == 1) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct store_dhcp_host *nv = realloc(v, ncap * sizeof(*nv));
			if (nv == NULL) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		if ((rc = store_dhcp_host_row(s, &v[len++])) < 0)
			break;
	}
	if (rc < 0) {
		sqlite3_reset(s);
		free(v);
		return rc;
	}
	*out = v;
	*n = len;
	return 0;
}

int store_lease_set(struct store *st, const char *mac, const char *ip, int64_t expires,
		    const char *hostname, const char *client_id)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_LEASE_SET, STORE_TEXT(mac), STORE_TEXT(ip),
				  STORE_INT(expires), STORE_TEXT(hostname ? hostname : ""),
				  STORE_TEXT(client_id ? client_id : ""));
	int rc = s ? store_done(c, s) : -EIO;
	atomic_fetch_add(&st->lease_generation, 1); /* a failed write may have half-happened */
	return rc;
}

int store_lease_same(struct store *st, const char *mac, const char *ip, int64_t expires)
{
	struct store_conn *c;
	sqlite3_stmt *s =
		store_q(st, &c, ST_LEASE_SAME, STORE_TEXT(mac), STORE_TEXT(ip), STORE_INT(expires));
	if (s == NULL)
		return -EIO;
	int rc = store_step(c, s);
	sqlite3_reset(s);
	return rc;
}

int store_lease_del(struct store *st, const char *mac)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_LEASE_DEL, STORE_TEXT(mac));
	int rc = s ? store_done(c, s) : -EIO;
	atomic_fetch_add(&st->lease_generation, 1);
	return rc;
}

int store_leases(struct store *st, int64_t now, struct buf *out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_LEASE_LIST, STORE_INT(now));
	if (s == NULL)
		return -EIO;
	int rc;
	while ((rc = store_step(c, s)) == 1) {
		const char *host = store_col_text(s, 3), *cid = store_col_text(s, 4);
		/* dnsmasq's lease file format: expiry MAC IP name client-id */
		if (buf_printf(out, "%lld %s %s %s %s\n", (long long)sqlite3_column_int64(s, 2),
			       store_col_text(s, 0), store_col_text(s, 1), host[0] ? host : "*",
			       cid[0] ? cid : "*") < 0) {
			sqlite3_reset(s);
			return -E2BIG;
		}
	}
	return rc;
}

int store_lease_ip(struct store *st, const char *mac, int64_t now, char *ip, size_t iplen)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_LEASE_IP, STORE_TEXT(mac), STORE_INT(now));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc == 0)
		rc = store_fmt(ip, iplen, "%s", store_col_text(s, 0));
	sqlite3_reset(s);
	return rc;
}

int store_addr_holders(struct store *st, const char *ip, int64_t now, struct store_holder *out,
		       size_t max, size_t *n)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_ADDR_HOLDERS, STORE_TEXT(ip), STORE_INT(now),
				  STORE_INT((int64_t)max));
	if (s == NULL)
		return -EIO;
	int rc;
	*n = 0;
	while ((rc = store_step(c, s)) == 1 && *n < max) {
		struct store_holder *h = &out[(*n)++];
		h->node_id = sqlite3_column_int64(s, 1);
		if ((rc = store_fmt(h->mac, sizeof(h->mac), "%s", store_col_text(s, 0))) < 0)
			break;
	}
	sqlite3_reset(s);
	return rc < 0 ? rc : 0;
}
