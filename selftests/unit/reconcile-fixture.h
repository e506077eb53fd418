/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the reconciler's unit tests share: YAML snippets, a fixture that
 * reconciles a YAML document and opens the snapshot, and status lookups.
 */
#ifndef XGW_SELFTESTS_RECONCILE_FIXTURE_H
#define XGW_SELFTESTS_RECONCILE_FIXTURE_H

#include <netinet/in.h>

#include "reconcile.h"
#include "test.h"
#include "xgw/netaddr.h"
#include "xgw/snapshot.h"

#define CLASS                                                                                      \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: xgw}\n"    \
	"spec: {controllerName: xgw.io/gateway-controller}\n---\n"

#define GATEWAY(name, listeners)                                                                   \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: " name          \
	", namespace: default}\nspec:\n  gatewayClassName: xgw\n  listeners:\n" listeners "---\n"

#define HTTP_ALL(name, port)                                                                       \
	"  - {name: " name ", protocol: HTTP, port: " #port                                        \
	", allowedRoutes: {namespaces: {from: All}}}\n"

#define SERVICE(name)                                                                              \
	"apiVersion: v1\nkind: Service\nmetadata: {name: " name ", namespace: default}\n"          \
	"spec: {ports: [{name: http, port: 80, targetPort: 8080}]}\n---\n"                         \
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " name "-x\n"    \
	"  namespace: default\n  labels: {kubernetes.io/service-name: " name "}\n"                 \
	"addressType: IPv4\nports: [{name: http, port: 8080}]\n"                                   \
	"endpoints:\n- addresses: [10.23.1.10]\n- addresses: [10.23.1.11]\n"                       \
	"  conditions: {ready: false}\n---\n"

#define ROUTE(name, ns, rest)                                                                      \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: " name        \
	", namespace: " ns "}\nspec:\n" rest "---\n"

struct fixture {
	struct xgw_store *st;
	struct xgw_reconcile_result res;
	struct xgw_snapshot snap;
	struct xgw_pool pool;
};

static inline bool run(struct fixture *f, const char *yaml, const struct xgw_assignment *prev,
		       size_t n_prev)
{
	struct xgw_reconcile_opts o = { .pools = &f->pool,
					.n_pools = 1,
					.previous = prev,
					.n_previous = n_prev,
					.generation = 7 };

	memset(f, 0, sizeof(*f));
	o.pools = &f->pool;
	xgw_cidr_parse("10.23.100.0/30", &f->pool.family, f->pool.addr, &f->pool.prefix);
	f->st = xgw_store__new();
	if (!ASSERT_OK_PTR(f->st, "store"))
		return false;
	if (!ASSERT_OK(xgw_store_load_yaml(f->st, "test.yaml", yaml, strlen(yaml)), "load"))
		return false;
	for (size_t i = 0; i < f->st->n_errors; i++)
		printf("#   decode: %s\n", f->st->errors[i].message);
	if (!ASSERT_EQ(f->st->n_errors, 0, "decode errors"))
		return false;
	if (!ASSERT_OK(xgw_reconcile(f->st, &o, &f->res), "reconcile"))
		return false;
	return ASSERT_OK(xgw_snapshot__open(&f->snap, f->res.snap, f->res.snap_len), "snapshot");
}

static inline void done(struct fixture *f)
{
	xgw_reconcile_result__free(&f->res);
	xgw_store__free(f->st);
}

static inline const struct xgw_condition *cond(const struct xgw_conds *cs, const char *type)
{
	for (int i = 0; i < cs->n; i++)
		if (!strcmp(cs->c[i].type, type))
			return &cs->c[i];
	return NULL;
}

#define ASSERT_COND(cs, ctype, cstatus, creason)                                                   \
	({                                                                                         \
		const struct xgw_condition *c_ = cond((cs), (ctype));                              \
		bool okc_ = ASSERT_OK_PTR(c_, ctype);                                              \
		if (okc_) {                                                                        \
			okc_ = ASSERT_STREQ(c_->status, cstatus, ctype " status");                 \
			okc_ &= ASSERT_STREQ(c_->reason, creason, ctype " reason");                \
		}                                                                                  \
		okc_;                                                                              \
	})

static inline const struct xgw_gateway_status *gw(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < f->res.n_gateways; i++)
		if (!strcmp(f->res.gateways[i].name, name))
			return &f->res.gateways[i];
	return NULL;
}

static inline const struct xgw_route_status *route(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < f->res.n_routes; i++)
		if (!strcmp(f->res.routes[i].name, name))
			return &f->res.routes[i];
	return NULL;
}

static inline const char *str(struct fixture *f, struct xgw_snap_str s)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%.*s", (int)s.len, xgw_snap_str_ptr(&f->snap, s));
	return buf;
}

static inline const char *addr(const struct xgw_gateway_status *g)
{
	static char buf[XGW_IP_STRLEN];

	return g && g->family ? xgw_ip_format(g->family, g->addr, buf) : "(none)";
}

#endif /* XGW_SELFTESTS_RECONCILE_FIXTURE_H */
