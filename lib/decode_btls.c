// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * BackendTLSPolicy decoding (gateway.networking.k8s.io/v1, GEP-1897):
 * targetRefs, and validation (caCertificateRefs or wellKnownCACertificates,
 * hostname, subjectAltNames). What the CRD's schema and CEL rules refuse is
 * a decode error naming the field, as the API server would refuse it; what
 * only the status can tell (a CA that is missing or of the wrong kind) is
 * left to the reconciler.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "decode-int.h"

/* The v1 CRD's limits. */
#define TARGETS_MAX 16
#define CA_REFS_MAX 8
#define SANS_MAX 5
#define OPTIONS_MAX 16

static void decode_target(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_btls_target *t = out;

	t->group = xgw_dec_opt_str(c, m, "group", "");
	t->kind = xgw_dec_req_str(c, m, "kind");
	t->name = xgw_dec_req_str(c, m, "name");
	t->section_name = xgw_dec_opt_str(c, m, "sectionName", NULL);
}

static void decode_ca_ref(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_cert_ref *cr = out;

	/* LocalObjectReference: group, kind and name are required, no namespace */
	cr->group = xgw_dec_opt_str(c, m, "group", "");
	cr->kind = xgw_dec_req_str(c, m, "kind");
	cr->name = xgw_dec_req_str(c, m, "name");
	cr->ns = NULL;
}

/* A URI SAN: "scheme:rest", the scheme a letter then letters, digits, + - . */
static bool uri_ok(const char *u)
{
	size_t i = 0;

	if (!((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z')))
		return false;
	while (u[i] && u[i] != ':') {
		char ch = u[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'))
			return false;
		i++;
	}
	if (u[i] != ':' || !u[i + 1] || strlen(u) > 253)
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

static void decode_san(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	static const char *const types[] = { "Hostname", "URI", NULL };
	struct xgw_btls_san *s = out;
	int t = xgw_dec_enum_of(c, m, "type", NULL, types, "Hostname or URI");
	bool has_host = xgw_dec_get(m, "hostname"), has_uri = xgw_dec_get(m, "uri");

	if (c->err)
		return;
	s->type = t == 1 ? XGW_SAN_URI : XGW_SAN_HOSTNAME;
	if (s->type == XGW_SAN_HOSTNAME) {
		if (has_uri) {
			xgw_dec_fail(c, "uri", m, "type Hostname takes hostname, not uri");
			return;
		}
		s->value = xgw_dec_req_str(c, m, "hostname");
		if (!c->err && !xgw_dec_hostname_ok(s->value, false))
			xgw_dec_fail(c, "hostname", xgw_dec_get(m, "hostname"),
				     "\"%s\" is not a DNS name", s->value);
	} else {
		if (has_host) {
			xgw_dec_fail(c, "hostname", m, "type URI takes uri, not hostname");
			return;
		}
		s->value = xgw_dec_req_str(c, m, "uri");
		if (!c->err && !uri_ok(s->value))
			xgw_dec_fail(c, "uri", xgw_dec_get(m, "uri"),
				     "\"%s\" is not an absolute URI", s->value);
	}
}

static void decode_validation(struct dctx *c, const struct xgw_ynode *spec,
			      struct xgw_btls_policy *p)
{
	const struct xgw_ynode *v = xgw_dec_get_map(c, spec, "validation");
	size_t old;

	if (c->err)
		return;
	if (!v) {
		xgw_dec_fail(c, "validation", spec, "required field is missing");
		return;
	}
	old = xgw_dec_push_key(c, "validation");
	p->ca_refs = xgw_dec_get_list(c, v, "caCertificateRefs", XGW_YNODE_MAP, sizeof(*p->ca_refs),
				      decode_ca_ref, &p->n_ca_refs);
	p->well_known = xgw_dec_opt_str(c, v, "wellKnownCACertificates", NULL);
	p->hostname = xgw_dec_req_str(c, v, "hostname");
	p->sans = xgw_dec_get_list(c, v, "subjectAltNames", XGW_YNODE_MAP, sizeof(*p->sans),
				   decode_san, &p->n_sans);
	if (c->err)
		goto out;
	if (p->n_ca_refs > CA_REFS_MAX)
		xgw_dec_fail(c, "caCertificateRefs", xgw_dec_get(v, "caCertificateRefs"),
			     "%zu caCertificateRefs, at most %d are allowed", p->n_ca_refs,
			     CA_REFS_MAX);
	else if (p->n_ca_refs && p->well_known)
		xgw_dec_fail(c, "wellKnownCACertificates", v,
			     "caCertificateRefs and wellKnownCACertificates are exclusive");
	else if (!p->n_ca_refs && !p->well_known)
		xgw_dec_fail(c, "caCertificateRefs", v,
			     "one of caCertificateRefs and wellKnownCACertificates is required");
	else if (p->well_known && strcmp(p->well_known, "System"))
		xgw_dec_fail(c, "wellKnownCACertificates",
			     xgw_dec_get(v, "wellKnownCACertificates"),
			     "\"%s\" is not a supported value (System)", p->well_known);
	else if (!xgw_dec_hostname_ok(p->hostname, false))
		xgw_dec_fail(c, "hostname", xgw_dec_get(v, "hostname"),
			     "\"%s\" is not a DNS name (no wildcard, no IP address)", p->hostname);
	else if (p->n_sans > SANS_MAX)
		xgw_dec_fail(c, "subjectAltNames", xgw_dec_get(v, "subjectAltNames"),
			     "%zu subjectAltNames, at most %d are allowed", p->n_sans, SANS_MAX);
out:
	xgw_dec_path_pop(c, old);
}

void xgw_dec_btls_policy(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_btls_policy p = {};
	const struct xgw_ynode *spec, *opts;
	size_t old;

	xgw_dec_decode_meta(c, root, &p.meta, true);
	spec = xgw_dec_get_map(c, root, "spec");
	if (!c->err && !spec) {
		xgw_dec_fail(c, "spec", root, "required field is missing");
		return;
	}
	if (c->err)
		return;
	old = xgw_dec_push_key(c, "spec");
	p.targets = xgw_dec_get_list(c, spec, "targetRefs", XGW_YNODE_MAP, sizeof(*p.targets),
				     decode_target, &p.n_targets);
	if (!c->err && (!p.n_targets || p.n_targets > TARGETS_MAX))
		xgw_dec_fail(c, "targetRefs", spec, "%zu targetRefs, 1 to %d are allowed",
			     p.n_targets, TARGETS_MAX);
	decode_validation(c, spec, &p);
	/* options: implementation-specific TLS settings; xgw defines none */
	opts = xgw_dec_get_map(c, spec, "options");
	if (!c->err && opts && opts->map.n > OPTIONS_MAX)
		xgw_dec_fail(c, "options", opts, "%zu options, at most %d are allowed", opts->map.n,
			     OPTIONS_MAX);
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, btls_policies, &p))
		xgw_dec_oom(c);
}
