/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Types of upstream connections and their per-endpoint keep-alive pools. */
#ifndef XGW_UPSTREAM_T_H
#define XGW_UPSTREAM_T_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop-t.h"

/*
 * Idle connections kept per endpoint. High enough that a burst of concurrency
 * does not turn into connect/close churn (Envoy has no such cap at all); the
 * pool idle timeout trims what the load no longer needs.
 */
#define XGW_POOL_MAX_IDLE 1024

struct xgw_h2us;
struct xgw_h2up;
struct ssl_st;
struct xgw_upstls_check;

struct xgw_upconn {
	struct xgw_ev ev;
	bool rd_ready, wr_ready, rdhup;
	bool connected;
	bool reused;	  /* taken from the pool: may have been closed by the server meanwhile */
	bool unprocessed; /* HTTP/2: the server refused the stream (RFC 9113, 8.7) */
	bool closed;
	int fd;
	int err;			/* sticky connect error, -errno */
	struct xgw_pool *pool;		/* never NULL */
	struct xgw_conn *owner;		/* the client connection using it; NULL when idle */
	struct xgw_timer timer;		/* XGW_T_CONNECT, or XGW_T_POOL_IDLE */
	struct xgw_upconn *prev, *next; /* pool idle list; next also links the dead list */
	struct xgw_h2us *h2us;		/* an HTTP/2 stream (h2up.c), fd -1; NULL: a socket */
	bool h2;			/* a stream of h2up.c */
	bool h2_queued;			/* in the worker's h2up run queue */
	/* TLS to the backend (upstls.c): connected is set once the handshake
	 * is done and verified; tcp_up once the TCP connect is */
	bool tcp_up;
	struct ssl_st *tls; /* NULL: plain */
	struct xgw_upstls_check *tls_chk;
	uint64_t tls_key; /* which idle connections a cluster may take: 0 plain */
};

/*
 * The connections to one endpoint (family, addr, port). Pools outlive
 * snapshots: an endpoint that stays across a swap keeps its idle
 * connections. One that leaves is orphaned: its idle connections are closed,
 * busy ones are not pooled again, and the pool is freed with its last one.
 */
struct xgw_pool {
	struct xgw_pool *hnext;
	uint8_t family;
	bool orphan;
	uint16_t port;
	uint8_t addr[16];
	socklen_t salen;
	struct sockaddr_storage sa;
	struct xgw_upconn *idle; /* most recently used first */
	uint32_t n_idle;
	uint32_t n_conns;    /* idle + busy + connecting; HTTP/2 connections and streams */
	struct xgw_h2up *h2; /* HTTP/2 connections (h2up.c) */
	/* Passive health (outlier detection): consecutive failed exchanges, and
	 * the ejection they led to; the pool outlives snapshots, so does this. */
	uint8_t fails;
	uint8_t ejections;	/* in a row: each one lasts longer */
	uint64_t ejected_until; /* CLOCK_MONOTONIC ms; 0: not ejected */
};

#endif /* XGW_UPSTREAM_T_H */
