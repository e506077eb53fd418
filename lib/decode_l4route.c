// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * TLSRoute, TCPRoute and UDPRoute decoding: parentRefs, hostnames (TLSRoute
 * only) and rules of backendRefs. Errors name the field path, as in
 * lib/decode.c.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "decode-int.h"

/* The CRDs' limits: TLSRoute v1, and the v1alpha2 schema of all three kinds. */
#define RULES_MAX 16
#define TLS_V1_RULES_MAX 1
#define TLS_V1_HOSTNAMES_MAX 1024
#define BACKENDS_MAX 16
#define WEIGHT_MAX 1000000

const char *xgw_l4_kind_name(enum xgw_l4_kind k)
{
	switch (k) {
	case XGW_L4_TLS:
		return "TLSRoute";
	case XGW_L4_TCP:
		return "TCPRoute";
	default:
		return "UDPRoute";
	}
}

/*
 * A backendRef of an L4 rule. The L4 kinds have no filters; a weight of 0
 * keeps the backend in the rule without giving it connections.
 */
static void decode_backend_ref(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_backend_ref *b = out;

	b->group = xgw_dec_opt_str(c, m, "group", "");
	b->kind = xgw_dec_opt_str(c, m, "kind", "Service");
	b->ns = xgw_dec_opt_str(c, m, "namespace", NULL);
	b->name = xgw_dec_req_str(c, m, "name");
	b->port = xgw_dec_get_port(c, m, "port", false);
	b->weight = (uint32_t)xgw_dec_get_int(c, m, "weight", 1, 0, WEIGHT_MAX,
					      "an integer 0..1000000", NULL);
}

static void decode_rule(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_l4_rule *r = out;

	r->name = xgw_dec_opt_str(c, m, "name", NULL);
	r->backends = xgw_dec_get_list(c, m, "backendRefs", XGW_YNODE_MAP, sizeof(*r->backends),
				       decode_backend_ref, &r->n_backends);
	if (!c->err && r->n_backends > BACKENDS_MAX)
		xgw_dec_fail(c, "backendRefs", xgw_dec_get(m, "backendRefs"),
			     "%zu backendRefs, at most %d are allowed", r->n_backends,
			     BACKENDS_MAX);
}

/*
 * The schema of the kind's version: TLSRoute v1 (Gateway API v1.5) requires
 * 1..1024 hostnames and exactly one rule; TLSRoute v1alpha2 and v1alpha3,
 * TCPRoute and UDPRoute (v1alpha2) take 1..16 rules and, for TLSRoute,
 * optional hostnames. Every rule has at most 16 backendRefs and rule names
 * are unique within a route.
 */
static void check_shape(struct dctx *c, const struct xgw_ynode *spec, const struct xgw_l4route *r)
{
	bool v1 = r->kind == XGW_L4_TLS && c->version && !strcmp(c->version, "v1");
	size_t rules_max = v1 ? TLS_V1_RULES_MAX : RULES_MAX;

	if (c->err)
		return;
	if (v1 && !r->n_hostnames)
		xgw_dec_fail(
			c, "hostnames", spec,
			"a TLSRoute of gateway.networking.k8s.io/v1 needs at least one hostname");
	else if (r->n_hostnames > TLS_V1_HOSTNAMES_MAX)
		xgw_dec_fail(c, "hostnames", xgw_dec_get(spec, "hostnames"),
			     "%zu hostnames, at most %d are allowed", r->n_hostnames,
			     TLS_V1_HOSTNAMES_MAX);
	else if (!r->n_rules)
		xgw_dec_fail(c, "rules", spec, "at least one rule is required");
	else if (r->n_rules > rules_max)
		xgw_dec_fail(c, "rules", xgw_dec_get(spec, "rules"),
			     "%zu rules, at most %zu %s allowed%s", r->n_rules, rules_max,
			     rules_max == 1 ? "is" : "are",
			     v1 ? " in a TLSRoute of gateway.networking.k8s.io/v1" : "");
	for (size_t i = 0; !c->err && i < r->n_rules; i++)
		for (size_t k = 0; r->rules[i].name && k < i; k++)
			if (r->rules[k].name && !strcmp(r->rules[k].name, r->rules[i].name))
				xgw_dec_fail(c, "rules", xgw_dec_get(spec, "rules"),
					     "rules[%zu] and rules[%zu] have the same name \"%s\"",
					     k, i, r->rules[i].name);
}

static void decode_l4route(struct dctx *c, const struct xgw_ynode *root, enum xgw_l4_kind kind)
{
	struct xgw_l4route r = { .kind = kind };
	const struct xgw_ynode *spec;
	size_t old;

	xgw_dec_decode_meta(c, root, &r.meta, true);
	spec = xgw_dec_get_map(c, root, "spec");
	if (!c->err && !spec) {
		xgw_dec_fail(c, "spec", root, "required field is missing");
		return;
	}
	old = xgw_dec_push_key(c, "spec");
	r.parents = xgw_dec_get_list(c, spec, "parentRefs", XGW_YNODE_MAP, sizeof(*r.parents),
				     xgw_dec_parent_ref, &r.n_parents);
	if (kind == XGW_L4_TLS) {
		r.hostnames = xgw_dec_get_strs(c, spec, "hostnames", &r.n_hostnames);
		for (size_t i = 0; !c->err && i < r.n_hostnames; i++)
			if (!xgw_dec_hostname_ok(r.hostnames[i], true))
				xgw_dec_fail(c, "hostnames", xgw_dec_get(spec, "hostnames"),
					     "hostnames[%zu] \"%s\" is not a DNS name or a "
					     "\"*.\" wildcard",
					     i, r.hostnames[i]);
	} else if (!c->err && xgw_dec_get(spec, "hostnames")) {
		xgw_dec_fail(c, "hostnames", xgw_dec_get(spec, "hostnames"),
			     "a %s has no hostnames (only TLSRoute matches a server name)",
			     xgw_l4_kind_name(kind));
	}
	r.rules = xgw_dec_get_list(c, spec, "rules", XGW_YNODE_MAP, sizeof(*r.rules), decode_rule,
				   &r.n_rules);
	check_shape(c, spec, &r);
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, l4routes, &r))
		xgw_dec_oom(c);
}

void xgw_dec_tlsroute(struct dctx *c, const struct xgw_ynode *root)
{
	decode_l4route(c, root, XGW_L4_TLS);
}

void xgw_dec_tcproute(struct dctx *c, const struct xgw_ynode *root)
{
	decode_l4route(c, root, XGW_L4_TCP);
}

void xgw_dec_udproute(struct dctx *c, const struct xgw_ynode *root)
{
	decode_l4route(c, root, XGW_L4_UDP);
}
