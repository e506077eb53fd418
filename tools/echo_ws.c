// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The WebSocket echo of xgw-echo: see echo_ws.h. The reader is a two-state
 * machine (frame head, payload) that unmasks payload bytes straight into the
 * message being reassembled or the control frame's 125-byte buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "echo_ws.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_KEY 64

enum {
	WS_HEAD,
	WS_PAYLOAD,
};

enum {
	OP_CONT = 0,
	OP_TEXT = 1,
	OP_BINARY = 2,
	OP_CLOSE = 8,
	OP_PING = 9,
	OP_PONG = 10,
};

enum {
	CLOSE_PROTOCOL = 1002,
	CLOSE_BAD_DATA = 1007,
	CLOSE_TOO_BIG = 1009,
};

/* Is <tok> one of the comma-separated tokens of <v>? Case-insensitive. */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && xgw_h1_name_eq(v + s, e - s, tok))
			return true;
	}
	return false;
}

static const struct xgw_h1_header *header(const struct xgw_h1_request *req, const char *lower)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (xgw_h1_name_eq(req->headers[i].name, req->headers[i].name_len, lower))
			return &req->headers[i];
	return NULL;
}

enum echo_ws_verdict echo_ws_handshake(const struct xgw_h1_request *req,
				       char accept[ECHO_WS_ACCEPT_LEN + 1])
{
	const struct xgw_h1_header *up = header(req, "upgrade");
	const struct xgw_h1_header *ver = header(req, "sec-websocket-version");
	const struct xgw_h1_header *key = header(req, "sec-websocket-key");
	unsigned char in[WS_MAX_KEY + sizeof(WS_GUID)], md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (req->method_len != 3 || memcmp(req->method, "GET", 3))
		return ECHO_WS_BAD_METHOD;
	/* req->upgrade: HTTP/1.1 with an Upgrade header and the "upgrade" Connection token. */
	if (!req->upgrade || !up || !has_token(up->value, up->value_len, "websocket") ||
	    req->body != XGW_H1_BODY_NONE)
		return ECHO_WS_NOT_WS;
	if (!ver || ver->value_len != 2 || memcmp(ver->value, "13", 2))
		return ECHO_WS_BAD_VERSION;
	if (!key || !key->value_len || key->value_len > WS_MAX_KEY)
		return ECHO_WS_BAD_KEY;
	memcpy(in, key->value, key->value_len);
	memcpy(in + key->value_len, WS_GUID, sizeof(WS_GUID) - 1);
	if (!EVP_Digest(in, key->value_len + sizeof(WS_GUID) - 1, md, &md_len, EVP_sha1(), NULL) ||
	    md_len != 20)
		return ECHO_WS_BAD_KEY;
	EVP_EncodeBlock((unsigned char *)accept, md, 20);
	return ECHO_WS_OK;
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], l;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c < 0xc2 || c > 0xf4)
			return false;
		l = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		if (n - i < l)
			return false;
		for (unsigned k = 1; k < l; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
		    (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f))
			return false;
		i += l;
	}
	return true;
}

/* Queue one unmasked, unfragmented frame. */
static int send_frame(uint8_t op, const void *p, size_t n, echo_ws_write_fn write, void *ctx)
{
	uint8_t h[10];
	size_t hl = 2;
	int err;

	h[0] = 0x80 | op;
	if (n < 126) {
		h[1] = (uint8_t)n;
	} else if (n < 65536) {
		h[1] = 126;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	err = write(ctx, h, hl);
	if (!err && n)
		err = write(ctx, p, n);
	return err;
}

static int send_close(struct echo_ws *ws, unsigned code, echo_ws_write_fn write, void *ctx)
{
	uint8_t b[2] = { (uint8_t)(code >> 8), (uint8_t)code };

	ws->closed = true;
	return send_frame(OP_CLOSE, b, code ? 2 : 0, write, ctx);
}

/* The peer's close: echo its status code, or fail with 1002/1007 when the payload is bad. */
static int on_close(struct echo_ws *ws, echo_ws_write_fn write, void *ctx)
{
	unsigned code;

	if (!ws->ctl_len)
		return send_close(ws, 0, write, ctx);
	if (ws->ctl_len == 1)
		return send_close(ws, CLOSE_PROTOCOL, write, ctx);
	code = (unsigned)ws->ctl[0] << 8 | ws->ctl[1];
	if (!((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	      (code >= 3000 && code <= 4999)))
		return send_close(ws, CLOSE_PROTOCOL, write, ctx);
	if (!utf8_valid(ws->ctl + 2, ws->ctl_len - 2))
		return send_close(ws, CLOSE_BAD_DATA, write, ctx);
	return send_close(ws, code, write, ctx);
}

/* A whole frame was read: answer it. */
static int frame_done(struct echo_ws *ws, echo_ws_write_fn write, void *ctx)
{
	int err;

	switch (ws->op) {
	case OP_PING:
		return send_frame(OP_PONG, ws->ctl, ws->ctl_len, write, ctx);
	case OP_PONG:
		return 0;
	case OP_CLOSE:
		return on_close(ws, write, ctx);
	}
	if (!ws->fin)
		return 0;
	if (ws->msg_op == OP_TEXT && !utf8_valid((unsigned char *)ws->msg, ws->msg_len))
		return send_close(ws, CLOSE_BAD_DATA, write, ctx);
	err = send_frame(ws->msg_op, ws->msg, ws->msg_len, write, ctx);
	ws->msg_op = 0;
	ws->msg_len = 0;
	if (ws->msg_cap > 65536) {
		/* Do not keep a large message's buffer for an idle connection. */
		free(ws->msg);
		ws->msg = NULL;
		ws->msg_cap = 0;
	}
	return err;
}

/*
 * Parse the frame head at <p> (<n> bytes available). Returns its length, 0 if
 * incomplete, or -(close code) when the frame breaks the protocol.
 */
static long read_head(struct echo_ws *ws, const uint8_t *p, size_t n)
{
	size_t need = 2;
	uint64_t len;
	uint8_t op;

	if (n < 2)
		return 0;
	len = p[1] & 0x7f;
	need += (len == 126 ? 2 : len == 127 ? 8 : 0) + 4;
	if (n < need)
		return 0;
	op = p[0] & 0x0f;
	/* No extension was negotiated: RSV bits must be clear; client frames are masked. */
	if ((p[0] & 0x70) || !(p[1] & 0x80))
		return -CLOSE_PROTOCOL;
	if (len == 126) {
		len = (uint64_t)p[2] << 8 | p[3];
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		if (len >> 63)
			return -CLOSE_PROTOCOL;
	}
	ws->fin = p[0] & 0x80;
	if (op & 8) {
		if ((op != OP_CLOSE && op != OP_PING && op != OP_PONG) || !ws->fin || len > 125)
			return -CLOSE_PROTOCOL;
		ws->ctl_len = 0;
	} else {
		if (op > OP_BINARY || (op == OP_CONT) != (ws->msg_op != 0))
			return -CLOSE_PROTOCOL;
		if (len > ECHO_WS_MAX_MESSAGE - ws->msg_len)
			return -CLOSE_TOO_BIG;
		if (op != OP_CONT)
			ws->msg_op = op;
		if (ws->msg_len + len > ws->msg_cap) {
			size_t cap = ws->msg_cap * 2;
			char *m;

			if (cap < ws->msg_len + len)
				cap = ws->msg_len + len;
			if (cap > ECHO_WS_MAX_MESSAGE)
				cap = ECHO_WS_MAX_MESSAGE;
			m = realloc(ws->msg, cap);

			if (!m)
				return -ENOMEM;
			ws->msg = m;
			ws->msg_cap = cap;
		}
	}
	ws->op = op;
	ws->left = len;
	memcpy(ws->mask, p + need - 4, 4);
	ws->mask_off = 0;
	return (long)need;
}

int echo_ws_feed(struct echo_ws *ws, const char *p, size_t n, size_t *used, echo_ws_write_fn write,
		 void *ctx)
{
	const uint8_t *in = (const uint8_t *)p;
	size_t off = 0;
	int err = 0;

	while (!ws->closed && !err) {
		uint8_t *dst;
		size_t take;

		if (ws->state == WS_HEAD) {
			long h = read_head(ws, in + off, n - off);

			if (h == 0)
				break;
			if (h == -ENOMEM) {
				err = -ENOMEM;
				break;
			}
			if (h < 0) {
				off = n; /* nothing after a protocol error is read */
				err = send_close(ws, (unsigned)-h, write, ctx);
				break;
			}
			off += (size_t)h;
			ws->state = WS_PAYLOAD;
		}
		take = n - off < ws->left ? n - off : (size_t)ws->left;
		if (take) {
			dst = ws->op & 8 ? ws->ctl + ws->ctl_len : (uint8_t *)ws->msg + ws->msg_len;
			for (size_t i = 0; i < take; i++)
				dst[i] = in[off + i] ^ ws->mask[(ws->mask_off + i) & 3];
			ws->mask_off = (unsigned)((ws->mask_off + take) & 3);
			if (ws->op & 8)
				ws->ctl_len += take;
			else
				ws->msg_len += take;
			off += take;
			ws->left -= take;
		}
		if (ws->left)
			break;
		ws->state = WS_HEAD;
		err = frame_done(ws, write, ctx);
	}
	if (ws->closed)
		off = n;
	*used = off;
	return err ? err : ws->closed;
}

void echo_ws_release(struct echo_ws *ws)
{
	if (ws)
		free(ws->msg);
}
