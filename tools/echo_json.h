/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xgw-echo's growable output buffers, JSON strings and header keys written
 * as Go's encoding/json and net/textproto write them, and echo-basic's JSON
 * echo of a request.
 */
#ifndef XGW_ECHO_JSON_H
#define XGW_ECHO_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* A growable buffer; after an allocation failure err is -ENOMEM and writes are dropped. */
struct buf {
	char *p;
	size_t len, cap;
	int err;
};

/* Room for <more> bytes at the end; false (and err set) when there is none. */
bool buf_reserve(struct buf *b, size_t more);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_str(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A JSON string with Go's escaping: HTML-safe, U+2028/9 escaped, bad UTF-8 as U+FFFD. */
void json_str(struct buf *b, const char *s, size_t n);
/* textproto.CanonicalMIMEHeaderKey for a token: "x-foo-bar" becomes "X-Foo-Bar". */
void canonical_key(const char *name, size_t n, char *out);

struct xgw_h1_request;
struct ssl_st;

/*
 * echo-basic's answer to <req>: json.MarshalIndent(RequestAssertions, "", " ")
 * with Go-canonical header names sorted as Go sorts map keys, reporting
 * <proto>, namespace <ns> and pod <pod>, and "tls" when <ssl> (an OpenSSL
 * SSL) carried the request.
 */
void echo_json_request(struct buf *b, const struct xgw_h1_request *req, const char *proto,
		       const char *ns, const char *pod, struct ssl_st *ssl);

/*
 * echo-basic's X-Echo-Set-Header: "Name: value, Other: v" in <req> become
 * response header lines in <out>; a name given twice gets its values joined
 * with ",".
 */
void echo_set_headers(struct buf *out, const struct xgw_h1_request *req);

#endif /* XGW_ECHO_JSON_H */
