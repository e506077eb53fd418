/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Regular expressions of HTTPRoute matches, compiled one way everywhere: the
 * agent validates with it what the workers will compile, so that a bad
 * expression is refused on its rule and never reaches a snapshot.
 */
#ifndef XGW_REGEX_H
#define XGW_REGEX_H

#include <regex.h>
#include <stddef.h>

/*
 * Compile <expr> (<len> bytes, no NUL inside) as a POSIX extended expression
 * anchored to the whole subject ("^(" expr ")$"), REG_NOSUB. Returns 0, or a
 * regcomp() error code (REG_BADPAT for an embedded NUL); on success <re> must
 * be freed with regfree(). When <msg> is given, it gets regerror()'s text.
 */
int xgw_regex_compile(regex_t *re, const char *expr, size_t len, char *msg, size_t msglen);

#endif /* XGW_REGEX_H */
