// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The Kubernetes core and discovery objects xgw reads beside the Gateway API
 * ones (decode.c dispatches to them): Service, EndpointSlice, Namespace,
 * ReferenceGrant, ConfigMap and Secret.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xgw/model.h"
#include "xgw/netaddr.h"
#include "yaml_tree.h"
#include "decode-int.h"

static void decode_target_port(struct dctx *c, const struct xgw_ynode *m,
			       struct xgw_service_port *sp)
{
	const struct xgw_ynode *n = xgw_dec_get(m, "targetPort");

	if (!n || c->err)
		return;
	/* IntOrString: a plain integer is a number, anything else a port name. */
	if (n->type == XGW_YNODE_SCALAR && n->scalar.kind == XGW_YSCALAR_INT) {
		sp->target_port = xgw_dec_get_port(c, m, "targetPort", false);
		return;
	}
	sp->target_port_name = xgw_dec_str_of(c, "targetPort", n);
	if (sp->target_port_name &&
	    strspn(sp->target_port_name, "0123456789") == strlen(sp->target_port_name))
		/* Kubernetes rejects such a name too; as a name it would never match. */
		xgw_dec_fail(c, "targetPort", n, "expected an integer or a port name, got %s%s",
			     sp->target_port_name[0] ? "a quoted number " : "",
			     n->scalar.s[0] ? n->scalar.s : "\"\"");
}

static void decode_service_port(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_service_port *sp = out;

	sp->name = xgw_dec_opt_str(c, m, "name", NULL);
	sp->port = xgw_dec_get_port(c, m, "port", true);
	decode_target_port(c, m, sp);
	sp->protocol = xgw_dec_opt_str(c, m, "protocol", "TCP");
	sp->app_protocol = xgw_dec_opt_str(c, m, "appProtocol", NULL);
}

void xgw_dec_service(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_service svc = {};
	const struct xgw_ynode *spec;
	size_t old;

	xgw_dec_decode_meta(c, root, &svc.meta, true);
	spec = xgw_dec_get_map(c, root, "spec");
	old = xgw_dec_push_key(c, "spec");
	svc.type = xgw_dec_opt_str(c, spec, "type", "ClusterIP");
	svc.ports = xgw_dec_get_list(c, spec, "ports", XGW_YNODE_MAP, sizeof(*svc.ports),
				     decode_service_port, &svc.n_ports);
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, services, &svc))
		xgw_dec_oom(c);
}

static void decode_endpoint(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_eps_endpoint *ep = out;
	const struct xgw_ynode *cond;
	size_t old;

	ep->addresses = xgw_dec_get_strs(c, m, "addresses", &ep->n_addresses);
	/* parsed here, once per file change, rather than at every reconcile */
	if (ep->n_addresses &&
	    (ep->ips = xgw_arena_alloc(c->a, ep->n_addresses * sizeof(*ep->ips))))
		for (size_t i = 0; i < ep->n_addresses; i++)
			if (xgw_ip_parse(ep->addresses[i], &ep->ips[i].family, ep->ips[i].addr))
				ep->ips[i].family = 0;
	cond = xgw_dec_get_map(c, m, "conditions");
	old = xgw_dec_push_key(c, "conditions");
	/* Kubernetes: "nil should be interpreted as ready". */
	ep->ready = xgw_dec_get_bool(c, cond, "ready", true);
	xgw_dec_path_pop(c, old);
}

static void decode_eps_port(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_eps_port *ep = out;

	ep->name = xgw_dec_opt_str(c, m, "name", NULL);
	ep->port = xgw_dec_get_port(c, m, "port", false);
	ep->protocol = xgw_dec_opt_str(c, m, "protocol", "TCP");
	ep->app_protocol = xgw_dec_opt_str(c, m, "appProtocol", NULL);
}

void xgw_dec_endpointslice(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_endpointslice eps = {};

	xgw_dec_decode_meta(c, root, &eps.meta, true);
	eps.service_name =
		xgw_dec_dup_str(c, xgw_meta_label(&eps.meta, "kubernetes.io/service-name"));
	eps.address_type = xgw_dec_req_str(c, root, "addressType");
	eps.endpoints = xgw_dec_get_list(c, root, "endpoints", XGW_YNODE_MAP,
					 sizeof(*eps.endpoints), decode_endpoint, &eps.n_endpoints);
	eps.ports = xgw_dec_get_list(c, root, "ports", XGW_YNODE_MAP, sizeof(*eps.ports),
				     decode_eps_port, &eps.n_ports);
	if (!c->err && !STORE_PUSH(c->st, slices, &eps))
		xgw_dec_oom(c);
}

void xgw_dec_namespace(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_namespace ns = {};

	xgw_dec_decode_meta(c, root, &ns.meta, false);
	if (!c->err && !STORE_PUSH(c->st, namespaces, &ns))
		xgw_dec_oom(c);
}

static void decode_grant_from(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_grant_from *f = out;

	f->group = xgw_dec_opt_str(c, m, "group", "");
	f->kind = xgw_dec_req_str(c, m, "kind");
	f->ns = xgw_dec_req_str(c, m, "namespace");
}

static void decode_grant_to(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_grant_to *t = out;

	t->group = xgw_dec_opt_str(c, m, "group", "");
	t->kind = xgw_dec_req_str(c, m, "kind");
	t->name = xgw_dec_opt_str(c, m, "name", NULL);
}

void xgw_dec_referencegrant(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_referencegrant g = {};
	const struct xgw_ynode *spec;
	size_t old;

	xgw_dec_decode_meta(c, root, &g.meta, true);
	spec = xgw_dec_get_map(c, root, "spec");
	old = xgw_dec_push_key(c, "spec");
	g.from = xgw_dec_get_list(c, spec, "from", XGW_YNODE_MAP, sizeof(*g.from),
				  decode_grant_from, &g.n_from);
	g.to = xgw_dec_get_list(c, spec, "to", XGW_YNODE_MAP, sizeof(*g.to), decode_grant_to,
				&g.n_to);
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, grants, &g))
		xgw_dec_oom(c);
}

/*
 * Standard base64 (RFC 4648 section 4) of <in>, whitespace ignored, into
 * <out> (room for len / 4 * 3 + 3 bytes). Returns the decoded length, or -1
 * on a byte outside the alphabet, misplaced padding or a truncated quantum.
 */
static long base64_decode(const char *in, size_t len, char *out)
{
	uint32_t acc = 0;
	size_t o = 0;
	int n = 0, pad = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		int v;

		if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		if (ch == '=') {
			if (n < 2)
				return -1;
			pad++;
			n++;
			acc <<= 6;
			if (n == 4)
				break;
			continue;
		}
		if (pad)
			return -1;
		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '+')
			v = 62;
		else if (ch == '/')
			v = 63;
		else
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (++n == 4) {
			out[o++] = (char)(acc >> 16);
			out[o++] = (char)(acc >> 8);
			out[o++] = (char)acc;
			acc = 0;
			n = 0;
		}
	}
	if (n == 4 && pad) { /* "xx==" or "xxx=" */
		out[o++] = (char)(acc >> 16);
		if (pad == 1)
			out[o++] = (char)(acc >> 8);
		n = 0;
	}
	return n ? -1 : (long)o;
}

/* data <key> of a Secret (base64), or stringData <key> (plain), into *<out>. */
static void secret_value(struct dctx *c, const struct xgw_ynode *data,
			 const struct xgw_ynode *sdata, const char *key, char **out, size_t *len)
{
	const struct xgw_ynode *n;
	size_t old;

	if ((n = xgw_dec_get(sdata, key))) {
		old = xgw_dec_push_key(c, "stringData");
		*out = xgw_dec_opt_str(c, sdata, key, NULL);
		*len = *out ? strlen(*out) : 0;
		xgw_dec_path_pop(c, old);
		return;
	}
	if (!(n = xgw_dec_get(data, key)))
		return;
	old = xgw_dec_push_key(c, "data");
	char *b64 = xgw_dec_opt_str(c, data, key, NULL);
	if (b64) {
		size_t blen = strlen(b64);
		char *buf = xgw_arena_alloc(c->a, blen / 4 * 3 + 4);
		long dl = buf ? base64_decode(b64, blen, buf) : 0;

		if (!buf) {
			xgw_dec_oom(c);
		} else if (dl < 0) {
			xgw_dec_fail(c, key, n, "is not valid base64");
		} else {
			buf[dl] = '\0';
			*out = buf;
			*len = (size_t)dl;
		}
	}
	xgw_dec_path_pop(c, old);
}

void xgw_dec_configmap(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_configmap cm = {};
	const struct xgw_ynode *data;

	xgw_dec_decode_meta(c, root, &cm.meta, true);
	data = xgw_dec_get_map(c, root, "data");
	if (data) {
		size_t old = xgw_dec_push_key(c, "data");

		cm.ca_crt = xgw_dec_opt_str(c, data, "ca.crt", NULL);
		xgw_dec_path_pop(c, old);
	}
	if (!c->err && !STORE_PUSH(c->st, configmaps, &cm))
		xgw_dec_oom(c);
}

void xgw_dec_secret(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_secret sec = {};
	const struct xgw_ynode *data, *sdata;

	xgw_dec_decode_meta(c, root, &sec.meta, true);
	sec.type = xgw_dec_opt_str(c, root, "type", "Opaque");
	data = xgw_dec_get_map(c, root, "data");
	sdata = xgw_dec_get_map(c, root, "stringData");
	secret_value(c, data, sdata, "tls.crt", &sec.tls_crt, &sec.tls_crt_len);
	secret_value(c, data, sdata, "tls.key", &sec.tls_key, &sec.tls_key_len);
	if (!c->err && !STORE_PUSH(c->st, secrets, &sec))
		xgw_dec_oom(c);
}
