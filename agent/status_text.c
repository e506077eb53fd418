// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The status document written straight to text: the bytes that
 * json_dumps(xgw_status_json(...), JSON_COMPACT) gives, without a jansson
 * tree. At 10,000 routes the tree costs about 0.4 G instructions to build,
 * 0.16 G to free and 1.3 G to dump; this costs a few percent of that.
 *
 * Where jansson would refuse a value (a NULL or invalid UTF-8 string),
 * json_pack() fails and the caller of xgw_status_json() appends nothing; each
 * unit below mirrors that: it writes its value or rolls back to where it
 * started and says so. selftests/unit/test_status_cases.c checks the two
 * agree byte for byte.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__) && !defined(XGW_STATUS_SCALAR)
#include <emmintrin.h>
#endif

#include "status.h"
#include "xgw/netaddr.h"

struct tbuf {
	char *p;
	size_t n, cap;
	bool oom;
};

static __attribute__((noinline)) void t_grow(struct tbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom)
		return;
	cap = b->cap ? b->cap : 65536;
	while (cap < b->n + more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static inline void t_reserve(struct tbuf *b, size_t more)
{
	if (b->n + more > b->cap)
		t_grow(b, more);
}

static inline void t_put(struct tbuf *b, const char *s, size_t len)
{
	t_reserve(b, len);
	if (b->oom)
		return;
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

#define T_LIT(b, s) t_put(b, s, sizeof(s) - 1)

/* "%lld" of <v>, without snprintf (two per condition). */
static void t_int(struct tbuf *b, long long v)
{
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	char num[24], *p = num + sizeof(num);

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	t_put(b, p, (size_t)(num + sizeof(num) - p));
}

/* Is <s> valid UTF-8 as jansson checks it (no overlongs, surrogates, > U+10FFFF)? */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i], n, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if (i + n >= len)
			return false;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/*
 * The length of <s>'s leading run of bytes that go into a JSON string as they
 * are (printable ASCII but '"' and '\\'): up to its NUL, or to the first byte
 * that needs a look. SSE2 reads 16 aligned bytes at a time (an aligned load
 * never crosses into the next page, so reading past the NUL is safe).
 */
#if defined(__SSE2__) && !defined(XGW_STATUS_SCALAR)
/* AddressSanitizer would call the bytes of the block past the NUL an overflow. */
__attribute__((no_sanitize_address)) static size_t plain_len(const char *s)
{
	const __m128i sp = _mm_set1_epi8(0x20), dq = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
	uintptr_t at = (uintptr_t)s & ~(uintptr_t)15;

	for (unsigned skip = (unsigned)((uintptr_t)s & 15);; at += 16, skip = 0) {
		__m128i v = _mm_load_si128((const __m128i *)at);
		/* signed: bytes >= 0x80 are below 0x20 too, and so is the NUL */
		__m128i m =
			_mm_or_si128(_mm_cmplt_epi8(v, sp),
				     _mm_or_si128(_mm_cmpeq_epi8(v, dq), _mm_cmpeq_epi8(v, bs)));
		unsigned bits = (unsigned)_mm_movemask_epi8(m) >> skip << skip;

		if (bits)
			return (size_t)(at - (uintptr_t)s) + (unsigned)__builtin_ctz(bits);
	}
}
#else
static size_t plain_len(const char *s)
{
	size_t len;

	for (len = 0; s[len]; len++) {
		unsigned char c = (unsigned char)s[len];

		if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
			break;
	}
	return len;
}
#endif

/* A JSON string as jansson dumps it (UTF-8 kept, "/" not escaped). False: NULL or bad UTF-8. */
static bool t_str(struct tbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len, start;

	if (!s)
		return false;
	/* most strings are plain ASCII: one scan, one copy */
	len = plain_len(s);
	if (!s[len]) {
		t_reserve(b, len + 2);
		if (b->oom)
			return true;
		b->p[b->n++] = '"';
		memcpy(b->p + b->n, s, len);
		b->n += len;
		b->p[b->n++] = '"';
		return true;
	}
	len += strlen(s + len);
	if (!utf8_valid((const unsigned char *)s, len))
		return false;
	t_reserve(b, len + 2);
	T_LIT(b, "\"");
	start = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t el = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		t_put(b, s + start, i - start);
		start = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
			break;
		}
		t_put(b, esc, el);
	}
	t_put(b, s + start, len - start);
	T_LIT(b, "\"");
	return true;
}

/* "key": followed by string <v>; false (nothing kept by the caller) when <v> is refused. */
#define T_KEYSTR(b, key, v) (T_LIT(b, "\"" key "\":"), t_str(b, v))

/* Append ",": before every element of an array or object but the first. */
static void t_sep(struct tbuf *b, size_t open_at)
{
	if (b->n > open_at + 1)
		T_LIT(b, ",");
}

static bool cond_json(struct tbuf *b, const struct xgw_condition *c, bool programmed)
{
	bool pending = !programmed && !strcmp(c->type, "Programmed") && !strcmp(c->status, "True");

	T_LIT(b, "{");
	if (!T_KEYSTR(b, "type", c->type))
		return false;
	T_LIT(b, ",");
	if (!T_KEYSTR(b, "status", pending ? "Unknown" : c->status))
		return false;
	T_LIT(b, ",");
	if (!T_KEYSTR(b, "reason", pending ? "Pending" : c->reason))
		return false;
	T_LIT(b, ",");
	if (!T_KEYSTR(b, "message", pending ? "waiting for the data plane" : c->message))
		return false;
	T_LIT(b, ",\"observedGeneration\":");
	t_int(b, c->observed_generation);
	T_LIT(b, "}");
	return true;
}

static void conds_json(struct tbuf *b, const struct xgw_conds *cs, bool programmed)
{
	size_t open = b->n;

	T_LIT(b, "[");
	for (int i = 0; i < cs->n; i++) {
		size_t at = b->n;

		t_sep(b, open);
		if (!cond_json(b, &cs->c[i], programmed))
			b->n = at;
	}
	T_LIT(b, "]");
}

static bool listener_json(struct tbuf *b, const struct xgw_listener_status *l, bool programmed)
{
	size_t open;

	T_LIT(b, "{");
	if (!T_KEYSTR(b, "name", l->name))
		return false;
	T_LIT(b, ",\"attachedRoutes\":");
	t_int(b, l->attached_routes);
	T_LIT(b, ",\"supportedKinds\":");
	open = b->n;
	T_LIT(b, "[");
	for (int k = 0; k < l->n_supported_kinds; k++) {
		size_t at = b->n;

		t_sep(b, open);
		T_LIT(b, "{\"group\":\"gateway.networking.k8s.io\",");
		if (!T_KEYSTR(b, "kind", l->supported_kinds[k])) {
			b->n = at;
			continue;
		}
		T_LIT(b, "}");
	}
	T_LIT(b, "],\"conditions\":");
	conds_json(b, &l->conds, programmed);
	T_LIT(b, "}");
	return true;
}

static void listeners_json(struct tbuf *b, const struct xgw_listener_status *ls, size_t n,
			   bool programmed)
{
	size_t open = b->n;

	T_LIT(b, "[");
	for (size_t i = 0; i < n; i++) {
		size_t at = b->n;

		t_sep(b, open);
		if (!listener_json(b, &ls[i], programmed))
			b->n = at;
	}
	T_LIT(b, "]");
}

/* A Gateway: keys whose string jansson refuses are left out (json_object_set_new(NULL)). */
static void gateway_json(struct tbuf *b, const struct xgw_gateway_status *g, bool programmed)
{
	char ip[XGW_IP_STRLEN];
	size_t open = b->n, at;

	T_LIT(b, "{");
	at = b->n;
	if (!T_KEYSTR(b, "namespace", g->ns))
		b->n = at;
	at = b->n;
	t_sep(b, open);
	if (!T_KEYSTR(b, "name", g->name))
		b->n = at;
	t_sep(b, open);
	T_LIT(b, "\"status\":{\"addresses\":[");
	if (g->family) {
		at = b->n;
		T_LIT(b, "{\"type\":\"IPAddress\",");
		if (T_KEYSTR(b, "value", xgw_ip_format(g->family, g->addr, ip)))
			T_LIT(b, "}");
		else
			b->n = at;
	}
	T_LIT(b, "],\"conditions\":");
	conds_json(b, &g->conds, programmed);
	T_LIT(b, ",\"listeners\":");
	listeners_json(b, g->listeners, g->n_listeners, programmed);
	T_LIT(b, ",\"attachedListenerSets\":");
	t_int(b, g->attached_listener_sets);
	T_LIT(b, "}}");
}

static bool listenerset_json(struct tbuf *b, const struct xgw_listenerset_status *ls,
			     bool programmed)
{
	T_LIT(b, "{");
	if (!T_KEYSTR(b, "namespace", ls->ns))
		return false;
	T_LIT(b, ",");
	if (!T_KEYSTR(b, "name", ls->name))
		return false;
	T_LIT(b, ",\"status\":{\"conditions\":");
	conds_json(b, &ls->conds, programmed);
	T_LIT(b, ",\"listeners\":");
	listeners_json(b, ls->listeners, ls->n_listeners, programmed);
	T_LIT(b, "}}");
	return true;
}

/* {"group":..,"kind":..,"namespace":..,"name":..}; false when refused. */
static bool ref_json(struct tbuf *b, const char *kind, const char *ns, const char *name)
{
	T_LIT(b, "{\"group\":\"gateway.networking.k8s.io\",");
	if (!T_KEYSTR(b, "kind", kind))
		return false;
	T_LIT(b, ",");
	if (!T_KEYSTR(b, "namespace", ns))
		return false;
	T_LIT(b, ",");
	return T_KEYSTR(b, "name", name);
}

static bool route_json(struct tbuf *b, const struct xgw_route_status *r, bool programmed)
{
	size_t open;

	T_LIT(b, "{");
	if (!T_KEYSTR(b, "namespace", r->ns))
		return false;
	T_LIT(b, ",");
	if (!T_KEYSTR(b, "name", r->name))
		return false;
	T_LIT(b, ",\"status\":{\"parents\":");
	open = b->n;
	T_LIT(b, "[");
	for (size_t i = 0; i < r->n_parents; i++) {
		const struct xgw_parent_status *p = &r->parents[i];
		size_t at = b->n;

		t_sep(b, open);
		T_LIT(b, "{\"parentRef\":");
		if (!ref_json(b, p->kind, p->ns, p->name)) {
			b->n = at;
			continue;
		}
		if (p->section_name) {
			size_t s = b->n;

			T_LIT(b, ",");
			if (!T_KEYSTR(b, "sectionName", p->section_name))
				b->n = s;
		}
		if (p->port) {
			T_LIT(b, ",\"port\":");
			t_int(b, p->port);
		}
		T_LIT(b, "},\"controllerName\":\"" XGW_CONTROLLER_NAME "\",\"conditions\":");
		conds_json(b, &p->conds, programmed);
		T_LIT(b, "}");
	}
	T_LIT(b, "]}}");
	return true;
}

static bool policy_json(struct tbuf *b, const struct xgw_policy_status *p)
{
	size_t open;

	T_LIT(b, "{");
	if (!T_KEYSTR(b, "namespace", p->ns))
		return false;
	T_LIT(b, ",");
	if (!T_KEYSTR(b, "name", p->name))
		return false;
	T_LIT(b, ",\"status\":{\"ancestors\":");
	open = b->n;
	T_LIT(b, "[");
	for (size_t i = 0; i < p->n_ancestors; i++) {
		const struct xgw_ancestor_status *a = &p->ancestors[i];
		size_t at = b->n;

		t_sep(b, open);
		T_LIT(b, "{\"ancestorRef\":");
		if (!ref_json(b, "Gateway", a->ns, a->name)) {
			b->n = at;
			continue;
		}
		T_LIT(b, "},\"controllerName\":\"" XGW_CONTROLLER_NAME "\",\"conditions\":");
		conds_json(b, &a->conds, true);
		T_LIT(b, "}");
	}
	T_LIT(b, "]}}");
	return true;
}

/*
 * What a body's routes may take from an earlier body (<old>, of the result
 * the routes' same_as count in; NULL: nothing), and where they go in this one
 * (<off>, <len>: per route, NULL: not asked).
 */
struct memo {
	const struct xgw_status_body *old;
	size_t *off, *len;
};

/* The bytes of <r> in <m>'s old body, or NULL when it has none to give. */
static const char *memo_find(const struct memo *m, const struct xgw_route_status *r, size_t *len)
{
	size_t j = r->same_as - 1;

	if (!m->old || !r->same_as || j >= m->old->n_routes || !m->old->route_len[j])
		return NULL;
	*len = m->old->route_len[j];
	return m->old->text + m->old->route_off[j];
}

static void routes_of_kind(struct tbuf *b, const struct xgw_reconcile_result *res, const char *kind,
			   bool programmed, const struct memo *m)
{
	size_t open = b->n;

	T_LIT(b, "[");
	for (size_t i = 0; i < res->n_routes; i++) {
		const struct xgw_route_status *r = &res->routes[i];
		const char *rk = r->kind ? r->kind : "HTTPRoute", *same;
		size_t at = b->n, start, len;

		if (!r->n_parents || (rk != kind && (rk[0] != kind[0] || strcmp(rk, kind))))
			continue;
		t_sep(b, open);
		start = b->n;
		if ((same = memo_find(m, r, &len))) {
			t_put(b, same, len);
		} else if (!route_json(b, r, programmed)) {
			b->n = at;
			continue;
		}
		if (m->off) {
			m->off[i] = start;
			m->len[i] = b->oom ? 0 : b->n - start;
		}
	}
	T_LIT(b, "]");
}

/*
 * The statuses: "gatewayClasses":[...] up to "backendTLSPolicies":[...], what
 * depends on <res> and <programmed> alone.
 */
static void t_body(struct tbuf *b, const struct xgw_reconcile_result *res, bool programmed,
		   const struct memo *m)
{
	static const struct {
		const char *kind, *key;
	} lists[] = {
		{ "HTTPRoute", ",\"httpRoutes\":" }, { "GRPCRoute", ",\"grpcRoutes\":" },
		{ "TLSRoute", ",\"tlsRoutes\":" },   { "TCPRoute", ",\"tcpRoutes\":" },
		{ "UDPRoute", ",\"udpRoutes\":" },
	};
	size_t open;

	T_LIT(b, "\"gatewayClasses\":");
	open = b->n;
	T_LIT(b, "[");
	for (size_t i = 0; i < res->n_classes; i++) {
		const struct xgw_class_status *c = &res->classes[i];
		size_t at = b->n;

		if (!c->ours)
			continue;
		t_sep(b, open);
		T_LIT(b, "{");
		if (!T_KEYSTR(b, "name", c->name)) {
			b->n = at;
			continue;
		}
		T_LIT(b, ",\"status\":{\"conditions\":");
		conds_json(b, &c->conds, true);
		T_LIT(b, "}}");
	}
	T_LIT(b, "],\"gateways\":");
	open = b->n;
	T_LIT(b, "[");
	for (size_t i = 0; i < res->n_gateways; i++) {
		if (!res->gateways[i].ours)
			continue;
		t_sep(b, open);
		gateway_json(b, &res->gateways[i], programmed);
	}
	T_LIT(b, "],\"listenerSets\":");
	open = b->n;
	T_LIT(b, "[");
	for (size_t i = 0; i < res->n_listenersets; i++) {
		size_t at = b->n;

		t_sep(b, open);
		if (!listenerset_json(b, &res->listenersets[i], programmed))
			b->n = at;
	}
	T_LIT(b, "]");
	for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
		t_put(b, lists[k].key, strlen(lists[k].key));
		routes_of_kind(b, res, lists[k].kind, programmed, m);
	}
	T_LIT(b, ",\"backendTLSPolicies\":");
	open = b->n;
	T_LIT(b, "[");
	for (size_t i = 0; i < res->n_policies; i++) {
		size_t at = b->n;

		if (!res->policies[i].n_ancestors)
			continue;
		t_sep(b, open);
		if (!policy_json(b, &res->policies[i]))
			b->n = at;
	}
	T_LIT(b, "]");
}

static int t_done(struct tbuf *b, char **out, size_t *len)
{
	if (b->oom) {
		free(b->p);
		return -ENOMEM;
	}
	*out = b->p;
	*len = b->n;
	return 0;
}

int xgw_status_render_body(const struct xgw_reconcile_result *res, bool programmed, char **out,
			   size_t *len)
{
	static const struct memo none;
	struct tbuf b = { 0 };

	t_body(&b, res, programmed, &none);
	return t_done(&b, out, len);
}

int xgw_status_body_update(struct xgw_status_body *body, const struct xgw_reconcile_result *res,
			   uint64_t statuses, uint64_t prev_statuses, bool programmed)
{
	bool have = body->text && body->programmed == programmed;
	struct xgw_status_body next = { .statuses = statuses, .programmed = programmed };
	struct memo m = { 0 };
	struct tbuf b = { 0 };
	int err;

	if (have && statuses && body->statuses == statuses)
		return 0;
	if (have && prev_statuses && body->statuses == prev_statuses)
		m.old = body;
	next.n_routes = res->n_routes;
	/* per route: zero for those left out of the document */
	m.off = next.route_off = calloc(res->n_routes + 1, sizeof(*next.route_off));
	m.len = next.route_len = calloc(res->n_routes + 1, sizeof(*next.route_len));
	if (!next.route_off || !next.route_len) {
		b.oom = true;
	} else {
		/* about the size of the last: no copies while it grows */
		if (body->len)
			t_reserve(&b, body->len + body->len / 8);
		t_body(&b, res, programmed, &m);
	}
	err = t_done(&b, &next.text, &next.len);
	xgw_status_body__free(body);
	if (err) {
		free(next.route_off);
		free(next.route_len);
		return err;
	}
	*body = next;
	return 0;
}

void xgw_status_body__free(struct xgw_status_body *body)
{
	free(body->text);
	free(body->route_off);
	free(body->route_len);
	*body = (struct xgw_status_body){ 0 };
}

/* The document around the statuses <body> (t_body's bytes, or NULL to render <res>'s). */
static int render(const struct xgw_reconcile_result *res, const char *body, size_t body_len,
		  uint64_t gen, bool programmed, const struct xgw_status_rejected *rej, char **out,
		  size_t *len)
{
	struct tbuf b = { 0 };

	T_LIT(&b, "{\"generation\":");
	t_int(&b, (long long)gen);
	if (programmed)
		T_LIT(&b, ",\"programmed\":true,");
	else
		T_LIT(&b, ",\"programmed\":false,");
	if (body)
		t_put(&b, body, body_len);
	else
		t_body(&b, res, programmed, &(const struct memo){ 0 });
	if (rej && rej->gen) {
		T_LIT(&b, ",\"rejected\":{\"generation\":");
		t_int(&b, (long long)rej->gen);
		T_LIT(&b, ",\"worker\":");
		t_int(&b, rej->worker);
		T_LIT(&b, ",");
		T_KEYSTR(&b, "error", strerror(-rej->err));
		T_LIT(&b, ",\"serving\":");
		t_int(&b, (long long)gen);
		T_LIT(&b, "}");
	}
	T_LIT(&b, "}");
	return t_done(&b, out, len);
}

int xgw_status_render(const struct xgw_reconcile_result *res, uint64_t gen, bool programmed,
		      const struct xgw_status_rejected *rej, char **out, size_t *len)
{
	return render(res, NULL, 0, gen, programmed, rej, out, len);
}

int xgw_status_render_around(const char *body, size_t body_len, uint64_t gen, bool programmed,
			     const struct xgw_status_rejected *rej, char **out, size_t *len)
{
	return render(NULL, body, body_len, gen, programmed, rej, out, len);
}
