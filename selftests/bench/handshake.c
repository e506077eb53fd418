// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-bench-handshake: TLS handshake load. Keeps K connections in flight;
 * each one connects, does a TLS handshake, sends one HTTP/1.1 GET, reads the
 * response (Content-Length bodies only), sends close_notify and closes, and
 * a new connection takes its place. With -R every connection offers the
 * latest session ticket the server issued (a resumed handshake); without it
 * no session is offered (a full handshake). Resumptions are counted from
 * SSL_session_reused(), so the figure says whether the server really resumed.
 *
 *   xgw-bench-handshake [-c K] [-d SECONDS] [-n MAX] [-R] [-2] [-S SNI]
 *                       [-H HOST] [-g GROUPS] ADDR PORT [PATH]
 *
 * -2 offers TLS 1.2 only (default: TLS 1.3 only). The server certificate is
 * not verified (the handshake still checks the server's signature). Runs for
 * -d seconds (default 5) or -n connections, whichever comes first, and prints
 * one line:
 *   conns N resumed N errors N non2xx N seconds S rate R tickets T proto P cipher C group G
 * where conns counts connections that completed handshake and response, rate
 * is conns per second, T the session tickets received (also on connections
 * in flight at the end; a server that sends none after a TLS 1.3 resumption
 * leaves its clients, which use a ticket once, a full handshake next time),
 * and P/C/G describe the first completed connection.
 * Exits 0 when at least one connection completed and none failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define IN_CAP 16384

enum step {
	ST_HANDSHAKE,
	ST_REQUEST,
	ST_RESPONSE
};

struct conn {
	int fd;
	SSL *ssl;
	enum step st;
	size_t req_off;
	size_t in_len;
	char in[IN_CAP];
};

static char req[1024];
static size_t req_len;
static long done, resumed, errs, non2xx, opened, tickets, max_conns = -1;
static SSL_SESSION *ticket; /* the latest session the server issued (-R) */
static bool resume;
static char info[256] = "proto - cipher - group -";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps the newest ticket; OpenSSL calls this for each NewSessionTicket. */
static int new_session_cb(SSL *s, SSL_SESSION *sess)
{
	(void)s;
	tickets++;
	if (!resume || !SSL_SESSION_is_resumable(sess))
		return 0;
	SSL_SESSION_free(ticket);
	ticket = sess;
	return 1; /* we keep the reference */
}

/* Length of the complete response at the head of in[], 0 if incomplete, -1 if bad. */
static long response_len(struct conn *c, int *status)
{
	const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4), *p;
	size_t hlen;
	long body = -1;

	if (!end)
		return c->in_len == IN_CAP ? -1 : 0;
	hlen = (size_t)(end - c->in) + 4;
	if (hlen < 12 || memcmp(c->in, "HTTP/1.", 7))
		return -1;
	*status = atoi(c->in + 9);
	for (p = c->in; p && p < end; p = memchr(p + 1, '\n', (size_t)(end - p - 1)))
		if (!strncasecmp(p + 1, "content-length:", 15))
			body = strtol(p + 16, NULL, 10);
	if (body < 0 || hlen + (size_t)body > IN_CAP)
		return -1;
	return hlen + (size_t)body <= c->in_len ? (long)(hlen + (size_t)body) : 0;
}

static int conn_open(int ep, SSL_CTX *ctx, const char *sni, struct conn *c,
		     const struct sockaddr_storage *ss, socklen_t sl)
{
	struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)ss, sl) && errno != EINPROGRESS)
		goto fail;
	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set_tlsext_host_name(c->ssl, sni) != 1)
		goto fail;
	if (resume && ticket) {
		/* A copy each: OpenSSL marks a TLS 1.3 session used once, and other
		 * connections in flight may offer the same latest ticket. */
		SSL_SESSION *d = SSL_SESSION_dup(ticket);
		int ok = d && SSL_set_session(c->ssl, d) == 1;

		SSL_SESSION_free(d);
		if (!ok)
			goto fail;
	}
	SSL_set_connect_state(c->ssl);
	c->st = ST_HANDSHAKE;
	c->req_off = 0;
	c->in_len = 0;
	opened++;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e))
		goto fail;
	return 0;
fail:
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	c->fd = -1;
	return -EIO;
}

/* Waits for what OpenSSL asked for after a call that returned <r>; -1 on a real error. */
static int want(int ep, struct conn *c, int r)
{
	struct epoll_event e = { .data.ptr = c };

	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		e.events = EPOLLIN;
		break;
	case SSL_ERROR_WANT_WRITE:
		e.events = EPOLLOUT;
		break;
	default:
		return -1;
	}
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) ? -1 : 0;
}

/* Advances <c>: 0 waiting, 1 finished (response read), -1 failed. */
static int conn_run(int ep, struct conn *c)
{
	size_t n;
	int r;

	ERR_clear_error();
	if (c->st == ST_HANDSHAKE) {
		r = SSL_do_handshake(c->ssl);
		if (r != 1)
			return want(ep, c, r);
		c->st = ST_REQUEST;
	}
	if (c->st == ST_REQUEST) {
		while (c->req_off < req_len) {
			if (SSL_write_ex(c->ssl, req + c->req_off, req_len - c->req_off, &n) != 1)
				return want(ep, c, 0);
			c->req_off += n;
		}
		c->st = ST_RESPONSE;
	}
	for (;;) {
		int status = 0;
		long rl = response_len(c, &status);

		if (rl < 0)
			return -1;
		if (rl > 0) {
			if (status < 200 || status > 299)
				non2xx++;
			return 1;
		}
		if (SSL_read_ex(c->ssl, c->in + c->in_len, IN_CAP - c->in_len, &n) != 1)
			return want(ep, c, 0);
		c->in_len += n;
	}
}

static void conn_close(struct conn *c, bool ok)
{
	if (ok) {
		if (!done) {
			int nid = SSL_get_negotiated_group(c->ssl);
			const char *g = nid > 0 ? SSL_group_to_name(c->ssl, nid) : NULL;

			snprintf(info, sizeof(info), "proto %s cipher %s group %s",
				 SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl), g ? g : "-");
		}
		done++;
		if (SSL_session_reused(c->ssl))
			resumed++;
		SSL_shutdown(c->ssl); /* close_notify, not waiting for the peer's */
	} else {
		errs++;
	}
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	c->fd = -1;
}

int main(int argc, char **argv)
{
	const char *host = "bench.example", *sni = NULL, *path = "/", *groups = NULL;
	struct sockaddr_storage ss = {};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	double dur = 5, t0, t1;
	long nconn = 32, i, live = 0;
	bool tls12 = false, stopping = false;
	struct epoll_event evs[256];
	struct conn *conns;
	SSL_CTX *ctx;
	socklen_t sl;
	int opt, ep, port;

	while ((opt = getopt(argc, argv, "c:d:n:R2S:H:g:h")) != -1) {
		switch (opt) {
		case 'c':
			nconn = atol(optarg);
			break;
		case 'd':
			dur = atof(optarg);
			break;
		case 'n':
			max_conns = atol(optarg);
			break;
		case 'R':
			resume = true;
			break;
		case '2':
			tls12 = true;
			break;
		case 'S':
			sni = optarg;
			break;
		case 'H':
			host = optarg;
			break;
		case 'g':
			groups = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind < 2 || argc - optind > 3 || nconn < 1 || nconn > 10000 || dur <= 0 ||
	    dur > 3600)
		goto usage;
	if (!sni)
		sni = host;
	port = atoi(argv[optind + 1]);
	if (argc - optind == 3)
		path = argv[optind + 2];
	if (inet_pton(AF_INET, argv[optind], &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, argv[optind], &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
	} else {
		goto usage;
	}
	req_len = (size_t)snprintf(
		req, sizeof(req),
		"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: xgw-bench-handshake\r\n"
		"Accept: */*\r\n\r\n",
		path, host);
	if (req_len >= sizeof(req))
		goto usage;

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return 1;
	SSL_CTX_set_min_proto_version(ctx, tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (groups && SSL_CTX_set1_groups_list(ctx, groups) != 1) {
		fprintf(stderr, "xgw-bench-handshake: bad groups %s\n", groups);
		return 2;
	}
	if (SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x08http/1.1", 9))
		return 1;
	/* Sessions reach new_session_cb and no internal cache. Without -R,
	 * tickets the server sends are dropped and never offered. */
	SSL_CTX_set_session_cache_mode(ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session_cb);

	conns = calloc((size_t)nconn, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || ep < 0)
		return 1;
	for (i = 0; i < nconn; i++)
		conns[i].fd = -1;

	/* -R: one full handshake first, so that every counted connection has a ticket to offer. */
	if (resume) {
		double lim = now_s() + 5;

		if (conn_open(ep, ctx, sni, &conns[0], &ss, sl))
			goto connect_failed;
		while (conns[0].fd >= 0 && now_s() < lim) {
			int r, n = epoll_wait(ep, evs, 1, 200);

			if (n <= 0)
				continue;
			r = conn_run(ep, &conns[0]);
			if (r)
				conn_close(&conns[0], r > 0);
		}
		/* the ticket follows the handshake: read a little more for it */
		if (conns[0].fd >= 0 || !ticket) {
			fprintf(stderr, "xgw-bench-handshake: no session ticket from the server\n");
			return 1;
		}
		done = resumed = errs = non2xx = opened = tickets = 0;
	}

	t0 = now_s();
	t1 = t0;
	for (i = 0; i < nconn; i++) {
		if (conn_open(ep, ctx, sni, &conns[i], &ss, sl))
			goto connect_failed;
		live++;
	}
	while (live > 0) {
		int n = epoll_wait(ep, evs, 256, 100);
		double now = now_s();

		/* -n: no new connections past the count, and those in flight finish */
		if (!stopping && now - t0 >= dur) {
			stopping = true;
			t1 = now;
			/* connections in flight are not counted: close them now */
			for (i = 0; i < nconn; i++) {
				if (conns[i].fd < 0)
					continue;
				SSL_free(conns[i].ssl);
				conns[i].ssl = NULL;
				close(conns[i].fd);
				conns[i].fd = -1;
				live--;
			}
			break;
		}
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			int r;

			if (c->fd < 0)
				continue;
			r = conn_run(ep, c);
			if (!r)
				continue;
			conn_close(c, r > 0);
			live--;
			if (max_conns >= 0 && opened >= max_conns)
				continue;
			if (conn_open(ep, ctx, sni, c, &ss, sl)) {
				errs++;
				continue;
			}
			live++;
		}
	}
	if (!stopping)
		t1 = now_s();
	printf("conns %ld resumed %ld errors %ld non2xx %ld seconds %.3f rate %.1f tickets %ld "
	       "%s\n",
	       done, resumed, errs, non2xx, t1 - t0, t1 > t0 ? (double)done / (t1 - t0) : 0.0,
	       tickets, info);
	SSL_SESSION_free(ticket);
	SSL_CTX_free(ctx);
	free(conns);
	return done > 0 && !errs ? 0 : 1;

connect_failed:
	fprintf(stderr, "xgw-bench-handshake: connect: %s\n", strerror(errno));
	return 1;
usage:
	fprintf(stderr,
		"usage: xgw-bench-handshake [-c K] [-d SECONDS] [-n MAX] [-R] [-2] [-S SNI] "
		"[-H HOST] [-g GROUPS] ADDR PORT [PATH]\n");
	return 2;
}
