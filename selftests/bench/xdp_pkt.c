// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xdp_pkt: the packet benchmark's runner (selftests/bench/xdp_pkt.sh).
 *
 *   xdp_pkt table [--calls N] [--repeat N] [--rounds R]
 *	ns per packet under BPF_PROG_TEST_RUN for the floors (bare XDP_PASS,
 *	parse + hash lookup) and xgw's XDP program on each of its paths, in one
 *	table with the ratios to the floor and to Katran's figures measured on
 *	this machine (../shared/bench/RESULTS.md, copied below as constants).
 *	Paths that do not rewrite the packet run in repeat mode; the others run
 *	one call per packet (repeat mode would reuse the rewritten buffer) and
 *	have the per-call timer overhead subtracted: that overhead is bare
 *	XDP_PASS per call minus bare XDP_PASS in repeat mode, measured alike.
 *
 *   xdp_pkt attach --ifname IF --prog drop|pass|xgw-drop|xgw-fwd
 *	attach a receiver natively to IF and hold it until SIGINT/SIGTERM.
 *
 *   xdp_pkt gen --ifname IF --seconds S --pkt ack4|ack4-81|udp4
 *	generate frames out of IF with live-frames test_run for S seconds.
 *
 * Every map is unpinned: nothing touches /sys/fs/bpf.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdp_gen.skel.h"
#include "xdp_lb.skel.h"
#include "xdp_parse.skel.h"
#include "xdp_pass.skel.h"
#include "xgw/abi/maps.h"

/* Katran on this machine, ns per packet, corrected (RESULTS.md section 2d). */
#define KATRAN_HIT_ENCAP_V4 152.0
#define KATRAN_HIT_ENCAP_V6 145.0
#define KATRAN_NEW_FLOW_V4 327.0
#define KATRAN_NEW_FLOW_V6 331.0
#define KATRAN_FOREIGN_V4 74.0

#define GW4 "10.1.0.1"
#define GW6 "fd00::1"
#define CLIENT4 "10.2.0.2"
#define CLIENT6 "fd00:2::2"
#define SELF4 "10.0.0.1"
#define NODE4 "10.0.0.2"
#define SELF6 "fd00:a::1"
#define NODE6 "fd00:a::2"
#define FOREIGN4 "10.9.9.9"

enum pkt_kind {
	SYN4,
	ACK4,
	SYN6,
	ACK6,
	UDP4,
	FOREIGN_ACK4,
	ACK4_81
};

/* Builds a frame like Katran's test packets: SYN with 20 bytes of options. */
static size_t build(enum pkt_kind k, unsigned char *buf)
{
	bool v6 = k == SYN6 || k == ACK6, syn = k == SYN4 || k == SYN6, udp = k == UDP4;
	struct ethhdr *eth = (void *)buf;
	size_t l3 = sizeof(*eth), l4, len;
	struct tcphdr *th;

	memset(buf, 0, 256);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	eth->h_proto = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	l4 = l3 + (v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr));
	if (udp) {
		struct udphdr *uh = (void *)(buf + l4);

		uh->source = htons(40000);
		uh->dest = htons(443);
		uh->len = htons(sizeof(*uh) + 18);
		len = l4 + sizeof(*uh) + 18; /* a 60-byte frame */
	} else {
		th = (void *)(buf + l4);
		th->source = htons(40000);
		th->dest = htons(k == ACK4_81 ? 81 : 80);
		th->seq = htonl(1);
		th->doff = syn ? 10 : 5;
		th->syn = syn;
		th->ack = !syn;
		th->window = htons(64240);
		if (syn) /* MSS 1460, SACK permitted, timestamps, NOP, window scale 7 */
			memcpy(th + 1,
			       "\x02\x04\x05\xb4\x04\x02\x08\x0a\0\0\0\1\0\0\0\0\x01\x03\x03\x07",
			       20);
		len = l4 + th->doff * 4;
	}
	if (v6) {
		struct ipv6hdr *ip6h = (void *)(buf + l3);

		ip6h->version = 6;
		ip6h->payload_len = htons(len - l4);
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = 64;
		inet_pton(AF_INET6, CLIENT6, &ip6h->saddr);
		inet_pton(AF_INET6, GW6, &ip6h->daddr);
	} else {
		struct iphdr *iph = (void *)(buf + l3);

		iph->version = 4;
		iph->ihl = 5;
		iph->tot_len = htons(len - l3);
		iph->ttl = 64;
		iph->protocol = udp ? IPPROTO_UDP : IPPROTO_TCP;
		inet_pton(AF_INET, CLIENT4, &iph->saddr);
		inet_pton(AF_INET, k == FOREIGN_ACK4 ? FOREIGN4 : GW4, &iph->daddr);
	}
	return len;
}

static void ip_of(const char *s, struct xgw_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = strchr(s, ':') ? XGW_FAMILY_IPV6 : XGW_FAMILY_IPV4;
	inet_pton(ip->family == XGW_FAMILY_IPV6 ? AF_INET6 : AF_INET, s, ip->addr);
}

/* The flow tokens of the two listeners xgw_setup() writes (GW4:80, GW6:80). */
#define TOKEN_GW4 0x5eed0004u
#define TOKEN_GW6 0x5eed0006u

/* The xgw_flows key of a TCP packet built by build(<k>). */
static void flow_key(enum pkt_kind k, struct xgw_flow_key *fk)
{
	bool v6 = k == SYN6 || k == ACK6;
	struct xgw_ip s;

	memset(fk, 0, sizeof(*fk));
	ip_of(v6 ? CLIENT6 : CLIENT4, &s);
	memcpy(fk->src, s.addr, 16);
	fk->sport = htons(40000);
	fk->listener = v6 ? TOKEN_GW6 : TOKEN_GW4;
}

enum xgw_mode {
	SINGLE,
	MULTI
};

/*
 * Programs xgw's maps: Gateway addresses with TCP/80 (and UDP/443)
 * listeners; in MULTI mode node 0 is this node, node 1 the other, every ring
 * slot names <owner>, and the underlay family is <underlay6>'s.
 */
static int xgw_setup(struct xdp_lb *s, enum xgw_mode mode, __u32 owner, bool underlay6)
{
	static const char *const gws[] = { GW4, GW6 };
	struct xgw_l4_config cfg = { .flags = mode == MULTI ? XGW_L4_F_ENABLED : 0 };
	int fd_rings = bpf_map__fd(s->maps.xgw_rings);
	__u32 zero = 0, size = s->rodata->cfg_ring_size;
	int err = 0;

	for (int i = 0; i < 2 && !err; i++) {
		struct xgw_listener_key lk = { .port = htons(80), .proto = IPPROTO_TCP };
		struct xgw_listener_val lv = { .id = (__u32)i + 1,
					       .flow_token = i ? TOKEN_GW6 : TOKEN_GW4 };
		struct xgw_addr_val av = { .listeners = 2 };

		ip_of(gws[i], &lk.ip);
		if (mode == MULTI)
			lv.flags = XGW_LISTENER_F_RING;
		err = bpf_map_update_elem(bpf_map__fd(s->maps.xgw_addrs), &lk.ip, &av, BPF_ANY) ||
		      bpf_map_update_elem(bpf_map__fd(s->maps.xgw_listeners), &lk, &lv, BPF_ANY);
		lk.port = htons(443);
		lk.proto = IPPROTO_UDP;
		err = err ||
		      bpf_map_update_elem(bpf_map__fd(s->maps.xgw_listeners), &lk, &lv, BPF_ANY);
	}
	ip_of(underlay6 ? SELF6 : SELF4, &cfg.self_addr);
	for (__u32 id = 0; id < 2 && !err; id++) {
		struct xgw_node_val nv = { .flags = XGW_NODE_F_PRESENT };

		ip_of(id ? (underlay6 ? NODE6 : NODE4) : (underlay6 ? SELF6 : SELF4), &nv.addr);
		err = bpf_map_update_elem(bpf_map__fd(s->maps.xgw_nodes), &id, &nv, BPF_ANY);
	}
	for (__u32 i = 0; i < size && !err; i++)
		err = bpf_map_update_elem(fd_rings, &i, &owner, BPF_ANY);
	if (!err)
		err = bpf_map_update_elem(bpf_map__fd(s->maps.xgw_l4cfg), &zero, &cfg, BPF_ANY);
	return err ? -errno : 0;
}

/*
 * The next hop of the ingress interface (BPF_PROG_TEST_RUN: loopback,
 * ifindex 1), as the agent writes it on a node: encapsulated frames go to its
 * MAC, not back to the sender's. (The veth runs leave it unset: the frames
 * then go back to the generator's MAC, as before; the lookup is the same.)
 */
static int nexthop_setup(struct xdp_lb *s)
{
	struct xgw_nexthop nh = { .mac = { 0x02, 0, 0, 0, 0, 0x99 }, .flags = XGW_NEXTHOP_F_SET };
	__u32 lo = 1;

	return bpf_map_update_elem(bpf_map__fd(s->maps.xgw_nh_direct), &lo, &nh, BPF_ANY) ? -errno
											  : 0;
}

static struct xdp_lb *xgw_open(void)
{
	struct xdp_lb *s = xdp_lb__open();
	struct bpf_map *m;

	if (!s)
		return NULL;
	bpf_object__for_each_map(m, s->obj) bpf_map__set_pin_path(m, NULL);
	if (xdp_lb__load(s)) {
		xdp_lb__destroy(s);
		return NULL;
	}
	return s;
}

struct row {
	const char *name;
	int fd;
	enum pkt_kind pkt;
	bool percall;
	bool fresh_flow; /* delete the flow before each call: a new flow every time */
	int expect;	 /* XDP action */
	double katran;	 /* 0: no figure */
	int floor;	 /* index of the row it is compared with, -1 none */
	/* fresh_flow: the flow table to delete from; else, for a flow-hit row,
	 * the table that must not grow (a miss would insert the flow) */
	struct bpf_map *flows;
};

static unsigned long count_flows(struct bpf_map *m)
{
	struct xgw_flow_key k, *prev = NULL;
	unsigned long n = 0;

	while (!bpf_map__get_next_key(m, prev, &k, sizeof(k))) {
		prev = &k;
		n++;
	}
	return n;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Mean ns per packet of one round; -1 on error or a wrong verdict. */
static double run_round(const struct row *r, unsigned long calls, unsigned repeat)
{
	unsigned char pkt[256], out[512];
	size_t len = build(r->pkt, pkt);
	struct xgw_flow_key fk;
	unsigned long flows = r->flows && !r->fresh_flow ? count_flows(r->flows) : 0;
	double sum = 0;

	flow_key(r->pkt, &fk);
	if (!r->percall) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
			    .repeat = repeat);

		if (bpf_prog_test_run_opts(r->fd, &o) || (int)o.retval != r->expect)
			return -1;
		if (flows && count_flows(r->flows) != flows) {
			fprintf(stderr, "xdp_pkt: %s: the flow was not in the table\n", r->name);
			return -1;
		}
		return o.duration;
	}
	for (unsigned long i = 0; i < calls; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

		if (r->fresh_flow)
			bpf_map__delete_elem(r->flows, &fk, sizeof(fk), 0);
		if (bpf_prog_test_run_opts(r->fd, &o) || (int)o.retval != r->expect)
			return -1;
		sum += o.duration;
	}
	if (flows && count_flows(r->flows) != flows) {
		fprintf(stderr, "xdp_pkt: %s: the flow was not in the table\n", r->name);
		return -1;
	}
	return sum / calls;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_table(unsigned long calls, unsigned repeat, int rounds)
{
	struct xdp_lb *single = xgw_open(), *m_self = xgw_open(), *m_v4 = xgw_open(),
		      *m_v6 = xgw_open();
	struct xdp_parse *parse = xdp_parse__open_and_load();
	struct xdp_pass *pass = xdp_pass__open_and_load();
	double med[32], overhead;
	int rc = 1;

	if (!single || !m_self || !m_v4 || !m_v6 || !parse || !pass) {
		fprintf(stderr, "xdp_pkt: loading the programs: %s\n", strerror(errno));
		goto out;
	}
	for (int i = 0; i < 2; i++) { /* the parse floor finds its key, as xgw does */
		struct xgw_listener_key lk = { .port = htons(80), .proto = IPPROTO_TCP };
		struct xgw_listener_val lv = { .id = 1 };

		ip_of(i ? GW6 : GW4, &lk.ip);
		bpf_map_update_elem(bpf_map__fd(parse->maps.bench_lookup), &lk, &lv, BPF_ANY);
	}
	if (xgw_setup(single, SINGLE, 0, false) || xgw_setup(m_self, MULTI, 0, false) ||
	    xgw_setup(m_v4, MULTI, 1, false) || xgw_setup(m_v6, MULTI, 1, true) ||
	    nexthop_setup(m_v4) || nexthop_setup(m_v6)) {
		fprintf(stderr, "xdp_pkt: programming xgw's maps: %s\n", strerror(errno));
		goto out;
	}
	/* Flow-hit rows: the flow is in the table before the timing starts. */
	for (int k = ACK4; k <= ACK6; k += 2) {
		struct xgw_flow_key fk;
		struct xgw_flow_val self = { .node = 0 }, other = { .node = 1 };

		flow_key(k, &fk);
		bpf_map_update_elem(bpf_map__fd(m_self->maps.xgw_flows), &fk, &self, BPF_ANY);
		bpf_map_update_elem(
			bpf_map__fd(k == ACK4 ? m_v4->maps.xgw_flows : m_v6->maps.xgw_flows), &fk,
			&other, BPF_ANY);
	}
	int p_pass = bpf_program__fd(pass->progs.xdp_pass);
	int p_parse = bpf_program__fd(parse->progs.xdp_parse);
	int p_single = bpf_program__fd(single->progs.xgw_xdp_lb);
	int p_self = bpf_program__fd(m_self->progs.xgw_xdp_lb);
	int p_v4 = bpf_program__fd(m_v4->progs.xgw_xdp_lb);
	int p_v6 = bpf_program__fd(m_v6->progs.xgw_xdp_lb);
	const struct row rows[] = {
		/* 0 */ { "bare XDP_PASS (floor)", p_pass, ACK4, false, false, XDP_PASS, 0, -1 },
		/* 1 */
		{ "bare XDP_PASS, one call per packet", p_pass, ACK4, true, false, XDP_PASS, 0,
		  -1 },
		/* 2 */
		{ "parse + hash lookup v4 (floor)", p_parse, ACK4, false, false, XDP_PASS, 0, -1 },
		/* 3 */
		{ "parse + hash lookup v6 (floor)", p_parse, ACK6, false, false, XDP_PASS, 0, -1 },
		{ "xgw non-Gateway packet v4 (pass)", p_single, FOREIGN_ACK4, false, false,
		  XDP_PASS, KATRAN_FOREIGN_V4, 2 },
		{ "xgw local listener v4, single-node", p_single, ACK4, false, false, XDP_PASS, 0,
		  2 },
		{ "xgw local listener v6, single-node", p_single, ACK6, false, false, XDP_PASS, 0,
		  3 },
		{ "xgw local listener v4, multi-node flow hit", p_self, ACK4, false, false,
		  XDP_PASS, 0, 2, m_self->maps.xgw_flows },
		{ "xgw local listener v6, multi-node flow hit", p_self, ACK6, false, false,
		  XDP_PASS, 0, 3, m_self->maps.xgw_flows },
		{ "xgw remote v4: flow hit + IPIP + XDP_TX", p_v4, ACK4, true, false, XDP_TX,
		  KATRAN_HIT_ENCAP_V4, 2, m_v4->maps.xgw_flows },
		{ "xgw remote v6: flow hit + IP6IP6 + XDP_TX", p_v6, ACK6, true, false, XDP_TX,
		  KATRAN_HIT_ENCAP_V6, 3, m_v6->maps.xgw_flows },
		{ "xgw new flow v4: ring + LRU insert + IPIP", p_v4, SYN4, true, true, XDP_TX,
		  KATRAN_NEW_FLOW_V4, 2, m_v4->maps.xgw_flows },
		{ "xgw new flow v6: ring + LRU insert + IP6IP6", p_v6, SYN6, true, true, XDP_TX,
		  KATRAN_NEW_FLOW_V6, 3, m_v6->maps.xgw_flows },
		{ "xgw new flow v4, local owner (miss + insert)", p_self, SYN4, true, true,
		  XDP_PASS, 0, 2, m_self->maps.xgw_flows },
	};
	int n = sizeof(rows) / sizeof(rows[0]);

	/* Rounds interleave the rows, so that a noisy moment of a shared machine
	 * spreads over every row instead of inflating one. */
	double v[32][16];

	for (int k = 0; k < rounds; k++)
		for (int i = 0; i < n; i++) {
			v[i][k] = run_round(&rows[i], calls, repeat);
			if (v[i][k] < 0) {
				fprintf(stderr,
					"xdp_pkt: %s: test_run failed, wrong verdict or flow "
					"missed\n",
					rows[i].name);
				goto out;
			}
		}
	for (int i = 0; i < n; i++) {
		qsort(v[i], rounds, sizeof(v[i][0]), cmp_double);
		med[i] = v[i][rounds / 2];
	}
	overhead = med[1] - med[0];
	printf("%-46s %-8s %8s %8s %9s %9s\n", "path", "mode", "raw ns", "ns/pkt", "x floor",
	       "x Katran");
	for (int i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		double ns = r->percall && i != 1 ? med[i] - overhead : med[i];
		char fl[16] = "-", kt[16] = "-";

		if (r->floor >= 0)
			snprintf(fl, sizeof(fl), "%.2f", ns / med[r->floor]);
		if (r->katran > 0)
			snprintf(kt, sizeof(kt), "%.2f", ns / r->katran);
		printf("%-46s %-8s %8.1f %8.1f %9s %9s\n", r->name,
		       r->percall ? "per-call" : "repeat", med[i], ns, fl, kt);
	}
	printf("\nper-call timer overhead subtracted: %.1f ns (bare XDP_PASS per call minus "
	       "repeat mode)\n"
	       "rounds %d (median of round means), repeat %u, calls per round %lu\n",
	       overhead, rounds, repeat, calls);
	rc = 0;
out:
	xdp_lb__destroy(single);
	xdp_lb__destroy(m_self);
	xdp_lb__destroy(m_v4);
	xdp_lb__destroy(m_v6);
	xdp_parse__destroy(parse);
	xdp_pass__destroy(pass);
	return rc;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int cmd_attach(const char *ifname, const char *prog)
{
	int ifindex = (int)if_nametoindex(ifname), fd, rc = 1;
	struct xdp_gen *gen = NULL;
	struct xdp_pass *pass = NULL;
	struct xdp_lb *lb = NULL;

	if (!ifindex) {
		fprintf(stderr, "xdp_pkt: no interface %s\n", ifname);
		return 1;
	}
	if (!strcmp(prog, "drop")) {
		gen = xdp_gen__open_and_load();
		fd = gen ? bpf_program__fd(gen->progs.xdp_drop) : -1;
	} else if (!strcmp(prog, "pass")) {
		pass = xdp_pass__open_and_load();
		fd = pass ? bpf_program__fd(pass->progs.xdp_pass) : -1;
	} else if (!strcmp(prog, "xgw-drop") || !strcmp(prog, "xgw-fwd")) {
		/* xgw-drop: traffic to an unlistened port; xgw-fwd: every flow
		 * owned by the other node, encapsulated and sent back (XDP_TX). */
		lb = xgw_open();
		fd = lb && !xgw_setup(lb, strcmp(prog, "xgw-fwd") ? SINGLE : MULTI, 1, false)
			     ? bpf_program__fd(lb->progs.xgw_xdp_lb)
			     : -1;
	} else {
		fprintf(stderr, "xdp_pkt: --prog drop, pass, xgw-drop or xgw-fwd\n");
		return 1;
	}
	if (fd < 0 || bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL)) {
		fprintf(stderr, "xdp_pkt: attach %s to %s: %s\n", prog, ifname, strerror(errno));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached %s to %s\n", prog, ifname);
	fflush(stdout);
	while (!stop)
		pause();
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (lb) { /* xgw's verdict counters, so that the run can be checked */
		int ncpu = libbpf_num_possible_cpus();
		__u64 v[ncpu > 0 ? ncpu : 1];

		for (__u32 i = 0; i < XGW_STAT__MAX && ncpu > 0; i++) {
			__u64 sum = 0;

			if (bpf_map_lookup_elem(bpf_map__fd(lb->maps.xgw_stats), &i, v))
				continue;
			for (int c = 0; c < ncpu; c++)
				sum += v[c];
			if (sum)
				fprintf(stderr, "#   %s: xgw_stats[%u] = %llu\n", ifname, i,
					(unsigned long long)sum);
		}
	}
	rc = 0;
out:
	xdp_gen__destroy(gen);
	xdp_pass__destroy(pass);
	xdp_lb__destroy(lb);
	return rc;
}

static int cmd_gen(const char *ifname, double seconds, const char *pktname)
{
	int ifindex = (int)if_nametoindex(ifname);
	enum pkt_kind k = !strcmp(pktname, "udp4")	? UDP4
			  : !strcmp(pktname, "ack4-81") ? ACK4_81
							: ACK4;
	struct xdp_gen *gen = xdp_gen__open();
	unsigned char pkt[256];
	size_t len = build(k, pkt);

	if (gen) {
		memcpy((void *)gen->rodata->tmpl, pkt, sizeof(gen->rodata->tmpl));
		gen->rodata->restore = 1;
		if (xdp_gen__load(gen)) {
			xdp_gen__destroy(gen);
			gen = NULL;
		}
	}
	double t0, el = 0, rep = 200000;
	unsigned long long frames = 0;
	__u32 zero = 0, idx = (__u32)ifindex;

	if (!ifindex || !gen ||
	    bpf_map_update_elem(bpf_map__fd(gen->maps.tx_port), &zero, &idx, BPF_ANY)) {
		fprintf(stderr, "xdp_pkt: generator on %s: %s\n", ifname, strerror(errno));
		xdp_gen__destroy(gen);
		return 1;
	}
	t0 = now_ns();
	/* Each live call sets up a page pool: calls of about 0.5 s each. */
	while (el < seconds) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
			    .repeat = (__u32)rep, .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			    .batch_size = 64);
		double c0 = now_ns(), cs;

		if (bpf_prog_test_run_opts(bpf_program__fd(gen->progs.xdp_redirect), &o)) {
			fprintf(stderr, "xdp_pkt: live test_run: %s\n", strerror(errno));
			xdp_gen__destroy(gen);
			return 1;
		}
		frames += (unsigned long long)rep;
		cs = (now_ns() - c0) / 1e9;
		el = (now_ns() - t0) / 1e9;
		rep = cs > 0 ? rep / cs * 0.5 : rep;
		if (rep > seconds * 5e7)
			rep = seconds * 5e7;
		if (rep < 10000)
			rep = 10000;
	}
	printf("generated %llu frames of %zu bytes in %.3f s: %.3f Mpps\n", frames, len, el,
	       frames / el / 1e6);
	xdp_gen__destroy(gen);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "calls", required_argument, NULL, 'c' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "prog", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "pkt", required_argument, NULL, 'k' },
		{ 0 },
	};
	const char *cmd = argc > 1 ? argv[1] : "", *ifname = NULL, *prog = NULL, *pkt = "ack4";
	unsigned long calls = 200000;
	unsigned repeat = 1000000;
	double seconds = 5;
	int rounds = 3, c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			calls = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			repeat = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			rounds = atoi(optarg);
			break;
		case 'i':
			ifname = optarg;
			break;
		case 'p':
			prog = optarg;
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'k':
			pkt = optarg;
			break;
		default:
			return 2;
		}
	}
	if (rounds < 1 || rounds > 15 || !calls || !repeat || seconds <= 0 || seconds > 120) {
		fprintf(stderr, "xdp_pkt: --rounds 1..15, --calls and --repeat > 0, "
				"--seconds 0..120\n");
		return 2;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	if (!strcmp(cmd, "table"))
		return cmd_table(calls, repeat, rounds);
	if (!strcmp(cmd, "attach") && ifname && prog)
		return cmd_attach(ifname, prog);
	if (!strcmp(cmd, "gen") && ifname)
		return cmd_gen(ifname, seconds, pkt);
	fprintf(stderr, "usage: xdp_pkt table [--calls N] [--repeat N] [--rounds R]\n"
			"       xdp_pkt attach --ifname IF --prog drop|pass|xgw-drop|xgw-fwd\n"
			"       xdp_pkt gen --ifname IF [--seconds S] [--pkt ack4|ack4-81|udp4]\n");
	return 2;
}
