// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * HTTP/1.1 heads and chunked framing (RFC 9112), see http1.h for the contract.
 *
 * Choices the RFC leaves open, made on the side that closes smuggling gaps:
 *  - One empty line (CRLF) before the request line is skipped (RFC 9112 2.2
 *    robustness rule); a second one, or a bare LF, is a 400. The skipped CRLF
 *    counts in the returned head length, so the caller consumes it.
 *  - Only "HTTP/1.0" and "HTTP/1.1" are spoken; any other well-formed
 *    HTTP-version (HTTP/2.0, HTTP/1.2, HTTP/0.9) is -505, a malformed one 400.
 *  - Content-Length: repeated lines or a "5, 5" list with all members equal
 *    are one value (RFC 9110 8.6 lets a recipient do so); members that differ,
 *    are empty or not 1*DIGIT, or a value above INT64_MAX are 400. A proxy
 *    should send the normalised value upstream rather than the raw lines.
 *  - Transfer-Encoding in a request: a single header line whose list is
 *    made of gzip, x-gzip, deflate, compress, x-compress and ends with exactly
 *    one "chunked". Unknown codings are 501; chunked missing, repeated or not
 *    last, parameters, empty list members, or a second Transfer-Encoding line
 *    are 400 (lenient recipients disagree on those, which is what smuggling
 *    feeds on). Transfer-Encoding with Content-Length, or in HTTP/1.0, is 400.
 *  - Host: required in HTTP/1.1, at most one line, and must be a uri-host
 *    with an optional port (no userinfo); otherwise 400. An absolute-form
 *    target (http or https only) supplies the host instead; its userinfo is
 *    400. An absolute-form target with an empty path gets the path "/", which
 *    is a static string and the only view that does not point into the buffer.
 *  - The request-target may not contain CTLs, SP or '#' (a fragment is not
 *    part of request-target); bytes 0x80-0xFF are let through for the router.
 *    "*" is only accepted with OPTIONS. CONNECT is 501: the gateway does not
 *    tunnel.
 *  - Responses: the SP after the status code may be missing when the reason
 *    is empty ("HTTP/1.1 200\r\n", as servers send). Content-Length together
 *    with Transfer-Encoding, or Transfer-Encoding in HTTP/1.0, is 502 rather
 *    than "Transfer-Encoding wins" (RFC 9112 6.3 calls it a likely attack).
 *    XGW_H1_MAX_HEAD and XGW_H1_MAX_HEADERS bound responses too.
 *  - Chunked bodies: BWS is accepted only before a ';' chunk extension;
 *    extensions are skipped (no CTL but HTAB); trailer fields follow the
 *    header grammar and, all together, are bounded by XGW_H1_MAX_HEAD.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "http1.h"

#define CL_MAX ((uint64_t)INT64_MAX)
#define CHUNK_LINE_MAX 4096
#define CHUNK_SIZE_MAX (1ULL << 62)

/* clang-format off */
/* tchar (RFC 9110 5.6.2): header names, methods, list tokens. */
static const uint8_t tchar[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
	['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
};

/* field-vchar, SP, HTAB and obs-text: field values, reason phrases, chunk-ext. */
static const uint8_t vchar[256] = {
	['\t'] = 1, [' ' ... '~'] = 1, [0x80 ... 0xff] = 1,
};

/* Bytes allowed in a request-target: no CTL, no SP. */
static const uint8_t tgtchar[256] = {
	['!' ... '~'] = 1, [0x80 ... 0xff] = 1,
};

/* reg-name / IPv4address of uri-host (RFC 3986): unreserved, sub-delims, '%'. */
static const uint8_t regname[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['!'] = 1, ['$'] = 1, ['&'] = 1, ['\''] = 1,
	['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, [';'] = 1, ['='] = 1, ['%'] = 1,
};

/* Hex digit value + 1, 0 for anything else. */
static const uint8_t hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};
/* clang-format on */

#define U8(c) ((uint8_t)(c))

static inline bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* True when a byte of <x> is below <n> (n <= 128); bytes >= 0x80 never match. */
static inline bool word_has_less(uint64_t x, uint8_t n)
{
	return (x - ONES * n) & ~x & HIGHS;
}

static inline bool word_has_del(uint64_t x)
{
	x ^= ONES * 0x7f;
	return (x - ONES) & ~x & HIGHS;
}

/*
 * Skip bytes of <tab> in [<p>, <e>). Values and targets are long runs of
 * printable bytes, so eight are checked at a time for a CTL (below <lo>) or
 * DEL; a word holding one is walked byte by byte against the table. This is
 * the portable scan, and the SIMD scans' tail (under 16 bytes).
 */
static inline const char *scan_run(const char *p, const char *e, const uint8_t *tab, uint8_t lo)
{
	for (;;) {
		const char *stop;

		while (e - p >= 8) {
			uint64_t x;

			memcpy(&x, p, 8);
			if (word_has_less(x, lo) || word_has_del(x))
				break;
			p += 8;
		}
		stop = e - p > 8 ? p + 8 : e;
		while (p < stop && tab[U8(*p)])
			p++;
		if (p < stop || p == e)
			return p;
	}
}

/*
 * The scans of names, values and request-targets, 16 bytes at a time where
 * the compiler may use SSE4.2 (PCMPESTRI with byte ranges, as
 * picohttpparser) or SSE2 (compares and a movemask), else the portable ones.
 * Each returns the first byte of [<p>, <e>) outside its class (<e> if none),
 * exactly as the tables tchar, vchar and tgtchar say: a SIMD test that also
 * stops on some bytes of the class (SSE4.2 names: '|', '~') hands the byte to
 * the table. XGW_H1_SCALAR forces the portable scans (tests, fuzzing).
 */
#if defined(__SSE4_2__) && !defined(XGW_H1_SCALAR)
#include <nmmintrin.h>
#define SCAN_SIMD "sse4.2"

/*
 * Advance *<pp> to the first byte in one of the <n> / 2 ranges (pairs of
 * bounds) of <ranges> and return true; false when fewer than 16 bytes are
 * left before <e> without one (*<pp> is where the portable scan goes on).
 */
static inline bool find_ranges(const char **pp, const char *e, const char *ranges, int n)
{
	__m128i r = _mm_loadu_si128((const __m128i *)ranges);
	const char *p = *pp;

	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		int i = _mm_cmpestri(r, n, v, 16,
				     _SIDD_UBYTE_OPS | _SIDD_CMP_RANGES | _SIDD_LEAST_SIGNIFICANT);

		if (i != 16) {
			*pp = p + i;
			return true;
		}
		p += 16;
	}
	*pp = p;
	return false;
}

static inline const char *scan_value(const char *p, const char *e)
{
	static const char ranges[16] = "\x00\x08\x0a\x1f\x7f\x7f";

	return find_ranges(&p, e, ranges, 6) ? p : scan_run(p, e, vchar, 0x20);
}

static inline const char *scan_target(const char *p, const char *e)
{
	static const char ranges[16] = "\x00\x20\x7f\x7f";

	return find_ranges(&p, e, ranges, 4) ? p : scan_run(p, e, tgtchar, 0x21);
}

static inline const char *scan_name(const char *p, const char *e)
{
	/* Not tchar, but for '|' and '~' within "{".."\xff". */
	static const char ranges[16] = "\x00\x20\"\"(),,//:@[]{\xff";

	while (find_ranges(&p, e, ranges, 16)) {
		if (!tchar[U8(*p)])
			return p;
		p++;
	}
	while (p < e && tchar[U8(*p)])
		p++;
	return p;
}

#elif defined(__SSE2__) && !defined(XGW_H1_SCALAR)
#include <emmintrin.h>
#define SCAN_SIMD "sse2"

/* Bytes of <v> that are (unsigned) at most <max>. */
static inline __m128i bytes_le(__m128i v, uint8_t max)
{
	return _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8((char)max)), v);
}

/* Bytes of <v> in [<lo>, <lo> + <n>), n < 128: a signed compare after a shift. */
static inline __m128i bytes_in(__m128i v, uint8_t lo, uint8_t n)
{
	__m128i t = _mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - lo)));

	return _mm_cmplt_epi8(t, _mm_set1_epi8((char)(0x80 + n)));
}

/* Value bytes: CTLs but HTAB, and DEL, end a run. */
static inline const char *scan_value(const char *p, const char *e)
{
	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		__m128i bad =
			_mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), bytes_le(v, 0x1f));
		unsigned m;

		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
		m = (unsigned)_mm_movemask_epi8(bad);
		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
	return scan_run(p, e, vchar, 0x20);
}

/* Target bytes: CTLs, SP and DEL end a run. */
static inline const char *scan_target(const char *p, const char *e)
{
	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_or_si128(bytes_le(v, 0x20), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))));

		if (m)
			return p + __builtin_ctz(m);
		p += 16;
	}
	return scan_run(p, e, tgtchar, 0x21);
}

/*
 * Name bytes: letters, digits and '-' are checked 16 at a time; any other
 * byte goes to the table, and the scan goes on after it if it is a tchar.
 */
static inline const char *scan_name(const char *p, const char *e)
{
	while (e - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		__m128i ok = bytes_in(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 26);
		unsigned m;

		ok = _mm_or_si128(ok, bytes_in(v, '0', 10));
		ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
		m = ~(unsigned)_mm_movemask_epi8(ok) & 0xffff;
		if (!m) {
			p += 16;
			continue;
		}
		p += __builtin_ctz(m);
		if (!tchar[U8(*p)])
			return p;
		p++;
	}
	while (p < e && tchar[U8(*p)])
		p++;
	return p;
}

#else
#define SCAN_SIMD "none"

static inline const char *scan_value(const char *p, const char *e)
{
	return scan_run(p, e, vchar, 0x20);
}

static inline const char *scan_target(const char *p, const char *e)
{
	return scan_run(p, e, tgtchar, 0x21);
}

static inline const char *scan_name(const char *p, const char *e)
{
	while (p < e && tchar[U8(*p)])
		p++;
	return p;
}
#endif

const char *xgw_h1_simd(void)
{
	return SCAN_SIMD;
}

/*
 * <p>[0, <n>) against the lower-case literal <lit> of letters and '-', a
 * word at a time. <p> holds bytes of a name or a field value (no CTL but
 * HTAB): of those, OR 0x20 maps only a letter's two cases onto the letter,
 * and only '-' onto '-' (CR would, and cannot be there). <n> is a constant
 * where this is inlined, so the loads of <lit> fold into immediates; it is 2
 * or more.
 */
static inline bool lc_eq(const char *p, const char *lit, size_t n)
{
	uint64_t a, b;
	uint32_t a4, b4;
	uint16_t a2, b2;
	size_t i;

	if (n >= 8) {
		for (i = 0; i + 8 <= n; i += 8) {
			memcpy(&a, p + i, 8);
			memcpy(&b, lit + i, 8);
			if ((a | ONES * 0x20) != b)
				return false;
		}
		if (i == n)
			return true;
		memcpy(&a, p + n - 8, 8);
		memcpy(&b, lit + n - 8, 8);
		return (a | ONES * 0x20) == b;
	}
	if (n >= 4) {
		memcpy(&a4, p, 4);
		memcpy(&b4, lit, 4);
		if ((a4 | 0x20202020u) != b4)
			return false;
		memcpy(&a4, p + n - 4, 4);
		memcpy(&b4, lit + n - 4, 4);
		return (a4 | 0x20202020u) == b4;
	}
	memcpy(&a2, p, 2);
	memcpy(&b2, lit, 2);
	return n == 2 && (a2 | 0x2020u) == b2;
}

#define IS(name, lit) lc_eq((name), (lit), sizeof(lit) - 1)

unsigned xgw_h1_header_id(const char *n, size_t len)
{
	switch (len) {
	case 2:
		return IS(n, "te") ? XGW_H1_HDR_TE : 0;
	case 4:
		return IS(n, "host") ? XGW_H1_HDR_HOST : 0;
	case 6:
		if (IS(n, "expect"))
			return XGW_H1_HDR_EXPECT;
		if (IS(n, "cookie"))
			return XGW_H1_HDR_COOKIE;
		return IS(n, "origin") ? XGW_H1_HDR_ORIGIN : 0;
	case 7:
		return IS(n, "upgrade") ? XGW_H1_HDR_UPGRADE : 0;
	case 9:
		return IS(n, "forwarded") ? XGW_H1_HDR_FORWARDED : 0;
	case 10:
		if (IS(n, "connection"))
			return XGW_H1_HDR_CONNECTION;
		return IS(n, "keep-alive") ? XGW_H1_HDR_KEEP_ALIVE : 0;
	case 12:
		return IS(n, "content-type") ? XGW_H1_HDR_CONTENT_TYPE : 0;
	case 14:
		return IS(n, "content-length") ? XGW_H1_HDR_CONTENT_LENGTH : 0;
	case 15:
		return IS(n, "x-forwarded-for") ? XGW_H1_HDR_X_FORWARDED_FOR : 0;
	case 16:
		if (IS(n, "proxy-connection"))
			return XGW_H1_HDR_PROXY_CONNECTION;
		return IS(n, "x-forwarded-host") ? XGW_H1_HDR_X_FORWARDED_HOST : 0;
	case 17:
		if (IS(n, "transfer-encoding"))
			return XGW_H1_HDR_TRANSFER_ENCODING;
		return IS(n, "x-forwarded-proto") ? XGW_H1_HDR_X_FORWARDED_PROTO : 0;
	case 29:
		return IS(n, "access-control-request-method") ? XGW_H1_HDR_ACR_METHOD : 0;
	case 30:
		return IS(n, "access-control-request-headers") ? XGW_H1_HDR_ACR_HEADERS : 0;
	default:
		return 0;
	}
}

bool xgw_h1_is_token(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!tchar[U8(s[i])])
			return false;
	return true;
}

bool xgw_h1_name_eq(const char *name, size_t len, const char *lower_s)
{
	for (size_t i = 0; i < len; i++) {
		if (!lower_s[i] || lower(name[i]) != lower_s[i])
			return false;
	}
	return lower_s[len] == '\0';
}

/*
 * Check "HTTP/" DIGIT "." DIGIT against the <avail> bytes at <p>. Returns 1
 * with *<minor> for 1.0/1.1, 0 when the bytes so far fit but are too few,
 * -400 for a malformed version and -505 for a well-formed one we do not speak.
 */
static int parse_version(const char *p, size_t avail, int *minor)
{
	static const char pat[] = "HTTP/0.0";

	if (avail >= 8) {
		uint64_t x, v10, v11;

		memcpy(&x, p, 8);
		memcpy(&v10, "HTTP/1.0", 8);
		memcpy(&v11, "HTTP/1.1", 8);
		if (x == v11 || x == v10) {
			*minor = p[7] - '0';
			return 1;
		}
	}
	for (size_t i = 0; i < 8; i++) {
		if (i == avail)
			return 0;
		if (pat[i] == '0' ? !is_digit(p[i]) : p[i] != pat[i])
			return -400;
	}
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return -505;
	*minor = p[7] - '0';
	return 1;
}

/* Expect CRLF at <p>: 1 when there, 0 when more bytes are needed, -400 otherwise. */
static inline int expect_crlf(const char *p, const char *e)
{
	if (p == e)
		return 0;
	if (*p != '\r')
		return -400;
	if (e - p < 2)
		return 0;
	return p[1] == '\n' ? 1 : -400;
}

/* Next member of a comma-separated list, OWS trimmed; empty members are returned too. */
static bool list_next(const char **pp, const char *e, const char **tok, size_t *tok_len)
{
	const char *p = *pp, *t, *te;

	if (!p)
		return false;
	t = p;
	while (p < e && *p != ',')
		p++;
	te = p;
	*pp = p < e ? p + 1 : NULL;
	while (t < te && is_ows(*t))
		t++;
	while (te > t && is_ows(te[-1]))
		te--;
	*tok = t;
	*tok_len = (size_t)(te - t);
	return true;
}

/* uri-host [ ":" port ] with IP-literal, reg-name or IPv4 host; no userinfo. */
static bool valid_host(const char *p, size_t n)
{
	const char *e = p + n, *q = p;
	unsigned port = 0, digits = 0;

	if (!n)
		return false;
	if (*q == '[') {
		q++;
		while (q < e && (hexval[U8(*q)] || *q == ':' || *q == '.'))
			q++;
		if (q == e || *q != ']' || q == p + 1)
			return false;
		q++;
	} else {
		while (q < e && regname[U8(*q)])
			q++;
		if (q == p)
			return false;
	}
	if (q == e)
		return true;
	if (*q++ != ':')
		return false;
	for (; q < e; q++, digits++) {
		if (!is_digit(*q) || digits == 5)
			return false;
		port = port * 10 + (unsigned)(*q - '0');
	}
	return port <= 65535;
}

/* Content-Length: a list of equal 1*DIGIT members. Returns 0 or -1. */
static int parse_cl(const char *v, size_t n, uint64_t *out)
{
	const char *p = v, *tok;
	size_t tok_len;
	bool first = true;
	uint64_t val = 0;
	size_t k;

	/* Mostly a single number of a few digits: no list to split, no overflow to fear. */
	for (k = 0; k < n && k < 18 && is_digit(v[k]); k++)
		val = val * 10 + (uint64_t)(v[k] - '0');
	if (n && k == n) {
		*out = val;
		return 0;
	}
	val = 0;
	while (list_next(&p, v + n, &tok, &tok_len)) {
		uint64_t x = 0;

		if (!tok_len)
			return -1;
		for (size_t i = 0; i < tok_len; i++) {
			unsigned d = (unsigned)(tok[i] - '0');

			if (d > 9 || x > (CL_MAX - d) / 10)
				return -1;
			x = x * 10 + d;
		}
		if (!first && x != val)
			return -1;
		val = x;
		first = false;
	}
	*out = val;
	return 0;
}

/* What the header lines said about framing and the connection. */
struct head_info {
	bool request;
	int minor;
	unsigned n_host;
	const char *host;
	size_t host_len;
	bool cl_seen;
	uint64_t cl;
	unsigned n_te;	      /* Transfer-Encoding lines */
	unsigned te_chunked;  /* "chunked" members over all lines */
	bool te_last_chunked; /* the last member so far is "chunked" */
	bool conn_close;
	bool conn_keep_alive;
	bool conn_upgrade;
	bool upgrade;
	bool expect_continue;
	uint32_t ids; /* XGW_H1_HDR_BIT() of every header's id */
};

static bool known_coding(const char *t, size_t n)
{
	static const char *const codings[] = { "gzip", "x-gzip", "deflate", "compress",
					       "x-compress" };

	for (size_t i = 0; i < sizeof(codings) / sizeof(codings[0]); i++)
		if (xgw_h1_name_eq(t, n, codings[i]))
			return true;
	return false;
}

/*
 * Transfer-Encoding line. Requests get the strict rules of the file comment;
 * responses accept any coding and only need to know whether chunked is last.
 */
static int on_te(struct head_info *hi, const char *v, size_t n)
{
	const char *p = v, *tok;
	size_t tok_len;

	if (hi->request && (hi->minor == 0 || hi->n_te))
		return -400;
	hi->n_te++;
	while (list_next(&p, v + n, &tok, &tok_len)) {
		bool chunked = xgw_h1_name_eq(tok, tok_len, "chunked");

		if (!tok_len)
			return -400;
		for (size_t i = 0; i < tok_len; i++)
			if (!tchar[U8(tok[i])])
				return -400;
		if (hi->te_last_chunked || (chunked && hi->te_chunked)) {
			/* chunked applied twice, or a coding after it */
			if (hi->request || chunked)
				return -400;
		}
		if (!chunked && hi->request && !known_coding(tok, tok_len))
			return -501;
		hi->te_chunked += chunked;
		hi->te_last_chunked = chunked;
	}
	if (hi->request && !hi->te_last_chunked)
		return -400;
	return 0;
}

static void on_connection(struct head_info *hi, const char *v, size_t n)
{
	const char *p = v, *tok;
	size_t tok_len;

	/* Mostly a single token, as a server's "keep-alive" or a client's "close". */
	if (n == 10 && IS(v, "keep-alive")) {
		hi->conn_keep_alive = true;
		return;
	}
	if (n == 5 && IS(v, "close")) {
		hi->conn_close = true;
		return;
	}
	while (list_next(&p, v + n, &tok, &tok_len)) {
		if (tok_len == 5 && IS(tok, "close"))
			hi->conn_close = true;
		else if (tok_len == 10 && IS(tok, "keep-alive"))
			hi->conn_keep_alive = true;
		else if (tok_len == 7 && IS(tok, "upgrade"))
			hi->conn_upgrade = true;
	}
}

/* Act on the header fields that frame the message; returns 0 or -status. */
static int on_header(struct head_info *hi, const struct xgw_h1_header *h)
{
	const char *v = h->value;
	size_t vl = h->value_len;

	switch (h->id) {
	case XGW_H1_HDR_HOST:
		if (hi->request) {
			if (hi->n_host++ || !valid_host(v, vl))
				return -400;
			hi->host = v;
			hi->host_len = vl;
		}
		break;
	case XGW_H1_HDR_EXPECT:
		if (xgw_h1_name_eq(v, vl, "100-continue"))
			hi->expect_continue = true;
		break;
	case XGW_H1_HDR_UPGRADE:
		if (vl)
			hi->upgrade = true;
		break;
	case XGW_H1_HDR_CONNECTION:
		on_connection(hi, v, vl);
		break;
	case XGW_H1_HDR_CONTENT_LENGTH: {
		uint64_t cl;

		if (parse_cl(v, vl, &cl) || (hi->cl_seen && cl != hi->cl))
			return -400;
		if (hi->request && hi->n_te)
			return -400;
		hi->cl_seen = true;
		hi->cl = cl;
		break;
	}
	case XGW_H1_HDR_TRANSFER_ENCODING: {
		int err = on_te(hi, v, vl);

		if (err)
			return err;
		if (hi->request && hi->cl_seen)
			return -400;
		break;
	}
	default:
		break;
	}
	return 0;
}

/*
 * Header lines from <p> up to and including the empty line, within <e>.
 * Returns 1 with *<endp> past the empty line, 0 when <e> came first, or
 * -400 / -431 (the response parser turns every error into -502).
 */
static int parse_headers(const char *p, const char *e, struct xgw_h1_header *hdrs, size_t *n_hdrs,
			 struct head_info *hi, const char **endp)
{
	uint32_t ids = 0; /* kept here, not in *hi, while the lines are stored */
	size_t n = 0;
	int rc;

	for (;; n++) {
		const char *name = p, *value, *vend;
		struct xgw_h1_header *h;

		*n_hdrs = n;
		if (p == e)
			return 0;
		if (*p == '\r') {
			rc = expect_crlf(p, e);
			if (rc == 1) {
				*endp = p + 2;
				hi->ids = ids;
			}
			return rc;
		}
		if (n == XGW_H1_MAX_HEADERS)
			return -431;
		h = &hdrs[n];
		/* An empty name catches obs-fold, whitespace after the start line and bare LF. */
		p = scan_name(p, e);
		if (p == e)
			return 0;
		if (*p != ':' || p == name)
			return -400;
		h->name = name;
		h->name_len = (size_t)(p - name);
		h->id = xgw_h1_header_id(name, h->name_len);
		ids |= XGW_H1_HDR_BIT(h->id);
		p++;
		while (p < e && is_ows(*p))
			p++;
		value = p;
		p = scan_value(p, e);
		rc = expect_crlf(p, e);
		if (rc <= 0)
			return rc;
		vend = p;
		while (vend > value && is_ows(vend[-1]))
			vend--;
		p += 2;
		h->value = value;
		h->value_len = (size_t)(vend - value);
		if (h->id) {
			rc = on_header(hi, h);
			if (rc)
				return rc;
		}
	}
}

static const char slash[] = "/";

/* Split an absolute-form target into host, path and query. Returns 0 or -400. */
static int parse_absolute(struct xgw_h1_request *req)
{
	const char *t = req->target, *e = t + req->target_len, *p, *auth, *q;
	size_t n = req->target_len;

	if (n > 7 && xgw_h1_name_eq(t, 7, "http://"))
		p = t + 7;
	else if (n > 8 && xgw_h1_name_eq(t, 8, "https://"))
		p = t + 8;
	else
		return -400;
	auth = p;
	while (p < e && *p != '/' && *p != '?')
		p++;
	if (!valid_host(auth, (size_t)(p - auth)))
		return -400;
	req->host = auth;
	req->host_len = (size_t)(p - auth);
	q = memchr(p, '?', (size_t)(e - p));
	if (p == e || p == q) {
		req->path = slash;
		req->path_len = 1;
	} else {
		req->path = p;
		req->path_len = (size_t)((q ? q : e) - p);
	}
	if (q) {
		req->query = q + 1;
		req->query_len = (size_t)(e - q - 1);
	}
	return 0;
}

/* Classify the target once the request line is whole. Returns 0 or -status. */
static int parse_target(struct xgw_h1_request *req)
{
	const char *t = req->target, *q;
	size_t n = req->target_len;

	if (memchr(t, '#', n))
		return -400;
	if (req->method_len == 7 && !memcmp(req->method, "CONNECT", 7))
		return -501;
	if (t[0] == '/') {
		q = memchr(t, '?', n);
		req->path = t;
		req->path_len = q ? (size_t)(q - t) : n;
		if (q) {
			req->query = q + 1;
			req->query_len = n - req->path_len - 1;
		}
		return 0;
	}
	if (n == 1 && t[0] == '*') {
		if (req->method_len != 7 || memcmp(req->method, "OPTIONS", 7))
			return -400;
		req->path = t;
		req->path_len = 1;
		return 0;
	}
	return parse_absolute(req);
}

static void init_request(struct xgw_h1_request *req)
{
	/* The header array is filled as parsed; clearing 3 KiB per call is wasted work. */
	req->method = req->target = req->path = req->query = req->host = NULL;
	req->method_len = req->target_len = req->path_len = req->query_len = req->host_len = 0;
	req->minor_version = 0;
	req->n_headers = 0;
	req->hdr_ids = 0;
	req->body = XGW_H1_BODY_NONE;
	req->content_length = 0;
	req->keep_alive = req->expect_continue = req->upgrade = false;
}

/*
 * The request line in [<p>, <le>). Returns 1 with *<next> after its CRLF,
 * 0 when <le> came first, or -status.
 */
static int parse_request_line(const char *p, const char *le, struct xgw_h1_request *req,
			      const char **next)
{
	int rc;

	req->method = p;
	while (p < le && tchar[U8(*p)])
		p++;
	if (p == le)
		return 0;
	if (*p != ' ' || p == req->method)
		return -400;
	req->method_len = (size_t)(p - req->method);
	req->target = ++p;
	p = scan_target(p, le);
	if (p == le)
		return 0;
	if (*p != ' ' || p == req->target)
		return -400;
	req->target_len = (size_t)(p - req->target);
	p++;
	rc = parse_version(p, (size_t)(le - p), &req->minor_version);
	if (rc <= 0)
		return rc;
	p += 8;
	rc = expect_crlf(p, le);
	if (rc <= 0)
		return rc;
	*next = p + 2;
	return 1;
}

int xgw_h1_parse_request(const char *buf, size_t len, struct xgw_h1_request *req)
{
	const char *end = buf + (len < XGW_H1_MAX_HEAD ? len : XGW_H1_MAX_HEAD);
	const char *p = buf, *line, *le, *head_end;
	struct head_info hi = { .request = true };
	int rc;

	init_request(req);
	if (p < end && *p == '\r') {
		rc = expect_crlf(p, end);
		if (rc <= 0)
			return rc;
		p += 2;
	}
	/* A line that has not ended within the limit plus CRLF is too long. */
	line = p;
	le = end - line > XGW_H1_MAX_REQUEST_LINE + 2 ? line + XGW_H1_MAX_REQUEST_LINE + 2 : end;
	rc = parse_request_line(line, le, req, &p);
	if (rc == 0 && le - line == XGW_H1_MAX_REQUEST_LINE + 2)
		return -414;
	if (rc <= 0)
		return rc;
	rc = parse_target(req);
	if (rc)
		return rc;

	hi.minor = req->minor_version;
	rc = parse_headers(p, end, req->headers, &req->n_headers, &hi, &head_end);
	if (rc == 0 && len >= XGW_H1_MAX_HEAD)
		return -431;
	if (rc <= 0)
		return rc;

	if (hi.minor == 1 && !hi.n_host)
		return -400;
	req->hdr_ids = hi.ids;
	if (!req->host) {
		req->host = hi.host;
		req->host_len = hi.host_len;
	}
	if (hi.n_te) {
		req->body = XGW_H1_BODY_CHUNKED;
	} else if (hi.cl_seen) {
		req->body = XGW_H1_BODY_LENGTH;
		req->content_length = hi.cl;
	}
	req->keep_alive = !hi.conn_close && (hi.minor == 1 || hi.conn_keep_alive);
	/* RFC 9110 10.1.1 and 7.8: HTTP/1.0 requests' Expect and Upgrade are ignored. */
	req->expect_continue = hi.minor == 1 && hi.expect_continue;
	req->upgrade = hi.minor == 1 && hi.conn_upgrade && hi.upgrade;
	return (int)(head_end - buf);
}

/* The status line in [<p>, <e>): 1 with *<next>, 0 for more, -502. */
static int parse_status_line(const char *p, const char *e, struct xgw_h1_response *resp,
			     const char **next)
{
	int rc = parse_version(p, (size_t)(e - p), &resp->minor_version);

	if (rc <= 0)
		return rc ? -502 : 0;
	p += 8;
	for (int i = 0; i < 4; i++, p++) {
		if (p == e)
			return 0;
		if (i == 0 ? *p != ' ' : !is_digit(*p))
			return -502;
		if (i)
			resp->status = resp->status * 10 + (*p - '0');
	}
	if (resp->status < 100)
		return -502;
	if (p == e)
		return 0;
	resp->reason = p;
	if (*p == ' ') {
		resp->reason = ++p;
		p = scan_value(p, e);
	}
	resp->reason_len = (size_t)(p - resp->reason);
	rc = expect_crlf(p, e);
	if (rc <= 0)
		return rc ? -502 : 0;
	*next = p + 2;
	return 1;
}

int xgw_h1_parse_response(const char *buf, size_t len, bool head_request,
			  struct xgw_h1_response *resp)
{
	const char *end = buf + (len < XGW_H1_MAX_HEAD ? len : XGW_H1_MAX_HEAD);
	const char *p = buf, *head_end;
	struct head_info hi = { .request = false };
	int rc, st;

	resp->status = 0;
	resp->reason = NULL;
	resp->reason_len = 0;
	resp->minor_version = 0;
	resp->n_headers = 0;
	resp->hdr_ids = 0;
	resp->body = XGW_H1_BODY_NONE;
	resp->content_length = 0;
	resp->keep_alive = false;

	rc = parse_status_line(p, end, resp, &p);
	if (rc == 1) {
		hi.minor = resp->minor_version;
		rc = parse_headers(p, end, resp->headers, &resp->n_headers, &hi, &head_end);
	}
	if (rc == 0)
		return len >= XGW_H1_MAX_HEAD ? -502 : 0;
	if (rc < 0)
		return -502;
	if (hi.n_te && (hi.cl_seen || hi.minor == 0))
		return -502;

	st = resp->status;
	resp->hdr_ids = hi.ids;
	resp->content_length = hi.cl;
	resp->keep_alive = !hi.conn_close && (hi.minor == 1 || hi.conn_keep_alive);
	if (head_request || st < 200 || st == 204 || st == 304)
		resp->body = XGW_H1_BODY_NONE;
	else if (hi.te_last_chunked)
		resp->body = XGW_H1_BODY_CHUNKED;
	else if (hi.cl_seen && !hi.n_te)
		resp->body = XGW_H1_BODY_LENGTH;
	else
		resp->body = XGW_H1_BODY_EOF;
	if (resp->body == XGW_H1_BODY_EOF)
		resp->keep_alive = false;
	return (int)(head_end - buf);
}

enum {
	CH_SIZE_FIRST = 0, /* zero-initialised state: the first hex digit of a size */
	CH_SIZE,
	CH_BWS, /* SP/HTAB after the size, only before ';' */
	CH_EXT,
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER, /* start of a trailer line, or the final CRLF */
	CH_TNAME,
	CH_TVALUE,
	CH_TLF,
	CH_FINAL_LF,
	CH_DONE,
	CH_ERROR,
};

/*
 * In the trailer states <remaining> counts the trailer section's bytes: no
 * data is pending there, and this bounds an otherwise endless trailer.
 */
int xgw_h1_chunked_scan(struct xgw_h1_chunked *c, const char *buf, size_t len, size_t *consumed)
{
	size_t i = 0;

	if (c->state == CH_DONE || c->state == CH_ERROR) {
		*consumed = 0;
		return c->state == CH_DONE ? 1 : -1;
	}
	while (i < len) {
		char ch = buf[i];
		unsigned hv;

		if (c->state == CH_DATA) {
			size_t n = len - i;

			if (n > c->remaining)
				n = (size_t)c->remaining;
			i += n;
			c->remaining -= n;
			if (!c->remaining)
				c->state = CH_DATA_CR;
			continue;
		}
		if (c->state >= CH_TRAILER && ++c->remaining > XGW_H1_MAX_HEAD)
			goto bad;
		if (ch != '\r' && ch != '\n' && ++c->line_len > CHUNK_LINE_MAX)
			goto bad;
		switch (c->state) {
		case CH_SIZE_FIRST:
			hv = hexval[U8(ch)];
			if (!hv)
				goto bad;
			c->remaining = hv - 1;
			c->state = CH_SIZE;
			break;
		case CH_SIZE:
			hv = hexval[U8(ch)];
			if (hv) {
				if (c->remaining > CHUNK_SIZE_MAX >> 4)
					goto bad;
				c->remaining = c->remaining * 16 + hv - 1;
				if (c->remaining > CHUNK_SIZE_MAX)
					goto bad;
			} else if (ch == ';') {
				c->state = CH_EXT;
			} else if (is_ows(ch)) {
				c->state = CH_BWS;
			} else if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else {
				goto bad;
			}
			break;
		case CH_BWS:
			if (ch == ';')
				c->state = CH_EXT;
			else if (!is_ows(ch))
				goto bad;
			break;
		case CH_EXT:
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (!vchar[U8(ch)])
				goto bad;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				goto bad;
			c->line_len = 0;
			/* A zero size is the last chunk: trailers follow, counted from 0. */
			c->state = c->remaining ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA_CR:
			if (ch != '\r')
				goto bad;
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				goto bad;
			c->state = CH_SIZE_FIRST;
			c->line_len = 0;
			break;
		case CH_TRAILER:
			if (ch == '\r')
				c->state = CH_FINAL_LF;
			else if (tchar[U8(ch)])
				c->state = CH_TNAME;
			else
				goto bad;
			break;
		case CH_TNAME:
			if (ch == ':')
				c->state = CH_TVALUE;
			else if (!tchar[U8(ch)])
				goto bad;
			break;
		case CH_TVALUE:
			if (ch == '\r')
				c->state = CH_TLF;
			else if (!vchar[U8(ch)])
				goto bad;
			break;
		case CH_TLF:
			if (ch != '\n')
				goto bad;
			c->state = CH_TRAILER;
			c->line_len = 0;
			break;
		case CH_FINAL_LF:
			if (ch != '\n')
				goto bad;
			c->state = CH_DONE;
			*consumed = i + 1;
			return 1;
		default:
			goto bad;
		}
		i++;
	}
	*consumed = len;
	return 0;
bad:
	c->state = CH_ERROR;
	*consumed = i;
	return -1;
}

bool xgw_h1_chunked_in_trailer(const struct xgw_h1_chunked *c)
{
	return c->state >= CH_TRAILER && c->state < CH_DONE;
}

int xgw_h1_chunked_next(struct xgw_h1_chunked *c, const char *buf, size_t len, size_t max,
			size_t *consumed, size_t *data_off, size_t *data_len)
{
	size_t i = 0, used, n;
	int rc;

	*data_off = *data_len = 0;
	if (c->state >= CH_TRAILER) /* trailers, or the end: the scanner takes them whole */
		return xgw_h1_chunked_scan(c, buf, len, consumed);
	/* Framing a byte at a time (a few bytes a chunk), to stop where data or trailers begin. */
	while (c->state != CH_DATA) {
		if (i == len) {
			*consumed = i;
			return 0;
		}
		rc = xgw_h1_chunked_scan(c, buf + i, 1, &used);
		if (rc < 0) {
			*consumed = i;
			return -1;
		}
		i += used;
		if (c->state >= CH_TRAILER) {
			*consumed = i;
			return 0;
		}
	}
	n = len - i;
	if (n > c->remaining)
		n = (size_t)c->remaining;
	if (n > max)
		n = max;
	*data_off = i;
	*data_len = n;
	c->remaining -= n;
	if (!c->remaining)
		c->state = CH_DATA_CR;
	*consumed = i + n;
	return 0;
}

size_t xgw_h1_head_len(const char *p, size_t len, size_t from)
{
	/* the head's last LF: a line at a time with memchr, much cheaper than memmem */
	size_t j = from < 3 ? 3 : from;

	while (j < len) {
		const char *lf = memchr(p + j, '\n', len - j);

		if (!lf)
			return 0;
		j = (size_t)(lf - p);
		if (p[j - 1] == '\r' && p[j - 2] == '\n' && p[j - 3] == '\r')
			return j + 1;
		j++;
	}
	return 0;
}

const char *xgw_h1_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 102:
		return "Processing";
	case 103:
		return "Early Hints";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 203:
		return "Non-Authoritative Information";
	case 204:
		return "No Content";
	case 205:
		return "Reset Content";
	case 206:
		return "Partial Content";
	case 207:
		return "Multi-Status";
	case 208:
		return "Already Reported";
	case 226:
		return "IM Used";
	case 300:
		return "Multiple Choices";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 305:
		return "Use Proxy";
	case 307:
		return "Temporary Redirect";
	case 308:
		return "Permanent Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 402:
		return "Payment Required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 407:
		return "Proxy Authentication Required";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Range Not Satisfiable";
	case 417:
		return "Expectation Failed";
	case 418:
		return "I'm a teapot";
	case 421:
		return "Misdirected Request";
	case 422:
		return "Unprocessable Content";
	case 423:
		return "Locked";
	case 424:
		return "Failed Dependency";
	case 425:
		return "Too Early";
	case 426:
		return "Upgrade Required";
	case 428:
		return "Precondition Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 451:
		return "Unavailable For Legal Reasons";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	case 506:
		return "Variant Also Negotiates";
	case 507:
		return "Insufficient Storage";
	case 508:
		return "Loop Detected";
	case 510:
		return "Not Extended";
	case 511:
		return "Network Authentication Required";
	default:
		return "Unknown";
	}
}
