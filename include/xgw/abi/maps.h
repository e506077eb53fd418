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
/* The L4 tier (multi-node): xdp_lb only. */
#define XGW_MAP_L4CFG "xgw_l4cfg"
#define XGW_MAP_NODES "xgw_nodes"
#define XGW_MAP_RINGS "xgw_rings"
#define XGW_MAP_FLOWS "xgw_flows"
#define XGW_MAP_NEXTHOPS "xgw_nexthops"
#define XGW_MAP_NH_DIRECT "xgw_nh_direct"
#define XGW_MAP_SYNRATE "xgw_synrate"

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
/* Nodes of the L4 tier: ids index xgw_nodes and fill the Maglev rings. */
#ifndef XGW_MAX_NODES
#define XGW_MAX_NODES 256
#endif
/* Maglev table size: a prime; the agent may set another prime at load time. */
#ifndef XGW_RING_SIZE
#define XGW_RING_SIZE 65537
#endif
/*
 * Ring slots in xgw_rings (each XGW_RING_SIZE entries). A listener points at
 * its current ring and at the previous one (second chance); listeners with
 * the same node set share a slot, so two or three slots are in use at a time.
 */
#ifndef XGW_MAX_RINGS
#define XGW_MAX_RINGS 8
#endif
/* Flow table entries (LRU, per-CPU lists); the agent may resize it at load time. */
#ifndef XGW_FLOW_TABLE_SIZE
#define XGW_FLOW_TABLE_SIZE 262144
#endif
#ifndef XGW_MAX_NEXTHOPS
#define XGW_MAX_NEXTHOPS 64
#endif
/* Interfaces with an ifindex below this have their next hop in xgw_nh_direct. */
#define XGW_NH_DIRECT 4096
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
 * Address bytes sit at 4-byte offsets in every key and value, and say so:
 * both compilers then copy and compare them a 32-bit word at a time, where
 * byte arrays alone would make clang's BPF backend (which has no unaligned
 * access) move them a byte or half-word at a time. The layout is unchanged.
 */
#define XGW_ADDR_ALIGNED __attribute__((aligned(4)))

/*
 * An IP address as the key of xgw_addrs and part of xgw_listeners' key.
 * IPv4 occupies addr[0..3] and the other twelve bytes are zero.
 */
struct xgw_ip {
	__u8 addr[16] XGW_ADDR_ALIGNED; /* network byte order */
	__u8 family;			/* enum xgw_family */
	__u8 pad[3];			/* zero */
};
_Static_assert(sizeof(struct xgw_ip) == 20, "xgw_ip is 20 bytes");
_Static_assert(_Alignof(struct xgw_ip) == 4, "xgw_ip is word-aligned");

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
	__u32 id;	 /* listener index: the key of xgw_lstats, the snapshot's listener id */
	__u32 flags;	 /* enum xgw_listener_flags */
	__u32 ring;	 /* multi-node: slot of the current Maglev ring in xgw_rings */
	__u32 prev_ring; /* multi-node: slot of the ring before it (== ring: none) */
	/*
	 * The listener in its flows' keys (struct xgw_flow_key.listener): never
	 * 0, unique among this node's listeners, and kept while the listener
	 * lives, across configuration changes and agent restarts, which id is
	 * not. The agent derives it from a hash of the key, so that a listener
	 * removed and added again finds its flows.
	 */
	__u32 flow_token;
};
_Static_assert(sizeof(struct xgw_listener_val) == 20, "xgw_listener_val is 20 bytes");

enum xgw_listener_flags {
	XGW_LISTENER_F_NONE = 0,
	XGW_LISTENER_F_RING = 1 << 0, /* ring/prev_ring are valid (multi-node mode) */
	/*
	 * Removed from the configuration, draining: packets of established
	 * flows still pass (the workers finish their requests), new TCP
	 * connections (SYN without ACK) are dropped as if it were gone. Not
	 * counted in xgw_lstats: its id may be a new listener's already.
	 */
	XGW_LISTENER_F_DRAINING = 1 << 1,
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
	/* The L4 tier (multi-node mode). */
	XGW_STAT_TX_REMOTE = 8,	       /* owned by another node: encapsulated, XDP_TX */
	XGW_STAT_TX_SECOND_CHANCE = 9, /* non-SYN without a local socket: to the previous owner */
	XGW_STAT_PASS_DECAP = 10,      /* encapsulated by another node: decapsulated, passed */
	XGW_STAT_DROP_TOO_BIG = 11,    /* too big once encapsulated, no ICMP: IPv4 without DF... */
	XGW_STAT_DROP_ENCAP = 12,      /* encapsulation or decapsulation failed (headroom...) */
	XGW_STAT_PASS_LOCAL_ONLY = 13, /* listener packet kept local: fragment, VLAN, no node */
	XGW_STAT_TX_ICMP_ECHO = 14,    /* ICMP echo to a Gateway address answered in XDP */
	XGW_STAT_TX_SYNCOOKIE = 15,    /* SYN above the listener's rate: SYN-ACK with a cookie */
	XGW_STAT_TX_ICMP_TOO_BIG = 16, /* too big once encapsulated: ICMP(v6) "too big" sent back */
	XGW_STAT_DROP_DRAINING = 17,   /* a new TCP connection to a listener being removed */
	XGW_STAT__MAX = 18,
};

/*
 * xgw_l4cfg: array with one entry, the L4 tier's run-time state. flags == 0
 * is single-node mode: every listener packet is local and no ring is read.
 */
struct xgw_l4_config {
	__u32 flags;		 /* enum xgw_l4_flags */
	__u32 self;		 /* this node's id in xgw_nodes */
	struct xgw_ip self_addr; /* outer source of encapsulated packets; decap target */
};
_Static_assert(sizeof(struct xgw_l4_config) == 28, "xgw_l4_config is 28 bytes");

enum xgw_l4_flags {
	XGW_L4_F_ENABLED = 1 << 0, /* multi-node: rings, flow table, encap/decap */
};

/* xgw_nodes: array indexed by node id. */
struct xgw_node_val {
	struct xgw_ip addr; /* underlay address: outer destination */
	__u32 flags;	    /* enum xgw_node_flags */
};
_Static_assert(sizeof(struct xgw_node_val) == 24, "xgw_node_val is 24 bytes");

enum xgw_node_flags {
	XGW_NODE_F_PRESENT = 1 << 0,
};

/*
 * xgw_rings: array of XGW_MAX_RINGS * ring size __u32 node ids; slot s of
 * ring r is entry r * ring_size + s. Written by the agent only.
 *
 * xgw_flows: LRU hash, flow -> owner, written by XDP on a flow's first packet
 * so that the flow keeps its node when the ring changes. The key names the
 * flow within its listener: the client's address and port, and the
 * listener's flow token for the Gateway address, port and protocol, so that
 * it is 24 bytes (one round of the map's jhash) rather than the 40 of the
 * whole 5-tuple (three). Agents before the token used that 40-byte key; the
 * agent converts their pinned flows (agent/bpf_upgrade.c).
 */
struct xgw_flow_key {
	__u8 src[16] XGW_ADDR_ALIGNED; /* client address, network order (IPv4 in src[0..3]) */
	__be16 sport;		       /* network order; 0 for UDP in 3-tuple mode */
	__u16 pad;		       /* zero */
	__u32 listener;		       /* xgw_listener_val.flow_token of the flow's listener */
};
_Static_assert(sizeof(struct xgw_flow_key) == 24, "xgw_flow_key is 24 bytes");
_Static_assert(_Alignof(struct xgw_flow_key) == 4, "xgw_flow_key is word-aligned");

struct xgw_flow_val {
	__u32 node; /* owner's node id */
	/*
	 * The flow's encapsulation entropy (IPv6 outer flow label, GUE source
	 * port), recorded when the flow goes to another node and the
	 * encapsulation uses it, so that its packets need no hash; 0: none
	 * recorded (computed per packet).
	 */
	__u32 entropy;
};
_Static_assert(sizeof(struct xgw_flow_val) == 8, "xgw_flow_val is 8 bytes");

/*
 * The L2 next hop that XDP_TX'd encapsulated packets leaving an interface are
 * addressed to. Without one, the frame goes back to the MAC it came from (the
 * router that delivered it, which routes between the nodes). An interface's
 * entry is in
 * - xgw_nh_direct: array indexed by ifindex, for ifindex < XGW_NH_DIRECT (an
 *   array lookup is inlined by the verifier; a hash lookup hashes and walks a
 *   bucket); an entry without XGW_NEXTHOP_F_SET is none;
 * - xgw_nexthops: hash, ifindex (__u32) ->, for the larger ifindexes.
 */
struct xgw_nexthop {
	__u8 mac[6]; /* destination MAC */
	__u8 flags;  /* enum xgw_nexthop_flags */
	__u8 pad;    /* zero */
};
_Static_assert(sizeof(struct xgw_nexthop) == 8, "xgw_nexthop is 8 bytes");

enum xgw_nexthop_flags {
	XGW_NEXTHOP_F_SET = 1 << 0, /* the entry holds a next hop */
};

/*
 * xgw_synrate: per-CPU array indexed by listener id, the SYN-flood guard's
 * window: SYNs counted per second and CPU; above the load-time rate the XDP
 * program answers with a SYN cookie itself.
 */
struct xgw_synrate {
	__u64 window_ns; /* bpf_ktime_get_ns() when the current one-second window began */
	__u64 syns;	 /* SYNs seen in it */
};
_Static_assert(sizeof(struct xgw_synrate) == 16, "xgw_synrate is 16 bytes");

/* Encapsulations, chosen at load time. */
enum xgw_encap {
	XGW_ENCAP_IPIP = 0, /* IPv4/IPv6 outer, protocol 4 (IPv4 inner) or 41 (IPv6 inner) */
	XGW_ENCAP_GUE = 1,  /* outer UDP to the GUE port, inner IP right after (GUE variant 1) */
};
#define XGW_GUE_PORT 6080 /* default GUE destination port */

/* What happens to ICMP echo requests to Gateway addresses; chosen at load time. */
enum xgw_icmp_mode {
	XGW_ICMP_PASS = 0,   /* to the stack, as for any local address */
	XGW_ICMP_ANSWER = 1, /* echo replies built in XDP (no node's stack involved) */
};

/* xgw_config: array with one entry, read by sk_lookup on every new flow. */
struct xgw_config {
	__u32 tcp_workers; /* TCP sockets at xgw_workers[0..tcp_workers) */
	__u32 udp_workers; /* UDP sockets at xgw_workers[XGW_SOCK_UDP_BASE..+udp_workers) */
};
_Static_assert(sizeof(struct xgw_config) == 8, "xgw_config is 8 bytes");

#endif /* XGW_ABI_MAPS_H */
