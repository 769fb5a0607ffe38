/*
 * arch: a node's processor architecture under Corral's names (the Linux
 * kernel's: x86_64, aarch64, riscv64, loongarch64), from what the machine
 * says about itself while it boots: its firmware's DHCP client
 * architecture (option 93, through dhcpconf_arches, the one table of
 * codes), the dnsmasq tags that option set, the PXE vendor class
 * ("PXEClient:Arch:00011:...") and iPXE's ${buildarch} (i386, x86_64,
 * arm64, riscv64, loong64), which the DHCP chain puts on the boot-script
 * URL as arch=.
 *
 * Pure functions over constant tables; any thread.  Returned names are
 * string constants.
 */
#ifndef CORRAL_ARCH_H
#define CORRAL_ARCH_H

#include <stdbool.h>

/* Where a node's architecture came from (nodes.arch_source). */
#define ARCH_SOURCE_DEFAULT "default" /* nobody said: x86_64 assumed, learned when seen */
#define ARCH_SOURCE_MANUAL "manual"   /* set by hand: never learned over */
#define ARCH_SOURCE_DHCP "dhcp"       /* the firmware's DHCP request (option 93) */
#define ARCH_SOURCE_IPXE "ipxe"       /* iPXE's ${buildarch} on the boot-script URL */

/* True for a Corral architecture name. */
bool arch_valid(const char *name);
/* "x86_64, aarch64, riscv64 or loongarch64", for messages. */
const char *arch_names(void);
/* True for one of the four ARCH_SOURCE_* values. */
bool arch_source_valid(const char *source);

/* iPXE's ${buildarch} as Corral's name, NULL for one Corral has no use for. */
const char *arch_of_ipxe(const char *buildarch);
/* A DHCP client-architecture code (option 93) as Corral's name, NULL if the
 * table has no row for it. */
const char *arch_of_client(unsigned code);
/*
 * The architecture dnsmasq's tags (DNSMASQ_TAGS, space-separated) name
 * through the dhcp-match tags the arch table sets; NULL if none does.
 */
const char *arch_of_tags(const char *tags);
/* The code in a PXE or HTTP-boot vendor class ("PXEClient:Arch:00011:UNDI:003000",
 * "HTTPClient:Arch:00016"): 0 and *code, or -1 if there is none. */
int arch_vendor_code(const char *vendor, unsigned *code);

#endif
