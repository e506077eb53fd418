// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-agent: reads Gateway API objects (standalone: a folder of YAML),
 * reconciles them, and programs the node: BPF maps, local routes for the
 * Gateway addresses, the workers' routing snapshot, and status.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpf_maps.h"
#include "maglev.h"
#include "metrics.h"
#include "netlink.h"
#include "opts.h"
#include "reconcile.h"
#include "source_files.h"
#include "status.h"
#include "warnings.h"
#include "workers.h"
#include "xgw/abi/maps.h"
#include "xgw/ctl.h"
#include "xgw/log.h"
#include "xgw/netaddr.h"

#define DEBOUNCE_MS 15	 /* while a file is being written: coalesce an editor's save */
#define SETTLE_MS 1	 /* after whole files (renamed, closed, deleted): coalesce a burst */
#define MAX_WRITING 64	 /* files followed while open for writing */
#define MAX_ORPHANS 64	 /* a previous agent's workers that still run */
#define ACK_WAIT_MS 1000 /* how long BPF waits for every worker to ack a snapshot */

/*
 * A reconcile result with the store it points into, shared by the agent and
 * the status writer, which reads it from its thread but lets it go on the
 * event loop's (xgw_status_writer_reap()): freed here when the last goes.
 */
struct held {
	struct xgw_reconcile_result res;
	struct xgw_store *st;
	uint64_t shape;		/* of st (xgw_files_load()) */
	uint64_t statuses;	/* the status writer's id of res's statuses (shared with base) */
	uint64_t prev_statuses; /* of the result its route statuses' same_as count in */
	/* a result of the endpoint fast path: the full pass whose statuses it shares */
	struct held *base;
	int refs; /* only the event loop's thread changes it */
};

static void held_put(struct held *h)
{
	struct held *base;

	if (!h || --h->refs)
		return;
	base = h->base;
	xgw_reconcile_result__free(&h->res);
	xgw_store__free(h->st);
	free(h);
	held_put(base);
}

static void held_release(void *arg)
{
	held_put(arg);
}

struct agent {
	struct opts o;
	uint8_t ticket_secret[32]; /* TLS session tickets: shared by this node's workers */
	struct xgw_bpf *bpf;
	struct xgw_workers *ws;
	struct xgw_files *files;
	struct xgw_status_writer *sw;	 /* writes status.json off the event loop */
	struct xgw_metrics *metrics;	 /* --metrics: the Prometheus endpoint */
	struct xgw_agent_counters ctr;	 /* what the metrics report */
	uint64_t serving_seen_gen;	 /* the last generation counted in ctr.serving */
	unsigned default_workers;	 /* without --workers or spec.workers: one per CPU */
	unsigned resize_to;		 /* != 0: a worker count waiting for a resize to end */
	struct xgw_warnings warned;	 /* what the last generation warned about, sorted */
	struct xgw_store *store;	 /* the store behind res */
	struct xgw_reconcile_result res; /* the newest result: served, or being prepared */
	struct held *held;		 /* owns res and store */
	bool have_res;
	uint64_t gen; /* of res */
	/*
	 * While res is being prepared by the workers: the result it replaces,
	 * which keeps serving, and comes back if a worker refuses res.
	 */
	struct xgw_store *old_store;
	struct xgw_reconcile_result old_res;
	struct held *old_held; /* owns old_res and old_store */
	uint64_t old_gen;
	bool have_old, old_programmed;
	uint64_t last_gen;			 /* the highest generation built */
	uint64_t statuses_seq;			 /* the last held.statuses given */
	uint64_t gen_start_us, old_gen_start_us; /* when apply() of gen, old_gen started (log) */
	struct xgw_workers_reject rejected;	 /* reported in status until a later one commits */
	bool status_programmed;			 /* status says Programmed for gen */
	bool stats_warned;		 /* the workers file could not be written (said once) */
	uint64_t dataplane_due_ms;	 /* != 0: BPF and routes still to sync for gen, by then */
	struct xgw_bpf_listener *synced; /* the listener set BPF and the routes hold */
	size_t n_synced;
	bool synced_valid;
	/* Removed listeners still draining in BPF (their entries in synced), until when. */
	struct xgw_bpf_listener *draining;
	uint64_t *drain_until;
	size_t n_draining;
	uint64_t drain_due_ms; /* != 0: the first drain to end */
	int epfd, sigfd, infd;
	/*
	 * Files of the folder opened for writing and not closed yet (inotify
	 * IN_CREATE/IN_MODIFY without IN_CLOSE_WRITE): while there are any, a
	 * change waits DEBOUNCE_MS of quiet, else it applies after SETTLE_MS.
	 */
	char *writing[MAX_WRITING];
	size_t n_writing;
	bool writing_lost;	    /* more than MAX_WRITING, or events lost */
	pid_t orphans[MAX_ORPHANS]; /* a previous agent's workers: ended once ours serve */
	size_t n_orphans;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* xgw-worker next to this binary, or in the build tree's user/ beside agent/. */
static const char *find_worker_bin(char *buf, size_t len)
{
	static const char *const rel[] = { "xgw-worker", "../user/xgw-worker",
					   "../libexec/xgw/xgw-worker" };
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (snprintf(buf, len, "%s/%s", self, rel[i]) >= (int)len)
			continue;
		if (!access(buf, X_OK))
			return buf;
	}
	return NULL;
}

static int enter_netns(const char *ns)
{
	char path[PATH_MAX];
	int fd, err = 0;

	if (strchr(ns, '/'))
		snprintf(path, sizeof(path), "%s", ns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_err("--netns %s: %s", path, strerror(-err));
		return err;
	}
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		log_err("--netns %s: setns: %s", path, strerror(-err));
	}
	close(fd);
	return err;
}

static void mkdir_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
}

/* Addresses of Gateways that got one before, so that they keep it. */
static struct xgw_assignment *previous_assignments(struct agent *a, size_t *n)
{
	struct xgw_assignment *v;

	*n = 0;
	if (!a->have_res)
		return NULL;
	v = calloc(a->res.n_gateways + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < a->res.n_gateways; i++) {
		const struct xgw_gateway_status *g = &a->res.gateways[i];

		if (!g->family || !g->addr_from_pool)
			continue;
		v[*n].ns = g->ns;
		v[*n].name = g->name;
		v[*n].family = g->family;
		memcpy(v[*n].addr, g->addr, 16);
		(*n)++;
	}
	return v;
}

/*
 * The previous result's status of Gateway <ns>/<name>, which is most often
 * at the same index <at> (both follow the store's order): looked at first,
 * so that a change at thousands of Gateways does not search them all for each.
 */
static const struct xgw_gateway_status *find_prev_gw(struct agent *a, size_t at, const char *ns,
						     const char *name)
{
	if (!a->have_res)
		return NULL;
	if (at < a->res.n_gateways && !strcmp(a->res.gateways[at].name, name) &&
	    !strcmp(a->res.gateways[at].ns, ns))
		return &a->res.gateways[at];
	for (size_t i = 0; i < a->res.n_gateways; i++)
		if (!strcmp(a->res.gateways[i].ns, ns) && !strcmp(a->res.gateways[i].name, name))
			return &a->res.gateways[i];
	return NULL;
}

/* The listener conditions of a Gateway or ListenerSet that say something is wrong. */
static void warn_listeners(struct xgw_warnings *w, const char *kind, const char *ns,
			   const char *name, const struct xgw_listener_status *ls, size_t n)
{
	for (size_t l = 0; l < n; l++) {
		for (int c = 0; c < ls[l].conds.n; c++) {
			const struct xgw_condition *cd = &ls[l].conds.c[c];
			bool bad = !strcmp(cd->type, "Conflicted") ? !strcmp(cd->status, "True")
								   : strcmp(cd->status, "True");

			if (bad)
				xgw_warn(w, "%s %s/%s listener %s: %s=%s %s: %s", kind, ns, name,
					 ls[l].name, cd->type, cd->status, cd->reason, cd->message);
		}
	}
}

static void log_result(struct agent *a, const struct xgw_reconcile_result *res)
{
	struct xgw_warnings w = { 0 };
	char ip[XGW_IP_STRLEN];

	for (size_t i = 0; i < res->n_problems; i++)
		xgw_warn(&w, "%s", res->problems[i]);
	for (size_t i = 0; i < res->n_gateways; i++) {
		const struct xgw_gateway_status *g = &res->gateways[i];
		const struct xgw_gateway_status *p = find_prev_gw(a, i, g->ns, g->name);

		if (!g->ours)
			continue;
		if (g->family && (!p || p->family != g->family || memcmp(p->addr, g->addr, 16)))
			log_info("Gateway %s/%s: address %s%s", g->ns, g->name,
				 xgw_ip_format(g->family, g->addr, ip),
				 g->addr_from_pool ? " (from the address pool)" : "");
		for (int c = 0; c < g->conds.n; c++)
			if (strcmp(g->conds.c[c].status, "True"))
				xgw_warn(&w, "Gateway %s/%s: %s=%s %s: %s", g->ns, g->name,
					 g->conds.c[c].type, g->conds.c[c].status,
					 g->conds.c[c].reason, g->conds.c[c].message);
		warn_listeners(&w, "Gateway", g->ns, g->name, g->listeners, g->n_listeners);
	}
	for (size_t i = 0; i < res->n_listenersets; i++) {
		const struct xgw_listenerset_status *s = &res->listenersets[i];

		for (int c = 0; c < s->conds.n; c++)
			if (strcmp(s->conds.c[c].status, "True"))
				xgw_warn(&w, "ListenerSet %s/%s: %s=%s %s: %s", s->ns, s->name,
					 s->conds.c[c].type, s->conds.c[c].status,
					 s->conds.c[c].reason, s->conds.c[c].message);
		warn_listeners(&w, "ListenerSet", s->ns, s->name, s->listeners, s->n_listeners);
	}
	for (size_t i = 0; i < res->n_routes; i++) {
		const struct xgw_route_status *r = &res->routes[i];

		for (size_t p = 0; p < r->n_parents; p++)
			for (int c = 0; c < r->parents[p].conds.n; c++) {
				const struct xgw_condition *cd = &r->parents[p].conds.c[c];
				bool bad = !strcmp(cd->type, "PartiallyInvalid")
						   ? false /* already among the problems */
						   : strcmp(cd->status, "True");

				if (bad)
					xgw_warn(&w, "%s %s/%s parent %s %s/%s: %s=%s %s: %s",
						 r->kind ? r->kind : "HTTPRoute", r->ns, r->name,
						 r->parents[p].kind, r->parents[p].ns,
						 r->parents[p].name, cd->type, cd->status,
						 cd->reason, cd->message);
			}
	}
	xgw_warnings_commit(&a->warned, &w);
}

static int sync_routes(const struct xgw_bpf_listener *ls, size_t n_ls)
{
	struct xgw_addr_ref *v = calloc(n_ls + 1, sizeof(*v));
	size_t n = 0;
	int err;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n_ls; i++) {
		bool dup = false;

		for (size_t k = 0; k < n && !dup; k++)
			dup = v[k].family == ls[i].family && !memcmp(v[k].addr, ls[i].addr, 16);
		if (dup)
			continue;
		v[n].family = ls[i].family;
		memcpy(v[n].addr, ls[i].addr, 16);
		n++;
	}
	err = xgw_routes_sync(v, n);
	free(v);
	return err;
}

/*
 * Status for the current generation, built and written by the writer's
 * thread: the result stays alive for it through a reference, so that the
 * event loop neither builds nor waits for the document.
 */
static void write_status(struct agent *a)
{
	struct xgw_status_job job = { 0 };

	if (!a->have_res || !a->sw)
		return;
	job.res = &a->held->res;
	job.statuses = a->held->statuses;
	job.prev_statuses = a->held->prev_statuses;
	job.gen = a->gen;
	job.programmed = a->status_programmed;
	/* A change the workers refused has no object to carry it: say it here. */
	job.rejected.gen = a->rejected.gen;
	job.rejected.worker = a->rejected.worker;
	job.rejected.err = a->rejected.err;
	job.release = held_release;
	job.arg = a->held;
	a->held->refs++;
	xgw_status_writer_post(a->sw, &job);
}

/*
 * The L4 tier from the XgwNode objects. Nodes are infrastructure, not Gateway
 * API state: they go from the store to the map writer without the reconciler.
 * On failure the previous ring keeps serving.
 */
static void sync_nodes(struct agent *a, const struct xgw_store *st)
{
	struct xgw_bpf_node *v = calloc(st->n_nodes + 1, sizeof(*v));
	int err;

	if (!v) {
		log_err("l4: out of memory; keeping the previous ring");
		return;
	}
	for (size_t i = 0; i < st->n_nodes; i++) {
		v[i].name = st->nodes[i].meta.name;
		v[i].family = st->nodes[i].family;
		memcpy(v[i].addr, st->nodes[i].addr, 16);
		v[i].weight = st->nodes[i].weight;
		v[i].healthy = st->nodes[i].healthy;
	}
	err = xgw_bpf_sync_nodes(a->bpf, v, st->n_nodes, a->o.node_name);
	if (err < 0)
		log_err("l4: syncing nodes: %s", strerror(-err));
	else if (err > 0)
		a->synced_valid = false; /* listeners must point at the new ring slots */
	free(v);
}

/*
 * Run the workers an XgwConfig asks for (<want>; 0: none does, the default),
 * now or, while workers of the last resize still drain, once they are gone.
 */
static void resize_workers(struct agent *a, unsigned want)
{
	int err;

	if (!want)
		want = a->default_workers;
	a->resize_to = 0;
	if (want == xgw_workers_active(a->ws))
		return;
	err = xgw_workers_resize(a->ws, want);
	if (err == -EBUSY)
		a->resize_to = want;
	else if (err)
		log_err("workers: cannot run %u: %s; %u keep serving", want, strerror(-err),
			xgw_workers_active(a->ws));
}

/*
 * One full pass: folder -> store -> reconcile -> maps, routes, workers,
 * status. On any failure the previous result keeps serving.
 */
static void apply(struct agent *a)
{
	struct xgw_reconcile_result res = { 0 };
	struct xgw_reconcile_opts ro = { 0 };
	struct xgw_store *st = NULL;
	struct xgw_assignment *prev;
	struct held *held, *base = NULL;
	uint64_t t0 = now_us(), t1, t2, t3, t4, shape, prev_statuses;
	char how[128];
	bool eps;
	int err, memfd;

	if (xgw_files_load(a->files, &st, &shape)) {
		a->ctr.load_errors++;
		return;
	}
	t1 = now_us();
	/* the result this pass may patch: what its routes' same_as count in */
	prev_statuses = a->have_res ? a->held->statuses : 0;
	prev = previous_assignments(a, &ro.n_previous);
	ro.previous = prev;
	ro.pools = a->o.pools;
	ro.n_pools = a->o.n_pools;
	ro.generation = a->last_gen + 1;
	ro.ticket_secret = a->ticket_secret;
	/* only --workers makes an XgwConfig's spec.workers a problem to report */
	ro.workers = a->o.workers_given ? a->o.workers : 0;
	/* Only EndpointSlices changed since the newest result: its statuses
	 * and listeners stand, only the clusters' endpoints are taken again.
	 * Only routes changed: its snapshot is patched. */
	err = xgw_reconcile_change(st, &ro, a->have_res ? &a->res : NULL, a->store,
				   a->have_res && shape == a->held->shape, &res, &eps);
	/* the statuses are those of the last full pass: its result stays */
	if (!err && eps)
		base = a->held->base ? a->held->base : a->held;
	free(prev);
	t2 = now_us();
	if (err) {
		log_err("reconcile: %s; keeping generation %llu", strerror(-err),
			(unsigned long long)a->gen);
		goto err;
	}
	a->last_gen = ro.generation;
	held = calloc(1, sizeof(*held));
	if (!held) {
		err = -ENOMEM;
		log_err("reconcile: %s; keeping generation %llu", strerror(-err),
			(unsigned long long)a->gen);
		goto err;
	}

	memfd = xgw_memfd_from_buf("xgw-snapshot", res.snap, res.snap_len);
	t3 = now_us();
	if (memfd < 0) {
		err = memfd;
		log_err("snapshot: memfd: %s; keeping generation %llu", strerror(-err),
			(unsigned long long)a->gen);
		free(held);
		goto err;
	}
	/* Two phases: the workers get the snapshot now; BPF and the local routes
	 * follow once every worker has acknowledged it (sync_dataplane), so that
	 * a new listener is never steered to a worker that would answer 404. */
	err = xgw_workers_publish(a->ws, memfd, ro.generation, res.snap_len);
	close(memfd);
	t4 = now_us();
	if (err) {
		log_err("snapshot: publish: %s", strerror(-err));
		free(held);
		goto err;
	}
	if (!a->o.workers_given) {
		bool bad_ref = false;
		unsigned want = xgw_reconcile_workers(st, &bad_ref);

		/* a class's XgwConfig that does not resolve: the count stays as it is */
		if (!bad_ref)
			resize_workers(a, want);
	}
	/* While the workers prepare it: the log compares with the previous
	 * result (whose statuses and problems the fast path keeps as they were). */
	if (!base)
		log_result(a, &res);

	if (a->have_res) {
		if (a->have_old) {
			/* res was still being prepared: the workers replace it. */
			held_put(a->held);
		} else {
			a->old_res = a->res;
			a->old_store = a->store;
			a->old_held = a->held;
			a->old_gen = a->gen;
			a->old_gen_start_us = a->gen_start_us;
			a->old_programmed = a->status_programmed;
			a->have_old = true;
		}
	}
	a->gen = ro.generation;
	a->res = res;
	a->store = st;
	held->res = res;
	held->st = st;
	held->shape = shape;
	held->base = base;
	held->statuses = base ? base->statuses : ++a->statuses_seq;
	held->prev_statuses = base ? base->prev_statuses : prev_statuses;
	if (base)
		base->refs++;
	held->refs = 1;
	a->held = held;
	a->have_res = true;
	a->status_programmed = false;
	a->dataplane_due_ms = now_ms() + ACK_WAIT_MS;
	a->gen_start_us = t0;
	if (base)
		a->ctr.changes_endpoints++;
	else if (res.patched)
		a->ctr.changes_routes++;
	else
		a->ctr.changes_full++;
	xgw_histogram_observe(&a->ctr.reconcile[base	      ? 1
						: res.patched ? 2
							      : 0],
			      (double)(t4 - t0) / 1e6);
	snprintf(how, sizeof(how), "%zu of %zu route(s) as they were, %s", res.routes_kept,
		 st->n_httproutes + st->n_grpcroutes,
		 res.patched ? "snapshot patched" : "snapshot built");
	log_info("generation %llu: %zu listener(s), snapshot %zu bytes (load %.1f ms, %s: "
		 "reconcile %.1f ms, memfd %.1f ms, sent to the workers after %.1f ms)",
		 (unsigned long long)a->gen, res.n_listeners, res.snap_len, (t1 - t0) / 1e3,
		 base ? "endpoints only" : how, (t2 - t1) / 1e3, (t3 - t2) / 1e3, (t4 - t0) / 1e3);
	/* status is written once, by sync_dataplane(): programmed, or pending
	 * when the workers do not all acknowledge in time */
	return;
err:
	a->ctr.apply_errors++;
	xgw_reconcile_result__free(&res);
	xgw_store__free(st);
}

static bool same_listener(const struct xgw_bpf_listener *x, const struct xgw_bpf_listener *y)
{
	return x->family == y->family && x->port == y->port && x->proto == y->proto &&
	       !memcmp(x->addr, y->addr, 16);
}

static bool has_listener(const struct xgw_bpf_listener *v, size_t n,
			 const struct xgw_bpf_listener *l)
{
	for (size_t i = 0; i < n; i++)
		if (same_listener(&v[i], l))
			return true;
	return false;
}

/*
 * The draining set once <live> is what serves at <now>: listeners the last
 * sync served that <live> lacks start draining, those <live> has again stop,
 * expired ones end. Returns 0 or -ENOMEM (the set is then unchanged).
 */
static int update_draining(struct agent *a, const struct xgw_bpf_listener *live, size_t n,
			   uint64_t now)
{
	size_t cap = a->n_draining + a->n_synced, k = 0;
	struct xgw_bpf_listener *d;
	uint64_t *until;

	/* The usual change (routes, endpoints) keeps the listener set: nothing
	 * starts draining, and the quadratic pass below is not needed. */
	if (!a->n_draining && a->n_synced == n &&
	    (!n || !memcmp(live, a->synced, n * sizeof(*live)))) {
		a->drain_due_ms = 0;
		return 0;
	}
	d = calloc(cap + 1, sizeof(*d));
	until = calloc(cap + 1, sizeof(*until));
	if (!d || !until) {
		free(d);
		free(until);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->n_draining; i++) {
		if (a->drain_until[i] <= now || has_listener(live, n, &a->draining[i]))
			continue;
		d[k] = a->draining[i];
		until[k++] = a->drain_until[i];
	}
	for (size_t i = 0; a->o.drain_ms && i < a->n_synced; i++) {
		const struct xgw_bpf_listener *l = &a->synced[i];

		if (l->draining || has_listener(live, n, l) || has_listener(d, k, l))
			continue;
		d[k] = *l;
		d[k].draining = 1;
		until[k++] = now + a->o.drain_ms;
	}
	free(a->draining);
	free(a->drain_until);
	a->draining = d;
	a->drain_until = until;
	a->n_draining = k;
	a->drain_due_ms = 0;
	for (size_t i = 0; i < k; i++)
		if (!a->drain_due_ms || until[i] < a->drain_due_ms)
			a->drain_due_ms = until[i];
	return 0;
}

/*
 * BPF listeners and local routes for the listener set <live> plus the removed
 * listeners still draining, whose established connections keep flowing (new
 * ones are refused in XDP) and whose addresses keep their local routes. Most
 * changes (routes, endpoints) leave the set as it was: then nothing is written.
 */
static int program_listeners(struct agent *a, const struct xgw_bpf_listener *live, size_t n)
{
	struct xgw_bpf_listener *all;
	size_t total;
	int err;

	if (update_draining(a, live, n, now_ms()))
		return -ENOMEM;
	total = n + a->n_draining;
	all = calloc(total + 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	if (n)
		memcpy(all, live, n * sizeof(*all));
	if (a->n_draining)
		memcpy(all + n, a->draining, a->n_draining * sizeof(*all));
	if (a->synced_valid && a->n_synced == total &&
	    (!total || !memcmp(a->synced, all, total * sizeof(*all)))) {
		free(all);
		return 0;
	}
	err = xgw_bpf_sync_listeners(a->bpf, all, total);
	if (err) {
		log_err("bpf: syncing listeners: %s", strerror(-err));
		a->synced_valid = false;
		free(all);
		return err;
	}
	if (a->o.manage_routes && sync_routes(all, total)) {
		log_err("routes: local routes for Gateway addresses are incomplete");
		a->synced_valid = false;
		free(all);
		return 0;
	}
	free(a->synced);
	a->synced = all;
	a->n_synced = total;
	a->synced_valid = true;
	return 0;
}

/* BPF listeners and local routes for the current result. */
static int sync_listeners(struct agent *a)
{
	return program_listeners(a, a->res.listeners, a->res.n_listeners);
}

/* A drain ended: the listeners that serve stay as they are, the drained go. */
static void drain_expired(struct agent *a)
{
	struct xgw_bpf_listener *live = calloc(a->n_synced + 1, sizeof(*live));
	size_t n = 0;

	a->drain_due_ms = 0;
	if (!live) {
		a->drain_due_ms = now_ms() + 1000; /* try again */
		return;
	}
	for (size_t i = 0; i < a->n_synced; i++)
		if (!a->synced[i].draining)
			live[n++] = a->synced[i];
	program_listeners(a, live, n);
	free(live);
}

/* Phase two of apply(): BPF listeners and local routes for generation gen. */
static void sync_dataplane(struct agent *a, bool acked)
{
	int err;

	a->dataplane_due_ms = 0;
	if (!acked)
		log_warn("generation %llu: not every worker acknowledged it within %d ms; "
			 "programming BPF anyway",
			 (unsigned long long)a->gen, ACK_WAIT_MS);
	/* The ring before the listeners that point at it. */
	sync_nodes(a, a->store);
	err = sync_listeners(a);
	a->status_programmed = acked && !err;
	if (a->status_programmed && a->n_orphans) {
		xgw_workers_end_orphans(a->orphans, a->n_orphans, a->o.worker_bin);
		a->n_orphans = 0;
	}
	if (a->status_programmed) {
		uint64_t us = now_us() - a->gen_start_us;

		log_info("generation %llu: all %u worker(s) serving it (%.1f ms after it was read)",
			 (unsigned long long)a->gen, xgw_workers_active(a->ws), us / 1e3);
		/* once per generation: a rollback comes back to one already counted */
		if (a->gen > a->serving_seen_gen) {
			xgw_histogram_observe(&a->ctr.serving, (double)us / 1e6);
			a->serving_seen_gen = a->gen;
		}
	}
	write_status(a);
}

/* The change committed: what it replaced is gone from every worker. */
static void drop_old(struct agent *a)
{
	if (a->have_old)
		held_put(a->old_held);
	a->old_res = (struct xgw_reconcile_result){ 0 };
	a->old_store = NULL;
	a->old_held = NULL;
	a->old_gen = 0;
	a->have_old = false;
	if (a->rejected.gen && a->rejected.gen < a->gen)
		a->rejected = (struct xgw_workers_reject){ 0 };
}

/*
 * A worker refused generation gen, so no worker serves it: go back to the
 * result it was to replace, the one the workers and BPF still hold.
 */
static void rollback(struct agent *a, const struct xgw_workers_reject *rej)
{
	log_err("generation %llu: worker %u cannot serve it (%s); rolled back to generation %llu, "
		"which every worker keeps serving; see the workers' log",
		(unsigned long long)a->gen, rej->worker, strerror(-rej->err),
		(unsigned long long)a->old_gen);
	a->rejected = *rej;
	a->ctr.rejected++;
	held_put(a->held);
	/* The first generation replaced nothing: then nothing is served. */
	a->res = a->old_res;
	a->store = a->old_store;
	a->held = a->old_held;
	a->gen = a->old_gen;
	a->gen_start_us = a->old_gen_start_us;
	a->status_programmed = a->have_old && a->old_programmed;
	a->have_res = a->have_old;
	a->old_res = (struct xgw_reconcile_result){ 0 };
	a->old_store = NULL;
	a->old_held = NULL;
	a->have_old = false;
	if (!a->have_res) {
		/* The first generation: nothing to go back to, nothing to program. */
		a->dataplane_due_ms = 0;
		return;
	}
	/* What it replaced may itself still have had BPF to sync. */
	sync_dataplane(a, xgw_workers_acked(a->ws, a->gen));
}

/* After control messages: has the change been committed, acknowledged, refused? */
static void check_programmed(struct agent *a)
{
	struct xgw_workers_reject rej;

	if (!a->dataplane_due_ms) {
		/* Programmed without a worker that was restarting: it caught up. */
		if (a->have_res && !a->status_programmed && xgw_workers_acked(a->ws, a->gen))
			sync_dataplane(a, true);
		return;
	}
	switch (xgw_workers_outcome(a->ws, a->gen, &rej)) {
	case XGW_WORKERS_REJECTED:
		rollback(a, &rej);
		break;
	case XGW_WORKERS_COMMITTED:
		drop_old(a);
		if (xgw_workers_acked(a->ws, a->gen))
			sync_dataplane(a, true);
		break;
	default:
		break;
	}
}

/* ACK_WAIT_MS after a change. */
static void dataplane_due(struct agent *a)
{
	if (xgw_workers_outcome(a->ws, a->gen, NULL) == XGW_WORKERS_PENDING) {
		/* BPF never runs ahead of the workers: wait (a hung worker is
		 * restarted by the supervisor, which unblocks the change). */
		log_warn("generation %llu: not every worker has prepared it after %d ms; waiting",
			 (unsigned long long)a->gen, ACK_WAIT_MS);
		a->dataplane_due_ms = now_ms() + ACK_WAIT_MS;
		return;
	}
	check_programmed(a);
	if (a->dataplane_due_ms) /* committed, some worker has not acknowledged it */
		sync_dataplane(a, xgw_workers_acked(a->ws, a->gen));
}

static int epoll_add(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

#define TAG_SIG 1ull
#define TAG_INOTIFY 2ull
#define TAG_NEIGH 3ull
#define TAG_METRICS 4ull
#define TAG_METRICS_CONN (1ull << 33) /* | connection index */
#define TAG_WORKER (1ull << 32)

/* Register the control fds of workers that (re)started. */
#define MAX_WORKER_SLOTS XGW_MAX_WORKERS

static void watch_workers(struct agent *a, int *watched)
{
	for (unsigned i = 0; i < MAX_WORKER_SLOTS; i++) {
		/* slots a resize emptied count as down: a later one may reuse the fd number */
		int fd = i < xgw_workers_count(a->ws) ? xgw_workers_ctl_fd(a->ws, i) : -1;

		if (fd >= 0 && watched[i] != fd) {
			epoll_add(a->epfd, fd, TAG_WORKER | i);
			watched[i] = fd;
		} else if (fd < 0) {
			watched[i] = -1;
		}
	}
}

/* Milliseconds from now until <at> for epoll_wait; -1 when <at> is 0 (none). */
static int until(uint64_t at, uint64_t now)
{
	if (!at)
		return -1;
	return at > now ? (int)(at - now) : 0;
}

static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

#define STATS_EVERY_MS 2000

static void warn_once_stats(struct agent *a, int err)
{
	if (a->stats_warned)
		return;
	a->stats_warned = true;
	log_warn("%s: %s; the workers' counters are not written", a->o.workers_file,
		 strerror(-err));
}

static void writing_del(struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->n_writing; i++) {
		if (strcmp(a->writing[i], name))
			continue;
		free(a->writing[i]);
		a->writing[i] = a->writing[--a->n_writing];
		return;
	}
}

static void writing_add(struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->n_writing; i++)
		if (!strcmp(a->writing[i], name))
			return;
	if (a->n_writing == MAX_WRITING || !(a->writing[a->n_writing] = strdup(name))) {
		a->writing_lost = true;
		return;
	}
	a->n_writing++;
}

/* A change is applied: whatever was being written counts as written. */
static void writing_clear(struct agent *a)
{
	for (size_t i = 0; i < a->n_writing; i++)
		free(a->writing[i]);
	a->n_writing = 0;
	a->writing_lost = false;
}

/* Whether <name> in the folder is a symbolic link (not followed). */
static bool folder_link(const struct agent *a, const char *name)
{
	char path[PATH_MAX];
	struct stat sb;

	if (snprintf(path, sizeof(path), "%s/%s", a->o.config_dir, name) >= (int)sizeof(path))
		return false;
	return !lstat(path, &sb) && S_ISLNK(sb.st_mode);
}

/*
 * Read the folder's inotify events. Returns how long to wait for more before
 * applying them, or -1 when none concerns a manifest (an editor's or a tool's
 * temporary file). A manifest renamed into place or closed after writing is
 * whole: it applies at once (SETTLE_MS, which coalesces the events of one
 * `mv *.yaml`). While a manifest is still open for writing, or after one was
 * removed or renamed away (editors do that before writing the new version),
 * DEBOUNCE_MS after the last event, so that neither a half-written file nor
 * a gap between two versions is served.
 */
static int folder_events(struct agent *a)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool relevant = false, removed = false;
	ssize_t n;

	while ((n = read(a->infd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			p += sizeof(*ev) + ev->len;
			if ((ev->mask & IN_Q_OVERFLOW) || !ev->len) {
				/* events lost, or the folder itself changed: read it all */
				a->writing_lost = true;
				relevant = true;
				xgw_files_touched_all(a->files);
				continue;
			}
			if (!xgw_files_is_manifest(ev->name)) {
				/* A symbolic link put in place: a ConfigMap volume
				 * swaps its `..data` link to a new directory of the
				 * files its manifests link into. Their events do not
				 * name the manifests; read the whole folder. */
				if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
				    folder_link(a, ev->name)) {
					relevant = true;
					xgw_files_touched_all(a->files);
				}
				continue;
			}
			relevant = true;
			/* the next load reads the files named, not the whole folder */
			xgw_files_touched(a->files, ev->name);
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
				writing_del(a, ev->name);
			} else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
				writing_del(a, ev->name);
				removed = true;
			} else if (ev->mask & (IN_CREATE | IN_MODIFY)) {
				writing_add(a, ev->name);
			}
		}
	}
	if (!relevant)
		return -1;
	return a->n_writing || a->writing_lost || removed ? DEBOUNCE_MS : SETTLE_MS;
}

/* What a scrape of the metrics reports (agent/metrics.h). */
static void metrics_src(void *arg, struct xgw_metrics_src *out)
{
	const struct agent *a = arg;

	out->generation = a->have_res ? a->gen : 0;
	out->programmed = a->have_res && a->status_programmed;
	out->res = a->have_res ? &a->res : NULL;
	out->n_problems = a->have_res ? a->res.n_problems : 0;
	out->ctr = &a->ctr;
	out->ws = a->ws;
	out->listeners = a->synced_valid ? a->synced : NULL;
	out->n_listeners = a->synced_valid ? a->n_synced : 0;
	out->pin_dir = a->o.pin_dir ? a->o.pin_dir : XGW_PIN_DIR;
}

static int run(struct agent *a)
{
	int watched[MAX_WORKER_SLOTS];
	uint64_t reload_at = 0; /* != 0: apply then (see folder_events()) */
	uint64_t stats_at = now_ms() + STATS_EVERY_MS;
	struct epoll_event evs[32];

	memset(watched, -1, sizeof(watched));
	apply(a);
	for (;;) {
		uint64_t now = now_ms();
		int timeout, n;

		if (reload_at && reload_at <= now) {
			reload_at = 0;
			writing_clear(a);
			apply(a);
		}
		if (a->dataplane_due_ms && a->dataplane_due_ms <= now)
			dataplane_due(a);
		if (a->drain_due_ms && a->drain_due_ms <= now)
			drain_expired(a);
		if (stats_at <= now) {
			/* What the workers said last time, then ask again. */
			int err = xgw_workers_stats_write(a->ws, a->o.workers_file);

			if (err)
				warn_once_stats(a, err);
			xgw_workers_request_stats(a->ws);
			stats_at = now + STATS_EVERY_MS;
		}
		if (a->resize_to)
			resize_workers(a, a->resize_to);
		/* results whose status document is written: free those no longer served */
		xgw_status_writer_reap(a->sw);
		watch_workers(a, watched);
		timeout = xgw_workers_tick(a->ws);
		watch_workers(a, watched);
		timeout = min_timeout(timeout, until(reload_at, now));
		timeout = min_timeout(timeout, until(a->dataplane_due_ms, now));
		timeout = min_timeout(timeout, until(a->drain_due_ms, now));
		timeout = min_timeout(timeout, until(stats_at, now));
		if (a->metrics)
			timeout = min_timeout(timeout, xgw_metrics_tick(a->metrics));
		n = epoll_wait(a->epfd, evs, 32, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == TAG_SIG) {
				struct signalfd_siginfo si;

				while (read(a->sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGCHLD)
						xgw_workers_reap(a->ws);
					else if (si.ssi_signo == SIGHUP) {
						/* read the folder whole (a file changed
						 * behind a symbolic link, say) */
						xgw_files_touched_all(a->files);
						reload_at = now_ms();
					} else
						return 0; /* SIGTERM, SIGINT */
				}
			} else if (tag == TAG_INOTIFY) {
				int wait = folder_events(a);

				if (wait >= 0)
					reload_at = now_ms() + (uint64_t)wait;
			} else if (tag == TAG_NEIGH) {
				xgw_bpf_neigh_changed(a->bpf);
			} else if (tag == TAG_METRICS || (tag & TAG_METRICS_CONN)) {
				xgw_metrics_on_event(a->metrics, tag, evs[i].events);
			} else if (tag & TAG_WORKER) {
				unsigned w = (unsigned)(tag & 0xffffffffu);

				xgw_workers_on_ctl(a->ws, w);
				if (xgw_workers_ctl_fd(a->ws, w) < 0) {
					epoll_ctl(a->epfd, EPOLL_CTL_DEL, watched[w], NULL);
					watched[w] = -1;
				}
				check_programmed(a);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct agent a = { .epfd = -1, .sigfd = -1, .infd = -1 };
	struct xgw_bpf_opts bo = { 0 };
	struct xgw_workers_opts wo = { 0 };
	char wbin[PATH_MAX];
	enum xgw_log_level lvl = XGW_LOG_INFO;
	sigset_t mask;
	int err;

	if (xgw_agent_opts_parse(argc, argv, &a.o))
		return 2;
	xgw_log_parse_level(a.o.log_level, &lvl);
	xgw_log_init("agent", lvl);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	if (!a.o.worker_bin && !(a.o.worker_bin = find_worker_bin(wbin, sizeof(wbin)))) {
		log_err("cannot find xgw-worker beside this binary; pass --worker-bin");
		return 1;
	}
	/* Tickets issued before a restart of the agent no longer resume: a new secret. */
	if (getrandom(a.ticket_secret, sizeof(a.ticket_secret), 0) != sizeof(a.ticket_secret)) {
		log_err("getrandom: %s", strerror(errno));
		return 1;
	}
	if (a.o.netns && enter_netns(a.o.netns))
		return 1;
	struct stat sb;

	if (stat(a.o.config_dir, &sb) || !S_ISDIR(sb.st_mode)) {
		log_err("--config-dir %s: not a readable directory", a.o.config_dir);
		return 1;
	}
	a.files = xgw_files__new(a.o.config_dir);
	a.epfd = epoll_create1(EPOLL_CLOEXEC);
	a.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	a.infd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (!a.files || a.epfd < 0 || a.sigfd < 0 || a.infd < 0) {
		log_err("startup: %s", strerror(errno));
		err = 1;
		goto out;
	}
	if (inotify_add_watch(a.infd, a.o.config_dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
				      IN_MODIFY | IN_ATTRIB) < 0) {
		log_err("inotify on %s: %s", a.o.config_dir, strerror(errno));
		err = 1;
		goto out;
	}
	xgw_files_watched(a.files);
	epoll_add(a.epfd, a.sigfd, TAG_SIG);
	epoll_add(a.epfd, a.infd, TAG_INOTIFY);
	mkdir_parent(a.o.status_file);
	mkdir_parent(a.o.workers_file);
	a.n_orphans = xgw_workers_orphans(a.o.workers_file, a.o.worker_bin, a.orphans, MAX_ORPHANS);
	for (size_t i = 0; i < a.n_orphans; i++)
		log_warn("worker pid %d of a previous agent still serves; it drains once ours do",
			 (int)a.orphans[i]);
	err = xgw_status_writer__start(a.o.status_file, &a.sw);
	if (err) {
		log_err("status writer: %s", strerror(-err));
		err = 1;
		goto out;
	}
	if (a.o.metrics) {
		err = xgw_metrics__start(a.o.metrics, a.epfd, TAG_METRICS, TAG_METRICS_CONN,
					 metrics_src, &a, &a.metrics);
		if (err) {
			log_err("--metrics %s: %s", a.o.metrics,
				err == -EINVAL ? "not ADDR:PORT (127.0.0.1:9464, [::1]:9464, :9464)"
					       : strerror(-err));
			err = 1;
			goto out;
		}
		log_info("metrics at http://%s/metrics", a.o.metrics);
	}

	bo.pin_dir = a.o.pin_dir;
	bo.ifaces = a.o.ifaces;
	bo.n_ifaces = a.o.n_ifaces;
	bo.xdp_mode = a.o.xdp_mode;
	bo.ring_size = a.o.l4.ring_size;
	bo.flow_table_size = a.o.l4.flow_table_size;
	bo.encap = a.o.l4.encap;
	bo.gue_port = a.o.l4.gue_port;
	bo.encap_mtu = a.o.l4.encap_mtu;
	bo.udp_3tuple = a.o.l4.udp_3tuple;
	bo.icmp = a.o.l4.icmp;
	bo.syn_rate = a.o.l4.syn_rate;
	err = xgw_bpf__open(&bo, &a.bpf);
	if (err) {
		err = 1;
		goto out;
	}
	if (xgw_bpf_neigh_fd(a.bpf) >= 0)
		epoll_add(a.epfd, xgw_bpf_neigh_fd(a.bpf), TAG_NEIGH);
	a.default_workers = a.o.workers;
	if (!a.o.workers_given) {
		/* the GatewayClasses' XgwConfig, read once before the workers start */
		struct xgw_store *st = NULL;
		unsigned n =
			xgw_files_load(a.files, &st, NULL) ? 0 : xgw_reconcile_workers(st, NULL);

		xgw_store__free(st);
		if (n) {
			a.o.workers = n;
			log_info("%u worker(s), as the XgwConfig of a GatewayClass of ours says",
				 n);
		}
	}
	wo.n = a.o.workers;
	wo.bin = a.o.worker_bin;
	wo.log_level = a.o.log_level;
	wo.udp_idle_ms = a.o.udp_idle_ms;
	wo.udp_max_sessions = a.o.udp_max_sessions;
	wo.bpf = a.bpf;
	err = xgw_workers__start(&wo, &a.ws);
	if (err) {
		err = 1;
		goto out;
	}
	log_info("standalone mode on %s: %u worker(s), maps pinned under %s", a.o.config_dir,
		 a.o.workers, a.o.pin_dir ? a.o.pin_dir : "/sys/fs/bpf/xgw");
	err = run(&a) ? 1 : 0;
	log_info("shutting down: draining workers");
out:
	xgw_metrics__stop(a.metrics);
	xgw_workers__stop(a.ws, 10000);
	xgw_status_writer__stop(a.sw);
	xgw_warnings_free(&a.warned);
	writing_clear(&a);
	free(a.synced);
	free(a.draining);
	free(a.drain_until);
	if (a.bpf && !a.o.keep_bpf && a.o.manage_routes)
		xgw_routes_sync(NULL, 0);
	xgw_bpf__close(a.bpf, !a.o.keep_bpf);
	if (a.have_res)
		held_put(a.held);
	drop_old(&a);
	xgw_files__free(a.files);
	if (a.infd >= 0)
		close(a.infd);
	if (a.sigfd >= 0)
		close(a.sigfd);
	if (a.epfd >= 0)
		close(a.epfd);
	return err;
}
