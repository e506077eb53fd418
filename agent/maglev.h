/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights: the
 * lookup table that the L4 tier's XDP program indexes with a flow hash to
 * find the node that owns a flow. Pure functions, no BPF, no I/O.
 */
#ifndef XGW_AGENT_MAGLEV_H
#define XGW_AGENT_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

#define XGW_MAGLEV_DEFAULT_SIZE 65537u /* prime, as Katran's default */

struct xgw_maglev_node {
	const char *name; /* the permutation is derived from it: stable across agents */
	uint32_t id;	  /* written into the table */
	uint32_t weight;  /* 0: no slots */
};

/* True when <n> is prime (the table size must be). */
int xgw_maglev_is_prime(uint32_t n);

/*
 * Fill <table>[0, <size>) with the ids of <nodes>[0, <n>), each node owning a
 * share of slots proportional to its weight. The result depends only on the
 * set of (name, weight) pairs, not on their order, so that every agent
 * builds the same table from the same XgwNode objects. <size> must be a prime
 * larger than <n>. Returns 0, -EINVAL for a bad size or duplicate names,
 * -ENOENT when no node has a weight (the table would be empty; the caller
 * must not publish it), or -ENOMEM.
 */
int xgw_maglev_build(const struct xgw_maglev_node *nodes, size_t n, uint32_t size, uint32_t *table);

#endif /* XGW_AGENT_MAGLEV_H */
