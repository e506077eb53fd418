/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Local routes for Gateway addresses. sk_lookup runs only for destinations
 * that route as local, so every programmed Gateway address gets
 * `local ADDR/32 dev lo table local proto <xgw>`; the agent tags them with
 * its own route protocol number, so that it removes only routes it made.
 */
#ifndef XGW_AGENT_NETLINK_H
#define XGW_AGENT_NETLINK_H

#include <stddef.h>
#include <stdint.h>

#define XGW_RTPROT 0xc7 /* rtm_protocol of xgw's routes ("199" in `ip route`) */

struct xgw_addr_ref {
	uint8_t family;
	uint8_t addr[16];
};

/*
 * Make the set of xgw local routes in this network namespace equal to <want>:
 * add missing ones, delete ones no longer wanted. Returns 0 or -errno (after
 * logging the address that failed).
 */
int xgw_routes_sync(const struct xgw_addr_ref *want, size_t n);

#endif /* XGW_AGENT_NETLINK_H */
