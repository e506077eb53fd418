/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Moving a message's bytes between a buffer and a transport: a socket, TLS
 * over it, or an HTTP/2 stream. The framing bookkeeping of struct xgw_xfer
 * (how far a message goes in its buffer) and the reads and gathered writes of
 * the proxy state machine (conn.c), with edge-triggered readiness: a read or
 * write clears rd_ready / wr_ready only when the transport has nothing more.
 */
#ifndef XGW_XFER_H
#define XGW_XFER_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conn-t.h"

/* xgw_io_read(): the peer closed its side. */
#define IO_EOF (-ENODATA)

struct ssl_st;

/* One side's transport: a socket, TLS over it, or an HTTP/2 stream (h2.c). */
struct xgw_io {
	int fd;
	struct ssl_st *tls;
	struct xgw_h2s *h2s;
	struct xgw_h2us *h2us; /* a stream to a backend over HTTP/2 (h2up.c) */
};

/* Bytes of <x> not written yet: head pieces, or body bytes of <b> (may be NULL). */
static inline bool xgw_xfer_pending(const struct xgw_xfer *x, const struct xgw_buf *b)
{
	return x->iov_i < x->iov_n || (b && x->lim > b->start);
}

/* Start message <x> with <framing> (enum xgw_h1_body or XGW_XFER_RAW), <len> body
 * bytes for XGW_H1_BODY_LENGTH, its bytes starting at <pos> of its buffer. */
void xgw_xfer_init(struct xgw_xfer *x, uint8_t framing, uint64_t len, uint32_t pos);
int xgw_xfer_claim(struct xgw_xfer *x, const struct xgw_buf *b);
void xgw_buf_make_room(struct xgw_buf *b, struct xgw_xfer *x);
ssize_t xgw_io_read(const struct xgw_io *io, struct xgw_buf *b, bool *rd_ready, bool rdhup);
ssize_t xgw_xfer_flush(const struct xgw_io *io, struct xgw_xfer *x, struct xgw_buf *b,
		       bool *wr_ready);
/*
 * Write <p>[0, <len>) to <fd> (through <tls> when not NULL, in records of up
 * to 16 kB): the bytes written, 0 on EAGAIN, or -errno. A short write clears
 * *<wr_ready>. After a short TLS write the caller offers the same bytes again
 * (more may follow them), as OpenSSL wants.
 */
ssize_t xgw_io_send(int fd, struct ssl_st *tls, const char *p, size_t len, bool *wr_ready);
void xgw_io_shut_wr(int fd, struct ssl_st *tls);

#endif /* XGW_XFER_H */
