/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The HTTPRoute CORS filter: preflight requests answered by the gateway,
 * Access-Control-* headers added to the responses of allowed origins.
 */
#ifndef XGW_CORS_H
#define XGW_CORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn-t.h"
#include "router-t.h"

/* How an origin is allowed by a CORS filter. */
enum xgw_cors_allow {
	XGW_CORS_DENIED = 0,
	XGW_CORS_ECHO = 1, /* matched an origin pattern: answer with the request's Origin */
	XGW_CORS_ANY = 2,  /* matched "*" only: "*" will do unless credentials are allowed */
};

/* The CORS headers of a preflight request: views into its head, NULL when absent. */
struct xgw_cors_req {
	const char *origin;
	size_t origin_len;
	const char *method; /* Access-Control-Request-Method */
	size_t method_len;
	const char *headers; /* Access-Control-Request-Headers */
	size_t headers_len;
};

/*
 * Check the CORS filters of <r>'s snapshot (items without CR, LF, NUL or
 * commas; methods and header names tokens) and lay out their constant lines.
 * Returns 0, -EINVAL or -ENOMEM. Called by xgw_router__new().
 */
int xgw_cors_build(struct xgw_router *r);

/*
 * Whether <origin> matches <pattern>: "*" matches any origin; a pattern with
 * one star matches origins that start with what precedes it and end with
 * what follows it, the star standing for one or more characters, dots
 * included (a star in place of the first label of https://www.a.com matches
 * https://x.y.a.com); otherwise the two are equal. ASCII case is ignored.
 */
bool xgw_cors_origin_match(const char *pattern, size_t pattern_len, const char *origin,
			   size_t origin_len);

/* The first CORS filter of the spans of <flt>, or XGW_SNAP_NONE. */
uint32_t xgw_cors_find(const struct xgw_rw_filters *flt);

/* How CORS filter <filter> of <s> allows <origin>. */
enum xgw_cors_allow xgw_cors_allowed(const struct xgw_snapshot *s, uint32_t filter,
				     const char *origin, size_t origin_len);

/*
 * Queue in <x> the whole answer to the preflight request <q> (200, empty
 * body) by CORS filter <filter> of <r>. An allowed origin gets
 * Access-Control-Allow-Origin (the Origin itself, or "*" when only "*"
 * matched and credentials are not allowed), -Credentials, -Methods (the
 * list, or the requested method when the list has "*"), -Headers (likewise
 * with the requested headers), -Expose-Headers and -Max-Age; another gets
 * none of them. The pieces point into the request head, <r>'s lines and
 * constants. Returns 0 or -E2BIG.
 */
int xgw_cors_preflight(struct xgw_xfer *x, const struct xgw_router *r, uint32_t filter,
		       const struct xgw_cors_req *q, bool keep_alive);

/*
 * Queue in <x> the lines an actual request's response gets when flt->cors is
 * set: Access-Control-Allow-Origin (flt->origin, or "*" when NULL),
 * -Credentials when allowed, -Expose-Headers when configured, and
 * "Vary: Origin" when the origin is echoed. Returns 0 or -E2BIG.
 */
int xgw_cors_response(struct xgw_xfer *x, const struct xgw_rw_filters *flt);

#endif /* XGW_CORS_H */
