/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Session persistence (GEP-1619): a rule's sessionPersistence sends a client
 * back to the endpoint that served it before, through a token the gateway
 * issues in a cookie or a header.
 *
 * The token is base64url (no padding) of
 *   version 1 | family (4 or 6) | port (2, big endian) | address (4 or 16) |
 *   created (4) | last used (4)          times: Unix seconds, big endian
 * It names an endpoint and carries no secret: a token only selects among the
 * endpoints the rule already balances over (one that is not among them, is
 * ejected, or has expired starts a new session), and it stays valid on every
 * worker and node and across restarts, as Envoy's stateful sessions do.
 */
#ifndef XGW_SESSION_H
#define XGW_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "http1.h"
#include "router-t.h"
#include "xgw/snapshot.h"

struct xgw_worker;
struct xgw_xfer;

#define XGW_SESSION_TOKEN_MAX 40 /* base64url of the 28 bytes of an IPv6 token */

/*
 * When <rt>'s rule has session persistence, look for the request's token
 * (rule's cookie or header) and, when it is valid and names a healthy
 * endpoint of one of the rule's backends (weight > 0), route to it: rt's
 * backend and endpoint change. <ss> is reset for the exchange and remembers
 * whether a token must be sent back. <now> is Unix seconds. Cookie lines
 * are found by the ids the parser gave <req>'s headers.
 */
void xgw_session_route(struct xgw_rw_session *ss, struct xgw_worker *w,
		       const struct xgw_snapshot *s, const struct xgw_h1_request *req,
		       struct xgw_route *rt, uint32_t now);

/*
 * The endpoint <ep> serves the exchange (after ejection and retries): when a
 * token is to be sent, lay it out for it. No-op without session persistence.
 */
void xgw_session_issue(struct xgw_rw_session *ss, const struct xgw_snapshot *s, uint32_t ep);

/*
 * Queue the response line that carries the token, if any:
 *   Set-Cookie: <name>=<token>; Path=<path>[; Max-Age=<s>][; Secure]; HttpOnly
 *   <name>: <token>
 * 0 or -E2BIG.
 */
int xgw_session_emit(struct xgw_xfer *x, const struct xgw_rw_filters *flt);

/* Exposed for the unit tests: token <-> endpoint and times. */
int xgw_session_encode(char *out, size_t cap, const struct xgw_snap_endpoint *ep, uint32_t created,
		       uint32_t last);
bool xgw_session_decode(const char *tok, size_t len, struct xgw_snap_endpoint *ep,
			uint32_t *created, uint32_t *last);

#endif /* XGW_SESSION_H */
