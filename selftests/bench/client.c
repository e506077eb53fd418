// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-bench-client: sends exactly N HTTP/1.1 GET requests over K keep-alive
 * connections (one request in flight per connection) and waits for every
 * response. wrk has no request-count option; the benchmark needs a fixed
 * count to compare instructions per request under callgrind.
 *
 *   xgw-bench-client -n N [-c K] [-H HOST] [-t SECONDS] ADDR PORT [PATH]
 *
 * Responses must carry Content-Length (no chunked bodies). Prints one line,
 * "requests N ok N non2xx N errors N seconds S", and exits 0 when every
 * request got a 2xx answer within the time limit (default 120 s), else 1.
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

#define IN_CAP 65536

struct conn {
	int fd;
	bool connected;
	size_t req_off; /* bytes of the request sent */
	size_t in_len;
	char in[IN_CAP];
};

static char req[1024];
static size_t req_len;
static long sent, done, ok, non2xx, errs, total;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static int conn_open(int ep, struct conn *c, const struct sockaddr_storage *ss, socklen_t sl)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
	int one = 1;

	c->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)ss, sl) && errno != EINPROGRESS)
		return -errno;
	c->connected = false;
	c->req_off = 0;
	c->in_len = 0;
	if (sent < total)
		sent++;
	else
		c->req_off = req_len; /* nothing to send */
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) ? -errno : 0;
}

/* Sends what is pending; reads and counts responses; starts the next request. */
static int conn_run(struct conn *c)
{
	for (;;) {
		while (c->req_off < req_len) {
			ssize_t n =
				send(c->fd, req + c->req_off, req_len - c->req_off, MSG_NOSIGNAL);

			if (n < 0)
				return errno == EAGAIN ? 0 : -errno;
			c->req_off += (size_t)n;
		}
		for (;;) {
			int status = 0;
			long rl = response_len(c, &status);
			ssize_t n;

			if (rl < 0)
				return -EPROTO;
			if (rl > 0) {
				done++;
				if (status >= 200 && status < 300)
					ok++;
				else
					non2xx++;
				memmove(c->in, c->in + rl, c->in_len - (size_t)rl);
				c->in_len -= (size_t)rl;
				break;
			}
			n = recv(c->fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
			if (n == 0)
				return -ECONNRESET;
			if (n < 0)
				return errno == EAGAIN ? 0 : -errno;
			c->in_len += (size_t)n;
		}
		if (sent >= total)
			return 1; /* this connection is finished */
		sent++;
		c->req_off = 0;
	}
}

int main(int argc, char **argv)
{
	const char *host = "bench.example", *path = "/";
	struct sockaddr_storage ss = {};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	double limit = 120, t0;
	long nconn = 10, i, open_conns;
	struct epoll_event evs[256];
	struct conn *conns;
	socklen_t sl;
	int opt, ep, port;

	while ((opt = getopt(argc, argv, "n:c:H:t:h")) != -1) {
		switch (opt) {
		case 'n':
			total = atol(optarg);
			break;
		case 'c':
			nconn = atol(optarg);
			break;
		case 'H':
			host = optarg;
			break;
		case 't':
			limit = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind < 2 || argc - optind > 3 || total < 0 || nconn < 1 || nconn > 10000 ||
	    limit <= 0)
		goto usage;
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
	req_len = (size_t)snprintf(req, sizeof(req),
				   "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: xgw-bench-client\r\n"
				   "Accept: */*\r\n\r\n",
				   path, host);
	if (req_len >= sizeof(req))
		goto usage;
	if (nconn > total)
		nconn = total ? total : 1;

	conns = calloc((size_t)nconn, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || ep < 0)
		return 1;
	t0 = now_s();
	for (i = 0; i < nconn && total; i++) {
		if (conn_open(ep, &conns[i], &ss, sl)) {
			fprintf(stderr, "xgw-bench-client: connect: %s\n", strerror(errno));
			return 1;
		}
	}
	open_conns = total ? nconn : 0;
	while (open_conns > 0 && now_s() - t0 < limit) {
		int n = epoll_wait(ep, evs, 256, 200);

		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int r;

			if (c->fd < 0)
				continue;
			r = conn_run(c);
			if (r == 0)
				continue;
			if (r < 0)
				errs++;
			close(c->fd);
			c->fd = -1;
			open_conns--;
		}
	}
	printf("requests %ld ok %ld non2xx %ld errors %ld seconds %.3f\n", done, ok, non2xx, errs,
	       now_s() - t0);
	return ok == total ? 0 : 1;

usage:
	fprintf(stderr,
		"usage: xgw-bench-client -n N [-c K] [-H HOST] [-t SECONDS] ADDR PORT [PATH]\n");
	return 2;
}
