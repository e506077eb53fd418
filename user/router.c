// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The router. Listeners and hostnames are found through open-addressing hash
 * tables built at snapshot swap. A vhost's matches are in the precedence
 * order the agent laid down and the first that holds wins: a short list is
 * walked in that order; a long one is indexed by path (Exact matches by
 * path, PathPrefix matches by trimmed prefix, looked up at each segment
 * boundary of the request path), which yields a few candidate lists, each
 * in match order, whose lowest-indexed candidate that holds is the answer
 * the walk would give.
 */
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xgw/hash.h"
#include "xgw/log.h"
#include "xgw/regex.h"

#include "http1.h"
#include "cors.h"
#include "router.h"

static inline uint8_t lower(uint8_t c)
{
	return (uint8_t)(c - 'A') < 26 ? c | 0x20 : c;
}

static inline uint32_t fnv_mix(uint32_t h, uint8_t c)
{
	return (h ^ c) * XGW_FNV_PRIME;
}

static uint32_t fnv_u32(uint32_t h, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		h = fnv_mix(h, (uint8_t)(v >> (8 * i)));
	return h;
}

static uint32_t listener_hash(uint8_t family, const uint8_t addr[16], uint16_t port)
{
	uint32_t h = fnv_mix(XGW_FNV_OFFSET, family);

	for (int i = 0; i < 16; i++)
		h = fnv_mix(h, addr[i]);
	return fnv_u32(h, port);
}

#define ONES8 0x0101010101010101ULL

/* The eight bytes of <x> with 'A'..'Z' made lower-case (bytes 0x80.. untouched). */
static inline uint64_t lower8(uint64_t x)
{
	uint64_t low7 = x & (ONES8 * 0x7f);
	uint64_t ge_a = low7 + ONES8 * (0x80 - 'A');	 /* high bit: >= 'A' */
	uint64_t gt_z = low7 + ONES8 * (0x80 - 'Z' - 1); /* high bit: > 'Z' */

	return x | (((ge_a & ~gt_z & ~x) & (ONES8 * 0x80)) >> 2);
}

/*
 * The word that stands for the last bytes of a string of <n> bytes at <p>,
 * lower-cased, read without going past them: its last eight bytes when
 * there are eight (overlapping what the loop took), else two overlapping
 * halves, or the first, middle and last byte. Equal strings (but for case)
 * give equal words.
 */
static inline uint64_t last8(const char *p, size_t n)
{
	uint32_t lo, hi;
	uint64_t w;

	if (n >= 8) {
		memcpy(&w, p + n - 8, 8);
		return lower8(w);
	}
	if (n >= 4) {
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		return lower8((uint64_t)hi << 32 | lo);
	}
	if (!n)
		return 0;
	return lower8((uint64_t)(uint8_t)p[0] | (uint64_t)(uint8_t)p[n / 2] << 8 |
		      (uint64_t)(uint8_t)p[n - 1] << 16);
}

static inline uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/*
 * Hash of a host name, lower-cased on the fly (the request is never copied),
 * eight bytes at a time.
 */
static uint32_t host_hash(uint32_t listener, uint8_t wild, const char *name, size_t len)
{
	uint64_t h = mix(0, (uint64_t)listener << 8 | wild | (uint64_t)len << 40);
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, name + i, 8);
		h = mix(h, lower8(w));
	}
	if (i < len)
		h = mix(h, last8(name, len));
	h *= 0xbf58476d1ce4e5b9ULL;
	return (uint32_t)(h ^ (h >> 32));
}

static bool lower_eq(const char *a, const char *b, size_t len)
{
	uint64_t x, y;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y && lower8(x) != lower8(y))
			return false;
	}
	if (i == len)
		return true;
	if (len < 4) {
		for (; i < len; i++)
			if (lower((uint8_t)a[i]) != lower((uint8_t)b[i]))
				return false;
		return true;
	}
	return last8(a, len) == last8(b, len);
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
			    (o->proto == XGW_LPROTO_UDP) == (sl->proto == XGW_LPROTO_UDP) &&
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

/* The slot of <r>'s table that holds the expression <p> (<len> bytes), or the free one where it goes. */
static uint32_t *re_slot(const struct xgw_router *r, const char *p, size_t len, uint32_t hash)
{
	for (uint32_t h = hash & r->re_mask;; h = (h + 1) & r->re_mask) {
		const struct xgw_rt_re *e;

		if (!r->re_tab[h])
			return &r->re_tab[h];
		e = r->re[r->re_tab[h] - 1];
		if (e->hash == hash && e->len == len && !memcmp(e->expr, p, len))
			return &r->re_tab[h];
	}
}

/*
 * Expression <e> anchored to the whole subject ("^(" expr ")$"): the one
 * this router has of that text, else <prev>'s, else compiled, as
 * re[*slot]. Returns 0 or -EINVAL (logged) / -ENOMEM.
 */
static int re_compile(struct xgw_router *r, const struct xgw_router *prev, const char *what,
		      struct xgw_snap_str e, uint32_t *slot)
{
	const char *p = xgw_snap_str_ptr(r->snap, e);
	uint32_t hash = xgw_fnv1a(XGW_FNV_OFFSET, p, e.len), *mine = re_slot(r, p, e.len, hash),
		 *theirs;
	struct xgw_rt_re *x;
	char msg[128];
	int rc;

	if (*mine) {
		*slot = *mine - 1;
		return 0;
	}
	if (prev && prev->re_tab && *(theirs = re_slot(prev, p, e.len, hash))) {
		x = prev->re[*theirs - 1];
		x->refs++;
	} else {
		x = malloc(sizeof(*x) + e.len);
		if (!x)
			return -ENOMEM;
		rc = xgw_regex_compile(&x->re, p, e.len, msg, sizeof(msg));
		if (rc) {
			free(x);
			if (rc == REG_ESPACE)
				return -ENOMEM;
			log_warn("snapshot: %s regular expression \"%.*s\": %s", what, (int)e.len,
				 p, msg);
			return -EINVAL;
		}
		x->refs = 1;
		x->hash = hash;
		x->len = e.len;
		memcpy(x->expr, p, e.len);
	}
	r->re[r->n_re] = x;
	*slot = r->n_re++;
	*mine = *slot + 1;
	return 0;
}

static int build_regexes(struct xgw_router *r, const struct xgw_router *prev)
{
	const struct xgw_snapshot *s = r->snap;
	uint32_t n = 0;
	int err;

	for (uint32_t m = 0; m < s->n_matches; m++)
		n += s->matches[m].path_type == XGW_PATH_REGEX;
	for (uint32_t k = 0; k < s->n_kvs; k++)
		n += s->kvs[k].type == XGW_KV_REGEX;
	r->re = calloc(n ? n : 1, sizeof(*r->re));
	r->re_mask = table_size(n) - 1;
	r->re_tab = calloc((size_t)r->re_mask + 1, sizeof(*r->re_tab));
	r->match_re = malloc((s->n_matches ? s->n_matches : 1) * sizeof(*r->match_re));
	r->kv_re = malloc((s->n_kvs ? s->n_kvs : 1) * sizeof(*r->kv_re));
	if (!r->re || !r->re_tab || !r->match_re || !r->kv_re)
		return -ENOMEM;
	for (uint32_t m = 0; m < s->n_matches; m++) {
		r->match_re[m] = XGW_SNAP_NONE;
		if (s->matches[m].path_type != XGW_PATH_REGEX)
			continue;
		err = re_compile(r, prev, "path", s->matches[m].path, &r->match_re[m]);
		if (err)
			return err;
	}
	for (uint32_t k = 0; k < s->n_kvs; k++) {
		r->kv_re[k] = XGW_SNAP_NONE;
		if (s->kvs[k].type != XGW_KV_REGEX)
			continue;
		err = re_compile(r, prev, s->kvs[k].kind == XGW_KV_HEADER ? "header" : "query",
				 s->kvs[k].value, &r->kv_re[k]);
		if (err)
			return err;
	}
	return 0;
}

/* Whether <str> is a header field name (RFC 9110 token). */
static bool is_token(const struct xgw_snapshot *s, struct xgw_snap_str str)
{
	return xgw_h1_is_token(xgw_snap_str_ptr(s, str), str.len);
}

/* Whether <str> could be spliced into a head: no CR, LF or NUL. */
static bool head_safe(const struct xgw_snapshot *s, struct xgw_snap_str str)
{
	const char *p = xgw_snap_str_ptr(s, str);

	for (uint32_t i = 0; i < str.len; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
			return false;
	return true;
}

static uint32_t put_line(char *lines, uint32_t off, const char *a, size_t alen, const char *b,
			 size_t blen)
{
	memcpy(lines + off, a, alen);
	memcpy(lines + off + alen, ": ", 2);
	memcpy(lines + off + alen + 2, b, blen);
	memcpy(lines + off + alen + 2 + blen, "\r\n", 2);
	return off + (uint32_t)(alen + blen + 4);
}

/* Lay out the header lines filters add; check every string a filter splices in. */
static int build_lines(struct xgw_router *r)
{
	const struct xgw_snapshot *s = r->snap;
	uint64_t size = 1;
	uint32_t off = 0;

	for (uint32_t i = 0; i < s->n_hdrops; i++) {
		const struct xgw_snap_hdrop *h = &s->hdrops[i];

		if (h->op >= XGW_HDROP_CORS_ORIGIN)
			continue; /* a CORS list item: cors.c checks and lays it out */
		if (!is_token(s, h->name) || !head_safe(s, h->value)) {
			log_warn("snapshot: header operation on \"%.*s\": not a valid header",
				 (int)h->name.len, xgw_snap_str_ptr(s, h->name));
			return -EINVAL;
		}
		size += h->name.len + h->value.len + 4;
	}
	for (uint32_t i = 0; i < s->n_filters; i++) {
		const struct xgw_snap_filter *f = &s->filters[i];

		const char *path = xgw_snap_str_ptr(s, f->path);

		/* The path goes into a request line or a Location: one "/..." token. */
		if (!head_safe(s, f->scheme) || !head_safe(s, f->hostname) ||
		    !head_safe(s, f->path) || memchr(path, ' ', f->path.len) ||
		    memchr(xgw_snap_str_ptr(s, f->hostname), ' ', f->hostname.len) ||
		    (f->path_mod != XGW_PATHMOD_NONE && f->path.len && path[0] != '/')) {
			log_warn("snapshot: filter %u: scheme, hostname or path not usable", i);
			return -EINVAL;
		}
		if (f->type == XGW_FILTER_URL_REWRITE && f->hostname.len)
			size += f->hostname.len + 8;
	}
	if (size > UINT32_MAX)
		return -E2BIG;
	r->lines = malloc(size);
	r->op_line = malloc((s->n_hdrops ? s->n_hdrops : 1) * sizeof(*r->op_line));
	r->host_line = malloc((s->n_filters ? s->n_filters : 1) * sizeof(*r->host_line));
	r->mirror_acc = calloc(s->n_filters ? s->n_filters : 1, sizeof(*r->mirror_acc));
	if (!r->lines || !r->op_line || !r->host_line || !r->mirror_acc)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->n_hdrops; i++) {
		const struct xgw_snap_hdrop *h = &s->hdrops[i];

		r->op_line[i] = off;
		if (h->op >= XGW_HDROP_CORS_ORIGIN)
			continue;
		off = put_line(r->lines, off, xgw_snap_str_ptr(s, h->name), h->name.len,
			       xgw_snap_str_ptr(s, h->value), h->value.len);
	}
	for (uint32_t i = 0; i < s->n_filters; i++) {
		const struct xgw_snap_filter *f = &s->filters[i];

		r->host_line[i] = off;
		if (f->type == XGW_FILTER_URL_REWRITE && f->hostname.len)
			off = put_line(r->lines, off, "Host", 4, xgw_snap_str_ptr(s, f->hostname),
				       f->hostname.len);
	}
	return 0;
}

/* A PathPrefix pattern without its trailing slashes: what it matches segment-wise (0: all). */
static size_t prefix_trim(const char *pattern, size_t len)
{
	while (len && pattern[len - 1] == '/')
		len--;
	return len;
}

/*
 * Path keys are hashed with FNV-1a from a seed that depends on the vhost. The
 * low bits of FNV-1a only depend on the low bits of the input bytes: fold
 * the high half in before masking.
 */
static inline uint32_t path_seed(uint32_t vhost)
{
	return (XGW_FNV_OFFSET ^ vhost) * XGW_FNV_PRIME;
}

static inline uint32_t pslot_first(const struct xgw_router *r, uint32_t h)
{
	return (h ^ (h >> 16)) & r->pmask;
}

/*
 * The path index slot of (<vhost>, <key>) whose hash is <h>, or NULL. Keys
 * are compared exactly: paths are case-sensitive.
 */
static const struct xgw_rt_pslot *pslot_find(const struct xgw_router *r, uint32_t h, uint32_t vhost,
					     const char *key, size_t len)
{
	for (uint32_t i = pslot_first(r, h);; i = (i + 1) & r->pmask) {
		const struct xgw_rt_pslot *s = &r->ptab[i];

		if (s->vhost == XGW_SNAP_NONE)
			return NULL;
		if (s->hash == h && s->vhost == vhost && s->key_len == len &&
		    (!len || !memcmp(r->snap->strings + s->key_off, key, len)))
			return s;
	}
}

static uint32_t path_hash(uint32_t vhost, const char *p, size_t len)
{
	uint32_t h = path_seed(vhost);

	for (size_t i = 0; i < len; i++)
		h = fnv_mix(h, (uint8_t)p[i]);
	return h;
}

/* The slot of (<vhost>, snapshot string bytes at <off>, <len>), added if missing. */
static struct xgw_rt_pslot *pslot_get(struct xgw_router *r, uint32_t vhost, uint32_t off,
				      uint32_t len)
{
	const char *key = r->snap->strings + off;
	uint32_t h = path_hash(vhost, key, len);
	struct xgw_rt_pslot *s = (struct xgw_rt_pslot *)pslot_find(r, h, vhost, key, len);
	uint32_t i;

	if (s)
		return s;
	for (i = pslot_first(r, h); r->ptab[i].vhost != XGW_SNAP_NONE; i = (i + 1) & r->pmask)
		;
	r->ptab[i] =
		(struct xgw_rt_pslot){ .hash = h, .vhost = vhost, .key_off = off, .key_len = len };
	return &r->ptab[i];
}

/*
 * One pass over the matches of the indexed vhosts, in match order: count
 * each candidate list's length, or (<fill>) append each match to its list,
 * laid out in pcand by the counting pass.
 */
static void index_pass(struct xgw_router *r, bool fill)
{
	const struct xgw_snapshot *s = r->snap;

	for (uint32_t v = 0; v < s->n_vhosts; v++) {
		struct xgw_rt_vix *x = &r->vix[v];
		const struct xgw_snap_vhost *vh = &s->vhosts[v];

		if (!x->indexed)
			continue;
		for (uint32_t m = vh->match_first; m < vh->match_first + vh->match_count; m++) {
			const struct xgw_snap_match *sm = &s->matches[m];
			uint32_t len = sm->path.len, *first, *count;
			struct xgw_rt_pslot *slot;

			switch (sm->path_type) {
			case XGW_PATH_REGEX:
				first = &x->re_first;
				count = &x->re_count;
				break;
			case XGW_PATH_PREFIX:
				len = (uint32_t)prefix_trim(xgw_snap_str_ptr(s, sm->path), len);
				if (!len) {
					first = &x->root_first;
					count = &x->root_count;
					break;
				}
				slot = pslot_get(r, v, sm->path.off, len);
				first = &slot->prefix_first;
				count = &slot->prefix_count;
				break;
			case XGW_PATH_EXACT:
				slot = pslot_get(r, v, sm->path.off, len);
				first = &slot->exact_first;
				count = &slot->exact_count;
				break;
			default:
				continue; /* matches no path */
			}
			if (fill)
				r->pcand[*first + *count] = m;
			(*count)++;
		}
	}
}

/* Give each list (<first>, <count>) its span from *<off>; reset <count> for the filling pass. */
static void lay_out(uint32_t *first, uint32_t *count, uint32_t *off)
{
	*first = *off;
	*off += *count;
	*count = 0;
}

/* Index the matches of every vhost with at least XGW_RT_INDEX_MIN of them. */
static int build_index(struct xgw_router *r)
{
	const struct xgw_snapshot *s = r->snap;
	uint64_t n = 0;
	uint32_t size, off = 0;

	r->vix = calloc(s->n_vhosts ? s->n_vhosts : 1, sizeof(*r->vix));
	if (!r->vix)
		return -ENOMEM;
	for (uint32_t v = 0; v < s->n_vhosts; v++) {
		if (s->vhosts[v].match_count < XGW_RT_INDEX_MIN)
			continue;
		r->vix[v].indexed = true;
		n += s->vhosts[v].match_count;
	}
	if (!n)
		return 0;
	if (n > UINT32_MAX / 4)
		return -E2BIG;
	size = table_size((uint32_t)n); /* at most one key per match */
	r->ptab = malloc(size * sizeof(*r->ptab));
	r->pcand = malloc(n * sizeof(*r->pcand));
	if (!r->ptab || !r->pcand)
		return -ENOMEM;
	r->pmask = size - 1;
	for (uint32_t i = 0; i < size; i++)
		r->ptab[i].vhost = XGW_SNAP_NONE;

	index_pass(r, false);
	for (uint32_t v = 0; v < s->n_vhosts; v++) {
		lay_out(&r->vix[v].root_first, &r->vix[v].root_count, &off);
		lay_out(&r->vix[v].re_first, &r->vix[v].re_count, &off);
	}
	for (uint32_t i = 0; i < size; i++) {
		if (r->ptab[i].vhost == XGW_SNAP_NONE)
			continue;
		lay_out(&r->ptab[i].exact_first, &r->ptab[i].exact_count, &off);
		lay_out(&r->ptab[i].prefix_first, &r->ptab[i].prefix_count, &off);
	}
	index_pass(r, true);
	return 0;
}

struct xgw_router *xgw_router__new(const struct xgw_snapshot *snap, const struct xgw_router *prev)
{
	struct xgw_router *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	r->snap = snap;
	r->rng = 0x9e3779b97f4a7c15ull;
	r->swrr = calloc(snap->n_backends ? snap->n_backends : 1, sizeof(*r->swrr));
	r->rr = calloc(snap->n_clusters ? snap->n_clusters : 1, sizeof(*r->rr));
	if (!r->swrr || !r->rr) {
		err = -ENOMEM;
		goto err_free;
	}
	err = build_listeners(r);
	if (!err)
		err = build_hosts(r);
	if (!err)
		err = build_regexes(r, prev);
	if (!err)
		err = build_index(r);
	if (!err)
		err = build_lines(r);
	if (!err)
		err = xgw_cors_build(r);
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
	for (uint32_t i = 0; i < r->n_re; i++) {
		if (--r->re[i]->refs)
			continue; /* a later router holds it */
		regfree(&r->re[i]->re);
		free(r->re[i]);
	}
	free(r->re);
	free(r->re_tab);
	free(r->match_re);
	free(r->kv_re);
	free(r->vix);
	free(r->ptab);
	free(r->pcand);
	free(r->lines);
	free(r->op_line);
	free(r->host_line);
	free(r->mirror_acc);
	free(r->cors);
	free(r->cors_lines);
	free(r->ltab);
	free(r->htab);
	free(r->any_vhost);
	free(r->swrr);
	free(r->rr);
	free(r);
}

static uint32_t listener_find(const struct xgw_router *r, uint8_t family, const uint8_t addr[16],
			      uint16_t port, bool udp)
{
	const struct xgw_snapshot *s = r->snap;
	uint32_t h = listener_hash(family, addr, port);

	for (uint32_t i = h & r->lmask;; i = (i + 1) & r->lmask) {
		uint32_t l = r->ltab[i].listener;

		if (l == XGW_SNAP_NONE)
			return XGW_SNAP_NONE;
		if (r->ltab[i].hash == h && s->listeners[l].family == family &&
		    s->listeners[l].port == port &&
		    (s->listeners[l].proto == XGW_LPROTO_UDP) == udp &&
		    !memcmp(s->listeners[l].addr, addr, 16))
			return l;
	}
}

uint32_t xgw_router_listener(const struct xgw_router *r, uint8_t family, const uint8_t addr[16],
			     uint16_t port)
{
	static const uint8_t any[16];
	uint32_t l = listener_find(r, family, addr, port, false);

	if (l == XGW_SNAP_NONE)
		l = listener_find(r, family, any, port, false);
	return l;
}

uint32_t xgw_router_udp_listener(const struct xgw_router *r, uint8_t family, const uint8_t addr[16],
				 uint16_t port)
{
	static const uint8_t any[16];
	uint32_t l = listener_find(r, family, addr, port, true);

	if (l == XGW_SNAP_NONE)
		l = listener_find(r, family, any, port, true);
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
		pattern_len = prefix_trim(pattern, pattern_len);
		if (!pattern_len)
			return true;
		if (path_len < pattern_len || memcmp(pattern, path, pattern_len))
			return false;
		return path_len == pattern_len || path[pattern_len] == '/';
	default:
		return false;
	}
}

/* Whether the whole of (<p>, <len>) matches <re>; the subject needs no NUL. */
static bool re_whole(const regex_t *re, const char *p, size_t len)
{
	regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t)len };

	return !regexec(re, p ? p : "", 1, &m, REG_STARTEND);
}

/* The value of the first query parameter named <name> in <q>, or false. */
static bool query_find(const struct xgw_rt_req *q, const char *name, size_t name_len,
		       const char **val, size_t *val_len)
{
	const char *p = q->query, *end = q->query + q->query_len;

	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *pend = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pend - p));
		const char *nend = eq ? eq : pend;

		if ((size_t)(nend - p) == name_len && !memcmp(p, name, name_len)) {
			*val = eq ? eq + 1 : pend;
			*val_len = (size_t)(pend - *val);
			return true;
		}
		p = pend + 1;
	}
	return false;
}

static bool header_find(const struct xgw_rt_req *q, const char *name, size_t name_len,
			const char **val, size_t *val_len)
{
	for (size_t i = 0; i < q->n_headers; i++) {
		const struct xgw_h1_header *h = &q->headers[i];

		if (h->name_len == name_len && lower_eq(h->name, name, name_len)) {
			*val = h->value;
			*val_len = h->value_len;
			return true;
		}
	}
	return false;
}

static bool kv_holds(const struct xgw_router *r, uint32_t k, const struct xgw_rt_req *q)
{
	const struct xgw_snapshot *s = r->snap;
	const struct xgw_snap_kv *kv = &s->kvs[k];
	const char *name = xgw_snap_str_ptr(s, kv->name), *v;
	size_t vlen;
	bool found;

	if (kv->kind == XGW_KV_HEADER)
		found = header_find(q, name, kv->name.len, &v, &vlen);
	else
		found = query_find(q, name, kv->name.len, &v, &vlen);
	if (!found)
		return false;
	if (kv->type == XGW_KV_REGEX)
		return re_whole(&r->re[r->kv_re[k]]->re, v, vlen);
	return vlen == kv->value.len && !memcmp(v, xgw_snap_str_ptr(s, kv->value), vlen);
}

/* Whether the conditions of match <m> other than the path hold for <q>. */
static inline __attribute__((always_inline)) bool conds_hold(const struct xgw_router *r, uint32_t m,
							     const struct xgw_rt_req *q)
{
	const struct xgw_snapshot *s = r->snap;
	const struct xgw_snap_match *sm = &s->matches[m];

	if (sm->method.len && (sm->method.len != q->method_len ||
			       memcmp(xgw_snap_str_ptr(s, sm->method), q->method, q->method_len)))
		return false;
	for (uint32_t k = sm->kv_first; k < sm->kv_first + sm->kv_count; k++)
		if (!kv_holds(r, k, q))
			return false;
	return true;
}

static inline bool match_holds(const struct xgw_router *r, uint32_t m, const struct xgw_rt_req *q)
{
	const struct xgw_snapshot *s = r->snap;
	const struct xgw_snap_match *sm = &s->matches[m];

	if (sm->path_type == XGW_PATH_REGEX) {
		if (!re_whole(&r->re[r->match_re[m]]->re, q->path, q->path_len))
			return false;
	} else if (!xgw_router_path_match(sm->path_type, xgw_snap_str_ptr(s, sm->path),
					  sm->path.len, q->path, q->path_len)) {
		return false;
	}
	return conds_hold(r, m, q);
}

/* The first match of <vh> that holds, walking them all in order. */
static inline uint32_t match_linear(const struct xgw_router *r, const struct xgw_snap_vhost *vh,
				    const struct xgw_rt_req *q)
{
	for (uint32_t m = vh->match_first; m < vh->match_first + vh->match_count; m++)
		if (match_holds(r, m, q))
			return m;
	return XGW_SNAP_NONE;
}

uint32_t xgw_router_match_linear(const struct xgw_router *r, uint32_t vhost,
				 const struct xgw_rt_req *q)
{
	if (vhost >= r->snap->n_vhosts)
		return XGW_SNAP_NONE;
	return match_linear(r, &r->snap->vhosts[vhost], q);
}

/*
 * Lower *<best> to the first candidate of the list (<c>, <n>) below it that
 * holds for <q>. With <path_known> the list's matches are known to match the
 * path (hash lists), so only their other conditions are checked.
 */
static void scan_walk(const struct xgw_router *r, const uint32_t *c, uint32_t n, bool path_known,
		      const struct xgw_rt_req *q, uint32_t *best)
{
	for (uint32_t i = 0; i < n && c[i] < *best; i++) {
		if (path_known ? conds_hold(r, c[i], q) : match_holds(r, c[i], q)) {
			*best = c[i];
			return;
		}
	}
}

/* scan_walk() over pcand[<first>, +<n>), skipped when no candidate is below *<best>. */
static inline void scan_list(const struct xgw_router *r, uint32_t first, uint32_t n,
			     bool path_known, const struct xgw_rt_req *q, uint32_t *best)
{
	if (n && r->pcand[first] < *best)
		scan_walk(r, r->pcand + first, n, path_known, q, best);
}

/* Prefix lists kept for scanning longest first; more are scanned as found. */
#define PREFIX_LISTS_MAX 32

/*
 * xgw_router_match() on an indexed vhost. The candidates of <q>'s path are
 * its Exact list (key: the whole path), the PathPrefix lists keyed by the
 * path up to each segment boundary (before each '/' but the first byte, and
 * the whole path: exactly where xgw_router_path_match() lets a trimmed
 * prefix end), the "/" prefixes and the regular expressions. Every match
 * that holds is in one of them, so the lowest-indexed candidate that holds
 * is what the linear walk returns, whatever order the lists are scanned in;
 * scanning them in the agent's order (Exact, regular expression, longer
 * prefix first) finds it first, and the other lists then stop at their
 * first candidate.
 */
static __attribute__((noinline)) uint32_t match_indexed(const struct xgw_router *r, uint32_t vhost,
							const struct xgw_rt_req *q)
{
	const struct xgw_rt_vix *x = &r->vix[vhost];
	const struct xgw_rt_pslot *pfx[PREFIX_LISTS_MAX], *full;
	const char *p = q->path;
	size_t len = q->path_len;
	uint32_t h = path_seed(vhost), best = XGW_SNAP_NONE;
	unsigned int n = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '/' && i) {
			const struct xgw_rt_pslot *s = pslot_find(r, h, vhost, p, i);

			if (s && s->prefix_count) {
				if (n < PREFIX_LISTS_MAX)
					pfx[n++] = s;
				else
					scan_list(r, s->prefix_first, s->prefix_count, true, q,
						  &best);
			}
		}
		h = fnv_mix(h, (uint8_t)p[i]);
	}
	full = pslot_find(r, h, vhost, p, len);
	if (full)
		scan_list(r, full->exact_first, full->exact_count, true, q, &best);
	scan_list(r, x->re_first, x->re_count, false, q, &best);
	if (full)
		scan_list(r, full->prefix_first, full->prefix_count, true, q, &best);
	while (n--)
		scan_list(r, pfx[n]->prefix_first, pfx[n]->prefix_count, true, q, &best);
	scan_list(r, x->root_first, x->root_count, true, q, &best);
	return best;
}

uint32_t xgw_router_match(const struct xgw_router *r, uint32_t vhost, const struct xgw_rt_req *q)
{
	if (vhost >= r->snap->n_vhosts)
		return XGW_SNAP_NONE;
	if (r->vix[vhost].indexed)
		return match_indexed(r, vhost, q);
	return match_linear(r, &r->snap->vhosts[vhost], q);
}

uint32_t xgw_router_route(const struct xgw_router *r, uint32_t listener, const struct xgw_rt_req *q)
{
	uint32_t v = xgw_router_vhost(r, listener, q->host, q->host_len);

	return v == XGW_SNAP_NONE ? XGW_SNAP_NONE : xgw_router_match(r, v, q);
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

void xgw_router_set_load(struct xgw_router *r,
			 uint32_t (*load)(void *ctx, const struct xgw_snap_endpoint *ep), void *ctx,
			 uint64_t seed)
{
	r->load = load;
	r->load_ctx = ctx;
	r->rng = seed | 1; /* xorshift's state must not be 0 */
}

/* xorshift64*: fast, and good enough to draw candidates. */
static uint32_t rng_next(struct xgw_router *r)
{
	uint64_t x = r->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

/* Power of two choices over the endpoints of <c>; a tie goes to the first drawn. */
static uint32_t pick_least_request(struct xgw_router *r, const struct xgw_snap_cluster *c)
{
	const struct xgw_snap_endpoint *eps = &r->snap->endpoints[c->ep_first];
	uint32_t a, b;

	if (c->ep_count == 1)
		return c->ep_first;
	a = (uint32_t)(((uint64_t)rng_next(r) * c->ep_count) >> 32);
	b = (uint32_t)(((uint64_t)rng_next(r) * (c->ep_count - 1)) >> 32);
	if (b >= a)
		b++; /* two distinct candidates */
	if (r->load && r->load(r->load_ctx, &eps[b]) < r->load(r->load_ctx, &eps[a]))
		a = b;
	return c->ep_first + a;
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
	if (c->lb == XGW_LB_LEAST_REQUEST)
		return pick_least_request(r, c);
	off = r->rr[cluster]++;
	if (off >= c->ep_count) {
		off = 0;
		r->rr[cluster] = 1;
	}
	return c->ep_first + off;
}

/* The first RequestRedirect among filters [<first>, +<count>), or XGW_SNAP_NONE. */
static uint32_t find_redirect(const struct xgw_snapshot *s, uint32_t first, uint32_t count)
{
	for (uint32_t f = first; f < first + count; f++)
		if (s->filters[f].type == XGW_FILTER_REDIRECT)
			return f;
	return XGW_SNAP_NONE;
}

enum xgw_route_verdict xgw_router_decide(struct xgw_router *r, uint32_t listener,
					 const struct xgw_rt_req *q, struct xgw_route *out)
{
	const struct xgw_snapshot *s = r->snap;
	const struct xgw_snap_rule *ru;
	const struct xgw_snap_backend *be;

	out->rule = out->backend = out->ep = out->redirect = XGW_SNAP_NONE;
	out->match = xgw_router_route(r, listener, q);
	if (out->match == XGW_SNAP_NONE)
		return XGW_ROUTE_NOT_FOUND;
	out->rule = s->matches[out->match].rule;
	ru = &s->rules[out->rule];
	out->redirect = find_redirect(s, ru->filter_first, ru->filter_count);
	if (out->redirect != XGW_SNAP_NONE)
		return XGW_ROUTE_REDIRECT;
	out->backend = xgw_router_pick_backend(r, out->rule);
	if (out->backend == XGW_SNAP_NONE)
		return XGW_ROUTE_NO_BACKEND;
	be = &s->backends[out->backend];
	out->redirect = find_redirect(s, be->filter_first, be->filter_count);
	if (out->redirect != XGW_SNAP_NONE)
		return XGW_ROUTE_REDIRECT;
	if (be->cluster == XGW_SNAP_NONE)
		return XGW_ROUTE_NO_BACKEND;
	out->ep = xgw_router_pick_endpoint(r, be->cluster);
	if (out->ep == XGW_SNAP_NONE)
		return XGW_ROUTE_NO_ENDPOINT;
	return XGW_ROUTE_OK;
}

bool xgw_router_mirror_take(struct xgw_router *r, uint32_t filter)
{
	const struct xgw_snap_filter *f;
	uint32_t *acc;

	if (filter >= r->snap->n_filters)
		return false;
	f = &r->snap->filters[filter];
	if (!f->den || f->num >= f->den)
		return f->den != 0;
	/* An error accumulator: exactly num of every den requests, evenly spread. */
	acc = &r->mirror_acc[filter];
	*acc += f->num;
	if (*acc < f->den)
		return false;
	*acc -= f->den;
	return true;
}
