// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdp_lb under BPF_PROG_TEST_RUN: a table of packets, each with the verdict,
 * the one xgw_stats counter it must move and the per-listener counters it
 * must move. Pinning is disabled before load, so the test never touches the
 * production pins under XGW_PIN_DIR.
 */
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

struct row {
	const char *name;
	struct pkt_spec spec;
	int verdict;
	int stat;     /* the xgw_stats entry that counts the packet */
	int listener; /* xgw_lstats entry that counts it, 0 for none */
	bool syn;     /* ... as a SYN */
};

struct pb {
	__u8 *buf;
	size_t len;
};

static void *pb_put(struct pb *b, size_t n)
{
	void *p = b->buf + b->len;

	memset(p, 0, n);
	b->len += n;
	return p;
}

static void put_eth(struct pb *b, __u16 proto)
{
	struct ethhdr *eth = pb_put(b, sizeof(*eth));

	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	eth->h_proto = htons(proto);
}

/* Rewrites the ethertype just written to <tpid> and appends a tag carrying <proto>. */
static void put_vlan(struct pb *b, __u16 tpid, __u16 proto, __u16 vid)
{
	__be16 *hdr;

	*(__be16 *)(b->buf + b->len - 2) = htons(tpid);
	hdr = pb_put(b, 4);
	hdr[0] = htons(vid);
	hdr[1] = htons(proto);
}

static struct iphdr *put_ipv4(struct pb *b, const struct pkt_spec *s, const char *dst)
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

static struct ipv6hdr *put_ipv6(struct pb *b, const char *dst, __u8 nexthdr)
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
static __u8 *put_ipv6_opts(struct pb *b, size_t len)
{
	__u8 *h = pb_put(b, len);

	h[1] = len / 8 - 1;
	h[2] = 1; /* PadN */
	h[3] = len - 4;
	return h;
}

static __u8 *put_ipv6_frag(struct pb *b, __u16 frag_off)
{
	__u8 *h = pb_put(b, 8);

	*(__be16 *)(h + 2) = htons(frag_off);
	*(__be32 *)(h + 4) = htonl(0x1234);
	return h;
}

static void put_l4(struct pb *b, const struct pkt_spec *s)
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

static void put_arp(struct pb *b)
{
	__u8 *arp = pb_put(b, 28);

	memcpy(arp, "\x00\x01\x08\x00\x06\x04\x00\x01", 8); /* Ethernet/IPv4 request */
	inet_pton(AF_INET, CLIENT4, arp + 14);
	inet_pton(AF_INET, GW4, arp + 24);
}

/* Builds the packet of <s> into <buf>; returns its length. */
static size_t build(const struct pkt_spec *s_in, __u8 *buf)
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

static const struct row rows[] = {
	{ "v4 oversized packet passes unchanged",
	  { .payload = 1400 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_TCP80,
	  true },
	{ "v4 tcp syn to listener", {}, XDP_PASS, XGW_STAT_PASS_LISTENER, ID_TCP80, true },
	{ "v4 tcp ack to listener",
	  { .tcp_flags = 0x10 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_TCP80,
	  false },
	{ "v4 tcp synack is no syn",
	  { .tcp_flags = 0x12 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_TCP80,
	  false },
	{ "v4 tcp unlistened port", { .dport = 81 }, XDP_DROP, XGW_STAT_DROP_NO_LISTENER },
	{ "v4 foreign address", { .dst = FOREIGN4 }, XDP_PASS, XGW_STAT_PASS_FOREIGN },
	{ "v4 udp listener",
	  { .proto = IPPROTO_UDP, .dport = 443 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_UDP443 },
	{ "v4 tcp same port other listener",
	  { .dport = 443 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_TCP443,
	  true },
	{ "v4 udp on tcp-only port",
	  { .proto = IPPROTO_UDP, .dport = 80 },
	  XDP_DROP,
	  XGW_STAT_DROP_NO_LISTENER },
	{ "v4 options", { .ip_opts = 12 }, XDP_PASS, XGW_STAT_PASS_LISTENER, ID_TCP80, true },
	{ "v4 options unlistened",
	  { .ip_opts = 40, .dport = 81 },
	  XDP_DROP,
	  XGW_STAT_DROP_NO_LISTENER },
	{ "v4 icmp to gateway", { .proto = IPPROTO_ICMP }, XDP_PASS, XGW_STAT_PASS_OTHER_PROTO },
	{ "v4 first fragment",
	  { .frag_off = 0x2000 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_TCP80,
	  true },
	{ "v4 non-first fragment",
	  { .frag_off = 0x0010, .dport = 81 },
	  XDP_PASS,
	  XGW_STAT_PASS_FRAGMENT },
	{ "v4 truncated tcp header", { .cut = 14 }, XDP_DROP, XGW_STAT_DROP_MALFORMED },
	{ "v4 truncated udp header",
	  { .proto = IPPROTO_UDP, .dport = 443, .cut = 8 },
	  XDP_DROP,
	  XGW_STAT_DROP_MALFORMED },
	{ "v4 tcp header beyond total length",
	  { .tot_len_extra = -24 },
	  XDP_DROP,
	  XGW_STAT_DROP_MALFORMED },
	{ "v4 total length beyond frame",
	  { .tot_len_extra = 100 },
	  XDP_DROP,
	  XGW_STAT_DROP_MALFORMED },
	{ "v4 total length beyond frame foreign",
	  { .dst = FOREIGN4, .tot_len_extra = 100 },
	  XDP_PASS,
	  XGW_STAT_PASS_FOREIGN },
	{ "v4 truncated ip header",
	  { .frame_len = ETH_HLEN + 19 },
	  XDP_PASS,
	  XGW_STAT_PASS_MALFORMED },
	{ "v4 bad ihl to gateway", { .ihl = 4 }, XDP_DROP, XGW_STAT_DROP_MALFORMED },
	{ "v4 bad ihl foreign", { .ihl = 4, .dst = FOREIGN4 }, XDP_PASS, XGW_STAT_PASS_FOREIGN },
	{ "v4 ihl beyond total length", { .ihl = 15 }, XDP_DROP, XGW_STAT_DROP_MALFORMED },
	{ "v4 tcp data offset too small", { .doff = 4 }, XDP_DROP, XGW_STAT_DROP_MALFORMED },
	{ "v4 tcp data offset beyond packet", { .doff = 15 }, XDP_DROP, XGW_STAT_DROP_MALFORMED },
	{ "v4 tcp data offset with options",
	  { .doff = 6 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_TCP80,
	  true },
	{ "vlan 802.1q",
	  { .vlan = { ETH_P_8021Q } },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_TCP80,
	  true },
	{ "vlan qinq",
	  { .vlan = { ETH_P_8021AD, ETH_P_8021Q } },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_TCP80,
	  true },
	{ "vlan qinq unlistened",
	  { .vlan = { ETH_P_8021AD, ETH_P_8021Q }, .dport = 81 },
	  XDP_DROP,
	  XGW_STAT_DROP_NO_LISTENER },
	{ "vlan qinq v6",
	  { .family = 6, .vlan = { ETH_P_8021AD, ETH_P_8021Q } },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_V6_TCP80,
	  true },
	{ "vlan truncated tag",
	  { .vlan = { ETH_P_8021Q }, .frame_len = ETH_HLEN + 2 },
	  XDP_PASS,
	  XGW_STAT_PASS_MALFORMED },
	{ "vlan truncated inner tag",
	  { .vlan = { ETH_P_8021AD, ETH_P_8021Q }, .frame_len = ETH_VLAN + 3 },
	  XDP_PASS,
	  XGW_STAT_PASS_MALFORMED },
	{ "eth only, no payload",
	  { .family = -1, .frame_len = ETH_HLEN },
	  XDP_PASS,
	  XGW_STAT_PASS_NOT_IP },
	{ "eth ipv4 without header", { .frame_len = ETH_HLEN }, XDP_PASS, XGW_STAT_PASS_MALFORMED },
	{ "arp", { .family = -1 }, XDP_PASS, XGW_STAT_PASS_NOT_IP },
	{ "v6 tcp syn to listener",
	  { .family = 6 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_V6_TCP80,
	  true },
	{ "v6 tcp unlistened port",
	  { .family = 6, .dport = 443 },
	  XDP_DROP,
	  XGW_STAT_DROP_NO_LISTENER },
	{ "v6 udp unlistened",
	  { .family = 6, .proto = IPPROTO_UDP },
	  XDP_DROP,
	  XGW_STAT_DROP_NO_LISTENER },
	{ "v6 foreign address",
	  { .family = 6, .dst = "fd00::99" },
	  XDP_PASS,
	  XGW_STAT_PASS_FOREIGN },
	{ "v6 v4 gateway bytes are not v6",
	  { .family = 6, .dst = "a01:1::" },
	  XDP_PASS,
	  XGW_STAT_PASS_FOREIGN },
	{ "v6 icmp to gateway",
	  { .family = 6, .proto = IPPROTO_ICMPV6 },
	  XDP_PASS,
	  XGW_STAT_PASS_OTHER_PROTO },
	{ "v6 dstopts",
	  { .family = 6, .v6_dstopts = true },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_V6_TCP80,
	  true },
	{ "v6 hopopts dstopts unlistened",
	  { .family = 6, .v6_hopopts = true, .v6_dstopts = true, .dport = 81 },
	  XDP_DROP,
	  XGW_STAT_DROP_NO_LISTENER },
	{ "v6 first fragment",
	  { .family = 6, .v6_frag = true, .frag_off = 1 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_V6_TCP80,
	  true },
	{ "v6 non-first fragment",
	  { .family = 6, .v6_frag = true, .frag_off = 0x0100 },
	  XDP_PASS,
	  XGW_STAT_PASS_FRAGMENT },
	{ "v6 truncated ext header",
	  { .family = 6, .v6_dstopts = true, .cut = 26 },
	  XDP_DROP,
	  XGW_STAT_DROP_MALFORMED },
	{ "v6 truncated tcp header",
	  { .family = 6, .cut = 10 },
	  XDP_DROP,
	  XGW_STAT_DROP_MALFORMED },
	{ "v6 payload beyond frame",
	  { .family = 6, .tot_len_extra = 1 },
	  XDP_DROP,
	  XGW_STAT_DROP_MALFORMED },
	{ "v6 truncated header",
	  { .family = 6, .frame_len = ETH_HLEN + 39 },
	  XDP_PASS,
	  XGW_STAT_PASS_MALFORMED },
};

struct fixture {
	struct xdp_lb *skel;
	int ncpus;
};

/* Opens and loads the skeleton with every map's pinning turned off. */
static struct xdp_lb *open_unpinned(void)
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

static bool add_addr(struct xdp_lb *skel, int af, const char *ip, struct xgw_ip *out)
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

static bool add_listener(struct xdp_lb *skel, const struct xgw_ip *ip, __u16 port, __u8 proto,
			 __u32 id)
{
	struct xgw_listener_key key = { .ip = *ip, .port = htons(port), .proto = proto };
	struct xgw_listener_val val = { .id = id };

	return ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_listeners, &key, sizeof(key), &val,
					      sizeof(val), BPF_ANY),
			 "update xgw_listeners");
}

static bool setup(struct fixture *f)
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
static bool read_percpu(const struct fixture *f, struct bpf_map *map, __u32 key, __u64 *out, int n)
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

static bool read_stats(const struct fixture *f, __u64 stats[XGW_STAT__MAX])
{
	for (__u32 i = 0; i < XGW_STAT__MAX; i++)
		if (!read_percpu(f, f->skel->maps.xgw_stats, i, &stats[i], 1))
			return false;
	return true;
}

static bool read_lstats(const struct fixture *f, __u32 id, struct xgw_lstats_val *v)
{
	_Static_assert(sizeof(*v) == 3 * sizeof(__u64), "lstats is three counters");
	return read_percpu(f, f->skel->maps.xgw_lstats, id, (__u64 *)v, 3);
}

#define ID_MAX 5

static void run_row(const struct fixture *f, const struct row *r)
{
	__u64 before[XGW_STAT__MAX], after[XGW_STAT__MAX];
	struct xgw_lstats_val lb[ID_MAX], la[ID_MAX];
	__u8 pkt[2048], out[2048 + 64];
	size_t len = build(&r->spec, pkt);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	int err;

	if (!read_stats(f, before))
		return;
	for (__u32 id = 0; id < ID_MAX; id++)
		if (!read_lstats(f, id, &lb[id]))
			return;

	err = bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.xgw_xdp_lb), &opts);
	if (!ASSERT_OK(err, r->name))
		return;
	if (!ASSERT_EQ(opts.retval, r->verdict, r->name))
		printf("#   verdict of \"%s\"\n", r->name);
	if (r->verdict == XDP_PASS) {
		ASSERT_EQ(opts.data_size_out, len, r->name);
		ASSERT_TRUE(!memcmp(out, pkt, len), r->name);
	}

	if (!read_stats(f, after))
		return;
	for (int i = 0; i < XGW_STAT__MAX; i++)
		if (!ASSERT_EQ(after[i] - before[i], i == r->stat, r->name))
			printf("#   xgw_stats[%d] of \"%s\"\n", i, r->name);

	for (__u32 id = 0; id < ID_MAX; id++) {
		bool hit = id == (__u32)r->listener && r->listener;

		if (!read_lstats(f, id, &la[id]))
			return;
		if (!ASSERT_EQ(la[id].packets - lb[id].packets, hit, r->name) ||
		    !ASSERT_EQ(la[id].bytes - lb[id].bytes, hit ? len : 0, r->name) ||
		    !ASSERT_EQ(la[id].syns - lb[id].syns, hit && r->syn, r->name))
			printf("#   xgw_lstats[%u] of \"%s\"\n", id, r->name);
	}
}

TEST(xdp_lb_table)
{
	struct fixture f = {};

	if (!setup(&f))
		goto out;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&f, &rows[i]);
out:
	xdp_lb__destroy(f.skel);
}

/* An empty xgw_addrs: the program must pass every IP packet as foreign. */
TEST(xdp_lb_no_addrs_passes_all)
{
	static const struct pkt_spec specs[] = { {}, { .family = 6 }, { .dport = 81 } };
	struct fixture f = {};
	__u64 before[XGW_STAT__MAX], after[XGW_STAT__MAX];

	f.ncpus = libbpf_num_possible_cpus();
	f.skel = open_unpinned();
	if (!f.skel || !read_stats(&f, before))
		goto out;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		__u8 pkt[512];
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
			    .data_size_in = build(&specs[i], pkt));

		if (!ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(f.skel->progs.xgw_xdp_lb),
						      &opts),
			       "test_run"))
			goto out;
		ASSERT_EQ(opts.retval, XDP_PASS, "verdict");
	}
	if (!read_stats(&f, after))
		goto out;
	ASSERT_EQ(after[XGW_STAT_PASS_FOREIGN] - before[XGW_STAT_PASS_FOREIGN], 3, "foreign");
out:
	xdp_lb__destroy(f.skel);
}

/* The kernel refuses frames shorter than Ethernet before the program runs. */
TEST(xdp_lb_runt_frame)
{
	struct fixture f = {};
	__u8 pkt[ETH_HLEN] = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = ETH_HLEN - 1);
	int err;

	f.skel = open_unpinned();
	if (!f.skel)
		goto out;
	err = bpf_prog_test_run_opts(bpf_program__fd(f.skel->progs.xgw_xdp_lb), &opts);
	ASSERT_EQ(err, -EINVAL, "runt frame");
out:
	xdp_lb__destroy(f.skel);
}

/* Pinning is off in the tests: nothing may appear under the production pin dir. */
TEST(xdp_lb_maps_unpinned)
{
	struct xdp_lb *skel = open_unpinned();
	struct bpf_map *map;

	if (!skel)
		return;
	bpf_object__for_each_map(map, skel->obj)
	{
		ASSERT_FALSE(bpf_map__is_pinned(map), bpf_map__name(map));
		ASSERT_TRUE(bpf_map__pin_path(map) == NULL, bpf_map__name(map));
	}
	xdp_lb__destroy(skel);
}

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
};

struct l4_row {
	const char *name;
	struct pkt_spec spec;
	int underlay; /* 4 (default) or 6 */
	bool gue;     /* the GUE skeleton */
	int ring;     /* node owning every slot of the current ring */
	int prev;     /* ... of the previous ring; -1: no previous ring */
	int flow;     /* flow table entry before the packet: -1 none */
	bool no_ring; /* the listener carries no ring (single-node listener) */
	bool nexthop; /* an xgw_nexthops entry for the ingress interface */
	int mtu;      /* cfg_encap_mtu when non-zero (GUE skeleton only) */
	enum in_kind in;
	int verdict;
	int stat;
	enum out_kind out;
	int out_node;
	int flow_after; /* flow table entry after: -1 none */
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
	  .nexthop = true,
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
	{ "l4 too big once encapsulated",
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
	{ "l4 fits the mtu exactly",
	  { .payload = 1000 - 20 - 8 - 20 - 20 - 4 },
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
		bpf_map__delete_elem(skel->maps.xgw_flows, &k, sizeof(k), 0);
}

/* Programs <skel> for row <r>: config, nodes, rings, listeners' ring fields. */
static bool l4_program(struct xdp_lb *skel, const struct l4_row *r)
{
	const char *const *nodes = r->underlay == 6 ? node6 : node4;
	struct xgw_l4_config cfg = { .flags = XGW_L4_F_ENABLED, .self = SELF };
	struct xgw_listener_key lk;
	struct xgw_listener_val lv;
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
	/* Every listener of setup(): ring 0, previous ring 1 (or none). */
	memset(&lk, 0, sizeof(lk));
	while (!bpf_map__get_next_key(skel->maps.xgw_listeners, &lk, &lk, sizeof(lk)) ||
	       !lk.proto) {
		if (!lk.proto &&
		    bpf_map__get_next_key(skel->maps.xgw_listeners, NULL, &lk, sizeof(lk)))
			break;
		if (bpf_map__lookup_elem(skel->maps.xgw_listeners, &lk, sizeof(lk), &lv, sizeof(lv),
					 0))
			return false;
		lv.flags = r->no_ring ? 0 : XGW_LISTENER_F_RING;
		lv.ring = 0;
		lv.prev_ring = r->prev < 0 ? 0 : 1;
		bpf_map__update_elem(skel->maps.xgw_listeners, &lk, sizeof(lk), &lv, sizeof(lv),
				     BPF_EXIST);
	}
	bpf_map__delete_elem(skel->maps.xgw_nexthops, &ifindex, sizeof(ifindex), 0);
	if (r->nexthop) {
		memcpy(nh.mac, NEXTHOP_MAC, ETH_ALEN);
		if (!ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_nexthops, &ifindex,
						    sizeof(ifindex), &nh, sizeof(nh), BPF_ANY),
			       "xgw_nexthops"))
			return false;
	}
	clear_flows(skel);
	return true;
}

/* The flow key of a packet built from <s> (TCP/UDP to the default ports). */
static void flow_key_of(const struct pkt_spec *s, struct xgw_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	if (s->family == 6) {
		k->family = XGW_FAMILY_IPV6;
		inet_pton(AF_INET6, CLIENT6, k->src);
		inet_pton(AF_INET6, s->dst ? s->dst : GW6, k->dst);
	} else {
		k->family = XGW_FAMILY_IPV4;
		inet_pton(AF_INET, CLIENT4, k->src);
		inet_pton(AF_INET, s->dst ? s->dst : GW4, k->dst);
	}
	k->proto = s->proto ? s->proto : IPPROTO_TCP;
	k->sport = htons(40000);
	k->dport = htons(s->dport ? s->dport : 80);
}

static __u16 csum16(const void *p, size_t len)
{
	const __u8 *b = p;
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
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

/* Sum of <len> bytes as big-endian words, not folded. */
static __u32 sum16(const __u8 *b, size_t len)
{
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

static __u16 fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
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

static bool read_flow(struct xdp_lb *skel, const struct xgw_flow_key *k, int *node)
{
	struct xgw_flow_val v;

	*node = -1;
	if (bpf_map__lookup_elem(skel->maps.xgw_flows, k, sizeof(*k), &v, sizeof(v), 0))
		return true;
	*node = (int)v.node;
	return ASSERT_EQ(v.pad, 0, "flow pad");
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
	int flow;

	f.skel = skel;
	if (r->mtu && !ASSERT_TRUE(r->gue, "mtu rows use the gue skeleton"))
		return;
	if (!l4_program(skel, r))
		return;
	flow_key_of(&r->spec, &fk);
	if (r->flow >= 0) {
		struct xgw_flow_val v = { .node = (__u32)r->flow };

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
			r->nexthop ? (const __u8 *)NEXTHOP_MAC : pkt + ETH_ALEN, pkt, want);
		break;
	case OUT_NONE:
		break;
	case OUT_ECHO:
		echo_reply(pkt, len, icmp_l4, want);
		wlen = len;
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
			if (r->underlay == 6) {
				ASSERT_EQ(out[l3 + 1] & 0xf0, want[l3 + 1] & 0xf0, "tc low");
				out[l3 + 1] = want[l3 + 1];
				out[l3 + 2] = out[l3 + 3] = 0;
			}
			if (r->gue) {
				size_t u = l3 + (r->underlay == 6 ? 40 : 20);

				ASSERT_GE(out[u], 0xc0, "gue source port in the ephemeral range");
				out[u] = out[u + 1] = 0;
			}
		}
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
	if (read_flow(skel, &fk, &flow) && !ASSERT_EQ(flow, r->flow_after, r->name))
		printf("#   flow entry of \"%s\"\n", r->name);
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

/* 16-bit one's-complement sum of a TCP segment with its pseudo-header: 0 when valid. */
static __u16 tcp_csum_check(const __u8 *l3, bool v6, const __u8 *tcp, size_t len)
{
	__u32 sum = v6 ? sum16(l3 + 8, 32) : sum16(l3 + 12, 8);

	sum += IPPROTO_TCP + (__u32)len + sum16(tcp, len);
	return fold(sum);
}

/*
 * The SYN-flood guard: with cfg_syn_rate 1, the first SYN of a second goes to
 * the stack and the next is answered in XDP with a SYN cookie. Checks the
 * SYN-ACK field by field (the cookie itself is the kernel's) and both
 * checksums; ACKs are never touched.
 */
TEST(xdp_syn_guard)
{
	struct fixture f = {};
	struct xdp_lb *skel = xdp_lb__open();
	struct bpf_map *map;
	struct xgw_ip gw4, gw6;
	int fam[2] = { 4, 6 };

	if (!ASSERT_OK_PTR(skel, "open"))
		return;
	bpf_object__for_each_map(map, skel->obj) bpf_map__set_pin_path(map, NULL);
	skel->rodata->cfg_syn_rate = 1;
	if (!ASSERT_OK(xdp_lb__load(skel), "load"))
		goto out;
	f.skel = skel;
	f.ncpus = libbpf_num_possible_cpus();
	if (!add_addr(skel, AF_INET, GW4, &gw4) || !add_addr(skel, AF_INET6, GW6, &gw6) ||
	    !add_listener(skel, &gw4, 80, IPPROTO_TCP, ID_TCP80) ||
	    !add_listener(skel, &gw6, 80, IPPROTO_TCP, ID_V6_TCP80))
		goto out;
	for (int k = 0; k < 2; k++) {
		struct pkt_spec syn = { .family = fam[k] },
				ack = { .family = fam[k], .tcp_flags = 0x10 };
		bool v6 = fam[k] == 6;
		size_t l3 = ETH_HLEN, l4 = l3 + (v6 ? 40 : 20), want_len = l4 + 24;
		__u8 pkt[256], out[256];
		__u64 before[XGW_STAT__MAX], after[XGW_STAT__MAX];
		size_t len = build(&syn, pkt);
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
			    .data_out = out, .data_size_out = sizeof(out));

		if (!ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xgw_xdp_lb), &o),
			       "first syn"))
			goto out;
		ASSERT_EQ(o.retval, XDP_PASS, "first SYN of the second: to the stack");
		o.data_size_out = sizeof(out);
		if (!read_stats(&f, before) ||
		    !ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xgw_xdp_lb), &o),
			       "second syn") ||
		    !read_stats(&f, after))
			goto out;
		ASSERT_EQ(o.retval, XDP_TX, "second SYN: answered in XDP");
		ASSERT_EQ(after[XGW_STAT_TX_SYNCOOKIE] - before[XGW_STAT_TX_SYNCOOKIE], 1,
			  "tx_syncookie");
		if (!ASSERT_EQ(o.data_size_out, want_len, "SYN-ACK length"))
			continue;
		ASSERT_TRUE(!memcmp(out, pkt + 6, 6) && !memcmp(out + 6, pkt, 6), "MACs swapped");
		if (v6) {
			ASSERT_TRUE(!memcmp(out + l3 + 8, pkt + l3 + 24, 16) &&
					    !memcmp(out + l3 + 24, pkt + l3 + 8, 16),
				    "v6 addresses swapped");
			ASSERT_EQ(out[l3 + 4] << 8 | out[l3 + 5], 24, "payload length");
			ASSERT_EQ(out[l3 + 7], 64, "hop limit");
		} else {
			ASSERT_TRUE(!memcmp(out + l3 + 12, pkt + l3 + 16, 4) &&
					    !memcmp(out + l3 + 16, pkt + l3 + 12, 4),
				    "v4 addresses swapped");
			ASSERT_EQ(out[l3 + 2] << 8 | out[l3 + 3], 44, "total length");
			ASSERT_EQ(out[l3 + 8], 64, "ttl");
			ASSERT_EQ(csum16(out + l3, 20), 0, "IPv4 header checksum");
		}
		ASSERT_TRUE(!memcmp(out + l4, pkt + l4 + 2, 2) &&
				    !memcmp(out + l4 + 2, pkt + l4, 2),
			    "ports swapped");
		ASSERT_EQ(ntohl(*(__be32 *)(out + l4 + 8)), ntohl(*(__be32 *)(pkt + l4 + 4)) + 1,
			  "ack = client seq + 1");
		ASSERT_EQ(out[l4 + 12], 0x60, "data offset 24");
		ASSERT_EQ(out[l4 + 13], 0x12, "SYN|ACK");
		ASSERT_TRUE(out[l4 + 20] == 2 && out[l4 + 21] == 4, "MSS option");
		ASSERT_GT(out[l4 + 22] << 8 | out[l4 + 23], 0, "MSS value");
		ASSERT_EQ(tcp_csum_check(out + l3, v6, out + l4, 24), 0, "TCP checksum");

		/* An ACK is never answered, whatever the rate. */
		len = build(&ack, pkt);
		o.data_size_in = len;
		o.data_size_out = sizeof(out);
		if (ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xgw_xdp_lb), &o),
			      "ack"))
			ASSERT_EQ(o.retval, XDP_PASS, "ACK passes");
	}
out:
	xdp_lb__destroy(skel);
}

TEST_MAIN()
