// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Warning lines logged once (warnings.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warnings.h"
#include "xgw/log.h"

void xgw_warnings_free(struct xgw_warnings *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	memset(w, 0, sizeof(*w));
}

void xgw_warn(struct xgw_warnings *w, const char *fmt, ...)
{
	char *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (!line)
		return;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		char **v = realloc(w->v, cap * sizeof(*v));

		if (!v) {
			log_warn("%s", line);
			free(line);
			return;
		}
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = line;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool warned_before(const struct xgw_warnings *w, const char *line)
{
	return w->n && bsearch(&line, w->v, w->n, sizeof(*w->v), str_cmp);
}

void xgw_warnings_commit(struct xgw_warnings *before, struct xgw_warnings *now)
{
	if (now->n)
		qsort(now->v, now->n, sizeof(*now->v), str_cmp);
	for (size_t i = 0; i < now->n; i++)
		if ((!i || strcmp(now->v[i], now->v[i - 1])) && !warned_before(before, now->v[i]))
			log_warn("%s", now->v[i]);
	for (size_t i = 0; i < before->n; i++)
		if (!warned_before(now, before->v[i]))
			log_info("resolved: %s", before->v[i]);
	xgw_warnings_free(before);
	*before = *now;
	memset(now, 0, sizeof(*now));
}
