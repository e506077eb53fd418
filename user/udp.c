// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * UDP listeners: datagrams relayed through sessions.
 *
 * Each worker has one UDP socket, bound to an ephemeral port, that sk_lookup
 * steers every Gateway UDP flow to; the address and port the client sent to
 * come with each datagram (IP_RECVORIGDSTADDR, IPV6_RECVORIGDSTADDR) and
 * select the UDP listener. A session is one (client address and port,
 * Gateway address and port): its first datagram picks the backend by weight
 * and an endpoint (round robin, skipping endpoints that TCP's passive health
 * ejected), and gets a socket connected to that endpoint; later datagrams of
 * the client go to the same endpoint, replies come back on that socket.
 *
 * A reply must leave from the address AND port the client sent to, or the
 * client (a connected socket, a NAT, a firewall) drops it, while the
 * worker's own socket has another port. So replies go out through a socket
 * per Gateway address and port, bound to it with SO_REUSEADDR (and
 * IP_TRANSPARENT / IPV6_TRANSPARENT, so that the address need not be
 * configured on an interface), shared by that listener's sessions and closed
 * with the last of them. sk_lookup only acts on the receive path, so it does
 * not get in the way of these sends; where no sk_lookup program runs, the
 * kernel delivers a client's next datagrams to the bound socket (the more
 * specific match), which is why it is read exactly as the worker's socket is.
 *
 * A session ends after the idle timeout without a datagram either way. The
 * table is capped: a new client is turned away (its datagram dropped,
 * counted in upstream_errors, logged at most every 10 s) while it is full.
 * A datagram without a listener, route or endpoint is dropped, as the
 * snapshot contract says. Sessions copy what they need (the endpoint, the
 * addresses): they outlive snapshot swaps as TCP tunnels do.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xgw/hash.h"
#include "xgw/log.h"
#include "xgw/netaddr.h"

#include "loop.h"
#include "router.h"
#include "udp.h"
#include "upstream.h"

#define RX_BATCH 64	   /* datagrams per socket per wakeup: fairness */
#define FULL_WARN_MS 10000 /* a full table is logged at most this often */
#define MAX_DGRAM 65536

/* A socket clients' datagrams arrive on: the worker's, or a reply socket. */
struct udp_fd {
	struct xgw_ev ev; /* XGW_EV_UDP */
	int fd;
	bool reply; /* bound to a Gateway address and port, to answer from it */
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
	uint32_t refs; /* reply sockets: the sessions answering through it */
	struct udp_fd *next;
};

struct udp_key {
	uint8_t cfam, gfam; /* client, Gateway */
	uint16_t cport, gport;
	uint8_t caddr[16], gaddr[16];
};

struct udp_sess {
	struct xgw_ev ev; /* XGW_EV_UDP_UP */
	int fd;		  /* connected to the backend endpoint */
	struct xgw_timer timer;
	struct udp_key key;
	struct udp_fd *reply;
	struct sockaddr_storage client;
	socklen_t client_len;
	struct udp_sess *hnext;
};

struct xgw_udp {
	struct udp_fd *socks;	/* the worker's own (from the agent) */
	struct udp_fd *replies; /* one per Gateway address and port in use */
	struct udp_sess **tab;
	uint32_t mask;
	uint32_t n_sess, max_sess;
	uint64_t full_drops;
	uint64_t full_warned; /* CLOCK_MONOTONIC ms */
	uint64_t bind_warned; /* likewise, for reply sockets that cannot bind */
	char buf[MAX_DGRAM];
};

static uint32_t key_hash(const struct udp_key *k)
{
	return xgw_fnv1a(XGW_FNV_OFFSET, k, sizeof(*k));
}

static struct xgw_udp *udp_state(struct xgw_worker *w, uint32_t max_sessions)
{
	struct xgw_udp *m = w->udp;
	uint32_t size = 64;

	if (m)
		return m;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->max_sess = max_sessions ? max_sessions : XGW_UDP_MAX_SESSIONS;
	while (size < m->max_sess && size < (1u << 20))
		size *= 2;
	m->tab = calloc(size, sizeof(*m->tab));
	if (!m->tab) {
		free(m);
		return NULL;
	}
	m->mask = size - 1;
	w->udp = m;
	return m;
}

static void setopt(int fd, int level, int name)
{
	int one = 1;

	setsockopt(fd, level, name, &one, sizeof(one));
}

static int epoll_in(struct xgw_worker *w, int fd, void *ptr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };

	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int xgw_udp_add_socket(struct xgw_worker *w, int fd, uint32_t max_sessions)
{
	struct xgw_udp *m = udp_state(w, max_sessions);
	struct udp_fd *u;
	int err;

	if (!m || !(u = calloc(1, sizeof(*u)))) {
		close(fd);
		return -ENOMEM;
	}
	u->ev.type = XGW_EV_UDP;
	u->fd = fd;
	/* Where each datagram was going: the listener. One of the two fails per family. */
	setopt(fd, SOL_IP, IP_RECVORIGDSTADDR);
	setopt(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR);
	err = epoll_in(w, fd, u);
	if (err) {
		close(fd);
		free(u);
		return err;
	}
	u->next = m->socks;
	m->socks = u;
	return 0;
}

/* The reply socket of Gateway address (<family>, <addr>, <port>), a reference taken. */
static struct udp_fd *reply_get(struct xgw_worker *w, uint8_t family, const uint8_t addr[16],
				uint16_t port)
{
	struct xgw_udp *m = w->udp;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct udp_fd *u;
	char ip[XGW_IP_STRLEN];
	int err;

	for (u = m->replies; u; u = u->next) {
		if (u->family == family && u->port == port && !memcmp(u->addr, addr, 16)) {
			u->refs++;
			return u;
		}
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->ev.type = XGW_EV_UDP;
	u->reply = true;
	u->family = family;
	u->port = port;
	memcpy(u->addr, addr, 16);
	sl = xgw_ip_to_sockaddr(family, addr, port, &ss);
	u->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		goto err_free;
	/* Beside the worker's socket (and any other worker's) on the same port. */
	setopt(u->fd, SOL_SOCKET, SO_REUSEADDR);
	if (family == 4) {
		setopt(u->fd, SOL_IP, IP_RECVORIGDSTADDR);
		/* Without CAP_NET_ADMIN these fail: then the address must be local. */
		setopt(u->fd, SOL_IP, IP_TRANSPARENT);
		setopt(u->fd, SOL_IP, IP_FREEBIND);
	} else {
		setopt(u->fd, SOL_IPV6, IPV6_V6ONLY);
		setopt(u->fd, SOL_IPV6, IPV6_RECVORIGDSTADDR);
		setopt(u->fd, SOL_IPV6, IPV6_TRANSPARENT);
		setopt(u->fd, SOL_IPV6, IPV6_FREEBIND);
	}
	if (bind(u->fd, (struct sockaddr *)&ss, sl) || epoll_in(w, u->fd, u))
		goto err_close;
	u->refs = 1;
	u->next = m->replies;
	m->replies = u;
	return u;

err_close:
	err = errno;
	xgw_ip_format(family, addr, ip);
	/* Every new client would say it again: once per FULL_WARN_MS, debug otherwise. */
	if (!m->bind_warned || w->now - m->bind_warned >= FULL_WARN_MS) {
		log_warn("UDP reply socket %s port %u: %s", ip, port, strerror(err));
		m->bind_warned = w->now;
	} else {
		log_debug("UDP reply socket %s port %u: %s", ip, port, strerror(err));
	}
	close(u->fd);
err_free:
	free(u);
	return NULL;
}

static void reply_put(struct xgw_worker *w, struct udp_fd *u)
{
	struct udp_fd **pp;

	if (--u->refs)
		return;
	for (pp = &w->udp->replies; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	}
	close(u->fd);
	free(u);
}

static struct udp_sess *sess_find(struct xgw_udp *m, const struct udp_key *k)
{
	for (struct udp_sess *s = m->tab[key_hash(k) & m->mask]; s; s = s->hnext)
		if (!memcmp(&s->key, k, sizeof(*k)))
			return s;
	return NULL;
}

static void sess_free(struct xgw_worker *w, struct udp_sess *s)
{
	struct xgw_udp *m = w->udp;
	struct udp_sess **pp = &m->tab[key_hash(&s->key) & m->mask];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	}
	xgw_timer_disarm(&s->timer);
	close(s->fd);
	reply_put(w, s->reply);
	m->n_sess--;
	free(s);
}

/* An endpoint of the UDP listener (<k>'s Gateway side) per its route, or XGW_SNAP_NONE. */
static uint32_t route(struct xgw_worker *w, const struct udp_key *k)
{
	struct xgw_snapref *sr = w->snap;
	const struct xgw_snapshot *s;
	uint32_t l, v, b, cl, e = XGW_SNAP_NONE;

	if (!sr)
		return XGW_SNAP_NONE;
	s = &sr->snap;
	l = xgw_router_udp_listener(sr->router, k->gfam, k->gaddr, k->gport);
	if (l == XGW_SNAP_NONE)
		return XGW_SNAP_NONE;
	v = xgw_router_vhost(sr->router, l, NULL, 0);
	if (v == XGW_SNAP_NONE || !s->vhosts[v].match_count)
		return XGW_SNAP_NONE;
	b = xgw_router_pick_backend(sr->router, s->matches[s->vhosts[v].match_first].rule);
	if (b == XGW_SNAP_NONE || (cl = s->backends[b].cluster) == XGW_SNAP_NONE)
		return XGW_SNAP_NONE;
	for (uint32_t i = 0; i < s->clusters[cl].ep_count; i++) {
		e = xgw_router_pick_endpoint(sr->router, cl);
		if (e == XGW_SNAP_NONE || !xgw_endpoint_ejected(w, &s->endpoints[e]))
			break;
	}
	return e;
}

static struct udp_sess *sess_new(struct xgw_worker *w, const struct udp_key *k)
{
	struct xgw_udp *m = w->udp;
	const struct xgw_snap_endpoint *ep;
	struct sockaddr_storage ss;
	struct udp_sess *s;
	socklen_t sl;
	uint32_t e, h;

	if (m->n_sess >= m->max_sess) {
		m->full_drops++;
		w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
		if (!m->full_warned || w->now - m->full_warned >= FULL_WARN_MS) {
			log_warn("UDP session table full (%u): %llu datagram(s) of new clients "
				 "dropped",
				 m->max_sess, (unsigned long long)m->full_drops);
			m->full_warned = w->now;
		}
		return NULL;
	}
	e = route(w, k);
	if (e == XGW_SNAP_NONE) {
		log_debug("UDP datagram to port %u dropped: no listener, route or endpoint",
			  k->gport);
		return NULL;
	}
	ep = &w->snap->snap.endpoints[e];
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ev.type = XGW_EV_UDP_UP;
	s->key = *k;
	s->client_len = xgw_ip_to_sockaddr(k->cfam, k->caddr, k->cport, &s->client);
	sl = xgw_ip_to_sockaddr(ep->family, ep->addr, ep->port, &ss);
	s->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		goto err_free;
	if (connect(s->fd, (struct sockaddr *)&ss, sl) || epoll_in(w, s->fd, s))
		goto err_close;
	s->reply = reply_get(w, k->gfam, k->gaddr, k->gport);
	if (!s->reply)
		goto err_close;
	h = key_hash(k) & m->mask;
	s->hnext = m->tab[h];
	m->tab[h] = s;
	m->n_sess++;
	w->stats[XGW_WSTAT_UDP_SESSIONS]++;
	return s;

err_close:
	log_debug("UDP session: %s", strerror(errno));
	close(s->fd);
err_free:
	free(s);
	return NULL;
}

/* The original destination of a received datagram, from its control messages. */
static int orig_dst(struct msghdr *mh, struct udp_key *k)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		struct sockaddr_storage ss = { 0 };

		if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_ORIGDSTADDR)
			memcpy(&ss, CMSG_DATA(cm), sizeof(struct sockaddr_in));
		else if (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_ORIGDSTADDR)
			memcpy(&ss, CMSG_DATA(cm), sizeof(struct sockaddr_in6));
		else
			continue;
		return xgw_ip_from_sockaddr((struct sockaddr *)&ss, &k->gfam, k->gaddr, &k->gport);
	}
	return -ENOENT;
}

/* Datagrams of clients on <u>: to their sessions' backends. */
static void client_rx(struct xgw_worker *w, struct udp_fd *u)
{
	struct xgw_udp *m = w->udp;

	for (int i = 0; i < RX_BATCH; i++) {
		char ctl[2 * CMSG_SPACE(sizeof(struct sockaddr_in6))];
		struct sockaddr_storage peer;
		struct iovec iov = { .iov_base = m->buf, .iov_len = sizeof(m->buf) };
		struct msghdr mh = {
			.msg_name = &peer,
			.msg_namelen = sizeof(peer),
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl,
			.msg_controllen = sizeof(ctl),
		};
		struct udp_key k = { 0 };
		struct udp_sess *s;
		ssize_t n = recvmsg(u->fd, &mh, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_debug("UDP receive: %s", strerror(errno));
			return;
		}
		if (xgw_ip_from_sockaddr((struct sockaddr *)&peer, &k.cfam, k.caddr, &k.cport))
			continue;
		if (orig_dst(&mh, &k)) {
			if (!u->reply)
				continue; /* no destination: nothing to route on */
			k.gfam = u->family;
			k.gport = u->port;
			memcpy(k.gaddr, u->addr, 16);
		}
		if (k.cfam != k.gfam)
			continue;
		s = sess_find(m, &k);
		if (!s && !(s = sess_new(w, &k)))
			continue;
		/* An ICMP error of an earlier datagram may surface here: no matter. */
		if (send(s->fd, m->buf, (size_t)n, 0) < 0 && errno != EAGAIN)
			log_debug("UDP to backend: %s", strerror(errno));
		xgw_timer_arm(w, &s->timer, XGW_T_UDP);
	}
}

/* Datagrams of the backend of <s>: to its client, from the address it sent to. */
static void backend_rx(struct xgw_worker *w, struct udp_sess *s)
{
	struct xgw_udp *m = w->udp;

	for (int i = 0; i < RX_BATCH; i++) {
		ssize_t n = recv(s->fd, m->buf, sizeof(m->buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED) {
				/* ICMP port unreachable: nothing listens at the endpoint. */
				w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
				continue;
			}
			if (errno != EAGAIN)
				log_debug("UDP from backend: %s", strerror(errno));
			return;
		}
		if (sendto(s->reply->fd, m->buf, (size_t)n, 0, (struct sockaddr *)&s->client,
			   s->client_len) < 0 &&
		    errno != EAGAIN)
			log_debug("UDP to client: %s", strerror(errno));
		xgw_timer_arm(w, &s->timer, XGW_T_UDP);
	}
}

void xgw_udp_event(struct xgw_worker *w, struct xgw_ev *ev, uint32_t events)
{
	(void)events;
	if (ev->type == XGW_EV_UDP)
		client_rx(w, (struct udp_fd *)ev);
	else
		backend_rx(w, (struct udp_sess *)ev);
}

void xgw_udp_timeout(struct xgw_worker *w, struct xgw_timer *t)
{
	sess_free(w, container_of(t, struct udp_sess, timer));
}

void xgw_udp_drain(struct xgw_worker *w)
{
	struct xgw_udp *m = w->udp;

	while (m && m->socks) {
		struct udp_fd *u = m->socks;

		m->socks = u->next;
		close(u->fd);
		free(u);
	}
}

void xgw_udp_free(struct xgw_worker *w)
{
	struct xgw_udp *m = w->udp;

	if (!m)
		return;
	for (uint32_t i = 0; i <= m->mask; i++)
		while (m->tab[i])
			sess_free(w, m->tab[i]);
	xgw_udp_drain(w);
	free(m->tab);
	free(m);
	w->udp = NULL;
}
