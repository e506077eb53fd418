// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The packet-rate benchmark's helpers: a generator that redirects every
 * live-frames test_run frame out of the device in tx_port[0] (a DEVMAP, so
 * frames are bulked; kernel pktgen is not available here), and the bare
 * XDP_DROP receiver that xgw is compared with.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

/*
 * The frame's first XGW_GEN_RESTORE bytes, written back into every frame:
 * live-frames pages are recycled without being reset, and a receiver that
 * rewrites frames in place (xgw's encapsulation, through veth's zero-copy
 * ndo_xdp_xmit) would otherwise change what the generator sends next.
 */
#define XGW_GEN_RESTORE 54
const volatile __u8 tmpl[XGW_GEN_RESTORE];
const volatile __u32 restore;

SEC("xdp")
int xdp_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (restore && data + XGW_GEN_RESTORE <= data_end) {
		/* Byte by byte through the volatile: a memcpy would let clang
		 * fold the never-written const array into zeros. */
#pragma unroll
		for (int i = 0; i < XGW_GEN_RESTORE; i++)
			((__u8 *)data)[i] = tmpl[i];
	}
	return bpf_redirect_map(&tx_port, 0, XDP_DROP);
}

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}
