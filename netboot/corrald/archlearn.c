/*
 * archlearn: a learned architecture into the store and onto the timeline.
 * See archlearn.h.
 */
#include "archlearn.h"

#include <stdbool.h>

#include "buf.h"
#include "dhcpstate.h"
#include "log.h"

void archlearn_record(struct store *st, struct events *ev, int64_t node, const char *arch,
		      const char *source, const char *stage, const char *ip, const char *how)
{
	bool changed;
	char detail[128];
	if (node == 0 || arch == NULL)
		return;
	if (store_node_learn_arch(st, node, arch, source, &changed) < 0) {
		log_warnx("%s: could not record node %lld's arch: %s", stage, (long long)node,
			  store_errmsg());
		return;
	}
	if (changed && buf_fmt(detail, sizeof(detail), "arch %s learned from %s", arch, how) == 0)
		events_add(ev, node, stage, ip, detail, NULL, NULL);
}

void archlearn_hook(struct store *st, struct events *ev, int64_t node, const char *line,
		    const char *ip)
{
	archlearn_record(st, ev, node, dhcpstate_hook_arch(line), "dhcp", "dhcp", ip,
			 "DHCP (client architecture)");
}
