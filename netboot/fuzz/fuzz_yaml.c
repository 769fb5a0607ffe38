/*
 * fuzz_yaml: cloud-init data as stored by operators and merged for nodes.
 * Accepted documents nest at most CLOUDINIT_MAX_DEPTH levels (aliases
 * counted where they land); refused ones say on which line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloudinit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nested arrays and objects in v: 0 for a scalar. */
static int value_depth(json_t *v)
{
	int d = 0;
	size_t i;
	const char *k;
	json_t *x;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			int c = value_depth(x);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			int c = value_depth(x);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char err[256];
	json_t *j = NULL;
	int rc = cloudinit_yaml_parse(s, &j, err, sizeof(err));
	if (rc == 0) {
		/* What is accepted can be stored and served: within the limit,
		 * aliases included. */
		if (value_depth(j) > CLOUDINIT_MAX_DEPTH)
			abort();
		json_decref(j);
	} else if (rc == -EINVAL && strncmp(err, "line ", 5) != 0) {
		abort(); /* every refusal names its line */
	}
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
