// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * user/http1.c: request and response heads, chunked framing. Tables of
 * {input, expected result}; every valid input is also fed at every split
 * point, as a reader that gets the bytes in two reads would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "test.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Every prefix is parsed from its own allocation, so that a read past the end shows under ASan. */
static int parse_req(const char *s, size_t len, struct xgw_h1_request *req)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, s, len);
	rc = xgw_h1_parse_request(copy, len, req);
	/* Point the views back into <s> so the caller can compare them after free(). */
	if (rc > 0) {
		ptrdiff_t d = s - copy;

#define REBASE(f)                                                                                  \
	do {                                                                                       \
		if (req->f && req->f >= copy && req->f < copy + len)                               \
			req->f += d;                                                               \
	} while (0)
		REBASE(method);
		REBASE(target);
		REBASE(path);
		REBASE(query);
		REBASE(host);
		for (size_t i = 0; i < req->n_headers; i++) {
			req->headers[i].name += d;
			req->headers[i].value += d;
		}
#undef REBASE
	}
	free(copy);
	return rc;
}

/* Both start-line parsers see the bytes again at every prefix and must ask for more. */
static bool request_prefixes_incomplete(const char *s, size_t head_len, const char *what)
{
	struct xgw_h1_request req;

	for (size_t k = 0; k < head_len; k++) {
		int rc = parse_req(s, k, &req);

		if (rc != 0) {
			TEST_FAIL_("%s: prefix of %zu bytes returned %d", what, k, rc);
			return false;
		}
	}
	return true;
}

static const char *hdr_value(const struct xgw_h1_header *h, size_t n, const char *name, size_t *len)
{
	for (size_t i = 0; i < n; i++) {
		if (xgw_h1_name_eq(h[i].name, h[i].name_len, name)) {
			*len = h[i].value_len;
			return h[i].value;
		}
	}
	return NULL;
}

/* ---- valid requests ---- */

struct req_ok {
	const char *name;
	const char *raw;
	size_t head_len; /* 0: strlen(raw) */
	const char *method, *target, *path, *query, *host;
	int minor;
	enum xgw_h1_body body;
	uint64_t cl;
	bool keep_alive, expect, upgrade;
	size_t n_headers;
};

#define H "Host: example.com\r\n"

static const struct req_ok req_basic[] = {
	{ "get", "GET / HTTP/1.1\r\n" H "\r\n", 0, "GET", "/", "/", NULL, "example.com", 1,
	  XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "query", "GET /a/b?x=1&y HTTP/1.1\r\n" H "\r\n", 0, "GET", "/a/b?x=1&y", "/a/b", "x=1&y",
	  "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "empty query", "GET /a? HTTP/1.1\r\n" H "\r\n", 0, "GET", "/a?", "/a", "", "example.com",
	  1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "query with slashes and ?", "GET /p?a=/b?c HTTP/1.1\r\n" H "\r\n", 0, "GET", "/p?a=/b?c",
	  "/p", "a=/b?c", "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "extension method", "PURGE /x HTTP/1.1\r\n" H "\r\n", 0, "PURGE", "/x", "/x", NULL,
	  "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "utf-8 path bytes", "GET /caf\xc3\xa9 HTTP/1.1\r\n" H "\r\n", 0, "GET", "/caf\xc3\xa9",
	  "/caf\xc3\xa9", NULL, "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "options asterisk", "OPTIONS * HTTP/1.1\r\n" H "\r\n", 0, "OPTIONS", "*", "*", NULL,
	  "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "leading empty line", "\r\nGET / HTTP/1.1\r\n" H "\r\n", 0, "GET", "/", "/", NULL,
	  "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "host with port", "GET / HTTP/1.1\r\nHost: a.b:8080\r\n\r\n", 0, "GET", "/", "/", NULL,
	  "a.b:8080", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "host ipv6", "GET / HTTP/1.1\r\nHost: [fd00::1]:80\r\n\r\n", 0, "GET", "/", "/", NULL,
	  "[fd00::1]:80", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "host with OWS", "GET / HTTP/1.1\r\nHost:\t a.b \t\r\n\r\n", 0, "GET", "/", "/", NULL,
	  "a.b", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "host lower-case name", "GET / HTTP/1.1\r\nhOsT: a.b\r\n\r\n", 0, "GET", "/", "/", NULL,
	  "a.b", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "pipelined: head length stops at the head",
	  "GET / HTTP/1.1\r\n" H "\r\nGET /2 HTTP/1.1\r\n",
	  sizeof("GET / HTTP/1.1\r\n" H "\r\n") - 1, "GET", "/", "/", NULL, "example.com", 1,
	  XGW_H1_BODY_NONE, 0, true, false, false, 1 },
};

static const struct req_ok req_body[] = {
	{ "content-length", "POST /u HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello",
	  sizeof("POST /u HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\n") - 1, "POST", "/u", "/u",
	  NULL, "example.com", 1, XGW_H1_BODY_LENGTH, 5, true, false, false, 2 },
	{ "content-length 0", "POST / HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n", 0, "POST", "/",
	  "/", NULL, "example.com", 1, XGW_H1_BODY_LENGTH, 0, true, false, false, 2 },
	{ "content-length INT64_MAX",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 9223372036854775807\r\n\r\n", 0, "POST", "/",
	  "/", NULL, "example.com", 1, XGW_H1_BODY_LENGTH, 9223372036854775807ULL, true, false,
	  false, 2 },
	{ "content-length leading zeros", "POST / HTTP/1.1\r\n" H "Content-Length: 007\r\n\r\n", 0,
	  "POST", "/", "/", NULL, "example.com", 1, XGW_H1_BODY_LENGTH, 7, true, false, false, 2 },
	{ "identical duplicate content-length",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\ncontent-length: 5\r\n\r\n", 0, "POST", "/",
	  "/", NULL, "example.com", 1, XGW_H1_BODY_LENGTH, 5, true, false, false, 3 },
	{ "content-length list of equal values",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 5 ,5\r\n\r\n", 0, "POST", "/", "/", NULL,
	  "example.com", 1, XGW_H1_BODY_LENGTH, 5, true, false, false, 2 },
	{ "chunked", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n", 0, "POST", "/",
	  "/", NULL, "example.com", 1, XGW_H1_BODY_CHUNKED, 0, true, false, false, 2 },
	{ "chunked any case", "POST / HTTP/1.1\r\n" H "transfer-encoding: ChUnKeD\r\n\r\n", 0,
	  "POST", "/", "/", NULL, "example.com", 1, XGW_H1_BODY_CHUNKED, 0, true, false, false, 2 },
	{ "gzip, chunked", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n", 0,
	  "POST", "/", "/", NULL, "example.com", 1, XGW_H1_BODY_CHUNKED, 0, true, false, false, 2 },
	{ "expect 100-continue",
	  "PUT / HTTP/1.1\r\n" H "Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n", 0, "PUT", "/",
	  "/", NULL, "example.com", 1, XGW_H1_BODY_LENGTH, 3, true, true, false, 3 },
	{ "expect other value", "PUT / HTTP/1.1\r\n" H "Expect: 200-ok\r\n\r\n", 0, "PUT", "/", "/",
	  NULL, "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, false, 2 },
	{ "expect ignored in 1.0", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", 0, "PUT", "/",
	  "/", NULL, NULL, 0, XGW_H1_BODY_NONE, 0, false, false, false, 1 },
};

static const struct req_ok req_conn[] = {
	{ "1.1 default keep-alive", "GET / HTTP/1.1\r\n" H "\r\n", 0, "GET", "/", "/", NULL,
	  "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "1.1 close", "GET / HTTP/1.1\r\n" H "Connection: close\r\n\r\n", 0, "GET", "/", "/", NULL,
	  "example.com", 1, XGW_H1_BODY_NONE, 0, false, false, false, 2 },
	{ "1.1 close in a list", "GET / HTTP/1.1\r\n" H "Connection: foo,, Close \r\n\r\n", 0,
	  "GET", "/", "/", NULL, "example.com", 1, XGW_H1_BODY_NONE, 0, false, false, false, 2 },
	{ "1.1 close wins over keep-alive",
	  "GET / HTTP/1.1\r\n" H "Connection: keep-alive\r\nConnection: close\r\n\r\n", 0, "GET",
	  "/", "/", NULL, "example.com", 1, XGW_H1_BODY_NONE, 0, false, false, false, 3 },
	{ "1.0 default close, no host needed", "GET / HTTP/1.0\r\n\r\n", 0, "GET", "/", "/", NULL,
	  NULL, 0, XGW_H1_BODY_NONE, 0, false, false, false, 0 },
	{ "1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, "GET", "/", "/",
	  NULL, NULL, 0, XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "1.0 keep-alive with host", "GET / HTTP/1.0\r\n" H "Connection: x, keep-alive\r\n\r\n", 0,
	  "GET", "/", "/", NULL, "example.com", 0, XGW_H1_BODY_NONE, 0, true, false, false, 2 },
	{ "1.0 content-length", "POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n", 0, "POST", "/", "/",
	  NULL, NULL, 0, XGW_H1_BODY_LENGTH, 2, false, false, false, 1 },
	{ "upgrade websocket",
	  "GET /ws HTTP/1.1\r\n" H "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
	  0, "GET", "/ws", "/ws", NULL, "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, true,
	  3 },
	{ "upgrade header without connection token", "GET / HTTP/1.1\r\n" H "Upgrade: h2c\r\n\r\n",
	  0, "GET", "/", "/", NULL, "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, false, 2 },
	{ "connection upgrade without upgrade header",
	  "GET / HTTP/1.1\r\n" H "Connection: upgrade\r\n\r\n", 0, "GET", "/", "/", NULL,
	  "example.com", 1, XGW_H1_BODY_NONE, 0, true, false, false, 2 },
	{ "upgrade ignored in 1.0", "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n",
	  0, "GET", "/", "/", NULL, NULL, 0, XGW_H1_BODY_NONE, 0, false, false, false, 2 },
};

static const struct req_ok req_absolute[] = {
	{ "absolute-form", "GET http://a.example:8080/p/q?x=1 HTTP/1.1\r\nHost: other\r\n\r\n", 0,
	  "GET", "http://a.example:8080/p/q?x=1", "/p/q", "x=1", "a.example:8080", 1,
	  XGW_H1_BODY_NONE, 0, true, false, false, 1 },
	{ "absolute-form https, upper-case scheme", "GET HTTPS://a.example/ HTTP/1.1\r\n" H "\r\n",
	  0, "GET", "HTTPS://a.example/", "/", NULL, "a.example", 1, XGW_H1_BODY_NONE, 0, true,
	  false, false, 1 },
	{ "absolute-form without path", "GET http://a.example HTTP/1.1\r\n" H "\r\n", 0, "GET",
	  "http://a.example", "/", NULL, "a.example", 1, XGW_H1_BODY_NONE, 0, true, false, false,
	  1 },
	{ "absolute-form query without path", "GET http://a.example?k HTTP/1.1\r\n" H "\r\n", 0,
	  "GET", "http://a.example?k", "/", "k", "a.example", 1, XGW_H1_BODY_NONE, 0, true, false,
	  false, 1 },
	{ "absolute-form in 1.0 without host", "GET http://[::1]:81/x HTTP/1.0\r\n\r\n", 0, "GET",
	  "http://[::1]:81/x", "/x", NULL, "[::1]:81", 0, XGW_H1_BODY_NONE, 0, false, false, false,
	  0 },
};

static bool check_req_ok(const struct req_ok *c)
{
	size_t len = c->head_len ? c->head_len : strlen(c->raw);
	size_t raw_len = strlen(c->raw);
	struct xgw_h1_request req;
	int rc = parse_req(c->raw, raw_len, &req);
	bool ok = true;

	if (!ASSERT_EQ(rc, (int)len, c->name))
		return false;
	ok &= ASSERT_MEMSTR(req.method, req.method_len, c->method, c->name);
	ok &= ASSERT_MEMSTR(req.target, req.target_len, c->target, c->name);
	ok &= ASSERT_MEMSTR(req.path, req.path_len, c->path, c->name);
	if (c->query)
		ok &= ASSERT_MEMSTR(req.query, req.query_len, c->query, c->name);
	else
		ok &= ASSERT_TRUE(req.query == NULL, c->name);
	if (c->host)
		ok &= ASSERT_MEMSTR(req.host, req.host_len, c->host, c->name);
	else
		ok &= ASSERT_TRUE(req.host == NULL && req.host_len == 0, c->name);
	ok &= ASSERT_EQ(req.minor_version, c->minor, c->name);
	ok &= ASSERT_EQ(req.body, c->body, c->name);
	ok &= ASSERT_EQ(req.content_length, c->cl, c->name);
	ok &= ASSERT_EQ(req.keep_alive, c->keep_alive, c->name);
	ok &= ASSERT_EQ(req.expect_continue, c->expect, c->name);
	ok &= ASSERT_EQ(req.upgrade, c->upgrade, c->name);
	ok &= ASSERT_EQ(req.n_headers, c->n_headers, c->name);
	ok &= request_prefixes_incomplete(c->raw, len, c->name);
	return ok;
}

static void run_req_ok(const struct req_ok *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_req_ok(&cases[i]);
}

TEST(request_basic)
{
	run_req_ok(req_basic, ARRAY_SIZE(req_basic));
}

TEST(request_body_framing)
{
	run_req_ok(req_body, ARRAY_SIZE(req_body));
}

TEST(request_connection)
{
	run_req_ok(req_conn, ARRAY_SIZE(req_conn));
}

TEST(request_absolute_form)
{
	run_req_ok(req_absolute, ARRAY_SIZE(req_absolute));
}

TEST(request_header_views)
{
	static const char raw[] = "GET / HTTP/1.1\r\n"
				  "Host: h\r\n"
				  "X-Trim: \t a  b \t\r\n"
				  "X-Empty:\r\n"
				  "X-Empty-OWS:   \r\n"
				  "X-Obs: caf\xc3\xa9 \x80\xff\r\n"
				  "X-Tab: a\tb\r\n"
				  "!#$%&'*+-.^_`|~09Az: tchar name\r\n"
				  "\r\n";
	static const char *const want[][2] = {
		{ "Host", "h" },
		{ "X-Trim", "a  b" },
		{ "X-Empty", "" },
		{ "X-Empty-OWS", "" },
		{ "X-Obs", "caf\xc3\xa9 \x80\xff" },
		{ "X-Tab", "a\tb" },
		{ "!#$%&'*+-.^_`|~09Az", "tchar name" },
	};
	struct xgw_h1_request req;
	size_t vlen;
	const char *v;

	if (!ASSERT_EQ(xgw_h1_parse_request(raw, sizeof(raw) - 1, &req), sizeof(raw) - 1, "parse"))
		return;
	if (!ASSERT_EQ(req.n_headers, ARRAY_SIZE(want), "n_headers"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		ASSERT_MEMSTR(req.headers[i].name, req.headers[i].name_len, want[i][0], "name");
		ASSERT_MEMSTR(req.headers[i].value, req.headers[i].value_len, want[i][1],
			      want[i][0]);
		ASSERT_TRUE(req.headers[i].name >= raw && req.headers[i].value <= raw + sizeof(raw),
			    "views point into the buffer");
	}
	v = hdr_value(req.headers, req.n_headers, "x-trim", &vlen);
	ASSERT_MEMSTR(v, vlen, "a  b", "lookup by lower-case name");
}

/* ---- rejected requests ---- */

struct req_bad {
	const char *name;
	const char *raw;
	size_t len; /* 0: strlen(raw) */
	int rc;
};

static void run_req_bad(const struct req_bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct req_bad *c = &cases[i];
		struct xgw_h1_request req;
		size_t len = c->len ? c->len : strlen(c->raw);

		ASSERT_EQ(parse_req(c->raw, len, &req), c->rc, c->name);
	}
}

static const struct req_bad bad_request_line[] = {
	{ "lower-case version", "GET / http/1.1\r\n" H "\r\n", 0, -400 },
	{ "version without minor", "GET / HTTP/1\r\n" H "\r\n", 0, -400 },
	{ "two-digit major", "GET / HTTP/11.1\r\n" H "\r\n", 0, -400 },
	{ "two-digit minor", "GET / HTTP/1.11\r\n" H "\r\n", 0, -400 },
	{ "HTTP/0.9 style line", "GET /\r\n\r\n", 0, -400 },
	{ "HTTP/2.0", "GET / HTTP/2.0\r\n" H "\r\n", 0, -505 },
	{ "HTTP/1.2", "GET / HTTP/1.2\r\n" H "\r\n", 0, -505 },
	{ "HTTP/0.9", "GET / HTTP/0.9\r\n" H "\r\n", 0, -505 },
	{ "HTTP/3.0", "GET / HTTP/3.0\r\n" H "\r\n", 0, -505 },
	{ "h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, -505 },
	{ "trailing SP after version", "GET / HTTP/1.1 \r\n" H "\r\n", 0, -400 },
	{ "double SP before target", "GET  / HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "double SP before version", "GET /  HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "HTAB separator", "GET\t/ HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "leading SP", " GET / HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "method not a token", "G(T / HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "method with obs-text", "G\xc3\xa9T / HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "target with CTL", "GET /a\x01 HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "target with DEL", "GET /a\x7f HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "target with NUL", "GET /a\0b HTTP/1.1\r\n" H "\r\n",
	  sizeof("GET /a\0b HTTP/1.1\r\n" H "\r\n") - 1, -400 },
	{ "target with fragment", "GET /a#f HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "relative target", "GET a/b HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "asterisk with GET", "GET * HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "CONNECT", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 0, -501 },
	{ "absolute-form ftp", "GET ftp://a/ HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "absolute-form userinfo", "GET http://u:p@a/ HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "absolute-form empty authority", "GET http:///x HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "absolute-form bad port", "GET http://a:x/ HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "bare CR in request line", "GET /\r HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "bare CR ending request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 0, -400 },
	{ "bare LF ending request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 0, -400 },
	{ "all bare LF", "GET / HTTP/1.1\nHost: a\n\n", 0, -400 },
	{ "two leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "leading bare LF", "\nGET / HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "leading bare CR", "\rGET / HTTP/1.1\r\n" H "\r\n", 0, -400 },
	{ "tls client hello, early", "\x16\x03\x01\x02\x00\x01", 0, -400 },
	{ "unfinished request line is not an error", "GET / HT", 0, 0 },
	{ "early reject of bad version", "GET / HTTP/X", 0, -400 },
};

static const struct req_bad bad_fields[] = {
	{ "obs-fold", "GET / HTTP/1.1\r\n" H "X-A: b\r\n c\r\n\r\n", 0, -400 },
	{ "obs-fold with HTAB", "GET / HTTP/1.1\r\n" H "X-A: b\r\n\tc\r\n\r\n", 0, -400 },
	{ "whitespace before the first header", "GET / HTTP/1.1\r\n " H "\r\n", 0, -400 },
	{ "SP between name and colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, -400 },
	{ "HTAB between name and colon", "GET / HTTP/1.1\r\n" H "X-A\t: a\r\n\r\n", 0, -400 },
	{ "SP in name", "GET / HTTP/1.1\r\n" H "X A: a\r\n\r\n", 0, -400 },
	{ "separator in name", "GET / HTTP/1.1\r\n" H "X(A): a\r\n\r\n", 0, -400 },
	{ "obs-text in name", "GET / HTTP/1.1\r\n" H "X\xc3\xa9: a\r\n\r\n", 0, -400 },
	{ "empty name", "GET / HTTP/1.1\r\n" H ": a\r\n\r\n", 0, -400 },
	{ "no colon", "GET / HTTP/1.1\r\n" H "X-A\r\n\r\n", 0, -400 },
	{ "CTL in value", "GET / HTTP/1.1\r\n" H "X-A: a\x01z\r\n\r\n", 0, -400 },
	{ "DEL in value", "GET / HTTP/1.1\r\n" H "X-A: a\x7fz\r\n\r\n", 0, -400 },
	{ "NUL in value", "GET / HTTP/1.1\r\n" H "X-A: a\0z\r\n\r\n",
	  sizeof("GET / HTTP/1.1\r\n" H "X-A: a\0z\r\n\r\n") - 1, -400 },
	{ "CTL in a long value (word scan)",
	  "GET / HTTP/1.1\r\n" H "X-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x0b"
	  "aaaaaaaaaaaaaaaaaaaa\r\n\r\n",
	  0, -400 },
	{ "bare CR in value", "GET / HTTP/1.1\r\n" H "X-A: a\rb\r\n\r\n", 0, -400 },
	{ "bare CR ending a header", "GET / HTTP/1.1\r\n" H "X-A: a\rX-B: b\r\n\r\n", 0, -400 },
	{ "bare LF ending a header", "GET / HTTP/1.1\r\n" H "X-A: a\nX-B: b\r\n\r\n", 0, -400 },
	{ "bare LF ending the head", "GET / HTTP/1.1\r\n" H "\n", 0, -400 },
	{ "bare CR ending the head", "GET / HTTP/1.1\r\n" H "\rX", 0, -400 },
};

static const struct req_bad bad_host[] = {
	{ "missing host in 1.1", "GET / HTTP/1.1\r\nX-A: a\r\n\r\n", 0, -400 },
	{ "two host lines", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, -400 },
	{ "two identical host lines", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 0, -400 },
	{ "empty host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 0, -400 },
	{ "host with SP", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, -400 },
	{ "host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 0, -400 },
	{ "host with path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 0, -400 },
	{ "host port too big", "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", 0, -400 },
	{ "host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 0, -400 },
	{ "host unclosed ipv6", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 0, -400 },
	{ "invalid host in 1.0 still rejected", "GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 0, -400 },
};

static const struct req_bad bad_cl[] = {
	{ "CL then TE",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	  -400 },
	{ "TE then CL",
	  "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 0,
	  -400 },
	{ "differing CL lines",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 0, -400 },
	{ "differing CL list", "POST / HTTP/1.1\r\n" H "Content-Length: 5, 6\r\n\r\n", 0, -400 },
	{ "CL list with empty member", "POST / HTTP/1.1\r\n" H "Content-Length: 5,,5\r\n\r\n", 0,
	  -400 },
	{ "CL empty", "POST / HTTP/1.1\r\n" H "Content-Length: \r\n\r\n", 0, -400 },
	{ "CL non-digit", "POST / HTTP/1.1\r\n" H "Content-Length: 5a\r\n\r\n", 0, -400 },
	{ "CL negative", "POST / HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n", 0, -400 },
	{ "CL plus sign", "POST / HTTP/1.1\r\n" H "Content-Length: +5\r\n\r\n", 0, -400 },
	{ "CL hex", "POST / HTTP/1.1\r\n" H "Content-Length: 0x5\r\n\r\n", 0, -400 },
	{ "CL inner space", "POST / HTTP/1.1\r\n" H "Content-Length: 1 2\r\n\r\n", 0, -400 },
	{ "CL above INT64_MAX",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 9223372036854775808\r\n\r\n", 0, -400 },
	{ "CL uint64 overflow",
	  "POST / HTTP/1.1\r\n" H "Content-Length: 18446744073709551621\r\n\r\n", 0, -400 },
};

static const struct req_bad bad_te[] = {
	{ "TE chunked, gzip", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n", 0,
	  -400 },
	{ "TE gzip only", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n", 0, -400 },
	{ "TE chunked twice", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n",
	  0, -400 },
	{ "TE unknown", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: foo\r\n\r\n", 0, -501 },
	{ "TE identity", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: identity\r\n\r\n", 0, -501 },
	{ "TE unknown, chunked", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: foo, chunked\r\n\r\n",
	  0, -501 },
	{ "TE with parameter", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked;q=1\r\n\r\n", 0,
	  -400 },
	{ "TE empty", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: \r\n\r\n", 0, -400 },
	{ "TE empty member", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: , chunked\r\n\r\n", 0,
	  -400 },
	{ "TE trailing comma", "POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked,\r\n\r\n", 0,
	  -400 },
	{ "TE vertical tab",
	  "POST / HTTP/1.1\r\n" H "Transfer-Encoding: \x0b"
	  "chunked\r\n\r\n",
	  0, -400 },
	{ "TE two lines",
	  "POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	  0, -400 },
	{ "TE chunked on two lines",
	  "POST / HTTP/1.1\r\n" H
	  "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	  0, -400 },
	{ "TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, -400 },
};

/* Garbage is refused as soon as it arrives, not after CRLFCRLF or the size limit. */
static const struct req_bad early[] = {
	{ "TLS client hello", "\x16\x03\x01", 0, -400 },
	{ "a response sent as a request", "HTTP/1.1 200 OK\r\n", 0, -400 },
	{ "version as soon as its 8 bytes are in", "GET / HTTP/3.0", 0, -505 },
	{ "bare LF after the request line", "GET / HTTP/1.1\n", 0, -400 },
	{ "SP in a header name", "GET / HTTP/1.1\r\n" H "X A", 0, -400 },
	{ "CTL in a header value", "GET / HTTP/1.1\r\n" H "X-A: \x01", 0, -400 },
	{ "bad content-length line", "GET / HTTP/1.1\r\n" H "Content-Length: x\r\n", 0, -400 },
	{ "second host line", "GET / HTTP/1.1\r\n" H "Host: b\r\n", 0, -400 },
	{ "unknown transfer coding", "POST / HTTP/1.1\r\nTransfer-Encoding: foo\r\n", 0, -501 },
	{ "obs-fold", "GET / HTTP/1.1\r\n" H "X: a\r\n\t", 0, -400 },
};

TEST(request_line_rejects)
{
	run_req_bad(bad_request_line, ARRAY_SIZE(bad_request_line));
}

TEST(request_field_rejects)
{
	run_req_bad(bad_fields, ARRAY_SIZE(bad_fields));
}

TEST(request_host_rejects)
{
	run_req_bad(bad_host, ARRAY_SIZE(bad_host));
}

TEST(request_content_length_rejects)
{
	run_req_bad(bad_cl, ARRAY_SIZE(bad_cl));
}

TEST(request_transfer_encoding_rejects)
{
	run_req_bad(bad_te, ARRAY_SIZE(bad_te));
}

TEST(request_errors_before_the_head_ends)
{
	run_req_bad(early, ARRAY_SIZE(early));
}

/* ---- limits ---- */

/*
 * "GET /aaa... HTTP/1.1\r\nHost: a\r\n\r\n" whose request line (CRLF excluded)
 * is <line_len> bytes; or, unfinished, just the first <line_len> bytes of a line.
 */
static char *long_line_request(size_t line_len, bool complete, size_t *len)
{
	static const char tail[] = " HTTP/1.1\r\nHost: a\r\n\r\n";
	size_t target = complete ? line_len - 13 : line_len - 4;
	char *s = malloc(line_len + sizeof(tail));

	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', target - 1);
	*len = 4 + target;
	if (complete) {
		memcpy(s + *len, tail, sizeof(tail));
		*len += sizeof(tail) - 1;
	}
	return s;
}

TEST(request_line_limit)
{
	struct xgw_h1_request req;
	size_t len;
	char *s;

	s = long_line_request(XGW_H1_MAX_REQUEST_LINE, true, &len);
	ASSERT_EQ(xgw_h1_parse_request(s, len, &req), (int)len, "line at the limit");
	ASSERT_EQ(req.target_len, XGW_H1_MAX_REQUEST_LINE - 13, "target length");
	free(s);
	s = long_line_request(XGW_H1_MAX_REQUEST_LINE + 1, true, &len);
	ASSERT_EQ(xgw_h1_parse_request(s, len, &req), -414, "line one byte over");
	free(s);
	s = long_line_request(XGW_H1_MAX_REQUEST_LINE + 1, false, &len);
	ASSERT_EQ(xgw_h1_parse_request(s, len, &req), 0, "unfinished line of limit + 1 bytes");
	s[len++] = 'a';
	ASSERT_EQ(xgw_h1_parse_request(s, len, &req), -414, "unfinished line past limit + CRLF");
	free(s);
	s = long_line_request(XGW_H1_MAX_REQUEST_LINE - 200, false, &len);
	ASSERT_EQ(xgw_h1_parse_request(s, len, &req), 0, "long unfinished line below the limit");
	free(s);
}

/* A request whose head is exactly <head_len> bytes, padded by one long X header. */
static char *sized_request(size_t head_len, size_t *len)
{
	static const char start[] = "GET / HTTP/1.1\r\nHost: a\r\n";
	size_t pad = head_len - (sizeof(start) - 1) - 2;
	char *s = malloc(head_len), *p = s;

	memcpy(p, start, sizeof(start) - 1);
	p += sizeof(start) - 1;
	memcpy(p, "X:", 2);
	memset(p + 2, 'v', pad - 4);
	memcpy(p + pad - 2, "\r\n\r\n", 4);
	*len = head_len;
	return s;
}

TEST(request_head_limit)
{
	struct xgw_h1_request req;
	size_t len;
	char *s;

	s = sized_request(XGW_H1_MAX_HEAD, &len);
	ASSERT_EQ(xgw_h1_parse_request(s, len, &req), XGW_H1_MAX_HEAD, "head at the limit");
	ASSERT_EQ(xgw_h1_parse_request(s, len - 1, &req), 0, "head at the limit, one short");
	free(s);
	s = sized_request(XGW_H1_MAX_HEAD + 1, &len);
	ASSERT_EQ(xgw_h1_parse_request(s, len, &req), -431, "head one byte over");
	ASSERT_EQ(xgw_h1_parse_request(s, XGW_H1_MAX_HEAD, &req), -431,
		  "unfinished head of limit bytes");
	ASSERT_EQ(xgw_h1_parse_request(s, XGW_H1_MAX_HEAD - 1, &req), 0,
		  "unfinished head below the limit");
	free(s);
}

static char *many_headers(size_t n, size_t *len)
{
	char *s = malloc(64 + n * 16), *p = s;

	p += sprintf(p, "GET / HTTP/1.1\r\n");
	for (size_t i = 0; i < n; i++)
		p += i ? sprintf(p, "X-%zu: v\r\n", i) : sprintf(p, "Host: a\r\n");
	p += sprintf(p, "\r\n");
	*len = (size_t)(p - s);
	return s;
}

TEST(request_header_count_limit)
{
	struct xgw_h1_request req;
	size_t len;
	char *s;

	s = many_headers(XGW_H1_MAX_HEADERS, &len);
	ASSERT_EQ(xgw_h1_parse_request(s, len, &req), (int)len, "at the limit");
	ASSERT_EQ(req.n_headers, XGW_H1_MAX_HEADERS, "n_headers");
	ASSERT_MEMSTR(req.headers[XGW_H1_MAX_HEADERS - 1].name,
		      req.headers[XGW_H1_MAX_HEADERS - 1].name_len, "X-99", "last name");
	free(s);
	s = many_headers(XGW_H1_MAX_HEADERS + 1, &len);
	ASSERT_EQ(xgw_h1_parse_request(s, len, &req), -431, "one over");
	free(s);
}

/* Every prefix of a stream of pipelined requests parses as 0, then each head in turn. */
TEST(request_pipelined_stream)
{
	static const char raw[] = "\r\nPOST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
				  "GET /b?c HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
	struct xgw_h1_request req;
	size_t off = 0;
	int rc;

	rc = xgw_h1_parse_request(raw + off, sizeof(raw) - 1 - off, &req);
	if (!ASSERT_GT(rc, 0, "first head"))
		return;
	ASSERT_EQ(req.body, XGW_H1_BODY_LENGTH, "first body");
	off += (size_t)rc + req.content_length;
	rc = xgw_h1_parse_request(raw + off, sizeof(raw) - 1 - off, &req);
	ASSERT_EQ(rc, sizeof(raw) - 1 - off, "second head");
	ASSERT_MEMSTR(req.path, req.path_len, "/b", "second path");
	ASSERT_FALSE(req.keep_alive, "second closes");
}

/* ---- responses ---- */

struct resp_case {
	const char *name;
	const char *raw;
	bool head;
	int rc; /* 0: strlen(raw); < 0 an error */
	int status;
	const char *reason;
	int minor;
	enum xgw_h1_body body;
	uint64_t cl;
	bool keep_alive;
};

static const struct resp_case resp_ok[] = {
	{ "content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, 0, 200, "OK", 1,
	  XGW_H1_BODY_LENGTH, 5, true },
	{ "chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0, 200, "OK",
	  1, XGW_H1_BODY_CHUNKED, 0, true },
	{ "gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, 0,
	  200, "OK", 1, XGW_H1_BODY_CHUNKED, 0, true },
	{ "chunked on two lines",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", false,
	  0, 200, "OK", 1, XGW_H1_BODY_CHUNKED, 0, true },
	{ "chunked not last: read to close",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, br\r\n\r\n", false, 0, 200, "OK", 1,
	  XGW_H1_BODY_EOF, 0, false },
	{ "unknown coding only: read to close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\n\r\n",
	  false, 0, 200, "OK", 1, XGW_H1_BODY_EOF, 0, false },
	{ "no framing: read to close", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", false, 0, 200, "OK",
	  1, XGW_H1_BODY_EOF, 0, false },
	{ "HEAD with content-length", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, 0, 200,
	  "OK", 1, XGW_H1_BODY_NONE, 99, true },
	{ "HEAD with chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, 0,
	  200, "OK", 1, XGW_H1_BODY_NONE, 0, true },
	{ "HEAD without framing", "HTTP/1.1 200 OK\r\n\r\n", true, 0, 200, "OK", 1,
	  XGW_H1_BODY_NONE, 0, true },
	{ "204", "HTTP/1.1 204 No Content\r\n\r\n", false, 0, 204, "No Content", 1,
	  XGW_H1_BODY_NONE, 0, true },
	{ "304 with content-length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	  false, 0, 304, "Not Modified", 1, XGW_H1_BODY_NONE, 10, true },
	{ "100 continue", "HTTP/1.1 100 Continue\r\n\r\n", false, 0, 100, "Continue", 1,
	  XGW_H1_BODY_NONE, 0, true },
	{ "101 switching",
	  "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
	  false, 0, 101, "Switching Protocols", 1, XGW_H1_BODY_NONE, 0, true },
	{ "1.1 close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false,
	  0, 200, "OK", 1, XGW_H1_BODY_LENGTH, 0, false },
	{ "1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, 0, 200, "OK",
	  0, XGW_H1_BODY_LENGTH, 1, false },
	{ "1.0 keep-alive",
	  "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", false, 0, 200,
	  "OK", 0, XGW_H1_BODY_LENGTH, 1, true },
	{ "1.0 keep-alive without length", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n",
	  false, 0, 200, "OK", 0, XGW_H1_BODY_EOF, 0, false },
	{ "reason with spaces and obs-text",
	  "HTTP/1.1 404 Not \xc3\xa9 Found\t\r\nContent-Length: 0\r\n\r\n", false, 0, 404,
	  "Not \xc3\xa9 Found\t", 1, XGW_H1_BODY_LENGTH, 0, true },
	{ "empty reason", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", false, 0, 200, "", 1,
	  XGW_H1_BODY_LENGTH, 0, true },
	{ "no SP before empty reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, 0, 200,
	  "", 1, XGW_H1_BODY_LENGTH, 0, true },
	{ "status 999", "HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", false, 0, 999, "Odd", 1,
	  XGW_H1_BODY_LENGTH, 0, true },
	{ "duplicate equal content-length",
	  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\n", false, 0, 200,
	  "OK", 1, XGW_H1_BODY_LENGTH, 3, true },
};

static const struct resp_case resp_bad[] = {
	{ "two-digit status", "HTTP/1.1 20 OK\r\n\r\n", false, -502 },
	{ "four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", false, -502 },
	{ "status below 100", "HTTP/1.1 099 X\r\n\r\n", false, -502 },
	{ "no SP before reason", "HTTP/1.1 200OK\r\n\r\n", false, -502 },
	{ "HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", false, -502 },
	{ "HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", false, -502 },
	{ "ICY", "ICY 200 OK\r\n\r\n", false, -502 },
	{ "garbage, early", "<html>", false, -502 },
	{ "CTL in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", false, -502 },
	{ "bare LF status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", false, -502 },
	{ "bare LF header", "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", false, -502 },
	{ "CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	  false, -502 },
	{ "CL and TE on HEAD",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", true,
	  -502 },
	{ "TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, -502 },
	{ "chunked twice",
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	  false, -502 },
	{ "differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
	  false, -502 },
	{ "invalid CL", "HTTP/1.1 200 OK\r\nContent-Length: three\r\n\r\n", false, -502 },
	{ "obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n", false, -502 },
	{ "SP before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", false, -502 },
	{ "bare CR in value", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", false, -502 },
};

static int parse_resp(const char *s, size_t len, bool head, struct xgw_h1_response *resp)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, s, len);
	rc = xgw_h1_parse_response(copy, len, head, resp);
	if (rc > 0 && resp->reason)
		resp->reason = s + (resp->reason - copy);
	free(copy);
	return rc;
}

TEST(response_framing)
{
	for (size_t i = 0; i < ARRAY_SIZE(resp_ok); i++) {
		const struct resp_case *c = &resp_ok[i];
		struct xgw_h1_response resp;
		size_t len = strlen(c->raw);

		if (!ASSERT_EQ(parse_resp(c->raw, len, c->head, &resp), (int)len, c->name))
			continue;
		ASSERT_EQ(resp.status, c->status, c->name);
		ASSERT_MEMSTR(resp.reason, resp.reason_len, c->reason, c->name);
		ASSERT_EQ(resp.minor_version, c->minor, c->name);
		ASSERT_EQ(resp.body, c->body, c->name);
		ASSERT_EQ(resp.content_length, c->cl, c->name);
		ASSERT_EQ(resp.keep_alive, c->keep_alive, c->name);
		for (size_t k = 0; k < len; k++) {
			int rc = parse_resp(c->raw, k, c->head, &resp);

			if (rc != 0) {
				TEST_FAIL_("%s: prefix %zu returned %d", c->name, k, rc);
				break;
			}
		}
	}
}

TEST(response_rejects)
{
	for (size_t i = 0; i < ARRAY_SIZE(resp_bad); i++) {
		const struct resp_case *c = &resp_bad[i];
		struct xgw_h1_response resp;

		ASSERT_EQ(parse_resp(c->raw, strlen(c->raw), c->head, &resp), c->rc, c->name);
	}
}

TEST(response_limits)
{
	struct xgw_h1_response resp;
	size_t len;
	char *s = many_headers(XGW_H1_MAX_HEADERS + 1, &len);

	/* Reuse the request generators: swap the request line for a status line as long. */
	memcpy(s, "HTTP/1.1 200 X\r\n", 16);
	ASSERT_EQ(xgw_h1_parse_response(s, len, false, &resp), -502, "too many headers");
	free(s);
	s = sized_request(XGW_H1_MAX_HEAD + 1, &len);
	memcpy(s, "HTTP/1.1 200 X\r\n", 16);
	ASSERT_EQ(xgw_h1_parse_response(s, len, false, &resp), -502, "head too big");
	ASSERT_EQ(xgw_h1_parse_response(s, XGW_H1_MAX_HEAD, false, &resp), -502,
		  "unfinished head at the limit");
	free(s);
}

/* ---- chunked ---- */

struct chunk_case {
	const char *name;
	const char *raw;
	size_t len; /* 0: strlen(raw) */
	int rc;
	size_t consumed; /* where the body ends (rc 1) or the error byte is (rc -1) */
};

#define BODY_END(s) (sizeof(s) - 1)

static const struct chunk_case chunk_ok[] = {
	{ "last chunk only", "0\r\n\r\n", 0, 1, 5 },
	{ "one chunk", "5\r\nhello\r\n0\r\n\r\n", 0, 1, 15 },
	{ "two chunks, hex sizes", "A\r\n0123456789\r\nb\r\nhello world\r\n0\r\n\r\n", 0, 1,
	  BODY_END("A\r\n0123456789\r\nb\r\nhello world\r\n0\r\n\r\n") },
	{ "leading zeros", "0005\r\nhello\r\n000\r\n\r\n", 0, 1,
	  BODY_END("0005\r\nhello\r\n000\r\n\r\n") },
	{ "extensions", "5;a=1;b\r\nhello\r\n0;last=\"x y\"\r\n\r\n", 0, 1,
	  BODY_END("5;a=1;b\r\nhello\r\n0;last=\"x y\"\r\n\r\n") },
	{ "BWS before extension", "5 \t;a=b\r\nhello\r\n0\r\n\r\n", 0, 1,
	  BODY_END("5 \t;a=b\r\nhello\r\n0\r\n\r\n") },
	{ "trailers", "3\r\nabc\r\n0\r\nX-T: 1\r\nEmpty:\r\n\r\n", 0, 1,
	  BODY_END("3\r\nabc\r\n0\r\nX-T: 1\r\nEmpty:\r\n\r\n") },
	{ "data holding CRLF and 0", "5\r\n0\r\n\r\n\r\n0\r\n\r\n", 0, 1, 15 },
	{ "next request follows", "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 0, 1, 11 },
	{ "size 2^62 is allowed", "4000000000000000\r\n", 0, 0, 18 },
	{ "unfinished data", "5\r\nhel", 0, 0, 6 },
	{ "unfinished trailer", "0\r\nX: y\r\n", 0, 0, 9 },
};

static const struct chunk_case chunk_bad[] = {
	{ "empty size", "\r\n", 0, -1, 0 },
	{ "non-hex size", "x\r\n", 0, -1, 0 },
	{ "0x prefix", "0x5\r\nhello\r\n", 0, -1, 1 },
	{ "negative", "-1\r\n", 0, -1, 0 },
	{ "plus sign", "+1\r\n", 0, -1, 0 },
	{ "leading SP", " 5\r\n", 0, -1, 0 },
	{ "trailing SP without extension", "5 \r\nhello\r\n", 0, -1, 2 },
	{ "bare LF after size", "5\nhello\r\n", 0, -1, 1 },
	{ "CR CR after size", "5\r\rhello\r\n", 0, -1, 2 },
	{ "data too long", "5\r\nhelloX\r\n", 0, -1, 8 },
	{ "data then LF", "5\r\nhello\n0\r\n\r\n", 0, -1, 8 },
	{ "data then CR X", "5\r\nhello\rX", 0, -1, 9 },
	{ "size over 2^62", "4000000000000001\r\n", 0, -1, 15 },
	{ "size 2^64", "10000000000000000\r\n", 0, -1, 16 },
	{ "CTL in extension", "5;a\x01\r\nhello\r\n", 0, -1, 3 },
	{ "bare LF in extension", "5;a\nb\r\nhello\r\n", 0, -1, 3 },
	{ "trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", 0, -1, 9 },
	{ "trailer SP before colon", "0\r\nX : a\r\n\r\n", 0, -1, 4 },
	{ "trailer without colon", "0\r\nX\r\n\r\n", 0, -1, 4 },
	{ "trailer bare LF", "0\r\nX: a\n\r\n", 0, -1, 7 },
	{ "trailer CTL", "0\r\nX: a\x02\r\n\r\n", 0, -1, 7 },
	{ "final bare LF", "0\r\n\n", 0, -1, 3 },
	{ "final CR CR", "0\r\n\r\r", 0, -1, 4 },
};

/* One call; then byte by byte; then two calls at every split point. All must agree. */
static bool check_chunked(const struct chunk_case *c)
{
	size_t len = c->len ? c->len : strlen(c->raw), consumed, total;
	struct xgw_h1_chunked st = {};
	int rc = xgw_h1_chunked_scan(&st, c->raw, len, &consumed);

	if (!ASSERT_EQ(rc, c->rc, c->name) || !ASSERT_EQ(consumed, c->consumed, c->name))
		return false;

	st = (struct xgw_h1_chunked){};
	total = 0;
	rc = 0;
	for (size_t i = 0; i < len && rc == 0; i++) {
		rc = xgw_h1_chunked_scan(&st, c->raw + i, 1, &consumed);
		total += consumed;
		if (rc == 0 && !ASSERT_EQ(consumed, 1, c->name))
			return false;
	}
	if (!ASSERT_EQ(rc, c->rc, "byte by byte") || !ASSERT_EQ(total, c->consumed, c->name))
		return false;

	for (size_t k = 0; k <= len; k++) {
		int rc2;

		st = (struct xgw_h1_chunked){};
		rc = xgw_h1_chunked_scan(&st, c->raw, k, &consumed);
		total = consumed;
		if (rc == 0) {
			rc2 = xgw_h1_chunked_scan(&st, c->raw + k, len - k, &consumed);
			total += consumed;
		} else {
			rc2 = rc;
		}
		if (rc2 != c->rc || total != c->consumed) {
			TEST_FAIL_("%s: split at %zu: rc %d consumed %zu", c->name, k, rc2, total);
			return false;
		}
	}
	return true;
}

TEST(chunked_valid)
{
	for (size_t i = 0; i < ARRAY_SIZE(chunk_ok); i++)
		check_chunked(&chunk_ok[i]);
}

TEST(chunked_invalid)
{
	for (size_t i = 0; i < ARRAY_SIZE(chunk_bad); i++)
		check_chunked(&chunk_bad[i]);
}

TEST(chunked_sticky_states)
{
	struct xgw_h1_chunked st = {};
	size_t consumed;

	ASSERT_EQ(xgw_h1_chunked_scan(&st, "0\r\n\r\n", 5, &consumed), 1, "done");
	ASSERT_EQ(xgw_h1_chunked_scan(&st, "5\r\n", 3, &consumed), 1, "stays done");
	ASSERT_EQ(consumed, 0, "consumes nothing once done");
	st = (struct xgw_h1_chunked){};
	ASSERT_EQ(xgw_h1_chunked_scan(&st, "z", 1, &consumed), -1, "error");
	ASSERT_EQ(xgw_h1_chunked_scan(&st, "0\r\n\r\n", 5, &consumed), -1, "stays in error");
	st = (struct xgw_h1_chunked){};
	ASSERT_EQ(xgw_h1_chunked_scan(&st, "", 0, &consumed), 0, "empty input");
	ASSERT_EQ(consumed, 0, "empty input consumes nothing");
}

TEST(chunked_large_data_is_skipped_not_scanned)
{
	size_t n = 1 << 20, consumed;
	char *buf = malloc(n);
	struct xgw_h1_chunked st = {};

	memset(buf, '\n', n); /* data bytes are not looked at */
	ASSERT_EQ(xgw_h1_chunked_scan(&st, "100000\r\n", 8, &consumed), 0, "size line");
	ASSERT_EQ(xgw_h1_chunked_scan(&st, buf, n, &consumed), 0, "1 MiB of data");
	ASSERT_EQ(consumed, n, "all data consumed");
	ASSERT_EQ(xgw_h1_chunked_scan(&st, "\r\n0\r\n\r\nX", 8, &consumed), 1, "end");
	ASSERT_EQ(consumed, 7, "end consumed");
	free(buf);
}

TEST(chunked_line_limits)
{
	static char buf[8192];
	struct xgw_h1_chunked st = {};
	size_t consumed, n = 0;
	int rc = 0;

	/* "1;" + extension up to a 4096-byte line is fine; one more byte is not. */
	buf[0] = '1';
	buf[1] = ';';
	memset(buf + 2, 'e', 4094);
	memcpy(buf + 4096, "\r\nx\r\n0\r\n\r\n", 10);
	ASSERT_EQ(xgw_h1_chunked_scan(&st, buf, 4106, &consumed), 1, "4096-byte size line");
	ASSERT_EQ(consumed, 4106, "consumed");
	st = (struct xgw_h1_chunked){};
	memset(buf + 2, 'e', 4095);
	memcpy(buf + 4097, "\r\n", 2);
	ASSERT_EQ(xgw_h1_chunked_scan(&st, buf, 4099, &consumed), -1, "4097-byte size line");
	ASSERT_EQ(consumed, 4096, "error at the 4097th byte");

	/* Trailer lines have the same bound; the whole trailer section is bounded too. */
	st = (struct xgw_h1_chunked){};
	xgw_h1_chunked_scan(&st, "0\r\n", 3, &consumed);
	memcpy(buf, "X:", 2);
	memset(buf + 2, 'v', 4095);
	ASSERT_EQ(xgw_h1_chunked_scan(&st, buf, 4097, &consumed), -1, "4097-byte trailer line");
	st = (struct xgw_h1_chunked){};
	xgw_h1_chunked_scan(&st, "0\r\n", 3, &consumed);
	memcpy(buf, "X:", 2);
	memset(buf + 2, 'v', 4000);
	memcpy(buf + 4002, "\r\n", 2);
	for (int i = 0; i < 5 && rc == 0; i++) {
		rc = xgw_h1_chunked_scan(&st, buf, 4004, &consumed);
		n += consumed;
	}
	ASSERT_EQ(rc, -1, "trailer section over XGW_H1_MAX_HEAD");
	ASSERT_EQ(n, XGW_H1_MAX_HEAD, "error where the section passes the bound");
}

/* ---- scans (SIMD and portable) and header ids ---- */

/* The RFC's classes, written out again here rather than taken from http1.c. */
static bool rfc_tchar(unsigned b)
{
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
	       (b && strchr("!#$%&'*+-.^_`|~", (int)b));
}

static bool rfc_vchar(unsigned b)
{
	return b == '\t' || (b >= 0x20 && b != 0x7f);
}

static bool rfc_tgtchar(unsigned b)
{
	return b > 0x20 && b != 0x7f && b != '#';
}

/*
 * A request whose request-target, one header name and its value have the
 * lengths given, followed by a pad header of <pad> bytes (so that the field
 * ends either within the last 16 bytes of the buffer or well before).
 * Returns the length; the name starts at *<name_at>, the value at
 * *<value_at>, the target at *<target_at>.
 */
static size_t scan_req(char *buf, size_t tlen, size_t nlen, size_t vlen, size_t pad,
		       size_t *target_at, size_t *name_at, size_t *value_at)
{
	size_t n = 0;

	memcpy(buf, "GET /", 5);
	n = 5;
	*target_at = 4;
	memset(buf + n, 't', tlen - 1);
	n += tlen - 1;
	memcpy(buf + n, " HTTP/1.1\r\nHost: a\r\nX", 21);
	*name_at = n + 20;
	n += 21;
	memset(buf + n, 'q', nlen - 1);
	n += nlen - 1;
	memcpy(buf + n, ": ", 2);
	n += 2;
	*value_at = n;
	memset(buf + n, 'v', vlen);
	n += vlen;
	memcpy(buf + n, "\r\n", 2);
	n += 2;
	if (pad) {
		memcpy(buf + n, "Pad: ", 5);
		memset(buf + n + 5, 'p', pad);
		n += 5 + pad;
		memcpy(buf + n, "\r\n", 2);
		n += 2;
	}
	memcpy(buf + n, "\r\n", 2);
	return n + 2;
}

/*
 * Every byte value at every position of the target, a header name and its
 * value, for lengths around the 8- and 16-byte strides of the scans: the
 * head parses exactly when the RFC's class holds the byte (a ':' in a name
 * past its first byte ends the name early, which is still a valid line).
 */
TEST(scan_every_byte_at_every_position)
{
	static const size_t lens[] = { 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48 };
	static const size_t pads[] = { 0, 40 };
	struct xgw_h1_request req;
	char buf[512];
	unsigned bad = 0;

	for (size_t li = 0; li < ARRAY_SIZE(lens); li++) {
		for (size_t pi = 0; pi < ARRAY_SIZE(pads); pi++) {
			size_t len = lens[li], ta, na, va;
			size_t n = scan_req(buf, len, len, len, pads[pi], &ta, &na, &va);
			int rc = parse_req(buf, n, &req);

			if (!ASSERT_EQ(rc, (int)n, "clean head") ||
			    !ASSERT_EQ(req.target_len, len, "target length") ||
			    !ASSERT_EQ(req.headers[1].name_len, len, "name length") ||
			    !ASSERT_EQ(req.headers[1].value_len, len, "value length"))
				return;
			for (size_t k = 0; k < 3 * len; k++) {
				size_t at = k < len	  ? ta + k
					    : k < 2 * len ? na + k - len
							  : va + k - 2 * len;

				for (unsigned b = 0; b < 256; b++) {
					char save = buf[at];
					bool want;

					if (k < len)
						want = k == 0 ? b == '/' : rfc_tgtchar(b);
					else if (k < 2 * len)
						want = rfc_tchar(b) || (b == ':' && k > len);
					else
						want = rfc_vchar(b);
					buf[at] = (char)b;
					rc = parse_req(buf, n, &req);
					buf[at] = save;
					if ((rc > 0) != want && bad++ < 10)
						TEST_FAIL_("length %zu pad %zu, byte 0x%02x at %s "
							   "%zu: %d",
							   len, pads[pi], b,
							   k < len	 ? "target"
							   : k < 2 * len ? "name"
									 : "value",
							   k % len, rc);
					if (rc > 0 && (rc != (int)n || (k < len && b != '?' &&
									req.target_len != len)))
						bad++;
				}
			}
		}
	}
	ASSERT_EQ(bad, 0, "bytes judged against the RFC classes");
}

/* The same for a response's reason phrase, which shares the value scan. */
TEST(scan_reason_every_byte)
{
	struct xgw_h1_response resp;
	char buf[256];
	unsigned bad = 0;

	for (size_t len = 1; len <= 40; len++) {
		size_t n = 0;
		int rc;

		memcpy(buf, "HTTP/1.1 200 ", 13);
		n = 13;
		memset(buf + n, 'r', len);
		n += len;
		memcpy(buf + n, "\r\nContent-Length: 0\r\n\r\n", 23);
		n += 23;
		rc = xgw_h1_parse_response(buf, n, false, &resp);
		if (!ASSERT_EQ(rc, (int)n, "clean head") ||
		    !ASSERT_EQ(resp.reason_len, len, "reason length"))
			return;
		for (size_t k = 0; k < len; k++) {
			for (unsigned b = 0; b < 256; b++) {
				buf[13 + k] = (char)b;
				rc = xgw_h1_parse_response(buf, n, false, &resp);
				if ((rc > 0) != rfc_vchar(b) && bad++ < 10)
					TEST_FAIL_("length %zu, byte 0x%02x at %zu: %d", len, b, k,
						   rc);
			}
			buf[13 + k] = 'r';
		}
	}
	ASSERT_EQ(bad, 0, "reason bytes judged against the RFC class");
}

/* Names the parser tells apart, as the enum says. */
static const struct {
	const char *name;
	unsigned id;
} known_names[] = {
	{ "Host", XGW_H1_HDR_HOST },
	{ "Content-Length", XGW_H1_HDR_CONTENT_LENGTH },
	{ "Transfer-Encoding", XGW_H1_HDR_TRANSFER_ENCODING },
	{ "Connection", XGW_H1_HDR_CONNECTION },
	{ "Keep-Alive", XGW_H1_HDR_KEEP_ALIVE },
	{ "Proxy-Connection", XGW_H1_HDR_PROXY_CONNECTION },
	{ "TE", XGW_H1_HDR_TE },
	{ "Upgrade", XGW_H1_HDR_UPGRADE },
	{ "Expect", XGW_H1_HDR_EXPECT },
	{ "Content-Type", XGW_H1_HDR_CONTENT_TYPE },
	{ "Cookie", XGW_H1_HDR_COOKIE },
	{ "Origin", XGW_H1_HDR_ORIGIN },
	{ "Forwarded", XGW_H1_HDR_FORWARDED },
	{ "X-Forwarded-For", XGW_H1_HDR_X_FORWARDED_FOR },
	{ "X-Forwarded-Host", XGW_H1_HDR_X_FORWARDED_HOST },
	{ "X-Forwarded-Proto", XGW_H1_HDR_X_FORWARDED_PROTO },
	{ "Access-Control-Request-Method", XGW_H1_HDR_ACR_METHOD },
	{ "Access-Control-Request-Headers", XGW_H1_HDR_ACR_HEADERS },
};

TEST(header_ids)
{
	char name[64];

	ASSERT_EQ(ARRAY_SIZE(known_names), XGW_H1_HDR_COUNT - 1, "every id has a name");
	for (size_t i = 0; i < ARRAY_SIZE(known_names); i++) {
		const char *n = known_names[i].name;
		size_t len = strlen(n);

		ASSERT_EQ(xgw_h1_header_id(n, len), known_names[i].id, n);
		for (size_t k = 0; k < len; k++)
			name[k] = (char)(n[k] >= 'a' && n[k] <= 'z' ? n[k] - 32 : n[k]);
		ASSERT_EQ(xgw_h1_header_id(name, len), known_names[i].id, "upper case");
		for (size_t k = 0; k < len; k++)
			name[k] = (char)(n[k] >= 'A' && n[k] <= 'Z' ? n[k] + 32 : n[k]);
		ASSERT_EQ(xgw_h1_header_id(name, len), known_names[i].id, "lower case");
		/* One byte changed anywhere, to any other tchar: another name. */
		for (size_t k = 0; k < len; k++) {
			for (unsigned b = 1; b < 256; b++) {
				char save = name[k];

				if (!rfc_tchar(b) || (b | 0x20) == ((unsigned)save | 0x20))
					continue;
				name[k] = (char)b;
				if (xgw_h1_header_id(name, len) != XGW_H1_HDR_OTHER)
					TEST_FAIL_("%s with 0x%02x at %zu is known", n, b, k);
				name[k] = save;
			}
		}
		/* One byte shorter or longer: another name. */
		ASSERT_EQ(xgw_h1_header_id(name, len - 1), XGW_H1_HDR_OTHER, "shorter");
		name[len] = 's';
		ASSERT_EQ(xgw_h1_header_id(name, len + 1), XGW_H1_HDR_OTHER, "longer");
	}
	ASSERT_EQ(xgw_h1_header_id("Accept", 6), XGW_H1_HDR_OTHER, "accept");
	ASSERT_EQ(xgw_h1_header_id("User-Agent", 10), XGW_H1_HDR_OTHER, "user-agent");
	ASSERT_EQ(xgw_h1_header_id("Content_Length", 14), XGW_H1_HDR_OTHER, "'_' is not '-'");
	ASSERT_EQ(xgw_h1_header_id("Hos[", 4), XGW_H1_HDR_OTHER, "'[' is not a case of '{'");
}

/* The parsers hand out the ids with the lines, requests and responses alike. */
TEST(header_ids_parsed)
{
	static const char raw[] = "POST / HTTP/1.1\r\nhost: a\r\nCONTENT-length: 3\r\n"
				  "x-forwarded-FOR: 1.2.3.4\r\nAccept: */*\r\ncookie: a=b\r\n\r\n";
	static const char rraw[] =
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		"Keep-Alive: timeout=5\r\nServer: x\r\nContent-Length: 0\r\n\r\n";
	static const unsigned ids[] = { XGW_H1_HDR_HOST, XGW_H1_HDR_CONTENT_LENGTH,
					XGW_H1_HDR_X_FORWARDED_FOR, XGW_H1_HDR_OTHER,
					XGW_H1_HDR_COOKIE };
	static const unsigned rids[] = { XGW_H1_HDR_CONTENT_TYPE, XGW_H1_HDR_KEEP_ALIVE,
					 XGW_H1_HDR_OTHER, XGW_H1_HDR_CONTENT_LENGTH };
	struct xgw_h1_request req;
	struct xgw_h1_response resp;

	if (!ASSERT_EQ(parse_req(raw, sizeof(raw) - 1, &req), (int)sizeof(raw) - 1, "request") ||
	    !ASSERT_EQ(req.n_headers, ARRAY_SIZE(ids), "request headers"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		ASSERT_EQ(req.headers[i].id, ids[i], "request header id");
	ASSERT_EQ(req.hdr_ids,
		  XGW_H1_HDR_BIT(XGW_H1_HDR_HOST) | XGW_H1_HDR_BIT(XGW_H1_HDR_CONTENT_LENGTH) |
			  XGW_H1_HDR_BIT(XGW_H1_HDR_X_FORWARDED_FOR) |
			  XGW_H1_HDR_BIT(XGW_H1_HDR_OTHER) | XGW_H1_HDR_BIT(XGW_H1_HDR_COOKIE),
		  "request id set");
	if (!ASSERT_EQ(xgw_h1_parse_response(rraw, sizeof(rraw) - 1, false, &resp),
		       (int)sizeof(rraw) - 1, "response") ||
	    !ASSERT_EQ(resp.n_headers, ARRAY_SIZE(rids), "response headers"))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(rids); i++)
		ASSERT_EQ(resp.headers[i].id, rids[i], "response header id");
	ASSERT_EQ(resp.hdr_ids,
		  XGW_H1_HDR_BIT(XGW_H1_HDR_CONTENT_TYPE) | XGW_H1_HDR_BIT(XGW_H1_HDR_KEEP_ALIVE) |
			  XGW_H1_HDR_BIT(XGW_H1_HDR_OTHER) |
			  XGW_H1_HDR_BIT(XGW_H1_HDR_CONTENT_LENGTH),
		  "response id set");
}

/* Connection tokens are compared by length and a word at a time. */
TEST(connection_tokens)
{
	static const struct {
		const char *value;
		bool keep_alive; /* of an HTTP/1.0 request */
		bool upgrade;
	} cases[] = {
		{ "keep-alive", true, false },
		{ "KEEP-ALIVE", true, false },
		{ "keep-alivex", false, false },
		{ "keep_alive", false, false },
		{ "close, keep-alive", false, false },
		{ "Upgrade", false, true },
		{ "upgradE ,keep-Alive", true, true },
		{ "upgrades", false, false },
		{ "clos", false, false },
	};
	char raw[256];
	struct xgw_h1_request req;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int n = snprintf(raw, sizeof(raw),
				 "GET / HTTP/1.0\r\nConnection: %s\r\nUpgrade: x\r\n\r\n",
				 cases[i].value);

		if (!ASSERT_EQ(parse_req(raw, (size_t)n, &req), n, cases[i].value))
			continue;
		ASSERT_EQ(req.keep_alive, cases[i].keep_alive, cases[i].value);
		/* HTTP/1.0 ignores Upgrade: ask again in 1.1 */
		n = snprintf(raw, sizeof(raw),
			     "GET / HTTP/1.1\r\nHost: a\r\nConnection: %s\r\nUpgrade: x\r\n\r\n",
			     cases[i].value);
		if (ASSERT_EQ(parse_req(raw, (size_t)n, &req), n, cases[i].value))
			ASSERT_EQ(req.upgrade, cases[i].upgrade, cases[i].value);
	}
}

TEST(versions)
{
	static const struct {
		const char *v;
		int rc; /* 1: parses */
	} cases[] = {
		{ "HTTP/1.1", 1 },     { "HTTP/1.0", 1 },    { "HTTP/1.2", -505 },
		{ "HTTP/2.0", -505 },  { "HTTP/0.9", -505 }, { "http/1.1", -400 },
		{ "HTTP/1.x", -400 },  { "HTTP/11", -400 },  { "HTTP/1.1 ", -400 },
		{ "HTTPS/1.1", -400 },
	};
	char raw[128];
	struct xgw_h1_request req;

	ASSERT_TRUE(strcmp(xgw_h1_simd(), "") != 0, xgw_h1_simd());
	printf("# scans: %s\n", xgw_h1_simd());
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int n = snprintf(raw, sizeof(raw), "GET / %s\r\nHost: a\r\n\r\n", cases[i].v);
		int rc = parse_req(raw, (size_t)n, &req);

		ASSERT_EQ(cases[i].rc == 1 ? rc == n : rc == cases[i].rc, true, cases[i].v);
	}
}

/* ---- helpers ---- */

TEST(name_eq)
{
	ASSERT_TRUE(xgw_h1_name_eq("Content-Length", 14, "content-length"), "mixed case");
	ASSERT_TRUE(xgw_h1_name_eq("HOST", 4, "host"), "upper case");
	ASSERT_FALSE(xgw_h1_name_eq("Hos", 3, "host"), "shorter");
	ASSERT_FALSE(xgw_h1_name_eq("Hosts", 5, "host"), "longer");
	ASSERT_FALSE(xgw_h1_name_eq("Host", 4, "hosx"), "different");
	ASSERT_TRUE(xgw_h1_name_eq("", 0, ""), "empty");
	ASSERT_FALSE(xgw_h1_name_eq("[", 1, "{"), "'[' is not a case of '{'");
	ASSERT_FALSE(xgw_h1_name_eq("@", 1, "`"), "'@' is not a case of '`'");
}

TEST(reason_phrases)
{
	ASSERT_STREQ(xgw_h1_reason(200), "OK", "200");
	ASSERT_STREQ(xgw_h1_reason(404), "Not Found", "404");
	ASSERT_STREQ(xgw_h1_reason(414), "URI Too Long", "414");
	ASSERT_STREQ(xgw_h1_reason(431), "Request Header Fields Too Large", "431");
	ASSERT_STREQ(xgw_h1_reason(502), "Bad Gateway", "502");
	ASSERT_STREQ(xgw_h1_reason(505), "HTTP Version Not Supported", "505");
	ASSERT_STREQ(xgw_h1_reason(299), "Unknown", "299");
	ASSERT_STREQ(xgw_h1_reason(-1), "Unknown", "-1");
}

TEST_MAIN()
