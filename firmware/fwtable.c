/*
 * corral-fwtable: prints corrald's client-architecture table
 * (dhcpconf_arches, netboot/corrald/dhcpconf.c) for firmware/build.py, so
 * the firmware tree's manifest and dnsmasq's configuration come from the
 * same table.  A build tool, linked with dhcpconf.o alone.
 *
 * One line a row, tab-separated:
 *   code  name  tag  file  full_file ("-": none)  platform  http  optional
 * (http and optional are 0 or 1).
 */
#include <stdio.h>

#include "dhcpconf.h"

int main(void)
{
	for (unsigned i = 0; i < dhcpconf_narches; i++) {
		const struct dhcpconf_arch *a = &dhcpconf_arches[i];
		if (printf("%u\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", a->arch, a->name, a->tag, a->file,
			   a->full_file ? a->full_file : "-", a->platform, a->http ? 1 : 0,
			   a->optional ? 1 : 0) < 0)
			return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
