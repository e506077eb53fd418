// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The worker's router over snapshots built with the xgw_snapb_* builder. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "xgw/netaddr.h"
#include "xgw/snapshot.h"

#include "http1.h"
#include "router.h"

/* A snapshot buffer, its checked view and the router over it. */
struct fixture {
	void *buf;
	size_t len;
	struct xgw_snapshot snap;
	struct xgw_router *r;
};

static void fixture_free(struct fixture *f)
{
	xgw_router__free(f->r);
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

/* Lay out <b> (consumed), open it and build the router. */
static bool fixture_finish(struct fixture *f, struct xgw_snapb *b)
{
	int err = xgw_snapb__finish(b, &f->buf, &f->len);

	xgw_snapb__free(b);
	if (!ASSERT_OK(err, "snapb finish"))
		return false;
	if (!ASSERT_OK(xgw_snapshot__open(&f->snap, f->buf, f->len), "snapshot open"))
		return false;
	f->r = xgw_router__new(&f->snap);
	return ASSERT_OK_PTR(f->r, "router new");
}

static void ip(const char *s, uint8_t *family, uint8_t addr[16])
{
	if (xgw_ip_parse(s, family, addr))
		abort();
}

static int add_listener(struct xgw_snapb *b, const char *addr, uint16_t port)
{
	uint8_t family, a[16];

	ip(addr, &family, a);
	return xgw_snapb_listener(b, family, a, port, XGW_LPROTO_HTTP, "ns/gw/http");
}

static int add_vhost(struct xgw_snapb *b, const char *name)
{
	return xgw_snapb_vhost(b, name, strlen(name));
}

static int add_match(struct xgw_snapb *b, uint32_t rule, uint8_t type, const char *path)
{
	return xgw_snapb_match(b, rule, type, path, strlen(path));
}

/* A rule with one backend on a cluster with one endpoint. */
static int add_simple_rule(struct xgw_snapb *b, const char *name)
{
	static const uint8_t lo[16] = { 127, 0, 0, 1 };
	int rule = xgw_snapb_rule(b, name, 0);
	int cl = xgw_snapb_cluster(b, name);

	if (rule < 0 || cl < 0 || xgw_snapb_backend(b, (uint32_t)cl, 1) < 0 ||
	    xgw_snapb_endpoint(b, 4, lo, 8080) < 0)
		return -1;
	return rule;
}

static uint32_t route(struct fixture *f, uint32_t l, const char *host, const char *path)
{
	return xgw_router_route(f->r, l, host, host ? strlen(host) : 0, path, strlen(path));
}

/*
 * Listener 0 on 10.0.0.1:80 with vhosts (in the agent's order) exact
 * "a.example.com", wildcards "*.b.example.com" and "*.example.com", and the
 * any-host vhost; each vhost routes "/" to its own rule.
 */
enum {
	R_EXACT,
	R_WILD_B,
	R_WILD,
	R_ANY,
	R__N
};

static bool host_fixture(struct fixture *f)
{
	struct xgw_snapb *b = xgw_snapb__new(1);
	static const char *const names[R__N] = { "a.example.com", "*.b.example.com",
						 "*.example.com", "" };
	int rules[R__N];

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return false;
	for (int i = 0; i < R__N; i++)
		rules[i] = add_simple_rule(b, names[i]);
	add_listener(b, "10.0.0.1", 80);
	for (int i = 0; i < R__N; i++) {
		add_vhost(b, names[i]);
		add_match(b, (uint32_t)rules[i], XGW_PATH_PREFIX, "/");
	}
	return fixture_finish(f, b);
}

TEST(host_exact_and_wildcard)
{
	struct fixture f = {};

	if (!host_fixture(&f))
		goto out;
	ASSERT_EQ(route(&f, 0, "a.example.com", "/"), R_EXACT, "exact");
	ASSERT_EQ(route(&f, 0, "x.example.com", "/"), R_WILD, "wildcard one label");
	ASSERT_EQ(route(&f, 0, "x.y.example.com", "/"), R_WILD, "wildcard two labels");
	ASSERT_EQ(route(&f, 0, "x.b.example.com", "/"), R_WILD_B, "longest suffix first");
	ASSERT_EQ(route(&f, 0, "y.x.b.example.com", "/"), R_WILD_B, "longest suffix, 2 labels");
	ASSERT_EQ(route(&f, 0, "b.example.com", "/"), R_WILD, "bare suffix of the longer");
	ASSERT_EQ(route(&f, 0, "example.com", "/"), R_ANY, "bare suffix is not matched");
	ASSERT_EQ(route(&f, 0, ".example.com", "/"), R_ANY, "empty label");
	ASSERT_EQ(route(&f, 0, "xexample.com", "/"), R_ANY, "suffix needs a dot");
	ASSERT_EQ(route(&f, 0, "other.org", "/"), R_ANY, "any-host fallback");
	ASSERT_EQ(route(&f, 0, NULL, "/"), R_ANY, "no Host");
out:
	fixture_free(&f);
}

TEST(host_port_case_dot)
{
	struct fixture f = {};

	if (!host_fixture(&f))
		goto out;
	ASSERT_EQ(route(&f, 0, "a.example.com:8080", "/"), R_EXACT, "port stripped");
	ASSERT_EQ(route(&f, 0, "A.Example.COM", "/"), R_EXACT, "case-insensitive");
	ASSERT_EQ(route(&f, 0, "X.B.EXAMPLE.com:80", "/"), R_WILD_B, "wildcard, case and port");
	ASSERT_EQ(route(&f, 0, "a.example.com.", "/"), R_EXACT, "trailing dot");
	ASSERT_EQ(route(&f, 0, "[::1]:80", "/"), R_ANY, "IPv6 literal");
	ASSERT_EQ(route(&f, 0, "a.example.co", "/"), R_ANY, "shorter name");
	ASSERT_EQ(route(&f, 1, "a.example.com", "/"), XGW_SNAP_NONE, "unknown listener");
out:
	fixture_free(&f);
}

TEST(host_no_any_vhost)
{
	struct fixture f = {};
	struct xgw_snapb *b = xgw_snapb__new(1);
	int r0;

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return;
	r0 = add_simple_rule(b, "only");
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "only.example.com");
	add_match(b, (uint32_t)r0, XGW_PATH_PREFIX, "/");
	if (!fixture_finish(&f, b))
		goto out;
	ASSERT_EQ(route(&f, 0, "only.example.com", "/x"), r0, "exact");
	ASSERT_EQ(route(&f, 0, "other.example.com", "/x"), XGW_SNAP_NONE, "no fallback");
out:
	fixture_free(&f);
}

TEST(path_match_rules)
{
	static const struct {
		uint8_t type;
		const char *pattern, *path;
		bool want;
	} cases[] = {
		{ XGW_PATH_PREFIX, "/foo", "/foo", true },
		{ XGW_PATH_PREFIX, "/foo", "/foo/", true },
		{ XGW_PATH_PREFIX, "/foo", "/foo/bar", true },
		{ XGW_PATH_PREFIX, "/foo", "/foobar", false },
		{ XGW_PATH_PREFIX, "/foo", "/fo", false },
		{ XGW_PATH_PREFIX, "/foo", "/", false },
		{ XGW_PATH_PREFIX, "/foo/", "/foo", true },
		{ XGW_PATH_PREFIX, "/foo/", "/foo/bar", true },
		{ XGW_PATH_PREFIX, "/foo/", "/foobar", false },
		{ XGW_PATH_PREFIX, "/", "/", true },
		{ XGW_PATH_PREFIX, "/", "/anything/at/all", true },
		{ XGW_PATH_PREFIX, "/a/b", "/a/b/c", true },
		{ XGW_PATH_PREFIX, "/a/b", "/a/bc", false },
		{ XGW_PATH_PREFIX, "/Foo", "/foo", false },
		{ XGW_PATH_EXACT, "/foo", "/foo", true },
		{ XGW_PATH_EXACT, "/foo", "/foo/", false },
		{ XGW_PATH_EXACT, "/foo", "/foo/bar", false },
		{ XGW_PATH_EXACT, "/foo/", "/foo", false },
		{ XGW_PATH_EXACT, "/", "/", true },
		{ XGW_PATH_EXACT, "/", "/x", false },
		{ XGW_PATH_REGEX, "/.*", "/x", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = xgw_router_path_match(cases[i].type, cases[i].pattern,
						 strlen(cases[i].pattern), cases[i].path,
						 strlen(cases[i].path));

		if (got != cases[i].want)
			TEST_FAIL_("type %u pattern \"%s\" path \"%s\": got %d", cases[i].type,
				   cases[i].pattern, cases[i].path, got);
	}
}

/* Precedence is the vhost's match order, as the agent laid it down. */
TEST(path_precedence_and_query)
{
	struct fixture f = {};
	struct xgw_snapb *b = xgw_snapb__new(1);
	int r_exact, r_long, r_short, r_root;

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return;
	r_exact = add_simple_rule(b, "exact");
	r_long = add_simple_rule(b, "long");
	r_short = add_simple_rule(b, "short");
	r_root = add_simple_rule(b, "root");
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "");
	add_match(b, (uint32_t)r_exact, XGW_PATH_EXACT, "/api/v1");
	add_match(b, (uint32_t)r_long, XGW_PATH_PREFIX, "/api/v1");
	add_match(b, (uint32_t)r_short, XGW_PATH_PREFIX, "/api/");
	add_match(b, (uint32_t)r_root, XGW_PATH_PREFIX, "/");
	if (!fixture_finish(&f, b))
		goto out;

	ASSERT_EQ(route(&f, 0, "h", "/api/v1"), r_exact, "exact first");
	ASSERT_EQ(route(&f, 0, "h", "/api/v1/x"), r_long, "longest prefix");
	ASSERT_EQ(route(&f, 0, "h", "/api/v10"), r_short, "segment boundary");
	ASSERT_EQ(route(&f, 0, "h", "/api"), r_short, "prefix with trailing slash");
	ASSERT_EQ(route(&f, 0, "h", "/apix"), r_root, "root");
	ASSERT_EQ(route(&f, 0, "h", "/"), r_root, "root itself");
out:
	fixture_free(&f);
}

/* The router is given the parser's path, which leaves the query out. */
TEST(path_query_ignored)
{
	static const char raw[] = "GET /api/v1?x=/api/v2 HTTP/1.1\r\nHost: H:80\r\n\r\n";
	struct xgw_h1_request req;
	struct fixture f = {};
	struct xgw_snapb *b = xgw_snapb__new(1);
	int r_exact, r_root;

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return;
	r_exact = add_simple_rule(b, "exact");
	r_root = add_simple_rule(b, "root");
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "h");
	add_match(b, (uint32_t)r_exact, XGW_PATH_EXACT, "/api/v1");
	add_match(b, (uint32_t)r_root, XGW_PATH_PREFIX, "/");
	if (!fixture_finish(&f, b))
		goto out;
	if (!ASSERT_EQ(xgw_h1_parse_request(raw, sizeof(raw) - 1, &req), sizeof(raw) - 1, "parse"))
		goto out;
	ASSERT_EQ(xgw_router_route(f.r, 0, req.host, req.host_len, req.path, req.path_len), r_exact,
		  "exact match despite the query");
out:
	fixture_free(&f);
}

/* The vhost's order rules even where a later match is more specific. */
TEST(path_order_is_snapshot_order)
{
	struct fixture f = {};
	struct xgw_snapb *b = xgw_snapb__new(1);
	int r_root, r_api;

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return;
	r_root = add_simple_rule(b, "root");
	r_api = add_simple_rule(b, "api");
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "");
	add_match(b, (uint32_t)r_root, XGW_PATH_PREFIX, "/");
	add_match(b, (uint32_t)r_api, XGW_PATH_PREFIX, "/api");
	if (!fixture_finish(&f, b))
		goto out;
	ASSERT_EQ(route(&f, 0, "h", "/api"), r_root, "first match wins");
out:
	fixture_free(&f);
}

TEST(listener_lookup)
{
	struct fixture f = {};
	struct xgw_snapb *b = xgw_snapb__new(1);
	uint8_t family, a[16];

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return;
	add_listener(b, "10.0.0.1", 80);
	add_listener(b, "10.0.0.1", 8080);
	add_listener(b, "fd00::1", 80);
	add_listener(b, "10.0.0.2", 80);
	add_listener(b, "0.0.0.0", 9000);
	if (!fixture_finish(&f, b))
		goto out;

	ip("10.0.0.1", &family, a);
	ASSERT_EQ(xgw_router_listener(f.r, family, a, 80), 0, "v4 port 80");
	ASSERT_EQ(xgw_router_listener(f.r, family, a, 8080), 1, "v4 port 8080");
	ASSERT_EQ(xgw_router_listener(f.r, family, a, 81), XGW_SNAP_NONE, "v4 unknown port");
	ASSERT_EQ(xgw_router_listener(f.r, family, a, 9000), 4, "v4 unspecified address");
	ip("10.0.0.2", &family, a);
	ASSERT_EQ(xgw_router_listener(f.r, family, a, 80), 3, "second v4 address");
	ip("10.0.0.3", &family, a);
	ASSERT_EQ(xgw_router_listener(f.r, family, a, 80), XGW_SNAP_NONE, "unknown address");
	ip("fd00::1", &family, a);
	ASSERT_EQ(xgw_router_listener(f.r, family, a, 80), 2, "v6");
	ASSERT_EQ(xgw_router_listener(f.r, family, a, 9000), XGW_SNAP_NONE, "v6 no unspec");
	ip("fd00::2", &family, a);
	ASSERT_EQ(xgw_router_listener(f.r, family, a, 80), XGW_SNAP_NONE, "unknown v6");
	/* Same bytes, other family: 10.0.0.1 as family 6 must not match. */
	ip("10.0.0.1", &family, a);
	ASSERT_EQ(xgw_router_listener(f.r, 6, a, 80), XGW_SNAP_NONE, "family is part of the key");
out:
	fixture_free(&f);
}

TEST(listener_empty_snapshot)
{
	struct fixture f = {};
	struct xgw_snapb *b = xgw_snapb__new(7);
	uint8_t family, a[16];
	uint32_t ep;

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return;
	if (!fixture_finish(&f, b))
		goto out;
	ip("10.0.0.1", &family, a);
	ASSERT_EQ(xgw_router_listener(f.r, family, a, 80), XGW_SNAP_NONE, "no listener");
	ASSERT_EQ(xgw_router_decide(f.r, XGW_SNAP_NONE, "h", 1, "/", 1, &ep), XGW_ROUTE_NOT_FOUND,
		  "decide without listener");
out:
	fixture_free(&f);
}

/* One rule over clusters 0..n-1 with <weights>, each with one endpoint of port 1000 + i. */
static bool weighted_fixture(struct fixture *f, const uint32_t *weights, int n, bool unresolved)
{
	struct xgw_snapb *b = xgw_snapb__new(1);
	static const uint8_t lo[16] = { 127, 0, 0, 1 };
	int rule, cl;

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return false;
	for (int i = 0; i < n; i++) {
		cl = xgw_snapb_cluster(b, "ns/svc:80");
		xgw_snapb_endpoint(b, 4, lo, (uint16_t)(1000 + i));
	}
	rule = xgw_snapb_rule(b, "ns/route", 0);
	for (int i = 0; i < n; i++)
		xgw_snapb_backend(b, unresolved ? XGW_SNAP_NONE : (uint32_t)i, weights[i]);
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "");
	add_match(b, (uint32_t)rule, XGW_PATH_PREFIX, "/");
	(void)cl;
	return fixture_finish(f, b);
}

TEST(weighted_distribution)
{
	static const uint32_t weights[] = { 1, 3, 0 };
	struct fixture f = {};
	int count[3] = {};
	uint32_t ep;

	if (!weighted_fixture(&f, weights, 3, false))
		goto out;
	for (int i = 0; i < 4000; i++) {
		if (!ASSERT_EQ(xgw_router_decide(f.r, 0, "h", 1, "/", 1, &ep), XGW_ROUTE_OK,
			       "decide"))
			goto out;
		count[f.snap.endpoints[ep].port - 1000]++;
	}
	ASSERT_GE(count[0], 950, "weight 1 share low");
	ASSERT_LE(count[0], 1050, "weight 1 share high");
	ASSERT_GE(count[1], 2950, "weight 3 share low");
	ASSERT_LE(count[1], 3050, "weight 3 share high");
	ASSERT_EQ(count[2], 0, "weight 0 never picked");
out:
	fixture_free(&f);
}

/* Smooth: 1:3 never gives the weight-1 backend twice in a row. */
TEST(weighted_smooth)
{
	static const uint32_t weights[] = { 1, 3 };
	struct fixture f = {};
	uint32_t prev = XGW_SNAP_NONE;

	if (!weighted_fixture(&f, weights, 2, false))
		goto out;
	for (int i = 0; i < 400; i++) {
		uint32_t b = xgw_router_pick_backend(f.r, 0);

		if (!ASSERT_NEQ(b, XGW_SNAP_NONE, "pick"))
			goto out;
		if (b == 0 && !ASSERT_NEQ(prev, 0, "weight-1 backend twice in a row"))
			goto out;
		prev = b;
	}
out:
	fixture_free(&f);
}

TEST(weighted_all_zero_is_500)
{
	static const uint32_t weights[] = { 0, 0 };
	struct fixture f = {};
	uint32_t ep;

	if (!weighted_fixture(&f, weights, 2, false))
		goto out;
	ASSERT_EQ(xgw_router_pick_backend(f.r, 0), XGW_SNAP_NONE, "no backend picked");
	ASSERT_EQ(xgw_router_decide(f.r, 0, "h", 1, "/", 1, &ep), XGW_ROUTE_NO_BACKEND, "500");
out:
	fixture_free(&f);
}

TEST(unresolved_backend_is_500)
{
	static const uint32_t weights[] = { 1 };
	struct fixture f = {};
	uint32_t ep;

	if (!weighted_fixture(&f, weights, 1, true))
		goto out;
	ASSERT_EQ(xgw_router_decide(f.r, 0, "h", 1, "/", 1, &ep), XGW_ROUTE_NO_BACKEND, "500");
out:
	fixture_free(&f);
}

TEST(no_backends_is_500_no_endpoints_is_503)
{
	struct fixture f = {};
	struct xgw_snapb *b = xgw_snapb__new(1);
	int r_none, r_empty, cl;
	uint32_t ep;

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return;
	r_none = xgw_snapb_rule(b, "ns/none", 0);
	cl = xgw_snapb_cluster(b, "ns/empty:80");
	r_empty = xgw_snapb_rule(b, "ns/empty", 0);
	xgw_snapb_backend(b, (uint32_t)cl, 1);
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "");
	add_match(b, (uint32_t)r_none, XGW_PATH_PREFIX, "/none");
	add_match(b, (uint32_t)r_empty, XGW_PATH_PREFIX, "/empty");
	if (!fixture_finish(&f, b))
		goto out;
	ASSERT_EQ(xgw_router_decide(f.r, 0, "h", 1, "/none", 5, &ep), XGW_ROUTE_NO_BACKEND,
		  "no backendRefs");
	ASSERT_EQ(xgw_router_decide(f.r, 0, "h", 1, "/empty", 6, &ep), XGW_ROUTE_NO_ENDPOINT,
		  "no ready endpoint");
	ASSERT_EQ(xgw_router_decide(f.r, 0, "h", 1, "/other", 6, &ep), XGW_ROUTE_NOT_FOUND,
		  "no match");
out:
	fixture_free(&f);
}

TEST(endpoint_round_robin)
{
	struct fixture f = {};
	struct xgw_snapb *b = xgw_snapb__new(1);
	static const uint8_t lo[16] = { 127, 0, 0, 1 };
	int count[3] = {};
	int cl;

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return;
	cl = xgw_snapb_cluster(b, "ns/svc:80");
	for (int i = 0; i < 3; i++)
		xgw_snapb_endpoint(b, 4, lo, (uint16_t)(1000 + i));
	if (!fixture_finish(&f, b))
		goto out;
	for (int i = 0; i < 300; i++) {
		uint32_t e = xgw_router_pick_endpoint(f.r, (uint32_t)cl);

		if (!ASSERT_NEQ(e, XGW_SNAP_NONE, "pick"))
			goto out;
		count[f.snap.endpoints[e].port - 1000]++;
	}
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(count[i], 100, "even round robin");
out:
	fixture_free(&f);
}

TEST_MAIN()
