// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-agent's command line: options, their defaults and checks.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maglev.h"
#include "opts.h"
#include "xgw/abi/maps.h"
#include "xgw/log.h"
#include "xgw/netaddr.h"

#define LISTENER_DRAIN_DEFAULT_S 30

static void usage(FILE *out)
{
	fprintf(out,
		"usage: xgw-agent --config-dir DIR [options]\n"
		"\n"
		"Standalone mode: reconcile the Gateway API manifests in DIR (*.yaml, *.yml;\n"
		"changes apply without restart) into XDP, sk_lookup and L7 workers.\n"
		"\n"
		"  --config-dir DIR       folder of YAML manifests (watched)\n"
		"  --address-pool CIDR    addresses for Gateways without spec.addresses\n"
		"                         (repeatable)\n"
		"  --interface IFACE      attach XDP to IFACE (repeatable; none: no XDP)\n"
		"  --xdp-mode MODE        auto (native, else generic), native or skb\n"
		"  --workers N            L7 worker processes (default: one per CPU)\n"
		"  --worker-bin PATH      xgw-worker binary (default: beside xgw-agent)\n"
		"  --pin-dir DIR          bpffs directory for maps and links (default %s)\n"
		"  --status-file PATH     where status is written (default /run/xgw/status.json)\n"
		"  --workers-file PATH    where the workers' counters are written every 2 s\n"
		"                         (default /run/xgw/workers.json)\n"
		"  --metrics ADDR:PORT    serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                         (127.0.0.1:9464, [::1]:9464, :9464 for any; default "
		"off)\n"
		"  --netns NAME|PATH      enter this network namespace first (keeps the host's\n"
		"                         mount namespace, so pins stay visible)\n"
		"  --no-routes            do not add local routes for Gateway addresses\n"
		"  --keep-bpf             leave programs attached and maps pinned on exit\n"
		"  --node-name NAME       this node's XgwNode (multi-node L4 tier; without it,\n"
		"                         or without XgwNode objects, everything is local)\n"
		"  --ring-size N          Maglev table size, a prime (default 65537)\n"
		"  --flow-table-size N    LRU flow table entries (default 262144)\n"
		"  --encap MODE           ipip (default) or gue, between nodes\n"
		"  --gue-port PORT        GUE destination port (default 6080)\n"
		"  --encap-mtu BYTES      largest encapsulated IP packet (default 1500)\n"
		"  --udp-3tuple           hash UDP flows without the client port\n"
		"  --icmp MODE            pass (default) or answer echo requests to Gateway\n"
		"                         addresses in XDP\n"
		"  --listener-drain S     a removed listener passes its established connections\n"
		"                         for S seconds, refusing new ones (default 30; 0: off)\n"
		"  --syn-rate N           answer SYNs with SYN cookies in XDP above N per second,\n"
		"                         listener and CPU (default 0: off; the stack must accept\n"
		"                         cookies: net.ipv4.tcp_syncookies=2)\n"
		"  --udp-idle-timeout-ms MS  a UDP session of the workers ends after MS without\n"
		"                         datagrams (default 60000)\n"
		"  --udp-max-sessions N   UDP sessions per worker (default 16384)\n"
		"  --log-level LEVEL      error, warn, info (default) or debug\n",
		"/sys/fs/bpf/xgw");
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int xgw_agent_opts_parse(int argc, char **argv, struct opts *o)
{
	enum {
		O_POOL = 256,
		O_IFACE,
		O_XDPMODE,
		O_WBIN,
		O_PIN,
		O_STATUS,
		O_WORKERS_FILE,
		O_METRICS,
		O_NETNS,
		O_NOROUTES,
		O_KEEP,
		O_LOG,
		O_NODE,
		O_RING,
		O_FLOWS,
		O_ENCAP,
		O_GUEPORT,
		O_MTU,
		O_UDP3,
		O_ICMP,
		O_SYNRATE,
		O_DRAIN,
		O_UDP_IDLE,
		O_UDP_MAX
	};
	static const struct option lo[] = {
		{ "config-dir", required_argument, NULL, 'c' },
		{ "address-pool", required_argument, NULL, O_POOL },
		{ "interface", required_argument, NULL, O_IFACE },
		{ "xdp-mode", required_argument, NULL, O_XDPMODE },
		{ "workers", required_argument, NULL, 'w' },
		{ "worker-bin", required_argument, NULL, O_WBIN },
		{ "pin-dir", required_argument, NULL, O_PIN },
		{ "status-file", required_argument, NULL, O_STATUS },
		{ "workers-file", required_argument, NULL, O_WORKERS_FILE },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "netns", required_argument, NULL, O_NETNS },
		{ "no-routes", no_argument, NULL, O_NOROUTES },
		{ "keep-bpf", no_argument, NULL, O_KEEP },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "node-name", required_argument, NULL, O_NODE },
		{ "ring-size", required_argument, NULL, O_RING },
		{ "flow-table-size", required_argument, NULL, O_FLOWS },
		{ "encap", required_argument, NULL, O_ENCAP },
		{ "gue-port", required_argument, NULL, O_GUEPORT },
		{ "encap-mtu", required_argument, NULL, O_MTU },
		{ "udp-3tuple", no_argument, NULL, O_UDP3 },
		{ "icmp", required_argument, NULL, O_ICMP },
		{ "syn-rate", required_argument, NULL, O_SYNRATE },
		{ "listener-drain", required_argument, NULL, O_DRAIN },
		{ "udp-idle-timeout-ms", required_argument, NULL, O_UDP_IDLE },
		{ "udp-max-sessions", required_argument, NULL, O_UDP_MAX },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum xgw_log_level lvl;
	int c;

	o->manage_routes = true;
	o->drain_ms = LISTENER_DRAIN_DEFAULT_S * 1000;
	o->status_file = "/run/xgw/status.json";
	o->workers_file = "/run/xgw/workers.json";
	o->log_level = "info";
	while ((c = getopt_long(argc, argv, "c:w:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_dir = optarg;
			break;
		case O_POOL:
			if (o->n_pools == MAX_POOLS ||
			    xgw_cidr_parse(optarg, &o->pools[o->n_pools].family,
					   o->pools[o->n_pools].addr,
					   &o->pools[o->n_pools].prefix)) {
				fprintf(stderr,
					"xgw-agent: --address-pool %s: expected a CIDR such "
					"as 10.23.100.0/24 (at most %d pools)\n",
					optarg, MAX_POOLS);
				return -EINVAL;
			}
			o->n_pools++;
			break;
		case O_IFACE:
			if (o->n_ifaces == MAX_IFACES) {
				fprintf(stderr, "xgw-agent: at most %d interfaces\n", MAX_IFACES);
				return -EINVAL;
			}
			o->ifaces[o->n_ifaces++] = optarg;
			break;
		case O_XDPMODE:
			if (!strcmp(optarg, "auto"))
				o->xdp_mode = XGW_XDP_AUTO;
			else if (!strcmp(optarg, "native"))
				o->xdp_mode = XGW_XDP_NATIVE;
			else if (!strcmp(optarg, "skb"))
				o->xdp_mode = XGW_XDP_SKB;
			else {
				fprintf(stderr, "xgw-agent: --xdp-mode %s: auto, native or skb\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'w': {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*end || n < 1 || n > 256) {
				fprintf(stderr, "xgw-agent: --workers %s: expected 1..256\n",
					optarg);
				return -EINVAL;
			}
			o->workers = (unsigned)n;
			o->workers_given = true;
			break;
		}
		case O_WBIN:
			o->worker_bin = optarg;
			break;
		case O_PIN:
			o->pin_dir = optarg;
			break;
		case O_STATUS:
			o->status_file = optarg;
			break;
		case O_WORKERS_FILE:
			o->workers_file = optarg;
			break;
		case O_METRICS:
			o->metrics = optarg;
			break;
		case O_NETNS:
			o->netns = optarg;
			break;
		case O_NOROUTES:
			o->manage_routes = false;
			break;
		case O_KEEP:
			o->keep_bpf = true;
			break;
		case O_LOG:
			if (xgw_log_parse_level(optarg, &lvl)) {
				fprintf(stderr,
					"xgw-agent: --log-level %s: error, warn, info or debug\n",
					optarg);
				return -EINVAL;
			}
			o->log_level = optarg;
			break;
		case O_NODE:
			o->node_name = optarg;
			break;
		case O_UDP_IDLE:
			if (parse_u32(optarg, 1, 24u * 3600 * 1000, &o->udp_idle_ms)) {
				fprintf(stderr,
					"xgw-agent: --udp-idle-timeout-ms %s: expected "
					"1..86400000\n",
					optarg);
				return -EINVAL;
			}
			break;
		case O_UDP_MAX:
			if (parse_u32(optarg, 1, 1u << 20, &o->udp_max_sessions)) {
				fprintf(stderr,
					"xgw-agent: --udp-max-sessions %s: expected 1..1048576\n",
					optarg);
				return -EINVAL;
			}
			break;
		case O_RING:
			if (parse_u32(optarg, 3, 1u << 24, &o->l4.ring_size) ||
			    !xgw_maglev_is_prime(o->l4.ring_size)) {
				fprintf(stderr, "xgw-agent: --ring-size %s: expected a prime\n",
					optarg);
				return -EINVAL;
			}
			break;
		case O_FLOWS:
			if (parse_u32(optarg, 1024, 1u << 27, &o->l4.flow_table_size)) {
				fprintf(stderr, "xgw-agent: --flow-table-size %s: 1024..2^27\n",
					optarg);
				return -EINVAL;
			}
			break;
		case O_ENCAP:
			if (!strcmp(optarg, "ipip"))
				o->l4.encap = XGW_ENCAP_IPIP;
			else if (!strcmp(optarg, "gue"))
				o->l4.encap = XGW_ENCAP_GUE;
			else {
				fprintf(stderr, "xgw-agent: --encap %s: ipip or gue\n", optarg);
				return -EINVAL;
			}
			break;
		case O_GUEPORT: {
			uint32_t port;

			if (parse_u32(optarg, 1, 65535, &port)) {
				fprintf(stderr, "xgw-agent: --gue-port %s: 1..65535\n", optarg);
				return -EINVAL;
			}
			o->l4.gue_port = (uint16_t)port;
			break;
		}
		case O_MTU:
			if (parse_u32(optarg, 576, 65535, &o->l4.encap_mtu)) {
				fprintf(stderr, "xgw-agent: --encap-mtu %s: 576..65535\n", optarg);
				return -EINVAL;
			}
			break;
		case O_UDP3:
			o->l4.udp_3tuple = true;
			break;
		case O_DRAIN: {
			uint32_t sec;

			if (parse_u32(optarg, 0, 86400, &sec)) {
				fprintf(stderr,
					"xgw-agent: --listener-drain %s: seconds, 0..86400\n",
					optarg);
				return -EINVAL;
			}
			o->drain_ms = sec * 1000;
			break;
		}
		case O_ICMP:
			if (!strcmp(optarg, "pass"))
				o->l4.icmp = XGW_ICMP_PASS;
			else if (!strcmp(optarg, "answer"))
				o->l4.icmp = XGW_ICMP_ANSWER;
			else {
				fprintf(stderr, "xgw-agent: --icmp %s: pass or answer\n", optarg);
				return -EINVAL;
			}
			break;
		case O_SYNRATE:
			if (parse_u32(optarg, 0, 100000000, &o->l4.syn_rate)) {
				fprintf(stderr,
					"xgw-agent: --syn-rate %s: SYNs per second, 0 = off\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xgw-agent: unexpected argument %s\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->config_dir) {
		fprintf(stderr, "xgw-agent: --config-dir is required (standalone mode)\n");
		usage(stderr);
		return -EINVAL;
	}
	if (!o->workers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		o->workers = n > 0 ? (unsigned)(n > 256 ? 256 : n) : 1;
	}
	return 0;
}
