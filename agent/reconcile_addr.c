// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The addresses of the Gateways in a pass: those their spec.addresses ask
 * for (when usable and free), then the pool addresses they had before, then
 * the first free ones of their pools, in store order. What is taken is found
 * by hash, and each pool's search for a free address goes on where the last
 * stopped: a pass over thousands of Gateways stays linear.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile-int.h"

/*
 * The addresses the Gateways took, found by hash: a pass over thousands of
 * Gateways looked for each address in every Gateway's, and for the first
 * free pool address from the pool's start, which was cubic (3.8 G
 * instructions for 1,000 Gateways).
 */
static uint32_t addr_hash(uint8_t fam, const uint8_t addr[16])
{
	return xgw_fnv1a(xgw_fnv1a(XGW_FNV_OFFSET, &fam, 1), addr, 16);
}

static uint32_t *taken_slot(const struct ctx *c, uint8_t fam, const uint8_t addr[16])
{
	for (size_t h = addr_hash(fam, addr) & c->taken_mask;; h = (h + 1) & c->taken_mask) {
		const struct taken_addr *t;

		if (!c->taken_tab[h])
			return &c->taken_tab[h];
		t = &c->taken_v[c->taken_tab[h] - 1];
		if (t->fam == fam && !memcmp(t->addr, addr, 16))
			return &c->taken_tab[h];
	}
}

/* Room for every address the store's Gateways may take. */
static int taken_init(struct ctx *c)
{
	size_t n = 1, size = 16;

	for (size_t i = 0; i < c->st->n_gateways; i++)
		n += c->st->gateways[i].n_addresses < 8 ? c->st->gateways[i].n_addresses + 1 : 9;
	while (size < 2 * n)
		size *= 2;
	c->taken_tab = calloc(size, sizeof(*c->taken_tab));
	c->taken_v = malloc(n * sizeof(*c->taken_v));
	c->taken_mask = size - 1;
	return c->taken_tab && c->taken_v ? 0 : -ENOMEM;
}

static bool addr_taken(struct ctx *c, uint8_t fam, const uint8_t addr[16])
{
	return *taken_slot(c, fam, addr) != 0;
}

/* <g> takes <addr> (not taken, and <g> has room). */
static void addr_take(struct ctx *c, struct gw *g, uint8_t fam, const uint8_t addr[16])
{
	uint32_t *slot = taken_slot(c, fam, addr);

	g->fam[g->n_addr] = fam;
	memcpy(g->addr[g->n_addr++], addr, 16);
	c->taken_v[c->n_taken].fam = fam;
	memcpy(c->taken_v[c->n_taken].addr, addr, 16);
	*slot = (uint32_t)++c->n_taken;
}

static bool in_pool(const struct xgw_pool *p, uint8_t fam, const uint8_t addr[16])
{
	if (p->family != fam)
		return false;
	for (unsigned bit = 0; bit < p->prefix; bit++) {
		uint8_t m = (uint8_t)(0x80u >> (bit % 8));

		if ((addr[bit / 8] & m) != (p->addr[bit / 8] & m))
			return false;
	}
	return true;
}

/* Has <g> taken <addr> already (an address listed twice)? */
static bool own_addr(const struct gw *g, uint8_t fam, const uint8_t addr[16])
{
	for (int j = 0; j < g->n_addr; j++)
		if (g->fam[j] == fam && !memcmp(g->addr[j], addr, 16))
			return true;
	return false;
}

/*
 * Can a Gateway claim <addr> in spec.addresses? The address pools of a family,
 * when there are any, are the addresses of that family routed to xgw: one
 * outside them is AddressNotUsable. A family without pools takes any address.
 */
static bool addr_usable(const struct gw *g, uint8_t fam, const uint8_t addr[16])
{
	bool family_pooled = false;

	for (size_t p = 0; p < g->n_pools; p++) {
		if (g->pools[p].family != fam)
			continue;
		family_pooled = true;
		if (in_pool(&g->pools[p], fam, addr))
			return true;
	}
	return !family_pooled;
}

/* Add <k> to the host part of <addr> (big-endian); false on overflow. */
static bool addr_add(uint8_t addr[16], int len, uint64_t k)
{
	for (int i = len - 1; i >= 0 && k; i--) {
		uint64_t s = addr[i] + (k & 0xff);

		addr[i] = (uint8_t)s;
		k = (k >> 8) + (s >> 8);
	}
	return k == 0;
}

static void prev_nsname(const void *previous, size_t i, const char **ns, const char **name)
{
	const struct xgw_assignment *a = &((const struct xgw_assignment *)previous)[i];

	*ns = a->ns;
	*name = a->name;
}

/* Give <g> the pool address it had before, if still in a pool and free. */
bool xgw_rec_pool_keep(struct ctx *c, struct gw *g)
{
	long i = xgw_rec_nsname_find(&c->prev_ix, prev_nsname, c->opts->previous, g->spec->meta.ns,
				     g->spec->meta.name);
	const struct xgw_assignment *a = i < 0 ? NULL : &c->opts->previous[i];

	for (size_t p = 0; a && p < g->n_pools; p++) {
		if (in_pool(&g->pools[p], a->family, a->addr) &&
		    !addr_taken(c, a->family, a->addr)) {
			addr_take(c, g, a->family, a->addr);
			return true;
		}
	}
	return false;
}

/* Where the search for a free address of <pool> goes on (NULL: out of memory). */
static struct pool_cursor *pool_cursor(struct ctx *c, const struct xgw_pool *pool)
{
	struct pool_cursor *pc;

	for (size_t i = 0; i < c->n_cursors; i++)
		if (c->cursors[i].pool == pool)
			return &c->cursors[i];
	pc = realloc(c->cursors, (c->n_cursors + 1) * sizeof(*pc));
	if (!pc)
		return NULL;
	c->cursors = pc;
	pc = &c->cursors[c->n_cursors++];
	pc->pool = pool;
	pc->next = 1; /* skip the network address */
	return pc;
}

/*
 * Give <g> the first free pool address. Addresses are only ever taken during
 * a pass, so each pool's search goes on from where the last one stopped.
 */
bool xgw_rec_pool_assign(struct ctx *c, struct gw *g)
{
	for (size_t p = 0; p < g->n_pools; p++) {
		const struct xgw_pool *pool = &g->pools[p];
		struct pool_cursor *pc = pool_cursor(c, pool);
		int len = pool->family == 4 ? 4 : 16;
		unsigned host_bits = (unsigned)len * 8 - pool->prefix;
		uint64_t n = host_bits >= 16 ? 65536 : (1ull << host_bits);

		if (!pc)
			return false;
		/* (and the broadcast address for IPv4) */
		for (; pc->next < n - (pool->family == 4 && n > 2); pc->next++) {
			uint8_t a[16];

			memcpy(a, pool->addr, 16);
			if (!addr_add(a, len, pc->next))
				break;
			if (!addr_taken(c, pool->family, a)) {
				addr_take(c, g, pool->family, a);
				pc->next++;
				return true;
			}
		}
	}
	return false;
}

int xgw_rec_addrs_init(struct ctx *c)
{
	const struct xgw_reconcile_opts *o = c->opts;

	if (taken_init(c) ||
	    xgw_rec_nsname_index(&c->prev_ix, prev_nsname, o->previous, o->n_previous))
		return -ENOMEM;
	return 0;
}

const char *xgw_rec_addr_claim(struct ctx *c, struct gw *g, uint8_t fam, const uint8_t addr[16])
{
	if (own_addr(g, fam, addr) || g->n_addr == 8)
		return NULL; /* listed twice, or more than it can hold: nothing to say */
	if (addr_taken(c, fam, addr))
		return "is used by another Gateway";
	if (!addr_usable(g, fam, addr))
		return "is outside the address pools of its family";
	addr_take(c, g, fam, addr);
	return NULL;
}

void xgw_rec_addrs_free(struct ctx *c)
{
	free(c->taken_tab);
	free(c->taken_v);
	free(c->cursors);
	free(c->prev_ix.tab);
}
