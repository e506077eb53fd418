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
	struct xdp_program *prog;
	enum xdp_attach_mode mode;
};

struct xgw_bpf {
	char pin_dir[256];
	struct sk_lookup *skl;
	struct xdp_lb *xdp; /* opened only: libxdp loads it */
	struct bpf_link *skl_link;
	struct xdp_att *atts;
	size_t n_atts;
	int fd_addrs, fd_listeners, fd_workers, fd_config;
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

int xgw_bpf__open(const struct xgw_bpf_opts *opts, struct xgw_bpf **out)
{
	struct xgw_bpf *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
	snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", opts->pin_dir ? opts->pin_dir : XGW_PIN_DIR);
	err = check_bpffs(b->pin_dir);
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
	err = attach_sk_lookup(b);
	if (err)
		goto err;
	b->fd_addrs = map_fd(b->skl->obj, XGW_MAP_ADDRS);
	b->fd_listeners = map_fd(b->skl->obj, XGW_MAP_LISTENERS);
	b->fd_workers = map_fd(b->skl->obj, XGW_MAP_WORKERS);
	b->fd_config = map_fd(b->skl->obj, XGW_MAP_CONFIG);
	if (b->fd_addrs < 0 || b->fd_listeners < 0 || b->fd_workers < 0 || b->fd_config < 0) {
		log_err("sk_lookup: object lacks one of the shared maps");
		err = -ENOENT;
		goto err;
	}

	if (opts->n_ifaces) {
		b->xdp = xdp_lb__open_opts(&oopts);
		if (!b->xdp) {
			err = -errno;
			log_err("xdp: open: %s", strerror(-err));
			goto err;
		}
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
			int err = xdp_program__detach(att->prog, att->ifindex, att->mode, 0);

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
	sk_lookup__destroy(b->skl);
	xdp_lb__destroy(b->xdp);
	if (unpin)
		rmdir(b->pin_dir);
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

int xgw_bpf_set_workers(struct xgw_bpf *b, unsigned tcp_workers)
{
	struct xgw_config cfg = { .tcp_workers = tcp_workers };
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

int xgw_bpf_sync_listeners(struct xgw_bpf *b, const struct xgw_bpf_listener *ls, size_t n)
{
	struct want w = { ls, n };
	int err;

	/* 1. listeners (new and changed) */
	for (size_t i = 0; i < n; i++) {
		struct xgw_listener_key k = { 0 };
		struct xgw_listener_val v = { .id = ls[i].id };

		ip_key(&k.ip, ls[i].family, ls[i].addr);
		k.port = htons(ls[i].port);
		k.proto = ls[i].proto;
		if (bpf_map_update_elem(b->fd_listeners, &k, &v, BPF_ANY))
			return -errno;
	}
	/* 2. addresses: their listeners are in place now */
	for (size_t i = 0; i < n; i++) {
		struct xgw_ip ip;
		struct xgw_addr_val v = { 0 };

		ip_key(&ip, ls[i].family, ls[i].addr);
		for (size_t j = 0; j < n; j++)
			v.listeners +=
				ls[j].family == ls[i].family && !memcmp(ls[j].addr, ls[i].addr, 16);
		if (bpf_map_update_elem(b->fd_addrs, &ip, &v, BPF_ANY))
			return -errno;
	}
	/* 3. stale addresses, then 4. stale listeners */
	err = prune(b->fd_addrs, sizeof(struct xgw_ip), keep_addr, &w);
	if (!err)
		err = prune(b->fd_listeners, sizeof(struct xgw_listener_key), keep_listener, &w);
	return err;
}
