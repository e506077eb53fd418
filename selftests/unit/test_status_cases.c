// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The status cases of the Gateway API conformance suite, replayed against the
 * reconciler: for each test of ../shared/conformance/status.json, its
 * manifests are loaded (with the suite's manifest conventions applied), every
 * step's action is applied, and after each step the store is reconciled again
 * and every expectation is checked against the status document that the agent
 * writes (xgw_status_json), per status.json "semantics.checks".
 *
 * As the API server would, the harness gives every object a creationTimestamp;
 * the objects a test creates once the others are ready (cases.json
 * setup_actions "create_after_ready") are added, created later.
 *
 * Manifests are kept as JSON trees (status-docs.c, parsed from YAML with libyaml) so that
 * step actions are edits of a tree; the trees are fed to the decoder as JSON,
 * which is YAML, so the decoder sees what a folder of manifests would give it.
 *
 * One TAP test point per status.json test. Tests listed in
 * selftests/unit/status-expected-failures.txt ("Name<TAB>reason") need
 * features this build does not have: they report "not ok ... # TODO reason",
 * and "ok ... # TODO" with a note when they start to pass.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yaml.h>

#include "reconcile.h"
#include "status-docs.h"
#include "status.h"
#include "xgw/model.h"
#include "xgw/netaddr.h"

/* --- objects the suite generates ---------------------------------------- */

/*
 * The upstream suite creates certificate Secrets and CA ConfigMaps before any
 * test (cases.json "generated_objects"). Status only needs them to exist and
 * to hold a certificate with its key: one self-signed P-256 certificate
 * serves for all of them.
 */
static json_t *gen_docs;   /* the generated objects, appended to every test's manifests */
static json_t *case_tests; /* cases.json tests by name, for their setup_actions */

static char *pem_of(void *obj, bool key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *data;
	long n;

	if (!b)
		return NULL;
	if (key ? PEM_write_bio_PrivateKey(b, obj, NULL, NULL, 0, NULL, NULL)
		: PEM_write_bio_X509(b, obj)) {
		n = BIO_get_mem_data(b, &data);
		p = n > 0 ? strndup(data, (size_t)n) : NULL;
	}
	BIO_free(b);
	return p;
}

static char *b64_of(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static json_t *generated_objects(const char *dir)
{
	char path[PATH_MAX];
	json_t *cases = NULL, *out = json_array(), *o;
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	char *crt = NULL, *key = NULL, *crt64 = NULL, *key64 = NULL;
	size_t i;

	if ((size_t)snprintf(path, sizeof(path), "%s/cases.json", dir) >= sizeof(path))
		goto out;
	cases = json_load_file(path, 0, NULL);
	if (!cases || !pk || !x)
		goto out;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"default", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, pk);
	if (!X509_sign(x, pk, EVP_sha256()))
		goto out;
	crt = pem_of(x, false);
	key = pem_of(pk, true);
	crt64 = crt ? b64_of(crt) : NULL;
	key64 = key ? b64_of(key) : NULL;
	if (!crt64 || !key64)
		goto out;
	json_array_foreach(json_object_get(cases, "tests"), i, o) if (jstr(o, "test"))
		json_object_set(case_tests, jstr(o, "test"), o);
	json_array_foreach(json_object_get(json_object_get(cases, "generated_objects"), "objects"),
			   i, o)
	{
		const char *kind = jstr(o, "kind"), *ns = jstr(o, "namespace"),
			   *name = jstr(o, "name");

		if (!kind || !ns || !name)
			continue;
		if (!strcmp(kind, "Secret"))
			json_array_append_new(
				out,
				json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:{s:s, s:s}}",
					  "apiVersion", "v1", "kind", "Secret", "metadata", "name",
					  name, "namespace", ns, "type", "kubernetes.io/tls",
					  "data", "tls.crt", crt64, "tls.key", key64));
		else if (!strcmp(kind, "ConfigMap"))
			json_array_append_new(
				out, json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion",
					       "v1", "kind", "ConfigMap", "metadata", "name", name,
					       "namespace", ns, "data", "ca.crt", crt));
	}
out:
	free(crt);
	free(key);
	free(crt64);
	free(key64);
	X509_free(x);
	EVP_PKEY_free(pk);
	json_decref(cases);
	return out;
}

/* --- one run of the reconciler ----------------------------------------- */

struct run {
	struct xgw_store *st;
	struct xgw_reconcile_result res;
	json_t *status; /* xgw_status_json() */
};

static void run_free(struct run *r)
{
	json_decref(r->status);
	xgw_reconcile_result__free(&r->res);
	xgw_store__free(r->st);
	memset(r, 0, sizeof(*r));
}

/*
 * The agent writes the document as text (xgw_status_render): it must be the
 * bytes jansson dumps of the tree the checks read, programmed or not, with a
 * refusal or without. Returns 0 or -EPROTO.
 */
static int same_text(const struct run *r)
{
	const struct xgw_status_rejected rej = { .gen = 2, .worker = 1, .err = -EINVAL };

	for (int k = 0; k < 3; k++) {
		json_t *tree = k == 2 ? json_deep_copy(r->status) : xgw_status_json(&r->res, 1, k);
		char *want, *text = NULL;
		size_t len = 0, i = 0;
		int err;

		if (!tree)
			return -ENOMEM;
		if (k == 2)
			json_object_set_new(tree, "rejected",
					    json_pack("{s:I, s:i, s:s, s:I}", "generation",
						      (json_int_t)2, "worker", 1, "error",
						      strerror(EINVAL), "serving", (json_int_t)1));
		want = json_dumps(tree, JSON_COMPACT);
		json_decref(tree);
		err = xgw_status_render(&r->res, 1, k != 0, k == 2 ? &rej : NULL, &text, &len);
		if (!err && want && (strlen(want) != len || memcmp(want, text, len))) {
			while (i < len && want[i] && want[i] == text[i])
				i++;
			printf("#   status text differs from jansson's at byte %zu: %.60s | "
			       "%.60s\n",
			       i, want + i, i < len ? text + i : "");
			err = -EPROTO;
		}
		free(want);
		free(text);
		if (err)
			return err;
	}
	return 0;
}

static int run_reconcile(struct run *r, const json_t *docs)
{
	struct xgw_pool pool = {};
	struct xgw_reconcile_opts o = { .pools = &pool, .n_pools = 1, .generation = 1 };
	size_t i, len = 0, cap = 4096;
	char *buf = malloc(cap);
	json_t *d;
	int err = -ENOMEM;

	memset(r, 0, sizeof(*r));
	if (!buf)
		return -ENOMEM;
	json_array_foreach(docs, i, d)
	{
		char *s = json_dumps(d, JSON_SORT_KEYS);
		size_t n = s ? strlen(s) : 0;

		if (!s)
			goto out;
		if (len + n + 8 > cap) {
			char *nb = realloc(buf, cap = 2 * (len + n + 8));

			if (!nb) {
				free(s);
				goto out;
			}
			buf = nb;
		}
		len += (size_t)sprintf(buf + len, "---\n%s\n", s);
		free(s);
	}
	xgw_cidr_parse(POOL, &pool.family, pool.addr, &pool.prefix);
	r->st = xgw_store__new();
	if (!r->st || (err = xgw_store_load_yaml(r->st, "manifests", buf, len)))
		goto out;
	for (i = 0; i < r->st->n_errors; i++)
		printf("#   decode: %s %s/%s: %s\n", r->st->errors[i].kind ?: "?",
		       r->st->errors[i].ns ?: "", r->st->errors[i].name ?: "?",
		       r->st->errors[i].message);
	if ((err = xgw_reconcile(r->st, &o, &r->res)))
		goto out;
	r->status = xgw_status_json(&r->res, 1, true);
	err = r->status ? 0 : -ENOMEM;
	if (!err)
		err = same_text(r);
out:
	free(buf);
	return err;
}

/* --- checks ------------------------------------------------------------- */

/* A message buffer that checks append to. */
struct why {
	char s[2048];
	size_t n;
};

static bool fail(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(struct why *w, const char *fmt, ...)
{
	va_list ap;

	if (w->n >= sizeof(w->s) - 1)
		return false;
	va_start(ap, fmt);
	w->n += (size_t)vsnprintf(w->s + w->n, sizeof(w->s) - w->n, fmt, ap);
	va_end(ap);
	if (w->n > sizeof(w->s) - 1)
		w->n = sizeof(w->s) - 1;
	return false;
}

/* The status object of <ref> (kind, name, namespace) in the status document. */
static json_t *status_obj(const json_t *status, const json_t *ref)
{
	const char *kind = jstr(ref, "kind"), *ns = jstr(ref, "namespace");
	const char *list = !strcmp(kind, "GatewayClass")       ? "gatewayClasses"
			   : !strcmp(kind, "Gateway")	       ? "gateways"
			   : !strcmp(kind, "ListenerSet")      ? "listenerSets"
			   : !strcmp(kind, "HTTPRoute")	       ? "httpRoutes"
			   : !strcmp(kind, "TLSRoute")	       ? "tlsRoutes"
			   : !strcmp(kind, "TCPRoute")	       ? "tcpRoutes"
			   : !strcmp(kind, "UDPRoute")	       ? "udpRoutes"
			   : !strcmp(kind, "GRPCRoute")	       ? "grpcRoutes"
			   : !strcmp(kind, "BackendTLSPolicy") ? "backendTLSPolicies"
							       : NULL;
	size_t i;
	json_t *o;

	json_array_foreach(json_object_get(status, list ? list : ""), i, o)
	{
		if (!strcmp(jstr(o, "name"), jstr(ref, "name")) &&
		    (!ns || !jstr(o, "namespace") || !strcmp(jstr(o, "namespace"), ns)))
			return o;
	}
	return NULL;
}

static void conds_text(const json_t *conds, struct why *w)
{
	size_t i;
	json_t *c;

	fail(w, "[");
	json_array_foreach(conds, i, c)
	{
		fail(w, "%s%s=%s/%s@%lld", i ? " " : "", jstr(c, "type"), jstr(c, "status"),
		     jstr(c, "reason"),
		     (long long)json_integer_value(json_object_get(c, "observedGeneration")));
	}
	fail(w, "]");
}

/* Does <conds> hold every condition of <want> with observedGeneration <gen>? */
static bool conds_hold(const json_t *conds, const json_t *want, json_int_t gen, struct why *w)
{
	size_t i, k;
	json_t *wc, *c;

	json_array_foreach(want, i, wc)
	{
		const char *type = jstr(wc, "type"), *status = jstr(wc, "status"),
			   *reason = jstr(wc, "reason");
		bool found = false;

		json_array_foreach(conds, k, c)
		{
			if (strcmp(jstr(c, "type"), type))
				continue;
			found = true;
			if ((status && strcmp(jstr(c, "status"), status)) ||
			    (reason && strcmp(jstr(c, "reason"), reason)) ||
			    json_integer_value(json_object_get(c, "observedGeneration")) != gen)
				found = false;
			break;
		}
		if (!found) {
			fail(w, "want %s=%s/%s@%lld, have ", type, status ? status : "*",
			     reason ? reason : "*", (long long)gen);
			conds_text(conds, w);
			return false;
		}
	}
	return true;
}

static bool all_latest(const json_t *conds, json_int_t gen, struct why *w)
{
	size_t i;
	json_t *c;

	if (!json_array_size(conds))
		return fail(w, "no conditions");
	json_array_foreach(conds, i, c)
	{
		if (json_integer_value(json_object_get(c, "observedGeneration")) != gen) {
			fail(w, "observedGeneration is not %lld: ", (long long)gen);
			conds_text(conds, w);
			return false;
		}
	}
	return true;
}

struct check_ctx {
	const json_t *docs;   /* after the step's action */
	const json_t *status; /* of those documents */
	const json_t *before; /* generations before the step's action: "kind/ns/name" -> int */
};

static json_int_t generation_of(const struct check_ctx *cx, const json_t *ref)
{
	json_t *d = find_doc((json_t *)cx->docs, ref, NULL);

	return d ? doc_generation(d) : -1;
}

static json_t *listener(const json_t *gw, const char *name)
{
	size_t i;
	json_t *l;

	json_array_foreach(json_object_get(json_object_get(gw, "status"), "listeners"), i, l)
	{
		if (!strcmp(jstr(l, "name"), name))
			return l;
	}
	return NULL;
}

static bool has_kind(const json_t *kinds, const json_t *want)
{
	const char *g = jstr(want, "group") ? jstr(want, "group") : XGW_GATEWAY_GROUP;
	size_t i;
	json_t *k;

	json_array_foreach(kinds, i, k)
	{
		if (!strcmp(jstr(k, "kind"), jstr(want, "kind")) &&
		    !strcmp(jstr(k, "group") ? jstr(k, "group") : XGW_GATEWAY_GROUP, g))
			return true;
	}
	return false;
}

static bool listeners_exact(const json_t *gw, const json_t *want, json_int_t gen, struct why *w)
{
	const json_t *have = json_object_get(json_object_get(gw, "status"), "listeners");
	size_t i, k;
	json_t *wl, *wk;

	if (json_array_size(have) != json_array_size(want))
		return fail(w, "%zu listeners, want %zu", json_array_size(have),
			    json_array_size(want));
	json_array_foreach(want, i, wl)
	{
		const char *name = jstr(wl, "name");
		json_t *l = listener(gw, name), *kinds;
		json_int_t att, watt;

		if (!l)
			return fail(w, "no listener %s", name);
		kinds = json_object_get(l, "supportedKinds");
		if (!json_array_size(json_object_get(wl, "supportedKinds")) &&
		    json_array_size(kinds))
			return fail(w, "listener %s: supportedKinds should be empty (has %zu)",
				    name, json_array_size(kinds));
		json_array_foreach(json_object_get(wl, "supportedKinds"), k, wk)
		{
			if (!has_kind(kinds, wk))
				return fail(w, "listener %s: supportedKinds lacks %s", name,
					    jstr(wk, "kind"));
		}
		att = json_integer_value(json_object_get(l, "attachedRoutes"));
		watt = json_integer_value(json_object_get(wl, "attachedRoutes"));
		if (att != watt)
			return fail(w, "listener %s: attachedRoutes %lld, want %lld", name,
				    (long long)att, (long long)watt);
		if (!conds_hold(json_object_get(l, "conditions"), json_object_get(wl, "conditions"),
				gen, w))
			return fail(w, " (listener %s)", name);
	}
	return true;
}

/* The object an expectation is about. */
static const json_t *ref_of(const json_t *ex)
{
	const json_t *r = json_object_get(ex, "object");

	if (!r)
		r = json_object_get(ex, "route");
	if (!r)
		r = json_object_get(ex, "gateway");
	if (!r)
		r = json_object_get(ex, "policy");
	return r;
}

/* The status.parents entries of <route> for parent <p> (name, namespace). */
static json_t *parent_entry(const json_t *route, const json_t *p, size_t from, size_t *at)
{
	const json_t *ps = json_object_get(json_object_get(route, "status"), "parents");

	for (size_t i = from; i < json_array_size(ps); i++) {
		json_t *e = json_array_get(ps, i), *ref = json_object_get(e, "parentRef");
		const char *ns = jstr(ref, "namespace");

		if (!strcmp(jstr(ref, "name"), jstr(p, "name")) &&
		    (!ns || !jstr(p, "namespace") || !strcmp(ns, jstr(p, "namespace")))) {
			if (at)
				*at = i;
			return e;
		}
	}
	return NULL;
}

/* Every condition of every status.parents entry of <route> is of <gen>. */
static bool parents_latest(const json_t *route, json_int_t gen, struct why *w)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(json_object_get(route, "status"), "parents"), i, e)
	{
		if (!all_latest(json_object_get(e, "conditions"), gen, w))
			return false;
	}
	return true;
}

static bool route_parent_conditions(const struct check_ctx *cx, const json_t *ex, struct why *w)
{
	const json_t *ref = ref_of(ex);
	const json_t *p = json_object_get(ex, "parent");
	json_t *r = status_obj(cx->status, ref), *e;

	if (!r)
		return fail(w, "route has no status");
	if (!parents_latest(r, generation_of(cx, ref), w))
		return false;
	e = parent_entry(r, p, 0, NULL);
	if (!e)
		return fail(w, "no status.parents entry for %s", jstr(p, "name"));
	return conds_hold(json_object_get(e, "conditions"), json_object_get(ex, "conditions"),
			  generation_of(cx, ref), w);
}

static bool routes_and_parent_accepted(const struct check_ctx *cx, const json_t *ex, struct why *w)
{
	const json_t *p = json_object_get(ex, "parent");
	json_t *want = json_pack("[{s:s, s:s, s:s}]", "type", "Accepted", "status", "True",
				 "reason", "Accepted");
	json_t *lwant = json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "type", "ResolvedRefs",
				  "status", "True", "type", "Accepted", "status", "True", "type",
				  "Programmed", "status", "True");
	json_t *rref, *gw, *l;
	bool ok = false;
	size_t i;

	if (strcmp(jstr(p, "kind"), "Gateway") && strcmp(jstr(p, "kind"), "ListenerSet")) {
		fail(w, "parent kind %s is not supported", jstr(p, "kind"));
		goto out;
	}
	json_array_foreach(json_object_get(ex, "routes"), i, rref)
	{
		json_t *r = status_obj(cx->status, rref), *e, *pr;
		json_int_t gen = generation_of(cx, rref);
		size_t at = 0;
		bool found = false;

		if (!r) {
			fail(w, "route %s has no status", jstr(rref, "name"));
			goto out;
		}
		if (!parents_latest(r, gen, w))
			goto out;
		while ((e = parent_entry(r, p, at, &at)) && !found) {
			const char *ns;

			at++;
			pr = json_object_get(e, "parentRef");
			ns = jstr(pr, "namespace");
			found = !strcmp(jstr(pr, "group") ?: "", XGW_GATEWAY_GROUP) &&
				!strcmp(jstr(pr, "kind") ?: "", jstr(p, "kind")) &&
				(ns ? !strcmp(ns, jstr(p, "namespace"))
				    : !strcmp(jstr(rref, "namespace"), jstr(p, "namespace"))) &&
				!strcmp(jstr(e, "controllerName") ?: "", XGW_CONTROLLER_NAME);
			if (found && !conds_hold(json_object_get(e, "conditions"), want, gen, w)) {
				fail(w, " (route %s)", jstr(rref, "name"));
				goto out;
			}
		}
		if (!found) {
			fail(w, "route %s: no status.parents entry for %s/%s", jstr(rref, "name"),
			     jstr(p, "namespace"), jstr(p, "name"));
			goto out;
		}
	}
	gw = status_obj(cx->status, p);
	if (!gw) {
		fail(w, "parent has no status");
		goto out;
	}
	json_array_foreach(json_object_get(json_object_get(gw, "status"), "listeners"), i, l)
	{
		if (!conds_hold(json_object_get(l, "conditions"), lwant, generation_of(cx, p), w)) {
			fail(w, " (listener %s)", jstr(l, "name"));
			goto out;
		}
	}
	ok = true;
out:
	json_decref(want);
	json_decref(lwant);
	return ok;
}

static bool route_parents_include(const struct check_ctx *cx, const json_t *ex, struct why *w)
{
	const json_t *ref = ref_of(ex);
	bool ns_required = json_is_true(json_object_get(ex, "namespace_required"));
	json_t *r = status_obj(cx->status, ref), *wp;
	json_int_t gen = generation_of(cx, ref);
	size_t i;

	if (!r)
		return fail(w, "route has no status");
	if (!parents_latest(r, gen, w))
		return false;
	json_array_foreach(json_object_get(ex, "parents"), i, wp)
	{
		const json_t *wr = json_object_get(wp, "parentRef");
		const json_t *ps = json_object_get(json_object_get(r, "status"), "parents");
		bool found = false;

		for (size_t k = 0; k < json_array_size(ps) && !found; k++) {
			json_t *e = json_array_get(ps, k), *pr = json_object_get(e, "parentRef");
			const char *ns = jstr(pr, "namespace");

			found = !strcmp(jstr(pr, "group") ?: "", jstr(wr, "group")) &&
				!strcmp(jstr(pr, "kind") ?: "", jstr(wr, "kind")) &&
				!strcmp(jstr(pr, "name"), jstr(wr, "name")) &&
				(ns ? !strcmp(ns, jstr(wr, "namespace")) : !ns_required) &&
				!strcmp(jstr(e, "controllerName") ?: "", XGW_CONTROLLER_NAME);
			if (found && !conds_hold(json_object_get(e, "conditions"),
						 json_object_get(wp, "conditions"), gen, w))
				return false;
		}
		if (!found)
			return fail(w,
				    "no status.parents entry for %s %s/%s (group, kind, "
				    "namespace and controllerName compared)",
				    jstr(wr, "kind"), jstr(wr, "namespace"), jstr(wr, "name"));
	}
	return true;
}

static bool route_no_accepted_parents(const struct check_ctx *cx, const json_t *ex, struct why *w)
{
	json_t *r = status_obj(cx->status, ref_of(ex));
	const json_t *ps = json_object_get(json_object_get(r, "status"), "parents");
	json_t *want = json_pack("[{s:s, s:s}]", "type", "Accepted", "status", "False");
	bool ok;

	if (!json_array_size(ps)) {
		json_decref(want);
		return true;
	}
	ok = json_array_size(ps) == 1 ||
	     fail(w, "%zu status.parents entries, want 0 or 1", json_array_size(ps));
	ok = ok && conds_hold(json_object_get(json_array_get(ps, 0), "conditions"), want,
			      generation_of(cx, ref_of(ex)), w);
	json_decref(want);
	return ok;
}

static bool gateway_status_addresses(const json_t *gw, struct why *w)
{
	const json_t *as = json_object_get(json_object_get(gw, "status"), "addresses");
	const json_t *a = json_array_get(as, 0);

	if (json_array_size(as) != 1)
		return fail(w, "%zu status addresses, want 1", json_array_size(as));
	if (strcmp(jstr(a, "type") ?: "", "IPAddress") ||
	    strcmp(jstr(a, "value") ?: "", USABLE_ADDR))
		return fail(w, "status address %s %s, want IPAddress %s", jstr(a, "type"),
			    jstr(a, "value"), USABLE_ADDR);
	return true;
}

static bool is_route_kind(const char *kind)
{
	return !strcmp(kind, "HTTPRoute") || !strcmp(kind, "GRPCRoute") ||
	       !strcmp(kind, "TLSRoute") || !strcmp(kind, "TCPRoute") || !strcmp(kind, "UDPRoute");
}

static bool status_obj_kind_known(const char *kind)
{
	return !strcmp(kind, "GatewayClass") || !strcmp(kind, "Gateway") ||
	       !strcmp(kind, "ListenerSet") || is_route_kind(kind) ||
	       !strcmp(kind, "BackendTLSPolicy");
}

/*
 * A policy's status.ancestors: every condition is of <gen>, and (with <anc>)
 * the entry of ancestor <anc> (name, namespace) holds the wanted conditions.
 */
static bool policy_ancestors(const json_t *pol, const json_t *anc, const json_t *want,
			     json_int_t gen, struct why *w)
{
	const json_t *as = json_object_get(json_object_get(pol, "status"), "ancestors");
	size_t i;
	json_t *a;

	json_array_foreach(as, i, a)
	{
		if (!all_latest(json_object_get(a, "conditions"), gen, w))
			return false;
	}
	if (!anc)
		return true;
	json_array_foreach(as, i, a)
	{
		const json_t *ref = json_object_get(a, "ancestorRef");
		const char *ns = jstr(ref, "namespace");

		if (!strcmp(jstr(ref, "name") ?: "", jstr(anc, "name")) &&
		    (!ns || !jstr(anc, "namespace") || !strcmp(ns, jstr(anc, "namespace"))))
			return conds_hold(json_object_get(a, "conditions"), want, gen, w);
	}
	return fail(w, "no status.ancestors entry for %s", jstr(anc, "name"));
}

static bool check(const struct check_ctx *cx, const json_t *ex, struct why *w)
{
	const char *what = jstr(ex, "check");
	const json_t *ref = ref_of(ex);
	json_t *o = NULL;
	json_int_t gen = -1;

	if (ref && jstr(ref, "kind")) {
		o = status_obj(cx->status, ref);
		gen = generation_of(cx, ref);
	}
	if (!strcmp(what, "routes_and_parent_accepted"))
		return routes_and_parent_accepted(cx, ex, w);
	if (!ref || !jstr(ref, "kind") || !status_obj_kind_known(jstr(ref, "kind")))
		return fail(w, "check %s on %s is not supported by this build", what,
			    ref && jstr(ref, "kind") ? jstr(ref, "kind") : "?");
	if (!strcmp(what, "route_parent_conditions"))
		return route_parent_conditions(cx, ex, w);
	if (!strcmp(what, "route_parents_include"))
		return route_parents_include(cx, ex, w);
	if (!strcmp(what, "route_no_accepted_parents"))
		return route_no_accepted_parents(cx, ex, w);
	if (!strcmp(what, "generation_changed")) {
		char key[512];
		json_t *b;

		snprintf(key, sizeof(key), "%s/%s/%s", jstr(ref, "kind"),
			 jstr(ref, "namespace") ?: "", jstr(ref, "name"));
		b = json_object_get(cx->before, key);
		return (b && json_integer_value(b) != gen) ||
		       fail(w, "generation stayed %lld", (long long)gen);
	}
	if (!o)
		return fail(w, "%s %s has no status", jstr(ref, "kind"), jstr(ref, "name"));
	if (!strcmp(what, "object_conditions"))
		return conds_hold(json_object_get(json_object_get(o, "status"), "conditions"),
				  json_object_get(ex, "conditions"), gen, w);
	if (!strcmp(what, "policy_ancestor_conditions"))
		return policy_ancestors(o, json_object_get(ex, "ancestor"),
					json_object_get(ex, "conditions"), gen, w);
	if (!strcmp(what, "latest_observed_generation") && is_route_kind(jstr(ref, "kind")))
		return parents_latest(o, gen, w);
	if (!strcmp(what, "latest_observed_generation") &&
	    !strcmp(jstr(ref, "kind"), "BackendTLSPolicy"))
		return policy_ancestors(o, NULL, NULL, gen, w);
	if (!strcmp(what, "latest_observed_generation"))
		return all_latest(json_object_get(json_object_get(o, "status"), "conditions"), gen,
				  w);
	if (!strcmp(what, "gateway_listeners_exact") ||
	    !strcmp(what, "listenerset_listeners_exact"))
		return listeners_exact(o, json_object_get(ex, "listeners"), gen, w);
	if (!strcmp(what, "gateway_attached_listener_sets")) {
		json_t *n = json_object_get(json_object_get(o, "status"), "attachedListenerSets");

		return (json_is_integer(n) &&
			json_integer_value(n) ==
				json_integer_value(json_object_get(ex, "count"))) ||
		       fail(w, "attachedListenerSets %lld, want %lld",
			    n ? (long long)json_integer_value(n) : -1LL,
			    (long long)json_integer_value(json_object_get(ex, "count")));
	}
	if (!strcmp(what, "listener_conditions")) {
		size_t i;
		json_t *name;

		json_array_foreach(json_object_get(ex, "listeners"), i, name)
		{
			json_t *l = listener(o, json_string_value(name));

			if (!l)
				return fail(w, "no listener %s", json_string_value(name));
			if (!conds_hold(json_object_get(l, "conditions"),
					json_object_get(ex, "conditions"), gen, w))
				return fail(w, " (listener %s)", json_string_value(name));
		}
		return true;
	}
	if (!strcmp(what, "gateway_zero_attached_routes")) {
		const json_t *ls = json_object_get(json_object_get(o, "status"), "listeners");

		return !json_array_size(ls) ||
		       (json_array_size(ls) == 1 &&
			!json_integer_value(
				json_object_get(json_array_get(ls, 0), "attachedRoutes"))) ||
		       fail(w, "listeners are not one with attachedRoutes 0");
	}
	if (!strcmp(what, "gateway_has_address")) {
		size_t i;
		json_t *a;

		json_array_foreach(json_object_get(json_object_get(o, "status"), "addresses"), i, a)
		{
			if (jstr(a, "type"))
				return true;
		}
		return fail(w, "no status address");
	}
	if (!strcmp(what, "gateway_status_addresses"))
		return gateway_status_addresses(o, w);
	return fail(w, "check %s is not supported by this build", what);
}

/* --- the driver ---------------------------------------------------------- */

/* "kind/namespace/name" -> metadata.generation of every document. */
static json_t *generations(const json_t *docs)
{
	json_t *out = json_object(), *d;
	size_t i;

	json_array_foreach(docs, i, d)
	{
		char key[512];

		snprintf(key, sizeof(key), "%s/%s/%s", jstr(d, "kind") ?: "",
			 meta_str(d, "namespace") ?: "", meta_str(d, "name") ?: "");
		json_object_set_new(out, key, json_integer(doc_generation(d)));
	}
	return out;
}

/*
 * A Gateway of a test's own manifests without the annotation
 * gateway-api/skip-this-for-readiness: "true" must become Accepted=True and
 * Programmed=True (status.json "manifest_conventions").
 */
static bool must_be_ready(const json_t *doc)
{
	const json_t *ann = json_object_get(json_object_get(doc, "metadata"), "annotations");
	const char *skip = jstr(ann, "gateway-api/skip-this-for-readiness");

	return !strcmp(jstr(doc, "kind") ?: "", "Gateway") && (!skip || strcmp(skip, "true"));
}

struct tally {
	int n, passed;
	bool failed;
};

/*
 * Check <implicit> (status.json "implicit_expectations", not counted) and <exs>
 * against one reconcile of <docs>; print what fails.
 */
static int check_all(const json_t *docs, const json_t *before, const json_t *implicit,
		     const json_t *exs, int step, struct tally *t)
{
	size_t i, n_imp = json_array_size(implicit);
	struct run r;
	struct check_ctx cx = { .docs = docs, .before = before };
	int err;

	err = run_reconcile(&r, docs);
	if (err) {
		printf("#   step %d: reconcile failed: %s\n", step, strerror(-err));
		t->failed = true;
		run_free(&r);
		return err;
	}
	cx.status = r.status;
	for (i = 0; i < n_imp + json_array_size(exs); i++) {
		const json_t *e =
			i < n_imp ? json_array_get(implicit, i) : json_array_get(exs, i - n_imp);
		const json_t *ref = ref_of(e) ? ref_of(e) : json_object_get(e, "parent");
		struct why w = { .n = 0 };

		if (i >= n_imp)
			t->n++;
		if (check(&cx, e, &w)) {
			t->passed += i >= n_imp;
			continue;
		}
		t->failed = true;
		w.s[w.n] = '\0';
		printf("#   step %d, %s%s %s %s%s%s: %s\n", step, i < n_imp ? "implicit " : "",
		       jstr(e, "check"), ref ? jstr(ref, "kind") : "",
		       ref && jstr(ref, "namespace") ? jstr(ref, "namespace") : "",
		       ref && jstr(ref, "namespace") ? "/" : "", ref ? jstr(ref, "name") : "", w.s);
	}
	run_free(&r);
	return 0;
}

/* Run one status.json test; returns false when an expectation failed. */
/* When the API server creates the objects of a test (metadata.creationTimestamp). */
#define CREATED_AT "2026-01-01T00:00:00Z"

/*
 * Play the API server's clock: every object of <docs> without a
 * creationTimestamp gets CREATED_AT, and the objects that the test creates
 * once the others are ready (cases.json setup_actions "create_after_ready",
 * such as the newer of two TCPRoutes on one listener) are appended, created
 * <delay_seconds> later. Returns 0 or -EINVAL for an action it cannot apply.
 */
static int created_after_ready(const json_t *test, json_t *docs)
{
	const json_t *ct = json_object_get(case_tests, jstr(test, "test") ?: "");
	json_t *d, *act;
	size_t i;

	json_array_foreach(docs, i, d)
	{
		json_t *meta = json_object_get(d, "metadata");

		if (json_is_object(meta) && !json_object_get(meta, "creationTimestamp"))
			json_object_set_new(meta, "creationTimestamp", json_string(CREATED_AT));
	}
	json_array_foreach(json_object_get(ct, "setup_actions"), i, act)
	{
		json_int_t delay = json_integer_value(json_object_get(act, "delay_seconds"));
		json_t *o = json_deep_copy(json_object_get(act, "object"));
		json_t *meta = json_object_get(o, "metadata");
		char ts[32];

		if (strcmp(jstr(act, "op") ?: "", "create_after_ready"))
			continue;
		if (!json_is_object(meta) || delay < 1 || delay > 59) {
			printf("#   setup action create_after_ready: no object, or delay %lld\n",
			       (long long)delay);
			json_decref(o);
			return -EINVAL;
		}
		snprintf(ts, sizeof(ts), "2026-01-01T00:00:%02lldZ", (long long)delay);
		json_object_set_new(meta, "creationTimestamp", json_string(ts));
		conventions(o);
		json_array_append_new(docs, o);
	}
	return 0;
}

static bool run_test(const char *dir, const json_t *test, json_t *cache, struct tally *t)
{
	json_t *docs = json_array(), *m, *step;

	json_decref(originals);
	originals = json_object();
	json_t *implicit =
		json_pack("[{s:s, s:{s:s, s:s}, s:[{s:s, s:s, s:s}]}]", "check",
			  "object_conditions", "object", "kind", "GatewayClass", "name", CLASS_NAME,
			  "conditions", "type", "Accepted", "status", "True", "reason", "Accepted");
	size_t i;
	char path[PATH_MAX];

	json_array_foreach(json_object_get(test, "manifests"), i, m)
	{
		json_t *file = json_object_get(cache, json_string_value(m)), *d;
		size_t k;

		if (!file) {
			file = json_array();
			if ((size_t)snprintf(path, sizeof(path), "%s/manifests/%s", dir,
					     json_string_value(m)) >= sizeof(path) ||
			    load_yaml_file(path, file)) {
				printf("#   cannot load %s\n", path);
				json_decref(file);
				t->failed = true;
				goto out;
			}
			json_object_set_new(cache, json_string_value(m), file);
		}
		json_array_foreach(file, k, d)
		{
			json_t *c = json_deep_copy(d);

			conventions(c);
			json_array_append_new(docs, c);
			if (i && must_be_ready(c))
				json_array_append_new(
					implicit,
					json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:s}, {s:s, "
						  "s:s}]}",
						  "check", "object_conditions", "object", "kind",
						  "Gateway", "name", meta_str(c, "name"),
						  "namespace",
						  meta_str(c, "namespace") ?: "default",
						  "conditions", "type", "Accepted", "status",
						  "True", "type", "Programmed", "status", "True"));
		}
	}
	if (created_after_ready(test, docs)) {
		t->failed = true;
		goto out;
	}
	json_array_extend(docs, gen_docs);
	json_array_append_new(docs, json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion",
					      "gateway.networking.k8s.io/v1", "kind",
					      "GatewayClass", "metadata", "name", CLASS_NAME,
					      "spec", "controllerName", XGW_CONTROLLER_NAME));
	if (json_object_get(test, "expectations") &&
	    check_all(docs, NULL, implicit, json_object_get(test, "expectations"), -1, t))
		goto out;
	json_array_foreach(json_object_get(test, "steps"), i, step)
	{
		json_t *before = generations(docs), *act = json_object_get(step, "action");
		char why[256];
		int err = 0;

		if (act && (err = apply_action(docs, act, why, sizeof(why)))) {
			printf("#   step %zu: %s\n", i, why);
			t->failed = true;
		}
		if (!err)
			err = check_all(docs, before, implicit,
					json_object_get(step, "expectations"),
					(int)json_integer_value(json_object_get(step, "step")), t);
		json_decref(before);
		if (err)
			break;
	}
out:
	json_decref(implicit);
	json_decref(docs);
	return !t->failed;
}

/* --- where things are --------------------------------------------------- */

static bool file_exists(const char *dir, const char *rel)
{
	char p[PATH_MAX];

	return (size_t)snprintf(p, sizeof(p), "%s/%s", dir, rel) < sizeof(p) && !access(p, R_OK);
}

/* The source root: $XGW_SRC, else the first parent of the binary (or of the
 * current directory) that holds this file. */
static bool src_root(char *out, size_t len)
{
	const char *env = getenv("XGW_SRC");
	char p[PATH_MAX], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return true;
	}
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0) {
			n = readlink("/proc/self/exe", p, sizeof(p) - 1);
			if (n <= 0)
				continue;
			p[n] = '\0';
		} else if (!getcwd(p, sizeof(p))) {
			continue;
		}
		for (;;) {
			if (file_exists(p, "selftests/unit/test_status_cases.c")) {
				snprintf(out, len, "%s", p);
				return true;
			}
			slash = strrchr(p, '/');
			if (!slash || slash == p)
				break;
			*slash = '\0'; /* the parent directory */
		}
	}
	return false;
}

/* Test name -> reason, from status-expected-failures.txt ("#" comments). */
static json_t *expected_failures(const char *src)
{
	json_t *out = json_object();
	char path[PATH_MAX], line[1024];
	FILE *f;

	if ((size_t)snprintf(path, sizeof(path), "%s/selftests/unit/status-expected-failures.txt",
			     src) >= sizeof(path))
		return out;
	f = fopen(path, "r");
	if (!f)
		return out;
	while (fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (line[0] == '#' || !tab)
			continue;
		*tab = '\0';
		json_object_set_new(out, line, json_string(tab + 1));
	}
	fclose(f);
	return out;
}

int main(void)
{
	char src[PATH_MAX] = ".", dir[PATH_MAX], path[PATH_MAX];
	const char *env = getenv("XGW_CONFORMANCE_DIR");
	json_t *root, *xfail, *cache, *test;
	json_error_t jerr;
	int n = 0, failed = 0, todo = 0, passed = 0;
	size_t i;
	bool have_src = src_root(src, sizeof(src));

	setvbuf(stdout, NULL, _IOLBF, 0);
	int dn = env && *env ? snprintf(dir, sizeof(dir), "%s", env)
			     : snprintf(dir, sizeof(dir), "%s/../shared/conformance", src);

	if (dn < 0 || (size_t)dn >= sizeof(dir) ||
	    (size_t)snprintf(path, sizeof(path), "%s/status.json", dir) >= sizeof(path) ||
	    access(path, R_OK)) {
		printf("1..0 # SKIP conformance data not found\n");
		return 0;
	}
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		printf("Bail out! %s: %s (line %d)\n", path, jerr.text, jerr.line);
		return 1;
	}
	if (!have_src)
		printf("# source root not found: no expected failures\n");
	xfail = expected_failures(src);
	case_tests = json_object();
	gen_docs = generated_objects(dir);
	cache = json_object();
	printf("TAP version 13\n1..%zu\n", json_array_size(json_object_get(root, "tests")));
	printf("# %zu generated objects (certificate Secrets, CA ConfigMaps)\n",
	       json_array_size(gen_docs));
	json_array_foreach(json_object_get(root, "tests"), i, test)
	{
		const char *name = jstr(test, "test");
		const char *reason = json_string_value(json_object_get(xfail, name));
		struct tally t = { 0 };
		bool ok = run_test(dir, test, cache, &t);

		n++;
		if (ok && !reason) {
			printf("ok %d - %s (%d/%d expectations)\n", n, name, t.passed, t.n);
			passed++;
		} else if (ok) {
			printf("ok %d - %s (%d/%d expectations) # TODO %s (passes now: remove it "
			       "from status-expected-failures.txt)\n",
			       n, name, t.passed, t.n, reason);
			passed++;
		} else if (reason) {
			printf("not ok %d - %s (%d/%d expectations) # TODO %s\n", n, name, t.passed,
			       t.n, reason);
			todo++;
		} else {
			printf("not ok %d - %s (%d/%d expectations)\n", n, name, t.passed, t.n);
			failed++;
		}
		json_object_del(xfail, name);
	}
	{
		const char *name;
		json_t *v;

		json_object_foreach(xfail, name, v)
			printf("# status-expected-failures.txt names an unknown test: %s\n", name);
	}
	printf("# %d passed, %d expected failures, %d failed\n", passed, todo, failed);
	json_decref(cache);
	json_decref(gen_docs);
	json_decref(originals);
	json_decref(case_tests);
	json_decref(xfail);
	json_decref(root);
	return failed ? 1 : 0;
}
