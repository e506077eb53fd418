// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * TCP and TLS listeners: connections proxied as bytes.
 *
 * A TCP listener's connection goes straight to XGW_CS_L4_CONNECT: the rule
 * of the listener's one vhost picks a backend by weight (the router's smooth
 * weighted round robin), the backend's Service an endpoint (round robin,
 * skipping endpoints that passive health ejected), and a fresh non-blocking
 * connect starts. A failed or timed-out connect counts against the endpoint
 * and the next endpoint is tried, XGW_L4_CONNECT_TRIES times in all. Once
 * connected the connection becomes a tunnel (conn.c): bytes both ways through
 * one bounded buffer per direction (a direction reads only while its buffer
 * has room, so a slow reader stalls its writer), FIN passed on as
 * shutdown(SHUT_WR), closed when both sides are done or idle for
 * XGW_TUNNEL_TIMEOUT_MS. Without a route, a backend or an endpoint the
 * client is reset (SO_LINGER 0), as a closed port would.
 *
 * A TLS listener's connection first waits in XGW_CS_L4_HELLO for its
 * ClientHello, read with MSG_PEEK so that nothing leaves the socket: records
 * are reassembled until the whole hello is in (bounded by XGW_L4_HELLO_MAX,
 * and by the header timeout for slow clients) and its server name picks the
 * vhost as HTTP hosts do (exact, longest wildcard, catch-all). A passthrough
 * vhost then connects and tunnels: the hello is still in the socket and goes
 * to the backend untouched. A terminating vhost hands the socket to OpenSSL
 * (tls.c picks the listener's certificate for the same name), and after the
 * handshake connects and tunnels the plaintext through the SSL.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "xgw/log.h"

#include "conn.h"
#include "l4.h"
#include "loop.h"
#include "router.h"
#include "tls.h"
#include "upstream.h"

#define TLS_CT_HANDSHAKE 22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_RECORD_MAX 16384 /* plaintext record payload (RFC 8446 5.1) */
#define TLS_EXT_SERVER_NAME 0

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

/* A server name as RFC 6066 allows it (an ASCII host name), lower-cased into <out>. */
static int sni_copy(const uint8_t *p, size_t len, char *out, size_t *out_len)
{
	if (!len || len > 255 || p[0] == '.')
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = p[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch - 'A' + 'a');
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			   ch == '.' || ch == '_'))
			return -1;
		out[i] = (char)ch;
	}
	*out_len = len;
	return 0;
}

/* The server_name extension of a ClientHello body <b> of <len> bytes (its fields checked). */
static int hello_parse(const uint8_t *b, size_t len, char *name, size_t *name_len)
{
	size_t pos = 2 + 32, n, end;
	bool seen = false;

	*name_len = 0;
	if (len < pos + 1)
		return -1;
	n = b[pos]; /* legacy_session_id */
	if (n > 32 || pos + 1 + n + 2 > len)
		return -1;
	pos += 1 + n;
	n = rd16(b + pos); /* cipher_suites */
	if (n < 2 || n % 2 || pos + 2 + n + 1 > len)
		return -1;
	pos += 2 + n;
	n = b[pos]; /* legacy_compression_methods */
	if (n < 1 || pos + 1 + n > len)
		return -1;
	pos += 1 + n;
	if (pos == len)
		return 1; /* no extensions at all (TLS 1.2 allows it): no name */
	if (pos + 2 > len || pos + 2 + rd16(b + pos) != len)
		return -1;
	for (pos += 2; pos < len; pos = end) {
		uint32_t type, list;

		if (pos + 4 > len)
			return -1;
		type = rd16(b + pos);
		end = pos + 4 + rd16(b + pos + 2);
		if (end > len)
			return -1;
		if (type != TLS_EXT_SERVER_NAME)
			continue;
		/* One extension of a type (RFC 8446 4.2), one name of a type (RFC 6066 3). */
		if (seen || end - pos < 4 + 2)
			return -1;
		seen = true;
		list = rd16(b + pos + 4);
		if (pos + 6 + list != end)
			return -1;
		for (size_t q = pos + 6; q < end;) {
			uint8_t nt;

			if (q + 3 > end)
				return -1;
			nt = b[q];
			n = rd16(b + q + 1);
			if (q + 3 + n > end)
				return -1;
			if (nt == 0) { /* host_name */
				if (*name_len || sni_copy(b + q + 3, n, name, name_len))
					return -1;
			}
			q += 3 + n;
		}
	}
	return 1;
}

int xgw_l4_hello_sni(const uint8_t *p, size_t len, char *name, size_t *name_len)
{
	uint8_t hs[XGW_L4_HELLO_MAX];
	size_t hl = 0, off = 0, need = 0;

	*name_len = 0;
	if (len > XGW_L4_HELLO_MAX)
		len = XGW_L4_HELLO_MAX;
	/* The handshake bytes of the records, until the whole ClientHello is in. */
	while (!need || hl < need) {
		size_t rlen;

		if (off + 5 > len)
			return off + 5 > XGW_L4_HELLO_MAX ? -1 : 0;
		if (p[off] != TLS_CT_HANDSHAKE || p[off + 1] != 3)
			return -1;
		rlen = rd16(p + off + 3);
		/* Empty handshake records are forbidden (RFC 8446 5.1). */
		if (!rlen || rlen > TLS_RECORD_MAX)
			return -1;
		if (off + 5 + rlen > len)
			return off + 5 + rlen > XGW_L4_HELLO_MAX ? -1 : 0;
		memcpy(hs + hl, p + off + 5, rlen);
		hl += rlen;
		off += 5 + rlen;
		if (!need && hl >= 4) {
			size_t body = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];

			if (hs[0] != TLS_HS_CLIENT_HELLO || 4 + body > XGW_L4_HELLO_MAX)
				return -1;
			need = 4 + body;
		}
	}
	return hello_parse(hs + 4, need - 4, name, name_len);
}

/* The rule of vhost <v> (its one match), or XGW_SNAP_NONE. */
static uint32_t vhost_rule(const struct xgw_snapshot *s, uint32_t v)
{
	if (v == XGW_SNAP_NONE || !s->vhosts[v].match_count)
		return XGW_SNAP_NONE;
	return s->matches[s->vhosts[v].match_first].rule;
}

static const char *lsn_name(const struct xgw_conn *c, int *len)
{
	const struct xgw_snapshot *s = &c->snap->snap;
	const struct xgw_snap_listener *l = &s->listeners[c->lsn];

	*len = (int)l->name.len;
	return xgw_snap_str_ptr(s, l->name);
}

/* Refuse <c>: a reset (SO_LINGER 0), as a port without a server would answer. */
static int refuse(struct xgw_conn *c, const char *why)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int nl;
	const char *n = lsn_name(c, &nl);

	log_debug("listener %.*s: connection refused: %s", nl, n, why);
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	/* No close_notify either: the client learns of the refusal at once. */
	if (c->tls)
		SSL_set_quiet_shutdown(c->tls, 1);
	xgw_conn_abort(c);
	return XGW_STEP_STOP;
}

void xgw_l4_accept(struct xgw_conn *c, struct xgw_snapref *sr)
{
	const struct xgw_snapshot *s = &sr->snap;

	c->l4 = true;
	/* The indexes the connection keeps (rule, backend) are into this snapshot. */
	c->snap = xgw_snapref_get(sr);
	c->backend = XGW_SNAP_NONE;
	if (s->listeners[c->lsn].proto == XGW_LPROTO_TLS) {
		c->rule = XGW_SNAP_NONE;
		c->state = XGW_CS_L4_HELLO;
		return;
	}
	c->rule = vhost_rule(s, xgw_router_vhost(sr->router, c->lsn, NULL, 0));
	c->state = XGW_CS_L4_CONNECT;
}

int xgw_l4_hello_step(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	struct xgw_snapref *sr = c->snap;
	uint8_t buf[XGW_L4_HELLO_MAX];
	char name[256];
	size_t name_len;
	uint32_t v;
	ssize_t n;
	int rc;

	if (!c->rd_ready)
		return XGW_STEP_WAIT;
	/* Peeked, not read: a passthrough session must reach the backend whole. */
	n = recv(c->fd, buf, sizeof(buf), MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->rd_ready = false;
		return XGW_STEP_WAIT;
	}
	if (n <= 0) {
		xgw_conn_abort(c);
		return XGW_STEP_STOP;
	}
	rc = xgw_l4_hello_sni(buf, (size_t)n, name, &name_len);
	if (rc == 0) {
		if (c->rdhup) {
			/* The client's FIN came before its whole hello. */
			w->stats[XGW_WSTAT_BAD_REQUESTS]++;
			xgw_conn_abort(c);
			return XGW_STEP_STOP;
		}
		/* Edge-triggered: the next segment wakes us, and the peek starts over. */
		c->rd_ready = false;
		return XGW_STEP_WAIT;
	}
	if (rc < 0) {
		w->stats[XGW_WSTAT_BAD_REQUESTS]++;
		return refuse(c, "not a TLS ClientHello (or one over 16 KiB)");
	}
	v = xgw_router_vhost(sr->router, c->lsn, name, name_len);
	c->rule = vhost_rule(&sr->snap, v);
	if (c->rule == XGW_SNAP_NONE) {
		log_debug("no TLS route for server name \"%.*s\"", (int)name_len, name);
		return refuse(c, "no route for the server name");
	}
	if (!(sr->snap.vhosts[v].flags & XGW_VHOST_TLS_TERMINATE)) {
		c->state = XGW_CS_L4_CONNECT;
		return XGW_STEP_AGAIN;
	}
	c->tls = xgw_tls_new_conn(sr->tls, c->lsn, c->fd);
	if (!c->tls)
		return refuse(c, "no certificate to terminate TLS with");
	c->secure = true;
	c->state = XGW_CS_TLS;
	return XGW_STEP_AGAIN;
}

/* An endpoint of <cluster> to try: round robin, ejected ones skipped while others remain. */
static uint32_t pick_endpoint(struct xgw_conn *c, uint32_t cluster)
{
	struct xgw_router *r = c->snap->router;
	const struct xgw_snapshot *s = &c->snap->snap;
	uint32_t e = XGW_SNAP_NONE;

	for (uint32_t i = 0; i < s->clusters[cluster].ep_count; i++) {
		e = xgw_router_pick_endpoint(r, cluster);
		if (e == XGW_SNAP_NONE || !xgw_endpoint_ejected(c->w, &s->endpoints[e]))
			break;
	}
	return e;
}

/* A connect attempt failed (<err>): count it against the endpoint, try another or refuse. */
static int connect_failed(struct xgw_conn *c, struct xgw_pool *p, int err)
{
	struct xgw_worker *w = c->w;

	w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
	if (p)
		xgw_pool_outcome(w, p, false);
	log_debug("L4 backend connect: %s", strerror(-err));
	xgw_upconn_release(w, c->up, false);
	c->up = NULL;
	if (!c->tries_left)
		return refuse(c, "no backend endpoint accepted the connection");
	c->tries_left--;
	return XGW_STEP_AGAIN;
}

/* Choose the backend (once) and an endpoint, and start connecting. */
static int connect_start(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	struct xgw_snapref *sr = c->snap;
	const struct xgw_snapshot *s = &sr->snap;
	struct xgw_pool *p;
	uint32_t cluster, e;
	int err;

	if (c->rule == XGW_SNAP_NONE)
		return refuse(c, "no route");
	if (c->backend == XGW_SNAP_NONE) {
		c->backend = xgw_router_pick_backend(sr->router, c->rule);
		if (c->backend == XGW_SNAP_NONE ||
		    s->backends[c->backend].cluster == XGW_SNAP_NONE) {
			w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
			return refuse(c, "no usable backend");
		}
		cluster = s->backends[c->backend].cluster;
		e = s->clusters[cluster].ep_count;
		c->tries_left = (uint8_t)((e < XGW_L4_CONNECT_TRIES ? e : XGW_L4_CONNECT_TRIES) -
					  (e ? 1 : 0));
	}
	cluster = s->backends[c->backend].cluster;
	e = pick_endpoint(c, cluster);
	if (e == XGW_SNAP_NONE) {
		w->stats[XGW_WSTAT_UPSTREAM_ERRORS]++;
		return refuse(c, "the backend has no ready endpoint");
	}
	p = xgw_pool_get(w, &s->endpoints[e]);
	if (!p)
		return refuse(c, "out of memory");
	/*
	 * Never pooled: an L4 connection is the client's for its whole life.
	 * A connection whose TLS the gateway ended goes on in TLS when the
	 * backend has a BackendTLSPolicy; passthrough bytes never do.
	 */
	err = xgw_upconn_get_tls(w, p, c, true, sr,
				 c->tls ? s->clusters[cluster].tls : XGW_SNAP_NONE, &c->up);
	if (err) {
		c->up = NULL;
		return connect_failed(c, p, err);
	}
	return c->up->connected ? XGW_STEP_AGAIN : XGW_STEP_WAIT;
}

int xgw_l4_connect_step(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	struct xgw_upconn *u = c->up;

	if (!u)
		return connect_start(c);
	if (u->err)
		return connect_failed(c, u->pool, u->err);
	if (!u->connected)
		return XGW_STEP_WAIT;
	xgw_pool_outcome(w, u->pool, true);
	w->stats[XGW_WSTAT_L4_CONNS]++;
	/* Connected: nothing refers to the snapshot any more. */
	xgw_snapref_put(w, c->snap);
	c->snap = NULL;
	return xgw_conn_tunnel(c);
}
