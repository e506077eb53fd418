// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rstats_sum.h"
#include "workers.h"
#include "xgw/abi/maps.h"
#include "xgw/ctl.h"
#include "xgw/file.h"
#include "xgw/log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define HEALTHY_MS 10000 /* a worker up this long resets its backoff */
/* A running worker that has not answered a PREPARE this long is hung: restarted. */
#define PREPARE_TIMEOUT_MS 5000
/*
 * A worker that a smaller count retires keeps accepting this long after
 * sk_lookup stops choosing it, so that connections already in its accept
 * queue (handshakes under way when the count changed) are served; then it
 * drains like any worker: no new connections, the open ones finished.
 */
#define RETIRE_GRACE_MS 3000 /* the first SYN-ACK retransmit is at 1 s, the second at 3 s */
/* A retiring worker still alive this long after DRAIN (its own drain timeout
 * is 30 s) is killed, so that it cannot hold later resizes back. */
#define RETIRE_KILL_MS 40000
#define RSTATS_MAX (64 << 20) /* a worker's counters per route, at most */

struct worker {
	pid_t pid;	   /* 0: not running */
	int ctl;	   /* agent's end of the control socketpair, -1 when down */
	int listen_fd;	   /* owned by the agent for the worker's whole life */
	int udp_fd;	   /* the UDP listeners' socket, likewise */
	uint64_t acked;	   /* last generation acknowledged */
	uint64_t prepared; /* last generation it said PREPARED (ready) for */
	uint64_t started_ms;
	uint64_t restart_at_ms; /* 0: no restart pending */
	int backoff_ms;
	uint64_t stats[XGW_WSTAT__MAX]; /* the last XGW_CTL_STATS reply (counters since start) */
	uint64_t stats_ms;		/* when it came; 0: none yet */
	pid_t stats_pid;		/* of the process that sent it */
	uint64_t drain_at_ms;		/* retiring: when to send it DRAIN (0: sent) */
	uint64_t kill_at_ms;		/* retiring, DRAIN sent: when to stop waiting for it */
	char *rstats;			/* its last responses per route (user/rstats.h) */
	size_t rstats_len;
};

struct xgw_workers {
	struct xgw_workers_opts o;
	char *bin;
	char *log_level;
	/*
	 * Slots [0, n) hold workers; [0, active) serve, [active, n) retire (a
	 * smaller count: they drain and exit, then n comes down to active).
	 * sk_lookup spreads new TCP flows over [0, tcp_n) and UDP flows over
	 * [0, udp_n) (xgw_config): tcp_n grows to active once the new workers
	 * serve the committed snapshot; udp_n only ever comes down (to active),
	 * so that growing keeps every UDP flow on its worker.
	 */
	unsigned n, active, tcp_n, udp_n;
	struct worker *w;
	int snap_fd; /* the committed snapshot, for workers that (re)start */
	uint64_t snap_gen, snap_size;
	/* The change being prepared (pend_fd >= 0), see include/xgw/ctl.h. */
	int pend_fd;
	uint64_t pend_gen, pend_size, pend_started_ms;
	struct xgw_workers_reject rejected; /* the last change a worker refused */
	/* responses per route of worker processes that are gone, summed */
	char *rstats_gone;
	size_t rstats_gone_len;
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

/*
 * The socket sk_lookup steers the Gateway's UDP flows to: dual-stack [::] on
 * an ephemeral port, as the TCP one. The worker asks for each datagram's
 * original destination itself (IP_RECVORIGDSTADDR).
 */
static int udp_socket(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int fd, zero = 0, one = 1, err;

	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Send worker <i> a control message about generation <gen> (with <fd> if >= 0). */
static int send_ctl(struct xgw_workers *ws, unsigned i, uint32_t type, uint64_t gen, uint64_t size,
		    int fd)
{
	struct xgw_ctl_msg m = {
		.magic = XGW_CTL_MAGIC,
		.type = type,
		.generation = gen,
		.size = size,
	};
	int err;

	if (ws->w[i].ctl < 0)
		return 0;
	err = xgw_ctl_send(ws->w[i].ctl, &m, fd);
	if (err)
		log_warn("worker %u: sending control message %u for snapshot %llu: %s", i, type,
			 (unsigned long long)gen, strerror(-err));
	return err;
}

/* The committed snapshot, to a worker that starts. */
static int send_snapshot(struct xgw_workers *ws, unsigned i)
{
	if (ws->snap_fd < 0)
		return 0;
	return send_ctl(ws, i, XGW_CTL_SNAPSHOT, ws->snap_gen, ws->snap_size, ws->snap_fd);
}

static void worker_down(struct xgw_workers *ws, unsigned i);
static void shrink(struct xgw_workers *ws);

/*
 * Commit the pending change once every running worker has prepared it. A
 * worker that is down does not hold it up: it loads the committed snapshot
 * when it restarts.
 */
static void txn_check(struct xgw_workers *ws)
{
	if (ws->pend_fd < 0)
		return;
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].ctl >= 0 && ws->w[i].prepared != ws->pend_gen)
			return;
	if (ws->snap_fd >= 0)
		close(ws->snap_fd);
	ws->snap_fd = ws->pend_fd;
	ws->snap_gen = ws->pend_gen;
	ws->snap_size = ws->pend_size;
	ws->pend_fd = -1;
	for (unsigned i = 0; i < ws->n; i++)
		send_ctl(ws, i, XGW_CTL_COMMIT, ws->snap_gen, 0, -1);
	log_debug("snapshot %llu committed after %llu ms", (unsigned long long)ws->snap_gen,
		  (unsigned long long)(now_ms() - ws->pend_started_ms));
}

/* Worker <i> refused the pending change: nobody serves it. */
static void txn_abort(struct xgw_workers *ws, unsigned i, int err)
{
	uint64_t gen = ws->pend_gen;

	for (unsigned k = 0; k < ws->n; k++)
		send_ctl(ws, k, XGW_CTL_ABORT, gen, 0, -1);
	close(ws->pend_fd);
	ws->pend_fd = -1;
	ws->rejected = (struct xgw_workers_reject){ .gen = gen, .worker = i, .err = err };
	log_err("worker %u: cannot serve snapshot %llu: %s; aborted on every worker, "
		"generation %llu keeps serving",
		i, (unsigned long long)gen, strerror(-err), (unsigned long long)ws->snap_gen);
}

static int spawn(struct xgw_workers *ws, unsigned i)
{
	struct worker *w = &ws->w[i];
	char id[16];
	int sv[2], err;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	snprintf(id, sizeof(id), "%u", i);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		/* Child: control on fd 3, TCP listener on 4, UDP socket on 5, nothing else. */
		char idle[48], max[48];
		int c, l, u;
		char *argv[16] = { ws->bin, "--id",	   id,		 "--control-fd",
				   "3",	    "--listen-fd", "4",		 "--listen-fd",
				   "5",	    "--log-level", ws->log_level };
		int ac = 11;
		sigset_t all;

		if (ws->o.udp_idle_ms) {
			snprintf(idle, sizeof(idle), "--udp-idle-timeout-ms=%u", ws->o.udp_idle_ms);
			argv[ac++] = idle;
		}
		if (ws->o.udp_max_sessions) {
			snprintf(max, sizeof(max), "--udp-max-sessions=%u", ws->o.udp_max_sessions);
			argv[ac++] = max;
		}
		argv[ac] = NULL;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		/* Above 5 first, so that no dup2() below overwrites a descriptor still to be moved. */
		c = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
		l = fcntl(w->listen_fd, F_DUPFD_CLOEXEC, 10);
		u = fcntl(w->udp_fd, F_DUPFD_CLOEXEC, 10);

		if (c < 0 || l < 0 || u < 0 || dup2(c, 3) < 0 || dup2(l, 4) < 0 || dup2(u, 5) < 0)
			_exit(127);
		execv(ws->bin, argv);
		fprintf(stderr, "xgw-agent: exec %s: %s\n", ws->bin, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	w->pid = pid;
	w->ctl = sv[0];
	w->acked = w->prepared = 0;
	w->started_ms = now_ms();
	w->restart_at_ms = 0;
	log_info("worker %u: started, pid %d", i, (int)pid);
	err = send_snapshot(ws, i);
	/* A change under way is prepared by the newcomer too before it commits. */
	if (!err && ws->pend_fd >= 0)
		err = send_ctl(ws, i, XGW_CTL_PREPARE, ws->pend_gen, ws->pend_size, ws->pend_fd);
	return err;
}

/* Sockets and SOCKMAP slots for worker <i>, which is not running. 0 or -errno (logged). */
static int slot_init(struct xgw_workers *ws, unsigned i)
{
	struct worker *w = &ws->w[i];
	int err;

	*w = (struct worker){ .ctl = -1, .listen_fd = -1, .udp_fd = -1 };
	w->backoff_ms = BACKOFF_MIN_MS;
	w->listen_fd = listen_socket();
	if (w->listen_fd < 0) {
		log_err("worker %u: listening socket: %s", i, strerror(-w->listen_fd));
		return w->listen_fd;
	}
	w->udp_fd = udp_socket();
	if (w->udp_fd < 0) {
		log_err("worker %u: UDP socket: %s", i, strerror(-w->udp_fd));
		return w->udp_fd;
	}
	if (ws->o.bpf) {
		err = xgw_bpf_set_worker_sock(ws->o.bpf, i, w->listen_fd);
		if (!err)
			err = xgw_bpf_set_worker_udp_sock(ws->o.bpf, i, w->udp_fd);
		if (err) {
			log_err("worker %u: SOCKMAP insert: %s", i, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Worker <i> is gone for good (retired, or the pool stops): its sockets and slots too. */
static void slot_free(struct xgw_workers *ws, unsigned i)
{
	struct worker *w = &ws->w[i];

	if (ws->o.bpf && !ws->stopping)
		xgw_bpf_clear_worker(ws->o.bpf, i);
	if (w->ctl >= 0)
		close(w->ctl);
	if (w->listen_fd >= 0)
		close(w->listen_fd);
	if (w->udp_fd >= 0)
		close(w->udp_fd);
	w->ctl = w->listen_fd = w->udp_fd = -1;
	free(w->rstats);
	w->rstats = NULL;
	w->rstats_len = 0;
}

/* Tell sk_lookup how many workers to spread new flows over. */
static int set_counts(struct xgw_workers *ws, unsigned tcp_n, unsigned udp_n)
{
	int err = ws->o.bpf ? xgw_bpf_set_workers(ws->o.bpf, tcp_n, udp_n) : 0;

	if (err) {
		log_err("workers: set count in xgw_config: %s", strerror(-err));
		return err;
	}
	ws->tcp_n = tcp_n;
	ws->udp_n = udp_n;
	return 0;
}

int xgw_workers__start(const struct xgw_workers_opts *opts, struct xgw_workers **out)
{
	struct xgw_workers *ws = calloc(1, sizeof(*ws));
	int err = -ENOMEM;

	if (!ws)
		return -ENOMEM;
	ws->o = *opts;
	ws->n = ws->active = opts->n;
	ws->snap_fd = ws->pend_fd = -1;
	ws->bin = strdup(opts->bin);
	ws->log_level = strdup(opts->log_level ? opts->log_level : "info");
	ws->w = calloc(XGW_MAX_WORKERS, sizeof(*ws->w));
	if (!ws->bin || !ws->log_level || !ws->w || !ws->n || ws->n > XGW_MAX_WORKERS)
		goto err;
	for (unsigned i = 0; i < ws->n; i++)
		ws->w[i].ctl = ws->w[i].listen_fd = ws->w[i].udp_fd = -1;
	for (unsigned i = 0; i < ws->n; i++)
		if ((err = slot_init(ws, i)))
			goto err;
	if ((err = set_counts(ws, ws->n, ws->n)))
		goto err;
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

int xgw_workers_resize(struct xgw_workers *ws, unsigned n)
{
	unsigned old = ws->active;
	int err;

	if (!n || n > XGW_MAX_WORKERS)
		return -EINVAL;
	if (ws->n > ws->active)
		return -EBUSY; /* workers of the last change still retiring */
	if (n == old)
		return 0;
	if (n < old) {
		/* New flows go to the first n at once; the others retire. */
		/* workers a grow added that do not serve yet stay out of the count */
		if ((err = set_counts(ws, ws->tcp_n < n ? ws->tcp_n : n,
				      ws->udp_n < n ? ws->udp_n : n)))
			return err;
		ws->active = n;
		log_info("workers: %u -> %u; workers %u-%u take no new connections and drain", old,
			 n, n, old - 1);
		for (unsigned i = n; i < old; i++) {
			ws->w[i].drain_at_ms = now_ms() + RETIRE_GRACE_MS;
			/* one down (waiting for its restart) is not started to drain */
			if (ws->w[i].pid <= 0) {
				ws->w[i].restart_at_ms = 0;
				slot_free(ws, i);
			}
		}
		shrink(ws);
		return 0;
	}
	for (unsigned i = old; i < n; i++) {
		if ((err = slot_init(ws, i)) || ((err = spawn(ws, i)) && ws->w[i].pid <= 0)) {
			log_err("workers: %u -> %u: worker %u: %s; staying at %u", old, n, i,
				strerror(-err), old);
			for (unsigned k = old; k <= i; k++) {
				if (ws->w[k].pid > 0) {
					kill(ws->w[k].pid, SIGKILL);
					waitpid(ws->w[k].pid, NULL, 0);
					ws->w[k].pid = 0;
				}
				slot_free(ws, k);
			}
			return err;
		}
	}
	ws->n = ws->active = n;
	/* sk_lookup takes them once they serve the snapshot (xgw_workers_tick()) */
	log_info("workers: %u -> %u; the new ones take connections once they serve generation "
		 "%llu",
		 old, n, (unsigned long long)ws->snap_gen);
	return 0;
}

unsigned xgw_workers_active(const struct xgw_workers *ws)
{
	return ws->active;
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
		if (ws->w[i].udp_fd >= 0)
			close(ws->w[i].udp_fd);
		free(ws->w[i].rstats);
	}
	if (ws->snap_fd >= 0)
		close(ws->snap_fd);
	if (ws->pend_fd >= 0)
		close(ws->pend_fd);
	free(ws->rstats_gone);
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
	/* A change still being prepared is superseded: the workers replace it. */
	if (ws->pend_fd >= 0)
		close(ws->pend_fd);
	ws->pend_fd = fd;
	ws->pend_gen = gen;
	ws->pend_size = size;
	ws->pend_started_ms = now_ms();
	for (unsigned i = 0; i < ws->n; i++)
		if (send_ctl(ws, i, XGW_CTL_PREPARE, gen, size, fd))
			worker_down(ws, i); /* its socket is broken: SIGCHLD follows */
	txn_check(ws);
	return 0;
}

enum xgw_workers_outcome xgw_workers_outcome(const struct xgw_workers *ws, uint64_t gen,
					     struct xgw_workers_reject *rej)
{
	if (ws->pend_fd >= 0 && ws->pend_gen == gen)
		return XGW_WORKERS_PENDING;
	if (ws->snap_fd >= 0 && ws->snap_gen == gen)
		return XGW_WORKERS_COMMITTED;
	if (ws->rejected.gen == gen) {
		if (rej)
			*rej = ws->rejected;
		return XGW_WORKERS_REJECTED;
	}
	return XGW_WORKERS_SUPERSEDED;
}

void xgw_workers_request_stats(struct xgw_workers *ws)
{
	struct xgw_ctl_msg m = { .magic = XGW_CTL_MAGIC, .type = XGW_CTL_STATS };

	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].ctl >= 0)
			xgw_ctl_send(ws->w[i].ctl, &m, -1);
}

void xgw_workers_stats(const struct xgw_workers *ws, unsigned i, uint64_t stats[XGW_WSTAT__MAX],
		       bool *running, long long *age_ms)
{
	const struct worker *w = &ws->w[i];

	memcpy(stats, w->stats, sizeof(w->stats));
	*running = w->pid > 0;
	*age_ms = w->stats_ms ? (long long)(now_ms() - w->stats_ms) : -1LL;
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
	if (fclose(f)) {
		int err = -errno;

		unlink(tmp);
		return err;
	}
	return xgw_file_replace(tmp, path);
}

bool xgw_workers_acked(const struct xgw_workers *ws, uint64_t gen)
{
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].acked < gen && (i < ws->active || ws->w[i].pid > 0))
			return false; /* a retired worker that has exited serves nothing */
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
	/* The change under way no longer waits for it. */
	txn_check(ws);
}

/* The responses per route a worker sent beside its counters (a sealed memfd). */
static void read_rstats(struct worker *w, int fd)
{
	struct stat st;
	char *p;
	size_t n = 0;

	int seals = fcntl(fd, F_GET_SEALS);

	/* a sealed memfd only: reading it cannot block, and it cannot change under us */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 0 || st.st_size > RSTATS_MAX ||
	    seals < 0 ||
	    (seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)) !=
		    (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)) {
		log_warn("worker pid %d: counters per route: bad memfd", (int)w->pid);
		return;
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p)
		return;
	while (n < (size_t)st.st_size) {
		ssize_t r = pread(fd, p + n, (size_t)st.st_size - n, (off_t)n);

		if (r <= 0) {
			free(p);
			return;
		}
		n += (size_t)r;
	}
	p[n] = '\0';
	free(w->rstats);
	w->rstats = p;
	w->rstats_len = n;
}

/*
 * Worker <i>'s process is gone (restarted or retired): what it counted joins
 * the sum of those gone, so that the totals never go down.
 */
static void rstats_bury(struct xgw_workers *ws, unsigned i)
{
	struct worker *w = &ws->w[i];
	struct xgw_rsums sums = { 0 };
	char *text = NULL;
	size_t len = 0;

	if (!w->rstats)
		return;
	if (xgw_rsums_parse(&sums, ws->rstats_gone, ws->rstats_gone_len) ||
	    xgw_rsums_parse(&sums, w->rstats, w->rstats_len) ||
	    (xgw_rsums_merge(&sums), xgw_rsums_text(&sums, &text, &len))) {
		log_warn("worker %u: out of memory keeping its counters per route", i);
	} else {
		free(ws->rstats_gone);
		ws->rstats_gone = text;
		ws->rstats_gone_len = len;
	}
	xgw_rsums_free(&sums);
	free(w->rstats);
	w->rstats = NULL;
	w->rstats_len = 0;
}

const char *xgw_workers_rstats_gone(const struct xgw_workers *ws, size_t *len)
{
	*len = ws->rstats_gone_len;
	return ws->rstats_gone;
}

const char *xgw_workers_rstats(const struct xgw_workers *ws, unsigned i, size_t *len)
{
	*len = ws->w[i].rstats_len;
	return ws->w[i].rstats;
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
		if (fd >= 0 && m.type == XGW_CTL_STATS)
			read_rstats(w, fd);
		if (fd >= 0)
			close(fd);
		if (m.type == XGW_CTL_STATS) {
			for (int k = 0; k < XGW_WSTAT__MAX; k++)
				w->stats[k] = m.stats[k];
			w->stats_ms = now_ms();
			w->stats_pid = w->pid;
			continue;
		}
		if (m.type == XGW_CTL_PREPARED) {
			if (ws->pend_fd < 0 || m.generation != ws->pend_gen)
				continue; /* superseded or decided already */
			if (m.err) {
				txn_abort(ws, i, m.err);
				continue;
			}
			w->prepared = m.generation;
			txn_check(ws);
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

/* The slots of retired workers that are gone come off the end. */
static void shrink(struct xgw_workers *ws)
{
	unsigned n = ws->n;

	while (ws->n > ws->active && ws->w[ws->n - 1].pid <= 0)
		ws->n--;
	if (ws->n == ws->active && n != ws->n)
		log_info("workers: %u, every retired one gone", ws->n);
}

/* Retiring worker <i> exited (wait status <status>): its slot goes, and the pool shrinks. */
static void retired(struct xgw_workers *ws, unsigned i, int status)
{
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		log_info("worker %u: retired", i);
	else
		log_warn("worker %u: retired, ended by %s %d", i,
			 WIFSIGNALED(status) ? "signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	slot_free(ws, i);
	shrink(ws);
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
			/* what it sent before it exited first (its last counters) */
			xgw_workers_on_ctl(ws, i);
			w->pid = 0;
			worker_down(ws, i);
			rstats_bury(ws, i);
			if (ws->stopping)
				break;
			if (i >= ws->active) {
				retired(ws, i, status);
				break;
			}
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

	if (ws->pend_fd >= 0 && !ws->stopping) {
		uint64_t due = ws->pend_started_ms + PREPARE_TIMEOUT_MS;

		if (due <= now) {
			/* Hung: it would hold every change back. It restarts on the
			 * committed snapshot and prepares the pending one. */
			for (unsigned i = 0; i < ws->n; i++) {
				struct worker *w = &ws->w[i];

				if (w->ctl < 0 || w->prepared == ws->pend_gen)
					continue;
				log_err("worker %u (pid %d): no answer to snapshot %llu in %d ms; "
					"restarting it",
					i, (int)w->pid, (unsigned long long)ws->pend_gen,
					PREPARE_TIMEOUT_MS);
				if (w->pid > 0)
					kill(w->pid, SIGKILL);
				worker_down(ws, i);
			}
		} else {
			next = (int)(due - now);
		}
	}

	/* Workers added by a resize: sk_lookup takes them once each serves the snapshot. */
	if (ws->tcp_n < ws->active && !ws->stopping && ws->snap_fd >= 0) {
		unsigned i = ws->tcp_n;

		/* serving a snapshot, as a restarted worker takes connections again */
		while (i < ws->active && ws->w[i].pid > 0 && ws->w[i].acked)
			i++;
		if (i == ws->active && !set_counts(ws, ws->active, ws->udp_n))
			log_info("workers: %u take new connections", ws->active);
	}
	/* Workers a resize retires: DRAIN once their grace is over. */
	for (unsigned i = ws->active; i < ws->n && !ws->stopping; i++) {
		struct worker *w = &ws->w[i];

		uint64_t due;

		if (w->pid <= 0)
			continue;
		if (w->drain_at_ms && w->drain_at_ms <= now) {
			struct xgw_ctl_msg m = { .magic = XGW_CTL_MAGIC, .type = XGW_CTL_DRAIN };

			w->drain_at_ms = 0;
			w->kill_at_ms = now + RETIRE_KILL_MS;
			if (w->ctl < 0 || xgw_ctl_send(w->ctl, &m, -1))
				kill(w->pid, SIGTERM);
		} else if (w->kill_at_ms && w->kill_at_ms <= now) {
			log_warn("worker %u (pid %d): retiring, still running %d ms after DRAIN; "
				 "killing it",
				 i, (int)w->pid, RETIRE_KILL_MS);
			kill(w->pid, SIGKILL);
			w->kill_at_ms = 0;
		}
		due = w->drain_at_ms ? w->drain_at_ms : w->kill_at_ms;
		if (due && (next < 0 || (int)(due - now) < next))
			next = (int)(due - now);
	}
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];

		if (!w->restart_at_ms || ws->stopping || i >= ws->active)
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

/* The parent of <pid> from /proc/<pid>/stat, or -1. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int ppid = -1;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

/* <pid> runs the worker binary <bin> (a real path) and its agent is gone. */
static bool is_orphan(pid_t pid, const char *bin)
{
	char path[64], exe[PATH_MAX];
	ssize_t len;

	if (pid <= 1 || pid == getpid())
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	if (len <= 0)
		return false;
	exe[len] = '\0';
	/* another program now, or a worker some agent still runs */
	return !strcmp(exe, bin) && parent_of(pid) == 1;
}

size_t xgw_workers_orphans(const char *workers_file, const char *worker_bin, pid_t *pids,
			   size_t max)
{
	char bin[PATH_MAX], line[4096];
	size_t n = 0;
	FILE *f;

	if (!realpath(worker_bin, bin))
		return 0;
	f = fopen(workers_file, "re");
	if (!f)
		return 0;
	/* One worker a line, as xgw_workers_stats_write() writes them. */
	while (n < max && fgets(line, sizeof(line), f)) {
		char *at = strstr(line, "\"pid\": ");
		int pid;

		if (at && sscanf(at + 7, "%d", &pid) == 1 && is_orphan(pid, bin))
			pids[n++] = pid;
	}
	fclose(f);
	return n;
}

void xgw_workers_end_orphans(const pid_t *pids, size_t n, const char *worker_bin)
{
	char bin[PATH_MAX];

	if (!n || !realpath(worker_bin, bin))
		return;
	for (size_t i = 0; i < n; i++) {
		if (!is_orphan(pids[i], bin))
			continue; /* gone meanwhile */
		log_info("worker pid %d of a previous agent: draining it (SIGTERM), ours serve",
			 (int)pids[i]);
		kill(pids[i], SIGTERM);
	}
}
