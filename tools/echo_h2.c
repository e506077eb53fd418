// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-echo over HTTP/2 with prior knowledge (see echo_h2.h).
 *
 * Echo: every request gets the JSON body of HTTP/1.1 (render callback of
 * xgw-echo.c) with "proto": "HTTP/2.0", the headers as received and
 * :authority as the host, as echo-basic (Go's net/http) reports them. For
 * the gateway's tests, a query ?h2abort=before closes the connection without
 * answering, ?h2abort=after closes it after the response head and part of
 * the body: a backend that dies mid-stream; ?h2goaway on any stream but the
 * connection's first sends GOAWAY with a last_stream_id below it and leaves
 * it unanswered (refused: the client may retry it elsewhere). /bytes/N answers
 * N bytes (at most 16 MiB), as over HTTP/1.1. A request body is counted and
 * hashed (FNV-1a, 64 bits) into the response headers x-echo-body-bytes and
 * x-echo-body-fnv1a, so that a test sees it arrived intact.
 *
 * gRPC (--mode grpc): the service gateway_api_conformance.echo_basic.grpcecho.
 * GrpcEcho of the Gateway API conformance suite (grpcecho.proto there).
 * Echo and EchoTwo answer an EchoResponse, encoded here by hand:
 *   EchoResponse { Assertions assertions = 1; EchoRequest request = 2; }
 *   Assertions { string fully_qualified_method = 1; repeated Header headers = 2;
 *                string authority = 3; Context context = 4;
 *                TLSAssertions tls_assertions = 5; }
 *   Header { string key = 1; string value = 2; }
 *   Context { string namespace = 1; string ingress = 2; string service_name = 3;
 *             string pod = 4; }
 *   TLSAssertions { string version = 1; string negotiated_protocol = 2;
 *                   string server_name = 3; string cipher_suite = 4;
 *                   repeated string peer_certificates = 5; }
 * (request is unset; tls_assertions only over TLS, as echo-basic fills
 * them). headers are the request's metadata as grpc-go gives it: every field
 * but the pseudo-headers (save :authority) and those gRPC reserves.
 * EchoThree and anything else answer UNIMPLEMENTED.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "xgw/log.h"

#include "echo_h2.h"
#include "echo_tls.h"
#include "http1.h"

#define GRPC_SERVICE "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/"
#define MAX_FIELDS 128
#define MAX_FIELD_BYTES 65536

struct field {
	char *name, *value;
	size_t nlen, vlen;
};

struct stream {
	int32_t id;
	struct field f[MAX_FIELDS];
	size_t n, bytes;
	char *method, *path, *authority, *ctype;
	size_t method_len, path_len, authority_len, ctype_len;
	size_t body;
	uint64_t fnv; /* FNV-1a of the body */
	struct buf out;
	size_t out_off;
	bool abort_after;
};

/* Bytes of frames written in one send(). */
#define OUT_BATCH 65536

struct session {
	int kind; /* first: epoll data points here */
	int fd;
	SSL *ssl; /* a TLS port's: ALPN chose h2 */
	const struct echo_h2_cfg *cfg;
	nghttp2_session *s;
	char peer[64];
	bool dead;
	/* frames gathered for one write, as real servers do: [ob_off, ob_len) pending */
	uint8_t ob[OUT_BATCH];
	size_t ob_off, ob_len;
};

static void stream_free(struct stream *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->f[i].name);
		free(st->f[i].value);
	}
	free(st->out.p);
	free(st);
}

/* Write the gathered frames: 0 (some may stay pending: EAGAIN), -1 on an error. */
static int flush_out(struct session *h)
{
	while (h->ob_off < h->ob_len) {
		ssize_t n = h->ssl ? echo_tls_send(h->ssl, h->ob + h->ob_off, h->ob_len - h->ob_off)
				   : send(h->fd, h->ob + h->ob_off, h->ob_len - h->ob_off,
					  MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		h->ob_off += (size_t)n;
	}
	h->ob_off = h->ob_len = 0;
	return 0;
}

/* nghttp2's frames: gathered, written when the batch is full or the turn ends. */
static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user)
{
	struct session *h = user;

	(void)s;
	(void)flags;
	if (h->ob_len + len > sizeof(h->ob)) {
		if (flush_out(h))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		if (h->ob_len)
			return NGHTTP2_ERR_WOULDBLOCK; /* EPOLLOUT goes on */
	}
	if (len > sizeof(h->ob))
		len = sizeof(h->ob);
	memcpy(h->ob + h->ob_len, data, len);
	h->ob_len += len;
	return (ssize_t)len;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
	struct stream *st;

	(void)user;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	st->id = frame->hd.stream_id;
	st->fnv = 0xcbf29ce484222325ULL;
	nghttp2_session_set_stream_user_data(s, st->id, st);
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
		     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	struct stream *st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
	struct field *f;

	(void)flags;
	(void)user;
	if (!st || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* request trailers: not echoed */
	st->bytes += nlen + vlen;
	if (st->n == MAX_FIELDS || st->bytes > MAX_FIELD_BYTES)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	f = &st->f[st->n];
	f->name = strndup((const char *)name, nlen);
	f->value = strndup((const char *)value, vlen);
	if (!f->name || !f->value) {
		free(f->name);
		free(f->value);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	f->nlen = nlen;
	f->vlen = vlen;
	st->n++;
	if (nlen == 7 && !memcmp(name, ":method", 7)) {
		st->method = f->value;
		st->method_len = vlen;
	} else if (nlen == 5 && !memcmp(name, ":path", 5)) {
		st->path = f->value;
		st->path_len = vlen;
	} else if (nlen == 10 && !memcmp(name, ":authority", 10)) {
		st->authority = f->value;
		st->authority_len = vlen;
	} else if (nlen == 4 && !memcmp(name, "host", 4) && !st->authority) {
		st->authority = f->value;
		st->authority_len = vlen;
	} else if (nlen == 12 && !memcmp(name, "content-type", 12)) {
		st->ctype = f->value;
		st->ctype_len = vlen;
	}
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
		   void *user)
{
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);

	(void)flags;
	(void)user;
	if (!st)
		return 0;
	for (size_t i = 0; i < len; i++)
		st->fnv = (st->fnv ^ data[i]) * 0x100000001b3ULL;
	st->body += len;
	return 0;
}

static ssize_t data_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct stream *st = src->ptr;
	struct session *h = user;
	size_t n = st->out.len - st->out_off;

	(void)id;
	if (n > length)
		n = length;
	if (n)
		memcpy(buf, st->out.p + st->out_off, n);
	st->out_off += n;
	if (st->out_off == st->out.len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (st->abort_after) {
			/* "dies mid-stream": the body never ends, the connection does */
			*flags &= ~NGHTTP2_DATA_FLAG_EOF;
			nghttp2_session_terminate_session(s, NGHTTP2_INTERNAL_ERROR);
			return n ? (ssize_t)n : NGHTTP2_ERR_DEFERRED;
		}
		if (h->cfg->grpc) {
			nghttp2_nv tr[] = { { (uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1,
					      NGHTTP2_NV_FLAG_NONE } };

			if (!nghttp2_submit_trailer(s, st->id, tr, 1))
				*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
		}
	}
	return (ssize_t)n;
}

#define NV(n, v, vl)                                                                               \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vl), NGHTTP2_NV_FLAG_NONE          \
	}

/* --- protobuf, the few wire types needed ---------------------------------- */

static void pb_varint(struct buf *b, uint64_t v)
{
	uint8_t x[10];
	size_t n = 0;

	do {
		x[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	buf_add(b, x, n);
}

/* A length-delimited field (string, bytes, message) <num>; proto3 omits empty strings. */
static void pb_bytes(struct buf *b, unsigned num, const void *p, size_t n, bool keep_empty)
{
	if (!n && !keep_empty)
		return;
	pb_varint(b, (uint64_t)num << 3 | 2);
	pb_varint(b, n);
	buf_add(b, p, n);
}

static void pb_str(struct buf *b, unsigned num, const char *s)
{
	pb_bytes(b, num, s, s ? strlen(s) : 0, false);
}

/* Reserved by gRPC: not part of the metadata grpc-go hands to a handler. */
static bool grpc_reserved(const struct field *f)
{
	static const char *const names[] = { "content-type",	 "te",		 "grpc-timeout",
					     "grpc-encoding",	 "grpc-message", "grpc-status",
					     "grpc-message-type" };

	if (f->name[0] == ':')
		return strcmp(f->name, ":authority") != 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(f->name, names[i]))
			return true;
	return false;
}

/* Assertions.tls_assertions (field 5) of the connection <ssl>, appended to <as>. */
static void tls_assertions(struct buf *as, SSL *ssl)
{
	struct buf t = {}, pem = {};
	struct echo_tls_state st;

	echo_tls_state(ssl, &st);
	pb_str(&t, 1, st.version);
	pb_bytes(&t, 2, st.alpn, st.alpn_len, false);
	pb_str(&t, 3, st.server_name);
	pb_str(&t, 4, st.cipher);
	for (int i = 0;; i++) {
		pem.len = 0;
		if (echo_tls_peer_pem(ssl, i, &pem))
			break;
		pb_bytes(&t, 5, pem.p, pem.len, true);
	}
	pb_bytes(as, 5, t.p ? t.p : "", t.len, true);
	if (t.err || pem.err)
		as->err = -ENOMEM;
	free(t.p);
	free(pem.p);
}

/* The EchoResponse of method <m> (a gRPC message: 5-byte prefix) into st->out. */
static int grpc_echo(struct session *h, struct stream *st, const char *m)
{
	struct buf hdr = {}, ctx = {}, as = {}, resp = {};
	char fq[128];
	uint8_t pre[5];
	int err;

	snprintf(fq, sizeof(fq), "%s%s", GRPC_SERVICE, m);
	pb_str(&as, 1, fq);
	for (size_t i = 0; i < st->n; i++) {
		if (grpc_reserved(&st->f[i]))
			continue;
		hdr.len = 0;
		pb_bytes(&hdr, 1, st->f[i].name, st->f[i].nlen, false);
		pb_bytes(&hdr, 2, st->f[i].value, st->f[i].vlen, false);
		pb_bytes(&as, 2, hdr.p ? hdr.p : "", hdr.len, true);
	}
	pb_bytes(&as, 3, st->authority, st->authority ? st->authority_len : 0, false);
	pb_str(&ctx, 1, h->cfg->ns);
	pb_str(&ctx, 3, h->cfg->service);
	pb_str(&ctx, 4, h->cfg->pod);
	pb_bytes(&as, 4, ctx.p ? ctx.p : "", ctx.len, true);
	if (h->ssl)
		tls_assertions(&as, h->ssl);
	pb_bytes(&resp, 1, as.p, as.len, true);
	pre[0] = 0; /* not compressed */
	pre[1] = (uint8_t)(resp.len >> 24);
	pre[2] = (uint8_t)(resp.len >> 16);
	pre[3] = (uint8_t)(resp.len >> 8);
	pre[4] = (uint8_t)resp.len;
	buf_add(&st->out, pre, 5);
	buf_add(&st->out, resp.p, resp.len);
	err = hdr.err ?: ctx.err ?: as.err ?: resp.err ?: st->out.err;
	free(hdr.p);
	free(ctx.p);
	free(as.p);
	free(resp.p);
	return err;
}

static int grpc_respond(struct session *h, struct stream *st)
{
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = data_read };
	const char *m = NULL;
	char status[4] = "12", msg[160];

	if (!st->ctype || st->ctype_len < 16 || strncmp(st->ctype, "application/grpc", 16)) {
		nghttp2_nv nv[] = { NV(":status", "415", 3) };

		return nghttp2_submit_response(h->s, st->id, nv, 1, NULL);
	}
	if (st->path_len > strlen(GRPC_SERVICE) &&
	    !strncmp(st->path, GRPC_SERVICE, strlen(GRPC_SERVICE)))
		m = st->path + strlen(GRPC_SERVICE);
	if (m && (!strcmp(m, "Echo") || !strcmp(m, "EchoTwo"))) {
		nghttp2_nv nv[] = { NV(":status", "200", 3),
				    NV("content-type", "application/grpc", 16) };

		if (grpc_echo(h, st, m))
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		if (!h->cfg->quiet)
			log_info("%s gRPC %s OK", h->peer, st->path);
		return nghttp2_submit_response(h->s, st->id, nv, 2, &prd);
	}
	/* EchoThree is declared and not implemented; anything else is unknown */
	snprintf(msg, sizeof(msg), "%s %.*s",
		 m && !strcmp(m, "EchoThree") ? "method EchoThree not implemented"
					      : "unknown service or method",
		 (int)(st->path_len > 100 ? 100 : st->path_len), st->path);
	for (char *p = msg; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '%')
			*p = '_'; /* grpc-message is percent-encoded: keep it plain */
	{
		nghttp2_nv nv[] = { NV(":status", "200", 3),
				    NV("content-type", "application/grpc", 16),
				    NV("grpc-status", status, strlen(status)),
				    NV("grpc-message", msg, strlen(msg)) };

		if (!h->cfg->quiet)
			log_info("%s gRPC %.*s UNIMPLEMENTED", h->peer, (int)st->path_len,
				 st->path);
		return nghttp2_submit_response(h->s, st->id, nv, 4, NULL);
	}
}

/* The JSON echo, from the request's fields as an HTTP/1.1 request view. */
static int echo_respond(struct session *h, struct stream *st)
{
	nghttp2_data_provider prd = { .source.ptr = st, .read_callback = data_read };
	struct xgw_h1_request req = {};
	char clen[24], blen[24], bfnv[24];
	const char *q;

	if (!st->method || !st->path)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	q = memchr(st->path, '?', st->path_len);
	if (q && strstr(q, "h2abort=before")) {
		log_info("%s %s: closing the connection (h2abort=before)", h->peer, st->path);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (q && strstr(q, "h2goaway") && st->id > 1) {
		/* refuse it, as a server shutting down: GOAWAY below it, no answer */
		log_info("%s %s: GOAWAY (last stream %d)", h->peer, st->path, (int)st->id - 2);
		return nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE, st->id - 2, NGHTTP2_NO_ERROR,
					     NULL, 0);
	}
	st->abort_after = q && strstr(q, "h2abort=after");
	req.method = st->method;
	req.method_len = st->method_len;
	req.target = req.path = st->path;
	req.target_len = req.path_len = st->path_len;
	if (q) {
		req.path_len = (size_t)(q - st->path);
		req.query = q + 1;
		req.query_len = st->path_len - req.path_len - 1;
	}
	req.host = st->authority;
	req.host_len = st->authority ? st->authority_len : 0;
	req.minor_version = 1;
	for (size_t i = 0; i < st->n && req.n_headers < XGW_H1_MAX_HEADERS; i++) {
		if (st->f[i].name[0] == ':')
			continue;
		req.headers[req.n_headers++] =
			(struct xgw_h1_header){ st->f[i].name, st->f[i].nlen, st->f[i].value,
						st->f[i].vlen };
	}
	if (req.path_len > 7 && !memcmp(req.path, "/bytes/", 7)) {
		/* as HTTP/1.1's /bytes/N: N bytes (at most 16 MiB) for tests of large bodies */
		char *end;
		unsigned long k = strtoul(req.path + 7, &end, 10);

		if (end != req.path + req.path_len || k > (16u << 20) || !buf_reserve(&st->out, k))
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		for (unsigned long i = 0; i < k; i++)
			st->out.p[i] = (char)('a' + i % 26);
		st->out.len = k;
	} else {
		h->cfg->render(&st->out, &req, "HTTP/2.0", h->ssl);
	}
	if (st->out.err)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (st->abort_after) /* the head and part of the body, then nothing */
		st->out.len /= 2;
	snprintf(clen, sizeof(clen), "%zu", st->abort_after ? st->out.len * 2 + 1 : st->out.len);
	snprintf(blen, sizeof(blen), "%zu", st->body);
	snprintf(bfnv, sizeof(bfnv), "%016llx", (unsigned long long)st->fnv);
	if (!h->cfg->quiet)
		log_info("%s \"%s %s HTTP/2.0\" 200 %zu", h->peer, st->method, st->path,
			 st->out.len);
	{
		nghttp2_nv nv[] = { NV(":status", "200", 3),
				    NV("content-type", "application/json", 16),
				    NV("x-content-type-options", "nosniff", 7),
				    NV("content-length", clen, strlen(clen)),
				    NV("x-echo-body-bytes", blen, strlen(blen)),
				    NV("x-echo-body-fnv1a", bfnv, strlen(bfnv)) };

		return nghttp2_submit_response(h->s, st->id, nv, 6, &prd);
	}
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
	struct session *h = user;
	struct stream *st;

	if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
	    !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
	if (!st)
		return 0;
	return h->cfg->grpc ? grpc_respond(h, st) : echo_respond(h, st);
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);

	(void)code;
	(void)user;
	if (st)
		stream_free(st);
	return 0;
}

static void session_free(struct session *h)
{
	epoll_ctl(h->cfg->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	if (h->ssl)
		echo_tls_close_notify(h->ssl);
	SSL_free(h->ssl);
	close(h->fd);
	nghttp2_session_del(h->s); /* frees the streams through on_stream_close */
	free(h);
}

/* Feed <in>, send what is queued. Returns 0, or -1 when the session is over. */
static int session_io(struct session *h, const uint8_t *in, size_t n)
{
	if (n && nghttp2_session_mem_recv(h->s, in, n) < 0)
		return -1;
	if (flush_out(h) || (!h->ob_len && nghttp2_session_send(h->s)) || flush_out(h))
		return -1;
	return h->ob_len || nghttp2_session_want_read(h->s) || nghttp2_session_want_write(h->s)
		       ? 0
		       : -1;
}

/* Feed <in> without sending: a read loop sends once, after its last read. */
static int session_in(struct session *h, const uint8_t *in, size_t n)
{
	return nghttp2_session_mem_recv(h->s, in, n) < 0 ? -1 : 0;
}

void echo_h2_event(void *p, uint32_t events)
{
	struct session *h = p;
	uint8_t buf[16384];

	/* TLS: a read may have waited for the socket to take a write */
	if (h->ssl || events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (;;) { /* edge-triggered: until EAGAIN */
			ssize_t n = h->ssl ? echo_tls_recv(h->ssl, buf, sizeof(buf))
					   : recv(h->fd, buf, sizeof(buf), 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			if (n <= 0 || session_in(h, buf, (size_t)n)) {
				session_free(h);
				return;
			}
		}
	}
	if (session_io(h, NULL, 0))
		session_free(h);
}

int echo_h2_start(const struct echo_h2_cfg *cfg, int fd, SSL *ssl, const char *in, size_t n,
		  const char *peer)
{
	static nghttp2_session_callbacks *cb;
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000 } };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET };
	struct session *h;

	if (!cb) {
		if (nghttp2_session_callbacks_new(&cb))
			goto err_close;
		nghttp2_session_callbacks_set_send_callback(cb, send_cb);
		nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
		nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
		nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
		nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
		nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		goto err_close;
	h->kind = cfg->kind;
	h->fd = fd;
	h->ssl = ssl;
	h->cfg = cfg;
	snprintf(h->peer, sizeof(h->peer), "%s", peer);
	if (nghttp2_session_server_new(&h->s, cb, h)) {
		free(h);
		goto err_close;
	}
	ev.data.ptr = h;
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, 1) ||
	    epoll_ctl(cfg->epfd, EPOLL_CTL_MOD, fd, &ev) || session_io(h, (const uint8_t *)in, n)) {
		session_free(h);
		return -EPROTO;
	}
	return 0;

err_close:
	SSL_free(ssl);
	close(fd);
	return -ENOMEM;
}
