// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * Stores made of stores: the folder source merges the store of each file into
 * one (shallow copies, each array grown once), and takes an object defined
 * twice once, the last, as `kubectl apply` of the folder would leave it.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xgw/model.h"

/* Room in the array *<arr> of capacity *<cap> for <want> elements of <size> bytes. */
static int reserve_array(void **arr, size_t *cap, size_t want, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *p;

	if (want <= *cap)
		return 0;
	while (ncap < want)
		ncap *= 2;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Append <n> elements of <size> bytes at <src> to the array *<arr>. */
static int append_array(void **arr, size_t *len, size_t *cap, size_t size, const void *src,
			size_t n)
{
	if (!n)
		return 0;
	if (reserve_array(arr, cap, *len + n, size))
		return -ENOMEM;
	memcpy((char *)*arr + *len * size, src, n * size);
	*len += n;
	return 0;
}

/* The object arrays of a store and their kinds, for X(name, kind) */
#define STORE_ARRAYS(X)                                                                            \
	X(classes, "GatewayClass")                                                                 \
	X(gateways, "Gateway")                                                                     \
	X(listenersets, "ListenerSet")                                                             \
	X(httproutes, "HTTPRoute")                                                                 \
	X(l4routes, NULL) /* TLSRoute, TCPRoute, UDPRoute: see l4_kind_name() */                   \
	X(grpcroutes, "GRPCRoute")                                                                 \
	X(services, "Service")                                                                     \
	X(slices, "EndpointSlice")                                                                 \
	X(namespaces, "Namespace")                                                                 \
	X(nodes, "XgwNode")                                                                        \
	X(class_configs, "XgwConfig")                                                              \
	X(grants, "ReferenceGrant")                                                                \
	X(secrets, "Secret")                                                                       \
	X(configmaps, "ConfigMap")                                                                 \
	X(btls_policies, "BackendTLSPolicy")

int xgw_store_append(struct xgw_store *dst, const struct xgw_store *src)
{
#define APPEND(a, kind)                                                                            \
	if (append_array((void **)&dst->a, &dst->n_##a, &dst->cap_##a, sizeof(*dst->a), src->a,    \
			 src->n_##a))                                                              \
		return -ENOMEM;
	STORE_ARRAYS(APPEND)
#undef APPEND
	dst->n_ignored += src->n_ignored;
	return 0;
}

int xgw_store_append_all(struct xgw_store *dst, struct xgw_store *const *src, size_t n)
{
	/* each array grows once, to its final size, not by doubling */
#define ROOM(a, kind)                                                                              \
	{                                                                                          \
		size_t want = dst->n_##a;                                                          \
                                                                                                   \
		for (size_t i = 0; i < n; i++)                                                     \
			want += src[i]->n_##a;                                                     \
		if (reserve_array((void **)&dst->a, &dst->cap_##a, want, sizeof(*dst->a)))         \
			return -ENOMEM;                                                            \
	}
	STORE_ARRAYS(ROOM)
#undef ROOM
	for (size_t i = 0; i < n; i++)
		if (xgw_store_append(dst, src[i]))
			return -ENOMEM;
	return 0;
}

static const char *l4_kind_name(const void *obj)
{
	static const char *const names[] = {
		[XGW_L4_TLS] = "TLSRoute", [XGW_L4_TCP] = "TCPRoute", [XGW_L4_UDP] = "UDPRoute"
	};

	return names[((const struct xgw_l4route *)obj)->kind];
}

/* <s> mixed into <h> eight bytes at a time (a hash: equal hashes are compared). */
static uint64_t mix_str(uint64_t h, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint64_t w;

	for (; n >= 8; n -= 8, s += 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	w = (uint64_t)n << 56;
	for (size_t k = 0; k < n; k++)
		w |= (uint64_t)(unsigned char)s[k] << (8 * k);
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static uint64_t dedupe_hash(const char *kind, const struct xgw_meta *m)
{
	/* the kinds of one array differ in their second letter (TLS-, TCP-, UDPRoute) */
	return mix_str(mix_str(0x2545f4914f6cdd1dULL ^ (unsigned char)kind[1], m->ns), m->name);
}

static bool same_object(const char *ka, const struct xgw_meta *a, const char *kb,
			const struct xgw_meta *b)
{
	return !strcmp(ka, kb) && !strcmp(a->ns ? a->ns : "", b->ns ? b->ns : "") &&
	       !strcmp(a->name ? a->name : "", b->name ? b->name : "");
}

/*
 * The objects of one array of <n> elements of <size> bytes (struct xgw_meta
 * first) that another of the same kind, namespace and name follows: dropped,
 * and reported. The array keeps the order of what stays.
 */
static int dedupe_array(void *arr, size_t *n, size_t size, const char *kind,
			void (*report)(void *arg, const char *msg), void *arg)
{
	size_t mask = 15, kept = 0;
	uint32_t *slot, *winner;
	char *base = arr;

	if (*n < 2)
		return 0;
	while (mask + 1 < 2 * *n)
		mask = mask * 2 + 1;
	slot = calloc(mask + 1, sizeof(*slot));
	winner = calloc(*n, sizeof(*winner));
	if (!slot || !winner) {
		free(slot);
		free(winner);
		return -ENOMEM;
	}
	/* from the last: the first seen of a name is the one that stays */
	for (size_t i = *n; i-- > 0;) {
		const struct xgw_meta *m = (const void *)(base + i * size);
		const char *k = kind ? kind : l4_kind_name(m);
		size_t h = dedupe_hash(k, m) & mask;

		winner[i] = (uint32_t)i;
		for (; slot[h]; h = (h + 1) & mask) {
			const struct xgw_meta *o = (const void *)(base + (slot[h] - 1) * size);

			if (same_object(k, m, kind ? kind : l4_kind_name(o), o)) {
				winner[i] = slot[h] - 1;
				break;
			}
		}
		if (!slot[h])
			slot[h] = (uint32_t)i + 1;
	}
	for (size_t i = 0; i < *n; i++) {
		const struct xgw_meta *m = (const void *)(base + i * size);
		const struct xgw_meta *w = (const void *)(base + winner[i] * size);
		char msg[1024];

		if (winner[i] == i) {
			if (kept != i)
				memmove(base + kept * size, base + i * size, size);
			kept++;
			continue;
		}
		snprintf(msg, sizeof(msg),
			 "%s %s%s%s is defined more than once: %s document %d (line %d) is "
			 "ignored, %s document %d (line %d) is used (the last, as kubectl apply "
			 "of the folder would leave it)",
			 kind ? kind : l4_kind_name(m), m->ns ? m->ns : "", m->ns ? "/" : "",
			 m->name ? m->name : "", m->origin.file ? m->origin.file : "-",
			 m->origin.doc, m->origin.line, w->origin.file ? w->origin.file : "-",
			 w->origin.doc, w->origin.line);
		report(arg, msg);
	}
	*n = kept;
	free(slot);
	free(winner);
	return 0;
}

int xgw_store_each(const struct xgw_store *st,
		   int (*fn)(void *arg, const char *kind, const struct xgw_meta *m), void *arg)
{
	int err;

#define EACH(a, kind)                                                                              \
	for (size_t i = 0; i < st->n_##a; i++)                                                     \
		if ((err = fn(arg, kind ? kind : l4_kind_name(&st->a[i]), &st->a[i].meta)))        \
			return err;
	STORE_ARRAYS(EACH)
#undef EACH
	return 0;
}

int xgw_store_dedupe(struct xgw_store *st, bool slices_only,
		     void (*report)(void *arg, const char *msg), void *arg)
{
	size_t dropped = 0;

#define DEDUPE(a, kind)                                                                            \
	if (!slices_only || (void *)st->a == (void *)st->slices) {                                 \
		size_t before = st->n_##a;                                                         \
                                                                                                   \
		if (dedupe_array(st->a, &st->n_##a, sizeof(*st->a), kind, report, arg))            \
			return -ENOMEM;                                                            \
		if ((void *)st->a != (void *)st->slices)                                           \
			dropped += before - st->n_##a;                                             \
	}
	STORE_ARRAYS(DEDUPE)
#undef DEDUPE
	return dropped > INT_MAX ? INT_MAX : (int)dropped;
}
