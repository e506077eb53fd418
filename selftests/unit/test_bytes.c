// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The HTTP/2 byte queues (user/bytes.c): contents across growth and the
 * reclaimed front, checked against a plain model under random operations;
 * and the recycling allocator under them (user/mem.c): reuse, bounds, and
 * malloc-like calls (nghttp2's) against a model.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "bytes.h"
#include "mem.h"

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
	xgw_mem_trim();
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
	xgw_mem_trim();
}

TEST(recycled_and_bounded)
{
	struct xgw_bytes q[600] = { 0 };
	size_t n, bytes;
	char *first;

	xgw_mem_trim();
	ASSERT_OK(xgw_bytes_str(&q[0], "x"), "put");
	first = q[0].p;
	xgw_bytes_free(&q[0]);
	xgw_mem_recycled(&n, &bytes);
	ASSERT_EQ(n, (size_t)1, "one buffer recycled");
	ASSERT_EQ(bytes, (size_t)XGW_BYTES_MIN, "of the smallest class");
	ASSERT_OK(xgw_bytes_str(&q[0], "y"), "put again");
	ASSERT_TRUE(q[0].p == first, "the recycled buffer is reused");
	xgw_mem_recycled(&n, &bytes);
	ASSERT_EQ(n, (size_t)0, "taken off the list");
	xgw_bytes_free(&q[0]);

	/* many 16 KiB buffers: the list keeps a bounded number */
	for (int i = 0; i < 600; i++) {
		char big[XGW_MEM_CLASS_MAX];

		memset(big, 'b', sizeof(big));
		if (!ASSERT_OK(xgw_bytes_put(&q[i], big, sizeof(big)), "put 16 KiB"))
			return;
	}
	for (int i = 0; i < 600; i++)
		xgw_bytes_free(&q[i]);
	xgw_mem_recycled(&n, &bytes);
	ASSERT_LE(bytes, (size_t)(XGW_MEM_KEEP + XGW_BYTES_MIN),
		  "at most XGW_MEM_KEEP of a class kept");
	ASSERT_GE(n, (size_t)4, "some kept");

	/* beyond the largest class: plain malloc, nothing recycled */
	{
		struct xgw_bytes b = { 0 };
		static char huge[XGW_MEM_CLASS_MAX + 1];
		size_t n2, bytes2;

		ASSERT_OK(xgw_bytes_put(&b, huge, sizeof(huge)), "put huge");
		ASSERT_EQ(b.cap, (size_t)2 * XGW_MEM_CLASS_MAX, "capacity");
		xgw_bytes_free(&b);
		xgw_mem_recycled(&n2, &bytes2);
		ASSERT_EQ(n2, n, "a huge buffer is not recycled");
	}
	xgw_mem_trim();
	xgw_mem_recycled(&n, &bytes);
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
	xgw_mem_trim();
}

/* malloc-like calls, as nghttp2 makes them, against a model. */
TEST(mem_alloc_against_model)
{
	enum {
		N = 64
	};
	nghttp2_mem *m = xgw_mem_nghttp2();
	unsigned char *p[N] = { 0 };
	size_t len[N] = { 0 };
	unsigned int seed = 4242;

	for (int step = 0; step < 50000; step++) {
		int i = rand_r(&seed) % N, op = rand_r(&seed) % 4;
		size_t n = (size_t)rand_r(&seed) % (rand_r(&seed) % 8 ? 600 : 40000);

		if (p[i]) { /* the contents survive: byte k of block i is (i + k) & 0xff */
			for (size_t k = 0; k < len[i]; k++)
				if (p[i][k] != (unsigned char)(i + k)) {
					TEST_FAIL_("block %d byte %zu changed at step %d", i, k,
						   step);
					return;
				}
		}
		switch (op) {
		case 0:
			m->free(p[i], NULL);
			p[i] = m->malloc(n, NULL);
			break;
		case 1:
			m->free(p[i], NULL);
			p[i] = m->calloc(1, n, NULL);
			for (size_t k = 0; p[i] && k < n; k++)
				if (p[i][k]) {
					TEST_FAIL_("calloc: byte %zu not zero", k);
					return;
				}
			break;
		case 2: {
			unsigned char *q = m->realloc(p[i], n, NULL);

			if (!ASSERT_OK_PTR(q, "realloc"))
				return;
			p[i] = q;
			if (n < len[i])
				len[i] = n; /* what was kept is checked on the next visit */
			for (size_t k = len[i]; k < n; k++)
				p[i][k] = (unsigned char)(i + k);
			len[i] = n;
			continue;
		}
		default:
			m->free(p[i], NULL);
			p[i] = NULL;
			len[i] = 0;
			continue;
		}
		if (!ASSERT_OK_PTR(p[i], "alloc"))
			return;
		if (!ASSERT_EQ((uintptr_t)p[i] % 16, (uintptr_t)0, "16-byte alignment"))
			return;
		for (size_t k = 0; k < n; k++)
			p[i][k] = (unsigned char)(i + k);
		len[i] = n;
	}
	for (int i = 0; i < N; i++)
		m->free(p[i], NULL);
	ASSERT_TRUE(m->calloc((size_t)1 << 62, 8, NULL) == NULL, "calloc overflow refused");
	xgw_mem_trim();
}

TEST_MAIN()
