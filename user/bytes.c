// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Growable byte queues with recycled buffers (see bytes.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

/* Classes XGW_BYTES_MIN << k; at most RECYCLE_BYTES retained per class (and at least 4 buffers). */
#define N_CLASSES 7
#define RECYCLE_BYTES (256 * 1024)

_Static_assert((XGW_BYTES_MIN << (N_CLASSES - 1)) == XGW_BYTES_RECYCLE_MAX,
	       "the classes end at XGW_BYTES_RECYCLE_MAX");

struct spare {
	struct spare *next;
};

static struct {
	struct spare *head;
	size_t n;
} spares[N_CLASSES];

/* The class of a capacity, or -1 when it is not recycled. */
static int class_of(size_t cap)
{
	if (cap & (cap - 1) || cap < XGW_BYTES_MIN || cap > XGW_BYTES_RECYCLE_MAX)
		return -1;
	return __builtin_ctzl(cap) - __builtin_ctzl(XGW_BYTES_MIN);
}

/* Buffers kept per class: RECYCLE_BYTES of them, and at least 4. */
static size_t class_limit(int k)
{
	size_t n = RECYCLE_BYTES >> (k + __builtin_ctzl(XGW_BYTES_MIN));

	return n > 4 ? n : 4;
}

static char *buf_get(size_t cap)
{
	int k = class_of(cap);
	struct spare *s;

	if (k < 0 || !spares[k].head)
		return malloc(cap);
	s = spares[k].head;
	spares[k].head = s->next;
	spares[k].n--;
	return (char *)s;
}

static void buf_put(char *p, size_t cap)
{
	int k = class_of(cap);
	struct spare *s = (struct spare *)p;

	if (!p)
		return;
	if (k < 0 || spares[k].n >= class_limit(k)) {
		free(p);
		return;
	}
	s->next = spares[k].head;
	spares[k].head = s;
	spares[k].n++;
}

int xgw_bytes_put(struct xgw_bytes *b, const void *d, size_t n)
{
	size_t pending = b->len - b->off;

	if (!n)
		return 0;
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
				return -ENOMEM;
			cap *= 2;
		}
		p = buf_get(cap);
		if (!p)
			return -ENOMEM;
		if (pending)
			memcpy(p, b->p + b->off, pending);
		buf_put(b->p, b->cap);
		b->p = p;
		b->cap = cap;
		b->off = 0;
		b->len = pending;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

void xgw_bytes_free(struct xgw_bytes *b)
{
	buf_put(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

void xgw_bytes_trim(void)
{
	for (int k = 0; k < N_CLASSES; k++) {
		while (spares[k].head) {
			struct spare *s = spares[k].head;

			spares[k].head = s->next;
			free(s);
		}
		spares[k].n = 0;
	}
}

void xgw_bytes_recycled(size_t *count, size_t *bytes)
{
	*count = *bytes = 0;
	for (int k = 0; k < N_CLASSES; k++) {
		*count += spares[k].n;
		*bytes += spares[k].n * ((size_t)XGW_BYTES_MIN << k);
	}
}
