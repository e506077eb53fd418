/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Growable byte queues for the HTTP/2 code (h2.c with clients, h2up.c with
 * backends): a stream's request or response as HTTP/1.1 bytes, frames not
 * written yet. [off, len) is pending; the consumed front is reclaimed when
 * the queue grows.
 *
 * Every stream fills and frees a handful of them, so their memory is
 * recycled (mem.h): capacities are powers of two from XGW_BYTES_MIN.
 */
#ifndef XGW_BYTES_H
#define XGW_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define XGW_BYTES_MIN 256

struct xgw_bytes {
	char *p;
	size_t off, len, cap;
};

/* Appends <n> bytes of <d>: 0, or -ENOMEM (the queue is unchanged). */
int xgw_bytes_put(struct xgw_bytes *b, const void *d, size_t n);
/* Appends "<name>: <value>\r\n". */
int xgw_bytes_field(struct xgw_bytes *b, const void *name, size_t nl, const void *value, size_t vl);
/* Appends <n> bytes for the caller to write: where they are, or NULL (-ENOMEM). */
char *xgw_bytes_reserve(struct xgw_bytes *b, size_t n);
/* Releases the buffer; <b> is empty afterwards and may be filled again. */
void xgw_bytes_free(struct xgw_bytes *b);

struct nghttp2_session;
struct ssl_st;
/*
 * Write the frames nghttp2 session <s> has queued to <fd> (through <tls> when
 * not NULL), gathered in <out> into writes of up to <batch> bytes: the frames
 * of every stream that became ready share a write, not one each. Goes on until
 * nothing is queued, the socket is full (*<wr_ready> cleared: EPOLLOUT
 * resumes) or <rounds> writes are done. Returns 1 when frames may remain after
 * the last round (the caller goes on after its next events), 0 when not, -1 on
 * a failure (the session is to close). <out> keeps its capacity.
 */
int xgw_bytes_h2_send(struct nghttp2_session *s, int fd, struct ssl_st *tls, struct xgw_bytes *out,
		      size_t batch, int rounds, bool *wr_ready);

static inline int xgw_bytes_str(struct xgw_bytes *b, const char *s)
{
	return xgw_bytes_put(b, s, strlen(s));
}

static inline size_t xgw_bytes_pending(const struct xgw_bytes *b)
{
	return b->len - b->off;
}

#endif
