/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The reconciler: a pure function from objects (a store) to what the data
 * plane does (a routing snapshot and the BPF listener entries) and what the
 * status tells users. No sockets, no BPF, no clock: unit-tested as is.
 */
#ifndef XGW_AGENT_RECONCILE_H
#define XGW_AGENT_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include "xgw/model.h"

struct xgw_pool {
	uint8_t family;
	uint8_t addr[16]; /* network address */
	unsigned prefix;
};

/* A Gateway's address from an earlier run, so that addresses are stable. */
struct xgw_assignment {
	const char *ns;
	const char *name;
	uint8_t family;
	uint8_t addr[16];
};

struct xgw_reconcile_opts {
	const struct xgw_pool *pools; /* for Gateways without spec.addresses */
	size_t n_pools;
	const struct xgw_assignment *previous; /* earlier assignments, kept when still valid */
	size_t n_previous;
	uint64_t generation;	      /* of the snapshot built */
	unsigned workers;	      /* --workers, which overrides spec.workers (0: not given) */
	const uint8_t *ticket_secret; /* 32 bytes for TLS session tickets; NULL: none */
	/*
	 * The result that serves (or is being prepared) and its store, both
	 * alive through the call; NULL: none. When <st> differs from
	 * <prev_store> only in its HTTPRoutes and GRPCRoutes, the snapshot is
	 * <prev>'s patched (agent/reconcile_patch.c) instead of built anew:
	 * the statuses are those a full pass gives, the snapshot routes as a
	 * full pass's does.
	 */
	const struct xgw_reconcile_result *prev;
	const struct xgw_store *prev_store;
};

struct xgw_condition {
	const char *type;   /* "Accepted", "Programmed", ... */
	const char *status; /* "True", "False", "Unknown" */
	const char *reason;
	char *message;
	int64_t observed_generation;
	bool own_message; /* message is in the result's arena (else a string literal) */
};

#define XGW_MAX_CONDS 6

struct xgw_conds {
	struct xgw_condition c[XGW_MAX_CONDS];
	int n;
};

struct xgw_class_status {
	const char *name;
	bool ours;
	struct xgw_conds conds;
};

struct xgw_listener_status {
	const char *name;
	uint32_t attached_routes;
	const char *supported_kinds[2];
	int n_supported_kinds;
	struct xgw_conds conds;
};

struct xgw_gateway_status {
	const char *ns;
	const char *name;
	bool ours;	/* its class is ours (else no status is written) */
	uint8_t family; /* the address (family 0: none) */
	uint8_t addr[16];
	bool addr_from_pool;
	struct xgw_listener_status *listeners;
	size_t n_listeners;
	uint32_t attached_listener_sets; /* ListenerSets accepted */
	struct xgw_conds conds;
};

/* A ListenerSet whose parent Gateway is of a class of ours. */
struct xgw_listenerset_status {
	const char *ns;
	const char *name;
	struct xgw_listener_status *listeners; /* none when not allowed by the Gateway */
	size_t n_listeners;
	struct xgw_conds conds;
};

struct xgw_parent_status {
	const char *kind; /* "Gateway" or "ListenerSet" */
	const char *ns;	  /* the parent's namespace */
	const char *name;
	const char *section_name; /* NULL: none given */
	uint32_t port;		  /* 0: none given */
	struct xgw_conds conds;
	uint32_t ref; /* HTTPRoutes, GRPCRoutes: the index of the parentRef in the route */
};

struct xgw_route_status {
	const char *kind; /* "HTTPRoute" (NULL), "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute" */
	const char *ns;
	const char *name;
	struct xgw_parent_status *parents; /* only parents whose class is ours */
	size_t n_parents;
	/* 1 + the index in the previous result's routes (xgw_reconcile_opts.prev)
	 * of the status this one copies, which renders to the same bytes; 0: none.
	 * Whatever changes a copied status afterwards sets it to 0. */
	size_t same_as;
};

/* A policy's status.ancestors entry: a Gateway of ours that the policy affects. */
struct xgw_ancestor_status {
	const char *ns;
	const char *name;
	struct xgw_conds conds;
};

struct xgw_policy_status {
	const char *kind; /* "BackendTLSPolicy" */
	const char *ns;
	const char *name;
	struct xgw_ancestor_status *ancestors;
	size_t n_ancestors;
};

/* One entry of xgw_listeners (and, by its address, of xgw_addrs). */
struct xgw_bpf_listener {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;	  /* host order */
	uint8_t proto;	  /* IPPROTO_TCP / IPPROTO_UDP */
	uint8_t draining; /* removed: XGW_LISTENER_F_DRAINING (the agent's, not the reconciler's) */
	uint32_t id;	  /* the snapshot listener index */
};

/* Where a snapshot cluster's endpoints come from: a port of a Service. */
struct xgw_rec_patch;

struct xgw_cluster_src {
	uint32_t svc;  /* index into the store's services */
	uint32_t port; /* index into that Service's ports */
};

struct xgw_reconcile_result {
	struct xgw_arena arena; /* owns everything below except snap */
	void *snap;		/* malloc'ed snapshot buffer */
	size_t snap_len;
	struct xgw_bpf_listener *listeners;
	size_t n_listeners;
	struct xgw_class_status *classes;
	size_t n_classes;
	struct xgw_gateway_status *gateways;
	size_t n_gateways;
	struct xgw_listenerset_status *listenersets; /* only those of our Gateways */
	size_t n_listenersets;
	struct xgw_route_status *routes;
	size_t n_routes;
	struct xgw_policy_status *policies; /* BackendTLSPolicies */
	size_t n_policies;
	/* one line per problem found (besides the statuses), for the log */
	char **problems;
	size_t n_problems;
	/* one per snapshot cluster, in order (malloc'ed) */
	struct xgw_cluster_src *cluster_srcs;
	size_t n_cluster_srcs;
	/* what the next pass needs to patch this snapshot (malloc'ed; NULL: none),
	 * or prev's (patch_borrowed: the endpoint fast path's, not freed with it) */
	struct xgw_rec_patch *patch;
	bool patch_borrowed;
	bool patched;	    /* the snapshot is the previous one's, patched */
	size_t routes_kept; /* HTTPRoutes and GRPCRoutes attached as in the previous result */
	size_t vhosts_kept; /* vhosts of the patch's reopened listeners that stayed as they were */
};

/*
 * Reconcile <st> under <opts> into <res> (zeroed by the caller). Returns 0 or
 * -ENOMEM; invalid objects are not errors: they are reported in the statuses
 * and res->problems, and everything valid is still built. With opts->prev,
 * also -ESTALE when prev's record does not fit <st> (then <res> holds a
 * partial result, to free; xgw_reconcile_change() then reconciles anew).
 */
int xgw_reconcile(const struct xgw_store *st, const struct xgw_reconcile_opts *opts,
		  struct xgw_reconcile_result *res);
void xgw_reconcile_result__free(struct xgw_reconcile_result *res);

/*
 * The L7 workers per node that the XgwConfigs of <st>'s GatewayClasses of
 * ours ask for (spec.workers; the largest when several do), or 0 when none
 * does. Unless --workers is given, the agent starts that many and follows
 * its changes (xgw_workers_resize()). *<bad_ref> (may be NULL) is set when a
 * class of ours has a parametersRef that does not resolve: then the count
 * it would give is not known, and the agent keeps the one it runs.
 */
unsigned xgw_reconcile_workers(const struct xgw_store *st, bool *bad_ref);

/*
 * The fast path for endpoint changes. <prev> is the result of xgw_reconcile()
 * (or of this function) on a store that differs from <st> at most in its
 * EndpointSlices: the same objects otherwise, in the same order, as the
 * folder source's shape tells. <res> (zeroed by the caller) gets what
 * xgw_reconcile(<st>, <opts>) would give, for the cost of the clusters'
 * endpoints and one copy of the snapshot: <prev>'s snapshot with the
 * endpoints of <st> (byte for byte a full pass's when <prev>'s is; a patched
 * one routes as a full pass's); copies of <prev>'s BPF listener entries and
 * problem lines; and <prev>'s statuses themselves, which EndpointSlices do
 * not change. res's statuses and problem lines point into <prev> and <prev>'s
 * store, which must outlive <res>. Returns 0, -ENOMEM, or -ESTALE when <st>
 * does not hold the Service port of one of <prev>'s clusters (then <st> is
 * not such a store: use xgw_reconcile()).
 */
int xgw_reconcile_endpoints(const struct xgw_store *st, const struct xgw_reconcile_opts *opts,
			    const struct xgw_reconcile_result *prev,
			    struct xgw_reconcile_result *res);

/*
 * What the agent runs for a change since <prev> (the result that serves or is
 * being prepared, on <prev_store>; both NULL: none): the endpoint fast path
 * when only EndpointSlices changed (<same_shape>, as the folder source tells),
 * else xgw_reconcile(), which patches prev's snapshot when only routes
 * changed. *<eps> tells whether the fast path made <res> (then its statuses
 * point into <prev>, which must outlive it). Returns 0 or -ENOMEM.
 */
int xgw_reconcile_change(const struct xgw_store *st, const struct xgw_reconcile_opts *opts,
			 const struct xgw_reconcile_result *prev,
			 const struct xgw_store *prev_store, bool same_shape,
			 struct xgw_reconcile_result *res, bool *eps);

/* Intersection of a listener hostname (NULL = any) and a route hostname, per
 * the Gateway API. Returns the effective hostname (one of the two inputs, or
 * "" for "any" when both are NULL) or NULL when they do not intersect. */
const char *xgw_hostname_intersect(const char *listener, const char *route);

#endif /* XGW_AGENT_RECONCILE_H */
