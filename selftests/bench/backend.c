// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-bench-backend: the benchmark's upstream. A single-threaded epoll
 * HTTP/1.1 server that answers every request with the same 200 and a fixed
 * body (100 bytes by default), so that the proxies in front of it are what
 * is measured.
 *
 *   xgw-bench-backend [-a ADDR] [-p PORT] [-b BODY_BYTES]
 *
 * It keeps connections alive, answers pipelined requests in order, closes
 * after "Connection: close" or an HTTP/1.0 request without keep-alive, and
 * skips request bodies announced by Content-Length. Chunked request bodies
 * are not supported (the benchmark sends none): such a request gets 501 and
 * the connection closes. Exits 0 on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_CAP 16384
#define MAX_EVENTS 256

struct conn {
	int fd;
	bool want_out;	  /* EPOLLOUT armed */
	bool close_after; /* close once the output is flushed */
	size_t in_len;	  /* bytes in in[] */
	size_t skip;	  /* request body bytes still to discard */
	char *out;
	size_t out_len, out_off, out_cap;
	char in[IN_CAP];
};

static volatile sig_atomic_t stop;
static char *resp_ka, *resp_close;
static size_t resp_len;
static const char resp_501[] = "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n"
			       "Connection: close\r\n\r\n";

static void on_signal(int sig)
{
	stop = 1;
}

static int out_add(struct conn *c, const char *p, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *b;

		while (cap < c->out_len + n)
			cap *= 2;
		b = realloc(c->out, cap);
		if (!b)
			return -ENOMEM;
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/*
 * Value of header <name> (lower case, with the colon) in the head
 * [<h>, <h> + <len>), leading blanks skipped, or NULL. <vlen> gets the
 * length up to the CR.
 */
static const char *header(const char *h, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name), i;

	for (i = 0; i + nl < len; i++) {
		const char *v, *e;

		if (h[i] != '\n' || strncasecmp(h + i + 1, name, nl))
			continue;
		v = h + i + 1 + nl;
		while (v < h + len && (*v == ' ' || *v == '\t'))
			v++;
		e = memchr(v, '\r', (size_t)(h + len - v));
		*vlen = e ? (size_t)(e - v) : 0;
		return v;
	}
	return NULL;
}

static bool has_token(const char *v, size_t vlen, const char *tok)
{
	size_t tl = strlen(tok), i;

	for (i = 0; v && i + tl <= vlen; i++)
		if (!strncasecmp(v + i, tok, tl))
			return true;
	return false;
}

/* Answer every complete request in in[]. Returns 0, or -1 to drop the connection. */
static int serve(struct conn *c)
{
	size_t off = 0;

	while (!c->close_after) {
		const char *head = c->in + off, *end, *v;
		size_t avail = c->in_len - off, hlen, vlen;
		bool http10, keep;

		if (c->skip) {
			size_t k = avail < c->skip ? avail : c->skip;

			off += k;
			c->skip -= k;
			if (c->skip)
				break;
			continue;
		}
		end = memmem(head, avail, "\r\n\r\n", 4);
		if (!end) {
			if (avail == IN_CAP)
				return -1; /* head too large */
			break;
		}
		hlen = (size_t)(end - head) + 4;
		off += hlen;
		if (header(head, hlen, "transfer-encoding:", &vlen)) {
			c->close_after = true;
			if (out_add(c, resp_501, sizeof(resp_501) - 1))
				return -1;
			break;
		}
		v = header(head, hlen, "content-length:", &vlen);
		if (v)
			c->skip = strtoul(v, NULL, 10);
		http10 = memmem(head, hlen < 256 ? hlen : 256, " HTTP/1.0\r\n", 11) != NULL;
		v = header(head, hlen, "connection:", &vlen);
		keep = http10 ? has_token(v, vlen, "keep-alive") : !has_token(v, vlen, "close");
		c->close_after = !keep;
		if (out_add(c, keep ? resp_ka : resp_close, resp_len))
			return -1;
	}
	if (c->close_after)
		off = c->in_len;
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

/* Returns 1 when all output is sent, 0 when the socket is full, -1 on error. */
static int flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 1;
}

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
}

/* Handles one readiness event; returns false when the connection is to be closed. */
static bool on_event(int ep, struct conn *c)
{
	bool eof = false;
	int f;

	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);

		if (n > 0) {
			c->in_len += (size_t)n;
			if (serve(c))
				return false;
			if (c->in_len == IN_CAP)
				return false;
			continue;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return false;
		break;
	}
	f = flush(c);
	if (f < 0)
		return false;
	if (f && (c->close_after || eof))
		return false;
	if (c->want_out != !f) {
		struct epoll_event e = { .events = EPOLLIN | (f ? 0 : EPOLLOUT), .data.ptr = c };

		c->want_out = !f;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
	}
	return true;
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, one = 1;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		sl = sizeof(*s6);
	} else {
		fprintf(stderr, "xgw-bench-backend: bad address %s\n", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 4096)) {
		fprintf(stderr, "xgw-bench-backend: %s:%d: %s\n", addr, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int make_responses(int body)
{
	char head[256];
	int hl, i;

	hl = snprintf(head, sizeof(head),
		      "HTTP/1.1 200 OK\r\nServer: xgw-bench\r\nContent-Type: text/plain\r\n"
		      "Content-Length: %d\r\nConnection: keep-alive\r\n\r\n",
		      body);
	resp_len = (size_t)hl + (size_t)body;
	resp_ka = malloc(resp_len);
	resp_close = malloc(resp_len);
	if (!resp_ka || !resp_close)
		return -1;
	memcpy(resp_ka, head, (size_t)hl);
	for (i = 0; i < body; i++)
		resp_ka[hl + i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
	memcpy(resp_close, resp_ka, resp_len);
	/* Same length: "keep-alive" becomes "close" padded with blanks. */
	memcpy(memmem(resp_close, (size_t)hl, "keep-alive", 10), "close     ", 10);
	return 0;
}

int main(int argc, char **argv)
{
	struct epoll_event evs[MAX_EVENTS], ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct sigaction sa = { .sa_handler = on_signal };
	const char *addr = "127.0.0.1";
	int port = 9001, body = 100, opt, lfd, ep, one = 1;

	while ((opt = getopt(argc, argv, "a:p:b:h")) != -1) {
		switch (opt) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'b':
			body = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: xgw-bench-backend [-a ADDR] [-p PORT] [-b BODY]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (port <= 0 || port > 65535 || body < 0 || body > 1 << 20) {
		fprintf(stderr, "xgw-bench-backend: bad port or body size\n");
		return 2;
	}
	if (make_responses(body))
		return 1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = listen_on(addr, port);
	if (lfd < 0)
		return 1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		return 1;

	while (!stop) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, 500), i;

		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c) {
				if (!on_event(ep, c))
					conn_close(ep, c);
				continue;
			}
			for (;;) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				struct epoll_event e = { .events = EPOLLIN };

				if (fd < 0)
					break;
				c = calloc(1, sizeof(*c));
				if (!c) {
					close(fd);
					continue;
				}
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				c->fd = fd;
				e.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e)) {
					close(fd);
					free(c);
				}
			}
		}
	}
	close(lfd);
	close(ep);
	return 0;
}
