/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The names of the XDP program's verdict counters (xgw_stats), for xgwctl and the metrics. */
#ifndef XGW_STATS_H
#define XGW_STATS_H

#include "xgw/abi/maps.h"

static inline const char *xgw_stat_name(int i)
{
	static const char *const names[XGW_STAT__MAX] = {
		[XGW_STAT_PASS_NOT_IP] = "pass_not_ip",
		[XGW_STAT_PASS_FOREIGN] = "pass_foreign",
		[XGW_STAT_PASS_LISTENER] = "pass_listener",
		[XGW_STAT_PASS_OTHER_PROTO] = "pass_other_proto",
		[XGW_STAT_PASS_FRAGMENT] = "pass_fragment",
		[XGW_STAT_DROP_NO_LISTENER] = "drop_no_listener",
		[XGW_STAT_DROP_MALFORMED] = "drop_malformed",
		[XGW_STAT_PASS_MALFORMED] = "pass_malformed",
		[XGW_STAT_TX_REMOTE] = "tx_remote",
		[XGW_STAT_TX_SECOND_CHANCE] = "tx_second_chance",
		[XGW_STAT_PASS_DECAP] = "pass_decap",
		[XGW_STAT_DROP_TOO_BIG] = "drop_too_big",
		[XGW_STAT_DROP_ENCAP] = "drop_encap",
		[XGW_STAT_PASS_LOCAL_ONLY] = "pass_local_only",
		[XGW_STAT_TX_ICMP_ECHO] = "tx_icmp_echo",
		[XGW_STAT_TX_SYNCOOKIE] = "tx_syncookie",
		[XGW_STAT_TX_ICMP_TOO_BIG] = "tx_icmp_too_big",
		[XGW_STAT_DROP_DRAINING] = "drop_draining",
	};

	return i >= 0 && i < XGW_STAT__MAX && names[i] ? names[i] : "?";
}

#endif /* XGW_STATS_H */
