// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Session persistence (user/session.c) and least-request endpoint choice
 * (user/router.c) over snapshots built with the xgw_snapb_* builder.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "xgw/netaddr.h"
#include "xgw/snapshot.h"

#include "http1.h"
#include "loop-t.h"
#include "rewrite.h"
#include "router.h"
#include "session.h"

#define NOW 1800000000u /* 2027-01-15, Unix seconds */

struct fixture {
	void *buf;
	size_t len;
	struct xgw_snapshot snap;
	struct xgw_router *r;
	struct xgw_worker w; /* no pools: no endpoint is ejected, every load is 0 */
};

static void fixture_free(struct fixture *f)
{
	xgw_router__free(f->r);
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

static void ep_of(const char *s, uint16_t port, struct xgw_snap_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (xgw_ip_parse(s, &ep->family, ep->addr))
		abort();
	ep->port = port;
}

/*
 * Rule 0: cookie "sid" on Path /app, absolute 3600 s, idle 60 s, over backend
 * A (10.0.0.1:80, 10.0.0.2:80, weight 1) and B ([fd00::5]:81, weight 1).
 * Rule 1: header "X-Session", no limits, over A. Rule 2: no persistence.
 */
static bool build(struct fixture *f, uint8_t lb)
{
	struct xgw_snapb *b = xgw_snapb__new(1);
	struct xgw_snap_endpoint e;
	int ca, cb, err;

	ca = xgw_snapb_cluster(b, "ns/a:80");
	xgw_snapb_cluster_lb(b, lb);
	ep_of("10.0.0.1", 80, &e);
	xgw_snapb_endpoint(b, e.family, e.addr, e.port);
	ep_of("10.0.0.2", 80, &e);
	xgw_snapb_endpoint(b, e.family, e.addr, e.port);
	ep_of("10.0.0.3", 80, &e);
	xgw_snapb_endpoint(b, e.family, e.addr, e.port);
	cb = xgw_snapb_cluster(b, "ns/b:81");
	ep_of("fd00::5", 81, &e);
	xgw_snapb_endpoint(b, e.family, e.addr, e.port);
	xgw_snapb_rule(b, "ns/r", 0, 0, 0);
	xgw_snapb_rule_session(b, XGW_SP_COOKIE, 0, "sid", "/app", 3600, 60);
	xgw_snapb_backend(b, (uint32_t)ca, 1);
	xgw_snapb_backend(b, (uint32_t)cb, 1);
	xgw_snapb_rule(b, "ns/r", 1, 0, 0);
	xgw_snapb_rule_session(b, XGW_SP_HEADER, 0, "X-Session", "/", 0, 0);
	xgw_snapb_backend(b, (uint32_t)ca, 1);
	xgw_snapb_rule(b, "ns/r", 2, 0, 0);
	xgw_snapb_backend(b, (uint32_t)ca, 1);
	err = xgw_snapb__finish(b, &f->buf, &f->len);
	xgw_snapb__free(b);
	if (!ASSERT_OK(err, "finish") ||
	    !ASSERT_OK(xgw_snapshot__open(&f->snap, f->buf, f->len), "open"))
		return false;
	f->r = xgw_router__new(&f->snap, NULL);
	return ASSERT_OK_PTR(f->r, "router");
}

/* A request carrying <name>: <value> (a Cookie line or the session header). */
static void request(struct xgw_h1_request *req, const char *name, const char *value)
{
	struct xgw_h1_header *h = &req->headers[0];

	memset(req, 0, sizeof(*req));
	if (!name)
		return;
	h->name = name;
	h->name_len = strlen(name);
	h->value = value;
	h->value_len = strlen(value);
	h->id = xgw_h1_header_id(name, h->name_len); /* as the parser classifies it */
	req->n_headers = 1;
}

/* Route request <req> to rule <rule> with the router's choice, then the session's. */
static struct xgw_route route(struct fixture *f, struct xgw_rw_session *ss, uint32_t rule,
			      const struct xgw_h1_request *req, uint32_t now)
{
	struct xgw_route rt = { .rule = rule };

	rt.backend = xgw_router_pick_backend(f->r, rule);
	rt.ep = xgw_router_pick_endpoint(f->r, f->snap.backends[rt.backend].cluster);
	xgw_session_route(ss, &f->w, &f->snap, req, &rt, now);
	return rt;
}

TEST(token_round_trip)
{
	struct xgw_snap_endpoint e, d;
	uint32_t created, last;
	char tok[XGW_SESSION_TOKEN_MAX + 4];
	int n;

	ep_of("10.1.2.3", 8080, &e);
	n = xgw_session_encode(tok, sizeof(tok), &e, NOW - 10, NOW);
	ASSERT_EQ(n, 22, "IPv4 token length");
	if (ASSERT_TRUE(xgw_session_decode(tok, (size_t)n, &d, &created, &last), "decode v4")) {
		ASSERT_EQ(d.family, 4, "family");
		ASSERT_EQ(d.port, 8080, "port");
		ASSERT_TRUE(!memcmp(d.addr, e.addr, 16), "address");
		ASSERT_EQ(created, NOW - 10, "created");
		ASSERT_EQ(last, NOW, "last");
	}
	ep_of("fd00::1:2", 443, &e);
	n = xgw_session_encode(tok, sizeof(tok), &e, 1, 2);
	ASSERT_EQ(n, 38, "IPv6 token length");
	ASSERT_TRUE(xgw_session_decode(tok, (size_t)n, &d, &created, &last) && d.family == 6 &&
			    !memcmp(d.addr, e.addr, 16) && d.port == 443,
		    "decode v6");
	ASSERT_TRUE(
		strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
			(size_t)n,
		"base64url alphabet, no padding");
	ASSERT_EQ(xgw_session_encode(tok, 20, &e, 1, 2), -ENOSPC, "short buffer");
}

TEST(token_rejects_garbage)
{
	struct xgw_snap_endpoint e, d;
	uint32_t c, l;
	char tok[XGW_SESSION_TOKEN_MAX + 4];
	int n;

	ep_of("10.1.2.3", 80, &e);
	n = xgw_session_encode(tok, sizeof(tok), &e, 1, 2);
	ASSERT_FALSE(xgw_session_decode(tok, (size_t)n - 1, &d, &c, &l), "truncated");
	ASSERT_FALSE(xgw_session_decode("", 0, &d, &c, &l), "empty");
	tok[3] = '=';
	ASSERT_FALSE(xgw_session_decode(tok, (size_t)n, &d, &c, &l), "bad character");
	n = xgw_session_encode(tok, sizeof(tok), &e, 1, 2);
	tok[0] = 'B'; /* version 5 */
	ASSERT_FALSE(xgw_session_decode(tok, (size_t)n, &d, &c, &l), "unknown version");
	n = xgw_session_encode(tok, sizeof(tok), &e, 1, 2);
	/* The last character carries 2 bits of data and 4 zero bits: set one. */
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	tok[n - 1] = b64[(strchr(b64, tok[n - 1]) - b64) | 1];
	ASSERT_FALSE(xgw_session_decode(tok, (size_t)n, &d, &c, &l), "non-canonical tail");
	e.family = 6; /* an IPv6 family with an IPv4-sized address */
	n = xgw_session_encode(tok, sizeof(tok), &e, 1, 2);
	ASSERT_TRUE(xgw_session_decode(tok, (size_t)n, &d, &c, &l), "v6 token of v6 length");
}

TEST(cookie_session_sticks_and_expires)
{
	struct fixture f = { 0 };
	struct xgw_rw_session ss;
	struct xgw_h1_request req;
	struct xgw_route rt;
	char tok[XGW_SESSION_TOKEN_MAX + 4], cookie[128];

	if (!build(&f, XGW_LB_ROUND_ROBIN))
		goto out;
	/* No cookie: a new session, sent back for the endpoint that serves. */
	request(&req, NULL, NULL);
	rt = route(&f, &ss, 0, &req, NOW);
	ASSERT_TRUE(ss.rule == 0 && ss.send && ss.created == NOW, "new session");
	xgw_session_issue(&ss, &f.snap, rt.ep);
	ASSERT_TRUE(ss.token_len == 22 || ss.token_len == 38, "token laid out");
	ASSERT_MEMSTR(ss.tail, ss.tail_len, "; HttpOnly\r\n", "session cookie: no Max-Age");

	/* The token of endpoint 10.0.0.2 (index 1) sticks over any number of picks. */
	xgw_session_encode(tok, sizeof(tok), &f.snap.endpoints[1], NOW - 100, NOW - 30);
	snprintf(cookie, sizeof(cookie), "a=1; sid=%s; b=2", tok);
	request(&req, "Cookie", cookie);
	for (int i = 0; i < 8; i++) {
		rt = route(&f, &ss, 0, &req, NOW);
		if (!ASSERT_EQ(rt.ep, 1, "sticky endpoint"))
			break;
	}
	ASSERT_EQ(ss.created, NOW - 100, "the session keeps its start");
	ASSERT_TRUE(ss.send, "idle limit: last use refreshed");
	/* A quoted value and other cookies around it. */
	snprintf(cookie, sizeof(cookie), "sidx=1;sid=\"%s\"", tok);
	request(&req, "cookie", cookie);
	ASSERT_EQ(route(&f, &ss, 0, &req, NOW).ep, 1, "quoted cookie value");

	/* The IPv6 endpoint of backend B: backend and endpoint both follow. */
	xgw_session_encode(tok, sizeof(tok), &f.snap.endpoints[3], NOW - 100, NOW - 30);
	snprintf(cookie, sizeof(cookie), "sid=%s", tok);
	request(&req, "Cookie", cookie);
	rt = route(&f, &ss, 0, &req, NOW);
	ASSERT_TRUE(rt.ep == 3 && f.snap.backends[rt.backend].cluster == 1, "other backend");

	/* Idle 60 s or more, or older than 3600 s: a new session. */
	xgw_session_encode(tok, sizeof(tok), &f.snap.endpoints[1], NOW - 100, NOW - 60);
	snprintf(cookie, sizeof(cookie), "sid=%s", tok);
	request(&req, "Cookie", cookie);
	rt = route(&f, &ss, 0, &req, NOW);
	ASSERT_EQ(ss.created, NOW, "idle session: new");
	xgw_session_encode(tok, sizeof(tok), &f.snap.endpoints[1], NOW - 3600, NOW - 1);
	snprintf(cookie, sizeof(cookie), "sid=%s", tok);
	request(&req, "Cookie", cookie);
	rt = route(&f, &ss, 0, &req, NOW);
	ASSERT_EQ(ss.created, NOW, "absolute limit: new");
	/* From the future, or naming an endpoint the rule does not have. */
	xgw_session_encode(tok, sizeof(tok), &f.snap.endpoints[1], NOW + 3600, NOW + 3600);
	snprintf(cookie, sizeof(cookie), "sid=%s", tok);
	request(&req, "Cookie", cookie);
	route(&f, &ss, 0, &req, NOW);
	ASSERT_EQ(ss.created, NOW, "future token: new");
	struct xgw_snap_endpoint stranger;

	ep_of("10.9.9.9", 80, &stranger);
	xgw_session_encode(tok, sizeof(tok), &stranger, NOW - 5, NOW - 5);
	snprintf(cookie, sizeof(cookie), "sid=%s", tok);
	request(&req, "Cookie", cookie);
	route(&f, &ss, 0, &req, NOW);
	ASSERT_EQ(ss.created, NOW, "unknown endpoint: new");
	/* Another cookie's name as prefix does not count. */
	snprintf(cookie, sizeof(cookie), "xsid=%s", tok);
	request(&req, "Cookie", cookie);
	route(&f, &ss, 0, &req, NOW);
	ASSERT_EQ(ss.created, NOW, "only the exact cookie name");
out:
	fixture_free(&f);
}

TEST(header_session)
{
	struct fixture f = { 0 };
	struct xgw_rw_session ss;
	struct xgw_h1_request req;
	char tok[XGW_SESSION_TOKEN_MAX + 4];

	if (!build(&f, XGW_LB_ROUND_ROBIN))
		goto out;
	xgw_session_encode(tok, sizeof(tok), &f.snap.endpoints[2], NOW - 5000, NOW - 5000);
	request(&req, "x-session", tok);
	for (int i = 0; i < 6; i++)
		if (!ASSERT_EQ(route(&f, &ss, 1, &req, NOW).ep, 2, "sticky by header, no limits"))
			break;
	ASSERT_FALSE(ss.send, "no idle limit: nothing to send back");
	/* The rule without persistence ignores tokens. */
	route(&f, &ss, 2, &req, NOW);
	ASSERT_EQ(ss.rule, XGW_SNAP_NONE, "no persistence");
out:
	fixture_free(&f);
}

static uint32_t fake_load(void *ctx, const struct xgw_snap_endpoint *ep)
{
	const uint32_t *load = ctx;

	return load[ep->addr[3] - 1]; /* 10.0.0.N -> load[N - 1] */
}

TEST(least_request_two_choices)
{
	struct fixture f = { 0 };
	uint32_t load[3] = { 5, 0, 5 }, hits[3] = { 0 };

	if (!build(&f, XGW_LB_LEAST_REQUEST))
		goto out;
	xgw_router_set_load(f.r, fake_load, load, 42);
	/* 10.0.0.2 is idle, the others busy: it wins every draw it is in (2 of 3). */
	for (int i = 0; i < 3000; i++)
		hits[xgw_router_pick_endpoint(f.r, 0)]++;
	ASSERT_TRUE(hits[1] > 1850 && hits[1] < 2150, "the idle endpoint wins 2/3 of draws");
	ASSERT_TRUE(hits[0] > 350 && hits[2] > 350, "the others share the rest");
	/* Equal loads: about even, never stuck on one. */
	load[0] = load[1] = load[2] = 1;
	memset(hits, 0, sizeof(hits));
	for (int i = 0; i < 3000; i++)
		hits[xgw_router_pick_endpoint(f.r, 0)]++;
	for (int k = 0; k < 3; k++)
		ASSERT_TRUE(hits[k] > 800 && hits[k] < 1200, "even spread");
	/* A one-endpoint cluster needs no draw. */
	ASSERT_EQ(xgw_router_pick_endpoint(f.r, 1), 3, "single endpoint");
out:
	fixture_free(&f);
}

TEST_MAIN()
