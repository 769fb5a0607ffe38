/*
 * metrics: lock-free counters.  See metrics.h.
 */
#include "metrics.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The statuses corrald answers with; anything else is counted as "other". */
static const unsigned metrics_codes[] = {200, 201, 204, 206, 304, 400, 401, 403, 404,
					 405, 409, 413, 415, 416, 422, 500, 503};
#define METRICS_NCODES (sizeof(metrics_codes) / sizeof(metrics_codes[0]) + 1)

struct metrics {
	const char *const *labels;
	size_t nlabels;
	_Atomic uint64_t *requests; /* [(nlabels + 1) * METRICS_NCODES] */
	_Atomic uint64_t boot[METRICS_BOOT_KINDS];
	_Atomic uint64_t file_bytes;
	_Atomic uint64_t cache[2];
	_Atomic uint64_t dhcp_restarts;
	_Atomic uint64_t kea_restarts, kea_reloads;
	_Atomic(const char *) dhcp_backend; /* a static name, or NULL: DHCP off */
};

int metrics_new(const char *const *labels, size_t nlabels, struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->labels = labels;
	m->nlabels = nlabels;
	m->requests = calloc((nlabels + 1) * METRICS_NCODES, sizeof(*m->requests));
	if (m->requests == NULL) {
		free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->requests);
	free(m);
}

void metrics_request(struct metrics *m, int route, unsigned status)
{
	size_t r = route < 0 || (size_t)route >= m->nlabels ? m->nlabels : (size_t)route;
	size_t c = METRICS_NCODES - 1;
	for (size_t i = 0; i < METRICS_NCODES - 1; i++)
		if (metrics_codes[i] == status)
			c = i;
	atomic_fetch_add_explicit(&m->requests[r * METRICS_NCODES + c], 1, memory_order_relaxed);
}

void metrics_bootscript(struct metrics *m, enum metrics_boot kind)
{
	if ((unsigned)kind >= METRICS_BOOT_KINDS)
		return; /* not a kind: nothing to count it under */
	atomic_fetch_add_explicit(&m->boot[kind], 1, memory_order_relaxed);
}

void metrics_file_bytes(struct metrics *m, uint64_t n)
{
	atomic_fetch_add_explicit(&m->file_bytes, n, memory_order_relaxed);
}

void metrics_bootcache(struct metrics *m, int hit)
{
	atomic_fetch_add_explicit(&m->cache[hit ? 1 : 0], 1, memory_order_relaxed);
}

void metrics_dhcp_restart(struct metrics *m)
{
	atomic_fetch_add_explicit(&m->dhcp_restarts, 1, memory_order_relaxed);
}

void metrics_kea_restart(struct metrics *m)
{
	atomic_fetch_add_explicit(&m->kea_restarts, 1, memory_order_relaxed);
}

void metrics_kea_reload(struct metrics *m)
{
	atomic_fetch_add_explicit(&m->kea_reloads, 1, memory_order_relaxed);
}

void metrics_dhcp_backend(struct metrics *m, const char *name)
{
	atomic_store(&m->dhcp_backend, name);
}

int metrics_render(struct metrics *m, struct buf *out)
{
	static const char *const kinds[] = {"node",      "unknown", "disabled",
					    "noprofile", "refused", "noimage"};
	_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == METRICS_BOOT_KINDS,
		       "a label for every enum metrics_boot");
	int rc = 0;
	rc |= buf_adds(out, "# HELP corral_http_requests_total HTTP requests by route and status.\n"
			    "# TYPE corral_http_requests_total counter\n");
	/* Routes may share a label (two paths, one endpoint): one series each. */
	for (size_t r = 0; r <= m->nlabels; r++) {
		const char *label = r < m->nlabels ? m->labels[r] : "none";
		int seen = 0;
		for (size_t q = 0; q < r && q < m->nlabels && !seen; q++)
			seen = strcmp(m->labels[q], label) == 0;
		if (seen)
			continue;
		for (size_t c = 0; c < METRICS_NCODES; c++) {
			uint64_t v = 0;
			for (size_t q = r; q <= m->nlabels; q++) {
				const char *lq = q < m->nlabels ? m->labels[q] : "none";
				if (strcmp(lq, label) == 0)
					v += atomic_load(&m->requests[q * METRICS_NCODES + c]);
			}
			if (v == 0)
				continue;
			/* the last slot counts every status not in metrics_codes */
			if (c < METRICS_NCODES - 1)
				rc |= buf_printf(out,
						 "corral_http_requests_total{route=\"%s\","
						 "code=\"%u\"} %llu\n",
						 label, metrics_codes[c], (unsigned long long)v);
			else
				rc |= buf_printf(out,
						 "corral_http_requests_total{route=\"%s\","
						 "code=\"other\"} %llu\n",
						 label, (unsigned long long)v);
		}
	}
	rc |= buf_adds(out, "# HELP corral_bootscripts_total Boot scripts served, by kind.\n"
			    "# TYPE corral_bootscripts_total counter\n");
	for (int k = 0; k < METRICS_BOOT_KINDS; k++)
		rc |= buf_printf(out, "corral_bootscripts_total{kind=\"%s\"} %llu\n", kinds[k],
				 (unsigned long long)atomic_load(&m->boot[k]));
	rc |= buf_printf(out,
			 "# HELP corral_bootscript_cache_total Boot script cache lookups.\n"
			 "# TYPE corral_bootscript_cache_total counter\n"
			 "corral_bootscript_cache_total{result=\"miss\"} %llu\n"
			 "corral_bootscript_cache_total{result=\"hit\"} %llu\n",
			 (unsigned long long)atomic_load(&m->cache[0]),
			 (unsigned long long)atomic_load(&m->cache[1]));
	rc |= buf_printf(out,
			 "# HELP corral_file_bytes_total Body bytes served under /files.\n"
			 "# TYPE corral_file_bytes_total counter\n"
			 "corral_file_bytes_total %llu\n",
			 (unsigned long long)atomic_load(&m->file_bytes));
	rc |= buf_printf(
		out,
		"# HELP corral_dnsmasq_restarts_total Times dnsmasq died and was restarted.\n"
		"# TYPE corral_dnsmasq_restarts_total counter\n"
		"corral_dnsmasq_restarts_total %llu\n",
		(unsigned long long)atomic_load(&m->dhcp_restarts));
	rc |= buf_printf(out,
			 "# HELP corral_kea_restarts_total Times Kea died and was restarted.\n"
			 "# TYPE corral_kea_restarts_total counter\n"
			 "corral_kea_restarts_total %llu\n"
			 "# HELP corral_kea_reloads_total Inventory changes handed to Kea "
			 "(config-reload, no restart).\n"
			 "# TYPE corral_kea_reloads_total counter\n"
			 "corral_kea_reloads_total %llu\n",
			 (unsigned long long)atomic_load(&m->kea_restarts),
			 (unsigned long long)atomic_load(&m->kea_reloads));
	const char *be = atomic_load(&m->dhcp_backend);
	if (be != NULL)
		rc |= buf_printf(out,
				 "# HELP corral_dhcp_backend The DHCP server corrald runs.\n"
				 "# TYPE corral_dhcp_backend gauge\n"
				 "corral_dhcp_backend{backend=\"%s\"} 1\n",
				 be);
	return rc ? -E2BIG : 0;
}
