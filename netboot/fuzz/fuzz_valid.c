/*
 * fuzz_valid: the checks every query string and API field goes through.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char mac[VALID_MAC_LEN + 1];
	const char *why;
	long long v;
	unsigned net, prefix;
	if (valid_mac_normalize(s, mac) == 0 && strlen(mac) != VALID_MAC_LEN)
		abort();
	(void)valid_name(s);
	(void)valid_ipv4(s);
	(void)valid_ip_literal(s);
	(void)valid_cidr(s, &net, &prefix);
	(void)valid_base_url(s);
	(void)valid_ipxe_params(s, &why);
	(void)valid_location(s, &why);
	(void)valid_parse_ll(s, -5, 5, &v);
	free(s);
	return 0;
}
