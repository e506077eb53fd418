// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * user/xfer.c: xgw_xfer_flush() over a socket pair. The head pieces and the
 * body bytes of the buffer must come out whole and in order, whether the
 * write is complete (the fast path), short (the receiver's buffer is full),
 * or the head took every iovec slot (the body's piece cannot go in the spare
 * slot and the pieces are copied out).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop-t.h"
#include "rewrite.h"
#include "test.h"
#include "xfer.h"

static char head[XGW_XFER_IOV * 4];

/* A message of <pieces> head pieces of 3 bytes (not contiguous) and <body> bytes in <b>. */
static void message(struct xgw_xfer *x, struct xgw_buf *b, int pieces, size_t body)
{
	xgw_xfer_init(x, XGW_H1_BODY_LENGTH, body, 0);
	for (int i = 0; i < pieces; i++) {
		/* every 4th byte skipped, so that no two pieces merge */
		head[4 * i] = (char)('a' + i % 26);
		head[4 * i + 1] = ':';
		head[4 * i + 2] = (char)('A' + i % 26);
		xgw_xfer_emit(x, head + 4 * i, 3);
	}
	b->start = b->end = 0;
	for (size_t i = 0; i < body; i++)
		b->data[b->end++] = (char)('0' + i % 10);
	xgw_xfer_claim(x, b);
}

/* Read what the peer got: all of it, until <want> bytes or EAGAIN. */
static size_t drain(int fd, char *out, size_t want)
{
	size_t got = 0;

	while (got < want) {
		ssize_t n = recv(fd, out + got, want - got, MSG_DONTWAIT);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static bool expect_stream(const char *got, size_t len, int pieces, size_t body)
{
	size_t k = 0;

	for (int i = 0; i < pieces; i++, k += 3)
		if (k + 3 > len || memcmp(got + k, head + 4 * i, 3))
			return TEST_FAIL_("head piece %d differs", i);
	for (size_t i = 0; i < body; i++, k++)
		if (k >= len || got[k] != (char)('0' + i % 10))
			return TEST_FAIL_("body byte %zu differs", i);
	return ASSERT_EQ(k, len, "nothing more");
}

static void one(int pieces, size_t body, bool small)
{
	static struct xgw_buf b;
	struct xgw_xfer x;
	int sv[2];
	size_t want = (size_t)pieces * 3 + body, got = 0;
	char *out = malloc(want + 1);
	bool wr_ready = true;
	int rounds = 0;

	if (!ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair"))
		goto out;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	if (small) {
		int sz = 4096;

		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	message(&x, &b, pieces, body);
	while (xgw_xfer_pending(&x, &b) && rounds++ < 10000) {
		struct xgw_io io = { .fd = sv[0] };
		ssize_t n = xgw_xfer_flush(&io, &x, &b, &wr_ready);

		if (!ASSERT_GE(n, 0, "flush"))
			break;
		if (!wr_ready || !n) {
			/* short: the peer reads some, the writer is ready again */
			got += drain(sv[1], out + got, want - got);
			wr_ready = true;
		}
	}
	got += drain(sv[1], out + got, want - got);
	ASSERT_FALSE(xgw_xfer_pending(&x, &b), "all written");
	ASSERT_EQ(b.start, b.end, "body consumed");
	expect_stream(out, got, pieces, body);
	close(sv[0]);
	close(sv[1]);
out:
	free(out);
}

TEST(flush_complete)
{
	one(1, 0, false);
	one(5, 0, false);
	one(5, 100, false);
	one(XGW_XFER_IOV - 1, 100, false); /* the body takes the last slot */
}

TEST(flush_every_slot_taken)
{
	one(XGW_XFER_IOV, 0, false);
	one(XGW_XFER_IOV, 100, false); /* the pieces are copied out */
}

TEST(flush_short_writes)
{
	one(5, 30000, true);
	one(XGW_XFER_IOV - 1, 30000, true);
	one(XGW_XFER_IOV, 30000, true);
}

TEST_MAIN()
