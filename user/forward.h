/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* What a routed request carries upstream (forward.c), for the proxy state machine (conn.c). */
#ifndef XGW_FORWARD_H
#define XGW_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn-t.h"
#include "http1.h"
#include "router-t.h"

/* Whether method <m>[0, <len>) is idempotent (RFC 9110 9.2.2): a retry may send it again. */
bool xgw_fwd_idempotent(const char *m, size_t len);

/*
 * Queue the head of the request parsed in c->w->req in c->req, as it goes
 * upstream (rewrite.c). Returns 0 or -E2BIG.
 */
int xgw_fwd_request_head(struct xgw_conn *c);

/* The debug access log line of <req>: <what> happened, to endpoint <ep> (or XGW_SNAP_NONE). */
void xgw_fwd_access_log(struct xgw_conn *c, const struct xgw_h1_request *req, const char *what,
			uint32_t ep);

/*
 * Send copies of <req> to the clusters of the RequestMirror filters of the
 * route in c->flt (the rule's, then the backend's), each for its fraction of
 * requests, when the request is whole in c->rb.
 */
void xgw_fwd_mirrors(struct xgw_conn *c, const struct xgw_h1_request *req);

/* The filter spans, prefix and timeouts of the route <rt> chose, in c->flt and c's timers. */
void xgw_fwd_set_route(struct xgw_conn *c, const struct xgw_route *rt);

/* The value of the first header of <req> named <id> (enum xgw_h1_hdr), or NULL with *<len> 0. */
const char *xgw_fwd_header(const struct xgw_h1_request *req, unsigned id, size_t *len);

#endif /* XGW_FORWARD_H */
