// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The HTTPRoute CORS filter (Gateway API HTTPCORSFilter). The lists of a
 * filter are joined into constant header lines once per snapshot; a
 * preflight answer or the added lines of a response are iovecs over those
 * lines, the request head and constants, so nothing is formatted or
 * allocated per request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xgw/log.h"

#include "cors.h"
#include "rewrite.h"

static const char acao[] = "Access-Control-Allow-Origin: ";
static const char acac[] = "Access-Control-Allow-Credentials: true\r\n";
static const char acam[] = "Access-Control-Allow-Methods: ";
static const char acah[] = "Access-Control-Allow-Headers: ";
static const char vary[] = "Vary: Origin\r\n";
static const char star[] = "*";
static const char crlf[] = "\r\n";
static const char status_ok[] = "HTTP/1.1 200 OK\r\n";
static const char tail_ka[] = "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n";
static const char tail_close[] = "Content-Length: 0\r\nConnection: close\r\n\r\n";

/* Whether item <h> of a CORS filter can go into a header line. */
static bool item_ok(const struct xgw_snapshot *s, const struct xgw_snap_hdrop *h)
{
	const char *p = xgw_snap_str_ptr(s, h->name);

	if (h->op != XGW_HDROP_CORS_ORIGIN)
		return xgw_h1_is_token(p, h->name.len);
	if (!h->name.len)
		return false;
	for (uint32_t i = 0; i < h->name.len; i++) {
		uint8_t c = (uint8_t)p[i];

		if (c <= ' ' || c == ',' || c == 0x7f)
			return false;
	}
	return true;
}

static bool is_star(const struct xgw_snapshot *s, struct xgw_snap_str str)
{
	return str.len == 1 && *xgw_snap_str_ptr(s, str) == '*';
}

/*
 * Join the <op> items of <f> after <name> into <buf> at *<off> (NULL: only
 * count). Returns the line's length, 0 without items or with a "*" item.
 */
static uint32_t join_line(const struct xgw_snapshot *s, const struct xgw_snap_filter *f, uint8_t op,
			  const char *name, char *buf, uint32_t off)
{
	uint32_t len = 0, n = 0;

	for (uint32_t k = f->op_first; k < f->op_first + f->op_count; k++) {
		const struct xgw_snap_hdrop *h = &s->hdrops[k];

		if (h->op != op)
			continue;
		if (op != XGW_HDROP_CORS_EXPOSE && is_star(s, h->name))
			return 0;
		if (!n++) {
			if (buf)
				memcpy(buf + off, name, strlen(name));
			len = (uint32_t)strlen(name);
		} else {
			if (buf)
				memcpy(buf + off + len, ", ", 2);
			len += 2;
		}
		if (buf)
			memcpy(buf + off + len, xgw_snap_str_ptr(s, h->name), h->name.len);
		len += h->name.len;
	}
	if (!n)
		return 0;
	if (buf)
		memcpy(buf + off + len, crlf, 2);
	return len + 2;
}

static bool has_star(const struct xgw_snapshot *s, const struct xgw_snap_filter *f, uint8_t op)
{
	for (uint32_t k = f->op_first; k < f->op_first + f->op_count; k++)
		if (s->hdrops[k].op == op && is_star(s, s->hdrops[k].name))
			return true;
	return false;
}

int xgw_cors_build(struct xgw_router *r)
{
	const struct xgw_snapshot *s = r->snap;
	uint64_t size = 1;
	uint32_t off = 0;

	for (uint32_t i = 0; i < s->n_filters; i++) {
		const struct xgw_snap_filter *f = &s->filters[i];

		if (f->type != XGW_FILTER_CORS)
			continue;
		for (uint32_t k = f->op_first; k < f->op_first + f->op_count; k++) {
			if (!item_ok(s, &s->hdrops[k])) {
				log_warn("snapshot: CORS filter %u: item \"%.*s\" not usable", i,
					 (int)s->hdrops[k].name.len,
					 xgw_snap_str_ptr(s, s->hdrops[k].name));
				return -EINVAL;
			}
		}
		size += join_line(s, f, XGW_HDROP_CORS_METHOD, acam, NULL, 0) +
			join_line(s, f, XGW_HDROP_CORS_HEADER, acah, NULL, 0) +
			join_line(s, f, XGW_HDROP_CORS_EXPOSE,
				  "Access-Control-Expose-Headers: ", NULL, 0) +
			48;
	}
	if (size > UINT32_MAX)
		return -E2BIG;
	r->cors = calloc(s->n_filters ? s->n_filters : 1, sizeof(*r->cors));
	r->cors_lines = malloc(size);
	if (!r->cors || !r->cors_lines)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->n_filters; i++) {
		const struct xgw_snap_filter *f = &s->filters[i];
		struct xgw_rt_cors *rc = &r->cors[i];

		if (f->type != XGW_FILTER_CORS)
			continue;
		rc->any_method = has_star(s, f, XGW_HDROP_CORS_METHOD);
		rc->any_header = has_star(s, f, XGW_HDROP_CORS_HEADER);
		rc->methods_off = off;
		rc->methods_len = join_line(s, f, XGW_HDROP_CORS_METHOD, acam, r->cors_lines, off);
		off += rc->methods_len;
		rc->headers_off = off;
		rc->headers_len = join_line(s, f, XGW_HDROP_CORS_HEADER, acah, r->cors_lines, off);
		off += rc->headers_len;
		rc->expose_off = off;
		rc->expose_len = join_line(s, f, XGW_HDROP_CORS_EXPOSE,
					   "Access-Control-Expose-Headers: ", r->cors_lines, off);
		off += rc->expose_len;
		rc->maxage_off = off;
		rc->maxage_len = (uint32_t)snprintf(r->cors_lines + off, 48,
						    "Access-Control-Max-Age: %u\r\n", f->num);
		off += rc->maxage_len;
	}
	return 0;
}

static inline uint8_t lower(uint8_t c)
{
	return (uint8_t)(c - 'A') < 26 ? c | 0x20 : c;
}

static bool ci_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((uint8_t)a[i]) != lower((uint8_t)b[i]))
			return false;
	return true;
}

bool xgw_cors_origin_match(const char *pattern, size_t pattern_len, const char *origin,
			   size_t origin_len)
{
	const char *st = memchr(pattern, '*', pattern_len);
	size_t pre, post;

	if (pattern_len == 1 && st)
		return origin_len > 0;
	if (!st)
		return pattern_len == origin_len && ci_eq(pattern, origin, origin_len);
	pre = (size_t)(st - pattern);
	post = pattern_len - pre - 1;
	return origin_len > pre + post && ci_eq(pattern, origin, pre) &&
	       ci_eq(st + 1, origin + origin_len - post, post);
}

uint32_t xgw_cors_find(const struct xgw_rw_filters *flt)
{
	const struct xgw_snapshot *s = flt->router->snap;

	for (int sp = 0; sp < 2; sp++)
		for (uint32_t f = flt->first[sp]; f < flt->first[sp] + flt->count[sp]; f++)
			if (s->filters[f].type == XGW_FILTER_CORS)
				return f;
	return XGW_SNAP_NONE;
}

enum xgw_cors_allow xgw_cors_allowed(const struct xgw_snapshot *s, uint32_t filter,
				     const char *origin, size_t origin_len)
{
	const struct xgw_snap_filter *f = &s->filters[filter];
	enum xgw_cors_allow v = XGW_CORS_DENIED;

	if (!origin || !origin_len)
		return XGW_CORS_DENIED;
	for (uint32_t k = f->op_first; k < f->op_first + f->op_count; k++) {
		const struct xgw_snap_hdrop *h = &s->hdrops[k];

		if (h->op != XGW_HDROP_CORS_ORIGIN ||
		    !xgw_cors_origin_match(xgw_snap_str_ptr(s, h->name), h->name.len, origin,
					   origin_len))
			continue;
		if (!is_star(s, h->name))
			return XGW_CORS_ECHO;
		v = XGW_CORS_ANY;
	}
	return v;
}

int xgw_cors_preflight(struct xgw_xfer *x, const struct xgw_router *r, uint32_t filter,
		       const struct xgw_cors_req *q, bool keep_alive)
{
	const struct xgw_snapshot *s = r->snap;
	const struct xgw_snap_filter *f = &s->filters[filter];
	const struct xgw_rt_cors *rc = &r->cors[filter];
	bool creds = f->flags & XGW_CORS_CREDENTIALS;
	enum xgw_cors_allow v = xgw_cors_allowed(s, filter, q->origin, q->origin_len);

	x->iov_i = x->iov_n = 0;
	EMIT_STR(x, status_ok);
	if (v != XGW_CORS_DENIED) {
		EMIT_STR(x, acao);
		if (v == XGW_CORS_ANY && !creds)
			EMIT_STR(x, star);
		else
			EMIT(x, q->origin, q->origin_len);
		EMIT_STR(x, crlf);
		if (creds)
			EMIT_STR(x, acac);
		if (rc->any_method && q->method_len) {
			EMIT_STR(x, acam);
			EMIT(x, q->method, q->method_len);
			EMIT_STR(x, crlf);
		} else {
			EMIT(x, r->cors_lines + rc->methods_off, rc->methods_len);
		}
		if (rc->any_header && q->headers_len) {
			EMIT_STR(x, acah);
			EMIT(x, q->headers, q->headers_len);
			EMIT_STR(x, crlf);
		} else if (!rc->any_header) {
			EMIT(x, r->cors_lines + rc->headers_off, rc->headers_len);
		}
		EMIT(x, r->cors_lines + rc->expose_off, rc->expose_len);
		EMIT(x, r->cors_lines + rc->maxage_off, rc->maxage_len);
		if (v == XGW_CORS_ECHO || creds)
			EMIT_STR(x, vary);
	}
	if (keep_alive)
		EMIT_STR(x, tail_ka);
	else
		EMIT_STR(x, tail_close);
	return 0;
}

int xgw_cors_response(struct xgw_xfer *x, const struct xgw_rw_filters *flt)
{
	const struct xgw_router *r = flt->router;
	const struct xgw_snap_filter *f;
	const struct xgw_rt_cors *rc;

	if (!flt->cors)
		return 0;
	f = &r->snap->filters[flt->cors_filter];
	rc = &r->cors[flt->cors_filter];
	EMIT_STR(x, acao);
	if (flt->origin)
		EMIT(x, flt->origin, flt->origin_len);
	else
		EMIT_STR(x, star);
	EMIT_STR(x, crlf);
	if (f->flags & XGW_CORS_CREDENTIALS)
		EMIT_STR(x, acac);
	EMIT(x, r->cors_lines + rc->expose_off, rc->expose_len);
	if (flt->origin)
		EMIT_STR(x, vary);
	return 0;
}
