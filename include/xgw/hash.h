/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * FNV-1a, the hash of the project's in-memory tables (the router's, the UDP
 * sessions', the reconciler's).
 */
#ifndef XGW_HASH_H
#define XGW_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XGW_FNV_OFFSET 2166136261u
#define XGW_FNV_PRIME 16777619u

/* FNV-1a of the <len> bytes at <p>, from <h> (XGW_FNV_OFFSET to start). */
static inline uint32_t xgw_fnv1a(uint32_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * XGW_FNV_PRIME;
	return h;
}

#endif /* XGW_HASH_H */
