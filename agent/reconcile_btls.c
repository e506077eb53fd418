// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * BackendTLSPolicy (GEP-1897): which policy applies to which Service port,
 * the policies' statuses (one status.ancestors entry per Gateway of ours
 * whose routes use a targeted Service), and the TLS settings of the clusters
 * the snapshot builder makes (xgw_rec_cluster_for).
 *
 * Conflicts: two policies that target the same Service and the same
 * sectionName (or both none) conflict; the older (creationTimestamp, then
 * namespace/name) wins and the other is Accepted=False Conflicted. A policy
 * with a sectionName is more specific than one without: both apply, the
 * first to its port, the second to the Service's other ports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile-int.h"
#include "tlscert.h"

#define ANCESTORS_MAX 16 /* status.ancestors: at most 16 entries */

struct btls {
	const struct xgw_btls_policy *p;
	bool conflicted;	 /* a target is held by an older accepted policy */
	bool accepted;		 /* applies to its targets: not conflicted, a usable CA */
	char *ca;		 /* the usable CA certificates, concatenated PEM (result arena) */
	const char *refs_reason; /* ResolvedRefs=False reason, NULL: resolved */
	char refs_msg[256];
	const struct xgw_gateway *anc[ANCESTORS_MAX];
	size_t n_anc;
	uint32_t uptls; /* its snapshot entry, shared by its clusters; XGW_SNAP_NONE: not yet */
};

static int age_cmp(const void *pa, const void *pb)
{
	const struct btls *a = pa, *b = pb;

	return xgw_rec_age_cmp(&a->p->meta, &b->p->meta);
}

static bool target_is_service(const struct xgw_btls_target *t)
{
	return (!*t->group || !strcmp(t->group, "core")) && !strcmp(t->kind, "Service");
}

static bool same_section(const char *a, const char *b)
{
	return a ? b && !strcmp(a, b) : !b;
}

/* Does an older accepted policy hold one of <b>'s targets? */
static bool conflicts(const struct btls *v, size_t n, const struct btls *b)
{
	for (size_t i = 0; i < n; i++) {
		if (!v[i].accepted || strcmp(v[i].p->meta.ns, b->p->meta.ns))
			continue;
		for (size_t x = 0; x < v[i].p->n_targets; x++)
			for (size_t y = 0; y < b->p->n_targets; y++) {
				const struct xgw_btls_target *tx = &v[i].p->targets[x],
							     *ty = &b->p->targets[y];

				if (target_is_service(tx) && target_is_service(ty) &&
				    !strcmp(tx->name, ty->name) &&
				    same_section(tx->section_name, ty->section_name))
					return true;
			}
	}
	return false;
}

static const struct xgw_configmap *configmap_of(const struct xgw_store *st, const char *ns,
						const char *name)
{
	for (size_t i = 0; i < st->n_configmaps; i++)
		if (!strcmp(st->configmaps[i].meta.ns, ns) &&
		    !strcmp(st->configmaps[i].meta.name, name))
			return &st->configmaps[i];
	return NULL;
}

/*
 * Resolve <b>'s caCertificateRefs: the usable ones make b->ca; the first bad
 * one sets b->refs_reason (InvalidKind for a kind other than a core
 * ConfigMap, InvalidCACertificateRef for a missing or unusable one). Returns
 * the number of usable references, or -ENOMEM.
 */
static int resolve_cas(struct ctx *c, struct btls *b)
{
	const struct xgw_btls_policy *p = b->p;
	size_t len = 0, n_ok = 0;
	const struct xgw_configmap *ok[8];

	for (size_t i = 0; i < p->n_ca_refs && i < 8; i++) {
		const struct xgw_cert_ref *cr = &p->ca_refs[i];
		const struct xgw_configmap *cm = NULL;
		char why[160];

		if ((*cr->group && strcmp(cr->group, "core")) || strcmp(cr->kind, "ConfigMap")) {
			if (!b->refs_reason) {
				b->refs_reason = "InvalidKind";
				snprintf(b->refs_msg, sizeof(b->refs_msg),
					 "caCertificateRefs[%zu] %s: kind %s%s%s is not supported "
					 "(ConfigMap)",
					 i, cr->name, cr->group, *cr->group ? "/" : "", cr->kind);
			}
			continue;
		}
		cm = configmap_of(c->st, p->meta.ns, cr->name);
		if (!cm || !cm->ca_crt ||
		    !xgw_tlsca_ok(cm->ca_crt, strlen(cm->ca_crt), why, sizeof(why))) {
			if (!b->refs_reason) {
				b->refs_reason = "InvalidCACertificateRef";
				snprintf(b->refs_msg, sizeof(b->refs_msg),
					 "caCertificateRefs[%zu] ConfigMap %s/%s: %s", i,
					 p->meta.ns, cr->name,
					 !cm	       ? "not found"
					 : !cm->ca_crt ? "no ca.crt key"
						       : why);
			}
			continue;
		}
		ok[n_ok++] = cm;
		len += strlen(cm->ca_crt) + 1;
	}
	if (!n_ok)
		return 0;
	b->ca = xgw_arena_alloc(&c->res->arena, len + 1);
	if (!b->ca)
		return -ENOMEM;
	for (size_t i = 0; i < n_ok; i++) {
		strcat(b->ca, ok[i]->ca_crt);
		if (b->ca[strlen(b->ca) - 1] != '\n')
			strcat(b->ca, "\n");
	}
	return (int)n_ok;
}

/* Does backendRef <be> of a route in <route_ns> name Service <ns>/<name>? */
static bool ref_names(const struct xgw_backend_ref *be, const char *route_ns, const char *ns,
		      const char *name)
{
	return (!*be->group || !strcmp(be->group, "core")) && !strcmp(be->kind, "Service") &&
	       !strcmp(be->ns ? be->ns : route_ns, ns) && !strcmp(be->name, name);
}

/* Does one of <be> reach a Service port that <p> targets (the one its sectionName names)? */
static bool route_uses(const struct ctx *c, const struct xgw_btls_policy *p,
		       const struct xgw_backend_ref *be, size_t n, const char *route_ns)
{
	for (size_t k = 0; k < n; k++)
		for (size_t t = 0; t < p->n_targets; t++) {
			const struct xgw_btls_target *tg = &p->targets[t];
			const struct xgw_service_port *sp;
			const struct svc_ix *ix;

			if (!target_is_service(tg) ||
			    !ref_names(&be[k], route_ns, p->meta.ns, tg->name))
				continue;
			if (!tg->section_name)
				return true;
			ix = xgw_rec_svc_lookup(c, p->meta.ns, tg->name);
			sp = ix ? xgw_rec_find_svc_port(ix->svc, be[k].port) : NULL;
			if (sp && sp->name && !strcmp(sp->name, tg->section_name))
				return true;
		}
	return false;
}

static void add_ancestor(struct btls *b, const struct xgw_gateway *gw)
{
	for (size_t i = 0; i < b->n_anc; i++)
		if (b->anc[i] == gw)
			return;
	if (b->n_anc < ANCESTORS_MAX)
		b->anc[b->n_anc++] = gw;
}

/* The Gateways whose attached routes send traffic to a Service that <b> targets. */
static void find_ancestors(struct ctx *c, struct btls *b)
{
	for (size_t i = 0; i < c->att.n; i++) {
		const struct attachment *at = &c->att.v[i];
		const struct xgw_httproute *r = at->route;

		for (size_t k = 0; k < r->n_rules; k++)
			if (route_uses(c, b->p, r->rules[k].backends, r->rules[k].n_backends,
				       r->meta.ns)) {
				add_ancestor(b, at->l->gw);
				break;
			}
	}
	for (size_t i = 0; i < c->l4att.n; i++) {
		const struct l4_attachment *at = &c->l4att.v[i];
		const struct xgw_l4route *r = at->route;

		for (size_t k = 0; k < r->n_rules; k++)
			if (route_uses(c, b->p, r->rules[k].backends, r->rules[k].n_backends,
				       r->meta.ns)) {
				add_ancestor(b, at->l->gw);
				break;
			}
	}
}

static int policy_status(struct ctx *c, struct btls *b, struct xgw_policy_status *ps)
{
	struct xgw_arena *a = &c->res->arena;
	const struct xgw_btls_policy *p = b->p;
	int64_t gen = p->meta.generation;

	ps->kind = "BackendTLSPolicy";
	ps->ns = p->meta.ns;
	ps->name = p->meta.name;
	ps->ancestors = xgw_arena_alloc(a, (b->n_anc + 1) * sizeof(*ps->ancestors));
	if (!ps->ancestors)
		return -ENOMEM;
	ps->n_ancestors = b->n_anc;
	for (size_t i = 0; i < b->n_anc; i++) {
		struct xgw_ancestor_status *as = &ps->ancestors[i];

		as->ns = b->anc[i]->meta.ns;
		as->name = b->anc[i]->meta.name;
		if (b->conflicted)
			xgw_rec_cond_set(a, &as->conds, gen, "Accepted", false, "Conflicted",
					 "an older BackendTLSPolicy targets the same Service "
					 "and sectionName");
		else if (!b->accepted)
			xgw_rec_cond_set(a, &as->conds, gen, "Accepted", false,
					 "NoValidCACertificate",
					 "no caCertificateRef is usable: %s", b->refs_msg);
		else
			xgw_rec_cond_set(a, &as->conds, gen, "Accepted", true, "Accepted",
					 "policy is accepted");
		if (b->refs_reason)
			xgw_rec_cond_set(a, &as->conds, gen, "ResolvedRefs", false, b->refs_reason,
					 "%s", b->refs_msg);
		else
			xgw_rec_cond_set(a, &as->conds, gen, "ResolvedRefs", true, "ResolvedRefs",
					 "references are resolved");
	}
	return 0;
}

int xgw_rec_do_btls(struct ctx *c)
{
	const struct xgw_store *st = c->st;
	struct btls *v;
	int err = 0;

	if (!st->n_btls_policies)
		return 0;
	v = calloc(st->n_btls_policies, sizeof(*v));
	c->res->policies =
		xgw_arena_alloc(&c->res->arena, st->n_btls_policies * sizeof(*c->res->policies));
	if (!v || !c->res->policies) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < st->n_btls_policies; i++) {
		v[i].p = &st->btls_policies[i];
		v[i].uptls = XGW_SNAP_NONE;
	}
	qsort(v, st->n_btls_policies, sizeof(*v), age_cmp);
	c->btls = v;
	c->n_btls = st->n_btls_policies;
	for (size_t i = 0; i < c->n_btls; i++) {
		struct btls *b = &v[i];
		int n_ca = 0;

		if (b->p->n_ca_refs && (n_ca = resolve_cas(c, b)) < 0)
			return n_ca;
		b->conflicted = conflicts(v, i, b);
		b->accepted = !b->conflicted && (b->p->well_known || n_ca > 0);
		find_ancestors(c, b);
		if ((err = policy_status(c, b, &c->res->policies[c->res->n_policies++])))
			return err;
		if (!b->n_anc)
			continue;
		for (size_t t = 0; t < b->p->n_targets; t++)
			if (!target_is_service(&b->p->targets[t]) &&
			    xgw_rec_problem(
				    c->res,
				    "BackendTLSPolicy %s/%s: targetRefs[%zu] %s/%s is not a "
				    "Service; ignored",
				    b->p->meta.ns, b->p->meta.name, t, b->p->targets[t].group,
				    b->p->targets[t].kind))
				return -ENOMEM;
		if (b->conflicted)
			err = xgw_rec_problem(c->res,
					      "BackendTLSPolicy %s/%s: conflicts with an older "
					      "policy on the same Service port; not applied",
					      b->p->meta.ns, b->p->meta.name);
		else if (!b->accepted)
			err = xgw_rec_problem(c->res,
					      "BackendTLSPolicy %s/%s: %s; requests to its "
					      "Services fail (500)",
					      b->p->meta.ns, b->p->meta.name, b->refs_msg);
		else if (b->refs_reason)
			err = xgw_rec_problem(c->res, "BackendTLSPolicy %s/%s: %s", b->p->meta.ns,
					      b->p->meta.name, b->refs_msg);
		if (err)
			return err;
	}
	return 0;
}

void xgw_rec_btls_free(struct ctx *c)
{
	free(c->btls);
	c->btls = NULL;
	c->n_btls = 0;
}

/*
 * The policy of Service port <sp> of <svc>: one that names the port
 * (sectionName), else one for the whole Service; of those, the accepted one
 * (an older policy without a usable CA does not hold the port, so a younger
 * one may be accepted there), else the oldest not conflicted. NULL: none.
 */
static struct btls *policy_for(const struct ctx *c, const struct xgw_service *svc,
			       const struct xgw_service_port *sp)
{
	struct btls *port = NULL, *whole = NULL;

	for (size_t i = 0; i < c->n_btls; i++) {
		struct btls *b = &c->btls[i];

		if (b->conflicted || strcmp(b->p->meta.ns, svc->meta.ns))
			continue;
		for (size_t t = 0; t < b->p->n_targets; t++) {
			const struct xgw_btls_target *tg = &b->p->targets[t];

			if (!target_is_service(tg) || strcmp(tg->name, svc->meta.name))
				continue;
			if (tg->section_name && sp->name && !strcmp(tg->section_name, sp->name)) {
				if (!port || (b->accepted && !port->accepted))
					port = b;
			} else if (!tg->section_name) {
				if (!whole || (b->accepted && !whole->accepted))
					whole = b;
			}
		}
	}
	return port ? port : whole;
}

bool xgw_rec_btls_unusable(const struct ctx *c, const struct xgw_service *svc,
			   const struct xgw_service_port *sp)
{
	const struct btls *b = policy_for(c, svc, sp);

	return b && !b->accepted;
}

/*
 * The client certificate of the Gateways whose routes reach <b>'s Services
 * (spec.tls.backend.clientCertificateRef), when it resolves; the first one
 * when they differ (logged).
 */
static int client_cert(struct ctx *c, const struct btls *b, const struct xgw_secret **out)
{
	*out = NULL;
	for (size_t i = 0; i < b->n_anc; i++) {
		const struct xgw_gateway *gw = b->anc[i];
		const struct xgw_cert_ref *cr = gw->backend_client_cert;
		const char *ns;
		const struct xgw_secret *sec;
		char why[160];

		if (!cr || (*cr->group && strcmp(cr->group, "core")) || strcmp(cr->kind, "Secret"))
			continue;
		ns = cr->ns ? cr->ns : gw->meta.ns;
		if (strcmp(ns, gw->meta.ns) && !xgw_rec_grant_allows(c->st, "Gateway", gw->meta.ns,
								     "", "Secret", ns, cr->name))
			continue;
		sec = xgw_rec_secret_find(c, ns, cr->name);
		if (!sec || strcmp(sec->type, "kubernetes.io/tls") ||
		    !xgw_tlscert_ok(sec->tls_crt, sec->tls_crt_len, sec->tls_key, sec->tls_key_len,
				    why, sizeof(why)))
			continue;
		if (!*out)
			*out = sec;
		else if (*out != sec &&
			 xgw_rec_problem(c->res,
					 "BackendTLSPolicy %s/%s: its Gateways present different "
					 "client certificates; %s/%s is used for all",
					 b->p->meta.ns, b->p->meta.name, (*out)->meta.ns,
					 (*out)->meta.name))
			return -ENOMEM;
	}
	return 0;
}

int xgw_rec_btls_cluster(struct ctx *c, const struct xgw_service *svc,
			 const struct xgw_service_port *sp)
{
	struct btls *b = policy_for(c, svc, sp);
	struct xgw_snap_uptls t = {};
	const char *sans[XGW_SNAP_SANS_MAX];
	const struct xgw_secret *cert;
	char name[320];
	int err;

	if (!b || !b->accepted)
		return 0;
	/* one entry per policy: every cluster it covers gets the same settings */
	if (b->uptls != XGW_SNAP_NONE)
		return xgw_snapb_cluster_tls_ref(c->b, b->uptls);
	if ((err = client_cert(c, b, &cert)))
		return err;
	if (!b->ca)
		t.flags |= XGW_UPTLS_SYSTEM_CA;
	for (size_t i = 0; i < b->p->n_sans && i < XGW_SNAP_SANS_MAX; i++) {
		t.san_type[i] =
			b->p->sans[i].type == XGW_SAN_URI ? XGW_SNAP_SAN_URI : XGW_SNAP_SAN_DNS;
		sans[i] = b->p->sans[i].value;
		t.n_sans++;
	}
	snprintf(name, sizeof(name), "%s/%s", b->p->meta.ns, b->p->meta.name);
	err = xgw_snapb_cluster_tls(c->b, &t, name, b->p->hostname, b->ca,
				    cert ? cert->tls_crt : NULL, cert ? cert->tls_key : NULL, sans);
	if (err < 0)
		return err;
	b->uptls = (uint32_t)err;
	return 0;
}
