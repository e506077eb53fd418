/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The maps both BPF objects share. Every object that includes this header
 * declares all of them with identical definitions and LIBBPF_PIN_BY_NAME, so
 * that whichever object the loader opens first creates the maps under its
 * pin_root_path (XGW_PIN_DIR) and the other reuses them. Keys and values come
 * from include/xgw/abi/maps.h, the single definition of the ABI.
 */
#ifndef XGW_BPF_MAPS_BPF_H
#define XGW_BPF_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xgw/abi/maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct xgw_ip);
	__type(value, struct xgw_addr_val);
	__uint(max_entries, XGW_MAX_ADDRS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct xgw_listener_key);
	__type(value, struct xgw_listener_val);
	__uint(max_entries, XGW_MAX_LISTENERS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xgw_lstats_val);
	__uint(max_entries, XGW_MAX_LISTENERS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_lstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, XGW_STAT__MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_stats SEC(".maps");

/* Values are socket fds on update and socket cookies on lookup (8 bytes). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, XGW_SOCKMAP_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_workers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct xgw_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xgw_config SEC(".maps");

#endif /* XGW_BPF_MAPS_BPF_H */
