// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The L4 routes, for the reconciler: TLSRoute, TCPRoute and UDPRoute
 * attached to TLS, TCP and UDP listeners (parentRefs with sectionName and
 * port, allowedRoutes, server name intersection for TLSRoute), their
 * backendRefs resolved, their statuses; and the snapshot listeners of L4
 * port groups, laid out as include/xgw/snapshot.h describes:
 *   TCP, UDP  0 or 1 vhost "" whose one match leads to the rule of the route
 *             that serves the listener
 *   TLS       one vhost per server name, most specific first, flagged
 *             XGW_VHOST_TLS_TERMINATE when its listener terminates TLS (whose
 *             certificates then go to the listener's snis, as for HTTPS)
 *
 * A TCP or UDP listener forwards to one route: with several attached, the
 * oldest (creationTimestamp, then namespace/name, the Gateway API's order
 * for conflicts) serves it; the others stay attached and Accepted (the
 * conformance suite asks for that) and the log says they get no traffic.
 * Likewise for one server name of TLS listeners. An L4 route has no
 * matches, so its first rule takes every connection; further rules are
 * reported as not served.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reconcile-int.h"

#define L4_BACKENDS_MAX 64

uint8_t xgw_rec_snap_lproto(enum xgw_listener_proto p)
{
	switch (p) {
	case XGW_PROTO_HTTPS:
		return XGW_LPROTO_HTTPS;
	case XGW_PROTO_TLS:
		return XGW_LPROTO_TLS;
	case XGW_PROTO_TCP:
		return XGW_LPROTO_TCP;
	case XGW_PROTO_UDP:
		return XGW_LPROTO_UDP;
	default:
		return XGW_LPROTO_HTTP;
	}
}

bool xgw_rec_terminates_tls(const struct xgw_gw_listener *l)
{
	return l->proto == XGW_PROTO_HTTPS ||
	       (l->proto == XGW_PROTO_TLS && (!l->tls_mode || !strcmp(l->tls_mode, "Terminate")));
}

/* The Service port protocol the backends of <r> must speak. */
static const char *backend_proto(const struct xgw_l4route *r)
{
	return r->kind == XGW_L4_UDP ? "UDP" : "TCP";
}

/* Order of routes competing for one listener: the older, then namespace/name. */
static int route_rank_cmp(const struct xgw_l4route *a, const struct xgw_l4route *b)
{
	return xgw_rec_age_cmp(&a->meta, &b->meta);
}

static bool host_listed(const struct l4_attachment *at, const char *h)
{
	for (size_t i = 0; i < at->n_hosts; i++)
		if (!strcasecmp(at->hosts[i], h))
			return true;
	return false;
}

/*
 * The server names route <r> takes on listener <gl>, into at->hosts (from
 * <a>): each of its hostnames intersected with the listener's; the
 * listener's (or "" for any) when the route has none. TCP and UDP: "" (no
 * server name). Returns 0 or -ENOMEM.
 */
static int attach_hosts(struct xgw_arena *a, const struct xgw_l4route *r,
			const struct gw_listener *gl, struct l4_attachment *at)
{
	at->hosts = xgw_arena_alloc(a, (r->n_hostnames + 1) * sizeof(*at->hosts));
	if (!at->hosts)
		return -ENOMEM;
	if (r->kind != XGW_L4_TLS) {
		at->hosts[at->n_hosts++] = "";
		return 0;
	}
	if (!r->n_hostnames) {
		at->hosts[at->n_hosts++] = xgw_hostname_intersect(gl->spec->hostname, NULL);
		return 0;
	}
	for (size_t h = 0; h < r->n_hostnames; h++) {
		const char *e = xgw_hostname_intersect(gl->spec->hostname, r->hostnames[h]);

		if (e && !host_listed(at, e))
			at->hosts[at->n_hosts++] = e;
	}
	return 0;
}

/*
 * Attach route <ri> of the store's L4 routes to the listeners of its
 * parentRefs, with the status of each parent of ours. Returns 0 or -ENOMEM.
 */
static int attach_l4(struct ctx *c, size_t ri)
{
	const struct xgw_l4route *r = &c->st->l4routes[ri];
	const char *kind = xgw_l4_kind_name(r->kind);
	struct xgw_reconcile_result *res = c->res;
	struct xgw_arena *a = &res->arena;
	struct xgw_route_status *rs = &res->routes[c->n_routes + ri];
	int64_t gen = r->meta.generation;
	const char *refs_reason = NULL;
	char refs_msg[384] = "";

	rs->kind = kind;
	rs->ns = r->meta.ns;
	rs->name = r->meta.name;
	rs->parents = xgw_arena_alloc(a, (r->n_parents + 1) * sizeof(*rs->parents));
	if (!rs->parents)
		return -ENOMEM;
	for (size_t k = 0; k < r->n_rules; k++)
		for (size_t b = 0; b < r->rules[k].n_backends && !refs_reason; b++)
			refs_reason =
				xgw_rec_ref_problem(c, kind, &r->meta, &r->rules[k].backends[b],
						    backend_proto(r), refs_msg, sizeof(refs_msg));

	for (size_t p = 0; p < r->n_parents; p++) {
		const struct xgw_parent_ref *pr = &r->parents[p];
		const char *gns = pr->ns ? pr->ns : r->meta.ns;
		const char *pkind = pr->kind ? pr->kind : "Gateway";
		struct lset *ls = NULL;
		struct gw *g;
		struct xgw_parent_status *ps;
		bool matched_section = false, allowed = false, host_ok = false;

		if ((pr->group && strcmp(pr->group, XGW_GATEWAY_GROUP)) ||
		    (strcmp(pkind, "Gateway") && strcmp(pkind, "ListenerSet")))
			continue;
		if (!strcmp(pkind, "ListenerSet")) {
			ls = xgw_rec_find_lset(c, gns, pr->name);
			if (!ls) {
				/* a ListenerSet of another controller's Gateway is not ours to judge */
				if (!xgw_rec_lset_in_store(c->st, gns, pr->name))
					xgw_rec_problem(
						res, "%s %s/%s: parent ListenerSet %s/%s not found",
						kind, r->meta.ns, r->meta.name, gns, pr->name);
				continue;
			}
			g = ls->g;
		} else {
			g = xgw_rec_find_gw(c, gns, pr->name);
		}
		if (!g) {
			xgw_rec_problem(res, "%s %s/%s: parent Gateway %s/%s not found", kind,
					r->meta.ns, r->meta.name, gns, pr->name);
			continue;
		}
		if (!g->st->ours)
			continue;
		ps = &rs->parents[rs->n_parents++];
		ps->kind = ls ? "ListenerSet" : "Gateway";
		ps->ns = gns;
		ps->name = pr->name;
		ps->section_name = pr->section_name;
		ps->port = pr->port;
		for (size_t li = 0; li < g->n_listeners; li++) {
			struct gw_listener *gl = &g->listeners[li];
			struct l4_attachment at = { .route = r, .route_idx = ri, .l = gl };

			if (gl->ls != ls)
				continue;
			if (pr->section_name && strcmp(pr->section_name, gl->spec->name))
				continue;
			if (pr->port && pr->port != gl->spec->port)
				continue;
			matched_section = true;
			if (!gl->valid || !xgw_rec_route_allowed(c->st, gl, kind, r->meta.ns))
				continue;
			allowed = true;
			if (attach_hosts(a, r, gl, &at))
				return -ENOMEM;
			if (!at.n_hosts)
				continue;
			host_ok = true;
			gl->st->attached_routes++;
			if (VEC_PUSH(c->l4att, at))
				return -ENOMEM;
		}
		if (ls && !ls->accepted)
			xgw_rec_cond_set(a, &ps->conds, gen, "Accepted", false, "NoMatchingParent",
					 "ListenerSet %s/%s is not accepted", gns, pr->name);
		else if (!matched_section)
			xgw_rec_cond_set(a, &ps->conds, gen, "Accepted", false, "NoMatchingParent",
					 "no listener matches sectionName %s port %u",
					 pr->section_name ? pr->section_name : "(any)", pr->port);
		else if (!allowed)
			xgw_rec_cond_set(a, &ps->conds, gen, "Accepted", false,
					 "NotAllowedByListeners",
					 "no listener allows this route (a %s needs a %s listener "
					 "whose allowedRoutes let it in)",
					 kind,
					 r->kind == XGW_L4_TLS	 ? "TLS"
					 : r->kind == XGW_L4_TCP ? "TCP"
								 : "UDP");
		else if (!host_ok)
			xgw_rec_cond_set(a, &ps->conds, gen, "Accepted", false,
					 "NoMatchingListenerHostname",
					 "no hostname of this route matches a listener hostname");
		else
			xgw_rec_cond_set(a, &ps->conds, gen, "Accepted", true, "Accepted",
					 "route is accepted");
		if (refs_reason)
			xgw_rec_cond_set(a, &ps->conds, gen, "ResolvedRefs", false, refs_reason,
					 "%s", refs_msg);
		else
			xgw_rec_cond_set(a, &ps->conds, gen, "ResolvedRefs", true, "ResolvedRefs",
					 "references are resolved");
	}
	if (rs->n_parents && refs_reason)
		xgw_rec_problem(res, "%s %s/%s: %s", kind, r->meta.ns, r->meta.name, refs_msg);
	if (rs->n_parents && r->n_rules > 1)
		xgw_rec_problem(res,
				"%s %s/%s: rules[1..%zu] are not served: with no matches, the "
				"first rule takes every connection",
				kind, r->meta.ns, r->meta.name, r->n_rules - 1);
	return 0;
}

int xgw_rec_attach_l4(struct ctx *c)
{
	for (size_t i = 0; i < c->st->n_l4routes; i++)
		if (attach_l4(c, i))
			return -ENOMEM;
	return 0;
}

/*
 * One snapshot rule per attached L4 route: its first rule's backends, each
 * to the cluster of its Service port (protocol UDP for a UDPRoute, TCP
 * otherwise); an unresolved one keeps its weight with no cluster, so that
 * its share of connections is refused.
 */
int xgw_rec_build_l4_rules(struct ctx *c)
{
	const struct xgw_store *st = c->st;

	c->l4_rule_ids = malloc((st->n_l4routes + 1) * sizeof(*c->l4_rule_ids));
	if (!c->l4_rule_ids)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_l4routes; i++)
		c->l4_rule_ids[i] = XGW_SNAP_NONE;
	for (size_t i = 0; i < c->l4att.n; i++) {
		size_t ri = c->l4att.v[i].route_idx;
		const struct xgw_l4route *r = &st->l4routes[ri];
		const struct xgw_l4_rule *rule = &r->rules[0];
		const char *kind = xgw_l4_kind_name(r->kind);
		size_t nb = rule->n_backends < L4_BACKENDS_MAX ? rule->n_backends : L4_BACKENDS_MAX;
		uint32_t cl[L4_BACKENDS_MAX];
		char name[512];
		int idx;

		if (c->l4_rule_ids[ri] != XGW_SNAP_NONE)
			continue;
		/* clusters first: a rule's backends must follow it directly */
		for (size_t b = 0; b < nb; b++)
			if (xgw_rec_cluster_for(c, kind, &r->meta, &rule->backends[b],
						backend_proto(r), &cl[b]))
				return -ENOMEM;
		snprintf(name, sizeof(name), "%s/%s", r->meta.ns, r->meta.name);
		idx = xgw_snapb_rule(c->b, name, 0, 0, 0);
		if (idx < 0)
			return idx;
		for (size_t b = 0; b < nb; b++)
			if (xgw_snapb_backend(c->b, cl[b], rule->backends[b].weight) < 0)
				return -ENOMEM;
		c->l4_rule_ids[ri] = (uint32_t)idx;
	}
	return 0;
}

/* A server name an attachment asks for on an L4 listener of a port group. */
struct l4_vhost {
	const char *host; /* "" = any */
	const struct l4_attachment *at;
};

/* By server name, then the routes in the order they win the name. */
static int claim_cmp(const void *pa, const void *pb)
{
	const struct l4_vhost *a = pa, *b = pb;
	int d = strcasecmp(a->host, b->host);

	return d ? d : route_rank_cmp(a->at->route, b->at->route);
}

/* The order of a listener's vhosts: exact names, longer wildcards, then "". */
static int l4_vhost_cmp(const void *pa, const void *pb)
{
	const struct l4_vhost *a = pa, *b = pb;
	long ra = xgw_rec_host_rank(a->host), rb = xgw_rec_host_rank(b->host);

	if (ra != rb)
		return ra > rb ? -1 : 1;
	return strcasecmp(a->host, b->host);
}

static bool in_group(struct gw_listener **grp, size_t n, const struct gw_listener *l)
{
	for (size_t i = 0; i < n; i++)
		if (grp[i] == l)
			return true;
	return false;
}

/* A TLS vhost is terminated when its listener terminates TLS. */
static uint32_t vhost_flags(const struct gw_listener *l)
{
	return l->spec->proto == XGW_PROTO_TLS && xgw_rec_terminates_tls(l->spec)
		       ? XGW_VHOST_TLS_TERMINATE
		       : 0;
}

/*
 * The vhosts of port group <grp>: every server name its attachments ask for
 * (each on the most specific listener it falls into), given to the route
 * that wins it, the older. The losers are logged when <log>. On success
 * *<out> (malloc'ed, in vhost order) holds *<n_out> vhosts. Returns 0 or
 * -ENOMEM.
 */
static int group_vhosts(struct ctx *c, struct gw_listener **grp, size_t n, bool log,
			struct l4_vhost **out, size_t *n_out)
{
	struct l4_vhost *v;
	size_t nv = 0, cap = 0, w = 0;

	for (size_t i = 0; i < c->l4att.n; i++)
		if (in_group(grp, n, c->l4att.v[i].l))
			cap += c->l4att.v[i].n_hosts;
	v = calloc(cap + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->l4att.n; i++) {
		const struct l4_attachment *at = &c->l4att.v[i];

		if (!in_group(grp, n, at->l))
			continue;
		for (size_t h = 0; h < at->n_hosts; h++)
			if (xgw_rec_best_listener(grp, n, at->l, at->hosts[h]))
				v[nv++] = (struct l4_vhost){ at->hosts[h], at };
	}
	qsort(v, nv, sizeof(*v), claim_cmp);
	/* the first of each name wins it; keep those */
	for (size_t i = 0; i < nv; i++) {
		const struct l4_attachment *at = v[i].at, *won = v[w ? w - 1 : 0].at;

		if (w && !strcasecmp(v[i].host, v[w - 1].host)) {
			if (log && at->route != won->route &&
			    xgw_rec_problem(c->res,
					    "%s %s/%s gets no traffic on listener %s%s%s: %s "
					    "%s/%s serves it (older, or first by namespace/name)",
					    xgw_l4_kind_name(at->route->kind), at->route->meta.ns,
					    at->route->meta.name, at->l->spec->name,
					    *v[i].host ? " for " : "", v[i].host,
					    xgw_l4_kind_name(won->route->kind), won->route->meta.ns,
					    won->route->meta.name)) {
				free(v);
				return -ENOMEM;
			}
			continue;
		}
		v[w++] = v[i];
	}
	qsort(v, w, sizeof(*v), l4_vhost_cmp);
	*out = v;
	*n_out = w;
	return 0;
}

int xgw_rec_build_l4_listener(struct ctx *c, struct gw *g, int ai, struct gw_listener **grp,
			      size_t n)
{
	const struct gw_listener *l0 = grp[0];
	struct l4_vhost *vh = NULL;
	size_t nvh = 0;
	char name[512];
	int idx, err;

	/* the losers are logged once per port group, not per address */
	err = group_vhosts(c, grp, n, ai == 0, &vh, &nvh);
	if (err)
		return err;
	err = -ENOMEM;
	if (n == 1 && l0->ls)
		snprintf(name, sizeof(name), "%s/%s/%s", l0->ls->spec->meta.ns,
			 l0->ls->spec->meta.name, l0->spec->name);
	else if (n == 1)
		snprintf(name, sizeof(name), "%s/%s/%s", g->spec->meta.ns, g->spec->meta.name,
			 l0->spec->name);
	else
		snprintf(name, sizeof(name), "%s/%s:%u", g->spec->meta.ns, g->spec->meta.name,
			 l0->spec->port);
	idx = xgw_snapb_listener(c->b, g->fam[ai], g->addr[ai], (uint16_t)l0->spec->port,
				 xgw_rec_snap_lproto(l0->spec->proto), name);
	if (idx < 0 || xgw_rec_add_snis(c, grp, n))
		goto out;
	for (size_t i = 0; i < nvh; i++) {
		uint32_t rule = c->l4_rule_ids[vh[i].at->route_idx];

		if (xgw_snapb_vhost(c->b, vh[i].host, strlen(vh[i].host)) < 0 ||
		    xgw_snapb_vhost_flags(c->b, vhost_flags(vh[i].at->l)) < 0 ||
		    xgw_snapb_match(c->b, rule, XGW_PATH_PREFIX, "/", 1, NULL) < 0)
			goto out;
	}
	err = xgw_rec_bpf_listener(c, g, ai, (uint16_t)l0->spec->port,
				   l0->spec->proto == XGW_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP,
				   (uint32_t)idx);
out:
	free(vh);
	return err;
}
