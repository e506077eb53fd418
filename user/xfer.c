// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* A message's bytes between a buffer and a transport (see xfer.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "xgw/log.h"

#include "h2.h"
#include "h2up.h"
#include "http1.h"
#include "loop-t.h"
#include "xfer.h"

void xgw_xfer_init(struct xgw_xfer *x, uint8_t framing, uint64_t len, uint32_t pos)
{
	x->iov_i = x->iov_n = 0;
	x->framing = framing;
	x->left = len;
	x->lim = pos;
	memset(&x->ck, 0, sizeof(x->ck));
	x->complete = framing == XGW_H1_BODY_NONE || (framing == XGW_H1_BODY_LENGTH && !len);
}

/*
 * Extend the message's part of <b> over bytes received since, as far as its
 * framing goes. Returns 0 or -EBADMSG (invalid chunked framing).
 */
int xgw_xfer_claim(struct xgw_xfer *x, const struct xgw_buf *b)
{
	uint32_t avail;
	size_t used;
	int rc;

	if (x->complete || b->end <= x->lim)
		return 0;
	avail = b->end - x->lim;
	switch (x->framing) {
	case XGW_H1_BODY_LENGTH:
		if (avail > x->left)
			avail = (uint32_t)x->left;
		x->lim += avail;
		x->left -= avail;
		x->complete = !x->left;
		return 0;
	case XGW_H1_BODY_CHUNKED:
		rc = xgw_h1_chunked_scan(&x->ck, b->data + x->lim, avail, &used);
		if (rc < 0)
			return -EBADMSG;
		x->lim += (uint32_t)used;
		x->complete = rc == 1;
		return 0;
	case XGW_H1_BODY_EOF:
	case XGW_XFER_RAW:
		x->lim = b->end;
		return 0;
	default:
		return 0;
	}
}

/*
 * Make room at the end of <b> before a read, unless head pieces of <x> still
 * point into it: rewind an empty buffer, or move the unconsumed bytes of a
 * full one to the front.
 */
void xgw_buf_make_room(struct xgw_buf *b, struct xgw_xfer *x)
{
	uint32_t n;

	if (x->iov_i < x->iov_n)
		return;
	if (b->start == b->end) {
		b->start = b->end = 0;
		x->lim = 0;
	} else if (b->end == XGW_BUF_CAP && b->start) {
		n = b->end - b->start;
		memmove(b->data, b->data + b->start, n);
		x->lim -= b->start;
		b->end = n;
		b->start = 0;
	}
}

/* xgw_io_read() through TLS: records until <b> is full or OpenSSL wants more bytes. */
static ssize_t tls_read(SSL *tls, struct xgw_buf *b, bool *rd_ready)
{
	size_t got = 0, n;

	ERR_clear_error();
	while (b->end < XGW_BUF_CAP) {
		int r = SSL_read_ex(tls, b->data + b->end, XGW_BUF_CAP - b->end, &n);

		if (r == 1) {
			b->end += (uint32_t)n;
			got += n;
			continue;
		}
		switch (SSL_get_error(tls, r)) {
		case SSL_ERROR_WANT_READ:
			*rd_ready = false;
			return (ssize_t)got;
		case SSL_ERROR_ZERO_RETURN: /* close_notify, or a FIN (unexpected EOF ignored) */
			return got ? (ssize_t)got : IO_EOF;
		case SSL_ERROR_SYSCALL:
			return got ? (ssize_t)got : errno ? -errno : IO_EOF;
		default:
			log_debug("TLS read: %s", ERR_reason_error_string(ERR_peek_last_error()));
			ERR_clear_error();
			return got ? (ssize_t)got : -EPROTO;
		}
	}
	return (ssize_t)got;
}

/*
 * Read from <fd> (through <tls> when not NULL) into the free tail of <b>.
 * Returns the bytes read, 0 when nothing was (no room, or EAGAIN), IO_EOF,
 * or -errno. A short read clears *<rd_ready>: edge-triggered epoll reports
 * the next arrival, unless the peer already closed (<rdhup>), whose EOF is
 * still to be read.
 */
ssize_t xgw_io_read(const struct xgw_io *io, struct xgw_buf *b, bool *rd_ready, bool rdhup)
{
	size_t room = XGW_BUF_CAP - b->end;
	ssize_t n;

	if (!room)
		return 0;
	if (io->h2s)
		return xgw_h2s_read(io->h2s, b, rd_ready);
	if (io->h2us)
		return xgw_h2us_read(io->h2us, b, rd_ready);
	if (io->tls)
		return tls_read(io->tls, b, rd_ready);
	do
		n = recv(io->fd, b->data + b->end, room, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		b->end += (uint32_t)n;
		if ((size_t)n < room && !rdhup)
			*rd_ready = false;
		return n;
	}
	if (n == 0)
		return IO_EOF;
	if (errno == EAGAIN) {
		*rd_ready = false;
		return 0;
	}
	return -errno;
}

/*
 * writev() through TLS: records of up to 16 kB, small pieces gathered into
 * one record. After SSL_ERROR_WANT_WRITE OpenSSL wants the same bytes again:
 * the pieces only grow at their end, so gathering them anew gives them (the
 * buffer may move: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
 */
static ssize_t tls_writev(SSL *tls, const struct iovec *iov, int n, bool *wr_ready)
{
	char stage[16384];
	size_t done = 0, skip = 0;
	int i = 0;

	ERR_clear_error();
	while (i < n) {
		const char *p;
		size_t len, wr;

		if (iov[i].iov_len - skip >= sizeof(stage) || i == n - 1) {
			p = (const char *)iov[i].iov_base + skip;
			len = iov[i].iov_len - skip;
		} else {
			len = 0;
			for (int k = i; k < n && len < sizeof(stage); k++) {
				size_t off = k == i ? skip : 0,
				       take = iov[k].iov_len - off < sizeof(stage) - len
						      ? iov[k].iov_len - off
						      : sizeof(stage) - len;

				memcpy(stage + len, (const char *)iov[k].iov_base + off, take);
				len += take;
			}
			p = stage;
		}
		if (!len) {
			i++;
			skip = 0;
			continue;
		}
		if (SSL_write_ex(tls, p, len, &wr) != 1) {
			int e = SSL_get_error(tls, 0);

			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				*wr_ready = false;
				return (ssize_t)done;
			}
			ERR_clear_error();
			return done ? (ssize_t)done : -EPIPE;
		}
		done += wr;
		/* step over <wr> bytes of the pieces */
		while (wr && i < n) {
			size_t rest = iov[i].iov_len - skip;

			if (wr < rest) {
				skip += wr;
				wr = 0;
			} else {
				wr -= rest;
				i++;
				skip = 0;
			}
		}
	}
	return (ssize_t)done;
}

/*
 * Write what <x> has pending (head pieces, then body bytes of <b>, which may
 * be NULL) to <fd> in one writev (through <tls> when not NULL). Returns the
 * bytes written, 0 on EAGAIN, or -errno. A short write clears *<wr_ready>.
 * The pieces are written from x->iov itself: the body's piece goes in the
 * slot past the last head piece (not counted in iov_n), or, when the head
 * took every slot, all are copied out first.
 */
ssize_t xgw_xfer_flush(const struct xgw_io *io, struct xgw_xfer *x, struct xgw_buf *b,
		       bool *wr_ready)
{
	struct iovec copy[XGW_XFER_IOV + 1], *iov = x->iov + x->iov_i;
	int n = x->iov_n - x->iov_i;
	size_t want = 0, body = b && x->lim > b->start ? x->lim - b->start : 0, left;
	bool plain = !io->h2s && !io->h2us && !io->tls;
	ssize_t wr;

	for (int i = 0; i < n; i++)
		want += iov[i].iov_len;
	if (body) {
		if (x->iov_n == XGW_XFER_IOV) {
			memcpy(copy, iov, (size_t)n * sizeof(*iov));
			iov = copy;
		}
		iov[n].iov_base = b->data + b->start;
		iov[n].iov_len = body;
		want += body;
		n++;
	}
	if (!n)
		return 0;
	if (!plain) {
		wr = io->h2s	? xgw_h2s_writev(io->h2s, iov, n, wr_ready)
		     : io->h2us ? xgw_h2us_writev(io->h2us, iov, n, wr_ready)
				: tls_writev(io->tls, iov, n, wr_ready);
		if (wr < 0)
			return wr;
		want = (size_t)wr; /* a short write has cleared *wr_ready itself */
	} else {
		do
			wr = n == 1 ? write(io->fd, iov[0].iov_base, iov[0].iov_len)
				    : writev(io->fd, iov, n);
		while (wr < 0 && errno == EINTR);
	}
	if (wr < 0) {
		if (errno != EAGAIN)
			return -errno;
		*wr_ready = false;
		return 0;
	}
	if ((size_t)wr < want) {
		*wr_ready = false;
	} else if (plain) {
		/* All of it went out, as it mostly does: no piece to step over. */
		x->iov_i = x->iov_n;
		if (body)
			b->start += (uint32_t)body;
		return wr;
	}
	left = (size_t)wr;
	while (x->iov_i < x->iov_n && left) {
		struct iovec *v = &x->iov[x->iov_i];

		if (left < v->iov_len) {
			v->iov_base = (char *)v->iov_base + left;
			v->iov_len -= left;
			return wr;
		}
		left -= v->iov_len;
		x->iov_i++;
	}
	if (b)
		b->start += (uint32_t)left;
	return wr;
}

ssize_t xgw_io_send(int fd, SSL *tls, const char *p, size_t len, bool *wr_ready)
{
	size_t done = 0;
	ssize_t n;

	if (tls) {
		ERR_clear_error();
		while (done < len) {
			size_t k = len - done > 16384 ? 16384 : len - done, wr;

			if (SSL_write_ex(tls, p + done, k, &wr) != 1) {
				int e = SSL_get_error(tls, 0);

				ERR_clear_error();
				if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
					return -EPIPE;
				*wr_ready = false;
				break;
			}
			done += wr;
		}
		return (ssize_t)done;
	}
	do
		n = send(fd, p, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN)
			return -errno;
		*wr_ready = false;
		return 0;
	}
	if ((size_t)n < len)
		*wr_ready = false;
	return n;
}

/* Shut the write side of <fd>, after a close_notify when it is a TLS connection. */
void xgw_io_shut_wr(int fd, SSL *tls)
{
	if (tls && SSL_is_init_finished(tls)) {
		SSL_shutdown(tls);
		ERR_clear_error();
	}
	shutdown(fd, SHUT_WR);
}
