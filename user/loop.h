/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The worker's event loop, timers, buffers and snapshot references. */
#ifndef XGW_LOOP_H
#define XGW_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "loop-t.h"

/* Durations (ms) of the timer kinds. */
#define XGW_HEADER_TIMEOUT_MS 30000
#define XGW_KEEPALIVE_TIMEOUT_MS 60000
#define XGW_RESPONSE_TIMEOUT_MS 60000
#define XGW_TUNNEL_TIMEOUT_MS 300000
#define XGW_LINGER_TIMEOUT_MS 2000
#define XGW_CONNECT_TIMEOUT_MS 5000
#define XGW_POOL_IDLE_TIMEOUT_MS 30000
#define XGW_DRAIN_TIMEOUT_MS 30000
#define XGW_MIRROR_TIMEOUT_MS 5000

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct xgw_worker_opts {
	uint32_t id;
	int ctl_fd;
	const int *listen_fds; /* listening TCP sockets, and UDP ones (told apart by type) */
	uint32_t n_listen_fds;
	uint32_t udp_idle_ms;	   /* 0: XGW_UDP_IDLE_TIMEOUT_MS */
	uint32_t udp_max_sessions; /* 0: XGW_UDP_MAX_SESSIONS */
};

/*
 * Set up <w>: epoll, signalfd, the control channel and listening sockets
 * (made non-blocking; the fds are owned by <w> from here on). Returns 0 or
 * -errno; xgw_worker_fini() cleans up after either.
 */
int xgw_worker_init(struct xgw_worker *w, const struct xgw_worker_opts *o);

/* Serve until drained (XGW_CTL_DRAIN, SIGTERM, SIGINT). Returns 0 or -errno. */
int xgw_worker_run(struct xgw_worker *w);

void xgw_worker_fini(struct xgw_worker *w);

/* Begin draining: stop accepting, close idle connections. Idempotent. */
void xgw_worker_drain(struct xgw_worker *w);

/* A buffer with start = end = 0, or NULL (ENOMEM). */
struct xgw_buf *xgw_buf_get(struct xgw_worker *w);
/* Give <b> back; NULL is accepted. */
void xgw_buf_put(struct xgw_worker *w, struct xgw_buf *b);

void xgw_snapref_put(struct xgw_worker *w, struct xgw_snapref *sr);

static inline struct xgw_snapref *xgw_snapref_get(struct xgw_snapref *sr)
{
	sr->refs++;
	return sr;
}

static inline void xgw_timer_disarm(struct xgw_timer *t)
{
	if (!t->next)
		return;
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->prev = t->next = NULL;
}

/* (Re)arm <t> as <kind>, expiring its duration from now. */
static inline void xgw_timer_arm(struct xgw_worker *w, struct xgw_timer *t,
				 enum xgw_timer_kind kind)
{
	struct xgw_tlist *l = &w->timers[kind];
	uint64_t deadline = w->now + l->dur_ms;

	/* Re-arming within the same loop iteration changes nothing: skip it. */
	if (t->next && t->kind == kind && t->deadline == deadline)
		return;
	xgw_timer_disarm(t);
	t->kind = (uint8_t)kind;
	t->deadline = deadline;
	t->prev = l->head.prev;
	t->next = &l->head;
	l->head.prev->next = t;
	l->head.prev = t;
}

/*
 * Make room in the deadline heap for <n> timers, so that arming never
 * allocates on a request's path. Returns 0 or -ENOMEM.
 */
int xgw_dtimer_reserve(struct xgw_worker *w, uint32_t n);

/*
 * (Re)arm <t> to expire <ms> from now. Without room in the heap (a failed
 * reserve) the timer stays disarmed: the fixed-duration timers still bound
 * the exchange.
 */
void xgw_dtimer_arm(struct xgw_worker *w, struct xgw_dtimer *t, uint32_t ms);
void xgw_dtimer_disarm(struct xgw_worker *w, struct xgw_dtimer *t);

#endif /* XGW_LOOP_H */
