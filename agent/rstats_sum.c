// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Responses per route, summed (agent/rstats_sum.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rstats_sum.h"

int xgw_rsums_parse(struct xgw_rsums *s, const char *p, size_t len)
{
	const char *end = p ? p + len : NULL;

	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *sp, *q;
		struct xgw_rsum r = { .name = p };
		bool ok;

		if (!eol)
			break;
		sp = memchr(p, ' ', (size_t)(eol - p));
		r.len = sp ? (size_t)(sp - p) : 0;
		ok = r.len > 0;
		q = sp;
		/* exactly five counters, each a space and digits */
		for (int k = 0; k < 5 && ok; k++) {
			const char *d = ++q;

			while (q < eol && *q >= '0' && *q <= '9' && q - d < 20)
				r.ctr[k] = r.ctr[k] * 10 + (unsigned)(*q++ - '0');
			ok = q > d && (q == eol ? k == 4 : *q == ' ' && k < 4);
		}
		p = eol + 1;
		if (!ok)
			continue; /* not a line of user/rstats.c */
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 256;
			struct xgw_rsum *v = realloc(s->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->v = v;
			s->cap = cap;
		}
		s->v[s->n++] = r;
	}
	return 0;
}

static int cmp(const void *pa, const void *pb)
{
	const struct xgw_rsum *a = pa, *b = pb;
	int c = memcmp(a->name, b->name, a->len < b->len ? a->len : b->len);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

void xgw_rsums_merge(struct xgw_rsums *s)
{
	size_t n = 0;

	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp);
	for (size_t i = 0; i < s->n; i++) {
		if (n && !cmp(&s->v[n - 1], &s->v[i])) {
			for (int k = 0; k < 5; k++)
				s->v[n - 1].ctr[k] += s->v[i].ctr[k];
			continue;
		}
		s->v[n++] = s->v[i];
	}
	s->n = n;
}

int xgw_rsums_text(const struct xgw_rsums *s, char **out, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;

	for (size_t i = 0; i < s->n; i++)
		cap += s->v[i].len + 5 * 21 + 1;
	if (cap && !(buf = malloc(cap + 1)))
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const struct xgw_rsum *r = &s->v[i];

		n += (size_t)snprintf(buf + n, cap + 1 - n, "%.*s %llu %llu %llu %llu %llu\n",
				      (int)r->len, r->name, r->ctr[0], r->ctr[1], r->ctr[2],
				      r->ctr[3], r->ctr[4]);
	}
	*out = buf;
	*len = n;
	return 0;
}

void xgw_rsums_free(struct xgw_rsums *s)
{
	free(s->v);
	*s = (struct xgw_rsums){ 0 };
}
