/*
 * fuzz_config: corrald's INI configuration (read through a memfd).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("conf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64], err[512];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct config *c = malloc(sizeof(*c));
	if (c != NULL) {
		config_defaults(c);
		(void)config_load(path, c, err, sizeof(err));
		free(c);
	}
	close(fd);
	return 0;
}
