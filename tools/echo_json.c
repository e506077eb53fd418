// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* xgw-echo's growable buffers, JSON strings as Go writes them, the echo JSON (echo_json.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_json.h"
#include "echo_tls.h"
#include "http1.h"

#define MAX_ECHO_SET 64 /* name: value pairs of X-Echo-Set-Header */

static char canon[XGW_H1_MAX_HEAD]; /* Go-canonical header names of one request */

bool buf_reserve(struct buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *p;

	if (b->err)
		return false;
	if (b->len + more <= b->cap)
		return true;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at <p>, or 0 (Go's utf8.DecodeRune rules). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];

	if (c < 0xc2 || c > 0xf4)
		return 0;
	if (c < 0xe0)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0; /* overlong, surrogate */
		return 3;
	}
	if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
		return 0;
	if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return 4;
}

static bool json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}

/* A JSON string with Go's escaping: HTML-safe, U+2028/9 escaped, bad UTF-8 as U+FFFD. */
void json_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	buf_add(b, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t l;

		if (json_plain(c)) {
			for (l = 1; i + l < n && json_plain(p[i + l]); l++)
				;
		} else if (c < 0x80) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			if (c == '"' || c == '\\')
				buf_add(b, (char[]){ '\\', (char)c }, 2);
			else if (c == '\n')
				buf_add(b, "\\n", 2);
			else if (c == '\r')
				buf_add(b, "\\r", 2);
			else if (c == '\t')
				buf_add(b, "\\t", 2);
			else
				buf_add(b, esc, 6);
			i++;
			continue;
		} else if (!(l = utf8_len(p + i, n - i))) {
			buf_add(b, "\\ufffd", 6);
			i++;
			continue;
		} else if (l == 3 && c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] & 0xfe) == 0xa8) {
			buf_str(b, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
			i += 3;
			continue;
		}
		buf_add(b, s + i, l);
		i += l;
	}
	buf_add(b, "\"", 1);
}

/* textproto.CanonicalMIMEHeaderKey for a token: "x-foo-bar" becomes "X-Foo-Bar". */
void canonical_key(const char *name, size_t n, char *out)
{
	bool upper = true;

	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (upper && ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		else if (!upper && ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		out[i] = ch;
		upper = ch == '-';
	}
}

struct echo_set {
	const char *name, *value;
	size_t name_len, value_len;
};

static void trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

static bool is_token(const char *p, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch <= ' ' || ch >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", ch))
			return false;
	}
	return true;
}

/*
 * echo-basic's X-Echo-Set-Header: "Name: value, Other: v" becomes response
 * headers; a name given twice gets its values joined with ",".
 */
void echo_set_headers(struct buf *out, const struct xgw_h1_request *req)
{
	struct echo_set set[MAX_ECHO_SET];
	size_t n = 0;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct xgw_h1_header *h = &req->headers[i];
		const char *p = h->value, *e = h->value + h->value_len;

		if (!xgw_h1_name_eq(h->name, h->name_len, "x-echo-set-header"))
			continue;
		while (p < e && n < MAX_ECHO_SET) {
			const char *comma = memchr(p, ',', (size_t)(e - p)), *colon;
			const char *item = p;
			size_t len = (size_t)((comma ? comma : e) - p);
			struct echo_set *s = &set[n];

			p = comma ? comma + 1 : e;
			trim(&item, &len);
			colon = memchr(item, ':', len);
			s->name = item;
			s->name_len = colon ? (size_t)(colon - item) : len;
			s->value = colon ? colon + 1 : item + len;
			s->value_len = colon ? len - s->name_len - 1 : 0;
			trim(&s->value, &s->value_len);
			if (is_token(s->name, s->name_len))
				n++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		bool first = true;

		for (size_t j = 0; j < i && first; j++)
			first = set[j].name_len != set[i].name_len ||
				memcmp(set[j].name, set[i].name, set[i].name_len);
		if (!first)
			continue;
		buf_add(out, set[i].name, set[i].name_len);
		buf_add(out, ": ", 2);
		buf_add(out, set[i].value, set[i].value_len);
		for (size_t j = i + 1; j < n; j++) {
			if (set[j].name_len == set[i].name_len &&
			    !memcmp(set[j].name, set[i].name, set[i].name_len)) {
				buf_add(out, ",", 1);
				buf_add(out, set[j].value, set[j].value_len);
			}
		}
		buf_add(out, "\r\n", 2);
	}
}

struct hkey {
	const char *key; /* canonical, in canon */
	size_t len;
	const struct xgw_h1_header *h;
};

static int hkey_cmp(const struct hkey *a, const struct hkey *b)
{
	int d = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);

	return d ? d : (a->len > b->len) - (a->len < b->len);
}

/* "headers": Go's r.Header, which holds neither Host nor Transfer-Encoding. */
static void json_headers(struct buf *b, const struct xgw_h1_request *req)
{
	struct hkey keys[XGW_H1_MAX_HEADERS];
	size_t n = 0, off = 0;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct xgw_h1_header *h = &req->headers[i];
		struct hkey k = { canon + off, h->name_len, h };
		size_t j = n;

		if (xgw_h1_name_eq(h->name, h->name_len, "host") ||
		    xgw_h1_name_eq(h->name, h->name_len, "transfer-encoding"))
			continue;
		canonical_key(h->name, h->name_len, canon + off);
		off += h->name_len;
		/* Stable insertion sort: the values of one name keep their order. */
		while (j > 0 && hkey_cmp(&keys[j - 1], &k) > 0) {
			keys[j] = keys[j - 1];
			j--;
		}
		keys[j] = k;
		n++;
	}
	if (!n) {
		buf_str(b, " \"headers\": {},\n");
		return;
	}
	buf_str(b, " \"headers\": {\n");
	for (size_t i = 0, j; i < n; i = j) {
		buf_str(b, "  ");
		json_str(b, keys[i].key, keys[i].len);
		buf_str(b, ": [\n");
		for (j = i; j < n && !hkey_cmp(&keys[i], &keys[j]); j++) {
			if (j > i)
				buf_str(b, ",\n");
			buf_str(b, "   ");
			json_str(b, keys[j].h->value, keys[j].h->value_len);
		}
		buf_str(b, j < n ? "\n  ],\n" : "\n  ]\n");
	}
	buf_str(b, " },\n");
}

static void json_field(struct buf *b, const char *name, const char *v, size_t n, bool last)
{
	buf_printf(b, " \"%s\": ", name);
	json_str(b, v ? v : "", v ? n : 0);
	buf_str(b, last ? "\n" : ",\n");
}

void echo_json_request(struct buf *b, const struct xgw_h1_request *req, const char *proto,
		       const char *ns, const char *pod, SSL *ssl)
{
	buf_str(b, "{\n");
	json_field(b, "path", req->target, req->target_len, false);
	json_field(b, "host", req->host, req->host_len, false);
	json_field(b, "method", req->method, req->method_len, false);
	json_field(b, "proto", proto, strlen(proto), false);
	json_headers(b, req);
	json_field(b, "namespace", ns, strlen(ns), false);
	json_field(b, "ingress", "", 0, false);
	json_field(b, "service", "", 0, false);
	json_field(b, "pod", pod, strlen(pod), false);
	if (ssl)
		echo_tls_json(b, ssl);
	json_field(b, "sni", "", 0, true);
	buf_str(b, "}");
}
