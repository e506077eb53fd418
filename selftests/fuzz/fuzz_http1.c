// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * libFuzzer target for user/http1.c. One input goes through the request
 * parser, the response parser (after GET and after HEAD) and the chunked
 * scanner, in one piece and split, and the results must agree with each
 * other and stay inside the input. Built and run by run.sh.
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

static bool inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && n <= len && p - buf <= (ptrdiff_t)(len - n);
}

static void check_headers(const struct xgw_h1_header *h, size_t n, const char *buf, size_t len)
{
	CHECK(n <= XGW_H1_MAX_HEADERS);
	for (size_t i = 0; i < n; i++) {
		CHECK(h[i].name_len > 0);
		CHECK(inside(h[i].name, h[i].name_len, buf, len));
		CHECK(inside(h[i].value, h[i].value_len, buf, len));
		CHECK(h[i].value > h[i].name);
	}
}

static void check_request(const char *buf, size_t len)
{
	static struct xgw_h1_request req, again;
	int rc = xgw_h1_parse_request(buf, len, &req);

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
	check_headers(req.headers, req.n_headers, buf, (size_t)rc);

	/* Stateless: the head alone parses the same, and one byte less asks for more. */
	CHECK(xgw_h1_parse_request(buf, (size_t)rc, &again) == rc);
	CHECK(again.n_headers == req.n_headers && again.body == req.body);
	CHECK(xgw_h1_parse_request(buf, (size_t)rc - 1, &again) == 0);
}

static void check_response(const char *buf, size_t len, bool head)
{
	static struct xgw_h1_response resp;
	int rc = xgw_h1_parse_response(buf, len, head, &resp);

	if (rc <= 0) {
		CHECK(rc == 0 || rc == -502);
		return;
	}
	CHECK((size_t)rc <= len && rc <= XGW_H1_MAX_HEAD);
	CHECK(resp.status >= 100 && resp.status <= 999);
	CHECK(inside(resp.reason, resp.reason_len, buf, (size_t)rc));
	check_headers(resp.headers, resp.n_headers, buf, (size_t)rc);
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
