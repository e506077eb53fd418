// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nexthop.h"

struct req {
	struct nlmsghdr nh;
	union {
		struct rtmsg rt;
		struct ndmsg nd;
	};
	char attrs[64];
};

static void put_attr(struct req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/*
 * Send <r> on a new socket and hand every reply message to <fn> until the
 * dump ends or <fn> returns non-zero (its value is returned; 0 at the end).
 */
static int talk(struct req *r, int (*fn)(const struct nlmsghdr *nh, void *arg), void *arg)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[16384] __attribute__((aligned(8)));
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), ret = 0;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || send(fd, r, r->nh.nlmsg_len, 0) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		for (struct nlmsghdr *nh = (void *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				goto out;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				ret = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				goto out;
			}
			ret = fn ? fn(nh, arg) : 0;
			if (ret)
				goto out;
		}
		if (!(r->nh.nlmsg_flags & NLM_F_DUMP))
			goto out;
	}
out:
	close(fd);
	return ret;
}

struct route_ans {
	int oif;
	int has_gw;
	uint8_t gw[16];
};

static int on_route(const struct nlmsghdr *nh, void *arg)
{
	struct route_ans *a = arg;
	const struct rtmsg *rt = NLMSG_DATA(nh);
	int len = (int)RTM_PAYLOAD(nh);

	if (nh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	for (const struct rtattr *at = RTM_RTA(rt); RTA_OK(at, len); at = RTA_NEXT(at, len)) {
		if (at->rta_type == RTA_OIF && RTA_PAYLOAD(at) >= 4)
			memcpy(&a->oif, RTA_DATA(at), 4);
		else if (at->rta_type == RTA_GATEWAY && RTA_PAYLOAD(at) <= 16) {
			memcpy(a->gw, RTA_DATA(at), RTA_PAYLOAD(at));
			a->has_gw = 1;
		}
	}
	return 1;
}

/* Neighbour states whose link-layer address may be used. */
#define NUD_USABLE (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)

struct neigh_q {
	int ifindex;
	size_t alen;
	const uint8_t *addr;
	uint8_t *mac;
};

static int on_neigh(const struct nlmsghdr *nh, void *arg)
{
	const struct neigh_q *q = arg;
	const struct ndmsg *nd = NLMSG_DATA(nh);
	int len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
	const struct rtattr *at =
		(const struct rtattr *)((const char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	const uint8_t *lladdr = NULL;
	int match = 0;

	if (nh->nlmsg_type != RTM_NEWNEIGH || nd->ndm_ifindex != q->ifindex ||
	    !(nd->ndm_state & NUD_USABLE))
		return 0;
	for (; RTA_OK(at, len); at = RTA_NEXT(at, len)) {
		if (at->rta_type == NDA_DST && RTA_PAYLOAD(at) == q->alen)
			match = !memcmp(RTA_DATA(at), q->addr, q->alen);
		else if (at->rta_type == NDA_LLADDR && RTA_PAYLOAD(at) == 6)
			lladdr = RTA_DATA(at);
	}
	if (!match || !lladdr)
		return 0;
	memcpy(q->mac, lladdr, 6);
	return 1;
}

int xgw_nexthop_mac(int ifindex, uint8_t family, const uint8_t addr[16], uint8_t neigh[16],
		    uint8_t mac[6])
{
	unsigned char af = family == 6 ? AF_INET6 : AF_INET;
	size_t alen = family == 6 ? 16 : 4;
	struct route_ans ra = { 0 };
	struct req r;
	int err;

	/* `ip route get ADDR`: which interface, through which gateway. */
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.nh.nlmsg_type = RTM_GETROUTE;
	r.nh.nlmsg_flags = NLM_F_REQUEST;
	r.rt.rtm_family = af;
	r.rt.rtm_dst_len = (unsigned char)(alen * 8);
	put_attr(&r, RTA_DST, addr, alen);
	err = talk(&r, on_route, &ra);
	if (err < 0)
		return err;
	if (ra.oif != ifindex)
		return -ENETUNREACH;
	memset(neigh, 0, 16);
	memcpy(neigh, ra.has_gw ? ra.gw : addr, alen);
	return xgw_nexthop_neigh_mac(ifindex, family, neigh, mac);
}

int xgw_nexthop_neigh_mac(int ifindex, uint8_t family, const uint8_t neigh[16], uint8_t mac[6])
{
	unsigned char af = family == 6 ? AF_INET6 : AF_INET;
	size_t alen = family == 6 ? 16 : 4;
	struct neigh_q q;
	struct req r;
	int err;

	/* `ip neigh show dev IF`: the link-layer address of the next hop. */
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	r.nh.nlmsg_type = RTM_GETNEIGH;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.nd.ndm_family = af;
	r.nd.ndm_ifindex = ifindex;
	q = (struct neigh_q){ .ifindex = ifindex, .alen = alen, .addr = neigh, .mac = mac };
	err = talk(&r, on_neigh, &q);
	if (err < 0)
		return err;
	return err ? 0 : -ENOENT;
}

int xgw_nexthop_resolve(int ifindex, uint8_t family, const uint8_t neigh[16])
{
	size_t alen = family == 6 ? 16 : 4;
	struct req r;

	/*
	 * `ip neigh replace ADDR dev IF use`: NTF_USE makes the kernel start
	 * resolution as a packet waiting for the entry would (neigh_event_send),
	 * creating the entry if needed; the state sent is ignored. Only for a
	 * neighbour without a usable entry, so that entries that somebody else
	 * manages (static ones) are never touched.
	 */
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	r.nh.nlmsg_type = RTM_NEWNEIGH;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	r.nd.ndm_family = family == 6 ? AF_INET6 : AF_INET;
	r.nd.ndm_ifindex = ifindex;
	r.nd.ndm_state = NUD_NONE;
	r.nd.ndm_flags = NTF_USE;
	put_attr(&r, NDA_DST, neigh, alen);
	return talk(&r, NULL, NULL);
}

int xgw_nexthop_watch_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_NEIGH };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	int rcvbuf = 1 << 20, err;

	if (fd < 0)
		return -errno;
	/* A node with many neighbours changes them in bursts: room, then ENOBUFS. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* One RTM_NEWNEIGH/RTM_DELNEIGH as an event; 0 when it is about IPv4/IPv6. */
static int parse_neigh(const struct nlmsghdr *nh, struct xgw_neigh_event *ev)
{
	const struct ndmsg *nd = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*nd));
	const struct rtattr *at =
		(const struct rtattr *)((const char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	size_t alen;

	if ((nh->nlmsg_type != RTM_NEWNEIGH && nh->nlmsg_type != RTM_DELNEIGH) || len < 0 ||
	    (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6))
		return -1;
	memset(ev, 0, sizeof(*ev));
	ev->ifindex = nd->ndm_ifindex;
	ev->family = nd->ndm_family == AF_INET6 ? 6 : 4;
	alen = ev->family == 6 ? 16 : 4;
	for (; RTA_OK(at, len); at = RTA_NEXT(at, len)) {
		if (at->rta_type == NDA_DST && RTA_PAYLOAD(at) == alen)
			memcpy(ev->addr, RTA_DATA(at), alen);
		else if (at->rta_type == NDA_LLADDR && RTA_PAYLOAD(at) == 6)
			memcpy(ev->mac, RTA_DATA(at), 6);
		else
			continue;
		ev->has_addr |= at->rta_type == NDA_DST;
		ev->has_mac |= at->rta_type == NDA_LLADDR;
	}
	if (!ev->has_addr)
		return -1;
	if (nh->nlmsg_type == RTM_DELNEIGH)
		ev->kind = XGW_NEIGH_GONE;
	else if (nd->ndm_state & NUD_FAILED)
		ev->kind = XGW_NEIGH_FAILED;
	else if ((nd->ndm_state & NUD_USABLE) && ev->has_mac)
		ev->kind = XGW_NEIGH_MAC;
	else
		ev->kind = XGW_NEIGH_PENDING; /* incomplete, none, noarp */
	return 0;
}

int xgw_nexthop_watch_read(int fd, void (*fn)(const struct xgw_neigh_event *ev, void *arg),
			   void *arg)
{
	char buf[16384] __attribute__((aligned(8)));
	int lost = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* events were lost: read on, then say so */
				lost = 1;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return lost ? -ENOBUFS : 0;
			return -errno;
		}
		for (struct nlmsghdr *nh = (void *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			struct xgw_neigh_event ev;

			if (!parse_neigh(nh, &ev))
				fn(&ev, arg);
		}
	}
}
