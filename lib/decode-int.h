/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Private to the decoder: the decoding context and the field helpers that
 * lib/decode.c, lib/decode_route.c (HTTPRoute and its filters) and
 * lib/decode_grpc.c (GRPCRoute) share.
 */
#ifndef XGW_LIB_DECODE_INT_H
#define XGW_LIB_DECODE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xgw/model.h"
#include "yaml_tree.h"

#define MANIFEST_MAX_BYTES (64u << 20)

#define PORT_WANT "an integer 1..65535"

#define PATH_LEN 256  /* field path, "spec.rules[0].matches[1]..." */
#define PATH_DEPTH 64 /* the YAML loader refuses deeper nesting */
#define TEXT_LEN 384  /* what is wrong there */

struct dctx {
	struct xgw_store *st;
	struct xgw_arena *a; /* the store's */
	const struct xgw_origin *origin;
	/* the object, for error reports (strings of the YAML tree) */
	const char *kind;
	const char *version; /* of apiVersion ("v1"), for kinds whose schema differs by version */
	const char *ns;
	const char *name;
	/* the field path ("spec.rules[0].matches[1]"), formatted only on error */
	struct path_elem {
		const char *key; /* NULL: an index */
		size_t idx;
	} path[PATH_DEPTH];
	size_t plen; /* elements in path[] */
	int err;     /* 0, -EINVAL (msg and line set) or -ENOMEM */
	int line;
	char msg[PATH_LEN + TEXT_LEN + 2];
};

#define STORE_PUSH(st, arr, item)                                                                  \
	({                                                                                         \
		void *a_ = (st)->arr;                                                              \
		bool ok_ = xgw_dec_push(&a_, &(st)->n_##arr, &(st)->cap_##arr, sizeof(*(st)->arr), \
					item);                                                     \
		(st)->arr = a_;                                                                    \
		ok_;                                                                               \
	})

size_t xgw_dec_push_key(struct dctx *c, const char *key);
void xgw_dec_path_pop(struct dctx *c, size_t old);
void xgw_dec_fail(struct dctx *c, const char *key, const struct xgw_ynode *at, const char *fmt,
		  ...);
void xgw_dec_oom(struct dctx *c);
const char *xgw_dec_got(const struct xgw_ynode *n, char *buf, size_t size);
void *xgw_dec_alloc_array(struct dctx *c, size_t n, size_t size);
const struct xgw_ynode *xgw_dec_get(const struct xgw_ynode *m, const char *key);
char *xgw_dec_opt_str(struct dctx *c, const struct xgw_ynode *m, const char *key, const char *def);
char *xgw_dec_req_str(struct dctx *c, const struct xgw_ynode *m, const char *key);
int64_t xgw_dec_get_int(struct dctx *c, const struct xgw_ynode *m, const char *key, int64_t def,
			int64_t lo, int64_t hi, const char *want, bool *present);
uint32_t xgw_dec_get_port(struct dctx *c, const struct xgw_ynode *m, const char *key,
			  bool required);
bool xgw_dec_get_bool(struct dctx *c, const struct xgw_ynode *m, const char *key, bool def);
const struct xgw_ynode *xgw_dec_get_map(struct dctx *c, const struct xgw_ynode *m, const char *key);
void *xgw_dec_get_list(struct dctx *c, const struct xgw_ynode *m, const char *key,
		       enum xgw_ynode_type type, size_t size,
		       void (*item)(struct dctx *c, const struct xgw_ynode *n, void *out),
		       size_t *len);
char **xgw_dec_get_strs(struct dctx *c, const struct xgw_ynode *m, const char *key, size_t *len);
int xgw_dec_enum_of(struct dctx *c, const struct xgw_ynode *m, const char *key, const char *def,
		    const char *const *names, const char *want);
void xgw_dec_decode_meta(struct dctx *c, const struct xgw_ynode *root, struct xgw_meta *meta,
			 bool namespaced);
bool xgw_dec_push(void **arr, size_t *n, size_t *cap, size_t size, const void *item);
char *xgw_dec_dup_str(struct dctx *c, const char *s);
/* An API hostname (DNS name, no IP; "*." first with <wildcard>), lower-cased in place. */
bool xgw_dec_hostname_ok(char *h, bool wildcard);
char *xgw_dec_str_of(struct dctx *c, const char *key, const struct xgw_ynode *n);
/* decode_core.c */
void xgw_dec_service(struct dctx *c, const struct xgw_ynode *root);
void xgw_dec_endpointslice(struct dctx *c, const struct xgw_ynode *root);
void xgw_dec_namespace(struct dctx *c, const struct xgw_ynode *root);
void xgw_dec_referencegrant(struct dctx *c, const struct xgw_ynode *root);
void xgw_dec_configmap(struct dctx *c, const struct xgw_ynode *root);
void xgw_dec_secret(struct dctx *c, const struct xgw_ynode *root);
void xgw_dec_httproute(struct dctx *c, const struct xgw_ynode *root);
/* A parentRefs[] item (struct xgw_parent_ref), for xgw_dec_get_list(). */
void xgw_dec_parent_ref(struct dctx *c, const struct xgw_ynode *m, void *out);
/* lib/decode_l4route.c */
void xgw_dec_tlsroute(struct dctx *c, const struct xgw_ynode *root);
void xgw_dec_tcproute(struct dctx *c, const struct xgw_ynode *root);
void xgw_dec_udproute(struct dctx *c, const struct xgw_ynode *root);
/* decode_route.c: more list items of routes (xgw_dec_get_list callbacks) */
void xgw_dec_backend_ref(struct dctx *c, const struct xgw_ynode *m, void *out);
/* a backendRef without its filters */
void xgw_dec_backend_fields(struct dctx *c, const struct xgw_ynode *m, struct xgw_backend_ref *b);
void xgw_dec_filter(struct dctx *c, const struct xgw_ynode *m, void *out);
void xgw_dec_kv_match(struct dctx *c, const struct xgw_ynode *m, void *out);
/* decode_grpc.c */
void xgw_dec_grpcroute(struct dctx *c, const struct xgw_ynode *root);
/* lib/decode_btls.c */
void xgw_dec_btls_policy(struct dctx *c, const struct xgw_ynode *root);

#endif /* XGW_LIB_DECODE_INT_H */
