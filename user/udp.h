/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * UDP listeners (UDPRoute): datagrams relayed through per-client sessions.
 */
#ifndef XGW_UDP_H
#define XGW_UDP_H

#include <stdint.h>

#include "loop-t.h"

#define XGW_UDP_IDLE_TIMEOUT_MS 60000 /* a session without datagrams either way */
#define XGW_UDP_MAX_SESSIONS 16384    /* per worker; each holds one socket */

/*
 * Take the UDP socket <fd> (bound, any address; sk_lookup steers the
 * Gateway's UDP flows to it). Returns 0 or -errno; <fd> is owned by the
 * worker either way.
 */
int xgw_udp_add_socket(struct xgw_worker *w, int fd, uint32_t max_sessions);

/* epoll reported <events> on a UDP socket of the module (client or backend side). */
void xgw_udp_event(struct xgw_worker *w, struct xgw_ev *ev, uint32_t events);

/* The idle timer of a session expired. */
void xgw_udp_timeout(struct xgw_worker *w, struct xgw_timer *t);

/* Draining: stop receiving new datagrams on the worker's sockets; sessions go on. */
void xgw_udp_drain(struct xgw_worker *w);

/* Close every socket and session. */
void xgw_udp_free(struct xgw_worker *w);

#endif /* XGW_UDP_H */
