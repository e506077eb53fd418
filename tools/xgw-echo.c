// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-echo: the demo and test backend. One process, one epoll loop, HTTP/1.1
 * with keep-alive and pipelining, parsed by the worker's own user/http1.c.
 *
 * --mode plain answers like nginxdemos/hello:plain-text (text/plain lines:
 * server address as nginx prints it, IPv6 without brackets; server name;
 * date; URI; request ID). --mode json answers like the Gateway API
 * conformance echo server (echo-basic): json.MarshalIndent of the request with
 * Go-canonical header names sorted as Go sorts map keys, Go's string escaping,
 * and X-Echo-Set-Header turned into response headers. In both modes /health
 * answers 200 "OK", /status/NNN answers NNN with no body and /bytes/N answers N
 * bytes (at most 16 MiB; chunked with ?chunked), for tests of large and chunked
 * bodies through the gateway. json mode also
 * does what echo-basic does beyond the echo: ?delay=<Go duration> (capped at
 * 60 s), the /retry/ simulator (per-uuid attempt counts in an LRU table) and
 * the /ws WebSocket echo (echo_ws.c).
 *
 * HTTP/2 (echo_h2.c): a --h2c-port connection that opens with the HTTP/2
 * preface is handed to an nghttp2 session that answers the JSON echo with
 * "proto": "HTTP/2.0" (HTTP/1.1 there gets 400, as echo-basic's h2c port).
 * --mode grpc serves the conformance gRPC echo service on every port.
 *
 * TLS (echo_tls.c): a --tls-listen port is echo-basic's HTTPS port 8443, a
 * connection there handshakes without blocking the loop (the handshake, reads
 * and writes go through OpenSSL on the same non-blocking socket; a read that
 * OpenSSL must follow with a write waits for EPOLLOUT, and bytes left in a
 * decrypted record are read without waiting for epoll), then is served as on
 * a plain port: HTTP/1.1, or HTTP/2 by echo_h2.c when ALPN chose "h2". The
 * JSON gets echo-basic's "tls" member (version, SNI, ALPN, cipher suite, the
 * client's certificates when --client-ca asked for them).
 *
 * A delayed request parks its connection: the request stays unconsumed in the
 * input buffer, reading stops, and the connection waits in a min-heap ordered
 * by wake time that sets epoll_wait's timeout. On waking the request is parsed
 * again and answered with the plan made the first time, so a retry attempt is
 * counted once and pipelined requests are answered in order, as Go's server
 * does by handling one request of a connection at a time.
 *
 * A response is held back until its request's body has been read and thrown
 * away: a proxy under test never sees an early response, and a close after the
 * response never leaves unread bytes behind (they would turn it into an RST
 * that can destroy the response in flight); closes linger for that reason
 * too. Connections sit on two lists ordered by deadline (idle 75 s, lingering
 * 2 s), so timeouts cost O(expired) per tick, never a scan of all connections.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "echo_h2.h"
#include "echo_json.h"
#include "echo_l4.h"
#include "echo_params.h"
#include "echo_tls.h"
#include "echo_ws.h"
#include "http1.h"
#include "xgw/log.h"
#include "xgw/netaddr.h"

#define MAX_LISTEN 16
#define IN_INIT 4096
#define OUT_HIGH_WATER (256 * 1024) /* stop reading a pipelining client that does not read */
#define IDLE_TIMEOUT 75		    /* seconds, as nginx's keepalive_timeout */
#define LINGER_TIMEOUT 2
#define ADDR_STRLEN (XGW_IP_STRLEN + 8)
#define MAX_DELAY_NS (60 * 1000000000ULL) /* ?delay and delayRetry are capped here */

enum mode {
	MODE_PLAIN,
	MODE_JSON,
	MODE_GRPC, /* echo_h2.c: the conformance gRPC echo service over h2c, on every port */
};

enum kind {
	KIND_LISTENER,
	KIND_SIGNAL,
	KIND_CONN,
	KIND_H2, /* an HTTP/2 session of echo_h2.c */
};

/* An output buffer whose allocation failure sticks: check ->err once, after building. */
struct listener {
	enum kind kind; /* first: epoll data points here */
	int fd;
	bool h2c_only; /* a --h2c-port: HTTP/1.1 requests get 400 */
	bool tls;      /* a --tls-listen port: TLS with srv.tls_ctx */
};

/* What a request gets, decided once when its head is first parsed (json mode). */
enum action {
	ACT_ECHO,   /* the usual answer for the path */
	ACT_STATUS, /* a failing retry with responseCode: that status, empty body */
	ACT_ERROR,  /* status with {"message": srv.err}, as echo-basic's processError */
	ACT_RESET,  /* a failing retry without responseCode: TCP RST */
	ACT_WS,	    /* the WebSocket opening handshake */
};

struct plan {
	enum action act;
	int status;	   /* ACT_STATUS, ACT_ERROR */
	uint64_t delay_ns; /* answer this much later; never with ACT_ERROR */
};

enum rd_state {
	RD_HEAD,
	RD_LENGTH,
	RD_CHUNKED,
};

struct conn {
	enum kind kind; /* first: epoll data points here */
	int fd;
	bool h2c_only;	    /* accepted on a --h2c-port listener */
	SSL *ssl;	    /* accepted on a --tls-listen port */
	bool handshaking;   /* ssl: the handshake is not done yet */
	bool tls_wants_out; /* ssl: the last read waits for the socket to take a write */
	uint32_t events;    /* registered with epoll */
	enum rd_state rd;   /* what the next input bytes are */
	uint64_t body_left; /* RD_LENGTH */
	struct xgw_h1_chunked chunked;
	bool keep_alive; /* of the request being read */
	bool closing;	 /* answer nothing more; shut down once out is sent */
	bool lingering;	 /* write side shut down, input discarded until EOF */
	bool parked;	 /* waiting in srv.timers to answer the request at the front of in */
	bool planned;	 /* plan holds the decision for the request at the front of in */
	bool reset;	 /* abort with an RST once the output before it is sent */
	struct plan plan;
	uint64_t wake_ns;   /* CLOCK_MONOTONIC, while parked */
	size_t heap_pos;    /* 1 + index in srv.timers, 0 when not parked */
	struct echo_ws *ws; /* after a WebSocket upgrade: the frame reader */
	char *in;
	size_t in_len, in_cap;
	struct buf out;
	size_t out_off;	  /* sent */
	size_t out_ready; /* may be sent: the rest waits for its request's body */
	time_t deadline;
	struct conn *prev, *next;
	struct conn_list *list;
	char local[ADDR_STRLEN];
	char peer[ADDR_STRLEN];
};

struct conn_list {
	struct conn *head, *tail;
};

struct server {
	int epfd;
	struct listener sig;
	struct listener listeners[MAX_LISTEN + ECHO_L4_MAX_LISTEN]; /* --listen, --tls-listen */
	int n_listen;
	SSL_CTX *tls_ctx;      /* of the --tls-listen ports */
	uint16_t h2c_ports[8]; /* --h2c-port */
	int n_h2c_ports;
	bool accept_paused;
	enum mode mode;
	const char *name, *ns;
	bool quiet;
	struct conn_list idle, linger;
	struct conn **timers; /* parked connections, a min-heap on wake_ns */
	size_t n_timers, timers_cap;
	struct buf body; /* scratch: the response body being rendered */
	char err[512];	 /* the message of an ACT_ERROR plan, NUL-terminated */
	uint64_t rng[2];
	time_t date_sec;
	char date_http[40];  /* IMF-fixdate, for the Date header */
	char date_nginx[40]; /* nginx's $time_local, in UTC */
};

static struct server srv;

static time_t now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- the connection lists ---- */

static void list_del(struct conn *c)
{
	struct conn_list *l = c->list;

	if (!l)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	c->list = NULL;
}

/* Every list has one timeout, so appending keeps it sorted by deadline. */
static void list_append(struct conn_list *l, struct conn *c, time_t deadline)
{
	list_del(c);
	c->deadline = deadline;
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	c->list = l;
}

/* ---- the timer heap: parked connections by wake time, O(log n) per change ---- */

static void heap_set(size_t i, struct conn *c)
{
	srv.timers[i] = c;
	c->heap_pos = i + 1;
}

static void heap_up(size_t i)
{
	struct conn *c = srv.timers[i];

	while (i) {
		size_t parent = (i - 1) / 2;

		if (srv.timers[parent]->wake_ns <= c->wake_ns)
			break;
		heap_set(i, srv.timers[parent]);
		i = parent;
	}
	heap_set(i, c);
}

static void heap_down(size_t i)
{
	struct conn *c = srv.timers[i];

	for (;;) {
		size_t m = 2 * i + 1;

		if (m >= srv.n_timers)
			break;
		if (m + 1 < srv.n_timers && srv.timers[m + 1]->wake_ns < srv.timers[m]->wake_ns)
			m++;
		if (c->wake_ns <= srv.timers[m]->wake_ns)
			break;
		heap_set(i, srv.timers[m]);
		i = m;
	}
	heap_set(i, c);
}

static int heap_push(struct conn *c)
{
	if (srv.n_timers == srv.timers_cap) {
		size_t cap = srv.timers_cap ? srv.timers_cap * 2 : 64;
		struct conn **v = realloc(srv.timers, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		srv.timers = v;
		srv.timers_cap = cap;
	}
	srv.timers[srv.n_timers++] = c;
	heap_up(srv.n_timers - 1);
	return 0;
}

static void heap_del(struct conn *c)
{
	struct conn *last;
	size_t i;

	if (!c->heap_pos)
		return;
	i = c->heap_pos - 1;
	c->heap_pos = 0;
	last = srv.timers[--srv.n_timers];
	if (last == c)
		return;
	heap_set(i, last);
	heap_up(i);
	heap_down(last->heap_pos - 1);
}

/* ---- dates, ids ---- */

static void update_dates(void)
{
	static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;

	if (t == srv.date_sec)
		return;
	srv.date_sec = t;
	gmtime_r(&t, &tm);
	snprintf(srv.date_http, sizeof(srv.date_http), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 wday[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
	snprintf(srv.date_nginx, sizeof(srv.date_nginx), "%02d/%s/%04d:%02d:%02d:%02d +0000",
		 tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* xorshift128+: request IDs only need to differ, not to be secret. */
static uint64_t rng_next(void)
{
	uint64_t s1 = srv.rng[0];
	const uint64_t s0 = srv.rng[1];

	srv.rng[0] = s0;
	s1 ^= s1 << 23;
	srv.rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return srv.rng[1] + s0;
}

/* ---- JSON, as Go's encoding/json writes it (echo_json.c) ---- */

/*
 * json.MarshalIndent(RequestAssertions, "", " ") of echo-basic; "proto" is
 * <h2>, else HTTP/1.x; "tls" is there when the request came over <ssl>.
 */
static void render_json_proto(struct buf *b, const struct xgw_h1_request *req, const char *h2,
			      SSL *ssl)
{
	char proto[16];

	snprintf(proto, sizeof(proto), "%s", h2 ? h2 : "HTTP/1.x");
	if (!h2)
		proto[7] = (char)('0' + req->minor_version);
	echo_json_request(b, req, proto, srv.ns, srv.name, ssl);
}

/* The nginxdemos/hello plain-text page. */
static void render_plain(struct buf *b, const struct conn *c, const struct xgw_h1_request *req)
{
	uint64_t a = rng_next(), z = rng_next();

	buf_printf(b,
		   "Server address: %s\nServer name: %s\nDate: %s\nURI: %.*s\n"
		   "Request ID: %016llx%016llx\n",
		   c->local, srv.name, srv.date_nginx, (int)req->target_len, req->target,
		   (unsigned long long)a, (unsigned long long)z);
}

static bool path_is(const struct xgw_h1_request *req, const char *s)
{
	return req->path_len == strlen(s) && !memcmp(req->path, s, req->path_len);
}

/* echo-basic's /status/: "^/status/(\d\d\d)$" on the raw target, else 400. */
static int status_of(const struct xgw_h1_request *req)
{
	const char *t = req->target;
	int code;

	if (req->target_len != 11 || memcmp(t, "/status/", 8))
		return 400;
	for (int i = 8; i < 11; i++)
		if (t[i] < '0' || t[i] > '9')
			return 400;
	code = (t[8] - '0') * 100 + (t[9] - '0') * 10 + (t[10] - '0');
	if (code < 100)
		return 400;
	/* Go sends a 1xx as an interim response, then 200 when the handler returns. */
	return code < 200 ? 200 : code;
}

static bool path_prefix(const struct xgw_h1_request *req, const char *s)
{
	return req->path_len >= strlen(s) && !memcmp(req->path, s, strlen(s));
}

#define BYTES_MAX (16u << 20)

/* /bytes/N: N, or -1 when N is not a number up to BYTES_MAX. */
static long bytes_of(const struct xgw_h1_request *req)
{
	unsigned long n = 0;

	if (req->path_len == 7 || req->path_len > 16)
		return -1;
	for (size_t i = 7; i < req->path_len; i++) {
		if (req->path[i] < '0' || req->path[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(req->path[i] - '0');
	}
	return n > BYTES_MAX ? -1 : (long)n;
}

/* ---- plans ---- */

/* <msg> NULL: srv.err already holds the message. */
static void plan_error(struct plan *pl, int status, const char *msg)
{
	if (msg)
		snprintf(srv.err, sizeof(srv.err), "%s", msg);
	pl->act = ACT_ERROR;
	pl->status = status;
	pl->delay_ns = 0;
}

/*
 * /retry/?uuid=U&succeedAfter=N[&responseCode=C][&delayRetry=D]: attempts 1..N
 * for U fail (C with an empty body, else an RST), after D; later ones echo.
 */
static void plan_retry(const struct xgw_h1_request *req, struct plan *pl)
{
	char uuid[ECHO_RETRY_UUID_MAX + 1];
	long ulen = echo_query_get(req, "uuid", uuid, sizeof(uuid));
	int after, code = 0, no_code;
	uint64_t delay;

	if (ulen <= 0 || ulen > ECHO_RETRY_UUID_MAX) {
		plan_error(pl, 400, "uuid: missing, or longer than 128 bytes");
		return;
	}
	if (echo_query_int(req, "succeedAfter", &after)) {
		plan_error(pl, 400, "succeedAfter: expected an integer");
		return;
	}
	no_code = echo_query_int(req, "responseCode", &code);
	if (no_code == -EINVAL || (!no_code && (code < 200 || code > 999))) {
		plan_error(pl, 400, "responseCode: expected a status code 200-999");
		return;
	}
	if (echo_query_duration(req, "delayRetry", MAX_DELAY_NS, &delay, srv.err,
				sizeof(srv.err))) {
		plan_error(pl, 400, NULL);
		return;
	}
	/* Only a valid attempt counts. */
	if (echo_retry_attempt(uuid, (size_t)ulen) <= (uint32_t)(after > 0 ? after : 0)) {
		pl->act = no_code ? ACT_RESET : ACT_STATUS;
		pl->status = code;
		pl->delay_ns = delay;
	}
}

/* Decide what <req> gets: see enum action. Counts a retry attempt. */
static void plan_request(const struct xgw_h1_request *req, struct plan *pl)
{
	*pl = (struct plan){ .act = ACT_ECHO };
	if (srv.mode != MODE_JSON || path_is(req, "/health") || path_prefix(req, "/status/"))
		return;
	if (path_is(req, "/ws")) {
		pl->act = ACT_WS;
		return;
	}
	if (path_is(req, "/retry") || path_prefix(req, "/retry/")) {
		plan_retry(req, pl);
		if (pl->act != ACT_ECHO)
			return;
	}
	if (echo_query_duration(req, "delay", MAX_DELAY_NS, &pl->delay_ns, srv.err,
				sizeof(srv.err)))
		plan_error(pl, 500, NULL);
}

/* ---- responses ---- */

static void log_request(const struct conn *c, const struct xgw_h1_request *req, int status,
			size_t len)
{
	if (srv.quiet)
		return;
	if (status)
		log_info("%s \"%.*s %.*s HTTP/1.%d\" %d %zu", c->peer, (int)req->method_len,
			 req->method, (int)req->target_len, req->target, req->minor_version, status,
			 len);
	else
		log_info("%s \"%.*s %.*s HTTP/1.%d\" reset", c->peer, (int)req->method_len,
			 req->method, (int)req->target_len, req->target, req->minor_version);
}

/* echo-basic's /ws: 101 and a frame reader, or the error golang.org/x/net/websocket gives. */
static int respond_ws(struct conn *c, const struct xgw_h1_request *req)
{
	char accept[ECHO_WS_ACCEPT_LEN + 1];
	enum echo_ws_verdict v = echo_ws_handshake(req, accept);
	int status = v == ECHO_WS_OK ? 101 : v == ECHO_WS_BAD_METHOD ? 405 : 400;

	update_dates();
	if (v == ECHO_WS_OK) {
		c->ws = calloc(1, sizeof(*c->ws));
		if (!c->ws)
			return -ENOMEM;
		buf_printf(&c->out,
			   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			   accept);
	} else {
		c->keep_alive = false;
		buf_printf(&c->out,
			   "HTTP/1.1 %d %s\r\nDate: %s\r\n%sContent-Length: 0\r\n"
			   "Connection: close\r\n\r\n",
			   status, xgw_h1_reason(status), srv.date_http,
			   v == ECHO_WS_BAD_VERSION ? "Sec-WebSocket-Version: 13\r\n" : "");
	}
	log_request(c, req, status, 0);
	return c->out.err;
}

/* Append the response to <req>, as <pl> decided it, to c->out. Returns 0 or -ENOMEM. */
static int respond(struct conn *c, const struct xgw_h1_request *req, const struct plan *pl)
{
	struct buf *b = &srv.body, *out = &c->out;
	bool head = req->method_len == 4 && !memcmp(req->method, "HEAD", 4);
	bool json = false, nosniff = false, page = false, has_body, chunked = false;
	const char *ctype = NULL;
	int status = 200;
	long nbytes;

	if (pl->act == ACT_RESET) {
		c->reset = true;
		log_request(c, req, 0, 0);
		return 0;
	}
	if (pl->act == ACT_WS)
		return respond_ws(c, req);
	b->len = 0;
	b->err = 0;
	update_dates();
	if (path_is(req, "/health")) {
		ctype = "text/plain; charset=utf-8";
		buf_str(b, "OK");
	} else if (path_prefix(req, "/status/")) {
		status = status_of(req);
	} else if (path_prefix(req, "/bytes/")) {
		nbytes = bytes_of(req);
		if (nbytes < 0) {
			status = 400;
		} else if (buf_reserve(b, (size_t)nbytes)) {
			for (long i = 0; i < nbytes; i++)
				b->p[i] = (char)('a' + i % 26);
			b->len = (size_t)nbytes;
			ctype = "application/octet-stream";
			chunked = req->query && memmem(req->query, req->query_len, "chunked", 7);
		}
	} else if (pl->act == ACT_STATUS) {
		status = pl->status;
	} else if (pl->act == ACT_ERROR) {
		status = pl->status;
		ctype = "application/json";
		nosniff = true;
		buf_str(b, "{\"message\":");
		json_str(b, srv.err, strlen(srv.err));
		buf_str(b, "}");
	} else if (srv.mode == MODE_JSON) {
		ctype = "application/json";
		json = nosniff = true;
		render_json_proto(b, req, NULL, c->ssl);
	} else {
		ctype = "text/plain";
		page = true;
		render_plain(b, c, req);
	}
	if (b->err)
		return b->err;
	has_body = status != 204 && status != 304;

	buf_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, xgw_h1_reason(status),
		   srv.date_http);
	if (srv.mode == MODE_PLAIN)
		buf_str(out, "Server: xgw-echo\r\n");
	if (ctype)
		buf_printf(out, "Content-Type: %s\r\n", ctype);
	if (nosniff)
		buf_str(out, "X-Content-Type-Options: nosniff\r\n");
	if (json)
		echo_set_headers(out, req);
	if (page)
		buf_str(out,
			"Expires: Thu, 01 Jan 1970 00:00:01 GMT\r\nCache-Control: no-cache\r\n");
	if (has_body && chunked)
		buf_str(out, "Transfer-Encoding: chunked\r\n");
	else if (has_body)
		buf_printf(out, "Content-Length: %zu\r\n", b->len);
	if (!req->keep_alive)
		buf_str(out, "Connection: close\r\n");
	else if (req->minor_version == 0)
		buf_str(out, "Connection: keep-alive\r\n");
	buf_add(out, "\r\n", 2);
	if (has_body && !head && chunked) {
		for (size_t off = 0; off < b->len; off += 4000) {
			size_t k = b->len - off < 4000 ? b->len - off : 4000;

			buf_printf(out, "%zx\r\n", k);
			buf_add(out, b->p + off, k);
			buf_add(out, "\r\n", 2);
		}
		buf_str(out, "0\r\n\r\n");
	} else if (has_body && !head) {
		buf_add(out, b->p, b->len);
	}
	log_request(c, req, status, b->len);
	return out->err;
}

static int respond_error(struct conn *c, int status)
{
	const char *reason = xgw_h1_reason(status);

	if (!srv.quiet)
		log_info("%s malformed request: %d", c->peer, status);
	buf_printf(&c->out,
		   "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		   "Content-Length: %zu\r\nConnection: close\r\n\r\n%d %s",
		   status, reason, strlen(reason) + 4, status, reason);
	return c->out.err;
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
	list_del(c);
	heap_del(c);
	echo_ws_release(c->ws);
	free(c->ws);
	SSL_free(c->ssl);
	if (c->fd >= 0) /* -1: handed to echo_h2.c */
		close(c->fd);
	free(c->in);
	free(c->out.p);
	free(c);
}

static int conn_events(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return 0;
	if (epoll_ctl(srv.epfd, EPOLL_CTL_MOD, c->fd, &ev))
		return -errno;
	c->events = events;
	return 0;
}

/* Half-close and wait (bounded) for the client's EOF, so that our last bytes are not reset. */
static int conn_linger(struct conn *c)
{
	if (c->ssl)
		echo_tls_close_notify(c->ssl);
	shutdown(c->fd, SHUT_WR);
	c->lingering = true;
	list_append(&srv.linger, c, now_sec() + LINGER_TIMEOUT);
	return conn_events(c, EPOLLIN);
}

/* A failing retry without responseCode: close with an RST. Returns -ECONNABORTED: free <c>. */
static int conn_reset(struct conn *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	return -ECONNABORTED;
}

/* Send what may be sent. Returns 0, or -errno when the connection is to be freed. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_ready) {
		const char *p = c->out.p + c->out_off;
		size_t len = c->out_ready - c->out_off;
		ssize_t n =
			c->ssl ? echo_tls_send(c->ssl, p, len) : send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off && c->out_off == c->out_ready) {
		/* Keep only the held-back tail, at the front. */
		memmove(c->out.p, c->out.p + c->out_off, c->out.len - c->out_off);
		c->out.len -= c->out_off;
		c->out_ready = 0;
		c->out_off = 0;
	}
	if (c->out_off == c->out_ready && c->closing)
		return c->reset ? conn_reset(c) : conn_linger(c);
	if (c->closing)
		return conn_events(c, EPOLLOUT);
	/* A parked connection reads nothing: its request waits at the front of c->in. */
	if (c->out_off == c->out_ready)
		return conn_events(c, c->parked ? 0 : EPOLLIN);
	/* Keep reading pipelined requests until too much output waits for the client. */
	return conn_events(
		c,
		EPOLLOUT | (!c->parked && c->out.len - c->out_off < OUT_HIGH_WATER ? EPOLLIN : 0));
}

/* The body of the current request has been read: its response may go. */
static void request_done(struct conn *c)
{
	c->rd = RD_HEAD;
	c->out_ready = c->out.len;
	if ((!c->keep_alive && !c->ws) || c->reset)
		c->closing = true;
}

/* Hold the request at the front of c->in for c->plan.delay_ns. Returns 0 or -ENOMEM. */
static int conn_park(struct conn *c)
{
	c->wake_ns = now_ns() + c->plan.delay_ns;
	c->parked = true;
	c->planned = true;
	list_del(c); /* a delay may outlast the idle timeout */
	return heap_push(c);
}

static int ws_write(void *ctx, const void *p, size_t n)
{
	struct conn *c = ctx;

	buf_add(&c->out, p, n);
	return c->out.err;
}

/* Parse and answer what c->in holds. Returns 0 or -errno. */
static struct echo_h2_cfg h2cfg;

/* Hand <c>'s socket and what it read to echo_h2.c; <c> is freed without it. */
static int h2_takeover(struct conn *c)
{
	int fd = c->fd;

	h2cfg = (struct echo_h2_cfg){
		.epfd = srv.epfd,
		.kind = KIND_H2,
		.grpc = srv.mode == MODE_GRPC,
		.quiet = srv.quiet,
		.pod = srv.name,
		.ns = srv.ns,
		.service = getenv("SERVICE_NAME"),
		.render = render_json_proto,
	};
	c->fd = -1;
	echo_h2_start(&h2cfg, fd, c->ssl, c->in, c->in_len, c->peer);
	c->ssl = NULL;	    /* echo_h2.c's now */
	return -ECONNRESET; /* conn_event frees <c> */
}

static int conn_process(struct conn *c)
{
	size_t off = 0;
	int rc = 0;

	while (off < c->in_len && !c->closing && !c->parked && rc >= 0) {
		const char *p = c->in + off;
		size_t n = c->in_len - off, used;

		if (c->ws) {
			/* Consumes all but an incomplete frame head. */
			int r = echo_ws_feed(c->ws, p, n, &used, ws_write, c);

			off += used;
			c->out_ready = c->out.len;
			if (r < 0)
				rc = r;
			else if (r)
				c->closing = true;
			break;
		} else if (c->rd == RD_LENGTH) {
			used = n < c->body_left ? n : (size_t)c->body_left;
			c->body_left -= used;
			off += used;
			if (!c->body_left)
				request_done(c);
		} else if (c->rd == RD_CHUNKED) {
			int r = xgw_h1_chunked_scan(&c->chunked, p, n, &used);

			off += used;
			if (r == 1) {
				request_done(c);
			} else if (r < 0) {
				c->out.len = c->out_ready; /* drop the held response */
				c->closing = true;
				rc = respond_error(c, 400);
				c->out_ready = c->out.len;
			}
		} else if (c->h2c_only && !off &&
			   !memcmp(p, ECHO_H2_PREFACE,
				   n < ECHO_H2_PREFACE_LEN ? n : ECHO_H2_PREFACE_LEN)) {
			/* HTTP/2 with prior knowledge: echo_h2.c takes the socket */
			if (n < ECHO_H2_PREFACE_LEN)
				break;
			return h2_takeover(c);
		} else {
			struct xgw_h1_request req;
			int r = xgw_h1_parse_request(p, n, &req);

			if (r == 0)
				break;
			if (r < 0) {
				c->closing = true;
				rc = respond_error(c, -r);
				c->out_ready = c->out.len;
				break;
			}
			if (!c->planned) {
				plan_request(&req, &c->plan);
				if (c->plan.delay_ns) {
					rc = conn_park(c);
					break;
				}
			}
			c->planned = false;
			off += (size_t)r;
			c->keep_alive = req.keep_alive;
			if (req.expect_continue &&
			    (req.body == XGW_H1_BODY_CHUNKED ||
			     (req.body == XGW_H1_BODY_LENGTH && req.content_length))) {
				buf_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
				c->out_ready = c->out.len;
				rc = c->out.err;
			}
			if (!rc && c->h2c_only) /* as echo-basic's h2c port: no HTTP/1.1 */
				rc = respond_error(c, 400);
			else if (!rc)
				rc = respond(c, &req, &c->plan);
			if (req.body == XGW_H1_BODY_CHUNKED) {
				c->rd = RD_CHUNKED;
				c->chunked = (struct xgw_h1_chunked){};
			} else if (req.body == XGW_H1_BODY_LENGTH && req.content_length) {
				c->rd = RD_LENGTH;
				c->body_left = req.content_length;
			} else {
				request_done(c);
			}
		}
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	/* Bytes after a closing request are not answered; a lingering close drains them. */
	if (c->closing)
		c->in_len = 0;
	return rc;
}

/*
 * recv() on <c>, through TLS on a --tls-listen port. A TLS read that must
 * write first (a key update while the socket is full) waits for EPOLLOUT.
 */
static ssize_t conn_recv(struct conn *c, void *p, size_t len)
{
	ssize_t n;

	do
		n = c->ssl ? echo_tls_recv(c->ssl, p, len) : recv(c->fd, p, len, 0);
	while (n < 0 && errno == EINTR);
	if (c->ssl) {
		int e = errno;

		c->tls_wants_out = n < 0 && e == EAGAIN && SSL_want_write(c->ssl);
		if (c->tls_wants_out && conn_events(c, c->events | EPOLLOUT))
			return -1;
		errno = e;
	}
	return n;
}

static int conn_read(struct conn *c)
{
	ssize_t n;
	int err;

	if (c->parked)
		return 0;
	if (c->closing) {
		char sink[4096];

		n = conn_recv(c, sink, sizeof(sink));
		if (n > 0 || (n < 0 && errno == EAGAIN))
			return 0;
		if (n < 0 || c->lingering)
			return -ECONNRESET; /* the client's EOF after ours: done */
		return conn_events(c, EPOLLOUT);
	}
	if (c->in_len == c->in_cap) {
		/* Only an unfinished head fills the buffer; the parser stops it at its limit. */
		size_t cap = c->in_cap ? c->in_cap * 2 : IN_INIT;
		char *p;

		if (cap > XGW_H1_MAX_HEAD)
			cap = XGW_H1_MAX_HEAD;
		p = realloc(c->in, cap);
		if (!p)
			return -ENOMEM;
		c->in = p;
		c->in_cap = cap;
	}
	n = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		/* A half-close still gets the answers to whole requests; a cut one gets none. */
		c->closing = true;
		c->out.len = c->out_ready;
		c->in_len = 0;
		return conn_flush(c);
	}
	c->in_len += (size_t)n;
	list_append(&srv.idle, c, now_sec() + IDLE_TIMEOUT);
	err = conn_process(c);
	return err ?: conn_flush(c);
}

/*
 * TLS keeps the rest of a record it has decrypted: epoll will not report
 * it. Read it while <c> wants input.
 */
static int conn_read_pending(struct conn *c)
{
	int err = 0;

	while (!err && c->ssl && !c->handshaking && !c->closing && !c->parked &&
	       (c->events & EPOLLIN) && SSL_pending(c->ssl) > 0)
		err = conn_read(c);
	return err;
}

/* The server handshake on a --tls-listen port; ALPN "h2" hands the connection to echo_h2.c. */
static int conn_handshake(struct conn *c)
{
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	int err = echo_tls_handshake(c->ssl, c->peer, srv.quiet);

	if (err == -EAGAIN)
		return conn_events(c, SSL_want_write(c->ssl) ? EPOLLOUT : EPOLLIN);
	if (err)
		return err;
	c->handshaking = false;
	SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
	if (alpn_len == 2 && !memcmp(alpn, "h2", 2))
		return h2_takeover(c);
	return conn_events(c, EPOLLIN);
}

static void conn_event(struct conn *c, uint32_t events)
{
	int err = 0;

	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))
		err = -ECONNRESET;
	if (!err && c->handshaking)
		err = conn_handshake(c);
	else if (!err) {
		if (events & EPOLLOUT)
			err = conn_flush(c);
		if (!err && (events & EPOLLIN || c->tls_wants_out))
			err = conn_read(c);
		if (!err)
			err = conn_read_pending(c);
	}
	if (err)
		conn_free(c);
}

static int fmt_addr(const struct sockaddr *sa, char *out)
{
	char ip[XGW_IP_STRLEN];
	uint8_t family, addr[16];
	uint16_t port;
	int err = xgw_ip_from_sockaddr(sa, &family, addr, &port);

	if (err)
		return err;
	/* nginx's "$server_addr:$server_port": no brackets around IPv6 either. */
	snprintf(out, ADDR_STRLEN, "%s:%u", xgw_ip_format(family, addr, ip), port);
	return 0;
}

static void accept_all(struct listener *l)
{
	for (;;) {
		struct sockaddr_storage peer, local;
		socklen_t plen = sizeof(peer), llen = sizeof(local);
		struct epoll_event ev;
		struct conn *c;
		int fd, one = 1;

		fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors: stop accepting until the next tick. */
				log_warn("accept: %s; pausing accepts", strerror(errno));
				for (int i = 0; i < srv.n_listen; i++)
					epoll_ctl(srv.epfd, EPOLL_CTL_DEL, srv.listeners[i].fd,
						  NULL);
				srv.accept_paused = true;
			}
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->kind = KIND_CONN;
		c->fd = fd;
		c->h2c_only = l->h2c_only;
		if (l->tls) {
			c->ssl = SSL_new(srv.tls_ctx);
			if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
				log_warn("TLS connection: out of memory");
				SSL_free(c->ssl);
				close(fd);
				free(c);
				continue;
			}
			SSL_set_accept_state(c->ssl);
			c->handshaking = true;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (getsockname(fd, (struct sockaddr *)&local, &llen) ||
		    fmt_addr((struct sockaddr *)&local, c->local))
			snprintf(c->local, sizeof(c->local), "?");
		if (fmt_addr((struct sockaddr *)&peer, c->peer))
			snprintf(c->peer, sizeof(c->peer), "?");
		ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(srv.epfd, EPOLL_CTL_ADD, fd, &ev)) {
			SSL_free(c->ssl);
			close(fd);
			free(c);
			continue;
		}
		c->events = EPOLLIN;
		list_append(&srv.idle, c, now_sec() + IDLE_TIMEOUT);
	}
}

static int listeners_arm(void)
{
	for (int i = 0; i < srv.n_listen; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &srv.listeners[i] };

		if (epoll_ctl(srv.epfd, EPOLL_CTL_ADD, srv.listeners[i].fd, &ev))
			return -errno;
	}
	srv.accept_paused = false;
	return 0;
}

/* Answer the parked requests whose time has come. */
static void wake_due(void)
{
	uint64_t now = now_ns();

	while (srv.n_timers && srv.timers[0]->wake_ns <= now) {
		struct conn *c = srv.timers[0];
		int err;

		heap_del(c);
		c->parked = false;
		list_append(&srv.idle, c, now_sec() + IDLE_TIMEOUT);
		err = conn_process(c);
		if (!err)
			err = conn_flush(c);
		if (!err)
			err = conn_read_pending(c);
		if (err)
			conn_free(c);
	}
}

/* epoll_wait's timeout: the next wake, rounded up to a millisecond, or a 1 s tick. */
static int next_timeout(void)
{
	uint64_t now, ms;

	if (!srv.n_timers)
		return 1000;
	now = now_ns();
	if (srv.timers[0]->wake_ns <= now)
		return 0;
	ms = (srv.timers[0]->wake_ns - now + 999999) / 1000000;
	return ms < 1000 ? (int)ms : 1000;
}

static void expire(void)
{
	time_t now = now_sec();

	while (srv.idle.head && srv.idle.head->deadline <= now)
		conn_free(srv.idle.head);
	while (srv.linger.head && srv.linger.head->deadline <= now)
		conn_free(srv.linger.head);
	if (srv.accept_paused)
		listeners_arm();
}

/* ---- setup ---- */

/* "ADDR:PORT", "[V6]:PORT" or ":PORT" (all IPv4 addresses). */
int echo_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[XGW_IP_STRLEN + 2];
	const char *colon, *hs = s;
	uint8_t family, addr[16];
	size_t hl;
	char *end;
	unsigned long port;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hs = s + 1;
		hl = (size_t)(rb - hs);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535)
		return -EINVAL;
	if (!hl) {
		family = 4;
		memset(addr, 0, sizeof(addr));
	} else if (xgw_ip_parse(host, &family, addr)) {
		return -EINVAL;
	}
	*len = xgw_ip_to_sockaddr(family, addr, (uint16_t)port, ss);
	return 0;
}

/* A --listen port, or with <tls> a --tls-listen one. */
static int listen_on(const char *spec, bool tls)
{
	struct sockaddr_storage ss, bound;
	socklen_t len, blen = sizeof(bound);
	char shown[ADDR_STRLEN];
	int fd, one = 1, err;

	const char *flag = tls ? "--tls-listen" : "--listen";

	if (srv.n_listen == MAX_LISTEN + ECHO_L4_MAX_LISTEN)
		return -E2BIG;
	err = echo_parse_listen(spec, &ss, &len);
	if (err) {
		log_err("%s %s: expected ADDR:PORT or [ADDR]:PORT", flag, spec);
		return err;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err_errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::]:P and 0.0.0.0:P may both be given, as nginx's listen lines are. */
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 4096) ||
	    getsockname(fd, (struct sockaddr *)&bound, &blen))
		goto err_close;
	srv.listeners[srv.n_listen].kind = KIND_LISTENER;
	/* gRPC is HTTP/2 only: every port is an h2c one */
	srv.listeners[srv.n_listen].h2c_only = srv.mode == MODE_GRPC;
	srv.listeners[srv.n_listen].tls = tls;
	for (int i = 0; i < srv.n_h2c_ports && !tls; i++)
		if (srv.h2c_ports[i] == ntohs(ss.ss_family == AF_INET6
						      ? ((struct sockaddr_in6 *)&ss)->sin6_port
						      : ((struct sockaddr_in *)&ss)->sin_port))
			srv.listeners[srv.n_listen].h2c_only = true;
	srv.listeners[srv.n_listen++].fd = fd;
	if (fmt_addr((struct sockaddr *)&bound, shown))
		snprintf(shown, sizeof(shown), "%s", spec);
	log_info("listening on %s%s", shown, tls ? " (TLS)" : "");
	return 0;
err_close:
	err = -errno;
	close(fd);
	log_err("%s %s: %s", flag, spec, strerror(-err));
	return err;
err_errno:
	err = -errno;
	log_err("%s %s: %s", flag, spec, strerror(-err));
	return err;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xgw-echo [--listen ADDR:PORT]... [--name NAME] [--namespace NS]\n"
		"                [--mode plain|json|grpc|tcp|udp|dns] [--quiet] [--h2c-port "
		"PORT]...\n"
		"                [--tls-listen ADDR:PORT --cert PEM --key PEM [--client-ca PEM]]\n"
		"                [--dns-a IPV4]\n"
		"                [--service NAME]\n"
		"  --listen     address to serve (repeatable; [V6]:PORT; default 0.0.0.0:8080)\n"
		"  --name       pod name (default $POD_NAME, else the host name)\n"
		"  --namespace  namespace for json mode (default $NAMESPACE)\n"
		"  --mode       plain: nginxdemos/hello:plain-text; json: Gateway API echo;\n"
		"               grpc: the conformance gRPC echo service (h2c) on every port;\n"
		"               tcp: the conformance TCP echo (lines PING, IS_TLS, TEST);\n"
		"               udp: a JSON datagram per datagram; dns: answers DNS queries\n"
		"  --tls-listen a TLS port (repeatable), with --cert and --key: json mode\n"
		"               serves HTTPS there (ALPN h2 or HTTP/1.1, as echo-basic's 8443),\n"
		"               grpc mode gRPC over TLS (ALPN h2), tcp mode the TLS echo\n"
		"  --client-ca  verify the client certificates sent on TLS ports against\n"
		"               these CA certificates (PEM); clients without one get in\n"
		"  --dns-a      dns mode: the address of A answers (default 192.0.2.1)\n"
		"  --service    the service name L4 modes report (default $SERVICE_NAME)\n"
		"  --quiet      no per-request log lines\n"
		"  --h2c-port   a port that speaks HTTP/2 with prior knowledge (the JSON echo)\n"
		"               and answers HTTP/1.1 with 400, as echo-basic's h2c port\n"
		"               (repeatable)\n");
}

static int run(void)
{
	struct epoll_event evs[256];

	for (;;) {
		int n = epoll_wait(srv.epfd, evs, 256, next_timeout());

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			enum kind *k = evs[i].data.ptr;

			if (*k == KIND_SIGNAL) {
				struct signalfd_siginfo si;

				if (read(srv.sig.fd, &si, sizeof(si)) == sizeof(si)) {
					log_info("signal %u: exiting", si.ssi_signo);
					return 0;
				}
			} else if (*k == KIND_LISTENER) {
				if (!srv.accept_paused)
					accept_all((struct listener *)k);
			} else if (*k == KIND_H2) {
				echo_h2_event(k, evs[i].events);
			} else {
				conn_event((struct conn *)k, evs[i].events);
			}
		}
		wake_due();
		expire();
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "namespace", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "h2c-port", required_argument, NULL, 'H' },
		{ "tls-listen", required_argument, NULL, 'T' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "client-ca", required_argument, NULL, 'R' },
		{ "dns-a", required_argument, NULL, 'A' },
		{ "service", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *listen_specs[MAX_LISTEN];
	struct echo_l4_opts l4 = { .service = getenv("SERVICE_NAME") };
	int n_specs = 0, opt, err = 0;
	char hostname[256] = "";
	struct rlimit rl;
	sigset_t mask;

	xgw_log_init("xgw-echo", XGW_LOG_INFO);
	srv.name = getenv("POD_NAME");
	srv.ns = getenv("NAMESPACE") ?: "";
	while ((opt = getopt_long(argc, argv, "l:n:s:m:qhH:T:C:K:R:A:S:", opts, NULL)) != -1) {
		switch (opt) {
		case 'H': {
			char *end;
			long port = strtol(optarg, &end, 10);

			if (*end || port < 1 || port > 65535 || srv.n_h2c_ports == 8) {
				log_err("--h2c-port %s: expected a port (at most 8 of them)",
					optarg);
				return 2;
			}
			srv.h2c_ports[srv.n_h2c_ports++] = (uint16_t)port;
			break;
		}
		case 'l':
			if (n_specs == MAX_LISTEN) {
				log_err("at most %d --listen", MAX_LISTEN);
				return 2;
			}
			listen_specs[n_specs++] = optarg;
			break;
		case 'n':
			srv.name = optarg;
			break;
		case 's':
			srv.ns = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "plain")) {
				srv.mode = MODE_PLAIN;
			} else if (!strcmp(optarg, "json")) {
				srv.mode = MODE_JSON;
			} else if (!strcmp(optarg, "tcp")) {
				l4.mode = ECHO_L4_TCP;
			} else if (!strcmp(optarg, "udp")) {
				l4.mode = ECHO_L4_UDP;
			} else if (!strcmp(optarg, "dns")) {
				l4.mode = ECHO_L4_DNS;
			} else if (!strcmp(optarg, "grpc")) {
				srv.mode = MODE_GRPC;
			} else {
				usage(stderr);
				return 2;
			}
			break;
		case 'q':
			srv.quiet = true;
			break;
		case 'T':
			if (l4.n_tls_listen == ECHO_L4_MAX_LISTEN) {
				log_err("at most %d --tls-listen", ECHO_L4_MAX_LISTEN);
				return 2;
			}
			l4.tls_listen[l4.n_tls_listen++] = optarg;
			break;
		case 'C':
			l4.cert = optarg;
			break;
		case 'K':
			l4.key = optarg;
			break;
		case 'R':
			l4.client_ca = optarg;
			break;
		case 'A':
			l4.dns_a = optarg;
			break;
		case 'S':
			l4.service = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!srv.name) {
		gethostname(hostname, sizeof(hostname) - 1);
		srv.name = hostname;
	}
	if (!n_specs && !l4.n_tls_listen)
		listen_specs[n_specs++] = "0.0.0.0:8080";
	if (!l4.n_tls_listen && (l4.cert || l4.key || l4.client_ca)) {
		log_err("--cert, --key and --client-ca are for the --tls-listen ports: there is "
			"none");
		return 2;
	}
	if (l4.mode) {
		/* tcp, udp, dns: the L4 backends (echo_l4.c) */
		for (int i = 0; i < n_specs; i++)
			l4.listen[l4.n_listen++] = listen_specs[i];
		l4.name = srv.name;
		l4.ns = srv.ns;
		l4.quiet = srv.quiet;
		return echo_l4_run(&l4);
	}
	if (l4.n_tls_listen && srv.mode == MODE_PLAIN) {
		log_err("--tls-listen is for --mode json, grpc and tcp");
		return 2;
	}
	if (l4.n_tls_listen) {
		srv.tls_ctx = echo_tls_ctx_new(l4.cert, l4.key, l4.client_ca,
					       srv.mode == MODE_GRPC ? ECHO_TLS_ALPN_H2
								     : ECHO_TLS_ALPN_HTTP);
		if (!srv.tls_ctx)
			return 2;
	}

	/* A few thousand connections need more than the usual 1024 descriptors. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrandom(srv.rng, sizeof(srv.rng), 0) != sizeof(srv.rng) || !(srv.rng[0] | srv.rng[1]))
		srv.rng[0] = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL | 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	srv.sig.kind = KIND_SIGNAL;
	srv.sig.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv.sig.fd < 0 || srv.epfd < 0) {
		err = -errno;
		log_err("epoll/signalfd: %s", strerror(-err));
		goto out;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &srv.sig };

		if (epoll_ctl(srv.epfd, EPOLL_CTL_ADD, srv.sig.fd, &ev)) {
			err = -errno;
			goto out;
		}
	}
	for (int i = 0; i < n_specs && !err; i++)
		err = listen_on(listen_specs[i], false);
	for (int i = 0; i < l4.n_tls_listen && !err; i++)
		err = listen_on(l4.tls_listen[i], true);
	if (!err)
		err = listeners_arm();
	if (!err) {
		log_info("serving %s mode as \"%s\"",
			 srv.mode == MODE_GRPC	 ? "grpc"
			 : srv.mode == MODE_JSON ? "json"
						 : "plain",
			 srv.name);
		err = run();
	}
out:
	while (srv.idle.head)
		conn_free(srv.idle.head);
	while (srv.linger.head)
		conn_free(srv.linger.head);
	while (srv.n_timers)
		conn_free(srv.timers[0]);
	free(srv.timers);
	for (int i = 0; i < srv.n_listen; i++)
		close(srv.listeners[i].fd);
	if (srv.sig.fd >= 0)
		close(srv.sig.fd);
	if (srv.epfd >= 0)
		close(srv.epfd);
	free(srv.body.p);
	SSL_CTX_free(srv.tls_ctx);
	if (err)
		log_err("exiting: %s", strerror(-err));
	return err ? 1 : 0;
}
