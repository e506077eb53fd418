/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Prometheus metrics: GET /metrics on the address of --metrics, in the text
 * exposition format (version 0.0.4). A small HTTP/1.x server on the agent's
 * event loop: one request per connection, answered from what the agent
 * already holds (its counters, the workers' last counters, the pinned BPF
 * counter maps), so that a scrape never waits on a worker or blocks a change.
 */
#ifndef XGW_AGENT_METRICS_H
#define XGW_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile.h"

struct xgw_workers;
struct xgw_metrics;

/* Upper bounds (seconds) of the duration histograms' buckets; +Inf follows. */
#define XGW_METRICS_BUCKETS 12

struct xgw_histogram {
	uint64_t bucket[XGW_METRICS_BUCKETS + 1]; /* per bucket, not cumulative; the last is +Inf */
	uint64_t count;
	double sum; /* seconds */
};

/* Add one observation of <seconds>. */
void xgw_histogram_observe(struct xgw_histogram *h, double seconds);

/* What the agent counts, from its start. */
struct xgw_agent_counters {
	uint64_t changes_full;	    /* generations built by a full reconcile */
	uint64_t changes_routes;    /* ... by a route change patching the snapshot */
	uint64_t changes_endpoints; /* ... by the endpoint fast path */
	uint64_t load_errors;	    /* the folder could not be read or decoded: nothing applied */
	uint64_t apply_errors;	    /* reconcile, memfd or hand-over failed: previous kept */
	uint64_t rejected;	    /* a worker refused a generation: rolled back */
	/* from the folder read to the snapshot handed to the workers */
	/* [0] full pass, [1] endpoint fast path, [2] route change, snapshot patched */
	struct xgw_histogram reconcile[3];
	/* from the folder read to every worker serving it (status Programmed) */
	struct xgw_histogram serving;
};

/* What a scrape reports: a view of the agent's state, valid for the call. */
struct xgw_metrics_src {
	uint64_t generation;			/* served or being prepared (0: none yet) */
	bool programmed;			/* every worker serves it and BPF holds it */
	const struct xgw_reconcile_result *res; /* of <generation>; NULL: none */
	size_t n_problems;			/* objects reported invalid (log lines) */
	const struct xgw_agent_counters *ctr;
	const struct xgw_workers *ws;
	/* the listeners BPF holds (draining ones included), for xgw_lstats */
	const struct xgw_bpf_listener *listeners;
	size_t n_listeners;
	const char *pin_dir; /* the pinned maps; their counters are left out if absent */
};

typedef void (*xgw_metrics_src_fn)(void *arg, struct xgw_metrics_src *out);

/*
 * Listen on <addr> ("IPv4:port", "[IPv6]:port", or ":port" for every
 * address) and register the socket in <epfd> with tag <tag>; connections get
 * <conn_tag> | index. Returns 0 and *<out>, or -errno (an address that does
 * not parse: -EINVAL).
 */
int xgw_metrics__start(const char *addr, int epfd, uint64_t tag, uint64_t conn_tag,
		       xgw_metrics_src_fn src, void *arg, struct xgw_metrics **out);
void xgw_metrics__stop(struct xgw_metrics *m);
/* An epoll event with tag <tag> (the listener's or a connection's). */
void xgw_metrics_on_event(struct xgw_metrics *m, uint64_t tag, uint32_t events);
/* Close connections past their deadline; milliseconds to the next one (-1: none). */
int xgw_metrics_tick(struct xgw_metrics *m);

/*
 * The exposition text of <src> in *<out> (malloc'ed, *<len> bytes). Returns
 * 0 or -ENOMEM. Unit-tested apart from the server.
 */
int xgw_metrics_render(const struct xgw_metrics_src *src, char **out, size_t *len);

/*
 * The xgw_route_responses_total family alone, from <n> texts of responses per
 * route (user/rstats.h lines: the workers', and the sum of those gone), added
 * up by route. 0 or -ENOMEM. For tests and benchmarks.
 */
int xgw_metrics_render_routes(const char *const *texts, const size_t *lens, size_t n, char **out,
			      size_t *len);

#endif /* XGW_AGENT_METRICS_H */
