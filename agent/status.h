/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Status in standalone mode: the reconcile result as a JSON document shaped
 * like the Kubernetes objects' .status, written atomically to a file that
 * `xgwctl status` prints.
 */
#ifndef XGW_AGENT_STATUS_H
#define XGW_AGENT_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "reconcile.h"

/*
 * <res> as the JSON document xgw_status_write() writes (a new reference, or
 * NULL on ENOMEM); what the status cases of the conformance suite read.
 */
json_t *xgw_status_json(const struct xgw_reconcile_result *res, uint64_t gen, bool programmed);

/*
 * Write <res> to <path> (via a temporary file and rename). <programmed> says
 * whether the data plane (BPF maps and every worker) holds generation <gen>;
 * until it does, Programmed conditions that the reconciler set to True are
 * written as Unknown/Pending. Returns 0 or -errno.
 */
int xgw_status_write(const char *path, const struct xgw_reconcile_result *res, uint64_t gen,
		     bool programmed);

/*
 * A thread that writes status documents, so that the agent's event loop never
 * waits for a large one (at 10,000 routes the file is about 5 MB). Only the
 * newest posted document is written: one posted before the previous was
 * written replaces it.
 */
struct xgw_status_writer;

int xgw_status_writer__start(const char *path, struct xgw_status_writer **out);
/* Hand <root> (a reference the writer takes over) to be written to the path. */
void xgw_status_writer_post(struct xgw_status_writer *w, json_t *root);
/* Write what is pending, then stop the thread. NULL is fine. */
void xgw_status_writer__stop(struct xgw_status_writer *w);

#endif /* XGW_AGENT_STATUS_H */
