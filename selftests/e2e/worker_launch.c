// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * worker-launch: plays the agent for one xgw-worker, for worker_smoke.sh.
 *
 *   worker-launch --worker PATH --upstream PORT[,PORT] [--aux PORT] [--log-level L]
 *                 [--h2c PORT] [--grpc PORT]
 *
 * Binds a dual-stack listening socket on [::]:ephemeral (without sk_lookup,
 * an accepted socket's local address is what the client dialled: 127.0.0.1
 * or ::1), spawns the worker with it and a SEQPACKET control socket, prints
 * "port N" and "pid N", then obeys one command per line on stdin and answers
 * one line each:
 *
 *   snap GEN VARIANT  send a snapshot           -> "ack GEN ERR"
 *   bad GEN           send a corrupt snapshot   -> "ack GEN ERR"
 *   badre GEN         send a snapshot with a regular expression that does
 *                     not compile                -> "ack GEN ERR"
 *   stats             ask for counters          -> "stats accepted A active B requests C ..."
 *   drain             XGW_CTL_DRAIN             -> "ok"
 *   closectl          close the control socket  -> "ok"
 *   wait SECS         wait for the worker exit  -> "exit CODE" | "signal SIG" | "timeout"
 *
 * On stdin EOF the worker gets SIGTERM and is waited for. Everything stays
 * on loopback.
 *
 * With --l4 (e2e_l4.sh, run in a namespace whose lo has 10.0.0.1-6 and
 * fd00::1-2) the snapshot has L4 listeners on port N instead, and the
 * worker also gets a dual-stack UDP socket on port N:
 *   TCP 10.0.0.1, fd00::1  weights 3:1 over --tcp-up A,B
 *   TLS 10.0.0.2, fd00::2  "exact.test" -> --tls-up[0], "*.wild.test" ->
 *                          --tls-up[1], "" -> --tls-up[2] (passthrough);
 *                          "term.test" terminated (--cert/--key) -> tcp-up A
 *   TCP 10.0.0.3           a rule without backends (reset)
 *   TCP 10.0.0.4           a Service of a refused endpoint and tcp-up A
 *   TCP 10.0.0.5           a Service without endpoints (reset)
 *   TLS 10.0.0.6           "exact.test" only (passthrough): other names reset
 *   UDP 10.0.0.1, fd00::1  --udp-up
 * --worker-arg passes one more argument to the worker (repeatable).
 *
 * The snapshot, on 127.0.0.1:N and [::1]:N: host "dead.test" -> 127.0.0.1:1
 * (refused), "only.test" -> Exact "/x", "*.wild.test" -> main, any host ->
 * Exact "/none" (rule without backends: 500), "/empty" (cluster without
 * endpoints: 503), "/" -> main. main is every upstream (VARIANT 0) or the
 * last one only (VARIANT 1).
 *
 * Format 2 features, with "aux" the --aux upstream (the test's logging,
 * sleeping server): "only.test" also has Exact "/post" for POST only, Exact
 * "/q" with query v=1, RegularExpression "/re/[0-9]+"; "hdr.test" routes
 * requests with header X-Route: b to main with X-Matched: hdr added, others
 * to main. Any host: "/redir" answers 301 to https://example.org/moved...
 * (PathPrefix replaced), "/rewrite" goes to main as rewritten.test with
 * "/rewrite" replaced by "/new", "/hdrs" sets, adds and removes request and
 * response headers, "/mirror" goes to main and is mirrored to aux, and
 * "/slow-req" and "/slow-be" go to aux with a request or a backendRequest
 * timeout of 500 ms ("/slow-ok": both 3 s).
 *
 * Format 3: "/retry" goes to aux with a retry policy (codes 500 and 503, 2
 * attempts, backoff 200 ms); "/mixed" to a cluster of a refused endpoint
 * and aux, with 1 attempt (connection errors only), "/eject" to the same
 * cluster without retries (passive health ejects the refused one); "/rtmo" to aux with 5
 * attempts, no codes, no backoff, a backendRequest timeout of 300 ms and a
 * request timeout of 1 s; "/cors" to main through
 * a CORS filter: origins https://www.foo.com and any subdomain of bar.com (https), methods
 * GET and OPTIONS, headers x-header-1 and x-header-2, exposed x-header-3,
 * credentials, max age 3600.
 *
 * Format 5: clusters of protocol H2C (HTTP/2 with prior knowledge): host
 * "h2c.test" goes to the --h2c upstream, "grpc.test" routes PathPrefix
 * "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/" to the --grpc
 * upstream (anything else there: 404), "h2cdead.test" to a refused H2C
 * endpoint (127.0.0.1:1). VARIANT 2 is VARIANT 1 with "h2c.test"'s cluster
 * left without its endpoint.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xgw/ctl.h"
#include "xgw/snapshot.h"

#define MAX_UP 8

static uint16_t up_ports[MAX_UP];
static int n_up;
static uint16_t aux_port;
static uint16_t h2c_port, grpc_port;
static uint16_t port;
static bool l4;
static uint16_t tcp_up[2], tls_up[3], udp_up;
static int n_tcp_up, n_tls_up;
static char *cert_pem, *key_pem;
static size_t cert_len, key_len;

static const uint8_t lo4[16] = { 127, 0, 0, 1 };
static const uint8_t lo6[16] = { [15] = 1 };

static void filter(struct xgw_snapb *b, uint8_t type, const char *scheme, const char *host,
		   uint32_t port_, uint8_t mod, const char *path, uint16_t status)
{
	struct xgw_snap_filter f = {
		.type = type, .port = port_, .path_mod = mod, .status = status, .den = 1
	};

	xgw_snapb_filter(b, &f, scheme, host, path);
}

static void mirror(struct xgw_snapb *b, uint32_t cluster)
{
	struct xgw_snap_filter f = {
		.type = XGW_FILTER_MIRROR, .cluster = cluster, .num = 1, .den = 1
	};

	xgw_snapb_filter(b, &f, NULL, NULL, NULL);
}

static void match(struct xgw_snapb *b, int rule, uint8_t type, const char *path, const char *method)
{
	xgw_snapb_match(b, (uint32_t)rule, type, path, strlen(path), method);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) &&
	    (p = malloc((size_t)n)) && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	if (p)
		*len = (size_t)n;
	fclose(f);
	return p;
}

static int cluster1(struct xgw_snapb *b, const char *name, uint16_t p)
{
	int c = xgw_snapb_cluster(b, name);

	if (p)
		xgw_snapb_endpoint(b, 4, lo4, p);
	return c;
}

static void l4_vhost(struct xgw_snapb *b, const char *host, int rule, uint32_t flags)
{
	xgw_snapb_vhost(b, host, strlen(host));
	if (flags)
		xgw_snapb_vhost_flags(b, flags);
	match(b, rule, XGW_PATH_PREFIX, "/", NULL);
}

static int build_l4(uint64_t gen, void **buf, size_t *len)
{
	struct xgw_snapb *b = xgw_snapb__new(gen);
	uint8_t a[16] = { 10, 0, 0, 1 }, a6[16] = { 0xfd, [15] = 1 };
	int c_a, c_b, c_t[3], c_mixed, c_empty, c_udp;
	int r_w, r_t[3], r_term, r_none, r_mixed, r_empty, r_udp, err;

	if (!b)
		return -ENOMEM;
	c_a = cluster1(b, "l4/tcp-a:3000", tcp_up[0]);
	c_b = cluster1(b, "l4/tcp-b:3000", tcp_up[1]);
	for (int i = 0; i < 3; i++)
		c_t[i] = cluster1(b, "l4/tls:8443", tls_up[i]);
	c_mixed = xgw_snapb_cluster(b, "l4/mixed:3000");
	xgw_snapb_endpoint(b, 4, lo4, 1);
	xgw_snapb_endpoint(b, 4, lo4, tcp_up[0]);
	c_empty = xgw_snapb_cluster(b, "l4/empty:3000");
	c_udp = cluster1(b, "l4/udp:8080", udp_up);

	r_w = xgw_snapb_rule(b, "l4/weighted", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_a, 3);
	xgw_snapb_backend(b, (uint32_t)c_b, 1);
	for (int i = 0; i < 3; i++) {
		r_t[i] = xgw_snapb_rule(b, "l4/tls", (uint32_t)i, 0, 0);
		xgw_snapb_backend(b, (uint32_t)c_t[i], 1);
	}
	r_term = xgw_snapb_rule(b, "l4/term", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_a, 1);
	r_none = xgw_snapb_rule(b, "l4/none", 0, 0, 0);
	r_mixed = xgw_snapb_rule(b, "l4/mixed", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_mixed, 1);
	r_empty = xgw_snapb_rule(b, "l4/empty", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_empty, 1);
	r_udp = xgw_snapb_rule(b, "l4/udp", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_udp, 1);

	for (int f = 0; f < 2; f++) {
		a[3] = a6[15] = 1;
		xgw_snapb_listener(b, f ? 6 : 4, f ? a6 : a, port, XGW_LPROTO_TCP, "l4/gw/tcp");
		l4_vhost(b, "", r_w, 0);
		xgw_snapb_listener(b, f ? 6 : 4, f ? a6 : a, port, XGW_LPROTO_UDP, "l4/gw/udp");
		l4_vhost(b, "", r_udp, 0);
		a[3] = a6[15] = 2;
		xgw_snapb_listener(b, f ? 6 : 4, f ? a6 : a, port, XGW_LPROTO_TLS, "l4/gw/tls");
		l4_vhost(b, "exact.test", r_t[0], 0);
		l4_vhost(b, "term.test", r_term, XGW_VHOST_TLS_TERMINATE);
		l4_vhost(b, "*.wild.test", r_t[1], 0);
		l4_vhost(b, "", r_t[2], 0);
		if (cert_pem) {
			xgw_snapb_sni(b, "term.test", XGW_CLIENT_VERIFY_NONE, NULL, 0);
			xgw_snapb_cert(b, "l4/term", cert_pem, cert_len, key_pem, key_len);
		}
	}
	a[3] = 3;
	xgw_snapb_listener(b, 4, a, port, XGW_LPROTO_TCP, "l4/gw/none");
	l4_vhost(b, "", r_none, 0);
	a[3] = 4;
	xgw_snapb_listener(b, 4, a, port, XGW_LPROTO_TCP, "l4/gw/mixed");
	l4_vhost(b, "", r_mixed, 0);
	a[3] = 5;
	xgw_snapb_listener(b, 4, a, port, XGW_LPROTO_TCP, "l4/gw/empty");
	l4_vhost(b, "", r_empty, 0);
	a[3] = 6;
	xgw_snapb_listener(b, 4, a, port, XGW_LPROTO_TLS, "l4/gw/tls-exact");
	l4_vhost(b, "exact.test", r_t[0], 0);
	err = xgw_snapb__finish(b, buf, len);
	xgw_snapb__free(b);
	return err;
}

static int build(uint64_t gen, int variant, bool bad_re, void **buf, size_t *len)
{
	struct xgw_snapb *b = xgw_snapb__new(gen);
	int c_main, c_dead, c_empty, r_main, r_dead, r_none, r_empty, r_only, err;
	int c_aux, r_hdr, r_redir, r_rewrite, r_hdrs, r_mirror, r_treq, r_tbe, r_tok;
	int c_mixed, r_retry, r_mixed, r_cors, r_rtmo, r_eject;
	int c_h2c, c_grpc, c_h2cdead, r_h2c, r_grpc, r_h2cdead;
	static const uint16_t codes[] = { 500, 503 };
	struct xgw_snap_filter cors = { .type = XGW_FILTER_CORS,
					.num = 3600,
					.flags = XGW_CORS_CREDENTIALS };

	if (!b)
		return -ENOMEM;
	c_main = xgw_snapb_cluster(b, "default/main:80");
	for (int i = variant ? n_up - 1 : 0; i < n_up; i++)
		xgw_snapb_endpoint(b, 4, lo4, up_ports[i]);
	c_dead = xgw_snapb_cluster(b, "default/dead:80");
	xgw_snapb_endpoint(b, 4, lo4, 1);
	c_empty = xgw_snapb_cluster(b, "default/empty:80");
	c_aux = xgw_snapb_cluster(b, "default/aux:80");
	if (aux_port)
		xgw_snapb_endpoint(b, 4, lo4, aux_port);
	c_mixed = xgw_snapb_cluster(b, "default/mixed:80");
	xgw_snapb_endpoint(b, 4, lo4, 1);
	if (aux_port)
		xgw_snapb_endpoint(b, 4, lo4, aux_port);
	c_h2c = xgw_snapb_cluster(b, "default/h2c:80");
	xgw_snapb_cluster_proto(b, XGW_CPROTO_H2C);
	if (h2c_port && variant != 2)
		xgw_snapb_endpoint(b, 4, lo4, h2c_port);
	c_grpc = xgw_snapb_cluster(b, "default/grpc:80");
	xgw_snapb_cluster_proto(b, XGW_CPROTO_H2C);
	if (grpc_port)
		xgw_snapb_endpoint(b, 4, lo4, grpc_port);
	c_h2cdead = xgw_snapb_cluster(b, "default/h2cdead:80");
	xgw_snapb_cluster_proto(b, XGW_CPROTO_H2C);
	xgw_snapb_endpoint(b, 4, lo4, 1);

	r_main = xgw_snapb_rule(b, "default/main", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_main, 1);
	r_dead = xgw_snapb_rule(b, "default/dead", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_dead, 1);
	r_none = xgw_snapb_rule(b, "default/none", 0, 0, 0);
	r_empty = xgw_snapb_rule(b, "default/empty", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_empty, 1);
	r_only = xgw_snapb_rule(b, "default/only", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_main, 1);

	r_hdr = xgw_snapb_rule(b, "default/hdr", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_main, 1);
	filter(b, XGW_FILTER_REQUEST_HEADER, NULL, NULL, 0, 0, NULL, 0);
	xgw_snapb_hdrop(b, XGW_HDROP_SET, "X-Matched", "hdr");
	r_redir = xgw_snapb_rule(b, "default/redir", 0, 0, 0);
	filter(b, XGW_FILTER_REDIRECT, "https", "example.org", 0, XGW_PATHMOD_PREFIX, "/moved",
	       301);
	r_rewrite = xgw_snapb_rule(b, "default/rewrite", 0, 0, 0);
	filter(b, XGW_FILTER_URL_REWRITE, NULL, "rewritten.test", 0, XGW_PATHMOD_PREFIX, "/new", 0);
	xgw_snapb_backend(b, (uint32_t)c_main, 1);
	r_hdrs = xgw_snapb_rule(b, "default/hdrs", 0, 0, 0);
	filter(b, XGW_FILTER_REQUEST_HEADER, NULL, NULL, 0, 0, NULL, 0);
	xgw_snapb_hdrop(b, XGW_HDROP_SET, "X-Req-Set", "set");
	xgw_snapb_hdrop(b, XGW_HDROP_ADD, "X-Req-Add", "added");
	xgw_snapb_hdrop(b, XGW_HDROP_REMOVE, "x-req-rm", "");
	filter(b, XGW_FILTER_RESPONSE_HEADER, NULL, NULL, 0, 0, NULL, 0);
	xgw_snapb_hdrop(b, XGW_HDROP_SET, "X-Resp-Set", "yes");
	xgw_snapb_hdrop(b, XGW_HDROP_ADD, "X-Resp-Add", "also");
	xgw_snapb_hdrop(b, XGW_HDROP_REMOVE, "content-type", "");
	xgw_snapb_backend(b, (uint32_t)c_main, 1);
	r_mirror = xgw_snapb_rule(b, "default/mirror", 0, 0, 0);
	mirror(b, (uint32_t)c_aux);
	xgw_snapb_backend(b, (uint32_t)c_main, 1);
	r_treq = xgw_snapb_rule(b, "default/treq", 0, 500, 0);
	xgw_snapb_backend(b, (uint32_t)c_aux, 1);
	r_tbe = xgw_snapb_rule(b, "default/tbe", 0, 0, 500);
	xgw_snapb_backend(b, (uint32_t)c_aux, 1);
	r_tok = xgw_snapb_rule(b, "default/tok", 0, 3000, 3000);
	xgw_snapb_backend(b, (uint32_t)c_aux, 1);
	r_retry = xgw_snapb_rule(b, "default/retry", 0, 0, 0);
	xgw_snapb_rule_retry(b, 2, 200, codes, 2);
	xgw_snapb_backend(b, (uint32_t)c_aux, 1);
	r_mixed = xgw_snapb_rule(b, "default/mixed", 0, 0, 0);
	xgw_snapb_rule_retry(b, 1, 0, NULL, 0);
	xgw_snapb_backend(b, (uint32_t)c_mixed, 1);
	r_eject = xgw_snapb_rule(b, "default/eject", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_mixed, 1);
	r_rtmo = xgw_snapb_rule(b, "default/rtmo", 0, 1000, 300);
	xgw_snapb_rule_retry(b, 5, 0, NULL, 0);
	xgw_snapb_backend(b, (uint32_t)c_aux, 1);
	r_h2c = xgw_snapb_rule(b, "default/h2c", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_h2c, 1);
	r_grpc = xgw_snapb_rule(b, "default/grpc", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_grpc, 1);
	r_h2cdead = xgw_snapb_rule(b, "default/h2cdead", 0, 0, 0);
	xgw_snapb_backend(b, (uint32_t)c_h2cdead, 1);
	r_cors = xgw_snapb_rule(b, "default/cors", 0, 0, 0);
	xgw_snapb_filter(b, &cors, NULL, NULL, NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_CORS_ORIGIN, "https://www.foo.com", NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_CORS_ORIGIN, "https://*.bar.com", NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_CORS_METHOD, "GET", NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_CORS_METHOD, "OPTIONS", NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_CORS_HEADER, "x-header-1", NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_CORS_HEADER, "x-header-2", NULL);
	xgw_snapb_hdrop(b, XGW_HDROP_CORS_EXPOSE, "x-header-3", NULL);
	xgw_snapb_backend(b, (uint32_t)c_main, 1);

	for (int l = 0; l < 2; l++) {
		xgw_snapb_listener(b, l ? 6 : 4, l ? lo6 : lo4, port, XGW_LPROTO_HTTP,
				   "default/gw/http");
		xgw_snapb_vhost(b, "dead.test", 9);
		match(b, r_dead, XGW_PATH_PREFIX, "/", NULL);
		xgw_snapb_vhost(b, "only.test", 9);
		match(b, r_only, XGW_PATH_EXACT, "/x", NULL);
		match(b, r_only, XGW_PATH_EXACT, "/post", "POST");
		match(b, r_only, XGW_PATH_EXACT, "/q", NULL);
		xgw_snapb_kv(b, XGW_KV_QUERY, XGW_KV_EXACT, "v", "1");
		match(b, r_only, XGW_PATH_REGEX, bad_re ? "/re/(" : "/re/[0-9]+", NULL);
		xgw_snapb_vhost(b, "hdr.test", 8);
		match(b, r_hdr, XGW_PATH_PREFIX, "/", NULL);
		xgw_snapb_kv(b, XGW_KV_HEADER, XGW_KV_EXACT, "x-route", "b");
		match(b, r_main, XGW_PATH_PREFIX, "/", NULL);
		xgw_snapb_vhost(b, "h2c.test", 8);
		match(b, r_h2c, XGW_PATH_PREFIX, "/", NULL);
		xgw_snapb_vhost(b, "grpc.test", 9);
		match(b, r_grpc, XGW_PATH_PREFIX,
		      "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/", NULL);
		xgw_snapb_vhost(b, "h2cdead.test", 12);
		match(b, r_h2cdead, XGW_PATH_PREFIX, "/", NULL);
		xgw_snapb_vhost(b, "*.wild.test", 11);
		match(b, r_main, XGW_PATH_PREFIX, "/", NULL);
		xgw_snapb_vhost(b, "", 0);
		match(b, r_none, XGW_PATH_EXACT, "/none", NULL);
		match(b, r_empty, XGW_PATH_PREFIX, "/empty", NULL);
		match(b, r_redir, XGW_PATH_PREFIX, "/redir", NULL);
		match(b, r_rewrite, XGW_PATH_PREFIX, "/rewrite", NULL);
		match(b, r_hdrs, XGW_PATH_PREFIX, "/hdrs", NULL);
		match(b, r_mirror, XGW_PATH_PREFIX, "/mirror", NULL);
		match(b, r_treq, XGW_PATH_PREFIX, "/slow-req", NULL);
		match(b, r_tbe, XGW_PATH_PREFIX, "/slow-be", NULL);
		match(b, r_tok, XGW_PATH_PREFIX, "/slow-ok", NULL);
		match(b, r_retry, XGW_PATH_PREFIX, "/retry", NULL);
		match(b, r_mixed, XGW_PATH_PREFIX, "/mixed", NULL);
		match(b, r_eject, XGW_PATH_PREFIX, "/eject", NULL);
		match(b, r_rtmo, XGW_PATH_PREFIX, "/rtmo", NULL);
		match(b, r_cors, XGW_PATH_PREFIX, "/cors", NULL);
		match(b, r_main, XGW_PATH_PREFIX, "/", NULL);
	}
	err = xgw_snapb__finish(b, buf, len);
	xgw_snapb__free(b);
	return err;
}

/* Wait up to <ms> for one message and print it. */
static void reply(int sock, int ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct xgw_ctl_msg m;
	int fd, rc;

	if (poll(&p, 1, ms) <= 0) {
		printf("noreply\n");
		return;
	}
	rc = xgw_ctl_recv(sock, &m, &fd);
	if (fd >= 0)
		close(fd);
	if (rc)
		printf("error %d\n", rc);
	else if (m.type == XGW_CTL_ACK)
		printf("ack %llu %d\n", (unsigned long long)m.generation, m.err);
	else if (m.type == XGW_CTL_STATS)
		printf("stats accepted %llu active %llu requests %llu 4xx %llu 5xx %llu "
		       "upstream_errors %llu bad_requests %llu l4_conns %llu udp_sessions %llu "
		       "h2up_conns %llu h2up_streams %llu\n",
		       (unsigned long long)m.stats[XGW_WSTAT_CONNS_ACCEPTED],
		       (unsigned long long)m.stats[XGW_WSTAT_CONNS_ACTIVE],
		       (unsigned long long)m.stats[XGW_WSTAT_REQUESTS],
		       (unsigned long long)m.stats[XGW_WSTAT_RESP_4XX],
		       (unsigned long long)m.stats[XGW_WSTAT_RESP_5XX],
		       (unsigned long long)m.stats[XGW_WSTAT_UPSTREAM_ERRORS],
		       (unsigned long long)m.stats[XGW_WSTAT_BAD_REQUESTS],
		       (unsigned long long)m.stats[XGW_WSTAT_L4_CONNS],
		       (unsigned long long)m.stats[XGW_WSTAT_UDP_SESSIONS],
		       (unsigned long long)m.stats[XGW_WSTAT_H2UP_CONNS],
		       (unsigned long long)m.stats[XGW_WSTAT_H2UP_STREAMS]);
	else
		printf("type %u\n", m.type);
}

static void send_snapshot(int sock, uint64_t gen, int variant, bool corrupt, bool bad_re)
{
	struct xgw_ctl_msg m = { .magic = XGW_CTL_MAGIC, .type = XGW_CTL_SNAPSHOT };
	void *buf;
	size_t len;
	int fd, rc;

	if (l4 ? build_l4(gen, &buf, &len) : build(gen, variant, bad_re, &buf, &len)) {
		printf("error build\n");
		return;
	}
	if (corrupt)
		memset(buf, 0x5a, 16);
	fd = xgw_memfd_from_buf("xgw-smoke-snapshot", buf, len);
	free(buf);
	if (fd < 0) {
		printf("error memfd %d\n", fd);
		return;
	}
	m.generation = gen;
	m.size = len;
	rc = xgw_ctl_send(sock, &m, fd);
	close(fd);
	if (rc) {
		printf("error send %d\n", rc);
		return;
	}
	reply(sock, 5000);
}

static void wait_worker(pid_t *pid, int secs)
{
	struct timespec t = { .tv_nsec = 50 * 1000 * 1000 };
	int status;

	for (int i = 0; *pid > 0 && i < secs * 20; i++) {
		pid_t r = waitpid(*pid, &status, WNOHANG);

		if (r == *pid) {
			*pid = -1;
			if (WIFEXITED(status))
				printf("exit %d\n", WEXITSTATUS(status));
			else
				printf("signal %d\n", WTERMSIG(status));
			return;
		}
		nanosleep(&t, NULL);
	}
	printf(*pid > 0 ? "timeout\n" : "exit gone\n");
}

/* The dual-stack UDP socket of the L4 listeners, on the TCP one's port. */
static int udp_socket(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_addr = IN6ADDR_ANY_INIT,
				   .sin6_port = htons(port) };
	int fd, zero = 0, one = 1;

	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_socket(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	socklen_t sl = sizeof(sa);
	int fd, zero = 0;

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1024) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		close(fd);
		return -1;
	}
	port = ntohs(sa.sin6_port);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "worker", required_argument, NULL, 'w' },
		{ "upstream", required_argument, NULL, 'u' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "aux", required_argument, NULL, 'a' },
		{ "l4", no_argument, NULL, '4' },
		{ "tcp-up", required_argument, NULL, 't' },
		{ "tls-up", required_argument, NULL, 's' },
		{ "udp-up", required_argument, NULL, 'd' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "worker-arg", required_argument, NULL, 'x' },
		{ "h2c", required_argument, NULL, 'H' },
		{ "grpc", required_argument, NULL, 'g' },
		{},
	};
	const char *worker = NULL, *level = "info", *xargs[8];
	char line[256], cfd[16], lfd_s[16], ufd_s[16];
	int sv[2], lfd, ufd = -1, opt, status, n_xargs = 0;
	pid_t pid;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			worker = optarg;
			break;
		case 'u':
			for (char *t = strtok(optarg, ","); t && n_up < MAX_UP;
			     t = strtok(NULL, ","))
				up_ports[n_up++] = (uint16_t)atoi(t);
			break;
		case 'l':
			level = optarg;
			break;
		case 'a':
			aux_port = (uint16_t)atoi(optarg);
			break;
		case '4':
			l4 = true;
			break;
		case 't':
			for (char *t = strtok(optarg, ","); t && n_tcp_up < 2;
			     t = strtok(NULL, ","))
				tcp_up[n_tcp_up++] = (uint16_t)atoi(t);
			break;
		case 's':
			for (char *t = strtok(optarg, ","); t && n_tls_up < 3;
			     t = strtok(NULL, ","))
				tls_up[n_tls_up++] = (uint16_t)atoi(t);
			break;
		case 'd':
			udp_up = (uint16_t)atoi(optarg);
			break;
		case 'c':
			cert_pem = slurp(optarg, &cert_len);
			if (!cert_pem)
				return 2;
			break;
		case 'k':
			key_pem = slurp(optarg, &key_len);
			if (!key_pem)
				return 2;
			break;
		case 'x':
			if (n_xargs == 8)
				return 2;
			xargs[n_xargs++] = optarg;
			break;
		case 'H':
			h2c_port = (uint16_t)atoi(optarg);
			break;
		case 'g':
			grpc_port = (uint16_t)atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!worker || (!n_up && !l4)) {
		fprintf(stderr, "usage: worker-launch --worker PATH --upstream PORT[,PORT] "
				"[--aux PORT] [--log-level L]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	lfd = listen_socket();
	if (lfd >= 0 && l4)
		ufd = udp_socket();
	if (lfd < 0 || (l4 && ufd < 0) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		perror("worker-launch: listen/socketpair");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("worker-launch: fork");
		return 1;
	}
	if (!pid) {
		/* The worker's control end must survive exec. */
		int ctl = dup(sv[1]);
		const char *argv_[24] = { worker,	 "--id", "0",		"--control-fd", cfd,
					  "--listen-fd", lfd_s,	 "--log-level", level };
		int ac = 9;

		snprintf(cfd, sizeof(cfd), "%d", ctl);
		snprintf(lfd_s, sizeof(lfd_s), "%d", lfd);
		snprintf(ufd_s, sizeof(ufd_s), "%d", ufd);
		if (ufd >= 0) {
			argv_[ac++] = "--listen-fd";
			argv_[ac++] = ufd_s;
		}
		for (int i = 0; i < n_xargs; i++)
			argv_[ac++] = xargs[i];
		execv(worker, (char *const *)argv_);
		_exit(127);
	}
	close(sv[1]);
	close(lfd);
	if (ufd >= 0)
		close(ufd);
	printf("port %u\npid %d\n", port, (int)pid);

	while (fgets(line, sizeof(line), stdin)) {
		struct xgw_ctl_msg m = { .magic = XGW_CTL_MAGIC };
		unsigned long long gen;
		int variant, secs;

		if (sscanf(line, "snap %llu %d", &gen, &variant) == 2) {
			send_snapshot(sv[0], gen, variant, false, false);
		} else if (sscanf(line, "badre %llu", &gen) == 1) {
			send_snapshot(sv[0], gen, 0, false, true);
		} else if (sscanf(line, "bad %llu", &gen) == 1) {
			send_snapshot(sv[0], gen, 0, true, false);
		} else if (!strncmp(line, "stats", 5)) {
			m.type = XGW_CTL_STATS;
			if (xgw_ctl_send(sv[0], &m, -1))
				printf("error send\n");
			else
				reply(sv[0], 5000);
		} else if (!strncmp(line, "drain", 5)) {
			m.type = XGW_CTL_DRAIN;
			printf(xgw_ctl_send(sv[0], &m, -1) ? "error send\n" : "ok\n");
		} else if (!strncmp(line, "closectl", 8)) {
			close(sv[0]);
			sv[0] = -1;
			printf("ok\n");
		} else if (sscanf(line, "wait %d", &secs) == 1) {
			wait_worker(&pid, secs);
		} else {
			printf("unknown\n");
		}
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
	}
	return 0;
}
