// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The endpoint fast path against the full pass. Random folders of manifests
 * (Services with named, numbered, TCP and UDP ports, h2c ports, a Service
 * declared twice; HTTP, gRPC, TCP and UDP routes, some to missing Services
 * or ports, mirrors; EndpointSlices with IPv4, IPv6 and FQDN addresses,
 * ready or not, matching port names or not, beside their Service or in files
 * of their own) have their EndpointSlices changed at random, files of slices
 * added and removed, and each time:
 *
 *   - the folder source says nothing but EndpointSlices changed (same shape),
 *   - xgw_reconcile_endpoints() from the previous result (itself a full pass
 *     or a fast one) gives the snapshot of a full pass byte for byte, the
 *     same BPF listener entries and problem lines, and the same status
 *     document.
 *
 * And any other change (a Service's port, a route, a Service file removed)
 * gives a new shape. Also the folder source's shape on its own: comments,
 * empty documents, a byte order mark.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "folder-fixture.h"
#include "reconcile.h"
#include "result-fixture.h"
#include "source_files.h"
#include "status.h"
#include "test.h"
#include "xgw/snapshot.h"

#define CASES 250
#define MAX_SVC 6
#define MAX_FILES 4

/* One random case: everything but the EndpointSlices is drawn once. */
struct world {
	int n_svc;
	uint64_t seed;	     /* of everything but the slices */
	int svc_twice;	     /* a Service also declared in svc-b.yaml: -1 none */
	bool mixed[MAX_SVC]; /* its slices beside it in svc.yaml, else in eps files */
};

static const char *const port_names[] = { "http", "", "grpc", "dns" };

static void service(struct buf *b, int s)
{
	int n = 1 + (int)rnd(2);

	bprintf(b,
		"apiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: default%s}\n"
		"spec:\n  ports:\n",
		s, rnd(4) ? "" : ", annotations: {xgw.io/load-balancer: least-request}");
	for (int p = 0; p < n; p++) {
		const char *name = port_names[rnd(4)];

		bprintf(b, "  - {port: %d", 80 + p);
		if (*name)
			bprintf(b, ", name: %s%d", name, p);
		switch (rnd(4)) {
		case 0:
			bprintf(b, ", targetPort: %d", 8080 + p);
			break;
		case 1:
			bprintf(b, ", targetPort: web%d", p);
			break;
		default:
			break;
		}
		if (!rnd(4))
			bprintf(b, ", appProtocol: kubernetes.io/h2c");
		if (!rnd(4))
			bprintf(b, ", protocol: UDP");
		bprintf(b, "}\n");
	}
	bprintf(b, "---\n");
}

static void slice(struct buf *b, int s, int k)
{
	static const char *const types[] = { "IPv4", "IPv4", "IPv6", "FQDN" };
	const char *type = types[rnd(4)];
	int n = (int)rnd(5), np = (int)rnd(3);

	bprintf(b,
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: s%d-%d, namespace: default, labels: "
		"{kubernetes.io/service-name: s%d}}\naddressType: %s\nports:\n",
		s, k, s, type);
	if (!np)
		bprintf(b, "- {port: %u}\n", 9000 + rnd(3));
	for (int p = 0; p < np; p++) {
		const char *name = rnd(3) ? port_names[rnd(4)] : "web";

		if (*name)
			bprintf(b, "- {name: %s%u, port: %u%s}\n", name, rnd(2), 9000 + rnd(100),
				rnd(4) ? "" : ", protocol: UDP");
		else
			bprintf(b, "- {port: %u}\n", 9000 + rnd(100));
	}
	bprintf(b, "endpoints:%s\n", n ? "" : " []");
	for (int e = 0; e < n; e++) {
		uint32_t a = rnd(250) + 1;

		if (!strcmp(type, "IPv6"))
			bprintf(b, "- addresses: ['fd00::%x']\n", a);
		else if (!strcmp(type, "FQDN"))
			bprintf(b, "- addresses: [h%u.example.com]\n", a);
		else if (rnd(2))
			bprintf(b, "- addresses: [10.9.%u.%u, 10.8.%u.%u]\n", s, a, s, a);
		else
			bprintf(b, "- addresses: [10.9.%u.%u]\n", s, a);
		switch (rnd(3)) {
		case 0:
			bprintf(b, "  conditions: {ready: false}\n");
			break;
		case 1:
			bprintf(b, "  conditions: {ready: true}\n");
			break;
		default:
			break;
		}
	}
	bprintf(b, "---\n");
}

/* A backendRef to a Service port that may not exist. */
static void backend(struct buf *b, const struct world *w, bool weight)
{
	int s = (int)rnd((uint32_t)w->n_svc + 1);

	bprintf(b, "{name: s%d, port: %u", s, 80 + rnd(3));
	if (weight)
		bprintf(b, ", weight: %u", rnd(3));
	bprintf(b, "}");
}

static void routes(struct buf *b, const struct world *w)
{
	bprintf(b, "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n"
		   "metadata: {name: xgw}\nspec: {controllerName: xgw.io/gateway-controller}\n---\n"
		   "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
		   "metadata: {name: gw, namespace: default}\nspec:\n  gatewayClassName: xgw\n"
		   "  addresses: [{type: IPAddress, value: 10.7.0.1}]\n  listeners:\n"
		   "  - {name: http, protocol: HTTP, port: 80}\n"
		   "  - {name: tcp, protocol: TCP, port: 9000}\n"
		   "  - {name: udp, protocol: UDP, port: 9053}\n---\n");
	for (int r = 0, n = 1 + (int)rnd(4); r < n; r++) {
		bprintf(b,
			"apiVersion: gateway.networking.k8s.io/v1\nkind: %s\n"
			"metadata: {name: r%d, namespace: default}\nspec:\n"
			"  parentRefs: [{name: gw, sectionName: http}]\n"
			"  hostnames: [r%d.example.com]\n  rules:\n",
			r % 3 == 2 ? "GRPCRoute" : "HTTPRoute", r, r);
		for (int k = 0, nr = 1 + (int)rnd(2); k < nr; k++) {
			bprintf(b, "  - backendRefs: [");
			backend(b, w, true);
			if (rnd(2)) {
				bprintf(b, ", ");
				backend(b, w, true);
			}
			bprintf(b, "]\n");
			if (r % 3 != 2 && !rnd(3)) {
				bprintf(b, "    filters: [{type: RequestMirror, requestMirror: "
					   "{backendRef: ");
				backend(b, w, false);
				bprintf(b, "}}]\n");
			}
		}
		bprintf(b, "---\n");
	}
	for (int k = 0; k < 2; k++) {
		bprintf(b,
			"apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: %s\n"
			"metadata: {name: l4-%d, namespace: default}\nspec:\n"
			"  parentRefs: [{name: gw, sectionName: %s}]\n  rules: [{backendRefs: [",
			k ? "UDPRoute" : "TCPRoute", k, k ? "udp" : "tcp");
		backend(b, w, true);
		bprintf(b, "]}]\n---\n");
	}
}

/*
 * Write the folder of <w>: routes.yaml, svc.yaml (Services and the mixed
 * ones' slices), svc-b.yaml (the Service declared twice) and eps-N.yaml.
 * The slices are drawn from <slice_seed>, everything else from w->seed.
 */
static bool write_world(const char *dir, const struct world *w, uint64_t slice_seed)
{
	struct buf r = { 0 }, svc = { 0 }, dup = { 0 }, eps[MAX_FILES] = { 0 };
	uint64_t slices_rng = slice_seed;
	bool ok = true;

	rng_state = w->seed;
	routes(&r, w);
	for (int s = 0; s < w->n_svc; s++) {
		uint64_t mine;

		service(&svc, s);
		if (s == w->svc_twice)
			service(&dup, s);
		/* the slices' draws, between the Services' own */
		mine = rng_state;
		rng_state = slices_rng;
		for (int k = 0, n = (int)rnd(4); k < n; k++)
			slice(w->mixed[s] ? &svc : &eps[rnd(MAX_FILES)], s, k);
		/* and one for a Service that does not exist */
		if (!rnd(8))
			slice(&eps[rnd(MAX_FILES)], MAX_SVC + 1, 0);
		slices_rng = rng_state;
		rng_state = mine;
	}
	bprintf(&svc, "# end\n");
	ok &= put(dir, "routes.yaml", r.p);
	ok &= put(dir, "svc.yaml", svc.p);
	if (dup.n)
		ok &= put(dir, "svc-b.yaml", dup.p);
	for (int i = 0; i < MAX_FILES; i++) {
		char name[32];

		snprintf(name, sizeof(name), "eps-%d.yaml", i);
		if (eps[i].n)
			ok &= put(dir, name, eps[i].p);
		else
			rm(dir, name);
	}
	free(r.p);
	free(svc.p);
	free(dup.p);
	for (int i = 0; i < MAX_FILES; i++)
		free(eps[i].p);
	return ok;
}

static void clean(const char *dir)
{
	char name[32];

	rm(dir, "routes.yaml");
	rm(dir, "svc.yaml");
	rm(dir, "svc-b.yaml");
	for (int i = 0; i < MAX_FILES; i++) {
		snprintf(name, sizeof(name), "eps-%d.yaml", i);
		rm(dir, name);
	}
}

struct gen {
	struct xgw_store *st;
	struct xgw_reconcile_result res;
	uint64_t shape;
};

static void gen_free(struct gen *g)
{
	xgw_reconcile_result__free(&g->res);
	xgw_store__free(g->st);
	memset(g, 0, sizeof(*g));
}

static const struct xgw_pool pool = { .family = 4, .addr = { 10, 7 }, .prefix = 16 };
static const uint8_t secret[32] = { 1, 2, 3 };

static int full(struct gen *g, uint64_t generation)
{
	struct xgw_reconcile_opts o = {
		.pools = &pool, .n_pools = 1, .generation = generation, .ticket_secret = secret
	};

	return xgw_reconcile(g->st, &o, &g->res);
}

/* <fast> from <prev> against a full pass on fast's store. */
static bool check_fast(struct gen *fast, const struct gen *prev, uint64_t generation, int c)
{
	struct xgw_reconcile_opts o = {
		.pools = &pool, .n_pools = 1, .generation = generation, .ticket_secret = secret
	};
	/* the documents report a rejected generation too */
	const struct xgw_status_rejected rej = { .gen = generation + 1,
						 .worker = 1,
						 .err = -EINVAL };
	struct gen ref = { .st = fast->st };
	bool ok = true;

	if (!ASSERT_OK(xgw_reconcile_endpoints(fast->st, &o, &prev->res, &fast->res),
		       "fast path") ||
	    !ASSERT_OK(full(&ref, generation), "full pass"))
		ok = false;
	if (ok) {
		ok &= ASSERT_TRUE(ref.res.snap_len == fast->res.snap_len &&
					  !memcmp(ref.res.snap, fast->res.snap, ref.res.snap_len),
				  "the snapshot of a full pass");
		ok &= ASSERT_TRUE(ref.res.n_listeners == fast->res.n_listeners &&
					  !memcmp(ref.res.listeners, fast->res.listeners,
						  ref.res.n_listeners * sizeof(*ref.res.listeners)),
				  "the BPF listener entries");
		ok &= ASSERT_EQ(ref.res.n_problems, fast->res.n_problems, "problem lines");
		for (size_t i = 0; ok && i < ref.res.n_problems; i++)
			ok &= ASSERT_STREQ(ref.res.problems[i], fast->res.problems[i],
					   "problem line");
		ok &= ASSERT_TRUE(same_status(&ref.res, &fast->res, generation, &rej),
				  "the status");
	}
	if (!ok)
		printf("#   case %d, generation %llu\n", c, (unsigned long long)generation);
	xgw_reconcile_result__free(&ref.res);
	return ok;
}

TEST(fast_path_is_a_full_pass)
{
	char dir[] = "/tmp/xgw-eps-test-XXXXXX";
	struct xgw_files *f = NULL;
	int endpoints = 0, checked = 0;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "temporary folder"))
		return;
	for (int c = 0; c < CASES && !xgw_test_failed; c++) {
		struct gen g1 = { 0 }, g2 = { 0 }, g3 = { 0 }, g4 = { 0 };
		struct world w;

		rng_state = 0x9e3779b97f4a7c15ULL * (uint64_t)(c + 1);
		w.n_svc = 1 + (int)rnd(MAX_SVC);
		w.seed = rng_state;
		w.svc_twice = rnd(4) ? -1 : (int)rnd((uint32_t)w.n_svc);
		for (int s = 0; s < MAX_SVC; s++)
			w.mixed[s] = rnd(2);
		clean(dir);
		f = xgw_files__new(dir);
		if (!ASSERT_OK_PTR(f, "files") || !ASSERT_TRUE(write_world(dir, &w, c), "write") ||
		    !ASSERT_OK(xgw_files_load(f, &g1.st, &g1.shape), "load") ||
		    !ASSERT_TRUE(store_unique(g1.st), "no name defined twice") ||
		    !ASSERT_OK(full(&g1, 1), "full pass"))
			goto next;
		/* endpoints change: from a full pass, then from a fast one */
		if (!ASSERT_TRUE(write_world(dir, &w, 1000 + c), "rewrite") ||
		    !ASSERT_OK(xgw_files_load(f, &g2.st, &g2.shape), "load") ||
		    !ASSERT_TRUE(store_unique(g2.st), "no name defined twice") ||
		    !ASSERT_EQ(g2.shape, g1.shape, "same shape after slices changed") ||
		    !check_fast(&g2, &g1, 2, c))
			goto next;
		if (!ASSERT_TRUE(write_world(dir, &w, 2000 + c), "rewrite") ||
		    !ASSERT_OK(xgw_files_load(f, &g3.st, &g3.shape), "load") ||
		    !ASSERT_TRUE(store_unique(g3.st), "no name defined twice") ||
		    !ASSERT_EQ(g3.shape, g1.shape, "same shape after slices changed") ||
		    !check_fast(&g3, &g2, 3, c))
			goto next;
		checked++;
		endpoints +=
			((const struct xgw_snap_hdr *)g3.res.snap)->sect[XGW_SECT_ENDPOINT].count >
			0;
		/* anything else changes the shape */
		w.seed ^= 1;
		if (!ASSERT_TRUE(write_world(dir, &w, 2000 + c), "rewrite") ||
		    !ASSERT_OK(xgw_files_load(f, &g4.st, &g4.shape), "load") ||
		    !ASSERT_TRUE(store_unique(g4.st), "no name defined twice"))
			goto next;
		ASSERT_NEQ(g4.shape, g1.shape, "a new shape after Services and routes changed");
	next:
		gen_free(&g4);
		gen_free(&g3);
		gen_free(&g2);
		gen_free(&g1);
		xgw_files__free(f);
		f = NULL;
	}
	clean(dir);
	rmdir(dir);
	ASSERT_EQ(checked, CASES, "cases checked");
	/* the cases are not all empty: most have clusters with endpoints */
	ASSERT_GT(endpoints, CASES / 2, "cases with endpoints");
	printf("# %d cases, %d with endpoints\n", checked, endpoints);
}

/* The shape of a folder, loaded after <files> (name, text; NULL text: removed). */
static uint64_t shape_after(struct xgw_files *f, const char *dir, const char *name,
			    const char *text)
{
	struct xgw_store *st = NULL;
	uint64_t shape = 0;

	if (text ? !put(dir, name, text) : (rm(dir, name), false))
		return UINT64_MAX;
	if (xgw_files_load(f, &st, &shape))
		shape = UINT64_MAX;
	xgw_store__free(st);
	return shape;
}

#define SVC_DOC "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n"
#define SVC_DOC2 "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 81}]}\n"
#define EPS_DOC(ip)                                                                                \
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: a-1, labels: "     \
	"{kubernetes.io/service-name: a}}\naddressType: IPv4\nendpoints: [{addresses: [" ip        \
	"]}]\n"

TEST(shape)
{
	char dir[] = "/tmp/xgw-shape-test-XXXXXX";
	struct xgw_files *f;
	uint64_t s0, s;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "temporary folder"))
		return;
	f = xgw_files__new(dir);
	if (!ASSERT_OK_PTR(f, "files"))
		goto out;
	s0 = shape_after(f, dir, "a.yaml", "# a Service\n" SVC_DOC "---\n" EPS_DOC("10.0.0.1"));
	ASSERT_NEQ(s0, UINT64_MAX, "load");
	s = shape_after(f, dir, "a.yaml", "# a Service\n" SVC_DOC "---\n" EPS_DOC("10.0.0.2"));
	ASSERT_EQ(s, s0, "a slice edited beside its Service");
	s = shape_after(f, dir, "a.yaml", "# the Service\n" SVC_DOC "---\n" EPS_DOC("10.0.0.2"));
	ASSERT_EQ(s, s0, "a comment outside the documents");
	s = shape_after(f, dir, "a.yaml", SVC_DOC "---\n" EPS_DOC("10.0.0.2") "---\n");
	ASSERT_EQ(s, s0, "an empty document");
	s = shape_after(f, dir, "b.yaml", EPS_DOC("10.0.0.3"));
	ASSERT_EQ(s, s0, "a file of slices added");
	s = shape_after(f, dir, "b.yaml", NULL);
	ASSERT_EQ(s, s0, "a file of slices removed");
	s = shape_after(f, dir, "a.yaml",
			SVC_DOC "---\n" EPS_DOC("10.0.0.2") "---\n" EPS_DOC(
				"10.0.0.4") "---\n" EPS_DOC("10.0.0.5"));
	ASSERT_EQ(s, s0, "slices added beside the Service");
	/* multi-byte characters before and in the documents: libyaml's marks count
	 * characters, the spans are bytes (the non-ASCII path of the conversion) */
	s0 = shape_after(f, dir, "a.yaml",
			 "# caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\n" SVC_DOC
			 "---\n# \xc3\xa9\n" EPS_DOC("10.0.0.2"));
	s = shape_after(f, dir, "a.yaml",
			"# caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\n" SVC_DOC
			"---\n# \xc3\xa9\n" EPS_DOC("10.0.0.7"));
	ASSERT_EQ(s, s0, "UTF-8 text: a slice edited beside its Service");
	s = shape_after(f, dir, "a.yaml",
			"# caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\n" SVC_DOC2
			"---\n# \xc3\xa9\n" EPS_DOC("10.0.0.7"));
	ASSERT_NEQ(s, s0, "UTF-8 text: the Service changed");
	s = shape_after(f, dir, "a.yaml", SVC_DOC2 "---\n" EPS_DOC("10.0.0.2"));
	ASSERT_NEQ(s, s0, "the Service changed");
	s0 = s;
	s = shape_after(f, dir, "a.yaml", "\xef\xbb\xbf" SVC_DOC2 "");
	ASSERT_NEQ(s, s0, "a byte order mark: the file compares whole");
	s0 = s;
	s = shape_after(f, dir, "a.yaml", "\xef\xbb\xbf" SVC_DOC2 "");
	ASSERT_EQ(s, s0, "the same bytes with a byte order mark");
	s = shape_after(f, dir, "a.yaml", "\xef\xbb\xbf" SVC_DOC2 "---\n" EPS_DOC("10.0.0.9"));
	ASSERT_NEQ(s, s0, "with a byte order mark, a slice added is a change");
	s0 = s;
	s = shape_after(f, dir, "c.yaml", "kind: [unclosed\n");
	ASSERT_NEQ(s, s0, "a file that does not parse");
	s0 = s;
	s = shape_after(f, dir, "a.yaml", NULL);
	ASSERT_NEQ(s, s0, "a file with a Service removed");
out:
	xgw_files__free(f);
	rm(dir, "a.yaml");
	rm(dir, "b.yaml");
	rm(dir, "c.yaml");
	rmdir(dir);
}

TEST_MAIN()
