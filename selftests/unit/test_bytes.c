// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The HTTP/2 byte queues (user/bytes.c): contents across growth and the
 * reclaimed front, and the recycling of freed buffers, checked against a
 * plain model under random operations.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "bytes.h"

TEST(put_grow_and_consume)
{
	struct xgw_bytes b = { 0 };
	char big[5000];

	ASSERT_OK(xgw_bytes_str(&b, "GET / HTTP/1.1\r\n"), "put");
	ASSERT_EQ(b.cap, (size_t)XGW_BYTES_MIN, "first capacity");
	ASSERT_MEMSTR(b.p + b.off, xgw_bytes_pending(&b), "GET / HTTP/1.1\r\n", "content");
	memset(big, 'x', sizeof(big));
	ASSERT_OK(xgw_bytes_put(&b, big, sizeof(big)), "grow");
	ASSERT_EQ(b.cap, (size_t)8192, "power of two capacity");
	ASSERT_EQ(xgw_bytes_pending(&b), 16 + sizeof(big), "pending");
	ASSERT_TRUE(!memcmp(b.p, "GET / HTTP/1.1\r\n", 16), "front kept across growth");
	b.off = b.len; /* all consumed */
	ASSERT_OK(xgw_bytes_str(&b, "ab"), "put after consumption");
	ASSERT_EQ(b.off, (size_t)0, "an emptied queue starts over");
	ASSERT_MEMSTR(b.p, 2, "ab", "content");
	ASSERT_OK(xgw_bytes_put(&b, "", 0), "empty put");
	xgw_bytes_free(&b);
	ASSERT_TRUE(!b.p && !b.len && !b.off && !b.cap, "free empties");
	xgw_bytes_trim();
}

TEST(front_reclaimed_before_growing)
{
	struct xgw_bytes b = { 0 };
	char fill[XGW_BYTES_MIN];

	memset(fill, 'f', sizeof(fill));
	ASSERT_OK(xgw_bytes_put(&b, fill, sizeof(fill)), "fill");
	b.off = 200; /* 56 pending */
	ASSERT_OK(xgw_bytes_put(&b, "0123456789", 10), "put");
	ASSERT_EQ(b.cap, (size_t)XGW_BYTES_MIN, "no growth: the front made room");
	ASSERT_EQ(b.off, (size_t)0, "front reclaimed");
	ASSERT_EQ(xgw_bytes_pending(&b), (size_t)66, "pending");
	ASSERT_MEMSTR(b.p + 56, 10, "0123456789", "appended");
	xgw_bytes_free(&b);
	xgw_bytes_trim();
}

TEST(recycled_and_bounded)
{
	struct xgw_bytes q[300] = { 0 };
	size_t n, bytes;
	char *first;

	xgw_bytes_trim();
	ASSERT_OK(xgw_bytes_str(&q[0], "x"), "put");
	first = q[0].p;
	xgw_bytes_free(&q[0]);
	xgw_bytes_recycled(&n, &bytes);
	ASSERT_EQ(n, (size_t)1, "one buffer recycled");
	ASSERT_EQ(bytes, (size_t)XGW_BYTES_MIN, "of the smallest class");
	ASSERT_OK(xgw_bytes_str(&q[0], "y"), "put again");
	ASSERT_TRUE(q[0].p == first, "the recycled buffer is reused");
	xgw_bytes_recycled(&n, &bytes);
	ASSERT_EQ(n, (size_t)0, "taken off the list");
	xgw_bytes_free(&q[0]);

	/* many 16 KiB buffers: the list keeps a bounded number */
	for (int i = 0; i < 300; i++) {
		char big[XGW_BYTES_RECYCLE_MAX];

		memset(big, 'b', sizeof(big));
		if (!ASSERT_OK(xgw_bytes_put(&q[i], big, sizeof(big)), "put 16 KiB"))
			return;
	}
	for (int i = 0; i < 300; i++)
		xgw_bytes_free(&q[i]);
	xgw_bytes_recycled(&n, &bytes);
	ASSERT_LE(bytes, (size_t)(256 * 1024 + XGW_BYTES_MIN), "at most 256 KiB of a class kept");
	ASSERT_GE(n, (size_t)4, "some kept");

	/* beyond the largest class: plain malloc, nothing recycled */
	{
		struct xgw_bytes b = { 0 };
		static char huge[XGW_BYTES_RECYCLE_MAX + 1];
		size_t n2, bytes2;

		ASSERT_OK(xgw_bytes_put(&b, huge, sizeof(huge)), "put huge");
		ASSERT_EQ(b.cap, (size_t)2 * XGW_BYTES_RECYCLE_MAX, "capacity");
		xgw_bytes_free(&b);
		xgw_bytes_recycled(&n2, &bytes2);
		ASSERT_EQ(n2, n, "a huge buffer is not recycled");
	}
	xgw_bytes_trim();
	xgw_bytes_recycled(&n, &bytes);
	ASSERT_EQ(n, (size_t)0, "trim empties the lists");
}

/* Random puts, consumptions and frees against a model string. */
TEST(random_against_model)
{
	enum {
		NQ = 8,
		MODEL = 1 << 17
	};
	struct xgw_bytes q[NQ] = { 0 };
	static char model[NQ][MODEL];
	size_t mlen[NQ] = { 0 };
	unsigned int seed = 12345;
	char src[20000 + 100];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)('a' + i % 26);
	for (int step = 0; step < 20000; step++) {
		int i = rand_r(&seed) % NQ, op = rand_r(&seed) % 10;

		if (op < 6) {
			size_t n = (size_t)rand_r(&seed) % (op == 0 ? 20000 : 300);

			if (mlen[i] + n > MODEL)
				continue;
			if (!ASSERT_OK(xgw_bytes_put(&q[i], src + step % 100, n), "put"))
				return;
			memcpy(model[i] + mlen[i], src + step % 100, n);
			mlen[i] += n;
		} else if (op < 9) {
			size_t k = mlen[i] ? (size_t)rand_r(&seed) % (mlen[i] + 1) : 0;

			q[i].off += k;
			memmove(model[i], model[i] + k, mlen[i] - k);
			mlen[i] -= k;
		} else {
			xgw_bytes_free(&q[i]);
			mlen[i] = 0;
		}
		if (xgw_bytes_pending(&q[i]) != mlen[i] ||
		    (mlen[i] && memcmp(q[i].p + q[i].off, model[i], mlen[i]))) {
			TEST_FAIL_("queue %d differs from the model at step %d", i, step);
			return;
		}
	}
	for (int i = 0; i < NQ; i++)
		xgw_bytes_free(&q[i]);
	xgw_bytes_trim();
}

TEST_MAIN()
