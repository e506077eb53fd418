// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Snapshot builder and reader. The builder keeps one growable array per
 * section and a string table; finish() lays them out behind the header. The
 * reader checks every offset, index and string once, so that the worker's
 * hot path can index the arrays without checks.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xgw/snapshot.h"

struct vec {
	void *data;
	uint32_t n;
	uint32_t cap;
	uint32_t elem;
};

struct xgw_snapb {
	uint64_t generation;
	bool failed;
	struct vec sect[XGW_SECT__MAX];
	/* xgw_snapb__from(): the sections of the snapshot it was made from, whose
	 * entries come first (read in place, never changed), the listeners apart
	 * (copied into sect[], which a patch changes) */
	const void *base[XGW_SECT__MAX];
	uint32_t base_n[XGW_SECT__MAX];
	/* index of the parent that children attach to */
	int32_t cur_listener, cur_vhost, cur_match, cur_rule, cur_backend, cur_cluster, cur_filter,
		cur_sni;
	uint8_t ticket_secret[32];
};

static const uint32_t elem_size[XGW_SECT__MAX] = {
	[XGW_SECT_LISTENER] = sizeof(struct xgw_snap_listener),
	[XGW_SECT_VHOST] = sizeof(struct xgw_snap_vhost),
	[XGW_SECT_MATCH] = sizeof(struct xgw_snap_match),
	[XGW_SECT_RULE] = sizeof(struct xgw_snap_rule),
	[XGW_SECT_BACKEND] = sizeof(struct xgw_snap_backend),
	[XGW_SECT_CLUSTER] = sizeof(struct xgw_snap_cluster),
	[XGW_SECT_ENDPOINT] = sizeof(struct xgw_snap_endpoint),
	[XGW_SECT_KV] = sizeof(struct xgw_snap_kv),
	[XGW_SECT_FILTER] = sizeof(struct xgw_snap_filter),
	[XGW_SECT_HDROP] = sizeof(struct xgw_snap_hdrop),
	[XGW_SECT_SNI] = sizeof(struct xgw_snap_sni),
	[XGW_SECT_CERT] = sizeof(struct xgw_snap_cert),
	[XGW_SECT_UPTLS] = sizeof(struct xgw_snap_uptls),
	[XGW_SECT_STRING] = 1,
};

/*
 * Room for <n> more elements in <v>. Capacity is zeroed when it is added, once,
 * so that vec_push() hands out zeroed elements without a memset() per element
 * (but for the string bytes, which add_str() writes over).
 */
static int vec_reserve(struct vec *v, uint32_t n, bool exact)
{
	if (v->n + (uint64_t)n > UINT32_MAX / 2)
		return -E2BIG;
	if (v->n + n > v->cap) {
		uint32_t cap = v->cap ? v->cap : 16;
		void *p;

		while (cap < v->n + n)
			cap *= 2;
		if (exact) /* what the caller asked for, no more to zero */
			cap = v->n + n;
		p = realloc(v->data, (size_t)cap * v->elem);
		if (!p)
			return -ENOMEM;
		/* string bytes are always written over (add_str): not zeroed */
		if (v->elem > 1)
			memset((char *)p + (size_t)v->cap * v->elem, 0,
			       (size_t)(cap - v->cap) * v->elem);
		v->data = p;
		v->cap = cap;
	}
	return 0;
}

/* Append <n> zeroed elements (string bytes: not zeroed) to <v>; returns a
 * pointer to the first or NULL. */
static inline __attribute__((always_inline)) void *vec_push(struct vec *v, uint32_t n)
{
	if (v->n + n > v->cap && vec_reserve(v, n, false))
		return NULL;
	void *e = (char *)v->data + (size_t)v->n * v->elem;

	v->n += n;
	return e;
}

int xgw_snapb_reserve(struct xgw_snapb *b, int sect, uint32_t n)
{
	if (sect < 0 || sect >= XGW_SECT__MAX)
		return -EINVAL;
	return vec_reserve(&b->sect[sect], n, true);
}

/* The index the next entry of section <s> gets. */
#define NEXT(b, s) ((b)->base_n[s] + (b)->sect[s].n)
/* Entry <i> of section <s>, one the builder added (parents always are). */
#define SECT_AT(b, s, type, i) (&((type *)(b)->sect[s].data)[(i) - (b)->base_n[s]])

struct xgw_snapb *xgw_snapb__new(uint64_t generation)
{
	struct xgw_snapb *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->generation = generation;
	for (int s = 0; s < XGW_SECT__MAX; s++)
		b->sect[s].elem = elem_size[s];
	b->cur_listener = b->cur_vhost = b->cur_match = b->cur_rule = b->cur_backend =
		b->cur_cluster = b->cur_filter = b->cur_sni = -1;
	return b;
}

/* Copy the vhosts of <s>'s listeners (already in <b>) into <b>'s own section. */
static int vhosts_live(struct xgw_snapb *b, const struct xgw_snapshot *s)
{
	struct vec *v = &b->sect[XGW_SECT_VHOST];
	uint32_t live = 0;

	for (uint32_t i = 0; i < s->n_listeners; i++)
		live += s->listeners[i].vhost_count;
	if (vec_reserve(v, live, true))
		return -ENOMEM;
	for (uint32_t i = 0; i < s->n_listeners; i++) {
		struct xgw_snap_listener *l =
			SECT_AT(b, XGW_SECT_LISTENER, struct xgw_snap_listener, i);

		if (l->vhost_count)
			memcpy((char *)v->data + (size_t)v->n * v->elem, &s->vhosts[l->vhost_first],
			       (size_t)l->vhost_count * v->elem);
		l->vhost_first = v->n;
		v->n += l->vhost_count;
	}
	return 0;
}

struct xgw_snapb *xgw_snapb__from(const struct xgw_snapshot *s, uint64_t generation)
{
	struct xgw_snapb *b = xgw_snapb__new(generation);
	uint32_t n = s->n_listeners;
	struct vec *v;

	if (!b)
		return NULL;
	for (int k = 0; k < XGW_SECT__MAX; k++) {
		if (k == XGW_SECT_LISTENER || k == XGW_SECT_VHOST)
			continue;
		b->base[k] = (const char *)s->hdr + s->hdr->sect[k].off;
		b->base_n[k] = s->hdr->sect[k].count;
	}
	/* the listeners, which a patch reopens, are the builder's own */
	v = &b->sect[XGW_SECT_LISTENER];
	if (vec_reserve(v, n, true)) {
		xgw_snapb__free(b);
		return NULL;
	}
	if (n)
		memcpy(v->data, s->listeners, (size_t)n * v->elem);
	v->n = n;
	/* and so are their vhosts, those a listener reaches only: a reopened
	 * listener's old ones, 20 bytes per name, go at the next patch instead
	 * of staying for good (thousands, for a listener of thousands of names) */
	if (vhosts_live(b, s)) {
		xgw_snapb__free(b);
		return NULL;
	}
	memcpy(b->ticket_secret, s->hdr->ticket_secret, sizeof(b->ticket_secret));
	return b;
}

int xgw_snapb_listener_reopen(struct xgw_snapb *b, uint32_t idx)
{
	struct xgw_snap_listener *l;

	if (b->failed)
		return -ENOMEM;
	if (idx >= NEXT(b, XGW_SECT_LISTENER)) {
		b->failed = true;
		return -EINVAL;
	}
	l = SECT_AT(b, XGW_SECT_LISTENER, struct xgw_snap_listener, idx);
	l->vhost_first = NEXT(b, XGW_SECT_VHOST);
	l->vhost_count = 0;
	b->cur_listener = (int32_t)idx;
	b->cur_vhost = b->cur_match = -1;
	return 0;
}

void xgw_snapb__free(struct xgw_snapb *b)
{
	if (!b)
		return;
	for (int s = 0; s < XGW_SECT__MAX; s++)
		free(b->sect[s].data);
	free(b);
}

static int add_str(struct xgw_snapb *b, const char *s, size_t len, struct xgw_snap_str *out)
{
	struct vec *v = &b->sect[XGW_SECT_STRING];
	char *p;

	if (len > UINT32_MAX / 4)
		return -E2BIG;
	out->off = b->base_n[XGW_SECT_STRING] + v->n;
	out->len = (uint32_t)len;
	if (!len)
		return 0;
	p = vec_push(v, (uint32_t)len);
	if (!p)
		return -ENOMEM;
	memcpy(p, s, len);
	return 0;
}

/* Push one element of section <s>; returns its index or -ENOMEM. */
/* Inlined: called once per element, 100,000 times and more at scale. */
static inline __attribute__((always_inline)) int push(struct xgw_snapb *b, int s, void **out)
{
	if (b->failed)
		return -ENOMEM;
	*out = vec_push(&b->sect[s], 1);
	if (!*out) {
		b->failed = true;
		return -ENOMEM;
	}
	return (int)(NEXT(b, s) - 1);
}

static int fail(struct xgw_snapb *b, int err)
{
	b->failed = true;
	return err;
}

int xgw_snapb_listener(struct xgw_snapb *b, uint8_t family, const uint8_t addr[16], uint16_t port,
		       uint8_t proto, const char *name)
{
	struct xgw_snap_listener *l;
	int idx = push(b, XGW_SECT_LISTENER, (void **)&l);

	if (idx < 0)
		return idx;
	l->id = (uint32_t)idx;
	l->family = family;
	l->proto = proto;
	l->port = port;
	memcpy(l->addr, addr, 16);
	l->vhost_first = NEXT(b, XGW_SECT_VHOST);
	l->sni_first = NEXT(b, XGW_SECT_SNI);
	/* add_str may move the string vector, never the listener vector */
	if (add_str(b, name, strlen(name), &l->name))
		return fail(b, -ENOMEM);
	b->cur_listener = idx;
	b->cur_vhost = b->cur_sni = -1;
	return idx;
}

int xgw_snapb_vhost(struct xgw_snapb *b, const char *hostname, size_t hostname_len)
{
	struct xgw_snap_vhost *v;
	struct xgw_snap_str hs;
	int idx;

	if (b->cur_listener < 0)
		return fail(b, -EINVAL);
	if (add_str(b, hostname, hostname_len, &hs))
		return fail(b, -ENOMEM);
	idx = push(b, XGW_SECT_VHOST, (void **)&v);
	if (idx < 0)
		return idx;
	v->hostname = hs;
	v->match_first = NEXT(b, XGW_SECT_MATCH);
	SECT_AT(b, XGW_SECT_LISTENER, struct xgw_snap_listener, b->cur_listener)->vhost_count++;
	b->cur_vhost = idx;
	return idx;
}

int xgw_snapb_vhost_kept(struct xgw_snapb *b, const struct xgw_snap_vhost *old)
{
	struct xgw_snap_vhost *v;
	int idx;

	if (b->cur_listener < 0 ||
	    (uint64_t)old->match_first + old->match_count > b->base_n[XGW_SECT_MATCH])
		return fail(b, -EINVAL);
	idx = push(b, XGW_SECT_VHOST, (void **)&v);
	if (idx < 0)
		return idx;
	*v = *old;
	SECT_AT(b, XGW_SECT_LISTENER, struct xgw_snap_listener, b->cur_listener)->vhost_count++;
	b->cur_vhost = -1; /* its matches are those it had */
	return idx;
}

int xgw_snapb_vhost_flags(struct xgw_snapb *b, uint32_t flags)
{
	if (b->cur_vhost < 0 || (flags & ~XGW_VHOST_TLS_TERMINATE))
		return fail(b, -EINVAL);
	SECT_AT(b, XGW_SECT_VHOST, struct xgw_snap_vhost, b->cur_vhost)->flags = flags;
	return 0;
}

int xgw_snapb_match(struct xgw_snapb *b, uint32_t rule, uint8_t path_type, const char *path,
		    size_t path_len, const char *method)
{
	struct xgw_snap_match *m;
	struct xgw_snap_str ps, ms;
	int idx;

	if (b->cur_vhost < 0)
		return fail(b, -EINVAL);
	if (add_str(b, path, path_len, &ps) || add_str(b, method, method ? strlen(method) : 0, &ms))
		return fail(b, -ENOMEM);
	idx = push(b, XGW_SECT_MATCH, (void **)&m);
	if (idx < 0)
		return idx;
	m->rule = rule;
	m->path_type = path_type;
	m->path = ps;
	m->method = ms;
	m->kv_first = NEXT(b, XGW_SECT_KV);
	SECT_AT(b, XGW_SECT_VHOST, struct xgw_snap_vhost, b->cur_vhost)->match_count++;
	b->cur_match = idx;
	return idx;
}

int xgw_snapb_kv(struct xgw_snapb *b, uint8_t kind, uint8_t type, const char *name,
		 const char *value)
{
	struct xgw_snap_str ns, vs;
	struct xgw_snap_kv *kv;
	int idx;

	if (b->cur_match < 0)
		return fail(b, -EINVAL);
	if (add_str(b, name, strlen(name), &ns) || add_str(b, value, strlen(value), &vs))
		return fail(b, -ENOMEM);
	idx = push(b, XGW_SECT_KV, (void **)&kv);
	if (idx < 0)
		return idx;
	kv->kind = kind;
	kv->type = type;
	kv->name = ns;
	kv->value = vs;
	SECT_AT(b, XGW_SECT_MATCH, struct xgw_snap_match, b->cur_match)->kv_count++;
	return idx;
}

int xgw_snapb_rule(struct xgw_snapb *b, const char *route, uint32_t rule_index,
		   uint32_t timeout_request_ms, uint32_t timeout_backend_ms)
{
	struct xgw_snap_rule *r;
	struct xgw_snap_str rs;
	int idx;

	if (add_str(b, route, strlen(route), &rs))
		return fail(b, -ENOMEM);
	idx = push(b, XGW_SECT_RULE, (void **)&r);
	if (idx < 0)
		return idx;
	r->route = rs;
	r->rule_index = rule_index;
	r->backend_first = NEXT(b, XGW_SECT_BACKEND);
	r->filter_first = NEXT(b, XGW_SECT_FILTER);
	r->timeout_request_ms = timeout_request_ms;
	r->timeout_backend_ms = timeout_backend_ms;
	b->cur_rule = idx;
	b->cur_backend = -1;
	return idx;
}

int xgw_snapb_rule_retry(struct xgw_snapb *b, uint32_t attempts, uint32_t backoff_ms,
			 const uint16_t *codes, size_t n_codes)
{
	struct xgw_snap_rule *r;

	if (b->cur_rule < 0)
		return fail(b, -EINVAL);
	r = SECT_AT(b, XGW_SECT_RULE, struct xgw_snap_rule, b->cur_rule);
	for (size_t i = 0; i < n_codes; i++) {
		unsigned int bit = (unsigned int)codes[i] - 400;

		if (codes[i] < 400 || codes[i] > 599)
			return fail(b, -EINVAL);
		r->retry_codes[bit / 64] |= 1ull << (bit % 64);
	}
	r->retry_attempts = attempts > XGW_SNAP_RETRY_MAX ? XGW_SNAP_RETRY_MAX : attempts;
	r->retry_backoff_ms = backoff_ms;
	return 0;
}

int xgw_snapb_rule_session(struct xgw_snapb *b, uint8_t type, uint8_t flags, const char *name,
			   const char *path, uint32_t absolute_s, uint32_t idle_s)
{
	struct xgw_snap_str ns, ps;
	struct xgw_snap_rule *r;

	if (b->cur_rule < 0 || type == XGW_SP_NONE || type > XGW_SP_HEADER ||
	    (flags & ~XGW_SP_PERMANENT) || !name || !*name ||
	    ((flags & XGW_SP_PERMANENT) && (type != XGW_SP_COOKIE || !absolute_s)))
		return fail(b, -EINVAL);
	if (!path)
		path = "/";
	if (add_str(b, name, strlen(name), &ns) || add_str(b, path, strlen(path), &ps))
		return fail(b, -ENOMEM);
	r = SECT_AT(b, XGW_SECT_RULE, struct xgw_snap_rule, b->cur_rule);
	r->sp_type = type;
	r->sp_flags = flags;
	r->sp_name = ns;
	r->sp_path = ps;
	r->sp_absolute_s = absolute_s;
	r->sp_idle_s = idle_s;
	return 0;
}

int xgw_snapb_backend(struct xgw_snapb *b, uint32_t cluster, uint32_t weight)
{
	struct xgw_snap_backend *be;
	struct xgw_snap_rule *r;
	int idx;

	if (b->cur_rule < 0)
		return fail(b, -EINVAL);
	idx = push(b, XGW_SECT_BACKEND, (void **)&be);
	if (idx < 0)
		return idx;
	be->cluster = cluster;
	be->weight = weight;
	be->filter_first = NEXT(b, XGW_SECT_FILTER);
	b->cur_backend = idx;
	r = SECT_AT(b, XGW_SECT_RULE, struct xgw_snap_rule, b->cur_rule);
	r->backend_count++;
	/* unresolved backends keep their share: requests drawn to them get 500 */
	if (r->total_weight > UINT32_MAX - weight)
		return fail(b, -E2BIG);
	r->total_weight += weight;
	return idx;
}

int xgw_snapb_filter(struct xgw_snapb *b, const struct xgw_snap_filter *f, const char *scheme,
		     const char *hostname, const char *path)
{
	struct xgw_snap_str ss, hs, ps;
	struct xgw_snap_filter *nf;
	int idx;

	if (b->cur_rule < 0)
		return fail(b, -EINVAL);
	if (add_str(b, scheme, scheme ? strlen(scheme) : 0, &ss) ||
	    add_str(b, hostname, hostname ? strlen(hostname) : 0, &hs) ||
	    add_str(b, path, path ? strlen(path) : 0, &ps))
		return fail(b, -ENOMEM);
	idx = push(b, XGW_SECT_FILTER, (void **)&nf);
	if (idx < 0)
		return idx;
	*nf = *f;
	if (f->type != XGW_FILTER_CORS)
		nf->flags = 0;
	nf->op_first = NEXT(b, XGW_SECT_HDROP);
	nf->op_count = 0;
	nf->scheme = ss;
	nf->hostname = hs;
	nf->path = ps;
	if (b->cur_backend >= 0)
		SECT_AT(b, XGW_SECT_BACKEND, struct xgw_snap_backend, b->cur_backend)
			->filter_count++;
	else
		SECT_AT(b, XGW_SECT_RULE, struct xgw_snap_rule, b->cur_rule)->filter_count++;
	b->cur_filter = idx;
	return idx;
}

int xgw_snapb_hdrop(struct xgw_snapb *b, uint8_t op, const char *name, const char *value)
{
	struct xgw_snap_str ns, vs;
	struct xgw_snap_hdrop *h;
	int idx;

	if (b->cur_filter < 0)
		return fail(b, -EINVAL);
	if (add_str(b, name, strlen(name), &ns) ||
	    add_str(b, value, value ? strlen(value) : 0, &vs))
		return fail(b, -ENOMEM);
	idx = push(b, XGW_SECT_HDROP, (void **)&h);
	if (idx < 0)
		return idx;
	h->op = op;
	h->name = ns;
	h->value = vs;
	SECT_AT(b, XGW_SECT_FILTER, struct xgw_snap_filter, b->cur_filter)->op_count++;
	return idx;
}

int xgw_snapb_cluster(struct xgw_snapb *b, const char *name)
{
	struct xgw_snap_cluster *c;
	struct xgw_snap_str ns;
	int idx;

	if (add_str(b, name, strlen(name), &ns))
		return fail(b, -ENOMEM);
	idx = push(b, XGW_SECT_CLUSTER, (void **)&c);
	if (idx < 0)
		return idx;
	c->name = ns;
	c->ep_first = NEXT(b, XGW_SECT_ENDPOINT);
	c->tls = XGW_SNAP_NONE;
	b->cur_cluster = idx;
	return idx;
}

int xgw_snapb_cluster_proto(struct xgw_snapb *b, uint8_t proto)
{
	if (b->cur_cluster < 0 || proto > XGW_CPROTO_H2C)
		return fail(b, -EINVAL);
	SECT_AT(b, XGW_SECT_CLUSTER, struct xgw_snap_cluster, b->cur_cluster)->proto = proto;
	return 0;
}

int xgw_snapb_cluster_lb(struct xgw_snapb *b, uint8_t lb)
{
	if (b->cur_cluster < 0 || lb > XGW_LB_LEAST_REQUEST)
		return fail(b, -EINVAL);
	SECT_AT(b, XGW_SECT_CLUSTER, struct xgw_snap_cluster, b->cur_cluster)->lb = lb;
	return 0;
}

static int add_cstr(struct xgw_snapb *b, const char *s, struct xgw_snap_str *out)
{
	return add_str(b, s ? s : "", s ? strlen(s) : 0, out);
}

int xgw_snapb_cluster_tls_ref(struct xgw_snapb *b, uint32_t tls)
{
	if (b->cur_cluster < 0 || tls >= NEXT(b, XGW_SECT_UPTLS))
		return fail(b, -EINVAL);
	SECT_AT(b, XGW_SECT_CLUSTER, struct xgw_snap_cluster, b->cur_cluster)->tls = tls;
	return 0;
}

int xgw_snapb_cluster_tls(struct xgw_snapb *b, const struct xgw_snap_uptls *t, const char *name,
			  const char *sni, const char *ca, const char *chain, const char *key,
			  const char *const *sans)
{
	struct xgw_snap_uptls u = { .flags = t->flags, .n_sans = t->n_sans }, *p;
	int idx;

	if (b->cur_cluster < 0 || t->n_sans > XGW_SNAP_SANS_MAX ||
	    (t->flags & ~XGW_UPTLS_SYSTEM_CA) ||
	    (!(t->flags & XGW_UPTLS_SYSTEM_CA) && (!ca || !*ca)) || !sni || !*sni ||
	    (chain && *chain) != (key && *key))
		return fail(b, -EINVAL);
	for (uint8_t i = 0; i < t->n_sans; i++) {
		if (t->san_type[i] > XGW_SNAP_SAN_URI || !sans[i] || !*sans[i])
			return fail(b, -EINVAL);
		u.san_type[i] = t->san_type[i];
		if (add_cstr(b, sans[i], &u.san[i]))
			return fail(b, -ENOMEM);
	}
	if (add_cstr(b, name, &u.name) || add_cstr(b, sni, &u.sni) || add_cstr(b, ca, &u.ca) ||
	    add_cstr(b, chain, &u.client_chain) || add_cstr(b, key, &u.client_key))
		return fail(b, -ENOMEM);
	idx = push(b, XGW_SECT_UPTLS, (void **)&p);
	if (idx < 0)
		return idx;
	*p = u;
	SECT_AT(b, XGW_SECT_CLUSTER, struct xgw_snap_cluster, b->cur_cluster)->tls = (uint32_t)idx;
	return idx;
}

int xgw_snapb_endpoint(struct xgw_snapb *b, uint8_t family, const uint8_t addr[16], uint16_t port)
{
	struct xgw_snap_endpoint *e;
	int idx;

	if (b->cur_cluster < 0)
		return fail(b, -EINVAL);
	idx = push(b, XGW_SECT_ENDPOINT, (void **)&e);
	if (idx < 0)
		return idx;
	e->family = family;
	e->port = port;
	memcpy(e->addr, addr, 16);
	SECT_AT(b, XGW_SECT_CLUSTER, struct xgw_snap_cluster, b->cur_cluster)->ep_count++;
	return idx;
}

int xgw_snapb_sni(struct xgw_snapb *b, const char *hostname, uint8_t client_verify,
		  const char *client_ca, size_t ca_len)
{
	struct xgw_snap_sni *sn;
	struct xgw_snap_str hs, cs;
	int idx;

	if (b->cur_listener < 0 || client_verify > XGW_CLIENT_VERIFY_OPTIONAL)
		return fail(b, -EINVAL);
	if (add_str(b, hostname, strlen(hostname), &hs) || add_str(b, client_ca, ca_len, &cs))
		return fail(b, -ENOMEM);
	idx = push(b, XGW_SECT_SNI, (void **)&sn);
	if (idx < 0)
		return idx;
	sn->hostname = hs;
	sn->client_verify = client_verify;
	sn->client_ca = cs;
	sn->cert_first = NEXT(b, XGW_SECT_CERT);
	SECT_AT(b, XGW_SECT_LISTENER, struct xgw_snap_listener, b->cur_listener)->sni_count++;
	b->cur_sni = idx;
	return idx;
}

int xgw_snapb_cert(struct xgw_snapb *b, const char *name, const char *chain, size_t chain_len,
		   const char *key, size_t key_len)
{
	struct xgw_snap_str ns, cs, ks;
	struct xgw_snap_cert *ce;
	int idx;

	if (b->cur_sni < 0)
		return fail(b, -EINVAL);
	if (add_str(b, name, strlen(name), &ns) || add_str(b, chain, chain_len, &cs) ||
	    add_str(b, key, key_len, &ks))
		return fail(b, -ENOMEM);
	idx = push(b, XGW_SECT_CERT, (void **)&ce);
	if (idx < 0)
		return idx;
	ce->name = ns;
	ce->chain = cs;
	ce->key = ks;
	SECT_AT(b, XGW_SECT_SNI, struct xgw_snap_sni, b->cur_sni)->cert_count++;
	return idx;
}

void xgw_snapb_ticket_secret(struct xgw_snapb *b, const uint8_t secret[32])
{
	memcpy(b->ticket_secret, secret, sizeof(b->ticket_secret));
}

static uint64_t align8(uint64_t x)
{
	return (x + 7) & ~(uint64_t)7;
}

/* A section to lay out: <base_n> elements at <base>, then <n> at <data>. */
struct sect_src {
	const void *base;
	uint32_t base_n;
	const void *data;
	uint32_t n;
};

/*
 * The buffer of a snapshot: the header, then each section in order, each
 * 8-aligned with zero padding. What xgw_snapb__finish() and
 * xgw_snapshot_with_endpoints() make, so that theirs are byte for byte alike.
 */
static int lay_out(uint64_t generation, const uint8_t *ticket_secret,
		   const struct sect_src src[XGW_SECT__MAX], void **out, size_t *len)
{
	struct xgw_snap_hdr *hdr;
	uint64_t size = align8(sizeof(*hdr));
	char *buf;

	for (int s = 0; s < XGW_SECT__MAX; s++)
		size += align8(((uint64_t)src[s].base_n + src[s].n) * elem_size[s]);
	if (size > UINT32_MAX)
		return -E2BIG;
	/* not calloc(): the sections are copied over all but the header and the
	 * alignment padding, which are zeroed here (megabytes at scale) */
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0, align8(sizeof(*hdr)));
	hdr = (struct xgw_snap_hdr *)buf;
	hdr->magic = XGW_SNAP_MAGIC;
	hdr->format = XGW_SNAP_FORMAT;
	hdr->generation = generation;
	hdr->size = size;
	if (ticket_secret)
		memcpy(hdr->ticket_secret, ticket_secret, sizeof(hdr->ticket_secret));
	size = align8(sizeof(*hdr));
	for (int s = 0; s < XGW_SECT__MAX; s++) {
		size_t first = (size_t)src[s].base_n * elem_size[s],
		       bytes = first + (size_t)src[s].n * elem_size[s];

		hdr->sect[s].off = (uint32_t)size;
		hdr->sect[s].count = src[s].base_n + src[s].n;
		if (first)
			memcpy(buf + size, src[s].base, first);
		if (bytes > first)
			memcpy(buf + size + first, src[s].data, bytes - first);
		memset(buf + size + bytes, 0, align8(bytes) - bytes);
		size += align8(bytes);
	}
	*out = buf;
	*len = size;
	return 0;
}

int xgw_snapb__finish(struct xgw_snapb *b, void **out, size_t *len)
{
	struct sect_src src[XGW_SECT__MAX];

	if (b->failed)
		return -ENOMEM;
	for (int s = 0; s < XGW_SECT__MAX; s++)
		src[s] = (struct sect_src){ b->base[s], b->base_n[s], b->sect[s].data,
					    b->sect[s].n };
	return lay_out(b->generation, b->ticket_secret, src, out, len);
}

int xgw_snapshot_with_endpoints(const struct xgw_snapshot *s, uint64_t generation,
				const uint8_t *ticket_secret, const struct xgw_snap_endpoint *eps,
				const uint32_t *ep_count, uint32_t n_eps, void **out, size_t *len)
{
	const char *base = (const char *)s->hdr;
	struct sect_src src[XGW_SECT__MAX];
	struct xgw_snap_cluster *cl;
	uint64_t first = 0;
	int err;

	for (uint32_t i = 0; i < s->n_clusters; i++)
		first += ep_count[i];
	if (first != n_eps)
		return -EINVAL;
	for (int k = 0; k < XGW_SECT__MAX; k++)
		src[k] = (struct sect_src){ NULL, 0, base + s->hdr->sect[k].off,
					    s->hdr->sect[k].count };
	src[XGW_SECT_ENDPOINT] = (struct sect_src){ NULL, 0, eps, n_eps };
	err = lay_out(generation, ticket_secret, src, out, len);
	if (err)
		return err;
	/* a cluster's endpoints follow the previous cluster's, as the builder adds them */
	cl = (struct xgw_snap_cluster *)((char *)*out +
					 ((struct xgw_snap_hdr *)*out)->sect[XGW_SECT_CLUSTER].off);
	first = 0;
	for (uint32_t i = 0; i < s->n_clusters; i++) {
		cl[i].ep_first = (uint32_t)first;
		cl[i].ep_count = ep_count[i];
		first += ep_count[i];
	}
	return 0;
}

/* --- reader ----------------------------------------------------------- */

static bool str_ok(const struct xgw_snapshot *s, struct xgw_snap_str str)
{
	return str.off <= s->strings_len && str.len <= s->strings_len - str.off;
}

static bool range_ok(uint32_t first, uint32_t count, uint32_t n)
{
	return first <= n && count <= n - first;
}

static bool family_ok(uint8_t f)
{
	return f == 4 || f == 6;
}

int xgw_snapshot__view(struct xgw_snapshot *snap, const void *buf, size_t len)
{
	const struct xgw_snap_hdr *hdr = buf;
	const char *base = buf;
	const void *p[XGW_SECT__MAX];

	memset(snap, 0, sizeof(*snap));
	if (len < sizeof(*hdr) || ((uintptr_t)buf & 7))
		return -EINVAL;
	if (hdr->magic != XGW_SNAP_MAGIC)
		return -EINVAL;
	if (hdr->format != XGW_SNAP_FORMAT)
		return -EPROTO;
	if (hdr->size != len)
		return -EINVAL;
	for (int s = 0; s < XGW_SECT__MAX; s++) {
		uint64_t off = hdr->sect[s].off,
			 bytes = (uint64_t)hdr->sect[s].count * elem_size[s];

		if (off & 7 || off < sizeof(*hdr) || off > len || bytes > len - off)
			return -EINVAL;
		p[s] = base + off;
	}
	snap->hdr = hdr;
	snap->generation = hdr->generation;
	snap->listeners = p[XGW_SECT_LISTENER];
	snap->n_listeners = hdr->sect[XGW_SECT_LISTENER].count;
	snap->vhosts = p[XGW_SECT_VHOST];
	snap->n_vhosts = hdr->sect[XGW_SECT_VHOST].count;
	snap->matches = p[XGW_SECT_MATCH];
	snap->n_matches = hdr->sect[XGW_SECT_MATCH].count;
	snap->rules = p[XGW_SECT_RULE];
	snap->n_rules = hdr->sect[XGW_SECT_RULE].count;
	snap->backends = p[XGW_SECT_BACKEND];
	snap->n_backends = hdr->sect[XGW_SECT_BACKEND].count;
	snap->clusters = p[XGW_SECT_CLUSTER];
	snap->n_clusters = hdr->sect[XGW_SECT_CLUSTER].count;
	snap->endpoints = p[XGW_SECT_ENDPOINT];
	snap->n_endpoints = hdr->sect[XGW_SECT_ENDPOINT].count;
	snap->kvs = p[XGW_SECT_KV];
	snap->n_kvs = hdr->sect[XGW_SECT_KV].count;
	snap->filters = p[XGW_SECT_FILTER];
	snap->n_filters = hdr->sect[XGW_SECT_FILTER].count;
	snap->hdrops = p[XGW_SECT_HDROP];
	snap->n_hdrops = hdr->sect[XGW_SECT_HDROP].count;
	snap->snis = p[XGW_SECT_SNI];
	snap->n_snis = hdr->sect[XGW_SECT_SNI].count;
	snap->certs = p[XGW_SECT_CERT];
	snap->n_certs = hdr->sect[XGW_SECT_CERT].count;
	snap->uptls = p[XGW_SECT_UPTLS];
	snap->n_uptls = hdr->sect[XGW_SECT_UPTLS].count;
	snap->strings = p[XGW_SECT_STRING];
	snap->strings_len = hdr->sect[XGW_SECT_STRING].count;
	return 0;
}

int xgw_snapshot__open(struct xgw_snapshot *snap, const void *buf, size_t len)
{
	int err = xgw_snapshot__view(snap, buf, len);

	if (err)
		return err;

	for (uint32_t i = 0; i < snap->n_listeners; i++) {
		const struct xgw_snap_listener *l = &snap->listeners[i];
		bool terminates = false;

		if (l->id != i || !family_ok(l->family) || !str_ok(snap, l->name) ||
		    !range_ok(l->vhost_first, l->vhost_count, snap->n_vhosts) ||
		    !range_ok(l->sni_first, l->sni_count, snap->n_snis))
			goto bad;
		/* server names: HTTPS always, TLS when it has terminating vhosts (and
		 * maybe before any route gives it one), the others never (the vhost
		 * flag means nothing but on TLS listeners) */
		for (uint32_t k = 0; k < l->vhost_count; k++)
			terminates |=
				snap->vhosts[l->vhost_first + k].flags & XGW_VHOST_TLS_TERMINATE;
		if (l->proto == XGW_LPROTO_HTTPS ? !l->sni_count
		    : l->proto == XGW_LPROTO_TLS ? terminates && !l->sni_count
						 : l->sni_count > 0)
			goto bad;
	}
	for (uint32_t i = 0; i < snap->n_snis; i++) {
		const struct xgw_snap_sni *sn = &snap->snis[i];

		if (!str_ok(snap, sn->hostname) || !sn->cert_count ||
		    sn->client_verify > XGW_CLIENT_VERIFY_OPTIONAL ||
		    !str_ok(snap, sn->client_ca) ||
		    (sn->client_verify != XGW_CLIENT_VERIFY_NONE && !sn->client_ca.len) ||
		    !range_ok(sn->cert_first, sn->cert_count, snap->n_certs))
			goto bad;
	}
	for (uint32_t i = 0; i < snap->n_certs; i++) {
		const struct xgw_snap_cert *ce = &snap->certs[i];

		if (!str_ok(snap, ce->name) || !str_ok(snap, ce->chain) || !str_ok(snap, ce->key))
			goto bad;
	}
	for (uint32_t i = 0; i < snap->n_vhosts; i++) {
		const struct xgw_snap_vhost *v = &snap->vhosts[i];

		if (!str_ok(snap, v->hostname) || (v->flags & ~XGW_VHOST_TLS_TERMINATE) ||
		    !range_ok(v->match_first, v->match_count, snap->n_matches))
			goto bad;
	}
	for (uint32_t i = 0; i < snap->n_matches; i++) {
		const struct xgw_snap_match *m = &snap->matches[i];

		if (m->rule >= snap->n_rules || m->path_type > XGW_PATH_REGEX ||
		    !str_ok(snap, m->path) || !str_ok(snap, m->method) ||
		    !range_ok(m->kv_first, m->kv_count, snap->n_kvs))
			goto bad;
	}
	for (uint32_t i = 0; i < snap->n_rules; i++) {
		const struct xgw_snap_rule *r = &snap->rules[i];
		uint64_t total = 0;

		if (!str_ok(snap, r->route) ||
		    !range_ok(r->backend_first, r->backend_count, snap->n_backends) ||
		    !range_ok(r->filter_first, r->filter_count, snap->n_filters) ||
		    r->retry_attempts > XGW_SNAP_RETRY_MAX || r->retry_codes[3] >> 8 ||
		    r->sp_type > XGW_SP_HEADER || (r->sp_flags & ~XGW_SP_PERMANENT) ||
		    !str_ok(snap, r->sp_name) || !str_ok(snap, r->sp_path) ||
		    (r->sp_type != XGW_SP_NONE && !r->sp_name.len))
			goto bad;
		for (uint32_t j = 0; j < r->backend_count; j++)
			total += snap->backends[r->backend_first + j].weight;
		if (total != r->total_weight)
			goto bad;
	}
	for (uint32_t i = 0; i < snap->n_backends; i++) {
		const struct xgw_snap_backend *be = &snap->backends[i];

		if ((be->cluster != XGW_SNAP_NONE && be->cluster >= snap->n_clusters) ||
		    !range_ok(be->filter_first, be->filter_count, snap->n_filters))
			goto bad;
	}
	for (uint32_t i = 0; i < snap->n_kvs; i++) {
		const struct xgw_snap_kv *kv = &snap->kvs[i];

		if (kv->kind > XGW_KV_QUERY || kv->type > XGW_KV_REGEX || !str_ok(snap, kv->name) ||
		    !str_ok(snap, kv->value))
			goto bad;
	}
	for (uint32_t i = 0; i < snap->n_filters; i++) {
		const struct xgw_snap_filter *f = &snap->filters[i];

		if (f->type < XGW_FILTER_REQUEST_HEADER || f->type > XGW_FILTER_CORS ||
		    f->path_mod > XGW_PATHMOD_PREFIX || !str_ok(snap, f->scheme) ||
		    !str_ok(snap, f->hostname) || !str_ok(snap, f->path) ||
		    !range_ok(f->op_first, f->op_count, snap->n_hdrops) ||
		    (f->type == XGW_FILTER_MIRROR && (f->cluster >= snap->n_clusters || !f->den)) ||
		    (f->type != XGW_FILTER_CORS && f->flags) || f->flags > XGW_CORS_CREDENTIALS)
			goto bad;
		/* header filters hold header operations, CORS filters list items */
		for (uint32_t j = 0; j < f->op_count; j++) {
			uint8_t op = snap->hdrops[f->op_first + j].op;

			if ((f->type == XGW_FILTER_CORS) != (op >= XGW_HDROP_CORS_ORIGIN))
				goto bad;
		}
	}
	for (uint32_t i = 0; i < snap->n_hdrops; i++) {
		const struct xgw_snap_hdrop *h = &snap->hdrops[i];

		if (h->op > XGW_HDROP_CORS_EXPOSE || !str_ok(snap, h->name) ||
		    !str_ok(snap, h->value))
			goto bad;
	}
	for (uint32_t i = 0; i < snap->n_clusters; i++) {
		const struct xgw_snap_cluster *c = &snap->clusters[i];

		if (!str_ok(snap, c->name) || c->proto > XGW_CPROTO_H2C ||
		    c->lb > XGW_LB_LEAST_REQUEST ||
		    !range_ok(c->ep_first, c->ep_count, snap->n_endpoints) ||
		    (c->tls != XGW_SNAP_NONE && c->tls >= snap->n_uptls))
			goto bad;
	}
	for (uint32_t i = 0; i < snap->n_uptls; i++) {
		const struct xgw_snap_uptls *t = &snap->uptls[i];

		if (!str_ok(snap, t->name) || !str_ok(snap, t->sni) || !t->sni.len ||
		    !str_ok(snap, t->ca) || !str_ok(snap, t->client_chain) ||
		    !str_ok(snap, t->client_key) || (t->flags & ~XGW_UPTLS_SYSTEM_CA) ||
		    (!(t->flags & XGW_UPTLS_SYSTEM_CA) && !t->ca.len) ||
		    !t->client_chain.len != !t->client_key.len || t->n_sans > XGW_SNAP_SANS_MAX)
			goto bad;
		for (uint8_t k = 0; k < t->n_sans; k++)
			if (t->san_type[k] > XGW_SNAP_SAN_URI || !str_ok(snap, t->san[k]) ||
			    !t->san[k].len)
				goto bad;
	}
	for (uint32_t i = 0; i < snap->n_endpoints; i++)
		if (!family_ok(snap->endpoints[i].family))
			goto bad;
	return 0;
bad:
	memset(snap, 0, sizeof(*snap));
	return -EINVAL;
}
