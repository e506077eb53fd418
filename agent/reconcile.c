// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Gateway API objects -> routing snapshot, BPF listener entries, statuses.
 *
 * Steps: classify GatewayClasses; validate each Gateway of ours (listeners,
 * conflicts, addresses from spec or pool) and the ListenerSets it allows,
 * whose listeners join its own after them; attach each HTTPRoute and
 * GRPCRoute (translated by reconcile_grpc.c) to the listeners its parentRefs
 * select and allow, intersecting hostnames, and keep the two kinds from
 * sharing a listener hostname, and each TLSRoute, TCPRoute and UDPRoute
 * likewise (reconcile_l4.c); resolve backendRefs to Service ports and their
 * ready EndpointSlice endpoints; lay out one snapshot listener per (address,
 * port) with its virtual hosts, each holding its matches in Gateway API
 * precedence order.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "reconcile-int.h"
#include "tlscert.h"
#include "xgw/netaddr.h"
#include "xgw/regex.h"
#include "xgw/snapshot.h"

/* The Gateway API release whose CRDs and conformance suite xgw follows. */
#define XGW_GATEWAY_API_VERSION "v1.6.1"

/* --- conditions -------------------------------------------------------- */

void xgw_rec_cond_set(struct xgw_arena *a, struct xgw_conds *cs, int64_t gen, const char *type,
		      bool status, const char *reason, const char *fmt, ...)
{
	struct xgw_condition *c = NULL;
	char msg[512];
	va_list ap;

	/* the types are literals: most differ at their first letter */
	for (int i = 0; i < cs->n; i++)
		if (cs->c[i].type[0] == type[0] && !strcmp(cs->c[i].type, type))
			c = &cs->c[i];
	if (!c) {
		if (cs->n == XGW_MAX_CONDS)
			return;
		c = &cs->c[cs->n++];
	}
	/* Most messages are fixed, or one string: no formatting for those
	 * (tens of thousands per reconcile at scale); the same bytes as
	 * vsnprintf() into msg, truncation included. A message without '%' is
	 * the caller's string literal (every caller passes one): it lives as
	 * long as the program, so it is not even copied. */
	size_t plain = (size_t)(strchrnul(fmt, '%') - fmt);

	va_start(ap, fmt);
	c->own_message = !(!fmt[plain] && plain < sizeof(msg));
	if (!fmt[plain] && plain < sizeof(msg)) {
		c->message = (char *)fmt;
	} else if (!fmt[plain]) {
		c->message = xgw_arena_strndup(a, fmt, sizeof(msg) - 1);
	} else if (!strcmp(fmt, "%s")) {
		const char *arg = va_arg(ap, const char *);

		c->message = xgw_arena_strndup(a, arg ? arg : "(null)", sizeof(msg) - 1);
	} else {
		vsnprintf(msg, sizeof(msg), fmt, ap);
		c->message = xgw_arena_strdup(a, msg);
	}
	va_end(ap);
	c->type = type;
	c->status = status ? "True" : "False";
	c->reason = reason;
	c->observed_generation = gen;
}

bool xgw_rec_cond_true(const struct xgw_conds *cs, const char *type)
{
	for (int i = 0; i < cs->n; i++)
		if (!strcmp(cs->c[i].type, type))
			return !strcmp(cs->c[i].status, "True");
	return false;
}

int xgw_rec_problem(struct xgw_reconcile_result *res, const char *fmt, ...)
{
	char msg[768];
	char **p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p = realloc(res->problems, (res->n_problems + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	res->problems = p;
	p[res->n_problems] = xgw_arena_strdup(&res->arena, msg);
	if (!p[res->n_problems])
		return -ENOMEM;
	res->n_problems++;
	return 0;
}

/* --- hostnames ---------------------------------------------------------- */

bool xgw_rec_is_wild(const char *h)
{
	return h && h[0] == '*' && h[1] == '.';
}

/* Does wildcard "*.<sfx>" match <name> (one or more labels before <sfx>)? */
static bool wild_matches(const char *wild, const char *name)
{
	const char *sfx = wild + 1; /* ".example.com" */
	size_t ls = strlen(sfx), ln = strlen(name);

	return ln > ls && !strcasecmp(name + ln - ls, sfx) && name[0] != '.';
}

const char *xgw_hostname_intersect(const char *l, const char *r)
{
	if (!l)
		return r ? r : "";
	if (!r)
		return l;
	if (!xgw_rec_is_wild(l) && !xgw_rec_is_wild(r))
		return strcasecmp(l, r) ? NULL : r;
	if (xgw_rec_is_wild(l) && !xgw_rec_is_wild(r))
		return wild_matches(l, r) ? r : NULL;
	if (!xgw_rec_is_wild(l) && xgw_rec_is_wild(r))
		return wild_matches(r, l) ? l : NULL;
	/* both wildcards: the narrower one, when one contains the other */
	if (!strcasecmp(l, r))
		return r;
	if (wild_matches(l, r + 2))
		return r;
	if (wild_matches(r, l + 2))
		return l;
	return NULL;
}

/* Specificity of a listener hostname: exact > longer wildcard > shorter > any. */
long xgw_rec_host_rank(const char *h)
{
	if (!h || !*h)
		return 0;
	if (xgw_rec_is_wild(h))
		return 1 + (long)strlen(h);
	return 1000000;
}

/* --- gateways ----------------------------------------------------------- */

static const struct xgw_gatewayclass *find_class(const struct xgw_store *st, const char *name)
{
	for (size_t i = 0; i < st->n_classes; i++)
		if (!strcmp(st->classes[i].meta.name, name))
			return &st->classes[i];
	return NULL;
}

bool xgw_rec_class_ours(const struct xgw_store *st, const char *name)
{
	const struct xgw_gatewayclass *c = name ? find_class(st, name) : NULL;

	return c && c->controller_name && !strcmp(c->controller_name, XGW_CONTROLLER_NAME);
}

/*
 * The XgwConfig that <gc>'s spec.parametersRef names, into <cp>; cp->bad says
 * why there is none when the reference is wrong. 0 or -ENOMEM.
 */
static int class_params(struct ctx *c, const struct xgw_gatewayclass *gc, struct class_params *cp)
{
	const struct xgw_store *st = c->st;
	char msg[384];

	if (!gc->params_kind)
		return 0;
	for (size_t i = 0; i < st->n_class_configs; i++)
		if (!strcmp(st->class_configs[i].meta.name, gc->params_name))
			cp->cfg = &st->class_configs[i];
	if (strcmp(gc->params_group, XGW_CONFIG_GROUP) || strcmp(gc->params_kind, "XgwConfig"))
		snprintf(msg, sizeof(msg),
			 "parametersRef: kind %s of group \"%s\" is not supported (XgwConfig of "
			 "group %s is)",
			 gc->params_kind, gc->params_group, XGW_CONFIG_GROUP);
	else if (gc->params_ns)
		snprintf(msg, sizeof(msg),
			 "parametersRef: XgwConfig is cluster-scoped; namespace \"%s\" must not be "
			 "set",
			 gc->params_ns);
	else if (!cp->cfg)
		snprintf(msg, sizeof(msg), "parametersRef: XgwConfig %s not found",
			 gc->params_name);
	else
		msg[0] = '\0';
	if (msg[0]) {
		cp->cfg = NULL;
		cp->bad = xgw_arena_strdup(&c->res->arena, msg);
		return cp->bad ? 0 : -ENOMEM;
	}
	if (!cp->cfg->n_pools)
		return 0;
	cp->pools = xgw_arena_alloc(&c->tmp, cp->cfg->n_pools * sizeof(*cp->pools));
	if (!cp->pools)
		return -ENOMEM;
	for (size_t k = 0; k < cp->cfg->n_pools; k++) {
		cp->pools[k].family = cp->cfg->pools[k].family;
		memcpy(cp->pools[k].addr, cp->cfg->pools[k].addr, 16);
		cp->pools[k].prefix = cp->cfg->pools[k].prefix;
	}
	cp->n_pools = cp->cfg->n_pools;
	return 0;
}

unsigned xgw_reconcile_workers(const struct xgw_store *st, bool *bad_ref)
{
	struct xgw_reconcile_result res = { 0 };
	struct ctx c = { .st = st, .res = &res };
	unsigned n = 0;

	for (size_t i = 0; i < st->n_classes; i++) {
		const struct xgw_gatewayclass *gc = &st->classes[i];
		struct class_params cp = { 0 };

		if (!gc->controller_name || strcmp(gc->controller_name, XGW_CONTROLLER_NAME) ||
		    class_params(&c, gc, &cp))
			continue;
		if (cp.bad && bad_ref)
			*bad_ref = true;
		if (cp.cfg && cp.cfg->workers > n)
			n = cp.cfg->workers;
	}
	xgw_arena_free(&c.tmp);
	xgw_arena_free(&res.arena);
	return n;
}

static int do_classes(struct ctx *c)
{
	struct xgw_reconcile_result *res = c->res;
	const struct xgw_store *st = c->st;
	unsigned workers = c->opts->workers;

	res->classes = xgw_arena_alloc(&res->arena, (st->n_classes + 1) * sizeof(*res->classes));
	c->class_params = calloc(st->n_classes + 1, sizeof(*c->class_params));
	if (!res->classes || !c->class_params)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_classes; i++) {
		const struct xgw_gatewayclass *gc = &st->classes[i];
		struct xgw_class_status *cs = &res->classes[res->n_classes++];
		struct class_params *cp = &c->class_params[i];

		cs->name = gc->meta.name;
		cs->ours = gc->controller_name && !strcmp(gc->controller_name, XGW_CONTROLLER_NAME);
		if (!cs->ours)
			continue;
		if (class_params(c, gc, cp))
			return -ENOMEM;
		if (cp->bad) {
			xgw_rec_cond_set(&res->arena, &cs->conds, gc->meta.generation, "Accepted",
					 false, "InvalidParameters", "%s", cp->bad);
			if (xgw_rec_problem(res, "GatewayClass %s: %s; its Gateways are not served",
					    gc->meta.name, cp->bad))
				return -ENOMEM;
		} else if (cp->cfg) {
			xgw_rec_cond_set(&res->arena, &cs->conds, gc->meta.generation, "Accepted",
					 true, "Accepted",
					 "GatewayClass is accepted by %s, with XgwConfig %s",
					 XGW_CONTROLLER_NAME, cp->cfg->meta.name);
			if (workers && cp->cfg->workers && cp->cfg->workers != workers &&
			    xgw_rec_problem(res,
					    "XgwConfig %s: workers %u, but the agent was started "
					    "with --workers %u, which wins",
					    cp->cfg->meta.name, cp->cfg->workers, workers))
				return -ENOMEM;
		} else {
			xgw_rec_cond_set(&res->arena, &cs->conds, gc->meta.generation, "Accepted",
					 true, "Accepted", "GatewayClass is accepted by %s",
					 XGW_CONTROLLER_NAME);
		}
		/* Standalone, there are no CRDs whose bundle version could differ
		 * from the one xgw implements. */
		xgw_rec_cond_set(&res->arena, &cs->conds, gc->meta.generation, "SupportedVersion",
				 true, "SupportedVersion", "Gateway API %s is supported",
				 XGW_GATEWAY_API_VERSION);
	}
	return 0;
}

/* <g>'s address pools and the verdict on its GatewayClass's parameters. */
static void gw_params(struct ctx *c, struct gw *g)
{
	const struct xgw_gatewayclass *gc = find_class(c->st, g->spec->class_name);
	const struct class_params *cp = &c->class_params[gc - c->st->classes];

	g->class_bad = cp->bad;
	g->pools = cp->n_pools ? cp->pools : c->opts->pools;
	g->n_pools = cp->n_pools ? cp->n_pools : c->opts->n_pools;
}

static int do_gateways(struct ctx *c)
{
	struct xgw_reconcile_result *res = c->res;
	const struct xgw_store *st = c->st;
	struct xgw_arena *a = &res->arena;

	c->gws = calloc(st->n_gateways + 1, sizeof(*c->gws));
	res->gateways = xgw_arena_alloc(a, (st->n_gateways + 1) * sizeof(*res->gateways));
	if (!c->gws || !res->gateways)
		return -ENOMEM;
	c->n_gws = st->n_gateways;
	res->n_gateways = st->n_gateways;
	if (xgw_rec_nsname_index(&c->gw_ix, xgw_rec_gw_nsname, st->gateways, st->n_gateways) ||
	    xgw_rec_index_lsets(c) || xgw_rec_addrs_init(c))
		return -ENOMEM;
	/* First pass: listeners and explicit addresses (so pools skip them). */
	for (size_t i = 0; i < st->n_gateways; i++) {
		const struct xgw_gateway *gw = &st->gateways[i];
		struct gw *g = &c->gws[i];
		struct xgw_gateway_status *gs = &res->gateways[i];
		int64_t gen = gw->meta.generation;

		g->spec = gw;
		g->st = gs;
		gs->ns = gw->meta.ns;
		gs->name = gw->meta.name;
		gs->ours = xgw_rec_class_ours(st, gw->class_name);
		if (!gs->ours)
			continue;
		gw_params(c, g);
		g->listeners = xgw_arena_alloc(a, (gw->n_listeners + xgw_rec_lset_listeners(c, g) +
						   1) * sizeof(*g->listeners));
		gs->listeners = xgw_arena_alloc(a, (gw->n_listeners + 1) * sizeof(*gs->listeners));
		if (!g->listeners || !gs->listeners)
			return -ENOMEM;
		gs->n_listeners = gw->n_listeners;
		if (xgw_rec_do_listeners(c, g) || xgw_rec_do_lsets(c, g))
			return -ENOMEM;
		g->want_pool = !gw->n_addresses;
		for (size_t k = 0; k < gw->n_addresses; k++) {
			const struct xgw_gw_address *ad = &gw->addresses[k];
			bool ip = !ad->type || !strcmp(ad->type, "IPAddress");
			uint8_t fam, addr[16];
			const char *why;

			/* An IPAddress without a value asks for an assigned one. */
			if (ip && (!ad->value || !*ad->value)) {
				g->want_pool = true;
				continue;
			}
			if (!ip || xgw_ip_parse(ad->value, &fam, addr)) {
				xgw_rec_cond_set(a, &gs->conds, gen, "Accepted", false,
						 "UnsupportedAddress",
						 "address %s of type %s is not supported",
						 ad->value ? ad->value : "(none)",
						 ad->type ? ad->type : "IPAddress");
				g->bad_addr = true;
				continue;
			}
			if ((why = xgw_rec_addr_claim(c, g, fam, addr))) {
				g->unusable_addr = true;
				g->unusable_msg =
					xgw_arena_printf(a, "address %s %s", ad->value, why);
			}
		}
	}
	/* Second pass: Gateways keep the pool addresses they had, then the others
	 * get free ones in store order (files sorted by name). */
	for (size_t i = 0; i < st->n_gateways; i++) {
		struct gw *g = &c->gws[i];

		if (g->st->ours && g->want_pool && !g->n_addr && xgw_rec_pool_keep(c, g))
			g->st->addr_from_pool = true;
	}
	for (size_t i = 0; i < st->n_gateways; i++) {
		struct gw *g = &c->gws[i];
		struct xgw_gateway_status *gs = g->st;
		int64_t gen = g->spec->meta.generation;

		if (!gs->ours)
			continue;
		if (g->want_pool && !g->n_addr && xgw_rec_pool_assign(c, g))
			gs->addr_from_pool = true;
		if (g->n_addr) {
			gs->family = g->fam[0];
			memcpy(gs->addr, g->addr[0], 16);
		}
		bool any_valid = false;

		for (size_t k = 0; k < g->spec->n_listeners; k++)
			any_valid |= g->listeners[k].valid;
		/* Accepted: False for parameters or addresses it cannot take, or
		 * when no listener is valid; True with ListenersNotValid when only
		 * some are (the reasons the Gateway API names). */
		if (g->class_bad)
			xgw_rec_cond_set(&res->arena, &gs->conds, gen, "Accepted", false, "Pending",
					 "GatewayClass %s is not accepted: %s", g->spec->class_name,
					 g->class_bad);
		else if (g->spec->params_kind)
			xgw_rec_cond_set(
				&res->arena, &gs->conds, gen, "Accepted", false,
				"InvalidParameters",
				"infrastructure.parametersRef %s %s: xgw takes no parameters",
				g->spec->params_kind, g->spec->params_name);
		else if (g->bad_addr)
			; /* the UnsupportedAddress verdict stands */
		else if (g->spec->n_listeners && !any_valid)
			xgw_rec_cond_set(&res->arena, &gs->conds, gen, "Accepted", false,
					 "ListenersNotValid", "no listener is valid");
		else if (g->partly_valid)
			xgw_rec_cond_set(&res->arena, &gs->conds, gen, "Accepted", true,
					 "ListenersNotValid", "some listeners are not valid");
		else
			xgw_rec_cond_set(&res->arena, &gs->conds, gen, "Accepted", true, "Accepted",
					 "Gateway is accepted");
		/* Programmed: nothing is served for a Gateway that is not accepted
		 * or that has an address it cannot use. */
		if (!xgw_rec_cond_true(&gs->conds, "Accepted"))
			xgw_rec_cond_set(&res->arena, &gs->conds, gen, "Programmed", false,
					 "Invalid", "Gateway is not accepted");
		else if (g->unusable_addr)
			xgw_rec_cond_set(&res->arena, &gs->conds, gen, "Programmed", false,
					 "AddressNotUsable", "%s",
					 g->unusable_msg ? g->unusable_msg : "");
		else if (!g->n_addr)
			xgw_rec_cond_set(&res->arena, &gs->conds, gen, "Programmed", false,
					 "AddressNotAssigned", "no usable address%s",
					 g->n_pools ? " (address pool exhausted)"
						    : " (no spec.addresses and no address pool)");
		else
			xgw_rec_cond_set(&res->arena, &gs->conds, gen, "Programmed", true,
					 "Programmed", "Gateway is programmed");
		xgw_rec_gateway_tls_conds(c, g->spec, gs);
		xgw_rec_lsets_programmed(c, g);
		/* A listener is programmed when it is valid and its Gateway is. */
		for (size_t k = 0; k < g->n_listeners; k++) {
			struct gw_listener *gl = &g->listeners[k];
			int64_t lgen = gl->ls ? gl->ls->spec->meta.generation : gen;
			bool prog;

			if (!xgw_rec_cond_true(&gs->conds, "Programmed"))
				gl->valid = false;
			prog = gl->valid && !gl->unresolved;
			xgw_rec_cond_set(&res->arena, &gl->st->conds, lgen, "Programmed", prog,
					 prog		? "Programmed"
					 : gl->conflict ? gl->conflict
							: "Invalid",
					 prog ? "listener is programmed"
					      : "listener is not programmed");
		}
	}
	return 0;
}

/* --- routes ------------------------------------------------------------- */

static const struct xgw_namespace *find_ns(const struct xgw_store *st, const char *name)
{
	for (size_t i = 0; i < st->n_namespaces; i++)
		if (!strcmp(st->namespaces[i].meta.name, name))
			return &st->namespaces[i];
	return NULL;
}

/* Namespace labels; a namespace always carries kubernetes.io/metadata.name. */
static const char *ns_label(const struct xgw_store *st, const char *ns, const char *key)
{
	const struct xgw_namespace *n = find_ns(st, ns);

	if (!strcmp(key, "kubernetes.io/metadata.name"))
		return ns;
	return n ? xgw_meta_label(&n->meta, key) : NULL;
}

bool xgw_rec_selector_matches(const struct xgw_store *st, const struct xgw_label_selector *sel,
			      const char *ns)
{
	for (size_t i = 0; i < sel->n_match_labels; i++) {
		const char *v = ns_label(st, ns, sel->match_labels[i].key);

		if (!v || strcmp(v, sel->match_labels[i].value))
			return false;
	}
	for (size_t i = 0; i < sel->n_exprs; i++) {
		const struct xgw_label_expr *e = &sel->exprs[i];
		const char *v = ns_label(st, ns, e->key);
		bool in = false;

		for (size_t k = 0; v && k < e->n_values; k++)
			in |= !strcmp(v, e->values[k]);
		if ((!strcmp(e->op, "In") && !in) || (!strcmp(e->op, "NotIn") && in) ||
		    (!strcmp(e->op, "Exists") && !v) || (!strcmp(e->op, "DoesNotExist") && v))
			return false;
	}
	return true;
}

/*
 * May a route of <kind> in <route_ns> attach to listener <gl>? Its kind must
 * be one the listener supports (status supportedKinds: the protocol's, or
 * those of allowedRoutes.kinds that the protocol serves), and its namespace
 * one that allowedRoutes.namespaces lets in.
 */
bool xgw_rec_route_allowed(const struct xgw_store *st, const struct gw_listener *gl,
			   const char *kind, const char *route_ns)
{
	const struct xgw_gw_listener *l = gl->spec;
	bool kind_ok = false;

	for (int k = 0; k < gl->st->n_supported_kinds; k++)
		kind_ok |= !strcmp(gl->st->supported_kinds[k], kind);
	if (!kind_ok)
		return false;
	switch (l->from) {
	case XGW_FROM_ALL:
		return true;
	case XGW_FROM_SAME: /* a ListenerSet listener's: the ListenerSet's namespace */
		return !strcmp(route_ns, gl->ls ? gl->ls->spec->meta.ns : gl->gw->meta.ns);
	case XGW_FROM_SELECTOR:
		return xgw_rec_selector_matches(st, &l->selector, route_ns);
	default:
		return false;
	}
}

/* Precedence of competing objects: the older, then namespace, then name (< 0: <a> first). */
int xgw_rec_age_cmp(const struct xgw_meta *a, const struct xgw_meta *b)
{
	const char *ta = a->creation_timestamp ? a->creation_timestamp : "";
	const char *tb = b->creation_timestamp ? b->creation_timestamp : "";
	int d;

	if ((d = strcmp(ta, tb)))
		return d;
	if ((d = strcmp(a->ns, b->ns)))
		return d;
	return strcmp(a->name, b->name);
}

/* Does <expr> compile as the workers compile it? If not, say so into <buf>. */
bool xgw_rec_bad_regex(const char *what, const char *expr, char *buf, size_t len)
{
	char msg[128];
	regex_t re;

	if (xgw_regex_compile(&re, expr, strlen(expr), msg, sizeof(msg))) {
		snprintf(buf, len, "%s regular expression \"%s\" is invalid (%s)", what, expr, msg);
		return true;
	}
	regfree(&re);
	return false;
}

static bool match_bad_regex(const struct xgw_http_match *m, char *buf, size_t len)
{
	if (m->path_type == XGW_MATCH_PATH_REGEX && xgw_rec_bad_regex("path", m->path, buf, len))
		return true;
	for (size_t i = 0; i < m->n_headers; i++)
		if (m->headers[i].type && !strcmp(m->headers[i].type, "RegularExpression") &&
		    xgw_rec_bad_regex("header", m->headers[i].value, buf, len))
			return true;
	for (size_t i = 0; i < m->n_query; i++)
		if (m->query[i].type && !strcmp(m->query[i].type, "RegularExpression") &&
		    xgw_rec_bad_regex("query parameter", m->query[i].value, buf, len))
			return true;
	return false;
}

static const char *filters_unsupported(const struct xgw_http_filter *f, size_t n)
{
	bool redirect = false, rewrite = false;

	for (size_t i = 0; i < n; i++) {
		if (f[i].type == XGW_HF_EXTENSION_REF)
			return "ExtensionRef filters";
		redirect |= f[i].type == XGW_HF_REDIRECT;
		rewrite |= f[i].type == XGW_HF_URL_REWRITE;
	}
	/* the API forbids the pair; a rule carrying both is not served */
	return redirect && rewrite ? "RequestRedirect together with URLRewrite" : NULL;
}

/*
 * Why <r> is not served, into <buf> (a phrase such as "CORS filters are not
 * supported"), or NULL when it is served.
 */
const char *xgw_rec_rule_problem(const struct xgw_http_rule *r, char *buf, size_t len)
{
	const char *why = filters_unsupported(r->filters, r->n_filters);

	for (size_t b = 0; !why && b < r->n_backends; b++)
		why = filters_unsupported(r->backends[b].filters, r->backends[b].n_filters);
	if (why) {
		snprintf(buf, len, "%s %s not supported", why,
			 strstr(why, "together") ? "is" : "are");
		return buf;
	}
	for (size_t i = 0; i < r->n_matches; i++)
		if (match_bad_regex(&r->matches[i], buf, len))
			return buf;
	return NULL;
}

const char *xgw_rec_route_rule_problem(const struct ctx *c, size_t ri, size_t k, char *buf,
				       size_t len)
{
	const struct route *rt = &c->routes[ri];
	const char *why =
		rt->grpc ? xgw_rec_grpc_rule_problem(&rt->grpc->rules[k], buf, len) : NULL;

	return why ? why : xgw_rec_rule_problem(&rt->r->rules[k], buf, len);
}

void xgw_rec_gw_nsname(const void *store_gateways, size_t i, const char **ns, const char **name)
{
	const struct xgw_meta *m = &((const struct xgw_gateway *)store_gateways)[i].meta;

	*ns = m->ns;
	*name = m->name;
}

void xgw_rec_lset_nsname(const void *lsets, size_t i, const char **ns, const char **name)
{
	const struct xgw_meta *m = &((const struct lset *)lsets)[i].spec->meta;

	*ns = m->ns;
	*name = m->name;
}

int xgw_rec_nsname_index(struct nsname_index *ix, xgw_rec_nsname_fn key, const void *base, size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size *= 2;
	free(ix->tab);
	ix->tab = calloc(size, sizeof(*ix->tab));
	if (!ix->tab)
		return -ENOMEM;
	ix->mask = size - 1;
	for (size_t i = 0; i < n; i++) {
		const char *ns, *name;

		key(base, i, &ns, &name);
		if (xgw_rec_nsname_find(ix, key, base, ns, name) < 0) {
			size_t h = xgw_rec_nsname_hash(ns, name) & ix->mask;

			while (ix->tab[h])
				h = (h + 1) & ix->mask;
			ix->tab[h] = (uint32_t)i + 1;
		}
	}
	return 0;
}

long xgw_rec_nsname_find(const struct nsname_index *ix, xgw_rec_nsname_fn key, const void *base,
			 const char *ns, const char *name)
{
	if (!ix->tab)
		return -1;
	for (size_t h = xgw_rec_nsname_hash(ns, name) & ix->mask; ix->tab[h];
	     h = (h + 1) & ix->mask) {
		const char *ins, *iname;

		key(base, ix->tab[h] - 1, &ins, &iname);
		if (!strcmp(iname, name) && !strcmp(ins, ns))
			return (long)ix->tab[h] - 1;
	}
	return -1;
}

struct gw *xgw_rec_find_gw(struct ctx *c, const char *ns, const char *name)
{
	long i = xgw_rec_nsname_find(&c->gw_ix, xgw_rec_gw_nsname, c->st->gateways, ns, name);

	return i < 0 ? NULL : &c->gws[i];
}

struct lset *xgw_rec_find_lset(struct ctx *c, const char *ns, const char *name)
{
	long i = xgw_rec_nsname_find(&c->lset_ix, xgw_rec_lset_nsname, c->lsets, ns, name);

	return i < 0 ? NULL : &c->lsets[i];
}

bool xgw_rec_lset_in_store(const struct xgw_store *st, const char *ns, const char *name)
{
	for (size_t i = 0; i < st->n_listenersets; i++)
		if (!strcmp(st->listenersets[i].meta.ns, ns) &&
		    !strcmp(st->listenersets[i].meta.name, name))
			return true;
	return false;
}

static int svc_key_cmp(const char *ns, const char *name, const struct xgw_service *s)
{
	int d = strcmp(ns, s->meta.ns);

	return d ? d : strcmp(name, s->meta.name);
}

static int svc_ix_cmp(const void *a, const void *b)
{
	const struct xgw_service *sb = ((const struct svc_ix *)b)->svc;

	return svc_key_cmp(((const struct svc_ix *)a)->svc->meta.ns,
			   ((const struct svc_ix *)a)->svc->meta.name, sb);
}

/* FNV-1a of <ns> "/" <name>. */
static size_t svc_key_hash(const char *ns, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *p = ns; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	h = (h ^ '/') * 0x100000001b3ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29));
}

struct svc_ix *xgw_rec_svc_lookup(const struct ctx *c, const char *ns, const char *name)
{
	size_t lo = 0, hi = c->n_svcs;

	if (c->svc_hash) {
		for (size_t i = svc_key_hash(ns, name) & c->svc_hash_mask;;
		     i = (i + 1) & c->svc_hash_mask) {
			uint32_t k = c->svc_hash[i];

			if (!k)
				return NULL;
			if (!svc_key_cmp(ns, name, c->svcs[k - 1].svc))
				return &c->svcs[k - 1];
		}
	}

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = svc_key_cmp(ns, name, c->svcs[mid].svc);

		if (!d)
			return &c->svcs[mid];
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Build c->svcs: sorted Services, each with its EndpointSlices. */
int xgw_rec_index_services(struct ctx *c)
{
	const struct xgw_store *st = c->st;
	size_t used = 0;

	c->svcs = calloc(st->n_services + 1, sizeof(*c->svcs));
	c->slice_refs = calloc(st->n_slices + 1, sizeof(*c->slice_refs));
	if (!c->svcs || !c->slice_refs)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_services; i++)
		c->svcs[i].svc = &st->services[i];
	c->n_svcs = st->n_services;
	qsort(c->svcs, c->n_svcs, sizeof(*c->svcs), svc_ix_cmp);
	/* a hash over them: a lookup per backendRef costs no string compare but the hit */
	c->svc_hash_mask = 15;
	while (c->svc_hash_mask + 1 < 2 * c->n_svcs)
		c->svc_hash_mask = c->svc_hash_mask * 2 + 1;
	c->svc_hash = calloc(c->svc_hash_mask + 1, sizeof(*c->svc_hash));
	if (!c->svc_hash)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_svcs; i++) {
		const struct xgw_meta *m = &c->svcs[i].svc->meta;
		size_t h = svc_key_hash(m->ns, m->name) & c->svc_hash_mask;

		while (c->svc_hash[h] &&
		       svc_key_cmp(m->ns, m->name, c->svcs[c->svc_hash[h] - 1].svc))
			h = (h + 1) & c->svc_hash_mask;
		if (c->svc_hash[h]) {
			/* a Service twice: the binary search decides which one, as it always did */
			free(c->svc_hash);
			c->svc_hash = NULL;
			break;
		}
		c->svc_hash[h] = (uint32_t)i + 1;
	}
	/* two passes over the slices: count per Service, then place */
	for (size_t i = 0; i < st->n_slices; i++) {
		const struct xgw_endpointslice *es = &st->slices[i];
		struct svc_ix *ix = es->service_name
					    ? xgw_rec_svc_lookup(c, es->meta.ns, es->service_name)
					    : NULL;

		if (ix)
			ix->n_slices++;
	}
	for (size_t i = 0; i < c->n_svcs; i++) {
		c->svcs[i].slices = c->slice_refs + used;
		used += c->svcs[i].n_slices;
		c->svcs[i].n_slices = 0;
	}
	for (size_t i = 0; i < st->n_slices; i++) {
		const struct xgw_endpointslice *es = &st->slices[i];
		struct svc_ix *ix = es->service_name
					    ? xgw_rec_svc_lookup(c, es->meta.ns, es->service_name)
					    : NULL;

		if (ix)
			ix->slices[ix->n_slices++] = es;
	}
	return 0;
}

const struct xgw_service_port *xgw_rec_find_svc_port(const struct xgw_service *s, uint32_t port)
{
	for (size_t i = 0; i < s->n_ports; i++)
		if (s->ports[i].port == port)
			return &s->ports[i];
	return NULL;
}

/* Service port <port> of protocol <proto> ("TCP", "UDP"; NULL: any). */
const struct xgw_service_port *xgw_rec_find_svc_port_proto(const struct xgw_service *s,
							   uint32_t port, const char *proto)
{
	if (!proto)
		return xgw_rec_find_svc_port(s, port);
	for (size_t i = 0; i < s->n_ports; i++)
		if (s->ports[i].port == port &&
		    !strcasecmp(s->ports[i].protocol ? s->ports[i].protocol : "TCP", proto))
			return &s->ports[i];
	return NULL;
}

/*
 * Does a ReferenceGrant in <to_ns> let a <from_kind> (of the Gateway API group)
 * in <from_ns> refer to <to_group>/<to_kind> <to_name>?
 */
bool xgw_rec_grant_allows(const struct xgw_store *st, const char *from_kind, const char *from_ns,
			  const char *to_group, const char *to_kind, const char *to_ns,
			  const char *to_name)
{
	for (size_t i = 0; i < st->n_grants; i++) {
		const struct xgw_referencegrant *g = &st->grants[i];
		bool from = false, to = false;

		if (strcmp(g->meta.ns, to_ns))
			continue;
		for (size_t k = 0; k < g->n_from && !from; k++)
			from = !strcmp(g->from[k].group, XGW_GATEWAY_GROUP) &&
			       !strcmp(g->from[k].kind, from_kind) &&
			       !strcmp(g->from[k].ns, from_ns);
		for (size_t k = 0; k < g->n_to && from && !to; k++)
			to = !strcmp(g->to[k].group, to_group) && !strcmp(g->to[k].kind, to_kind) &&
			     (!g->to[k].name || !strcmp(g->to[k].name, to_name));
		if (from && to)
			return true;
	}
	return false;
}

/*
 * Check one backendRef of a <route_kind> (<rm>: its metadata) whose Service
 * port must speak <proto> ("TCP", "UDP"; NULL: any); returns NULL when it
 * resolves, with the Service's index entry and port in *<ixp> and *<spp> (when
 * not NULL), else the reason, with the message in <msg>.
 */
const char *xgw_rec_ref_resolve(const struct ctx *c, const char *route_kind,
				const struct xgw_meta *rm, const struct xgw_backend_ref *be,
				const char *proto, char *msg, size_t msglen, struct svc_ix **ixp,
				const struct xgw_service_port **spp)
{
	const char *ns = be->ns ? be->ns : rm->ns;
	const struct xgw_service_port *sp;
	const struct xgw_service *svc;
	struct svc_ix *ix;

	if ((be->group && *be->group) || (be->kind && strcmp(be->kind, "Service"))) {
		snprintf(msg, msglen, "backendRef %s: kind %s/%s is not supported", be->name,
			 be->group ? be->group : "", be->kind);
		return "InvalidKind";
	}
	if (strcmp(ns, rm->ns) &&
	    !xgw_rec_grant_allows(c->st, route_kind, rm->ns, "", "Service", ns, be->name)) {
		snprintf(msg, msglen,
			 "backendRef %s/%s: no ReferenceGrant in namespace %s allows %ss "
			 "from %s to refer to it",
			 ns, be->name, ns, route_kind, rm->ns);
		return "RefNotPermitted";
	}
	ix = xgw_rec_svc_lookup(c, ns, be->name);
	svc = ix ? ix->svc : NULL;
	if (!svc) {
		snprintf(msg, msglen, "backendRef %s/%s: Service not found", ns, be->name);
		return "BackendNotFound";
	}
	sp = be->port ? xgw_rec_find_svc_port_proto(svc, be->port, proto) : NULL;
	if (!sp) {
		snprintf(msg, msglen, "backendRef %s/%s: Service has no %s%sport %u", ns, be->name,
			 proto ? proto : "", proto ? " " : "", be->port);
		return "BackendNotFound";
	}
	if (ixp)
		*ixp = ix;
	if (spp)
		*spp = sp;
	return NULL;
}

const char *xgw_rec_ref_problem(const struct ctx *c, const char *route_kind,
				const struct xgw_meta *rm, const struct xgw_backend_ref *be,
				const char *proto, char *msg, size_t msglen)
{
	return xgw_rec_ref_resolve(c, route_kind, rm, be, proto, msg, msglen, NULL, NULL);
}

const char *xgw_rec_backend_problem(const struct ctx *c, const struct route *rt,
				    const struct xgw_backend_ref *be, char *msg, size_t msglen)
{
	return xgw_rec_ref_problem(c, rt->kind, &rt->r->meta, be, NULL, msg, msglen);
}

/* strcmp() == 0 without a call: listener names are short and mostly differ early. */
static inline bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* strcmp()'s order without a call (listener names: short, differing early). */
static inline int str_cmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

static bool host_listed(const struct attachment *at, const char *h)
{
	for (int i = 0; i < at->n_hosts; i++)
		if (!strcasecmp(at->hosts[i], h))
			return true;
	return false;
}

int xgw_rec_att_hosts(struct attachment *at)
{
	const struct xgw_httproute *r = at->route;
	const char *lh = at->l->spec->hostname;

	at->n_hosts = 0;
	if (!r->n_hostnames) {
		at->hosts[at->n_hosts++] = xgw_hostname_intersect(lh, NULL);
		return 1;
	}
	for (size_t h = 0; h < r->n_hostnames && at->n_hosts < 16; h++) {
		const char *e = xgw_hostname_intersect(lh, r->hostnames[h]);

		if (e && !host_listed(at, e))
			at->hosts[at->n_hosts++] = e;
	}
	return at->n_hosts;
}

static int by_name_cmp(const void *a, const void *b, void *arg)
{
	const struct gw_listener *ls = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int d = strcmp(ls[x].spec->name, ls[y].spec->name);

	return d ? d : (x > y) - (x < y);
}

/*
 * The listeners of <g> named <name>, in index order: (*<order>)[*<lo> ..
 * *<hi>). <order> is NULL (all listeners, [0, n)) when the index cannot be
 * made: the caller's checks then pick them out as before.
 */
static void listeners_named(struct ctx *c, struct gw *g, const char *name, const size_t **order,
			    size_t *lo, size_t *hi)
{
	size_t l = 0, h = g->n_listeners;

	*order = NULL;
	*lo = 0;
	*hi = g->n_listeners;
	if (!g->by_name && g->n_listeners) {
		g->by_name = xgw_arena_alloc(&c->tmp, g->n_listeners * sizeof(*g->by_name));
		if (!g->by_name)
			return; /* the pass over all of them still gives the answer */
		for (size_t i = 0; i < g->n_listeners; i++)
			g->by_name[i] = i;
		qsort_r(g->by_name, g->n_listeners, sizeof(*g->by_name), by_name_cmp, g->listeners);
	}
	if (!g->by_name)
		return;
	while (l < h) { /* the first whose name is not below <name> */
		size_t mid = l + (h - l) / 2;

		if (str_cmp(g->listeners[g->by_name[mid]].spec->name, name) < 0)
			l = mid + 1;
		else
			h = mid;
	}
	*order = g->by_name;
	*lo = l;
	for (h = l; h < g->n_listeners && str_eq(g->listeners[g->by_name[h]].spec->name, name);)
		h++;
	*hi = h;
}

static int attach_route(struct ctx *c, size_t ri)
{
	const struct route *rt = &c->routes[ri];
	const struct xgw_httproute *r = rt->r;
	struct xgw_reconcile_result *res = c->res;
	struct xgw_arena *a = &res->arena;
	struct xgw_route_status *rs = &res->routes[ri];
	int64_t gen = r->meta.generation;
	const char *refs_reason = NULL;
	char refs_msg[384]; /* set with refs_reason, read only then */
	const char *unsupported = NULL;
	char why[384];

	rs->kind = rt->kind;
	rs->ns = r->meta.ns;
	rs->name = r->meta.name;
	/* zeroed memory: no spare entry (two for a route of one parent) */
	rs->parents = xgw_arena_alloc(a, (r->n_parents ? r->n_parents : 1) * sizeof(*rs->parents));
	if (!rs->parents)
		return -ENOMEM;
	struct be_memo *memo = &c->be_memo[c->be_first[ri]];

	for (size_t k = 0; k < r->n_rules; k++) {
		const struct xgw_http_rule *rule = &r->rules[k];

		if (!unsupported)
			unsupported = xgw_rec_route_rule_problem(c, ri, k, why, sizeof(why));
		/* what xgw_rec_backend_problem() finds, kept for the snapshot's clusters */
		for (size_t b = 0; b < rule->n_backends && !refs_reason; b++)
			refs_reason = xgw_rec_ref_resolve(c, rt->kind, &r->meta, &rule->backends[b],
							  NULL, refs_msg, sizeof(refs_msg),
							  &memo[b].ix, &memo[b].sp);
		memo += rule->n_backends;
		for (size_t f = 0; f < rule->n_filters && !refs_reason; f++)
			if (rule->filters[f].type == XGW_HF_MIRROR && rule->filters[f].mirror)
				refs_reason = xgw_rec_backend_problem(
					c, rt, rule->filters[f].mirror, refs_msg, sizeof(refs_msg));
	}
	c->rules_ok[ri] = !unsupported; /* then every rule was asked */

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
					xgw_rec_problem(res,
							"%s %s/%s: parent ListenerSet %s/%s not "
							"found",
							rt->kind, r->meta.ns, r->meta.name, gns,
							pr->name);
				continue;
			}
			g = ls->g;
		} else {
			g = xgw_rec_find_gw(c, gns, pr->name);
		}
		if (!g) {
			xgw_rec_problem(res, "%s %s/%s: parent Gateway %s/%s not found", rt->kind,
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
		ps->ref = (uint32_t)p;
		/* a Gateway parent: its own listeners; a ListenerSet parent: the set's.
		 * With a sectionName, only those of that name, in the same order. */
		const size_t *order = NULL;
		size_t lo = 0, hi = g->n_listeners;

		if (pr->section_name)
			listeners_named(c, g, pr->section_name, &order, &lo, &hi);
		for (size_t k = lo; k < hi; k++) {
			struct gw_listener *gl = &g->listeners[order ? order[k] : k];
			struct attachment at;

			if (gl->ls != ls)
				continue;
			if (pr->section_name && !str_eq(pr->section_name, gl->spec->name))
				continue;
			if (pr->port && pr->port != gl->spec->port)
				continue;
			matched_section = true;
			if (!gl->valid || !xgw_rec_route_allowed(c->st, gl, rt->kind, r->meta.ns))
				continue;
			allowed = true;
			/* made only for a listener that takes the route: most do not */
			at = (struct attachment){ .route = r,
						  .route_idx = ri,
						  .parent_idx = rs->n_parents - 1,
						  .l = gl };
			if (!xgw_rec_att_hosts(&at))
				continue;
			host_ok = true;
			gl->st->attached_routes++;
			if (VEC_PUSH(c->att, at))
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
					 "NotAllowedByListeners", "no listener allows this route");
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
		if (unsupported && host_ok)
			xgw_rec_cond_set(a, &ps->conds, gen, "PartiallyInvalid", true,
					 "UnsupportedValue", "a rule is not served: %s",
					 unsupported);
	}
	if (unsupported && rs->n_parents)
		xgw_rec_problem(res, "%s %s/%s: a rule is not served: %s", rt->kind, r->meta.ns,
				r->meta.name, unsupported);
	if (refs_reason && rs->n_parents)
		xgw_rec_problem(res, "%s %s/%s: %s", rt->kind, r->meta.ns, r->meta.name, refs_msg);
	return 0;
}

/* c->routes: the HTTPRoutes, then the GRPCRoutes translated. */
static int index_routes(struct ctx *c)
{
	const struct xgw_store *st = c->st;
	struct xgw_httproute *tr;
	size_t nh = st->n_httproutes;

	size_t n_be = 0;

	c->routes = calloc(nh + st->n_grpcroutes + 1, sizeof(*c->routes));
	c->be_first = calloc(nh + st->n_grpcroutes + 1, sizeof(*c->be_first));
	c->rules_ok = calloc(nh + st->n_grpcroutes + 1, sizeof(*c->rules_ok));
	tr = xgw_arena_alloc(&c->tmp, (st->n_grpcroutes + 1) * sizeof(*tr));
	if (!c->routes || !c->be_first || !c->rules_ok || !tr)
		return -ENOMEM;
	for (size_t i = 0; i < nh; i++)
		c->routes[i] = (struct route){ .r = &st->httproutes[i], .kind = "HTTPRoute" };
	for (size_t i = 0; i < st->n_grpcroutes; i++) {
		if (xgw_rec_grpc_translate(c, &st->grpcroutes[i], &tr[i]))
			return -ENOMEM;
		c->routes[nh + i] = (struct route){ .r = &tr[i],
						    .grpc = &st->grpcroutes[i],
						    .kind = "GRPCRoute" };
	}
	c->n_routes = nh + st->n_grpcroutes;
	for (size_t i = 0; i < c->n_routes; i++) {
		c->be_first[i] = n_be;
		for (size_t k = 0; k < c->routes[i].r->n_rules; k++)
			n_be += c->routes[i].r->rules[k].n_backends;
	}
	c->be_memo = calloc(n_be + 1, sizeof(*c->be_memo));
	return c->be_memo ? 0 : -ENOMEM;
}

int xgw_reconcile(const struct xgw_store *st, const struct xgw_reconcile_opts *opts,
		  struct xgw_reconcile_result *res)
{
	struct ctx c = { .st = st, .opts = opts, .res = res };
	int err = -ENOMEM;
	size_t n_att;
	bool reuse;

	c.b = xgw_snapb__new(opts->generation);
	if (c.b && opts->ticket_secret)
		xgw_snapb_ticket_secret(c.b, opts->ticket_secret);
	/* HTTPRoutes' and GRPCRoutes' statuses, then the L4 routes' (reconcile_l4.c) */
	if (!c.b || index_routes(&c))
		goto out;
	res->routes = xgw_arena_alloc(&res->arena,
				      (c.n_routes + st->n_l4routes + 1) * sizeof(*res->routes));
	if (!res->routes)
		goto out;
	res->n_routes = c.n_routes + st->n_l4routes;
	if ((err = xgw_rec_index_services(&c)) || (err = do_classes(&c)) ||
	    (err = do_gateways(&c)) || (err = xgw_rec_patch_prepare(&c)))
		goto out;
	reuse = xgw_rec_patch_may_reuse(&c);
	/* about one attachment per parentRef: room for them at once, not by doubling */
	for (size_t i = 0; i < c.n_routes; i++)
		c.att.cap += c.routes[i].r->n_parents;
	c.att.v = malloc((c.att.cap + 1) * sizeof(*c.att.v));
	if (!c.att.v) {
		err = -ENOMEM;
		goto out;
	}
	c.att.cap++;
	/* only routes changed: those that did not attach as they did (reconcile_patch.c) */
	for (size_t i = 0; i < c.n_routes; i++) {
		uint32_t j = reuse ? c.pt.old_of[i] : XGW_SNAP_NONE;

		c.np->prob_off[i] = (uint32_t)res->n_problems;
		if ((err = j != XGW_SNAP_NONE ? xgw_rec_patch_reuse(&c, i, j)
					      : attach_route(&c, i)))
			goto out;
	}
	c.np->prob_off[c.n_routes] = (uint32_t)res->n_problems;
	n_att = c.att.n;
	if ((err = xgw_rec_patch_record(&c)) || (err = xgw_rec_attach_l4(&c)) ||
	    (err = xgw_rec_kind_conflicts(&c)) || (err = xgw_rec_do_btls(&c)))
		goto out;
	c.np->conflicts = c.att.n != n_att;
	c.pt.n_problems = res->n_problems;
	/* only routes changed: the previous snapshot, patched (reconcile_patch.c) */
	err = c.pt.env ? xgw_rec_patch_begin(&c) : -ESTALE;
	if (!err)
		err = xgw_rec_build_snapshot(&c);
	if (err == -ESTALE) {
		/* no patch, or one that gave up half way: the snapshot anew */
		err = c.pt.on ? xgw_rec_patch_undo(&c) : 0;
		if (!err)
			err = xgw_rec_build_snapshot(&c);
	}
	if (err || (err = xgw_snapb__finish(c.b, &res->snap, &res->snap_len)))
		goto out;
	err = xgw_rec_patch_finish(&c);
out:
	xgw_rec_patch_free(c.np);
	free(c.pt.old_of);
	free(c.pt.reused);
	free(c.pt.ovh);
	free(c.gw_ix.tab);
	free(c.lset_ix.tab);
	xgw_rec_addrs_free(&c);
	xgw_snapb__free(c.b);
	free(c.rule_ids); /* its entries are in c.tmp */
	free(c.routes);
	free(c.be_first);
	free(c.be_memo);
	free(c.rules_ok);
	xgw_arena_free(&c.tmp);
	free(c.att.v);
	free(c.l4att.v);
	free(c.l4_rule_ids);
	for (size_t i = 0; i < c.n_svcs; i++)
		free(c.svcs[i].cl);
	free(c.svcs);
	free(c.svc_hash);
	free(c.slice_refs);
	free(c.att_by_l);
	free(c.secrets);
	xgw_rec_btls_free(&c);
	free(c.gws);
	free(c.lsets);
	free(c.class_params);
	return err;
}

int xgw_reconcile_change(const struct xgw_store *st, const struct xgw_reconcile_opts *opts,
			 const struct xgw_reconcile_result *prev,
			 const struct xgw_store *prev_store, bool same_shape,
			 struct xgw_reconcile_result *res, bool *eps)
{
	struct xgw_reconcile_opts o = *opts;
	int err = -ESTALE;

	*eps = false;
	if (prev && same_shape) {
		err = xgw_reconcile_endpoints(st, opts, prev, res);
		*eps = !err;
	}
	if (err != -ESTALE)
		return err;
	o.prev = prev;
	o.prev_store = prev ? prev_store : NULL;
	err = xgw_reconcile(st, &o, res);
	if (err == -ESTALE) {
		/* prev's record does not fit this store (cannot be, but then the
		 * change still lands): everything from scratch */
		xgw_reconcile_result__free(res);
		o.prev = NULL;
		o.prev_store = NULL;
		err = xgw_reconcile(st, &o, res);
	}
	return err;
}

void xgw_reconcile_result__free(struct xgw_reconcile_result *res)
{
	if (!res)
		return;
	free(res->snap);
	free(res->listeners);
	free(res->problems);
	free(res->cluster_srcs);
	if (!res->patch_borrowed)
		xgw_rec_patch_free(res->patch);
	xgw_arena_free(&res->arena);
	memset(res, 0, sizeof(*res));
}
