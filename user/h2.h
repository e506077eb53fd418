/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * HTTP/2 to clients (RFC 9113, nghttp2): over TLS when ALPN chose h2, and in
 * cleartext with prior knowledge (h2c). Each stream is an exchange of the
 * HTTP/1.1 state machine of conn.c, a connection without a socket: its
 * request is handed to it as HTTP/1.1 bytes (the head made from the HEADERS
 * frame, the body from DATA frames, chunked when no content-length says
 * otherwise), and the HTTP/1.1 response it writes is turned back into a
 * HEADERS frame and DATA frames. Routing, filters, retries, timeouts and
 * upstream pools are then the same for both protocols.
 */
#ifndef XGW_H2_H
#define XGW_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <openssl/ssl.h>

struct xgw_worker;
struct xgw_conn;
struct xgw_buf;
struct xgw_h2;
struct xgw_h2s;
struct ssl_st;

/* The connection preface of a client that speaks HTTP/2 with prior knowledge. */
#define XGW_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define XGW_H2_PREFACE_LEN 24

/*
 * Make an HTTP/2 connection of client connection <c>: its socket (and TLS)
 * move to a new session, with <pre>[0, <pre_len>) the bytes already read
 * (the preface of an h2c client). <c> is closed without closing the socket.
 * Returns 0, or -errno (then <c> is closed, socket and all).
 */
int xgw_h2_takeover(struct xgw_conn *c, const char *pre, size_t pre_len);

/* epoll reported <events> on the session's socket. */
void xgw_h2_event(struct xgw_h2 *h, uint32_t events);
/* A session's idle timer (XGW_T_H2_IDLE) expired: GOAWAY and close if it has no stream. */
struct xgw_timer;
void xgw_h2_timer(struct xgw_timer *t);
/* After each batch of events: run the streams that can go on, send what is queued. */
void xgw_h2_flush_all(struct xgw_worker *w);
/* Draining: GOAWAY to every session; each closes when its streams are done. */
void xgw_h2_drain_all(struct xgw_worker *w);
/* Worker exit: close every session. */
void xgw_h2_free_all(struct xgw_worker *w);

/* --- the stream side, for conn.c ---------------------------------------- */

/* Move request bytes of stream <s> into <b>. Returns the count; clears *<rd_ready> when none is left. */
ssize_t xgw_h2s_read(struct xgw_h2s *s, struct xgw_buf *b, bool *rd_ready);
/*
 * Take response bytes (HTTP/1.1) of stream <s> from <iov>[0, <n>). Returns
 * how many were taken (fewer when the stream's send buffer is full: then
 * *<wr_ready> is cleared until the client reads), or -EPROTO for a response
 * that does not parse.
 */
ssize_t xgw_h2s_writev(struct xgw_h2s *s, const struct iovec *iov, int n, bool *wr_ready);
/* The exchange answered completely: what follows the last body byte ends the stream. */
void xgw_h2s_done(struct xgw_h2s *s);
/* The exchange is closed: end the stream, or reset it if its answer is not complete. */
void xgw_h2s_detach(struct xgw_h2s *s);

/* The TLS session of the connection that carries stream <s> (NULL for h2c). */
SSL *xgw_h2s_tls(const struct xgw_h2s *s);

#endif /* XGW_H2_H */
