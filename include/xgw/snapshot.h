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
  *   match (path, method, kvs)          -> rule
 *     kvs[kv_first .. +kv_count)          header / query conditions, all must hold
 *   rule                               -> filters[filter_first .. +filter_count),
 *                                         backends[backend_first .. +backend_count)
 *   backend (weight, filters)          -> cluster
 *   cluster                            -> endpoints[ep_first .. +ep_count)
 *   cluster (TLS to the backends)      -> uptls[tls]  (BackendTLSPolicy)
 *
 * Listeners that terminate TLS (HTTPS, and TLS listeners with terminating
 * vhosts) also carry the server names they answer for:
 *   listener                           -> snis[sni_first .. +sni_count)
 *   sni (hostname)                     -> certs[cert_first .. +cert_count)
 *
 * L4 listeners (TLS, TCP, UDP: TLSRoute, TCPRoute, UDPRoute) use the same
 * structure with one match per vhost, whose rule holds the weighted backends:
 *   TCP, UDP   0 or 1 vhost, hostname empty (the route of the listener)
 *   TLS        one vhost per server name of the ClientHello (exact, "*.sfx",
 *              or empty for any, ordered as HTTP vhosts), each flagged
 *              XGW_VHOST_TLS_TERMINATE or not (passthrough: the bytes,
 *              ClientHello included, go to the backend untouched)
 * The match has path_type PREFIX, path "/", no method and no kvs. A rule with
 * no backend, zero total weight or an unresolved backend share refuses the
 * connection (TCP: RST) or drops the datagram (UDP).
 */
#ifndef XGW_SNAPSHOT_H
#define XGW_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#define XGW_SNAP_MAGIC 0x53574758u /* "XGWS" */
#define XGW_SNAP_FORMAT 7u
#define XGW_SNAP_NONE UINT32_MAX /* "no index" in any index field */

enum xgw_snap_section {
	XGW_SECT_LISTENER = 0,
	XGW_SECT_VHOST,
	XGW_SECT_MATCH,
	XGW_SECT_RULE,
	XGW_SECT_BACKEND,
	XGW_SECT_CLUSTER,
	XGW_SECT_ENDPOINT,
	XGW_SECT_KV,	 /* header and query parameter conditions of matches */
	XGW_SECT_FILTER, /* filters of rules and of backends */
	XGW_SECT_HDROP,	 /* header operations of header-modifier filters */
	XGW_SECT_SNI,	 /* server names of TLS listeners */
	XGW_SECT_CERT,	 /* certificates (chain and key) of server names */
	XGW_SECT_UPTLS,	 /* TLS to backends (BackendTLSPolicy) of clusters */
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
	/*
	 * Key material for TLS session tickets, the same in every worker of
	 * the node so that a ticket issued by one resumes on another (all
	 * zero: no tickets). Workers derive the keys of each period from it.
	 */
	uint8_t ticket_secret[32];
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
	uint32_t sni_first; /* HTTPS: server names and their certificates, most */
	uint32_t sni_count; /* specific first (as vhosts); 0 for the other protocols */
};

/*
 * A server name of a TLS listener: <hostname> is exact, "*.sfx" or empty
 * (any name, and clients that send none). A ClientHello gets the certificates
 * of the first entry its server name matches, in the listener's order; all of
 * them are offered (one per key type: the client's signature algorithms pick).
 */
enum xgw_snap_client_verify {
	XGW_CLIENT_VERIFY_NONE = 0, /* no client certificate asked for */
	XGW_CLIENT_VERIFY_REQUIRE =
		1, /* a certificate that <client_ca> validates, or no handshake */
	XGW_CLIENT_VERIFY_OPTIONAL = 2, /* asked for; clients without a valid one still get in */
};

struct xgw_snap_sni {
	struct xgw_snap_str hostname;
	uint32_t cert_first;
	uint32_t cert_count;   /* >= 1 */
	uint8_t client_verify; /* enum xgw_snap_client_verify */
	uint8_t pad[3];
	struct xgw_snap_str client_ca; /* PEM CA certificates; empty without verification */
};

/* A certificate: a Secret of type kubernetes.io/tls. */
struct xgw_snap_cert {
	struct xgw_snap_str name;  /* "namespace/secret", for logs */
	struct xgw_snap_str chain; /* PEM: the certificate, then its chain */
	struct xgw_snap_str key;   /* PEM: the private key */
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
	uint32_t flags; /* XGW_VHOST_* */
};

/*
 * Flags of a vhost. TLS_TERMINATE (TLS listeners only): the worker ends the
 * TLS session with the listener's certificates for this name (its snis) and
 * proxies the decrypted bytes; without it the session passes through.
 */
#define XGW_VHOST_TLS_TERMINATE 0x1u

enum xgw_snap_path_type {
	XGW_PATH_PREFIX =
		0, /* segment-wise prefix: "/foo" matches "/foo", "/foo/x", not "/foobar" */
	XGW_PATH_EXACT = 1,
	XGW_PATH_REGEX = 2, /* POSIX extended regular expression over the whole path */
};

struct xgw_snap_match {
	uint32_t rule;	   /* index into rules */
	uint8_t path_type; /* enum xgw_snap_path_type */
	uint8_t pad[3];
	struct xgw_snap_str path;   /* "/...", or the expression for XGW_PATH_REGEX */
	struct xgw_snap_str method; /* upper-case method; empty: any */
	uint32_t kv_first;	    /* header/query conditions, all must hold */
	uint32_t kv_count;
};

enum xgw_snap_kv_kind {
	XGW_KV_HEADER = 0, /* name compared case-insensitively; the first value of the header */
	XGW_KV_QUERY = 1,  /* name compared exactly; the first occurrence of the parameter */
};

enum xgw_snap_kv_type {
	XGW_KV_EXACT = 0,
	XGW_KV_REGEX = 1, /* POSIX extended regular expression over the whole value */
};

/* One header or query parameter condition of a match. */
struct xgw_snap_kv {
	uint8_t kind; /* enum xgw_snap_kv_kind */
	uint8_t type; /* enum xgw_snap_kv_type */
	uint8_t pad[2];
	struct xgw_snap_str name; /* headers: lower-case */
	struct xgw_snap_str value;
};

enum xgw_snap_filter_type {
	XGW_FILTER_REQUEST_HEADER = 1,	/* ops: set / add / remove on the upstream request */
	XGW_FILTER_RESPONSE_HEADER = 2, /* ops: set / add / remove on the client response */
	XGW_FILTER_REDIRECT = 3,	/* the gateway answers with a redirect */
	XGW_FILTER_URL_REWRITE = 4,	/* rewrite host and/or path before proxying */
	XGW_FILTER_MIRROR = 5,		/* copy the request to <cluster>, ignore the answer */
	XGW_FILTER_CORS = 6,		/* answer preflights, add CORS headers to responses */
};

/* Flags of a CORS filter. */
#define XGW_CORS_CREDENTIALS 0x1u /* allowCredentials: true */

enum xgw_snap_path_mod {
	XGW_PATHMOD_NONE = 0,
	XGW_PATHMOD_FULL = 1,	/* replace the whole path with <path> */
	XGW_PATHMOD_PREFIX = 2, /* replace the matched PathPrefix with <path> */
};

/*
 * A filter. Which fields count depends on <type>:
 *   REQUEST_HEADER, RESPONSE_HEADER  op_first, op_count
 *   REDIRECT     scheme, hostname, port, path_mod + path, status (301/302/303/307/308)
 *   URL_REWRITE  hostname, path_mod + path
 *   MIRROR       cluster, num / den (the fraction of requests mirrored; den > 0)
 *   CORS         op_first, op_count: its lists, one hdrop per item (op
 *                XGW_HDROP_CORS_*, the item in <name>), num: maxAge in
 *                seconds, flags: XGW_CORS_*
 * An empty string or a 0 number means "not set": keep the request's.
 */
struct xgw_snap_filter {
	uint8_t type;	  /* enum xgw_snap_filter_type */
	uint8_t path_mod; /* enum xgw_snap_path_mod */
	uint16_t status;
	uint32_t port;
	uint32_t op_first;
	uint32_t op_count;
	uint32_t cluster;
	uint32_t num;
	uint32_t den;
	uint32_t flags; /* CORS: XGW_CORS_*; 0 for the other types */
	struct xgw_snap_str scheme;
	struct xgw_snap_str hostname;
	struct xgw_snap_str path;
};

enum xgw_snap_hdrop_type {
	XGW_HDROP_SET = 0,    /* replace every value of <name> with <value> (or add it) */
	XGW_HDROP_ADD = 1,    /* append <value> to <name> (a new header line) */
	XGW_HDROP_REMOVE = 2, /* remove every line of <name> */
	/* Items of a CORS filter's lists, in <name> (only in a CORS filter's span). */
	XGW_HDROP_CORS_ORIGIN = 3, /* allowOrigins: "*", or an origin with at most one '*' */
	XGW_HDROP_CORS_METHOD = 4, /* allowMethods: a method or "*" */
	XGW_HDROP_CORS_HEADER = 5, /* allowHeaders: a header name or "*" */
	XGW_HDROP_CORS_EXPOSE = 6, /* exposeHeaders */
};

struct xgw_snap_hdrop {
	uint8_t op; /* enum xgw_snap_hdrop_type */
	uint8_t pad[3];
	struct xgw_snap_str name; /* as configured (case kept); compared case-insensitively */
	struct xgw_snap_str value;
};

struct xgw_snap_rule {
	struct xgw_snap_str route; /* "namespace/name" of the HTTPRoute, for logs */
	uint32_t rule_index;	   /* index of the rule within its route */
	uint32_t backend_first;
	uint32_t backend_count; /* 0: no backendRefs -> 500 (unless a redirect answers) */
	uint32_t total_weight;	/* sum of backends' weights; 0 -> 500 */
	uint32_t filter_first;	/* applied in order, before the backend's own filters */
	uint32_t filter_count;
	uint32_t timeout_request_ms; /* HTTPRoute rule timeouts.request; 0: none */
	uint32_t timeout_backend_ms; /* timeouts.backendRequest; 0: none */
	/*
	 * retry (GEP-1731): up to retry_attempts tries after the first one (0:
	 * no retry), each retry_backoff_ms after the failed one. A try fails
	 * with a connection error before any response byte, a backendRequest
	 * timeout, or a status whose bit is set: bit (status - 400) of
	 * retry_codes, statuses 400..599.
	 */
	uint32_t retry_attempts; /* <= XGW_SNAP_RETRY_MAX */
	uint32_t retry_backoff_ms;
	uint64_t retry_codes[4]; /* bits 200..255 are 0 */
	/*
	 * sessionPersistence (GEP-1619): a client that presents the token the
	 * gateway issued (cookie or header <sp_name>) goes back to the same
	 * endpoint while it is among the rule's backends and healthy, and the
	 * session has not outlived sp_absolute_s since it started nor been idle
	 * sp_idle_s (0: no limit).
	 */
	uint8_t sp_type;  /* enum xgw_snap_sp_type */
	uint8_t sp_flags; /* XGW_SP_* */
	uint8_t sp_pad[2];
	uint32_t sp_absolute_s;
	uint32_t sp_idle_s;
	struct xgw_snap_str sp_name; /* the cookie or header name */
	struct xgw_snap_str sp_path; /* the cookie's Path attribute */
};

enum xgw_snap_sp_type {
	XGW_SP_NONE = 0,
	XGW_SP_COOKIE = 1,
	XGW_SP_HEADER = 2,
};

/* The cookie is permanent (Max-Age = sp_absolute_s), not a session cookie. */
#define XGW_SP_PERMANENT 0x1u

#define XGW_SNAP_RETRY_MAX 255u

/* Whether a response with <status> is a failed try of rule <r>. */
static inline int xgw_snap_retry_code(const struct xgw_snap_rule *r, unsigned int status)
{
	if (status < 400 || status > 599)
		return 0;
	status -= 400;
	return (int)((r->retry_codes[status / 64] >> (status % 64)) & 1);
}

struct xgw_snap_backend {
	uint32_t cluster; /* index into clusters, or XGW_SNAP_NONE: unresolved -> 500 */
	uint32_t weight;
	uint32_t filter_first; /* filters of this backendRef, after the rule's */
	uint32_t filter_count;
};

/*
 * The protocol a cluster speaks (HTTP listeners), from the Service port's
 * appProtocol: kubernetes.io/h2c -> H2C (HTTP/2 with prior knowledge);
 * anything else (kubernetes.io/ws included) -> HTTP1.
 */
enum xgw_snap_cluster_proto {
	XGW_CPROTO_HTTP1 = 0,
	XGW_CPROTO_H2C = 1,
};

/*
 * How a worker picks a cluster's endpoint: smooth round robin, or least
 * request by the power of two choices (two endpoints drawn at random, the one
 * with fewer requests in flight from this worker wins).
 */
enum xgw_snap_lb {
	XGW_LB_ROUND_ROBIN = 0,
	XGW_LB_LEAST_REQUEST = 1,
};

/* A cluster: the ready endpoints of one Service port. */
struct xgw_snap_cluster {
	struct xgw_snap_str name; /* "namespace/service:port" */
	uint32_t ep_first;
	uint32_t ep_count; /* 0: no ready endpoint -> 503 */
	uint8_t proto;	   /* enum xgw_snap_cluster_proto */
	uint8_t lb;	   /* enum xgw_snap_lb */
	uint8_t pad[2];
	uint32_t tls; /* index into uptls: speak TLS to the endpoints; XGW_SNAP_NONE: plain */
};

/*
 * TLS from the gateway to a cluster's endpoints (a BackendTLSPolicy, GEP-1897).
 * The worker connects, then does a TLS client handshake: server name <sni>;
 * the chain must verify against <ca> (PEM CA certificates) or, with
 * XGW_UPTLS_SYSTEM_CA, the system's trust store; then the peer certificate
 * must match one of the <n_sans> subject alternative names (a dNSName for
 * XGW_SNAP_SAN_DNS, a URI for XGW_SNAP_SAN_URI) or, without SANs, <sni> as a host name
 * (RFC 6125). With <client_chain> and <client_key> (PEM) the gateway presents
 * that client certificate (the Gateway's spec.tls.backend). A handshake or a
 * verification that fails is a connection failure.
 */
#define XGW_SNAP_SANS_MAX 5 /* BackendTLSPolicy v1: subjectAltNames, at most 5 */
#define XGW_UPTLS_SYSTEM_CA 0x1u

enum xgw_snap_san_type {
	XGW_SNAP_SAN_DNS = 0,
	XGW_SNAP_SAN_URI = 1,
};

struct xgw_snap_uptls {
	struct xgw_snap_str name; /* "namespace/policy", for logs */
	struct xgw_snap_str sni;
	struct xgw_snap_str ca;		  /* PEM; empty with XGW_UPTLS_SYSTEM_CA */
	struct xgw_snap_str client_chain; /* PEM; empty: no client certificate */
	struct xgw_snap_str client_key;
	uint8_t flags;			     /* XGW_UPTLS_* */
	uint8_t n_sans;			     /* <= XGW_SNAP_SANS_MAX */
	uint8_t san_type[XGW_SNAP_SANS_MAX]; /* enum xgw_snap_san_type */
	uint8_t pad;
	struct xgw_snap_str san[XGW_SNAP_SANS_MAX];
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
	const struct xgw_snap_kv *kvs;
	uint32_t n_kvs;
	const struct xgw_snap_filter *filters;
	uint32_t n_filters;
	const struct xgw_snap_hdrop *hdrops;
	uint32_t n_hdrops;
	const struct xgw_snap_sni *snis;
	uint32_t n_snis;
	const struct xgw_snap_cert *certs;
	uint32_t n_certs;
	const struct xgw_snap_uptls *uptls;
	uint32_t n_uptls;
	const char *strings;
	uint32_t strings_len;
};

/*
 * Check <buf> of <len> bytes and fill <snap> with views into it. Returns 0, or
 * -EINVAL (malformed: bad magic, a section or index or string out of range),
 * -EPROTO (another format version). <buf> must stay mapped while <snap> is used.
 */
int xgw_snapshot__open(struct xgw_snapshot *snap, const void *buf, size_t len);

/*
 * xgw_snapshot__open() without the cross references: the header and the
 * sections' bounds only. For a buffer this process built itself
 * (xgw_snapb__finish()), whose indices are right by construction; a snapshot
 * from anywhere else goes through xgw_snapshot__open().
 */
int xgw_snapshot__view(struct xgw_snapshot *snap, const void *buf, size_t len);

/* The bytes of <s>; valid for a snapshot that xgw_snapshot__open() accepted. */
static inline const char *xgw_snap_str_ptr(const struct xgw_snapshot *snap, struct xgw_snap_str s)
{
	return snap->strings + s.off;
}

/*
  * Builder. Each child belongs to the parent added last: vhosts to the last
 * listener, matches to the last vhost, kvs to the last match, backends to the
 * last rule, endpoints to the last cluster, header ops to the last filter.
 * Filters belong to the last rule until a backend of it is added, then to
 * that backend: add a rule, its filters, then each backend and its filters. So add a listener, then its vhosts, each vhost
 * followed by its matches. Rules (then their backends) and clusters (then
 * their endpoints) live in their own sections and may be added at any time;
 * they are referred to by the index their add function returns. All functions return an index >= 0 or -ENOMEM;
 * after a failure the builder only accepts xgw_snapb__free().
 */
struct xgw_snapb;

struct xgw_snapb *xgw_snapb__new(uint64_t generation);
void xgw_snapb__free(struct xgw_snapb *b);
/*
 * A builder holding every section of snapshot <s> (a view at least) as it is,
 * for <generation>, with <s>'s ticket secret: what is added goes after <s>'s
 * entries, whose indices stay, but for the vhosts: those the listeners reach
 * are copied, listener by listener (new indices), the others left out. <s>'s
 * buffer is read in place (only its listeners and vhosts are copied): it
 * must outlive the builder's finish. With
 * xgw_snapb_listener_reopen(), the agent's fast path for route changes
 * (agent/reconcile_patch.c). NULL when out of memory.
 */
struct xgw_snapb *xgw_snapb__from(const struct xgw_snapshot *s, uint64_t generation);
/*
 * Give listener <idx> (already in the builder) a new list of vhosts: the
 * vhosts added next (xgw_snapb_vhost()) are its own, in place of those it had,
 * which stay in the section unreferenced. Its name, address, port and server
 * names stay. Returns 0, -EINVAL (no such listener) or -ENOMEM (the builder
 * failed before).
 */
int xgw_snapb_listener_reopen(struct xgw_snapb *b, uint32_t idx);
/*
 * A vhost of the listener being built that is <old>, a vhost of the snapshot
 * the builder was made from (xgw_snapb__from()), as it is: its hostname,
 * flags and matches are that snapshot's entries, not added again, and no
 * match may follow it. Returns its index, or -EINVAL (its matches are not
 * that snapshot's, or no listener) / -ENOMEM.
 */
int xgw_snapb_vhost_kept(struct xgw_snapb *b, const struct xgw_snap_vhost *old);
/*
 * Room for <n> more entries (bytes for XGW_SECT_STRING) of section <sect>, so
 * that a builder that knows about how many it adds does not grow the section
 * again and again. Changes nothing else. Returns 0, -EINVAL, -E2BIG or -ENOMEM.
 */
int xgw_snapb_reserve(struct xgw_snapb *b, int sect, uint32_t n);

int xgw_snapb_listener(struct xgw_snapb *b, uint8_t family, const uint8_t addr[16], uint16_t port,
		       uint8_t proto, const char *name);
int xgw_snapb_vhost(struct xgw_snapb *b, const char *hostname, size_t hostname_len);
/* Set the XGW_VHOST_* flags of the last vhost. Returns 0 or -EINVAL. */
int xgw_snapb_vhost_flags(struct xgw_snapb *b, uint32_t flags);
int xgw_snapb_match(struct xgw_snapb *b, uint32_t rule, uint8_t path_type, const char *path,
		    size_t path_len, const char *method);
int xgw_snapb_kv(struct xgw_snapb *b, uint8_t kind, uint8_t type, const char *name,
		 const char *value);
int xgw_snapb_rule(struct xgw_snapb *b, const char *route, uint32_t rule_index,
		   uint32_t timeout_request_ms, uint32_t timeout_backend_ms);
/*
 * Give the last rule a retry policy: <attempts> (clamped to
 * XGW_SNAP_RETRY_MAX) retries, <backoff_ms> apart, on connection errors,
 * backend timeouts and the <n_codes> statuses of <codes> (400..599; others
 * are -EINVAL). Returns 0 or -errno.
 */
int xgw_snapb_rule_retry(struct xgw_snapb *b, uint32_t attempts, uint32_t backoff_ms,
			 const uint16_t *codes, size_t n_codes);
/*
 * Give the last rule session persistence: <type> (enum xgw_snap_sp_type, not
 * NONE), <flags> XGW_SP_*, the token's cookie or header <name> (non-empty),
 * the cookie's <path>, the session's absolute and idle limits in seconds (0:
 * none; a permanent cookie needs an absolute limit). 0 or -EINVAL.
 */
int xgw_snapb_rule_session(struct xgw_snapb *b, uint8_t type, uint8_t flags, const char *name,
			   const char *path, uint32_t absolute_s, uint32_t idle_s);
/*
 * Add a filter: <f>'s type and numbers are copied; its string fields are
 * ignored, given as C strings instead (NULL: not set).
 */
int xgw_snapb_filter(struct xgw_snapb *b, const struct xgw_snap_filter *f, const char *scheme,
		     const char *hostname, const char *path);
int xgw_snapb_hdrop(struct xgw_snapb *b, uint8_t op, const char *name, const char *value);
int xgw_snapb_backend(struct xgw_snapb *b, uint32_t cluster, uint32_t weight);
int xgw_snapb_cluster(struct xgw_snapb *b, const char *name);
/* Set the protocol (enum xgw_snap_cluster_proto) of the last cluster. 0 or -EINVAL. */
int xgw_snapb_cluster_proto(struct xgw_snapb *b, uint8_t proto);
/* Set the endpoint choice (enum xgw_snap_lb) of the last cluster. 0 or -EINVAL. */
int xgw_snapb_cluster_lb(struct xgw_snapb *b, uint8_t lb);
int xgw_snapb_endpoint(struct xgw_snapb *b, uint8_t family, const uint8_t addr[16], uint16_t port);
/*
 * Make the last cluster speak TLS to its endpoints as <t> says: its flags,
 * n_sans and san_type are copied, its strings given as C strings (<ca>,
 * <chain>, <key> may be NULL: none). Returns the uptls index, or -EINVAL
 * (no cluster, too many SANs, an unknown SAN type, no CA and no
 * XGW_UPTLS_SYSTEM_CA, a chain without key) or -ENOMEM.
 */
/* Make the last cluster use uptls entry <tls>, already added. 0 or -EINVAL. */
int xgw_snapb_cluster_tls_ref(struct xgw_snapb *b, uint32_t tls);
int xgw_snapb_cluster_tls(struct xgw_snapb *b, const struct xgw_snap_uptls *t, const char *name,
			  const char *sni, const char *ca, const char *chain, const char *key,
			  const char *const *sans);
/*
 * A server name of the last listener, with its client certificate validation
 * (<client_ca>: PEM of <ca_len> bytes), then its certificates (PEM, not
 * NUL-terminated).
 */
int xgw_snapb_sni(struct xgw_snapb *b, const char *hostname, uint8_t client_verify,
		  const char *client_ca, size_t ca_len);
int xgw_snapb_cert(struct xgw_snapb *b, const char *name, const char *chain, size_t chain_len,
		   const char *key, size_t key_len);
/* The session ticket secret of the header (32 bytes). */
void xgw_snapb_ticket_secret(struct xgw_snapb *b, const uint8_t secret[32]);

/*
 * Lay the snapshot out. On success *<out> is a malloc'ed buffer of *<len>
 * bytes owned by the caller, and 0 is returned; -ENOMEM or -E2BIG otherwise.
 * The builder may be freed afterwards.
 */
int xgw_snapb__finish(struct xgw_snapb *b, void **out, size_t *len);

/*
 * A copy of snapshot <s> (a view at least) for <generation> whose clusters have
 * other endpoints: cluster i gets the next <ep_count>[i] of <eps> (<n_eps> in
 * all), and the header <ticket_secret> (32 bytes; NULL: none). It is laid out
 * as xgw_snapb__finish() lays a snapshot out, byte for byte the snapshot a
 * builder fed the same content would make (the fast path for endpoint
 * changes). *<out> is malloc'ed, the caller's. Returns 0, -ENOMEM, -E2BIG, or
 * -EINVAL when the counts do not add up to <n_eps>.
 */
int xgw_snapshot_with_endpoints(const struct xgw_snapshot *s, uint64_t generation,
				const uint8_t *ticket_secret, const struct xgw_snap_endpoint *eps,
				const uint32_t *ep_count, uint32_t n_eps, void **out, size_t *len);

#endif /* XGW_SNAPSHOT_H */
