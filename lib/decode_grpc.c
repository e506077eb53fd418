// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * GRPCRoute decoding: parentRefs, hostnames, rules with their matches
 * (method: service and method, Exact or RegularExpression; headers), filters
 * and backendRefs. What the CRD's schema and CEL rules refuse is refused here
 * too, with the field path: a folder of manifests gets the API server's
 * checks. Regular expressions are checked by the reconciler, which reports
 * them on the route's status.
 */
#include <string.h>

#include "decode-int.h"

/* A service name: ^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$ (the CRD's rule). */
static bool service_name_ok(const char *s)
{
	bool start = true; /* at the start of a label */

	if (*s == '.')
		s++;
	if (!*s)
		return false;
	for (; *s; s++) {
		char ch = *s;
		bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';

		if (ch == '.') {
			if (start)
				return false;
			start = true;
		} else if (alpha || (!start && ch >= '0' && ch <= '9')) {
			start = false;
		} else {
			return false;
		}
	}
	return !start;
}

/* A method name: ^[A-Za-z_][A-Za-z_0-9]*$ (the CRD's rule). */
static bool method_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++) {
		char ch = *p;
		bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';

		if (!alpha && (p == s || ch < '0' || ch > '9'))
			return false;
	}
	return true;
}

static void decode_method(struct dctx *c, const struct xgw_ynode *m, struct xgw_grpc_match *gm)
{
	static const char *const types[] = { "Exact", "RegularExpression", NULL };
	const struct xgw_ynode *mm = xgw_dec_get_map(c, m, "method");
	size_t old;

	if (!mm)
		return;
	old = xgw_dec_push_key(c, "method");
	gm->type = (enum xgw_grpc_method_type)xgw_dec_enum_of(c, mm, "type", "Exact", types,
							      "Exact or RegularExpression");
	gm->service = xgw_dec_opt_str(c, mm, "service", NULL);
	gm->method = xgw_dec_opt_str(c, mm, "method", NULL);
	/* An empty string is "any", as an omitted one (the API's wording). */
	if (gm->service && !*gm->service)
		gm->service = NULL;
	if (gm->method && !*gm->method)
		gm->method = NULL;
	if (c->err)
		goto out;
	if (!gm->service && !gm->method)
		xgw_dec_fail(c, NULL, mm, "one or both of service and method must be specified");
	else if (gm->type == XGW_GRPC_EXACT && gm->service && !service_name_ok(gm->service))
		xgw_dec_fail(c, "service", xgw_dec_get(mm, "service"),
			     "\"%s\" is not a gRPC service name (letters, digits and \"_\" in "
			     "dot-separated labels, each starting with a letter or \"_\")",
			     gm->service);
	else if (gm->type == XGW_GRPC_EXACT && gm->method && !method_name_ok(gm->method))
		xgw_dec_fail(c, "method", xgw_dec_get(mm, "method"),
			     "\"%s\" is not a gRPC method name (letters, digits and \"_\", "
			     "starting with a letter or \"_\")",
			     gm->method);
out:
	xgw_dec_path_pop(c, old);
}

/* An item of headers: the CRD has an enum of types, where HTTPRoute keeps an
 * unknown type for its status. */
static void decode_header(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	static const char *const types[] = { "Exact", "RegularExpression", NULL };

	xgw_dec_kv_match(c, m, out);
	xgw_dec_enum_of(c, m, "type", "Exact", types, "Exact or RegularExpression");
}

static void decode_match(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_grpc_match *gm = out;

	decode_method(c, m, gm);
	gm->headers = xgw_dec_get_list(c, m, "headers", XGW_YNODE_MAP, sizeof(*gm->headers),
				       decode_header, &gm->n_headers);
}

/* An item of filters: only the types of the GRPCRoute API. */
static void decode_filter(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	static const char *const types[] = { "RequestHeaderModifier", "ResponseHeaderModifier",
					     "RequestMirror", "ExtensionRef", NULL };

	xgw_dec_enum_of(c, m, "type", NULL, types,
			"one of RequestHeaderModifier, ResponseHeaderModifier, RequestMirror, "
			"ExtensionRef (the GRPCRoute filters)");
	if (!c->err)
		xgw_dec_filter(c, m, out);
}

static void decode_backend(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_backend_ref *b = out;

	xgw_dec_backend_fields(c, m, b);
	b->filters = xgw_dec_get_list(c, m, "filters", XGW_YNODE_MAP, sizeof(*b->filters),
				      decode_filter, &b->n_filters);
}

static void decode_rule(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_grpc_rule *r = out;

	r->name = xgw_dec_opt_str(c, m, "name", NULL);
	r->matches = xgw_dec_get_list(c, m, "matches", XGW_YNODE_MAP, sizeof(*r->matches),
				      decode_match, &r->n_matches);
	r->filters = xgw_dec_get_list(c, m, "filters", XGW_YNODE_MAP, sizeof(*r->filters),
				      decode_filter, &r->n_filters);
	r->backends = xgw_dec_get_list(c, m, "backendRefs", XGW_YNODE_MAP, sizeof(*r->backends),
				       decode_backend, &r->n_backends);
}

void xgw_dec_grpcroute(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_grpcroute gr = {};
	const struct xgw_ynode *spec;
	size_t old;

	xgw_dec_decode_meta(c, root, &gr.meta, true);
	spec = xgw_dec_get_map(c, root, "spec");
	old = xgw_dec_push_key(c, "spec");
	gr.parents = xgw_dec_get_list(c, spec, "parentRefs", XGW_YNODE_MAP, sizeof(*gr.parents),
				      xgw_dec_parent_ref, &gr.n_parents);
	gr.hostnames = xgw_dec_get_strs(c, spec, "hostnames", &gr.n_hostnames);
	gr.rules = xgw_dec_get_list(c, spec, "rules", XGW_YNODE_MAP, sizeof(*gr.rules), decode_rule,
				    &gr.n_rules);
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, grpcroutes, &gr))
		xgw_dec_oom(c);
}
