// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>

#include "xgw/regex.h"

int xgw_regex_compile(regex_t *re, const char *expr, size_t len, char *msg, size_t msglen)
{
	char *pat;
	int rc;

	if (memchr(expr, '\0', len)) {
		rc = REG_BADPAT;
		goto out;
	}
	pat = malloc(len + 5);
	if (!pat) {
		rc = REG_ESPACE;
		goto out;
	}
	memcpy(pat, "^(", 2);
	memcpy(pat + 2, expr, len);
	memcpy(pat + 2 + len, ")$", 3);
	rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
	free(pat);
out:
	if (rc && msg && msglen)
		regerror(rc, NULL, msg, msglen);
	return rc;
}
