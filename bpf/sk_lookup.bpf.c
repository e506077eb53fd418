// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * sk_lookup in the node's network namespace: a new flow to (Gateway address,
 * port, protocol) that has a listener goes to one L7 worker's socket from
 * xgw_workers, chosen by a hash of the remote address and port so that every
 * packet of a flow (every UDP datagram in particular) reaches the same worker.
 * Anything else, and any failure, falls back to the normal socket lookup:
 * the program never drops.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xgw/abi/maps.h"
#include "lib/hash.bpf.h"
#include "lib/maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* From linux/socket.h, which does not compile for BPF. */
#define XGW_AF_INET 2
#define XGW_AF_INET6 10

/* Fills <key> from the local side of <ctx>; -1 for a family we do not serve. */
static __always_inline int listener_key(const struct bpf_sk_lookup *ctx,
					struct xgw_listener_key *key)
{
	if (ctx->family == XGW_AF_INET) {
		__u32 ip4 = ctx->local_ip4;

		key->ip.family = XGW_FAMILY_IPV4;
		__builtin_memcpy(key->ip.addr, &ip4, sizeof(ip4));
	} else if (ctx->family == XGW_AF_INET6) {
		__u32 ip6[4] = { ctx->local_ip6[0], ctx->local_ip6[1], ctx->local_ip6[2],
				 ctx->local_ip6[3] };

		key->ip.family = XGW_FAMILY_IPV6;
		__builtin_memcpy(key->ip.addr, ip6, sizeof(ip6));
	} else {
		return -1;
	}
	/* local_port is host order in bpf_sk_lookup; the key is network order. */
	key->port = bpf_htons((__u16)ctx->local_port);
	key->proto = ctx->protocol;
	return 0;
}

static __always_inline __u32 flow_hash(const struct bpf_sk_lookup *ctx)
{
	__u32 port = ctx->remote_port;

	if (ctx->family == XGW_AF_INET)
		return xgw_jhash_3words(ctx->remote_ip4, port, 0, 0);
	return xgw_jhash_3words(
		ctx->remote_ip6[3], port,
		xgw_jhash_3words(ctx->remote_ip6[0], ctx->remote_ip6[1], ctx->remote_ip6[2], 0), 0);
}

/*
 * The xgw_workers key of the flow's worker, or -1 when there is none. Both
 * counts are read and fenced before choosing: otherwise clang turns the choice
 * into arithmetic on the map value pointer, which the verifier refuses to
 * loaders without CAP_PERFMON.
 */
static __always_inline __s64 worker_slot(const struct bpf_sk_lookup *ctx)
{
	const struct xgw_config *cfg;
	__u32 zero = 0, tcp_n, udp_n, n, base;

	cfg = bpf_map_lookup_elem(&xgw_config, &zero);
	if (!cfg)
		return -1;
	tcp_n = cfg->tcp_workers;
	udp_n = cfg->udp_workers;
	barrier_var(tcp_n);
	barrier_var(udp_n);
	if (ctx->protocol == IPPROTO_TCP) {
		n = tcp_n;
		base = XGW_SOCK_TCP_BASE;
	} else {
		n = udp_n;
		base = XGW_SOCK_UDP_BASE;
	}
	if (n == 0)
		return -1;
	if (n > XGW_MAX_WORKERS)
		n = XGW_MAX_WORKERS;
	return base + flow_hash(ctx) % n;
}

SEC("sk_lookup")
int xgw_sk_lookup(struct bpf_sk_lookup *ctx)
{
	struct xgw_listener_key key = {};
	struct bpf_sock *sk;
	__s64 slot;
	__u32 idx;

	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return SK_PASS;
	if (listener_key(ctx, &key) < 0)
		return SK_PASS;
	if (!bpf_map_lookup_elem(&xgw_listeners, &key))
		return SK_PASS;
	slot = worker_slot(ctx);
	if (slot < 0)
		return SK_PASS;
	idx = slot;
	sk = bpf_map_lookup_elem(&xgw_workers, &idx);
	if (!sk)
		return SK_PASS;
	/* On failure (wrong family or protocol) the normal lookup still runs. */
	bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_NO_REUSEPORT);
	bpf_sk_release(sk);
	return SK_PASS;
}
