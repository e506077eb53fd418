/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Warning lines logged once: each pass (a generation, a folder load) collects
 * its lines, and only those the previous pass did not have are logged, with a
 * "resolved:" line for those that went away. A reload that changes nothing
 * logs nothing, however many objects warn.
 */
#ifndef XGW_AGENT_WARNINGS_H
#define XGW_AGENT_WARNINGS_H

#include <stddef.h>

struct xgw_warnings {
	char **v; /* sorted once committed */
	size_t n, cap;
};

/* Add a line to <w> (logged at once instead, when there is no memory to keep it). */
void xgw_warn(struct xgw_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Log what <now> has that <before> had not, and what went away; <now> becomes <before>. */
void xgw_warnings_commit(struct xgw_warnings *before, struct xgw_warnings *now);
void xgw_warnings_free(struct xgw_warnings *w);

#endif /* XGW_AGENT_WARNINGS_H */
