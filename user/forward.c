// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * What a routed request carries upstream, apart from the proxy state
 * machine (conn.c): the forwarding lines (X-Forwarded-*, Forwarded) formatted
 * once per connection, the rewritten request head, mirrored copies, the
 * route's filter spans and timeouts, and the access log line.
 */
#include <stdio.h>
#include <string.h>

#include "xgw/log.h"
#include "xgw/netaddr.h"

#include "forward.h"
#include "loop.h"
#include "mirror.h"
#include "rewrite.h"
#include "router.h"

bool xgw_fwd_idempotent(const char *m, size_t len)
{
	switch (len) {
	case 3:
		return !memcmp(m, "GET", 3) || !memcmp(m, "PUT", 3);
	case 4:
		return !memcmp(m, "HEAD", 4);
	case 5:
		return !memcmp(m, "TRACE", 5);
	case 6:
		return !memcmp(m, "DELETE", 6);
	case 7:
		return !memcmp(m, "OPTIONS", 7);
	default:
		return false;
	}
}

/* Format the client address for X-Forwarded-For, once per connection. */
static void conn_format_ip(struct xgw_conn *c)
{
	char ip[XGW_IP_STRLEN];
	size_t n;

	xgw_ip_format(c->pfamily, c->paddr, ip);
	n = strlen(ip);
	c->ip_app[0] = ',';
	c->ip_app[1] = ' ';
	memcpy(c->ip_app + 2, ip, n);
	c->ip_app_len = (uint8_t)(n + 2);
	memcpy(c->xff_line, "X-Forwarded-For: ", 17);
	memcpy(c->xff_line + 17, ip, n);
	memcpy(c->xff_line + 17 + n, "\r\n", 2);
	c->xff_line_len = (uint8_t)(n + 19);
	/* RFC 7239: an IPv6 node is a quoted "[...]" */
	{
		char *p = c->fwd;

		memcpy(p, "Forwarded: for=", 15);
		p += 15;
		if (c->pfamily == 6) {
			memcpy(p, "\"[", 2);
			p += 2;
		}
		memcpy(p, ip, n);
		p += n;
		if (c->pfamily == 6) {
			memcpy(p, "]\"", 2);
			p += 2;
		}
		memcpy(p, c->secure ? ";proto=https" : ";proto=http", c->secure ? 12 : 11);
		p += c->secure ? 12 : 11;
		c->fwd_len = (uint8_t)(p - c->fwd);
	}
	c->ip_ready = true;
}

/* Queue the request head in c->req from the parse in w->req. */
int xgw_fwd_request_head(struct xgw_conn *c)
{
	struct xgw_worker *w = c->w;
	struct xgw_rw_req rw;

	if (!c->ip_ready)
		conn_format_ip(c);
	rw.xff_app = c->ip_app;
	rw.xff_app_len = c->ip_app_len;
	rw.xff_line = c->xff_line;
	rw.xff_line_len = c->xff_line_len;
	rw.upgrade = c->upgrade;
	rw.close = false;
	rw.tls = c->secure;
	rw.fwd = c->fwd;
	rw.fwd_len = c->fwd_len;
	rw.flt = &c->flt;
	return xgw_rewrite_request(&c->req, &w->req, c->rb->data + c->head_off + c->head_len, &rw);
}

void xgw_fwd_access_log(struct xgw_conn *c, const struct xgw_h1_request *req, const char *what,
			uint32_t ep)
{
	char ip[XGW_IP_STRLEN], eip[XGW_IP_STRLEN] = "-";
	uint16_t eport = 0;

	if (ep != XGW_SNAP_NONE) {
		const struct xgw_snap_endpoint *e = &c->snap->snap.endpoints[ep];

		xgw_ip_format(e->family, e->addr, eip);
		eport = e->port;
	}
	xgw_log(XGW_LOG_DEBUG, "%s %.*s %.*s%.*s -> %s %s:%u",
		xgw_ip_format(c->pfamily, c->paddr, ip), (int)req->method_len, req->method,
		(int)(req->host ? req->host_len : 0), req->host ? req->host : "",
		(int)req->target_len, req->target, what, eip, eport);
}

/*
 * Send copies of the request to the clusters of the RequestMirror filters of
 * <r> (the rule's, then the backend's), each for its fraction of requests.
 * A copy carries the head as the rule's filters shape it (the backend's too,
 * for a backend's mirror), and the body only when it is already whole in
 * rb: a request whose body is still arriving is not mirrored, so that the
 * client's exchange never waits on a copy.
 */
void xgw_fwd_mirrors(struct xgw_conn *c, const struct xgw_h1_request *req)
{
	struct xgw_worker *w = c->w;
	struct xgw_router *r = c->snap->router;
	const struct xgw_snapshot *s = &c->snap->snap;
	struct xgw_rw_filters flt;
	struct xgw_xfer x;
	struct xgw_rw_req rw;

	if (!c->flt.count[0] && !c->flt.count[1])
		return; /* most routes: no filter, no mirror, nothing to copy */
	flt = c->flt;
	for (int sp = 0; sp < 2; sp++) {
		for (uint32_t f = c->flt.first[sp]; f < c->flt.first[sp] + c->flt.count[sp]; f++) {
			const struct xgw_snap_filter *sf = &s->filters[f];
			uint32_t ep;
			int err;

			if (sf->type != XGW_FILTER_MIRROR || !xgw_router_mirror_take(r, f))
				continue;
			if (!c->req.complete) {
				log_debug("mirror skipped: the request body is not read yet");
				continue;
			}
			ep = xgw_router_pick_endpoint(r, sf->cluster);
			if (ep == XGW_SNAP_NONE)
				continue;
			flt.count[1] = sp ? c->flt.count[1] : 0;
			rw.xff_app = c->ip_app;
			rw.xff_app_len = c->ip_app_len;
			rw.xff_line = c->xff_line;
			rw.xff_line_len = c->xff_line_len;
			rw.upgrade = false;
			rw.close = true;
			rw.tls = c->secure;
			rw.fwd = c->fwd;
			rw.fwd_len = c->fwd_len;
			rw.flt = &flt;
			err = xgw_rewrite_request(&x, req, c->rb->data + c->head_off + c->head_len,
						  &rw);
			if (!err)
				err = xgw_mirror_send(w, &s->endpoints[ep], &x,
						      c->rb->data + c->rb->start,
						      c->req.lim - c->rb->start);
			if (err)
				log_debug("mirror to %.*s not sent: %s",
					  (int)s->clusters[sf->cluster].name.len,
					  xgw_snap_str_ptr(s, s->clusters[sf->cluster].name),
					  strerror(-err));
		}
	}
}

/* The filter spans, prefix and timeouts of the route <rt> chose. */
void xgw_fwd_set_route(struct xgw_conn *c, const struct xgw_route *rt)
{
	const struct xgw_snapshot *s = &c->snap->snap;
	const struct xgw_snap_match *m = &s->matches[rt->match];
	const struct xgw_snap_rule *ru = &s->rules[rt->rule];

	c->flt.router = c->snap->router;
	c->flt.first[0] = ru->filter_first;
	c->flt.count[0] = ru->filter_count;
	c->flt.first[1] = c->flt.count[1] = 0;
	if (rt->backend != XGW_SNAP_NONE) {
		c->flt.first[1] = s->backends[rt->backend].filter_first;
		c->flt.count[1] = s->backends[rt->backend].filter_count;
	}
	c->flt.prefix = m->path_type == XGW_PATH_PREFIX ? xgw_snap_str_ptr(s, m->path) : NULL;
	c->flt.prefix_len = m->path.len;
	c->flt.listen_port = c->lport;
	c->flt.tls = c->secure;
	c->be_ms = ru->timeout_backend_ms;
	if (ru->timeout_request_ms)
		xgw_dtimer_arm(c->w, &c->rq_timer, ru->timeout_request_ms);
}

/* The value of the first header of <req> whose name is <id> (enum xgw_h1_hdr), or NULL. */
const char *xgw_fwd_header(const struct xgw_h1_request *req, unsigned id, size_t *len)
{
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct xgw_h1_header *h = &req->headers[i];

		if (h->id == id) {
			*len = h->value_len;
			return h->value;
		}
	}
	*len = 0;
	return NULL;
}
