// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The worker's L4 pieces that need no socket: the ClientHello server name
 * parser (whole, split, truncated, malformed, random bytes) and the
 * router's TCP / UDP listener lookup on a shared address and port.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "xgw/snapshot.h"

#include "l4.h"
#include "router.h"

static size_t put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/*
 * A ClientHello body (no record or handshake header) with server names
 * <names> (NULL: no server_name extension; "" entries skipped) and a
 * padding extension of <pad> bytes. <ext> false: no extensions at all.
 */
static size_t hello_body(uint8_t *b, const char *const *names, size_t pad, bool ext)
{
	size_t n = 0, ext_len_at, sni_at, list_at;

	b[n++] = 3;
	b[n++] = 3;
	memset(b + n, 0xab, 32);
	n += 32;
	b[n++] = 32; /* session id */
	memset(b + n, 0xcd, 32);
	n += 32;
	n += put16(b + n, 4);
	b[n++] = 0x13;
	b[n++] = 0x01;
	b[n++] = 0x13;
	b[n++] = 0x02;
	b[n++] = 1;
	b[n++] = 0;
	if (!ext)
		return n;
	ext_len_at = n;
	n += 2;
	/* supported_versions, an extension before the name */
	n += put16(b + n, 43);
	n += put16(b + n, 3);
	b[n++] = 2;
	b[n++] = 3;
	b[n++] = 4;
	if (names) {
		n += put16(b + n, 0);
		sni_at = n;
		n += 2;
		list_at = n;
		n += 2;
		for (int i = 0; names[i]; i++) {
			size_t l = strlen(names[i]);

			b[n++] = 0;
			n += put16(b + n, l);
			memcpy(b + n, names[i], l);
			n += l;
		}
		put16(b + list_at, n - list_at - 2);
		put16(b + sni_at, n - sni_at - 2);
	}
	if (pad) {
		n += put16(b + n, 21);
		n += put16(b + n, pad);
		memset(b + n, 0, pad);
		n += pad;
	}
	put16(b + ext_len_at, n - ext_len_at - 2);
	return n;
}

/* Records of at most <frag> handshake bytes each carrying body <body>. */
static size_t records(uint8_t *out, const uint8_t *body, size_t len, size_t frag)
{
	uint8_t hs[20000];
	size_t n = 0, hl = 0;

	hs[hl++] = 1;
	hs[hl++] = (uint8_t)(len >> 16);
	hs[hl++] = (uint8_t)(len >> 8);
	hs[hl++] = (uint8_t)len;
	memcpy(hs + hl, body, len);
	hl += len;
	for (size_t off = 0; off < hl; off += frag) {
		size_t k = hl - off < frag ? hl - off : frag;

		out[n++] = 22;
		out[n++] = 3;
		out[n++] = 1;
		n += put16(out + n, k);
		memcpy(out + n, hs + off, k);
		n += k;
	}
	return n;
}

static int sni_of(const uint8_t *p, size_t len, char *name)
{
	size_t nl = 0;
	int rc = xgw_l4_hello_sni(p, len, name, &nl);

	name[rc == 1 ? nl : 0] = '\0';
	return rc;
}

TEST(hello_whole_and_split)
{
	static const char *const names[] = { "Exact.Example.com", NULL };
	uint8_t body[4096], rec[20000];
	char name[257];
	size_t bl = hello_body(body, names, 0, true), rl;

	rl = records(rec, body, bl, 16384);
	ASSERT_EQ(sni_of(rec, rl, name), 1, "one record");
	ASSERT_STREQ(name, "exact.example.com", "name, lower-cased");
	for (size_t frag = 1; frag < 40; frag += 7) {
		rl = records(rec, body, bl, frag);
		ASSERT_EQ(sni_of(rec, rl, name), 1, "records of a few bytes");
		ASSERT_STREQ(name, "exact.example.com", "name from fragments");
	}
	/* Every prefix is "more bytes needed", never an error or a name. */
	rl = records(rec, body, bl, 50);
	for (size_t k = 0; k < rl; k++)
		if (!ASSERT_EQ(sni_of(rec, k, name), 0, "prefix"))
			break;
}

TEST(hello_without_name)
{
	static const char *const none[] = { NULL };
	uint8_t body[4096], rec[20000];
	char name[257];

	ASSERT_EQ(sni_of(rec, records(rec, body, hello_body(body, NULL, 0, true), 16384), name), 1,
		  "no server_name extension");
	ASSERT_STREQ(name, "", "no name");
	ASSERT_EQ(sni_of(rec, records(rec, body, hello_body(body, NULL, 0, false), 16384), name), 1,
		  "no extensions at all");
	ASSERT_EQ(sni_of(rec, records(rec, body, hello_body(body, none, 0, true), 16384), name), 1,
		  "an empty server name list");
	ASSERT_STREQ(name, "", "still no name");
}

TEST(hello_large_and_oversize)
{
	static const char *const names[] = { "big.test", NULL };
	uint8_t body[20000], rec[24000];
	char name[257];
	size_t bl = hello_body(body, names, 9000, true);

	ASSERT_EQ(sni_of(rec, records(rec, body, bl, 4000), name), 1, "9 kB hello");
	ASSERT_STREQ(name, "big.test", "its name");
	bl = hello_body(body, names, 16500, true);
	ASSERT_EQ(sni_of(rec, records(rec, body, bl, 16384), name), -1, "over 16 KiB refused");
}

TEST(hello_malformed)
{
	static const char *const two[] = { "a.test", "b.test", NULL };
	static const char *const bad[] = { "a b.test", NULL };
	static const char *const colon[] = { "a.test:443", NULL };
	static const char *const names[] = { "ok.test", NULL };
	uint8_t body[4096], rec[20000];
	char name[257];
	size_t bl, rl;

	ASSERT_EQ(sni_of((const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, name), -1, "HTTP");
	ASSERT_EQ(sni_of(rec, records(rec, body, hello_body(body, two, 0, true), 16384), name), -1,
		  "two host names");
	ASSERT_EQ(sni_of(rec, records(rec, body, hello_body(body, bad, 0, true), 16384), name), -1,
		  "a space in the name");
	ASSERT_EQ(sni_of(rec, records(rec, body, hello_body(body, colon, 0, true), 16384), name),
		  -1, "a port in the name");
	bl = hello_body(body, names, 0, true);
	rl = records(rec, body, bl, 16384);
	rec[5] = 2; /* ServerHello */
	ASSERT_EQ(sni_of(rec, rl, name), -1, "not a ClientHello");
	rl = records(rec, body, bl, 16384);
	rec[0] = 23; /* application data */
	ASSERT_EQ(sni_of(rec, rl, name), -1, "not a handshake record");
	rl = records(rec, body, bl, 16384);
	put16(rec + 3, 0);
	ASSERT_EQ(sni_of(rec, rl, name), -1, "empty record");
	/* extensions length one past the body */
	bl = hello_body(body, names, 0, true);
	body[2 + 32 + 1 + 32 + 2 + 4 + 2 + 1] += 1;
	ASSERT_EQ(sni_of(rec, records(rec, body, bl, 16384), name), -1, "extensions overrun");
}

TEST(hello_random_bytes)
{
	static const char *const names[] = { "fuzz.test", NULL };
	uint8_t body[4096], rec[20000], m[20000];
	char name[257];
	size_t rl = records(rec, body, hello_body(body, names, 100, true), 64);
	unsigned int seed = 12345;

	/* Flipped bytes: any answer, but within bounds (ASan/valgrind would tell). */
	for (int i = 0; i < 20000; i++) {
		int rc;

		memcpy(m, rec, rl);
		for (int k = 0; k < 1 + i % 4; k++)
			m[(size_t)rand_r(&seed) % rl] = (uint8_t)rand_r(&seed);
		rc = sni_of(m, rl, name);
		if (!ASSERT_TRUE(rc >= -1 && rc <= 1 && strlen(name) <= 255, "bounded answer"))
			break;
	}
}

TEST(router_udp_and_tcp_listeners_share_a_port)
{
	static const uint8_t a[16] = { 10, 0, 0, 1 };
	struct xgw_snapb *b = xgw_snapb__new(1);
	struct xgw_snapshot snap;
	struct xgw_router *r;
	void *buf;
	size_t len;
	int rule;

	rule = xgw_snapb_rule(b, "ns/r", 0, 0, 0);
	xgw_snapb_listener(b, 4, a, 53, XGW_LPROTO_UDP, "ns/gw/udp");
	xgw_snapb_vhost(b, "", 0);
	xgw_snapb_match(b, (uint32_t)rule, XGW_PATH_PREFIX, "/", 1, NULL);
	xgw_snapb_listener(b, 4, a, 53, XGW_LPROTO_TCP, "ns/gw/tcp");
	xgw_snapb_vhost(b, "", 0);
	xgw_snapb_match(b, (uint32_t)rule, XGW_PATH_PREFIX, "/", 1, NULL);
	if (!ASSERT_OK(xgw_snapb__finish(b, &buf, &len), "finish"))
		return;
	xgw_snapb__free(b);
	if (ASSERT_OK(xgw_snapshot__open(&snap, buf, len), "open")) {
		r = xgw_router__new(&snap, NULL);
		if (ASSERT_OK_PTR(r, "router")) {
			ASSERT_EQ(xgw_router_listener(r, 4, a, 53), 1, "TCP lookup: the TCP one");
			ASSERT_EQ(xgw_router_udp_listener(r, 4, a, 53), 0,
				  "UDP lookup: the UDP one");
			ASSERT_EQ(xgw_router_udp_listener(r, 4, a, 54), XGW_SNAP_NONE,
				  "other port");
			xgw_router__free(r);
		}
	}
	free(buf);
}

TEST(snapshot_tls_listener_may_carry_names)
{
	static const uint8_t a[16] = { 10, 0, 0, 1 };
	uint8_t protos[] = { XGW_LPROTO_TLS, XGW_LPROTO_TCP };

	for (int i = 0; i < 2; i++) {
		struct xgw_snapb *b = xgw_snapb__new(1);
		struct xgw_snapshot snap;
		void *buf;
		size_t len;

		xgw_snapb_listener(b, 4, a, 443, protos[i], "ns/gw/l");
		xgw_snapb_sni(b, "t.test", XGW_CLIENT_VERIFY_NONE, NULL, 0);
		xgw_snapb_cert(b, "ns/s", "C", 1, "K", 1);
		if (!ASSERT_OK(xgw_snapb__finish(b, &buf, &len), "finish"))
			return;
		xgw_snapb__free(b);
		ASSERT_EQ(xgw_snapshot__open(&snap, buf, len), i ? -EINVAL : 0,
			  i ? "TCP listener with names: rejected" : "TLS listener with names");
		free(buf);
	}
}

TEST_MAIN()
