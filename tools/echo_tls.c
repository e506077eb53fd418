// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * xgw-echo's TLS (see echo_tls.h). The HTTP and gRPC echo drive these from
 * their epoll loop on non-blocking sockets; the TCP echo (echo_l4.c) from its
 * blocking per-connection threads, where -EAGAIN never comes back.
 *
 * What is reported follows Go's crypto/tls as echo-basic prints it: version
 * "TLSv1.x" (OpenSSL's names are the same), the IANA cipher suite name (Go's
 * tls.CipherSuiteName), the SNI the client sent, the ALPN protocol chosen,
 * and the certificates the client sent as PEM blocks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "echo_tls.h"
#include "xgw/log.h"

/* The first OpenSSL error queued, as text, or <fallback>; the queue is emptied. */
static const char *ssl_reason(char *out, size_t size, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (!e) {
		snprintf(out, size, "%s", fallback);
		return out;
	}
	ERR_error_string_n(e, out, size);
	ERR_clear_error();
	return out;
}

/*
 * ALPN as Go's crypto/tls chooses (negotiateALPN): the server's first
 * protocol that the client offers; a client that offers ALPN but none of
 * ours is refused (no_application_protocol). <arg> is the server's list in
 * wire format.
 */
static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	const unsigned char *ours = arg;

	(void)s;
	for (size_t i = 0; ours[i]; i += 1 + ours[i]) {
		for (unsigned int j = 0; j < inlen; j += 1u + in[j]) {
			if (j + 1u + in[j] > inlen)
				return SSL_TLSEXT_ERR_ALERT_FATAL; /* malformed */
			if (in[j] == ours[i] && !memcmp(in + j + 1, ours + i + 1, ours[i])) {
				*out = in + j + 1;
				*outlen = in[j];
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

SSL_CTX *echo_tls_ctx_new(const char *cert, const char *key, const char *client_ca,
			  enum echo_tls_alpn alpn)
{
	/* NUL-terminated wire-format lists: a protocol is never 0 bytes long */
	static const unsigned char alpn_http[] = "\x02h2\x08http/1.1";
	static const unsigned char alpn_h2[] = "\x02h2";
	char why[256];
	SSL_CTX *ctx;

	if (!cert || !key) {
		log_err("a TLS port needs --cert and --key");
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		log_err("TLS context: %s", ssl_reason(why, sizeof(why), "out of memory"));
		return NULL;
	}
	/*
	 * Go's server minimum; renegotiation is a TLS 1.2 feature Go's server
	 * refuses too. An EOF without close_notify reads as EOF, as on a plain
	 * port: a half-closed client still gets the answers to whole requests.
	 */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* send() may move the output buffer between retries of one write */
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_err("--cert %s: %s", cert, ssl_reason(why, sizeof(why), "no certificate"));
		goto err_free;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		log_err("--key %s: %s", key, ssl_reason(why, sizeof(why), "no private key"));
		goto err_free;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		log_err("--key %s does not match --cert %s: %s", key, cert,
			ssl_reason(why, sizeof(why), "key mismatch"));
		goto err_free;
	}
	if (client_ca) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);

		if (!names || SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			log_err("--client-ca %s: %s", client_ca,
				ssl_reason(why, sizeof(why), "no CA certificate in it"));
			goto err_free;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		/* without FAIL_IF_NO_PEER_CERT: a client without a certificate gets in */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	if (alpn != ECHO_TLS_ALPN_NONE)
		SSL_CTX_set_alpn_select_cb(
			ctx, alpn_select, (void *)(alpn == ECHO_TLS_ALPN_H2 ? alpn_h2 : alpn_http));
	return ctx;

err_free:
	SSL_CTX_free(ctx);
	return NULL;
}

int echo_tls_handshake(SSL *s, const char *peer, bool quiet)
{
	char why[256];
	int r, e;

	errno = 0;
	r = SSL_do_handshake(s);
	if (r == 1)
		return 0;
	e = SSL_get_error(s, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return -EAGAIN;
	SSL_set_quiet_shutdown(s, 1); /* no close_notify after a fatal error */
	if (!quiet) {
		const char *fallback =
			e == SSL_ERROR_SYSCALL && errno ? strerror(errno) : "connection closed";

		log_info("%s TLS handshake failed: %s", peer,
			 ssl_reason(why, sizeof(why), fallback));
	}
	ERR_clear_error();
	return -EPROTO;
}

/* recv()/send() semantics for the result <r> of an SSL_read_ex/SSL_write_ex on <s>. */
static ssize_t io_result(SSL *s, int r, size_t done)
{
	int e;

	if (r == 1)
		return (ssize_t)done;
	e = SSL_get_error(s, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;	/* close_notify */
	case SSL_ERROR_SYSCALL: /* errno 0: EOF without close_notify */
		ERR_clear_error();
		SSL_set_quiet_shutdown(s, 1); /* no close_notify after a fatal error */
		return errno ? -1 : 0;
	default:
		ERR_clear_error();
		SSL_set_quiet_shutdown(s, 1);
		errno = ECONNRESET;
		return -1;
	}
}

void echo_tls_close_notify(SSL *s)
{
	if (SSL_shutdown(s) < 0)
		ERR_clear_error();
}

ssize_t echo_tls_recv(SSL *s, void *p, size_t n)
{
	size_t got = 0;
	int r;

	errno = 0;
	r = SSL_read_ex(s, p, n, &got);
	return io_result(s, r, got);
}

ssize_t echo_tls_send(SSL *s, const void *p, size_t n)
{
	size_t sent = 0;
	int r;

	errno = 0;
	if (!n)
		return 0;
	r = SSL_write_ex(s, p, n, &sent);
	return io_result(s, r, sent);
}

void echo_tls_state(SSL *s, struct echo_tls_state *st)
{
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	const SSL_CIPHER *c = SSL_get_current_cipher(s);

	SSL_get0_alpn_selected(s, &alpn, &alpn_len);
	st->version = SSL_get_version(s);
	st->server_name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
	if (!st->server_name)
		st->server_name = "";
	st->cipher = c ? SSL_CIPHER_standard_name(c) : NULL;
	if (!st->cipher)
		st->cipher = "";
	st->alpn = alpn ? (const char *)alpn : "";
	st->alpn_len = alpn_len;
}

int echo_tls_peer_pem(SSL *s, int i, struct buf *b)
{
	/* On a server the chain OpenSSL keeps leaves out the client's own certificate. */
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(s);
	X509 *x = i ? (chain && i - 1 < sk_X509_num(chain) ? sk_X509_value(chain, i - 1) : NULL)
		    : SSL_get0_peer_certificate(s);
	BIO *bio;
	char *p;
	long n;

	if (!x)
		return -ENOENT;
	bio = BIO_new(BIO_s_mem());
	if (!bio || PEM_write_bio_X509(bio, x) != 1) {
		BIO_free(bio);
		return -ENOMEM;
	}
	n = BIO_get_mem_data(bio, &p);
	buf_add(b, p, n > 0 ? (size_t)n : 0);
	BIO_free(bio);
	return b->err;
}

void echo_tls_json(struct buf *b, SSL *s)
{
	struct echo_tls_state st;

	echo_tls_state(s, &st);
	buf_str(b, " \"tls\": {\n  \"version\": ");
	json_str(b, st.version, strlen(st.version));
	buf_str(b, ",\n");
	if (SSL_get0_peer_certificate(s)) { /* omitempty */
		struct buf pem = {};

		buf_str(b, "  \"peerCertificates\": [\n");
		for (int i = 0;; i++) {
			pem.len = 0;
			if (echo_tls_peer_pem(s, i, &pem))
				break;
			buf_str(b, i ? ",\n   " : "   ");
			json_str(b, pem.p, pem.len);
		}
		buf_str(b, "\n  ],\n");
		if (pem.err)
			b->err = pem.err;
		free(pem.p);
	}
	buf_str(b, "  \"serverName\": ");
	json_str(b, st.server_name, strlen(st.server_name));
	buf_str(b, ",\n");
	if (st.alpn_len) { /* omitempty */
		buf_str(b, "  \"negotiatedProtocol\": ");
		json_str(b, st.alpn, st.alpn_len);
		buf_str(b, ",\n");
	}
	buf_str(b, "  \"cipherSuite\": ");
	json_str(b, st.cipher, strlen(st.cipher));
	buf_str(b, "\n },\n");
}
