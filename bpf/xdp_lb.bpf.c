// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * XDP on the node's uplink: passes node traffic untouched, drops traffic to
 * Gateway addresses that no listener takes, and in multi-node mode sends each
 * listener flow to the node that owns it (Maglev ring + LRU flow table,
 * IPIP/GUE encapsulation, XDP_TX; the owner decapsulates here and answers the
 * client directly). Every packet is counted exactly once in xgw_stats: the
 * handlers return an enum xgw_stat and the entry derives the XDP action from
 * it, so a verdict cannot go uncounted.
 */
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
#include "lib/maps.bpf.h"
#include "lib/parse.bpf.h"
#include "lib/l4.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Not a counter: the handlers decapsulated the frame, parse it once more. */
#define XGW_VERDICT_REPARSE 0xffu

static __always_inline int count_verdict(__u32 stat)
{
	__u64 *cnt = bpf_map_lookup_elem(&xgw_stats, &stat);

	if (cnt)
		*cnt += 1;
	switch (stat) {
	case XGW_STAT_DROP_NO_LISTENER:
	case XGW_STAT_DROP_DRAINING:
	case XGW_STAT_DROP_MALFORMED:
	case XGW_STAT_DROP_TOO_BIG:
	case XGW_STAT_DROP_ENCAP:
		return XDP_DROP;
	case XGW_STAT_TX_REMOTE:
	case XGW_STAT_TX_SECOND_CHANCE:
	case XGW_STAT_TX_ICMP_ECHO:
	case XGW_STAT_TX_SYNCOOKIE:
	case XGW_STAT_TX_ICMP_TOO_BIG:
		return XDP_TX;
	default:
		return XDP_PASS;
	}
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

static __always_inline __u32 ring_slot(__u32 ring, __u32 hash)
{
	__u32 size = cfg_ring_size;
	__u32 key = ring * size + hash % size;
	__u32 *node = bpf_map_lookup_elem(&xgw_rings, &key);

	return node ? *node : XGW_MAX_NODES;
}

/*
 * Send the flow of <pk> to node <id>, or keep it local when the node is
 * unknown. A packet that would not fit once encapsulated is answered with
 * ICMP "too big" (only here: a decapsulated packet that second chance sends
 * on fitted the same MTU, and its frame's MACs are the sending node's, not
 * the client's path).
 */
static __always_inline __u32 to_node(struct xdp_md *ctx, const struct xgw_l4_config *cfg, __u32 id,
				     const struct xgw_pkt *pk, __u32 entropy, __u32 ok_stat)
{
	struct xgw_node_val *nv = bpf_map_lookup_elem(&xgw_nodes, &id);
	__u32 stat;

	if (!nv || !(nv->flags & XGW_NODE_F_PRESENT))
		return XGW_STAT_PASS_LOCAL_ONLY;
	if (!entropy) /* none recorded with the flow */
		entropy = xgw_encap_entropy(cfg, pk);
	stat = xgw_encap(ctx, cfg, nv, pk->family, entropy, ok_stat);
	if (stat == XGW_STAT_DROP_TOO_BIG)
		return xgw_too_big(ctx, pk->family, nv->addr.family);
	return stat;
}

/*
 * A decapsulated packet is ours by the sender's decision. If it is a TCP
 * segment of an established flow that this node has no socket for, the flow
 * predates the last ring change: give it to the previous owner (Unimog's
 * second chance), unless that is who sent it, which bounds the detour to one
 * hop.
 */
static __always_inline __u32 owner_decapped(struct xdp_md *ctx, struct xgw_pkt *pk,
					    const struct xgw_l4_config *cfg,
					    const struct xgw_listener_val *lv,
					    const struct xgw_l4 *l4)
{
	struct xgw_node_val *nv;
	__u32 hash, prev;

	if (!l4->tcp_nosyn || lv->prev_ring == lv->ring)
		return XGW_STAT_PASS_DECAP;
	hash = xgw_flow_hash(pk);
	prev = ring_slot(lv->prev_ring, hash);
	if (prev == cfg->self)
		return XGW_STAT_PASS_DECAP;
	nv = bpf_map_lookup_elem(&xgw_nodes, &prev);
	if (!nv || !(nv->flags & XGW_NODE_F_PRESENT) || xgw_ip_eq(&nv->addr, &pk->outer_src))
		return XGW_STAT_PASS_DECAP;
	if (xgw_has_socket(ctx, pk))
		return XGW_STAT_PASS_DECAP;
	return xgw_encap(ctx, cfg, nv, pk->family, xgw_encap_entropy(cfg, pk),
			 XGW_STAT_TX_SECOND_CHANCE);
}

/*
 * Multi-node: the owner of a listener flow. The flow table first (a flow
 * keeps its node while it lives), else the current ring; for a non-SYN TCP
 * segment after a ring change, a local socket, else the previous ring's
 * owner (Unimog's second chance). The choice is recorded either way, with
 * the encapsulation's entropy when the flow leaves.
 */
static __always_inline __u32 route_flow(struct xdp_md *ctx, struct xgw_pkt *pk,
					const struct xgw_listener_val *lv, const struct xgw_l3 *l3,
					const struct xgw_l4 *l4)
{
	__u32 zero = 0, stat = XGW_STAT_TX_REMOTE, entropy = 0, hash, owner, prev;
	struct xgw_l4_config *cfg = bpf_map_lookup_elem(&xgw_l4cfg, &zero);
	struct xgw_flow_val fv = {}, *hit;

	if (!cfg || !(cfg->flags & XGW_L4_F_ENABLED))
		return pk->decapped ? XGW_STAT_PASS_DECAP : XGW_STAT_PASS_LISTENER;
	/* Later fragments carry no ports: all fragments of a datagram stay together. */
	if (l3->frag || !pk->l2_plain)
		return pk->decapped ? XGW_STAT_PASS_DECAP : XGW_STAT_PASS_LOCAL_ONLY;
	pk->fk.sport = l3->proto == IPPROTO_UDP && cfg_udp_3tuple ? 0 : l4->sport;
	pk->fk.listener = lv->flow_token;
	pk->dport = l4->dport;
	pk->proto = l3->proto;
	if (pk->decapped)
		return owner_decapped(ctx, pk, cfg, lv, l4);

	hit = bpf_map_lookup_elem(&xgw_flows, &pk->fk);
	if (hit) {
		/* No ring, so no hash; the entropy, if any, was recorded. */
		owner = hit->node;
		entropy = hit->entropy;
	} else {
		hash = xgw_flow_hash(pk);
		owner = ring_slot(lv->ring, hash);
		/*
		 * A segment of a flow older than the last ring change (ECMP moved
		 * it here): a local socket makes it ours whatever the ring says;
		 * else, when the ring says ours, the previous owner gets it.
		 */
		if (l4->tcp_nosyn && lv->prev_ring != lv->ring) {
			if (xgw_has_socket(ctx, pk)) {
				owner = cfg->self;
			} else if (owner == cfg->self) {
				prev = ring_slot(lv->prev_ring, hash);
				if (prev != cfg->self && prev < XGW_MAX_NODES) {
					owner = prev;
					stat = XGW_STAT_TX_SECOND_CHANCE;
				}
			}
		}
		if (owner >= XGW_MAX_NODES)
			return XGW_STAT_PASS_LOCAL_ONLY;
		fv.node = owner;
		if (owner != cfg->self)
			fv.entropy = entropy = xgw_encap_entropy(cfg, pk);
		bpf_map_update_elem(&xgw_flows, &pk->fk, &fv, BPF_ANY);
	}
	if (owner == cfg->self)
		return XGW_STAT_PASS_LISTENER;
	return to_node(ctx, cfg, owner, pk, entropy, stat);
}

/* A packet for listener <lv>: counted, then local or, in multi-node mode, routed. */
static __always_inline __u32 listener_hit(struct xdp_md *ctx, struct xgw_pkt *pk,
					  const struct xgw_listener_val *lv,
					  const struct xgw_l3 *l3, const struct xgw_l4 *l4)
{
	if (lv->flags & XGW_LISTENER_F_DRAINING) {
		if (l4->syn)
			return XGW_STAT_DROP_DRAINING;
	} else {
		count_listener(ctx, lv->id, l4->syn);
	}
	/* Single-node listeners carry no ring: nothing more to read. */
	if (!(lv->flags & XGW_LISTENER_F_RING))
		return pk->decapped ? XGW_STAT_PASS_DECAP : XGW_STAT_PASS_LISTENER;
	return route_flow(ctx, pk, lv, l3, l4);
}

/*
 * What the headers say once the listener lookup missed for a Gateway address
 * (the slow path): <rest_ok> and <l4_ok> are the parsers' results.
 */
static __always_inline __u32 gateway_miss(const struct xgw_l3 *l3, int rest_ok, int l4_ok)
{
	if (!rest_ok)
		return XGW_STAT_DROP_MALFORMED;
	if (l3->nonfirst_frag)
		return XGW_STAT_PASS_FRAGMENT;
	if (l3->proto != IPPROTO_TCP && l3->proto != IPPROTO_UDP)
		return XGW_STAT_PASS_OTHER_PROTO;
	if (!l4_ok)
		return XGW_STAT_DROP_MALFORMED;
	return XGW_STAT_DROP_NO_LISTENER;
}

/*
 * The listener lookup comes first, keyed by (destination, port, protocol):
 * a listener packet costs one hash lookup. Only a miss asks xgw_addrs
 * whether the destination is a Gateway address at all, which decides between
 * node traffic (passed untouched, whatever its headers past the address) and
 * a drop. Returns the listener, or NULL for the slow path, which parses the
 * headers again rather than have the hot path carry what it needs: <rest_ok>
 * says whether the L3 parser accepted the rest of the IP header.
 */
static __always_inline struct xgw_listener_val *lookup_listener(struct xgw_cursor *cur,
								void *data_end, struct xgw_l3 *l3,
								struct xgw_l4 *l4,
								struct xgw_listener_key *key,
								int rest_ok)
{
	if (!rest_ok || l3->nonfirst_frag || (l3->proto != IPPROTO_TCP && l3->proto != IPPROTO_UDP))
		return NULL;
	if (xgw_parse_l4(cur, data_end, l3, l4) < 0)
		return NULL;
	key->port = l4->dport;
	key->proto = l3->proto;
	return bpf_map_lookup_elem(&xgw_listeners, key);
}

/* What the slow path learns from parsing the L4 header once more. */
static __always_inline int l4_parses(struct xgw_cursor *cur, void *data_end, struct xgw_l3 *l3,
				     int rest_ok)
{
	struct xgw_l4 l4;

	if (!rest_ok || l3->nonfirst_frag || (l3->proto != IPPROTO_TCP && l3->proto != IPPROTO_UDP))
		return 0;
	return xgw_parse_l4(cur, data_end, l3, &l4) == 0;
}

/*
 * Strip <olen> bytes of outer headers after Ethernet, keeping the MAC
 * addresses (moved as 16-bit words, as in xgw_encap()), and set the
 * ethertype to the inner packet's.
 */
static __always_inline __u32 decap(struct xdp_md *ctx, __u32 olen, __be16 inner_proto)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u16 macs[6];

	if ((void *)(eth + 1) > data_end)
		return XGW_STAT_DROP_ENCAP;
	__builtin_memcpy(macs, (const __u16 *)eth, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, (int)olen))
		return XGW_STAT_DROP_ENCAP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XGW_STAT_DROP_ENCAP;
	__builtin_memcpy((__u16 *)eth, macs, sizeof(macs));
	eth->h_proto = inner_proto;
	return XGW_VERDICT_REPARSE;
}

/*
 * Is <inner>, <olen> bytes into the outer payload, an IP packet of <family>
 * to a Gateway address? Only then is the tunnel packet ours to open: other
 * IPIP/GUE traffic to the node goes to its stack untouched.
 */
static __always_inline int inner_is_gateway(void *inner, void *data_end, __u8 family)
{
	struct xgw_ip ip = { .family = family };

	if (family == XGW_FAMILY_IPV4) {
		struct iphdr *iph = inner;

		if ((void *)(iph + 1) > data_end || iph->version != 4)
			return 0;
		__builtin_memcpy(ip.addr, &iph->daddr, 4);
	} else {
		struct ipv6hdr *ip6h = inner;

		if ((void *)(ip6h + 1) > data_end || ip6h->version != 6)
			return 0;
		__builtin_memcpy(ip.addr, &ip6h->daddr, 16);
	}
	return bpf_map_lookup_elem(&xgw_addrs, &ip) != NULL;
}

/*
 * A packet to this node's underlay address that may be an encapsulated
 * listener packet: <payload> follows the outer IP header, <proto> is its
 * protocol. Returns XGW_VERDICT_REPARSE after decapsulating, else
 * PASS_FOREIGN.
 */
static __always_inline __u32 try_decap(struct xdp_md *ctx, void *payload, void *data_end,
				       __u8 proto, __u32 ohlen, struct xgw_pkt *pk)
{
	__u8 family;

	if (proto == IPPROTO_IPIP) {
		family = XGW_FAMILY_IPV4;
	} else if (proto == IPPROTO_IPV6) {
		family = XGW_FAMILY_IPV6;
	} else {
		struct udphdr *uh = payload;
		__u8 *ver;

		if (cfg_encap != XGW_ENCAP_GUE || proto != IPPROTO_UDP)
			return XGW_STAT_PASS_FOREIGN;
		if ((void *)(uh + 1) + 1 > data_end || uh->dest != bpf_htons(cfg_gue_port))
			return XGW_STAT_PASS_FOREIGN;
		ver = (__u8 *)(uh + 1);
		family = *ver >> 4 == 4 ? XGW_FAMILY_IPV4 : XGW_FAMILY_IPV6;
		payload = uh + 1;
		ohlen += XGW_UDP_HLEN;
	}
	if (!inner_is_gateway(payload, data_end, family))
		return XGW_STAT_PASS_FOREIGN;
	pk->decapped = 1;
	return decap(ctx, ohlen,
		     family == XGW_FAMILY_IPV4 ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6));
}

/* Is <ip> this node's underlay address in multi-node mode? */
static __always_inline int is_self(const struct xgw_ip *ip)
{
	__u32 zero = 0;
	struct xgw_l4_config *cfg = bpf_map_lookup_elem(&xgw_l4cfg, &zero);

	return cfg && (cfg->flags & XGW_L4_F_ENABLED) && xgw_ip_eq(&cfg->self_addr, ip);
}

static __always_inline int maybe_tunnel(__u8 proto)
{
	return proto == IPPROTO_IPIP || proto == IPPROTO_IPV6 ||
	       (proto == IPPROTO_UDP && cfg_encap == XGW_ENCAP_GUE);
}

#define XGW_ICMP_ECHO 8
#define XGW_ICMP_ECHOREPLY 0
#define XGW_ICMP6_ECHO 128
#define XGW_ICMP6_ECHOREPLY 129

/*
 * ICMP echo to a Gateway address answered here (load-time choice): any node
 * answers for every address, and no node's stack is involved. <icmp> is the
 * ICMP header at the cursor, <l3> says how much of it the IP payload holds.
 * Returns TX_ICMP_ECHO after turning the frame around, or PASS_OTHER_PROTO
 * for anything else (other types, fragments, options).
 */
static __always_inline __u32 answer_echo(void *data, void *data_end, __u8 *icmp,
					 const struct xgw_l3 *l3, __u8 family)
{
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN], want = family == XGW_FAMILY_IPV4 ? XGW_ICMP_ECHO : XGW_ICMP6_ECHO;
	__u16 old, new;

	if (l3->frag || l3->l4_len < 8 || (void *)(icmp + 8) > data_end ||
	    (void *)(eth + 1) > data_end || icmp[0] != want || icmp[1] != 0)
		return XGW_STAT_PASS_OTHER_PROTO;
	__builtin_memcpy(&old, icmp, 2);
	icmp[0] = family == XGW_FAMILY_IPV4 ? XGW_ICMP_ECHOREPLY : XGW_ICMP6_ECHOREPLY;
	__builtin_memcpy(&new, icmp, 2);
	/* Only the type changes: for ICMPv6 the pseudo-header sum survives the swap. */
	xgw_csum_replace2((__u16 *)(icmp + 2), old, new);
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	return XGW_STAT_TX_ICMP_ECHO;
}

static __noinline __u32 echo4(void *data, void *data_end, struct iphdr *iph, __u8 *icmp,
			      const struct xgw_l3 *l3)
{
	__u32 addr;
	__u32 stat;

	if (iph->ihl != 5)
		return XGW_STAT_PASS_OTHER_PROTO;
	stat = answer_echo(data, data_end, icmp, l3, XGW_FAMILY_IPV4);
	if (stat != XGW_STAT_TX_ICMP_ECHO)
		return stat;
	addr = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = addr;
	iph->ttl = XGW_OUTER_TTL;
	iph->check = 0;
	iph->check = xgw_ipv4_csum(iph);
	return stat;
}

static __noinline __u32 echo6(void *data, void *data_end, struct ipv6hdr *ip6h, __u8 *icmp,
			      const struct xgw_l3 *l3)
{
	struct in6_addr addr;
	__u32 stat = answer_echo(data, data_end, icmp, l3, XGW_FAMILY_IPV6);

	if (stat != XGW_STAT_TX_ICMP_ECHO)
		return stat;
	addr = ip6h->saddr;
	ip6h->saddr = ip6h->daddr;
	ip6h->daddr = addr;
	ip6h->hop_limit = XGW_OUTER_TTL;
	return stat;
}

/* --- SYN-flood guard ----------------------------------------------------- */

#define XGW_SYNACK_TCP_LEN 24 /* TCP header with one option: MSS */
#define XGW_NSEC_PER_SEC 1000000000ull

/* One more SYN for listener <id> on this CPU: is it above cfg_syn_rate per second? */
static __always_inline int syn_over_rate(__u32 id)
{
	struct xgw_synrate *r = bpf_map_lookup_elem(&xgw_synrate, &id);
	__u64 now;

	if (!r)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - r->window_ns >= XGW_NSEC_PER_SEC) {
		r->window_ns = now;
		r->syns = 0;
	}
	return ++r->syns > cfg_syn_rate;
}

static __always_inline __u32 csum_add_words(const void *p, int nwords, __u32 sum)
{
	const __u16 *w = p;

#pragma unroll
	for (int i = 0; i < 20; i++)
		if (i < nwords)
			sum += w[i];
	return sum;
}

/*
 * The SYN-ACK of a SYN cookie, in place of the SYN: MACs, addresses and ports
 * swapped, seq = the cookie, ack = the client's seq + 1, one MSS option (the
 * cookie encodes it; without timestamps the kernel keeps no window scale or
 * SACK for such a connection, as for its own cookies). <tcp> points at the
 * TCP header, <l3len> is the IP header's length.
 */
static __always_inline void write_synack(struct ethhdr *eth, struct tcphdr *th, __s64 cookie,
					 __be32 client_seq)
{
	__u8 mac[ETH_ALEN];
	__be16 port;
	__u8 *opt = (__u8 *)(th + 1);
	__u16 mss = (__u16)(cookie >> 32);

	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	port = th->source;
	th->source = th->dest;
	th->dest = port;
	th->ack_seq = bpf_htonl(bpf_ntohl(client_seq) + 1);
	th->seq = bpf_htonl((__u32)cookie);
	((__u8 *)th)[12] = (XGW_SYNACK_TCP_LEN / 4) << 4;
	((__u8 *)th)[XGW_TCP_FLAGS_OFF] = XGW_TCP_SYN | XGW_TCP_ACK;
	th->window = bpf_htons(65535);
	th->check = 0;
	th->urg_ptr = 0;
	opt[0] = 2; /* MSS */
	opt[1] = 4;
	opt[2] = (__u8)(mss >> 8);
	opt[3] = (__u8)mss;
}

/*
 * Answer the SYN in <ctx> (untagged, IPv4 without options, checked by the
 * caller) with a SYN cookie: no state anywhere until the client's ACK, which
 * the stack validates. Returns TX_SYNCOOKIE, or <keep> when the SYN cannot
 * be answered here (it then goes to the stack as usual).
 */
static __noinline __u32 syncookie4(struct xdp_md *ctx, __u32 keep)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct tcphdr *th = (void *)(iph + 1);
	__u8 tcp[60] = {};
	__u32 th_len, sum;
	__be32 seq, addr;
	__s64 cookie;

	if ((void *)(th + 1) > data_end || iph->ihl != 5 || iph->protocol != IPPROTO_TCP)
		return keep;
	th_len = th->doff * 4;
	/* The helper wants a header of constant bounds: a stack copy gives them. */
	if (th_len < sizeof(*th) || th_len > sizeof(tcp) ||
	    bpf_xdp_load_bytes(ctx, ETH_HLEN + XGW_IPV4_HLEN, tcp, th_len))
		return keep;
	cookie = bpf_tcp_raw_gen_syncookie_ipv4(iph, (struct tcphdr *)tcp, th_len);
	if (cookie < 0)
		return keep;
	seq = th->seq;
	if (bpf_xdp_adjust_tail(ctx, (int)(ETH_HLEN + XGW_IPV4_HLEN + XGW_SYNACK_TCP_LEN) -
					     (int)(data_end - data)))
		return keep;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	iph = (void *)(eth + 1);
	th = (void *)(iph + 1);
	if ((void *)th + XGW_SYNACK_TCP_LEN > data_end)
		return XGW_STAT_DROP_MALFORMED;
	write_synack(eth, th, cookie, seq);
	addr = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = addr;
	iph->tot_len = bpf_htons(XGW_IPV4_HLEN + XGW_SYNACK_TCP_LEN);
	iph->id = 0;
	iph->frag_off = bpf_htons(0x4000); /* DF */
	iph->ttl = XGW_OUTER_TTL;
	iph->check = 0;
	iph->check = xgw_ipv4_csum(iph);
	sum = csum_add_words(&iph->saddr, 4,
			     bpf_htons(IPPROTO_TCP) + bpf_htons(XGW_SYNACK_TCP_LEN));
	th->check = xgw_csum_fold(csum_add_words(th, XGW_SYNACK_TCP_LEN / 2, sum));
	return XGW_STAT_TX_SYNCOOKIE;
}

/* The same for IPv6 with TCP right after the fixed header. */
static __noinline __u32 syncookie6(struct xdp_md *ctx, __u32 keep)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6h = (void *)(eth + 1);
	struct tcphdr *th = (void *)(ip6h + 1);
	struct in6_addr addr;
	__u8 tcp[60] = {};
	__u32 th_len, sum;
	__s64 cookie;
	__be32 seq;

	if ((void *)(th + 1) > data_end || ip6h->nexthdr != IPPROTO_TCP)
		return keep;
	th_len = th->doff * 4;
	/* The helper wants a header of constant bounds: a stack copy gives them. */
	if (th_len < sizeof(*th) || th_len > sizeof(tcp) ||
	    bpf_xdp_load_bytes(ctx, ETH_HLEN + XGW_IPV6_HLEN, tcp, th_len))
		return keep;
	cookie = bpf_tcp_raw_gen_syncookie_ipv6(ip6h, (struct tcphdr *)tcp, th_len);
	if (cookie < 0)
		return keep;
	seq = th->seq;
	if (bpf_xdp_adjust_tail(ctx, (int)(ETH_HLEN + XGW_IPV6_HLEN + XGW_SYNACK_TCP_LEN) -
					     (int)(data_end - data)))
		return keep;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	ip6h = (void *)(eth + 1);
	th = (void *)(ip6h + 1);
	if ((void *)th + XGW_SYNACK_TCP_LEN > data_end)
		return XGW_STAT_DROP_MALFORMED;
	write_synack(eth, th, cookie, seq);
	addr = ip6h->saddr;
	ip6h->saddr = ip6h->daddr;
	ip6h->daddr = addr;
	ip6h->payload_len = bpf_htons(XGW_SYNACK_TCP_LEN);
	ip6h->hop_limit = XGW_OUTER_TTL;
	sum = csum_add_words(&ip6h->saddr, 16,
			     bpf_htons(IPPROTO_TCP) + bpf_htons(XGW_SYNACK_TCP_LEN));
	th->check = xgw_csum_fold(csum_add_words(th, XGW_SYNACK_TCP_LEN / 2, sum));
	return XGW_STAT_TX_SYNCOOKIE;
}

/*
 * After the listener decided: a SYN that stays on this node (the owner: a
 * cookie is only valid on the kernel that made it) and is above the rate is
 * answered here.
 */
static __always_inline __u32 syn_guard(struct xdp_md *ctx, const struct xgw_pkt *pk,
				       const struct xgw_l3 *l3, const struct xgw_l4 *l4, __u32 id,
				       __u32 stat)
{
	if (!cfg_syn_rate || !l4->syn || !pk->l2_plain || l3->frag ||
	    (stat != XGW_STAT_PASS_LISTENER && stat != XGW_STAT_PASS_DECAP) || !syn_over_rate(id))
		return stat;
	return pk->family == XGW_FAMILY_IPV4 ? syncookie4(ctx, stat) : syncookie6(ctx, stat);
}

/*
 * The slow path of an IPv4 packet whose listener lookup missed (out of line,
 * so that the hot path keeps its registers): node traffic passes untouched,
 * whatever its headers past the address, and our own tunnel packets are
 * decapsulated; only for a Gateway address are the headers parsed once more,
 * to tell an echo request, a fragment or a malformed header from a port with
 * no listener.
 */
static __noinline __u32 miss_ipv4(struct xdp_md *ctx, struct xgw_pkt *pk, struct iphdr *iph)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct xgw_cursor cur = { .pos = iph };
	struct xgw_ip ip = { .family = XGW_FAMILY_IPV4 };
	struct xgw_l3 l3 = {};
	int rest_ok, l4_ok;
	void *l4p;

	if ((void *)(iph + 1) > data_end)
		return XGW_STAT_PASS_MALFORMED;
	__builtin_memcpy(ip.addr, &iph->daddr, sizeof(iph->daddr));
	if (!bpf_map_lookup_elem(&xgw_addrs, &ip)) {
		/* Our own encapsulation only: no options, no fragments. */
		if (pk->decapped || !pk->l2_plain || !maybe_tunnel(iph->protocol) ||
		    iph->ihl != 5 ||
		    (bpf_ntohs(iph->frag_off) & (XGW_IP_OFFSET_MASK | XGW_IP_MF)) || !is_self(&ip))
			return XGW_STAT_PASS_FOREIGN;
		pk->outer_src.family = XGW_FAMILY_IPV4;
		__builtin_memcpy(pk->outer_src.addr, &iph->saddr, 4);
		return try_decap(ctx, iph + 1, data_end, iph->protocol, XGW_IPV4_HLEN, pk);
	}
	/* A Gateway address: what is wrong with the packet, if anything. */
	rest_ok = xgw_parse_ipv4_rest(&cur, data_end, iph, &l3) == 0;
	l4p = cur.pos;
	l4_ok = l4_parses(&cur, data_end, &l3, rest_ok);
	if (rest_ok && l3.proto == IPPROTO_ICMP && cfg_icmp == XGW_ICMP_ANSWER)
		return echo4((void *)(long)ctx->data, data_end, iph, l4p, &l3);
	return gateway_miss(&l3, rest_ok, l4_ok);
}

static __noinline __u32 miss_ipv6(struct xdp_md *ctx, struct xgw_pkt *pk, struct ipv6hdr *ip6h)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct xgw_cursor cur = { .pos = ip6h };
	struct xgw_ip ip = { .family = XGW_FAMILY_IPV6 };
	struct xgw_l3 l3 = {};
	int rest_ok, l4_ok;
	void *l4p;

	if ((void *)(ip6h + 1) > data_end)
		return XGW_STAT_PASS_MALFORMED;
	__builtin_memcpy(ip.addr, &ip6h->daddr, sizeof(ip6h->daddr));
	if (!bpf_map_lookup_elem(&xgw_addrs, &ip)) {
		if (pk->decapped || !pk->l2_plain || !maybe_tunnel(ip6h->nexthdr) || !is_self(&ip))
			return XGW_STAT_PASS_FOREIGN;
		pk->outer_src.family = XGW_FAMILY_IPV6;
		__builtin_memcpy(pk->outer_src.addr, &ip6h->saddr, 16);
		return try_decap(ctx, ip6h + 1, data_end, ip6h->nexthdr, XGW_IPV6_HLEN, pk);
	}
	rest_ok = xgw_parse_ipv6_rest(&cur, data_end, ip6h, &l3) == 0;
	l4p = cur.pos;
	l4_ok = l4_parses(&cur, data_end, &l3, rest_ok);
	if (rest_ok && l3.proto == IPPROTO_ICMPV6 && cfg_icmp == XGW_ICMP_ANSWER)
		return echo6((void *)(long)ctx->data, data_end, ip6h, l4p, &l3);
	return gateway_miss(&l3, rest_ok, l4_ok);
}

/* The hot path: a listener packet, else the slow path. */
static __always_inline __u32 handle_ipv4(struct xdp_md *ctx, struct xgw_cursor *cur, void *data_end,
					 struct xgw_pkt *pk)
{
	struct xgw_listener_key key = {};
	struct xgw_listener_val *lv;
	struct xgw_l3 l3 = {};
	struct xgw_l4 l4 = {};
	struct iphdr *iph;
	int rest_ok;

	iph = xgw_parse_ipv4_fixed(cur, data_end);
	if (!iph)
		return XGW_STAT_PASS_MALFORMED;
	key.ip.family = XGW_FAMILY_IPV4;
	__builtin_memcpy(key.ip.addr, &iph->daddr, sizeof(iph->daddr));
	rest_ok = xgw_parse_ipv4_rest(cur, data_end, iph, &l3) == 0;
	lv = lookup_listener(cur, data_end, &l3, &l4, &key, rest_ok);
	if (!lv)
		return miss_ipv4(ctx, pk, iph);
	pk->family = XGW_FAMILY_IPV4;
	/* Only routing reads the flow's addresses: single-node never copies them. */
	if (lv->flags & XGW_LISTENER_F_RING) {
		__builtin_memcpy(pk->fk.src, &iph->saddr, 4);
		__builtin_memcpy(pk->dst, &iph->daddr, 4);
	}
	return syn_guard(ctx, pk, &l3, &l4, lv->id, listener_hit(ctx, pk, lv, &l3, &l4));
}

static __always_inline __u32 handle_ipv6(struct xdp_md *ctx, struct xgw_cursor *cur, void *data_end,
					 struct xgw_pkt *pk)
{
	struct xgw_listener_key key = {};
	struct xgw_listener_val *lv;
	struct xgw_l3 l3 = {};
	struct xgw_l4 l4 = {};
	struct ipv6hdr *ip6h;
	int rest_ok;

	ip6h = xgw_parse_ipv6_fixed(cur, data_end);
	if (!ip6h)
		return XGW_STAT_PASS_MALFORMED;
	key.ip.family = XGW_FAMILY_IPV6;
	__builtin_memcpy(key.ip.addr, &ip6h->daddr, sizeof(ip6h->daddr));
	rest_ok = xgw_parse_ipv6_rest(cur, data_end, ip6h, &l3) == 0;
	lv = lookup_listener(cur, data_end, &l3, &l4, &key, rest_ok);
	if (!lv)
		return miss_ipv6(ctx, pk, ip6h);
	pk->family = XGW_FAMILY_IPV6;
	if (lv->flags & XGW_LISTENER_F_RING) {
		__builtin_memcpy(pk->fk.src, &ip6h->saddr, 16);
		__builtin_memcpy(pk->dst, &ip6h->daddr, 16);
	}
	return syn_guard(ctx, pk, &l3, &l4, lv->id, listener_hit(ctx, pk, lv, &l3, &l4));
}

/*
 * A global (not inlined) function: the verifier checks it once, not once per
 * call, and the entry calls it twice (decapsulation parses again).
 */
__noinline int xgw_handle_frame(struct xdp_md *ctx, struct xgw_pkt *pk)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct xgw_cursor cur = { .pos = data };
	__be16 proto;

	if (!pk)
		return XGW_STAT_PASS_MALFORMED;
	if (xgw_parse_eth(&cur, data_end, &proto) < 0)
		return XGW_STAT_PASS_MALFORMED;
	pk->l2_plain = cur.pos == data + ETH_HLEN;
	if (proto == bpf_htons(ETH_P_IP))
		return handle_ipv4(ctx, &cur, data_end, pk);
	if (proto == bpf_htons(ETH_P_IPV6))
		return handle_ipv6(ctx, &cur, data_end, pk);
	return XGW_STAT_PASS_NOT_IP;
}

SEC("xdp")
int xgw_xdp_lb(struct xdp_md *ctx)
{
	struct xgw_pkt pk = {};
	__u32 stat;

	stat = xgw_handle_frame(ctx, &pk);
	/* Once at most: a decapsulated packet is never opened again. */
	if (stat == XGW_VERDICT_REPARSE)
		stat = xgw_handle_frame(ctx, &pk);
	if (stat == XGW_VERDICT_REPARSE)
		stat = XGW_STAT_DROP_ENCAP;
	return count_verdict(stat);
}
