// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The manifest decoder's typed store: the getting-started example and the
 * conformance base objects, every kind's fields, wrong types and missing
 * fields, folders. The YAML layer beneath it is in test_yaml.c.
 */
#include "manifest-fixture.h"

/* --- the getting-started example ---------------------------------------- */

TEST(tutorial)
{
	struct xgw_store *st = xgw_store__new();
	const struct xgw_gatewayclass *gc;
	const struct xgw_gateway *gw;
	const struct xgw_gw_listener *l;
	const struct xgw_httproute *hr;
	const struct xgw_http_rule *r;
	const struct xgw_backend_ref *b;
	const struct xgw_parent_ref *p;
	const struct xgw_service *svc;
	const struct xgw_endpointslice *eps;

	if (!ASSERT_OK_PTR(st, "store"))
		return;
	if (!ASSERT_OK(load_fixture(st, "tutorial.yaml"), "load tutorial.yaml"))
		goto out;
	if (!ASSERT_EQ(st->n_errors, 0, "no errors")) {
		dump_errors(st);
		goto out;
	}
	if (!ASSERT_EQ(st->n_classes, 1, "classes") || !ASSERT_EQ(st->n_gateways, 1, "gateways") ||
	    !ASSERT_EQ(st->n_httproutes, 1, "routes") ||
	    !ASSERT_EQ(st->n_services, 1, "services") || !ASSERT_EQ(st->n_slices, 1, "slices") ||
	    !ASSERT_EQ(st->n_namespaces, 0, "namespaces"))
		goto out;
	ASSERT_EQ(st->n_ignored, 0, "a Deployment is not a Gateway API object");

	gc = &st->classes[0];
	ASSERT_STREQ(gc->meta.name, "xgw", "class name");
	ASSERT_TRUE(gc->meta.ns == NULL, "GatewayClass is cluster-scoped");
	ASSERT_STREQ(gc->controller_name, XGW_CONTROLLER_NAME, "controllerName");
	ASSERT_TRUE(gc->description == NULL, "no description");
	ASSERT_EQ(gc->meta.generation, 1, "generation default");
	ASSERT_TRUE(gc->meta.uid == NULL && gc->meta.creation_timestamp == NULL, "no uid/time");
	ASSERT_STREQ(gc->meta.origin.file, "tutorial.yaml", "origin file");
	ASSERT_EQ(gc->meta.origin.doc, 1, "origin doc");
	ASSERT_EQ(gc->meta.origin.line, 5, "origin line");

	gw = &st->gateways[0];
	ASSERT_STREQ(gw->meta.name, "eg", "gateway name");
	ASSERT_STREQ(gw->meta.ns, "default", "gateway ns");
	ASSERT_STREQ(gw->class_name, "xgw", "gatewayClassName");
	ASSERT_EQ(gw->n_addresses, 0, "addresses");
	ASSERT_EQ(gw->meta.origin.doc, 2, "gateway doc");
	ASSERT_EQ(gw->meta.origin.line, 11, "gateway line (the ---)");
	if (ASSERT_EQ(gw->n_listeners, 1, "listeners")) {
		l = &gw->listeners[0];
		ASSERT_STREQ(l->name, "http", "listener name");
		ASSERT_TRUE(l->hostname == NULL, "any hostname");
		ASSERT_EQ(l->port, 80, "port");
		ASSERT_EQ(l->proto, XGW_PROTO_HTTP, "protocol");
		ASSERT_STREQ(l->proto_name, "HTTP", "protocol name");
		ASSERT_EQ(l->from, XGW_FROM_ALL, "from All");
		ASSERT_EQ(l->n_kinds, 0, "kinds: protocol default");
		ASSERT_EQ(l->selector.n_match_labels + l->selector.n_exprs, 0, "no selector");
		ASSERT_TRUE(l->tls_mode == NULL, "no tls");
		ASSERT_EQ(l->n_cert_refs, 0, "no certs");
	}

	hr = &st->httproutes[0];
	ASSERT_STREQ(hr->meta.name, "backend", "route name");
	ASSERT_STREQ(hr->meta.ns, "default", "route ns defaulted");
	if (ASSERT_EQ(hr->n_hostnames, 1, "hostnames"))
		ASSERT_STREQ(hr->hostnames[0], "app.yourdomain.com", "hostname");
	if (ASSERT_EQ(hr->n_parents, 1, "parents")) {
		p = &hr->parents[0];
		ASSERT_STREQ(p->name, "eg", "parent name");
		ASSERT_STREQ(p->group, XGW_GATEWAY_GROUP, "parent group default");
		ASSERT_STREQ(p->kind, "Gateway", "parent kind default");
		ASSERT_TRUE(p->ns == NULL && p->section_name == NULL, "parent ns/section");
		ASSERT_EQ(p->port, 0, "parent port: any");
	}
	if (ASSERT_EQ(hr->n_rules, 1, "rules")) {
		r = &hr->rules[0];
		ASSERT_TRUE(r->name == NULL, "rule name");
		ASSERT_EQ(r->n_filters, 0, "filters");
		if (ASSERT_EQ(r->n_matches, 1, "matches")) {
			ASSERT_EQ(r->matches[0].path_type, XGW_MATCH_PATH_PREFIX, "PathPrefix");
			ASSERT_STREQ(r->matches[0].path, "/", "path");
			ASSERT_TRUE(r->matches[0].method == NULL, "any method");
			ASSERT_EQ(r->matches[0].n_headers + r->matches[0].n_query, 0, "no kv");
		}
		if (ASSERT_EQ(r->n_backends, 1, "backends")) {
			b = &r->backends[0];
			ASSERT_STREQ(b->name, "backend-1", "backend name");
			ASSERT_EQ(b->port, 80, "backend port");
			ASSERT_STREQ(b->group, "", "backend group default");
			ASSERT_STREQ(b->kind, "Service", "backend kind default");
			ASSERT_TRUE(b->ns == NULL, "backend ns");
			ASSERT_EQ(b->weight, 1, "weight default");
			ASSERT_EQ(b->n_filters, 0, "backend filters");
		}
	}

	svc = &st->services[0];
	ASSERT_STREQ(svc->meta.name, "backend-1", "service name");
	ASSERT_STREQ(svc->meta.ns, "default", "service ns");
	ASSERT_STREQ(svc->type, "ClusterIP", "service type default");
	ASSERT_STREQ(xgw_meta_label(&svc->meta, "app"), "backend-1", "service label");
	ASSERT_TRUE(xgw_meta_label(&svc->meta, "nope") == NULL, "absent label");
	if (ASSERT_EQ(svc->n_ports, 1, "service ports")) {
		ASSERT_STREQ(svc->ports[0].name, "http", "port name");
		ASSERT_EQ(svc->ports[0].port, 80, "port");
		ASSERT_EQ(svc->ports[0].target_port, 8080, "targetPort");
		ASSERT_TRUE(svc->ports[0].target_port_name == NULL, "targetPort is a number");
		ASSERT_STREQ(svc->ports[0].protocol, "TCP", "protocol default");
		ASSERT_TRUE(svc->ports[0].app_protocol == NULL, "appProtocol");
	}

	eps = &st->slices[0];
	ASSERT_STREQ(eps->meta.name, "backend-1-x7k2p", "slice name");
	ASSERT_STREQ(eps->meta.ns, "default", "slice ns");
	ASSERT_STREQ(eps->service_name, "backend-1", "service-name label");
	ASSERT_STREQ(eps->address_type, "IPv4", "addressType");
	if (ASSERT_EQ(eps->n_endpoints, 1, "endpoints") &&
	    ASSERT_EQ(eps->endpoints[0].n_addresses, 1, "addresses")) {
		ASSERT_STREQ(eps->endpoints[0].addresses[0], "10.23.1.10", "address");
		ASSERT_TRUE(eps->endpoints[0].ready, "ready when conditions are absent");
		/* parsed once at decode, so that reconciles do not parse it again */
		if (ASSERT_OK_PTR(eps->endpoints[0].ips, "address parsed")) {
			ASSERT_EQ(eps->endpoints[0].ips[0].family, 4, "parsed family");
			ASSERT_TRUE(!memcmp(eps->endpoints[0].ips[0].addr, "\x0a\x17\x01\x0a", 4),
				    "parsed address");
		}
	}
	if (ASSERT_EQ(eps->n_ports, 1, "slice ports")) {
		ASSERT_STREQ(eps->ports[0].name, "http", "slice port name");
		ASSERT_EQ(eps->ports[0].port, 8080, "slice port");
		ASSERT_STREQ(eps->ports[0].protocol, "TCP", "slice protocol");
	}
out:
	xgw_store__free(st);
}

/* --- the conformance base objects --------------------------------------- */

TEST(conformance_base)
{
	struct xgw_store *st = xgw_store__new();
	const struct xgw_gateway *gw;
	const struct xgw_service *svc;
	const struct xgw_namespace *ns;

	if (!ASSERT_OK_PTR(st, "store"))
		return;
	if (!ASSERT_OK(load_fixture(st, "conformance-base.yaml"), "load"))
		goto out;
	if (!ASSERT_EQ(st->n_errors, 0, "no errors"))
		dump_errors(st);
	if (!ASSERT_EQ(st->n_namespaces, 3, "namespaces") ||
	    !ASSERT_EQ(st->n_gateways, 4, "gateways") || !ASSERT_EQ(st->n_services, 14, "services"))
		goto out;
	ASSERT_EQ(st->n_classes + st->n_httproutes + st->n_slices, 0, "nothing else");
	ASSERT_EQ(st->n_ignored, 0, "Deployments and a ConfigMap are not counted");

	ns = &st->namespaces[0];
	ASSERT_STREQ(ns->meta.name, "gateway-conformance-infra", "namespace");
	ASSERT_TRUE(ns->meta.ns == NULL, "Namespace is cluster-scoped");
	ASSERT_STREQ(xgw_meta_label(&ns->meta, "gateway-conformance"), "infra", "ns label");

	gw = &st->gateways[0];
	ASSERT_STREQ(gw->meta.name, "same-namespace", "gw 0");
	ASSERT_STREQ(gw->meta.ns, "gateway-conformance-infra", "gw 0 ns");
	ASSERT_STREQ(gw->class_name, "{GATEWAY_CLASS_NAME}", "placeholder kept");
	ASSERT_EQ(gw->listeners[0].from, XGW_FROM_SAME, "from Same");

	gw = &st->gateways[1];
	ASSERT_STREQ(gw->meta.name, "same-namespace-with-https-listener", "gw 1");
	if (ASSERT_EQ(gw->n_listeners, 4, "https listeners")) {
		const struct xgw_gw_listener *l = &gw->listeners[2];

		ASSERT_EQ(l->proto, XGW_PROTO_HTTPS, "HTTPS");
		ASSERT_EQ(l->port, 443, "443");
		ASSERT_STREQ(l->hostname, "*.wildcard.org", "wildcard hostname");
		ASSERT_STREQ(l->tls_mode, "Terminate", "tls mode default");
		if (ASSERT_EQ(l->n_cert_refs, 1, "cert refs")) {
			ASSERT_STREQ(l->cert_refs[0].group, "", "cert group");
			ASSERT_STREQ(l->cert_refs[0].kind, "Secret", "cert kind");
			ASSERT_STREQ(l->cert_refs[0].name, "tls-validity-checks-certificate",
				     "cert");
			ASSERT_STREQ(l->cert_refs[0].ns, "gateway-conformance-infra", "cert ns");
		}
	}

	gw = &st->gateways[3];
	ASSERT_STREQ(gw->meta.name, "backend-namespaces", "gw 3");
	ASSERT_EQ(gw->listeners[0].from, XGW_FROM_SELECTOR, "from Selector");
	if (ASSERT_EQ(gw->listeners[0].selector.n_match_labels, 1, "matchLabels")) {
		ASSERT_STREQ(gw->listeners[0].selector.match_labels[0].key, "gateway-conformance",
			     "selector key");
		ASSERT_STREQ(gw->listeners[0].selector.match_labels[0].value, "backend",
			     "selector value");
	}

	svc = &st->services[0];
	ASSERT_STREQ(svc->meta.name, "infra-backend-v1", "svc 0");
	if (ASSERT_EQ(svc->n_ports, 3, "svc 0 ports")) {
		ASSERT_STREQ(svc->ports[1].name, "second-port", "port name");
		ASSERT_EQ(svc->ports[1].port, 8081, "port");
		ASSERT_EQ(svc->ports[1].target_port, 3001, "targetPort");
		ASSERT_STREQ(svc->ports[1].app_protocol, "kubernetes.io/h2c", "appProtocol");
	}
out:
	xgw_store__free(st);
}

/* --- decode errors ------------------------------------------------------ */

TEST(unknown_kind)
{
	struct xgw_store *st =
		load_str("typo.yaml", "apiVersion: gateway.networking.k8s.io/v1\n"
				      "kind: Gatewy\n"
				      "metadata: {name: eg}\n"
				      "---\n" SVC("ok") "---\n"
							"apiVersion: example.com/v1\n"
							"kind: Widget\n"
							"metadata: {name: w}\n");
	const struct xgw_decode_error *e;

	if (!st)
		return;
	ASSERT_EQ(st->n_services, 1, "the good document");
	if (ASSERT_EQ(st->n_errors, 2, "two errors")) {
		e = &st->errors[0];
		ASSERT_STREQ(e->message,
			     "unknown kind Gatewy (apiVersion gateway.networking.k8s.io/v1)",
			     "msg");
		ASSERT_STREQ(e->kind, "Gatewy", "kind");
		ASSERT_STREQ(e->name, "eg", "name");
		ASSERT_EQ(e->origin.doc, 1, "doc");
		ASSERT_EQ(e->origin.line, 1, "line");
		ASSERT_STREQ(st->errors[1].message,
			     "unknown kind Widget (apiVersion example.com/v1)", "foreign group");
		ASSERT_EQ(st->errors[1].origin.doc, 3, "doc 3");
	}
	xgw_store__free(st);
}

TEST(missing_fields)
{
	struct xgw_store *st = load_str("m.yaml", "apiVersion: gateway.networking.k8s.io/v1\n"
						  "kind: Gateway\n"
						  "metadata:\n"
						  "  namespace: infra\n"
						  "spec: {gatewayClassName: xgw}\n"
						  "---\n"
						  "kind: Service\n"
						  "metadata: {name: s}\n"
						  "---\n"
						  "apiVersion: v1\n"
						  "metadata: {name: s}\n"
						  "---\n"
						  "apiVersion: v1\n"
						  "kind: Service\n"
						  "---\n"
						  "apiVersion: v1\n"
						  "kind: Service\n"
						  "metadata: {name: \"\"}\n"
						  "---\n"
						  "apiVersion: gateway.networking.k8s.io/v1\n"
						  "kind: GatewayClass\n"
						  "metadata: {name: c}\n");
	static const char *const want[] = {
		"metadata.name: required field is missing",
		"apiVersion: required field is missing",
		"kind: required field is missing",
		"metadata: required field is missing",
		"metadata.name: must not be empty",
		"spec.controllerName: required field is missing",
	};

	if (!st)
		return;
	ASSERT_TRUE(no_objects(st), "nothing decoded");
	if (!ASSERT_EQ(st->n_errors, 6, "errors")) {
		dump_errors(st);
		goto out;
	}
	for (size_t i = 0; i < 6; i++)
		ASSERT_STREQ(st->errors[i].message, want[i], "message");
	ASSERT_STREQ(st->errors[0].kind, "Gateway", "kind known");
	ASSERT_STREQ(st->errors[0].ns, "infra", "namespace known");
	ASSERT_TRUE(st->errors[0].name == NULL, "name unknown");
	ASSERT_EQ(st->errors[0].origin.line, 4, "line of the metadata mapping");
	ASSERT_STREQ(st->errors[5].kind, "GatewayClass", "class");
	ASSERT_STREQ(st->errors[5].name, "c", "class name");
	ASSERT_TRUE(st->errors[5].ns == NULL, "class has no namespace");
out:
	xgw_store__free(st);
}

#define GW_HEAD                                                                                    \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: eg}\n"          \
	"spec:\n  gatewayClassName: xgw\n"

TEST(wrong_types)
{
	static const struct {
		const char *yaml;
		const char *msg;
		int line;
	} cases[] = {
		{ GW_HEAD "  listeners:\n  - {name: http, protocol: HTTP, port: eighty}\n",
		  "spec.listeners[0].port: expected an integer 1..65535, got \"eighty\"", 7 },
		{ GW_HEAD "  listeners:\n  - {name: http, protocol: HTTP, port: \"80\"}\n",
		  "spec.listeners[0].port: expected an integer 1..65535, got \"80\" (a quoted "
		  "string)",
		  7 },
		{ GW_HEAD "  listeners:\n  - {name: http, protocol: HTTP, port: -1}\n",
		  "spec.listeners[0].port: expected an integer 1..65535, got \"-1\" (out of range)",
		  7 },
		{ GW_HEAD
		  "  listeners:\n  - {name: http, protocol: HTTP, port: 99999999999999999999}\n",
		  "spec.listeners[0].port: expected an integer 1..65535, got "
		  "\"99999999999999999999\" (out of range)",
		  7 },
		{ GW_HEAD "  listeners:\n  - {name: http, protocol: HTTP, port: [80]}\n",
		  "spec.listeners[0].port: expected an integer 1..65535, got a list", 7 },
		{ GW_HEAD "  listeners: {name: http}\n",
		  "spec.listeners: expected a list, got a mapping", 6 },
		{ GW_HEAD "  listeners:\n  - http\n",
		  "spec.listeners[0]: expected a mapping, got \"http\"", 7 },
		{ GW_HEAD "  listeners:\n  - {name: [a], protocol: HTTP, port: 80}\n",
		  "spec.listeners[0].name: expected a string, got a list", 7 },
		{ GW_HEAD "  listeners:\n  - {name: a, protocol: HTTP, port: 80,\n"
			  "     allowedRoutes: {namespaces: {from: Everywhere}}}\n",
		  "spec.listeners[0].allowedRoutes.namespaces.from: expected one of Same, All, "
		  "Selector, None, got \"Everywhere\"",
		  8 },
		{ "apiVersion: v1\nkind: [Service]\nmetadata: {name: s}\n",
		  "kind: expected a string, got a list", 2 },
		{ "apiVersion: v1\nkind: \"\"\nmetadata: {name: s}\n",
		  "kind: required field is missing", 1 },
		{ "apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: [a]}\n",
		  "metadata.labels: expected a mapping, got a list", 3 },
		{ "apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: {a: {b: c}}}\n",
		  "metadata.labels.a: expected a string, got a mapping", 3 },
		{ "apiVersion: v1\nkind: Service\nmetadata: {name: s, generation: two}\n",
		  "metadata.generation: expected an integer, got \"two\"", 3 },
		{ "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: [a]\n",
		  "spec: expected a mapping, got a list", 4 },
		{ "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		  "spec: {ports: [{port: 80, targetPort: \"8080\"}]}\n",
		  "spec.ports[0].targetPort: expected an integer or a port name, got a quoted "
		  "number 8080",
		  4 },
		{ "apiVersion: v1\nkind: Service\nmetadata: {name: \"a\\0b\"}\n",
		  "metadata.name: contains a NUL character", 3 },
		{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		  "metadata: {name: e}\naddressType: IPv4\n"
		  "endpoints: [{addresses: [10.0.0.1], conditions: {ready: \"yes\"}}]\n",
		  "endpoints[0].conditions.ready: expected true or false, got \"yes\" (a quoted "
		  "string)",
		  5 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  parentRefs: [{name: eg, port: 0}]\n",
		  "spec.parentRefs[0].port: expected an integer 1..65535, got \"0\" (out of range)",
		  5 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - matches: [{path: {type: Glob, value: /x}}]\n",
		  "spec.rules[0].matches[0].path.type: expected one of Exact, PathPrefix, "
		  "RegularExpression, got \"Glob\"",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - matches: [{headers: [{name: x}]}]\n",
		  "spec.rules[0].matches[0].headers[0].value: required field is missing", 6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - filters: [{type: RequestHeaderModifier}]\n",
		  "spec.rules[0].filters[0].requestHeaderModifier: required for this filter type",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - retry: {codes: [500, 200]}\n",
		  "spec.rules[0].retry.codes[1]: expected an HTTP status code 400..599, got "
		  "\"200\"",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - retry: {attempts: 0}\n",
		  "spec.rules[0].retry.attempts: expected a positive integer, got \"0\" (out of "
		  "range)",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - retry: {backoff: soon}\n",
		  "spec.rules[0].retry.backoff: expected a duration such as 10s, 500ms or 1h30m, "
		  "got "
		  "\"soon\"",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - sessionPersistence: {sessionName: \"a b\"}\n",
		  "spec.rules[0].sessionPersistence.sessionName: expected a cookie or header name "
		  "(a "
		  "token of at most 128 characters), got \"a b\"",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - sessionPersistence: {cookieConfig: {lifetimeType: "
		  "Permanent}}\n",
		  "spec.rules[0].sessionPersistence.cookieConfig: a Permanent cookie needs an "
		  "absoluteTimeout",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - sessionPersistence: {type: Header, absoluteTimeout: 1h, "
		  "cookieConfig: {lifetimeType: Permanent}}\n",
		  "spec.rules[0].sessionPersistence.cookieConfig: a Permanent lifetime needs type "
		  "Cookie",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - sessionPersistence: {type: IP}\n",
		  "spec.rules[0].sessionPersistence.type: expected one of Cookie, Header, got "
		  "\"IP\"",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - filters: [{type: CORS}]\n",
		  "spec.rules[0].filters[0].cors: required for this filter type", 6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - filters: [{type: CORS, cors: {allowOrigins: [foo.com]}}]\n",
		  "spec.rules[0].filters[0].cors.allowOrigins: expected \"*\" or "
		  "scheme://host[:port] "
		  "with at most one \"*\", got \"foo.com\"",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - filters: [{type: CORS, cors: {allowCredentials: maybe}}]\n",
		  "spec.rules[0].filters[0].cors.allowCredentials: expected true or false, got "
		  "\"maybe\"",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - filters: [{type: Teleport}]\n",
		  "spec.rules[0].filters[0].type: expected one of RequestHeaderModifier, "
		  "ResponseHeaderModifier, RequestRedirect, URLRewrite, RequestMirror, CORS, "
		  "ExtensionRef, got \"Teleport\"",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - filters: [{type: RequestRedirect, requestRedirect: "
		  "{statusCode: 200}}]\n",
		  "spec.rules[0].filters[0].requestRedirect.statusCode: expected a redirect status "
		  "code, got \"200\" (out of range)",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - filters: [{type: URLRewrite, urlRewrite: {path: {type: "
		  "ReplaceFullPath}}}]\n",
		  "spec.rules[0].filters[0].urlRewrite.path.replaceFullPath: required for this "
		  "path "
		  "type",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - filters: [{type: RequestMirror, requestMirror: {fraction: "
		  "{numerator: 5, denominator: 4}, backendRef: {name: m}}}]\n",
		  "spec.rules[0].filters[0].requestMirror.fraction.numerator: must not exceed the "
		  "denominator",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  rules:\n  - timeouts: {request: 10 seconds}\n",
		  "spec.rules[0].timeouts.request: expected a duration such as 10s, 500ms or "
		  "1h30m, "
		  "got \"10 seconds\"",
		  6 },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
		  "spec:\n  hostnames: [a.example, null]\n",
		  "spec.hostnames[1]: expected a string, got null", 5 },
		{ "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: Gateway\n"
		  "metadata: {name: eg}\n",
		  "unsupported apiVersion gateway.networking.k8s.io/v1alpha2 for kind Gateway", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xgw_store *st = load_str("t.yaml", cases[i].yaml);
		const struct xgw_decode_error *e;

		if (!st)
			return;
		ASSERT_TRUE(no_objects(st), cases[i].msg);
		e = one_error(st, cases[i].msg);
		if (e)
			ASSERT_EQ(e->origin.line, cases[i].line, cases[i].msg);
		xgw_store__free(st);
	}
}

/* --- kinds, versions, defaults ------------------------------------------ */

TEST(ignored_kinds)
{
	struct xgw_store *st = load_str(
		"mixed.yaml",
		"apiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XBackend\nmetadata: "
		"{name: g}\n"
		"---\napiVersion: gateway.networking.x-k8s.io/v1alpha1\n"
		"kind: XBackendTrafficPolicy\nmetadata: {name: btp}\n"
		"---\napiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XBackend\n"
		"metadata: {name: t}\n"
		"---\napiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XListenerSet\n"
		"metadata: {name: ls}\n"
		"---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {tls.crt: eA==}\n"
		"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
		"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");

	if (!st)
		return;
	ASSERT_EQ(st->n_errors, 0, "no errors");
	ASSERT_TRUE(no_objects(st), "nothing decoded");
	ASSERT_EQ(st->n_ignored, 4, "Gateway API kinds counted");
	xgw_store__free(st);
}

TEST(reference_grant)
{
	struct xgw_store *st = load_str(
		"grant.yaml",
		"apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		"metadata: {name: rg, namespace: backends}\nspec:\n"
		"  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]\n"
		"  to: [{group: '', kind: Service, name: svc}, {kind: Secret}]\n"
		"---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		"metadata: {name: bad, namespace: backends}\nspec:\n"
		"  from: [{kind: HTTPRoute}]\n");

	if (!st)
		return;
	if (ASSERT_EQ(st->n_grants, 1, "one grant") && ASSERT_EQ(st->grants[0].n_from, 1, "from") &&
	    ASSERT_EQ(st->grants[0].n_to, 2, "to")) {
		const struct xgw_referencegrant *g = &st->grants[0];

		ASSERT_STREQ(g->meta.ns, "backends", "namespace");
		ASSERT_STREQ(g->from[0].ns, "apps", "from namespace");
		ASSERT_STREQ(g->to[0].name, "svc", "to name");
		ASSERT_STREQ(g->to[1].group, "", "core group default");
		ASSERT_TRUE(g->to[1].name == NULL, "no name: every object");
	}
	if (ASSERT_EQ(st->n_errors, 1, "the grant without a from namespace"))
		ASSERT_STREQ(st->errors[0].message,
			     "spec.from[0].namespace: required field is missing", "message");
	xgw_store__free(st);
}

TEST(versions_and_list)
{
	struct xgw_store *st = load_str(
		"list.yaml",
		"apiVersion: v1\nkind: List\nitems:\n"
		"- apiVersion: gateway.networking.k8s.io/v1beta1\n  kind: HTTPRoute\n"
		"  metadata: {name: old, namespace: apps, generation: 7, uid: u-1,\n"
		"             creationTimestamp: \"2024-01-02T03:04:05Z\"}\n"
		"- apiVersion: gateway.networking.k8s.io/v1beta1\n  kind: Gateway\n"
		"  metadata: {name: g}\n"
		"  spec: {gatewayClassName: xgw, listeners: [{name: x, port: 0, protocol: SCTP}]}\n"
		"- apiVersion: v1\n  kind: Namespace\n  metadata: {name: apps, namespace: "
		"ignored}\n"
		"- apiVersion: v1\n  kind: Gatewy\n  metadata: {name: bad}\n");
	const struct xgw_httproute *hr;

	if (!st)
		return;
	if (!ASSERT_EQ(st->n_httproutes, 1, "route") || !ASSERT_EQ(st->n_gateways, 1, "gateway") ||
	    !ASSERT_EQ(st->n_namespaces, 1, "namespace"))
		goto out;
	hr = &st->httproutes[0];
	ASSERT_STREQ(hr->meta.ns, "apps", "namespace");
	ASSERT_EQ(hr->meta.origin.line, 4, "origin: the item's line");
	ASSERT_EQ(st->gateways[0].meta.origin.line, 8, "second item's line");
	ASSERT_EQ(hr->meta.generation, 7, "generation");
	ASSERT_STREQ(hr->meta.uid, "u-1", "uid");
	ASSERT_STREQ(hr->meta.creation_timestamp, "2024-01-02T03:04:05Z", "creationTimestamp");
	/* no rules: the API's default rule, PathPrefix "/" with no backends */
	if (ASSERT_EQ(hr->n_rules, 1, "default rule"))
		ASSERT_EQ(hr->rules[0].n_matches + hr->rules[0].n_backends, 0, "empty rule");
	ASSERT_EQ(hr->n_parents + hr->n_hostnames, 0, "no parents, no hostnames");
	/* unsupported protocol and invalid port are kept for status */
	ASSERT_EQ(st->gateways[0].listeners[0].proto, XGW_PROTO_UNKNOWN, "SCTP");
	ASSERT_STREQ(st->gateways[0].listeners[0].proto_name, "SCTP", "proto_name");
	ASSERT_EQ(st->gateways[0].listeners[0].port, 0, "port 0 kept");
	ASSERT_TRUE(st->namespaces[0].meta.ns == NULL, "Namespace has no namespace");
	if (ASSERT_EQ(st->n_errors, 1, "the bad item")) {
		ASSERT_STREQ(st->errors[0].message, "items[3]: unknown kind Gatewy (apiVersion v1)",
			     "msg");
		ASSERT_STREQ(st->errors[0].name, "bad", "name");
		ASSERT_EQ(st->errors[0].origin.line, 15, "line of the item");
	}
out:
	xgw_store__free(st);
}

TEST(route_details)
{
	struct xgw_store *st = load_str(
		"route.yaml",
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: HTTPRoute\n"
		"metadata: {name: r, namespace: apps}\n"
		"spec:\n"
		"  parentRefs:\n"
		"  - {name: eg, namespace: infra, sectionName: http, port: 8080}\n"
		"  - {group: example.com, kind: Mesh, name: m}\n"
		"  rules:\n"
		"  - name: api\n"
		"    matches:\n"
		"    - path: {type: Exact, value: /api}\n"
		"      method: GET\n"
		"      headers: [{name: x-v, value: \"2\"}, {type: RegularExpression, name: y,"
		" value: \"a.*\"}]\n"
		"      queryParams: [{name: q, value: \"1\"}]\n"
		"    - headers: [{name: h, value: v}]\n"
		"    - path: {type: RegularExpression}\n"
		"    filters:\n"
		"    - type: RequestHeaderModifier\n"
		"      requestHeaderModifier:\n"
		"        set: [{name: X-Set, value: s}]\n"
		"        add: [{name: X-Add, value: a}]\n"
		"        remove: [X-Gone]\n"
		"    - {type: URLRewrite, urlRewrite: {hostname: h.example, path: {type: "
		"ReplacePrefixMatch, replacePrefixMatch: /new}}}\n"
		"    - {type: RequestRedirect, requestRedirect: {scheme: https, port: 8443, "
		"statusCode: 301, path: {type: ReplaceFullPath, replaceFullPath: /full}}}\n"
		"    - {type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, "
		"fraction: {numerator: 1, denominator: 4}}}\n"
		"    - {type: CORS, cors: {allowOrigins: ['*', 'https://*.a.test'], allowMethods: "
		"[GET], allowHeaders: [x-h], exposeHeaders: [x-e, x-f], allowCredentials: true}}\n"
		"    timeouts: {request: 1m30s, backendRequest: 500ms}\n"
		"    retry: {codes: [500, 503, 429], attempts: 3, backoff: 1s100ms}\n"
		"    sessionPersistence: {sessionName: sid, absoluteTimeout: 2h, idleTimeout: 30m, "
		"cookieConfig: {lifetimeType: Permanent}}\n"
		"    backendRefs:\n"
		"    - {name: a, port: 8080, weight: 0, namespace: other, filters: [{type: "
		"ResponseHeaderModifier, responseHeaderModifier: {remove: [server]}}]}\n"
		"    - {group: example.com, kind: Bucket, name: b}\n"
		"  - {}\n"
		"  hostnames: [\"*.example.com\", example.org]\n");
	const struct xgw_httproute *hr;
	const struct xgw_http_rule *r;

	if (!st)
		return;
	if (!ASSERT_EQ(st->n_errors, 0, "errors")) {
		dump_errors(st);
		goto out;
	}
	if (!ASSERT_EQ(st->n_httproutes, 1, "route"))
		goto out;
	hr = &st->httproutes[0];
	if (ASSERT_EQ(hr->n_parents, 2, "parents")) {
		ASSERT_STREQ(hr->parents[0].ns, "infra", "parent ns");
		ASSERT_STREQ(hr->parents[0].section_name, "http", "sectionName");
		ASSERT_EQ(hr->parents[0].port, 8080, "parent port");
		ASSERT_STREQ(hr->parents[1].group, "example.com", "parent group");
		ASSERT_STREQ(hr->parents[1].kind, "Mesh", "parent kind");
	}
	if (ASSERT_EQ(hr->n_hostnames, 2, "hostnames"))
		ASSERT_STREQ(hr->hostnames[0], "*.example.com", "wildcard");
	if (!ASSERT_EQ(hr->n_rules, 2, "rules"))
		goto out;
	r = &hr->rules[0];
	ASSERT_STREQ(r->name, "api", "rule name");
	ASSERT_EQ(r->timeout_request_ms, 90000, "timeouts.request");
	ASSERT_EQ(r->timeout_backend_ms, 500, "timeouts.backendRequest");
	if (ASSERT_EQ(r->n_filters, 5, "filters")) {
		const struct xgw_http_filter *f = r->filters;

		ASSERT_EQ(f[0].type, XGW_HF_REQUEST_HEADER, "header modifier");
		if (ASSERT_EQ(f[0].n_set, 1, "set") && ASSERT_EQ(f[0].n_add, 1, "add") &&
		    ASSERT_EQ(f[0].n_remove, 1, "remove")) {
			ASSERT_STREQ(f[0].set[0].name, "X-Set", "set name");
			ASSERT_STREQ(f[0].add[0].value, "a", "add value");
			ASSERT_STREQ(f[0].remove[0], "X-Gone", "remove name");
		}
		ASSERT_EQ(f[1].type, XGW_HF_URL_REWRITE, "rewrite");
		ASSERT_STREQ(f[1].hostname, "h.example", "rewrite host");
		ASSERT_EQ(f[1].path_mod, XGW_PM_PREFIX, "prefix");
		ASSERT_STREQ(f[1].path, "/new", "rewrite path");
		ASSERT_EQ(f[2].type, XGW_HF_REDIRECT, "redirect");
		ASSERT_STREQ(f[2].scheme, "https", "scheme");
		ASSERT_EQ(f[2].port, 8443, "port");
		ASSERT_EQ(f[2].status_code, 301, "status");
		ASSERT_EQ(f[2].path_mod, XGW_PM_FULL, "full path");
		ASSERT_EQ(f[3].type, XGW_HF_MIRROR, "mirror");
		if (ASSERT_OK_PTR(f[3].mirror, "mirror ref"))
			ASSERT_STREQ(f[3].mirror->name, "m", "mirror backend");
		ASSERT_EQ(f[3].mirror_num, 1, "numerator");
		ASSERT_EQ(f[3].mirror_den, 4, "denominator");
		ASSERT_EQ(f[4].type, XGW_HF_CORS, "CORS");
		if (ASSERT_EQ(f[4].cors.n_origins, 2, "origins") &&
		    ASSERT_EQ(f[4].cors.n_expose, 2, "expose")) {
			ASSERT_STREQ(f[4].cors.origins[1], "https://*.a.test", "origin");
			ASSERT_STREQ(f[4].cors.expose[1], "x-f", "expose");
		}
		if (ASSERT_EQ(f[4].cors.n_methods, 1, "methods") &&
		    ASSERT_EQ(f[4].cors.n_headers, 1, "headers")) {
			ASSERT_STREQ(f[4].cors.methods[0], "GET", "method");
			ASSERT_STREQ(f[4].cors.headers[0], "x-h", "header");
		}
		ASSERT_TRUE(f[4].cors.credentials, "allowCredentials");
		ASSERT_EQ(f[4].cors.max_age, 5, "maxAge default");
	}
	ASSERT_TRUE(r->retry.set, "retry");
	ASSERT_EQ(r->retry.attempts, 3, "attempts");
	ASSERT_EQ(r->retry.backoff_ms, 1100, "backoff");
	if (ASSERT_EQ(r->retry.n_codes, 3, "codes"))
		ASSERT_EQ(r->retry.codes[2], 429, "code");
	ASSERT_FALSE(hr->rules[1].retry.set, "no retry block");
	ASSERT_EQ(r->session.type, XGW_SESSION_COOKIE, "session type defaults to Cookie");
	ASSERT_STREQ(r->session.name, "sid", "sessionName");
	ASSERT_EQ(r->session.absolute_ms, 7200000, "absoluteTimeout");
	ASSERT_EQ(r->session.idle_ms, 1800000, "idleTimeout");
	ASSERT_TRUE(r->session.permanent, "Permanent");
	ASSERT_EQ(hr->rules[1].session.type, XGW_SESSION_NONE, "no sessionPersistence");
	if (ASSERT_EQ(r->n_matches, 3, "matches")) {
		ASSERT_EQ(r->matches[0].path_type, XGW_MATCH_PATH_EXACT, "Exact");
		ASSERT_STREQ(r->matches[0].path, "/api", "path");
		ASSERT_STREQ(r->matches[0].method, "GET", "method");
		if (ASSERT_EQ(r->matches[0].n_headers, 2, "headers")) {
			ASSERT_STREQ(r->matches[0].headers[0].type, "Exact", "header type default");
			ASSERT_STREQ(r->matches[0].headers[0].name, "x-v", "header name");
			ASSERT_STREQ(r->matches[0].headers[0].value, "2", "header value");
			ASSERT_STREQ(r->matches[0].headers[1].type, "RegularExpression", "regex");
		}
		if (ASSERT_EQ(r->matches[0].n_query, 1, "query"))
			ASSERT_STREQ(r->matches[0].query[0].name, "q", "query name");
		ASSERT_EQ(r->matches[1].path_type, XGW_MATCH_PATH_PREFIX, "path default type");
		ASSERT_STREQ(r->matches[1].path, "/", "path default value");
		ASSERT_EQ(r->matches[2].path_type, XGW_MATCH_PATH_REGEX, "regex path");
		ASSERT_STREQ(r->matches[2].path, "/", "value default");
	}
	if (ASSERT_EQ(r->n_backends, 2, "backends")) {
		ASSERT_EQ(r->backends[0].weight, 0, "weight 0 kept");
		ASSERT_STREQ(r->backends[0].ns, "other", "backend ns");
		if (ASSERT_EQ(r->backends[0].n_filters, 1, "backend filters"))
			ASSERT_EQ(r->backends[0].filters[0].type, XGW_HF_RESPONSE_HEADER,
				  "backend filter type");
		ASSERT_STREQ(r->backends[1].kind, "Bucket", "backend kind");
		ASSERT_EQ(r->backends[1].port, 0, "no port");
		ASSERT_EQ(r->backends[1].weight, 1, "weight default");
	}
	ASSERT_EQ(hr->rules[1].n_matches + hr->rules[1].n_backends, 0, "empty rule");
out:
	xgw_store__free(st);
}

TEST(gateway_details)
{
	struct xgw_store *st = load_str(
		"gw.yaml",
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: Gateway\n"
		"metadata: {name: g, namespace: infra}\n"
		"spec:\n"
		"  gatewayClassName: xgw\n"
		"  addresses: [{value: 10.0.0.1}, {type: Hostname, value: gw.example}, {type: "
		"example.com/pool}]\n"
		"  listeners:\n"
		"  - name: tls\n"
		"    hostname: secure.example\n"
		"    port: 70000\n"
		"    protocol: TLS\n"
		"    tls: {mode: Passthrough}\n"
		"    allowedRoutes:\n"
		"      kinds: [{kind: TLSRoute}, {group: example.com, kind: Thing}]\n"
		"      namespaces:\n"
		"        from: Selector\n"
		"        selector:\n"
		"          matchExpressions:\n"
		"          - {key: env, operator: In, values: [prod, staging]}\n"
		"          - {key: team, operator: Exists}\n"
		"  - {name: udp, port: 53, protocol: UDP, allowedRoutes: {namespaces: {from: "
		"None}}}\n"
		"  - {name: tcp, port: 9000, protocol: TCP}\n"
		"  - {name: h, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: c}]}}\n");
	const struct xgw_gateway *gw;
	const struct xgw_gw_listener *l;

	if (!st)
		return;
	if (!ASSERT_EQ(st->n_errors, 0, "errors")) {
		dump_errors(st);
		goto out;
	}
	if (!ASSERT_EQ(st->n_gateways, 1, "gateway"))
		goto out;
	gw = &st->gateways[0];
	if (ASSERT_EQ(gw->n_addresses, 3, "addresses")) {
		ASSERT_STREQ(gw->addresses[0].type, "IPAddress", "address type default");
		ASSERT_STREQ(gw->addresses[0].value, "10.0.0.1", "address");
		ASSERT_STREQ(gw->addresses[1].type, "Hostname", "Hostname");
		ASSERT_TRUE(gw->addresses[2].value == NULL, "value optional");
	}
	if (!ASSERT_EQ(gw->n_listeners, 4, "listeners"))
		goto out;
	l = &gw->listeners[0];
	ASSERT_EQ(l->proto, XGW_PROTO_TLS, "TLS");
	ASSERT_EQ(l->port, 70000, "out-of-range port kept for status");
	ASSERT_STREQ(l->hostname, "secure.example", "hostname");
	ASSERT_STREQ(l->tls_mode, "Passthrough", "mode");
	ASSERT_EQ(l->from, XGW_FROM_SELECTOR, "Selector");
	if (ASSERT_EQ(l->n_kinds, 2, "kinds")) {
		ASSERT_STREQ(l->kinds[0].group, XGW_GATEWAY_GROUP, "kind group default");
		ASSERT_STREQ(l->kinds[0].kind, "TLSRoute", "kind");
		ASSERT_STREQ(l->kinds[1].group, "example.com", "kind group");
	}
	if (ASSERT_EQ(l->selector.n_exprs, 2, "exprs")) {
		ASSERT_STREQ(l->selector.exprs[0].key, "env", "expr key");
		ASSERT_STREQ(l->selector.exprs[0].op, "In", "expr op");
		if (ASSERT_EQ(l->selector.exprs[0].n_values, 2, "values"))
			ASSERT_STREQ(l->selector.exprs[0].values[1], "staging", "value");
		ASSERT_EQ(l->selector.exprs[1].n_values, 0, "Exists");
	}
	ASSERT_EQ(gw->listeners[1].proto, XGW_PROTO_UDP, "UDP");
	ASSERT_EQ(gw->listeners[1].from, XGW_FROM_NONE, "None");
	ASSERT_EQ(gw->listeners[2].proto, XGW_PROTO_TCP, "TCP");
	ASSERT_EQ(gw->listeners[2].from, XGW_FROM_SAME, "from default");
	l = &gw->listeners[3];
	ASSERT_STREQ(l->tls_mode, "Terminate", "mode default");
	if (ASSERT_EQ(l->n_cert_refs, 1, "cert refs")) {
		ASSERT_STREQ(l->cert_refs[0].kind, "Secret", "cert kind default");
		ASSERT_STREQ(l->cert_refs[0].group, "", "cert group default");
		ASSERT_TRUE(l->cert_refs[0].ns == NULL, "cert ns");
	}
out:
	xgw_store__free(st);
}

/* Listener names are the list's key: a second listener of a name fails the object. */
TEST(listener_names_unique)
{
	struct xgw_store *st = load_str(
		"l.yaml", GW_HEAD "  listeners:\n"
				  "  - {name: web, protocol: HTTP, port: 80}\n"
				  "  - {name: api, protocol: HTTP, port: 81}\n"
				  "  - {name: web, protocol: HTTP, port: 82}\n"
				  "---\n"
				  "apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\n"
				  "metadata: {name: ls}\nspec:\n  parentRef: {name: eg}\n"
				  "  listeners:\n"
				  "  - {name: a, protocol: HTTP, port: 90}\n"
				  "  - {name: a, protocol: HTTP, port: 91}\n"
				  "---\n" GW_HEAD "  listeners:\n"
				  "  - {name: web, protocol: HTTP, port: 80}\n"
				  "  - {name: web2, protocol: HTTP, port: 80}\n");

	if (!st)
		return;
	if (!ASSERT_EQ(st->n_errors, 2, "errors")) {
		dump_errors(st);
		goto out;
	}
	ASSERT_STREQ(st->errors[0].message,
		     "spec.listeners[2].name: \"web\" is the name of listeners[0] too: listener "
		     "names must be unique",
		     "Gateway");
	ASSERT_STREQ(st->errors[1].message,
		     "spec.listeners[1].name: \"a\" is the name of listeners[0] too: listener "
		     "names must be unique",
		     "ListenerSet");
	ASSERT_EQ(st->n_gateways, 1, "the Gateway with distinct names stays");
	ASSERT_EQ(st->n_listenersets, 0, "the ListenerSet is refused");
out:
	xgw_store__free(st);
}

TEST(listenerset_details)
{
	struct xgw_store *st = load_str(
		"ls.yaml",
		"apiVersion: gateway.networking.k8s.io/v1\n"
		"kind: Gateway\n"
		"metadata: {name: g, namespace: infra}\n"
		"spec:\n"
		"  gatewayClassName: xgw\n"
		"  listeners: [{name: h, port: 80, protocol: HTTP}]\n"
		"  allowedListeners:\n"
		"    namespaces: {from: Selector, selector: {matchLabels: {team: a}}}\n"
		"---\napiVersion: gateway.networking.k8s.io/v1\n"
		"kind: Gateway\n"
		"metadata: {name: closed, namespace: infra}\n"
		"spec: {gatewayClassName: xgw, listeners: [{name: h, port: 80, protocol: HTTP}]}\n"
		"---\napiVersion: gateway.networking.k8s.io/v1\n"
		"kind: ListenerSet\n"
		"metadata: {name: ls, namespace: apps, creationTimestamp: '2026-01-02T03:04:05Z'}\n"
		"spec:\n"
		"  parentRef: {name: g, namespace: infra}\n"
		"  listeners:\n"
		"  - {name: a, port: 8080, protocol: HTTP, hostname: a.example}\n"
		"  - {name: s, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: c}]}}\n"
		"---\napiVersion: gateway.networking.k8s.io/v1\n"
		"kind: ListenerSet\n"
		"metadata: {name: noparent}\n"
		"spec: {listeners: [{name: a, port: 80, protocol: HTTP}]}\n");
	const struct xgw_listenerset *ls;

	if (!st)
		return;
	ASSERT_EQ(st->n_errors, 1, "ListenerSet without parentRef");
	if (!ASSERT_EQ(st->n_gateways, 2, "gateways") ||
	    !ASSERT_EQ(st->n_listenersets, 1, "listenersets"))
		goto out;
	ASSERT_EQ(st->gateways[0].allowed_listeners, XGW_FROM_SELECTOR, "allowedListeners");
	ASSERT_EQ(st->gateways[0].listeners_selector.n_match_labels, 1, "selector");
	ASSERT_EQ(st->gateways[1].allowed_listeners, XGW_FROM_NONE, "allowedListeners default");
	ls = &st->listenersets[0];
	ASSERT_STREQ(ls->meta.creation_timestamp, "2026-01-02T03:04:05Z", "creationTimestamp");
	ASSERT_STREQ(ls->parent_group, XGW_GATEWAY_GROUP, "parent group default");
	ASSERT_STREQ(ls->parent_kind, "Gateway", "parent kind default");
	ASSERT_STREQ(ls->parent_ns, "infra", "parent namespace");
	ASSERT_STREQ(ls->parent_name, "g", "parent name");
	if (ASSERT_EQ(ls->n_listeners, 2, "listeners")) {
		ASSERT_STREQ(ls->listeners[0].hostname, "a.example", "hostname");
		ASSERT_EQ(ls->listeners[0].from, XGW_FROM_SAME, "allowedRoutes default");
		ASSERT_EQ(ls->listeners[1].proto, XGW_PROTO_HTTPS, "HTTPS");
		ASSERT_EQ(ls->listeners[1].n_cert_refs, 1, "cert refs");
	}
out:
	xgw_store__free(st);
}

TEST(core_details)
{
	struct xgw_store *st = load_str(
		"core.yaml",
		"apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
		"spec:\n  type: NodePort\n  ports:\n"
		"  - {name: web, port: 80, targetPort: http, protocol: UDP, appProtocol: h2c}\n"
		"  - {port: 81}\n"
		"---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: e, namespace: n, labels: {kubernetes.io/service-name: s, x: }}\n"
		"addressType: IPv6\n"
		"endpoints:\n"
		"- {addresses: [\"fd00::1\"], conditions: {ready: false, serving: true}}\n"
		"- {addresses: [\"fd00::2\", \"not-an-ip\"], conditions: {ready: true}}\n"
		"- {addresses: [\"fd00::4\"], conditions: {ready: null}}\n"
		"ports: [{port: 8080, protocol: SCTP}, {name: \"\"}]\n"
		"---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: bare}\naddressType: FQDN\n");
	const struct xgw_service *svc;
	const struct xgw_endpointslice *eps;

	if (!st)
		return;
	if (!ASSERT_EQ(st->n_errors, 0, "errors")) {
		dump_errors(st);
		goto out;
	}
	if (!ASSERT_EQ(st->n_services, 1, "svc") || !ASSERT_EQ(st->n_slices, 2, "slices"))
		goto out;
	svc = &st->services[0];
	ASSERT_STREQ(svc->type, "NodePort", "type");
	if (ASSERT_EQ(svc->n_ports, 2, "ports")) {
		ASSERT_EQ(svc->ports[0].target_port, 0, "named targetPort");
		ASSERT_STREQ(svc->ports[0].target_port_name, "http", "targetPort name");
		ASSERT_STREQ(svc->ports[0].protocol, "UDP", "protocol");
		ASSERT_STREQ(svc->ports[0].app_protocol, "h2c", "appProtocol");
		ASSERT_TRUE(svc->ports[1].name == NULL, "unnamed");
		ASSERT_EQ(svc->ports[1].target_port, 0, "targetPort absent");
		ASSERT_TRUE(svc->ports[1].target_port_name == NULL, "no name");
	}
	eps = &st->slices[0];
	ASSERT_STREQ(eps->meta.ns, "n", "ns");
	ASSERT_STREQ(eps->service_name, "s", "service");
	ASSERT_STREQ(xgw_meta_label(&eps->meta, "x"), "", "null label value");
	ASSERT_STREQ(eps->address_type, "IPv6", "addressType");
	if (ASSERT_EQ(eps->n_endpoints, 3, "endpoints")) {
		ASSERT_FALSE(eps->endpoints[0].ready, "ready: false");
		ASSERT_TRUE(eps->endpoints[1].ready, "ready: true");
		if (ASSERT_EQ(eps->endpoints[1].n_addresses, 2, "addresses") &&
		    ASSERT_OK_PTR(eps->endpoints[1].ips, "addresses parsed")) {
			ASSERT_EQ(eps->endpoints[1].ips[0].family, 6, "IPv6 parsed");
			ASSERT_EQ(eps->endpoints[1].ips[0].addr[15], 2, "IPv6 address");
			ASSERT_EQ(eps->endpoints[1].ips[1].family, 0, "not an IP: family 0");
		}
		ASSERT_TRUE(eps->endpoints[2].ready, "ready: null");
	}
	if (ASSERT_EQ(eps->n_ports, 2, "ports")) {
		ASSERT_STREQ(eps->ports[0].protocol, "SCTP", "protocol");
		ASSERT_TRUE(eps->ports[0].name == NULL, "no name");
		ASSERT_STREQ(eps->ports[1].name, "", "empty name");
		ASSERT_EQ(eps->ports[1].port, 0, "all ports");
	}
	eps = &st->slices[1];
	ASSERT_TRUE(eps->service_name == NULL, "no service-name label");
	ASSERT_EQ(eps->n_endpoints + eps->n_ports, 0, "bare slice");
out:
	xgw_store__free(st);
}

/* --- folders ------------------------------------------------------------ */

static bool write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!ASSERT_OK_PTR(f, path))
		return false;
	ok = fputs(text, f) >= 0;
	return ASSERT_TRUE(!fclose(f) && ok, path);
}

TEST(xgw_node)
{
	struct xgw_store *st = load_str(
		"nodes.yaml",
		"apiVersion: xgw.io/v1alpha1\nkind: XgwNode\nmetadata: {name: n1}\n"
		"spec: {address: 10.0.0.1}\n"
		"---\n"
		"apiVersion: xgw.io/v1alpha1\nkind: XgwNode\nmetadata: {name: n2, namespace: x}\n"
		"spec: {address: \"fd00::2\", weight: 3, healthy: false}\n"
		"---\n"
		"apiVersion: xgw.io/v1alpha1\nkind: XgwNode\nmetadata: {name: bad1}\n"
		"spec: {address: 10.0.0.300}\n"
		"---\n"
		"apiVersion: xgw.io/v1alpha1\nkind: XgwNode\nmetadata: {name: bad2}\n"
		"spec: {address: 10.0.0.3, weight: 1001}\n"
		"---\n"
		"apiVersion: xgw.io/v1alpha1\nkind: XgwNode\nmetadata: {name: bad3}\n"
		"spec: {weight: 1}\n"
		"---\n"
		"apiVersion: xgw.io/v1alpha1\nkind: XgwNode\nmetadata: {name: bad4}\n"
		"spec: {address: 10.0.0.4, healthy: maybe}\n"
		"---\n"
		"apiVersion: xgw.io/v1\nkind: XgwNode\nmetadata: {name: bad5}\n"
		"spec: {address: 10.0.0.5}\n"
		"---\n"
		"apiVersion: xgw.io/v1alpha1\nkind: XgwNode\nmetadata: {name: bad6}\n");
	static const char *const want[] = {
		"spec.address: expected an IPv4 or IPv6 address, got 10.0.0.300",
		"spec.weight: expected an integer in 0..1000, got \"1001\" (out of range)",
		"spec.address: required field is missing",
		"spec.healthy: expected true or false, got \"maybe\"",
		"unsupported apiVersion xgw.io/v1 for kind XgwNode",
		"spec: required field is missing",
	};
	static const uint8_t v6[16] = { 0xfd, [15] = 2 };

	if (!st)
		return;
	if (!ASSERT_EQ(st->n_nodes, 2, "nodes") || !ASSERT_EQ(st->n_errors, 6, "errors")) {
		dump_errors(st);
		goto out;
	}
	for (size_t i = 0; i < 6; i++)
		if (!ASSERT_STREQ(st->errors[i].message, want[i], "message"))
			dump_errors(st);
	ASSERT_STREQ(st->nodes[0].meta.name, "n1", "name");
	ASSERT_TRUE(st->nodes[0].meta.ns == NULL, "cluster-scoped");
	ASSERT_EQ(st->nodes[0].family, 4, "v4");
	ASSERT_EQ(st->nodes[0].addr[3], 1, "v4 address");
	ASSERT_EQ(st->nodes[0].weight, 1, "default weight");
	ASSERT_TRUE(st->nodes[0].healthy, "default healthy");
	ASSERT_STREQ(st->nodes[1].address, "fd00::2", "address as written");
	ASSERT_EQ(st->nodes[1].family, 6, "v6");
	ASSERT_TRUE(!memcmp(st->nodes[1].addr, v6, 16), "v6 address");
	ASSERT_EQ(st->nodes[1].weight, 3, "weight");
	ASSERT_FALSE(st->nodes[1].healthy, "unhealthy");
	ASSERT_STREQ(st->errors[0].kind, "XgwNode", "kind");
	ASSERT_STREQ(st->errors[0].name, "bad1", "name");
out:
	xgw_store__free(st);
}

TEST(load_dir)
{
	static const char *const files[] = { "b.yaml", "a.yml", ".hidden.yaml", "c.txt",
					     "10-first.yaml" };
	static const char *const objs[] = { SVC("b"), SVC("a"), SVC("hidden"), SVC("txt"),
					    SVC("first") };
	char dir[] = "/tmp/xgw-manifest-XXXXXX", path[PATH_MAX], slash[PATH_MAX];
	struct xgw_store *st = NULL;
	size_t n = sizeof(files) / sizeof(files[0]);

	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	for (size_t i = 0; i < n; i++)
		if (!write_file(dir, files[i], objs[i]))
			goto out;
	snprintf(path, sizeof(path), "%s/d.yaml", dir);
	if (!ASSERT_OK(mkdir(path, 0700), "mkdir d.yaml"))
		goto out;
	snprintf(path, sizeof(path), "%s/z.yaml", dir);
	if (!ASSERT_OK(symlink("missing.yaml", path), "dangling symlink"))
		goto out;

	st = xgw_store__new();
	if (!ASSERT_OK_PTR(st, "store"))
		goto out;
	if (!ASSERT_OK(xgw_store_load_dir(st, dir), "load dir"))
		goto out;
	if (ASSERT_EQ(st->n_services, 3, "services")) {
		ASSERT_STREQ(st->services[0].meta.name, "first", "sorted 0");
		ASSERT_STREQ(st->services[1].meta.name, "a", "sorted 1");
		ASSERT_STREQ(st->services[2].meta.name, "b", "sorted 2");
	}
	snprintf(path, sizeof(path), "%s/a.yml", dir);
	ASSERT_STREQ(st->services[1].meta.origin.file, path, "origin path");
	if (ASSERT_EQ(st->n_errors, 1, "the dangling link")) {
		snprintf(path, sizeof(path), "%s/z.yaml", dir);
		ASSERT_STREQ(st->errors[0].origin.file, path, "error file");
		ASSERT_STREQ(st->errors[0].message, "cannot open: No such file or directory",
			     "msg");
	} else {
		dump_errors(st);
	}
	xgw_store__free(st);

	/* a trailing slash does not double */
	st = xgw_store__new();
	snprintf(slash, sizeof(slash), "%s/", dir);
	if (ASSERT_OK_PTR(st, "store") && ASSERT_OK(xgw_store_load_dir(st, slash), "load dir/")) {
		snprintf(path, sizeof(path), "%s/10-first.yaml", dir);
		ASSERT_STREQ(st->services[0].meta.origin.file, path, "no double slash");
	}
out:
	xgw_store__free(st);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/z.yaml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/d.yaml", dir);
	rmdir(path);
	ASSERT_OK(rmdir(dir), "rmdir");
}

TEST(load_dir_missing)
{
	struct xgw_store *st = xgw_store__new();

	if (!ASSERT_OK_PTR(st, "store"))
		return;
	ASSERT_EQ(xgw_store_load_dir(st, "/nonexistent/xgw-manifests"), -ENOENT, "ENOENT");
	ASSERT_EQ(st->n_errors, 0, "no decode error for the folder itself");
	xgw_store__free(st);
	xgw_store__free(NULL);
}

/* --- objects defined twice --------------------------------------------- */

struct dup_log {
	char first[512];
	int count;
};

static void dup_seen(void *arg, const char *msg)
{
	struct dup_log *d = arg;

	if (!d->count++)
		snprintf(d->first, sizeof(d->first), "%s", msg);
}

#define EPS_E                                                                                      \
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, labels: "       \
	"{kubernetes.io/service-name: s}}\naddressType: IPv4\nendpoints: []\n"

/*
 * The same kind, namespace and name twice: the last stays (as kubectl apply of
 * a folder leaves it), the first goes, and the report names both. Another
 * namespace, or another L4 kind, is another object.
 */
TEST(dedupe)
{
	static const char a[] =
		"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
		"metadata: {name: r, namespace: default}\nspec: {hostnames: "
		"[first.example.com]}\n---\n"
		"apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\n"
		"spec: {ports: [{port: 80}]}\n---\n"
		"apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: other}\n"
		"spec: {ports: [{port: 81}]}\n---\n"
		"apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\n"
		"metadata: {name: l4}\nspec: {rules: [{backendRefs: [{name: s, port: 80}]}]}\n"
		"---\n" EPS_E;
	static const char b[] =
		"apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: UDPRoute\n"
		"metadata: {name: l4}\nspec: {rules: [{backendRefs: [{name: s, port: 80}]}]}\n---\n"
		"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
		"metadata: {name: r, namespace: default}\nspec: {hostnames: "
		"[second.example.com]}\n---\n" EPS_E;
	struct xgw_store *sa = xgw_store__new(), *sb = xgw_store__new(), *st = xgw_store__new();
	struct dup_log seen = { 0 };

	if (!ASSERT_OK_PTR(sa, "store") || !ASSERT_OK_PTR(sb, "store") ||
	    !ASSERT_OK_PTR(st, "store") ||
	    !ASSERT_OK(xgw_store_load_yaml(sa, "a.yaml", a, sizeof(a) - 1), "load a") ||
	    !ASSERT_OK(xgw_store_load_yaml(sb, "b.yaml", b, sizeof(b) - 1), "load b") ||
	    !ASSERT_EQ(sa->n_errors + sb->n_errors, 0, "decode errors") ||
	    !ASSERT_OK(xgw_store_append_all(st, (struct xgw_store *const[]){ sa, sb }, 2),
		       "merge") ||
	    !ASSERT_EQ(xgw_store_dedupe(st, false, dup_seen, &seen), 1, "one object dropped"))
		goto out;
	ASSERT_EQ(seen.count, 2, "an HTTPRoute and an EndpointSlice defined twice");
	ASSERT_EQ(st->n_slices, 1, "one EndpointSlice e");
	ASSERT_TRUE(strstr(seen.first, "HTTPRoute default/r is defined more than once: a.yaml "
				       "document 1 (line 1) is ignored, b.yaml document 2 (line 5) "
				       "is used"),
		    seen.first);
	if (ASSERT_EQ(st->n_httproutes, 1, "one HTTPRoute r"))
		ASSERT_STREQ(st->httproutes[0].hostnames[0], "second.example.com", "the last one");
	ASSERT_EQ(st->n_services, 2, "s in two namespaces: two Services");
	if (ASSERT_EQ(st->n_l4routes, 2, "a TCPRoute and a UDPRoute of one name: two routes"))
		ASSERT_EQ(st->l4routes[0].kind, XGW_L4_TCP, "in their order");
	/* slices only: the others are left as they are */
	xgw_store__free(st);
	st = xgw_store__new();
	if (!ASSERT_OK_PTR(st, "store") ||
	    !ASSERT_OK(xgw_store_append_all(st, (struct xgw_store *const[]){ sa, sb }, 2),
		       "merge") ||
	    !ASSERT_EQ(xgw_store_dedupe(st, true, dup_seen, &seen), 0, "slices only"))
		goto out;
	ASSERT_EQ(st->n_slices, 1, "the slice defined twice is taken once");
	ASSERT_EQ(st->n_httproutes, 2, "the routes are not looked at");
out:
	xgw_store__free(st);
	xgw_store__free(sa);
	xgw_store__free(sb);
}

TEST_MAIN()
