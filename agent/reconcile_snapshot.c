// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The second half of the reconciler: from the attachments of routes to
 * listeners, lay out the snapshot (rules with filters and backends, clusters
 * of ready endpoints, one snapshot listener per address and port with its
 * virtual hosts, matches in Gateway API precedence order) and the BPF
 * listener entries.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reconcile-int.h"
#include "xgw/netaddr.h"

/* --- snapshot ----------------------------------------------------------- */

/* A path that can stand as a cookie's Path attribute (RFC 6265 av-octets, no ';'). */
static bool cookie_path_ok(const char *p)
{
	if (strlen(p) > 256)
		return false;
	for (; *p; p++)
		if (*p < 0x21 || *p > 0x7e || *p == ';' || *p == ',' || *p == '"' || *p == '\\')
			return false;
	return true;
}

/*
 * sessionPersistence of <rule>. The cookie's Path is the rule's path when it
 * has one PathPrefix match (so that the cookie is not sent to other routes'
 * paths), else "/". Timeouts are whole seconds, rounded up.
 */
static int add_session(struct ctx *c, const struct xgw_http_rule *rule)
{
	const struct xgw_session *sp = &rule->session;
	const char *path = "/";

	if (rule->n_matches == 1 && rule->matches[0].path_type == XGW_MATCH_PATH_PREFIX &&
	    rule->matches[0].path && cookie_path_ok(rule->matches[0].path))
		path = rule->matches[0].path;
	return xgw_snapb_rule_session(
		c->b, sp->type == XGW_SESSION_HEADER ? XGW_SP_HEADER : XGW_SP_COOKIE,
		sp->permanent ? XGW_SP_PERMANENT : 0,
		sp->name ? sp->name : XGW_SESSION_NAME_DEFAULT, path,
		(uint32_t)(((uint64_t)sp->absolute_ms + 999) / 1000),
		(uint32_t)(((uint64_t)sp->idle_ms + 999) / 1000));
}

/* "<ns>/<name>:<port><sfx>" into <buf>, cut as snprintf() would. */
static void cluster_name(char *buf, size_t size, const char *ns, const char *name, uint32_t port,
			 const char *sfx)
{
	char num[16], *p = num + sizeof(num);
	const char *parts[5] = { ns, "/", name, ":", NULL };
	size_t n = 0;

	*--p = '\0';
	do
		*--p = (char)('0' + port % 10);
	while (port /= 10);
	parts[4] = p;
	for (int i = 0; i < 6; i++) {
		const char *s = i < 5 ? parts[i] : sfx;
		size_t l = strnlen(s, size - 1 - n);

		memcpy(buf + n, s, l);
		n += l;
	}
	buf[n] = '\0';
}

/*
 * One cluster per Service port and protocol. gRPC needs HTTP/2 to the backend
 * whatever the port's appProtocol says, so a GRPCRoute's backend is an h2c
 * cluster, named with a "/h2c" suffix when the port's own cluster would speak
 * HTTP/1.1; a port of appProtocol kubernetes.io/h2c is h2c for every route.
 */
static int cluster_of(struct ctx *c, const char *route_kind, const struct xgw_meta *rm,
		      const struct xgw_backend_ref *be, struct svc_ix *ix,
		      const struct xgw_service_port *sp, uint32_t *out);

int xgw_rec_cluster_for(struct ctx *c, const char *route_kind, const struct xgw_meta *rm,
			const struct xgw_backend_ref *be, const char *proto, uint32_t *out)
{
	const struct xgw_service_port *sp;
	struct svc_ix *ix;
	char msg[256];

	*out = XGW_SNAP_NONE;
	if (xgw_rec_ref_resolve(c, route_kind, rm, be, proto, msg, sizeof(msg), &ix, &sp))
		return 0;
	return cluster_of(c, route_kind, rm, be, ix, sp, out);
}

int xgw_rec_endpoints(const struct svc_ix *ix, const struct xgw_service_port *sp,
		      xgw_rec_emit_fn emit, void *arg)
{
	int err;

	for (size_t i = 0; i < ix->n_slices; i++) {
		const struct xgw_endpointslice *es = ix->slices[i];
		uint32_t port = 0;

		if (es->address_type && strcmp(es->address_type, "IPv4") &&
		    strcmp(es->address_type, "IPv6"))
			continue;
		for (size_t p = 0; p < es->n_ports; p++) {
			const char *pn = es->ports[p].name ? es->ports[p].name : "";
			const char *sn = sp->name ? sp->name : "";

			if (!strcmp(pn, sn))
				port = es->ports[p].port;
		}
		if (!port) {
			/* no matching named port: only a numeric targetPort can still tell */
			if (sp->target_port_name)
				continue;
			port = sp->target_port ? sp->target_port : sp->port;
		}
		for (size_t e = 0; e < es->n_endpoints; e++) {
			if (!es->endpoints[e].ready)
				continue;
			for (size_t k = 0; k < es->endpoints[e].n_addresses; k++) {
				const struct xgw_eps_ip *ip = es->endpoints[e].ips;
				uint8_t fam, addr[16];

				if (ip && ip[k].family) {
					if ((err = emit(arg, ip[k].family, ip[k].addr,
							(uint16_t)port)))
						return err;
					continue;
				}
				if (ip || xgw_ip_parse(es->endpoints[e].addresses[k], &fam, addr))
					continue;
				if ((err = emit(arg, fam, addr, (uint16_t)port)))
					return err;
			}
		}
	}
	return 0;
}

static int snapb_endpoint(void *b, uint8_t family, const uint8_t addr[16], uint16_t port)
{
	return xgw_snapb_endpoint(b, family, addr, port) < 0 ? -ENOMEM : 0;
}

/* Where the cluster just made gets its endpoints from, for xgw_reconcile_endpoints(). */
static int cluster_src(struct ctx *c, const struct svc_ix *ix, const struct xgw_service_port *sp)
{
	struct xgw_reconcile_result *res = c->res;

	if (res->n_cluster_srcs == c->cap_cluster_srcs) {
		size_t cap = c->cap_cluster_srcs ? 2 * c->cap_cluster_srcs : 64;
		struct xgw_cluster_src *v = realloc(res->cluster_srcs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		res->cluster_srcs = v;
		c->cap_cluster_srcs = cap;
	}
	res->cluster_srcs[res->n_cluster_srcs++] = (struct xgw_cluster_src){
		.svc = (uint32_t)(ix->svc - c->st->services),
		.port = (uint32_t)(sp - ix->svc->ports),
	};
	return 0;
}

/* xgw_rec_cluster_for() once <be> resolved to port <sp> of Service <ix>. */
static int cluster_of(struct ctx *c, const char *route_kind, const struct xgw_meta *rm,
		      const struct xgw_backend_ref *be, struct svc_ix *ix,
		      const struct xgw_service_port *sp, uint32_t *out)
{
	const char *ns = be->ns ? be->ns : rm->ns;
	struct svc_cluster *cl;
	bool port_h2c;
	uint8_t cproto;
	int idx, err;

	*out = XGW_SNAP_NONE;
	port_h2c = sp->app_protocol && !strcmp(sp->app_protocol, "kubernetes.io/h2c");
	cproto = port_h2c || !strcmp(route_kind, "GRPCRoute") ? XGW_CPROTO_H2C : XGW_CPROTO_HTTP1;
	for (size_t i = 0; i < ix->n_cl; i++) {
		if (ix->cl[i].sp == sp && ix->cl[i].proto == cproto) {
			*out = ix->cl[i].idx;
			return 0;
		}
	}

	char name[512];

	/* a BackendTLSPolicy without a usable CA: the backend cannot be used (500) */
	if (xgw_rec_btls_unusable(c, ix->svc, sp))
		return 0;
	cluster_name(name, sizeof(name), ns, be->name, be->port,
		     cproto == XGW_CPROTO_H2C && !port_h2c ? "/h2c" : "");
	idx = xgw_snapb_cluster(c->b, name);
	if (idx < 0)
		return idx;
	if ((err = xgw_rec_btls_cluster(c, ix->svc, sp)))
		return err;
	const char *lb = xgw_meta_annotation(&ix->svc->meta, XGW_ANN_LOAD_BALANCER);

	if (lb && !strcmp(lb, "least-request")) {
		if (xgw_snapb_cluster_lb(c->b, XGW_LB_LEAST_REQUEST))
			return -ENOMEM;
	} else if (lb && strcmp(lb, "round-robin") &&
		   xgw_rec_problem(
			   c->res,
			   "Service %s/%s: annotation %s: \"%s\" is neither round-robin nor "
			   "least-request; using round-robin",
			   ns, be->name, XGW_ANN_LOAD_BALANCER, lb)) {
		return -ENOMEM;
	}
	if (xgw_snapb_cluster_proto(c->b, cproto))
		return -ENOMEM;
	if ((err = xgw_rec_endpoints(ix, sp, snapb_endpoint, c->b)) ||
	    (err = cluster_src(c, ix, sp)))
		return err;
	cl = realloc(ix->cl, (ix->n_cl + 1) * sizeof(*ix->cl));
	if (!cl)
		return -ENOMEM;
	ix->cl = cl;
	ix->cl[ix->n_cl++] = (struct svc_cluster){ sp, (uint32_t)idx, cproto };
	*out = (uint32_t)idx;
	return 0;
}

static int cluster_for(struct ctx *c, const struct route *rt, const struct xgw_backend_ref *be,
		       uint32_t *out)
{
	return xgw_rec_cluster_for(c, rt->kind, &rt->r->meta, be, NULL, out);
}

static int add_hdrops(struct ctx *c, uint8_t op, const struct xgw_header_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (xgw_snapb_hdrop(c->b, op, kv[i].name, kv[i].value) < 0)
			return -ENOMEM;
	return 0;
}

/* The items of one list of a CORS filter, as list-item ops of the last filter. */
static int add_cors_items(struct ctx *c, uint8_t op, char *const *items, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (xgw_snapb_hdrop(c->b, op, items[k], NULL) < 0)
			return -ENOMEM;
	return 0;
}

/* Filters of a rule or of a backendRef, to the builder's current owner. */
static int add_filters(struct ctx *c, const struct route *rt, const struct xgw_http_filter *hf,
		       size_t n)
{
	static const uint8_t pmod[] = { [XGW_PM_NONE] = XGW_PATHMOD_NONE,
					[XGW_PM_FULL] = XGW_PATHMOD_FULL,
					[XGW_PM_PREFIX] = XGW_PATHMOD_PREFIX };

	for (size_t i = 0; i < n; i++) {
		const struct xgw_http_filter *f = &hf[i];
		struct xgw_snap_filter sf = { .path_mod = pmod[f->path_mod] };

		switch (f->type) {
		case XGW_HF_REQUEST_HEADER:
		case XGW_HF_RESPONSE_HEADER:
			sf.type = f->type == XGW_HF_REQUEST_HEADER ? XGW_FILTER_REQUEST_HEADER
								   : XGW_FILTER_RESPONSE_HEADER;
			if (xgw_snapb_filter(c->b, &sf, NULL, NULL, NULL) < 0 ||
			    add_hdrops(c, XGW_HDROP_SET, f->set, f->n_set) ||
			    add_hdrops(c, XGW_HDROP_ADD, f->add, f->n_add))
				return -ENOMEM;
			for (size_t k = 0; k < f->n_remove; k++)
				if (xgw_snapb_hdrop(c->b, XGW_HDROP_REMOVE, f->remove[k], NULL) < 0)
					return -ENOMEM;
			break;
		case XGW_HF_REDIRECT:
			sf.type = XGW_FILTER_REDIRECT;
			sf.status = (uint16_t)f->status_code;
			sf.port = f->port;
			if (xgw_snapb_filter(c->b, &sf, f->scheme, f->hostname, f->path) < 0)
				return -ENOMEM;
			break;
		case XGW_HF_URL_REWRITE:
			sf.type = XGW_FILTER_URL_REWRITE;
			if (xgw_snapb_filter(c->b, &sf, NULL, f->hostname, f->path) < 0)
				return -ENOMEM;
			break;
		case XGW_HF_MIRROR:
			if (!f->mirror || cluster_for(c, rt, f->mirror, &sf.cluster))
				return f->mirror ? -ENOMEM : 0;
			if (sf.cluster == XGW_SNAP_NONE || !f->mirror_num)
				break; /* unresolved (reported as ResolvedRefs) or 0 %: no copy */
			sf.type = XGW_FILTER_MIRROR;
			sf.num = f->mirror_num;
			sf.den = f->mirror_den;
			if (xgw_snapb_filter(c->b, &sf, NULL, NULL, NULL) < 0)
				return -ENOMEM;
			break;
		case XGW_HF_CORS:
			sf.type = XGW_FILTER_CORS;
			sf.num = f->cors.max_age;
			sf.flags = f->cors.credentials ? XGW_CORS_CREDENTIALS : 0;
			if (xgw_snapb_filter(c->b, &sf, NULL, NULL, NULL) < 0 ||
			    add_cors_items(c, XGW_HDROP_CORS_ORIGIN, f->cors.origins,
					   f->cors.n_origins) ||
			    add_cors_items(c, XGW_HDROP_CORS_METHOD, f->cors.methods,
					   f->cors.n_methods) ||
			    add_cors_items(c, XGW_HDROP_CORS_HEADER, f->cors.headers,
					   f->cors.n_headers) ||
			    add_cors_items(c, XGW_HDROP_CORS_EXPOSE, f->cors.expose,
					   f->cors.n_expose))
				return -ENOMEM;
			break;
		default:
			break; /* ExtensionRef: such rules are not built */
		}
	}
	return 0;
}

/* "<ns>/<name>" into <buf>, cut as snprintf() would (once per route: no format parsing). */
static void join_name(char *buf, size_t size, const char *ns, const char *name)
{
	size_t a = strnlen(ns, size - 1), b;

	memcpy(buf, ns, a);
	if (a < size - 1)
		buf[a++] = '/';
	b = strnlen(name, size - 1 - a);
	memcpy(buf + a, name, b);
	buf[a + b] = '\0';
}

/* Snapshot rules for every rule of every attached route, made once per route. */
static int build_rules(struct ctx *c)
{
	/* a patch has set those of the routes whose rules it keeps */
	if (!c->rule_ids)
		c->rule_ids = calloc(c->n_routes + 1, sizeof(*c->rule_ids));
	if (!c->rule_ids)
		return -ENOMEM;
	for (size_t i = 0; i < c->att.n; i++) {
		size_t ri = c->att.v[i].route_idx;
		const struct route *rt = &c->routes[ri];
		const struct xgw_httproute *r = rt->r;
		char name[512];

		if (c->rule_ids[ri])
			continue;
		/* zeroed, freed with the ctx: no malloc/free pair per route */
		c->rule_ids[ri] = xgw_arena_alloc(&c->tmp, (r->n_rules + 1) * sizeof(uint32_t));
		if (!c->rule_ids[ri])
			return -ENOMEM;
		join_name(name, sizeof(name), r->meta.ns, r->meta.name);
		for (size_t k = 0, off = 0; k < r->n_rules; off += r->rules[k].n_backends, k++) {
			const struct xgw_http_rule *rule = &r->rules[k];
			const struct be_memo *memo = &c->be_memo[c->be_first[ri] + off];
			uint32_t cl[64];
			int idx;

			char why[384];

			if (!c->rules_ok[ri] &&
			    xgw_rec_route_rule_problem(c, ri, k, why, sizeof(why))) {
				c->rule_ids[ri][k] = XGW_SNAP_NONE;
				continue;
			}
			/* clusters first: a rule's backends must follow it directly;
			 * those the status pass resolved are not looked up again */
			for (size_t b = 0; b < rule->n_backends && b < 64; b++) {
				const struct be_memo *m = &memo[b];
				int err =
					m->ix ? cluster_of(c, rt->kind, &r->meta,
							   &rule->backends[b], m->ix, m->sp, &cl[b])
					      : cluster_for(c, rt, &rule->backends[b], &cl[b]);

				if (err)
					return -ENOMEM;
			}
			idx = xgw_snapb_rule(c->b, name, (uint32_t)k, rule->timeout_request_ms,
					     rule->timeout_backend_ms);
			if (idx < 0)
				return idx;
			if (rule->retry.set &&
			    xgw_snapb_rule_retry(c->b, rule->retry.attempts, rule->retry.backoff_ms,
						 rule->retry.codes, rule->retry.n_codes))
				return -ENOMEM;
			if (rule->session.type != XGW_SESSION_NONE && add_session(c, rule))
				return -ENOMEM;
			if (add_filters(c, rt, rule->filters, rule->n_filters))
				return -ENOMEM;
			for (size_t b = 0; b < rule->n_backends && b < 64; b++) {
				const struct xgw_backend_ref *be = &rule->backends[b];

				if (xgw_snapb_backend(c->b, cl[b], be->weight) < 0 ||
				    add_filters(c, rt, be->filters, be->n_filters))
					return -ENOMEM;
			}
			c->rule_ids[ri][k] = (uint32_t)idx;
		}
	}
	return 0;
}

struct entry {
	const struct xgw_httproute *route;
	const struct xgw_http_match *m; /* NULL: the default match, PathPrefix "/" */
	bool grpc;			/* of a GRPCRoute: ordered by its own rules */
	const struct xgw_grpc_match *g; /* its GRPCRoute match (NULL: the default) */
	uint32_t rule_idx;		/* within the route */
	uint32_t match_idx;
	uint32_t snap_rule;
	uint8_t path_type;
	const char *path;
};

/* Exact, then RegularExpression, then PathPrefix (as Envoy-based gateways order them). */
static int path_rank(uint8_t t)
{
	return t == XGW_PATH_EXACT ? 0 : t == XGW_PATH_REGEX ? 1 : 2;
}

/*
 * HTTPRoute precedence: exact before prefix, the longer path, a method match,
 * more header matches, more query matches. 0 on a tie.
 */
static int http_cmp(const struct entry *a, const struct entry *b)
{
	if (a->path_type != b->path_type)
		return path_rank(a->path_type) - path_rank(b->path_type);
	size_t la = strlen(a->path), lb = strlen(b->path);

	if (la != lb)
		return la > lb ? -1 : 1;
	bool ma = a->m && a->m->method, mb = b->m && b->m->method;

	if (ma != mb)
		return ma ? -1 : 1;
	size_t ha = a->m ? a->m->n_headers : 0, hb = b->m ? b->m->n_headers : 0;

	if (ha != hb)
		return ha > hb ? -1 : 1;
	size_t qa = a->m ? a->m->n_query : 0, qb = b->m ? b->m->n_query : 0;

	if (qa != qb)
		return qa > qb ? -1 : 1;
	return 0;
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int d;

	/* Each kind by its own rules (the API forbids merging them; an HTTPRoute
	 * and a GRPCRoute do not share a hostname of a listener), then the older
	 * route, namespace/name, rule and match order. */
	if (a->grpc != b->grpc)
		return a->grpc ? 1 : -1;
	if ((d = a->grpc ? xgw_rec_grpc_match_cmp(a->g, b->g) : http_cmp(a, b)))
		return d;
	if ((d = xgw_rec_age_cmp(&a->route->meta, &b->route->meta)))
		return d;
	if (a->rule_idx != b->rule_idx)
		return a->rule_idx < b->rule_idx ? -1 : 1;
	return a->match_idx < b->match_idx ? -1 : a->match_idx > b->match_idx;
}

static uint8_t snap_path_type(const struct xgw_http_match *hm)
{
	if (!hm || hm->path_type == XGW_MATCH_PATH_PREFIX)
		return XGW_PATH_PREFIX;
	return hm->path_type == XGW_MATCH_PATH_EXACT ? XGW_PATH_EXACT : XGW_PATH_REGEX;
}

static int add_kvs(struct ctx *c, uint8_t kind, const struct xgw_kv_match *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t type = kv[i].type && !strcmp(kv[i].type, "RegularExpression")
				       ? XGW_KV_REGEX
				       : XGW_KV_EXACT;
		char name[256];
		size_t len = strlen(kv[i].name);

		/* header names compare case-insensitively: store them lower-case */
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		for (size_t k = 0; k < len; k++)
			name[k] = kind == XGW_KV_HEADER
					  ? (char)tolower((unsigned char)kv[i].name[k])
					  : kv[i].name[k];
		name[len] = '\0';
		if (xgw_snapb_kv(c->b, kind, type, name, kv[i].value) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct vhost {
	const char *host; /* "" = any */
	size_t len;	  /* strlen(host) */
	uint32_t hash;	  /* host_hash(host) */
	long rank;	  /* xgw_rec_host_rank(host) */
	uint32_t ov;	  /* a patch's reopened listener: the old vhost of this name */
	VEC(struct entry) e;
};

/*
 * A listener's vhosts as they are gathered. Past VHOST_LINEAR of them, a
 * hash index finds a hostname (a listener may hold thousands: a linear
 * search made the gathering quadratic, 0.3 G instructions for 10,000).
 */
struct vhost_vec {
	struct vhost *v;
	size_t n, cap;
	uint32_t *tab;	 /* 1 + index into v, by hash, in its first tab_size slots */
	size_t tab_size; /* 0: no index (n <= VHOST_LINEAR) */
	size_t tab_cap;	 /* slots allocated, kept from listener to listener */
};

#define VHOST_LINEAR 8

static int vhost_cmp(const void *pa, const void *pb)
{
	const struct vhost *a = pa, *b = pb;

	if (a->rank != b->rank)
		return a->rank > b->rank ? -1 : 1;
	return strcasecmp(a->host, b->host);
}

/*
 * Sort <n> elements of <size> bytes at <base> as qsort() would, stably (as
 * glibc's merge sort is): an insertion sort for the few elements of most
 * vhosts and listeners, which qsort()'s set-up costs more than it sorts.
 */
static void sort_small(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	char *a = base, tmp[128];

	if (n > 16 || size > sizeof(tmp)) {
		qsort(base, n, size, cmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		size_t j = i;

		if (cmp(a + (i - 1) * size, a + i * size) <= 0)
			continue;
		memcpy(tmp, a + i * size, size);
		while (j > 0 && cmp(a + (j - 1) * size, tmp) > 0) {
			memcpy(a + j * size, a + (j - 1) * size, size);
			j--;
		}
		memcpy(a + j * size, tmp, size);
	}
}

/* <a> then <b> then <c> joined by <sep>, cut as snprintf() would. */
static void join3(char *buf, size_t size, const char *a, char sep, const char *b, char sep2,
		  const char *c)
{
	const char *parts[3] = { a, b, c };
	size_t n = 0;

	for (int i = 0; i < 3; i++) {
		size_t l;

		if (i && n < size - 1)
			buf[n++] = i == 1 ? sep : sep2;
		l = strnlen(parts[i], size - 1 - n);
		memcpy(buf + n, parts[i], l);
		n += l;
	}
	buf[n] = '\0';
}

/* Is <l> the most specific listener of the port group for effective host <h>? */
bool xgw_rec_best_listener(struct gw_listener **grp, size_t n, struct gw_listener *l, const char *h)
{
	long mine = xgw_rec_host_rank(l->spec->hostname);

	for (size_t i = 0; i < n; i++) {
		const char *oh = grp[i]->spec->hostname;

		if (grp[i] == l || xgw_rec_host_rank(oh) <= mine)
			continue;
		/* a narrower listener that the effective hostname falls into */
		if (*h && xgw_hostname_intersect(oh, h) &&
		    (!xgw_rec_is_wild(h) || xgw_rec_is_wild(oh)) &&
		    !strcasecmp(xgw_hostname_intersect(oh, h), h))
			return false;
	}
	return true;
}

/* A hash of <h> that strings equal to it under strcasecmp() share; its length in *<len>. */
static uint32_t host_hash(const char *h, size_t *len)
{
	*len = strlen(h);
	return xgw_rec_name_hash(h, *len);
}

static inline bool vhost_is(const struct vhost *v, const char *host, size_t len, uint32_t hash)
{
	/* strings that differ in length or hash are never equal, whatever their case */
	return v->hash == hash && v->len == len && !strcasecmp(v->host, host);
}

static void vhost_tab_put(struct vhost_vec *vh, size_t i)
{
	size_t mask = vh->tab_size - 1, h = vh->v[i].hash & mask;

	while (vh->tab[h])
		h = (h + 1) & mask;
	vh->tab[h] = (uint32_t)i + 1;
}

/* Index the vhosts gathered so far, in a table at most a quarter full. False: ENOMEM. */
static bool vhost_tab_build(struct vhost_vec *vh)
{
	size_t size = 64;

	while (size < 4 * vh->n)
		size *= 2;
	if (size > vh->tab_cap) {
		uint32_t *tab = malloc(size * sizeof(*tab));

		if (!tab)
			return false;
		free(vh->tab);
		vh->tab = tab;
		vh->tab_cap = size;
	}
	/* only the slots this listener uses: the cost follows its vhosts */
	memset(vh->tab, 0, size * sizeof(*vh->tab));
	vh->tab_size = size;
	for (size_t i = 0; i < vh->n; i++)
		vhost_tab_put(vh, i);
	return true;
}

/* Empty for the next listener; the memory stays. */
static void vhosts_reset(struct vhost_vec *vh)
{
	vh->tab_size = 0;
	vh->n = 0;
}

static struct vhost *vhost_get(struct vhost_vec *vh, const char *host)
{
	size_t len;
	uint32_t hash = host_hash(host, &len);

	if (vh->tab_size) {
		size_t mask = vh->tab_size - 1;

		for (size_t h = hash & mask; vh->tab[h]; h = (h + 1) & mask)
			if (vhost_is(&vh->v[vh->tab[h] - 1], host, len, hash))
				return &vh->v[vh->tab[h] - 1];
	} else {
		for (size_t i = 0; i < vh->n; i++)
			if (vhost_is(&vh->v[i], host, len, hash))
				return &vh->v[i];
	}
	/* the slots and their entry arrays are kept from listener to listener */
	if (vh->n == vh->cap) {
		size_t cap = vh->cap ? 2 * vh->cap : 16;
		struct vhost *p = realloc(vh->v, cap * sizeof(*p));

		if (!p)
			return NULL;
		memset(p + vh->cap, 0, (cap - vh->cap) * sizeof(*p));
		vh->v = p;
		vh->cap = cap;
	}
	struct vhost *v = &vh->v[vh->n++];

	v->host = host;
	v->len = len;
	v->hash = hash;
	v->rank = xgw_rec_host_rank(host);
	v->e.n = 0;
	if (vh->n > VHOST_LINEAR) {
		if (vh->tab_size && 4 * vh->n <= vh->tab_size)
			vhost_tab_put(vh, vh->n - 1);
		else if (!vhost_tab_build(vh))
			return NULL;
	}
	return v;
}

static void vhosts_free(struct vhost_vec *vh)
{
	for (size_t i = 0; i < vh->cap; i++)
		free(vh->v[i].e.v);
	free(vh->v);
	free(vh->tab);
}

static int listener_rank_cmp(const void *pa, const void *pb)
{
	const struct gw_listener *a = *(struct gw_listener *const *)pa,
				 *b = *(struct gw_listener *const *)pb;
	const char *ha = a->spec->hostname ? a->spec->hostname : "",
		   *hb = b->spec->hostname ? b->spec->hostname : "";
	long ra = xgw_rec_host_rank(ha), rb = xgw_rec_host_rank(hb);

	if (ra != rb)
		return ra > rb ? -1 : 1;
	return strcasecmp(ha, hb);
}

/*
 * The server names of a port group: one per listener that terminates TLS
 * (HTTPS, TLS Terminate: those with certificates), most specific first (as a
 * ClientHello's server name is matched), with its certificates.
 */
int xgw_rec_add_snis(struct ctx *c, struct gw_listener **grp, size_t n)
{
	struct gw_listener **by_rank;

	by_rank = malloc(n * sizeof(*by_rank));
	if (!by_rank)
		return -ENOMEM;
	memcpy(by_rank, grp, n * sizeof(*by_rank));
	qsort(by_rank, n, sizeof(*by_rank), listener_rank_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct gw_listener *gl = by_rank[i];
		char *ca = NULL;
		size_t ca_len = 0;
		FILE *f;
		int idx;

		if (!gl->n_certs)
			continue; /* TLS passthrough */
		f = gl->n_cas ? open_memstream(&ca, &ca_len) : NULL;
		if (gl->n_cas && !f)
			goto oom;
		for (size_t k = 0; k < gl->n_cas; k++)
			fprintf(f, "%s\n", gl->cas[k]->ca_crt);
		if (f && fclose(f))
			goto oom;
		idx = xgw_snapb_sni(c->b, gl->spec->hostname ? gl->spec->hostname : "",
				    !gl->n_cas	      ? XGW_CLIENT_VERIFY_NONE
				    : gl->ca_optional ? XGW_CLIENT_VERIFY_OPTIONAL
						      : XGW_CLIENT_VERIFY_REQUIRE,
				    ca, ca_len);
		free(ca);
		if (idx < 0)
			goto oom;
		for (size_t k = 0; k < gl->n_certs; k++) {
			const struct xgw_secret *sec = gl->certs[k];
			char name[512];

			snprintf(name, sizeof(name), "%s/%s", sec->meta.ns, sec->meta.name);
			if (xgw_snapb_cert(c->b, name, sec->tls_crt, sec->tls_crt_len, sec->tls_key,
					   sec->tls_key_len) < 0)
				goto oom;
		}
	}
	free(by_rank);
	return 0;
oom:
	free(by_rank);
	return -ENOMEM;
}

int xgw_rec_bpf_listener(struct ctx *c, struct gw *g, int ai, uint16_t port, uint8_t ipproto,
			 uint32_t id)
{
	struct xgw_reconcile_result *res = c->res;
	struct xgw_bpf_listener *bl;

	/* doubled, not grown by one: at 1,000 listeners that was a quadratic copy */
	if (res->n_listeners == c->cap_listeners) {
		size_t cap = c->cap_listeners ? 2 * c->cap_listeners : 64;
		void *p = realloc(res->listeners, cap * sizeof(*res->listeners));

		if (!p)
			return -ENOMEM;
		res->listeners = p;
		c->cap_listeners = cap;
	}
	bl = &res->listeners[res->n_listeners++];
	memset(bl, 0, sizeof(*bl));
	bl->family = g->fam[ai];
	memcpy(bl->addr, g->addr[ai], 16);
	bl->port = port;
	bl->proto = ipproto;
	bl->id = id;
	return 0;
}

/*
 * The vhosts of reopened listener <li> in vhost_cmp() order without sorting
 * them all (a listener may hold thousands): those the old listener has come
 * in its order, which was that order (and a part of a sorted list is sorted);
 * the few new ones are sorted and merged in. Sets each one's ov.
 */
static int order_as_old(struct ctx *c, struct vhost_vec *vh, size_t li)
{
	const struct xgw_snap_listener *ol = &c->pt.old.listeners[li];
	size_t n = vh->n, n_new = 0, k = 0, f = 0;
	uint32_t *slot = calloc(ol->vhost_count + 1, sizeof(*slot)); /* 1 + index in vh */
	struct vhost *out = malloc((2 * n + 1) * sizeof(*out)), *fresh = out + n;

	if (!slot || !out) {
		free(slot);
		free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct vhost *v = &vh->v[i];

		v->ov = xgw_rec_patch_old_vhost(c, li, v->host, v->len, v->hash);
		if (v->ov != XGW_SNAP_NONE)
			slot[v->ov - ol->vhost_first] = (uint32_t)i + 1;
		else
			fresh[n_new++] = *v;
	}
	if (n_new > 1)
		sort_small(fresh, n_new, sizeof(*fresh), vhost_cmp);
	for (uint32_t p = 0; p < ol->vhost_count; p++) {
		const struct vhost *v;

		if (!slot[p])
			continue;
		v = &vh->v[slot[p] - 1];
		while (f < n_new && vhost_cmp(&fresh[f], v) < 0)
			out[k++] = fresh[f++];
		out[k++] = *v;
	}
	while (f < n_new)
		out[k++] = fresh[f++];
	/* the same slots in another order: each keeps its entry array */
	if (k == n && n) /* none: vh->v may not be there yet */
		memcpy(vh->v, out, n * sizeof(*out));
	free(slot);
	free(out);
	return k == n ? 0 : -ESTALE; /* two names for one old vhost: cannot be */
}

/*
 * Does old vhost <ov> hold the matches of <v> (its entries sorted)? The same
 * snapshot rules in the same order are the same matches: a patch keeps the
 * rules of the routes that did not change, and those alone, where they were.
 */
static bool same_matches(const struct ctx *c, uint32_t ov, const struct vhost *v)
{
	const struct xgw_snapshot *s = &c->pt.old;
	const struct xgw_snap_vhost *o = &s->vhosts[ov];

	if (o->match_count != v->e.n || o->flags)
		return false;
	for (size_t k = 0; k < v->e.n; k++)
		if (s->matches[o->match_first + k].rule != v->e.v[k].snap_rule)
			return false;
	return true;
}

/*
 * One snapshot listener for address <ai> of <g> on the port of <grp>; <vh> is
 * scratch space (empty; left empty, its memory kept for the next listener).
 * <reopen> >= 0: that listener of a patched snapshot gets its vhosts again
 * (its entry, server names and BPF entry stay as they are).
 */
static int build_listener(struct ctx *c, struct gw *g, int ai, struct gw_listener **grp, size_t n,
			  struct vhost_vec *vhp, int64_t reopen)
{
	const struct xgw_gateway *gw = g->spec;
	struct vhost_vec vh = *vhp;
	char name[512];
	int err = -ENOMEM, idx;

	for (size_t li = 0; li < n; li++) {
		for (size_t j = 0; j < grp[li]->att_n; j++) {
			struct attachment *at = &c->att.v[c->att_by_l[grp[li]->att_first + j]];

			for (int h = 0; h < at->n_hosts; h++) {
				struct vhost *v;

				if (!xgw_rec_best_listener(grp, n, at->l, at->hosts[h]))
					continue;
				v = vhost_get(&vh, at->hosts[h]);
				if (!v)
					goto out;
				const struct xgw_grpcroute *gr = c->routes[at->route_idx].grpc;

				for (size_t k = 0; k < at->route->n_rules; k++) {
					const struct xgw_http_rule *rule = &at->route->rules[k];
					uint32_t sr = c->rule_ids[at->route_idx][k];
					size_t nm = rule->n_matches ? rule->n_matches : 1;

					if (sr == XGW_SNAP_NONE)
						continue;
					for (size_t m = 0; m < nm; m++) {
						const struct xgw_http_match *hm =
							rule->n_matches ? &rule->matches[m] : NULL;
						struct entry e = {
							.route = at->route,
							.m = hm,
							.grpc = gr != NULL,
							.g = gr && hm ? &gr->rules[k].matches[m]
								      : NULL,
							.rule_idx = (uint32_t)k,
							.match_idx = (uint32_t)m,
							.snap_rule = sr,
							.path_type = snap_path_type(hm),
							.path = hm && hm->path ? hm->path : "/",
						};

						if (VEC_PUSH(v->e, e))
							goto out;
					}
				}
			}
		}
	}
	/* A listener's own hostname routes there even with no route (404 then). */
	for (size_t k = 0; k < n; k++)
		if (grp[k]->spec->hostname && !vhost_get(&vh, grp[k]->spec->hostname))
			goto out;
	if (reopen >= 0) {
		if (order_as_old(c, &vh, (size_t)reopen))
			goto out;
	} else if (vh.n > 1) { /* most vhosts hold one route: no sort set-up for those */
		sort_small(vh.v, vh.n, sizeof(*vh.v), vhost_cmp);
	}

	if (reopen >= 0) {
		idx = (int)reopen;
		if (xgw_snapb_listener_reopen(c->b, (uint32_t)reopen))
			goto out;
	} else {
		if (n == 1 && grp[0]->ls)
			join3(name, sizeof(name), grp[0]->ls->spec->meta.ns, '/',
			      grp[0]->ls->spec->meta.name, '/', grp[0]->spec->name);
		else if (n == 1)
			join3(name, sizeof(name), gw->meta.ns, '/', gw->meta.name, '/',
			      grp[0]->spec->name);
		else
			snprintf(name, sizeof(name), "%s/%s:%u", gw->meta.ns, gw->meta.name,
				 grp[0]->spec->port);
		idx = xgw_snapb_listener(c->b, g->fam[ai], g->addr[ai],
					 (uint16_t)grp[0]->spec->port,
					 xgw_rec_snap_lproto(grp[0]->spec->proto), name);
		if (idx < 0 || xgw_rec_add_snis(c, grp, n))
			goto out;
	}
	for (size_t i = 0; i < vh.n; i++) {
		struct vhost *v = &vh.v[i];

		if (v->e.n > 1)
			sort_small(v->e.v, v->e.n, sizeof(*v->e.v), entry_cmp);
		/* a patch: a vhost whose matches are the old one's stays as it was */
		if (reopen >= 0 && v->ov != XGW_SNAP_NONE && same_matches(c, v->ov, v)) {
			if (xgw_rec_patch_vhost_kept(c, v->ov) < 0)
				goto out;
			continue;
		}
		if (xgw_snapb_vhost(c->b, v->host, v->len) < 0)
			goto out;
		for (size_t k = 0; k < v->e.n; k++) {
			struct entry *e = &v->e.v[k];

			if (xgw_snapb_match(c->b, e->snap_rule, e->path_type, e->path,
					    strlen(e->path), e->m ? e->m->method : NULL) < 0 ||
			    (e->m && (add_kvs(c, XGW_KV_HEADER, e->m->headers, e->m->n_headers) ||
				      add_kvs(c, XGW_KV_QUERY, e->m->query, e->m->n_query))))
				goto out;
		}
	}
	if (reopen < 0 && xgw_rec_bpf_listener(c, g, ai, (uint16_t)grp[0]->spec->port, IPPROTO_TCP,
					       (uint32_t)idx))
		goto out;
	err = 0;
out:
	vhosts_reset(&vh);
	*vhp = vh;
	return err;
}

/* Group the attachments by listener, so that each listener visits its own. */
static int index_attachments(struct ctx *c)
{
	size_t next = 0;

	c->att_by_l = calloc(c->att.n + 1, sizeof(*c->att_by_l));
	if (!c->att_by_l)
		return -ENOMEM;
	for (size_t i = 0; i < c->att.n; i++)
		c->att.v[i].l->att_n++;
	for (size_t g = 0; g < c->n_gws; g++) {
		if (!c->gws[g].listeners)
			continue;
		for (size_t l = 0; l < c->gws[g].n_listeners; l++) {
			struct gw_listener *gl = &c->gws[g].listeners[l];

			gl->att_first = next;
			next += gl->att_n;
			gl->att_n = 0;
		}
	}
	for (size_t i = 0; i < c->att.n; i++) {
		struct gw_listener *gl = c->att.v[i].l;

		c->att_by_l[gl->att_first + gl->att_n++] = i;
	}
	return 0;
}

/*
 * Snapshot listener c->walk_li: address <ai> of <g>, port group <grp>. A
 * patch builds the vhosts of those whose attachments changed, and nothing else.
 */
static int walk_listener(struct ctx *c, struct gw *g, int ai, struct gw_listener **grp, size_t n,
			 struct vhost_vec *vh)
{
	bool http = grp[0]->spec->proto == XGW_PROTO_HTTP || grp[0]->spec->proto == XGW_PROTO_HTTPS;
	bool dirty = true;
	int err = xgw_rec_patch_listener(c, g, ai, grp, n, !http, &dirty);

	if (err)
		return err;
	if (!c->pt.on)
		err = http ? build_listener(c, g, ai, grp, n, vh, -1)
			   : xgw_rec_build_l4_listener(c, g, ai, grp, n);
	else if (dirty) /* an L4 group's attachments are not routes' (never dirty) */
		err = http ? build_listener(c, g, ai, grp, n, vh, (int64_t)c->walk_li) : -ESTALE;
	c->walk_li++;
	return err;
}

static int build_listeners(struct ctx *c)
{
	struct vhost_vec vh = { 0 };
	int ret = 0;

	for (size_t gi = 0; gi < c->n_gws && !ret; gi++) {
		struct gw *g = &c->gws[gi];
		size_t nl = g->n_listeners; /* its own and its ListenerSets' */
		struct gw_listener **grp;
		bool *done;
		int err = 0;

		if (!g->st->ours || !g->n_addr || !nl)
			continue;
		grp = calloc(nl, sizeof(*grp));
		done = calloc(nl, sizeof(*done));
		if (!grp || !done) {
			free(grp);
			free(done);
			ret = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < nl && !err; i++) {
			size_t n = 0;

			if (done[i] || !g->listeners[i].valid || g->listeners[i].unresolved)
				continue;
			/* one group per port, UDP apart (TCP and UDP ports do not meet) */
			for (size_t j = i; j < nl; j++) {
				if (g->listeners[j].valid && !g->listeners[j].unresolved &&
				    g->listeners[j].spec->port == g->listeners[i].spec->port &&
				    (g->listeners[j].spec->proto == XGW_PROTO_UDP) ==
					    (g->listeners[i].spec->proto == XGW_PROTO_UDP)) {
					grp[n++] = &g->listeners[j];
					done[j] = true;
				}
			}
			for (int ai = 0; ai < g->n_addr && !err; ai++)
				err = walk_listener(c, g, ai, grp, n, &vh);
		}
		free(grp);
		free(done);
		ret = err;
	}
	vhosts_free(&vh);
	return ret;
}

/*
 * Room in the builder's sections for about what the HTTP routes add, so that
 * the sections do not grow (and copy themselves) a dozen times at scale. An
 * estimate: the snapshot is the same whatever it is.
 */
static int reserve(struct ctx *c)
{
	size_t rules = 0, backends = 0, vhosts = 0, matches = 0, eps = 0, bytes;
	struct xgw_snapb *b = c->b;

	for (size_t i = 0; i < c->n_routes; i++) {
		const struct xgw_httproute *r = c->routes[i].r;
		size_t m = 0;

		for (size_t k = 0; k < r->n_rules; k++) {
			backends += r->rules[k].n_backends;
			m += r->rules[k].n_matches ? r->rules[k].n_matches : 1;
		}
		rules += r->n_rules;
		vhosts += r->n_hostnames ? r->n_hostnames : 1;
		matches += m * (r->n_hostnames ? r->n_hostnames : 1);
	}
	for (size_t i = 0; i < c->st->n_slices; i++)
		eps += c->st->slices[i].n_endpoints;
	bytes = 32 * (rules + vhosts) + 2 * matches;
	if (rules > UINT32_MAX / 4 || matches > UINT32_MAX / 4 || eps > UINT32_MAX / 4 ||
	    bytes > UINT32_MAX / 4)
		return 0; /* the sections grow as they need, or fail there */
	if (xgw_snapb_reserve(b, XGW_SECT_RULE, (uint32_t)rules) ||
	    xgw_snapb_reserve(b, XGW_SECT_BACKEND, (uint32_t)backends) ||
	    xgw_snapb_reserve(b, XGW_SECT_VHOST, (uint32_t)vhosts) ||
	    xgw_snapb_reserve(b, XGW_SECT_MATCH, (uint32_t)matches) ||
	    xgw_snapb_reserve(b, XGW_SECT_CLUSTER, (uint32_t)c->n_svcs) ||
	    xgw_snapb_reserve(b, XGW_SECT_ENDPOINT, (uint32_t)eps) ||
	    xgw_snapb_reserve(b, XGW_SECT_STRING, (uint32_t)bytes))
		return -ENOMEM;
	return 0;
}

int xgw_rec_build_snapshot(struct ctx *c)
{
	int err;

	/* a patch keeps the L4 routes' rules: L4 routes are not what changed */
	if ((!c->pt.on && (err = reserve(c))) || (err = build_rules(c)) ||
	    (!c->pt.on && (err = xgw_rec_build_l4_rules(c))))
		return err;
	/* a new cluster with a problem to tell: a full pass tells them all, in order */
	if (c->pt.on && c->res->n_problems != c->pt.n_problems)
		return -ESTALE;
	if ((err = index_attachments(c)) || (err = build_listeners(c)))
		return err;
	/* a patch keeps the old listeners: every one of them must have been walked */
	if (c->pt.on && c->walk_li != c->pt.pp->n_listeners)
		return -ESTALE;
	return 0;
}
