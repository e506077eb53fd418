// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_upgrade.h"
#include "flow_token.h"
#include "xgw/log.h"

/* The layouts before flow tokens. */
struct v1_listener_val {
	__u32 id, flags, ring, prev_ring;
};

struct v1_flow_key {
	__u8 src[16], dst[16];
	__be16 sport, dport;
	__u8 proto, family, pad[2];
};

_Static_assert(sizeof(struct v1_listener_val) == 16, "v1 listener value");
_Static_assert(sizeof(struct v1_flow_key) == 40, "v1 flow key");

/* The pinned map <name> when its key and value have these sizes, else -1. */
static int open_old(const char *pin_dir, const char *name, __u32 key_size, __u32 value_size,
		    char *path, size_t len, __u32 *max_entries)
{
	struct bpf_map_info info = { 0 };
	__u32 ilen = sizeof(info);
	int fd;

	snprintf(path, len, "%s/%s", pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) || info.key_size != key_size ||
	    info.value_size != value_size) {
		close(fd);
		return -1;
	}
	*max_entries = info.max_entries;
	return fd;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct xgw_listener_key));
}

/* The old listeners of <fd>, sorted by key, with tokens. */
static int take_listeners(int fd, __u32 max, struct xgw_bpf_upgrade *u)
{
	struct xgw_listener_key *prev = NULL;
	uint32_t *tok;
	size_t n = 0;

	u->keys = calloc((size_t)max + 1, sizeof(*u->keys));
	if (!u->keys)
		return -ENOMEM;
	while (n < max && !bpf_map_get_next_key(fd, prev, &u->keys[n]))
		prev = &u->keys[n++];
	qsort(u->keys, n, sizeof(*u->keys), key_cmp);
	u->vals = calloc(n + 1, sizeof(*u->vals));
	tok = calloc(n + 1, sizeof(*tok));
	if (!u->vals || !tok || xgw_flow_tokens_assign(u->keys, tok, n)) {
		free(tok);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct v1_listener_val v;

		if (bpf_map_lookup_elem(fd, &u->keys[i], &v)) {
			free(tok);
			return -errno;
		}
		u->vals[i] = (struct xgw_listener_val){ .id = v.id,
							.flags = v.flags,
							.ring = v.ring,
							.prev_ring = v.prev_ring,
							.flow_token = tok[i] };
	}
	u->n = n;
	free(tok);
	return 0;
}

int xgw_bpf_upgrade_take(const char *pin_dir, struct xgw_bpf_upgrade *u)
{
	char path[320];
	__u32 max;
	int fd, err = 0;

	memset(u, 0, sizeof(*u));
	u->fd_flows = -1;
	fd = open_old(pin_dir, XGW_MAP_LISTENERS, sizeof(struct xgw_listener_key),
		      sizeof(struct v1_listener_val), path, sizeof(path), &max);
	if (fd >= 0) {
		err = take_listeners(fd, max, u);
		close(fd);
		if (err) {
			log_err("upgrade: reading %s of an older agent: %s", path, strerror(-err));
			return err;
		}
		if (unlink(path)) {
			err = -errno;
			log_err("upgrade: unpinning %s: %s", path, strerror(-err));
			return err;
		}
		log_info("upgrade: %s of an older agent (no flow tokens): %zu listeners to carry "
			 "over",
			 path, u->n);
	}
	u->fd_flows = open_old(pin_dir, XGW_MAP_FLOWS, sizeof(struct v1_flow_key),
			       sizeof(struct xgw_flow_val), path, sizeof(path), &max);
	if (u->fd_flows >= 0 && unlink(path)) {
		err = -errno;
		log_err("upgrade: unpinning %s: %s", path, strerror(-err));
		return err;
	}
	return 0;
}

int xgw_bpf_upgrade_listeners(const struct xgw_bpf_upgrade *u, int fd)
{
	for (size_t i = 0; i < u->n; i++)
		if (bpf_map_update_elem(fd, &u->keys[i], &u->vals[i], BPF_ANY)) {
			int err = -errno;

			log_err("upgrade: writing listener %zu of %zu: %s", i + 1, u->n,
				strerror(-err));
			return err;
		}
	if (u->n)
		log_info("upgrade: %zu listeners carried over, with flow tokens", u->n);
	return 0;
}

void xgw_bpf_upgrade_flows(struct xgw_bpf_upgrade *u, int fd, bool last)
{
	struct bpf_map_info info = { 0 };
	__u32 ilen = sizeof(info);
	struct v1_flow_key k, *prev = NULL;
	size_t copied = 0, orphans = 0, failed = 0;

	if (u->fd_flows < 0 || fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(u->fd_flows, &info, &ilen))
		info.max_entries = 0;
	for (__u32 i = 0; i < info.max_entries && !bpf_map_get_next_key(u->fd_flows, prev, &k);
	     i++) {
		struct xgw_listener_key lk = { .ip.family = k.family,
					       .port = k.dport,
					       .proto = k.proto };
		struct xgw_flow_key nk = { .sport = k.sport };
		const struct xgw_listener_key *at;
		struct xgw_flow_val v;

		prev = &k;
		memcpy(lk.ip.addr, k.dst, sizeof(k.dst));
		at = u->n ? bsearch(&lk, u->keys, u->n, sizeof(*u->keys), key_cmp) : NULL;
		if (!at) {
			orphans++; /* its listener is gone: the flow ends with it */
			continue;
		}
		memcpy(nk.src, k.src, sizeof(k.src));
		nk.listener = u->vals[at - u->keys].flow_token;
		if (bpf_map_lookup_elem(u->fd_flows, &k, &v) ||
		    bpf_map_update_elem(fd, &nk, &v, BPF_ANY))
			failed++;
		else
			copied++;
	}
	log_info("upgrade: %zu flows of an older agent carried over %s (%zu without a listener "
		 "left out, %zu failed)",
		 copied, last ? "after its program was replaced" : "before its program is replaced",
		 orphans, failed);
	if (last) {
		close(u->fd_flows);
		u->fd_flows = -1;
	}
}

void xgw_bpf_upgrade_free(struct xgw_bpf_upgrade *u)
{
	if (u->fd_flows >= 0)
		close(u->fd_flows);
	u->fd_flows = -1;
	free(u->keys);
	free(u->vals);
	u->keys = NULL;
	u->vals = NULL;
	u->n = 0;
}
