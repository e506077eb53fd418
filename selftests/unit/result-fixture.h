/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the tests that hold a fast path's result against a full pass's share.
 */
#ifndef XGW_SELFTESTS_RESULT_FIXTURE_H
#define XGW_SELFTESTS_RESULT_FIXTURE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile.h"
#include "status.h"
#include "test.h"

/*
 * The status documents of <a> and <b> for <generation> (<rej>: a rejected
 * generation to report, or NULL): the same bytes, <a>'s rendered whole, <b>'s
 * as the status writer makes a fast path's (its statuses' body, then the
 * document around it).
 */
static inline bool same_status(const struct xgw_reconcile_result *a,
			       const struct xgw_reconcile_result *b, uint64_t generation,
			       const struct xgw_status_rejected *rej)
{
	char *ta = NULL, *tb = NULL, *body = NULL;
	size_t la = 0, lb = 0, lbody = 0;
	bool same = false;

	if (ASSERT_OK(xgw_status_render(a, generation, false, rej, &ta, &la), "render") &&
	    ASSERT_OK(xgw_status_render_body(b, false, &body, &lbody), "render the body") &&
	    ASSERT_OK(xgw_status_render_around(body, lbody, generation, false, rej, &tb, &lb),
		      "render around it"))
		same = la == lb && !memcmp(ta, tb, la);
	free(ta);
	free(tb);
	free(body);
	return same;
}

/*
 * <b>'s status document as the status writer makes it when <memo> holds the
 * body it rendered last (updated here to <b>'s): <b>'s statuses are
 * <statuses>, its route statuses' same_as count in those of <prev_statuses>.
 * The same bytes as <a>'s rendered whole.
 */
static inline bool same_status_memo(const struct xgw_reconcile_result *a,
				    const struct xgw_reconcile_result *b, uint64_t generation,
				    struct xgw_status_body *memo, uint64_t statuses,
				    uint64_t prev_statuses)
{
	char *ta = NULL, *tb = NULL;
	size_t la = 0, lb = 0;
	bool same = false;

	if (ASSERT_OK(xgw_status_render(a, generation, false, NULL, &ta, &la), "render") &&
	    ASSERT_OK(xgw_status_body_update(memo, b, statuses, prev_statuses, false),
		      "render the body from the last") &&
	    ASSERT_OK(xgw_status_render_around(memo->text, memo->len, generation, false, NULL, &tb,
					       &lb),
		      "render around it"))
		same = la == lb && !memcmp(ta, tb, la);
	free(ta);
	free(tb);
	return same;
}

#endif /* XGW_SELFTESTS_RESULT_FIXTURE_H */
