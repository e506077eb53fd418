// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The worker's router over snapshots built with the xgw_snapb_* builder. */
#include <errno.h>
#include <stdio.h>
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

/* Lay out <b> (consumed), open it and build the router (after <prev>, or NULL). */
static bool fixture_finish_from(struct fixture *f, struct xgw_snapb *b,
				const struct xgw_router *prev)
{
	int err = xgw_snapb__finish(b, &f->buf, &f->len);

	xgw_snapb__free(b);
	if (!ASSERT_OK(err, "snapb finish"))
		return false;
	if (!ASSERT_OK(xgw_snapshot__open(&f->snap, f->buf, f->len), "snapshot open"))
		return false;
	f->r = xgw_router__new(&f->snap, prev);
	return ASSERT_OK_PTR(f->r, "router new");
}

static bool fixture_finish(struct fixture *f, struct xgw_snapb *b)
{
	return fixture_finish_from(f, b, NULL);
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
	return xgw_snapb_match(b, rule, type, path, strlen(path), NULL);
}

/* A rule with one backend on a cluster with one endpoint. */
static int add_simple_rule(struct xgw_snapb *b, const char *name)
{
	static const uint8_t lo[16] = { 127, 0, 0, 1 };
	int rule = xgw_snapb_rule(b, name, 0, 0, 0);
	int cl = xgw_snapb_cluster(b, name);

	if (rule < 0 || cl < 0 || xgw_snapb_backend(b, (uint32_t)cl, 1) < 0 ||
	    xgw_snapb_endpoint(b, 4, lo, 8080) < 0)
		return -1;
	return rule;
}

/* A request view over C strings: <target> may hold a query. */
static struct xgw_rt_req rq(const char *host, const char *method, const char *target)
{
	const char *qm = strchr(target, '?');
	struct xgw_rt_req q = {
		.host = host,
		.host_len = host ? strlen(host) : 0,
		.method = method,
		.method_len = strlen(method),
		.path = target,
		.path_len = qm ? (size_t)(qm - target) : strlen(target),
		.query = qm ? qm + 1 : NULL,
		.query_len = qm ? strlen(qm + 1) : 0,
	};

	return q;
}

/* The rule of the match a GET of <path> on <host> gets, or XGW_SNAP_NONE. */
static uint32_t route(struct fixture *f, uint32_t l, const char *host, const char *path)
{
	struct xgw_rt_req q = rq(host, "GET", path);
	uint32_t m = xgw_router_route(f->r, l, &q);

	return m == XGW_SNAP_NONE ? XGW_SNAP_NONE : f->snap.matches[m].rule;
}

static enum xgw_route_verdict decide(struct fixture *f, uint32_t l, const char *path, uint32_t *ep)
{
	struct xgw_rt_req q = rq("h", "GET", path);
	struct xgw_route rt;
	enum xgw_route_verdict v = xgw_router_decide(f->r, l, &q, &rt);

	*ep = rt.ep;
	return v;
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

/*
 * Host names of every length from 1 to 24 bytes, around the 4- and 8-byte
 * steps of the hashing and comparing: each finds its own vhost in any case,
 * and a name one byte off (changed, shorter, longer) finds none of them.
 */
TEST(host_lengths)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz";
	struct fixture f = {};
	struct xgw_snapb *b = xgw_snapb__new(1);
	int rules[25];
	char name[32];

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return;
	for (int n = 1; n <= 24; n++) {
		snprintf(name, sizeof(name), "%.*s", n, abc);
		rules[n] = add_simple_rule(b, name);
	}
	rules[0] = add_simple_rule(b, "any");
	add_listener(b, "10.0.0.1", 80);
	for (int n = 1; n <= 24; n++) {
		snprintf(name, sizeof(name), "%.*s", n, abc);
		add_vhost(b, name);
		add_match(b, (uint32_t)rules[n], XGW_PATH_PREFIX, "/");
	}
	add_vhost(b, "");
	add_match(b, (uint32_t)rules[0], XGW_PATH_PREFIX, "/");
	if (!fixture_finish(&f, b))
		goto out;
	for (int n = 1; n <= 24; n++) {
		snprintf(name, sizeof(name), "%.*s", n, abc);
		ASSERT_EQ(route(&f, 0, name, "/"), (uint32_t)rules[n], name);
		for (int k = 0; k < n; k++) {
			name[k] = (char)(name[k] - 32);
			ASSERT_EQ(route(&f, 0, name, "/"), (uint32_t)rules[n], "upper case");
			name[k] = (char)(name[k] + 32 + 1);
			if (name[k] > 'z')
				name[k] = '0';
			ASSERT_EQ(route(&f, 0, name, "/"), (uint32_t)rules[0], "one byte off");
			snprintf(name, sizeof(name), "%.*s", n, abc);
		}
		name[n] = '0';
		name[n + 1] = '\0';
		ASSERT_EQ(route(&f, 0, name, "/"), (uint32_t)rules[0], "longer");
	}
	ASSERT_EQ(route(&f, 0, "ABCDEFGHIJKLMNOPQRSTUVWX", "/"), (uint32_t)rules[24], "all upper");
	ASSERT_EQ(route(&f, 0, "abcdefghijklmnopqrstuvw@", "/"), (uint32_t)rules[0],
		  "'@' is not a case of '`'");
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
		{ XGW_PATH_REGEX, "/.*", "/x", false }, /* regexes are the router's, not this */
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
	struct xgw_rt_req q;
	uint32_t m;
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
	q = (struct xgw_rt_req){ .host = req.host,
				 .host_len = req.host_len,
				 .method = req.method,
				 .method_len = req.method_len,
				 .path = req.path,
				 .path_len = req.path_len };
	m = xgw_router_route(f.r, 0, &q);
	ASSERT_TRUE(m != XGW_SNAP_NONE && f.snap.matches[m].rule == (uint32_t)r_exact,
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
	ASSERT_EQ(decide(&f, XGW_SNAP_NONE, "/", &ep), XGW_ROUTE_NOT_FOUND,
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
	rule = xgw_snapb_rule(b, "ns/route", 0, 0, 0);
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
		if (!ASSERT_EQ(decide(&f, 0, "/", &ep), XGW_ROUTE_OK, "decide"))
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
	ASSERT_EQ(decide(&f, 0, "/", &ep), XGW_ROUTE_NO_BACKEND, "500");
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
	ASSERT_EQ(decide(&f, 0, "/", &ep), XGW_ROUTE_NO_BACKEND, "500");
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
	r_none = xgw_snapb_rule(b, "ns/none", 0, 0, 0);
	cl = xgw_snapb_cluster(b, "ns/empty:80");
	r_empty = xgw_snapb_rule(b, "ns/empty", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)cl, 1);
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "");
	add_match(b, (uint32_t)r_none, XGW_PATH_PREFIX, "/none");
	add_match(b, (uint32_t)r_empty, XGW_PATH_PREFIX, "/empty");
	if (!fixture_finish(&f, b))
		goto out;
	ASSERT_EQ(decide(&f, 0, "/none", &ep), XGW_ROUTE_NO_BACKEND, "no backendRefs");
	ASSERT_EQ(decide(&f, 0, "/empty", &ep), XGW_ROUTE_NO_ENDPOINT, "no ready endpoint");
	ASSERT_EQ(decide(&f, 0, "/other", &ep), XGW_ROUTE_NOT_FOUND, "no match");
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

/*
 * Conditions beyond the path, on one any-host vhost, in this order (the
 * agent's precedence order; the router takes the first whose conditions
 * all hold).
 */
enum {
	C_POST,	  /* PathPrefix /m, method POST */
	C_M,	  /* PathPrefix /m */
	C_HEXACT, /* PathPrefix /h, header X-Env: canary */
	C_HRE,	  /* PathPrefix /h, header x-ver ~ v[0-9]+ */
	C_H,	  /* PathPrefix /h */
	C_QEXACT, /* PathPrefix /q, query a=1 */
	C_QRE,	  /* PathPrefix /q, query b ~ x+ */
	C_Q,	  /* PathPrefix /q */
	C_RE,	  /* RegularExpression /r/[0-9]+ */
	C_ALT,	  /* RegularExpression /alt/a|/alt/b */
	C_COMBO,  /* PathPrefix /c, method GET, header x-a: 1, query q=2 */
	C_ROOT,	  /* PathPrefix / */
	C__N
};

static bool cond_fixture_from(struct fixture *f, const struct xgw_router *prev)
{
	struct xgw_snapb *b = xgw_snapb__new(1);
	int r[C__N];

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return false;
	for (int i = 0; i < C__N; i++)
		r[i] = add_simple_rule(b, "cond");
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "");
	xgw_snapb_match(b, (uint32_t)r[C_POST], XGW_PATH_PREFIX, "/m", 2, "POST");
	xgw_snapb_match(b, (uint32_t)r[C_M], XGW_PATH_PREFIX, "/m", 2, NULL);
	xgw_snapb_match(b, (uint32_t)r[C_HEXACT], XGW_PATH_PREFIX, "/h", 2, NULL);
	xgw_snapb_kv(b, XGW_KV_HEADER, XGW_KV_EXACT, "x-env", "canary");
	xgw_snapb_match(b, (uint32_t)r[C_HRE], XGW_PATH_PREFIX, "/h", 2, NULL);
	xgw_snapb_kv(b, XGW_KV_HEADER, XGW_KV_REGEX, "x-ver", "v[0-9]+");
	xgw_snapb_match(b, (uint32_t)r[C_H], XGW_PATH_PREFIX, "/h", 2, NULL);
	xgw_snapb_match(b, (uint32_t)r[C_QEXACT], XGW_PATH_PREFIX, "/q", 2, NULL);
	xgw_snapb_kv(b, XGW_KV_QUERY, XGW_KV_EXACT, "a", "1");
	xgw_snapb_match(b, (uint32_t)r[C_QRE], XGW_PATH_PREFIX, "/q", 2, NULL);
	xgw_snapb_kv(b, XGW_KV_QUERY, XGW_KV_REGEX, "b", "x+");
	xgw_snapb_match(b, (uint32_t)r[C_Q], XGW_PATH_PREFIX, "/q", 2, NULL);
	xgw_snapb_match(b, (uint32_t)r[C_RE], XGW_PATH_REGEX, "/r/[0-9]+", 9, NULL);
	xgw_snapb_match(b, (uint32_t)r[C_ALT], XGW_PATH_REGEX, "/alt/a|/alt/b", 13, NULL);
	xgw_snapb_match(b, (uint32_t)r[C_COMBO], XGW_PATH_PREFIX, "/c", 2, "GET");
	xgw_snapb_kv(b, XGW_KV_HEADER, XGW_KV_EXACT, "x-a", "1");
	xgw_snapb_kv(b, XGW_KV_QUERY, XGW_KV_EXACT, "q", "2");
	xgw_snapb_match(b, (uint32_t)r[C_ROOT], XGW_PATH_PREFIX, "/", 1, NULL);
	return fixture_finish_from(f, b, prev);
}

static bool cond_fixture(struct fixture *f)
{
	return cond_fixture_from(f, NULL);
}

/* The rule index the request gets (rules were added in enum order). */
static uint32_t croute(struct fixture *f, const char *method, const char *target,
		       const struct xgw_h1_header *h, size_t n)
{
	struct xgw_rt_req q = rq("h", method, target);
	uint32_t m;

	q.headers = h;
	q.n_headers = n;
	m = xgw_router_route(f->r, 0, &q);
	return m == XGW_SNAP_NONE ? XGW_SNAP_NONE : f->snap.matches[m].rule;
}

#define HDR(n, v)                                                                                  \
	{                                                                                          \
		.name = (n), .name_len = sizeof(n) - 1, .value = (v), .value_len = sizeof(v) - 1   \
	}

/*
 * A router built after another takes the other's compiled expressions of the
 * same text instead of compiling them again (a worker builds one per
 * snapshot); each is counted, so that either router may go first, and one
 * text is compiled once per router however many matches hold it.
 */
TEST(regexes_shared_with_the_next_router)
{
	static const struct xgw_h1_header ver[] = { HDR("x-ver", "v12") };
	struct fixture a = {}, b = {}, c = {};
	struct xgw_snapb *sb;
	int r0, r1, r2;

	if (!cond_fixture(&a) || !cond_fixture_from(&b, a.r))
		goto out;
	/* /r/[0-9]+, /alt/a|/alt/b, v[0-9]+, x+: in the same order in both */
	if (!ASSERT_EQ(a.r->n_re, 4, "four texts") || !ASSERT_EQ(b.r->n_re, 4, "the same four"))
		goto out;
	for (uint32_t i = 0; i < 4; i++) {
		ASSERT_TRUE(b.r->re[i] == a.r->re[i], "taken, not compiled again");
		ASSERT_EQ(b.r->re[i]->refs, 2, "held by both");
	}
	fixture_free(&a); /* the older goes first, as in a worker */
	ASSERT_EQ(b.r->re[0]->refs, 1, "held by the newer alone");
	ASSERT_EQ(croute(&b, "GET", "/r/12", NULL, 0), C_RE, "path expression");
	ASSERT_EQ(croute(&b, "GET", "/alt/b", NULL, 0), C_ALT, "path alternatives");
	ASSERT_EQ(croute(&b, "GET", "/r/x", NULL, 0), C_ROOT, "no match");
	ASSERT_EQ(croute(&b, "GET", "/h", ver, 1), C_HRE, "header expression");
	ASSERT_EQ(croute(&b, "GET", "/q?b=xxx", NULL, 0), C_QRE, "query expression");

	/* one text twice and a new one: two compiled, the known one taken */
	sb = xgw_snapb__new(2);
	if (!ASSERT_OK_PTR(sb, "snapb new"))
		goto out;
	r0 = add_simple_rule(sb, "a");
	r1 = add_simple_rule(sb, "b");
	r2 = add_simple_rule(sb, "c");
	add_listener(sb, "10.0.0.1", 80);
	add_vhost(sb, "");
	xgw_snapb_match(sb, (uint32_t)r0, XGW_PATH_REGEX, "/r/[0-9]+", 9, "GET");
	xgw_snapb_match(sb, (uint32_t)r1, XGW_PATH_REGEX, "/r/[0-9]+", 9, NULL);
	xgw_snapb_match(sb, (uint32_t)r2, XGW_PATH_REGEX, "/new/.*", 7, NULL);
	if (!fixture_finish_from(&c, sb, b.r) || !ASSERT_EQ(c.r->n_re, 2, "two texts"))
		goto out;
	ASSERT_TRUE(c.r->re[0] == b.r->re[0], "the known text taken");
	ASSERT_EQ(c.r->re[0]->refs, 2, "held by both");
	ASSERT_EQ(c.r->re[1]->refs, 1, "the new one compiled");
	fixture_free(&b);
	ASSERT_EQ(croute(&c, "POST", "/r/7", NULL, 0), (uint32_t)r1, "second holder of a text");
	ASSERT_EQ(croute(&c, "GET", "/r/7", NULL, 0), (uint32_t)r0, "first holder");
	ASSERT_EQ(croute(&c, "GET", "/new/x/y", NULL, 0), (uint32_t)r2, "new text");
out:
	fixture_free(&a);
	fixture_free(&b);
	fixture_free(&c);
}

TEST(match_method)
{
	struct fixture f = {};

	if (!cond_fixture(&f))
		goto out;
	ASSERT_EQ(croute(&f, "POST", "/m", NULL, 0), C_POST, "POST");
	ASSERT_EQ(croute(&f, "GET", "/m/x", NULL, 0), C_M, "GET falls through");
	ASSERT_EQ(croute(&f, "post", "/m", NULL, 0), C_M, "method is case-sensitive");
	ASSERT_EQ(croute(&f, "POSTX", "/m", NULL, 0), C_M, "method compared whole");
	ASSERT_EQ(croute(&f, "POS", "/m", NULL, 0), C_M, "method prefix is no match");
out:
	fixture_free(&f);
}

TEST(match_header_exact)
{
	static const struct xgw_h1_header h1[] = { HDR("Accept", "*/*"), HDR("X-ENV", "canary") };
	static const struct xgw_h1_header h2[] = { HDR("x-env", "Canary") };
	static const struct xgw_h1_header h3[] = { HDR("x-env", "canary2") };
	static const struct xgw_h1_header h4[] = { HDR("x-env", "prod"), HDR("x-env", "canary") };
	static const struct xgw_h1_header h5[] = { HDR("x-env", "canary"), HDR("x-env", "prod") };
	static const struct xgw_h1_header h6[] = { HDR("x-envx", "canary") };
	struct fixture f = {};

	if (!cond_fixture(&f))
		goto out;
	ASSERT_EQ(croute(&f, "GET", "/h", h1, 2), C_HEXACT, "name case-insensitive");
	ASSERT_EQ(croute(&f, "GET", "/h", h2, 1), C_H, "value case-sensitive");
	ASSERT_EQ(croute(&f, "GET", "/h", h3, 1), C_H, "value compared whole");
	ASSERT_EQ(croute(&f, "GET", "/h", h4, 2), C_H, "first line counts (mismatch)");
	ASSERT_EQ(croute(&f, "GET", "/h", h5, 2), C_HEXACT, "first line counts (match)");
	ASSERT_EQ(croute(&f, "GET", "/h", h6, 1), C_H, "other name");
	ASSERT_EQ(croute(&f, "GET", "/h", NULL, 0), C_H, "absent header: no match");
	ASSERT_EQ(croute(&f, "GET", "/x", h1, 2), C_ROOT, "header alone is not enough");
out:
	fixture_free(&f);
}

TEST(match_header_regex)
{
	static const struct xgw_h1_header h1[] = { HDR("X-Ver", "v12") };
	static const struct xgw_h1_header h2[] = { HDR("x-ver", "xv1") };
	static const struct xgw_h1_header h3[] = { HDR("x-ver", "v1x") };
	static const struct xgw_h1_header h4[] = { HDR("x-ver", "") };
	static const struct xgw_h1_header h5[] = { HDR("x-ver", "beta"), HDR("x-ver", "v2") };
	struct fixture f = {};

	if (!cond_fixture(&f))
		goto out;
	ASSERT_EQ(croute(&f, "GET", "/h", h1, 1), C_HRE, "regex match");
	ASSERT_EQ(croute(&f, "GET", "/h", h2, 1), C_H, "anchored at the start");
	ASSERT_EQ(croute(&f, "GET", "/h", h3, 1), C_H, "anchored at the end");
	ASSERT_EQ(croute(&f, "GET", "/h", h4, 1), C_H, "empty value");
	ASSERT_EQ(croute(&f, "GET", "/h", h5, 2), C_H, "first line only");
out:
	fixture_free(&f);
}

TEST(match_query)
{
	struct fixture f = {};

	if (!cond_fixture(&f))
		goto out;
	ASSERT_EQ(croute(&f, "GET", "/q?a=1", NULL, 0), C_QEXACT, "exact");
	ASSERT_EQ(croute(&f, "GET", "/q?z=0&a=1&c", NULL, 0), C_QEXACT, "among others");
	ASSERT_EQ(croute(&f, "GET", "/q?a=2&a=1", NULL, 0), C_Q, "first occurrence (mismatch)");
	ASSERT_EQ(croute(&f, "GET", "/q?a=1&a=2", NULL, 0), C_QEXACT, "first occurrence (match)");
	ASSERT_EQ(croute(&f, "GET", "/q?A=1", NULL, 0), C_Q, "name case-sensitive");
	ASSERT_EQ(croute(&f, "GET", "/q?a=10", NULL, 0), C_Q, "value compared whole");
	ASSERT_EQ(croute(&f, "GET", "/q?a", NULL, 0), C_Q, "no value");
	ASSERT_EQ(croute(&f, "GET", "/q?a=%31", NULL, 0), C_Q, "raw: no percent-decoding");
	ASSERT_EQ(croute(&f, "GET", "/q?aa=1", NULL, 0), C_Q, "name compared whole");
	ASSERT_EQ(croute(&f, "GET", "/q", NULL, 0), C_Q, "no query: absent");
	ASSERT_EQ(croute(&f, "GET", "/q?", NULL, 0), C_Q, "empty query: absent");
	ASSERT_EQ(croute(&f, "GET", "/q?b=xxx", NULL, 0), C_QRE, "regex");
	ASSERT_EQ(croute(&f, "GET", "/q?b=xxy", NULL, 0), C_Q, "regex anchored");
	ASSERT_EQ(croute(&f, "GET", "/q?b=&b=x", NULL, 0), C_Q, "regex, first occurrence");
	ASSERT_EQ(croute(&f, "GET", "/q?b=x&a=1", NULL, 0), C_QEXACT, "precedence: first wins");
out:
	fixture_free(&f);
}

TEST(match_path_regex)
{
	struct fixture f = {};

	if (!cond_fixture(&f))
		goto out;
	ASSERT_EQ(croute(&f, "GET", "/r/123", NULL, 0), C_RE, "regex path");
	ASSERT_EQ(croute(&f, "GET", "/r/123?x=1", NULL, 0), C_RE, "query not part of the path");
	ASSERT_EQ(croute(&f, "GET", "/r/12x", NULL, 0), C_ROOT, "anchored at the end");
	ASSERT_EQ(croute(&f, "GET", "/x/r/1", NULL, 0), C_ROOT, "anchored at the start");
	ASSERT_EQ(croute(&f, "GET", "/r/", NULL, 0), C_ROOT, "needs a digit");
	ASSERT_EQ(croute(&f, "GET", "/alt/a", NULL, 0), C_ALT, "alternation, left");
	ASSERT_EQ(croute(&f, "GET", "/alt/b", NULL, 0), C_ALT, "alternation, right");
	ASSERT_EQ(croute(&f, "GET", "/alt/ab", NULL, 0), C_ROOT, "alternation anchored whole");
out:
	fixture_free(&f);
}

TEST(match_combination)
{
	static const struct xgw_h1_header h[] = { HDR("X-A", "1") };
	static const struct xgw_h1_header hbad[] = { HDR("X-A", "2") };
	struct fixture f = {};

	if (!cond_fixture(&f))
		goto out;
	ASSERT_EQ(croute(&f, "GET", "/c?q=2", h, 1), C_COMBO, "all hold");
	ASSERT_EQ(croute(&f, "HEAD", "/c?q=2", h, 1), C_ROOT, "method fails");
	ASSERT_EQ(croute(&f, "GET", "/c?q=2", hbad, 1), C_ROOT, "header fails");
	ASSERT_EQ(croute(&f, "GET", "/c?q=3", h, 1), C_ROOT, "query fails");
	ASSERT_EQ(croute(&f, "GET", "/d?q=2", h, 1), C_ROOT, "path fails");
out:
	fixture_free(&f);
}

TEST(regex_bad_fails_the_load)
{
	static const char *const bad[] = { "/a(", "[z-a]", "*x" };
	static const uint8_t kinds[] = { 0, 1, 2 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xgw_snapb *b = xgw_snapb__new(1);
		struct fixture f = {};
		int rule = add_simple_rule(b, "bad");

		add_listener(b, "10.0.0.1", 80);
		add_vhost(b, "");
		xgw_snapb_match(b, (uint32_t)rule, kinds[i] == 0 ? XGW_PATH_REGEX : XGW_PATH_PREFIX,
				kinds[i] == 0 ? bad[i] : "/", kinds[i] == 0 ? strlen(bad[i]) : 1,
				NULL);
		if (kinds[i])
			xgw_snapb_kv(b, kinds[i] == 1 ? XGW_KV_HEADER : XGW_KV_QUERY, XGW_KV_REGEX,
				     "x", bad[i]);
		if (!ASSERT_OK(xgw_snapb__finish(b, &f.buf, &f.len), "finish"))
			goto next;
		if (!ASSERT_OK(xgw_snapshot__open(&f.snap, f.buf, f.len), "open"))
			goto next;
		f.r = xgw_router__new(&f.snap, NULL);
		ASSERT_TRUE(f.r == NULL && errno == EINVAL, bad[i]);
	next:
		xgw_snapb__free(b);
		fixture_free(&f);
	}
}

TEST(header_op_injection_fails_the_load)
{
	struct xgw_snapb *b = xgw_snapb__new(1);
	struct xgw_snap_filter sf = { .type = XGW_FILTER_REQUEST_HEADER };
	struct fixture f = {};
	int rule;

	rule = xgw_snapb_rule(b, "inj", 0, 0, 0);
	xgw_snapb_filter(b, &sf, NULL, NULL, NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_ADD, "X-A", "1\r\nX-Evil: 1");
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "");
	add_match(b, (uint32_t)rule, XGW_PATH_PREFIX, "/");
	if (!ASSERT_OK(xgw_snapb__finish(b, &f.buf, &f.len), "finish"))
		goto out;
	if (!ASSERT_OK(xgw_snapshot__open(&f.snap, f.buf, f.len), "open"))
		goto out;
	f.r = xgw_router__new(&f.snap, NULL);
	ASSERT_TRUE(f.r == NULL && errno == EINVAL, "CRLF in a header value refused");
out:
	xgw_snapb__free(b);
	fixture_free(&f);
}

/* What filters splice into heads is checked at load: names are tokens, paths start with '/'. */
TEST(filter_strings_checked_at_load)
{
	static const struct {
		const char *name, *value, *path, *host;
		bool ok;
	} cases[] = {
		{ "X-Ok", "any value, even: colons", "/p", "h.example", true },
		{ "X A", "1", "/p", "h", false },
		{ "X:A", "1", "/p", "h", false },
		{ "", "1", "/p", "h", false },
		{ "X-A", "1", "p", "h", false },
		{ "X-A", "1", "/p q", "h", false },
		{ "X-A", "1", "/p", "h\r\nX: 1", false },
		{ "X-A", "1", "/p", "h x", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xgw_snapb *b = xgw_snapb__new(1);
		struct xgw_snap_filter hf = { .type = XGW_FILTER_REQUEST_HEADER };
		struct xgw_snap_filter rf = { .type = XGW_FILTER_URL_REWRITE,
					      .path_mod = XGW_PATHMOD_FULL };
		struct fixture f = {};

		xgw_snapb_rule(b, "chk", 0, 0, 0);
		xgw_snapb_filter(b, &hf, NULL, NULL, NULL);
		xgw_snapb_hdrop(b, XGW_HDROP_SET, cases[i].name, cases[i].value);
		xgw_snapb_filter(b, &rf, NULL, cases[i].host, cases[i].path);
		if (ASSERT_OK(xgw_snapb__finish(b, &f.buf, &f.len), "finish") &&
		    ASSERT_OK(xgw_snapshot__open(&f.snap, f.buf, f.len), "open")) {
			f.r = xgw_router__new(&f.snap, NULL);
			if ((f.r != NULL) != cases[i].ok)
				TEST_FAIL_("case %zu (%s / %s / %s): router %s", i, cases[i].name,
					   cases[i].path, cases[i].host, f.r ? "built" : "refused");
		}
		xgw_snapb__free(b);
		fixture_free(&f);
	}
}

/* Redirects answer before any backend is needed; the rule's come first. */
TEST(decide_redirect)
{
	struct xgw_snapb *b = xgw_snapb__new(1);
	struct xgw_snap_filter sf = { .type = XGW_FILTER_REDIRECT, .status = 301 };
	struct fixture f = {};
	struct xgw_route rt;
	struct xgw_rt_req q;
	int r_redir, r_be, cl;

	r_redir = xgw_snapb_rule(b, "redir", 0, 0, 0);
	xgw_snapb_filter(b, &sf, "https", NULL, NULL);
	cl = xgw_snapb_cluster(b, "ns/svc:80");
	r_be = xgw_snapb_rule(b, "be-redir", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)cl, 1);
	xgw_snapb_filter(b, &sf, NULL, "other", NULL);
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "");
	add_match(b, (uint32_t)r_redir, XGW_PATH_PREFIX, "/r");
	add_match(b, (uint32_t)r_be, XGW_PATH_PREFIX, "/b");
	if (!fixture_finish(&f, b))
		goto out;
	q = rq("h", "GET", "/r/x");
	ASSERT_EQ(xgw_router_decide(f.r, 0, &q, &rt), XGW_ROUTE_REDIRECT, "rule redirect");
	ASSERT_EQ(rt.redirect, f.snap.rules[r_redir].filter_first, "the rule's filter");
	ASSERT_EQ(rt.backend, XGW_SNAP_NONE, "no backend needed");
	q = rq("h", "GET", "/b");
	ASSERT_EQ(xgw_router_decide(f.r, 0, &q, &rt), XGW_ROUTE_REDIRECT, "backend redirect");
	ASSERT_EQ(rt.redirect, f.snap.backends[rt.backend].filter_first, "the backend's filter");
	ASSERT_EQ(rt.match, 1, "match reported");
out:
	fixture_free(&f);
}

TEST(mirror_fraction)
{
	struct xgw_snapb *b = xgw_snapb__new(1);
	struct xgw_snap_filter sf = { .type = XGW_FILTER_MIRROR };
	struct fixture f = {};
	static const uint32_t nd[][2] = { { 1, 4 }, { 0, 100 }, { 100, 100 }, { 3, 7 } };
	int cl, n;

	cl = xgw_snapb_cluster(b, "ns/mirror:80");
	xgw_snapb_rule(b, "m", 0, 0, 0);
	for (size_t i = 0; i < 4; i++) {
		sf.cluster = (uint32_t)cl;
		sf.num = nd[i][0];
		sf.den = nd[i][1];
		xgw_snapb_filter(b, &sf, NULL, NULL, NULL);
	}
	if (!fixture_finish(&f, b))
		goto out;
	for (uint32_t i = 0; i < 4; i++) {
		n = 0;
		for (uint32_t k = 0; k < 700; k++)
			n += xgw_router_mirror_take(f.r, i);
		ASSERT_EQ(n, 700 * nd[i][0] / nd[i][1], "exact fraction");
	}
out:
	fixture_free(&f);
}

/*
 * The path index of large vhosts (XGW_RT_INDEX_MIN matches or more) gives
 * the answer of the linear walk. <spec> lists the vhost's matches in order
 * as "E/path", "P/path", "R<regex>", optionally followed by " METHOD"; Exact
 * fillers "/zz<i>" bring it to the index's size.
 */
static bool index_fixture(struct fixture *f, const char *const *spec, size_t n)
{
	struct xgw_snapb *b = xgw_snapb__new(1);
	char buf[256];
	int rule;

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return false;
	rule = add_simple_rule(b, "idx");
	add_listener(b, "10.0.0.1", 80);
	add_vhost(b, "");
	for (size_t i = 0; i < n; i++) {
		const char *sp = strchr(spec[i], ' ');
		size_t len = sp ? (size_t)(sp - spec[i] - 1) : strlen(spec[i] + 1);
		uint8_t type = spec[i][0] == 'E'   ? XGW_PATH_EXACT
			       : spec[i][0] == 'R' ? XGW_PATH_REGEX
						   : XGW_PATH_PREFIX;

		xgw_snapb_match(b, (uint32_t)rule, type, spec[i] + 1, len, sp ? sp + 1 : NULL);
	}
	for (size_t i = n; i < XGW_RT_INDEX_MIN; i++) {
		snprintf(buf, sizeof(buf), "/zz%zu", i);
		add_match(b, (uint32_t)rule, XGW_PATH_EXACT, buf);
	}
	if (!fixture_finish(f, b))
		return false;
	return ASSERT_TRUE(f->r->vix[0].indexed, "vhost indexed");
}

/* The match a request gets through the index, checked against the linear walk. */
static uint32_t imatch(struct fixture *f, const char *method, const char *target)
{
	struct xgw_rt_req q = rq("h", method, target);
	uint32_t m = xgw_router_match(f->r, 0, &q), lin = xgw_router_match_linear(f->r, 0, &q);

	if (m != lin)
		TEST_FAIL_("%s %s: index %u, linear walk %u", method, target, m, lin);
	return m;
}

TEST(index_segment_boundaries)
{
	static const char *const spec[] = { "E/foo", "P/foo/", "P/" };
	static const char *const spec2[] = { "E/foo/", "P/foo/bar", "P/foo", "P/foobar" };
	struct fixture f = {};

	if (!index_fixture(&f, spec, 3))
		goto out;
	ASSERT_EQ(imatch(&f, "GET", "/foo"), 0, "exact /foo");
	ASSERT_EQ(imatch(&f, "GET", "/foo/"), 1, "exact /foo is not /foo/: prefix /foo/");
	ASSERT_EQ(imatch(&f, "GET", "/foo/x"), 1, "prefix /foo/ under it");
	ASSERT_EQ(imatch(&f, "GET", "/foo//x"), 1, "prefix /foo/, empty segment");
	ASSERT_EQ(imatch(&f, "GET", "/foobar"), 2, "/foobar is not under /foo/");
	ASSERT_EQ(imatch(&f, "GET", "/fo"), 2, "shorter");
	ASSERT_EQ(imatch(&f, "GET", "/"), 2, "prefix / matches /");
	ASSERT_EQ(imatch(&f, "GET", ""), 2, "prefix / matches an empty path");
	ASSERT_EQ(imatch(&f, "GET", "*"), 2, "prefix / matches anything");
	ASSERT_EQ(imatch(&f, "GET", "/zz5"), 2, "prefix / comes before the fillers");
	fixture_free(&f);

	if (!index_fixture(&f, spec2, 4))
		goto out;
	ASSERT_EQ(imatch(&f, "GET", "/foo/"), 0, "exact /foo/");
	ASSERT_EQ(imatch(&f, "GET", "/foo"), 2, "prefix /foo: the path itself");
	ASSERT_EQ(imatch(&f, "GET", "/foo//"), 2, "prefix /foo: /foo//");
	ASSERT_EQ(imatch(&f, "GET", "/foo/bar"), 1, "longer prefix");
	ASSERT_EQ(imatch(&f, "GET", "/foo/bar/"), 1, "longer prefix, trailing slash");
	ASSERT_EQ(imatch(&f, "GET", "/foo/bar/baz"), 1, "longer prefix, below");
	ASSERT_EQ(imatch(&f, "GET", "/foo/barx"), 2, "not a segment of /foo/bar");
	ASSERT_EQ(imatch(&f, "GET", "/foobar"), 3, "prefix /foobar");
	ASSERT_EQ(imatch(&f, "GET", "/foobar/x"), 3, "under /foobar");
	ASSERT_EQ(imatch(&f, "GET", "/foobarx"), XGW_SNAP_NONE, "/foobarx");
	ASSERT_EQ(imatch(&f, "GET", "/fo"), XGW_SNAP_NONE, "/fo");
	ASSERT_EQ(imatch(&f, "GET", "/"), XGW_SNAP_NONE, "/ without a / prefix");
	ASSERT_EQ(imatch(&f, "GET", ""), XGW_SNAP_NONE, "empty path");
	ASSERT_EQ(imatch(&f, "GET", "//foo"), XGW_SNAP_NONE, "//foo");
	ASSERT_EQ(imatch(&f, "GET", "/FOO"), XGW_SNAP_NONE, "case-sensitive");
	ASSERT_EQ(imatch(&f, "GET", "/zz4"), 4, "a filler, exact");
	ASSERT_EQ(imatch(&f, "GET", "/zz4/"), XGW_SNAP_NONE, "a filler is exact");
out:
	fixture_free(&f);
}

/* The lowest-indexed candidate whose other conditions hold wins, across lists. */
TEST(index_precedence_across_lists)
{
	static const char *const spec[] = { "P/a/b POST", "R/a/[0-9]+ PUT", "P/a PUT", "P/a/b",
					    "R/a/.*",	  "P/ DELETE",	    "E/a/1" };
	static const char *const root_first[] = { "P/", "E/x", "P/x", "R/x" };
	struct fixture f = {};

	if (!index_fixture(&f, spec, 7))
		goto out;
	ASSERT_EQ(imatch(&f, "POST", "/a/b/c"), 0, "longer prefix, method holds");
	ASSERT_EQ(imatch(&f, "GET", "/a/b/c"), 3, "longer prefix without method");
	ASSERT_EQ(imatch(&f, "PUT", "/a/b/c"), 2, "shorter prefix before, method holds");
	ASSERT_EQ(imatch(&f, "PUT", "/a/12"), 1, "regex before prefix");
	ASSERT_EQ(imatch(&f, "GET", "/a/12"), 4, "second regex");
	ASSERT_EQ(imatch(&f, "GET", "/a/1"), 4, "regex before a later exact");
	ASSERT_EQ(imatch(&f, "DELETE", "/b"), 5, "root prefix with method");
	ASSERT_EQ(imatch(&f, "GET", "/b"), XGW_SNAP_NONE, "nothing holds");
	fixture_free(&f);

	if (!index_fixture(&f, root_first, 4))
		goto out;
	ASSERT_EQ(imatch(&f, "GET", "/x"), 0, "an earlier / prefix beats exact, prefix, regex");
	ASSERT_EQ(imatch(&f, "GET", "/zz6"), 0, "and the fillers");
out:
	fixture_free(&f);
}

/* More prefixes along one path than the index keeps aside: the rest are scanned as found. */
TEST(index_deep_paths)
{
	enum {
		DEPTH = 45
	};
	char path[2 * DEPTH + 1];
	char spec_buf[DEPTH][2 * DEPTH + 8];
	const char *spec[DEPTH];
	struct fixture f = {};

	/* Longest first, as the agent orders them; only depths 1, 7 and 40 are for GET. */
	for (int i = 0; i < DEPTH; i++) {
		int depth = DEPTH - i, o = 0;

		spec_buf[i][o++] = 'P';
		for (int d = 0; d < depth; d++)
			o += sprintf(spec_buf[i] + o, "/s");
		sprintf(spec_buf[i] + o, "%s",
			depth == 1 || depth == 7 || depth == 40 ? "" : " POST");
		spec[i] = spec_buf[i];
	}
	for (int d = 0; d < DEPTH; d++)
		memcpy(path + 2 * d, "/s", 3);
	if (!index_fixture(&f, spec, DEPTH))
		goto out;
	ASSERT_EQ(imatch(&f, "POST", path), 0, "deepest");
	ASSERT_EQ(imatch(&f, "GET", path), DEPTH - 40, "depth 40 for GET");
	path[2 * 39] = '\0';
	ASSERT_EQ(imatch(&f, "GET", path), DEPTH - 7, "depth 7 for GET");
	path[2 * 6] = '\0';
	ASSERT_EQ(imatch(&f, "GET", path), DEPTH - 1, "depth 1 for GET");
out:
	fixture_free(&f);
}

/* A deterministic generator: the differential test repeats. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)((rnd_state >> 11) % n);
}

/* A path over few segments, so that patterns and requests share prefixes. */
static void rnd_path(char *out, size_t size)
{
	static const char *const seg[] = { "a", "ab", "b", "foo", "foobar", "x", "", "v1" };
	size_t o = 0;
	uint32_t n = rnd(5);

	switch (rnd(16)) {
	case 0:
		snprintf(out, size, "%s", "");
		return;
	case 1:
		snprintf(out, size, "%s", rnd(2) ? "/" : "//");
		return;
	}
	for (uint32_t i = 0; i < n || !o; i++)
		o += (size_t)snprintf(out + o, size - o, "/%s", seg[rnd(8)]);
	if (!rnd(4))
		snprintf(out + o, size - o, "%s", rnd(3) ? "/" : "//");
}

enum {
	DIFF_VHOSTS = 4,
	DIFF_ROUNDS = 60,
};

/* Random vhosts: Exact, PathPrefix and regex matches, some with method, header or query conditions. */
static bool rnd_fixture(struct fixture *f)
{
	static const char *const re[] = { "/a/.*", "/foo(/.*)?", "/[a-z]+",
					  ".*/b",  "/x/[0-9]*",	 "/(a|ab)/b/?" };
	static const uint32_t sizes[] = { 0, 1, 3, 7, 8, 9, 16, 40, 80 };
	struct xgw_snapb *b = xgw_snapb__new(1);
	char path[64], name[8];
	int rule;

	if (!ASSERT_OK_PTR(b, "snapb new"))
		return false;
	rule = add_simple_rule(b, "rnd");
	add_listener(b, "10.0.0.1", 80);
	for (int v = 0; v < DIFF_VHOSTS; v++) {
		uint32_t n = sizes[rnd(sizeof(sizes) / sizeof(sizes[0]))];

		snprintf(name, sizeof(name), "v%d", v);
		add_vhost(b, name);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t t = rnd(10);
			uint8_t type = t < 4   ? XGW_PATH_EXACT
				       : t < 9 ? XGW_PATH_PREFIX
					       : XGW_PATH_REGEX;
			const char *method = rnd(4) ? NULL : rnd(2) ? "GET" : "POST";

			if (type == XGW_PATH_REGEX)
				snprintf(path, sizeof(path), "%s", re[rnd(6)]);
			else
				rnd_path(path, sizeof(path));
			xgw_snapb_match(b, (uint32_t)rule, type, path, strlen(path), method);
			switch (rnd(8)) {
			case 0:
				xgw_snapb_kv(b, XGW_KV_HEADER, XGW_KV_EXACT, "x-k", "1");
				break;
			case 1:
				xgw_snapb_kv(b, XGW_KV_QUERY, XGW_KV_EXACT, "q", "1");
				break;
			case 2:
				xgw_snapb_kv(b, XGW_KV_HEADER, XGW_KV_REGEX, "x-r", "[0-9]+");
				break;
			}
		}
	}
	return fixture_finish(f, b);
}

TEST(index_differential)
{
	static const struct xgw_h1_header hs[][2] = {
		{ HDR("x-k", "1"), HDR("x-r", "12") },
		{ HDR("X-K", "2"), HDR("x-r", "ab") },
		{ HDR("x-r", "7"), HDR("x-k", "1") },
	};
	static const char *const methods[] = { "GET", "POST", "PUT" };
	unsigned long checked = 0, found = 0, indexed = 0;

	for (int round = 0; round < DIFF_ROUNDS; round++) {
		struct fixture f = {};
		char target[80];

		if (!rnd_fixture(&f)) {
			fixture_free(&f);
			return;
		}
		for (int v = 0; v < DIFF_VHOSTS; v++)
			indexed += f.r->vix[v].indexed;
		for (int i = 0; i < 1500; i++) {
			struct xgw_rt_req q;
			uint32_t h = rnd(4);

			rnd_path(target, sizeof(target) - 4);
			if (!rnd(3))
				strcat(target, rnd(2) ? "?q=1" : "?q=2");
			q = rq("h", methods[rnd(3)], target);
			q.headers = h < 3 ? hs[h] : NULL;
			q.n_headers = h < 3 ? 1 + rnd(2) : 0;
			for (uint32_t v = 0; v < DIFF_VHOSTS; v++) {
				uint32_t m = xgw_router_match(f.r, v, &q);
				uint32_t lin = xgw_router_match_linear(f.r, v, &q);

				checked++;
				found += lin != XGW_SNAP_NONE;
				if (m != lin) {
					TEST_FAIL_("round %d vhost %u %.*s \"%s\": index %u, "
						   "linear %u",
						   round, v, (int)q.method_len, q.method, target, m,
						   lin);
					fixture_free(&f);
					return;
				}
			}
		}
		fixture_free(&f);
	}
	printf("# %lu lookups on %lu indexed vhosts of %d, %lu matched\n", checked, indexed,
	       DIFF_ROUNDS * DIFF_VHOSTS, found);
	ASSERT_GT(indexed, DIFF_ROUNDS, "enough indexed vhosts");
	ASSERT_GT(found, checked / 4, "enough lookups that match");
}

TEST_MAIN()
