/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The routing snapshot: the only contract between the agent and the workers.
 *
 * A snapshot is one flat, position-independent, little-endian byte buffer
 * (host order: agent and workers run on the same node). The agent builds it
 * with the xgw_snapb_* builder, writes it into a sealed memfd, and passes the
 * fd to every worker (include/xgw/ctl.h). A worker maps it read-only, checks
 * it once with xgw_snapshot__open(), and then reads the arrays in place.
 *
 * Layout: a header, then sections. Every cross reference is an index into
 * another section (never a pointer) and every string is a (off, len) view
 * into the string section; xgw_snapshot__open() checks them all, so a reader
 * may index without further bounds checks.
 *
 * Routing structure, as the worker walks it:
 *   listener (address, port)           -> vhosts[vhost_first .. +vhost_count)
 *   vhost (hostname, exact or "*.sfx") -> matches[match_first .. +match_count),
 *                                         already in Gateway API precedence order
 *   match (path, ...)                  -> rule
 *   rule                               -> backends[backend_first .. +backend_count)
 *   backend (weight)                   -> cluster
 *   cluster                            -> endpoints[ep_first .. +ep_count)
 */
#ifndef XGW_SNAPSHOT_H
#define XGW_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#define XGW_SNAP_MAGIC 0x53574758u /* "XGWS" */
#define XGW_SNAP_FORMAT 1u
#define XGW_SNAP_NONE UINT32_MAX /* "no index" in any index field */

enum xgw_snap_section {
	XGW_SECT_LISTENER = 0,
	XGW_SECT_VHOST,
	XGW_SECT_MATCH,
	XGW_SECT_RULE,
	XGW_SECT_BACKEND,
	XGW_SECT_CLUSTER,
	XGW_SECT_ENDPOINT,
	XGW_SECT_STRING, /* bytes, count = length in bytes */
	XGW_SECT__MAX,
};

struct xgw_snap_sect {
	uint32_t off;	/* bytes from the start of the buffer, 8-aligned */
	uint32_t count; /* elements (bytes for XGW_SECT_STRING) */
};

struct xgw_snap_hdr {
	uint32_t magic;	     /* XGW_SNAP_MAGIC */
	uint32_t format;     /* XGW_SNAP_FORMAT */
	uint64_t generation; /* strictly increasing per agent run */
	uint64_t size;	     /* bytes of the whole buffer */
	struct xgw_snap_sect sect[XGW_SECT__MAX];
};

/* A string: bytes [off, off + len) of the string section. Not NUL-terminated. */
struct xgw_snap_str {
	uint32_t off;
	uint32_t len;
};

enum xgw_snap_lproto {
	XGW_LPROTO_HTTP = 1,
	XGW_LPROTO_HTTPS = 2,
	XGW_LPROTO_TLS = 3,
	XGW_LPROTO_TCP = 4,
	XGW_LPROTO_UDP = 5,
};

struct xgw_snap_listener {
	uint32_t id;		  /* = index; also the xgw_lstats key in BPF */
	uint8_t family;		  /* enum xgw_family (4 or 6) */
	uint8_t proto;		  /* enum xgw_snap_lproto */
	uint16_t port;		  /* host byte order */
	uint8_t addr[16];	  /* network order; IPv4 in addr[0..3] */
	struct xgw_snap_str name; /* "namespace/gateway/listener" for logs */
	uint32_t vhost_first;	  /* vhosts of this listener, most specific first */
	uint32_t vhost_count;
};

/*
 * A virtual host of one listener. <hostname> is an exact name ("a.example.com"),
 * a wildcard ("*.example.com", matching one or more labels before the suffix),
 * or empty (any host). Lower-case. A listener's vhosts are ordered: exact
 * names first, then wildcards by decreasing suffix length, then the empty one.
 */
struct xgw_snap_vhost {
	struct xgw_snap_str hostname;
	uint32_t match_first; /* in precedence order: the first that matches wins */
	uint32_t match_count;
};

enum xgw_snap_path_type {
	XGW_PATH_PREFIX =
		0, /* segment-wise prefix: "/foo" matches "/foo", "/foo/x", not "/foobar" */
	XGW_PATH_EXACT = 1,
	XGW_PATH_REGEX = 2, /* reserved for a later format; rejected by format 1 readers */
};

struct xgw_snap_match {
	uint32_t rule;	   /* index into rules */
	uint8_t path_type; /* enum xgw_snap_path_type */
	uint8_t pad[3];
	struct xgw_snap_str path; /* "/..." */
};

struct xgw_snap_rule {
	struct xgw_snap_str route; /* "namespace/name" of the HTTPRoute, for logs */
	uint32_t rule_index;	   /* index of the rule within its route */
	uint32_t backend_first;
	uint32_t backend_count; /* 0: no backendRefs -> 500 */
	uint32_t total_weight;	/* sum of backends' weights; 0 -> 500 */
};

struct xgw_snap_backend {
	uint32_t cluster; /* index into clusters, or XGW_SNAP_NONE: unresolved -> 500 */
	uint32_t weight;
};

/* A cluster: the ready endpoints of one Service port. */
struct xgw_snap_cluster {
	struct xgw_snap_str name; /* "namespace/service:port" */
	uint32_t ep_first;
	uint32_t ep_count; /* 0: no ready endpoint -> 503 */
};

struct xgw_snap_endpoint {
	uint8_t family; /* enum xgw_family */
	uint8_t pad;
	uint16_t port; /* host byte order */
	uint8_t addr[16];
};

/* A checked, read-only view of a snapshot buffer. The buffer is not owned. */
struct xgw_snapshot {
	const struct xgw_snap_hdr *hdr;
	uint64_t generation;
	const struct xgw_snap_listener *listeners;
	uint32_t n_listeners;
	const struct xgw_snap_vhost *vhosts;
	uint32_t n_vhosts;
	const struct xgw_snap_match *matches;
	uint32_t n_matches;
	const struct xgw_snap_rule *rules;
	uint32_t n_rules;
	const struct xgw_snap_backend *backends;
	uint32_t n_backends;
	const struct xgw_snap_cluster *clusters;
	uint32_t n_clusters;
	const struct xgw_snap_endpoint *endpoints;
	uint32_t n_endpoints;
	const char *strings;
	uint32_t strings_len;
};

/*
 * Check <buf> of <len> bytes and fill <snap> with views into it. Returns 0, or
 * -EINVAL (malformed: bad magic, a section or index or string out of range),
 * -EPROTO (another format version). <buf> must stay mapped while <snap> is used.
 */
int xgw_snapshot__open(struct xgw_snapshot *snap, const void *buf, size_t len);

/* The bytes of <s>; valid for a snapshot that xgw_snapshot__open() accepted. */
static inline const char *xgw_snap_str_ptr(const struct xgw_snapshot *snap, struct xgw_snap_str s)
{
	return snap->strings + s.off;
}

/*
 * Builder. Each child belongs to the parent added last: vhosts to the last
 * listener, matches to the last vhost, backends to the last rule, endpoints
 * to the last cluster. So add a listener, then its vhosts, each vhost
 * followed by its matches. Rules (then their backends) and clusters (then
 * their endpoints) live in their own sections and may be added at any time;
 * they are referred to by the index their add function returns. All functions return an index >= 0 or -ENOMEM;
 * after a failure the builder only accepts xgw_snapb__free().
 */
struct xgw_snapb;

struct xgw_snapb *xgw_snapb__new(uint64_t generation);
void xgw_snapb__free(struct xgw_snapb *b);

int xgw_snapb_listener(struct xgw_snapb *b, uint8_t family, const uint8_t addr[16], uint16_t port,
		       uint8_t proto, const char *name);
int xgw_snapb_vhost(struct xgw_snapb *b, const char *hostname, size_t hostname_len);
int xgw_snapb_match(struct xgw_snapb *b, uint32_t rule, uint8_t path_type, const char *path,
		    size_t path_len);
int xgw_snapb_rule(struct xgw_snapb *b, const char *route, uint32_t rule_index);
int xgw_snapb_backend(struct xgw_snapb *b, uint32_t cluster, uint32_t weight);
int xgw_snapb_cluster(struct xgw_snapb *b, const char *name);
int xgw_snapb_endpoint(struct xgw_snapb *b, uint8_t family, const uint8_t addr[16], uint16_t port);

/*
 * Lay the snapshot out. On success *<out> is a malloc'ed buffer of *<len>
 * bytes owned by the caller, and 0 is returned; -ENOMEM or -E2BIG otherwise.
 * The builder may be freed afterwards.
 */
int xgw_snapb__finish(struct xgw_snapb *b, void **out, size_t *len);

#endif /* XGW_SNAPSHOT_H */
