/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * HTTP/2 to backends (h2c, prior knowledge; nghttp2's client API) for the
 * clusters whose Service port says appProtocol kubernetes.io/h2c (and the
 * backends of GRPCRoutes).
 *
 * An exchange of conn.c keeps its HTTP/1.1 state machine: it gets a
 * struct xgw_upconn without a socket (fd -1, h2us set) whose transport is a
 * stream of a pooled HTTP/2 connection. The request it writes (the head
 * already rewritten by the route's filters, then the body in its framing)
 * becomes a HEADERS frame and DATA frames; the stream's response comes back
 * as HTTP/1.1 bytes (chunked when it has no content-length, with the
 * trailers as chunked trailers), which conn.c relays as it does any
 * response, and h2.c turns back into frames for HTTP/2 clients. Routing,
 * filters, retries, timeouts and passive health stay the same for both
 * upstream protocols.
 *
 * Connections are per endpoint, on the endpoint's pool (upstream.c), each
 * carrying up to the peer's SETTINGS_MAX_CONCURRENT_STREAMS (at most
 * XGW_H2UP_MAX_STREAMS) streams; another connection opens beyond that.
 */
#ifndef XGW_H2UP_H
#define XGW_H2UP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct xgw_worker;
struct xgw_pool;
struct xgw_conn;
struct xgw_upconn;
struct xgw_buf;
struct xgw_timer;
struct xgw_h2up;
struct xgw_h2us;

/* Streams per upstream connection, whatever the peer allows. */
#define XGW_H2UP_MAX_STREAMS 256

/*
 * A stream to <p> for <owner>, on a connection with room (a new one when
 * none has, or when <fresh>). Returns 0 with *<out> set (its request is
 * sent as the owner writes it), or -errno.
 */
int xgw_h2up_get(struct xgw_worker *w, struct xgw_pool *p, struct xgw_conn *owner, bool fresh,
		 struct xgw_upconn **out);
/*
 * The same for a cluster whose uptls entry is <tls> in <sr> (XGW_SNAP_NONE:
 * cleartext h2c, as xgw_h2up_get()): HTTP/2 over TLS, asked for by ALPN h2,
 * on connections made for those TLS settings only.
 */
struct xgw_snapref;
int xgw_h2up_get_tls(struct xgw_worker *w, struct xgw_pool *p, struct xgw_conn *owner, bool fresh,
		     const struct xgw_snapref *sr, uint32_t tls, struct xgw_upconn **out);
/* The owner is done with the stream of <u>: reset it if it is still open. */
void xgw_h2up_release(struct xgw_worker *w, struct xgw_upconn *u);

/* Request bytes (HTTP/1.1) of the exchange. Like xgw_h2s_writev (h2.h). */
ssize_t xgw_h2us_writev(struct xgw_h2us *s, const struct iovec *iov, int n, bool *wr_ready);
/* Response bytes (HTTP/1.1) into <b>. Like xgw_h2s_read (h2.h). */
ssize_t xgw_h2us_read(struct xgw_h2us *s, struct xgw_buf *b, bool *rd_ready);

/*
 * <p> was orphaned by a snapshot swap: its connections without streams
 * close at the end of the batch, the others when their last stream ends.
 */
void xgw_h2up_pool_orphaned(struct xgw_pool *p);

/* epoll reported <events> on a connection's socket. */
void xgw_h2up_event(struct xgw_h2up *h, uint32_t events);
/* A connection's timer (XGW_T_H2UP_CONNECT or XGW_T_H2UP_IDLE) expired. */
void xgw_h2up_timer(struct xgw_worker *w, struct xgw_timer *t);
/*
 * After each batch of events: send what the connections have queued, run
 * the exchanges their frames woke. Returns true when an exchange ran (it
 * may have queued frames to HTTP/2 clients).
 */
bool xgw_h2up_flush_all(struct xgw_worker *w);
/* Free the connections closed during the batch. */
void xgw_h2up_reap(struct xgw_worker *w);
/* Worker exit: close every connection. */
void xgw_h2up_free_all(struct xgw_worker *w);

/*
 * A gateway-generated answer to a gRPC request (content-type application/grpc):
 * HTTP 200, trailers-only (no body: an HTTP/2 client gets one HEADERS frame
 * with END_STREAM), grpc-status mapped from the HTTP <status> the gateway
 * would have given (gRPC's "HTTP to gRPC Status Code Mapping").
 */
struct xgw_lresp;
const struct xgw_lresp *xgw_grpc_local_response(int status, bool keep_alive);
/* Is <v>[0, <len>) a gRPC content-type (application/grpc, application/grpc+proto, ...)? */
bool xgw_grpc_content_type(const char *v, size_t len);

#endif /* XGW_H2UP_H */
