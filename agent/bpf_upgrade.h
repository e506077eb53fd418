/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Pinned maps that an older agent left in an older layout, carried over so
 * that an upgrade over kept pins (--keep-bpf) loses neither a listener nor a
 * flow. libbpf does not reuse a pinned map of another layout, so:
 * 1. before the objects load, xgw_bpf_upgrade_take() reads the old
 *    listeners, opens the old flow table, and unpins both (the programs
 *    still attached keep them); the load then pins new maps;
 * 2. xgw_bpf_upgrade_listeners() writes the listeners, with flow tokens,
 *    into the new map before sk_lookup's new program is swapped in;
 * 3. xgw_bpf_upgrade_flows() copies the flows, keyed by those tokens, into
 *    the new table before XDP's new program replaces the old one on an
 *    interface, and once more after (the flows the old program made in
 *    between; a copy overwrites, so the old table's word is the last).
 * The layouts carried over: xgw_listeners values of 16 bytes and xgw_flows
 * keyed by the 40-byte 5-tuple, both from before flow tokens.
 */
#ifndef XGW_AGENT_BPF_UPGRADE_H
#define XGW_AGENT_BPF_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>

#include "xgw/abi/maps.h"

struct xgw_bpf_upgrade {
	struct xgw_listener_key *keys; /* the old listeners, sorted */
	struct xgw_listener_val *vals; /* ... in the new layout, with flow tokens */
	size_t n;
	int fd_flows; /* the old flow table, -1: none */
};

/* Step 1 for the pins under <pin_dir>. Returns 0 (<u> empty when nothing is old) or -errno. */
int xgw_bpf_upgrade_take(const char *pin_dir, struct xgw_bpf_upgrade *u);
/* Step 2 into the new xgw_listeners <fd>. Returns 0 or -errno. */
int xgw_bpf_upgrade_listeners(const struct xgw_bpf_upgrade *u, int fd);
/* Step 3 into the new xgw_flows <fd>; the <last> time closes the old table. */
void xgw_bpf_upgrade_flows(struct xgw_bpf_upgrade *u, int fd, bool last);
void xgw_bpf_upgrade_free(struct xgw_bpf_upgrade *u);

#endif /* XGW_AGENT_BPF_UPGRADE_H */
