// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-worker: the L7 data plane. Spawned by the agent with inherited,
 * already listening sockets and a control socket:
 *
 *   xgw-worker --id K --control-fd FD --listen-fd FD [--listen-fd FD ...]
 *              [--log-level debug|info|warn|error]
 *              [--udp-idle-timeout-ms MS] [--udp-max-sessions N]
 *
 * A --listen-fd may be a TCP listening socket or a UDP socket (UDP
 * listeners' datagrams); the worker tells them apart by their type.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "xgw/log.h"

#include "loop.h"
#include "udp.h"

#define MAX_LISTEN_FDS 64

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xgw-worker --id K --control-fd FD --listen-fd FD [--listen-fd FD ...]\n"
		"                  [--log-level debug|info|warn|error]\n"
		"                  [--udp-idle-timeout-ms MS] [--udp-max-sessions N]\n"
		"  --udp-idle-timeout-ms  a UDP session without datagrams ends (default %d)\n"
		"  --udp-max-sessions     UDP sessions per worker; new clients are dropped\n"
		"                         beyond (default %d)\n",
		XGW_UDP_IDLE_TIMEOUT_MS, XGW_UDP_MAX_SESSIONS);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *out > max)
		return -EINVAL;
	return 0;
}

/* One descriptor per connection: take what the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			log_warn("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "control-fd", required_argument, NULL, 'c' },
		{ "listen-fd", required_argument, NULL, 'l' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "udp-idle-timeout-ms", required_argument, NULL, 'U' },
		{ "udp-max-sessions", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	enum xgw_log_level level = XGW_LOG_INFO;
	int listen_fds[MAX_LISTEN_FDS];
	struct xgw_worker_opts o = { .ctl_fd = -1, .listen_fds = listen_fds };
	struct xgw_worker w;
	unsigned long v;
	char comp[32];
	bool have_id = false;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (parse_uint(optarg, UINT32_MAX, &v))
				goto bad_arg;
			o.id = (uint32_t)v;
			have_id = true;
			break;
		case 'c':
			if (parse_uint(optarg, INT_MAX, &v))
				goto bad_arg;
			o.ctl_fd = (int)v;
			break;
		case 'l':
			if (parse_uint(optarg, INT_MAX, &v) || o.n_listen_fds == MAX_LISTEN_FDS)
				goto bad_arg;
			listen_fds[o.n_listen_fds++] = (int)v;
			break;
		case 'L':
			if (xgw_log_parse_level(optarg, &level))
				goto bad_arg;
			break;
		case 'U':
			if (parse_uint(optarg, 24UL * 3600 * 1000, &v) || !v)
				goto bad_arg;
			o.udp_idle_ms = (uint32_t)v;
			break;
		case 'S':
			if (parse_uint(optarg, 1UL << 20, &v) || !v)
				goto bad_arg;
			o.udp_max_sessions = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!have_id || o.ctl_fd < 0 || !o.n_listen_fds || optind != argc) {
		usage(stderr);
		return 2;
	}
	snprintf(comp, sizeof(comp), "worker/%u", o.id);
	xgw_log_init(comp, level);
	raise_nofile();

	err = xgw_worker_init(&w, &o);
	if (!err)
		err = xgw_worker_run(&w);
	xgw_worker_fini(&w);
	if (err) {
		log_err("exiting: %s", strerror(-err));
		return 1;
	}
	return 0;

bad_arg:
	fprintf(stderr, "xgw-worker: bad value for --%s: %s\n",
		opt == 'i'   ? "id"
		: opt == 'c' ? "control-fd"
		: opt == 'l' ? "listen-fd"
		: opt == 'U' ? "udp-idle-timeout-ms"
		: opt == 'S' ? "udp-max-sessions"
			     : "log-level",
		optarg);
	usage(stderr);
	return 2;
}
