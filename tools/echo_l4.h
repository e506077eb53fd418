/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* xgw-echo's L4 modes: the conformance TCP echo (plain and TLS), UDP echo, DNS. */
#ifndef XGW_ECHO_L4_H
#define XGW_ECHO_L4_H

#include <stdbool.h>
#include <sys/socket.h>

enum echo_l4_mode {
	ECHO_L4_TCP = 1,
	ECHO_L4_UDP,
	ECHO_L4_DNS,
};

#define ECHO_L4_MAX_LISTEN 16

struct echo_l4_opts {
	enum echo_l4_mode mode;
	const char *listen[ECHO_L4_MAX_LISTEN]; /* plain TCP, or UDP (udp, dns) */
	int n_listen;
	const char *tls_listen[ECHO_L4_MAX_LISTEN]; /* tcp mode: TLS ports */
	int n_tls_listen;
	const char *cert, *key; /* PEM files for the TLS ports */
	const char *client_ca;	/* PEM: verify client certificates when given */
	const char *dns_a;	/* the address of A answers */
	const char *name, *ns, *service;
	bool quiet;
};

/* "ADDR:PORT", "[V6]:PORT" or ":PORT" (all IPv4 addresses), as --listen takes it (xgw-echo.c). */
int echo_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* Serve until SIGTERM / SIGINT. Returns the process exit code. */
int echo_l4_run(const struct echo_l4_opts *o);

#endif /* XGW_ECHO_L4_H */
