// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The reconciler and HTTPS listeners: certificateRefs (Secrets, ReferenceGrants,
 * malformed data), server names in the snapshot, and client certificate
 * validation (spec.tls.frontend). Certificates are made fresh per run.
 */
#include <stdio.h>

#include "cert-fixture.h"
#include "reconcile-fixture.h"

static struct pem64 c1, c2;
static char yaml[65536];

/* A kubernetes.io/tls Secret (or of another <type>) in <ns>. */
static size_t secret(size_t off, const char *ns, const char *name, const char *type,
		     const char *crt, const char *key)
{
	return off +
	       (size_t)snprintf(yaml + off, sizeof(yaml) - off,
				"apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: "
				"%s}\ntype: %s\ndata: {tls.crt: %s, tls.key: %s}\n---\n",
				name, ns, type, crt, key);
}

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

TEST(https_listeners_and_certificate_refs)
{
	struct fixture f;
	size_t o = 0;

	if (!ASSERT_TRUE(make_cert("one", &c1) && make_cert("two", &c2), "certificates"))
		return;
	o = secret(o, "default", "s1", "kubernetes.io/tls", c1.crt, c1.key);
	o = secret(o, "default", "s2", "kubernetes.io/tls", c2.crt, c2.key);
	o = secret(o, "default", "opaque", "Opaque", c1.crt, c1.key);
	o = secret(o, "default", "mismatch", "kubernetes.io/tls", c1.crt, c2.key);
	o = secret(o, "certs", "shared", "kubernetes.io/tls", c2.crt, c2.key);
	o = secret(o, "certs", "private", "kubernetes.io/tls", c2.crt, c2.key);
	o = text(o,
		 "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
		 "metadata: {name: g, namespace: certs}\nspec:\n"
		 "  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: default}]\n"
		 "  to: [{group: '', kind: Secret, name: shared}]\n---\n");
	o = text(o,
		 CLASS GATEWAY(
			 "eg",
			 "  - {name: any, protocol: HTTPS, port: 443, tls: {certificateRefs: "
			 "[{name: s1}]}}\n"
			 "  - {name: exact, protocol: HTTPS, port: 443, hostname: a.test, tls: "
			 "{certificateRefs: [{name: s2}, {name: s1}]}}\n"
			 "  - {name: wild, protocol: HTTPS, port: 443, hostname: '*.b.test', tls: "
			 "{certificateRefs: [{name: shared, namespace: certs}]}}\n"
			 "  - {name: missing, protocol: HTTPS, port: 8443, tls: {certificateRefs: "
			 "[{name: nope}]}}\n"
			 "  - {name: opaque, protocol: HTTPS, port: 8444, tls: {certificateRefs: "
			 "[{name: opaque}]}}\n"
			 "  - {name: mismatch, protocol: HTTPS, port: 8445, tls: {certificateRefs: "
			 "[{name: mismatch}]}}\n"
			 "  - {name: no-grant, protocol: HTTPS, port: 8446, tls: {certificateRefs: "
			 "[{name: private, namespace: certs}]}}\n"
			 "  - {name: kind, protocol: HTTPS, port: 8447, tls: {certificateRefs: "
			 "[{kind: ConfigMap, name: s1}]}}\n"
			 "  - {name: passthrough, protocol: HTTPS, port: 8448, tls: {mode: "
			 "Passthrough}}\n"
			 "  - {name: none, protocol: HTTPS, port: 8449}\n"
			 "  - {name: partly, protocol: HTTPS, port: 8450, tls: {certificateRefs: "
			 "[{name: nope}, {name: s2}]}}\n"));
	if (!run(&f, yaml, NULL, 0))
		goto out;
	const struct xgw_gateway_status *g = gw(&f, "eg");

	ASSERT_COND(&lsn(g, "any")->conds, "Programmed", "True", "Programmed");
	ASSERT_COND(&lsn(g, "exact")->conds, "ResolvedRefs", "True", "ResolvedRefs");
	ASSERT_COND(&lsn(g, "wild")->conds, "ResolvedRefs", "True", "ResolvedRefs");
	ASSERT_COND(&lsn(g, "missing")->conds, "ResolvedRefs", "False", "InvalidCertificateRef");
	ASSERT_COND(&lsn(g, "missing")->conds, "Accepted", "True", "Accepted");
	ASSERT_COND(&lsn(g, "missing")->conds, "Programmed", "False", "Invalid");
	ASSERT_COND(&lsn(g, "opaque")->conds, "ResolvedRefs", "False", "InvalidCertificateRef");
	ASSERT_COND(&lsn(g, "mismatch")->conds, "ResolvedRefs", "False", "InvalidCertificateRef");
	ASSERT_STREQ(cond(&lsn(g, "mismatch")->conds, "ResolvedRefs")->message,
		     "certificateRefs[0] default/mismatch: tls.key is not the key of the "
		     "certificate in tls.crt",
		     "mismatch message");
	ASSERT_COND(&lsn(g, "no-grant")->conds, "ResolvedRefs", "False", "RefNotPermitted");
	ASSERT_COND(&lsn(g, "kind")->conds, "ResolvedRefs", "False", "InvalidCertificateRef");
	ASSERT_COND(&lsn(g, "passthrough")->conds, "Accepted", "False", "UnsupportedValue");
	ASSERT_COND(&lsn(g, "none")->conds, "ResolvedRefs", "False", "InvalidCertificateRef");
	/* one usable certificate of two: served, and the bad reference reported */
	ASSERT_COND(&lsn(g, "partly")->conds, "ResolvedRefs", "False", "InvalidCertificateRef");
	ASSERT_COND(&lsn(g, "partly")->conds, "Programmed", "True", "Programmed");
	/* a bad certificate does not unprogram the Gateway */
	ASSERT_COND(&g->conds, "Programmed", "True", "Programmed");

	/* Snapshot: 443 (three server names) and 8450; nothing else. */
	if (!ASSERT_EQ(f.snap.n_listeners, 2, "snapshot listeners"))
		goto out;
	const struct xgw_snap_listener *l = &f.snap.listeners[0];

	ASSERT_EQ(l->proto, XGW_LPROTO_HTTPS, "https");
	ASSERT_EQ(l->port, 443, "port");
	if (!ASSERT_EQ(l->sni_count, 3, "server names"))
		goto out;
	const struct xgw_snap_sni *sn = &f.snap.snis[l->sni_first];

	ASSERT_STREQ(str(&f, sn[0].hostname), "a.test", "exact first");
	ASSERT_STREQ(str(&f, sn[1].hostname), "*.b.test", "then the wildcard");
	ASSERT_STREQ(str(&f, sn[2].hostname), "", "then any name");
	ASSERT_EQ(sn[0].cert_count, 2, "both certificates of the exact listener");
	ASSERT_STREQ(str(&f, f.snap.certs[sn[0].cert_first].name), "default/s2", "in order");
	ASSERT_STREQ(str(&f, f.snap.certs[sn[1].cert_first].name), "certs/shared", "granted");
	ASSERT_EQ(sn[0].client_verify, XGW_CLIENT_VERIFY_NONE, "no client validation");
	ASSERT_TRUE(f.snap.certs[sn[0].cert_first].chain.len > 100 &&
			    !memcmp(xgw_snap_str_ptr(&f.snap, f.snap.certs[sn[0].cert_first].chain),
				    "-----BEGIN CERTIFICATE-----", 27),
		    "PEM certificate in the snapshot");
	ASSERT_EQ(f.snap.listeners[1].port, 8450, "the partly valid listener");
	ASSERT_EQ(f.snap.listeners[1].sni_count, 1, "one server name");
out:
	done(&f);
}

TEST(frontend_client_validation)
{
	struct fixture f;
	char cm[2048];
	size_t o = 0;

	if (!ASSERT_TRUE(c1.crt[0] || make_cert("one", &c1), "certificate"))
		return;
	o = secret(o, "default", "s1", "kubernetes.io/tls", c1.crt, c1.key);
	/* a ConfigMap with the CA, indented as a YAML block */
	size_t k = 0;

	k += (size_t)snprintf(cm + k, sizeof(cm) - k, "  ca.crt: |\n    ");
	for (const char *p = c1.crt_pem; *p && k + 8 < sizeof(cm); p++) {
		cm[k++] = *p;
		if (*p == '\n' && p[1])
			k += (size_t)snprintf(cm + k, sizeof(cm) - k, "    ");
	}
	cm[k] = '\0';
	o = text(o, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ca, namespace: default}\n"
		    "data:\n");
	o = text(o, cm);
	o = text(o, "---\n" CLASS "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
		    "metadata: {name: eg, namespace: default}\nspec:\n  gatewayClassName: xgw\n"
		    "  tls:\n    frontend:\n"
		    "      default: {validation: {caCertificateRefs: [{name: ca}]}}\n"
		    "      perPort:\n"
		    "      - {port: 8443, tls: {validation: {mode: AllowInsecureFallback, "
		    "caCertificateRefs: [{name: ca}]}}}\n"
		    "      - {port: 9443, tls: {validation: {caCertificateRefs: [{name: gone}]}}}\n"
		    "      - {port: 9444, tls: {validation: {caCertificateRefs: [{kind: Secret, "
		    "name: s1}]}}}\n"
		    "  listeners:\n"
		    "  - {name: strict, protocol: HTTPS, port: 443, tls: {certificateRefs: [{name: "
		    "s1}]}}\n"
		    "  - {name: fallback, protocol: HTTPS, port: 8443, tls: {certificateRefs: "
		    "[{name: s1}]}}\n"
		    "  - {name: gone, protocol: HTTPS, port: 9443, tls: {certificateRefs: [{name: "
		    "s1}]}}\n"
		    "  - {name: kind, protocol: HTTPS, port: 9444, tls: {certificateRefs: [{name: "
		    "s1}]}}\n"
		    "  - {name: plain, protocol: HTTP, port: 80}\n---\n");
	if (!run(&f, yaml, NULL, 0))
		goto out;
	const struct xgw_gateway_status *g = gw(&f, "eg");

	ASSERT_COND(&g->conds, "InsecureFrontendValidationMode", "True", "ConfigurationChanged");
	ASSERT_COND(&lsn(g, "strict")->conds, "Programmed", "True", "Programmed");
	ASSERT_COND(&lsn(g, "gone")->conds, "ResolvedRefs", "False", "InvalidCACertificateRef");
	ASSERT_COND(&lsn(g, "gone")->conds, "Accepted", "False", "NoValidCACertificate");
	ASSERT_COND(&lsn(g, "kind")->conds, "ResolvedRefs", "False", "InvalidCACertificateKind");
	ASSERT_COND(&lsn(g, "plain")->conds, "Programmed", "True", "Programmed");
	if (!ASSERT_EQ(f.snap.n_listeners, 3, "443, 8443 and 80 are served"))
		goto out;
	for (uint32_t i = 0; i < f.snap.n_listeners; i++) {
		const struct xgw_snap_listener *l = &f.snap.listeners[i];

		if (l->port == 80) {
			ASSERT_EQ(l->sni_count, 0, "plain HTTP has no server names");
			continue;
		}
		const struct xgw_snap_sni *sn = &f.snap.snis[l->sni_first];

		ASSERT_EQ(sn->client_verify,
			  l->port == 443 ? XGW_CLIENT_VERIFY_REQUIRE : XGW_CLIENT_VERIFY_OPTIONAL,
			  "verification mode");
		ASSERT_TRUE(strstr(str(&f, sn->client_ca), "BEGIN CERTIFICATE") != NULL,
			    "the CA is in the snapshot");
	}
out:
	done(&f);
}

TEST(weak_key_refused)
{
	static struct pem64 weak;
	struct fixture f;
	size_t o = 0;

	if (!ASSERT_TRUE(make_cert_key("weak", &weak, EVP_RSA_gen(1024)), "RSA-1024 certificate"))
		return;
	o = secret(o, "default", "weak", "kubernetes.io/tls", weak.crt, weak.key);
	o = text(o, CLASS GATEWAY("eg", "  - {name: https, protocol: HTTPS, port: 443, tls: "
					"{certificateRefs: [{name: weak}]}}\n"));
	if (!run(&f, yaml, NULL, 0))
		goto out;
	/* a worker's OpenSSL would refuse it: the agent says so instead of programming it */
	const struct xgw_listener_status *l = lsn(gw(&f, "eg"), "https");

	ASSERT_COND(&l->conds, "ResolvedRefs", "False", "InvalidCertificateRef");
	ASSERT_TRUE(strstr(cond(&l->conds, "ResolvedRefs")->message, "key too small") != NULL,
		    "the reason is named");
	ASSERT_EQ(f.snap.n_listeners, 0, "not served");
out:
	done(&f);
}

TEST(secret_data_decoding)
{
	struct xgw_store *st = xgw_store__new();
	static const char y[] =
		"apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: default}\n"
		"type: kubernetes.io/tls\ndata: {tls.crt: aGVsbG8=, tls.key: aGk=}\n---\n"
		"apiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: default}\n"
		"data: {tls.crt: 'not base64!'}\n---\n"
		"apiVersion: v1\nkind: Secret\nmetadata: {name: c, namespace: default}\n"
		"stringData: {tls.crt: plain}\ndata: {tls.crt: aGVsbG8=}\n";

	if (!ASSERT_OK_PTR(st, "store") ||
	    !ASSERT_OK(xgw_store_load_yaml(st, "s.yaml", y, sizeof(y) - 1), "load"))
		goto out;
	if (ASSERT_EQ(st->n_secrets, 2, "two secrets decode")) {
		ASSERT_STREQ(st->secrets[0].tls_crt, "hello", "base64 data");
		ASSERT_EQ(st->secrets[0].tls_key_len, 2, "key length");
		ASSERT_STREQ(st->secrets[0].type, "kubernetes.io/tls", "type");
		ASSERT_STREQ(st->secrets[1].tls_crt, "plain", "stringData wins over data");
		ASSERT_STREQ(st->secrets[1].type, "Opaque", "default type");
	}
	if (ASSERT_EQ(st->n_errors, 1, "the bad one is an error"))
		ASSERT_TRUE(strstr(st->errors[0].message, "base64") != NULL, "says base64");
out:
	xgw_store__free(st);
}

TEST_MAIN()
