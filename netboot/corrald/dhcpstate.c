/*
 * dhcpstate: host-file diff, seen and refusal rings, event text.  See
 * dhcpstate.h.  Pure: every input comes from the caller, every output goes
 * back to it (the diff through its apply callback).
 */
#include "dhcpstate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* snprintf into out[len]: 0, or -E2BIG when it did not fit. */
__attribute__((format(printf, 3, 4))) static int dhcpstate_fmt(char *out, size_t len,
							       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len ? 0 : -E2BIG;
}

/* ---- host files ----------------------------------------------------------- */

int dhcpstate_files_add(struct dhcpstate_files *f, size_t cap, const char *mac, struct buf *b)
{
	if (f->v == NULL) {
		f->v = calloc(cap ? cap : 1, sizeof(*f->v));
		if (f->v == NULL)
			return -ENOMEM;
	}
	if (f->n >= (cap ? cap : 1))
		return -ENOSPC;
	struct dhcpstate_file *x = &f->v[f->n];
	if (mac[0] == '\0' || dhcpstate_fmt(x->name, sizeof(x->name), "%s", mac) < 0)
		return -EINVAL;
	for (char *p = x->name; *p; p++) {
		if (*p == '/' || *p == '.')
			return -EINVAL; /* a file name, not a path */
		if (*p == ':')
			*p = '-';
	}
	x->content = buf_take(b);
	if (x->content == NULL)
		return -ENOMEM;
	f->n++;
	return 0;
}

void dhcpstate_files_clear(struct dhcpstate_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].content);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

int dhcpstate_diff(const struct dhcpstate_files *have, const struct dhcpstate_files *want,
		   dhcpstate_apply_fn apply, void *arg)
{
	size_t i = 0, j = 0, added = 0;
	int hup = 0, rc = 0;
	while (rc == 0 && (i < have->n || j < want->n)) {
		int cmp = i == have->n ? 1 :
			  j == want->n ? -1 :
					 strcmp(have->v[i].name, want->v[j].name);
		if (cmp < 0) { /* gone */
			rc = apply(arg, DHCPSTATE_UNLINK, &have->v[i++]);
			hup = 1;
		} else if (cmp > 0) { /* new: dnsmasq's inotify finds it (a few thousand) */
			rc = apply(arg, DHCPSTATE_WRITE, &want->v[j++]);
			if (++added > DHCPSTATE_NEW_MAX)
				hup = 1;
		} else {
			if (strcmp(have->v[i].content, want->v[j].content) != 0) {
				rc = apply(arg, DHCPSTATE_WRITE, &want->v[j]);
				hup = 1;
			}
			i++;
			j++;
		}
	}
	return rc < 0 ? rc : hup;
}

/* ---- the seen ring ----------------------------------------------------------- */

void dhcpstate_seen_line(struct dhcpstate_seen *s, const char *line, int64_t now_us)
{
	char key[sizeof(s->v[0].key)];
	if (dhcpconf_log_key(line, key, sizeof(key)) < 0)
		return;
	unsigned at = s->next++ % DHCPSTATE_SEEN;
	memcpy(s->v[at].key, key, sizeof(key));
	s->v[at].time_us = now_us;
}

int64_t dhcpstate_seen_take(struct dhcpstate_seen *s, const char *key, int64_t at_s, int64_t now_us)
{
	int64_t *found = NULL;
	for (unsigned i = 1; i <= DHCPSTATE_SEEN && i <= s->next; i++) {
		unsigned at = (s->next - i) % DHCPSTATE_SEEN;
		int64_t t = s->v[at].time_us;
		if (t == 0)
			continue; /* taken */
		if (now_us - t > DHCPSTATE_SEEN_MAX_AGE_US)
			break; /* older ones only from here */
		int64_t sec = t / 1000000;
		if (strcmp(s->v[at].key, key) == 0 &&
		    (at_s < 0 || (sec >= at_s && sec <= at_s + 2)))
			found = &s->v[at].time_us; /* the oldest match wins */
	}
	if (found == NULL)
		return 0;
	int64_t t = *found;
	*found = 0;
	return t;
}

int dhcpstate_hook_key(const struct dhcp_event *e, unsigned lease_time, unsigned pool_lease_time,
		       char *key, size_t keylen, int64_t *at_s)
{
	*at_s = -1;
	switch (e->action) {
	case DHCP_ADD:
	case DHCP_OLD: {
		int64_t lease_s = e->known ? lease_time : pool_lease_time;
		if (e->expires > lease_s)
			*at_s = e->expires - lease_s;
		return dhcpstate_fmt(key, keylen, "ack %s", e->mac) < 0 ? -ENOENT : 0;
	}
	case DHCP_TFTP:
		return dhcpstate_fmt(key, keylen, "tftp %s", e->ip) < 0 ? -ENOENT : 0;
	default:
		return -ENOENT;
	}
}

/* ---- the refusal ring --------------------------------------------------------- */

bool dhcpstate_refused_lately(const struct dhcpstate_refusals *r, const char *mac,
			      const char *message, int64_t now_us)
{
	for (unsigned i = 1; i <= DHCPSTATE_REFUSALS && i <= r->next; i++) {
		unsigned at = (r->next - i) % DHCPSTATE_REFUSALS;
		if (now_us - r->v[at].time_us >= DHCPSTATE_REFUSAL_EVERY_US)
			break; /* older ones only from here */
		if (strcmp(r->v[at].mac, mac) == 0 && strcmp(r->v[at].message, message) == 0)
			return true;
	}
	return false;
}

void dhcpstate_refusal_note(struct dhcpstate_refusals *r, const char *mac, const char *message,
			    int64_t now_us)
{
	char m[sizeof(r->v[0].mac)], msg[sizeof(r->v[0].message)];
	/* dhcpconf_log_refusal bounds both; anything longer is not from it. */
	if (dhcpstate_fmt(m, sizeof(m), "%s", mac) < 0 ||
	    dhcpstate_fmt(msg, sizeof(msg), "%s", message) < 0)
		return;
	unsigned at = r->next++ % DHCPSTATE_REFUSALS;
	memcpy(r->v[at].mac, m, sizeof(m));
	memcpy(r->v[at].message, msg, sizeof(msg));
	r->v[at].time_us = now_us;
}

/* ---- sizing ----------------------------------------------------------------------- */

bool dhcpstate_sizing_warning(const char *backend, size_t nodes, char *out, size_t len)
{
	if (len > 0)
		out[0] = '\0';
	if (backend == NULL || strcmp(backend, "dnsmasq") != 0 ||
	    nodes <= DHCPSTATE_DNSMASQ_MAX_NODES)
		return false;
	if (dhcpstate_fmt(out, len,
			  "%zu nodes are more than the dnsmasq backend answers for at power-on "
			  "(%d at most, README \"Sizing\"); set dhcp.backend = kea",
			  nodes, DHCPSTATE_DNSMASQ_MAX_NODES) < 0 &&
	    len > 0)
		out[0] = '\0';
	return true;
}

/* ---- event text ------------------------------------------------------------------ */

const char *dhcpstate_hook_vendor(const char *line)
{
	int tabs = 0;
	for (const char *q = line; *q; q++)
		if (*q == '\t' && ++tabs == 7)
			return q + 1;
	return "";
}

int dhcpstate_lease_detail(const struct dhcp_event *e, const char *vendor, char *out, size_t len)
{
	const char *kind = e->ipxe                               ? "iPXE" :
			   strncmp(vendor, "PXEClient", 9) == 0  ? "PXE firmware" :
			   strncmp(vendor, "HTTPClient", 10) == 0 ? "HTTP boot firmware" : /* UEFI */
								    "OS";
	return dhcpstate_fmt(out, len, "%s %s %s", kind,
			     e->action == DHCP_ADD ? "lease" : "renewal", e->ip);
}

int dhcpstate_refusal_detail(const struct dhcp_refusal_log *rl, char *out, size_t len)
{
	if (strcmp(rl->message, "ignored") == 0)
		return dhcpstate_fmt(out, len, "not answered: the node is disabled (%s ignored)",
				     rl->verb);
	return dhcpstate_fmt(out, len, "refused: %s (%s%s%s)", rl->message, rl->verb,
			     rl->ip[0] ? " " : "", rl->ip);
}

int dhcpstate_proxy_detail(const struct dhcp_proxy_log *pl, char *out, size_t len)
{
	if (pl->ip[0] == '\0')
		return dhcpstate_fmt(out, len,
				     "proxy offer (the address comes from the site's DHCP)");
	if (strncmp(pl->file, "http", 4) == 0)
		return dhcpstate_fmt(out, len, "iPXE proxy boot server %s: boot script URL",
				     pl->ip);
	return dhcpstate_fmt(out, len, "PXE firmware proxy boot server %s: %s", pl->ip, pl->file);
}
