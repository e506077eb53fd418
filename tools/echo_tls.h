/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * xgw-echo's TLS (OpenSSL 3): the server contexts of every mode, non-blocking
 * reads and writes with recv()/send() semantics for the event loop, and the
 * connection's state as echo-basic reports it (Go's tls.ConnectionState: the
 * JSON "tls" object, the gRPC TLSAssertions, the TCP echo's TEST line).
 */
#ifndef XGW_ECHO_TLS_H
#define XGW_ECHO_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "echo_json.h"

/* The ALPN protocols a context offers, in the server's order of preference. */
enum echo_tls_alpn {
	ECHO_TLS_ALPN_NONE, /* no ALPN (the TCP echo) */
	ECHO_TLS_ALPN_HTTP, /* "h2", "http/1.1": Go's net/http over TLS */
	ECHO_TLS_ALPN_H2,   /* "h2": grpc-go's credentials */
};

/*
 * A server context with the certificate chain <cert> and key <key> (PEM
 * files). With <client_ca> (PEM, one or more CA certificates) a client
 * certificate is asked for and verified when one is given, and the handshake
 * goes on without one (Go's tls.VerifyClientCertIfGiven, as echo-basic's
 * TLS_CLIENT_CACERTS). Returns NULL after logging what was wrong.
 */
SSL_CTX *echo_tls_ctx_new(const char *cert, const char *key, const char *client_ca,
			  enum echo_tls_alpn alpn);

/*
 * Drive the server handshake of <s> (non-blocking socket). Returns 0 when it
 * is done, -EAGAIN when it waits for the socket (SSL_want_read/write(<s>)
 * say which way), or -EPROTO when it failed: why is logged, naming <peer>,
 * unless <quiet>.
 */
int echo_tls_handshake(SSL *s, const char *peer, bool quiet);

/*
 * recv() and send() over <s>: bytes moved, 0 at the peer's close_notify or
 * EOF (recv), or -1 with errno EAGAIN (the socket is not ready: check
 * SSL_want_write(<s>) for a read that must write first) or EPIPE/ECONNRESET.
 */
ssize_t echo_tls_recv(SSL *s, void *p, size_t n);
ssize_t echo_tls_send(SSL *s, const void *p, size_t n);

/*
 * Send close_notify if the socket takes it now (no wait, no retry), unless a
 * fatal error ended the connection; then the caller shuts the socket down.
 */
void echo_tls_close_notify(SSL *s);

/* What echo-basic reports of a connection (tls.ConnectionState); strings never NULL. */
struct echo_tls_state {
	const char *version; /* "TLSv1.3" */
	const char *server_name;
	const char *cipher; /* IANA name, as Go's tls.CipherSuiteName */
	const char *alpn;   /* not NUL-terminated */
	size_t alpn_len;
};

void echo_tls_state(SSL *s, struct echo_tls_state *st);

/*
 * Append the PEM of the <i>-th certificate the peer sent (0: its own, then
 * its chain, in the order sent) to <b>. Returns 0, -ENOENT past the last one,
 * or -ENOMEM.
 */
int echo_tls_peer_pem(SSL *s, int i, struct buf *b);

/*
 * The member "tls" of echo-basic's JSON (json.MarshalIndent with one space,
 * at the depth of the top-level members), with its trailing ",\n".
 */
void echo_tls_json(struct buf *b, SSL *s);

#endif /* XGW_ECHO_TLS_H */
