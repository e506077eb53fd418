// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * HTTP/2 sessions with clients (see h2.h).
 *
 * A session owns the client socket (and its TLS) and an nghttp2 server
 * session. Frames are read and handed to nghttp2, whose callbacks build each
 * stream's request as HTTP/1.1 bytes and start a socketless exchange
 * (conn.c) for it; what the exchanges answer is queued in nghttp2 and sent
 * once per event batch (xgw_h2_flush_all), so the frames of many streams
 * share a write and a TLS record.
 *
 * Flow control: request body bytes are given back to the client's windows
 * only when the exchange takes them (nghttp2_session_consume), so a stream
 * buffers at most its window. Response bodies are buffered up to H2_OUT_MAX
 * per stream; a full buffer stops the exchange's writes until DATA frames
 * drain it.
 *
 * Limits: H2_MAX_STREAMS concurrent streams, a header list of at most
 * H2_MAX_HEADER_LIST bytes (RFC 7541 sizes: the decoded size, so an HPACK
 * bomb resets its stream), nghttp2's rate limit on streams reset by the
 * client (rapid reset) and on CONTINUATION frames, and its SETTINGS and
 * outbound ACK limits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "xgw/log.h"

#include "bytes.h"
#include "conn.h"
#include "h2.h"
#include "http1.h"
#include "loop.h"
#include "mem.h"
#include "tls.h"
#include "xfer.h"

#define H2_MAX_STREAMS 100
#define H2_MAX_HEADER_LIST 32768
#define H2_OUT_MAX 65536      /* response body bytes buffered per stream */
#define H2_MAX_TRAILERS 16384 /* bytes of a response's trailer lines */
#define H2_SEND_BATCH 65536   /* frames gathered before a write */
#define H2_READ 16384
#define H2_NAMES_MAX 8192 /* bytes of header names in a response head */

struct xgw_h2 {
	struct xgw_ev ev; /* XGW_EV_H2 */
	struct xgw_worker *w;
	int fd;
	SSL *tls;
	nghttp2_session *s;
	struct xgw_conn_addrs addrs;
	struct xgw_timer timer; /* XGW_T_H2_IDLE */
	bool rd_ready, wr_ready, eof, dead, dirty, draining;
	struct xgw_bytes out; /* frames not written yet */
	struct xgw_h2s *streams;
	/* the stream whose request HEADERS are being received: no stream lookup per field */
	struct xgw_h2s *hd_s;
	uint32_t n_streams;
	struct xgw_h2s *runq, *runq_tail;
	struct xgw_h2 *prev, *next; /* w->h2s */
	struct xgw_h2 *dirty_next;  /* w->h2_dirty, w->dead_h2 */
};

enum {
	RB_NONE,
	RB_LENGTH,
	RB_CHUNKED,
	RB_EOF
};
struct xgw_h2s {
	struct xgw_h2 *h;
	int32_t id;
	struct xgw_conn *c; /* the exchange, NULL once it ended */
	/* the request, as HTTP/1.1 bytes */
	struct xgw_bytes in, head, cookie;
	/* the values of :method, :path and :authority (or Host): [off, off + len) of pseudo */
	struct xgw_bytes pseudo;
	uint32_t method_off, method_len, path_off, path_len, auth_off, auth_len;
	size_t hlist;	   /* header list size so far (RFC 7541 sizes) */
	size_t unconsumed; /* DATA bytes not yet given back to flow control */
	bool has_cl, chunked_req, req_end, head_req;
	/* the response */
	struct xgw_bytes rhead; /* its HTTP/1.1 head until complete */
	struct xgw_bytes out;	/* body bytes for DATA frames */
	struct xgw_bytes trail; /* chunked trailer lines: a trailing HEADERS frame (gRPC status) */
	uint8_t framing;
	uint64_t left;
	struct xgw_h1_chunked ck;
	bool submitted, body_end, done, deferred, in_runq, closed;
	struct xgw_h2s *prev, *next, *run_next;
};

static void h2_dirty(struct xgw_h2 *h)
{
	if (h->dirty || h->dead)
		return;
	h->dirty = true;
	h->dirty_next = h->w->h2_dirty;
	h->w->h2_dirty = h;
}

static void stream_run(struct xgw_h2s *s)
{
	struct xgw_h2 *h = s->h;

	if (s->in_runq || !s->c)
		return;
	s->in_runq = true;
	s->run_next = NULL;
	if (h->runq_tail)
		h->runq_tail->run_next = s;
	else
		h->runq = s;
	h->runq_tail = s;
	h2_dirty(h);
}

static void stream_free(struct xgw_h2s *s)
{
	struct xgw_h2 *h = s->h;

	if (s->in_runq) { /* freed when the queue reaches it */
		s->closed = true;
		return;
	}
	if (h->hd_s == s)
		h->hd_s = NULL;
	if (s->prev)
		s->prev->next = s->next;
	else
		h->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->n_streams--;
	xgw_bytes_free(&s->in);
	xgw_bytes_free(&s->head);
	xgw_bytes_free(&s->cookie);
	xgw_bytes_free(&s->pseudo);
	xgw_bytes_free(&s->rhead);
	xgw_bytes_free(&s->out);
	xgw_bytes_free(&s->trail);
	xgw_mem_free(s);
}

/* The exchange of <s> goes away with the stream (client reset, session closed). */
static void stream_abort_exchange(struct xgw_h2s *s)
{
	struct xgw_conn *c = s->c;

	if (!c)
		return;
	s->c = NULL;
	c->h2s = NULL; /* conn_close() must not call back */
	xgw_conn_abort(c);
}

/* --- the request: nghttp2 callbacks ------------------------------------- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
	struct xgw_h2 *h = user;
	struct xgw_h2s *s;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	s = xgw_mem_calloc(1, sizeof(*s));
	if (!s)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	s->h = h;
	s->id = frame->hd.stream_id;
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	h->n_streams++;
	h->hd_s = s;
	xgw_timer_disarm(&h->timer);
	nghttp2_session_set_stream_user_data(session, s->id, s);
	return 0;
}

static bool name_is(const uint8_t *n, size_t len, const char *lit)
{
	return len == strlen(lit) && !memcmp(n, lit, len);
}

/*
 * Append a pseudo-header's value <v>[0, <vl>) to s->pseudo, noting where it
 * is: one buffer for the three, not one each. nghttp2 refuses a repeated
 * pseudo-header, and the header list is bounded (H2_MAX_HEADER_LIST).
 */
static int put_pseudo(struct xgw_h2s *s, const uint8_t *v, size_t vl, uint32_t *off, uint32_t *len)
{
	*off = (uint32_t)xgw_bytes_pending(&s->pseudo);
	*len = (uint32_t)vl;
	return xgw_bytes_put(&s->pseudo, v, vl);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *user)
{
	struct xgw_h2 *h = user;
	struct xgw_h2s *s;
	int err = 0;

	(void)flags;
	if (frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* trailers are not passed on */
	/* on_begin_headers() has just named the stream */
	s = h->hd_s && h->hd_s->id == frame->hd.stream_id
		    ? h->hd_s
		    : nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	if (!s)
		return 0;
	s->hlist += namelen + valuelen + 32;
	if (s->hlist > H2_MAX_HEADER_LIST)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the stream is reset */
	if (namelen && name[0] == ':') {
		if (name_is(name, namelen, ":method"))
			err = put_pseudo(s, value, valuelen, &s->method_off, &s->method_len);
		else if (name_is(name, namelen, ":path"))
			err = put_pseudo(s, value, valuelen, &s->path_off, &s->path_len);
		else if (name_is(name, namelen, ":authority"))
			err = put_pseudo(s, value, valuelen, &s->auth_off, &s->auth_len);
		else if (!name_is(name, namelen, ":scheme"))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* :protocol: no extended CONNECT */
		return err ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
	}
	if (name_is(name, namelen, "host")) {
		/* :authority wins; Host stands in for it when it is absent */
		if (!s->auth_len)
			err = put_pseudo(s, value, valuelen, &s->auth_off, &s->auth_len);
		return err ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
	}
	if (name_is(name, namelen, "te")) {
		/*
		 * "trailers" only (nghttp2 checks). Hop-by-hop in HTTP/1.1, but
		 * passed on: an HTTP/2 backend (h2up.c) needs it for gRPC, and
		 * an HTTP/1.1 one may ignore it.
		 */
		return xgw_bytes_str(&s->head, "te: trailers\r\n") ? NGHTTP2_ERR_CALLBACK_FAILURE
								   : 0;
	}
	if (name_is(name, namelen, "cookie")) {
		/* RFC 9113 section 8.2.3: one Cookie line, crumbs joined with "; " */
		if (xgw_bytes_pending(&s->cookie))
			err = xgw_bytes_str(&s->cookie, "; ");
		err = err ?: xgw_bytes_put(&s->cookie, value, valuelen);
		return err ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
	}
	if (name_is(name, namelen, "content-length"))
		s->has_cl = true;
	if (xgw_bytes_field(&s->head, name, namelen, value, valuelen))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static char *put(char *p, const void *d, size_t n)
{
	if (n)
		memcpy(p, d, n);
	return p + n;
}

/* The request head is complete: make it HTTP/1.1 and start the exchange. */
static int request_start(struct xgw_h2 *h, struct xgw_h2s *s, bool end_stream)
{
	static const char te[] = "Transfer-Encoding: chunked\r\n";
	const char *ps = s->pseudo.p ? s->pseudo.p + s->pseudo.off : "";
	size_t ml = s->method_len, pl = s->path_len, al = s->auth_len,
	       hl = xgw_bytes_pending(&s->head), cl = xgw_bytes_pending(&s->cookie);
	char *p;

	s->head_req = ml == 4 && !memcmp(ps + s->method_off, "HEAD", 4);
	s->chunked_req = !end_stream && !s->has_cl;
	p = xgw_bytes_reserve(&s->in, ml + 1 + pl + 17 + al + 2 + hl + (cl ? 8 + cl + 2 : 0) +
					      (s->chunked_req ? sizeof(te) - 1 : 0) + 2);
	if (!p)
		return -ENOMEM;
	p = put(p, ps + s->method_off, ml);
	p = put(p, " ", 1);
	p = put(p, ps + s->path_off, pl);
	p = put(p, " HTTP/1.1\r\nHost: ", 17);
	p = put(p, ps + s->auth_off, al);
	p = put(p, "\r\n", 2);
	p = put(p, s->head.p + s->head.off, hl);
	if (cl) {
		p = put(p, "Cookie: ", 8);
		p = put(p, s->cookie.p + s->cookie.off, cl);
		p = put(p, "\r\n", 2);
	}
	if (s->chunked_req)
		p = put(p, te, sizeof(te) - 1);
	p = put(p, "\r\n", 2);
	xgw_bytes_free(&s->head);
	xgw_bytes_free(&s->cookie);
	xgw_bytes_free(&s->pseudo);
	s->req_end = end_stream;
	s->c = xgw_conn_new_stream(h->w, s, &h->addrs);
	if (!s->c)
		return -ENOMEM;
	h->w->stats[XGW_WSTAT_H2_STREAMS]++;
	stream_run(s);
	return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
	struct xgw_h2s *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;

	if (!s)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
		if (request_start(user, s, end)) {
			nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id,
						  NGHTTP2_INTERNAL_ERROR);
			return 0;
		}
		return 0;
	}
	if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && end &&
	    !s->req_end) {
		s->req_end = true;
		if (s->chunked_req && xgw_bytes_str(&s->in, "0\r\n\r\n"))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		if (s->c)
			s->c->rd_ready = true;
		stream_run(s);
	}
	return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
			 size_t len, void *user)
{
	struct xgw_h2s *s = nghttp2_session_get_stream_user_data(session, id);
	char size[24];

	(void)flags;
	(void)user;
	if (!s || !s->c) {
		nghttp2_session_consume(session, id, len);
		return 0;
	}
	if (s->chunked_req) {
		snprintf(size, sizeof(size), "%zx\r\n", len);
		if (xgw_bytes_str(&s->in, size) || xgw_bytes_put(&s->in, data, len) ||
		    xgw_bytes_str(&s->in, "\r\n"))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
	} else if (xgw_bytes_put(&s->in, data, len)) {
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	s->unconsumed += len;
	s->c->rd_ready = true;
	stream_run(s);
	return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t code, void *user)
{
	struct xgw_h2s *s = nghttp2_session_get_stream_user_data(session, id);
	struct xgw_h2 *h = user;

	(void)code;
	if (!s)
		return 0;
	nghttp2_session_set_stream_user_data(session, id, NULL);
	if (h->hd_s == s)
		h->hd_s = NULL;
	stream_abort_exchange(s);
	stream_free(s);
	if (!h->n_streams && !h->dead)
		xgw_timer_arm(h->w, &h->timer, XGW_T_H2_IDLE);
	return 0;
}

/* --- the request: the exchange's side ----------------------------------- */

ssize_t xgw_h2s_read(struct xgw_h2s *s, struct xgw_buf *b, bool *rd_ready)
{
	size_t room = XGW_BUF_CAP - b->end, n = xgw_bytes_pending(&s->in), k;

	if (n > room)
		n = room;
	memcpy(b->data + b->end, s->in.p + s->in.off, n);
	b->end += (uint32_t)n;
	s->in.off += n;
	if (!xgw_bytes_pending(&s->in)) {
		s->in.off = s->in.len = 0;
		*rd_ready = false;
	}
	/* Give the client's windows back what left the stream's buffer (chunk framing
	 * counts as data here: the window opens a few bytes early, never late). */
	k = n < s->unconsumed ? n : s->unconsumed;
	if (k) {
		s->unconsumed -= k;
		nghttp2_session_consume(s->h->s, s->id, k);
		h2_dirty(s->h);
	}
	return (ssize_t)n;
}

/* --- the response ------------------------------------------------------- */

static bool hop_by_hop(const char *n, size_t len)
{
	return xgw_h1_name_eq(n, len, "connection") || xgw_h1_name_eq(n, len, "keep-alive") ||
	       xgw_h1_name_eq(n, len, "proxy-connection") ||
	       xgw_h1_name_eq(n, len, "transfer-encoding") || xgw_h1_name_eq(n, len, "upgrade");
}

/* The same for a header the parser classified (xgw_h1_header.id). */
static bool hop_by_hop_id(unsigned id)
{
	return id == XGW_H1_HDR_CONNECTION || id == XGW_H1_HDR_KEEP_ALIVE ||
	       id == XGW_H1_HDR_PROXY_CONNECTION || id == XGW_H1_HDR_TRANSFER_ENCODING ||
	       id == XGW_H1_HDR_UPGRADE;
}

/* Can the field <n>[0, <nl>): <v>[0, <vl>) go in an HTTP/2 field block as it is? */
static bool field_ok(const char *n, size_t nl, const char *v, size_t vl)
{
	for (size_t i = 0; i < nl; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", n[i])))
			return false;
	for (size_t i = 0; i < vl; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
			return false;
	return nl && !hop_by_hop(n, nl) && !xgw_h1_name_eq(n, nl, "content-length");
}

/*
 * The chunked response's trailer lines (s->trail, "name: value\r\n" each, as
 * the upstream sent them) as a trailing HEADERS frame that ends the stream:
 * gRPC's grpc-status and grpc-message travel there; a field HTTP/2 cannot
 * carry is dropped. Returns 0 when submitted.
 */
static int submit_trailers(struct xgw_h2s *s)
{
	nghttp2_nv nva[64];
	size_t n = 0;
	char *p = s->trail.p + s->trail.off, *end = p + xgw_bytes_pending(&s->trail);

	while (p < end && n < sizeof(nva) / sizeof(nva[0])) {
		char *eol = memchr(p, '\n', (size_t)(end - p)), *colon, *v, *ve;

		if (!eol)
			eol = end;
		ve = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		colon = memchr(p, ':', (size_t)(ve - p));
		if (colon && colon > p) {
			for (char *k = p; k < colon; k++)
				*k = *k >= 'A' && *k <= 'Z' ? (char)(*k + 32) : *k;
			for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
				;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if (field_ok(p, (size_t)(colon - p), v, (size_t)(ve - v)))
				nva[n++] = (nghttp2_nv){ (uint8_t *)p, (uint8_t *)v,
							 (size_t)(colon - p), (size_t)(ve - v),
							 NGHTTP2_NV_FLAG_NONE };
		}
		p = eol + 1;
	}
	if (!n)
		return -ENOENT;
	return nghttp2_submit_trailer(s->h->s, s->id, nva, n) ? -EPROTO : 0;
}

static ssize_t data_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *source, void *user)
{
	struct xgw_h2s *s = source->ptr;
	size_t n = xgw_bytes_pending(&s->out);

	(void)session;
	(void)id;
	(void)user;
	if (n > length)
		n = length;
	if (n)
		memcpy(buf, s->out.p + s->out.off, n);
	s->out.off += n;
	if (!xgw_bytes_pending(&s->out)) {
		s->out.off = s->out.len = 0;
		if (s->body_end) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			if (xgw_bytes_pending(&s->trail) && !submit_trailers(s))
				*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			return (ssize_t)n;
		}
	}
	if (n && s->c && !s->c->wr_ready) { /* room again: the exchange may write */
		s->c->wr_ready = true;
		stream_run(s);
	}
	if (!n) {
		s->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

/* The response head is parsed in <r>: HEADERS (and a data source unless it has no body). */
static int submit_response(struct xgw_h2s *s, const struct xgw_h1_response *r)
{
	nghttp2_nv nva[XGW_H1_MAX_HEADERS + 1];
	char status[4];
	size_t n = 0, names = 0;
	nghttp2_data_provider prd = { .source.ptr = s, .read_callback = data_read };
	int rv;

	status[0] = (char)('0' + r->status / 100 % 10);
	status[1] = (char)('0' + r->status / 10 % 10);
	status[2] = (char)('0' + r->status % 10);
	status[3] = 0;
	nva[n++] =
		(nghttp2_nv){ (uint8_t *)":status", (uint8_t *)status, 7, 3, NGHTTP2_NV_FLAG_NONE };
	for (size_t i = 0; i < r->n_headers; i++) {
		const struct xgw_h1_header *hd = &r->headers[i];

		if (hop_by_hop_id(hd->id))
			continue;
		/*
		 * HTTP/2 field names are lower-case: nghttp2 lower-cases the
		 * names it copies (nghttp2_nv_array_copy), so they go as they
		 * are. The bound on their total is the one of the copy this code
		 * made.
		 */
		if ((names += hd->name_len) > H2_NAMES_MAX)
			return -E2BIG;
		nva[n++] = (nghttp2_nv){ (uint8_t *)hd->name, (uint8_t *)hd->value, hd->name_len,
					 hd->value_len, NGHTTP2_NV_FLAG_NONE };
	}
	switch (r->body) {
	case XGW_H1_BODY_LENGTH:
		s->framing = r->content_length ? RB_LENGTH : RB_NONE;
		s->left = r->content_length;
		break;
	case XGW_H1_BODY_CHUNKED:
		s->framing = RB_CHUNKED;
		memset(&s->ck, 0, sizeof(s->ck));
		break;
	case XGW_H1_BODY_EOF:
		s->framing = RB_EOF;
		break;
	default:
		s->framing = RB_NONE;
		break;
	}
	s->body_end = s->framing == RB_NONE;
	rv = nghttp2_submit_response(s->h->s, s->id, nva, n, s->body_end ? NULL : &prd);
	s->submitted = true;
	return rv ? -EPROTO : 0;
}

/*
 * De-frame chunked response bytes of <p>[0, <len>): data into the send
 * buffer (at most <space> bytes; *<full> when it stops for room), trailer
 * lines for a trailing HEADERS frame. Returns the bytes taken, -EPROTO on bad
 * framing.
 */
static ssize_t dechunk(struct xgw_h2s *s, const char *p, size_t len, size_t space, bool *full)
{
	size_t i = 0;

	while (i < len && !s->body_end) {
		bool trailer = xgw_h1_chunked_in_trailer(&s->ck);
		size_t used, off, n;
		int rc = xgw_h1_chunked_next(&s->ck, p + i, len - i, space, &used, &off, &n);

		if (rc < 0)
			return -EPROTO;
		if (trailer) {
			if (xgw_bytes_pending(&s->trail) + used > H2_MAX_TRAILERS ||
			    xgw_bytes_put(&s->trail, p + i, used))
				return -EPROTO;
		} else if (n) {
			if (xgw_bytes_put(&s->out, p + i + off, n))
				return -ENOMEM;
			space -= n;
		}
		i += used;
		if (rc == 1) {
			s->body_end = true;
		} else if (!used) {
			*full = true; /* data, and no room for it */
			break;
		}
	}
	return (ssize_t)i;
}

/*
 * The response head, at the front of the bytes <iov>[0, <n>) (after those an
 * earlier call kept in s->rhead): conn.c writes a head whole, in one call, so
 * its pieces are gathered in one copy and parsed once; the parser finds where
 * the head ends. A 1xx head is not passed on: the final head follows. Returns
 * how many bytes of <iov> are heads (all of them while the final head is not
 * whole), or -EPROTO.
 */
static ssize_t take_head(struct xgw_h2s *s, const struct iovec *iov, int n)
{
	size_t before = xgw_bytes_pending(&s->rhead), total = 0, used = 0;
	char *at;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	at = total ? xgw_bytes_reserve(&s->rhead, total) : NULL;
	if (total && !at)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len)
			memcpy(at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	while (!s->submitted) {
		struct xgw_h1_response r;
		int rc = xgw_h1_parse_response(s->rhead.p + s->rhead.off + used,
					       before + total - used, s->head_req, &r);

		if (!rc) {
			if (before + total - used > XGW_BUF_CAP)
				return -EPROTO;
			/* keep the head's beginning for the next write */
			s->rhead.off += used;
			return (ssize_t)total;
		}
		if (rc < 0 || (r.status >= 200 && submit_response(s, &r)))
			return -EPROTO;
		used += (size_t)rc;
	}
	/* what follows the final head is body: the caller takes it from <iov> */
	xgw_bytes_free(&s->rhead);
	return (ssize_t)(used - before);
}

/* Take body bytes of <p>[0, <len>) as far as the send buffer allows (the head is submitted). */
static ssize_t take(struct xgw_h2s *s, const char *p, size_t len, bool *full)
{
	if (s->body_end)
		return (ssize_t)len; /* nothing follows a body: a stray byte is dropped */
	size_t space = H2_OUT_MAX - xgw_bytes_pending(&s->out), k = len;

	if (!space) {
		*full = true;
		return 0;
	}
	switch (s->framing) {
	case RB_CHUNKED:
		return dechunk(s, p, len, space, full);
	case RB_LENGTH:
		if (k > s->left)
			k = (size_t)s->left;
		break;
	default:
		break;
	}
	if (k > space) {
		k = space;
		*full = true;
	}
	if (xgw_bytes_put(&s->out, p, k))
		return -ENOMEM;
	if (s->framing == RB_LENGTH && !(s->left -= k))
		s->body_end = true;
	return (ssize_t)k;
}

ssize_t xgw_h2s_writev(struct xgw_h2s *s, const struct iovec *iov, int n, bool *wr_ready)
{
	size_t taken = 0, skip;
	bool full = false;

	if (!s->submitted) {
		ssize_t k = take_head(s, iov, n);

		if (k < 0) {
			log_debug("HTTP/2 stream %d: the response does not convert", (int)s->id);
			return k;
		}
		taken = (size_t)k;
	}
	skip = taken;
	for (int i = 0; i < n && !full; i++) {
		const char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		if (skip) { /* head bytes, taken above */
			size_t d = skip < len ? skip : len;

			p += d;
			len -= d;
			skip -= d;
		}
		while (len && !full) {
			ssize_t k = take(s, p, len, &full);

			if (k < 0) {
				log_debug("HTTP/2 stream %d: the response does not convert",
					  (int)s->id);
				return k;
			}
			p += k;
			len -= (size_t)k;
			taken += (size_t)k;
		}
	}
	if (full)
		*wr_ready = false;
	if (s->submitted && s->deferred && (xgw_bytes_pending(&s->out) || s->body_end)) {
		s->deferred = false;
		nghttp2_session_resume_data(s->h->s, s->id);
	}
	h2_dirty(s->h);
	return (ssize_t)taken;
}

void xgw_h2s_done(struct xgw_h2s *s)
{
	s->done = true;
	if (s->framing == RB_EOF)
		s->body_end = true;
	if (s->submitted && s->deferred) {
		s->deferred = false;
		nghttp2_session_resume_data(s->h->s, s->id);
	}
	h2_dirty(s->h);
}

void xgw_h2s_detach(struct xgw_h2s *s)
{
	struct xgw_h2 *h = s->h;

	s->c = NULL;
	if (!s->submitted || !s->body_end)
		nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
	/* request bytes never taken: the connection's window gets them back */
	if (s->unconsumed) {
		nghttp2_session_consume_connection(h->s, s->unconsumed);
		s->unconsumed = 0;
	}
	h2_dirty(h);
}

/* --- the session's socket ----------------------------------------------- */

/* Read into <buf>: bytes, 0 when nothing is there (rd_ready cleared), -1 at EOF or on an error. */
static ssize_t h2_recv(struct xgw_h2 *h, char *buf, size_t len)
{
	ssize_t n;

	if (h->tls) {
		size_t got;
		int r;

		ERR_clear_error();
		r = SSL_read_ex(h->tls, buf, len, &got);
		if (r == 1)
			return (ssize_t)got;
		if (SSL_get_error(h->tls, r) == SSL_ERROR_WANT_READ) {
			h->rd_ready = false;
			return 0;
		}
		ERR_clear_error();
		return -1;
	}
	do
		n = recv(h->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		if ((size_t)n < len)
			h->rd_ready = false;
		return n;
	}
	if (n < 0 && errno == EAGAIN) {
		h->rd_ready = false;
		return 0;
	}
	return -1;
}

static void h2_close(struct xgw_h2 *h)
{
	struct xgw_worker *w = h->w;

	if (h->dead)
		return;
	h->dead = true;
	while (h->streams) {
		struct xgw_h2s *s = h->streams;

		stream_abort_exchange(s);
		s->in_runq = false; /* the queue is dropped whole below */
		stream_free(s);
	}
	h->runq = h->runq_tail = NULL;
	nghttp2_session_del(h->s);
	h->s = NULL;
	xgw_timer_disarm(&h->timer);
	xgw_tls_close(h->tls);
	h->tls = NULL;
	close(h->fd);
	h->fd = -1;
	xgw_bytes_free(&h->out);
	if (h->prev)
		h->prev->next = h->next;
	else
		w->h2s = h->next;
	if (h->next)
		h->next->prev = h->prev;
	w->n_h2--;
	/* freed after the batch: the dirty list may still name it */
	h->next = w->dead_h2;
	w->dead_h2 = h;
}

/* Write what nghttp2 has queued, gathered in batches. Returns -1 when the session is to close. */
static int h2_flush(struct xgw_h2 *h)
{
	int rv = xgw_bytes_h2_send(h->s, h->fd, h->tls, &h->out, H2_SEND_BATCH, 64, &h->wr_ready);

	if (rv > 0)
		h2_dirty(h); /* a lot to say: go on after the next events */
	return rv < 0 ? -1 : 0;
}

/* Read, run the streams that can go on, write; close when the session is over. */
static void h2_io(struct xgw_h2 *h)
{
	char buf[H2_READ];

	while (h->rd_ready && !h->eof && !h->dead) {
		ssize_t n = h2_recv(h, buf, sizeof(buf)), rv;

		if (n < 0) {
			h->eof = true;
			break;
		}
		if (!n)
			break;
		rv = nghttp2_session_mem_recv(h->s, (const uint8_t *)buf, (size_t)n);
		if (rv < 0) {
			log_debug("HTTP/2: %s", nghttp2_strerror((int)rv));
			h2_close(h);
			return;
		}
	}
	for (int round = 0; round < 16 && h->runq && !h->dead; round++) {
		struct xgw_h2s *q = h->runq;

		h->runq = h->runq_tail = NULL;
		while (q) {
			struct xgw_h2s *s = q;

			q = s->run_next;
			s->in_runq = false;
			if (s->closed)
				stream_free(s);
			else if (s->c)
				xgw_conn_run(s->c);
		}
		if (h2_flush(h)) {
			h2_close(h);
			return;
		}
	}
	if (h->dead)
		return;
	if (h2_flush(h) || (h->eof && !xgw_bytes_pending(&h->out)) ||
	    (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s) &&
	     !xgw_bytes_pending(&h->out)))
		h2_close(h);
}

int xgw_h2_takeover(struct xgw_conn *c, const char *pre, size_t pre_len)
{
	struct xgw_worker *w = c->w;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_MAX_HEADER_LIST },
	};
	struct xgw_h2 *h = calloc(1, sizeof(*h));
	char *copy = pre_len ? malloc(pre_len) : NULL;
	int err = -ENOMEM;

	if (!h || (pre_len && !copy)) {
		free(h);
		free(copy);
		xgw_conn_abort(c);
		return -ENOMEM;
	}
	if (pre_len)
		memcpy(copy, pre, pre_len); /* it lies in the buffer of <c> */
	h->ev.type = XGW_EV_H2;
	h->w = w;
	h->fd = c->fd;
	h->tls = c->tls;
	h->timer.kind = XGW_T_H2_IDLE;
	xgw_conn_release_socket(c, &h->addrs);
	ev.data.ptr = h;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0) {
		err = -errno;
		goto fail;
	}
	if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		goto fail;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_settings(opt, 32);
	nghttp2_option_set_max_outbound_ack(opt, 1000);
	nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);
	nghttp2_option_set_max_continuations(opt, 8);
	if (nghttp2_session_server_new3(&h->s, cb, h, opt, xgw_mem_nghttp2()))
		goto fail;
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])))
		goto fail;
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	cb = NULL;
	opt = NULL;
	h->next = w->h2s;
	if (w->h2s)
		w->h2s->prev = h;
	w->h2s = h;
	w->n_h2++;
	w->stats[XGW_WSTAT_H2_CONNS]++;
	h->rd_ready = h->wr_ready = true;
	if (pre_len && nghttp2_session_mem_recv(h->s, (const uint8_t *)copy, pre_len) < 0) {
		free(copy);
		h2_close(h);
		return -EPROTO;
	}
	free(copy);
	if (w->draining)
		xgw_h2_drain_all(w);
	xgw_timer_arm(w, &h->timer, XGW_T_H2_IDLE);
	h2_dirty(h);
	return 0;
fail:
	log_warn("HTTP/2 session: %s", strerror(-err));
	if (cb)
		nghttp2_session_callbacks_del(cb);
	if (opt)
		nghttp2_option_del(opt);
	if (h->s)
		nghttp2_session_del(h->s);
	xgw_tls_close(h->tls);
	close(h->fd);
	free(h);
	free(copy);
	return err;
}

void xgw_h2_event(struct xgw_h2 *h, uint32_t events)
{
	if (h->dead)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		h->rd_ready = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		h->wr_ready = true;
	h2_io(h);
}

void xgw_h2_timer(struct xgw_timer *t)
{
	struct xgw_h2 *h = container_of(t, struct xgw_h2, timer);

	if (h->dead)
		return;
	if (h->n_streams) {
		xgw_timer_arm(h->w, &h->timer, XGW_T_H2_IDLE);
		return;
	}
	nghttp2_session_terminate_session(h->s, NGHTTP2_NO_ERROR);
	h2_io(h);
}

void xgw_h2_flush_all(struct xgw_worker *w)
{
	for (int round = 0; round < 8 && w->h2_dirty; round++) {
		struct xgw_h2 *h = w->h2_dirty;

		w->h2_dirty = NULL;
		while (h) {
			struct xgw_h2 *next = h->dirty_next;

			h->dirty = false;
			if (!h->dead)
				h2_io(h);
			h = next;
		}
	}
	while (w->dead_h2 && !w->h2_dirty) {
		struct xgw_h2 *h = w->dead_h2;

		w->dead_h2 = h->next;
		free(h);
	}
}

void xgw_h2_drain_all(struct xgw_worker *w)
{
	for (struct xgw_h2 *h = w->h2s; h; h = h->next) {
		if (h->draining)
			continue;
		h->draining = true;
		nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE,
				      nghttp2_session_get_last_proc_stream_id(h->s),
				      NGHTTP2_NO_ERROR, NULL, 0);
		h2_dirty(h);
	}
}

void xgw_h2_free_all(struct xgw_worker *w)
{
	while (w->h2s)
		h2_close(w->h2s);
	w->h2_dirty = NULL;
	while (w->dead_h2) {
		struct xgw_h2 *h = w->dead_h2;

		w->dead_h2 = h->next;
		free(h);
	}
}

SSL *xgw_h2s_tls(const struct xgw_h2s *s)
{
	return s->h->tls;
}
