// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The benchmark's second floor: parse Ethernet, IPv4/IPv6 and TCP/UDP with
 * xgw's own parsers and look the (address, port, protocol) up in a hash map
 * shaped like xgw_listeners. What any L4 balancer pays before its own work.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xgw/abi/maps.h"
#include "lib/parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct xgw_listener_key);
	__type(value, struct xgw_listener_val);
	__uint(max_entries, 1024);
} bench_lookup SEC(".maps");

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct xgw_cursor cur = { .pos = (void *)(long)ctx->data };
	struct xgw_listener_key key = {};
	struct xgw_l3 l3 = {};
	struct xgw_l4 l4 = {};
	__be16 proto;

	if (xgw_parse_eth(&cur, data_end, &proto) < 0)
		return XDP_PASS;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = xgw_parse_ipv4_fixed(&cur, data_end);

		if (!iph || xgw_parse_ipv4_rest(&cur, data_end, iph, &l3) < 0)
			return XDP_PASS;
		key.ip.family = XGW_FAMILY_IPV4;
		__builtin_memcpy(key.ip.addr, &iph->daddr, 4);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = xgw_parse_ipv6_fixed(&cur, data_end);

		if (!ip6h || xgw_parse_ipv6_rest(&cur, data_end, ip6h, &l3) < 0)
			return XDP_PASS;
		key.ip.family = XGW_FAMILY_IPV6;
		__builtin_memcpy(key.ip.addr, &ip6h->daddr, 16);
	} else {
		return XDP_PASS;
	}
	if (xgw_parse_l4(&cur, data_end, &l3, &l4) < 0)
		return XDP_PASS;
	key.port = l4.dport;
	key.proto = l3.proto;
	return bpf_map_lookup_elem(&bench_lookup, &key) ? XDP_PASS : XDP_DROP;
}
