/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * TLS from the gateway to backends (BackendTLSPolicy): client contexts, one
 * per distinct (CA bundle, client certificate), shared by the clusters that
 * use them and across snapshots; and the client handshake of an upstream
 * connection, with the checks its cluster's policy asks for (chain, then the
 * host name or the subject alternative names).
 */
#ifndef XGW_UPSTLS_H
#define XGW_UPSTLS_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "xgw/snapshot.h"

struct xgw_worker;
struct xgw_upconn;

/* The upstream TLS side of one snapshot: a context reference per uptls entry. */
struct xgw_upstls_set;

/*
 * Build the set of <snap> (NULL when it has no uptls entry, with 0
 * returned). Returns 0 or -errno: a CA bundle or client certificate that
 * does not load is named in the log, and the snapshot must be rejected.
 */
int xgw_upstls_set__new(struct xgw_worker *w, const struct xgw_snapshot *snap,
			struct xgw_upstls_set **out);
void xgw_upstls_set__free(struct xgw_upstls_set *t);

/* After a swap: drop cached contexts that the set built last does not use. */
void xgw_upstls_cache_sweep(struct xgw_worker *w);
void xgw_upstls_cache_free(struct xgw_worker *w);

/*
 * The pool key of uptls entry <tls> of the set (which idle connections of an
 * endpoint a cluster may take): the same for entries with the same context,
 * server name and names checked; never 0 (0 is a plain connection).
 */
uint64_t xgw_upstls_key(const struct xgw_upstls_set *t, uint32_t tls);

/*
 * Make <u> (connecting or connected) a TLS client of uptls entry <tls> of
 * <snap>, whose set is <t>: its SSL, server name and checks. 0 or -ENOMEM.
 */
int xgw_upstls_attach(struct xgw_upconn *u, const struct xgw_upstls_set *t,
		      const struct xgw_snapshot *snap, uint32_t tls);

/*
 * Drive <u>'s handshake once its TCP connect is done: 1 done and verified, 0
 * waiting for the socket, or -EPROTO (handshake or verification failed:
 * logged, rate-limited).
 */
int xgw_upstls_handshake(struct xgw_worker *w, struct xgw_upconn *u);

/*
 * An idle TLS connection in the pool is readable: is it unusable (bytes
 * nobody asked for, a close_notify, an error)? False when the record read
 * was only a post-handshake message (a session ticket).
 */
bool xgw_upstls_idle_check(struct xgw_upconn *u);

/*
 * The same for a connection that is not a struct xgw_upconn (h2up.c): a
 * client SSL over <fd> to endpoint <pool>, asking for ALPN h2 when <h2> (a
 * handshake where the server does not choose it fails), and its checks in
 * *<chk>. NULL with errno on failure.
 */
struct xgw_pool;
struct xgw_upstls_check;
SSL *xgw_upstls_new(const struct xgw_upstls_set *t, const struct xgw_snapshot *snap, uint32_t tls,
		    int fd, const struct xgw_pool *pool, bool h2, struct xgw_upstls_check **chk);
int xgw_upstls_handshake_ssl(struct xgw_worker *w, SSL *s, const struct xgw_upstls_check *chk,
			     bool *rd_ready, bool *wr_ready);
void xgw_upstls_free(SSL *s, struct xgw_upstls_check *chk);

/* Free <u>'s TLS state (a close_notify first when the handshake was done). */
void xgw_upstls_detach(struct xgw_upconn *u);

#endif /* XGW_UPSTLS_H */
