// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * TLS to backends (BackendTLSPolicy, GEP-1897). See upstls.h.
 *
 * Contexts: one client SSL_CTX per distinct (CA bundle or the system store,
 * client certificate and key), cached by the worker under the SHA-256 of
 * that material, so that a snapshot that leaves a policy alone reuses its
 * context (no PEM parsing per change) and clusters with the same CA share
 * one. Every context verifies the peer's chain (SSL_VERIFY_PEER): a chain
 * that does not verify fails the handshake.
 *
 * Per connection: the server name is the policy's hostname. Without
 * subjectAltNames the certificate must match that hostname (RFC 6125, set as
 * the expected host of the handshake's verification). With them, it must
 * match one of them instead: a dNSName (wildcards as RFC 6125 allows) or a
 * URI compared whole; OpenSSL has no URI check, so both are checked once the
 * handshake is done, before any request byte is sent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "xgw/log.h"
#include "xgw/netaddr.h"

#include "loop-t.h"
#include "upstls.h"
#include "upstream-t.h"

struct uctx_entry {
	uint8_t digest[32];
	SSL_CTX *ctx;
	uint64_t mark; /* the sweep that last saw it in use */
};

/* The worker's client contexts: few (one per CA and client certificate), a plain array. */
struct xgw_upstls_cache {
	struct uctx_entry *e;
	uint32_t n, cap;
	uint64_t mark;
};

struct xgw_upstls_set {
	uint32_t n;
	struct {
		SSL_CTX *ctx; /* a reference */
		uint64_t key;
	} e[];
};

/* The names a connection checks after its handshake (subjectAltNames). */
struct xgw_upstls_check {
	uint8_t n;
	bool h2; /* ALPN h2 asked for: the server must choose it */
	uint8_t type[XGW_SNAP_SANS_MAX];
	char *name[XGW_SNAP_SANS_MAX]; /* in the same allocation */
	char *policy;
	uint8_t family;
	uint16_t port;
	uint8_t addr[16];
};

static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown error";
}

static void digest_of(const struct xgw_snapshot *s, const struct xgw_snap_uptls *u, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 32;
	uint8_t sys = u->flags & XGW_UPTLS_SYSTEM_CA;
	uint32_t lens[3] = { u->ca.len, u->client_chain.len, u->client_key.len };
	bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		  EVP_DigestUpdate(md, &sys, 1) == 1 &&
		  EVP_DigestUpdate(md, lens, sizeof(lens)) == 1 &&
		  EVP_DigestUpdate(md, xgw_snap_str_ptr(s, u->ca), u->ca.len) == 1 &&
		  EVP_DigestUpdate(md, xgw_snap_str_ptr(s, u->client_chain), u->client_chain.len) ==
			  1 &&
		  EVP_DigestUpdate(md, xgw_snap_str_ptr(s, u->client_key), u->client_key.len) == 1;

	if (!ok || EVP_DigestFinal_ex(md, out, &n) != 1)
		memset(out, 0, 32);
	EVP_MD_CTX_free(md);
}

/* Load the PEM CA certificates of <pem> into <ctx>'s store. */
static int load_cas(SSL_CTX *ctx, const char *pem, size_t len)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;
	int n = 0;

	if (!bio)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(store, x) == 1)
			n++;
		X509_free(x);
	}
	ERR_clear_error(); /* the end of the PEM */
	BIO_free(bio);
	return n ? 0 : -EINVAL;
}

/* The client certificate (and chain) and key of <u> into <ctx>. */
static int load_client_cert(SSL_CTX *ctx, const struct xgw_snapshot *s,
			    const struct xgw_snap_uptls *u)
{
	BIO *bio = BIO_new_mem_buf(xgw_snap_str_ptr(s, u->client_chain), (int)u->client_chain.len);
	EVP_PKEY *key = NULL;
	X509 *x;
	int err = -EINVAL;

	if (!bio)
		return -ENOMEM;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!x || SSL_CTX_use_certificate(ctx, x) != 1)
		goto out;
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			goto out_nox;
		}
	ERR_clear_error();
	BIO_free(bio);
	bio = BIO_new_mem_buf(xgw_snap_str_ptr(s, u->client_key), (int)u->client_key.len);
	if (!bio)
		return -ENOMEM;
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (key && SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1)
		err = 0;
	EVP_PKEY_free(key);
	goto out_nox;
out:
	X509_free(x);
out_nox:
	BIO_free(bio);
	return err;
}

static SSL_CTX *ctx_build(const struct xgw_snapshot *s, const struct xgw_snap_uptls *u)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *what = NULL;

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* partial writes: the data path writes from its buffers as the socket takes them */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (u->flags & XGW_UPTLS_SYSTEM_CA) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1)
			what = "the system CA store";
	} else if (load_cas(ctx, xgw_snap_str_ptr(s, u->ca), u->ca.len)) {
		what = "the CA certificates";
	}
	if (!what && u->client_chain.len && load_client_cert(ctx, s, u))
		what = "the client certificate";
	if (what) {
		log_err("backend TLS %.*s: %s do not load: %s", (int)u->name.len,
			xgw_snap_str_ptr(s, u->name), what, ssl_reason());
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* A reference to the context of <u>: cached, or built and cached; its digest in <d>. */
static SSL_CTX *ctx_get(struct xgw_worker *w, const struct xgw_snapshot *s,
			const struct xgw_snap_uptls *u, uint8_t d[32])
{
	struct xgw_upstls_cache *c = w->upstls_cache;
	uint32_t i;

	if (!c && !(c = w->upstls_cache = calloc(1, sizeof(*c))))
		return NULL;
	digest_of(s, u, d);
	for (i = 0; i < c->n; i++)
		if (!memcmp(c->e[i].digest, d, 32))
			break;
	if (i == c->n) {
		SSL_CTX *ctx;

		if (c->n == c->cap) {
			uint32_t cap = c->cap ? c->cap * 2 : 8;
			struct uctx_entry *e = realloc(c->e, cap * sizeof(*e));

			if (!e)
				return NULL;
			c->e = e;
			c->cap = cap;
		}
		if (!(ctx = ctx_build(s, u)))
			return NULL;
		memcpy(c->e[i].digest, d, 32);
		c->e[i].ctx = ctx;
		c->n++;
	}
	c->e[i].mark = c->mark + 1;
	SSL_CTX_up_ref(c->e[i].ctx);
	return c->e[i].ctx;
}

void xgw_upstls_cache_sweep(struct xgw_worker *w)
{
	struct xgw_upstls_cache *c = w->upstls_cache;
	uint32_t k = 0;

	if (!c)
		return;
	c->mark++;
	for (uint32_t i = 0; i < c->n; i++) {
		if (c->e[i].mark == c->mark)
			c->e[k++] = c->e[i];
		else
			SSL_CTX_free(c->e[i].ctx);
	}
	c->n = k;
}

void xgw_upstls_cache_free(struct xgw_worker *w)
{
	struct xgw_upstls_cache *c = w->upstls_cache;

	if (!c)
		return;
	for (uint32_t i = 0; i < c->n; i++)
		SSL_CTX_free(c->e[i].ctx);
	free(c->e);
	free(c);
	w->upstls_cache = NULL;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

int xgw_upstls_set__new(struct xgw_worker *w, const struct xgw_snapshot *snap,
			struct xgw_upstls_set **out)
{
	struct xgw_upstls_set *t;

	*out = NULL;
	if (!snap->n_uptls)
		return 0;
	t = calloc(1, sizeof(*t) + snap->n_uptls * sizeof(t->e[0]));
	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < snap->n_uptls; i++) {
		const struct xgw_snap_uptls *u = &snap->uptls[i];
		uint64_t h = 14695981039346656037ull;
		uint8_t d[32];

		t->e[i].ctx = ctx_get(w, snap, u, d);
		if (!t->e[i].ctx) {
			xgw_upstls_set__free(t);
			return -EINVAL;
		}
		t->n = i + 1;
		/* the context's material, the server name and the names checked make a
		 * connection's kind (the material, not the context's address, which a
		 * later context may reuse) */
		h = fnv(h, d, sizeof(d));
		h = fnv(h, xgw_snap_str_ptr(snap, u->sni), u->sni.len);
		for (uint8_t k = 0; k < u->n_sans; k++) {
			h = fnv(h, &u->san_type[k], 1);
			h = fnv(h, xgw_snap_str_ptr(snap, u->san[k]), u->san[k].len);
			h = fnv(h, "", 1);
		}
		t->e[i].key = h ? h : 1;
	}
	*out = t;
	return 0;
}

void xgw_upstls_set__free(struct xgw_upstls_set *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->n; i++)
		SSL_CTX_free(t->e[i].ctx);
	free(t);
}

uint64_t xgw_upstls_key(const struct xgw_upstls_set *t, uint32_t tls)
{
	return t && tls < t->n ? t->e[tls].key : 0;
}

SSL *xgw_upstls_new(const struct xgw_upstls_set *t, const struct xgw_snapshot *snap, uint32_t tls,
		    int fd, const struct xgw_pool *pool, bool h2, struct xgw_upstls_check **out)
{
	static const unsigned char alpn_h2[] = "\x02h2";
	const struct xgw_snap_uptls *up = &snap->uptls[tls];
	struct xgw_upstls_check *chk;
	size_t len = sizeof(*chk) + up->name.len + 1;
	char *p;
	SSL *s;

	for (uint8_t k = 0; k < up->n_sans; k++)
		len += up->san[k].len + 1;
	chk = calloc(1, len);
	if (!chk)
		return NULL;
	p = (char *)(chk + 1);
	chk->policy = p;
	memcpy(p, xgw_snap_str_ptr(snap, up->name), up->name.len);
	p += up->name.len + 1;
	for (uint8_t k = 0; k < up->n_sans; k++) {
		chk->type[k] = up->san_type[k];
		chk->name[k] = p;
		memcpy(p, xgw_snap_str_ptr(snap, up->san[k]), up->san[k].len);
		p += up->san[k].len + 1;
	}
	chk->n = up->n_sans;
	chk->h2 = h2;
	chk->family = pool->family;
	chk->port = pool->port;
	memcpy(chk->addr, pool->addr, 16);

	char sni[256];

	snprintf(sni, sizeof(sni), "%.*s", (int)up->sni.len, xgw_snap_str_ptr(snap, up->sni));
	s = SSL_new(t->e[tls].ctx);
	if (!s || SSL_set_fd(s, fd) != 1 || SSL_set_tlsext_host_name(s, sni) != 1 ||
	    (!up->n_sans && SSL_set1_host(s, sni) != 1) ||
	    /* HTTP/2 over TLS is asked for by ALPN (RFC 9113, 3.2); 0 is success here */
	    (h2 && SSL_set_alpn_protos(s, alpn_h2, sizeof(alpn_h2) - 1))) {
		ERR_clear_error();
		SSL_free(s);
		free(chk);
		errno = ENOMEM;
		return NULL;
	}
	/* "*.example.com" may stand for one label only, as RFC 6125 says */
	SSL_set_hostflags(s, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	SSL_set_connect_state(s);
	*out = chk;
	return s;
}

int xgw_upstls_attach(struct xgw_upconn *u, const struct xgw_upstls_set *t,
		      const struct xgw_snapshot *snap, uint32_t tls)
{
	u->tls = xgw_upstls_new(t, snap, tls, u->fd, u->pool, false, &u->tls_chk);
	if (!u->tls)
		return -ENOMEM;
	u->tls_key = t->e[tls].key;
	return 0;
}

/* Does the peer certificate carry URI SAN <uri> (compared whole)? */
static bool has_uri(X509 *cert, const char *uri)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool hit = false;

	for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !hit; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

		if (g->type == GEN_URI) {
			const ASN1_IA5STRING *s = g->d.uniformResourceIdentifier;

			hit = (size_t)s->length == strlen(uri) && !memcmp(s->data, uri, s->length);
		}
	}
	GENERAL_NAMES_free(names);
	return hit;
}

/* With subjectAltNames: does the verified peer certificate match one of them? */
static bool sans_match(SSL *s, const struct xgw_upstls_check *chk)
{
	X509 *cert = SSL_get0_peer_certificate(s);

	if (!chk->n)
		return true; /* the host name was checked by the verification */
	if (!cert)
		return false;
	for (uint8_t k = 0; k < chk->n; k++) {
		if (chk->type[k] == XGW_SNAP_SAN_URI
			    ? has_uri(cert, chk->name[k])
			    : X509_check_host(cert, chk->name[k], 0,
					      X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1)
			return true;
	}
	return false;
}

static void log_failure(struct xgw_worker *w, const struct xgw_upstls_check *chk, const char *why)
{
	static uint64_t last_ms;
	char ip[XGW_IP_STRLEN];

	/* one line a second per worker: a broken backend fails every request */
	if (last_ms && w->now - last_ms < 1000)
		return;
	last_ms = w->now;
	log_warn("backend TLS %s: %s%s%s:%u: %s", chk->policy, chk->family == 6 ? "[" : "",
		 xgw_ip_format(chk->family, chk->addr, ip), chk->family == 6 ? "]" : "", chk->port,
		 why);
}

int xgw_upstls_handshake(struct xgw_worker *w, struct xgw_upconn *u)
{
	return xgw_upstls_handshake_ssl(w, u->tls, u->tls_chk, &u->rd_ready, &u->wr_ready);
}

int xgw_upstls_handshake_ssl(struct xgw_worker *w, SSL *s, const struct xgw_upstls_check *chk,
			     bool *rd_ready, bool *wr_ready)
{
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(s);
	if (r == 1) {
		const unsigned char *proto = NULL;
		unsigned int plen = 0;

		if (!sans_match(s, chk)) {
			log_failure(w, chk, "the certificate matches none of the subjectAltNames");
			return -EPROTO;
		}
		if (chk->h2) {
			SSL_get0_alpn_selected(s, &proto, &plen);
			if (plen != 2 || memcmp(proto, "h2", 2)) {
				log_failure(w, chk, "the backend did not choose HTTP/2 (ALPN h2)");
				return -EPROTO;
			}
		}
		return 1;
	}
	switch (SSL_get_error(s, r)) {
	case SSL_ERROR_WANT_READ:
		*rd_ready = false;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*wr_ready = false;
		return 0;
	default: {
		long vr = SSL_get_verify_result(s);
		char why[256];

		if (vr != X509_V_OK)
			snprintf(why, sizeof(why), "certificate verification failed: %s",
				 X509_verify_cert_error_string(vr));
		else
			snprintf(why, sizeof(why), "handshake failed: %s", ssl_reason());
		ERR_clear_error();
		log_failure(w, chk, why);
		return -EPROTO;
	}
	}
}

bool xgw_upstls_idle_check(struct xgw_upconn *u)
{
	char c;
	int r;

	ERR_clear_error();
	r = SSL_read(u->tls, &c, 1);
	if (r > 0)
		return true;
	r = SSL_get_error(u->tls, r);
	ERR_clear_error();
	return r != SSL_ERROR_WANT_READ;
}

void xgw_upstls_free(SSL *s, struct xgw_upstls_check *chk)
{
	if (s) {
		if (SSL_is_init_finished(s))
			SSL_shutdown(s);
		ERR_clear_error();
		SSL_free(s);
	}
	free(chk);
}

void xgw_upstls_detach(struct xgw_upconn *u)
{
	xgw_upstls_free(u->tls, u->tls_chk);
	u->tls = NULL;
	u->tls_chk = NULL;
}
