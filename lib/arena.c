// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The arena behind every store: a list of blocks that allocations are bumped
 * out of. Nothing is freed alone; xgw_arena_free() drops every block, and the
 * arena may then be used again.
 *
 * Blocks come from calloc(), so every allocation is zeroed without a memset
 * per call (large calloc()s are fresh mmap()ed pages, already zero); but for
 * xgw_arena_alloc_raw()'s large ones, from malloc(), whose caller writes them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xgw/model.h"

#define ARENA_ALIGN 16
#define ARENA_BLOCK_SIZE (64 * 1024)
/* Above this an allocation gets a block of its own, so that a few large
 * arrays do not leave most of a shared block unused. */
#define ARENA_BIG (ARENA_BLOCK_SIZE / 4)

struct xgw_arena_block {
	struct xgw_arena_block *next;
	size_t size; /* bytes of data[] */
	size_t used;
	unsigned char data[];
};

static struct xgw_arena_block *block_new(size_t size, bool zero)
{
	struct xgw_arena_block *b;

	/* ARENA_ALIGN - 1 spare bytes: data[] need not start 16-byte aligned. */
	if (size > SIZE_MAX - sizeof(*b) - ARENA_ALIGN)
		return NULL;
	b = zero ? calloc(1, sizeof(*b) + size + ARENA_ALIGN - 1)
		 : malloc(sizeof(*b) + size + ARENA_ALIGN - 1);
	if (!b)
		return NULL;
	b->next = NULL;
	b->used = 0;
	b->size = size + ARENA_ALIGN - 1;
	return b;
}

/* Offset in <b> at which <size> aligned bytes fit, or SIZE_MAX. */
static size_t block_fit(const struct xgw_arena_block *b, size_t size)
{
	uintptr_t p = (uintptr_t)(b->data + b->used);
	size_t pad = (ARENA_ALIGN - (p & (ARENA_ALIGN - 1))) & (ARENA_ALIGN - 1);

	if (pad > b->size - b->used || size > b->size - b->used - pad)
		return SIZE_MAX;
	return b->used + pad;
}

static void *alloc(struct xgw_arena *a, size_t size, bool zero)
{
	struct xgw_arena_block *b;
	size_t off;

	/* Distinct non-NULL pointers for empty arrays, as malloc(0) may not give. */
	if (!size)
		size = 1;
	if (size > ARENA_BIG) {
		b = block_new(size, zero);
		if (!b) {
			errno = ENOMEM;
			return NULL;
		}
		/* Behind the head, whose free space stays available. */
		if (a->head) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			a->head = b;
		}
	} else {
		b = a->head;
		if (!b || block_fit(b, size) == SIZE_MAX) {
			b = block_new(ARENA_BLOCK_SIZE, true);
			if (!b) {
				errno = ENOMEM;
				return NULL;
			}
			b->next = a->head;
			a->head = b;
		}
	}
	off = block_fit(b, size);
	b->used = off + size;
	/* what follows is zero in every block, a raw one's too (the few bytes
	 * after it): xgw_arena_reset() zeroes only what was used */
	if (!zero && size > ARENA_BIG)
		memset(b->data + b->used, 0, b->size - b->used);
	return b->data + off;
}

void *xgw_arena_alloc(struct xgw_arena *a, size_t size)
{
	return alloc(a, size, true);
}

void *xgw_arena_alloc_raw(struct xgw_arena *a, size_t size)
{
	return alloc(a, size, false);
}

static char *copy(struct xgw_arena *a, const char *s, size_t len)
{
	char *p = xgw_arena_alloc(a, len + 1);

	if (p)
		memcpy(p, s, len);
	return p;
}

char *xgw_arena_strndup(struct xgw_arena *a, const char *s, size_t n)
{
	return copy(a, s, strnlen(s, n));
}

char *xgw_arena_strdup(struct xgw_arena *a, const char *s)
{
	return copy(a, s, strlen(s));
}

char *xgw_arena_printf(struct xgw_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		errno = EINVAL;
		return NULL;
	}
	p = xgw_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void xgw_arena_free(struct xgw_arena *a)
{
	struct xgw_arena_block *b, *next;

	if (!a)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
}

void xgw_arena_reset(struct xgw_arena *a)
{
	struct xgw_arena_block *keep = NULL, *b, *next;

	for (b = a->head; b; b = next) {
		next = b->next;
		if (!keep && b->size == ARENA_BLOCK_SIZE + ARENA_ALIGN - 1) {
			keep = b;
			continue;
		}
		free(b);
	}
	if (keep) {
		/* allocations promise zeroed memory: clear what was handed out */
		memset(keep->data, 0, keep->used);
		keep->used = 0;
		keep->next = NULL;
	}
	a->head = keep;
}
