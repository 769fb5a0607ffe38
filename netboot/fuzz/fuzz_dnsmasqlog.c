/*
 * fuzz_dnsmasqlog: lines of dnsmasq's log as corrald reads them from its
 * stderr.  dnsmasq copies fields chosen by DHCP clients (host names,
 * vendor classes, requested file names) into these lines, so every parser
 * of them, and the timeline text made from what they return, sees hostile
 * bytes.  Checks that each parser either refuses a line or returns
 * fields within their documented shapes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcpconf.h"
#include "dhcpstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A normalised MAC: 17 bytes, lower-case hex pairs and colons. */
static void fuzz_check_mac(const char *mac)
{
	if (strlen(mac) != 17)
		abort();
	for (int i = 0; i < 17; i++) {
		char c = mac[i];
		bool ok = i % 3 == 2 ? c == ':' : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
		if (!ok)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	char key[64], detail[256];
	if (dhcpconf_log_key(s, key, sizeof(key)) == 0 && strlen(key) >= sizeof(key))
		abort();
	struct dhcp_proxy_log pl;
	if (dhcpconf_log_proxy(s, &pl) == 0) {
		fuzz_check_mac(pl.mac);
		if (strlen(pl.ip) >= sizeof(pl.ip) || strlen(pl.file) >= sizeof(pl.file))
			abort();
		(void)dhcpstate_proxy_detail(&pl, detail, sizeof(detail));
	}
	struct dhcp_refusal_log rl;
	if (dhcpconf_log_refusal(s, &rl) == 0) {
		fuzz_check_mac(rl.mac);
		if (strlen(rl.message) >= sizeof(rl.message) || strlen(rl.verb) >= sizeof(rl.verb))
			abort();
		(void)dhcpstate_refusal_detail(&rl, detail, sizeof(detail));
	}
	(void)dhcpconf_log_started(s);

	/* The hook's lines carry the vendor class as an 8th field. */
	const char *vendor = dhcpstate_hook_vendor(s);
	struct dhcp_event ev;
	if (dhcpconf_parse_event(s, &ev) == 0)
		(void)dhcpstate_lease_detail(&ev, vendor, detail, sizeof(detail));
	free(s);
	return 0;
}
