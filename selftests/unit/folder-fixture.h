/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the tests that drive the folder source with random manifests share: a
 * seeded generator, a growable text buffer, and files written as the agent's
 * users should write them (a new file renamed over the old one).
 */
#ifndef XGW_SELFTESTS_FOLDER_FIXTURE_H
#define XGW_SELFTESTS_FOLDER_FIXTURE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "xgw/model.h"

static uint64_t rng_state;

static inline uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33) % n;
}

struct buf {
	char *p;
	size_t n, cap;
};

static inline void bprintf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->n)
			break;
		b->cap = b->cap ? 2 * b->cap + (size_t)n : 4096;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	b->n += (size_t)n;
}

/* Write <text> to <dir>/<name> as the agent's users should: a new file renamed over. */
static inline bool put(const char *dir, const char *name, const char *text)
{
	char tmp[512], path[512];
	FILE *f;
	bool ok;

	snprintf(tmp, sizeof(tmp), "%s/.tmp", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(tmp, "w");
	if (!f)
		return false;
	ok = fputs(text, f) >= 0;
	ok &= !fclose(f);
	return ok && !rename(tmp, path);
}

static inline void rm(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static inline void count_dup(void *arg, const char *msg)
{
	(void)msg;
	++*(int *)arg;
}

/* Does the folder source's store define each name once, as it must (a check
 * that finds none changes nothing)? */
static inline bool store_unique(struct xgw_store *st)
{
	int n = 0;

	return xgw_store_dedupe(st, false, count_dup, &n) == 0 && n == 0;
}

#endif /* XGW_SELFTESTS_FOLDER_FIXTURE_H */
