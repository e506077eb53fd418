/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The typed object model: Gateway API and core Kubernetes objects as the
 * sources (a folder of YAML, the Kubernetes API) deliver them and as the
 * reconciler reads them. Only the fields xgw uses are kept.
 *
 * Ownership: every object, string and array of a store is allocated from the
 * store's arena and freed with the store (xgw_store__free). Strings are
 * NUL-terminated; an absent optional string is NULL. Arrays are (ptr, n).
 */
#ifndef XGW_MODEL_H
#define XGW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XGW_CONTROLLER_NAME "xgw.io/gateway-controller"
#define XGW_CONFIG_GROUP "xgw.io" /* of XgwNode and XgwConfig */
#define XGW_GATEWAY_GROUP "gateway.networking.k8s.io"

/* Bump allocator; everything in it is freed at once. */
struct xgw_arena {
	struct xgw_arena_block *head;
};

void *xgw_arena_alloc(struct xgw_arena *a, size_t size); /* zeroed; NULL on ENOMEM */
/* Not zeroed, for a caller that writes all of it: more than a quarter of a
 * block gets a block of its own from malloc() (the others are zeroed anyway). */
void *xgw_arena_alloc_raw(struct xgw_arena *a, size_t size);
char *xgw_arena_strndup(struct xgw_arena *a, const char *s, size_t n);
char *xgw_arena_strdup(struct xgw_arena *a, const char *s);
char *xgw_arena_printf(struct xgw_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xgw_arena_free(struct xgw_arena *a);
/* Free everything but one block, kept for reuse: cheaper than free + alloc
 * for arenas that live briefly again and again (one per YAML document). */
void xgw_arena_reset(struct xgw_arena *a);

struct xgw_label {
	char *key;
	char *value;
};

/* Where an object came from, for error messages: "file.yaml" document 3. */
struct xgw_origin {
	char *file; /* path as given, or "kube" */
	int doc;    /* 1-based document index in the file, 0 if not from a file */
	int line;   /* 1-based line of the document start */
};

struct xgw_meta {
	char *name;
	char *ns;	    /* "default" when the manifest omits it (namespaced kinds) */
	int64_t generation; /* metadata.generation, 1 when absent */
	char *uid;
	char *creation_timestamp; /* RFC 3339, NULL when absent */
	struct xgw_label *labels;
	size_t n_labels;
	struct xgw_label *annotations;
	size_t n_annotations;
	struct xgw_origin origin;
};

/* --- gateway.networking.k8s.io ---------------------------------------- */

struct xgw_gatewayclass {
	struct xgw_meta meta;
	char *controller_name;
	char *description;
	/* spec.parametersRef (params_kind NULL: none); group "" is the core group */
	char *params_group;
	char *params_kind;
	char *params_name;
	char *params_ns; /* NULL: none given */
};

enum xgw_listener_proto {
	XGW_PROTO_UNKNOWN = 0, /* something we do not support; kept for status */
	XGW_PROTO_HTTP,
	XGW_PROTO_HTTPS,
	XGW_PROTO_TLS,
	XGW_PROTO_TCP,
	XGW_PROTO_UDP,
};

enum xgw_from {
	XGW_FROM_SAME = 0, /* the default */
	XGW_FROM_ALL,
	XGW_FROM_SELECTOR,
	XGW_FROM_NONE,
};

struct xgw_route_kind {
	char *group; /* "gateway.networking.k8s.io" when omitted */
	char *kind;
};

struct xgw_label_selector {
	struct xgw_label *match_labels;
	size_t n_match_labels;
	/* matchExpressions: key In/NotIn/Exists/DoesNotExist values */
	struct xgw_label_expr {
		char *key;
		char *op;
		char **values;
		size_t n_values;
	} * exprs;
	size_t n_exprs;
};

struct xgw_cert_ref {
	char *group; /* "" for core */
	char *kind;  /* "Secret" when omitted */
	char *name;
	char *ns; /* NULL: the Gateway's namespace */
};

struct xgw_gw_listener {
	char *name;
	char *hostname; /* NULL: any */
	uint32_t port;	/* 1..65535 when valid; kept as given for status */
	enum xgw_listener_proto proto;
	char *proto_name; /* as written, for UnsupportedProtocol messages */
	enum xgw_from from;
	struct xgw_label_selector selector; /* from == XGW_FROM_SELECTOR */
	struct xgw_route_kind *kinds;	    /* allowedRoutes.kinds; n == 0: protocol default */
	size_t n_kinds;
	char *tls_mode; /* "Terminate" / "Passthrough" / NULL */
	struct xgw_cert_ref *cert_refs;
	size_t n_cert_refs;
};

struct xgw_gw_address {
	char *type; /* "IPAddress" when omitted, or "Hostname", or a domain-prefixed type */
	char *value;
};

/*
 * Client certificate validation of TLS listeners (spec.tls.frontend): the
 * default, or the entry of one port (perPort[].port, > 0).
 */
struct xgw_frontend_validation {
	uint32_t port; /* 0: spec.tls.frontend.default */
	char *mode;    /* "AllowValidOnly" when omitted, or "AllowInsecureFallback" */
	struct xgw_cert_ref *ca_refs; /* caCertificateRefs (kind ConfigMap when omitted) */
	size_t n_ca_refs;
};

struct xgw_gateway {
	struct xgw_meta meta;
	char *class_name;
	struct xgw_gw_address *addresses;
	size_t n_addresses;
	struct xgw_gw_listener *listeners;
	size_t n_listeners;
	/* spec.tls.frontend: default (NULL: none) and per-port validation */
	struct xgw_frontend_validation *fe_default;
	struct xgw_frontend_validation *fe_ports;
	size_t n_fe_ports;
	/* spec.tls.backend.clientCertificateRef (NULL: none) */
	struct xgw_cert_ref *backend_client_cert;
	/* spec.infrastructure.parametersRef (NULL: none); xgw knows no parameters
	 * kind, so a Gateway that names one is not accepted */
	char *params_kind;
	char *params_name;
	/* spec.allowedListeners.namespaces: which ListenerSets may attach
	 * (XGW_FROM_NONE when omitted) */
	enum xgw_from allowed_listeners;
	struct xgw_label_selector listeners_selector; /* XGW_FROM_SELECTOR */
};

/*
 * A ListenerSet (GEP-1713): listeners that join those of its parent Gateway,
 * when that Gateway's allowedListeners lets its namespace in.
 */
struct xgw_listenerset {
	struct xgw_meta meta;
	char *parent_group; /* "gateway.networking.k8s.io" when omitted */
	char *parent_kind;  /* "Gateway" when omitted */
	char *parent_ns;    /* the ListenerSet's namespace when omitted */
	char *parent_name;
	struct xgw_gw_listener *listeners;
	size_t n_listeners;
};

struct xgw_parent_ref {
	char *group; /* "gateway.networking.k8s.io" when omitted */
	char *kind;  /* "Gateway" (when omitted) or "ListenerSet" */
	char *ns;    /* NULL: the route's namespace */
	char *name;
	char *section_name; /* NULL: every listener */
	uint32_t port;	    /* 0: any port */
};

struct xgw_http_filter;

struct xgw_backend_ref {
	char *group; /* "" (core) when omitted */
	char *kind;  /* "Service" when omitted */
	char *ns;    /* NULL: the route's namespace */
	char *name;
	uint32_t port;			 /* 0: not given (invalid for Service) */
	uint32_t weight;		 /* 1 when omitted */
	struct xgw_http_filter *filters; /* backendRefs[].filters, after the rule's */
	size_t n_filters;
};

enum xgw_path_match {
	XGW_MATCH_PATH_PREFIX = 0, /* the default, value "/" */
	XGW_MATCH_PATH_EXACT,
	XGW_MATCH_PATH_REGEX,
};

struct xgw_kv_match {
	char *type; /* "Exact" (default) or "RegularExpression" */
	char *name;
	char *value;
};

struct xgw_http_match {
	enum xgw_path_match path_type;
	char *path;   /* "/" when omitted */
	char *method; /* NULL: any */
	struct xgw_kv_match *headers;
	size_t n_headers;
	struct xgw_kv_match *query;
	size_t n_query;
};

enum xgw_filter_type {
	XGW_HF_REQUEST_HEADER = 1, /* RequestHeaderModifier */
	XGW_HF_RESPONSE_HEADER,	   /* ResponseHeaderModifier */
	XGW_HF_REDIRECT,	   /* RequestRedirect */
	XGW_HF_URL_REWRITE,	   /* URLRewrite */
	XGW_HF_MIRROR,		   /* RequestMirror */
	XGW_HF_CORS,		   /* CORS */
	XGW_HF_EXTENSION_REF,	   /* ExtensionRef: decoded by type only */
};

enum xgw_path_modifier {
	XGW_PM_NONE = 0,
	XGW_PM_FULL,   /* ReplaceFullPath */
	XGW_PM_PREFIX, /* ReplacePrefixMatch */
};

struct xgw_header_kv {
	char *name;
	char *value;
};

/* The cors block of a CORS filter. */
struct xgw_cors {
	char **origins; /* allowOrigins: "scheme://host[:port]", "*" or with a "*" label wildcard */
	size_t n_origins;
	char **methods; /* allowMethods: methods or "*" */
	size_t n_methods;
	char **headers; /* allowHeaders: header names or "*" */
	size_t n_headers;
	char **expose; /* exposeHeaders */
	size_t n_expose;
	bool credentials; /* allowCredentials */
	uint32_t max_age; /* maxAge, seconds; 5 when omitted */
};

struct xgw_http_filter {
	enum xgw_filter_type type;
	/* REQUEST_HEADER, RESPONSE_HEADER */
	struct xgw_header_kv *set;
	size_t n_set;
	struct xgw_header_kv *add;
	size_t n_add;
	char **remove;
	size_t n_remove;
	/* REDIRECT (scheme, hostname, port, status_code, path) and URL_REWRITE
	 * (hostname, path); NULL / 0 when not set */
	char *scheme;
	char *hostname;
	uint32_t port;
	uint32_t status_code; /* 302 when omitted */
	enum xgw_path_modifier path_mod;
	char *path; /* replaceFullPath or replacePrefixMatch */
	/* MIRROR */
	struct xgw_backend_ref *mirror; /* backendRef */
	uint32_t mirror_num;		/* percent (den 100) or fraction; 100/100 when omitted */
	uint32_t mirror_den;
	/* CORS */
	struct xgw_cors cors;
};

/* Retry defaults, the spec leaving them to the implementation. */
#define XGW_RETRY_ATTEMPTS_DEFAULT 1
#define XGW_RETRY_BACKOFF_DEFAULT_MS 25

/* rules[].retry (GEP-1731). */
struct xgw_retry {
	bool set;	 /* the rule has a retry block */
	uint16_t *codes; /* codes: 400..599; none: connection errors and timeouts only */
	size_t n_codes;
	uint32_t attempts; /* retries after the first try; XGW_RETRY_ATTEMPTS_DEFAULT if omitted */
	uint32_t backoff_ms; /* XGW_RETRY_BACKOFF_DEFAULT_MS when omitted */
};

/* rules[].sessionPersistence (GEP-1619, experimental channel). */
enum xgw_session_type {
	XGW_SESSION_NONE = 0,
	XGW_SESSION_COOKIE,
	XGW_SESSION_HEADER,
};

/* The token's name when sessionName is omitted (implementation-specific). */
#define XGW_SESSION_NAME_DEFAULT "xgw-session"

struct xgw_session {
	enum xgw_session_type type; /* NONE: the rule has no sessionPersistence */
	char *name;		    /* sessionName; NULL: XGW_SESSION_NAME_DEFAULT */
	uint32_t absolute_ms;	    /* absoluteTimeout; 0: none */
	uint32_t idle_ms;	    /* idleTimeout; 0: none */
	bool permanent;		    /* cookieConfig.lifetimeType Permanent */
};

struct xgw_http_rule {
	char *name;			/* optional rule name */
	struct xgw_http_match *matches; /* n == 0 means one match: PathPrefix "/" */
	size_t n_matches;
	struct xgw_backend_ref *backends;
	size_t n_backends;
	struct xgw_http_filter *filters;
	size_t n_filters;
	uint32_t timeout_request_ms; /* timeouts.request; 0: none */
	uint32_t timeout_backend_ms; /* timeouts.backendRequest; 0: none */
	struct xgw_retry retry;
	struct xgw_session session;
};

struct xgw_httproute {
	struct xgw_meta meta;
	struct xgw_parent_ref *parents;
	size_t n_parents;
	char **hostnames;
	size_t n_hostnames;
	struct xgw_http_rule *rules;
	size_t n_rules;
};

/*
 * GRPCRoute (gateway.networking.k8s.io/v1). Its parentRefs, hostnames,
 * filters and backendRefs have the HTTPRoute types: the decoder accepts only
 * the filter types the GRPCRoute API lists (RequestHeaderModifier,
 * ResponseHeaderModifier, RequestMirror, ExtensionRef).
 */
enum xgw_grpc_method_type {
	XGW_GRPC_EXACT = 0, /* the default */
	XGW_GRPC_REGEX,	    /* RegularExpression */
};

struct xgw_grpc_match {
	enum xgw_grpc_method_type type;
	char *service; /* method.service; NULL: any (also when there is no method block) */
	char *method;  /* method.method; NULL: any */
	struct xgw_kv_match *headers; /* type "Exact" or "RegularExpression" */
	size_t n_headers;
};

struct xgw_grpc_rule {
	char *name;
	struct xgw_grpc_match *matches; /* n == 0: every request */
	size_t n_matches;
	struct xgw_http_filter *filters;
	size_t n_filters;
	struct xgw_backend_ref *backends;
	size_t n_backends;
};

/*
 * The L4 routes: TLSRoute (hostnames: server names of the ClientHello),
 * TCPRoute and UDPRoute (no hostnames). Their rules only carry backendRefs
 * (with no filters).
 */
enum xgw_l4_kind {
	XGW_L4_TLS = 0,
	XGW_L4_TCP,
	XGW_L4_UDP,
};

struct xgw_l4_rule {
	char *name; /* optional rule name */
	struct xgw_backend_ref *backends;
	size_t n_backends;
};

struct xgw_l4route {
	struct xgw_meta meta;
	enum xgw_l4_kind kind;
	struct xgw_parent_ref *parents;
	size_t n_parents;
	char **hostnames; /* TLSRoute only */
	size_t n_hostnames;
	struct xgw_l4_rule *rules;
	size_t n_rules;
};

/* "TLSRoute", "TCPRoute" or "UDPRoute". */
const char *xgw_l4_kind_name(enum xgw_l4_kind k);

struct xgw_grpcroute {
	struct xgw_meta meta;
	struct xgw_parent_ref *parents;
	size_t n_parents;
	char **hostnames;
	size_t n_hostnames;
	struct xgw_grpc_rule *rules;
	size_t n_rules;
};

/* A ReferenceGrant: objects of <from> may refer to objects of <to> in the
 * grant's own namespace. */
struct xgw_grant_from {
	char *group; /* "" for core */
	char *kind;
	char *ns;
};

struct xgw_grant_to {
	char *group; /* "" for core */
	char *kind;
	char *name; /* NULL: every object of that kind */
};

struct xgw_referencegrant {
	struct xgw_meta meta;
	struct xgw_grant_from *from;
	size_t n_from;
	struct xgw_grant_to *to;
	size_t n_to;
};

/*
 * A BackendTLSPolicy (gateway.networking.k8s.io/v1, GEP-1897): how the
 * gateway speaks TLS to the Services it targets.
 */
struct xgw_btls_target {
	char *group; /* "" (core) */
	char *kind;  /* "Service" */
	char *name;
	char *section_name; /* a Service port name; NULL: every port */
};

enum xgw_san_type {
	XGW_SAN_HOSTNAME = 0, /* a DNS name: a dNSName SAN of the certificate */
	XGW_SAN_URI,	      /* a URI: a uniformResourceIdentifier SAN */
};

struct xgw_btls_san {
	enum xgw_san_type type;
	char *value;
};

struct xgw_btls_policy {
	struct xgw_meta meta;
	struct xgw_btls_target *targets; /* targetRefs, 1..16 */
	size_t n_targets;
	struct xgw_cert_ref *ca_refs; /* validation.caCertificateRefs (kind ConfigMap) */
	size_t n_ca_refs;
	char *well_known; /* validation.wellKnownCACertificates ("System"), NULL: none */
	char *hostname;	  /* validation.hostname: SNI, and the name verified without SANs */
	struct xgw_btls_san *sans; /* validation.subjectAltNames */
	size_t n_sans;
};

/* --- core / discovery ------------------------------------------------- */

struct xgw_service_port {
	char *name; /* may be NULL for a single unnamed port */
	uint32_t port;
	uint32_t target_port;	/* 0 when target_port_name is set or absent (= port) */
	char *target_port_name; /* named targetPort */
	char *protocol;		/* "TCP" when omitted */
	char *app_protocol;
};

struct xgw_service {
	struct xgw_meta meta;
	char *type; /* "ClusterIP" when omitted */
	struct xgw_service_port *ports;
	size_t n_ports;
};

/* An endpoint address parsed once, when its manifest is decoded. */
struct xgw_eps_ip {
	uint8_t family; /* 0: not an IP address (the reconciler skips it) */
	uint8_t addr[16];
};

struct xgw_eps_endpoint {
	char **addresses;
	size_t n_addresses;
	struct xgw_eps_ip *ips; /* addresses parsed, n_addresses of them; NULL: parse them */
	bool ready;		/* conditions.ready; true when absent (as Kubernetes says) */
};

struct xgw_eps_port {
	char *name; /* NULL or "" for the unnamed port */
	uint32_t port;
	char *protocol;
	char *app_protocol;
};

struct xgw_endpointslice {
	struct xgw_meta meta;
	char *service_name; /* label kubernetes.io/service-name */
	char *address_type; /* IPv4, IPv6, FQDN */
	struct xgw_eps_endpoint *endpoints;
	size_t n_endpoints;
	struct xgw_eps_port *ports;
	size_t n_ports;
};

struct xgw_namespace {
	struct xgw_meta meta; /* meta.ns is NULL: cluster-scoped */
};

/*
 * A Secret. Only what TLS listeners read is kept: the type and the PEM of
 * data "tls.crt" / "tls.key" (base64-decoded; stringData is merged over data
 * as the API server does). The PEM is NUL-terminated; NULL when absent.
 */
/* A ConfigMap: only data "ca.crt" (PEM CA certificates; NULL when absent) is kept. */
struct xgw_configmap {
	struct xgw_meta meta;
	char *ca_crt;
};

struct xgw_secret {
	struct xgw_meta meta;
	char *type; /* "Opaque" when omitted */
	char *tls_crt;
	size_t tls_crt_len;
	char *tls_key;
	size_t tls_key_len;
};

/* --- xgw.io ------------------------------------------------------------ */

/*
 * XgwNode (xgw.io/v1alpha1, cluster-scoped): one node of a standalone
 * multi-node deployment. The nodes in the agent's folder form the Maglev ring
 * of the L4 tier; with none, the agent runs single-node (everything local).
 */
struct xgw_node {
	struct xgw_meta meta;
	char *address;	/* spec.address: the node's underlay IP (v4 or v6), as written */
	uint8_t family; /* 4 or 6: spec.address parsed */
	uint8_t addr[16];
	uint32_t weight; /* spec.weight: 1 when omitted; 0 takes the node out of new flows */
	bool healthy;	 /* spec.healthy: true when omitted */
};

/* An address range: <family> 4 or 6, the network address, the prefix length. */
struct xgw_cidr {
	uint8_t family;
	uint8_t addr[16];
	unsigned prefix;
};

/*
 * XgwConfig (xgw.io/v1alpha1, cluster-scoped): the parameters of the
 * GatewayClasses whose spec.parametersRef names it.
 */
struct xgw_class_config {
	struct xgw_meta meta;
	struct xgw_cidr *pools; /* spec.addressPools: where its Gateways' addresses come from */
	size_t n_pools;
	uint32_t workers; /* spec.workers: L7 workers per node; 0 when omitted */
};

#define XGW_CONFIG_WORKERS_MAX 64

/* --- the store -------------------------------------------------------- */

/* A problem found while decoding, reported per object and never fatal. */
struct xgw_decode_error {
	struct xgw_origin origin;
	char *kind; /* may be NULL when the document had none */
	char *ns;
	char *name;
	char *message;
};

struct xgw_store {
	struct xgw_arena arena;
	struct xgw_gatewayclass *classes;
	size_t n_classes;
	struct xgw_gateway *gateways;
	size_t n_gateways;
	struct xgw_listenerset *listenersets;
	size_t n_listenersets;
	struct xgw_httproute *httproutes;
	size_t n_httproutes;
	struct xgw_l4route *l4routes; /* TLSRoutes, TCPRoutes and UDPRoutes */
	size_t n_l4routes;
	struct xgw_grpcroute *grpcroutes;
	size_t n_grpcroutes;
	struct xgw_service *services;
	size_t n_services;
	struct xgw_endpointslice *slices;
	size_t n_slices;
	struct xgw_namespace *namespaces;
	size_t n_namespaces;
	struct xgw_node *nodes;
	size_t n_nodes;
	struct xgw_class_config *class_configs; /* XgwConfigs */
	size_t n_class_configs;
	struct xgw_referencegrant *grants;
	size_t n_grants;
	struct xgw_secret *secrets;
	size_t n_secrets;
	struct xgw_configmap *configmaps;
	size_t n_configmaps;
	struct xgw_btls_policy *btls_policies; /* BackendTLSPolicies */
	size_t n_btls_policies;
	struct xgw_decode_error *errors;
	size_t n_errors;
	/* Gateway API objects of kinds not decoded yet */
	size_t n_ignored;
	/*
	 * What xgw_store_load_yaml() read besides EndpointSlices: the bytes of
	 * every document that did not decode to EndpointSlices alone, each
	 * after its length (8 bytes), in order; or the whole input when its
	 * documents cannot be told apart. Two loads of one file with equal
	 * <nonslice> give equal objects but for their EndpointSlices (the
	 * folder source's fast path for endpoint changes). Not copied by
	 * xgw_store_append().
	 */
	char *nonslice;
	size_t nonslice_len, cap_nonslice;
	/* Called by xgw_store__free() before anything is freed: a store made of
	 * shallow copies (xgw_store_append) keeps the stores it points into alive
	 * until then. NULL for an ordinary store. */
	void (*release)(void *arg);
	void *release_arg;
	/* capacities of the arrays above (private to the store) */
	size_t cap_classes, cap_gateways, cap_listenersets, cap_httproutes, cap_services,
		cap_slices, cap_namespaces, cap_errors, cap_nodes, cap_grants, cap_secrets,
		cap_configmaps, cap_l4routes, cap_grpcroutes, cap_class_configs;
	size_t cap_btls_policies;
};

struct xgw_store *xgw_store__new(void);
void xgw_store__free(struct xgw_store *st);

/*
 * Decode every YAML document of <buf>[0, <len>) into <st>, attributing objects
 * to <file>. Documents that fail to decode (syntax, missing name, unknown kind,
 * wrong field type) are recorded in st->errors with their origin and skipped;
 * the others are added. Returns 0, or -ENOMEM. A YAML syntax error or nesting
 * deeper than 64 levels stops the rest of that file (libyaml cannot resync;
 * earlier documents are kept), and invalid UTF-8 or a control character
 * rejects the whole file; each is recorded as one error.
 */
int xgw_store_load_yaml(struct xgw_store *st, const char *file, const char *buf, size_t len);

/*
 * Decode every *.yaml / *.yml file directly in <dir> (sorted by name, so the
 * result does not depend on readdir order; hidden files skipped). Returns 0,
 * or -errno when <dir> cannot be read (a file that cannot be read becomes a
 * decode error).
 */
int xgw_store_load_dir(struct xgw_store *st, const char *dir);

/*
 * Append shallow copies of every object of <src> (not its errors) to <dst>.
 * The copies point into <src>'s arena: <src> must outlive <dst> (see
 * struct xgw_store's release). Returns 0 or -ENOMEM.
 */
int xgw_store_append(struct xgw_store *dst, const struct xgw_store *src);
/* xgw_store_append() of each of <src>[0, <n>), with each array grown once. */
int xgw_store_append_all(struct xgw_store *dst, struct xgw_store *const *src, size_t n);

/*
 * Objects of one kind with the same namespace and name, which a folder of
 * manifests may hold where the API server cannot: the last one (in store
 * order: files by name, documents in order) stays, as `kubectl apply` of the
 * folder would leave it, and the others are dropped from <st> (nothing is
 * freed: the arrays of a merged store hold shallow copies). <report>(<arg>,
 * <msg>) is called for each one dropped, naming both. With <slices_only>, only
 * EndpointSlices are looked at (the others cannot have changed since a check).
 * Returns the number of objects dropped that are not EndpointSlices, or
 * -ENOMEM.
 */
int xgw_store_dedupe(struct xgw_store *st, bool slices_only,
		     void (*report)(void *arg, const char *msg), void *arg);
/*
 * <fn>(<arg>, kind, metadata) for each object of <st>, EndpointSlices too, in
 * the store's order; the kind names a duplicate as xgw_store_dedupe() does.
 * Stops at, and returns, the first non-zero return of <fn>; else 0.
 */
int xgw_store_each(const struct xgw_store *st,
		   int (*fn)(void *arg, const char *kind, const struct xgw_meta *m), void *arg);

/* Label lookup: the value for <key> or NULL. */
const char *xgw_meta_label(const struct xgw_meta *m, const char *key);
/* The value of annotation <key>, or NULL. */
const char *xgw_meta_annotation(const struct xgw_meta *m, const char *key);

/*
 * Service annotation choosing how workers pick its endpoints: "round-robin"
 * (the default) or "least-request" (power of two choices).
 */
#define XGW_ANN_LOAD_BALANCER "xgw.io/load-balancer"

#endif /* XGW_MODEL_H */
