// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "flow_token.h"
#include "xgw/hash.h"

uint32_t xgw_flow_token_hash(const struct xgw_listener_key *k)
{
	uint32_t h = xgw_fnv1a(XGW_FNV_OFFSET, k, sizeof(*k));

	return h ? h : 1;
}

/* An open-addressing set of tokens (0: an empty slot), at most half full. */
struct token_set {
	uint32_t *slot;
	size_t mask;
};

/* Adds <t>; false when it was there already. */
static bool set_add(struct token_set *s, uint32_t t)
{
	/* FNV's low bits follow the key's last bytes: mix before masking. */
	size_t i = (size_t)(t * 0x9e3779b1u) & s->mask;

	for (; s->slot[i]; i = (i + 1) & s->mask)
		if (s->slot[i] == t)
			return false;
	s->slot[i] = t;
	return true;
}

int xgw_flow_tokens_assign(const struct xgw_listener_key *keys, uint32_t *tok, size_t n)
{
	struct token_set s;
	size_t size = 4;

	while (size < 2 * n)
		size *= 2;
	s.slot = calloc(size, sizeof(*s.slot));
	if (!s.slot)
		return -ENOMEM;
	s.mask = size - 1;
	/* The tokens listeners have stay theirs; a repeated one is given again. */
	for (size_t i = 0; i < n; i++)
		if (tok[i] && !set_add(&s, tok[i]))
			tok[i] = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t t = xgw_flow_token_hash(&keys[i]);

		if (tok[i])
			continue;
		while (!set_add(&s, t))
			t = t + 1 ? t + 1 : 1;
		tok[i] = t;
	}
	free(s.slot);
	return 0;
}
