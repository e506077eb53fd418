// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * HTTP/2 with prior knowledge to backends (see h2up.h).
 *
 * A connection (struct xgw_h2up) is an nghttp2 client session over a
 * non-blocking socket registered edge-triggered, like an upstream.c
 * connection. A stream (struct xgw_h2us) stands between the session and the
 * exchange's struct xgw_upconn: conn.c writes the request as HTTP/1.1 into
 * the stream's request buffer; the head is turned into HEADERS at once, the
 * body bytes are de-framed (content-length or chunked) into DATA by the data
 * source as nghttp2 sends, so the request buffer bounds what is held for a
 * slow backend (backpressure: the exchange's wr_ready drops while it is
 * full). Response frames become HTTP/1.1 bytes in the stream's response
 * buffer, read by conn.c; the stream's window is handed back only as conn.c
 * takes them (automatic WINDOW_UPDATE is off), so a slow client stalls its
 * backend stream and nothing else.
 *
 * nghttp2 callbacks never run an exchange (it could release the stream
 * under nghttp2's feet): they queue its upconn, whose memory lasts until
 * the end of the event batch, and xgw_h2up_flush_all() runs the queue.
 *
 * Failures: a connection that fails (connect error or timeout, reset, bad
 * frames) fails each of its streams with the error, as a failed HTTP/1.1
 * connection would, and conn.c answers 502/504 or retries. A stream the
 * server refused (REFUSED_STREAM, or above a GOAWAY's last_stream_id, which
 * nghttp2 closes as refused) was not processed: it is marked like a stale
 * pooled connection, so that a retryable request goes again on another
 * connection. A reset after the response head aborts the client's exchange.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>

#include "xgw/log.h"

#include "bytes.h"
#include "conn.h"
#include "h2up.h"
#include "http1.h"
#include "loop.h"
#include "mem.h"
#include "rewrite.h"
#include "upstls.h"
#include "upstream.h"
#include "xfer.h"

/* Request bytes buffered per stream before the exchange is told to wait. */
#define REQ_BUF_MAX 65536
/*
 * Flow control windows we give backends: per stream (what a stream may have
 * buffered for a slow client, bounded), and per connection (so that one slow
 * stream does not stall the others sharing it).
 */
#define STREAM_WINDOW (256 * 1024)
#define CONN_WINDOW (16 * 1024 * 1024)
/* Streams allowed before the server's SETTINGS say how many it takes (RFC 9113 advises >= 100). */
#define STREAMS_BEFORE_SETTINGS 100
#define HEAD_MAX 65536
#define NAMES_MAX 8192	 /* bytes of header names in a request head */
#define SEND_BATCH 65536 /* frame bytes gathered before a write */

enum req_body {
	RQ_NONE,
	RQ_LENGTH,
	RQ_CHUNKED,
};

struct xgw_h2up {
	struct xgw_ev ev; /* XGW_EV_H2UP */
	int fd;
	bool connected, rd_ready, wr_ready, rdhup, dead, goaway, settings, dirty;
	bool used; /* a stream has completed on it: a later failure may be a stale connection */
	/* TLS (a BackendTLSPolicy, ALPN h2): connected once the handshake is done */
	bool tcp_up;
	SSL *tls;
	struct xgw_upstls_check *tls_chk;
	uint64_t tls_key; /* the streams that may use it (0: cleartext h2c) */
	struct xgw_worker *w;
	struct xgw_pool *pool;
	nghttp2_session *s;
	uint32_t n_streams;
	struct xgw_timer timer;		/* XGW_T_H2UP_CONNECT, then XGW_T_H2UP_IDLE when idle */
	struct xgw_h2up *pprev, *pnext; /* the pool's connections */
	struct xgw_h2up *wprev, *wnext; /* the worker's connections */
	struct xgw_h2up *dirty_next;	/* worker's dirty list; also the dead list */
	struct xgw_h2us *streams;	/* open on it (submitted or waiting for their head) */
	struct xgw_h2us *hd_s;		/* the stream whose HEADERS are being received, or NULL */
	struct xgw_bytes out;		/* frames gathered, not written yet */
};

struct xgw_h2us {
	struct xgw_h2up *h;   /* NULL once the stream is over on the connection */
	struct xgw_upconn *u; /* the exchange's side; NULL once released */
	int32_t id;	      /* 0 until its HEADERS is submitted */
	struct xgw_h2us *prev, *next;
	/* the request */
	struct xgw_bytes q; /* HTTP/1.1 bytes from the exchange, not framed yet */
	uint8_t body;	    /* enum req_body */
	bool submitted, req_end, deferred, head_req;
	uint64_t left;
	struct xgw_h1_chunked ck;
	/* the response */
	struct xgw_bytes rh; /* header lines of the HEADERS being received */
	struct xgw_bytes r;  /* HTTP/1.1 bytes for the exchange */
	int status;
	bool resp_head, resp_chunked, resp_end, closed, has_cl;
	int err;	   /* a failure to report once what came before it is read */
	size_t unconsumed; /* DATA bytes not handed back to flow control yet */
};

/* --- worker lists -------------------------------------------------------- */

static void h2up_dirty(struct xgw_h2up *h)
{
	struct xgw_worker *w = h->w;

	if (h->dirty || h->dead)
		return;
	h->dirty = true;
	h->dirty_next = w->h2up_dirty;
	w->h2up_dirty = h;
}

/* Run <u>'s exchange after the current nghttp2 call. */
static void queue_owner(struct xgw_worker *w, struct xgw_upconn *u)
{
	if (!u || u->h2_queued || !u->owner)
		return;
	if (w->h2up_nrun == w->h2up_caprun) {
		uint32_t cap = w->h2up_caprun ? 2 * w->h2up_caprun : 64;
		struct xgw_upconn **q = realloc(w->h2up_runq, cap * sizeof(*q));

		if (!q)
			return; /* the exchange's own timers still end it */
		w->h2up_runq = q;
		w->h2up_caprun = cap;
	}
	u->h2_queued = true;
	w->h2up_runq[w->h2up_nrun++] = u;
}

static void stream_unlink(struct xgw_h2us *s)
{
	struct xgw_h2up *h = s->h;

	if (!h)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->h = NULL;
	if (h->hd_s == s)
		h->hd_s = NULL;
	if (!--h->n_streams && !h->dead) {
		if (h->goaway || h->pool->orphan)
			h2up_dirty(h); /* closed by the flush: nothing more will use it */
		else
			xgw_timer_arm(h->w, &h->timer, XGW_T_H2UP_IDLE);
	}
}

static void stream_free(struct xgw_h2us *s)
{
	xgw_bytes_free(&s->q);
	xgw_bytes_free(&s->rh);
	xgw_bytes_free(&s->r);
	xgw_mem_free(s);
}

/*
 * The stream failed with <err> for its exchange; <unprocessed>: the server
 * did not act on it. What it received before is read first, as from a
 * socket before its reset: a response head that came is relayed, then the
 * exchange learns the failure from the read.
 */
static void stream_fail(struct xgw_worker *w, struct xgw_h2us *s, int err, bool unprocessed)
{
	struct xgw_upconn *u = s->u;

	if (!u || u->err || s->err)
		return;
	if (xgw_bytes_pending(&s->r))
		s->err = err;
	else
		u->err = err;
	if (unprocessed)
		u->reused = u->unprocessed = true; /* conn.c sends it again when it may */
	u->rd_ready = u->wr_ready = true;
	queue_owner(w, u);
}

static void h2up_close(struct xgw_h2up *h, int err)
{
	struct xgw_worker *w = h->w;
	struct xgw_h2us *s, *next;

	if (h->dead)
		return;
	for (s = h->streams; s; s = next) {
		next = s->next;
		/* A whole response is still read from the stream's buffer. Not sent yet:
		 * as good as refused, another connection may take it. */
		if (!s->resp_end)
			stream_fail(w, s, err, !s->submitted && h->used);
		s->prev = s->next = NULL;
		s->h = NULL;
		s->closed = true;
		if (!s->u)
			stream_free(s);
	}
	h->streams = NULL;
	h->hd_s = NULL;
	h->n_streams = 0;
	h->dead = true;
	xgw_timer_disarm(&h->timer);
	xgw_upstls_free(h->tls, h->tls_chk);
	h->tls = NULL;
	h->tls_chk = NULL;
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	xgw_bytes_free(&h->out);
	if (h->pprev)
		h->pprev->pnext = h->pnext;
	else
		h->pool->h2 = h->pnext;
	if (h->pnext)
		h->pnext->pprev = h->pprev;
	if (h->wprev)
		h->wprev->wnext = h->wnext;
	else
		w->h2ups = h->wnext;
	if (h->wnext)
		h->wnext->wprev = h->wprev;
	w->n_h2up--;
	/* freed after the batch: callers up the stack may still hold it */
	if (!h->dirty) {
		h->dirty_next = w->dead_h2up;
		w->dead_h2up = h;
	}
	xgw_pool_conn_gone(w, h->pool);
}

/* --- nghttp2 callbacks ---------------------------------------------------- */

/*
 * De-frame chunked request bytes of <s>->q into <out>, at most <space> data
 * bytes. Returns the data bytes written, -1 on bad framing. Trailers of a
 * request are not passed on.
 */
static ssize_t dechunk(struct xgw_h2us *s, uint8_t *out, size_t space)
{
	size_t got = 0;

	while (xgw_bytes_pending(&s->q) && !s->req_end) {
		size_t used, off, n;
		int rc = xgw_h1_chunked_next(&s->ck, s->q.p + s->q.off, xgw_bytes_pending(&s->q),
					     space - got, &used, &off, &n);

		if (rc < 0)
			return -1;
		if (n)
			memcpy(out + got, s->q.p + s->q.off + off, n);
		got += n;
		s->q.off += used;
		if (rc == 1)
			s->req_end = true;
		else if (!used)
			break; /* data, and no room for it */
	}
	return (ssize_t)got;
}

static ssize_t data_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *source, void *user)
{
	struct xgw_h2us *s = source->ptr;
	struct xgw_h2up *h = user;
	ssize_t n = 0;

	(void)session;
	(void)id;
	if (s->body == RQ_LENGTH) {
		size_t k = xgw_bytes_pending(&s->q);

		if (k > length)
			k = length;
		if (k > s->left)
			k = (size_t)s->left;
		if (k)
			memcpy(buf, s->q.p + s->q.off, k);
		s->q.off += k;
		s->left -= k;
		s->req_end = !s->left;
		n = (ssize_t)k;
	} else if (s->body == RQ_CHUNKED) {
		n = dechunk(s, buf, length);
		if (n < 0) {
			log_debug("h2 upstream: the request's chunked body is malformed");
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the stream is reset */
		}
	}
	if (s->u && !s->u->wr_ready && xgw_bytes_pending(&s->q) < REQ_BUF_MAX) {
		s->u->wr_ready = true; /* room again: the exchange may write */
		queue_owner(h->w, s->u);
	}
	if (s->req_end) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		return n;
	}
	if (!n) {
		s->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	return n;
}

static bool name_is(const uint8_t *n, size_t len, const char *lit)
{
	return len == strlen(lit) && !memcmp(n, lit, len);
}

/* A HEADERS frame begins: its stream is looked up once, not once per field. */
static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
	struct xgw_h2up *h = user;

	h->hd_s = frame->hd.type == NGHTTP2_HEADERS
			  ? nghttp2_session_get_stream_user_data(session, frame->hd.stream_id)
			  : NULL;
	return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *user)
{
	struct xgw_h2up *h = user;
	struct xgw_h2us *s =
		h->hd_s && h->hd_s->id == frame->hd.stream_id
			? h->hd_s
			: nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);

	(void)flags;
	if (!s || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (!s->resp_head && name_is(name, namelen, ":status")) {
		int st = 0;

		for (size_t i = 0; i < valuelen && i < 3; i++)
			st = st * 10 + (value[i] - '0');
		s->status = st;
		return 0;
	}
	if (namelen && name[0] == ':')
		return 0;
	if (!s->resp_head && name_is(name, namelen, "content-length"))
		s->has_cl = true;
	/* nghttp2 has checked the field: no CR, LF or NUL can split the head */
	if (xgw_bytes_pending(&s->rh) + namelen + valuelen > HEAD_MAX ||
	    xgw_bytes_field(&s->rh, name, namelen, value, valuelen))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

/* "HTTP/1.1 <status> <reason>\r\n" (a :status nghttp2 has checked: three digits), in one piece. */
static int put_status_line(struct xgw_bytes *b, int status)
{
	const char *reason = xgw_h1_reason(status);
	size_t rl = strlen(reason);
	char *d = xgw_bytes_reserve(b, 13 + rl + 2);

	if (!d)
		return -ENOMEM;
	memcpy(d, "HTTP/1.1 ", 9);
	d[9] = (char)('0' + status / 100 % 10);
	d[10] = (char)('0' + status / 10 % 10);
	d[11] = (char)('0' + status % 10);
	d[12] = ' ';
	memcpy(d + 13, reason, rl);
	memcpy(d + 13 + rl, "\r\n", 2);
	return 0;
}

/* A HEADERS frame of the response is whole: its HTTP/1.1 form goes to s->r. */
static int response_headers(struct xgw_h2us *s, bool end_stream)
{
	bool no_body;
	int err;

	if (s->resp_head) {
		/* trailers: the chunked body's last chunk carries them (dropped after a content-length) */
		err = 0;
		if (s->resp_chunked) {
			err = xgw_bytes_str(&s->r, "0\r\n");
			if (!err && xgw_bytes_pending(&s->rh))
				err = xgw_bytes_put(&s->r, s->rh.p + s->rh.off,
						    xgw_bytes_pending(&s->rh));
			err = err ?: xgw_bytes_str(&s->r, "\r\n");
		}
		xgw_bytes_free(&s->rh);
		s->resp_end = true;
		return err;
	}
	if (s->status < 200) {
		/* interim (100 Continue, 103): relayed by conn.c as HTTP/1.1 does; the final head follows */
		err = put_status_line(&s->r, s->status);
		if (!err && xgw_bytes_pending(&s->rh))
			err = xgw_bytes_put(&s->r, s->rh.p + s->rh.off, xgw_bytes_pending(&s->rh));
		err = err ?: xgw_bytes_str(&s->r, "\r\n");
		xgw_bytes_free(&s->rh);
		s->has_cl = false;
		s->status = 0;
		return err;
	}
	no_body = s->status == 204 || s->status == 304 || s->head_req;
	err = put_status_line(&s->r, s->status)
		      ?: xgw_bytes_put(&s->r, s->rh.p ? s->rh.p + s->rh.off : "",
				       xgw_bytes_pending(&s->rh));
	if (!err && !no_body && !s->has_cl) {
		if (end_stream) {
			err = xgw_bytes_str(&s->r, "content-length: 0\r\n");
		} else {
			s->resp_chunked = true;
			err = xgw_bytes_str(&s->r, "transfer-encoding: chunked\r\n");
		}
	}
	err = err ?: xgw_bytes_str(&s->r, "\r\n");
	xgw_bytes_free(&s->rh);
	s->resp_head = true;
	if (end_stream) {
		s->resp_end = true;
		if (s->resp_chunked)
			err = err ?: xgw_bytes_str(&s->r, "0\r\n\r\n");
	}
	return err;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
	struct xgw_h2up *h = user;
	struct xgw_h2us *s;
	bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;

	switch (frame->hd.type) {
	case NGHTTP2_SETTINGS:
		if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
			h->settings = true;
		return 0;
	case NGHTTP2_GOAWAY:
		/* no new stream here; nghttp2 closes those above last_stream_id as refused */
		h->goaway = true;
		return 0;
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		break;
	default:
		return 0;
	}
	s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	if (!s)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS) {
		if (response_headers(s, end))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	} else if (end && s->resp_head) {
		s->resp_end = true;
		if (s->resp_chunked && xgw_bytes_str(&s->r, "0\r\n\r\n"))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if (s->u && xgw_bytes_pending(&s->r)) {
		s->u->rd_ready = true;
		queue_owner(h->w, s->u);
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *user)
{
	struct xgw_h2us *s = nghttp2_session_get_stream_user_data(session, id);
	struct xgw_h2up *h = user;
	char size[24];

	(void)flags;
	if (!s || !s->u || !s->resp_head) {
		/* nobody reads it: give the window back at once */
		nghttp2_session_consume(session, id, len);
		return 0;
	}
	s->unconsumed += len;
	if (s->resp_chunked) {
		snprintf(size, sizeof(size), "%zx\r\n", len);
		if (xgw_bytes_str(&s->r, size) || xgw_bytes_put(&s->r, data, len) ||
		    xgw_bytes_str(&s->r, "\r\n"))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	} else if (xgw_bytes_put(&s->r, data, len)) {
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	s->u->rd_ready = true;
	queue_owner(h->w, s->u);
	return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t code, void *user)
{
	struct xgw_h2us *s = nghttp2_session_get_stream_user_data(session, id);
	struct xgw_h2up *h = user;

	if (!s)
		return 0;
	nghttp2_session_set_stream_user_data(session, id, NULL);
	s->closed = true;
	/*
	 * Its buffered bytes stay the exchange's to read, but the connection's
	 * window gets them back now: without the stream, nothing would later.
	 * They are bounded by the stream's window.
	 */
	if (s->unconsumed) {
		nghttp2_session_consume_connection(session, s->unconsumed);
		s->unconsumed = 0;
	}
	if (s->u && !s->resp_end) {
		log_debug("h2 upstream: stream %d closed before its response ended (%s)", (int)id,
			  nghttp2_http2_strerror(code));
		stream_fail(h->w, s, code == NGHTTP2_REFUSED_STREAM ? -ECONNREFUSED : -ECONNRESET,
			    code == NGHTTP2_REFUSED_STREAM);
	}
	if (s->resp_end && !code)
		h->used = true;
	stream_unlink(s);
	if (!s->u)
		stream_free(s);
	return 0;
}

/* HEADERS of a stream could not go (GOAWAY received meanwhile, say): it was never processed. */
static int on_frame_not_send(nghttp2_session *session, const nghttp2_frame *frame, int code,
			     void *user)
{
	struct xgw_h2up *h = user;

	(void)session;
	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	for (struct xgw_h2us *s = h->streams; s; s = s->next) {
		if (s->id != frame->hd.stream_id)
			continue;
		log_debug("h2 upstream: stream not sent: %s", nghttp2_strerror(code));
		stream_fail(h->w, s, -ECONNREFUSED, true);
		s->closed = true;
		stream_unlink(s);
		if (!s->u)
			stream_free(s);
		break;
	}
	return 0;
}

static nghttp2_session_callbacks *callbacks(void)
{
	static nghttp2_session_callbacks *cb;

	if (cb || nghttp2_session_callbacks_new(&cb))
		return cb;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
	return cb;
}

/* --- connections ---------------------------------------------------------- */

static struct xgw_h2up *h2up_open(struct xgw_worker *w, struct xgw_pool *p,
				  const struct xgw_snapref *sr, uint32_t tls)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
	};
	nghttp2_session_callbacks *cb = callbacks();
	nghttp2_option *opt = NULL;
	struct xgw_h2up *h;
	int one = 1, err = -ENOMEM;

	if (!cb) {
		errno = ENOMEM;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ev.type = XGW_EV_H2UP;
	h->w = w;
	h->pool = p;
	h->fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0) {
		err = -errno;
		goto err_free;
	}
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (tls != XGW_SNAP_NONE) {
		h->tls = xgw_upstls_new(sr->uptls, &sr->snap, tls, h->fd, p, true, &h->tls_chk);
		if (!h->tls)
			goto err_close;
		h->tls_key = xgw_upstls_key(sr->uptls, tls);
	}
	if (nghttp2_option_new(&opt))
		goto err_close;
	/* windows are handed back as conn.c takes the bytes: backpressure */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	if (nghttp2_session_client_new3(&h->s, cb, h, opt, xgw_mem_nghttp2())) {
		h->s = NULL;
		goto err_close;
	}
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) ||
	    nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW))
		goto err_close;
	if (connect(h->fd, (struct sockaddr *)&p->sa, p->salen) == 0) {
		/* TLS: connected once the handshake is, which the first event drives */
		h->tcp_up = h->wr_ready = true;
		h->connected = !h->tls;
	} else if (errno != EINPROGRESS) {
		err = -errno;
		goto err_close;
	}
	ev.data.ptr = h;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0) {
		err = -errno;
		goto err_close;
	}
	nghttp2_option_del(opt);
	/* idle until its first stream (the caller's, normally) */
	xgw_timer_arm(w, &h->timer, h->connected ? XGW_T_H2UP_IDLE : XGW_T_H2UP_CONNECT);
	h->pnext = p->h2;
	if (p->h2)
		p->h2->pprev = h;
	p->h2 = h;
	h->wnext = w->h2ups;
	if (w->h2ups)
		w->h2ups->wprev = h;
	w->h2ups = h;
	w->n_h2up++;
	p->n_conns++;
	w->stats[XGW_WSTAT_H2UP_CONNS]++;
	h2up_dirty(h);
	return h;

err_close:
	nghttp2_option_del(opt);
	nghttp2_session_del(h->s);
	xgw_upstls_free(h->tls, h->tls_chk);
	if (h->fd >= 0)
		close(h->fd);
err_free:
	free(h);
	errno = -err;
	return NULL;
}

/* Can <h> take one more stream? */
static bool h2up_room(const struct xgw_h2up *h)
{
	uint32_t max = STREAMS_BEFORE_SETTINGS;

	if (h->dead || h->goaway)
		return false;
	if (h->settings)
		max = nghttp2_session_get_remote_settings(h->s,
							  NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
	if (max > XGW_H2UP_MAX_STREAMS)
		max = XGW_H2UP_MAX_STREAMS;
	return h->n_streams < max;
}

int xgw_h2up_get(struct xgw_worker *w, struct xgw_pool *p, struct xgw_conn *owner, bool fresh,
		 struct xgw_upconn **out)
{
	return xgw_h2up_get_tls(w, p, owner, fresh, NULL, XGW_SNAP_NONE, out);
}

int xgw_h2up_get_tls(struct xgw_worker *w, struct xgw_pool *p, struct xgw_conn *owner, bool fresh,
		     const struct xgw_snapref *sr, uint32_t tls, struct xgw_upconn **out)
{
	uint64_t key = tls == XGW_SNAP_NONE ? 0 : xgw_upstls_key(sr->uptls, tls);
	struct xgw_h2up *h = NULL;
	struct xgw_upconn *u;
	struct xgw_h2us *s;

	if (tls != XGW_SNAP_NONE && !key)
		return -EINVAL; /* cannot happen: the set has an entry per uptls */
	/* a connection with room, of the same kind: cleartext, or TLS with the same checks */
	if (!fresh)
		for (h = p->h2; h && (!h2up_room(h) || h->tls_key != key); h = h->pnext)
			;
	if (!h) {
		h = h2up_open(w, p, sr, tls);
		if (!h)
			return -errno;
	}
	u = calloc(1, sizeof(*u));
	s = xgw_mem_calloc(1, sizeof(*s));
	if (!u || !s) {
		free(u);
		xgw_mem_free(s);
		return -ENOMEM;
	}
	u->ev.type = XGW_EV_UPSTREAM;
	u->fd = -1;
	u->pool = p;
	u->owner = owner;
	u->h2us = s;
	u->h2 = true;
	/* the stream buffers the request until the connection is up */
	u->connected = u->wr_ready = true;
	u->reused = h->used;
	s->u = u;
	s->h = h;
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	if (!h->n_streams++ && h->timer.kind == XGW_T_H2UP_IDLE)
		xgw_timer_disarm(&h->timer);
	/* the exchange reads u->pool until it releases u: it holds the pool as a connection does */
	p->n_conns++;
	w->stats[XGW_WSTAT_H2UP_STREAMS]++;
	*out = u;
	return 0;
}

void xgw_h2up_release(struct xgw_worker *w, struct xgw_upconn *u)
{
	struct xgw_h2us *s = u->h2us;

	if (u->closed)
		return;
	u->closed = true;
	u->owner = NULL;
	u->h2us = NULL;
	if (s) {
		s->u = NULL;
		if (s->h && s->submitted && !s->closed) {
			struct xgw_h2up *h = s->h;

			if (!s->resp_end || !s->req_end)
				nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, s->id,
							  NGHTTP2_CANCEL);
			/* what it received and nobody read: the connection's window gets it back */
			if (s->unconsumed)
				nghttp2_session_consume(h->s, s->id, s->unconsumed);
			s->unconsumed = 0;
			h2up_dirty(h);
			/* freed by on_stream_close */
		} else {
			stream_unlink(s);
			stream_free(s);
		}
	}
	u->next = w->dead_ups;
	w->dead_ups = u;
	xgw_pool_conn_gone(w, u->pool);
}

/*
 * If the request head is whole at the front of s->q, submit HEADERS. The
 * parser finds where the head ends as it parses: no separate scan for the
 * blank line. Returns 0 (submitted, or the head not whole yet: s->submitted
 * tells), or -errno.
 */
static int submit_head(struct xgw_h2us *s)
{
	struct xgw_h1_request req;
	nghttp2_nv nva[XGW_H1_MAX_HEADERS + 4];
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = data_read };
	size_t n = 0, names = 0, hlen;
	int32_t id;
	int rc = xgw_h1_parse_request(s->q.p + s->q.off, xgw_bytes_pending(&s->q), &req);

	if (!rc)
		return xgw_bytes_pending(&s->q) > HEAD_MAX ? -EPROTO : 0;
	if (rc < 0 || req.upgrade) /* conn.c answers upgrades 502 before they come here */
		return -EPROTO;
	hlen = (size_t)rc;
#define NV(nm, nl, v, vl)                                                                          \
	nva[n++] = (nghttp2_nv){ (uint8_t *)(nm), (uint8_t *)(v), (nl), (vl), NGHTTP2_NV_FLAG_NONE }
	NV(":method", 7, req.method, req.method_len);
	/* the scheme of the connection to the backend (RFC 9113, 8.3.1) */
	if (s->h->tls)
		NV(":scheme", 7, "https", 5);
	else
		NV(":scheme", 7, "http", 4);
	if (req.host) /* an HTTP/1.0 request may have none: :authority is then omitted */
		NV(":authority", 10, req.host, req.host_len);
	NV(":path", 5, req.target, req.target_len);
	for (size_t i = 0; i < req.n_headers; i++) {
		const struct xgw_h1_header *hd = &req.headers[i];
		const char *nm = hd->name;
		size_t nl = hd->name_len;

		if (hd->id == XGW_H1_HDR_HOST || hd->id == XGW_H1_HDR_CONNECTION ||
		    hd->id == XGW_H1_HDR_KEEP_ALIVE || hd->id == XGW_H1_HDR_PROXY_CONNECTION ||
		    hd->id == XGW_H1_HDR_TRANSFER_ENCODING || hd->id == XGW_H1_HDR_UPGRADE)
			continue;
		/* TE: only "trailers" is allowed in HTTP/2 (gRPC sends it) */
		if (hd->id == XGW_H1_HDR_TE &&
		    !(hd->value_len == 8 && !strncasecmp(hd->value, "trailers", 8)))
			continue;
		/*
		 * HTTP/2 names are lower-case: nghttp2 lower-cases the names it
		 * copies (nghttp2_nv_array_copy), so they go as they are. The
		 * bound on their total is the one of the copy this code made.
		 */
		if ((names += nl) > NAMES_MAX)
			return -E2BIG;
		NV(nm, nl, hd->value, hd->value_len);
	}
#undef NV
	s->head_req = req.method_len == 4 && !memcmp(req.method, "HEAD", 4);
	s->body = req.body == XGW_H1_BODY_LENGTH    ? RQ_LENGTH
		  : req.body == XGW_H1_BODY_CHUNKED ? RQ_CHUNKED
						    : RQ_NONE;
	s->left = req.content_length;
	s->req_end = s->body == RQ_NONE || (s->body == RQ_LENGTH && !s->left);
	/* nghttp2 copies the fields: the head's bytes can go */
	id = nghttp2_submit_request(s->h->s, NULL, nva, n, s->req_end ? NULL : &prd, s);
	if (id < 0) {
		log_debug("h2 upstream: request not submitted: %s", nghttp2_strerror(id));
		return -EPROTO;
	}
	s->id = id;
	s->submitted = true;
	s->q.off += hlen;
	return 0;
}

ssize_t xgw_h2us_writev(struct xgw_h2us *s, const struct iovec *iov, int n, bool *wr_ready)
{
	size_t taken = 0;

	if (!s->h)
		return -EPIPE;
	if (!s->submitted) {
		/* the head is taken whole (conn.c bounds it), body bytes of the same write too */
		char *at;

		for (int i = 0; i < n; i++)
			taken += iov[i].iov_len;
		at = taken ? xgw_bytes_reserve(&s->q, taken) : NULL;
		if (taken && !at)
			return -ENOMEM;
		for (int i = 0; i < n && taken; i++) {
			memcpy(at, iov[i].iov_base, iov[i].iov_len);
			at += iov[i].iov_len;
		}
	}
	for (int i = 0; i < n && s->submitted; i++) {
		size_t len = iov[i].iov_len, pending = xgw_bytes_pending(&s->q);
		/* the body up to the buffer's size */
		size_t room = pending < REQ_BUF_MAX ? REQ_BUF_MAX - pending : 0;

		if (s->req_end)
			room = len; /* nothing follows the body: stray bytes are dropped */
		if (len > room)
			len = room;
		if (!s->req_end && xgw_bytes_put(&s->q, iov[i].iov_base, len))
			return taken ? (ssize_t)taken : -ENOMEM;
		taken += len;
		if (len < iov[i].iov_len) {
			*wr_ready = false;
			break;
		}
	}
	if (!s->submitted) {
		int err = submit_head(s);

		if (err) {
			/* the exchange fails now (502), not when its timers run out */
			if (s->u && !s->u->err)
				s->u->err = err;
			return err;
		}
	}
	if (s->submitted && s->deferred && xgw_bytes_pending(&s->q)) {
		s->deferred = false;
		nghttp2_session_resume_data(s->h->s, s->id);
	}
	h2up_dirty(s->h);
	return (ssize_t)taken;
}

ssize_t xgw_h2us_read(struct xgw_h2us *s, struct xgw_buf *b, bool *rd_ready)
{
	size_t room = XGW_BUF_CAP - b->end, n = xgw_bytes_pending(&s->r);

	if (n > room)
		n = room;
	if (n)
		memcpy(b->data + b->end, s->r.p + s->r.off, n);
	b->end += (uint32_t)n;
	s->r.off += n;
	if (!xgw_bytes_pending(&s->r)) {
		s->r.off = s->r.len = 0;
		if (s->err && !n)
			return s->err;
		/* with an error pending, the next read reports it */
		*rd_ready = s->err != 0;
	}
	/* hand the window back for what left the buffer (all of it once it is empty) */
	if (s->unconsumed && (n || !xgw_bytes_pending(&s->r))) {
		size_t k = xgw_bytes_pending(&s->r) ? (n < s->unconsumed ? n : s->unconsumed)
						    : s->unconsumed;

		if (s->h && !s->closed)
			nghttp2_session_consume(s->h->s, s->id, k);
		else if (s->h)
			nghttp2_session_consume_connection(s->h->s, k);
		s->unconsumed -= k;
		if (s->h)
			h2up_dirty(s->h);
	}
	return (ssize_t)n;
}

void xgw_h2up_pool_orphaned(struct xgw_pool *p)
{
	/* h2up_flush closes those without streams: the sweep's walk of the pools stays safe */
	for (struct xgw_h2up *h = p->h2; h; h = h->pnext)
		h2up_dirty(h);
}

/* --- events ---------------------------------------------------------------- */

/*
 * Read TLS records of <h> into <buf>: the bytes read, 0 when OpenSSL waits for
 * the socket (rd_ready cleared), or -errno (closed, failed).
 */
static ssize_t tls_recv(struct xgw_h2up *h, uint8_t *buf, size_t len)
{
	size_t n = 0;

	ERR_clear_error();
	if (SSL_read_ex(h->tls, buf, len, &n) == 1)
		return (ssize_t)n;
	switch (SSL_get_error(h->tls, 0)) {
	case SSL_ERROR_WANT_READ:
		h->rd_ready = false;
		return 0;
	case SSL_ERROR_WANT_WRITE: /* a key update waits for the socket: the next event */
		h->rd_ready = false;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		log_debug("h2 upstream: TLS connection closed");
		return -ECONNRESET;
	default:
		log_debug("h2 upstream: TLS read failed");
		ERR_clear_error();
		return -ECONNRESET;
	}
}

static void h2up_recv(struct xgw_h2up *h)
{
	uint8_t buf[16384];

	while (h->rd_ready && !h->dead) {
		ssize_t n, rv;

		if (h->tls) {
			n = tls_recv(h, buf, sizeof(buf));
			if (!n)
				break;
			if (n < 0) {
				h2up_close(h, (int)n);
				return;
			}
			goto got;
		}
		do
			n = recv(h->fd, buf, sizeof(buf), 0);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EAGAIN) {
			h->rd_ready = false;
			break;
		}
		if (n <= 0) {
			log_debug("h2 upstream: connection %s", n ? strerror(errno) : "closed");
			h2up_close(h, n ? -errno : -ECONNRESET);
			return;
		}
		/* short read: drained, unless the FIN (already signalled) is still to be read */
		if ((size_t)n < sizeof(buf) && !h->rdhup)
			h->rd_ready = false;
	got:
		rv = nghttp2_session_mem_recv(h->s, buf, (size_t)n);
		if (rv < 0) {
			log_debug("h2 upstream: %s", nghttp2_strerror((int)rv));
			h2up_close(h, -EPROTO);
			return;
		}
	}
	h2up_dirty(h);
}

void xgw_h2up_event(struct xgw_h2up *h, uint32_t events)
{
	if (h->dead)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		h->rd_ready = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		h->wr_ready = true;
	if (events & (EPOLLRDHUP | EPOLLHUP))
		h->rdhup = true;
	if (!h->connected && !h->tcp_up) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			xgw_timer_disarm(&h->timer);
			log_debug("h2 upstream: connect: %s", strerror(soerr));
			h2up_close(h, -soerr);
			return;
		}
		h->tcp_up = true;
	}
	if (!h->connected) {
		/* TLS: the handshake, under the connect timer */
		int r = h->tls ? xgw_upstls_handshake_ssl(h->w, h->tls, h->tls_chk, &h->rd_ready,
							  &h->wr_ready)
			       : 1;

		if (!r)
			return;
		xgw_timer_disarm(&h->timer);
		if (r < 0) {
			h2up_close(h, r);
			return;
		}
		h->connected = h->wr_ready = true;
		if (!h->n_streams)
			xgw_timer_arm(h->w, &h->timer, XGW_T_H2UP_IDLE);
	}
	h2up_recv(h);
	h2up_dirty(h);
}

/* Write the frames queued on <h> (xgw_bytes_h2_send()). 0, or -1 when <h> failed. */
static int h2up_write(struct xgw_h2up *h)
{
	int rv = xgw_bytes_h2_send(h->s, h->fd, h->tls, &h->out, SEND_BATCH, 64, &h->wr_ready);

	if (rv < 0)
		log_debug("h2 upstream: write failed");
	else if (rv > 0)
		h2up_dirty(h); /* more queued: go on at the next flush */
	return rv < 0 ? -1 : 0;
}

void xgw_h2up_timer(struct xgw_worker *w, struct xgw_timer *t)
{
	struct xgw_h2up *h = container_of(t, struct xgw_h2up, timer);

	(void)w;
	if (t->kind == XGW_T_H2UP_CONNECT && !h->connected) {
		log_debug("h2 upstream: connect timeout");
		h2up_close(h, -ETIMEDOUT);
		return;
	}
	if (!h->n_streams) {
		/* idle: say goodbye properly, then close */
		nghttp2_session_terminate_session(h->s, NGHTTP2_NO_ERROR);
		h2up_write(h);
		h2up_close(h, -ECONNRESET);
	}
}

/* Send what <h> has queued; close it when it is done with. */
static void h2up_flush(struct xgw_h2up *h)
{
	if (h->dead)
		return;
	if (h->connected && h2up_write(h)) {
		h2up_close(h, -EPIPE);
		return;
	}
	if (!h->dead && !h->n_streams &&
	    (h->goaway || h->pool->orphan ||
	     (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s) &&
	      !xgw_bytes_pending(&h->out))))
		h2up_close(h, -ECONNRESET);
}

bool xgw_h2up_flush_all(struct xgw_worker *w)
{
	bool ran = false;

	/* bounded: each round either writes to a socket or runs an exchange that asked */
	for (int round = 0; round < 64 && (w->h2up_dirty || w->h2up_nrun); round++) {
		while (w->h2up_dirty) {
			struct xgw_h2up *h = w->h2up_dirty;

			w->h2up_dirty = h->dirty_next;
			h->dirty = false;
			if (h->dead) {
				h->dirty_next = w->dead_h2up;
				w->dead_h2up = h;
				continue;
			}
			h2up_flush(h); /* a close queues it on the dead list */
		}
		for (uint32_t i = 0; i < w->h2up_nrun; i++) {
			struct xgw_upconn *u = w->h2up_runq[i];

			u->h2_queued = false;
			if (!u->closed && u->owner) {
				ran = true;
				xgw_conn_run(u->owner);
			}
		}
		w->h2up_nrun = 0;
	}
	return ran;
}

void xgw_h2up_reap(struct xgw_worker *w)
{
	while (w->dead_h2up) {
		struct xgw_h2up *h = w->dead_h2up;

		w->dead_h2up = h->dirty_next;
		nghttp2_session_del(h->s);
		free(h);
	}
}

void xgw_h2up_free_all(struct xgw_worker *w)
{
	while (w->h2up_dirty) {
		struct xgw_h2up *h = w->h2up_dirty;

		w->h2up_dirty = h->dirty_next;
		h->dirty = false;
		if (h->dead) {
			h->dirty_next = w->dead_h2up;
			w->dead_h2up = h;
		}
	}
	while (w->h2ups)
		h2up_close(w->h2ups, -ECONNRESET);
	xgw_h2up_reap(w);
	free(w->h2up_runq);
	w->h2up_runq = NULL;
	w->h2up_nrun = w->h2up_caprun = 0;
}

/* --- gRPC answers from the gateway ------------------------------------------ */

bool xgw_grpc_content_type(const char *v, size_t len)
{
	/* "application/grpc" alone, or followed by "+<codec>" or ";<params>" */
	return len >= 16 && !strncasecmp(v, "application/grpc", 16) &&
	       (len == 16 || v[16] == '+' || v[16] == ';');
}

/* Laid out on first use, per status the gateway answers with (a handful). */
#define GRPC_LRESP_N 24
#define GRPC_LRESP_MAX 224

const struct xgw_lresp *xgw_grpc_local_response(int status, bool keep_alive)
{
	static struct {
		int status;
		struct xgw_lresp r[2];
		char buf[2][GRPC_LRESP_MAX];
	} tab[GRPC_LRESP_N];
	const char *msg;
	size_t i;
	int code;

	for (i = 0; i < GRPC_LRESP_N && tab[i].status; i++)
		if (tab[i].status == status)
			return &tab[i].r[keep_alive];
	if (i == GRPC_LRESP_N)
		i = GRPC_LRESP_N -
		    1; /* more statuses than the gateway makes: reuse the last slot */
	/*
	 * https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md.
	 * A 504 of the gateway (backendRequest or request timeout) is UNAVAILABLE
	 * as the document says, not DEADLINE_EXCEEDED: the client's own deadline
	 * is not what ran out, and UNAVAILABLE is what its retry policy expects.
	 */
	switch (status) {
	case 400:
		code = 13; /* INTERNAL */
		break;
	case 401:
		code = 16; /* UNAUTHENTICATED */
		break;
	case 403:
		code = 7; /* PERMISSION_DENIED */
		break;
	case 404:
		code = 12; /* UNIMPLEMENTED */
		break;
	case 429:
	case 502:
	case 503:
	case 504:
		code = 14; /* UNAVAILABLE */
		break;
	case 500:
		code = 13; /* INTERNAL */
		break;
	default:
		code = 2; /* UNKNOWN */
		break;
	}
	/* grpc-message is percent-encoded: the reason phrases are plain ASCII */
	msg = status == 404 ? "no route" : xgw_h1_reason(status);
	tab[i].status = status;
	for (int ka = 0; ka < 2; ka++) {
		int n = snprintf(tab[i].buf[ka], GRPC_LRESP_MAX,
				 "HTTP/1.1 200 OK\r\n"
				 "content-type: application/grpc\r\n"
				 "grpc-status: %d\r\n"
				 "grpc-message: gateway %d %s\r\n"
				 "content-length: 0\r\n"
				 "connection: %s\r\n\r\n",
				 code, status, msg, ka ? "keep-alive" : "close");

		if (n < 0 || n >= GRPC_LRESP_MAX)
			n = 0;
		tab[i].r[ka].data = tab[i].buf[ka];
		tab[i].r[ka].head_len = (uint16_t)n;
		tab[i].r[ka].len = (uint16_t)n;
	}
	return &tab[i].r[keep_alive];
}
