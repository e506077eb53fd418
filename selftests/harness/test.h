/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A small TAP harness for xgw's C tests. Each TEST() is one TAP test point,
 * so meson counts every case. ASSERT_* macros print what differed, mark the
 * current test failed, and evaluate to false so that the caller steers:
 *
 *	if (!ASSERT_OK_PTR(skel, "open"))
 *		goto out;
 *
 * A test file defines its tests with TEST(name) and ends with TEST_MAIN().
 */
#ifndef XGW_TEST_H
#define XGW_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xgw_test {
	const char *name;
	void (*fn)(void);
};

extern bool xgw_test_failed;	  /* the current test has failed */
extern const char *xgw_test_skip; /* set by TEST_SKIP(): reason the current test is skipped */

#define TEST_MAX 512
extern struct xgw_test xgw_tests[TEST_MAX];
extern int xgw_ntests;

#define TEST(n)                                                                                    \
	static void test_##n(void);                                                                \
	__attribute__((constructor)) static void register_##n(void)                                \
	{                                                                                          \
		if (xgw_ntests < TEST_MAX)                                                         \
			xgw_tests[xgw_ntests++] = (struct xgw_test){ #n, test_##n };               \
	}                                                                                          \
	static void test_##n(void)

#define TEST_SKIP(reason)                                                                          \
	do {                                                                                       \
		xgw_test_skip = (reason);                                                          \
		return;                                                                            \
	} while (0)

#define TEST_FAIL_(fmt, ...)                                                                       \
	({                                                                                         \
		printf("#   %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__);                 \
		xgw_test_failed = true;                                                            \
		false;                                                                             \
	})

#define ASSERT_TRUE(cond, what)                                                                    \
	({                                                                                         \
		bool ok_ = !!(cond);                                                               \
		if (!ok_)                                                                          \
			TEST_FAIL_("%s: expected true: %s", (what), #cond);                        \
		ok_;                                                                               \
	})

#define ASSERT_FALSE(cond, what) ASSERT_TRUE(!(cond), what)

#define ASSERT_OP_(a, op, b, what)                                                                 \
	({                                                                                         \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		bool ok_ = a_ op b_;                                                               \
		if (!ok_)                                                                          \
			TEST_FAIL_("%s: %s %s %s: %lld vs %lld", (what), #a, #op, #b, a_, b_);     \
		ok_;                                                                               \
	})

#define ASSERT_EQ(a, b, what) ASSERT_OP_(a, ==, b, what)
#define ASSERT_NEQ(a, b, what) ASSERT_OP_(a, !=, b, what)
#define ASSERT_GT(a, b, what) ASSERT_OP_(a, >, b, what)
#define ASSERT_GE(a, b, what) ASSERT_OP_(a, >=, b, what)
#define ASSERT_LT(a, b, what) ASSERT_OP_(a, <, b, what)
#define ASSERT_LE(a, b, what) ASSERT_OP_(a, <=, b, what)

#define ASSERT_OK(err, what)                                                                       \
	({                                                                                         \
		long long e_ = (long long)(err);                                                   \
		bool ok_ = e_ == 0;                                                                \
		if (!ok_)                                                                          \
			TEST_FAIL_("%s: expected 0, got %lld (%s)", (what), e_,                    \
				   e_ < 0 ? strerror((int)-e_) : "positive");                      \
		ok_;                                                                               \
	})

#define ASSERT_OK_PTR(p, what)                                                                     \
	({                                                                                         \
		bool ok_ = (p) != NULL;                                                            \
		if (!ok_)                                                                          \
			TEST_FAIL_("%s: NULL (%s)", (what), strerror(errno));                      \
		ok_;                                                                               \
	})

/* Compare a (ptr, len) view with a C string. */
#define ASSERT_MEMSTR(p, len, s, what)                                                             \
	({                                                                                         \
		const char *p_ = (const char *)(p);                                                \
		size_t l_ = (size_t)(len);                                                         \
		const char *s_ = (s);                                                              \
		bool ok_ = p_ && l_ == strlen(s_) && !memcmp(p_, s_, l_);                          \
		if (!ok_)                                                                          \
			TEST_FAIL_("%s: got \"%.*s\", want \"%s\"", (what), p_ ? (int)l_ : 6,      \
				   p_ ? p_ : "(null)", s_);                                        \
		ok_;                                                                               \
	})

#define ASSERT_STREQ(a, b, what)                                                                   \
	({                                                                                         \
		const char *a_ = (a), *b_ = (b);                                                   \
		bool ok_ = a_ && b_ && !strcmp(a_, b_);                                            \
		if (!ok_)                                                                          \
			TEST_FAIL_("%s: \"%s\" != \"%s\"", (what), a_ ? a_ : "(null)",             \
				   b_ ? b_ : "(null)");                                            \
		ok_;                                                                               \
	})

/* Runs every registered test (or those named in argv) and prints TAP. */
int xgw_test_main(int argc, char **argv);

#define TEST_MAIN()                                                                                \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		return xgw_test_main(argc, argv);                                                  \
	}

#endif /* XGW_TEST_H */
