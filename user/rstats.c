// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Per-route response counters (user/rstats.h): an open-addressing table of
 * routes by name. A snapshot's rules find their route's counters on their
 * first response and keep the pointer (struct xgw_snapref.rule_ctr), so a
 * response costs one increment.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rstats.h"

struct rstat {
	uint64_t ctr[XGW_RSTAT_CLASSES];
	uint64_t hash;
	size_t len;
	char name[];
};

struct xgw_rstats {
	struct rstat **slot; /* power of two, at most half full */
	size_t mask, n;
	uint64_t dumped; /* the sum of every counter at the last dump */
};

struct xgw_rstats *xgw_rstats__new(void)
{
	struct xgw_rstats *t = calloc(1, sizeof(*t));

	if (t && !(t->slot = calloc(64, sizeof(*t->slot)))) {
		free(t);
		return NULL;
	}
	if (t)
		t->mask = 63;
	return t;
}

void xgw_rstats__free(struct xgw_rstats *t)
{
	if (!t)
		return;
	for (size_t i = 0; i <= t->mask; i++)
		free(t->slot[i]);
	free(t->slot);
	free(t);
}

static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h;
}

static int grow(struct xgw_rstats *t)
{
	size_t mask = t->mask * 2 + 1;
	struct rstat **slot = calloc(mask + 1, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i <= t->mask; i++) {
		struct rstat *e = t->slot[i];
		size_t k;

		if (!e)
			continue;
		for (k = e->hash & mask; slot[k]; k = (k + 1) & mask)
			;
		slot[k] = e;
	}
	free(t->slot);
	t->slot = slot;
	t->mask = mask;
	return 0;
}

uint64_t *xgw_rstats_get(struct xgw_rstats *t, const char *name, size_t len)
{
	uint64_t h = hash(name, len);
	size_t k;
	struct rstat *e;

	for (k = h & t->mask; (e = t->slot[k]); k = (k + 1) & t->mask)
		if (e->hash == h && e->len == len && !memcmp(e->name, name, len))
			return e->ctr;
	if ((t->n + 1) * 2 > t->mask + 1) {
		if (grow(t))
			return NULL;
		for (k = h & t->mask; t->slot[k]; k = (k + 1) & t->mask)
			;
	}
	e = calloc(1, sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	e->hash = h;
	e->len = len;
	memcpy(e->name, name, len);
	t->slot[k] = e;
	t->n++;
	return e->ctr;
}

int xgw_rstats_memfd(struct xgw_rstats *t)
{
	uint64_t sum = 0;
	size_t cap = 0, n = 0;
	char *buf = NULL;
	int fd, err = 0;

	for (size_t i = 0; i <= t->mask; i++)
		if (t->slot[i])
			for (int c = 0; c < XGW_RSTAT_CLASSES; c++)
				sum += t->slot[i]->ctr[c];
	if (sum == t->dumped)
		return -1; /* nothing new */
	for (size_t i = 0; i <= t->mask; i++) {
		const struct rstat *e = t->slot[i];
		int w;

		if (!e)
			continue;
		if (cap - n < e->len + 5 * 21 + 2) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *p;

			while (ncap - n < e->len + 5 * 21 + 2)
				ncap *= 2;
			if (!(p = realloc(buf, ncap))) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
			cap = ncap;
		}
		w = snprintf(buf + n, cap - n,
			     "%.*s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			     (int)e->len, e->name, e->ctr[0], e->ctr[1], e->ctr[2], e->ctr[3],
			     e->ctr[4]);
		n += (size_t)w;
	}
	fd = memfd_create("xgw-rstats", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	for (size_t off = 0; off < n && !err;) {
		ssize_t w = write(fd, buf + off, n - off);

		if (w < 0)
			err = -errno;
		else
			off += (size_t)w;
	}
	free(buf);
	if (!err &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	t->dumped = sum;
	return fd;
}
