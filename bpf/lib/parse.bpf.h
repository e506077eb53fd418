/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Packet parsing for XDP. Every helper takes a cursor (the next unread byte)
 * and data_end, checks bounds before each access, and on success advances the
 * cursor past what it consumed. Helpers return 0 on success and -1 when the
 * headers are truncated or invalid; they never decide verdicts, so callers
 * can tell "invalid before the destination is known" from "invalid after".
 */
#ifndef XGW_BPF_PARSE_BPF_H
#define XGW_BPF_PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xgw/abi/maps.h"

/* Stacked VLAN tags parsed (802.1AD outer + 802.1Q inner); deeper is not IP to us. */
#define XGW_VLAN_MAX 2
/* IPv6 extension headers skipped before giving up on finding L4. */
#define XGW_IPV6_EXT_MAX 6

#define XGW_IP_OFFSET_MASK 0x1fff  /* IPv4 fragment offset, host order */
#define XGW_IP_MF 0x2000	   /* IPv4 more-fragments flag, host order */
#define XGW_IP6_OFFSET_MASK 0xfff8 /* IPv6 fragment offset, host order */
#define XGW_TCP_FLAGS_OFF 13	   /* byte of TCP flags in the header */
#define XGW_TCP_SYN 0x02
#define XGW_TCP_ACK 0x10

struct xgw_cursor {
	void *pos;
};

/* Not in the UAPI headers. */
struct xgw_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct xgw_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M flag */
	__be32 identification;
};

/* What the L3 parsers learn about the transport layer. */
struct xgw_l3 {
	__u32 l4_len; /* bytes from the cursor to the end of the IP payload */
	__u8 proto;   /* IPPROTO_* of the upper layer */
	__u8 nonfirst_frag;
	__u8 frag; /* any fragment, first or not: the L4 tier keeps these local */
};

struct xgw_l4 {
	__be16 sport;
	__be16 dport;
	__u8 syn;	/* TCP SYN without ACK */
	__u8 tcp_nosyn; /* TCP without SYN: an established flow's packet */
};

/*
 * Ethernet and up to XGW_VLAN_MAX VLAN tags. Sets <proto> to the inner
 * ethertype (network order).
 */
static __always_inline int xgw_parse_eth(struct xgw_cursor *cur, void *data_end, __be16 *proto)
{
	struct ethhdr *eth = cur->pos;

	if ((void *)(eth + 1) > data_end)
		return -1;
	cur->pos = eth + 1;
	*proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < XGW_VLAN_MAX; i++) {
		struct xgw_vlan_hdr *vh = cur->pos;

		if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return -1;
		cur->pos = vh + 1;
		*proto = vh->encap_proto;
	}
	return 0;
}

/*
 * The fixed IPv4 header, enough to know the destination. Returns NULL when it
 * is truncated or not version 4. Does not advance the cursor.
 */
static __always_inline struct iphdr *xgw_parse_ipv4_fixed(struct xgw_cursor *cur, void *data_end)
{
	struct iphdr *iph = cur->pos;

	if ((void *)(iph + 1) > data_end)
		return NULL;
	if (iph->version != 4)
		return NULL;
	return iph;
}

/*
 * The rest of an IPv4 header found by xgw_parse_ipv4_fixed(): IHL (options
 * are skipped), total length against the frame, fragment offset. Advances the
 * cursor to the L4 header.
 */
static __always_inline int xgw_parse_ipv4_rest(struct xgw_cursor *cur, void *data_end,
					       struct iphdr *iph, struct xgw_l3 *l3)
{
	__u32 hlen = iph->ihl * 4;
	__u32 tot_len = bpf_ntohs(iph->tot_len);

	if (hlen < sizeof(*iph) || tot_len < hlen)
		return -1;
	if ((void *)iph + tot_len > data_end)
		return -1;
	cur->pos = (void *)iph + hlen;
	l3->l4_len = tot_len - hlen;
	l3->proto = iph->protocol;
	l3->nonfirst_frag = (bpf_ntohs(iph->frag_off) & XGW_IP_OFFSET_MASK) != 0;
	l3->frag = (bpf_ntohs(iph->frag_off) & (XGW_IP_OFFSET_MASK | XGW_IP_MF)) != 0;
	return 0;
}

/* The fixed IPv6 header. Returns NULL when truncated or not version 6. */
static __always_inline struct ipv6hdr *xgw_parse_ipv6_fixed(struct xgw_cursor *cur, void *data_end)
{
	struct ipv6hdr *ip6h = cur->pos;

	if ((void *)(ip6h + 1) > data_end)
		return NULL;
	if (ip6h->version != 6)
		return NULL;
	return ip6h;
}

/* One extension header that only needs skipping: (hdrlen + 1) * 8 bytes. */
static __always_inline int xgw_skip_ipv6_opt(struct xgw_cursor *cur, void *data_end,
					     struct xgw_l3 *l3)
{
	struct ipv6_opt_hdr *opt = cur->pos;
	__u32 len;

	if ((void *)(opt + 1) > data_end)
		return -1;
	len = ((__u32)opt->hdrlen + 1) * 8;
	if (len > l3->l4_len)
		return -1;
	l3->proto = opt->nexthdr;
	l3->l4_len -= len;
	cur->pos += len;
	return 0;
}

static __always_inline int xgw_skip_ipv6_frag(struct xgw_cursor *cur, void *data_end,
					      struct xgw_l3 *l3)
{
	struct xgw_ipv6_frag_hdr *fh = cur->pos;

	if ((void *)(fh + 1) > data_end || sizeof(*fh) > l3->l4_len)
		return -1;
	l3->proto = fh->nexthdr;
	l3->l4_len -= sizeof(*fh);
	l3->frag = 1;
	if (bpf_ntohs(fh->frag_off) & XGW_IP6_OFFSET_MASK)
		l3->nonfirst_frag = 1;
	cur->pos = fh + 1;
	return 0;
}

/*
 * The rest of an IPv6 packet found by xgw_parse_ipv6_fixed(): payload length
 * against the frame, then hop-by-hop, routing, destination-options and
 * fragment headers. Stops at the first other header (the upper layer), or at
 * a non-first fragment, whose payload has no upper-layer header. A chain
 * longer than XGW_IPV6_EXT_MAX is treated as invalid.
 */
static __always_inline int xgw_parse_ipv6_rest(struct xgw_cursor *cur, void *data_end,
					       struct ipv6hdr *ip6h, struct xgw_l3 *l3)
{
	__u32 plen = bpf_ntohs(ip6h->payload_len);

	if ((void *)(ip6h + 1) + plen > data_end)
		return -1;
	cur->pos = ip6h + 1;
	l3->l4_len = plen;
	l3->proto = ip6h->nexthdr;
	l3->nonfirst_frag = 0;
	l3->frag = 0;

#pragma unroll
	for (int i = 0; i < XGW_IPV6_EXT_MAX; i++) {
		switch (l3->proto) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (xgw_skip_ipv6_opt(cur, data_end, l3) < 0)
				return -1;
			break;
		case IPPROTO_FRAGMENT:
			if (xgw_skip_ipv6_frag(cur, data_end, l3) < 0)
				return -1;
			if (l3->nonfirst_frag)
				return 0;
			break;
		default:
			return 0;
		}
	}
	return -1;
}

/*
 * The TCP or UDP header at the cursor, which must fit both in the frame and in
 * the <l3> payload. A TCP header's data offset must cover at least the fixed
 * header.
 */
static __always_inline int xgw_parse_l4(struct xgw_cursor *cur, void *data_end,
					const struct xgw_l3 *l3, struct xgw_l4 *l4)
{
	if (l3->proto == IPPROTO_TCP) {
		struct tcphdr *th = cur->pos;
		__u32 doff;
		__u8 flags;

		if ((void *)(th + 1) > data_end || sizeof(*th) > l3->l4_len)
			return -1;
		doff = th->doff * 4;
		if (doff < sizeof(*th) || doff > l3->l4_len || (void *)th + doff > data_end)
			return -1;
		flags = ((__u8 *)th)[XGW_TCP_FLAGS_OFF];
		l4->sport = th->source;
		l4->dport = th->dest;
		l4->syn = (flags & (XGW_TCP_SYN | XGW_TCP_ACK)) == XGW_TCP_SYN;
		l4->tcp_nosyn = !(flags & XGW_TCP_SYN);
		cur->pos = (void *)th + doff;
		return 0;
	}
	if (l3->proto == IPPROTO_UDP) {
		struct udphdr *uh = cur->pos;

		if ((void *)(uh + 1) > data_end || sizeof(*uh) > l3->l4_len)
			return -1;
		l4->sport = uh->source;
		l4->dport = uh->dest;
		l4->syn = 0;
		l4->tcp_nosyn = 0;
		cur->pos = uh + 1;
		return 0;
	}
	return -1;
}

#endif /* XGW_BPF_PARSE_BPF_H */
