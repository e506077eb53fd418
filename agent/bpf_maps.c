// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "bpf_maps.h"
#include "bpf_upgrade.h"
#include "flow_token.h"
#include "maglev.h"
#include "nexthop.h"
#include "xgw/abi/maps.h"
#include "xgw/log.h"
#include "sk_lookup.skel.h"
#include "xdp_lb.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

struct xdp_att {
	int ifindex;
	char name[IF_NAMESIZE];
	struct xdp_program *prog; /* NULL when attached by replace_xdp() */
	enum xdp_attach_mode mode;
	__u32 xdp_flags; /* replace_xdp(): XDP_FLAGS_*_MODE, for the detach */
	__u8 nh_mac[6];	 /* the next hop written for this interface, zero: none */
	/* The neighbour whose MAC that is (or is to be): followed by the watch. */
	bool nh_watch, nh_failed;
	__u8 nh_family; /* 4 or 6 */
	__u8 nh_addr[16];
};

struct xgw_bpf {
	char pin_dir[256];
	struct sk_lookup *skl;
	struct xdp_lb *xdp; /* opened only: libxdp loads it */
	struct bpf_link *skl_link;
	struct xdp_att *atts;
	size_t n_atts;
	int fd_addrs, fd_listeners, fd_workers, fd_config;
	/* The L4 tier: -1 without XDP. */
	int fd_l4cfg, fd_nodes, fd_rings, fd_nexthops, fd_nh_direct;
	int fd_neigh;  /* rtnetlink neighbour watch, -1: none */
	int fd_lstats; /* xgw_lstats, -1 without XDP */
	uint32_t ring_size;
	bool l4_enabled;
	uint32_t self, ring, prev_ring; /* this node's id; ring slots listeners use */
	uint32_t *table;		/* content of slot <ring>, ring_size entries */
	struct xgw_ip node_addr[XGW_MAX_NODES];
	bool node_used[XGW_MAX_NODES];
	uint32_t n_nodes, n_in_ring;
	struct xgw_bpf_upgrade upgrade; /* what an older agent's pins held */
};

static int check_bpffs(const char *pin_dir)
{
	char parent[256];
	struct statfs sfs;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	/* Like other BPF agents, mount the conventional bpffs when nobody has. */
	if (!strcmp(parent, "/sys/fs/bpf") &&
	    (statfs(parent, &sfs) || sfs.f_type != BPF_FS_MAGIC)) {
		if (mount("bpf", parent, "bpf", 0, "mode=0700"))
			log_warn("mount bpffs on %s: %s", parent, strerror(errno));
		else
			log_info("mounted bpffs on %s", parent);
	}
	if (statfs(parent, &sfs) || sfs.f_type != BPF_FS_MAGIC) {
		log_err("%s is not on a bpffs: mount one (mount -t bpf bpf /sys/fs/bpf); "
			"inside `ip netns exec` /sys is remounted, use `nsenter --net` or "
			"--netns instead",
			parent);
		return -ENOTSUP;
	}
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		int err = -errno;

		log_err("mkdir %s: %s", pin_dir, strerror(-err));
		return err;
	}
	return 0;
}

/*
 * xgw_stats grows when a verdict is added (enum xgw_stat), and libbpf refuses
 * to reuse a pinned map of another size, which would stop an agent upgraded
 * over the pins of an older one (--keep-bpf). The counters are the only
 * state in it: unpin the old map, and the programs loaded next create the
 * new one (the old program keeps its map until it is replaced).
 */
static void drop_stale_stats(const char *pin_dir)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[320];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, XGW_MAP_STATS);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.max_entries != XGW_STAT__MAX) {
		if (unlink(path))
			log_warn("%s: %u counters pinned, %u now; cannot unpin it: %s", path,
				 info.max_entries, XGW_STAT__MAX, strerror(errno));
		else
			log_info("%s: %u counters pinned, %u now: counters start again", path,
				 info.max_entries, XGW_STAT__MAX);
	}
	close(fd);
}

static int attach_sk_lookup(struct xgw_bpf *b)
{
	char path[320];
	int netns, err;

	snprintf(path, sizeof(path), "%s/%s", b->pin_dir, XGW_LINK_SK_LOOKUP);
	/* A pinned link from an earlier run: swap the program in place, so that no
	 * connection is refused while the agent restarts. */
	b->skl_link = bpf_link__open(path);
	if (b->skl_link) {
		err = bpf_link__update_program(b->skl_link, b->skl->progs.xgw_sk_lookup);
		if (!err) {
			log_info("sk_lookup: replaced the program of pinned link %s", path);
			return 0;
		}
		log_warn("sk_lookup: cannot update pinned link %s (%s), attaching anew", path,
			 strerror(-err));
		bpf_link__unpin(b->skl_link);
		bpf_link__destroy(b->skl_link);
		b->skl_link = NULL;
	}
	netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return -errno;
	b->skl_link = bpf_program__attach_netns(b->skl->progs.xgw_sk_lookup, netns);
	close(netns);
	if (!b->skl_link) {
		err = -errno;
		log_err("sk_lookup: attach to the network namespace: %s", strerror(-err));
		return err;
	}
	err = bpf_link__pin(b->skl_link, path);
	if (err) {
		log_err("sk_lookup: pin link at %s: %s", path, strerror(-err));
		return err;
	}
	return 0;
}

/*
 * An XDP program is attached already. When it is xgw's, left by an agent that
 * exited with --keep-bpf, swap ours in with one atomic netlink replace, so that
 * not one packet meets an interface without XDP (libxdp's fallback mode
 * refuses an occupied interface). Anybody else's program is left alone.
 */
static int map_fd(struct bpf_object *obj, const char *name);

static int replace_xdp(struct xgw_bpf *b, struct xdp_att *att, enum xdp_attach_mode mode)
{
	__u32 flags = mode == XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), old_id = 0;
	int old_fd, new_fd, err;

	if (bpf_xdp_query_id(att->ifindex, flags, &old_id) || !old_id)
		return -EBUSY;
	old_fd = bpf_prog_get_fd_by_id(old_id);
	if (old_fd < 0)
		return -errno;
	err = bpf_obj_get_info_by_fd(old_fd, &info, &len);
	if (err || strcmp(info.name, "xgw_xdp_lb")) {
		log_err("xdp: %s runs another program (%s): not replacing it", att->name,
			err ? "?" : info.name);
		close(old_fd);
		return -EBUSY;
	}
	new_fd = bpf_program__fd(b->xdp->progs.xgw_xdp_lb);
	if (new_fd < 0) {
		err = bpf_object__load(b->xdp->obj);
		new_fd = err ? err : bpf_program__fd(b->xdp->progs.xgw_xdp_lb);
	}
	if (new_fd < 0) {
		close(old_fd);
		return new_fd;
	}
	/* An older agent's flows, before its program makes way for ours. */
	xgw_bpf_upgrade_flows(&b->upgrade, map_fd(b->xdp->obj, XGW_MAP_FLOWS), false);
	LIBBPF_OPTS(bpf_xdp_attach_opts, xo, .old_prog_fd = old_fd);
	err = bpf_xdp_attach(att->ifindex, new_fd, flags | XDP_FLAGS_REPLACE, &xo);
	close(old_fd);
	if (err)
		return err;
	att->xdp_flags = flags;
	log_info("xdp: replaced the program left on %s (id %u) in place", att->name, old_id);
	return 0;
}

static int attach_xdp(struct xgw_bpf *b, const char *ifname, enum xgw_xdp_mode mode,
		      struct xdp_att *att)
{
	static const enum xdp_attach_mode modes_auto[] = { XDP_MODE_NATIVE, XDP_MODE_SKB };
	const enum xdp_attach_mode *modes = modes_auto;
	size_t n_modes = 2;
	enum xdp_attach_mode one;
	int err = -EINVAL;

	att->ifindex = (int)if_nametoindex(ifname);
	snprintf(att->name, sizeof(att->name), "%s", ifname);
	if (!att->ifindex) {
		log_err("xdp: no interface %s", ifname);
		return -ENODEV;
	}
	if (mode != XGW_XDP_AUTO) {
		one = mode == XGW_XDP_NATIVE ? XDP_MODE_NATIVE : XDP_MODE_SKB;
		modes = &one;
		n_modes = 1;
	}
	for (size_t i = 0; i < n_modes; i++) {
		DECLARE_LIBXDP_OPTS(xdp_program_opts, popts, .obj = b->xdp->obj,
				    .prog_name = "xgw_xdp_lb");

		/* One xdp_program per interface; they share the loaded object. */
		att->prog = xdp_program__create(&popts);
		err = libxdp_get_error(att->prog);
		if (err) {
			att->prog = NULL;
			log_err("xdp: create program: %s", strerror(-err));
			return err;
		}
		err = xdp_program__attach(att->prog, att->ifindex, modes[i], 0);
		if (err == -EBUSY || err == -EEXIST) {
			xdp_program__close(att->prog);
			att->prog = NULL;
			err = replace_xdp(b, att, modes[i]);
		}
		if (!err) {
			att->mode = modes[i];
			log_info("xdp: attached to %s (%s mode)", ifname,
				 modes[i] == XDP_MODE_NATIVE ? "native" : "generic");
			return 0;
		}
		xdp_program__close(att->prog);
		att->prog = NULL;
		log_warn("xdp: attach to %s in %s mode: %s", ifname,
			 modes[i] == XDP_MODE_NATIVE ? "native" : "generic", strerror(-err));
	}
	return err;
}

static int map_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

/*
 * libbpf and libxdp narrate expected events at warning level (probing for a
 * pinned link that is not there, falling back from libxdp's dispatcher where
 * the kernel refuses it). The agent logs every failure itself with context,
 * so their lines go to the debug log.
 */
static void lib_line(const char *who, const char *fmt, va_list ap)
{
	char line[512];

	if (xgw_log_level() < XGW_LOG_DEBUG)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	xgw_log(XGW_LOG_DEBUG, "%s: %s", who, line);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_DEBUG)
		lib_line("libbpf", fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBXDP_DEBUG)
		lib_line("libxdp", fmt, ap);
	return 0;
}

static int l4_configure(struct xgw_bpf *b, const struct xgw_bpf_opts *o);
static int l4_adopt(struct xgw_bpf *b);

int xgw_bpf__open(const struct xgw_bpf_opts *opts, struct xgw_bpf **out)
{
	struct xgw_bpf *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->fd_l4cfg = b->fd_nodes = b->fd_rings = b->fd_nexthops = b->fd_nh_direct = b->fd_neigh =
		-1;
	b->fd_lstats = -1;
	b->upgrade.fd_flows = -1;
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
	snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", opts->pin_dir ? opts->pin_dir : XGW_PIN_DIR);
	err = check_bpffs(b->pin_dir);
	if (err)
		goto err;
	drop_stale_stats(b->pin_dir);
	err = xgw_bpf_upgrade_take(b->pin_dir, &b->upgrade);
	if (err)
		goto err;

	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = b->pin_dir);

	b->skl = sk_lookup__open_opts(&oopts);
	if (!b->skl) {
		err = -errno;
		log_err("sk_lookup: open: %s", strerror(-err));
		goto err;
	}
	err = sk_lookup__load(b->skl);
	if (err) {
		log_err("sk_lookup: load (maps pinned under %s): %s", b->pin_dir, strerror(-err));
		goto err;
	}
	b->fd_addrs = map_fd(b->skl->obj, XGW_MAP_ADDRS);
	b->fd_listeners = map_fd(b->skl->obj, XGW_MAP_LISTENERS);
	b->fd_workers = map_fd(b->skl->obj, XGW_MAP_WORKERS);
	b->fd_config = map_fd(b->skl->obj, XGW_MAP_CONFIG);
	if (b->fd_addrs < 0 || b->fd_listeners < 0 || b->fd_workers < 0 || b->fd_config < 0) {
		log_err("sk_lookup: object lacks one of the shared maps");
		err = -ENOENT;
		goto err;
	}
	/* An older agent's listeners, before its program makes way for ours. */
	err = xgw_bpf_upgrade_listeners(&b->upgrade, b->fd_listeners);
	if (err)
		goto err;
	err = attach_sk_lookup(b);
	if (err)
		goto err;

	if (opts->n_ifaces) {
		b->xdp = xdp_lb__open_opts(&oopts);
		if (!b->xdp) {
			err = -errno;
			log_err("xdp: open: %s", strerror(-err));
			goto err;
		}
		err = l4_configure(b, opts);
		if (err)
			goto err;
		b->atts = calloc(opts->n_ifaces, sizeof(*b->atts));
		if (!b->atts) {
			err = -ENOMEM;
			goto err;
		}
		for (size_t i = 0; i < opts->n_ifaces; i++) {
			err = attach_xdp(b, opts->ifaces[i], opts->xdp_mode, &b->atts[i]);
			if (err)
				goto err;
			b->n_atts++;
		}
		err = l4_adopt(b);
		if (err)
			goto err;
		/* Before the first lookup of a next hop, so that no change slips by. */
		b->fd_neigh = xgw_nexthop_watch_open();
		if (b->fd_neigh < 0)
			log_warn("l4: cannot watch the neighbour table (%s): next hops follow the "
				 "configuration only",
				 strerror(-b->fd_neigh));
	}
	*out = b;
	return 0;
err:
	xgw_bpf__close(b, true);
	return err;
}

void xgw_bpf__close(struct xgw_bpf *b, bool unpin)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_atts; i++) {
		struct xdp_att *att = &b->atts[i];

		if (unpin) {
			int err = att->prog ? xdp_program__detach(att->prog, att->ifindex,
								  att->mode, 0)
					    : bpf_xdp_detach(att->ifindex, att->xdp_flags, NULL);

			if (err)
				log_warn("xdp: detach from %s: %s", att->name, strerror(-err));
		}
		xdp_program__close(att->prog);
	}
	free(b->atts);
	if (b->skl_link) {
		if (unpin) {
			bpf_link__unpin(b->skl_link);
			bpf_link__detach(b->skl_link);
		}
		bpf_link__destroy(b->skl_link);
	}
	if (unpin && b->skl)
		bpf_object__unpin_maps(b->skl->obj, NULL);
	/* The L4 maps exist in the XDP object only; the shared ones are gone already. */
	if (unpin && b->xdp && b->n_atts) {
		struct bpf_map *m;

		bpf_object__for_each_map(m, b->xdp->obj)
		{
			if (bpf_map__is_pinned(m))
				bpf_map__unpin(m, NULL);
		}
	}
	sk_lookup__destroy(b->skl);
	xdp_lb__destroy(b->xdp);
	if (unpin)
		rmdir(b->pin_dir);
	if (b->fd_neigh >= 0)
		close(b->fd_neigh);
	xgw_bpf_upgrade_free(&b->upgrade);
	free(b->table);
	free(b);
}

int xgw_bpf_set_worker_sock(struct xgw_bpf *b, unsigned idx, int fd)
{
	__u32 key = XGW_SOCK_TCP_BASE + idx;
	__u64 val = (__u64)fd;

	if (idx >= XGW_MAX_WORKERS)
		return -E2BIG;
	if (bpf_map_update_elem(b->fd_workers, &key, &val, BPF_ANY))
		return -errno;
	return 0;
}

int xgw_bpf_set_worker_udp_sock(struct xgw_bpf *b, unsigned idx, int fd)
{
	__u32 key = XGW_SOCK_UDP_BASE + idx;
	__u64 val = (__u64)fd;

	if (idx >= XGW_MAX_WORKERS)
		return -E2BIG;
	if (bpf_map_update_elem(b->fd_workers, &key, &val, BPF_ANY))
		return -errno;
	return 0;
}

void xgw_bpf_clear_worker(struct xgw_bpf *b, unsigned idx)
{
	__u32 tcp = XGW_SOCK_TCP_BASE + idx, udp = XGW_SOCK_UDP_BASE + idx;

	if (idx >= XGW_MAX_WORKERS)
		return;
	bpf_map_delete_elem(b->fd_workers, &tcp);
	bpf_map_delete_elem(b->fd_workers, &udp);
}

int xgw_bpf_set_workers(struct xgw_bpf *b, unsigned tcp_workers, unsigned udp_workers)
{
	struct xgw_config cfg = { .tcp_workers = tcp_workers, .udp_workers = udp_workers };
	__u32 key = 0;

	if (bpf_map_update_elem(b->fd_config, &key, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

static void ip_key(struct xgw_ip *ip, uint8_t family, const uint8_t addr[16])
{
	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	memcpy(ip->addr, addr, family == 4 ? 4 : 16);
}

static bool want_listener(const struct xgw_bpf_listener *ls, size_t n,
			  const struct xgw_listener_key *k)
{
	for (size_t i = 0; i < n; i++) {
		struct xgw_listener_key w = { 0 };

		ip_key(&w.ip, ls[i].family, ls[i].addr);
		w.port = htons(ls[i].port);
		w.proto = ls[i].proto;
		if (!memcmp(&w, k, sizeof(w)))
			return true;
	}
	return false;
}

static bool want_addr(const struct xgw_bpf_listener *ls, size_t n, const struct xgw_ip *ip)
{
	for (size_t i = 0; i < n; i++) {
		struct xgw_ip w;

		ip_key(&w, ls[i].family, ls[i].addr);
		if (!memcmp(&w, ip, sizeof(w)))
			return true;
	}
	return false;
}

/* Delete every key of <fd> for which <keep> says no. */
static int prune(int fd, size_t key_size, bool (*keep)(const void *key, void *arg), void *arg)
{
	char key[64], next[64];
	void *prev = NULL;
	int err = 0;

	/* Collect first: deleting while iterating restarts the walk in a hash map. */
	size_t n = 0, cap = 64;
	char *del = malloc(cap * key_size);

	if (!del)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (keep(key, arg))
			continue;
		if (n == cap) {
			char *p = realloc(del, (cap *= 2) * key_size);

			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			del = p;
		}
		memcpy(del + n++ * key_size, key, key_size);
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, del + i * key_size) && errno != ENOENT)
			err = -errno;
out:
	free(del);
	return err;
}

struct want {
	const struct xgw_bpf_listener *ls;
	size_t n;
};

static bool keep_listener(const void *key, void *arg)
{
	struct want *w = arg;

	return want_listener(w->ls, w->n, key);
}

static bool keep_addr(const void *key, void *arg)
{
	struct want *w = arg;

	return want_addr(w->ls, w->n, key);
}

static void lstats_zero(struct xgw_bpf *b, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct xgw_lstats_val *zero = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*zero)) : NULL;

	if (zero && bpf_map_update_elem(b->fd_lstats, &id, zero, BPF_ANY))
		log_warn("bpf: zeroing xgw_lstats[%u]: %s", id, strerror(errno));
	free(zero);
}

int xgw_bpf_sync_listeners(struct xgw_bpf *b, const struct xgw_bpf_listener *ls, size_t n)
{
	struct xgw_listener_key *keys = calloc(n + 1, sizeof(*keys));
	uint32_t *tok = calloc(n + 1, sizeof(*tok)), *old_id = calloc(n + 1, sizeof(*old_id));
	struct want w = { ls, n };
	int err = -ENOMEM;

	if (!keys || !tok || !old_id)
		goto out;
	/* 1. what the map holds: the flow tokens listeners keep, and their ids */
	for (size_t i = 0; i < n; i++) {
		struct xgw_listener_val old;

		ip_key(&keys[i].ip, ls[i].family, ls[i].addr);
		keys[i].port = htons(ls[i].port);
		keys[i].proto = ls[i].proto;
		old_id[i] = UINT32_MAX;
		if (!bpf_map_lookup_elem(b->fd_listeners, &keys[i], &old)) {
			tok[i] = old.flow_token;
			old_id[i] = old.id;
		}
	}
	err = xgw_flow_tokens_assign(keys, tok, n);
	/* 2. listeners (new and changed) */
	for (size_t i = 0; i < n && !err; i++) {
		struct xgw_listener_val v = { .id = ls[i].id, .flow_token = tok[i] };

		if (b->l4_enabled) {
			v.flags = XGW_LISTENER_F_RING;
			v.ring = b->ring;
			v.prev_ring = b->prev_ring;
		}
		if (ls[i].draining)
			v.flags |= XGW_LISTENER_F_DRAINING;
		/* A listener that takes an id another had: its counters start from
		 * zero, not from the other's (metrics key them by address and port). */
		if (b->fd_lstats >= 0 && old_id[i] != v.id)
			lstats_zero(b, v.id);
		if (bpf_map_update_elem(b->fd_listeners, &keys[i], &v, BPF_ANY))
			err = -errno;
	}
	if (err)
		goto out;
	/* 3. addresses: their listeners are in place now */
	for (size_t i = 0; i < n; i++) {
		struct xgw_ip ip;
		struct xgw_addr_val v = { 0 };

		ip_key(&ip, ls[i].family, ls[i].addr);
		for (size_t j = 0; j < n; j++)
			v.listeners +=
				ls[j].family == ls[i].family && !memcmp(ls[j].addr, ls[i].addr, 16);
		if (bpf_map_update_elem(b->fd_addrs, &ip, &v, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
	/* 4. stale addresses, then 5. stale listeners */
	err = prune(b->fd_addrs, sizeof(struct xgw_ip), keep_addr, &w);
	if (!err)
		err = prune(b->fd_listeners, sizeof(struct xgw_listener_key), keep_listener, &w);
out:
	free(keys);
	free(tok);
	free(old_id);
	return err;
}

/* --- the L4 tier -------------------------------------------------------- */

/* Load-time knobs and map sizes of the XDP object, before libxdp loads it. */
static int l4_configure(struct xgw_bpf *b, const struct xgw_bpf_opts *o)
{
	struct xdp_lb *x = b->xdp;
	int err;

	b->ring_size = o->ring_size ? o->ring_size : XGW_RING_SIZE;
	if (!xgw_maglev_is_prime(b->ring_size) || b->ring_size < 3) {
		log_err("l4: ring size %u is not a prime", b->ring_size);
		return -EINVAL;
	}
	x->rodata->cfg_ring_size = b->ring_size;
	x->rodata->cfg_encap = o->encap;
	x->rodata->cfg_gue_port = o->gue_port ? o->gue_port : XGW_GUE_PORT;
	x->rodata->cfg_encap_mtu = o->encap_mtu ? o->encap_mtu : 1500;
	x->rodata->cfg_udp_3tuple = o->udp_3tuple;
	x->rodata->cfg_icmp = o->icmp;
	x->rodata->cfg_syn_rate = o->syn_rate;
	err = bpf_map__set_max_entries(x->maps.xgw_rings, XGW_MAX_RINGS * b->ring_size);
	if (!err && o->flow_table_size)
		err = bpf_map__set_max_entries(x->maps.xgw_flows, o->flow_table_size);
	if (err)
		log_err("l4: sizing maps: %s", strerror(-err));
	b->table = calloc(b->ring_size, sizeof(*b->table));
	return err ? err : b->table ? 0 : -ENOMEM;
}

/*
 * After load: the L4 maps' fds, and the state an earlier agent left in the
 * pinned maps (node ids, ring slots and the current ring's content; the
 * flows of an older layout), so that a restart changes nothing that a
 * packet could notice.
 */
static int l4_adopt(struct xgw_bpf *b)
{
	struct xgw_listener_key k, *prev = NULL;
	struct xgw_l4_config cfg;
	__u32 zero = 0;
	int fd_flows;

	b->fd_lstats = map_fd(b->xdp->obj, XGW_MAP_LSTATS);
	b->fd_l4cfg = map_fd(b->xdp->obj, XGW_MAP_L4CFG);
	b->fd_nodes = map_fd(b->xdp->obj, XGW_MAP_NODES);
	b->fd_rings = map_fd(b->xdp->obj, XGW_MAP_RINGS);
	b->fd_nexthops = map_fd(b->xdp->obj, XGW_MAP_NEXTHOPS);
	b->fd_nh_direct = map_fd(b->xdp->obj, XGW_MAP_NH_DIRECT);
	fd_flows = map_fd(b->xdp->obj, XGW_MAP_FLOWS);
	if (b->fd_l4cfg < 0 || b->fd_nodes < 0 || b->fd_rings < 0 || b->fd_nexthops < 0 ||
	    b->fd_nh_direct < 0 || fd_flows < 0) {
		log_err("xdp: object lacks the L4 maps");
		return -ENOENT;
	}
	xgw_bpf_upgrade_flows(&b->upgrade, fd_flows, true);
	for (__u32 id = 0; id < XGW_MAX_NODES; id++) {
		struct xgw_node_val nv;

		if (!bpf_map_lookup_elem(b->fd_nodes, &id, &nv) &&
		    (nv.flags & XGW_NODE_F_PRESENT)) {
			b->node_used[id] = true;
			b->node_addr[id] = nv.addr;
		}
	}
	if (bpf_map_lookup_elem(b->fd_l4cfg, &zero, &cfg) || !(cfg.flags & XGW_L4_F_ENABLED))
		return 0;
	while (!bpf_map_get_next_key(b->fd_listeners, prev, &k)) {
		struct xgw_listener_val v;

		prev = &k;
		if (bpf_map_lookup_elem(b->fd_listeners, &k, &v) ||
		    !(v.flags & XGW_LISTENER_F_RING))
			continue;
		if (v.ring >= XGW_MAX_RINGS || v.prev_ring >= XGW_MAX_RINGS)
			break;
		for (__u32 i = 0; i < b->ring_size; i++) {
			__u32 key = v.ring * b->ring_size + i;

			if (bpf_map_lookup_elem(b->fd_rings, &key, &b->table[i]))
				return -errno;
		}
		b->l4_enabled = true;
		b->self = cfg.self;
		b->ring = v.ring;
		b->prev_ring = v.prev_ring;
		log_info("l4: adopted pinned state: node id %u, ring slot %u (previous %u)",
			 b->self, b->ring, b->prev_ring);
		break;
	}
	return 0;
}

static int l4_write_cfg(struct xgw_bpf *b, bool enabled, __u32 self, const struct xgw_ip *addr)
{
	struct xgw_l4_config cfg = { .flags = enabled ? XGW_L4_F_ENABLED : 0, .self = self };
	__u32 zero = 0;

	if (addr)
		cfg.self_addr = *addr;
	return bpf_map_update_elem(b->fd_l4cfg, &zero, &cfg, BPF_ANY) ? -errno : 0;
}

static int l4_disable(struct xgw_bpf *b)
{
	int err;

	if (!b->l4_enabled)
		return 0;
	/* XDP reads the flag before any ring: off first, listeners after. */
	err = l4_write_cfg(b, false, 0, NULL);
	if (err)
		return err;
	b->l4_enabled = false;
	log_info("l4: single-node mode");
	return 1;
}

/* Node id for <addr>: the one it had, else the lowest id free in both <taken> and the map. */
static int node_id(struct xgw_bpf *b, const struct xgw_ip *addr, const bool *taken)
{
	for (int id = 0; id < XGW_MAX_NODES; id++)
		if (b->node_used[id] && !memcmp(&b->node_addr[id], addr, sizeof(*addr)))
			return id;
	for (int id = 0; id < XGW_MAX_NODES; id++)
		if (!b->node_used[id] && !taken[id])
			return id;
	return -ENOSPC;
}

static int write_ring(struct xgw_bpf *b, __u32 slot, const uint32_t *table)
{
	__u32 *keys = malloc(b->ring_size * sizeof(*keys));
	__u32 count = b->ring_size;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (__u32 i = 0; i < b->ring_size; i++)
		keys[i] = slot * b->ring_size + i;
	if (bpf_map_update_batch(b->fd_rings, keys, table, &count, NULL)) {
		/* Kernels without batch ops on arrays: one by one. */
		for (__u32 i = 0; i < b->ring_size && !err; i++)
			if (bpf_map_update_elem(b->fd_rings, &keys[i], &table[i], BPF_ANY))
				err = -errno;
	}
	free(keys);
	return err;
}

/*
 * Put <nh> (NULL: none) as the next hop of interface <ifindex>: in
 * xgw_nh_direct when the ifindex indexes it, else in xgw_nexthops (see
 * include/xgw/abi/maps.h). Returns 1 when an entry was there before, 0 when
 * not, or -errno.
 */
static int put_nexthop(struct xgw_bpf *b, __u32 ifindex, const struct xgw_nexthop *nh)
{
	struct xgw_nexthop old = { 0 }, none = { 0 };
	int had;

	if (ifindex >= XGW_NH_DIRECT) {
		had = !bpf_map_lookup_elem(b->fd_nexthops, &ifindex, &old);
		if (nh ? bpf_map_update_elem(b->fd_nexthops, &ifindex, nh, BPF_ANY)
		       : (had && bpf_map_delete_elem(b->fd_nexthops, &ifindex)))
			return -errno;
		return had;
	}
	had = !bpf_map_lookup_elem(b->fd_nh_direct, &ifindex, &old) &&
	      (old.flags & XGW_NEXTHOP_F_SET);
	if (bpf_map_update_elem(b->fd_nh_direct, &ifindex, nh ? nh : &none, BPF_ANY))
		return -errno;
	/* An agent before xgw_nh_direct wrote every next hop in the hash; this
	 * agent's program does not read it for this ifindex: removed, after the
	 * entry that is read is in place. */
	if (!bpf_map_delete_elem(b->fd_nexthops, &ifindex))
		had = 1;
	return had;
}

/* Write <mac> as the next hop of <att>, or remove it when NULL. */
static void write_nexthop(struct xgw_bpf *b, struct xdp_att *att, const __u8 *mac)
{
	struct xgw_nexthop nh = { .flags = XGW_NEXTHOP_F_SET };
	__u32 key = (__u32)att->ifindex;
	int err;

	if (!mac) {
		if (put_nexthop(b, key, NULL) > 0)
			log_info("l4: next hop of %s unknown: back to the sender's MAC", att->name);
		memset(att->nh_mac, 0, sizeof(att->nh_mac));
		return;
	}
	memcpy(nh.mac, mac, sizeof(nh.mac));
	err = put_nexthop(b, key, &nh);
	if (err < 0) {
		log_warn("l4: writing the next hop of %s: %s", att->name, strerror(-err));
		return;
	}
	if (memcmp(att->nh_mac, mac, 6))
		log_info("l4: next hop of %s: %02x:%02x:%02x:%02x:%02x:%02x", att->name, mac[0],
			 mac[1], mac[2], mac[3], mac[4], mac[5]);
	memcpy(att->nh_mac, mac, 6);
	att->nh_failed = false;
}

/* Start ARP/NDP for the neighbour of <att>, which has no usable entry. */
static void resolve_nexthop(struct xdp_att *att)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	int err = xgw_nexthop_resolve(att->ifindex, att->nh_family, att->nh_addr);

	inet_ntop(att->nh_family == 6 ? AF_INET6 : AF_INET, att->nh_addr, addr, sizeof(addr));
	if (err)
		log_warn("l4: resolving %s, the next hop of %s: %s", addr, att->name,
			 strerror(-err));
	else if (!att->nh_failed)
		log_info("l4: resolving %s, the next hop of %s", addr, att->name);
}

/*
 * xgw_nh_direct/xgw_nexthops: per XDP interface, the MAC of the next hop towards the other
 * nodes, from the kernel's route and neighbour tables. An interface whose
 * next hop is not resolved (yet: no traffic) gets no entry until the kernel
 * has resolved it, which the agent asks for; meanwhile XDP sends
 * encapsulated frames back to the MAC they came from, right whenever the
 * router that delivered them also routes between the nodes. The neighbour
 * is remembered, so that xgw_bpf_neigh_changed() follows it.
 */
static void sync_nexthops(struct xgw_bpf *b, const struct xgw_bpf_node *nodes, size_t n,
			  const struct xgw_bpf_node *me)
{
	for (size_t a = 0; a < b->n_atts; a++) {
		struct xdp_att *att = &b->atts[a];
		__u8 neigh[16], mac[6];
		int err = -ENOENT;

		att->nh_watch = false;
		for (size_t i = 0; i < n; i++) {
			if (&nodes[i] == me || nodes[i].family != me->family)
				continue;
			err = xgw_nexthop_mac(att->ifindex, nodes[i].family, nodes[i].addr, neigh,
					      mac);
			if (err && err != -ENOENT)
				continue;
			/* The first neighbour found, or the first one resolved. */
			if (!att->nh_watch || !err) {
				att->nh_watch = true;
				att->nh_family = nodes[i].family;
				memcpy(att->nh_addr, neigh, sizeof(neigh));
			}
			if (!err)
				break;
		}
		if (err) {
			write_nexthop(b, att, NULL);
			if (att->nh_watch && b->fd_neigh >= 0)
				resolve_nexthop(att);
			continue;
		}
		write_nexthop(b, att, mac);
	}
}

static void on_neigh(const struct xgw_neigh_event *ev, void *arg)
{
	struct xgw_bpf *b = arg;

	for (size_t a = 0; a < b->n_atts; a++) {
		struct xdp_att *att = &b->atts[a];

		if (!att->nh_watch || att->ifindex != ev->ifindex || att->nh_family != ev->family ||
		    memcmp(att->nh_addr, ev->addr, sizeof(att->nh_addr)))
			continue;
		switch (ev->kind) {
		case XGW_NEIGH_MAC:
			write_nexthop(b, att, ev->mac);
			break;
		case XGW_NEIGH_GONE:
			/* Garbage-collected or flushed: the MAC is likely still right. */
			resolve_nexthop(att);
			break;
		case XGW_NEIGH_FAILED:
			/* Nobody answers at the MAC: the sender's MAC is the better guess. */
			write_nexthop(b, att, NULL);
			resolve_nexthop(att);
			att->nh_failed = true; /* the kernel's probe timers pace the retries */
			break;
		case XGW_NEIGH_PENDING:
			break;
		}
	}
}

int xgw_bpf_neigh_fd(const struct xgw_bpf *b)
{
	return b ? b->fd_neigh : -1;
}

void xgw_bpf_neigh_changed(struct xgw_bpf *b)
{
	int err;

	if (!b || b->fd_neigh < 0)
		return;
	err = xgw_nexthop_watch_read(b->fd_neigh, on_neigh, b);
	if (err == -ENOBUFS) {
		/* Events were lost: look again at every neighbour followed. */
		log_warn("l4: neighbour events lost (ENOBUFS): reading the next hops again");
		for (size_t a = 0; a < b->n_atts; a++) {
			struct xdp_att *att = &b->atts[a];
			__u8 mac[6];

			if (!att->nh_watch)
				continue;
			err = xgw_nexthop_neigh_mac(att->ifindex, att->nh_family, att->nh_addr,
						    mac);
			if (!err)
				write_nexthop(b, att, mac);
			else if (err == -ENOENT)
				resolve_nexthop(att);
		}
	} else if (err) {
		log_warn("l4: reading neighbour events: %s", strerror(-err));
	}
}

int xgw_bpf_sync_nodes(struct xgw_bpf *b, const struct xgw_bpf_node *nodes, size_t n,
		       const char *self)
{
	bool taken[XGW_MAX_NODES] = { 0 };
	struct xgw_maglev_node *mn = NULL;
	uint32_t *table = NULL, slot;
	int ids[XGW_MAX_NODES];
	const struct xgw_bpf_node *me = NULL;
	struct xgw_ip self_ip = { 0 };
	size_t n_mn = 0, n_ok = 0;
	int err = 0;

	if (b->fd_rings < 0) {
		if (n)
			log_warn("l4: %zu XgwNode object(s) ignored: the L4 tier needs XDP "
				 "(--interface)",
				 n);
		return 0;
	}
	for (size_t i = 0; i < n && self; i++)
		if (!strcmp(nodes[i].name, self))
			me = &nodes[i];
	if (!me) {
		if (n && self)
			log_warn("l4: no XgwNode named %s (--node-name): single-node mode", self);
		else if (n)
			log_warn("l4: XgwNode objects but no --node-name: single-node mode");
		return l4_disable(b);
	}
	if (n > XGW_MAX_NODES) {
		log_err("l4: %zu nodes, at most %d", n, XGW_MAX_NODES);
		return -E2BIG;
	}
	ip_key(&self_ip, me->family, me->addr);
	mn = calloc(n, sizeof(*mn));
	table = malloc(b->ring_size * sizeof(*table));
	if (!mn || !table) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct xgw_ip ip;

		ids[i] = -1;
		if (nodes[i].family != me->family) {
			log_warn("l4: XgwNode %s: address family differs from this node's, ignored",
				 nodes[i].name);
			continue;
		}
		ip_key(&ip, nodes[i].family, nodes[i].addr);
		ids[i] = node_id(b, &ip, taken);
		if (ids[i] < 0) {
			err = ids[i];
			goto out;
		}
		taken[ids[i]] = true;
		n_ok++;
		if (nodes[i].healthy && nodes[i].weight)
			mn[n_mn++] = (struct xgw_maglev_node){ .name = nodes[i].name,
							       .id = (uint32_t)ids[i],
							       .weight = nodes[i].weight };
	}
	err = xgw_maglev_build(mn, n_mn, b->ring_size, table);
	if (err) {
		log_err("l4: Maglev ring over %zu node(s): %s; keeping the previous ring", n_mn,
			err == -ENOENT ? "no healthy node with a weight" : strerror(-err));
		goto out;
	}
	/* Nodes first: the ring about to be published may name new ones. */
	for (size_t i = 0; i < n; i++) {
		struct xgw_node_val nv = { .flags = XGW_NODE_F_PRESENT };
		__u32 id;

		if (ids[i] < 0)
			continue;
		id = (__u32)ids[i];
		ip_key(&nv.addr, nodes[i].family, nodes[i].addr);
		if (bpf_map_update_elem(b->fd_nodes, &id, &nv, BPF_ANY)) {
			err = -errno;
			goto out;
		}
		b->node_used[id] = true;
		b->node_addr[id] = nv.addr;
	}
	sync_nexthops(b, nodes, n, me);
	err = l4_write_cfg(b, true, (__u32)ids[me - nodes], &self_ip);
	if (err)
		goto out;
	b->n_nodes = (uint32_t)n_ok;
	b->n_in_ring = (uint32_t)n_mn;
	if (b->l4_enabled && b->self == (__u32)ids[me - nodes] &&
	    !memcmp(table, b->table, b->ring_size * sizeof(*table))) {
		err = 0;
		goto forget;
	}
	/* A slot that no listener reads: neither the current ring nor the previous. */
	for (slot = 0; slot < XGW_MAX_RINGS; slot++)
		if (!b->l4_enabled || (slot != b->ring && slot != b->prev_ring))
			break;
	err = write_ring(b, slot, table);
	if (err) {
		log_err("l4: writing ring slot %u: %s", slot, strerror(-err));
		goto out;
	}
	b->prev_ring = b->l4_enabled ? b->ring : slot;
	b->ring = slot;
	b->self = (__u32)ids[me - nodes];
	memcpy(b->table, table, b->ring_size * sizeof(*table));
	if (!b->l4_enabled)
		log_info("l4: multi-node mode, this node is %s (id %u)", me->name, b->self);
	b->l4_enabled = true;
	log_info("l4: ring slot %u over %zu node(s) (previous ring: slot %u)", b->ring, n_mn,
		 b->prev_ring);
	err = 1;
forget:
	/* Nodes that left: their flows have nowhere to go; XDP keeps them local. */
	for (__u32 id = 0; id < XGW_MAX_NODES; id++) {
		struct xgw_node_val none = { 0 };

		if (!b->node_used[id] || taken[id])
			continue;
		bpf_map_update_elem(b->fd_nodes, &id, &none, BPF_ANY);
		b->node_used[id] = false;
	}
out:
	free(mn);
	free(table);
	return err;
}

void xgw_bpf_l4_state(const struct xgw_bpf *b, struct xgw_bpf_l4_state *st)
{
	*st = (struct xgw_bpf_l4_state){ .enabled = b->l4_enabled,
					 .self = b->self,
					 .ring = b->ring,
					 .prev_ring = b->prev_ring,
					 .ring_size = b->ring_size,
					 .n_nodes = b->n_nodes,
					 .n_in_ring = b->n_in_ring };
}
