/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Flow tokens: the listener in a flow's key in xgw_flows
 * (struct xgw_listener_val.flow_token). A token is never 0, unique among
 * this node's listeners, and kept while its listener lives; a new listener
 * takes the hash of its key, or the next free value after it. The hash makes
 * a listener that is removed and added again find its flows, and gives the
 * same token on every node unless two listeners' hashes meet.
 */
#ifndef XGW_AGENT_FLOW_TOKEN_H
#define XGW_AGENT_FLOW_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "xgw/abi/maps.h"

uint32_t xgw_flow_token_hash(const struct xgw_listener_key *k);

/*
 * Tokens for the <n> listeners of <keys>: tok[i] holds listener i's token
 * when it has one (0 when it has none), and returns with every listener's. A
 * token already taken by an earlier listener of <keys> counts as none.
 * Returns 0, or -ENOMEM (tok[] unchanged then).
 */
int xgw_flow_tokens_assign(const struct xgw_listener_key *keys, uint32_t *tok, size_t n);

#endif /* XGW_AGENT_FLOW_TOKEN_H */
