// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-echo's L4 modes, the backends of the TLSRoute, TCPRoute and UDPRoute
 * tests.
 *
 * --mode tcp is the Gateway API conformance TCP echo: on accept (after the
 * TLS handshake on --tls-listen ports) the line "Gateway API Test TCP
 * Server\n", then one answer per line: PING -> "PONG\n", IS_TLS ->
 * "true\n" / "false\n", TEST -> one JSON line {namespace, ingress, service,
 * pod, tcpport, tlsport, isTLS, tls: {version, serverName,
 * negotiatedProtocol, curves, cipherSuite}}; any other line comes back as
 * sent, so the mode doubles as a plain line echo. The client's FIN is
 * answered with ours once its lines are answered (a half-close test sees
 * every answer, then EOF).
 *
 * --mode udp answers each datagram with one JSON datagram {request,
 * namespace, ingress, service, pod}. --mode dns answers each well-formed
 * query (one question, opcode QUERY) with a response: an A record (--dns-a,
 * TTL 30) for class IN type A, NOERROR and no answer otherwise; anything
 * else is ignored.
 *
 * A test backend, so the simplest model that is right: a thread per TCP
 * connection with blocking I/O and a 60 s receive timeout; UDP served
 * inline by the main loop.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "echo_json.h"
#include "echo_l4.h"
#include "echo_tls.h"
#include "xgw/log.h"
#include "xgw/netaddr.h"

#define WELCOME "Gateway API Test TCP Server\n"
#define LINE_MAX_LEN 4096
#define IDLE_S 60

static const struct echo_l4_opts *opt;
static SSL_CTX *tls_ctx;
static char tcp_port[8], tls_port[8];
static uint8_t dns_a[4];

struct sock {
	int fd;
	bool tls;
};

struct client {
	int fd;
	SSL *ssl;
};

static int sock_bind(const char *spec, int type, char *port_out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (echo_parse_listen(spec, &ss, &len)) {
		log_err("%s: expected ADDR:PORT or [ADDR]:PORT", spec);
		return -1;
	}
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || (type == SOCK_STREAM && listen(fd, 1024))) {
		log_err("%s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	if (port_out && !*port_out) {
		uint16_t p =
			ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);

		snprintf(port_out, 8, "%u", p);
	}
	log_info("listening on %s (%s%s)", spec, type == SOCK_STREAM ? "tcp" : "udp",
		 port_out == tls_port ? ", TLS" : "");
	return fd;
}

static int cl_write(struct client *c, const void *p, size_t n)
{
	while (n) {
		ssize_t w = c->ssl ? echo_tls_send(c->ssl, p, n) : send(c->fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t cl_read(struct client *c, char *p, size_t n)
{
	for (;;) {
		ssize_t r = c->ssl ? echo_tls_recv(c->ssl, p, n) : recv(c->fd, p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static void json_kv(struct buf *b, const char *k, const char *v, bool comma)
{
	json_str(b, k, strlen(k));
	buf_add(b, ":", 1);
	json_str(b, v ? v : "", v ? strlen(v) : 0);
	if (comma)
		buf_add(b, ",", 1);
}

static void test_line(struct client *c, struct buf *b)
{
	struct echo_tls_state st = { "", "", "", "", 0 };

	if (c->ssl)
		echo_tls_state(c->ssl, &st);
	buf_add(b, "{", 1);
	json_kv(b, "namespace", opt->ns, true);
	json_kv(b, "ingress", "", true);
	json_kv(b, "service", opt->service, true);
	json_kv(b, "pod", opt->name, true);
	json_kv(b, "tcpport", tcp_port, true);
	json_kv(b, "tlsport", tls_port, true);
	buf_printf(b, "\"isTLS\":%s,\"tls\":{", c->ssl ? "true" : "false");
	json_kv(b, "version", st.version, true);
	json_kv(b, "serverName", st.server_name, true);
	json_str(b, "negotiatedProtocol", 18);
	buf_add(b, ":", 1);
	json_str(b, st.alpn, st.alpn_len);
	buf_str(b, ",\"curves\":[");
	if (c->ssl) {
		int groups[32], n = SSL_get1_groups(c->ssl, NULL);

		if (n > 0 && n <= 32) {
			SSL_get1_groups(c->ssl, groups);
			for (int i = 0; i < n; i++) {
				const char *g = SSL_group_to_name(c->ssl, groups[i]);

				buf_printf(b, "%s\"%s\"", i ? "," : "", g ? g : "?");
			}
		}
	}
	buf_str(b, "],");
	json_kv(b, "cipherSuite", st.cipher, false);
	buf_str(b, "}}\n");
}

/* One line of the client (without its newline): the answer into <b>. */
static void answer(struct client *c, const char *line, size_t n, struct buf *b)
{
	if (n && line[n - 1] == '\r')
		n--;
	if (n == 4 && !memcmp(line, "PING", 4))
		buf_str(b, "PONG\n");
	else if (n == 6 && !memcmp(line, "IS_TLS", 6))
		buf_str(b, c->ssl ? "true\n" : "false\n");
	else if (n == 4 && !memcmp(line, "TEST", 4))
		test_line(c, b);
	else {
		buf_add(b, line, n);
		buf_add(b, "\n", 1);
	}
}

static void *tcp_client(void *arg)
{
	struct client *c = arg;
	char in[LINE_MAX_LEN];
	size_t have = 0;
	struct timeval tv = { .tv_sec = IDLE_S };

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (c->ssl) {
		SSL_set_fd(c->ssl, c->fd);
		SSL_set_accept_state(c->ssl);
		/* blocking, with the receive timeout: -EAGAIN is a client that went quiet */
		if (echo_tls_handshake(c->ssl, "TCP client", opt->quiet))
			goto out;
	}
	if (cl_write(c, WELCOME, sizeof(WELCOME) - 1))
		goto out;
	for (;;) {
		struct buf b = { 0 };
		ssize_t r = cl_read(c, in + have, sizeof(in) - have);
		size_t start = 0;

		if (r <= 0)
			break;
		have += (size_t)r;
		for (size_t i = 0; i < have; i++) {
			if (in[i] != '\n')
				continue;
			answer(c, in + start, i - start, &b);
			start = i + 1;
		}
		memmove(in, in + start, have - start);
		have -= start;
		if (have == sizeof(in)) { /* a line too long: echoed as it is */
			buf_add(&b, in, have);
			have = 0;
		}
		if (b.err || (b.len && cl_write(c, b.p, b.len))) {
			free(b.p);
			goto out;
		}
		free(b.p);
	}
	/* The client's FIN: a last partial line, then ours. */
	if (have) {
		struct buf b = { 0 };

		answer(c, in, have, &b);
		if (!b.err)
			cl_write(c, b.p, b.len);
		free(b.p);
	}
	if (c->ssl)
		echo_tls_close_notify(c->ssl);
	shutdown(c->fd, SHUT_WR);
out:
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
	return NULL;
}

static void tcp_accept(const struct sock *s)
{
	struct client *c;
	pthread_t t;
	pthread_attr_t a;
	int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c || (s->tls && !(c->ssl = SSL_new(tls_ctx)))) {
		free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024);
	if (pthread_create(&t, &a, tcp_client, c)) {
		SSL_free(c->ssl);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&a);
}

static void udp_echo(int fd, const char *p, size_t n, const struct sockaddr *peer, socklen_t pl)
{
	struct buf b = { 0 };

	buf_add(&b, "{", 1);
	json_str(&b, "request", 7);
	buf_add(&b, ":", 1);
	json_str(&b, p, n);
	buf_add(&b, ",", 1);
	json_kv(&b, "namespace", opt->ns, true);
	json_kv(&b, "ingress", "", true);
	json_kv(&b, "service", opt->service, true);
	json_kv(&b, "pod", opt->name, false);
	buf_add(&b, "}", 1);
	if (!b.err)
		sendto(fd, b.p, b.len, 0, peer, pl);
	free(b.p);
}

/* A DNS query's answer, in place in <p> (room for <cap>). Returns its length, 0 to ignore. */
static size_t dns_answer(uint8_t *p, size_t n, size_t cap)
{
	size_t q = 12;
	uint16_t qtype, qclass;
	bool a;

	/* A query (QR 0), opcode QUERY, exactly one question, nothing else. */
	if (n < 12 || (p[2] & 0x80) || (p[2] & 0x78) || p[4] || p[5] != 1 || p[6] || p[7])
		return 0;
	while (q < n && p[q]) {
		if ((p[q] & 0xc0) || q + 1 + p[q] >= n)
			return 0; /* no compression in a question; labels inside */
		q += 1 + p[q];
	}
	if (q + 5 > n || q - 12 > 255)
		return 0;
	qtype = (uint16_t)(p[q + 1] << 8 | p[q + 2]);
	qclass = (uint16_t)(p[q + 3] << 8 | p[q + 4]);
	q += 5;
	a = qtype == 1 && qclass == 1;
	if (q + (a ? 16 : 0) > cap)
		return 0;
	/* QR, opcode and RD kept, AA; RA; RCODE NOERROR; additional records dropped. */
	p[2] = (uint8_t)(0x80 | (p[2] & 0x79) | 0x04);
	p[3] = 0x80;
	p[6] = 0;
	p[7] = a ? 1 : 0;
	p[8] = p[9] = p[10] = p[11] = 0;
	if (a) {
		static const uint8_t rr[12] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4 };

		memcpy(p + q, rr, sizeof(rr));
		memcpy(p + q + 12, dns_a, 4);
		q += 16;
	}
	return q;
}

static void udp_serve(int fd)
{
	uint8_t buf[65536];

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		ssize_t n = recvfrom(fd, buf, sizeof(buf) - 64, MSG_DONTWAIT,
				     (struct sockaddr *)&peer, &pl);
		size_t out;

		if (n < 0)
			return;
		if (opt->mode == ECHO_L4_UDP) {
			udp_echo(fd, (const char *)buf, (size_t)n, (struct sockaddr *)&peer, pl);
			continue;
		}
		out = dns_answer(buf, (size_t)n, sizeof(buf));
		if (out)
			sendto(fd, buf, out, 0, (struct sockaddr *)&peer, pl);
		else if (!opt->quiet)
			log_info("DNS: malformed query of %zd bytes ignored", n);
	}
}

static int tls_setup(void)
{
	if (!opt->n_tls_listen)
		return 0;
	tls_ctx = echo_tls_ctx_new(opt->cert, opt->key, opt->client_ca, ECHO_TLS_ALPN_NONE);
	return tls_ctx ? 0 : -1;
}

int echo_l4_run(const struct echo_l4_opts *o)
{
	struct sock socks[2 * ECHO_L4_MAX_LISTEN];
	struct pollfd pfd[2 * ECHO_L4_MAX_LISTEN];
	int n = 0, type = o->mode == ECHO_L4_TCP ? SOCK_STREAM : SOCK_DGRAM;
	uint8_t fam;

	opt = o;
	signal(SIGPIPE, SIG_IGN); /* a client gone mid-write: EPIPE, not death */
	if (o->mode == ECHO_L4_DNS) {
		uint8_t a[16];

		if (xgw_ip_parse(o->dns_a ? o->dns_a : "192.0.2.1", &fam, a) || fam != 4) {
			log_err("--dns-a %s: expected an IPv4 address", o->dns_a);
			return 2;
		}
		memcpy(dns_a, a, 4);
	}
	if (tls_setup())
		return 1;
	for (int i = 0; i < o->n_listen; i++) {
		socks[n] = (struct sock){ .fd = sock_bind(o->listen[i], type, tcp_port) };
		if (socks[n++].fd < 0)
			return 1;
	}
	for (int i = 0; type == SOCK_STREAM && i < o->n_tls_listen; i++) {
		socks[n] = (struct sock){ .fd = sock_bind(o->tls_listen[i], type, tls_port),
					  .tls = true };
		if (socks[n++].fd < 0)
			return 1;
	}
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = socks[i].fd, .events = POLLIN };
	log_info("serving %s mode as \"%s\"",
		 o->mode == ECHO_L4_TCP	  ? "tcp"
		 : o->mode == ECHO_L4_UDP ? "udp"
					  : "dns",
		 o->name);
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			if (type == SOCK_STREAM)
				tcp_accept(&socks[i]);
			else
				udp_serve(socks[i].fd);
		}
	}
}
