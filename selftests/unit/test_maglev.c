// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The Maglev table builder: balance, minimal disruption when a node leaves or
 * joins, weights, determinism across input orders, and bad input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "test.h"

#define SIZE XGW_MAGLEV_DEFAULT_SIZE
#define MAXN 16

static const char *const names[MAXN] = { "node-a", "node-b", "node-c", "node-d", "node-e", "node-f",
					 "node-g", "node-h", "node-i", "node-j", "node-k", "node-l",
					 "node-m", "node-n", "node-o", "node-p" };

static void nodes_init(struct xgw_maglev_node *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (struct xgw_maglev_node){ .name = names[i], .id = (uint32_t)i, .weight = 1 };
}

static void count(const uint32_t *t, uint32_t size, uint32_t *cnt, size_t n)
{
	memset(cnt, 0, n * sizeof(*cnt));
	for (uint32_t i = 0; i < size; i++)
		if (t[i] < n)
			cnt[t[i]]++;
}

TEST(prime)
{
	ASSERT_TRUE(xgw_maglev_is_prime(65537), "65537");
	ASSERT_TRUE(xgw_maglev_is_prime(251), "251");
	ASSERT_FALSE(xgw_maglev_is_prime(65536), "65536");
	ASSERT_FALSE(xgw_maglev_is_prime(1), "1");
	ASSERT_FALSE(xgw_maglev_is_prime(0), "0");
}

/* Equal weights: every node within 1 % of size / N. */
TEST(balance)
{
	static const size_t ns[] = { 1, 2, 3, 5, 7, 10, 16 };
	struct xgw_maglev_node v[MAXN];
	uint32_t *t = calloc(SIZE, sizeof(*t));
	uint32_t cnt[MAXN];

	if (!ASSERT_OK_PTR(t, "alloc"))
		return;
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k];
		double even = (double)SIZE / (double)n;

		nodes_init(v, n);
		memset(t, 0xff, SIZE * sizeof(*t));
		if (!ASSERT_OK(xgw_maglev_build(v, n, SIZE, t), "build"))
			break;
		count(t, SIZE, cnt, n);
		for (size_t i = 0; i < n; i++)
			if (!ASSERT_LE(abs((int)cnt[i] - (int)even), (int)(even / 100),
				       "within 1%"))
				printf("#   n=%zu node %zu: %u slots, even %.1f\n", n, i, cnt[i],
				       even);
		uint32_t total = 0;

		for (size_t i = 0; i < n; i++)
			total += cnt[i];
		ASSERT_EQ(total, SIZE, "every slot filled");
	}
	free(t);
}

/*
 * Removing one of N nodes moves its slots and, Maglev being near-minimal,
 * hardly any other: at most 1 % of the table beyond the removed node's share.
 * Adding it back restores the first table exactly.
 */
TEST(disruption)
{
	static const size_t ns[] = { 3, 4, 10 };
	struct xgw_maglev_node v[MAXN];
	uint32_t *a = calloc(SIZE, sizeof(*a)), *b = calloc(SIZE, sizeof(*b));

	if (!ASSERT_OK_PTR(a, "alloc") || !ASSERT_OK_PTR(b, "alloc"))
		goto out;
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k], gone = n / 2;
		uint32_t moved = 0, owned = 0, other = 0;

		nodes_init(v, n);
		if (!ASSERT_OK(xgw_maglev_build(v, n, SIZE, a), "build all"))
			break;
		v[gone].weight = 0; /* same as removing it */
		if (!ASSERT_OK(xgw_maglev_build(v, n, SIZE, b), "build without one"))
			break;
		for (uint32_t i = 0; i < SIZE; i++) {
			owned += a[i] == gone;
			moved += a[i] != b[i];
			other += a[i] != gone && a[i] != b[i];
		}
		printf("#   n=%zu: removed node owned %u slots (%.2f%%), %u moved in all, "
		       "%u (%.2f%%) of other nodes\n",
		       n, owned, 100.0 * owned / SIZE, moved, other, 100.0 * other / SIZE);
		ASSERT_LE(abs((int)owned - (int)(SIZE / n)), SIZE / n / 100, "about 1/N");
		ASSERT_LE(other, SIZE / 100, "others move < 1%");
		for (uint32_t i = 0; i < SIZE; i++)
			if (!ASSERT_NEQ(b[i], gone, "removed node has no slot"))
				break;
		/* Joining: the inverse move. */
		v[gone].weight = 1;
		if (!ASSERT_OK(xgw_maglev_build(v, n, SIZE, b), "rebuild"))
			break;
		ASSERT_TRUE(!memcmp(a, b, SIZE * sizeof(*a)), "same table again");
	}
out:
	free(a);
	free(b);
}

TEST(weights)
{
	struct xgw_maglev_node v[3];
	uint32_t *t = calloc(SIZE, sizeof(*t));
	uint32_t cnt[3];

	if (!ASSERT_OK_PTR(t, "alloc"))
		return;
	nodes_init(v, 3);
	v[0].weight = 1;
	v[1].weight = 2;
	v[2].weight = 5;
	if (ASSERT_OK(xgw_maglev_build(v, 3, SIZE, t), "build")) {
		count(t, SIZE, cnt, 3);
		for (int i = 0; i < 3; i++) {
			double want = (double)SIZE * v[i].weight / 8.0;

			ASSERT_LE(abs((int)cnt[i] - (int)want), (int)(want / 100),
				  "weighted share");
		}
	}
	free(t);
}

/* Every agent must build the same table whatever order it read the nodes in. */
TEST(order_independent)
{
	struct xgw_maglev_node v[5], r[5];
	uint32_t *a = calloc(SIZE, sizeof(*a)), *b = calloc(SIZE, sizeof(*b));

	if (!ASSERT_OK_PTR(a, "alloc") || !ASSERT_OK_PTR(b, "alloc"))
		goto out;
	nodes_init(v, 5);
	for (int i = 0; i < 5; i++)
		r[i] = v[4 - i];
	ASSERT_OK(xgw_maglev_build(v, 5, SIZE, a), "forward");
	ASSERT_OK(xgw_maglev_build(r, 5, SIZE, b), "reverse");
	ASSERT_TRUE(!memcmp(a, b, SIZE * sizeof(*a)), "same table");
out:
	free(a);
	free(b);
}

TEST(bad_input)
{
	struct xgw_maglev_node v[3];
	uint32_t t[257];

	nodes_init(v, 3);
	ASSERT_EQ(xgw_maglev_build(v, 3, 256, t), -EINVAL, "size not prime");
	ASSERT_EQ(xgw_maglev_build(v, 3, 2, t), -EINVAL, "size too small");
	ASSERT_EQ(xgw_maglev_build(v, 0, 257, t), -ENOENT, "no nodes");
	v[0].weight = v[1].weight = v[2].weight = 0;
	ASSERT_EQ(xgw_maglev_build(v, 3, 257, t), -ENOENT, "all weights zero");
	nodes_init(v, 3);
	v[2].name = v[0].name;
	ASSERT_EQ(xgw_maglev_build(v, 3, 257, t), -EINVAL, "duplicate names");
	nodes_init(v, 3);
	ASSERT_OK(xgw_maglev_build(v, 3, 257, t), "small prime");
}

TEST_MAIN()
