/*
 * api_boot: validation of the fields architecture-aware boot adds to
 * nodes, groups and profiles (a node's arch_source, a profile's images per
 * architecture, the first-stage iPXE binary).  See api_internal.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api_internal.h"
#include "arch.h"
#include "buf.h"
#include "dhcpconf.h"
#include "valid.h"

int api_boot_check_images(json_t *v, const char *field, struct api_err *e)
{
	if (!json_is_object(v))
		return api_fail(e, field, "must be an object of architecture → image name");
	const char *arch;
	json_t *name;
	json_object_foreach(v, arch, name) {
		char f[128];
		int n = snprintf(f, sizeof(f), "%s.%s", field, arch);
		if (n < 0 || (size_t)n >= sizeof(f) || !arch_valid(arch))
			return api_fail(e, n < 0 || (size_t)n >= sizeof(f) ? field : f,
					"not an architecture (%s)", arch_names());
		if (!json_is_string(name) || valid_name(json_string_value(name)) < 0)
			return api_fail(e, f, "must be an image name");
	}
	return 0;
}

/* Whether file is one of the table's binaries. */
static bool api_boot_in_table(const char *file)
{
	for (unsigned i = 0; i < dhcpconf_narches; i++) {
		const struct dhcpconf_arch *a = &dhcpconf_arches[i];
		if (strcmp(a->file, file) == 0 || (a->full_file && strcmp(a->full_file, file) == 0))
			return true;
	}
	return false;
}

int api_boot_check_binary(const char *ipxe_dir, json_t *v, const char *field, struct api_err *e)
{
	if (json_is_null(v))
		return 0;
	const char *s = json_string_value(v);
	if (s == NULL || !api_boot_in_table(s)) {
		struct buf names;
		buf_init(&names, 256);
		for (unsigned i = 0; i < dhcpconf_narches; i++) {
			const struct dhcpconf_arch *a = &dhcpconf_arches[i];
			if (i > 0 && strcmp(a->tag, dhcpconf_arches[i - 1].tag) == 0)
				continue; /* rows that share a tag name the same files */
			if (a->http)
				continue; /* the same files as the PXE rows */
			buf_printf(&names, "%s%s%s%s", names.len ? ", " : "", a->file,
				   a->full_file ? ", " : "", a->full_file ? a->full_file : "");
		}
		api_fail(e, field, "must be null or a binary of the firmware table (%s)",
			 buf_str(&names));
		buf_clear(&names);
		return -EINVAL;
	}
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", ipxe_dir, s);
	if (n < 0 || (size_t)n >= sizeof(path) || access(path, R_OK) != 0)
		return api_fail(e, field,
				"%s is not in dhcp.ipxe_dir (%s): corrald could not serve it "
				"(`make firmware` builds a tree with every binary)",
				s, ipxe_dir);
	return 0;
}

void api_boot_patch(json_t *cur, json_t *body)
{
	if (json_object_get(body, "arch") != NULL && json_object_get(body, "arch_source") == NULL)
		json_object_del(cur, "arch_source");
	json_object_update(cur, body);
}

void api_boot_arch_source(json_t *in, json_t *o)
{
	const char *said = json_string_value(json_object_get(in, "arch_source"));
	const char *src = json_object_get(in, "arch") == NULL ? ARCH_SOURCE_DEFAULT :
			  said != NULL                        ? said :
								ARCH_SOURCE_MANUAL;
	json_object_set_new(o, "arch_source", json_string(src));
}
