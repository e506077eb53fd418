// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The reconciler, a pure function: YAML in, snapshot + statuses out. */
#include "reconcile-fixture.h"

TEST(quickstart)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE("backend-1")
			 ROUTE("backend", "default",
			       "  parentRefs: [{name: eg}]\n  hostnames: [app.yourdomain.com]\n"
			       "  rules:\n  - matches: [{path: {type: PathPrefix, value: /}}]\n"
			       "    backendRefs: [{name: backend-1, port: 80}]\n"),
		 NULL, 0))
		goto out;
	const struct xgw_gateway_status *g = gw(&f, "eg");

	if (!ASSERT_OK_PTR(g, "gateway status") || !ASSERT_EQ(f.res.n_classes, 1, "classes"))
		goto out;
	ASSERT_COND(&f.res.classes[0].conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&f.res.classes[0].conds, "SupportedVersion", "True", "SupportedVersion");
	ASSERT_STREQ(addr(g), "10.23.100.1", "first pool address");
	ASSERT_TRUE(g->addr_from_pool, "from pool");
	ASSERT_COND(&g->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&g->conds, "Programmed", "True", "Programmed");
	ASSERT_EQ(g->n_listeners, 1, "listeners");
	ASSERT_EQ(g->listeners[0].attached_routes, 1, "attachedRoutes");
	ASSERT_COND(&g->listeners[0].conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&g->listeners[0].conds, "Conflicted", "False", "NoConflicts");
	ASSERT_COND(&g->listeners[0].conds, "ResolvedRefs", "True", "ResolvedRefs");
	ASSERT_COND(&g->listeners[0].conds, "Programmed", "True", "Programmed");

	const struct xgw_route_status *r = route(&f, "backend");

	if (ASSERT_OK_PTR(r, "route") && ASSERT_EQ(r->n_parents, 1, "parents")) {
		ASSERT_COND(&r->parents[0].conds, "Accepted", "True", "Accepted");
		ASSERT_COND(&r->parents[0].conds, "ResolvedRefs", "True", "ResolvedRefs");
	}
	/* BPF: one TCP listener on the Gateway address, port 80 */
	if (ASSERT_EQ(f.res.n_listeners, 1, "bpf listeners")) {
		ASSERT_EQ(f.res.listeners[0].port, 80, "bpf port");
		ASSERT_EQ(f.res.listeners[0].proto, IPPROTO_TCP, "bpf proto");
		ASSERT_EQ(f.res.listeners[0].id, 0, "bpf id");
	}
	/* snapshot: listener -> vhost app.yourdomain.com -> / -> backend-1 */
	if (!ASSERT_EQ(f.snap.n_listeners, 1, "snap listeners"))
		goto out;
	ASSERT_EQ(f.snap.generation, 7, "generation");
	ASSERT_STREQ(str(&f, f.snap.listeners[0].name), "default/eg/http", "listener name");
	if (!ASSERT_EQ(f.snap.listeners[0].vhost_count, 1, "vhosts"))
		goto out;
	const struct xgw_snap_vhost *v = &f.snap.vhosts[f.snap.listeners[0].vhost_first];

	ASSERT_STREQ(str(&f, v->hostname), "app.yourdomain.com", "vhost");
	if (!ASSERT_EQ(v->match_count, 1, "matches"))
		goto out;
	const struct xgw_snap_match *m = &f.snap.matches[v->match_first];
	const struct xgw_snap_rule *rule = &f.snap.rules[m->rule];

	ASSERT_EQ(m->path_type, XGW_PATH_PREFIX, "prefix");
	ASSERT_STREQ(str(&f, m->path), "/", "path");
	ASSERT_STREQ(str(&f, rule->route), "default/backend", "rule route");
	if (!ASSERT_EQ(rule->backend_count, 1, "backends"))
		goto out;
	const struct xgw_snap_backend *be = &f.snap.backends[rule->backend_first];

	if (!ASSERT_NEQ(be->cluster, XGW_SNAP_NONE, "resolved"))
		goto out;
	const struct xgw_snap_cluster *cl = &f.snap.clusters[be->cluster];

	ASSERT_STREQ(str(&f, cl->name), "default/backend-1:80", "cluster");
	/* the endpoint with ready: false is left out; the port is the target port */
	if (ASSERT_EQ(cl->ep_count, 1, "ready endpoints")) {
		char ip[XGW_IP_STRLEN];
		const struct xgw_snap_endpoint *ep = &f.snap.endpoints[cl->ep_first];

		ASSERT_STREQ(xgw_ip_format(ep->family, ep->addr, ip), "10.23.1.10", "endpoint");
		ASSERT_EQ(ep->port, 8080, "endpoint port");
	}
out:
	done(&f);
}

TEST(pool_addresses_are_stable)
{
	struct xgw_assignment prev = { .ns = "default", .name = "b", .family = 4 };
	struct fixture f;

	xgw_ip_parse("10.23.100.1", &prev.family, prev.addr);
	/* b had .1 before: it keeps it, and a (sorted first) gets .2 */
	if (!run(&f, CLASS GATEWAY("a", HTTP_ALL("http", 80)) GATEWAY("b", HTTP_ALL("http", 80)),
		 &prev, 1))
		goto out;
	ASSERT_STREQ(addr(gw(&f, "b")), "10.23.100.1", "b keeps its address");
	ASSERT_STREQ(addr(gw(&f, "a")), "10.23.100.2", "a gets the next");
	ASSERT_EQ(f.res.n_listeners, 2, "two listeners");
out:
	done(&f);
}

/*
 * Hundreds of Gateways on one pool (addresses are found by hash, and each
 * pool's search for a free one goes on where the last stopped): against a
 * model of the rules, explicit addresses first, then the pool addresses
 * Gateways had before, then the lowest free one in store order; twice, the
 * second time with the first's assignments and some Gateways gone.
 */
static char *many_gateways(int n, int skip_every)
{
	size_t cap = (size_t)n * 256 + 1024, len;
	char *y = malloc(cap);

	if (!y)
		return NULL;
	len = (size_t)snprintf(y, cap, "%s", CLASS);
	for (int i = 0; i < n; i++) {
		if (skip_every && i % skip_every == 1 && i < 600)
			continue;
		len += (size_t)snprintf(
			y + len, cap - len,
			"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
			"metadata: {name: g%04d, namespace: default}\nspec:\n  gatewayClassName: "
			"xgw\n"
			"%s  listeners: [{name: http, protocol: HTTP, port: 80}]\n---\n",
			i,
			i % 37 == 5   ? "  addresses: [{value: 10.8.0.40}]\n" /* the same for all */
			: i % 50 == 7 ? "  addresses: [{value: 10.8.1.7}]\n"
				      : "");
	}
	return y;
}

/* Host number of <a> in 10.8.0.0/21. */
static uint32_t host21(const uint8_t a[16])
{
	return (uint32_t)(a[2] & 7) * 256 + a[3];
}

TEST(many_gateways_on_one_pool)
{
	enum {
		N = 600,
		MORE = 80
	};
	struct xgw_pool pool = { .family = 4, .addr = { 10, 8 }, .prefix = 21 };
	struct xgw_assignment *prev = calloc(N + MORE, sizeof(*prev)),
			      *next = calloc(N + MORE, sizeof(*next));
	size_t n_prev = 0, n_next = 0;

	for (int round = 0; round < 2 && prev && next; round++) {
		struct xgw_reconcile_opts o = { .pools = &pool,
						.n_pools = 1,
						.generation = 1,
						.previous = prev,
						.n_previous = n_prev };
		struct xgw_reconcile_result res = { 0 };
		struct xgw_store *st = xgw_store__new();
		/* the second time, one in nine gone and new ones (which fill the holes) */
		char *yaml = many_gateways(round ? N + MORE : N, round ? 9 : 0);
		bool used[2048] = { false }, ok = true;
		uint32_t want[N + MORE] = { 0 }, low = 1;

		if (!ASSERT_OK_PTR(st, "store") || !ASSERT_OK_PTR(yaml, "yaml") ||
		    !ASSERT_OK(xgw_store_load_yaml(st, "g.yaml", yaml, strlen(yaml)), "load") ||
		    !ASSERT_OK(xgw_reconcile(st, &o, &res), "reconcile") ||
		    !ASSERT_LE(res.n_gateways, (size_t)(N + MORE), "gateways"))
			ok = false;
		/* the model, in the reconciler's order: explicit addresses (the first
		 * to ask gets it), the pool addresses had before, then the lowest
		 * free one, each in store order */
		for (size_t i = 0; ok && i < res.n_gateways; i++) {
			int g = atoi(res.gateways[i].name + 1);
			uint32_t a = g % 37 == 5 ? 40 : g % 50 == 7 ? 256 + 7 : 0;

			if (a && !used[a])
				used[want[i] = a] = true;
		}
		for (size_t i = 0; ok && i < res.n_gateways; i++) {
			int g = atoi(res.gateways[i].name + 1);

			for (size_t p = 0; !(g % 37 == 5 || g % 50 == 7) && p < n_prev; p++)
				if (!strcmp(prev[p].name, res.gateways[i].name) &&
				    !used[host21(prev[p].addr)])
					used[want[i] = host21(prev[p].addr)] = true;
		}
		for (size_t i = 0; ok && i < res.n_gateways; i++) {
			int g = atoi(res.gateways[i].name + 1);

			if (want[i] || g % 37 == 5 || g % 50 == 7)
				continue;
			while (used[low])
				low++;
			used[want[i] = low] = true;
		}
		for (size_t i = 0; ok && i < res.n_gateways; i++) {
			const struct xgw_gateway_status *g = &res.gateways[i];

			if (!want[i]) { /* an explicit address another Gateway took first */
				ok = ASSERT_FALSE(g->family, g->name);
				continue;
			}
			ok = ASSERT_EQ(g->family, 4, g->name) &&
			     ASSERT_TRUE(g->addr[0] == 10 && g->addr[1] == 8, g->name) &&
			     ASSERT_EQ(host21(g->addr), want[i], g->name);
			if (g->addr_from_pool) {
				next[n_next] =
					(struct xgw_assignment){ .ns = "default", .family = 4 };
				next[n_next].name = strdup(g->name);
				memcpy(next[n_next++].addr, g->addr, 16);
			}
		}
		ASSERT_GT(n_next, (size_t)N / 2, "pool addresses");
		for (size_t p = 0; p < n_prev; p++)
			free((char *)prev[p].name);
		/* the next round keeps what this one assigned */
		struct xgw_assignment *t = prev;

		prev = next;
		n_prev = n_next;
		next = t;
		n_next = 0;
		xgw_reconcile_result__free(&res);
		xgw_store__free(st);
		free(yaml);
		if (!ok)
			break;
	}
	for (size_t p = 0; prev && p < n_prev; p++)
		free((char *)prev[p].name);
	free(prev);
	free(next);
}

TEST(pool_exhausted)
{
	struct fixture f;

	/* a /30 has two usable IPv4 addresses */
	if (!run(&f,
		 CLASS GATEWAY("a", HTTP_ALL("http", 80)) GATEWAY("b", HTTP_ALL("http", 80))
			 GATEWAY("c", HTTP_ALL("http", 80)),
		 NULL, 0))
		goto out;
	ASSERT_COND(&gw(&f, "c")->conds, "Programmed", "False", "AddressNotAssigned");
	ASSERT_COND(&gw(&f, "c")->listeners[0].conds, "Programmed", "False", "Invalid");
	ASSERT_EQ(f.res.n_listeners, 2, "only a and b are programmed");
out:
	done(&f);
}

TEST(spec_addresses)
{
	struct fixture f;

	if (!run(&f,
		 CLASS
		 "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
		 "metadata: {name: g, namespace: default}\nspec:\n  gatewayClassName: xgw\n"
		 "  addresses: [{type: IPAddress, value: 'fd00:23::5'}]\n"
		 "  listeners:\n" HTTP_ALL(
			 "http", 8080) "---\n"
				       "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
				       "metadata: {name: h, namespace: default}\nspec:\n  "
				       "gatewayClassName: xgw\n"
				       "  addresses: [{type: Hostname, value: gw.example.com}]\n"
				       "  listeners:\n" HTTP_ALL("http", 80),
		 NULL, 0))
		goto out;
	ASSERT_STREQ(addr(gw(&f, "g")), "fd00:23::5", "IPv6 from spec");
	ASSERT_FALSE(gw(&f, "g")->addr_from_pool, "not from pool");
	ASSERT_COND(&gw(&f, "h")->conds, "Accepted", "False", "UnsupportedAddress");
	ASSERT_EQ(f.res.n_listeners, 1, "only g is programmed");
	if (ASSERT_EQ(f.snap.n_listeners, 1, "snap listeners")) {
		ASSERT_EQ(f.snap.listeners[0].family, 6, "family");
		ASSERT_EQ(f.snap.listeners[0].port, 8080, "port");
	}
out:
	done(&f);
}

#define GATEWAY_SPEC(name, spec)                                                                   \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: " name          \
	", namespace: default}\nspec:\n  gatewayClassName: xgw\n" spec                             \
	"  listeners:\n" HTTP_ALL("http", 80) "---\n"

/* Addresses a Gateway asks for: outside the pools of their family (IPv4 here)
 * they are AddressNotUsable and nothing of that Gateway is served; an
 * IPAddress without a value asks for a pool address (GatewayAddressEmpty). */
TEST(spec_address_usability)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY_SPEC("out", "  addresses: [{value: 10.99.0.1}]\n")
			 GATEWAY_SPEC("empty", "  addresses: [{type: IPAddress}]\n")
				 GATEWAY_SPEC("in", "  addresses: [{value: 10.23.100.2}]\n")
					 GATEWAY_SPEC("params", "  infrastructure:\n"
								"    parametersRef: {group: x.io, "
								"kind: P, name: p}\n"),
		 NULL, 0))
		goto out;
	ASSERT_COND(&gw(&f, "out")->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&gw(&f, "out")->conds, "Programmed", "False", "AddressNotUsable");
	ASSERT_COND(&gw(&f, "out")->listeners[0].conds, "Programmed", "False", "Invalid");
	ASSERT_STREQ(addr(gw(&f, "empty")), "10.23.100.1", "empty value: a pool address");
	ASSERT_TRUE(gw(&f, "empty")->addr_from_pool, "from pool");
	ASSERT_COND(&gw(&f, "in")->conds, "Programmed", "True", "Programmed");
	ASSERT_COND(&gw(&f, "params")->conds, "Accepted", "False", "InvalidParameters");
	ASSERT_COND(&gw(&f, "params")->conds, "Programmed", "False", "Invalid");
	ASSERT_EQ(f.res.n_listeners, 2, "only empty and in are programmed");
out:
	done(&f);
}

TEST(not_our_class)
{
	struct fixture f;

	if (!run(&f,
		 "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n"
		 "metadata: {name: other}\nspec: {controllerName: example.com/other}\n---\n"
		 "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
		 "metadata: {name: g, namespace: default}\nspec:\n  gatewayClassName: other\n"
		 "  listeners:\n" HTTP_ALL("http", 80),
		 NULL, 0))
		goto out;
	ASSERT_FALSE(f.res.classes[0].ours, "class not ours");
	ASSERT_FALSE(gw(&f, "g")->ours, "gateway not ours");
	ASSERT_EQ(gw(&f, "g")->family, 0, "no address taken");
	ASSERT_EQ(f.res.n_listeners, 0, "nothing programmed");
out:
	done(&f);
}

TEST(listener_validation)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("g",
			       "  - {name: a, protocol: HTTP, port: 80}\n"
			       "  - {name: b, protocol: TCP, port: 80}\n"
			       "  - {name: c, protocol: HTTP, port: 81, hostname: x.example.com}\n"
			       "  - {name: d, protocol: HTTP, port: 81, hostname: x.example.com}\n"
			       "  - {name: e, protocol: HTTP, port: 81, hostname: y.example.com}\n"
			       "  - {name: f, protocol: SCTP, port: 82}\n"),
		 NULL, 0))
		goto out;
	const struct xgw_gateway_status *g = gw(&f, "g");

	ASSERT_COND(&g->listeners[0].conds, "Conflicted", "True", "ProtocolConflict");
	ASSERT_COND(&g->listeners[1].conds, "Conflicted", "True", "ProtocolConflict");
	ASSERT_COND(&g->listeners[1].conds, "Accepted", "False", "ProtocolConflict");
	ASSERT_COND(&g->listeners[2].conds, "Conflicted", "True", "HostnameConflict");
	ASSERT_COND(&g->listeners[3].conds, "Conflicted", "True", "HostnameConflict");
	ASSERT_COND(&g->listeners[4].conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&g->listeners[4].conds, "Programmed", "True", "Programmed");
	ASSERT_COND(&g->listeners[5].conds, "Accepted", "False", "UnsupportedProtocol");
	/* some listeners are invalid: Accepted=True with reason ListenersNotValid
	 * (GatewayReasonListenersNotValid; conformance GatewayListenerUnsupportedProtocol) */
	ASSERT_COND(&g->conds, "Accepted", "True", "ListenersNotValid");
	/* only e (port 81) is programmed */
	if (ASSERT_EQ(f.res.n_listeners, 1, "bpf listeners"))
		ASSERT_EQ(f.res.listeners[0].port, 81, "port 81");
out:
	done(&f);
}

TEST(route_attachment_failures)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("same", "  - {name: http, protocol: HTTP, port: 80}\n") GATEWAY(
			 "named", "  - {name: web, protocol: HTTP, port: 80, hostname: "
				  "a.example.com, allowedRoutes: {namespaces: {from: All}}}\n")
			 ROUTE("other-ns", "team",
			       "  parentRefs: [{name: same, namespace: "
			       "default}]\n  rules: [{}]\n")
				 ROUTE("no-section", "default",
				       "  parentRefs: [{name: named, sectionName: nope}]\n")
					 ROUTE("no-host", "default",
					       "  parentRefs: [{name: named}]\n"
					       "  hostnames: [b.example.com]\n")
						 ROUTE("wild", "default",
						       "  parentRefs: [{name: named}]\n"
						       "  hostnames: ['*.example.com']\n"),
		 NULL, 0))
		goto out;
	ASSERT_COND(&route(&f, "other-ns")->parents[0].conds, "Accepted", "False",
		    "NotAllowedByListeners");
	ASSERT_COND(&route(&f, "no-section")->parents[0].conds, "Accepted", "False",
		    "NoMatchingParent");
	ASSERT_COND(&route(&f, "no-host")->parents[0].conds, "Accepted", "False",
		    "NoMatchingListenerHostname");
	ASSERT_COND(&route(&f, "wild")->parents[0].conds, "Accepted", "True", "Accepted");
	ASSERT_EQ(gw(&f, "named")->listeners[0].attached_routes, 1, "only wild attached");
	ASSERT_EQ(gw(&f, "same")->listeners[0].attached_routes, 0, "nothing attached");
out:
	done(&f);
}

TEST(backend_refs)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE("svc") ROUTE(
			 "missing", "default",
			 "  parentRefs: [{name: eg}]\n  hostnames: [m.example.com]\n"
			 "  rules:\n  - backendRefs: [{name: svc, port: 80, weight: 3}, "
			 "{name: nosuch, port: 80}]\n") ROUTE("crossns", "default",
							      "  parentRefs: [{name: eg}]\n  "
							      "hostnames: [c.example.com]\n"
							      "  rules:\n  - backendRefs: [{name: "
							      "svc, namespace: other, port: 80}]\n")
			 ROUTE("badport", "default",
			       "  parentRefs: [{name: eg}]\n  hostnames: [p.example.com]\n"
			       "  rules:\n  - backendRefs: [{name: svc, port: 81}]\n")
				 ROUTE("kind", "default",
				       "  parentRefs: [{name: eg}]\n  hostnames: [k.example.com]\n"
				       "  rules:\n  - backendRefs: [{name: x, kind: Bucket, group: "
				       "example.com}]\n"),
		 NULL, 0))
		goto out;
	ASSERT_COND(&route(&f, "missing")->parents[0].conds, "ResolvedRefs", "False",
		    "BackendNotFound");
	ASSERT_COND(&route(&f, "missing")->parents[0].conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&route(&f, "crossns")->parents[0].conds, "ResolvedRefs", "False",
		    "RefNotPermitted");
	ASSERT_COND(&route(&f, "badport")->parents[0].conds, "ResolvedRefs", "False",
		    "BackendNotFound");
	ASSERT_COND(&route(&f, "kind")->parents[0].conds, "ResolvedRefs", "False", "InvalidKind");
	/* the unresolved backend keeps its share of the weight: 1 of 4 requests get 500 */
	bool found = false;

	for (uint32_t i = 0; i < f.snap.n_rules; i++) {
		const struct xgw_snap_rule *r = &f.snap.rules[i];

		if (strcmp(str(&f, r->route), "default/missing"))
			continue;
		found = true;
		ASSERT_EQ(r->backend_count, 2, "backends");
		ASSERT_EQ(r->total_weight, 4, "total weight");
		ASSERT_NEQ(f.snap.backends[r->backend_first].cluster, XGW_SNAP_NONE,
			   "svc resolved");
		ASSERT_EQ(f.snap.backends[r->backend_first + 1].cluster, XGW_SNAP_NONE,
			  "nosuch unresolved");
	}
	ASSERT_TRUE(found, "rule of route missing");
out:
	done(&f);
}

TEST(precedence_order)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE(
			 "svc") "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
				"metadata: {name: young, namespace: default, creationTimestamp: "
				"'2026-02-01T00:00:00Z'}\nspec:\n  parentRefs: [{name: eg}]\n"
				"  rules:\n  - matches: [{path: {type: PathPrefix, value: /a}}]\n"
				"    backendRefs: [{name: svc, port: 80}]\n---\n"
				"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
				"metadata: {name: old, namespace: default, creationTimestamp: "
				"'2026-01-01T00:00:00Z'}\nspec:\n  parentRefs: [{name: eg}]\n"
				"  rules:\n  - matches: [{path: {type: PathPrefix, value: /a}}, "
				"{path: {type: PathPrefix, value: /abc/d}}, {path: {type: Exact, "
				"value: /a}}]\n"
				"    backendRefs: [{name: svc, port: 80}]\n  - backendRefs: "
				"[{name: svc, "
				"port: 80}]\n",
		 NULL, 0))
		goto out;
	if (!ASSERT_EQ(f.snap.n_vhosts, 1, "one vhost (any host)"))
		goto out;
	const struct xgw_snap_vhost *v = &f.snap.vhosts[0];
	static const char *const want[][3] = {
		{ "E", "/a", "default/old" }, { "P", "/abc/d", "default/old" },
		{ "P", "/a", "default/old" }, { "P", "/a", "default/young" },
		{ "P", "/", "default/old" },
	};

	if (!ASSERT_EQ(v->match_count, 5, "matches"))
		goto out;
	for (uint32_t i = 0; i < 5; i++) {
		const struct xgw_snap_match *m = &f.snap.matches[v->match_first + i];
		char what[32];

		snprintf(what, sizeof(what), "match %u", i);
		ASSERT_EQ(m->path_type, want[i][0][0] == 'E' ? XGW_PATH_EXACT : XGW_PATH_PREFIX,
			  what);
		ASSERT_STREQ(str(&f, m->path), want[i][1], what);
		ASSERT_STREQ(str(&f, f.snap.rules[m->rule].route), want[i][2], what);
	}
out:
	done(&f);
}

TEST(listener_hostnames_and_vhost_order)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", "  - {name: exact, protocol: HTTP, port: 80, hostname: "
				     "foo.example.com}\n"
				     "  - {name: wild, protocol: HTTP, port: 80, hostname: "
				     "'*.example.com'}\n"
				     "  - {name: any, protocol: HTTP, port: 80}\n") SERVICE("svc")
			 ROUTE("r-wild", "default",
			       "  parentRefs: [{name: eg, sectionName: wild}]\n"
			       "  hostnames: [foo.example.com, bar.example.com]\n"
			       "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n")
				 ROUTE("r-any", "default",
				       "  parentRefs: [{name: eg, sectionName: any}]\n"
				       "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n"),
		 NULL, 0))
		goto out;
	if (!ASSERT_EQ(f.snap.n_listeners, 1, "one port listener"))
		goto out;
	ASSERT_STREQ(str(&f, f.snap.listeners[0].name), "default/eg:80", "merged name");
	/* foo.example.com belongs to listener "exact" (no route: 404 there), so
	 * r-wild serves only bar.example.com; *.example.com exists for its
	 * listener; r-any serves the rest. */
	static const char *const hosts[] = { "bar.example.com", "foo.example.com", "*.example.com",
					     "" };
	static const uint32_t counts[] = { 1, 0, 0, 1 };

	if (!ASSERT_EQ(f.snap.listeners[0].vhost_count, 4, "vhosts"))
		goto out;
	for (uint32_t i = 0; i < 4; i++) {
		const struct xgw_snap_vhost *v =
			&f.snap.vhosts[f.snap.listeners[0].vhost_first + i];

		ASSERT_STREQ(str(&f, v->hostname), hosts[i], "vhost order");
		ASSERT_EQ(v->match_count, counts[i], hosts[i]);
	}
	ASSERT_EQ(gw(&f, "eg")->listeners[1].attached_routes, 1, "wild attached");
out:
	done(&f);
}

/*
 * Hundreds of hostnames on one listener (the gathering indexes them past a
 * few): each is one vhost whatever its case, holding every route that names
 * it, exact names before wildcards. A third of the routes are on a second
 * listener too, which gathers the same names in another order after the first.
 */
TEST(many_hostnames_on_one_listener)
{
	enum {
		ROUTES = 300,
		HOSTS = 100,
		WILD = 7,
		NV = HOSTS + WILD
	};
	size_t cap = 256 * ROUTES + 4096, n;
	char *yaml = malloc(cap);
	uint32_t want[2][NV] = { { 0 } }, got[2][NV] = { { 0 } };
	struct fixture f;
	bool ok = true;

	if (!ASSERT_OK_PTR(yaml, "malloc"))
		return;
	n = (size_t)snprintf(yaml, cap, "%s",
			     CLASS GATEWAY("eg", HTTP_ALL("http", 80) HTTP_ALL("alt", 81))
				     SERVICE("svc"));
	for (int i = 0; i < ROUTES; i++) {
		bool both = i % 3 == 0;

		n += (size_t)snprintf(yaml + n, cap - n,
				      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
				      "metadata: {name: r%d, namespace: default}\nspec:\n"
				      "  parentRefs: [{name: eg%s}]\n"
				      "  hostnames: ['%s%d.example.com', '*.w%d.example.com']\n"
				      "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n---\n",
				      i, both ? "" : ", sectionName: http",
				      i < 2 * HOSTS ? "h" : "H", i % HOSTS, i % WILD);
		for (int l = 0; l < 1 + both; l++) {
			want[l][i % HOSTS]++;
			want[l][HOSTS + i % WILD]++;
		}
	}
	if (!run(&f, yaml, NULL, 0))
		goto out;
	if (!ASSERT_EQ(f.snap.n_listeners, 2, "two listeners"))
		goto out;
	for (uint32_t l = 0; l < 2; l++) {
		const struct xgw_snap_listener *sl = &f.snap.listeners[l];

		if (!ASSERT_EQ(sl->vhost_count, NV, "a vhost per name"))
			goto out;
		for (uint32_t i = 0; i < NV; i++) {
			const struct xgw_snap_vhost *v = &f.snap.vhosts[sl->vhost_first + i];
			const char *h = str(&f, v->hostname);
			int k;

			if (sscanf(h, "h%d.example.com", &k) == 1 ||
			    sscanf(h, "H%d.example.com", &k) == 1) {
				/* exact names first */
				ok &= ASSERT_TRUE(k >= 0 && k < HOSTS && i < HOSTS, h);
			} else if (sscanf(h, "*.w%d.example.com", &k) == 1) {
				ok &= ASSERT_TRUE(k >= 0 && k < WILD && i >= HOSTS, h);
				k += HOSTS;
			} else {
				ok = ASSERT_TRUE(false, h);
			}
			if (!ok)
				goto out;
			got[l][k]++;
			ok &= ASSERT_EQ(v->match_count, want[l][k], h);
		}
		for (int k = 0; k < NV; k++)
			ok &= ASSERT_EQ(got[l][k], 1, "each name once");
	}
	ASSERT_EQ(gw(&f, "eg")->listeners[0].attached_routes, ROUTES, "attached");
	ASSERT_EQ(gw(&f, "eg")->listeners[1].attached_routes, ROUTES / 3, "attached");
out:
	done(&f);
	free(yaml);
}

TEST(unsupported_rules_are_reported_not_served)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE("svc")
			 ROUTE("hdr", "default",
			       "  parentRefs: [{name: eg}]\n  rules:\n"
			       "  - filters: [{type: ExtensionRef, extensionRef: {group: x.io, "
			       "kind: K, name: n}}]\n"
			       "    backendRefs: [{name: svc, port: 80}]\n"
			       "  - matches: [{path: {type: PathPrefix, value: /ok}}]\n"
			       "    backendRefs: [{name: svc, port: 80}]\n"),
		 NULL, 0))
		goto out;
	ASSERT_COND(&route(&f, "hdr")->parents[0].conds, "PartiallyInvalid", "True",
		    "UnsupportedValue");
	ASSERT_GE(f.res.n_problems, 1, "problem reported");
	/* the ExtensionRef rule would be served without its filter: not served */
	if (ASSERT_EQ(f.snap.n_vhosts, 1, "vhosts") &&
	    ASSERT_EQ(f.snap.vhosts[0].match_count, 1, "only /ok"))
		ASSERT_STREQ(str(&f, f.snap.matches[f.snap.vhosts[0].match_first].path), "/ok",
			     "path");
out:
	done(&f);
}

TEST(cors_and_retry_emitted)
{
	const struct xgw_snap_filter *sf;
	const struct xgw_snap_rule *ru;
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE("svc") ROUTE(
			 "c", "default",
			 "  parentRefs: [{name: eg}]\n  rules:\n"
			 "  - filters:\n"
			 "    - type: CORS\n"
			 "      cors: {allowOrigins: ['https://a.test', 'https://*.b.test'],\n"
			 "             allowMethods: [GET, PUT], allowHeaders: [x-h],\n"
			 "             exposeHeaders: [x-e], allowCredentials: true, maxAge: 60}\n"
			 "    retry: {codes: [500, 503], attempts: 2, backoff: 150ms}\n"
			 "    backendRefs: [{name: svc, port: 80}]\n"),
		 NULL, 0))
		goto out;
	ASSERT_EQ(f.res.n_problems, 0, "no problem");
	if (!ASSERT_EQ(f.snap.n_rules, 1, "rules") || !ASSERT_EQ(f.snap.n_filters, 1, "filters"))
		goto out;
	ru = &f.snap.rules[0];
	ASSERT_EQ(ru->retry_attempts, 2, "attempts");
	ASSERT_EQ(ru->retry_backoff_ms, 150, "backoff");
	ASSERT_TRUE(xgw_snap_retry_code(ru, 500) && xgw_snap_retry_code(ru, 503), "codes");
	ASSERT_FALSE(xgw_snap_retry_code(ru, 502) || xgw_snap_retry_code(ru, 200), "others");
	sf = &f.snap.filters[ru->filter_first];
	ASSERT_EQ(sf->type, XGW_FILTER_CORS, "CORS");
	ASSERT_EQ(sf->num, 60, "maxAge");
	ASSERT_EQ(sf->flags, XGW_CORS_CREDENTIALS, "credentials");
	if (ASSERT_EQ(sf->op_count, 6, "items")) {
		static const uint8_t ops[] = { XGW_HDROP_CORS_ORIGIN, XGW_HDROP_CORS_ORIGIN,
					       XGW_HDROP_CORS_METHOD, XGW_HDROP_CORS_METHOD,
					       XGW_HDROP_CORS_HEADER, XGW_HDROP_CORS_EXPOSE };
		static const char *const names[] = {
			"https://a.test", "https://*.b.test", "GET", "PUT", "x-h", "x-e"
		};

		for (int i = 0; i < 6; i++) {
			ASSERT_EQ(f.snap.hdrops[sf->op_first + i].op, ops[i], names[i]);
			ASSERT_STREQ(str(&f, f.snap.hdrops[sf->op_first + i].name), names[i],
				     names[i]);
		}
	}
out:
	done(&f);
}

TEST(session_persistence_and_least_request)
{
	const struct xgw_snap_rule *ru;
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE(
			 "svc") "apiVersion: v1\nkind: Service\nmetadata: {name: lr, namespace: "
				"default, "
				"annotations: {xgw.io/load-balancer: least-request}}\n"
				"spec: {ports: [{port: 80}]}\n---\n"
				"apiVersion: v1\nkind: Service\nmetadata: {name: odd, namespace: "
				"default, "
				"annotations: {xgw.io/load-balancer: random}}\n"
				"spec: {ports: [{port: 80}]}\n---\n" ROUTE(
					"s", "default",
					"  parentRefs: [{name: eg}]\n  rules:\n"
					"  - matches: [{path: {type: PathPrefix, value: /shop}}]\n"
					"    sessionPersistence: {absoluteTimeout: 1h, "
					"idleTimeout: 1500ms,\n"
					"      cookieConfig: {lifetimeType: Permanent}}\n"
					"    backendRefs: [{name: svc, port: 80}, {name: lr, port: "
					"80}]\n"
					"  - matches: [{path: {type: Exact, value: /a}}, {path: "
					"{value: /b}}]\n"
					"    sessionPersistence: {type: Header, sessionName: "
					"X-Sess}\n"
					"    backendRefs: [{name: odd, port: 80}]\n"),
		 NULL, 0))
		goto out;
	if (!ASSERT_EQ(f.snap.n_rules, 2, "rules"))
		goto out;
	ru = &f.snap.rules[0];
	ASSERT_EQ(ru->sp_type, XGW_SP_COOKIE, "cookie by default");
	ASSERT_EQ(ru->sp_flags, XGW_SP_PERMANENT, "permanent");
	ASSERT_STREQ(str(&f, ru->sp_name), XGW_SESSION_NAME_DEFAULT, "default name");
	ASSERT_STREQ(str(&f, ru->sp_path), "/shop", "the PathPrefix is the cookie Path");
	ASSERT_EQ(ru->sp_absolute_s, 3600, "absolute");
	ASSERT_EQ(ru->sp_idle_s, 2, "idle rounded up to whole seconds");
	ASSERT_EQ(f.snap.clusters[f.snap.backends[ru->backend_first].cluster].lb,
		  XGW_LB_ROUND_ROBIN, "round robin by default");
	ASSERT_EQ(f.snap.clusters[f.snap.backends[ru->backend_first + 1].cluster].lb,
		  XGW_LB_LEAST_REQUEST, "annotated least-request");
	ru = &f.snap.rules[1];
	ASSERT_EQ(ru->sp_type, XGW_SP_HEADER, "header");
	ASSERT_STREQ(str(&f, ru->sp_name), "X-Sess", "name");
	ASSERT_STREQ(str(&f, ru->sp_path), "/", "several matches: Path /");
	ASSERT_EQ(ru->sp_absolute_s + ru->sp_idle_s, 0, "no limits");
	ASSERT_EQ(f.snap.clusters[f.snap.backends[ru->backend_first].cluster].lb,
		  XGW_LB_ROUND_ROBIN, "an unknown value falls back to round robin");
	if (ASSERT_EQ(f.res.n_problems, 1, "the unknown value is reported"))
		ASSERT_TRUE(strstr(f.res.problems[0], "Service default/odd: annotation "
						      "xgw.io/load-balancer: \"random\"") != NULL,
			    "names the Service, the annotation and the value");
out:
	done(&f);
}

TEST(matches_filters_and_timeouts)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE("svc") SERVICE("mirror") ROUTE(
			 "r", "default",
			 "  parentRefs: [{name: eg}]\n  rules:\n"
			 "  - matches:\n"
			 "    - path: {type: RegularExpression, value: '/v[0-9]+/.*'}\n"
			 "      method: POST\n"
			 "      headers: [{name: X-Version, value: '2'}, {type: RegularExpression, "
			 "name: X-Env, value: 'prod.*'}]\n"
			 "      queryParams: [{name: Q, value: a}]\n"
			 "    filters:\n"
			 "    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: "
			 "X-S, "
			 "value: s}], remove: [X-R]}}\n"
			 "    - {type: RequestMirror, requestMirror: {backendRef: {name: mirror, "
			 "port: "
			 "80}, percent: 25}}\n"
			 "    - {type: RequestMirror, requestMirror: {backendRef: {name: nosuch, "
			 "port: "
			 "80}}}\n"
			 "    timeouts: {request: 10s, backendRequest: 2s}\n"
			 "    backendRefs:\n"
			 "    - name: svc\n      port: 80\n"
			 "      filters: [{type: URLRewrite, urlRewrite: {hostname: up.example, "
			 "path: "
			 "{type: ReplacePrefixMatch, replacePrefixMatch: /v2}}}]\n"
			 "  - matches: [{path: {type: PathPrefix, value: /old}}]\n"
			 "    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, "
			 "statusCode: 301}}]\n"),
		 NULL, 0))
		goto out;
	/* the mirror to a missing Service is reported, and only that copy is dropped */
	ASSERT_COND(&route(&f, "r")->parents[0].conds, "ResolvedRefs", "False", "BackendNotFound");
	if (!ASSERT_EQ(f.snap.n_vhosts, 1, "vhosts") ||
	    !ASSERT_EQ(f.snap.vhosts[0].match_count, 2, "matches"))
		goto out;
	/* regex before prefix */
	const struct xgw_snap_match *m = &f.snap.matches[f.snap.vhosts[0].match_first];

	ASSERT_EQ(m[0].path_type, XGW_PATH_REGEX, "regex first");
	ASSERT_STREQ(str(&f, m[0].method), "POST", "method");
	if (ASSERT_EQ(m[0].kv_count, 3, "kvs")) {
		const struct xgw_snap_kv *kv = &f.snap.kvs[m[0].kv_first];

		ASSERT_EQ(kv[0].kind, XGW_KV_HEADER, "header");
		ASSERT_STREQ(str(&f, kv[0].name), "x-version", "header name lower-cased");
		ASSERT_EQ(kv[1].type, XGW_KV_REGEX, "regex header");
		ASSERT_EQ(kv[2].kind, XGW_KV_QUERY, "query");
		ASSERT_STREQ(str(&f, kv[2].name), "Q", "query name kept as written");
	}
	const struct xgw_snap_rule *r0 = &f.snap.rules[m[0].rule];

	ASSERT_EQ(r0->timeout_request_ms, 10000, "request timeout");
	ASSERT_EQ(r0->timeout_backend_ms, 2000, "backend timeout");
	if (ASSERT_EQ(r0->filter_count, 2, "header filter + one mirror")) {
		const struct xgw_snap_filter *hf = &f.snap.filters[r0->filter_first];

		ASSERT_EQ(hf[0].type, XGW_FILTER_REQUEST_HEADER, "header filter");
		if (ASSERT_EQ(hf[0].op_count, 2, "set + remove")) {
			ASSERT_EQ(f.snap.hdrops[hf[0].op_first].op, XGW_HDROP_SET, "set");
			ASSERT_EQ(f.snap.hdrops[hf[0].op_first + 1].op, XGW_HDROP_REMOVE, "remove");
		}
		ASSERT_EQ(hf[1].type, XGW_FILTER_MIRROR, "mirror");
		ASSERT_EQ(hf[1].num, 25, "percent");
		ASSERT_EQ(hf[1].den, 100, "of 100");
		ASSERT_STREQ(str(&f, f.snap.clusters[hf[1].cluster].name), "default/mirror:80",
			     "mirror cluster");
	}
	const struct xgw_snap_backend *be = &f.snap.backends[r0->backend_first];

	if (ASSERT_EQ(be->filter_count, 1, "backend filter")) {
		const struct xgw_snap_filter *rw = &f.snap.filters[be->filter_first];

		ASSERT_EQ(rw->type, XGW_FILTER_URL_REWRITE, "rewrite");
		ASSERT_EQ(rw->path_mod, XGW_PATHMOD_PREFIX, "prefix");
		ASSERT_STREQ(str(&f, rw->hostname), "up.example", "host");
		ASSERT_STREQ(str(&f, rw->path), "/v2", "path");
	}
	const struct xgw_snap_rule *r1 = &f.snap.rules[m[1].rule];

	ASSERT_EQ(r1->backend_count, 0, "redirect rule has no backend");
	if (ASSERT_EQ(r1->filter_count, 1, "redirect")) {
		const struct xgw_snap_filter *rd = &f.snap.filters[r1->filter_first];

		ASSERT_EQ(rd->type, XGW_FILTER_REDIRECT, "type");
		ASSERT_EQ(rd->status, 301, "status");
		ASSERT_STREQ(str(&f, rd->scheme), "https", "scheme");
		ASSERT_EQ(rd->hostname.len, 0, "hostname not set");
	}
out:
	done(&f);
}

TEST(precedence_method_headers_query)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE("svc") ROUTE(
			 "r", "default",
			 "  parentRefs: [{name: eg}]\n  rules:\n"
			 "  - matches: [{path: {value: /a}, queryParams: [{name: q, value: "
			 "'1'}]}]\n"
			 "  - matches: [{path: {value: /a}, headers: [{name: h, value: '1'}]}]\n"
			 "  - matches: [{path: {value: /a}, headers: [{name: h, value: '1'}, "
			 "{name: "
			 "i, value: '2'}]}]\n"
			 "  - matches: [{path: {value: /a}, method: GET}]\n"
			 "  - matches: [{path: {value: /a}}]\n"
			 "  - matches: [{path: {value: /ab}}]\n"),
		 NULL, 0))
		goto out;
	static const uint32_t want_rule_index[] = { 5, 3, 2, 1, 0, 4 };

	if (!ASSERT_EQ(f.snap.vhosts[0].match_count, 6, "matches"))
		goto out;
	for (uint32_t i = 0; i < 6; i++) {
		const struct xgw_snap_match *m = &f.snap.matches[f.snap.vhosts[0].match_first + i];
		char what[32];

		snprintf(what, sizeof(what), "position %u", i);
		ASSERT_EQ(f.snap.rules[m->rule].rule_index, want_rule_index[i], what);
	}
out:
	done(&f);
}

TEST(reference_grants)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY(
			 "eg",
			 HTTP_ALL("http",
				  80)) "apiVersion: v1\nkind: Service\nmetadata: {name: svc, "
				       "namespace: other}\n"
				       "spec: {ports: [{name: http, port: 80}]}\n---\n"
				       "apiVersion: v1\nkind: Service\nmetadata: {name: private, "
				       "namespace: other}\n"
				       "spec: {ports: [{name: http, port: 80}]}\n---\n"
				       "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: "
				       "ReferenceGrant\n"
				       "metadata: {name: g, namespace: other}\nspec:\n"
				       "  from: [{group: gateway.networking.k8s.io, kind: "
				       "HTTPRoute, namespace: default}]\n"
				       "  to: [{group: '', kind: Service, name: svc}]\n---\n"
				       "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: "
				       "ReferenceGrant\n"
				       "metadata: {name: wrong-ns, namespace: default}\nspec:\n"
				       "  from: [{group: gateway.networking.k8s.io, kind: "
				       "HTTPRoute, namespace: default}]\n"
				       "  to: [{group: '', kind: Service}]\n---\n" ROUTE(
					       "granted", "default",
					       "  parentRefs: [{name: eg}]\n  hostnames: "
					       "[a.example.com]\n"
					       "  rules: [{backendRefs: [{name: svc, namespace: "
					       "other, port: 80}]}]\n")
					       ROUTE("not-granted", "default",
						     "  parentRefs: [{name: eg}]\n  hostnames: "
						     "[b.example.com]\n"
						     "  rules: [{backendRefs: [{name: private, "
						     "namespace: other, port: 80}]}]\n")
						       ROUTE("other-team", "team",
							     "  parentRefs: [{name: eg, namespace: "
							     "default}]\n  hostnames: "
							     "[c.example.com]\n"
							     "  rules: [{backendRefs: [{name: svc, "
							     "namespace: other, port: 80}]}]\n"),
		 NULL, 0))
		goto out;
	ASSERT_COND(&route(&f, "granted")->parents[0].conds, "ResolvedRefs", "True",
		    "ResolvedRefs");
	/* the grant names svc only; a grant in the route's own namespace counts for nothing */
	ASSERT_COND(&route(&f, "not-granted")->parents[0].conds, "ResolvedRefs", "False",
		    "RefNotPermitted");
	/* the grant is for HTTPRoutes from default, not from team */
	ASSERT_COND(&route(&f, "other-team")->parents[0].conds, "ResolvedRefs", "False",
		    "RefNotPermitted");
	bool resolved = false;

	for (uint32_t i = 0; i < f.snap.n_clusters; i++)
		resolved |= !strcmp(str(&f, f.snap.clusters[i].name), "other/svc:80");
	ASSERT_TRUE(resolved, "granted backend becomes a cluster");
out:
	done(&f);
}

TEST(invalid_regex_refuses_only_its_rule)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE("svc") ROUTE(
			 "re", "default",
			 "  parentRefs: [{name: eg}]\n  rules:\n"
			 "  - matches: [{path: {type: RegularExpression, value: '/v(1|2'}}]\n"
			 "    backendRefs: [{name: svc, port: 80}]\n"
			 "  - matches: [{headers: [{type: RegularExpression, name: x, value: "
			 "'[a-'}]}]\n"
			 "    backendRefs: [{name: svc, port: 80}]\n"
			 "  - matches: [{path: {type: RegularExpression, value: '/ok/[0-9]+'}}]\n"
			 "    backendRefs: [{name: svc, port: 80}]\n"),
		 NULL, 0))
		goto out;
	const struct xgw_condition *c =
		cond(&route(&f, "re")->parents[0].conds, "PartiallyInvalid");

	if (ASSERT_OK_PTR(c, "PartiallyInvalid"))
		ASSERT_TRUE(strstr(c->message, "path regular expression \"/v(1|2\" is invalid"),
			    c->message);
	if (ASSERT_EQ(f.snap.n_vhosts, 1, "vhosts") &&
	    ASSERT_EQ(f.snap.vhosts[0].match_count, 1, "only the valid rule"))
		ASSERT_STREQ(str(&f, f.snap.matches[f.snap.vhosts[0].match_first].path),
			     "/ok/[0-9]+", "valid regex kept");
out:
	done(&f);
}

TEST(hostname_intersection)
{
	static const char *const t[][3] = {
		/* listener, route, effective ("-" = none) */
		{ NULL, NULL, "" },
		{ NULL, "a.example.com", "a.example.com" },
		{ "a.example.com", NULL, "a.example.com" },
		{ "a.example.com", "A.example.com", "A.example.com" },
		{ "a.example.com", "b.example.com", "-" },
		{ "*.example.com", "a.example.com", "a.example.com" },
		{ "*.example.com", "a.b.example.com", "a.b.example.com" },
		{ "*.example.com", "example.com", "-" },
		{ "a.example.com", "*.example.com", "a.example.com" },
		{ "*.example.com", "*.a.example.com", "*.a.example.com" },
		{ "*.a.example.com", "*.example.com", "*.a.example.com" },
		{ "*.example.com", "*.example.org", "-" },
		{ "*.example.com", "*.example.com", "*.example.com" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *got = xgw_hostname_intersect(t[i][0], t[i][1]);
		char what[128];

		snprintf(what, sizeof(what), "%s ^ %s", t[i][0] ? t[i][0] : "(any)",
			 t[i][1] ? t[i][1] : "(any)");
		ASSERT_STREQ(got ? got : "-", t[i][2], what);
	}
}

#define CLASS_PARAMS(name, ref)                                                                    \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: " name     \
	"}\nspec:\n  controllerName: xgw.io/gateway-controller\n  parametersRef: " ref "\n---\n"
#define GATEWAY_OF(name, class, spec)                                                              \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: " name          \
	", namespace: default}\nspec:\n  gatewayClassName: " class "\n" spec                       \
								   "  listeners:\n" HTTP_ALL(      \
									   "http", 80) "---\n"
#define XGW_CONFIG(name, spec)                                                                     \
	"apiVersion: xgw.io/v1alpha1\nkind: XgwConfig\nmetadata: {name: " name "}\nspec: " spec    \
	"\n---\n"

static bool has_problem(struct fixture *f, const char *needle)
{
	for (size_t i = 0; i < f->res.n_problems; i++)
		if (strstr(f->res.problems[i], needle))
			return true;
	return false;
}

static const struct xgw_class_status *klass(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < f->res.n_classes; i++)
		if (!strcmp(f->res.classes[i].name, name))
			return &f->res.classes[i];
	return NULL;
}

/*
 * GatewayClass spec.parametersRef to an XgwConfig: its address pools replace
 * the agent's for the class's Gateways (which addresses they get, and which
 * spec.addresses they may claim); a reference that is not to an XgwConfig, or
 * to one that does not exist, makes the class InvalidParameters and its
 * Gateways Pending, and nothing of them is served.
 */
TEST(class_parameters)
{
	struct fixture f;
	const struct xgw_condition *c;

	if (!run(&f,
		 CLASS_PARAMS("edge", "{group: xgw.io, kind: XgwConfig, name: edge-pools}")
			 XGW_CONFIG("edge-pools",
				    "{addressPools: [10.23.200.0/29, 'fd00:23::/126'], workers: 3}")
				 GATEWAY_OF("a", "edge", "") GATEWAY_OF(
					 "b", "edge", "  addresses: [{value: 10.23.100.1}]\n")
					 GATEWAY_OF("c", "xgw", "") CLASS,
		 NULL, 0))
		goto out;
	ASSERT_COND(&klass(&f, "edge")->conds, "Accepted", "True", "Accepted");
	c = cond(&klass(&f, "edge")->conds, "Accepted");
	ASSERT_TRUE(c && strstr(c->message, "XgwConfig edge-pools"), "the message names it");
	ASSERT_STREQ(addr(gw(&f, "a")), "10.23.200.1", "from the class's pool");
	ASSERT_COND(&gw(&f, "b")->conds, "Programmed", "False", "AddressNotUsable");
	ASSERT_STREQ(addr(gw(&f, "c")), "10.23.100.1", "another class: the agent's pool");
	ASSERT_EQ(f.res.n_listeners, 2, "a and c are programmed");
	done(&f);

	/* references that do not resolve */
	static const struct {
		const char *ref, *msg;
	} bad[] = {
		{ "{group: xgw.io, kind: XgwConfig, name: nope}", "XgwConfig nope not found" },
		{ "{kind: ConfigMap, name: edge-pools}", "kind ConfigMap of group \"\"" },
		{ "{group: xgw.io, kind: XgwConfig, name: edge-pools, namespace: default}",
		  "cluster-scoped" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char yaml[2048];

		snprintf(yaml, sizeof(yaml), "%s%s%s",
			 "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n"
			 "metadata: {name: edge}\nspec:\n  controllerName: "
			 "xgw.io/gateway-controller\n"
			 "  parametersRef: ",
			 bad[i].ref,
			 "\n---\n" XGW_CONFIG("edge-pools", "{addressPools: [10.23.200.0/29]}")
				 GATEWAY_OF("a", "edge", ""));
		if (!run(&f, yaml, NULL, 0))
			goto out;
		ASSERT_COND(&klass(&f, "edge")->conds, "Accepted", "False", "InvalidParameters");
		c = cond(&klass(&f, "edge")->conds, "Accepted");
		ASSERT_TRUE(c && strstr(c->message, bad[i].msg), bad[i].msg);
		ASSERT_COND(&gw(&f, "a")->conds, "Accepted", "False", "Pending");
		ASSERT_COND(&gw(&f, "a")->conds, "Programmed", "False", "Invalid");
		ASSERT_EQ(f.res.n_listeners, 0, "nothing of the class is served");
		ASSERT_TRUE(has_problem(&f, "GatewayClass edge: parametersRef"), "a log line");
		done(&f);
	}
	return;
out:
	done(&f);
}

#define XGW_REF(name) "{group: xgw.io, kind: XgwConfig, name: " name "}"
#define CLASS_NOT_OURS                                                                             \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: other}\n"  \
	"spec:\n  controllerName: example.com/other\n  parametersRef: " XGW_REF("nine") "\n---\n"

/* spec.workers: what the agent runs (the largest of the classes of ours'), and a
 * log line when --workers, which wins, differs. Bad values do not decode. */
TEST(class_parameters_workers)
{
	static const char yaml[] = CLASS_PARAMS("a", XGW_REF("four"))
		CLASS_PARAMS("b", XGW_REF("six")) CLASS_NOT_OURS XGW_CONFIG("four", "{workers: 4}")
			XGW_CONFIG("six", "{workers: 6}") XGW_CONFIG("nine", "{workers: 9}");
	struct xgw_reconcile_opts o = { .generation = 1, .workers = 4 };
	struct xgw_reconcile_result res = { 0 };
	struct xgw_store *st = xgw_store__new();
	bool found = false;

	if (!ASSERT_OK_PTR(st, "store") ||
	    !ASSERT_OK(xgw_store_load_yaml(st, "w.yaml", yaml, sizeof(yaml) - 1), "load") ||
	    !ASSERT_EQ(st->n_errors, 0, "decode errors"))
		goto out;
	bool bad_ref = false;

	ASSERT_EQ(xgw_reconcile_workers(st, &bad_ref), 6, "the largest of ours");
	ASSERT_FALSE(bad_ref, "every parametersRef resolves");
	if (!ASSERT_OK(xgw_reconcile(st, &o, &res), "reconcile"))
		goto out;
	for (size_t i = 0; i < res.n_problems; i++)
		found |= !!strstr(res.problems[i],
				  "XgwConfig six: workers 6, but the agent was started with "
				  "--workers 4, which wins");
	ASSERT_TRUE(found, "--workers differs: a log line");
	for (size_t i = 0; i < res.n_problems; i++)
		ASSERT_FALSE(strstr(res.problems[i], "XgwConfig four"), "four is what runs");
	xgw_store__free(st);

	/* a class of ours whose XgwConfig is missing: the count is not known */
	static const char missing[] = CLASS_PARAMS("a", XGW_REF("four"))
		CLASS_PARAMS("m", XGW_REF("gone")) XGW_CONFIG("four", "{workers: 4}");

	bad_ref = false;
	st = xgw_store__new();
	if (ASSERT_OK_PTR(st, "store") &&
	    ASSERT_OK(xgw_store_load_yaml(st, "m.yaml", missing, sizeof(missing) - 1), "load")) {
		ASSERT_EQ(xgw_reconcile_workers(st, &bad_ref), 4, "the one that resolves");
		ASSERT_TRUE(bad_ref, "a parametersRef does not resolve: said");
	}
	xgw_store__free(st);

	static const char *const bad[] = {
		XGW_CONFIG("x", "{workers: 0}"),
		XGW_CONFIG("x", "{workers: 65}"),
		XGW_CONFIG("x", "{addressPools: [10.0.0.0/33]}"),
		XGW_CONFIG("x", "{addressPools: [gw.example.com]}"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = xgw_store__new();
		if (!ASSERT_OK_PTR(st, "store") ||
		    !ASSERT_OK(xgw_store_load_yaml(st, "x.yaml", bad[i], strlen(bad[i])), "load"))
			goto out;
		ASSERT_EQ(st->n_errors, 1, bad[i]);
		ASSERT_EQ(st->n_class_configs, 0, "not taken");
		xgw_store__free(st);
	}
	st = NULL;
out:
	xgw_reconcile_result__free(&res);
	xgw_store__free(st);
}

TEST_MAIN()
