// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Session persistence (GEP-1619): see session.h for the token. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rewrite.h"
#include "session.h"
#include "upstream.h"

#define TOKEN_VERSION 1
/* A token from further in the future than clocks drift is forged or broken. */
#define CLOCK_SLACK_S 300

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int xgw_session_encode(char *out, size_t cap, const struct xgw_snap_endpoint *ep, uint32_t created,
		       uint32_t last)
{
	uint8_t raw[28];
	size_t alen = ep->family == 4 ? 4 : 16, n = 4 + alen + 8, o = 0;

	raw[0] = TOKEN_VERSION;
	raw[1] = ep->family;
	raw[2] = (uint8_t)(ep->port >> 8);
	raw[3] = (uint8_t)ep->port;
	memcpy(raw + 4, ep->addr, alen);
	put32(raw + 4 + alen, created);
	put32(raw + 8 + alen, last);
	if (cap < (n * 4 + 2) / 3 + 1)
		return -ENOSPC;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)raw[i + 1] << 8;
		if (i + 2 < n)
			v |= raw[i + 2];
		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = b64url[v & 63];
	}
	out[o] = 0;
	return (int)o;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

bool xgw_session_decode(const char *tok, size_t len, struct xgw_snap_endpoint *ep,
			uint32_t *created, uint32_t *last)
{
	uint8_t raw[30];
	size_t n = 0, alen;
	uint32_t acc = 0;
	int bits = 0;

	/* 16 bytes (IPv4) are 22 characters, 28 bytes (IPv6) 38. */
	if (len != 22 && len != 38)
		return false;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(tok[i]);

		if (v < 0)
			return false;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1)) /* non-canonical: stray low bits */
		return false;
	alen = n - 12;
	if (raw[0] != TOKEN_VERSION || !((raw[1] == 4 && alen == 4) || (raw[1] == 6 && alen == 16)))
		return false;
	memset(ep, 0, sizeof(*ep));
	ep->family = raw[1];
	ep->port = (uint16_t)(raw[2] << 8 | raw[3]);
	memcpy(ep->addr, raw + 4, alen);
	*created = get32(raw + 4 + alen);
	*last = get32(raw + 8 + alen);
	return true;
}

/* The value of cookie <name> in the request's Cookie lines. */
static bool find_cookie(const struct xgw_h1_request *req, const char *name, size_t nlen,
			const char **val, size_t *vlen)
{
	for (size_t h = 0; h < req->n_headers; h++) {
		const struct xgw_h1_header *hd = &req->headers[h];
		const char *p = hd->value, *end = hd->value + hd->value_len;

		if (hd->id != XGW_H1_HDR_COOKIE)
			continue;
		while (p < end) {
			const char *semi = memchr(p, ';', (size_t)(end - p)),
				   *stop = semi ? semi : end;
			const char *eq;

			while (p < stop && (*p == ' ' || *p == '\t'))
				p++;
			eq = memchr(p, '=', (size_t)(stop - p));
			if (eq && (size_t)(eq - p) == nlen && !memcmp(p, name, nlen)) {
				const char *v = eq + 1, *ve = stop;

				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				if (ve - v >= 2 && *v == '"' && ve[-1] == '"')
					v++, ve--; /* a quoted cookie-value */
				*val = v;
				*vlen = (size_t)(ve - v);
				return true;
			}
			p = semi ? semi + 1 : end;
		}
	}
	return false;
}

/* The value of request header <name> (any case). */
static bool find_header(const struct xgw_h1_request *req, const char *name, size_t nlen,
			const char **val, size_t *vlen)
{
	for (size_t h = 0; h < req->n_headers; h++) {
		const struct xgw_h1_header *hd = &req->headers[h];

		if (hd->name_len == nlen && !strncasecmp(hd->name, name, nlen)) {
			*val = hd->value;
			*vlen = hd->value_len;
			return true;
		}
	}
	return false;
}

static bool has_redirect(const struct xgw_snapshot *s, const struct xgw_snap_backend *be)
{
	for (uint32_t f = be->filter_first; f < be->filter_first + be->filter_count; f++)
		if (s->filters[f].type == XGW_FILTER_REDIRECT)
			return true;
	return false;
}

/* The backend and endpoint of <ru> at <want>; false when it has none healthy. */
static bool find_endpoint(struct xgw_worker *w, const struct xgw_snapshot *s,
			  const struct xgw_snap_rule *ru, const struct xgw_snap_endpoint *want,
			  uint32_t *backend, uint32_t *ep)
{
	size_t alen = want->family == 4 ? 4 : 16;

	for (uint32_t b = ru->backend_first; b < ru->backend_first + ru->backend_count; b++) {
		const struct xgw_snap_backend *be = &s->backends[b];
		const struct xgw_snap_cluster *cl;

		if (!be->weight || be->cluster == XGW_SNAP_NONE || has_redirect(s, be))
			continue;
		cl = &s->clusters[be->cluster];
		for (uint32_t e = cl->ep_first; e < cl->ep_first + cl->ep_count; e++) {
			const struct xgw_snap_endpoint *x = &s->endpoints[e];

			if (x->family != want->family || x->port != want->port ||
			    memcmp(x->addr, want->addr, alen))
				continue;
			if (xgw_endpoint_ejected(w, x))
				return false;
			*backend = b;
			*ep = e;
			return true;
		}
	}
	return false;
}

void xgw_session_route(struct xgw_rw_session *ss, struct xgw_worker *w,
		       const struct xgw_snapshot *s, const struct xgw_h1_request *req,
		       struct xgw_route *rt, uint32_t now)
{
	const struct xgw_snap_rule *ru = &s->rules[rt->rule];
	struct xgw_snap_endpoint want;
	uint32_t created, last, backend, ep;
	const char *name = xgw_snap_str_ptr(s, ru->sp_name), *tok;
	size_t tlen;
	bool found;

	ss->rule = XGW_SNAP_NONE;
	ss->token_len = 0;
	if (ru->sp_type == XGW_SP_NONE)
		return;
	ss->rule = rt->rule;
	ss->now = now;
	ss->created = now;
	ss->send = true;
	found = ru->sp_type == XGW_SP_COOKIE ? find_cookie(req, name, ru->sp_name.len, &tok, &tlen)
					     : find_header(req, name, ru->sp_name.len, &tok, &tlen);
	if (!found || !xgw_session_decode(tok, tlen, &want, &created, &last))
		return;
	if (created > now + CLOCK_SLACK_S || last > now + CLOCK_SLACK_S || last < created)
		return;
	if (ru->sp_absolute_s && now > created && now - created >= ru->sp_absolute_s)
		return; /* the session is over: a new one starts */
	if (ru->sp_idle_s && now > last && now - last >= ru->sp_idle_s)
		return;
	if (!find_endpoint(w, s, ru, &want, &backend, &ep))
		return; /* gone, drained or ejected: rebalanced, a new session */
	rt->backend = backend;
	rt->ep = ep;
	ss->created = created;
	/* Only an idle limit needs the last use refreshed on the client. */
	ss->send = ru->sp_idle_s != 0;
}

void xgw_session_issue(struct xgw_rw_session *ss, const struct xgw_snapshot *s, uint32_t ep)
{
	const struct xgw_snap_rule *ru;
	int n;

	if (ss->rule == XGW_SNAP_NONE || !ss->send)
		return;
	ru = &s->rules[ss->rule];
	n = xgw_session_encode(ss->token, sizeof(ss->token), &s->endpoints[ep], ss->created,
			       ss->now);
	ss->token_len = n > 0 ? (uint8_t)n : 0;
	if (ru->sp_type == XGW_SP_HEADER) {
		ss->tail_len = 2;
		memcpy(ss->tail, "\r\n", 2);
		return;
	}
	if (ru->sp_flags & XGW_SP_PERMANENT) {
		uint32_t age = ss->now > ss->created ? ss->now - ss->created : 0;
		uint32_t left = age < ru->sp_absolute_s ? ru->sp_absolute_s - age : 0;

		n = snprintf(ss->tail, sizeof(ss->tail), "; Max-Age=%u; HttpOnly\r\n", left);
	} else {
		n = snprintf(ss->tail, sizeof(ss->tail), "; HttpOnly\r\n");
	}
	ss->tail_len = n > 0 && (size_t)n < sizeof(ss->tail) ? (uint8_t)n : 0;
	if (!ss->tail_len)
		ss->token_len = 0;
}

int xgw_session_emit(struct xgw_xfer *x, const struct xgw_rw_filters *flt)
{
	const struct xgw_rw_session *ss = &flt->sess;
	const struct xgw_snapshot *s = flt->router->snap;
	const struct xgw_snap_rule *ru;

	if (ss->rule == XGW_SNAP_NONE || !ss->send || !ss->token_len)
		return 0;
	ru = &s->rules[ss->rule];
	if (ru->sp_type == XGW_SP_HEADER) {
		EMIT(x, xgw_snap_str_ptr(s, ru->sp_name), ru->sp_name.len);
		EMIT_STR(x, ": ");
		EMIT(x, ss->token, ss->token_len);
		EMIT(x, ss->tail, ss->tail_len);
		return 0;
	}
	EMIT_STR(x, "Set-Cookie: ");
	EMIT(x, xgw_snap_str_ptr(s, ru->sp_name), ru->sp_name.len);
	EMIT_STR(x, "=");
	EMIT(x, ss->token, ss->token_len);
	EMIT_STR(x, "; Path=");
	EMIT(x, xgw_snap_str_ptr(s, ru->sp_path), ru->sp_path.len);
	if (flt->tls)
		EMIT_STR(x, "; Secure");
	EMIT(x, ss->tail, ss->tail_len);
	return 0;
}
