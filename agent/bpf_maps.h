/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Loading, attaching and feeding the BPF programs: XDP on the uplinks (through
 * libxdp), sk_lookup on the network namespace (pinned link), and the maps
 * they share, pinned with BTF under the pin directory.
 */
#ifndef XGW_AGENT_BPF_MAPS_H
#define XGW_AGENT_BPF_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile.h"

struct xgw_bpf;

enum xgw_xdp_mode {
	XGW_XDP_AUTO = 0, /* native, else generic (skb) */
	XGW_XDP_NATIVE,
	XGW_XDP_SKB,
};

struct xgw_bpf_opts {
	const char *pin_dir;	   /* XGW_PIN_DIR unless given */
	const char *const *ifaces; /* XDP on each; may be empty (sk_lookup alone) */
	size_t n_ifaces;
	enum xgw_xdp_mode xdp_mode;
	/* L4 tier, fixed at load time (0: the default) */
	uint32_t ring_size;	  /* Maglev table size, a prime (XGW_RING_SIZE) */
	uint32_t flow_table_size; /* LRU flow table entries (XGW_FLOW_TABLE_SIZE) */
	uint32_t encap;		  /* enum xgw_encap */
	uint16_t gue_port;	  /* XGW_GUE_PORT */
	uint32_t encap_mtu;	  /* largest outer IP packet (1500) */
	bool udp_3tuple;	  /* UDP flows hash without the client port */
	uint32_t icmp;		  /* enum xgw_icmp_mode */
	uint32_t syn_rate; /* SYN cookies above this many SYNs/s per listener and CPU; 0: off */
};

/*
 * Load both programs with maps pinned under <opts->pin_dir> (reused when
 * already pinned, so that a restarted agent keeps its maps), attach
 * sk_lookup to the current network namespace (replacing the program of an
 * existing pinned link in place) and XDP to every interface. Returns 0 and
 * *<out>, or -errno after logging what failed.
 */
int xgw_bpf__open(const struct xgw_bpf_opts *opts, struct xgw_bpf **out);

/*
 * Detach and unpin everything when <unpin>; otherwise leave programs attached
 * and maps pinned for a later agent. NULL is fine.
 */
void xgw_bpf__close(struct xgw_bpf *b, bool unpin);

/* Put listening socket <fd> of worker <idx> into the SOCKMAP. */
int xgw_bpf_set_worker_sock(struct xgw_bpf *b, unsigned idx, int fd);
/* Put UDP socket <fd> of worker <idx> into the SOCKMAP (XGW_SOCK_UDP_BASE + idx). */
int xgw_bpf_set_worker_udp_sock(struct xgw_bpf *b, unsigned idx, int fd);
/* Tell sk_lookup how many TCP and UDP worker sockets there are. */
/* Worker <idx>'s SOCKMAP slots, emptied (a retired worker). */
void xgw_bpf_clear_worker(struct xgw_bpf *b, unsigned idx);
int xgw_bpf_set_workers(struct xgw_bpf *b, unsigned tcp_workers, unsigned udp_workers);

/*
 * Make xgw_listeners and xgw_addrs equal to <ls>: new listeners before their
 * addresses, stale addresses before their listeners, so that XDP never sees
 * a Gateway address without its listeners. Returns 0 or -errno.
 */
int xgw_bpf_sync_listeners(struct xgw_bpf *b, const struct xgw_bpf_listener *ls, size_t n);

/* A node of the L4 tier, as the XgwNode objects describe it. */
struct xgw_bpf_node {
	const char *name;
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
	uint32_t weight;
	bool healthy;
};

/*
 * Program the L4 tier from <nodes> for this node, <self> (a node name, or
 * NULL): node ids (stable while a node's address stays), the Maglev ring over
 * the healthy nodes with a weight, and xgw_l4cfg. Without XDP, without
 * <self>, or when <self> is not among <nodes>, the tier is off (single-node
 * mode). A ring that changed goes to a free slot and the one it replaces is
 * kept as the previous ring for second chance; listeners are switched to
 * them by the next xgw_bpf_sync_listeners(), which the caller must make, so
 * that no listener ever points at a ring not completely written. Returns 0,
 * 1 when listeners need that rewrite, or -errno (the previous state keeps
 * serving).
 */
int xgw_bpf_sync_nodes(struct xgw_bpf *b, const struct xgw_bpf_node *nodes, size_t n,
		       const char *self);

/*
 * The neighbour-table watch: an fd to poll for reading (-1 without XDP or
 * when the watch could not be opened), and what to call when it is
 * readable: the next hops in xgw_nexthops follow their neighbours' MAC
 * changes without waiting for a reconcile, and a neighbour deleted or
 * failed is resolved again.
 */
int xgw_bpf_neigh_fd(const struct xgw_bpf *b);
void xgw_bpf_neigh_changed(struct xgw_bpf *b);

/* The L4 tier's state, for logs: enabled, this node's id, ring slots. */
struct xgw_bpf_l4_state {
	bool enabled;
	uint32_t self, ring, prev_ring, ring_size;
	uint32_t n_nodes, n_in_ring;
};
void xgw_bpf_l4_state(const struct xgw_bpf *b, struct xgw_bpf_l4_state *st);

#endif /* XGW_AGENT_BPF_MAPS_H */
