/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Client connections: HTTP/1.1 requests, routing and the proxy state machine. */
#ifndef XGW_CONN_H
#define XGW_CONN_H

#include <stdint.h>
#include <sys/socket.h>

#include "conn-t.h"

/* What a step of a connection's state machine did (conn.c, l4.c). */
enum xgw_step {
	XGW_STEP_AGAIN, /* run the (new) state's step again */
	XGW_STEP_WAIT,	/* wait for an event */
	XGW_STEP_STOP,	/* the connection is closed */
};

/*
 * Take over the accepted socket <fd> from <peer>. On failure the socket is
 * closed and -errno returned.
 */
int xgw_conn_accept(struct xgw_worker *w, int fd, const struct sockaddr *peer);

/* epoll reported <events> on the client socket. */
void xgw_conn_event(struct xgw_conn *c, uint32_t events);

/* Make whatever progress the readiness flags allow (after upstream events too). */
void xgw_conn_run(struct xgw_conn *c);

/* The conn's timer expired. */
void xgw_conn_timeout(struct xgw_conn *c);

/* A deadline timer (rq_timer or be_timer) of a connection expired: 504 or close. */
void xgw_conn_deadline(struct xgw_dtimer *t);

/* Draining began: close <c> if it is idle between requests. */
void xgw_conn_drain(struct xgw_conn *c);
/*
 * After a snapshot swap: connections whose listener the new snapshot no
 * longer has are closed when idle, else after their current response (with
 * Connection: close), instead of serving 404 on their next request.
 */
void xgw_conns_listeners_gone(struct xgw_worker *w);

/* The addresses of a client connection, handed from a connection to its HTTP/2 streams. */
struct xgw_conn_addrs {
	uint8_t lfamily, pfamily;
	uint16_t lport;
	uint8_t laddr[16], paddr[16];
	bool secure;
};

/*
 * A connection for HTTP/2 stream <s>: no socket, its client side is h2.c's
 * (xgw_h2s_read / xgw_h2s_writev). Ready to read its request. NULL on ENOMEM.
 */
struct xgw_conn *xgw_conn_new_stream(struct xgw_worker *w, struct xgw_h2s *s,
				     const struct xgw_conn_addrs *a);
/* Close <c> but not its socket or TLS, which the caller has taken; *<a> gets its addresses. */
void xgw_conn_release_socket(struct xgw_conn *c, struct xgw_conn_addrs *a);

/* Close <c> at once, whatever it was doing (worker exit). */
void xgw_conn_abort(struct xgw_conn *c);
/*
 * Relay bytes both ways between <c> and its connected upstream c->up until
 * both sides are done (half-closes passed on) or idle for the tunnel
 * timeout. Returns an enum xgw_step.
 */
int xgw_conn_tunnel(struct xgw_conn *c);

/* Free the connections closed during the last epoll batch. */
void xgw_conns_reap(struct xgw_worker *w);
void xgw_conns_free(struct xgw_worker *w);

#endif /* XGW_CONN_H */
