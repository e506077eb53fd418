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
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xgw_nexthop);
	__uint(max_entries, XGW_NH_DIRECT);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_nh_direct SEC(".maps");

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
#define XGW_IP_DF 0x4000 /* IPv4 don't-fragment flag, host order */
#define XGW_IPV4_HLEN 20
#define XGW_IPV6_HLEN 40
#define XGW_UDP_HLEN 8
#define XGW_GUE_SPORT_BASE 0xc000 /* flow entropy in the ephemeral range */
/* bpf_skc_lookup_tcp: a negative 32-bit netns id means the packet's own netns. */
#define XGW_NETNS_CURRENT 0xffffffffu

/*
 * What travels with a packet through the handlers: the flow (its key in
 * xgw_flows, and the rest of its 5-tuple, which the ring's hash, the
 * encapsulation's entropy and the socket probe read), filled while parsing,
 * and what decapsulation learnt. l2_plain: the frame has no VLAN tag, so
 * that encapsulation can put a plain Ethernet header in front.
 */
struct xgw_pkt {
	struct xgw_flow_key fk;	       /* client address and port; the listener's token */
	__u8 dst[16] XGW_ADDR_ALIGNED; /* Gateway address (IPv4 in dst[0..3]) */
	__be16 dport;
	__u8 proto;
	__u8 family;		 /* enum xgw_family */
	struct xgw_ip outer_src; /* decapped: who encapsulated it */
	__u8 l2_plain;
	__u8 decapped;
};

/*
 * The ring's hash of the flow of <pk>: of the 5-tuple, not of the flow key,
 * so that every node picks the same slot for a flow, whatever tokens its
 * listeners have.
 */
static __always_inline __u32 xgw_flow_hash(const struct xgw_pkt *pk)
{
	__u32 s[4], d[4], ports;

	__builtin_memcpy(s, pk->fk.src, sizeof(s));
	__builtin_memcpy(d, pk->dst, sizeof(d));
	ports = ((__u32)pk->fk.sport << 16 | pk->dport) ^ pk->proto;
	if (pk->family == XGW_FAMILY_IPV4)
		return xgw_jhash_3words(s[0], d[0], ports, 0);
	return xgw_jhash_3words(
		s[3] ^ d[3], ports,
		xgw_jhash_3words(s[0], s[1], s[2], xgw_jhash_3words(d[0], d[1], d[2], 0)), 0);
}

/*
 * The outer headers' flow entropy (IPv6 flow label, GUE source port): stable
 * per flow, and for an IPv4 flow equal to xgw_flow_hash(), but one jhash
 * round for IPv6 too, since it need not pick a ring slot. 0 when the
 * encapsulation has no field for it (IPIP over an IPv4 underlay): then no
 * hash is computed at all on a flow-table hit.
 */
static __always_inline __u32 xgw_encap_entropy(const struct xgw_l4_config *cfg,
					       const struct xgw_pkt *pk)
{
	__u32 s[4], d[4], ports;

	if (cfg_encap != XGW_ENCAP_GUE && cfg->self_addr.family == XGW_FAMILY_IPV4)
		return 0;
	if (pk->family == XGW_FAMILY_IPV4)
		return xgw_flow_hash(pk);
	__builtin_memcpy(s, pk->fk.src, sizeof(s));
	__builtin_memcpy(d, pk->dst, sizeof(d));
	ports = ((__u32)pk->fk.sport << 16 | pk->dport) ^ pk->proto;
	return xgw_jhash_3words(s[0] ^ s[1] ^ s[2] ^ s[3], d[0] ^ d[1] ^ d[2] ^ d[3], ports, 0);
}

/* <a> == <b> for two struct xgw_ip (clang emits a libc call for memcmp). */
static __always_inline int xgw_ip_eq(const struct xgw_ip *a, const struct xgw_ip *b)
{
	__u32 x[5], y[5];

	__builtin_memcpy(x, a, sizeof(x));
	__builtin_memcpy(y, b, sizeof(y));
	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

/*
 * One's-complement sum of the 20-byte IPv4 header, folded and inverted. Summed
 * a 32-bit word at a time (the header is word-aligned) into 64 bits: 2^16 is
 * 1 in one's-complement arithmetic, so the folded sum is that of the 16-bit
 * words.
 */
static __always_inline __u16 xgw_ipv4_csum(const struct iphdr *iph)
{
	const __u32 *p = (const __u32 *)iph;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < XGW_IPV4_HLEN / 4; i++)
		sum += p[i];
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
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
 * flow of <pk> (established, SYN-received, TIME-WAIT): then the flow is ours
 * whatever the ring says.
 */
static __always_inline int xgw_has_socket(struct xdp_md *ctx, const struct xgw_pkt *pk)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	int found;

	if (pk->family == XGW_FAMILY_IPV4) {
		__builtin_memcpy(&t.ipv4.saddr, pk->fk.src, 4);
		__builtin_memcpy(&t.ipv4.daddr, pk->dst, 4);
		t.ipv4.sport = pk->fk.sport;
		t.ipv4.dport = pk->dport;
		sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), XGW_NETNS_CURRENT, 0);
	} else {
		__builtin_memcpy(t.ipv6.saddr, pk->fk.src, 16);
		__builtin_memcpy(t.ipv6.daddr, pk->dst, 16);
		t.ipv6.sport = pk->fk.sport;
		t.ipv6.dport = pk->dport;
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

/* The next hop of interface <ifindex> (struct xgw_nexthop), or NULL. */
static __always_inline const struct xgw_nexthop *xgw_nexthop_of(__u32 ifindex)
{
	const struct xgw_nexthop *nh;

	if (ifindex < XGW_NH_DIRECT) {
		nh = bpf_map_lookup_elem(&xgw_nh_direct, &ifindex);
		return nh && (nh->flags & XGW_NEXTHOP_F_SET) ? nh : NULL;
	}
	return bpf_map_lookup_elem(&xgw_nexthops, &ifindex);
}

/* Bytes that encapsulation puts in front of the inner IP packet. */
static __always_inline __u32 xgw_encap_overhead(__u8 outer_family)
{
	return (outer_family == XGW_FAMILY_IPV4 ? XGW_IPV4_HLEN : XGW_IPV6_HLEN) +
	       (cfg_encap == XGW_ENCAP_GUE ? XGW_UDP_HLEN : 0);
}

/*
 * Encapsulate the untagged frame in <ctx> (Ethernet + inner IP of family
 * <inner_family>) towards node <nv>: IPIP/IP6IP6-style or GUE, outer family
 * that of the node addresses, outer TTL 64, inner packet untouched (the
 * owner answers the client itself); <entropy> feeds the IPv6 flow label and
 * the GUE source port. Returns <ok_stat>, or a drop/keep stat. The MACs
 * move as 16-bit words: a frame starts 2-byte aligned, and struct ethhdr,
 * being packed, would have clang copy them a byte at a time.
 */
static __always_inline __u32 xgw_encap(struct xdp_md *ctx, const struct xgw_l4_config *cfg,
				       const struct xgw_node_val *nv, __u8 inner_family,
				       __u32 entropy, __u32 ok_stat)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex;
	const __u32 gue = cfg_encap == XGW_ENCAP_GUE ? XGW_UDP_HLEN : 0;
	struct ethhdr *eth = data;
	const struct xgw_nexthop *nh;
	__u16 macs[6]; /* the new destination and source MAC */
	__u8 proto;
	__u32 inner_len, olen;
	__u8 *inner;
	__be32 *w;

	if (nv->addr.family != cfg->self_addr.family)
		return XGW_STAT_PASS_LOCAL_ONLY;
	if ((void *)(eth + 1) > data_end)
		return XGW_STAT_DROP_ENCAP;
	inner_len = (__u32)(data_end - data) - ETH_HLEN;
	olen = xgw_encap_overhead(nv->addr.family);
	if (inner_len + olen > cfg_encap_mtu)
		return XGW_STAT_DROP_TOO_BIG;
	nh = xgw_nexthop_of(ifindex);
	__builtin_memcpy(macs, (const __u16 *)(nh ? nh->mac : eth->h_source), ETH_ALEN);
	__builtin_memcpy(macs + 3, (const __u16 *)eth->h_dest, ETH_ALEN);
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
		w = (__be32 *)iph;
		/* Whole words: version, IHL, TOS, length; id, no fragment; TTL, protocol. */
		w[0] = bpf_htonl(0x45000000 | (__u32)xgw_inner_tos(inner, inner_family) << 16 |
				 ((inner_len + olen) & 0xffff));
		w[1] = 0;
		w[2] = bpf_htonl((__u32)XGW_OUTER_TTL << 24 | (__u32)proto << 16);
		__builtin_memcpy(&iph->saddr, cfg->self_addr.addr, 4);
		__builtin_memcpy(&iph->daddr, nv->addr.addr, 4);
		iph->check = xgw_ipv4_csum(iph);
		eth->h_proto = bpf_htons(ETH_P_IP);
	} else {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) + XGW_UDP_HLEN + 2 > data_end)
			return XGW_STAT_DROP_ENCAP;
		inner = (__u8 *)(ip6h + 1) + gue;
		w = (__be32 *)ip6h;
		/* Whole words: version, class, flow label; payload length, next header, hops. */
		w[0] = bpf_htonl(6u << 28 | (__u32)xgw_inner_tos(inner, inner_family) << 20 |
				 (entropy & 0xfffff));
		w[1] = bpf_htonl((inner_len + gue) << 16 | (__u32)proto << 8 | XGW_OUTER_TTL);
		__builtin_memcpy(&ip6h->saddr, cfg->self_addr.addr, 16);
		__builtin_memcpy(&ip6h->daddr, nv->addr.addr, 16);
		eth->h_proto = bpf_htons(ETH_P_IPV6);
	}
	if (gue) {
		struct udphdr *uh = (void *)(inner - XGW_UDP_HLEN);

		if ((void *)(uh + 1) > data_end)
			return XGW_STAT_DROP_ENCAP;
		uh->source = bpf_htons(XGW_GUE_SPORT_BASE | (entropy & 0x3fff));
		uh->dest = bpf_htons(cfg_gue_port);
		uh->len = bpf_htons(inner_len + XGW_UDP_HLEN);
		/* Zero: the receiver decapsulates in XDP and the inner packet carries its own. */
		uh->check = 0;
	}
	__builtin_memcpy((__u16 *)eth, macs, sizeof(macs));
	return ok_stat;
}

/* --- ICMP "too big" for what no longer fits once encapsulated ------------ */

/*
 * How much of the original packet the error quotes, from its IP header on:
 * Katran's sizes (a 98-byte frame for ICMP, 262 for ICMPv6). IPv4: the header
 * with the longest options (60 bytes) and more than the 8 bytes past it that
 * RFC 792 asks for, so that the client finds its socket and sequence number.
 * Multiples of 4, as bpf_csum_diff() wants.
 */
#define XGW_ICMP4_QUOTE 84
#define XGW_ICMP6_QUOTE 248
#define XGW_ICMP_HLEN 8
#define XGW_ICMP_DEST_UNREACH 3
#define XGW_ICMP_FRAG_NEEDED 4
#define XGW_ICMP6_PKT_TOOBIG 2
#define XGW_IPTOS_PREC_INTERNETCONTROL 0xc0 /* the TOS Linux gives its ICMP errors */

/* Fold a 32-bit one's-complement sum to 16 bits and invert it. */
static __always_inline __u16 xgw_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * Cut the untagged frame in <ctx> to Ethernet + <quote> bytes of its IP packet
 * and make room for a new IP header of <hlen> bytes and an ICMP header in
 * front of them, with the MAC addresses swapped (back to where the frame came
 * from). Returns 0, or -1 when the frame is shorter than that or the helpers
 * fail (the frame is then dropped).
 */
static __always_inline int xgw_icmp_reframe(struct xdp_md *ctx, __u32 quote, __u32 hlen,
					    __be16 ethertype)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 macs[12];

	if ((void *)(eth + 1) > data_end || data + ETH_HLEN + quote > data_end)
		return -1;
	__builtin_memcpy(macs, eth->h_source, ETH_ALEN);
	__builtin_memcpy(macs + ETH_ALEN, eth->h_dest, ETH_ALEN);
	if (bpf_xdp_adjust_tail(ctx, (int)(ETH_HLEN + quote) - (int)(data_end - data)) ||
	    bpf_xdp_adjust_head(ctx, -(int)(hlen + XGW_ICMP_HLEN)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = ethertype;
	return 0;
}

/*
 * The IPv4 listener packet in <ctx> would exceed cfg_encap_mtu once
 * encapsulated. With DF set, it becomes an ICMP "fragmentation needed" to its
 * sender, from the Gateway address, announcing <mtu> (the encapsulation MTU
 * less the overhead), like Katran's send_icmp_too_big: TX_ICMP_TOO_BIG.
 * Without DF it is dropped (DROP_TOO_BIG): XDP cannot fragment, and passing
 * it to this node's stack would hand a flow that another node owns to a
 * stack without its socket (a TCP reset ends the connection). Linux sets DF
 * on TCP; a sender that clears it gets fragmentation from nobody here.
 */
static __always_inline __u32 xgw_too_big4(struct xdp_md *ctx, __u32 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + ETH_HLEN;
	__be32 client, gw;
	__u8 *icmp;

	if ((void *)(iph + 1) > data_end || !(iph->frag_off & bpf_htons(XGW_IP_DF)))
		return XGW_STAT_DROP_TOO_BIG;
	client = iph->saddr;
	gw = iph->daddr;
	if (xgw_icmp_reframe(ctx, XGW_ICMP4_QUOTE, XGW_IPV4_HLEN, bpf_htons(ETH_P_IP)))
		return XGW_STAT_DROP_TOO_BIG;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	iph = data + ETH_HLEN;
	icmp = (__u8 *)(iph + 1);
	if ((void *)icmp + XGW_ICMP_HLEN + XGW_ICMP4_QUOTE > data_end)
		return XGW_STAT_DROP_TOO_BIG;
	iph->version = 4;
	iph->ihl = XGW_IPV4_HLEN / 4;
	iph->tos = XGW_IPTOS_PREC_INTERNETCONTROL;
	iph->tot_len = bpf_htons(XGW_IPV4_HLEN + XGW_ICMP_HLEN + XGW_ICMP4_QUOTE);
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = XGW_OUTER_TTL;
	iph->protocol = IPPROTO_ICMP;
	iph->check = 0;
	iph->saddr = gw;
	iph->daddr = client;
	iph->check = xgw_ipv4_csum(iph);
	icmp[0] = XGW_ICMP_DEST_UNREACH;
	icmp[1] = XGW_ICMP_FRAG_NEEDED;
	*(__u32 *)(icmp + 2) = 0; /* checksum, unused */
	*(__be16 *)(icmp + 6) = bpf_htons((__u16)mtu);
	*(__u16 *)(icmp + 2) = xgw_csum_fold(
		(__u32)bpf_csum_diff(NULL, 0, (__be32 *)icmp, XGW_ICMP_HLEN + XGW_ICMP4_QUOTE, 0));
	return XGW_STAT_TX_ICMP_TOO_BIG;
}

/* The same for IPv6: ICMPv6 "packet too big" (RFC 4443 3.2), always sent. */
static __always_inline __u32 xgw_too_big6(struct xdp_md *ctx, __u32 mtu)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6h = data + ETH_HLEN;
	__be32 pseudo[10]; /* client, Gateway address, length, next header */
	__u32 sum;
	__u8 *icmp;

	if ((void *)(ip6h + 1) > data_end)
		return XGW_STAT_DROP_TOO_BIG;
	__builtin_memcpy(pseudo, &ip6h->daddr, 16); /* the new source */
	__builtin_memcpy(pseudo + 4, &ip6h->saddr, 16);
	pseudo[8] = bpf_htonl(XGW_ICMP_HLEN + XGW_ICMP6_QUOTE);
	pseudo[9] = bpf_htonl(IPPROTO_ICMPV6);
	if (xgw_icmp_reframe(ctx, XGW_ICMP6_QUOTE, XGW_IPV6_HLEN, bpf_htons(ETH_P_IPV6)))
		return XGW_STAT_DROP_TOO_BIG;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip6h = data + ETH_HLEN;
	icmp = (__u8 *)(ip6h + 1);
	if ((void *)icmp + XGW_ICMP_HLEN + XGW_ICMP6_QUOTE > data_end)
		return XGW_STAT_DROP_TOO_BIG;
	*(__be32 *)ip6h = bpf_htonl(0x60000000); /* version 6, class 0, flow label 0 */
	ip6h->payload_len = bpf_htons(XGW_ICMP_HLEN + XGW_ICMP6_QUOTE);
	ip6h->nexthdr = IPPROTO_ICMPV6;
	ip6h->hop_limit = XGW_OUTER_TTL;
	__builtin_memcpy(&ip6h->saddr, pseudo, 32);
	icmp[0] = XGW_ICMP6_PKT_TOOBIG;
	icmp[1] = 0;
	*(__u16 *)(icmp + 2) = 0;
	*(__be32 *)(icmp + 4) = bpf_htonl(mtu);
	sum = (__u32)bpf_csum_diff(NULL, 0, pseudo, sizeof(pseudo), 0);
	sum = (__u32)bpf_csum_diff(NULL, 0, (__be32 *)icmp, XGW_ICMP_HLEN + XGW_ICMP6_QUOTE, sum);
	*(__u16 *)(icmp + 2) = xgw_csum_fold(sum);
	return XGW_STAT_TX_ICMP_TOO_BIG;
}

/*
 * The untagged listener packet in <ctx>, of <family>, does not fit
 * cfg_encap_mtu once encapsulated for an <outer_family> underlay: tell the
 * client the MTU that does fit, or drop. Returns the stat. Out of line, as
 * the other rare answers (echo, SYN cookies): inlined, their code would crowd
 * the hot path's registers.
 */
static __noinline __u32 xgw_too_big(struct xdp_md *ctx, __u8 family, __u8 outer_family)
{
	__u32 mtu = cfg_encap_mtu - xgw_encap_overhead(outer_family);

	if (family == XGW_FAMILY_IPV4)
		return xgw_too_big4(ctx, mtu);
	return xgw_too_big6(ctx, mtu);
}

#endif /* XGW_BPF_L4_BPF_H */
