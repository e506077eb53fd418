// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdp_lb's L4 tier (multi-node mode) under BPF_PROG_TEST_RUN: a table of
 * packets, each with the verdict, the counter it moves, the exact output
 * bytes (outer headers, checksums, TTL) and the flow table after it; flows
 * keyed per listener; second chance with a real socket; next hops of large
 * ifindexes.
 */
#include "xdp_test_common.h"
/* --- the L4 tier (multi-node mode) -------------------------------------- */

/*
 * Nodes of the tests: id 0 is this node. The underlay is IPv4 or IPv6 per
 * row; the Gateway addresses and listeners are those of setup().
 */
#define RING_SIZE 13 /* a small prime, set at load time like the agent does */
#define SELF 0
#define N1 1
#define N2 2
static const char *const node4[] = { "10.0.0.1", "10.0.0.2", "10.0.0.3" };
static const char *const node6[] = { "fd00:a::1", "fd00:a::2", "fd00:a::3" };
#define NEXTHOP_MAC "\x02\x00\x00\x00\x00\x99"
/* The entropy of the rows' preset flows: their encapsulation must use it. */
#define PRESET_ENTROPY 0x5a5a5u

enum in_kind {
	IN_PLAIN = 0,	/* the client's frame as it comes from the router */
	IN_ENCAP_FROM1, /* encapsulated by node 1 */
	IN_ENCAP_FROM2, /* encapsulated by node 2 */
	IN_ENCAP_OTHER, /* encapsulated, to an address that is not this node's */
};

enum out_kind {
	OUT_SAME = 0, /* unchanged */
	OUT_ENCAP,    /* encapsulated to <out_node> */
	OUT_DECAP,    /* the inner frame */
	OUT_NONE,     /* dropped: not compared */
	OUT_ECHO,     /* the ICMP echo reply to the frame */
	OUT_TOO_BIG,  /* ICMP "fragmentation needed" / ICMPv6 "packet too big" to the client */
};

struct l4_row {
	const char *name;
	struct pkt_spec spec;
	int underlay; /* 4 (default) or 6 */
	bool gue;     /* the GUE skeleton */
	int ring;     /* node owning every slot of the current ring */
	int prev;     /* ... of the previous ring; -1: no previous ring */
	int flow;     /* flow table entry before the packet: -1 none */
	bool flow_e0; /* ... without entropy, as an older agent's program wrote it */
	bool no_ring; /* the listener carries no ring (single-node listener) */
	int nexthop;  /* enum nh_kind: the ingress interface's next hop */
	int mtu;      /* cfg_encap_mtu when non-zero (GUE skeleton only) */
	int icmp_mtu; /* OUT_TOO_BIG: the MTU the error must announce */
	enum in_kind in;
	int verdict;
	int stat;
	enum out_kind out;
	int out_node;
	int flow_after; /* flow table entry after: -1 none */
};

/* What the maps hold for the ingress interface (ifindex 1, loopback). */
enum nh_kind {
	NH_NONE,
	NH_DIRECT, /* NEXTHOP_MAC in xgw_nh_direct, with XGW_NEXTHOP_F_SET */
	NH_UNSET,  /* NEXTHOP_MAC in xgw_nh_direct without the flag: none */
	NH_HASH,   /* NEXTHOP_MAC in xgw_nexthops, which small ifindexes do not use */
};

static const struct l4_row l4_rows[] = {
	{ "l4 v4 local owner",
	  {},
	  .ring = SELF,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_LISTENER,
	  .out = OUT_SAME,
	  .flow_after = SELF },
	{ "l4 v4 remote owner ipip",
	  {},
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v4 remote owner, nexthop mac",
	  {},
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .nexthop = NH_DIRECT,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v4 remote owner, a next hop entry without its flag: the sender's mac",
	  {},
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .nexthop = NH_UNSET,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v4 remote owner, a small ifindex in the next hop hash: not read",
	  {},
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .nexthop = NH_HASH,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v4 flow hit stays local after ring change",
	  { .tcp_flags = 0x10 },
	  .ring = N1,
	  .prev = -1,
	  .flow = SELF,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_LISTENER,
	  .out = OUT_SAME,
	  .flow_after = SELF },
	{ "l4 v4 flow hit stays remote after ring change",
	  { .tcp_flags = 0x10 },
	  .ring = SELF,
	  .prev = -1,
	  .flow = N2,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N2,
	  .flow_after = N2 },
	{ "l4 v6 inner v4 underlay",
	  { .family = 6 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v4 inner v6 underlay",
	  {},
	  .underlay = 6,
	  .ring = N2,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N2,
	  .flow_after = N2 },
	{ "l4 v6 inner v6 underlay",
	  { .family = 6 },
	  .underlay = 6,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v6 flow hit, v6 underlay: the flow label is the recorded entropy",
	  { .family = 6, .tcp_flags = 0x10 },
	  .underlay = 6,
	  .ring = N2,
	  .prev = -1,
	  .flow = N1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v6 flow hit, v6 underlay, an entry without entropy: computed",
	  { .family = 6, .tcp_flags = 0x10 },
	  .underlay = 6,
	  .ring = N2,
	  .prev = -1,
	  .flow = N1,
	  .flow_e0 = true,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v4 flow hit, gue: the source port is the recorded entropy",
	  { .tcp_flags = 0x10 },
	  .gue = true,
	  .ring = N2,
	  .prev = -1,
	  .flow = N1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v4 udp remote",
	  { .proto = IPPROTO_UDP, .dport = 443 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v4 gue remote",
	  {},
	  .gue = true,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v6 gue v6 underlay",
	  { .family = 6 },
	  .underlay = 6,
	  .gue = true,
	  .ring = N2,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N2,
	  .flow_after = N2 },
	{ "l4 single-node listener in multi-node mode",
	  {},
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .no_ring = true,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_LISTENER,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "l4 second chance: ack, no socket, previous owner",
	  { .tcp_flags = 0x10 },
	  .ring = SELF,
	  .prev = N2,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_SECOND_CHANCE,
	  .out = OUT_ENCAP,
	  .out_node = N2,
	  .flow_after = N2 },
	{ "l4 second chance v6",
	  { .family = 6, .tcp_flags = 0x18 },
	  .ring = SELF,
	  .prev = N1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_SECOND_CHANCE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 no second chance for a syn",
	  {},
	  .ring = SELF,
	  .prev = N2,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_LISTENER,
	  .out = OUT_SAME,
	  .flow_after = SELF },
	{ "l4 no second chance for udp",
	  { .proto = IPPROTO_UDP, .dport = 443 },
	  .ring = SELF,
	  .prev = N2,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_LISTENER,
	  .out = OUT_SAME,
	  .flow_after = SELF },
	{ "l4 no second chance when previous owner is self",
	  { .tcp_flags = 0x10 },
	  .ring = SELF,
	  .prev = SELF,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_LISTENER,
	  .out = OUT_SAME,
	  .flow_after = SELF },
	{ "l4 decap ipip v4",
	  {},
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_DECAP,
	  .out = OUT_DECAP,
	  .flow_after = -1 },
	{ "l4 decap ipip v6 inner",
	  { .family = 6 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_DECAP,
	  .out = OUT_DECAP,
	  .flow_after = -1 },
	{ "l4 decap v6 underlay",
	  {},
	  .underlay = 6,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_DECAP,
	  .out = OUT_DECAP,
	  .flow_after = -1 },
	{ "l4 decap gue",
	  { .family = 6 },
	  .gue = true,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_DECAP,
	  .out = OUT_DECAP,
	  .flow_after = -1 },
	{ "l4 decap gue v6 underlay",
	  {},
	  .underlay = 6,
	  .gue = true,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_DECAP,
	  .out = OUT_DECAP,
	  .flow_after = -1 },
	{ "l4 decap then second chance",
	  { .tcp_flags = 0x10 },
	  .ring = SELF,
	  .prev = N2,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_SECOND_CHANCE,
	  .out = OUT_ENCAP,
	  .out_node = N2,
	  .flow_after = -1 },
	{ "l4 decap, no second chance back to the sender",
	  { .tcp_flags = 0x10 },
	  .ring = SELF,
	  .prev = N2,
	  .flow = -1,
	  .in = IN_ENCAP_FROM2,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_DECAP,
	  .out = OUT_DECAP,
	  .flow_after = -1 },
	{ "l4 decap to unlistened port",
	  { .dport = 81 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_DROP,
	  .stat = XGW_STAT_DROP_NO_LISTENER,
	  .out = OUT_NONE,
	  .flow_after = -1 },
	{ "l4 decap malformed inner",
	  { .tot_len_extra = -24 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_DROP,
	  .stat = XGW_STAT_DROP_MALFORMED,
	  .out = OUT_NONE,
	  .flow_after = -1 },
	{ "l4 tunnel to another address is foreign",
	  {},
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_OTHER,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_FOREIGN,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "l4 ipip with foreign inner is foreign",
	  { .dst = FOREIGN4 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_FOREIGN,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "l4 ipip with truncated inner is foreign",
	  { .frame_len = ETH_HLEN + 10 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_FOREIGN,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "l4 ipip with truncated inner tcp is dropped after decap",
	  { .frame_len = ETH_HLEN + 20 + 10 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_DROP,
	  .stat = XGW_STAT_DROP_MALFORMED,
	  .out = OUT_NONE,
	  .flow_after = -1 },
	{ "l4 fragment stays local",
	  { .frag_off = 0x2000 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_LOCAL_ONLY,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "l4 v6 fragment stays local",
	  { .family = 6, .v6_frag = true, .frag_off = 1 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_LOCAL_ONLY,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "l4 vlan stays local",
	  { .vlan = { ETH_P_8021Q } },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_LOCAL_ONLY,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "l4 v4 options forwarded intact",
	  { .ip_opts = 8 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	/*
	 * The GUE skeleton's encapsulation MTU is 1000: 28 bytes of overhead on
	 * an IPv4 underlay (972 left for the inner packet), 48 on IPv6 (952).
	 */
	{ "l4 v4 too big without DF: dropped, no ICMP",
	  { .payload = 1000 },
	  .gue = true,
	  .mtu = 1000,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_DROP,
	  .stat = XGW_STAT_DROP_TOO_BIG,
	  .out = OUT_NONE,
	  .flow_after = N1 },
	{ "l4 v4 too big with DF: ICMP fragmentation needed",
	  { .payload = 1000, .frag_off = 0x4000 },
	  .gue = true,
	  .mtu = 1000,
	  .icmp_mtu = 972,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_ICMP_TOO_BIG,
	  .out = OUT_TOO_BIG,
	  .flow_after = N1 },
	{ "l4 v4 one byte too big with DF, v6 underlay: ICMP",
	  { .payload = 952 - 20 - 20 - 4 + 1, .frag_off = 0x4000 },
	  .underlay = 6,
	  .gue = true,
	  .mtu = 1000,
	  .icmp_mtu = 952,
	  .ring = N2,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_ICMP_TOO_BIG,
	  .out = OUT_TOO_BIG,
	  .flow_after = N2 },
	{ "l4 v4 with DF at the limit, v6 underlay: encapsulated",
	  { .payload = 952 - 20 - 20 - 4, .frag_off = 0x4000 },
	  .underlay = 6,
	  .gue = true,
	  .mtu = 1000,
	  .ring = N2,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N2,
	  .flow_after = N2 },
	/* The IPIP skeleton keeps the default MTU, 1500: 1480 left on IPv4. */
	{ "l4 v4 one byte too big with DF, ipip: ICMP",
	  { .payload = 1480 - 20 - 20 - 4 + 1, .frag_off = 0x4000 },
	  .icmp_mtu = 1480,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_ICMP_TOO_BIG,
	  .out = OUT_TOO_BIG,
	  .flow_after = N1 },
	{ "l4 v4 with DF at the limit, ipip: encapsulated",
	  { .payload = 1480 - 20 - 20 - 4, .frag_off = 0x4000 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 v6 too big: ICMPv6 packet too big",
	  { .family = 6, .payload = 1000 },
	  .gue = true,
	  .mtu = 1000,
	  .icmp_mtu = 972,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_ICMP_TOO_BIG,
	  .out = OUT_TOO_BIG,
	  .flow_after = N1 },
	{ "l4 v6 one byte too big, v6 underlay: ICMPv6",
	  { .family = 6, .payload = 952 - 40 - 20 - 4 + 1 },
	  .underlay = 6,
	  .gue = true,
	  .mtu = 1000,
	  .icmp_mtu = 952,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_ICMP_TOO_BIG,
	  .out = OUT_TOO_BIG,
	  .flow_after = N1 },
	{ "l4 v6 at the limit, v6 underlay: encapsulated",
	  { .family = 6, .payload = 952 - 40 - 20 - 4 },
	  .underlay = 6,
	  .gue = true,
	  .mtu = 1000,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 decap then second chance too big: dropped, no ICMP",
	  { .tcp_flags = 0x10, .payload = 1000, .frag_off = 0x4000 },
	  .gue = true,
	  .mtu = 1000,
	  .ring = SELF,
	  .prev = N2,
	  .flow = -1,
	  .in = IN_ENCAP_FROM1,
	  .verdict = XDP_DROP,
	  .stat = XGW_STAT_DROP_TOO_BIG,
	  .out = OUT_NONE,
	  .flow_after = -1 },
	{ "l4 v4 with DF at the limit: encapsulated",
	  { .payload = 1000 - 20 - 8 - 20 - 20 - 4, .frag_off = 0x4000 },
	  .gue = true,
	  .mtu = 1000,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_REMOTE,
	  .out = OUT_ENCAP,
	  .out_node = N1,
	  .flow_after = N1 },
	{ "l4 unlistened port still dropped",
	  { .dport = 81 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_DROP,
	  .stat = XGW_STAT_DROP_NO_LISTENER,
	  .out = OUT_NONE,
	  .flow_after = -1 },
	/* The GUE skeleton also answers ICMP echo (cfg_icmp); the IPIP one passes it. */
	{ "icmp echo answered v4",
	  { .proto = IPPROTO_ICMP },
	  .gue = true,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_ICMP_ECHO,
	  .out = OUT_ECHO,
	  .flow_after = -1 },
	{ "icmp echo answered v6",
	  { .family = 6, .proto = IPPROTO_ICMPV6 },
	  .gue = true,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_ICMP_ECHO,
	  .out = OUT_ECHO,
	  .flow_after = -1 },
	{ "icmp echo v6 after dstopts answered",
	  { .family = 6, .proto = IPPROTO_ICMPV6, .v6_dstopts = true },
	  .gue = true,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_TX,
	  .stat = XGW_STAT_TX_ICMP_ECHO,
	  .out = OUT_ECHO,
	  .flow_after = -1 },
	{ "icmp echo with ip options passed",
	  { .proto = IPPROTO_ICMP, .ip_opts = 4 },
	  .gue = true,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_OTHER_PROTO,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "icmp echo fragment passed",
	  { .proto = IPPROTO_ICMP, .frag_off = 0x2000 },
	  .gue = true,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_OTHER_PROTO,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "icmp truncated echo passed",
	  { .proto = IPPROTO_ICMP, .cut = 8 },
	  .gue = true,
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_OTHER_PROTO,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "icmp echo passed when not configured",
	  { .proto = IPPROTO_ICMP },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_OTHER_PROTO,
	  .out = OUT_SAME,
	  .flow_after = -1 },
	{ "l4 foreign still passed",
	  { .dst = FOREIGN4 },
	  .ring = N1,
	  .prev = -1,
	  .flow = -1,
	  .verdict = XDP_PASS,
	  .stat = XGW_STAT_PASS_FOREIGN,
	  .out = OUT_SAME,
	  .flow_after = -1 },
};

struct l4_fixture {
	struct fixture f;
	struct xdp_lb *ipip, *gue;
};

/* A skeleton for the L4 rows: ring size RING_SIZE, encapsulation as asked. */
static struct xdp_lb *open_l4(bool gue, int mtu)
{
	struct xdp_lb *skel = xdp_lb__open();
	struct bpf_map *map;

	if (!ASSERT_OK_PTR(skel, "xdp_lb__open"))
		return NULL;
	bpf_object__for_each_map(map, skel->obj)
	{
		if (!ASSERT_OK(bpf_map__set_pin_path(map, NULL), bpf_map__name(map)))
			goto err;
	}
	skel->rodata->cfg_ring_size = RING_SIZE;
	skel->rodata->cfg_encap = gue ? XGW_ENCAP_GUE : XGW_ENCAP_IPIP;
	if (mtu)
		skel->rodata->cfg_encap_mtu = mtu;
	skel->rodata->cfg_icmp = gue ? XGW_ICMP_ANSWER : XGW_ICMP_PASS;
	if (!ASSERT_OK(bpf_map__set_max_entries(skel->maps.xgw_rings, XGW_MAX_RINGS * RING_SIZE),
		       "ring size") ||
	    !ASSERT_OK(bpf_map__set_max_entries(skel->maps.xgw_flows, 1024), "flow table size"))
		goto err;
	if (!ASSERT_OK(xdp_lb__load(skel), "xdp_lb__load"))
		goto err;
	return skel;
err:
	xdp_lb__destroy(skel);
	return NULL;
}

static void ip_of(int underlay, const char *s, struct xgw_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = underlay == 6 ? XGW_FAMILY_IPV6 : XGW_FAMILY_IPV4;
	inet_pton(underlay == 6 ? AF_INET6 : AF_INET, s, ip->addr);
}

static bool fill_ring(struct xdp_lb *skel, __u32 ring, __u32 node)
{
	for (__u32 i = 0; i < RING_SIZE; i++) {
		__u32 key = ring * RING_SIZE + i;

		if (!ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_rings, &key, sizeof(key), &node,
						    sizeof(node), BPF_ANY),
			       "xgw_rings"))
			return false;
	}
	return true;
}

static void clear_flows(struct xdp_lb *skel)
{
	struct xgw_flow_key k;

	while (!bpf_map__get_next_key(skel->maps.xgw_flows, NULL, &k, sizeof(k)))
		if (!ASSERT_OK(bpf_map__delete_elem(skel->maps.xgw_flows, &k, sizeof(k), 0),
			       "xgw_flows delete"))
			break;
}

/* Programs <skel> for row <r>: config, nodes, rings, listeners' ring fields. */
static bool l4_program(struct xdp_lb *skel, const struct l4_row *r)
{
	const char *const *nodes = r->underlay == 6 ? node6 : node4;
	struct xgw_l4_config cfg = { .flags = XGW_L4_F_ENABLED, .self = SELF };
	struct xgw_listener_key lk, keys[8];
	struct xgw_listener_val lv;
	void *prev = NULL;
	size_t n = 0;
	__u32 zero = 0, ifindex = 1;
	struct xgw_nexthop nh = {};

	ip_of(r->underlay, nodes[SELF], &cfg.self_addr);
	if (!ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_l4cfg, &zero, sizeof(zero), &cfg,
					    sizeof(cfg), BPF_ANY),
		       "xgw_l4cfg"))
		return false;
	for (__u32 i = 0; i < 3; i++) {
		struct xgw_node_val nv = { .flags = XGW_NODE_F_PRESENT };

		ip_of(r->underlay, nodes[i], &nv.addr);
		if (!ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_nodes, &i, sizeof(i), &nv,
						    sizeof(nv), BPF_ANY),
			       "xgw_nodes"))
			return false;
	}
	if (!fill_ring(skel, 0, r->ring) || !fill_ring(skel, 1, r->prev < 0 ? 0 : r->prev))
		return false;
	/* Every listener of setup(): ring 0, previous ring 1 (or none). The keys
	 * are gathered first: an update puts a new element at the head of its
	 * bucket, so updating while walking a bucket of two walks it forever. */
	while (n < sizeof(keys) / sizeof(keys[0]) &&
	       !bpf_map__get_next_key(skel->maps.xgw_listeners, prev, &keys[n], sizeof(lk)))
		prev = &keys[n++];
	if (!ASSERT_TRUE(n > 0 && n < sizeof(keys) / sizeof(keys[0]), "listeners of setup()"))
		return false;
	for (size_t i = 0; i < n; i++) {
		lk = keys[i];
		if (!ASSERT_OK(bpf_map__lookup_elem(skel->maps.xgw_listeners, &lk, sizeof(lk), &lv,
						    sizeof(lv), 0),
			       "xgw_listeners lookup"))
			return false;
		lv.flags = r->no_ring ? 0 : XGW_LISTENER_F_RING;
		lv.ring = 0;
		lv.prev_ring = r->prev < 0 ? 0 : 1;
		if (!ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_listeners, &lk, sizeof(lk), &lv,
						    sizeof(lv), BPF_EXIST),
			       "xgw_listeners update"))
			return false;
	}
	bpf_map__delete_elem(skel->maps.xgw_nexthops, &ifindex, sizeof(ifindex), 0);
	if (r->nexthop != NH_NONE)
		memcpy(nh.mac, NEXTHOP_MAC, ETH_ALEN);
	if (r->nexthop == NH_DIRECT)
		nh.flags = XGW_NEXTHOP_F_SET;
	if (!ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_nh_direct, &ifindex, sizeof(ifindex),
					    &nh, sizeof(nh), BPF_ANY),
		       "xgw_nh_direct"))
		return false;
	nh.flags = XGW_NEXTHOP_F_SET;
	if (r->nexthop == NH_HASH &&
	    !ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_nexthops, &ifindex, sizeof(ifindex), &nh,
					    sizeof(nh), BPF_ANY),
		       "xgw_nexthops"))
		return false;
	clear_flows(skel);
	return true;
}

/*
 * The flow key of a packet built from <s> (TCP/UDP to the default ports):
 * the client's address and port, and the flow token of the listener that
 * <skel> has for its destination (0 when it has none).
 */
static void flow_key_of(struct xdp_lb *skel, const struct pkt_spec *s, struct xgw_flow_key *k)
{
	struct xgw_listener_key lk = { .proto = s->proto ? s->proto : IPPROTO_TCP,
				       .port = htons(s->dport ? s->dport : 80) };
	struct xgw_listener_val lv;

	memset(k, 0, sizeof(*k));
	if (s->family == 6) {
		lk.ip.family = XGW_FAMILY_IPV6;
		inet_pton(AF_INET6, CLIENT6, k->src);
		inet_pton(AF_INET6, s->dst ? s->dst : GW6, lk.ip.addr);
	} else {
		lk.ip.family = XGW_FAMILY_IPV4;
		inet_pton(AF_INET, CLIENT4, k->src);
		inet_pton(AF_INET, s->dst ? s->dst : GW4, lk.ip.addr);
	}
	k->sport = htons(40000);
	if (!bpf_map__lookup_elem(skel->maps.xgw_listeners, &lk, sizeof(lk), &lv, sizeof(lv), 0))
		k->listener = lv.flow_token;
}

/*
 * Writes into <out> the frame <inner> (an Ethernet frame of <len> bytes)
 * encapsulated from <src> to <dst> on <underlay>, as the program must build
 * it, with Ethernet addresses <dmac>/<smac>; returns its length. Written
 * independently of the BPF code: checksum by RFC 1071, TTL 64.
 */
static size_t encap_frame(const __u8 *inner, size_t len, int underlay, bool gue, const char *src,
			  const char *dst, const __u8 *dmac, const __u8 *smac, __u8 *out)
{
	size_t ilen = len - ETH_HLEN, olen = (underlay == 6 ? 40 : 20) + (gue ? 8 : 0);
	const __u8 *ip = inner + ETH_HLEN;
	bool v6in = ip[0] >> 4 == 6;
	__u8 tos = v6in ? (__u8)((ip[0] & 0xf) << 4 | ip[1] >> 4) : ip[1];
	__u8 proto = gue ? IPPROTO_UDP : v6in ? IPPROTO_IPV6 : IPPROTO_IPIP;
	__u8 *o = out + ETH_HLEN;

	memcpy(out, dmac, ETH_ALEN);
	memcpy(out + ETH_ALEN, smac, ETH_ALEN);
	memset(o, 0, olen);
	if (underlay == 6) {
		*(__be16 *)(out + 12) = htons(ETH_P_IPV6);
		o[0] = 0x60 | tos >> 4;
		o[1] = (__u8)(tos << 4); /* flow label: checked apart, it is the flow hash */
		*(__be16 *)(o + 4) = htons(ilen + (gue ? 8 : 0));
		o[6] = proto;
		o[7] = 64;
		inet_pton(AF_INET6, src, o + 8);
		inet_pton(AF_INET6, dst, o + 24);
	} else {
		*(__be16 *)(out + 12) = htons(ETH_P_IP);
		o[0] = 0x45;
		o[1] = tos;
		*(__be16 *)(o + 2) = htons(ilen + olen);
		o[8] = 64;
		o[9] = proto;
		inet_pton(AF_INET, src, o + 12);
		inet_pton(AF_INET, dst, o + 16);
		*(__be16 *)(o + 10) = htons(csum16(o, 20));
	}
	if (gue) {
		__u8 *u = o + olen - 8;

		/* source port: checked apart (flow entropy) */
		*(__be16 *)(u + 2) = htons(XGW_GUE_PORT);
		*(__be16 *)(u + 4) = htons(ilen + 8);
	}
	memcpy(out + ETH_HLEN + olen, ip, ilen);
	return len + olen;
}

/*
 * Writes a correct ICMP/ICMPv6 checksum into the untagged frame <f>, whose
 * ICMP message starts at <l4> and runs to the end of the IP payload.
 */
static void icmp_csum(__u8 *f, size_t l4)
{
	__u8 *ip = f + ETH_HLEN;
	size_t end, len;
	__u32 sum;

	if (ip[0] >> 4 == 4) {
		end = ETH_HLEN + ((size_t)ip[2] << 8 | ip[3]);
		len = end - l4;
		f[l4 + 2] = f[l4 + 3] = 0;
		sum = sum16(f + l4, len);
	} else {
		end = ETH_HLEN + 40 + ((size_t)ip[4] << 8 | ip[5]);
		len = end - l4;
		f[l4 + 2] = f[l4 + 3] = 0;
		sum = sum16(ip + 8, 32) + (__u32)len + IPPROTO_ICMPV6 + sum16(f + l4, len);
	}
	*(__be16 *)(f + l4 + 2) = htons(fold(sum));
}

/*
 * The ICMP error the program must make of the untagged frame <in> that is too
 * big once encapsulated: Ethernet addresses swapped; a new IP header from the
 * Gateway address to the client (IPv4: TOS 0xc0, no DF, TTL 64; IPv6: hop
 * limit 64); ICMP type 3 code 4 with the 16-bit next-hop MTU <mtu>, or ICMPv6
 * type 2 with the 32-bit MTU; then the first 84 (IPv4) or 248 (IPv6) bytes of
 * the original IP packet. Returns the frame's length.
 */
static size_t too_big_reply(const __u8 *in, __u32 mtu, __u8 *out)
{
	const __u8 *oip = in + ETH_HLEN;
	bool v6 = oip[0] >> 4 == 6;
	size_t hlen = v6 ? 40 : 20, quote = v6 ? 248 : 84;
	__u8 *ip = out + ETH_HLEN, *icmp = ip + hlen;

	memcpy(out, in + ETH_ALEN, ETH_ALEN);
	memcpy(out + ETH_ALEN, in, ETH_ALEN);
	*(__be16 *)(out + 12) = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	memset(ip, 0, hlen + 8);
	if (v6) {
		ip[0] = 0x60;
		*(__be16 *)(ip + 4) = htons(8 + quote);
		ip[6] = IPPROTO_ICMPV6;
		ip[7] = 64;
		memcpy(ip + 8, oip + 24, 16);
		memcpy(ip + 24, oip + 8, 16);
		icmp[0] = 2;
		*(__be32 *)(icmp + 4) = htonl(mtu);
	} else {
		ip[0] = 0x45;
		ip[1] = 0xc0;
		*(__be16 *)(ip + 2) = htons(20 + 8 + quote);
		ip[8] = 64;
		ip[9] = IPPROTO_ICMP;
		memcpy(ip + 12, oip + 16, 4);
		memcpy(ip + 16, oip + 12, 4);
		*(__be16 *)(ip + 10) = htons(csum16(ip, 20));
		icmp[0] = 3;
		icmp[1] = 4;
		*(__be16 *)(icmp + 6) = htons(mtu);
	}
	memcpy(icmp + 8, oip, quote);
	icmp_csum(out, ETH_HLEN + hlen);
	return ETH_HLEN + hlen + 8 + quote;
}

/*
 * Field by field, what the byte comparison of an OUT_TOO_BIG row also checks,
 * so that a failure names the field: type/code, MTU, checksums valid.
 */
static void check_too_big(const struct l4_row *r, const __u8 *out, size_t len)
{
	const __u8 *ip = out + ETH_HLEN;
	bool v6 = r->spec.family == 6;
	const __u8 *icmp = ip + (v6 ? 40 : 20);
	__u32 sum;

	if (v6) {
		ASSERT_TRUE(icmp[0] == 2 && icmp[1] == 0, "ICMPv6 type 2 code 0");
		ASSERT_EQ(ntohl(*(const __be32 *)(icmp + 4)), r->icmp_mtu, "ICMPv6 MTU");
		ASSERT_EQ(ip[7], 64, "hop limit");
		sum = sum16(ip + 8, 32) + (__u32)(len - ETH_HLEN - 40) + IPPROTO_ICMPV6 +
		      sum16(icmp, len - ETH_HLEN - 40);
	} else {
		ASSERT_TRUE(icmp[0] == 3 && icmp[1] == 4, "ICMP type 3 code 4");
		ASSERT_EQ(ntohs(*(const __be16 *)(icmp + 6)), r->icmp_mtu, "next-hop MTU");
		ASSERT_EQ(ip[8], 64, "ttl");
		ASSERT_EQ(csum16(ip, 20), 0, "IPv4 header checksum");
		sum = sum16(icmp, len - ETH_HLEN - 20);
	}
	ASSERT_EQ(fold(sum), 0, "ICMP checksum");
}

/* The echo reply the program must make of the echo request <in> (untagged). */
static void echo_reply(const __u8 *in, size_t len, size_t l4, __u8 *out)
{
	__u8 *ip = out + ETH_HLEN, tmp[16];

	memcpy(out, in, len);
	memcpy(out, in + ETH_ALEN, ETH_ALEN);
	memcpy(out + ETH_ALEN, in, ETH_ALEN);
	if (ip[0] >> 4 == 4) {
		memcpy(tmp, ip + 12, 4);
		memcpy(ip + 12, ip + 16, 4);
		memcpy(ip + 16, tmp, 4);
		ip[8] = 64;
		ip[10] = ip[11] = 0;
		*(__be16 *)(ip + 10) = htons(csum16(ip, 20));
		out[l4] = 0;
	} else {
		memcpy(tmp, ip + 8, 16);
		memcpy(ip + 8, ip + 24, 16);
		memcpy(ip + 24, tmp, 16);
		ip[7] = 64;
		out[l4] = 129;
	}
	icmp_csum(out, l4);
}

static void read_flow(struct xdp_lb *skel, const struct xgw_flow_key *k, int *node, __u32 *entropy)
{
	struct xgw_flow_val v;

	*node = -1;
	*entropy = 0;
	if (bpf_map__lookup_elem(skel->maps.xgw_flows, k, sizeof(*k), &v, sizeof(v), 0))
		return;
	*node = (int)v.node;
	*entropy = v.entropy;
}

static void run_l4_row(struct l4_fixture *lf, const struct l4_row *r)
{
	struct xdp_lb *skel = r->gue ? lf->gue : lf->ipip;
	const char *const *nodes = r->underlay == 6 ? node6 : node4;
	__u8 inner[2048], pkt[2048], want[2048 + 64], out[2048 + 64];
	__u64 before[XGW_STAT__MAX], after[XGW_STAT__MAX];
	size_t ilen = build(&r->spec, inner), len = ilen, wlen = 0;
	struct fixture f = lf->f;
	struct xgw_flow_key fk;
	size_t icmp_l4 = 0;
	__u32 entropy, label = 0, gue_sport = 0;
	int flow;

	f.skel = skel;
	if (r->mtu && !ASSERT_TRUE(r->gue, "mtu rows use the gue skeleton"))
		return;
	if (!l4_program(skel, r))
		return;
	flow_key_of(skel, &r->spec, &fk);
	if (r->flow >= 0) {
		struct xgw_flow_val v = { .node = (__u32)r->flow,
					  .entropy = r->flow_e0 ? 0 : PRESET_ENTROPY };

		if (!ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_flows, &fk, sizeof(fk), &v,
						    sizeof(v), BPF_ANY),
			       "preset flow"))
			return;
	}
	if (r->spec.proto == IPPROTO_ICMP || r->spec.proto == IPPROTO_ICMPV6) {
		/* The ICMP header follows IP and its options or extension headers. */
		icmp_l4 = r->spec.family == 6 ? ETH_HLEN + 40 + (r->spec.v6_dstopts ? 16 : 0)
					      : ETH_HLEN + 20 + r->spec.ip_opts;
		if (!r->spec.cut)
			icmp_csum(inner, icmp_l4);
	}
	memcpy(pkt, inner, ilen);
	if (r->in != IN_PLAIN) {
		const char *from = nodes[r->in == IN_ENCAP_FROM2 ? N2 : N1];
		const char *to = r->in == IN_ENCAP_OTHER ? nodes[N2] : nodes[SELF];

		len = encap_frame(inner, ilen, r->underlay, r->gue, from, to, inner, inner + 6,
				  pkt);
		if (r->gue) /* any source port */
			*(__be16 *)(pkt + ETH_HLEN + (r->underlay == 6 ? 40 : 20)) = htons(50000);
	}
	switch (r->out) {
	case OUT_SAME:
		memcpy(want, pkt, len);
		wlen = len;
		break;
	case OUT_DECAP:
		memcpy(want, inner, ilen);
		memcpy(want, pkt, 12); /* the MACs of the frame as received */
		wlen = ilen;
		break;
	case OUT_ENCAP:
		wlen = encap_frame(
			inner, ilen, r->underlay, r->gue, nodes[SELF], nodes[r->out_node],
			r->nexthop == NH_DIRECT ? (const __u8 *)NEXTHOP_MAC : pkt + ETH_ALEN, pkt,
			want);
		break;
	case OUT_NONE:
		break;
	case OUT_ECHO:
		echo_reply(pkt, len, icmp_l4, want);
		wlen = len;
		break;
	case OUT_TOO_BIG:
		wlen = too_big_reply(pkt, (__u32)r->icmp_mtu, want);
		break;
	}

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	if (!read_stats(&f, before))
		return;
	if (!ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xgw_xdp_lb), &opts),
		       r->name))
		return;
	if (!ASSERT_EQ(opts.retval, r->verdict, r->name))
		printf("#   verdict of \"%s\"\n", r->name);
	if (r->out != OUT_NONE && ASSERT_EQ(opts.data_size_out, wlen, r->name)) {
		if (r->out == OUT_ENCAP) {
			size_t l3 = ETH_HLEN;

			/* The flow-hash fields vary by flow; the rest must match byte for byte. */
			label = (__u32)(out[l3 + 1] & 0x0f) << 16 | out[l3 + 2] << 8 | out[l3 + 3];
			if (r->underlay == 6) {
				ASSERT_EQ(out[l3 + 1] & 0xf0, want[l3 + 1] & 0xf0, "tc low");
				out[l3 + 1] = want[l3 + 1];
				out[l3 + 2] = out[l3 + 3] = 0;
			}
			if (r->gue) {
				size_t u = l3 + (r->underlay == 6 ? 40 : 20);

				ASSERT_GE(out[u], 0xc0, "gue source port in the ephemeral range");
				gue_sport = (__u32)out[u] << 8 | out[u + 1];
				out[u] = out[u + 1] = 0;
			}
		}
		if (r->out == OUT_TOO_BIG)
			check_too_big(r, out, wlen);
		if (!ASSERT_TRUE(!memcmp(out, want, wlen), r->name))
			for (size_t i = 0; i < wlen; i++)
				if (out[i] != want[i])
					printf("#   byte %zu: got %02x want %02x\n", i, out[i],
					       want[i]);
	}
	if (!read_stats(&f, after))
		return;
	for (int i = 0; i < XGW_STAT__MAX; i++)
		if (!ASSERT_EQ(after[i] - before[i], i == r->stat, r->name))
			printf("#   xgw_stats[%d] of \"%s\"\n", i, r->name);
	read_flow(skel, &fk, &flow, &entropy);
	if (!ASSERT_EQ(flow, r->flow_after, r->name))
		printf("#   flow entry of \"%s\"\n", r->name);
	/* The entropy the encapsulation used is the flow's, recorded when the
	 * packet made the entry (a preset entry's, when it hit one). */
	if (r->out == OUT_ENCAP && (r->underlay == 6 || r->gue)) {
		__u32 want_e = r->flow >= 0 ? PRESET_ENTROPY : entropy;

		if (r->flow < 0)
			ASSERT_NEQ(entropy, 0, "entropy recorded with the flow");
		if (r->flow_e0) { /* computed per packet; the entry is not written */
			ASSERT_EQ(entropy, 0, "an entry without entropy stays so");
			ASSERT_NEQ(label, 0, "flow label computed");
			want_e = label;
		}
		if (r->underlay == 6)
			ASSERT_EQ(label, want_e & 0xfffff, "flow label: the flow's entropy");
		if (r->gue)
			ASSERT_EQ(gue_sport, 0xc000 | (want_e & 0x3fff),
				  "gue source port: the flow's entropy");
	} else if (r->underlay != 6 && !r->gue && r->flow < 0 && flow >= 0) {
		ASSERT_EQ(entropy, 0, "no entropy recorded: the encapsulation has none");
	}
}

static bool setup_l4_skel(struct xdp_lb *skel)
{
	struct xgw_ip gw4, gw6;

	return skel && add_addr(skel, AF_INET, GW4, &gw4) && add_addr(skel, AF_INET6, GW6, &gw6) &&
	       add_listener(skel, &gw4, 80, IPPROTO_TCP, ID_TCP80) &&
	       add_listener(skel, &gw4, 443, IPPROTO_UDP, ID_UDP443) &&
	       add_listener(skel, &gw4, 443, IPPROTO_TCP, ID_TCP443) &&
	       add_listener(skel, &gw6, 80, IPPROTO_TCP, ID_V6_TCP80);
}

TEST(xdp_l4_table)
{
	struct l4_fixture lf = {};

	lf.f.ncpus = libbpf_num_possible_cpus();
	lf.ipip = open_l4(false, 0);
	lf.gue = open_l4(true, 1000);
	if (!setup_l4_skel(lf.ipip) || !setup_l4_skel(lf.gue))
		goto out;
	for (size_t i = 0; i < sizeof(l4_rows) / sizeof(l4_rows[0]); i++)
		run_l4_row(&lf, &l4_rows[i]);
out:
	xdp_lb__destroy(lf.ipip);
	xdp_lb__destroy(lf.gue);
}

/* Runs a packet of <spec> through <skel>: its verdict, or -1. */
static int run_spec(struct xdp_lb *skel, const struct pkt_spec *spec)
{
	__u8 pkt[512], out[512 + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	opts.data_size_in = build(spec, pkt);
	if (!ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xgw_xdp_lb), &opts),
		       "run"))
		return -1;
	return (int)opts.retval;
}

/*
 * A flow is keyed by its listener's token, not by the listener's address and
 * port: one client address and port (CLIENT4:40000) to three listeners (TCP
 * 80, TCP 443, UDP 443) makes three flows, each with its own owner.
 */
TEST(xdp_l4_flow_per_listener)
{
	static const struct l4_row r = {
		"per listener", { .tcp_flags = 0x10 }, .ring = SELF, .prev = -1, .flow = -1
	};
	const struct pkt_spec tcp80 = { .tcp_flags = 0x10 },
			      tcp443 = { .tcp_flags = 0x10, .dport = 443 },
			      udp443 = { .proto = IPPROTO_UDP, .dport = 443 };
	struct xgw_flow_key k80, k443, ku443;
	struct xgw_flow_val remote = { .node = N1, .entropy = PRESET_ENTROPY };
	struct xdp_lb *skel = open_l4(false, 0);
	__u32 entropy;
	int node;

	if (!setup_l4_skel(skel) || !l4_program(skel, &r))
		goto out;
	flow_key_of(skel, &tcp80, &k80);
	flow_key_of(skel, &tcp443, &k443);
	flow_key_of(skel, &udp443, &ku443);
	ASSERT_TRUE(k80.listener && k443.listener && ku443.listener &&
			    k80.listener != k443.listener && k443.listener != ku443.listener,
		    "three listeners, three tokens");
	/* TCP 80's flow lives on node 1; the ring gives new flows to this node. */
	if (!ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_flows, &k80, sizeof(k80), &remote,
					    sizeof(remote), BPF_ANY),
		       "preset flow"))
		goto out;
	ASSERT_EQ(run_spec(skel, &tcp443), XDP_PASS, "tcp 443: by the ring, local");
	read_flow(skel, &k443, &node, &entropy);
	ASSERT_EQ(node, SELF, "tcp 443: its own entry");
	ASSERT_EQ(run_spec(skel, &tcp80), XDP_TX, "tcp 80: its entry, node 1");
	read_flow(skel, &k80, &node, &entropy);
	ASSERT_EQ(node, N1, "tcp 80: entry kept");

	/* Now TCP 443's flow is node 1's: UDP 443 keeps its own. */
	if (!ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_flows, &k443, sizeof(k443), &remote,
					    sizeof(remote), BPF_ANY),
		       "move tcp 443"))
		goto out;
	ASSERT_EQ(run_spec(skel, &udp443), XDP_PASS, "udp 443: by the ring, local");
	read_flow(skel, &ku443, &node, &entropy);
	ASSERT_EQ(node, SELF, "udp 443: its own entry");
	ASSERT_EQ(run_spec(skel, &tcp443), XDP_TX, "tcp 443: its entry, node 1");
out:
	xdp_lb__destroy(skel);
}

/*
 * Second chance must not move a flow that has a socket here. In a private
 * network namespace: an established connection CLIENT4:40000 -> GW4:80 on
 * loopback, then its ACK with the ring giving the flow to this node and the
 * previous ring to node 2: it stays local. (Without a socket the same ACK
 * goes to node 2: "l4 second chance: ack, no socket, previous owner".)
 */
TEST(xdp_l4_second_chance_with_socket)
{
	static const struct l4_row r = {
		"socket", { .tcp_flags = 0x10 }, .ring = SELF, .prev = N2, .flow = -1
	};
	static const struct l4_row r_remote = {
		"socket, ring elsewhere", { .tcp_flags = 0x10 }, .ring = N1, .prev = N2, .flow = -1
	};
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct sockaddr_in ca = { .sin_family = AF_INET, .sin_port = htons(40000) };
	__u64 before[XGW_STAT__MAX], after[XGW_STAT__MAX];
	int lfd = -1, cfd = -1, one = 1;
	struct xdp_lb *skel = NULL;
	struct fixture f = {};
	__u8 pkt[512];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt);

	if (!ASSERT_OK(unshare(CLONE_NEWNET), "unshare netns"))
		return;
	if (!ASSERT_OK(system("ip link set lo up && ip addr add " GW4 "/32 dev lo && "
			      "ip addr add " CLIENT4 "/32 dev lo"),
		       "addresses"))
		return;
	inet_pton(AF_INET, GW4, &la.sin_addr);
	inet_pton(AF_INET, CLIENT4, &ca.sin_addr);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ASSERT_GE(lfd, 0, "socket") || !ASSERT_GE(cfd, 0, "socket"))
		goto out;
	setsockopt(cfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!ASSERT_OK(bind(lfd, (void *)&la, sizeof(la)), "bind listener") ||
	    !ASSERT_OK(listen(lfd, 4), "listen") ||
	    !ASSERT_OK(bind(cfd, (void *)&ca, sizeof(ca)), "bind client") ||
	    !ASSERT_OK(connect(cfd, (void *)&la, sizeof(la)), "connect"))
		goto out;

	f.ncpus = libbpf_num_possible_cpus();
	f.skel = skel = open_l4(false, 0);
	if (!setup_l4_skel(skel) || !l4_program(skel, &r))
		goto out;
	opts.data_size_in = build(&r.spec, pkt);
	if (!read_stats(&f, before) ||
	    !ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xgw_xdp_lb), &opts),
		       "run") ||
	    !read_stats(&f, after))
		goto out;
	ASSERT_EQ(opts.retval, XDP_PASS, "socket here: stays");
	ASSERT_EQ(after[XGW_STAT_PASS_LISTENER] - before[XGW_STAT_PASS_LISTENER], 1, "local");

	/* The ring now names another node (ECMP brought the flow back to its
	 * owner after a ring change): the socket still wins. */
	if (!l4_program(skel, &r_remote) || !read_stats(&f, before) ||
	    !ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xgw_xdp_lb), &opts),
		       "run") ||
	    !read_stats(&f, after))
		goto out;
	ASSERT_EQ(opts.retval, XDP_PASS, "socket here, ring elsewhere: stays");
	ASSERT_EQ(after[XGW_STAT_PASS_LISTENER] - before[XGW_STAT_PASS_LISTENER], 1, "local too");

out:
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	xdp_lb__destroy(skel);
}

/*
 * An interface whose ifindex is past xgw_nh_direct has its next hop in the
 * xgw_nexthops hash. In a private network namespace, an interface of
 * ifindex 5000 (a veth) receives a packet of a flow owned by node 1: encapsulated to
 * the next hop's MAC with the hash entry, back to the sender's without.
 */
TEST(xdp_l4_nexthop_large_ifindex)
{
	static const struct l4_row r = {
		"large ifindex", {}, .ring = N1, .prev = -1, .flow = -1,
	};
	struct xgw_nexthop nh = { .flags = XGW_NEXTHOP_F_SET };
	__u32 ifindex = 5000;
	struct xdp_md ctx = { .ingress_ifindex = ifindex };
	struct xdp_lb *skel = NULL;
	__u8 pkt[512], out[600];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_out = out, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));

	_Static_assert(XGW_NH_DIRECT <= 5000, "ifindex 5000 is past xgw_nh_direct");
	if (!ASSERT_OK(unshare(CLONE_NEWNET), "unshare netns") ||
	    !ASSERT_OK(system("ip link add xgwnh0 index 5000 type veth peer name xgwnh1 && ip link "
			      "set xgwnh0 up"),
		       "veth of ifindex 5000"))
		return;
	skel = open_l4(false, 0);
	if (!setup_l4_skel(skel) || !l4_program(skel, &r))
		goto out;
	memcpy(nh.mac, NEXTHOP_MAC, ETH_ALEN);
	opts.data_size_in = build(&r.spec, pkt);
	ctx.data_end = opts.data_size_in;
	for (int with = 1; with >= 0; with--) {
		if (with &&
		    !ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_nexthops, &ifindex,
						    sizeof(ifindex), &nh, sizeof(nh), BPF_ANY),
			       "xgw_nexthops"))
			goto out;
		if (!with)
			bpf_map__delete_elem(skel->maps.xgw_nexthops, &ifindex, sizeof(ifindex), 0);
		clear_flows(skel);
		opts.data_size_out = sizeof(out);
		if (!ASSERT_OK(
			    bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xgw_xdp_lb), &opts),
			    "run"))
			goto out;
		ASSERT_EQ(opts.retval, XDP_TX, "encapsulated to node 1");
		ASSERT_EQ(opts.data_size_out, opts.data_size_in + 20, "an IPIP header more");
		if (with)
			ASSERT_TRUE(!memcmp(out, NEXTHOP_MAC, ETH_ALEN),
				    "to the next hop in the hash");
		else
			ASSERT_TRUE(!memcmp(out, pkt + ETH_ALEN, ETH_ALEN),
				    "without: to the sender");
	}
out:
	xdp_lb__destroy(skel);
}

/* 16-bit one's-complement sum of a TCP segment with its pseudo-header: 0 when valid. */
TEST_MAIN()
