/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the xdp_lb tests share: a packet builder (Ethernet, VLAN, IPv4 with
 * options, IPv6 with extension headers, TCP/UDP/ICMP, ARP, truncations) and
 * the fixture that loads the skeleton unpinned and reads its counters.
 */
#ifndef XGW_TEST_XDP_COMMON_H
#define XGW_TEST_XDP_COMMON_H

#include <arpa/inet.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdp_lb.skel.h"
#include "xgw/abi/maps.h"

#include "test.h"

#define GW4 "10.1.0.1"
#define GW6 "fd00::1"
#define FOREIGN4 "10.9.9.9"
#define CLIENT4 "10.1.1.2"
#define CLIENT6 "fd00::1:2"

enum {
	ID_TCP80 = 1,
	ID_UDP443 = 2,
	ID_TCP443 = 3,
	ID_V6_TCP80 = 4
};

/* How a table row's packet is built; the zero value is an IPv4 TCP SYN to GW4:80. */
struct pkt_spec {
	int family;	   /* 4 (default), 6, or -1 for ARP */
	__u16 vlan[2];	   /* TPIDs of the tags to push, 0 = none */
	const char *dst;   /* default: GW4 or GW6 */
	__u8 proto;	   /* default: IPPROTO_TCP */
	__u16 dport;	   /* default: 80 */
	__u8 tcp_flags;	   /* default: SYN */
	int ip_opts;	   /* IPv4 option bytes, a multiple of 4 */
	int ihl;	   /* overrides the IPv4 IHL when non-zero */
	int doff;	   /* overrides the TCP data offset when non-zero */
	__u16 frag_off;	   /* IPv4 frag_off (host order) / IPv6 fragment header offset field */
	bool v6_frag;	   /* push an IPv6 fragment header */
	bool v6_dstopts;   /* push an IPv6 destination-options header (16 bytes) */
	bool v6_hopopts;   /* push an IPv6 hop-by-hop header (8 bytes) */
	int cut;	   /* bytes removed from the end; IP lengths follow */
	int frame_len;	   /* if non-zero, the frame is cut here; IP lengths do not follow */
	int tot_len_extra; /* added to the IPv4 total length / IPv6 payload length */
	int payload;	   /* extra payload bytes after the L4 header */
};

struct pb {
	__u8 *buf;
	size_t len;
};

static inline void *pb_put(struct pb *b, size_t n)
{
	void *p = b->buf + b->len;

	memset(p, 0, n);
	b->len += n;
	return p;
}

static inline void put_eth(struct pb *b, __u16 proto)
{
	struct ethhdr *eth = pb_put(b, sizeof(*eth));

	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	eth->h_proto = htons(proto);
}

/* Rewrites the ethertype just written to <tpid> and appends a tag carrying <proto>. */
static inline void put_vlan(struct pb *b, __u16 tpid, __u16 proto, __u16 vid)
{
	__be16 *hdr;

	*(__be16 *)(b->buf + b->len - 2) = htons(tpid);
	hdr = pb_put(b, 4);
	hdr[0] = htons(vid);
	hdr[1] = htons(proto);
}

static inline struct iphdr *put_ipv4(struct pb *b, const struct pkt_spec *s, const char *dst)
{
	struct iphdr *iph = pb_put(b, sizeof(*iph) + s->ip_opts);

	iph->version = 4;
	iph->ihl = s->ihl ? s->ihl : (int)(sizeof(*iph) + s->ip_opts) / 4;
	iph->ttl = 64;
	iph->protocol = s->proto;
	iph->frag_off = htons(s->frag_off);
	inet_pton(AF_INET, CLIENT4, &iph->saddr);
	inet_pton(AF_INET, dst, &iph->daddr);
	/* NOPs then an end-of-options byte, as a router-alert-free filler. */
	memset(iph + 1, 1, s->ip_opts);
	if (s->ip_opts)
		((__u8 *)(iph + 1))[s->ip_opts - 1] = 0;
	return iph;
}

static inline struct ipv6hdr *put_ipv6(struct pb *b, const char *dst, __u8 nexthdr)
{
	struct ipv6hdr *ip6h = pb_put(b, sizeof(*ip6h));

	ip6h->version = 6;
	ip6h->nexthdr = nexthdr;
	ip6h->hop_limit = 64;
	inet_pton(AF_INET6, CLIENT6, &ip6h->saddr);
	inet_pton(AF_INET6, dst, &ip6h->daddr);
	return ip6h;
}

/* An options header of <len> bytes (a multiple of 8) padded with PadN. */
static inline __u8 *put_ipv6_opts(struct pb *b, size_t len)
{
	__u8 *h = pb_put(b, len);

	h[1] = len / 8 - 1;
	h[2] = 1; /* PadN */
	h[3] = len - 4;
	return h;
}

static inline __u8 *put_ipv6_frag(struct pb *b, __u16 frag_off)
{
	__u8 *h = pb_put(b, 8);

	*(__be16 *)(h + 2) = htons(frag_off);
	*(__be32 *)(h + 4) = htonl(0x1234);
	return h;
}

static inline void put_l4(struct pb *b, const struct pkt_spec *s)
{
	if (s->proto == IPPROTO_TCP) {
		struct tcphdr *th = pb_put(b, sizeof(*th));

		th->source = htons(40000);
		th->dest = htons(s->dport);
		th->doff = s->doff ? s->doff : 5;
		((__u8 *)th)[13] = s->tcp_flags;
		th->window = htons(65535);
	} else if (s->proto == IPPROTO_UDP) {
		struct udphdr *uh = pb_put(b, sizeof(*uh));

		uh->source = htons(40000);
		uh->dest = htons(s->dport);
		uh->len = htons(sizeof(*uh) + 4);
	} else {
		__u8 *icmp = pb_put(b, 8);

		icmp[0] = s->family == 6 ? 128 : 8; /* echo request */
	}
	memcpy(pb_put(b, 4), "xgw!", 4);
	memset(pb_put(b, s->payload), 0x5a, s->payload);
}

static inline void put_arp(struct pb *b)
{
	__u8 *arp = pb_put(b, 28);

	memcpy(arp, "\x00\x01\x08\x00\x06\x04\x00\x01", 8); /* Ethernet/IPv4 request */
	inet_pton(AF_INET, CLIENT4, arp + 14);
	inet_pton(AF_INET, GW4, arp + 24);
}

/* Builds the packet of <s> into <buf>; returns its length. */
static inline size_t build(const struct pkt_spec *s_in, __u8 *buf)
{
	struct pkt_spec s = *s_in;
	struct pb b = { .buf = buf };
	size_t l3_off, l3_hlen;
	__u16 l3_proto;
	int nvlan = 0;

	if (!s.family)
		s.family = 4;
	if (!s.proto)
		s.proto = IPPROTO_TCP;
	if (!s.dport)
		s.dport = 80;
	if (!s.tcp_flags)
		s.tcp_flags = 0x02;
	if (!s.dst)
		s.dst = s.family == 6 ? GW6 : GW4;
	l3_proto = s.family == -1 ? ETH_P_ARP : s.family == 6 ? ETH_P_IPV6 : ETH_P_IP;

	put_eth(&b, l3_proto);
	for (; nvlan < 2 && s.vlan[nvlan]; nvlan++)
		put_vlan(&b, s.vlan[nvlan], l3_proto, 100 + nvlan);
	l3_off = b.len;

	if (s.family == -1) {
		put_arp(&b);
		return b.len;
	}
	if (s.family == 4) {
		put_ipv4(&b, &s, s.dst);
		l3_hlen = b.len - l3_off;
	} else {
		__u8 *prev = &put_ipv6(&b, s.dst, s.proto)->nexthdr;

		l3_hlen = sizeof(struct ipv6hdr);
		if (s.v6_hopopts) {
			*prev = IPPROTO_HOPOPTS;
			prev = put_ipv6_opts(&b, 8);
			*prev = s.proto;
		}
		if (s.v6_dstopts) {
			*prev = IPPROTO_DSTOPTS;
			prev = put_ipv6_opts(&b, 16);
			*prev = s.proto;
		}
		if (s.v6_frag) {
			*prev = IPPROTO_FRAGMENT;
			prev = put_ipv6_frag(&b, s.frag_off);
			*prev = s.proto;
		}
	}
	put_l4(&b, &s);

	b.len -= s.cut;
	if (b.len >= l3_off + l3_hlen) {
		size_t l3_len = b.len - l3_off;

		if (s.family == 4) {
			struct iphdr *iph = (void *)(buf + l3_off);

			iph->tot_len = htons(l3_len + s.tot_len_extra);
		} else {
			struct ipv6hdr *ip6h = (void *)(buf + l3_off);

			ip6h->payload_len = htons(l3_len - sizeof(*ip6h) + s.tot_len_extra);
		}
	}
	if (s.frame_len)
		b.len = s.frame_len;
	return b.len;
}

#define ETH_VLAN (ETH_HLEN + 4)

struct fixture {
	struct xdp_lb *skel;
	int ncpus;
};

/* Opens and loads the skeleton with every map's pinning turned off. */
static inline struct xdp_lb *open_unpinned(void)
{
	struct xdp_lb *skel;
	struct bpf_map *map;

	skel = xdp_lb__open();
	if (!ASSERT_OK_PTR(skel, "xdp_lb__open"))
		return NULL;
	bpf_object__for_each_map(map, skel->obj)
	{
		if (!ASSERT_OK(bpf_map__set_pin_path(map, NULL), bpf_map__name(map)))
			goto err;
	}
	if (!ASSERT_OK(xdp_lb__load(skel), "xdp_lb__load"))
		goto err;
	return skel;
err:
	xdp_lb__destroy(skel);
	return NULL;
}

static inline bool add_addr(struct xdp_lb *skel, int af, const char *ip, struct xgw_ip *out)
{
	struct xgw_addr_val val = {};
	struct xgw_ip key = {};

	key.family = af == AF_INET ? XGW_FAMILY_IPV4 : XGW_FAMILY_IPV6;
	if (!ASSERT_EQ(inet_pton(af, ip, key.addr), 1, ip))
		return false;
	if (out)
		*out = key;
	return ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_addrs, &key, sizeof(key), &val,
					      sizeof(val), BPF_ANY),
			 "update xgw_addrs");
}

static inline bool add_listener(struct xdp_lb *skel, const struct xgw_ip *ip, __u16 port,
				__u8 proto, __u32 id)
{
	struct xgw_listener_key key = { .ip = *ip, .port = htons(port), .proto = proto };
	/* A flow token unlike the id, as the agent's are. */
	struct xgw_listener_val val = { .id = id, .flow_token = id ^ 0x7e570000u };

	return ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_listeners, &key, sizeof(key), &val,
					      sizeof(val), BPF_ANY),
			 "update xgw_listeners");
}

static inline bool setup(struct fixture *f)
{
	struct xgw_ip gw4, gw6;

	f->ncpus = libbpf_num_possible_cpus();
	if (!ASSERT_GT(f->ncpus, 0, "libbpf_num_possible_cpus"))
		return false;
	f->skel = open_unpinned();
	if (!f->skel)
		return false;
	return add_addr(f->skel, AF_INET, GW4, &gw4) && add_addr(f->skel, AF_INET6, GW6, &gw6) &&
	       add_listener(f->skel, &gw4, 80, IPPROTO_TCP, ID_TCP80) &&
	       add_listener(f->skel, &gw4, 443, IPPROTO_UDP, ID_UDP443) &&
	       add_listener(f->skel, &gw4, 443, IPPROTO_TCP, ID_TCP443) &&
	       add_listener(f->skel, &gw6, 80, IPPROTO_TCP, ID_V6_TCP80);
}

/* Sums a per-CPU entry of <map> into <out> (<n> __u64 fields per CPU). */
static inline bool read_percpu(const struct fixture *f, struct bpf_map *map, __u32 key, __u64 *out,
			       int n)
{
	__u64 vals[f->ncpus * n];

	if (!ASSERT_OK(bpf_map__lookup_elem(map, &key, sizeof(key), vals, sizeof(vals), 0),
		       bpf_map__name(map)))
		return false;
	memset(out, 0, n * sizeof(*out));
	for (int cpu = 0; cpu < f->ncpus; cpu++)
		for (int i = 0; i < n; i++)
			out[i] += vals[cpu * n + i];
	return true;
}

static inline bool read_stats(const struct fixture *f, __u64 stats[XGW_STAT__MAX])
{
	for (__u32 i = 0; i < XGW_STAT__MAX; i++)
		if (!read_percpu(f, f->skel->maps.xgw_stats, i, &stats[i], 1))
			return false;
	return true;
}

static inline bool read_lstats(const struct fixture *f, __u32 id, struct xgw_lstats_val *v)
{
	_Static_assert(sizeof(*v) == 3 * sizeof(__u64), "lstats is three counters");
	return read_percpu(f, f->skel->maps.xgw_lstats, id, (__u64 *)v, 3);
}

/* --- RFC 1071 checksums, written independently of the BPF code ---------- */

/* Sum of <len> bytes as big-endian words, not folded. */
static inline __u32 sum16(const __u8 *b, size_t len)
{
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

static inline __u16 fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The checksum of <len> (even) bytes, ready to store; 0 over a correct header. */
static inline __u16 csum16(const void *p, size_t len)
{
	return fold(sum16(p, len));
}

#endif /* XGW_TEST_XDP_COMMON_H */
