/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Mirrored requests: copies sent to another cluster, answers ignored. */
#ifndef XGW_MIRROR_H
#define XGW_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "xgw/snapshot.h"

#include "conn-t.h"
#include "mirror-t.h"

/*
 * Send to endpoint <ep> a copy of the head queued in <head> followed by
 * <body_len> body bytes at <body>. The bytes are copied: the caller's stay
 * its own. Best effort: returns 0, or -errno when no copy was sent (too many
 * in flight, head and body larger than a buffer, socket errors); whatever
 * happens to the copy never reaches the client.
 */
int xgw_mirror_send(struct xgw_worker *w, const struct xgw_snap_endpoint *ep,
		    const struct xgw_xfer *head, const char *body, size_t body_len);

void xgw_mirror_event(struct xgw_worker *w, struct xgw_mirror *m, uint32_t events);
void xgw_mirror_timeout(struct xgw_worker *w, struct xgw_mirror *m);

/* Free the mirrors closed during the last epoll batch. */
void xgw_mirrors_reap(struct xgw_worker *w);
/* Close every mirror and free them (worker exit). */
void xgw_mirrors_free(struct xgw_worker *w);

#endif /* XGW_MIRROR_H */
