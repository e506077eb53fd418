/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xgw-agent's command line (docs/configuration.md lists the options).
 */
#ifndef XGW_AGENT_OPTS_H
#define XGW_AGENT_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf_maps.h"
#include "reconcile.h"

#define MAX_POOLS 16
#define MAX_IFACES 16

struct opts {
	const char *config_dir;
	struct xgw_pool pools[MAX_POOLS];
	size_t n_pools;
	const char *ifaces[MAX_IFACES];
	size_t n_ifaces;
	enum xgw_xdp_mode xdp_mode;
	unsigned workers;
	bool workers_given; /* --workers: else an XgwConfig's spec.workers, else one per CPU */
	const char *worker_bin;
	const char *pin_dir;
	const char *status_file;
	const char *workers_file; /* the workers' counters, every STATS_EVERY_MS */
	const char *metrics;	  /* --metrics ADDR:PORT; NULL: no metrics server */
	const char *netns;
	const char *log_level;
	uint32_t udp_idle_ms, udp_max_sessions; /* for the workers; 0: theirs */
	bool manage_routes;
	bool keep_bpf;
	const char *node_name;	/* multi-node: this node's XgwNode */
	struct xgw_bpf_opts l4; /* the L4 tier's load-time knobs */
	uint32_t drain_ms;	/* how long a removed listener passes established flows */
};

/* Parse argv into <o> (defaults first); prints usage or the error. 0, or -EINVAL. */
int xgw_agent_opts_parse(int argc, char **argv, struct opts *o);

#endif /* XGW_AGENT_OPTS_H */
