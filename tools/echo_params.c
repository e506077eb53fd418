// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * What xgw-echo reads from a request's query the way echo-basic's Go does
 * (r.FormValue, time.ParseDuration, strconv.Atoi), and the retry simulator's
 * per-uuid attempt counts. See echo_params.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echo_params.h"

#define ECHO_RETRY_BUCKETS 8192 /* a power of two */

/* ---- the query, as Go's r.FormValue reads it ---- */

/* A message buffer that truncates: Go's error texts are only reported. */
struct msg {
	char *p;
	size_t len, cap;
};

static void msg_add(struct msg *m, const char *s, size_t n)
{
	if (!m->cap)
		return;
	if (n > m->cap - 1 - m->len)
		n = m->cap - 1 - m->len;
	memcpy(m->p + m->len, s, n);
	m->len += n;
	m->p[m->len] = '\0';
}

static int unhex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* url.QueryUnescape of <s>[0, <n>) into <out>. Returns the length, or -1 (bad escape, too long). */
static long query_unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++, o++) {
		char ch = s[i];

		if (o == cap)
			return -1;
		if (ch == '%') {
			int hi = i + 2 < n ? unhex(s[i + 1]) : -1;
			int lo = hi >= 0 ? unhex(s[i + 2]) : -1;

			if (lo < 0)
				return -1;
			ch = (char)(hi << 4 | lo);
			i += 2;
		} else if (ch == '+') {
			ch = ' ';
		}
		out[o] = ch;
	}
	return (long)o;
}

long echo_query_get(const struct xgw_h1_request *req, const char *key, char *out, size_t cap)
{
	const char *q = req->query, *e = q ? q + req->query_len : NULL;
	size_t klen = strlen(key);
	char k[64];

	while (q && q < e) {
		const char *amp = memchr(q, '&', (size_t)(e - q)), *pair = q, *eq;
		size_t plen = (size_t)((amp ? amp : e) - q);
		long kl, vl = 0;

		q = amp ? amp + 1 : e;
		if (!plen || memchr(pair, ';', plen))
			continue;
		eq = memchr(pair, '=', plen);
		kl = query_unescape(pair, eq ? (size_t)(eq - pair) : plen, k, sizeof(k));
		if (kl < 0 || (size_t)kl != klen || memcmp(k, key, klen))
			continue;
		if (eq)
			vl = query_unescape(eq + 1, plen - (size_t)(eq - pair) - 1, out, cap);
		if (vl >= 0)
			return vl;
	}
	return -1;
}

/* The time package's quote(), for its error messages. */
static void go_quote(struct msg *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	msg_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < ' ' || ch >= 0x80) {
			msg_add(b, (char[]){ '\\', 'x', hex[ch >> 4], hex[ch & 15] }, 4);
			continue;
		}
		if (ch == '"' || ch == '\\')
			msg_add(b, "\\", 1);
		msg_add(b, s + i, 1);
	}
	msg_add(b, "\"", 1);
}

static int duration_err(struct msg *m, const char *what, const char *unit, size_t unit_len,
			const char *s, size_t n)
{
	msg_add(m, "time: ", 6);
	msg_add(m, what, strlen(what));
	msg_add(m, " ", 1);
	if (unit) {
		go_quote(m, unit, unit_len);
		msg_add(m, " in duration ", 13);
	}
	go_quote(m, s, n);
	return -EINVAL;
}

static uint64_t duration_unit(const char *u, size_t n)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "ns", 1ULL },		  { "us", 1000ULL },
		{ "\xc2\xb5s", 1000ULL }, /* U+00B5 micro sign */
		{ "\xce\xbcs", 1000ULL }, /* U+03BC Greek mu */
		{ "ms", 1000000ULL },	  { "s", 1000000000ULL },
		{ "m", 60000000000ULL },  { "h", 3600000000000ULL },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && !memcmp(units[i].name, u, n))
			return units[i].ns;
	return 0;
}

/*
 * Go's time.ParseDuration of <s>[0, <n>): "1.5s", "300ms", "2h45m". Sets
 * *<ns> (0 for any negative duration: nothing to wait). Returns 0, or -EINVAL
 * with Go's error text in <m>.
 */
static int parse_duration(const char *s, size_t n, uint64_t *ns, struct msg *m)
{
	const uint64_t max = 1ULL << 63;
	const char *p = s, *end = s + n;
	uint64_t d = 0;
	bool neg = false;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	if (end - p == 1 && *p == '0') {
		*ns = 0;
		return 0;
	}
	if (p == end)
		return duration_err(m, "invalid duration", NULL, 0, s, n);
	while (p < end) {
		uint64_t v = 0, f = 0, unit;
		bool pre = false, post = false, overflow = false;
		double scale = 1;
		const char *u;

		if (*p != '.' && (*p < '0' || *p > '9'))
			return duration_err(m, "invalid duration", NULL, 0, s, n);
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			pre = true;
			if (v > max / 10)
				return duration_err(m, "invalid duration", NULL, 0, s, n);
			v = v * 10 + (uint64_t)(*p - '0');
			if (v > max)
				return duration_err(m, "invalid duration", NULL, 0, s, n);
		}
		if (p < end && *p == '.') {
			/* Digits past what a uint64 holds are dropped, as Go's leadingFraction does. */
			for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
				uint64_t y;

				post = true;
				if (overflow || f > (max - 1) / 10) {
					overflow = true;
					continue;
				}
				y = f * 10 + (uint64_t)(*p - '0');
				if (y > max) {
					overflow = true;
					continue;
				}
				f = y;
				scale *= 10;
			}
		}
		if (!pre && !post)
			return duration_err(m, "invalid duration", NULL, 0, s, n);
		for (u = p; p < end && *p != '.' && (*p < '0' || *p > '9'); p++)
			;
		if (p == u)
			return duration_err(m, "missing unit in duration", NULL, 0, s, n);
		unit = duration_unit(u, (size_t)(p - u));
		if (!unit)
			return duration_err(m, "unknown unit", u, (size_t)(p - u), s, n);
		if (v > max / unit)
			return duration_err(m, "invalid duration", NULL, 0, s, n);
		v *= unit;
		if (f) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > max)
				return duration_err(m, "invalid duration", NULL, 0, s, n);
		}
		d += v;
		if (d > max)
			return duration_err(m, "invalid duration", NULL, 0, s, n);
	}
	if (!neg && d == max)
		return duration_err(m, "invalid duration", NULL, 0, s, n);
	*ns = neg ? 0 : d;
	return 0;
}

int echo_query_duration(const struct xgw_h1_request *req, const char *key, uint64_t max_ns,
			uint64_t *ns, char *err, size_t err_size)
{
	struct msg m = { err, 0, err_size };
	char v[ECHO_QUERY_VALUE_MAX];
	long n = echo_query_get(req, key, v, sizeof(v));
	int rc;

	*ns = 0;
	if (err_size)
		err[0] = '\0';
	if (n <= 0)
		return 0;
	rc = parse_duration(v, (size_t)n, ns, &m);
	if (*ns > max_ns)
		*ns = max_ns;
	return rc;
}

int echo_query_int(const struct xgw_h1_request *req, const char *key, int *out)
{
	char v[32];
	long n = echo_query_get(req, key, v, sizeof(v) - 1);
	long long x;
	char *end;

	if (n < 0)
		return -ENOENT;
	v[n] = '\0';
	errno = 0;
	x = strtoll(v, &end, 10);
	if (!n || *end || errno || x < INT32_MIN || x > INT32_MAX || v[0] == ' ' || v[0] == '\t')
		return -EINVAL;
	*out = (int)x;
	return 0;
}

/* ---- the retry simulator's attempt counts: a hash table with LRU eviction ---- */

struct retry_ent {
	char uuid[ECHO_RETRY_UUID_MAX];
	uint32_t len, count, bucket;
	uint32_t chain, prev,
		next; /* entry indices, 0 for none; the LRU list is most recent first */
};

static struct {
	struct retry_ent e[ECHO_RETRY_SLOTS + 1]; /* e[0] is unused: index 0 means none */
	uint32_t bucket[ECHO_RETRY_BUCKETS];
	uint32_t head, tail, used;
} retry;

static void lru_unlink(uint32_t i)
{
	struct retry_ent *x = &retry.e[i];

	if (x->prev)
		retry.e[x->prev].next = x->next;
	else
		retry.head = x->next;
	if (x->next)
		retry.e[x->next].prev = x->prev;
	else
		retry.tail = x->prev;
	x->prev = x->next = 0;
}

static void lru_push(uint32_t i)
{
	retry.e[i].next = retry.head;
	retry.e[i].prev = 0;
	if (retry.head)
		retry.e[retry.head].prev = i;
	else
		retry.tail = i;
	retry.head = i;
}

uint32_t echo_retry_attempt(const char *uuid, size_t len)
{
	uint32_t h = 2166136261u, i;

	for (size_t k = 0; k < len; k++)
		h = (h ^ (unsigned char)uuid[k]) * 16777619u;
	h &= ECHO_RETRY_BUCKETS - 1;
	for (i = retry.bucket[h]; i; i = retry.e[i].chain)
		if (retry.e[i].len == len && !memcmp(retry.e[i].uuid, uuid, len))
			break;
	if (i) {
		lru_unlink(i);
	} else {
		if (retry.used < ECHO_RETRY_SLOTS) {
			i = ++retry.used;
		} else {
			uint32_t *pp = &retry.bucket[retry.e[retry.tail].bucket];

			i = retry.tail;
			while (*pp != i)
				pp = &retry.e[*pp].chain;
			*pp = retry.e[i].chain;
			lru_unlink(i);
		}
		memcpy(retry.e[i].uuid, uuid, len);
		retry.e[i].len = (uint32_t)len;
		retry.e[i].count = 0;
		retry.e[i].bucket = h;
		retry.e[i].chain = retry.bucket[h];
		retry.bucket[h] = i;
	}
	lru_push(i);
	return retry.e[i].count < UINT32_MAX ? ++retry.e[i].count : UINT32_MAX;
}
