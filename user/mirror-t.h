/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Types of mirrored requests (HTTPRoute RequestMirror filters). */
#ifndef XGW_MIRROR_T_H
#define XGW_MIRROR_T_H

#include <stdbool.h>
#include <stdint.h>

#include "loop-t.h"

/* Mirrored requests in flight per worker; past this, copies are skipped. */
#define XGW_MIRROR_MAX 256

/*
 * A copy of one request on its own connection, fire-and-forget: the bytes
 * are copied into <b> (the client's buffer moves on without waiting), the
 * answer is read and dropped, and nothing of it reaches the client. Never
 * pooled: the copy says "Connection: close", so the server's close ends it.
 */
struct xgw_mirror {
	struct xgw_ev ev;
	bool connected;
	int fd;
	struct xgw_timer timer;		/* XGW_T_MIRROR: bounds the whole exchange */
	struct xgw_buf *b;		/* the request, bytes [start, end) not sent yet */
	struct xgw_mirror *prev, *next; /* w->mirrors; next also links dead and free lists */
};

#endif /* XGW_MIRROR_T_H */
