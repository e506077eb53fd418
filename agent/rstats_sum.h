/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The workers' responses per route as the agent handles them: lines
 * "<namespace>/<name> <1xx> <2xx> <3xx> <4xx> <5xx>\n" (user/rstats.h),
 * parsed, summed by route and written back.
 */
#ifndef XGW_AGENT_RSTATS_SUM_H
#define XGW_AGENT_RSTATS_SUM_H

#include <stddef.h>

struct xgw_rsum {
	const char *name; /* into the parsed text, not NUL-terminated */
	size_t len;
	unsigned long long ctr[5];
};

struct xgw_rsums {
	struct xgw_rsum *v;
	size_t n, cap;
};

/* Append the well-formed lines of <text> (<len> bytes) to <s>; others are skipped. 0 or -ENOMEM. */
int xgw_rsums_parse(struct xgw_rsums *s, const char *text, size_t len);
/* Sort by name and add up the entries of one route. */
void xgw_rsums_merge(struct xgw_rsums *s);
/* The lines of <s> in *<out> (malloc'ed, *<len> bytes; NULL when empty). 0 or -ENOMEM. */
int xgw_rsums_text(const struct xgw_rsums *s, char **out, size_t *len);
void xgw_rsums_free(struct xgw_rsums *s);

#endif /* XGW_AGENT_RSTATS_SUM_H */
