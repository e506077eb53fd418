// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Growable byte queues on recycled memory (see bytes.h, mem.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "bytes.h"
#include "mem.h"
#include "xfer.h"

_Static_assert(XGW_BYTES_MIN >= XGW_MEM_CLASS_MIN && !(XGW_BYTES_MIN & (XGW_BYTES_MIN - 1)),
	       "queue capacities are recycling classes");

char *xgw_bytes_reserve(struct xgw_bytes *b, size_t n)
{
	size_t pending = b->len - b->off;
	char *at;

	if (!pending)
		b->off = b->len = 0;
	if (b->len + n > b->cap && pending + n <= b->cap) {
		/* room once the consumed front is reclaimed */
		memmove(b->p, b->p + b->off, pending);
		b->off = 0;
		b->len = pending;
	} else if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : XGW_BYTES_MIN;
		char *p;

		while (cap < pending + n) {
			if (cap > SIZE_MAX / 2)
				return NULL;
			cap *= 2;
		}
		p = xgw_mem_get(cap);
		if (!p)
			return NULL;
		if (pending)
			memcpy(p, b->p + b->off, pending);
		xgw_mem_put(b->p, b->cap);
		b->p = p;
		b->cap = cap;
		b->off = 0;
		b->len = pending;
	}
	at = b->p + b->len;
	b->len += n;
	return at;
}

int xgw_bytes_put(struct xgw_bytes *b, const void *d, size_t n)
{
	char *at;

	if (!n)
		return 0;
	at = xgw_bytes_reserve(b, n);
	if (!at)
		return -ENOMEM;
	memcpy(at, d, n);
	return 0;
}

int xgw_bytes_field(struct xgw_bytes *b, const void *name, size_t nl, const void *value, size_t vl)
{
	char *at = xgw_bytes_reserve(b, nl + vl + 4);

	if (!at)
		return -ENOMEM;
	memcpy(at, name, nl);
	at += nl;
	*at++ = ':';
	*at++ = ' ';
	memcpy(at, value, vl);
	at += vl;
	*at++ = '\r';
	*at = '\n';
	return 0;
}

void xgw_bytes_free(struct xgw_bytes *b)
{
	if (!b->p) /* never filled (a stream frees several such): nothing to clear either */
		return;
	xgw_mem_put(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

int xgw_bytes_h2_send(struct nghttp2_session *s, int fd, struct ssl_st *tls, struct xgw_bytes *out,
		      size_t batch, int rounds, bool *wr_ready)
{
	for (int round = 0; round < rounds; round++) {
		if (xgw_bytes_pending(out)) {
			ssize_t n = xgw_io_send(fd, tls, out->p + out->off, xgw_bytes_pending(out),
						wr_ready);

			if (n < 0)
				return -1;
			out->off += (size_t)n;
			if (xgw_bytes_pending(out))
				return 0;
			out->off = out->len = 0;
		}
		if (!*wr_ready)
			return 0;
		while (xgw_bytes_pending(out) < batch) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(s, &data);

			if (n < 0)
				return -1;
			if (!n)
				break;
			if (xgw_bytes_put(out, data, (size_t)n))
				return -1;
		}
		if (!xgw_bytes_pending(out))
			return 0;
	}
	return 1;
}
