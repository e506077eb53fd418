// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Listeners, for the reconciler (reconcile.c): each Gateway listener and
 * each listener a ListenerSet adds, validated in precedence order
 * (protocol, port, conflicts, allowed route kinds, TLS mode, certificateRefs
 * for HTTPS and TLS Terminate, client certificate validation for HTTPS),
 * with the status conditions the Gateway API names; the Gateway conditions
 * of spec.tls; and the ListenerSets a Gateway allows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reconcile-int.h"
#include "tlscert.h"

/*
 * The route kinds a listener of protocol <p> serves (NULL-terminated), or
 * NULL (both TLS modes: TLSRoute).
 */
static const char *const *proto_kinds(enum xgw_listener_proto p)
{
	static const char *const http[] = { "HTTPRoute", "GRPCRoute", NULL };
	static const char *const tls[] = { "TLSRoute", NULL };
	static const char *const tcp[] = { "TCPRoute", NULL };
	static const char *const udp[] = { "UDPRoute", NULL };

	switch (p) {
	case XGW_PROTO_HTTP:
	case XGW_PROTO_HTTPS:
		return http;
	case XGW_PROTO_TLS:
		return tls;
	case XGW_PROTO_TCP:
		return tcp;
	case XGW_PROTO_UDP:
		return udp;
	default:
		return NULL;
	}
}

/* <kind> if <kinds> has it, else NULL. */
static const char *kind_in(const char *const *kinds, const char *kind)
{
	for (; kinds && *kinds; kinds++)
		if (!strcmp(*kinds, kind))
			return *kinds;
	return NULL;
}

static bool kind_listed(const struct xgw_listener_status *ls, const char *kind)
{
	for (int i = 0; i < ls->n_supported_kinds; i++)
		if (ls->supported_kinds[i] == kind)
			return true;
	return false;
}

static int secret_cmp(const void *pa, const void *pb)
{
	const struct xgw_secret *a = *(const struct xgw_secret *const *)pa,
				*b = *(const struct xgw_secret *const *)pb;
	int r = strcmp(a->meta.ns, b->meta.ns);

	return r ? r : strcmp(a->meta.name, b->meta.name);
}

/* The Secret <ns>/<name>, found in an index sorted on first use. */
const struct xgw_secret *xgw_rec_secret_find(struct ctx *c, const char *ns, const char *name)
{
	struct xgw_secret key = { .meta = { .name = (char *)name, .ns = (char *)ns } };
	const struct xgw_secret *kp = &key, **hit;

	if (!c->secrets && c->st->n_secrets) {
		c->secrets = malloc(c->st->n_secrets * sizeof(*c->secrets));
		if (!c->secrets)
			return NULL;
		for (size_t i = 0; i < c->st->n_secrets; i++)
			c->secrets[i] = &c->st->secrets[i];
		qsort(c->secrets, c->st->n_secrets, sizeof(*c->secrets), secret_cmp);
	}
	if (!c->secrets)
		return NULL;
	hit = bsearch(&kp, c->secrets, c->st->n_secrets, sizeof(*c->secrets), secret_cmp);
	return hit ? *hit : NULL;
}

static const struct xgw_configmap *configmap_find(const struct xgw_store *st, const char *ns,
						  const char *name)
{
	for (size_t i = 0; i < st->n_configmaps; i++)
		if (!strcmp(st->configmaps[i].meta.ns, ns) &&
		    !strcmp(st->configmaps[i].meta.name, name))
			return &st->configmaps[i];
	return NULL;
}

/* The client certificate validation of <gw>'s listeners on <port>: perPort, else default. */
static const struct xgw_frontend_validation *frontend_of(const struct xgw_gateway *gw,
							 uint32_t port)
{
	for (size_t i = 0; i < gw->n_fe_ports; i++)
		if (gw->fe_ports[i].port == port)
			return &gw->fe_ports[i];
	return gw->fe_default;
}

/*
 * Client certificate validation of HTTPS listener <gl>: its CA references
 * go to gl->cas. A bad one sets ResolvedRefs=False (InvalidCACertificateKind,
 * RefNotPermitted or InvalidCACertificateRef); with none usable the listener
 * is not accepted (NoValidCACertificate). Returns false then, or on ENOMEM.
 */
static bool listener_cas(struct ctx *c, struct gw_listener *gl, int64_t gen, bool *oom)
{
	struct xgw_arena *a = &c->res->arena;
	const struct xgw_frontend_validation *v = frontend_of(gl->gw, gl->spec->port);
	const char *gw_ns = gl->gw->meta.ns;
	struct xgw_conds *conds = &gl->st->conds;
	bool bad = false;

	if (!v)
		return true;
	gl->ca_optional = v->mode && !strcmp(v->mode, "AllowInsecureFallback");
	gl->cas = xgw_arena_alloc(a, (v->n_ca_refs + 1) * sizeof(*gl->cas));
	if (!gl->cas) {
		*oom = true;
		return false;
	}
	for (size_t i = 0; i < v->n_ca_refs; i++) {
		const struct xgw_cert_ref *cr = &v->ca_refs[i];
		const char *ns = cr->ns ? cr->ns : gw_ns, *reason = "InvalidCACertificateRef";
		const struct xgw_configmap *cm = NULL;
		char why[160];

		if ((*cr->group && strcmp(cr->group, "core")) || strcmp(cr->kind, "ConfigMap")) {
			reason = "InvalidCACertificateKind";
			snprintf(why, sizeof(why), "kind %s/%s is not supported (only ConfigMap)",
				 cr->group, cr->kind);
		} else if (strcmp(ns, gw_ns) && !xgw_rec_grant_allows(c->st, "Gateway", gw_ns, "",
								      "ConfigMap", ns, cr->name)) {
			reason = "RefNotPermitted";
			snprintf(
				why, sizeof(why),
				"no ReferenceGrant in namespace %s allows Gateways of %s to use it",
				ns, gw_ns);
		} else if (!(cm = configmap_find(c->st, ns, cr->name))) {
			snprintf(why, sizeof(why), "ConfigMap not found");
		} else if (!xgw_tlsca_ok(cm->ca_crt, cm->ca_crt ? strlen(cm->ca_crt) : 0, why,
					 sizeof(why))) {
			;
		} else {
			gl->cas[gl->n_cas++] = cm;
			continue;
		}
		if (!bad)
			xgw_rec_cond_set(a, conds, gen, "ResolvedRefs", false, reason,
					 "frontend caCertificateRefs[%zu] %s/%s: %s", i, ns,
					 cr->name, why);
		bad = true;
	}
	if (!gl->n_cas) {
		xgw_rec_cond_set(a, conds, gen, "Accepted", false, "NoValidCACertificate",
				 "client certificate validation has no usable CA certificate");
		return false;
	}
	return true;
}

/*
 * The certificateRefs of HTTPS listener <gl>: the usable ones go to
 * gl->certs. A bad one sets ResolvedRefs=False (InvalidCertificateRef, or
 * RefNotPermitted without a ReferenceGrant), naming it. Returns false when
 * none is usable (the listener cannot be served), or on ENOMEM (*<oom>).
 */
static bool listener_certs(struct ctx *c, struct gw_listener *gl, int64_t gen, bool *oom)
{
	struct xgw_arena *a = &c->res->arena;
	const struct xgw_gw_listener *l = gl->spec;
	/* the references are the Gateway's, or the ListenerSet's */
	const char *gw_ns = gl->ls ? gl->ls->spec->meta.ns : gl->gw->meta.ns;
	const char *from = gl->ls ? "ListenerSet" : "Gateway";
	struct xgw_conds *conds = &gl->st->conds;
	bool bad = false;

	if (!l->n_cert_refs) {
		xgw_rec_cond_set(a, conds, gen, "ResolvedRefs", false, "InvalidCertificateRef",
				 "a listener that terminates TLS needs tls.certificateRefs");
		return false;
	}
	gl->certs = xgw_arena_alloc(a, l->n_cert_refs * sizeof(*gl->certs));
	if (!gl->certs) {
		*oom = true;
		return false;
	}
	for (size_t i = 0; i < l->n_cert_refs; i++) {
		const struct xgw_cert_ref *cr = &l->cert_refs[i];
		const char *ns = cr->ns ? cr->ns : gw_ns;
		const struct xgw_secret *sec;
		char why[160];
		const char *reason = "InvalidCertificateRef";

		if ((*cr->group && strcmp(cr->group, "core")) || strcmp(cr->kind, "Secret")) {
			snprintf(why, sizeof(why), "kind %s/%s is not supported (only Secret)",
				 cr->group, cr->kind);
		} else if (strcmp(ns, gw_ns) &&
			   !xgw_rec_grant_allows(c->st, from, gw_ns, "", "Secret", ns, cr->name)) {
			reason = "RefNotPermitted";
			snprintf(why, sizeof(why),
				 "no ReferenceGrant in namespace %s allows %ss of %s to use it", ns,
				 from, gw_ns);
		} else if (!(sec = xgw_rec_secret_find(c, ns, cr->name))) {
			snprintf(why, sizeof(why), "Secret not found");
		} else if (strcmp(sec->type, "kubernetes.io/tls")) {
			snprintf(why, sizeof(why), "Secret type is %s, not kubernetes.io/tls",
				 sec->type);
		} else if (!xgw_tlscert_ok(sec->tls_crt, sec->tls_crt_len, sec->tls_key,
					   sec->tls_key_len, why, sizeof(why))) {
			;
		} else {
			gl->certs[gl->n_certs++] = sec;
			continue;
		}
		if (!bad)
			xgw_rec_cond_set(a, conds, gen, "ResolvedRefs", false, reason,
					 "certificateRefs[%zu] %s/%s: %s", i, ns, cr->name, why);
		bad = true;
	}
	return gl->n_certs > 0;
}

/*
 * Does listener <o> take what <l> asks for: ProtocolConflict, HostnameConflict
 * or NULL. TCP and UDP listeners on one port do not meet (other transport
 * protocols); TLS listeners share a port by server name, whatever their mode;
 * TCP and UDP listeners have no server name, so two of one port conflict.
 */
static const char *conflict_of(const struct xgw_gw_listener *l, const struct xgw_gw_listener *o)
{
	if (o->port != l->port)
		return NULL;
	if ((o->proto == XGW_PROTO_UDP) != (l->proto == XGW_PROTO_UDP))
		return NULL;
	if (o->proto != l->proto)
		return "ProtocolConflict";
	if (l->proto == XGW_PROTO_TCP || l->proto == XGW_PROTO_UDP)
		return "HostnameConflict";
	if ((!o->hostname && !l->hostname) ||
	    (o->hostname && l->hostname && !strcasecmp(o->hostname, l->hostname)))
		return "HostnameConflict";
	return NULL;
}

/*
 * Validate listener <i> of <g> (gw, ls, spec and st set) and set its
 * conditions under generation <gen>. A listener of the Gateway itself is
 * checked against the Gateway's other listeners (both of a conflicting pair
 * are Conflicted); one of a ListenerSet against the earlier listeners that
 * hold their port and hostname (the Gateway's, then earlier ListenerSets'),
 * and only it is Conflicted. Returns 0 or -ENOMEM.
 */
static int do_listener(struct ctx *c, struct gw *g, size_t i, int64_t gen)
{
	struct xgw_arena *a = &c->res->arena;
	const struct xgw_gateway *gw = g->spec;
	struct gw_listener *gl = &g->listeners[i];
	const struct xgw_gw_listener *l = gl->spec;
	struct xgw_listener_status *ls = gl->st;
	const char *const *kinds = proto_kinds(l->proto);
	bool ok = true, kinds_ok = true;

	ls->name = l->name;
	/* supportedKinds: the protocol's kinds, or those of allowedRoutes.kinds
	 * that the protocol supports; any other listed kind is InvalidRouteKinds
	 * (every listed kind, for a protocol this build does not serve). */
	for (const char *const *k = kinds; !l->n_kinds && k && *k; k++)
		ls->supported_kinds[ls->n_supported_kinds++] = *k;
	for (size_t k = 0; k < l->n_kinds; k++) {
		const struct xgw_route_kind *rk = &l->kinds[k];
		const char *kind = kind_in(kinds, rk->kind);

		if (!kind || (rk->group && strcmp(rk->group, XGW_GATEWAY_GROUP))) {
			xgw_rec_cond_set(a, &ls->conds, gen, "ResolvedRefs", false,
					 "InvalidRouteKinds", "route kind %s/%s is not supported%s",
					 rk->group ? rk->group : "", rk->kind,
					 kinds ? "" : " on this protocol");
			kinds_ok = false;
		} else if (!kind_listed(ls, kind) &&
			   ls->n_supported_kinds < (int)(sizeof(ls->supported_kinds) /
							 sizeof(ls->supported_kinds[0]))) {
			ls->supported_kinds[ls->n_supported_kinds++] = kind;
		}
	}
	if (!kinds) {
		xgw_rec_cond_set(a, &ls->conds, gen, "Accepted", false, "UnsupportedProtocol",
				 "protocol %s is not supported by this build",
				 l->proto_name ? l->proto_name : "?");
		ok = false;
	} else if (l->port < 1 || l->port > 65535) {
		xgw_rec_cond_set(a, &ls->conds, gen, "Accepted", false, "PortUnavailable",
				 "port %u is out of range", l->port);
		ok = false;
	} else if (l->proto == XGW_PROTO_HTTPS && l->tls_mode && strcmp(l->tls_mode, "Terminate")) {
		xgw_rec_cond_set(a, &ls->conds, gen, "Accepted", false, "UnsupportedValue",
				 "tls.mode %s: an HTTPS listener terminates TLS (mode Terminate)",
				 l->tls_mode);
		ok = false;
	} else if (l->proto == XGW_PROTO_TLS && l->tls_mode && strcmp(l->tls_mode, "Terminate") &&
		   strcmp(l->tls_mode, "Passthrough")) {
		xgw_rec_cond_set(a, &ls->conds, gen, "Accepted", false, "UnsupportedValue",
				 "tls.mode %s: a TLS listener's mode is Terminate or Passthrough",
				 l->tls_mode);
		ok = false;
	}
	if (!gl->ls) {
		/* Conflicts with another listener of this Gateway on the same port. */
		for (size_t j = 0; ok && j < gw->n_listeners; j++) {
			const char *why = j == i ? NULL : conflict_of(l, &gw->listeners[j]);

			if (!why)
				continue;
			if (!strcmp(why, "ProtocolConflict"))
				xgw_rec_cond_set(a, &ls->conds, gen, "Conflicted", true, why,
						 "listener %s uses port %u with another protocol",
						 gw->listeners[j].name, l->port);
			else
				xgw_rec_cond_set(a, &ls->conds, gen, "Conflicted", true, why,
						 "listener %s has the same port and hostname",
						 gw->listeners[j].name);
			gl->conflict = why;
			ok = false;
		}
	} else {
		/* Listeners of higher precedence win: the first that conflicts.
		 * A conflict outranks an unsupported protocol: the port is taken. */
		bool port_ok = l->port >= 1 && l->port <= 65535;

		for (size_t j = 0; port_ok && !gl->conflict && j < i; j++) {
			const struct gw_listener *o = &g->listeners[j];
			const char *why = o->holds ? conflict_of(l, o->spec) : NULL;

			if (!why)
				continue;
			xgw_rec_cond_set(a, &ls->conds, gen, "Conflicted", true, why,
					 "listener %s of %s %s/%s %s", o->spec->name,
					 o->ls ? "ListenerSet" : "Gateway",
					 o->ls ? o->ls->spec->meta.ns : gw->meta.ns,
					 o->ls ? o->ls->spec->meta.name : gw->meta.name,
					 !strcmp(why, "ProtocolConflict")
						 ? "uses this port with another protocol"
						 : "has the same port and hostname");
			gl->conflict = why;
			ok = false;
		}
	}
	/* A conflicted listener is not accepted, for the conflict's reason. */
	if (gl->conflict)
		xgw_rec_cond_set(a, &ls->conds, gen, "Accepted", false, gl->conflict,
				 "listener conflicts with a listener of higher precedence");
	if (ok) {
		xgw_rec_cond_set(a, &ls->conds, gen, "Accepted", true, "Accepted",
				 "listener is accepted");
		xgw_rec_cond_set(a, &ls->conds, gen, "Conflicted", false, "NoConflicts",
				 "no conflict");
	}
	gl->holds = ok;
	if (kinds_ok)
		xgw_rec_cond_set(a, &ls->conds, gen, "ResolvedRefs", true, "ResolvedRefs",
				 "references are resolved");
	if (ok && xgw_rec_terminates_tls(l)) {
		bool oom = false;

		/* A listener without a usable certificate stays accepted
		 * (routes attach and are counted) but is not programmed.
		 * Client certificate validation (spec.tls.frontend) is of
		 * HTTPS listeners only. */
		gl->unresolved = !listener_certs(c, gl, gen, &oom);
		if (!oom && l->proto == XGW_PROTO_HTTPS && !listener_cas(c, gl, gen, &oom))
			ok = false;
		if (oom)
			return -ENOMEM;
	}
	gl->valid = ok;
	if (!gl->ls)
		g->partly_valid |= !ok || !kinds_ok || gl->unresolved;
	return 0;
}

/* The Gateway's own listeners. */
int xgw_rec_do_listeners(struct ctx *c, struct gw *g)
{
	const struct xgw_gateway *gw = g->spec;

	for (size_t i = 0; i < gw->n_listeners; i++) {
		struct gw_listener *gl = &g->listeners[i];

		gl->gw = gw;
		gl->spec = &gw->listeners[i];
		gl->st = &g->st->listeners[i];
		if (do_listener(c, g, i, gw->meta.generation))
			return -ENOMEM;
	}
	g->n_listeners = gw->n_listeners;
	return 0;
}

/*
 * Gateway conditions of spec.tls: InsecureFrontendValidationMode when a
 * frontend validation lets clients without a valid certificate in, and
 * ResolvedRefs for spec.tls.backend.clientCertificateRef.
 */
void xgw_rec_gateway_tls_conds(struct ctx *c, const struct xgw_gateway *gw,
			       struct xgw_gateway_status *gs)
{
	struct xgw_arena *a = &c->res->arena;
	const struct xgw_cert_ref *cr = gw->backend_client_cert;
	int64_t gen = gw->meta.generation;
	bool insecure = gw->fe_default && gw->fe_default->mode &&
			!strcmp(gw->fe_default->mode, "AllowInsecureFallback");

	for (size_t i = 0; i < gw->n_fe_ports; i++)
		insecure |= gw->fe_ports[i].mode &&
			    !strcmp(gw->fe_ports[i].mode, "AllowInsecureFallback");
	if (insecure)
		xgw_rec_cond_set(
			a, &gs->conds, gen, "InsecureFrontendValidationMode", true,
			"ConfigurationChanged",
			"frontend validation mode AllowInsecureFallback: clients without a valid "
			"certificate are let in");
	if (cr) {
		const char *ns = cr->ns ? cr->ns : gw->meta.ns;
		const struct xgw_secret *sec = NULL;
		char why[160];

		if ((*cr->group && strcmp(cr->group, "core")) || strcmp(cr->kind, "Secret"))
			xgw_rec_cond_set(
				a, &gs->conds, gen, "ResolvedRefs", false,
				"InvalidClientCertificateRef",
				"tls.backend.clientCertificateRef %s: kind %s/%s is not supported",
				cr->name, cr->group, cr->kind);
		else if (strcmp(ns, gw->meta.ns) &&
			 !xgw_rec_grant_allows(c->st, "Gateway", gw->meta.ns, "", "Secret", ns,
					       cr->name))
			xgw_rec_cond_set(
				a, &gs->conds, gen, "ResolvedRefs", false, "RefNotPermitted",
				"tls.backend.clientCertificateRef %s/%s: no ReferenceGrant allows "
				"it",
				ns, cr->name);
		else if (!(sec = xgw_rec_secret_find(c, ns, cr->name)) ||
			 strcmp(sec->type, "kubernetes.io/tls") ||
			 !xgw_tlscert_ok(sec->tls_crt, sec->tls_crt_len, sec->tls_key,
					 sec->tls_key_len, why, sizeof(why)))
			xgw_rec_cond_set(a, &gs->conds, gen, "ResolvedRefs", false,
					 "InvalidClientCertificateRef",
					 "tls.backend.clientCertificateRef %s/%s: %s", ns, cr->name,
					 !sec ? "Secret not found"
					 : strcmp(sec->type, "kubernetes.io/tls")
						 ? "Secret type is not kubernetes.io/tls"
						 : why);
		else
			xgw_rec_cond_set(a, &gs->conds, gen, "ResolvedRefs", true, "ResolvedRefs",
					 "references are resolved");
	}
}

/* --- ListenerSets ------------------------------------------------------- */

/* Listener precedence among ListenerSets: oldest first, then by namespace/name. */
static int lset_cmp(const void *pa, const void *pb)
{
	return xgw_rec_age_cmp(&((const struct lset *)pa)->spec->meta,
			       &((const struct lset *)pb)->spec->meta);
}

/* The index in the store of the Gateway <ls> names as its parent, or -1. */
static long lset_parent(const struct ctx *c, const struct xgw_listenerset *ls)
{
	if (strcmp(ls->parent_group, XGW_GATEWAY_GROUP) || strcmp(ls->parent_kind, "Gateway"))
		return -1;
	return xgw_rec_nsname_find(&c->gw_ix, xgw_rec_gw_nsname, c->st->gateways, ls->parent_ns,
				   ls->parent_name);
}

/*
 * c->lsets: the ListenerSets whose parent is a Gateway of ours (c->gws must
 * be allocated), in listener precedence order, with their status entries.
 * Others are reported as problems when their parent does not exist.
 */
int xgw_rec_index_lsets(struct ctx *c)
{
	const struct xgw_store *st = c->st;
	struct xgw_reconcile_result *res = c->res;

	c->lsets = calloc(st->n_listenersets + 1, sizeof(*c->lsets));
	res->listenersets =
		xgw_arena_alloc(&res->arena, (st->n_listenersets + 1) * sizeof(*res->listenersets));
	if (!c->lsets || !res->listenersets)
		return -ENOMEM;
	for (size_t i = 0; i < st->n_listenersets; i++) {
		const struct xgw_listenerset *ls = &st->listenersets[i];
		long gi = lset_parent(c, ls);

		if (gi < 0) {
			if (xgw_rec_problem(res, "ListenerSet %s/%s: parent %s %s/%s not found",
					    ls->meta.ns, ls->meta.name, ls->parent_kind,
					    ls->parent_ns, ls->parent_name))
				return -ENOMEM;
			continue;
		}
		if (!xgw_rec_class_ours(st, st->gateways[gi].class_name))
			continue;
		c->lsets[c->n_lsets].spec = ls;
		c->lsets[c->n_lsets++].g = &c->gws[gi];
	}
	qsort(c->lsets, c->n_lsets, sizeof(*c->lsets), lset_cmp);
	if (xgw_rec_nsname_index(&c->lset_ix, xgw_rec_lset_nsname, c->lsets, c->n_lsets))
		return -ENOMEM;
	/* each Gateway's, in the same order (last to first: each goes in front) */
	for (size_t k = c->n_lsets; k-- > 0;) {
		c->lsets[k].st = &res->listenersets[k];
		c->lsets[k].st->ns = c->lsets[k].spec->meta.ns;
		c->lsets[k].st->name = c->lsets[k].spec->meta.name;
		c->lsets[k].next = c->lsets[k].g->lsets;
		c->lsets[k].g->lsets = &c->lsets[k];
	}
	res->n_listenersets = c->n_lsets;
	return 0;
}

/* Does <gw>'s spec.allowedListeners let ListenerSets of namespace <ns> attach? */
static bool listeners_allowed(const struct xgw_store *st, const struct xgw_gateway *gw,
			      const char *ns)
{
	switch (gw->allowed_listeners) {
	case XGW_FROM_ALL:
		return true;
	case XGW_FROM_SAME:
		return !strcmp(ns, gw->meta.ns);
	case XGW_FROM_SELECTOR:
		return xgw_rec_selector_matches(st, &gw->listeners_selector, ns);
	default:
		return false;
	}
}

/* How many listeners the ListenerSets of <g> bring at most. */
size_t xgw_rec_lset_listeners(const struct ctx *c, const struct gw *g)
{
	size_t n = 0;

	for (const struct lset *s = g->lsets; s; s = s->next)
		n += s->spec->n_listeners;
	return n;
}

/*
 * The ListenerSets of <g>, after its own listeners: those its allowedListeners
 * lets in add their listeners to g->listeners (checked for conflicts with
 * those of higher precedence); one with a valid listener is accepted. The
 * Programmed conditions wait for the Gateway's (lsets_programmed).
 */
int xgw_rec_do_lsets(struct ctx *c, struct gw *g)
{
	struct xgw_arena *a = &c->res->arena;

	for (struct lset *s = g->lsets; s; s = s->next) {
		const struct xgw_listenerset *ls = s->spec;
		int64_t gen = ls->meta.generation;
		size_t first = g->n_listeners;
		bool any = false;

		if (!listeners_allowed(c->st, g->spec, ls->meta.ns)) {
			xgw_rec_cond_set(
				a, &s->st->conds, gen, "Accepted", false, "NotAllowed",
				"Gateway %s/%s does not allow ListenerSets of namespace %s",
				g->spec->meta.ns, g->spec->meta.name, ls->meta.ns);
			xgw_rec_cond_set(a, &s->st->conds, gen, "Programmed", false, "NotAllowed",
					 "ListenerSet is not allowed by its Gateway");
			continue;
		}
		s->st->listeners =
			xgw_arena_alloc(a, (ls->n_listeners + 1) * sizeof(*s->st->listeners));
		if (!s->st->listeners)
			return -ENOMEM;
		s->st->n_listeners = ls->n_listeners;
		for (size_t i = 0; i < ls->n_listeners; i++) {
			struct gw_listener *gl = &g->listeners[g->n_listeners];

			gl->gw = g->spec;
			gl->ls = s;
			gl->spec = &ls->listeners[i];
			gl->st = &s->st->listeners[i];
			if (do_listener(c, g, g->n_listeners++, gen))
				return -ENOMEM;
			any |= gl->valid && !gl->unresolved;
		}
		if (!any) {
			/* none of its listeners is served: they hold nothing either */
			for (size_t i = first; i < g->n_listeners; i++)
				g->listeners[i].valid = g->listeners[i].holds = false;
			xgw_rec_cond_set(a, &s->st->conds, gen, "Accepted", false,
					 "ListenersNotValid", "no listener is valid");
			xgw_rec_cond_set(a, &s->st->conds, gen, "Programmed", false,
					 "ListenersNotValid", "no listener is valid");
			continue;
		}
		s->accepted = true;
		g->st->attached_listener_sets++;
		xgw_rec_cond_set(a, &s->st->conds, gen, "Accepted", true, "Accepted",
				 "ListenerSet is accepted");
	}
	return 0;
}

/* Accepted and Programmed of the accepted ListenerSets of <g>, now that its own are known. */
void xgw_rec_lsets_programmed(struct ctx *c, struct gw *g)
{
	struct xgw_arena *a = &c->res->arena;
	bool accepted = xgw_rec_cond_true(&g->st->conds, "Accepted"),
	     programmed = xgw_rec_cond_true(&g->st->conds, "Programmed");

	for (struct lset *s = g->lsets; s; s = s->next) {
		int64_t gen = s->spec->meta.generation;

		if (!s->accepted)
			continue;
		if (!accepted) {
			s->accepted = false;
			g->st->attached_listener_sets--;
			xgw_rec_cond_set(a, &s->st->conds, gen, "Accepted", false,
					 "ParentNotAccepted", "Gateway %s/%s is not accepted",
					 g->spec->meta.ns, g->spec->meta.name);
		}
		if (!programmed)
			xgw_rec_cond_set(a, &s->st->conds, gen, "Programmed", false,
					 "ParentNotProgrammed", "Gateway %s/%s is not programmed",
					 g->spec->meta.ns, g->spec->meta.name);
		else
			xgw_rec_cond_set(a, &s->st->conds, gen, "Programmed", true, "Programmed",
					 "ListenerSet is programmed");
	}
}
