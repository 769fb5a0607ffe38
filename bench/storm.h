/*
 * storm.h: what the two halves of the boot-storm simulator share.
 * storm.c runs the storm (main, the simulated nodes, the report);
 * storm_prep.c prepares a run ("storm nodes": the import JSON, "storm
 * mirror": corrald's answers as static files for the reference server).
 * Only these two files include it.
 */
#ifndef CORRAL_STORM_H
#define CORRAL_STORM_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

#define STORM_SCRIPT_MAX (64u << 10) /* a boot script larger than this is a failure */
#define STORM_URL_MAX 1024

/* Prints "storm: ..." on stderr and exits 1. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
int64_t now_us(void);
long long parse_num(const char *opt, const char *s, long long min, long long max);
/* Node i's MAC, name and source address (see storm.c's header). */
void node_mac(uint32_t i, char out[18]);
void node_name(uint32_t i, char *out, size_t len);
void node_ip(uint32_t base, uint32_t i, char out[INET_ADDRSTRLEN]);

int cmd_nodes(uint32_t first, uint32_t n, uint32_t base);
int cmd_mirror(const char *url, const char *auth_file, const char *to, const char *dir,
	       uint32_t first, uint32_t n);

#endif
