/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Flow hashing for socket selection: the kernel's jhash_3words (Bob
 * Jenkins' lookup3 final mix), so that a flow maps to the same worker for as
 * long as the worker set is unchanged and flows spread evenly over workers.
 */
#ifndef XGW_BPF_HASH_BPF_H
#define XGW_BPF_HASH_BPF_H

#include <linux/types.h>

#define XGW_JHASH_INITVAL 0xdeadbeef

static __always_inline __u32 xgw_rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

static __always_inline __u32 xgw_jhash_3words(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	a += XGW_JHASH_INITVAL + (3 << 2) + initval;
	b += XGW_JHASH_INITVAL + (3 << 2) + initval;
	c += XGW_JHASH_INITVAL + (3 << 2) + initval;

	c ^= b;
	c -= xgw_rol32(b, 14);
	a ^= c;
	a -= xgw_rol32(c, 11);
	b ^= a;
	b -= xgw_rol32(a, 25);
	c ^= b;
	c -= xgw_rol32(b, 16);
	a ^= c;
	a -= xgw_rol32(c, 4);
	b ^= a;
	b -= xgw_rol32(a, 14);
	c ^= b;
	c -= xgw_rol32(b, 24);
	return c;
}

#endif /* XGW_BPF_HASH_BPF_H */
