// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * HTTPRoute decoding: parentRefs, hostnames, rules with their matches,
 * filters (header modifiers, redirect, rewrite, mirror, CORS), backendRefs,
 * timeouts and retry. Errors name the field path, as in lib/decode.c. The
 * parentRef, backendRef, filter and header match decoders serve GRPCRoute
 * (lib/decode_grpc.c) too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode-int.h"

void xgw_dec_parent_ref(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_parent_ref *p = out;

	p->group = xgw_dec_opt_str(c, m, "group", XGW_GATEWAY_GROUP);
	p->kind = xgw_dec_opt_str(c, m, "kind", "Gateway");
	p->ns = xgw_dec_opt_str(c, m, "namespace", NULL);
	p->name = xgw_dec_req_str(c, m, "name");
	p->section_name = xgw_dec_opt_str(c, m, "sectionName", NULL);
	/* 0 means "any port" here, so an explicit 0 is an error, not a default. */
	p->port = (uint32_t)xgw_dec_get_int(c, m, "port", 0, 1, 65535, PORT_WANT, NULL);
}

void xgw_dec_backend_fields(struct dctx *c, const struct xgw_ynode *m, struct xgw_backend_ref *b)
{
	b->group = xgw_dec_opt_str(c, m, "group", "");
	b->kind = xgw_dec_opt_str(c, m, "kind", "Service");
	b->ns = xgw_dec_opt_str(c, m, "namespace", NULL);
	b->name = xgw_dec_req_str(c, m, "name");
	b->port = xgw_dec_get_port(c, m, "port", false);
	b->weight = (uint32_t)xgw_dec_get_int(c, m, "weight", 1, 0, INT32_MAX,
					      "an integer 0..1000000", NULL);
}

void xgw_dec_backend_ref(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_backend_ref *b = out;

	xgw_dec_backend_fields(c, m, b);
	b->filters = xgw_dec_get_list(c, m, "filters", XGW_YNODE_MAP, sizeof(*b->filters),
				      xgw_dec_filter, &b->n_filters);
}

static void decode_header_kv(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_header_kv *kv = out;

	kv->name = xgw_dec_req_str(c, m, "name");
	kv->value = xgw_dec_opt_str(c, m, "value", NULL);
	if (!c->err && !kv->value)
		xgw_dec_fail(c, "value", m, "required field is missing");
}

/* requestHeaderModifier / responseHeaderModifier */
static void decode_header_mod(struct dctx *c, const struct xgw_ynode *f, const char *key,
			      struct xgw_http_filter *hf)
{
	const struct xgw_ynode *m = xgw_dec_get_map(c, f, key);
	size_t old;

	if (!c->err && !m)
		xgw_dec_fail(c, key, f, "required for this filter type");
	old = xgw_dec_push_key(c, key);
	hf->set = xgw_dec_get_list(c, m, "set", XGW_YNODE_MAP, sizeof(*hf->set), decode_header_kv,
				   &hf->n_set);
	hf->add = xgw_dec_get_list(c, m, "add", XGW_YNODE_MAP, sizeof(*hf->add), decode_header_kv,
				   &hf->n_add);
	hf->remove = xgw_dec_get_strs(c, m, "remove", &hf->n_remove);
	xgw_dec_path_pop(c, old);
}

/* path: {type: ReplaceFullPath | ReplacePrefixMatch, replaceFullPath | replacePrefixMatch} */
static void decode_path_mod(struct dctx *c, const struct xgw_ynode *m, struct xgw_http_filter *hf)
{
	static const char *const types[] = { "", "ReplaceFullPath", "ReplacePrefixMatch", NULL };
	const struct xgw_ynode *p = xgw_dec_get_map(c, m, "path");
	size_t old = xgw_dec_push_key(c, "path");

	if (p) {
		hf->path_mod = (enum xgw_path_modifier)xgw_dec_enum_of(
			c, p, "type", NULL, types, "ReplaceFullPath or ReplacePrefixMatch");
		hf->path = xgw_dec_opt_str(c, p,
					   hf->path_mod == XGW_PM_FULL ? "replaceFullPath"
								       : "replacePrefixMatch",
					   NULL);
		if (!c->err && !hf->path)
			xgw_dec_fail(c,
				     hf->path_mod == XGW_PM_FULL ? "replaceFullPath"
								 : "replacePrefixMatch",
				     p, "required for this path type");
	}
	xgw_dec_path_pop(c, old);
}

void xgw_dec_filter(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	static const char *const types[] = { "",
					     "RequestHeaderModifier",
					     "ResponseHeaderModifier",
					     "RequestRedirect",
					     "URLRewrite",
					     "RequestMirror",
					     "CORS",
					     "ExtensionRef",
					     NULL };
	struct xgw_http_filter *hf = out;
	const struct xgw_ynode *sub;
	size_t old;

	hf->type = (enum xgw_filter_type)xgw_dec_enum_of(
		c, m, "type", NULL, types,
		"one of RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, "
		"URLRewrite, RequestMirror, CORS, ExtensionRef");
	switch (hf->type) {
	case XGW_HF_REQUEST_HEADER:
		decode_header_mod(c, m, "requestHeaderModifier", hf);
		break;
	case XGW_HF_RESPONSE_HEADER:
		decode_header_mod(c, m, "responseHeaderModifier", hf);
		break;
	case XGW_HF_REDIRECT:
		sub = xgw_dec_get_map(c, m, "requestRedirect");
		old = xgw_dec_push_key(c, "requestRedirect");
		hf->scheme = xgw_dec_opt_str(c, sub, "scheme", NULL);
		hf->hostname = xgw_dec_opt_str(c, sub, "hostname", NULL);
		hf->port = (uint32_t)xgw_dec_get_int(c, sub, "port", 0, 1, 65535, PORT_WANT, NULL);
		hf->status_code = (uint32_t)xgw_dec_get_int(c, sub, "statusCode", 302, 300, 399,
							    "a redirect status code", NULL);
		decode_path_mod(c, sub, hf);
		xgw_dec_path_pop(c, old);
		break;
	case XGW_HF_URL_REWRITE:
		sub = xgw_dec_get_map(c, m, "urlRewrite");
		old = xgw_dec_push_key(c, "urlRewrite");
		hf->hostname = xgw_dec_opt_str(c, sub, "hostname", NULL);
		decode_path_mod(c, sub, hf);
		xgw_dec_path_pop(c, old);
		break;
	case XGW_HF_MIRROR: {
		const struct xgw_ynode *br, *fr;

		sub = xgw_dec_get_map(c, m, "requestMirror");
		old = xgw_dec_push_key(c, "requestMirror");
		br = xgw_dec_get_map(c, sub, "backendRef");
		if (!c->err && !br) {
			xgw_dec_fail(c, "backendRef", sub, "required field is missing");
		} else if (br) {
			size_t o2 = xgw_dec_push_key(c, "backendRef");

			hf->mirror = xgw_dec_alloc_array(c, 1, sizeof(*hf->mirror));
			if (hf->mirror)
				xgw_dec_backend_ref(c, br, hf->mirror);
			xgw_dec_path_pop(c, o2);
		}
		hf->mirror_num = hf->mirror_den = 100;
		if (xgw_dec_get(sub, "percent"))
			hf->mirror_num = (uint32_t)xgw_dec_get_int(c, sub, "percent", 100, 0, 100,
								   "an integer 0..100", NULL);
		fr = xgw_dec_get_map(c, sub, "fraction");
		if (fr) {
			size_t o2 = xgw_dec_push_key(c, "fraction");

			hf->mirror_num =
				(uint32_t)xgw_dec_get_int(c, fr, "numerator", 0, 0, INT32_MAX,
							  "a non-negative integer", NULL);
			hf->mirror_den =
				(uint32_t)xgw_dec_get_int(c, fr, "denominator", 100, 1, INT32_MAX,
							  "a positive integer", NULL);
			if (!c->err && hf->mirror_num > hf->mirror_den)
				xgw_dec_fail(c, "numerator", fr, "must not exceed the denominator");
			xgw_dec_path_pop(c, o2);
		}
		xgw_dec_path_pop(c, old);
		break;
	}
	case XGW_HF_CORS:
		sub = xgw_dec_get_map(c, m, "cors");
		if (!c->err && !sub)
			xgw_dec_fail(c, "cors", m, "required for this filter type");
		old = xgw_dec_push_key(c, "cors");
		hf->cors.origins = xgw_dec_get_strs(c, sub, "allowOrigins", &hf->cors.n_origins);
		hf->cors.methods = xgw_dec_get_strs(c, sub, "allowMethods", &hf->cors.n_methods);
		hf->cors.headers = xgw_dec_get_strs(c, sub, "allowHeaders", &hf->cors.n_headers);
		hf->cors.expose = xgw_dec_get_strs(c, sub, "exposeHeaders", &hf->cors.n_expose);
		hf->cors.credentials = xgw_dec_get_bool(c, sub, "allowCredentials", false);
		hf->cors.max_age = (uint32_t)xgw_dec_get_int(c, sub, "maxAge", 5, 1, INT32_MAX,
							     "a positive number of seconds", NULL);
		for (size_t i = 0; i < hf->cors.n_origins && !c->err; i++) {
			const char *o = hf->cors.origins[i], *star = strchr(o, '*');

			if (!*o || (star && strchr(star + 1, '*')) ||
			    (strcmp(o, "*") && !strstr(o, "://")))
				xgw_dec_fail(
					c, "allowOrigins", xgw_dec_get(sub, "allowOrigins"),
					"expected \"*\" or scheme://host[:port] with at most one "
					"\"*\", got \"%s\"",
					o);
		}
		xgw_dec_path_pop(c, old);
		break;
	default:
		break; /* ExtensionRef: the reconciler reports it */
	}
}

/*
 * A Gateway API Duration (GEP-2257): one or more <number><unit> with units h,
 * m, s, ms, e.g. "1h30m", "10s", "500ms". Returns milliseconds, or -1.
 */
static int64_t parse_duration(const char *s)
{
	int64_t total = 0;

	if (!s || !*s)
		return -1;
	while (*s) {
		int64_t v = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 6) {
			v = v * 10 + (*s++ - '0');
			digits++;
		}
		if (!digits)
			return -1;
		if (s[0] == 'm' && s[1] == 's')
			s += 2;
		else if (*s == 'h')
			v *= 3600000, s++;
		else if (*s == 'm')
			v *= 60000, s++;
		else if (*s == 's')
			v *= 1000, s++;
		else
			return -1;
		total += v;
	}
	return total > UINT32_MAX ? -1 : total;
}

static uint32_t get_duration(struct dctx *c, const struct xgw_ynode *m, const char *key)
{
	char *s = xgw_dec_opt_str(c, m, key, NULL);
	int64_t ms = parse_duration(s);

	if (!s || c->err)
		return 0;
	if (ms < 0) {
		xgw_dec_fail(c, key, xgw_dec_get(m, key),
			     "expected a duration such as 10s, 500ms or 1h30m, got \"%s\"", s);
		return 0;
	}
	return (uint32_t)ms;
}

/* An item of headers / queryParams. */
void xgw_dec_kv_match(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_kv_match *kv = out;

	kv->type = xgw_dec_opt_str(c, m, "type", "Exact");
	kv->name = xgw_dec_req_str(c, m, "name");
	kv->value = xgw_dec_opt_str(c, m, "value", NULL);
	if (!c->err && !kv->value)
		xgw_dec_fail(c, "value", m, "required field is missing");
}

static void decode_match(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	static const char *const path_types[] = { "PathPrefix", "Exact", "RegularExpression",
						  NULL };
	struct xgw_http_match *hm = out;
	const struct xgw_ynode *path = xgw_dec_get_map(c, m, "path");
	size_t old = xgw_dec_push_key(c, "path");

	hm->path_type =
		(enum xgw_path_match)xgw_dec_enum_of(c, path, "type", "PathPrefix", path_types,
						     "one of Exact, PathPrefix, RegularExpression");
	hm->path = xgw_dec_opt_str(c, path, "value", "/");
	xgw_dec_path_pop(c, old);
	hm->method = xgw_dec_opt_str(c, m, "method", NULL);
	hm->headers = xgw_dec_get_list(c, m, "headers", XGW_YNODE_MAP, sizeof(*hm->headers),
				       xgw_dec_kv_match, &hm->n_headers);
	hm->query = xgw_dec_get_list(c, m, "queryParams", XGW_YNODE_MAP, sizeof(*hm->query),
				     xgw_dec_kv_match, &hm->n_query);
}

/* An item of retry.codes: a status code 400..599 (the CRD's bounds). */
static void retry_code(struct dctx *c, const struct xgw_ynode *n, void *out)
{
	char buf[96];
	int64_t v;

	if (xgw_yaml_int(n, &v) || v < 400 || v > 599) {
		xgw_dec_fail(c, NULL, n, "expected an HTTP status code 400..599, got %s",
			     xgw_dec_got(n, buf, sizeof(buf)));
		return;
	}
	*(uint16_t *)out = (uint16_t)v;
}

/* A cookie-name / header field-name: an RFC 9110 token, as the CRD's pattern. */
static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

/* rules[].sessionPersistence, with the CRD's validation. */
static void decode_session(struct dctx *c, const struct xgw_ynode *m, struct xgw_session *sp)
{
	static const char *const types[] = { "Cookie", "Header", NULL };
	static const char *const lifetimes[] = { "Session", "Permanent", NULL };
	const struct xgw_ynode *cc;

	sp->type = XGW_SESSION_COOKIE +
		   xgw_dec_enum_of(c, m, "type", "Cookie", types, "one of Cookie, Header");
	sp->name = xgw_dec_opt_str(c, m, "sessionName", NULL);
	if (sp->name && !c->err && (strlen(sp->name) > 128 || !is_token(sp->name)))
		xgw_dec_fail(c, "sessionName", xgw_dec_get(m, "sessionName"),
			     "expected a cookie or header name (a token of at most 128 "
			     "characters), got \"%s\"",
			     sp->name);
	sp->absolute_ms = get_duration(c, m, "absoluteTimeout");
	sp->idle_ms = get_duration(c, m, "idleTimeout");
	cc = xgw_dec_get_map(c, m, "cookieConfig");
	if (cc) {
		size_t old = xgw_dec_push_key(c, "cookieConfig");

		sp->permanent = xgw_dec_enum_of(c, cc, "lifetimeType", "Session", lifetimes,
						"one of Session, Permanent") == 1;
		xgw_dec_path_pop(c, old);
	}
	if (c->err)
		return;
	if (sp->permanent && sp->type != XGW_SESSION_COOKIE)
		xgw_dec_fail(c, "cookieConfig", cc, "a Permanent lifetime needs type Cookie");
	else if (sp->permanent && !sp->absolute_ms)
		xgw_dec_fail(c, "cookieConfig", cc, "a Permanent cookie needs an absoluteTimeout");
}

static void decode_rule(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_http_rule *r = out;

	const struct xgw_ynode *t;

	r->name = xgw_dec_opt_str(c, m, "name", NULL);
	r->filters = xgw_dec_get_list(c, m, "filters", XGW_YNODE_MAP, sizeof(*r->filters),
				      xgw_dec_filter, &r->n_filters);
	t = xgw_dec_get_map(c, m, "timeouts");
	if (t) {
		size_t old = xgw_dec_push_key(c, "timeouts");

		r->timeout_request_ms = get_duration(c, t, "request");
		r->timeout_backend_ms = get_duration(c, t, "backendRequest");
		xgw_dec_path_pop(c, old);
	}
	t = xgw_dec_get_map(c, m, "retry");
	if (t) {
		size_t old = xgw_dec_push_key(c, "retry");

		r->retry.set = true;
		r->retry.codes =
			xgw_dec_get_list(c, t, "codes", XGW_YNODE_SCALAR, sizeof(*r->retry.codes),
					 retry_code, &r->retry.n_codes);
		r->retry.attempts =
			(uint32_t)xgw_dec_get_int(c, t, "attempts", XGW_RETRY_ATTEMPTS_DEFAULT, 1,
						  INT32_MAX, "a positive integer", NULL);
		r->retry.backoff_ms = xgw_dec_get(t, "backoff") ? get_duration(c, t, "backoff")
								: XGW_RETRY_BACKOFF_DEFAULT_MS;
		xgw_dec_path_pop(c, old);
	}
	t = xgw_dec_get_map(c, m, "sessionPersistence");
	if (t) {
		size_t old = xgw_dec_push_key(c, "sessionPersistence");

		decode_session(c, t, &r->session);
		xgw_dec_path_pop(c, old);
	}
	r->matches = xgw_dec_get_list(c, m, "matches", XGW_YNODE_MAP, sizeof(*r->matches),
				      decode_match, &r->n_matches);
	r->backends = xgw_dec_get_list(c, m, "backendRefs", XGW_YNODE_MAP, sizeof(*r->backends),
				       xgw_dec_backend_ref, &r->n_backends);
}

void xgw_dec_httproute(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_httproute hr = {};
	const struct xgw_ynode *spec;
	size_t old;

	xgw_dec_decode_meta(c, root, &hr.meta, true);
	spec = xgw_dec_get_map(c, root, "spec");
	old = xgw_dec_push_key(c, "spec");
	hr.parents = xgw_dec_get_list(c, spec, "parentRefs", XGW_YNODE_MAP, sizeof(*hr.parents),
				      xgw_dec_parent_ref, &hr.n_parents);
	hr.hostnames = xgw_dec_get_strs(c, spec, "hostnames", &hr.n_hostnames);
	hr.rules = xgw_dec_get_list(c, spec, "rules", XGW_YNODE_MAP, sizeof(*hr.rules), decode_rule,
				    &hr.n_rules);
	if (!c->err && !xgw_dec_get(spec, "rules")) {
		/* The API's default: one rule matching PathPrefix "/" (n_matches 0). */
		hr.rules = xgw_dec_alloc_array(c, 1, sizeof(*hr.rules));
		hr.n_rules = hr.rules ? 1 : 0;
	}
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, httproutes, &hr))
		xgw_dec_oom(c);
}
