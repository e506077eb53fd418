// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The metrics' text (xgw_metrics_render()) from a made-up agent state: the
 * exact samples of each family, histogram bucket boundaries (a value equal to
 * a bound goes in that bucket, one above the last in +Inf only), label
 * escaping, and what is left out without a result, workers or pinned maps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <errno.h>

#include "metrics.h"
#include "test.h"

static char *render(const struct xgw_metrics_src *src)
{
	char *text = NULL;
	size_t len = 0;

	if (!ASSERT_OK(xgw_metrics_render(src, &text, &len), "render"))
		return NULL;
	ASSERT_EQ(strlen(text) == len, 1, "length");
	return text;
}

/* <line> is one whole line of <text>. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || !p[n]))
			return true;
	printf("# missing: %s\n", line);
	return false;
}

static void cond(struct xgw_conds *cs, const char *type, const char *status)
{
	cs->c[cs->n++] = (struct xgw_condition){ .type = type, .status = status, .reason = "R" };
}

TEST(agent_and_result)
{
	struct xgw_agent_counters ctr = { .changes_full = 7,
					  .changes_routes = 5,
					  .changes_endpoints = 3,
					  .load_errors = 1,
					  .apply_errors = 2,
					  .rejected = 4 };
	struct xgw_listener_status ls[2] = { { .name = "web\\\"x\ny", .attached_routes = 5 },
					     { .name = "other", .attached_routes = 0 } };
	struct xgw_gateway_status gw[2] = {
		{ .ns = "default", .name = "eg", .ours = true, .listeners = ls, .n_listeners = 2 },
		{ .ns = "else", .name = "theirs", .ours = false },
	};
	struct xgw_parent_status ps[3] = { 0 };
	struct xgw_route_status rs[2] = {
		{ .ns = "default", .name = "a", .parents = ps, .n_parents = 2 },
		{ .kind = "TCPRoute",
		  .ns = "default",
		  .name = "t",
		  .parents = ps + 2,
		  .n_parents = 1 },
	};
	struct xgw_reconcile_result res = {
		.snap_len = 1234, .gateways = gw, .n_gateways = 2, .routes = rs, .n_routes = 2
	};
	struct xgw_metrics_src src = { .generation = 9,
				       .programmed = true,
				       .res = &res,
				       .n_problems = 2,
				       .ctr = &ctr,
				       .pin_dir = "/nonexistent/xgw" };
	char *t;

	cond(&ps[0].conds, "Accepted", "True");
	cond(&ps[0].conds, "ResolvedRefs", "True");
	cond(&ps[1].conds, "Accepted", "False");
	cond(&ps[1].conds, "ResolvedRefs", "False");
	cond(&ps[2].conds, "Accepted", "True");
	/* 0.001 is the first bound itself; 0.0011 the next bucket; 5 the last bound; 6 above */
	xgw_histogram_observe(&ctr.reconcile[0], 0.001);
	xgw_histogram_observe(&ctr.reconcile[0], 0.0011);
	xgw_histogram_observe(&ctr.reconcile[0], 5);
	xgw_histogram_observe(&ctr.reconcile[0], 6);
	xgw_histogram_observe(&ctr.serving, 0.02);
	t = render(&src);
	if (!t)
		return;
	ASSERT_TRUE(has_line(t, "# TYPE xgw_generation gauge"), "type line");
	ASSERT_TRUE(has_line(t, "xgw_generation 9"), "generation");
	ASSERT_TRUE(has_line(t, "xgw_generation_programmed 1"), "programmed");
	ASSERT_TRUE(has_line(t, "xgw_config_changes_total{path=\"full\"} 7"), "full");
	ASSERT_TRUE(has_line(t, "xgw_config_changes_total{path=\"endpoints\"} 3"), "endpoints");
	ASSERT_TRUE(has_line(t, "xgw_config_changes_total{path=\"routes\"} 5"), "routes");
	ASSERT_TRUE(has_line(t, "xgw_config_errors_total{stage=\"load\"} 1"), "load");
	ASSERT_TRUE(has_line(t, "xgw_config_errors_total{stage=\"apply\"} 2"), "apply");
	ASSERT_TRUE(has_line(t, "xgw_config_errors_total{stage=\"rejected\"} 4"), "rejected");
	ASSERT_TRUE(has_line(t, "xgw_config_problems 2"), "problems");
	ASSERT_TRUE(
		has_line(t, "xgw_reconcile_duration_seconds_bucket{path=\"full\",le=\"0.001\"} 1"),
		"a value equal to a bound is in its bucket");
	ASSERT_TRUE(
		has_line(t, "xgw_reconcile_duration_seconds_bucket{path=\"full\",le=\"0.0025\"} 2"),
		"cumulative");
	ASSERT_TRUE(has_line(t, "xgw_reconcile_duration_seconds_bucket{path=\"full\",le=\"5\"} 3"),
		    "the last bound");
	ASSERT_TRUE(
		has_line(t, "xgw_reconcile_duration_seconds_bucket{path=\"full\",le=\"+Inf\"} 4"),
		"above the last bound: +Inf only");
	ASSERT_TRUE(has_line(t, "xgw_reconcile_duration_seconds_count{path=\"full\"} 4"), "count");
	ASSERT_TRUE(has_line(t, "xgw_reconcile_duration_seconds_sum{path=\"full\"} 11.002100"),
		    "sum");
	ASSERT_TRUE(has_line(t, "xgw_reconcile_duration_seconds_count{path=\"endpoints\"} 0"),
		    "an empty histogram is there too");
	ASSERT_TRUE(has_line(t, "xgw_change_to_serving_seconds_bucket{le=\"0.01\"} 0"), "serving");
	ASSERT_TRUE(has_line(t, "xgw_change_to_serving_seconds_bucket{le=\"0.025\"} 1"), "serving");
	ASSERT_TRUE(has_line(t, "xgw_change_to_serving_seconds_count 1"), "serving count");
	ASSERT_TRUE(has_line(t, "xgw_snapshot_bytes 1234"), "snapshot");
	ASSERT_TRUE(has_line(t, "xgw_gateways 1"), "only ours");
	ASSERT_TRUE(has_line(t, "xgw_route_parents{kind=\"HTTPRoute\",accepted=\"true\"} 1"), "a");
	ASSERT_TRUE(has_line(t, "xgw_route_parents{kind=\"HTTPRoute\",accepted=\"false\"} 1"), "a");
	ASSERT_TRUE(has_line(t, "xgw_route_parents{kind=\"TCPRoute\",accepted=\"true\"} 1"), "t");
	ASSERT_TRUE(has_line(t, "xgw_route_parents_unresolved{kind=\"HTTPRoute\"} 1"), "a");
	/* ResolvedRefs missing is not True either */
	ASSERT_TRUE(has_line(t, "xgw_route_parents_unresolved{kind=\"TCPRoute\"} 1"), "t");
	ASSERT_TRUE(has_line(t, "xgw_listener_attached_routes{namespace=\"default\",gateway=\"eg\","
				"listener=\"web\\\\\\\"x\\ny\"} 5"),
		    "label escaping: backslash, quote, newline");
	ASSERT_TRUE(has_line(t, "xgw_listener_attached_routes{namespace=\"default\",gateway=\"eg\","
				"listener=\"other\"} 0"),
		    "second listener");
	ASSERT_FALSE(strstr(t, "theirs"), "another controller's Gateway is left out");
	ASSERT_FALSE(strstr(t, "xgw_xdp_packets_total"), "no pinned maps: no XDP families");
	ASSERT_FALSE(strstr(t, "xgw_worker_up{"), "no workers: no samples");
	free(t);
}

TEST(nothing_yet)
{
	struct xgw_agent_counters ctr = { 0 };
	struct xgw_metrics_src src = { .ctr = &ctr };
	char *t = render(&src);

	if (!t)
		return;
	ASSERT_TRUE(has_line(t, "xgw_generation 0"), "generation");
	ASSERT_TRUE(has_line(t, "xgw_generation_programmed 0"), "programmed");
	ASSERT_TRUE(has_line(t, "xgw_snapshot_bytes 0"), "snapshot");
	ASSERT_FALSE(strstr(t, "xgw_gateways"), "no result: no Gateway families");
	free(t);
}

/* Responses per route: lines of several texts added up by route, in name order. */
TEST(routes)
{
	static const char gone[] = "default/b 0 5 0 0 1\n";
	static const char w0[] = "default/b 0 2 0 0 0\ndefault/a 1 2 3 4 5\nnot a line\n"
				 "x/y 1 2 3\n";
	static const char w1[] = "other/c\\\"q 0 0 0 9 0\ndefault/a 0 1 0 0 0\nno-eol/z 1 1 1 1 1";
	const char *texts[] = { gone, w0, w1, NULL };
	size_t lens[] = { sizeof(gone) - 1, sizeof(w0) - 1, sizeof(w1) - 1, 0 };
	static const char want[] =
		"xgw_route_responses_total{namespace=\"default\",route=\"a\",code=\"1xx\"} 1\n"
		"xgw_route_responses_total{namespace=\"default\",route=\"a\",code=\"2xx\"} 3\n"
		"xgw_route_responses_total{namespace=\"default\",route=\"a\",code=\"3xx\"} 3\n"
		"xgw_route_responses_total{namespace=\"default\",route=\"a\",code=\"4xx\"} 4\n"
		"xgw_route_responses_total{namespace=\"default\",route=\"a\",code=\"5xx\"} 5\n"
		"xgw_route_responses_total{namespace=\"default\",route=\"b\",code=\"1xx\"} 0\n"
		"xgw_route_responses_total{namespace=\"default\",route=\"b\",code=\"2xx\"} 7\n"
		"xgw_route_responses_total{namespace=\"default\",route=\"b\",code=\"3xx\"} 0\n"
		"xgw_route_responses_total{namespace=\"default\",route=\"b\",code=\"4xx\"} 0\n"
		"xgw_route_responses_total{namespace=\"default\",route=\"b\",code=\"5xx\"} 1\n"
		"xgw_route_responses_total{namespace=\"other\",route=\"c\\\\\\\"q\",code=\"1xx\"} "
		"0\n";
	char *t = NULL;
	size_t len = 0;

	if (!ASSERT_OK(xgw_metrics_render_routes(texts, lens, 4, &t, &len), "render"))
		return;
	/* after the HELP and TYPE lines: a, then b, then other/c (escaped), nothing else */
	const char *body = strstr(t, "\nxgw_route_responses_total{");

	ASSERT_TRUE(body && !strncmp(body + 1, want, sizeof(want) - 1), "summed, ordered, escaped");
	if (body && strncmp(body + 1, want, sizeof(want) - 1))
		printf("# got:\n%s", body + 1);
	ASSERT_FALSE(strstr(t, "route=\"y\""), "a line with three counters is skipped");
	ASSERT_FALSE(strstr(t, "no-eol"), "a line without its newline is skipped");
	ASSERT_TRUE(has_line(t,
			     "xgw_route_responses_total{namespace=\"other\",route=\"c\\\\\\\"q\","
			     "code=\"4xx\"} 9"),
		    "other/c 4xx");
	free(t);
}

/* --metrics addresses: what listens, and what is refused as not ADDR:PORT. */
TEST(listen_addresses)
{
	static const char *const good[] = { "127.0.0.1:%d", "[::1]:%d", ":%d" };
	static const char *const bad[] = {
		"::1:9464",  "[127.0.0.1]:9464", "127.0.0.1", "localhost:80", ":0", ":65536",
		"[::1]9464", "1.2.3.4:80x",	 ""
	};
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	char addr[64];

	if (!ASSERT_TRUE(epfd >= 0, "epoll"))
		return;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct xgw_metrics *m = NULL;

		snprintf(addr, sizeof(addr), good[i], 20000 + (int)(getpid() % 20000));
		/* [::1] needs IPv6 on lo; the others must listen */
		int err = xgw_metrics__start(addr, epfd, 4, 1ull << 33, NULL, NULL, &m);

		if (err == -EADDRNOTAVAIL && i == 1)
			continue;
		ASSERT_OK(err, addr);
		xgw_metrics__stop(m);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xgw_metrics *m = NULL;

		ASSERT_EQ(xgw_metrics__start(bad[i], epfd, 4, 1ull << 33, NULL, NULL, &m), -EINVAL,
			  bad[i]);
	}
	close(epfd);
}

TEST_MAIN()
