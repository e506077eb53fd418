// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Proxy head rewriting (user/rewrite.c): what goes upstream and back to the client. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "xgw/snapshot.h"

#include "cors.h"
#include "http1.h"
#include "rewrite.h"
#include "router.h"

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
	if (!ASSERT_OK(xgw_rewrite_response(&x, &resp, raw, raw + len, mode, NULL),
		       "rewrite response"))
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

TEST(request_forwarded_rfc7239)
{
	struct xgw_rw_req rw = rw_default;
	char out[1024];

	rw.tls = true;
	rw.fwd = "Forwarded: for=192.0.2.7;proto=https";
	rw.fwd_len = strlen(rw.fwd);
	/* our element goes after the client's Forwarded lines, with the Host quoted */
	if (!rewrite_req("GET / HTTP/1.1\r\n"
			 "Host: h.example:8443\r\n"
			 "Forwarded: for=10.0.0.1;proto=http\r\n\r\n",
			 &rw, out, sizeof(out)))
		return;
	ASSERT_STREQ(out,
		     "GET / HTTP/1.1\r\n"
		     "Host: h.example:8443\r\n"
		     "Forwarded: for=10.0.0.1;proto=http\r\n"
		     "Connection: keep-alive\r\n"
		     "X-Forwarded-For: 192.0.2.7\r\n"
		     "X-Forwarded-Proto: https\r\n"
		     "X-Forwarded-Host: h.example:8443\r\n"
		     "Forwarded: for=192.0.2.7;proto=https;host=\"h.example:8443\"\r\n\r\n",
		     "Forwarded appended");
	/* a Host that a quoted-string would not carry safely is left out */
	if (!rewrite_req("GET / HTTP/1.1\r\nHost: a!b\r\n\r\n", &rw, out, sizeof(out)))
		return;
	ASSERT_TRUE(strstr(out, "Forwarded: for=192.0.2.7;proto=https\r\n") != NULL,
		    "no host parameter");
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

/* ---- HTTPRoute filters ---- */

/* A snapshot whose filters the tests add, and the router laying out their lines. */
struct ffix {
	struct xgw_snapb *b;
	void *buf;
	size_t len;
	struct xgw_snapshot snap;
	struct xgw_router *r;
	struct xgw_rw_filters flt;
};

static bool ffix_new(struct ffix *f)
{
	memset(f, 0, sizeof(*f));
	xgw_rewrite_init();
	f->b = xgw_snapb__new(1);
	return ASSERT_OK_PTR(f->b, "snapb new") &&
	       ASSERT_GE(xgw_snapb_rule(f->b, "ns/r", 0, 0, 0), 0, "rule");
}

/* Finish; the flt spans cover filters [0, n0) then [n0, n0 + n1). */
static bool ffix_finish(struct ffix *f, uint32_t n0, uint32_t n1)
{
	if (!ASSERT_OK(xgw_snapb__finish(f->b, &f->buf, &f->len), "finish") ||
	    !ASSERT_OK(xgw_snapshot__open(&f->snap, f->buf, f->len), "open"))
		return false;
	f->r = xgw_router__new(&f->snap, NULL);
	if (!ASSERT_OK_PTR(f->r, "router"))
		return false;
	f->flt = (struct xgw_rw_filters){
		.router = f->r, .first = { 0, n0 }, .count = { n0, n1 }, .listen_port = 80
	};
	return true;
}

static void ffix_free(struct ffix *f)
{
	xgw_router__free(f->r);
	xgw_snapb__free(f->b);
	free(f->buf);
}

static void hdr_filter(struct ffix *f, uint8_t type)
{
	struct xgw_snap_filter sf = { .type = type };

	xgw_snapb_filter(f->b, &sf, NULL, NULL, NULL);
}

static void rewrite_filter(struct ffix *f, const char *host, uint8_t mod, const char *path)
{
	struct xgw_snap_filter sf = { .type = XGW_FILTER_URL_REWRITE, .path_mod = mod };

	xgw_snapb_filter(f->b, &sf, NULL, host, path);
}

static const char std_tail[] = "Connection: keep-alive\r\n"
			       "X-Forwarded-For: 192.0.2.7\r\n"
			       "X-Forwarded-Proto: http\r\n";

TEST(filter_request_header_ops)
{
	struct xgw_rw_req rw = rw_default;
	struct ffix f;
	char out[2048], want[2048];

	if (!ffix_new(&f))
		goto out;
	hdr_filter(&f, XGW_FILTER_REQUEST_HEADER);
	xgw_snapb_hdrop(f.b, XGW_HDROP_SET, "x-SET", "new");
	xgw_snapb_hdrop(f.b, XGW_HDROP_ADD, "X-Add", "b");
	xgw_snapb_hdrop(f.b, XGW_HDROP_REMOVE, "X-RM", "");
	xgw_snapb_hdrop(f.b, XGW_HDROP_SET, "X-New", "n");
	xgw_snapb_hdrop(f.b, XGW_HDROP_ADD, "Connection", "evil");
	xgw_snapb_hdrop(f.b, XGW_HDROP_REMOVE, "content-length", "");
	xgw_snapb_hdrop(f.b, XGW_HDROP_SET, "Transfer-Encoding", "gzip");
	if (!ffix_finish(&f, 1, 0))
		goto out;
	rw.flt = &f.flt;
	if (!rewrite_req(
		    "POST /a HTTP/1.1\r\nHost: h\r\nX-Set: old\r\nx-set: old2\r\n"
		    "X-Add: a\r\nX-Rm: r\r\nContent-Length: 0\r\nx-RM: r2\r\nX-Keep: k\r\n\r\n",
		    &rw, out, sizeof(out)))
		goto out;
	snprintf(want, sizeof(want),
		 "POST /a HTTP/1.1\r\nHost: h\r\nX-Add: a\r\nContent-Length: 0\r\nX-Keep: k\r\n"
		 "x-SET: new\r\nX-New: n\r\nX-Add: b\r\n%sX-Forwarded-Host: h\r\n\r\n",
		 std_tail);
	ASSERT_STREQ(out, want,
		     "set replaces every line, add appends, remove removes all; "
		     "framing and hop-by-hop untouched");
out:
	ffix_free(&f);
}

/* Within one filter a header both set and removed is removed, whatever the op order. */
TEST(filter_set_add_remove_order_in_a_filter)
{
	struct xgw_rw_req rw = rw_default;
	struct ffix f;
	char out[2048], want[2048];

	if (!ffix_new(&f))
		goto out;
	hdr_filter(&f, XGW_FILTER_REQUEST_HEADER);
	xgw_snapb_hdrop(f.b, XGW_HDROP_REMOVE, "X-D", "");
	xgw_snapb_hdrop(f.b, XGW_HDROP_ADD, "X-E", "added");
	xgw_snapb_hdrop(f.b, XGW_HDROP_SET, "X-D", "new");
	xgw_snapb_hdrop(f.b, XGW_HDROP_SET, "X-E", "set");
	if (!ffix_finish(&f, 1, 0))
		goto out;
	rw.flt = &f.flt;
	if (!rewrite_req("GET / HTTP/1.1\r\nHost: h\r\nX-D: old\r\nX-E: old\r\n\r\n", &rw, out,
			 sizeof(out)))
		goto out;
	snprintf(want, sizeof(want),
		 "GET / HTTP/1.1\r\nHost: h\r\nX-E: set\r\nX-E: added\r\n%s"
		 "X-Forwarded-Host: h\r\n\r\n",
		 std_tail);
	ASSERT_STREQ(out, want, "set, add, then remove");
out:
	ffix_free(&f);
}

/* Names fold ASCII letters only: "^" and "~" differ by the case bit yet are other names. */
TEST(filter_header_names_fold_letters_only)
{
	struct xgw_rw_req rw = rw_default;
	struct ffix f;
	char out[2048];

	if (!ffix_new(&f))
		goto out;
	hdr_filter(&f, XGW_FILTER_REQUEST_HEADER);
	xgw_snapb_hdrop(f.b, XGW_HDROP_REMOVE, "X-A~", "");
	xgw_snapb_hdrop(f.b, XGW_HDROP_REMOVE, "x-b", "");
	if (!ffix_finish(&f, 1, 0))
		goto out;
	rw.flt = &f.flt;
	if (!rewrite_req("GET / HTTP/1.1\r\nHost: h\r\nX-A^: 1\r\nX-B: 2\r\n\r\n", &rw, out,
			 sizeof(out)))
		goto out;
	ASSERT_TRUE(strstr(out, "X-A^: 1\r\n") != NULL, "X-A^ kept");
	ASSERT_TRUE(strstr(out, "X-B") == NULL, "X-B removed by x-b");
out:
	ffix_free(&f);
}

/*
 * Filters apply in order, each one's sets, then adds, then removes: a later
 * remove or set of a name supersedes an earlier add.
 */
TEST(filter_request_header_order)
{
	struct xgw_rw_req rw = rw_default;
	struct ffix f;
	char out[2048], want[2048];

	if (!ffix_new(&f))
		goto out;
	hdr_filter(&f, XGW_FILTER_REQUEST_HEADER);
	xgw_snapb_hdrop(f.b, XGW_HDROP_ADD, "X-A", "1");
	xgw_snapb_hdrop(f.b, XGW_HDROP_REMOVE, "X-B", "");
	xgw_snapb_hdrop(f.b, XGW_HDROP_ADD, "X-C", "1");
	hdr_filter(&f, XGW_FILTER_REQUEST_HEADER);
	xgw_snapb_hdrop(f.b, XGW_HDROP_REMOVE, "x-a", "");
	xgw_snapb_hdrop(f.b, XGW_HDROP_ADD, "X-B", "2");
	xgw_snapb_hdrop(f.b, XGW_HDROP_SET, "x-c", "2");
	xgw_snapb_hdrop(f.b, XGW_HDROP_ADD, "X-C", "3");
	if (!ffix_finish(&f, 1, 1))
		goto out;
	rw.flt = &f.flt;
	if (!rewrite_req("GET / HTTP/1.1\r\nHost: h\r\nX-A: 0\r\nX-B: 0\r\nX-C: 0\r\n\r\n", &rw,
			 out, sizeof(out)))
		goto out;
	snprintf(want, sizeof(want),
		 "GET / HTTP/1.1\r\nHost: h\r\nx-c: 2\r\nX-B: 2\r\nX-C: 3\r\n%s"
		 "X-Forwarded-Host: h\r\n\r\n",
		 std_tail);
	ASSERT_STREQ(out, want, "rule then backend filters, in order");
out:
	ffix_free(&f);
}

TEST(filter_response_header_ops)
{
	static struct xgw_h1_response resp;
	static struct xgw_xfer x;
	static const char raw[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Set: a\r\n"
				  "Server: s\r\nx-add: 1\r\n\r\n";
	struct ffix f;
	char out[2048];
	int len;

	if (!ffix_new(&f))
		goto out;
	hdr_filter(&f, XGW_FILTER_RESPONSE_HEADER);
	xgw_snapb_hdrop(f.b, XGW_HDROP_SET, "X-SET", "b");
	xgw_snapb_hdrop(f.b, XGW_HDROP_ADD, "X-Add", "2");
	xgw_snapb_hdrop(f.b, XGW_HDROP_REMOVE, "server", "");
	xgw_snapb_hdrop(f.b, XGW_HDROP_REMOVE, "Content-Length", "");
	hdr_filter(&f, XGW_FILTER_REQUEST_HEADER); /* not for responses */
	xgw_snapb_hdrop(f.b, XGW_HDROP_SET, "X-Req", "1");
	if (!ffix_finish(&f, 2, 0))
		goto out;
	len = xgw_h1_parse_response(raw, strlen(raw), false, &resp);
	if (!ASSERT_EQ(len, strlen(raw), "parse"))
		goto out;
	if (!ASSERT_OK(xgw_rewrite_response(&x, &resp, raw, raw + len, XGW_CONN_KEEP_ALIVE, &f.flt),
		       "rewrite"))
		goto out;
	ASSERT_STREQ(flatten(&x, out, sizeof(out)),
		     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nx-add: 1\r\n"
		     "X-SET: b\r\nX-Add: 2\r\nConnection: keep-alive\r\n\r\n",
		     "response ops");
out:
	ffix_free(&f);
}

TEST(filter_url_rewrite_host)
{
	struct xgw_rw_req rw = rw_default;
	struct ffix f;
	char out[2048], want[2048];

	if (!ffix_new(&f))
		goto out;
	rewrite_filter(&f, "new.example", XGW_PATHMOD_NONE, NULL);
	if (!ffix_finish(&f, 1, 0))
		goto out;
	rw.flt = &f.flt;
	if (!rewrite_req("GET /a?b=1 HTTP/1.1\r\nHOST: old.example:8080\r\nX-K: 1\r\n\r\n", &rw,
			 out, sizeof(out)))
		goto out;
	snprintf(want, sizeof(want),
		 "GET /a?b=1 HTTP/1.1\r\nX-K: 1\r\nHost: new.example\r\n%s"
		 "X-Forwarded-Host: old.example:8080\r\n\r\n",
		 std_tail);
	ASSERT_STREQ(out, want, "Host replaced, the original in X-Forwarded-Host");
out:
	ffix_free(&f);
}

/* Path rewrites: { mod, replacement, matched prefix, request target, expected target }. */
static const struct pcase {
	uint8_t mod;
	const char *repl, *prefix, *target, *want;
} path_cases[] = {
	{ XGW_PATHMOD_FULL, "/new", NULL, "/old/x?q=1&r", "/new?q=1&r" },
	{ XGW_PATHMOD_FULL, "/new", "/old", "/old", "/new" },
	{ XGW_PATHMOD_FULL, "", NULL, "/old", "/" },
	{ XGW_PATHMOD_PREFIX, "/xyz", "/foo", "/foo/bar", "/xyz/bar" },
	{ XGW_PATHMOD_PREFIX, "/xyz/", "/foo", "/foo/bar", "/xyz/bar" },
	{ XGW_PATHMOD_PREFIX, "/xyz", "/foo/", "/foo/bar", "/xyz/bar" },
	{ XGW_PATHMOD_PREFIX, "/xyz/", "/foo/", "/foo/bar", "/xyz/bar" },
	{ XGW_PATHMOD_PREFIX, "/xyz", "/foo", "/foo", "/xyz" },
	{ XGW_PATHMOD_PREFIX, "/xyz", "/foo", "/foo/", "/xyz/" },
	{ XGW_PATHMOD_PREFIX, "", "/foo", "/foo/bar", "/bar" },
	{ XGW_PATHMOD_PREFIX, "", "/foo", "/foo/", "/" },
	{ XGW_PATHMOD_PREFIX, "", "/foo", "/foo", "/" },
	{ XGW_PATHMOD_PREFIX, "/", "/foo", "/foo/", "/" },
	{ XGW_PATHMOD_PREFIX, "/", "/foo", "/foo", "/" },
	{ XGW_PATHMOD_PREFIX, "/", "/foo", "/foo/bar?x=1", "/bar?x=1" },
	{ XGW_PATHMOD_PREFIX, "/one", "/prefix/one", "/prefix/one/two", "/one/two" },
	{ XGW_PATHMOD_PREFIX, "/new", "/", "/a/b?c", "/new/a/b?c" },
	{ XGW_PATHMOD_PREFIX, "/new", NULL, "/exact", "/new" }, /* not a PathPrefix match */
};

TEST(filter_url_rewrite_path)
{
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		const struct pcase *pc = &path_cases[i];
		struct xgw_rw_req rw = rw_default;
		char raw[256], out[2048], want[2048];
		struct ffix f;

		if (!ffix_new(&f))
			return;
		rewrite_filter(&f, NULL, pc->mod, pc->repl);
		if (ffix_finish(&f, 1, 0)) {
			f.flt.prefix = pc->prefix;
			f.flt.prefix_len = pc->prefix ? strlen(pc->prefix) : 0;
			rw.flt = &f.flt;
			snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n",
				 pc->target);
			snprintf(want, sizeof(want),
				 "GET %s HTTP/1.1\r\nHost: h\r\n%s"
				 "X-Forwarded-Host: h\r\n\r\n",
				 pc->want, std_tail);
			if (rewrite_req(raw, &rw, out, sizeof(out)) && strcmp(out, want))
				TEST_FAIL_("case %zu: %s with \"%s\" over \"%s\": got\n%s", i,
					   pc->target, pc->repl, pc->prefix ? pc->prefix : "-",
					   out);
		}
		ffix_free(&f);
	}
}

TEST(filter_url_rewrite_absolute_form)
{
	struct xgw_rw_req rw = rw_default;
	struct ffix f;
	char out[2048], want[2048];

	if (!ffix_new(&f))
		goto out;
	rewrite_filter(&f, NULL, XGW_PATHMOD_PREFIX, "/v2");
	if (!ffix_finish(&f, 1, 0))
		goto out;
	f.flt.prefix = "/v1";
	f.flt.prefix_len = 3;
	rw.flt = &f.flt;
	if (!rewrite_req("GET http://h/v1/x?y HTTP/1.1\r\nHost: h\r\n\r\n", &rw, out, sizeof(out)))
		goto out;
	snprintf(want, sizeof(want),
		 "GET /v2/x?y HTTP/1.1\r\nHost: h\r\n%sX-Forwarded-Host: h\r\n\r\n", std_tail);
	ASSERT_STREQ(out, want, "origin-form after a path rewrite");
out:
	ffix_free(&f);
}

/* Redirects: the filter, the request, the listener port, the Location expected. */
static const struct rcase {
	const char *scheme, *host;
	uint32_t port;
	uint8_t mod;
	const char *path, *prefix;
	const char *req_host, *target;
	uint16_t listen_port;
	const char *want;
} redir_cases[] = {
	{ NULL, NULL, 0, 0, NULL, NULL, "h.example", "/a?x=1", 80, "http://h.example/a?x=1" },
	{ "https", NULL, 0, 0, NULL, NULL, "h.example", "/a", 80, "https://h.example/a" },
	{ "https", NULL, 0, 0, NULL, NULL, "h.example:8080", "/a", 8080, "https://h.example/a" },
	{ "https", NULL, 8443, 0, NULL, NULL, "h.example", "/a", 80, "https://h.example:8443/a" },
	{ "https", NULL, 443, 0, NULL, NULL, "h.example", "/a", 80, "https://h.example/a" },
	{ "http", NULL, 80, 0, NULL, NULL, "h.example:8080", "/a", 8080, "http://h.example/a" },
	{ "http", NULL, 0, 0, NULL, NULL, "h.example:8080", "/a", 8080, "http://h.example/a" },
	{ NULL, NULL, 443, 0, NULL, NULL, "h.example", "/a", 80, "http://h.example:443/a" },
	{ NULL, NULL, 8080, 0, NULL, NULL, "h.example", "/a", 80, "http://h.example:8080/a" },
	{ NULL, NULL, 0, 0, NULL, NULL, "h.example:8080", "/a", 8080, "http://h.example:8080/a" },
	{ NULL, NULL, 0, 0, NULL, NULL, "h.example", "/a", 8080, "http://h.example:8080/a" },
	{ NULL, "new.example", 0, 0, NULL, NULL, "h.example:8080", "/a", 8080,
	  "http://new.example:8080/a" },
	{ NULL, "new.example", 0, 0, NULL, NULL, "h.example", "/a?q", 80,
	  "http://new.example/a?q" },
	{ "https", "new.example", 9443, 0, NULL, NULL, "h", "/a", 80,
	  "https://new.example:9443/a" },
	{ NULL, NULL, 0, 0, NULL, NULL, "[::1]:8080", "/a", 8080, "http://[::1]:8080/a" },
	{ NULL, NULL, 0, 0, NULL, NULL, NULL, "/a?b", 80, "/a?b" },
	{ NULL, NULL, 0, XGW_PATHMOD_FULL, "/full", "/a", "h", "/a/b?q=1", 80,
	  "http://h/full?q=1" },
	{ NULL, NULL, 0, XGW_PATHMOD_PREFIX, "/xyz", "/foo", "h", "/foo/bar", 80,
	  "http://h/xyz/bar" },
	{ NULL, NULL, 0, XGW_PATHMOD_PREFIX, "/", "/foo", "h", "/foo", 80, "http://h/" },
	{ NULL, NULL, 0, XGW_PATHMOD_PREFIX, "/", "/foo", "h", "/foo/bar", 80, "http://h/bar" },
	{ NULL, NULL, 0, XGW_PATHMOD_PREFIX, "/xyz/", "/foo/", "h", "/foo/", 80, "http://h/xyz/" },
	{ NULL, NULL, 0, XGW_PATHMOD_PREFIX, "", "/foo", "h", "/foo?x", 80, "http://h/?x" },
	{ "https", "x.y", 0, XGW_PATHMOD_PREFIX, "/n", "/o", "h:81", "/o/p?q=1", 81,
	  "https://x.y/n/p?q=1" },
};

TEST(filter_redirect_location)
{
	for (size_t i = 0; i < sizeof(redir_cases) / sizeof(redir_cases[0]); i++) {
		const struct rcase *rc = &redir_cases[i];
		struct xgw_snap_filter sf = { .type = XGW_FILTER_REDIRECT,
					      .port = rc->port,
					      .path_mod = rc->mod };
		static struct xgw_h1_request req;
		static struct xgw_xfer x;
		char raw[256], out[1024], want[1024];
		struct ffix f;

		if (!ffix_new(&f))
			return;
		xgw_snapb_filter(f.b, &sf, rc->scheme, rc->host, rc->path);
		if (!ffix_finish(&f, 1, 0))
			goto next;
		f.flt.prefix = rc->prefix;
		f.flt.prefix_len = rc->prefix ? strlen(rc->prefix) : 0;
		f.flt.listen_port = rc->listen_port;
		if (rc->req_host)
			snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
				 rc->target, rc->req_host);
		else
			snprintf(raw, sizeof(raw), "GET %s HTTP/1.0\r\n\r\n", rc->target);
		if (!ASSERT_GT(xgw_h1_parse_request(raw, strlen(raw), &req), 0, "parse"))
			goto next;
		if (!ASSERT_OK(xgw_rewrite_redirect(&x, &req, &f.flt, 0, true), "redirect"))
			goto next;
		flatten(&x, out, sizeof(out));
		snprintf(want, sizeof(want),
			 "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n"
			 "Connection: keep-alive\r\n\r\n",
			 rc->want);
		if (strcmp(out, want))
			TEST_FAIL_("case %zu: want Location %s, got\n%s", i, rc->want, out);
	next:
		ffix_free(&f);
	}
}

TEST(filter_redirect_status)
{
	static const uint16_t st[] = { 301, 302, 303, 307, 308 };
	static const char *const lines[] = { "HTTP/1.1 301 Moved Permanently\r\n",
					     "HTTP/1.1 302 Found\r\n", "HTTP/1.1 303 See Other\r\n",
					     "HTTP/1.1 307 Temporary Redirect\r\n",
					     "HTTP/1.1 308 Permanent Redirect\r\n" };
	static const char raw[] = "GET /p HTTP/1.1\r\nHost: h\r\n\r\n";
	static struct xgw_h1_request req;
	static struct xgw_xfer x;
	struct ffix f;
	char out[1024];

	xgw_rewrite_init();
	if (!ffix_new(&f))
		goto out;
	for (size_t i = 0; i < 5; i++) {
		struct xgw_snap_filter sf = { .type = XGW_FILTER_REDIRECT, .status = st[i] };

		xgw_snapb_filter(f.b, &sf, NULL, NULL, NULL);
	}
	if (!ffix_finish(&f, 5, 0))
		goto out;
	if (!ASSERT_GT(xgw_h1_parse_request(raw, strlen(raw), &req), 0, "parse"))
		goto out;
	for (uint32_t i = 0; i < 5; i++) {
		if (!ASSERT_OK(xgw_rewrite_redirect(&x, &req, &f.flt, i, false), "redirect"))
			goto out;
		flatten(&x, out, sizeof(out));
		ASSERT_TRUE(!strncmp(out, lines[i], strlen(lines[i])), lines[i]);
		ASSERT_TRUE(strstr(out, "Connection: close\r\n\r\n") != NULL, "close");
	}
out:
	ffix_free(&f);
}

TEST(filter_mirror_copy_says_close)
{
	struct xgw_rw_req rw = rw_default;
	char out[1024];

	rw.close = true;
	if (!rewrite_req("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &rw, out, sizeof(out)))
		return;
	ASSERT_TRUE(strstr(out, "Connection: close\r\n") != NULL &&
			    strstr(out, "keep-alive") == NULL,
		    "a mirrored copy asks the server to close");
}

/* ---- CORS (cors.c) ---- */

TEST(cors_origin_match)
{
	static const struct {
		const char *pat, *origin;
		bool want;
	} cases[] = {
		{ "*", "https://foobar.com:12345", true },
		{ "https://www.foo.com", "https://www.foo.com", true },
		{ "https://www.foo.com", "HTTPS://WWW.Foo.com", true },
		{ "https://www.foo.com", "https://www.foo.com.evil", false },
		{ "https://www.foo.com", "http://www.foo.com", false },
		{ "https://*.bar.com", "https://www.bar.com", true },
		{ "https://*.bar.com", "https://xpto.www.bar.com", true },
		{ "https://*.bar.com", "https://.bar.com", false },
		{ "https://*.bar.com", "https://bar.com", false },
		{ "https://*.bar.com", "http://www.bar.com", false },
		{ "https://*.bar.com", "https://foobar.com", false },
		{ "http://*", "http://x", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!ASSERT_EQ(xgw_cors_origin_match(cases[i].pat, strlen(cases[i].pat),
						     cases[i].origin, strlen(cases[i].origin)),
			       cases[i].want, cases[i].origin))
			printf("#   pattern %s\n", cases[i].pat);
}

/* A CORS filter as the conformance route cors-multiple-origins-methods-headers has it. */
static void cors_filter(struct ffix *f, bool creds, const char *methods, const char *headers,
			const char *origin2)
{
	struct xgw_snap_filter sf = { .type = XGW_FILTER_CORS,
				      .num = 3600,
				      .flags = creds ? XGW_CORS_CREDENTIALS : 0 };

	xgw_snapb_filter(f->b, &sf, NULL, NULL, NULL);
	xgw_snapb_hdrop(f->b, XGW_HDROP_CORS_ORIGIN, "https://www.foo.com", NULL);
	xgw_snapb_hdrop(f->b, XGW_HDROP_CORS_ORIGIN, origin2, NULL);
	if (methods) {
		xgw_snapb_hdrop(f->b, XGW_HDROP_CORS_METHOD, methods, NULL);
		xgw_snapb_hdrop(f->b, XGW_HDROP_CORS_METHOD, "OPTIONS", NULL);
	} else {
		xgw_snapb_hdrop(f->b, XGW_HDROP_CORS_METHOD, "*", NULL);
	}
	if (headers) {
		xgw_snapb_hdrop(f->b, XGW_HDROP_CORS_HEADER, headers, NULL);
		xgw_snapb_hdrop(f->b, XGW_HDROP_CORS_HEADER, "x-header-2", NULL);
		xgw_snapb_hdrop(f->b, XGW_HDROP_CORS_EXPOSE, "x-header-3", NULL);
		xgw_snapb_hdrop(f->b, XGW_HDROP_CORS_EXPOSE, "x-header-4", NULL);
	} else {
		xgw_snapb_hdrop(f->b, XGW_HDROP_CORS_HEADER, "*", NULL);
	}
}

static const char *preflight(struct ffix *f, const char *origin, const char *method,
			     const char *headers, char *out, size_t size)
{
	struct xgw_cors_req q = {
		.origin = origin,
		.origin_len = origin ? strlen(origin) : 0,
		.method = method,
		.method_len = method ? strlen(method) : 0,
		.headers = headers,
		.headers_len = headers ? strlen(headers) : 0,
	};
	static struct xgw_xfer x;

	if (!ASSERT_EQ(xgw_cors_find(&f->flt), 0, "find") ||
	    !ASSERT_OK(xgw_cors_preflight(&x, f->r, 0, &q, true), "preflight"))
		return "";
	return flatten(&x, out, size);
}

TEST(cors_preflight_lists)
{
	struct ffix f;
	char out[2048];

	if (!ffix_new(&f))
		goto out;
	cors_filter(&f, true, "GET", "x-header-1", "https://*.bar.com");
	if (!ffix_finish(&f, 1, 0))
		goto out;
	ASSERT_STREQ(preflight(&f, "https://xpto.www.bar.com", "GET", "x-header-1, x-header-2", out,
			       sizeof(out)),
		     "HTTP/1.1 200 OK\r\n"
		     "Access-Control-Allow-Origin: https://xpto.www.bar.com\r\n"
		     "Access-Control-Allow-Credentials: true\r\n"
		     "Access-Control-Allow-Methods: GET, OPTIONS\r\n"
		     "Access-Control-Allow-Headers: x-header-1, x-header-2\r\n"
		     "Access-Control-Expose-Headers: x-header-3, x-header-4\r\n"
		     "Access-Control-Max-Age: 3600\r\n"
		     "Vary: Origin\r\n"
		     "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n",
		     "wildcard origin echoed with the lists");
	ASSERT_STREQ(preflight(&f, "https://foobar.com", "GET", NULL, out, sizeof(out)),
		     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n",
		     "origin not allowed: no CORS header");
out:
	ffix_free(&f);
}

TEST(cors_preflight_wildcards)
{
	struct ffix f;
	char out[2048];

	if (!ffix_new(&f))
		goto out;
	cors_filter(&f, false, NULL, NULL, "*");
	cors_filter(&f, true, NULL, NULL, "*");
	if (!ffix_finish(&f, 1, 0))
		goto out;
	ASSERT_STREQ(preflight(&f, "https://foobar.com:12345", "PUT", "x-a, x-b", out, sizeof(out)),
		     "HTTP/1.1 200 OK\r\n"
		     "Access-Control-Allow-Origin: *\r\n"
		     "Access-Control-Allow-Methods: PUT\r\n"
		     "Access-Control-Allow-Headers: x-a, x-b\r\n"
		     "Access-Control-Max-Age: 3600\r\n"
		     "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n",
		     "'*' without credentials; methods and headers echoed");
	ASSERT_STREQ(preflight(&f, "https://www.foo.com", "POST", NULL, out, sizeof(out)),
		     "HTTP/1.1 200 OK\r\n"
		     "Access-Control-Allow-Origin: https://www.foo.com\r\n"
		     "Access-Control-Allow-Methods: POST\r\n"
		     "Access-Control-Max-Age: 3600\r\n"
		     "Vary: Origin\r\n"
		     "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n",
		     "an exact origin is echoed");
	/* the second filter: credentials make '*' echo the origin */
	f.flt.first[0] = 1;
	{
		struct xgw_cors_req q = { .origin = "https://other.foo.com",
					  .origin_len = 21,
					  .method = "PUT",
					  .method_len = 3 };
		static struct xgw_xfer x;

		if (ASSERT_OK(xgw_cors_preflight(&x, f.r, 1, &q, false), "preflight"))
			ASSERT_STREQ(flatten(&x, out, sizeof(out)),
				     "HTTP/1.1 200 OK\r\n"
				     "Access-Control-Allow-Origin: https://other.foo.com\r\n"
				     "Access-Control-Allow-Credentials: true\r\n"
				     "Access-Control-Allow-Methods: PUT\r\n"
				     "Access-Control-Max-Age: 3600\r\n"
				     "Vary: Origin\r\n"
				     "Content-Length: 0\r\nConnection: close\r\n\r\n",
				     "credentials: origin echoed");
	}
	ASSERT_EQ(xgw_cors_allowed(&f.snap, 0, "https://x.test", 14), XGW_CORS_ANY, "any");
	ASSERT_EQ(xgw_cors_allowed(&f.snap, 0, "https://www.foo.com", 19), XGW_CORS_ECHO,
		  "exact wins over '*'");
	ASSERT_EQ(xgw_cors_allowed(&f.snap, 0, NULL, 0), XGW_CORS_DENIED, "no origin");
out:
	ffix_free(&f);
}

TEST(cors_actual_response)
{
	static const char raw[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
	static struct xgw_h1_response resp;
	static struct xgw_xfer x;
	struct ffix f;
	char out[2048];
	int len;

	if (!ffix_new(&f))
		goto out;
	cors_filter(&f, true, "GET", "x-header-1", "https://*.bar.com");
	if (!ffix_finish(&f, 1, 0))
		goto out;
	len = xgw_h1_parse_response(raw, strlen(raw), false, &resp);
	f.flt.cors = true;
	f.flt.cors_filter = 0;
	f.flt.origin = "https://www.bar.com";
	f.flt.origin_len = 19;
	if (ASSERT_OK(xgw_rewrite_response(&x, &resp, raw, raw + len, XGW_CONN_KEEP_ALIVE, &f.flt),
		      "rewrite"))
		ASSERT_STREQ(flatten(&x, out, sizeof(out)),
			     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
			     "Access-Control-Allow-Origin: https://www.bar.com\r\n"
			     "Access-Control-Allow-Credentials: true\r\n"
			     "Access-Control-Expose-Headers: x-header-3, x-header-4\r\n"
			     "Vary: Origin\r\n"
			     "Connection: keep-alive\r\n\r\n",
			     "allowed origin");
	f.flt.cors = false;
	if (ASSERT_OK(xgw_rewrite_response(&x, &resp, raw, raw + len, XGW_CONN_KEEP_ALIVE, &f.flt),
		      "rewrite"))
		ASSERT_STREQ(
			flatten(&x, out, sizeof(out)),
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n",
			"no allowed origin: untouched");
out:
	ffix_free(&f);
}

TEST(cors_bad_item_refused)
{
	struct ffix f;

	if (!ffix_new(&f))
		goto out;
	cors_filter(&f, false, "GE T", NULL, "*");
	if (!ASSERT_OK(xgw_snapb__finish(f.b, &f.buf, &f.len), "finish") ||
	    !ASSERT_OK(xgw_snapshot__open(&f.snap, f.buf, f.len), "open"))
		goto out;
	f.r = xgw_router__new(&f.snap, NULL);
	ASSERT_TRUE(!f.r && errno == EINVAL, "a method that is no token refuses the snapshot");
out:
	ffix_free(&f);
}

TEST_MAIN()
