/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Proxy head rewriting and gateway-generated responses. Rewritten heads are
 * iovecs over the received head and constant strings: nothing is copied.
 */
#ifndef XGW_REWRITE_H
#define XGW_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn-t.h"
#include "http1.h"

/* What the rewritten head says in its Connection header. */
enum xgw_conn_mode {
	XGW_CONN_KEEP_ALIVE,
	XGW_CONN_CLOSE,
	XGW_CONN_UPGRADE,
};

/* What a request head gets besides its own lines. */
struct xgw_rw_req {
	const char *xff_app; /* ", <client ip>", appended to an X-Forwarded-For */
	size_t xff_app_len;
	const char *xff_line; /* "X-Forwarded-For: <client ip>\r\n", added without one */
	size_t xff_line_len;
	bool upgrade; /* keep Upgrade and say "Connection: upgrade" */
};

/*
 * Queue in <x>'s iovecs the head of <req> as sent upstream: the request line
 * and headers as received, less the hop-by-hop ones (Connection, the headers
 * it names, Keep-Alive, Proxy-Connection, TE, Upgrade unless upgrading) and
 * X-Forwarded-Proto, plus Connection, X-Forwarded-For (appended to),
 * X-Forwarded-Proto, X-Forwarded-Host when absent, and one normalised
 * Content-Length when the received ones were a list or repeated.
 * <head_end> points past the head's final CRLF. Returns 0, or -E2BIG when the
 * head needs more than XGW_XFER_IOV pieces.
 */
int xgw_rewrite_request(struct xgw_xfer *x, const struct xgw_h1_request *req, const char *head_end,
			const struct xgw_rw_req *rw);

/*
 * Queue in <x>'s iovecs the response head <resp> received in [<head>,
 * <head_end>) as sent to the client: hop-by-hop headers removed, Connection
 * set from <mode>. Returns 0 or -E2BIG.
 */
int xgw_rewrite_response(struct xgw_xfer *x, const struct xgw_h1_response *resp, const char *head,
			 const char *head_end, enum xgw_conn_mode mode);

/* A gateway-generated response: head then a short text/plain body. */
struct xgw_lresp {
	const char *data;
	uint16_t head_len; /* bytes of the head (what a HEAD request gets) */
	uint16_t len;	   /* head and body */
};

/* Build the response table once, before the first xgw_local_response(). */
void xgw_rewrite_init(void);

/* The response for <status> (500 for a status it does not know). */
const struct xgw_lresp *xgw_local_response(int status, bool keep_alive);

#endif /* XGW_REWRITE_H */
