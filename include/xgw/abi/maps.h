/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The BPF <-> user-space ABI: pin paths, map names, keys and values.
 *
 * This header is the only definition of these types. It compiles under
 * clang -target bpf (with vmlinux-free <linux/types.h>) and under gcc for
 * the agent, xgwctl and the tests. Every field is fixed width; wire-order
 * fields are __be16/__be32; padding is explicit and must be zero, because
 * hash maps hash the padding too.
 */
#ifndef XGW_ABI_MAPS_H
#define XGW_ABI_MAPS_H

#include <linux/types.h>

/* Where the agent pins maps and links; bpffs must be mounted at /sys/fs/bpf. */
#define XGW_PIN_DIR "/sys/fs/bpf/xgw"

/* Map names (<= 15 characters so `bpftool map show name X` finds them). */
#define XGW_MAP_ADDRS "xgw_addrs"
#define XGW_MAP_LISTENERS "xgw_listeners"
#define XGW_MAP_LSTATS "xgw_lstats"
#define XGW_MAP_STATS "xgw_stats"
#define XGW_MAP_WORKERS "xgw_workers"
#define XGW_MAP_CONFIG "xgw_config"

/* Pinned links, so that programs stay attached when the agent exits. */
#define XGW_LINK_SK_LOOKUP "link_sk_lookup"

/* Map sizes; overridable so that tests can shrink them. */
#ifndef XGW_MAX_ADDRS
#define XGW_MAX_ADDRS 16384
#endif
#ifndef XGW_MAX_LISTENERS
#define XGW_MAX_LISTENERS 65536
#endif
/* Worker sockets: TCP listeners at [0, XGW_MAX_WORKERS), UDP after them. */
#ifndef XGW_MAX_WORKERS
#define XGW_MAX_WORKERS 256
#endif
#define XGW_SOCK_TCP_BASE 0
#define XGW_SOCK_UDP_BASE XGW_MAX_WORKERS
#define XGW_SOCKMAP_SIZE (2 * XGW_MAX_WORKERS)

/* Address families as stored in keys (not AF_*: the values are ours). */
enum xgw_family {
	XGW_FAMILY_NONE = 0,
	XGW_FAMILY_IPV4 = 4,
	XGW_FAMILY_IPV6 = 6,
};

/*
 * An IP address as the key of xgw_addrs and part of xgw_listeners' key.
 * IPv4 occupies addr[0..3] and the other twelve bytes are zero.
 */
struct xgw_ip {
	__u8 addr[16]; /* network byte order */
	__u8 family;   /* enum xgw_family */
	__u8 pad[3];   /* zero */
};
_Static_assert(sizeof(struct xgw_ip) == 20, "xgw_ip is 20 bytes");

/* xgw_addrs: every Gateway address this node serves. Key: struct xgw_ip. */
struct xgw_addr_val {
	__u32 flags;	 /* enum xgw_addr_flags */
	__u32 listeners; /* number of listeners on this address (informational) */
};
_Static_assert(sizeof(struct xgw_addr_val) == 8, "xgw_addr_val is 8 bytes");

enum xgw_addr_flags {
	XGW_ADDR_F_NONE = 0,
};

/* xgw_listeners: (Gateway address, port, L4 protocol) -> listener. */
struct xgw_listener_key {
	struct xgw_ip ip;
	__be16 port; /* network byte order */
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;    /* zero */
};
_Static_assert(sizeof(struct xgw_listener_key) == 24, "xgw_listener_key is 24 bytes");

struct xgw_listener_val {
	__u32 id;    /* listener index: the key of xgw_lstats, the snapshot's listener id */
	__u32 flags; /* enum xgw_listener_flags */
};
_Static_assert(sizeof(struct xgw_listener_val) == 8, "xgw_listener_val is 8 bytes");

enum xgw_listener_flags {
	XGW_LISTENER_F_NONE = 0,
};

/* xgw_lstats: per-CPU array indexed by listener id. */
struct xgw_lstats_val {
	__u64 packets; /* packets that matched this listener in XDP */
	__u64 bytes;   /* their bytes, from the Ethernet header on */
	__u64 syns;    /* TCP SYNs without ACK (new connections) */
};
_Static_assert(sizeof(struct xgw_lstats_val) == 24, "xgw_lstats_val is 24 bytes");

/*
 * xgw_stats: per-CPU array of __u64 packet counters indexed by this enum.
 * Every verdict the XDP program reaches is counted under exactly one entry.
 */
enum xgw_stat {
	XGW_STAT_PASS_NOT_IP = 0,      /* not IPv4/IPv6 (ARP, LLDP, ...): passed */
	XGW_STAT_PASS_FOREIGN = 1,     /* IP to an address that is no Gateway's: passed */
	XGW_STAT_PASS_LISTENER = 2,    /* to a Gateway listener: passed to the stack */
	XGW_STAT_PASS_OTHER_PROTO = 3, /* to a Gateway address, not TCP/UDP (ICMP...): passed */
	XGW_STAT_PASS_FRAGMENT = 4,    /* non-first IP fragment to a Gateway address: passed */
	XGW_STAT_DROP_NO_LISTENER = 5, /* to a Gateway address on a port with no listener */
	XGW_STAT_DROP_MALFORMED = 6,   /* to a Gateway address, truncated/invalid L3/L4 header */
	XGW_STAT_PASS_MALFORMED = 7,   /* truncated/invalid before the destination is known */
	XGW_STAT__MAX = 8,
};

/* xgw_config: array with one entry, read by sk_lookup on every new flow. */
struct xgw_config {
	__u32 tcp_workers; /* TCP sockets at xgw_workers[0..tcp_workers) */
	__u32 udp_workers; /* UDP sockets at xgw_workers[XGW_SOCK_UDP_BASE..+udp_workers) */
};
_Static_assert(sizeof(struct xgw_config) == 8, "xgw_config is 8 bytes");

#endif /* XGW_ABI_MAPS_H */
