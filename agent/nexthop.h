/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The L2 next hop towards an address, from the kernel's routing and
 * neighbour tables (rtnetlink), for the frames that XDP encapsulates and
 * sends with XDP_TX: they bypass the stack, so nobody else resolves it. And
 * a watch on the neighbour table, so that the next hop follows its changes.
 */
#ifndef XGW_AGENT_NEXTHOP_H
#define XGW_AGENT_NEXTHOP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The MAC address that a packet to <addr> (<family> 4 or 6) leaving by
 * interface <ifindex> goes to: the neighbour entry of the route's gateway, or
 * of <addr> itself when it is on the link. Returns 0 and fills <neigh> (that
 * neighbour's address, zero-padded to 16 bytes) and <mac>; -ENETUNREACH when
 * the route leaves by another interface (<neigh> untouched); -ENOENT when
 * the neighbour has no usable entry (<neigh> filled); or another -errno.
 */
int xgw_nexthop_mac(int ifindex, uint8_t family, const uint8_t addr[16], uint8_t neigh[16],
		    uint8_t mac[6]);

/* The MAC of neighbour <neigh> on <ifindex> alone: 0, -ENOENT or -errno. */
int xgw_nexthop_neigh_mac(int ifindex, uint8_t family, const uint8_t neigh[16], uint8_t mac[6]);

/*
 * Ask the kernel to resolve neighbour <neigh> on <ifindex> (ARP/NDP), as a
 * packet waiting for it would; the answer arrives as a neighbour event.
 * Only for a neighbour without a usable entry. Returns 0 or -errno.
 */
int xgw_nexthop_resolve(int ifindex, uint8_t family, const uint8_t neigh[16]);

enum xgw_neigh_kind {
	XGW_NEIGH_MAC,	   /* a usable entry: <mac> is valid */
	XGW_NEIGH_GONE,	   /* deleted (garbage-collected, flushed, link down) */
	XGW_NEIGH_FAILED,  /* resolution failed: nobody answers at that address */
	XGW_NEIGH_PENDING, /* being resolved, or no link-layer address */
};

struct xgw_neigh_event {
	enum xgw_neigh_kind kind;
	int ifindex;
	uint8_t family;	  /* 4 or 6 */
	uint8_t addr[16]; /* zero-padded */
	uint8_t mac[6];
	bool has_addr, has_mac;
};

/*
 * A non-blocking rtnetlink socket subscribed to neighbour changes
 * (RTNLGRP_NEIGH), to poll for reading. Returns the fd (the caller closes
 * it) or -errno.
 */
int xgw_nexthop_watch_open(void);

/*
 * Hand every IPv4/IPv6 neighbour event waiting on <fd> to <fn>, without
 * blocking. Returns 0; -ENOBUFS when the kernel dropped events (the caller
 * must look again at every neighbour it follows); or another -errno.
 */
int xgw_nexthop_watch_read(int fd, void (*fn)(const struct xgw_neigh_event *ev, void *arg),
			   void *arg);

#endif /* XGW_AGENT_NEXTHOP_H */
