// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgwctl: what the node is doing, for operators.
 *
 *   xgwctl status [--status-file F]   Gateways, listeners and routes with their conditions
 *   xgwctl maps [--pin-dir D]         the pinned BPF maps, decoded, with counters
 *   xgwctl workers [--workers-file F] the L7 workers' counters (requests, TLS, HTTP/2)
 *   xgwctl flows [--pin-dir D] [--client ADDR] [--limit N]
 *                                     the XDP flow table: client, listener, node
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "xgw/abi/maps.h"
#include "xgw/ctl.h"
#include "xgw/netaddr.h"
#include "xgw/stats.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: xgwctl status [--status-file FILE]\n"
		     "       xgwctl maps [--pin-dir DIR]\n"
		     "       xgwctl workers [--workers-file FILE]\n"
		     "       xgwctl flows [--pin-dir DIR] [--client ADDR] [--limit N]\n");
}

static void print_conds(json_t *conds, const char *indent)
{
	size_t i;
	json_t *c;

	json_array_foreach(conds, i, c)
	{
		printf("%s%-14s %-7s %-26s %s\n", indent,
		       json_string_value(json_object_get(c, "type")),
		       json_string_value(json_object_get(c, "status")),
		       json_string_value(json_object_get(c, "reason")),
		       json_string_value(json_object_get(c, "message")));
	}
}

/* status.listeners of a Gateway or ListenerSet */
static void print_listeners(json_t *st)
{
	size_t k;
	json_t *l;

	json_array_foreach(json_object_get(st, "listeners"), k, l)
	{
		printf("  listener %s (attachedRoutes %lld)\n",
		       json_string_value(json_object_get(l, "name")),
		       (long long)json_integer_value(json_object_get(l, "attachedRoutes")));
		print_conds(json_object_get(l, "conditions"), "    ");
	}
}

/* The route lists of the status file (agent/status.c), with their kinds. */
static const struct {
	const char *kind, *list;
} route_lists[] = {
	{ "HTTPRoute", "httpRoutes" }, { "GRPCRoute", "grpcRoutes" }, { "TLSRoute", "tlsRoutes" },
	{ "TCPRoute", "tcpRoutes" },   { "UDPRoute", "udpRoutes" },
};

static int cmd_status(const char *path)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *gws, *routes, *g, *r;
	size_t i, k;

	if (!root) {
		fprintf(stderr, "xgwctl: %s: %s (is xgw-agent running? see --status-file)\n", path,
			jerr.text);
		return 1;
	}
	printf("generation %lld, data plane %s\n",
	       (long long)json_integer_value(json_object_get(root, "generation")),
	       json_is_true(json_object_get(root, "programmed")) ? "programmed" : "pending");
	gws = json_object_get(root, "gateways");
	json_array_foreach(gws, i, g)
	{
		json_t *st = json_object_get(g, "status"),
		       *addrs = json_object_get(st, "addresses"), *a;
		json_int_t nls = json_integer_value(json_object_get(st, "attachedListenerSets"));

		printf("\nGateway %s/%s", json_string_value(json_object_get(g, "namespace")),
		       json_string_value(json_object_get(g, "name")));
		json_array_foreach(addrs, k, a)
		{
			printf("%s%s", k ? ", " : "  address ",
			       json_string_value(json_object_get(a, "value")));
		}
		if (nls)
			printf("  attachedListenerSets %lld", (long long)nls);
		printf("\n");
		print_conds(json_object_get(st, "conditions"), "  ");
		print_listeners(st);
	}
	json_array_foreach(json_object_get(root, "listenerSets"), i, g)
	{
		json_t *st = json_object_get(g, "status");

		printf("\nListenerSet %s/%s\n", json_string_value(json_object_get(g, "namespace")),
		       json_string_value(json_object_get(g, "name")));
		print_conds(json_object_get(st, "conditions"), "  ");
		print_listeners(st);
	}
	/* every route list the agent writes, in its order, with the kind in each heading */
	for (size_t l = 0; l < sizeof(route_lists) / sizeof(route_lists[0]); l++) {
		routes = json_object_get(root, route_lists[l].list);
		json_array_foreach(routes, i, r)
		{
			json_t *p;

			printf("\n%s %s/%s\n", route_lists[l].kind,
			       json_string_value(json_object_get(r, "namespace")),
			       json_string_value(json_object_get(r, "name")));
			json_array_foreach(json_object_get(json_object_get(r, "status"), "parents"),
					   k, p)
			{
				json_t *ref = json_object_get(p, "parentRef");

				printf("  parent %s%s/%s\n",
				       strcmp(json_string_value(json_object_get(ref, "kind")) ?: "",
					      "Gateway")
					       ? "ListenerSet "
					       : "",
				       json_string_value(json_object_get(ref, "namespace")),
				       json_string_value(json_object_get(ref, "name")));
				print_conds(json_object_get(p, "conditions"), "    ");
			}
		}
	}
	json_decref(root);
	return 0;
}

/*
 * The pinned map <name> under <dir>, when its key and value have the sizes
 * this xgwctl was built for; else -1, with a message unless <quiet> and it
 * is merely absent. Reading a map of another layout (an agent of another
 * version) through these structs would overrun them.
 */
static int open_pinned(const char *dir, const char *name, size_t key_size, size_t value_size,
		       bool quiet)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (!quiet)
			fprintf(stderr, "xgwctl: %s: %s (is xgw-agent running? see --pin-dir)\n",
				path, strerror(errno));
		return -1;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size != key_size ||
	    info.value_size != value_size) {
		fprintf(stderr,
			"xgwctl: %s: keys of %u bytes and values of %u, "
			"where this xgwctl reads %zu and %zu: "
			"pinned by an agent of another version\n",
			path, info.key_size, info.value_size, key_size, value_size);
		close(fd);
		return -1;
	}
	return fd;
}

#define open_map(dir, name, key_type, value_type)                                                  \
	open_pinned(dir, name, sizeof(key_type), sizeof(value_type), false)

static const char *ip_str(const struct xgw_ip *ip, char *buf)
{
	return xgw_ip_format(ip->family, ip->addr, buf);
}

static void print_nexthop(__u32 ifindex, const struct xgw_nexthop *nh, const char *map)
{
	char name[IF_NAMESIZE] = "?";

	if_indextoname(ifindex, name);
	printf("  %-6u %-16s %02x:%02x:%02x:%02x:%02x:%02x  (%s)\n", ifindex, name, nh->mac[0],
	       nh->mac[1], nh->mac[2], nh->mac[3], nh->mac[4], nh->mac[5], map);
}

/*
 * The next hops of encapsulated packets, per XDP interface: xgw_nh_direct's
 * set entries (ifindex below XGW_NH_DIRECT), then xgw_nexthops' (the larger
 * ones). Interfaces without one send back to the MAC a frame came from.
 */
static void print_nexthops(const char *dir)
{
	struct xgw_nexthop nh;
	__u32 k, *prev = NULL;
	int fd, n = 0;

	printf("  next hops (interface -> MAC; none: back to the sender's MAC):\n");
	fd = open_pinned(dir, XGW_MAP_NH_DIRECT, sizeof(__u32), sizeof(nh), true);
	for (__u32 i = 0; fd >= 0 && i < XGW_NH_DIRECT; i++)
		if (!bpf_map_lookup_elem(fd, &i, &nh) && (nh.flags & XGW_NEXTHOP_F_SET)) {
			print_nexthop(i, &nh, XGW_MAP_NH_DIRECT);
			n++;
		}
	if (fd >= 0)
		close(fd);
	fd = open_pinned(dir, XGW_MAP_NEXTHOPS, sizeof(__u32), sizeof(nh), true);
	while (fd >= 0 && !bpf_map_get_next_key(fd, prev, &k)) {
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &nh)) {
			print_nexthop(k, &nh, XGW_MAP_NEXTHOPS);
			n++;
		}
	}
	if (fd >= 0)
		close(fd);
	if (!n)
		printf("  (none)\n");
}

/*
 * The L4 tier, when XDP is attached (its maps exist only then): mode, this
 * node, the ring slots the listeners use, the nodes with their share of the
 * current ring, the next hops, and the flow table's population.
 */
static void print_l4(const char *dir, int fd_l)
{
	char ip[XGW_IP_STRLEN];
	struct xgw_listener_key k, *prev = NULL;
	struct xgw_l4_config cfg;
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), zero = 0, ring = 0, prev_ring = 0, ring_size;
	int fd_c, fd_n, fd_r, fd_f;
	unsigned long flows = 0, share[XGW_MAX_NODES] = { 0 };
	struct xgw_flow_key fk, *fprev = NULL;
	bool have_ring = false;

	fd_c = open_pinned(dir, XGW_MAP_L4CFG, sizeof(zero), sizeof(cfg), true);
	if (fd_c < 0)
		return; /* no XDP: no L4 tier */
	fd_n = open_map(dir, XGW_MAP_NODES, __u32, struct xgw_node_val);
	fd_r = open_map(dir, XGW_MAP_RINGS, __u32, __u32);
	fd_f = open_map(dir, XGW_MAP_FLOWS, struct xgw_flow_key, struct xgw_flow_val);
	if (fd_n < 0 || fd_r < 0 || fd_f < 0 || bpf_map_lookup_elem(fd_c, &zero, &cfg))
		goto out;
	printf("\nL4 tier (%s): %s", XGW_MAP_L4CFG,
	       cfg.flags & XGW_L4_F_ENABLED ? "multi-node" : "single-node (everything local)");
	if (!(cfg.flags & XGW_L4_F_ENABLED)) {
		printf("\n");
		goto out;
	}
	printf(", this node id %u (%s)\n", cfg.self, ip_str(&cfg.self_addr, ip));
	while (!bpf_map_get_next_key(fd_l, prev, &k)) {
		struct xgw_listener_val v;

		prev = &k;
		if (!bpf_map_lookup_elem(fd_l, &k, &v) && (v.flags & XGW_LISTENER_F_RING)) {
			ring = v.ring;
			prev_ring = v.prev_ring;
			have_ring = true;
			break;
		}
	}
	if (bpf_obj_get_info_by_fd(fd_r, &info, &len))
		goto out;
	ring_size = info.max_entries / XGW_MAX_RINGS;
	if (have_ring) {
		printf("  ring slot %u (previous %u%s), %u entries per ring\n", ring, prev_ring,
		       ring == prev_ring ? ": no second chance yet" : "", ring_size);
		for (__u32 i = 0; i < ring_size; i++) {
			__u32 key = ring * ring_size + i, node;

			if (!bpf_map_lookup_elem(fd_r, &key, &node) && node < XGW_MAX_NODES)
				share[node]++;
		}
	}
	printf("  %-6s %-40s %10s\n", "node", "address", "ring share");
	for (__u32 id = 0; id < XGW_MAX_NODES; id++) {
		struct xgw_node_val nv;

		if (bpf_map_lookup_elem(fd_n, &id, &nv) || !(nv.flags & XGW_NODE_F_PRESENT))
			continue;
		printf("  %-6u %-40s %9.2f%%%s\n", id, ip_str(&nv.addr, ip),
		       ring_size ? 100.0 * share[id] / ring_size : 0.0,
		       id == cfg.self ? "  (self)" : "");
	}
	print_nexthops(dir);
	while (!bpf_map_get_next_key(fd_f, fprev, &fk) && flows < 100000000) {
		fprev = &fk;
		flows++;
	}
	printf("  flows in %s: %lu\n", XGW_MAP_FLOWS, flows);
out:
	close(fd_c);
	if (fd_n >= 0)
		close(fd_n);
	if (fd_r >= 0)
		close(fd_r);
	if (fd_f >= 0)
		close(fd_f);
}

static int cmd_maps(const char *dir)
{
	int ncpu = libbpf_num_possible_cpus();
	int fd_l, fd_s, fd_ls, fd_a;
	struct xgw_listener_key k, *prev = NULL;
	struct xgw_ip ak, *aprev = NULL;
	char ip[XGW_IP_STRLEN];
	__u64 *vals;
	struct xgw_lstats_val *lv;
	int rc = 0;

	if (ncpu <= 0)
		return 1;
	fd_a = open_map(dir, XGW_MAP_ADDRS, struct xgw_ip, struct xgw_addr_val);
	fd_l = open_map(dir, XGW_MAP_LISTENERS, struct xgw_listener_key, struct xgw_listener_val);
	fd_ls = open_map(dir, XGW_MAP_LSTATS, __u32, struct xgw_lstats_val);
	fd_s = open_map(dir, XGW_MAP_STATS, __u32, __u64);
	if (fd_a < 0 || fd_l < 0 || fd_ls < 0 || fd_s < 0)
		return 1;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	lv = calloc((size_t)ncpu, sizeof(*lv));
	if (!vals || !lv) {
		rc = 1;
		goto out;
	}
	printf("Gateway addresses (%s):\n", XGW_MAP_ADDRS);
	while (!bpf_map_get_next_key(fd_a, aprev, &ak)) {
		struct xgw_addr_val v;

		if (!bpf_map_lookup_elem(fd_a, &ak, &v))
			printf("  %-40s listeners %u\n", ip_str(&ak, ip), v.listeners);
		aprev = &ak;
	}
	printf("\nListeners (%s, counters from %s):\n", XGW_MAP_LISTENERS, XGW_MAP_LSTATS);
	printf("  %-46s %-5s %6s %12s %14s %10s %11s\n", "address:port", "proto", "id", "packets",
	       "bytes", "syns", "flow token");
	while (!bpf_map_get_next_key(fd_l, prev, &k)) {
		struct xgw_listener_val v;
		__u64 p = 0, b = 0, s = 0;
		char ap[80];

		prev = &k;
		if (bpf_map_lookup_elem(fd_l, &k, &v))
			continue;
		if (!bpf_map_lookup_elem(fd_ls, &v.id, lv))
			for (int c = 0; c < ncpu; c++) {
				p += lv[c].packets;
				b += lv[c].bytes;
				s += lv[c].syns;
			}
		snprintf(ap, sizeof(ap), k.ip.family == 6 ? "[%s]:%u" : "%s:%u", ip_str(&k.ip, ip),
			 ntohs(k.port));
		printf("  %-46s %-5s %6u %12llu %14llu %10llu %11u\n", ap,
		       k.proto == 6 ? "tcp" : "udp", v.id, (unsigned long long)p,
		       (unsigned long long)b, (unsigned long long)s, v.flow_token);
	}
	printf("\nXDP verdicts (%s):\n", XGW_MAP_STATS);
	for (__u32 i = 0; i < XGW_STAT__MAX; i++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(fd_s, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		printf("  %-18s %llu\n", xgw_stat_name((int)i), (unsigned long long)sum);
	}
	print_l4(dir, fd_l);
out:
	free(vals);
	free(lv);
	close(fd_a);
	close(fd_l);
	close(fd_ls);
	close(fd_s);
	return rc;
}

/* The counters the agent last got from each worker, one column per worker, then the total. */
static int cmd_workers(const char *path)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *ws, *w;
	size_t n, i;

	if (!root) {
		fprintf(stderr, "xgwctl: %s: %s (is xgw-agent running? see --workers-file)\n", path,
			jerr.text);
		return 1;
	}
	ws = json_object_get(root, "workers");
	n = json_array_size(ws);
	printf("%-16s", "worker");
	json_array_foreach(ws, i, w)
		printf(" %12lld", (long long)json_integer_value(json_object_get(w, "worker")));
	printf(" %14s\n%-16s", "total", "pid");
	json_array_foreach(ws, i, w)
		printf(" %12lld", (long long)json_integer_value(json_object_get(w, "pid")));
	printf("\n");
	for (int k = 0; k < XGW_WSTAT__MAX; k++) {
		unsigned long long total = 0;

		printf("%-16s", xgw_wstat_name(k));
		json_array_foreach(ws, i, w)
		{
			unsigned long long v = (unsigned long long)json_integer_value(
				json_object_get(w, xgw_wstat_name(k)));

			total += v;
			printf(" %12llu", v);
		}
		printf(" %14llu\n", total);
	}
	printf("(%zu workers; counters since each worker process started, sent every 2 s)\n", n);
	json_decref(root);
	return 0;
}

struct token_listener {
	__u32 token;
	struct xgw_listener_key key;
};

static int token_cmp(const void *a, const void *b)
{
	__u32 x = ((const struct token_listener *)a)->token;
	__u32 y = ((const struct token_listener *)b)->token;

	return x < y ? -1 : x > y;
}

/*
 * The flow table decoded: each flow's client, the listener its token names
 * (xgw_listeners), and the node that owns it (xgw_nodes), at most <limit>
 * flows, only those of <client> when given.
 */
static int cmd_flows(const char *dir, const char *client, unsigned long limit)
{
	int fd_l = -1, fd_f = -1, fd_n = -1, rc = 1;
	struct xgw_listener_key lk, *lprev = NULL;
	struct xgw_flow_key fk, *fprev = NULL;
	struct token_listener *tl = NULL;
	unsigned long total = 0, shown = 0;
	struct bpf_map_info info = { 0 };
	__u32 ilen = sizeof(info);
	size_t n = 0, cap = 0;
	__u8 want[16] = { 0 };
	int want_family = 0;

	if (client) {
		want_family = inet_pton(AF_INET, client, want) == 1    ? XGW_FAMILY_IPV4
			      : inet_pton(AF_INET6, client, want) == 1 ? XGW_FAMILY_IPV6
								       : 0;
		if (!want_family) {
			fprintf(stderr, "xgwctl: --client %s: not an IPv4 or IPv6 address\n",
				client);
			goto out;
		}
	}
	fd_l = open_map(dir, XGW_MAP_LISTENERS, struct xgw_listener_key, struct xgw_listener_val);
	if (fd_l < 0)
		goto out;
	fd_f = open_map(dir, XGW_MAP_FLOWS, struct xgw_flow_key, struct xgw_flow_val);
	fd_n = open_map(dir, XGW_MAP_NODES, __u32, struct xgw_node_val);
	if (fd_f < 0 || fd_n < 0 || bpf_obj_get_info_by_fd(fd_f, &info, &ilen))
		goto out;
	while (!bpf_map_get_next_key(fd_l, lprev, &lk)) {
		struct xgw_listener_val v;

		lprev = &lk;
		if (bpf_map_lookup_elem(fd_l, &lk, &v))
			continue;
		if (n == cap) {
			struct token_listener *bigger =
				realloc(tl, (cap = cap ? 2 * cap : 64) * sizeof(*tl));

			if (!bigger)
				goto out;
			tl = bigger;
		}
		tl[n++] = (struct token_listener){ .token = v.flow_token, .key = lk };
	}
	if (n)
		qsort(tl, n, sizeof(*tl), token_cmp);
	printf("%-46s %-52s %s\n", "client", "listener (flow token)", "node");
	for (__u32 i = 0; i < info.max_entries && !bpf_map_get_next_key(fd_f, fprev, &fk); i++) {
		struct token_listener probe = { .token = fk.listener }, *at;
		struct xgw_ip src = { .family = XGW_FAMILY_IPV4 };
		char ip[XGW_IP_STRLEN], ca[80], la[80];
		struct xgw_node_val nv;
		struct xgw_flow_val v;

		fprev = &fk;
		if (bpf_map_lookup_elem(fd_f, &fk, &v))
			continue;
		at = n ? bsearch(&probe, tl, n, sizeof(*tl), token_cmp) : NULL;
		/* The client's family is its listener's; without one, IPv4 when it fits. */
		if (at)
			src.family = at->key.ip.family;
		else
			for (int b = 4; b < 16; b++)
				if (fk.src[b])
					src.family = XGW_FAMILY_IPV6;
		memcpy(src.addr, fk.src, sizeof(fk.src));
		if (want_family && (want_family != src.family ||
				    memcmp(want, fk.src, want_family == XGW_FAMILY_IPV4 ? 4 : 16)))
			continue;
		total++;
		if (shown >= limit)
			continue;
		shown++;
		ip_str(&src, ip);
		if (fk.sport)
			snprintf(ca, sizeof(ca),
				 src.family == XGW_FAMILY_IPV6 ? "[%s]:%u" : "%s:%u", ip,
				 ntohs(fk.sport));
		else /* UDP hashed without the client port (--udp-3tuple) */
			snprintf(ca, sizeof(ca), src.family == XGW_FAMILY_IPV6 ? "[%s]:*" : "%s:*",
				 ip);
		if (at) {
			ip_str(&at->key.ip, ip);
			snprintf(la, sizeof(la),
				 at->key.ip.family == XGW_FAMILY_IPV6 ? "[%s]:%u %s (%u)"
								      : "%s:%u %s (%u)",
				 ip, ntohs(at->key.port),
				 at->key.proto == IPPROTO_TCP ? "tcp" : "udp", fk.listener);
		} else {
			snprintf(la, sizeof(la), "no listener (%u)", fk.listener);
		}
		if (!bpf_map_lookup_elem(fd_n, &v.node, &nv) && (nv.flags & XGW_NODE_F_PRESENT))
			printf("%-46s %-52s %u (%s)\n", ca, la, v.node, ip_str(&nv.addr, ip));
		else
			printf("%-46s %-52s %u (gone: its packets stay here)\n", ca, la, v.node);
	}
	printf("%lu flow%s%s, %lu shown\n", total, total == 1 ? "" : "s",
	       client ? " of that client" : "", shown);
	rc = 0;
out:
	free(tl);
	if (fd_l >= 0)
		close(fd_l);
	if (fd_f >= 0)
		close(fd_f);
	if (fd_n >= 0)
		close(fd_n);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "status-file", required_argument, NULL, 's' },
		{ "workers-file", required_argument, NULL, 'w' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "client", required_argument, NULL, 'c' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *status = "/run/xgw/status.json", *pin = XGW_PIN_DIR, *cmd;
	const char *workers = "/run/xgw/workers.json", *client = NULL;
	unsigned long limit = 100;
	char *end;
	int c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			status = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'w':
			workers = optarg;
			break;
		case 'c':
			client = optarg;
			break;
		case 'l':
			errno = 0;
			limit = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || optarg[0] == '-') {
				fprintf(stderr, "xgwctl: --limit %s: not a count\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!strcmp(cmd, "status"))
		return cmd_status(status);
	if (!strcmp(cmd, "maps"))
		return cmd_maps(pin);
	if (!strcmp(cmd, "workers"))
		return cmd_workers(workers);
	if (!strcmp(cmd, "flows"))
		return cmd_flows(pin, client, limit);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "xgwctl: unknown command %s\n", cmd);
	usage(stderr);
	return 2;
}
