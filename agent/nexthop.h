/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The L2 next hop towards an address, from the kernel's routing and
 * neighbour tables (rtnetlink), for the frames that XDP encapsulates and
 * sends with XDP_TX: they bypass the stack, so nobody else resolves it.
 */
#ifndef XGW_AGENT_NEXTHOP_H
#define XGW_AGENT_NEXTHOP_H

#include <stdint.h>

/*
 * The MAC address that a packet to <addr> (<family> 4 or 6) leaving by
 * interface <ifindex> goes to: the neighbour entry of the route's gateway, or
 * of <addr> itself when it is on the link. Returns 0 and fills <mac>;
 * -ENETUNREACH when the route leaves by another interface; -ENOENT when the
 * neighbour is not resolved (yet); or another -errno.
 */
int xgw_nexthop_mac(int ifindex, uint8_t family, const uint8_t addr[16], uint8_t mac[6]);

#endif /* XGW_AGENT_NEXTHOP_H */
