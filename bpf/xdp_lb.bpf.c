// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * XDP on the node's uplink: passes node traffic untouched, drops traffic to
 * Gateway addresses that no listener takes, and counts both. Every packet is
 * counted exactly once in xgw_stats: the handlers return an enum xgw_stat and
 * the entry derives the XDP action from it, so a verdict cannot go uncounted.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xgw/abi/maps.h"
#include "lib/maps.bpf.h"
#include "lib/parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int count_verdict(__u32 stat)
{
	__u64 *cnt = bpf_map_lookup_elem(&xgw_stats, &stat);

	if (cnt)
		*cnt += 1;
	if (stat == XGW_STAT_DROP_NO_LISTENER || stat == XGW_STAT_DROP_MALFORMED)
		return XDP_DROP;
	return XDP_PASS;
}

static __always_inline void count_listener(struct xdp_md *ctx, __u32 id, __u8 syn)
{
	struct xgw_lstats_val *ls = bpf_map_lookup_elem(&xgw_lstats, &id);

	if (!ls)
		return;
	ls->packets += 1;
	ls->bytes += ctx->data_end - ctx->data; /* the frame from the Ethernet header on */
	ls->syns += syn;
}

/*
 * Transport layer of a packet to a Gateway address; <key> holds the address
 * and gets the port and protocol.
 */
static __always_inline __u32 handle_l4(struct xdp_md *ctx, struct xgw_cursor *cur, void *data_end,
				       const struct xgw_l3 *l3, struct xgw_listener_key *key)
{
	struct xgw_listener_val *lv;
	struct xgw_l4 l4;

	if (l3->nonfirst_frag)
		return XGW_STAT_PASS_FRAGMENT;
	if (l3->proto != IPPROTO_TCP && l3->proto != IPPROTO_UDP)
		return XGW_STAT_PASS_OTHER_PROTO;
	if (xgw_parse_l4(cur, data_end, l3, &l4) < 0)
		return XGW_STAT_DROP_MALFORMED;

	key->port = l4.dport;
	key->proto = l3->proto;
	lv = bpf_map_lookup_elem(&xgw_listeners, key);
	if (!lv)
		return XGW_STAT_DROP_NO_LISTENER;
	count_listener(ctx, lv->id, l4.syn);
	return XGW_STAT_PASS_LISTENER;
}

/*
 * A header that is invalid past the destination address is dropped only when
 * the destination is a Gateway address: everything else belongs to the node.
 */
static __always_inline __u32 handle_ipv4(struct xdp_md *ctx, struct xgw_cursor *cur, void *data_end)
{
	struct xgw_listener_key key = {};
	struct xgw_l3 l3 = {};
	struct iphdr *iph;

	iph = xgw_parse_ipv4_fixed(cur, data_end);
	if (!iph)
		return XGW_STAT_PASS_MALFORMED;
	key.ip.family = XGW_FAMILY_IPV4;
	__builtin_memcpy(key.ip.addr, &iph->daddr, sizeof(iph->daddr));
	if (!bpf_map_lookup_elem(&xgw_addrs, &key.ip))
		return XGW_STAT_PASS_FOREIGN;
	if (xgw_parse_ipv4_rest(cur, data_end, iph, &l3) < 0)
		return XGW_STAT_DROP_MALFORMED;
	return handle_l4(ctx, cur, data_end, &l3, &key);
}

static __always_inline __u32 handle_ipv6(struct xdp_md *ctx, struct xgw_cursor *cur, void *data_end)
{
	struct xgw_listener_key key = {};
	struct xgw_l3 l3 = {};
	struct ipv6hdr *ip6h;

	ip6h = xgw_parse_ipv6_fixed(cur, data_end);
	if (!ip6h)
		return XGW_STAT_PASS_MALFORMED;
	key.ip.family = XGW_FAMILY_IPV6;
	__builtin_memcpy(key.ip.addr, &ip6h->daddr, sizeof(ip6h->daddr));
	if (!bpf_map_lookup_elem(&xgw_addrs, &key.ip))
		return XGW_STAT_PASS_FOREIGN;
	if (xgw_parse_ipv6_rest(cur, data_end, ip6h, &l3) < 0)
		return XGW_STAT_DROP_MALFORMED;
	return handle_l4(ctx, cur, data_end, &l3, &key);
}

SEC("xdp")
int xgw_xdp_lb(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct xgw_cursor cur = { .pos = data };
	__be16 proto;
	__u32 stat;

	if (xgw_parse_eth(&cur, data_end, &proto) < 0)
		stat = XGW_STAT_PASS_MALFORMED;
	else if (proto == bpf_htons(ETH_P_IP))
		stat = handle_ipv4(ctx, &cur, data_end);
	else if (proto == bpf_htons(ETH_P_IPV6))
		stat = handle_ipv6(ctx, &cur, data_end);
	else
		stat = XGW_STAT_PASS_NOT_IP;
	return count_verdict(stat);
}
