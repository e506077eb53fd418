/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Types of the worker's router: lookup tables built over one snapshot. */
#ifndef XGW_ROUTER_T_H
#define XGW_ROUTER_T_H

#include <stdint.h>

#include "xgw/snapshot.h"

/*
 * What a request resolves to. The non-zero values are the HTTP status the
 * gateway answers with.
 */
enum xgw_route_verdict {
	XGW_ROUTE_OK = 0,
	XGW_ROUTE_NOT_FOUND = 404,   /* no listener, vhost or match */
	XGW_ROUTE_NO_BACKEND = 500,  /* rule without usable backend (weights 0, unresolved) */
	XGW_ROUTE_NO_ENDPOINT = 503, /* the chosen Service has no ready endpoint */
};

/* An open-addressing slot of the listener table. */
struct xgw_rt_lslot {
	uint32_t hash;
	uint32_t listener; /* XGW_SNAP_NONE: empty */
};

/*
 * An open-addressing slot of the host table. Exact names and wildcard
 * suffixes of every listener share one table; a wildcard "*.example.com" is
 * keyed by "example.com" with <wild> set, so that a host is matched against
 * its suffixes, longest first, with one probe per label.
 */
struct xgw_rt_hslot {
	uint32_t hash;
	uint32_t vhost; /* XGW_SNAP_NONE: empty */
	uint32_t listener;
	uint32_t key_off; /* the key: snapshot string bytes [key_off, key_off + key_len) */
	uint16_t key_len;
	uint8_t wild;
	uint8_t pad;
};

struct xgw_router {
	const struct xgw_snapshot *snap; /* not owned; must outlive the router */
	struct xgw_rt_lslot *ltab;
	uint32_t lmask;
	struct xgw_rt_hslot *htab;
	uint32_t hmask;
	uint32_t *any_vhost; /* per listener: its empty-hostname vhost, or XGW_SNAP_NONE */
	int64_t *swrr;	     /* per backend: smooth weighted round robin current weight */
	uint32_t *rr;	     /* per cluster: next endpoint offset */
};

#endif /* XGW_ROUTER_T_H */
