/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xgw-echo's reading of a request's query as echo-basic's Go code reads it,
 * and the attempt counts of the /retry/ simulator.
 */
#ifndef XGW_ECHO_PARAMS_H
#define XGW_ECHO_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "http1.h"

#define ECHO_QUERY_VALUE_MAX 256 /* bytes; a longer value counts as absent */
#define ECHO_RETRY_SLOTS 4096	 /* uuids remembered; the least recently seen goes first */
#define ECHO_RETRY_UUID_MAX 128	 /* bytes */

/*
 * r.FormValue(<key>) over <req>'s query: the first value of <key> among the
 * '&'-separated pairs that url.ParseQuery accepts (no ';', valid %-escapes,
 * '+' as space), unescaped into <out> (<cap> bytes, not NUL-terminated).
 * Returns its length, or -1 when there is none (or it is longer than <cap>).
 */
long echo_query_get(const struct xgw_h1_request *req, const char *key, char *out, size_t cap);

/* strconv.Atoi of the query parameter <key>, within int32. 0, -ENOENT (absent) or -EINVAL. */
int echo_query_int(const struct xgw_h1_request *req, const char *key, int *out);

/*
 * The query parameter <key> as a Go duration ("1.5s", "300ms"), in *<ns>,
 * capped at <max_ns>; 0 when absent, empty or negative. Returns 0, or -EINVAL
 * with time.ParseDuration's error text, NUL-terminated and truncated to
 * <err_size>, in <err>.
 */
int echo_query_duration(const struct xgw_h1_request *req, const char *key, uint64_t max_ns,
			uint64_t *ns, char *err, size_t err_size);

/*
 * Count an attempt for <uuid> (<len> bytes, at most ECHO_RETRY_UUID_MAX).
 * Returns its attempts so far, this one included (saturating). A uuid not
 * seen for ECHO_RETRY_SLOTS others starts over.
 */
uint32_t echo_retry_attempt(const char *uuid, size_t len);

#endif /* XGW_ECHO_PARAMS_H */
