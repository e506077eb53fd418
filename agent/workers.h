/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The worker supervisor. The agent owns each worker's listening socket (a
 * dual-stack TCP socket on [::]:ephemeral, steered to by sk_lookup through
 * the SOCKMAP), so a worker that crashes is restarted on the same socket and
 * the connections queued meanwhile are served, not refused.
 */
#ifndef XGW_AGENT_WORKERS_H
#define XGW_AGENT_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bpf_maps.h"
#include "xgw/ctl.h"

struct xgw_workers;

struct xgw_workers_opts {
	unsigned n;	 /* workers to run */
	const char *bin; /* path of xgw-worker */
	const char *log_level;
	uint32_t udp_idle_ms;	   /* the workers' --udp-idle-timeout-ms; 0: their default */
	uint32_t udp_max_sessions; /* their --udp-max-sessions; 0: their default */
	struct xgw_bpf *bpf;	   /* SOCKMAP to fill; may be NULL in tests */
};

int xgw_workers__start(const struct xgw_workers_opts *opts, struct xgw_workers **out);

/* Ask every worker to drain, wait up to <timeout_ms>, then kill the rest. */
void xgw_workers__stop(struct xgw_workers *ws, int timeout_ms);

/*
 * Hand snapshot <memfd> of generation <gen> (<size> bytes) to every worker, in
 * two phases (include/xgw/ctl.h): all prepare it, then all serve it, or one
 * refuses and none does. A change still being prepared is superseded. The
 * workers object keeps its own dup of <memfd> for restarted workers. A
 * worker that does not answer within 5 s is restarted.
 */
int xgw_workers_publish(struct xgw_workers *ws, int memfd, uint64_t gen, uint64_t size);

enum xgw_workers_outcome {
	XGW_WORKERS_PENDING,	/* being prepared */
	XGW_WORKERS_COMMITTED,	/* the workers serve it (see xgw_workers_acked) */
	XGW_WORKERS_REJECTED,	/* a worker refused it: nobody serves it */
	XGW_WORKERS_SUPERSEDED, /* a later change replaced it, or it is unknown */
};

struct xgw_workers_reject {
	uint64_t gen;	 /* 0: none yet */
	unsigned worker; /* which worker refused */
	int err;	 /* -errno it gave */
};

/* What became of generation <gen>; <rej> (may be NULL) says why it was rejected. */
enum xgw_workers_outcome xgw_workers_outcome(const struct xgw_workers *ws, uint64_t gen,
					     struct xgw_workers_reject *rej);

/* True when every worker has acknowledged generation <gen>. */
/* Ask every running worker for its counters (the replies are kept, see below). */
void xgw_workers_request_stats(struct xgw_workers *ws);
/*
 * Write the counters the workers last sent to <path> as JSON (through a
 * temporary file and a rename): {"workers": [{"worker", "pid", "running",
 * "age_ms", and one key per counter}]}. Returns 0 or -errno.
 */
int xgw_workers_stats_write(const struct xgw_workers *ws, const char *path);
/*
 * Worker <i>'s counters as it last sent them (zeros before the first reply),
 * whether it runs now, and their age in ms (-1: none yet).
 */
void xgw_workers_stats(const struct xgw_workers *ws, unsigned i, uint64_t stats[XGW_WSTAT__MAX],
		       bool *running, long long *age_ms);
/*
 * The responses per route worker <i> last sent: lines "<namespace>/<name>
 * <1xx> <2xx> <3xx> <4xx> <5xx>" (user/rstats.h), *<len> bytes; NULL: none yet.
 */
const char *xgw_workers_rstats(const struct xgw_workers *ws, unsigned i, size_t *len);
/* The same lines, summed, of the worker processes that are gone (restarted, retired). */
const char *xgw_workers_rstats_gone(const struct xgw_workers *ws, size_t *len);
bool xgw_workers_acked(const struct xgw_workers *ws, uint64_t gen);

/*
 * Run <n> workers from now on (1..XGW_MAX_WORKERS). More: the new ones start
 * and load the committed snapshot, and sk_lookup gives them new TCP
 * connections once each serves it (UDP flows stay on the workers they
 * have). Fewer: sk_lookup stops choosing the last ones at once (TCP and UDP);
 * after a grace period they drain, finishing their connections, and exit.
 * Returns 0, -EINVAL, -EBUSY while workers of the last resize still retire
 * (ask again later), or -errno of a new worker that could not start (the
 * count stays).
 */
int xgw_workers_resize(struct xgw_workers *ws, unsigned n);
/* The workers that serve: the last resize's count. */
unsigned xgw_workers_active(const struct xgw_workers *ws);

/* Control fds to poll (-1 for a worker that is down), and how many (retiring ones too). */
unsigned xgw_workers_count(const struct xgw_workers *ws);
int xgw_workers_ctl_fd(const struct xgw_workers *ws, unsigned i);

/* Read what worker <i> sent on its control socket. */
void xgw_workers_on_ctl(struct xgw_workers *ws, unsigned i);

/* Reap exited workers (on SIGCHLD); schedules their restart. */
void xgw_workers_reap(struct xgw_workers *ws);

/* Restart workers whose backoff has passed; returns ms until the next one is
 * due, or -1 when none is waiting. */
int xgw_workers_tick(struct xgw_workers *ws);

/*
 * Workers a previous agent left behind: the pids of <workers_file> (its
 * counters file, xgw_workers_stats_write()) that still run <worker_bin> and
 * whose parent is gone (reparented to init). A worker whose agent died keeps
 * serving its last snapshot; the next agent ends it once its own workers
 * serve. Returns how many were found (at most <max>, into <pids>).
 */
size_t xgw_workers_orphans(const char *workers_file, const char *worker_bin, pid_t *pids,
			   size_t max);
/* SIGTERM (drain, then exit) to those of <pids> that are still such orphans. */
void xgw_workers_end_orphans(const pid_t *pids, size_t n, const char *worker_bin);

#endif /* XGW_AGENT_WORKERS_H */
