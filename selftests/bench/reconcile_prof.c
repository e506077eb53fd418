// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-bench-reconcile: the control path of one route addition at scale,
 * without sockets, BPF or workers, so that it runs under callgrind.
 *
 *   xgw-bench-reconcile [-r ROUTES] [-l LISTENERS] [-e ENDPOINTS] [-a ADDS] [-g PCT]
 *                       [-G PER_GATEWAY] [-F] [-E] [-o PREFIX] DIR
 *
 * Writes the manifests of selftests/bench/scale.sh into the empty folder DIR,
 * loads and reconciles them (generation 1), then adds ADDS routes one at a
 * time on top, each as its own file, and for each runs what the agent and a
 * worker run for it: the folder load, the reconcile (as the agent's, from the
 * previous result: xgw_reconcile_change(), which patches the snapshot), the
 * status document, and the worker's snapshot open and router build. Prints
 * the wall time of each phase (median over the additions). After the last
 * addition, its snapshot is compared with a full pass's on the same store by
 * what it routes (selftests/common/snap_canon.c): a difference fails the run.
 * Under callgrind, the phases are the functions named phase_*, and the last
 * addition alone is dumped to a file of its own (callgrind.out.PID.1). With
 * -o, the last generation's snapshot and status document are written to
 * PREFIX.snap and PREFIX.status.json, so that two builds can be compared byte
 * for byte.
 *
 * -G: listeners per Gateway (default 50, as scale.sh; 1 to 64). -F: each route
 * in a file of its own (default: 1,000 to a file).
 * With -g, PCT % of the routes are GRPCRoutes (each matching a service of its
 * own, with a hostname of its own), on the same listeners as the HTTPRoutes.
 *
 * With -E the changes are endpoint changes instead: each rewrites (by a
 * rename) a file holding a second EndpointSlice of svc-live with another
 * address, which the agent's fast path takes (xgw_reconcile_endpoints()).
 * After the last one, the fast path's snapshot is compared with a full pass's
 * on the same store, byte for byte: a difference fails the run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(x)
#endif

#include "reconcile.h"
#include "router.h"
#include "snap_canon.h"
#include "source_files.h"
#include "status.h"
#include "xgw/snapshot.h"

static int PER_GW = 50;	    /* listeners per Gateway (-G) */
static int per_file = 1000; /* routes per file (-F: 1) */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "reconcile-prof: %s: %s\n", path, strerror(errno));
	return f;
}

/* The same objects as scale.sh writes. */
static int write_manifests(const char *dir, int routes, int listeners, int endpoints, int grpc)
{
	int gws = (listeners + PER_GW - 1) / PER_GW, services = endpoints / 50 ? endpoints / 50 : 1;
	char name[64];
	FILE *f;

	if (!(f = open_out(dir, "00-class.yaml")))
		return -1;
	fprintf(f, "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n"
		   "metadata: {name: xgw}\nspec: {controllerName: xgw.io/gateway-controller}\n");
	fclose(f);
	if (!(f = open_out(dir, "01-gateways.yaml")))
		return -1;
	for (int g = 0; g < gws; g++) {
		int n = listeners - g * PER_GW < PER_GW ? listeners - g * PER_GW : PER_GW;

		fprintf(f,
			"%sapiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
			"metadata: {name: gw%d, namespace: default}\nspec:\n"
			"  gatewayClassName: xgw\n  listeners:\n",
			g ? "---\n" : "", g);
		for (int i = 0; i < n; i++)
			fprintf(f,
				"  - {name: l%d, protocol: HTTP, port: %d, allowedRoutes: "
				"{namespaces: {from: All}}}\n",
				i, 8000 + i);
	}
	fclose(f);
	if (!(f = open_out(dir, "02-services.yaml")))
		return -1;
	fprintf(f, "apiVersion: v1\nkind: Service\nmetadata: {name: svc-live, namespace: default}\n"
		   "spec: {ports: [{name: http, port: 80, targetPort: 8080}]}\n---\n"
		   "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		   "metadata: {name: svc-live-a, namespace: default, labels: "
		   "{kubernetes.io/service-name: svc-live}}\naddressType: IPv4\n"
		   "ports: [{name: http, port: 8080}]\nendpoints: [{addresses: [10.30.1.10]}]\n");
	for (int s = 0; s < services; s++) {
		fprintf(f,
			"---\napiVersion: v1\nkind: Service\nmetadata: {name: svc%d, namespace: "
			"default}\nspec: {ports: [{name: http, port: 80, targetPort: 8080}]}\n---\n"
			"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
			"metadata: {name: svc%d-a, namespace: default, labels: "
			"{kubernetes.io/service-name: svc%d}}\naddressType: IPv4\n"
			"ports: [{name: http, port: 8080}]\nendpoints:\n",
			s, s, s);
		for (int e = 0; e < 50; e++) {
			int k = s * 50 + e;

			fprintf(f, "- addresses: [10.%d.%d.%d]\n", 40 + k / 65536, (k / 256) % 256,
				k % 256);
		}
	}
	fclose(f);
	for (int c = 0; c < routes; c += per_file) {
		if (per_file == 1)
			snprintf(name, sizeof(name), "10-route-%05d.yaml", c);
		else
			snprintf(name, sizeof(name), "10-routes-%03d.yaml", c / per_file);
		if (!(f = open_out(dir, name)))
			return -1;
		for (int r = c; r < routes && r < c + per_file; r++) {
			int l = r % listeners;
			char svc[32];

			if (r % 10 == 0)
				snprintf(svc, sizeof(svc), "svc-live");
			else
				snprintf(svc, sizeof(svc), "svc%d", r % services);
			if (r % 100 < grpc) { /* -g: a GRPCRoute, a hostname of its own */
				fprintf(f,
					"%sapiVersion: gateway.networking.k8s.io/v1\nkind: "
					"GRPCRoute\n"
					"metadata: {name: g%d, namespace: default}\nspec:\n"
					"  parentRefs: [{name: gw%d, sectionName: l%d}]\n"
					"  hostnames: [h%d.example.com]\n"
					"  rules: [{matches: [{method: {service: echo.Echo%d}}], "
					"backendRefs: [{name: %s, port: 80}]}]\n",
					r > c ? "---\n" : "", r, l / PER_GW, l % PER_GW, r, r, svc);
				continue;
			}
			fprintf(f,
				"%sapiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
				"metadata: {name: r%d, namespace: default}\nspec:\n"
				"  parentRefs: [{name: gw%d, sectionName: l%d}]\n"
				"  hostnames: [h%d.example.com]\n"
				"  rules: [{backendRefs: [{name: %s, port: 80}]}]\n",
				r > c ? "---\n" : "", r, l / PER_GW, l % PER_GW, r, svc);
		}
		fclose(f);
	}
	return 0;
}

static int write_addition(const char *dir, int i)
{
	char name[64];
	FILE *f;

	snprintf(name, sizeof(name), "add%d.yaml", i);
	if (!(f = open_out(dir, name)))
		return -1;
	fprintf(f,
		"apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
		"metadata: {name: add%d, namespace: default}\nspec:\n"
		"  parentRefs: [{name: gw0, sectionName: l0}]\n  hostnames: [add%d.example.com]\n"
		"  rules: [{backendRefs: [{name: svc-live, port: 80}]}]\n",
		i, i);
	fclose(f);
	return 0;
}

/* One endpoint change: svc-live's second slice, with address 10.30.2.<i>. */
static int write_endpoints(const char *dir, int i)
{
	char tmp[4096], path[4096];
	FILE *f;

	if (!(f = open_out(dir, ".eps-live.tmp")))
		return -1;
	fprintf(f,
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata: {name: svc-live-b, namespace: default, labels: "
		"{kubernetes.io/service-name: svc-live}}\naddressType: IPv4\n"
		"ports: [{name: http, port: 8080}]\nendpoints: [{addresses: [10.30.2.%d]}]\n",
		i % 250 + 1);
	fclose(f);
	snprintf(tmp, sizeof(tmp), "%s/.eps-live.tmp", dir);
	snprintf(path, sizeof(path), "%s/eps-live.yaml", dir);
	return rename(tmp, path);
}

/* What the agent holds of a generation. */
struct gen {
	struct xgw_store *st;
	struct xgw_reconcile_result res;
	uint64_t shape;
	uint64_t statuses;	/* the generation whose statuses res has */
	uint64_t prev_statuses; /* those its route statuses' same_as count in */
	bool fast;		/* res points into the last full pass's */
};

static void gen_free(struct gen *g)
{
	if (!g)
		return;
	xgw_reconcile_result__free(&g->res);
	xgw_store__free(g->st);
	free(g);
}

__attribute__((noinline)) static int phase_load(struct xgw_files *f, struct xgw_store **st,
						uint64_t *shape)
{
	return xgw_files_load(f, st, shape);
}

static const struct xgw_pool pool = { .family = 4, .addr = { 10, 31 }, .prefix = 16 };

/* As the agent: the endpoint fast path, or a pass that patches <prev> when it can. */
/* As the agent: the previous result's pool addresses go in, to be kept. */
__attribute__((noinline)) static int phase_reconcile(struct gen *next, const struct gen *prev,
						     uint64_t generation)
{
	struct xgw_reconcile_opts ro = { .generation = generation, .pools = &pool, .n_pools = 1 };
	struct xgw_assignment *v = NULL;
	int err;

	if (prev && !(v = calloc(prev->res.n_gateways + 1, sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; prev && i < prev->res.n_gateways; i++) {
		const struct xgw_gateway_status *g = &prev->res.gateways[i];

		if (!g->family || !g->addr_from_pool)
			continue;
		v[ro.n_previous] = (struct xgw_assignment){ .ns = g->ns,
							    .name = g->name,
							    .family = g->family };
		memcpy(v[ro.n_previous++].addr, g->addr, 16);
	}
	ro.previous = v;
	err = xgw_reconcile_change(next->st, &ro, prev ? &prev->res : NULL, prev ? prev->st : NULL,
				   prev && prev->shape == next->shape, &next->res, &next->fast);
	free(v);
	return err;
}

/* The routing text of a result's snapshot (snap_canon.h), or NULL. */
static char *canon(const struct xgw_reconcile_result *res)
{
	struct xgw_snapshot s;
	size_t len;

	return xgw_snapshot__open(&s, res->snap, res->snap_len) ? NULL : xgw_snap_canon(&s, &len);
}

/*
 * Does a full pass on <g>'s store give g's snapshot? With <bytes>, byte for
 * byte (the endpoint fast path), else as the workers route by it (a patched
 * snapshot keeps entries that nothing reaches). 0, 1 (no) or -errno.
 */
static int same_as_full(const struct gen *g, uint64_t generation, bool bytes)
{
	struct xgw_reconcile_opts ro = { .generation = generation, .pools = &pool, .n_pools = 1 };
	struct xgw_reconcile_result res = { 0 };
	int err = xgw_reconcile(g->st, &ro, &res);
	char *a, *b;

	if (!err && bytes) {
		err = res.snap_len != g->res.snap_len ||
		      memcmp(res.snap, g->res.snap, res.snap_len);
	} else if (!err) {
		a = canon(&res);
		b = canon(&g->res);
		err = !a || !b ? -EINVAL : !!strcmp(a, b);
		free(a);
		free(b);
	}
	xgw_reconcile_result__free(&res);
	return err;
}

/*
 * What the status writer's thread does, less the file write: the statuses'
 * body is rendered again only when they are not those of the last body
 * (<statuses>, as the agent's status jobs carry it), and then copies the
 * route statuses that the result copied from the last (<prev_statuses>').
 */
static struct xgw_status_body body;

__attribute__((noinline)) static int phase_status(const struct xgw_reconcile_result *res,
						  uint64_t generation, uint64_t statuses,
						  uint64_t prev_statuses)
{
	char *text;
	size_t len;
	int err = xgw_status_body_update(&body, res, statuses, prev_statuses, true);

	if (err)
		return err;
	err = xgw_status_render_around(body.text, body.len, generation, true, NULL, &text, &len);
	if (!err)
		free(text);
	return err;
}

/*
 * What a worker does with a new snapshot: open it, build its router from the
 * one serving (whose compiled expressions it takes), and let that one go.
 * The router's snapshot view lives as long as it.
 */
static struct xgw_router *serving;
static struct xgw_snapshot serving_snap[2];
static int serving_at;

__attribute__((noinline)) static int phase_worker(const struct xgw_reconcile_result *res)
{
	struct xgw_snapshot *snap = &serving_snap[serving_at ^ 1];
	struct xgw_router *r;
	int err = xgw_snapshot__open(snap, res->snap, res->snap_len);

	if (err)
		return err;
	r = xgw_router__new(snap, serving);
	if (!r)
		return -errno;
	xgw_router__free(serving);
	serving = r;
	serving_at ^= 1;
	return 0;
}

static int write_out(const char *prefix, const struct xgw_reconcile_result *res, uint64_t gen)
{
	char path[4096], *text;
	size_t len;
	FILE *f;
	int err = xgw_status_render(res, gen, true, NULL, &text, &len);

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s.snap", prefix);
	if ((f = fopen(path, "w"))) {
		fwrite(res->snap, 1, res->snap_len, f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s.status.json", prefix);
	if ((f = fopen(path, "w"))) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
	free(text);
	return 0;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

enum {
	P_LOAD,
	P_RECONCILE,
	P_STATUS,
	P_WORKER,
	P_N
};

int main(int argc, char **argv)
{
	static const char *const names[P_N] = { "load", "reconcile", "status", "worker" };
	int routes = 10000, listeners = 1000, endpoints = 50000, adds = 5, grpc = 0, c;
	struct gen *cur = NULL, *full = NULL;
	const char *out = NULL;
	bool eps = false;
	struct xgw_files *f;
	double *t[P_N];
	uint64_t generation = 0;
	int err = 0, fast = 0, patched = 0;

	while ((c = getopt(argc, argv, "r:l:e:a:g:G:FEo:")) != -1) {
		switch (c) {
		case 'r':
			routes = atoi(optarg);
			break;
		case 'l':
			listeners = atoi(optarg);
			break;
		case 'e':
			endpoints = atoi(optarg);
			break;
		case 'a':
			adds = atoi(optarg);
			break;
		case 'g':
			grpc = atoi(optarg);
			break;
		case 'G':
			PER_GW = atoi(optarg);
			break;
		case 'F':
			per_file = 1;
			break;
		case 'E':
			eps = true;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || routes < 1 || listeners < 1 || endpoints < 1 || adds < 1 ||
	    grpc < 0 || grpc > 100 || PER_GW < 1 || PER_GW > 64)
		goto usage;
	if (write_manifests(argv[optind], routes, listeners, endpoints, grpc))
		return 1;
	f = xgw_files__new(argv[optind]);
	/* as the agent, whose inotify names the files that change */
	if (f)
		xgw_files_watched(f);
	for (int p = 0; p < P_N; p++)
		t[p] = calloc(adds + 1, sizeof(double));
	for (int i = 0; i <= adds && !err; i++) {
		struct gen *next = calloc(1, sizeof(*next));
		double t0, t1, t2, t3, t4;

		if (!next)
			return 1;
		if (i && (eps ? write_endpoints(argv[optind], i) : write_addition(argv[optind], i)))
			return 1;
		if (i) {
			char name[64];

			snprintf(name, sizeof(name), eps ? "eps-live.yaml" : "add%d.yaml", i);
			xgw_files_touched(f, name);
		}
		if (i == adds)
			CALLGRIND_ZERO_STATS;
		t0 = now_us();
		err = phase_load(f, &next->st, &next->shape);
		t1 = now_us();
		if (!err)
			err = phase_reconcile(next, cur, ++generation);
		t2 = now_us();
		next->statuses = next->fast ? full->statuses : generation;
		next->prev_statuses = next->fast ? full->prev_statuses : cur ? cur->statuses : 0;
		if (!err)
			err = phase_status(&next->res, generation, next->statuses,
					   next->prev_statuses);
		t3 = now_us();
		if (!err)
			err = phase_worker(&next->res);
		t4 = now_us();
		if (i == adds)
			CALLGRIND_DUMP_STATS_AT("last change");
		if (err) {
			fprintf(stderr, "reconcile-prof: generation %llu: %s\n",
				(unsigned long long)generation, strerror(-err));
			gen_free(next);
			break;
		}
		/* the last full pass stays while fast-path results point into it */
		if (cur != full)
			gen_free(cur);
		if (!next->fast) {
			gen_free(full);
			full = next;
		}
		fast += next->fast;
		patched += i && next->res.patched;
		cur = next;
		t[P_LOAD][i] = (t1 - t0) / 1e3;
		t[P_RECONCILE][i] = (t2 - t1) / 1e3;
		t[P_STATUS][i] = (t3 - t2) / 1e3;
		t[P_WORKER][i] = (t4 - t3) / 1e3;
		if (!i)
			printf("initial: load %.1f ms, reconcile %.1f ms, status %.1f ms, worker "
			       "%.1f ms; snapshot %zu bytes\n",
			       t[P_LOAD][0], t[P_RECONCILE][0], t[P_STATUS][0], t[P_WORKER][0],
			       cur->res.snap_len);
	}
	if (!err && eps) {
		err = same_as_full(cur, generation, true);
		printf("endpoint changes: %d of %d took the fast path; the last one's snapshot "
		       "%s\n",
		       fast, adds,
		       err < 0	 ? "could not be compared"
		       : err > 0 ? "DIFFERS from a full pass's"
				 : "is byte for byte a full pass's");
	} else if (!err) {
		err = same_as_full(cur, generation, false);
		printf("route additions: %d of %d patched the snapshot; the last one's snapshot "
		       "(%zu bytes) %s\n",
		       patched, adds, cur->res.snap_len,
		       err < 0	 ? "could not be compared"
		       : err > 0 ? "DIFFERS from a full pass's"
				 : "routes as a full pass's");
	}
	if (!err && out)
		err = write_out(out, &cur->res, generation);
	if (!err) {
		printf("one %s (median / max of %d):", eps ? "endpoint change" : "route added",
		       adds);
		for (int p = 0; p < P_N; p++) {
			qsort(t[p] + 1, adds, sizeof(double), dbl_cmp);
			printf(" %s %.2f / %.2f ms%s", names[p], t[p][1 + adds / 2], t[p][adds],
			       p + 1 < P_N ? "," : "\n");
		}
	}
	xgw_router__free(serving);
	if (cur != full)
		gen_free(cur);
	gen_free(full);
	xgw_status_body__free(&body);
	xgw_files__free(f);
	for (int p = 0; p < P_N; p++)
		free(t[p]);
	return err ? 1 : 0;
usage:
	fprintf(stderr, "usage: xgw-bench-reconcile [-r ROUTES] [-l LISTENERS] [-e ENDPOINTS] "
			"[-a ADDS] [-g PCT] [-G PER_GATEWAY] [-F] [-E] [-o PREFIX] EMPTY_DIR\n");
	return 2;
}
