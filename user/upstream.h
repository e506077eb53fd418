/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Upstream connections and per-endpoint keep-alive pools. */
#ifndef XGW_UPSTREAM_H
#define XGW_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "xgw/snapshot.h"

#include "upstream-t.h"

/* The pool of endpoint <ep>, created if needed. NULL with errno (ENOMEM). */
struct xgw_pool *xgw_pool_get(struct xgw_worker *w, const struct xgw_snap_endpoint *ep);

/*
 * Passive health checks. An exchange with the pool's endpoint got a response
 * (<ok>: whatever its status; an application's 503 is its own business) or
 * failed (connection refused or reset before the response, a backendRequest
 * timeout).
 * XGW_EJECT_AFTER failures in a row eject the endpoint for
 * XGW_EJECT_BASE_MS times the ejections in a row, at most XGW_EJECT_MAX_MS.
 */
#define XGW_EJECT_AFTER 5
#define XGW_EJECT_BASE_MS 10000
#define XGW_EJECT_MAX_MS 300000
void xgw_pool_outcome(struct xgw_worker *w, struct xgw_pool *p, bool ok);
/* Is the endpoint <ep> ejected now? (No pool: never used, so not.) */
/* Requests in flight from this worker to <ep> (least-request balancing). */
uint32_t xgw_endpoint_load(void *worker, const struct xgw_snap_endpoint *ep);

bool xgw_endpoint_ejected(struct xgw_worker *w, const struct xgw_snap_endpoint *ep);

/*
 * A connection for <owner> to <p>: an idle pooled one (reused = true) unless
 * <fresh>, else a new non-blocking connect. Returns 0 with *<out> set, or
 * -errno (socket or immediate connect failure).
 */
int xgw_upconn_get(struct xgw_worker *w, struct xgw_pool *p, struct xgw_conn *owner, bool fresh,
		   struct xgw_upconn **out);

/*
 * The same for a cluster whose uptls entry is <tls> in <sr> (XGW_SNAP_NONE:
 * plain, as xgw_upconn_get()): only idle connections made for the same TLS
 * settings are taken; a new one does its TLS handshake after the connect,
 * and is connected once that is done and verified (a failure is u->err
 * -EPROTO, a connection failure).
 */
struct xgw_snapref;
int xgw_upconn_get_tls(struct xgw_worker *w, struct xgw_pool *p, struct xgw_conn *owner, bool fresh,
		       const struct xgw_snapref *sr, uint32_t tls, struct xgw_upconn **out);

/*
 * The owner is done with <u>: back to the idle list when <reuse> (and the
 * pool has room and is not orphaned), else closed. NULL is accepted.
 */
void xgw_upconn_release(struct xgw_worker *w, struct xgw_upconn *u, bool reuse);

void xgw_upconn_event(struct xgw_worker *w, struct xgw_upconn *u, uint32_t events);
void xgw_upconn_timeout(struct xgw_worker *w, struct xgw_upconn *u);

/* An HTTP/2 connection of <p> (counted in n_conns) is closed: free an orphaned pool with its last. */
void xgw_pool_conn_gone(struct xgw_worker *w, struct xgw_pool *p);

/* After a swap: orphan the pools of endpoints <snap> no longer has. */
void xgw_pools_sweep(struct xgw_worker *w, const struct xgw_snapshot *snap);

/* Free the upstream connections closed during the last epoll batch. */
void xgw_upconns_reap(struct xgw_worker *w);

/* Close every idle connection and free the pools (busy ones must be gone). */
void xgw_pools_free(struct xgw_worker *w);

#endif /* XGW_UPSTREAM_H */
