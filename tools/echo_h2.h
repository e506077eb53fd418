/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xgw-echo's HTTP/2 side (nghttp2 server, cleartext with prior knowledge):
 * the echo JSON of echo-basic for --h2c-port connections, and the
 * conformance gRPC echo service for --mode grpc.
 */
#ifndef XGW_ECHO_H2_H
#define XGW_ECHO_H2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "echo_json.h"

struct xgw_h1_request;

struct echo_h2_cfg {
	int epfd;
	int kind; /* the epoll tag the sessions start with (xgw-echo's enum kind) */
	bool grpc;
	bool quiet;
	const char *pod, *ns, *service;
	/* the JSON echo body of <req> (as for HTTP/1.1), reporting <proto> and TLS <ssl> */
	void (*render)(struct buf *b, const struct xgw_h1_request *req, const char *proto,
		       SSL *ssl);
};

#define ECHO_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define ECHO_H2_PREFACE_LEN 24

/*
 * Serve HTTP/2 on the accepted socket <fd> (registered with cfg->epfd; it is
 * re-registered here), through TLS <ssl> when not NULL (its handshake done),
 * <in>[0, <n>) the bytes already read from it. Takes the socket and <ssl> in
 * all cases (freed on failure). Returns 0 or -errno.
 */
int echo_h2_start(const struct echo_h2_cfg *cfg, int fd, SSL *ssl, const char *in, size_t n,
		  const char *peer);
/* epoll reported <events> on a session whose tag is at <p>. */
void echo_h2_event(void *p, uint32_t events);

#endif /* XGW_ECHO_H2_H */
