/*
 * fuzz_dhcpevent: lines from corral-dhcp-hook (fields chosen by DHCP clients).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcpconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct dhcp_event ev;
	if (dhcpconf_parse_event(s, &ev) == 0 && (ev.action == DHCP_ADD || ev.action == DHCP_OLD) &&
	    strlen(ev.mac) != 17)
		abort();
	free(s);
	return 0;
}
