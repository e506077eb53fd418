/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Types of the worker's event loop: the worker itself, epoll tags, timers,
 * I/O buffers and refcounted snapshots.
 */
#ifndef XGW_LOOP_T_H
#define XGW_LOOP_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xgw/ctl.h"
#include "xgw/snapshot.h"

#include "http1.h"
#include "router-t.h"

/* Every object registered with epoll starts with this tag (epoll_event.data.ptr). */
enum xgw_ev_type {
	XGW_EV_LISTEN = 1,
	XGW_EV_CLIENT,
	XGW_EV_UPSTREAM,
	XGW_EV_CTL,
	XGW_EV_SIGNAL,
	XGW_EV_MIRROR,
	XGW_EV_H2,     /* an HTTP/2 session's socket (h2.c) */
	XGW_EV_UDP,    /* a socket clients' UDP datagrams arrive on (udp.c) */
	XGW_EV_UDP_UP, /* a UDP session's socket to its backend (udp.c) */
	XGW_EV_H2UP,   /* an HTTP/2 connection to a backend (h2up.c) */
};

struct xgw_ev {
	uint8_t type; /* enum xgw_ev_type */
};

/*
 * Timer kinds. Each kind has one fixed duration, so a list per kind ordered
 * by arming time is also ordered by deadline: the next expiry is a list head
 * and arming or disarming is O(1). Client kinds come first.
 */
enum xgw_timer_kind {
	XGW_T_HEADER,	 /* client: request head not complete */
	XGW_T_KEEPALIVE, /* client: idle between requests */
	XGW_T_EXCHANGE,	 /* client: no progress of a proxied exchange (upstream response timeout) */
	XGW_T_TUNNEL,	 /* client: upgraded connection idle */
	XGW_T_LINGER,	 /* client: reading what is left before the close */
	XGW_T_CONNECT,	 /* upstream: connect */
	XGW_T_POOL_IDLE, /* upstream: idle in its pool */
	XGW_T_MIRROR,	 /* mirrored request: the whole fire-and-forget exchange */
	XGW_T_H2_IDLE,	 /* HTTP/2 session without streams */
	XGW_T_UDP,	 /* UDP session without datagrams (--udp-idle-timeout-ms) */
	XGW_T_H2UP_CONNECT, /* HTTP/2 connection to a backend: connect */
	XGW_T_H2UP_IDLE,    /* HTTP/2 connection to a backend without streams */
	XGW_T__MAX,
};

#define XGW_T_CLIENT_LAST XGW_T_LINGER
#define XGW_T_UPSTREAM_LAST XGW_T_POOL_IDLE

struct xgw_timer {
	struct xgw_timer *prev, *next; /* NULL when not armed */
	uint64_t deadline;	       /* CLOCK_MONOTONIC milliseconds */
	uint8_t kind;		       /* enum xgw_timer_kind */
};

/*
 * Timers whose duration comes from the configuration (HTTPRoute timeouts)
 * cannot share per-kind lists: they live in a binary min-heap on deadline,
 * O(log n) to arm and disarm. Client connections only.
 */
enum xgw_dtimer_kind {
	XGW_DT_REQUEST, /* timeouts.request: head parsed -> response complete */
	XGW_DT_BACKEND, /* timeouts.backendRequest: one upstream attempt */
	XGW_DT_BACKOFF, /* retry.backoff: the wait before the next attempt */
};

struct xgw_dtimer {
	uint64_t deadline; /* CLOCK_MONOTONIC milliseconds */
	uint32_t slot;	   /* heap index + 1; 0 when not armed */
	uint8_t kind;	   /* enum xgw_dtimer_kind */
};

struct xgw_tlist {
	struct xgw_timer head; /* sentinel of a circular list */
	uint32_t dur_ms;
};

/*
 * An I/O buffer, taken from the worker's free list while a connection has
 * bytes in flight and returned when it is idle: idle connections hold none.
 * Bytes [start, end) of data are unconsumed.
 */
#define XGW_BUF_CAP (32768 - 64)

struct xgw_buf {
	uint32_t start, end;
	struct xgw_buf *next_free;
	char data[XGW_BUF_CAP];
};

/*
 * A mapped snapshot and the router over it. The worker holds one reference
 * to the current one; each request holds one from its head to its end. The
 * last reference unmaps it.
 */
struct xgw_snapref {
	uint32_t refs;
	uint64_t seq; /* worker-local, increasing per swap: tags cached lookups */
	void *map;
	size_t map_len;
	struct xgw_snapshot snap;
	struct xgw_router *router;
	struct xgw_tls_set *tls;      /* HTTPS listeners' contexts; NULL when there is none */
	struct xgw_upstls_set *uptls; /* TLS to backends (upstls.c); NULL when none */
	uint64_t **rule_ctr; /* per rule: its route's counters (rstats.h), found on first use */
};

struct xgw_lsock {
	struct xgw_ev ev;
	int fd;
	bool registered;
};

struct xgw_conn;
struct xgw_upconn;
struct xgw_tls_set;
struct xgw_tls_cache;
struct xgw_upstls_set;
struct xgw_upstls_cache;
struct xgw_h2;
struct xgw_h2up;
struct xgw_pool;
struct xgw_mirror;
struct xgw_udp;

struct xgw_worker {
	uint32_t id;
	int epfd;
	int ctl_fd; /* -1 once the agent is gone */
	int sig_fd;
	struct xgw_ev ctl_ev, sig_ev;
	struct xgw_lsock *lsocks;
	uint32_t n_lsocks;

	uint64_t now; /* CLOCK_MONOTONIC ms, updated after each epoll_wait */
	struct xgw_tlist timers[XGW_T__MAX];
	struct xgw_dtimer **dheap; /* min-heap of armed dtimers; capacity follows n_conns */
	uint32_t dheap_n, dheap_cap;

	struct xgw_snapref *snap;     /* current, or NULL before the first snapshot */
	struct xgw_snapref *prepared; /* XGW_CTL_PREPARE'd, waiting for COMMIT or ABORT */
	uint64_t snap_seq;
	/* Fault injection for tests (XGW_FAILPOINT_SNAPSHOT_REJECT): refuse
	 * snapshots that serve this hostname; NULL: off. */
	const char *failpoint_reject_host;
	struct xgw_tls_cache *tls_cache;       /* TLS contexts by certificate digest (tls.c) */
	struct xgw_upstls_cache *upstls_cache; /* backend TLS client contexts (upstls.c) */

	struct xgw_conn *conns; /* every client connection (for drain) */
	uint32_t n_conns;
	struct xgw_conn *dead_conns; /* closed during this epoll batch, freed after it */
	struct xgw_upconn *dead_ups;
	struct xgw_conn *free_conns;
	uint32_t n_free_conns;
	struct xgw_buf *free_bufs;
	uint32_t n_free_bufs;

	struct xgw_h2 *h2s; /* HTTP/2 sessions */
	uint32_t n_h2;
	struct xgw_h2 *h2_dirty; /* sessions with frames to send or streams to run */
	struct xgw_h2 *dead_h2;	 /* closed during this batch, freed after it */

	struct xgw_h2up *h2ups; /* HTTP/2 connections to backends (h2up.c) */
	uint32_t n_h2up;
	struct xgw_h2up *h2up_dirty;   /* with frames to send */
	struct xgw_h2up *dead_h2up;    /* closed during this batch, freed after it */
	struct xgw_upconn **h2up_runq; /* exchanges their frames woke */
	uint32_t h2up_nrun, h2up_caprun;

	struct xgw_mirror *mirrors; /* mirrored requests in flight */
	uint32_t n_mirrors;
	struct xgw_mirror *dead_mirrors;
	struct xgw_mirror *free_mirrors;

	struct xgw_udp *udp; /* UDP listeners' sockets and sessions (udp.c); NULL: none */

	struct xgw_pool **pools; /* hash of upstream pools by endpoint, chained */
	uint32_t pool_mask;
	uint32_t n_pools;
	uint32_t n_ejected; /* pools ejected (or whose ejection has not been seen to end) */

	uint64_t stats[XGW_WSTAT__MAX];
	struct xgw_rstats *rstats; /* responses per route (rstats.h) */

	bool draining;
	bool accept_paused;
	uint64_t drain_deadline;
	uint64_t accept_resume;

	/* Scratch for the head being parsed: its views are used before the next parse. */
	struct xgw_h1_request req;
	struct xgw_h1_response resp;
};

#endif /* XGW_LOOP_T_H */
