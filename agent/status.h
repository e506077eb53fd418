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

/* A generation the workers refused, reported under "rejected" (gen 0: none). */
struct xgw_status_rejected {
	uint64_t gen;
	unsigned worker;
	int err; /* -errno the worker gave */
};

/*
 * <res> as text: the bytes of json_dumps(JSON_COMPACT) of xgw_status_json()
 * with <rej>'s "rejected" member added, built without a JSON tree. *<out>
 * (malloc'ed, not NUL-terminated, *<len> bytes) is the caller's. Returns 0 or
 * -ENOMEM.
 */
int xgw_status_render(const struct xgw_reconcile_result *res, uint64_t gen, bool programmed,
		      const struct xgw_status_rejected *rej, char **out, size_t *len);

/*
 * The same document in two steps, for results that share their statuses: the
 * bytes that depend on <res> and <programmed> alone (the "body"), then the
 * document of <gen> and <rej> around a body. xgw_status_render() gives the
 * same bytes as the two. Each returns 0 or -ENOMEM; *<out> is the caller's.
 */
int xgw_status_render_body(const struct xgw_reconcile_result *res, bool programmed, char **out,
			   size_t *len);
int xgw_status_render_around(const char *body, size_t body_len, uint64_t gen, bool programmed,
			     const struct xgw_status_rejected *rej, char **out, size_t *len);

/*
 * A rendered body, and where each route's status sits in it: the next body,
 * of a result that copied route statuses from this one (a pass patching it,
 * xgw_route_status.same_as), copies their bytes instead of rendering them
 * again (at 10,000 routes, most of the document's cost).
 */
struct xgw_status_body {
	char *text; /* xgw_status_render_body()'s bytes (NULL: none yet) */
	size_t len;
	uint64_t statuses; /* the result's xgw_status_job.statuses */
	bool programmed;
	size_t *route_off; /* per route of that result: its bytes in text, */
	size_t *route_len; /* 0 for a route left out of the document */
	size_t n_routes;
};

/*
 * Make <body> the body of <res> (whose statuses are <statuses>, and whose
 * same_as count in the result of <prev_statuses>; 0: unknown) for
 * <programmed>. It stays as it is when it already holds them, and takes
 * from itself the routes <res> copied when it holds <prev_statuses>'.
 * Returns 0 or -ENOMEM (<body> then empty).
 */
int xgw_status_body_update(struct xgw_status_body *body, const struct xgw_reconcile_result *res,
			   uint64_t statuses, uint64_t prev_statuses, bool programmed);
void xgw_status_body__free(struct xgw_status_body *body);

/*
 * A thread that writes status documents, so that the agent's event loop never
 * waits for a large one (at 10,000 routes the file is about 5 MB). Only the
 * newest posted document is written: one posted before the previous was
 * written replaces it.
 */
struct xgw_status_writer;

int xgw_status_writer__start(const char *path, struct xgw_status_writer **out);

/*
 * A document to write: <res> rendered by the writer's thread. <res> must stay
 * valid until <release>(<arg>) is called, which happens in the thread that
 * calls the functions below, never in the writer's: from
 * xgw_status_writer_reap() once the document is written, from
 * xgw_status_writer_post() when a newer job replaces this one before the
 * writer took it (or when there is no memory for it), from
 * xgw_status_writer__stop() at the end. So a result's owner frees it on its
 * own thread, and its reference counts need no atomics.
 */
struct xgw_status_job {
	const struct xgw_reconcile_result *res;
	/*
	 * Non-zero: jobs with the same <statuses> have the same statuses (the
	 * endpoint fast path's results share those of their full pass), which
	 * the writer then renders once. 0: render them.
	 */
	uint64_t statuses;
	/* the statuses of the result <res>'s route statuses say they copy
	 * (xgw_route_status.same_as); 0: none */
	uint64_t prev_statuses;
	uint64_t gen;
	bool programmed;
	struct xgw_status_rejected rejected;
	void (*release)(void *arg);
	void *arg;
};

/* Hand <job> to the writer (copied). Building the document costs the event loop nothing. */
void xgw_status_writer_post(struct xgw_status_writer *w, const struct xgw_status_job *job);
/* Release the jobs written since the last call (see above). Cheap when none are. */
void xgw_status_writer_reap(struct xgw_status_writer *w);
/* Write what is pending, then stop the thread and release every job. NULL is fine. */
void xgw_status_writer__stop(struct xgw_status_writer *w);

#endif /* XGW_AGENT_STATUS_H */
