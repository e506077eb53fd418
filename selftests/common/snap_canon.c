// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* A snapshot as the workers route by it, in text (snap_canon.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap_canon.h"

struct canon {
	const struct xgw_snapshot *s;
	FILE *f;
	bool *reached; /* per cluster: named by something reachable */
};

static void str(struct canon *c, const char *tag, struct xgw_snap_str v)
{
	fprintf(c->f, " %s=\"%.*s\"", tag, (int)v.len, xgw_snap_str_ptr(c->s, v));
}

static void cluster_ref(struct canon *c, uint32_t cl)
{
	if (cl == XGW_SNAP_NONE || cl >= c->s->n_clusters) {
		fprintf(c->f, " cluster=none");
		return;
	}
	c->reached[cl] = true;
	str(c, "cluster", c->s->clusters[cl].name);
}

static void filters(struct canon *c, const char *indent, uint32_t first, uint32_t n)
{
	const struct xgw_snapshot *s = c->s;

	for (uint32_t i = first; i < first + n; i++) {
		const struct xgw_snap_filter *f = &s->filters[i];

		fprintf(c->f, "%sF type=%u path_mod=%u status=%u port=%u num=%u den=%u flags=%u",
			indent, f->type, f->path_mod, f->status, f->port, f->num, f->den, f->flags);
		str(c, "scheme", f->scheme);
		str(c, "host", f->hostname);
		str(c, "path", f->path);
		if (f->type == XGW_FILTER_MIRROR)
			cluster_ref(c, f->cluster);
		fputc('\n', c->f);
		for (uint32_t k = f->op_first; k < f->op_first + f->op_count; k++) {
			fprintf(c->f, "%s op=%u", indent, s->hdrops[k].op);
			str(c, "name", s->hdrops[k].name);
			str(c, "value", s->hdrops[k].value);
			fputc('\n', c->f);
		}
	}
}

static void rule(struct canon *c, uint32_t ri)
{
	const struct xgw_snapshot *s = c->s;
	const struct xgw_snap_rule *r = &s->rules[ri];

	fprintf(c->f, "      R");
	str(c, "route", r->route);
	fprintf(c->f,
		" rule=%u total=%u timeouts=%u/%u retry=%u/%u/%llx.%llx.%llx.%llx sp=%u/%u/%u/%u",
		r->rule_index, r->total_weight, r->timeout_request_ms, r->timeout_backend_ms,
		r->retry_attempts, r->retry_backoff_ms, (unsigned long long)r->retry_codes[0],
		(unsigned long long)r->retry_codes[1], (unsigned long long)r->retry_codes[2],
		(unsigned long long)r->retry_codes[3], r->sp_type, r->sp_flags, r->sp_absolute_s,
		r->sp_idle_s);
	str(c, "sp_name", r->sp_name);
	str(c, "sp_path", r->sp_path);
	fputc('\n', c->f);
	filters(c, "       ", r->filter_first, r->filter_count);
	for (uint32_t b = r->backend_first; b < r->backend_first + r->backend_count; b++) {
		fprintf(c->f, "       B weight=%u", s->backends[b].weight);
		cluster_ref(c, s->backends[b].cluster);
		fputc('\n', c->f);
		filters(c, "        ", s->backends[b].filter_first, s->backends[b].filter_count);
	}
}

static void listener(struct canon *c, uint32_t li)
{
	const struct xgw_snapshot *s = c->s;
	const struct xgw_snap_listener *l = &s->listeners[li];

	fprintf(c->f, "L%u family=%u proto=%u port=%u addr=", li, l->family, l->proto, l->port);
	for (int i = 0; i < 16; i++)
		fprintf(c->f, "%02x", l->addr[i]);
	str(c, "name", l->name);
	fputc('\n', c->f);
	for (uint32_t i = l->sni_first; i < l->sni_first + l->sni_count; i++) {
		const struct xgw_snap_sni *sn = &s->snis[i];

		fprintf(c->f, "  S verify=%u", sn->client_verify);
		str(c, "host", sn->hostname);
		str(c, "ca", sn->client_ca);
		fputc('\n', c->f);
		for (uint32_t k = sn->cert_first; k < sn->cert_first + sn->cert_count; k++) {
			fprintf(c->f, "   C");
			str(c, "name", s->certs[k].name);
			str(c, "chain", s->certs[k].chain);
			str(c, "key", s->certs[k].key);
			fputc('\n', c->f);
		}
	}
	for (uint32_t v = l->vhost_first; v < l->vhost_first + l->vhost_count; v++) {
		const struct xgw_snap_vhost *vh = &s->vhosts[v];

		fprintf(c->f, "  V flags=%u", vh->flags);
		str(c, "host", vh->hostname);
		fputc('\n', c->f);
		for (uint32_t m = vh->match_first; m < vh->match_first + vh->match_count; m++) {
			const struct xgw_snap_match *sm = &s->matches[m];

			fprintf(c->f, "    M type=%u", sm->path_type);
			str(c, "path", sm->path);
			str(c, "method", sm->method);
			fputc('\n', c->f);
			for (uint32_t k = sm->kv_first; k < sm->kv_first + sm->kv_count; k++) {
				fprintf(c->f, "     K kind=%u type=%u", s->kvs[k].kind,
					s->kvs[k].type);
				str(c, "name", s->kvs[k].name);
				str(c, "value", s->kvs[k].value);
				fputc('\n', c->f);
			}
			rule(c, sm->rule);
		}
	}
}

static const struct xgw_snapshot *sort_snap;

static int cluster_cmp(const void *pa, const void *pb)
{
	const struct xgw_snap_cluster *a = &sort_snap->clusters[*(const uint32_t *)pa],
				      *b = &sort_snap->clusters[*(const uint32_t *)pb];
	uint32_t n = a->name.len < b->name.len ? a->name.len : b->name.len;
	int r = memcmp(xgw_snap_str_ptr(sort_snap, a->name), xgw_snap_str_ptr(sort_snap, b->name),
		       n);

	return r ? r : (int)a->name.len - (int)b->name.len;
}

static void cluster(struct canon *c, uint32_t k)
{
	const struct xgw_snapshot *s = c->s;
	const struct xgw_snap_cluster *cl = &s->clusters[k];

	fprintf(c->f, "C proto=%u lb=%u", cl->proto, cl->lb);
	str(c, "name", cl->name);
	if (cl->tls != XGW_SNAP_NONE && cl->tls < s->n_uptls) {
		const struct xgw_snap_uptls *t = &s->uptls[cl->tls];

		fprintf(c->f, " tls flags=%u", t->flags);
		str(c, "policy", t->name);
		str(c, "sni", t->sni);
		str(c, "ca", t->ca);
		str(c, "client_chain", t->client_chain);
		str(c, "client_key", t->client_key);
		for (int i = 0; i < t->n_sans && i < XGW_SNAP_SANS_MAX; i++) {
			fprintf(c->f, " san%u", t->san_type[i]);
			str(c, "", t->san[i]);
		}
	}
	fputc('\n', c->f);
	for (uint32_t e = cl->ep_first; e < cl->ep_first + cl->ep_count; e++) {
		const struct xgw_snap_endpoint *ep = &s->endpoints[e];

		fprintf(c->f, " E %u ", ep->family);
		for (int i = 0; i < 16; i++)
			fprintf(c->f, "%02x", ep->addr[i]);
		fprintf(c->f, " %u\n", ep->port);
	}
}

char *xgw_snap_canon(const struct xgw_snapshot *s, size_t *len)
{
	struct canon c = { .s = s };
	uint32_t *order, n = 0;
	char *text = NULL;

	c.reached = calloc(s->n_clusters + 1, sizeof(*c.reached));
	order = calloc(s->n_clusters + 1, sizeof(*order));
	c.f = open_memstream(&text, len);
	if (!c.reached || !order || !c.f)
		goto out;
	for (uint32_t li = 0; li < s->n_listeners; li++)
		listener(&c, li);
	for (uint32_t k = 0; k < s->n_clusters; k++)
		if (c.reached[k])
			order[n++] = k;
	sort_snap = s;
	qsort(order, n, sizeof(*order), cluster_cmp);
	for (uint32_t k = 0; k < n; k++)
		cluster(&c, order[k]);
out:
	if (c.f && fclose(c.f)) {
		free(text);
		text = NULL;
	}
	free(c.reached);
	free(order);
	return text;
}
