/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * HTTP/1.1 message heads (RFC 9112) and chunked body framing, zero-copy.
 *
 * The parsers do not copy: every field is a (ptr, len) view into the caller's
 * buffer, valid while that buffer is. They are stateless over the head: call
 * again with the grown buffer after a short read (as picohttpparser does).
 *
 * Return contract of the head parsers:
 *   > 0  the head is complete; the value is its length in bytes, CRLFCRLF
 *        included (the body, if any, starts there)
 *   0    incomplete: read more and call again with the whole buffer
 *   < 0  the message is invalid: the value is minus the HTTP status the
 *        gateway answers with before closing (-400, -414, -431, -501, -505)
 *
 * Strictness follows RFC 9112 wherever leniency enables request smuggling:
 * both Content-Length and Transfer-Encoding, differing Content-Length values,
 * obsolete line folding, bytes outside the grammar in names and values, bare
 * CR, or a transfer coding other than a final "chunked" are rejected.
 */
#ifndef XGW_HTTP1_H
#define XGW_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XGW_H1_MAX_HEADERS 100
#define XGW_H1_MAX_HEAD 16384	     /* request head bytes; past this -431 */
#define XGW_H1_MAX_REQUEST_LINE 8192 /* past this -414 */

/*
 * The header names the gateway acts on, classified once by the parser so
 * that later code compares small integers rather than strings. Names are
 * matched case-insensitively; XGW_H1_HDR_OTHER (0) is any other name.
 */
enum xgw_h1_hdr {
	XGW_H1_HDR_OTHER = 0,
	XGW_H1_HDR_HOST,
	XGW_H1_HDR_CONTENT_LENGTH,
	XGW_H1_HDR_TRANSFER_ENCODING,
	XGW_H1_HDR_CONNECTION,
	XGW_H1_HDR_KEEP_ALIVE,
	XGW_H1_HDR_PROXY_CONNECTION,
	XGW_H1_HDR_TE,
	XGW_H1_HDR_UPGRADE,
	XGW_H1_HDR_EXPECT,
	XGW_H1_HDR_CONTENT_TYPE,
	XGW_H1_HDR_COOKIE,
	XGW_H1_HDR_ORIGIN,
	XGW_H1_HDR_FORWARDED,
	XGW_H1_HDR_X_FORWARDED_FOR,
	XGW_H1_HDR_X_FORWARDED_HOST,
	XGW_H1_HDR_X_FORWARDED_PROTO,
	XGW_H1_HDR_ACR_METHOD,	/* Access-Control-Request-Method */
	XGW_H1_HDR_ACR_HEADERS, /* Access-Control-Request-Headers */
	XGW_H1_HDR_COUNT,
};

/* A set of header ids, bit (1 << id): what a head holds. */
#define XGW_H1_HDR_BIT(id) (1u << (id))
_Static_assert(XGW_H1_HDR_COUNT <= 32, "header ids fit a 32-bit set");

struct xgw_h1_header {
	const char *name; /* as received (case preserved) */
	size_t name_len;
	const char *value; /* leading/trailing OWS trimmed */
	size_t value_len;
	unsigned id; /* enum xgw_h1_hdr, set by the parsers; 0 in headers built by hand */
};

enum xgw_h1_body {
	XGW_H1_BODY_NONE = 0,	 /* no body */
	XGW_H1_BODY_LENGTH = 1,	 /* content_length bytes follow */
	XGW_H1_BODY_CHUNKED = 2, /* chunked, see xgw_h1_chunked */
	XGW_H1_BODY_EOF = 3,	 /* responses only: body runs until the server closes */
};

struct xgw_h1_request {
	const char *method;
	size_t method_len;
	const char *target; /* request-target as received (origin-form, absolute-form, ...) */
	size_t target_len;
	const char *path; /* origin-form path without the query ("/a/b"); for absolute-form the
			     path part; "*" for asterisk-form */
	size_t path_len;
	const char *query; /* after '?', without it; NULL if none */
	size_t query_len;
	const char *host; /* Host header value, or the authority of an absolute-form target */
	size_t host_len;
	int minor_version; /* 0 (HTTP/1.0) or 1 (HTTP/1.1) */
	struct xgw_h1_header headers[XGW_H1_MAX_HEADERS];
	size_t n_headers;
	uint32_t hdr_ids;      /* XGW_H1_HDR_BIT() of the ids of its headers */
	enum xgw_h1_body body; /* NONE, LENGTH or CHUNKED */
	uint64_t content_length;
	bool keep_alive;      /* HTTP/1.1 without "close", or 1.0 with "keep-alive" */
	bool expect_continue; /* Expect: 100-continue */
	bool upgrade;	      /* Connection: upgrade with an Upgrade header */
};

struct xgw_h1_response {
	int status; /* 100..999 */
	const char *reason;
	size_t reason_len;
	int minor_version;
	struct xgw_h1_header headers[XGW_H1_MAX_HEADERS];
	size_t n_headers;
	uint32_t hdr_ids;      /* XGW_H1_HDR_BIT() of the ids of its headers */
	enum xgw_h1_body body; /* derived with the request's method: see below */
	uint64_t content_length;
	bool keep_alive; /* the server lets the connection be reused */
};

/* Parse a request head in <buf>[0, <len>). See the return contract above. */
int xgw_h1_parse_request(const char *buf, size_t len, struct xgw_h1_request *req);

/*
 * Parse a response head. <head_request> is true when the request was HEAD and
 * <status> 1xx/204/304 imply no body (RFC 9112 section 6.3). A response with
 * neither Content-Length nor chunked is XGW_H1_BODY_EOF and not keep_alive.
 * Errors are negative (-502 for anything malformed: the gateway answers 502).
 */
int xgw_h1_parse_response(const char *buf, size_t len, bool head_request,
			  struct xgw_h1_response *resp);

/*
 * Chunked framing, scanned incrementally so that a proxy can forward the
 * bytes verbatim and know where the message ends. Zero-initialise, then feed
 * successive buffers.
 */
struct xgw_h1_chunked {
	int state;	    /* private */
	uint64_t remaining; /* private: data bytes left in the current chunk */
	uint32_t line_len;  /* private: bytes in the current size/trailer line */
};

/*
 * Scan <buf>[0, <len>) of a chunked body. Sets *<consumed> to how many bytes
 * belong to the body (all of <len> unless it ended inside <buf>). Returns 1
 * when the body (last chunk and trailers) ended, 0 when more is needed, -1
 * when the framing is invalid (bad size, missing CRLF, size > 2^62, line over
 * 4096 bytes).
 */
int xgw_h1_chunked_scan(struct xgw_h1_chunked *c, const char *buf, size_t len, size_t *consumed);

/*
 * Decode a chunked body: like xgw_h1_chunked_scan(), with the same checks,
 * but it stops where data begins and where the trailer section begins, so
 * that the caller sees each part apart. Consumes framing bytes of
 * <buf>[0, <len>) and then at most <max> data bytes, which are
 * <buf>[*<data_off>, *<data_off> + *<data_len>); sets *<consumed>. Called in
 * the trailer section (xgw_h1_chunked_in_trailer()), it consumes trailer
 * bytes only, the final CRLF included. Returns 1 when the body ended, 0 when
 * more is needed (*<consumed> is 0 only when <max> is 0 at data, or <len> is
 * 0), -1 when the framing is invalid.
 */
int xgw_h1_chunked_next(struct xgw_h1_chunked *c, const char *buf, size_t len, size_t max,
			size_t *consumed, size_t *data_off, size_t *data_len);
/* The decoder is past the last chunk, in the trailer section. */
bool xgw_h1_chunked_in_trailer(const struct xgw_h1_chunked *c);

/*
 * The length of the message head at the front of <p>[0, <len>), through the
 * CRLF CRLF that ends it; 0 when it is not whole yet. <from>: bytes already
 * looked at by an earlier call on the same head (0 the first time).
 */
size_t xgw_h1_head_len(const char *p, size_t len, size_t from);

/*
 * The enum xgw_h1_hdr of the header name <name>[0, <len>), which must be a
 * token (xgw_h1_is_token): the parsers only hand out such names.
 */
unsigned xgw_h1_header_id(const char *name, size_t len);

/* Case-insensitive comparison of a (ptr, len) view with a lower-case C string. */
bool xgw_h1_name_eq(const char *name, size_t len, const char *lower);

/* Whether <s>[0, <len>) is a non-empty RFC 9110 token (a header name, a method). */
bool xgw_h1_is_token(const char *s, size_t len);

/* Which scans the parsers were built with: "sse4.2", "sse2" or "none" (portable). */
const char *xgw_h1_simd(void);

/* The reason phrase for <status> ("Not Found"), or "Unknown". */
const char *xgw_h1_reason(int status);

#endif /* XGW_HTTP1_H */
