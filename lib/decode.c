// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * YAML manifests to the typed model of xgw/model.h.
 *
 * Decoding applies the API's defaults and checks types, never semantics
 * (duplicate listener names, dangling references... are the reconciler's to
 * report). A document that cannot be decoded becomes one xgw_decode_error and
 * is skipped; unknown fields are ignored, so newer manifests still load.
 *
 * Field helpers share a sticky error in struct dctx: the first failure
 * formats its message with the field path ("spec.listeners[0].port: ...")
 * and later calls do nothing, so a decoder reads straight through and
 * checks c->err once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xgw/log.h"
#include "xgw/model.h"
#include "xgw/netaddr.h"
#include "yaml_tree.h"
#include "decode-int.h"

/* A manifest file larger than this is refused rather than read into memory. */

/* --- paths and errors --------------------------------------------------- */

/*
 * The path is kept as a stack of keys and indices and only formatted when a
 * field fails: decoding a valid object never pays for it.
 */
static size_t path_add(struct dctx *c, const char *key, size_t idx)
{
	size_t old = c->plen;

	if (c->plen < PATH_DEPTH)
		c->path[c->plen++] = (struct path_elem){ key, idx };
	return old;
}

/* Appends ".key" (or "key" at the root) to the path; returns the old length. */
size_t xgw_dec_push_key(struct dctx *c, const char *key)
{
	return path_add(c, key, 0);
}

static size_t push_idx(struct dctx *c, size_t i)
{
	return path_add(c, NULL, i);
}

void xgw_dec_path_pop(struct dctx *c, size_t old)
{
	c->plen = old;
}

static void path_format(const struct dctx *c, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->plen && n < len; i++) {
		const struct path_elem *e = &c->path[i];
		int w = e->key ? snprintf(buf + n, len - n, "%s%s", n ? "." : "", e->key)
			       : snprintf(buf + n, len - n, "[%zu]", e->idx);

		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* Fails the object at field <key> of the current path (<key> may be NULL). */
void xgw_dec_fail(struct dctx *c, const char *key, const struct xgw_ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void xgw_dec_fail(struct dctx *c, const char *key, const struct xgw_ynode *at, const char *fmt, ...)
{
	size_t old = c->plen;
	char text[TEXT_LEN];
	va_list ap;

	if (c->err)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (key)
		xgw_dec_push_key(c, key);
	if (c->plen) {
		char path[PATH_LEN];

		path_format(c, path, sizeof(path));
		snprintf(c->msg, sizeof(c->msg), "%s: %s", path, text);
	} else {
		snprintf(c->msg, sizeof(c->msg), "%s", text);
	}
	xgw_dec_path_pop(c, old);
	c->err = -EINVAL;
	c->line = at ? at->line : 0;
}

void xgw_dec_oom(struct dctx *c)
{
	if (!c->err || c->err == -EINVAL)
		c->err = -ENOMEM;
}

/* "got ..." for type errors: the text of a scalar, else what the node is. */
const char *xgw_dec_got(const struct xgw_ynode *n, char *buf, size_t size)
{
	if (!n)
		return "nothing";
	if (n->type == XGW_YNODE_SCALAR && n->scalar.kind != XGW_YSCALAR_NULL) {
		snprintf(buf, size, "\"%.64s\"%s%s", n->scalar.s, n->scalar.len > 64 ? "..." : "",
			 n->scalar.quoted && n->scalar.kind == XGW_YSCALAR_STR
				 ? " (a quoted string)"
				 : "");
		return buf;
	}
	return xgw_yaml_type_name(n);
}

/* Appends a copy of *<item> to a growable store array; false on ENOMEM. */
bool xgw_dec_push(void **arr, size_t *n, size_t *cap, size_t size, const void *item)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		void *p = reallocarray(*arr, ncap, size);

		if (!p)
			return false;
		*arr = p;
		*cap = ncap;
	}
	memcpy((char *)*arr + *n * size, item, size);
	(*n)++;
	return true;
}

/* --- field helpers ------------------------------------------------------ */

static char *copy_str(struct dctx *c, const char *s, size_t len)
{
	char *p;

	if (c->err)
		return NULL;
	p = xgw_arena_alloc(c->a, len + 1);
	if (!p) {
		xgw_dec_oom(c);
		return NULL;
	}
	memcpy(p, s, len);
	return p;
}

char *xgw_dec_dup_str(struct dctx *c, const char *s)
{
	return s ? copy_str(c, s, strlen(s)) : NULL;
}

void *xgw_dec_alloc_array(struct dctx *c, size_t n, size_t size)
{
	void *p;

	if (c->err || !n)
		return NULL;
	p = xgw_arena_alloc(c->a, n * size);
	if (!p)
		xgw_dec_oom(c);
	return p;
}

/* The value of <key> in <m>, NULL when absent or null. */
const struct xgw_ynode *xgw_dec_get(const struct xgw_ynode *m, const char *key)
{
	const struct xgw_ynode *n = xgw_yaml_get(m, key);

	return xgw_yaml_is_null(n) ? NULL : n;
}

/* A string value: scalars of any type are taken as written. */
char *xgw_dec_str_of(struct dctx *c, const char *key, const struct xgw_ynode *n)
{
	char buf[16];

	if (c->err || !n)
		return NULL;
	if (n->type != XGW_YNODE_SCALAR) {
		xgw_dec_fail(c, key, n, "expected a string, got %s",
			     xgw_dec_got(n, buf, sizeof(buf)));
		return NULL;
	}
	if (strlen(n->scalar.s) != n->scalar.len) {
		xgw_dec_fail(c, key, n, "contains a NUL character");
		return NULL;
	}
	return copy_str(c, n->scalar.s, n->scalar.len);
}

/* Optional string <key> of <m>: <def> (copied) when absent, NULL for no default. */
char *xgw_dec_opt_str(struct dctx *c, const struct xgw_ynode *m, const char *key, const char *def)
{
	const struct xgw_ynode *n = xgw_dec_get(m, key);

	return n ? xgw_dec_str_of(c, key, n) : xgw_dec_dup_str(c, def);
}

/* Required non-empty string <key> of <m>. */
char *xgw_dec_req_str(struct dctx *c, const struct xgw_ynode *m, const char *key)
{
	const struct xgw_ynode *n = xgw_dec_get(m, key);
	char *s;

	if (!n) {
		xgw_dec_fail(c, key, m, "required field is missing");
		return NULL;
	}
	s = xgw_dec_str_of(c, key, n);
	if (s && !*s)
		xgw_dec_fail(c, key, n, "must not be empty");
	return s;
}

/*
 * Integer <key> of <m> in [<lo>, <hi>]; <def> when absent (*<present> says
 * which, if given). <want> describes valid values for the message.
 */
int64_t xgw_dec_get_int(struct dctx *c, const struct xgw_ynode *m, const char *key, int64_t def,
			int64_t lo, int64_t hi, const char *want, bool *present)
{
	const struct xgw_ynode *n = xgw_dec_get(m, key);
	char buf[96];
	int64_t v;
	int err;

	if (present)
		*present = false;
	if (c->err || !n)
		return def;
	err = xgw_yaml_int(n, &v);
	if (err || v < lo || v > hi) {
		xgw_dec_fail(
			c, key, n, "expected %s, got %s%s", want, xgw_dec_got(n, buf, sizeof(buf)),
			err == -ERANGE || (!err && (v < lo || v > hi)) ? " (out of range)" : "");
		return def;
	}
	if (present)
		*present = true;
	return v;
}

/*
 * A port. Kubernetes ports are int32: a value outside 1..65535 that is still
 * a non-negative int32 is kept for the reconciler to report in status (a
 * Gateway must say which listener is invalid); anything else cannot be a
 * port at all and fails the object.
 */
uint32_t xgw_dec_get_port(struct dctx *c, const struct xgw_ynode *m, const char *key, bool required)
{
	if (required && !xgw_dec_get(m, key)) {
		xgw_dec_fail(c, key, m, "required field is missing");
		return 0;
	}
	return (uint32_t)xgw_dec_get_int(c, m, key, 0, 0, INT32_MAX, PORT_WANT, NULL);
}

bool xgw_dec_get_bool(struct dctx *c, const struct xgw_ynode *m, const char *key, bool def)
{
	const struct xgw_ynode *n = xgw_dec_get(m, key);
	char buf[96];
	bool v;

	if (c->err || !n)
		return def;
	if (xgw_yaml_bool(n, &v)) {
		xgw_dec_fail(c, key, n, "expected true or false, got %s",
			     xgw_dec_got(n, buf, sizeof(buf)));
		return def;
	}
	return v;
}

/* Mapping <key> of <m>, or NULL when absent or on error. */
const struct xgw_ynode *xgw_dec_get_map(struct dctx *c, const struct xgw_ynode *m, const char *key)
{
	const struct xgw_ynode *n = xgw_dec_get(m, key);
	char buf[96];

	if (c->err || !n)
		return NULL;
	if (n->type != XGW_YNODE_MAP) {
		xgw_dec_fail(c, key, n, "expected a mapping, got %s",
			     xgw_dec_got(n, buf, sizeof(buf)));
		return NULL;
	}
	return n;
}

/* List <key> of <m>: its length in *<n> (0 when absent or on error). */
static const struct xgw_ynode *get_seq(struct dctx *c, const struct xgw_ynode *m, const char *key,
				       size_t *len)
{
	const struct xgw_ynode *n = xgw_dec_get(m, key);
	char buf[96];

	*len = 0;
	if (c->err || !n)
		return NULL;
	if (n->type != XGW_YNODE_SEQ) {
		xgw_dec_fail(c, key, n, "expected a list, got %s",
			     xgw_dec_got(n, buf, sizeof(buf)));
		return NULL;
	}
	*len = n->seq.n;
	return n;
}

/*
 * List <key> of <m> as a new arena array of <size>-byte elements, its length
 * in *<len>. Each item must be a node of <type>: XGW_YNODE_MAP for a mapping,
 * XGW_YNODE_SCALAR for a string (any non-null scalar); <item> decodes item i
 * into element i, with the path at "key[i]". NULL and *<len> 0 when the list
 * is absent or empty, or on an error before the first item.
 */
void *xgw_dec_get_list(struct dctx *c, const struct xgw_ynode *m, const char *key,
		       enum xgw_ynode_type type, size_t size,
		       void (*item)(struct dctx *c, const struct xgw_ynode *n, void *out),
		       size_t *len)
{
	const struct xgw_ynode *seq = get_seq(c, m, key, len);
	char *v = xgw_dec_alloc_array(c, *len, size);
	char buf[96];
	size_t old;

	if (!v) {
		*len = 0;
		return NULL;
	}
	old = xgw_dec_push_key(c, key);
	for (size_t i = 0; i < *len && !c->err; i++) {
		const struct xgw_ynode *n = seq->seq.items[i];
		size_t o = push_idx(c, i);

		if (n->type != type || xgw_yaml_is_null(n))
			xgw_dec_fail(c, NULL, n, "expected %s, got %s",
				     type == XGW_YNODE_MAP ? "a mapping" : "a string",
				     xgw_dec_got(n, buf, sizeof(buf)));
		else
			item(c, n, v + i * size);
		xgw_dec_path_pop(c, o);
	}
	xgw_dec_path_pop(c, old);
	return v;
}

static void str_item(struct dctx *c, const struct xgw_ynode *n, void *out)
{
	*(char **)out = xgw_dec_str_of(c, NULL, n);
}

/* A list of strings. */
char **xgw_dec_get_strs(struct dctx *c, const struct xgw_ynode *m, const char *key, size_t *len)
{
	return xgw_dec_get_list(c, m, key, XGW_YNODE_SCALAR, sizeof(char *), str_item, len);
}

/* A map of strings to strings (labels, matchLabels); a null value is "". */
static struct xgw_label *get_labels(struct dctx *c, const struct xgw_ynode *m, const char *key,
				    size_t *len)
{
	const struct xgw_ynode *map = xgw_dec_get_map(c, m, key);
	struct xgw_label *v;
	size_t old;

	*len = 0;
	if (!map)
		return NULL;
	v = xgw_dec_alloc_array(c, map->map.n, sizeof(*v));
	if (!v)
		return NULL;
	old = xgw_dec_push_key(c, key);
	for (size_t i = 0; i < map->map.n && !c->err; i++) {
		const struct xgw_ynode *k = map->map.pairs[i].key, *val = map->map.pairs[i].value;

		v[i].key = xgw_dec_str_of(c, NULL, k);
		v[i].value = xgw_yaml_is_null(val) ? copy_str(c, "", 0)
						   : xgw_dec_str_of(c, k->scalar.s, val);
	}
	xgw_dec_path_pop(c, old);
	if (!c->err)
		*len = map->map.n;
	return v;
}

/* Maps <s> to its index in <names>; fails when it is none of them. */
int xgw_dec_enum_of(struct dctx *c, const struct xgw_ynode *m, const char *key, const char *def,
		    const char *const *names, const char *want)
{
	const struct xgw_ynode *n = xgw_dec_get(m, key);
	const char *s = n ? (n->type == XGW_YNODE_SCALAR ? n->scalar.s : NULL) : def;
	char buf[96];

	if (c->err)
		return 0;
	for (int i = 0; s && names[i]; i++)
		if (!strcmp(s, names[i]))
			return i;
	xgw_dec_fail(c, key, n, "expected %s, got %s", want, xgw_dec_got(n, buf, sizeof(buf)));
	return 0;
}

/*
 * A hostname of the API: a DNS name (RFC 1123 labels of at most 63
 * characters, 253 in all), no IP address, no port; with <wildcard>, "*." and
 * such a name too. Lower-cased in place, as names compare.
 */
bool xgw_dec_hostname_ok(char *h, bool wildcard)
{
	size_t n = strlen(h);
	char *p = h;

	if (!n || n > 253)
		return false;
	if (wildcard && p[0] == '*') {
		if (p[1] != '.' || !p[2])
			return false;
		p += 2;
	}
	for (char *q = p; *q; q++) {
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
		else if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '-' ||
			   *q == '.'))
			return false;
	}
	/* no empty label, no label starting or ending with '-' */
	for (const char *l = p; *l;) {
		size_t len = strcspn(l, ".");

		if (!len || len > 63 || l[0] == '-' || l[len - 1] == '-')
			return false;
		l += len;
		if (*l == '.' && !*++l)
			return false;
	}
	/* a dotted quad is an IP address, which the API does not allow here */
	return strspn(p, "0123456789.") != strlen(p);
}

/* --- metadata ----------------------------------------------------------- */

void xgw_dec_decode_meta(struct dctx *c, const struct xgw_ynode *root, struct xgw_meta *meta,
			 bool namespaced)
{
	const struct xgw_ynode *m;
	size_t old;

	if (!xgw_dec_get(root, "metadata")) {
		xgw_dec_fail(c, "metadata", root, "required field is missing");
		return;
	}
	m = xgw_dec_get_map(c, root, "metadata");
	old = xgw_dec_push_key(c, "metadata");
	meta->name = xgw_dec_req_str(c, m, "name");
	if (namespaced) {
		meta->ns = xgw_dec_opt_str(c, m, "namespace", NULL);
		if (!c->err && (!meta->ns || !*meta->ns))
			meta->ns = xgw_dec_dup_str(c, "default");
	}
	meta->generation =
		xgw_dec_get_int(c, m, "generation", 1, INT64_MIN, INT64_MAX, "an integer", NULL);
	meta->uid = xgw_dec_opt_str(c, m, "uid", NULL);
	meta->creation_timestamp = xgw_dec_opt_str(c, m, "creationTimestamp", NULL);
	meta->labels = get_labels(c, m, "labels", &meta->n_labels);
	meta->annotations = get_labels(c, m, "annotations", &meta->n_annotations);
	xgw_dec_path_pop(c, old);
	meta->origin = *c->origin;
}

/* --- gateway.networking.k8s.io ------------------------------------------ */

static void decode_gatewayclass(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_gatewayclass gc = {};
	const struct xgw_ynode *spec;
	size_t old;

	xgw_dec_decode_meta(c, root, &gc.meta, false);
	spec = xgw_dec_get_map(c, root, "spec");
	old = xgw_dec_push_key(c, "spec");
	gc.controller_name = xgw_dec_req_str(c, spec, "controllerName");
	gc.description = xgw_dec_opt_str(c, spec, "description", NULL);
	if (xgw_dec_get(spec, "parametersRef")) {
		const struct xgw_ynode *pr = xgw_dec_get_map(c, spec, "parametersRef");
		size_t o2 = xgw_dec_push_key(c, "parametersRef");

		gc.params_group = xgw_dec_opt_str(c, pr, "group", "");
		gc.params_kind = xgw_dec_req_str(c, pr, "kind");
		gc.params_name = xgw_dec_req_str(c, pr, "name");
		gc.params_ns = xgw_dec_opt_str(c, pr, "namespace", NULL);
		xgw_dec_path_pop(c, o2);
	}
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, classes, &gc))
		xgw_dec_oom(c);
}

static const char *const proto_names[] = { "", "HTTP", "HTTPS", "TLS", "TCP", "UDP", NULL };

static enum xgw_listener_proto proto_of(const char *s)
{
	for (int i = 1; s && proto_names[i]; i++)
		if (!strcmp(s, proto_names[i]))
			return (enum xgw_listener_proto)i;
	return XGW_PROTO_UNKNOWN;
}

static void decode_label_expr(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_label_expr *x = out;

	x->key = xgw_dec_req_str(c, m, "key");
	x->op = xgw_dec_req_str(c, m, "operator");
	x->values = xgw_dec_get_strs(c, m, "values", &x->n_values);
}

static void decode_selector(struct dctx *c, const struct xgw_ynode *m, const char *key,
			    struct xgw_label_selector *sel)
{
	const struct xgw_ynode *map = xgw_dec_get_map(c, m, key);
	size_t old = xgw_dec_push_key(c, key);

	sel->match_labels = get_labels(c, map, "matchLabels", &sel->n_match_labels);
	sel->exprs = xgw_dec_get_list(c, map, "matchExpressions", XGW_YNODE_MAP,
				      sizeof(*sel->exprs), decode_label_expr, &sel->n_exprs);
	xgw_dec_path_pop(c, old);
}

static void decode_route_kind(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_route_kind *k = out;

	k->group = xgw_dec_opt_str(c, m, "group", XGW_GATEWAY_GROUP);
	k->kind = xgw_dec_req_str(c, m, "kind");
}

static const char *const from_names[] = { "Same", "All", "Selector", "None", NULL };

/* The "namespaces" map of <parent>: from (<def> when omitted) and its selector. */
static enum xgw_from decode_namespaces(struct dctx *c, const struct xgw_ynode *parent,
				       const char *def, struct xgw_label_selector *sel)
{
	const struct xgw_ynode *ns = xgw_dec_get_map(c, parent, "namespaces");
	size_t old = xgw_dec_push_key(c, "namespaces");
	enum xgw_from from = (enum xgw_from)xgw_dec_enum_of(c, ns, "from", def, from_names,
							    "one of Same, All, Selector, None");

	if (xgw_dec_get(ns, "selector"))
		decode_selector(c, ns, "selector", sel);
	xgw_dec_path_pop(c, old);
	return from;
}

static void decode_allowed_routes(struct dctx *c, const struct xgw_ynode *m,
				  struct xgw_gw_listener *l)
{
	const struct xgw_ynode *ar = xgw_dec_get_map(c, m, "allowedRoutes");
	size_t old = xgw_dec_push_key(c, "allowedRoutes");

	l->from = decode_namespaces(c, ar, "Same", &l->selector);
	l->kinds = xgw_dec_get_list(c, ar, "kinds", XGW_YNODE_MAP, sizeof(*l->kinds),
				    decode_route_kind, &l->n_kinds);
	xgw_dec_path_pop(c, old);
}

/* A reference to a core object: group "" and <kind> when omitted. */
static void decode_object_ref(struct dctx *c, const struct xgw_ynode *m, struct xgw_cert_ref *cr,
			      const char *kind)
{
	cr->group = xgw_dec_opt_str(c, m, "group", "");
	cr->kind = xgw_dec_opt_str(c, m, "kind", kind);
	cr->name = xgw_dec_req_str(c, m, "name");
	cr->ns = xgw_dec_opt_str(c, m, "namespace", NULL);
}

static void decode_cert_ref(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	decode_object_ref(c, m, out, "Secret");
}

static void decode_listener_tls(struct dctx *c, const struct xgw_ynode *m,
				struct xgw_gw_listener *l)
{
	const struct xgw_ynode *tls = xgw_dec_get_map(c, m, "tls");
	size_t old;

	if (!tls)
		return;
	old = xgw_dec_push_key(c, "tls");
	l->tls_mode = xgw_dec_opt_str(c, tls, "mode", "Terminate");
	l->cert_refs = xgw_dec_get_list(c, tls, "certificateRefs", XGW_YNODE_MAP,
					sizeof(*l->cert_refs), decode_cert_ref, &l->n_cert_refs);
	xgw_dec_path_pop(c, old);
}

static void decode_listener(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_gw_listener *l = out;

	l->name = xgw_dec_req_str(c, m, "name");
	l->hostname = xgw_dec_opt_str(c, m, "hostname", NULL);
	l->port = xgw_dec_get_port(c, m, "port", true);
	l->proto_name = xgw_dec_req_str(c, m, "protocol");
	l->proto = proto_of(l->proto_name);
	decode_allowed_routes(c, m, l);
	decode_listener_tls(c, m, l);
}

static void decode_address(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_gw_address *a = out;

	a->type = xgw_dec_opt_str(c, m, "type", "IPAddress");
	a->value = xgw_dec_opt_str(c, m, "value", NULL);
}

static void decode_ca_ref(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	decode_object_ref(c, m, out, "ConfigMap");
}

/* A frontend "validation" map (under the current path). */
static void decode_validation(struct dctx *c, const struct xgw_ynode *m,
			      struct xgw_frontend_validation *v)
{
	const struct xgw_ynode *val = xgw_dec_get_map(c, m, "validation");
	size_t old = xgw_dec_push_key(c, "validation");

	v->mode = xgw_dec_opt_str(c, val, "mode", "AllowValidOnly");
	if (v->mode && strcmp(v->mode, "AllowValidOnly") &&
	    strcmp(v->mode, "AllowInsecureFallback"))
		xgw_dec_fail(c, "mode", xgw_dec_get(val, "mode"),
			     "expected AllowValidOnly or AllowInsecureFallback, got %s", v->mode);
	v->ca_refs = xgw_dec_get_list(c, val, "caCertificateRefs", XGW_YNODE_MAP,
				      sizeof(*v->ca_refs), decode_ca_ref, &v->n_ca_refs);
	xgw_dec_path_pop(c, old);
}

static void decode_fe_port(struct dctx *c, const struct xgw_ynode *m, void *out)
{
	struct xgw_frontend_validation *v = out;
	const struct xgw_ynode *tls;
	size_t old;

	v->port = xgw_dec_get_port(c, m, "port", true);
	tls = xgw_dec_get_map(c, m, "tls");
	old = xgw_dec_push_key(c, "tls");
	decode_validation(c, tls, v);
	xgw_dec_path_pop(c, old);
}

/* spec.tls: frontend client certificate validation, backend client certificate. */
static void decode_gateway_tls(struct dctx *c, const struct xgw_ynode *spec, struct xgw_gateway *gw)
{
	const struct xgw_ynode *tls = xgw_dec_get_map(c, spec, "tls"), *fe, *be, *n;
	size_t o1, o2;

	if (!tls)
		return;
	o1 = xgw_dec_push_key(c, "tls");
	fe = xgw_dec_get_map(c, tls, "frontend");
	if (fe) {
		o2 = xgw_dec_push_key(c, "frontend");
		if ((n = xgw_dec_get_map(c, fe, "default"))) {
			size_t o3 = xgw_dec_push_key(c, "default");

			gw->fe_default = xgw_arena_alloc(c->a, sizeof(*gw->fe_default));
			if (!gw->fe_default)
				xgw_dec_oom(c);
			else
				decode_validation(c, n, gw->fe_default);
			xgw_dec_path_pop(c, o3);
		}
		gw->fe_ports =
			xgw_dec_get_list(c, fe, "perPort", XGW_YNODE_MAP, sizeof(*gw->fe_ports),
					 decode_fe_port, &gw->n_fe_ports);
		xgw_dec_path_pop(c, o2);
	}
	be = xgw_dec_get_map(c, tls, "backend");
	if (be && (n = xgw_dec_get_map(c, be, "clientCertificateRef"))) {
		o2 = xgw_dec_push_key(c, "backend");
		size_t o3 = xgw_dec_push_key(c, "clientCertificateRef");

		gw->backend_client_cert = xgw_arena_alloc(c->a, sizeof(*gw->backend_client_cert));
		if (!gw->backend_client_cert)
			xgw_dec_oom(c);
		else
			decode_cert_ref(c, n, gw->backend_client_cert);
		xgw_dec_path_pop(c, o3);
		xgw_dec_path_pop(c, o2);
	}
	xgw_dec_path_pop(c, o1);
}

/* spec.allowedListeners: None when omitted (GEP-1713: ListenerSets are opt-in). */
static void decode_allowed_listeners(struct dctx *c, const struct xgw_ynode *spec,
				     struct xgw_gateway *gw)
{
	const struct xgw_ynode *al = xgw_dec_get_map(c, spec, "allowedListeners");
	size_t old = xgw_dec_push_key(c, "allowedListeners");

	gw->allowed_listeners = decode_namespaces(c, al, "None", &gw->listeners_selector);
	xgw_dec_path_pop(c, old);
}

/*
 * Listener names are the key of a Gateway's (or ListenerSet's) listener list:
 * the API server refuses a second listener of a name (listMapKey), and so
 * does the folder source, naming both.
 */
static void unique_listener_names(struct dctx *c, const struct xgw_ynode *spec,
				  const struct xgw_gw_listener *l, size_t n)
{
	const struct xgw_ynode *list = xgw_dec_get(spec, "listeners");

	for (size_t j = 1; j < n && !c->err; j++)
		for (size_t i = 0; i < j; i++) {
			if (!l[i].name || !l[j].name || strcmp(l[i].name, l[j].name))
				continue;
			size_t old = xgw_dec_push_key(c, "listeners");

			push_idx(c, j);
			xgw_dec_fail(c, "name", list,
				     "\"%s\" is the name of listeners[%zu] too: listener names "
				     "must be unique",
				     l[j].name, i);
			xgw_dec_path_pop(c, old);
			break;
		}
}

static void decode_gateway(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_gateway gw = {};
	const struct xgw_ynode *spec, *infra, *params;
	size_t old;

	xgw_dec_decode_meta(c, root, &gw.meta, true);
	spec = xgw_dec_get_map(c, root, "spec");
	old = xgw_dec_push_key(c, "spec");
	gw.class_name = xgw_dec_req_str(c, spec, "gatewayClassName");
	gw.addresses = xgw_dec_get_list(c, spec, "addresses", XGW_YNODE_MAP, sizeof(*gw.addresses),
					decode_address, &gw.n_addresses);
	gw.listeners = xgw_dec_get_list(c, spec, "listeners", XGW_YNODE_MAP, sizeof(*gw.listeners),
					decode_listener, &gw.n_listeners);
	unique_listener_names(c, spec, gw.listeners, gw.n_listeners);
	decode_gateway_tls(c, spec, &gw);
	decode_allowed_listeners(c, spec, &gw);
	infra = xgw_dec_get_map(c, spec, "infrastructure");
	if (infra && xgw_dec_get(infra, "parametersRef")) {
		size_t o1 = xgw_dec_push_key(c, "infrastructure"), o2;

		params = xgw_dec_get_map(c, infra, "parametersRef");
		o2 = xgw_dec_push_key(c, "parametersRef");
		gw.params_kind = xgw_dec_req_str(c, params, "kind");
		gw.params_name = xgw_dec_req_str(c, params, "name");
		xgw_dec_path_pop(c, o2);
		xgw_dec_path_pop(c, o1);
	}
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, gateways, &gw))
		xgw_dec_oom(c);
}

static void decode_listenerset(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_listenerset ls = {};
	const struct xgw_ynode *spec, *pr;
	size_t old, o1;

	xgw_dec_decode_meta(c, root, &ls.meta, true);
	spec = xgw_dec_get_map(c, root, "spec");
	old = xgw_dec_push_key(c, "spec");
	pr = xgw_dec_get_map(c, spec, "parentRef");
	o1 = xgw_dec_push_key(c, "parentRef");
	ls.parent_group = xgw_dec_opt_str(c, pr, "group", XGW_GATEWAY_GROUP);
	ls.parent_kind = xgw_dec_opt_str(c, pr, "kind", "Gateway");
	ls.parent_ns = xgw_dec_opt_str(c, pr, "namespace", ls.meta.ns);
	ls.parent_name = xgw_dec_req_str(c, pr, "name");
	xgw_dec_path_pop(c, o1);
	ls.listeners = xgw_dec_get_list(c, spec, "listeners", XGW_YNODE_MAP, sizeof(*ls.listeners),
					decode_listener, &ls.n_listeners);
	unique_listener_names(c, spec, ls.listeners, ls.n_listeners);
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, listenersets, &ls))
		xgw_dec_oom(c);
}

/* --- xgw.io ------------------------------------------------------------ */

/* The largest weight: Maglev permutations are built per weight unit. */
#define XGW_NODE_WEIGHT_MAX 1000

static void decode_node(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_node node = {};
	const struct xgw_ynode *spec;
	size_t old;

	xgw_dec_decode_meta(c, root, &node.meta, false);
	if (!c->err && !xgw_dec_get(root, "spec")) {
		xgw_dec_fail(c, "spec", root, "required field is missing");
		return;
	}
	spec = xgw_dec_get_map(c, root, "spec");
	old = xgw_dec_push_key(c, "spec");
	node.address = xgw_dec_req_str(c, spec, "address");
	if (node.address && xgw_ip_parse(node.address, &node.family, node.addr))
		xgw_dec_fail(c, "address", xgw_dec_get(spec, "address"),
			     "expected an IPv4 or IPv6 address, got %s", node.address);
	node.weight = (uint32_t)xgw_dec_get_int(c, spec, "weight", 1, 0, XGW_NODE_WEIGHT_MAX,
						"an integer in 0..1000", NULL);
	node.healthy = xgw_dec_get_bool(c, spec, "healthy", true);
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, nodes, &node))
		xgw_dec_oom(c);
}

static void decode_pool(struct dctx *c, const struct xgw_ynode *n, void *out)
{
	struct xgw_cidr *p = out;
	const char *s = xgw_dec_str_of(c, NULL, n);

	if (s && xgw_cidr_parse(s, &p->family, p->addr, &p->prefix))
		xgw_dec_fail(c, NULL, n, "expected an IPv4 or IPv6 prefix (10.0.0.0/24), got %s",
			     s);
}

static void decode_config(struct dctx *c, const struct xgw_ynode *root)
{
	struct xgw_class_config cf = {};
	const struct xgw_ynode *spec;
	size_t old;

	xgw_dec_decode_meta(c, root, &cf.meta, false);
	spec = xgw_dec_get_map(c, root, "spec");
	old = xgw_dec_push_key(c, "spec");
	cf.pools = xgw_dec_get_list(c, spec, "addressPools", XGW_YNODE_SCALAR, sizeof(*cf.pools),
				    decode_pool, &cf.n_pools);
	cf.workers = (uint32_t)xgw_dec_get_int(c, spec, "workers", 0, 1, XGW_CONFIG_WORKERS_MAX,
					       "an integer in 1..64", NULL);
	xgw_dec_path_pop(c, old);
	if (!c->err && !STORE_PUSH(c->st, class_configs, &cf))
		xgw_dec_oom(c);
}

/* --- dispatch ----------------------------------------------------------- */

static const char *const v1_only[] = { "v1", NULL };
static const char *const gw_served[] = { "v1", "v1beta1", NULL };
static const char *const xgw_served[] = { "v1alpha1", NULL };
static const char *const grpc_served[] = { "v1", "v1alpha2", NULL };
static const char *const grant_served[] = { "v1", "v1beta1", "v1alpha2", NULL };
static const char *const tls_served[] = { "v1", "v1alpha3", "v1alpha2", NULL };
static const char *const l4_served[] = { "v1alpha2", NULL };

enum kind_flags {
	CLUSTER = 1 << 0,    /* cluster-scoped: no namespace */
	GATEWAY_API = 1 << 1 /* ignored kinds: counted in n_ignored */
};

struct kind_info {
	const char *group; /* "" for core */
	const char *kind;
	const char *const *versions; /* decoded kinds: the versions understood */
	void (*decode)(struct dctx *c, const struct xgw_ynode *root); /* NULL: ignored */
	unsigned int flags;
};

#define GW "gateway.networking.k8s.io"
#define GWX "gateway.networking.x-k8s.io"
static const struct kind_info kinds[] = {
	{ GW, "GatewayClass", gw_served, decode_gatewayclass, CLUSTER },
	{ GW, "Gateway", gw_served, decode_gateway, 0 },
	{ GW, "HTTPRoute", gw_served, xgw_dec_httproute, 0 },
	{ GW, "GRPCRoute", grpc_served, xgw_dec_grpcroute, 0 },
	{ "", "Service", v1_only, xgw_dec_service, 0 },
	{ "", "Namespace", v1_only, xgw_dec_namespace, CLUSTER },
	{ "discovery.k8s.io", "EndpointSlice", v1_only, xgw_dec_endpointslice, 0 },
	{ "xgw.io", "XgwNode", xgw_served, decode_node, CLUSTER },
	{ "xgw.io", "XgwConfig", xgw_served, decode_config, CLUSTER },
	{ GW, "ReferenceGrant", grant_served, xgw_dec_referencegrant, 0 },
	/* TLSRoute is v1 since Gateway API v1.5; TCPRoute and UDPRoute are v1alpha2 */
	{ GW, "TLSRoute", tls_served, xgw_dec_tlsroute, 0 },
	{ GW, "TCPRoute", l4_served, xgw_dec_tcproute, 0 },
	{ GW, "UDPRoute", l4_served, xgw_dec_udproute, 0 },
	{ GW, "ListenerSet", v1_only, decode_listenerset, 0 },
	{ GW, "BackendTLSPolicy", v1_only, xgw_dec_btls_policy, 0 },
	{ GWX, "XListenerSet", .flags = GATEWAY_API },
	{ GWX, "XBackendTrafficPolicy", .flags = GATEWAY_API },
	{ GWX, "XBackend", .flags = GATEWAY_API },
	{ GWX, "XMesh", .flags = GATEWAY_API },
	/* built-in kinds that manifest folders carry beside the routing objects */
	{ "", "ConfigMap", v1_only, xgw_dec_configmap, 0 },
	{ "", "Secret", v1_only, xgw_dec_secret, 0 },
	{ "", "ServiceAccount" },
	{ "", "Pod" },
	{ "", "PodTemplate" },
	{ "", "Endpoints" },
	{ "", "PersistentVolume" },
	{ "", "PersistentVolumeClaim" },
	{ "", "ReplicationController" },
	{ "", "LimitRange" },
	{ "", "ResourceQuota" },
	{ "", "Event" },
	{ "apps", "Deployment" },
	{ "apps", "DaemonSet" },
	{ "apps", "StatefulSet" },
	{ "apps", "ReplicaSet" },
	{ "batch", "Job" },
	{ "batch", "CronJob" },
	{ "policy", "PodDisruptionBudget" },
	{ "autoscaling", "HorizontalPodAutoscaler" },
	{ "networking.k8s.io", "NetworkPolicy" },
	{ "networking.k8s.io", "Ingress" },
	{ "networking.k8s.io", "IngressClass" },
	{ "rbac.authorization.k8s.io", "Role" },
	{ "rbac.authorization.k8s.io", "ClusterRole" },
	{ "rbac.authorization.k8s.io", "RoleBinding" },
	{ "rbac.authorization.k8s.io", "ClusterRoleBinding" },
	{ "apiextensions.k8s.io", "CustomResourceDefinition" },
	{ "admissionregistration.k8s.io", "ValidatingWebhookConfiguration" },
	{ "admissionregistration.k8s.io", "MutatingWebhookConfiguration" },
	{ "admissionregistration.k8s.io", "ValidatingAdmissionPolicy" },
	{ "admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding" },
	{ "scheduling.k8s.io", "PriorityClass" },
	{ "coordination.k8s.io", "Lease" },
};

static const struct kind_info *find_kind(const char *group, size_t glen, const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].group) == glen && !memcmp(kinds[i].group, group, glen) &&
		    !strcmp(kinds[i].kind, kind))
			return &kinds[i];
	return NULL;
}

static bool version_ok(const struct kind_info *ki, const char *version)
{
	for (const char *const *v = ki->versions; *v; v++)
		if (!strcmp(*v, version))
			return true;
	return false;
}

/* kind: List, as "kubectl get -o yaml" writes: its items are decoded one by one. */
static void decode_list(struct dctx *c, const struct xgw_ynode *root);

/* apiVersion or kind: a non-empty string, left in the tree (not copied). */
static const char *type_str(struct dctx *c, const struct xgw_ynode *root, const char *key)
{
	const struct xgw_ynode *n = xgw_dec_get(root, key);
	char buf[96];

	if (!n || (n->type == XGW_YNODE_SCALAR && !n->scalar.len)) {
		xgw_dec_fail(c, key, root, "required field is missing");
		return NULL;
	}
	if (n->type != XGW_YNODE_SCALAR || strlen(n->scalar.s) != n->scalar.len) {
		xgw_dec_fail(c, key, n, "expected a string, got %s",
			     xgw_dec_got(n, buf, sizeof(buf)));
		return NULL;
	}
	return n->scalar.s;
}

static void decode_object(struct dctx *c, const struct xgw_ynode *root, bool top)
{
	const char *api, *kind, *slash, *version;
	const struct kind_info *ki;
	const struct xgw_ynode *meta;
	size_t glen;
	char buf[96];

	if (root->type != XGW_YNODE_MAP) {
		xgw_dec_fail(c, NULL, root, "expected a mapping (a Kubernetes object), got %s",
			     xgw_dec_got(root, buf, sizeof(buf)));
		return;
	}
	meta = xgw_yaml_get(root, "metadata");
	c->name = xgw_yaml_str(xgw_yaml_get(meta, "name"));
	kind = c->kind = type_str(c, root, "kind");
	api = type_str(c, root, "apiVersion");
	if (c->err)
		return;
	slash = strchr(api, '/');
	glen = slash ? (size_t)(slash - api) : 0;
	version = slash ? slash + 1 : api;
	if (top && glen == 0 && !strcmp(kind, "List") && !strcmp(version, "v1")) {
		c->kind = NULL;
		decode_list(c, root);
		return;
	}
	ki = find_kind(api, glen, kind);
	if (!ki) {
		xgw_dec_fail(c, NULL, root, "unknown kind %s (apiVersion %s)", kind, api);
		return;
	}
	if (!(ki->flags & CLUSTER)) {
		c->ns = xgw_yaml_str(xgw_yaml_get(meta, "namespace"));
		if (!c->ns || !*c->ns)
			c->ns = "default";
	}
	if (!ki->decode) {
		if (ki->flags & GATEWAY_API)
			c->st->n_ignored++;
		log_debug("%s document %d: ignoring %s %s%s%s", c->origin->file, c->origin->doc,
			  kind, c->ns ? c->ns : "", c->ns ? "/" : "", c->name ? c->name : "?");
		return;
	}
	if (!version_ok(ki, version)) {
		xgw_dec_fail(c, NULL, root, "unsupported apiVersion %s for kind %s", api, kind);
		return;
	}
	c->version = version;
	ki->decode(c, root);
}

static int add_error(struct xgw_store *st, const struct xgw_origin *o, int line, const char *kind,
		     const char *ns, const char *name, const char *msg)
{
	struct xgw_arena *a = &st->arena;
	struct xgw_decode_error e = {
		.origin = *o,
		.kind = kind ? xgw_arena_strdup(a, kind) : NULL,
		.ns = ns ? xgw_arena_strdup(a, ns) : NULL,
		.name = name ? xgw_arena_strdup(a, name) : NULL,
		.message = xgw_arena_strdup(a, msg),
	};

	if (line > 0)
		e.origin.line = line;
	if ((kind && !e.kind) || (ns && !e.ns) || (name && !e.name) || !e.message ||
	    !STORE_PUSH(st, errors, &e))
		return -ENOMEM;
	return 0;
}

/* Decodes one document (or List item) and records its error; 0 or -ENOMEM. */
static int decode_doc(struct xgw_store *st, const struct xgw_origin *o,
		      const struct xgw_ynode *root, const char *path)
{
	struct dctx c = { .st = st, .a = &st->arena, .origin = o };

	if (path)
		xgw_dec_push_key(&c, path);
	decode_object(&c, root, !path);
	if (c.err == -EINVAL)
		return add_error(st, o, c.line, c.kind, c.ns, c.name, c.msg);
	return c.err;
}

static void decode_list(struct dctx *c, const struct xgw_ynode *root)
{
	const struct xgw_ynode *items;
	char path[32];
	size_t n;
	int err;

	items = get_seq(c, root, "items", &n);
	for (size_t i = 0; i < n && !c->err; i++) {
		/* An item's origin is its own line in the document. */
		struct xgw_origin o = *c->origin;

		o.line = items->seq.items[i]->line;
		snprintf(path, sizeof(path), "items[%zu]", i);
		err = decode_doc(c->st, &o, items->seq.items[i], path);
		if (err)
			c->err = err;
	}
}

/* --- the store ---------------------------------------------------------- */

struct xgw_store *xgw_store__new(void)
{
	return calloc(1, sizeof(struct xgw_store));
}

void xgw_store__free(struct xgw_store *st)
{
	if (!st)
		return;
	if (st->release)
		st->release(st->release_arg);
	free(st->classes);
	free(st->gateways);
	free(st->listenersets);
	free(st->httproutes);
	free(st->l4routes);
	free(st->grpcroutes);
	free(st->services);
	free(st->slices);
	free(st->namespaces);
	free(st->nodes);
	free(st->class_configs);
	free(st->grants);
	free(st->secrets);
	free(st->configmaps);
	free(st->btls_policies);
	free(st->errors);
	free(st->nonslice);
	xgw_arena_free(&st->arena);
	free(st);
}

const char *xgw_meta_label(const struct xgw_meta *m, const char *key)
{
	for (size_t i = 0; i < m->n_labels; i++)
		if (!strcmp(m->labels[i].key, key))
			return m->labels[i].value;
	return NULL;
}

const char *xgw_meta_annotation(const struct xgw_meta *m, const char *key)
{
	for (size_t i = 0; i < m->n_annotations; i++)
		if (!strcmp(m->annotations[i].key, key))
			return m->annotations[i].value;
	return NULL;
}

/* Objects and errors of <st> besides EndpointSlices. */
static size_t n_not_slices(const struct xgw_store *st)
{
	return st->n_classes + st->n_gateways + st->n_listenersets + st->n_httproutes +
	       st->n_l4routes + st->n_grpcroutes + st->n_services + st->n_namespaces + st->n_nodes +
	       st->n_class_configs + st->n_grants + st->n_secrets + st->n_configmaps +
	       st->n_btls_policies + st->n_errors + st->n_ignored;
}

/* <len> as 8 bytes, then <len> bytes of <p>, to st->nonslice. 0 or -ENOMEM. */
static int nonslice_add(struct xgw_store *st, const char *p, size_t len)
{
	uint64_t n = len;

	if (st->cap_nonslice - st->nonslice_len < len + sizeof(n)) {
		size_t cap = st->cap_nonslice ? st->cap_nonslice : 4096;
		char *v;

		while (cap - st->nonslice_len < len + sizeof(n))
			cap *= 2;
		v = realloc(st->nonslice, cap);
		if (!v)
			return -ENOMEM;
		st->nonslice = v;
		st->cap_nonslice = cap;
	}
	memcpy(st->nonslice + st->nonslice_len, &n, sizeof(n));
	memcpy(st->nonslice + st->nonslice_len + sizeof(n), p, len);
	st->nonslice_len += sizeof(n) + len;
	return 0;
}

int xgw_store_load_yaml(struct xgw_store *st, const char *file, const char *buf, size_t len)
{
	struct xgw_arena tree = {};
	struct xgw_yaml_stream *ys;
	struct xgw_yaml_doc doc;
	struct xgw_origin o = {};
	size_t others, slices;
	bool whole = false; /* the whole input went to st->nonslice */
	bool empty;
	int ret, err = 0;

	o.file = xgw_arena_strdup(&st->arena, file ? file : "-");
	if (!o.file)
		return -ENOMEM;
	ys = xgw_yaml_stream__open(buf, len);
	if (!ys)
		return -ENOMEM;
	/* Each document's tree lives only while it is decoded. */
	while ((ret = xgw_yaml_stream__next(ys, &tree, &doc)) != 0) {
		o.doc = doc.index;
		o.line = doc.line;
		others = n_not_slices(st);
		slices = st->n_slices;
		empty = ret == 1 && xgw_yaml_is_null(doc.root);
		if (ret == 1 && !empty)
			err = decode_doc(st, &o, doc.root, NULL);
		else if (ret == -EINVAL || ret == -EBADMSG)
			err = add_error(st, &o, doc.err_line, NULL, NULL, NULL, doc.err);
		else if (ret < 0)
			err = ret;
		xgw_arena_reset(&tree);
		if (err)
			break;
		/* an empty document decodes to nothing; one of EndpointSlices alone
		 * is what the fast path may change */
		if (whole || empty || (st->n_slices > slices && n_not_slices(st) == others))
			continue;
		if (ret == 1 && doc.end > doc.start) {
			err = nonslice_add(st, buf + doc.start, doc.end - doc.start);
		} else {
			err = nonslice_add(st, buf, len);
			whole = true;
		}
		if (err)
			break;
	}
	xgw_arena_free(&tree);
	xgw_yaml_stream__free(ys);
	return err;
}

/* Reads <path> whole; the file error is recorded in the store. 0 or -ENOMEM. */
static int load_file(struct xgw_store *st, const char *path)
{
	struct xgw_origin o = {};
	size_t len = 0, cap;
	char msg[128];
	struct stat sb;
	char *buf = NULL;
	ssize_t n;
	int fd, err;

	o.file = xgw_arena_strdup(&st->arena, path);
	if (!o.file)
		return -ENOMEM;
	/* O_NONBLOCK: a FIFO named *.yaml must not hang the loader. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "cannot open: %s", strerror(errno));
		return add_error(st, &o, 0, NULL, NULL, NULL, msg);
	}
	if (fstat(fd, &sb)) {
		snprintf(msg, sizeof(msg), "cannot stat: %s", strerror(errno));
		err = add_error(st, &o, 0, NULL, NULL, NULL, msg);
		goto out_close;
	}
	if (S_ISDIR(sb.st_mode)) {
		log_debug("%s: a directory, skipped", path);
		err = 0;
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode)) {
		err = add_error(st, &o, 0, NULL, NULL, NULL, "not a regular file");
		goto out_close;
	}
	if ((uint64_t)sb.st_size > MANIFEST_MAX_BYTES)
		goto too_big;
	cap = (size_t)sb.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out_close;
	}
	/* Read to EOF: the size may have changed since fstat(). */
	for (;;) {
		if (len == cap) {
			char *p;

			if (cap > MANIFEST_MAX_BYTES)
				goto too_big;
			p = realloc(buf, cap * 2);
			if (!p) {
				err = -ENOMEM;
				goto out_free;
			}
			buf = p;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
			err = add_error(st, &o, 0, NULL, NULL, NULL, msg);
			goto out_free;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	err = xgw_store_load_yaml(st, path, buf, len);
	goto out_free;
too_big:
	snprintf(msg, sizeof(msg), "file larger than %u MiB", MANIFEST_MAX_BYTES >> 20);
	err = add_error(st, &o, 0, NULL, NULL, NULL, msg);
out_free:
	free(buf);
out_close:
	close(fd);
	return err;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && !strcmp(s + n - m, suffix);
}

static int manifest_filter(const struct dirent *d)
{
	return d->d_name[0] != '.' &&
	       (has_suffix(d->d_name, ".yaml") || has_suffix(d->d_name, ".yml"));
}

/* Byte order, not alphasort()'s strcoll(): the order must not depend on the locale. */
static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int xgw_store_load_dir(struct xgw_store *st, const char *dir)
{
	struct dirent **names;
	size_t dlen = strlen(dir);
	int n, err = 0;

	n = scandir(dir, &names, manifest_filter, name_cmp);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char *path = NULL;

		if (!err) {
			if (asprintf(&path, "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/",
				     names[i]->d_name) < 0)
				err = -ENOMEM;
			else
				err = load_file(st, path);
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return err;
}
