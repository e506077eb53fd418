// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * GRPCRoute, for the reconciler: a GRPCRoute is translated into the HTTPRoute
 * form that attachment, status and the snapshot builder share (a gRPC call is
 * an HTTP/2 POST to "/<service>/<method>"), ordered by its own precedence
 * rules, and kept from sharing a listener hostname with an HTTPRoute.
 *
 * A match becomes one path match, anchored to the whole path as the workers
 * anchor every path and regular expression:
 *
 *	service and method, Exact	Exact "/<service>/<method>"
 *	service only, Exact		RegularExpression "/<service>/[^/]+"
 *	method only, Exact		RegularExpression "/[^/]+/<method>"
 *	RegularExpression		RegularExpression "/(<service>)/(<method>)",
 *					"[^/]+" for the one not given
 *	no method			PathPrefix "/" (every call)
 *
 * A service alone is not a PathPrefix "/<service>": that would also take
 * "/<service>" and "/<service>/a/b", which no call of the service is. Exact
 * names hold only letters, digits, "_" and ".", so escaping "." is enough to
 * carry them into an expression. Header matches are kept as they are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reconcile-int.h"
#include "xgw/regex.h"

/* <name> (an Exact service name) with "." escaped, for an expression. */
static char *escape_dots(struct xgw_arena *a, const char *name)
{
	size_t n = strlen(name), dots = 0;
	char *out, *p;

	for (size_t i = 0; i < n; i++)
		dots += name[i] == '.';
	out = xgw_arena_alloc(a, n + dots + 1);
	if (!out)
		return NULL;
	p = out;
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '.')
			*p++ = '\\';
		*p++ = name[i];
	}
	*p = '\0';
	return out;
}

/* The concatenation of the <n> strings of <s> (NULL: none) in <a>: no printf,
 * which cost a fifth of a pass at 5,000 GRPCRoutes. */
static char *concat(struct xgw_arena *a, const char *const *s, size_t n)
{
	size_t len[n], total = 0;
	char *out, *p;

	for (size_t i = 0; i < n; i++)
		total += len[i] = s[i] ? strlen(s[i]) : 0;
	out = xgw_arena_alloc(a, total + 1);
	if (!out)
		return NULL;
	p = out;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, s[i], len[i]);
		p += len[i];
	}
	*p = '\0';
	return out;
}

#define CONCAT(a, ...)                                                                             \
	concat(a, (const char *const[]){ __VA_ARGS__ },                                            \
	       sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static int translate_match(struct xgw_arena *a, const struct xgw_grpc_match *g,
			   struct xgw_http_match *m)
{
	const char *svc = g->service, *meth = g->method;

	m->headers = g->headers;
	m->n_headers = g->n_headers;
	if (!svc && !meth) {
		m->path_type = XGW_MATCH_PATH_PREFIX;
		m->path = "/";
		return 0;
	}
	if (g->type == XGW_GRPC_REGEX) {
		m->path_type = XGW_MATCH_PATH_REGEX;
		m->path = CONCAT(a, svc ? "/(" : "/", svc ? svc : "[^/]+", svc ? ")/" : "/",
				 meth ? "(" : NULL, meth ? meth : "[^/]+", meth ? ")" : NULL);
	} else if (svc && meth) {
		m->path_type = XGW_MATCH_PATH_EXACT;
		m->path = CONCAT(a, "/", svc, "/", meth);
	} else if (svc) {
		char *esc = escape_dots(a, svc);

		m->path_type = XGW_MATCH_PATH_REGEX;
		m->path = esc ? CONCAT(a, "/", esc, "/[^/]+") : NULL;
	} else {
		m->path_type = XGW_MATCH_PATH_REGEX;
		m->path = CONCAT(a, "/[^/]+/", meth);
	}
	return m->path ? 0 : -ENOMEM;
}

int xgw_rec_grpc_translate(struct ctx *c, const struct xgw_grpcroute *g, struct xgw_httproute *out)
{
	struct xgw_arena *a = &c->tmp;

	memset(out, 0, sizeof(*out));
	out->meta = g->meta;
	out->parents = g->parents;
	out->n_parents = g->n_parents;
	out->hostnames = g->hostnames;
	out->n_hostnames = g->n_hostnames;
	out->rules = xgw_arena_alloc(a, (g->n_rules + 1) * sizeof(*out->rules));
	if (!out->rules)
		return -ENOMEM;
	out->n_rules = g->n_rules;
	for (size_t k = 0; k < g->n_rules; k++) {
		const struct xgw_grpc_rule *gr = &g->rules[k];
		struct xgw_http_rule *r = &out->rules[k];

		r->name = gr->name;
		r->filters = gr->filters;
		r->n_filters = gr->n_filters;
		r->backends = gr->backends;
		r->n_backends = gr->n_backends;
		r->matches = xgw_arena_alloc(a, (gr->n_matches + 1) * sizeof(*r->matches));
		if (!r->matches)
			return -ENOMEM;
		r->n_matches = gr->n_matches;
		for (size_t m = 0; m < gr->n_matches; m++)
			if (translate_match(a, &gr->matches[m], &r->matches[m]))
				return -ENOMEM;
	}
	return 0;
}

const char *xgw_rec_grpc_rule_problem(const struct xgw_grpc_rule *r, char *buf, size_t len)
{
	/* Each part alone, so that the message names the field the user wrote
	 * (the header expressions are checked with the translated rule). */
	for (size_t i = 0; i < r->n_matches; i++) {
		const struct xgw_grpc_match *g = &r->matches[i];

		if (g->type != XGW_GRPC_REGEX)
			continue;
		if ((g->service && xgw_rec_bad_regex("method.service", g->service, buf, len)) ||
		    (g->method && xgw_rec_bad_regex("method.method", g->method, buf, len)))
			return buf;
	}
	return NULL;
}

int xgw_rec_grpc_match_cmp(const struct xgw_grpc_match *a, const struct xgw_grpc_match *b)
{
	size_t sa = a && a->service ? strlen(a->service) : 0,
	       sb = b && b->service ? strlen(b->service) : 0;
	size_t ma = a && a->method ? strlen(a->method) : 0,
	       mb = b && b->method ? strlen(b->method) : 0;
	size_t ha = a ? a->n_headers : 0, hb = b ? b->n_headers : 0;

	/* The GRPCRoute API: the most characters of a matching service, then
	 * of a matching method, then the most header matches (hostnames are
	 * ranked by the virtual hosts before). */
	if (sa != sb)
		return sa > sb ? -1 : 1;
	if (ma != mb)
		return ma > mb ? -1 : 1;
	if (ha != hb)
		return ha > hb ? -1 : 1;
	return 0;
}

/* --- HTTPRoute and GRPCRoute on one listener ----------------------------- */

/* Route precedence across kinds: the older, then namespace/name (< 0: <a> wins). */
static int route_age_cmp(const struct xgw_httproute *a, const struct xgw_httproute *b)
{
	return xgw_rec_age_cmp(&a->meta, &b->meta);
}

/* A shared hostname of two attachments (both on one listener), or NULL. */
static const char *shared_host(const struct attachment *a, const struct attachment *b)
{
	for (int i = 0; i < a->n_hosts; i++)
		for (int j = 0; j < b->n_hosts; j++) {
			const char *h = xgw_hostname_intersect(*a->hosts[i] ? a->hosts[i] : NULL,
							       *b->hosts[j] ? b->hosts[j] : NULL);

			if (h)
				return *h ? h : "(any)";
		}
	return NULL;
}

struct cand {
	const struct ctx *c;
	size_t att; /* index into c->att */
};

static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;
	const struct attachment *x = &a->c->att.v[a->att], *y = &b->c->att.v[b->att];
	int d = route_age_cmp(x->route, y->route);

	if (d)
		return d;
	/* one route (or two of one name, of both kinds): HTTPRoute first */
	if (x->route_idx != y->route_idx)
		return x->route_idx < y->route_idx ? -1 : 1;
	return a->att < b->att ? -1 : a->att > b->att;
}

/*
 * Whether each (route, parentRef) was taken off its parent: one flag per
 * parentRef of each route, route i's at off[i].
 */
struct rejected {
	size_t *off;
	bool *flag;
};

static inline bool *rejected_at(const struct rejected *rj, const struct attachment *at)
{
	return &rj->flag[rj->off[at->route_idx] + at->parent_idx];
}

int xgw_rec_kind_conflicts(struct ctx *c)
{
	size_t nh = c->st->n_httproutes, n_cand = 0, n_parents = 0;
	uint32_t n_l = 0;
	struct cand *cand = NULL;
	/* per (listener with GRPCRoutes, kind): the accepted attachments, in the
	 * order they were accepted, as lists (1 + index into c->att; 0 ends) */
	size_t *head = NULL, *tail = NULL, *next = NULL;
	struct rejected rj = { 0 };
	int err = -ENOMEM;

	/* The listeners that carry a GRPCRoute: usually none, and then there
	 * is nothing to do. */
	for (size_t i = 0; i < c->att.n; i++) {
		struct gw_listener *l = c->att.v[i].l;

		if (c->att.v[i].route_idx >= nh && !l->kc_id)
			l->kc_id = ++n_l;
	}
	if (!n_l)
		return 0;
	for (size_t i = 0; i < c->n_routes; i++)
		n_parents += c->routes[i].r->n_parents;
	cand = calloc(c->att.n, sizeof(*cand));
	head = calloc(2 * (size_t)n_l, sizeof(*head));
	tail = calloc(2 * (size_t)n_l, sizeof(*tail));
	next = calloc(c->att.n, sizeof(*next));
	rj.off = calloc(c->n_routes + 1, sizeof(*rj.off));
	rj.flag = calloc(n_parents + 1, sizeof(*rj.flag));
	if (!cand || !head || !tail || !next || !rj.off || !rj.flag)
		goto out;
	for (size_t i = 0; i < c->n_routes; i++)
		rj.off[i + 1] = rj.off[i] + c->routes[i].r->n_parents;
	for (size_t i = 0; i < c->att.n; i++)
		if (c->att.v[i].l->kc_id)
			cand[n_cand++] = (struct cand){ c, i };
	/* In route precedence order, an attachment that shares a hostname of its
	 * listener with an accepted one of the other kind loses its parent. */
	qsort(cand, n_cand, sizeof(*cand), cand_cmp);
	for (size_t i = 0; i < n_cand; i++) {
		struct attachment *at = &c->att.v[cand[i].att];
		int kind = at->route_idx >= nh, other = !kind;
		size_t list = 2 * (size_t)(at->l->kc_id - 1);
		const struct attachment *winner = NULL;
		const char *host = NULL;

		if (*rejected_at(&rj, at))
			continue;
		/* the first accepted of the other kind on this listener, in the order accepted */
		for (size_t o = head[list + other]; o && !winner; o = next[o - 1]) {
			const struct attachment *oa = &c->att.v[o - 1];

			if (!*rejected_at(&rj, oa) && (host = shared_host(at, oa)))
				winner = oa;
		}
		if (!winner) {
			if (tail[list + kind])
				next[tail[list + kind] - 1] = cand[i].att + 1;
			else
				head[list + kind] = cand[i].att + 1;
			tail[list + kind] = cand[i].att + 1;
			continue;
		}
		struct xgw_route_status *rs = &c->res->routes[at->route_idx];
		struct xgw_parent_status *ps = &rs->parents[at->parent_idx];
		const struct route *wr = &c->routes[winner->route_idx];

		*rejected_at(&rj, at) = true;
		rs->same_as = 0; /* not the status it copied any more */
		xgw_rec_cond_set(&c->res->arena, &ps->conds, at->route->meta.generation, "Accepted",
				 false, "Conflicted",
				 "%s %s/%s, older or first by name, has hostname %s on listener %s",
				 wr->kind, winner->route->meta.ns, winner->route->meta.name, host,
				 at->l->spec->name);
		if (xgw_rec_problem(c->res, "%s %s/%s: not attached to %s/%s: %s", rs->kind, rs->ns,
				    rs->name, ps->ns, ps->name,
				    "an HTTPRoute and a GRPCRoute share a listener hostname"))
			goto out;
	}
	/* Detach every attachment of a rejected (route, parentRef). */
	size_t w = 0;

	for (size_t i = 0; i < c->att.n; i++) {
		struct attachment *at = &c->att.v[i];

		if (*rejected_at(&rj, at)) {
			at->l->st->attached_routes--;
			continue;
		}
		c->att.v[w++] = *at;
	}
	c->att.n = w;
	err = 0;
out:
	free(cand);
	free(head);
	free(tail);
	free(next);
	free(rj.off);
	free(rj.flag);
	return err;
}
