// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Proxy head rewriting (user/rewrite.c): what goes upstream and back to the client. */
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "http1.h"
#include "rewrite.h"

static const struct xgw_rw_req rw_default = {
	.xff_app = ", 192.0.2.7",
	.xff_app_len = 11,
	.xff_line = "X-Forwarded-For: 192.0.2.7\r\n",
	.xff_line_len = 28,
	.upgrade = false,
};

/* The bytes <x> would write, NUL-terminated, in <out> of <size> bytes. */
static const char *flatten(const struct xgw_xfer *x, char *out, size_t size)
{
	size_t n = 0;

	for (int i = x->iov_i; i < x->iov_n; i++) {
		if (n + x->iov[i].iov_len >= size)
			break;
		memcpy(out + n, x->iov[i].iov_base, x->iov[i].iov_len);
		n += x->iov[i].iov_len;
	}
	out[n] = '\0';
	return out;
}

static bool rewrite_req(const char *raw, const struct xgw_rw_req *rw, char *out, size_t size)
{
	static struct xgw_h1_request req;
	static struct xgw_xfer x;
	int len = xgw_h1_parse_request(raw, strlen(raw), &req);

	if (!ASSERT_EQ(len, strlen(raw), "parse request"))
		return false;
	if (!ASSERT_OK(xgw_rewrite_request(&x, &req, raw + len, rw), "rewrite request"))
		return false;
	flatten(&x, out, size);
	return true;
}

static bool rewrite_resp(const char *raw, enum xgw_conn_mode mode, char *out, size_t size)
{
	static struct xgw_h1_response resp;
	static struct xgw_xfer x;
	int len = xgw_h1_parse_response(raw, strlen(raw), false, &resp);

	if (!ASSERT_EQ(len, strlen(raw), "parse response"))
		return false;
	if (!ASSERT_OK(xgw_rewrite_response(&x, &resp, raw, raw + len, mode), "rewrite response"))
		return false;
	flatten(&x, out, size);
	return true;
}

TEST(request_minimal)
{
	char out[1024];

	if (!rewrite_req("GET /a?b HTTP/1.1\r\nHost: h.example\r\n\r\n", &rw_default, out,
			 sizeof(out)))
		return;
	ASSERT_STREQ(out,
		     "GET /a?b HTTP/1.1\r\nHost: h.example\r\n"
		     "Connection: keep-alive\r\n"
		     "X-Forwarded-For: 192.0.2.7\r\n"
		     "X-Forwarded-Proto: http\r\n"
		     "X-Forwarded-Host: h.example\r\n\r\n",
		     "rewritten");
}

TEST(request_hop_by_hop)
{
	char out[1024];

	if (!rewrite_req("POST /p HTTP/1.1\r\n"
			 "Host: h\r\n"
			 "Connection: keep-alive, X-Secret, host\r\n"
			 "X-Secret: s\r\n"
			 "Keep-Alive: timeout=5\r\n"
			 "Proxy-Connection: keep-alive\r\n"
			 "TE: trailers\r\n"
			 "Upgrade: h2c\r\n"
			 "X-Forwarded-Proto: https\r\n"
			 "Content-Length: 3\r\n"
			 "X-Keep: 1\r\n\r\n",
			 &rw_default, out, sizeof(out)))
		return;
	/* Host survives being named in Connection: it is never hop-by-hop. */
	ASSERT_STREQ(out,
		     "POST /p HTTP/1.1\r\n"
		     "Host: h\r\n"
		     "Content-Length: 3\r\n"
		     "X-Keep: 1\r\n"
		     "Connection: keep-alive\r\n"
		     "X-Forwarded-For: 192.0.2.7\r\n"
		     "X-Forwarded-Proto: http\r\n"
		     "X-Forwarded-Host: h\r\n\r\n",
		     "rewritten");
}

TEST(request_forwarded_headers_kept_and_appended)
{
	char out[1024];

	if (!rewrite_req("GET / HTTP/1.1\r\n"
			 "Host: h\r\n"
			 "X-Forwarded-For: 10.0.0.1\r\n"
			 "X-Forwarded-Host: orig.example\r\n"
			 "x-forwarded-for: 10.0.0.2  \r\n"
			 "Accept: */*\r\n\r\n",
			 &rw_default, out, sizeof(out)))
		return;
	ASSERT_STREQ(out,
		     "GET / HTTP/1.1\r\n"
		     "Host: h\r\n"
		     "X-Forwarded-For: 10.0.0.1\r\n"
		     "X-Forwarded-Host: orig.example\r\n"
		     "x-forwarded-for: 10.0.0.2, 192.0.2.7  \r\n"
		     "Accept: */*\r\n"
		     "Connection: keep-alive\r\n"
		     "X-Forwarded-Proto: http\r\n\r\n",
		     "append to the last X-Forwarded-For, keep X-Forwarded-Host");
}

TEST(request_empty_xff_replaced)
{
	char out[1024];

	if (!rewrite_req("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For:\r\n\r\n", &rw_default, out,
			 sizeof(out)))
		return;
	ASSERT_STREQ(out,
		     "GET / HTTP/1.1\r\nHost: h\r\n"
		     "Connection: keep-alive\r\n"
		     "X-Forwarded-For: 192.0.2.7\r\n"
		     "X-Forwarded-Proto: http\r\n"
		     "X-Forwarded-Host: h\r\n\r\n",
		     "rewritten");
}

TEST(request_leading_crlf_and_http10)
{
	char out[1024];

	if (!rewrite_req("\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &rw_default, out,
			 sizeof(out)))
		return;
	ASSERT_STREQ(out,
		     "GET / HTTP/1.0\r\n"
		     "Connection: keep-alive\r\n"
		     "X-Forwarded-For: 192.0.2.7\r\n"
		     "X-Forwarded-Proto: http\r\n\r\n",
		     "no Host, no X-Forwarded-Host");
}

TEST(request_upgrade_keeps_upgrade)
{
	struct xgw_rw_req rw = rw_default;
	char out[1024];

	rw.upgrade = true;
	if (!rewrite_req("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
			 "Upgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n",
			 &rw, out, sizeof(out)))
		return;
	ASSERT_STREQ(out,
		     "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n"
		     "Connection: upgrade\r\n"
		     "X-Forwarded-For: 192.0.2.7\r\n"
		     "X-Forwarded-Proto: http\r\n"
		     "X-Forwarded-Host: h\r\n\r\n",
		     "rewritten");
}

TEST(request_content_length_normalised)
{
	char out[1024];

	if (!rewrite_req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n"
			 "Content-Length: 5\r\n\r\n",
			 &rw_default, out, sizeof(out)))
		return;
	ASSERT_STREQ(out,
		     "POST / HTTP/1.1\r\nHost: h\r\n"
		     "Connection: keep-alive\r\n"
		     "X-Forwarded-For: 192.0.2.7\r\n"
		     "X-Forwarded-Proto: http\r\n"
		     "X-Forwarded-Host: h\r\n"
		     "Content-Length: 5\r\n\r\n",
		     "one Content-Length");
}

TEST(request_transfer_encoding_kept)
{
	char out[1024];

	if (!rewrite_req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
			 "Connection: Transfer-Encoding\r\n\r\n",
			 &rw_default, out, sizeof(out)))
		return;
	ASSERT_TRUE(strstr(out, "Transfer-Encoding: chunked\r\n") != NULL,
		    "framing survives Connection");
}

/* Alternating kept and removed lines: the most pieces a head can need. */
TEST(request_many_pieces)
{
	static char raw[16384], out[32768];
	size_t n = (size_t)sprintf(raw, "GET / HTTP/1.1\r\nHost: h\r\n");

	for (int i = 0; i < (XGW_H1_MAX_HEADERS - 1) / 2; i++)
		n += (size_t)sprintf(raw + n, "X-A%d: 1\r\nKeep-Alive: 1\r\n", i);
	strcpy(raw + n, "\r\n");
	if (!rewrite_req(raw, &rw_default, out, sizeof(out)))
		return;
	ASSERT_TRUE(strstr(out, "Keep-Alive") == NULL, "all Keep-Alive lines removed");
	ASSERT_TRUE(strstr(out, "X-A48: 1\r\n") != NULL, "last kept line");
}

TEST(response_keep_alive_and_close)
{
	static const char raw[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, "
				  "X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-Keep: 1\r\n\r\n";
	char out[1024];

	if (!rewrite_resp(raw, XGW_CONN_KEEP_ALIVE, out, sizeof(out)))
		return;
	ASSERT_STREQ(out,
		     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Keep: 1\r\n"
		     "Connection: keep-alive\r\n\r\n",
		     "keep-alive");
	if (!rewrite_resp(raw, XGW_CONN_CLOSE, out, sizeof(out)))
		return;
	ASSERT_STREQ(out,
		     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Keep: 1\r\n"
		     "Connection: close\r\n\r\n",
		     "close");
}

TEST(response_switching_protocols)
{
	char out[1024];

	if (!rewrite_resp("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\nSec-WebSocket-Accept: a\r\n\r\n",
			  XGW_CONN_UPGRADE, out, sizeof(out)))
		return;
	ASSERT_STREQ(out,
		     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		     "Sec-WebSocket-Accept: a\r\nConnection: upgrade\r\n\r\n",
		     "101");
}

TEST(local_responses)
{
	const struct xgw_lresp *r;

	xgw_rewrite_init();
	r = xgw_local_response(404, true);
	ASSERT_MEMSTR(r->data, r->len,
		      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
		      "Connection: keep-alive\r\n\r\n404 Not Found\n",
		      "404 keep-alive");
	ASSERT_MEMSTR(r->data + r->head_len, r->len - r->head_len, "404 Not Found\n", "body");
	r = xgw_local_response(503, false);
	ASSERT_TRUE(strstr(r->data, "Connection: close\r\n") != NULL, "503 close");
	r = xgw_local_response(299, false);
	ASSERT_TRUE(!strncmp(r->data, "HTTP/1.1 500 ", 13), "unknown status is 500");
}

TEST_MAIN()
