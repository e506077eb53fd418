// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Upstream connections. Each is registered with epoll once, edge-triggered,
 * for its whole life (connecting, busy, idle in the pool), so that moving
 * between those states costs no epoll_ctl. An idle one that becomes readable
 * has been closed by the server (or sent bytes nobody asked for): it is
 * dropped at once.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xgw/log.h"
#include "xgw/netaddr.h"

#include "conn.h"
#include "h2up.h"
#include "loop.h"
#include "upstream.h"
#include "upstls.h"

#define POOL_BUCKETS_MIN 64

/* Hash of an endpoint, a word at a time: it is looked up on every request. */
static uint32_t ep_hash(uint8_t family, const uint8_t addr[16], uint16_t port)
{
	uint64_t a, b, h;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	h = ((uint64_t)family << 16 | port) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ a) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 31) ^ b) * 0x94d049bb133111ebULL;
	return (uint32_t)(h ^ (h >> 32));
}

static struct xgw_pool *pool_find(struct xgw_worker *w, uint8_t family, const uint8_t addr[16],
				  uint16_t port)
{
	struct xgw_pool *p;

	if (!w->pools)
		return NULL;
	for (p = w->pools[ep_hash(family, addr, port) & w->pool_mask]; p; p = p->hnext)
		if (p->port == port && p->family == family && !memcmp(p->addr, addr, 16))
			return p;
	return NULL;
}

static int pools_grow(struct xgw_worker *w)
{
	uint32_t n = w->pools ? 2 * (w->pool_mask + 1) : POOL_BUCKETS_MIN;
	struct xgw_pool **tab = calloc(n, sizeof(*tab));

	if (!tab)
		return -ENOMEM;
	for (uint32_t i = 0; w->pools && i <= w->pool_mask; i++) {
		struct xgw_pool *p = w->pools[i], *next;

		for (; p; p = next) {
			uint32_t b = ep_hash(p->family, p->addr, p->port) & (n - 1);

			next = p->hnext;
			p->hnext = tab[b];
			tab[b] = p;
		}
	}
	free(w->pools);
	w->pools = tab;
	w->pool_mask = n - 1;
	return 0;
}

struct xgw_pool *xgw_pool_get(struct xgw_worker *w, const struct xgw_snap_endpoint *ep)
{
	struct xgw_pool *p = pool_find(w, ep->family, ep->addr, ep->port);
	uint32_t b;

	if (p)
		return p;
	/* Growing is best effort once a table exists: chains just get longer. */
	if (!w->pools || w->n_pools >= 2 * (w->pool_mask + 1)) {
		if (pools_grow(w) && !w->pools) {
			errno = ENOMEM;
			return NULL;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->family = ep->family;
	p->port = ep->port;
	memcpy(p->addr, ep->addr, 16);
	p->salen = xgw_ip_to_sockaddr(ep->family, ep->addr, ep->port, &p->sa);
	b = ep_hash(p->family, p->addr, p->port) & w->pool_mask;
	p->hnext = w->pools[b];
	w->pools[b] = p;
	w->n_pools++;
	return p;
}

void xgw_pool_outcome(struct xgw_worker *w, struct xgw_pool *p, bool ok)
{
	char ip[XGW_IP_STRLEN];
	uint64_t ms;

	if (ok) {
		p->fails = 0;
		if (!p->ejected_until && p->ejections)
			p->ejections--; /* healthy again: the next ejection is shorter */
		return;
	}
	if (p->ejected_until || ++p->fails < XGW_EJECT_AFTER)
		return;
	p->fails = 0;
	if (p->ejections < 255)
		p->ejections++;
	ms = (uint64_t)XGW_EJECT_BASE_MS * p->ejections;
	if (ms > XGW_EJECT_MAX_MS)
		ms = XGW_EJECT_MAX_MS;
	p->ejected_until = w->now + ms;
	w->n_ejected++;
	log_warn("endpoint %s:%u ejected for %llu s: %d failed exchanges in a row",
		 xgw_ip_format(p->family, p->addr, ip), p->port, (unsigned long long)ms / 1000,
		 XGW_EJECT_AFTER);
}

bool xgw_endpoint_ejected(struct xgw_worker *w, const struct xgw_snap_endpoint *ep)
{
	struct xgw_pool *p = pool_find(w, ep->family, ep->addr, ep->port);

	if (!p || !p->ejected_until)
		return false;
	if (w->now < p->ejected_until)
		return true;
	p->ejected_until = 0; /* the ejection is over: traffic tries it again */
	w->n_ejected--;
	return false;
}

uint32_t xgw_endpoint_load(void *worker, const struct xgw_snap_endpoint *ep)
{
	struct xgw_pool *p = pool_find(worker, ep->family, ep->addr, ep->port);

	/* HTTP/1.1: one exchange per busy or connecting connection. */
	return p ? p->n_conns - p->n_idle : 0;
}

static void pool_free(struct xgw_worker *w, struct xgw_pool *p)
{
	if (p->ejected_until)
		w->n_ejected--;
	struct xgw_pool **pp = &w->pools[ep_hash(p->family, p->addr, p->port) & w->pool_mask];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	}
	w->n_pools--;
	free(p);
}

static void idle_unlink(struct xgw_pool *p, struct xgw_upconn *u)
{
	if (u->prev)
		u->prev->next = u->next;
	else
		p->idle = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->prev = u->next = NULL;
	p->n_idle--;
}

static void upconn_close(struct xgw_worker *w, struct xgw_upconn *u)
{
	struct xgw_pool *p = u->pool;

	if (u->closed)
		return;
	if (!u->owner && (u->prev || p->idle == u))
		idle_unlink(p, u);
	xgw_timer_disarm(&u->timer);
	xgw_upstls_detach(u);
	close(u->fd);
	u->fd = -1;
	u->closed = true;
	u->owner = NULL;
	u->next = w->dead_ups;
	w->dead_ups = u;
	if (!--p->n_conns && p->orphan)
		pool_free(w, p);
}

void xgw_pool_conn_gone(struct xgw_worker *w, struct xgw_pool *p)
{
	if (!--p->n_conns && p->orphan)
		pool_free(w, p);
}

int xgw_upconn_get(struct xgw_worker *w, struct xgw_pool *p, struct xgw_conn *owner, bool fresh,
		   struct xgw_upconn **out)
{
	return xgw_upconn_get_tls(w, p, owner, fresh, NULL, XGW_SNAP_NONE, out);
}

int xgw_upconn_get_tls(struct xgw_worker *w, struct xgw_pool *p, struct xgw_conn *owner, bool fresh,
		       const struct xgw_snapref *sr, uint32_t tls, struct xgw_upconn **out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	uint64_t key = tls == XGW_SNAP_NONE ? 0 : xgw_upstls_key(sr->uptls, tls);
	struct xgw_upconn *u;
	int one = 1, err;

	if (tls != XGW_SNAP_NONE && !key)
		return -EINVAL; /* cannot happen: the set has an entry per uptls */
	/* an idle connection of the same kind: plain, or TLS with the same checks */
	for (u = fresh ? NULL : p->idle; u && u->tls_key != key; u = u->next)
		;
	if (u) {
		idle_unlink(p, u);
		xgw_timer_disarm(&u->timer);
		u->owner = owner;
		u->reused = true;
		*out = u;
		return 0;
	}

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->ev.type = XGW_EV_UPSTREAM;
	u->pool = p;
	u->fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0) {
		err = -errno;
		goto err_free;
	}
	setsockopt(u->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (key && (err = xgw_upstls_attach(u, sr->uptls, &sr->snap, tls)))
		goto err_close;
	if (connect(u->fd, (struct sockaddr *)&p->sa, p->salen) == 0) {
		/* TLS: connected once the handshake is, which the first event drives */
		u->tcp_up = true;
		u->connected = !u->tls;
		u->wr_ready = true;
	} else if (errno != EINPROGRESS) {
		err = -errno;
		goto err_close;
	}
	ev.data.ptr = u;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, u->fd, &ev) < 0) {
		err = -errno;
		goto err_close;
	}
	u->owner = owner;
	p->n_conns++;
	if (!u->connected)
		xgw_timer_arm(w, &u->timer, XGW_T_CONNECT);
	*out = u;
	return 0;

err_close:
	xgw_upstls_detach(u);
	close(u->fd);
err_free:
	free(u);
	return err;
}

void xgw_upconn_release(struct xgw_worker *w, struct xgw_upconn *u, bool reuse)
{
	struct xgw_pool *p;

	if (!u)
		return;
	if (u->h2) {
		xgw_h2up_release(w, u);
		return;
	}
	p = u->pool;
	u->owner = NULL;
	if (!reuse || u->closed || !u->connected || u->rdhup || u->err || p->orphan ||
	    p->n_idle >= XGW_POOL_MAX_IDLE) {
		upconn_close(w, u);
		return;
	}
	/*
	 * The response may have ended exactly at the end of a full read, so that
	 * readiness is unknown: a peek tells whether the server said more.
	 */
	if (u->rd_ready) {
		char c;

		if (u->tls ? xgw_upstls_idle_check(u)
			   : recv(u->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || errno != EAGAIN) {
			upconn_close(w, u);
			return;
		}
		u->rd_ready = false;
	}
	u->prev = NULL;
	u->next = p->idle;
	if (p->idle)
		p->idle->prev = u;
	p->idle = u;
	p->n_idle++;
	xgw_timer_arm(w, &u->timer, XGW_T_POOL_IDLE);
}

void xgw_upconn_event(struct xgw_worker *w, struct xgw_upconn *u, uint32_t events)
{
	if (u->closed)
		return;
	if (!u->owner) {
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			upconn_close(w, u);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		u->rd_ready = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		u->wr_ready = true;
	if (events & (EPOLLRDHUP | EPOLLHUP))
		u->rdhup = true;
	if (!u->connected && !u->tcp_up && !u->err) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			xgw_timer_disarm(&u->timer);
			u->err = -soerr;
		} else {
			u->tcp_up = true;
			u->connected = !u->tls;
			if (u->connected)
				xgw_timer_disarm(&u->timer);
		}
	}
	if (!u->connected && u->tcp_up && !u->err) {
		/* TLS: the handshake, under the connect timer */
		int r = xgw_upstls_handshake(w, u);

		if (!r)
			return;
		xgw_timer_disarm(&u->timer);
		if (r < 0) {
			u->err = r;
		} else {
			u->connected = true;
			u->wr_ready = true;
		}
	}
	xgw_conn_run(u->owner);
}

void xgw_upconn_timeout(struct xgw_worker *w, struct xgw_upconn *u)
{
	if (u->owner) {
		/* Only connects are timed here; the owner answers 504. */
		u->err = -ETIMEDOUT;
		xgw_conn_run(u->owner);
		return;
	}
	upconn_close(w, u);
}

void xgw_pools_sweep(struct xgw_worker *w, const struct xgw_snapshot *snap)
{
	if (!w->pools)
		return;
	for (uint32_t i = 0; i <= w->pool_mask; i++)
		for (struct xgw_pool *p = w->pools[i]; p; p = p->hnext)
			p->orphan = true;
	/* At the commit of every snapshot: stop as soon as every pool is known to
	 * stay (at 50,000 endpoints a full pass was a fifth of a worker's work). */
	for (uint32_t e = 0, left = w->n_pools; e < snap->n_endpoints && left; e++) {
		const struct xgw_snap_endpoint *ep = &snap->endpoints[e];
		struct xgw_pool *p = pool_find(w, ep->family, ep->addr, ep->port);

		if (p && p->orphan) {
			p->orphan = false;
			left--;
		}
	}
	for (uint32_t i = 0; i <= w->pool_mask; i++) {
		struct xgw_pool *p, *next;

		for (p = w->pools[i]; p; p = next) {
			next = p->hnext;
			if (!p->orphan)
				continue;
			if (!p->n_conns) {
				pool_free(w, p);
				continue;
			}
			/* its idle HTTP/2 connections close after this batch (no freeing here) */
			xgw_h2up_pool_orphaned(p);
			/* The last close frees the pool: stop touching it then. */
			while (p->idle) {
				bool last = p->n_conns == 1;

				upconn_close(w, p->idle);
				if (last)
					break;
			}
		}
	}
}

void xgw_upconns_reap(struct xgw_worker *w)
{
	while (w->dead_ups) {
		struct xgw_upconn *u = w->dead_ups;

		w->dead_ups = u->next;
		free(u);
	}
}

void xgw_pools_free(struct xgw_worker *w)
{
	if (w->pools) {
		for (uint32_t i = 0; i <= w->pool_mask; i++) {
			struct xgw_pool *p, *next;

			for (p = w->pools[i]; p; p = next) {
				next = p->hnext;
				p->orphan = false; /* freed here, not by the last close */
				while (p->idle)
					upconn_close(w, p->idle);
				if (p->n_conns)
					log_warn("pool %u: %u connections still busy at exit",
						 (unsigned)i, p->n_conns);
				free(p);
			}
		}
	}
	free(w->pools);
	w->pools = NULL;
	w->n_pools = 0;
	xgw_upconns_reap(w);
}
