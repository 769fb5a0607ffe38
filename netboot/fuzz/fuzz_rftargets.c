/*
 * fuzz_rftargets: discovery targets from POST /api/v1/discover
 * ("10.0.0.0/24", "10.0.0.5-10.0.0.9", "bmc-7"), expanded into the
 * addresses a job probes.  Never more than max; every address a
 * printable string; a refusal says why.
 *
 * The replies of the BMCs found are fuzz_rfreply's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "redfish.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max = 300; /* small: a /16 must stop early, not run long */
	char *t = strndup((const char *)data, size);
	json_t *out = json_array();
	if (t == NULL || out == NULL) {
		free(t);
		json_decref(out);
		return 0;
	}
	char err[256] = "";
	int rc = redfish_expand(t, out, max, err, sizeof(err));
	if (json_array_size(out) > max)
		abort();
	if (rc < 0 && err[0] == '\0')
		abort();
	size_t i;
	json_t *v;
	json_array_foreach(out, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL || s[0] == '\0')
			abort();
		for (; *s; s++)
			if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
				abort();
	}
	json_decref(out);
	free(t);
	return 0;
}
