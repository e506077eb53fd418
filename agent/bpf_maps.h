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
/* Tell sk_lookup how many TCP worker sockets there are. */
int xgw_bpf_set_workers(struct xgw_bpf *b, unsigned tcp_workers);

/*
 * Make xgw_listeners and xgw_addrs equal to <ls>: new listeners before their
 * addresses, stale addresses before their listeners, so that XDP never sees
 * a Gateway address without its listeners. Returns 0 or -errno.
 */
int xgw_bpf_sync_listeners(struct xgw_bpf *b, const struct xgw_bpf_listener *ls, size_t n);

#endif /* XGW_AGENT_BPF_MAPS_H */
