/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * A snapshot as the workers route by it, in text: each listener in order
 * with its server names and certificates, its vhosts in order, their matches
 * in order with their conditions, and the rule each match leads to with its
 * filters, backends and their clusters; then every cluster some backend or
 * mirror names, by name, with its TLS and endpoints. Indices do not appear:
 * two snapshots with the same text route every request alike, however their
 * sections are laid out (a full pass's and a patched one's, for instance).
 */
#ifndef XGW_SELFTESTS_SNAP_CANON_H
#define XGW_SELFTESTS_SNAP_CANON_H

#include <stddef.h>

#include "xgw/snapshot.h"

/* The text of <s> (malloc'ed, NUL-terminated, length in *<len>), or NULL. */
char *xgw_snap_canon(const struct xgw_snapshot *s, size_t *len);

#endif
