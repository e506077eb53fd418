// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdp_lb under BPF_PROG_TEST_RUN: a table of packets, each with the verdict,
 * the one xgw_stats counter it must move and the per-listener counters it
 * must move; the SYN guard's cookies. Pinning is disabled before load, so the
 * test never touches the production pins under XGW_PIN_DIR.
 */
#include "xdp_test_common.h"

struct row {
	const char *name;
	struct pkt_spec spec;
	int verdict;
	int stat;     /* the xgw_stats entry that counts the packet */
	int listener; /* xgw_lstats entry that counts it, 0 for none */
	bool syn;     /* ... as a SYN */
};

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

/*
 * A removed listener draining (XGW_LISTENER_F_DRAINING): its established
 * flows pass, new TCP connections are dropped, and nothing is counted under
 * its id, which a new listener may have taken (here: ID_TCP80's).
 */
static const struct row drain_rows[] = {
	{ "draining: SYN dropped", { .dport = 8080 }, XDP_DROP, XGW_STAT_DROP_DRAINING },
	{ "draining: ACK passes, uncounted",
	  { .dport = 8080, .tcp_flags = 0x10 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER },
	{ "draining: FIN passes",
	  { .dport = 8080, .tcp_flags = 0x11 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER },
	{ "draining: UDP passes (the worker's sessions end on their own)",
	  { .proto = IPPROTO_UDP, .dport = 8443 },
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER },
	{ "draining: v6 SYN dropped",
	  { .family = 6, .dport = 8080 },
	  XDP_DROP,
	  XGW_STAT_DROP_DRAINING },
	{ "beside it, a live listener still counts",
	  {},
	  XDP_PASS,
	  XGW_STAT_PASS_LISTENER,
	  ID_TCP80,
	  true },
};

static bool add_draining(struct xdp_lb *skel, int af, const char *addr, __u16 port, __u8 proto)
{
	struct xgw_listener_key key = { .port = htons(port), .proto = proto };
	struct xgw_listener_val val = { .id = ID_TCP80, .flags = XGW_LISTENER_F_DRAINING };
	__u8 a[16] = { 0 };

	if (!ASSERT_EQ(inet_pton(af, addr, a), 1, "inet_pton"))
		return false;
	key.ip.family = af == AF_INET ? XGW_FAMILY_IPV4 : XGW_FAMILY_IPV6;
	memcpy(key.ip.addr, a, af == AF_INET ? 4 : 16);
	return ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_listeners, &key, sizeof(key), &val,
					      sizeof(val), BPF_ANY),
			 "update xgw_listeners");
}

TEST(xdp_lb_draining_listener)
{
	struct fixture f = {};

	if (!setup(&f) || !add_draining(f.skel, AF_INET, GW4, 8080, IPPROTO_TCP) ||
	    !add_draining(f.skel, AF_INET, GW4, 8443, IPPROTO_UDP) ||
	    !add_draining(f.skel, AF_INET6, GW6, 8080, IPPROTO_TCP))
		goto out;
	for (size_t i = 0; i < sizeof(drain_rows) / sizeof(drain_rows[0]); i++)
		run_row(&f, &drain_rows[i]);
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
