// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The router. Listeners and hostnames are found through open-addressing hash
 * tables built at snapshot swap; the per-vhost match list is walked in the
 * precedence order the agent laid down (it is short, and order matters).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static inline uint8_t lower(uint8_t c)
{
	return (uint8_t)(c - 'A') < 26 ? c | 0x20 : c;
}

static inline uint32_t fnv_mix(uint32_t h, uint8_t c)
{
	return (h ^ c) * FNV_PRIME;
}

static uint32_t fnv_u32(uint32_t h, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		h = fnv_mix(h, (uint8_t)(v >> (8 * i)));
	return h;
}

static uint32_t listener_hash(uint8_t family, const uint8_t addr[16], uint16_t port)
{
	uint32_t h = fnv_mix(FNV_OFFSET, family);

	for (int i = 0; i < 16; i++)
		h = fnv_mix(h, addr[i]);
	return fnv_u32(h, port);
}

/* Hash of a host name, lower-cased on the fly: the request is never copied. */
static uint32_t host_hash(uint32_t listener, uint8_t wild, const char *name, size_t len)
{
	uint32_t h = fnv_mix(fnv_u32(FNV_OFFSET, listener), wild);

	for (size_t i = 0; i < len; i++)
		h = fnv_mix(h, lower((uint8_t)name[i]));
	return h;
}

static bool lower_eq(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (lower((uint8_t)a[i]) != lower((uint8_t)b[i]))
			return false;
	return true;
}

static uint32_t table_size(uint32_t n)
{
	uint32_t size = 8;

	while (size < 2 * n)
		size <<= 1;
	return size;
}

static int build_listeners(struct xgw_router *r)
{
	const struct xgw_snapshot *s = r->snap;
	uint32_t size = table_size(s->n_listeners);

	r->ltab = malloc(size * sizeof(*r->ltab));
	if (!r->ltab)
		return -ENOMEM;
	r->lmask = size - 1;
	for (uint32_t i = 0; i < size; i++)
		r->ltab[i].listener = XGW_SNAP_NONE;
	for (uint32_t l = 0; l < s->n_listeners; l++) {
		const struct xgw_snap_listener *sl = &s->listeners[l];
		uint32_t h = listener_hash(sl->family, sl->addr, sl->port);
		uint32_t i = h & r->lmask;

		/* A duplicate (family, addr, port) keeps the first listener. */
		while (r->ltab[i].listener != XGW_SNAP_NONE) {
			const struct xgw_snap_listener *o = &s->listeners[r->ltab[i].listener];

			if (o->family == sl->family && o->port == sl->port &&
			    !memcmp(o->addr, sl->addr, 16))
				break;
			i = (i + 1) & r->lmask;
		}
		if (r->ltab[i].listener == XGW_SNAP_NONE)
			r->ltab[i] = (struct xgw_rt_lslot){ .hash = h, .listener = l };
	}
	return 0;
}

static uint32_t htab_find(const struct xgw_router *r, uint32_t listener, uint8_t wild,
			  const char *key, size_t len)
{
	uint32_t h = host_hash(listener, wild, key, len);

	for (uint32_t i = h & r->hmask;; i = (i + 1) & r->hmask) {
		const struct xgw_rt_hslot *s = &r->htab[i];

		if (s->vhost == XGW_SNAP_NONE)
			return XGW_SNAP_NONE;
		if (s->hash == h && s->listener == listener && s->wild == wild &&
		    s->key_len == len && lower_eq(r->snap->strings + s->key_off, key, len))
			return s->vhost;
	}
}

static void htab_insert(struct xgw_router *r, uint32_t listener, uint8_t wild, uint32_t key_off,
			size_t len, uint32_t vhost)
{
	const char *key = r->snap->strings + key_off;
	uint32_t h = host_hash(listener, wild, key, len);
	uint32_t i = h & r->hmask;

	while (r->htab[i].vhost != XGW_SNAP_NONE) {
		const struct xgw_rt_hslot *s = &r->htab[i];

		if (s->hash == h && s->listener == listener && s->wild == wild &&
		    s->key_len == len && lower_eq(r->snap->strings + s->key_off, key, len))
			return; /* a duplicate name: the first vhost wins */
		i = (i + 1) & r->hmask;
	}
	r->htab[i] = (struct xgw_rt_hslot){
		.hash = h,
		.vhost = vhost,
		.listener = listener,
		.key_off = key_off,
		.key_len = (uint16_t)len,
		.wild = wild,
	};
}

static int build_hosts(struct xgw_router *r)
{
	const struct xgw_snapshot *s = r->snap;
	uint32_t n = 0, size;

	for (uint32_t v = 0; v < s->n_vhosts; v++)
		n += s->vhosts[v].hostname.len > 0;
	size = table_size(n);
	r->htab = malloc(size * sizeof(*r->htab));
	r->any_vhost = malloc((s->n_listeners ? s->n_listeners : 1) * sizeof(*r->any_vhost));
	if (!r->htab || !r->any_vhost)
		return -ENOMEM;
	r->hmask = size - 1;
	for (uint32_t i = 0; i < size; i++)
		r->htab[i].vhost = XGW_SNAP_NONE;

	for (uint32_t l = 0; l < s->n_listeners; l++) {
		const struct xgw_snap_listener *sl = &s->listeners[l];

		r->any_vhost[l] = XGW_SNAP_NONE;
		for (uint32_t v = sl->vhost_first; v < sl->vhost_first + sl->vhost_count; v++) {
			struct xgw_snap_str hn = s->vhosts[v].hostname;
			const char *name = xgw_snap_str_ptr(s, hn);

			if (hn.len == 0 || (hn.len == 1 && name[0] == '*')) {
				if (r->any_vhost[l] == XGW_SNAP_NONE)
					r->any_vhost[l] = v;
			} else if (hn.len > UINT16_MAX) {
				continue; /* no valid Host is this long */
			} else if (hn.len > 2 && name[0] == '*' && name[1] == '.') {
				htab_insert(r, l, 1, hn.off + 2, hn.len - 2, v);
			} else {
				htab_insert(r, l, 0, hn.off, hn.len, v);
			}
		}
	}
	return 0;
}

struct xgw_router *xgw_router__new(const struct xgw_snapshot *snap)
{
	struct xgw_router *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	r->snap = snap;
	r->swrr = calloc(snap->n_backends ? snap->n_backends : 1, sizeof(*r->swrr));
	r->rr = calloc(snap->n_clusters ? snap->n_clusters : 1, sizeof(*r->rr));
	if (!r->swrr || !r->rr) {
		err = -ENOMEM;
		goto err_free;
	}
	err = build_listeners(r);
	if (err)
		goto err_free;
	err = build_hosts(r);
	if (err)
		goto err_free;
	return r;

err_free:
	xgw_router__free(r);
	errno = -err;
	return NULL;
}

void xgw_router__free(struct xgw_router *r)
{
	if (!r)
		return;
	free(r->ltab);
	free(r->htab);
	free(r->any_vhost);
	free(r->swrr);
	free(r->rr);
	free(r);
}

static uint32_t listener_find(const struct xgw_router *r, uint8_t family, const uint8_t addr[16],
			      uint16_t port)
{
	const struct xgw_snapshot *s = r->snap;
	uint32_t h = listener_hash(family, addr, port);

	for (uint32_t i = h & r->lmask;; i = (i + 1) & r->lmask) {
		uint32_t l = r->ltab[i].listener;

		if (l == XGW_SNAP_NONE)
			return XGW_SNAP_NONE;
		if (r->ltab[i].hash == h && s->listeners[l].family == family &&
		    s->listeners[l].port == port && !memcmp(s->listeners[l].addr, addr, 16))
			return l;
	}
}

uint32_t xgw_router_listener(const struct xgw_router *r, uint8_t family, const uint8_t addr[16],
			     uint16_t port)
{
	static const uint8_t any[16];
	uint32_t l = listener_find(r, family, addr, port);

	if (l == XGW_SNAP_NONE)
		l = listener_find(r, family, any, port);
	return l;
}

/* The name part of a Host value: no ":port", no trailing dot; "[v6]" kept whole. */
static size_t host_name_len(const char *host, size_t len)
{
	const char *colon;

	if (len && host[0] == '[') {
		const char *end = memchr(host, ']', len);

		return end ? (size_t)(end - host) + 1 : len;
	}
	colon = memchr(host, ':', len);
	if (colon)
		len = (size_t)(colon - host);
	if (len && host[len - 1] == '.')
		len--;
	return len;
}

uint32_t xgw_router_vhost(const struct xgw_router *r, uint32_t listener, const char *host,
			  size_t host_len)
{
	uint32_t v;

	if (listener >= r->snap->n_listeners)
		return XGW_SNAP_NONE;
	host_len = host ? host_name_len(host, host_len) : 0;
	if (host_len == 0 || host_len > UINT16_MAX)
		return r->any_vhost[listener];

	v = htab_find(r, listener, 0, host, host_len);
	if (v != XGW_SNAP_NONE)
		return v;
	/* "*.sfx" needs at least one label before ".sfx": start after the first dot. */
	for (size_t i = 1; i + 1 < host_len; i++) {
		if (host[i] != '.')
			continue;
		v = htab_find(r, listener, 1, host + i + 1, host_len - i - 1);
		if (v != XGW_SNAP_NONE)
			return v;
	}
	return r->any_vhost[listener];
}

bool xgw_router_path_match(uint8_t path_type, const char *pattern, size_t pattern_len,
			   const char *path, size_t path_len)
{
	switch (path_type) {
	case XGW_PATH_EXACT:
		return pattern_len == path_len && !memcmp(pattern, path, path_len);
	case XGW_PATH_PREFIX:
		/* A trailing "/" is ignored, so "/" (empty once trimmed) matches all. */
		while (pattern_len && pattern[pattern_len - 1] == '/')
			pattern_len--;
		if (!pattern_len)
			return true;
		if (path_len < pattern_len || memcmp(pattern, path, pattern_len))
			return false;
		return path_len == pattern_len || path[pattern_len] == '/';
	default:
		return false;
	}
}

uint32_t xgw_router_match(const struct xgw_router *r, uint32_t vhost, const char *path,
			  size_t path_len)
{
	const struct xgw_snapshot *s = r->snap;
	const struct xgw_snap_vhost *vh;

	if (vhost >= s->n_vhosts)
		return XGW_SNAP_NONE;
	vh = &s->vhosts[vhost];
	for (uint32_t m = vh->match_first; m < vh->match_first + vh->match_count; m++) {
		const struct xgw_snap_match *sm = &s->matches[m];

		if (xgw_router_path_match(sm->path_type, xgw_snap_str_ptr(s, sm->path),
					  sm->path.len, path, path_len))
			return m;
	}
	return XGW_SNAP_NONE;
}

uint32_t xgw_router_route(const struct xgw_router *r, uint32_t listener, const char *host,
			  size_t host_len, const char *path, size_t path_len)
{
	uint32_t v = xgw_router_vhost(r, listener, host, host_len);
	uint32_t m;

	if (v == XGW_SNAP_NONE)
		return XGW_SNAP_NONE;
	m = xgw_router_match(r, v, path, path_len);
	return m == XGW_SNAP_NONE ? XGW_SNAP_NONE : r->snap->matches[m].rule;
}

uint32_t xgw_router_pick_backend(struct xgw_router *r, uint32_t rule)
{
	const struct xgw_snapshot *s = r->snap;
	const struct xgw_snap_rule *ru;
	uint32_t best = XGW_SNAP_NONE;
	int64_t total = 0;

	if (rule >= s->n_rules)
		return XGW_SNAP_NONE;
	ru = &s->rules[rule];
	for (uint32_t b = ru->backend_first; b < ru->backend_first + ru->backend_count; b++) {
		uint32_t w = s->backends[b].weight;

		if (!w)
			continue;
		r->swrr[b] += w;
		total += w;
		if (best == XGW_SNAP_NONE || r->swrr[b] > r->swrr[best])
			best = b;
	}
	if (best != XGW_SNAP_NONE)
		r->swrr[best] -= total;
	return best;
}

uint32_t xgw_router_pick_endpoint(struct xgw_router *r, uint32_t cluster)
{
	const struct xgw_snap_cluster *c;
	uint32_t off;

	if (cluster >= r->snap->n_clusters)
		return XGW_SNAP_NONE;
	c = &r->snap->clusters[cluster];
	if (!c->ep_count)
		return XGW_SNAP_NONE;
	off = r->rr[cluster]++;
	if (off >= c->ep_count) {
		off = 0;
		r->rr[cluster] = 1;
	}
	return c->ep_first + off;
}

enum xgw_route_verdict xgw_router_decide(struct xgw_router *r, uint32_t listener, const char *host,
					 size_t host_len, const char *path, size_t path_len,
					 uint32_t *ep)
{
	uint32_t rule, b, e;

	rule = xgw_router_route(r, listener, host, host_len, path, path_len);
	if (rule == XGW_SNAP_NONE)
		return XGW_ROUTE_NOT_FOUND;
	b = xgw_router_pick_backend(r, rule);
	if (b == XGW_SNAP_NONE || r->snap->backends[b].cluster == XGW_SNAP_NONE)
		return XGW_ROUTE_NO_BACKEND;
	e = xgw_router_pick_endpoint(r, r->snap->backends[b].cluster);
	if (e == XGW_SNAP_NONE)
		return XGW_ROUTE_NO_ENDPOINT;
	*ep = e;
	return XGW_ROUTE_OK;
}
