/*
 * keaconf: Kea's configuration, lease stages, log lines and replies.  See
 * keaconf.h.  Inputs are validated settings, MACs, IPs and names
 * (valid.h); every string is JSON-escaped all the same.  Log lines and
 * replies come from Kea and are parsed defensively.
 */
#include "keaconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "valid.h"

/* Appends s as a JSON string (quotes included). */
static int keaconf_str(struct buf *out, const char *s)
{
	int rc = buf_addc(out, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			rc |= buf_printf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			rc |= buf_printf(out, "\\u%04x", ch);
		else
			rc |= buf_addc(out, (char)ch);
	}
	return rc | buf_addc(out, '"');
}

static void keaconf_ip(unsigned a, char out[16])
{
	struct in_addr in = {htonl(a)};
	inet_ntop(AF_INET, &in, out, 16);
}

/* The pool as "lo - hi": configured, or the upper half of the subnet (dnsmasq's rule). */
static int keaconf_pool(const struct keaconf *c, char *out, size_t len)
{
	char lo[16], hi[16];
	unsigned size = ~(0xffffffffu << (32 - c->prefix)) + 1u;
	if (c->pool_start[0] != '\0') {
		if (valid_ipv4(c->pool_start) < 0 || valid_ipv4(c->pool_end) < 0)
			return -EINVAL;
		int n = snprintf(out, len, "%s - %s", c->pool_start, c->pool_end);
		return n > 0 && (size_t)n < len ? 0 : -EINVAL;
	}
	keaconf_ip(c->network + size / 2, lo);
	keaconf_ip(c->network + size - 2, hi);
	int n = snprintf(out, len, "%s - %s", lo, hi);
	return n > 0 && (size_t)n < len ? 0 : -EINVAL;
}

/* True if ip is a host address of the subnet (not its network or broadcast address). */
static bool keaconf_in_subnet(const struct keaconf *c, const char *ip)
{
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return false;
	unsigned v = ntohl(a.s_addr), mask = 0xffffffffu << (32 - c->prefix);
	return (v & mask) == c->network && v != c->network && v != (c->network | ~mask);
}

static int keaconf_globals(const struct keaconf *c, struct buf *out)
{
	int rc = buf_adds(out, "{\n\"Dhcp4\": {\n\"interfaces-config\": {\"interfaces\": [");
	rc |= keaconf_str(out, c->interface);
	/* The boot interface may have no carrier yet: Kea tries again every second. */
	rc |= buf_adds(out,
		       "], \"dhcp-socket-type\": \"raw\", \"service-sockets-require-all\": false, "
		       "\"service-sockets-max-retries\": 1000000000, "
		       "\"service-sockets-retry-wait-time\": 1000},\n");
	rc |= buf_adds(out, "\"control-socket\": {\"socket-type\": \"unix\", \"socket-name\": ");
	rc |= keaconf_str(out, c->control_socket);
	rc |= buf_adds(out, "},\n\"lease-database\": {\"type\": \"memfile\", \"persist\": true, "
			    "\"lfc-interval\": 3600, \"name\": ");
	rc |= keaconf_str(out, c->lease_file);
	rc |= buf_printf(out,
			 "},\n\"multi-threading\": {\"enable-multi-threading\": true, "
			 "\"thread-pool-size\": %u, \"packet-queue-size\": 64},\n",
			 c->threads);
	/* Leases follow the MAC, as dnsmasq's host entries do: a node's
	 * firmware, iPXE and OS send different client ids (or none). */
	rc |= buf_adds(out, "\"authoritative\": true,\n\"match-client-id\": false,\n"
			    "\"host-reservation-identifiers\": [\"hw-address\"],\n"
			    "\"calculate-tee-times\": true,\n");
	rc |= buf_printf(out,
			 "\"valid-lifetime\": %u, \"min-valid-lifetime\": %u, "
			 "\"max-valid-lifetime\": %u,\n",
			 c->lease_time, c->lease_time, c->lease_time);
	/* iPXE's encapsulated options: 175.176 = 1 tells it not to wait for
	 * proxy-DHCP offers (there are none). */
	rc |= buf_adds(out, "\"option-def\": [\n"
			    " {\"space\": \"dhcp4\", \"name\": \"ipxe-encap-opts\", \"code\": 175, "
			    "\"type\": \"empty\", \"encapsulate\": \"ipxe\"},\n"
			    " {\"space\": \"ipxe\", \"name\": \"no-pxedhcp\", \"code\": 176, "
			    "\"type\": \"uint8\"}\n],\n");
	rc |= buf_adds(out, "\"option-data\": [\n {\"name\": \"domain-name\", \"data\": ");
	rc |= keaconf_str(out, c->domain);
	rc |= buf_adds(out, "}");
	if (c->dns_port != 0) {
		rc |= buf_adds(out, ",\n {\"name\": \"domain-name-servers\", \"data\": ");
		rc |= keaconf_str(out, c->server_ip);
		rc |= buf_adds(out, "}");
	}
	if (c->router[0] != '\0') {
		rc |= buf_adds(out, ",\n {\"name\": \"routers\", \"data\": ");
		rc |= keaconf_str(out, c->router);
		rc |= buf_adds(out, "}");
	}
	return rc | buf_adds(out, "\n],\n");
}

/* One class, with a test, and a boot file or a lease length (0: none). */
static int keaconf_class(struct buf *out, const char *name, const char *test, const char *file,
			 unsigned lifetime)
{
	int rc = buf_adds(out, ",\n {\"name\": ");
	rc |= keaconf_str(out, name);
	rc |= buf_adds(out, ", \"test\": ");
	rc |= keaconf_str(out, test);
	if (file != NULL) {
		rc |= buf_adds(out, ", \"boot-file-name\": ");
		rc |= keaconf_str(out, file);
	}
	if (lifetime != 0)
		rc |= buf_printf(out,
				 ", \"valid-lifetime\": %u, \"min-valid-lifetime\": %u, "
				 "\"max-valid-lifetime\": %u",
				 lifetime, lifetime, lifetime);
	return rc | buf_adds(out, "}");
}

/*
 * The first-stage binary per client architecture, from dhcpconf's table.
 * Classes that depend on a reservation's class must be evaluated after
 * the host lookup, which Kea does for tests naming KNOWN or UNKNOWN; the
 * plain ones say "KNOWN or UNKNOWN" so they are evaluated then too, after
 * the full ones (the first class with a boot file wins).
 */
static int keaconf_arch_classes(struct buf *out)
{
	char name[64], test[320];
	int rc = 0;
	for (unsigned i = 0; i < dhcpconf_narches; i++) {
		const struct dhcpconf_arch *a = &dhcpconf_arches[i];
		int n;
		/* UEFI HTTP boot wants a URL and option 60 echoed, which only the
		 * dnsmasq backend writes so far: no TFTP name for such a client. */
		if (a->http)
			continue;
		if (a->full_file != NULL) {
			n = snprintf(name, sizeof(name), "corral-arch%u-full", a->arch);
			int m = snprintf(test, sizeof(test),
					 "member('KNOWN') and member('corral-ipxe-full') and not "
					 "member('corral-ipxe') and option[93].hex == 0x%04x",
					 a->arch);
			if (n < 0 || (size_t)n >= sizeof(name) || m < 0 ||
			    (size_t)m >= sizeof(test))
				return -E2BIG;
			rc |= keaconf_class(out, name, test, a->full_file, 0);
		}
		n = snprintf(name, sizeof(name), "corral-arch%u", a->arch);
		int m = snprintf(test, sizeof(test),
				 "(member('KNOWN') or member('UNKNOWN')) and not "
				 "member('corral-ipxe')%s and option[93].hex == 0x%04x",
				 a->full_file != NULL ? " and not member('corral-ipxe-full')" : "",
				 a->arch);
		if (n < 0 || (size_t)n >= sizeof(name) || m < 0 || (size_t)m >= sizeof(test))
			return -E2BIG;
		rc |= keaconf_class(out, name, test, a->file, 0);
	}
	return rc;
}

#define KEACONF_PXECLIENT "substring(option[60].hex,0,9) == 'PXEClient'"

static int keaconf_classes(const struct keaconf *c, struct buf *out)
{
	char url[512];
	unsigned L = c->lease_time, P = c->pool_lease_time;
	int n = snprintf(url, sizeof(url), "%s/boot/v1/bootscript?mac=${net0/mac}", c->base_url);
	if (n < 0 || (size_t)n >= sizeof(url))
		return -E2BIG;
	/* Classes a reservation gives; a disabled node's requests are dropped
	 * (its DISCOVER finds no pool and is logged, so the timeline can say
	 * why; anything else it sends is dropped unseen). */
	int rc = buf_adds(out, "\"client-classes\": [\n {\"name\": \"corral-disabled\"},\n"
			       " {\"name\": \"corral-ipxe-full\"}");
	rc |= keaconf_class(
		out, "DROP",
		"member('KNOWN') and member('corral-disabled') and not (pkt4.msgtype == 1)", NULL,
		0);
	rc |= buf_adds(out, ",\n {\"name\": \"corral-ipxe\", \"test\": \"option[175].exists or "
			    "substring(option[77].hex,0,4) == 'iPXE'\", \"boot-file-name\": ");
	rc |= keaconf_str(out, url);
	rc |= buf_adds(out, ",\n  \"option-data\": [{\"name\": \"ipxe-encap-opts\"}, "
			    "{\"space\": \"ipxe\", \"name\": \"no-pxedhcp\", \"data\": \"1\"}]}");
	rc |= keaconf_arch_classes(out);
	rc |= keaconf_class(
		out, "corral-pool",
		"member('UNKNOWN') or (member('KNOWN') and not member('corral-disabled'))", NULL,
		0);
	/* The boot stage in the lease's length (keaconf.h); mutually exclusive. */
	rc |= keaconf_class(out, "corral-ipxe-known", "member('KNOWN') and member('corral-ipxe')",
			    NULL, L - KEACONF_IPXE_SHORTER);
	rc |= keaconf_class(out, "corral-ipxe-unknown",
			    "member('UNKNOWN') and member('corral-ipxe')", NULL,
			    P - KEACONF_IPXE_SHORTER);
	rc |= keaconf_class(out, "corral-pxe-known",
			    "member('KNOWN') and not member('corral-ipxe') and " KEACONF_PXECLIENT,
			    NULL, L - KEACONF_PXE_SHORTER);
	rc |= keaconf_class(
		out, "corral-pxe-unknown",
		"member('UNKNOWN') and not member('corral-ipxe') and " KEACONF_PXECLIENT, NULL,
		P - KEACONF_PXE_SHORTER);
	rc |= keaconf_class(
		out, "corral-os-unknown",
		"member('UNKNOWN') and not member('corral-ipxe') and not (" KEACONF_PXECLIENT ")",
		NULL, P);
	return rc | buf_adds(out, "\n],\n");
}

static int keaconf_reservation(const struct keaconf *c, const struct store_dhcp_host *h,
			       struct buf *out)
{
	int rc = buf_printf(out, " {\"hw-address\": \"%s\"", h->mac);
	if (!h->enabled)
		return rc | buf_adds(out, ", \"client-classes\": [\"corral-disabled\"]}");
	if (h->ip[0] != '\0' && keaconf_in_subnet(c, h->ip))
		rc |= buf_printf(out, ", \"ip-address\": \"%s\"", h->ip);
	if (h->name[0] != '\0') {
		rc |= buf_adds(out, ", \"hostname\": ");
		rc |= keaconf_str(out, h->name);
	}
	if (h->ipxe_full)
		rc |= buf_adds(out, ", \"client-classes\": [\"corral-ipxe-full\"]");
	return rc | buf_adds(out, "}");
}

int keaconf_render(const struct keaconf *c, const struct store_dhcp_host *h, size_t n,
		   struct buf *out)
{
	char net[16], pool[40];
	if (keaconf_pool(c, pool, sizeof(pool)) < 0)
		return -EINVAL;
	keaconf_ip(c->network, net);
	int rc = keaconf_globals(c, out);
	int crc = keaconf_classes(c, out);
	if (crc == -E2BIG)
		return crc;
	rc |= crc;
	rc |= buf_printf(
		out, "\"subnet4\": [{\n\"id\": 1, \"subnet\": \"%s/%u\", \"next-server\": ", net,
		c->prefix);
	rc |= keaconf_str(out, c->server_ip);
	rc |= buf_printf(out,
			 ",\n\"pools\": [{\"pool\": \"%s\", \"client-class\": \"corral-pool\"}],\n"
			 "\"reservations\": [",
			 pool);
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc |= buf_adds(out, i ? ",\n" : "\n");
		rc |= keaconf_reservation(c, &h[i], out);
	}
	rc |= buf_adds(out, "\n]}],\n");
	/* Kea's log goes to corrald's log through stdout.  kea-dhcp4.options
	 * would log every class test at INFO (Kea 2.2), kea-dhcp4.leases two
	 * lines per lease: leases are in the lease file and on the timeline,
	 * and at thousands a second those lines cost Kea and corrald more
	 * than the leases themselves.  Refusals (alloc-engine) are WARN. */
	static const char *const quiet[] = {"kea-dhcp4.options", "kea-dhcp4.leases"};
	rc |= buf_adds(out,
		       "\"loggers\": [\n"
		       " {\"name\": \"kea-dhcp4\", \"severity\": \"INFO\", \"output_options\": "
		       "[{\"output\": \"stdout\", \"pattern\": \"%-5p [%c] %m\\n\"}]}");
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		rc |= buf_printf(
			out,
			",\n {\"name\": \"%s\", \"severity\": \"WARN\", \"output_options\": "
			"[{\"output\": \"stdout\", \"pattern\": \"%%-5p [%%c] %%m\\n\"}]}",
			quiet[i]);
	rc |= buf_adds(out, "\n]\n}\n}\n");
	return rc ? -E2BIG : 0;
}

enum keaconf_stage keaconf_stage(unsigned valid_lifetime, unsigned lease_time,
				 unsigned pool_lease_time, bool known)
{
	unsigned sets[2] = {known ? lease_time : pool_lease_time,
			    known ? pool_lease_time : lease_time};
	for (int i = 0; i < 2; i++) {
		if (valid_lifetime == sets[i])
			return KEACONF_OS;
		if (valid_lifetime + KEACONF_PXE_SHORTER == sets[i])
			return KEACONF_PXE;
		if (valid_lifetime + KEACONF_IPXE_SHORTER == sets[i])
			return KEACONF_IPXE;
	}
	return KEACONF_OS;
}

int keaconf_log_refusal(const char *line, struct dhcp_refusal_log *out)
{
	static const char id[] = "ALLOC_ENGINE_V4_ALLOC_FAIL_CLASSES [hwtype=1 ";
	char mac_in[32];
	memset(out, 0, sizeof(*out));
	const char *p = strstr(line, id);
	if (p == NULL || sscanf(p + sizeof(id) - 1, "%31[0-9a-fA-F:]", mac_in) != 1 ||
	    valid_mac_normalize(mac_in, out->mac) < 0) {
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	memcpy(out->verb, "DHCPDISCOVER", sizeof("DHCPDISCOVER"));
	const char *classes = strstr(p, "with classes: ");
	bool disabled = false;
	for (const char *q = classes; q != NULL && (q = strstr(q, "corral-disabled")) != NULL;
	     q++) {
		char after = q[sizeof("corral-disabled") - 1];
		if ((q[-1] == ' ' || q[-1] == ',') &&
		    (after == '\0' || after == ',' || after == ' '))
			disabled = true;
	}
	const char *msg = disabled ? "ignored" : "no address available";
	memcpy(out->message, msg, strlen(msg) + 1);
	return 0;
}

bool keaconf_log_started(const char *line)
{
	return strncmp(line, "INFO ", 5) == 0 && strstr(line, "] DHCP4_STARTED ") != NULL;
}

int keaconf_reply(const char *json, size_t len, int *result, char *text, size_t textlen)
{
	json_error_t e;
	json_t *r = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
	json_t *res = json_object_get(r, "result");
	if (textlen > 0)
		text[0] = '\0';
	if (r != NULL && json_is_array(r) && json_array_size(r) == 1) {
		/* Kea answers some commands with a one-element list */
		json_t *one = json_incref(json_array_get(r, 0));
		json_decref(r);
		r = one;
		res = json_object_get(r, "result");
	}
	if (!json_is_integer(res)) {
		json_decref(r);
		return -EINVAL;
	}
	*result = (int)json_integer_value(res);
	const char *t = json_string_value(json_object_get(r, "text"));
	if (t != NULL && textlen > 0) {
		int n = snprintf(text, textlen, "%s", t);
		if ((n < 0 || (size_t)n >= textlen) && textlen >= 4)
			memcpy(text + textlen - 4, "...", 4);
	}
	json_decref(r);
	return 0;
}
