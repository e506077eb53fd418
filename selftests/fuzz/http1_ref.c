// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * user/http1.c once more, with its portable scans and every external symbol
 * renamed ref_*: the fuzz target runs each input through both builds and
 * wants the same answer from the SIMD scans as from the portable ones.
 */
#define XGW_H1_SCALAR
#define xgw_h1_parse_request ref_h1_parse_request
#define xgw_h1_parse_response ref_h1_parse_response
#define xgw_h1_chunked_scan ref_h1_chunked_scan
#define xgw_h1_chunked_next ref_h1_chunked_next
#define xgw_h1_chunked_in_trailer ref_h1_chunked_in_trailer
#define xgw_h1_head_len ref_h1_head_len
#define xgw_h1_name_eq ref_h1_name_eq
#define xgw_h1_is_token ref_h1_is_token
#define xgw_h1_header_id ref_h1_header_id
#define xgw_h1_simd ref_h1_simd
#define xgw_h1_reason ref_h1_reason

#include "../../user/http1.c"
