// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Recycled memory for per-stream allocations (see mem.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define N_CLASSES 10 /* 32 .. 16384 */
/* Before each xgw_mem_alloc() block: its capacity. 16 bytes keep malloc's alignment. */
#define HDR 16

_Static_assert((XGW_MEM_CLASS_MIN << (N_CLASSES - 1)) == XGW_MEM_CLASS_MAX,
	       "the classes end at XGW_MEM_CLASS_MAX");

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
	if (cap & (cap - 1) || cap < XGW_MEM_CLASS_MIN || cap > XGW_MEM_CLASS_MAX)
		return -1;
	return __builtin_ctzl(cap) - __builtin_ctzl(XGW_MEM_CLASS_MIN);
}

/* Blocks kept per class: XGW_MEM_KEEP bytes of them, and at least 4. */
static size_t class_limit(int k)
{
	size_t n = XGW_MEM_KEEP >> (k + __builtin_ctzl(XGW_MEM_CLASS_MIN));

	return n > 4 ? n : 4;
}

/* The capacity a request of <size> bytes gets: its class, or itself beyond them. */
static size_t cap_for(size_t size)
{
	if (size <= XGW_MEM_CLASS_MIN)
		return XGW_MEM_CLASS_MIN;
	if (size > XGW_MEM_CLASS_MAX)
		return size;
	return (size_t)1 << (64 - __builtin_clzl(size - 1));
}

void *xgw_mem_get(size_t cap)
{
	int k = class_of(cap);
	struct spare *s;

	if (k < 0 || !spares[k].head)
		return malloc(cap);
	s = spares[k].head;
	spares[k].head = s->next;
	spares[k].n--;
	return s;
}

void xgw_mem_put(void *p, size_t cap)
{
	int k = class_of(cap);
	struct spare *s = p;

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

void *xgw_mem_alloc(size_t size)
{
	size_t cap;
	char *p;

	if (size > SIZE_MAX - 2 * HDR)
		return NULL;
	cap = cap_for(size + HDR);
	p = xgw_mem_get(cap);
	if (!p)
		return NULL;
	*(size_t *)p = cap;
	return p + HDR;
}

void *xgw_mem_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = xgw_mem_alloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void xgw_mem_free(void *p)
{
	char *b;

	if (!p)
		return;
	b = (char *)p - HDR;
	xgw_mem_put(b, *(size_t *)b);
}

void *xgw_mem_realloc(void *p, size_t size)
{
	size_t cap;
	void *q;

	if (!p)
		return xgw_mem_alloc(size);
	cap = *(size_t *)((char *)p - HDR);
	if (size <= cap - HDR)
		return p;
	q = xgw_mem_alloc(size);
	if (!q)
		return NULL;
	memcpy(q, p, cap - HDR < size ? cap - HDR : size);
	xgw_mem_free(p);
	return q;
}

static void *ng_malloc(size_t size, void *ud)
{
	(void)ud;
	return xgw_mem_alloc(size);
}

static void ng_free(void *p, void *ud)
{
	(void)ud;
	xgw_mem_free(p);
}

static void *ng_calloc(size_t n, size_t size, void *ud)
{
	(void)ud;
	return xgw_mem_calloc(n, size);
}

static void *ng_realloc(void *p, size_t size, void *ud)
{
	(void)ud;
	return xgw_mem_realloc(p, size);
}

nghttp2_mem *xgw_mem_nghttp2(void)
{
	static nghttp2_mem m = {
		.malloc = ng_malloc, .free = ng_free, .calloc = ng_calloc, .realloc = ng_realloc
	};

	return &m;
}

void xgw_mem_trim(void)
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

void xgw_mem_recycled(size_t *count, size_t *bytes)
{
	*count = *bytes = 0;
	for (int k = 0; k < N_CLASSES; k++) {
		*count += spares[k].n;
		*bytes += spares[k].n * ((size_t)XGW_MEM_CLASS_MIN << k);
	}
}
