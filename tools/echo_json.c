// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* xgw-echo's growable buffers and its JSON strings, as Go writes them (echo_json.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_json.h"

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
