/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The router: from (local address, Host, path) to a rule, and from a rule to
 * an endpoint. Built once per snapshot; lookups never allocate.
 */
#ifndef XGW_ROUTER_H
#define XGW_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router-t.h"

/*
 * Build the tables over <snap>, which must stay valid (and mapped) for the
 * router's lifetime, and compile its regular expressions, taking those of
 * <prev> (a router of the same thread, NULL for none) whose text is the
 * same; <prev> may be freed before or after. Returns the router, or NULL
 * with errno set: ENOMEM, or EINVAL when an expression does not compile or a
 * filter string holds bytes a header cannot (CR, LF, NUL).
 */
struct xgw_router *xgw_router__new(const struct xgw_snapshot *snap, const struct xgw_router *prev);
void xgw_router__free(struct xgw_router *r);

/*
 * The listener for local address (<family>, <addr>, <port>), falling back to a
 * listener on the unspecified address of that family and port. Returns its
 * index or XGW_SNAP_NONE.
 */
uint32_t xgw_router_listener(const struct xgw_router *r, uint8_t family, const uint8_t addr[16],
			     uint16_t port);
/*
 * The same among UDP listeners (a UDP and a TCP listener may share an address
 * and port; xgw_router_listener() never returns a UDP one).
 */
uint32_t xgw_router_udp_listener(const struct xgw_router *r, uint8_t family, const uint8_t addr[16],
				 uint16_t port);

/*
 * The vhost of <listener> for the Host value <host> (as received: any case,
 * optional ":port", optional trailing dot): exact name, else the wildcard
 * with the longest matching suffix, else the listener's any-host vhost.
 * Returns its index or XGW_SNAP_NONE.
 */
uint32_t xgw_router_vhost(const struct xgw_router *r, uint32_t listener, const char *host,
			  size_t host_len);

/*
 * The first match of <vhost>, in its precedence order, whose conditions all
 * hold for <q>: path (Exact, segment-wise PathPrefix, or a regular
 * expression over the whole path), method, headers (the first line of each
 * name), query parameters (the first occurrence, raw). Returns its index or
 * XGW_SNAP_NONE. Never allocates; a vhost of XGW_RT_INDEX_MIN matches or more
 * is looked up through its path index in about O(path length).
 */
uint32_t xgw_router_match(const struct xgw_router *r, uint32_t vhost, const struct xgw_rt_req *q);

/* Both of the above: the match for a request, or XGW_SNAP_NONE. */
uint32_t xgw_router_route(const struct xgw_router *r, uint32_t listener,
			  const struct xgw_rt_req *q);

/*
 * The same answer by walking every match of <vhost> in order, whatever its
 * size: what xgw_router_match() does for small vhosts, and the reference
 * its path index is tested against.
 */
uint32_t xgw_router_match_linear(const struct xgw_router *r, uint32_t vhost,
				 const struct xgw_rt_req *q);

/*
 * Choose a backend of <rule> by weight (smooth weighted round robin: over
 * total_weight picks each backend comes weight times, evenly spread). Returns
 * the backend index, or XGW_SNAP_NONE when the rule has no backend with a
 * weight (the request gets 500).
 */
uint32_t xgw_router_pick_backend(struct xgw_router *r, uint32_t rule);

/*
 * An endpoint of <cluster>, XGW_SNAP_NONE if it has none: round robin over
 * them, or for XGW_LB_LEAST_REQUEST clusters the less loaded of two drawn at
 * random (power of two choices: the load of the worst endpoints is bounded
 * without a global scan, and concurrent choosers do not herd onto one).
 */
uint32_t xgw_router_pick_endpoint(struct xgw_router *r, uint32_t cluster);

/*
 * The load of an endpoint (requests in flight) for least-request clusters,
 * and a seed for the draws. Without it every endpoint counts 0.
 */
void xgw_router_set_load(struct xgw_router *r,
			 uint32_t (*load)(void *ctx, const struct xgw_snap_endpoint *ep), void *ctx,
			 uint64_t seed);

/*
 * The whole decision for one request, filled in <out>. Returns XGW_ROUTE_OK
 * (backend and endpoint chosen), XGW_ROUTE_REDIRECT (out->redirect is the
 * filter that answers, of the rule or of the chosen backend), or the status
 * the gateway answers with.
 */
enum xgw_route_verdict xgw_router_decide(struct xgw_router *r, uint32_t listener,
					 const struct xgw_rt_req *q, struct xgw_route *out);

/* Segment-wise prefix or exact match of <path> against <pattern> (not regex). */
bool xgw_router_path_match(uint8_t path_type, const char *pattern, size_t pattern_len,
			   const char *path, size_t path_len);

/* Whether the mirror filter <filter> takes this request (its num/den fraction). */
bool xgw_router_mirror_take(struct xgw_router *r, uint32_t filter);

#endif /* XGW_ROUTER_H */
