// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The reconciler's fast path for route changes. A change to one HTTPRoute or
 * GRPCRoute at 10,000 routes used to attach every route again and lay the
 * whole snapshot out again: every rule, cluster, endpoint, vhost and match,
 * for a change that touches one route's rules and the vhosts of the
 * listeners it attaches to.
 *
 * When nothing but HTTPRoutes and GRPCRoutes changed since the previous
 * result (every other object of the store the same, bit for bit: the folder
 * source's shallow copies of the files it did not read again), a pass takes
 * from that result's record (struct xgw_rec_patch) what did not change:
 *
 *   - the attachment of each route of the same bytes: its listeners, what
 *     its backendRefs resolved to, whether its rules are servable, its
 *     problem lines, and a copy of its status (xgw_rec_patch_reuse()); the
 *     routes that changed or came attach as in a full pass, and the
 *     Gateways', listeners' and ListenerSets' statuses are a full pass's;
 *   - the snapshot, read in place, extended with the rules of the routes
 *     that changed or came and the clusters they lack (with their endpoints),
 *     and new vhosts and matches for each snapshot listener whose attachments
 *     differ from those it was built from (a route that changed, came or
 *     went, or attaches in another order), the listener's entry pointing at
 *     them instead of its old ones. Everything else stays as it was: the
 *     other listeners, their vhosts, the rules of the routes that did not
 *     change, the clusters.
 *
 * What no listener reaches any more (the old vhosts of a rebuilt listener,
 * the rules of a route that changed or went, a cluster no rule names) stays
 * in the snapshot unreferenced: no lookup of a worker reaches it (the workers
 * still map it, and index it with the rest). Once that is a quarter of the
 * snapshot, the next change builds it anew. A result made this way is what a
 * full pass gives, its snapshot routing as a full pass's does:
 * unit-reconcile-routes compares the two on random stores and changes.
 *
 * Anything else takes the full pass: another kind of object changed, a
 * cluster to add has a problem to report (a full pass reports them in
 * order), the previous build reported problems of its own, a listener is not
 * where the previous snapshot has it, or the store has BackendTLSPolicies (a
 * policy's ancestors and client certificate depend on which Gateways the
 * routes to its Service attach to). After an HTTPRoute/GRPCRoute hostname
 * conflict, every route attaches afresh (the loser's status and attachment
 * changed), and the snapshot may still be patched.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile-int.h"

/* --- the record ----------------------------------------------------------- */

void xgw_rec_patch_free(struct xgw_rec_patch *p)
{
	if (!p)
		return;
	free(p->rid_off);
	free(p->rids);
	free(p->att_off);
	free(p->l4);
	free(p->atts);
	free(p->ratt_off);
	free(p->ratts);
	free(p->prob_off);
	free(p->be_first);
	free(p->memo);
	free(p->rules_ok);
	free(p);
}

static void *dup_n(const void *src, size_t n, size_t elem)
{
	void *p = malloc(n ? n * elem : 1);

	if (p && n)
		memcpy(p, src, n * elem);
	return p;
}

/* Room for one more of *<v> (<n> used of *<cap>, <elem> bytes each). */
static int grow(void **v, size_t n, size_t *cap, size_t elem)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? 2 * *cap : 256;
	p = realloc(*v, ncap * elem);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = ncap;
	return 0;
}

/* --- whether the pass may patch ------------------------------------------ */

#define SAME_ARRAY(a, b, f)                                                                        \
	((a)->n_##f == (b)->n_##f &&                                                               \
	 (!(a)->n_##f || !memcmp((a)->f, (b)->f, (a)->n_##f * sizeof(*(a)->f))))

/*
 * Every object but the HTTPRoutes and GRPCRoutes the same in both stores. The
 * merged stores hold shallow copies of each file's objects: an object of a
 * file that was not read again is the same bytes (its pointers into that
 * file's store included), one of a file read again never is.
 */
static bool same_but_routes(const struct xgw_store *a, const struct xgw_store *b)
{
	return SAME_ARRAY(a, b, classes) && SAME_ARRAY(a, b, gateways) &&
	       SAME_ARRAY(a, b, listenersets) && SAME_ARRAY(a, b, l4routes) &&
	       SAME_ARRAY(a, b, services) && SAME_ARRAY(a, b, slices) &&
	       SAME_ARRAY(a, b, namespaces) && SAME_ARRAY(a, b, nodes) &&
	       SAME_ARRAY(a, b, class_configs) && SAME_ARRAY(a, b, grants) &&
	       SAME_ARRAY(a, b, secrets) && SAME_ARRAY(a, b, configmaps) &&
	       SAME_ARRAY(a, b, btls_policies);
}

static const struct xgw_meta *route_meta(const struct xgw_store *st, size_t i)
{
	return i < st->n_httproutes ? &st->httproutes[i].meta
				    : &st->grpcroutes[i - st->n_httproutes].meta;
}

static bool same_route(const struct xgw_store *a, size_t i, const struct xgw_store *b, size_t j)
{
	if ((i < a->n_httproutes) != (j < b->n_httproutes))
		return false;
	if (i < a->n_httproutes)
		return !memcmp(&a->httproutes[i], &b->httproutes[j], sizeof(a->httproutes[i]));
	return !memcmp(&a->grpcroutes[i - a->n_httproutes], &b->grpcroutes[j - b->n_httproutes],
		       sizeof(a->grpcroutes[0]));
}

static size_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

/*
 * c->pt.old_of: for each route of the pass, the same route (same bytes) of the
 * previous one. A route's name string is its own in the store of its file, so
 * it finds the candidate; the bytes decide.
 */
static int map_routes(struct ctx *c, const struct xgw_store *ps, size_t n_old)
{
	size_t size = 16, mask;
	uint32_t *tab;

	while (size < 2 * n_old + 2)
		size *= 2;
	mask = size - 1;
	tab = calloc(size, sizeof(*tab));
	c->pt.old_of = malloc((c->n_routes + 1) * sizeof(*c->pt.old_of));
	c->pt.reused = calloc(c->n_routes + 1, sizeof(*c->pt.reused));
	if (!tab || !c->pt.old_of || !c->pt.reused) {
		free(tab);
		return -ENOMEM;
	}
	for (size_t j = 0; j < n_old; j++) {
		size_t h = ptr_hash(route_meta(ps, j)->name) & mask;

		while (tab[h])
			h = (h + 1) & mask;
		tab[h] = (uint32_t)j + 1;
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		const char *name = route_meta(c->st, i)->name;
		size_t h = ptr_hash(name) & mask;

		c->pt.old_of[i] = XGW_SNAP_NONE;
		for (; tab[h]; h = (h + 1) & mask) {
			size_t j = tab[h] - 1;

			if (route_meta(ps, j)->name == name) {
				if (same_route(c->st, i, ps, j))
					c->pt.old_of[i] = (uint32_t)j;
				break;
			}
		}
	}
	free(tab);
	return 0;
}

/* Each cluster of the previous snapshot, found again as cluster_of() would find it. */
static int seed_clusters(struct ctx *c, const struct xgw_reconcile_result *prev)
{
	const struct xgw_snapshot *old = &c->pt.old;

	for (uint32_t k = 0; k < old->n_clusters; k++) {
		const struct xgw_cluster_src *cs = &prev->cluster_srcs[k];
		const struct xgw_service *svc;
		struct svc_cluster *cl;
		struct svc_ix *ix;

		if (cs->svc >= c->st->n_services || cs->port >= c->st->services[cs->svc].n_ports)
			return -ESTALE;
		svc = &c->st->services[cs->svc];
		ix = xgw_rec_svc_lookup(c, svc->meta.ns, svc->meta.name);
		if (!ix || ix->svc != svc)
			return -ESTALE;
		cl = realloc(ix->cl, (ix->n_cl + 1) * sizeof(*ix->cl));
		if (!cl)
			return -ENOMEM;
		ix->cl = cl;
		ix->cl[ix->n_cl++] =
			(struct svc_cluster){ &svc->ports[cs->port], k, old->clusters[k].proto };
	}
	c->res->cluster_srcs =
		dup_n(prev->cluster_srcs, prev->n_cluster_srcs, sizeof(*prev->cluster_srcs));
	if (!c->res->cluster_srcs)
		return -ENOMEM;
	c->res->n_cluster_srcs = prev->n_cluster_srcs;
	/* room for what was copied alone: none when there were none (dup_n()
	 * then gave a byte), so that the first cluster added grows it */
	c->cap_cluster_srcs = prev->n_cluster_srcs;
	return 0;
}

int xgw_rec_patch_prepare(struct ctx *c)
{
	const struct xgw_reconcile_opts *o = c->opts;
	const struct xgw_reconcile_result *prev = o->prev;
	const struct xgw_rec_patch *pp = prev ? prev->patch : NULL;

	c->np = calloc(1, sizeof(*c->np));
	if (!c->np || !(c->np->prob_off = calloc(c->n_routes + 1, sizeof(*c->np->prob_off))))
		return -ENOMEM;
	/* a BackendTLSPolicy's ancestors and client certificate follow the
	 * Gateways of the routes that use its Service: a route change may
	 * change a policy's status and a cluster */
	if (!pp || !o->prev_store || c->st->n_btls_policies ||
	    pp->n_routes != o->prev_store->n_httproutes + o->prev_store->n_grpcroutes ||
	    !same_but_routes(o->prev_store, c->st))
		return 0;
	c->pt.pp = pp;
	c->pt.env = true;
	return map_routes(c, o->prev_store, pp->n_routes);
}

bool xgw_rec_patch_may_reuse(const struct ctx *c)
{
	/* a conflict's loser has its attachment gone and its status changed */
	return c->pt.env && !c->pt.pp->conflicts;
}

/*
 * The parent statuses of every route kept, in one array that their copies
 * fill (not zeroed: 10,000 routes' worth is megabytes), made at the first.
 */
static int kept_parents(struct ctx *c)
{
	const struct xgw_reconcile_result *prev = c->opts->prev;
	size_t n = 0;

	if (c->pt.parents)
		return 0;
	for (size_t i = 0; i < c->n_routes; i++)
		if (c->pt.old_of[i] != XGW_SNAP_NONE)
			n += prev->routes[c->pt.old_of[i]].n_parents;
	c->pt.parents = xgw_arena_alloc_raw(&c->res->arena, (n + 1) * sizeof(*c->pt.parents));
	return c->pt.parents ? 0 : -ENOMEM;
}

int xgw_rec_patch_reuse(struct ctx *c, size_t i, uint32_t j)
{
	const struct xgw_reconcile_result *prev = c->opts->prev;
	const struct xgw_rec_patch *pp = c->pt.pp;
	const struct xgw_route_status *ors = &prev->routes[j];
	struct xgw_reconcile_result *res = c->res;
	struct xgw_route_status *rs = &res->routes[i];
	const struct xgw_httproute *r = c->routes[i].r;
	size_t nb = 0;
	int err;

	/* The status: names from the route of this store, messages copied. An
	 * endpoint fast path's result has the statuses of an older store whose
	 * files may have been read again since (the same text): their strings go
	 * with that store. */
	*rs = *ors;
	rs->same_as = (size_t)j + 1;
	rs->kind = c->routes[i].kind;
	rs->ns = r->meta.ns;
	rs->name = r->meta.name;
	if ((err = kept_parents(c)))
		return err;
	if (ors->n_parents) {
		rs->parents = &c->pt.parents[c->pt.n_parents];
		c->pt.n_parents += ors->n_parents;
	} else if (!(rs->parents = xgw_arena_alloc(&res->arena, sizeof(*rs->parents)))) {
		return -ENOMEM;
	}
	for (size_t p = 0; p < ors->n_parents; p++) {
		struct xgw_parent_status *ps = &rs->parents[p];
		const struct xgw_parent_ref *pr;

		*ps = ors->parents[p];
		if (ps->ref >= r->n_parents)
			return -ESTALE; /* not the same route: cannot be */
		pr = &r->parents[ps->ref];
		ps->ns = pr->ns ? pr->ns : r->meta.ns;
		ps->name = pr->name;
		ps->section_name = pr->section_name;
		for (int k = 0; k < ps->conds.n; k++)
			if (ps->conds.c[k].own_message &&
			    !(ps->conds.c[k].message =
				      xgw_arena_strdup(&res->arena, ps->conds.c[k].message)))
				return -ENOMEM;
	}
	for (uint32_t k = pp->prob_off[j]; k < pp->prob_off[j + 1]; k++)
		if (xgw_rec_problem(res, "%s", prev->problems[k]))
			return -ENOMEM;
	for (size_t k = 0; k < r->n_rules; k++)
		nb += r->rules[k].n_backends;
	for (size_t b = 0; b < nb; b++) {
		const struct xgw_rec_memo *m = &pp->memo[pp->be_first[j] + b];
		struct svc_ix *ix = NULL;

		if (m->svc != XGW_SNAP_NONE) {
			if (m->svc >= c->n_svcs || m->port >= c->svcs[m->svc].svc->n_ports)
				return -ESTALE; /* not the same Services: cannot be */
			ix = &c->svcs[m->svc];
		}
		c->be_memo[c->be_first[i] + b] =
			(struct be_memo){ ix, ix ? &ix->svc->ports[m->port] : NULL };
	}
	c->rules_ok[i] = pp->rules_ok[j];
	for (uint32_t k = pp->ratt_off[j]; k < pp->ratt_off[j + 1]; k++) {
		const struct xgw_rec_ratt *ra = &pp->ratts[k];
		struct attachment at = { .route = r, .route_idx = i, .parent_idx = ra->parent };

		if (ra->gw >= c->n_gws || ra->listener >= c->gws[ra->gw].n_listeners)
			return -ESTALE; /* not the same Gateways: cannot be */
		at.l = &c->gws[ra->gw].listeners[ra->listener];
		xgw_rec_att_hosts(&at);
		at.l->st->attached_routes++;
		if (VEC_PUSH(c->att, at))
			return -ENOMEM;
	}
	res->routes_kept++;
	return 0;
}

int xgw_rec_patch_record(struct ctx *c)
{
	struct xgw_rec_patch *np = c->np;
	size_t n_be = c->n_routes ? c->be_first[c->n_routes - 1] : 0;

	if (c->n_routes)
		for (size_t k = 0; k < c->routes[c->n_routes - 1].r->n_rules; k++)
			n_be += c->routes[c->n_routes - 1].r->rules[k].n_backends;
	np->n_routes = c->n_routes;
	np->ratt_off = calloc(c->n_routes + 1, sizeof(*np->ratt_off));
	np->ratts = malloc((c->att.n + 1) * sizeof(*np->ratts));
	np->be_first = malloc((c->n_routes + 1) * sizeof(*np->be_first));
	np->memo = malloc((n_be + 1) * sizeof(*np->memo));
	np->rules_ok = malloc((c->n_routes + 1) * sizeof(*np->rules_ok));
	if (!np->ratt_off || !np->ratts || !np->be_first || !np->memo || !np->rules_ok)
		return -ENOMEM;
	/* c->att is in route order */
	for (size_t k = 0; k < c->att.n; k++) {
		const struct attachment *at = &c->att.v[k];
		size_t g = (size_t)(at->l->gw - c->st->gateways);

		np->ratt_off[at->route_idx + 1]++;
		np->ratts[k] = (struct xgw_rec_ratt){ (uint32_t)at->parent_idx, (uint32_t)g,
						      (uint32_t)(at->l - c->gws[g].listeners) };
	}
	for (size_t i = 0; i < c->n_routes; i++)
		np->ratt_off[i + 1] += np->ratt_off[i];
	np->n_ratts = c->att.n;
	for (size_t b = 0; b < n_be; b++) {
		const struct be_memo *m = &c->be_memo[b];

		np->memo[b] =
			m->ix && m->sp
				? (struct xgw_rec_memo){ (uint32_t)(m->ix - c->svcs),
							 (uint32_t)(m->sp - m->ix->svc->ports) }
				: (struct xgw_rec_memo){ XGW_SNAP_NONE, 0 };
	}
	np->n_memo = n_be;
	memcpy(np->be_first, c->be_first, c->n_routes * sizeof(*np->be_first));
	memcpy(np->rules_ok, c->rules_ok, c->n_routes * sizeof(*np->rules_ok));
	np->be_first[c->n_routes] = n_be;
	np->rules_ok[c->n_routes] = false;
	return 0;
}

int xgw_rec_patch_begin(struct ctx *c)
{
	const struct xgw_reconcile_opts *o = c->opts;
	const struct xgw_reconcile_result *prev = o->prev;
	const struct xgw_rec_patch *pp = c->pt.pp;
	static const uint8_t no_secret[32];
	struct xgw_snapb *b;
	int err;

	if (!c->pt.env || !prev->snap || pp->snap_problems || pp->waste > prev->snap_len / 4 ||
	    c->res->n_cluster_srcs)
		return -ESTALE;
	/* the agent built it: its indices are right, and the workers check the patch */
	if (xgw_snapshot__view(&c->pt.old, prev->snap, prev->snap_len) ||
	    c->pt.old.n_clusters != prev->n_cluster_srcs ||
	    c->pt.old.n_listeners != pp->n_listeners)
		return -ESTALE;
	b = xgw_snapb__from(&c->pt.old, o->generation);
	if (!b)
		return -ENOMEM;
	xgw_snapb_ticket_secret(b, o->ticket_secret ? o->ticket_secret : no_secret);
	xgw_snapb__free(c->b);
	c->b = b;
	c->pt.on = true;
	if ((err = seed_clusters(c, prev)))
		return err;
	/* the routes that did not change keep their rules (read only: build_rules()
	 * and build_listener() only read what they find set) */
	c->rule_ids = calloc(c->n_routes + 1, sizeof(*c->rule_ids));
	if (!c->rule_ids)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_routes; i++) {
		uint32_t j = c->pt.old_of[i];

		if (j != XGW_SNAP_NONE && pp->rid_off[j] != XGW_SNAP_NONE) {
			c->rule_ids[i] = (uint32_t *)&pp->rids[pp->rid_off[j]];
			c->pt.reused[i] = true;
		}
	}
	return 0;
}

int xgw_rec_patch_undo(struct ctx *c)
{
	struct xgw_reconcile_result *res = c->res;

	xgw_snapb__free(c->b);
	c->b = xgw_snapb__new(c->opts->generation);
	if (c->b && c->opts->ticket_secret)
		xgw_snapb_ticket_secret(c->b, c->opts->ticket_secret);
	for (size_t i = 0; i < c->n_svcs; i++) {
		free(c->svcs[i].cl);
		c->svcs[i].cl = NULL;
		c->svcs[i].n_cl = 0;
	}
	free(res->cluster_srcs);
	res->cluster_srcs = NULL;
	res->n_cluster_srcs = c->cap_cluster_srcs = 0;
	res->n_problems = c->pt.n_problems;
	free(c->rule_ids); /* its entries: c->tmp's, or the previous record's */
	c->rule_ids = NULL;
	free(c->att_by_l);
	c->att_by_l = NULL;
	for (size_t g = 0; g < c->n_gws; g++)
		for (size_t l = 0; c->gws[g].listeners && l < c->gws[g].n_listeners; l++)
			c->gws[g].listeners[l].att_first = c->gws[g].listeners[l].att_n = 0;
	c->np->n_listeners = c->np->n_atts = 0;
	c->walk_li = 0;
	c->pt.on = false; /* the routes' attachment stays: it is a full pass's */
	c->pt.waste = 0;
	return c->b ? 0 : -ENOMEM;
}

/* --- listeners ------------------------------------------------------------ */

/* Bytes of what vhost <v> of <s> holds: its name, matches and their conditions. */
static size_t vhost_bytes(const struct xgw_snapshot *s, uint32_t v)
{
	const struct xgw_snap_vhost *vh = &s->vhosts[v];
	size_t bytes = vh->hostname.len;

	for (uint32_t m = vh->match_first; m < vh->match_first + vh->match_count; m++) {
		const struct xgw_snap_match *sm = &s->matches[m];

		bytes += sizeof(*sm) + sm->path.len + sm->method.len;
		for (uint32_t k = sm->kv_first; k < sm->kv_first + sm->kv_count; k++)
			bytes += sizeof(s->kvs[k]) + s->kvs[k].name.len + s->kvs[k].value.len;
	}
	return bytes;
}

/* Bytes of what the vhosts of old listener <li> hold. */
static size_t listener_bytes(const struct xgw_snapshot *s, size_t li)
{
	const struct xgw_snap_listener *l = &s->listeners[li];
	size_t bytes = 0;

	/* not the vhosts themselves: the next patch leaves them out (xgw_snapb__from()) */
	for (uint32_t v = l->vhost_first; v < l->vhost_first + l->vhost_count; v++)
		bytes += vhost_bytes(s, v);
	return bytes;
}

/* Index the vhosts of old listener <li> by name (at the listener's first question). */
static int index_old_vhosts(struct ctx *c, size_t li)
{
	const struct xgw_snapshot *s = &c->pt.old;
	const struct xgw_snap_listener *l = &s->listeners[li];
	size_t size = 16, mask;

	while (size < 2 * (size_t)l->vhost_count)
		size *= 2;
	if (size > c->pt.ovh_cap) {
		uint32_t *t = malloc(size * sizeof(*t));

		if (!t)
			return -ENOMEM;
		free(c->pt.ovh);
		c->pt.ovh = t;
		c->pt.ovh_cap = size;
	}
	memset(c->pt.ovh, 0, size * sizeof(*c->pt.ovh));
	c->pt.ovh_size = size;
	c->pt.ovh_li = li + 1;
	mask = size - 1;
	for (uint32_t v = l->vhost_first; v < l->vhost_first + l->vhost_count; v++) {
		struct xgw_snap_str n = s->vhosts[v].hostname;
		size_t h = xgw_rec_name_hash(xgw_snap_str_ptr(s, n), n.len) & mask;

		while (c->pt.ovh[h])
			h = (h + 1) & mask;
		c->pt.ovh[h] = v + 1;
	}
	return 0;
}

uint32_t xgw_rec_patch_old_vhost(struct ctx *c, size_t li, const char *host, size_t len,
				 uint32_t hash)
{
	const struct xgw_snapshot *s = &c->pt.old;
	size_t mask;

	if (!c->pt.on || li >= s->n_listeners ||
	    (c->pt.ovh_li != li + 1 && index_old_vhosts(c, li)))
		return XGW_SNAP_NONE;
	mask = c->pt.ovh_size - 1;
	for (size_t h = hash & mask; c->pt.ovh[h]; h = (h + 1) & mask) {
		uint32_t v = c->pt.ovh[h] - 1;
		struct xgw_snap_str n = s->vhosts[v].hostname;

		if (n.len == len && !memcmp(xgw_snap_str_ptr(s, n), host, len))
			return v;
	}
	return XGW_SNAP_NONE;
}

int xgw_rec_patch_vhost_kept(struct ctx *c, uint32_t old)
{
	int idx = xgw_snapb_vhost_kept(c->b, &c->pt.old.vhosts[old]);

	if (idx < 0)
		return idx;
	/* xgw_rec_patch_listener() counted all of the old listener as waste */
	c->pt.waste -= vhost_bytes(&c->pt.old, old);
	c->res->vhosts_kept++;
	return 0;
}

/* Is old listener <li> the one for address <ai> of <g> on the port of <l0>? */
static bool same_listener(const struct xgw_snap_listener *ol, const struct gw *g, int ai,
			  const struct gw_listener *l0)
{
	return ol->family == g->fam[ai] && !memcmp(ol->addr, g->addr[ai], 16) &&
	       ol->port == l0->spec->port && ol->proto == xgw_rec_snap_lproto(l0->spec->proto);
}

int xgw_rec_patch_listener(struct ctx *c, const struct gw *g, int ai, struct gw_listener **grp,
			   size_t n, bool l4, bool *dirty)
{
	struct xgw_rec_patch *np = c->np;
	size_t li = c->walk_li, first = np->n_atts;

	if (grow((void **)&np->att_off, li + 1, &np->cap_att_off, sizeof(*np->att_off)) ||
	    grow((void **)&np->l4, li, &np->cap_l4, sizeof(*np->l4)))
		return -ENOMEM;
	np->att_off[li] = (uint32_t)first;
	np->l4[li] = l4;
	for (size_t k = 0; !l4 && k < n; k++) {
		for (size_t j = 0; j < grp[k]->att_n; j++) {
			const struct attachment *at = &c->att.v[c->att_by_l[grp[k]->att_first + j]];

			if (grow((void **)&np->atts, np->n_atts, &np->cap_atts, sizeof(*np->atts)))
				return -ENOMEM;
			np->atts[np->n_atts++] =
				(struct xgw_rec_patt){ (uint32_t)at->route_idx,
						       (uint32_t)at->parent_idx, (uint32_t)k };
		}
	}
	np->n_listeners = li + 1;
	np->att_off[li + 1] = (uint32_t)np->n_atts;
	if (!c->pt.on)
		return 0;

	const struct xgw_rec_patch *pp = c->pt.pp;
	size_t ofirst, on;

	if (li >= pp->n_listeners || pp->l4[li] != l4 ||
	    !same_listener(&c->pt.old.listeners[li], g, ai, grp[0]))
		return -ESTALE;
	ofirst = pp->att_off[li];
	on = pp->att_off[li + 1] - ofirst;
	*dirty = on != np->n_atts - first;
	for (size_t k = 0; !*dirty && k < on; k++) {
		const struct xgw_rec_patt *o = &pp->atts[ofirst + k], *a = &np->atts[first + k];

		*dirty = !c->pt.reused[a->route] || c->pt.old_of[a->route] != o->route ||
			 o->parent != a->parent || o->pos != a->pos;
	}
	if (*dirty)
		c->pt.waste += listener_bytes(&c->pt.old, li);
	return 0;
}

/* --- the result's record -------------------------------------------------- */

/* Bytes of the rules of route <j> of the previous pass. */
static size_t rules_bytes(const struct ctx *c, size_t j, size_t n_rules)
{
	const struct xgw_snapshot *s = &c->pt.old;
	const uint32_t *ids = &c->pt.pp->rids[c->pt.pp->rid_off[j]];
	size_t bytes = 0;

	for (size_t k = 0; k < n_rules; k++) {
		const struct xgw_snap_rule *r;

		if (ids[k] == XGW_SNAP_NONE || ids[k] >= s->n_rules)
			continue;
		r = &s->rules[ids[k]];
		bytes += sizeof(*r) + r->route.len + r->backend_count * sizeof(s->backends[0]) +
			 r->filter_count * sizeof(s->filters[0]);
	}
	return bytes;
}

/* What the previous pass had that nothing reaches now: the rules of routes gone or changed. */
static int rules_waste(struct ctx *c)
{
	const struct xgw_rec_patch *pp = c->pt.pp;
	const struct xgw_store *ps = c->opts->prev_store;
	bool *kept = calloc(pp->n_routes + 1, sizeof(*kept));

	if (!kept)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_routes; i++)
		if (c->pt.reused[i])
			kept[c->pt.old_of[i]] = true;
	for (size_t j = 0; j < pp->n_routes; j++) {
		size_t nr = j < ps->n_httproutes ? ps->httproutes[j].n_rules
						 : ps->grpcroutes[j - ps->n_httproutes].n_rules;

		if (!kept[j] && pp->rid_off[j] != XGW_SNAP_NONE)
			c->pt.waste += rules_bytes(c, j, nr);
	}
	free(kept);
	return 0;
}

int xgw_rec_patch_finish(struct ctx *c)
{
	struct xgw_reconcile_result *res = c->res;
	struct xgw_rec_patch *np = c->np;
	int err;

	np->rid_off = malloc((c->n_routes + 1) * sizeof(*np->rid_off));
	if (!np->rid_off)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_routes; i++) {
		size_t nr = c->routes[i].r->n_rules;

		np->rid_off[i] = XGW_SNAP_NONE;
		if (!c->rule_ids || !c->rule_ids[i])
			continue;
		if (np->n_rids + nr > np->cap_rids) {
			size_t cap = np->cap_rids ? np->cap_rids : 1024;
			uint32_t *v;

			while (cap < np->n_rids + nr)
				cap *= 2;
			v = realloc(np->rids, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			np->rids = v;
			np->cap_rids = cap;
		}
		np->rid_off[i] = (uint32_t)np->n_rids;
		memcpy(&np->rids[np->n_rids], c->rule_ids[i], nr * sizeof(uint32_t));
		np->n_rids += nr;
	}
	if (!np->att_off && grow((void **)&np->att_off, 0, &np->cap_att_off, sizeof(*np->att_off)))
		return -ENOMEM;
	if (!np->l4 && !(np->l4 = calloc(1, sizeof(*np->l4))))
		return -ENOMEM;
	np->att_off[np->n_listeners] = (uint32_t)np->n_atts;
	if (c->pt.on) {
		const struct xgw_reconcile_result *prev = c->opts->prev;

		if ((err = rules_waste(c)))
			return err;
		np->waste = c->pt.pp->waste + c->pt.waste;
		/* the same listeners at the same addresses: the same BPF entries */
		res->listeners =
			dup_n(prev->listeners, prev->n_listeners, sizeof(*prev->listeners));
		if (!res->listeners)
			return -ENOMEM;
		res->n_listeners = prev->n_listeners;
		res->patched = true;
	} else {
		np->snap_problems = res->n_problems - c->pt.n_problems;
	}
	res->patch = np;
	c->np = NULL;
	return 0;
}
