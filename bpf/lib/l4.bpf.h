/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The L4 tier of xdp_lb (multi-node mode): its maps, the flow hash, the
 * local-socket probe for second chance, and IPIP/GUE encapsulation and
 * decapsulation. Only xdp_lb includes this header: sk_lookup never reads
 * these maps, and the rings are too large to declare twice.
 */
#ifndef XGW_BPF_L4_BPF_H
#define XGW_BPF_L4_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xgw/abi/maps.h"
#include "lib/hash.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xgw_l4_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_l4cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xgw_node_val);
	__uint(max_entries, XGW_MAX_NODES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_nodes SEC(".maps");

/* The loader resizes this to XGW_MAX_RINGS * ring size when it changes the size. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, XGW_MAX_RINGS *XGW_RING_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_rings SEC(".maps");

/*
 * Per-CPU LRU lists (BPF_F_NO_COMMON_LRU) over one table: no cross-CPU lock
 * on the update path, while any CPU still finds a flow that RSS moved.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct xgw_flow_key);
	__type(value, struct xgw_flow_val);
	__uint(max_entries, XGW_FLOW_TABLE_SIZE);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct xgw_nexthop);
	__uint(max_entries, XGW_MAX_NEXTHOPS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_nexthops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xgw_synrate);
	__uint(max_entries, XGW_MAX_LISTENERS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_synrate SEC(".maps");

/* Load-time knobs (skel->rodata before load); the defaults are single-node safe. */
const volatile __u32 cfg_encap = XGW_ENCAP_IPIP;
const volatile __u32 cfg_gue_port = XGW_GUE_PORT;
const volatile __u32 cfg_ring_size = XGW_RING_SIZE;
const volatile __u32 cfg_encap_mtu = 1500; /* largest outer IP packet sent */
const volatile __u32 cfg_udp_3tuple = 0;   /* UDP flows hash without the client port */
const volatile __u32 cfg_icmp = XGW_ICMP_PASS;
const volatile __u32 cfg_syn_rate = 0; /* SYNs per second, listener and CPU; 0: guard off */

#define XGW_OUTER_TTL 64
#define XGW_IPV4_HLEN 20
#define XGW_IPV6_HLEN 40
#define XGW_UDP_HLEN 8
#define XGW_GUE_SPORT_BASE 0xc000 /* flow entropy in the ephemeral range */
/* bpf_skc_lookup_tcp: a negative 32-bit netns id means the packet's own netns. */
#define XGW_NETNS_CURRENT 0xffffffffu

/*
 * What travels with a packet through the handlers: the flow key filled while
 * parsing, and what decapsulation learnt. l2_plain: the frame has no VLAN
 * tag, so that encapsulation can put a plain Ethernet header in front.
 */
struct xgw_pkt {
	struct xgw_flow_key fk;
	struct xgw_ip outer_src; /* decapped: who encapsulated it */
	__u8 l2_plain;
	__u8 decapped;
};

static __always_inline __u32 xgw_flow_hash(const struct xgw_flow_key *k)
{
	__u32 s[4], d[4], ports;

	__builtin_memcpy(s, k->src, sizeof(s));
	__builtin_memcpy(d, k->dst, sizeof(d));
	ports = ((__u32)k->sport << 16 | k->dport) ^ k->proto;
	if (k->family == XGW_FAMILY_IPV4)
		return xgw_jhash_3words(s[0], d[0], ports, 0);
	return xgw_jhash_3words(
		s[3] ^ d[3], ports,
		xgw_jhash_3words(s[0], s[1], s[2], xgw_jhash_3words(d[0], d[1], d[2], 0)), 0);
}

/* <a> == <b> for two struct xgw_ip (clang emits a libc call for memcmp). */
static __always_inline int xgw_ip_eq(const struct xgw_ip *a, const struct xgw_ip *b)
{
	__u32 x[5], y[5];

	__builtin_memcpy(x, a, sizeof(x));
	__builtin_memcpy(y, b, sizeof(y));
	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

/* One's-complement sum of the 20-byte IPv4 header, folded and inverted. */
static __always_inline __u16 xgw_ipv4_csum(const struct iphdr *iph)
{
	const __u16 *p = (const __u16 *)iph;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < XGW_IPV4_HLEN / 2; i++)
		sum += p[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* RFC 1624: checksum <sum> after a 16-bit word changes from <old> to <new>. */
static __always_inline void xgw_csum_replace2(__u16 *sum, __u16 old, __u16 new)
{
	__u32 s = (__u16) ~*sum + (__u16)~old + (__u32) new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	*sum = (__u16)~s;
}

/*
 * True when this network namespace holds a non-listening TCP socket for the
 * flow of <k> (established, SYN-received, TIME-WAIT): then the flow is ours
 * whatever the ring says.
 */
static __always_inline int xgw_has_socket(struct xdp_md *ctx, const struct xgw_flow_key *k)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	int found;

	if (k->family == XGW_FAMILY_IPV4) {
		__builtin_memcpy(&t.ipv4.saddr, k->src, 4);
		__builtin_memcpy(&t.ipv4.daddr, k->dst, 4);
		t.ipv4.sport = k->sport;
		t.ipv4.dport = k->dport;
		sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), XGW_NETNS_CURRENT, 0);
	} else {
		__builtin_memcpy(t.ipv6.saddr, k->src, 16);
		__builtin_memcpy(t.ipv6.daddr, k->dst, 16);
		t.ipv6.sport = k->sport;
		t.ipv6.dport = k->dport;
		sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv6), XGW_NETNS_CURRENT, 0);
	}
	if (!sk)
		return 0;
	found = sk->state != BPF_TCP_LISTEN;
	bpf_sk_release(sk);
	return found;
}

/* The inner header's traffic class (IPv4 TOS / IPv6 TC), for the outer header. */
static __always_inline __u8 xgw_inner_tos(const __u8 *inner, __u8 family)
{
	if (family == XGW_FAMILY_IPV4)
		return inner[1];
	return (__u8)((inner[0] & 0x0f) << 4 | inner[1] >> 4);
}

/*
 * Encapsulate the untagged frame in <ctx> (Ethernet + inner IP of family
 * <inner_family>) towards node <nv>: IPIP/IP6IP6-style or GUE, outer family
 * that of the node addresses, outer TTL 64, inner packet untouched (the
 * owner answers the client itself). Returns <ok_stat>, or a drop/keep stat.
 */
static __always_inline __u32 xgw_encap(struct xdp_md *ctx, const struct xgw_l4_config *cfg,
				       const struct xgw_node_val *nv, __u8 inner_family, __u32 hash,
				       __u32 ok_stat)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex;
	const __u32 gue = cfg_encap == XGW_ENCAP_GUE ? XGW_UDP_HLEN : 0;
	struct ethhdr *eth = data;
	struct xgw_nexthop *nh;
	__u8 macs[12], proto;
	__u32 inner_len, olen;
	__u8 *inner;

	if (nv->addr.family != cfg->self_addr.family)
		return XGW_STAT_PASS_LOCAL_ONLY;
	if ((void *)(eth + 1) > data_end)
		return XGW_STAT_DROP_ENCAP;
	inner_len = (__u32)(data_end - data) - ETH_HLEN;
	olen = (nv->addr.family == XGW_FAMILY_IPV4 ? XGW_IPV4_HLEN : XGW_IPV6_HLEN) + gue;
	if (inner_len + olen > cfg_encap_mtu)
		return XGW_STAT_DROP_TOO_BIG;
	nh = bpf_map_lookup_elem(&xgw_nexthops, &ifindex);
	__builtin_memcpy(macs, nh ? nh->mac : eth->h_source, ETH_ALEN);
	__builtin_memcpy(macs + ETH_ALEN, eth->h_dest, ETH_ALEN);
	proto = gue ? IPPROTO_UDP : inner_family == XGW_FAMILY_IPV4 ? IPPROTO_IPIP : IPPROTO_IPV6;

	if (bpf_xdp_adjust_head(ctx, -(int)olen))
		return XGW_STAT_DROP_ENCAP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;

	if (nv->addr.family == XGW_FAMILY_IPV4) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) + XGW_UDP_HLEN + 2 > data_end)
			return XGW_STAT_DROP_ENCAP;
		inner = (__u8 *)(iph + 1) + gue;
		iph->version = 4;
		iph->ihl = XGW_IPV4_HLEN / 4;
		iph->tos = xgw_inner_tos(inner, inner_family);
		iph->tot_len = bpf_htons(inner_len + olen);
		iph->id = 0;
		iph->frag_off = 0;
		iph->ttl = XGW_OUTER_TTL;
		iph->protocol = proto;
		iph->check = 0;
		__builtin_memcpy(&iph->saddr, cfg->self_addr.addr, 4);
		__builtin_memcpy(&iph->daddr, nv->addr.addr, 4);
		iph->check = xgw_ipv4_csum(iph);
		eth->h_proto = bpf_htons(ETH_P_IP);
	} else {
		struct ipv6hdr *ip6h = (void *)(eth + 1);
		__u8 tc;

		if ((void *)(ip6h + 1) + XGW_UDP_HLEN + 2 > data_end)
			return XGW_STAT_DROP_ENCAP;
		inner = (__u8 *)(ip6h + 1) + gue;
		tc = xgw_inner_tos(inner, inner_family);
		ip6h->version = 6;
		ip6h->priority = tc >> 4;
		ip6h->flow_lbl[0] = (__u8)((tc & 0x0f) << 4 | ((hash >> 16) & 0x0f));
		ip6h->flow_lbl[1] = (__u8)(hash >> 8);
		ip6h->flow_lbl[2] = (__u8)hash;
		ip6h->payload_len = bpf_htons(inner_len + gue);
		ip6h->nexthdr = proto;
		ip6h->hop_limit = XGW_OUTER_TTL;
		__builtin_memcpy(&ip6h->saddr, cfg->self_addr.addr, 16);
		__builtin_memcpy(&ip6h->daddr, nv->addr.addr, 16);
		eth->h_proto = bpf_htons(ETH_P_IPV6);
	}
	if (gue) {
		struct udphdr *uh = (void *)(inner - XGW_UDP_HLEN);

		if ((void *)(uh + 1) > data_end)
			return XGW_STAT_DROP_ENCAP;
		uh->source = bpf_htons(XGW_GUE_SPORT_BASE | (hash & 0x3fff));
		uh->dest = bpf_htons(cfg_gue_port);
		uh->len = bpf_htons(inner_len + XGW_UDP_HLEN);
		/* Zero: the receiver decapsulates in XDP and the inner packet carries its own. */
		uh->check = 0;
	}
	__builtin_memcpy(eth->h_dest, macs, ETH_ALEN);
	__builtin_memcpy(eth->h_source, macs + ETH_ALEN, ETH_ALEN);
	return ok_stat;
}

#endif /* XGW_BPF_L4_BPF_H */
