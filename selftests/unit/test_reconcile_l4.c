// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The reconciler and L4 listeners: TCP, UDP and TLS (passthrough, terminate,
 * both on one port) with TCPRoute, UDPRoute and TLSRoute. Checks the snapshot
 * as include/xgw/snapshot.h lays L4 listeners out (proto, vhosts and their
 * flags, the one match, rule weights, clusters, endpoints, server names and
 * certificates), the BPF listener entries, and the statuses of what cannot
 * attach or resolve; and the decoding of the three kinds.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert-fixture.h"
#include "reconcile-fixture.h"
#include "source_files.h"

static char yaml[65536];

static size_t text(size_t off, const char *s)
{
	return off + (size_t)snprintf(yaml + off, sizeof(yaml) - off, "%s", s);
}

static const struct xgw_listener_status *lsn(const struct xgw_gateway_status *g, const char *name)
{
	for (size_t i = 0; g && i < g->n_listeners; i++)
		if (!strcmp(g->listeners[i].name, name))
			return &g->listeners[i];
	return NULL;
}

/* The conditions of the first parent of route <name> (an empty set if none). */
static const struct xgw_conds *pconds(struct fixture *f, const char *name)
{
	static const struct xgw_conds none;
	const struct xgw_route_status *r = route(f, name);

	return r && r->n_parents ? &r->parents[0].conds : &none;
}

static const struct xgw_snap_listener *snap_l(struct fixture *f, uint16_t port, uint8_t proto)
{
	for (uint32_t i = 0; i < f->snap.n_listeners; i++)
		if (f->snap.listeners[i].port == port && f->snap.listeners[i].proto == proto)
			return &f->snap.listeners[i];
	return NULL;
}

static const struct xgw_bpf_listener *bpf_l(struct fixture *f, uint16_t port, uint8_t ipproto)
{
	for (size_t i = 0; i < f->res.n_listeners; i++)
		if (f->res.listeners[i].port == port && f->res.listeners[i].proto == ipproto)
			return &f->res.listeners[i];
	return NULL;
}

static bool has_problem(struct fixture *f, const char *needle)
{
	for (size_t i = 0; i < f->res.n_problems; i++)
		if (strstr(f->res.problems[i], needle))
			return true;
	return false;
}

/* The rule the one match of vhost <v> leads to. */
static const struct xgw_snap_rule *vhost_rule(struct fixture *f, const struct xgw_snap_vhost *v)
{
	const struct xgw_snap_match *m;

	if (!ASSERT_EQ(v->match_count, 1, "one match per L4 vhost"))
		return NULL;
	m = &f->snap.matches[v->match_first];
	ASSERT_EQ(m->path_type, XGW_PATH_PREFIX, "PREFIX");
	ASSERT_STREQ(str(f, m->path), "/", "path /");
	ASSERT_EQ(m->method.len, 0, "no method");
	ASSERT_EQ(m->kv_count, 0, "no kvs");
	return &f->snap.rules[m->rule];
}

#define TCP_UDP_OBJECTS                                                                            \
	CLASS GATEWAY(                                                                             \
		"l4",                                                                              \
		"  - {name: tcp, protocol: TCP, port: 9000}\n"                                     \
		"  - {name: udp, protocol: UDP, port: 9000}\n"                                     \
		"  - {name: dns, protocol: UDP, port: 5300}\n") "apiVersion: v1\nkind: "           \
								"Service\nmetadata: {name: echo, " \
								"namespace: default}\n"            \
								"spec: {ports: [{name: tcp, "      \
								"port: 3000, targetPort: "         \
								"3001}]}\n---\n"                   \
								"apiVersion: "                     \
								"discovery.k8s.io/v1\nkind: "      \
								"EndpointSlice\nmetadata:\n  "     \
								"name: echo-x\n"                   \
								"  namespace: default\n  labels: " \
								"{kubernetes.io/service-name: "    \
								"echo}\n"                          \
								"addressType: IPv4\nports: "       \
								"[{name: tcp, port: 3001}]\n"      \
								"endpoints:\n- addresses: "        \
								"[10.23.2.1]\n- addresses: "       \
								"[10.23.2.2]\n"                    \
								"  conditions: {ready: "           \
								"false}\n---\n"                    \
								"apiVersion: v1\nkind: "           \
								"Service\nmetadata: {name: dns, "  \
								"namespace: default}\n"            \
								"spec: {ports: [{name: d-tcp, "    \
								"port: 53, protocol: TCP}, "       \
								"{name: d-udp, port: 53, "         \
								"protocol: UDP}]}\n---\n"          \
								"apiVersion: "                     \
								"discovery.k8s.io/v1\nkind: "      \
								"EndpointSlice\nmetadata:\n  "     \
								"name: dns-x\n"                    \
								"  namespace: default\n  labels: " \
								"{kubernetes.io/service-name: "    \
								"dns}\n"                           \
								"addressType: IPv4\nports: "       \
								"[{name: d-tcp, port: 5353, "      \
								"protocol: TCP}, {name: d-udp, "   \
								"port: 5354, protocol: "           \
								"UDP}]\nendpoints:\n- addresses: " \
								"[10.23.3.1]\n---\n"               \
								"apiVersion: "                     \
								"gateway.networking.k8s.io/"       \
								"v1alpha2\nkind: TCPRoute\n"       \
								"metadata: {name: old, "           \
								"namespace: default, "             \
								"creationTimestamp: "              \
								"'2026-01-01T00:00:00Z'}\n"        \
								"spec:\n  parentRefs: [{name: "    \
								"l4, sectionName: tcp}]\n"         \
								"  rules: [{backendRefs: [{name: " \
								"echo, port: 3000, weight: 3}, "   \
								"{name: dns, port: 53}]}]\n"       \
								"---\n"                            \
								"apiVersion: "                     \
								"gateway.networking.k8s.io/"       \
								"v1alpha2\nkind: TCPRoute\n"       \
								"metadata: {name: a-new, "         \
								"namespace: default, "             \
								"creationTimestamp: "              \
								"'2026-02-01T00:00:00Z'}\n"        \
								"spec:\n  parentRefs: [{name: "    \
								"l4, port: 9000}]\n"               \
								"  rules: [{backendRefs: [{name: " \
								"echo, port: 3000}]}]\n---\n"      \
								"apiVersion: "                     \
								"gateway.networking.k8s.io/"       \
								"v1alpha2\nkind: UDPRoute\n"       \
								"metadata: {name: u, namespace: "  \
								"default}\n"                       \
								"spec:\n  parentRefs: [{name: "    \
								"l4, sectionName: dns}, {name: "   \
								"l4, sectionName: udp}]\n"         \
								"  rules: [{backendRefs: [{name: " \
								"dns, port: 53}]}]\n---\n"

TEST(tcp_and_udp)
{
	struct fixture f;

	if (!run(&f, TCP_UDP_OBJECTS, NULL, 0))
		goto out;
	const struct xgw_gateway_status *g = gw(&f, "l4");

	/* TCP and UDP on one port do not conflict */
	ASSERT_COND(&lsn(g, "tcp")->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&lsn(g, "udp")->conds, "Accepted", "True", "Accepted");
	ASSERT_STREQ(lsn(g, "tcp")->supported_kinds[0], "TCPRoute", "tcp kind");
	ASSERT_STREQ(lsn(g, "udp")->supported_kinds[0], "UDPRoute", "udp kind");
	/* two TCPRoutes on one listener: both attached and accepted, the older serves */
	ASSERT_EQ(lsn(g, "tcp")->attached_routes, 2, "tcp attachedRoutes");
	ASSERT_EQ(lsn(g, "udp")->attached_routes, 1, "udp attachedRoutes");
	ASSERT_EQ(lsn(g, "dns")->attached_routes, 1, "dns attachedRoutes");
	ASSERT_COND(pconds(&f, "old"), "Accepted", "True", "Accepted");
	ASSERT_COND(pconds(&f, "a-new"), "Accepted", "True", "Accepted");
	ASSERT_COND(pconds(&f, "a-new"), "ResolvedRefs", "True", "ResolvedRefs");
	ASSERT_STREQ(route(&f, "old")->kind, "TCPRoute", "route status kind");
	ASSERT_STREQ(route(&f, "u")->kind, "UDPRoute", "route status kind");
	ASSERT_EQ(route(&f, "u")->n_parents, 2, "two parents");
	ASSERT_TRUE(has_problem(&f, "TCPRoute default/a-new gets no traffic on listener tcp: "
				    "TCPRoute default/old serves it (older"),
		    "the loser is reported");

	const struct xgw_snap_listener *tl = snap_l(&f, 9000, XGW_LPROTO_TCP);
	const struct xgw_snap_listener *ul = snap_l(&f, 9000, XGW_LPROTO_UDP);

	if (!ASSERT_OK_PTR(tl, "TCP listener") || !ASSERT_OK_PTR(ul, "UDP listener"))
		goto out;
	ASSERT_EQ(f.snap.n_listeners, 3, "three snapshot listeners");
	ASSERT_STREQ(str(&f, tl->name), "default/l4/tcp", "listener name");
	ASSERT_EQ(tl->sni_count, 0, "no server names");
	if (!ASSERT_EQ(tl->vhost_count, 1, "one vhost"))
		goto out;
	const struct xgw_snap_vhost *v = &f.snap.vhosts[tl->vhost_first];
	const struct xgw_snap_rule *r = vhost_rule(&f, v);

	ASSERT_EQ(v->hostname.len, 0, "vhost hostname empty");
	ASSERT_EQ(v->flags, 0, "no flags");
	if (!ASSERT_OK_PTR(r, "rule"))
		goto out;
	ASSERT_STREQ(str(&f, r->route), "default/old", "the older route serves");
	if (!ASSERT_EQ(r->backend_count, 2, "two backends"))
		goto out;
	ASSERT_EQ(r->total_weight, 4, "total weight");
	const struct xgw_snap_backend *b = &f.snap.backends[r->backend_first];

	ASSERT_EQ(b[0].weight, 3, "weight 3");
	ASSERT_EQ(b[1].weight, 1, "default weight 1");
	const struct xgw_snap_cluster *c0 = &f.snap.clusters[b[0].cluster];
	const struct xgw_snap_cluster *c1 = &f.snap.clusters[b[1].cluster];

	ASSERT_STREQ(str(&f, c0->name), "default/echo:3000", "cluster name");
	if (ASSERT_EQ(c0->ep_count, 1, "one ready endpoint"))
		ASSERT_EQ(f.snap.endpoints[c0->ep_first].port, 3001, "target port");
	/* TCP routes take the Service's TCP port 53 */
	if (ASSERT_EQ(c1->ep_count, 1, "dns endpoint"))
		ASSERT_EQ(f.snap.endpoints[c1->ep_first].port, 5353, "TCP port of dns");

	/* UDP: the UDP port of the Service, steered as UDP */
	if (!ASSERT_EQ(ul->vhost_count, 1, "one UDP vhost"))
		goto out;
	r = vhost_rule(&f, &f.snap.vhosts[ul->vhost_first]);
	if (!ASSERT_OK_PTR(r, "UDP rule") || !ASSERT_EQ(r->backend_count, 1, "UDP backend"))
		goto out;
	c1 = &f.snap.clusters[f.snap.backends[r->backend_first].cluster];
	if (ASSERT_EQ(c1->ep_count, 1, "dns UDP endpoint"))
		ASSERT_EQ(f.snap.endpoints[c1->ep_first].port, 5354, "UDP port of dns");
	ASSERT_TRUE(c0 != c1, "TCP and UDP ports are distinct clusters");
	ASSERT_OK_PTR(bpf_l(&f, 9000, IPPROTO_TCP), "BPF entry 9000/tcp");
	ASSERT_OK_PTR(bpf_l(&f, 9000, IPPROTO_UDP), "BPF entry 9000/udp");
	ASSERT_OK_PTR(bpf_l(&f, 5300, IPPROTO_UDP), "BPF entry 5300/udp");
	ASSERT_EQ(f.res.n_listeners, 3, "three BPF entries");
out:
	done(&f);
}

static struct pem64 c1;

/* A kubernetes.io/tls Secret of c1 in default. */
static size_t secret(size_t off, const char *name)
{
	return off + (size_t)snprintf(yaml + off, sizeof(yaml) - off,
				      "apiVersion: v1\nkind: Secret\nmetadata: {name: %s, "
				      "namespace: default}\ntype: kubernetes.io/tls\n"
				      "data: {tls.crt: %s, tls.key: %s}\n---\n",
				      name, c1.crt, c1.key);
}

/* A TLSRoute of apiVersion gateway.networking.k8s.io/<ver> to Service echo. */
#define TLS_ROUTE(ver, name, ts, parents, hostnames)                                               \
	"apiVersion: gateway.networking.k8s.io/" ver "\nkind: TLSRoute\nmetadata: {name: " name    \
	", namespace: default, creationTimestamp: '" ts "'}\nspec:\n  parentRefs: " parents        \
	"\n" hostnames "  rules: [{backendRefs: [{name: echo, port: 80}]}]\n---\n"

TEST(tls_passthrough_terminate_mixed)
{
	struct fixture f;
	size_t o = 0;

	if (!ASSERT_TRUE(make_cert("one", &c1), "certificate"))
		return;
	o = secret(o, "s1");
	o = text(o, CLASS SERVICE("echo"));
	o = text(o,
		 GATEWAY("t",
			 "  - {name: pt, protocol: TLS, port: 8443, hostname: '*.pt.test', tls: "
			 "{mode: Passthrough}}\n"
			 "  - {name: term, protocol: TLS, port: 8443, hostname: a.term.test, tls: "
			 "{mode: Terminate, certificateRefs: [{name: s1}]}}\n"
			 "  - {name: any, protocol: TLS, port: 9443, tls: {mode: Passthrough}}\n"
			 "  - {name: dflt, protocol: TLS, port: 9444, tls: {certificateRefs: "
			 "[{name: s1}]}}\n"
			 "  - {name: idle, protocol: TLS, port: 9445, tls: {certificateRefs: "
			 "[{name: s1}]}}\n"));
	/* "pt" takes two names on listener pt; "late" asks for the wildcard that
	 * "pt", older, has; "term" one name of the terminating listener */
	o = text(o, TLS_ROUTE("v1", "pt", "2026-01-01T00:00:00Z", "[{name: t, sectionName: pt}]",
			      "  hostnames: [X.pt.test, '*.pt.test', other.test]\n"));
	o = text(o, TLS_ROUTE("v1alpha2", "late", "2026-03-01T00:00:00Z",
			      "[{name: t, sectionName: pt}]", ""));
	o = text(o, TLS_ROUTE("v1", "term", "2026-01-01T00:00:00Z", "[{name: t, port: 8443}]",
			      "  hostnames: [a.term.test]\n"));
	o = text(o, TLS_ROUTE("v1alpha3", "anyname", "2026-01-01T00:00:00Z",
			      "[{name: t, sectionName: any}]", ""));
	text(o, TLS_ROUTE("v1", "deflt", "2026-01-01T00:00:00Z", "[{name: t, sectionName: dflt}]",
			  "  hostnames: [x.test]\n"));
	if (!run(&f, yaml, NULL, 0))
		goto out;
	const struct xgw_gateway_status *g = gw(&f, "t");

	/* a Passthrough and a Terminate listener share a port by server name */
	ASSERT_COND(&lsn(g, "pt")->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&lsn(g, "term")->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&lsn(g, "term")->conds, "ResolvedRefs", "True", "ResolvedRefs");
	ASSERT_COND(&lsn(g, "term")->conds, "Programmed", "True", "Programmed");
	ASSERT_STREQ(lsn(g, "term")->supported_kinds[0], "TLSRoute", "terminate: TLSRoute");
	ASSERT_STREQ(lsn(g, "pt")->supported_kinds[0], "TLSRoute", "passthrough: TLSRoute");
	ASSERT_EQ(lsn(g, "pt")->attached_routes, 2, "pt attachedRoutes");
	/* a route with only a.term.test does not meet *.pt.test: only term counts it */
	ASSERT_EQ(lsn(g, "term")->attached_routes, 1, "term attachedRoutes");
	ASSERT_COND(pconds(&f, "late"), "Accepted", "True", "Accepted");
	ASSERT_TRUE(has_problem(&f, "TLSRoute default/late gets no traffic on listener pt for "
				    "*.pt.test: TLSRoute default/pt serves it (older"),
		    "the loser is reported");

	const struct xgw_snap_listener *l = snap_l(&f, 8443, XGW_LPROTO_TLS);

	if (!ASSERT_OK_PTR(l, "TLS listener 8443"))
		goto out;
	ASSERT_STREQ(str(&f, l->name), "default/t:8443", "one listener for the port group");
	if (!ASSERT_EQ(l->vhost_count, 3, "three server names"))
		goto out;
	const struct xgw_snap_vhost *v = &f.snap.vhosts[l->vhost_first];

	ASSERT_STREQ(str(&f, v[0].hostname), "a.term.test", "exact names first");
	ASSERT_EQ(v[0].flags, XGW_VHOST_TLS_TERMINATE, "terminated");
	ASSERT_STREQ(str(&f, v[1].hostname), "x.pt.test", "lower-cased");
	ASSERT_EQ(v[1].flags, 0, "passed through");
	ASSERT_STREQ(str(&f, v[2].hostname), "*.pt.test", "then the wildcard");
	ASSERT_EQ(v[2].flags, 0, "passed through");
	const struct xgw_snap_rule *r = vhost_rule(&f, &v[2]);

	if (ASSERT_OK_PTR(r, "wildcard rule"))
		ASSERT_STREQ(str(&f, r->route), "default/pt", "the older route has the wildcard");
	r = vhost_rule(&f, &v[0]);
	if (ASSERT_OK_PTR(r, "terminate rule") && ASSERT_EQ(r->backend_count, 1, "backend")) {
		const struct xgw_snap_cluster *c =
			&f.snap.clusters[f.snap.backends[r->backend_first].cluster];

		ASSERT_STREQ(str(&f, c->name), "default/echo:80", "cluster");
		if (ASSERT_EQ(c->ep_count, 1, "ready endpoint"))
			ASSERT_EQ(f.snap.endpoints[c->ep_first].port, 8080, "endpoint port");
	}
	/* only the terminating listener's name has certificates */
	if (ASSERT_EQ(l->sni_count, 1, "one server name with certificates")) {
		const struct xgw_snap_sni *sn = &f.snap.snis[l->sni_first];

		ASSERT_STREQ(str(&f, sn->hostname), "a.term.test", "its hostname");
		ASSERT_EQ(sn->cert_count, 1, "one certificate");
		ASSERT_STREQ(str(&f, f.snap.certs[sn->cert_first].name), "default/s1", "s1");
	}
	ASSERT_OK_PTR(bpf_l(&f, 8443, IPPROTO_TCP), "TLS is steered as TCP");

	/* no hostname anywhere: one vhost "" */
	l = snap_l(&f, 9443, XGW_LPROTO_TLS);
	if (ASSERT_OK_PTR(l, "TLS listener 9443") && ASSERT_EQ(l->vhost_count, 1, "one vhost")) {
		ASSERT_EQ(f.snap.vhosts[l->vhost_first].hostname.len, 0, "any name");
		ASSERT_EQ(f.snap.vhosts[l->vhost_first].flags, 0, "passthrough");
		ASSERT_EQ(l->sni_count, 0, "no certificates");
	}
	/* a terminating listener with no route: its certificates, no vhost */
	l = snap_l(&f, 9445, XGW_LPROTO_TLS);
	if (ASSERT_OK_PTR(l, "TLS listener 9445")) {
		ASSERT_EQ(l->vhost_count, 0, "no vhost: connections are refused");
		ASSERT_EQ(l->sni_count, 1, "its certificate");
	}
	/* tls.mode omitted: Terminate */
	l = snap_l(&f, 9444, XGW_LPROTO_TLS);
	if (ASSERT_OK_PTR(l, "TLS listener 9444") && ASSERT_EQ(l->vhost_count, 1, "one vhost")) {
		ASSERT_STREQ(str(&f, f.snap.vhosts[l->vhost_first].hostname), "x.test", "name");
		ASSERT_EQ(f.snap.vhosts[l->vhost_first].flags, XGW_VHOST_TLS_TERMINATE,
			  "terminated by default");
		ASSERT_EQ(l->sni_count, 1, "its certificate");
	}
out:
	done(&f);
}

/* An L4 route of <kind> and apiVersion gateway.networking.k8s.io/<ver>. */
#define L4_ROUTE(kind, ver, name, ns, spec)                                                        \
	"apiVersion: gateway.networking.k8s.io/" ver "\nkind: " kind "\nmetadata: {name: " name    \
	", namespace: " ns "}\nspec:\n" spec "---\n"

/* clang-format off */

/* What cannot attach or resolve. */
static const char errors_yaml[] =
	CLASS
	SERVICE("echo")
	GATEWAY("e",
		"  - {name: kinds, protocol: TLS, port: 443, tls: {mode: Passthrough},\n"
		"     allowedRoutes: {kinds: [{kind: TCPRoute}, {kind: TLSRoute}]}}\n"
		"  - {name: exact, protocol: TLS, port: 8443, hostname: a.test,\n"
		"     tls: {mode: Passthrough}}\n"
		"  - {name: nocert, protocol: TLS, port: 8444, tls: {mode: Terminate}}\n"
		"  - {name: badmode, protocol: TLS, port: 8445, tls: {mode: Both}}\n"
		"  - {name: tcp, protocol: TCP, port: 9000}\n"
		"  - {name: tcp2, protocol: TCP, port: 9000}\n"
		"  - {name: udp, protocol: UDP, port: 9001}\n")
	GATEWAY("h", HTTP_ALL("http", 80))
	L4_ROUTE("TCPRoute", "v1alpha2", "to-http", "default",
		 "  parentRefs: [{name: h}]\n"
		 "  rules: [{backendRefs: [{name: echo, port: 80}]}]\n")
	L4_ROUTE("UDPRoute", "v1alpha2", "other-ns", "other",
		 "  parentRefs: [{name: e, namespace: default, sectionName: udp}]\n"
		 "  rules: [{backendRefs: [{name: echo, namespace: default, port: 80}]}]\n")
	L4_ROUTE("TLSRoute", "v1alpha3", "mismatch", "default",
		 "  parentRefs: [{name: e, sectionName: exact}]\n  hostnames: [b.test]\n"
		 "  rules: [{backendRefs: [{name: echo, port: 80}]}]\n")
	L4_ROUTE("TLSRoute", "v1alpha2", "nosection", "default",
		 "  parentRefs: [{name: e, sectionName: nope}]\n"
		 "  rules: [{backendRefs: [{name: echo, port: 80}]}]\n")
	L4_ROUTE("TCPRoute", "v1alpha2", "missing", "default",
		 "  parentRefs: [{name: e, sectionName: tcp}]\n"
		 "  rules: [{backendRefs: [{name: nope, port: 80}]}]\n")
	L4_ROUTE("TCPRoute", "v1alpha2", "kind", "default",
		 "  parentRefs: [{name: e, sectionName: tcp}]\n"
		 "  rules: [{backendRefs: [{kind: Pod, name: echo, port: 80}]}]\n")
	L4_ROUTE("TCPRoute", "v1alpha2", "nogrant", "other",
		 "  parentRefs: [{name: e, namespace: default}]\n"
		 "  rules: [{backendRefs: [{name: echo, namespace: default, port: 80}]}]\n")
	L4_ROUTE("UDPRoute", "v1alpha2", "tcp-port", "default",
		 "  parentRefs: [{name: h}]\n"
		 "  rules: [{backendRefs: [{name: echo, port: 80}]}]\n")
	ROUTE("http-on-tls", "default", "  parentRefs: [{name: e, sectionName: exact}]\n");

/* A ReferenceGrant for UDPRoutes; a rule with an unresolved backend. */
static const char grant_yaml[] =
	CLASS
	SERVICE("echo")
	GATEWAY("e",
		"  - {name: udp, protocol: UDP, port: 5000,\n"
		"     allowedRoutes: {namespaces: {from: All}}}\n"
		"  - {name: udp2, protocol: UDP, port: 5001}\n")
	"apiVersion: v1\nkind: Service\nmetadata: {name: u, namespace: default}\n"
	"spec: {ports: [{port: 53, protocol: UDP}]}\n---\n"
	"apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
	"metadata: {name: g, namespace: default}\nspec:\n"
	"  from: [{group: gateway.networking.k8s.io, kind: UDPRoute, namespace: other}]\n"
	"  to: [{group: '', kind: Service}]\n---\n"
	L4_ROUTE("UDPRoute", "v1alpha2", "granted", "other",
		 "  parentRefs: [{name: e, namespace: default, sectionName: udp}]\n"
		 "  rules: [{backendRefs: [{name: u, namespace: default, port: 53}]}]\n")
	L4_ROUTE("UDPRoute", "v1alpha2", "partial", "default",
		 "  parentRefs: [{name: e, sectionName: udp2}]\n"
		 "  rules: [{backendRefs: [{name: u, port: 53}, {name: gone, port: 53, weight: 2}]}]\n")
	L4_ROUTE("TCPRoute", "v1alpha2", "not-udp", "other",
		 "  parentRefs: [{name: e, namespace: default}]\n"
		 "  rules: [{backendRefs: [{name: echo, namespace: default, port: 80}]}]\n");

/* A TCP listener added by a ListenerSet; a UDP one on the Gateway's TCP port. */
static const char lset_yaml[] =
	CLASS
	SERVICE("echo")
	"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
	"metadata: {name: gw, namespace: default}\nspec:\n  gatewayClassName: xgw\n"
	"  allowedListeners: {namespaces: {from: Same}}\n  listeners:\n"
	"  - {name: tcp, protocol: TCP, port: 7000}\n---\n"
	"apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\n"
	"metadata: {name: ls, namespace: default}\nspec:\n  parentRef: {name: gw}\n"
	"  listeners:\n"
	"  - {name: tcp2, protocol: TCP, port: 7001}\n"
	"  - {name: udp, protocol: UDP, port: 7000}\n---\n"
	L4_ROUTE("TCPRoute", "v1alpha2", "r", "default",
		 "  parentRefs: [{kind: ListenerSet, name: ls, sectionName: tcp2}]\n"
		 "  rules: [{backendRefs: [{name: echo, port: 80}]}]\n");

/* clang-format on */

TEST(error_statuses)
{
	struct fixture f;

	if (!run(&f, errors_yaml, NULL, 0))
		goto out;
	const struct xgw_gateway_status *g = gw(&f, "e");

	/* listeners */
	ASSERT_COND(&lsn(g, "kinds")->conds, "ResolvedRefs", "False", "InvalidRouteKinds");
	if (ASSERT_EQ(lsn(g, "kinds")->n_supported_kinds, 1, "one supported kind"))
		ASSERT_STREQ(lsn(g, "kinds")->supported_kinds[0], "TLSRoute", "TLSRoute");
	ASSERT_COND(&lsn(g, "nocert")->conds, "ResolvedRefs", "False", "InvalidCertificateRef");
	ASSERT_COND(&lsn(g, "nocert")->conds, "Programmed", "False", "Invalid");
	ASSERT_COND(&lsn(g, "badmode")->conds, "Accepted", "False", "UnsupportedValue");
	ASSERT_COND(&lsn(g, "tcp")->conds, "Conflicted", "True", "HostnameConflict");
	ASSERT_COND(&lsn(g, "tcp2")->conds, "Accepted", "False", "HostnameConflict");
	ASSERT_EQ(snap_l(&f, 8444, XGW_LPROTO_TLS), NULL, "no certificate: not served");
	ASSERT_EQ(snap_l(&f, 9000, XGW_LPROTO_TCP), NULL, "conflicted: not served");

	/* routes */
	ASSERT_COND(pconds(&f, "to-http"), "Accepted", "False", "NotAllowedByListeners");
	ASSERT_COND(pconds(&f, "other-ns"), "Accepted", "False", "NotAllowedByListeners");
	ASSERT_COND(pconds(&f, "other-ns"), "ResolvedRefs", "False", "RefNotPermitted");
	ASSERT_COND(pconds(&f, "mismatch"), "Accepted", "False", "NoMatchingListenerHostname");
	ASSERT_COND(pconds(&f, "nosection"), "Accepted", "False", "NoMatchingParent");
	ASSERT_COND(pconds(&f, "missing"), "ResolvedRefs", "False", "BackendNotFound");
	ASSERT_COND(pconds(&f, "kind"), "ResolvedRefs", "False", "InvalidKind");
	ASSERT_COND(pconds(&f, "nogrant"), "ResolvedRefs", "False", "RefNotPermitted");
	ASSERT_COND(pconds(&f, "nogrant"), "Accepted", "False", "NotAllowedByListeners");
	/* echo has only a TCP port 80 */
	ASSERT_COND(pconds(&f, "tcp-port"), "ResolvedRefs", "False", "BackendNotFound");
	ASSERT_STREQ(cond(pconds(&f, "tcp-port"), "ResolvedRefs")->message,
		     "backendRef default/echo: Service has no UDP port 80", "message");
	ASSERT_COND(pconds(&f, "http-on-tls"), "Accepted", "False", "NotAllowedByListeners");
	ASSERT_EQ(lsn(g, "exact")->attached_routes, 0, "nothing attached to exact");
out:
	done(&f);
}

TEST(reference_grant)
{
	struct fixture f;

	if (!run(&f, grant_yaml, NULL, 0))
		goto out;
	ASSERT_COND(pconds(&f, "granted"), "Accepted", "True", "Accepted");
	ASSERT_COND(pconds(&f, "granted"), "ResolvedRefs", "True", "ResolvedRefs");
	/* the grant is for UDPRoutes only */
	ASSERT_COND(pconds(&f, "not-udp"), "ResolvedRefs", "False", "RefNotPermitted");
	ASSERT_COND(pconds(&f, "not-udp"), "Accepted", "False", "NotAllowedByListeners");
	ASSERT_EQ(lsn(gw(&f, "e"), "udp")->attached_routes, 1, "attachedRoutes");
	/* a Service with no EndpointSlice: the cluster is there, with no endpoint */
	const struct xgw_snap_listener *l = snap_l(&f, 5000, XGW_LPROTO_UDP);

	if (ASSERT_OK_PTR(l, "UDP listener") && ASSERT_EQ(l->vhost_count, 1, "one vhost")) {
		const struct xgw_snap_rule *r = vhost_rule(&f, &f.snap.vhosts[l->vhost_first]);

		if (r && ASSERT_EQ(r->backend_count, 1, "one backend"))
			ASSERT_EQ(
				f.snap.clusters[f.snap.backends[r->backend_first].cluster].ep_count,
				0, "no endpoint");
	}
	/* an unresolved backend keeps its weight, with no cluster: its share is refused */
	ASSERT_COND(pconds(&f, "partial"), "ResolvedRefs", "False", "BackendNotFound");
	l = snap_l(&f, 5001, XGW_LPROTO_UDP);
	if (ASSERT_OK_PTR(l, "UDP listener 5001") && ASSERT_EQ(l->vhost_count, 1, "one vhost")) {
		const struct xgw_snap_rule *r = vhost_rule(&f, &f.snap.vhosts[l->vhost_first]);

		if (r && ASSERT_EQ(r->backend_count, 2, "both backends")) {
			const struct xgw_snap_backend *b = &f.snap.backends[r->backend_first];

			ASSERT_TRUE(b[0].cluster != XGW_SNAP_NONE, "resolved");
			ASSERT_EQ(b[1].cluster, XGW_SNAP_NONE, "unresolved");
			ASSERT_EQ(b[1].weight, 2, "keeps its weight");
			ASSERT_EQ(r->total_weight, 3, "total weight");
		}
	}
out:
	done(&f);
}

/*
 * A ListenerSet adds a TCP listener to its Gateway: a TCPRoute attaches
 * through a ListenerSet parentRef, and a UDP listener of the set on the port
 * of the Gateway's TCP listener does not conflict with it.
 */
TEST(listenerset_l4)
{
	struct fixture f;

	if (!run(&f, lset_yaml, NULL, 0))
		goto out;
	if (ASSERT_EQ(f.res.n_listenersets, 1, "one ListenerSet")) {
		const struct xgw_listenerset_status *ls = &f.res.listenersets[0];

		ASSERT_COND(&ls->conds, "Accepted", "True", "Accepted");
		ASSERT_COND(&ls->listeners[1].conds, "Accepted", "True", "Accepted");
		ASSERT_EQ(ls->listeners[0].attached_routes, 1, "tcp2 attachedRoutes");
	}
	ASSERT_COND(pconds(&f, "r"), "Accepted", "True", "Accepted");
	ASSERT_STREQ(route(&f, "r")->parents[0].kind, "ListenerSet", "parent kind");
	const struct xgw_snap_listener *l = snap_l(&f, 7001, XGW_LPROTO_TCP);

	if (ASSERT_OK_PTR(l, "ListenerSet TCP listener")) {
		ASSERT_STREQ(str(&f, l->name), "default/ls/tcp2", "named after the ListenerSet");
		ASSERT_EQ(l->vhost_count, 1, "its route");
	}
	ASSERT_OK_PTR(snap_l(&f, 7000, XGW_LPROTO_UDP), "UDP 7000 beside TCP 7000");
	ASSERT_OK_PTR(bpf_l(&f, 7000, IPPROTO_UDP), "BPF 7000/udp");
	ASSERT_OK_PTR(bpf_l(&f, 7000, IPPROTO_TCP), "BPF 7000/tcp");
	l = snap_l(&f, 7000, XGW_LPROTO_TCP);
	if (ASSERT_OK_PTR(l, "Gateway TCP listener"))
		ASSERT_EQ(l->vhost_count, 0, "no route: connections are refused");
out:
	done(&f);
}

/* Decoding: what each bad field gives, naming the object and the field. */
TEST(decode_errors)
{
	static const struct {
		const char *doc, *msg;
	} cases[] = {
		{ "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n  hostnames: [a.test]\n"
		  "  rules: [{backendRefs: [{name: s, port: 1}]}]\n",
		  "spec.hostnames: a TCPRoute has no hostnames (only TLSRoute matches a server "
		  "name)" },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n  hostnames: ['10.1.2.3']\n"
		  "  rules: [{backendRefs: [{name: s, port: 1}]}]\n",
		  "spec.hostnames: hostnames[0] \"10.1.2.3\" is not a DNS name or a \"*.\" "
		  "wildcard" },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n  hostnames: ['a.*.test']\n"
		  "  rules: [{backendRefs: [{name: s, port: 1}]}]\n",
		  "spec.hostnames: hostnames[0] \"a.*.test\" is not a DNS name or a \"*.\" "
		  "wildcard" },
		{ "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: UDPRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n  parentRefs: [{name: g}]\n",
		  "spec.rules: at least one rule is required" },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n"
		  "  rules: [{backendRefs: [{name: s, port: 1}]}]\n",
		  "spec.hostnames: a TLSRoute of gateway.networking.k8s.io/v1 needs at least one "
		  "hostname" },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n  hostnames: [a.test]\n"
		  "  rules: [{backendRefs: [{name: s, port: 1}]}, {backendRefs: [{name: t, port: "
		  "1}]}]\n",
		  "spec.rules: 2 rules, at most 1 is allowed in a TLSRoute of "
		  "gateway.networking.k8s.io/v1" },
		{ "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n"
		  "  rules: [{name: a, backendRefs: [{name: s, port: 1}]}, {name: b}, {name: a}]\n",
		  "spec.rules: rules[0] and rules[2] have the same name \"a\"" },
		{ "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n"
		  "  rules: [{backendRefs: [{name: a, port: 1}, {name: a, port: 1}, {name: a, "
		  "port: "
		  "1}, {name: a, port: 1}, {name: a, port: 1}, {name: a, port: 1}, {name: a, port: "
		  "1}, {name: a, port: 1}, {name: a, port: 1}, {name: a, port: 1}, {name: a, port: "
		  "1}, {name: a, port: 1}, {name: a, port: 1}, {name: a, port: 1}, {name: a, port: "
		  "1}, {name: a, port: 1}, {name: a, port: 1}]}]\n",
		  "spec.rules[0].backendRefs: 17 backendRefs, at most 16 are allowed" },
		{ "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: UDPRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n"
		  "  rules: [{backendRefs: [{name: s, port: 1, weight: 1000001}]}]\n",
		  "spec.rules[0].backendRefs[0].weight: expected an integer 0..1000000" },
		{ "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n"
		  "  rules: [{backendRefs: [{port: 1}]}]\n",
		  "spec.rules[0].backendRefs[0].name: required field is missing" },
		{ "apiVersion: gateway.networking.k8s.io/v1\nkind: TCPRoute\n"
		  "metadata: {name: h, namespace: default}\nspec:\n"
		  "  rules: [{backendRefs: [{name: s, port: 1}]}]\n",
		  "unsupported apiVersion gateway.networking.k8s.io/v1 for kind TCPRoute" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xgw_store *st = xgw_store__new();

		if (!ASSERT_OK_PTR(st, "store"))
			return;
		ASSERT_OK(xgw_store_load_yaml(st, "l4.yaml", cases[i].doc, strlen(cases[i].doc)),
			  "load");
		if (ASSERT_EQ(st->n_errors, 1, cases[i].msg)) {
			if (!strstr(st->errors[0].message, cases[i].msg))
				printf("#   got: %s\n", st->errors[0].message);
			ASSERT_TRUE(strstr(st->errors[0].message, cases[i].msg) != NULL,
				    cases[i].msg);
			ASSERT_STREQ(st->errors[0].name, "h", "names the object");
		}
		ASSERT_EQ(st->n_l4routes, 0, "not added");
		xgw_store__free(st);
	}
}

/* What decodes: kinds, versions, defaults. */
TEST(decode_fields)
{
	static const char y[] =
		"apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n"
		"metadata: {name: t, namespace: apps}\nspec:\n"
		"  parentRefs: [{name: g, namespace: infra, sectionName: tls, port: 443}]\n"
		"  hostnames: [A.Example.com, '*.example.com']\n"
		"  rules:\n  - name: main\n    backendRefs:\n"
		"    - {name: s, namespace: b, port: 8443, weight: 0}\n"
		"    - {group: example.com, kind: Thing, name: x}\n---\n"
		"apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: UDPRoute\n"
		"metadata: {name: u, namespace: apps}\nspec:\n"
		"  rules: [{backendRefs: [{name: s, port: 53}]}, {backendRefs: []}]\n";
	struct xgw_store *st = xgw_store__new();

	if (!ASSERT_OK_PTR(st, "store") ||
	    !ASSERT_OK(xgw_store_load_yaml(st, "l4.yaml", y, sizeof(y) - 1), "load") ||
	    !ASSERT_EQ(st->n_errors, 0, "no errors") || !ASSERT_EQ(st->n_l4routes, 2, "two routes"))
		goto out;
	const struct xgw_l4route *t = &st->l4routes[0], *u = &st->l4routes[1];

	ASSERT_EQ(t->kind, XGW_L4_TLS, "TLSRoute");
	ASSERT_STREQ(xgw_l4_kind_name(t->kind), "TLSRoute", "kind name");
	if (ASSERT_EQ(t->n_parents, 1, "parent")) {
		ASSERT_STREQ(t->parents[0].ns, "infra", "parent namespace");
		ASSERT_STREQ(t->parents[0].section_name, "tls", "sectionName");
		ASSERT_EQ(t->parents[0].port, 443, "port");
		ASSERT_STREQ(t->parents[0].kind, "Gateway", "default parent kind");
	}
	if (ASSERT_EQ(t->n_hostnames, 2, "hostnames"))
		ASSERT_STREQ(t->hostnames[0], "a.example.com", "lower-cased");
	if (ASSERT_EQ(t->n_rules, 1, "rule") && ASSERT_EQ(t->rules[0].n_backends, 2, "backends")) {
		const struct xgw_backend_ref *b = t->rules[0].backends;

		ASSERT_STREQ(t->rules[0].name, "main", "rule name");
		ASSERT_EQ(b[0].weight, 0, "weight 0 kept");
		ASSERT_STREQ(b[0].ns, "b", "namespace");
		ASSERT_EQ(b[0].port, 8443, "port");
		ASSERT_STREQ(b[0].kind, "Service", "default kind");
		ASSERT_STREQ(b[0].group, "", "core group");
		ASSERT_EQ(b[1].weight, 1, "default weight");
		ASSERT_STREQ(b[1].kind, "Thing", "kind kept");
		ASSERT_STREQ(b[1].group, "example.com", "group kept");
	}
	ASSERT_EQ(u->kind, XGW_L4_UDP, "UDPRoute");
	ASSERT_EQ(u->n_hostnames, 0, "no hostnames");
	ASSERT_EQ(u->n_rules, 2, "two rules");
	ASSERT_EQ(u->rules[1].n_backends, 0, "an empty rule");
out:
	xgw_store__free(st);
}

/* Write <body> to <dir>/<name> with modification time <mtime> (s since the epoch). */
static bool write_file(const char *dir, const char *name, const char *body, time_t mtime)
{
	struct timespec ts[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
	char path[512];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return false;
	ok = fputs(body, f) >= 0;
	ok &= !fclose(f);
	return ok && !utimensat(AT_FDCWD, path, ts, 0);
}

static const char *born_of(const struct xgw_store *st, const char *name)
{
	for (size_t i = 0; st && i < st->n_l4routes; i++)
		if (!strcmp(st->l4routes[i].meta.name, name))
			return st->l4routes[i].meta.creation_timestamp;
	return NULL;
}

#define FILE_ROUTE(name, meta)                                                                     \
	"apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\nmetadata: {name: " name   \
	", namespace: default" meta "}\nspec:\n  rules: [{backendRefs: [{name: s, port: 1}]}]\n"

/*
 * Standalone, a route's age is its file's: the modification time the file had
 * when first read, kept across edits; an explicit creationTimestamp wins.
 */
TEST(standalone_route_age)
{
	char dir[] = "/tmp/xgw-l4a-test-XXXXXX";
	struct xgw_store *st = NULL;
	struct xgw_files *f = NULL;
	const time_t jan = 1767225600, feb = 1769904000, mar = 1772323200; /* 2026-01/02/03-01 */

	if (!ASSERT_OK_PTR(mkdtemp(dir), "temporary folder"))
		return;
	f = xgw_files__new(dir);
	if (!ASSERT_OK_PTR(f, "files") ||
	    !ASSERT_TRUE(write_file(dir, "a.yaml", FILE_ROUTE("old", ""), jan), "a.yaml") ||
	    !ASSERT_OK(xgw_files_load(f, &st, NULL), "load"))
		goto out;
	ASSERT_STREQ(born_of(st, "old"), "2026-01-01T00:00:00Z", "the file's time");
	xgw_store__free(st);
	st = NULL;
	/* a newer file; the older one edited later keeps its age */
	if (!ASSERT_TRUE(
		    write_file(dir, "b.yaml",
			       FILE_ROUTE("new", "") "---\n" FILE_ROUTE(
				       "stamped", ", creationTimestamp: '2020-05-05T00:00:00Z'"),
			       feb),
		    "b.yaml") ||
	    !ASSERT_TRUE(write_file(dir, "a.yaml", FILE_ROUTE("old", ", labels: {x: y}"), mar),
			 "a.yaml edited") ||
	    !ASSERT_OK(xgw_files_load(f, &st, NULL), "load again"))
		goto out;
	ASSERT_STREQ(born_of(st, "old"), "2026-01-01T00:00:00Z", "kept across an edit");
	ASSERT_STREQ(born_of(st, "new"), "2026-02-01T00:00:00Z", "the newer file's time");
	ASSERT_STREQ(born_of(st, "stamped"), "2020-05-05T00:00:00Z", "explicit wins");
out:
	xgw_store__free(st);
	xgw_files__free(f);
	for (const char *const *n = (const char *const[]){ "a.yaml", "b.yaml", NULL }; *n; n++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
}

TEST_MAIN()
