// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * sk_lookup under BPF_PROG_TEST_RUN, whose ctx_out carries the cookie of the
 * socket the program selected (0 for none), and once for real: connect() to a
 * Gateway address inside a network namespace of our own. Pinning is disabled
 * before load, so the test never touches the production pins.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sk_lookup.skel.h"
#include "xdp_lb.skel.h"
#include "xgw/abi/maps.h"

#include "test.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define GW4 "10.2.0.1"
#define GW6 "fd00:2::1"
#define CLIENT4 "10.3.0.7"
#define CLIENT6 "fd00:3::7"
#define NTCP 4
#define NUDP 2

struct fixture {
	struct sk_lookup *skel;
	int tcp[NTCP], udp[NUDP];
	__u64 tcp_cookie[NTCP], udp_cookie[NUDP];
};

static struct sk_lookup *open_unpinned(void)
{
	struct sk_lookup *skel;
	struct bpf_map *map;

	skel = sk_lookup__open();
	if (!ASSERT_OK_PTR(skel, "sk_lookup__open"))
		return NULL;
	bpf_object__for_each_map(map, skel->obj)
	{
		if (!ASSERT_OK(bpf_map__set_pin_path(map, NULL), bpf_map__name(map)))
			goto err;
	}
	if (!ASSERT_OK(sk_lookup__load(skel), "sk_lookup__load"))
		goto err;
	return skel;
err:
	sk_lookup__destroy(skel);
	return NULL;
}

/*
 * A dual-stack socket on [<addr>]:<*port>, listening if <type> is a stream;
 * <*port> 0 picks one and returns it. Only [::] stays dual-stack: binding an
 * AF_INET6 socket to any other address that is not v4-mapped (::1 included)
 * makes the kernel set IPV6_V6ONLY, and bpf_sk_assign then refuses IPv4
 * flows with -EAFNOSUPPORT.
 */
static int worker_socket(int type, const struct in6_addr *addr, __u16 *port, bool reuseport,
			 __u64 *cookie)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
				     .sin6_addr = *addr,
				     .sin6_port = htons(*port) };
	socklen_t len = sizeof(*cookie), slen = sizeof(sin6);
	int fd, off = 0, on = 1;

	fd = socket(AF_INET6, type | SOCK_CLOEXEC, 0);
	if (!ASSERT_GE(fd, 0, "socket"))
		return -1;
	if (!ASSERT_OK(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)), "v6only") ||
	    (reuseport &&
	     !ASSERT_OK(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)), "reuseport")) ||
	    !ASSERT_OK(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), "bind") ||
	    !ASSERT_OK(getsockname(fd, (struct sockaddr *)&sin6, &slen), "getsockname") ||
	    (type == SOCK_STREAM && !ASSERT_OK(listen(fd, 16), "listen")) ||
	    !ASSERT_OK(getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len), "SO_COOKIE")) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin6.sin6_port);
	return fd;
}

/*
 * The fixture's sockets: NTCP TCP and NUDP UDP workers on [::]. With
 * <reuseport> each protocol's workers form one SO_REUSEPORT group on one port.
 */
static bool worker_sockets(struct fixture *f, bool reuseport)
{
	__u16 tcp_port = 0, udp_port = 0, zero;

	for (int i = 0; i < NTCP; i++) {
		zero = 0;
		f->tcp[i] = worker_socket(SOCK_STREAM, &in6addr_any, reuseport ? &tcp_port : &zero,
					  reuseport, &f->tcp_cookie[i]);
		if (f->tcp[i] < 0)
			return false;
	}
	for (int i = 0; i < NUDP; i++) {
		zero = 0;
		f->udp[i] = worker_socket(SOCK_DGRAM, &in6addr_any, reuseport ? &udp_port : &zero,
					  reuseport, &f->udp_cookie[i]);
		if (f->udp[i] < 0)
			return false;
	}
	return true;
}

/*
 * worker_sockets() in a fresh network namespace, then back to the caller's,
 * so that sockets bound to [::] never listen on the host's interfaces. The
 * namespace lives as long as its sockets.
 */
static bool worker_sockets_private(struct fixture *f, bool reuseport)
{
	bool ok = false;
	int orig;

	orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (!ASSERT_GE(orig, 0, "open netns"))
		return false;
	if (!ASSERT_OK(unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)"))
		goto out;
	ok = worker_sockets(f, reuseport);
	if (!ASSERT_OK(setns(orig, CLONE_NEWNET), "setns back")) {
		/* Staying in the new namespace would break every later test. */
		fflush(stdout);
		abort();
	}
out:
	close(orig);
	return ok;
}

static bool put_worker(struct sk_lookup *skel, __u32 slot, int fd)
{
	__u64 val = fd;

	return ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_workers, &slot, sizeof(slot), &val,
					      sizeof(val), BPF_ANY),
			 "update xgw_workers");
}

static bool set_config(struct sk_lookup *skel, __u32 tcp, __u32 udp)
{
	struct xgw_config cfg = { .tcp_workers = tcp, .udp_workers = udp };
	__u32 zero = 0;

	return ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_config, &zero, sizeof(zero), &cfg,
					      sizeof(cfg), BPF_ANY),
			 "update xgw_config");
}

static bool add_listener(struct sk_lookup *skel, int af, const char *ip, __u16 port, __u8 proto)
{
	struct xgw_listener_key key = { .port = htons(port), .proto = proto };
	struct xgw_listener_val val = { .id = port };

	key.ip.family = af == AF_INET ? XGW_FAMILY_IPV4 : XGW_FAMILY_IPV6;
	if (!ASSERT_EQ(inet_pton(af, ip, key.ip.addr), 1, ip))
		return false;
	return ASSERT_OK(bpf_map__update_elem(skel->maps.xgw_listeners, &key, sizeof(key), &val,
					      sizeof(val), BPF_ANY),
			 "update xgw_listeners");
}

static void teardown(struct fixture *f)
{
	for (int i = 0; i < NTCP; i++)
		if (f->tcp[i] >= 0)
			close(f->tcp[i]);
	for (int i = 0; i < NUDP; i++)
		if (f->udp[i] >= 0)
			close(f->udp[i]);
	sk_lookup__destroy(f->skel);
}

/*
 * NTCP TCP workers, NUDP UDP workers, listeners GW4:80/tcp, GW6:80/tcp,
 * GW4:53/udp and GW6:53/udp.
 */
enum setup_flags {
	SETUP_PRIVATE_NETNS = 1, /* sockets in a namespace of their own, not the caller's */
	SETUP_REUSEPORT = 2,	 /* workers of a protocol form one SO_REUSEPORT group */
};

static bool setup_flags(struct fixture *f, int flags)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < NTCP; i++)
		f->tcp[i] = -1;
	for (int i = 0; i < NUDP; i++)
		f->udp[i] = -1;
	f->skel = open_unpinned();
	if (!f->skel)
		return false;
	if (!(flags & SETUP_PRIVATE_NETNS ? worker_sockets_private(f, flags & SETUP_REUSEPORT)
					  : worker_sockets(f, flags & SETUP_REUSEPORT)))
		return false;
	for (int i = 0; i < NTCP; i++)
		if (!put_worker(f->skel, XGW_SOCK_TCP_BASE + i, f->tcp[i]))
			return false;
	for (int i = 0; i < NUDP; i++)
		if (!put_worker(f->skel, XGW_SOCK_UDP_BASE + i, f->udp[i]))
			return false;
	return set_config(f->skel, NTCP, NUDP) &&
	       add_listener(f->skel, AF_INET, GW4, 80, IPPROTO_TCP) &&
	       add_listener(f->skel, AF_INET6, GW6, 80, IPPROTO_TCP) &&
	       add_listener(f->skel, AF_INET, GW4, 53, IPPROTO_UDP) &&
	       add_listener(f->skel, AF_INET6, GW6, 53, IPPROTO_UDP);
}

static bool setup(struct fixture *f)
{
	return setup_flags(f, SETUP_PRIVATE_NETNS);
}

struct flow {
	int af;
	__u8 proto;
	const char *remote;
	__u16 rport;
	const char *local;
	__u16 lport;
};

/*
 * Runs the program on <fl>; returns the selected socket's cookie (0 for
 * none) or -1 when the run failed. The program must always return SK_PASS.
 */
static long long lookup(const struct fixture *f, const struct flow *fl)
{
	struct bpf_sk_lookup ctx = {
		.family = fl->af,
		.protocol = fl->proto,
		.remote_port = htons(fl->rport),
		.local_port = fl->lport, /* host order */
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx));

	if (fl->af == AF_INET) {
		if (!ASSERT_EQ(inet_pton(AF_INET, fl->remote, &ctx.remote_ip4), 1, fl->remote) ||
		    !ASSERT_EQ(inet_pton(AF_INET, fl->local, &ctx.local_ip4), 1, fl->local))
			return -1;
	} else {
		if (!ASSERT_EQ(inet_pton(AF_INET6, fl->remote, ctx.remote_ip6), 1, fl->remote) ||
		    !ASSERT_EQ(inet_pton(AF_INET6, fl->local, ctx.local_ip6), 1, fl->local))
			return -1;
	}
	if (!ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.xgw_sk_lookup), &opts),
		       "test_run") ||
	    !ASSERT_EQ(opts.retval, SK_PASS, "SK_PASS"))
		return -1;
	return (long long)ctx.cookie;
}

/* Index of <cookie> in <cookies>, or -1. */
static int which(const __u64 *cookies, int n, long long cookie)
{
	for (int i = 0; i < n; i++)
		if (cookie > 0 && cookies[i] == (__u64)cookie)
			return i;
	return -1;
}

static const struct flow tcp4 = { AF_INET, IPPROTO_TCP, CLIENT4, 40000, GW4, 80 };
static const struct flow tcp6 = { AF_INET6, IPPROTO_TCP, CLIENT6, 40000, GW6, 80 };
static const struct flow udp4 = { AF_INET, IPPROTO_UDP, CLIENT4, 40000, GW4, 53 };
static const struct flow udp6 = { AF_INET6, IPPROTO_UDP, CLIENT6, 40000, GW6, 53 };

TEST(sk_lookup_listener_gets_worker)
{
	struct fixture f;

	if (!setup(&f))
		goto out;
	ASSERT_GE(which(f.tcp_cookie, NTCP, lookup(&f, &tcp4)), 0, "tcp4 onto dual-stack worker");
	ASSERT_GE(which(f.tcp_cookie, NTCP, lookup(&f, &tcp6)), 0, "tcp6 worker");
	ASSERT_GE(which(f.udp_cookie, NUDP, lookup(&f, &udp4)), 0, "udp4 onto dual-stack worker");
	ASSERT_GE(which(f.udp_cookie, NUDP, lookup(&f, &udp6)), 0, "udp6 worker");
out:
	teardown(&f);
}

TEST(sk_lookup_flow_stable)
{
	const struct flow *flows[] = { &tcp4, &tcp6, &udp4, &udp6 };
	struct fixture f;

	if (!setup(&f))
		goto out;
	for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
		long long first = lookup(&f, flows[i]);

		if (!ASSERT_GT(first, 0, "first lookup"))
			continue;
		for (int n = 0; n < 32; n++)
			if (!ASSERT_EQ(lookup(&f, flows[i]), first, "same flow, same worker"))
				break;
	}
out:
	teardown(&f);
}

/* <n> flows from consecutive remote ports; counts flows per worker in <hits>. */
static bool spread(const struct fixture *f, struct flow fl, const __u64 *cookies, int nw, int *hits,
		   int n)
{
	memset(hits, 0, nw * sizeof(*hits));
	for (int i = 0; i < n; i++) {
		int w;

		fl.rport = 1024 + i;
		w = which(cookies, nw, lookup(f, &fl));
		if (!ASSERT_GE(w, 0, "worker selected"))
			return false;
		hits[w]++;
	}
	return true;
}

TEST(sk_lookup_spreads_flows)
{
	struct fixture f;
	int hits[NTCP];

	if (!setup(&f))
		goto out;
	if (spread(&f, tcp4, f.tcp_cookie, NTCP, hits, 256))
		for (int i = 0; i < NTCP; i++)
			if (!ASSERT_GT(hits[i], 256 / NTCP / 2, "tcp4 worker share"))
				printf("#   worker %d got %d of 256\n", i, hits[i]);
	if (spread(&f, tcp6, f.tcp_cookie, NTCP, hits, 256))
		for (int i = 0; i < NTCP; i++)
			ASSERT_GT(hits[i], 256 / NTCP / 2, "tcp6 worker share");
	if (spread(&f, udp4, f.udp_cookie, NUDP, hits, 64))
		for (int i = 0; i < NUDP; i++)
			ASSERT_GT(hits[i], 64 / NUDP / 2, "udp4 worker share");
out:
	teardown(&f);
}

TEST(sk_lookup_no_listener)
{
	struct fixture f;
	struct flow fl;

	if (!setup(&f))
		goto out;
	fl = tcp4;
	fl.lport = 81;
	ASSERT_EQ(lookup(&f, &fl), 0, "unlistened port");
	fl = tcp4;
	fl.local = "10.2.0.2";
	ASSERT_EQ(lookup(&f, &fl), 0, "other address");
	fl = tcp6;
	fl.lport = 8080;
	ASSERT_EQ(lookup(&f, &fl), 0, "unlistened v6 port");
	fl = udp4;
	fl.proto = IPPROTO_TCP;
	ASSERT_EQ(lookup(&f, &fl), 0, "tcp to a udp-only port");
	fl = tcp4;
	fl.proto = IPPROTO_UDP;
	ASSERT_EQ(lookup(&f, &fl), 0, "udp to a tcp-only port");
	/* The port must be converted from host order: its byte swap is no listener. */
	fl = tcp4;
	fl.lport = htons(80);
	ASSERT_EQ(lookup(&f, &fl), 0, "byte-swapped port");
out:
	teardown(&f);
}

TEST(sk_lookup_zero_workers)
{
	struct fixture f;

	if (!setup(&f) || !set_config(f.skel, 0, NUDP))
		goto out;
	ASSERT_EQ(lookup(&f, &tcp4), 0, "tcp_workers=0, v4");
	ASSERT_EQ(lookup(&f, &tcp6), 0, "tcp_workers=0, v6");
	ASSERT_GT(lookup(&f, &udp4), 0, "udp unaffected");
	if (!set_config(f.skel, NTCP, 0))
		goto out;
	ASSERT_EQ(lookup(&f, &udp4), 0, "udp_workers=0");
	ASSERT_GT(lookup(&f, &tcp4), 0, "tcp unaffected");
out:
	teardown(&f);
}

/* One more worker than sockets: flows hashed to the empty slot fall through. */
TEST(sk_lookup_empty_slot)
{
	struct fixture f;
	int selected = 0, none = 0;
	struct flow fl = tcp4;

	if (!setup(&f) || !set_config(f.skel, NTCP + 1, NUDP))
		goto out;
	for (int i = 0; i < 128; i++) {
		long long c;

		fl.rport = 2000 + i;
		c = lookup(&f, &fl);
		if (!ASSERT_GE(c, 0, "lookup"))
			goto out;
		if (c == 0)
			none++;
		else if (ASSERT_GE(which(f.tcp_cookie, NTCP, c), 0, "one of ours"))
			selected++;
	}
	ASSERT_GT(none, 0, "flows onto the empty slot");
	ASSERT_GT(selected, 0, "flows onto workers");
out:
	teardown(&f);
}

/*
 * Workers in one SO_REUSEPORT group (as UDP workers bound to the listener
 * port are): without BPF_SK_LOOKUP_F_NO_REUSEPORT the group would override
 * the program's choice, which PROG_TEST_RUN reports as -EOPNOTSUPP.
 */
TEST(sk_lookup_reuseport_workers)
{
	const struct flow *flows[] = { &tcp4, &tcp6, &udp4, &udp6 };
	struct fixture f;

	if (!setup_flags(&f, SETUP_PRIVATE_NETNS | SETUP_REUSEPORT))
		goto out;
	for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
		const __u64 *cookies = flows[i]->proto == IPPROTO_TCP ? f.tcp_cookie : f.udp_cookie;
		int n = flows[i]->proto == IPPROTO_TCP ? NTCP : NUDP;
		struct flow fl = *flows[i];
		int hits[NTCP] = {};

		for (int p = 0; p < 64; p++) {
			int w;

			fl.rport = 3000 + p;
			w = which(cookies, n, lookup(&f, &fl));
			if (!ASSERT_GE(w, 0, "reuseport worker selected"))
				break;
			hits[w]++;
		}
		for (int w = 0; w < n; w++)
			ASSERT_GT(hits[w], 0, "each reuseport worker chosen by the program");
	}
out:
	teardown(&f);
}

/* A TCP socket in the UDP slots: bpf_sk_assign refuses it, the lookup falls through. */
TEST(sk_lookup_wrong_protocol_socket)
{
	struct fixture f;

	if (!setup(&f))
		goto out;
	for (int i = 0; i < NUDP; i++)
		if (!put_worker(f.skel, XGW_SOCK_UDP_BASE + i, f.tcp[i]))
			goto out;
	ASSERT_EQ(lookup(&f, &udp4), 0, "udp flow, tcp socket");
out:
	teardown(&f);
}

/*
 * Why the workers bind [::]: a socket bound to [::1] with IPV6_V6ONLY off is
 * still v6-only, so IPv4 flows fall through to the normal lookup.
 */
TEST(sk_lookup_loopback_bound_is_v6only)
{
	struct fixture f;
	__u16 port = 0;
	__u64 cookie;
	int fd = -1;

	if (!setup(&f))
		goto out;
	fd = worker_socket(SOCK_STREAM, &in6addr_loopback, &port, false, &cookie);
	if (fd < 0)
		goto out;
	for (int i = 0; i < NTCP; i++)
		if (!put_worker(f.skel, XGW_SOCK_TCP_BASE + i, fd))
			goto out;
	ASSERT_EQ(lookup(&f, &tcp6), cookie, "v6 flow onto [::1] socket");
	ASSERT_EQ(lookup(&f, &tcp4), 0, "v4 flow refused by [::1] socket");
out:
	if (fd >= 0)
		close(fd);
	teardown(&f);
}

/* Sets IFF_UP on lo and makes the Gateway prefixes local, as DESIGN.md says sk_lookup needs. */
static bool netns_routes(void)
{
	return ASSERT_OK(system("ip link set dev lo up"), "lo up") &&
	       ASSERT_OK(system("ip route add local 10.2.0.0/24 dev lo"), "route v4") &&
	       ASSERT_OK(system("ip -6 route add local fd00:2::/64 dev lo"), "route v6");
}

/*
 * Connects to <gw>:<port> (a TCP listener's address) and accepts on one of
 * <fds>; the accepted socket must see the Gateway address as its local one.
 */
static bool connect_and_accept(int af, const char *gw, __u16 port, const int *fds, int n,
			       int *worker)
{
	struct sockaddr_in6 local = {},
			    want = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_storage dst = {};
	socklen_t dlen, llen = sizeof(local);
	struct pollfd pfd[NTCP];
	int c = -1, a = -1;
	bool ok = false;

	if (af == AF_INET) {
		struct sockaddr_in *sin = (void *)&dst;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, gw, &sin->sin_addr);
		dlen = sizeof(*sin);
		want.sin6_addr.s6_addr[10] = 0xff;
		want.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&want.sin6_addr.s6_addr[12], &sin->sin_addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (void *)&dst;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, gw, &sin6->sin6_addr);
		dlen = sizeof(*sin6);
		want.sin6_addr = sin6->sin6_addr;
	}
	c = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!ASSERT_GE(c, 0, "client socket"))
		goto out;
	if (!ASSERT_OK(connect(c, (struct sockaddr *)&dst, dlen), gw))
		goto out;
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	if (!ASSERT_EQ(poll(pfd, n, 2000), 1, "one worker has the connection"))
		goto out;
	for (int i = 0; i < n; i++)
		if (pfd[i].revents & POLLIN)
			*worker = i;
	a = accept4(fds[*worker], NULL, NULL, SOCK_CLOEXEC);
	if (!ASSERT_GE(a, 0, "accept"))
		goto out;
	if (!ASSERT_OK(getsockname(a, (struct sockaddr *)&local, &llen), "getsockname"))
		goto out;
	ok = ASSERT_EQ(local.sin6_family, AF_INET6, "accepted family") &&
	     ASSERT_EQ(local.sin6_port, want.sin6_port, "accepted local port") &&
	     ASSERT_TRUE(!memcmp(&local.sin6_addr, &want.sin6_addr, 16), "accepted local address");
out:
	if (a >= 0)
		close(a);
	if (c >= 0)
		close(c);
	return ok;
}

/* The child of sk_lookup_netns_connect; its exit status is the verdict. */
static void netns_child(void)
{
	struct bpf_link *link = NULL;
	struct fixture f;
	int netns = -1, used[NTCP] = {}, nused = 0;

	alarm(60);
	if (!ASSERT_OK(unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)") || !netns_routes())
		goto out;
	if (!setup_flags(&f, 0))
		goto out_fixture;
	netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (!ASSERT_GE(netns, 0, "open netns"))
		goto out_fixture;
	link = bpf_program__attach_netns(f.skel->progs.xgw_sk_lookup, netns);
	if (!ASSERT_OK_PTR(link, "attach_netns"))
		goto out_fixture;

	for (int i = 0; i < 16; i++) {
		int w = -1;

		if (!connect_and_accept(i % 2 ? AF_INET6 : AF_INET, i % 2 ? GW6 : GW4, 80, f.tcp,
					NTCP, &w))
			goto out_fixture;
		nused += !used[w]++;
	}
	ASSERT_GT(nused, 1, "connections spread over workers");

	/* No listener on port 81: the normal lookup finds nothing and the SYN is refused. */
	{
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(81) };
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		inet_pton(AF_INET, GW4, &sin.sin_addr);
		if (ASSERT_GE(c, 0, "socket")) {
			ASSERT_EQ(connect(c, (struct sockaddr *)&sin, sizeof(sin)), -1,
				  "connect to unlistened port");
			ASSERT_EQ(errno, ECONNREFUSED, "ECONNREFUSED");
			close(c);
		}
	}
out_fixture:
	bpf_link__destroy(link);
	if (netns >= 0)
		close(netns);
	teardown(&f);
out:
	fflush(stdout);
	_exit(xgw_test_failed ? 1 : 0);
}

TEST(sk_lookup_netns_connect)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!ASSERT_GE(pid, 0, "fork"))
		return;
	if (pid == 0)
		netns_child();
	if (!ASSERT_EQ(waitpid(pid, &status, 0), pid, "waitpid"))
		return;
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child in its own netns");
}

static __u32 map_id(const struct bpf_map *map)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_map__fd(map), &info, &len))
		return 0;
	return info.id;
}

/* Loads both objects with pin_root_path <dir>; every map must be one and the same. */
static void shared_pins(const char *dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = dir);
	struct sk_lookup *sk = NULL;
	struct xdp_lb *xdp = NULL;
	struct bpf_map *map;

	xdp = xdp_lb__open_opts(&opts);
	if (!ASSERT_OK_PTR(xdp, "xdp_lb__open_opts") || !ASSERT_OK(xdp_lb__load(xdp), "xdp load"))
		goto out;
	sk = sk_lookup__open_opts(&opts);
	if (!ASSERT_OK_PTR(sk, "sk_lookup__open_opts") ||
	    !ASSERT_OK(sk_lookup__load(sk), "sk_lookup load"))
		goto out;
	bpf_object__for_each_map(map, sk->obj)
	{
		const struct bpf_map *twin;
		char path[256];

		twin = bpf_object__find_map_by_name(xdp->obj, bpf_map__name(map));
		if (!ASSERT_OK_PTR(twin, bpf_map__name(map)))
			continue;
		ASSERT_TRUE(bpf_map__is_pinned(map), bpf_map__name(map));
		ASSERT_NEQ(map_id(map), 0, bpf_map__name(map));
		ASSERT_EQ(map_id(map), map_id(twin), bpf_map__name(map));
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		ASSERT_OK(access(path, F_OK), path);
	}
	ASSERT_OK_PTR(bpf_object__find_map_by_name(sk->obj, XGW_MAP_WORKERS), XGW_MAP_WORKERS);
	ASSERT_OK_PTR(bpf_object__find_map_by_name(xdp->obj, XGW_MAP_STATS), XGW_MAP_STATS);
out:
	if (xdp)
		bpf_object__unpin_maps(xdp->obj, NULL);
	sk_lookup__destroy(sk);
	xdp_lb__destroy(xdp);
}

/* The child of sk_lookup_shares_pinned_maps: a private bpffs in a private mount namespace. */
static void pins_child(void)
{
	char dir[] = "/tmp/xgw-pins-XXXXXX";
	bool mounted = false;

	alarm(60);
	if (!ASSERT_OK(unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)") ||
	    !ASSERT_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make / private") ||
	    !ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		goto out;
	mounted = ASSERT_OK(mount("bpf", dir, "bpf", 0, NULL), "mount bpffs");
	if (mounted)
		shared_pins(dir);
	if (mounted)
		ASSERT_OK(umount(dir), "umount");
	ASSERT_OK(rmdir(dir), "rmdir");
out:
	fflush(stdout);
	_exit(xgw_test_failed ? 1 : 0);
}

/* Both objects declare the maps from one header, pinned by name: they must share them. */
TEST(sk_lookup_shares_pinned_maps)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!ASSERT_GE(pid, 0, "fork"))
		return;
	if (pid == 0)
		pins_child();
	if (!ASSERT_EQ(waitpid(pid, &status, 0), pid, "waitpid"))
		return;
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child with its own bpffs");
}

TEST_MAIN()
