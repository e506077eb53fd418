// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include "test.h"

bool xgw_test_failed;
const char *xgw_test_skip;
struct xgw_test xgw_tests[TEST_MAX];
int xgw_ntests;

static bool selected(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int xgw_test_main(int argc, char **argv)
{
	int n = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < xgw_ntests; i++)
		n += selected(argc, argv, xgw_tests[i].name);
	printf("TAP version 13\n1..%d\n", n);
	n = 0;
	for (int i = 0; i < xgw_ntests; i++) {
		if (!selected(argc, argv, xgw_tests[i].name))
			continue;
		xgw_test_failed = false;
		xgw_test_skip = NULL;
		xgw_tests[i].fn();
		n++;
		if (xgw_test_skip && !xgw_test_failed)
			printf("ok %d - %s # SKIP %s\n", n, xgw_tests[i].name, xgw_test_skip);
		else if (xgw_test_failed)
			printf("not ok %d - %s\n", n, xgw_tests[i].name), failed++;
		else
			printf("ok %d - %s\n", n, xgw_tests[i].name);
	}
	return failed ? 1 : 0;
}
