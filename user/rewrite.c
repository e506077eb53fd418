// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Proxy head rewriting. A head is sent as runs of the received bytes between
 * the removed lines, with the added lines (constant strings, or per-connection
 * ones) queued after the last header: no copy, one writev.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cors.h"
#include "rewrite.h"
#include "session.h"
#include "router-t.h"

#define MAX_CONN_TOKENS 16
#define MAX_OPS 64 /* header operations applied to one head; more are -E2BIG */

static const char conn_ka[] = "Connection: keep-alive\r\n";
static const char conn_close[] = "Connection: close\r\n";
static const char conn_upgrade[] = "Connection: upgrade\r\n";
static const char xfp_line[] = "X-Forwarded-Proto: http\r\n";
static const char xfp_line_tls[] = "X-Forwarded-Proto: https\r\n";
static const char xfh_name[] = "X-Forwarded-Host: ";
static const char fwd_host[] = ";host=\"";
static const char quote_crlf[] = "\"\r\n";
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

/* The header operations of one head, in the order they apply. */
struct opset {
	const struct xgw_snapshot *s;
	unsigned n;
	uint32_t op[MAX_OPS]; /* hdrop indexes */
	bool emit[MAX_OPS];   /* its line is added: no later set/remove of the name */
	bool drop_host;	      /* a URLRewrite hostname replaces Host */
	uint32_t host_filter; /* that filter, or XGW_SNAP_NONE */
	uint32_t path_filter; /* the URLRewrite whose path applies, or XGW_SNAP_NONE */
};

static inline uint8_t lower(uint8_t c)
{
	return (uint8_t)(c - 'A') < 26 ? c | 0x20 : c;
}

/* ASCII case-insensitive equality of two header names. */
static bool names_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (lower((uint8_t)a[i]) != lower((uint8_t)b[i]))
			return false;
	return true;
}

/* Headers no filter may touch: message framing and hop-by-hop ones. */
static bool name_protected(const char *n, size_t len)
{
	static const char *const names[] = { "connection", "content-length",   "transfer-encoding",
					     "keep-alive", "proxy-connection", "te",
					     "upgrade" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (xgw_h1_name_eq(n, len, names[i]))
			return true;
	return false;
}

static struct xgw_snap_str op_name(const struct opset *o, unsigned i)
{
	return o->s->hdrops[o->op[i]].name;
}

/*
 * Gather the operations of the <type> filters of <flt> in the order they
 * apply (filter by filter; in each, its sets, adds, then removes), and which
 * of them add a line: a set or an add stays unless a later set or remove of
 * the same name supersedes it. With URLRewrite, note the last hostname and
 * path.
 */
static int collect_ops(struct opset *o, const struct xgw_rw_filters *flt, uint8_t type)
{
	const struct xgw_snapshot *s;

	o->n = 0;
	o->drop_host = false;
	o->host_filter = o->path_filter = XGW_SNAP_NONE;
	if (!flt)
		return 0;
	s = o->s = flt->router->snap;
	for (int sp = 0; sp < 2; sp++) {
		for (uint32_t f = flt->first[sp]; f < flt->first[sp] + flt->count[sp]; f++) {
			const struct xgw_snap_filter *sf = &s->filters[f];

			if (sf->type == XGW_FILTER_URL_REWRITE &&
			    type == XGW_FILTER_REQUEST_HEADER) {
				if (sf->hostname.len) {
					o->drop_host = true;
					o->host_filter = f;
				}
				if (sf->path_mod != XGW_PATHMOD_NONE)
					o->path_filter = f;
				continue;
			}
			if (sf->type != type)
				continue;
			/* Within a filter, as HTTPHeaderFilter reads: set, then add, then remove. */
			for (uint8_t t = XGW_HDROP_SET; t <= XGW_HDROP_REMOVE; t++) {
				for (uint32_t k = sf->op_first; k < sf->op_first + sf->op_count;
				     k++) {
					const struct xgw_snap_hdrop *h = &s->hdrops[k];

					if (h->op != t ||
					    name_protected(xgw_snap_str_ptr(s, h->name),
							   h->name.len))
						continue;
					if (o->n == MAX_OPS)
						return -E2BIG;
					o->op[o->n++] = k;
				}
			}
		}
	}
	for (unsigned i = 0; i < o->n; i++) {
		struct xgw_snap_str ni = op_name(o, i);

		o->emit[i] = s->hdrops[o->op[i]].op != XGW_HDROP_REMOVE;
		for (unsigned j = i + 1; j < o->n && o->emit[i]; j++) {
			struct xgw_snap_str nj = op_name(o, j);

			if (s->hdrops[o->op[j]].op != XGW_HDROP_ADD &&
			    names_eq(xgw_snap_str_ptr(s, ni), ni.len, xgw_snap_str_ptr(s, nj),
				     nj.len))
				o->emit[i] = false;
		}
	}
	return 0;
}

/* Whether the received line <h> goes: a set or remove of its name replaces it. */
static bool ops_drop(const struct opset *o, const struct xgw_h1_header *h)
{
	for (unsigned i = 0; i < o->n; i++) {
		struct xgw_snap_str n = op_name(o, i);

		if (o->s->hdrops[o->op[i]].op != XGW_HDROP_ADD &&
		    names_eq(xgw_snap_str_ptr(o->s, n), n.len, h->name, h->name_len))
			return true;
	}
	return false;
}

/* What each header the parser classified is to the rewriting: most are H_KEEP (0). */
static const uint8_t kind_of[XGW_H1_HDR_COUNT] = {
	[XGW_H1_HDR_TE] = H_HOP,
	[XGW_H1_HDR_KEEP_ALIVE] = H_HOP,
	[XGW_H1_HDR_PROXY_CONNECTION] = H_HOP,
	[XGW_H1_HDR_HOST] = H_HOST,
	[XGW_H1_HDR_UPGRADE] = H_UPGRADE,
	[XGW_H1_HDR_CONNECTION] = H_CONNECTION,
	[XGW_H1_HDR_CONTENT_LENGTH] = H_CL,
	[XGW_H1_HDR_TRANSFER_ENCODING] = H_TE,
	[XGW_H1_HDR_X_FORWARDED_FOR] = H_XFF,
	[XGW_H1_HDR_X_FORWARDED_HOST] = H_XFH,
	[XGW_H1_HDR_X_FORWARDED_PROTO] = H_XFP,
};

/*
 * The ids of the lines mark_drops() may drop, rewrite or look at besides the
 * filters' names (Host only for a URLRewrite hostname): a request head with
 * none of them goes as it came.
 */
#define SPECIAL_IDS                                                                                \
	(XGW_H1_HDR_BIT(XGW_H1_HDR_TE) | XGW_H1_HDR_BIT(XGW_H1_HDR_KEEP_ALIVE) |                   \
	 XGW_H1_HDR_BIT(XGW_H1_HDR_PROXY_CONNECTION) | XGW_H1_HDR_BIT(XGW_H1_HDR_UPGRADE) |        \
	 XGW_H1_HDR_BIT(XGW_H1_HDR_CONNECTION) | XGW_H1_HDR_BIT(XGW_H1_HDR_CONTENT_LENGTH) |       \
	 XGW_H1_HDR_BIT(XGW_H1_HDR_X_FORWARDED_FOR) |                                              \
	 XGW_H1_HDR_BIT(XGW_H1_HDR_X_FORWARDED_HOST) |                                             \
	 XGW_H1_HDR_BIT(XGW_H1_HDR_X_FORWARDED_PROTO))

/* The parser's id says it; an id out of range (never from the parser) is kept as is. */
static enum hkind classify(const struct xgw_h1_header *h)
{
	return h->id < XGW_H1_HDR_COUNT ? (enum hkind)kind_of[h->id] : H_KEEP;
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
		      bool upgrade, const struct opset *ops, bool *has_xfh, bool *norm_cl)
{
	struct tokens tk; /* only tk.t[0, tk.n) is read: no need to clear 256 bytes */
	unsigned n_cl = 0;
	bool cl_list = false;
	int last_xff = -1;

	tk.n = 0;
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

		if (ops->n && kinds[i] != H_CL && kinds[i] != H_TE && ops_drop(ops, &hdrs[i])) {
			kinds[i] |= H_DROP;
			continue;
		}
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
			/* Never hop-by-hop, whatever Connection says; a URLRewrite replaces it. */
			drop = ops->drop_host;
			break;
		case H_TE:
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

/* The lines the operations of <o> add, one precomputed iovec each. */
static int emit_ops(struct xgw_xfer *x, const struct opset *o, const struct xgw_rw_filters *flt)
{
	const struct xgw_router *r = flt ? flt->router : NULL;

	for (unsigned i = 0; i < o->n; i++) {
		const struct xgw_snap_hdrop *h = &o->s->hdrops[o->op[i]];

		if (o->emit[i])
			EMIT(x, r->lines + r->op_line[o->op[i]], h->name.len + h->value.len + 4);
	}
	return 0;
}

/*
 * The path <f> makes of <path>: at most two views (out[0], out[1]) whose
 * concatenation is the new path. PREFIX replaces flt->prefix (FULL when the
 * match was not a PathPrefix); trailing slashes of the prefix and of the
 * replacement are dropped so that segments join with exactly one '/', and an
 * empty result is "/".
 */
static void new_path(const struct xgw_rw_filters *flt, const struct xgw_snap_filter *f,
		     const char *path, size_t path_len, struct iovec out[2])
{
	const struct xgw_snapshot *s = flt->router->snap;
	const char *rp = xgw_snap_str_ptr(s, f->path);
	size_t rlen = f->path.len, plen = flt->prefix_len;

	out[1].iov_base = NULL;
	out[1].iov_len = 0;
	if (f->path_mod == XGW_PATHMOD_NONE) {
		out[0].iov_base = (void *)path;
		out[0].iov_len = path_len;
		return;
	}
	if (f->path_mod == XGW_PATHMOD_FULL || !flt->prefix) {
		out[0].iov_base = (void *)(rlen ? rp : "/");
		out[0].iov_len = rlen ? rlen : 1;
		return;
	}
	while (plen && flt->prefix[plen - 1] == '/')
		plen--;
	if (plen > path_len || memcmp(flt->prefix, path, plen))
		plen = 0; /* not the path's prefix after all: replace nothing */
	while (rlen && rp[rlen - 1] == '/')
		rlen--;
	out[0].iov_base = (void *)rp;
	out[0].iov_len = rlen;
	out[1].iov_base = (void *)(path + plen);
	out[1].iov_len = path_len - plen;
	if (!rlen && plen == path_len) {
		out[0].iov_base = (void *)"/";
		out[0].iov_len = 1;
	}
}

/* clang-format off */
/* Bytes a host may have to go into a Forwarded quoted-string as it is. */
static const uint8_t fwd_hostchar[256] = {
	['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['0' ... '9'] = 1,
	['-'] = 1, ['.'] = 1, [':'] = 1, ['['] = 1, [']'] = 1, ['_'] = 1,
};
/* clang-format on */

/* Can <host> go into a Forwarded quoted-string as it is: a name or address and a port? */
static bool fwd_host_ok(const char *host, size_t len)
{
	if (!len || len > 255)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!fwd_hostchar[(uint8_t)host[i]])
			return false;
	return true;
}

int xgw_rewrite_request(struct xgw_xfer *x, const struct xgw_h1_request *req, const char *head_end,
			const struct xgw_rw_req *rw)
{
	uint8_t kinds[XGW_H1_MAX_HEADERS];
	struct opset ops;
	const char *from = req->method;
	bool has_xfh, norm_cl, keep_all;
	int last_xff, err;

	x->iov_i = x->iov_n = 0;
	err = collect_ops(&ops, rw->flt, XGW_FILTER_REQUEST_HEADER);
	if (err)
		return err;
	/* Most requests: every line is kept as it came, in one piece. */
	keep_all = !ops.n && !ops.drop_host && !(req->hdr_ids & SPECIAL_IDS);
	if (keep_all) {
		last_xff = -1;
		has_xfh = norm_cl = false;
	} else {
		last_xff = mark_drops(req->headers, req->n_headers, kinds, true, rw->upgrade, &ops,
				      &has_xfh, &norm_cl);
	}
	if (ops.path_filter != XGW_SNAP_NONE && req->path_len && req->path[0] == '/') {
		struct iovec np[2];

		/* The target becomes origin-form: the new path, then the query as received. */
		new_path(rw->flt, &ops.s->filters[ops.path_filter], req->path, req->path_len, np);
		EMIT(x, req->method, (size_t)(req->target - req->method));
		EMIT(x, np[0].iov_base, np[0].iov_len);
		EMIT(x, np[1].iov_base, np[1].iov_len);
		if (req->query)
			EMIT(x, req->query - 1, req->query_len + 1);
		from = req->target + req->target_len;
	}
	/* From the method on: a CRLF the parser skipped before the request line is not sent. */
	if (keep_all)
		EMIT(x, from, (size_t)(head_end - 2 - from));
	else if ((err = emit_kept(x, from, head_end, req->headers, req->n_headers, kinds, last_xff,
				  rw->xff_app, rw->xff_app_len)))
		return err;
	if (ops.host_filter != XGW_SNAP_NONE) {
		const struct xgw_router *r = rw->flt->router;

		EMIT(x, r->lines + r->host_line[ops.host_filter],
		     ops.s->filters[ops.host_filter].hostname.len + 8);
	}
	err = emit_ops(x, &ops, rw->flt);
	if (err)
		return err;
	if (rw->close)
		EMIT_STR(x, conn_close);
	else if (rw->upgrade)
		EMIT_STR(x, conn_upgrade);
	else
		EMIT_STR(x, conn_ka);
	if (last_xff < 0)
		EMIT(x, rw->xff_line, rw->xff_line_len);
	if (rw->tls)
		EMIT_STR(x, xfp_line_tls);
	else
		EMIT_STR(x, xfp_line);
	if (!has_xfh && req->host_len) {
		EMIT_STR(x, xfh_name);
		EMIT(x, req->host, req->host_len);
		EMIT_STR(x, crlf);
	}
	if (rw->fwd_len) {
		/* after the client's Forwarded lines: together they are one list, in order */
		EMIT(x, rw->fwd, rw->fwd_len);
		if (fwd_host_ok(req->host, req->host_len)) {
			EMIT_STR(x, fwd_host);
			EMIT(x, req->host, req->host_len);
			EMIT_STR(x, quote_crlf);
		} else {
			EMIT_STR(x, crlf);
		}
	}
	if (norm_cl && (err = emit_cl(x, req->content_length)))
		return err;
	EMIT_STR(x, crlf);
	return 0;
}

int xgw_rewrite_response(struct xgw_xfer *x, const struct xgw_h1_response *resp, const char *head,
			 const char *head_end, enum xgw_conn_mode mode,
			 const struct xgw_rw_filters *flt)
{
	uint8_t kinds[XGW_H1_MAX_HEADERS];
	struct opset ops;
	bool has_xfh, norm_cl;
	int err;

	x->iov_i = x->iov_n = 0;
	err = collect_ops(&ops, flt, XGW_FILTER_RESPONSE_HEADER);
	if (err)
		return err;
	mark_drops(resp->headers, resp->n_headers, kinds, false, mode == XGW_CONN_UPGRADE, &ops,
		   &has_xfh, &norm_cl);
	err = emit_kept(x, head, head_end, resp->headers, resp->n_headers, kinds, -1, NULL, 0);
	if (err)
		return err;
	err = emit_ops(x, &ops, flt);
	if (!err && flt)
		err = xgw_cors_response(x, flt);
	if (!err && flt)
		err = xgw_session_emit(x, flt);
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

/* Status lines of redirects, laid out once. */
static const uint16_t redir_status[] = { 301, 302, 303, 307, 308 };
#define N_REDIR (sizeof(redir_status) / sizeof(redir_status[0]))
static char redir_line[N_REDIR][48];
static uint8_t redir_len[N_REDIR];

static bool str_is(const char *p, size_t len, const char *lower)
{
	return xgw_h1_name_eq(p, len, lower);
}

int xgw_rewrite_redirect(struct xgw_xfer *x, const struct xgw_h1_request *req,
			 const struct xgw_rw_filters *flt, uint32_t filter, bool keep_alive)
{
	static const char loc[] = "Location: ";
	static const char tail_ka[] = "\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";
	static const char tail_close[] = "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	const struct xgw_snapshot *s = flt->router->snap;
	const struct xgw_snap_filter *f = &s->filters[filter];
	const char *scheme = flt->tls ? "https" : "http",
		   *host = f->hostname.len ? xgw_snap_str_ptr(s, f->hostname) : NULL;
	size_t scheme_len = flt->tls ? 5 : 4, host_len = f->hostname.len, si = 1;
	struct iovec np[2];
	uint32_t port;

	x->iov_i = x->iov_n = 0;
	for (size_t i = 0; i < N_REDIR; i++)
		if (redir_status[i] == f->status)
			si = i;
	EMIT(x, redir_line[si], redir_len[si]);
	EMIT_STR(x, loc);
	if (f->scheme.len) {
		scheme = xgw_snap_str_ptr(s, f->scheme);
		scheme_len = f->scheme.len;
	}
	if (!host && req->host_len) {
		/* The request's host without its port ("[v6]" kept whole). */
		const char *end =
			req->host[0] == '[' ? memchr(req->host, ']', req->host_len) : NULL;
		const char *colon;

		host = req->host;
		host_len = req->host_len;
		if (end)
			host_len = (size_t)(end - host) + 1;
		else if ((colon = memchr(host, ':', host_len)))
			host_len = (size_t)(colon - host);
	}
	if (host_len) {
		port = f->port ? f->port : f->scheme.len ? 0 : flt->listen_port;
		EMIT(x, scheme, scheme_len);
		EMIT_STR(x, "://");
		EMIT(x, host, host_len);
		if (port && !(port == 80 && str_is(scheme, scheme_len, "http")) &&
		    !(port == 443 && str_is(scheme, scheme_len, "https"))) {
			int n = snprintf(x->extra, sizeof(x->extra), ":%u", port);

			EMIT(x, x->extra, (size_t)n);
		}
	}
	new_path(flt, f, req->path, req->path_len, np);
	EMIT(x, np[0].iov_base, np[0].iov_len);
	EMIT(x, np[1].iov_base, np[1].iov_len);
	if (req->query)
		EMIT(x, req->query - 1, req->query_len + 1);
	if (keep_alive)
		EMIT_STR(x, tail_ka);
	else
		EMIT_STR(x, tail_close);
	return 0;
}

/* Gateway-generated responses, laid out once. */
static const uint16_t lresp_status[] = { 400, 403, 404, 408, 413, 414, 417, 421,
					 431, 500, 501, 502, 503, 504, 505 };
#define N_LRESP (sizeof(lresp_status) / sizeof(lresp_status[0]))
#define LRESP_MAX 192

static char lresp_buf[N_LRESP][2][LRESP_MAX];
static struct xgw_lresp lresp[N_LRESP][2];

void xgw_rewrite_init(void)
{
	for (size_t i = 0; i < N_REDIR; i++)
		redir_len[i] = (uint8_t)snprintf(redir_line[i], sizeof(redir_line[i]),
						 "HTTP/1.1 %u %s\r\n", redir_status[i],
						 xgw_h1_reason(redir_status[i]));
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
