// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer target for user/http1.c. One input goes through the request
 * parser, the response parser (after GET and after HEAD) and the chunked
 * scanner, in one piece and split, and the results must agree with each
 * other and stay inside the input. The heads are parsed again by the
 * portable build of the parser (http1_ref.c), which must agree with this
 * one's scans (SSE2, or SSE4.2 with -msse4.2) field by field; each header's
 * id must be what comparing its name with the known names gives. Built and
 * run by run.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* http1_ref.c: the same parser with the portable scans. */
int ref_h1_parse_request(const char *buf, size_t len, struct xgw_h1_request *req);
int ref_h1_parse_response(const char *buf, size_t len, bool head_request,
			  struct xgw_h1_response *resp);

static const char *const known[XGW_H1_HDR_COUNT] = {
	[XGW_H1_HDR_HOST] = "host",
	[XGW_H1_HDR_CONTENT_LENGTH] = "content-length",
	[XGW_H1_HDR_TRANSFER_ENCODING] = "transfer-encoding",
	[XGW_H1_HDR_CONNECTION] = "connection",
	[XGW_H1_HDR_KEEP_ALIVE] = "keep-alive",
	[XGW_H1_HDR_PROXY_CONNECTION] = "proxy-connection",
	[XGW_H1_HDR_TE] = "te",
	[XGW_H1_HDR_UPGRADE] = "upgrade",
	[XGW_H1_HDR_EXPECT] = "expect",
	[XGW_H1_HDR_CONTENT_TYPE] = "content-type",
	[XGW_H1_HDR_COOKIE] = "cookie",
	[XGW_H1_HDR_ORIGIN] = "origin",
	[XGW_H1_HDR_FORWARDED] = "forwarded",
	[XGW_H1_HDR_X_FORWARDED_FOR] = "x-forwarded-for",
	[XGW_H1_HDR_X_FORWARDED_HOST] = "x-forwarded-host",
	[XGW_H1_HDR_X_FORWARDED_PROTO] = "x-forwarded-proto",
	[XGW_H1_HDR_ACR_METHOD] = "access-control-request-method",
	[XGW_H1_HDR_ACR_HEADERS] = "access-control-request-headers",
};

static unsigned ref_id(const char *name, size_t len)
{
	for (unsigned id = 1; id < XGW_H1_HDR_COUNT; id++)
		if (xgw_h1_name_eq(name, len, known[id]))
			return id;
	return XGW_H1_HDR_OTHER;
}

static bool same_headers(const struct xgw_h1_header *a, size_t na, const struct xgw_h1_header *b,
			 size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].name != b[i].name || a[i].name_len != b[i].name_len ||
		    a[i].value != b[i].value || a[i].value_len != b[i].value_len ||
		    a[i].id != b[i].id)
			return false;
	return true;
}

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && n <= len && p - buf <= (ptrdiff_t)(len - n);
}

static void check_headers(const struct xgw_h1_header *h, size_t n, uint32_t ids, const char *buf,
			  size_t len)
{
	uint32_t seen = 0;

	for (size_t i = 0; i < n; i++)
		seen |= XGW_H1_HDR_BIT(h[i].id);
	CHECK(ids == seen);
	CHECK(n <= XGW_H1_MAX_HEADERS);
	for (size_t i = 0; i < n; i++) {
		CHECK(h[i].name_len > 0);
		CHECK(inside(h[i].name, h[i].name_len, buf, len));
		CHECK(inside(h[i].value, h[i].value_len, buf, len));
		CHECK(h[i].value > h[i].name);
		CHECK(h[i].id == ref_id(h[i].name, h[i].name_len));
	}
}

static void check_request(const char *buf, size_t len)
{
	static struct xgw_h1_request req, again, ref;
	int rc = xgw_h1_parse_request(buf, len, &req);

	CHECK(ref_h1_parse_request(buf, len, &ref) == rc);
	if (rc > 0) {
		CHECK(ref.method == req.method && ref.method_len == req.method_len);
		CHECK(ref.target == req.target && ref.target_len == req.target_len);
		/* each build has its own static "/" for an absolute-form target without a path */
		CHECK(ref.path_len == req.path_len &&
		      (ref.path == req.path || (req.path_len == 1 && *ref.path == *req.path)));
		CHECK(ref.query == req.query && ref.query_len == req.query_len);
		CHECK(ref.host == req.host && ref.host_len == req.host_len);
		CHECK(ref.body == req.body && ref.content_length == req.content_length);
		CHECK(ref.keep_alive == req.keep_alive && ref.upgrade == req.upgrade &&
		      ref.expect_continue == req.expect_continue);
		CHECK(same_headers(ref.headers, ref.n_headers, req.headers, req.n_headers));
	}
	if (rc <= 0) {
		CHECK(rc == 0 || rc == -400 || rc == -414 || rc == -431 || rc == -501 ||
		      rc == -505);
		return;
	}
	CHECK((size_t)rc <= len && rc <= XGW_H1_MAX_HEAD);
	CHECK(inside(req.method, req.method_len, buf, (size_t)rc) && req.method_len);
	CHECK(inside(req.target, req.target_len, buf, (size_t)rc) && req.target_len);
	/* The one view allowed outside the buffer: "/" for an absolute-form target without path. */
	CHECK(inside(req.path, req.path_len, buf, (size_t)rc) ||
	      (req.path_len == 1 && req.path[0] == '/'));
	CHECK(!req.query || inside(req.query, req.query_len, buf, (size_t)rc));
	CHECK(!req.host || inside(req.host, req.host_len, buf, (size_t)rc));
	CHECK(req.host || req.minor_version == 0);
	CHECK(req.minor_version == 0 || req.minor_version == 1);
	CHECK(req.body == XGW_H1_BODY_NONE || req.body == XGW_H1_BODY_LENGTH ||
	      req.body == XGW_H1_BODY_CHUNKED);
	CHECK(req.body == XGW_H1_BODY_LENGTH || req.content_length == 0);
	CHECK(req.content_length <= (uint64_t)INT64_MAX);
	check_headers(req.headers, req.n_headers, req.hdr_ids, buf, (size_t)rc);

	/* Stateless: the head alone parses the same, and one byte less asks for more. */
	CHECK(xgw_h1_parse_request(buf, (size_t)rc, &again) == rc);
	CHECK(again.n_headers == req.n_headers && again.body == req.body);
	CHECK(xgw_h1_parse_request(buf, (size_t)rc - 1, &again) == 0);
}

static void check_response(const char *buf, size_t len, bool head)
{
	static struct xgw_h1_response resp, ref;
	int rc = xgw_h1_parse_response(buf, len, head, &resp);

	CHECK(ref_h1_parse_response(buf, len, head, &ref) == rc);
	if (rc > 0) {
		CHECK(ref.status == resp.status && ref.reason == resp.reason &&
		      ref.reason_len == resp.reason_len);
		CHECK(ref.body == resp.body && ref.content_length == resp.content_length &&
		      ref.keep_alive == resp.keep_alive);
		CHECK(same_headers(ref.headers, ref.n_headers, resp.headers, resp.n_headers));
	}

	if (rc <= 0) {
		CHECK(rc == 0 || rc == -502);
		return;
	}
	CHECK((size_t)rc <= len && rc <= XGW_H1_MAX_HEAD);
	CHECK(resp.status >= 100 && resp.status <= 999);
	CHECK(inside(resp.reason, resp.reason_len, buf, (size_t)rc));
	check_headers(resp.headers, resp.n_headers, resp.hdr_ids, buf, (size_t)rc);
	CHECK(resp.body != XGW_H1_BODY_EOF || !resp.keep_alive);
	if (head || resp.status < 200 || resp.status == 204 || resp.status == 304)
		CHECK(resp.body == XGW_H1_BODY_NONE);
	CHECK(xgw_h1_parse_response(buf, (size_t)rc - 1, head, &resp) == 0);
}

/* Whole, split at <split>, and (for small inputs) byte by byte: same verdict, same end. */
static void check_chunked(const char *buf, size_t len, size_t split)
{
	struct xgw_h1_chunked c = {};
	size_t end, consumed, total;
	int rc, rc2;

	rc = xgw_h1_chunked_scan(&c, buf, len, &end);
	CHECK(rc >= -1 && rc <= 1);
	CHECK(end <= len);
	CHECK(rc != 0 || end == len);
	CHECK(rc != -1 || end < len);
	/* Done and error are sticky and consume nothing more. */
	rc2 = xgw_h1_chunked_scan(&c, buf, len, &consumed);
	CHECK(rc == 0 || (rc2 == rc && consumed == 0));

	c = (struct xgw_h1_chunked){};
	rc2 = xgw_h1_chunked_scan(&c, buf, split, &total);
	CHECK(total <= split);
	if (rc2 == 0) {
		rc2 = xgw_h1_chunked_scan(&c, buf + split, len - split, &consumed);
		total += consumed;
	}
	CHECK(rc2 == rc && total == end);

	if (len > 4096)
		return;
	c = (struct xgw_h1_chunked){};
	total = 0;
	rc2 = 0;
	for (size_t i = 0; i < len && rc2 == 0; i++) {
		rc2 = xgw_h1_chunked_scan(&c, buf + i, 1, &consumed);
		total += consumed;
	}
	CHECK(rc2 == rc && total == end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so that ASan flags any read past <size>. */
	char *buf = malloc(size ? size : 1);
	size_t split = 0;
	struct xgw_h1_request req;
	int rc;

	memcpy(buf, data, size);
	check_request(buf, size);
	check_response(buf, size, false);
	check_response(buf, size, true);

	if (size)
		split = ((size_t)data[0] << 8 | data[size - 1]) % (size + 1);
	check_chunked(buf, size, split);

	/* A chunked request's body, to reach the data and trailer states behind valid heads. */
	rc = xgw_h1_parse_request(buf, size, &req);
	if (rc > 0 && req.body == XGW_H1_BODY_CHUNKED) {
		size_t n = size - (size_t)rc;

		check_chunked(buf + rc, n, split % (n + 1));
	}
	free(buf);
	return 0;
}
