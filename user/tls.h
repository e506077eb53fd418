/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * TLS termination for HTTPS listeners, and for the terminating vhosts of TLS
 * listeners (l4.c) (OpenSSL 3): certificate contexts
 * chosen by server name, session tickets shared by the node's workers, and
 * the handshake of a client connection. The data path (SSL_read/SSL_write
 * over the connection's buffers) is in conn.c.
 */
#ifndef XGW_TLS_H
#define XGW_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "xgw/snapshot.h"

struct xgw_worker;

/*
 * The TLS side of one snapshot: a context per server name entry (snis[]).
 * Contexts are shared across snapshots through the worker's cache, keyed by
 * the SHA-256 of their certificates, so that a change that leaves a listener's
 * certificates alone costs no PEM parsing or key loading; thousands of
 * server names do not mean thousands of context rebuilds per change.
 */
struct xgw_tls_set;

/*
 * Build the TLS side of <snap> (NULL when it has no HTTPS listener, with 0
 * returned). Returns 0 or -errno (a certificate that does not load: named
 * in the log; the snapshot must then be rejected).
 */
int xgw_tls_set__new(struct xgw_worker *w, const struct xgw_snapshot *snap,
		     struct xgw_tls_set **out);
void xgw_tls_set__free(struct xgw_tls_set *t);

/*
 * After a snapshot swap: free the cached contexts that the set built last
 * (the one now served) does not use. Sets and connections keep their own
 * references.
 */
void xgw_tls_cache_sweep(struct xgw_worker *w);
void xgw_tls_cache_free(struct xgw_worker *w);

/*
 * A server SSL for a connection on listener <lsn> of the set's snapshot,
 * over non-blocking socket <fd>, or NULL. The set must outlive the
 * handshake (the connection pins its snapshot until then).
 */
SSL *xgw_tls_new_conn(struct xgw_tls_set *t, uint32_t lsn, int fd);

/* Progress of the handshake: 1 done, 0 waiting (*rd_ready / *wr_ready cleared), -1 failed. */
int xgw_tls_handshake(SSL *s, bool *rd_ready, bool *wr_ready);

/* Did ALPN choose HTTP/2 on this connection? */
bool xgw_tls_alpn_h2(const SSL *s);

/* Close: send close_notify if the socket takes it now, then free. NULL is accepted. */
void xgw_tls_close(SSL *s);

/*
 * RFC 9110 15.5.20: is a request for <host> (its Host or :authority, a port
 * allowed) on connection <s> of listener <lsn> misdirected? It is when the
 * connection's server name and the host select different certificates or
 * client verification on that listener: a client that coalesced connections
 * (HTTP/2, RFC 9113 9.1.1) on a shared certificate must not reach a host
 * whose own settings (a client certificate it requires, another certificate)
 * were never applied to it. Connections without a server name are not judged.
 */
bool xgw_tls_misdirected(const struct xgw_tls_set *t, uint32_t lsn, SSL *s, const char *host,
			 size_t host_len);

#endif /* XGW_TLS_H */
