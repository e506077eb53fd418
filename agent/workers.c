// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "workers.h"
#include "xgw/ctl.h"
#include "xgw/log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define HEALTHY_MS 10000 /* a worker up this long resets its backoff */

struct worker {
	pid_t pid;	/* 0: not running */
	int ctl;	/* agent's end of the control socketpair, -1 when down */
	int listen_fd;	/* owned by the agent for the worker's whole life */
	uint64_t acked; /* last generation acknowledged */
	uint64_t started_ms;
	uint64_t restart_at_ms; /* 0: no restart pending */
	int backoff_ms;
	uint64_t stats[XGW_WSTAT__MAX]; /* the last XGW_CTL_STATS reply (counters since start) */
	uint64_t stats_ms;		/* when it came; 0: none yet */
	pid_t stats_pid;		/* of the process that sent it */
};

struct xgw_workers {
	struct xgw_workers_opts o;
	char *bin;
	char *log_level;
	unsigned n;
	struct worker *w;
	int snap_fd; /* the current snapshot, for workers that (re)start */
	uint64_t snap_gen, snap_size;
	bool stopping;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int listen_socket(void)
{
	/* [::] on an ephemeral port: a socket bound to [::1] is IPv6-only in the
	 * kernel's eyes and bpf_sk_assign() refuses IPv4 flows onto it. */
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int fd, zero = 0, one = 1, err;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Dual-stack: sk_lookup assigns IPv4 flows to it too. */
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4096)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int send_snapshot(struct xgw_workers *ws, unsigned i)
{
	struct xgw_ctl_msg m = {
		.magic = XGW_CTL_MAGIC,
		.type = XGW_CTL_SNAPSHOT,
		.generation = ws->snap_gen,
		.size = ws->snap_size,
	};
	int err;

	if (ws->snap_fd < 0 || ws->w[i].ctl < 0)
		return 0;
	err = xgw_ctl_send(ws->w[i].ctl, &m, ws->snap_fd);
	if (err)
		log_warn("worker %u: sending snapshot %llu: %s", i,
			 (unsigned long long)ws->snap_gen, strerror(-err));
	return err;
}

static int spawn(struct xgw_workers *ws, unsigned i)
{
	struct worker *w = &ws->w[i];
	char id[16];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	snprintf(id, sizeof(id), "%u", i);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		/* Child: control on fd 3, listener on fd 4, nothing else inherited. */
		char *argv[] = { ws->bin,	"--id",	       id,  "--control-fd",
				 "3",		"--listen-fd", "4", "--log-level",
				 ws->log_level, NULL };
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (dup2(sv[1], 3) < 0 || dup2(w->listen_fd, 4) < 0)
			_exit(127);
		execv(ws->bin, argv);
		fprintf(stderr, "xgw-agent: exec %s: %s\n", ws->bin, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	w->pid = pid;
	w->ctl = sv[0];
	w->acked = 0;
	w->started_ms = now_ms();
	w->restart_at_ms = 0;
	log_info("worker %u: started, pid %d", i, (int)pid);
	return send_snapshot(ws, i);
}

int xgw_workers__start(const struct xgw_workers_opts *opts, struct xgw_workers **out)
{
	struct xgw_workers *ws = calloc(1, sizeof(*ws));
	int err = -ENOMEM;

	if (!ws)
		return -ENOMEM;
	ws->o = *opts;
	ws->n = opts->n;
	ws->snap_fd = -1;
	ws->bin = strdup(opts->bin);
	ws->log_level = strdup(opts->log_level ? opts->log_level : "info");
	ws->w = calloc(ws->n, sizeof(*ws->w));
	if (!ws->bin || !ws->log_level || !ws->w)
		goto err;
	for (unsigned i = 0; i < ws->n; i++)
		ws->w[i].ctl = ws->w[i].listen_fd = -1;
	for (unsigned i = 0; i < ws->n; i++) {
		ws->w[i].listen_fd = listen_socket();
		if (ws->w[i].listen_fd < 0) {
			err = ws->w[i].listen_fd;
			log_err("worker %u: listening socket: %s", i, strerror(-err));
			goto err;
		}
		ws->w[i].backoff_ms = BACKOFF_MIN_MS;
		if (opts->bpf) {
			err = xgw_bpf_set_worker_sock(opts->bpf, i, ws->w[i].listen_fd);
			if (err) {
				log_err("worker %u: SOCKMAP insert: %s", i, strerror(-err));
				goto err;
			}
		}
	}
	if (opts->bpf && (err = xgw_bpf_set_workers(opts->bpf, ws->n))) {
		log_err("workers: set count in xgw_config: %s", strerror(-err));
		goto err;
	}
	for (unsigned i = 0; i < ws->n; i++) {
		err = spawn(ws, i);
		if (err && ws->w[i].pid <= 0) {
			log_err("worker %u: start %s: %s", i, ws->bin, strerror(-err));
			goto err;
		}
	}
	*out = ws;
	return 0;
err:
	xgw_workers__stop(ws, 0);
	return err;
}

void xgw_workers__stop(struct xgw_workers *ws, int timeout_ms)
{
	struct xgw_ctl_msg m = { .magic = XGW_CTL_MAGIC, .type = XGW_CTL_DRAIN };
	uint64_t deadline;
	unsigned alive;

	if (!ws)
		return;
	ws->stopping = true;
	for (unsigned i = 0; i < ws->n; i++) {
		if (ws->w[i].pid <= 0)
			continue;
		if (ws->w[i].ctl < 0 || xgw_ctl_send(ws->w[i].ctl, &m, -1))
			kill(ws->w[i].pid, SIGTERM);
	}
	deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	do {
		alive = 0;
		for (unsigned i = 0; i < ws->n; i++) {
			if (ws->w[i].pid <= 0)
				continue;
			if (waitpid(ws->w[i].pid, NULL, WNOHANG) == ws->w[i].pid)
				ws->w[i].pid = 0;
			else
				alive++;
		}
		if (alive && now_ms() < deadline)
			usleep(10000);
	} while (alive && now_ms() < deadline);
	for (unsigned i = 0; i < ws->n; i++) {
		if (ws->w[i].pid > 0) {
			log_warn("worker %u: did not drain in time, killing pid %d", i,
				 (int)ws->w[i].pid);
			kill(ws->w[i].pid, SIGKILL);
			waitpid(ws->w[i].pid, NULL, 0);
		}
		if (ws->w[i].ctl >= 0)
			close(ws->w[i].ctl);
		if (ws->w[i].listen_fd >= 0)
			close(ws->w[i].listen_fd);
	}
	if (ws->snap_fd >= 0)
		close(ws->snap_fd);
	free(ws->w);
	free(ws->bin);
	free(ws->log_level);
	free(ws);
}

int xgw_workers_publish(struct xgw_workers *ws, int memfd, uint64_t gen, uint64_t size)
{
	int fd = fcntl(memfd, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return -errno;
	if (ws->snap_fd >= 0)
		close(ws->snap_fd);
	ws->snap_fd = fd;
	ws->snap_gen = gen;
	ws->snap_size = size;
	for (unsigned i = 0; i < ws->n; i++)
		send_snapshot(ws, i);
	return 0;
}

void xgw_workers_request_stats(struct xgw_workers *ws)
{
	struct xgw_ctl_msg m = { .magic = XGW_CTL_MAGIC, .type = XGW_CTL_STATS };

	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].ctl >= 0)
			xgw_ctl_send(ws->w[i].ctl, &m, -1);
}

int xgw_workers_stats_write(const struct xgw_workers *ws, const char *path)
{
	char tmp[4096];
	FILE *f;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "{\"workers\": [");
	for (unsigned i = 0; i < ws->n; i++) {
		const struct worker *w = &ws->w[i];

		fprintf(f, "%s\n  {\"worker\": %u, \"pid\": %d, \"running\": %s, \"age_ms\": %lld",
			i ? "," : "", i, (int)w->stats_pid, w->pid > 0 ? "true" : "false",
			w->stats_ms ? (long long)(now_ms() - w->stats_ms) : -1LL);
		for (int k = 0; k < XGW_WSTAT__MAX; k++)
			fprintf(f, ", \"%s\": %llu", xgw_wstat_name(k),
				(unsigned long long)w->stats[k]);
		fprintf(f, "}");
	}
	fprintf(f, "\n]}\n");
	if (fclose(f) || rename(tmp, path)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return 0;
}

bool xgw_workers_acked(const struct xgw_workers *ws, uint64_t gen)
{
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].acked < gen)
			return false;
	return true;
}

unsigned xgw_workers_count(const struct xgw_workers *ws)
{
	return ws->n;
}

int xgw_workers_ctl_fd(const struct xgw_workers *ws, unsigned i)
{
	return ws->w[i].ctl;
}

static void worker_down(struct xgw_workers *ws, unsigned i)
{
	struct worker *w = &ws->w[i];

	if (w->ctl >= 0) {
		close(w->ctl);
		w->ctl = -1;
	}
}

void xgw_workers_on_ctl(struct xgw_workers *ws, unsigned i)
{
	struct worker *w = &ws->w[i];
	struct xgw_ctl_msg m;
	int fd, err;

	while (w->ctl >= 0) {
		err = xgw_ctl_recv(w->ctl, &m, &fd);
		if (err == -EAGAIN)
			return;
		if (err) {
			/* EOF: the worker exited; SIGCHLD tells when and how. */
			worker_down(ws, i);
			return;
		}
		if (fd >= 0)
			close(fd);
		if (m.type == XGW_CTL_STATS) {
			for (int k = 0; k < XGW_WSTAT__MAX; k++)
				w->stats[k] = m.stats[k];
			w->stats_ms = now_ms();
			w->stats_pid = w->pid;
			continue;
		}
		if (m.type == XGW_CTL_ACK) {
			if (m.err) {
				log_err("worker %u: rejected snapshot %llu: %s; it keeps serving "
					"generation %llu",
					i, (unsigned long long)m.generation, strerror(-m.err),
					(unsigned long long)w->acked);
			} else {
				w->acked = m.generation;
				log_debug("worker %u: serving snapshot %llu", i,
					  (unsigned long long)m.generation);
			}
		}
	}
}

void xgw_workers_reap(struct xgw_workers *ws)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < ws->n; i++) {
			struct worker *w = &ws->w[i];
			uint64_t now = now_ms();

			if (w->pid != pid)
				continue;
			w->pid = 0;
			worker_down(ws, i);
			if (ws->stopping)
				break;
			if (now - w->started_ms > HEALTHY_MS)
				w->backoff_ms = BACKOFF_MIN_MS;
			if (WIFSIGNALED(status))
				log_err("worker %u (pid %d) killed by signal %d; restarting in %d "
					"ms",
					i, (int)pid, WTERMSIG(status), w->backoff_ms);
			else
				log_err("worker %u (pid %d) exited with %d; restarting in %d ms", i,
					(int)pid, WEXITSTATUS(status), w->backoff_ms);
			w->restart_at_ms = now + (uint64_t)w->backoff_ms;
			w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
									   : w->backoff_ms * 2;
			break;
		}
	}
}

int xgw_workers_tick(struct xgw_workers *ws)
{
	uint64_t now = now_ms();
	int next = -1;

	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		if (!w->restart_at_ms || ws->stopping)
			continue;
		if (w->restart_at_ms <= now) {
			int err = spawn(ws, i);

			if (err && w->pid <= 0) {
				log_err("worker %u: restart: %s", i, strerror(-err));
				w->restart_at_ms = now + (uint64_t)w->backoff_ms;
			}
		}
		if (w->restart_at_ms) {
			int ms = (int)(w->restart_at_ms > now ? w->restart_at_ms - now : 0);

			if (next < 0 || ms < next)
				next = ms;
		}
	}
	return next;
}
