/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Types of the worker's router: lookup tables built over one snapshot. */
#ifndef XGW_ROUTER_T_H
#define XGW_ROUTER_T_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xgw/snapshot.h"

struct xgw_h1_header;

/*
 * What a request resolves to. The non-zero values are the HTTP status the
 * gateway answers with.
 */
enum xgw_route_verdict {
	XGW_ROUTE_OK = 0,
	XGW_ROUTE_REDIRECT = 1,	     /* a RequestRedirect filter answers (not a status) */
	XGW_ROUTE_NOT_FOUND = 404,   /* no listener, vhost or match */
	XGW_ROUTE_NO_BACKEND = 500,  /* rule without usable backend (weights 0, unresolved) */
	XGW_ROUTE_NO_ENDPOINT = 503, /* the chosen Service has no ready endpoint */
};

/* An open-addressing slot of the listener table. */
struct xgw_rt_lslot {
	uint32_t hash;
	uint32_t listener; /* XGW_SNAP_NONE: empty */
};

/*
 * An open-addressing slot of the host table. Exact names and wildcard
 * suffixes of every listener share one table; a wildcard "*.example.com" is
 * keyed by "example.com" with <wild> set, so that a host is matched against
 * its suffixes, longest first, with one probe per label.
 */
struct xgw_rt_hslot {
	uint32_t hash;
	uint32_t vhost; /* XGW_SNAP_NONE: empty */
	uint32_t listener;
	uint32_t key_off; /* the key: snapshot string bytes [key_off, key_off + key_len) */
	uint16_t key_len;
	uint8_t wild;
	uint8_t pad;
};

/*
 * What the router looks at in a request: views into the received head, none
 * owned. <query> is what follows '?' (NULL without one).
 */
struct xgw_rt_req {
	const char *host;
	size_t host_len;
	const char *method;
	size_t method_len;
	const char *path; /* without the query */
	size_t path_len;
	const char *query;
	size_t query_len;
	const struct xgw_h1_header *headers;
	size_t n_headers;
};

/* The outcome of routing one request: indexes into the snapshot, XGW_SNAP_NONE if unset. */
struct xgw_route {
	uint32_t match;
	uint32_t rule;
	uint32_t backend;
	uint32_t ep;
	uint32_t redirect; /* the RequestRedirect filter that answers */
};

/*
 * An open-addressing slot of the path index: the Exact and PathPrefix
 * matches of one indexed vhost whose path is the key. A PathPrefix is keyed
 * by its pattern without trailing slashes, so that a request path is looked
 * up at each of its segment boundaries. The lists are spans of
 * router->pcand, in increasing match index (decreasing precedence).
 */
struct xgw_rt_pslot {
	uint32_t hash;
	uint32_t vhost;	  /* XGW_SNAP_NONE: empty */
	uint32_t key_off; /* the key: snapshot string bytes [key_off, key_off + key_len) */
	uint32_t key_len;
	uint32_t exact_first, exact_count;
	uint32_t prefix_first, prefix_count;
};

/*
 * How the matches of one vhost are found. A vhost with fewer than
 * XGW_RT_INDEX_MIN matches is walked in order; a larger one is indexed: its
 * Exact and PathPrefix matches in router->ptab, and here the spans of
 * router->pcand that hold its PathPrefix matches that match every path
 * ("/") and its regular expressions, in increasing match index.
 */
struct xgw_rt_vix {
	uint32_t root_first, root_count;
	uint32_t re_first, re_count;
	bool indexed;
};

#define XGW_RT_INDEX_MIN 8

/*
 * A compiled regular expression, shared by the routers whose snapshots hold
 * it: a router built after another takes the other's compiled expressions
 * for the texts it has too, instead of compiling them again (thousands for
 * GRPCRoutes, whose service or method matches are expressions). Counted: the
 * last router that holds it frees it. Routers live in one thread.
 */
struct xgw_rt_re {
	regex_t re;
	uint32_t refs;
	uint32_t hash; /* of expr */
	uint32_t len;
	char expr[]; /* the text as the snapshot has it (len bytes) */
};

struct xgw_router {
	const struct xgw_snapshot *snap; /* not owned; must outlive the router */
	struct xgw_rt_lslot *ltab;
	uint32_t lmask;
	struct xgw_rt_hslot *htab;
	uint32_t hmask;
	uint32_t *any_vhost; /* per listener: its empty-hostname vhost, or XGW_SNAP_NONE */
	int64_t *swrr;	     /* per backend: smooth weighted round robin current weight */
	uint32_t *rr;	     /* per cluster: next endpoint offset */
	/* Least-request clusters: the requests in flight to an endpoint, as
	 * the worker counts them (NULL: every endpoint counts 0), and the
	 * state of the generator that draws the two candidates. */
	uint32_t (*load)(void *ctx, const struct xgw_snap_endpoint *ep);
	void *load_ctx;
	uint64_t rng;
	/* Regular expressions, each text compiled once (and taken from the
	 * previous router when it had it): path ones per match, value ones per
	 * kv; re_tab finds them by text (1 + index into re, re_mask + 1 slots). */
	struct xgw_rt_re **re;
	uint32_t n_re;
	uint32_t *re_tab;
	uint32_t re_mask;
	uint32_t *match_re; /* per match: index into re, or XGW_SNAP_NONE */
	uint32_t *kv_re;    /* per kv: index into re, or XGW_SNAP_NONE */
	/* The path index of large vhosts (see struct xgw_rt_vix). */
	struct xgw_rt_vix *vix; /* per vhost */
	struct xgw_rt_pslot *ptab;
	uint32_t pmask;
	uint32_t *pcand; /* match indexes, the lists of ptab and vix */
	/*
	 * Header lines added by filters, laid out once so that each is one
	 * iovec: "<name>: <value>\r\n" per header op, "Host: <hostname>\r\n"
	 * per URL rewrite filter with a hostname.
	 */
	char *lines;
	uint32_t *op_line;    /* per header op: offset into lines */
	uint32_t *host_line;  /* per filter: offset into lines */
	uint32_t *mirror_acc; /* per filter: mirrored fraction accumulator */
	/* CORS filters: their constant lines (cors.c), laid out in cors_lines */
	struct xgw_rt_cors *cors; /* per filter; zero for other types */
	char *cors_lines;
};

/*
 * The lines of one CORS filter, each "<Name>: <value>\r\n" at an offset
 * into router->cors_lines, length 0 when the filter has none.
 */
struct xgw_rt_cors {
	uint32_t methods_off, methods_len; /* the allowMethods list, unless it has "*" */
	uint32_t headers_off, headers_len; /* the allowHeaders list, unless it has "*" */
	uint32_t expose_off, expose_len;
	uint32_t maxage_off, maxage_len;
	bool any_method, any_header; /* the list has "*": echo what the preflight asks */
};

/* The session persistence state of one exchange (user/session.c). */
struct xgw_rw_session {
	uint32_t rule;	   /* whose sessionPersistence applies; XGW_SNAP_NONE: none */
	bool send;	   /* a token goes back with the response */
	uint8_t token_len; /* 0: none laid out (yet) */
	uint32_t created;  /* the session's start, Unix seconds */
	uint32_t now;	   /* the exchange's time, Unix seconds */
	char token[44];
	char tail[48]; /* "; Max-Age=...; Secure; HttpOnly\r\n" or "\r\n" */
	uint8_t tail_len;
};

/*
 * The HTTPRoute filters of one exchange: two spans of the snapshot's filter
 * array, applied in order (the rule's, then the chosen backend's; a count of
 * 0 for none), with what path rewrites and redirects need to know.
 */
struct xgw_rw_filters {
	const struct xgw_router *router; /* its snapshot, and the lines it laid out */
	uint32_t first[2];
	uint32_t count[2];
	const char *prefix; /* the matched PathPrefix, or NULL when the match was another kind */
	size_t prefix_len;
	uint16_t listen_port; /* the port the client dialled, for redirects */
	bool tls;	      /* the client connection is TLS: redirects default to https */
	/* An allowed Origin of an actual request: the CORS lines its response gets. */
	bool cors;
	uint32_t cors_filter; /* the CORS filter, when <cors> */
	const char *origin;   /* echoed; NULL: "*" */
	size_t origin_len;
	struct xgw_rw_session sess;
};

#endif /* XGW_ROUTER_T_H */
