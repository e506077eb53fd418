/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Recycled memory for what every HTTP/2 stream allocates and frees: byte
 * queues (bytes.h), the stream structures, and nghttp2's own allocations.
 * Under hundreds of concurrent streams glibc's per-thread cache (7 chunks a
 * size) runs dry and each allocation takes malloc's slow path; here freed
 * blocks of up to XGW_MEM_CLASS_MAX bytes go to per-size free lists instead
 * (power-of-two classes from XGW_MEM_CLASS_MIN, at most XGW_MEM_KEEP bytes
 * a class, xgw_mem_trim() empties them). The worker is single-threaded: the
 * lists are not locked.
 */
#ifndef XGW_MEM_H
#define XGW_MEM_H

#include <stddef.h>

#include <nghttp2/nghttp2.h>

#define XGW_MEM_CLASS_MIN 32
#define XGW_MEM_CLASS_MAX 16384
#define XGW_MEM_KEEP (512 * 1024)

/* Blocks of an exact capacity: a class size (recycled) or any other (malloc). */
void *xgw_mem_get(size_t cap);
void xgw_mem_put(void *p, size_t cap);

/* malloc-like, with the capacity in a header: any size. */
void *xgw_mem_alloc(size_t size);
void *xgw_mem_calloc(size_t n, size_t size);
void *xgw_mem_realloc(void *p, size_t size);
void xgw_mem_free(void *p);

/* The same for nghttp2 sessions (nghttp2_session_*_new3). */
nghttp2_mem *xgw_mem_nghttp2(void);

/* Gives the recycled blocks back to malloc. */
void xgw_mem_trim(void);
/* Blocks on the free lists and their bytes (tests, counters). */
void xgw_mem_recycled(size_t *count, size_t *bytes);

#endif
