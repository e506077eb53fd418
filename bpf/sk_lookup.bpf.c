// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("sk_lookup") int placeholder(struct bpf_sk_lookup *ctx) { return SK_PASS; }
char LICENSE[] SEC("license") = "Dual BSD/GPL";
