// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The gRPC side of user/h2up.c: which requests are gRPC, and the
 * trailers-only answers the gateway gives them instead of an HTTP error
 * (gRPC's "HTTP to gRPC Status Code Mapping"). The HTTP/2 streams themselves
 * are exercised end to end by selftests/e2e/e2e_h2up.sh.
 */
#include <stdio.h>
#include <string.h>

#include "test.h"

#include "h2up.h"
#include "http1.h"
#include "rewrite.h"

TEST(grpc_content_type)
{
	static const struct {
		const char *v;
		bool grpc;
	} cases[] = {
		{ "application/grpc", true },
		{ "application/grpc+proto", true },
		{ "application/grpc+json", true },
		{ "Application/GRPC", true },
		{ "application/grpc; charset=utf-8", true },
		{ "application/grpc-web", false }, /* a different protocol */
		{ "application/grpcx", false },
		{ "application/json", false },
		{ "application/grp", false },
		{ "", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ASSERT_EQ(xgw_grpc_content_type(cases[i].v, strlen(cases[i].v)), cases[i].grpc,
			  cases[i].v);
}

/* The value of header <name> in <r>, NUL-terminated in <out>, or "" */
static const char *header(const struct xgw_h1_response *r, const char *name, char *out, size_t size)
{
	out[0] = '\0';
	for (size_t i = 0; i < r->n_headers; i++)
		if (xgw_h1_name_eq(r->headers[i].name, r->headers[i].name_len, name))
			snprintf(out, size, "%.*s", (int)r->headers[i].value_len,
				 r->headers[i].value);
	return out;
}

TEST(grpc_local_response)
{
	static const struct {
		int http, grpc;
	} map[] = {
		{ 404, 12 }, /* no route: UNIMPLEMENTED */
		{ 500, 13 }, /* no backend: INTERNAL */
		{ 400, 13 }, { 401, 16 }, { 403, 7 },
		{ 429, 14 }, { 502, 14 }, /* upstream failure: UNAVAILABLE */
		{ 503, 14 },		  /* no endpoint: UNAVAILABLE */
		{ 504, 14 },		  /* timeout: UNAVAILABLE, as the mapping says */
		{ 431, 2 },		  /* anything else: UNKNOWN */
	};
	static struct xgw_h1_response resp;
	char v[128], want[8], what[64];

	xgw_rewrite_init();
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		for (int ka = 0; ka < 2; ka++) {
			const struct xgw_lresp *r = xgw_grpc_local_response(map[i].http, ka);
			int n;

			snprintf(what, sizeof(what), "HTTP %d, keep-alive %d", map[i].http, ka);
			if (!ASSERT_OK_PTR(r, what) || !ASSERT_GT(r->len, 0, what))
				continue;
			/* trailers-only: the head is the whole answer, and it parses */
			ASSERT_EQ(r->head_len, r->len, what);
			n = xgw_h1_parse_response(r->data, r->len, false, &resp);
			if (!ASSERT_EQ(n, (int)r->len, what))
				continue;
			ASSERT_EQ(resp.status, 200, what);
			ASSERT_EQ(resp.body, XGW_H1_BODY_LENGTH, what);
			ASSERT_EQ(resp.content_length, 0, what);
			ASSERT_EQ(resp.keep_alive, ka, what);
			ASSERT_STREQ(header(&resp, "content-type", v, sizeof(v)),
				     "application/grpc", what);
			snprintf(want, sizeof(want), "%d", map[i].grpc);
			ASSERT_STREQ(header(&resp, "grpc-status", v, sizeof(v)), want, what);
			ASSERT_TRUE(header(&resp, "grpc-message", v, sizeof(v))[0], what);
		}
	}
	/* asked again: the same laid-out answer */
	ASSERT_TRUE(xgw_grpc_local_response(404, true) == xgw_grpc_local_response(404, true),
		    "cached");
}

TEST_MAIN()
