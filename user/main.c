// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-worker: the L7 data plane. Spawned by the agent with inherited,
 * already listening sockets and a control socket:
 *
 *   xgw-worker --id K --control-fd FD --listen-fd FD [--listen-fd FD ...]
 *              [--log-level debug|info|warn|error]
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

#define MAX_LISTEN_FDS 64

static void usage(FILE *f)
{
	fprintf(f, "usage: xgw-worker --id K --control-fd FD --listen-fd FD [--listen-fd FD ...]\n"
		   "                  [--log-level debug|info|warn|error]\n");
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
			     : "log-level",
		optarg);
	usage(stderr);
	return 2;
}
