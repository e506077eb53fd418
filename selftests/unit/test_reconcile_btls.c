// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * BackendTLSPolicy: decoding (what the CRD refuses), the policies' statuses
 * (ancestors, CA references, conflicts) and the TLS settings the snapshot
 * gives each cluster (server name, CA, SANs, the Gateway's client certificate).
 */
#include <stdio.h>

#include "cert-fixture.h"
#include "reconcile-fixture.h"

static char yaml[65536];
static struct pem64 ca, client;

static size_t text(size_t off, const char *s)
{
	return off + (size_t)snprintf(yaml + off, sizeof(yaml) - off, "%s", s);
}

/* A ConfigMap <name> whose ca.crt is <pem> (a YAML block). */
static size_t configmap(size_t off, const char *name, const char *pem)
{
	off += (size_t)snprintf(yaml + off, sizeof(yaml) - off,
				"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: "
				"default}\ndata:\n  ca.crt: |\n",
				name);
	for (const char *p = pem; *p;) {
		size_t n = strcspn(p, "\n");

		off += (size_t)snprintf(yaml + off, sizeof(yaml) - off, "    %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
	return text(off, "---\n");
}

#define POLICY(name, rest)                                                                         \
	"apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\nmetadata: {name: " name \
	", namespace: default}\nspec:\n" rest "---\n"

#define SVC2(name)                                                                                 \
	"apiVersion: v1\nkind: Service\nmetadata: {name: " name ", namespace: default}\n"          \
	"spec: {ports: [{name: a, port: 443, targetPort: 8443}, {name: b, port: 444, "             \
	"targetPort: 8444}]}\n---\n"                                                               \
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " name "-x\n"    \
	"  namespace: default\n  labels: {kubernetes.io/service-name: " name "}\n"                 \
	"addressType: IPv4\nports: [{name: a, port: 8443}, {name: b, port: 8444}]\n"               \
	"endpoints:\n- addresses: [10.23.1.10]\n---\n"

static const struct xgw_policy_status *pol(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < f->res.n_policies; i++)
		if (!strcmp(f->res.policies[i].name, name))
			return &f->res.policies[i];
	return NULL;
}

/* The conditions of <name>'s ancestor Gateway <g>, or NULL. */
static const struct xgw_conds *anc(struct fixture *f, const char *name, const char *g)
{
	const struct xgw_policy_status *p = pol(f, name);

	for (size_t i = 0; p && i < p->n_ancestors; i++)
		if (!strcmp(p->ancestors[i].name, g))
			return &p->ancestors[i].conds;
	return NULL;
}

/* The uptls entry of cluster "default/<svc>:<port>", or NULL (plain, or no cluster). */
static const struct xgw_snap_uptls *cluster_tls(struct fixture *f, const char *svc_port)
{
	char want[128];

	snprintf(want, sizeof(want), "default/%s", svc_port);
	for (uint32_t i = 0; i < f->snap.n_clusters; i++) {
		const struct xgw_snap_cluster *c = &f->snap.clusters[i];

		if (!strcmp(str(f, c->name), want))
			return c->tls == XGW_SNAP_NONE ? NULL : &f->snap.uptls[c->tls];
	}
	return NULL;
}

static bool has_cluster(struct fixture *f, const char *svc_port)
{
	char want[128];

	snprintf(want, sizeof(want), "default/%s", svc_port);
	for (uint32_t i = 0; i < f->snap.n_clusters; i++)
		if (!strcmp(str(f, f->snap.clusters[i].name), want))
			return true;
	return false;
}

TEST(decode_refuses_what_the_crd_refuses)
{
	static const struct {
		const char *spec, *want;
	} cases[] = {
		{ "  targetRefs: [{group: '', kind: Service, name: s}]\n"
		  "  validation: {hostname: a.test}\n",
		  "one of caCertificateRefs and wellKnownCACertificates is required" },
		{ "  targetRefs: [{group: '', kind: Service, name: s}]\n"
		  "  validation: {hostname: a.test, wellKnownCACertificates: System, "
		  "caCertificateRefs: [{group: '', kind: ConfigMap, name: c}]}\n",
		  "exclusive" },
		{ "  targetRefs: [{group: '', kind: Service, name: s}]\n"
		  "  validation: {hostname: a.test, wellKnownCACertificates: Mine}\n",
		  "is not a supported value" },
		{ "  targetRefs: [{group: '', kind: Service, name: s}]\n"
		  "  validation: {wellKnownCACertificates: System}\n",
		  "hostname" },
		{ "  targetRefs: [{group: '', kind: Service, name: s}]\n"
		  "  validation: {hostname: '*.a.test', wellKnownCACertificates: System}\n",
		  "is not a DNS name" },
		{ "  targetRefs: []\n  validation: {hostname: a.test, wellKnownCACertificates: "
		  "System}\n",
		  "targetRefs" },
		{ "  targetRefs: [{group: '', kind: Service, name: s}]\n"
		  "  validation: {hostname: a.test, wellKnownCACertificates: System,\n"
		  "    subjectAltNames: [{type: DNS, hostname: a.test}]}\n",
		  "Hostname or URI" },
		{ "  targetRefs: [{group: '', kind: Service, name: s}]\n"
		  "  validation: {hostname: a.test, wellKnownCACertificates: System,\n"
		  "    subjectAltNames: [{type: URI, hostname: a.test}]}\n",
		  "type URI takes uri" },
		{ "  targetRefs: [{group: '', kind: Service, name: s}]\n"
		  "  validation: {hostname: a.test, wellKnownCACertificates: System,\n"
		  "    subjectAltNames: [{type: URI, uri: 'not a uri'}]}\n",
		  "is not an absolute URI" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xgw_store *st = xgw_store__new();
		char doc[1024];

		if (!ASSERT_OK_PTR(st, "store"))
			return;
		snprintf(doc, sizeof(doc),
			 "apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n"
			 "metadata: {name: p, namespace: default}\nspec:\n%s",
			 cases[i].spec);
		ASSERT_OK(xgw_store_load_yaml(st, "t.yaml", doc, strlen(doc)), "load");
		if (ASSERT_EQ(st->n_errors, 1, cases[i].want))
			ASSERT_TRUE(strstr(st->errors[0].message, cases[i].want) != NULL,
				    st->errors[0].message);
		ASSERT_EQ(st->n_btls_policies, 0, "not stored");
		xgw_store__free(st);
	}
}

TEST(statuses_conflicts_and_clusters)
{
	struct fixture f;
	size_t o = 0;

	if (!ASSERT_TRUE(make_cert("backend-ca", &ca) && make_cert("gw-client", &client),
			 "certificates"))
		return;
	o = configmap(o, "ca", ca.crt_pem);
	o = text(o, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, namespace: default}\n"
		    "data: {ca.crt: 'not a certificate'}\n---\n");
	o += (size_t)snprintf(yaml + o, sizeof(yaml) - o,
			      "apiVersion: v1\nkind: Secret\nmetadata: {name: client, namespace: "
			      "default}\ntype: kubernetes.io/tls\ndata: {tls.crt: %s, tls.key: "
			      "%s}\n---\n",
			      client.crt, client.key);
	o = text(o, CLASS
		 "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: eg, "
		 "namespace: default}\nspec:\n  gatewayClassName: xgw\n"
		 "  tls: {backend: {clientCertificateRef: {name: client}}}\n"
		 "  listeners:\n  - {name: http, protocol: HTTP, port: 80}\n---\n" GATEWAY(
			 "other", "  - {name: http, protocol: HTTP, port: 81}\n") SVC2("s1")
			 SVC2("s2") SVC2("s3") SVC2("s4") SVC2("s5") SVC2("s6") SVC2("unused")
				 ROUTE("r", "default",
				       "  parentRefs: [{name: eg}, {name: other}]\n  rules:\n"
				       "  - backendRefs: [{name: s1, port: 443}]\n"
				       "  - backendRefs: [{name: s1, port: 444}]\n"
				       "  - backendRefs: [{name: s2, port: 443}]\n"
				       "  - backendRefs: [{name: s3, port: 443}]\n"
				       "  - backendRefs: [{name: s4, port: 443}]\n"
				       "  - backendRefs: [{name: s5, port: 443}]\n"
				       "  - backendRefs: [{name: s5, port: 444}]\n"
				       "  - backendRefs: [{name: s6, port: 443}]\n"));
	/* s1: a port policy (a) beside a whole-Service one (b gets it) */
	o = text(o, POLICY("s1-port",
			   "  targetRefs: [{group: '', kind: Service, name: s1, sectionName: a}]\n"
			   "  validation:\n    caCertificateRefs: [{group: '', kind: ConfigMap, "
			   "name: ca}]\n    hostname: port.test\n"
			   "    subjectAltNames: [{type: URI, uri: 'spiffe://x/y'}, "
			   "{type: Hostname, hostname: san.test}]\n"));
	o = text(o, POLICY("s1-all", "  targetRefs: [{group: '', kind: Service, name: s1}]\n"
				     "  validation: {hostname: all.test, wellKnownCACertificates: "
				     "System}\n"));
	/* s2: two on the same port; the same age, so by name: a-first wins */
	o = text(o, POLICY("b-second",
			   "  targetRefs: [{group: '', kind: Service, name: s2, sectionName: a}]\n"
			   "  validation: {hostname: b.test, wellKnownCACertificates: System}\n"));
	o = text(o, POLICY("a-first",
			   "  targetRefs: [{group: '', kind: Service, name: s2, sectionName: a}]\n"
			   "  validation: {hostname: a.test, wellKnownCACertificates: System}\n"));
	/* s3: the older wins whatever the name */
	o = text(o, "apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n"
		    "metadata: {name: z-old, namespace: default, creationTimestamp: "
		    "'2020-01-01T00:00:00Z'}\nspec:\n"
		    "  targetRefs: [{group: '', kind: Service, name: s3}]\n"
		    "  validation: {hostname: old.test, wellKnownCACertificates: System}\n---\n"
		    "apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n"
		    "metadata: {name: a-young, namespace: default, creationTimestamp: "
		    "'2021-01-01T00:00:00Z'}\nspec:\n"
		    "  targetRefs: [{group: '', kind: Service, name: s3}]\n"
		    "  validation: {hostname: young.test, wellKnownCACertificates: System}\n---\n");
	/* s4: no usable CA (a kind that is not a ConfigMap, one that does not parse) */
	o = text(o, POLICY("bad-ca",
			   "  targetRefs: [{group: '', kind: Service, name: s4}]\n"
			   "  validation:\n    caCertificateRefs: [{group: invalid.io, kind: "
			   "InvalidKind, name: x}, {group: '', kind: ConfigMap, name: bad}]\n"
			   "    hostname: a.test\n"));
	/* s5: one bad reference beside a good one: accepted, ResolvedRefs=False */
	o = text(o, POLICY("partly",
			   "  targetRefs: [{group: '', kind: Service, name: s5}]\n"
			   "  validation:\n    caCertificateRefs: [{group: '', kind: ConfigMap, "
			   "name: nope}, {group: '', kind: ConfigMap, name: ca}]\n"
			   "    hostname: a.test\n"));
	/* s6: an older policy without a usable CA does not hold the port */
	o = text(o, "apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n"
		    "metadata: {name: broken-old, namespace: default, creationTimestamp: "
		    "'2020-01-01T00:00:00Z'}\nspec:\n"
		    "  targetRefs: [{group: '', kind: Service, name: s6}]\n"
		    "  validation: {hostname: old.test, caCertificateRefs: [{group: '', kind: "
		    "ConfigMap, name: nope}]}\n---\n");
	o = text(o, "apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n"
		    "metadata: {name: good-young, namespace: default, creationTimestamp: "
		    "'2021-01-01T00:00:00Z'}\nspec:\n"
		    "  targetRefs: [{group: '', kind: Service, name: s6}]\n"
		    "  validation: {hostname: young.test, wellKnownCACertificates: System}\n---\n");
	/* s2's port b: no route uses it, so the policy has no ancestor */
	o = text(o, POLICY("s2-b",
			   "  targetRefs: [{group: '', kind: Service, name: s2, sectionName: b}]\n"
			   "  validation: {hostname: b.test, wellKnownCACertificates: System}\n"));
	o = text(o, POLICY("unused", "  targetRefs: [{group: '', kind: Service, name: unused}]\n"
				     "  validation: {hostname: a.test, wellKnownCACertificates: "
				     "System}\n"));
	if (!run(&f, yaml, NULL, 0))
		goto out;

	/* statuses: one ancestor per Gateway whose routes use the Service */
	ASSERT_COND(anc(&f, "s1-port", "eg"), "Accepted", "True", "Accepted");
	ASSERT_COND(anc(&f, "s1-port", "eg"), "ResolvedRefs", "True", "ResolvedRefs");
	ASSERT_COND(anc(&f, "s1-port", "other"), "Accepted", "True", "Accepted");
	ASSERT_COND(anc(&f, "s1-all", "eg"), "Accepted", "True", "Accepted");
	ASSERT_COND(anc(&f, "a-first", "eg"), "Accepted", "True", "Accepted");
	ASSERT_COND(anc(&f, "b-second", "eg"), "Accepted", "False", "Conflicted");
	ASSERT_COND(anc(&f, "z-old", "eg"), "Accepted", "True", "Accepted");
	ASSERT_COND(anc(&f, "a-young", "eg"), "Accepted", "False", "Conflicted");
	ASSERT_COND(anc(&f, "bad-ca", "eg"), "Accepted", "False", "NoValidCACertificate");
	ASSERT_COND(anc(&f, "bad-ca", "eg"), "ResolvedRefs", "False", "InvalidKind");
	ASSERT_COND(anc(&f, "partly", "eg"), "Accepted", "True", "Accepted");
	ASSERT_COND(anc(&f, "partly", "eg"), "ResolvedRefs", "False", "InvalidCACertificateRef");
	ASSERT_EQ(pol(&f, "unused")->n_ancestors, 0, "a policy no route reaches has no ancestor");
	ASSERT_EQ(pol(&f, "s2-b")->n_ancestors, 0, "nor one whose port no route uses");
	ASSERT_EQ(anc(&f, "s1-port", "eg")->c[0].observed_generation, 1, "observedGeneration");

	/* clusters: s1:443 by the port policy, s1:444 by the whole-Service one */
	const struct xgw_snap_uptls *t = cluster_tls(&f, "s1:443");

	if (ASSERT_OK_PTR(t, "s1:443 speaks TLS")) {
		ASSERT_STREQ(str(&f, t->sni), "port.test", "server name");
		ASSERT_EQ(t->flags, 0, "its own CA");
		ASSERT_TRUE(strstr(str(&f, t->ca), "BEGIN CERTIFICATE") != NULL, "CA PEM");
		ASSERT_EQ(t->n_sans, 2, "SANs");
		ASSERT_EQ(t->san_type[0], XGW_SNAP_SAN_URI, "URI");
		ASSERT_STREQ(str(&f, t->san[0]), "spiffe://x/y", "URI value");
		ASSERT_EQ(t->san_type[1], XGW_SNAP_SAN_DNS, "DNS");
		ASSERT_STREQ(str(&f, t->san[1]), "san.test", "DNS value");
		ASSERT_TRUE(t->client_chain.len > 0 && t->client_key.len > 0,
			    "the Gateway's client certificate");
		ASSERT_STREQ(str(&f, t->name), "default/s1-port", "policy name");
	}
	t = cluster_tls(&f, "s1:444");
	if (ASSERT_OK_PTR(t, "s1:444 speaks TLS")) {
		ASSERT_STREQ(str(&f, t->sni), "all.test", "server name");
		ASSERT_EQ(t->flags, XGW_UPTLS_SYSTEM_CA, "system CA");
		ASSERT_EQ(t->ca.len, 0, "no CA PEM");
	}
	t = cluster_tls(&f, "s2:443");
	ASSERT_TRUE(t && !strcmp(str(&f, t->sni), "a.test"), "s2: the winner's hostname");
	t = cluster_tls(&f, "s3:443");
	ASSERT_TRUE(t && !strcmp(str(&f, t->sni), "old.test"), "s3: the older policy's");
	ASSERT_FALSE(has_cluster(&f, "s4:443"), "s4: no usable CA, no cluster (500)");
	ASSERT_OK_PTR(cluster_tls(&f, "s5:443"), "s5: the usable CA is used");
	ASSERT_TRUE(cluster_tls(&f, "s5:443") == cluster_tls(&f, "s5:444"),
		    "the clusters of one policy share its entry");
	ASSERT_COND(anc(&f, "broken-old", "eg"), "Accepted", "False", "NoValidCACertificate");
	ASSERT_COND(anc(&f, "good-young", "eg"), "Accepted", "True", "Accepted");
	t = cluster_tls(&f, "s6:443");
	ASSERT_TRUE(t && !strcmp(str(&f, t->sni), "young.test"), "s6: the accepted policy's");
	/* the route still resolves: the policy, not the reference, is broken */
	ASSERT_COND(&route(&f, "r")->parents[0].conds, "ResolvedRefs", "True", "ResolvedRefs");
out:
	done(&f);
}

TEST_MAIN()
