// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The worker's event loop: one epoll instance, edge-triggered for
 * connections, level-triggered for listening sockets (a bounded accept batch
 * per wakeup keeps accepting fair to established connections), the control
 * channel and a signalfd. Timers are per-kind lists (loop.h) whose heads give
 * the epoll_wait timeout: no timerfd, no scan over connections. Timeouts
 * whose duration comes from the configuration live in one min-heap, whose
 * top joins the list heads there.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xgw/ctl.h"
#include "xgw/log.h"

#include "conn.h"
#include "h2.h"
#include "h2up.h"
#include "loop.h"
#include "mirror.h"
#include "rewrite.h"
#include "router.h"
#include "rstats.h"
#include "tls.h"
#include "upstls.h"
#include "udp.h"
#include "upstream.h"

#define MAX_EVENTS 256
#define ACCEPT_BATCH 64
#define ACCEPT_PAUSE_MS 100
#define MAX_FREE_BUFS 1024

/* clang-format off */
static const uint32_t timer_dur[XGW_T__MAX] = {
	[XGW_T_HEADER] = XGW_HEADER_TIMEOUT_MS,
	[XGW_T_KEEPALIVE] = XGW_KEEPALIVE_TIMEOUT_MS,
	[XGW_T_EXCHANGE] = XGW_RESPONSE_TIMEOUT_MS,
	[XGW_T_TUNNEL] = XGW_TUNNEL_TIMEOUT_MS,
	[XGW_T_LINGER] = XGW_LINGER_TIMEOUT_MS,
	[XGW_T_CONNECT] = XGW_CONNECT_TIMEOUT_MS,
	[XGW_T_POOL_IDLE] = XGW_POOL_IDLE_TIMEOUT_MS,
	[XGW_T_MIRROR] = XGW_MIRROR_TIMEOUT_MS,
	[XGW_T_H2_IDLE] = XGW_KEEPALIVE_TIMEOUT_MS,
	[XGW_T_UDP] = XGW_UDP_IDLE_TIMEOUT_MS,
	[XGW_T_H2UP_CONNECT] = XGW_CONNECT_TIMEOUT_MS,
	[XGW_T_H2UP_IDLE] = XGW_POOL_IDLE_TIMEOUT_MS,
};
/* clang-format on */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct xgw_buf *xgw_buf_get(struct xgw_worker *w)
{
	struct xgw_buf *b = w->free_bufs;

	if (b) {
		w->free_bufs = b->next_free;
		w->n_free_bufs--;
	} else {
		b = malloc(sizeof(*b));
		if (!b)
			return NULL;
	}
	b->start = b->end = 0;
	return b;
}

void xgw_buf_put(struct xgw_worker *w, struct xgw_buf *b)
{
	if (!b)
		return;
	if (w->n_free_bufs >= MAX_FREE_BUFS) {
		free(b);
		return;
	}
	b->next_free = w->free_bufs;
	w->free_bufs = b;
	w->n_free_bufs++;
}

int xgw_dtimer_reserve(struct xgw_worker *w, uint32_t n)
{
	struct xgw_dtimer **h;
	uint32_t cap = w->dheap_cap ? w->dheap_cap : 64;

	if (n <= w->dheap_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	h = realloc(w->dheap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	w->dheap = h;
	w->dheap_cap = cap;
	return 0;
}

static void dheap_place(struct xgw_worker *w, struct xgw_dtimer *t, uint32_t i)
{
	w->dheap[i] = t;
	t->slot = i + 1;
}

static void dheap_up(struct xgw_worker *w, uint32_t i)
{
	struct xgw_dtimer *t = w->dheap[i];

	while (i) {
		uint32_t p = (i - 1) / 2;

		if (w->dheap[p]->deadline <= t->deadline)
			break;
		dheap_place(w, w->dheap[p], i);
		i = p;
	}
	dheap_place(w, t, i);
}

static void dheap_down(struct xgw_worker *w, uint32_t i)
{
	struct xgw_dtimer *t = w->dheap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= w->dheap_n)
			break;
		if (c + 1 < w->dheap_n && w->dheap[c + 1]->deadline < w->dheap[c]->deadline)
			c++;
		if (t->deadline <= w->dheap[c]->deadline)
			break;
		dheap_place(w, w->dheap[c], i);
		i = c;
	}
	dheap_place(w, t, i);
}

void xgw_dtimer_disarm(struct xgw_worker *w, struct xgw_dtimer *t)
{
	uint32_t i;
	struct xgw_dtimer *last;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	last = w->dheap[--w->dheap_n];
	if (last == t)
		return;
	w->dheap[i] = last;
	last->slot = i + 1;
	dheap_up(w, i);
	dheap_down(w, last->slot - 1);
}

void xgw_dtimer_arm(struct xgw_worker *w, struct xgw_dtimer *t, uint32_t ms)
{
	xgw_dtimer_disarm(w, t);
	if (w->dheap_n == w->dheap_cap)
		return;
	t->deadline = w->now + ms;
	w->dheap[w->dheap_n] = t;
	t->slot = ++w->dheap_n;
	dheap_up(w, w->dheap_n - 1);
}

void xgw_snapref_put(struct xgw_worker *w, struct xgw_snapref *sr)
{
	if (!sr || --sr->refs)
		return;
	log_debug("snapshot generation %llu released", (unsigned long long)sr->snap.generation);
	xgw_tls_set__free(sr->tls);
	xgw_upstls_set__free(sr->uptls);
	xgw_router__free(sr->router);
	free(sr->rule_ctr);
	munmap(sr->map, sr->map_len);
	free(sr);
}

static int epoll_add(struct xgw_worker *w, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/*
 * XGW_FAILPOINT_SNAPSHOT_REJECT="<worker id>:<hostname>": that worker refuses
 * every snapshot with a vhost for <hostname>, as a worker that cannot build
 * its state would. The tests of the agent's two-phase commit use it to make
 * one worker of several say no; a deployment never sets it.
 */
static void failpoint_init(struct xgw_worker *w)
{
	const char *v = getenv("XGW_FAILPOINT_SNAPSHOT_REJECT");
	char *end;
	unsigned long id;

	if (!v || !*v)
		return;
	errno = 0;
	id = strtoul(v, &end, 10);
	if (errno || end == v || *end != ':' || !end[1]) {
		log_warn("XGW_FAILPOINT_SNAPSHOT_REJECT=%s: expected <worker id>:<hostname>; "
			 "ignored",
			 v);
		return;
	}
	if (id != w->id)
		return;
	w->failpoint_reject_host = end + 1;
	log_warn("failpoint: rejecting snapshots that serve %s", w->failpoint_reject_host);
}

static bool failpoint_rejects(const struct xgw_worker *w, const struct xgw_snapshot *snap)
{
	size_t n;

	if (!w->failpoint_reject_host)
		return false;
	n = strlen(w->failpoint_reject_host);
	for (uint32_t i = 0; i < snap->n_vhosts; i++)
		if (snap->vhosts[i].hostname.len == n &&
		    !memcmp(xgw_snap_str_ptr(snap, snap->vhosts[i].hostname),
			    w->failpoint_reject_host, n))
			return true;
	return false;
}

int xgw_worker_init(struct xgw_worker *w, const struct xgw_worker_opts *o)
{
	sigset_t mask;
	int err;

	memset(w, 0, sizeof(*w));
	w->id = o->id;
	w->epfd = -1;
	w->sig_fd = -1;
	w->ctl_fd = o->ctl_fd;
	w->ctl_ev.type = XGW_EV_CTL;
	w->sig_ev.type = XGW_EV_SIGNAL;
	for (int k = 0; k < XGW_T__MAX; k++) {
		w->timers[k].head.prev = w->timers[k].head.next = &w->timers[k].head;
		w->timers[k].dur_ms = timer_dur[k];
	}
	if (o->udp_idle_ms)
		w->timers[XGW_T_UDP].dur_ms = o->udp_idle_ms;
	w->lsocks = calloc(o->n_listen_fds ? o->n_listen_fds : 1, sizeof(*w->lsocks));
	w->rstats = xgw_rstats__new();
	if (!w->lsocks || !w->rstats) {
		for (uint32_t i = 0; i < o->n_listen_fds; i++)
			close(o->listen_fds[i]);
		return -ENOMEM;
	}
	w->n_lsocks = o->n_listen_fds;
	for (uint32_t i = 0; i < o->n_listen_fds; i++) {
		w->lsocks[i].ev.type = XGW_EV_LISTEN;
		w->lsocks[i].fd = o->listen_fds[i];
	}
	w->now = now_ms();
	xgw_rewrite_init();
	failpoint_init(w);

	/* Writes to a closed socket return EPIPE rather than kill the worker. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	w->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sig_fd < 0) {
		err = -errno;
		log_err("signalfd: %s", strerror(-err));
		return err;
	}
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		err = -errno;
		log_err("epoll_create1: %s", strerror(-err));
		return err;
	}
	err = epoll_add(w, w->sig_fd, EPOLLIN, &w->sig_ev);
	if (err)
		return err;
	if (w->ctl_fd >= 0) {
		err = set_nonblock_cloexec(w->ctl_fd);
		if (!err)
			err = epoll_add(w, w->ctl_fd, EPOLLIN, &w->ctl_ev);
		if (err) {
			log_err("control fd %d: %s", w->ctl_fd, strerror(-err));
			return err;
		}
	}
	for (uint32_t i = 0; i < w->n_lsocks; i++) {
		struct xgw_lsock *ls = &w->lsocks[i];
		int type = 0;
		socklen_t tl = sizeof(type);

		err = set_nonblock_cloexec(ls->fd);
		if (!err && getsockopt(ls->fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
			err = -errno;
		if (!err && type == SOCK_DGRAM) {
			/* UDP listeners' socket: datagrams, not accepts (udp.c) */
			err = xgw_udp_add_socket(w, ls->fd, o->udp_max_sessions);
			ls->fd = -1;
			if (err) {
				log_err("UDP socket: %s", strerror(-err));
				return err;
			}
			continue;
		}
		if (!err)
			err = epoll_add(w, ls->fd, EPOLLIN, ls);
		if (err) {
			log_err("listening fd %d: %s", ls->fd, strerror(-err));
			return err;
		}
		ls->registered = true;
	}
	return 0;
}

static void lsocks_pause(struct xgw_worker *w)
{
	for (uint32_t i = 0; i < w->n_lsocks; i++) {
		struct xgw_lsock *ls = &w->lsocks[i];

		if (ls->fd >= 0 && ls->registered) {
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, ls->fd, NULL);
			ls->registered = false;
		}
	}
}

static void lsocks_resume(struct xgw_worker *w)
{
	w->accept_paused = false;
	for (uint32_t i = 0; i < w->n_lsocks; i++) {
		struct xgw_lsock *ls = &w->lsocks[i];

		if (ls->fd >= 0 && !ls->registered && !epoll_add(w, ls->fd, EPOLLIN, ls))
			ls->registered = true;
	}
}

static void accept_batch(struct xgw_worker *w, struct xgw_lsock *ls)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(ls->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			switch (errno) {
			case EINTR:
			case ECONNABORTED:
				continue;
			case EAGAIN:
				return;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/* Level-triggered: retrying at once would spin. */
				log_warn("accept: %s: pausing accepts for %d ms", strerror(errno),
					 ACCEPT_PAUSE_MS);
				lsocks_pause(w);
				w->accept_paused = true;
				w->accept_resume = w->now + ACCEPT_PAUSE_MS;
				return;
			default:
				log_warn("accept on fd %d: %s", ls->fd, strerror(errno));
				return;
			}
		}
		xgw_conn_accept(w, fd, (struct sockaddr *)&ss);
	}
}

void xgw_worker_drain(struct xgw_worker *w)
{
	struct xgw_conn *c, *next;

	if (w->draining)
		return;
	log_info("draining: %u connections open", w->n_conns);
	w->draining = true;
	w->drain_deadline = w->now + XGW_DRAIN_TIMEOUT_MS;
	/* Our copies only: the agent keeps its own, so the backlog survives. */
	lsocks_pause(w);
	for (uint32_t i = 0; i < w->n_lsocks; i++) {
		if (w->lsocks[i].fd >= 0)
			close(w->lsocks[i].fd);
		w->lsocks[i].fd = -1;
	}
	xgw_h2_drain_all(w);
	xgw_udp_drain(w);
	for (c = w->conns; c; c = next) {
		next = c->next;
		xgw_conn_drain(c);
	}
}

static void ctl_reply(struct xgw_worker *w, uint32_t type, uint64_t generation, int err)
{
	struct xgw_ctl_msg m = {
		.magic = XGW_CTL_MAGIC,
		.type = type,
		.generation = generation,
		.err = err,
		.worker = w->id,
	};
	int rc, fd = -1;

	if (type == XGW_CTL_STATS) {
		w->stats[XGW_WSTAT_CONNS_ACTIVE] = w->n_conns;
		for (int i = 0; i < XGW_WSTAT__MAX; i++)
			m.stats[i] = w->stats[i];
		/* the counters per route, when some moved since the last reply */
		fd = w->rstats ? xgw_rstats_memfd(w->rstats) : -1;
		if (fd < -1)
			log_warn("counters per route: %s", strerror(-fd));
	}
	rc = xgw_ctl_send(w->ctl_fd, &m, fd);
	if (fd >= 0)
		close(fd);
	if (rc)
		log_warn("control reply (type %u): %s", type, strerror(-rc));
}

/* Map the memfd <fd> (consumed), check it and build its router. */
static int snapshot_load(struct xgw_worker *w, int fd, struct xgw_snapref **out)
{
	struct xgw_snapref *sr;
	struct stat st;
	int err, seals;

	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto err_close;
	}
	if (st.st_size <= 0) {
		err = -EINVAL;
		goto err_close;
	}
	/*
	 * Only a sealed memfd is safe to read in place: a writer could change
	 * indexes after the check, a shrink would turn reads into SIGBUS.
	 */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 ||
	    (seals & (F_SEAL_WRITE | F_SEAL_SHRINK)) != (F_SEAL_WRITE | F_SEAL_SHRINK)) {
		err = -EPERM;
		goto err_close;
	}
	sr = calloc(1, sizeof(*sr));
	if (!sr) {
		err = -ENOMEM;
		goto err_close;
	}
	sr->map_len = (size_t)st.st_size;
	sr->map = mmap(NULL, sr->map_len, PROT_READ, MAP_SHARED, fd, 0);
	if (sr->map == MAP_FAILED) {
		err = -errno;
		goto err_free;
	}
	close(fd);
	fd = -1;
	err = xgw_snapshot__open(&sr->snap, sr->map, sr->map_len);
	if (err)
		goto err_unmap;
	if (failpoint_rejects(w, &sr->snap)) {
		err = -ECANCELED;
		goto err_unmap;
	}
	/* the serving router's compiled expressions, where the texts are the same */
	sr->router = xgw_router__new(&sr->snap, w->snap ? w->snap->router : NULL);
	if (!sr->router) {
		err = -errno;
		goto err_unmap;
	}
	xgw_router_set_load(sr->router, xgw_endpoint_load, w,
			    ((uint64_t)w->id << 32) ^ (uint64_t)getpid() ^ w->now);
	err = xgw_tls_set__new(w, &sr->snap, &sr->tls);
	if (err) {
		xgw_router__free(sr->router);
		goto err_unmap;
	}
	err = xgw_upstls_set__new(w, &sr->snap, &sr->uptls);
	if (err) {
		xgw_tls_set__free(sr->tls);
		xgw_router__free(sr->router);
		goto err_unmap;
	}
	sr->rule_ctr = calloc(sr->snap.n_rules + 1, sizeof(*sr->rule_ctr));
	if (!sr->rule_ctr) {
		err = -ENOMEM;
		xgw_upstls_set__free(sr->uptls);
		xgw_tls_set__free(sr->tls);
		xgw_router__free(sr->router);
		goto err_unmap;
	}
	sr->refs = 1;
	sr->seq = ++w->snap_seq;
	*out = sr;
	return 0;

err_unmap:
	munmap(sr->map, sr->map_len);
err_free:
	free(sr);
err_close:
	if (fd >= 0)
		close(fd);
	return err;
}

/* Serve <sr> from now on: new requests take it, those in flight keep theirs. */
static void snapshot_install(struct xgw_worker *w, struct xgw_snapref *sr)
{
	struct xgw_snapref *old = w->snap;

	w->snap = sr;
	xgw_snapref_put(w, old);
	xgw_pools_sweep(w, &sr->snap);
	xgw_tls_cache_sweep(w);
	xgw_upstls_cache_sweep(w);
	xgw_conns_listeners_gone(w);
	log_info("serving snapshot generation %llu: %u listeners, %u vhosts, %u endpoints",
		 (unsigned long long)sr->snap.generation, sr->snap.n_listeners, sr->snap.n_vhosts,
		 sr->snap.n_endpoints);
}

/* Map and check the snapshot of <m> (fd consumed); log a refusal. */
static int snapshot_receive(struct xgw_worker *w, const struct xgw_ctl_msg *m, int fd,
			    struct xgw_snapref **out)
{
	int err;

	if (fd < 0) {
		log_warn("snapshot generation %llu came without a memfd",
			 (unsigned long long)m->generation);
		return -EINVAL;
	}
	err = snapshot_load(w, fd, out);
	if (err)
		log_warn("snapshot generation %llu rejected: %s; still serving %llu",
			 (unsigned long long)m->generation, strerror(-err),
			 w->snap ? (unsigned long long)w->snap->snap.generation : 0ULL);
	return err;
}

/* XGW_CTL_SNAPSHOT: a worker that starts gets the agent's current snapshot. */
static void ctl_snapshot(struct xgw_worker *w, const struct xgw_ctl_msg *m, int fd)
{
	struct xgw_snapref *sr = NULL;
	int err = snapshot_receive(w, m, fd, &sr);

	if (!err)
		snapshot_install(w, sr);
	ctl_reply(w, XGW_CTL_ACK, m->generation, err);
}

/* XGW_CTL_PREPARE: everything that can fail happens here, none of it visible. */
static void ctl_prepare(struct xgw_worker *w, const struct xgw_ctl_msg *m, int fd)
{
	struct xgw_snapref *sr = NULL;
	int err;

	/* A newer change supersedes one still waiting. */
	xgw_snapref_put(w, w->prepared);
	w->prepared = NULL;
	err = snapshot_receive(w, m, fd, &sr);
	if (!err) {
		w->prepared = sr;
		log_debug("snapshot generation %llu prepared", (unsigned long long)m->generation);
	}
	ctl_reply(w, XGW_CTL_PREPARED, m->generation, err);
}

/* XGW_CTL_COMMIT and XGW_CTL_ABORT of the prepared generation. */
static void ctl_decide(struct xgw_worker *w, const struct xgw_ctl_msg *m)
{
	struct xgw_snapref *sr = w->prepared;

	if (!sr || sr->snap.generation != m->generation) {
		if (m->type == XGW_CTL_COMMIT) {
			log_warn("commit of snapshot generation %llu, which is not prepared",
				 (unsigned long long)m->generation);
			ctl_reply(w, XGW_CTL_ACK, m->generation, -ESTALE);
		}
		return;
	}
	w->prepared = NULL;
	if (m->type == XGW_CTL_ABORT) {
		log_info("snapshot generation %llu aborted; still serving %llu",
			 (unsigned long long)m->generation,
			 w->snap ? (unsigned long long)w->snap->snap.generation : 0ULL);
		xgw_snapref_put(w, sr);
		return;
	}
	snapshot_install(w, sr);
	ctl_reply(w, XGW_CTL_ACK, m->generation, 0);
}

static void ctl_close(struct xgw_worker *w, const char *why)
{
	log_warn("control channel %s: agent gone, serving snapshot generation %llu", why,
		 w->snap ? (unsigned long long)w->snap->snap.generation : 0ULL);
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->ctl_fd, NULL);
	close(w->ctl_fd);
	w->ctl_fd = -1;
}

static void ctl_event(struct xgw_worker *w)
{
	/* Bounded: a flood of control messages does not starve connections. */
	for (int i = 0; i < 64 && w->ctl_fd >= 0; i++) {
		struct xgw_ctl_msg m;
		int fd, rc = xgw_ctl_recv(w->ctl_fd, &m, &fd);

		if (rc == -EAGAIN)
			return;
		if (rc == -EBADMSG) {
			log_warn("control channel: malformed message dropped");
			continue;
		}
		if (rc) {
			ctl_close(w, rc == -EPIPE ? "closed" : strerror(-rc));
			return;
		}
		switch (m.type) {
		case XGW_CTL_SNAPSHOT:
			ctl_snapshot(w, &m, fd);
			fd = -1;
			break;
		case XGW_CTL_PREPARE:
			ctl_prepare(w, &m, fd);
			fd = -1;
			break;
		case XGW_CTL_COMMIT:
		case XGW_CTL_ABORT:
			ctl_decide(w, &m);
			break;
		case XGW_CTL_DRAIN:
			xgw_worker_drain(w);
			break;
		case XGW_CTL_STATS:
			ctl_reply(w, XGW_CTL_STATS, w->snap ? w->snap->snap.generation : 0, 0);
			break;
		default:
			log_warn("control channel: unknown message type %u", m.type);
			break;
		}
		if (fd >= 0)
			close(fd);
	}
}

static void signal_event(struct xgw_worker *w)
{
	struct signalfd_siginfo si;

	while (read(w->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("signal %u", si.ssi_signo);
			xgw_worker_drain(w);
		}
	}
}

static void run_timers(struct xgw_worker *w)
{
	for (int k = 0; k < XGW_T__MAX; k++) {
		struct xgw_tlist *l = &w->timers[k];

		while (l->head.next != &l->head && l->head.next->deadline <= w->now) {
			struct xgw_timer *t = l->head.next;

			xgw_timer_disarm(t);
			if (k <= XGW_T_CLIENT_LAST)
				xgw_conn_timeout(container_of(t, struct xgw_conn, timer));
			else if (k <= XGW_T_UPSTREAM_LAST)
				xgw_upconn_timeout(w, container_of(t, struct xgw_upconn, timer));
			else if (k == XGW_T_MIRROR)
				xgw_mirror_timeout(w, container_of(t, struct xgw_mirror, timer));
			else if (k == XGW_T_UDP)
				xgw_udp_timeout(w, t);
			else if (k == XGW_T_H2UP_CONNECT || k == XGW_T_H2UP_IDLE)
				xgw_h2up_timer(w, t);
			else
				xgw_h2_timer(t);
		}
	}
	while (w->dheap_n && w->dheap[0]->deadline <= w->now) {
		struct xgw_dtimer *t = w->dheap[0];

		xgw_dtimer_disarm(w, t);
		xgw_conn_deadline(t);
	}
}

/* Milliseconds until the first deadline, or -1 for none. */
static int next_timeout(const struct xgw_worker *w)
{
	uint64_t first = UINT64_MAX;

	for (int k = 0; k < XGW_T__MAX; k++) {
		const struct xgw_tlist *l = &w->timers[k];

		if (l->head.next != &l->head && l->head.next->deadline < first)
			first = l->head.next->deadline;
	}
	if (w->dheap_n && w->dheap[0]->deadline < first)
		first = w->dheap[0]->deadline;
	/* HTTP/2 work the bounded flush rounds left over: no sleeping on it */
	if (w->h2_dirty || w->h2up_dirty || w->h2up_nrun)
		return 0;
	if (w->draining && w->drain_deadline < first)
		first = w->drain_deadline;
	if (w->accept_paused && w->accept_resume < first)
		first = w->accept_resume;
	if (first == UINT64_MAX)
		return -1;
	if (first <= w->now)
		return 0;
	return first - w->now > 3600000 ? 3600000 : (int)(first - w->now);
}

int xgw_worker_run(struct xgw_worker *w)
{
	struct epoll_event evs[MAX_EVENTS];

	log_info("worker %u running: %u listening sockets", w->id, w->n_lsocks);
	for (;;) {
		int n = epoll_wait(w->epfd, evs, MAX_EVENTS, next_timeout(w));

		if (n < 0 && errno != EINTR) {
			int err = -errno;

			log_err("epoll_wait: %s", strerror(-err));
			return err;
		}
		w->now = now_ms();
		for (int i = 0; i < n; i++) {
			struct xgw_ev *ev = evs[i].data.ptr;

			switch (ev->type) {
			case XGW_EV_CLIENT:
				xgw_conn_event((struct xgw_conn *)ev, evs[i].events);
				break;
			case XGW_EV_UPSTREAM:
				xgw_upconn_event(w, (struct xgw_upconn *)ev, evs[i].events);
				break;
			case XGW_EV_LISTEN:
				if (!w->draining)
					accept_batch(w, (struct xgw_lsock *)ev);
				break;
			case XGW_EV_CTL:
				ctl_event(w);
				break;
			case XGW_EV_SIGNAL:
				signal_event(w);
				break;
			case XGW_EV_MIRROR:
				xgw_mirror_event(w, (struct xgw_mirror *)ev, evs[i].events);
				break;
			case XGW_EV_H2:
				xgw_h2_event((struct xgw_h2 *)ev, evs[i].events);
				break;
			case XGW_EV_UDP:
			case XGW_EV_UDP_UP:
				xgw_udp_event(w, ev, evs[i].events);
				break;
			case XGW_EV_H2UP:
				xgw_h2up_event((struct xgw_h2up *)ev, evs[i].events);
				break;
			}
		}
		run_timers(w);
		/* Each side may wake the other's streams: a client's request, a backend's answer. */
		for (int k = 0; k < 8; k++) {
			xgw_h2_flush_all(w);
			if (!xgw_h2up_flush_all(w) && !w->h2_dirty)
				break;
		}
		if (w->accept_paused && !w->draining && w->now >= w->accept_resume)
			lsocks_resume(w);
		xgw_conns_reap(w);
		xgw_upconns_reap(w);
		xgw_h2up_reap(w);
		xgw_mirrors_reap(w);
		if (w->draining && ((!w->n_conns && !w->n_h2) || w->now >= w->drain_deadline)) {
			log_info("drained: %u connections left, exiting", w->n_conns);
			/* the last counters, so that the agent's totals miss nothing */
			if (w->ctl_fd >= 0)
				ctl_reply(w, XGW_CTL_STATS, w->snap ? w->snap->snap.generation : 0,
					  0);
			return 0;
		}
	}
}

void xgw_worker_fini(struct xgw_worker *w)
{
	xgw_h2_free_all(w);
	xgw_udp_free(w);
	xgw_conns_free(w);
	xgw_mirrors_free(w);
	xgw_h2up_free_all(w);
	xgw_pools_free(w);
	free(w->dheap);
	w->dheap = NULL;
	w->dheap_n = w->dheap_cap = 0;
	xgw_snapref_put(w, w->snap);
	w->snap = NULL;
	xgw_snapref_put(w, w->prepared);
	w->prepared = NULL;
	xgw_tls_cache_free(w);
	xgw_upstls_cache_free(w);
	xgw_rstats__free(w->rstats);
	w->rstats = NULL;
	while (w->free_bufs) {
		struct xgw_buf *b = w->free_bufs;

		w->free_bufs = b->next_free;
		free(b);
	}
	w->n_free_bufs = 0;
	for (uint32_t i = 0; w->lsocks && i < w->n_lsocks; i++)
		if (w->lsocks[i].fd >= 0)
			close(w->lsocks[i].fd);
	free(w->lsocks);
	w->lsocks = NULL;
	if (w->ctl_fd >= 0)
		close(w->ctl_fd);
	if (w->sig_fd >= 0)
		close(w->sig_fd);
	if (w->epfd >= 0)
		close(w->epfd);
	w->ctl_fd = w->sig_fd = w->epfd = -1;
}
