// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The snapshot format: builder/reader round trip, corruption, and the ctl channel. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "xgw/ctl.h"
#include "xgw/netaddr.h"
#include "xgw/snapshot.h"

/*
 * One listener, two vhosts, a route with two rules, two clusters; with every
 * section reserved for <reserve> entries first (0: none).
 */
static int build_reserved(void **buf, size_t *len, uint32_t reserve)
{
	struct xgw_snapb *b = xgw_snapb__new(42);
	uint8_t fam, addr[16], ep[16];
	int r0, r1, c0, err;

	if (!b)
		return -ENOMEM;
	for (int sect = 0; reserve && sect < XGW_SECT__MAX; sect++)
		if (xgw_snapb_reserve(b, sect, reserve)) {
			xgw_snapb__free(b);
			return -ENOMEM;
		}
	xgw_ip_parse("10.23.100.1", &fam, addr);
	xgw_ip_parse("10.23.1.10", &fam, ep);
	c0 = xgw_snapb_cluster(b, "default/backend-1:80");
	xgw_snapb_cluster_proto(b, XGW_CPROTO_H2C);
	xgw_snapb_cluster_lb(b, XGW_LB_LEAST_REQUEST);
	xgw_snapb_endpoint(b, 4, ep, 8080);
	xgw_snapb_cluster(b, "default/empty:80");
	r0 = xgw_snapb_rule(b, "default/backend", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c0, 1);
	r1 = xgw_snapb_rule(b, "default/backend", 1, 5000, 1000);
	static const uint16_t codes[] = { 503, 400, 599 };

	xgw_snapb_rule_retry(b, 2, 100, codes, 3);
	xgw_snapb_rule_session(b, XGW_SP_COOKIE, XGW_SP_PERMANENT, "sid", "/app", 3600, 60);
	struct xgw_snap_filter f = { .type = XGW_FILTER_REQUEST_HEADER };

	xgw_snapb_filter(b, &f, NULL, NULL, NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_SET, "X-A", "1");
	xgw_snapb_hdrop(b, XGW_HDROP_REMOVE, "X-B", NULL);
	xgw_snapb_backend(b, (uint32_t)c0, 3);
	f = (struct xgw_snap_filter){ .type = XGW_FILTER_URL_REWRITE,
				      .path_mod = XGW_PATHMOD_PREFIX };
	xgw_snapb_filter(b, &f, NULL, "rewritten.example", "/new");
	xgw_snapb_backend(b, XGW_SNAP_NONE, 1);
	/* format 3: a CORS filter with its list items, on a rule of its own */
	xgw_snapb_rule(b, "default/cors", 0, 0, 0);
	f = (struct xgw_snap_filter){ .type = XGW_FILTER_CORS,
				      .num = 600,
				      .flags = XGW_CORS_CREDENTIALS };
	xgw_snapb_filter(b, &f, NULL, NULL, NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_CORS_ORIGIN, "https://*.a.test", NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_CORS_METHOD, "GET", NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_CORS_EXPOSE, "x-e", NULL);
	xgw_snapb_backend(b, (uint32_t)c0, 1);
	xgw_snapb_listener(b, 4, addr, 80, XGW_LPROTO_HTTP, "default/eg/http");
	xgw_snapb_vhost(b, "app.yourdomain.com", 18);
	xgw_snapb_match(b, (uint32_t)r1, XGW_PATH_EXACT, "/exact", 6, "GET");
	xgw_snapb_kv(b, XGW_KV_HEADER, XGW_KV_EXACT, "x-version", "2");
	xgw_snapb_kv(b, XGW_KV_QUERY, XGW_KV_REGEX, "q", "^a.*");
	xgw_snapb_match(b, (uint32_t)r0, XGW_PATH_PREFIX, "/", 1, NULL);
	xgw_snapb_vhost(b, "", 0);
	xgw_snapb_vhost_flags(b, XGW_VHOST_TLS_TERMINATE); /* format 5 */
	err = xgw_snapb_match(b, (uint32_t)r0, XGW_PATH_PREFIX, "/", 1, NULL);
	if (err >= 0)
		err = xgw_snapb__finish(b, buf, len);
	xgw_snapb__free(b);
	return err < 0 ? err : 0;
}

static int build(void **buf, size_t *len)
{
	return build_reserved(buf, len, 0);
}

TEST(round_trip)
{
	struct xgw_snapshot s;
	void *buf = NULL;
	size_t len;

	if (!ASSERT_OK(build(&buf, &len), "build"))
		return;
	if (!ASSERT_OK(xgw_snapshot__open(&s, buf, len), "open"))
		goto out;
	ASSERT_EQ(s.generation, 42, "generation");
	ASSERT_EQ(s.n_listeners, 1, "listeners");
	ASSERT_EQ(s.listeners[0].port, 80, "port");
	ASSERT_EQ(s.listeners[0].vhost_first, 0, "vhost_first");
	ASSERT_EQ(s.listeners[0].vhost_count, 2, "vhost_count");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.listeners[0].name), s.listeners[0].name.len,
		      "default/eg/http", "listener name");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.vhosts[0].hostname), s.vhosts[0].hostname.len,
		      "app.yourdomain.com", "vhost 0");
	ASSERT_EQ(s.vhosts[1].hostname.len, 0, "vhost 1 is any host");
	ASSERT_EQ(s.vhosts[0].match_count, 2, "vhost 0 matches");
	ASSERT_EQ(s.vhosts[1].match_first, 2, "vhost 1 first match");
	ASSERT_EQ(s.matches[0].path_type, XGW_PATH_EXACT, "match 0 exact");
	ASSERT_EQ(s.matches[0].rule, 1, "match 0 rule");
	ASSERT_EQ(s.rules[1].backend_count, 2, "rule 1 backends");
	ASSERT_EQ(s.rules[1].total_weight, 4, "rule 1 weight includes the unresolved backend");
	ASSERT_EQ(s.backends[s.rules[1].backend_first + 1].cluster, XGW_SNAP_NONE, "unresolved");
	ASSERT_EQ(s.n_clusters, 2, "clusters");
	ASSERT_EQ(s.clusters[0].ep_count, 1, "cluster 0 endpoints");
	ASSERT_EQ(s.clusters[1].ep_count, 0, "cluster 1 endpoints");
	ASSERT_EQ(s.endpoints[0].port, 8080, "endpoint port");
	/* format 5: vhost flags, cluster protocol */
	ASSERT_EQ(s.vhosts[0].flags, 0, "vhost 0 flags");
	ASSERT_EQ(s.vhosts[1].flags, XGW_VHOST_TLS_TERMINATE, "vhost 1 terminates");
	ASSERT_EQ(s.clusters[0].proto, XGW_CPROTO_H2C, "cluster 0 speaks h2c");
	ASSERT_EQ(s.clusters[1].proto, XGW_CPROTO_HTTP1, "cluster 1 speaks HTTP/1.1");
	/* format 6: session persistence, least request */
	ASSERT_EQ(s.clusters[0].lb, XGW_LB_LEAST_REQUEST, "cluster 0 least request");
	ASSERT_EQ(s.clusters[1].lb, XGW_LB_ROUND_ROBIN, "cluster 1 round robin");
	ASSERT_EQ(s.rules[0].sp_type, XGW_SP_NONE, "rule 0 no session");
	ASSERT_EQ(s.rules[1].sp_type, XGW_SP_COOKIE, "rule 1 cookie session");
	ASSERT_EQ(s.rules[1].sp_flags, XGW_SP_PERMANENT, "permanent");
	ASSERT_EQ(s.rules[1].sp_absolute_s, 3600, "absolute");
	ASSERT_EQ(s.rules[1].sp_idle_s, 60, "idle");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.rules[1].sp_name), s.rules[1].sp_name.len, "sid",
		      "session name");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.rules[1].sp_path), s.rules[1].sp_path.len, "/app",
		      "cookie path");
	/* format 2: method, header/query conditions, filters on rules and backends */
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.matches[0].method), s.matches[0].method.len, "GET",
		      "method");
	ASSERT_EQ(s.matches[1].method.len, 0, "any method");
	if (ASSERT_EQ(s.matches[0].kv_count, 2, "kvs")) {
		const struct xgw_snap_kv *kv = &s.kvs[s.matches[0].kv_first];

		ASSERT_EQ(kv[0].kind, XGW_KV_HEADER, "header");
		ASSERT_MEMSTR(xgw_snap_str_ptr(&s, kv[0].name), kv[0].name.len, "x-version",
			      "name");
		ASSERT_EQ(kv[1].type, XGW_KV_REGEX, "regex");
	}
	ASSERT_EQ(s.matches[1].kv_count, 0, "no kvs");
	ASSERT_EQ(s.rules[1].timeout_request_ms, 5000, "request timeout");
	ASSERT_EQ(s.rules[1].timeout_backend_ms, 1000, "backend timeout");
	ASSERT_EQ(s.rules[0].filter_count, 0, "rule 0 filters");
	if (ASSERT_EQ(s.rules[1].filter_count, 1, "rule 1 filters")) {
		const struct xgw_snap_filter *f = &s.filters[s.rules[1].filter_first];

		ASSERT_EQ(f->type, XGW_FILTER_REQUEST_HEADER, "rule filter type");
		if (ASSERT_EQ(f->op_count, 2, "ops")) {
			ASSERT_EQ(s.hdrops[f->op_first].op, XGW_HDROP_SET, "set");
			ASSERT_EQ(s.hdrops[f->op_first + 1].op, XGW_HDROP_REMOVE, "remove");
			ASSERT_EQ(s.hdrops[f->op_first + 1].value.len, 0, "remove has no value");
		}
	}
	const struct xgw_snap_backend *be1 = &s.backends[s.rules[1].backend_first];

	ASSERT_EQ(be1[0].filter_count, 1, "backend 0 filter");
	ASSERT_EQ(be1[1].filter_count, 0, "backend 1 no filter");
	if (be1[0].filter_count) {
		const struct xgw_snap_filter *f = &s.filters[be1[0].filter_first];

		ASSERT_EQ(f->type, XGW_FILTER_URL_REWRITE, "backend filter type");
		ASSERT_EQ(f->path_mod, XGW_PATHMOD_PREFIX, "prefix");
		ASSERT_MEMSTR(xgw_snap_str_ptr(&s, f->hostname), f->hostname.len,
			      "rewritten.example", "hostname");
		ASSERT_EQ(f->scheme.len, 0, "scheme not set");
	}
	/* format 3: retry policy of rule 1, the CORS filter of rule 2 */
	ASSERT_EQ(s.rules[0].retry_attempts, 0, "rule 0 no retry");
	ASSERT_EQ(s.rules[1].retry_attempts, 2, "attempts");
	ASSERT_EQ(s.rules[1].retry_backoff_ms, 100, "backoff");
	ASSERT_TRUE(xgw_snap_retry_code(&s.rules[1], 400) &&
			    xgw_snap_retry_code(&s.rules[1], 503) &&
			    xgw_snap_retry_code(&s.rules[1], 599),
		    "codes");
	ASSERT_FALSE(xgw_snap_retry_code(&s.rules[1], 500) ||
			     xgw_snap_retry_code(&s.rules[1], 600) ||
			     xgw_snap_retry_code(&s.rules[0], 503),
		     "other codes");
	if (ASSERT_EQ(s.n_rules, 3, "rules") && ASSERT_EQ(s.rules[2].filter_count, 1, "cors")) {
		const struct xgw_snap_filter *f = &s.filters[s.rules[2].filter_first];

		ASSERT_EQ(f->type, XGW_FILTER_CORS, "CORS type");
		ASSERT_EQ(f->num, 600, "maxAge");
		ASSERT_EQ(f->flags, XGW_CORS_CREDENTIALS, "flags");
		if (ASSERT_EQ(f->op_count, 3, "items")) {
			ASSERT_EQ(s.hdrops[f->op_first].op, XGW_HDROP_CORS_ORIGIN, "origin");
			ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.hdrops[f->op_first].name),
				      s.hdrops[f->op_first].name.len, "https://*.a.test",
				      "origin item");
			ASSERT_EQ(s.hdrops[f->op_first + 2].op, XGW_HDROP_CORS_EXPOSE, "expose");
		}
	}
out:
	free(buf);
}

TEST(rejects_corruption)
{
	struct xgw_snapshot s;
	void *buf = NULL;
	size_t len;

	if (!ASSERT_OK(build(&buf, &len), "build"))
		return;
	struct xgw_snap_hdr *h = buf;
	char *copy = aligned_alloc(8, len);

	/* Every single-byte change to the header is either harmless or caught. */
	for (size_t i = 0; i < sizeof(*h); i++) {
		memcpy(copy, buf, len);
		copy[i] ^= 0xff;
		int err = xgw_snapshot__open(&s, copy, len);

		if ((i >= offsetof(struct xgw_snap_hdr, generation) &&
		     i < offsetof(struct xgw_snap_hdr, size)) ||
		    i >= offsetof(struct xgw_snap_hdr, ticket_secret))
			ASSERT_OK(err, "generation and ticket secret bytes are free");
		else if (!ASSERT_NEQ(err, 0, "corrupt header byte accepted"))
			printf("#   byte %zu\n", i);
	}
	ASSERT_EQ(xgw_snapshot__open(&s, buf, len - 8), -EINVAL, "truncated");
	memcpy(copy, buf, len);
	((struct xgw_snap_hdr *)copy)->format = 99;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EPROTO, "other format");

	/* An index out of range in the body. */
	memcpy(copy, buf, len);
	struct xgw_snap_match *m =
		(void *)(copy + ((struct xgw_snap_hdr *)copy)->sect[XGW_SECT_MATCH].off);
	m->rule = 7;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "match rule out of range");
	memcpy(copy, buf, len);
	m->path.len = 1u << 30;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "string out of range");
	memcpy(copy, buf, len);
	struct xgw_snap_rule *r =
		(void *)(copy + ((struct xgw_snap_hdr *)copy)->sect[XGW_SECT_RULE].off);
	r->total_weight = 9;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "total weight mismatch");
	memcpy(copy, buf, len);
	struct xgw_snap_filter *f =
		(void *)(copy + ((struct xgw_snap_hdr *)copy)->sect[XGW_SECT_FILTER].off);
	f->type = XGW_FILTER_MIRROR; /* a mirror needs a cluster and den > 0 */
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "mirror without fraction");
	memcpy(copy, buf, len);
	f->op_count = 3;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "header ops out of range");
	memcpy(copy, buf, len);
	struct xgw_snap_kv *kv =
		(void *)(copy + ((struct xgw_snap_hdr *)copy)->sect[XGW_SECT_KV].off);
	kv->kind = 7;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "kv kind");
	memcpy(copy, buf, len);
	r[1].retry_codes[3] |= 1ull << 8; /* status 600 */
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "retry code out of range");
	memcpy(copy, buf, len);
	r[1].retry_attempts = XGW_SNAP_RETRY_MAX + 1;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "too many retries");
	memcpy(copy, buf, len);
	f->flags = XGW_CORS_CREDENTIALS;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "CORS flags on a header filter");
	memcpy(copy, buf, len);
	struct xgw_snap_hdrop *op =
		(void *)(copy + ((struct xgw_snap_hdr *)copy)->sect[XGW_SECT_HDROP].off);
	op->op = XGW_HDROP_CORS_ORIGIN;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "CORS item in a header filter");
	memcpy(copy, buf, len);
	op->op = XGW_HDROP_CORS_EXPOSE + 1;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "unknown op");
	memcpy(copy, buf, len);
	((struct xgw_snap_vhost *)(copy + ((struct xgw_snap_hdr *)copy)->sect[XGW_SECT_VHOST].off))
		->flags = 0x80;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "unknown vhost flag");
	memcpy(copy, buf, len);
	((struct xgw_snap_cluster *)(copy +
				     ((struct xgw_snap_hdr *)copy)->sect[XGW_SECT_CLUSTER].off))
		->proto = XGW_CPROTO_H2C + 1;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "unknown cluster protocol");
	memcpy(copy, buf, len);
	r[1].sp_type = XGW_SP_HEADER + 1;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "unknown session type");
	memcpy(copy, buf, len);
	r[1].sp_name.len = 0;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "session without a name");
	free(copy);
	free(buf);
}

/* Format 4: an HTTPS listener's server names and certificates. */
TEST(tls_sections)
{
	struct xgw_snapb *b = xgw_snapb__new(5);
	static const uint8_t secret[32] = { 1, 2, 3 };
	uint8_t fam, addr[16];
	struct xgw_snapshot s;
	void *buf = NULL;
	size_t len;
	int err;

	xgw_ip_parse("10.23.100.1", &fam, addr);
	ASSERT_EQ(xgw_snapb_sni(b, "x", 0, NULL, 0), -EINVAL, "a server name without listener");
	xgw_snapb__free(b);
	b = xgw_snapb__new(5);
	xgw_snapb_listener(b, 4, addr, 443, XGW_LPROTO_HTTPS, "default/eg:443");
	ASSERT_EQ(xgw_snapb_sni(b, "x", 9, NULL, 0), -EINVAL, "unknown verification mode");
	xgw_snapb__free(b);
	b = xgw_snapb__new(5);
	xgw_snapb_ticket_secret(b, secret);
	xgw_snapb_listener(b, 4, addr, 80, XGW_LPROTO_HTTP, "default/eg/http");
	xgw_snapb_listener(b, 4, addr, 443, XGW_LPROTO_HTTPS, "default/eg:443");
	xgw_snapb_vhost(b, "", 0);
	xgw_snapb_sni(b, "a.test", XGW_CLIENT_VERIFY_NONE, NULL, 0);
	xgw_snapb_cert(b, "default/a-rsa", "CHAIN-A", 7, "KEY-A", 5);
	xgw_snapb_cert(b, "default/a-ec", "CHAIN-B", 7, "KEY-B", 5);
	xgw_snapb_sni(b, "", XGW_CLIENT_VERIFY_REQUIRE, "CA", 2);
	err = xgw_snapb_cert(b, "default/any", "CHAIN-C", 7, "KEY-C", 5);
	if (err >= 0)
		err = xgw_snapb__finish(b, &buf, &len);
	xgw_snapb__free(b);
	if (!ASSERT_OK(err < 0 ? err : 0, "build") ||
	    !ASSERT_OK(xgw_snapshot__open(&s, buf, len), "open"))
		goto out;
	ASSERT_EQ(s.listeners[0].sni_count, 0, "plain HTTP: no server names");
	ASSERT_EQ(s.listeners[1].sni_first, 0, "sni_first");
	ASSERT_EQ(s.listeners[1].sni_count, 2, "sni_count");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.snis[0].hostname), s.snis[0].hostname.len, "a.test",
		      "server name");
	ASSERT_EQ(s.snis[0].cert_count, 2, "two certificates");
	ASSERT_EQ(s.snis[1].cert_first, 2, "cert_first");
	ASSERT_EQ(s.snis[1].client_verify, XGW_CLIENT_VERIFY_REQUIRE, "client_verify");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.snis[1].client_ca), s.snis[1].client_ca.len, "CA",
		      "client CA");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.certs[1].key), s.certs[1].key.len, "KEY-B", "key");
	ASSERT_EQ(s.hdr->ticket_secret[2], 3, "ticket secret");

	char *copy = aligned_alloc(8, len);
	struct xgw_snap_hdr *h = (struct xgw_snap_hdr *)copy;

	memcpy(copy, buf, len);
	((struct xgw_snap_sni *)(copy + h->sect[XGW_SECT_SNI].off))[0].cert_count = 0;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "a server name without certificate");
	memcpy(copy, buf, len);
	((struct xgw_snap_sni *)(copy + h->sect[XGW_SECT_SNI].off))[1].cert_count = 2;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "certificates out of range");
	memcpy(copy, buf, len);
	((struct xgw_snap_sni *)(copy + h->sect[XGW_SECT_SNI].off))[1].client_ca.len = 0;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "validation without a CA");
	memcpy(copy, buf, len);
	((struct xgw_snap_listener *)(copy + h->sect[XGW_SECT_LISTENER].off))[1].sni_count = 0;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "HTTPS without server names");
	memcpy(copy, buf, len);
	((struct xgw_snap_listener *)(copy + h->sect[XGW_SECT_LISTENER].off))[0].sni_count = 1;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "server names on plain HTTP");
	/* TLS listeners (format 5): server names for their terminating vhosts */
	struct xgw_snap_listener *cl =
		(struct xgw_snap_listener *)(copy + h->sect[XGW_SECT_LISTENER].off);
	struct xgw_snap_vhost *cv = (struct xgw_snap_vhost *)(copy + h->sect[XGW_SECT_VHOST].off);

	memcpy(copy, buf, len);
	cl[1].proto = XGW_LPROTO_TLS;
	cv[0].flags = XGW_VHOST_TLS_TERMINATE;
	ASSERT_OK(xgw_snapshot__open(&s, copy, len), "TLS terminating with server names");
	cl[1].sni_count = 0;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "TLS terminating without names");
	cv[0].flags = 0;
	ASSERT_OK(xgw_snapshot__open(&s, copy, len), "TLS passthrough without server names");
	cl[1].sni_count = 2;
	ASSERT_OK(xgw_snapshot__open(&s, copy, len), "TLS names before a terminating route");
	cl[1].proto = XGW_LPROTO_TCP;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "server names on TCP");
	memcpy(copy, buf, len);
	((struct xgw_snap_cert *)(copy + h->sect[XGW_SECT_CERT].off))[2].key.len = 1u << 30;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "key out of range");
	free(copy);
out:
	free(buf);
}

TEST(builder_requires_parents)
{
	struct xgw_snapb *b = xgw_snapb__new(1);
	uint8_t a[16] = { 0 };

	ASSERT_EQ(xgw_snapb_vhost(b, "x", 1), -EINVAL, "vhost without listener");
	xgw_snapb__free(b);
	b = xgw_snapb__new(1);
	ASSERT_EQ(xgw_snapb_vhost_flags(b, 0), -EINVAL, "vhost flags without vhost");
	xgw_snapb__free(b);
	b = xgw_snapb__new(1);
	ASSERT_EQ(xgw_snapb_cluster_proto(b, XGW_CPROTO_H2C), -EINVAL, "protocol without cluster");
	xgw_snapb__free(b);
	b = xgw_snapb__new(1);
	xgw_snapb_rule(b, "r", 0, 0, 0);
	ASSERT_EQ(xgw_snapb_rule_session(b, XGW_SP_HEADER, XGW_SP_PERMANENT, "x", NULL, 10, 0),
		  -EINVAL, "a permanent header session");
	xgw_snapb__free(b);
	b = xgw_snapb__new(1);
	xgw_snapb_rule(b, "r", 0, 0, 0);
	ASSERT_EQ(xgw_snapb_rule_session(b, XGW_SP_COOKIE, XGW_SP_PERMANENT, "x", NULL, 0, 0),
		  -EINVAL, "a permanent cookie without lifetime");
	xgw_snapb__free(b);
	b = xgw_snapb__new(1);
	ASSERT_EQ(xgw_snapb_endpoint(b, 4, a, 1), -EINVAL, "endpoint without cluster");
	xgw_snapb__free(b);
	b = xgw_snapb__new(1);
	ASSERT_EQ(xgw_snapb_backend(b, 0, 1), -EINVAL, "backend without rule");
	xgw_snapb__free(b);
}

/* A reservation changes no byte of the snapshot, however it compares with what is added. */
TEST(reserve_changes_nothing)
{
	static const uint32_t sizes[] = { 1, 3, 16, 17, 1000 };
	struct xgw_snapb *b = xgw_snapb__new(1);
	void *want = NULL;
	size_t want_len;

	ASSERT_EQ(xgw_snapb_reserve(b, XGW_SECT__MAX, 1), -EINVAL, "no such section");
	ASSERT_EQ(xgw_snapb_reserve(b, -1, 1), -EINVAL, "negative section");
	ASSERT_EQ(xgw_snapb_reserve(b, XGW_SECT_RULE, UINT32_MAX), -E2BIG, "too many");
	xgw_snapb__free(b);
	if (!ASSERT_OK(build(&want, &want_len), "build"))
		return;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *got = NULL;
		size_t len = 0;

		if (!ASSERT_OK(build_reserved(&got, &len, sizes[i]), "build reserved"))
			break;
		ASSERT_EQ(len, want_len, "length");
		ASSERT_TRUE(len == want_len && !memcmp(got, want, len), "same bytes");
		free(got);
	}
	free(want);
}

TEST(ctl_passes_sealed_memfd)
{
	struct xgw_ctl_msg msg = { .magic = XGW_CTL_MAGIC, .type = XGW_CTL_SNAPSHOT }, in;
	struct xgw_snapshot s;
	struct stat st;
	void *buf = NULL, *map;
	size_t len;
	int sv[2], mfd = -1, rfd = -1;

	if (!ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), "socketpair"))
		return;
	if (!ASSERT_OK(build(&buf, &len), "build"))
		goto out;
	mfd = xgw_memfd_from_buf("xgw-test", buf, len);
	if (!ASSERT_GE(mfd, 0, "memfd"))
		goto out;
	msg.generation = 42;
	msg.size = len;
	if (!ASSERT_OK(xgw_ctl_send(sv[0], &msg, mfd), "send"))
		goto out;
	if (!ASSERT_OK(xgw_ctl_recv(sv[1], &in, &rfd), "recv"))
		goto out;
	ASSERT_EQ(in.type, XGW_CTL_SNAPSHOT, "type");
	ASSERT_EQ(in.generation, 42, "generation");
	if (!ASSERT_GE(rfd, 0, "fd passed"))
		goto out;
	ASSERT_LT(write(rfd, "x", 1), 0, "sealed memfd refuses writes");
	fstat(rfd, &st);
	ASSERT_EQ(st.st_size, (long long)len, "size");
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, rfd, 0);
	if (ASSERT_TRUE(map != MAP_FAILED, "mmap")) {
		ASSERT_OK(xgw_snapshot__open(&s, map, len), "open mapped");
		munmap(map, len);
	}
	int extra;

	ASSERT_EQ(xgw_ctl_recv(sv[1], &in, &extra), -EAGAIN, "nothing more");
	close(sv[0]);
	sv[0] = -1;
	ASSERT_EQ(xgw_ctl_recv(sv[1], &in, &extra), -EPIPE, "peer closed");
out:
	free(buf);
	if (mfd >= 0)
		close(mfd);
	if (rfd >= 0)
		close(rfd);
	if (sv[0] >= 0)
		close(sv[0]);
	close(sv[1]);
}

/* Format 7: TLS to a cluster's endpoints (BackendTLSPolicy). */
TEST(upstream_tls)
{
	static const char *const sans[] = { "spiffe://x/y", "b.test" };
	struct xgw_snap_uptls t = { .n_sans = 2,
				    .san_type = { XGW_SNAP_SAN_URI, XGW_SNAP_SAN_DNS } };
	struct xgw_snap_uptls sys = { .flags = XGW_UPTLS_SYSTEM_CA };
	struct xgw_snapb *b = xgw_snapb__new(9);
	struct xgw_snap_cluster *cl;
	struct xgw_snap_uptls *ut;
	const struct xgw_snap_hdr *h;
	struct xgw_snapshot s;
	void *buf = NULL;
	char *copy;
	size_t len;
	int err;

	ASSERT_EQ(xgw_snapb_cluster_tls(b, &sys, "p", "a.test", NULL, NULL, NULL, NULL), -EINVAL,
		  "TLS without a cluster");
	xgw_snapb__free(b);
	b = xgw_snapb__new(9);
	xgw_snapb_cluster(b, "default/s:443");
	ASSERT_EQ(xgw_snapb_cluster_tls_ref(b, 0), -EINVAL, "a reference to no entry");
	xgw_snapb__free(b);
	b = xgw_snapb__new(9);
	xgw_snapb_cluster(b, "default/s:443");
	ASSERT_EQ(xgw_snapb_cluster_tls(b, &t, "p", "a.test", NULL, NULL, NULL, sans), -EINVAL,
		  "no CA and not the system's");
	xgw_snapb__free(b);
	b = xgw_snapb__new(9);
	xgw_snapb_cluster(b, "default/s:443");
	ASSERT_EQ(xgw_snapb_cluster_tls(b, &sys, "p", "a.test", NULL, "chain", NULL, NULL), -EINVAL,
		  "a client chain without key");
	xgw_snapb__free(b);
	b = xgw_snapb__new(9);
	xgw_snapb_cluster(b, "default/plain:80");
	xgw_snapb_cluster(b, "default/s:443");
	ASSERT_EQ(
		xgw_snapb_cluster_tls(b, &t, "default/p", "a.test", "CA PEM", "chain", "key", sans),
		0, "uptls 0");
	xgw_snapb_cluster(b, "default/s:444");
	ASSERT_EQ(xgw_snapb_cluster_tls(b, &sys, "default/q", "c.test", NULL, NULL, NULL, NULL), 1,
		  "uptls 1");
	xgw_snapb_cluster(b, "default/s:445");
	ASSERT_OK(xgw_snapb_cluster_tls_ref(b, 0), "a cluster sharing uptls 0");
	err = xgw_snapb__finish(b, &buf, &len);
	xgw_snapb__free(b);
	if (!ASSERT_OK(err, "finish"))
		goto out;
	if (!ASSERT_OK(xgw_snapshot__open(&s, buf, len), "open"))
		goto out;
	ASSERT_EQ(s.n_uptls, 2, "two uptls entries");
	ASSERT_EQ(s.clusters[0].tls, XGW_SNAP_NONE, "plain cluster");
	ASSERT_EQ(s.clusters[1].tls, 0, "TLS cluster");
	ASSERT_EQ(s.clusters[2].tls, 1, "system CA cluster");
	ASSERT_EQ(s.clusters[3].tls, 0, "shared entry");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.uptls[0].sni), s.uptls[0].sni.len, "a.test", "sni");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.uptls[0].ca), s.uptls[0].ca.len, "CA PEM", "ca");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.uptls[0].san[0]), s.uptls[0].san[0].len,
		      "spiffe://x/y", "uri san");
	ASSERT_EQ(s.uptls[0].san_type[1], XGW_SNAP_SAN_DNS, "dns san");
	ASSERT_MEMSTR(xgw_snap_str_ptr(&s, s.uptls[0].client_key), s.uptls[0].client_key.len, "key",
		      "client key");
	ASSERT_EQ(s.uptls[1].flags, XGW_UPTLS_SYSTEM_CA, "system CA");

	h = buf;
	copy = malloc(len);
	if (!ASSERT_OK_PTR(copy, "copy"))
		goto out;
	memcpy(copy, buf, len);
	cl = (struct xgw_snap_cluster *)(copy + h->sect[XGW_SECT_CLUSTER].off);
	ut = (struct xgw_snap_uptls *)(copy + h->sect[XGW_SECT_UPTLS].off);
	cl[0].tls = 2;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "uptls index out of range");
	cl[0].tls = XGW_SNAP_NONE;
	ut[1].flags = 0;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "no CA and not the system's");
	ut[1].flags = XGW_UPTLS_SYSTEM_CA;
	ut[0].n_sans = XGW_SNAP_SANS_MAX + 1;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "too many SANs");
	ut[0].n_sans = 2;
	ut[0].san_type[0] = 7;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "unknown SAN type");
	ut[0].san_type[0] = XGW_SNAP_SAN_URI;
	ut[0].sni.len = 0;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "no server name");
	ut[0].sni.len = 6;
	ut[0].client_key.len = 0;
	ASSERT_EQ(xgw_snapshot__open(&s, copy, len), -EINVAL, "a client chain without key");
	ut[0].client_key.len = 3;
	ASSERT_OK(xgw_snapshot__open(&s, copy, len), "restored");
	free(copy);
out:
	free(buf);
}

/* xgw_ip_format() writes IPv4 itself: it must agree with inet_ntop() everywhere. */
TEST(ip_format)
{
	char buf[XGW_IP_STRLEN], ref[INET6_ADDRSTRLEN];
	uint8_t a[16] = { 0 };
	unsigned int seed = 99;

	ASSERT_STREQ(xgw_ip_format(4, a, buf), "0.0.0.0", "zero");
	memset(a, 255, 4);
	ASSERT_STREQ(xgw_ip_format(4, a, buf), "255.255.255.255", "all ones");
	memcpy(a, (uint8_t[]){ 10, 0, 100, 9 }, 4);
	ASSERT_STREQ(xgw_ip_format(4, a, buf), "10.0.100.9", "mixed widths");
	for (int i = 0; i < 10000; i++) {
		for (int k = 0; k < 4; k++)
			a[k] = (uint8_t)(rand_r(&seed) % (k & 1 ? 256 : 120));
		inet_ntop(AF_INET, a, ref, sizeof(ref));
		if (strcmp(xgw_ip_format(4, a, buf), ref)) {
			TEST_FAIL_("%s, inet_ntop says %s", buf, ref);
			return;
		}
	}
	memset(a, 0, 16);
	a[0] = 0xfd;
	a[15] = 1;
	ASSERT_STREQ(xgw_ip_format(6, a, buf), "fd00::1", "IPv6");
}

TEST_MAIN()
