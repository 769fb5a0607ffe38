/*
 * fuzz_yaml: cloud-init data as stored by operators and merged for nodes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloudinit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char err[256];
	json_t *j = NULL;
	if (cloudinit_yaml_parse(s, &j, err, sizeof(err)) == 0)
		json_decref(j);
	if (cloudinit_check_user_data(s, err, sizeof(err)) == 0) {
		json_t *layers = json_pack("[s, s]", "#cloud-config\nruncmd: [a]\n", s);
		struct buf out;
		buf_init(&out, 1 << 20);
		if (layers != NULL)
			(void)cloudinit_user_data(layers, &out);
		buf_clear(&out);
		json_decref(layers);
	}
	free(s);
	return 0;
}
