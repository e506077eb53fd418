// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink.h"
#include "xgw/log.h"
#include "xgw/netaddr.h"

struct nlreq {
	struct nlmsghdr nh;
	struct rtmsg rt;
	char attrs[256];
};

static void add_attr(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Send one request and wait for its ack. */
static int nl_talk(int fd, struct nlreq *r)
{
	char buf[4096];
	ssize_t n;

	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (send(fd, r, r->nh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (unsigned)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
		}
	}
}

static int route_msg(int fd, int type, int flags, const struct xgw_addr_ref *a)
{
	struct nlreq r;
	int lo = (int)if_nametoindex("lo");

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.nh.nlmsg_type = (unsigned short)type;
	r.nh.nlmsg_flags = (unsigned short)flags;
	r.rt.rtm_family = a->family == 4 ? AF_INET : AF_INET6;
	r.rt.rtm_dst_len = a->family == 4 ? 32 : 128;
	r.rt.rtm_table = RT_TABLE_LOCAL;
	r.rt.rtm_protocol = XGW_RTPROT;
	r.rt.rtm_scope = RT_SCOPE_HOST;
	r.rt.rtm_type = RTN_LOCAL;
	add_attr(&r, RTA_DST, a->addr, a->family == 4 ? 4 : 16);
	if (lo > 0)
		add_attr(&r, RTA_OIF, &lo, sizeof(lo));
	return nl_talk(fd, &r);
}

/* Collect xgw's local routes of <family> (AF_INET/AF_INET6) into <out>. */
static int dump_ours(int fd, int family, struct xgw_addr_ref **out, size_t *n)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
	} req = { 0 };
	char buf[16384];
	ssize_t len;

	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.rt.rtm_family = (unsigned char)family;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (unsigned)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			struct rtmsg *rt = NLMSG_DATA(h);
			int alen = (int)RTM_PAYLOAD(h);

			if (rt->rtm_protocol != XGW_RTPROT || rt->rtm_type != RTN_LOCAL)
				continue;
			for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, alen);
			     a = RTA_NEXT(a, alen)) {
				if (a->rta_type != RTA_DST)
					continue;
				struct xgw_addr_ref *p = realloc(*out, (*n + 1) * sizeof(**out));

				if (!p)
					return -ENOMEM;
				*out = p;
				memset(&p[*n], 0, sizeof(p[*n]));
				p[*n].family = family == AF_INET ? 4 : 6;
				memcpy(p[*n].addr, RTA_DATA(a), family == AF_INET ? 4 : 16);
				(*n)++;
			}
		}
	}
}

static bool listed(const struct xgw_addr_ref *v, size_t n, const struct xgw_addr_ref *a)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].family == a->family && !memcmp(v[i].addr, a->addr, 16))
			return true;
	return false;
}

int xgw_routes_sync(const struct xgw_addr_ref *want, size_t n)
{
	struct xgw_addr_ref *have = NULL;
	size_t n_have = 0;
	char ip[XGW_IP_STRLEN];
	int fd, err;

	fd = nl_open();
	if (fd < 0) {
		log_err("netlink: %s", strerror(-fd));
		return fd;
	}
	err = dump_ours(fd, AF_INET, &have, &n_have);
	if (!err)
		err = dump_ours(fd, AF_INET6, &have, &n_have);
	if (err) {
		log_err("netlink: listing routes: %s", strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (listed(have, n_have, &want[i]))
			continue;
		err = route_msg(fd, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &want[i]);
		if (err) {
			log_err("netlink: add local route %s: %s",
				xgw_ip_format(want[i].family, want[i].addr, ip), strerror(-err));
			goto out;
		}
		log_info("route: local %s dev lo added",
			 xgw_ip_format(want[i].family, want[i].addr, ip));
	}
	for (size_t i = 0; i < n_have; i++) {
		if (listed(want, n, &have[i]))
			continue;
		err = route_msg(fd, RTM_DELROUTE, 0, &have[i]);
		if (err && err != -ESRCH) {
			log_err("netlink: delete local route %s: %s",
				xgw_ip_format(have[i].family, have[i].addr, ip), strerror(-err));
			goto out;
		}
		log_info("route: local %s removed",
			 xgw_ip_format(have[i].family, have[i].addr, ip));
		err = 0;
	}
out:
	free(have);
	close(fd);
	return err;
}
