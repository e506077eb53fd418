// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The reconciler's fast path for endpoint changes. Pods come and go far more
 * often than routes do, and an EndpointSlice changes nothing but the
 * endpoints of the clusters made of its Service's ports: no status, no
 * listener, no rule. So the previous result is kept but for its snapshot,
 * which is copied with each cluster's endpoints taken again from the new
 * store, by the same function the full pass uses (xgw_rec_endpoints()).
 * The copy is laid out as the builder lays a snapshot out: it is byte for
 * byte the snapshot a full pass would build, which unit-reconcile-eps checks
 * on random stores and changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile-int.h"

struct eps {
	struct xgw_snap_endpoint *v;
	size_t n, cap;
};

static int eps_push(void *arg, uint8_t family, const uint8_t addr[16], uint16_t port)
{
	struct eps *e = arg;

	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 256;
		struct xgw_snap_endpoint *v = realloc(e->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = (struct xgw_snap_endpoint){ .family = family, .port = port };
	memcpy(e->v[e->n - 1].addr, addr, 16);
	return 0;
}

/* The endpoints of every cluster of <old>, from the store of <c>, to <e> and <count>. */
static int collect(struct ctx *c, const struct xgw_reconcile_result *prev,
		   const struct xgw_snapshot *old, struct eps *e, uint32_t *count)
{
	const struct xgw_store *st = c->st;
	int err;

	for (uint32_t i = 0; i < old->n_clusters; i++) {
		const struct xgw_cluster_src *cs = &prev->cluster_srcs[i];
		const struct xgw_service *svc;
		const struct svc_ix *ix;
		size_t before = e->n;

		if (cs->svc >= st->n_services || cs->port >= st->services[cs->svc].n_ports)
			return -ESTALE;
		svc = &st->services[cs->svc];
		/* the Service whose slices the full pass would use: the lookup's */
		ix = xgw_rec_svc_lookup(c, svc->meta.ns, svc->meta.name);
		if (!ix || ix->svc != svc)
			return -ESTALE;
		if ((err = xgw_rec_endpoints(ix, &svc->ports[cs->port], eps_push, e)))
			return err;
		if (e->n > UINT32_MAX)
			return -E2BIG;
		count[i] = (uint32_t)(e->n - before);
	}
	return 0;
}

/* A copy of <bytes> bytes at <src>; NULL for none, or when out of memory. */
static void *memdup(const void *src, size_t bytes)
{
	void *p = bytes ? malloc(bytes) : NULL;

	if (p)
		memcpy(p, src, bytes);
	return p;
}

int xgw_reconcile_endpoints(const struct xgw_store *st, const struct xgw_reconcile_opts *opts,
			    const struct xgw_reconcile_result *prev,
			    struct xgw_reconcile_result *res)
{
	struct ctx c = { .st = st, .opts = opts, .res = res };
	struct xgw_snapshot old;
	struct eps e = { 0 };
	uint32_t *count = NULL;
	int err;

	/* the agent built it: its indices are right, and the workers check the copy */
	err = xgw_snapshot__view(&old, prev->snap, prev->snap_len);
	if (err)
		return err;
	if (prev->n_cluster_srcs != old.n_clusters)
		return -ESTALE;
	count = calloc(old.n_clusters + 1, sizeof(*count));
	/* about as many endpoints as before: no growth on the way */
	e.cap = (size_t)old.n_endpoints + 256;
	e.v = malloc(e.cap * sizeof(*e.v));
	if (!count || !e.v) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = xgw_rec_index_services(&c)) || (err = collect(&c, prev, &old, &e, count)))
		goto out;
	err = xgw_snapshot_with_endpoints(&old, opts->generation, opts->ticket_secret, e.v, count,
					  (uint32_t)e.n, &res->snap, &res->snap_len);
	if (err)
		goto out;
	res->listeners = memdup(prev->listeners, prev->n_listeners * sizeof(*prev->listeners));
	res->problems = memdup(prev->problems, prev->n_problems * sizeof(*prev->problems));
	res->cluster_srcs =
		memdup(prev->cluster_srcs, prev->n_cluster_srcs * sizeof(*prev->cluster_srcs));
	if ((prev->n_listeners && !res->listeners) || (prev->n_problems && !res->problems) ||
	    (prev->n_cluster_srcs && !res->cluster_srcs)) {
		err = -ENOMEM;
		goto out;
	}
	/* the same rules and listeners: a route change may patch this one too,
	 * by prev's record (prev outlives this result) */
	res->patch = prev->patch;
	res->patch_borrowed = true;
	res->n_listeners = prev->n_listeners;
	res->n_problems = prev->n_problems;
	res->n_cluster_srcs = prev->n_cluster_srcs;
	res->classes = prev->classes;
	res->n_classes = prev->n_classes;
	res->gateways = prev->gateways;
	res->n_gateways = prev->n_gateways;
	res->listenersets = prev->listenersets;
	res->n_listenersets = prev->n_listenersets;
	res->routes = prev->routes;
	res->n_routes = prev->n_routes;
	res->policies = prev->policies;
	res->n_policies = prev->n_policies;
out:
	if (err)
		xgw_reconcile_result__free(res);
	free(count);
	free(e.v);
	free(c.svcs);
	free(c.svc_hash);
	free(c.slice_refs);
	return err;
}
