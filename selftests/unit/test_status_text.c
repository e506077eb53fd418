// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw_status_render() against jansson: the same bytes as
 * json_dumps(xgw_status_json(), JSON_COMPACT) for results whose strings need
 * escaping, are not UTF-8, or are missing (jansson then leaves the value out).
 * The status cases (test_status_cases.c) compare the two on every case of the
 * conformance suite; this covers what manifests seldom hold.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "status.h"
#include "test.h"

static bool same(const char *what, const struct xgw_reconcile_result *res, bool programmed)
{
	json_t *tree = xgw_status_json(res, 7, programmed);
	char *want = tree ? json_dumps(tree, JSON_COMPACT) : NULL, *text = NULL;
	size_t len = 0, i = 0;
	bool ok;

	json_decref(tree);
	if (!ASSERT_OK_PTR(want, "jansson") ||
	    !ASSERT_OK(xgw_status_render(res, 7, programmed, NULL, &text, &len), "render")) {
		free(want);
		return false;
	}
	ok = strlen(want) == len && !memcmp(want, text, len);
	if (!ok) {
		while (i < len && want[i] == text[i])
			i++;
		printf("# %s: differs at byte %zu:\n#  want %.80s\n#  got  %.80s\n", what, i,
		       want + i, text + i);
	}
	free(want);
	free(text);
	return ASSERT_TRUE(ok, what);
}

static void cond(struct xgw_conds *cs, const char *type, const char *status, const char *reason,
		 char *msg)
{
	cs->c[cs->n++] = (struct xgw_condition){ .type = type,
						 .status = status,
						 .reason = reason,
						 .message = msg,
						 .observed_generation = 3 };
}

TEST(strings)
{
	static char msg_esc[] = "quote \" backslash \\ slash / nl \n tab \t cr \r bs \b ff \f "
				"bell \a esc \x1b del \x7f é 日本 😀 end";
	static char msg_bad[] = "truncated \xe6\x97";
	static char msg_overlong[] = "overlong \xc0\xaf";
	static char msg_plain[] = "fine";
	struct xgw_listener_status ls[3] = { 0 };
	struct xgw_gateway_status gw[2] = { 0 };
	struct xgw_class_status cl = { .name = "xgw", .ours = true };
	struct xgw_parent_status ps[3] = { 0 };
	struct xgw_route_status rs[3] = { 0 };
	struct xgw_reconcile_result res = { 0 };

	cond(&cl.conds, "Accepted", "True", "Accepted", msg_esc);
	cl.conds.c[0].observed_generation = -9223372036854775807LL - 1;
	cond(&cl.conds, "SupportedVersion", "True", "SupportedVersion", msg_plain);
	cl.conds.c[1].observed_generation = 9223372036854775807LL;
	ls[0] = (struct xgw_listener_status){ .name = "l\"0",
					      .attached_routes = 4,
					      .supported_kinds = { "HTTPRoute", "GRPCRoute" },
					      .n_supported_kinds = 2 };
	cond(&ls[0].conds, "Programmed", "True", "Programmed", msg_plain);
	cond(&ls[0].conds, "Accepted", "True", "Accepted", msg_bad); /* left out */
	ls[1] = (struct xgw_listener_status){ .name = NULL };	     /* left out */
	ls[2] = (struct xgw_listener_status){ .name = "l2",
					      .supported_kinds = { NULL },
					      .n_supported_kinds = 1 };
	gw[0] = (struct xgw_gateway_status){ .ns = "default",
					     .name = "gw",
					     .ours = true,
					     .family = 4,
					     .addr = { 10, 0, 0, 1 },
					     .listeners = ls,
					     .n_listeners = 3 };
	cond(&gw[0].conds, "Programmed", "True", "Programmed", msg_overlong);
	gw[1] = (struct xgw_gateway_status){ .ns = NULL, .name = "\xff", .ours = true };
	ps[0] = (struct xgw_parent_status){
		.kind = "Gateway", .ns = "default", .name = "gw", .section_name = "l\\0", .port = 80
	};
	cond(&ps[0].conds, "Accepted", "False", "NotAllowedByListeners", msg_esc);
	ps[1] = (struct xgw_parent_status){ .kind = "Gateway", .ns = NULL, .name = "gw" };
	ps[2] = (struct xgw_parent_status){
		.kind = "ListenerSet", .ns = "default", .name = "ls", .section_name = msg_bad
	};
	rs[0] = (struct xgw_route_status){
		.ns = "default", .name = "r", .parents = ps, .n_parents = 3
	};
	rs[1] = (struct xgw_route_status){
		.kind = "GRPCRoute", .ns = "a/b", .name = "g", .parents = ps, .n_parents = 1
	};
	rs[2] = (struct xgw_route_status){
		.kind = "TCPRoute", .ns = "x", .name = NULL, .parents = ps, .n_parents = 1
	};
	res.classes = &cl;
	res.n_classes = 1;
	res.gateways = gw;
	res.n_gateways = 2;
	res.routes = rs;
	res.n_routes = 3;
	same("escapes and refusals, programmed", &res, true);
	same("escapes and refusals, pending", &res, false);
}

/*
 * The plain-run scan reads aligned 16-byte blocks: every length up to 33, at
 * every offset from a 16-byte boundary, with each kind of byte that ends a
 * plain run (control, quote, backslash, NUL, UTF-8 lead, a lone continuation
 * byte, bad byte) and the plain bytes at the edges of the class (space, '~',
 * DEL) at every position, rendered as jansson dumps them. The bytes around
 * each string are quotes, so that a scan that looks before the string or past
 * its NUL finds a difference, not a crash.
 */
TEST(scan_positions)
{
	static const char specials[] = { '\x01', '\x1f', '"',	 '\\',	 ' ',
					 '~',	 '\x7f', '\x80', '\xc3', '\xff' };
	enum {
		MAXLEN = 33,
		PER = (MAXLEN + 1) * (MAXLEN + 1) * sizeof(specials)
	};
	struct xgw_parent_status *ps = calloc(PER, sizeof(*ps));
	char *text = aligned_alloc(16, (size_t)PER * 64);
	struct xgw_route_status rs = { .ns = "default", .name = "scan", .parents = ps };
	struct xgw_reconcile_result res = { .routes = &rs, .n_routes = 1 };

	if (!ASSERT_OK_PTR(ps, "calloc") || !ASSERT_OK_PTR(text, "aligned_alloc")) {
		free(ps);
		free(text);
		return;
	}
	for (size_t off = 0; off < 16; off++) {
		size_t n = 0;

		memset(ps, 0, PER * sizeof(*ps));
		memset(text, '"', (size_t)PER * 64);
		for (size_t len = 0; len <= MAXLEN; len++) {
			for (size_t pos = 0; pos <= len; pos++) {
				for (size_t k = 0; k < sizeof(specials); k++, n++) {
					char *m = text + n * 64 + off;

					for (size_t i = 0; i < len; i++)
						m[i] = (char)('a' + i % 26);
					m[len] = '\0';
					if (pos < len) {
						m[pos] = specials[k];
						/* a UTF-8 lead byte with its continuation: valid */
						if (specials[k] == '\xc3' && pos + 1 < len)
							m[pos + 1] = '\xa9';
					}
					ps[n].kind = "Gateway";
					ps[n].ns = "default"; /* else the entry is left out */
					ps[n].name = "gw";
					cond(&ps[n].conds, "Accepted", "True", "Accepted", m);
				}
			}
		}
		rs.n_parents = n;
		char what[64], *out = NULL;
		size_t len = 0;

		snprintf(what, sizeof(what), "strings at offset %zu", off);
		same(what, &res, true);
		/* every entry is in the document: about 90 bytes each and its message */
		if (!xgw_status_render(&res, 7, true, NULL, &out, &len))
			ASSERT_TRUE(len > n * 90, "every parent rendered");
		free(out);
	}
	free(ps);
	free(text);
}

/*
 * Strings whose NUL is the last byte before an unmapped page, and strings
 * that start a page: the scan must not read across into the next page
 * (an unaligned 16-byte load would, and fault).
 */
TEST(scan_page_edges)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct xgw_parent_status ps[35] = { 0 };
	struct xgw_route_status rs = { .ns = "default", .name = "edge", .parents = ps };
	struct xgw_reconcile_result res = { .routes = &rs, .n_routes = 1 };

	if (!ASSERT_TRUE(map != MAP_FAILED, "mmap") ||
	    !ASSERT_OK(mprotect(map + page, (size_t)page, PROT_NONE), "mprotect"))
		return;
	memset(map, '"', (size_t)page);
	for (size_t len = 0; len <= 33; len++) {
		/* this string ends on the page's last byte; the one before it starts the page */
		char *end = map + page - 1 - len;

		for (size_t i = 0; i < len; i++)
			end[i] = (char)('a' + i % 26);
		end[len] = '\0';
		ps[len].kind = "Gateway";
		ps[len].ns = "default";
		ps[len].name = "gw";
		cond(&ps[len].conds, "Accepted", "True", "Accepted", end);
	}
	/* at the page's start: the scan's first block is the page's first */
	memcpy(map, "start of the page, plain", 25);
	ps[34] = (struct xgw_parent_status){ .kind = "Gateway", .ns = "default", .name = "gw" };
	cond(&ps[34].conds, "Accepted", "True", "Accepted", map);
	rs.n_parents = 35;
	same("strings at the end and the start of a page", &res, true);
	munmap(map, (size_t)page * 2);
}

TEST(empty)
{
	struct xgw_reconcile_result res = { 0 };

	same("empty result", &res, true);
}

TEST_MAIN()
