// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The reconciler and GRPCRoute: the decoder's checks (the CRD's rules), the
 * translation of matches into snapshot paths and header conditions, their
 * precedence, h2c clusters, filters, attachment and statuses, and the rule
 * that an HTTPRoute and a GRPCRoute do not share a listener hostname.
 */
#include <regex.h>

#include "reconcile-fixture.h"
#include "xgw/regex.h"

#define GRPC_ROUTE(name, ns, rest)                                                                 \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: " name        \
	", namespace: " ns "}\nspec:\n" rest "---\n"

#define SVC "gateway_api_conformance.echo_basic.grpcecho.GrpcEcho"

/* The matches of the only vhost of the only listener, or NULL. */
static const struct xgw_snap_vhost *only_vhost(struct fixture *f)
{
	if (!ASSERT_EQ(f->snap.n_listeners, 1, "snap listeners") ||
	    !ASSERT_EQ(f->snap.listeners[0].vhost_count, 1, "vhosts"))
		return NULL;
	return &f->snap.vhosts[f->snap.listeners[0].vhost_first];
}

/* Does the worker's compilation of <expr> take the whole of <path>? */
static bool regex_takes(const char *expr, const char *path)
{
	regex_t re;
	bool hit;

	if (xgw_regex_compile(&re, expr, strlen(expr), NULL, 0))
		return false;
	hit = !regexec(&re, path, 0, NULL, 0);
	regfree(&re);
	return hit;
}

static const struct xgw_snap_cluster *rule_cluster(struct fixture *f, uint32_t rule)
{
	const struct xgw_snap_rule *r = &f->snap.rules[rule];
	uint32_t cl;

	if (!ASSERT_TRUE(r->backend_count >= 1, "rule has a backend"))
		return NULL;
	cl = f->snap.backends[r->backend_first].cluster;
	if (!ASSERT_NEQ(cl, XGW_SNAP_NONE, "backend resolved"))
		return NULL;
	return &f->snap.clusters[cl];
}

TEST(translation_and_precedence)
{
	struct fixture f;

	/* rules listed from the least to the most specific: the snapshot orders them */
	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE("b") GRPC_ROUTE(
			 "g", "default",
			 "  parentRefs: [{name: eg}]\n  rules:\n"
			 "  - backendRefs: [{name: b, port: 80}]\n"
			 "  - matches: [{method: {method: EchoTwo}}]\n"
			 "    backendRefs: [{name: b, port: 80}]\n"
			 "  - matches: [{method: {service: " SVC "}}]\n"
			 "    backendRefs: [{name: b, port: 80}]\n"
			 "  - matches:\n"
			 "    - method: {type: RegularExpression, service: 'grpc\\.v[0-9]+',"
			 " method: 'Get.*'}\n"
			 "    backendRefs: [{name: b, port: 80}]\n"
			 "  - matches:\n"
			 "    - method: {service: " SVC ", method: Echo}\n"
			 "      headers: [{name: Version, value: two},\n"
			 "                {name: Color, type: RegularExpression, "
			 "value: 'bl.*'}]\n"
			 "    - method: {service: " SVC ", method: Echo}\n"
			 "    backendRefs: [{name: b, port: 80}]\n"),
		 NULL, 0))
		goto out;
	const struct xgw_route_status *r = route(&f, "g");

	if (!ASSERT_OK_PTR(r, "route") || !ASSERT_EQ(r->n_parents, 1, "parents"))
		goto out;
	ASSERT_STREQ(r->kind, "GRPCRoute", "status kind");
	ASSERT_COND(&r->parents[0].conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&r->parents[0].conds, "ResolvedRefs", "True", "ResolvedRefs");

	const struct xgw_snap_vhost *v = only_vhost(&f);

	if (!v || !ASSERT_EQ(v->match_count, 6, "matches"))
		goto out;
	const struct xgw_snap_match *m = &f.snap.matches[v->match_first];
	/* the longest service first; on a tie the longer method, then headers */
	static const struct {
		uint8_t type;
		const char *path;
		uint32_t kvs;
		uint32_t rule;
	} want[] = {
		{ XGW_PATH_EXACT, "/" SVC "/Echo", 2, 4 },
		{ XGW_PATH_EXACT, "/" SVC "/Echo", 0, 4 },
		{ XGW_PATH_REGEX,
		  "/gateway_api_conformance\\.echo_basic\\.grpcecho\\.GrpcEcho/[^/]+", 0, 2 },
		{ XGW_PATH_REGEX, "/(grpc\\.v[0-9]+)/(Get.*)", 0, 3 },
		{ XGW_PATH_REGEX, "/[^/]+/EchoTwo", 0, 1 },
		{ XGW_PATH_PREFIX, "/", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ASSERT_EQ(m[i].path_type, want[i].type, "path type");
		ASSERT_STREQ(str(&f, m[i].path), want[i].path, "path");
		ASSERT_EQ(m[i].kv_count, want[i].kvs, "header conditions");
		ASSERT_EQ(f.snap.rules[m[i].rule].rule_index, want[i].rule, "rule of the match");
		ASSERT_EQ(m[i].method.len, 0, "no HTTP method condition");
	}
	/* header names lower-cased, types kept */
	const struct xgw_snap_kv *kv = &f.snap.kvs[m[0].kv_first];

	ASSERT_EQ(kv[0].kind, XGW_KV_HEADER, "header");
	ASSERT_STREQ(str(&f, kv[0].name), "version", "lower-case name");
	ASSERT_STREQ(str(&f, kv[0].value), "two", "value");
	ASSERT_EQ(kv[0].type, XGW_KV_EXACT, "exact");
	ASSERT_STREQ(str(&f, kv[1].name), "color", "lower-case name");
	ASSERT_EQ(kv[1].type, XGW_KV_REGEX, "regex");

	/* the service-only expression takes exactly "/<service>/<method>" */
	char expr[256];

	snprintf(expr, sizeof(expr), "%s", str(&f, m[2].path));
	ASSERT_TRUE(regex_takes(expr, "/" SVC "/Echo"), "a method of the service");
	ASSERT_FALSE(regex_takes(expr, "/" SVC), "no method");
	ASSERT_FALSE(regex_takes(expr, "/" SVC "/a/b"), "two segments");
	ASSERT_FALSE(regex_takes(expr, "/gateway_api_conformanceXecho_basic.grpcecho.GrpcEcho/E"),
		     "the dots are literal");
	snprintf(expr, sizeof(expr), "%s", str(&f, m[4].path));
	ASSERT_TRUE(regex_takes(expr, "/any.Service/EchoTwo"), "method of any service");
	ASSERT_FALSE(regex_takes(expr, "/any.Service/EchoTwoX"), "whole method name");
	snprintf(expr, sizeof(expr), "%s", str(&f, m[3].path));
	ASSERT_TRUE(regex_takes(expr, "/grpc.v12/GetThing"), "regex service and method");
	ASSERT_FALSE(regex_takes(expr, "/grpc.v/GetThing"), "regex anchored");
out:
	done(&f);
}

TEST(h2c_clusters)
{
	struct fixture f;

	/* one Service port behind an HTTPRoute and a GRPCRoute: two clusters, the
	 * GRPCRoute's speaking h2c; a port with appProtocol h2c needs no second */
	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE(
			 "b") "apiVersion: v1\nkind: Service\nmetadata: {name: h, namespace: "
			      "default}\n"
			      "spec: {ports: [{port: 8080, appProtocol: "
			      "kubernetes.io/h2c}]}\n---\n" ROUTE(
				      "web", "default",
				      "  parentRefs: [{name: eg}]\n  hostnames: [web.example]\n"
				      "  rules:\n  - backendRefs: [{name: b, port: 80}]\n")
				      GRPC_ROUTE("g", "default",
						 "  parentRefs: [{name: eg}]\n"
						 "  hostnames: [grpc.example]\n  rules:\n"
						 "  - matches: [{method: {method: A}}]\n"
						 "    backendRefs: [{name: b, port: 80}]\n"
						 "  - matches: [{method: {method: B}}]\n"
						 "    backendRefs: [{name: h, port: 8080}]\n"),
		 NULL, 0))
		goto out;
	if (!ASSERT_EQ(f.snap.n_listeners, 1, "listeners") ||
	    !ASSERT_EQ(f.snap.listeners[0].vhost_count, 2, "vhosts"))
		goto out;
	for (uint32_t i = 0; i < 2; i++) {
		const struct xgw_snap_vhost *v =
			&f.snap.vhosts[f.snap.listeners[0].vhost_first + i];
		bool grpc = !strcmp(str(&f, v->hostname), "grpc.example");

		for (uint32_t k = 0; k < v->match_count; k++) {
			const struct xgw_snap_match *m = &f.snap.matches[v->match_first + k];
			const struct xgw_snap_cluster *cl = rule_cluster(&f, m->rule);
			bool h = grpc && !strcmp(str(&f, m->path), "/[^/]+/B");

			if (!cl)
				continue;
			ASSERT_EQ(cl->proto, grpc ? XGW_CPROTO_H2C : XGW_CPROTO_HTTP1, "protocol");
			ASSERT_STREQ(str(&f, cl->name),
				     !grpc ? "default/b:80"
				     : h   ? "default/h:8080"
					   : "default/b:80/h2c",
				     "cluster name");
			if (!h)
				ASSERT_EQ(cl->ep_count, 1, "same endpoints");
		}
	}
	ASSERT_EQ(f.snap.n_clusters, 3, "b for HTTP, b for gRPC, h");
out:
	done(&f);
}

TEST(filters)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE("b") SERVICE("m") GRPC_ROUTE(
			 "g", "default",
			 "  parentRefs: [{name: eg}]\n  rules:\n"
			 "  - matches: [{method: {service: a.B, method: C}}]\n"
			 "    filters:\n"
			 "    - type: RequestHeaderModifier\n"
			 "      requestHeaderModifier: {set: [{name: X-Set, value: v}],"
			 " remove: [x-gone]}\n"
			 "    - type: RequestMirror\n"
			 "      requestMirror: {backendRef: {name: m, port: 80}}\n"
			 "    backendRefs:\n"
			 "    - name: b\n      port: 80\n      filters:\n"
			 "      - type: ResponseHeaderModifier\n"
			 "        responseHeaderModifier: {add: [{name: X-Add, value: w}]}\n"
			 "  - matches: [{method: {service: a.B, method: D}}]\n"
			 "    filters: [{type: ExtensionRef, extensionRef: "
			 "{group: example.com, kind: F, name: f}}]\n"
			 "    backendRefs: [{name: b, port: 80}]\n"),
		 NULL, 0))
		goto out;
	const struct xgw_route_status *r = route(&f, "g");

	if (!ASSERT_OK_PTR(r, "route") || !ASSERT_EQ(r->n_parents, 1, "parents"))
		goto out;
	/* the ExtensionRef rule is not served, the other is */
	ASSERT_COND(&r->parents[0].conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&r->parents[0].conds, "PartiallyInvalid", "True", "UnsupportedValue");
	const struct xgw_snap_vhost *v = only_vhost(&f);

	if (!v || !ASSERT_EQ(v->match_count, 1, "one rule served"))
		goto out;
	const struct xgw_snap_match *m = &f.snap.matches[v->match_first];
	const struct xgw_snap_rule *rule = &f.snap.rules[m->rule];

	ASSERT_STREQ(str(&f, m->path), "/a.B/C", "the served rule");
	if (!ASSERT_EQ(rule->filter_count, 2, "rule filters"))
		goto out;
	const struct xgw_snap_filter *sf = &f.snap.filters[rule->filter_first];

	ASSERT_EQ(sf[0].type, XGW_FILTER_REQUEST_HEADER, "request header filter");
	ASSERT_EQ(sf[0].op_count, 2, "set and remove");
	ASSERT_STREQ(str(&f, f.snap.hdrops[sf[0].op_first].name), "X-Set", "set name");
	ASSERT_EQ(sf[1].type, XGW_FILTER_MIRROR, "mirror");
	if (ASSERT_NEQ(sf[1].cluster, XGW_SNAP_NONE, "mirror resolved")) {
		ASSERT_STREQ(str(&f, f.snap.clusters[sf[1].cluster].name), "default/m:80/h2c",
			     "mirror over h2c");
		ASSERT_EQ(f.snap.clusters[sf[1].cluster].proto, XGW_CPROTO_H2C, "h2c");
	}
	const struct xgw_snap_backend *be = &f.snap.backends[rule->backend_first];

	if (ASSERT_EQ(be->filter_count, 1, "backend filter"))
		ASSERT_EQ(f.snap.filters[be->filter_first].type, XGW_FILTER_RESPONSE_HEADER,
			  "response header filter");
out:
	done(&f);
}

TEST(bad_regex_is_reported)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE("b") GRPC_ROUTE(
			 "g", "default",
			 "  parentRefs: [{name: eg}]\n  rules:\n"
			 "  - matches: [{method: {type: RegularExpression, service: 'a(b'}}]\n"
			 "    backendRefs: [{name: b, port: 80}]\n"
			 "  - matches: [{method: {service: ok.Svc}}]\n"
			 "    backendRefs: [{name: b, port: 80}]\n"),
		 NULL, 0))
		goto out;
	const struct xgw_route_status *r = route(&f, "g");
	const struct xgw_condition *pi;

	if (!ASSERT_OK_PTR(r, "route") || !ASSERT_EQ(r->n_parents, 1, "parents"))
		goto out;
	ASSERT_COND(&r->parents[0].conds, "Accepted", "True", "Accepted");
	if (ASSERT_COND(&r->parents[0].conds, "PartiallyInvalid", "True", "UnsupportedValue")) {
		pi = cond(&r->parents[0].conds, "PartiallyInvalid");
		ASSERT_TRUE(strstr(pi->message, "method.service regular expression \"a(b\"") !=
				    NULL,
			    "names the field and the expression");
	}
	const struct xgw_snap_vhost *v = only_vhost(&f);

	if (v && ASSERT_EQ(v->match_count, 1, "the good rule only"))
		ASSERT_STREQ(str(&f, f.snap.matches[v->match_first].path), "/ok\\.Svc/[^/]+",
			     "the good rule");
out:
	done(&f);
}

TEST(attachment_and_refs)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg",
			       HTTP_ALL("http", 80) "  - name: http-only\n    protocol: HTTP\n"
						    "    port: 81\n    allowedRoutes:\n"
						    "      kinds: [{kind: HTTPRoute}]\n"
						    "      namespaces: {from: All}\n")
			 SERVICE("b") "apiVersion: v1\nkind: Service\nmetadata: {name: x, "
				      "namespace: other}\n"
				      "spec: {ports: [{port: 80}]}\n---\n"
				      "apiVersion: v1\nkind: Service\nmetadata: {name: y, "
				      "namespace: granted}\n"
				      "spec: {ports: [{port: 80}]}\n---\n"
				      "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: "
				      "ReferenceGrant\n"
				      "metadata: {name: rg, namespace: granted}\nspec:\n"
				      "  from: [{group: gateway.networking.k8s.io, kind: "
				      "GRPCRoute, "
				      "namespace: default}]\n  to: [{group: '', kind: "
				      "Service}]\n---\n"
				      "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: "
				      "ReferenceGrant\n"
				      "metadata: {name: rg, namespace: other}\nspec:\n"
				      "  from: [{group: gateway.networking.k8s.io, kind: "
				      "HTTPRoute, "
				      "namespace: default}]\n  to: [{group: '', kind: "
				      "Service}]\n---\n" GRPC_ROUTE(
					      "port81", "default",
					      "  parentRefs: [{name: eg, port: 81}]\n"
					      "  rules: [{backendRefs: [{name: b, port: 80}]}]\n")
					      GRPC_ROUTE("section", "default",
							 "  parentRefs: [{name: eg, sectionName: "
							 "http}]\n"
							 "  rules: [{backendRefs: [{name: b, port: "
							 "80}]}]\n") GRPC_ROUTE("missing",
										"default",
										"  parentRefs: "
										"[{name: eg, port: "
										"80}]\n"
										"  rules: "
										"[{backendRefs: "
										"[{name: nope, "
										"port: 80}]}]\n")
						      GRPC_ROUTE("kind", "default",
								 "  parentRefs: [{name: eg, port: "
								 "80}]\n  rules: [{backendRefs: "
								 "[{kind: Pod, name: b}]}]\n")
							      GRPC_ROUTE(
								      "cross", "default",
								      "  parentRefs: [{name: eg, "
								      "port: 80}]\n  rules: "
								      "[{backendRefs: [{name: x, "
								      "namespace: other, port: "
								      "80}]}]\n")
								      GRPC_ROUTE(
									      "granted", "default",
									      "  parentRefs: "
									      "[{name: "
									      "eg, port: 80}]\n  "
									      "rules: "
									      "[{backendRefs: "
									      "[{name: y, "
									      "namespace: "
									      "granted, port: "
									      "80}]}]\n"),
		 NULL, 0))
		goto out;
	const struct xgw_gateway_status *g = gw(&f, "eg");

	if (!ASSERT_OK_PTR(g, "gateway") || !ASSERT_EQ(g->n_listeners, 2, "listeners"))
		goto out;
	/* an HTTP listener serves both kinds unless allowedRoutes.kinds says otherwise */
	if (ASSERT_EQ(g->listeners[0].n_supported_kinds, 2, "http kinds")) {
		ASSERT_STREQ(g->listeners[0].supported_kinds[0], "HTTPRoute", "HTTPRoute");
		ASSERT_STREQ(g->listeners[0].supported_kinds[1], "GRPCRoute", "GRPCRoute");
	}
	if (ASSERT_EQ(g->listeners[1].n_supported_kinds, 1, "http-only kinds"))
		ASSERT_STREQ(g->listeners[1].supported_kinds[0], "HTTPRoute", "HTTPRoute only");
	ASSERT_EQ(g->listeners[0].attached_routes, 5, "attached to http");
	ASSERT_EQ(g->listeners[1].attached_routes, 0, "none on http-only");

	static const struct {
		const char *route, *type, *status, *reason;
	} want[] = {
		{ "port81", "Accepted", "False", "NotAllowedByListeners" },
		{ "section", "Accepted", "True", "Accepted" },
		{ "section", "ResolvedRefs", "True", "ResolvedRefs" },
		{ "missing", "ResolvedRefs", "False", "BackendNotFound" },
		{ "kind", "ResolvedRefs", "False", "InvalidKind" },
		/* a grant for HTTPRoutes does not let a GRPCRoute in */
		{ "cross", "ResolvedRefs", "False", "RefNotPermitted" },
		{ "granted", "ResolvedRefs", "True", "ResolvedRefs" },
		{ "granted", "Accepted", "True", "Accepted" },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct xgw_route_status *r = route(&f, want[i].route);

		const struct xgw_condition *cd;

		printf("# %s %s\n", want[i].route, want[i].type);
		if (!ASSERT_OK_PTR(r, want[i].route) || !ASSERT_EQ(r->n_parents, 1, "parents"))
			continue;
		cd = cond(&r->parents[0].conds, want[i].type);
		if (ASSERT_OK_PTR(cd, want[i].type)) {
			ASSERT_STREQ(cd->status, want[i].status, "status");
			ASSERT_STREQ(cd->reason, want[i].reason, "reason");
		}
	}
	/* the GRPCRoute's ReferenceGrant also admits the cross-namespace cluster */
	bool found = false;

	for (uint32_t i = 0; i < f.snap.n_clusters; i++)
		found |= !strcmp(str(&f, f.snap.clusters[i].name), "granted/y:80/h2c");
	ASSERT_TRUE(found, "granted cluster");
out:
	done(&f);
}

TEST(http_and_grpc_share_no_hostname)
{
	struct fixture f;

	/* older HTTPRoute on a.example: the GRPCRoute on a.example and b.example
	 * loses its parent; one on c.example alone is accepted */
	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80)) SERVICE(
			 "b") "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
			      "metadata: {name: web, namespace: default, "
			      "creationTimestamp: '2024-01-01T00:00:00Z'}\n"
			      "spec:\n  parentRefs: [{name: eg}]\n  hostnames: [a.example]\n"
			      "  rules: [{backendRefs: [{name: b, port: 80}]}]\n---\n"
			      "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n"
			      "metadata: {name: rpc, namespace: default, "
			      "creationTimestamp: '2024-01-02T00:00:00Z'}\n"
			      "spec:\n  parentRefs: [{name: eg}]\n  hostnames: ['*.example']\n"
			      "  rules: [{backendRefs: [{name: b, port: 80}]}]\n---\n"
			      "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n"
			      "metadata: {name: rpc2, namespace: default, "
			      "creationTimestamp: '2024-01-02T00:00:00Z'}\n"
			      "spec:\n  parentRefs: [{name: eg}]\n  hostnames: [c.other]\n"
			      "  rules: [{backendRefs: [{name: b, port: 80}]}]\n---\n"
			      /* the older GRPCRoute wins over the newer HTTPRoute */
			      "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n"
			      "metadata: {name: rpc3, namespace: default, "
			      "creationTimestamp: '2023-01-01T00:00:00Z'}\n"
			      "spec:\n  parentRefs: [{name: eg}]\n  hostnames: [d.test]\n"
			      "  rules: [{backendRefs: [{name: b, port: 80}]}]\n---\n"
			      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
			      "metadata: {name: web2, namespace: default, "
			      "creationTimestamp: '2024-01-01T00:00:00Z'}\n"
			      "spec:\n  parentRefs: [{name: eg}]\n  hostnames: [d.test]\n"
			      "  rules: [{backendRefs: [{name: b, port: 80}]}]\n---\n",
		 NULL, 0))
		goto out;
	const struct xgw_route_status *web = route(&f, "web"), *rpc = route(&f, "rpc"),
				      *rpc2 = route(&f, "rpc2"), *rpc3 = route(&f, "rpc3"),
				      *web2 = route(&f, "web2");

	if (!ASSERT_OK_PTR(web, "web") || !ASSERT_OK_PTR(rpc, "rpc") ||
	    !ASSERT_OK_PTR(rpc2, "rpc2") || !ASSERT_OK_PTR(rpc3, "rpc3") ||
	    !ASSERT_OK_PTR(web2, "web2"))
		goto out;
	ASSERT_COND(&web->parents[0].conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&rpc->parents[0].conds, "Accepted", "False", "Conflicted");
	ASSERT_TRUE(strstr(cond(&rpc->parents[0].conds, "Accepted")->message, "default/web") !=
			    NULL,
		    "names the route it lost to");
	ASSERT_COND(&rpc2->parents[0].conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&rpc3->parents[0].conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&web2->parents[0].conds, "Accepted", "False", "Conflicted");
	ASSERT_EQ(gw(&f, "eg")->listeners[0].attached_routes, 3, "web, rpc2, rpc3");
	/* vhosts: a.example (web), c.other (rpc2), d.test (rpc3); no *.example */
	if (!ASSERT_EQ(f.snap.n_listeners, 1, "listeners"))
		goto out;
	ASSERT_EQ(f.snap.listeners[0].vhost_count, 3, "vhosts");
	for (uint32_t i = 0; i < f.snap.listeners[0].vhost_count; i++) {
		const struct xgw_snap_vhost *v =
			&f.snap.vhosts[f.snap.listeners[0].vhost_first + i];
		const struct xgw_snap_rule *r = &f.snap.rules[f.snap.matches[v->match_first].rule];
		const char *h = str(&f, v->hostname);
		const char *want = !strcmp(h, "a.example") ? "default/web"
				   : !strcmp(h, "c.other") ? "default/rpc2"
							   : "default/rpc3";

		ASSERT_EQ(v->match_count, 1, "one match");
		ASSERT_STREQ(str(&f, r->route), want, h);
	}
out:
	done(&f);
}

/* A route with its age, one kind or the other, parentRefs and hostnames given. */
#define AGED(kind, name, ts, parents, hosts)                                                       \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: " kind "\nmetadata: {name: " name         \
	", namespace: default, creationTimestamp: '" ts "'}\nspec:\n  parentRefs: " parents        \
	"\n  hostnames: " hosts "\n  rules: [{backendRefs: [{name: b, port: 80}]}]\n---\n"

/*
 * Across two listeners: a conflict is the listener's own (a route of the
 * other kind on another listener is none), and it takes the loser's
 * parentRef off every listener it attached to, so that what it had been
 * accepted on before no longer wins over later routes there.
 */
TEST(http_and_grpc_conflicts_per_listener)
{
	struct fixture f;

	if (!run(&f,
		 CLASS GATEWAY("eg", HTTP_ALL("http", 80) HTTP_ALL("alt", 81)) SERVICE("b")
		 /* w (oldest) on alt; r on both loses on alt, so on http too; v then wins on http */
		 AGED("HTTPRoute", "w", "2020-01-01T00:00:00Z", "[{name: eg, sectionName: alt}]",
		      "[r.example]") AGED("GRPCRoute", "r", "2020-01-02T00:00:00Z", "[{name: eg}]",
					  "[r.example]")
			 AGED("HTTPRoute", "v", "2020-01-03T00:00:00Z",
			      "[{name: eg, sectionName: http}]", "[r.example]")
		 /* g on alt wins over the newer h there; k on http shares h's name, no conflict */
		 AGED("GRPCRoute", "g", "2021-01-01T00:00:00Z", "[{name: eg, sectionName: alt}]",
		      "[b.example]") AGED("HTTPRoute", "h", "2021-01-02T00:00:00Z",
					  "[{name: eg, sectionName: alt}]", "['*.example']")
			 AGED("HTTPRoute", "k", "2021-01-03T00:00:00Z",
			      "[{name: eg, sectionName: http}]", "[b.example]"),
		 NULL, 0))
		goto out;
	static const struct {
		const char *name, *status, *reason;
	} want[] = {
		{ "w", "True", "Accepted" },	{ "r", "False", "Conflicted" },
		{ "v", "True", "Accepted" },	{ "g", "True", "Accepted" },
		{ "h", "False", "Conflicted" }, { "k", "True", "Accepted" },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct xgw_route_status *r = route(&f, want[i].name);

		if (ASSERT_OK_PTR(r, want[i].name) && ASSERT_EQ(r->n_parents, 1, want[i].name))
			ASSERT_COND(&r->parents[0].conds, "Accepted", want[i].status,
				    want[i].reason);
	}
	/* http: v, k; alt: w, g (r gone from both) */
	ASSERT_EQ(gw(&f, "eg")->listeners[0].attached_routes, 2, "http: v and k");
	ASSERT_EQ(gw(&f, "eg")->listeners[1].attached_routes, 2, "alt: w and g");
	ASSERT_GE(f.res.n_problems, 2, "a problem line per loser");
out:
	done(&f);
}

/* Decoding refuses what the GRPCRoute CRD refuses, naming the field. */
TEST(decode_checks)
{
	static const struct {
		const char *spec, *msg;
	} cases[] = {
		{ "  rules: [{matches: [{method: {type: Exact}}]}]\n",
		  "one or both of service and method must be specified" },
		{ "  rules: [{matches: [{method: {service: 'a/b', method: M}}]}]\n",
		  "\"a/b\" is not a gRPC service name" },
		{ "  rules: [{matches: [{method: {service: a.b., method: M}}]}]\n",
		  "\"a.b.\" is not a gRPC service name" },
		{ "  rules: [{matches: [{method: {service: s, method: 9m}}]}]\n",
		  "\"9m\" is not a gRPC method name" },
		{ "  rules: [{matches: [{method: {type: Prefix, service: s}}]}]\n",
		  "expected Exact or RegularExpression, got \"Prefix\"" },
		{ "  rules: [{matches: [{headers: [{name: a, value: b, type: Prefix}]}]}]\n",
		  "expected Exact or RegularExpression, got \"Prefix\"" },
		{ "  rules: [{filters: [{type: URLRewrite, urlRewrite: {hostname: x}}]}]\n",
		  "expected one of RequestHeaderModifier, ResponseHeaderModifier, RequestMirror, "
		  "ExtensionRef (the GRPCRoute filters), got \"URLRewrite\"" },
		{ "  rules: [{backendRefs: [{name: b, port: 80, filters: [{type: "
		  "RequestRedirect, requestRedirect: {port: 8}}]}]}]\n",
		  "backendRefs[0].filters[0].type: expected one of RequestHeaderModifier" },
		{ "  rules: [{filters: [{type: RequestHeaderModifier}]}]\n",
		  "requestHeaderModifier: required for this filter type" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char y[1024];
		struct xgw_store *st = xgw_store__new();
		int n = snprintf(y, sizeof(y), GRPC_ROUTE("g", "default", "%s"), cases[i].spec);

		if (!ASSERT_OK_PTR(st, "store") ||
		    !ASSERT_OK(xgw_store_load_yaml(st, "g.yaml", y, (size_t)n), "load")) {
			xgw_store__free(st);
			return;
		}
		printf("# case %zu\n", i);
		ASSERT_EQ(st->n_grpcroutes, 0, "not decoded");
		if (ASSERT_EQ(st->n_errors, 1, "one error")) {
			printf("#   %s\n", st->errors[0].message);
			ASSERT_TRUE(strstr(st->errors[0].message, cases[i].msg) != NULL,
				    cases[i].msg);
		}
		xgw_store__free(st);
	}

	/* the good ones: Exact names with a leading dot, regexes unchecked here */
	static const char ok[] =
		GRPC_ROUTE("g", "default",
			   "  hostnames: [a.example]\n  rules:\n"
			   "  - name: r1\n    matches:\n"
			   "    - method: {service: .pkg.Svc_1, method: _Get2}\n"
			   "    - method: {type: RegularExpression, method: 'a(b'}\n"
			   "      headers: [{name: X, value: y}]\n"
			   "    backendRefs: [{name: b, port: 80, weight: 3}]\n");
	struct xgw_store *st = xgw_store__new();

	if (!ASSERT_OK_PTR(st, "store") ||
	    !ASSERT_OK(xgw_store_load_yaml(st, "g.yaml", ok, sizeof(ok) - 1), "load"))
		goto out;
	if (!ASSERT_EQ(st->n_errors, 0, "no error") || !ASSERT_EQ(st->n_grpcroutes, 1, "decoded"))
		goto out;
	const struct xgw_grpcroute *g = &st->grpcroutes[0];

	ASSERT_EQ(g->n_hostnames, 1, "hostnames");
	if (!ASSERT_EQ(g->n_rules, 1, "rules") || !ASSERT_EQ(g->rules[0].n_matches, 2, "matches"))
		goto out;
	ASSERT_STREQ(g->rules[0].name, "r1", "rule name");
	ASSERT_EQ(g->rules[0].matches[0].type, XGW_GRPC_EXACT, "Exact by default");
	ASSERT_STREQ(g->rules[0].matches[0].service, ".pkg.Svc_1", "service");
	ASSERT_EQ(g->rules[0].matches[1].type, XGW_GRPC_REGEX, "regex");
	ASSERT_TRUE(g->rules[0].matches[1].service == NULL, "no service");
	ASSERT_EQ(g->rules[0].matches[1].n_headers, 1, "headers");
	ASSERT_EQ(g->rules[0].backends[0].weight, 3, "weight");
out:
	xgw_store__free(st);
}

TEST_MAIN()
