/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xgw-echo's WebSocket echo (RFC 6455), as echo-basic's /ws: the upgrade check
 * and accept key, then an incremental frame reader that echoes each text or
 * binary message (reassembled from its fragments) as one unmasked frame,
 * answers ping with pong and close with close. Payload bytes stream through:
 * the caller's input buffer only ever holds a frame header.
 */
#ifndef XGW_ECHO_WS_H
#define XGW_ECHO_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http1.h"

#define ECHO_WS_ACCEPT_LEN 28	       /* base64 of a SHA-1 digest */
#define ECHO_WS_MAX_MESSAGE (1u << 20) /* bytes; a larger message is closed with 1009 */

enum echo_ws_verdict {
	ECHO_WS_OK,
	ECHO_WS_BAD_METHOD,  /* not GET: 405 */
	ECHO_WS_NOT_WS,	     /* no "Upgrade: websocket" / "Connection: upgrade", or a body: 400 */
	ECHO_WS_BAD_VERSION, /* Sec-WebSocket-Version is not 13: 400 naming 13 */
	ECHO_WS_BAD_KEY,     /* Sec-WebSocket-Key missing or too long: 400 */
};

struct echo_ws {
	int state;	   /* private: reading a frame head or its payload */
	uint8_t op;	   /* private: opcode of the frame being read */
	bool fin;	   /* private */
	uint64_t left;	   /* private: payload bytes of the frame still to read */
	uint8_t mask[4];   /* private */
	unsigned mask_off; /* private */
	uint8_t msg_op;	   /* private: 1 text or 2 binary while a message is open, else 0 */
	char *msg;	   /* private: the message reassembled so far */
	size_t msg_len, msg_cap;
	uint8_t ctl[125]; /* private: payload of the control frame being read */
	size_t ctl_len;
	bool closed; /* a close frame was queued: send what is queued, then close */
};

/*
 * Appends <n> bytes at <p> to the connection's output. Returns 0 or -ENOMEM;
 * an error stops the reader, which returns it.
 */
typedef int (*echo_ws_write_fn)(void *ctx, const void *p, size_t n);

/*
 * Check that <req> is a WebSocket opening handshake this server accepts; when
 * it is, write the Sec-WebSocket-Accept value, NUL-terminated, to <accept>.
 */
enum echo_ws_verdict echo_ws_handshake(const struct xgw_h1_request *req,
				       char accept[ECHO_WS_ACCEPT_LEN + 1]);

/*
 * Read frames from <p>[0, <n>) and write the answers through <write>(<ctx>,
 * ...). Sets *<used> to the bytes consumed: all of them, except an incomplete
 * frame head that the caller keeps and passes again with what follows.
 * Returns 0 to go on reading, 1 once a close frame was queued (a close from
 * the peer, or a protocol error: 1002, 1007, 1009), or -ENOMEM.
 */
int echo_ws_feed(struct echo_ws *ws, const char *p, size_t n, size_t *used, echo_ws_write_fn write,
		 void *ctx);

/* Free what <ws> holds (not <ws> itself). Accepts NULL. */
void echo_ws_release(struct echo_ws *ws);

#endif /* XGW_ECHO_WS_H */
