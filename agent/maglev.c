// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

int xgw_maglev_is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	for (uint32_t d = 2; (uint64_t)d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

/* FNV-1a then splitmix64's finaliser: two independent 32-bit halves. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

struct perm {
	const struct xgw_maglev_node *node;
	uint32_t offset, skip, next;
	uint64_t credit; /* weight accumulated towards the next turn */
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct perm *)a)->node->name, ((const struct perm *)b)->node->name);
}

int xgw_maglev_build(const struct xgw_maglev_node *nodes, size_t n, uint32_t size, uint32_t *table)
{
	uint32_t wmax = 0, filled = 0;
	struct perm *p;
	size_t live = 0;
	uint8_t *taken;

	if (!xgw_maglev_is_prime(size) || n >= size)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (nodes[i].weight > wmax)
			wmax = nodes[i].weight;
	if (!wmax)
		return -ENOENT;
	p = calloc(n, sizeof(*p));
	taken = calloc(size, 1);
	if (!p || !taken) {
		free(p);
		free(taken);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t h;

		if (!nodes[i].weight)
			continue;
		h = name_hash(nodes[i].name);
		p[live].node = &nodes[i];
		p[live].offset = (uint32_t)(h % size);
		p[live].skip = (uint32_t)((h >> 32) % (size - 1)) + 1;
		live++;
	}
	/* Fill order must not depend on input order: every agent sorts alike. */
	qsort(p, live, sizeof(*p), by_name);
	for (size_t i = 1; i < live; i++)
		if (!strcmp(p[i - 1].node->name, p[i].node->name)) {
			free(p);
			free(taken);
			return -EINVAL;
		}
	/*
	 * Each round every node earns its weight in credit and takes one turn
	 * per wmax of credit, so that slot counts follow the weights while equal
	 * weights degenerate into plain Maglev (one turn per node per round).
	 */
	while (filled < size) {
		for (size_t i = 0; i < live && filled < size; i++) {
			p[i].credit += p[i].node->weight;
			while (p[i].credit >= wmax && filled < size) {
				uint32_t c;

				p[i].credit -= wmax;
				do {
					c = (uint32_t)((p[i].offset +
							(uint64_t)p[i].next * p[i].skip) %
						       size);
					p[i].next++;
				} while (taken[c]);
				taken[c] = 1;
				table[c] = p[i].node->id;
				filled++;
			}
		}
	}
	free(p);
	free(taken);
	return 0;
}
