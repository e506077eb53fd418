// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Proxy head rewriting. A head is sent as runs of the received bytes between
 * the removed lines, with the added lines (constant strings, or per-connection
 * ones) queued after the last header: no copy, one writev.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rewrite.h"

#define MAX_CONN_TOKENS 16

static const char conn_ka[] = "Connection: keep-alive\r\n";
static const char conn_close[] = "Connection: close\r\n";
static const char conn_upgrade[] = "Connection: upgrade\r\n";
static const char xfp_line[] = "X-Forwarded-Proto: http\r\n";
static const char xfh_name[] = "X-Forwarded-Host: ";
static const char crlf[] = "\r\n";

enum hkind {
	H_KEEP,
	H_HOP, /* hop-by-hop, always removed */
	H_CONNECTION,
	H_UPGRADE,
	H_HOST,
	H_CL,
	H_TE, /* Transfer-Encoding: forwarded as is */
	H_XFF,
	H_XFH,
	H_XFP,
	H_DROP = 0x80, /* flag: this line is not forwarded */
};

struct tokens {
	struct {
		const char *p;
		size_t len;
	} t[MAX_CONN_TOKENS];
	unsigned n;
};

static bool name_is(const struct xgw_h1_header *h, const char *lower)
{
	return xgw_h1_name_eq(h->name, h->name_len, lower);
}

/* Cheap on the length first: most headers are none of these. */
static enum hkind classify(const struct xgw_h1_header *h)
{
	switch (h->name_len) {
	case 2:
		return name_is(h, "te") ? H_HOP : H_KEEP;
	case 4:
		return name_is(h, "host") ? H_HOST : H_KEEP;
	case 7:
		return name_is(h, "upgrade") ? H_UPGRADE : H_KEEP;
	case 10:
		if (name_is(h, "connection"))
			return H_CONNECTION;
		return name_is(h, "keep-alive") ? H_HOP : H_KEEP;
	case 14:
		return name_is(h, "content-length") ? H_CL : H_KEEP;
	case 15:
		return name_is(h, "x-forwarded-for") ? H_XFF : H_KEEP;
	case 16:
		if (name_is(h, "proxy-connection"))
			return H_HOP;
		return name_is(h, "x-forwarded-host") ? H_XFH : H_KEEP;
	case 17:
		if (name_is(h, "x-forwarded-proto"))
			return H_XFP;
		return name_is(h, "transfer-encoding") ? H_TE : H_KEEP;
	default:
		return H_KEEP;
	}
}

static void collect_tokens(struct tokens *tk, const char *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t s, e;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && tk->n < MAX_CONN_TOKENS) {
			tk->t[tk->n].p = v + s;
			tk->t[tk->n].len = e - s;
			tk->n++;
		}
	}
}

static bool in_tokens(const struct tokens *tk, const struct xgw_h1_header *h)
{
	for (unsigned i = 0; i < tk->n; i++) {
		const char *t = tk->t[i].p;
		size_t j;

		if (tk->t[i].len != h->name_len)
			continue;
		for (j = 0; j < h->name_len; j++)
			if ((t[j] | 0x20) != (h->name[j] | 0x20))
				break;
		if (j == h->name_len)
			return true;
	}
	return false;
}

static bool all_digits(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return len > 0;
}

/* Queue <len> bytes at <p>, extending the last piece when they follow it. */
static int emit(struct xgw_xfer *x, const char *p, size_t len)
{
	struct iovec *last;

	if (!len)
		return 0;
	if (x->iov_n) {
		last = &x->iov[x->iov_n - 1];
		if ((const char *)last->iov_base + last->iov_len == p) {
			last->iov_len += len;
			return 0;
		}
	}
	if (x->iov_n == XGW_XFER_IOV)
		return -E2BIG;
	x->iov[x->iov_n].iov_base = (void *)p;
	x->iov[x->iov_n].iov_len = len;
	x->iov_n++;
	return 0;
}

#define EMIT(x, p, len)                                                                            \
	do {                                                                                       \
		if (emit((x), (p), (len)))                                                         \
			return -E2BIG;                                                             \
	} while (0)

#define EMIT_STR(x, s) EMIT((x), (s), sizeof(s) - 1)

/* Past the CRLF that ends header line <h>. */
static const char *line_end(const struct xgw_h1_header *h, const char *head_end)
{
	const char *p = h->value + h->value_len;
	const char *lf = memchr(p, '\n', (size_t)(head_end - p));

	return lf ? lf + 1 : head_end;
}

/*
 * Mark in <kinds> which of <hdrs> are removed. Returns the index of the last
 * kept non-empty X-Forwarded-For (or -1) and sets *<has_xfh> and *<norm_cl>.
 */
static int mark_drops(const struct xgw_h1_header *hdrs, size_t n, uint8_t *kinds, bool request,
		      bool upgrade, bool *has_xfh, bool *norm_cl)
{
	struct tokens tk = { .n = 0 };
	unsigned n_cl = 0;
	bool cl_list = false;
	int last_xff = -1;

	for (size_t i = 0; i < n; i++) {
		kinds[i] = (uint8_t)classify(&hdrs[i]);
		if (kinds[i] == H_CONNECTION)
			collect_tokens(&tk, hdrs[i].value, hdrs[i].value_len);
		if (kinds[i] == H_CL) {
			n_cl++;
			cl_list |= !all_digits(hdrs[i].value, hdrs[i].value_len);
		}
	}
	*norm_cl = n_cl > 1 || cl_list;
	*has_xfh = false;
	for (size_t i = 0; i < n; i++) {
		bool drop;

		switch (kinds[i]) {
		case H_HOP:
		case H_CONNECTION:
			drop = true;
			break;
		case H_UPGRADE:
			drop = !upgrade;
			break;
		case H_CL:
			drop = *norm_cl;
			break;
		case H_HOST:
		case H_TE:
			/* Framing and Host are never hop-by-hop, whatever Connection says. */
			drop = false;
			break;
		case H_XFP:
			drop = request;
			break;
		case H_XFF:
			drop = !request ? in_tokens(&tk, &hdrs[i])
					: !hdrs[i].value_len || in_tokens(&tk, &hdrs[i]);
			if (!drop && request)
				last_xff = (int)i;
			break;
		default:
			drop = tk.n && in_tokens(&tk, &hdrs[i]);
			if (!drop && kinds[i] == H_XFH)
				*has_xfh = true;
			break;
		}
		if (drop)
			kinds[i] |= H_DROP;
	}
	return last_xff;
}

/*
 * The received lines from <start> to the final CRLF, less the dropped ones;
 * after the header <append_at> (if >= 0) its value gets <app>.
 */
static int emit_kept(struct xgw_xfer *x, const char *start, const char *head_end,
		     const struct xgw_h1_header *hdrs, size_t n, const uint8_t *kinds,
		     int append_at, const char *app, size_t app_len)
{
	const char *cur = start;

	for (size_t i = 0; i < n; i++) {
		if (kinds[i] & H_DROP) {
			EMIT(x, cur, (size_t)(hdrs[i].name - cur));
			cur = line_end(&hdrs[i], head_end);
		} else if ((int)i == append_at) {
			const char *vend = hdrs[i].value + hdrs[i].value_len;

			EMIT(x, cur, (size_t)(vend - cur));
			EMIT(x, app, app_len);
			cur = vend;
		}
	}
	EMIT(x, cur, (size_t)(head_end - 2 - cur));
	return 0;
}

static int emit_cl(struct xgw_xfer *x, uint64_t cl)
{
	int n = snprintf(x->extra, sizeof(x->extra), "Content-Length: %llu\r\n",
			 (unsigned long long)cl);

	EMIT(x, x->extra, (size_t)n);
	return 0;
}

int xgw_rewrite_request(struct xgw_xfer *x, const struct xgw_h1_request *req, const char *head_end,
			const struct xgw_rw_req *rw)
{
	uint8_t kinds[XGW_H1_MAX_HEADERS];
	bool has_xfh, norm_cl;
	int last_xff, err;

	x->iov_i = x->iov_n = 0;
	last_xff = mark_drops(req->headers, req->n_headers, kinds, true, rw->upgrade, &has_xfh,
			      &norm_cl);
	/* From the method on: a CRLF the parser skipped before the request line is not sent. */
	err = emit_kept(x, req->method, head_end, req->headers, req->n_headers, kinds, last_xff,
			rw->xff_app, rw->xff_app_len);
	if (err)
		return err;
	if (rw->upgrade)
		EMIT_STR(x, conn_upgrade);
	else
		EMIT_STR(x, conn_ka);
	if (last_xff < 0)
		EMIT(x, rw->xff_line, rw->xff_line_len);
	EMIT_STR(x, xfp_line);
	if (!has_xfh && req->host_len) {
		EMIT_STR(x, xfh_name);
		EMIT(x, req->host, req->host_len);
		EMIT_STR(x, crlf);
	}
	if (norm_cl && (err = emit_cl(x, req->content_length)))
		return err;
	EMIT_STR(x, crlf);
	return 0;
}

int xgw_rewrite_response(struct xgw_xfer *x, const struct xgw_h1_response *resp, const char *head,
			 const char *head_end, enum xgw_conn_mode mode)
{
	uint8_t kinds[XGW_H1_MAX_HEADERS];
	bool has_xfh, norm_cl;
	int err;

	x->iov_i = x->iov_n = 0;
	mark_drops(resp->headers, resp->n_headers, kinds, false, mode == XGW_CONN_UPGRADE, &has_xfh,
		   &norm_cl);
	err = emit_kept(x, head, head_end, resp->headers, resp->n_headers, kinds, -1, NULL, 0);
	if (err)
		return err;
	switch (mode) {
	case XGW_CONN_KEEP_ALIVE:
		EMIT_STR(x, conn_ka);
		break;
	case XGW_CONN_CLOSE:
		EMIT_STR(x, conn_close);
		break;
	case XGW_CONN_UPGRADE:
		EMIT_STR(x, conn_upgrade);
		break;
	}
	if (norm_cl && (err = emit_cl(x, resp->content_length)))
		return err;
	EMIT_STR(x, crlf);
	return 0;
}

/* Gateway-generated responses, laid out once. */
static const uint16_t lresp_status[] = { 400, 403, 404, 408, 413, 414, 417,
					 431, 500, 501, 502, 503, 504, 505 };
#define N_LRESP (sizeof(lresp_status) / sizeof(lresp_status[0]))
#define LRESP_MAX 192

static char lresp_buf[N_LRESP][2][LRESP_MAX];
static struct xgw_lresp lresp[N_LRESP][2];

void xgw_rewrite_init(void)
{
	for (size_t i = 0; i < N_LRESP; i++) {
		int st = lresp_status[i];
		const char *reason = xgw_h1_reason(st);
		char body[64];
		int blen = snprintf(body, sizeof(body), "%d %s\n", st, reason);

		for (int ka = 0; ka < 2; ka++) {
			int hlen = snprintf(lresp_buf[i][ka], LRESP_MAX,
					    "HTTP/1.1 %d %s\r\n"
					    "Content-Type: text/plain\r\n"
					    "Content-Length: %d\r\n"
					    "Connection: %s\r\n\r\n",
					    st, reason, blen, ka ? "keep-alive" : "close");
			int len = snprintf(lresp_buf[i][ka] + hlen, LRESP_MAX - (size_t)hlen, "%s",
					   body);

			lresp[i][ka].data = lresp_buf[i][ka];
			lresp[i][ka].head_len = (uint16_t)hlen;
			lresp[i][ka].len = (uint16_t)(hlen + len);
		}
	}
}

const struct xgw_lresp *xgw_local_response(int status, bool keep_alive)
{
	size_t fallback = 0;

	for (size_t i = 0; i < N_LRESP; i++) {
		if (lresp_status[i] == status)
			return &lresp[i][keep_alive];
		if (lresp_status[i] == 500)
			fallback = i;
	}
	return &lresp[fallback][keep_alive];
}
