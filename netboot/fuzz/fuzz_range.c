/*
 * fuzz_range: the Range header of /files requests (from any node).
 * The first 8 bytes give the file size, the rest is the header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t fsize = 0;
	if (size < 8)
		return 0;
	memcpy(&fsize, data, 8);
	char *h = malloc(size - 8 + 1);
	if (h == NULL)
		return 0;
	memcpy(h, data + 8, size - 8);
	h[size - 8] = '\0';
	uint64_t a, b;
	if (files_parse_range(h, fsize, &a, &b) == 0 && (a > b || b >= fsize))
		abort(); /* an accepted range must lie inside the file */
	(void)files_path_ok(h);
	free(h);
	return 0;
}
