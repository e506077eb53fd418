// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The floor of every XDP measurement: a program that passes. Also attached by
 * the multi-node e2e test to the router's veth ends, because frames that a
 * node sends with XDP_TX only enter a veth whose peer runs XDP (NAPI on).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
