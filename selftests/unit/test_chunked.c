// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The chunked body decoder (xgw_h1_chunked_next(), user/http1.c) that the
 * HTTP/2 paths use: every body is fed split at every position and with every
 * data budget, and must give the same data, the same trailer bytes and the
 * same verdict as in one piece; invalid framing is refused as the HTTP/1.1
 * scanner refuses it. And xgw_h1_head_len(), which finds where a head ends
 * for them, against a plain search, whole and fed in pieces.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "http1.h"

struct result {
	int rc; /* 1 ended, 0 more needed, -1 invalid */
	char data[256], trailer[256];
	size_t data_len, trailer_len, consumed;
};

/* Decode <in> given in two pieces cut at <cut>, with <budget> data bytes per call at most. */
static void decode(const char *in, size_t len, size_t cut, size_t budget, struct result *r)
{
	struct xgw_h1_chunked c = { 0 };
	size_t piece[2] = { cut, len - cut }, base = 0;

	memset(r, 0, sizeof(*r));
	for (int k = 0; k < 2 && r->rc == 0; k++) {
		size_t i = 0;

		while (i < piece[k]) {
			bool trailer = xgw_h1_chunked_in_trailer(&c);
			size_t used, off, n;
			int rc = xgw_h1_chunked_next(&c, in + base + i, piece[k] - i, budget, &used,
						     &off, &n);

			if (rc < 0) {
				r->rc = -1;
				return;
			}
			if (n > budget || off + n > used || (trailer && n)) {
				r->rc = -2; /* the contract is broken */
				return;
			}
			if (trailer) {
				memcpy(r->trailer + r->trailer_len, in + base + i, used);
				r->trailer_len += used;
			}
			memcpy(r->data + r->data_len, in + base + i + off, n);
			r->data_len += n;
			i += used;
			r->consumed = base + i;
			if (rc == 1) {
				r->rc = 1;
				return;
			}
			if (!used && budget)
				break; /* needs more */
			if (!used) {
				r->rc = -3; /* no budget: stalled at data */
				return;
			}
		}
		base += piece[k];
	}
}

static const struct {
	const char *in, *data, *trailer;
	int rc;
} cases[] = {
	{ "5\r\nhello\r\n0\r\n\r\n", "hello", "\r\n", 1 },
	{ "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nXYZ", "hello world", "\r\n", 1 },
	{ "A;ext=1\r\n0123456789\r\n0\r\ngrpc-status: 0\r\nx: y\r\n\r\n", "0123456789",
	  "grpc-status: 0\r\nx: y\r\n\r\n", 1 },
	{ "3 ;e\r\nabc\r\n0\r\n\r\n", "abc", "\r\n", 1 },
	{ "0\r\n\r\n", "", "\r\n", 1 },
	{ "5\r\nhel", "hel", "", 0 },
	/* invalid, as the HTTP/1.1 scanner says */
	{ "5\r\nhelloX\r\n0\r\n\r\n", "hello", "", -1 },
	{ "5\nhello\r\n0\r\n\r\n", "", "", -1 },
	{ "G\r\n", "", "", -1 },
	{ "\r\n", "", "", -1 },
	{ "3\r\nabc\r\n0\r\nbad header\r\n\r\n", "abc", "", -1 },
	{ "40000000000000001\r\n", "", "", -1 },
	{ "3\r\nabc\r\n0\r\n\n", "abc", "", -1 },
};

TEST(decode_split_everywhere)
{
	for (size_t t = 0; t < sizeof(cases) / sizeof(cases[0]); t++) {
		const char *in = cases[t].in;
		size_t len = strlen(in);

		for (size_t cut = 0; cut <= len; cut++) {
			for (size_t budget = 1; budget <= 12; budget += 11) {
				struct result r;

				decode(in, len, cut, budget, &r);
				if (r.rc != cases[t].rc) {
					TEST_FAIL_("case %zu cut %zu budget %zu: rc %d, want %d", t,
						   cut, budget, r.rc, cases[t].rc);
					return;
				}
				if (r.rc < 0)
					continue;
				if (r.data_len != strlen(cases[t].data) ||
				    memcmp(r.data, cases[t].data, r.data_len) ||
				    r.trailer_len != strlen(cases[t].trailer) ||
				    memcmp(r.trailer, cases[t].trailer, r.trailer_len)) {
					TEST_FAIL_("case %zu cut %zu budget %zu: data \"%.*s\" "
						   "trailer "
						   "\"%.*s\"",
						   t, cut, budget, (int)r.data_len, r.data,
						   (int)r.trailer_len, r.trailer);
					return;
				}
				if (r.rc == 1 && strstr(in, "XYZ") &&
				    !ASSERT_EQ(r.consumed, len - 3,
					       "bytes after the body are not taken"))
					return;
			}
		}
	}
}

TEST(no_budget_stops_at_data)
{
	struct xgw_h1_chunked c = { 0 };
	size_t used, off, n;

	ASSERT_EQ(xgw_h1_chunked_next(&c, "5\r\nhello", 8, 0, &used, &off, &n), 0, "rc");
	ASSERT_EQ(used, (size_t)3, "framing consumed");
	ASSERT_EQ(n, (size_t)0, "no data without budget");
	ASSERT_EQ(xgw_h1_chunked_next(&c, "hello", 5, 0, &used, &off, &n), 0, "rc");
	ASSERT_EQ(used, (size_t)0, "stalled");
	ASSERT_EQ(xgw_h1_chunked_next(&c, "hello", 5, 2, &used, &off, &n), 0, "rc");
	ASSERT_EQ(n, (size_t)2, "budget honoured");
	ASSERT_FALSE(xgw_h1_chunked_in_trailer(&c), "not in trailers");
}

/* Random bodies: the decoder and the scanner agree on the end and on validity. */
TEST(agrees_with_scanner)
{
	unsigned int seed = 7;
	static const char alphabet[] = "0123456789abcdefG; \t\r\n:x-";

	for (int t = 0; t < 20000; t++) {
		char in[48];
		size_t len = (size_t)rand_r(&seed) % sizeof(in), used, off, n, i = 0, scanned;
		struct xgw_h1_chunked a = { 0 }, b = { 0 };
		int ra = 0, rb;

		for (size_t k = 0; k < len; k++)
			in[k] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		rb = xgw_h1_chunked_scan(&b, in, len, &scanned);
		while (i < len) {
			ra = xgw_h1_chunked_next(&a, in + i, len - i, 1 << 20, &used, &off, &n);
			if (ra < 0)
				break;
			i += used;
			if (ra == 1)
				break;
		}
		if (ra != rb || (ra == 1 && i != scanned)) {
			TEST_FAIL_("\"%.*s\": decoder %d (%zu bytes), scanner %d (%zu bytes)",
				   (int)len, in, ra, i, rb, scanned);
			return;
		}
	}
}

TEST(head_len)
{
	static const char *heads[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY",
		"HTTP/1.1 200 OK\r\n\r\n",
		"\r\n\r\n",
		"GET / HTTP/1.1\r\nX: \n\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\r\n\rY: b\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\r\n",
		"\n\r\n",
		"",
	};

	for (size_t t = 0; t < sizeof(heads) / sizeof(heads[0]); t++) {
		const char *h = heads[t], *end = strstr(h, "\r\n\r\n");
		size_t len = strlen(h), want = end ? (size_t)(end - h) + 4 : 0;

		if (!ASSERT_EQ(xgw_h1_head_len(h, len, 0), want, h))
			return;
		/* fed in two pieces: the second call starts where the first stopped */
		for (size_t cut = 0; cut <= len; cut++) {
			size_t got = xgw_h1_head_len(h, cut, 0);

			if (!got)
				got = xgw_h1_head_len(h, len, cut);
			if (got != want) {
				TEST_FAIL_("head %zu cut %zu: %zu, want %zu", t, cut, got, want);
				return;
			}
		}
	}
}

TEST_MAIN()
