// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Client connections and the HTTP/1.1 proxy state machine.
 *
 * Sockets are edge-triggered and registered once; rd_ready / wr_ready
 * remember readiness until a short read or write (or EAGAIN) clears them, so
 * nothing is re-armed per request and no read is issued that would only say
 * EAGAIN. xgw_conn_run() calls the step of the current state until it stops
 * making progress; upstream events call it too.
 *
 * A request head is parsed in place in the client buffer (rb); the rewritten
 * head goes upstream as iovecs over it, followed by the body bytes as they
 * come, bounded by the body's framing so that a pipelined next request stays
 * in rb. The response flows the same way through sb. Each direction reads
 * only while its buffer has room: a slow reader stalls its writer (bounded
 * memory), and bytes are never copied except to compact a full buffer.
 *
 * HTTPRoute filters shape the heads as they are queued (rewrite.c), from the
 * rule's and the chosen backend's filter spans kept in c->flt; a redirect is
 * answered as a local response. forward.c builds the head sent upstream
 * and the mirrored copies of the request (sent by mirror.c).
 * The route's request and backendRequest timeouts are deadline timers
 * (loop.h): 504 while no response head has gone out, else a close.
 *
 * A rule's retry policy makes a failed attempt (a connection error before
 * any response byte, a backendRequest timeout, a status of its codes)
 * wait its backoff in XGW_CS_BACKOFF on a deadline timer, then go again to
 * the next endpoint of the same backend. Only a request read whole before it
 * is routed is retried: its head and body are still in rb and are sent
 * again from there. A CORS filter answers preflights here (cors.c) and
 * has its lines added to the response heads of allowed origins.
 *
 * A connection to an HTTPS listener starts in XGW_CS_TLS (the handshake,
 * tls.c), then reads and writes the client through its SSL: xgw_io_read()
 * and xgw_xfer_flush() take it. Readiness is the same: a read clears rd_ready
 * only when OpenSSL wants more bytes, not on a short record.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "xgw/log.h"
#include "xgw/netaddr.h"

#include "conn.h"
#include "cors.h"
#include "forward.h"
#include "loop.h"
#include "rewrite.h"
#include "rstats.h"
#include "session.h"
#include "router.h"
#include "h2.h"
#include "h2up.h"
#include "l4.h"
#include "tls.h"
#include "upstream.h"
#include "xfer.h"

#define MAX_FREE_CONNS 4096

/* What a step did: run again, wait for an event, or the connection is gone. */
enum step {
	STEP_AGAIN = XGW_STEP_AGAIN,
	STEP_WAIT = XGW_STEP_WAIT,
	STEP_STOP = XGW_STEP_STOP,
};

#define CL_IO(c) (&(struct xgw_io){ (c)->fd, (c)->tls, (c)->h2s })
#define UP_IO(u) (&(struct xgw_io){ (u)->fd, (u)->tls, NULL, (u)->h2us })

static int conn_step_local(struct xgw_conn *c, int status, bool close);

/* Is the connection to close after the current response (worker draining, listener gone)? */
static inline bool conn_closing(const struct xgw_conn *c)
{
	return c->w->draining || c->lsn_gone;
}

static void count_status(struct xgw_conn *c, int status)
{
	struct xgw_worker *w = c->w;

	/* per route: the rule's pointer to its route's counters, found once per snapshot */
	if (c->acct_rule != XGW_SNAP_NONE && c->snap) {
		uint64_t **ctr = &c->snap->rule_ctr[c->acct_rule];

		if (!*ctr) {
			struct xgw_snap_str name = c->snap->snap.rules[c->acct_rule].route;

			*ctr = xgw_rstats_get(w->rstats, xgw_snap_str_ptr(&c->snap->snap, name),
					      name.len);
		}
		if (*ctr)
			xgw_rstats_count(*ctr, status);
	}
	if (status >= 500)
		w->stats[XGW_WSTAT_RESP_5XX]++;
	else if (status >= 400)
		w->stats[XGW_WSTAT_RESP_4XX]++;
}

/*
 * The bytes of [<from>, <to>) of <c> are zeroed: everything but the iovec
 * arrays of c->req and c->resp, whose pieces [iov_i, iov_n) alone are read.
 * They are most of the structure (2.3 KiB), and an HTTP/2 stream takes a
 * connection per request.
 */
_Static_assert(offsetof(struct xgw_conn, ev) == 0, "CONN_ZERO starts at the first field");
_Static_assert(offsetof(struct xgw_xfer, iov_i) == sizeof(((struct xgw_xfer *)0)->iov),
	       "CONN_ZERO skips the iovec array alone: iov_i follows it");
#define CONN_ZERO(c, from, to)                                                                     \
	memset((char *)(c) + offsetof(struct xgw_conn, from), 0,                                   \
	       offsetof(struct xgw_conn, to) - offsetof(struct xgw_conn, from))

/* A zeroed connection on socket <fd> (-1 for an HTTP/2 stream), from the free list if it can. */
static struct xgw_conn *conn_alloc(struct xgw_worker *w, int fd)
{
	struct xgw_conn *c = w->free_conns;

	if (c) {
		w->free_conns = c->next;
		w->n_free_conns--;
	} else {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
	}
	CONN_ZERO(c, ev, req.iov);
	CONN_ZERO(c, req.iov_i, resp.iov);
	memset(&c->resp.iov_i, 0, sizeof(*c) - offsetof(struct xgw_conn, resp.iov_i));
	c->ev.type = XGW_EV_CLIENT;
	c->rq_timer.kind = XGW_DT_REQUEST;
	c->be_timer.kind = XGW_DT_BACKEND;
	c->bo_timer.kind = XGW_DT_BACKOFF;
	c->acct_rule = XGW_SNAP_NONE;
	c->fd = fd;
	c->w = w;
	c->lsn = XGW_SNAP_NONE;
	return c;
}

/* <c> joins the worker's connections, its request head awaited. */
static void conn_link(struct xgw_worker *w, struct xgw_conn *c)
{
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->n_conns++;
	xgw_timer_arm(w, &c->timer, XGW_T_HEADER);
}

int xgw_conn_accept(struct xgw_worker *w, int fd, const struct sockaddr *peer)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct xgw_conn *c;
	uint16_t pport;
	int one = 1, err;

	c = conn_alloc(w, fd);
	if (!c) {
		err = -ENOMEM;
		goto err_close;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Once per connection: with sk_lookup this is the Gateway address dialled. */
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		err = -errno;
		goto err_free;
	}
	err = xgw_ip_from_sockaddr((struct sockaddr *)&ss, &c->lfamily, c->laddr, &c->lport);
	if (!err)
		err = xgw_ip_from_sockaddr(peer, &c->pfamily, c->paddr, &pport);
	if (err)
		goto err_free;
	/* Three deadline timers per connection: the heap never grows on a request's path. */
	if (xgw_dtimer_reserve(w, 3 * (w->n_conns + 1))) {
		err = -ENOMEM;
		goto err_free;
	}
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = -errno;
		goto err_free;
	}
	c->state = XGW_CS_HEAD;
	if (w->snap) {
		struct xgw_snapref *sr = w->snap;

		c->lsn = xgw_router_listener(sr->router, c->lfamily, c->laddr, c->lport);
		c->lsn_seq = sr->seq;
		if (c->lsn != XGW_SNAP_NONE && xgw_l4_listener(&sr->snap, c->lsn)) {
			/* TCP, TLS: bytes, not requests (l4.c) */
			xgw_l4_accept(c, sr);
		} else if (c->lsn != XGW_SNAP_NONE &&
			   sr->snap.listeners[c->lsn].proto == XGW_LPROTO_HTTPS) {
			c->tls = xgw_tls_new_conn(sr->tls, c->lsn, fd);
			if (!c->tls) {
				err = -ENOMEM;
				goto err_free;
			}
			/* the contexts of the handshake stay until its end */
			c->snap = xgw_snapref_get(sr);
			c->state = XGW_CS_TLS;
			c->secure = true;
		}
	}
	/* Writable at once; readable when epoll says so (it reports data already queued). */
	c->wr_ready = true;
	conn_link(w, c);
	w->stats[XGW_WSTAT_CONNS_ACCEPTED]++;
	return 0;

err_free:
	c->next = w->free_conns;
	w->free_conns = c;
	w->n_free_conns++;
err_close:
	log_warn("accepted connection dropped: %s", strerror(-err));
	close(fd);
	return err;
}

/* The request is over (or the connection): its route's deadlines no longer apply. */
static void deadlines_disarm(struct xgw_conn *c)
{
	xgw_dtimer_disarm(c->w, &c->rq_timer);
	xgw_dtimer_disarm(c->w, &c->be_timer);
	xgw_dtimer_disarm(c->w, &c->bo_timer);
}

/* Give back what a connection holds for an exchange: deadlines, the
 * upstream connection, the snapshot reference and the buffers. */
static void drop_exchange(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;

	deadlines_disarm(c);
	xgw_upconn_release(w, c->up, false);
	c->up = NULL;
	xgw_snapref_put(w, c->snap);
	c->snap = NULL;
	xgw_buf_put(w, c->rb);
	xgw_buf_put(w, c->sb);
	c->rb = c->sb = NULL;
}

static void conn_close(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;

	if (c->state == XGW_CS_CLOSED)
		return;
	drop_exchange(c);
	xgw_timer_disarm(&c->timer);
	if (c->h2s) {
		xgw_h2s_detach(c->h2s);
		c->h2s = NULL;
	}
	xgw_tls_close(c->tls);
	c->tls = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
	c->state = XGW_CS_CLOSED;
	c->prev = NULL;
	c->next = w->dead_conns;
	w->dead_conns = c;
}

/*
 * Close after a response. If the client may still be sending (an unread
 * body, pipelined requests), closing now with bytes unread would send a
 * reset that can destroy the response in flight: shut our side instead and
 * read until the client's FIN (or the linger timeout).
 */
static int conn_finish(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	bool unread = c->rd_ready || !c->req.complete || (c->rb && c->rb->end > c->req.lim);

	if (!unread || c->h2s) { /* a stream ends with its exchange: nothing to linger on */
		conn_close(c);
		return STEP_STOP;
	}
	drop_exchange(c);
	xgw_io_shut_wr(c->fd, c->tls);
	c->state = XGW_CS_LINGER;
	xgw_timer_arm(w, &c->timer, XGW_T_LINGER);
	return STEP_AGAIN;
}

static int linger_step(struct xgw_conn *c)
{
	char sink[4096];

	while (c->rd_ready) {
		ssize_t n = recv(c->fd, sink, sizeof(sink), 0);

		if (n > 0) {
			if ((size_t)n < sizeof(sink) && !c->rdhup)
				c->rd_ready = false;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			c->rd_ready = errno == EINTR;
			continue;
		}
		conn_close(c);
		return STEP_STOP;
	}
	return STEP_WAIT;
}

/*
 * The response to the current request is written: release what the request
 * held and go on with the next one (maybe already in rb), or close.
 */
static int request_done(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	struct xgw_buf *b = c->rb;

	deadlines_disarm(c);
	xgw_snapref_put(w, c->snap);
	c->snap = NULL;
	xgw_buf_put(w, c->sb);
	c->sb = NULL;
	c->grpc = false;
	if (c->h2s)
		xgw_h2s_done(c->h2s);
	if (!c->ka || conn_closing(c) || !b || c->h2s)
		return conn_finish(c);

	/* Pipelined requests are parsed where they are, without moving them. */
	if (b->end > c->req.lim) {
		b->start = c->req.lim;
		xgw_timer_arm(w, &c->timer, XGW_T_HEADER);
	} else {
		xgw_buf_put(w, b);
		c->rb = NULL;
		xgw_timer_arm(w, &c->timer, XGW_T_KEEPALIVE);
	}
	c->state = XGW_CS_HEAD;
	return STEP_AGAIN;
}

/*
 * <ep> of backend <backend>'s cluster, or, when it is ejected (passive health,
 * upstream.c), the next endpoint of the cluster that is not. When all are
 * ejected, <ep> all the same: a degraded answer beats none.
 */
static uint32_t healthy_endpoint(struct xgw_conn *c, uint32_t backend, uint32_t ep)
{
	const struct xgw_snapshot *s = &c->snap->snap;
	const struct xgw_snap_cluster *cl;

	if (backend == XGW_SNAP_NONE || s->backends[backend].cluster == XGW_SNAP_NONE ||
	    !xgw_endpoint_ejected(c->w, &s->endpoints[ep]))
		return ep;
	cl = &s->clusters[s->backends[backend].cluster];
	for (uint32_t k = 1; k < cl->ep_count; k++) {
		uint32_t e = cl->ep_first + (ep - cl->ep_first + k) % cl->ep_count;

		if (!xgw_endpoint_ejected(c->w, &s->endpoints[e]))
			return e;
	}
	return ep;
}

/*
 * Answer the current request from the gateway. <close> forces the
 * connection closed after; otherwise it is kept when the client wants and
 * the request has been read whole (its body, if any, is skipped).
 */
static int conn_step_local(struct xgw_conn *c, int status, bool close)
{
	struct xgw_worker *w = c->w;
	const struct xgw_lresp *r;

	xgw_upconn_release(w, c->up, false);
	c->up = NULL;
	c->ka = !close && c->req_ka && c->req.complete && !conn_closing(c);
	if (c->ka && c->rb)
		c->rb->start = c->req.lim;
	/* a gRPC client learns the error from grpc-status (trailers-only) */
	r = c->grpc ? xgw_grpc_local_response(status, c->ka) : xgw_local_response(status, c->ka);
	c->resp.iov[0].iov_base = (void *)r->data;
	c->resp.iov[0].iov_len = c->head_req ? r->head_len : r->len;
	c->resp.iov_i = 0;
	c->resp.iov_n = 1;
	c->status = (uint16_t)status;
	count_status(c, status);
	c->state = XGW_CS_LOCAL;
	xgw_timer_arm(w, &c->timer, XGW_T_EXCHANGE);
	return STEP_AGAIN;
}

/* Answer the current request with the redirect of filter <filter>. */
static int conn_step_redirect(struct xgw_conn *c, const struct xgw_h1_request *req, uint32_t filter)
{
	struct xgw_worker *w = c->w;
	const struct xgw_snap_filter *f = &c->snap->snap.filters[filter];

	c->ka = c->req_ka && c->req.complete && !conn_closing(c);
	if (xgw_rewrite_redirect(&c->resp, req, &c->flt, filter, c->ka))
		return conn_step_local(c, 500, true);
	if (c->ka && c->rb)
		c->rb->start = c->req.lim;
	c->status = f->status ? f->status : 302;
	count_status(c, c->status);
	c->state = XGW_CS_LOCAL;
	xgw_timer_arm(w, &c->timer, XGW_T_EXCHANGE);
	return STEP_AGAIN;
}

static int local_step(struct xgw_conn *c)
{
	ssize_t n;

	if (!c->wr_ready)
		return STEP_WAIT;
	n = xgw_xfer_flush(CL_IO(c), &c->resp, NULL, &c->wr_ready);
	if (n < 0) {
		conn_close(c);
		return STEP_STOP;
	}
	if (xgw_xfer_pending(&c->resp, NULL))
		return STEP_WAIT;
	return request_done(c);
}

/*
 * The CORS filter of the route, if any: answer a preflight (OPTIONS with
 * Origin and Access-Control-Request-Method) from the gateway, or note an
 * allowed Origin for the response head. Returns a step, or -1 to go on.
 */
static int cors_request(struct xgw_conn *c, const struct xgw_h1_request *req)
{
	struct xgw_worker *w = c->w;
	const struct xgw_snapshot *s = &c->snap->snap;
	uint32_t f = xgw_cors_find(&c->flt);
	struct xgw_cors_req q;
	enum xgw_cors_allow v;

	if (f == XGW_SNAP_NONE)
		return -1;
	q.origin = xgw_fwd_header(req, XGW_H1_HDR_ORIGIN, &q.origin_len);
	if (!q.origin)
		return -1;
	q.method = xgw_fwd_header(req, XGW_H1_HDR_ACR_METHOD, &q.method_len);
	q.headers = xgw_fwd_header(req, XGW_H1_HDR_ACR_HEADERS, &q.headers_len);
	if (q.method && req->method_len == 7 && !memcmp(req->method, "OPTIONS", 7)) {
		c->ka = c->req_ka && c->req.complete && !conn_closing(c);
		if (xgw_cors_preflight(&c->resp, c->snap->router, f, &q, c->ka))
			return conn_step_local(c, 500, true);
		if (c->ka && c->rb)
			c->rb->start = c->req.lim;
		c->status = 200;
		count_status(c, c->status);
		c->state = XGW_CS_LOCAL;
		xgw_timer_arm(w, &c->timer, XGW_T_EXCHANGE);
		return STEP_AGAIN;
	}
	v = xgw_cors_allowed(s, f, q.origin, q.origin_len);
	if (v == XGW_CORS_DENIED)
		return -1;
	if (v == XGW_CORS_ANY && !(s->filters[f].flags & XGW_CORS_CREDENTIALS)) {
		c->flt.origin = NULL;
	} else if (q.origin_len <= sizeof(c->cors_origin)) {
		/* Copied: the head may be overwritten by the time the response comes. */
		memcpy(c->cors_origin, q.origin, q.origin_len);
		c->flt.origin = c->cors_origin;
		c->flt.origin_len = q.origin_len;
	} else {
		return -1;
	}
	c->flt.cors = true;
	c->flt.cors_filter = f;
	return -1;
}

/* Does the chosen backend's cluster speak HTTP/2 with prior knowledge (appProtocol h2c)? */
static bool backend_h2c(const struct xgw_conn *c)
{
	const struct xgw_snapshot *s = &c->snap->snap;
	uint32_t cl = c->backend == XGW_SNAP_NONE ? XGW_SNAP_NONE : s->backends[c->backend].cluster;

	return cl != XGW_SNAP_NONE && s->clusters[cl].proto == XGW_CPROTO_H2C;
}

/* An upstream connection to <p> (an h2c cluster's: an HTTP/2 stream), in TLS if a policy says. */
static int up_get(struct xgw_conn *c, struct xgw_pool *p, bool fresh, struct xgw_upconn **out)
{
	const struct xgw_snapshot *s = &c->snap->snap;
	uint32_t cl = c->backend == XGW_SNAP_NONE ? XGW_SNAP_NONE : s->backends[c->backend].cluster;
	uint32_t tls = cl == XGW_SNAP_NONE ? XGW_SNAP_NONE : s->clusters[cl].tls;

	if (backend_h2c(c))
		return xgw_h2up_get_tls(c->w, p, c, fresh, c->snap, tls, out);
	return xgw_upconn_get_tls(c->w, p, c, fresh, c->snap, tls, out);
}

/*
 * The attempt in progress failed and c->tries_left allows another: drop its
 * upstream connection and what it answered, and wait the rule's backoff.
 */
static int retry_schedule(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;

	c->tries_left--;
	xgw_dtimer_disarm(w, &c->be_timer);
	xgw_upconn_release(w, c->up, false);
	c->up = NULL;
	xgw_buf_put(w, c->sb);
	c->sb = NULL;
	c->resp_head = c->resp_bytes = c->up_ka = c->req_dead = false;
	c->status = 0;
	xgw_xfer_init(&c->resp, XGW_H1_BODY_NONE, 0, 0);
	c->resp.complete = false;
	c->state = XGW_CS_BACKOFF;
	xgw_dtimer_arm(w, &c->bo_timer, c->snap->snap.rules[c->rule].retry_backoff_ms);
	xgw_timer_arm(w, &c->timer, XGW_T_EXCHANGE);
	return STEP_WAIT;
}

/*
 * The backoff is over: send the request again, from rb where it still is
 * whole, to the next endpoint of the chosen backend's cluster.
 */
static void retry_attempt(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	const struct xgw_snapshot *s = &c->snap->snap;
	const struct xgw_h1_request *req = &w->req;
	struct xgw_pool *pool = NULL;
	uint32_t ep;
	int err;

	ep = xgw_router_pick_endpoint(c->snap->router, s->backends[c->backend].cluster);
	if (ep != XGW_SNAP_NONE && w->n_ejected)
		ep = healthy_endpoint(c, c->backend, ep);
	if (ep != XGW_SNAP_NONE)
		pool = xgw_pool_get(w, &s->endpoints[ep]);
	if (!pool) {
		conn_step_local(c, 503, !c->req.complete);
		goto run;
	}
	/* The session follows the endpoint that answers. */
	if (c->flt.sess.rule != XGW_SNAP_NONE) {
		c->flt.sess.send = true;
		c->flt.sess.created = c->flt.sess.now;
		xgw_session_issue(&c->flt.sess, s, ep);
	}
	log_debug("retrying to endpoint %u (%u retries left after this)", ep, c->tries_left);
	/* Parse the head again for its views; queue head and body anew. */
	c->rb->start = c->head_off + c->head_len;
	if (xgw_h1_parse_request(c->rb->data + c->head_off, c->head_len, &w->req) !=
	    (int)c->head_len) {
		conn_step_local(c, 502, true);
		goto run;
	}
	xgw_xfer_init(&c->req, (uint8_t)req->body, req->content_length, c->rb->start);
	if (xgw_fwd_request_head(c) || xgw_xfer_claim(&c->req, c->rb)) {
		conn_step_local(c, 502, true);
		goto run;
	}
	c->state = XGW_CS_PROXY;
	err = up_get(c, pool, false, &c->up);
	if (err) {
		w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
		if (c->tries_left)
			retry_schedule(c);
		else
			conn_step_local(c, 503, !c->req.complete);
		goto run;
	}
	if (c->be_ms)
		xgw_dtimer_arm(w, &c->be_timer, c->be_ms);
	xgw_timer_arm(w, &c->timer, XGW_T_EXCHANGE);
run:
	xgw_conn_run(c);
}

/* A request head of <head_len> bytes is parsed in w->req: route it and start the exchange. */
static int start_request(struct xgw_conn *c, uint32_t head_len)
{
	struct xgw_worker *w = c->w;
	const struct xgw_h1_request *req = &w->req;
	struct xgw_snapref *sr = w->snap;
	enum xgw_route_verdict v;
	struct xgw_pool *pool;
	struct xgw_route rt;
	struct xgw_rt_req q;
	const char *ct;
	size_t ct_len;
	int err, rc;

	w->stats[XGW_WSTAT_REQUESTS]++;
	c->head_off = c->rb->start;
	c->head_len = head_len;
	c->req_ka = req->keep_alive;
	c->http10 = req->minor_version == 0;
	c->head_req = req->method_len == 4 && !memcmp(req->method, "HEAD", 4);
	c->upgrade = req->upgrade;
	ct = xgw_fwd_header(req, XGW_H1_HDR_CONTENT_TYPE, &ct_len);
	c->grpc = ct && xgw_grpc_content_type(ct, ct_len);
	c->idempotent =
		req->body == XGW_H1_BODY_NONE && xgw_fwd_idempotent(req->method, req->method_len);
	c->retry_ok = c->idempotent;
	c->resp_head = c->resp_bytes = c->up_ka = c->ka = c->tunnel_next = c->req_dead = false;
	c->status = 0;
	c->acct_rule = XGW_SNAP_NONE;
	c->be_ms = 0;
	c->tries_left = 0;
	c->flt.router = NULL;
	c->flt.cors = false;
	c->flt.count[0] = c->flt.count[1] = 0;
	c->rb->start += head_len;
	xgw_xfer_init(&c->req, (uint8_t)req->body, req->content_length, c->rb->start);
	xgw_xfer_init(&c->resp, XGW_H1_BODY_NONE, 0, 0);
	c->resp.complete = false;
	if (xgw_xfer_claim(&c->req, c->rb)) {
		w->stats[XGW_WSTAT_BAD_REQUESTS]++;
		return conn_step_local(c, 400, true);
	}
	if (!sr)
		return conn_step_local(c, 503, false);
	c->snap = xgw_snapref_get(sr);
	if (c->lsn_seq != sr->seq) {
		c->lsn = xgw_router_listener(sr->router, c->lfamily, c->laddr, c->lport);
		c->lsn_seq = sr->seq;
	}
	if (c->secure && xgw_tls_misdirected(sr->tls, c->lsn, c->h2s ? xgw_h2s_tls(c->h2s) : c->tls,
					     req->host, req->host_len))
		return conn_step_local(c, 421, false);
	q = (struct xgw_rt_req){
		.host = req->host,
		.host_len = req->host_len,
		.method = req->method,
		.method_len = req->method_len,
		.path = req->path,
		.path_len = req->path_len,
		.query = req->query,
		.query_len = req->query_len,
		.headers = req->headers,
		.n_headers = req->n_headers,
	};
	v = xgw_router_decide(sr->router, c->lsn, &q, &rt);
	c->flt.sess.rule = XGW_SNAP_NONE;
	if (v == XGW_ROUTE_OK && sr->snap.rules[rt.rule].sp_type != XGW_SP_NONE)
		xgw_session_route(&c->flt.sess, w, &sr->snap, req, &rt, (uint32_t)time(NULL));
	if (xgw_log_level() >= XGW_LOG_DEBUG)
		xgw_fwd_access_log(c, req,
				   v == XGW_ROUTE_REDIRECT ? "redirect"
				   : v			   ? "local"
							   : "proxy",
				   rt.ep);
	if (v != XGW_ROUTE_NOT_FOUND) {
		c->acct_rule = rt.rule;
		xgw_fwd_set_route(c, &rt);
		rc = cors_request(c, req);
		if (rc >= 0)
			return rc;
	}
	if (v == XGW_ROUTE_REDIRECT)
		return conn_step_redirect(c, req, rt.redirect);
	if (v != XGW_ROUTE_OK)
		return conn_step_local(c, (int)v, false);

	if (w->n_ejected)
		rt.ep = healthy_endpoint(c, rt.backend, rt.ep);
	xgw_session_issue(&c->flt.sess, &sr->snap, rt.ep);
	pool = xgw_pool_get(w, &sr->snap.endpoints[rt.ep]);
	if (!pool)
		return conn_step_local(c, 503, false);
	if (xgw_fwd_request_head(c))
		return conn_step_local(c, 431, true);
	xgw_fwd_mirrors(c, req);
	if (sr->snap.rules[rt.rule].retry_attempts) {
		/* The policy counts every try: no silent one for a stale pooled connection. */
		c->retry_ok = false;
		/* Retried only when what is to be sent again is all in rb. */
		if (c->req.complete && !c->upgrade)
			c->tries_left = (uint8_t)sr->snap.rules[rt.rule].retry_attempts;
	}
	/* Without a retry policy, a request refused unprocessed may still go again once. */
	c->replay_ok = !sr->snap.rules[rt.rule].retry_attempts && c->req.complete && !c->upgrade;
	c->rule = rt.rule;
	c->backend = rt.backend;
	if (c->upgrade && backend_h2c(c)) {
		/* No extended CONNECT (RFC 8441) to backends: an h2c one cannot take it. */
		log_debug("upgrade request to an h2c backend: 502");
		return conn_step_local(c, 502, true);
	}
	c->state = XGW_CS_PROXY;
	err = up_get(c, pool, false, &c->up);
	if (err) {
		w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
		log_debug("connect to endpoint %u: %s", rt.ep, strerror(-err));
		if (c->tries_left)
			return retry_schedule(c);
		return conn_step_local(c, 502, !c->req.complete);
	}
	if (c->be_ms)
		xgw_dtimer_arm(w, &c->be_timer, c->be_ms);
	c->state = XGW_CS_PROXY;
	xgw_timer_arm(w, &c->timer, XGW_T_EXCHANGE);
	return STEP_AGAIN;
}

static int tls_step(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	int r = xgw_tls_handshake(c->tls, &c->rd_ready, &c->wr_ready);

	if (!r)
		return STEP_WAIT;
	if (r < 0) {
		w->stats[XGW_WSTAT_TLS_FAILED]++;
		conn_close(c);
		return STEP_STOP;
	}
	w->stats[XGW_WSTAT_TLS_HANDSHAKES]++;
	if (SSL_session_reused(c->tls))
		w->stats[XGW_WSTAT_TLS_RESUMED]++;
	if (c->l4) {
		/* TLS listener, terminating vhost: on to its backend (l4.c) */
		c->state = XGW_CS_L4_CONNECT;
		return STEP_AGAIN;
	}
	xgw_snapref_put(w, c->snap);
	c->snap = NULL;
	if (xgw_tls_alpn_h2(c->tls)) {
		xgw_h2_takeover(c, NULL, 0);
		return STEP_STOP;
	}
	c->state = XGW_CS_HEAD;
	/* The request may have come with the client's last flight: read. */
	c->rd_ready = true;
	return STEP_AGAIN;
}

static int head_step(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	ssize_t n;
	int rc;

	for (;;) {
		struct xgw_buf *b = c->rb;

		if (b && b->end > b->start && !c->h2s && !c->tls && b->data[b->start] == 'P') {
			/* HTTP/2 with prior knowledge (h2c): the preface, whole or in part */
			size_t have = b->end - b->start;

			if (!memcmp(b->data + b->start, XGW_H2_PREFACE,
				    have < XGW_H2_PREFACE_LEN ? have : XGW_H2_PREFACE_LEN)) {
				if (have >= XGW_H2_PREFACE_LEN) {
					xgw_h2_takeover(c, b->data + b->start, have);
					return STEP_STOP;
				}
				if (!c->rd_ready)
					return STEP_WAIT;
				goto read;
			}
		}
		if (b && b->end > b->start) {
			rc = xgw_h1_parse_request(b->data + b->start, b->end - b->start, &w->req);
			if (rc > 0)
				return start_request(c, (uint32_t)rc);
			if (!rc && b->end == XGW_BUF_CAP && b->start) {
				/* A head cut by the end of the buffer: move it to the front. */
				memmove(b->data, b->data + b->start, b->end - b->start);
				b->end -= b->start;
				b->start = 0;
			} else if (rc < 0 || b->end == XGW_BUF_CAP) {
				w->stats[XGW_WSTAT_BAD_REQUESTS]++;
				c->req.complete = false;
				c->head_req = false;
				return conn_step_local(c, rc < 0 ? -rc : 431, true);
			}
		}
		if (!c->rd_ready)
			return STEP_WAIT;
	read:
		if (!b) {
			b = c->rb = xgw_buf_get(w);
			if (!b) {
				conn_close(c);
				return STEP_STOP;
			}
		}
		n = xgw_io_read(CL_IO(c), b, &c->rd_ready, c->rdhup);
		if (n < 0) {
			/* The client closed between requests, or gave up on its head. */
			conn_close(c);
			return STEP_STOP;
		}
		if (!n) {
			if (b->end == b->start) {
				xgw_buf_put(w, b);
				c->rb = NULL;
			}
			return STEP_WAIT;
		}
		if (c->timer.kind == XGW_T_KEEPALIVE)
			xgw_timer_arm(w, &c->timer, XGW_T_HEADER);
	}
}

/*
 * The upstream connection failed with <err> before the response was whole.
 * A reused pooled connection that failed before any response byte is most
 * likely one the server closed while idle: an idempotent request without a
 * body is sent again, once, on a fresh connection. An HTTP/2 stream the server
 * refused was not processed (RFC 9113, section 8.7): any request still whole
 * in rb goes again, once, body and all. Otherwise, before any response byte,
 * the rule's retry policy may take over (retry_schedule).
 */
static int upstream_failed(struct xgw_conn *c, int err)
{
	struct xgw_worker *w = c->w;
	struct xgw_upconn *u = c->up, *fresh;
	int status = 502;

	if (u && !c->resp_bytes && err != -ETIMEDOUT &&
	    ((u->reused && c->retry_ok) || (u->unprocessed && c->replay_ok))) {
		c->retry_ok = c->replay_ok = false;
		/* Head and body are still in rb: parse the head again for its views, queue both anew. */
		c->rb->start = c->head_off + c->head_len;
		if (xgw_h1_parse_request(c->rb->data + c->head_off, c->head_len, &w->req) ==
			    (int)c->head_len &&
		    (xgw_xfer_init(&c->req, (uint8_t)w->req.body, w->req.content_length,
				   c->rb->start),
		     !xgw_fwd_request_head(c)) &&
		    !xgw_xfer_claim(&c->req, c->rb) && !up_get(c, u->pool, true, &fresh)) {
			log_debug("pooled upstream connection failed (%s): retrying",
				  strerror(-err));
			c->req_dead = false;
			xgw_upconn_release(w, u, false);
			c->up = fresh;
			if (c->be_ms)
				xgw_dtimer_arm(w, &c->be_timer, c->be_ms);
			xgw_xfer_init(&c->resp, XGW_H1_BODY_NONE, 0, 0);
			c->resp.complete = false;
			return STEP_AGAIN;
		}
	}
	w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
	log_debug("upstream: %s", strerror(-err));
	if (u)
		xgw_pool_outcome(w, u->pool, false);
	if (!c->resp_bytes && c->tries_left)
		return retry_schedule(c);
	xgw_dtimer_disarm(w, &c->be_timer);
	xgw_upconn_release(w, u, false);
	c->up = NULL;
	if (c->resp_head) {
		/* Part of the response may be out: all the client can learn is a close. */
		conn_close(c);
		return STEP_STOP;
	}
	if (err == -ETIMEDOUT)
		status = 504;
	else if (!c->resp_bytes && c->snap->snap.rules[c->rule].retry_attempts)
		status = 503; /* tries spent on connection errors: Envoy's "no healthy upstream" */
	return conn_step_local(c, status, !c->req.complete);
}

/* The upstream sent FIN. */
static int upstream_eof(struct xgw_conn *c)
{
	if (c->resp_head && c->resp.framing == XGW_H1_BODY_EOF) {
		c->resp.complete = true;
		c->up_ka = false;
		return STEP_AGAIN;
	}
	if (!c->resp_head)
		return upstream_failed(c, c->resp_bytes ? -EBADMSG : -ECONNRESET);
	/* A truncated body. */
	c->w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
	conn_close(c);
	return STEP_STOP;
}

/* Parse the response head at the front of sb and queue it for the client. */
static int response_head(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	struct xgw_h1_response *resp = &w->resp;
	struct xgw_buf *b = c->sb;
	const char *head = b->data + b->start;
	enum xgw_conn_mode mode;
	int rc;

	rc = xgw_h1_parse_response(head, b->end - b->start, c->head_req, resp);
	if (!rc)
		return STEP_WAIT;
	if (rc < 0 || (resp->status == 101 && !c->upgrade))
		goto bad;
	if (resp->status < 200 && resp->status != 101) {
		/* Interim (100 Continue, 103): relayed as is, except to HTTP/1.0. */
		c->tries_left = 0; /* something went out for this request: no retry */
		if (!c->http10) {
			c->resp.iov[0].iov_base = (void *)head;
			c->resp.iov[0].iov_len = (size_t)rc;
			c->resp.iov_i = 0;
			c->resp.iov_n = 1;
		}
		b->start += (uint32_t)rc;
		c->resp.lim = b->start;
		return STEP_AGAIN;
	}

	xgw_pool_outcome(w, c->up->pool, true); /* it answered: whatever it said, it is up */
	if (c->tries_left && xgw_snap_retry_code(&c->snap->snap.rules[c->rule], resp->status)) {
		log_debug("upstream answered %d: retrying", resp->status);
		return retry_schedule(c);
	}
	c->status = (uint16_t)resp->status;
	if (resp->status == 101) {
		mode = XGW_CONN_UPGRADE;
		c->tunnel_next = true;
		c->ka = false;
		c->up_ka = false;
		xgw_xfer_init(&c->resp, XGW_H1_BODY_NONE, 0, b->start + (uint32_t)rc);
	} else {
		/* Keep the client only if what follows this request is known to be the next one. */
		c->ka = c->req_ka && c->req.complete && resp->body != XGW_H1_BODY_EOF &&
			!conn_closing(c);
		c->up_ka = resp->keep_alive;
		mode = c->ka ? XGW_CONN_KEEP_ALIVE : XGW_CONN_CLOSE;
		xgw_xfer_init(&c->resp, (uint8_t)resp->body, resp->content_length,
			      b->start + (uint32_t)rc);
	}
	if (xgw_rewrite_response(&c->resp, resp, head, head + rc, mode,
				 c->flt.router ? &c->flt : NULL))
		goto bad; /* counted as the 502 it becomes, not as what the backend said */
	count_status(c, resp->status);
	b->start += (uint32_t)rc;
	c->resp_head = true;
	if (xgw_xfer_claim(&c->resp, b)) {
		w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
		conn_close(c);
		return STEP_STOP;
	}
	return STEP_AGAIN;

bad:
	w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
	log_debug("upstream sent a malformed response head (%d)", rc);
	return conn_step_local(c, 502, !c->req.complete);
}

/* The response is written whole: pool the upstream connection if it is clean. */
static int exchange_done(struct xgw_conn *c)
{
	bool req_sent = c->req.complete && !xgw_xfer_pending(&c->req, c->rb);
	bool reuse = c->up_ka && req_sent && c->sb->end == c->resp.lim;

	xgw_dtimer_disarm(c->w, &c->be_timer);
	xgw_upconn_release(c->w, c->up, reuse);
	c->up = NULL;
	if (!c->req.complete)
		c->ka = false;
	return request_done(c);
}

static int tunnel_start(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;

	if ((!c->rb && !(c->rb = xgw_buf_get(w))) || (!c->sb && !(c->sb = xgw_buf_get(w)))) {
		conn_close(c);
		return STEP_STOP;
	}
	/* An upgraded connection is no longer a request: its timeouts end here. */
	deadlines_disarm(c);
	c->tunnel_next = false;
	c->cl_eof = c->up_eof = false;
	c->req.framing = XGW_XFER_RAW;
	c->req.complete = false;
	c->resp.framing = XGW_XFER_RAW;
	c->resp.complete = false;
	xgw_xfer_claim(&c->req, c->rb);
	xgw_xfer_claim(&c->resp, c->sb);
	c->state = XGW_CS_TUNNEL;
	xgw_timer_arm(c->w, &c->timer, XGW_T_TUNNEL);
	return STEP_AGAIN;
}

/*
 * One direction of a tunnel: read from <in_fd> into <b>, write to <out_fd>;
 * after <in_fd>'s FIN and the last byte out, shut <out_fd>'s write side.
 * Returns 1 on progress, 0 without, -1 on an error.
 */
static int tunnel_pump(struct xgw_worker *w, const struct xgw_io *in, bool *in_rd, bool in_rdhup,
		       bool *eof, const struct xgw_io *out, bool *out_wr, struct xgw_buf **bp,
		       struct xgw_xfer *x)
{
	struct xgw_buf *b = *bp;
	int progress = 0;
	ssize_t n;

	if (!*eof && *in_rd) {
		if (!b) {
			b = *bp = xgw_buf_get(w);
			if (!b)
				return -1;
			x->lim = 0;
		}
		xgw_buf_make_room(b, x);
		n = xgw_io_read(in, b, in_rd, in_rdhup);
		if (n == IO_EOF) {
			*eof = true;
			progress = 1;
			if (!xgw_xfer_pending(x, b))
				xgw_io_shut_wr(out->fd, out->tls);
		} else if (n < 0) {
			return -1;
		} else if (n > 0) {
			xgw_xfer_claim(x, b);
			progress = 1;
		}
	}
	if (*out_wr && xgw_xfer_pending(x, b)) {
		n = xgw_xfer_flush(out, x, b, out_wr);
		if (n < 0)
			return -1;
		if (n > 0) {
			progress = 1;
			if (*eof && !xgw_xfer_pending(x, b))
				xgw_io_shut_wr(out->fd, out->tls);
		}
	}
	return progress;
}

/* An idle tunnel holds no buffer: give back the ones with nothing in flight. */
static void tunnel_trim(struct xgw_worker *w, struct xgw_buf **bp, struct xgw_xfer *x)
{
	if (*bp && (*bp)->start == (*bp)->end && !xgw_xfer_pending(x, *bp)) {
		xgw_buf_put(w, *bp);
		*bp = NULL;
		x->lim = 0;
	}
}

static int tunnel_step(struct xgw_conn *c)
{
	struct xgw_upconn *u = c->up;
	int up, down;

	up = tunnel_pump(c->w, CL_IO(c), &c->rd_ready, c->rdhup, &c->cl_eof, UP_IO(u), &u->wr_ready,
			 &c->rb, &c->req);
	down = tunnel_pump(c->w, UP_IO(u), &u->rd_ready, u->rdhup, &c->up_eof, CL_IO(c),
			   &c->wr_ready, &c->sb, &c->resp);
	if (up < 0 || down < 0 ||
	    (c->cl_eof && c->up_eof && !xgw_xfer_pending(&c->req, c->rb) &&
	     !xgw_xfer_pending(&c->resp, c->sb))) {
		conn_close(c);
		return STEP_STOP;
	}
	if (!up && !down) {
		tunnel_trim(c->w, &c->rb, &c->req);
		tunnel_trim(c->w, &c->sb, &c->resp);
		return STEP_WAIT;
	}
	xgw_timer_arm(c->w, &c->timer, XGW_T_TUNNEL);
	return STEP_AGAIN;
}

static int proxy_step(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	struct xgw_upconn *u = c->up;
	bool progress = false;
	ssize_t n;
	int rc;

	if (u->err)
		return upstream_failed(c, u->err);

	/* Request body: client -> rb. */
	if (!c->req.complete && !c->req_dead && c->rd_ready) {
		xgw_buf_make_room(c->rb, &c->req);
		n = xgw_io_read(CL_IO(c), c->rb, &c->rd_ready, c->rdhup);
		if (n < 0) {
			/* The client left in the middle of its request. */
			conn_close(c);
			return STEP_STOP;
		}
		if (n > 0) {
			progress = true;
			if (xgw_xfer_claim(&c->req, c->rb)) {
				w->stats[XGW_WSTAT_BAD_REQUESTS]++;
				if (c->resp_head) {
					conn_close(c);
					return STEP_STOP;
				}
				return conn_step_local(c, 400, true);
			}
		}
	}
	/* rb -> upstream. */
	if (!c->req_dead && u->connected && u->wr_ready && xgw_xfer_pending(&c->req, c->rb)) {
		n = xgw_xfer_flush(UP_IO(u), &c->req, c->rb, &u->wr_ready);
		if (n < 0) {
			/*
			 * The upstream may have answered early (a 413, say) and
			 * stopped reading: the rest of the request is dropped, and
			 * what it said is read before judging it failed.
			 */
			c->req_dead = true;
			c->up_ka = false;
			u->rd_ready = true;
		}
		progress |= n != 0;
	}
	/* upstream -> sb. */
	if (u->connected && u->rd_ready && !c->resp.complete) {
		if (!c->sb) {
			c->sb = xgw_buf_get(w);
			if (!c->sb) {
				conn_close(c);
				return STEP_STOP;
			}
			c->resp.lim = 0;
		}
		xgw_buf_make_room(c->sb, &c->resp);
		n = xgw_io_read(UP_IO(u), c->sb, &u->rd_ready, u->rdhup);
		if (n == IO_EOF)
			return upstream_eof(c);
		if (n < 0)
			return upstream_failed(c, (int)n);
		if (n > 0) {
			progress = true;
			c->resp_bytes = true;
			if (c->resp_head && xgw_xfer_claim(&c->resp, c->sb)) {
				w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
				conn_close(c);
				return STEP_STOP;
			}
		}
	}
	if (!c->resp_head && c->sb && c->resp.iov_i == c->resp.iov_n && c->sb->end > c->sb->start) {
		rc = response_head(c);
		if (rc == STEP_STOP || c->state != XGW_CS_PROXY)
			return rc;
		progress |= rc == STEP_AGAIN;
	}
	/* The backend's part ends with the response's last byte received, not written. */
	if (c->resp_head && c->resp.complete)
		xgw_dtimer_disarm(w, &c->be_timer);
	/* sb -> client. */
	if (c->wr_ready && xgw_xfer_pending(&c->resp, c->sb)) {
		n = xgw_xfer_flush(CL_IO(c), &c->resp, c->sb, &c->wr_ready);
		if (n < 0) {
			conn_close(c);
			return STEP_STOP;
		}
		progress |= n > 0;
	}
	if (!xgw_xfer_pending(&c->resp, c->sb)) {
		if (c->tunnel_next)
			return tunnel_start(c);
		if (c->resp_head && c->resp.complete)
			return exchange_done(c);
	}
	if (!progress)
		return STEP_WAIT;
	xgw_timer_arm(w, &c->timer, XGW_T_EXCHANGE);
	return STEP_AGAIN;
}

void xgw_conn_run(struct xgw_conn *c)
{
	int rc;

	do {
		switch (c->state) {
		case XGW_CS_TLS:
			rc = tls_step(c);
			break;
		case XGW_CS_HEAD:
			rc = head_step(c);
			break;
		case XGW_CS_PROXY:
			rc = proxy_step(c);
			break;
		case XGW_CS_LOCAL:
			rc = local_step(c);
			break;
		case XGW_CS_BACKOFF:
			rc = STEP_WAIT;
			break;
		case XGW_CS_TUNNEL:
			rc = tunnel_step(c);
			break;
		case XGW_CS_LINGER:
			rc = linger_step(c);
			break;
		case XGW_CS_L4_HELLO:
			rc = xgw_l4_hello_step(c);
			break;
		case XGW_CS_L4_CONNECT:
			rc = xgw_l4_connect_step(c);
			break;
		default:
			rc = STEP_STOP;
			break;
		}
	} while (rc == STEP_AGAIN);
}

void xgw_conn_event(struct xgw_conn *c, uint32_t events)
{
	if (c->state == XGW_CS_CLOSED)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->rd_ready = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		c->wr_ready = true;
	if (events & (EPOLLRDHUP | EPOLLHUP)) {
		c->rdhup = true;
		/*
		 * Waiting on the upstream with the request read whole: a FIN means
		 * the client gave up (as nginx, not a half-close to honour),
		 * unless pipelined bytes come before it.
		 */
		if ((c->state == XGW_CS_PROXY || c->state == XGW_CS_BACKOFF) && c->req.complete &&
		    !c->resp_head) {
			char ch;
			ssize_t n = recv(c->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				log_debug("client closed while waiting for the upstream");
				conn_close(c);
				return;
			}
		}
	}
	xgw_conn_run(c);
}

void xgw_conn_timeout(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;

	switch (c->state) {
	case XGW_CS_HEAD:
		if (c->timer.kind == XGW_T_HEADER && c->rb && c->rb->end > c->rb->start) {
			c->req.complete = false;
			c->head_req = false;
			conn_step_local(c, 408, true);
			xgw_conn_run(c);
			return;
		}
		break;
	case XGW_CS_PROXY:
	case XGW_CS_BACKOFF:
		if (!c->resp_head) {
			w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
			log_debug("upstream response timeout");
			conn_step_local(c, 504, true);
			xgw_conn_run(c);
			return;
		}
		break;
	default:
		break;
	}
	conn_close(c);
}

void xgw_conn_deadline(struct xgw_dtimer *t)
{
	struct xgw_conn *c = t->kind == XGW_DT_REQUEST ? container_of(t, struct xgw_conn, rq_timer)
			     : t->kind == XGW_DT_BACKEND
				     ? container_of(t, struct xgw_conn, be_timer)
				     : container_of(t, struct xgw_conn, bo_timer);

	if (t->kind == XGW_DT_BACKOFF) {
		if (c->state == XGW_CS_BACKOFF)
			retry_attempt(c);
		return;
	}
	if (c->state != XGW_CS_PROXY && c->state != XGW_CS_BACKOFF)
		return; /* a local answer is on its way, bounded by its own timer */
	c->w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
	log_debug("%s timeout", t->kind == XGW_DT_REQUEST ? "request" : "backend request");
	if (t->kind == XGW_DT_BACKEND && c->up && !c->resp_head)
		xgw_pool_outcome(c->w, c->up->pool, false);
	if (t->kind == XGW_DT_BACKEND && c->tries_left && !c->resp_head) {
		/* The attempt is abandoned and counts as a failed one (GEP-1731). */
		retry_schedule(c);
		xgw_conn_run(c);
		return;
	}
	if (c->resp_head) {
		/* Part of the response is out: all the client can learn is a close. */
		conn_close(c);
		return;
	}
	conn_step_local(c, 504, !c->req.complete);
	xgw_conn_run(c);
}

struct xgw_conn *xgw_conn_new_stream(struct xgw_worker *w, struct xgw_h2s *s,
				     const struct xgw_conn_addrs *a)
{
	struct xgw_conn *c;

	if (xgw_dtimer_reserve(w, 3 * (w->n_conns + 1)))
		return NULL;
	c = conn_alloc(w, -1);
	if (!c)
		return NULL;
	c->h2s = s;
	c->lfamily = a->lfamily;
	c->lport = a->lport;
	memcpy(c->laddr, a->laddr, 16);
	c->pfamily = a->pfamily;
	memcpy(c->paddr, a->paddr, 16);
	c->secure = a->secure;
	c->state = XGW_CS_HEAD;
	c->rd_ready = c->wr_ready = true;
	conn_link(w, c);
	return c;
}

void xgw_conn_release_socket(struct xgw_conn *c, struct xgw_conn_addrs *a)
{
	a->lfamily = c->lfamily;
	a->lport = c->lport;
	memcpy(a->laddr, c->laddr, 16);
	a->pfamily = c->pfamily;
	memcpy(a->paddr, c->paddr, 16);
	a->secure = c->secure;
	c->fd = -1;
	c->tls = NULL;
	conn_close(c);
}

void xgw_conn_drain(struct xgw_conn *c)
{
	if (c->state == XGW_CS_HEAD && (!c->rb || c->rb->end == c->rb->start))
		conn_close(c);
}

void xgw_conns_listeners_gone(struct xgw_worker *w)
{
	const struct xgw_snapref *sr = w->snap;
	struct xgw_conn *c, *next;
	uint32_t gone = 0;

	for (c = w->conns; c && sr; c = next) {
		next = c->next;
		if (c->lsn_gone || c->lsn == XGW_SNAP_NONE ||
		    xgw_router_listener(sr->router, c->lfamily, c->laddr, c->lport) !=
			    XGW_SNAP_NONE)
			continue;
		/* Its listener was removed: finish what is in flight, then close. */
		c->lsn_gone = true;
		gone++;
		xgw_conn_drain(c);
	}
	if (gone)
		log_info("%u connection(s) of removed listeners: closing after their request",
			 gone);
}

void xgw_conn_abort(struct xgw_conn *c)
{
	conn_close(c);
}

int xgw_conn_tunnel(struct xgw_conn *c)
{
	return tunnel_start(c);
}

void xgw_conns_reap(struct xgw_worker *w)
{
	while (w->dead_conns) {
		struct xgw_conn *c = w->dead_conns;

		w->dead_conns = c->next;
		if (w->n_free_conns < MAX_FREE_CONNS) {
			c->next = w->free_conns;
			w->free_conns = c;
			w->n_free_conns++;
		} else {
			free(c);
		}
	}
}

void xgw_conns_free(struct xgw_worker *w)
{
	while (w->conns)
		conn_close(w->conns);
	xgw_conns_reap(w);
	while (w->free_conns) {
		struct xgw_conn *c = w->free_conns;

		w->free_conns = c->next;
		free(c);
	}
	w->n_free_conns = 0;
}
