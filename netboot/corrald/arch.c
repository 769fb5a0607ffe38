/*
 * arch: architecture names from boot-time facts.  See arch.h.  The
 * option 93 codes are not repeated here: a code's row in dhcpconf_arches
 * names its iPXE build platform ("arm64-efi"), whose first part is the
 * ${buildarch} of the binary it gets, so one table answers both.
 */
#include "arch.h"

#include <stdlib.h>
#include <string.h>

#include "dhcpconf.h"

static const struct {
	const char *ipxe; /* ${buildarch} */
	const char *name; /* Corral's */
} arch_ipxe[] = {
	/* a BIOS iPXE (undionly.kpxe) is a 32-bit build on a 64-bit machine */
	{"i386", "x86_64"},     {"x86_64", "x86_64"},       {"arm64", "aarch64"},
	{"riscv64", "riscv64"}, {"loong64", "loongarch64"},
};
#define ARCH_NIPXE (sizeof(arch_ipxe) / sizeof(arch_ipxe[0]))

bool arch_valid(const char *name)
{
	if (name == NULL)
		return false;
	for (size_t i = 0; i < ARCH_NIPXE; i++)
		if (strcmp(arch_ipxe[i].name, name) == 0)
			return true;
	return false;
}

const char *arch_names(void)
{
	return "x86_64, aarch64, riscv64 or loongarch64";
}

bool arch_source_valid(const char *s)
{
	return s != NULL &&
	       (strcmp(s, ARCH_SOURCE_DEFAULT) == 0 || strcmp(s, ARCH_SOURCE_MANUAL) == 0 ||
		strcmp(s, ARCH_SOURCE_DHCP) == 0 || strcmp(s, ARCH_SOURCE_IPXE) == 0);
}

const char *arch_of_ipxe(const char *buildarch)
{
	if (buildarch == NULL)
		return NULL;
	for (size_t i = 0; i < ARCH_NIPXE; i++)
		if (strcmp(arch_ipxe[i].ipxe, buildarch) == 0)
			return arch_ipxe[i].name;
	return NULL;
}

/* The ${buildarch} part of a row's platform ("arm64" of "arm64-efi"). */
static const char *arch_of_row(const struct dhcpconf_arch *a)
{
	char part[16];
	size_t n = strcspn(a->platform, "-");
	if (n >= sizeof(part))
		return NULL;
	memcpy(part, a->platform, n);
	part[n] = '\0';
	return arch_of_ipxe(part);
}

const char *arch_of_client(unsigned code)
{
	for (unsigned i = 0; i < dhcpconf_narches; i++)
		if (dhcpconf_arches[i].arch == code)
			return arch_of_row(&dhcpconf_arches[i]);
	return NULL;
}

/* Whether tag is a whole word of the space-separated tags. */
static bool arch_has_tag(const char *tags, const char *tag)
{
	size_t n = strlen(tag);
	for (const char *p = tags; (p = strstr(p, tag)) != NULL; p += n)
		if ((p == tags || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

const char *arch_of_tags(const char *tags)
{
	if (tags == NULL)
		return NULL;
	for (unsigned i = 0; i < dhcpconf_narches; i++)
		if (arch_has_tag(tags, dhcpconf_arches[i].tag))
			return arch_of_row(&dhcpconf_arches[i]);
	return NULL;
}

int arch_vendor_code(const char *vendor, unsigned *code)
{
	static const char *const prefixes[] = {"PXEClient:Arch:", "HTTPClient:Arch:"};
	for (size_t i = 0; vendor != NULL && i < 2; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(vendor, prefixes[i], n) != 0)
			continue;
		const char *d = vendor + n;
		size_t digits = strspn(d, "0123456789");
		/* five digits by the PXE specification; the field ends there */
		if (digits != 5 || (d[5] != '\0' && d[5] != ':'))
			return -1;
		*code = (unsigned)strtoul(d, NULL, 10);
		return 0;
	}
	return -1;
}
