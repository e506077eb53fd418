/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * TCP and TLS listeners (TCPRoute, TLSRoute): connections whose bytes are
 * proxied to a backend rather than parsed as HTTP. TLS listeners route on
 * the server name of the ClientHello, then pass the session through or
 * terminate it (the vhost's XGW_VHOST_TLS_TERMINATE flag).
 */
#ifndef XGW_L4_H
#define XGW_L4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xgw/snapshot.h"

#include "conn-t.h"

/*
 * The most ClientHello bytes (records with their headers) read before
 * routing: a larger hello is refused. Post-quantum key shares make hellos
 * of 2-3 KiB common; 16 KiB is one full record.
 */
#define XGW_L4_HELLO_MAX 16384

/* Connection attempts per client connection: the first, then other endpoints. */
#define XGW_L4_CONNECT_TRIES 3

/* Is listener <l> of <snap> one whose connections are proxied as bytes (TCP, TLS)? */
static inline bool xgw_l4_listener(const struct xgw_snapshot *snap, uint32_t l)
{
	return snap->listeners[l].proto == XGW_LPROTO_TCP ||
	       snap->listeners[l].proto == XGW_LPROTO_TLS;
}

/*
 * The server name of the ClientHello at the start of <p> (<len> bytes as
 * received: TLS records, the hello possibly split over several of them).
 * Returns 1 with the name in <name> (lower-cased, *<name_len> 0 when the
 * hello has none), 0 when more bytes are needed, -1 when the bytes are not a
 * well-formed ClientHello (or one larger than XGW_L4_HELLO_MAX). <name> has
 * room for 256 bytes.
 */
int xgw_l4_hello_sni(const uint8_t *p, size_t len, char *name, size_t *name_len);

/* Accepted connection <c> on L4 listener c->lsn of <sr>: set its first state. */
void xgw_l4_accept(struct xgw_conn *c, struct xgw_snapref *sr);

/* XGW_CS_L4_HELLO and XGW_CS_L4_CONNECT steps; they return an enum xgw_step. */
int xgw_l4_hello_step(struct xgw_conn *c);
int xgw_l4_connect_step(struct xgw_conn *c);

#endif /* XGW_L4_H */
