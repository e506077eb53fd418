/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Private to the reconciler: what agent/reconcile.c (objects, statuses,
 * attachment), agent/reconcile_listeners.c, agent/reconcile_grpc.c (GRPCRoute)
 * and agent/reconcile_snapshot.c (the snapshot laid out from them) share. Not
 * part of any interface.
 */
#ifndef XGW_AGENT_RECONCILE_INT_H
#define XGW_AGENT_RECONCILE_INT_H

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile.h"
#include "xgw/hash.h"
#include "xgw/snapshot.h"

/* A growable array of T in malloc'ed memory (not the arena: it is temporary). */
#define VEC(T)                                                                                     \
	struct {                                                                                   \
		T *v;                                                                              \
		size_t n, cap;                                                                     \
	}

static inline void *vec_grow(void *v, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return v;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(v, ncap * elem);

	if (!p)
		return NULL;
	*cap = ncap;
	return p;
}

#define VEC_PUSH(vec, val)                                                                         \
	({                                                                                         \
		void *p_ = vec_grow((vec).v, &(vec).cap, (vec).n, sizeof(*(vec).v));               \
		int r_ = -ENOMEM;                                                                  \
		if (p_) {                                                                          \
			(vec).v = p_;                                                              \
			(vec).v[(vec).n++] = (val);                                                \
			r_ = 0;                                                                    \
		}                                                                                  \
		r_;                                                                                \
	})

struct lset;

/* A listener of a Gateway: its own, or one of an accepted ListenerSet's. */
struct gw_listener {
	const struct xgw_gateway *gw; /* the Gateway it is a listener of */
	struct lset *ls;	      /* the ListenerSet it comes from; NULL: the Gateway's own */
	const struct xgw_gw_listener *spec;
	struct xgw_listener_status *st;
	bool valid;	      /* accepted, not conflicted, programmable */
	const char *conflict; /* ProtocolConflict, HostnameConflict or NULL */
	bool holds;	  /* takes its port and hostname: later ListenerSet listeners conflict */
	size_t att_first; /* its attachments: c->att_by_l[att_first .. +att_n) */
	size_t att_n;
	bool unresolved; /* accepted (routes attach) but not served: no usable certificate */
	const struct xgw_secret **certs; /* HTTPS: the usable certificateRefs, in order */
	size_t n_certs;
	/* HTTPS with client certificate validation (spec.tls.frontend): the usable
	 * CA ConfigMaps, and whether a client without a valid certificate is
	 * refused (AllowValidOnly) or let in (AllowInsecureFallback) */
	const struct xgw_configmap **cas;
	size_t n_cas;
	bool ca_optional;
	uint32_t kc_id; /* xgw_rec_kind_conflicts(): 1 + its index among those with GRPCRoutes */
};

/* A ListenerSet whose parent is one of our Gateways. */
struct lset {
	const struct xgw_listenerset *spec;
	struct xgw_listenerset_status *st;
	struct gw *g;  /* the parent */
	bool accepted; /* allowed by the parent, which is accepted, and some listener is valid */
	struct lset *next; /* the parent's next ListenerSet */
};

struct gw {
	const struct xgw_gateway *spec;
	struct xgw_gateway_status *st;
	/* the Gateway's own listeners [0, spec->n_listeners), then those of its
	 * allowed ListenerSets in precedence order [.., n_listeners) */
	struct gw_listener *listeners;
	size_t n_listeners;
	/* listener indices ordered by name, then index (made by the first route
	 * that names a sectionName, in c->tmp): a parentRef finds its listeners
	 * without a pass over all of them */
	size_t *by_name;
	/* addresses to program: spec.addresses or one from a pool */
	uint8_t fam[8];
	uint8_t addr[8][16];
	int n_addr;
	bool bad_addr;	    /* a spec.address is unsupported: not Accepted */
	bool unusable_addr; /* a spec.address cannot be served here: not Programmed */
	bool want_pool;	    /* no spec.addresses, or one without a value */
	bool partly_valid;  /* some listener is not valid (ListenersNotValid) */
	char *unusable_msg;
	/* the address pools of its GatewayClass's XgwConfig, else the agent's */
	const struct xgw_pool *pools;
	size_t n_pools;
	const char *class_bad; /* its GatewayClass is not accepted: why */
	/* its ListenerSets (whose parent it is) in precedence order, by lset.next */
	struct lset *lsets;
};

/* What a GatewayClass of ours takes from its spec.parametersRef. */
struct class_params {
	const struct xgw_class_config *cfg; /* NULL: no parametersRef */
	struct xgw_pool *pools;		    /* cfg's addressPools (in c->tmp) */
	size_t n_pools;
	const char *bad; /* the parametersRef is invalid: why (the class is not accepted) */
};

/*
 * A route of the HTTP family as the reconciler handles it: an HTTPRoute, or a
 * GRPCRoute translated into one (reconcile_grpc.c) whose matches are paths
 * "/<service>/<method>" and headers. Its index is that of its status in
 * res->routes: the HTTPRoutes of the store, then its GRPCRoutes.
 */
struct route {
	const struct xgw_httproute *r;	  /* the HTTPRoute, or the GRPCRoute's translation */
	const struct xgw_grpcroute *grpc; /* NULL for an HTTPRoute */
	const char *kind;		  /* "HTTPRoute" or "GRPCRoute" */
};

/* A route attached to one listener with its effective hostnames. */
struct attachment {
	const struct xgw_httproute *route;
	size_t route_idx;
	size_t parent_idx; /* its parentRef's entry in res->routes[route_idx].parents */
	struct gw_listener *l;
	const char *hosts[16]; /* "" = any */
	int n_hosts;
};

/*
 * An L4 route (TLSRoute, TCPRoute, UDPRoute) attached to one listener; for a
 * TLSRoute, with the server names it takes there (intersected with the
 * listener's hostname).
 */
struct l4_attachment {
	const struct xgw_l4route *route;
	size_t route_idx; /* in st->l4routes */
	struct gw_listener *l;
	const char **hosts; /* "" = any; in the result's arena */
	size_t n_hosts;
};

/* One attachment of a snapshot listener, as the route patch compares them. */
struct xgw_rec_patt {
	uint32_t route;	 /* index of the route in its pass (HTTPRoutes, then GRPCRoutes) */
	uint32_t parent; /* its parentRef's entry */
	uint32_t pos;	 /* its listener's place in the port group */
};

/* An attachment of a route as the next pass takes it again: its listener. */
struct xgw_rec_ratt {
	uint32_t parent;   /* the parentRef's entry in the route's status */
	uint32_t gw;	   /* index of the Gateway in the store (and in c->gws) */
	uint32_t listener; /* in that Gateway's listeners (its own, then its ListenerSets') */
};

/* What a backendRef resolved to (struct be_memo, by index). */
struct xgw_rec_memo {
	uint32_t svc;  /* in the pass's Services index (c->svcs), or XGW_SNAP_NONE */
	uint32_t port; /* in that Service's ports */
};

/*
 * What a result was made of, for the next pass to take again what did not
 * change (reconcile_patch.c): for each route, its attachments, what its
 * backendRefs resolved to and its problem lines; which snapshot rules each
 * route's rules are, which attachments each snapshot listener's vhosts were
 * built from, and how much of the snapshot no listener reaches any more.
 */
struct xgw_rec_patch {
	/* the attachment of the routes (before HTTPRoute/GRPCRoute conflicts) */
	bool conflicts; /* an HTTPRoute and a GRPCRoute claimed one hostname */
	uint32_t *
		ratt_off; /* per route + 1: its attachments, ratts[ratt_off[i] .. ratt_off[i + 1]) */
	struct xgw_rec_ratt *ratts;
	size_t n_ratts;
	uint32_t *prob_off; /* per route + 1: its problem lines in the result's */
	size_t *be_first;   /* per route: its backendRefs' entries, memo[be_first[i] ..) */
	struct xgw_rec_memo *memo;
	size_t n_memo;
	bool *rules_ok;
	/* the snapshot */
	size_t n_routes;
	uint32_t *
		rid_off; /* per route: XGW_SNAP_NONE (no rule built), or its rules at rids[off..) */
	uint32_t *rids;
	size_t n_rids, cap_rids;
	size_t n_listeners;
	uint32_t *att_off; /* per snapshot listener: atts[att_off[l] .. att_off[l + 1]) */
	size_t cap_att_off;
	bool *l4; /* per snapshot listener: built by the L4 builder */
	size_t cap_l4;
	struct xgw_rec_patt *atts;
	size_t n_atts, cap_atts;
	size_t waste;	      /* bytes of entries that nothing reaches */
	size_t snap_problems; /* problem lines the snapshot's build added */
};

/* A pass that takes what did not change from the previous result. */
struct rec_patching {
	bool env; /* nothing but routes changed: unchanged routes attach as they did */
	bool on;  /* the snapshot is the previous one's, patched */
	const struct xgw_rec_patch *pp; /* the previous result's */
	struct xgw_snapshot old;	/* its snapshot */
	uint32_t *old_of;  /* per route: the same route of the previous pass, or XGW_SNAP_NONE */
	bool *reused;	   /* per route: its rules are the previous snapshot's */
	size_t n_problems; /* problem lines before the snapshot's build */
	size_t waste;	   /* added by this patch */
	/* the old vhosts of reopened listener ovh_li by hostname: 1 + index, in
	 * ovh[0 .. ovh_size) (xgw_rec_patch_old_vhost()) */
	uint32_t *ovh;
	size_t ovh_size, ovh_cap, ovh_li;
	/* the kept routes' parent statuses (the result's arena), of them handed out */
	struct xgw_parent_status *parents;
	size_t n_parents;
};

struct ctx {
	const struct xgw_store *st;
	const struct xgw_reconcile_opts *opts;
	struct xgw_reconcile_result *res;
	struct class_params *class_params; /* per store GatewayClass */
	struct gw *gws;
	size_t n_gws;
	/* the Gateway addresses taken so far (do_gateways()): 1 + index into
	 * taken_v, by hash; and where each pool's search for a free one goes on */
	uint32_t *taken_tab;
	size_t taken_mask, n_taken;
	struct taken_addr {
		uint8_t fam, addr[16];
	} * taken_v;
	struct pool_cursor {
		const struct xgw_pool *pool;
		uint64_t next; /* every host number below it is taken */
	} * cursors;
	size_t n_cursors;
	/* the store's Gateways, c->lsets and opts->previous by namespace/name
	 * (xgw_rec_nsname_index()) */
	struct nsname_index {
		uint32_t *tab; /* 1 + index, mask + 1 slots */
		size_t mask;
	} gw_ix, lset_ix, prev_ix;
	struct lset *lsets; /* ListenerSets of our Gateways, in precedence order */
	size_t n_lsets;
	VEC(struct attachment) att;
	VEC(struct l4_attachment) l4att;
	/* per L4 route: its snapshot rule (XGW_SNAP_NONE: not built) */
	uint32_t *l4_rule_ids;
	struct route *routes; /* HTTPRoutes, then GRPCRoutes; indexed as res->routes */
	size_t n_routes;
	struct xgw_arena tmp; /* the GRPCRoutes' translations: freed with the ctx */
	/* per route: rule -> snapshot rule index (XGW_SNAP_NONE: rule not served) */
	uint32_t **rule_ids;
	/* the rules' backendRefs of route i, flat, from be_memo[be_first[i]]: the
	 * Service and port that the status pass resolved them to (ix NULL: not
	 * resolved there), so that the snapshot's clusters do not look again */
	struct be_memo *be_memo;
	size_t *be_first;
	/* per route: the status pass found every rule servable (no
	 * xgw_rec_route_rule_problem()), so the snapshot build does not ask again */
	bool *rules_ok;
	/* Services sorted by namespace/name, each with its EndpointSlices and the
	 * clusters made for its ports: lookups in O(log n), not a scan per ref */
	struct svc_ix *svcs;
	size_t n_svcs;
	/* open addressing over svcs by hash of namespace/name: index + 1, 0 empty */
	uint32_t *svc_hash;
	size_t svc_hash_mask;
	const struct xgw_endpointslice **slice_refs; /* svcs[i].slices point in here */
	size_t *att_by_l; /* attachment indices grouped by listener (gw_listener.att_first) */
	const struct xgw_secret *
		*secrets; /* the store's, sorted by namespace/name (on first use) */
	struct xgw_snapb *b;
	size_t cap_listeners;	 /* of res->listeners */
	size_t cap_cluster_srcs; /* of res->cluster_srcs */
	/* BackendTLSPolicies, oldest first (reconcile_btls.c) */
	struct btls *btls;
	size_t n_btls;
	struct xgw_rec_patch *np; /* the record this pass makes for its result */
	size_t walk_li;		  /* the snapshot listener the walk of the groups is at */
	struct rec_patching pt;
};

struct svc_ix {
	const struct xgw_service *svc;
	const struct xgw_endpointslice **slices;
	size_t n_slices;
	struct svc_cluster {
		const struct xgw_service_port *sp; /* the Service port it is made of */
		uint32_t idx;
		uint8_t proto; /* enum xgw_snap_cluster_proto */
	} * cl;
	size_t n_cl;
};

struct be_memo {
	struct svc_ix *ix;
	const struct xgw_service_port *sp;
};

/* reconcile.c, shared by the other parts */
void xgw_rec_cond_set(struct xgw_arena *a, struct xgw_conds *cs, int64_t gen, const char *type,
		      bool status, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
bool xgw_rec_cond_true(const struct xgw_conds *cs, const char *type);
/* Precedence of competing objects: the older, then namespace, then name (< 0: <a> first). */
int xgw_rec_age_cmp(const struct xgw_meta *a, const struct xgw_meta *b);
/* Does <expr> compile as the workers compile it? If not, say so into <buf>. */
bool xgw_rec_bad_regex(const char *what, const char *expr, char *buf, size_t len);
/* A line for the log, beside the statuses. Returns 0 or -ENOMEM. */
int xgw_rec_problem(struct xgw_reconcile_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Does a ReferenceGrant in <to_ns> let a <from_kind> (of the Gateway API group)
 * in <from_ns> refer to <to_group>/<to_kind> <to_name>?
 */
bool xgw_rec_grant_allows(const struct xgw_store *st, const char *from_kind, const char *from_ns,
			  const char *to_group, const char *to_kind, const char *to_ns,
			  const char *to_name);
/* Is GatewayClass <name> one of ours (controllerName)? */
bool xgw_rec_class_ours(const struct xgw_store *st, const char *name);
bool xgw_rec_selector_matches(const struct xgw_store *st, const struct xgw_label_selector *sel,
			      const char *ns);
bool xgw_rec_route_allowed(const struct xgw_store *st, const struct gw_listener *gl,
			   const char *kind, const char *route_ns);
struct gw *xgw_rec_find_gw(struct ctx *c, const char *ns, const char *name);
/* The effective hostnames of attachment <at> (its route and listener set) into
 * at->hosts, as many as there are (0: the route does not take the listener). */
int xgw_rec_att_hosts(struct attachment *at);
struct lset *xgw_rec_find_lset(struct ctx *c, const char *ns, const char *name);
bool xgw_rec_lset_in_store(const struct xgw_store *st, const char *ns, const char *name);

/* reconcile_listeners.c, used by do_gateways() */
int xgw_rec_do_listeners(struct ctx *c, struct gw *g);
void xgw_rec_gateway_tls_conds(struct ctx *c, const struct xgw_gateway *gw,
			       struct xgw_gateway_status *gs);
int xgw_rec_index_lsets(struct ctx *c);
size_t xgw_rec_lset_listeners(const struct ctx *c, const struct gw *g);
int xgw_rec_do_lsets(struct ctx *c, struct gw *g);
void xgw_rec_lsets_programmed(struct ctx *c, struct gw *g);

/* reconcile.c, used by the snapshot builder */
bool xgw_rec_is_wild(const char *h);
long xgw_rec_host_rank(const char *h);
/*
 * The Gateway addresses of a pass (reconcile_addr.c). addrs_init(): before
 * the first claim (what is taken, the previous assignments by name).
 * addr_claim(): <g> takes <addr> of its spec.addresses, or the reason it
 * cannot (the words after "address X"); NULL also for an address it listed
 * already or beyond the 8 it holds. pool_keep(): <g> takes again the pool
 * address it had, if still in a pool and free. pool_assign(): <g> takes the
 * first free address of its pools. Both true when it took one.
 */
int xgw_rec_addrs_init(struct ctx *c);
const char *xgw_rec_addr_claim(struct ctx *c, struct gw *g, uint8_t fam, const uint8_t addr[16]);
bool xgw_rec_pool_keep(struct ctx *c, struct gw *g);
bool xgw_rec_pool_assign(struct ctx *c, struct gw *g);
void xgw_rec_addrs_free(struct ctx *c);

/*
 * Index <n> objects (<key>(<base>, i, &ns, &name): object i's namespace and
 * name) by namespace/name, the first of a name kept, as a search in order
 * would find; nsname_find() gives its index, or -1. A pass looks Gateways,
 * ListenerSets and previous address assignments up by name once per
 * parentRef or Gateway: a search of all of them each time was most of a
 * pass at 1,000 Gateways.
 */
typedef void (*xgw_rec_nsname_fn)(const void *base, size_t i, const char **ns, const char **name);
int xgw_rec_nsname_index(struct nsname_index *ix, xgw_rec_nsname_fn key, const void *base,
			 size_t n);
long xgw_rec_nsname_find(const struct nsname_index *ix, xgw_rec_nsname_fn key, const void *base,
			 const char *ns, const char *name);
void xgw_rec_gw_nsname(const void *store_gateways, size_t i, const char **ns, const char **name);
void xgw_rec_lset_nsname(const void *lsets, size_t i, const char **ns, const char **name);
/* FNV-1a of the <len> bytes at <p>, lower-cased (names that differ in case
 * alone hash the same). */
static inline uint32_t xgw_rec_name_hash(const char *p, size_t len)
{
	uint32_t h = XGW_FNV_OFFSET;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint32_t)tolower((unsigned char)p[i])) * XGW_FNV_PRIME;
	return h;
}

/* A hash of namespace/name (xgw_rec_name_hash() of each). */
static inline uint32_t xgw_rec_nsname_hash(const char *ns, const char *name)
{
	return xgw_rec_name_hash(ns, strlen(ns)) * 31u ^ xgw_rec_name_hash(name, strlen(name));
}
const char *xgw_rec_rule_problem(const struct xgw_http_rule *r, char *buf, size_t len);
/* Why rule <k> of route <ri> is not served (into <buf>), or NULL. */
const char *xgw_rec_route_rule_problem(const struct ctx *c, size_t ri, size_t k, char *buf,
				       size_t len);
int xgw_rec_index_services(struct ctx *c);
struct svc_ix *xgw_rec_svc_lookup(const struct ctx *c, const char *ns, const char *name);
const struct xgw_service_port *xgw_rec_find_svc_port(const struct xgw_service *s, uint32_t port);
const char *xgw_rec_backend_problem(const struct ctx *c, const struct route *rt,
				    const struct xgw_backend_ref *be, char *msg, size_t msglen);
const char *xgw_rec_ref_problem(const struct ctx *c, const char *route_kind,
				const struct xgw_meta *rm, const struct xgw_backend_ref *be,
				const char *proto, char *msg, size_t msglen);
/*
 * xgw_rec_ref_problem(), which also gives the Service's index entry and port
 * in *<ixp> and *<spp> (either may be NULL) when the reference resolves.
 */
const char *xgw_rec_ref_resolve(const struct ctx *c, const char *route_kind,
				const struct xgw_meta *rm, const struct xgw_backend_ref *be,
				const char *proto, char *msg, size_t msglen, struct svc_ix **ixp,
				const struct xgw_service_port **spp);
const struct xgw_service_port *xgw_rec_find_svc_port_proto(const struct xgw_service *s,
							   uint32_t port, const char *proto);

/* reconcile_snapshot.c, used by reconcile_l4.c */
/*
 * The cluster of backendRef <be> of a <route_kind> (<rm>: its metadata) to a
 * Service port of protocol <proto> (NULL: any), made on first use, in *<out>;
 * XGW_SNAP_NONE when the reference does not resolve. Returns 0 or -ENOMEM.
 */
/* An endpoint of a cluster: 0, or -errno to stop. */
typedef int (*xgw_rec_emit_fn)(void *arg, uint8_t family, const uint8_t addr[16], uint16_t port);
/*
 * The ready endpoints of port <sp> of the Service of <ix>, in the order of its
 * EndpointSlices, to <emit>: what a cluster of that port holds. 0 or emit's error.
 */
int xgw_rec_endpoints(const struct svc_ix *ix, const struct xgw_service_port *sp,
		      xgw_rec_emit_fn emit, void *arg);
int xgw_rec_cluster_for(struct ctx *c, const char *route_kind, const struct xgw_meta *rm,
			const struct xgw_backend_ref *be, const char *proto, uint32_t *out);
/* The server names and certificates of the listeners of <grp> that terminate TLS. */
int xgw_rec_add_snis(struct ctx *c, struct gw_listener **grp, size_t n);
/* Is <l> the most specific listener of port group <grp> for effective host <h>? */
bool xgw_rec_best_listener(struct gw_listener **grp, size_t n, struct gw_listener *l,
			   const char *h);
/* A BPF listener entry for snapshot listener <id>. Returns 0 or -ENOMEM. */
int xgw_rec_bpf_listener(struct ctx *c, struct gw *g, int ai, uint16_t port, uint8_t ipproto,
			 uint32_t id);

/* reconcile_l4.c: TLSRoute, TCPRoute, UDPRoute */
/* The snapshot listener proto of listener protocol <p>. */
uint8_t xgw_rec_snap_lproto(enum xgw_listener_proto p);
/* Does listener <l> end TLS (HTTPS, or TLS with tls.mode Terminate, the default)? */
bool xgw_rec_terminates_tls(const struct xgw_gw_listener *l);
/* Attach every L4 route to the listeners it names; its statuses. 0 or -ENOMEM. */
int xgw_rec_attach_l4(struct ctx *c);
/* Snapshot rules of the L4 routes that serve a listener. 0 or -ENOMEM. */
int xgw_rec_build_l4_rules(struct ctx *c);
/* One snapshot listener for address <ai> of <g>, L4 port group <grp>. 0 or -ENOMEM. */
int xgw_rec_build_l4_listener(struct ctx *c, struct gw *g, int ai, struct gw_listener **grp,
			      size_t n);

/* reconcile_grpc.c */
/*
 * Translate <g> into <out> (allocated from c->tmp, pointing into <g>): one
 * rule per rule, each match a path match "/<service>/<method>" with <g>'s
 * headers. Returns 0 or -ENOMEM.
 */
int xgw_rec_grpc_translate(struct ctx *c, const struct xgw_grpcroute *g, struct xgw_httproute *out);
/* Why rule <r> of a GRPCRoute is not served (a bad regular expression), or NULL. */
const char *xgw_rec_grpc_rule_problem(const struct xgw_grpc_rule *r, char *buf, size_t len);
/*
 * GRPCRoute precedence between two matches (NULL: a rule without matches):
 * < 0 when <a> goes first, > 0 when <b> does, 0 on a tie (the caller then
 * orders by route age, namespace/name, rule and match).
 */
int xgw_rec_grpc_match_cmp(const struct xgw_grpc_match *a, const struct xgw_grpc_match *b);
/*
 * An HTTPRoute and a GRPCRoute attached to one listener with intersecting
 * hostnames: keep the older (then the first by namespace/name), detach the
 * other from the parent and set its Accepted False, reason Conflicted.
 * Returns 0 or -ENOMEM.
 */
int xgw_rec_kind_conflicts(struct ctx *c);
/* reconcile_listeners.c: the Secret <ns>/<name>, or NULL */
const struct xgw_secret *xgw_rec_secret_find(struct ctx *c, const char *ns, const char *name);

/* reconcile_btls.c: BackendTLSPolicy */
/* Resolve the policies, their conflicts and statuses (after attachment). 0 or -ENOMEM. */
int xgw_rec_do_btls(struct ctx *c);
void xgw_rec_btls_free(struct ctx *c);
/* Does a policy that is not accepted (no usable CA) cover Service port <sp>? */
bool xgw_rec_btls_unusable(const struct ctx *c, const struct xgw_service *svc,
			   const struct xgw_service_port *sp);
/* Give the last cluster (<sp> of <svc>) the TLS of its policy, if any. 0 or -errno. */
int xgw_rec_btls_cluster(struct ctx *c, const struct xgw_service *svc,
			 const struct xgw_service_port *sp);

/*
 * reconcile_snapshot.c: lay out the snapshot (rules, clusters, listeners with
 * their virtual hosts in precedence order) and the BPF listener entries from
 * the attachments in <c>. Returns 0 or -ENOMEM.
 */
int xgw_rec_build_snapshot(struct ctx *c);

/*
 * reconcile_patch.c: the fast path for route changes. begin(): set the pass up
 * to patch opts->prev's snapshot, or -ESTALE when it cannot be (then nothing
 * has changed in <c>), or -ENOMEM. undo(): back to a pass that builds the
 * snapshot anew, after the patch gave up (-ESTALE) half way.
 */
int xgw_rec_patch_begin(struct ctx *c);
/*
 * Before the routes attach: c->np, and when nothing but routes changed since
 * opts->prev, c->pt.env and c->pt.old_of (each route's same route there).
 * reuse(): route <i>, the same as the previous pass's route <j>, attached as
 * it was there (status, attachments, backendRefs, problem lines), when
 * xgw_rec_patch_may_reuse(). record(): after the routes attached, what the
 * next pass needs to do that. 0 or -ENOMEM.
 */
int xgw_rec_patch_prepare(struct ctx *c);
bool xgw_rec_patch_may_reuse(const struct ctx *c);
int xgw_rec_patch_reuse(struct ctx *c, size_t i, uint32_t j);
int xgw_rec_patch_record(struct ctx *c);
int xgw_rec_patch_undo(struct ctx *c);
/*
 * Record the attachments of the port group <grp> (<n> listeners; <l4>: an L4
 * group) as those of snapshot listener c->walk_li; when patching, check that
 * the previous snapshot has that listener for address <ai> of <g>
 * (-ESTALE if not) and set *<dirty> when its vhosts must be built again.
 */
int xgw_rec_patch_listener(struct ctx *c, const struct gw *g, int ai, struct gw_listener **grp,
			   size_t n, bool l4, bool *dirty);
/*
 * A patch's reopened listener <li>: the old snapshot's vhost of it named
 * <host> (<len> bytes, exactly; <hash>: xgw_rec_name_hash() of them), or
 * XGW_SNAP_NONE. vhost_kept(): that vhost
 * goes into the new listener as it is (xgw_snapb_vhost_kept()), so what it
 * holds is not waste.
 */
uint32_t xgw_rec_patch_old_vhost(struct ctx *c, size_t li, const char *host, size_t len,
				 uint32_t hash);
int xgw_rec_patch_vhost_kept(struct ctx *c, uint32_t old);
/* Once the snapshot is made: the result's record (and BPF entries, when patched). */
int xgw_rec_patch_finish(struct ctx *c);
void xgw_rec_patch_free(struct xgw_rec_patch *p);

#endif /* XGW_AGENT_RECONCILE_INT_H */
