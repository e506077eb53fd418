/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Proxy head rewriting and gateway-generated responses. Rewritten heads are
 * iovecs over the received head and constant strings: nothing is copied.
 */
#ifndef XGW_REWRITE_H
#define XGW_REWRITE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "conn-t.h"
#include "http1.h"
#include "router-t.h"

/* What the rewritten head says in its Connection header. */
enum xgw_conn_mode {
	XGW_CONN_KEEP_ALIVE,
	XGW_CONN_CLOSE,
	XGW_CONN_UPGRADE,
};

/* What a request head gets besides its own lines. */
struct xgw_rw_req {
	const char *xff_app; /* ", <client ip>", appended to an X-Forwarded-For */
	size_t xff_app_len;
	const char *xff_line; /* "X-Forwarded-For: <client ip>\r\n", added without one */
	size_t xff_line_len;
	bool upgrade; /* keep Upgrade and say "Connection: upgrade" */
	bool close;   /* say "Connection: close" (mirrored copies) */
	bool tls;     /* the client spoke TLS: X-Forwarded-Proto: https */
	/* "Forwarded: for=<client>;proto=<scheme>" (RFC 7239), without CRLF: a
	 * line added after the client's Forwarded lines, with ;host= the
	 * request's Host when that is safe to quote. NULL: no Forwarded line. */
	const char *fwd;
	size_t fwd_len;
	const struct xgw_rw_filters *flt; /* RequestHeaderModifier, URLRewrite; NULL: none */
};

/*
 * Queue in <x>'s iovecs the head of <req> as sent upstream: the request line
 * and headers as received, less the hop-by-hop ones (Connection, the headers
 * it names, Keep-Alive, Proxy-Connection, TE, Upgrade unless upgrading) and
 * X-Forwarded-Proto, plus Connection, X-Forwarded-For (appended to),
 * X-Forwarded-Proto, X-Forwarded-Host when absent, and one normalised
 * Content-Length when the received ones were a list or repeated. Then the
 * filters of rw->flt: URLRewrite (the request-target becomes origin-form with
 * the new path and the query kept; a hostname replaces Host), and header
 * operations. An operation on a framing or hop-by-hop header (Connection,
 * Content-Length, Transfer-Encoding, Keep-Alive, Proxy-Connection, TE,
 * Upgrade) is ignored: filters must not be able to smuggle.
 * <head_end> points past the head's final CRLF. Headers are told apart by the
 * ids the parser gave them (xgw_h1_header.id, xgw_h1_request.hdr_ids).
 * Returns 0, or -E2BIG when the head needs more than XGW_XFER_IOV pieces.
 */
int xgw_rewrite_request(struct xgw_xfer *x, const struct xgw_h1_request *req, const char *head_end,
			const struct xgw_rw_req *rw);

/*
 * Queue in <x>'s iovecs the response head <resp> received in [<head>,
 * <head_end>) as sent to the client: hop-by-hop headers removed, Connection
 * set from <mode>, then the ResponseHeaderModifier operations of <flt> (may
 * be NULL). Returns 0 or -E2BIG.
 */
int xgw_rewrite_response(struct xgw_xfer *x, const struct xgw_h1_response *resp, const char *head,
			 const char *head_end, enum xgw_conn_mode mode,
			 const struct xgw_rw_filters *flt);

/*
 * Queue in <x>'s iovecs the redirect the RequestRedirect filter <filter>
 * answers <req> with: its status (302 when unset), an empty body, and
 *   Location: scheme://host[:port]path[?query]
 * scheme: the filter's, else "http"; host: the filter's hostname, else the
 * request's without its port (no host known: the Location is the path
 * alone); port: the filter's, else the scheme's default when the filter sets
 * a scheme, else flt->listen_port, left out when it is the scheme's default;
 * path: replaced whole, or the matched prefix replaced, or kept; the query
 * is kept. The pieces point into the request's buffer, the snapshot and
 * <x>->extra. Returns 0 or -E2BIG.
 */
int xgw_rewrite_redirect(struct xgw_xfer *x, const struct xgw_h1_request *req,
			 const struct xgw_rw_filters *flt, uint32_t filter, bool keep_alive);

/*
 * Queue <len> bytes at <p> in <x>, extending the last piece when they follow it. 0 or -E2BIG.
 * Inline: a head is a dozen pieces or so, each queued through here.
 */
static inline int xgw_xfer_emit(struct xgw_xfer *x, const char *p, size_t len)
{
	struct iovec *last;

	if (!len)
		return 0;
	if (x->iov_n) {
		last = &x->iov[x->iov_n - 1];
		if ((const char *)last->iov_base + last->iov_len == p) {
			last->iov_len += len;
			return 0;
		}
	}
	if (x->iov_n == XGW_XFER_IOV)
		return -E2BIG;
	x->iov[x->iov_n].iov_base = (void *)p;
	x->iov[x->iov_n].iov_len = len;
	x->iov_n++;
	return 0;
}

/* In functions that return -E2BIG when a head needs more pieces than fit. */
#define EMIT(x, p, len)                                                                            \
	do {                                                                                       \
		if (xgw_xfer_emit((x), (p), (len)))                                                \
			return -E2BIG;                                                             \
	} while (0)

#define EMIT_STR(x, s) EMIT((x), (s), sizeof(s) - 1)

/* A gateway-generated response: head then a short text/plain body. */
struct xgw_lresp {
	const char *data;
	uint16_t head_len; /* bytes of the head (what a HEAD request gets) */
	uint16_t len;	   /* head and body */
};

/* Build the response table once, before the first xgw_local_response(). */
void xgw_rewrite_init(void);

/* The response for <status> (500 for a status it does not know). */
const struct xgw_lresp *xgw_local_response(int status, bool keep_alive);

#endif /* XGW_REWRITE_H */
