/*
 * fuzz_envelope: two small parsers that run before anything is known
 * about the sender.  ochami_bearer() opens the JWT envelope that `ochami`
 * wraps a Corral token in (any client can send an Authorization header);
 * nodereport_form_value() decodes the form body a node's initramfs posts
 * to /boot/v1/report/{token}.  The first input byte picks the parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nodereport.h"
#include "ochami.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	char *s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	char out[128];
	if (data[0] & 1) {
		if (ochami_bearer(s, out, sizeof(out)) == 0 && strlen(out) >= sizeof(out))
			abort();
	} else {
		static const char *const keys[] = {"stage", "detail", "sha256", "x"};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (nodereport_form_value(s, keys[i], out, sizeof(out)) != 0)
				continue;
			/* Decoded values never carry control bytes into the timeline. */
			for (const char *p = out; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					abort();
		}
	}
	free(s);
	return 0;
}
