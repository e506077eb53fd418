/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A worker's responses per route ("namespace/name" of the HTTPRoute or
 * GRPCRoute whose rule answered), by status class, for the whole life of the
 * worker: snapshots come and go, a route's counters stay. Requests that no
 * route matched are not in here (the worker's own counters have them).
 *
 * The agent gets them as a memfd beside each XGW_CTL_STATS reply, one line a
 * route: "<name> <1xx> <2xx> <3xx> <4xx> <5xx>\n" (include/xgw/ctl.h).
 */
#ifndef XGW_USER_RSTATS_H
#define XGW_USER_RSTATS_H

#include <stddef.h>
#include <stdint.h>

#define XGW_RSTAT_CLASSES 5 /* 1xx .. 5xx */

struct xgw_rstats;

struct xgw_rstats *xgw_rstats__new(void);
void xgw_rstats__free(struct xgw_rstats *t);

/* The XGW_RSTAT_CLASSES counters of route <name> (<len> bytes), made on first use; NULL: no memory. */
uint64_t *xgw_rstats_get(struct xgw_rstats *t, const char *name, size_t len);

/* Count a response of <status> (100..599; others are not counted) in <ctr>. */
static inline void xgw_rstats_count(uint64_t *ctr, int status)
{
	if (status >= 100 && status <= 599)
		ctr[status / 100 - 1]++;
}

/*
 * A sealed memfd holding the lines of every route counted so far, or -1
 * when nothing was counted since the last one (the agent keeps what it
 * has), or -errno.
 */
int xgw_rstats_memfd(struct xgw_rstats *t);

#endif /* XGW_USER_RSTATS_H */
